/* Tests of train/: layer gradients against central finite differences,
 * analog tiles (ideal backend == dense product), optimisers, determinism,
 * data loaders on tiny fixtures, checkpoints, and the train/evaluate
 * commands. Everything runs on tiny shapes and fixture files. */
#include "suites.h"
#include "testutil.h"
#include "train.h"
#include "model_fit.h" /* model files for the commands (train/ never includes it) */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define FIX FG_FIXTURES "/"

static void fill(float *x, size_t n, fg_rng *r, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)fg_rng_uniform(r);
}

static float *vec(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* ---- finite differences ------------------------------------------------------ */
/* A forward pass under test: writes out (nout) from the current inputs. */
typedef struct fd_case fd_case;
struct fd_case {
    void (*fwd)(fd_case *c, float *out);
    size_t nout;
    const float *r; /* (nout) random projection: loss = sum out*r */
    void *ctx;
};

static double fd_loss(fd_case *c, float *out)
{
    c->fwd(c, out);
    double s = 0.0;
    for (size_t i = 0; i < c->nout; i++)
        s += (double)out[i] * c->r[i];
    return s;
}

/* Compares analytic d loss / d x (nx) with central differences. */
static void fd_check(fd_case *c, float *x, size_t nx, const float *an,
                     float eps, double tol, const char *what)
{
    float *out = vec(c->nout);
    for (size_t i = 0; i < nx; i++) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = fd_loss(c, out);
        x[i] = keep - eps;
        double lm = fd_loss(c, out);
        x[i] = keep;
        double num = (lp - lm) / (2.0 * eps);
        ck_assert_msg(fabs(num - an[i]) <= tol * (1.0 + fabs(num)),
                      "%s[%zu]: analytic %g, numeric %g", what, i, an[i], num);
    }
    free(out);
}

/* linear */
typedef struct { float *x, *w, *b; nn_linear_dims d; } lin_ctx;
static void lin_fwd(fd_case *c, float *out)
{
    lin_ctx *l = c->ctx;
    nn_linear_forward(out, l->x, l->w, l->b, l->d);
}

START_TEST(grad_linear)
{
    fg_rng r;
    fg_rng_seed(&r, 1);
    nn_linear_dims d = {.N = 3, .IC = 7, .OC = 5};
    lin_ctx l = {vec(21), vec(35), vec(5), d};
    float *rr = vec(15), *dx = vec(21), *dw = vec(35), *db = vec(5);
    fill(l.x, 21, &r, -1, 1), fill(l.w, 35, &r, -1, 1), fill(l.b, 5, &r, -1, 1);
    fill(rr, 15, &r, -1, 1);
    nn_linear_backward(dx, dw, db, rr, l.x, l.w, d);
    nn_linear_backward(dx, dw, db, rr, l.x, l.w, d); /* += : twice the gradient */
    for (int i = 0; i < 21; i++) dx[i] *= 0.5f;
    for (int i = 0; i < 35; i++) dw[i] *= 0.5f;
    for (int i = 0; i < 5; i++) db[i] *= 0.5f;
    fd_case c = {lin_fwd, 15, rr, &l};
    fd_check(&c, l.x, 21, dx, 1e-2f, 2e-3, "linear dinp");
    fd_check(&c, l.w, 35, dw, 1e-2f, 2e-3, "linear dw");
    fd_check(&c, l.b, 5, db, 1e-2f, 2e-3, "linear db");
    free(l.x), free(l.w), free(l.b), free(rr), free(dx), free(dw), free(db);
}
END_TEST

/* conv2d */
typedef struct { float *x, *w, *b, *cols; nn_conv_dims d; } conv_ctx;
static void conv_fwd(fd_case *c, float *out)
{
    conv_ctx *k = c->ctx;
    nn_conv2d_forward(out, k->cols, k->x, k->w, k->b, k->d);
}

static void conv_case(int stride, int pad)
{
    fg_rng r;
    fg_rng_seed(&r, 2);
    nn_conv_dims d = nn_conv_dims_make(2, 6, 5, 3, 4, 3, stride, pad);
    size_t nx = 2 * 6 * 5 * 3, nw = 4 * 3 * 3 * 3;
    size_t no = (size_t)2 * d.OH * d.OW * 4, nc = (size_t)2 * d.OH * d.OW * 27;
    conv_ctx k = {vec(nx), vec(nw), vec(4), vec(nc), d};
    float *rr = vec(no), *dx = vec(nx), *dw = vec(nw), *db = vec(4), *dcols = vec(nc);
    float *out = vec(no);
    fill(k.x, nx, &r, -1, 1), fill(k.w, nw, &r, -1, 1), fill(k.b, 4, &r, -1, 1);
    fill(rr, no, &r, -1, 1);
    nn_conv2d_forward(out, k.cols, k.x, k.w, k.b, d);
    nn_conv2d_backward(dx, dw, db, dcols, rr, k.cols, k.w, d);
    fd_case c = {conv_fwd, no, rr, &k};
    fd_check(&c, k.x, nx, dx, 1e-2f, 2e-3, "conv dinp");
    fd_check(&c, k.w, nw, dw, 1e-2f, 2e-3, "conv dw");
    fd_check(&c, k.b, 4, db, 1e-2f, 2e-3, "conv db");
    /* direct convolution at one output position */
    int b = 1, oh = d.OH - 1, ow = 1, oc = 2;
    double s = k.b[oc];
    for (int kh = 0; kh < 3; kh++)
        for (int kw = 0; kw < 3; kw++)
            for (int ci = 0; ci < 3; ci++) {
                int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                if (ih >= 0 && ih < 6 && iw >= 0 && iw < 5)
                    s += k.w[((oc * 3 + kh) * 3 + kw) * 3 + ci] *
                         k.x[((b * 6 + ih) * 5 + iw) * 3 + ci];
            }
    ck_assert_double_eq_tol(out[((b * d.OH + oh) * d.OW + ow) * 4 + oc], s, 1e-5);
    free(k.x), free(k.w), free(k.b), free(k.cols), free(rr), free(dx), free(dw);
    free(db), free(dcols), free(out);
}

START_TEST(grad_conv)
{
    conv_case(1, 1);
    conv_case(2, 0);
    conv_case(1, 0);
}
END_TEST

/* pooling, relu, clip: elementwise-ish, inputs kept away from kinks */
typedef struct { float *x; nn_pool_dims d; int max; } pool_ctx;
static void pool_fwd(fd_case *c, float *out)
{
    pool_ctx *p = c->ctx;
    if (p->max)
        nn_maxpool_forward(out, p->x, p->d);
    else
        nn_avgpool_forward(out, p->x, p->d);
}

static void pool_case(int max, int K, int S)
{
    fg_rng r;
    fg_rng_seed(&r, 3);
    nn_pool_dims d = nn_pool_dims_make(2, 6, 7, 3, K, S);
    size_t nx = 2 * 6 * 7 * 3, no = (size_t)2 * d.OH * d.OW * 3;
    pool_ctx p = {vec(nx), d, max};
    float *rr = vec(no), *dx = vec(nx);
    for (size_t i = 0; i < nx; i++) /* distinct values 0.05 apart */
        p.x[i] = 0.05f * (float)((i * 37) % nx) - 3.0f;
    fill(rr, no, &r, -1, 1);
    if (max)
        nn_maxpool_backward(dx, rr, p.x, d);
    else
        nn_avgpool_backward(dx, rr, d);
    fd_case c = {pool_fwd, no, rr, &p};
    fd_check(&c, p.x, nx, dx, 1e-2f, 2e-3, max ? "maxpool" : "avgpool");
    free(p.x), free(rr), free(dx);
}

START_TEST(grad_pool)
{
    pool_case(1, 2, 2);
    pool_case(0, 2, 2);
    pool_case(1, 3, 2); /* overlapping windows */
    pool_case(0, 3, 1);
}
END_TEST

typedef struct { float *x; size_t n; float s; int clip; } ew_ctx;
static void ew_fwd(fd_case *c, float *out)
{
    ew_ctx *e = c->ctx;
    if (e->clip)
        nn_clip_forward(out, e->x, e->s, e->n);
    else
        nn_relu_forward(out, e->x, e->n);
}

START_TEST(grad_relu_clip)
{
    fg_rng r;
    fg_rng_seed(&r, 4);
    enum { N = 40 };
    for (int clip = 0; clip < 2; clip++) {
        ew_ctx e = {vec(N), N, 1.5f, clip};
        float *rr = vec(N), *dx = vec(N);
        for (int i = 0; i < N; i++) { /* away from 0 and s by > eps */
            float v = -2.0f + 4.5f * (float)fg_rng_uniform(&r);
            if (fabsf(v) < 0.05f) v += 0.1f;
            if (fabsf(v - e.s) < 0.05f) v += 0.1f;
            e.x[i] = v;
        }
        fill(rr, N, &r, -1, 1);
        if (clip)
            nn_clip_backward(dx, rr, e.x, e.s, N);
        else
            nn_relu_backward(dx, rr, e.x, N);
        fd_case c = {ew_fwd, N, rr, &e};
        fd_check(&c, e.x, N, dx, 1e-2f, 2e-3, clip ? "clip" : "relu");
        free(e.x), free(rr), free(dx);
    }
}
END_TEST

typedef struct { float *z, *p; const uint8_t *y; int B, K; } xent_ctx;
static void xent_fwd(fd_case *c, float *out)
{
    xent_ctx *x = c->ctx;
    out[0] = nn_xent_forward(x->p, x->z, x->y, x->B, x->K);
}

START_TEST(grad_xent)
{
    fg_rng r;
    fg_rng_seed(&r, 5);
    uint8_t y[3] = {2, 0, 4};
    xent_ctx x = {vec(15), vec(15), y, 3, 5};
    float one = 1.0f, *dz = vec(15);
    fill(x.z, 15, &r, -3, 3);
    float loss = nn_xent_forward(x.p, x.z, y, 3, 5);
    double ref = 0.0;
    for (int b = 0; b < 3; b++) {
        double s = 0.0;
        for (int k = 0; k < 5; k++)
            s += exp(x.z[b * 5 + k]);
        ref += log(s) - x.z[b * 5 + y[b]];
    }
    ck_assert_double_eq_tol(loss, ref / 3, 1e-5);
    nn_xent_backward(dz, x.p, y, 3, 5);
    fd_case c = {xent_fwd, 1, &one, &x};
    fd_check(&c, x.z, 15, dz, 1e-2f, 3e-3, "xent");
    free(x.z), free(x.p), free(dz);
}
END_TEST

/* ---- analog tiles ---------------------------------------------------------------- */
START_TEST(tiles_mapping)
{
    ck_assert_int_eq(nn_tile_count(49, 24), 4 * 3);
    ck_assert_int_eq(nn_tile_count(24, 10), 2 * 2);
    ck_assert_int_eq(nn_tile_count(16, 8), 1);
    fg_rng r;
    fg_rng_seed(&r, 6);
    int IC = 37, OC = 13;
    float *w = vec((size_t)IC * OC), cells[FG_CELLS];
    fill(w, (size_t)IC * OC, &r, -2, 2);
    float g = nn_tile_scale(w, IC, OC);
    for (int rt = 0; rt < 3; rt++)
        for (int ct = 0; ct < 2; ct++) {
            nn_tile_cells(cells, w, IC, OC, rt, ct, g);
            for (int i = 0; i < 16; i++)
                for (int j = 0; j < 16; j++) {
                    float c = cells[i * 16 + j];
                    ck_assert(c >= 0.0f && c <= 1.0f);
                    int in = rt * 16 + i, o = ct * 8 + j / 2;
                    if (in >= IC || o >= OC)
                        ck_assert_float_eq(c, 0.0f);
                }
            for (int i = 0; i < 16 && rt * 16 + i < IC; i++)
                for (int k = 0; k < 8 && ct * 8 + k < OC; k++) {
                    float wp = cells[i * 16 + 2 * k], wm = cells[i * 16 + 2 * k + 1];
                    ck_assert(wp == 0.0f || wm == 0.0f);
                    ck_assert_double_eq_tol(g * (wp - wm),
                                            w[(ct * 8 + k) * IC + rt * 16 + i], 1e-6);
                }
        }
    free(w);
}
END_TEST

typedef struct { fg_backend *be; float *x, *w, *b; float s; nn_linear_dims d; } tile_ctx;
static void tile_fwd(fd_case *c, float *out)
{
    tile_ctx *t = c->ctx;
    ck_assert_int_eq(nn_tiled_forward(t->be, NULL, out, t->x, t->w, t->b, t->s, t->d), FG_OK);
}

START_TEST(tiles_ideal_equals_dense)
{
    fg_rng r;
    fg_rng_seed(&r, 7);
    nn_linear_dims d = {.N = 5, .IC = 37, .OC = 13};
    size_t nx = 5 * 37, nw = 37 * 13, no = 5 * 13;
    fg_backend *be = fg_backend_ideal_new();
    tile_ctx t = {be, vec(nx), vec(nw), vec(13), 2.0f, d};
    fill(t.x, nx, &r, 0.05f, 1.95f), fill(t.w, nw, &r, -0.7f, 0.7f);
    fill(t.b, 13, &r, -1, 1);
    float *yt = vec(no), *yd = vec(no), *rr = vec(no);
    uint64_t ops0 = fg_backend_ops_count(be);
    nn_scratch ws = {0}; /* the later backward reuses it */
    ck_assert_int_eq(nn_tiled_forward(be, &ws, yt, t.x, t.w, t.b, t.s, d), FG_OK);
    ck_assert_uint_eq(fg_backend_ops_count(be) - ops0, (uint64_t)5 * nn_tile_count(37, 13));
    nn_linear_forward(yd, t.x, t.w, t.b, d);
    for (size_t i = 0; i < no; i++)
        ck_assert_double_eq_tol(yt[i], yd[i], 1e-4 * (1 + fabsf(yd[i])));
    /* backward: equals the dense backward, and finite differences */
    fill(rr, no, &r, -1, 1);
    float *dxt = vec(nx), *dwt = vec(nw), *dbt = vec(13);
    float *dxd = vec(nx), *dwd = vec(nw), *dbd = vec(13);
    ck_assert_int_eq(nn_tiled_backward(be, NULL, dxt, dwt, dbt, rr, t.x, t.w, t.s, d), FG_OK);
    nn_linear_backward(dxd, dwd, dbd, rr, t.x, t.w, d);
    for (size_t i = 0; i < nx; i++)
        ck_assert_double_eq_tol(dxt[i], dxd[i], 1e-4 * (1 + fabsf(dxd[i])));
    for (size_t i = 0; i < nw; i++)
        ck_assert_double_eq_tol(dwt[i], dwd[i], 1e-4 * (1 + fabsf(dwd[i])));
    for (int i = 0; i < 13; i++)
        ck_assert_double_eq_tol(dbt[i], dbd[i], 1e-5);
    fd_case c = {tile_fwd, no, rr, &t};
    fd_check(&c, t.x, nx, dxt, 1e-2f, 3e-3, "tiled dinp");
    /* weights: stay below max|W| so the scale g is unchanged by the step */
    for (size_t i = 0; i < nw; i++)
        t.w[i] *= 0.9f;
    t.w[0] = 0.7f;
    memset(dwt, 0, nw * sizeof *dwt);
    ck_assert_int_eq(nn_tiled_backward(be, &ws, NULL, dwt, NULL, rr, t.x, t.w, t.s, d), FG_OK);
    fd_check(&c, t.w + 1, nw - 1, dwt + 1, 1e-2f, 3e-3, "tiled dw");
    nn_scratch_free(&ws);
    fg_backend_free(be);
    free(t.x), free(t.w), free(t.b), free(yt), free(yd), free(rr);
    free(dxt), free(dwt), free(dbt), free(dxd), free(dwd), free(dbd);
}
END_TEST

/* y_j = a_j (x.w)_j + b_j: a backend that is exactly affine per column,
 * so that its per-tile linearisation is its Jacobian */
static const float affine_a[FG_COLS] = {0.5f, 1.0f, 1.5f, 2.0f, 0.8f, 1.2f, 0.3f, 3.0f,
                                        1.1f, 0.9f, 2.5f, 0.7f, 1.3f, 1.7f, 0.6f, 1.9f};
static fg_status affine_vmm(void *ctx, const float *w, const float *x, float *y, int B)
{
    fg_status st = fg_backend_vmm(ctx, w, x, y, B);
    for (int k = 0; k < B * FG_COLS; k++)
        y[k] = affine_a[k % FG_COLS] * y[k] + 0.05f * (float)(k % FG_COLS) - 0.3f;
    return st;
}

typedef struct { tile_ctx t; float *gains; } gain_ctx;
static void gain_fwd(fd_case *c, float *out)
{
    gain_ctx *l = c->ctx;
    tile_ctx *t = &l->t;
    ck_assert_int_eq(nn_tiled_forward_gains(t->be, NULL, out, t->x, t->w, t->b, t->s, t->d,
                                            l->gains), FG_OK);
}

/* The per-tile linear gradient (nn_tiled_forward_gains,
 * nn_tiled_backward_linear): on an affine backend the gains are the
 * columns' slopes a_j, and the backward is the Jacobian (finite
 * differences); on the ideal backend it is the dense backward. */
START_TEST(tiles_linear_gradient)
{
    fg_rng r;
    fg_rng_seed(&r, 9);
    nn_linear_dims d = {.N = 23, .IC = 37, .OC = 13};
    size_t nx = 23 * 37, nw = 37 * 13, no = 23 * 13;
    const int nr = 3, nc = 2;
    fg_backend *ideal = fg_backend_ideal_new();
    static const fg_backend_ops affine = {.name = "affine", .vmm = affine_vmm};
    fg_backend *be = fg_backend_new(&affine, ideal);
    gain_ctx l = {{be, vec(nx), vec(nw), vec(13), 2.0f, d}, vec((size_t)nr * nc * 16)};
    tile_ctx *t = &l.t;
    fill(t->x, nx, &r, 0.05f, 1.95f), fill(t->w, nw, &r, -0.7f, 0.7f);
    for (size_t i = 0; i < nw; i++) /* away from 0: the steps below keep the sign
                                       (a weight's cell, and so its gain) */
        t->w[i] = t->w[i] < 0 ? t->w[i] - 0.05f : t->w[i] + 0.05f;
    fill(t->b, 13, &r, -1, 1);
    float *y = vec(no), *rr = vec(no);
    gain_fwd(&(fd_case){gain_fwd, no, rr, &l}, y);
    for (int rt = 0; rt < nr; rt++)
        for (int ct = 0; ct < nc; ct++)
            for (int j = 0; j < 16; j++) {
                int used = ct * 8 + j / 2 < 13; /* padding columns: no cells, gain 1 */
                ck_assert_double_eq_tol(l.gains[(rt * nc + ct) * 16 + j],
                                        used ? affine_a[j] : 1.0f, 2e-3);
            }
    fill(rr, no, &r, -1, 1);
    float *dx = vec(nx), *dw = vec(nw), *db = vec(13);
    ck_assert_int_eq(nn_tiled_backward_linear(NULL, dx, dw, db, rr, t->x, t->w, l.gains, d),
                     FG_OK);
    fd_case c = {gain_fwd, no, rr, &l};
    fd_check(&c, t->x, nx, dx, 1e-2f, 3e-3, "linear-gain dinp");
    for (size_t i = 0; i < nw; i++) /* below max|W|: g unchanged by the step */
        t->w[i] *= 0.9f;
    t->w[0] = 0.75f;
    gain_fwd(&c, y);
    memset(dw, 0, nw * sizeof *dw);
    ck_assert_int_eq(nn_tiled_backward_linear(NULL, NULL, dw, NULL, rr, t->x, t->w, l.gains,
                                              d), FG_OK);
    fd_check(&c, t->w + 1, nw - 1, dw + 1, 1e-2f, 3e-3, "linear-gain dw");
    fd_check(&c, t->b, 13, db, 1e-2f, 3e-3, "linear-gain db");
    /* a batch over the gains' sample (256 of 1,500 vectors): the same slopes */
    {
        nn_linear_dims d2 = {.N = 1500, .IC = 16, .OC = 8};
        float *x2 = vec(1500 * 16), *y2 = vec(1500 * 8), g2[16];
        fill(x2, 1500 * 16, &r, 0.0f, 1.0f);
        ck_assert_int_eq(nn_tiled_forward_gains(be, NULL, y2, x2, t->w, NULL, 1.0f, d2, g2),
                         FG_OK);
        for (int j = 0; j < 16; j++)
            ck_assert_double_eq_tol(g2[j], affine_a[j], 2e-3);
        free(x2), free(y2);
    }
    /* ideal: gains 1, the dense backward */
    t->be = ideal;
    gain_fwd(&c, y);
    float *dxd = vec(nx), *dwd = vec(nw);
    memset(dx, 0, nx * sizeof *dx), memset(dw, 0, nw * sizeof *dw);
    ck_assert_int_eq(nn_tiled_backward_linear(NULL, dx, dw, NULL, rr, t->x, t->w, l.gains, d),
                     FG_OK);
    nn_linear_backward(dxd, dwd, NULL, rr, t->x, t->w, d);
    for (size_t i = 0; i < nx; i++)
        ck_assert_double_eq_tol(dx[i], dxd[i], 1e-3 * (1 + fabsf(dxd[i])));
    for (size_t i = 0; i < nw; i++)
        ck_assert_double_eq_tol(dw[i], dwd[i], 1e-3 * (1 + fabsf(dwd[i])));
    fg_backend_free(be);
    fg_backend_free(ideal);
    free(t->x), free(t->w), free(t->b), free(l.gains), free(y), free(rr);
    free(dx), free(dw), free(db), free(dxd), free(dwd);
}
END_TEST

/* A whole network: forced tiles through ideal == dense fast path. */
static void net_tiles_identity(const char *name, int H, int W, int C)
{
    enum { B = 3 };
    nn_net *a, *b;
    ck_assert_int_eq(nn_net_new(&a, name, H, W, C, 10, B), FG_OK);
    ck_assert_int_eq(nn_net_new(&b, name, H, W, C, 10, B), FG_OK);
    nn_net_init(a, 11), nn_net_init(b, 11);
    fg_backend *be = fg_backend_ideal_new();
    nn_net_set_backend(b, be);
    ck_assert(!nn_net_uses_tiles(b)); /* ideal: fast path by default */
    nn_net_set_tiles(b, NN_TILES_ALWAYS);
    ck_assert(nn_net_uses_tiles(b));
    fg_rng r;
    fg_rng_seed(&r, 12);
    size_t nin = (size_t)B * H * W * C;
    float *x = vec(nin), *dz = vec(B * 10);
    fill(x, nin, &r, 0, 1), fill(dz, B * 10, &r, -1, 1);
    ck_assert_int_eq(nn_net_forward(a, x, B, 1), FG_OK);
    ck_assert_int_eq(nn_net_forward(b, x, B, 1), FG_OK);
    ck_assert_uint_eq(fg_backend_ops_count(be), B * nn_net_array_ops_per_image(b));
    for (int i = 0; i < B * 10; i++)
        ck_assert_double_eq_tol(nn_net_logits(a)[i], nn_net_logits(b)[i],
                                1e-4 * (1 + fabsf(nn_net_logits(a)[i])));
    nn_net_zero_grad(a), nn_net_zero_grad(b);
    ck_assert_int_eq(nn_net_backward(a, dz, B), FG_OK);
    ck_assert_int_eq(nn_net_backward(b, dz, B), FG_OK);
    for (size_t i = 0; i < nn_net_num_params(a); i++)
        ck_assert_double_eq_tol(nn_net_grads(a)[i], nn_net_grads(b)[i],
                                1e-3 * (1 + fabsf(nn_net_grads(a)[i])));
    nn_net_free(a), nn_net_free(b);
    fg_backend_free(be);
    free(x), free(dz);
}

START_TEST(tiles_net_identity)
{
    net_tiles_identity("mlp-lowres", 7, 7, 1);
    net_tiles_identity("lenet5", 16, 16, 1);
    net_tiles_identity("vgg-small", 8, 8, 2);
}
END_TEST

START_TEST(tiles_budget)
{
    nn_net *n;
    ck_assert_int_eq(nn_net_new(&n, "mlp-lowres", 7, 7, 1, 10, 1), FG_OK);
    ck_assert_int_eq(nn_net_tiles(n), 16);
    ck_assert_uint_eq(nn_net_array_ops_per_image(n), 16);
    nn_net_free(n);
}
END_TEST

/* The tile operations of a network: every tile it programs is seen (16
 * distinct for mlp-lowres), operations come sorted by tile with cells in
 * [0,1] and non-zero rows, the cap holds, the draw is seeded, and the
 * net's backend is given back. */
static nn_dataset synth(int n, int H, int W);
START_TEST(tiles_record)
{
    nn_dataset ds = synth(250, 7, 7); /* 3 batches: tiles come back */
    nn_net *n;
    nn_tile_ops a, b;
    ck_assert_int_eq(nn_net_new(&n, "mlp-lowres", 7, 7, 1, 10, 100), FG_OK);
    nn_net_init(n, 3);
    ck_assert_int_eq(nn_tile_ops_record(n, &ds, 250, 100000, 1, &a), FG_OK);
    ck_assert_ptr_null(nn_net_backend(n));
    ck_assert_int_eq(a.n_tiles, nn_net_tiles(n));
    int seen[64] = {0};
    for (int s = 0; s < a.S; s++) {
        float sum = 0;
        ck_assert(s == 0 || a.tile[s] >= a.tile[s - 1]);
        seen[a.tile[s]] = 1;
        for (int i = 0; i < FG_ROWS; i++)
            sum += a.x[s * FG_ROWS + i];
        ck_assert(sum > 0);
    }
    for (int t = 0; t < a.n_tiles; t++) {
        ck_assert_msg(seen[t], "tile %d has no operation", t);
        for (int k = 0; k < FG_CELLS; k++)
            ck_assert(a.w[t * FG_CELLS + k] >= 0 && a.w[t * FG_CELLS + k] <= 1);
    }
    ck_assert_int_eq(nn_tile_ops_record(n, &ds, 40, 30, 5, &b), FG_OK);
    ck_assert(b.S > 0 && b.S <= 30);
    nn_tile_ops_free(&a);
    ck_assert_int_eq(nn_tile_ops_record(n, &ds, 40, 30, 5, &a), FG_OK);
    ck_assert_int_eq(a.S, b.S);
    ck_assert(!memcmp(a.x, b.x, (size_t)a.S * FG_ROWS * sizeof *a.x));
    nn_tile_ops_free(&a);
    nn_tile_ops_free(&b);
    ck_assert_int_eq(nn_tile_ops_record(n, &ds, 40, 0, 5, &a), FG_ERR_RANGE);
    nn_net_free(n);
    nn_data_free(&ds);
}
END_TEST

/* ---- whole-net gradient and optimisers --------------------------------------------- */
typedef struct { nn_net *n; const float *x; int B; } net_ctx;
static void net_fwd(fd_case *c, float *out)
{
    net_ctx *k = c->ctx;
    ck_assert_int_eq(nn_net_forward(k->n, k->x, k->B, 0), FG_OK);
    memcpy(out, nn_net_logits(k->n), (size_t)k->B * 10 * sizeof *out);
}

START_TEST(grad_net)
{
    static const struct { const char *name; int H, W, C; } nets[] = {
        {"mlp-lowres", 7, 7, 1}, {"lenet5", 16, 16, 1}};
    for (int k = 0; k < 2; k++) {
        enum { B = 2 };
        nn_net *n;
        ck_assert_int_eq(nn_net_new(&n, nets[k].name, nets[k].H, nets[k].W,
                                    nets[k].C, 10, B), FG_OK);
        nn_net_init(n, 21);
        fg_rng r;
        fg_rng_seed(&r, 22);
        size_t nin = (size_t)B * nets[k].H * nets[k].W * nets[k].C;
        float *x = vec(nin), *rr = vec(B * 10);
        fill(x, nin, &r, 0, 1), fill(rr, B * 10, &r, -1, 1);
        /* a training pass sets s_x; then hold it (eval mode) for the check */
        ck_assert_int_eq(nn_net_forward(n, x, B, 1), FG_OK);
        for (int a = 1; a < nn_net_num_analog(n); a++)
            nn_net_act_scales(n)[a] *= 4.0f; /* no activation near the clip */
        ck_assert_int_eq(nn_net_forward(n, x, B, 0), FG_OK);
        nn_net_zero_grad(n);
        nn_net_set_input_grad(n, 1); /* and the input sensitivities */
        ck_assert_int_eq(nn_net_backward(n, rr, B), FG_OK);
        ck_assert_uint_eq(nn_net_input_size(n), nin / B);
        float *gx = vec(nin);
        memcpy(gx, nn_net_input_grad(n), nin * sizeof *gx);
        net_ctx ctx = {n, x, B};
        fd_case c = {net_fwd, B * 10, rr, &ctx};
        fd_check(&c, x, 12, gx, 1e-3f, 2e-2, "input");
        free(gx);
        /* a sample of every tensor (kinks of ReLU/maxpool make a few
         * entries noisy in float; eps small, tolerance loose) */
        for (int t = 0; t < nn_net_num_tensors(n); t++) {
            const nn_tensor_info *ti = nn_net_tensor(n, t);
            size_t m = ti->size < 6 ? ti->size : 6;
            float *p = nn_net_params(n) + ti->offset;
            float *g = nn_net_grads(n) + ti->offset;
            fd_check(&c, p, m, g, 1e-3f, 2e-2, ti->name);
        }
        nn_net_free(n);
        free(x), free(rr);
    }
}
END_TEST

START_TEST(optim_steps)
{
    float p[2] = {1.0f, -2.0f}, g[2] = {0.5f, 0.25f}, m[2] = {0}, v[2] = {0};
    nn_sgd_step(p, g, m, 2, 0.1f, 0.9f, 0.0f);
    ck_assert_double_eq_tol(p[0], 0.95, 1e-6);
    nn_sgd_step(p, g, m, 2, 0.1f, 0.9f, 0.0f); /* m = 0.9*0.5 + 0.5 */
    ck_assert_double_eq_tol(p[0], 0.95 - 0.1 * 0.95, 1e-6);
    float q[1] = {1.0f}, gq[1] = {0.0f}, mq[1] = {0};
    nn_sgd_step(q, gq, mq, 1, 0.1f, 0.0f, 0.5f); /* weight decay only */
    ck_assert_double_eq_tol(q[0], 0.95, 1e-6);
    /* Adam: the first step moves each parameter by lr*sign(g) */
    p[0] = 1.0f, p[1] = -2.0f, m[0] = m[1] = 0;
    nn_adam_step(p, g, m, v, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 1);
    ck_assert_double_eq_tol(p[0], 0.99, 1e-6);
    ck_assert_double_eq_tol(p[1], -2.01, 1e-6);
    /* decoupled weight decay */
    float a[1] = {2.0f}, ga[1] = {0.0f}, ma[1] = {0}, va[1] = {0};
    nn_adam_step(a, ga, ma, va, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
    ck_assert_double_eq_tol(a[0], 2.0 - 0.1 * 0.5 * 2.0, 1e-6);
}
END_TEST

/* ---- determinism ------------------------------------------------------------------- */
static nn_dataset synth(int n, int H, int W)
{
    nn_dataset ds = {.n = n, .H = H, .W = W, .C = 1, .classes = 10, .rawH = H,
                     .rawW = W, .factor = 1};
    ds.px = malloc((size_t)n * H * W);
    ds.labels = malloc((size_t)n);
    fg_rng r;
    fg_rng_seed(&r, 99);
    for (int i = 0; i < n; i++) {
        ds.labels[i] = (uint8_t)(i % 10);
        for (int k = 0; k < H * W; k++)
            ds.px[(size_t)i * H * W + k] =
                (uint8_t)((k % 10 == i % 10) ? 200 : fg_rng_next(&r) % 60);
    }
    return ds;
}

static float *train_once(const char *name, uint64_t seed, int threads, size_t *np)
{
    nn_dataset ds = synth(96, 16, 16);
    nn_set_threads(threads);
    nn_net *n;
    ck_assert_int_eq(nn_net_new(&n, name, 16, 16, 1, 10, 16), FG_OK);
    nn_net_init(n, seed);
    nn_train_opts o;
    nn_train_opts_default(&o, name);
    fg_rng r;
    fg_rng_seed(&r, seed);
    long step = 0;
    double loss, acc;
    for (int e = 0; e < 2; e++)
        ck_assert_int_eq(nn_train_epoch(n, &ds, &o.opt, 16, &r, &step, 12, 1,
                                        "test", &loss, &acc), FG_OK);
    ck_assert(isfinite(loss));
    *np = nn_net_num_params(n);
    float *p = vec(*np);
    memcpy(p, nn_net_params(n), *np * sizeof *p);
    nn_net_free(n);
    nn_data_free(&ds);
    return p;
}

/* Training learns: on the 40 fixture images, nn_train takes mlp-lowres
 * from chance to memorising them (dense and through the ideal tiles, the
 * same), and the loss falls by more than 4x from the first epoch. */
START_TEST(training_learns)
{
    for (int tiles = 0; tiles < 2; tiles++) {
        double loss1 = 0;
        for (int epochs = 1; epochs <= 60; epochs += 59) {
            nn_train_opts o;
            nn_train_opts_default(&o, "mlp-lowres");
            o.data = "mnist-lowres:" FIX "nn_mnist";
            o.epochs = epochs, o.batch = 8, o.quiet = 1, o.threads = 1, o.cosine = 0;
            o.tiles = tiles ? NN_TILES_ALWAYS : NN_TILES_AUTO;
            fg_backend *be = tiles ? fg_backend_ideal_new() : NULL;
            nn_train_result r;
            ck_assert_int_eq(nn_train(&o, be, NULL, &r), FG_OK);
            fg_backend_free(be);
            if (epochs == 1) {
                loss1 = r.train_loss;
                ck_assert(loss1 > 1.0); /* about ln 10 at the start */
            } else {
                ck_assert_msg(r.train_loss < loss1 / 4, "loss %g after 60 epochs, %g "
                              "after 1", r.train_loss, loss1);
                ck_assert_msg(r.train_accuracy >= 0.9, "train accuracy %g",
                              r.train_accuracy);
            }
        }
    }
}
END_TEST

/* The per-batch hook: called once before every batch with the running
 * step, and what it sets is what the batch trains through. Here it swaps
 * in tiles whose cells are all stuck off (every analog output 0, so no
 * gradient reaches the weights): the loss does not fall, where the same
 * run without the hook memorises the images (training_learns). */
typedef struct {
    long calls, last_step;
    fg_backend *dead;
} hook_log;

static fg_status hook_dead(void *user, nn_net *net, long step)
{
    hook_log *h = user;
    ck_assert_int_eq(step, h->last_step + 1);
    h->calls++, h->last_step = step;
    nn_net_set_backend(net, h->dead);
    return FG_OK;
}

START_TEST(training_hook)
{
    fg_perturb p;
    fg_perturb_init(&p);
    ck_assert_int_eq(fg_perturb_parse(&p, "stuck_off=1"), FG_OK);
    hook_log h = {0};
    ck_assert_int_eq(fg_perturb_wrap(fg_backend_ideal_new(), &p, &h.dead), FG_OK);
    nn_train_opts o;
    nn_train_opts_default(&o, "mlp-lowres");
    o.data = "mnist-lowres:" FIX "nn_mnist";
    o.epochs = 30, o.batch = 8, o.quiet = 1, o.threads = 1, o.cosine = 0;
    o.tiles = NN_TILES_ALWAYS;
    o.on_batch = hook_dead, o.on_batch_user = &h;
    fg_backend *be = fg_backend_ideal_new();
    nn_train_result r;
    ck_assert_int_eq(nn_train(&o, be, NULL, &r), FG_OK);
    ck_assert_int_eq(h.calls, 30 * 5); /* 40 images in batches of 8 */
    ck_assert_msg(r.train_accuracy < 0.3 && r.train_loss > 1.5,
                  "trained through dead tiles: accuracy %g, loss %g",
                  r.train_accuracy, r.train_loss);
    fg_backend_free(be);
    fg_backend_free(h.dead);
}
END_TEST

START_TEST(determinism)
{
    size_t n1, n2, n3, n4;
    float *a = train_once("lenet5", 5, 2, &n1);
    float *b = train_once("lenet5", 5, 2, &n2);
    float *c = train_once("lenet5", 5, 1, &n3);
    float *e = train_once("lenet5", 5, 1, &n3);
    float *d = train_once("lenet5", 6, 2, &n4);
    ck_assert(n1 == n2 && n2 == n3 && n3 == n4);
    ck_assert_msg(!memcmp(a, b, n1 * sizeof *a), "same seed, different result");
    ck_assert_msg(!memcmp(c, e, n1 * sizeof *a), "same seed, 1 thread, different result");
    ck_assert_msg(memcmp(a, d, n1 * sizeof *a), "different seeds, same result");
    nn_set_threads(0);
    free(a), free(b), free(c), free(d), free(e);
}
END_TEST

/* ---- data ----------------------------------------------------------------------------- */
static void expect_err(fg_status st, fg_status want, const char *file)
{
    ck_assert_int_eq(st, want);
    ck_assert_msg(strstr(fg_errmsg(), file) != NULL, "message '%s' does not name %s",
                  fg_errmsg(), file);
    ck_assert_int_eq(fg_status_exit_code(st), 2);
}

START_TEST(data_idx)
{
    nn_dataset ds;
    ck_assert_int_eq(nn_idx_load(FIX "nn_tiny-images-idx3-ubyte",
                                 FIX "nn_tiny-labels-idx1-ubyte", 0, &ds), FG_OK);
    ck_assert_int_eq(ds.n, 4);
    ck_assert_int_eq(ds.H, 28);
    ck_assert_int_eq(ds.labels[3], 3);
    float *x = vec(4 * 784);
    uint8_t y[4];
    nn_data_batch(&ds, NULL, 0, 4, x, y);
    ck_assert_int_eq(y[2], 2);
    for (int k = 0; k < 784; k++)
        ck_assert_double_eq_tol(x[784 + k], ds.px[784 + k] / 255.0, 1e-6);
    /* area averaging 28 -> 7: mean of each 4x4 block */
    ck_assert_int_eq(nn_data_set_factor(&ds, 4), FG_OK);
    ck_assert_int_eq(ds.H, 7);
    nn_data_batch(&ds, NULL, 0, 4, x, y);
    for (int h = 0; h < 7; h++)
        for (int w = 0; w < 7; w++) {
            double s = 0;
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                    s += ds.px[784 + (h * 4 + a) * 28 + w * 4 + b];
            ck_assert_double_eq_tol(x[49 + h * 7 + w], s / (16 * 255.0), 1e-6);
        }
    ck_assert_int_eq(nn_data_set_factor(&ds, 5), FG_ERR_RANGE);
    nn_data_free(&ds);
    free(x);
    /* limit */
    ck_assert_int_eq(nn_idx_load(FIX "nn_tiny-images-idx3-ubyte",
                                 FIX "nn_tiny-labels-idx1-ubyte", 2, &ds), FG_OK);
    ck_assert_int_eq(ds.n, 2);
    nn_data_free(&ds);
}
END_TEST

START_TEST(data_errors)
{
    nn_dataset ds;
    expect_err(nn_idx_load(FIX "nn_bad_magic-images-idx3-ubyte",
                           FIX "nn_tiny-labels-idx1-ubyte", 0, &ds),
               FG_ERR_FORMAT, "nn_bad_magic-images-idx3-ubyte");
    expect_err(nn_idx_load(FIX "nn_truncated-images-idx3-ubyte",
                           FIX "nn_tiny-labels-idx1-ubyte", 0, &ds),
               FG_ERR_FORMAT, "nn_truncated-images-idx3-ubyte");
    expect_err(nn_idx_load(FIX "nn_tiny-images-idx3-ubyte",
                           FIX "nn_three-labels-idx1-ubyte", 0, &ds),
               FG_ERR_FORMAT, "nn_three-labels-idx1-ubyte");
    expect_err(nn_idx_load(FIX "nn_tiny-images-idx3-ubyte",
                           FIX "nn_badlabel-labels-idx1-ubyte", 0, &ds),
               FG_ERR_FORMAT, "nn_badlabel-labels-idx1-ubyte");
    expect_err(nn_idx_load(FIX "nn_missing-images", FIX "nn_tiny-labels-idx1-ubyte",
                           0, &ds), FG_ERR_IO, "nn_missing-images");
    expect_err(nn_data_load("mnist:" FIX "nn_nowhere", 1, 0, &ds), FG_ERR_IO,
               "nn_nowhere/train-images-idx3-ubyte");
    ck_assert_int_eq(nn_data_load("imagenet", 1, 0, &ds), FG_ERR_PARSE);
    ck_assert_int_eq(nn_data_load("cifar10", 1, 0, &ds), FG_ERR_PARSE);
    expect_err(nn_data_load("cifar10:" FIX "nn_cifar_truncated.bin", 1, 0, &ds),
               FG_ERR_FORMAT, "nn_cifar_truncated.bin");
}
END_TEST

START_TEST(data_specs)
{
    nn_dataset tr, te, gz;
    ck_assert_int_eq(nn_data_load("mnist:" FIX "nn_mnist", 1, 0, &tr), FG_OK);
    ck_assert_int_eq(nn_data_load("mnist:" FIX "nn_mnist", 0, 0, &te), FG_OK);
    ck_assert_int_eq(tr.n, 40);
    ck_assert_int_eq(te.n, 20);
    ck_assert_str_eq(tr.spec, "mnist:" FIX "nn_mnist");
    /* gzipped IDX (Fashion-MNIST layout) reads the same bytes */
    ck_assert_int_eq(nn_data_load("fashion:" FIX "nn_mnist_gz", 1, 0, &gz), FG_OK);
    ck_assert_int_eq(gz.n, 40);
    ck_assert(!memcmp(gz.px, tr.px, 40 * 784));
    ck_assert(!memcmp(gz.labels, tr.labels, 40));
    nn_data_free(&gz);
    ck_assert_int_eq(nn_data_load("mnist-lowres:" FIX "nn_mnist", 1, 5, &gz), FG_OK);
    ck_assert_int_eq(gz.H * gz.W, 49);
    ck_assert_int_eq(gz.n, 5);
    nn_data_free(&gz), nn_data_free(&tr), nn_data_free(&te);
    /* CIFAR-10: CHW planes become HWC */
    ck_assert_int_eq(nn_data_load("cifar10:" FIX "nn_cifar_tiny.bin", 1, 0, &tr), FG_OK);
    ck_assert_int_eq(tr.n, 6);
    ck_assert_int_eq(tr.C, 3);
    ck_assert_int_eq(tr.labels[5], 5);
    int i = 4, p = 33, c = 2;
    ck_assert_int_eq(tr.px[(size_t)i * 3072 + p * 3 + c], (c * 50 + p + i) % 256);
    nn_data_free(&tr);
}
END_TEST

/* ---- checkpoints ------------------------------------------------------------------------ */
static char *tmp_path(const char *suffix)
{
    char *p = malloc(96);
    snprintf(p, 96, "/tmp/nn_test_%ld_%s", (long)getpid(), suffix);
    return p;
}

static void patch(const char *path, long off, const void *b, size_t n)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, off, SEEK_SET);
    fwrite(b, 1, n, f);
    fclose(f);
}

/* A lenet5 on 28x28 MNIST with the meta of a run, saved to path. */
static nn_net *ckpt_fixture(const char *path, const nn_ckpt_array *ar)
{
    nn_net *n;
    ck_assert_int_eq(nn_net_new(&n, "lenet5", 28, 28, 1, 10, 4), FG_OK);
    nn_net_init(n, 5);
    nn_net_act_scales(n)[1] = 2.5f;
    nn_ckpt_meta meta = {.net = "lenet5", .data = "mnist:data/mnist", .H = 28,
                         .W = 28, .C = 1, .classes = 10, .in_scale = 1 / 255.0f,
                         .factor = 1, .epochs = 3, .seed = 9, .test_accuracy = 0.25f};
    if (ar)
        meta.array = *ar;
    ck_assert_int_eq(nn_ckpt_save(path, n, &meta), FG_OK);
    return n;
}

START_TEST(ckpt_roundtrip)
{
    char *path = tmp_path("a.ckpt");
    nn_net *n = ckpt_fixture(path, NULL), *m;
    nn_ckpt_meta got;
    ck_assert_int_eq(nn_ckpt_load(path, 8, &m, &got), FG_OK);
    ck_assert_str_eq(got.net, "lenet5");
    ck_assert_str_eq(got.data, "mnist:data/mnist");
    ck_assert_int_eq(got.epochs, 3);
    ck_assert_uint_eq(got.seed, 9);
    ck_assert_int_eq(nn_net_max_batch(m), 8);
    ck_assert(!memcmp(nn_net_params(n), nn_net_params(m),
                      nn_net_num_params(n) * sizeof(float)));
    ck_assert_float_eq(nn_net_act_scales(m)[1], 2.5f);
    nn_net_free(m);

    /* another version */
    uint32_t v2 = 4;
    patch(path, 8, &v2, 4);
    expect_err(nn_ckpt_load(path, 8, &m, &got), FG_ERR_FORMAT, path);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "version 4"));
    v2 = 3;
    patch(path, 8, &v2, 4);
    /* other shapes: the header says 32x32 images, the tensors are 28x28's */
    uint32_t h32 = 32;
    patch(path, 12 + 32 + 512, &h32, 4);
    patch(path, 12 + 32 + 512 + 4, &h32, 4);
    expect_err(nn_ckpt_load(path, 8, &m, &got), FG_ERR_FORMAT, path);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "fc3.w"));
    /* truncated */
    nn_net_free(ckpt_fixture(path, NULL));
    ck_assert_int_eq(truncate(path, 5000), 0);
    expect_err(nn_ckpt_load(path, 8, &m, &got), FG_ERR_FORMAT, path);
    /* not a checkpoint, missing */
    expect_err(nn_ckpt_load(FIX "nn_tiny-labels-idx1-ubyte", 8, &m, &got),
               FG_ERR_FORMAT, "nn_tiny-labels-idx1-ubyte");
    unlink(path);
    expect_err(nn_ckpt_load(path, 8, &m, &got), FG_ERR_IO, path);
    nn_net_free(n);
    free(path);
}
END_TEST

static nn_ckpt_array hwa_array(void)
{
    nn_ckpt_array a = {.on_array = 1, .rows = 16, .cols = 16,
                       .op = {.v_pre = 0.8, .v_read = 0.55, .t_max = 100e-9,
                              .c_bl = 1e-13, .i_unit = 25e-9}};
    snprintf(a.backend, sizeof a.backend, "hwa");
    a.corner = fg_corner_nominal();
    return a;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    char *d;
    ck_assert_int_eq(fg_file_read(path, &d, len), FG_OK);
    return (unsigned char *)d;
}

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

START_TEST(ckpt_array_roundtrip)
{
    char *path = tmp_path("arr.ckpt");
    nn_ckpt_array ar = hwa_array();
    ar.op.t_max = 1.0e-7 / 3; /* not a short decimal: all 64 bits survive */
    ar.corner.temp_c = 80, ar.corner.supply = 0.9, ar.corner.drift_s = 3.15e8;
    ar.corner.t_max_trim = 0.45, ar.corner.out_gain = 1.3, ar.corner.rails = FG_RAIL_PRE;
    nn_net *n = ckpt_fixture(path, &ar), *m;
    nn_ckpt_meta got;
    ck_assert_int_eq(nn_ckpt_load(path, 4, &m, &got), FG_OK);
    ck_assert_int_eq(got.version, 3);
    ck_assert(got.array.corner.temp_c == 80 && got.array.corner.supply == 0.9);
    ck_assert(got.array.corner.drift_s == 3.15e8 && got.array.corner.t_max_trim == 0.45);
    ck_assert(got.array.corner.out_gain == 1.3 && got.array.corner.rails == FG_RAIL_PRE);
    ck_assert_int_eq(got.array.on_array, 1);
    ck_assert_int_eq(got.array.rows, 16);
    ck_assert_int_eq(got.array.cols, 16);
    ck_assert(got.array.op.v_pre == 0.8 && got.array.op.v_read == 0.55);
    ck_assert(got.array.op.t_max == 1.0e-7 / 3 && got.array.op.c_bl == 1e-13);
    ck_assert(got.array.op.i_unit == 25e-9);
    ck_assert_str_eq(got.array.backend, "hwa");
    ck_assert(!memcmp(nn_net_params(n), nn_net_params(m),
                      nn_net_num_params(n) * sizeof(float)));
    nn_net_free(m);
    /* the documented layout: version 3 at 8, the array record at 600, the
     * corner record at 684, the tensor table at 732 */
    size_t len;
    unsigned char *d = slurp(path, &len);
    double cbl, temp, gain;
    memcpy(&cbl, d + 600 + 12 + 3 * 8, 8);
    memcpy(&temp, d + 684, 8);
    memcpy(&gain, d + 684 + 32, 8);
    ck_assert(d[8] == 3 && d[600] == 1 && d[604] == 16 && d[608] == 16);
    ck_assert(cbl == 1e-13 && temp == 80 && gain == 1.3);
    ck_assert_str_eq((char *)d + 652, "hwa");
    ck_assert_str_eq((char *)d + 732, "conv1.w");
    ck_assert_uint_eq(len, 732 + 52 * (size_t)(nn_net_num_tensors(n) + 1) +
                      4 * (nn_net_num_params(n) + (size_t)nn_net_num_analog(n)) + 4);
    free(d);
    nn_net_free(n);
    /* trained without an array: flag 0, zeros, backend "ideal" */
    n = ckpt_fixture(path, NULL);
    ck_assert_int_eq(nn_ckpt_load(path, 4, &m, &got), FG_OK);
    ck_assert_int_eq(got.array.on_array, 0);
    ck_assert_int_eq(got.array.rows, 0);
    ck_assert(got.array.op.c_bl == 0.0);
    ck_assert_str_eq(got.array.backend, "ideal");
    ck_assert(fg_corner_is_nominal(&got.array.corner));
    nn_net_free(m), nn_net_free(n);
    unlink(path);
    free(path);
}
END_TEST

/* A version 1 file written field by field (CHECKPOINT.md, version 1): no
 * array record; it loads as trained without an array. */
START_TEST(ckpt_v1_loads)
{
    char *path = tmp_path("v2.ckpt"), *p1 = tmp_path("v1.ckpt");
    nn_ckpt_array ar = hwa_array();
    nn_net *n = ckpt_fixture(path, &ar), *m;
    size_t len;
    unsigned char *v2 = slurp(path, &len);
    size_t body = len - 732 - 4; /* tensor table + data of the v3 file */
    unsigned char *v1 = calloc(1, 600 + body + 4);
    ck_assert_ptr_nonnull(v1);
    memcpy(v1, "FGNNCKPT", 8);
    le32(v1 + 8, 1);
    strcpy((char *)v1 + 12, "lenet5");
    strcpy((char *)v1 + 44, "mnist:data/v1");
    le32(v1 + 556, 28), le32(v1 + 560, 28), le32(v1 + 564, 1), le32(v1 + 568, 10);
    float sc = 1 / 255.0f, acc = 0.75f;
    memcpy(v1 + 572, &sc, 4);
    le32(v1 + 576, 1), le32(v1 + 580, 11);
    le32(v1 + 584, 0x89abcdefu), le32(v1 + 588, 0x01234567u);
    memcpy(v1 + 592, &acc, 4);
    le32(v1 + 596, (uint32_t)(nn_net_num_tensors(n) + 1));
    memcpy(v1 + 600, v2 + 732, body);
    le32(v1 + 600 + body, (uint32_t)crc32(0L, v1, (uInt)(600 + body)));
    ck_assert_int_eq(fg_file_write_atomic(p1, v1, 600 + body + 4), FG_OK);
    nn_ckpt_meta got;
    ck_assert_int_eq(nn_ckpt_load(p1, 4, &m, &got), FG_OK);
    ck_assert_int_eq(got.version, 1);
    ck_assert_str_eq(got.net, "lenet5");
    ck_assert_str_eq(got.data, "mnist:data/v1");
    ck_assert_int_eq(got.epochs, 11);
    ck_assert_uint_eq(got.seed, 0x0123456789abcdefULL);
    ck_assert_float_eq(got.test_accuracy, 0.75f);
    ck_assert_int_eq(got.array.on_array, 0);
    ck_assert_str_eq(got.array.backend, "");
    ck_assert(!memcmp(nn_net_params(n), nn_net_params(m),
                      nn_net_num_params(n) * sizeof(float)));
    ck_assert_float_eq(nn_net_act_scales(m)[1], 2.5f);
    /* an ideal-trained (v1) checkpoint accepts any array */
    nn_ckpt_array other = hwa_array();
    other.op.c_bl = 2e-14;
    ck_assert_int_eq(nn_ckpt_array_check(p1, &got.array, "M.json", &other), FG_OK);
    nn_net_free(m);
    /* a version 2 file (no corner record) reads as trained at the nominal
     * corner */
    unsigned char *w2 = calloc(1, 684 + body + 4);
    ck_assert_ptr_nonnull(w2);
    memcpy(w2, v2, 684);
    le32(w2 + 8, 2);
    memcpy(w2 + 684, v2 + 732, body);
    le32(w2 + 684 + body, (uint32_t)crc32(0L, w2, (uInt)(684 + body)));
    ck_assert_int_eq(fg_file_write_atomic(p1, w2, 684 + body + 4), FG_OK);
    ck_assert_int_eq(nn_ckpt_load(p1, 4, &m, &got), FG_OK);
    ck_assert_int_eq(got.version, 2);
    ck_assert_int_eq(got.array.on_array, 1);
    ck_assert(fg_corner_is_nominal(&got.array.corner));
    nn_net_free(m);
    free(w2);
    /* a v1 file with a bad CRC is still refused */
    ck_assert_int_eq(fg_file_write_atomic(p1, v1, 600 + body + 4), FG_OK);
    v1[700] ^= 1;
    ck_assert_int_eq(fg_file_write_atomic(p1, v1, 600 + body + 4), FG_OK);
    expect_err(nn_ckpt_load(p1, 4, &m, &got), FG_ERR_FORMAT, p1);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "CRC"));
    unlink(path), unlink(p1);
    free(v1), free(v2), free(path), free(p1);
    nn_net_free(n);
}
END_TEST

/* Saves the fixture, patches n bytes at off, expects FG_ERR_FORMAT with a
 * message containing want. */
static void expect_corrupt(const char *path, long off, const void *b, size_t n,
                           const char *want)
{
    nn_ckpt_array ar = hwa_array();
    nn_net_free(ckpt_fixture(path, &ar));
    patch(path, off, b, n);
    nn_net *m;
    nn_ckpt_meta got;
    expect_err(nn_ckpt_load(path, 4, &m, &got), FG_ERR_FORMAT, path);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(fg_errmsg(), want), "message '%s' lacks '%s'", fg_errmsg(),
                  want);
}

START_TEST(ckpt_v2_corrupt)
{
    char *path = tmp_path("bad.ckpt");
    uint32_t seven = 7, zero = 0;
    double neg = -1e-13, cbl = 2e-14;
    char noterm[32];
    memset(noterm, 'x', sizeof noterm);
    expect_corrupt(path, 600, &seven, 4, "array flag 7");
    expect_corrupt(path, 604, &zero, 4, "array size 0x16");
    expect_corrupt(path, 600 + 12 + 24, &neg, 8, "op_point.c_bl");
    expect_corrupt(path, 652, noterm, sizeof noterm, "NUL");
    double hot = 300;
    expect_corrupt(path, 684, &hot, 8, "corner record: --temp 300");
    /* a plausible but changed value: only the CRC sees it */
    expect_corrupt(path, 600 + 12 + 24, &cbl, 8, "CRC-32");
    /* truncated: inside the array record, and by one byte */
    nn_ckpt_array ar = hwa_array();
    nn_net *m, *n = ckpt_fixture(path, &ar);
    nn_ckpt_meta got;
    ck_assert_int_eq(truncate(path, 640), 0);
    expect_err(nn_ckpt_load(path, 4, &m, &got), FG_ERR_FORMAT, path);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "truncated"));
    nn_net_free(n);
    n = ckpt_fixture(path, &ar);
    size_t len;
    free(slurp(path, &len));
    ck_assert_int_eq(truncate(path, (off_t)len - 1), 0);
    expect_err(nn_ckpt_load(path, 4, &m, &got), FG_ERR_FORMAT, path);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "expected"));
    nn_net_free(n);
    unlink(path);
    free(path);
}
END_TEST

/* Found by fuzz_ckpt: a header whose image size overflows the net's int
 * sizes (H = 998277375 made a negative tensor shape and a calloc of
 * -7e9 floats). The sizes are refused before any buffer is allocated, and
 * so is a plausible size that the file's tensors do not match. */
START_TEST(ckpt_huge_header)
{
    char *path = tmp_path("huge.ckpt");
    uint32_t huge = 998277375, side = 4097, c65 = 65, one = 1, big = 4000;
    expect_corrupt(path, 556, &huge, 4, "needs images of 16x16 to 4096x4096");
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "got 998277375x28x1"));
    expect_corrupt(path, 560, &side, 4, "got 28x4097x1");
    expect_corrupt(path, 564, &c65, 4, "1 to 64 channels");
    expect_corrupt(path, 568, &one, 4, "2 to 65536 classes");
    /* in range: lenet5 on 4000x28 images has fc3 of 120 x 16*998*5 */
    expect_corrupt(path, 556, &big, 4, "fc3.w");
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "120x79840"));
    unlink(path);
    free(path);
}
END_TEST

START_TEST(ckpt_array_mismatch)
{
    nn_ckpt_array tr = hwa_array(), g = hwa_array();
    ck_assert_int_eq(nn_ckpt_array_check("C.ckpt", &tr, "M.json", &g), FG_OK);
    /* within the relative tolerance 1e-9 */
    g.op.c_bl = 1e-13 * (1 + 1e-10);
    g.op.v_pre = 0.8 * (1 - 5e-10);
    ck_assert_int_eq(nn_ckpt_array_check("C.ckpt", &tr, "M.json", &g), FG_OK);
    /* outside it */
    g = hwa_array();
    g.op.c_bl = 1e-13 * (1 + 1e-8);
    ck_assert_int_eq(nn_ckpt_array_check("C.ckpt", &tr, "M.json", &g), FG_ERR_RANGE);
    g.op.c_bl = 2e-14;
    fg_status st = nn_ckpt_array_check("C.ckpt", &tr, "M.json", &g);
    ck_assert_int_eq(st, FG_ERR_RANGE);
    ck_assert_int_eq(fg_status_exit_code(st), 2);
    ck_assert_str_eq(fg_errmsg(), "M.json: op_point.c_bl = 2e-14 F, but C.ckpt was "
                                  "trained for an array with c_bl = 1e-13 F");
    /* every field is compared, in file order */
    static const char *const names[5] = {"v_pre", "v_read", "t_max", "c_bl", "i_unit"};
    for (int k = 0; k < 5; k++) {
        g = hwa_array();
        double *f[5] = {&g.op.v_pre, &g.op.v_read, &g.op.t_max, &g.op.c_bl,
                        &g.op.i_unit};
        *f[k] *= 1.5;
        ck_assert_int_eq(nn_ckpt_array_check("C.ckpt", &tr, "M.json", &g), FG_ERR_RANGE);
        char want[32];
        snprintf(want, sizeof want, "op_point.%s =", names[k]);
        ck_assert_msg(strstr(fg_errmsg(), want), "'%s' lacks '%s'", fg_errmsg(), want);
    }
    g = hwa_array();
    g.op.i_unit = NAN;
    ck_assert_int_eq(nn_ckpt_array_check("C.ckpt", &tr, "M.json", &g), FG_ERR_RANGE);
    /* array size */
    g = hwa_array();
    g.cols = 8;
    ck_assert_int_eq(nn_ckpt_array_check("C.ckpt", &tr, "M.json", &g), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "16x8"));
    /* trained without an array: anything goes */
    nn_ckpt_array none = {.backend = "ideal"};
    ck_assert_int_eq(nn_ckpt_array_check("C.ckpt", &none, "M.json", &g), FG_OK);
}
END_TEST

/* ---- commands ------------------------------------------------------------------------------ */
/* Runs fgcosim with args, stdout into out (may be NULL); returns exit status. */
static int run_fgcosim(const char *args, char *out, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "FGCOSIM_PROGRESS=0 %s/apps/fgcosim %s 2>/dev/null",
             FG_BUILD_DIR, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t got = out ? fread(out, 1, n - 1, p) : 0;
    if (out)
        out[got] = 0;
    else
        while (fgetc(p) != EOF) {}
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

START_TEST(cli_train_evaluate)
{
    char *ck = tmp_path("cli.ckpt"), args[1024], out[4096];
    snprintf(args, sizeof args, "train --net mlp-lowres --data mnist-lowres:" FIX
             "nn_mnist --epochs 2 --seed 3 -o %s --json --quiet", ck);
    ck_assert_int_eq(run_fgcosim(args, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"test_accuracy\":"));
    ck_assert_ptr_nonnull(strstr(out, "\"images_per_s\":"));
    ck_assert_ptr_nonnull(strstr(out, "\"epochs\":2"));
    snprintf(args, sizeof args, "evaluate --ckpt %s --json", ck);
    ck_assert_int_eq(run_fgcosim(args, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"accuracy\":"));
    ck_assert_ptr_nonnull(strstr(out, "\"images\":20"));
    ck_assert_ptr_nonnull(strstr(out, "\"backend\":\"ideal\""));
    /* through the tiles: 16 array operations per image */
    snprintf(args, sizeof args, "evaluate --ckpt %s --tiles --limit 10 --json", ck);
    ck_assert_int_eq(run_fgcosim(args, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"array_ops\":160"));
    /* bad inputs: exit 2 */
    snprintf(args, sizeof args, "train --net lenet5 --data mnist:" FIX
             "nn_bad -o %s", ck);
    ck_assert_int_eq(run_fgcosim(args, NULL, 0), 2);
    ck_assert_int_eq(run_fgcosim("evaluate --ckpt " FIX "nn_cifar_tiny.bin", NULL, 0), 2);
    ck_assert_int_eq(run_fgcosim("train --net resnet -o /tmp/x", NULL, 0), 2);
    ck_assert_int_eq(run_fgcosim("train --net lenet5 --epochs 0 -o /tmp/x", NULL, 0), 2);
    ck_assert_int_eq(run_fgcosim("evaluate", NULL, 0), 2);
    unlink(ck);
    free(ck);
}
END_TEST

/* The first line of the last tu_run_fgcosim's stderr; 1 if it is the only. */
static int err_line(char *line, size_t n)
{
    FILE *f = fopen(TU_ERR_FILE, "r");
    ck_assert_ptr_nonnull(f);
    line[0] = 0;
    ck_assert_ptr_nonnull(fgets(line, (int)n, f));
    char more[8];
    int one = fgets(more, sizeof more, f) == NULL;
    fclose(f);
    return one;
}

/* A model file of the default op point with c_bl scaled by cbl_factor. */
static char *model_file(const char *suffix, double cbl_factor)
{
    fit_model fm;
    fg_op_point op = fg_op_point_default();
    op.c_bl *= cbl_factor;
    fit_model_init(&fm, &op);
    char *path = tmp_path(suffix);
    ck_assert_int_eq(fit_model_save(&fm, path), FG_OK);
    return path;
}

/* hwa-trained checkpoints refuse a model of another operating point;
 * ideal-trained ones take any; spice needs a layout; --init of another net. */
START_TEST(cli_array_mismatch)
{
    char *ck = tmp_path("hwa.ckpt"), *cki = tmp_path("ideal.ckpt"), *m1 =
        model_file("m1.json", 1.0), *m2 = model_file("m2.json", 0.2), args[1024],
        out[4096], line[1024];
    snprintf(args, sizeof args, "train --net mlp-lowres --data mnist-lowres:" FIX
             "nn_mnist --epochs 1 --backend hwa --model %s -o %s --quiet", m1, ck);
    ck_assert_int_eq(run_fgcosim(args, NULL, 0), 0);
    snprintf(args, sizeof args, "train --net mlp-lowres --data mnist-lowres:" FIX
             "nn_mnist --epochs 1 -o %s --quiet", cki);
    ck_assert_int_eq(run_fgcosim(args, NULL, 0), 0);
    nn_net *net;
    nn_ckpt_meta meta;
    ck_assert_int_eq(nn_ckpt_load(ck, 1, &net, &meta), FG_OK);
    nn_net_free(net);
    ck_assert_int_eq(meta.array.on_array, 1);
    ck_assert_str_eq(meta.array.backend, "hwa");
    ck_assert(meta.array.rows == FG_ROWS && meta.array.cols == FG_COLS);
    ck_assert(meta.array.op.c_bl == fg_op_point_default().c_bl);
    /* a whole spec as --backend: the checkpoint names the kind */
    char *ck2 = tmp_path("hwa2.ckpt");
    snprintf(args, sizeof args, "train --net mlp-lowres --data mnist-lowres:" FIX
             "nn_mnist --epochs 1 --backend hwa:%s -o %s --quiet", m1, ck2);
    ck_assert_int_eq(run_fgcosim(args, NULL, 0), 0);
    ck_assert_int_eq(nn_ckpt_load(ck2, 1, &net, &meta), FG_OK);
    nn_net_free(net);
    ck_assert_str_eq(meta.array.backend, "hwa");
    ck_assert(meta.array.on_array == 1 && meta.array.op.c_bl == fg_op_point_default().c_bl);
    unlink(ck2);
    free(ck2);
    ck_assert_int_eq(nn_ckpt_load(ck, 1, &net, &meta), FG_OK);
    nn_net_free(net);
    /* the same model: runs, reports the backend trained on */
    snprintf(args, sizeof args, "evaluate --ckpt %s --backend hwa --model %s --json",
             ck, m1);
    ck_assert_int_eq(run_fgcosim(args, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"trained_backend\":\"hwa\""));
    /* another c_bl: exit 2, one line naming the model, the field, both values,
     * nothing on stdout */
    snprintf(args, sizeof args, "evaluate --ckpt %s --backend hwa --model %s --json",
             ck, m2);
    ck_assert_int_eq(run_fgcosim(args, out, sizeof out), 2);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(tu_run_fgcosim(args), 2);
    ck_assert(err_line(line, sizeof line));
    ck_assert_msg(strstr(line, m2) && strstr(line, "op_point.c_bl = 2e-14 F") &&
                  strstr(line, "c_bl = 1e-13 F") && strstr(line, ck), "%s", line);
    /* the ideal-trained checkpoint accepts it */
    snprintf(args, sizeof args, "evaluate --ckpt %s --backend hwa --model %s --json",
             cki, m2);
    ck_assert_int_eq(run_fgcosim(args, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"trained_backend\":\"ideal\""));
    /* spice without --layout / --array-netlist */
    snprintf(args, sizeof args, "evaluate --ckpt %s --backend spice", ck);
    ck_assert_int_eq(tu_run_fgcosim(args), 2);
    ck_assert(err_line(line, sizeof line));
    ck_assert_ptr_nonnull(strstr(line, "--layout"));
    /* --init: a checkpoint of another net */
    snprintf(args, sizeof args, "train --net lenet5 --data mnist:" FIX "nn_mnist "
             "--epochs 1 --init %s -o %s.x --quiet", ck, ck);
    ck_assert_int_eq(tu_run_fgcosim(args), 2);
    ck_assert(err_line(line, sizeof line));
    ck_assert_msg(strstr(line, ck) && strstr(line, "mlp-lowres"), "%s", line);
    snprintf(args, sizeof args, "%s.x", ck);
    ck_assert_int_ne(access(args, F_OK), 0); /* no output */
    unlink(ck), unlink(cki), unlink(m1), unlink(m2);
    free(ck), free(cki), free(m1), free(m2);
}
END_TEST

Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train:grad");
    tcase_add_test(tc, grad_linear);
    tcase_add_test(tc, tiles_linear_gradient);
    tcase_add_test(tc, grad_conv);
    tcase_add_test(tc, grad_pool);
    tcase_add_test(tc, grad_relu_clip);
    tcase_add_test(tc, grad_xent);
    tcase_add_test(tc, grad_net);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("train:tiles");
    tcase_add_test(tc, tiles_mapping);
    tcase_add_test(tc, tiles_ideal_equals_dense);
    tcase_add_test(tc, tiles_net_identity);
    tcase_add_test(tc, tiles_budget);
    tcase_add_test(tc, tiles_record);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("train:optim");
    tcase_add_test(tc, optim_steps);
    tcase_add_test(tc, determinism);
    tcase_add_test(tc, training_learns);
    tcase_add_test(tc, training_hook);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("train:data");
    tcase_add_test(tc, data_idx);
    tcase_add_test(tc, data_errors);
    tcase_add_test(tc, data_specs);
    suite_add_tcase(s, tc);
    tc = tcase_create("train:ckpt");
    tcase_add_test(tc, ckpt_roundtrip);
    tcase_add_test(tc, ckpt_array_roundtrip);
    tcase_add_test(tc, ckpt_v1_loads);
    tcase_add_test(tc, ckpt_v2_corrupt);
    tcase_add_test(tc, ckpt_array_mismatch);
    tcase_add_test(tc, ckpt_huge_header);
    suite_add_tcase(s, tc);
    tc = tcase_create("train:cli");
    tcase_add_test(tc, cli_train_evaluate);
    tcase_add_test(tc, cli_array_mismatch);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
