/* The compact model in float32 for training: the same events as model.c
 * (sort the row ends, one exact slot per row, a kick at each fall), without
 * the parameter gradients, with the rows that are off (zero inputs: most of
 * an MNIST image) taken together at t = 0, and every lane loop in a form the
 * compiler turns into SIMD. Batches run on fg_threads() threads. The clamps
 * are model.c's (s = 1 - a u >= 0: the bit line stops at the pinch voltage;
 * slot denominator >= 1e-12), so the two paths define the same function;
 * tests compare them. */
#include "mf_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define L FG_COLS
#define R FG_ROWS
#define MF_MIN_1PU_F 1e-12f /* as MF_MIN_1PU in model.c */
#define MF_CHUNK 32         /* vectors per task of the threads            */

typedef struct {
    float a;
    float k[FG_CELLS], rho[FG_CELLS]; /* (16,16) */
    float delta[R], beta[FIT_NBETA], off[L];
    int nt;                           /* tiles on the same pulses          */
    float *w;    /* (nt,16,16) cells                                        */
    float *rhow; /* (nt,16,16) rho_ij w_ij: the fall's charge               */
} mf_ipf;

/* One tile's cells and fall charges, (16,16) each. */
typedef struct {
    const float *w, *rhow;
} mf_tile;

static inline mf_tile ipf_tile(const mf_ipf *f, int c)
{
    return (mf_tile){f->w + (size_t)c * FG_CELLS, f->rhow + (size_t)c * FG_CELLS};
}

static void ipf_init(mf_ipf *f, const fit_model *m, const float *w)
{
    mf_ip d;
    mf_ip_from_model(&d, m);
    f->a = (float)d.a;
    for (int n = 0; n < FG_CELLS; n++) {
        f->k[n] = (float)d.k[n];
        f->rho[n] = (float)d.rho[n];
    }
    for (size_t n = 0; n < (size_t)f->nt * FG_CELLS; n++) {
        f->w[n] = w[n];
        f->rhow[n] = f->rho[n % FG_CELLS] * w[n];
    }
    for (int j = 0; j < L; j++)
        f->off[j] = (float)d.off[j];
    for (int i = 0; i < R; i++)
        f->delta[i] = (float)d.delta[i];
    for (int p = 0; p < FIT_NBETA; p++)
        f->beta[p] = (float)d.beta[p];
}

/* *f = the float parameters of m with the nt tiles' cells w, for a batch
 * of B vectors (one block: free(*f)); fn names the caller in errors. */
static fg_status ipf_new(mf_ipf **f, const fit_model *m, const float *w, int nt,
                         int B, const char *fn)
{
    if (B < 0 || nt < 1)
        return fg_error(FG_ERR_RANGE, "%s: B = %d, nt = %d", fn, B, nt);
    const size_t n = (size_t)nt * FG_CELLS;
    if (!(*f = malloc(sizeof **f + 2 * n * sizeof(float))))
        return fg_error(FG_ERR_NOMEM, "%s: out of memory", fn);
    (*f)->nt = nt;
    (*f)->w = (float *)(*f + 1);
    (*f)->rhow = (*f)->w + n;
    ipf_init(*f, m, w);
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

/* r, r', e and the gates of the 16 rows (all but expf in SIMD). */
static void rows_ends(mf_rows *t, const float *x, const mf_ipf *f)
{
    float ex[R];
    for (int i = 0; i < R; i++) /* negative or NaN: off, as 0 */
        ex[i] = x[i] > 0 ? expf(-x[i] / (float)FIT_XR) : 1.0f;
    for (int i = 0; i < R; i++) {
        float v = x[i] > 0 ? x[i] : 0;
        t->r[i] = 1.0f - ex[i];
        t->gate[i] = x[i] >= 0;
        t->rp[i] = t->gate[i] ? ex[i] / (float)FIT_XR : 0.0f;
        float e = v - f->delta[i] * t->r[i];
        t->egate[i] = e > 0 || (e == 0 && f->delta[i] <= (float)FIT_XR);
        t->e[i] = e > 0 ? e : 0;
    }
}

/* G0 in index order; the others sorted by e (insertion, ties by index). */
static void rows_sort(mf_rows *t, const float *x, const mf_ipf *f)
{
    float key[R];
    rows_ends(t, x, f);
    t->n0 = t->np = 0;
    for (int i = 0; i < R; i++) {
        const float e = t->e[i];
        if (!(e > 0)) {
            t->g0[t->n0++] = i;
            continue;
        }
        int q = t->np++;
        while (q > 0 && key[q - 1] > e) {
            key[q] = key[q - 1];
            t->ord[q] = t->ord[q - 1];
            q--;
        }
        key[q] = e;
        t->ord[q] = i;
    }
}

/* u, S (16) after the falls of G0 (the start of the first slot) */
static void rows_start(float *restrict u, float *restrict S, const mf_rows *t,
                       const mf_ipf *f, mf_tile tl)
{
    memset(u, 0, L * sizeof *u);
    memset(S, 0, L * sizeof *S);
    for (int q = 0; q < t->np; q++) {
        const float *restrict k = f->k + t->ord[q] * L;
        const float *restrict w = tl.w + t->ord[q] * L;
        for (int j = 0; j < L; j++) {
            u[j] -= k[j];
            S[j] += w[j];
        }
    }
    for (int q = 0; q < t->n0; q++) {
        int i = t->g0[q];
        if (t->r[i] > 0.0f) /* on, but shortened to nothing: its charge */
            for (int j = 0; j < L; j++)
                u[j] += tl.rhow[i * L + j] * t->r[i];
    }
}

static inline float slot_s_f(float a, float u)
{
    float s = 1.0f - a * u;
    return s > 0.0f ? s : 0.0f;
}

static inline float slot_m_f(float a, float D, float s)
{
    float m = 1.0f + a * D * s;
    return m > MF_MIN_1PU_F ? m : MF_MIN_1PU_F;
}

/* One slot of length dt on all lanes (u, S: (16)): u = F(u, S dt). */
static inline void slot_f(float *restrict u, const float *restrict S, float dt,
                          float a)
{
    for (int j = 0; j < L; j++) {
        float D = S[j] * dt, s = slot_s_f(a, u[j]);
        u[j] = (u[j] + D * s) / slot_m_f(a, D, s);
    }
}

/* Kick of row i's fall and its cells leaving S. */
static inline void fall_f(float *restrict u, float *restrict S, int i, float r,
                          const mf_ipf *f, mf_tile tl)
{
    const float *k = f->k + i * L, *rw = tl.rhow + i * L, *w = tl.w + i * L;
    for (int j = 0; j < L; j++) {
        u[j] += k[j] + rw[j] * r;
        S[j] -= w[j];
    }
}

static void couple_f(float *restrict y, const float *restrict u, const mf_ipf *f)
{
    for (int j = 0; j < L; j++) {
        float v = u[j] + f->off[j];
        if (j > 0)
            v += f->beta[j - 1] * u[j - 1];
        if (j < L - 1)
            v += f->beta[j] * u[j + 1];
        y[j] = v;
    }
}

/* ---- forward --------------------------------------------------------------- */
/* y (16) of one tile for the rows t of a vector */
static void tile_fwd(float *y, const mf_rows *t, const mf_ipf *f, mf_tile tl)
{
    float u[L], S[L], tprev = 0.0f;
    rows_start(u, S, t, f, tl);
    for (int q = 0; q < t->np; q++) {
        int i = t->ord[q];
        float dt = t->e[i] - tprev;
        tprev = t->e[i];
        if (dt > 0) /* ties: empty slots */
            slot_f(u, S, dt, f->a);
        fall_f(u, S, i, t->r[i], f, tl);
    }
    couple_f(y, u, f);
}

fg_status fit_model_forward_f32_tiles(float *y, const float *x, const float *w,
                                      int nt, const fit_model *m, int B)
{
    mf_ipf *f;
    fg_status st = ipf_new(&f, m, w, nt, B, "fit_model_forward_f32");
    if (st != FG_OK)
        return st;
    const size_t ys = (size_t)B * L; /* one tile's outputs */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(fg_threads()) if (B > MF_CHUNK)
#endif
    for (int b = 0; b < B; b++) {
        mf_rows t;
        rows_sort(&t, x + (size_t)b * R, f);
        for (int c = 0; c < nt; c++)
            tile_fwd(y + c * ys + (size_t)b * L, &t, f, ipf_tile(f, c));
    }
    free(f);
    return FG_OK;
}

fg_status fit_model_forward_f32(float *y, const float *x, const float *w,
                                const fit_model *m, int B)
{
    return fit_model_forward_f32_tiles(y, x, w, 1, m, B);
}

/* ---- backward -------------------------------------------------------------- */
typedef struct {
    const mf_rows *t;
    float u0[L], s0[L]; /* u, S after G0: the start of slot 0      */
    float dt[R];
    float sb[R][L];     /* S during slot q                         */
    float ua[R][L];     /* u after fall q (slot q+1 starts from it) */
} mf_traj_f;

/* u at the start of slot q */
static inline const float *traj_ub(const mf_traj_f *tr, int q)
{
    return q ? tr->ua[q - 1] : tr->u0;
}

/* The forward pass of one tile keeping the trajectory. */
static void traj_f(mf_traj_f *tr, const mf_rows *t, const mf_ipf *f, mf_tile tl)
{
    float u[L], S[L], tprev = 0.0f;
    tr->t = t;
    rows_start(tr->u0, tr->s0, t, f, tl);
    memcpy(u, tr->u0, sizeof u);
    memcpy(S, tr->s0, sizeof S);
    for (int q = 0; q < t->np; q++) {
        int i = t->ord[q];
        float dt = t->e[i] - tprev;
        tprev = t->e[i];
        tr->dt[q] = dt;
        memcpy(tr->sb[q], S, sizeof S);
        if (dt > 0)
            slot_f(u, S, dt, f->a);
        fall_f(u, S, i, t->r[i], f, tl);
        memcpy(tr->ua[q], u, sizeof u);
    }
}

static inline float gsq_f(float a, float u)
{
    float s = slot_s_f(a, u);
    return s * s;
}

/* d/de of the rows rows[0..n) that fall together into the state uG, sp (u
 * and S after all of them), each made the last of its group (the right
 * derivative); dx += through e(x). lam: adjoint after the group. */
static void ends_f(float *dx, const float *lam, const float *uG, const float *sp,
                   const int *rows, int n, const mf_rows *t, const mf_ipf *f,
                   mf_tile tl)
{
    float base[L];
    for (int j = 0; j < L; j++)
        base[j] = gsq_f(f->a, uG[j]) * sp[j];
    for (int q = 0; q < n; q++) {
        int i = rows[q];
        if (!t->egate[i] || !t->gate[i])
            continue;
        const float *k = f->k + i * L, *rw = tl.rhow + i * L, *w = tl.w + i * L;
        float sde = 0.0f, r = t->r[i];
#ifdef _OPENMP
#pragma omp simd reduction(+ : sde)
#endif
        for (int j = 0; j < L; j++) {
            float ubf = uG[j] - k[j] - rw[j] * r; /* before row i's fall */
            sde += lam[j] * (gsq_f(f->a, ubf) * (sp[j] + w[j]) - base[j]);
        }
        dx[i] += sde * (1.0f - f->delta[i] * t->rp[i]);
    }
}

/* Row i's fall, reverse: dw (+=) through its charge rho w r, dx (+=) through
 * the kick's r(x). lam: adjoint after the fall. */
static void fall_back_f(float *dx, float *restrict dw, const float *restrict lam,
                        int i, const mf_rows *t, const mf_ipf *f, mf_tile tl)
{
    if (t->r[i] > 0.0f) {
        const float *rho = f->rho + i * L;
        for (int j = 0; j < L; j++)
            dw[i * L + j] += lam[j] * rho[j] * t->r[i];
    }
    if (dx && t->gate[i] && t->rp[i] > 0.0f) {
        const float *rw = tl.rhow + i * L;
        float dxr = 0.0f;
#ifdef _OPENMP
#pragma omp simd reduction(+ : dxr)
#endif
        for (int j = 0; j < L; j++)
            dxr += lam[j] * rw[j];
        dx[i] += dxr * t->rp[i];
    }
}

/* Slot q, reverse: dD (16) = d/dD, lam updated to the slot's start. */
static void slot_back_f(float *restrict dD, float *restrict lam,
                        const mf_traj_f *tr, int q, float a)
{
    const float dt = tr->dt[q], *ubq = traj_ub(tr, q);
    for (int j = 0; j < L; j++) {
        float D = tr->sb[q][j] * dt, s = slot_s_f(a, ubq[j]);
        float m = slot_m_f(a, D, s), im2 = 1.0f / (m * m);
        dD[j] = lam[j] * s * s * im2;
        lam[j] *= im2;
    }
}

/* Reverse through falls and slots g1..g0 of the fall order: lam updated,
 * dD[q] (16) set, dx, dw (+=) through the falls. */
static void events_back_f(float *dx, float *dw, float *lam, float dD[][L],
                          const mf_traj_f *tr, int g0, int g1, const mf_ipf *f,
                          mf_tile tl)
{
    for (int q = g1; q >= g0; q--) {
        fall_back_f(dx, dw, lam, tr->t->ord[q], tr->t, f, tl);
        if (tr->dt[q] > 0.0f)
            slot_back_f(dD[q], lam, tr, q, f->a);
        else /* empty slot: identity, no charge */
            memset(dD[q], 0, sizeof dD[q]);
    }
}

/* dw (+=): the row at fall position q is on in slots 0..q */
static void slots_dw_f(float *dw, float dD[][L], const mf_traj_f *tr)
{
    float acc[L] = {0};
    for (int q = 0; q < tr->t->np; q++) {
        float *dwi = dw + tr->t->ord[q] * L;
        if (tr->dt[q] > 0.0f)
            for (int j = 0; j < L; j++)
                acc[j] += dD[q][j] * tr->dt[q];
        for (int j = 0; j < L; j++)
            dwi[j] += acc[j];
    }
}

/* dx (16) += (dx may be NULL), dw (16,16) += for one vector's rows t on
 * tile tl; du: adjoint of u (16). */
static void tile_bwd(float *dx, float *dw, const float *du, const mf_rows *t,
                     const mf_ipf *f, mf_tile tl)
{
    mf_traj_f tr;
    traj_f(&tr, t, f, tl);
    float lam[L], dD[R][L];
    memcpy(lam, du, sizeof lam);
    for (int g1 = t->np - 1; g1 >= 0;) {
        int g0 = g1;
        while (g0 > 0 && t->e[t->ord[g0 - 1]] == t->e[t->ord[g1]])
            g0--;
        if (dx) { /* ends only move with x */
            const float *wl = tl.w + t->ord[g1] * L;
            float sp[L]; /* S after the group */
            for (int j = 0; j < L; j++)
                sp[j] = tr.sb[g1][j] - wl[j];
            ends_f(dx, lam, tr.ua[g1], sp, t->ord + g0, g1 - g0 + 1, t, f, tl);
        }
        events_back_f(dx, dw, lam, dD, &tr, g0, g1, f, tl);
        g1 = g0 - 1;
    }
    if (dx) /* G0: falling together at t = 0 into the start of slot 0 */
        ends_f(dx, lam, tr.u0, tr.s0, t->g0, t->n0, t, f, tl);
    for (int q = 0; q < t->n0; q++)
        fall_back_f(dx, dw, lam, t->g0[q], t, f, tl);
    slots_dw_f(dw, dD, &tr);
}

static void couple_back_f(float *du, const float *dy, const mf_ipf *f)
{
    for (int j = 0; j < L; j++) {
        float v = dy[j];
        if (j > 0)
            v += f->beta[j - 1] * dy[j - 1];
        if (j < L - 1)
            v += f->beta[j] * dy[j + 1];
        du[j] = v;
    }
}

/* Vectors [b0,b1) on all tiles: dx rows (+=), dw (nt,16,16) (+=, the
 * chunk's own); dy (nt,B,16). */
static void backward_range_f(float *dx, float *dw, const float *dy,
                             const float *x, const mf_ipf *f, int B, int b0,
                             int b1)
{
    for (int b = b0; b < b1; b++) {
        mf_rows t;
        float *dxb = dx ? dx + (size_t)b * R : NULL;
        rows_sort(&t, x + (size_t)b * R, f);
        for (int c = 0; c < f->nt; c++) {
            float du[L];
            couple_back_f(du, dy + ((size_t)c * B + b) * L, f);
            tile_bwd(dxb, dw + (size_t)c * FG_CELLS, du, &t, f, ipf_tile(f, c));
        }
    }
}

/* The batch in chunks of MF_CHUNK vectors, contiguous runs of chunks per
 * thread (a dynamic schedule measured slower); each chunk sums its own dw
 * and the chunks are added in order: the sums do not depend on the
 * threads. */
fg_status fit_model_backward_f32_tiles(float *dx, float *dw, const float *dy,
                                       const float *x, const float *w, int nt,
                                       const fit_model *m, int B)
{
    mf_ipf *f;
    fg_status st = ipf_new(&f, m, w, nt, B, "fit_model_backward_f32");
    if (st != FG_OK)
        return st;
    const int nch = (B + MF_CHUNK - 1) / MF_CHUNK;
    const size_t nw = (size_t)nt * FG_CELLS;
    float *dwc = calloc((size_t)(nch > 0 ? nch : 1) * nw, /* (nch,nt,16,16) */
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
    for (int c = 0; dw && c < nch; c++)
        for (size_t n = 0; n < nw; n++)
            dw[n] += dwc[(size_t)c * nw + n];
    free(dwc);
    free(f);
    return FG_OK;
}

fg_status fit_model_backward_f32(float *dx, float *dw, const float *dy,
                                 const float *x, const float *w,
                                 const fit_model *m, int B)
{
    return fit_model_backward_f32_tiles(dx, dw, dy, x, w, 1, m, B);
}
