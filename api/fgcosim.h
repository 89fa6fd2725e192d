/* fgcosim.h — libfgcosim, the whole of fgcosim as one library: array
 * backends opened by a spec string, plus the public headers of every
 * folder (core, netlists, cosim, model_fit, train). Prefix fgc_.
 *
 * Worked example: one VMM through a backend chosen at run time.
 *
 *     fg_backend *be;
 *     if (fgc_backend_open("hwa:model.json", &be) != FG_OK) { // or "ideal",
 *         fprintf(stderr, "%s\n", fg_errmsg());  // "spice:coupled", ...
 *         return 2;
 *     }
 *     float w[FG_CELLS] = {0};              // (16,16) normalised currents
 *     float x[FG_ROWS] = {0}, y[FG_COLS];   // (1,16) pulse fractions in [0,1]
 *     w[3 * FG_COLS + 5] = 0.5f; x[3] = 1.0f;
 *     fg_status st = fg_backend_vmm(be, w, x, y, 1); // y[5] ~ 0.5 (ideal: =)
 *     fg_backend_free(be);
 *
 * Build against the installed library:
 *     cc prog.c $(pkg-config --cflags --libs fgcosim)
 */
#ifndef FGCOSIM_H
#define FGCOSIM_H

#include "fgcore.h"
#include "netlists.h"
#include "cosim.h"
#include "model_fit.h"
#include "train.h"

/* The project version ("0.1.0"), the one in meson.build and fgcosim.pc. */
const char *fgc_version(void);

/* ---- backend registry ----------------------------------------------------
 * A spec is NAME or NAME:ARG. Built in:
 *   ideal                    y = x.W (OpenBLAS sgemm)
 *   hwa:MODEL.json           the fitted compact model (from `fgcosim fit`)
 *   hwa:T.json,temp=C        a temperature model (`fgcosim tmodel`) at die
 *                            temperature C: the model and T_max trim that
 *                            `fgcosim tmodel --at C` would write
 *   spice:LAYOUT             ngspice on a built-in layout name or a layout
 *                            JSON file; options after commas:
 *                            spice:coupled,jobs=2
 *   spice:netlist=FILE       a user's flat array netlist (op point of the
 *                            regular layout, or layout=NAME|FILE)
 * spice options: jobs=N (worker processes, 0 = all cores, the default).
 * An ARG cannot contain a comma for spice. */
/* What a backend is opened with besides its spec (fgc_backend_open_with);
 * {0} or NULL: nominal, as fitted, exact gradient, no perturbation. */
typedef struct {
    const fg_corner *corner;  /* spice: the operating corner (NULL nominal) */
    int reprogram;            /* spice: program-verify at the corner        */
    int linear_grad;          /* the linearised backward
                                 (fg_backend_linear_grad)                  */
    const fg_perturb *perturb;/* the perturbation wrapper over it (NULL);
                                 its ir_scale is the hwa model's
                                 (fit_model_scale_drop), not the wrapper's */
} fgc_open_opts;

/* The array a backend runs on, as far as a network trained on it needs to
 * know (fgc_backend_array; a checkpoint's nn_ckpt_array is made of it). */
typedef struct {
    int on_array;      /* 1: a modelled FG_ROWS x FG_COLS array (hwa, spice);
                          0: none (ideal)                                 */
    fg_op_point op;    /* its operating point, SI units (V, s, F, A);
                          zeros when on_array is 0                        */
    fg_corner corner;  /* the corner it runs at: spice the one opened with
                          (o->corner, NULL nominal), hwa the model file's
                          (a recalibrated model's corner and trims);
                          nominal when on_array is 0                      */
    int must_match;    /* 1: op and corner are read from the file the spec's
                          ARG names (hwa: the one array the model was
                          fitted on), so a net trained for another array
                          must not run on it; 0: any may (spice: another
                          layout is a legitimate experiment)              */
} fgc_array;

/* The generic command-line options a spec is built from
 * (fgc_backend_spec): each kind reads the ones it takes. {0}: none. */
typedef struct {
    const char *model;         /* --model FILE: a fitted model file       */
    const char *layout;        /* --layout NAME|FILE: a built-in layout
                                  name or a layout JSON file              */
    const char *array_netlist; /* --array-netlist FILE: a user's flat
                                  array netlist                           */
    int jobs;                  /* --jobs N: worker processes, 0 = all cores */
} fgc_cli_opts;

/* One kind of backend: a line of api/backends.def. */
typedef struct {
    const char *name;  /* "hwa"                                           */
    const char *usage; /* "hwa:MODEL.json"                                */
    const char *help;  /* one line                                        */
    /* arg: the text after the first ':' (NULL: none); o never NULL. On
     * error: a status, fg_error's message saying what is wrong, *out NULL. */
    fg_status (*open)(const char *arg, const fgc_open_opts *o, fg_backend **out);
    int corner;        /* takes o->corner and o->reprogram                */
    int ir;            /* takes o->perturb->ir_scale                      */
    /* The array the backend of arg and o runs on, without opening it
     * (reads what that needs: hwa its model file, spice its layout). arg
     * and o as open's; *out is set in full on success. fgc_array_none: no
     * modelled array (ideal). */
    fg_status (*array)(const char *arg, const fgc_open_opts *o, fgc_array *out);
    /* The ARG of the spec the command-line options c give, written to arg
     * (n bytes, "" for none: the spec is NAME alone); c never NULL. On
     * error a message naming the option missing or wrong, e.g. "backend
     * hwa needs --model MODEL.json (from fgcosim fit)". fgc_cli_none:
     * takes none (ideal). */
    fg_status (*cli)(const fgc_cli_opts *c, char *arg, size_t n);
} fgc_backend_kind;

/* The registered kinds (the table in api/registry.c); *n gets the count. */
const fgc_backend_kind *fgc_backend_kinds(int *n);
/* The kind of spec (its NAME, the text before the first ':'); NULL if no
 * kind of that name is registered. */
const fgc_backend_kind *fgc_backend_kind_of(const char *spec);
/* The `array` and `cli` of a kind that runs on no modelled array and takes
 * no command-line option (ideal's; the toy of examples/open_toy.c):
 * on_array 0, nominal corner; ARG "". */
fg_status fgc_array_none(const char *arg, const fgc_open_opts *o, fgc_array *out);
fg_status fgc_cli_none(const fgc_cli_opts *c, char *arg, size_t n);
/* Opens the backend of spec. On error *out is NULL and the message names
 * the spec and what in it is wrong: an unknown name (listing the known
 * ones), a missing or unexpected argument, a missing or bad file, a bad
 * option. FG_ERR_RANGE / FG_ERR_IO / FG_ERR_PARSE / FG_ERR_FORMAT for bad
 * input (exit status 2 by fg_status_exit_code), else FG_ERR_NOMEM or
 * FG_ERR_SPICE. The caller frees the backend with fg_backend_free. */
fg_status fgc_backend_open(const char *spec, fg_backend **out);
/* The same with options: a corner or ir_scale that the kind does not take
 * is an error naming both; then the linearised gradient, then the
 * perturbations (perturb(linear(base))). */
fg_status fgc_backend_open_with(const char *spec, const fgc_open_opts *o,
                                fg_backend **out);
/* Whether the kind named by `name` (a name, or a whole spec NAME:ARG)
 * takes options o (the check fgc_backend_open_with makes before it opens
 * anything): to refuse bad options up front. */
fg_status fgc_backend_check(const char *name, const fgc_open_opts *o);
/* The array the backend of spec runs on (the kind's `array`), with the
 * check of o that fgc_backend_open_with makes (o NULL: none); nothing is
 * opened, and the spec's ARG is read only as far as the array needs it
 * (fgc_backend_open reports the rest). Errors as fgc_backend_open's:
 * FG_ERR_RANGE for an empty spec or an unknown name, the kind's status
 * for a missing or bad file; *out is then on_array 0, nominal. */
fg_status fgc_backend_array(const char *spec, const fgc_open_opts *o, fgc_array *out);
/* The spec (NAME or NAME:ARG, n bytes) of kind `name` given the
 * command-line options c (NULL: none), as the `fgcosim` commands' --backend
 * NAME with --model, --layout, ... open it: the kind's `cli` writes ARG.
 * A name holding a ':' is a whole spec already and is copied as it is.
 * FG_ERR_RANGE: an empty or unknown name (the message of
 * fgc_backend_open), an option the kind needs missing or wrong (the
 * kind's message), or a spec longer than n - 1; *spec is then "". */
fg_status fgc_backend_spec(const char *name, const fgc_cli_opts *c, char *spec,
                           size_t n);

#endif
