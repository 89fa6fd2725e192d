/* Tests of core/: hashing, CSV parsing, random numbers, the ideal backend. */
#include "suites.h"
#include "fgcore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_sha256_vectors)
{
    char hex[65];
    fg_sha256_hex("", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    fg_sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    fg_sha256_hex(m, strlen(m), hex);
    ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* more than one block: 112 bytes (two blocks after padding), and one
     * million 'a' (15625 blocks) */
    m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
        "klmnopqrlmnopqrsmnopqrstnopqrstu";
    fg_sha256_hex(m, strlen(m), hex);
    ck_assert_str_eq(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    fg_sha256_hex(a, 1000000, hex);
    free(a);
    ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/fgtest_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(test_csv_ok)
{
    char *p = write_tmp("0,0.5,1\n\n# comment\n0.25, 0.75 ,0\n");
    double *v;
    int rows;
    ck_assert_int_eq(fg_csv_read(p, 3, 0, 1, &v, &rows), FG_OK);
    ck_assert_int_eq(rows, 2);
    ck_assert(v[1] == 0.5 && v[3] == 0.25 && v[4] == 0.75);
    free(v);
    unlink(p);
    free(p);
}
END_TEST

START_TEST(test_csv_errors)
{
    double *v = NULL;
    int rows;
    char *p = write_tmp("0,0.5,1\n0,2,0\n");
    ck_assert_int_eq(fg_csv_read(p, 3, 0, 1, &v, &rows), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), ":2: column 2"));
    unlink(p);
    free(p);
    p = write_tmp("0,0.5\n");
    ck_assert_int_eq(fg_csv_read(p, 3, 0, 1, &v, &rows), FG_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), ":1:"));
    unlink(p);
    free(p);
    p = write_tmp("0,0.5,1,1\n");
    ck_assert_int_eq(fg_csv_read(p, 3, 0, 1, &v, &rows), FG_ERR_PARSE);
    unlink(p);
    free(p);
    ck_assert_int_eq(fg_csv_read("/nonexistent/x.csv", 3, 0, 1, &v, &rows), FG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "/nonexistent/x.csv"));
    ck_assert_int_eq(fg_status_exit_code(FG_ERR_PARSE), 2);
}
END_TEST

START_TEST(test_rng_deterministic)
{
    fg_rng a, b;
    fg_rng_seed(&a, 42);
    fg_rng_seed(&b, 42);
    double s = 0, s2 = 0;
    for (int i = 0; i < 20000; i++) {
        double u = fg_rng_uniform(&a);
        ck_assert(u == fg_rng_uniform(&b));
        ck_assert(u >= 0 && u < 1);
        double z = fg_rng_normal(&a);
        fg_rng_normal(&b);
        s += z;
        s2 += z * z;
    }
    ck_assert(fabs(s / 20000) < 0.05 && fabs(s2 / 20000 - 1) < 0.05);
}
END_TEST

START_TEST(test_ideal_backend)
{
    fg_backend *be = fg_backend_ideal_new();
    float w[FG_CELLS], x[2 * FG_ROWS], y[2 * FG_COLS];
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = (float)((k * 7) % 11) / 10.0f;
    for (int k = 0; k < 2 * FG_ROWS; k++)
        x[k] = (float)((k * 3) % 5) / 4.0f;
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 2), FG_OK);
    for (int b = 0; b < 2; b++)
        for (int j = 0; j < FG_COLS; j++) {
            double ref = 0;
            for (int i = 0; i < FG_ROWS; i++)
                ref += x[b * FG_ROWS + i] * w[i * FG_COLS + j];
            ck_assert_double_eq_tol(y[b * FG_COLS + j], ref, 1e-5);
        }
    /* backward: dx = dy W^T, dw = x^T dy, accumulated */
    float dy[2 * FG_COLS], dx[2 * FG_ROWS] = {0}, dw[FG_CELLS] = {0};
    for (int k = 0; k < 2 * FG_COLS; k++)
        dy[k] = (float)(k % 3) - 1.0f;
    ck_assert_int_eq(fg_backend_vmm_backward(be, w, x, dy, dx, dw, 2), FG_OK);
    double ref = 0;
    for (int j = 0; j < FG_COLS; j++)
        ref += dy[FG_COLS + j] * w[4 * FG_COLS + j];
    ck_assert_double_eq_tol(dx[FG_ROWS + 4], ref, 1e-5);
    ck_assert_double_eq_tol(dw[2 * FG_COLS + 3],
                            x[2] * dy[3] + x[FG_ROWS + 2] * dy[FG_COLS + 3], 1e-5);
    ck_assert_int_eq((int)fg_backend_ops_count(be), 2);
    fg_backend_free(be);
}
END_TEST

/* A backend with only vmm and vmm_backward (the ideal one's, borrowed). */
static fg_status plain_vmm(void *ctx, const float *w, const float *x, float *y, int B)
{
    return fg_backend_vmm(ctx, w, x, y, B);
}
static fg_status plain_bwd(void *ctx, const float *w, const float *x, const float *dy,
                           float *dx, float *dw, int B)
{
    return fg_backend_vmm_backward(ctx, w, x, dy, dx, dw, B);
}

/* nt tiles on the same pulses, against hand sums: the ideal backend's
 * packed product (one sgemm per row of tiles) and, for a backend without
 * vmm_tiles, fg_backend_vmm_tiles tile by tile (y per tile, dx summed over
 * the tiles, dw per tile, nt*B counted). */
START_TEST(test_backend_tiles_fallback)
{
    enum { B = 2, NT = 3 };
    fg_backend *ideal = fg_backend_ideal_new();
    static const fg_backend_ops plain = {.name = "plain", .vmm = plain_vmm,
                                         .vmm_backward = plain_bwd};
    fg_backend *bes[2] = {fg_backend_ideal_new(), fg_backend_new(&plain, ideal)};
    float w[NT * FG_CELLS], x[B * FG_ROWS], y[NT * B * FG_COLS];
    float dy[NT * B * FG_COLS];
    for (int k = 0; k < NT * FG_CELLS; k++)
        w[k] = (float)((k * 7) % 11) / 10.0f;
    for (int k = 0; k < B * FG_ROWS; k++)
        x[k] = (float)((k * 3) % 5) / 4.0f;
    for (int k = 0; k < NT * B * FG_COLS; k++)
        dy[k] = (float)(k % 3) - 1.0f;
    for (int b = 0; b < 2; b++) {
        fg_backend *be = bes[b];
        float dx[B * FG_ROWS] = {0}, dw[NT * FG_CELLS] = {0};
        ck_assert_int_eq(fg_backend_vmm_tiles(be, w, NT, x, y, B), FG_OK);
        ck_assert_int_eq(fg_backend_vmm_tiles_backward(be, w, NT, x, dy, dx, dw, B), FG_OK);
        ck_assert_int_eq((int)fg_backend_ops_count(be), NT * B);
        for (int t = 0; t < NT; t++) {
            /* tile t, vector 1, column 5: x . w */
            double ref = 0;
            for (int i = 0; i < FG_ROWS; i++)
                ref += x[FG_ROWS + i] * w[t * FG_CELLS + i * FG_COLS + 5];
            ck_assert_double_eq_tol(y[(t * B + 1) * FG_COLS + 5], ref, 1e-5);
            /* dw_t[2][3] = sum_b x[b][2] dy_t[b][3] */
            ck_assert_double_eq_tol(dw[t * FG_CELLS + 2 * FG_COLS + 3],
                                    x[2] * dy[t * B * FG_COLS + 3] +
                                        x[FG_ROWS + 2] * dy[(t * B + 1) * FG_COLS + 3],
                                    1e-5);
        }
        /* dx[1][4] = sum_t dy_t[1] . w_t[4,:] */
        double ref = 0;
        for (int t = 0; t < NT; t++)
            for (int j = 0; j < FG_COLS; j++)
                ref += dy[(t * B + 1) * FG_COLS + j] * w[t * FG_CELLS + 4 * FG_COLS + j];
        ck_assert_double_eq_tol(dx[FG_ROWS + 4], ref, 1e-5);
    }
    fg_backend_free(bes[0]);
    fg_backend_free(bes[1]);
    fg_backend_free(ideal);
}
END_TEST

/* The quantile against the normal CDF from erfc, and the fast sampler's
 * moments and tail mass. */
START_TEST(test_normal_sampler)
{
    const double z[] = {-4.5, -2.5, -1.0, 0.0, 0.3, 1.96, 3.2};
    for (size_t i = 0; i < sizeof z / sizeof z[0]; i++)
        ck_assert_double_eq_tol(fg_normal_quantile(0.5 * erfc(-z[i] / sqrt(2.0))), z[i],
                                1e-7);
    enum { N = 400000 };
    float *v = calloc(N, sizeof *v);
    fg_rng r;
    fg_rng_seed(&r, 3);
    fg_rng_normal_add(&r, v, N, 2.0f);
    double m = 0, q = 0, tail = 0;
    for (int i = 0; i < N; i++) {
        m += v[i], q += (double)v[i] * v[i];
        tail += fabs(v[i]) > 2.0 * 1.959964;
    }
    m /= N;
    ck_assert_double_eq_tol(m, 0.0, 0.01);
    ck_assert_double_eq_tol(sqrt(q / N - m * m), 2.0, 0.01);
    ck_assert_double_eq_tol(tail / N, 0.05, 0.002);
    free(v);
}
END_TEST

/* y (16) of one-hot row `row` on cells w through be */
static void one_hot_y(fg_backend *be, const float *w, int row, float *y)
{
    float x[FG_ROWS] = {0};
    x[row] = 1.0f;
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 1), FG_OK);
}

static fg_backend *wrapped(const char *spec)
{
    fg_perturb p;
    fg_perturb_init(&p);
    ck_assert_int_eq(fg_perturb_parse(&p, spec), FG_OK);
    fg_backend *be = NULL;
    ck_assert_int_eq(fg_perturb_wrap(fg_backend_ideal_new(), &p, &be), FG_OK);
    return be;
}

/* Quantisers and stuck cells against hand-computed values. */
START_TEST(test_perturb_quantisers)
{
    float w[FG_CELLS], y[FG_COLS], x[FG_ROWS] = {0};
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = 0.4f;
    fg_backend *be = wrapped("prog_bits=2"); /* levels 0, 1/3, 2/3, 1 */
    one_hot_y(be, w, 3, y);
    ck_assert_double_eq_tol(y[7], 1.0 / 3.0, 1e-6);
    fg_backend_free(be);
    be = wrapped("pulse_bits=1"); /* x 0.6 -> 1, 0.4 -> 0 */
    x[0] = 0.6f, x[1] = 0.4f;
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 1), FG_OK);
    ck_assert_double_eq_tol(y[2], 0.4, 1e-6);
    fg_backend_free(be);
    be = wrapped("adc_bits=2,adc_range=3"); /* outputs 0, 1, 2, 3 */
    x[0] = 1.0f, x[1] = 1.0f, x[2] = 0.6f; /* y = 0.4 * 2.6 = 1.04 -> 1 */
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 1), FG_OK);
    ck_assert_double_eq_tol(y[0], 1.0, 1e-6);
    fg_backend_free(be);
    be = wrapped("stuck_on=1"); /* every cell at full current */
    one_hot_y(be, w, 5, y);
    ck_assert_double_eq_tol(y[11], 1.0, 1e-6);
    fg_backend_free(be);
    be = wrapped("stuck_off=0.25,seed=4"); /* about a quarter read 0 */
    int off = 0;
    for (int row = 0; row < FG_ROWS; row++) {
        one_hot_y(be, w, row, y);
        for (int j = 0; j < FG_COLS; j++)
            off += y[j] == 0.0f;
    }
    ck_assert_int_ge(off, 40);
    ck_assert_int_le(off, 88);
    fg_backend_free(be);
}
END_TEST

/* prog_sigma: log-normal factors of spread sigma/slope, the same draw on
 * every call for the same targets, another for another seed; the
 * gradient of cell (i,j) under a one-hot row is that cell's factor. */
START_TEST(test_perturb_programming)
{
    float w[FG_CELLS], y[FG_COLS], y2[FG_COLS], x[FG_ROWS] = {0};
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = 0.5f;
    fg_backend *be = wrapped("prog_sigma=0.01,slope=0.04");
    double m = 0, q = 0;
    for (int row = 0; row < FG_ROWS; row++) {
        one_hot_y(be, w, row, y);
        one_hot_y(be, w, row, y2);
        for (int j = 0; j < FG_COLS; j++) {
            ck_assert_float_eq(y[j], y2[j]);
            double l = log(y[j] / 0.5);
            m += l, q += l * l;
        }
    }
    m /= FG_CELLS;
    ck_assert_double_eq_tol(sqrt(q / FG_CELLS - m * m), 0.25, 0.03);
    /* d y_j / d w_3j = factor_3j = y_j / 0.5 */
    float dy[FG_COLS], dx[FG_ROWS] = {0}, dw[FG_CELLS] = {0};
    one_hot_y(be, w, 3, y);
    x[3] = 1.0f;
    for (int j = 0; j < FG_COLS; j++)
        dy[j] = 1.0f;
    ck_assert_int_eq(fg_backend_vmm_backward(be, w, x, dy, dx, dw, 1), FG_OK);
    for (int j = 0; j < FG_COLS; j++)
        ck_assert_double_eq_tol(dw[3 * FG_COLS + j], y[j] / 0.5, 1e-5);
    fg_backend_free(be);
    be = wrapped("prog_sigma=0.01,slope=0.04,seed=9");
    one_hot_y(be, w, 15, y2);
    ck_assert(y2[0] != y[0] || y2[1] != y[1]);
    fg_backend_free(be);
}
END_TEST

/* Regression (fuzz_perturb, stop 20): sigma/slope = 43 made factors of
 * e^88 = inf, an input of 0 times inf NaN, and the ADC cast NaN to int.
 * Now every output is an ADC level in [0, range], and the gradient finite. */
START_TEST(test_perturb_extreme_sigma)
{
    fg_backend *be = wrapped("prog_sigma=.43,adc_bits=4,bwd_noise=2,read_noise=6,"
                             "slope=0.01");
    float w[FG_CELLS], x[2 * FG_ROWS], y[2 * FG_COLS], dy[2 * FG_COLS];
    float dx[2 * FG_ROWS] = {0}, dw[FG_CELLS] = {0};
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = (float)(k % 7) / 6.0f;
    for (int k = 0; k < 2 * FG_ROWS; k++)
        x[k] = (float)(k % 5) / 4.0f;
    for (int k = 0; k < 2 * FG_COLS; k++)
        dy[k] = 1.0f;
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 2), FG_OK);
    for (int k = 0; k < 2 * FG_COLS; k++)
        ck_assert_msg(y[k] >= 0.0f && y[k] <= 16.0f, "y[%d] = %g", k, y[k]);
    ck_assert_int_eq(fg_backend_vmm_backward(be, w, x, dy, dx, dw, 2), FG_OK);
    for (int k = 0; k < FG_CELLS; k++)
        ck_assert_msg(isfinite(dw[k]), "dw[%d] = %g", k, dw[k]);
    fg_backend_free(be);
}
END_TEST

/* Drift without spread: w -> w^(1-L), L = rate log10(1 + t/t0); its
 * gradient against a central difference. */
START_TEST(test_perturb_drift)
{
    float w[FG_CELLS], y[FG_COLS], x[FG_ROWS] = {0};
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = 0.25f;
    fg_backend *be = wrapped("drift_time=1e8,drift_sigma=0");
    one_hot_y(be, w, 2, y);
    double L = 0.005 * log10(1.0 + 1e8);
    ck_assert_double_eq_tol(y[4], pow(0.25, 1.0 - L), 1e-5);
    float dy[FG_COLS] = {0}, dx[FG_ROWS] = {0}, dw[FG_CELLS] = {0};
    dy[4] = 1.0f, x[2] = 1.0f;
    ck_assert_int_eq(fg_backend_vmm_backward(be, w, x, dy, dx, dw, 1), FG_OK);
    const float h = 1e-3f;
    w[2 * FG_COLS + 4] = 0.25f + h;
    one_hot_y(be, w, 2, y);
    double yp = y[4];
    w[2 * FG_COLS + 4] = 0.25f - h;
    one_hot_y(be, w, 2, y);
    ck_assert_double_eq_tol(dw[2 * FG_COLS + 4], (yp - y[4]) / (2 * h), 1e-3);
    fg_backend_free(be);
}
END_TEST

/* Read noise: fresh per read with the given sigma; backward noise on dx. */
START_TEST(test_perturb_noise)
{
    float w[FG_CELLS] = {0}, x[64 * FG_ROWS] = {0}, y[64 * FG_COLS], y2[64 * FG_COLS];
    fg_backend *be = wrapped("read_noise=0.3");
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 64), FG_OK);
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y2, 64), FG_OK);
    double q = 0;
    for (int k = 0; k < 64 * FG_COLS; k++)
        q += (double)y[k] * y[k];
    ck_assert_double_eq_tol(sqrt(q / (64 * FG_COLS)), 0.3, 0.03);
    ck_assert(y[0] != y2[0]);
    fg_backend_free(be);
    be = wrapped("bwd_noise=0.5");
    float dy[FG_COLS] = {0}, dx[FG_ROWS] = {0};
    dy[0] = 2.0f; /* W = 0: dx is the noise alone, sigma 0.5 * 2 */
    q = 0;
    for (int rep = 0; rep < 64; rep++) {
        memset(dx, 0, sizeof dx);
        ck_assert_int_eq(fg_backend_vmm_backward(be, w, x, dy, dx, NULL, 1), FG_OK);
        for (int i = 0; i < FG_ROWS; i++)
            q += (double)dx[i] * dx[i];
    }
    ck_assert_double_eq_tol(sqrt(q / (64 * FG_ROWS)), 1.0, 0.1);
    fg_backend_free(be);
}
END_TEST

/* y = 2 x.w + 0.5 x.w^2 per output: a backend with a known gain */
static fg_status curved_vmm(void *ctx, const float *w, const float *x, float *y, int B)
{
    fg_status st = fg_backend_vmm(ctx, w, x, y, B);
    for (int k = 0; k < B * FG_COLS; k++)
        y[k] = 2.0f * y[k] + 0.5f * y[k] * y[k];
    return st;
}

/* The linearised gradient: dx and dw are the ideal transpose with each
 * dy scaled by the forward's gain y/(x.w) = 2 + 0.5 x.w; the same when
 * the forward's gains are gone from the ring (recomputed). */
START_TEST(test_linear_grad)
{
    enum { B = 3 };
    fg_backend *ideal = fg_backend_ideal_new();
    static const fg_backend_ops curved = {.name = "curved", .vmm = curved_vmm};
    fg_backend *lin = NULL;
    ck_assert_int_eq(fg_backend_linear_grad(fg_backend_new(&curved, ideal), &lin), FG_OK);
    ck_assert_str_eq(fg_backend_name(lin), "curved");
    float w[FG_CELLS], x[B * FG_ROWS], y[B * FG_COLS], z[B * FG_COLS], dy[B * FG_COLS];
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = (float)((k * 5) % 7) / 7.0f;
    for (int k = 0; k < B * FG_ROWS; k++)
        x[k] = (float)((k * 3) % 4) / 3.0f;
    for (int k = 0; k < B * FG_COLS; k++)
        dy[k] = (float)(k % 5) - 2.0f;
    ck_assert_int_eq(fg_backend_vmm(ideal, w, x, z, B), FG_OK);
    float gdy[B * FG_COLS], rdx[B * FG_ROWS] = {0}, rdw[FG_CELLS] = {0};
    for (int k = 0; k < B * FG_COLS; k++)
        gdy[k] = (fabsf(z[k]) < 1e-6f ? 1.0f : 2.0f + 0.5f * z[k]) * dy[k];
    ck_assert_int_eq(fg_backend_vmm_backward(ideal, w, x, gdy, rdx, rdw, B), FG_OK);
    for (int pass = 0; pass < 2; pass++) {
        float dx[B * FG_ROWS] = {0}, dw[FG_CELLS] = {0};
        if (pass == 0) /* pass 1: a fresh backend, no forward: recomputed */
            ck_assert_int_eq(fg_backend_vmm(lin, w, x, y, B), FG_OK);
        fg_backend *be = lin;
        if (pass == 1)
            ck_assert_int_eq(fg_backend_linear_grad(fg_backend_new(&curved, ideal), &be),
                             FG_OK);
        ck_assert_int_eq(fg_backend_vmm_backward(be, w, x, dy, dx, dw, B), FG_OK);
        for (int k = 0; k < B * FG_ROWS; k++)
            ck_assert_double_eq_tol(dx[k], rdx[k], 1e-4);
        for (int k = 0; k < FG_CELLS; k++)
            ck_assert_double_eq_tol(dw[k], rdw[k], 1e-4);
        if (pass == 1)
            fg_backend_free(be);
    }
    fg_backend_free(lin);
    fg_backend_free(ideal);
}
END_TEST

/* curved_vmm on a row of tiles: each tile on its own */
static fg_status curved_tiles(void *ctx, const float *w, int nt, const float *x, float *y,
                              int B)
{
    for (int t = 0; t < nt; t++)
        if (curved_vmm(ctx, w + (size_t)t * FG_CELLS, x, y + (size_t)t * B * FG_COLS,
                       B) != FG_OK)
            return FG_ERR_INTERNAL;
    return FG_OK;
}

/* A row of 3 tiles and a batch of several blocks of the parallel loops:
 * each tile's dx share and dw equal the single-tile reference. */
START_TEST(test_linear_grad_tiles)
{
    enum { B = 600, NT = 3 };
    fg_backend *ideal = fg_backend_ideal_new();
    static const fg_backend_ops curved = {.name = "curved", .vmm = curved_vmm,
                                          .vmm_tiles = curved_tiles};
    fg_backend *lin = NULL;
    ck_assert_int_eq(fg_backend_linear_grad(fg_backend_new(&curved, ideal), &lin), FG_OK);
    static float w[NT * FG_CELLS], x[B * FG_ROWS], y[NT * B * FG_COLS], dy[NT * B * FG_COLS];
    static float z[B * FG_COLS], gdy[B * FG_COLS], rdx[B * FG_ROWS], dx[B * FG_ROWS];
    static float rdw[NT * FG_CELLS], dw[NT * FG_CELLS];
    for (int k = 0; k < NT * FG_CELLS; k++)
        w[k] = (float)((k * 5) % 11) / 11.0f;
    for (int k = 0; k < B * FG_ROWS; k++)
        x[k] = (float)((k * 7) % 5) / 4.0f;
    for (int k = 0; k < NT * B * FG_COLS; k++)
        dy[k] = (float)(k % 7) - 3.0f;
    memset(rdx, 0, sizeof rdx), memset(rdw, 0, sizeof rdw);
    for (int t = 0; t < NT; t++) {
        ck_assert_int_eq(fg_backend_vmm(ideal, w + t * FG_CELLS, x, z, B), FG_OK);
        for (int k = 0; k < B * FG_COLS; k++) /* the gain, clipped to [0, 4] */
            gdy[k] = (fabsf(z[k]) < 1e-6f ? 1.0f : fminf(2.0f + 0.5f * z[k], 4.0f)) *
                     dy[(size_t)t * B * FG_COLS + k];
        ck_assert_int_eq(fg_backend_vmm_backward(ideal, w + t * FG_CELLS, x, gdy, rdx,
                                                 rdw + t * FG_CELLS, B),
                         FG_OK);
    }
    memset(dx, 0, sizeof dx), memset(dw, 0, sizeof dw);
    ck_assert_int_eq(fg_backend_vmm_tiles(lin, w, NT, x, y, B), FG_OK);
    ck_assert_int_eq(fg_backend_vmm_tiles_backward(lin, w, NT, x, dy, dx, dw, B), FG_OK);
    for (int k = 0; k < B * FG_ROWS; k++)
        ck_assert_double_eq_tol(dx[k], rdx[k], 1e-3 * (1 + fabsf(rdx[k])));
    for (int k = 0; k < NT * FG_CELLS; k++)
        ck_assert_double_eq_tol(dw[k], rdw[k], 1e-3 * (1 + fabsf(rdw[k])));
    fg_backend_free(lin);
    fg_backend_free(ideal);
}
END_TEST

/* Specs: errors name the key and the range; describe lists what is set. */
START_TEST(test_perturb_parse)
{
    fg_perturb p;
    fg_perturb_init(&p);
    ck_assert(fg_perturb_is_none(&p));
    ck_assert_int_eq(fg_perturb_parse(&p, "read_noise=0.2,prog_bits=5"), FG_OK);
    char buf[128];
    fg_perturb_describe(&p, buf, sizeof buf);
    ck_assert_str_eq(buf, "read_noise=0.2,prog_bits=5");
    ck_assert_int_eq(fg_perturb_parse(&p, "colour=3"), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "colour"));
    ck_assert_int_eq(fg_perturb_parse(&p, "read_noise"), FG_ERR_PARSE);
    ck_assert_int_eq(fg_perturb_parse(&p, "read_noise=x"), FG_ERR_PARSE);
    ck_assert_int_eq(fg_perturb_parse(&p, "read_noise=-1"), FG_ERR_RANGE);
    ck_assert_int_eq(fg_perturb_parse(&p, "adc_bits=17"), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "1..16"));
    ck_assert_int_eq(fg_perturb_parse(&p, "adc_bits=2.5"), FG_ERR_RANGE);
    ck_assert_int_eq(fg_perturb_parse(&p, "stuck_off=0.7,stuck_on=0.7"), FG_ERR_RANGE);
}
END_TEST

START_TEST(test_op_point_roundtrip)
{
    fg_op_point op = fg_op_point_default();
    /* 16 cells at I_unit for T_max: y = 16 <-> 0.4 V swing (hand-computed) */
    ck_assert_double_eq_tol(fg_op_v_from_y(&op, 16.0), 0.8 - 0.4, 1e-12);
    ck_assert_double_eq_tol(fg_op_y_from_v(&op, 0.7), 4.0, 1e-12);
}
END_TEST

/* Corner: the rails scaled by the supply, hand-computed retention loss. */
START_TEST(test_corner_op_and_drift)
{
    fg_op_point nom = fg_op_point_default();
    fg_corner c = fg_corner_nominal();
    ck_assert(fg_corner_is_nominal(&c) && fg_corner_check(&c) == FG_OK);
    c.supply = 0.9;
    fg_op_point at = fg_corner_op(&c, &nom);
    ck_assert_double_eq_tol(at.v_read, 0.495, 1e-12);
    ck_assert_double_eq_tol(at.v_pre, 0.72, 1e-12);
    ck_assert_double_eq(at.t_max, nom.t_max);
    /* the trim stretches the pulses; y keeps the nominal unit: a 0.1 V
     * drop below 0.72 V is 4 (25 mV units) whatever the trim */
    c.t_max_trim = 0.5;
    ck_assert_double_eq_tol(fg_corner_op(&c, &nom).t_max, 50e-9, 1e-20);
    ck_assert_double_eq_tol(fg_corner_y_from_v(&c, &nom, 0.62), 4.0, 1e-9);
    c.out_gain = 2.5; /* the digital gain trim multiplies */
    ck_assert_double_eq_tol(fg_corner_y_from_v(&c, &nom, 0.62), 10.0, 1e-9);
    c.out_gain = 25;
    ck_assert_int_eq(fg_corner_check(&c), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "--out-gain"));
    c.out_gain = 1;
    c.t_max_trim = 1;
    c.rails = FG_RAIL_PRE;
    at = fg_corner_op(&c, &nom);
    ck_assert_double_eq(at.v_read, nom.v_read);
    ck_assert_double_eq_tol(at.v_pre, 0.72, 1e-12);
    /* no spread: dVT' = n + (dVT - n)(1 - rate log10(1 + t/t0)) */
    double dvt[FG_CELLS], out[FG_CELLS];
    for (int k = 0; k < FG_CELLS; k++)
        dvt[k] = 0.5 - 0.002 * k;
    c = fg_corner_nominal();
    fg_corner_drift(&c, dvt, out); /* no time: a copy */
    ck_assert_mem_eq(out, dvt, sizeof dvt);
    c.drift_s = 99;
    c.drift_rate = 0.01;
    c.drift_sigma = 0;
    c.drift_neutral_v = 0.1;
    fg_corner_drift(&c, dvt, out);
    /* log10(100) = 2 decades: 2 % of (0.5 - 0.1) = 8 mV lost on cell 0 */
    ck_assert_double_eq_tol(out[0], 0.492, 1e-12);
    ck_assert_double_eq_tol(out[255], 0.1 + (dvt[255] - 0.1) * 0.98, 1e-12);
    /* with a spread: seeded by the seed and the array, mean loss kept */
    c.drift_sigma = 0.5;
    double again[FG_CELLS], mean = 0;
    fg_corner_drift(&c, dvt, out);
    fg_corner_drift(&c, dvt, again);
    ck_assert_mem_eq(out, again, sizeof out);
    for (int k = 0; k < FG_CELLS; k++)
        mean += (1 - (out[k] - 0.1) / (dvt[k] - 0.1)) / FG_CELLS;
    ck_assert_double_eq_tol(mean, 0.02, 0.003); /* 0.02 * 0.5 / 16 = 0.0006 sd */
    c.drift_seed = 2;
    fg_corner_drift(&c, dvt, again);
    ck_assert(memcmp(out, again, sizeof out) != 0);
    /* ranges name the option */
    c = fg_corner_nominal();
    c.temp_c = 151;
    ck_assert_int_eq(fg_corner_check(&c), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "--temp"));
    /* a message may wrap the previous one */
    fg_error(FG_ERR_RANGE, "f.h5: %s", fg_errmsg());
    ck_assert_str_eq(fg_errmsg(), "f.h5: --temp 151 is outside the allowed range [-55, 150] C");
    c = fg_corner_nominal();
    c.supply = 0.49;
    ck_assert_int_eq(fg_corner_check(&c), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "--supply"));
    c = fg_corner_nominal();
    c.drift_s = -1;
    ck_assert_int_eq(fg_corner_check(&c), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "--drift-time"));
}
END_TEST

Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, test_sha256_vectors);
    tcase_add_test(tc, test_csv_ok);
    tcase_add_test(tc, test_csv_errors);
    tcase_add_test(tc, test_rng_deterministic);
    tcase_add_test(tc, test_op_point_roundtrip);
    tcase_add_test(tc, test_corner_op_and_drift);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("backend");
    tcase_add_test(tb, test_ideal_backend);
    tcase_add_test(tb, test_backend_tiles_fallback);
    tcase_add_test(tb, test_normal_sampler);
    tcase_add_test(tb, test_perturb_quantisers);
    tcase_add_test(tb, test_perturb_programming);
    tcase_add_test(tb, test_perturb_extreme_sigma);
    tcase_add_test(tb, test_perturb_drift);
    tcase_add_test(tb, test_perturb_noise);
    tcase_add_test(tb, test_perturb_parse);
    tcase_add_test(tb, test_linear_grad);
    tcase_add_test(tb, test_linear_grad_tiles);
    suite_add_tcase(s, tb);
    return s;
}
