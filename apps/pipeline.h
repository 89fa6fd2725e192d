/* The design-to-deployment loop on one layout (used by demo and explore). */
#ifndef FGCOSIM_PIPELINE_H
#define FGCOSIM_PIPELINE_H

#include "fgcore.h"

#include <stdio.h>

typedef struct {
    const char *layout; /* built-in name or JSON file                     */
    const char *dir;    /* output folder of this layout's files           */
    const char *data;   /* data set spec for mlp-lowres                   */
    int patterns;       /* calibration patterns                           */
    int spice_images;   /* test images evaluated on the SPICE "chip"       */
    int hwa_epochs;     /* epochs of hardware-aware training              */
    fg_corner corner;   /* where the chip runs: calibration and SPICE
                           evaluation (temperature, supply, drift)       */
} pipe_opts;

typedef struct {
    double ser_naive, ser_linear, ser_fitted;   /* dB, held-out SPICE data */
    double digital, hwa_train;                  /* test accuracy after training */
    double digital_first;                       /* digital on the spice images */
    double ideal_on_hwa, hwa_on_hwa;            /* full test set           */
    double ideal_on_spice, hwa_on_spice;        /* first spice_images      */
    int spice_images;
    double energy_vmm, energy_mac; /* J, mean over the calibration patterns */
    double latency;                /* s per VMM                             */
    double seconds;
} pipe_result;

/* simulate -> fit -> train ideal and hwa -> evaluate on hwa and spice. */
fg_status pipeline_run(const pipe_opts *o, pipe_result *r);
/* The step's results as a JSON object (the caller cJSON_Delete()s it). */
struct cJSON *pipeline_json(const pipe_opts *o, const pipe_result *r);
void pipeline_table_head(FILE *f);
void pipeline_table_row(FILE *f, const pipe_opts *o, const pipe_result *r);

#endif
