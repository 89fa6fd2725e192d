/* Tests of the fgcosim subcommands that need no SPICE run: `validate` on
 * synthetic data sets whose outputs a known compact model produced. */
#include "suites.h"
#include "testutil.h"
#include "cosim.h"
#include "model_fit.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define VP 120     /* patterns in a data set           */
#define VSKIP 10   /* every 10th pattern not converged */

/* A folder of its own for one test's files (mkdtemp). */
typedef struct {
    char dir[64], model[96], data[96];
} val_fix;

/* A model with every physics term on, column gains 0.9..1.05 and a
 * programming exponent 0.9; its own cells (m.w) are unlike gain x
 * target^0.9, which validate must not use. */
static void val_model(fit_model *m)
{
    fg_op_point op = fg_op_point_default();
    fg_rng r;
    fg_rng_seed(&r, 31);
    fit_model_init(m, &op);
    m->p.lambda = 0.9;
    for (int i = 0; i < FG_ROWS; i++) {
        m->p.t_edge[i] = 1e-10 * (3 + 3 * fg_rng_uniform(&r));
        m->p.kappa_row[i] = i ? 1e-3 * (0.5 + fg_rng_uniform(&r)) : 0;
        m->p.q_row[i] = i ? 2e-15 * (fg_rng_uniform(&r) - 0.3) : 0;
    }
    for (int j = 0; j < FG_COLS; j++) {
        m->p.kappa_col[j] = 1e-3 * fg_rng_uniform(&r);
        m->p.q_col[j] = 1e-15 * (fg_rng_uniform(&r) - 0.5);
        m->p.v_off[j] = 2e-3 * (fg_rng_uniform(&r) - 0.5);
        m->w_gain[j] = 0.9 + 0.01 * j;
    }
    for (int p = 0; p < FIT_NBETA; p++)
        m->p.beta[p] = 0.02 + 0.01 * fg_rng_uniform(&r);
    for (int p = 0; p < FIT_NBETA2; p++)
        m->p.beta2[p] = 0.004 + 0.004 * fg_rng_uniform(&r);
    m->w_exp = 0.9;
    for (int n = 0; n < FG_CELLS; n++)
        m->w[n] = 0.3;
}

/* Data set of VP patterns on targets (seeded): y = scale x the model's
 * prediction with cells gain x target^exp (as the hwa backend); every VSKIP-th pattern is marked
 * not converged and its outputs are NaN (validate must skip them). */
static void val_data(cosim_dataset *ds, const fit_model *m, double scale)
{
    fg_rng r;
    fg_rng_seed(&r, 5);
    memset(ds, 0, sizeof *ds);
    ds->P = VP;
    ds->inputs = malloc(sizeof(double) * VP * FG_ROWS);
    ds->v_bl = malloc(sizeof(double) * VP * FG_COLS);
    ds->y = malloc(sizeof(double) * VP * FG_COLS);
    ds->ok = malloc(sizeof(int) * VP);
    for (int k = 0; k < VP * FG_ROWS; k++)
        ds->inputs[k] = fg_rng_uniform(&r) < 0.3 ? 0 : fg_rng_uniform(&r);
    double w[FG_CELLS];
    for (int n = 0; n < FG_CELLS; n++) {
        ds->w_target[n] = 0.1 + 0.8 * fg_rng_uniform(&r);
        w[n] = m->w_gain[n % FG_COLS] * pow(ds->w_target[n], m->w_exp);
    }
    ck_assert_int_eq(fit_model_forward(ds->y, ds->inputs, w, m, VP), FG_OK);
    for (int p = 0; p < VP; p++)
        ds->ok[p] = p % VSKIP != VSKIP - 1;
    for (int k = 0; k < VP * FG_COLS; k++) {
        ds->y[k] = ds->ok[k / FG_COLS] ? scale * ds->y[k] : NAN;
        ds->v_bl[k] = fg_op_v_from_y(&m->op, ds->y[k]);
    }
    ds->op = m->op;
    ds->corner = fg_corner_nominal();
    ds->layout_name = strdup("synthetic");
    ds->layout_json = strdup("{}");
    ds->ngspice_version = strdup("none");
}

static void fix_open(val_fix *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/fgcosim-validate-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->model, sizeof f->model, "%s/model.json", f->dir);
    snprintf(f->data, sizeof f->data, "%s/data.h5", f->dir);
}

/* Writes the model and a data set of it (outputs times scale, op point
 * c_bl times cbl, measured at temp_c). */
static void fix_write(const val_fix *f, double scale, double cbl, double temp_c)
{
    fit_model m;
    cosim_dataset ds;
    val_model(&m);
    val_data(&ds, &m, scale);
    ds.op.c_bl *= cbl;
    ds.corner.temp_c = temp_c;
    ck_assert_int_eq(fit_model_save(&m, f->model), FG_OK);
    ck_assert_msg(cosim_dataset_write(f->data, &ds) == FG_OK, "%s", fg_errmsg());
    cosim_dataset_free(&ds);
}

static void fix_close(const val_fix *f)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs validate --json on the fixture, parses its one JSON object. */
static cJSON *validate_json(const val_fix *f, const char *extra)
{
    char args[512], out[8192];
    snprintf(args, sizeof args, "validate --model %s --data %s --json %s", f->model,
             f->data, extra);
    int rc = tu_run_fgcosim_out(args, out, sizeof out);
    ck_assert_msg(rc == 0, "exit %d for %s", rc, args);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(cJSON_IsObject(j), "not one JSON object: %s", out);
    return j;
}

static double jget(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    ck_assert_msg(cJSON_IsNumber(v), "no number '%s'", key);
    return v->valuedouble;
}

/* The 16 per-column SERs of key, each checked by lo <= v <= hi. */
static void check_columns(const cJSON *j, const char *key, double lo, double hi)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, key);
    ck_assert_msg(cJSON_IsArray(a) && cJSON_GetArraySize(a) == FG_COLS, "%s", key);
    for (int c = 0; c < FG_COLS; c++) {
        const cJSON *v = cJSON_GetArrayItem(a, c);
        ck_assert(cJSON_IsNumber(v));
        ck_assert_msg(v->valuedouble >= lo && v->valuedouble <= hi,
                      "%s[%d] = %.9g not in [%g,%g]", key, c, v->valuedouble, lo, hi);
    }
}

/* The ideal model's SER, computed here from the data set. */
static double ideal_ser(const char *path)
{
    cosim_dataset ds;
    ck_assert_int_eq(cosim_dataset_read(path, &ds), FG_OK);
    double *x = malloc(sizeof(double) * VP * FG_ROWS), *y = malloc(sizeof(double) * VP * FG_COLS),
           *yi = malloc(sizeof(double) * VP * FG_COLS);
    int P = 0;
    for (int p = 0; p < ds.P; p++)
        if (ds.ok[p]) {
            memcpy(x + P * FG_ROWS, ds.inputs + p * FG_ROWS, FG_ROWS * sizeof *x);
            memcpy(y + P * FG_COLS, ds.y + p * FG_COLS, FG_COLS * sizeof *y);
            P++;
        }
    fit_ideal_vmm(yi, x, ds.w_target, P);
    double ser = fit_ser_db(y, yi, P * FG_COLS);
    free(x), free(y), free(yi);
    cosim_dataset_free(&ds);
    return ser;
}

/* Outputs the model itself made: SER far above any fit (exact: clamped to
 * 999 in JSON), counted patterns, paths, the ideal model's SER. */
START_TEST(validate_exact)
{
    val_fix f;
    fix_open(&f);
    fix_write(&f, 1.0, 1.0, FG_TEMP_NOMINAL_C);
    cJSON *j = validate_json(&f, "");
    ck_assert_msg(jget(j, "ser_db") > 100, "SER %g dB", jget(j, "ser_db"));
    check_columns(j, "ser_columns_db", 100, 1e9);
    ck_assert_int_eq((int)jget(j, "patterns"), VP - VP / VSKIP);
    ck_assert_int_eq((int)jget(j, "patterns_skipped"), VP / VSKIP);
    double si = ideal_ser(f.data);
    ck_assert_msg(fabs(jget(j, "ser_ideal_db") - si) < 1e-9 * fabs(si) && si < 60,
                  "ideal SER %.9g vs %.9g", jget(j, "ser_ideal_db"), si);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "model")->valuestring, f.model);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "data")->valuestring, f.data);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "corner_nominal")));
    cJSON_Delete(j);
    fix_close(&f);
}
END_TEST

/* y_data = y_model / 0.99: the error is 1 % of the signal everywhere, so
 * SER = 10 log10(1 / 0.01^2) = 40 dB exactly, overall, per column and on
 * the differential pairs (d_data = d_model / 0.99 too). */
START_TEST(validate_known_error)
{
    val_fix f;
    fix_open(&f);
    fix_write(&f, 1 / 0.99, 1.0, FG_TEMP_NOMINAL_C);
    cJSON *j = validate_json(&f, "");
    ck_assert_double_eq_tol(jget(j, "ser_db"), 40.0, 1e-6);
    check_columns(j, "ser_columns_db", 40.0 - 1e-6, 40.0 + 1e-6);
    ck_assert_double_eq_tol(jget(j, "ser_pairs_db"), 40.0, 1e-6);
    ck_assert_double_eq_tol(jget(j, "rel_rms"), 0.01, 1e-9);
    cJSON_Delete(j);
    fix_close(&f);
}
END_TEST

/* A data set of NA programmed arrays (a network's tiles: sparse small
 * targets), PA patterns each, sorted by array, outputs made by the model
 * with cells gain x target^exp of each pattern's own array. */
enum { NA = 3, PA = 150 };
static void val_data_arrays(cosim_dataset *ds, const fit_model *m)
{
    fg_rng r;
    fg_rng_seed(&r, 8);
    val_data(ds, m, 1.0); /* attributes; the patterns are made again */
    free(ds->inputs), free(ds->v_bl), free(ds->y), free(ds->ok);
    int P = ds->P = NA * PA;
    ds->n_arrays = NA;
    ds->inputs = malloc(sizeof(double) * P * FG_ROWS);
    ds->v_bl = malloc(sizeof(double) * P * FG_COLS);
    ds->y = malloc(sizeof(double) * P * FG_COLS);
    ds->ok = malloc(sizeof(int) * P);
    ds->array = malloc(sizeof(int) * P);
    ds->w_targets = malloc(sizeof(double) * NA * FG_CELLS);
    ds->dvts = calloc(NA * FG_CELLS, sizeof(double));
    for (int k = 0; k < NA * FG_CELLS; k++)
        ds->w_targets[k] = fg_rng_uniform(&r) < 0.5 ? 0 : 0.05 + 0.3 * fg_rng_uniform(&r);
    for (int k = 0; k < P * FG_ROWS; k++)
        ds->inputs[k] = fg_rng_uniform(&r) < 0.5 ? 0 : fg_rng_uniform(&r);
    for (int p = 0; p < P; p++) {
        double w[FG_CELLS];
        ds->array[p] = p / PA;
        ds->ok[p] = 1;
        fit_model_tie(m, ds->w_targets + ds->array[p] * FG_CELLS, w);
        ck_assert_int_eq(fit_model_forward(ds->y + p * FG_COLS, ds->inputs + p * FG_ROWS, w,
                                           m, 1), FG_OK);
    }
    for (int k = 0; k < P * FG_COLS; k++)
        ds->v_bl[k] = fg_op_v_from_y(&m->op, ds->y[k]);
    memcpy(ds->w_target, ds->w_targets, sizeof ds->w_target);
}

static void fix_write_arrays(const val_fix *f)
{
    fit_model m;
    cosim_dataset ds;
    val_model(&m);
    val_data_arrays(&ds, &m);
    ck_assert_int_eq(fit_model_save(&m, f->model), FG_OK);
    ck_assert_msg(cosim_dataset_write(f->data, &ds) == FG_OK, "%s", fg_errmsg());
    cosim_dataset_free(&ds);
}

/* Several programmed arrays: validate ties each pattern's cells to its
 * own array (exact), and fit recovers the model from them (tied cells,
 * held out per array) far above the ideal product. */
START_TEST(validate_fit_arrays)
{
    val_fix f;
    fix_open(&f);
    fix_write_arrays(&f);
    cJSON *j = validate_json(&f, "");
    ck_assert_msg(jget(j, "ser_db") > 100, "SER %g dB", jget(j, "ser_db"));
    ck_assert_int_eq((int)jget(j, "arrays"), NA);
    ck_assert_int_eq((int)jget(j, "patterns"), NA * PA);
    cJSON_Delete(j);
    char args[512], out[16384], fitted[128];
    snprintf(fitted, sizeof fitted, "%s/fitted.json", f.dir);
    snprintf(args, sizeof args, "fit --data %s --holdout 0.2 --fit-exp -o %s --json", f.data,
             fitted);
    ck_assert_int_eq(tu_run_fgcosim_out(args, out, sizeof out), 0);
    j = cJSON_Parse(out);
    ck_assert_msg(cJSON_IsObject(j), "%s", out);
    ck_assert_int_eq((int)jget(j, "arrays"), NA);
    ck_assert_int_eq((int)jget(j, "n_holdout"), NA * (PA / 5));
    ck_assert_msg(jget(j, "ser_fitted_db") > 60 && jget(j, "ser_ideal_db") < 40,
                  "fitted %g dB, ideal %g dB", jget(j, "ser_fitted_db"), jget(j, "ser_ideal_db"));
    cJSON_Delete(j);
    fit_model m;
    ck_assert_int_eq(fit_model_load(&m, fitted), FG_OK);
    ck_assert_double_eq_tol(m.w_exp, 0.9, 1e-4);
    snprintf(args, sizeof args, "fit --data %s --cells free -o %s", f.data, fitted);
    ck_assert_int_eq(tu_run_fgcosim_out(args, out, sizeof out), 2);
    fix_close(&f);
}
END_TEST

/* 1 if dir holds a non-empty file name. */
static int has_file(const char *dir, const char *name)
{
    char path[256];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* Entries of dir besides . and ..; -1 if there is no such folder. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* --plots: both PNGs and their data, no staging folder left; without
 * gnuplot: exit 2 and no folder at all. */
START_TEST(validate_plots)
{
    val_fix f;
    fix_open(&f);
    fix_write(&f, 1 / 0.99, 1.0, FG_TEMP_NOMINAL_C);
    char plots[128], extra[160], cmd[768];
    snprintf(plots, sizeof plots, "%s/plots", f.dir);
    snprintf(extra, sizeof extra, "--plots %s", plots);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        cJSON_Delete(validate_json(&f, extra));
        ck_assert(has_file(plots, "validate_scatter.png"));
        ck_assert(has_file(plots, "validate_ser_columns.png"));
        ck_assert(has_file(plots, "validate_outputs.dat"));
        ck_assert(has_file(plots, "validate_ser_columns.dat"));
        ck_assert_int_eq(entries(plots), 4);
    } else
        fprintf(stderr, "apps:validate: no gnuplot; checking the failure only\n");
    snprintf(plots, sizeof plots, "%s/plots2", f.dir);
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent %s/apps/fgcosim validate --model %s "
             "--data %s --json --plots %s >/dev/null 2>&1", FG_BUILD_DIR, f.model,
             f.data, plots);
    int rc = system(cmd);
    ck_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
    ck_assert_int_eq(entries(plots), -1);
    fix_close(&f);
}
END_TEST

/* Expects exit 2, nothing on stdout, one line on stderr holding want. */
static void expect_refused(const char *args, const char *want, const char *want2)
{
    char out[1024], line[1024];
    ck_assert_msg(tu_run_fgcosim_out(args, out, sizeof out) == 2, "exit status: %s", args);
    ck_assert_msg(out[0] == 0, "stdout: %s", out);
    ck_assert_msg(tu_err_lines(line, sizeof line) == 1, "not one line: %s", line);
    ck_assert_msg(strstr(line, want) && (!want2 || strstr(line, want2)), "%s", line);
}

/* Another op point: refused, naming the data file and the field; no
 * plots written. 1e-12 relative is the same op point; a data set measured
 * at another corner (80 C) of the same nominal op point is accepted. */
START_TEST(validate_op_mismatch)
{
    val_fix f;
    fix_open(&f);
    fix_write(&f, 1.0, 1.001, FG_TEMP_NOMINAL_C);
    char plots[128], args[512];
    snprintf(plots, sizeof plots, "%s/plots", f.dir);
    snprintf(args, sizeof args, "validate --model %s --data %s --json --plots %s",
             f.model, f.data, plots);
    expect_refused(args, f.data, "c_bl");
    ck_assert_int_eq(entries(plots), -1);
    fix_write(&f, 1.0, 1 + 1e-12, FG_TEMP_NOMINAL_C);
    cJSON_Delete(validate_json(&f, ""));
    /* another corner of the same nominal op point: measured, flagged */
    fix_write(&f, 1.0, 1.0, 80.0);
    cJSON *j = validate_json(&f, "");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "corner_nominal")));
    cJSON_Delete(j);
    fix_close(&f);
}
END_TEST

/* Missing or malformed files and options: one line, exit 2. */
START_TEST(validate_bad_input)
{
    val_fix f;
    fix_open(&f);
    fix_write(&f, 1.0, 1.0, FG_TEMP_NOMINAL_C);
    char args[512];
    snprintf(args, sizeof args, "validate --model %s/nosuch.json --data %s", f.dir, f.data);
    expect_refused(args, "nosuch.json", NULL);
    snprintf(args, sizeof args, "validate --model %s --data %s/nosuch.h5 --json", f.model, f.dir);
    expect_refused(args, "nosuch.h5", NULL);
    snprintf(args, sizeof args, "validate --model %s --data %s", f.data, f.data);
    expect_refused(args, f.data, NULL); /* HDF5 where JSON belongs */
    snprintf(args, sizeof args, "validate --model %s --data %s", f.model, f.model);
    expect_refused(args, f.model, NULL);
    snprintf(args, sizeof args, "validate --model %s --json", f.model);
    expect_refused(args, "--data", NULL);
    snprintf(args, sizeof args, "validate --data %s", f.data);
    expect_refused(args, "--model", NULL);
    snprintf(args, sizeof args, "validate --model %s --data %s --bogus", f.model, f.data);
    expect_refused(args, "--bogus", NULL);
    snprintf(args, sizeof args, "validate --model %s --data", f.model);
    expect_refused(args, "--data", NULL);
    fix_close(&f);
}
END_TEST

/* The text report: overall, ideal, worst and best column, patterns. */
START_TEST(validate_text)
{
    val_fix f;
    fix_open(&f);
    fix_write(&f, 1 / 0.99, 1.0, FG_TEMP_NOMINAL_C);
    char args[512], out[8192];
    snprintf(args, sizeof args, "validate --model %s --data %s", f.model, f.data);
    ck_assert_int_eq(tu_run_fgcosim_out(args, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "108 patterns") && strstr(out, "nominal corner") && strstr(out, "SER 40.00 dB") &&
                  strstr(out, "ideal model") && strstr(out, "worst column BL") &&
                  strstr(out, "best column BL"), "%s", out);
    fix_close(&f);
}
END_TEST

/* ---- recalibrate (runs SPICE) ------------------------------------------------ */
/* At 80 C the cells carry more current: the controller shortens T_max, and
 * the refit from an ideal nominal model (its exponent started at 300/353 K)
 * predicts the corner's held-out patterns far better than the nominal
 * model; the model file keeps the nominal op point and records the trim. */
START_TEST(recalibrate_hot)
{
    val_fix f;
    fix_open(&f);
    fit_model m;
    fg_op_point op = fg_op_point_default(); /* the regular layout's */
    fit_model_init(&m, &op);
    ck_assert_int_eq(fit_model_save(&m, f.model), FG_OK);
    char args[512], out[8192], model80[128];
    snprintf(model80, sizeof model80, "%s/m80.json", f.dir);
    snprintf(args, sizeof args, "recalibrate --model %s --layout regular --temp 80 "
             "--patterns 60 --jobs 2 -o %s --json", f.model, model80);
    int rc = tu_run_fgcosim_out(args, out, sizeof out);
    ck_assert_msg(rc == 0, "exit %d", rc);
    cJSON *j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    double trim = jget(j, "t_max_trim"), sn = jget(j, "ser_nominal_db");
    double sr = jget(j, "ser_recal_db"), e = jget(j, "w_exp");
    fprintf(stderr, "apps:recalibrate 80 C from an ideal model: trim %.2f, SER %.1f -> "
            "%.1f dB, exponent %.3f\n", trim, sn, sr, e);
    ck_assert_msg(trim > 0.3 && trim < 0.85, "trim %.2f", trim);
    ck_assert_msg(sr > sn + 6 && sr > 25, "SER nominal %.1f, recal %.1f", sn, sr);
    ck_assert_msg(e > 0.6 && e < 0.95, "exponent %.3f", e);
    ck_assert_double_eq_tol(jget(j, "t_max_s"), trim * op.t_max, 1e-15);
    cJSON_Delete(j);
    fit_model r;
    ck_assert_int_eq(fit_model_load(&r, model80), FG_OK);
    ck_assert_double_eq(r.op.t_max, op.t_max);
    ck_assert_double_eq_tol(r.w_exp, e, 1e-9);
    fix_close(&f);
}
END_TEST

/* No nominal model, a model of another op point, a corner out of range:
 * one line, exit 2, no output file. */
START_TEST(recalibrate_bad_input)
{
    val_fix f;
    fix_open(&f);
    fit_model m;
    fg_op_point op = fg_op_point_default();
    op.c_bl *= 2;
    fit_model_init(&m, &op);
    ck_assert_int_eq(fit_model_save(&m, f.model), FG_OK);
    char args[512], line[512], outp[128];
    snprintf(outp, sizeof outp, "%s/out.json", f.dir);
    snprintf(args, sizeof args, "recalibrate --layout regular --temp 80 -o %s", outp);
    ck_assert_int_eq(tu_run_fgcosim(args), 2);
    ck_assert_int_eq(tu_err_lines(line, sizeof line), 1);
    ck_assert_ptr_nonnull(strstr(line, "--model"));
    snprintf(args, sizeof args, "recalibrate --model %s --layout regular --temp 80 -o %s",
             f.model, outp);
    ck_assert_int_eq(tu_run_fgcosim(args), 2);
    ck_assert_int_eq(tu_err_lines(line, sizeof line), 1);
    ck_assert_ptr_nonnull(strstr(line, "op_point.c_bl"));
    snprintf(args, sizeof args, "recalibrate --model %s --temp 151 -o %s", f.model, outp);
    ck_assert_int_eq(tu_run_fgcosim(args), 2);
    ck_assert_int_eq(tu_err_lines(line, sizeof line), 1);
    ck_assert_ptr_nonnull(strstr(line, "--temp 151 is outside the allowed range"));
    ck_assert_int_eq(access(outp, F_OK), -1);
    snprintf(args, sizeof args, "corners --ckpt %s --ckpt %s --model %s --temp 27,200 "
             "-o %s/c", f.model, f.model, f.model, f.dir);
    ck_assert_int_eq(tu_run_fgcosim(args), 2);
    ck_assert_int_eq(tu_err_lines(line, sizeof line), 1);
    ck_assert_ptr_nonnull(strstr(line, "--temp 200 is outside the allowed range"));
    snprintf(outp, sizeof outp, "%s/c", f.dir);
    ck_assert_int_eq(access(outp, F_OK), -1);
    fix_close(&f);
}
END_TEST

/* ---- sweep ---------------------------------------------------------------------- */
#define SWEEP_FIX "--net mlp --data mnist:" FG_FIXTURES "/nn_mnist --epochs 1 --batch 8 --no-plots "

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s missing", path);
    char *t = calloc(1, 1 << 16);
    size_t n = fread(t, 1, (1 << 16) - 1, f);
    fclose(f);
    t[n] = 0;
    return t;
}

/* Four configurations: one row each, in a file that a re-run completes
 * after an interruption (two rows gone, the next cut mid-line) with the
 * same rows, byte for byte; a re-run with another grid or other settings
 * is refused with one line and changes nothing. */
START_TEST(sweep_resume)
{
    val_fix f;
    fix_open(&f);
    char args[1024], csv[128], line[512];
    snprintf(csv, sizeof csv, "%s/s/sweep.csv", f.dir);
    snprintf(args, sizeof args, "sweep " SWEEP_FIX "--grid read_noise=0,0.5 "
             "--grid prog_bits=2:3:1 --parallel 2 -o %s/s", f.dir);
    ck_assert_int_eq(tu_run_fgcosim(args), 0);
    char *full = slurp(csv);
    ck_assert_ptr_nonnull(strstr(full, "read_noise,prog_bits,test_accuracy,final_loss,"
                                       "diverged,seconds,error\n"));
    int nl = 0;
    for (char *c = full; *c; c++)
        nl += *c == '\n';
    ck_assert_int_eq(nl, 5);
    /* keep the header and one row, then half of the next */
    char *cut = strchr(strchr(full, '\n') + 1, '\n') + 1;
    FILE *o = fopen(csv, "w");
    fwrite(full, 1, (size_t)(cut - full) + 5, o);
    fclose(o);
    ck_assert_int_eq(tu_run_fgcosim(args), 0);
    char *again = slurp(csv);
    /* same rows (seconds aside): compare the configuration and result columns */
    for (const char *key = "0,2,"; key; key = strcmp(key, "0,2,") ? NULL : "0.5,3,") {
        char a[2][64], b[2][64];
        const char *p = strstr(full, key), *q = strstr(again, key);
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(q);
        ck_assert_int_eq(sscanf(p, "%63[^,],%*[^,],%63[^,]", a[0], a[1]), 2);
        ck_assert_int_eq(sscanf(q, "%63[^,],%*[^,],%63[^,]", b[0], b[1]), 2);
        ck_assert_str_eq(a[1], b[1]); /* the test accuracy */
    }
    ck_assert_int_eq(again[strlen(again) - 1], '\n'); /* whole lines */
    nl = 0;
    for (char *c = again, *start = again; *c; c++) {
        if (*c != '\n')
            continue;
        int commas = 0; /* 2 axes, 4 results, the error: 6 commas a line */
        for (char *d = start; d < c; d++)
            commas += *d == ',';
        ck_assert_msg(commas == 6, "line %d has %d commas", nl + 1, commas);
        nl++, start = c + 1;
    }
    ck_assert_int_eq(nl, 5);
    snprintf(args, sizeof args, "sweep " SWEEP_FIX "--grid read_noise=0,0.7 "
             "--grid prog_bits=2:3:1 -o %s/s", f.dir);
    ck_assert_int_eq(tu_run_fgcosim(args), 2);
    ck_assert_int_eq(tu_err_lines(line, sizeof line), 1);
    ck_assert_ptr_nonnull(strstr(line, "sweep.json"));
    snprintf(args, sizeof args, "sweep " SWEEP_FIX "--lr 0.5 --grid read_noise=0,0.5 "
             "--grid prog_bits=2:3:1 -o %s/s", f.dir);
    ck_assert_int_eq(tu_run_fgcosim(args), 2);
    ck_assert_int_eq(tu_err_lines(line, sizeof line), 1);
    ck_assert_ptr_nonnull(strstr(line, "lr"));
    char *after = slurp(csv);
    ck_assert_str_eq(after, again);
    free(full), free(again), free(after);
    fix_close(&f);
}
END_TEST

/* Bad grids and perturbations: one line naming the option, exit 2, no DIR. */
START_TEST(sweep_bad_input)
{
    val_fix f;
    fix_open(&f);
    static const char *const bad[][2] = {
        {"--grid read_noise=0:x:0.2", "not LO:HI:STEP"},
        {"--grid read_noise=1:0:0.2", "HI >= LO"},
        {"--grid prog_bits=0,3", "1..16"},
        {"--grid stuck_off=0.5,1.5", "stuck_off = 1.5"},
        {"--grid colour=1,2", "unknown perturbation 'colour'"},
        {"--grid read_noise=-1,1", "read_noise = -1"},
        {"--grid read_noise=0,1 --perturb adc_bits=17", "1..16"},
        {"--grid read_noise=0,1 --perturb ir_scale=2", "needs --backend hwa"},
    };
    char args[512], line[512], dir[128];
    snprintf(dir, sizeof dir, "%s/s", f.dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "sweep " SWEEP_FIX "%s -o %s", bad[i][0], dir);
        ck_assert_int_eq(tu_run_fgcosim(args), 2);
        ck_assert_int_eq(tu_err_lines(line, sizeof line), 1);
        ck_assert_msg(strstr(line, bad[i][1]), "%s: %s", bad[i][0], line);
        ck_assert_int_eq(access(dir, F_OK), -1);
    }
    fix_close(&f);
}
END_TEST

/* ---- corners (runs SPICE) ----------------------------------------------------- */
static double mtime_of(const char *path)
{
    struct stat st;
    ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    return st.st_mtim.tv_sec + 1e-9 * st.st_mtim.tv_nsec;
}

/* One corner on a tiny network: every column of corners.json filled; a
 * re-run redoes nothing; a changed option redoes only the steps it
 * touches. */
/* Writes n rows of 16 values as CSV. */
static void csv_rows(const char *path, const double *v, int n)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int k = 0; k < n * 16; k++)
        fprintf(f, "%.17g%s", v[k], k % 16 == 15 ? "\n" : ",");
    ck_assert_int_eq(fclose(f), 0);
}

/* diagnose on the ideal backend: every pixel reaches the first layer's
 * trained weights, so the reference's input sensitivity is non-zero
 * everywhere (1 exactly); one row per strength with the input columns;
 * all cells stuck off leave no sensitivity at all (0 for weights and
 * inputs alike). */
START_TEST(diagnose_inputs)
{
    val_fix f;
    fix_open(&f);
    char ck[128], csv[160];
    snprintf(ck, sizeof ck, "%s/m.ckpt", f.dir);
    snprintf(csv, sizeof csv, "%s/d/diagnose.csv", f.dir);
    ck_assert_int_eq(tu_run_fgcosimf("train --net mlp-lowres --data mnist-lowres:" FG_FIXTURES
                                     "/nn_mnist --epochs 1 -o %s --quiet", ck), 0);
    const char *fmt = "diagnose --ckpt %s --classes read_noise --draws 2 --batch 8 "
                      "--hat-epochs 0 --limit-test 20 %s -o %s/d";
    for (int stuck = 0; stuck < 2; stuck++) {
        ck_assert_int_eq(tu_run_fgcosimf(fmt, ck, stuck ? "--perturb stuck_off=1" : "",
                                         f.dir), 0);
        char *text;
        ck_assert_int_eq(fg_file_read(csv, &text, NULL), FG_OK);
        ck_assert_ptr_nonnull(strstr(text, ",sens_in_nonzero,sens_in_nonzero_ref,sens_in_spread,"));
        int rows = 0;
        for (char *l = strchr(text, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
            double v[14];
            char *p = l + 1;
            for (int k = 0; k < 3; k++) /* class, strength, spec */
                p = strchr(p, ',') + 1;
            for (int k = 0; k < 14; k++, p = strchr(p, ',') + 1)
                v[k] = strtod(p, NULL);
            /* v: cos var nz nz_ref spread in_nz in_nz_ref in_spread ... */
            ck_assert_msg(v[6] == (stuck ? 0.0 : 1.0), "input ref %g", v[6]);
            ck_assert_msg(stuck ? v[5] == 0 && v[2] == 0 : v[5] > 0.99, "inputs %g", v[5]);
            rows++;
            if (!strchr(l + 1, '\n'))
                break;
        }
        ck_assert_int_eq(rows, 3);
        free(text);
    }
    fix_close(&f);
}
END_TEST

/* The held-out rule, written out: the last floor(frac n) of the n
 * patterns of each run of one array. */
static int app_held_out_ref(const int *arr, int P, int p, double frac)
{
    int first = p, end = p + 1;
    while (first > 0 && arr[first - 1] == arr[p])
        first--;
    while (end < P && arr[end] == arr[p])
        end++;
    int n = end - first;
    return p >= end - (int)floor(frac * n);
}

/* simulate --ckpt: the network's tiles, each pattern run on its own tile
 * (the patterns of one tile, re-run by `simulate --weights --inputs` on
 * that tile alone, give the same outputs bit for bit); bad combinations
 * and a missing checkpoint: exit 2, no file. */
START_TEST(simulate_ckpt)
{
    val_fix f;
    fix_open(&f);
    char args[1024], ck[128], w[128], x[128], one[128];
    snprintf(ck, sizeof ck, "%s/m.ckpt", f.dir);
    snprintf(w, sizeof w, "%s/w.csv", f.dir);
    snprintf(x, sizeof x, "%s/x.csv", f.dir);
    snprintf(one, sizeof one, "%s/one.h5", f.dir);
    snprintf(args, sizeof args, "train --net mlp-lowres --data mnist-lowres:" FG_FIXTURES
             "/nn_mnist --epochs 1 -o %s --quiet", ck);
    ck_assert_int_eq(tu_run_fgcosim(args), 0);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --ckpt %s --patterns 160 --images 30 "
                                     "--layout regular --jobs 2 -o %s", ck, f.data), 0);
    cosim_dataset ds, d1;
    ck_assert_int_eq(cosim_dataset_read(f.data, &ds), FG_OK);
    ck_assert_msg(ds.n_arrays > 2 && ds.P > 100 && ds.P <= 160, "%d arrays, %d patterns",
                  ds.n_arrays, ds.P);
    int a = ds.array[ds.P - 1], p0 = ds.P - 1; /* the last tile's patterns */
    while (p0 > 0 && ds.array[p0 - 1] == a)
        p0--;
    csv_rows(w, cosim_dataset_w_target(&ds, a), FG_ROWS);
    csv_rows(x, ds.inputs + p0 * FG_ROWS, ds.P - p0);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --weights %s --inputs %s --layout regular "
                                     "--jobs 1 -o %s", w, x, one), 0);
    ck_assert_int_eq(cosim_dataset_read(one, &d1), FG_OK);
    ck_assert_int_eq(d1.P, ds.P - p0);
    for (int k = 0; k < d1.P * FG_COLS; k++)
        ck_assert_double_eq(d1.y[k], ds.y[p0 * FG_COLS + k]);
    cosim_dataset_free(&d1);
    /* recalibrate --ckpt, same seed: the same operations, the last 20 % of
     * each tile's held out, and the refit far above the ideal model */
    int held = 0;
    for (int p = 0; p < ds.P; p++)
        held += app_held_out_ref(ds.array, ds.P, p, 0.2);
    fit_model m;
    fg_op_point op = fg_op_point_default();
    fit_model_init(&m, &op);
    ck_assert_int_eq(fit_model_save(&m, f.model), FG_OK);
    char out[8192], m80[128];
    snprintf(m80, sizeof m80, "%s/m80.json", f.dir);
    snprintf(args, sizeof args, "recalibrate --model %s --layout regular --temp 80 --ckpt %s "
             "--patterns 160 --images 30 --seed 1 --jobs 2 -o %s --json", f.model, ck, m80);
    char line[512] = "";
    int rc = tu_run_fgcosim_out(args, out, sizeof out);
    tu_err_lines(line, sizeof line);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, line);
    cJSON *j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq((int)jget(j, "arrays"), ds.n_arrays);
    ck_assert_int_eq((int)jget(j, "held_out_patterns"), held);
    ck_assert_int_eq((int)jget(j, "fit_patterns"), ds.P - held);
    ck_assert_msg(jget(j, "ser_recal_db") > jget(j, "ser_nominal_db") + 6, "SER %g -> %g dB",
                  jget(j, "ser_nominal_db"), jget(j, "ser_recal_db"));
    cJSON_Delete(j);
    cosim_dataset_free(&ds);
    unlink(f.data);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --ckpt %s --inputs %s -o %s", ck, x, f.data), 2);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --ckpt %s/none.ckpt -o %s", f.dir, f.data), 2);
    ck_assert_int_eq(access(f.data, F_OK), -1);
    fix_close(&f);
}
END_TEST

START_TEST(corners_resume)
{
    val_fix f;
    fix_open(&f);
    fit_model m;
    fg_op_point op = fg_op_point_default();
    fit_model_init(&m, &op);
    ck_assert_int_eq(fit_model_save(&m, f.model), FG_OK);
    char args[1024], ck[128], json[160], step[160], recal[160];
    snprintf(ck, sizeof ck, "%s/m.ckpt", f.dir);
    snprintf(args, sizeof args, "train --net mlp-lowres --data mnist-lowres:" FG_FIXTURES
             "/nn_mnist --epochs 1 -o %s --quiet", ck);
    ck_assert_int_eq(tu_run_fgcosim(args), 0);
    const char *fmt = "corners --ckpt %s --ckpt %s --model %s --layout regular --temp 80 "
                      "--supply 1 --drift-time 0 --spice-images %d --recal-images 2 "
                      "--recal-patterns 40 --finetune-epochs 1 --data mnist-lowres:"
                      FG_FIXTURES "/nn_mnist --jobs 2 -o %s/c";
    snprintf(args, sizeof args, fmt, ck, ck, f.model, 2, f.dir);
    ck_assert_int_eq(tu_run_fgcosim(args), 0);
    snprintf(json, sizeof json, "%s/c/corners.json", f.dir);
    snprintf(step, sizeof step, "%s/c/T80_S1_D0/hwa_as_is.json", f.dir);
    snprintf(recal, sizeof recal, "%s/c/T80_S1_D0/recalibrate.json", f.dir);
    char *text;
    ck_assert_int_eq(fg_file_read(json, &text, NULL), FG_OK);
    cJSON *list = cJSON_Parse(text);
    free(text);
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    const cJSON *r = cJSON_GetArrayItem(list, 0);
    ck_assert_double_eq(jget(r, "temp_c"), 80);
    ck_assert_double_eq(jget(r, "spice_images"), 2);
    ck_assert_double_eq(jget(r, "recal_patterns"), 40);
    ck_assert(jget(r, "t_max_s") > 0 && jget(r, "t_max_s") < op.t_max);
    static const char *acc[] = {"digital", "ideal_as_is", "hwa_as_is", "hwa_recal",
                                "hwa_reprogram", "ideal_on_recal_model"};
    for (int k = 0; k < 6; k++) {
        double v = jget(r, acc[k]);
        ck_assert_msg(v >= 0 && v <= 1, "%s = %g", acc[k], v);
    }
    ck_assert(isfinite(jget(r, "ser_nominal_db")) && isfinite(jget(r, "ser_recal_db")));
    cJSON_Delete(list);
    double t_step = mtime_of(step), t_recal = mtime_of(recal);
    ck_assert_int_eq(tu_run_fgcosim(args), 0); /* resumes: nothing to redo */
    ck_assert_double_eq(mtime_of(step), t_step);
    ck_assert_double_eq(mtime_of(recal), t_recal);
    snprintf(args, sizeof args, fmt, ck, ck, f.model, 3, f.dir);
    ck_assert_int_eq(tu_run_fgcosim(args), 0); /* 3 images: the evaluations again */
    ck_assert(mtime_of(step) > t_step);
    ck_assert_double_eq(mtime_of(recal), t_recal);
    /* a recalibration run again makes the steps that read its model stale */
    char tuned[160];
    snprintf(tuned, sizeof tuned, "%s/c/T80_S1_D0/finetune.json", f.dir);
    double t_tuned = mtime_of(tuned);
    unlink(recal);
    ck_assert_int_eq(tu_run_fgcosim(args), 0);
    ck_assert(mtime_of(tuned) > t_tuned);
    fix_close(&f);
}
END_TEST

/* fgcosim tmodel: three nodes (val_model at -20, 27 and 80 C with their
 * own T_max trims) joined, read at 50 C as the library reads it; bad
 * input exits 2 with one line and writes nothing; train --tmodel draws
 * the array's temperature per batch over the model's range. */
START_TEST(tmodel_cli)
{
    char node[3][256], tpath[256], mpath[256], ck[256], args[2048], out[4096], line[512];
    const double temps[3] = {-20, 27, 80}, trims[3] = {2.8, 1.0, 0.45};
    fit_model nodes[3];
    for (int k = 0; k < 3; k++) {
        val_model(&nodes[k]);
        nodes[k].corner.temp_c = temps[k];
        nodes[k].corner.t_max_trim = trims[k];
        nodes[k].w_exp = 1.0 - 0.003 * (temps[k] - 27);
        snprintf(line, sizeof line, "node%d.json", k);
        ck_assert_int_eq(fit_model_save(&nodes[k], tu_tmp(node[k], sizeof node[k], line)),
                         FG_OK);
    }
    tu_tmp(tpath, sizeof tpath, "tmodel.json");
    tu_tmp(mpath, sizeof mpath, "at50.json");
    tu_tmp(ck, sizeof ck, "tmodel.ckpt");
    ck_assert_int_eq(tu_run_fgcosimf("tmodel --node %s --node %s --node %s -o %s", node[2],
                                     node[0], node[1], tpath), 0);
    snprintf(args, sizeof args, "tmodel --tmodel %s --at 50 -o %s --json", tpath, mpath);
    ck_assert_int_eq(tu_run_fgcosim_out(args, out, sizeof out), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(cJSON_IsObject(j), "not one JSON object: %s", out);
    fit_tmodel t;
    fit_model m, mf;
    ck_assert_int_eq(fit_tmodel_init(&t, nodes, 3), FG_OK);
    ck_assert_int_eq(fit_tmodel_at(&t, 50, &m), FG_OK);
    ck_assert_double_eq_tol(jget(j, "t_max_trim"), m.corner.t_max_trim, 1e-12);
    ck_assert(m.corner.t_max_trim < 1 && m.corner.t_max_trim > 0.45);
    ck_assert(jget(j, "temp_c") == 50);
    cJSON_Delete(j);
    ck_assert_int_eq(fit_model_load(&mf, mpath), FG_OK);
    ck_assert_double_eq_tol(mf.w_exp, m.w_exp, 1e-12);
    unlink(mpath);
    /* bad input: one line, exit 2, no output */
    const char *bad[] = {"--at 90", "--at abc", "", "--at 50 --node x.json"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ck_assert_int_eq(tu_run_fgcosimf("tmodel --tmodel %s %s -o %s", tpath, bad[k],
                                         mpath), 2);
        ck_assert_int_eq(tu_err_lines(line, sizeof line), 1);
        ck_assert_int_ne(access(mpath, F_OK), 0);
    }
    ck_assert_int_eq(tu_run_fgcosimf("tmodel --tmodel %s --at 90 -o %s", tpath, mpath), 2);
    tu_err_lines(line, sizeof line);
    ck_assert_msg(strstr(line, "--at") && strstr(line, "-20..80"), "%s", line);
    ck_assert_int_eq(tu_run_fgcosimf("tmodel --node %s -o %s", node[0], mpath), 2);
    ck_assert_int_eq(tu_run_fgcosimf("tmodel --tmodel %s --at 10 -o %s", node[0], mpath), 2);
    /* train through the array at a temperature drawn per batch */
    ck_assert_int_eq(fit_model_save(&nodes[1], mpath), FG_OK);
    const char *tr = "train --net mlp-lowres --data mnist-lowres:" FG_FIXTURES "/nn_mnist "
                     "--epochs 1 --batch 8 --backend hwa --quiet";
    snprintf(args, sizeof args, "%s --model %s --tmodel %s -o %s --json", tr, mpath, tpath, ck);
    ck_assert_int_eq(tu_run_fgcosim_out(args, out, sizeof out), 0);
    j = cJSON_Parse(out);
    ck_assert_msg(cJSON_IsObject(j), "not one JSON object: %s", out);
    ck_assert(jget(j, "temp_lo_c") == -20);
    ck_assert(jget(j, "temp_hi_c") == 80);
    cJSON_Delete(j);
    unlink(ck);
    ck_assert_int_eq(tu_run_fgcosimf("%s --model %s --tmodel %s --temp-range 0:90 -o %s", tr,
                                     mpath, tpath, ck), 2);
    ck_assert_int_eq(tu_run_fgcosimf("%s --model %s --temp-range 0:50 -o %s", tr, mpath, ck),
                     2);
    /* the sampler needs a fitted model of its own: not spice, not a bare spec */
    ck_assert_int_eq(tu_run_fgcosimf("train --net mlp-lowres --data mnist-lowres:" FG_FIXTURES
                                     "/nn_mnist --epochs 1 --backend spice --layout coupled "
                                     "--tmodel %s -o %s", tpath, ck), 2);
    tu_err_lines(line, sizeof line);
    ck_assert_msg(strstr(line, "--tmodel needs --backend hwa --model"), "%s", line);
    ck_assert_int_eq(tu_run_fgcosimf("train --net mlp-lowres --data mnist-lowres:" FG_FIXTURES
                                     "/nn_mnist --epochs 1 --backend hwa:%s --tmodel %s -o %s",
                                     mpath, tpath, ck), 2);
    ck_assert_int_ne(access(ck, F_OK), 0);
    for (int k = 0; k < 3; k++)
        unlink(node[k]);
    unlink(tpath), unlink(mpath);
}
END_TEST

/* --grad linear trains through a backend without a backward: the SPICE
 * array itself (the exact gradient refuses it); a bad --grad: exit 2,
 * one line naming the option, no checkpoint. */
START_TEST(train_grad_linear_spice)
{
    val_fix f;
    fix_open(&f);
    char ck[128], args[512], out[4096], line[512];
    snprintf(ck, sizeof ck, "%s/s.ckpt", f.dir);
    const char *tr = "train --net mlp-lowres --data mnist-lowres:" FG_FIXTURES "/nn_mnist "
                     "--epochs 1 --batch 8 --limit-train 8 --limit-test 8 --backend spice "
                     "--layout regular --quiet";
    ck_assert_int_eq(tu_run_fgcosimf("%s --grad exact -o %s", tr, ck), 1);
    tu_err_lines(line, sizeof line);
    ck_assert_msg(strstr(line, "has no gradient"), "%s", line);
    ck_assert_int_ne(access(ck, F_OK), 0);
    ck_assert_int_eq(tu_run_fgcosimf("%s --grad slope -o %s", tr, ck), 2);
    ck_assert_int_eq(tu_err_lines(line, sizeof line), 1);
    ck_assert_msg(strstr(line, "--grad") && strstr(line, "slope"), "%s", line);
    ck_assert_int_ne(access(ck, F_OK), 0);
    snprintf(args, sizeof args, "%s --grad linear -o %s --json", tr, ck);
    ck_assert_int_eq(tu_run_fgcosim_out(args, out, sizeof out), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(cJSON_IsObject(j), "not one JSON object: %s", out);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "grad")->valuestring, "linear");
    ck_assert(isfinite(jget(j, "train_loss")));
    cJSON_Delete(j);
    ck_assert_int_eq(access(ck, F_OK), 0);
    fix_close(&f);
}
END_TEST

Suite *apps_suite(void)
{
    Suite *s = suite_create("apps");
    TCase *tc = tcase_create("apps:validate");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, validate_exact);
    tcase_add_test(tc, validate_known_error);
    tcase_add_test(tc, validate_plots);
    tcase_add_test(tc, validate_op_mismatch);
    tcase_add_test(tc, tmodel_cli);
    tcase_add_test(tc, validate_bad_input);
    tcase_add_test(tc, validate_text);
    tcase_add_test(tc, validate_fit_arrays);
    suite_add_tcase(s, tc);
    tc = tcase_create("apps:recalibrate");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, recalibrate_hot);
    tcase_add_test(tc, recalibrate_bad_input);
    tcase_add_test(tc, corners_resume);
    suite_add_tcase(s, tc);
    tc = tcase_create("apps:tiles");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, simulate_ckpt);
    tcase_add_test(tc, diagnose_inputs);
    tcase_add_test(tc, train_grad_linear_spice);
    suite_add_tcase(s, tc);

    tc = tcase_create("apps:sweep");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sweep_resume);
    tcase_add_test(tc, sweep_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
