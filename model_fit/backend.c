/* The `hwa` array backend: the compact model behind fg_backend_ops (float32:
 * fit_model_forward_f32_tiles / fit_model_backward_f32_tiles: a row of a
 * layer's tiles in one call). The fitted model's own cell currents are
 * not used: w comes from the caller (a network tile), as programmed target
 * weights, scaled per column by the model's programming gain. */
#include "model_fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fit_model m;
} hwa_ctx;

/* wg (nt,16,16) = the effective cells of targets w: gain_j * w^w_exp */
static void gained(float *wg, const float *w, int nt, const fit_model *m)
{
    if (m->w_exp == 1.0) {
        for (size_t k = 0; k < (size_t)nt * FG_CELLS; k++)
            wg[k] = (float)(w[k] * m->w_gain[k % FG_COLS]);
        return;
    }
    for (size_t k = 0; k < (size_t)nt * FG_CELLS; k++)
        wg[k] = w[k] > 0 ? (float)fit_model_cell(m, w[k], (int)(k % FG_COLS)) : 0.0f;
}

/* d wg / d w at w (the gain, times w_exp w^(w_exp - 1) for an exponent:
 * taken at w >= 1e-3 so that it stays finite at 0, where the forward pass
 * is continuous but not differentiable for an exponent below 1) */
static double gained_slope(float w, int j, const fit_model *m)
{
    if (m->w_exp == 1.0)
        return m->w_gain[j];
    double t = w > 1e-3f ? w : 1e-3;
    return m->w_gain[j] * m->w_exp * pow(t, m->w_exp - 1);
}

/* y (nt,B,16) = model(w (nt,16,16), x (B,16)) */
static fg_status hwa_vmm_tiles(void *ctx, const float *w, int nt,
                               const float *x, float *y, int B)
{
    hwa_ctx *c = ctx;
    float *wg = malloc((size_t)nt * FG_CELLS * sizeof *wg);
    if (!wg)
        return fg_error(FG_ERR_NOMEM, "hwa: out of memory");
    gained(wg, w, nt, &c->m);
    fg_status st = fit_model_forward_f32_tiles(y, x, wg, nt, &c->m, B);
    free(wg);
    return st;
}

static fg_status hwa_vmm(void *ctx, const float *w, const float *x, float *y,
                         int B)
{
    return hwa_vmm_tiles(ctx, w, 1, x, y, B);
}

/* dx (B,16) += sum_t dy_t . dy_t/dx ; dw (nt,16,16) += dy . dy/dw */
static fg_status hwa_backward_tiles(void *ctx, const float *w, int nt,
                                    const float *x, const float *dy, float *dx,
                                    float *dw, int B)
{
    hwa_ctx *c = ctx;
    const size_t n = (size_t)nt * FG_CELLS;
    float *wg = malloc(2 * n * sizeof *wg); /* wg, then dwg */
    if (!wg)
        return fg_error(FG_ERR_NOMEM, "hwa: out of memory");
    float *dwg = wg + n;
    gained(wg, w, nt, &c->m);
    memset(dwg, 0, n * sizeof *dwg);
    fg_status st =
        fit_model_backward_f32_tiles(dx, dw ? dwg : NULL, dy, x, wg, nt, &c->m, B);
    if (st == FG_OK && dw)
        for (size_t k = 0; k < n; k++)
            dw[k] += (float)(dwg[k] * gained_slope(w[k], (int)(k % FG_COLS), &c->m));
    free(wg);
    return st;
}

static fg_status hwa_backward(void *ctx, const float *w, const float *x,
                              const float *dy, float *dx, float *dw, int B)
{
    return hwa_backward_tiles(ctx, w, 1, x, dy, dx, dw, B);
}

static void hwa_free(void *ctx) { free(ctx); }

fg_status fit_backend_hwa_open(const fit_model *m, fg_backend **out)
{
    static const fg_backend_ops ops = {
        .name = "hwa", .vmm = hwa_vmm, .vmm_backward = hwa_backward,
        .vmm_tiles = hwa_vmm_tiles, .vmm_tiles_backward = hwa_backward_tiles,
        .free = hwa_free,
    };
    *out = NULL;
    fg_status st = fit_model_check(m);
    if (st != FG_OK)
        return st;
    hwa_ctx *c = malloc(sizeof *c);
    if (!c)
        return fg_error(FG_ERR_NOMEM, "hwa: out of memory");
    c->m = *m;
    if (!(*out = fg_backend_new(&ops, c))) {
        free(c);
        return fg_error(FG_ERR_NOMEM, "hwa: out of memory");
    }
    return FG_OK;
}

fg_backend *fit_backend_hwa_new(const fit_model *m)
{
    fg_backend *be;
    return fit_backend_hwa_open(m, &be) == FG_OK ? be : NULL;
}
