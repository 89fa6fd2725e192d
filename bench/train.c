/* bench_train: LeNet-5 training throughput on MNIST. Prints images/s and the
 * effective GFLOP/s of a training epoch (forward + backward flops of the
 * matrix products, 2 flops per multiply-accumulate), and the GFLOP/s OpenBLAS
 * sgemm reaches on exactly the same matrix shapes and transpositions in the
 * same run; the ratio of the two is the figure of merit (target >= 0.3).
 *
 * usage: bench_train [IMAGES [DATA-SPEC [THREADS]]]
 *        (defaults: 60000 = one full epoch, mnist, 2 threads) */
#include "train.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH 64

/* GFLOP/s of sgemm on the products of one training step, repeated. */
static double sgemm_rate(nn_net *net, double *step_flops)
{
    float *a = calloc(1 << 24, sizeof(float)), *b = calloc(1 << 24, sizeof(float));
    float *c = calloc(1 << 24, sizeof(float));
    double flops = 0.0;
    for (int k = 0; k < (1 << 24); k++)
        a[k] = b[k] = 1e-3f * (float)(k % 97);
    double t0 = fg_now(), t = 0.0;
    int reps = 0;
    while (t < 2.0) {
        flops = 0.0;
        for (int l = 0; l < nn_net_num_analog(net); l++) {
            int dinp;
            nn_linear_dims d = nn_net_analog_dims(net, l, BATCH, &dinp);
            /* forward: (N,IC) . (OC,IC)^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d.N, d.OC, d.IC,
                        1.0f, a, d.IC, b, d.IC, 0.0f, c, d.OC);
            /* dW: (N,OC)^T . (N,IC) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.OC, d.IC, d.N,
                        1.0f, a, d.OC, b, d.IC, 1.0f, c, d.IC);
            flops += 4.0 * d.N * d.IC * d.OC;
            if (dinp) { /* dinp: (N,OC) . (OC,IC) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d.N, d.IC,
                            d.OC, 1.0f, a, d.OC, b, d.IC, 1.0f, c, d.IC);
                flops += 2.0 * d.N * d.IC * d.OC;
            }
        }
        reps++;
        t = fg_now() - t0;
    }
    free(a), free(b), free(c);
    *step_flops = flops;
    return flops * reps / t * 1e-9;
}

int main(int argc, char **argv)
{
    int images = argc > 1 ? atoi(argv[1]) : 60000;
    const char *spec = argc > 2 ? argv[2] : "mnist";
    int threads = argc > 3 ? atoi(argv[3]) : NN_DEFAULT_THREADS;
    nn_set_threads(threads);
    nn_dataset ds;
    nn_net *net;
    if (nn_data_load(spec, 1, images, &ds) != FG_OK ||
        nn_net_new(&net, "lenet5", ds.H, ds.W, ds.C, ds.classes, BATCH) != FG_OK) {
        fprintf(stderr, "bench_train: %s\n", fg_errmsg());
        return 2;
    }
    nn_net_init(net, 1);
    nn_train_opts o;
    nn_train_opts_default(&o, "lenet5");
    fg_rng rng;
    fg_rng_seed(&rng, 1);
    long step = 0;
    double loss, acc;
    uint64_t train_macs;
    nn_net_macs(net, &train_macs);
    double t0 = fg_now();
    fg_status st = nn_train_epoch(net, &ds, &o.opt, BATCH, &rng, &step, 0, 0,
                                  "bench", &loss, &acc);
    double dt = fg_now() - t0;
    if (st != FG_OK) {
        fprintf(stderr, "bench_train: %s\n", fg_errmsg());
        return 1;
    }
    double ips = ds.n / dt, eff = 2.0 * (double)train_macs * ds.n / dt * 1e-9;
    double step_flops, ref = sgemm_rate(net, &step_flops);
    printf("lenet5 training on %s: %d images, batch %d, %d threads, loss %.4f\n",
           spec, ds.n, BATCH, threads, loss);
    printf("  epoch time            %.2f s\n", dt);
    printf("  images/s              %.0f\n", ips);
    printf("  flops/image (fwd+bwd) %.2f MFLOP\n", 2.0 * (double)train_macs * 1e-6);
    printf("  effective GFLOP/s     %.2f\n", eff);
    printf("  sgemm GFLOP/s         %.2f  (same shapes, %.1f MFLOP per step)\n", ref,
           step_flops * 1e-6);
    printf("  ratio                 %.2f  (target >= 0.3)\n", eff / ref);
    nn_net_free(net);
    nn_data_free(&ds);
    return 0;
}
