/* Command-line helpers shared by `fgcosim train` and `fgcosim evaluate`. */
#include "nn_cli.h"
#include "app_common.h"
#include "model_fit.h"

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
        if (strcmp(arg, "exact") && strcmp(arg, "linear")) {
            fprintf(stderr, "fgcosim %s: --grad: '%s' is not exact or linear\n", cmd, arg);
            *bad = 2;
        }
        o->grad_linear = !strcmp(arg, "linear");
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

fg_status nn_cli_backend(const nn_cli_backend_opts *o, fg_backend **be)
{
    *be = NULL;
    if (!strcmp(o->name, "ideal") && !o->tiles && fg_perturb_is_none(&o->perturb))
        return FG_OK;
    return app_backend_new(o->name, o->model, o->layout, o->array_netlist, &o->corner,
                           o->reprogram, o->jobs, &o->perturb, o->grad_linear, be);
}

fg_status nn_cli_backend_array(const nn_cli_backend_opts *o, nn_ckpt_array *a)
{
    memset(a, 0, sizeof *a);
    a->corner = fg_corner_nominal();
    snprintf(a->backend, sizeof a->backend, "%s", o->name);
    fg_status st = FG_OK;
    if (!strcmp(o->name, "hwa")) {
        fit_model m;
        if (!o->model)
            return fg_error(FG_ERR_RANGE, "backend hwa needs --model MODEL.json "
                            "(from fgcosim fit)");
        if ((st = fit_model_load(&m, o->model)) != FG_OK)
            return st;
        a->op = m.op;
        a->corner = m.corner; /* a recalibrated model's corner and trims */
    } else if (!strcmp(o->name, "spice")) {
        nl_layout *lay;
        if ((st = nl_layout_load(o->layout ? o->layout : "regular", &lay)) != FG_OK)
            return st;
        a->op = nl_layout_op_point(lay);
        a->corner = o->corner;
        nl_layout_free(lay);
    } else {
        return FG_OK;
    }
    a->on_array = 1;
    a->rows = FG_ROWS, a->cols = FG_COLS;
    return FG_OK;
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
