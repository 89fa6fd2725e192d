/* Data sets: MNIST / Fashion-MNIST IDX (plain or gzip, read through zlib),
 * CIFAR-10 binary batches, area-averaged low-resolution variants. */
#include "train.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define NN_CLASSES 10
#define CIFAR_REC 3073 /* 1 label byte + 3*32*32 pixel bytes */

/* ---- IDX ------------------------------------------------------------------- */
/* Reads up to len bytes; returns the count read, -1 on a stream error. */
static long gz_read_all(gzFile f, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        unsigned chunk = len - got > (1u << 30) ? (1u << 30) : (unsigned)(len - got);
        int r = gzread(f, (char *)buf + got, chunk);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Opens an IDX file and checks its magic (type ubyte, ndim dims); dims out. */
static fg_status idx_open(const char *path, int ndim, uint32_t *dims, gzFile *out)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return fg_error(FG_ERR_IO, "%s: cannot open: %s", path,
                        errno ? strerror(errno) : "gzopen failed");
    unsigned char h[4 + 4 * 3];
    size_t hl = 4 + 4 * (size_t)ndim;
    long r = gz_read_all(f, h, hl);
    if (r != (long)hl) {
        gzclose(f);
        return fg_error(FG_ERR_FORMAT, "%s: truncated IDX header (%ld of %zu bytes)",
                        path, r < 0 ? 0L : r, hl);
    }
    if (h[0] || h[1] || h[2] != 0x08 || h[3] != ndim) {
        gzclose(f);
        return fg_error(FG_ERR_FORMAT,
                        "%s: bad IDX magic 0x%02x%02x%02x%02x (expected 0x000008%02x: "
                        "unsigned bytes, %d dimension%s)",
                        path, h[0], h[1], h[2], h[3], ndim, ndim, ndim > 1 ? "s" : "");
    }
    for (int i = 0; i < ndim; i++)
        dims[i] = be32(h + 4 + 4 * i);
    *out = f;
    return FG_OK;
}

/* Reads count*each bytes of an open IDX file into a new buffer. */
static fg_status idx_body(gzFile f, const char *path, size_t count, size_t each,
                          uint8_t **buf)
{
    size_t len = count * each;
    *buf = malloc(len ? len : 1);
    if (!*buf)
        return fg_error(FG_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, len);
    long r = gz_read_all(f, *buf, len);
    if (r != (long)len) {
        free(*buf);
        *buf = NULL;
        if (r < 0)
            return fg_error(FG_ERR_FORMAT, "%s: corrupt gzip stream", path);
        return fg_error(FG_ERR_FORMAT, "%s: truncated: %ld of %zu data bytes",
                        path, r, len);
    }
    return FG_OK;
}

static fg_status check_labels(const char *path, const uint8_t *y, int n)
{
    for (int i = 0; i < n; i++)
        if (y[i] >= NN_CLASSES)
            return fg_error(FG_ERR_FORMAT, "%s: label %d of item %d is not in 0..%d",
                            path, y[i], i, NN_CLASSES - 1);
    return FG_OK;
}

static fg_status idx_images(const char *path, int limit, nn_dataset *ds)
{
    uint32_t dims[3];
    gzFile f = NULL;
    fg_status st = idx_open(path, 3, dims, &f);
    if (st != FG_OK)
        return st;
    if (dims[0] > 10000000u || dims[1] == 0 || dims[2] == 0 || dims[1] > 4096 ||
        dims[2] > 4096) {
        gzclose(f);
        return fg_error(FG_ERR_FORMAT, "%s: implausible image dimensions %ux%ux%u",
                        path, dims[0], dims[1], dims[2]);
    }
    ds->n = (int)dims[0];
    ds->rawH = ds->H = (int)dims[1];
    ds->rawW = ds->W = (int)dims[2];
    ds->C = 1;
    int keep = limit > 0 && limit < ds->n ? limit : ds->n;
    st = idx_body(f, path, (size_t)keep, (size_t)ds->H * ds->W, &ds->px);
    gzclose(f);
    return st;
}

static fg_status idx_labels(const char *path, int limit, int n_images,
                            const char *images, nn_dataset *ds)
{
    uint32_t n = 0;
    gzFile f = NULL;
    fg_status st = idx_open(path, 1, &n, &f);
    if (st != FG_OK)
        return st;
    if ((int64_t)n != n_images) {
        gzclose(f);
        return fg_error(FG_ERR_FORMAT, "%s: %u labels, but %s holds %d images",
                        path, n, images, n_images);
    }
    int keep = limit > 0 && limit < n_images ? limit : n_images;
    st = idx_body(f, path, (size_t)keep, 1, &ds->labels);
    gzclose(f);
    if (st == FG_OK)
        st = check_labels(path, ds->labels, keep);
    ds->n = keep;
    return st;
}

fg_status nn_idx_load(const char *images, const char *labels, int limit,
                      nn_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    ds->classes = NN_CLASSES;
    ds->factor = 1;
    fg_status st = idx_images(images, limit, ds);
    if (st == FG_OK)
        st = idx_labels(labels, limit, ds->n, images, ds);
    if (st != FG_OK)
        nn_data_free(ds);
    return st;
}

/* ---- CIFAR-10 ---------------------------------------------------------------- */
/* Appends the records of one batch file (up to `room` of them). */
static fg_status cifar_file(const char *path, nn_dataset *ds, int room)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return fg_error(FG_ERR_IO, "%s: cannot open: %s", path,
                        errno ? strerror(errno) : "gzopen failed");
    unsigned char rec[CIFAR_REC];
    fg_status st = FG_OK;
    for (int k = 0; k < room; k++) {
        long r = gz_read_all(f, rec, CIFAR_REC);
        if (r == CIFAR_REC && rec[0] >= NN_CLASSES) {
            st = fg_error(FG_ERR_FORMAT, "%s: label %d of record %d is not in 0..9",
                          path, rec[0], k);
            break;
        }
        if (r != CIFAR_REC) {
            if (r != 0 || k == 0)
                st = fg_error(FG_ERR_FORMAT,
                              "%s: truncated CIFAR-10 record %d (%ld of %d bytes)",
                              path, k, r < 0 ? 0L : r, CIFAR_REC);
            break;
        }
        size_t at = (size_t)ds->n;
        uint8_t *px = ds->px + at * 3072;
        for (int c = 0; c < 3; c++) /* CHW planes -> HWC */
            for (int p = 0; p < 1024; p++)
                px[p * 3 + c] = rec[1 + c * 1024 + p];
        ds->labels[at] = rec[0];
        ds->n++;
    }
    gzclose(f);
    return st;
}

fg_status nn_cifar_load(const char *const *paths, int npaths, int limit,
                        nn_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    ds->classes = NN_CLASSES;
    ds->factor = 1;
    ds->rawH = ds->H = 32;
    ds->rawW = ds->W = 32;
    ds->C = 3;
    int cap = 10000 * npaths;
    if (limit > 0 && limit < cap)
        cap = limit;
    ds->px = malloc((size_t)cap * 3072);
    ds->labels = malloc((size_t)cap);
    if (!ds->px || !ds->labels) {
        nn_data_free(ds);
        return fg_error(FG_ERR_NOMEM, "cifar10: out of memory");
    }
    fg_status st = FG_OK;
    for (int i = 0; i < npaths && st == FG_OK && ds->n < cap; i++)
        st = cifar_file(paths[i], ds, cap - ds->n);
    if (st != FG_OK)
        nn_data_free(ds);
    return st;
}

/* ---- low resolution ------------------------------------------------------------ */
fg_status nn_data_set_factor(nn_dataset *ds, int factor)
{
    if (factor < 1 || ds->rawH % factor || ds->rawW % factor)
        return fg_error(FG_ERR_RANGE, "area averaging by %d does not divide %dx%d",
                        factor, ds->rawH, ds->rawW);
    ds->factor = factor;
    ds->H = ds->rawH / factor;
    ds->W = ds->rawW / factor;
    return FG_OK;
}

/* x (H,W,C) of one image: mean of factor x factor blocks, scaled to [0,1] */
static void data_image(const nn_dataset *ds, int i, float *x)
{
    const uint8_t *p = ds->px + (size_t)i * ds->rawH * ds->rawW * ds->C;
    const int f = ds->factor;
    if (f == 1) {
        for (size_t k = 0; k < (size_t)ds->H * ds->W * ds->C; k++)
            x[k] = p[k] * (1.0f / 255.0f);
        return;
    }
    const float inv = 1.0f / (255.0f * (float)(f * f));
    for (int h = 0; h < ds->H; h++)
        for (int w = 0; w < ds->W; w++)
            for (int c = 0; c < ds->C; c++) {
                unsigned s = 0;
                for (int a = 0; a < f; a++)
                    for (int b = 0; b < f; b++)
                        s += p[((size_t)(h * f + a) * ds->rawW + w * f + b) * ds->C + c];
                x[((size_t)h * ds->W + w) * ds->C + c] = (float)s * inv;
            }
}

void nn_data_batch(const nn_dataset *ds, const int *idx, int start, int B,
                   float *x, uint8_t *y)
{
    const size_t sz = (size_t)ds->H * ds->W * ds->C;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < B; j++) {
        int i = idx ? idx[j] : start + j;
        data_image(ds, i, x + (size_t)j * sz);
        if (y)
            y[j] = ds->labels[i];
    }
}

void nn_data_free(nn_dataset *ds)
{
    free(ds->px);
    free(ds->labels);
    ds->px = ds->labels = NULL;
    ds->n = 0;
}

/* ---- specs ------------------------------------------------------------------------ */
static int is_dir(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISDIR(s.st_mode);
}

/* dir/base, or dir/base.gz when only that exists */
static void idx_path(char *out, size_t n, const char *dir, const char *base)
{
    struct stat s;
    snprintf(out, n, "%s/%s", dir, base);
    if (stat(out, &s) == 0)
        return;
    snprintf(out, n, "%s/%s.gz", dir, base);
    if (stat(out, &s) != 0)
        snprintf(out, n, "%s/%s", dir, base); /* report the plain name */
}

static fg_status load_idx_dir(const char *dir, int train, int limit,
                              nn_dataset *ds)
{
    char im[1024], lb[1024];
    idx_path(im, sizeof im, dir, train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
    idx_path(lb, sizeof lb, dir, train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte");
    return nn_idx_load(im, lb, limit, ds);
}

static fg_status load_cifar(const char *path, int train, int limit, nn_dataset *ds)
{
    if (!is_dir(path)) {
        const char *one[1] = {path};
        return nn_cifar_load(one, 1, limit, ds);
    }
    char buf[5][1024];
    const char *p[5];
    int n = train ? 5 : 1;
    for (int i = 0; i < n; i++) {
        if (train)
            snprintf(buf[i], sizeof buf[i], "%s/data_batch_%d.bin", path, i + 1);
        else
            snprintf(buf[i], sizeof buf[i], "%s/test_batch.bin", path);
        p[i] = buf[i];
    }
    return nn_cifar_load(p, n, limit, ds);
}

fg_status nn_data_load(const char *spec, int train, int limit, nn_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    const char *colon = strchr(spec, ':');
    size_t kl = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : NULL;
    char kind[32];
    if (kl >= sizeof kind || (arg && !*arg))
        return fg_error(FG_ERR_PARSE, "data set '%s': expected NAME or NAME:PATH", spec);
    memcpy(kind, spec, kl);
    kind[kl] = 0;
    fg_status st;
    const char *path;
    int factor = 1;
    if (!strcmp(kind, "mnist") || !strcmp(kind, "mnist-lowres")) {
        path = arg ? arg : "data/mnist";
        factor = strcmp(kind, "mnist") ? 4 : 1;
        st = load_idx_dir(path, train, limit, ds);
    } else if (!strcmp(kind, "fashion")) {
        path = arg ? arg : "/usr/share/datasets/fashion-mnist";
        st = load_idx_dir(path, train, limit, ds);
    } else if (!strcmp(kind, "cifar10")) {
        if (!arg)
            return fg_error(FG_ERR_PARSE, "data set 'cifar10' needs a path: cifar10:PATH");
        path = arg;
        st = load_cifar(path, train, limit, ds);
    } else {
        return fg_error(FG_ERR_PARSE,
                        "unknown data set '%s' (mnist[:DIR], mnist-lowres[:DIR], "
                        "fashion[:DIR], cifar10:PATH)", spec);
    }
    if (st == FG_OK && ds->n == 0)
        st = fg_error(FG_ERR_FORMAT, "data set '%s' (%s split) holds no images",
                      spec, train ? "train" : "test");
    if (st == FG_OK)
        st = nn_data_set_factor(ds, factor);
    if (st != FG_OK) {
        nn_data_free(ds);
        return st;
    }
    snprintf(ds->spec, sizeof ds->spec, "%s:%s", kind, path);
    return FG_OK;
}
