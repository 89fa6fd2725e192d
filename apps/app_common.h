/* Option helpers shared by the fgcosim subcommands. */
#ifndef FGCOSIM_APP_COMMON_H
#define FGCOSIM_APP_COMMON_H

#include "fgcore.h"
#include "netlists.h"

#include <getopt.h>

/* Strict number parsing: on failure prints "fgcosim CMD: --name: ..." and
 * returns 2 (the exit status of bad input); 0 on success. */
int app_parse_int(const char *cmd, const char *name, const char *s, int lo, int hi,
                  int *out);
int app_parse_u64(const char *cmd, const char *name, const char *s, uint64_t *out);
int app_parse_double(const char *cmd, const char *name, const char *s, double lo,
                     double hi, double *out);

/* The array under simulation: layout or external netlist, and weights. */
enum { APP_OPT_LAYOUT = 1000, APP_OPT_ARRAY_NETLIST, APP_OPT_WEIGHTS,
       APP_OPT_WEIGHTS_SEED, APP_OPT_SIGMA_VT };
#define APP_ARRAY_LONGOPTS                                                 \
    {"layout", required_argument, 0, APP_OPT_LAYOUT},                      \
    {"array-netlist", required_argument, 0, APP_OPT_ARRAY_NETLIST},        \
    {"weights", required_argument, 0, APP_OPT_WEIGHTS},                    \
    {"weights-seed", required_argument, 0, APP_OPT_WEIGHTS_SEED},          \
    {"sigma-vt", required_argument, 0, APP_OPT_SIGMA_VT}

typedef struct {
    const char *cmd;           /* subcommand, for messages              */
    const char *layout;        /* name or file; default "regular"       */
    const char *array_netlist; /* user's flat array netlist, or NULL    */
    const char *weights;       /* CSV 16x16 in [0,1], or NULL           */
    uint64_t weights_seed;     /* random weights when no file (def. 1)  */
    double sigma_vt;           /* programming error, V (default 0)      */
    int bad;                   /* 2 after a bad option value            */
} app_array_opts;

void app_array_opts_init(app_array_opts *o, const char *cmd);
/* Handles an APP_OPT_* option; returns 1 if c was one of them. */
int app_array_opt(app_array_opts *o, int c, const char *arg);

typedef struct {
    nl_layout *layout;
    fg_op_point op;
    double w[FG_CELLS];   /* (16,16) target weights */
    double dvt[FG_CELLS]; /* (16,16) programmed threshold shifts, V */
    const char *name;     /* layout name, or the external netlist path */
    const char *layout_json;
    const char *ngspice_version;
} app_array;

/* An array backend by name: "ideal"; "hwa" (the fitted compact model in
 * model_path); "spice" (the layout -- name or file -- or a user's flat
 * array netlist, simulated by a pool of `jobs` ngspice workers, 0 = all
 * cores). Errors name the missing or bad argument (exit status 2). */
fg_status app_backend_new(const char *name, const char *model_path,
                          const char *layout, const char *array_netlist,
                          int jobs, fg_backend **be);

/* Runs `fgcosim ARGS... --json` as a child process and parses the JSON
 * object it prints (stderr passes through). The caller cJSON_Delete()s it. */
struct cJSON;
fg_status app_subcommand_json(const char *const *args, struct cJSON **out);

/* Loads layout, weights, and programs them (I-V inversion via ngspice). */
fg_status app_array_load(const app_array_opts *o, app_array *a);
void app_array_free(app_array *a);

#endif
