/* fgcosim recalibrate: what a chip controller can do at an operating
 * corner with what the chip shows. Steps, all on the SPICE "chip":
 *   1. trim: the pulse time base T_max, chosen from a few probe patterns
 *      so that the outputs swing as far as the nominal model predicts;
 *   2. calibration: N patterns on a calibration array (programmed like
 *      the network's tiles, at the nominal point), at the corner and trim,
 *      or (--ckpt) N of the network's own tile operations on its tiles;
 *   3. refit, started from the nominal model: tied cells with their
 *      programming exponent (started at T0/T from the temperature sensor),
 *      column gains and the physics.
 * The fit reads inputs, outputs, the programmed targets, the nominal
 * operating point and the corner's temperature, never a dVT. */
#include "cmds.h"
#include "app_common.h"
#include "cosim.h"
#include "model_fit.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD "recalibrate"
#define PROBES 4        /* probe patterns per trim step            */
#define TRIM_STEPS 4    /* at most; stops within TRIM_TOL          */
#define TRIM_TOL 0.02   /* relative swing error accepted           */
#define TRIM_QUANT 0.01 /* trim resolution: 1 % of T_max (1 ns)    */

typedef struct {
    app_array_opts arr;
    const char *model, *out, *ckpt;
    int patterns, jobs, json, trim, images;
    uint64_t seed;
    double holdout;
} recal_opts;

typedef struct {
    fit_model nominal, m;
    double trim, gain, spice_s, fit_s, ser_nominal, ser_recal;
    int probe_vmm, fit_patterns, held_patterns, iterations, arrays;
} recal_result;

/* Calibration measurements: P patterns on A programmed arrays. */
typedef struct {
    int P, A;
    double *x, *y;      /* (P,16) */
    int *arr;           /* (P) array of each pattern; NULL when A = 1 */
    const double *tgt;  /* (A,16,16) programmed targets */
    const double *dvt;  /* (A,16,16) their shifts */
    cosim_dataset tiles; /* holds x, y, arr and the targets of a whole
                            calibration (--ckpt: the network's tiles)  */
    int part;           /* a part of one (calib_split): x, y, arr its own */
} calib;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fgcosim recalibrate --model MODEL.json [--layout NAME|FILE]\n"
        "         [--array-netlist FILE] [--weights-seed S] [corner options]\n"
        "         [--patterns N] [--seed S] [--holdout F] [--no-trim] [--jobs J]\n"
        "         [--ckpt NET.ckpt [--images N]] -o MODEL_CORNER.json [--json]\n"
        "At the corner: trims T_max (0.05..4) from %d probe patterns per step\n"
        "(so that the outputs swing as the nominal model predicts; a digital\n"
        "output gain makes up what T_max cannot), runs N calibration\n"
        "patterns (default 300, the last --holdout 0.2 held out) on a calibration\n"
        "array (weights seed, default 1) and refits the model from MODEL.json:\n"
        "column gains, the programming exponent (started at T0/T from the\n"
        "temperature) and the physics. --ckpt: the calibration is N of the\n"
        "network's own tile operations (its first --images training images,\n"
        "default 1000) on its tiles, the last --holdout of each tile's held out.\n"
        "The output model keeps the nominal\n"
        "operating point (so networks trained for it still load) and records\n"
        "the corner and trims; deploy with the same corner options,\n"
        "--t-max-trim and --out-gain.\n" APP_CORNER_HELP, PROBES);
}

static int parse(int argc, char **argv, recal_opts *o)
{
    static const struct option lo[] = {
        APP_ARRAY_LONGOPTS,
        {"model", required_argument, 0, 'm'},
        {"patterns", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},
        {"holdout", required_argument, 0, 'H'},
        {"no-trim", no_argument, 0, 'T'},
        {"ckpt", required_argument, 0, 'c'},
        {"images", required_argument, 0, 'I'},
        {"jobs", required_argument, 0, 'j'},
        {"json", no_argument, 0, 'J'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    *o = (recal_opts){.patterns = 300, .seed = 7, .holdout = 0.2, .trim = 1, .images = 1000};
    app_array_opts_init(&o->arr, CMD);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        if (app_array_opt(&o->arr, c, optarg))
            continue;
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'n': if (app_parse_int(CMD, "--patterns", optarg, 40, 1000000, &o->patterns)) return 2; break;
        case 's': if (app_parse_u64(CMD, "--seed", optarg, &o->seed)) return 2; break;
        case 'H': if (app_parse_double(CMD, "--holdout", optarg, 0.05, 0.5, &o->holdout)) return 2; break;
        case 'T': o->trim = 0; break;
        case 'c': o->ckpt = optarg; break;
        case 'I': if (app_parse_int(CMD, "--images", optarg, 1, 1000000, &o->images)) return 2; break;
        case 'j': if (app_parse_int(CMD, "--jobs", optarg, 1, 1024, &o->jobs)) return 2; break;
        case 'J': o->json = 1; break;
        case 'o': o->out = optarg; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !o->out || !o->model) {
        fprintf(stderr, "fgcosim %s: %s\n", CMD, optind < argc ? "unexpected argument"
                : !o->model ? "--model MODEL.json (the nominal model, from fgcosim fit) "
                              "is required" : "-o MODEL_CORNER.json is required");
        return 2;
    }
    return o->arr.bad;
}

/* The model must describe this array's nominal operating point. */
static fg_status check_op(const char *model, const fg_op_point *m, const char *array,
                          const fg_op_point *a)
{
    int k = fg_op_point_differs(m, a);
    if (k < 0)
        return FG_OK;
    double mv[FG_OP_NFIELDS], av[FG_OP_NFIELDS];
    fg_op_point_to_vec(m, mv);
    fg_op_point_to_vec(a, av);
    return fg_error(FG_ERR_RANGE, "--model %s: op_point.%s = %g, but array %s has %g: a "
                    "model of another layout or operating point", model,
                    fg_op_field_name[k], mv[k], array, av[k]);
}

/* Runs P patterns at corner c on array a (cal: on its arrays instead);
 * y (P,16) normalised outputs. */
static fg_status chip_run(const recal_opts *o, const app_array *a, const fg_corner *c,
                          const calib *cal, const double *x, int P, double *y, double *secs)
{
    cosim_pool *pool;
    cosim_pool_config cfg = {.layout = a->layout, .array_netlist = o->arr.array_netlist,
                             .op = a->op, .corner = c, .jobs = o->jobs,
                             .reltol = o->arr.reltol, .max_step_scale = o->arr.max_step_scale,
                             .wl_drive = o->arr.wl_drive};
    double *v = malloc((size_t)P * FG_COLS * sizeof *v);
    int *ok = malloc((size_t)P * sizeof *ok);
    double t0 = fg_now();
    fg_status st = v && ok ? cosim_pool_new(&cfg, cal ? cal->dvt : a->dvt, &pool)
                           : fg_error(FG_ERR_NOMEM, "out of memory");
    if (st == FG_OK) {
        fg_progress prog;
        fg_progress_init(&prog, "recalibrate: SPICE", (uint64_t)P);
        st = cosim_pool_run_arrays(pool, x, P, cal ? cal->arr : NULL, cal ? cal->dvt : NULL,
                                   v, ok, NULL, &prog);
        fg_progress_done(&prog, (uint64_t)P);
        for (int p = 0; st == FG_OK && p < P; p++)
            if (!ok[p])
                st = fg_error(FG_ERR_CONVERGE, "pattern %d did not converge at the corner", p);
        for (size_t k = 0; st == FG_OK && k < (size_t)P * FG_COLS; k++)
            y[k] = cosim_pool_y_from_v(pool, v[k]);
        cosim_pool_free(pool);
    }
    *secs += fg_now() - t0;
    free(v);
    free(ok);
    return st;
}

static void probe_patterns(double *x /*(PROBES,16)*/, uint64_t seed)
{
    fg_rng r;
    fg_rng_seed(&r, seed ^ 0x7717ULL);
    for (int i = 0; i < FG_ROWS; i++) {
        x[i] = 1.0;
        x[FG_ROWS + i] = 0.5;
        x[2 * FG_ROWS + i] = fg_rng_uniform(&r);
        x[3 * FG_ROWS + i] = fg_rng_uniform(&r);
    }
}

/* Summed output of the probes at corner c (the trims in it). */
static fg_status probe_swing(const recal_opts *o, const app_array *a, const fg_corner *c,
                             const double *x, recal_result *r, double *sum)
{
    double ym[PROBES * FG_COLS];
    fg_status st = chip_run(o, a, c, NULL, x, PROBES, ym, &r->spice_s);
    r->probe_vmm += PROBES;
    *sum = 0;
    for (int k = 0; k < PROBES * FG_COLS; k++)
        *sum += ym[k];
    if (st == FG_OK && !(*sum > 0))
        st = fg_error(FG_ERR_RANGE, "the probe patterns give no output at this corner");
    return st;
}

/* The trims: T_max from the swing measured on the probes against the
 * nominal model's prediction, by secant steps in log(trim) -> log(swing)
 * (the swing grows sublinearly with T_max: the bit line's own drop
 * compresses it), the first step assuming proportionality; what is left
 * after TRIM_STEPS or at the end of T_max's range, the output gain makes
 * up. */
static fg_status choose_trims(const recal_opts *o, const app_array *a, recal_result *r)
{
    double x[PROBES * FG_ROWS], yp[PROBES * FG_COLS];
    probe_patterns(x, o->seed);
    fit_model_forward_tied(yp, x, PROBES, &r->nominal, a->w, NULL);
    double sp = 0, sm = 0, slope = 1, lr_prev = 0, ls_prev = 0;
    for (int k = 0; k < PROBES * FG_COLS; k++)
        sp += yp[k];
    fg_corner c = o->arr.corner;
    r->trim = c.t_max_trim;
    r->gain = c.out_gain;
    fg_status st = FG_OK;
    int measured = 0; /* sm is that of r->trim */
    for (int step = 0; o->trim && step < TRIM_STEPS && st == FG_OK; step++) {
        c.t_max_trim = r->trim;
        st = probe_swing(o, a, &c, x, r, &sm);
        measured = 1;
        if (st != FG_OK || fabs(sp / sm - 1) < TRIM_TOL)
            break;
        double lr = log(r->trim), ls = log(sm);
        if (step > 0 && fabs(lr - lr_prev) > 1e-9)
            slope = fmin(fmax((ls - ls_prev) / (lr - lr_prev), 0.2), 1.5);
        lr_prev = lr, ls_prev = ls;
        double t = round(exp(lr + (log(sp) - ls) / slope) / TRIM_QUANT) * TRIM_QUANT;
        t = t < 0.05 ? 0.05 : t > 4 ? 4 : t;
        if (t == r->trim)
            break;
        fprintf(stderr, "fgcosim %s: swing %.3f of nominal at trim %.2f -> %.2f\n", CMD,
                sm / sp, r->trim, t);
        r->trim = t;
        measured = 0;
    }
    c.t_max_trim = r->trim;
    if (st == FG_OK && o->trim && !measured)
        st = probe_swing(o, a, &c, x, r, &sm);
    if (st == FG_OK && o->trim && fabs(sp / sm - 1) >= TRIM_TOL) {
        double g = round(r->gain * sp / sm / TRIM_QUANT) * TRIM_QUANT;
        r->gain = g < 0.1 ? 0.1 : g > 20 ? 20 : g;
        fprintf(stderr, "fgcosim %s: swing %.3f of nominal at T_max trim %.2f (%s): "
                "output gain %.2f\n", CMD, sm / sp, r->trim,
                r->trim <= 0.05 || r->trim >= 4 ? "the end of its range" : "last step",
                r->gain);
    }
    return st;
}

static double ser_on(const fit_model *m, const calib *c, const double *x,
                     const double *y, const int *arr, int P)
{
    double *yh = malloc((size_t)P * FG_COLS * sizeof *yh);
    if (!yh || fit_model_forward_tied(yh, x, P, m, c->tgt, arr) != FG_OK) {
        free(yh);
        return NAN;
    }
    double s = fit_ser_db(y, yh, P * FG_COLS);
    free(yh);
    return s;
}

/* Refit from the nominal model on the fit part f: exponent from the
 * temperature reading. */
static fg_status refit(const recal_opts *o, const calib *f, recal_result *r)
{
    const double t0 = FG_TEMP_NOMINAL_C + 273.15, t = o->arr.corner.temp_c + 273.15;
    r->m = r->nominal;
    r->m.w_exp = r->nominal.w_exp * t0 / t;
    fit_model_tie(&r->m, f->tgt, r->m.w);
    fit_options fo;
    fit_options_default(&fo);
    fo.w_target = f->tgt;
    fo.n_arrays = f->A;
    fo.array = f->arr;
    fo.fit_exp = 1;
    fit_report rep;
    r->m.corner = o->arr.corner; /* and the trims, where it was measured */
    r->m.corner.t_max_trim = r->trim;
    r->m.corner.out_gain = r->gain;
    fg_status st = fit_model_fit(&r->m, f->x, f->y, f->P, &fo, &rep);
    r->fit_s = rep.seconds;
    r->iterations = rep.iterations;
    return st;
}

/* The calibration patterns and their arrays: --ckpt, the network's tile
 * operations on its tiles; else N generated patterns on array a. */
static fg_status calib_make(const recal_opts *o, const app_array *a, calib *c)
{
    memset(c, 0, sizeof *c);
    if (o->ckpt) {
        app_tiles_opts t = {.ckpt = o->ckpt, .images = o->images, .ops = o->patterns,
                            .seed = o->seed};
        fg_status st = app_tiles_dataset(&o->arr, a, &t, &c->tiles);
        if (st != FG_OK)
            return st;
        c->P = c->tiles.P, c->A = c->tiles.n_arrays, c->x = c->tiles.inputs;
        c->arr = c->tiles.array;
        c->tgt = cosim_dataset_w_target(&c->tiles, 0);
        c->dvt = c->A > 1 ? c->tiles.dvts : c->tiles.dvt;
    } else {
        c->P = o->patterns, c->A = 1, c->tgt = a->w, c->dvt = a->dvt;
        if (!(c->x = c->tiles.inputs = malloc((size_t)c->P * FG_ROWS * sizeof *c->x)))
            return fg_error(FG_ERR_NOMEM, "out of memory");
        cosim_patterns_generate(c->x, c->P, o->seed);
    }
    c->y = c->tiles.y = malloc((size_t)c->P * FG_COLS * sizeof *c->y);
    return c->y ? FG_OK : fg_error(FG_ERR_NOMEM, "out of memory");
}

/* Splits c into the fit part f and the held-out part h (their own
 * copies; targets shared with c). */
static fg_status calib_split(const calib *c, double frac, calib *f, calib *h)
{
    calib *part[2] = {f, h};
    for (int k = 0; k < 2; k++) {
        *part[k] = (calib){.A = c->A, .tgt = c->tgt, .dvt = c->dvt, .part = 1};
        part[k]->x = malloc((size_t)c->P * FG_ROWS * sizeof(double));
        part[k]->y = malloc((size_t)c->P * FG_COLS * sizeof(double));
        part[k]->arr = calloc((size_t)c->P, sizeof(int));
        if (!part[k]->x || !part[k]->y || !part[k]->arr)
            return fg_error(FG_ERR_NOMEM, "out of memory");
    }
    for (int p = 0; p < c->P; p++) {
        calib *d = part[app_held_out(c->arr, c->P, p, frac)];
        memcpy(d->x + (size_t)d->P * FG_ROWS, c->x + (size_t)p * FG_ROWS, FG_ROWS * sizeof(double));
        memcpy(d->y + (size_t)d->P * FG_COLS, c->y + (size_t)p * FG_COLS, FG_COLS * sizeof(double));
        d->arr[d->P++] = c->arr ? c->arr[p] : 0;
    }
    return FG_OK;
}

static void calib_free(calib *c)
{
    if (c->part) {
        free(c->x), free(c->y), free(c->arr);
    } else
        cosim_dataset_free(&c->tiles);
    memset(c, 0, sizeof *c);
}

static fg_status calibrate(const recal_opts *o, const app_array *a, recal_result *r)
{
    calib c, f = {0}, h = {0};
    fg_status st = calib_make(o, a, &c);
    if (st == FG_OK) {
        fg_corner k = o->arr.corner;
        k.t_max_trim = r->trim;
        k.out_gain = r->gain;
        st = chip_run(o, a, &k, &c, c.x, c.P, c.y, &r->spice_s);
    }
    if (st == FG_OK)
        st = calib_split(&c, o->holdout, &f, &h);
    r->fit_patterns = f.P, r->held_patterns = h.P, r->arrays = c.A;
    if (st == FG_OK && (f.P < 1 || h.P < 1))
        st = fg_error(FG_ERR_RANGE, "--patterns %d: %d to fit and %d held out", c.P, f.P, h.P);
    if (st == FG_OK) {
        r->ser_nominal = ser_on(&r->nominal, &c, h.x, h.y, h.arr, h.P);
        st = refit(o, &f, r);
    }
    if (st == FG_OK)
        r->ser_recal = ser_on(&r->m, &c, h.x, h.y, h.arr, h.P);
    calib_free(&f);
    calib_free(&h);
    calib_free(&c);
    return st;
}

static cJSON *result_json(const recal_opts *o, const recal_result *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *c = cJSON_AddObjectToObject(j, "corner");
    fg_corner cc = o->arr.corner;
    cc.t_max_trim = r->trim;
    cc.out_gain = r->gain;
    app_corner_json(c, &cc);
    cJSON_AddStringToObject(j, "nominal_model", o->model);
    cJSON_AddNumberToObject(j, "t_max_trim", r->trim);
    cJSON_AddNumberToObject(j, "t_max_s", r->nominal.op.t_max * r->trim);
    cJSON_AddNumberToObject(j, "out_gain", r->gain);
    cJSON_AddNumberToObject(j, "ser_nominal_db", r->ser_nominal);
    cJSON_AddNumberToObject(j, "ser_recal_db", r->ser_recal);
    cJSON_AddNumberToObject(j, "w_exp", r->m.w_exp);
    cJSON_AddNumberToObject(j, "lambda", r->m.p.lambda);
    cJSON_AddNumberToObject(j, "patterns", r->fit_patterns + r->held_patterns);
    cJSON_AddNumberToObject(j, "arrays", r->arrays);
    if (o->ckpt)
        cJSON_AddStringToObject(j, "calibration_ckpt", o->ckpt);
    cJSON_AddNumberToObject(j, "fit_patterns", r->fit_patterns);
    cJSON_AddNumberToObject(j, "held_out_patterns", r->held_patterns);
    cJSON_AddNumberToObject(j, "probe_vmm", r->probe_vmm);
    cJSON_AddNumberToObject(j, "spice_seconds", r->spice_s);
    cJSON_AddNumberToObject(j, "fit_seconds", r->fit_s);
    cJSON_AddNumberToObject(j, "fit_iterations", r->iterations);
    cJSON_AddStringToObject(j, "output", o->out);
    return j;
}

/* The refitted model file, with the corner and the recalibration record. */
static fg_status write_model(const recal_opts *o, const recal_result *r)
{
    char *text = fit_model_to_json(&r->m);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!root)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    cJSON_AddItemToObject(root, "recalibration", result_json(o, r));
    char *out = cJSON_Print(root);
    cJSON_Delete(root);
    fg_status st = out ? fg_file_write_atomic(o->out, out, strlen(out))
                       : fg_error(FG_ERR_NOMEM, "out of memory");
    free(out);
    return st;
}

static void report(const recal_opts *o, const recal_result *r)
{
    if (o->json) {
        app_json_print(result_json(o, r));
        return;
    }
    char corner[256];
    fg_corner_describe(&o->arr.corner, corner, sizeof corner);
    fprintf(stderr, "fgcosim %s: %s: T_max trim %.2f, output gain %.2f, held-out SER "
            "nominal model %.1f dB, recalibrated %.1f dB (exponent %.3f), %d + %d patterns, "
            "%.1f s SPICE -> %s\n", CMD, corner, r->trim, r->gain, r->ser_nominal,
            r->ser_recal, r->m.w_exp,
            r->probe_vmm, r->fit_patterns + r->held_patterns, r->spice_s, o->out);
}

int cmd_recalibrate(int argc, char **argv)
{
    recal_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    recal_result r = {0};
    app_array a;
    memset(&a, 0, sizeof a);
    fg_status st = fit_model_load(&r.nominal, o.model);
    if (st == FG_OK)
        st = app_array_load(&o.arr, &a);
    if (st == FG_OK)
        st = check_op(o.model, &r.nominal.op, a.name, &a.op);
    if (st == FG_OK)
        st = choose_trims(&o, &a, &r);
    if (st == FG_OK)
        st = calibrate(&o, &a, &r);
    if (st == FG_OK)
        st = write_model(&o, &r);
    app_array_free(&a);
    if (st != FG_OK) {
        fprintf(stderr, "fgcosim %s: %s\n", CMD, fg_errmsg());
        return fg_status_exit_code(st);
    }
    report(&o, &r);
    return 0;
}
