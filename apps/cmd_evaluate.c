/* fgcosim evaluate: accuracy of a checkpoint on the test split of its data
 * set, through an array backend. */
#include "cmds.h"
#include "nn_cli.h"

#include <cjson/cJSON.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define CMD "evaluate"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fgcosim evaluate --ckpt CKPT [options]\n"
        "  --ckpt CKPT        checkpoint written by fgcosim train\n"
        "  --data SPEC        test data (default: the spec stored in CKPT)\n"
        "  --limit N          first N test images only\n"
        "  --batch N          images per forward pass (default 256)\n"
        NN_CLI_BACKEND_HELP
        "                     (hwa: the model's op point must be the one CKPT\n"
        "                     was trained for, unless CKPT was trained ideal)\n"
        "  --threads N        threads of the layers and the hwa model\n"
        "                     (default: all cores)\n"
        "  --json             print one JSON object\n");
}

enum { O_CKPT = 1, O_DATA, O_LIMIT, O_BATCH, O_BACKEND, O_BMODEL, O_BLAYOUT, O_BNETLIST, O_BJOBS, O_TILES, O_THREADS,
       O_JSON, O_HELP };

static const struct option longopts[] = {
    {"ckpt", required_argument, 0, O_CKPT}, {"data", required_argument, 0, O_DATA},
    {"limit", required_argument, 0, O_LIMIT}, {"batch", required_argument, 0, O_BATCH},
    NN_CLI_BACKEND_LONGOPTS(O_BACKEND),
    {"threads", required_argument, 0, O_THREADS}, {"json", no_argument, 0, O_JSON},
    {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0},
};

typedef struct {
    const char *ckpt, *data;
    nn_cli_backend_opts be;
    int limit, batch, threads, json;
} eval_args;

static int parse_opt(eval_args *a, int c, const char *arg)
{
    int bad = 0;
    if (nn_cli_backend_opt(CMD, &a->be, O_BACKEND, c, arg, &bad))
        return bad;
    switch (c) {
    case O_CKPT: a->ckpt = arg; return 0;
    case O_DATA: a->data = arg; return 0;
    case O_LIMIT: return app_parse_int(CMD, "--limit", arg, 1, 1 << 30, &a->limit);
    case O_BATCH: return app_parse_int(CMD, "--batch", arg, 1, 65536, &a->batch);
    case O_THREADS: return app_parse_int(CMD, "--threads", arg, 0, 1024, &a->threads);
    case O_JSON: a->json = 1; return 0;
    }
    usage(stderr);
    return 2;
}

typedef struct {
    double acc, seconds;
    int images;
    uint64_t array_ops;
    nn_ckpt_meta meta;
    const char *spec;
} eval_result;

/* The test split, checked against the shape the checkpoint was trained on. */
static fg_status load_test(const eval_args *a, eval_result *r, nn_dataset *ds)
{
    r->spec = a->data ? a->data : r->meta.data;
    fg_status st = nn_data_load(r->spec, 0, a->limit, ds);
    if (st == FG_OK && (ds->H != r->meta.H || ds->W != r->meta.W ||
                        ds->C != r->meta.C || ds->classes != r->meta.classes))
        st = fg_error(FG_ERR_FORMAT,
                      "%s: net trained on %dx%dx%d images (%d classes), data '%s' "
                      "has %dx%dx%d (%d classes)", a->ckpt, r->meta.H, r->meta.W,
                      r->meta.C, r->meta.classes, r->spec, ds->H, ds->W, ds->C,
                      ds->classes);
    return st;
}

/* A backend whose array must match (fgc_array's must_match: hwa, the
 * array its model was fitted on) must be of the array the checkpoint was
 * trained for (ideal-trained checkpoints accept any); the message names
 * the file of the spec's ARG. spice is not checked: deploying on another
 * layout is a legitimate experiment. */
static fg_status check_array(const eval_args *a, const nn_ckpt_meta *m)
{
    if (!m->array.on_array)
        return FG_OK;
    nn_ckpt_array given;
    int must_match;
    char spec[8192];
    fg_status st = nn_cli_backend_array(&a->be, &given, &must_match);
    if (st != FG_OK || !must_match)
        return st;
    if ((st = nn_cli_backend_spec(&a->be, spec, sizeof spec)) != FG_OK)
        return st;
    const char *colon = strchr(spec, ':');
    return nn_ckpt_array_check(a->ckpt, &m->array, colon ? colon + 1 : spec, &given);
}

static fg_status run(const eval_args *a, fg_backend *be, eval_result *r)
{
    nn_net *net = NULL;
    nn_dataset ds = {0};
    fg_status st = nn_ckpt_load(a->ckpt, a->batch, &net, &r->meta);
    if (st == FG_OK)
        st = check_array(a, &r->meta);
    if (st == FG_OK)
        st = load_test(a, r, &ds);
    if (st == FG_OK) {
        nn_net_set_backend(net, be);
        nn_net_set_tiles(net, a->be.tiles ? NN_TILES_ALWAYS : NN_TILES_AUTO);
        uint64_t ops0 = be ? fg_backend_ops_count(be) : 0;
        double t0 = fg_now();
        st = nn_evaluate(net, &ds, 0, &r->acc);
        r->seconds = fg_now() - t0;
        r->images = ds.n;
        r->array_ops = be ? fg_backend_ops_count(be) - ops0 : 0;
    }
    nn_data_free(&ds);
    nn_net_free(net);
    return st;
}

static void print_json(const eval_args *a, const eval_result *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "checkpoint", a->ckpt);
    cJSON_AddStringToObject(j, "net", r->meta.net);
    cJSON_AddStringToObject(j, "data", r->spec);
    cJSON_AddStringToObject(j, "backend", a->be.name);
    if (r->meta.array.backend[0]) /* null: a version 1 checkpoint */
        cJSON_AddStringToObject(j, "trained_backend", r->meta.array.backend);
    else
        cJSON_AddNullToObject(j, "trained_backend");
    cJSON_AddBoolToObject(j, "tiles", a->be.tiles || strcmp(a->be.name, "ideal") ||
                                          !fg_perturb_is_none(&a->be.perturb));
    char buf[512];
    fg_perturb_describe(&a->be.perturb, buf, sizeof buf);
    cJSON_AddStringToObject(j, "perturb", buf);
    cJSON_AddStringToObject(j, "grad", nn_cli_grad_name(a->be.grad));
    cJSON_AddNumberToObject(j, "accuracy", r->acc);
    cJSON_AddNumberToObject(j, "images", r->images);
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    cJSON_AddNumberToObject(j, "images_per_s", r->seconds > 0 ? r->images / r->seconds : 0);
    cJSON_AddNumberToObject(j, "array_ops", (double)r->array_ops);
    cJSON_AddNumberToObject(j, "epochs", r->meta.epochs);
    cJSON_AddNumberToObject(j, "trained_test_accuracy", r->meta.test_accuracy);
    cJSON_AddNumberToObject(j, "temp_c", a->be.corner.temp_c);
    cJSON_AddNumberToObject(j, "supply", a->be.corner.supply);
    cJSON_AddNumberToObject(j, "drift_s", a->be.corner.drift_s);
    app_json_print(j);
}

int cmd_evaluate(int argc, char **argv)
{
    eval_args a = {.batch = 256};
    nn_cli_backend_opts_init(&a.be);
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == O_HELP) {
            usage(stdout);
            return 0;
        }
        bad |= parse_opt(&a, c, optarg);
    }
    if (!bad && (optind < argc || !a.ckpt)) {
        fprintf(stderr, "fgcosim evaluate: %s\n",
                optind < argc ? "unexpected argument" : "--ckpt is required");
        bad = 2;
    }
    if (bad)
        return 2;
    nn_set_threads(a.threads);
    fg_backend *be = NULL;
    eval_result r = {0};
    fg_status st = nn_cli_backend(&a.be, &be);
    if (st == FG_OK)
        st = run(&a, be, &r);
    fg_backend_free(be);
    if (st != FG_OK)
        return nn_cli_fail(CMD, st);
    if (a.json)
        print_json(&a, &r);
    else
        printf("%s (%s) on %s: accuracy %.2f%% over %d images, backend %s, "
               "%.0f images/s\n", a.ckpt, r.meta.net, r.spec, 100 * r.acc,
               r.images, a.be.name, r.seconds > 0 ? r.images / r.seconds : 0.0);
    return 0;
}
