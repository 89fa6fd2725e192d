/* fgcosim train: train a reference network, write a checkpoint. */
#include "cmds.h"
#include "app_common.h"
#include "model_fit.h"
#include "nn_cli.h"

#include <cjson/cJSON.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "train"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fgcosim train --net NET [--data SPEC] -o CKPT [options]\n"
        "  --net NET          mlp-lowres | mlp | lenet5 | vgg-small\n"
        "  --data SPEC        mnist[:DIR] | mnist-lowres[:DIR] | fashion[:DIR] |\n"
        "                     cifar10:PATH   (default per net: mlp-lowres ->\n"
        "                     mnist-lowres, mlp and lenet5 -> mnist, vgg-small ->\n"
        "                     fashion)\n"
        "  -o, --output CKPT  checkpoint to write (atomically)\n"
        "  --epochs N --batch N --lr X --seed S   (defaults per net)\n"
        "  --optim adam|sgd   --momentum X  --weight-decay X  --no-cosine\n"
        "  --limit-train N --limit-test N   use the first N images only\n"
        "  --init CKPT        start from this checkpoint's weights (fine-tuning,\n"
        "                     e.g. hardware-aware from a digital run; same net)\n"
        NN_CLI_BACKEND_HELP
        "  --tmodel T.json    (hwa) a temperature model (fgcosim tmodel): every\n"
        "                     batch runs through the array at a die temperature\n"
        "                     drawn uniformly from --temp-range (default: the\n"
        "                     model's whole range; seeded by --seed); the test\n"
        "                     passes and the checkpoint's array stay --model's\n"
        "  --temp-range LO:HI  die temperatures drawn per batch, C\n"
        "  --threads N        threads of the layers and the hwa model (default 2:\n"
        "                     same seed and threads give the same checkpoint;\n"
        "                     0 = all cores)\n"
        "  --json             print one JSON object with the results\n"
        "  --quiet            no per-epoch lines\n");
}

enum { O_NET = 1, O_BACKEND, O_THREADS = O_BACKEND + 8, O_JSON, O_QUIET, O_HELP, O_TMODEL,
       O_TRANGE };

static const struct option longopts[] = {
    {"net", required_argument, 0, O_NET}, NN_CLI_TRAIN_LONGOPTS,
    NN_CLI_BACKEND_LONGOPTS(O_BACKEND),
    {"threads", required_argument, 0, O_THREADS}, {"json", no_argument, 0, O_JSON},
    {"quiet", no_argument, 0, O_QUIET}, {"output", required_argument, 0, 'o'},
    {"tmodel", required_argument, 0, O_TMODEL},
    {"temp-range", required_argument, 0, O_TRANGE},
    {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0},
};

typedef struct {
    nn_train_opts o;
    const char *net, *out;
    nn_cli_train_args t;
    nn_cli_backend_opts be;
    int json, quiet, threads, set_threads;
    const char *tmodel;  /* --tmodel: a temperature drawn per batch     */
    double t_lo, t_hi;   /* --temp-range (set_range), else the model's  */
    int set_range;
} train_args;

/* --temp-range LO:HI */
static int parse_range(train_args *a, const char *arg)
{
    char lo[64];
    const char *colon = strchr(arg, ':');
    if (!colon || colon - arg >= (long)sizeof lo) {
        fprintf(stderr, "fgcosim train: --temp-range: '%s' is not LO:HI\n", arg);
        return 2;
    }
    memcpy(lo, arg, (size_t)(colon - arg));
    lo[colon - arg] = '\0';
    a->set_range = 1;
    int bad = app_parse_double(CMD, "--temp-range", lo, -55, 150, &a->t_lo) ||
              app_parse_double(CMD, "--temp-range", colon + 1, -55, 150, &a->t_hi);
    if (!bad && a->t_lo > a->t_hi) {
        fprintf(stderr, "fgcosim train: --temp-range: %g > %g\n", a->t_lo, a->t_hi);
        bad = 2;
    }
    return bad ? 2 : 0;
}

static int parse_opt(train_args *a, int c, const char *arg)
{
    int bad = 0;
    if (nn_cli_backend_opt(CMD, &a->be, O_BACKEND, c, arg, &bad) ||
        nn_cli_train_opt(CMD, &a->t, c, arg, &bad))
        return bad;
    switch (c) {
    case O_NET: a->net = arg; return 0;
    case 'o': a->out = arg; return 0;
    case O_THREADS: a->set_threads = 1; return app_parse_int(CMD, "--threads", arg, 0, 1024, &a->threads);
    case O_JSON: a->json = 1; return 0;
    case O_QUIET: a->quiet = 1; return 0;
    case O_TMODEL: a->tmodel = arg; return 0;
    case O_TRANGE: return parse_range(a, arg);
    }
    usage(stderr);
    return 2;
}

/* The net's defaults, overridden by what the command line set. */
static void apply_defaults(train_args *a)
{
    nn_cli_train_opts(&a->t, a->net, &a->o);
    a->o.quiet = a->quiet;
    if (a->set_threads)
        a->o.threads = a->threads;
    a->o.tiles = a->be.tiles ? NN_TILES_ALWAYS : NN_TILES_AUTO;
    a->o.grad = nn_cli_grad_mode(a->be.grad);
}

static void print_json(const train_args *a, const nn_train_result *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "net", a->o.net);
    cJSON_AddStringToObject(j, "data", a->o.data);
    cJSON_AddStringToObject(j, "checkpoint", a->out);
    cJSON_AddStringToObject(j, "backend", a->be.name);
    char buf[512];
    fg_perturb_describe(&a->be.perturb, buf, sizeof buf);
    cJSON_AddStringToObject(j, "perturb", buf);
    cJSON_AddStringToObject(j, "grad", nn_cli_grad_name(a->be.grad));
    if (a->tmodel) {
        cJSON_AddStringToObject(j, "tmodel", a->tmodel);
        cJSON_AddNumberToObject(j, "temp_lo_c", a->t_lo);
        cJSON_AddNumberToObject(j, "temp_hi_c", a->t_hi);
    }
    cJSON_AddNumberToObject(j, "test_accuracy", r->test_accuracy);
    cJSON_AddNumberToObject(j, "train_accuracy", r->train_accuracy);
    cJSON_AddNumberToObject(j, "train_loss", r->train_loss);
    cJSON_AddNumberToObject(j, "epochs", r->epochs);
    cJSON_AddNumberToObject(j, "batch", a->o.batch);
    cJSON_AddNumberToObject(j, "lr", a->o.opt.lr);
    cJSON_AddStringToObject(j, "optim", a->o.opt.kind == NN_ADAM ? "adam" : "sgd");
    cJSON_AddNumberToObject(j, "seed", (double)a->o.seed);
    cJSON_AddNumberToObject(j, "threads", a->o.threads);
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    cJSON_AddNumberToObject(j, "epoch_seconds", r->epoch_seconds);
    cJSON_AddNumberToObject(j, "images_per_s", r->images_per_s);
    cJSON_AddNumberToObject(j, "train_images", (double)(r->images / (r->epochs ? r->epochs : 1)));
    cJSON_AddNumberToObject(j, "test_images", r->test_images);
    app_json_print(j);
}

/* ---- --tmodel: the array at a temperature drawn per batch ------------------ */
typedef struct {
    fit_tmodel t;
    double lo, hi;
    fg_rng rng;
    fg_backend *cur; /* the last drawn temperature's backend               */
} temp_sampler;

static fg_status temp_draw(void *user, nn_net *net, long step)
{
    temp_sampler *s = user;
    (void)step;
    double T = s->lo + (s->hi - s->lo) * fg_rng_uniform(&s->rng);
    fit_model m;
    fg_backend *be = NULL;
    fg_status st = fit_tmodel_at(&s->t, T, &m);
    if (st == FG_OK)
        st = fit_backend_hwa_open(&m, &be);
    if (st != FG_OK)
        return st;
    nn_net_set_backend(net, be);
    fg_backend_free(s->cur);
    s->cur = be;
    return FG_OK;
}

/* The sampler of --tmodel for the hwa backend of --model (same op point). */
static fg_status sampler_new(train_args *a, temp_sampler **out)
{
    *out = NULL;
    /* the sampler opens fitted models itself: a backend whose array is a
     * model file (the registry's must_match), given by --model */
    nn_ckpt_array arr;
    int fitted = 0;
    fg_status st = nn_cli_backend_array(&a->be, &arr, &fitted);
    if (st != FG_OK)
        return st;
    if (!fitted || !a->be.model || a->be.grad == NN_CLI_GRAD_SAMPLE ||
        !fg_perturb_is_none(&a->be.perturb))
        return fg_error(FG_ERR_RANGE, "--tmodel needs --backend hwa --model M.json, "
                        "without --perturb and --grad sample");
    temp_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    st = fit_tmodel_load(&s->t, a->tmodel);
    if (st == FG_OK && fg_op_point_differs(&arr.op, &s->t.node[0].op) >= 0)
        st = fg_error(FG_ERR_RANGE, "--tmodel %s is of another array or operating point "
                      "than --model %s", a->tmodel, a->be.model);
    if (st == FG_OK && !a->set_range) { /* the model's whole range */
        a->t_lo = s->t.node[0].corner.temp_c;
        a->t_hi = s->t.node[s->t.n - 1].corner.temp_c;
    }
    s->lo = a->t_lo, s->hi = a->t_hi;
    fit_model probe;
    if (st == FG_OK && ((st = fit_tmodel_at(&s->t, s->lo, &probe)) != FG_OK ||
                        (st = fit_tmodel_at(&s->t, s->hi, &probe)) != FG_OK))
        st = fg_error(st, "--temp-range: %s", fg_errmsg());
    fg_rng_seed(&s->rng, a->o.seed ^ 0x7e3b9a1dULL);
    if (st != FG_OK) {
        free(s);
        return st;
    }
    a->o.on_batch = temp_draw;
    a->o.on_batch_user = s;
    *out = s;
    return FG_OK;
}

static void sampler_free(temp_sampler *s)
{
    if (s)
        fg_backend_free(s->cur);
    free(s);
}

int cmd_train(int argc, char **argv)
{
    train_args a = {0};
    nn_cli_backend_opts_init(&a.be);
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (c == O_HELP) {
            usage(stdout);
            return 0;
        }
        bad |= parse_opt(&a, c, optarg);
    }
    if (!bad && (optind < argc || !a.net || !a.out)) {
        fprintf(stderr, "fgcosim train: %s\n", optind < argc ? "unexpected argument"
                : !a.net ? "--net is required" : "-o CKPT is required");
        bad = 2;
    }
    if (!bad && a.set_range && !a.tmodel) {
        fprintf(stderr, "fgcosim train: --temp-range needs --tmodel T.json\n");
        bad = 2;
    }
    if (!bad)
        bad = nn_cli_net_check(CMD, a.net);
    if (bad)
        return 2;
    apply_defaults(&a);
    fg_backend *be = NULL;
    temp_sampler *ts = NULL;
    fg_status st = a.tmodel ? sampler_new(&a, &ts) : FG_OK;
    nn_train_result r;
    if (st == FG_OK)
        st = nn_cli_backend(&a.be, &be);
    if (st == FG_OK) /* the checkpoint records the array trained for */
        st = nn_cli_backend_array(&a.be, &a.o.array, NULL);
    if (st == FG_OK)
        st = nn_train(&a.o, be, a.out, &r);
    sampler_free(ts);
    fg_backend_free(be);
    if (st != FG_OK)
        return nn_cli_fail(CMD, st);
    if (a.json)
        print_json(&a, &r);
    else
        printf("%s on %s: test accuracy %.2f%% after %d epochs, %.1f s/epoch, "
               "%.0f images/s; checkpoint %s\n", a.o.net, a.o.data,
               100 * r.test_accuracy, r.epochs, r.epoch_seconds, r.images_per_s, a.out);
    return 0;
}
