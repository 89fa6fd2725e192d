/* The compact model in float32 for training: the same events as model.c
 * (sort the row ends, one exact slot per row, a kick at each fall), without
 * the parameter gradients, with slots of zero length skipped (zero inputs:
 * most of an MNIST image) and every lane loop in a form the compiler turns
 * into SIMD. The clamps are model.c's (s = 1 - a u >= 0: the bit line
 * stops at the pinch voltage; slot denominator >= 1e-12), so the two paths
 * define the same function; tests compare them. */
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

typedef struct {
    float a;
    float k[FG_CELLS], rho[FG_CELLS]; /* (16,16) */
    float rhow[FG_CELLS];             /* (16,16) rho_ij w_ij: the fall's charge */
    float u0[L];                      /* -sum_i k_ij: all word lines up at t=0 */
    float delta[R], beta[FIT_NBETA], off[L];
    float w[FG_CELLS], s0[L];         /* (16,16) cells; column sums          */
} mf_ipf;

static void ipf_init(mf_ipf *f, const fit_model *m, const float *w)
{
    mf_ip d;
    mf_ip_from_model(&d, m);
    f->a = (float)d.a;
    for (int n = 0; n < FG_CELLS; n++) {
        f->k[n] = (float)d.k[n];
        f->rho[n] = (float)d.rho[n];
        f->w[n] = w[n];
        f->rhow[n] = f->rho[n] * w[n];
    }
    for (int j = 0; j < L; j++) {
        double u0 = 0, s0 = 0;
        for (int i = 0; i < R; i++) {
            u0 -= d.k[i * L + j];
            s0 += w[i * L + j];
        }
        f->u0[j] = (float)u0;
        f->s0[j] = (float)s0;
        f->off[j] = (float)d.off[j];
    }
    for (int i = 0; i < R; i++)
        f->delta[i] = (float)d.delta[i];
    for (int p = 0; p < FIT_NBETA; p++)
        f->beta[p] = (float)d.beta[p];
}

/* *f = the float parameters of m with cells w, for a batch of B vectors;
 * fn names the caller in errors. */
static fg_status ipf_new(mf_ipf **f, const fit_model *m, const float *w, int B,
                         const char *fn)
{
    if (B < 0)
        return fg_error(FG_ERR_RANGE, "%s: B = %d < 0", fn, B);
    if (!(*f = malloc(sizeof **f)))
        return fg_error(FG_ERR_NOMEM, "%s: out of memory", fn);
    ipf_init(*f, m, w);
    return FG_OK;
}

/* ---- the rows: onset r, end e, fall order ---------------------------------- */
typedef struct {
    int ord[R];
    float e[R], r[R], rp[R];
    unsigned char gate[R], egate[R];
} mf_rows;

static void rows_sort(mf_rows *t, const float *x, const mf_ipf *f)
{
    for (int i = 0; i < R; i++) {
        float v = x[i] > 0 ? x[i] : 0; /* negative or NaN: off */
        float ex = v > 40 * (float)FIT_XR ? 0.0f : expf(-v / (float)FIT_XR);
        t->r[i] = v == 0 ? 0.0f : 1.0f - ex;
        t->gate[i] = x[i] >= 0;
        t->rp[i] = t->gate[i] ? ex / (float)FIT_XR : 0.0f;
        float e = v - f->delta[i] * t->r[i];
        t->egate[i] = e > 0 || (e == 0 && f->delta[i] <= (float)FIT_XR);
        t->e[i] = e > 0 ? e : 0;
        int q = i;
        while (q > 0 && t->e[t->ord[q - 1]] > t->e[i]) { /* ties by index */
            t->ord[q] = t->ord[q - 1];
            q--;
        }
        t->ord[q] = i;
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
static inline void slot_f(float *u, const float *S, float dt, float a)
{
    for (int j = 0; j < L; j++) {
        float D = S[j] * dt, s = slot_s_f(a, u[j]);
        u[j] = (u[j] + D * s) / slot_m_f(a, D, s);
    }
}

/* Kick of row i's fall and its cells leaving S. */
static inline void fall_f(float *u, float *S, int i, float r, const mf_ipf *f)
{
    const float *k = f->k + i * L, *rw = f->rhow + i * L, *w = f->w + i * L;
    for (int j = 0; j < L; j++) {
        u[j] += k[j] + rw[j] * r;
        S[j] -= w[j];
    }
}

static void couple_f(float *y, const float *u, const mf_ipf *f)
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
static void vec_fwd(float *y, const float *x, const mf_ipf *f)
{
    mf_rows t;
    float u[L], S[L], tprev = 0.0f;
    rows_sort(&t, x, f);
    memcpy(u, f->u0, sizeof u);
    memcpy(S, f->s0, sizeof S);
    for (int q = 0; q < R; q++) {
        int i = t.ord[q];
        float dt = t.e[i] - tprev;
        tprev = t.e[i];
        if (dt > 0) /* zero inputs: empty slots */
            slot_f(u, S, dt, f->a);
        fall_f(u, S, i, t.r[i], f);
    }
    couple_f(y, u, f);
}

fg_status fit_model_forward_f32(float *y, const float *x, const float *w,
                                const fit_model *m, int B)
{
    mf_ipf *f;
    fg_status st = ipf_new(&f, m, w, B, "fit_model_forward_f32");
    if (st != FG_OK)
        return st;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 512) if (B >= 512)
#endif
    for (int b = 0; b < B; b++)
        vec_fwd(y + (size_t)b * L, x + (size_t)b * R, f);
    free(f);
    return FG_OK;
}

/* ---- backward -------------------------------------------------------------- */
typedef struct {
    mf_rows t;
    float dt[R];
    float sb[R][L]; /* S during slot q                         */
    float ua[R][L]; /* u after fall q (slot q+1 starts from it) */
    const float *u0;
} mf_traj_f;

/* u at the start of slot q */
static inline const float *traj_ub(const mf_traj_f *tr, int q)
{
    return q ? tr->ua[q - 1] : tr->u0;
}

/* The forward pass keeping the trajectory. */
static void traj_f(mf_traj_f *tr, const float *x, const mf_ipf *f)
{
    mf_rows *t = &tr->t;
    float u[L], S[L], tprev = 0.0f;
    rows_sort(t, x, f);
    tr->u0 = f->u0;
    memcpy(u, f->u0, sizeof u);
    memcpy(S, f->s0, sizeof S);
    for (int q = 0; q < R; q++) {
        int i = t->ord[q];
        float dt = t->e[i] - tprev;
        tprev = t->e[i];
        tr->dt[q] = dt;
        memcpy(tr->sb[q], S, sizeof S);
        if (dt > 0)
            slot_f(u, S, dt, f->a);
        fall_f(u, S, i, t->r[i], f);
        memcpy(tr->ua[q], u, sizeof u);
    }
}

static inline float gsq_f(float a, float u)
{
    float s = slot_s_f(a, u);
    return s * s;
}

/* d/de of the rows falling together at positions g0..g1 (each made the last
 * of its group: the right derivative), dx += through e(x). lam: adjoint
 * after the group. */
static void ends_f(float *dx, const float *lam, const mf_traj_f *tr, int g0,
                   int g1, const mf_ipf *f)
{
    const mf_rows *t = &tr->t;
    const float *uG = tr->ua[g1], *wl = f->w + t->ord[g1] * L;
    float sp[L], base[L];
    for (int j = 0; j < L; j++) {
        sp[j] = tr->sb[g1][j] - wl[j]; /* S after the group */
        base[j] = gsq_f(f->a, uG[j]) * sp[j];
    }
    for (int q = g0; q <= g1; q++) {
        int i = t->ord[q];
        if (!t->egate[i] || !t->gate[i])
            continue;
        const float *k = f->k + i * L, *rw = f->rhow + i * L, *w = f->w + i * L;
        float sde = 0.0f, r = t->r[i];
        for (int j = 0; j < L; j++) {
            float ubf = uG[j] - k[j] - rw[j] * r; /* before row i's fall */
            sde += lam[j] * (gsq_f(f->a, ubf) * (sp[j] + w[j]) - base[j]);
        }
        dx[i] += sde * (1.0f - f->delta[i] * t->rp[i]);
    }
}

/* Reverse through falls and slots g1..g0: lam updated, dD[q] (16) set,
 * dw (+=) the fall charge's share. */
static void events_back_f(float *dx, float *dw, float *lam, float dD[][L],
                          const mf_traj_f *tr, int g0, int g1, const mf_ipf *f)
{
    const mf_rows *t = &tr->t;
    const float a = f->a;
    for (int q = g1; q >= g0; q--) {
        int i = t->ord[q];
        if (t->r[i] > 0.0f) { /* the fall's charge rho w r */
            const float *rho = f->rho + i * L;
            for (int j = 0; j < L; j++)
                dw[i * L + j] += lam[j] * rho[j] * t->r[i];
        }
        if (dx && t->gate[i] && t->rp[i] > 0.0f) { /* the kick's r(x) */
            const float *rw = f->rhow + i * L;
            float dxr = 0.0f;
            for (int j = 0; j < L; j++)
                dxr += lam[j] * rw[j];
            dx[i] += dxr * t->rp[i];
        }
        if (tr->dt[q] <= 0.0f) { /* empty slot: identity, no charge */
            memset(dD[q], 0, sizeof dD[q]);
            continue;
        }
        const float dt = tr->dt[q], *ubq = traj_ub(tr, q);
        for (int j = 0; j < L; j++) {
            float ub = ubq[j], D = tr->sb[q][j] * dt;
            float s = slot_s_f(a, ub), m = slot_m_f(a, D, s), im2 = 1.0f / (m * m);
            dD[q][j] = lam[j] * s * s * im2;
            lam[j] *= im2;
        }
    }
}

/* dx (16) += (dx may be NULL), dw (16,16) += for one vector; du: adjoint of
 * u (16). */
static void vec_bwd(float *dx, float *dw, const float *du, const float *x,
                    const mf_ipf *f)
{
    mf_traj_f tr;
    traj_f(&tr, x, f);
    const mf_rows *t = &tr.t;
    float lam[L], dD[R][L], acc[L] = {0};
    memcpy(lam, du, sizeof lam);
    for (int g1 = R - 1; g1 >= 0;) {
        int g0 = g1;
        while (g0 > 0 && t->e[t->ord[g0 - 1]] == t->e[t->ord[g1]])
            g0--;
        if (dx) /* ends only move with x */
            ends_f(dx, lam, &tr, g0, g1, f);
        events_back_f(dx, dw, lam, dD, &tr, g0, g1, f);
        g1 = g0 - 1;
    }
    for (int q = 0; q < R; q++) { /* row at position q is on in slots 0..q */
        float *dwi = dw + t->ord[q] * L;
        if (tr.dt[q] > 0.0f)
            for (int j = 0; j < L; j++)
                acc[j] += dD[q][j] * tr.dt[q];
        for (int j = 0; j < L; j++)
            dwi[j] += acc[j];
    }
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

/* One thread's share [b0,b1): dx rows (+=), dw (+=, the thread's own). */
static void backward_range_f(float *dx, float *dw, const float *dy,
                             const float *x, const mf_ipf *f, int b0, int b1)
{
    for (int b = b0; b < b1; b++) {
        float du[L];
        const float *xb = x + (size_t)b * R;
        float *dxb = dx ? dx + (size_t)b * R : NULL;
        couple_back_f(du, dy + (size_t)b * L, f);
        vec_bwd(dxb, dw, du, xb, f);
    }
}

fg_status fit_model_backward_f32(float *dx, float *dw, const float *dy,
                                 const float *x, const float *w,
                                 const fit_model *m, int B)
{
    mf_ipf *f;
    fg_status st = ipf_new(&f, m, w, B, "fit_model_backward_f32");
    if (st != FG_OK)
        return st;
#ifdef _OPENMP
#pragma omp parallel if (B >= 512)
#endif
    {
        float dwt[FG_CELLS] = {0};
        int nt = 1, id = 0;
#ifdef _OPENMP
        nt = omp_get_num_threads();
        id = omp_get_thread_num();
#endif
        int b0 = (int)((long)B * id / nt), b1 = (int)((long)B * (id + 1) / nt);
        backward_range_f(dx, dwt, dy, x, f, b0, b1);
        if (dw) {
#ifdef _OPENMP
#pragma omp critical
#endif
            for (int n = 0; n < FG_CELLS; n++)
                dw[n] += dwt[n];
        }
    }
    free(f);
    return FG_OK;
}
