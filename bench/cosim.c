/* bench/cosim: fgcosim's VMM/s (worker pool, all cores) against a loop of
 * `ngspice -b` on the same decks and on PULSE decks, in one run on the
 * default layout, and the pool with one worker (per core, against one
 * `ngspice -b` process); also worker memory from run 100 to run N and the error
 * against PULSE decks with a 10x smaller maximum time step and with a 100x
 * smaller one at reltol 1e-6.
 *
 *   usage: bench-cosim [PATTERNS=200] [LOOP=30] [MEMRUNS=2000]
 *                      [MIX=calib|dense] [RELTOLS=0]
 *
 * MIX: calib, the calibration mix (cosim_patterns_generate); dense, all 16
 * rows on at uniform random widths. RELTOLS: comma-separated transient
 * relative tolerances (0: the deck's default), each measured in turn in
 * the same run (pool, loop, ratio, step error); MEMRUNS 0 skips the
 * memory check.
 */
#include "bench_common.h"
#include "cosim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static cosim_pool *pool_make(const nl_layout *lay, fg_op_point op,
                             const double *dvt, int jobs, double step_scale,
                             double reltol, nl_wl_drive drive)
{
    cosim_pool *p;
    cosim_pool_config cfg = {.layout = lay, .op = op, .jobs = jobs,
                             .max_step_scale = step_scale, .reltol = reltol,
                             .wl_drive = drive};
    if (cosim_pool_new(&cfg, dvt, &p) != FG_OK) {
        fprintf(stderr, "bench-cosim: %s\n", fg_errmsg());
        exit(1);
    }
    return p;
}

static double run_rate(cosim_pool *p, const double *x, int P, double *v)
{
    int *ok = malloc((size_t)P * sizeof *ok);
    double t0 = fg_now();
    if (cosim_pool_run(p, x, P, v, ok, NULL) != FG_OK)
        exit(1);
    double dt = fg_now() - t0;
    free(ok);
    return P / dt;
}

/* `ngspice -b` on one deck file per pattern, one at a time. */
static double program_rate(const nl_layout *lay, fg_op_point op, const double *dvt,
                           const double *x, int n, double reltol, nl_wl_drive drive)
{
    char dir[] = "/tmp/fgcosim-bench-XXXXXX";
    if (!mkdtemp(dir))
        exit(1);
    for (int p = 0; p < n; p++) {
        nl_deck_spec spec = {.layout = lay, .op = op, .dvt = dvt,
                             .x = x + (size_t)p * FG_ROWS, .max_step_scale = 1.0,
                             .reltol = reltol, .wl_drive = drive};
        char *deck, path[96];
        if (nl_deck_build(&spec, &deck) != FG_OK)
            exit(1);
        snprintf(path, sizeof path, "%s/d%d.cir", dir, p);
        fg_file_write_atomic(path, deck, strlen(deck));
        free(deck);
    }
    char cmd[256];
    double t0 = fg_now();
    for (int p = 0; p < n; p++) {
        snprintf(cmd, sizeof cmd, "HOME=%s ngspice -b %s/d%d.cir >/dev/null 2>&1", dir, dir, p);
        if (system(cmd) != 0)
            fprintf(stderr, "bench-cosim: ngspice -b failed on pattern %d\n", p);
    }
    double dt = fg_now() - t0;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-cosim: could not remove %s\n", dir);
    return n / dt;
}

static void memory_growth(cosim_pool *p, const double *x, int P, int runs)
{
    double *v = malloc((size_t)P * FG_COLS * sizeof *v);
    int *ok = malloc((size_t)P * sizeof *ok), done = 0;
    long rss100 = 0;
    while (done < runs) {
        int n = runs - done < P ? runs - done : P;
        if (done < 100 && done + n > 100)
            n = 100 - done;
        cosim_pool_run(p, x, n, v, ok, NULL);
        done += n;
        if (done == 100)
            rss100 = cosim_pool_rss_kb(p);
    }
    long rssN = cosim_pool_rss_kb(p);
    printf("worker RSS: run 100 %ld KiB, run %d %ld KiB, growth %.1f%%\n",
           rss100, runs, rssN, 100.0 * (rssN - rss100) / (double)rss100);
    free(v);
    free(ok);
}

/* All 16 rows on at uniform random widths (seeded). */
static void dense_patterns(double *x, int P)
{
    fg_rng r;
    fg_rng_seed(&r, 2);
    for (size_t k = 0; k < (size_t)P * FG_ROWS; k++)
        x[k] = fg_rng_uniform(&r);
}

static double max_diff_mv(const double *a, const double *b, int n)
{
    double d = 0;
    for (int k = 0; k < n * FG_COLS; k++)
        d = fmax(d, fabs(a[k] - b[k]));
    return 1e3 * d;
}

/* Pool, loop, ratio and step error at one relative tolerance. The pool
 * runs the default deck (word lines with breakpoints at the fall starts
 * only); the loop runs `ngspice -b` on the same decks and on the decks with
 * PULSE word lines (a breakpoint at every corner: fgcosim's deck until
 * stop 20, the baseline). The references are the PULSE deck at a
 * 10x smaller max step (same tolerance) and at a 100x smaller one with
 * reltol 1e-6. */
static void measure(const nl_layout *lay, fg_op_point op, const double *dvt,
                    const double *x, int P, int L, double reltol, double *v, double *vf)
{
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN), nl = L < P ? L : P;
    cosim_pool *pool = pool_make(lay, op, dvt, 0, 1.0, reltol, NL_WL_FALL_BREAKS);
    run_rate(pool, x, cores * 2, v); /* warm-up */
    double rate = run_rate(pool, x, P, v);
    int jobs = cosim_pool_jobs(pool);
    cosim_pool_free(pool);
    /* one worker: what the pool does per core, against one `ngspice -b` */
    cosim_pool *one = pool_make(lay, op, dvt, 1, 1.0, reltol, NL_WL_FALL_BREAKS);
    run_rate(one, x, 2, v); /* warm-up */
    double rate1 = run_rate(one, x, nl, v);
    cosim_pool_free(one);
    cosim_pool *pp = pool_make(lay, op, dvt, 0, 1.0, reltol, NL_WL_PULSE);
    double rate_p = run_rate(pp, x, P, vf);
    cosim_pool_free(pp);
    double loop_f = program_rate(lay, op, dvt, x, nl, reltol, NL_WL_FALL_BREAKS);
    double loop_p = program_rate(lay, op, dvt, x, nl, reltol, NL_WL_PULSE);
    printf("reltol %g%s:\n", reltol > 0 ? reltol : NL_RELTOL_DEFAULT,
           reltol > 0 ? "" : " (the deck's default)");
    printf("  fgcosim pool (%d workers): %.2f VMM/s over %d patterns\n", jobs, rate, P);
    printf("  same pool, PULSE word lines: %.2f VMM/s (fall breaks: %.2fx)\n", rate_p,
           rate / rate_p);
    printf("  ngspice -b loop (1 core), the same decks: %.2f VMM/s over %d patterns\n",
           loop_f, nl);
    printf("  ngspice -b loop (1 core), PULSE decks:    %.2f VMM/s over %d patterns\n",
           loop_p, nl);
    printf("  pool, 1 worker: %.2f VMM/s over %d patterns (%.2fx the loop on the same "
           "decks: the transient is the cost)\n", rate1, nl, rate1 / loop_f);
    printf("  ratio to the loop on the same decks: %.2fx\n", rate / loop_f);
    printf("  ratio to the loop on PULSE decks: %.2fx\n", rate / loop_p);
    cosim_pool *fine = pool_make(lay, op, dvt, 0, 0.1, reltol, NL_WL_PULSE);
    int nf = P < 50 ? P : 50;
    double *vp = malloc((size_t)nf * FG_COLS * sizeof *vp);
    memcpy(vp, vf, (size_t)nf * FG_COLS * sizeof *vp);
    run_rate(fine, x, nf, vf);
    cosim_pool_free(fine);
    printf("  max |dV| against PULSE word lines at a 10x smaller max step, over %d "
           "patterns: %.3f mV (PULSE word lines at this step: %.3f mV)\n",
           nf, max_diff_mv(v, vf, nf), max_diff_mv(vp, vf, nf));
    /* the 10x step at the same tolerance is itself tolerance-limited
     * (spice_decks/TRANSIENT.md): also against a converged reference */
    int nc = nf < 20 ? nf : 20;
    cosim_pool *conv = pool_make(lay, op, dvt, 0, 0.01, 1e-6, NL_WL_PULSE);
    run_rate(conv, x, nc, vf);
    cosim_pool_free(conv);
    printf("  max |dV| against PULSE word lines at a 100x smaller max step and reltol "
           "1e-6, over %d patterns: %.3f mV (PULSE word lines at this step: %.3f mV)\n",
           nc, max_diff_mv(v, vf, nc), max_diff_mv(vp, vf, nc));
    free(vp);
}

int main(int argc, char **argv)
{
    int P = argc > 1 ? atoi(argv[1]) : 200, L = argc > 2 ? atoi(argv[2]) : 30;
    int M = argc > 3 ? atoi(argv[3]) : 2000;
    const char *mix = argc > 4 ? argv[4] : "calib", *reltols = argc > 5 ? argv[5] : "0";
    if (P < 1 || L < 1 || M < 0 || (strcmp(mix, "calib") && strcmp(mix, "dense"))) {
        fprintf(stderr, "usage: bench-cosim [PATTERNS] [LOOP] [MEMRUNS] [calib|dense] "
                        "[RELTOLS]\n");
        return 2;
    }
    nl_layout *lay;
    if (nl_layout_load("regular", &lay) != FG_OK)
        return 1;
    fg_op_point op = nl_layout_op_point(lay);
    double w[FG_CELLS], dvt[FG_CELLS];
    bench_random_weights(w, 1);
    if (cosim_weights_to_dvt(&op, w, 0.0, 1, dvt) != FG_OK)
        return 1;
    double *x = malloc((size_t)P * FG_ROWS * sizeof *x);
    double *v = malloc((size_t)P * FG_COLS * sizeof *v);
    double *vf = malloc((size_t)P * FG_COLS * sizeof *vf);
    if (!strcmp(mix, "dense"))
        dense_patterns(x, P);
    else
        cosim_patterns_generate(x, P, 2);
    printf("layout regular, %d cores, %s patterns, load average %.2f\n",
           (int)sysconf(_SC_NPROCESSORS_ONLN), mix, bench_load_avg());
    char buf[256];
    snprintf(buf, sizeof buf, "%s", reltols);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        measure(lay, op, dvt, x, P, L, atof(t), v, vf);
    printf("load average at the end %.2f\n", bench_load_avg());
    if (M > 0) {
        cosim_pool *pool = pool_make(lay, op, dvt, 0, 1.0, 0, NL_WL_FALL_BREAKS);
        memory_growth(pool, x, P, M);
        cosim_pool_free(pool);
    }
    nl_layout_free(lay);
    free(x);
    free(v);
    free(vf);
    return 0;
}
