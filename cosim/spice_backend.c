/* The `spice` array backend: tile VMMs through the cosim worker pool. Each
 * weight set is programmed at the nominal point (I-V inversion), then run
 * at the pool's corner (temperature, rails, drift), like a chip programmed
 * in the factory and used in the field. Each weight set is programmed once (alter of the VFG sources on every worker);
 * a batch of inputs then runs as one list of patterns. */
#include "cosim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    cosim_pool *pool;
    fg_op_point op;
    float w_loaded[FG_CELLS]; /* (16,16) weights now programmed */
    int have_w;
    double sigma_v;
    uint64_t seed;
    long failed;
} spice_ctx;

/* Programs w (clipped into [0,1]) unless it is what the workers hold. */
static fg_status spice_program(spice_ctx *c, const float *w /*(16,16)*/)
{
    if (c->have_w && !memcmp(c->w_loaded, w, sizeof c->w_loaded))
        return FG_OK;
    double wd[FG_CELLS], dvt[FG_CELLS];
    for (int k = 0; k < FG_CELLS; k++)
        wd[k] = w[k] < 0.0f ? 0.0 : w[k] > 1.0f ? 1.0 : (double)w[k];
    fg_status st = cosim_weights_to_dvt(&c->op, wd, c->sigma_v, c->seed, dvt);
    if (st == FG_OK)
        st = cosim_pool_set_dvt(c->pool, dvt);
    if (st == FG_OK) {
        memcpy(c->w_loaded, w, sizeof c->w_loaded);
        c->have_w = 1;
    }
    return st;
}

/* y (B,16) = SPICE(w (16,16), x (B,16)); a run that fails gives y = NaN. */
static fg_status spice_vmm(void *ctx, const float *w, const float *x, float *y,
                           int B)
{
    spice_ctx *c = ctx;
    fg_status st = spice_program(c, w);
    double *xd = malloc((size_t)B * FG_ROWS * sizeof *xd);
    double *v = malloc((size_t)B * FG_COLS * sizeof *v);
    int *ok = malloc((size_t)B * sizeof *ok);
    if (st == FG_OK && (!xd || !v || !ok))
        st = fg_error(FG_ERR_NOMEM, "out of memory");
    for (size_t k = 0; st == FG_OK && k < (size_t)B * FG_ROWS; k++)
        xd[k] = x[k] < 0.0f ? 0.0 : x[k] > 1.0f ? 1.0 : (double)x[k];
    if (st == FG_OK)
        st = cosim_pool_run(c->pool, xd, B, v, ok, NULL);
    for (size_t k = 0; st == FG_OK && k < (size_t)B * FG_COLS; k++)
        y[k] = (float)cosim_pool_y_from_v(c->pool, v[k]);
    for (int b = 0; st == FG_OK && b < B; b++)
        c->failed += !ok[b];
    free(xd);
    free(v);
    free(ok);
    return st;
}

static void spice_free(void *ctx)
{
    spice_ctx *c = ctx;
    cosim_pool_free(c->pool);
    free(c);
}

fg_status cosim_backend_spice_new(const cosim_pool_config *cfg, double sigma_v,
                                  uint64_t seed, fg_backend **out)
{
    static const fg_backend_ops ops = {
        .name = "spice", .vmm = spice_vmm, .vmm_backward = NULL, .free = spice_free,
    };
    spice_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    c->op = cfg->op;
    c->sigma_v = sigma_v;
    c->seed = seed;
    double w0[FG_CELLS] = {0}, dvt[FG_CELLS];
    fg_status st = cosim_weights_to_dvt(&c->op, w0, 0.0, seed, dvt);
    if (st == FG_OK)
        st = cosim_pool_new(cfg, dvt, &c->pool);
    if (st == FG_OK && !(*out = fg_backend_new(&ops, c)))
        st = fg_error(FG_ERR_NOMEM, "out of memory");
    if (st != FG_OK) {
        cosim_pool_free(c->pool);
        free(c);
    }
    return st;
}
