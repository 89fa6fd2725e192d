/* Layers with forward and backward (llm.c style): linear, conv2d via im2col +
 * sgemm, max/avg pooling, ReLU, pulse clip, softmax cross-entropy.
 * Backward passes accumulate (+=). Parallel loops write disjoint outputs, so
 * results do not depend on the number of threads. */
#include "train.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_max_threads(void) { return 1; }
#endif

/* ---- linear --------------------------------------------------------------- */
/* The products run single-threaded in OpenBLAS (nn_set_threads); a large one
 * is split into blocks of rows (or of columns), one per OpenMP thread. */
#define NN_SPLIT_FLOPS 4e6 /* below: one call (the split costs more)   */

static int blocks(nn_linear_dims d)
{
    const double flops = 2.0 * d.N * d.IC * d.OC;
    const int nt = omp_get_max_threads();
    return flops >= NN_SPLIT_FLOPS && nt > 1 ? nt : 1;
}

/* first index of block t of nb over 0..n */
static int block_start(int n, int nb, int t) { return (int)((long long)n * t / nb); }

void nn_linear_forward(float *out, const float *inp, const float *w,
                       const float *b, nn_linear_dims d)
{
    /* out (N,OC) = inp (N,IC) . w^T (IC,OC) */
    const int nb = blocks(d);
#pragma omp parallel for schedule(static) if (nb > 1)
    for (int t = 0; t < nb; t++) {
        const int n0 = block_start(d.N, nb, t), n = block_start(d.N, nb, t + 1) - n0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d.OC, d.IC, 1.0f,
                    inp + (size_t)n0 * d.IC, d.IC, w, d.IC, 0.0f,
                    out + (size_t)n0 * d.OC, d.OC);
    }
    if (!b)
        return;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < d.N; n++) {
        float *o = out + (size_t)n * d.OC; /* (OC) */
        for (int k = 0; k < d.OC; k++)
            o[k] += b[k];
    }
}

void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout,
                        const float *inp, const float *w, nn_linear_dims d)
{
    const int nb = blocks(d);
#pragma omp parallel for schedule(static) if (nb > 1)
    for (int t = 0; t < nb; t++) {
        /* dinp (N,IC) += dout (N,OC) . w (OC,IC): block t of the N rows */
        const int n0 = block_start(d.N, nb, t), n = block_start(d.N, nb, t + 1) - n0;
        if (dinp && n > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d.IC, d.OC,
                        1.0f, dout + (size_t)n0 * d.OC, d.OC, w, d.IC, 1.0f,
                        dinp + (size_t)n0 * d.IC, d.IC);
        /* dw (OC,IC) += dout^T (OC,N) . inp (N,IC): block t of the IC columns */
        const int i0 = block_start(d.IC, nb, t), ni = block_start(d.IC, nb, t + 1) - i0;
        if (dw && ni > 0)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.OC, ni, d.N,
                        1.0f, dout, d.OC, inp + i0, d.IC, 1.0f, dw + i0, d.IC);
    }
    if (!db)
        return;
    /* db (OC) += sum_n dout; fixed order per output: deterministic */
#pragma omp parallel for schedule(static)
    for (int k = 0; k < d.OC; k++) {
        double s = 0.0;
        for (int n = 0; n < d.N; n++)
            s += dout[(size_t)n * d.OC + k];
        db[k] += (float)s;
    }
}

/* ---- conv2d ---------------------------------------------------------------- */
nn_conv_dims nn_conv_dims_make(int B, int H, int W, int C, int OC, int K,
                               int stride, int pad)
{
    nn_conv_dims d = {.B = B, .H = H, .W = W, .C = C, .OC = OC, .K = K,
                      .stride = stride, .pad = pad};
    d.OH = (H + 2 * pad - K) / stride + 1;
    d.OW = (W + 2 * pad - K) / stride + 1;
    return d;
}

nn_linear_dims nn_conv_as_linear(nn_conv_dims d)
{
    return (nn_linear_dims){.N = d.B * d.OH * d.OW, .IC = d.K * d.K * d.C,
                            .OC = d.OC};
}

void nn_im2col(float *cols, const float *inp, nn_conv_dims d)
{
    const int kkc = d.K * d.K * d.C;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < d.B; b++) {
        const float *ib = inp + (size_t)b * d.H * d.W * d.C; /* (H,W,C) */
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++) {
                float *row = cols + (((size_t)b * d.OH + oh) * d.OW + ow) * kkc;
                for (int kh = 0; kh < d.K; kh++) {
                    int ih = oh * d.stride - d.pad + kh;
                    for (int kw = 0; kw < d.K; kw++) {
                        int iw = ow * d.stride - d.pad + kw;
                        float *dst = row + (kh * d.K + kw) * d.C; /* (C) */
                        /* loops, not memset/memcpy: C is 1 to a few
                         * floats, a library call per pixel cost more */
                        if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W)
                            for (int c = 0; c < d.C; c++)
                                dst[c] = 0.0f;
                        else {
                            const float *src = ib + ((size_t)ih * d.W + iw) * d.C;
                            for (int c = 0; c < d.C; c++)
                                dst[c] = src[c];
                        }
                    }
                }
            }
    }
}

void nn_col2im(float *dinp, const float *dcols, nn_conv_dims d)
{
    const int kkc = d.K * d.K * d.C;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < d.B; b++) {
        float *db = dinp + (size_t)b * d.H * d.W * d.C; /* (H,W,C) */
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++) {
                const float *row =
                    dcols + (((size_t)b * d.OH + oh) * d.OW + ow) * kkc;
                for (int kh = 0; kh < d.K; kh++) {
                    int ih = oh * d.stride - d.pad + kh;
                    if (ih < 0 || ih >= d.H)
                        continue;
                    for (int kw = 0; kw < d.K; kw++) {
                        int iw = ow * d.stride - d.pad + kw;
                        if (iw < 0 || iw >= d.W)
                            continue;
                        const float *src = row + (kh * d.K + kw) * d.C;
                        float *dst = db + ((size_t)ih * d.W + iw) * d.C;
                        for (int c = 0; c < d.C; c++)
                            dst[c] += src[c];
                    }
                }
            }
    }
}

void nn_conv2d_forward(float *out, float *cols, const float *inp,
                       const float *w, const float *b, nn_conv_dims d)
{
    nn_im2col(cols, inp, d);
    nn_linear_forward(out, cols, w, b, nn_conv_as_linear(d));
}

void nn_conv2d_backward(float *dinp, float *dw, float *db, float *dcols,
                        const float *dout, const float *cols, const float *w,
                        nn_conv_dims d)
{
    nn_linear_dims ld = nn_conv_as_linear(d);
    if (dinp)
        memset(dcols, 0, (size_t)ld.N * ld.IC * sizeof *dcols);
    nn_linear_backward(dinp ? dcols : NULL, dw, db, dout, cols, w, ld);
    if (dinp)
        nn_col2im(dinp, dcols, d);
}

/* ---- pooling --------------------------------------------------------------- */
nn_pool_dims nn_pool_dims_make(int B, int H, int W, int C, int K, int stride)
{
    return (nn_pool_dims){.B = B, .H = H, .W = W, .C = C, .K = K,
                          .stride = stride, .OH = (H - K) / stride + 1,
                          .OW = (W - K) / stride + 1};
}

/* offset of (b,h,w,0) in a (B,H,W,C) tensor */
static size_t nhwc(int b, int h, int w, int H, int W, int C)
{
    return (((size_t)b * H + h) * W + w) * C;
}

void nn_maxpool_forward(float *out, const float *inp, nn_pool_dims d)
{
#pragma omp parallel for schedule(static)
    for (int b = 0; b < d.B; b++)
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++) {
                float *o = out + nhwc(b, oh, ow, d.OH, d.OW, d.C);
                for (int c = 0; c < d.C; c++)
                    o[c] = -FLT_MAX;
                for (int kh = 0; kh < d.K; kh++)
                    for (int kw = 0; kw < d.K; kw++) {
                        const float *i = inp + nhwc(b, oh * d.stride + kh,
                                                    ow * d.stride + kw, d.H,
                                                    d.W, d.C);
                        for (int c = 0; c < d.C; c++)
                            if (i[c] > o[c])
                                o[c] = i[c];
                    }
            }
}

void nn_maxpool_backward(float *dinp, const float *dout, const float *inp,
                         nn_pool_dims d)
{
#pragma omp parallel for schedule(static)
    for (int b = 0; b < d.B; b++)
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++)
                for (int c = 0; c < d.C; c++) {
                    size_t best = 0;
                    float m = -FLT_MAX;
                    for (int kh = 0; kh < d.K; kh++)
                        for (int kw = 0; kw < d.K; kw++) {
                            size_t at = nhwc(b, oh * d.stride + kh,
                                             ow * d.stride + kw, d.H, d.W, d.C) + c;
                            if (inp[at] > m) {
                                m = inp[at];
                                best = at;
                            }
                        }
                    dinp[best] += dout[nhwc(b, oh, ow, d.OH, d.OW, d.C) + c];
                }
}

void nn_avgpool_forward(float *out, const float *inp, nn_pool_dims d)
{
    const float inv = 1.0f / (float)(d.K * d.K);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < d.B; b++)
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++) {
                float *o = out + nhwc(b, oh, ow, d.OH, d.OW, d.C);
                memset(o, 0, (size_t)d.C * sizeof *o);
                for (int kh = 0; kh < d.K; kh++)
                    for (int kw = 0; kw < d.K; kw++) {
                        const float *i = inp + nhwc(b, oh * d.stride + kh,
                                                    ow * d.stride + kw, d.H,
                                                    d.W, d.C);
                        for (int c = 0; c < d.C; c++)
                            o[c] += i[c];
                    }
                for (int c = 0; c < d.C; c++)
                    o[c] *= inv;
            }
}

void nn_avgpool_backward(float *dinp, const float *dout, nn_pool_dims d)
{
    const float inv = 1.0f / (float)(d.K * d.K);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < d.B; b++)
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++) {
                const float *g = dout + nhwc(b, oh, ow, d.OH, d.OW, d.C);
                for (int kh = 0; kh < d.K; kh++)
                    for (int kw = 0; kw < d.K; kw++) {
                        float *i = dinp + nhwc(b, oh * d.stride + kh,
                                               ow * d.stride + kw, d.H, d.W, d.C);
                        for (int c = 0; c < d.C; c++)
                            i[c] += g[c] * inv;
                    }
            }
}

/* ---- elementwise ------------------------------------------------------------ */
void nn_relu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void nn_relu_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        if (inp[i] > 0.0f)
            dinp[i] += dout[i];
}

void nn_clip_forward(float *out, const float *inp, float s, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] < 0.0f ? 0.0f : (inp[i] > s ? s : inp[i]);
}

void nn_clip_backward(float *dinp, const float *dout, const float *inp,
                      float s, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        if (inp[i] >= 0.0f && inp[i] <= s)
            dinp[i] += dout[i];
}

/* ---- softmax cross-entropy --------------------------------------------------- */
float nn_xent_forward(float *probs, const float *logits, const uint8_t *labels,
                      int B, int K)
{
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K; /* (K) */
        float *p = probs + (size_t)b * K;        /* (K) */
        float m = z[0];
        for (int k = 1; k < K; k++)
            m = z[k] > m ? z[k] : m;
        double s = 0.0;
        for (int k = 0; k < K; k++)
            s += exp((double)z[k] - m);
        for (int k = 0; k < K; k++)
            p[k] = (float)(exp((double)z[k] - m) / s);
        loss += log(s) + m - z[labels[b]];
    }
    return (float)(loss / B);
}

void nn_xent_backward(float *dlogits, const float *probs, const uint8_t *labels,
                      int B, int K)
{
    const float inv = 1.0f / (float)B;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++)
            dlogits[(size_t)b * K + k] +=
                (probs[(size_t)b * K + k] - (k == labels[b] ? 1.0f : 0.0f)) * inv;
}

/* ---- optimisers ---------------------------------------------------------------- */
void nn_sgd_step(float *p, const float *g, float *m, size_t n, float lr,
                 float momentum, float wd)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        m[i] = momentum * m[i] + g[i] + wd * p[i];
        p[i] -= lr * m[i];
    }
}

void nn_adam_step(float *p, const float *g, float *m, float *v, size_t n,
                  float lr, float beta1, float beta2, float eps, float wd, long t)
{
    const float c1 = 1.0f - powf(beta1, (float)t);
    const float c2 = 1.0f - powf(beta2, (float)t);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        float mh = m[i] / c1, vh = v[i] / c2;
        p[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * p[i]);
    }
}
