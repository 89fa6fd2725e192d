/* The two-file change of README "Adding a backend", tried: this program's
 * registry is api/registry.c on the shipped table plus the toy's line
 * (examples/toy_backends.def), with examples/open_toy.c beside the shipped
 * constructors (tests/meson.build). The toy opens by spec, computes the
 * clipped product and its gradient, rejects bad gains, and the table's
 * flags reach the option check. */
#include "fgcosim.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* x_i = 1/2; w_ij = s j / 16: x.w_j = s j / 2 exactly */
static void toy_tile(float *w, float *x, float s)
{
    for (int i = 0; i < FG_ROWS; i++) {
        x[i] = 0.5f;
        for (int j = 0; j < FG_COLS; j++)
            w[i * FG_COLS + j] = s * (float)j / 16.0f;
    }
}

START_TEST(test_toy_table)
{
    int n;
    const fgc_backend_kind *k = fgc_backend_kinds(&n);
    const char *names[] = {"ideal", "hwa", "spice", "toy"};
    ck_assert_int_eq(n, 4);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(k[i].name, names[i]);
    ck_assert_str_eq(k[3].usage, "toy:GAIN");
    ck_assert_int_eq(k[3].corner, 0);
    ck_assert_int_eq(k[3].ir, 0);
    /* no modelled array, no command-line option: the spec is the name */
    fgc_array a;
    ck_assert_int_eq(fgc_backend_array("toy:2", NULL, &a), FG_OK);
    ck_assert_int_eq(a.on_array, 0);
    char spec[16];
    ck_assert_int_eq(fgc_backend_spec("toy", NULL, spec, sizeof spec), FG_OK);
    ck_assert_str_eq(spec, "toy");
    ck_assert_int_eq(fgc_backend_spec("toy:2", NULL, spec, sizeof spec), FG_OK);
    ck_assert_str_eq(spec, "toy:2");
}
END_TEST

/* toy:2 on x.w_j = +-j/2: y_j = +-min(j, 4); dy = 1 on two vectors: the
 * lanes j < 4 pass gain 2 (j = 4 sits on the clip: none), so
 * dx_i = 2 sum_{j<4} w_ij = +-0.75 and dw_ij = 2 * 2 * 1/2 = 2 for j < 4. */
START_TEST(test_toy_vmm)
{
    const float s = _i ? -1.0f : 1.0f;
    fg_backend *be;
    ck_assert_int_eq(fgc_backend_open("toy:2", &be), FG_OK);
    ck_assert_str_eq(fg_backend_name(be), "toy");
    float w[FG_CELLS], x[2 * FG_ROWS], y[2 * FG_COLS], dy[2 * FG_COLS];
    float dx[2 * FG_ROWS] = {0}, dw[FG_CELLS] = {0};
    toy_tile(w, x, s);
    memcpy(x + FG_ROWS, x, FG_ROWS * sizeof *x);
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 2), FG_OK);
    for (int b = 0; b < 2; b++)
        for (int j = 0; j < FG_COLS; j++)
            ck_assert_float_eq(y[b * FG_COLS + j], s * (float)(j < 4 ? j : 4));
    for (int n = 0; n < 2 * FG_COLS; n++)
        dy[n] = 1.0f;
    ck_assert_int_eq(fg_backend_vmm_backward(be, w, x, dy, dx, dw, 2), FG_OK);
    for (int n = 0; n < 2 * FG_ROWS; n++)
        ck_assert_float_eq_tol(dx[n], s * 0.75f, 1e-6f);
    for (int i = 0; i < FG_ROWS; i++)
        for (int j = 0; j < FG_COLS; j++)
            ck_assert_float_eq(dw[i * FG_COLS + j], j < 4 ? 2.0f : 0.0f);
    fg_backend_free(be);
}
END_TEST

START_TEST(test_toy_bad_spec)
{
    const char *bad[] = {"toy", "toy:", "toy:abc", "toy:2x", "toy:0", "toy:-1",
                         "toy:inf", "toy:nan"};
    const char *why[] = {"needs a gain", "needs a gain", "gain 'abc'", "gain '2x'",
                         "gain '0'", "gain '-1'", "gain 'inf'", "gain 'nan'"};
    for (int k = 0; k < (int)(sizeof bad / sizeof bad[0]); k++) {
        fg_backend *be = (fg_backend *)1;
        ck_assert_int_eq(fgc_backend_open(bad[k], &be), FG_ERR_RANGE);
        ck_assert_ptr_null(be);
        ck_assert_msg(strstr(fg_errmsg(), why[k]) && strstr(fg_errmsg(), "toy:GAIN"),
                      "%s: %s", bad[k], fg_errmsg());
    }
    /* the table's 0, 0: no corner, no reprogram for the toy */
    fgc_open_opts o = {.reprogram = 1};
    fg_backend *be;
    ck_assert_int_eq(fgc_backend_open_with("toy:2", &o, &be), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "the toy backend has no corner"));
    ck_assert_int_eq(fgc_backend_check("toy", &o), FG_ERR_RANGE);
    ck_assert_int_eq(fgc_backend_check("spice", &o), FG_OK);
    /* a whole spec names its kind too (diagnose and sweep pass --backend) */
    ck_assert_int_eq(fgc_backend_check("toy:2", &o), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "the toy backend has no corner"));
    ck_assert_int_eq(fgc_backend_check("spice:coupled,jobs=1", &o), FG_OK);
    ck_assert_int_eq(fgc_backend_check("toyx:2", &o), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "unknown backend 'toyx:2'"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("toy");
    TCase *tc = tcase_create("toy");
    tcase_add_test(tc, test_toy_table);
    tcase_add_loop_test(tc, test_toy_vmm, 0, 2);
    tcase_add_test(tc, test_toy_bad_spec);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
