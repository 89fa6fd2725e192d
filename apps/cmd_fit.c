/* fgcosim fit: fit the compact HWA model to a SPICE calibration data set.
 *
 *   fgcosim fit --data DATA.h5 [--holdout FRACTION] -o MODEL.json
 *               [--min-width SECONDS] [--plots DIR] [--json]
 *               [--init MODEL.json] [--verbose]
 *
 * The fit reads only inputs, measured outputs and the operating point. The
 * one-hot full-width patterns are always training data (they give the naive
 * weights); the held-out part is the last FRACTION of the patterns (of
 * each array's, for a data set of several programmed arrays, where the
 * references are the ideal product of the targets and that product
 * through the fitted gains). Reports SER (overall and per column) and
 * relative RMS error on the held-out part. --min-width drops every pattern
 * with a pulse 0 < x T_max <= SECONDS from both parts (data sets from
 * decks older than the trapezoid pulses, where a pulse of at most one edge
 * time got PW = 0 and stayed on to the read). Bad input: one line on
 * stderr, exit 2, nothing written. */
#include "cmds.h"
#include "app_common.h"
#include "cosim.h"
#include "model_fit.h"
#include "plots.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *data, *out, *plots, *init;
    double holdout, min_width;
    int json, verbose, free_cells, fit_exp;
} fit_args;

typedef struct {
    int P;
    double *x, *y; /* (P,16) */
    int *arr;      /* (P) programmed array of each pattern */
    int dropped;   /* patterns dropped by --min-width (held-out set only) */
} pat_set;

/* The two references beside the fitted model: one array, the naive and
 * the least-squares weights of it; several arrays (a network's tiles),
 * the ideal product of each array's targets and the same with the fitted
 * gains and exponent (the fitted model without its physics). */
enum { M_NAIVE, M_LINEAR, M_FITTED, M_N };
static const char *const model_names[2][M_N] = {{"naive", "linear", "fitted"},
                                                {"ideal", "gains", "fitted"}};

typedef struct {
    double ser[M_N], rel[M_N], col[M_N][FG_COLS];
    double pairs[M_N]; /* SER of the differential outputs y_2k - y_2k+1 */
    double *yhat[M_N]; /* (P,16) held-out predictions */
} fit_eval;

static void usage(FILE *f)
{
    fprintf(f, "usage: fgcosim fit --data DATA.h5 [--holdout FRACTION] -o MODEL.json\n"
               "                  [--min-width SECONDS] [--plots DIR] [--json]\n"
               "                  [--init MODEL.json] [--cells tied|free] [--verbose]\n"
               "  --holdout  last fraction of patterns held out (default 0.25)\n"
               "  --cells    tied (default): cell currents = column gain x the programmed\n"
               "             targets (/w_target), 16 gains fitted: the model carries over\n"
               "             to new weights. free: all 256 cell currents fitted (weight\n"
               "             extraction of this one programmed array)\n"
               "  --init     start the fit from this model's cells and physics\n"
               "  --fit-exp  tied cells: also fit the programming exponent e of\n"
               "             gain_j x target^e (held at the start's, 1, otherwise)\n"
               "  --min-width  drop patterns with a pulse 0 < x*T_max <= SECONDS (default 0:\n"
               "             keep all; 5e-10 for data sets written before the decks made\n"
               "             pulses under two edges trapezoids)\n");
}

static int parse_args(int argc, char **argv, fit_args *a)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"holdout", required_argument, 0, 'H'},
        {"output", required_argument, 0, 'o'}, {"plots", required_argument, 0, 'p'},
        {"json", no_argument, 0, 'j'}, {"init", required_argument, 0, 'i'},
        {"verbose", no_argument, 0, 'v'}, {"min-width", required_argument, 0, 'm'},
        {"cells", required_argument, 0, 'c'}, {"fit-exp", no_argument, 0, 'e'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    *a = (fit_args){.holdout = 0.25};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'd': a->data = optarg; break;
        case 'o': a->out = optarg; break;
        case 'p': a->plots = optarg; break;
        case 'j': a->json = 1; break;
        case 'i': a->init = optarg; break;
        case 'v': a->verbose = 1; break;
        case 'e': a->fit_exp = 1; break;
        case 'h': usage(stdout); return -1;
        case 'c':
            if (strcmp(optarg, "tied") && strcmp(optarg, "free")) {
                fprintf(stderr, "fgcosim fit: --cells: '%s' is not tied or free\n", optarg);
                return 2;
            }
            a->free_cells = !strcmp(optarg, "free");
            break;
        case 'm':
            errno = 0;
            a->min_width = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(a->min_width >= 0 && a->min_width < 1)) {
                fprintf(stderr, "fgcosim fit: --min-width: '%s' is not a time in [0,1) s\n", optarg);
                return 2;
            }
            break;
        case 'H':
            errno = 0;
            a->holdout = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(a->holdout >= 0 && a->holdout < 1)) {
                fprintf(stderr, "fgcosim fit: --holdout: '%s' is not a fraction in [0,1)\n", optarg);
                return 2;
            }
            break;
        default: usage(stderr); return 2;
        }
    }
    if (!a->data || !a->out || optind < argc) {
        fprintf(stderr, "fgcosim fit: %s\n", optind < argc ? "unexpected argument"
                        : !a->data ? "--data DATA.h5 is required" : "-o MODEL.json is required");
        return 2;
    }
    return 0;
}

/* ---- data: split into training and held-out patterns ---------------------- */
static int is_one_hot(const double *x)
{
    int idx[FG_ROWS];
    return fit_find_one_hot(x, 1, idx) == 1;
}

static fg_status check_pattern(const char *path, const double *x, const double *y, int p)
{
    for (int k = 0; k < FG_ROWS; k++)
        if (!isfinite(x[k]) || x[k] < 0 || x[k] > 1)
            return fg_error(FG_ERR_RANGE, "%s: field 'inputs' pattern %d row %d "
                            "is not in [0,1]", path, p, k);
    for (int k = 0; k < FG_COLS; k++)
        if (!isfinite(y[k]))
            return fg_error(FG_ERR_RANGE, "%s: field 'y' pattern %d column %d is "
                            "not finite", path, p, k);
    return FG_OK;
}

static void pat_push(pat_set *s, const double *x, const double *y, int arr)
{
    memcpy(s->x + (size_t)s->P * FG_ROWS, x, FG_ROWS * sizeof *x);
    memcpy(s->y + (size_t)s->P * FG_COLS, y, FG_COLS * sizeof *y);
    s->arr[s->P] = arr;
    s->P++;
}

/* Converged patterns; the last frac of them are held out unless one-hot. */
/* 1 if a row's pulse is on but no longer than min_w (in T_max units). */
static int too_narrow(const double *x, double min_w)
{
    for (int i = 0; i < FG_ROWS; i++)
        if (x[i] > 0 && x[i] <= min_w)
            return 1;
    return 0;
}

static int pat_alloc(pat_set *s, int P)
{
    size_t nx = (size_t)(P > 0 ? P : 1);
    s->x = malloc(nx * FG_ROWS * sizeof(double));
    s->y = malloc(nx * FG_COLS * sizeof(double));
    s->arr = malloc(nx * sizeof(int));
    s->P = 0;
    return s->x && s->y && s->arr;
}

static fg_status split(const char *path, const cosim_dataset *ds, double frac,
                       double min_w, pat_set *tr, pat_set *ho, int *n_narrow)
{
    *n_narrow = 0;
    if (!pat_alloc(tr, ds->P) || !pat_alloc(ho, ds->P))
        return fg_error(FG_ERR_NOMEM, "out of memory");
    for (int p = 0; p < ds->P; p++) {
        const double *xp = ds->inputs + (size_t)p * FG_ROWS, *yp = ds->y + (size_t)p * FG_COLS;
        if (!ds->ok[p])
            continue;
        if (too_narrow(xp, min_w)) {
            ++*n_narrow;
            continue;
        }
        fg_status st = check_pattern(path, xp, yp, p);
        if (st)
            return st;
        pat_push(app_held_out(ds->array, ds->P, p, frac) && !is_one_hot(xp) ? ho : tr, xp, yp,
                 ds->array ? ds->array[p] : 0);
    }
    return FG_OK;
}

static void pat_free(pat_set *s)
{
    free(s->x);
    free(s->y);
    free(s->arr);
}

/* ---- evaluation --------------------------------------------------------- */
/* Several arrays: per held-out pattern, the ideal product of its array's
 * targets, the same through the fitted gains and exponent, and the model. */
static fg_status predict_arrays(fit_eval *ev, const pat_set *ho, const cosim_dataset *ds,
                                const fit_model *m)
{
    for (int p = 0; p < ho->P; p++) {
        const double *t = cosim_dataset_w_target(ds, ho->arr[p]), *x = ho->x + (size_t)p * FG_ROWS;
        double w[FG_CELLS];
        size_t o = (size_t)p * FG_COLS;
        fit_ideal_vmm(ev->yhat[M_NAIVE] + o, x, t, 1);
        fit_model_tie(m, t, w);
        fit_ideal_vmm(ev->yhat[M_LINEAR] + o, x, w, 1);
    }
    return fit_model_forward_tied(ev->yhat[M_FITTED], ho->x, ho->P, m,
                                  cosim_dataset_w_target(ds, 0), ho->arr);
}

static fg_status evaluate(fit_eval *ev, const pat_set *ho, const double *wn,
                          const double *wl, const fit_model *m, const cosim_dataset *ds)
{
    for (int k = 0; k < M_N; k++)
        if (!(ev->yhat[k] = malloc((size_t)(ho->P ? ho->P : 1) * FG_COLS * sizeof(double))))
            return fg_error(FG_ERR_NOMEM, "out of memory");
    fg_status st;
    if (ds->n_arrays > 1)
        st = predict_arrays(ev, ho, ds, m);
    else {
        fit_ideal_vmm(ev->yhat[M_NAIVE], ho->x, wn, ho->P);
        fit_ideal_vmm(ev->yhat[M_LINEAR], ho->x, wl, ho->P);
        st = fit_model_forward(ev->yhat[M_FITTED], ho->x, m->w, m, ho->P);
    }
    for (int k = 0; k < M_N && st == FG_OK; k++) {
        ev->ser[k] = fit_ser_db(ho->y, ev->yhat[k], ho->P * FG_COLS);
        ev->rel[k] = fit_rel_rms(ho->y, ev->yhat[k], ho->P * FG_COLS);
        ev->pairs[k] = fit_ser_pairs_db(ho->y, ev->yhat[k], ho->P);
        for (int j = 0; j < FG_COLS; j++)
            ev->col[k][j] = fit_ser_col_db(ho->y, ev->yhat[k], ho->P, j);
    }
    return st;
}

static void print_text(const fit_eval *ev, const fit_report *rep, int ntr, int nho,
                       int ndrop, const fit_model *m, const char *out, int multi)
{
    const char *const *names = model_names[multi];
    printf("fit: %d training / %d held-out patterns (%d dropped by --min-width), "
           "%d unknowns, %d LM iterations, %.2f s\n", ntr, nho, ndrop, rep->n_params,
           rep->iterations, rep->seconds);
    printf("held-out        SER dB   rel RMS   pairs SER dB (y_2k - y_2k+1)\n");
    for (int k = 0; k < M_N; k++)
        printf("  %-8s  %9.2f  %9.4f  %9.2f\n", names[k], ev->ser[k], ev->rel[k],
               ev->pairs[k]);
    printf("per-column SER dB (%s / %s / fitted):\n", names[0], names[1]);
    for (int j = 0; j < FG_COLS; j++)
        printf("  BL%-2d %7.2f %7.2f %7.2f\n", j, ev->col[M_NAIVE][j],
               ev->col[M_LINEAR][j], ev->col[M_FITTED][j]);
    printf("lambda = %.4g 1/V; model written to %s\n", m->p.lambda, out);
}

/* JSON numbers: infinite SER (exact fit) printed as a large finite value. */
static double jnum(double v) { return isfinite(v) ? v : (v > 0 ? 999 : -999); }

static void print_json(const fit_eval *ev, const fit_report *rep, int ntr, int nho,
                       int ndrop, const fit_model *m, const char *out, int arrays)
{
    cJSON *j = cJSON_CreateObject();
    const char *const *names = model_names[arrays > 1];
    for (int k = 0; k < M_N; k++) {
        char key[64];
        snprintf(key, sizeof key, "ser_%s_db", names[k]);
        cJSON_AddNumberToObject(j, key, jnum(ev->ser[k]));
        snprintf(key, sizeof key, "rel_rms_%s", names[k]);
        cJSON_AddNumberToObject(j, key, jnum(ev->rel[k]));
        snprintf(key, sizeof key, "ser_pairs_%s_db", names[k]);
        cJSON_AddNumberToObject(j, key, jnum(ev->pairs[k]));
    }
    const struct { const char *k; double v; } f[] = {
        {"arrays", arrays}, {"fit_seconds", rep->seconds}, {"lm_iterations", rep->iterations},
        {"n_params", rep->n_params}, {"n_train", ntr}, {"n_holdout", nho},
        {"n_dropped_narrow", ndrop}, {"zero_input_patterns", rep->zero_patterns},
        {"lambda_per_V", m->p.lambda},
    };
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        cJSON_AddNumberToObject(j, f[k].k, jnum(f[k].v));
    cJSON_AddStringToObject(j, "model", out);
    for (int k = 0; k < M_N; k++) {
        char key[64];
        double col[FG_COLS];
        for (int c = 0; c < FG_COLS; c++)
            col[c] = jnum(ev->col[k][c]);
        snprintf(key, sizeof key, "ser_col_%s_db", names[k]);
        cJSON_AddItemToObject(j, key, cJSON_CreateDoubleArray(col, FG_COLS));
    }
    app_json_print(j);
}

/* ---- plots (gnuplot, staged in DIR and renamed: plots.h) ------------------- */
static fg_status write_matrix(const char *dir, const char *name, const double *a)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return fg_error(FG_ERR_IO, "%s: %s", path, strerror(errno));
    for (int i = 0; i < FG_ROWS; i++)
        for (int j = 0; j < FG_COLS; j++)
            fprintf(f, "%d %d %.9g%s", j, i, a[i * FG_COLS + j], j == FG_COLS - 1 ? "\n\n" : "\n");
    return fclose(f) ? fg_error(FG_ERR_IO, "%s: write error", path) : FG_OK;
}

static fg_status write_plot_data(const char *dir, const fit_eval *ev, const pat_set *ho,
                                 const fit_model *m, int multi)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/fit_labels.gp", dir);
    FILE *lf = fopen(path, "w");
    if (!lf)
        return fg_error(FG_ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(lf, "n0 = '%s'\nn1 = '%s'\n", model_names[multi][0], model_names[multi][1]);
    if (fclose(lf))
        return fg_error(FG_ERR_IO, "%s: write error", path);
    snprintf(path, sizeof path, "%s/fit_heldout.dat", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return fg_error(FG_ERR_IO, "%s: %s", path, strerror(errno));
    for (int k = 0; k < ho->P * FG_COLS; k++)
        fprintf(f, "%.9g %.9g %.9g %.9g\n", ho->y[k], ev->yhat[0][k], ev->yhat[1][k],
                ev->yhat[2][k]);
    int bad = fclose(f);
    snprintf(path, sizeof path, "%s/fit_ser_columns.dat", dir);
    if (!bad && (f = fopen(path, "w"))) {
        for (int j = 0; j < FG_COLS; j++)
            fprintf(f, "%d %.6g %.6g %.6g\n", j, jnum(ev->col[0][j]), jnum(ev->col[1][j]),
                    jnum(ev->col[2][j]));
        bad = fclose(f);
    } else
        bad = 1;
    if (bad)
        return fg_error(FG_ERR_IO, "%s: cannot write", path);
    double kappa[FG_CELLS];
    fit_params_kappa(&m->p, kappa);
    fg_status st = write_matrix(dir, "fit_kappa.dat", kappa);
    return st ? st : write_matrix(dir, "fit_weights.dat", m->w);
}

static const char *gp_script =
    "set terminal pngcairo size 900,700 noenhanced\n"
    "cd '%s'\n"
    "load 'fit_labels.gp'\n"
    "set output 'fit_scatter.png'\n"
    "set title 'held-out: predicted vs SPICE'\nset xlabel 'SPICE y'\nset ylabel 'predicted y'\n"
    "set key left top\n"
    "plot x w l lc rgb 'black' t 'y = x', 'fit_heldout.dat' u 1:2 w p pt 7 ps 0.3 t n0,"
    " '' u 1:3 w p pt 7 ps 0.3 t n1, '' u 1:4 w p pt 7 ps 0.3 t 'fitted'\n"
    "set output 'fit_residual.png'\n"
    "set title 'held-out error (predicted - SPICE), y-units'\nset ylabel 'error'\n"
    "set logscale y\nset format y '%%.0e'\nset ylabel '|predicted - SPICE| (y-units)'\n"
    "plot 'fit_heldout.dat' u 1:(abs($2-$1)) w p pt 7 ps 0.3 t n0,"
    " '' u 1:(abs($3-$1)) w p pt 7 ps 0.3 t n1, '' u 1:(abs($4-$1)) w p pt 7 ps 0.3 t 'fitted'\n"
    "unset logscale y\nset format y '%%g'\n"
    "set output 'fit_ser_columns.png'\n"
    "set title 'held-out SER per bit line'\nset xlabel 'column'\nset ylabel 'SER (dB)'\n"
    "set style data histograms\nset style fill solid 0.8\nset boxwidth 0.9\nset key outside right top\n"
    "set yrange [0:*]\n"
    "plot 'fit_ser_columns.dat' u 2:xtic(1) t n0, '' u 3 t n1, '' u 4 t 'fitted'\n"
    "unset style\nset style data lines\nunset xtics\nset xtics\nset key inside\n"
    "set xlabel 'column (bit line)'\nset ylabel 'row (word line)'\nset yrange [15.5:-0.5]\n"
    "set xrange [-0.5:15.5]\n"
    "set output 'fit_kappa.png'\nset title 'fitted WL-BL coupling kappa'\n"
    "plot 'fit_kappa.dat' u 1:2:3 w image t ''\n"
    "set output 'fit_weights.png'\nset title 'fitted cell currents (I / I_unit)'\n"
    "plot 'fit_weights.dat' u 1:2:3 w image t ''\n";

typedef struct {
    const fit_eval *ev;
    const pat_set *ho;
    const fit_model *m;
    int multi;
} plot_ctx;

static fg_status plot_data(const plot_stage *ps, const void *ctx)
{
    const plot_ctx *c = ctx;
    return write_plot_data(ps->stage, c->ev, c->ho, c->m, c->multi);
}

static fg_status make_plots(const char *dir, const fit_eval *ev, const pat_set *ho,
                            const fit_model *m, int multi)
{
    plot_ctx c = {ev, ho, m, multi};
    return plot_make(dir, plot_data, &c, gp_script);
}

/* ---- the command -------------------------------------------------------- */
/* The start and the references: one array, the naive and least-squares
 * weights (the references); a model to start from (--init) with the
 * data set's op point. */
static fg_status fit_start(const fit_args *a, const cosim_dataset *ds, const pat_set *tr,
                           fit_model *m, double *wn, double *wl)
{
    fg_status st = FG_OK;
    fit_model_init(m, &ds->op);
    if (ds->n_arrays <= 1 && (st = fit_extract_naive(tr->x, tr->y, tr->P, wn)) == FG_OK)
        st = fit_extract_linear(tr->x, tr->y, tr->P, wl);
    if (st == FG_OK && a->init && (st = fit_model_load(m, a->init)) == FG_OK)
        m->op = ds->op; /* the data set's op point rules */
    m->corner = ds->corner; /* the model describes where its data was measured */
    return st;
}

static fg_status fit_and_report(const fit_args *a, const cosim_dataset *ds,
                                const pat_set *tr, const pat_set *ho)
{
    fit_model m;
    fit_eval ev = {0};
    fit_report rep;
    fit_options o;
    double wn[FG_CELLS], wl[FG_CELLS];
    fit_options_default(&o);
    o.verbose = a->verbose;
    o.w_target = a->free_cells ? NULL : cosim_dataset_w_target(ds, 0);
    o.n_arrays = ds->n_arrays;
    o.fit_exp = a->fit_exp && !a->free_cells;
    o.array = tr->arr;
    fg_status st = fit_start(a, ds, tr, &m, wn, wl);
    if (st == FG_OK)
        st = fit_model_fit(&m, tr->x, tr->y, tr->P, &o, &rep);
    if (st == FG_OK && a->free_cells) /* the gain from target to fitted cell */
        fit_model_set_gain(&m, ds->w_target);
    if (st == FG_OK)
        st = evaluate(&ev, ho, wn, wl, &m, ds);
    if (st == FG_OK)
        st = fit_model_save(&m, a->out);
    if (st == FG_OK && a->plots)
        st = make_plots(a->plots, &ev, ho, &m, ds->n_arrays > 1);
    if (st == FG_OK) {
        if (a->json)
            print_json(&ev, &rep, tr->P, ho->P, ho->dropped, &m, a->out, ds->n_arrays);
        else
            print_text(&ev, &rep, tr->P, ho->P, ho->dropped, &m, a->out, ds->n_arrays > 1);
    }
    for (int k = 0; k < M_N; k++)
        free(ev.yhat[k]);
    return st;
}

static fg_status run(const fit_args *a)
{
    cosim_dataset ds;
    pat_set tr = {0}, ho = {0};
    memset(&ds, 0, sizeof ds);
    fg_status st = cosim_dataset_read(a->data, &ds);
    /* free cells: the 256 cells and the physics; tied: 16 gains instead */
    int need = a->free_cells ? FIT_NFITTED : FIT_NFITTED - FG_CELLS + FG_COLS;
    if (st == FG_OK && a->free_cells && ds.n_arrays > 1)
        st = fg_error(FG_ERR_RANGE, "%s: --cells free fits one programmed array; this "
                      "data set has %d (use --cells tied)", a->data, ds.n_arrays);
    if (st == FG_OK)
        st = split(a->data, &ds, a->holdout, a->min_width / ds.op.t_max, &tr, &ho,
                   &ho.dropped);
    if (st == FG_OK && tr.P < need)
        st = fg_error(FG_ERR_RANGE, "%s: %d training patterns, fewer than the %d "
                      "fitted parameters", a->data, tr.P, need);
    if (st == FG_OK && ho.P == 0)
        st = fg_error(FG_ERR_RANGE, "%s: no held-out patterns (P = %d, --holdout %g)",
                      a->data, ds.P, a->holdout);
    if (st == FG_OK)
        st = fit_and_report(a, &ds, &tr, &ho);
    pat_free(&tr);
    pat_free(&ho);
    cosim_dataset_free(&ds);
    return st;
}

int cmd_fit(int argc, char **argv)
{
    fit_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    fg_status st = run(&a);
    if (st) {
        fprintf(stderr, "fgcosim fit: %s\n", fg_errmsg());
        return fg_status_exit_code(st);
    }
    return 0;
}
