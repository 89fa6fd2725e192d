/* fgcosim simulate: calibration patterns through libngspice into HDF5. */
#include "cmds.h"
#include "app_common.h"
#include "cosim.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    app_array_opts arr;
    const char *inputs, *out, *ckpt;
    int patterns, jobs, json, images, test_split;
    uint64_t seed;
    double timeout_s;
} sim_opts;

static void sim_usage(FILE *f)
{
    fprintf(f,
        "usage: fgcosim simulate [--layout NAME|FILE] [--array-netlist FILE]\n"
        "         [--weights FILE | --weights-seed S] [--sigma-vt V]\n"
        "         [--program model|verify] [--verify-tol F] [--verify-iter N]\n"
        "         [--inputs FILE | --patterns N --seed S] [--jobs J]\n"
        "         [--ckpt NET.ckpt [--images N] [--split train|test]]\n"
        "         [--timeout SECONDS] [corner options] -o DATA.h5 [--json]\n"
        "Runs each input pattern through the array in ngspice (one worker per\n"
        "core) and writes /inputs, /v_read, /y, /ok, /dvt, /w_target to DATA.h5,\n"
        "with each VMM's energy by source (/energy, /energy_delivered, J) and\n"
        "latency (/latency_s); --json reports their means.\n"
        "Defaults: layout regular, weights seed 1, 200 patterns, seed 1.\n"
        "An interrupted run resumes from DATA.h5.partial when re-run.\n"
        "--ckpt: the calibration is drawn from a network: its tiles are programmed\n"
        "one after another and driven with --patterns input rows sampled (--seed)\n"
        "from its tile operations on the first --images images (default 1000) of\n"
        "the training set (--split test: the test set, to check a model on\n"
        "inputs it was not fitted on); the data set holds every tile (/array,\n"
        "/w_targets, /dvts).\n"
        "Cells are programmed at the nominal point (program_* attributes):\n"
        APP_PROGRAM_HELP
        "then run at the corner:\n"
        APP_CORNER_HELP);
}

static int sim_parse(int argc, char **argv, sim_opts *o)
{
    static const struct option lo[] = {
        APP_ARRAY_LONGOPTS,
        {"inputs", required_argument, 0, 'i'},
        {"patterns", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},
        {"jobs", required_argument, 0, 'j'},
        {"timeout", required_argument, 0, 't'},
        {"json", no_argument, 0, 'J'},
        {"ckpt", required_argument, 0, 'c'},
        {"images", required_argument, 0, 'I'},
        {"split", required_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    *o = (sim_opts){.patterns = 200, .seed = 1, .images = 1000};
    app_array_opts_init(&o->arr, "simulate");
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        if (app_array_opt(&o->arr, c, optarg))
            continue;
        switch (c) {
        case 'i': o->inputs = optarg; break;
        case 'n': if (app_parse_int("simulate", "--patterns", optarg, 1, 10000000, &o->patterns)) return 2; break;
        case 's': if (app_parse_u64("simulate", "--seed", optarg, &o->seed)) return 2; break;
        case 'j': if (app_parse_int("simulate", "--jobs", optarg, 1, 1024, &o->jobs)) return 2; break;
        case 't': if (app_parse_double("simulate", "--timeout", optarg, 0.1, 1e6, &o->timeout_s)) return 2; break;
        case 'J': o->json = 1; break;
        case 'c': o->ckpt = optarg; break;
        case 'I': if (app_parse_int("simulate", "--images", optarg, 1, 1000000, &o->images)) return 2; break;
        case 'S':
            if (strcmp(optarg, "train") && strcmp(optarg, "test")) {
                fprintf(stderr, "fgcosim simulate: --split: '%s' is not train or test\n", optarg);
                return 2;
            }
            o->test_split = !strcmp(optarg, "test");
            break;
        case 'o': o->out = optarg; break;
        case 'h': sim_usage(stdout); return -1;
        default: sim_usage(stderr); return 2;
        }
    }
    if (optind < argc || !o->out) {
        fprintf(stderr, "fgcosim simulate: %s\n",
                optind < argc ? "unexpected argument" : "-o DATA.h5 is required");
        return 2;
    }
    if (o->ckpt && (o->inputs || o->arr.weights)) {
        fprintf(stderr, "fgcosim simulate: --ckpt programs the network's tiles and "
                "draws its inputs: not with %s\n", o->inputs ? "--inputs" : "--weights");
        return 2;
    }
    return o->arr.bad;
}

/* Picks up the done rows of a matching DATA.h5.partial (same deck, seed,
 * inputs); returns how many patterns are already done. */
static int sim_resume(const char *partial, cosim_dataset *ds)
{
    cosim_dataset old;
    if (access(partial, F_OK) != 0 || cosim_dataset_read(partial, &old) != FG_OK)
        return 0;
    int done = 0;
    int arrays = ds->n_arrays > 1 ? ds->n_arrays : 1; /* 0: one array */
    int same_arrays = old.n_arrays == arrays &&
        (arrays == 1 ||
         (!memcmp(old.w_targets, ds->w_targets, (size_t)ds->n_arrays * FG_CELLS * sizeof(double)) &&
          !memcmp(old.array, ds->array, (size_t)old.P * sizeof(int))));
    if (!strcmp(old.deck_sha256, ds->deck_sha256) && old.seed == ds->seed &&
        old.P <= ds->P && same_arrays &&
        !memcmp(old.inputs, ds->inputs, (size_t)old.P * FG_ROWS * sizeof(double))) {
        done = old.P;
        memcpy(ds->v_bl, old.v_bl, (size_t)done * FG_COLS * sizeof(double));
        memcpy(ds->ok, old.ok, (size_t)done * sizeof(int));
        size_t ne = (size_t)done * COSIM_NSRC * sizeof(double);
        if (old.energy) { /* same deck: a partial file of this build */
            memcpy(ds->energy, old.energy, ne);
            memcpy(ds->energy_delivered, old.energy_delivered, ne);
        } else
            done = 0;
    }
    cosim_dataset_free(&old);
    if (done > 0)
        fprintf(stderr, "fgcosim simulate: resuming after %d patterns from %s\n",
                done, partial);
    return done;
}

/* Energies of runs p0..p1-1 from e into the data set's rows. */
static void sim_store_energy(cosim_dataset *ds, const cosim_energy *e, int p0, int p1)
{
    for (int p = p0; p < p1; p++)
        for (int k = 0; k < COSIM_NSRC; k++) {
            ds->energy[(size_t)p * COSIM_NSRC + k] = e[p - p0].supply[k];
            ds->energy_delivered[(size_t)p * COSIM_NSRC + k] = e[p - p0].delivered[k];
        }
}

/* Runs the remaining patterns in chunks, saving DATA.h5.partial after each. */
static fg_status sim_run(cosim_pool *pool, cosim_dataset *ds, int done,
                         const char *partial)
{
    fg_progress prog;
    fg_progress_init(&prog, "simulate", (uint64_t)ds->P);
    int chunk = 50 * cosim_pool_jobs(pool);
    cosim_energy *e = malloc((size_t)chunk * sizeof *e);
    fg_status st = e ? FG_OK : fg_error(FG_ERR_NOMEM, "out of memory");
    int P = ds->P;
    while (done < P && st == FG_OK) {
        int n = P - done < chunk ? P - done : chunk;
        const double *x = ds->inputs + (size_t)done * FG_ROWS;
        double *v = ds->v_bl + (size_t)done * FG_COLS;
        st = cosim_pool_run_arrays(pool, x, n, ds->n_arrays > 1 ? ds->array + done : NULL,
                                   ds->dvts, v, ds->ok + done, e, NULL);
        if (st == FG_OK)
            sim_store_energy(ds, e, done, done + n);
        done += n;
        fg_progress_update(&prog, (uint64_t)done);
        if (st == FG_OK && done < P) {
            ds->P = done;
            st = cosim_dataset_write(partial, ds);
            ds->P = P;
        }
    }
    fg_progress_done(&prog, (uint64_t)done);
    free(e);
    return st;
}

/* Means over the converged patterns of the energy per VMM, J. */
typedef struct {
    double supply[COSIM_NSRC], delivered[COSIM_NSRC], total;
} sim_energy_mean;

static sim_energy_mean sim_energy_means(const cosim_dataset *ds)
{
    sim_energy_mean m = {0};
    int n = 0;
    for (int p = 0; p < ds->P; p++) {
        if (!ds->ok[p])
            continue;
        n++;
        for (int k = 0; k < COSIM_NSRC; k++) {
            m.supply[k] += ds->energy[(size_t)p * COSIM_NSRC + k];
            m.delivered[k] += ds->energy_delivered[(size_t)p * COSIM_NSRC + k];
        }
    }
    for (int k = 0; k < COSIM_NSRC; k++) {
        m.supply[k] /= n > 0 ? n : 1;
        m.delivered[k] /= n > 0 ? n : 1;
        m.total += m.supply[k];
    }
    return m;
}

/* energy_per_vmm_J (the supplies' total), energy_per_mac_J (over the
 * 16 x 16 cells), by source, and the latency with its phases. */
static void sim_energy_json(cJSON *j, const cosim_dataset *ds)
{
    sim_energy_mean m = sim_energy_means(ds);
    cJSON_AddNumberToObject(j, "energy_per_vmm_J", m.total);
    cJSON_AddNumberToObject(j, "energy_per_mac_J", m.total / COSIM_MACS_PER_VMM);
    cJSON *s = cJSON_AddObjectToObject(j, "energy_J");
    cJSON *d = cJSON_AddObjectToObject(j, "energy_delivered_J");
    for (int k = 0; k < COSIM_NSRC; k++) {
        cJSON_AddNumberToObject(s, cosim_src_name[k], m.supply[k]);
        cJSON_AddNumberToObject(d, cosim_src_name[k], m.delivered[k]);
    }
    cJSON_AddNumberToObject(j, "latency_s", ds->timing.total_s);
    cJSON *t = cJSON_AddObjectToObject(j, "latency_phases_s");
    cJSON_AddNumberToObject(t, "precharge", ds->timing.precharge_s);
    cJSON_AddNumberToObject(t, "integrate", ds->timing.integrate_s);
    cJSON_AddNumberToObject(t, "read", ds->timing.read_s);
}

static void sim_report(const sim_opts *o, const cosim_dataset *ds, double secs,
                       int restarts)
{
    int failed = 0;
    double ysum = 0;
    for (int p = 0; p < ds->P; p++) {
        failed += !ds->ok[p];
        for (int j = 0; ds->ok[p] && j < FG_COLS; j++)
            ysum += fabs(ds->y[(size_t)p * FG_COLS + j]);
    }
    double rate = secs > 0 ? ds->P / secs : 0;
    char err[32] = "null"; /* worst verify error; none for model */
    if (isfinite(ds->program_worst_rel_err))
        snprintf(err, sizeof err, "%.3g", ds->program_worst_rel_err);
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "patterns", ds->P);
        cJSON_AddNumberToObject(j, "seconds", secs);
        cJSON_AddNumberToObject(j, "vmm_per_s", rate);
        cJSON_AddNumberToObject(j, "failed", failed);
        cJSON_AddNumberToObject(j, "restarts", restarts);
        cJSON_AddNumberToObject(j, "jobs", o->jobs);
        cJSON_AddStringToObject(j, "layout", ds->layout_name);
        cJSON_AddNumberToObject(j, "mean_abs_y",
                                ysum / (FG_COLS * (ds->P - failed > 0 ? ds->P - failed : 1)));
        cJSON_AddStringToObject(j, "program", ds->program_method);
        cJSON_AddNumberToObject(j, "program_iterations", ds->program_iterations);
        if (isfinite(ds->program_worst_rel_err))
            cJSON_AddNumberToObject(j, "program_worst_rel_err", ds->program_worst_rel_err);
        else
            cJSON_AddNullToObject(j, "program_worst_rel_err");
        app_corner_json(cJSON_AddObjectToObject(j, "corner"), &ds->corner);
        sim_energy_json(j, ds);
        cJSON_AddStringToObject(j, "output", o->out);
        app_json_print(j);
    }
    else {
        sim_energy_mean m = sim_energy_means(ds);
        fprintf(stderr, "fgcosim simulate: %d patterns (%d failed) on layout %s "
                "in %.1f s: %.1f VMM/s (programmed by %s%s%s) -> %s\n",
                ds->P, failed, ds->layout_name, secs, rate, ds->program_method,
                isfinite(ds->program_worst_rel_err) ? ", worst cell error " : "",
                isfinite(ds->program_worst_rel_err) ? err : "", o->out);
        fprintf(stderr, "fgcosim simulate: %.4g pJ per VMM (precharge %.4g, word lines "
                "%.4g), %.4g fJ per MAC, latency %.4g ns\n", 1e12 * m.total,
                1e12 * m.supply[COSIM_SRC_PRECHARGE], 1e12 * m.supply[COSIM_SRC_WORDLINE],
                1e15 * m.total / COSIM_MACS_PER_VMM, 1e9 * ds->timing.total_s);
    }
}

static fg_status sim_inputs(const sim_opts *o, const app_array *a, cosim_dataset *ds)
{
    if (o->ckpt)
        return app_tiles_dataset(&o->arr, a, &(app_tiles_opts){.ckpt = o->ckpt,
                                 .images = o->images, .test_split = o->test_split,
                                 .ops = o->patterns, .seed = o->seed}, ds);
    if (o->inputs)
        return fg_csv_read(o->inputs, FG_ROWS, 0.0, 1.0, &ds->inputs, &ds->P);
    ds->P = o->patterns;
    ds->inputs = malloc((size_t)ds->P * FG_ROWS * sizeof(double));
    if (!ds->inputs)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    cosim_patterns_generate(ds->inputs, ds->P, o->seed);
    return FG_OK;
}

/* The output arrays of ds->P patterns. */
static fg_status sim_alloc(cosim_dataset *ds)
{
    size_t n = (size_t)ds->P * FG_COLS;
    ds->v_bl = malloc(n * sizeof(double));
    ds->y = malloc(n * sizeof(double));
    ds->ok = calloc((size_t)ds->P, sizeof(int));
    ds->energy = malloc((size_t)ds->P * COSIM_NSRC * sizeof(double));
    ds->energy_delivered = malloc((size_t)ds->P * COSIM_NSRC * sizeof(double));
    ds->latency_s = malloc((size_t)ds->P * sizeof(double));
    if (!ds->v_bl || !ds->y || !ds->ok || !ds->energy || !ds->energy_delivered ||
        !ds->latency_s)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    return FG_OK;
}

/* Workers holding dvt (16,16): the data set's (first) programmed array. */
static fg_status sim_pool_open(sim_opts *o, app_array *a, const double *dvt,
                               cosim_pool **pool)
{
    cosim_pool_config cfg = {.layout = a->layout, .array_netlist = o->arr.array_netlist,
                             .op = a->op, .corner = &o->arr.corner, .jobs = o->jobs,
                             .timeout_s = o->timeout_s, .reltol = o->arr.reltol,
                             .max_step_scale = o->arr.max_step_scale,
                             .wl_drive = o->arr.wl_drive};
    fg_status st = cosim_pool_new(&cfg, dvt, pool);
    if (st == FG_OK)
        o->jobs = cosim_pool_jobs(*pool);
    return st;
}

/* What the pool tells the data set: latency, deck hash, seed. */
static void sim_pool_attrs(const sim_opts *o, const cosim_pool *pool, cosim_dataset *ds)
{
    ds->timing = cosim_pool_timing(pool); /* the deck reads at a fixed time */
    for (int p = 0; p < ds->P; p++)
        ds->latency_s[p] = ds->timing.total_s;
    const char *deck = cosim_pool_deck(pool);
    fg_sha256_hex(deck, strlen(deck), ds->deck_sha256);
    ds->seed = o->inputs ? 0 : o->seed;
}

/* y from v_bl, then DATA.h5 written and the partial file removed. */
static fg_status sim_finish(const sim_opts *o, const cosim_pool *pool, cosim_dataset *ds,
                            const char *partial, fg_status st)
{
    for (size_t k = 0; k < (size_t)ds->P * FG_COLS; k++) /* against the precharge level applied */
        ds->y[k] = cosim_pool_y_from_v(pool, ds->v_bl[k]);
    if (st == FG_OK)
        st = cosim_dataset_write(o->out, ds);
    if (st == FG_OK)
        unlink(partial);
    return st;
}

static fg_status sim_execute(sim_opts *o, app_array *a, cosim_dataset *ds)
{
    fg_status st = sim_inputs(o, a, ds);
    if (st == FG_OK)
        st = sim_alloc(ds);
    cosim_pool *pool;
    if (st != FG_OK || (st = sim_pool_open(o, a, ds->dvt, &pool)) != FG_OK)
        return st;
    sim_pool_attrs(o, pool, ds);
    char partial[4096];
    snprintf(partial, sizeof partial, "%s.partial", o->out);
    double t0 = fg_now();
    st = sim_run(pool, ds, sim_resume(partial, ds), partial);
    int restarts = cosim_pool_restarts(pool);
    st = sim_finish(o, pool, ds, partial, st);
    cosim_pool_free(pool);
    if (st == FG_OK)
        sim_report(o, ds, fg_now() - t0, restarts);
    return st;
}

/* How the cells were programmed, for the data set's attributes. */
static void sim_program_attrs(const app_array *a, cosim_dataset *ds)
{
    snprintf(ds->program_method, sizeof ds->program_method, "%s",
             cosim_program_method_name(a->program));
    ds->program_tol = a->program_tol;
    ds->program_iterations = a->verify.iterations;
    ds->program_worst_rel_err = a->verify.worst_rel_err;
}

/* The data set's attributes from the loaded array (ds owns copies). */
static void sim_dataset_init(const sim_opts *o, const app_array *a, cosim_dataset *ds)
{
    ds->op = a->op;
    ds->corner = o->arr.corner;
    memcpy(ds->dvt, a->dvt, sizeof ds->dvt);
    memcpy(ds->w_target, a->w, sizeof ds->w_target);
    ds->layout_name = strdup(a->name);
    ds->layout_json = strdup(a->layout_json);
    ds->ngspice_version = strdup(a->ngspice_version);
    sim_program_attrs(a, ds);
}

int cmd_simulate(int argc, char **argv)
{
    sim_opts o;
    int rc = sim_parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    app_array a;
    fg_status st = app_array_load(&o.arr, &a);
    cosim_dataset ds = {0};
    if (st == FG_OK) {
        sim_dataset_init(&o, &a, &ds);
        st = sim_execute(&o, &a, &ds);
    }
    cosim_dataset_free(&ds);
    app_array_free(&a);
    if (st != FG_OK) {
        fprintf(stderr, "fgcosim simulate: %s\n", fg_errmsg());
        return fg_status_exit_code(st);
    }
    return 0;
}

#ifdef FGCOSIM_MPI
/* ---- fgcosim-mpi simulate: the same command over MPI ranks ---------------
 * Every rank parses the same argv and loads the same array; rank 0 makes
 * the inputs, resumes from DATA.h5.partial and broadcasts both; the
 * patterns left are split (cosim_mpi_run); rank 0 writes DATA.h5 (and the
 * partial file while it runs), the others only compute. Errors: one line
 * from the lowest rank that failed, the same exit code from every rank. */
#include <errno.h>
#include <fcntl.h>

/* stdout and stderr to /dev/null (on) or back (off): the other ranks
 * parse quietly, so that a bad option reads once. */
static void sim_mpi_quiet(int on, int saved[2])
{
    if (on) {
        fflush(stdout);
        fflush(stderr);
        saved[0] = dup(1);
        saved[1] = dup(2);
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) {
            dup2(nul, 1);
            dup2(nul, 2);
            close(nul);
        }
    } else {
        fflush(stdout);
        fflush(stderr);
        for (int k = 0; k < 2; k++)
            if (saved[k] >= 0) {
                dup2(saved[k], k + 1);
                close(saved[k]);
            }
    }
}

/* Rank 0: can DATA.h5 be written (its folder)? No file is left behind. */
static fg_status sim_mpi_probe(const char *out)
{
    char probe[4200];
    snprintf(probe, sizeof probe, "%s.probe-XXXXXX", out);
    int fd = mkstemp(probe);
    if (fd < 0)
        return fg_error(FG_ERR_IO, "%s: cannot write here: %s", out, strerror(errno));
    close(fd);
    unlink(probe);
    return FG_OK;
}

/* Rank 0 makes the inputs; every rank gets P and the (P,16) pulse widths.
 * More ranks than patterns is bad input. */
static fg_status sim_mpi_inputs(const sim_opts *o, cosim_dataset *ds, int rank, int size)
{
    fg_status st = rank == 0 ? sim_inputs(o, NULL, ds) : FG_OK;
    if (rank == 0 && st == FG_OK)
        st = sim_mpi_probe(o->out);
    if ((st = cosim_mpi_agree(st, NULL)) != FG_OK ||
        (st = cosim_mpi_bcast(&ds->P, sizeof ds->P)) != FG_OK)
        return st;
    if (ds->P < size)
        return fg_error(FG_ERR_RANGE, "%d ranks for %d patterns: use at most %d ranks",
                        size, ds->P, ds->P);
    if (rank != 0 && !(ds->inputs = malloc((size_t)ds->P * FG_ROWS * sizeof(double))))
        st = fg_error(FG_ERR_NOMEM, "out of memory");
    if ((st = cosim_mpi_agree(st, NULL)) != FG_OK)
        return st;
    return cosim_mpi_bcast(ds->inputs, (size_t)ds->P * FG_ROWS * sizeof(double));
}

typedef struct {
    cosim_dataset *ds;
    const cosim_energy *e; /* (P) by pattern */
    const char *partial;
    int stored;            /* energies copied into ds so far */
} sim_mpi_saver;

/* Rank 0: DATA.h5.partial with the first `prefix` patterns, as the
 * single-process command leaves it. A failed write is reported, not fatal
 * (the run goes on; the next save tries again). */
static void sim_mpi_save(void *ud, int prefix)
{
    sim_mpi_saver *s = ud;
    sim_store_energy(s->ds, s->e + s->stored, s->stored, prefix);
    s->stored = prefix;
    int P = s->ds->P;
    s->ds->P = prefix;
    if (cosim_dataset_write(s->partial, s->ds) != FG_OK)
        fprintf(stderr, "fgcosim simulate: %s\n", fg_errmsg());
    s->ds->P = P;
}

/* The split run; rank 0 writes. *abort_now (rank 0): the run failed, a
 * rank may be stuck in a send (1) or gone (2), so no collective can
 * follow. */
static fg_status sim_mpi_run(sim_opts *o, cosim_pool *pool, cosim_dataset *ds, int rank,
                             int *abort_now)
{
    char partial[4096];
    snprintf(partial, sizeof partial, "%s.partial", o->out);
    int first = rank == 0 ? sim_resume(partial, ds) : 0, prefix = 0;
    fg_status st = cosim_mpi_bcast(&first, sizeof first);
    cosim_energy *e = rank == 0 ? calloc((size_t)ds->P, sizeof *e) : NULL;
    if (st == FG_OK && rank == 0 && !e)
        st = fg_error(FG_ERR_NOMEM, "out of memory");
    if ((st = cosim_mpi_agree(st, NULL)) != FG_OK) {
        free(e);
        return st;
    }
    sim_mpi_saver saver = {.ds = ds, .e = e, .partial = partial, .stored = first};
    fg_progress prog;
    fg_progress_init(&prog, "simulate", (uint64_t)ds->P);
    /* blocks of 4 runs a worker: short enough to balance and to save
     * often, long enough that a worker rarely idles at a block's end */
    double timeout = o->timeout_s > 0 ? o->timeout_s : 60.0;
    cosim_mpi_job job = {.x = ds->inputs, .P = ds->P, .first = first, .block = 4 * o->jobs,
                         .v = ds->v_bl, .ok = ds->ok, .e = e, .save = sim_mpi_save,
                         .save_ud = &saver, .save_s = 2.0,
                         .silence_s = 10.0 + 2.0 * 4 * o->jobs * timeout,
                         .progress = rank == 0 ? &prog : NULL};
    double t0 = fg_now();
    int lost = 0;
    st = cosim_mpi_run(pool, &job, &prefix, &lost);
    *abort_now = rank == 0 && st != FG_OK ? 1 + lost : 0;
    if (rank == 0)
        fg_progress_done(&prog, (uint64_t)prefix);
    if (rank == 0 && st == FG_OK) {
        sim_store_energy(ds, e + first, first, ds->P);
        st = sim_finish(o, pool, ds, partial, st);
        if (st == FG_OK)
            sim_report(o, ds, fg_now() - t0, cosim_pool_restarts(pool));
    }
    free(e);
    return st;
}

static fg_status sim_mpi_execute(sim_opts *o, app_array *a, cosim_dataset *ds,
                                 int *abort_now)
{
    int rank = cosim_mpi_rank(), size = cosim_mpi_size();
    fg_status st = sim_mpi_inputs(o, ds, rank, size);
    if (st != FG_OK)
        return st;
    if (rank == 0)
        st = sim_alloc(ds);
    cosim_pool *pool = NULL;
    if (st == FG_OK)
        st = sim_pool_open(o, a, ds->dvt, &pool);
    if ((st = cosim_mpi_agree(st, NULL)) != FG_OK) {
        cosim_pool_free(pool);
        return st;
    }
    if (rank == 0)
        sim_pool_attrs(o, pool, ds);
    st = sim_mpi_run(o, pool, ds, rank, abort_now);
    cosim_pool_free(pool);
    return st;
}

int cmd_simulate_mpi(int argc, char **argv)
{
    int rank = cosim_mpi_rank(), saved[2] = {-1, -1};
    sim_opts o;
    if (rank != 0)
        sim_mpi_quiet(1, saved);
    int rc = sim_parse(argc, argv, &o); /* the same on every rank */
    if (rank != 0)
        sim_mpi_quiet(0, saved);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.ckpt) {
        if (rank == 0)
            fprintf(stderr, "fgcosim-mpi simulate: --ckpt is not split over ranks; run "
                    "it with fgcosim simulate\n");
        return 2;
    }
    app_array a;
    fg_status st = app_array_load(&o.arr, &a);
    int who = 0, abort_now = 0;
    cosim_dataset ds = {0};
    st = cosim_mpi_agree(st, &who);
    if (st == FG_OK) {
        sim_dataset_init(&o, &a, &ds);
        st = sim_mpi_execute(&o, &a, &ds, &abort_now);
        /* a rank's failed run went to rank 0, which reports it and aborts;
         * otherwise rank 0's verdict (the file written or not) for all */
        if (!abort_now)
            st = cosim_mpi_agree(st, &who);
    }
    cosim_dataset_free(&ds);
    app_array_free(&a);
    if (st != FG_OK && (who == rank || abort_now))
        fprintf(stderr, "fgcosim-mpi simulate: %s\n", fg_errmsg());
    if (abort_now == 2) { /* a rank is gone: MPI_Abort would exit 0 under
                             mpirun --enable-recovery; mpirun passes this on */
        fflush(stdout);
        fflush(stderr);
        _exit(fg_status_exit_code(st));
    }
    if (abort_now)
        cosim_mpi_abort(fg_status_exit_code(st));
    return fg_status_exit_code(st);
}
#endif
