/* Analog tiles: a layer's matrix product on 16x16 floating-gate arrays through
 * the fg_backend seam. Mapping (see train.h):
 *   tile (r,c): word line i  <- input 16r+i as pulse width x = a/s_x in [0,1];
 *               bit lines 2k, 2k+1 <- output 8c+k as the differential pair
 *               (w+, w-) of v = W/g, g = max|W|;
 *   out[n][8c+k] = b[8c+k] + s_x*g*sum_r (y[n][2k] - y[n][2k+1]).
 * A row of tiles (same r) shares its pulses: one fg_backend_vmm_tiles call.
 * Backward: dy[n][2k] = s_x*g*dout, dy[n][2k+1] = -s_x*g*dout; the backend's
 * vmm_backward gives dx and dcells; da = dx/s_x, dW = dv/g with dv = dw+ for
 * v >= 0 and -dw- for v < 0 (exact derivative of the split). */
#include "train.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PAIRS (FG_COLS / 2) /* outputs per tile */
#define NN_PAR_ROWS 1024    /* rows from which a loop over them runs on the threads */

int nn_tile_count(int IC, int OC)
{
    return ((IC + FG_ROWS - 1) / FG_ROWS) * ((OC + PAIRS - 1) / PAIRS);
}

float nn_tile_scale(const float *w, int IC, int OC)
{
    float g = 0.0f;
    for (size_t i = 0; i < (size_t)IC * OC; i++)
        g = fabsf(w[i]) > g ? fabsf(w[i]) : g;
    return g > 0.0f ? g : 1.0f;
}

void nn_tile_cells(float *cells, const float *w, int IC, int OC, int r, int c,
                   float g)
{
    memset(cells, 0, FG_CELLS * sizeof *cells);
    const int i0 = r * FG_ROWS, ni = IC - i0 < FG_ROWS ? IC - i0 : FG_ROWS;
    const float inv = 1.0f / g;
    for (int k = 0; k < PAIRS && c * PAIRS + k < OC; k++) {
        const float *row = w + (size_t)(c * PAIRS + k) * IC + i0; /* contiguous */
        for (int i = 0; i < ni; i++) {
            float v = row[i] * inv;
            v = v > 1.0f ? 1.0f : (v < -1.0f ? -1.0f : v);
            cells[i * FG_COLS + 2 * k] = v > 0.0f ? v : 0.0f;
            cells[i * FG_COLS + 2 * k + 1] = v < 0.0f ? -v : 0.0f;
        }
    }
}

/* xb (N,16) = inputs 16r.. of inp (N,IC) divided by s_x, zero padded */
static void tile_pulses(float *xb, const float *inp, int N, int IC, int r,
                        float s_x)
{
    const float inv = s_x > 0.0f ? 1.0f / s_x : 0.0f;
    const int i0 = r * FG_ROWS;
    const int ni = IC - i0 < FG_ROWS ? IC - i0 : FG_ROWS;
#pragma omp parallel for schedule(static) if (N >= NN_PAR_ROWS)
    for (int n = 0; n < N; n++) {
        float *x = xb + (size_t)n * FG_ROWS;
        const float *a = inp + (size_t)n * IC + i0;
        for (int i = 0; i < ni; i++)
            x[i] = a[i] * inv;
        for (int i = ni; i < FG_ROWS; i++)
            x[i] = 0.0f;
    }
}

void nn_scratch_free(nn_scratch *ws)
{
    free(ws->buf);
    *ws = (nn_scratch){0};
}

/* *buf = n floats of ws (grown as needed), or of a fresh block *own when ws
 * is NULL (the caller frees *own). */
static fg_status scratch_get(nn_scratch *ws, size_t n, float **buf, float **own)
{
    *own = NULL;
    if (!ws) {
        if (!(*buf = *own = malloc(n * sizeof **buf)))
            return fg_error(FG_ERR_NOMEM, "tiles: out of memory (%zu floats)", n);
        return FG_OK;
    }
    if (ws->cap < n) {
        float *b = realloc(ws->buf, n * sizeof *b);
        if (!b)
            return fg_error(FG_ERR_NOMEM, "tiles: out of memory (%zu floats)", n);
        ws->buf = b, ws->cap = n;
    }
    *buf = ws->buf;
    return FG_OK;
}

/* out (N,OC) += s_x g (y+ - y-) of the pairs of yb (nc,N,16) */
static void tile_out(float *out, const float *yb, nn_linear_dims d, int nc,
                     float scale)
{
#pragma omp parallel for schedule(static) if (d.N >= NN_PAR_ROWS)
    for (int n = 0; n < d.N; n++)
        for (int c = 0; c < nc; c++) {
            const int k0 = c * PAIRS;
            const int nk = d.OC - k0 < PAIRS ? d.OC - k0 : PAIRS;
            const float *y = yb + ((size_t)c * d.N + n) * FG_COLS;
            float *o = out + (size_t)n * d.OC + k0;
            for (int k = 0; k < nk; k++)
                o[k] += scale * (y[2 * k] - y[2 * k + 1]);
        }
}

/* Vectors of a row tile that the gains are estimated on: all of them up
 * to NN_GAIN_SAMPLE, else NN_GAIN_SAMPLE spread over the batch by the
 * golden ratio (a conv layer's patches: every position and image alike). */
#define NN_GAIN_SAMPLE 256
static int gain_sample(int N, int k)
{
    if (N <= NN_GAIN_SAMPLE)
        return k;
    double f = k * 0.6180339887498949;
    return (int)((f - floor(f)) * N);
}

/* The least-squares slope of each column's output y against its ideal
 * product z = x . cells over the sampled vectors of a row tile,
 *     G = (M Syz - Sy Sz) / (M Szz - Sz^2),
 * 1 where z does not vary over the sample (var z below 1e-6 of its mean
 * square), clipped to [0, NN_GAIN_MAX]. gains (nc,16); xb (N,16); yb
 * (nc,N,16); cells (nc,16,16); with L = 16 nc, f: scratch of 16 (M + L)
 * + 2 M L floats; s: of 4 L doubles. */
static void tile_gains(float *gains, const float *xb, const float *yb,
                       const float *cells, int N, int nc, float *f, double *s)
{
    const int M = N < NN_GAIN_SAMPLE ? N : NN_GAIN_SAMPLE, L = nc * FG_COLS;
    /* xs (M,16) the sampled pulses, m (16, nc*16) the cells side by side,
     * z (M, nc*16) = xs . m, ys (M, nc*16) the sampled outputs */
    float *xs = f, *m = xs + (size_t)M * FG_ROWS, *z = m + (size_t)FG_ROWS * L;
    float *ys = z + (size_t)M * L;
    for (int k = 0; k < M; k++) {
        const int n = gain_sample(N, k);
        memcpy(xs + (size_t)k * FG_ROWS, xb + (size_t)n * FG_ROWS, FG_ROWS * sizeof *xs);
        for (int c = 0; c < nc; c++)
            memcpy(ys + (size_t)k * L + c * FG_COLS, yb + ((size_t)c * N + n) * FG_COLS,
                   FG_COLS * sizeof *ys);
    }
    fg_tiles_pack(m, cells, nc);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, L, FG_ROWS, 1.0f, xs, FG_ROWS,
                m, L, 0.0f, z, L);
    double *sz = s, *szz = s + L, *sy = s + 2 * L, *syz = s + 3 * L;
    memset(s, 0, 4 * (size_t)L * sizeof *s);
    for (int k = 0; k < M; k++) {
        const float *zk = z + (size_t)k * L, *yk = ys + (size_t)k * L;
        for (int l = 0; l < L; l++) {
            const double zv = zk[l], yv = yk[l];
            sz[l] += zv, szz[l] += zv * zv, sy[l] += yv, syz[l] += yv * zv;
        }
    }
    for (int l = 0; l < L; l++) {
        const double var = M * szz[l] - sz[l] * sz[l], cov = M * syz[l] - sy[l] * sz[l];
        const double g = var > 1e-6 * M * szz[l] && var > 0 ? cov / var : 1.0;
        gains[l] = (float)(g < 0 ? 0 : g > NN_GAIN_MAX ? NN_GAIN_MAX : g);
    }
}

fg_status nn_tiled_forward(fg_backend *be, nn_scratch *ws, float *out,
                           const float *inp, const float *w, const float *b,
                           float s_x, nn_linear_dims d)
{
    return nn_tiled_forward_gains(be, ws, out, inp, w, b, s_x, d, NULL);
}

fg_status nn_tiled_forward_gains(fg_backend *be, nn_scratch *ws, float *out,
                                 const float *inp, const float *w, const float *b,
                                 float s_x, nn_linear_dims d, float *gains)
{
    const int nr = (d.IC + FG_ROWS - 1) / FG_ROWS;
    const int nc = (d.OC + PAIRS - 1) / PAIRS;
    const float g = nn_tile_scale(w, d.IC, d.OC);
    const size_t nv = (size_t)d.N * FG_ROWS;
    /* xb (N,16) pulses, yb (nc,N,16) outputs, cells (nc,16,16): a row of
     * tiles at a time (they share the pulses) */
    float *xb, *own;
    /* + the gains' scratch: floats, then 4 * 16 * nc doubles (2 floats each) */
    const size_t L = (size_t)nc * FG_COLS, M = d.N < NN_GAIN_SAMPLE ? d.N : NN_GAIN_SAMPLE;
    const size_t ngf = gains ? FG_ROWS * (M + L) + 2 * M * L : 0;
    const size_t ngd = gains ? 2 * 4 * L + 2 : 0;
    fg_status st = scratch_get(ws, (1 + (size_t)nc) * nv + (size_t)nc * FG_CELLS + ngf + ngd,
                               &xb, &own);
    if (st != FG_OK)
        return st;
    float *yb = xb + nv, *cells = yb + (size_t)nc * nv, *gf = cells + (size_t)nc * FG_CELLS;
    double *gd = (double *)(((uintptr_t)(gf + ngf) + 7) & ~(uintptr_t)7);
#pragma omp parallel for schedule(static) if (d.N >= NN_PAR_ROWS)
    for (int n = 0; n < d.N; n++)
        for (int k = 0; k < d.OC; k++)
            out[(size_t)n * d.OC + k] = b ? b[k] : 0.0f;
    for (int r = 0; r < nr && st == FG_OK; r++) {
        tile_pulses(xb, inp, d.N, d.IC, r, s_x);
        for (int c = 0; c < nc; c++)
            nn_tile_cells(cells + (size_t)c * FG_CELLS, w, d.IC, d.OC, r, c, g);
        if ((st = fg_backend_vmm_tiles(be, cells, nc, xb, yb, d.N)) != FG_OK)
            break;
        if (gains)
            tile_gains(gains + (size_t)r * nc * FG_COLS, xb, yb, cells, d.N, nc, gf, gd);
        tile_out(out, yb, d, nc, s_x * g);
    }
    free(own);
    return st;
}

/* dyb (nc,N,16): differential bit-line gradients of dout (N,OC) */
static void tile_dy(float *dyb, const float *dout, nn_linear_dims d, int nc,
                    float scale)
{
#pragma omp parallel for collapse(2) schedule(static) if (d.N >= NN_PAR_ROWS)
    for (int c = 0; c < nc; c++)
        for (int n = 0; n < d.N; n++) {
            const int k0 = c * PAIRS;
            const int nk = d.OC - k0 < PAIRS ? d.OC - k0 : PAIRS;
            float *dy = dyb + ((size_t)c * d.N + n) * FG_COLS;
            const float *go = dout + (size_t)n * d.OC + k0;
            memset(dy, 0, FG_COLS * sizeof *dy);
            for (int k = 0; k < nk; k++) {
                dy[2 * k] = scale * go[k];
                dy[2 * k + 1] = -scale * go[k];
            }
        }
}

/* dw (OC,IC) += dv/g for tile (r,c) from the cells' gradient dcell (16,16) */
static void tile_dw(float *dw, const float *dcell, const float *cells,
                    nn_linear_dims d, int r, int c, float g)
{
    for (int i = 0; i < FG_ROWS && r * FG_ROWS + i < d.IC; i++)
        for (int k = 0; k < PAIRS && c * PAIRS + k < d.OC; k++) {
            int plus = i * FG_COLS + 2 * k;
            float dv = cells[plus + 1] > 0.0f ? -dcell[plus + 1] : dcell[plus];
            dw[(size_t)(c * PAIRS + k) * d.IC + r * FG_ROWS + i] += dv / g;
        }
}

/* dinp (N,IC) += dxb (N,16) / s_x for the inputs of row tile r */
static void tile_dx(float *dinp, const float *dxb, nn_linear_dims d, int r,
                    float s_x)
{
    const int i0 = r * FG_ROWS;
    const int ni = d.IC - i0 < FG_ROWS ? d.IC - i0 : FG_ROWS;
    const float inv = s_x > 0.0f ? 1.0f / s_x : 0.0f;
#pragma omp parallel for schedule(static) if (d.N >= NN_PAR_ROWS)
    for (int n = 0; n < d.N; n++)
        for (int i = 0; i < ni; i++)
            dinp[(size_t)n * d.IC + i0 + i] += dxb[(size_t)n * FG_ROWS + i] * inv;
}

fg_status nn_tiled_backward(fg_backend *be, nn_scratch *ws, float *dinp,
                            float *dw, float *db, const float *dout,
                            const float *inp, const float *w, float s_x,
                            nn_linear_dims d)
{
    const int nr = (d.IC + FG_ROWS - 1) / FG_ROWS;
    const int nc = (d.OC + PAIRS - 1) / PAIRS;
    const float g = nn_tile_scale(w, d.IC, d.OC);
    const size_t nv = (size_t)d.N * FG_ROWS;
    if (db)
        nn_linear_backward(NULL, NULL, db, dout, inp, w, d); /* digital */
    if (!dinp && !dw)
        return FG_OK;
    /* xb (N,16), dxb (N,16), dyb (nc,N,16), cells and dcell (nc,16,16) */
    const size_t ncw = (size_t)nc * FG_CELLS;
    float *xb, *own;
    fg_status st = scratch_get(ws, (2 + (size_t)nc) * nv + 2 * ncw, &xb, &own);
    if (st != FG_OK)
        return st;
    float *dxb = xb + nv, *dyb = dxb + nv;
    float *cells = dyb + (size_t)nc * nv, *dcell = cells + ncw;
    tile_dy(dyb, dout, d, nc, s_x * g);
    for (int r = 0; r < nr && st == FG_OK; r++) {
        tile_pulses(xb, inp, d.N, d.IC, r, s_x);
        for (int c = 0; c < nc; c++)
            nn_tile_cells(cells + (size_t)c * FG_CELLS, w, d.IC, d.OC, r, c, g);
        if (dinp)
            memset(dxb, 0, nv * sizeof *dxb);
        memset(dcell, 0, ncw * sizeof *dcell);
        st = fg_backend_vmm_tiles_backward(be, cells, nc, xb, dyb,
                                           dinp ? dxb : NULL, dcell, d.N);
        if (st != FG_OK)
            break;
        if (dinp)
            tile_dx(dinp, dxb, d, r, s_x);
        for (int c = 0; dw && c < nc; c++)
            tile_dw(dw, dcell + (size_t)c * FG_CELLS, cells + (size_t)c * FG_CELLS,
                    d, r, c, g);
    }
    free(own);
    return st;
}

/* gsel (OC,IC): the gain of the cell each weight sits on, gains (nr,nc,16)
 * of column 2k (w >= 0) or 2k+1 (w < 0) of tile (i/16, k/8) */
static void tile_gain_select(float *gsel, const float *w, const float *gains,
                             nn_linear_dims d)
{
    const int nc = (d.OC + PAIRS - 1) / PAIRS;
    for (int k = 0; k < d.OC; k++)
        for (int i = 0; i < d.IC; i++) {
            const size_t o = (size_t)k * d.IC + i;
            const int r = i / FG_ROWS, c = k / PAIRS, j = 2 * (k % PAIRS) + (w[o] < 0.0f);
            gsel[o] = gains[((size_t)r * nc + c) * FG_COLS + j];
        }
}

fg_status nn_tiled_backward_linear(nn_scratch *ws, float *dinp, float *dw, float *db,
                                   const float *dout, const float *inp, const float *w,
                                   const float *gains, nn_linear_dims d)
{
    const size_t nw = (size_t)d.OC * d.IC;
    float *gsel, *own;
    fg_status st = scratch_get(ws, 2 * nw, &gsel, &own);
    if (st != FG_OK)
        return st;
    float *tmp = gsel + nw;
    tile_gain_select(gsel, w, gains, d);
    if (dinp || db) { /* dinp += dout . (G o w): the ideal transpose, gain-scaled */
        for (size_t o = 0; o < nw; o++)
            tmp[o] = gsel[o] * w[o];
        nn_linear_backward(dinp, NULL, db, dout, inp, tmp, d);
    }
    if (dw) { /* dw += G o (dout^T . inp) */
        memset(tmp, 0, nw * sizeof *tmp);
        nn_linear_backward(NULL, tmp, NULL, dout, inp, w, d);
        for (size_t o = 0; o < nw; o++)
            dw[o] += gsel[o] * tmp[o];
    }
    free(own);
    return FG_OK;
}
