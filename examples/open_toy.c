/* A toy backend: what a new backend takes (README, "Adding a backend").
 * Copied to api/open_toy.c, with its line in api/backends.def
 *
 *     FGC_BACKEND("toy", fgc_open_toy, fgc_array_none, fgc_cli_none,
 *                 "toy:GAIN", "the ideal product times GAIN, clipped at +-4",
 *                 0, 0)
 *
 * it is opened as `toy:2.5` everywhere a backend spec is taken (the CLI's
 * --backend, checkpoints, Python). It models no array (fgc_array_none: a
 * net trained on it records none) and reads none of the command-line
 * options (fgc_cli_none: its gain comes in the spec, --backend toy:2.5);
 * a backend that does defines fgc_array_NAME and fgc_cli_NAME here, as
 * api/open_hwa.c does. It is not in the shipped registry:
 * tests/meson.build builds a registry of the shipped table plus that line
 * (examples/toy_backends.def) and tests/toy_backend.c tests it.
 *
 * toy:GAIN   y_j = clip(GAIN sum_i x_i w_ij, -4, 4), GAIN > 0; the backward
 *            is the exact one (no gradient where y is clipped). */
#include "fgcosim.h"

#include <math.h>
#include <stdlib.h>

#define TOY_CLIP 4.0f

typedef struct {
    float gain;
} toy_ctx;

/* z (16) = gain x.w for one vector x (16): the product before the clip */
static void toy_product(float *z, const float *w, const float *x, float gain)
{
    for (int j = 0; j < FG_COLS; j++) {
        float s = 0;
        for (int i = 0; i < FG_ROWS; i++)
            s += x[i] * w[i * FG_COLS + j];
        z[j] = gain * s;
    }
}

static fg_status toy_vmm(void *ctx, const float *w, const float *x, float *y, int B)
{
    const toy_ctx *t = ctx;
    for (int b = 0; b < B; b++) {
        float *yb = y + (size_t)b * FG_COLS;
        toy_product(yb, w, x + (size_t)b * FG_ROWS, t->gain);
        for (int j = 0; j < FG_COLS; j++)
            yb[j] = fminf(fmaxf(yb[j], -TOY_CLIP), TOY_CLIP);
    }
    return FG_OK;
}

/* dx (B,16) +=, dw (16,16) += given dy (B,16); either may be NULL */
static fg_status toy_backward(void *ctx, const float *w, const float *x,
                              const float *dy, float *dx, float *dw, int B)
{
    const toy_ctx *t = ctx;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * FG_ROWS, *dyb = dy + (size_t)b * FG_COLS;
        float z[FG_COLS], dz[FG_COLS]; /* dz: d loss / d (x.w) */
        toy_product(z, w, xb, t->gain);
        for (int j = 0; j < FG_COLS; j++)
            dz[j] = fabsf(z[j]) < TOY_CLIP ? t->gain * dyb[j] : 0.0f;
        for (int i = 0; i < FG_ROWS; i++)
            for (int j = 0; j < FG_COLS; j++) {
                if (dx)
                    dx[(size_t)b * FG_ROWS + i] += dz[j] * w[i * FG_COLS + j];
                if (dw)
                    dw[i * FG_COLS + j] += xb[i] * dz[j];
            }
    }
    return FG_OK;
}

/* The registry's constructor: arg is the text after "toy:" (NULL: none). */
fg_status fgc_open_toy(const char *arg, const fgc_open_opts *o, fg_backend **out)
{
    static const fg_backend_ops ops = {
        .name = "toy", .vmm = toy_vmm, .vmm_backward = toy_backward, .free = free,
    };
    (void)o; /* no corner, no ir_scale: the table's 0, 0 */
    *out = NULL;
    if (!arg || !*arg)
        return fg_error(FG_ERR_RANGE, "toy needs a gain (toy:GAIN)");
    char *end;
    double gain = strtod(arg, &end);
    if (*end || !(gain > 0) || !isfinite(gain))
        return fg_error(FG_ERR_RANGE, "toy: gain '%s' is not a positive number", arg);
    toy_ctx *t = malloc(sizeof *t);
    if (!t || !(*out = fg_backend_new(&ops, t))) {
        free(t);
        return fg_error(FG_ERR_NOMEM, "toy: out of memory");
    }
    t->gain = (float)gain;
    return FG_OK;
}
