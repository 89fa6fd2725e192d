/* The float32 kernel of the compact model: static functions, included once
 * per instruction set by fast_base.c (mf_fast_base, x86-64 baseline) and
 * fast_v3.c (mf_fast_v3, built with -march=x86-64-v3: AVX2); the entry
 * points are fast_forward() and fast_backward() at the end of each section.
 * fast_dispatch.c picks one build at run time.
 *
 * The compact model in float32 for training: the same events as model.c
 * (sort the row ends, one exact slot per row, a kick at each fall), without
 * the parameter gradients, with the rows that are off (zero inputs: most of
 * an MNIST image) taken together at t = 0, and every lane loop in a form the
 * compiler turns into SIMD. A row of a layer's tiles shares its pulses, so
 * up to MF_GROUP tiles run as one wide array of 16 rows and 16 lanes per
 * tile: one sort per vector, and slots whose lanes are independent chains
 * (one tile's 16 lanes wait on each slot's division). Batches run on
 * fg_threads() threads. A slot, its reverse, its clamps, a row's end and the
 * bit-line coupling are slot.h's float instantiation, the same definitions
 * model.c instantiates in double, so the two paths define the same
 * function; tests compare them.
 * No FMA contraction (model_fit/meson.build) and per-lane partial sums make
 * the two builds give the same bits. */
#ifndef MF_FAST_KERNEL_H
#define MF_FAST_KERNEL_H

#include "mf_internal.h"
#include "slot.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define L FG_COLS
#define R FG_ROWS
#define MF_CHUNK 32         /* vectors per task of the threads            */
#define MF_GROUP 4          /* tiles per pass                             */
#define LMAX (MF_GROUP * L) /* lanes of a pass                            */

/* Float parameters; the per-cell ones for all nt tiles side by side: row i
 * of tile c, column j is entry i*ld + c*16 + j (ld = 16 nt). */
typedef struct {
    float a;
    float delta[R], beta[FIT_NBETA], beta2[FIT_NBETA2], off[L];
    int nt;
    size_t ld;
    float *k, *rho; /* (16, nt*16) the model's k_ij, rho_ij per tile      */
    float *w;       /* (16, nt*16) cells                                  */
    float *rhow;    /* (16, nt*16) rho_ij w_ij: the fall's charge          */
} mf_ipf;

/* Tiles c0.. of a pass: n = 16 per tile lanes, row i at + i*ld. */
typedef struct {
    int n;
    size_t ld;
    const float *k, *rho, *w, *rhow;
} mf_grp;

/* The pass of tiles c0.. (up to MF_GROUP of them; g.n / 16 tiles). */
static mf_grp ipf_group(const mf_ipf *f, int c0)
{
    const int nw = f->nt - c0 < MF_GROUP ? f->nt - c0 : MF_GROUP;
    const size_t o = (size_t)c0 * L;
    return (mf_grp){nw * L, f->ld, f->k + o, f->rho + o, f->w + o, f->rhow + o};
}

static void ipf_init(mf_ipf *f, const fit_model *m, const float *w)
{
    mf_ip d;
    mf_ip_from_model(&d, m);
    f->a = (float)d.a;
    for (int i = 0; i < R; i++)
        for (int c = 0; c < f->nt; c++)
            for (int j = 0; j < L; j++) {
                size_t o = i * f->ld + (size_t)c * L + j;
                f->k[o] = (float)d.k[i * L + j];
                f->rho[o] = (float)d.rho[i * L + j];
                f->w[o] = w[(size_t)c * FG_CELLS + i * L + j];
                f->rhow[o] = f->rho[o] * f->w[o];
            }
    for (int j = 0; j < L; j++)
        f->off[j] = (float)d.off[j];
    for (int i = 0; i < R; i++)
        f->delta[i] = (float)d.delta[i];
    for (int p = 0; p < FIT_NBETA; p++)
        f->beta[p] = (float)d.beta[p];
    for (int p = 0; p < FIT_NBETA2; p++)
        f->beta2[p] = (float)d.beta2[p];
}

/* *f = the float parameters of m with the nt tiles' cells w (nt,16,16), for
 * a batch of B vectors (one block: free(*f)); fn names the caller. */
static fg_status ipf_new(mf_ipf **f, const fit_model *m, const float *w, int nt,
                         int B, const char *fn)
{
    if (B < 0 || nt < 1)
        return fg_error(FG_ERR_RANGE, "%s: B = %d, nt = %d", fn, B, nt);
    const size_t n = (size_t)nt * FG_CELLS;
    if (!(*f = malloc(sizeof **f + 4 * n * sizeof(float))))
        return fg_error(FG_ERR_NOMEM, "%s: out of memory", fn);
    mf_ipf *p = *f;
    p->nt = nt;
    p->ld = (size_t)nt * L;
    p->k = (float *)(p + 1);
    p->rho = p->k + n;
    p->w = p->rho + n;
    p->rhow = p->w + n;
    ipf_init(p, m, w);
    return FG_OK;
}

/* ---- the rows: onset r, end e, fall order ---------------------------------- */
/* Rows whose pulse has no length (x <= 0, or shortened to nothing: e = 0)
 * all fall at t = 0, before any slot: the group G0, kept in index order.
 * Their falls add k to u and take w from S before the first slot, so the
 * state after them is u = -sum_{i not in G0} k_i + sum_{i in G0} rho_i w_i r_i,
 * S = sum_{i not in G0} w_i: the work of a vector grows with its rows that
 * are on, not with the 16 rows (an MNIST 5x5 patch: 2.3 rows on of 16). */
typedef struct {
    int n0, np;       /* rows in G0; rows with e > 0                        */
    int g0[R];        /* G0, index order                                    */
    int ord[R];       /* the others by e (ties by index): the fall order    */
    float e[R], r[R], rp[R];
    int gate[R], egate[R];
} mf_rows;

/* e^x for x <= 0 within 2 ulp, in plain float operations (the same bits in
 * every build, and in SIMD): x = n ln2 + r, |r| <= ln2/2, e^r by its Taylor
 * polynomial of degree 7 (remainder < 1e-8), 2^n from the exponent bits;
 * x below -87 is taken as -87 (e^x < 2e-38: zero for the model). */
static inline float exp_neg_f(float x)
{
    x = x > -87.0f ? x : -87.0f;
    const float magic = 12582912.0f; /* 1.5 2^23: adding it rounds to an integer */
    const float n = (x * 1.44269504088896341f + magic) - magic;
    const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union {
        int32_t i;
        float f;
    } two_n = {.i = ((int32_t)n + 127) * (1 << 23)};
    return p * two_n.f;
}

/* r, r', e and the gates of the 16 rows, in SIMD. */
static void rows_ends(mf_rows *t, const float *x, const mf_ipf *f)
{
    for (int i = 0; i < R; i++) {
        const float v = x[i] > 0 ? x[i] : 0; /* negative or NaN: off, as 0 */
        const float ex = exp_neg_f(-v / (float)FIT_XR);
        t->r[i] = 1.0f - ex;
        t->gate[i] = x[i] >= 0;
        t->rp[i] = t->gate[i] ? ex / (float)FIT_XR : 0.0f;
        t->e[i] = row_end_f(v, f->delta[i], t->r[i], &t->egate[i]);
    }
}

/* G0 in index order; the others by e, ties by index: row i goes to place
 * rank_i = #{on rows j: e_j < e_i, or e_j = e_i and j < i} (counted in
 * SIMD, without the branches of a comparison sort). */
static void rows_sort(mf_rows *t, const float *x, const mf_ipf *f)
{
    int on[R], rank[R];
    rows_ends(t, x, f);
    for (int i = 0; i < R; i++) {
        on[i] = t->e[i] > 0;
        rank[i] = 0;
    }
    for (int j = 0; j < R; j++) {
        const float ej = t->e[j];
        const int onj = on[j];
        for (int i = 0; i < R; i++)
            rank[i] += onj & ((ej < t->e[i]) | ((ej == t->e[i]) & (j < i)));
    }
    t->np = 0;
    for (int i = 0; i < R; i++) { /* no branch on the data (mispredicted) */
        int *dst = on[i] ? &t->ord[rank[i]] : &t->g0[i - t->np];
        *dst = i;
        t->np += on[i];
    }
    t->n0 = R - t->np;
}

/* u, S (n lanes) after the falls of G0 (the start of the first slot) */
static void rows_start(float *restrict u, float *restrict S, const mf_rows *t,
                       const mf_grp *g)
{
    const int n = g->n;
    memset(u, 0, n * sizeof *u);
    memset(S, 0, n * sizeof *S);
    for (int q = 0; q < t->np; q++) {
        const float *restrict k = g->k + t->ord[q] * g->ld;
        const float *restrict w = g->w + t->ord[q] * g->ld;
        for (int c = 0; c < n; c += L) /* a tile's 16 lanes: one SIMD block */
            for (int j = c; j < c + L; j++) {
                u[j] -= k[j];
                S[j] += w[j];
            }
    }
    for (int q = 0; q < t->n0; q++) {
        int i = t->g0[q];
        if (t->r[i] > 0.0f) { /* on, but shortened to nothing: its charge */
            const float *restrict rw = g->rhow + i * g->ld;
            const float r = t->r[i];
            for (int c = 0; c < n; c += L)
                for (int j = c; j < c + L; j++)
                    u[j] += rw[j] * r;
        }
    }
}

/* One slot of length dt on n lanes (u, S): u = F(u, S dt). */
static inline void slot_lanes_f(float *restrict u, const float *restrict S,
                                float dt, float a, int n)
{
    for (int c = 0; c < n; c += L)
        for (int j = c; j < c + L; j++)
            u[j] = slot_u_f(a, u[j], S[j] * dt);
}

/* Kick of row i's fall and its cells leaving S. */
static inline void fall_f(float *restrict u, float *restrict S, int i, float r,
                          const mf_grp *g)
{
    const size_t o = i * g->ld;
    const float *restrict k = g->k + o, *restrict rw = g->rhow + o;
    const float *restrict w = g->w + o;
    for (int c = 0; c < g->n; c += L)
        for (int j = c; j < c + L; j++) {
            u[j] += k[j] + rw[j] * r;
            S[j] -= w[j];
        }
}

/* A slot of length dt (none when dt <= 0: ties) and then row i's fall, in
 * one pass over the lanes: slot_lanes_f and fall_f lane by lane, the same
 * operations in the same order (the same bits), u and S loaded once. */
static inline void slot_fall_f(float *restrict u, float *restrict S, float dt, float a,
                               int i, float r, const mf_grp *g)
{
    const size_t o = i * g->ld;
    const float *restrict k = g->k + o, *restrict rw = g->rhow + o;
    const float *restrict w = g->w + o;
    if (!(dt > 0)) {
        fall_f(u, S, i, r, g);
        return;
    }
    for (int c = 0; c < g->n; c += L)
        for (int j = c; j < c + L; j++) {
            const float us = slot_u_f(a, u[j], S[j] * dt);
            u[j] = us + (k[j] + rw[j] * r);
            S[j] -= w[j];
        }
}

/* y (16) of one tile from its lanes u (16): offset and bit-line coupling */
static void couple_f(float *restrict y, const float *restrict u, const mf_ipf *f)
{
    for (int j = 0; j < L; j++)
        y[j] = u[j] + f->off[j];
    lines_couple_f(y, u, f->beta, f->beta2);
}

/* ---- forward --------------------------------------------------------------- */
/* All 16 rows off (x <= 0 or NaN): an image's background */
static inline int vec_off(const float *x)
{
    int any = 0;
    for (int i = 0; i < R; i++)
        any |= x[i] > 0;
    return !any;
}

/* A slot is a chain of dependent operations per lane (its division waits on
 * the one before), and a tile has only 16 lanes: the forward runs up to
 * MF_VEC vectors' slots interleaved, so that the core has several chains
 * to work on (each vector's own arithmetic is unchanged: the same bits). */
#define MF_VEC 4

/* u[v] (n lanes) at the end of the window for the rows t[v] of nv vectors */
static void grp_fwd(float *const *u, const mf_rows *t, int nv, const mf_ipf *f,
                    const mf_grp *g)
{
    float S[MF_VEC][LMAX], tprev[MF_VEC];
    int npmax = 0;
    for (int v = 0; v < nv; v++) {
        rows_start(u[v], S[v], &t[v], g);
        tprev[v] = 0.0f;
        npmax = t[v].np > npmax ? t[v].np : npmax;
    }
    for (int q = 0; q < npmax; q++)
        for (int v = 0; v < nv; v++) {
            if (q >= t[v].np)
                continue;
            const int i = t[v].ord[q];
            const float dt = t[v].e[i] - tprev[v];
            tprev[v] = t[v].e[i];
            slot_fall_f(u[v], S[v], dt, f->a, i, t[v].r[i], g); /* ties: no slot */
        }
}

/* nv vectors x[v] (16) on all tiles: y[v] + c*ys (16) for tile c */
static void vecs_fwd(float *const *y, size_t ys, const float *const *x, int nv,
                     const mf_ipf *f)
{
    mf_rows t[MF_VEC];
    float u[MF_VEC][LMAX];
    float *up[MF_VEC];
    for (int v = 0; v < nv; v++) {
        rows_sort(&t[v], x[v], f);
        up[v] = u[v];
    }
    for (int c0 = 0; c0 < f->nt; c0 += MF_GROUP) {
        const mf_grp g = ipf_group(f, c0);
        grp_fwd(up, t, nv, f, &g);
        for (int v = 0; v < nv; v++)
            for (int c = 0; c < g.n / L; c++)
                couple_f(y[v] + (size_t)(c0 + c) * ys, u[v] + c * L, f);
    }
}

/* Vectors [b0,b1): those with all rows off (an image's background) have
 * u = 0, so y = off (the same bits as the full path); the others MF_VEC at
 * a time. */
static void range_fwd(float *y, size_t ys, const float *x, const mf_ipf *f, int b0,
                      int b1)
{
    float *yv[MF_VEC];
    const float *xv[MF_VEC];
    int nv = 0;
    for (int b = b0; b < b1; b++) {
        const float *xb = x + (size_t)b * R;
        if (vec_off(xb)) {
            for (int c = 0; c < f->nt; c++)
                memcpy(y + (size_t)c * ys + (size_t)b * L, f->off, sizeof f->off);
            continue;
        }
        yv[nv] = y + (size_t)b * L;
        xv[nv++] = xb;
        if (nv == MF_VEC) {
            vecs_fwd(yv, ys, xv, nv, f);
            nv = 0;
        }
    }
    if (nv)
        vecs_fwd(yv, ys, xv, nv, f);
}

/* The forward entry point (mf_fast_kernel.forward): chunks of MF_CHUNK
 * vectors on the threads (dynamic: all-off vectors cost next to nothing). */
static fg_status fast_forward(float *y, const float *x, const float *w, int nt,
                              const fit_model *m, int B)
{
    mf_ipf *f;
    fg_status st = ipf_new(&f, m, w, nt, B, "fit_model_forward_f32");
    if (st != FG_OK)
        return st;
    const size_t ys = (size_t)B * L; /* one tile's outputs */
    const int nch = (B + MF_CHUNK - 1) / MF_CHUNK;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(fg_threads()) if (nch > 1)
#endif
    for (int c = 0; c < nch; c++)
        range_fwd(y, ys, x, f, c * MF_CHUNK, (c + 1) * MF_CHUNK < B ? (c + 1) * MF_CHUNK : B);
    free(f);
    return FG_OK;
}

/* ---- backward -------------------------------------------------------------- */
typedef struct {
    const mf_rows *t;
    int n;                 /* lanes                                     */
    float u0[LMAX], s0[LMAX]; /* u, S after G0: the start of slot 0     */
    float dt[R];
    float sb[R][LMAX];     /* S during slot q                           */
    float ua[R][LMAX];     /* u after fall q (slot q+1 starts from it)  */
} mf_traj_f;

/* u at the start of slot q */
static inline const float *traj_ub(const mf_traj_f *tr, int q)
{
    return q ? tr->ua[q - 1] : tr->u0;
}

/* The forward pass of a group keeping the trajectory. */
static void traj_f(mf_traj_f *tr, const mf_rows *t, const mf_ipf *f,
                   const mf_grp *g)
{
    const int n = g->n;
    float u[LMAX], S[LMAX], tprev = 0.0f;
    tr->t = t;
    tr->n = n;
    rows_start(tr->u0, tr->s0, t, g);
    memcpy(u, tr->u0, n * sizeof *u);
    memcpy(S, tr->s0, n * sizeof *S);
    for (int q = 0; q < t->np; q++) {
        int i = t->ord[q];
        float dt = t->e[i] - tprev;
        tprev = t->e[i];
        tr->dt[q] = dt;
        memcpy(tr->sb[q], S, n * sizeof *S);
        if (dt > 0)
            slot_lanes_f(u, S, dt, f->a, n);
        fall_f(u, S, i, t->r[i], g);
        memcpy(tr->ua[q], u, n * sizeof *u);
    }
}

/* The sum of 16 partial sums as a fixed tree (halves added lane by lane):
 * with the partials kept per lane of a tile, the result does not depend on
 * the SIMD width of the build. */
static inline float lanes_sum(const float *part)
{
    float h[L / 2];
    for (int j = 0; j < L / 2; j++)
        h[j] = part[j] + part[j + L / 2];
    for (int w = L / 4; w >= 1; w /= 2)
        for (int j = 0; j < w; j++)
            h[j] += h[j + w];
    return h[0];
}

/* d/de of the rows rows[0..cnt) that fall together into the state uG, sp
 * (u and S after all of them), each made the last of its group (the right
 * derivative); dx += through e(x). lam: adjoint after the group. */
static void ends_f(float *dx, const float *lam, const float *uG, const float *sp,
                   const int *rows, int cnt, const mf_rows *t, const mf_ipf *f,
                   const mf_grp *g)
{
    const int n = g->n;
    float base[LMAX];
    for (int j = 0; j < n; j++)
        base[j] = slot_gsq_f(f->a, uG[j]) * sp[j];
    for (int q = 0; q < cnt; q++) {
        int i = rows[q];
        if (!t->egate[i] || !t->gate[i])
            continue;
        const size_t o = i * g->ld;
        const float *k = g->k + o, *rw = g->rhow + o, *w = g->w + o;
        float part[L] = {0}, r = t->r[i];
        for (int c = 0; c < n; c += L)
            for (int j = c; j < c + L; j++) {
                float ubf = uG[j] - k[j] - rw[j] * r; /* before row i's fall */
                part[j - c] += lam[j] * (slot_gsq_f(f->a, ubf) * (sp[j] + w[j]) - base[j]);
            }
        dx[i] += lanes_sum(part) * (1.0f - f->delta[i] * t->rp[i]);
    }
}

/* Row i's fall, reverse: dw (+=, row i at + i*ld) through its charge
 * rho w r, dx (+=) through the kick's r(x). lam: adjoint after the fall. */
static void fall_back_f(float *dx, float *restrict dw, const float *restrict lam,
                        int i, const mf_rows *t, const mf_grp *g)
{
    const size_t o = i * g->ld;
    if (t->r[i] > 0.0f) {
        const float *rho = g->rho + o;
        for (int j = 0; j < g->n; j++)
            dw[o + j] += lam[j] * rho[j] * t->r[i];
    }
    if (dx && t->gate[i] && t->rp[i] > 0.0f) {
        const float *rw = g->rhow + o;
        float part[L] = {0};
        for (int c = 0; c < g->n; c += L)
            for (int j = c; j < c + L; j++)
                part[j - c] += lam[j] * rw[j];
        dx[i] += lanes_sum(part) * t->rp[i];
    }
}

/* Slot q, reverse: dD (n lanes) = d/dD, lam updated to the slot's start. */
static void slot_back_lanes_f(float *restrict dD, float *restrict lam,
                              const mf_traj_f *tr, int q, float a)
{
    const float dt = tr->dt[q], *ubq = traj_ub(tr, q);
    for (int j = 0; j < tr->n; j++)
        lam[j] = slot_back_f(a, ubq[j], tr->sb[q][j] * dt, lam[j], &dD[j], NULL);
}

/* Reverse through falls and slots g1..g0 of the fall order: lam updated,
 * dD[q] set, dx, dw (+=) through the falls. */
static void events_back_f(float *dx, float *dw, float *lam, float dD[][LMAX],
                          const mf_traj_f *tr, int g0, int g1, const mf_ipf *f,
                          const mf_grp *g)
{
    for (int q = g1; q >= g0; q--) {
        fall_back_f(dx, dw, lam, tr->t->ord[q], tr->t, g);
        if (tr->dt[q] > 0.0f)
            slot_back_lanes_f(dD[q], lam, tr, q, f->a);
        else /* empty slot: identity, no charge */
            memset(dD[q], 0, tr->n * sizeof dD[q][0]);
    }
}

/* dw (+=): the row at fall position q is on in slots 0..q */
static void slots_dw_f(float *dw, float dD[][LMAX], const mf_traj_f *tr,
                       size_t ld)
{
    float acc[LMAX] = {0};
    for (int q = 0; q < tr->t->np; q++) {
        float *dwi = dw + tr->t->ord[q] * ld;
        if (tr->dt[q] > 0.0f)
            for (int j = 0; j < tr->n; j++)
                acc[j] += dD[q][j] * tr->dt[q];
        for (int j = 0; j < tr->n; j++)
            dwi[j] += acc[j];
    }
}

/* dx (16) += (dx may be NULL), dw (+=, row i at + i*ld) for one vector's
 * rows t on group g; du: adjoint of u (n lanes). */
static void grp_bwd(float *dx, float *dw, const float *du, const mf_rows *t,
                    const mf_ipf *f, const mf_grp *g)
{
    mf_traj_f tr;
    traj_f(&tr, t, f, g);
    float lam[LMAX], dD[R][LMAX];
    memcpy(lam, du, g->n * sizeof *lam);
    for (int g1 = t->np - 1; g1 >= 0;) {
        int g0 = g1;
        while (g0 > 0 && t->e[t->ord[g0 - 1]] == t->e[t->ord[g1]])
            g0--;
        if (dx) { /* ends only move with x */
            const float *wl = g->w + t->ord[g1] * g->ld;
            float sp[LMAX]; /* S after the group */
            for (int j = 0; j < g->n; j++)
                sp[j] = tr.sb[g1][j] - wl[j];
            ends_f(dx, lam, tr.ua[g1], sp, t->ord + g0, g1 - g0 + 1, t, f, g);
        }
        events_back_f(dx, dw, lam, dD, &tr, g0, g1, f, g);
        g1 = g0 - 1;
    }
    if (dx) /* G0: falling together at t = 0 into the start of slot 0 */
        ends_f(dx, lam, tr.u0, tr.s0, t->g0, t->n0, t, f, g);
    for (int q = 0; q < t->n0; q++)
        fall_back_f(dx, dw, lam, t->g0[q], t, g);
    slots_dw_f(dw, dD, &tr, g->ld);
}

/* Vectors [b0,b1) on all tiles: dx rows (+=), dw (16, nt*16) (+=, the
 * chunk's own, wide layout); dy (nt,B,16). */
static void backward_range_f(float *dx, float *dw, const float *dy,
                             const float *x, const mf_ipf *f, int B, int b0,
                             int b1)
{
    for (int b = b0; b < b1; b++) {
        mf_rows t;
        float du[LMAX];
        float *dxb = dx ? dx + (size_t)b * R : NULL;
        if (!dx && vec_off(x + (size_t)b * R))
            continue; /* no charge (r = 0), no slot: dw gets nothing */
        rows_sort(&t, x + (size_t)b * R, f);
        for (int c0 = 0; c0 < f->nt; c0 += MF_GROUP) {
            const mf_grp g = ipf_group(f, c0);
            for (int c = 0; c < g.n / L; c++) { /* the coupling is symmetric */
                const float *dyc = dy + ((size_t)(c0 + c) * B + b) * L;
                memcpy(du + c * L, dyc, L * sizeof *du);
                lines_couple_f(du + c * L, dyc, f->beta, f->beta2);
            }
            grp_bwd(dxb, dw + (size_t)c0 * L, du, &t, f, &g);
        }
    }
}

/* The batch in chunks of MF_CHUNK vectors, contiguous runs of chunks per
 * thread (a dynamic schedule measured slower); each chunk sums its own dw
 * and the chunks are added in order: the sums do not depend on the
 * threads. The backward entry point (mf_fast_kernel.backward). */
static fg_status fast_backward(float *dx, float *dw, const float *dy,
                               const float *x, const float *w, int nt,
                               const fit_model *m, int B)
{
    mf_ipf *f;
    fg_status st = ipf_new(&f, m, w, nt, B, "fit_model_backward_f32");
    if (st != FG_OK)
        return st;
    const int nch = (B + MF_CHUNK - 1) / MF_CHUNK;
    const size_t nw = (size_t)nt * FG_CELLS;
    float *dwc = calloc((size_t)(nch > 0 ? nch : 1) * nw, /* (nch,16,nt*16) */
                        sizeof *dwc);
    if (!dwc) {
        free(f);
        return fg_error(FG_ERR_NOMEM, "fit_model_backward_f32: out of memory");
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(fg_threads()) if (nch > 1)
#endif
    for (int c = 0; c < nch; c++) {
        int b1 = (c + 1) * MF_CHUNK < B ? (c + 1) * MF_CHUNK : B;
        backward_range_f(dx, dwc + (size_t)c * nw, dy, x, f, B, c * MF_CHUNK, b1);
    }
    for (int c = 0; dw && c < nch; c++) /* wide (16, nt*16) -> (nt,16,16) */
        for (int i = 0; i < R; i++)
            for (size_t l = 0; l < f->ld; l++)
                dw[(l / L) * FG_CELLS + i * L + l % L] +=
                    dwc[(size_t)c * nw + i * f->ld + l];
    free(dwc);
    free(f);
    return FG_OK;
}

#endif
