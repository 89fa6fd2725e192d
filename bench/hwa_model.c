/* bench/hwa_model: compact-model VMMs per second (batched, all cores:
 * OpenMP over the batch), the backward rate, and the time of the joint LM fit
 * on 1,500 synthetic patterns. Prints measured rates, not pass/fail.
 * The SPICE rate of the same array comes from bench/ of cosim (the
 * pool-vs-ngspice bench); this one needs only model_fit. */
#include "model_fit.h"

#include <stdio.h>
#include <stdlib.h>

static void synth_model(fit_model *m, fg_rng *r)
{
    fg_op_point op = fg_op_point_default();
    fit_model_init(m, &op);
    m->p.lambda = 3.0;
    for (int i = 1; i < FG_ROWS; i++) {
        m->p.kappa_row[i] = 1e-3 * fg_rng_uniform(r);
        m->p.q_row[i] = 1e-15 * (fg_rng_uniform(r) - 0.5);
    }
    for (int j = 0; j < FG_COLS; j++) {
        m->p.kappa_col[j] = 1e-3 * fg_rng_uniform(r);
        m->p.v_off[j] = 1e-3 * (fg_rng_uniform(r) - 0.5);
    }
    for (int p = 0; p < FIT_NBETA; p++)
        m->p.beta[p] = 0.02;
    for (int n = 0; n < FG_CELLS; n++)
        m->w[n] = 0.05 + fg_rng_uniform(r);
}

/* Seconds per call of forward (or backward) over B vectors, >= ~1 s total. */
static double rate(const fit_model *m, const double *x, double *y, double *dx,
                   int B, int backward)
{
    double dw[FG_CELLS] = {0};
    int reps = 0;
    double t0 = fg_now(), t;
    do {
        if (backward)
            fit_model_backward(dx, dw, NULL, y, x, m->w, m, B);
        else
            fit_model_forward(y, x, m->w, m, B);
        reps++;
        t = fg_now() - t0;
    } while (t < 1.0);
    return (double)reps * B / t;
}

int main(void)
{
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
    printf("hwa model forward : %.3g VMM/s (batch %d, target >= 1e6)\n", fwd, B);
    printf("hwa model backward: %.3g VMM/s (dx, dw)\n", bwd);
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
    printf("spice rate: not measured here (see cosim's bench for the pool rate); "
           "ratio = model rate / spice rate\n");
    free(x);
    free(y);
    free(dx);
    return 0;
}
