/* bench/hwa_model: compact-model VMMs per second (batched, all cores:
 * OpenMP over the batch), the backward rate, the time of the joint LM fit
 * on 1,500 synthetic patterns, and the SPICE rate measured in the same run
 * (a cosim pool on the default layout, all cores, BENCH_SPICE_P random-mix
 * calibration patterns, one-hot rows skipped, after one warm-up pattern per
 * worker), then the ratio model / SPICE. Also the float32 training kernel
 * (fit_model_*_f32_tiles: 4 tiles, half the rows off as in an image patch),
 * forward and backward, on the kernel fit_kernel_name() says (FGCOSIM_KERNEL=
 * base: the baseline build). Prints measured rates, not pass/fail. */
#include "cosim.h"
#include "model_fit.h"

#include <stdio.h>
#include <stdlib.h>

static void synth_model(fit_model *m, fg_rng *r)
{
    fg_op_point op = fg_op_point_default();
    fit_model_init(m, &op);
    m->p.lambda = 0.9;
    for (int i = 1; i < FG_ROWS; i++) {
        m->p.kappa_row[i] = 1e-3 * fg_rng_uniform(r);
        m->p.q_row[i] = 1e-15 * (fg_rng_uniform(r) - 0.5);
    }
    for (int i = 0; i < FG_ROWS; i++)
        m->p.t_edge[i] = 4e-10;
    for (int j = 0; j < FG_COLS; j++) {
        m->p.kappa_col[j] = 1e-3 * fg_rng_uniform(r);
        m->p.v_off[j] = 1e-3 * (fg_rng_uniform(r) - 0.5);
    }
    for (int p = 0; p < FIT_NBETA; p++)
        m->p.beta[p] = 0.02;
    for (int n = 0; n < FG_CELLS; n++)
        m->w[n] = 0.05 + fg_rng_uniform(r);
}

/* VMM/s of forward (or backward) over B vectors: the best of 5 windows of
 * >= 0.3 s each (the build machine's cores are shared; the best window is
 * the least disturbed one). */
static double rate(const fit_model *m, const double *x, double *y, double *dx,
                   int B, int backward)
{
    double dw[FG_CELLS] = {0}, best = 0;
    for (int win = 0; win < 5; win++) {
        int reps = 0;
        double t0 = fg_now(), t;
        do {
            if (backward)
                fit_model_backward(dx, dw, NULL, y, x, m->w, m, B);
            else
                fit_model_forward(y, x, m->w, m, B);
            reps++;
            t = fg_now() - t0;
        } while (t < 0.3);
        if ((double)reps * B / t > best)
            best = (double)reps * B / t;
    }
    return best;
}

/* Tile-VMM/s of the float32 kernel (or its backward) on nt tiles, B
 * vectors: the best of 5 windows of >= 0.3 s each. */
static double rate_f32(const fit_model *m, const float *x, const float *w,
                       float *y, float *dx, float *dw, int nt, int B,
                       int backward)
{
    double best = 0;
    for (int win = 0; win < 5; win++) {
        int reps = 0;
        double t0 = fg_now(), t;
        do {
            fg_status st = backward
                ? fit_model_backward_f32_tiles(dx, dw, y, x, w, nt, m, B)
                : fit_model_forward_f32_tiles(y, x, w, nt, m, B);
            if (st != FG_OK) {
                fprintf(stderr, "f32 kernel: %s\n", fg_errmsg());
                return 0;
            }
            reps++;
            t = fg_now() - t0;
        } while (t < 0.3);
        if ((double)reps * B * nt / t > best)
            best = (double)reps * B * nt / t;
    }
    return best;
}

/* The float32 kernel's rates on NT tiles of m's cells (slightly varied),
 * BF vectors with half their rows off; one thread (the per-core speed of
 * the kernel: steadier on a shared machine than all cores). */
static int bench_f32(const fit_model *m, fg_rng *r)
{
    enum { NT = 4, BF = 1 << 13 };
    float *x = malloc(sizeof(float) * BF * FG_ROWS);
    float *y = malloc(sizeof(float) * BF * FG_COLS * NT);
    float *dx = calloc((size_t)BF * FG_ROWS, sizeof(float));
    float *w = malloc(sizeof(float) * FG_CELLS * NT);
    float *dw = calloc((size_t)FG_CELLS * NT, sizeof(float));
    if (!x || !y || !dx || !w || !dw)
        return 1;
    for (size_t k = 0; k < (size_t)BF * FG_ROWS; k++)
        x[k] = fg_rng_uniform(r) < 0.5 ? 0.0f : (float)fg_rng_uniform(r);
    for (int n = 0; n < FG_CELLS * NT; n++)
        w[n] = (float)(m->w[n % FG_CELLS] * (0.9 + 0.2 * fg_rng_uniform(r)));
    fg_set_threads(1);
    double fwd = rate_f32(m, x, w, y, dx, dw, NT, BF, 0);
    double bwd = rate_f32(m, x, w, y, dx, dw, NT, BF, 1);
    fg_set_threads(0);
    printf("hwa float32 kernel (%s, %d tiles, batch %d, 1 thread): forward "
           "%.3g, backward %.3g tile-VMM/s\n", fit_kernel_name(), NT, BF,
           fwd, bwd);
    free(x);
    free(y);
    free(dx);
    free(w);
    free(dw);
    return 0;
}

/* SPICE VMM/s of a pool (all cores) on the default layout: weights uniform
 * [0,1] (seed 1) as in `fgcosim simulate`; P patterns timed after a warm-up
 * batch (one per worker; loads the deck). 0 on failure (message printed). */
static double spice_rate(int P, int *jobs)
{
    nl_layout *lay = NULL;
    cosim_pool *pool = NULL;
    double rate = 0, w[FG_CELLS], dvt[FG_CELLS];
    fg_rng r;
    fg_rng_seed(&r, 1);
    for (int n = 0; n < FG_CELLS; n++)
        w[n] = fg_rng_uniform(&r);
    /* the generator's first 16 patterns are one-hot rows (cheap transients):
     * skipped, so warm-up and timing both run the random mix */
    double *x = NULL, *v = NULL;
    int *ok = NULL;
    fg_status st = nl_layout_load("regular", &lay);
    fg_op_point op = fg_op_point_default();
    if (st == FG_OK) {
        op = nl_layout_op_point(lay);
        st = cosim_weights_to_dvt(&op, w, 0.0, 1, dvt);
    }
    if (st == FG_OK)
        st = cosim_pool_new(&(cosim_pool_config){.layout = lay, .op = op, .jobs = 0},
                            dvt, &pool);
    if (st == FG_OK) {
        *jobs = cosim_pool_jobs(pool);
        int n = 16 + P + *jobs;
        x = malloc(sizeof(double) * n * FG_ROWS);
        v = malloc(sizeof(double) * n * FG_COLS);
        ok = malloc(sizeof(int) * n);
        if (!x || !v || !ok)
            st = fg_error(FG_ERR_NOMEM, "out of memory");
    }
    if (st == FG_OK) {
        cosim_patterns_generate(x, 16 + P + *jobs, 3);
        st = cosim_pool_run(pool, x + 16 * FG_ROWS, *jobs, v, ok, NULL); /* warm-up */
    }
    if (st == FG_OK) {
        double t0 = fg_now();
        st = cosim_pool_run(pool, x + (size_t)(16 + *jobs) * FG_ROWS, P, v, ok, NULL);
        rate = P / (fg_now() - t0);
    }
    if (st != FG_OK) {
        fprintf(stderr, "spice rate: %s\n", fg_errmsg());
        rate = 0;
    }
    cosim_pool_free(pool);
    nl_layout_free(lay);
    free(x);
    free(v);
    free(ok);
    return rate;
}

int main(int argc, char **argv)
{
    int spice_p = argc > 1 ? atoi(argv[1]) : 40; /* BENCH_SPICE_P */
    enum { B = 1 << 15, P = 1500 };
    fg_rng r;
    fg_rng_seed(&r, 1);
    fit_model m, fit;
    synth_model(&m, &r);
    double *x = malloc(sizeof(double) * B * FG_ROWS);
    double *y = malloc(sizeof(double) * B * FG_COLS);
    double *dx = calloc((size_t)B * FG_ROWS, sizeof(double));
    if (!x || !y || !dx)
        return 1;
    for (size_t k = 0; k < (size_t)B * FG_ROWS; k++)
        x[k] = fg_rng_uniform(&r);
    double fwd = rate(&m, x, y, dx, B, 0);
    double bwd = rate(&m, x, y, dx, B, 1);
    printf("hwa model forward : %.3g VMM/s (batch %d, best of 5 windows, target >= 1e6)\n",
           fwd, B);
    printf("hwa model backward: %.3g VMM/s (dx, dw)\n", bwd);
    if (bench_f32(&m, &r))
        return 1;
    /* fit: P synthetic patterns (one-hot rows first), noise 1e-3 */
    for (int p = 0; p < P; p++)
        for (int i = 0; i < FG_ROWS; i++)
            x[p * FG_ROWS + i] = p < FG_ROWS ? (i == p) : fg_rng_uniform(&r);
    fit_model_forward(y, x, m.w, &m, P);
    for (int k = 0; k < P * FG_COLS; k++)
        y[k] += 1e-3 * fg_rng_normal(&r);
    fit_model_init(&fit, &m.op);
    fit_report rep;
    if (fit_model_fit(&fit, x, y, P, NULL, &rep) != FG_OK) {
        fprintf(stderr, "fit failed: %s\n", fg_errmsg());
        return 1;
    }
    printf("fit: %d patterns, %d unknowns, %d LM iterations, %.2f s "
           "(lambda %.4f, true %.4f)\n", P, rep.n_params, rep.iterations,
           rep.seconds, fit.p.lambda, m.p.lambda);
    if (spice_p > 0) {
        int jobs = 0;
        double sp = spice_rate(spice_p, &jobs);
        if (sp > 0)
            printf("spice (cosim pool, layout regular, %d workers, %d patterns): %.3g VMM/s\n"
                   "ratio model forward / spice: %.3g x (target >= 1e5)\n",
                   jobs, spice_p, sp, fwd / sp);
    }
    free(x);
    free(y);
    free(dx);
    return 0;
}
