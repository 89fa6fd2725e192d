/* The compact HWA model: adaptive time slots, each solved exactly for the
 * square-law drain dependence (a rational map of u per slot, since in
 * Z = u/(1 - a u) a slot is Z += S dt), every edge a shift; the backward pass
 * walks the same events in reverse (see model_fit.h for the equations). */
#include "mf_internal.h"
#include "slot.h"

#include <math.h>
#include <stddef.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define L FG_COLS /* lanes: one per bit line */

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
    ip->tscale = 1.0 / op->t_max;
    for (int i = 0; i < FG_ROWS; i++)
        for (int j = 0; j < FG_COLS; j++) {
            ip->k[i * L + j] = kappa[i * L + j] * ip->kscale;
            ip->rho[i * L + j] = (p->q_row[i] + p->q_col[j]) * ip->qscale;
        }
    for (int i = 0; i < FG_ROWS; i++)
        ip->delta[i] = p->t_edge[i] / op->t_max;
    memcpy(ip->beta, p->beta, sizeof ip->beta);
    memcpy(ip->beta2, p->beta2, sizeof ip->beta2);
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
            dp->t_edge[i] += g->ddelta[i * L + j] * ip->tscale;
        }
}

/* ---- one vector: the trajectory -------------------------------------------- */
typedef struct {
    int ord[FG_ROWS];          /* rows by (end, index)                     */
    double xs[FG_ROWS];        /* clamped widths                            */
    double e[FG_ROWS];         /* effective ends x - delta r(x), >= 0      */
    double r[FG_ROWS], rp[FG_ROWS]; /* onset factor r(x) and dr/dx          */
    int gate[FG_ROWS];         /* x_i >= 0 (else clamped: gradient 0)      */
    int egate[FG_ROWS];        /* end not clamped at 0                      */
    double dt[FG_ROWS];        /* slot q length                            */
    double ub[FG_ROWS][L];     /* u at the start of slot q                 */
    double D[FG_ROWS][L];      /* charge of slot q, S dt                    */
    double ua[FG_ROWS][L];     /* u after fall event q                     */
    double sb[FG_ROWS][L];     /* S during slot q                          */
    double u[L];               /* u at read time                           */
} mf_traj;

static void sort_rows(mf_traj *t, const double *x, const mf_ip *ip)
{
    for (int i = 0; i < FG_ROWS; i++) {
        double v = x[i] > 0 ? x[i] : 0; /* negative or NaN: off */
        t->xs[i] = v;
        t->r[i] = -expm1(-v / FIT_XR);
        t->gate[i] = x[i] >= 0;
        t->rp[i] = t->gate[i] ? exp(-v / FIT_XR) / FIT_XR : 0;
        t->e[i] = row_end(v, ip->delta[i], t->r[i], &t->egate[i]);
        int q = i;
        while (q > 0 && t->e[t->ord[q - 1]] > t->e[i]) { /* stable: ties by index */
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
    double U[L], S[L];
    sort_rows(t, x, ip);
    for (int j = 0; j < L; j++) {
        double d0 = 0, s = 0;
        for (int i = 0; i < FG_ROWS; i++) {
            d0 -= ip->k[i * L + j];
            s += w[i * L + j];
        }
        U[j] = d0;
        S[j] = s;
    }
    double tprev = 0;
    for (int q = 0; q < FG_ROWS; q++) {
        int i = t->ord[q];
        double dt = t->e[i] - tprev, r = t->r[i];
        const double *k = ip->k + i * L, *rho = ip->rho + i * L, *wi = w + i * L;
        tprev = t->e[i];
        t->dt[q] = dt;
        for (int j = 0; j < L; j++) {
            double D = S[j] * dt;
            t->sb[q][j] = S[j];
            t->ub[q][j] = U[j];
            t->D[q][j] = D;
            U[j] = slot_u(a, U[j], D) + k[j] + rho[j] * wi[j] * r;
            t->ua[q][j] = U[j];
            S[j] -= wi[j];
        }
    }
    memcpy(t->u, U, sizeof U);
}

/* Forward only: the same events as run_traj without storing the
 * trajectory (and without dr/dx). */
void mf_vec_forward(double *u, const double *x, const double *w,
                    const mf_ip *ip)
{
    const double a = ip->a;
    int ord[FG_ROWS], egate;
    double e[FG_ROWS], r[FG_ROWS], S[L];
    for (int i = 0; i < FG_ROWS; i++) {
        double v = x[i] > 0 ? x[i] : 0;
        r[i] = v > 40 * FIT_XR ? 1 : -expm1(-v / FIT_XR);
        e[i] = row_end(v, ip->delta[i], r[i], &egate);
        int q = i;
        while (q > 0 && e[ord[q - 1]] > e[i]) {
            ord[q] = ord[q - 1];
            q--;
        }
        ord[q] = i;
    }
    for (int j = 0; j < L; j++) {
        u[j] = 0;
        S[j] = 0;
    }
    for (int i = 0; i < FG_ROWS; i++)
        for (int j = 0; j < L; j++) {
            u[j] -= ip->k[i * L + j];
            S[j] += w[i * L + j];
        }
    double tprev = 0;
    for (int q = 0; q < FG_ROWS; q++) {
        int i = ord[q];
        double dt = e[i] - tprev, ri = r[i];
        const double *k = ip->k + i * L, *rho = ip->rho + i * L, *wi = w + i * L;
        tprev = e[i];
        for (int j = 0; j < L; j++) {
            u[j] = slot_u(a, u[j], S[j] * dt) + k[j] + rho[j] * wi[j] * ri;
            S[j] -= wi[j];
        }
    }
}

/* Right derivative of the lanes w.r.t. the end e of row i in a group of
 * equal ends (row i made the last of its group): lam = adjoint after the
 * group, uG = u after the group, sp = S after the group; de (16) per lane. */
static void end_grad(double *de, const double *lam, const double *uG,
                     const double *sp, const double *wi, const double *k,
                     const double *rho, double r, double a)
{
    for (int j = 0; j < L; j++) {
        double ubf = uG[j] - k[j] - rho[j] * wi[j] * r; /* before row i's fall */
        de[j] = lam[j] * (slot_gsq(a, ubf) * (sp[j] + wi[j]) -
                          slot_gsq(a, uG[j]) * sp[j]);
    }
}

/* Reverse through the fall events q = g1..g0 and their slots; dD[q][j]
 * receives d loss / d D of slot q. */
static void back_group(mf_lane_grad *g, double *lam, double dD[][L],
                       const mf_traj *t, int g0, int g1, const double *w,
                       const mf_ip *ip)
{
    const double a = ip->a;
    double sp[L];
    const double *wl = w + t->ord[g1] * L, *uG = t->ua[g1];
    for (int j = 0; j < L; j++)
        sp[j] = t->sb[g1][j] - wl[j];
    for (int q = g0; q <= g1; q++) {
        int i = t->ord[q];
        if (!t->egate[i])
            continue;
        double de[L], sde = 0;
        end_grad(de, lam, uG, sp, w + i * L, ip->k + i * L, ip->rho + i * L,
                 t->r[i], a);
        for (int j = 0; j < L; j++) {
            g->ddelta[i * L + j] -= de[j] * t->r[i];
            sde += de[j];
        }
        if (t->gate[i])
            g->dx[i] += sde * (1 - ip->delta[i] * t->rp[i]);
    }
    for (int q = g1; q >= g0; q--) {
        int i = t->ord[q];
        const double *rho = ip->rho + i * L, *wi = w + i * L;
        double r = t->r[i], dxr = 0;
        for (int j = 0; j < L; j++) {
            /* fall: u += k + rho w r (adjoint unchanged) */
            g->dk[i * L + j] += lam[j];
            g->drho[i * L + j] += lam[j] * wi[j] * r;
            g->dw[i * L + j] += lam[j] * rho[j] * r;
            dxr += lam[j] * rho[j] * wi[j];
            /* slot: u = F(ub, D) */
            double da;
            lam[j] = slot_back(a, t->ub[q][j], t->D[q][j], lam[j], &dD[q][j], &da);
            g->da[j] -= da;
        }
        if (t->gate[i]) /* r's effect on the end is in de above */
            g->dx[i] += dxr * t->rp[i];
    }
}

void mf_vec_backward(mf_lane_grad *g, double *u, const double *du,
                     const double *x, const double *w, const mf_ip *ip)
{
    mf_traj t;
    double lam[L], dD[FG_ROWS][L];
    run_traj(&t, x, w, ip);
    memcpy(u, t.u, sizeof t.u);
    memcpy(lam, du, sizeof lam);
    for (int g1 = FG_ROWS - 1; g1 >= 0;) {
        int g0 = g1;
        while (g0 > 0 && t.e[t.ord[g0 - 1]] == t.e[t.ord[g1]])
            g0--;
        back_group(g, lam, dD, &t, g0, g1, w, ip);
        g1 = g0 - 1;
    }
    for (int j = 0; j < L; j++) /* rise steps at t = 0: u0 = -sum_i k_ij */
        for (int i = 0; i < FG_ROWS; i++)
            g->dk[i * L + j] -= lam[j];
    double acc[L] = {0}; /* row at sorted position q is on in slots 0..q */
    for (int q = 0; q < FG_ROWS; q++) {
        double *dwi = g->dw + t.ord[q] * L;
        for (int j = 0; j < L; j++) {
            acc[j] += dD[q][j] * t.dt[q];
            dwi[j] += acc[j];
        }
    }
}

void mf_vec_couple(double *y, const double *u, const mf_ip *ip)
{
    for (int j = 0; j < L; j++)
        y[j] = u[j] + ip->off[j];
    lines_couple(y, u, ip->beta, ip->beta2);
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
#pragma omp parallel for schedule(dynamic, 256) if (B >= 256)
#endif
    for (int b = 0; b < B; b++) { /* dynamic: a thread stalled on a shared
                                     machine does not hold the others */
        double u[L];
        mf_vec_forward(u, x + (size_t)b * FG_ROWS, w, &ip);
        mf_vec_couple(y + (size_t)b * L, u, &ip);
    }
    return FG_OK;
}

static void add_lane(mf_lane_grad *acc, const mf_lane_grad *g)
{
    const double *s = (const double *)g;
    double *d = (double *)acc;
    for (size_t n = 0; n < sizeof *g / sizeof(double); n++)
        d[n] += s[n];
}

/* The couplings' gradients: beta then beta2. */
#define NCPL (FIT_NBETA + FIT_NBETA2)

/* One thread's share: lane grads (+=) and dbeta/doff (+=) over [b0,b1);
 * dbeta (NCPL): beta's then beta2's. */
static void backward_range(mf_lane_grad *g, double *dbeta, double *doff,
                           double *dx, const double *dy, const double *x,
                           const double *w, const mf_ip *ip, int b0, int b1)
{
    for (int b = b0; b < b1; b++) {
        const double *dyb = dy + (size_t)b * L;
        double du[L], u[L];
        memcpy(du, dyb, sizeof du); /* the coupling is symmetric */
        lines_couple(du, dyb, ip->beta, ip->beta2);
        memset(g->dx, 0, sizeof g->dx);
        mf_vec_backward(g, u, du, x + (size_t)b * FG_ROWS, w, ip);
        if (dx)
            for (int i = 0; i < FG_ROWS; i++)
                dx[(size_t)b * FG_ROWS + i] += g->dx[i];
        for (int p = 0; p < FIT_NBETA; p++)
            dbeta[p] += dyb[p] * u[p + 1] + dyb[p + 1] * u[p];
        for (int p = 0; p < FIT_NBETA2; p++)
            dbeta[FIT_NBETA + p] += dyb[p] * u[p + 2] + dyb[p + 2] * u[p];
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
    double dbeta[NCPL] = {0}, doff[L] = {0};
    memset(&tot, 0, sizeof tot);
#ifdef _OPENMP
#pragma omp parallel if (B >= 256)
#endif
    {
        mf_lane_grad g;
        double db[NCPL] = {0}, dof[L] = {0};
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
            for (int p = 0; p < NCPL; p++)
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
        for (int p = 0; p < FIT_NBETA2; p++)
            dp->beta2[p] += dbeta[FIT_NBETA + p];
        for (int j = 0; j < L; j++)
            dp->v_off[j] += doff[j] / ip.vs;
    }
    return FG_OK;
}
