/* Option helpers shared by the fgcosim subcommands. */
#include "app_common.h"
#include "train.h"
#include "fgcosim.h"
#include "cosim.h"
#include "model_fit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int app_parse_int(const char *cmd, const char *name, const char *s, int lo, int hi,
                  int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "fgcosim %s: %s: '%s' is not an integer in [%d,%d]\n",
                cmd, name, s, lo, hi);
        return 2;
    }
    *out = (int)v;
    return 0;
}

int app_parse_u64(const char *cmd, const char *name, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "fgcosim %s: %s: '%s' is not a non-negative integer\n", cmd,
                name, s);
        return 2;
    }
    *out = v;
    return 0;
}

int app_parse_double(const char *cmd, const char *name, const char *s, double lo,
                     double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "fgcosim %s: %s: '%s' is not a number in [%g,%g]\n",
                cmd, name, s, lo, hi);
        return 2;
    }
    *out = v;
    return 0;
}

/* --supply-rails names, indexed by the FG_RAIL_* bits. */
static const char *const rail_names[4] = {"none", "read", "pre", "read,pre"};

static int parse_rails(const char *cmd, const char *s, unsigned *rails)
{
    for (unsigned bits = 0; bits < 4; bits++)
        if (!strcmp(s, rail_names[bits])) {
            *rails = bits;
            return 0;
        }
    if (!strcmp(s, "pre,read")) {
        *rails = FG_RAIL_READ | FG_RAIL_PRE;
        return 0;
    }
    fprintf(stderr, "fgcosim %s: --supply-rails: '%s' is not one of read,pre | read "
            "| pre | none\n", cmd, s);
    return 2;
}

int app_corner_opt(const char *cmd, fg_corner *c, int opt, const char *arg, int *bad)
{
    const double inf = 1e300;
    switch (opt) {
    case APP_OPT_TEMP: *bad |= app_parse_double(cmd, "--temp", arg, -inf, inf, &c->temp_c); return 1;
    case APP_OPT_SUPPLY: *bad |= app_parse_double(cmd, "--supply", arg, -inf, inf, &c->supply); return 1;
    case APP_OPT_SUPPLY_RAILS: *bad |= parse_rails(cmd, arg, &c->rails); return 1;
    case APP_OPT_DRIFT_TIME: *bad |= app_parse_double(cmd, "--drift-time", arg, -inf, inf, &c->drift_s); return 1;
    case APP_OPT_DRIFT_RATE: *bad |= app_parse_double(cmd, "--drift-rate", arg, -inf, inf, &c->drift_rate); return 1;
    case APP_OPT_DRIFT_T0: *bad |= app_parse_double(cmd, "--drift-t0", arg, -inf, inf, &c->drift_t0_s); return 1;
    case APP_OPT_DRIFT_SIGMA: *bad |= app_parse_double(cmd, "--drift-sigma", arg, -inf, inf, &c->drift_sigma); return 1;
    case APP_OPT_DRIFT_NEUTRAL: *bad |= app_parse_double(cmd, "--drift-neutral", arg, -inf, inf, &c->drift_neutral_v); return 1;
    case APP_OPT_DRIFT_SEED: *bad |= app_parse_u64(cmd, "--drift-seed", arg, &c->drift_seed); return 1;
    case APP_OPT_T_MAX_TRIM: *bad |= app_parse_double(cmd, "--t-max-trim", arg, -inf, inf, &c->t_max_trim); return 1;
    case APP_OPT_OUT_GAIN: *bad |= app_parse_double(cmd, "--out-gain", arg, -inf, inf, &c->out_gain); return 1;
    }
    return 0;
}

void app_corner_json(cJSON *o, const fg_corner *c)
{
    cJSON_AddNumberToObject(o, "temp_c", c->temp_c);
    cJSON_AddNumberToObject(o, "supply", c->supply);
    cJSON_AddStringToObject(o, "supply_rails", rail_names[c->rails & 3]);
    cJSON_AddNumberToObject(o, "drift_s", c->drift_s);
    cJSON_AddNumberToObject(o, "drift_rate", c->drift_rate);
    cJSON_AddNumberToObject(o, "drift_t0_s", c->drift_t0_s);
    cJSON_AddNumberToObject(o, "drift_sigma", c->drift_sigma);
    cJSON_AddNumberToObject(o, "drift_neutral_v", c->drift_neutral_v);
    cJSON_AddNumberToObject(o, "drift_seed", (double)c->drift_seed);
    cJSON_AddNumberToObject(o, "t_max_trim", c->t_max_trim);
    cJSON_AddNumberToObject(o, "out_gain", c->out_gain);
}

void app_array_opts_init(app_array_opts *o, const char *cmd)
{
    *o = (app_array_opts){.cmd = cmd, .layout = "regular", .weights_seed = 1,
                          .verify = {COSIM_VERIFY_TOL_DEFAULT, COSIM_VERIFY_ITER_DEFAULT},
                          .corner = fg_corner_nominal()};
}

static int parse_program(const char *cmd, const char *s, cosim_program_method *m)
{
    if (!strcmp(s, "model") || !strcmp(s, "verify")) {
        *m = !strcmp(s, "model") ? COSIM_PROGRAM_MODEL : COSIM_PROGRAM_VERIFY;
        return 0;
    }
    fprintf(stderr, "fgcosim %s: --program: '%s' is not one of model | verify\n", cmd, s);
    return 2;
}

int app_array_opt(app_array_opts *o, int c, const char *arg)
{
    if (app_corner_opt(o->cmd, &o->corner, c, arg, &o->bad))
        return 1;
    switch (c) {
    case APP_OPT_LAYOUT: o->layout = arg; return 1;
    case APP_OPT_ARRAY_NETLIST: o->array_netlist = arg; return 1;
    case APP_OPT_WEIGHTS: o->weights = arg; return 1;
    case APP_OPT_WEIGHTS_SEED:
        o->bad |= app_parse_u64(o->cmd, "--weights-seed", arg, &o->weights_seed);
        return 1;
    case APP_OPT_SIGMA_VT:
        o->bad |= app_parse_double(o->cmd, "--sigma-vt", arg, 0.0, 0.5, &o->sigma_vt);
        return 1;
    case APP_OPT_PROGRAM: o->bad |= parse_program(o->cmd, arg, &o->program); return 1;
    case APP_OPT_VERIFY_TOL:
        o->bad |= app_parse_double(o->cmd, "--verify-tol", arg, 1e-6, 0.5, &o->verify.tol);
        return 1;
    case APP_OPT_RELTOL:
        o->bad |= app_parse_double(o->cmd, "--spice-reltol", arg, 1e-7, 0.1, &o->reltol);
        return 1;
    case APP_OPT_MAX_STEP:
        o->bad |= app_parse_double(o->cmd, "--spice-max-step", arg, 1e-3, 10, &o->max_step_scale);
        return 1;
    case APP_OPT_BREAKPOINTS:
        if (nl_wl_drive_parse(arg, strlen(arg), &o->wl_drive) != 0) {
            fprintf(stderr, "fgcosim %s: --spice-breakpoints: '%s' is not "
                    NL_WL_DRIVE_NAMES "\n", o->cmd, arg);
            o->bad = 2;
        }
        return 1;
    case APP_OPT_VERIFY_ITER:
        o->bad |= app_parse_int(o->cmd, "--verify-iter", arg, 1, COSIM_VERIFY_ITER_MAX,
                                &o->verify.max_iter);
        return 1;
    }
    return 0;
}

static fg_status weights_load(const app_array_opts *o, double *w /*(16,16)*/)
{
    if (!o->weights) {
        fg_rng r;
        fg_rng_seed(&r, o->weights_seed);
        for (int k = 0; k < FG_CELLS; k++)
            w[k] = fg_rng_uniform(&r);
        return FG_OK;
    }
    double *v;
    int rows;
    fg_status st = fg_csv_read(o->weights, FG_COLS, 0.0, 1.0, &v, &rows);
    if (st != FG_OK)
        return st;
    if (rows != FG_ROWS)
        st = fg_error(FG_ERR_PARSE, "%s: %d rows of weights, expected %d",
                      o->weights, rows, FG_ROWS);
    else
        memcpy(w, v, FG_CELLS * sizeof *w);
    free(v);
    return st;
}

fg_status app_array_program(const app_array_opts *o, const app_array *a, const double *w,
                            double *dvt, cosim_verify_report *rep)
{
    cosim_pool_config at = {.layout = a->layout, .array_netlist = o->array_netlist,
                            .op = a->op};
    cosim_program_opts po = {.method = o->program, .sigma_v = o->sigma_vt,
                             .seed = o->weights_seed, .verify = o->verify};
    fg_status st = cosim_program(&at, &po, w, dvt, rep);
    if (st == FG_OK && rep->cells_missed > 0)
        fprintf(stderr, "fgcosim %s: warning: program-verify left %d cells outside "
                "+-%g after %d passes (worst %.3g)\n", o->cmd, rep->cells_missed,
                o->verify.tol, rep->iterations, rep->worst_rel_err);
    return st;
}

/* Programs a->w at the nominal point (the factory; the pool then runs at
 * the corner). */
static fg_status array_program(const app_array_opts *o, app_array *a)
{
    cosim_pool_config at = {.layout = a->layout, .array_netlist = o->array_netlist,
                            .op = a->op};
    a->program = cosim_program_method_resolve(o->program, &at);
    a->program_tol = a->program == COSIM_PROGRAM_VERIFY ? o->verify.tol : 0.0;
    fg_status st = app_array_program(o, a, a->w, a->dvt, &a->verify);
    a->ngspice_version = cosim_ngspice_version();
    return st;
}

fg_status app_array_load(const app_array_opts *o, app_array *a)
{
    memset(a, 0, sizeof *a);
    fg_status st = fg_corner_check(&o->corner);
    if (st != FG_OK)
        return st;
    st = nl_layout_load(o->layout, &a->layout);
    if (st != FG_OK)
        return st;
    a->op = nl_layout_op_point(a->layout);
    a->name = o->array_netlist ? o->array_netlist : nl_layout_name(a->layout);
    a->layout_json = nl_layout_json(a->layout);
    if ((st = weights_load(o, a->w)) != FG_OK)
        return st;
    return array_program(o, a);
}

void app_array_free(app_array *a)
{
    nl_layout_free(a->layout);
    a->layout = NULL;
}

fg_status app_perturb_check(const char *backend, const fg_perturb *p)
{
    fgc_open_opts o = {.perturb = p};
    return fgc_backend_check(backend, &o);
}

/* The registry spec of the command-line options ("hwa:M.json", ...). */
static fg_status backend_spec(const char *name, const char *model_path,
                              const char *layout, const char *array_netlist, int jobs,
                              char *spec, size_t n)
{
    fgc_cli_opts c = {.model = model_path, .layout = layout,
                      .array_netlist = array_netlist, .jobs = jobs};
    return fgc_backend_spec(name, &c, spec, n);
}

fg_status app_backend_new(const char *name, const char *model_path,
                          const char *layout, const char *array_netlist,
                          const fg_corner *corner, int reprogram, int jobs,
                          const fg_perturb *perturb, int linear_grad, fg_backend **be)
{
    *be = NULL;
    char spec[8192];
    fg_status st = backend_spec(name, model_path, layout, array_netlist, jobs, spec,
                                sizeof spec);
    if (st != FG_OK)
        return st;
    fgc_open_opts o = {.corner = corner, .reprogram = reprogram,
                       .linear_grad = linear_grad, .perturb = perturb};
    return fgc_backend_open_with(spec, &o, be);
}

static cJSON **json_capture; /* set while a command runs in-process */

void app_json_capture(cJSON **slot) { json_capture = slot; }

void app_json_print(cJSON *obj)
{
    if (json_capture) { /* an in-process step: handed back, not printed */
        cJSON_Delete(*json_capture);
        *json_capture = obj;
        return;
    }
    char *text = cJSON_PrintUnformatted(obj);
    printf("%s\n", text ? text : "null");
    free(text);
    cJSON_Delete(obj);
}

/* ---- a network's tiles as calibration arrays ------------------------------ */
/* The network's tiles as ds's arrays (several; one tile: ds's one array),
 * each programmed like the array of the options, and r's rows as inputs. */
static fg_status tiles_program(const app_array_opts *o, const app_array *a,
                                   const nn_tile_ops *r, cosim_dataset *ds)
{
    int A = r->n_tiles;
    ds->n_arrays = A > 1 ? A : 1;
    ds->w_targets = malloc((size_t)A * FG_CELLS * sizeof(double));
    ds->dvts = malloc((size_t)A * FG_CELLS * sizeof(double));
    ds->array = malloc((size_t)r->S * sizeof(int));
    ds->inputs = malloc((size_t)r->S * FG_ROWS * sizeof(double));
    if (!ds->w_targets || !ds->dvts || !ds->array || !ds->inputs)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    ds->P = r->S;
    for (size_t k = 0; k < (size_t)r->S * FG_ROWS; k++)
        ds->inputs[k] = r->x[k];
    memcpy(ds->array, r->tile, (size_t)r->S * sizeof(int));
    fg_progress prog;
    fg_progress_init(&prog, "program tiles", (uint64_t)A);
    fg_status st = FG_OK;
    ds->program_iterations = 0;
    ds->program_worst_rel_err = NAN; /* the worst over the tiles */
    for (int t = 0; t < A && st == FG_OK; t++) {
        double *w = ds->w_targets + (size_t)t * FG_CELLS;
        cosim_verify_report vr;
        for (int k = 0; k < FG_CELLS; k++)
            w[k] = r->w[(size_t)t * FG_CELLS + k];
        st = app_array_program(o, a, w, ds->dvts + (size_t)t * FG_CELLS, &vr);
        if (vr.iterations > ds->program_iterations)
            ds->program_iterations = vr.iterations;
        if (isfinite(vr.worst_rel_err) && !(vr.worst_rel_err <= ds->program_worst_rel_err))
            ds->program_worst_rel_err = vr.worst_rel_err;
        fg_progress_update(&prog, (uint64_t)t + 1);
    }
    fg_progress_done(&prog, (uint64_t)A);
    memcpy(ds->w_target, ds->w_targets, sizeof ds->w_target);
    memcpy(ds->dvt, ds->dvts, sizeof ds->dvt);
    return st;
}

fg_status app_tiles_dataset(const app_array_opts *o, const app_array *a,
                            const app_tiles_opts *t, cosim_dataset *ds)
{
    nn_net *net = NULL;
    nn_ckpt_meta meta;
    nn_dataset data = {0};
    nn_tile_ops r = {0};
    fg_status st = nn_ckpt_load(t->ckpt, 100, &net, &meta);
    if (st == FG_OK)
        st = nn_data_load(meta.data, !t->test_split, t->images, &data);
    if (st == FG_OK)
        st = nn_tile_ops_record(net, &data, t->images, t->ops, t->seed, &r);
    if (st == FG_OK) {
        fprintf(stderr, "fgcosim %s: %d tile operations of %s (%s) from %d %s images "
                "on %d tiles\n", o->cmd, r.S, t->ckpt, meta.net,
                t->images < data.n ? t->images : data.n, t->test_split ? "test" : "training",
                r.n_tiles);
        st = tiles_program(o, a, &r, ds);
    }
    nn_tile_ops_free(&r);
    nn_data_free(&data);
    nn_net_free(net);
    return st;
}

int app_held_out(const int *array, int P, int p, double frac)
{
    int first = 0, end = P;
    if (array) { /* the array's patterns: first..end-1 */
        for (first = p; first > 0 && array[first - 1] == array[p]; first--)
            ;
        for (end = p + 1; end < P && array[end] == array[p]; end++)
            ;
    }
    return p - first >= (end - first) - (int)floor(frac * (end - first));
}
