/* Joint fit of the cell currents (all 256, or 16 column gains on the
 * programmed targets) and the physics parameters with gsl_multifit_nlinear
 * (Levenberg–Marquardt, analytic Jacobian from the model's lane gradients).
 * Unknowns are scaled to O(1): theta = value/scale (fit_param_fields[].scale;
 * cell currents in I_unit, gains 1). */
#include "mf_internal.h"

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define L FG_COLS

/* Where each physics element goes in theta (-1: gauge-fixed), and its scale. */
typedef struct {
    int col[FIT_NPHYS];
    double scale[FIT_NPHYS];
    const double *tgt;      /* (A,16,16) targets: cells = gain_j tgt_ij^w_exp;
                               NULL: free cells                            */
    int A;                  /* programmed arrays (1 with free cells)       */
    const int *arr;         /* (P) array of each pattern, or NULL: all 0   */
    int ncell;              /* 256 free cells, or 16 gains                 */
    int exp_col;            /* theta column of w_exp, -1: held             */
    int np;                 /* total unknowns: ncell + fitted physics      */
    int f_start[FIT_NFIELDS]; /* index of each field's element 0 in the flat vector */
} theta_map;

typedef struct {
    fit_model m;
    double *wa;             /* (A,16,16) tied cells of each array (free
                               cells: m.w alone, A = 1)                  */
    const double *x, *y;    /* (P,16) */
    int P;
    theta_map map;
    int verbose;
    double t0;
} fit_ctx;

/* fit_param_fields order */
enum { F_LAMBDA, F_KROW, F_KCOL, F_KEDGE, F_QROW, F_QCOL, F_BETA, F_VOFF, F_TEDGE, F_BETA2 };

static void map_init(theta_map *mp, const fit_options *o, int fix_off)
{
    const double *tgt = o->w_target;
    int fit_exp = o->fit_exp;
    mp->tgt = tgt;
    mp->A = tgt && o->n_arrays > 1 ? o->n_arrays : 1;
    mp->arr = mp->A > 1 ? o->array : NULL;
    mp->ncell = tgt ? L : FG_CELLS;
    mp->exp_col = tgt && fit_exp ? mp->ncell : -1;
    int n = 0, c = mp->ncell + (mp->exp_col >= 0);
    for (int f = 0; f < FIT_NFIELDS; f++) {
        const fit_param_field *fd = &fit_param_fields[f];
        int fixed = fix_off && f == F_VOFF;
        mp->f_start[f] = n;
        for (int k = 0; k < fd->count; k++, n++) {
            mp->col[n] = fixed || (k == 0 && fd->first_fitted) ? -1 : c++;
            mp->scale[n] = fd->scale;
        }
    }
    mp->np = c;
}

/* The array of pattern p, and its cells (16,16) and targets. */
static int pat_array(const theta_map *mp, int p) { return mp->arr ? mp->arr[p] : 0; }
static const double *pat_cells(const fit_ctx *c, int p)
{
    return c->map.tgt ? c->wa + (size_t)pat_array(&c->map, p) * FG_CELLS : c->m.w;
}

static void theta_to_model(fit_model *m, double *wa, const theta_map *mp,
                           const gsl_vector *th)
{
    double v[FIT_NPHYS];
    fit_params_to_vec(&m->p, v);
    if (mp->exp_col >= 0)
        m->w_exp = gsl_vector_get(th, mp->exp_col);
    if (mp->tgt)
        for (int j = 0; j < L; j++)
            m->w_gain[j] = gsl_vector_get(th, j);
    if (mp->tgt) {
        for (int a = 0; a < mp->A; a++)
            fit_model_tie(m, mp->tgt + (size_t)a * FG_CELLS, wa + (size_t)a * FG_CELLS);
        memcpy(m->w, wa, sizeof m->w); /* the first array's, as one-array fits */
    } else
        for (int n = 0; n < FG_CELLS; n++)
            m->w[n] = gsl_vector_get(th, n);
    for (int n = 0; n < FIT_NPHYS; n++)
        if (mp->col[n] >= 0)
            v[n] = gsl_vector_get(th, mp->col[n]) * mp->scale[n];
    fit_params_from_vec(&m->p, v);
}

static void model_to_theta(gsl_vector *th, const theta_map *mp, const fit_model *m)
{
    double v[FIT_NPHYS];
    fit_params_to_vec(&m->p, v);
    for (int n = 0; n < mp->ncell; n++)
        gsl_vector_set(th, n, mp->tgt ? m->w_gain[n] : m->w[n]);
    if (mp->exp_col >= 0)
        gsl_vector_set(th, mp->exp_col, m->w_exp);
    for (int n = 0; n < FIT_NPHYS; n++)
        if (mp->col[n] >= 0)
            gsl_vector_set(th, mp->col[n], v[n] / mp->scale[n]);
}

/* f (P*16) = model - measured, run by run of patterns on one array */
static int cb_f(const gsl_vector *th, void *params, gsl_vector *f)
{
    fit_ctx *c = params;
    theta_to_model(&c->m, c->wa, &c->map, th);
    for (int p0 = 0, p1; p0 < c->P; p0 = p1) {
        for (p1 = p0 + 1; p1 < c->P && pat_array(&c->map, p1) == pat_array(&c->map, p0); p1++)
            ;
        fit_model_forward(f->data + (size_t)p0 * L, c->x + (size_t)p0 * FG_ROWS,
                          pat_cells(c, p0), &c->m, p1 - p0);
    }
    size_t n = (size_t)c->P * L;
    for (size_t k = 0; k < n; k++) {
        f->data[k] -= c->y[k];
        if (!isfinite(f->data[k]))
            return GSL_EDOM;
    }
    return GSL_SUCCESS;
}

/* Flat-vector index of field f element k, and its theta column. */
static int tcol(const theta_map *mp, int f, int k) { return mp->col[mp->f_start[f] + k]; }
static double tscale(const theta_map *mp, int f) { return mp->scale[mp->f_start[f]]; }

/* Tied cells: d w_ij / d gain_j (= t^e) and d w_ij / d e (= w_ij ln t). */
static void tied_slopes(const double *tgt, const fit_model *m, int n, double *dg,
                        double *de)
{
    double t = tgt[n];
    *dg = mf_target_pow(m, t);
    *de = t <= 0 ? 0 : m->w_gain[n % L] * *dg * log(t);
}

/* pre (16, np): d u_j / d theta for one pattern's lane gradients g; tgt
 * (16,16) its array's targets (NULL: free cells). */
static void pre_rows(double *pre, const mf_lane_grad *g, const theta_map *mp,
                     const double *tgt, const mf_ip *ip, const fit_model *m)
{
    const int np = mp->np;
    double ks = ip->kscale * tscale(mp, F_KROW), qs = ip->qscale * tscale(mp, F_QROW);
    double ts = ip->tscale * tscale(mp, F_TEDGE);
    for (int j = 0; j < L; j++) {
        double *r = pre + (size_t)j * np, ksum = 0, qsum = 0, kedge = 0;
        double dgain = 0, dexp = 0;
        for (int i = 0; i < FG_ROWS; i++) {
            double dk = g->dk[i * L + j], dr = g->drho[i * L + j], sg, se;
            if (tgt) {
                tied_slopes(tgt, m, i * L + j, &sg, &se);
                dgain += g->dw[i * L + j] * sg;
                dexp += g->dw[i * L + j] * se;
            } else
                r[i * L + j] = g->dw[i * L + j];
            if (tcol(mp, F_KROW, i) >= 0)
                r[tcol(mp, F_KROW, i)] = dk * ks;
            if (tcol(mp, F_QROW, i) >= 0)
                r[tcol(mp, F_QROW, i)] = dr * qs;
            r[tcol(mp, F_TEDGE, i)] = g->ddelta[i * L + j] * ts;
            ksum += dk;
            qsum += dr;
            kedge += dk * i / (FG_ROWS - 1.0);
        }
        if (mp->tgt)
            r[j] = dgain;
        if (mp->exp_col >= 0)
            r[mp->exp_col] = dexp;
        r[tcol(mp, F_LAMBDA, 0)] = g->da[j] * ip->vs * tscale(mp, F_LAMBDA);
        r[tcol(mp, F_KCOL, j)] = ksum * ip->kscale * tscale(mp, F_KCOL);
        r[tcol(mp, F_QCOL, j)] = qsum * ip->qscale * tscale(mp, F_QCOL);
        if (j == 0)
            r[tcol(mp, F_KEDGE, 0)] = kedge * ip->kscale * tscale(mp, F_KEDGE);
        if (j == L - 1)
            r[tcol(mp, F_KEDGE, 1)] = kedge * ip->kscale * tscale(mp, F_KEDGE);
    }
}

/* Row r (of output j) += the share of column j + d (d = +-1, +-2) under the
 * read-time coupling: b times that column's pre row, and its u in the
 * column of the coupling parameter b is (field f, element k). */
static void couple_row(double *r, const double *pre, const double *u, int j, int d,
                       double b, int f, int k, const theta_map *mp)
{
    const int np = mp->np;
    cblas_daxpy(np, b, pre + (size_t)(j + d) * np, 1, r, 1);
    r[tcol(mp, f, k)] += u[j + d] * tscale(mp, f);
}

/* J rows (16, np) of one pattern from pre rows and u (coupling, offset). */
static void final_rows(double *J, const double *pre, const double *u,
                       const theta_map *mp, const mf_ip *ip)
{
    const int np = mp->np;
    double os = tscale(mp, F_VOFF) / ip->vs;
    for (int j = 0; j < L; j++) {
        double *r = J + (size_t)j * np;
        memcpy(r, pre + (size_t)j * np, np * sizeof *r);
        for (int d = 1; d <= 2; d++) { /* beta: neighbours; beta2: next but one */
            const double *b = d == 1 ? ip->beta : ip->beta2;
            int f = d == 1 ? F_BETA : F_BETA2;
            if (j >= d)
                couple_row(r, pre, u, j, -d, b[j - d], f, j - d, mp);
            if (j < L - d)
                couple_row(r, pre, u, j, d, b[j], f, j, mp);
        }
        if (tcol(mp, F_VOFF, j) >= 0)
            r[tcol(mp, F_VOFF, j)] += os;
    }
}

/* J (P*16, np) */
static int cb_df(const gsl_vector *th, void *params, gsl_matrix *J)
{
    fit_ctx *c = params;
    theta_to_model(&c->m, c->wa, &c->map, th);
    mf_ip ip;
    mf_ip_from_model(&ip, &c->m);
    const int np = c->map.np;
    int bad = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(| : bad)
#endif
    {
        double *pre = calloc((size_t)L * np, sizeof *pre); /* entries set per
                                     pattern; the others stay 0 */
        mf_lane_grad *g = malloc(sizeof *g);
        if (!pre || !g)
            bad = 1;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int p = 0; p < c->P; p++) {
            if (bad)
                continue;
            static const double ones[L] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
            double u[L];
            memset(g, 0, sizeof *g);
            const double *tgt = c->map.tgt ? c->map.tgt + (size_t)pat_array(&c->map, p) * FG_CELLS
                                           : NULL;
            mf_vec_backward(g, u, ones, c->x + (size_t)p * FG_ROWS, pat_cells(c, p), &ip);
            pre_rows(pre, g, &c->map, tgt, &ip, &c->m);
            final_rows(J->data + (size_t)p * L * J->tda, pre, u, &c->map, &ip);
        }
        free(pre);
        free(g);
    }
    return bad ? GSL_ENOMEM : GSL_SUCCESS;
}

static void cb_iter(const size_t iter, void *params,
                    const gsl_multifit_nlinear_workspace *w)
{
    fit_ctx *c = params;
    if (!c->verbose)
        return;
    gsl_vector *f = gsl_multifit_nlinear_residual(w);
    double chi = gsl_blas_dnrm2(f);
    fprintf(stderr, "fit: iter %3zu  cost %.6e  rms %.4e  %.1f s\n", iter,
            0.5 * chi * chi, chi / sqrt((double)f->size), fg_now() - c->t0);
}

void fit_options_default(fit_options *o)
{
    o->max_iter = 60;
    o->verbose = 0;
    o->w_target = NULL;
    o->n_arrays = 1;
    o->array = NULL;
    o->fit_exp = 0;
}

static int all_zero(const double *w, int n)
{
    for (int k = 0; k < n; k++)
        if (w[k] != 0)
            return 0;
    return 1;
}

/* Column gains of tied cells for the ideal product, least squares over
 * every pattern: y_pj ~ gain_j * sum_i x_pi t_ij^e (t: the pattern's
 * array). The start when several arrays are tied and no model is given. */
static void ideal_gains(fit_model *m, const double *x, const double *y, int P,
                        const theta_map *mp)
{
    double num[L] = {0}, den[L] = {0};
    for (int p = 0; p < P; p++) {
        const double *t = mp->tgt + (size_t)pat_array(mp, p) * FG_CELLS;
        for (int j = 0; j < L; j++) {
            double s = 0;
            for (int i = 0; i < FG_ROWS; i++)
                s += x[(size_t)p * FG_ROWS + i] * mf_target_pow(m, t[i * L + j]);
            num[j] += s * y[(size_t)p * L + j];
            den[j] += s * s;
        }
    }
    for (int j = 0; j < L; j++)
        m->w_gain[j] = den[j] > 0 ? num[j] / den[j] : 1.0;
}

/* Start: m->w if set, else naive (or linear lacking one-hot patterns);
 * with targets, the gains that best map them onto that start. Several
 * arrays: m's gains if m->w is set (a model to start from), else the
 * ideal product's. */
static fg_status start_weights(fit_model *m, const double *x, const double *y,
                               int P, const theta_map *mp)
{
    fg_status st = FG_OK;
    int idx[FG_ROWS];
    if (mp->A > 1) {
        if (all_zero(m->w, FG_CELLS))
            ideal_gains(m, x, y, P, mp);
        return FG_OK;
    }
    if (all_zero(m->w, FG_CELLS))
        st = fit_find_one_hot(x, P, idx) == FG_ROWS ? fit_extract_naive(x, y, P, m->w)
                                                    : fit_extract_linear(x, y, P, m->w);
    if (st == FG_OK && mp->tgt)
        fit_model_set_gain(m, mp->tgt);
    return st;
}

/* v_off measured, not fitted: the mean output of the all-zero input
 * patterns (nothing pulses, so the model's output is v_off alone). Returns
 * their count (0: none, v_off stays a fitted parameter). */
static int measure_offsets(fit_model *m, const double *x, const double *y, int P)
{
    double sum[L] = {0};
    int n = 0;
    for (int p = 0; p < P; p++) {
        int zero = 1;
        for (int i = 0; i < FG_ROWS && zero; i++)
            zero = x[(size_t)p * FG_ROWS + i] == 0;
        if (!zero)
            continue;
        for (int j = 0; j < L; j++)
            sum[j] += y[(size_t)p * L + j];
        n++;
    }
    const double vs = m->op.i_unit * m->op.t_max / m->op.c_bl;
    for (int j = 0; j < L && n; j++)
        m->p.v_off[j] = sum[j] / n * vs;
    return n;
}

static fg_status check_data(const double *x, const double *y, int P,
                            const theta_map *mp)
{
    if ((long)P * L < mp->np)
        return fg_error(FG_ERR_RANGE, "fit: %d patterns give %d residuals, fewer "
                        "than the %d parameters", P, P * L, mp->np);
    if (mp->A > 1 && !mp->arr)
        return fg_error(FG_ERR_RANGE, "fit: %d arrays of targets but no array "
                        "index per pattern", mp->A);
    for (long k = 0; k < (long)P * L; k++)
        if (!isfinite(x[k]) || !isfinite(y[k]))
            return fg_error(FG_ERR_RANGE, "fit: pattern %ld has a non-finite %s",
                            k / L, isfinite(x[k]) ? "output" : "input");
    for (int p = 0; mp->arr && p < P; p++)
        if (mp->arr[p] < 0 || mp->arr[p] >= mp->A)
            return fg_error(FG_ERR_RANGE, "fit: pattern %d is on array %d, not in "
                            "0..%d", p, mp->arr[p], mp->A - 1);
    return FG_OK;
}

static fg_status run_lm(fit_ctx *c, gsl_vector *th, const fit_options *o,
                        fit_report *rep)
{
    const size_t n = (size_t)c->P * L, np = c->map.np;
    gsl_multifit_nlinear_parameters par = gsl_multifit_nlinear_default_parameters();
    par.trs = gsl_multifit_nlinear_trs_lm;
    par.scale = gsl_multifit_nlinear_scale_more;
    par.solver = gsl_multifit_nlinear_solver_cholesky;
    gsl_multifit_nlinear_fdf fdf = {
        .f = cb_f, .df = cb_df, .fvv = NULL, .n = n, .p = np, .params = c,
    };
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &par, n, np);
    if (!w)
        return fg_error(FG_ERR_NOMEM, "fit: cannot allocate LM workspace (%zu x %zu)", n, np);
    fg_status st = FG_OK;
    int gs = gsl_multifit_nlinear_init(th, &fdf, w), info = 0;
    double chi0 = 0;
    if (gs == GSL_SUCCESS) {
        chi0 = gsl_blas_dnrm2(gsl_multifit_nlinear_residual(w));
        gs = gsl_multifit_nlinear_driver(o->max_iter, 1e-10, 1e-10, 1e-12,
                                         cb_iter, c, &info, w);
    }
    double chi = gsl_blas_dnrm2(gsl_multifit_nlinear_residual(w));
    /* Running out of iterations or of progress still leaves the best point. */
    if (gs != GSL_SUCCESS && gs != GSL_EMAXITER && gs != GSL_ENOPROG)
        st = fg_error(FG_ERR_CONVERGE, "fit: Levenberg-Marquardt failed: %s",
                      gsl_strerror(gs));
    else if (!isfinite(chi))
        st = fg_error(FG_ERR_CONVERGE, "fit: residual became non-finite");
    if (st == FG_OK) {
        gsl_vector_memcpy(th, gsl_multifit_nlinear_position(w));
        rep->iterations = (int)gsl_multifit_nlinear_niter(w);
        rep->info = info;
        rep->cost0 = 0.5 * chi0 * chi0;
        rep->cost = 0.5 * chi * chi;
    }
    gsl_multifit_nlinear_free(w);
    return st;
}

fg_status fit_model_fit(fit_model *m, const double *x, const double *y, int P,
                        const fit_options *o, fit_report *rep)
{
    fit_options od;
    fit_report rd;
    if (!o) {
        fit_options_default(&od);
        o = &od;
    }
    if (!rep)
        rep = &rd;
    memset(rep, 0, sizeof *rep);
    /* GSL's default handler aborts: off for this call, the caller's back
     * after it */
    gsl_error_handler_t *old_handler = gsl_set_error_handler_off();
    fit_ctx *c = calloc(1, sizeof *c);
    gsl_vector *th = NULL;
    fg_status st = c ? FG_OK : fg_error(FG_ERR_NOMEM, "fit: out of memory");
    if (st == FG_OK) {
        c->m = *m;
        rep->zero_patterns = measure_offsets(&c->m, x, y, P);
        map_init(&c->map, o, rep->zero_patterns > 0);
        c->x = x;
        c->y = y;
        c->P = P;
        c->verbose = o->verbose;
        c->t0 = fg_now();
        st = fit_model_check(m);
    }
    if (st == FG_OK)
        st = check_data(x, y, P, &c->map);
    if (st == FG_OK && !(c->wa = malloc((size_t)c->map.A * FG_CELLS * sizeof *c->wa)))
        st = fg_error(FG_ERR_NOMEM, "fit: out of memory");
    if (st == FG_OK)
        st = start_weights(&c->m, x, y, P, &c->map);
    if (st == FG_OK && !(th = gsl_vector_alloc(c->map.np)))
        st = fg_error(FG_ERR_NOMEM, "fit: out of memory");
    if (st == FG_OK) {
        model_to_theta(th, &c->map, &c->m);
        st = run_lm(c, th, o, rep);
    }
    if (st == FG_OK) {
        theta_to_model(&c->m, c->wa, &c->map, th);
        *m = c->m;
        rep->n_params = c->map.np;
        rep->seconds = fg_now() - c->t0;
    }
    gsl_vector_free(th);
    if (c)
        free(c->wa);
    free(c);
    gsl_set_error_handler(old_handler);
    return st;
}
