/* The `spice` array backend: tile VMMs through the cosim worker pool. Each
 * weight set is programmed at the nominal point (cosim_program: I-V
 * inversion, or program-and-verify on the array's own verify deck), then
 * run at the pool's corner (temperature, rails, drift), like a chip
 * programmed in the factory and used in the field. Each tile (distinct
 * weight set) is programmed once, as on a chip, and its dvt kept (up to
 * SPICE_TILES_MAX tiles): the pool holds one tile at a time, and a layer's
 * tiles come back every batch, which would otherwise verify them again.
 * Loading a tile is an alter of the VFG sources on every worker; a batch
 * of inputs then runs as one list of patterns. */
#include "cosim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SPICE_TILES_MAX 4096 /* programmed tiles kept (2 KiB each) */

typedef struct {
    char key[65];             /* sha256 of the clipped weights */
    double dvt[FG_CELLS];
} spice_tile;

typedef struct {
    cosim_pool *pool;
    spice_tile *tiles;        /* programmed so far                     */
    int ntiles, cap;
    cosim_pool_config at;     /* programming: nominal, the copies below */
    nl_layout *layout;        /* own copy of the caller's layout       */
    char *array_netlist;      /* own copy, or NULL                     */
    cosim_program_opts prog;
    fg_corner corner;         /* programming corner (prog.at_corner)   */
    float w_loaded[FG_CELLS]; /* (16,16) weights now programmed */
    int have_w;
    long failed;
} spice_ctx;

/* dvt of tile wd: programmed the first time it is seen. */
static fg_status tile_dvt(spice_ctx *c, const double *wd, double *dvt)
{
    char key[65];
    fg_sha256_hex(wd, FG_CELLS * sizeof *wd, key);
    for (int t = 0; t < c->ntiles; t++)
        if (!strcmp(c->tiles[t].key, key)) {
            memcpy(dvt, c->tiles[t].dvt, FG_CELLS * sizeof *dvt);
            return FG_OK;
        }
    cosim_verify_report rep;
    fg_status st = cosim_program(&c->at, &c->prog, wd, dvt, &rep);
    if (st != FG_OK)
        return st;
    if (c->ntiles == SPICE_TILES_MAX) /* forget them all: weights moved on */
        c->ntiles = 0;
    if (c->ntiles == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        spice_tile *grown = realloc(c->tiles, (size_t)cap * sizeof *grown);
        if (!grown)
            return fg_error(FG_ERR_NOMEM, "out of memory");
        c->tiles = grown;
        c->cap = cap;
    }
    spice_tile *t = &c->tiles[c->ntiles++];
    memcpy(t->key, key, sizeof key);
    memcpy(t->dvt, dvt, sizeof t->dvt);
    return FG_OK;
}

/* Programs w (clipped into [0,1]) unless it is what the workers hold. */
static fg_status spice_program(spice_ctx *c, const float *w /*(16,16)*/)
{
    if (c->have_w && !memcmp(c->w_loaded, w, sizeof c->w_loaded))
        return FG_OK;
    double wd[FG_CELLS], dvt[FG_CELLS];
    for (int k = 0; k < FG_CELLS; k++)
        wd[k] = w[k] < 0.0f ? 0.0 : w[k] > 1.0f ? 1.0 : (double)w[k];
    fg_status st = tile_dvt(c, wd, dvt);
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
    free(c->tiles);
    nl_layout_free(c->layout);
    free(c->array_netlist);
    free(c);
}

/* What programming needs after the caller's cfg is gone: the array at the
 * nominal point (the pool keeps the corner). */
static fg_status spice_ctx_init(spice_ctx *c, const cosim_pool_config *cfg,
                                const cosim_program_opts *prog)
{
    static const cosim_program_opts defaults = {.seed = 1};
    c->prog = prog ? *prog : defaults;
    c->at = (cosim_pool_config){.op = cfg->op};
    fg_status st = nl_layout_parse(nl_layout_json(cfg->layout), nl_layout_name(cfg->layout),
                                   &c->layout);
    c->at.layout = c->layout;
    if (c->prog.at_corner) { /* a fresh write at the corner: verify only */
        c->corner = cfg->corner ? *cfg->corner : fg_corner_nominal();
        c->corner.drift_s = 0;
        c->at.corner = &c->corner;
        c->prog.method = COSIM_PROGRAM_VERIFY;
    }
    if (st == FG_OK && cfg->array_netlist &&
        !(c->at.array_netlist = c->array_netlist = strdup(cfg->array_netlist)))
        st = fg_error(FG_ERR_NOMEM, "out of memory");
    return st;
}

fg_status cosim_backend_spice_new(const cosim_pool_config *cfg,
                                  const cosim_program_opts *prog, fg_backend **out)
{
    static const fg_backend_ops ops = {
        .name = "spice", .vmm = spice_vmm, .vmm_backward = NULL, .free = spice_free,
    };
    spice_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    double w0[FG_CELLS] = {0}, dvt[FG_CELLS];
    fg_status st = spice_ctx_init(c, cfg, prog);
    if (st == FG_OK) /* all cells off until the first weights */
        st = cosim_weights_to_dvt(&cfg->op, w0, 0.0, 1, dvt);
    if (st == FG_OK)
        st = cosim_pool_new(cfg, dvt, &c->pool);
    if (st == FG_OK && !(*out = fg_backend_new(&ops, c)))
        st = fg_error(FG_ERR_NOMEM, "out of memory");
    if (st != FG_OK)
        spice_free(c);
    return st;
}
