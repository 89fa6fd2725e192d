/* libFuzzer target: the perturbation spec parser (fg_perturb_parse, behind
 * `--perturb K=V,...` and every `--grid` value of a sweep). A spec that
 * parses must describe itself as a spec that parses to the same values,
 * and the wrapper built from it must run a VMM and its backward over the
 * ideal backend with finite outputs. */
#include "fgcore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void check_vmm(const fg_perturb *p)
{
    fg_backend *be = NULL;
    if (fg_perturb_wrap(fg_backend_ideal_new(), p, &be) != FG_OK)
        abort();
    float w[FG_CELLS], x[2 * FG_ROWS], y[2 * FG_COLS], dy[2 * FG_COLS];
    float dx[2 * FG_ROWS] = {0}, dw[FG_CELLS] = {0};
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = (float)(k % 7) / 6.0f;
    for (int k = 0; k < 2 * FG_ROWS; k++)
        x[k] = (float)(k % 5) / 4.0f;
    for (int k = 0; k < 2 * FG_COLS; k++)
        dy[k] = 1.0f;
    if (fg_backend_vmm(be, w, x, y, 2) != FG_OK ||
        fg_backend_vmm_backward(be, w, x, dy, dx, dw, 2) != FG_OK)
        abort();
    for (int k = 0; k < 2 * FG_COLS; k++)
        if (!isfinite(y[k]))
            abort();
    fg_backend_free(be);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    memcpy(spec, data, size);
    spec[size] = 0;
    fg_perturb p, q;
    fg_perturb_init(&p);
    if (fg_perturb_parse(&p, spec) == FG_OK) {
        char desc[1024];
        fg_perturb_describe(&p, desc, sizeof desc);
        fg_perturb_init(&q);
        if (strcmp(desc, "none") && fg_perturb_parse(&q, desc) != FG_OK) {
            fprintf(stderr, "fuzz_perturb: '%s' does not parse again\n", desc);
            abort();
        }
        if (!fg_perturb_is_none(&p) && p.read_noise <= 10 && p.bwd_noise <= 10)
            check_vmm(&p);
    }
    free(spec);
    return 0;
}
