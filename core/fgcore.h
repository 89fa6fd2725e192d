/* fgcore.h — shared types of fgcosim: array geometry, operating point, the
 * array backend interface, status codes, error messages, progress, hashing.
 *
 * Worked example: an ideal 16x16 VMM through the backend seam.
 *
 *     fg_backend *be = fg_backend_ideal_new();
 *     float w[FG_ROWS * FG_COLS] = {0};          // (16, 16) normalised weights
 *     float x[2 * FG_ROWS] = {0}, y[2 * FG_COLS]; // (B=2, 16) pulse fractions
 *     w[3 * FG_COLS + 5] = 0.5f; x[3] = 1.0f;
 *     if (fg_backend_vmm(be, w, x, y, 2) != FG_OK)
 *         fprintf(stderr, "%s\n", fg_errmsg());
 *     // y[5] == 0.5f: row 3 fully on, cell (3,5) at half of I_unit
 *     fg_backend_free(be);
 *
 * Units are SI everywhere (V, A, s, F, ohm, m).
 */
#ifndef FGCORE_H
#define FGCORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FG_ROWS 16 /* word lines (inputs)  */
#define FG_COLS 16 /* bit lines (outputs)  */
#define FG_CELLS (FG_ROWS * FG_COLS)

/* ---- status ------------------------------------------------------------ */
typedef enum {
    FG_OK = 0,
    FG_ERR_IO,        /* missing file, cannot read or write                  */
    FG_ERR_PARSE,     /* malformed input file                                */
    FG_ERR_RANGE,     /* value out of its allowed range                      */
    FG_ERR_FORMAT,    /* wrong format version, shape or magic                */
    FG_ERR_NOMEM,     /* allocation failed                                   */
    FG_ERR_SPICE,     /* ngspice reported an error or died                   */
    FG_ERR_CONVERGE,  /* a simulation or fit did not converge                */
    FG_ERR_UNSUPPORTED, /* operation the chosen backend cannot do            */
    FG_ERR_INTERNAL,
} fg_status;

const char *fg_status_to_string(fg_status st);

/* The last error message of this thread (set by fg_error), "" if none. */
const char *fg_errmsg(void);
/* Sets the message and returns st, so callers can `return fg_error(...)`. */
fg_status fg_error(fg_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fg_error_clear(void);
/* Exit status for a status: 2 for bad input (io/parse/range/format), 1 else. */
int fg_status_exit_code(fg_status st);
/* Warnings that do not stop a call (a SPICE pattern that failed and was
 * recorded as such): handed to the sink set here, by default one line
 * "fgcosim: MSG" on stderr. The sink is the one piece of process-wide
 * state of the library; fg_set_warn(NULL, NULL) restores the default. */
typedef void (*fg_warn_fn)(const char *msg, void *user);
void fg_set_warn(fg_warn_fn fn, void *user);
void fg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- operating point ---------------------------------------------------- */
/* What a chip user knows of the array: the nominal operating point. The fit
 * may read this, never the element values of a netlist. */
typedef struct {
    double v_pre;   /* bit-line precharge voltage, V                         */
    double v_read;  /* word-line pulse amplitude, V                          */
    double t_max;   /* pulse width of input 1.0, s                           */
    double c_bl;    /* nominal bit-line integrating capacitance, F           */
    double i_unit;  /* cell current of weight 1.0, A                         */
} fg_op_point;

fg_op_point fg_op_point_default(void);
/* The fields in file order (v_pre, v_read, t_max, c_bl, i_unit): names,
 * SI units, and the values as a vector. */
#define FG_OP_NFIELDS 5
extern const char *const fg_op_field_name[FG_OP_NFIELDS];
extern const char *const fg_op_field_unit[FG_OP_NFIELDS];
void fg_op_point_to_vec(const fg_op_point *op, double v[FG_OP_NFIELDS]);
/* Index of the first field in which a and b differ by more than 1e-9
 * relative (a NaN always differs); -1 when they agree. */
int fg_op_point_differs(const fg_op_point *a, const fg_op_point *b);
/* y = c_bl * (v_pre - v_bl) / (i_unit * t_max): normalised output. */
double fg_op_y_from_v(const fg_op_point *op, double v_bl);
double fg_op_v_from_y(const fg_op_point *op, double y);

/* ---- operating corner --------------------------------------------------- */
/* Where the chip runs, as opposed to where it was specified: die
 * temperature (ngspice .temp), supply scale applied to the rails a chip
 * derives from its supply, and the time since programming (retention
 * drift of the stored threshold shift). Nominal: 27 C, supply 1, no drift.
 *
 * Rails (FG_RAIL_*): by default V_read (the word-line driver's high level)
 * and V_pre (the precharge level) follow the supply, since both are taken
 * from it in a chip without a regulated reference; T_max comes from the
 * clock and C_BL is a capacitor, so neither moves. Outputs at a corner are
 * read as the drop below the precharge level the chip actually applied.
 *
 * Retention (charge loss towards the neutral level, logarithmic in time,
 * with a per-cell spread; see README "Operating corners"):
 *   L_ij   = rate * log10(1 + t / t0) * max(0, 1 + sigma * z_ij),  z ~ N(0,1)
 *   dVT'_ij = neutral + (dVT_ij - neutral) * (1 - min(L_ij, 1))
 * z_ij is drawn from drift_seed and the programmed dVT matrix itself, so
 * the same array programmed the same way drifts the same way. */
enum { FG_RAIL_READ = 1, FG_RAIL_PRE = 2 };
typedef struct {
    double temp_c;        /* die temperature, C                       (27) */
    double supply;        /* supply scale, 1 = nominal                  (1) */
    unsigned rails;       /* FG_RAIL_* that follow the supply  (READ|PRE) */
    double drift_s;       /* time since programming, s                  (0) */
    double drift_rate;    /* fraction of the stored shift lost per decade  */
    double drift_t0_s;    /* onset time of the logarithmic loss, s         */
    double drift_sigma;   /* relative per-cell spread of the loss          */
    double drift_neutral_v; /* dVT the stored charge relaxes towards, V    */
    uint64_t drift_seed;
    double t_max_trim;    /* controller trim, not environment: the pulse
                             time base is T_max * t_max_trim, outputs stay
                             normalised to the nominal T_max           (1) */
    double out_gain;      /* controller trim: digital gain on the read-out
                             (an ADC reference trim), for a swing that the
                             T_max trim cannot restore within its range;
                             on silicon it costs SNR by this factor    (1) */
} fg_corner;

#define FG_TEMP_NOMINAL_C 27.0
fg_corner fg_corner_nominal(void);
int fg_corner_is_nominal(const fg_corner *c);
/* Ranges: temperature -55..150 C, supply 0.5..1.5, drift time >= 0 (and
 * <= 1e10 s), rate 0..0.2 per decade, t0 > 0, sigma 0..2, neutral -1..1 V,
 * T_max trim 0.05..4, output gain 0.1..20.
 * FG_ERR_RANGE naming the option (--temp, --supply, --drift-time, ...). */
fg_status fg_corner_check(const fg_corner *c);
/* The operating point the chip actually applies at corner c (NULL:
 * nominal): the rails of c->rails scaled by c->supply, T_max trimmed. */
fg_op_point fg_corner_op(const fg_corner *c, const fg_op_point *nominal);
/* Normalised output of bit-line voltage v at corner c: the drop below the
 * precharge level applied there, in units of the nominal
 * I_unit * T_max / C_BL (so a trimmed T_max shows as a gain), times the
 * controller's output gain. */
double fg_corner_y_from_v(const fg_corner *c, const fg_op_point *nominal, double v);
/* dvt_out (16,16) = the programmed dvt (16,16) after c->drift_s seconds
 * (a copy when there is no drift; c may be NULL). In place is allowed. */
void fg_corner_drift(const fg_corner *c, const double *dvt, double *dvt_out);
/* The mean fraction of the stored shift lost after c->drift_s:
 * drift_rate * log10(1 + drift_s / drift_t0_s) (0 without drift); a cell's
 * loss is that times max(0, 1 + drift_sigma * z), z ~ N(0,1), at most 1. */
double fg_corner_drift_loss(const fg_corner *c);
/* "27 C, supply 1, drift 0 s" style text for headers and logs. */
void fg_corner_describe(const fg_corner *c, char *buf, size_t n);

/* ---- array backend ------------------------------------------------------ */
/* The seam of the design: given pulse widths x (B,16) in [0,1] and a tile's
 * normalised weights w (16,16) (w_ij = I_ij / I_unit, row i = word line,
 * column j = bit line), return the 16 normalised column outputs y (B,16).
 * Implementations: ideal (y = x.W), hwa (fitted compact model), spice. */
typedef struct fg_backend fg_backend;
typedef struct {
    const char *name;
    /* y (B,16) = f(w (16,16), x (B,16)) */
    fg_status (*vmm)(void *ctx, const float *w, const float *x, float *y, int B);
    /* Optional (NULL when the backend cannot differentiate, e.g. spice).
     * Accumulates (+=) dx (B,16) and dw (16,16) given dy (B,16); either may
     * be NULL (not needed: the backend may skip its work). */
    fg_status (*vmm_backward)(void *ctx, const float *w, const float *x,
                              const float *dy, float *dx, float *dw, int B);
    /* Optional: nt tiles driven by the same pulses (a layer's row of tiles
     * shares its word lines): w (nt,16,16), x (B,16), y (nt,B,16); what
     * depends on x alone (the pulse ends and their order) is then worked
     * out once per vector. NULL: fg_backend_vmm_tiles calls vmm per tile. */
    fg_status (*vmm_tiles)(void *ctx, const float *w, int nt, const float *x,
                           float *y, int B);
    /* Optional, its backward: dy (nt,B,16); dx (B,16) += the sum over the
     * tiles, dw (nt,16,16) +=; either may be NULL. NULL: per tile. */
    fg_status (*vmm_tiles_backward)(void *ctx, const float *w, int nt,
                                    const float *x, const float *dy, float *dx,
                                    float *dw, int B);
    void (*free)(void *ctx);
} fg_backend_ops;

fg_backend *fg_backend_new(const fg_backend_ops *ops, void *ctx);
const char *fg_backend_name(const fg_backend *be);
void *fg_backend_ctx(const fg_backend *be);
int fg_backend_can_backward(const fg_backend *be);
/* Counts array operations (one per row of x) since creation. */
uint64_t fg_backend_ops_count(const fg_backend *be);
fg_status fg_backend_vmm(fg_backend *be, const float *w, const float *x,
                         float *y, int B);
fg_status fg_backend_vmm_backward(fg_backend *be, const float *w,
                                  const float *x, const float *dy, float *dx,
                                  float *dw, int B);
/* nt tiles on the same pulses x (B,16): w (nt,16,16), y (nt,B,16); through
 * the backend's vmm_tiles, else tile by tile (same results). Counts nt*B. */
fg_status fg_backend_vmm_tiles(fg_backend *be, const float *w, int nt,
                               const float *x, float *y, int B);
/* m (16, nt*16), m[i][t*16+j] = w[t][i][j]: the nt tiles w (nt,16,16) of
 * a row side by side, as one matrix (x . m is their ideal product). */
void fg_tiles_pack(float *m, const float *w, int nt);
/* dy (nt,B,16): dx (B,16) += summed over the tiles in order, dw (nt,16,16)
 * += per tile; either may be NULL. */
fg_status fg_backend_vmm_tiles_backward(fg_backend *be, const float *w, int nt,
                                        const float *x, const float *dy,
                                        float *dx, float *dw, int B);
void fg_backend_free(fg_backend *be);
/* The ideal backend: y = x . W (OpenBLAS sgemm). */
fg_backend *fg_backend_ideal_new(void);

/* ---- perturbations ------------------------------------------------------ */
/* Non-idealities that are not in a backend's physics, as a wrapper backend
 * over any inner one (ideal, hwa, spice), seeded and composable:
 *
 *     fg_perturb p;
 *     fg_perturb_init(&p);                          // none
 *     if (fg_perturb_parse(&p, "read_noise=0.2,prog_bits=5") != FG_OK) ...
 *     fg_backend *be;
 *     if (fg_perturb_wrap(fg_backend_ideal_new(), &p, &be) == FG_OK) ...
 *
 * Units: outputs and read noise in normalised outputs (1 = one unit cell,
 * w = 1, under a full pulse, x = 1; a tile's full scale is 16); dVT in V;
 * times in s. The keys, their ranges and meaning are one table in
 * core/perturb.c (fg_perturb_help prints it). Programming-side draws are
 * seeded by seed and a hash of the tile's targets: stable for as long as a
 * tile's weights are. Backward: exact through prog_sigma, drift and stuck,
 * straight through the quantisers and the ADC. */
typedef struct {
    double read_noise;   /* sigma per output per read                     */
    double bwd_noise;    /* sigma on backward dx, relative to max|dy|     */
    double prog_sigma_v; /* sigma of dVT per cell at programming, V        */
    double slope_v;      /* n kT/q: current factor exp(-dVT/slope)         */
    double drift_s, drift_rate, drift_t0_s, drift_sigma; /* retention      */
    double stuck_off, stuck_on; /* fractions of cells                     */
    double ir_scale;     /* factor on the fitted voltage-drop physics (1);
                            applied where the hwa backend is built        */
    int adc_bits;        /* 0: no ADC                                      */
    double adc_range;    /* ADC full scale (16)                            */
    int pulse_bits;      /* 0: continuous pulse widths                     */
    int prog_bits;       /* 0: continuous programming                      */
    uint64_t seed;
} fg_perturb;

void fg_perturb_init(fg_perturb *p); /* no perturbation, defaults */
/* "key=value[,key=value...]"; errors name the key and its range. */
fg_status fg_perturb_parse(fg_perturb *p, const char *spec);
fg_status fg_perturb_set(fg_perturb *p, const char *key, double value);
double fg_perturb_get(const fg_perturb *p, const char *key); /* NAN: unknown */
const char *fg_perturb_key_name(int i); /* the i-th key, NULL past the end */
int fg_perturb_is_none(const fg_perturb *p);
int fg_perturb_weights(const fg_perturb *p); /* any programming-side one */
/* "read_noise=0.2,prog_bits=5" (the non-default keys) or "none". */
void fg_perturb_describe(const fg_perturb *p, char *buf, size_t n);
void fg_perturb_help(FILE *f);
/* *out = inner behind the perturbations p. On success *out owns inner
 * (fg_backend_free(*out) frees both); on failure the caller still does.
 * ir_scale is not applied here (it is the hwa model's). */
fg_status fg_perturb_wrap(fg_backend *inner, const fg_perturb *p, fg_backend **out);

/* ---- linearised gradient ------------------------------------------------- */
/* *out: inner's forward, and the backward of the per-sample, per-column
 * linear model y_bj = G_bj (x.w)_bj with G_bj = y_bj / (x.w)_bj from the
 * forward pass (1 where |x.w| < 1e-6, clipped to [0,4]): the ideal
 * transpose with each output gradient scaled by its gain. A cheap
 * gradient for an expensive backend (hwa), or one for a backend without
 * any (spice). On success *out owns inner. Named as inner. */
fg_status fg_backend_linear_grad(fg_backend *inner, fg_backend **out);

/* ---- threads ------------------------------------------------------------ */
/* Threads for the compute kernels that split a batch (the hwa backend's
 * compact model); n <= 0: all online cores, the default. */
void fg_set_threads(int n);
int fg_threads(void);

/* ---- progress on a terminal -------------------------------------------- */
typedef struct {
    const char *what;
    uint64_t total;
    double t_start, t_last;
    int enabled; /* stderr is a terminal (or FGCOSIM_PROGRESS=1) */
} fg_progress;

void fg_progress_init(fg_progress *p, const char *what, uint64_t total);
/* Redraws at most ~10 times a second: done/total, rate, ETA. */
void fg_progress_update(fg_progress *p, uint64_t done);
void fg_progress_done(fg_progress *p, uint64_t done);
double fg_now(void); /* monotonic seconds */

/* ---- small utilities ---------------------------------------------------- */
/* SHA-256 of a buffer as 64 hex characters + NUL. */
void fg_sha256_hex(const void *data, size_t len, char out[65]);
/* splitmix64-seeded xoshiro256** generator: same seed, same stream. */
typedef struct { uint64_t s[4]; } fg_rng;
void fg_rng_seed(fg_rng *r, uint64_t seed);
uint64_t fg_rng_next(fg_rng *r);
double fg_rng_uniform(fg_rng *r);  /* [0,1) */
double fg_rng_normal(fg_rng *r);   /* N(0,1) */
/* out (n) += sigma * z, z ~ N(0,1) by inverse transform: the quantile
 * interpolated linearly inside 1024 equal-probability bins, the two
 * outermost bins exact (fg_normal_quantile); the fast path for noise on
 * every output of every tile. */
void fg_rng_normal_add(fg_rng *r, float *out, size_t n, float sigma);
/* The standard normal quantile Phi^-1(p), p in (0,1), relative error
 * below 1.2e-9 (Acklam's rational approximation). */
double fg_normal_quantile(double p);
/* Reads a whole file (NUL-terminated); sets fg_error naming the file. */
fg_status fg_file_read(const char *path, char **data, size_t *len);
/* Writes path via a temporary name in the same folder, then renames. */
fg_status fg_file_write_atomic(const char *path, const void *data, size_t len);
/* Temporary name for atomic writes: "<path>.tmp.<pid>" (caller frees). */
char *fg_tmp_name(const char *path);
/* Parses a CSV of rows with exactly `cols` numbers in [lo,hi]. Allocates
 * *vals (rows*cols). Errors name file, line and column. */
fg_status fg_csv_read(const char *path, int cols, double lo, double hi,
                      double **vals, int *rows);

#endif
