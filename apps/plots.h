/* Plots through gnuplot, written all or nothing (used by fit and validate).
 *
 * The data files and the PNGs of one command are made in a staging folder
 * DIR/.plots.tmp.XXXXXX and renamed into DIR only after gnuplot succeeded;
 * on any error the staging folder is removed (and DIR too if it was created
 * here and is empty), so a failed command leaves no partial plots.
 *
 *     plot_stage ps;
 *     fg_status st = plot_stage_open(&ps, dir);
 *     FILE *f;
 *     if (st == FG_OK && (st = plot_stage_fopen(&ps, "a.dat", &f)) == FG_OK)
 *         st = plot_stage_fclose(&ps, "a.dat", f);  // after writing to f
 *     if (st == FG_OK)
 *         st = plot_stage_gnuplot(&ps, script);  // one %s: the folder to cd to
 *     if (st == FG_OK)
 *         st = plot_stage_commit(&ps);
 *     plot_stage_close(&ps);
 */
#ifndef FGCOSIM_PLOTS_H
#define FGCOSIM_PLOTS_H

#include "fgcore.h"

#include <stdio.h>

typedef struct {
    char *dir;    /* DIR, as given                                    */
    char *stage;  /* DIR/.plots.tmp.XXXXXX, NULL when closed           */
    int made_dir; /* DIR was created by plot_stage_open               */
} plot_stage;

/* Creates DIR (one level) if missing and the staging folder inside it. */
fg_status plot_stage_open(plot_stage *ps, const char *dir);
/* Opens file `name` of the staging folder for writing. */
fg_status plot_stage_fopen(const plot_stage *ps, const char *name, FILE **f);
/* Closes f; FG_ERR_IO naming the file if a write or the close failed. */
fg_status plot_stage_fclose(const plot_stage *ps, const char *name, FILE *f);
/* Runs gnuplot on script, a printf format with one %s: the staging folder
 * (the script cd's there and writes its PNGs by bare name). */
fg_status plot_stage_gnuplot(const plot_stage *ps, const char *script);
/* Renames every file of the staging folder into DIR. */
fg_status plot_stage_commit(plot_stage *ps);
/* Removes what is left of the staging folder, and DIR if it was made here
 * and nothing was committed; frees ps. Safe after a failed open. */
void plot_stage_close(plot_stage *ps);

/* The whole sequence: open DIR, write(ps, ctx) the data files, gnuplot
 * script, commit, close. */
typedef fg_status (*plot_write_fn)(const plot_stage *ps, const void *ctx);
fg_status plot_make(const char *dir, plot_write_fn write, const void *ctx,
                    const char *script);

#endif
