/* Command-line helpers shared by `fgcosim train` and `fgcosim evaluate`. */
#ifndef FGCOSIM_NN_CLI_H
#define FGCOSIM_NN_CLI_H

#include "fgcore.h"
#include "train.h"

#include <stdint.h>
#include <stdio.h>

/* Strict number parsing: on failure print "fgcosim CMD: OPT: ..." and
 * return 2 (the exit status of bad input); 0 on success. */
int nn_cli_int(const char *cmd, const char *opt, const char *s, int lo, int hi,
               int *out);
int nn_cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int nn_cli_float(const char *cmd, const char *opt, const char *s, double lo,
                 double hi, float *out);

/* Array backend by name. Today: "ideal" (*be = NULL: dense fast path, or an
 * ideal backend when tiles are forced). The integrator adds "hwa" and
 * "spice" here (model: fitted model file, may be NULL). */
fg_status nn_cli_backend(const char *name, const char *model, int tiles,
                         fg_backend **be);

/* Prints a JSON string value with escapes. */
void nn_cli_json_str(FILE *f, const char *s);

/* Reports a failed status as "fgcosim CMD: message" and returns the exit
 * status (2 for bad input, 1 otherwise). */
int nn_cli_fail(const char *cmd, fg_status st);

#endif
