/* The linearised gradient: a wrapper whose forward is the inner backend's
 * and whose backward is that of the per-sample, per-column linear model
 *     y_bj ~= G_bj * z_bj,  z = x . w (the ideal product),
 *     G_bj = y_bj / z_bj from the forward pass (1 where |z_bj| < 1e-6,
 *     clipped to [0, 4]),
 * i.e. dx = (G o dy) . w^T, dw = x^T . (G o dy): the ideal transpose with
 * each output's gradient scaled by the gain the inner backend showed on
 * that output. The gains of the last forward calls are kept in a ring
 * keyed by a hash of (x, w), so a backward finds them without running
 * the inner backend again (it recomputes them when they are gone). */
#include "fgcore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RING 256

typedef struct {
    uint64_t key;
    float *g;   /* (nt,B,16) */
    size_t cap; /* floats    */
} lg_entry;

typedef struct {
    fg_backend *inner, *ideal;
    lg_entry ring[RING];
    int next;
    float *buf; /* scratch: z or the scaled dy (nt,B,16) */
    size_t cap;
    char name[48];
} lg_ctx;

static uint64_t hash_words(uint64_t h, const float *v, size_t n)
{
    uint32_t u;
    for (size_t i = 0; i < n; i++) {
        memcpy(&u, &v[i], sizeof u);
        h = (h ^ u) * 0x100000001b3ULL;
    }
    return h ^ (h >> 31);
}

static uint64_t lg_key(const float *w, int nt, const float *x, int B)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)nt << 32 | (uint32_t)B);
    h = hash_words(h, w, (size_t)nt * FG_CELLS);
    return hash_words(h, x, (size_t)B * FG_ROWS);
}

static float *grow(float **buf, size_t *cap, size_t n)
{
    if (*cap < n) {
        float *b = realloc(*buf, n * sizeof *b);
        if (!b)
            return NULL;
        *buf = b, *cap = n;
    }
    return *buf;
}

/* the ring entry for key, NULL when it is gone */
static lg_entry *lg_find(lg_ctx *c, uint64_t key)
{
    for (int k = 0; k < RING; k++)
        if (c->ring[k].g && c->ring[k].key == key)
            return &c->ring[k];
    return NULL;
}

/* y (nt,B,16) from the inner backend; its gains stored under key */
static fg_status lg_forward(lg_ctx *c, const float *w, int nt, const float *x, float *y,
                            int B, uint64_t key, lg_entry **out)
{
    const size_t n = (size_t)nt * B * FG_COLS;
    lg_entry *e = &c->ring[c->next];
    float *z = grow(&c->buf, &c->cap, n);
    if (!z || !grow(&e->g, &e->cap, n))
        return fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    fg_status st = fg_backend_vmm_tiles(c->inner, w, nt, x, y, B);
    if (st == FG_OK)
        st = fg_backend_vmm_tiles(c->ideal, w, nt, x, z, B);
    if (st != FG_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        float g = fabsf(z[i]) < 1e-6f ? 1.0f : y[i] / z[i];
        e->g[i] = g < 0.0f ? 0.0f : (g > 4.0f ? 4.0f : g);
    }
    e->key = key;
    c->next = (c->next + 1) % RING;
    *out = e;
    return FG_OK;
}

static fg_status lg_tiles(void *ctx, const float *w, int nt, const float *x, float *y,
                          int B)
{
    lg_entry *e;
    return lg_forward(ctx, w, nt, x, y, B, lg_key(w, nt, x, B), &e);
}

static fg_status lg_vmm(void *ctx, const float *w, const float *x, float *y, int B)
{
    return lg_tiles(ctx, w, 1, x, y, B);
}

static fg_status lg_tiles_backward(void *ctx, const float *w, int nt, const float *x,
                                   const float *dy, float *dx, float *dw, int B)
{
    lg_ctx *c = ctx;
    const size_t n = (size_t)nt * B * FG_COLS;
    const uint64_t key = lg_key(w, nt, x, B);
    lg_entry *e = lg_find(c, key);
    fg_status st = FG_OK;
    if (!e) { /* gone from the ring: run the forward again */
        float *y = malloc(n * sizeof *y);
        st = y ? lg_forward(c, w, nt, x, y, B, key, &e)
               : fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
        free(y);
    }
    float *gdy = st == FG_OK ? grow(&c->buf, &c->cap, n) : NULL;
    if (st == FG_OK && !gdy)
        st = fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    if (st != FG_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        gdy[i] = e->g[i] * dy[i];
    return fg_backend_vmm_tiles_backward(c->ideal, w, nt, x, gdy, dx, dw, B);
}

static fg_status lg_backward(void *ctx, const float *w, const float *x, const float *dy,
                             float *dx, float *dw, int B)
{
    return lg_tiles_backward(ctx, w, 1, x, dy, dx, dw, B);
}

static void lg_free(void *ctx)
{
    lg_ctx *c = ctx;
    fg_backend_free(c->inner);
    fg_backend_free(c->ideal);
    for (int k = 0; k < RING; k++)
        free(c->ring[k].g);
    free(c->buf);
    free(c);
}

fg_status fg_backend_linear_grad(fg_backend *inner, fg_backend **out)
{
    *out = NULL;
    lg_ctx *c = calloc(1, sizeof *c);
    if (!c || !(c->ideal = fg_backend_ideal_new())) {
        free(c);
        return fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    }
    c->inner = inner;
    snprintf(c->name, sizeof c->name, "%s", fg_backend_name(inner));
    static const fg_backend_ops ops0 = {
        .vmm = lg_vmm, .vmm_backward = lg_backward, .vmm_tiles = lg_tiles,
        .vmm_tiles_backward = lg_tiles_backward, .free = lg_free,
    };
    fg_backend_ops ops = ops0;
    ops.name = c->name; /* the inner backend's: callers see the same array */
    if (!(*out = fg_backend_new(&ops, c))) {
        fg_backend_free(c->ideal);
        free(c);
        return fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    }
    return FG_OK;
}
