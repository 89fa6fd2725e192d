/* The configuration sweep behind `fgcosim sweep`: a grid of perturbation
 * values, its resumable CSV, the worker processes and the report. */
#ifndef FGCOSIM_SWEEP_H
#define FGCOSIM_SWEEP_H

#include "fgcore.h"
#include "nn_cli.h"
#include "train.h"

#define SWEEP_MAX_AXES 4
#define SWEEP_MAX_VALUES 64

typedef struct {
    char key[32];                 /* a perturbation key            */
    int n;
    double v[SWEEP_MAX_VALUES];   /* in the order given            */
} sweep_axis;

typedef struct {
    int naxes;
    sweep_axis ax[SWEEP_MAX_AXES];
} sweep_grid;

/* Adds an axis "KEY=LO:HI:STEP" (inclusive, STEP > 0) or "KEY=V1,V2,...".
 * FG_ERR_PARSE / FG_ERR_RANGE naming what is wrong. */
fg_status sweep_grid_add(sweep_grid *g, const char *arg);
/* Every configuration is a valid perturbation on top of base, and one
 * that can go over the backend named. */
fg_status sweep_grid_check(const sweep_grid *g, const fg_perturb *base,
                           const char *backend);
int sweep_grid_size(const sweep_grid *g);
/* vals (naxes) of configuration idx (the last axis runs fastest). */
void sweep_grid_values(const sweep_grid *g, int idx, double *vals);
/* "read_noise=0,0.2,...;prog_bits=1,3" */
void sweep_grid_describe(const sweep_grid *g, char *buf, size_t n);

typedef struct {
    int idx;            /* configuration index in the grid     */
    double acc, loss;   /* test accuracy (fraction), final train loss */
    int diverged;       /* the loss became NaN/inf             */
    double seconds;
    char error[160];    /* "" when the run finished            */
} sweep_row;

typedef struct {
    sweep_row *r;
    int n, cap;
} sweep_rows;

/* Reads DIR/sweep.csv if it exists (its header and every row must belong
 * to grid g: FG_ERR_FORMAT naming the file and line otherwise; rows with
 * an error are dropped, to be run again; a last line cut short is removed
 * from the file), or creates it with its header. */
fg_status sweep_csv_load(const char *dir, const sweep_grid *g, sweep_rows *rows);
void sweep_rows_free(sweep_rows *rows);

typedef struct {
    const sweep_grid *g;
    const nn_train_opts *train;     /* quiet, 1 thread, tiles         */
    const nn_cli_backend_opts *backend; /* its perturb: the base        */
    const char *dir;
    int parallel;
} sweep_run_cfg;

/* Runs every configuration not in rows, `parallel` worker processes at a
 * time, appending each row to DIR/sweep.csv as it finishes. */
fg_status sweep_run(const sweep_run_cfg *c, sweep_rows *rows);
/* DIR/report.md and heat maps (plots: gnuplot) from rows. */
fg_status sweep_report(const char *dir, const sweep_grid *g, const sweep_rows *rows,
                       int plots);

#endif
