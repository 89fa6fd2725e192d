/* The array backend seam and its ideal implementation. */
#include "fgcore.h"

#include <cblas.h>
#include <stdlib.h>

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

fg_backend *fg_backend_ideal_new(void)
{
    static const fg_backend_ops ops = {
        .name = "ideal", .vmm = ideal_vmm, .vmm_backward = ideal_vmm_backward,
    };
    return fg_backend_new(&ops, NULL);
}
