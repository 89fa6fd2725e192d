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

#define MAX_TILES 4096

typedef struct {
    float w[MAX_TILES][FG_CELLS]; /* distinct tile weights seen */
    int ntiles;
    int *tile;                    /* (S) tile of sample s */
    float *x;                     /* (S,16) input rows    */
    int S, cap;
    fg_rng rng;
    double keep;                  /* probability of keeping a row */
    char net[32];
    fg_backend *ideal;
} recorder;

static int tile_id(recorder *r, const float *w)
{
    for (int t = r->ntiles - 1; t >= 0; t--)
        if (!memcmp(r->w[t], w, sizeof r->w[t]))
            return t;
    if (r->ntiles == MAX_TILES)
        return -1;
    memcpy(r->w[r->ntiles], w, sizeof r->w[0]);
    return r->ntiles++;
}

/* The ideal product, and a random sample of the non-zero input rows. */
static fg_status rec_vmm(void *ctx, const float *w, const float *x, float *y, int B)
{
    recorder *r = ctx;
    int t = -1;
    for (int b = 0; b < B && r->S < r->cap; b++) {
        const float *row = x + (size_t)b * FG_ROWS;
        float sum = 0;
        for (int i = 0; i < FG_ROWS; i++)
            sum += row[i];
        if (sum <= 0 || fg_rng_uniform(&r->rng) >= r->keep)
            continue;
        if (t < 0 && (t = tile_id(r, w)) < 0)
            break;
        r->tile[r->S] = t;
        memcpy(r->x + (size_t)r->S * FG_ROWS, row, FG_ROWS * sizeof *row);
        r->S++;
    }
    return fg_backend_vmm(r->ideal, w, x, y, B);
}

static void record(recorder *r, const char *ckpt, int images)
{
    static const fg_backend_ops ops = {.name = "recorder", .vmm = rec_vmm};
    nn_net *net;
    nn_ckpt_meta meta;
    nn_dataset ds;
    if (nn_ckpt_load(ckpt, 100, &net, &meta) != FG_OK ||
        nn_data_load(meta.data, 0, images, &ds) != FG_OK) {
        fprintf(stderr, "bench-lenet-tiles: %s\n", fg_errmsg());
        exit(2);
    }
    long per_image = 0; /* tile operations per image */
    for (int a = 0; a < nn_net_num_analog(net); a++) {
        int need;
        nn_linear_dims d = nn_net_analog_dims(net, a, 1, &need);
        per_image += (long)d.N * nn_tile_count(d.IC, d.OC);
    }
    r->keep = 1.25 * r->cap / ((double)per_image * images); /* some rows are 0 */
    snprintf(r->net, sizeof r->net, "%s", meta.net);
    fg_backend *be = fg_backend_new(&ops, r);
    nn_net_set_backend(net, be);
    float *x = malloc((size_t)100 * ds.H * ds.W * ds.C * sizeof *x);
    uint8_t y[100];
    for (int s = 0; s + 100 <= ds.n && r->S < r->cap; s += 100) {
        nn_data_batch(&ds, NULL, s, 100, x, y);
        nn_net_forward(net, x, 100, 0);
    }
    free(x);
    fg_backend_free(be);
    nn_net_free(net);
    nn_data_free(&ds);
}

/* SPICE and the models on each sampled operation, tile by tile. */
static void measure(recorder *r, const char *layout, const fit_model *m,
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
    for (int t = 0; t < r->ntiles; t++) { /* one programming per tile */
        int B = 0;
        for (int s = 0; s < r->S; s++)
            if (r->tile[s] == t) {
                idx[B] = s;
                memcpy(xb + (size_t)B++ * FG_ROWS, r->x + (size_t)s * FG_ROWS,
                       FG_ROWS * sizeof *xb);
            }
        fg_backend_vmm(spice, r->w[t], xb, out, B);
        fg_backend_vmm(hwa, r->w[t], xb, out + n, B);
        fg_backend_vmm(ideal, r->w[t], xb, out + 2 * n, B);
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
           layout, where, r->S, r->ntiles, fg_now() - t0);
    printf("SER of the fitted model on %s's own tile operations: %.2f dB\n",
           r->net, fit_ser_db(ys, yh, r->S * FG_COLS));
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
    static recorder r;
    r.cap = argc > 3 ? atoi(argv[3]) : 500;
    r.tile = malloc((size_t)r.cap * sizeof *r.tile);
    r.x = malloc((size_t)r.cap * FG_ROWS * sizeof *r.x);
    r.ideal = fg_backend_ideal_new();
    fg_rng_seed(&r.rng, 1);
    fit_model m;
    if (fit_model_load(&m, argv[2]) != FG_OK) {
        fprintf(stderr, "bench-lenet-tiles: %s\n", fg_errmsg());
        return 2;
    }
    record(&r, argv[1], 100);
    measure(&r, argc > 4 ? argv[4] : "regular", &m, &m.corner);
    fg_backend_free(r.ideal);
    free(r.tile);
    free(r.x);
    return 0;
}
