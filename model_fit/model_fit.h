/* model_fit.h — the compact HWA model of one 16x16 FG array (forward pass,
 * analytic gradients, the `hwa` backend), weight extraction (naive, linear,
 * fitted), the Levenberg–Marquardt fit and the SER metric.
 *
 * The model (all in normalised units: y-units of I_unit*T_max/C_BL volts,
 * time in T_max, currents in I_unit; Vs = I_unit*T_max/C_BL):
 *
 *   u_j(t) = C_BL (V_pre - V_j(t)) / (I_unit T_max)        (bit-line drop)
 *   du_j/dt = g(u_j) S_j(t),  g = (1 - a u)^2,  a = lambda*Vs,
 *   i.e. I(V) = I(V_pre) (1 + lambda (V - V_pre))^2: the nfg cell's
 *   subthreshold current with DIBL follows a square law in V_DS + 1/lambda
 *   - V_pre (measured on the card: sqrt(I) is linear in V_DS to 1% from
 *   0.2 to 0.8 V, lambda 0.88/V, the same at V_GS 0.40..0.57 V; a pure
 *   exponential misses the growing slope at low V_DS);
 *   S_j(t) = sum of w_ij over rows i whose pulse is on at t; row i is on
 *   during [0, e_i), e_i = x_i - delta_i (1 - exp(-x_i/FIT_XR)) (clamped at
 *   0), delta_i = t_edge_i/T_max: the on-time a pulse loses in its finite
 *   WL edges (current exponential in V_GS, so an edge conducts far less
 *   than half its length); the factor keeps x = 0 continuous.
 *   A slot of charge D = S dt is exact: with s = 1 - a u,
 *   u -> (u + D s)/(1 + a D s)   (in Z = u/(1 - a u) it is Z += D).
 *   Row i rising (t=0) steps u_j by -k_ij, falling (t=e_i) by
 *   +k_ij + rho_ij w_ij (1 - exp(-x_i/FIT_XR)):  k_ij = kappa_ij V_read/Vs,
 *   kappa_ij = kappa_row_i + kappa_col_j + edge slopes on columns 0 and 15,
 *   rho_ij = (q_row_i + q_col_j)/(I_unit T_max): residual (channel) charge
 *   per unit of cell current, so an off cell (w = 0) injects none -- a
 *   constant per row and column fitted the calibration array (all cells on)
 *   and lost 17 dB on a network's sparse tiles (model version 3); the onset
 *   factor makes a zero-width pulse continuous with "no pulse").
 *   Read: y_j = u_j + beta_{j-1} u_{j-1} + beta_j u_{j+1}
 *             + beta2_{j-2} u_{j-2} + beta2_j u_{j+2} + v_off_j/Vs:
 *   the bit lines' capacitance matrix C_BL (I + L), L the coupling
 *   Laplacian, mixes the drops by its inverse, whose second band (~c^2,
 *   a few % at c = C_c/C_BL = 1/3) the nearest-neighbour term alone
 *   missed: on mlp-lowres's tiles on `coupled`, 40-58 % of the model
 *   version 3 residual was linear in the drops two columns away.
 *
 * Gradients (fit_model_backward) are exact for this piecewise-smooth
 * function; where it is not differentiable they are one-sided:
 *   - inputs x_i < 0 count as 0 (gradient 0); at x_i == 0 the gradient is
 *     the right derivative (pulse widening from 0+), the model being
 *     continuous there; an end e_i clamped at 0 (t_edge_i > FIT_XR T_max)
 *     has gradient 0; s = 1 - a u is kept >= 0 and 1 + a D s > 0 (never
 *     reached at physical sizes; the gradient ignores the clamps);
 *   - ties (e_i == e_k, e.g. all rows at a common width): the x gradient is
 *     the right derivative (the row whose width grows ends last); gradients
 *     w.r.t. w and the physics parameters are ordinary derivatives (the
 *     model is smooth in them at ties).
 * The backward pass recomputes the per-vector trajectory (cost ~ forward),
 * so no cache is carried between forward and backward (the backend seam
 * has none either).
 *
 * Example:
 *     fit_model m;  fit_model_init(&m, &op);        // ideal physics, w = 0
 *     fit_model_forward(y, x, m.w, &m, B);          // y (B,16)
 *     fit_model_backward(dx, dw, &dp, dy, x, m.w, &m, B);  // += grads
 */
#ifndef MODEL_FIT_H
#define MODEL_FIT_H

#include "fgcore.h"

#define FIT_XR 0.01 /* width scale (in T_max) of residual-charge onset */
#define FIT_NBETA (FG_COLS - 1)
#define FIT_NBETA2 (FG_COLS - 2)

/* Physics parameters, SI units. Only doubles: the field table below maps
 * them to a flat vector (fit_param_fields). */
typedef struct {
    double lambda;                /* 1/V   g(V) = (1 + lambda (V - V_pre))^2 */
    double kappa_row[FG_ROWS];    /* 1     WL->BL coupling ratio, row term;
                                     kappa_row[0] == 0 (gauge, not fitted)  */
    double kappa_col[FG_COLS];    /* 1     column term                       */
    double kappa_edge[2];         /* 1     extra on columns 0 / 15, times i/15 */
    double q_row[FG_ROWS];        /* C     residual charge per switching row;
                                     q_row[0] == 0 (gauge, not fitted)      */
    double q_col[FG_COLS];        /* C     column term                       */
    double beta[FIT_NBETA];       /* 1     BL-BL coupling of columns p, p+1   */
    double v_off[FG_COLS];        /* V     output offset (precharge release) */
    double t_edge[FG_ROWS];       /* s     on-time lost per pulse (finite WL
                                     edges in subthreshold), row term      */
    double beta2[FIT_NBETA2];     /* 1     BL-BL coupling of columns p, p+2
                                     (model version 4; 0 in version 3)    */
} fit_params;

typedef struct {
    const char *name;
    const char *unit;
    size_t offset; /* offsetof(fit_params, ...) */
    int count;
    double scale;  /* typical magnitude: the fit works in value/scale */
    int first_fitted; /* 1 if element 0 is a gauge-fixed zero */
    int since;     /* the model file version that added it (0: every one);
                      older files read it as zeros */
} fit_param_field;

#define FIT_NFIELDS 10
#define FIT_NPHYS (1 + FG_ROWS + FG_COLS + 2 + FG_ROWS + FG_COLS + FIT_NBETA + FG_COLS \
                   + FG_ROWS + FIT_NBETA2)
/* Unknowns of the joint fit: cells + physics less the two gauge-fixed. */
#define FIT_NFITTED (FG_CELLS + FIT_NPHYS - 2)
extern const fit_param_field fit_param_fields[FIT_NFIELDS];

typedef struct {
    fg_op_point op;
    fit_params p;
    double w[FG_CELLS]; /* (16,16) normalised cell currents I_ij / I_unit */
    /* Programming gain per column (1): effective cell current of column j
     * per unit of programmed target weight, as the chip user measures it
     * by comparing the fitted cells with the weights they programmed (the
     * bit line's real capacitance, wire and drain junctions included, sits
     * above the nominal C_BL: ~0.95 on the built-in layouts). The hwa
     * backend scales a tile's target weights by it; 1 when unknown. */
    double w_gain[FG_COLS];
    /* Programming exponent (1): the effective cell current is
     * w_gain_j * target^w_exp. Cells in subthreshold carry
     * I ~ exp(-dVT/(n kT/q)), so cells programmed at one temperature T0
     * and read at T carry I^(T0/T) up to a common factor, and a retention
     * loss of a fraction L of every dVT gives I^(1-L): a change of the
     * ratios between cells, which no column gain absorbs. 1 at the point
     * where the cells were programmed; fitted by a recalibration. */
    double w_exp;
    /* The corner the model describes (file field "corner", optional:
     * nominal when absent): temperature, supply, drift and the
     * controller's trims it was recalibrated at (fgcosim recalibrate). */
    fg_corner corner;
} fit_model;

/* The effective normalised cell current of programmed target t at
 * column j: w_gain[j] * t^w_exp (0 for t <= 0). */
double fit_model_cell(const fit_model *m, double t, int j);
/* w (16,16) = the effective cells of programmed targets (16,16): the
 * tied cells through which a model sees a newly programmed array. */
void fit_model_tie(const fit_model *m, const double *target, double *w);
/* y (P,16) = the model on the tied cells of each pattern's own programmed
 * array: pattern p of x (P,16) on targets + 256 array[p] (targets
 * (A,16,16); array NULL: every pattern on targets (16,16)), run by run of
 * equal indices. What validate, fit and recalibrate predict for a data
 * set of one or several arrays. */
fg_status fit_model_forward_tied(double *y, const double *x, int P, const fit_model *m,
                                 const double *targets, const int *array);
/* Sets w_gain from the fitted cells and the programmed targets (16,16):
 * per column, least squares of w_fit = gain * w_target^w_exp. */
void fit_model_set_gain(fit_model *m, const double *w_target);

/* Ideal physics (all parameters 0), w = 0. */
void fit_model_init(fit_model *m, const fg_op_point *op);
/* Checks the op point (positive, finite) and parameters (finite). */
fg_status fit_model_check(const fit_model *m);

/* y (B,16) = model(x (B,16), w (16,16)) with m's op point and physics
 * (m->w is not read: training hands in its own w). */
fg_status fit_model_forward(double *y, const double *x, const double *w,
                            const fit_model *m, int B);
/* Accumulates (+=) dx (B,16), dw (16,16), dp (physics, same layout as
 * fit_params) given dy (B,16). Any of dx, dw, dp may be NULL. */
fg_status fit_model_backward(double *dx, double *dw, fit_params *dp,
                             const double *dy, const double *x,
                             const double *w, const fit_model *m, int B);

/* The same model in float32 for training (the hwa backend): same events
 * and clamps, no parameter gradients, empty slots skipped, lanes in SIMD.
 * Agrees with the double functions to float rounding. dx may be NULL; +=
 * like the above. */
fg_status fit_model_forward_f32(float *y, const float *x, const float *w,
                                const fit_model *m, int B);
fg_status fit_model_backward_f32(float *dx, float *dw, const float *dy,
                                 const float *x, const float *w,
                                 const fit_model *m, int B);
/* nt tiles on the same pulses x (B,16) (a row of a layer's tiles): w
 * (nt,16,16), y and dy (nt,B,16), dw (nt,16,16) +=, dx (B,16) += summed
 * over the tiles in order. The pulse ends and their order are worked out
 * once per vector, and up to 4 tiles run as one array of 64 lanes. y and
 * dw are those of nt calls of the functions above bit for bit; dx equals
 * their sum to float rounding (it sums over the lanes of a pass). */
fg_status fit_model_forward_f32_tiles(float *y, const float *x, const float *w,
                                      int nt, const fit_model *m, int B);
fg_status fit_model_backward_f32_tiles(float *dx, float *dw, const float *dy,
                                       const float *x, const float *w, int nt,
                                       const fit_model *m, int B);

/* The build of the float32 kernel this process runs: "x86-64-v3" (AVX2)
 * or "baseline" (same bits; FGCOSIM_KERNEL=base forces the baseline). */
const char *fit_kernel_name(void);

/* Flat vector of the physics parameters (FIT_NPHYS, field-table order). */
void fit_params_to_vec(const fit_params *p, double *v /*(FIT_NPHYS)*/);
void fit_params_from_vec(fit_params *p, const double *v /*(FIT_NPHYS)*/);
/* kappa_ij (16,16) from the structured terms. */
void fit_params_kappa(const fit_params *p, double *kappa /*(16,16)*/);

/* ---- model file (JSON) --------------------------------------------------- */
#define FIT_FORMAT "fgcosim-hwa-model"
#define FIT_VERSION 4 /* 2: square drain law, t_edge; 3: residual charge per
                         unit cell current; 4: second-neighbour coupling
                         beta2 (version 3 files read with beta2 = 0) */
/* Serialises to a malloc'd JSON string (caller frees) / parses one. */
char *fit_model_to_json(const fit_model *m);
fg_status fit_model_from_json(const char *text, const char *what, fit_model *m);
fg_status fit_model_save(const fit_model *m, const char *path); /* atomic */
fg_status fit_model_load(fit_model *m, const char *path);

/* ---- temperature model (tmodel.c) -----------------------------------------
 * One model over a temperature range: node models fitted (recalibrated) at
 * a few die temperatures of one supply, every quantity a function of T
 * through them: the physics parameters, the saved cells and the
 * programming exponent directly; the column gains and the controller's
 * trims (T_max trim, output gain) in log. The function: the Lagrange
 * polynomial through the 3 nodes nearest T (2 nodes: a line), exact at
 * the nodes; no extrapolation. What the chip shows at T is then the node
 * models' data, and T its temperature sensor's reading.
 *
 *     fit_tmodel t;
 *     if (fit_tmodel_init(&t, nodes, 3) != FG_OK) ...  // at -20, 27, 80 C
 *     fit_model m50;
 *     fit_tmodel_at(&t, 50.0, &m50);   // the chip at 50 C, trims included
 */
#define FIT_TNODES_MAX 8
#define FIT_TFORMAT "fgcosim-hwa-tmodel"
#define FIT_TVERSION 1
typedef struct {
    int n;
    fit_model node[FIT_TNODES_MAX]; /* sorted by corner.temp_c */
} fit_tmodel;
/* t from n (2..8) node models: one op point, supply, rails and drift,
 * temperatures at least 1 C apart. FG_ERR_RANGE naming what differs. */
fg_status fit_tmodel_init(fit_tmodel *t, const fit_model *nodes, int n);
/* The model at temp_c (within the nodes' range, else FG_ERR_RANGE), its
 * corner.temp_c = temp_c and its trims interpolated. */
fg_status fit_tmodel_at(const fit_tmodel *t, double temp_c, fit_model *out);
fg_status fit_tmodel_save(const fit_tmodel *t, const char *path); /* atomic */
/* FG_ERR_IO / FG_ERR_PARSE / FG_ERR_FORMAT / FG_ERR_RANGE naming the file
 * and the node. */
fg_status fit_tmodel_load(fit_tmodel *t, const char *path);
/* The same from the file's text; what names it in messages. */
fg_status fit_tmodel_from_json(const char *text, const char *what, fit_tmodel *t);

/* Scales the voltage-drop physics by k: lambda (drain law), kappa_* and
 * beta (couplings), q_* (residual charge); v_off and t_edge stay. k = 0
 * leaves a model without bit-line voltage drop (the ir_scale perturbation). */
void fit_model_scale_drop(fit_model *m, double k);

/* ---- the hwa backend ----------------------------------------------------- */
/* Copies m; w handed to vmm is the tile's (float) normalised weights.
 * FG_ERR_RANGE (a model that fit_model_check rejects, message set) or
 * FG_ERR_NOMEM; *out is NULL then. */
fg_status fit_backend_hwa_open(const fit_model *m, fg_backend **out);
/* The same, NULL on either error (fg_errmsg says which). */
fg_backend *fit_backend_hwa_new(const fit_model *m);

/* ---- metrics ------------------------------------------------------------- */
/* SER = 10 log10(sum y^2 / sum (y - yhat)^2) in dB over n values with
 * stride 1, or over column j of (P,16) arrays (fit_ser_col_db). */
double fit_ser_db(const double *y, const double *yhat, int n);
double fit_ser_col_db(const double *y, const double *yhat, int P, int j);
/* The SER of the differential outputs d_k = y_2k - y_2k+1 (k < 8) of (P,16)
 * arrays: what a network whose tiles hold w+ and w- on neighbouring
 * columns reads (train.h, analog tiles). A model whose errors are common
 * to both columns of a pair scores higher here than fit_ser_db, one whose
 * errors differ between neighbours lower. */
double fit_ser_pairs_db(const double *y, const double *yhat, int P);
/* sqrt(sum (y - yhat)^2 / sum y^2). */
double fit_rel_rms(const double *y, const double *yhat, int n);

/* ---- extraction and fit -------------------------------------------------- */
/* Indices (into x (P,16)) of one-hot full-width patterns for each row, -1 if
 * a row has none (first occurrence wins). Returns how many rows have one. */
int fit_find_one_hot(const double *x, int P, int idx[FG_ROWS]);
/* naive: w row i = measured y of the one-hot pattern of row i (ideal VMM).
 * FG_ERR_FORMAT if a row has no one-hot pattern. */
fg_status fit_extract_naive(const double *x, const double *y, int P,
                            double *w /*(16,16)*/);
/* linear: least-squares W for y = x.W over all P patterns. */
fg_status fit_extract_linear(const double *x, const double *y, int P,
                             double *w /*(16,16)*/);
/* y (P,16) = x . w */
void fit_ideal_vmm(double *y, const double *x, const double *w, int P);

typedef struct {
    int max_iter;      /* LM iterations of the final joint step (default 60) */
    int verbose;       /* progress lines on stderr                           */
    const double *w_target; /* (16,16) the programmed targets, or NULL. Given:
                          cells are tied to them, w_ij = gain_j * target_ij,
                          and the 16 gains are fitted instead of 256 free
                          cells. Free cells absorb a bit-line coupling (for
                          one programmed matrix, y = x.(W + beta N(W)) is
                          linear in W), so only tied cells make beta, and
                          the model, carry over to new weights.          */
    int n_arrays;      /* with w_target: several programmed arrays (a
                          network's tiles), w_target (n_arrays,16,16); the
                          cells of each are tied to its targets with the
                          same gains and physics. <= 1: one array        */
    const int *array;  /* (P) the array of each pattern when n_arrays > 1 */
    int fit_exp;       /* with w_target: also fit m->w_exp, the programming
                          exponent (else it is held at its value)      */
} fit_options;

typedef struct {
    int n_params;       /* fitted parameters (cells + physics)                */
    int iterations;     /* joint LM iterations                               */
    double cost0, cost; /* 0.5*sum r^2 at start / end                        */
    double seconds;
    int info;           /* gsl stop reason (1 small step, 2 small gradient) */
    int zero_patterns;  /* all-zero input patterns: > 0, v_off is their mean
                           output (measured, held fixed); 0: v_off fitted  */
} fit_report;

void fit_options_default(fit_options *o);
/* Fits the cell currents (all 256, or the 16 column gains of o->w_target;
 * then m->w_gain is set too) and the physics parameters of m (op point must
 * be set) to y (P,16) measured on x (P,16); m->w is the start if any entry
 * is non-zero, else the naive (or, lacking one-hot patterns, linear)
 * weights. */
fg_status fit_model_fit(fit_model *m, const double *x, const double *y, int P,
                        const fit_options *o, fit_report *rep);

#endif
