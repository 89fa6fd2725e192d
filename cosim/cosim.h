/* cosim.h — co-simulation of FG arrays through libngspice.
 *
 * Worked example: 100 calibration patterns on the default layout.
 *
 *     nl_layout *lay;  nl_layout_load("regular", &lay);
 *     fg_op_point op = nl_layout_op_point(lay);
 *     double w[FG_CELLS], dvt[FG_CELLS];          // (16,16) weights, V
 *     ... fill w in [0,1] ...
 *     cosim_weights_to_dvt(&op, w, 0.0, 1, dvt);  // I-V inversion via ngspice
 *     cosim_pool *pool;
 *     cosim_pool_new(&(cosim_pool_config){.layout = lay, .op = op, .jobs = 0},
 *                    dvt, &pool);
 *     double x[100 * FG_ROWS], v[100 * FG_COLS];  // (P,16) in, (P,16) V out
 *     int ok[100];
 *     cosim_patterns_generate(x, 100, 7);
 *     cosim_pool_run(pool, x, 100, v, ok, NULL);
 *     cosim_pool_free(pool);
 *
 * One ngspice instance per process: the pool forks worker processes, each
 * loads the deck once, programs weights and inputs with `alter`, runs, reads
 * only the bit-line voltages at read time and destroys the plot.
 */
#ifndef COSIM_H
#define COSIM_H

#include "fgcore.h"
#include "netlists.h"

/* ---- one ngspice instance in this process (used by workers) ------------ */
fg_status cosim_engine_init(void);
/* Loads a deck (text, '\n'-separated); parse errors reported by ngspice on
 * its stderr channel become FG_ERR_SPICE with the first message. */
fg_status cosim_engine_load(const char *deck);
/* Sets the 16 inputs of the loaded VMM deck, whose word lines are driven
 * as d (nl_deck_wl_drive of the deck's spec). */
fg_status cosim_engine_set_inputs(const fg_op_point *op, const double *x /*(16)*/,
                                  nl_wl_drive d);
fg_status cosim_engine_set_dvt(const double *dvt /*(16,16) V*/);
/* Runs the transient and copies v(bl<j>) at read time into v_bl (16). */
fg_status cosim_engine_run(double *v_bl /*(16)*/);

/* ---- energy of one VMM ------------------------------------------------------
 * From the deck's charge meters (nl_write_periphery): ngspice integrates
 * the currents of the strap and of each driver with the rule of each of
 * its steps, so the charges agree with what the bit-line capacitors lose
 * (a trapezoidal sum over the saved points does not: the step after a
 * breakpoint is backward Euler, and not every word-line corner is a time
 * point). Sources (the columns of /energy):
 *   precharge: the V_pre supply. The deck starts with its bit lines
 *     precharged (the operating point), so the supply's energy of a VMM is
 *     the recharge that follows it: V_pre * Q, Q the charge the cells
 *     took off the bit lines, which all flows to ground through the
 *     source-line strap (its meter). A recharge from V_BL to V_pre draws
 *     C (V_pre - V_BL) at V_pre: E = C V_pre dV, half stored on C, half
 *     lost in the switch.
 *   wordline: the 16 drivers VWL<i>. supply: V_read * the charge each
 *     driver sources while it drives high, what a CMOS driver fed from a
 *     V_read rail draws from it (the charge a falling edge returns goes to
 *     ground, not back to the rail); delivered: the net energy the ideal
 *     sources deliver, the sum over the steps of each step's charge times
 *     the mean of v(wld<i>), small, since a 0.5 ns edge into a ps-scale RC
 *     gets most of C V^2 / 2 back.
 * Not counted: the precharge switches' control (no current), the VFG
 * threshold sources (the stored charge, not a supply), and leakage of the
 * cells' drain junctions to the substrate (~1e-17 J a VMM on regular). */
enum { COSIM_SRC_PRECHARGE = 0, COSIM_SRC_WORDLINE, COSIM_NSRC };
extern const char *const cosim_src_name[COSIM_NSRC]; /* "precharge", "wordline" */
#define COSIM_MACS_PER_VMM FG_CELLS /* a MAC: one cell of the 16x16 array */
typedef struct {
    double supply[COSIM_NSRC];    /* J drawn from each supply rail        */
    double delivered[COSIM_NSRC]; /* J net delivered by the deck's sources */
} cosim_energy;
/* What the energy needs besides the deck's vectors. */
typedef struct {
    double v_pre; /* precharge level applied (the corner's), V */
} cosim_meter;
double cosim_energy_total(const cosim_energy *e); /* sum of supply[], J */
/* cosim_engine_run, and the run's energy into e (NULL: none). */
fg_status cosim_engine_run_energy(const cosim_meter *m, double *v_bl /*(16)*/,
                                  cosim_energy *e);
/* Runs the loaded deck's analysis once and copies the last point of each
 * of the n vectors names[k] (e.g. "bl3", "vam3#branch") into vals[k]; the
 * plot is destroyed and the command log cleared, as after every run. */
fg_status cosim_engine_run_vectors(const char *const *names, int n, double *vals);
/* Sets word-line driver VWL<row>'s DC level (the verify deck), V. */
fg_status cosim_engine_set_wl_dc(int row, double v);
/* Runs the loaded deck's analysis and copies vector `name` (malloc'd). */
fg_status cosim_engine_run_vector(const char *name, double **vals, int *n);
const char *cosim_engine_version(void);
int cosim_engine_dead(void); /* ngspice called ControlledExit */
/* Time points of the last run of cosim_engine_run, _run_energy or
 * _run_vectors (the length of its time vector: accepted points; 0 before
 * the first run). */
int cosim_engine_points(void);
/* Newton iterations of all transients run on the loaded deck so far
 * (ngspice's `rusage traniter`, cumulative: take differences). */
fg_status cosim_engine_tran_iterations(long *n);

/* ---- worker pool ---------------------------------------------------------- */
typedef struct cosim_pool cosim_pool;
typedef struct {
    const nl_layout *layout;    /* geometry of the generated array          */
    const char *array_netlist;  /* or a user's flat array netlist (NULL)    */
    fg_op_point op;             /* nominal operating point                  */
    const fg_corner *corner;    /* NULL = nominal; else temperature, rails
                                   scaled by the supply, and retention drift
                                   of every dvt the pool is given          */
    int jobs;                   /* worker processes; 0 = all cores          */
    double timeout_s;           /* per-run limit; 0 = 60 s                  */
    double max_step_scale;      /* 1.0 (0 means 1.0)                        */
    double reltol;              /* transient relative tolerance (0: 1e-3)   */
    nl_wl_drive wl_drive;       /* word-line sources (0: auto)              */
} cosim_pool_config;

fg_status cosim_pool_new(const cosim_pool_config *cfg, const double *dvt,
                         cosim_pool **out);
/* Reprograms all workers (alter of the VFG sources). */
fg_status cosim_pool_set_dvt(cosim_pool *p, const double *dvt /*(16,16)*/);
/* Runs P patterns; v (P,16) bit-line volts at read time; ok[p] = 1 when run
 * p converged (else v is NaN and a message went to stderr with p's index).
 * Returns FG_OK unless the pool itself broke. */
typedef void (*cosim_progress_fn)(void *ud, int done, int total);
fg_status cosim_pool_run(cosim_pool *p, const double *x /*(P,16)*/, int P,
                         double *v /*(P,16)*/, int *ok /*(P)*/,
                         fg_progress *progress);
/* cosim_pool_run, and the energy of each run into e (P) (NaN when it
 * failed); e may be NULL. */
fg_status cosim_pool_run_energy(cosim_pool *p, const double *x /*(P,16)*/, int P,
                                double *v /*(P,16)*/, int *ok /*(P)*/,
                                cosim_energy *e /*(P)*/, fg_progress *progress);
/* Patterns on several programmed arrays: pattern p runs on array
 * array[p] (dvts (A,16,16)), run by run of equal indices, the workers
 * reprogrammed (cosim_pool_set_dvt) at the start of each run, so that
 * the pool holds the last run's array after; array NULL: every pattern
 * on the array the pool holds (cosim_pool_run_energy). v, ok, e (may be
 * NULL) as cosim_pool_run_energy; progress counts patterns. */
fg_status cosim_pool_run_arrays(cosim_pool *p, const double *x /*(P,16)*/, int P,
                                const int *array /*(P)*/, const double *dvts,
                                double *v /*(P,16)*/, int *ok /*(P)*/,
                                cosim_energy *e /*(P)*/, fg_progress *progress);
/* The deck's phases at the operating point the workers apply (latency). */
nl_vmm_timing cosim_pool_timing(const cosim_pool *p);
int cosim_pool_jobs(const cosim_pool *p);
int cosim_pool_restarts(const cosim_pool *p); /* workers replaced so far */
long cosim_pool_rss_kb(const cosim_pool *p);   /* resident memory of workers */
const char *cosim_pool_deck(const cosim_pool *p);  /* the deck workers load */
/* The operating point the workers apply (the corner's rails and trim). */
fg_op_point cosim_pool_op(const cosim_pool *p);
/* Normalised output of a bit-line voltage read by this pool: the drop
 * below the applied precharge level over the nominal I_unit T_max / C_BL
 * (fg_corner_y_from_v). */
double cosim_pool_y_from_v(const cosim_pool *p, double v);
void cosim_pool_free(cosim_pool *p);
/* A flag (e.g. set by a SIGTERM handler) that cosim_pool_run checks after
 * every reply and every interrupted wait: once *stop is nonzero the run
 * returns FG_ERR_INTERNAL ("interrupted"); the runs in flight are lost.
 * NULL (the default): never stops. */
void cosim_pool_set_stop(cosim_pool *p, volatile const int *stop);

/* ---- weight programming -------------------------------------------------- */
/* Target normalised weights w (I = w*I_unit) -> threshold shifts dvt, by
 * inverting the nfg cell's I-V curve at V_GS = V_read - dVT, V_DS = V_pre (a
 * DC sweep through ngspice, done once per model card and op point and cached).
 * w <= 0 programs the cell off (dVT = COSIM_DVT_OFF). sigma_v > 0 adds a
 * seeded N(0, sigma_v) programming error to each on-cell. */
#define COSIM_DVT_OFF 1.0
/* The ngspice version seen by the last I-V sweep ("unknown" before). */
const char *cosim_ngspice_version(void);
fg_status cosim_weights_to_dvt(const fg_op_point *op, const double *w /*(16,16)*/,
                               double sigma_v, uint64_t seed,
                               double *dvt /*(16,16)*/);

/* ---- program-and-verify (verify.c) ----------------------------------------
 * Write-verify on the array's own DC verify deck (nl_deck_spec.verify; the
 * generated layout or cfg->array_netlist, with its device card, mismatch
 * and parasitics), in a child process with its own ngspice instance: per
 * pass, every row is read (.op, that row's word line at V_read, the bit
 * lines held at V_pre through ammeters, minus the all-rows-off background)
 * and every on-cell (w > 0) outside tol is rewritten by a Newton/secant
 * step in log current, until each carries w * I_unit within tol or
 * max_iter passes of corrections are spent. The reads are at cfg->corner's
 * temperature and rails (NULL: nominal), without its retention drift (the
 * cells are read right at programming); cfg->jobs and timeout_s are not
 * used. Off cells (w == 0) are written to COSIM_DVT_OFF. */
#define COSIM_VERIFY_TOL_DEFAULT 0.01
#define COSIM_VERIFY_ITER_DEFAULT 10
#define COSIM_VERIFY_ITER_MAX 1000
typedef struct {
    double tol;     /* relative current error allowed, < 1; 0 = default     */
    int max_iter;   /* correction passes at most; 0 = default               */
} cosim_verify_opts;
typedef struct {
    int iterations;       /* correction passes done (0: the start was in tol) */
    double worst_rel_err; /* max |I/(w I_unit) - 1| over on-cells, last read;
                             NaN when not measured (method model)         */
    int cells_missed;     /* on-cells outside tol at the last read          */
    long reads;           /* .op runs (17 per pass: background + 16 rows)   */
    double seconds;       /* wall time, child start and deck load included  */
} cosim_verify_report;
/* dvt (16,16): in, the start (e.g. cosim_weights_to_dvt); out, the verified
 * shifts. Returns FG_OK with cells_missed > 0 when the tolerance was not
 * reached (a cell out of reach, or max_iter too small); errors: FG_ERR_RANGE
 * (w outside [0,1], bad options), FG_ERR_SPICE (deck or ngspice failed). */
fg_status cosim_program_verify(const cosim_pool_config *cfg, const double *w /*(16,16)*/,
                               const cosim_verify_opts *vo, double *dvt /*(16,16)*/,
                               cosim_verify_report *rep);
/* One verify read of the array programmed with dvt: i_cell (16,16) the
 * cell currents, A, under the same conditions as cosim_program_verify. */
fg_status cosim_verify_read(const cosim_pool_config *cfg, const double *dvt /*(16,16)*/,
                            double *i_cell /*(16,16)*/);

/* ---- programming method (program.c): what simulate and `spice` use -------
 * model: the I-V inversion of the built-in nfg card (cosim_weights_to_dvt)
 *   at cfg->op; exact for the generated arrays, which use that card, up to
 *   the parasitics' IR drops, and a single cached DC sweep.
 * verify: that inversion as the first write, then cosim_program_verify at
 *   cfg->corner: needed when the array is not what the inversion assumes
 *   (an external netlist's own card or per-cell mismatch, a corner's
 *   temperature): 0.2-0.8 s per 16x16 array on one core here (2-3
 *   passes of 17 reads).
 * auto: verify for an external array netlist, model otherwise. */
typedef enum {
    COSIM_PROGRAM_AUTO = 0,
    COSIM_PROGRAM_MODEL,
    COSIM_PROGRAM_VERIFY,
} cosim_program_method;
typedef struct {
    cosim_program_method method;
    double sigma_v;             /* seeded N(0, sigma_v) error, V, of each
                                   on-cell's first write (verify corrects it) */
    uint64_t seed;
    cosim_verify_opts verify;   /* zeros: defaults                          */
    int at_corner;              /* spice backend: program at the pool's
                                   corner (temperature, rails, no drift: a
                                   fresh write), by verify: a reprogramming
                                   in the field; 0: at the nominal point    */
} cosim_program_opts;
/* AUTO resolved against cfg (never returns AUTO). */
cosim_program_method cosim_program_method_resolve(cosim_program_method m,
                                                  const cosim_pool_config *cfg);
const char *cosim_program_method_name(cosim_program_method m); /* "model", ... */
/* Programs w (16,16) into dvt (16,16) with po (NULL: auto, no error, seed
 * 1); rep: the verify report (method model: 0 iterations, worst_rel_err
 * NaN, the seconds it took). */
fg_status cosim_program(const cosim_pool_config *cfg, const cosim_program_opts *po,
                        const double *w, double *dvt, cosim_verify_report *rep);

/* ---- the `spice` array backend ------------------------------------------ */
/* Tile VMMs on the SPICE "chip": weights (clipped into [0,1]) are programmed
 * through cosim_program with prog (NULL: auto, no error, seed 1) at the
 * nominal point, like a chip programmed in the factory, once per distinct
 * tile (its dvt is kept), and altered into every worker when the tile
 * changes; batches run through the pool at cfg->corner. The backend keeps
 * its own copies of cfg's layout and netlist path. No gradient. */
fg_status cosim_backend_spice_new(const cosim_pool_config *cfg,
                                  const cosim_program_opts *prog, fg_backend **out);

/* ---- calibration patterns -------------------------------------------------- */
/* Seeded mix: the first 16 patterns are one-hot rows at full width (p < 16),
 * then per pattern: 2% all zero (the zero-input reading: the fit takes the
 * output offsets from it), 43% uniform in [0,1], 20% small like a network's
 * activations (each row on with probability 0.5, width u^3), 15% sparse
 * (each row on with probability 0.25, uniform width), 15% a random one-hot
 * row with random width, 5% all rows on at a common random width. x (P,16). */
void cosim_patterns_generate(double *x /*(P,16)*/, int P, uint64_t seed);

/* ---- calibration data sets (HDF5) ------------------------------------------ */
typedef struct {
    int P;
    double *inputs;  /* (P,16) pulse fractions            */
    double *v_bl;    /* (P,16) bit-line volts at read time */
    double *y;       /* (P,16) normalised outputs          */
    int *ok;         /* (P) 1 = converged                  */
    double dvt[FG_CELLS];      /* (16,16) V (never read by the fit) */
    double w_target[FG_CELLS]; /* (16,16) programmed target weights */
    fg_op_point op;            /* nominal operating point                */
    fg_corner corner;          /* where it was measured (attributes
                                  corner_*; nominal when absent)         */
    char *layout_name;
    char *layout_json;
    char deck_sha256[65];
    uint64_t seed;
    char *ngspice_version;
    /* how the cells were programmed (attributes program_*; a file without
     * them reads as "model", tol 0, 0 iterations, worst error NaN) */
    char program_method[8];       /* "model" or "verify" ("" writes model) */
    double program_tol;           /* verify's tolerance; 0 for model       */
    int program_iterations;       /* verify's correction passes            */
    double program_worst_rel_err; /* verify's worst |I/(w I_unit) - 1|;
                                     NaN when not measured (model)        */
    /* energy and latency of each VMM (cosim_energy; all three NULL when
     * the file has none, as files written before them): /energy and
     * /energy_delivered (attribute sources = "precharge,wordline", unit J),
     * /latency_s (attributes precharge_s, integrate_s, read_s) */
    double *energy;           /* (P,COSIM_NSRC) J drawn from each supply     */
    double *energy_delivered; /* (P,COSIM_NSRC) J the deck's sources deliver */
    double *latency_s;        /* (P) s                                       */
    nl_vmm_timing timing;     /* the phases of latency_s                     */
    /* Several programmed arrays (a network's tiles, `simulate --ckpt`;
     * file version 2): n_arrays > 1, pattern p ran on array array[p],
     * whose targets and shifts are w_targets/dvts + 256 array[p]; w_target
     * and dvt above hold array 0. One array (version 1 files): n_arrays
     * 1 and the three pointers NULL. */
    int n_arrays;
    int *array;         /* (P)           */
    double *w_targets;  /* (n_arrays,16,16) */
    double *dvts;       /* (n_arrays,16,16) V */
} cosim_dataset;

/* Writes path atomically (temporary name, then rename). */
fg_status cosim_dataset_write(const char *path, const cosim_dataset *ds);
/* Reads and validates shapes and values; errors name the file and field. */
fg_status cosim_dataset_read(const char *path, cosim_dataset *ds);
void cosim_dataset_free(cosim_dataset *ds);
/* The programmed targets (16,16) of array a (0 for a one-array file);
 * a = 0 is also where the (n_arrays,16,16) block of all of them starts. */
const double *cosim_dataset_w_target(const cosim_dataset *ds, int a);

#ifdef FGCOSIM_MPI
/* ---- the MPI split (mpi.c; the MPI build only) -----------------------------
 * MPI_COMM_WORLD; rank 0 coordinates and writes. The patterns first..P-1
 * are cut into blocks of `block` patterns; block k goes to rank k % size,
 * so the assignment is fixed by (P, first, block, size). Every rank runs
 * its blocks in order on its own pool; ranks other than 0 send each
 * block's outputs to rank 0 as it finishes (non-blocking sends), rank 0
 * runs its own blocks and stores every result at its pattern's index. No
 * rank spins while it waits (MPI tests, then a 2 ms sleep).
 * A rank lost: with mpirun's default (a dead process aborts the job) rank 0
 * gets SIGTERM, stops its pool, and returns FG_ERR_INTERNAL with the
 * patterns each rank had not delivered; under `mpirun --enable-recovery`
 * a rank silent for silence_s seconds is declared dead, the same way. */
fg_status cosim_mpi_init(int *argc, char ***argv);
void cosim_mpi_finalize(void);
/* Ends the job at once from rank 0 (MPI_Abort) with exit code rc. */
void cosim_mpi_abort(int rc);
int cosim_mpi_rank(void);
int cosim_mpi_size(void);
/* Collective: every rank passes its status; returns FG_OK when all are OK,
 * else the status of the lowest failing rank (on every rank) and *who =
 * that rank. */
fg_status cosim_mpi_agree(fg_status st, int *who);
/* Collective: n bytes from rank 0 to every rank. */
fg_status cosim_mpi_bcast(void *buf, size_t n);
/* Called on rank 0 each time the contiguous prefix of done patterns has
 * grown (at most once per save_s seconds, or per 20 times the last
 * save's duration when that is longer) and once at the end: outputs
 * 0..prefix-1 are final. */
typedef void (*cosim_mpi_save_fn)(void *ud, int prefix);
typedef struct {
    const double *x;      /* (P,16), on every rank                        */
    int P, first;         /* run patterns first..P-1                      */
    int block;            /* patterns per block, >= 1                     */
    double *v;            /* rank 0: (P,16) out; others NULL              */
    int *ok;              /* rank 0: (P) out                              */
    cosim_energy *e;      /* rank 0: (P) out                              */
    cosim_mpi_save_fn save;
    void *save_ud;
    double save_s;        /* least seconds between two saves              */
    double silence_s;     /* a rank silent this long is declared dead     */
    fg_progress *progress; /* rank 0, or NULL                             */
} cosim_mpi_job;
/* Runs the job on every rank (collective). Rank 0: *prefix = how many
 * leading patterns are done (P on success); errors name the rank and the
 * patterns it had not delivered. Every rank returns its own status; the
 * caller settles the end (cosim_mpi_agree, or cosim_mpi_abort when
 * *lost is set: a rank is gone and no collective can complete). */
fg_status cosim_mpi_run(cosim_pool *pool, const cosim_mpi_job *job, int *prefix,
                        int *lost);
/* Fault injection for tests: FGCOSIM_MPI_FAULT="die:R:N": rank R kills
 * itself (SIGKILL) once N of its blocks have been sent. */
#endif

#endif
