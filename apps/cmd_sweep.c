/* fgcosim sweep: train and evaluate one network per configuration of a grid
 * of perturbations, configurations in parallel worker processes, one CSV
 * row per configuration as it finishes (resumable), heat maps and a report.
 *
 * DIR/sweep.json records the sweep's settings; a resume with other settings
 * or another grid is refused (exit 2) before anything is written. */
#include "cmds.h"
#include "app_common.h"
#include "nn_cli.h"
#include "sweep.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CMD "sweep"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fgcosim sweep --net NET --grid KEY=LO:HI:STEP|KEY=V1,V2,.. [--grid ..]\n"
        "                     -o DIR [options]\n"
        "Trains NET once per configuration of the grid (every combination of\n"
        "the axes' values, perturbations over the backend: --perturb help lists\n"
        "the keys) and evaluates it on the test set through the same perturbed\n"
        "operator. One row per configuration in DIR/sweep.csv, written as each\n"
        "finishes; a re-run with the same settings skips the finished rows.\n"
        "Then DIR/report.md and one heat map per pair of axes (mean over the\n"
        "other axes).\n"
        "  --grid KEY=SPEC    an axis (repeatable, up to %d)\n"
        "  --perturb K=V,...  perturbations common to every configuration\n"
        "  --net NET --data SPEC --epochs N --batch N --lr X --seed S\n"
        "  --optim adam|sgd --momentum X --weight-decay X --no-cosine\n"
        "                     (defaults: the net's; mlp: 3 epochs, batch 64)\n"
        "  --limit-train N --limit-test N   the first N images only\n"
        "  --init CKPT        start every configuration from this checkpoint\n"
        "  --parallel N       configurations at once (default: all cores), one\n"
        "                     thread each\n"
        "  --no-plots         skip the heat maps\n"
        NN_CLI_BACKEND_HELP, SWEEP_MAX_AXES);
}

enum { O_GRID = 1, O_NET, O_PAR, O_NOPLOTS, O_HELP, O_BACKEND };

static const struct option longopts[] = {
    {"grid", required_argument, 0, O_GRID}, {"net", required_argument, 0, O_NET},
    NN_CLI_TRAIN_LONGOPTS,
    {"parallel", required_argument, 0, O_PAR}, {"no-plots", no_argument, 0, O_NOPLOTS},
    {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, O_HELP},
    NN_CLI_BACKEND_LONGOPTS(O_BACKEND), {0, 0, 0, 0},
};

typedef struct {
    sweep_grid grid;
    const char *net;
    nn_cli_train_args t;
    nn_train_opts o;
    nn_cli_backend_opts be;
    const char *dir;
    int parallel, plots;
} sweep_args;

static int parse_opt(sweep_args *a, int c, const char *arg)
{
    int bad = 0;
    if (nn_cli_backend_opt(CMD, &a->be, O_BACKEND, c, arg, &bad) ||
        nn_cli_train_opt(CMD, &a->t, c, arg, &bad))
        return bad;
    switch (c) {
    case O_GRID:
        if (sweep_grid_add(&a->grid, arg) != FG_OK) {
            fprintf(stderr, "fgcosim sweep: --grid %s: %s\n", arg, fg_errmsg());
            return 2;
        }
        return 0;
    case O_NET: a->net = arg; return 0;
    case 'o': a->dir = arg; return 0;
    case O_PAR: return app_parse_int(CMD, "--parallel", arg, 1, 256, &a->parallel);
    case O_NOPLOTS: a->plots = 0; return 0;
    }
    usage(stderr);
    return 2;
}

/* The net's defaults and what the command line set; quiet, one thread,
 * every product through the tiles. */
static void apply_defaults(sweep_args *a)
{
    nn_cli_train_opts(&a->t, a->net, &a->o);
    a->o.quiet = 1, a->o.threads = 1, a->o.tiles = NN_TILES_ALWAYS;
    a->o.grad = nn_cli_grad_mode(a->be.grad);
}

/* The settings that make two sweeps the same sweep (DIR/sweep.json). */
static cJSON *settings_json(const sweep_args *a)
{
    cJSON *j = cJSON_CreateObject();
    char buf[512];
    cJSON_AddStringToObject(j, "net", a->o.net);
    cJSON_AddStringToObject(j, "data", a->o.data);
    cJSON_AddNumberToObject(j, "epochs", a->o.epochs);
    cJSON_AddNumberToObject(j, "batch", a->o.batch);
    snprintf(buf, sizeof buf, "%.6g", (double)a->o.opt.lr);
    cJSON_AddNumberToObject(j, "lr", strtod(buf, NULL));
    cJSON_AddStringToObject(j, "optim", a->o.opt.kind == NN_ADAM ? "adam" : "sgd");
    cJSON_AddNumberToObject(j, "seed", (double)a->o.seed);
    cJSON_AddNumberToObject(j, "limit_train", a->o.limit_train);
    cJSON_AddNumberToObject(j, "limit_test", a->o.limit_test);
    cJSON_AddStringToObject(j, "init", a->o.init ? a->o.init : "");
    cJSON_AddStringToObject(j, "backend", a->be.name);
    cJSON_AddStringToObject(j, "model", a->be.model ? a->be.model : "");
    fg_perturb_describe(&a->be.perturb, buf, sizeof buf);
    cJSON_AddStringToObject(j, "perturb", buf);
    sweep_grid_describe(&a->grid, buf, sizeof buf);
    cJSON_AddStringToObject(j, "grid", buf);
    return j;
}

/* Checks that an existing DIR/sweep.json names the same sweep; write: and
 * writes it when there is none. */
static fg_status settings_check(const sweep_args *a, int write)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/sweep.json", a->dir);
    cJSON *want = settings_json(a);
    char *text = NULL;
    fg_status st = FG_OK;
    if (access(path, F_OK) == 0) {
        size_t n;
        if ((st = fg_file_read(path, &text, &n)) == FG_OK) {
            cJSON *have = cJSON_Parse(text);
            const cJSON *f = NULL;
            cJSON_ArrayForEach(f, want) {
                const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, f->string);
                if (!h || !cJSON_Compare(h, f, 1)) {
                    char *hv = h ? cJSON_PrintUnformatted(h) : NULL;
                    char *wv = cJSON_PrintUnformatted(f);
                    st = fg_error(FG_ERR_FORMAT, "%s: a sweep with %s = %s is there; this "
                                  "one has %s (another -o DIR, or the same settings)",
                                  path, f->string, hv ? hv : "(none)", wv);
                    free(hv), free(wv);
                    break;
                }
            }
            if (!have && st == FG_OK)
                st = fg_error(FG_ERR_PARSE, "%s: not JSON", path);
            cJSON_Delete(have);
        }
    } else if (write) {
        char *out = cJSON_Print(want);
        st = fg_file_write_atomic(path, out, strlen(out));
        free(out);
    }
    free(text);
    cJSON_Delete(want);
    return st;
}

int cmd_sweep(int argc, char **argv)
{
    sweep_args a = {.parallel = 0, .plots = 1};
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
    if (!bad && (optind < argc || !a.net || !a.dir || !a.grid.naxes)) {
        fprintf(stderr, "fgcosim sweep: %s\n", optind < argc ? "unexpected argument"
                : !a.net ? "--net is required" : !a.dir ? "-o DIR is required"
                : "at least one --grid axis is required");
        bad = 2;
    }
    if (!bad)
        bad = nn_cli_net_check(CMD, a.net);
    if (bad)
        return 2;
    apply_defaults(&a);
    if (a.parallel <= 0)
        a.parallel = (int)sysconf(_SC_NPROCESSORS_ONLN) > 0 ? (int)sysconf(_SC_NPROCESSORS_ONLN) : 1;
    fg_status st = sweep_grid_check(&a.grid, &a.be.perturb, a.be.name);
    if (st == FG_OK && mkdir(a.dir, 0777) != 0 && errno != EEXIST)
        st = fg_error(FG_ERR_IO, "%s: %s", a.dir, strerror(errno));
    sweep_rows rows = {0};
    if (st == FG_OK) /* nothing is written before every check passed */
        st = settings_check(&a, 0);
    if (st == FG_OK)
        st = sweep_csv_load(a.dir, &a.grid, &rows);
    if (st == FG_OK)
        st = settings_check(&a, 1);
    if (st == FG_OK) {
        sweep_run_cfg rc = {.g = &a.grid, .train = &a.o, .backend = &a.be,
                            .dir = a.dir, .parallel = a.parallel};
        st = sweep_run(&rc, &rows);
    }
    if (st == FG_OK)
        st = sweep_report(a.dir, &a.grid, &rows, a.plots);
    sweep_rows_free(&rows);
    if (st != FG_OK)
        return nn_cli_fail(CMD, st);
    printf("fgcosim sweep: %d configurations -> %s/sweep.csv, %s/report.md\n",
           sweep_grid_size(&a.grid), a.dir, a.dir);
    return 0;
}
