/* bench/hwa_train: the cost of hardware-aware training. Times LeNet-5
 * training on the same MNIST images with the ideal (dense) path and with
 * every product through the compact model (hwa backend: forward on 16x16
 * tiles, backward through its analytic Jacobian), in one run; prints the
 * time-per-epoch ratio (target <= 3).
 *
 * After one untimed dense epoch (first touch of the pages, OpenBLAS's
 * threads), the two alternate REPEATS times (the machine's load drifts);
 * the ratio is that of the medians.
 *
 * GRAD "linear": the hwa backend's forward with the linearised backward
 * (fg_backend_linear_grad); the bench then also prints, per weight tensor,
 * the cosine between its gradient and the exact one on the first batch.
 *
 *   usage: bench-hwa-train [IMAGES=2000] [MODEL.json] [REPEATS=3] [GRAD=exact]
 *   (without MODEL.json: the model with the fitted regular-layout drain law
 *    lambda = 0.9/V and no crosstalk: the cost does not depend on values)
 */
#include "model_fit.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double time_epoch(nn_net *net, const nn_dataset *ds, fg_backend *be,
                         nn_grad_mode g)
{
    nn_net_set_backend(net, be);
    if (nn_net_set_grad(net, g) != FG_OK) {
        fprintf(stderr, "bench-hwa-train: %s\n", fg_errmsg());
        exit(1);
    }
    nn_optim opt = {.kind = NN_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                    .eps = 1e-8f};
    fg_rng rng;
    fg_rng_seed(&rng, 1);
    long step = 0;
    double loss, acc, t0 = fg_now();
    if (nn_train_epoch(net, ds, &opt, 64, &rng, &step, ds->n / 64, 0, "bench",
                       &loss, &acc) != FG_OK) {
        fprintf(stderr, "bench-hwa-train: %s\n", fg_errmsg());
        exit(1);
    }
    return fg_now() - t0;
}

/* per weight tensor: cos(gradient through a, gradient through b with
 * mode gb) on the first batch of ds */
static void grad_cosines(nn_net *net, const nn_dataset *ds, fg_backend *a, fg_backend *b,
                         nn_grad_mode gb)
{
    enum { B = 64 };
    int K = nn_net_classes(net);
    size_t P = nn_net_num_params(net);
    float *x = malloc((size_t)B * ds->H * ds->W * ds->C * sizeof *x);
    float *probs = malloc((size_t)B * K * sizeof *probs), *dl = calloc((size_t)B * K, sizeof *dl);
    float *g[2] = {malloc(P * sizeof(float)), malloc(P * sizeof(float))};
    uint8_t y[B];
    nn_data_batch(ds, NULL, 0, B, x, y);
    fg_backend *be[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        nn_net_set_backend(net, be[k]);
        if (nn_net_set_grad(net, k ? gb : NN_GRAD_EXACT) != FG_OK)
            exit(1);
        nn_net_zero_grad(net);
        memset(dl, 0, (size_t)B * K * sizeof *dl);
        if (nn_net_forward(net, x, B, 0) != FG_OK)
            exit(1);
        nn_xent_forward(probs, nn_net_logits(net), y, B, K);
        nn_xent_backward(dl, probs, y, B, K);
        if (nn_net_backward(net, dl, B) != FG_OK)
            exit(1);
        memcpy(g[k], nn_net_grads(net), P * sizeof(float));
    }
    printf("  gradient cosine to the exact one, first batch:");
    for (int t = 0; t < nn_net_num_tensors(net); t++) {
        const nn_tensor_info *ti = nn_net_tensor(net, t);
        if (!ti->decay)
            continue;
        double d = 0, na = 0, nb = 0;
        for (size_t i = ti->offset; i < ti->offset + ti->size; i++)
            d += (double)g[0][i] * g[1][i], na += (double)g[0][i] * g[0][i],
                nb += (double)g[1][i] * g[1][i];
        printf(" %s %.4f", ti->name, na > 0 && nb > 0 ? d / sqrt(na * nb) : 0.0);
    }
    printf("\n");
    free(x), free(probs), free(dl), free(g[0]), free(g[1]);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    const char *grad = argc > 4 ? argv[4] : "exact";
    int linear = !strcmp(grad, "linear"), sample = !strcmp(grad, "sample");
    if (!linear && !sample && strcmp(grad, "exact")) {
        fprintf(stderr, "bench-hwa-train: GRAD = %s, must be exact, linear or sample\n", grad);
        return 2;
    }
    if (reps < 1 || reps > 99) {
        fprintf(stderr, "bench-hwa-train: REPEATS = %s, must be 1..99\n", argv[3]);
        return 2;
    }
    fit_model m;
    fg_op_point op = fg_op_point_default();
    fit_model_init(&m, &op);
    m.p.lambda = 0.9;
    if (argc > 2 && fit_model_load(&m, argv[2]) != FG_OK) {
        fprintf(stderr, "bench-hwa-train: %s\n", fg_errmsg());
        return 2;
    }
    nn_dataset ds;
    nn_net *net;
    if (nn_data_load("mnist", 1, n, &ds) != FG_OK ||
        nn_net_new(&net, "lenet5", ds.H, ds.W, ds.C, ds.classes, 64) != FG_OK) {
        fprintf(stderr, "bench-hwa-train: %s\n", fg_errmsg());
        return 2;
    }
    nn_set_threads(0);
    nn_net_init(net, 1);
    fg_backend *hwa = sample ? NULL : fit_backend_hwa_new(&m), *exact = NULL;
    nn_grad_mode g = linear ? NN_GRAD_LINEAR : NN_GRAD_EXACT;
    if (sample) {
        exact = fit_backend_hwa_new(&m);
        if (fg_backend_linear_grad(fit_backend_hwa_new(&m), &hwa) != FG_OK) {
            fprintf(stderr, "bench-hwa-train: %s\n", fg_errmsg());
            return 1;
        }
    }
    double ti[99], th[99];
    printf("LeNet-5, %d MNIST images, batch 64, all cores, kernel %s, gradient %s:\n",
           ds.n, fit_kernel_name(), grad);
    if (linear || sample)
        grad_cosines(net, &ds, sample ? exact : hwa, hwa, g);
    time_epoch(net, &ds, NULL, NN_GRAD_EXACT); /* warm-up: pages, OpenBLAS threads */
    for (int k = 0; k < reps; k++) {
        ti[k] = time_epoch(net, &ds, NULL, NN_GRAD_EXACT);
        th[k] = time_epoch(net, &ds, hwa, g);
        printf("  run %d: ideal %.2f s, hwa %.2f s (%.2fx)\n", k + 1, ti[k], th[k],
               th[k] / ti[k]);
    }
    double t_ideal = median(ti, reps), t_hwa = median(th, reps);
    printf("  ideal (dense sgemm):         %.2f s  (%.0f images/s), median\n", t_ideal,
           ds.n / t_ideal);
    printf("  hwa (tiles, compact model):  %.2f s  (%.0f images/s), median, %llu array ops\n",
           t_hwa, ds.n / t_hwa, (unsigned long long)fg_backend_ops_count(hwa) / reps);
    printf("  ratio hwa / ideal per epoch: %.2fx (target <= 3)\n", t_hwa / t_ideal);
    fg_backend_free(hwa);
    fg_backend_free(exact);
    nn_net_free(net);
    nn_data_free(&ds);
    return 0;
}
