/* The array backend seam and its ideal implementation. */
#include "fgcore.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

struct fg_backend {
    fg_backend_ops ops;
    void *ctx;
    uint64_t count;
};

fg_backend *fg_backend_new(const fg_backend_ops *ops, void *ctx)
{
    fg_backend *be = calloc(1, sizeof *be);
    if (!be)
        return NULL;
    be->ops = *ops;
    be->ctx = ctx;
    return be;
}

const char *fg_backend_name(const fg_backend *be) { return be->ops.name; }
void *fg_backend_ctx(const fg_backend *be) { return be->ctx; }
int fg_backend_can_backward(const fg_backend *be) { return be->ops.vmm_backward != NULL; }
uint64_t fg_backend_ops_count(const fg_backend *be) { return be->count; }

fg_status fg_backend_vmm(fg_backend *be, const float *w, const float *x,
                         float *y, int B)
{
    be->count += (uint64_t)B;
    return be->ops.vmm(be->ctx, w, x, y, B);
}

fg_status fg_backend_vmm_backward(fg_backend *be, const float *w,
                                  const float *x, const float *dy, float *dx,
                                  float *dw, int B)
{
    if (!be->ops.vmm_backward)
        return fg_error(FG_ERR_UNSUPPORTED,
                        "backend '%s' has no gradient; train with ideal or hwa",
                        be->ops.name);
    return be->ops.vmm_backward(be->ctx, w, x, dy, dx, dw, B);
}

void fg_tiles_pack(float *m, const float *w, int nt)
{
    for (int t = 0; t < nt; t++)
        for (int i = 0; i < FG_ROWS; i++)
            memcpy(m + (size_t)i * nt * FG_COLS + (size_t)t * FG_COLS,
                   w + ((size_t)t * FG_ROWS + i) * FG_COLS, FG_COLS * sizeof *m);
}

fg_status fg_backend_vmm_tiles(fg_backend *be, const float *w, int nt,
                               const float *x, float *y, int B)
{
    if (be->ops.vmm_tiles) {
        be->count += (uint64_t)nt * (uint64_t)B;
        return be->ops.vmm_tiles(be->ctx, w, nt, x, y, B);
    }
    fg_status st = FG_OK;
    for (int c = 0; c < nt && st == FG_OK; c++)
        st = fg_backend_vmm(be, w + (size_t)c * FG_CELLS, x,
                            y + (size_t)c * B * FG_COLS, B);
    return st;
}

fg_status fg_backend_vmm_tiles_backward(fg_backend *be, const float *w, int nt,
                                        const float *x, const float *dy,
                                        float *dx, float *dw, int B)
{
    if (be->ops.vmm_tiles_backward)
        return be->ops.vmm_tiles_backward(be->ctx, w, nt, x, dy, dx, dw, B);
    fg_status st = FG_OK;
    for (int c = 0; c < nt && st == FG_OK; c++)
        st = fg_backend_vmm_backward(be, w + (size_t)c * FG_CELLS, x,
                                     dy + (size_t)c * B * FG_COLS, dx,
                                     dw ? dw + (size_t)c * FG_CELLS : NULL, B);
    return st;
}

void fg_backend_free(fg_backend *be)
{
    if (!be)
        return;
    if (be->ops.free)
        be->ops.free(be->ctx);
    free(be);
}

/* y (B,16) = x (B,16) . w (16,16) */
static fg_status ideal_vmm(void *ctx, const float *w, const float *x, float *y,
                           int B)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, FG_COLS, FG_ROWS,
                1.0f, x, FG_ROWS, w, FG_COLS, 0.0f, y, FG_COLS);
    return FG_OK;
}

/* dx (B,16) += dy . w^T ; dw (16,16) += x^T . dy */
static fg_status ideal_vmm_backward(void *ctx, const float *w, const float *x,
                                    const float *dy, float *dx, float *dw, int B)
{
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, FG_ROWS, FG_COLS,
                    1.0f, dy, FG_COLS, w, FG_COLS, 1.0f, dx, FG_ROWS);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, FG_ROWS, FG_COLS, B,
                    1.0f, x, FG_ROWS, dy, FG_COLS, 1.0f, dw, FG_COLS);
    return FG_OK;
}

/* A row of nt tiles on the same pulses is one product:
 * M (16, nt*16) with M[i][t*16+j] = w[t][i][j], Y (B, nt*16) = x . M,
 * y (nt,B,16) its columns regrouped; scratch kept between calls. */
typedef struct {
    float *buf;
    size_t cap;
} ideal_ctx;

static float *ideal_scratch(ideal_ctx *c, size_t n)
{
    if (c->cap < n) {
        float *b = realloc(c->buf, n * sizeof *b);
        if (!b)
            return NULL;
        c->buf = b, c->cap = n;
    }
    return c->buf;
}

/* m (16, nt*16) from w (nt,16,16) */
static void ideal_pack(float *m, const float *w, int nt)
{
    for (int t = 0; t < nt; t++)
        for (int i = 0; i < FG_ROWS; i++)
            memcpy(m + (size_t)i * nt * FG_COLS + (size_t)t * FG_COLS,
                   w + ((size_t)t * FG_ROWS + i) * FG_COLS, FG_COLS * sizeof *m);
}

/* y (nt,B,16) <-> yy (B, nt*16); to_y: yy -> y, else y -> yy */
static void ideal_regroup(float *y, float *yy, int nt, int B, int to_y)
{
    for (int t = 0; t < nt; t++)
        for (int n = 0; n < B; n++) {
            float *a = y + ((size_t)t * B + n) * FG_COLS;
            float *b = yy + (size_t)n * nt * FG_COLS + (size_t)t * FG_COLS;
            memcpy(to_y ? a : b, to_y ? b : a, FG_COLS * sizeof *a);
        }
}

static fg_status ideal_tiles(void *ctx, const float *w, int nt, const float *x,
                             float *y, int B)
{
    const size_t nm = (size_t)nt * FG_CELLS, ny = (size_t)nt * B * FG_COLS;
    float *m = ideal_scratch(ctx, nm + ny);
    if (!m)
        return fg_error(FG_ERR_NOMEM, "ideal backend: out of memory");
    float *yy = m + nm;
    const int N = nt * FG_COLS;
    ideal_pack(m, w, nt);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, N, FG_ROWS, 1.0f, x,
                FG_ROWS, m, N, 0.0f, yy, N);
    ideal_regroup(y, yy, nt, B, 1);
    return FG_OK;
}

/* dx (B,16) += DY . M^T ; dM = x^T . DY, dw (nt,16,16) += dM regrouped */
static fg_status ideal_tiles_backward(void *ctx, const float *w, int nt,
                                      const float *x, const float *dy, float *dx,
                                      float *dw, int B)
{
    const size_t nm = (size_t)nt * FG_CELLS, ny = (size_t)nt * B * FG_COLS;
    float *m = ideal_scratch(ctx, 2 * nm + ny);
    if (!m)
        return fg_error(FG_ERR_NOMEM, "ideal backend: out of memory");
    float *dm = m + nm, *dyy = dm + nm;
    const int N = nt * FG_COLS;
    ideal_regroup((float *)dy, dyy, nt, B, 0);
    if (dx) {
        ideal_pack(m, w, nt);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, FG_ROWS, N, 1.0f, dyy,
                    N, m, N, 1.0f, dx, FG_ROWS);
    }
    if (dw) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, FG_ROWS, N, B, 1.0f, x,
                    FG_ROWS, dyy, N, 0.0f, dm, N);
        for (int t = 0; t < nt; t++)
            for (int i = 0; i < FG_ROWS; i++)
                for (int j = 0; j < FG_COLS; j++)
                    dw[((size_t)t * FG_ROWS + i) * FG_COLS + j] +=
                        dm[(size_t)i * N + (size_t)t * FG_COLS + j];
    }
    return FG_OK;
}

static void ideal_free(void *ctx)
{
    ideal_ctx *c = ctx;
    free(c->buf);
    free(c);
}

fg_backend *fg_backend_ideal_new(void)
{
    static const fg_backend_ops ops = {
        .name = "ideal", .vmm = ideal_vmm, .vmm_backward = ideal_vmm_backward,
        .vmm_tiles = ideal_tiles, .vmm_tiles_backward = ideal_tiles_backward,
        .free = ideal_free,
    };
    ideal_ctx *c = calloc(1, sizeof *c);
    fg_backend *be = c ? fg_backend_new(&ops, c) : NULL;
    if (!be)
        free(c);
    return be;
}
