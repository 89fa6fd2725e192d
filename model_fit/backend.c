/* The `hwa` array backend: the compact model behind fg_backend_ops (float
 * interface; computed in double). The fitted model's own cell currents are
 * not used: w comes from the caller (a network tile), as programmed target
 * weights, scaled per column by the model's programming gain. */
#include "model_fit.h"

#include <stdlib.h>

typedef struct {
    fit_model m;
} hwa_ctx;

/* Converts float (n) to a new double array; NULL on failure. */
static double *to_double(const float *v, size_t n)
{
    double *d = malloc(n * sizeof *d);
    if (d)
        for (size_t k = 0; k < n; k++)
            d[k] = v[k];
    return d;
}

/* y (B,16) = model(w (16,16), x (B,16)) */
static fg_status hwa_vmm(void *ctx, const float *w, const float *x, float *y,
                         int B)
{
    hwa_ctx *c = ctx;
    size_t n = (size_t)B * FG_COLS;
    double wd[FG_CELLS];
    for (int k = 0; k < FG_CELLS; k++)
        wd[k] = w[k] * c->m.w_gain[k % FG_COLS];
    double *xd = to_double(x, (size_t)B * FG_ROWS), *yd = malloc(n * sizeof *yd);
    fg_status st = (xd && yd) ? fit_model_forward(yd, xd, wd, &c->m, B)
                              : fg_error(FG_ERR_NOMEM, "hwa backend: out of memory");
    if (st == FG_OK)
        for (size_t k = 0; k < n; k++)
            y[k] = (float)yd[k];
    free(xd);
    free(yd);
    return st;
}

/* dx (B,16) += dy . dy/dx ; dw (16,16) += dy . dy/dw */
static fg_status hwa_backward(void *ctx, const float *w, const float *x,
                              const float *dy, float *dx, float *dw, int B)
{
    hwa_ctx *c = ctx;
    size_t n = (size_t)B * FG_ROWS;
    double wd[FG_CELLS], dwd[FG_CELLS] = {0};
    for (int k = 0; k < FG_CELLS; k++)
        wd[k] = w[k] * c->m.w_gain[k % FG_COLS];
    double *xd = to_double(x, n), *dyd = to_double(dy, (size_t)B * FG_COLS);
    double *dxd = calloc(n ? n : 1, sizeof *dxd);
    fg_status st = (xd && dyd && dxd)
        ? fit_model_backward(dx ? dxd : NULL, dw ? dwd : NULL, NULL, dyd, xd, wd, &c->m, B)
        : fg_error(FG_ERR_NOMEM, "hwa backend: out of memory");
    if (st == FG_OK && dx)
        for (size_t k = 0; k < n; k++)
            dx[k] += (float)dxd[k];
    if (st == FG_OK && dw)
        for (int k = 0; k < FG_CELLS; k++)
            dw[k] += (float)(dwd[k] * c->m.w_gain[k % FG_COLS]);
    free(xd);
    free(dyd);
    free(dxd);
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
