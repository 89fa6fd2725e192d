/* fgcosim train: train a reference network, write a checkpoint. */
#include "cmds.h"
#include "nn_cli.h"

#include <cjson/cJSON.h>

#include <getopt.h>
#include <stdio.h>
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
        "  --threads N        threads of OpenBLAS and of the hwa model (default 2:\n"
        "                     same seed and threads give the same checkpoint;\n"
        "                     0 = all cores)\n"
        "  --json             print one JSON object with the results\n"
        "  --quiet            no per-epoch lines\n");
}

enum { O_NET = 1, O_DATA, O_EPOCHS, O_BATCH, O_LR, O_SEED, O_OPTIM, O_MOM,
       O_WD, O_NOCOS, O_LTRAIN, O_LTEST, O_BACKEND, O_BMODEL, O_BLAYOUT, O_BNETLIST, O_BJOBS, O_TILES, O_THREADS,
       O_JSON, O_QUIET, O_INIT, O_HELP };

static const struct option longopts[] = {
    {"net", required_argument, 0, O_NET}, {"data", required_argument, 0, O_DATA},
    {"epochs", required_argument, 0, O_EPOCHS}, {"batch", required_argument, 0, O_BATCH},
    {"lr", required_argument, 0, O_LR}, {"seed", required_argument, 0, O_SEED},
    {"optim", required_argument, 0, O_OPTIM}, {"momentum", required_argument, 0, O_MOM},
    {"weight-decay", required_argument, 0, O_WD}, {"no-cosine", no_argument, 0, O_NOCOS},
    {"limit-train", required_argument, 0, O_LTRAIN},
    {"limit-test", required_argument, 0, O_LTEST},
    NN_CLI_BACKEND_LONGOPTS(O_BACKEND),
    {"threads", required_argument, 0, O_THREADS}, {"json", no_argument, 0, O_JSON},
    {"quiet", no_argument, 0, O_QUIET}, {"init", required_argument, 0, O_INIT}, {"output", required_argument, 0, 'o'},
    {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0},
};

typedef struct {
    nn_train_opts o;
    const char *out;
    nn_cli_backend_opts be;
    int json;
    /* options given on the command line override the net's defaults */
    int epochs, batch, optim;
    float lr, momentum, wd;
    uint64_t seed;
    const char *init;
    int set_epochs, set_batch, set_lr, set_seed, set_optim, set_mom, set_wd,
        nocos, set_threads;
} train_args;

static int parse_opt(train_args *a, int c, const char *arg)
{
    int bad = 0;
    if (nn_cli_backend_opt(CMD, &a->be, O_BACKEND, c, arg, &bad))
        return bad;
    switch (c) {
    case O_NET: a->o.net = arg; return 0;
    case O_DATA: a->o.data = arg; return 0;
    case 'o': a->out = arg; return 0;
    case O_EPOCHS: a->set_epochs = 1; return app_parse_int(CMD, "--epochs", arg, 1, 100000, &a->epochs);
    case O_BATCH: a->set_batch = 1; return app_parse_int(CMD, "--batch", arg, 1, 65536, &a->batch);
    case O_LR: a->set_lr = 1; return nn_cli_float(CMD, "--lr", arg, 1e-9, 10, &a->lr);
    case O_SEED: a->set_seed = 1; return app_parse_u64(CMD, "--seed", arg, &a->seed);
    case O_MOM: a->set_mom = 1; return nn_cli_float(CMD, "--momentum", arg, 0, 0.9999, &a->momentum);
    case O_WD: a->set_wd = 1; return nn_cli_float(CMD, "--weight-decay", arg, 0, 1, &a->wd);
    case O_NOCOS: a->nocos = 1; return 0;
    case O_LTRAIN: return app_parse_int(CMD, "--limit-train", arg, 1, 1 << 30, &a->o.limit_train);
    case O_LTEST: return app_parse_int(CMD, "--limit-test", arg, 1, 1 << 30, &a->o.limit_test);
    case O_THREADS: a->set_threads = 1; return app_parse_int(CMD, "--threads", arg, 0, 1024, &a->o.threads);
    case O_JSON: a->json = 1; return 0;
    case O_QUIET: a->o.quiet = 1; return 0;
    case O_INIT: a->init = arg; return 0;
    case O_OPTIM:
        a->set_optim = 1;
        if (!strcmp(arg, "adam") || !strcmp(arg, "sgd")) {
            a->optim = strcmp(arg, "adam") ? NN_SGD : NN_ADAM;
            return 0;
        }
        fprintf(stderr, "fgcosim train: --optim: '%s' is not adam or sgd\n", arg);
        return 2;
    }
    usage(stderr);
    return 2;
}

/* The net's defaults, overridden by what the command line set. */
static void apply_defaults(train_args *a)
{
    nn_train_opts d;
    nn_train_opts_default(&d, a->o.net);
    d.data = a->o.data ? a->o.data : d.data;
    d.limit_train = a->o.limit_train, d.limit_test = a->o.limit_test;
    d.quiet = a->o.quiet;
    if (a->set_threads) d.threads = a->o.threads;
    if (a->set_epochs) d.epochs = a->epochs;
    if (a->set_batch) d.batch = a->batch;
    if (a->set_lr) d.opt.lr = a->lr;
    if (a->set_seed) d.seed = a->seed;
    if (a->set_optim) d.opt.kind = (nn_optim_kind)a->optim;
    if (a->set_mom) d.opt.momentum = a->momentum;
    if (a->set_wd) d.opt.weight_decay = a->wd;
    if (a->nocos) d.cosine = 0;
    d.init = a->init;
    d.tiles = a->be.tiles ? NN_TILES_ALWAYS : NN_TILES_AUTO;
    a->o = d;
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
    cJSON_AddStringToObject(j, "grad", a->be.grad_linear ? "linear" : "exact");
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
    if (!bad && (optind < argc || !a.o.net || !a.out)) {
        fprintf(stderr, "fgcosim train: %s\n", optind < argc ? "unexpected argument"
                : !a.o.net ? "--net is required" : "-o CKPT is required");
        bad = 2;
    }
    if (!bad && !nn_net_known(a.o.net)) {
        fprintf(stderr, "fgcosim train: unknown net '%s' (%s)\n", a.o.net,
                nn_net_names());
        bad = 2;
    }
    if (bad)
        return 2;
    apply_defaults(&a);
    fg_backend *be = NULL;
    fg_status st = nn_cli_backend(&a.be, &be);
    nn_train_result r;
    if (st == FG_OK) /* the checkpoint records the array trained for */
        st = nn_cli_backend_array(&a.be, &a.o.array);
    if (st == FG_OK)
        st = nn_train(&a.o, be, a.out, &r);
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
