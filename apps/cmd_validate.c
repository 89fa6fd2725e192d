/* fgcosim validate: signal-to-error ratio of a fitted compact model on any
 * SPICE calibration data set (the same layout programmed with other weights,
 * other patterns, ...).
 *
 *   fgcosim validate --model MODEL.json --data DATA.h5 [--plots DIR] [--json]
 *
 * The model predicts with its cells tied to the data set's programmed
 * targets, w_ij = w_gain_j * target_ij^w_exp (fit_model_tie: as the hwa
 * backend uses a model on new weights), at its own operating point; the
 * data set must have the same nominal one (each of t_max, c_bl, i_unit,
 * v_read, v_pre within 1e-9 relative; its corner may differ and is
 * reported). Converged patterns only (/ok = 1). Reports the SER overall and per column,
 * and that of the ideal model y = x . target for comparison. Bad input: one
 * line on stderr, exit 2, nothing written. */
#include "cmds.h"
#include "cosim.h"
#include "model_fit.h"
#include "plots.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *model, *data, *plots;
    int json;
} val_args;

typedef struct {
    int P, skipped;        /* converged patterns used / not converged       */
    double *x, *y;         /* (P,16) inputs and SPICE outputs               */
    double *yhat, *yideal; /* (P,16) model and ideal predictions            */
    int *arr;              /* (P) the programmed array of each pattern      */
    int arrays;            /* programmed arrays in the data set             */
    double ser, ser_ideal, rel_rms;
    double pairs, pairs_ideal; /* SER of the differential outputs y_2k - y_2k+1 */
    double col[FG_COLS], col_ideal[FG_COLS];
    int worst, best;       /* columns of lowest / highest model SER         */
    int nominal;           /* the data set was measured at the nominal corner */
    double w_exp;          /* the model's programming exponent             */
} val_eval;

static void usage(FILE *f)
{
    fprintf(f, "usage: fgcosim validate --model MODEL.json --data DATA.h5 [--plots DIR] [--json]\n"
               "  SER of the fitted model on any SPICE data set of its operating point:\n"
               "  cells tied to the data set's programmed targets (w = gain x target^exp),\n"
               "  converged patterns only; the ideal model (y = x . target) for comparison\n"
               "  --plots DIR  validate_scatter.png (model vs SPICE) and\n"
               "               validate_ser_columns.png (SER per bit line)\n"
               "  --json       one JSON object on stdout\n");
}

static int parse_args(int argc, char **argv, val_args *a)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"plots", required_argument, 0, 'p'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    *a = (val_args){0};
    int c;
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's and the usage */
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'd': a->data = optarg; break;
        case 'p': a->plots = optarg; break;
        case 'j': a->json = 1; break;
        case 'h': usage(stdout); return -1;
        default:
            fprintf(stderr, "fgcosim validate: %s '%s' (fgcosim validate --help)\n",
                    c == ':' ? "no value for option" : "unknown option", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fgcosim validate: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!a->model || !a->data) {
        fprintf(stderr, "fgcosim validate: %s is required\n",
                !a->model ? "--model MODEL.json" : "--data DATA.h5");
        return 2;
    }
    return 0;
}

/* ---- inputs --------------------------------------------------------------- */
/* The data set's op point must be the model's (core's 1e-9 comparison). */
static fg_status check_op(const val_args *a, const fg_op_point *model,
                          const fg_op_point *data)
{
    int k = fg_op_point_differs(data, model);
    if (k < 0)
        return FG_OK;
    double d[FG_OP_NFIELDS], m[FG_OP_NFIELDS];
    fg_op_point_to_vec(data, d);
    fg_op_point_to_vec(model, m);
    const char *name = fg_op_field_name[k], *unit = fg_op_field_unit[k];
    return fg_error(FG_ERR_RANGE, "%s: attribute op_%s_%s = %.10g %s, but model %s is "
                    "for op_point.%s = %.10g %s", a->data, name, unit, d[k], unit,
                    a->model, name, m[k], unit);
}

static fg_status check_targets(const char *path, const double *w_target)
{
    for (int k = 0; k < FG_CELLS; k++)
        if (!isfinite(w_target[k]))
            return fg_error(FG_ERR_RANGE, "%s: /w_target[%d][%d] is not finite", path,
                            k / FG_COLS, k % FG_COLS);
    return FG_OK;
}

/* Copies the converged patterns of ds into ev->x, ev->y. */
static fg_status collect(const char *path, const cosim_dataset *ds, val_eval *ev)
{
    size_t n = (size_t)(ds->P > 0 ? ds->P : 1);
    ev->x = malloc(n * FG_ROWS * sizeof(double));
    ev->y = malloc(n * FG_COLS * sizeof(double));
    ev->yhat = malloc(n * FG_COLS * sizeof(double));
    ev->yideal = malloc(n * FG_COLS * sizeof(double));
    ev->arr = malloc(n * sizeof(int));
    ev->arrays = ds->n_arrays;
    if (!ev->x || !ev->y || !ev->yhat || !ev->yideal || !ev->arr)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    for (int p = 0; p < ds->P; p++) {
        if (!ds->ok[p]) {
            ev->skipped++;
            continue;
        }
        memcpy(ev->x + (size_t)ev->P * FG_ROWS, ds->inputs + (size_t)p * FG_ROWS,
               FG_ROWS * sizeof(double));
        memcpy(ev->y + (size_t)ev->P * FG_COLS, ds->y + (size_t)p * FG_COLS,
               FG_COLS * sizeof(double));
        ev->arr[ev->P] = ds->array ? ds->array[p] : 0;
        ev->P++;
    }
    ev->nominal = fg_corner_is_nominal(&ds->corner);
    return ev->P ? FG_OK : fg_error(FG_ERR_RANGE, "%s: field /ok: none of the %d "
                                    "patterns converged", path, ds->P);
}

static void eval_free(val_eval *ev)
{
    free(ev->x);
    free(ev->y);
    free(ev->yhat);
    free(ev->yideal);
    free(ev->arr);
}

/* ---- evaluation ------------------------------------------------------------ */
/* The model (on the cells the hwa backend makes of the targets) and the
 * ideal product of each pattern's programmed array. */
static fg_status predict(val_eval *ev, const fit_model *m, const cosim_dataset *ds)
{
    for (int p = 0; p < ev->P; p++)
        fit_ideal_vmm(ev->yideal + (size_t)p * FG_COLS, ev->x + (size_t)p * FG_ROWS,
                      cosim_dataset_w_target(ds, ev->arr[p]), 1);
    return fit_model_forward_tied(ev->yhat, ev->x, ev->P, m, cosim_dataset_w_target(ds, 0),
                                  ev->arr);
}

static fg_status evaluate(val_eval *ev, const fit_model *m, const cosim_dataset *ds)
{
    ev->w_exp = m->w_exp;
    fg_status st = predict(ev, m, ds);
    if (st)
        return st;
    ev->ser = fit_ser_db(ev->y, ev->yhat, ev->P * FG_COLS);
    ev->ser_ideal = fit_ser_db(ev->y, ev->yideal, ev->P * FG_COLS);
    ev->rel_rms = fit_rel_rms(ev->y, ev->yhat, ev->P * FG_COLS);
    ev->pairs = fit_ser_pairs_db(ev->y, ev->yhat, ev->P);
    ev->pairs_ideal = fit_ser_pairs_db(ev->y, ev->yideal, ev->P);
    ev->worst = ev->best = 0;
    for (int j = 0; j < FG_COLS; j++) {
        ev->col[j] = fit_ser_col_db(ev->y, ev->yhat, ev->P, j);
        ev->col_ideal[j] = fit_ser_col_db(ev->y, ev->yideal, ev->P, j);
        if (ev->col[j] < ev->col[ev->worst])
            ev->worst = j;
        if (ev->col[j] > ev->col[ev->best])
            ev->best = j;
    }
    return FG_OK;
}

/* ---- reports --------------------------------------------------------------- */
/* JSON numbers: infinite SER (exact model) as a large finite value. */
static double jnum(double v) { return isfinite(v) ? v : (v > 0 ? 999 : -999); }

static void print_text(const val_args *a, const val_eval *ev)
{
    printf("validate: model %s on %s (%s corner): %d patterns on %d programmed "
           "arrays (%d not converged, skipped)\n", a->model, a->data,
           ev->nominal ? "nominal" : "non-nominal", ev->P, ev->arrays, ev->skipped);
    printf("  SER %.2f dB (ideal model %.2f dB), rel RMS error %.4g; cells gain x "
           "target^%.4g\n", ev->ser, ev->ser_ideal, ev->rel_rms, ev->w_exp);
    printf("  differential pairs (y_2k - y_2k+1, as a network reads them): SER "
           "%.2f dB (ideal model %.2f dB)\n", ev->pairs, ev->pairs_ideal);
    printf("  worst column BL%d %.2f dB, best column BL%d %.2f dB\n", ev->worst,
           ev->col[ev->worst], ev->best, ev->col[ev->best]);
    printf("per-column SER dB (model / ideal):\n");
    for (int j = 0; j < FG_COLS; j++)
        printf("  BL%-2d %7.2f %7.2f\n", j, ev->col[j], ev->col_ideal[j]);
}

static cJSON *num_array(const double *v, int n)
{
    double c[FG_COLS];
    for (int k = 0; k < n && k < FG_COLS; k++)
        c[k] = jnum(v[k]);
    return cJSON_CreateDoubleArray(c, n < FG_COLS ? n : FG_COLS);
}

static cJSON *json_report(const val_args *a, const val_eval *ev)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "ser_db", jnum(ev->ser));
    cJSON_AddItemToObject(o, "ser_columns_db", num_array(ev->col, FG_COLS));
    cJSON_AddNumberToObject(o, "ser_ideal_db", jnum(ev->ser_ideal));
    cJSON_AddItemToObject(o, "ser_ideal_columns_db", num_array(ev->col_ideal, FG_COLS));
    cJSON_AddNumberToObject(o, "ser_pairs_db", jnum(ev->pairs));
    cJSON_AddNumberToObject(o, "ser_pairs_ideal_db", jnum(ev->pairs_ideal));
    cJSON_AddNumberToObject(o, "rel_rms", jnum(ev->rel_rms));
    cJSON_AddNumberToObject(o, "worst_column", ev->worst);
    cJSON_AddNumberToObject(o, "best_column", ev->best);
    cJSON_AddNumberToObject(o, "programming_exponent", ev->w_exp);
    cJSON_AddNumberToObject(o, "patterns", ev->P);
    cJSON_AddNumberToObject(o, "arrays", ev->arrays);
    cJSON_AddNumberToObject(o, "patterns_skipped", ev->skipped);
    cJSON_AddStringToObject(o, "model", a->model);
    cJSON_AddStringToObject(o, "data", a->data);
    cJSON_AddBoolToObject(o, "corner_nominal", ev->nominal);
    return o;
}

/* Builds the whole text first, so that an error prints nothing. */
static fg_status print_json(const val_args *a, const val_eval *ev)
{
    cJSON *o = json_report(a, ev);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    printf("%s\n", s);
    cJSON_free(s);
    return FG_OK;
}

/* ---- plots (gnuplot, staged in DIR and renamed: plots.h) -------------------- */
static fg_status write_plot_data(const plot_stage *ps, const val_eval *ev)
{
    FILE *f;
    fg_status st = plot_stage_fopen(ps, "validate_outputs.dat", &f);
    if (st)
        return st;
    fprintf(f, "# spice_y model_y ideal_y column\n");
    for (int k = 0; k < ev->P * FG_COLS; k++)
        fprintf(f, "%.9g %.9g %.9g %d\n", ev->y[k], ev->yhat[k], ev->yideal[k],
                k % FG_COLS);
    if ((st = plot_stage_fclose(ps, "validate_outputs.dat", f)) ||
        (st = plot_stage_fopen(ps, "validate_ser_columns.dat", &f)))
        return st;
    fprintf(f, "# column ser_model_db ser_ideal_db\n");
    for (int j = 0; j < FG_COLS; j++)
        fprintf(f, "%d %.6g %.6g\n", j, jnum(ev->col[j]), jnum(ev->col_ideal[j]));
    return plot_stage_fclose(ps, "validate_ser_columns.dat", f);
}

static const char *gp_script =
    "set terminal pngcairo size 900,700 noenhanced\n"
    "cd '%s'\n"
    "set output 'validate_scatter.png'\n"
    "set title 'validation: predicted vs SPICE'\nset xlabel 'SPICE y'\n"
    "set ylabel 'predicted y'\nset key left top\n"
    "plot x w l lc rgb 'black' t 'y = x',"
    " 'validate_outputs.dat' u 1:3 w p pt 7 ps 0.3 t 'ideal',"
    " '' u 1:2 w p pt 7 ps 0.3 t 'model'\n"
    "set output 'validate_ser_columns.png'\n"
    "set title 'validation SER per bit line'\nset xlabel 'column'\nset ylabel 'SER (dB)'\n"
    "set style data histograms\nset style fill solid 0.8\nset boxwidth 0.9\n"
    "set key outside right top\nset yrange [0:*]\n"
    "plot 'validate_ser_columns.dat' u 2:xtic(1) t 'model', '' u 3 t 'ideal'\n";

static fg_status plot_data(const plot_stage *ps, const void *ev)
{
    return write_plot_data(ps, ev);
}

static fg_status make_plots(const char *dir, const val_eval *ev)
{
    return plot_make(dir, plot_data, ev, gp_script);
}

/* ---- the command ------------------------------------------------------------ */
static fg_status run(const val_args *a)
{
    fit_model m;
    cosim_dataset ds;
    val_eval ev = {0};
    memset(&ds, 0, sizeof ds);
    fg_status st = fit_model_load(&m, a->model);
    if (st == FG_OK)
        st = cosim_dataset_read(a->data, &ds);
    if (st == FG_OK)
        st = check_op(a, &m.op, &ds.op);
    if (st == FG_OK)
        st = check_targets(a->data, ds.w_target);
    if (st == FG_OK)
        st = collect(a->data, &ds, &ev);
    if (st == FG_OK)
        st = evaluate(&ev, &m, &ds);
    if (st == FG_OK && a->plots)
        st = make_plots(a->plots, &ev);
    if (st == FG_OK && a->json)
        st = print_json(a, &ev);
    else if (st == FG_OK)
        print_text(a, &ev);
    eval_free(&ev);
    cosim_dataset_free(&ds);
    return st;
}

int cmd_validate(int argc, char **argv)
{
    val_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    fg_status st = run(&a);
    if (st) {
        fprintf(stderr, "fgcosim validate: %s\n", fg_errmsg());
        return fg_status_exit_code(st);
    }
    return 0;
}
