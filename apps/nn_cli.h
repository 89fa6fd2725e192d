/* Command-line helpers shared by `fgcosim train` and `fgcosim evaluate`. */
#ifndef FGCOSIM_NN_CLI_H
#define FGCOSIM_NN_CLI_H

#include "fgcore.h"
#include "train.h"
#include "app_common.h"

#include <stdint.h>
#include <stdio.h>

/* A float option (app_parse_double, then narrowed). */
int nn_cli_float(const char *cmd, const char *opt, const char *s, double lo,
                 double hi, float *out);

/* --grad: how the tiled layers backpropagate in training */
typedef enum {
    NN_CLI_GRAD_EXACT = 0, /* the backend's own Jacobian                    */
    NN_CLI_GRAD_LINEAR,    /* per-tile linearisation (nn_net_set_grad)       */
    NN_CLI_GRAD_SAMPLE,    /* per-sample gains (fg_backend_linear_grad)      */
} nn_cli_grad;
const char *nn_cli_grad_name(nn_cli_grad g);
/* the net's mode for g (sample: exact through the wrapped backend) */
nn_grad_mode nn_cli_grad_mode(nn_cli_grad g);

/* Array backend options shared by train and evaluate. */
typedef struct {
    const char *name;          /* ideal | hwa | spice                       */
    const char *model;         /* hwa: fitted model file (fgcosim fit)      */
    const char *layout;        /* spice: layout name or file                */
    const char *array_netlist; /* spice: a user's flat array netlist        */
    int jobs;                  /* spice: worker processes (0 = all cores)   */
    int tiles;                 /* ideal: force the 16x16 tiles              */
    fg_corner corner;          /* spice: operating corner (nominal)        */
    int reprogram;             /* spice: program-verify at the corner      */
    fg_perturb perturb;        /* --perturb (none)                          */
    nn_cli_grad grad;          /* --grad (exact)                            */
} nn_cli_backend_opts;

/* Sets the defaults (nominal corner); name "ideal". */
void nn_cli_backend_opts_init(nn_cli_backend_opts *o);

/* Options --backend, --model, --layout, --array-netlist, --jobs, --tiles. */
#define NN_CLI_BACKEND_LONGOPTS(first)                                      \
    {"backend", required_argument, 0, (first)},                             \
    {"model", required_argument, 0, (first) + 1},                           \
    {"layout", required_argument, 0, (first) + 2},                          \
    {"array-netlist", required_argument, 0, (first) + 3},                   \
    {"jobs", required_argument, 0, (first) + 4},                            \
    {"tiles", no_argument, 0, (first) + 5},                                 \
    {"reprogram", no_argument, 0, NN_CLI_OPT_REPROGRAM},                    \
    {"perturb", required_argument, 0, NN_CLI_OPT_PERTURB},                  \
    {"grad", required_argument, 0, NN_CLI_OPT_GRAD},                        \
    APP_CORNER_LONGOPTS
enum { NN_CLI_OPT_REPROGRAM = 1200, NN_CLI_OPT_PERTURB, NN_CLI_OPT_GRAD };
#define NN_CLI_BACKEND_HELP                                                 \
    "  --backend ideal|hwa|spice  array backend (ideal = dense fast path)\n" \
    "  --model MODEL.json  fitted compact model (hwa)\n"                     \
    "  --layout NAME|FILE  array layout (spice)\n"                          \
    "  --array-netlist F   a user's flat array netlist (spice; its tiles\n" \
    "                      are then programmed by write-verify on it)\n"    \
    "  --jobs N            ngspice workers (spice; default all cores)\n"    \
    "  --tiles             force the 16x16 tiles on ideal\n"                \
    "  --reprogram         spice: program-verify every tile at the corner\n" \
    "                      (a reprogramming in the field), not at 27 C\n"    \
    "  --perturb K=V,...   perturbations over the backend (any; forces the\n" \
    "                      tiles), e.g. read_noise=0.2,prog_bits=5;\n"       \
    "                      --perturb help lists the keys\n"                 \
    "  --grad exact|linear|sample  backward of training: the backend's\n" \
    "                      own Jacobian (exact); the ideal transpose with\n" \
    "                      each weight scaled by its tile column's gain,\n" \
    "                      the least-squares slope of the column's output\n" \
    "                      over its ideal product in the batch (linear:\n" \
    "                      any backend, spice too); or scaled per sample\n" \
    "                      by y/(x.w) (sample)\n" \
    "operating corner of the spice backend:\n" APP_CORNER_HELP
/* Handles option c (first..first+5); returns 1 if it was one, sets *bad. */
int nn_cli_backend_opt(const char *cmd, nn_cli_backend_opts *o, int first, int c,
                       const char *arg, int *bad);

/* The backend (*be = NULL for ideal without --tiles: dense fast path). */
fg_status nn_cli_backend(const nn_cli_backend_opts *o, fg_backend **be);

/* o's registry spec (fgc_backend_spec of --backend NAME with --model,
 * --layout, --array-netlist, --jobs), n bytes; errors name the option
 * missing, e.g. "backend hwa needs --model MODEL.json (from fgcosim fit)". */
fg_status nn_cli_backend_spec(const nn_cli_backend_opts *o, char *spec, size_t n);

/* The array a run on backend o goes through (fgc_backend_array of its
 * spec), for the checkpoint's array record: hwa -> the model file's op
 * point and corner, spice -> the layout's op point (the regular layout's
 * for --array-netlist alone) at o's corner, FG_ROWS x FG_COLS; ideal ->
 * none (on_array 0). *must_match (NULL: not asked) gets fgc_array's
 * must_match (1 for hwa). Errors name the model or layout file. */
fg_status nn_cli_backend_array(const nn_cli_backend_opts *o, nn_ckpt_array *a,
                               int *must_match);

/* Training options shared by train and sweep: --epochs --batch --lr --seed
 * --optim --momentum --weight-decay --no-cosine --limit-train --limit-test
 * --init --data; each given one overrides the net's default. */
typedef struct {
    const char *data, *init;
    int epochs, batch, optim, limit_train, limit_test;
    float lr, momentum, wd;
    uint64_t seed;
    int set_epochs, set_batch, set_lr, set_seed, set_optim, set_mom, set_wd, nocos;
} nn_cli_train_args;

#define NN_CLI_TRAIN_LONGOPTS                                               \
    {"data", required_argument, 0, NN_CLI_T_DATA},                          \
    {"epochs", required_argument, 0, NN_CLI_T_EPOCHS},                      \
    {"batch", required_argument, 0, NN_CLI_T_BATCH},                        \
    {"lr", required_argument, 0, NN_CLI_T_LR},                              \
    {"seed", required_argument, 0, NN_CLI_T_SEED},                          \
    {"optim", required_argument, 0, NN_CLI_T_OPTIM},                        \
    {"momentum", required_argument, 0, NN_CLI_T_MOM},                       \
    {"weight-decay", required_argument, 0, NN_CLI_T_WD},                    \
    {"no-cosine", no_argument, 0, NN_CLI_T_NOCOS},                          \
    {"limit-train", required_argument, 0, NN_CLI_T_LTRAIN},                 \
    {"limit-test", required_argument, 0, NN_CLI_T_LTEST},                   \
    {"init", required_argument, 0, NN_CLI_T_INIT}
enum { NN_CLI_T_DATA = 1300, NN_CLI_T_EPOCHS, NN_CLI_T_BATCH, NN_CLI_T_LR,
       NN_CLI_T_SEED, NN_CLI_T_OPTIM, NN_CLI_T_MOM, NN_CLI_T_WD, NN_CLI_T_NOCOS,
       NN_CLI_T_LTRAIN, NN_CLI_T_LTEST, NN_CLI_T_INIT };
/* Handles training option c; returns 1 if it was one (*bad set on error). */
int nn_cli_train_opt(const char *cmd, nn_cli_train_args *t, int c, const char *arg,
                     int *bad);
/* d = the defaults of net, overridden by what t set. */
void nn_cli_train_opts(const nn_cli_train_args *t, const char *net, nn_train_opts *d);

/* 0 if net is a built-in net, else prints "fgcosim CMD: unknown net ..."
 * with the list and returns 2. */
int nn_cli_net_check(const char *cmd, const char *net);

/* Prints a JSON string value with escapes. */
void nn_cli_json_str(FILE *f, const char *s);

/* Reports a failed status as "fgcosim CMD: message" and returns the exit
 * status (2 for bad input, 1 otherwise). */
int nn_cli_fail(const char *cmd, fg_status st);

#endif
