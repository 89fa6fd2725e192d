/* The compact HWA model: adaptive time slots in Z = (e^{a u} - 1)/a, where
 * every slot is Z += S dt and every edge is an affine map; the backward pass
 * walks the same events in reverse (see model_fit.h for the equations). */
#include "mf_internal.h"

#include <math.h>
#include <stddef.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define L FG_COLS /* lanes: one per bit line */

/* ---- scalar helpers, accurate for small arguments ----------------------- */
/* psi(z) = expm1(z)/z */
static inline double psi(double z)
{
    if (fabs(z) < 0.05)
        return 1 + z * (1.0 / 2 + z * (1.0 / 6 + z * (1.0 / 24 + z * (1.0 / 120
               + z * (1.0 / 720 + z * (1.0 / 5040 + z * (1.0 / 40320
               + z / 362880)))))));
    return expm1(z) / z;
}

/* psi'(z) = (z e^z - expm1(z)) / z^2 */
static inline double dpsi(double z)
{
    if (fabs(z) < 0.05)
        return 1.0 / 2 + z * (2.0 / 6 + z * (3.0 / 24 + z * (4.0 / 120
               + z * (5.0 / 720 + z * (6.0 / 5040 + z * (7.0 / 40320
               + z * 8.0 / 362880))))));
    return (z * exp(z) - expm1(z)) / (z * z);
}

/* e^z = 1 + z psi(z) */
static inline double ex(double z) { return 1 + z * psi(z); }

/* phi(u) = log1p(u)/u */
static inline double phi(double u)
{
    if (fabs(u) < 0.01)
        return 1 + u * (-1.0 / 2 + u * (1.0 / 3 + u * (-1.0 / 4 + u * (1.0 / 5
               + u * (-1.0 / 6 + u * (1.0 / 7 + u * (-1.0 / 8 + u / 9)))))));
    return log1p(u) / u;
}

/* phi'(u) = (u/(1+u) - log1p(u)) / u^2 */
static inline double dphi(double u)
{
    if (fabs(u) < 0.01)
        return -1.0 / 2 + u * (2.0 / 3 + u * (-3.0 / 4 + u * (4.0 / 5
               + u * (-5.0 / 6 + u * (6.0 / 7 + u * (-7.0 / 8 + u * 8.0 / 9))))));
    return (u / (1 + u) - log1p(u)) / (u * u);
}

/* 1 + aZ is kept above this (a < 0 could otherwise blow up). */
#define MF_MIN_1PU 1e-12

/* ---- parameters ----------------------------------------------------------- */
void mf_ip_from_model(mf_ip *ip, const fit_model *m)
{
    const fg_op_point *op = &m->op;
    const fit_params *p = &m->p;
    double kappa[FG_CELLS];
    fit_params_kappa(p, kappa);
    ip->vs = op->i_unit * op->t_max / op->c_bl;
    ip->a = p->lambda * ip->vs;
    ip->kscale = op->v_read / ip->vs;
    ip->qscale = 1.0 / (op->i_unit * op->t_max);
    for (int i = 0; i < FG_ROWS; i++)
        for (int j = 0; j < FG_COLS; j++) {
            ip->k[i * L + j] = kappa[i * L + j] * ip->kscale;
            ip->rho[i * L + j] = (p->q_row[i] + p->q_col[j]) * ip->qscale;
        }
    memcpy(ip->beta, p->beta, sizeof ip->beta);
    for (int j = 0; j < FG_COLS; j++)
        ip->off[j] = p->v_off[j] / ip->vs;
}

void fit_params_kappa(const fit_params *p, double *kappa /*(16,16)*/)
{
    for (int i = 0; i < FG_ROWS; i++)
        for (int j = 0; j < FG_COLS; j++) {
            double k = p->kappa_row[i] + p->kappa_col[j];
            if (j == 0)
                k += p->kappa_edge[0] * i / (FG_ROWS - 1.0);
            if (j == FG_COLS - 1)
                k += p->kappa_edge[1] * i / (FG_ROWS - 1.0);
            kappa[i * L + j] = k;
        }
}

void mf_lane_to_params(fit_params *dp, const mf_lane_grad *g, const mf_ip *ip)
{
    for (int j = 0; j < L; j++)
        dp->lambda += g->da[j] * ip->vs;
    for (int i = 0; i < FG_ROWS; i++)
        for (int j = 0; j < L; j++) {
            double dkap = g->dk[i * L + j] * ip->kscale;
            double dq = g->drho[i * L + j] * ip->qscale;
            dp->kappa_row[i] += dkap;
            dp->kappa_col[j] += dkap;
            if (j == 0)
                dp->kappa_edge[0] += dkap * i / (FG_ROWS - 1.0);
            if (j == L - 1)
                dp->kappa_edge[1] += dkap * i / (FG_ROWS - 1.0);
            dp->q_row[i] += dq;
            dp->q_col[j] += dq;
        }
}

/* ---- one vector: the trajectory -------------------------------------------- */
typedef struct {
    int ord[FG_ROWS];          /* rows by (end, index)                     */
    double xs[FG_ROWS];        /* clamped widths (ends)                    */
    double r[FG_ROWS], rp[FG_ROWS]; /* residual factor and its derivative   */
    int gate[FG_ROWS];         /* x_i >= 0 (else clamped: gradient 0)      */
    double d0[L];              /* rise step (t = 0)                        */
    double zb[FG_ROWS][L];     /* Z after slot q, before fall event q       */
    double sb[FG_ROWS][L];     /* S during slot q                          */
    double z[L];               /* Z at read time                           */
} mf_traj;

static void sort_rows(mf_traj *t, const double *x)
{
    for (int i = 0; i < FG_ROWS; i++) {
        double v = x[i] > 0 ? x[i] : 0; /* negative or NaN: off */
        t->xs[i] = v;
        t->r[i] = -expm1(-v / FIT_XR);
        t->gate[i] = x[i] >= 0;
        t->rp[i] = t->gate[i] ? exp(-v / FIT_XR) / FIT_XR : 0;
        int q = i;
        while (q > 0 && t->xs[t->ord[q - 1]] > v) { /* stable: ties by index */
            t->ord[q] = t->ord[q - 1];
            q--;
        }
        t->ord[q] = i;
    }
}

static void run_traj(mf_traj *t, const double *x, const double *w,
                     const mf_ip *ip)
{
    const double a = ip->a;
    double Z[L], S[L];
    sort_rows(t, x);
    for (int j = 0; j < L; j++) {
        double d0 = 0, s = 0;
        for (int i = 0; i < FG_ROWS; i++) {
            d0 -= ip->k[i * L + j];
            s += w[i * L + j];
        }
        t->d0[j] = d0;
        Z[j] = d0 * psi(a * d0);
        S[j] = s;
    }
    double tprev = 0;
    for (int q = 0; q < FG_ROWS; q++) {
        int i = t->ord[q];
        double dt = t->xs[i] - tprev, r = t->r[i];
        const double *k = ip->k + i * L, *rho = ip->rho + i * L, *wi = w + i * L;
        tprev = t->xs[i];
        for (int j = 0; j < L; j++) {
            t->sb[q][j] = S[j];
            double zb = Z[j] + S[j] * dt;
            double d = k[j] + rho[j] * r, z = a * d, ps = psi(z);
            t->zb[q][j] = zb;
            Z[j] = (1 + z * ps) * zb + d * ps;
            S[j] -= wi[j];
        }
    }
    memcpy(t->z, Z, sizeof Z);
}

static inline double clamp_u(double u)
{
    return u < MF_MIN_1PU - 1 ? MF_MIN_1PU - 1 : u;
}

void mf_vec_forward(double *u, const double *x, const double *w,
                    const mf_ip *ip)
{
    mf_traj t;
    run_traj(&t, x, w, ip);
    for (int j = 0; j < L; j++) {
        double au = clamp_u(ip->a * t.z[j]);
        u[j] = fabs(au) < 0.01 ? t.z[j] * phi(au) : log1p(au) / ip->a;
    }
}

/* Right derivative of Z (lanes) w.r.t. the end of row i in a group of equal
 * ends: lam (lane adjoint after the group), sp = S after the group. */
static double end_grad(const double *lam, const double *sp, const double *wi,
                       const double *k, const double *rho, double r, double a)
{
    double de = 0;
    for (int j = 0; j < L; j++) {
        double m = ex(a * (k[j] + rho[j] * r));
        de += lam[j] * (m * (sp[j] + wi[j]) - sp[j]);
    }
    return de;
}

/* Reverse through the fall events q = g1..g0 and their slots. */
static void back_group(mf_lane_grad *g, double *lam, double sl[][L],
                       const mf_traj *t, int g0, int g1, const double *w,
                       const mf_ip *ip)
{
    const double a = ip->a;
    double sp[L];
    const double *wl = w + t->ord[g1] * L;
    for (int j = 0; j < L; j++)
        sp[j] = t->sb[g1][j] - wl[j];
    for (int q = g0; q <= g1; q++) {
        int i = t->ord[q];
        if (t->gate[i]) /* x_i >= 0: not clamped */
            g->dx[i] += end_grad(lam, sp, w + i * L, ip->k + i * L,
                                 ip->rho + i * L, t->r[i], a);
    }
    for (int q = g1; q >= g0; q--) {
        int i = t->ord[q];
        const double *k = ip->k + i * L, *rho = ip->rho + i * L;
        double r = t->r[i], dxr = 0;
        double dt = t->xs[i] - (q > 0 ? t->xs[t->ord[q - 1]] : 0);
        for (int j = 0; j < L; j++) {
            double d = k[j] + rho[j] * r, z = a * d, m = ex(z);
            double zb = t->zb[q][j];
            double dd = lam[j] * m * (1 + a * zb);
            g->da[j] += lam[j] * (d * m * zb + d * d * dpsi(z));
            g->dk[i * L + j] += dd;
            g->drho[i * L + j] += dd * r;
            dxr += dd * rho[j];
            lam[j] *= m;
            sl[q][j] = lam[j] * dt;
        }
        g->dx[i] += dxr * t->rp[i];
    }
}

void mf_vec_backward(mf_lane_grad *g, double *u, const double *du,
                     const double *x, const double *w, const mf_ip *ip)
{
    const double a = ip->a;
    mf_traj t;
    double lam[L], sl[FG_ROWS][L];
    run_traj(&t, x, w, ip);
    for (int j = 0; j < L; j++) {
        double Z = t.z[j], au = clamp_u(a * Z);
        u[j] = fabs(au) < 0.01 ? Z * phi(au) : log1p(au) / a;
        int clamped = au != a * Z;
        lam[j] = clamped ? 0 : du[j] / (1 + au);
        g->da[j] += clamped ? 0 : du[j] * Z * Z * dphi(au);
    }
    for (int g1 = FG_ROWS - 1; g1 >= 0;) {
        int g0 = g1;
        while (g0 > 0 && t.xs[t.ord[g0 - 1]] == t.xs[t.ord[g1]])
            g0--;
        back_group(g, lam, sl, &t, g0, g1, w, ip);
        g1 = g0 - 1;
    }
    for (int j = 0; j < L; j++) { /* rise step at t = 0 */
        double d0 = t.d0[j], z = a * d0;
        double dd0 = lam[j] * ex(z);
        g->da[j] += lam[j] * d0 * d0 * dpsi(z);
        for (int i = 0; i < FG_ROWS; i++)
            g->dk[i * L + j] -= dd0;
    }
    double acc[L] = {0}; /* row at sorted position q is on in slots 0..q */
    for (int q = 0; q < FG_ROWS; q++) {
        double *dwi = g->dw + t.ord[q] * L;
        for (int j = 0; j < L; j++) {
            acc[j] += sl[q][j];
            dwi[j] += acc[j];
        }
    }
}

void mf_vec_couple(double *y, const double *u, const mf_ip *ip)
{
    for (int j = 0; j < L; j++) {
        double v = u[j] + ip->off[j];
        if (j > 0)
            v += ip->beta[j - 1] * u[j - 1];
        if (j < L - 1)
            v += ip->beta[j] * u[j + 1];
        y[j] = v;
    }
}

/* ---- batched forward / backward ------------------------------------------- */
fg_status fit_model_forward(double *y, const double *x, const double *w,
                            const fit_model *m, int B)
{
    if (B < 0)
        return fg_error(FG_ERR_RANGE, "fit_model_forward: B = %d < 0", B);
    mf_ip ip;
    mf_ip_from_model(&ip, m);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (B >= 256)
#endif
    for (int b = 0; b < B; b++) {
        double u[L];
        mf_vec_forward(u, x + (size_t)b * FG_ROWS, w, &ip);
        mf_vec_couple(y + (size_t)b * L, u, &ip);
    }
    return FG_OK;
}

/* du (16) from dy (16) through the coupling. */
static void couple_back(double *du, const double *dy, const mf_ip *ip)
{
    for (int j = 0; j < L; j++) {
        double v = dy[j];
        if (j > 0)
            v += ip->beta[j - 1] * dy[j - 1];
        if (j < L - 1)
            v += ip->beta[j] * dy[j + 1];
        du[j] = v;
    }
}

static void add_lane(mf_lane_grad *acc, const mf_lane_grad *g)
{
    const double *s = (const double *)g;
    double *d = (double *)acc;
    for (size_t n = 0; n < sizeof *g / sizeof(double); n++)
        d[n] += s[n];
}

/* One thread's share: lane grads (+=) and dbeta/doff (+=) over [b0,b1). */
static void backward_range(mf_lane_grad *g, double *dbeta, double *doff,
                           double *dx, const double *dy, const double *x,
                           const double *w, const mf_ip *ip, int b0, int b1)
{
    for (int b = b0; b < b1; b++) {
        const double *dyb = dy + (size_t)b * L;
        double du[L], u[L];
        couple_back(du, dyb, ip);
        memset(g->dx, 0, sizeof g->dx);
        mf_vec_backward(g, u, du, x + (size_t)b * FG_ROWS, w, ip);
        if (dx)
            for (int i = 0; i < FG_ROWS; i++)
                dx[(size_t)b * FG_ROWS + i] += g->dx[i];
        for (int p = 0; p < FIT_NBETA; p++)
            dbeta[p] += dyb[p] * u[p + 1] + dyb[p + 1] * u[p];
        for (int j = 0; j < L; j++)
            doff[j] += dyb[j];
    }
    memset(g->dx, 0, sizeof g->dx);
}

fg_status fit_model_backward(double *dx, double *dw, fit_params *dp,
                             const double *dy, const double *x,
                             const double *w, const fit_model *m, int B)
{
    if (B < 0)
        return fg_error(FG_ERR_RANGE, "fit_model_backward: B = %d < 0", B);
    mf_ip ip;
    mf_ip_from_model(&ip, m);
    mf_lane_grad tot;
    double dbeta[FIT_NBETA] = {0}, doff[L] = {0};
    memset(&tot, 0, sizeof tot);
#ifdef _OPENMP
#pragma omp parallel if (B >= 256)
#endif
    {
        mf_lane_grad g;
        double db[FIT_NBETA] = {0}, dof[L] = {0};
        int nt = 1, id = 0;
#ifdef _OPENMP
        nt = omp_get_num_threads();
        id = omp_get_thread_num();
#endif
        memset(&g, 0, sizeof g);
        int b0 = (int)((long)B * id / nt), b1 = (int)((long)B * (id + 1) / nt);
        backward_range(&g, db, dof, dx, dy, x, w, &ip, b0, b1);
#ifdef _OPENMP
#pragma omp critical
#endif
        {
            add_lane(&tot, &g);
            for (int p = 0; p < FIT_NBETA; p++)
                dbeta[p] += db[p];
            for (int j = 0; j < L; j++)
                doff[j] += dof[j];
        }
    }
    if (dw)
        for (int n = 0; n < FG_CELLS; n++)
            dw[n] += tot.dw[n];
    if (dp) {
        mf_lane_to_params(dp, &tot, &ip);
        for (int p = 0; p < FIT_NBETA; p++)
            dp->beta[p] += dbeta[p];
        for (int j = 0; j < L; j++)
            dp->v_off[j] += doff[j] / ip.vs;
    }
    return FG_OK;
}
