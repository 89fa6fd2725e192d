/* Internal to model_fit/: the per-vector kernel in normalised units. */
#ifndef MF_INTERNAL_H
#define MF_INTERNAL_H

#include "model_fit.h"

#include <cjson/cJSON.h>

/* The model file's JSON object (caller deletes) / a model from one (the
 * format and version checked; *m untouched on error). */
cJSON *mf_model_cjson(const fit_model *m);
fg_status mf_model_from_cjson(const cJSON *root, const char *what, fit_model *m);
/* A JSON document's reader: root into out; what names the file. */
typedef fg_status (*mf_json_reader)(const cJSON *root, const char *what, void *out);
/* text (named what) through rd; FG_ERR_PARSE if it is not JSON. */
fg_status mf_json_parse(const char *text, const char *what, mf_json_reader rd, void *out);
/* The file at path through rd (FG_ERR_IO naming it if unreadable). */
fg_status mf_json_load(const char *path, mf_json_reader rd, void *out);
/* Prints root (deleting it; NULL: out of memory) and writes it to path
 * atomically. */
fg_status mf_json_save(const char *path, cJSON *root);

/* t^w_exp of a programmed target t (0 for t <= 0): fit_model_cell without
 * the column gain, and its derivative with respect to the gain. */
double mf_target_pow(const fit_model *m, double t);

/* Normalised parameters (y-units, see model_fit.h). */
typedef struct {
    double a;                /* lambda * Vs                               */
    double k[FG_CELLS];      /* (16,16) rise/fall step, y-units           */
    double rho[FG_CELLS];    /* (16,16) residual charge, y-units          */
    double delta[FG_ROWS];   /* pulse shortening per row, T_max units     */
    double beta[FIT_NBETA];
    double beta2[FIT_NBETA2];
    double off[FG_COLS];     /* y-units                                   */
    double vs;               /* I_unit T_max / C_BL, V per y-unit          */
    double kscale;           /* V_read / Vs: k = kappa * kscale            */
    double qscale;           /* 1/(I_unit T_max): rho = q * qscale         */
    double tscale;           /* 1/T_max: delta = t_edge * tscale           */
} mf_ip;

void mf_ip_from_model(mf_ip *ip, const fit_model *m);

/* Per-lane (per-column) gradients of the pre-coupling outputs u_j. */
typedef struct {
    double dx[FG_ROWS];      /* summed over lanes                          */
    double dw[FG_CELLS];     /* (16,16): entry (i,j) is lane j             */
    double da[FG_COLS];      /* lane j                                     */
    double dk[FG_CELLS];     /* (16,16) lane j                             */
    double drho[FG_CELLS];   /* (16,16) lane j                             */
    double ddelta[FG_CELLS]; /* (16,16): entry (i,j) is row i's delta, lane j */
} mf_lane_grad;

/* u (16) = pre-coupling outputs of one vector x (16). */
void mf_vec_forward(double *u, const double *x, const double *w,
                    const mf_ip *ip);
/* g += gradients of sum_j du_j * u_j; also returns u (16). */
void mf_vec_backward(mf_lane_grad *g, double *u, const double *du,
                     const double *x, const double *w, const mf_ip *ip);
/* y (16) = coupling + offset of u (16). */
void mf_vec_couple(double *y, const double *u, const mf_ip *ip);
/* Maps lane gradients (lane j weighted by nothing) to physics gradients
 * dp (+=) in SI units. */
void mf_lane_to_params(fit_params *dp, const mf_lane_grad *g, const mf_ip *ip);

/* The float32 kernel (fast_kernel.h) as built for an instruction set:
 * mf_fast_base (fast_base.c: x86-64 baseline, every machine) and, where
 * MF_HAVE_V3, mf_fast_v3 (fast_v3.c: x86-64-v3, AVX2). Both give the same
 * bits; fit_model_*_f32* run the one mf_fast() picks (fast_dispatch.c). */
typedef struct {
    const char *name; /* fit_kernel_name() */
    fg_status (*forward)(float *y, const float *x, const float *w, int nt,
                         const fit_model *m, int B);
    fg_status (*backward)(float *dx, float *dw, const float *dy, const float *x,
                          const float *w, int nt, const fit_model *m, int B);
} mf_fast_kernel;

extern const mf_fast_kernel mf_fast_base;
#ifdef MF_HAVE_V3
extern const mf_fast_kernel mf_fast_v3;
#endif
/* mf_fast_v3 where this CPU has AVX2 and FMA and FGCOSIM_KERNEL is not
 * "base", else mf_fast_base. */
const mf_fast_kernel *mf_fast(void);

#endif
