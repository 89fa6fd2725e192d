/* Command-line helpers shared by `fgcosim train` and `fgcosim evaluate`. */
#include "nn_cli.h"
#include "app_common.h"
#include "fgcosim.h"

#include <stdlib.h>
#include <string.h>

int nn_cli_float(const char *cmd, const char *opt, const char *s, double lo,
                 double hi, float *out)
{
    double v;
    int rc = app_parse_double(cmd, opt, s, lo, hi, &v);
    if (rc == 0)
        *out = (float)v;
    return rc;
}

void nn_cli_backend_opts_init(nn_cli_backend_opts *o)
{
    *o = (nn_cli_backend_opts){.name = "ideal", .corner = fg_corner_nominal()};
    fg_perturb_init(&o->perturb);
}

int nn_cli_backend_opt(const char *cmd, nn_cli_backend_opts *o, int first, int c,
                       const char *arg, int *bad)
{
    if (app_corner_opt(cmd, &o->corner, c, arg, bad))
        return 1;
    if (c == NN_CLI_OPT_REPROGRAM) {
        o->reprogram = 1;
        return 1;
    }
    if (c == NN_CLI_OPT_GRAD) {
        int g = 0;
        while (g <= NN_CLI_GRAD_SAMPLE && strcmp(arg, nn_cli_grad_name((nn_cli_grad)g)))
            g++;
        if (g > NN_CLI_GRAD_SAMPLE) {
            fprintf(stderr, "fgcosim %s: --grad: '%s' is not exact, linear or sample\n",
                    cmd, arg);
            *bad = 2;
        } else
            o->grad = (nn_cli_grad)g;
        return 1;
    }
    if (c == NN_CLI_OPT_PERTURB) {
        if (!strcmp(arg, "help")) {
            printf("perturbation keys (--perturb K=V,...):\n");
            fg_perturb_help(stdout);
            exit(0);
        }
        if (fg_perturb_parse(&o->perturb, arg) != FG_OK) {
            fprintf(stderr, "fgcosim %s: --perturb: %s\n", cmd, fg_errmsg());
            *bad = 2;
        }
        return 1;
    }
    switch (c - first) {
    case 0: o->name = arg; return 1;
    case 1: o->model = arg; return 1;
    case 2: o->layout = arg; return 1;
    case 3: o->array_netlist = arg; return 1;
    case 4: *bad |= app_parse_int(cmd, "--jobs", arg, 0, 1024, &o->jobs); return 1;
    case 5: o->tiles = 1; return 1;
    }
    return 0;
}

int nn_cli_train_opt(const char *cmd, nn_cli_train_args *t, int c, const char *arg,
                     int *bad)
{
    switch (c) {
    case NN_CLI_T_DATA: t->data = arg; return 1;
    case NN_CLI_T_INIT: t->init = arg; return 1;
    case NN_CLI_T_NOCOS: t->nocos = 1; return 1;
    case NN_CLI_T_EPOCHS:
        t->set_epochs = 1;
        *bad |= app_parse_int(cmd, "--epochs", arg, 1, 100000, &t->epochs);
        return 1;
    case NN_CLI_T_BATCH:
        t->set_batch = 1;
        *bad |= app_parse_int(cmd, "--batch", arg, 1, 65536, &t->batch);
        return 1;
    case NN_CLI_T_LR:
        t->set_lr = 1;
        *bad |= nn_cli_float(cmd, "--lr", arg, 1e-9, 10, &t->lr);
        return 1;
    case NN_CLI_T_SEED:
        t->set_seed = 1;
        *bad |= app_parse_u64(cmd, "--seed", arg, &t->seed);
        return 1;
    case NN_CLI_T_MOM:
        t->set_mom = 1;
        *bad |= nn_cli_float(cmd, "--momentum", arg, 0, 0.9999, &t->momentum);
        return 1;
    case NN_CLI_T_WD:
        t->set_wd = 1;
        *bad |= nn_cli_float(cmd, "--weight-decay", arg, 0, 1, &t->wd);
        return 1;
    case NN_CLI_T_LTRAIN:
        *bad |= app_parse_int(cmd, "--limit-train", arg, 1, 1 << 30, &t->limit_train);
        return 1;
    case NN_CLI_T_LTEST:
        *bad |= app_parse_int(cmd, "--limit-test", arg, 1, 1 << 30, &t->limit_test);
        return 1;
    case NN_CLI_T_OPTIM:
        t->set_optim = 1;
        if (!strcmp(arg, "adam") || !strcmp(arg, "sgd"))
            t->optim = strcmp(arg, "adam") ? NN_SGD : NN_ADAM;
        else {
            fprintf(stderr, "fgcosim %s: --optim: '%s' is not adam or sgd\n", cmd, arg);
            *bad = 2;
        }
        return 1;
    }
    return 0;
}

void nn_cli_train_opts(const nn_cli_train_args *t, const char *net, nn_train_opts *d)
{
    nn_train_opts_default(d, net);
    d->data = t->data ? t->data : d->data;
    d->limit_train = t->limit_train, d->limit_test = t->limit_test;
    d->init = t->init;
    if (t->set_epochs) d->epochs = t->epochs;
    if (t->set_batch) d->batch = t->batch;
    if (t->set_lr) d->opt.lr = t->lr;
    if (t->set_seed) d->seed = t->seed;
    if (t->set_optim) d->opt.kind = (nn_optim_kind)t->optim;
    if (t->set_mom) d->opt.momentum = t->momentum;
    if (t->set_wd) d->opt.weight_decay = t->wd;
    if (t->nocos) d->cosine = 0;
}

const char *nn_cli_grad_name(nn_cli_grad g)
{
    static const char *const names[] = {"exact", "linear", "sample"};
    return g >= NN_CLI_GRAD_EXACT && g <= NN_CLI_GRAD_SAMPLE ? names[g] : "?";
}

nn_grad_mode nn_cli_grad_mode(nn_cli_grad g)
{
    return g == NN_CLI_GRAD_LINEAR ? NN_GRAD_LINEAR : NN_GRAD_EXACT;
}

fg_status nn_cli_backend(const nn_cli_backend_opts *o, fg_backend **be)
{
    *be = NULL;
    if (!strcmp(o->name, "ideal") && !o->tiles && fg_perturb_is_none(&o->perturb))
        return FG_OK;
    return app_backend_new(o->name, o->model, o->layout, o->array_netlist, &o->corner,
                           o->reprogram, o->jobs, &o->perturb,
                           o->grad == NN_CLI_GRAD_SAMPLE, be);
}

fg_status nn_cli_backend_spec(const nn_cli_backend_opts *o, char *spec, size_t n)
{
    fgc_cli_opts c = {.model = o->model, .layout = o->layout,
                      .array_netlist = o->array_netlist, .jobs = o->jobs};
    return fgc_backend_spec(o->name, &c, spec, n);
}

fg_status nn_cli_backend_array(const nn_cli_backend_opts *o, nn_ckpt_array *a,
                               int *must_match)
{
    memset(a, 0, sizeof *a);
    a->corner = fg_corner_nominal();
    const fgc_backend_kind *k = fgc_backend_kind_of(o->name); /* the kind, not a
                                                                 whole spec */
    snprintf(a->backend, sizeof a->backend, "%s", k ? k->name : o->name);
    if (must_match)
        *must_match = 0;
    char spec[8192];
    fgc_open_opts oo = {.corner = &o->corner, .reprogram = o->reprogram,
                        .linear_grad = o->grad == NN_CLI_GRAD_SAMPLE,
                        .perturb = &o->perturb};
    fgc_array arr;
    fg_status st = nn_cli_backend_spec(o, spec, sizeof spec);
    if (st == FG_OK)
        st = fgc_backend_array(spec, &oo, &arr);
    if (st != FG_OK || !arr.on_array)
        return st;
    a->on_array = 1;
    a->rows = FG_ROWS, a->cols = FG_COLS;
    a->op = arr.op;
    a->corner = arr.corner;
    if (must_match)
        *must_match = arr.must_match;
    return FG_OK;
}

int nn_cli_net_check(const char *cmd, const char *net)
{
    if (nn_net_known(net))
        return 0;
    fprintf(stderr, "fgcosim %s: --net: unknown net '%s' (%s)\n", cmd, net, nn_net_names());
    return 2;
}

void nn_cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

int nn_cli_fail(const char *cmd, fg_status st)
{
    fprintf(stderr, "fgcosim %s: %s\n", cmd, fg_errmsg());
    return fg_status_exit_code(st);
}
