/* fgcosim corners: a grid of operating corners on the SPICE chip. Per
 * corner: recalibrate (T_max trim + refit), then the accuracy on SPICE of
 * the ideal-trained network and the HWA-trained network as they are, the
 * HWA network with the trim only, and after a short fine-tune through the
 * recalibrated model with the trim; and what the fitted models forecast.
 * Every step's JSON result is kept in DIR/<corner>/, so a re-run resumes
 * where it stopped; a corner that fails is reported and the others go on. */
#include "cmds.h"
#include "app_common.h"
#include "plots.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD "corners"
#define MAXV 8
#define MAXC 64

typedef struct {
    const char *ckpt[2], *model, *layout, *netlist, *dir, *net, *data;
    double temps[MAXV], supplies[MAXV], drifts[MAXV];
    int nt, ns, nd, nckpt, spice_images, recal_images, patterns, epochs, jobs;
    int full_grid, reuse, reprogram, from_net;
} corners_opts;

/* One row of corners.csv / one object of corners.json (NaN: not run). */
typedef struct {
    double temp, supply, drift;
    double trim, gain, t_max_s, ser_nominal, ser_recal, w_exp;
    double digital, digital_recal, ideal_as_is, hwa_as_is, hwa_trim, hwa_recal;
    double hwa_reprogram;
    double ideal_on_model, ideal_on_nominal_model, hwa_recal_on_model;
    double recal_spice_s, finetune_s, eval_spice_s;
    char error[512];
} corner_row;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fgcosim corners --ckpt IDEAL.ckpt --ckpt HWA.ckpt --model MODEL.json\n"
        "         [--layout NAME|FILE | --array-netlist FILE] [--net mlp-lowres]\n"
        "         [--temp -20,27,80] [--supply 0.9,1.0,1.1] [--drift-time 0,3.15e8]\n"
        "         [--full-grid] [--spice-images N] [--recal-images N]\n"
        "         [--recal-patterns N] [--finetune-epochs E] [--no-reuse]\n"
        "         [--no-reprogram] [--recal-from-net] [--jobs J]\n"
        "         [--data SPEC] -o DIR\n"
        "The grid: every temperature x supply without drift, plus each non-zero\n"
        "drift time at 27 C and supply 1 (--full-grid: the whole product).\n"
        "Per corner (defaults in brackets): recalibrate with --recal-patterns\n"
        "[300] (--recal-from-net: that many of the HWA network's own tile\n"
        "operations on its tiles, recalibrate --ckpt); the ideal-trained (first --ckpt) and HWA-trained (second) network\n"
        "on SPICE as they are over --spice-images [300]; the HWA network with\n"
        "the T_max trim only [same images; --no-reuse skips it]; the HWA\n"
        "network with every tile reprogrammed by program-verify at the corner\n"
        "[same images; --no-reprogram skips it]; fine-tuned\n"
        "--finetune-epochs [2] through the recalibrated model, with the trim,\n"
        "over --recal-images [500]; digital accuracy on the same images; the\n"
        "models' forecasts. Writes DIR/corners.csv, DIR/corners.json,\n"
        "DIR/report.md and PNG plots; resumes from DIR/<corner>/*.json.\n");
}

static int parse_list(const char *name, const char *s, double *v, int *n)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == MAXV) {
            fprintf(stderr, "fgcosim %s: %s: more than %d values\n", CMD, name, MAXV);
            return 2;
        }
        if (app_parse_double(CMD, name, t, -1e300, 1e300, &v[(*n)++]))
            return 2;
    }
    return *n ? 0 : app_parse_double(CMD, name, s, 0, 0, v);
}

enum { O_CKPT = 1, O_MODEL, O_LAYOUT, O_NETLIST, O_NET, O_DATA, O_TEMP, O_SUPPLY,
       O_DRIFT, O_FULL, O_SIMG, O_RIMG, O_PAT, O_EPOCHS, O_NOREUSE, O_NOREPROG, O_FROMNET, O_JOBS,
       O_HELP };

static int parse_opt(corners_opts *o, int c, const char *a)
{
    switch (c) {
    case O_CKPT:
        if (o->nckpt == 2) {
            fprintf(stderr, "fgcosim %s: --ckpt: give two (ideal-trained, then HWA-trained)\n", CMD);
            return 2;
        }
        o->ckpt[o->nckpt++] = a;
        return 0;
    case O_MODEL: o->model = a; return 0;
    case O_LAYOUT: o->layout = a; return 0;
    case O_NETLIST: o->netlist = a; return 0;
    case O_NET: o->net = a; return 0;
    case O_DATA: o->data = a; return 0;
    case O_TEMP: return parse_list("--temp", a, o->temps, &o->nt);
    case O_SUPPLY: return parse_list("--supply", a, o->supplies, &o->ns);
    case O_DRIFT: return parse_list("--drift-time", a, o->drifts, &o->nd);
    case O_FULL: o->full_grid = 1; return 0;
    case O_SIMG: return app_parse_int(CMD, "--spice-images", a, 1, 10000, &o->spice_images);
    case O_RIMG: return app_parse_int(CMD, "--recal-images", a, 1, 10000, &o->recal_images);
    case O_PAT: return app_parse_int(CMD, "--recal-patterns", a, 40, 100000, &o->patterns);
    case O_EPOCHS: return app_parse_int(CMD, "--finetune-epochs", a, 0, 100, &o->epochs);
    case O_NOREUSE: o->reuse = 0; return 0;
    case O_NOREPROG: o->reprogram = 0; return 0;
    case O_FROMNET: o->from_net = 1; return 0;
    case O_JOBS: return app_parse_int(CMD, "--jobs", a, 1, 1024, &o->jobs);
    case 'o': o->dir = a; return 0;
    }
    usage(stderr);
    return 2;
}

static int parse(int argc, char **argv, corners_opts *o)
{
    static const struct option lo[] = {
        {"ckpt", required_argument, 0, O_CKPT}, {"model", required_argument, 0, O_MODEL},
        {"layout", required_argument, 0, O_LAYOUT},
        {"array-netlist", required_argument, 0, O_NETLIST},
        {"net", required_argument, 0, O_NET}, {"data", required_argument, 0, O_DATA},
        {"temp", required_argument, 0, O_TEMP}, {"supply", required_argument, 0, O_SUPPLY},
        {"drift-time", required_argument, 0, O_DRIFT}, {"full-grid", no_argument, 0, O_FULL},
        {"spice-images", required_argument, 0, O_SIMG},
        {"recal-images", required_argument, 0, O_RIMG},
        {"recal-patterns", required_argument, 0, O_PAT},
        {"finetune-epochs", required_argument, 0, O_EPOCHS},
        {"no-reuse", no_argument, 0, O_NOREUSE},
        {"no-reprogram", no_argument, 0, O_NOREPROG},
        {"recal-from-net", no_argument, 0, O_FROMNET}, {"jobs", required_argument, 0, O_JOBS},
        {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};
    *o = (corners_opts){.layout = "coupled", .net = "mlp-lowres", .data = "mnist-lowres",
                        .temps = {-20, 27, 80}, .supplies = {0.9, 1.0, 1.1},
                        .drifts = {0, 3.15e8}, .nt = 3, .ns = 3, .nd = 2,
                        .spice_images = 300, .recal_images = 500, .patterns = 300,
                        .epochs = 2, .reuse = 1, .reprogram = 1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
        if (c == O_HELP) {
            usage(stdout);
            return -1;
        }
        if (parse_opt(o, c, optarg))
            return 2;
    }
    const char *miss = optind < argc ? "unexpected argument"
                     : o->nckpt != 2 ? "--ckpt IDEAL.ckpt --ckpt HWA.ckpt are required"
                     : !o->model ? "--model MODEL.json (the nominal model) is required"
                     : !o->dir ? "-o DIR is required" : NULL;
    if (miss)
        fprintf(stderr, "fgcosim %s: %s\n", CMD, miss);
    return miss ? 2 : 0;
}

/* ---- the grid ------------------------------------------------------------- */
static corner_row row_init(double temp, double supply, double drift)
{
    corner_row r;
    double *v = &r.trim, *end = &r.eval_spice_s;
    for (; v <= end; v++)
        *v = NAN; /* not run */
    r.recal_spice_s = r.finetune_s = r.eval_spice_s = 0;
    r.hwa_reprogram = NAN;
    r.temp = temp, r.supply = supply, r.drift = drift;
    r.error[0] = '\0';
    return r;
}

static int grid(const corners_opts *o, corner_row *rows)
{
    int n = 0;
    for (int d = 0; d < o->nd; d++)
        for (int t = 0; t < o->nt; t++)
            for (int s = 0; s < o->ns; s++) {
                int nominal_ts = o->temps[t] == FG_TEMP_NOMINAL_C && o->supplies[s] == 1.0;
                if (!o->full_grid && o->drifts[d] != 0 && !nominal_ts)
                    continue;
                if (n == MAXC)
                    return n;
                rows[n++] = row_init(o->temps[t], o->supplies[s], o->drifts[d]);
            }
    return n;
}

static fg_status check_inputs(const corners_opts *o, const corner_row *rows, int n)
{
    const char *files[] = {o->ckpt[0], o->ckpt[1], o->model, o->netlist};
    for (int k = 0; k < 4; k++)
        if (files[k] && access(files[k], R_OK) != 0)
            return fg_error(FG_ERR_IO, "%s: %s", files[k], strerror(errno));
    for (int k = 0; k < n; k++) {
        fg_corner c = fg_corner_nominal();
        c.temp_c = rows[k].temp;
        c.supply = rows[k].supply;
        c.drift_s = rows[k].drift;
        fg_status st = fg_corner_check(&c);
        if (st != FG_OK)
            return st;
    }
    return FG_OK;
}

static void corner_tag(const corner_row *r, char *buf, size_t n)
{
    snprintf(buf, n, "T%g_S%g_D%g", r->temp, r->supply, r->drift);
}

/* ---- steps, each cached as DIR/<tag>/<name>.json ---------------------------- */
static double jnum(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The step's result from path when it was made by the same command line
 * (its "_args" member), else a run of args whose JSON is kept there
 * (*fresh = 1). */
static fg_status cached(const char *path, const char *const *args, cJSON **out,
                        int *fresh)
{
    char line[4096];
    size_t len = 0;
    for (int k = 1; args[k] && len < sizeof line; k++)
        len += (size_t)snprintf(line + len, sizeof line - len, "%s ", args[k]);
    char *text;
    if (access(path, R_OK) == 0 && fg_file_read(path, &text, NULL) == FG_OK) {
        *out = cJSON_Parse(text);
        free(text);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(*out, "_args");
        *fresh = !(cJSON_IsString(a) && !strcmp(a->valuestring, line));
        if (!*fresh)
            return FG_OK;
        cJSON_Delete(*out);
    }
    *fresh = 1;
    fg_status st = app_subcommand_json(args, out);
    if (st == FG_OK)
        cJSON_AddStringToObject(*out, "_args", line);
    char *s = st == FG_OK ? cJSON_PrintUnformatted(*out) : NULL;
    if (s)
        st = fg_file_write_atomic(path, s, strlen(s));
    free(s);
    return st;
}

typedef struct {
    const corners_opts *o;
    corner_row *r;
    char dir[600], temp[32], supply[32], drift[32], trim[32], gain[32];
    int k, n;
    int fresh; /* the last step ran (was not taken from its file) */
} corner_ctx;

static fg_status step(corner_ctx *c, const char *name, const char *what,
                      const char *const *args, cJSON **out)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s.json", c->dir, name);
    fprintf(stderr, "[corner %d/%d: %s C, supply %s, drift %s s] %s\n", c->k + 1, c->n,
            c->temp, c->supply, c->drift, what);
    return cached(path, args, out, &c->fresh);
}

/* args of an evaluation: the corner's options are appended when spice,
 * with the T_max trim (EV_TRIM) and a reprogramming at the corner
 * (EV_REPROGRAM) when asked. */
enum { EV_TRIM = 1, EV_REPROGRAM = 2 };
static fg_status evaluate(corner_ctx *c, const char *name, const char *ckpt,
                          const char *backend, const char *model, int images,
                          int flags, double *acc, double *secs)
{
    char lim[16], jobs[16];
    snprintf(lim, sizeof lim, "%d", images);
    snprintf(jobs, sizeof jobs, "%d", c->o->jobs);
    const char *a[32] = {"fgcosim", "evaluate", "--ckpt", ckpt, "--backend", backend,
                         "--limit", lim, "--data", c->o->data, "--json"};
    int n = 11;
    if (model)
        a[n++] = "--model", a[n++] = model;
    if (!strcmp(backend, "spice")) {
        a[n++] = c->o->netlist ? "--array-netlist" : "--layout";
        a[n++] = c->o->netlist ? c->o->netlist : c->o->layout;
        a[n++] = "--temp", a[n++] = c->temp, a[n++] = "--supply", a[n++] = c->supply;
        a[n++] = "--drift-time", a[n++] = c->drift;
        if (flags & EV_TRIM) {
            a[n++] = "--t-max-trim", a[n++] = c->trim;
            a[n++] = "--out-gain", a[n++] = c->gain;
        }
        if (flags & EV_REPROGRAM)
            a[n++] = "--reprogram";
        if (c->o->jobs)
            a[n++] = "--jobs", a[n++] = jobs;
    }
    a[n] = NULL;
    char what[160];
    snprintf(what, sizeof what, "%s: %s on %s, %d images", name, ckpt, backend, images);
    cJSON *j = NULL;
    fg_status st = step(c, name, what, a, &j);
    *acc = jnum(j, "accuracy");
    if (secs && !strcmp(backend, "spice"))
        *secs += jnum(j, "seconds");
    cJSON_Delete(j);
    return st;
}

static fg_status recalibrate(corner_ctx *c, char *model_out)
{
    const corners_opts *o = c->o;
    char pat[16];
    snprintf(pat, sizeof pat, "%d", o->patterns);
    snprintf(model_out, 700, "%s/model.json", c->dir);
    const char *a[32] = {"fgcosim", "recalibrate", "--model", o->model,
                         o->netlist ? "--array-netlist" : "--layout",
                         o->netlist ? o->netlist : o->layout, "--temp", c->temp,
                         "--supply", c->supply, "--drift-time", c->drift,
                         "--patterns", pat, "-o", model_out, "--json"};
    int n = 17; /* the entries above */
    if (o->from_net) /* the calibration drawn from the HWA network */
        a[n++] = "--ckpt", a[n++] = o->ckpt[1];
    cJSON *j = NULL;
    fg_status st = step(c, "recalibrate", "recalibrate (trim + refit)", a, &j);
    corner_row *r = c->r;
    r->trim = jnum(j, "t_max_trim");
    r->t_max_s = jnum(j, "t_max_s");
    r->gain = jnum(j, "out_gain");
    if (!isfinite(r->gain))
        r->gain = 1.0;
    r->ser_nominal = jnum(j, "ser_nominal_db");
    r->ser_recal = jnum(j, "ser_recal_db");
    r->w_exp = jnum(j, "w_exp");
    r->recal_spice_s = jnum(j, "spice_seconds");
    snprintf(c->trim, sizeof c->trim, "%.6g", r->trim);
    snprintf(c->gain, sizeof c->gain, "%.6g", r->gain);
    cJSON_Delete(j);
    if (st == FG_OK && access(model_out, R_OK) != 0)
        st = fg_error(FG_ERR_IO, "%s: missing (remove %s/recalibrate.json to redo)",
                      model_out, c->dir);
    /* A new model: the steps that read it (by a path that did not change)
     * are out of date. */
    static const char *const uses_model[] = {"finetune", "hwa_recal", "ideal_on_model"};
    for (size_t k = 0; st == FG_OK && c->fresh && k < 3; k++) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s.json", c->dir, uses_model[k]);
        unlink(path);
    }
    return st;
}

static fg_status finetune(corner_ctx *c, const char *model, char *ckpt_out)
{
    const corners_opts *o = c->o;
    char ep[16];
    snprintf(ep, sizeof ep, "%d", o->epochs);
    snprintf(ckpt_out, 700, "%s/hwa-recal.ckpt", c->dir);
    if (o->epochs == 0) {
        snprintf(ckpt_out, 700, "%s", o->ckpt[1]);
        return FG_OK;
    }
    const char *a[] = {"fgcosim", "train", "--net", o->net, "--data", o->data,
                       "--backend", "hwa", "--model", model, "--init", o->ckpt[1],
                       "--lr", "1e-3", "--epochs", ep, "-o", ckpt_out, "--json", NULL};
    cJSON *j = NULL;
    fg_status st = step(c, "finetune", "fine-tune the HWA network through the "
                        "recalibrated model", a, &j);
    c->r->hwa_recal_on_model = jnum(j, "test_accuracy");
    c->r->finetune_s = jnum(j, "seconds");
    cJSON_Delete(j);
    return st;
}

static fg_status run_corner(corner_ctx *c)
{
    const corners_opts *o = c->o;
    corner_row *r = c->r;
    char model[700], tuned[700];
    fg_status st = recalibrate(c, model);
    if (st == FG_OK)
        st = evaluate(c, "digital", o->ckpt[0], "ideal", NULL, o->spice_images, 0,
                      &r->digital, NULL);
    if (st == FG_OK)
        st = evaluate(c, "digital_recal", o->ckpt[0], "ideal", NULL, o->recal_images, 0,
                      &r->digital_recal, NULL);
    if (st == FG_OK)
        st = evaluate(c, "ideal_on_model", o->ckpt[0], "hwa", model, o->recal_images, 0,
                      &r->ideal_on_model, NULL);
    if (st == FG_OK)
        st = evaluate(c, "ideal_on_nominal_model", o->ckpt[0], "hwa", o->model,
                      o->recal_images, 0, &r->ideal_on_nominal_model, NULL);
    if (st == FG_OK)
        st = evaluate(c, "ideal_as_is", o->ckpt[0], "spice", NULL, o->spice_images, 0,
                      &r->ideal_as_is, &r->eval_spice_s);
    if (st == FG_OK)
        st = evaluate(c, "hwa_as_is", o->ckpt[1], "spice", NULL, o->spice_images, 0,
                      &r->hwa_as_is, &r->eval_spice_s);
    if (st == FG_OK && o->reuse)
        st = evaluate(c, "hwa_trim", o->ckpt[1], "spice", NULL, o->spice_images, EV_TRIM,
                      &r->hwa_trim, &r->eval_spice_s);
    if (st == FG_OK && o->reprogram)
        st = evaluate(c, "hwa_reprogram", o->ckpt[1], "spice", NULL, o->spice_images,
                      EV_REPROGRAM, &r->hwa_reprogram, &r->eval_spice_s);
    if (st == FG_OK)
        st = finetune(c, model, tuned);
    if (st == FG_OK)
        st = evaluate(c, "hwa_recal", tuned, "spice", NULL, o->recal_images, EV_TRIM,
                      &r->hwa_recal, &r->eval_spice_s);
    return st;
}

/* ---- outputs -------------------------------------------------------------------- */
#define ROW_FIELDS(X)                                                           \
    X(temp_c, temp) X(supply, supply) X(drift_s, drift) X(t_max_trim, trim)     \
    X(out_gain, gain)                                                           \
    X(t_max_s, t_max_s) X(ser_nominal_db, ser_nominal) X(ser_recal_db, ser_recal) \
    X(w_exp, w_exp) X(digital, digital) X(digital_recal_images, digital_recal)  \
    X(ideal_as_is, ideal_as_is) X(hwa_as_is, hwa_as_is) X(hwa_trim_only, hwa_trim) \
    X(hwa_recal, hwa_recal) X(hwa_reprogram, hwa_reprogram)                     \
    X(ideal_on_recal_model, ideal_on_model)                                     \
    X(ideal_on_nominal_model, ideal_on_nominal_model)                           \
    X(hwa_recal_on_model, hwa_recal_on_model) X(recal_spice_s, recal_spice_s)   \
    X(finetune_s, finetune_s) X(eval_spice_s, eval_spice_s)

static cJSON *rows_json(const corners_opts *o, const corner_row *rows, int n)
{
    cJSON *list = cJSON_CreateArray();
    for (int k = 0; k < n; k++) {
        cJSON *j = cJSON_CreateObject();
#define X(key, f) \
        if (isfinite(rows[k].f)) cJSON_AddNumberToObject(j, #key, rows[k].f); \
        else cJSON_AddNullToObject(j, #key);
        ROW_FIELDS(X)
#undef X
        cJSON_AddNumberToObject(j, "spice_images", o->spice_images);
        cJSON_AddNumberToObject(j, "recal_images", o->recal_images);
        cJSON_AddNumberToObject(j, "recal_patterns", o->patterns);
        cJSON_AddNumberToObject(j, "finetune_epochs", o->epochs);
        if (rows[k].error[0])
            cJSON_AddStringToObject(j, "error", rows[k].error);
        cJSON_AddItemToArray(list, j);
    }
    return list;
}

static char *rows_csv(const corner_row *rows, int n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
#define X(key, f_) fprintf(f, "%s,", #key);
    ROW_FIELDS(X)
#undef X
    fprintf(f, "error\n");
    for (int k = 0; k < n; k++) {
#define X(key, f_) fprintf(f, isfinite(rows[k].f_) ? "%.6g," : ",", rows[k].f_);
        ROW_FIELDS(X)
#undef X
        fprintf(f, "\"%s\"\n", rows[k].error[0] ? "failed" : "");
    }
    fclose(f);
    return buf;
}

static double pct(double v) { return 100 * v; }

static char *report_md(const corners_opts *o, const corner_row *rows, int n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "# Operating corners: %s on %s\n\n", o->net, o->netlist ? o->netlist : o->layout);
    fprintf(f, "Ideal-trained `%s`, HWA-trained `%s`, nominal model `%s`. Per corner: "
            "%d calibration patterns for the recalibration; as-is and trim-only "
            "deployments over the first %d test images on SPICE, the fine-tuned "
            "(%d epochs through the recalibrated model) deployment over the first %d.\n\n",
            o->ckpt[0], o->ckpt[1], o->model, o->patterns, o->spice_images, o->epochs,
            o->recal_images);
    fprintf(f, "| T (C) | supply | drift (s) | trims | SER nominal / recal (dB) | "
            "digital | ideal as is | HWA as is | HWA trim only | HWA reprogrammed | "
            "digital (recal images) | HWA recalibrated | ideal on recal model | "
            "SPICE s (recal + eval) |\n");
    fprintf(f, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
            "| --- |\n");
    for (int k = 0; k < n; k++) {
        const corner_row *r = &rows[k];
        if (r->error[0]) {
            fprintf(f, "| %g | %g | %g | failed: %s ||||||||||\n", r->temp, r->supply,
                    r->drift, r->error);
            continue;
        }
        fprintf(f, "| %g | %g | %g | %.2f, gain %.2f | %.1f / %.1f |", r->temp, r->supply,
                r->drift, r->trim, r->gain, r->ser_nominal, r->ser_recal);
        const double acc[] = {r->digital, r->ideal_as_is, r->hwa_as_is, r->hwa_trim,
                              r->hwa_reprogram, r->digital_recal, r->hwa_recal,
                              r->ideal_on_model};
        for (size_t a = 0; a < sizeof acc / sizeof acc[0]; a++)
            fprintf(f, isfinite(acc[a]) ? " %.1f %% |" : " — |", pct(acc[a]));
        fprintf(f, " %.0f + %.0f |\n", r->recal_spice_s, r->eval_spice_s);
    }
    fprintf(f, "\n![accuracy against temperature](acc_vs_temp.png)\n"
            "![accuracy against supply](acc_vs_supply.png)\n");
    fclose(f);
    return buf;
}

static const char *gp_head =
    "cd '%s'\n"
    "set terminal pngcairo size 800,500 noenhanced\nset datafile separator ','\n"
    "set key outside right\nset ylabel 'accuracy on SPICE (%%)'\nset grid\n";
static const char *gp_plot =
    "set output 'acc_vs_%s.png'\nset xlabel '%s'\n"
    "plot '%s.csv' u 1:2 w lp t 'ideal-trained as is', '' u 1:3 w lp t 'HWA as is', "
    "'' u 1:4 w lp t 'HWA, T_max trim', '' u 1:5 w lp t 'HWA recalibrated', "
    "'' u 1:7 w lp t 'HWA reprogrammed', '' u 1:6 w lp dt 2 t 'digital'\n";

/* One line per corner on the temperature (supply 1) or supply (27 C) axis;
 * returns how many points it has. */
static int plot_data(FILE *f, const corner_row *rows, int n, int by_temp)
{
    int points = 0;
    for (int k = 0; k < n; k++) {
        const corner_row *r = &rows[k];
        int on_axis = r->drift == 0 && (by_temp ? r->supply == 1.0 : r->temp == FG_TEMP_NOMINAL_C);
        if (!on_axis || r->error[0] || !isfinite(r->hwa_recal))
            continue;
        fprintf(f, "%g,%g,%g,%g,%g,%g,%g\n", by_temp ? r->temp : r->supply,
                pct(r->ideal_as_is), pct(r->hwa_as_is), pct(r->hwa_trim),
                pct(r->hwa_recal), pct(r->digital_recal), pct(r->hwa_reprogram));
        points++;
    }
    return points;
}

/* acc_vs_temp.png and acc_vs_supply.png, each where its axis has two
 * finished corners or more. */
static fg_status write_plots(const corners_opts *o, const corner_row *rows, int n)
{
    static const char *axis[2] = {"supply", "temp"};
    static const char *label[2] = {"supply scale, 27 C, no drift",
                                   "temperature (C), supply 1, no drift"};
    char script[2048];
    int len = snprintf(script, sizeof script, "%s", gp_head), plots = 0;
    plot_stage ps;
    fg_status st = plot_stage_open(&ps, o->dir);
    for (int a = 0; a < 2 && st == FG_OK; a++) {
        char name[32];
        FILE *f;
        snprintf(name, sizeof name, "%s.csv", axis[a]);
        if ((st = plot_stage_fopen(&ps, name, &f)) != FG_OK)
            break;
        int points = plot_data(f, rows, n, a);
        st = plot_stage_fclose(&ps, name, f);
        if (points >= 2) {
            len += snprintf(script + len, sizeof script - (size_t)len, gp_plot, axis[a],
                            label[a], axis[a]);
            plots++;
        }
    }
    if (st == FG_OK && plots)
        st = plot_stage_gnuplot(&ps, script);
    if (st == FG_OK && plots)
        st = plot_stage_commit(&ps);
    plot_stage_close(&ps);
    return st;
}

static fg_status write_text(const char *dir, const char *name, char *text)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fg_status st = text ? fg_file_write_atomic(path, text, strlen(text))
                        : fg_error(FG_ERR_NOMEM, "out of memory");
    free(text);
    return st;
}

static fg_status write_outputs(const corners_opts *o, const corner_row *rows, int n)
{
    cJSON *j = rows_json(o, rows, n);
    fg_status st = write_text(o->dir, "corners.json", cJSON_Print(j));
    cJSON_Delete(j);
    if (st == FG_OK)
        st = write_text(o->dir, "corners.csv", rows_csv(rows, n));
    if (st == FG_OK)
        st = write_text(o->dir, "report.md", report_md(o, rows, n));
    if (st == FG_OK)
        st = write_plots(o, rows, n);
    return st;
}

int cmd_corners(int argc, char **argv)
{
    corners_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    static corner_row rows[MAXC];
    int n = grid(&o, rows), failed = 0;
    fg_status st = check_inputs(&o, rows, n);
    if (st == FG_OK && mkdir(o.dir, 0777) != 0 && errno != EEXIST)
        st = fg_error(FG_ERR_IO, "%s: %s", o.dir, strerror(errno));
    if (st != FG_OK) {
        fprintf(stderr, "fgcosim %s: %s\n", CMD, fg_errmsg());
        return fg_status_exit_code(st);
    }
    for (int k = 0; k < n; k++) {
        corner_ctx c = {.o = &o, .r = &rows[k], .k = k, .n = n};
        char tag[96];
        corner_tag(&rows[k], tag, sizeof tag);
        snprintf(c.dir, sizeof c.dir, "%s/%s", o.dir, tag);
        snprintf(c.temp, sizeof c.temp, "%.6g", rows[k].temp);
        snprintf(c.supply, sizeof c.supply, "%.6g", rows[k].supply);
        snprintf(c.drift, sizeof c.drift, "%.6g", rows[k].drift);
        mkdir(c.dir, 0777);
        if (run_corner(&c) != FG_OK) {
            snprintf(rows[k].error, sizeof rows[k].error, "%s", fg_errmsg());
            fprintf(stderr, "fgcosim %s: corner %s failed: %s (the other corners go on; "
                    "a re-run retries it)\n", CMD, tag, rows[k].error);
            failed++;
        }
        write_outputs(&o, rows, k + 1); /* partial tables while it runs */
    }
    st = write_outputs(&o, rows, n);
    if (st != FG_OK) {
        fprintf(stderr, "fgcosim %s: %s\n", CMD, fg_errmsg());
        return fg_status_exit_code(st);
    }
    fprintf(stderr, "fgcosim %s: %d corners (%d failed) -> %s/report.md\n", CMD, n,
            failed, o.dir);
    return failed ? 1 : 0;
}
