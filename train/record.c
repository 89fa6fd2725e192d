/* Tile operations of a network: which programmed tiles it uses and the
 * input rows it sends them (a calibration drawn from the network itself,
 * and the check of a fitted model on the operations it will run). */
#include "train.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    nn_tile_ops *ops;
    int cap, wcap;   /* rows and tiles allocated                        */
    double keep;     /* probability of keeping a non-zero row           */
    fg_rng rng;
    fg_backend *ideal;
    fg_status st;
} recorder;

/* Index of tile w among those seen (added if new), -1 out of memory. */
static int tile_id(recorder *r, const float *w)
{
    nn_tile_ops *o = r->ops;
    for (int t = o->n_tiles - 1; t >= 0; t--)
        if (!memcmp(o->w + (size_t)t * FG_CELLS, w, FG_CELLS * sizeof *w))
            return t;
    if (o->n_tiles == r->wcap) {
        int n = r->wcap ? 2 * r->wcap : 64;
        float *nw = realloc(o->w, (size_t)n * FG_CELLS * sizeof *nw);
        if (!nw)
            return -1;
        o->w = nw;
        r->wcap = n;
    }
    memcpy(o->w + (size_t)o->n_tiles * FG_CELLS, w, FG_CELLS * sizeof *w);
    return o->n_tiles++;
}

/* The ideal product, and a random sample of the non-zero input rows. */
static fg_status rec_vmm(void *ctx, const float *w, const float *x, float *y, int B)
{
    recorder *r = ctx;
    nn_tile_ops *o = r->ops;
    int t = -1;
    for (int b = 0; b < B && o->S < r->cap && r->st == FG_OK; b++) {
        const float *row = x + (size_t)b * FG_ROWS;
        float sum = 0;
        for (int i = 0; i < FG_ROWS; i++)
            sum += row[i];
        if (sum <= 0 || fg_rng_uniform(&r->rng) >= r->keep)
            continue;
        if (t < 0 && (t = tile_id(r, w)) < 0) {
            r->st = fg_error(FG_ERR_NOMEM, "tile record: out of memory");
            break;
        }
        o->tile[o->S] = t;
        memcpy(o->x + (size_t)o->S * FG_ROWS, row, FG_ROWS * sizeof *row);
        o->S++;
    }
    return fg_backend_vmm(r->ideal, w, x, y, B);
}

/* Tile operations (non-zero input rows) per image of net. */
static double ops_per_image(const nn_net *net)
{
    double n = 0;
    for (int a = 0; a < nn_net_num_analog(net); a++) {
        int need;
        nn_linear_dims d = nn_net_analog_dims(net, a, 1, &need);
        n += (double)d.N * nn_tile_count(d.IC, d.OC);
    }
    return n;
}

/* Stable sort of the operations by tile (counting sort). */
static fg_status sort_by_tile(nn_tile_ops *o)
{
    int *count = calloc((size_t)o->n_tiles + 1, sizeof *count), *tile = NULL;
    float *x = NULL;
    fg_status st = FG_OK;
    if (!count || !(tile = malloc((size_t)o->S * sizeof *tile)) ||
        !(x = malloc((size_t)o->S * FG_ROWS * sizeof *x)))
        st = fg_error(FG_ERR_NOMEM, "tile record: out of memory");
    for (int s = 0; st == FG_OK && s < o->S; s++)
        count[o->tile[s] + 1]++;
    for (int t = 0; st == FG_OK && t < o->n_tiles; t++)
        count[t + 1] += count[t];
    for (int s = 0; st == FG_OK && s < o->S; s++) {
        int d = count[o->tile[s]]++;
        tile[d] = o->tile[s];
        memcpy(x + (size_t)d * FG_ROWS, o->x + (size_t)s * FG_ROWS, FG_ROWS * sizeof *x);
    }
    if (st == FG_OK) {
        free(o->tile), free(o->x);
        o->tile = tile, o->x = x;
        tile = NULL, x = NULL;
    }
    free(count), free(tile), free(x);
    return st;
}

fg_status nn_tile_ops_record(nn_net *net, const nn_dataset *ds, int n_images, int cap,
                             uint64_t seed, nn_tile_ops *out)
{
    static const fg_backend_ops ops = {.name = "recorder", .vmm = rec_vmm};
    enum { BATCH = 100 };
    memset(out, 0, sizeof *out);
    if (cap < 1 || n_images < 1)
        return fg_error(FG_ERR_RANGE, "tile record: %d operations from %d images",
                        cap, n_images);
    n_images = n_images < ds->n ? n_images : ds->n;
    recorder r = {.ops = out, .cap = cap, .st = FG_OK};
    r.keep = 1.25 * cap / (ops_per_image(net) * n_images); /* some rows are 0 */
    fg_rng_seed(&r.rng, seed);
    fg_backend *old = nn_net_backend(net), *be = NULL;
    float *x = malloc((size_t)BATCH * ds->H * ds->W * ds->C * sizeof *x);
    out->tile = malloc((size_t)cap * sizeof *out->tile);
    out->x = malloc((size_t)cap * FG_ROWS * sizeof *out->x);
    if (!x || !out->tile || !out->x || !(r.ideal = fg_backend_ideal_new()) ||
        !(be = fg_backend_new(&ops, &r)))
        r.st = fg_error(FG_ERR_NOMEM, "tile record: out of memory");
    if (r.st == FG_OK)
        nn_net_set_backend(net, be);
    uint8_t y[BATCH];
    for (int s = 0; r.st == FG_OK && s < n_images && out->S < cap; s += BATCH) {
        int B = n_images - s < BATCH ? n_images - s : BATCH;
        nn_data_batch(ds, NULL, s, B, x, y);
        fg_status st = nn_net_forward(net, x, B, 0);
        if (r.st == FG_OK)
            r.st = st;
    }
    if (be)
        nn_net_set_backend(net, old);
    if (r.st == FG_OK)
        r.st = sort_by_tile(out);
    fg_backend_free(be);
    fg_backend_free(r.ideal);
    free(x);
    if (r.st != FG_OK)
        nn_tile_ops_free(out);
    return r.st;
}

void nn_tile_ops_free(nn_tile_ops *o)
{
    free(o->w);
    free(o->tile);
    free(o->x);
    memset(o, 0, sizeof *o);
}
