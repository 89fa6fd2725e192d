/* fgcosim tmodel: one compact model over a temperature range.
 *
 *   fgcosim tmodel --node M1.json --node M2.json [--node ...] -o T.json
 *   fgcosim tmodel --tmodel T.json --at C -o M.json [--json]
 *
 * The first form joins node models (recalibrated at a few temperatures of
 * one supply: `fgcosim recalibrate --temp`) into a temperature model; the
 * second writes the plain model at temperature C (a die temperature the
 * chip's sensor reads) with its controller trims, for every command that
 * takes --model. Interpolation: model_fit.h, "temperature model". Bad
 * input: one line on stderr, exit 2, nothing written. */
#include "cmds.h"
#include "app_common.h"
#include "model_fit.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *node[FIT_TNODES_MAX + 1];
    int n_node;
    const char *tmodel, *out;
    double at;
    int has_at, json;
} tm_args;

static void usage(FILE *f)
{
    fprintf(f, "usage: fgcosim tmodel --node M1.json --node M2.json [--node ...] -o T.json\n"
               "       fgcosim tmodel --tmodel T.json --at C -o M.json [--json]\n"
               "  --node M.json    a model of one temperature (recalibrate --temp); 2 to %d,\n"
               "                   one operating point, supply and drift\n"
               "  --tmodel T.json  a temperature model written by the first form\n"
               "  --at C           die temperature, within the nodes' range\n"
               "  -o FILE          the temperature model, or the model at C\n"
               "  --json           (--at) one JSON object on stdout\n"
               "  Every quantity of the model is the Lagrange polynomial in T through the\n"
               "  3 nodes nearest C (2 nodes: a line); gains and trims in log.\n",
            FIT_TNODES_MAX);
}

static int bad_arg(const char *what, const char *arg)
{
    fprintf(stderr, "fgcosim tmodel: %s '%s' (fgcosim tmodel --help)\n", what, arg);
    return 2;
}

static int check_args(const tm_args *a)
{
    const char *err = NULL;
    if (!a->out)
        err = "-o FILE is required";
    else if (a->n_node && a->tmodel)
        err = "--node and --tmodel do not go together";
    else if (!a->tmodel && (a->n_node < 2 || a->n_node > FIT_TNODES_MAX))
        err = "--node: give 2 to 8 node models (or --tmodel T.json --at C)";
    else if (a->tmodel && !a->has_at)
        err = "--tmodel needs --at C";
    else if (!a->tmodel && (a->has_at || a->json))
        err = "--at and --json go with --tmodel";
    if (err)
        fprintf(stderr, "fgcosim tmodel: %s\n", err);
    return err ? 2 : 0;
}

static int parse_args(int argc, char **argv, tm_args *a)
{
    static const struct option opts[] = {
        {"node", required_argument, 0, 'n'}, {"tmodel", required_argument, 0, 't'},
        {"at", required_argument, 0, 'a'},   {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0},
    };
    *a = (tm_args){0};
    int c, bad = 0;
    optind = 1;
    opterr = 0;
    while (!bad && (c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (a->n_node > FIT_TNODES_MAX)
                return bad_arg("--node: more than 8 node models, at", optarg);
            a->node[a->n_node++] = optarg;
            break;
        case 't': a->tmodel = optarg; break;
        case 'a':
            bad = app_parse_double("tmodel", "--at", optarg, -55, 150, &a->at);
            a->has_at = 1;
            break;
        case 'o': a->out = optarg; break;
        case 'j': a->json = 1; break;
        case 'h': usage(stdout); return -1;
        default:
            return bad_arg(c == ':' ? "no value for option" : "unknown option",
                           argv[optind - 1]);
        }
    }
    if (bad)
        return 2;
    if (optind < argc)
        return bad_arg("unexpected argument", argv[optind]);
    return check_args(a);
}

static fg_status build(const tm_args *a)
{
    fit_model m[FIT_TNODES_MAX];
    fit_tmodel t;
    fg_status st = FG_OK;
    for (int k = 0; k < a->n_node && st == FG_OK; k++)
        st = fit_model_load(&m[k], a->node[k]);
    if (st == FG_OK)
        st = fit_tmodel_init(&t, m, a->n_node);
    if (st == FG_OK)
        st = fit_tmodel_save(&t, a->out);
    if (st == FG_OK) {
        printf("tmodel: %d nodes at", t.n);
        for (int k = 0; k < t.n; k++)
            printf(" %g", t.node[k].corner.temp_c);
        printf(" C (supply %g), T_max trims", t.node[0].corner.supply);
        for (int k = 0; k < t.n; k++)
            printf(" %.3g", t.node[k].corner.t_max_trim);
        printf(" -> %s\n", a->out);
    }
    return st;
}

static void report(const tm_args *a, const fit_model *m)
{
    double t_max = m->op.t_max * m->corner.t_max_trim;
    if (!a->json) {
        printf("tmodel: %s at %g C: T_max trim %.4g (T_max %.4g ns), output gain %.4g, "
               "programming exponent %.4g -> %s\n", a->tmodel, a->at, m->corner.t_max_trim,
               t_max * 1e9, m->corner.out_gain, m->w_exp, a->out);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "tmodel", a->tmodel);
    cJSON_AddNumberToObject(j, "temp_c", a->at);
    cJSON_AddNumberToObject(j, "t_max_trim", m->corner.t_max_trim);
    cJSON_AddNumberToObject(j, "t_max_s", t_max);
    cJSON_AddNumberToObject(j, "out_gain", m->corner.out_gain);
    cJSON_AddNumberToObject(j, "programming_exponent", m->w_exp);
    cJSON_AddStringToObject(j, "model", a->out);
    app_json_print(j);
}

static fg_status at(const tm_args *a)
{
    fit_tmodel t;
    fit_model m;
    fg_status st = fit_tmodel_load(&t, a->tmodel);
    if (st == FG_OK && (st = fit_tmodel_at(&t, a->at, &m)) != FG_OK)
        st = fg_error(st, "--at: %s", fg_errmsg());
    if (st == FG_OK)
        st = fit_model_save(&m, a->out);
    if (st == FG_OK)
        report(a, &m);
    return st;
}

int cmd_tmodel(int argc, char **argv)
{
    tm_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    fg_status st = a.tmodel ? at(&a) : build(&a);
    if (st) {
        fprintf(stderr, "fgcosim tmodel: %s\n", fg_errmsg());
        return fg_status_exit_code(st);
    }
    return 0;
}
