/* libFuzzer target: layout JSON (nl_layout_parse, the reader behind
 * nl_layout_load and `--layout FILE.json`). A layout that parses goes on
 * through what every command does with it: parasitic extraction and the
 * VMM and verify decks, so that values in range but odd in combination
 * are exercised too. */
#include "fuzz_util.h"
#include "netlists.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    nl_layout *l = NULL;
    if (nl_layout_parse(text, "fuzz.json", &l) == FG_OK) {
        fg_op_point op = nl_layout_op_point(l);
        nl_parasitics p;
        if (nl_extract(l, &op, &p) == FG_OK) {
            double dvt[FG_CELLS] = {0}, x[FG_ROWS] = {0};
            x[0] = 1.0, x[5] = 0.5;
            nl_deck_spec spec = {.layout = l, .op = op, .dvt = dvt, .x = x,
                                 .max_step_scale = 1.0};
            char *deck = NULL;
            if (nl_deck_build(&spec, &deck) == FG_OK)
                free(deck);
            spec.verify = 1, spec.verify_row = 3;
            if (nl_deck_build(&spec, &deck) == FG_OK)
                free(deck);
        }
        /* the canonical text parses again */
        nl_layout *again = NULL;
        if (nl_layout_parse(nl_layout_json(l), "canonical", &again) != FG_OK) {
            fprintf(stderr, "fuzz_layout: canonical JSON does not parse: %s\n",
                    fg_errmsg());
            abort();
        }
        nl_layout_free(again);
        nl_layout_free(l);
    }
    free(text);
    return 0;
}
