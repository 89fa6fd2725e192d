/* Option helpers shared by the fgcosim subcommands. */
#ifndef FGCOSIM_APP_COMMON_H
#define FGCOSIM_APP_COMMON_H

#include "cosim.h"
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

/* The array under simulation: layout or external netlist, weights, and
 * how they are programmed. */
enum { APP_OPT_LAYOUT = 1000, APP_OPT_ARRAY_NETLIST, APP_OPT_WEIGHTS,
       APP_OPT_WEIGHTS_SEED, APP_OPT_SIGMA_VT, APP_OPT_PROGRAM,
       APP_OPT_VERIFY_TOL, APP_OPT_VERIFY_ITER, APP_OPT_RELTOL, APP_OPT_MAX_STEP,
       APP_OPT_BREAKPOINTS };
#define APP_ARRAY_LONGOPTS                                                 \
    {"layout", required_argument, 0, APP_OPT_LAYOUT},                      \
    {"array-netlist", required_argument, 0, APP_OPT_ARRAY_NETLIST},        \
    {"weights", required_argument, 0, APP_OPT_WEIGHTS},                    \
    {"weights-seed", required_argument, 0, APP_OPT_WEIGHTS_SEED},          \
    {"sigma-vt", required_argument, 0, APP_OPT_SIGMA_VT},                  \
    {"program", required_argument, 0, APP_OPT_PROGRAM},                    \
    {"verify-tol", required_argument, 0, APP_OPT_VERIFY_TOL},              \
    {"verify-iter", required_argument, 0, APP_OPT_VERIFY_ITER},            \
    {"spice-reltol", required_argument, 0, APP_OPT_RELTOL},                \
    {"spice-max-step", required_argument, 0, APP_OPT_MAX_STEP},            \
    {"spice-breakpoints", required_argument, 0, APP_OPT_BREAKPOINTS},      \
    APP_CORNER_LONGOPTS
/* Why the default: the built-in card is exactly what the I-V inversion
 * uses, so `model` programs a generated array to its targets up to the
 * parasitics' IR drops, in one cached sweep; an external netlist may bring
 * its own card and per-cell mismatch, which only reads of the array itself
 * see. Programming happens at the nominal point (the factory), before the
 * corner's temperature, rails and drift. */
#define APP_PROGRAM_HELP                                                     \
    "  --program M         model: invert the built-in cell's I-V curve;\n"    \
    "                      verify: then write-verify each cell on the\n"     \
    "                      array's own DC verify deck (default: verify\n"    \
    "                      with --array-netlist, model otherwise)\n"          \
    "  --verify-tol F      verify: relative cell-current error (0.01)\n"     \
    "  --verify-iter N     verify: correction passes at most (10)\n"          \
    "  --spice-reltol R    transient relative tolerance (1e-3, ngspice's;\n"  \
    "                      1e-4 for outputs of a few mV, a network's tiles)\n" \
    "  --spice-max-step F  max time step x F (1: 5 ns)\n"                    \
    "  --spice-breakpoints auto|few|all  few: word lines as B sources\n"   \
    "                      with breakpoints at the rises and fall starts\n"  \
    "                      only (40 percent fewer time points); all: PULSE\n"\
    "                      sources, a breakpoint at every corner (the same\n"\
    "                      waveform; decks for other tools); auto\n"        \
    "                      (default): few where the word lines' RC is\n"    \
    "                      under 10 ps, all otherwise\n"

/* The operating corner (core's fg_corner): --temp C, --supply S,
 * --supply-rails read,pre|read|pre|none, --drift-time S, --drift-rate R,
 * --drift-t0 S, --drift-sigma F, --drift-neutral V, --drift-seed N, and
 * the controller's --t-max-trim F and --out-gain G.
 * Values are parsed here; their ranges are checked once, by
 * fg_corner_check, where the corner is used. */
enum { APP_OPT_TEMP = 1100, APP_OPT_SUPPLY, APP_OPT_SUPPLY_RAILS,
       APP_OPT_DRIFT_TIME, APP_OPT_DRIFT_RATE, APP_OPT_DRIFT_T0,
       APP_OPT_DRIFT_SIGMA, APP_OPT_DRIFT_NEUTRAL, APP_OPT_DRIFT_SEED,
       APP_OPT_T_MAX_TRIM, APP_OPT_OUT_GAIN };
#define APP_CORNER_LONGOPTS                                                \
    {"temp", required_argument, 0, APP_OPT_TEMP},                          \
    {"supply", required_argument, 0, APP_OPT_SUPPLY},                      \
    {"supply-rails", required_argument, 0, APP_OPT_SUPPLY_RAILS},          \
    {"drift-time", required_argument, 0, APP_OPT_DRIFT_TIME},              \
    {"drift-rate", required_argument, 0, APP_OPT_DRIFT_RATE},              \
    {"drift-t0", required_argument, 0, APP_OPT_DRIFT_T0},                  \
    {"drift-sigma", required_argument, 0, APP_OPT_DRIFT_SIGMA},            \
    {"drift-neutral", required_argument, 0, APP_OPT_DRIFT_NEUTRAL},        \
    {"drift-seed", required_argument, 0, APP_OPT_DRIFT_SEED},              \
    {"t-max-trim", required_argument, 0, APP_OPT_T_MAX_TRIM},              \
    {"out-gain", required_argument, 0, APP_OPT_OUT_GAIN}
#define APP_CORNER_HELP                                                      \
    "  --temp C            die temperature (ngspice .temp; nominal 27)\n"      \
    "  --supply S          supply scale of the rails below (nominal 1)\n"      \
    "  --supply-rails R    rails that follow the supply: read,pre (default),\n" \
    "                      read, pre or none (V_read = WL high level, V_pre =\n" \
    "                      precharge level; T_max and C_BL do not move)\n"    \
    "  --drift-time S      seconds since programming (retention loss, 0)\n"    \
    "  --drift-rate R      fraction of the stored dVT lost per decade (0.005)\n" \
    "  --drift-t0 S        onset of the logarithmic loss, s (1)\n"             \
    "  --drift-sigma F     relative per-cell spread of the loss (0.2)\n"       \
    "  --drift-neutral V   dVT the charge relaxes towards (0)\n"               \
    "  --drift-seed N      seed of the per-cell spread (1)\n"                \
    "  --t-max-trim F      controller trim: pulse time base T_max * F (1);\n" \
    "                      outputs stay normalised to the nominal T_max\n"  \
    "  --out-gain G        controller trim: digital gain on the outputs (1)\n"
/* Handles an APP_OPT_TEMP.. option into c; returns 1 if it was one, sets
 * *bad to 2 on a value that is not a number. */
int app_corner_opt(const char *cmd, fg_corner *c, int opt, const char *arg, int *bad);
/* Adds the corner's fields to a cJSON object (temp_c, supply, rails,
 * drift_s, ...). */
struct cJSON;
void app_corner_json(struct cJSON *obj, const fg_corner *c);

typedef struct {
    const char *cmd;           /* subcommand, for messages              */
    const char *layout;        /* name or file; default "regular"       */
    const char *array_netlist; /* user's flat array netlist, or NULL    */
    const char *weights;       /* CSV 16x16 in [0,1], or NULL           */
    uint64_t weights_seed;     /* random weights when no file (def. 1)  */
    double sigma_vt;           /* programming error, V (default 0)      */
    cosim_program_method program; /* auto: verify with array_netlist  */
    cosim_verify_opts verify;  /* tol 0.01, 10 passes                   */
    double reltol;             /* transient relative tolerance (0: 1e-3) */
    double max_step_scale;     /* max step x this (0: 1)                 */
    nl_wl_drive wl_drive;      /* --spice-breakpoints (auto)             */
    fg_corner corner;          /* where the array runs (nominal)        */
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
    cosim_program_method program; /* the method used: model or verify  */
    double program_tol;           /* verify's tolerance (0 for model)  */
    cosim_verify_report verify;   /* verify's report (model: NaN error) */
} app_array;

/* reprogram (spice): every tile written by program-verify at the corner
 * (its temperature and rails) instead of at the nominal point.
 * An array backend by name, opened from the registry's spec of name with
 * the generic options (fgc_backend_spec): "ideal"; "hwa" (the fitted
 * compact model in model_path); "spice" (the layout -- name or file -- or
 * a user's flat array netlist, simulated by a pool of `jobs` ngspice
 * workers, 0 = all cores). perturb (NULL or none: no wrapper) puts the
 * backend behind the perturbation wrapper; its ir_scale scales the hwa
 * model (an error on another backend). Errors name the missing or bad
 * argument (exit 2). */
/* Whether perturbations p can go over backend `name` (ir_scale: hwa only). */
fg_status app_perturb_check(const char *backend, const fg_perturb *p);
fg_status app_backend_new(const char *name, const char *model_path,
                          const char *layout, const char *array_netlist,
                          const fg_corner *corner, int reprogram, int jobs,
                          const fg_perturb *perturb, int linear_grad, fg_backend **be);

/* Prints obj as one line of JSON on stdout, then deletes it; while a
 * capture slot is set (app_json_capture), hands it to the slot instead. */
void app_json_print(struct cJSON *obj);
void app_json_capture(struct cJSON **slot); /* NULL: print again */

/* Runs `fgcosim ARGS... --json` in this process (args[1] names the
 * command, apps/cmds.c) and returns the JSON object it would print; its
 * progress and errors go to stderr as the command's own. On failure the
 * status carries the command's own message. The caller cJSON_Delete()s
 * *out. */
fg_status app_subcommand_json(const char *const *args, struct cJSON **out);

/* Loads layout, weights, and programs them at the nominal point with
 * o->program (cosim_program); a verify that leaves cells outside its
 * tolerance is reported on stderr, not an error. */
fg_status app_array_load(const app_array_opts *o, app_array *a);
/* Programs another matrix w (16,16) into dvt (16,16) on a's array, as
 * app_array_load programmed a->w (o's method, nominal point); a warning
 * on stderr when verify left cells outside its tolerance. */
fg_status app_array_program(const app_array_opts *o, const app_array *a, const double *w,
                            double *dvt, cosim_verify_report *rep);

/* A calibration drawn from a network (simulate/recalibrate --ckpt): its
 * tile operations on the first `images` images of the training (or
 * test) split, about `ops` input rows sampled with `seed`, every tile
 * programmed on a's array like a->w. */
typedef struct {
    const char *ckpt;
    int images, test_split, ops;
    uint64_t seed;
} app_tiles_opts;
/* Fills ds's P, inputs, n_arrays, array, w_targets, dvts (w_target and
 * dvt: tile 0) and program_iterations / program_worst_rel_err (the worst
 * over the tiles); the other fields are the caller's. */
fg_status app_tiles_dataset(const app_array_opts *o, const app_array *a,
                            const app_tiles_opts *t, cosim_dataset *ds);
/* Whether pattern p of P is held out from a fit: the last frac of the
 * patterns, or with array (P) indices the last frac of the run of
 * patterns on p's array (every array is fitted and checked on inputs
 * it was not fitted on). */
int app_held_out(const int *array, int P, int p, double frac);
void app_array_free(app_array *a);

#endif
