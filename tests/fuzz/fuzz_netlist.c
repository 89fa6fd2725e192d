/* libFuzzer target: a user's flat array netlist (netlists/external.c:
 * nl_array_netlist_check, then the VMM and verify decks built around it
 * as `--array-netlist FILE` does). */
#include "fuzz_util.h"
#include "netlists.h"

static nl_layout *regular;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!regular && nl_layout_load("regular", &regular) != FG_OK)
        abort();
    char path[4096];
    fuzz_tmpfile(data, size, ".cir", path);
    if (nl_array_netlist_check(path) == FG_OK) {
        double dvt[FG_CELLS], x[FG_ROWS] = {0};
        for (int k = 0; k < FG_CELLS; k++)
            dvt[k] = 0.01 * (k % 7);
        x[2] = 0.75;
        nl_deck_spec spec = {.layout = regular, .array_netlist = path,
                             .op = nl_layout_op_point(regular), .dvt = dvt,
                             .x = x, .max_step_scale = 1.0};
        char *deck = NULL;
        if (nl_deck_build(&spec, &deck) == FG_OK)
            free(deck);
        spec.verify = 1, spec.verify_row = 0;
        if (nl_deck_build(&spec, &deck) == FG_OK)
            free(deck);
    }
    unlink(path);
    return 0;
}
