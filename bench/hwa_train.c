/* bench/hwa_train: the cost of hardware-aware training. Times LeNet-5
 * training on the same MNIST images with the ideal (dense) path and with
 * every product through the compact model (hwa backend: forward on 16x16
 * tiles, backward through its analytic Jacobian), in one run; prints the
 * time-per-epoch ratio (target <= 3).
 *
 *   usage: bench-hwa-train [IMAGES=2000] [MODEL.json]
 *   (without MODEL.json: the model with the fitted regular-layout drain law
 *    lambda = 0.9/V and no crosstalk: the cost does not depend on values)
 */
#include "model_fit.h"
#include "train.h"

#include <stdlib.h>

static double time_epoch(nn_net *net, const nn_dataset *ds, fg_backend *be)
{
    nn_net_set_backend(net, be);
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

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
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
    fg_backend *hwa = fit_backend_hwa_new(&m);
    double t_ideal = time_epoch(net, &ds, NULL);
    double t_hwa = time_epoch(net, &ds, hwa);
    printf("LeNet-5, %d MNIST images, batch 64, all cores:\n", ds.n);
    printf("  ideal (dense sgemm):         %.2f s  (%.0f images/s)\n", t_ideal, ds.n / t_ideal);
    printf("  hwa (tiles, compact model):  %.2f s  (%.0f images/s), %llu array ops\n", t_hwa,
           ds.n / t_hwa, (unsigned long long)fg_backend_ops_count(hwa));
    printf("  ratio hwa / ideal per epoch: %.2fx (target <= 3)\n", t_hwa / t_ideal);
    fg_backend_free(hwa);
    nn_net_free(net);
    nn_data_free(&ds);
    return 0;
}
