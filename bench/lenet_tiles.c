/* bench/lenet_tiles: does the fitted model hold on a network's own inputs?
 * Runs LeNet-5 (a checkpoint) on test images through a recording backend,
 * samples tile operations (the tile's programmed weights and one input
 * row), runs them on the SPICE array and reports the fitted model's SER on
 * them (and the ideal model's, for reference).
 *
 *   usage: bench-lenet-tiles CKPT MODEL.json [SAMPLES=500] [LAYOUT=regular]
 *   (any network: the rows are sampled with a probability set from its
 *    tile operations per image). A model from `fgcosim recalibrate` is
 *   measured at its own corner (temperature, supply, drift and trims: the
 *   model's "corner").
 */
#include "cosim.h"
#include "model_fit.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>

/* The first 100 test images (held out from any calibration drawn from
 * the training images). */
static void record(nn_tile_ops *r, const char *ckpt, int cap, char *net_name)
{
    nn_net *net;
    nn_ckpt_meta meta;
    nn_dataset ds;
    if (nn_ckpt_load(ckpt, 100, &net, &meta) != FG_OK ||
        nn_data_load(meta.data, 0, 100, &ds) != FG_OK ||
        nn_tile_ops_record(net, &ds, 100, cap, 1, r) != FG_OK) {
        fprintf(stderr, "bench-lenet-tiles: %s\n", fg_errmsg());
        exit(2);
    }
    snprintf(net_name, 32, "%s", meta.net);
    nn_net_free(net);
    nn_data_free(&ds);
}

/* SPICE and the models on each sampled operation, tile by tile. */
static void measure(const nn_tile_ops *r, const char *net_name, const char *layout, const fit_model *m,
                    const fg_corner *corner)
{
    fg_backend *spice, *hwa = fit_backend_hwa_new(m), *ideal = fg_backend_ideal_new();
    nl_layout *lay;
    if (nl_layout_load(layout, &lay) != FG_OK)
        exit(2);
    cosim_pool_config cfg = {.layout = lay, .op = nl_layout_op_point(lay), .corner = corner};
    if (cosim_backend_spice_new(&cfg, NULL, &spice) != FG_OK) {
        fprintf(stderr, "bench-lenet-tiles: %s\n", fg_errmsg());
        exit(1);
    }
    size_t n = (size_t)r->S * FG_COLS;
    double *ys = malloc(n * sizeof *ys), *yh = malloc(n * sizeof *yh), *yi = malloc(n * sizeof *yi);
    float *xb = malloc((size_t)r->S * FG_ROWS * sizeof *xb);
    float *out = malloc(3 * n * sizeof *out);
    int *idx = malloc((size_t)r->S * sizeof *idx);
    double t0 = fg_now();
    for (int t = 0; t < r->n_tiles; t++) { /* one programming per tile */
        int B = 0;
        for (int s = 0; s < r->S; s++)
            if (r->tile[s] == t) {
                idx[B] = s;
                memcpy(xb + (size_t)B++ * FG_ROWS, r->x + (size_t)s * FG_ROWS,
                       FG_ROWS * sizeof *xb);
            }
        const float *w = r->w + (size_t)t * FG_CELLS;
        fg_backend_vmm(spice, w, xb, out, B);
        fg_backend_vmm(hwa, w, xb, out + n, B);
        fg_backend_vmm(ideal, w, xb, out + 2 * n, B);
        for (int b = 0; b < B; b++)
            for (int j = 0; j < FG_COLS; j++) {
                size_t k = (size_t)idx[b] * FG_COLS + j, o = (size_t)b * FG_COLS + j;
                ys[k] = out[o];
                yh[k] = out[n + o];
                yi[k] = out[2 * n + o];
            }
    }
    char where[256];
    fg_corner_describe(corner, where, sizeof where);
    printf("layout %s at %s: %d tile operations from %d distinct tiles, %.1f s of SPICE\n",
           layout, where, r->S, r->n_tiles, fg_now() - t0);
    printf("SER of the fitted model on %s's own tile operations: %.2f dB\n",
           net_name, fit_ser_db(ys, yh, r->S * FG_COLS));
    printf("SER of the ideal model (y = x.W) on the same:             %.2f dB\n",
           fit_ser_db(ys, yi, r->S * FG_COLS));
    free(xb);
    free(out);
    free(idx);
    fg_backend_free(spice);
    fg_backend_free(hwa);
    fg_backend_free(ideal);
    nl_layout_free(lay);
    free(ys);
    free(yh);
    free(yi);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench-lenet-tiles CKPT MODEL.json [SAMPLES=500] [LAYOUT=regular]\n");
        return 2;
    }
    nn_tile_ops r;
    char net_name[32];
    fit_model m;
    if (fit_model_load(&m, argv[2]) != FG_OK) {
        fprintf(stderr, "bench-lenet-tiles: %s\n", fg_errmsg());
        return 2;
    }
    record(&r, argv[1], argc > 3 ? atoi(argv[3]) : 500, net_name);
    measure(&r, net_name, argc > 4 ? argv[4] : "regular", &m, &m.corner);
    nn_tile_ops_free(&r);
    return 0;
}
