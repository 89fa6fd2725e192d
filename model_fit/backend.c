/* The `hwa` array backend: the compact model behind fg_backend_ops (float32:
 * fit_model_forward_f32 / fit_model_backward_f32). The fitted model's own cell currents are
 * not used: w comes from the caller (a network tile), as programmed target
 * weights, scaled per column by the model's programming gain. */
#include "model_fit.h"

#include <stdlib.h>

typedef struct {
    fit_model m;
} hwa_ctx;

/* wg (16,16) = w scaled per column by the programming gain */
static void gained(float *wg, const float *w, const fit_model *m)
{
    for (int k = 0; k < FG_CELLS; k++)
        wg[k] = (float)(w[k] * m->w_gain[k % FG_COLS]);
}

/* y (B,16) = model(w (16,16), x (B,16)) */
static fg_status hwa_vmm(void *ctx, const float *w, const float *x, float *y,
                         int B)
{
    hwa_ctx *c = ctx;
    float wg[FG_CELLS];
    gained(wg, w, &c->m);
    return fit_model_forward_f32(y, x, wg, &c->m, B);
}

/* dx (B,16) += dy . dy/dx ; dw (16,16) += dy . dy/dw */
static fg_status hwa_backward(void *ctx, const float *w, const float *x,
                              const float *dy, float *dx, float *dw, int B)
{
    hwa_ctx *c = ctx;
    float wg[FG_CELLS], dwg[FG_CELLS] = {0};
    gained(wg, w, &c->m);
    fg_status st = fit_model_backward_f32(dx, dw ? dwg : NULL, dy, x, wg, &c->m, B);
    if (st == FG_OK && dw)
        for (int k = 0; k < FG_CELLS; k++)
            dw[k] += (float)(dwg[k] * c->m.w_gain[k % FG_COLS]);
    return st;
}

static void hwa_free(void *ctx) { free(ctx); }

fg_backend *fit_backend_hwa_new(const fit_model *m)
{
    static const fg_backend_ops ops = {
        .name = "hwa", .vmm = hwa_vmm, .vmm_backward = hwa_backward, .free = hwa_free,
    };
    if (fit_model_check(m))
        return NULL;
    hwa_ctx *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    c->m = *m;
    fg_backend *be = fg_backend_new(&ops, c);
    if (!be)
        free(c);
    return be;
}
