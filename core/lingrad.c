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

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RING 256
#define LG_BLOCK 256 /* vectors per task of the parallel loops: fixed, so the
                      * sums of dw do not depend on the number of threads */

typedef struct {
    uint64_t key;
    float *g;   /* (nt,B,16) */
    size_t cap; /* floats    */
} lg_entry;

typedef struct {
    fg_backend *inner;
    lg_entry ring[RING];
    int next;
    float *buf; /* scratch: m (16, nt*16), then dM per block (nblk,16,nt*16) */
    size_t cap;
    char name[48];
} lg_ctx;

/* The key of (w, x): 16 multiplicative lanes (a lane per column of x, SIMD),
 * each a 32-bit FNV-1a over its words, folded into 64 bits with w's. */
static uint64_t hash_rows(const float *v, size_t rows, uint64_t h)
{
    uint32_t lane[16];
    for (int l = 0; l < 16; l++)
        lane[l] = 2166136261u + (uint32_t)l;
    for (size_t r = 0; r < rows; r++) {
        uint32_t u[16];
        memcpy(u, v + r * 16, sizeof u);
        for (int l = 0; l < 16; l++)
            lane[l] = (lane[l] ^ u[l]) * 16777619u;
    }
    for (int l = 0; l < 16; l++)
        h = (h ^ lane[l]) * 0x100000001b3ULL;
    return h ^ (h >> 31);
}

static uint64_t lg_key(const float *w, int nt, const float *x, int B)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)nt << 32 | (uint32_t)B);
    h = hash_rows(w, (size_t)nt * FG_ROWS, h);
    return hash_rows(x, (size_t)B, h);
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

static int lg_blocks(int B) { return (B + LG_BLOCK - 1) / LG_BLOCK; }

/* g (nt,B,16) of the vectors of block k: y / (x.m), z (LG_BLOCK, nt*16) scratch */
static void lg_gains_block(float *g, const float *y, const float *x, const float *m,
                           int nt, int B, int k, float *z)
{
    const int b0 = k * LG_BLOCK, nb = B - b0 < LG_BLOCK ? B - b0 : LG_BLOCK;
    const int N = nt * FG_COLS;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, N, FG_ROWS, 1.0f,
                x + (size_t)b0 * FG_ROWS, FG_ROWS, m, N, 0.0f, z, N);
    for (int t = 0; t < nt; t++)
        for (int b = 0; b < nb; b++) {
            const size_t o = ((size_t)t * B + b0 + b) * FG_COLS;
            const float *zb = z + (size_t)b * N + (size_t)t * FG_COLS;
            for (int j = 0; j < FG_COLS; j++) {
                float gj = fabsf(zb[j]) < 1e-6f ? 1.0f : y[o + j] / zb[j];
                g[o + j] = gj < 0.0f ? 0.0f : (gj > 4.0f ? 4.0f : gj);
            }
        }
}

/* y (nt,B,16) from the inner backend; its gains stored under key */
static fg_status lg_forward(lg_ctx *c, const float *w, int nt, const float *x, float *y,
                            int B, uint64_t key, lg_entry **out)
{
    const size_t n = (size_t)nt * B * FG_COLS;
    lg_entry *e = &c->ring[c->next];
    float *m = grow(&c->buf, &c->cap, (size_t)nt * FG_CELLS);
    if (!m || !grow(&e->g, &e->cap, n))
        return fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    fg_status st = fg_backend_vmm_tiles(c->inner, w, nt, x, y, B);
    if (st != FG_OK)
        return st;
    fg_tiles_pack(m, w, nt);
    const int nblk = lg_blocks(B);
    int nomem = 0;
#pragma omp parallel num_threads(fg_threads()) if (nblk > 1) reduction(| : nomem)
    {
        float *z = malloc((size_t)LG_BLOCK * nt * FG_COLS * sizeof *z);
        nomem = !z;
#pragma omp for schedule(static)
        for (int k = 0; k < nblk; k++)
            if (z)
                lg_gains_block(e->g, y, x, m, nt, B, k, z);
        free(z);
    }
    if (nomem)
        return fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    e->key = key;
    c->next = (c->next + 1) % RING;
    *out = e;
    return FG_OK;
}

/* Block k of the backward: gd (LG_BLOCK, nt*16) = g o dy regrouped;
 * dx rows (+=) = gd . m^T; dm (16, nt*16) = x^T . gd (the block's own). */
static void lg_back_block(float *dx, float *dm, const float *g, const float *dy,
                          const float *x, const float *m, int nt, int B, int k,
                          float *gd)
{
    const int b0 = k * LG_BLOCK, nb = B - b0 < LG_BLOCK ? B - b0 : LG_BLOCK;
    const int N = nt * FG_COLS;
    for (int t = 0; t < nt; t++)
        for (int b = 0; b < nb; b++) {
            const size_t o = ((size_t)t * B + b0 + b) * FG_COLS;
            float *d = gd + (size_t)b * N + (size_t)t * FG_COLS;
            for (int j = 0; j < FG_COLS; j++)
                d[j] = g[o + j] * dy[o + j];
        }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, FG_ROWS, N, 1.0f, gd,
                    N, m, N, 1.0f, dx + (size_t)b0 * FG_ROWS, FG_ROWS);
    if (dm)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, FG_ROWS, N, nb, 1.0f,
                    x + (size_t)b0 * FG_ROWS, FG_ROWS, gd, N, 0.0f, dm, N);
}

/* dx (B,16) +=, dw (nt,16,16) += through the gains g (nt,B,16) */
static fg_status lg_backward_gains(lg_ctx *c, const float *g, const float *w, int nt,
                                   const float *x, const float *dy, float *dx,
                                   float *dw, int B)
{
    const int nblk = lg_blocks(B), N = nt * FG_COLS;
    const size_t nm = (size_t)nt * FG_CELLS;
    float *m = grow(&c->buf, &c->cap, nm * (1 + (size_t)nblk));
    if (!m)
        return fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    float *dm = m + nm; /* (nblk, 16, nt*16) */
    fg_tiles_pack(m, w, nt);
    int nomem = 0;
#pragma omp parallel num_threads(fg_threads()) if (nblk > 1) reduction(| : nomem)
    {
        float *gd = malloc((size_t)LG_BLOCK * N * sizeof *gd);
        nomem = !gd;
#pragma omp for schedule(static)
        for (int k = 0; k < nblk; k++)
            if (gd)
                lg_back_block(dx, dw ? dm + (size_t)k * nm : NULL, g, dy, x, m, nt, B,
                              k, gd);
        free(gd);
    }
    if (nomem)
        return fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    for (int k = 0; dw && k < nblk; k++) /* in block order */
        for (int t = 0; t < nt; t++)
            for (int i = 0; i < FG_ROWS; i++)
                for (int j = 0; j < FG_COLS; j++)
                    dw[((size_t)t * FG_ROWS + i) * FG_COLS + j] +=
                        dm[(size_t)k * nm + (size_t)i * N + (size_t)t * FG_COLS + j];
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
    const uint64_t key = lg_key(w, nt, x, B);
    lg_entry *e = lg_find(c, key);
    if (!e) { /* gone from the ring: run the forward again */
        float *y = malloc((size_t)nt * B * FG_COLS * sizeof *y);
        fg_status st = y ? lg_forward(c, w, nt, x, y, B, key, &e)
                         : fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
        free(y);
        if (st != FG_OK)
            return st;
    }
    return lg_backward_gains(c, e->g, w, nt, x, dy, dx, dw, B);
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
    for (int k = 0; k < RING; k++)
        free(c->ring[k].g);
    free(c->buf);
    free(c);
}

fg_status fg_backend_linear_grad(fg_backend *inner, fg_backend **out)
{
    *out = NULL;
    lg_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    c->inner = inner;
    snprintf(c->name, sizeof c->name, "%s", fg_backend_name(inner));
    static const fg_backend_ops ops0 = {
        .vmm = lg_vmm, .vmm_backward = lg_backward, .vmm_tiles = lg_tiles,
        .vmm_tiles_backward = lg_tiles_backward, .free = lg_free,
    };
    fg_backend_ops ops = ops0;
    ops.name = c->name; /* the inner backend's: callers see the same array */
    if (!(*out = fg_backend_new(&ops, c))) {
        free(c);
        return fg_error(FG_ERR_NOMEM, "linear gradient: out of memory");
    }
    return FG_OK;
}
