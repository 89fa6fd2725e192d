/* Tests of cosim/: libngspice against the ngspice program, worker faults,
 * weight programming, data sets and the simulate command. */
#include "suites.h"
#include "cosim.h"
#include "testutil.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPAT 4

static void test_patterns(double *x /*(NPAT,16)*/)
{
    cosim_patterns_generate(x, NPAT, 11);
    for (int i = 0; i < FG_ROWS; i++) { /* replace the one-hot rows */
        x[i] = 0.0;                     /* all off */
        x[FG_ROWS + i] = 1.0;           /* all on, full width */
        x[2 * FG_ROWS + i] = (i % 5) / 4.0;
        x[3 * FG_ROWS + i] = (i * 7 % 16) / 15.0;
    }
}

/* libngspice (load once, alter inputs) against `ngspice -b` per pattern,
 * at corner c (NULL: nominal); the mean drop over the patterns goes to
 * *mean_drop when asked for. */
static void compare_at_corner(const char *layout_name, const char *array_netlist,
                              const fg_corner *c, double *mean_drop)
{
    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load(layout_name, &lay), FG_OK);
    fg_op_point op = nl_layout_op_point(lay);
    double w[FG_CELLS], dvt[FG_CELLS], x[NPAT * FG_ROWS], v[NPAT * FG_COLS];
    int ok[NPAT];
    fg_rng r;
    fg_rng_seed(&r, 3);
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = fg_rng_uniform(&r);
    ck_assert_int_eq(cosim_weights_to_dvt(&op, w, 0.0, 1, dvt), FG_OK);
    test_patterns(x);
    cosim_pool *pool;
    cosim_pool_config cfg = {.layout = lay, .array_netlist = array_netlist,
                             .op = op, .corner = c, .jobs = 2};
    ck_assert_msg(cosim_pool_new(&cfg, dvt, &pool) == FG_OK, "%s", fg_errmsg());
    ck_assert_int_eq(cosim_pool_run(pool, x, NPAT, v, ok, NULL), FG_OK);
    fg_op_point at = cosim_pool_op(pool);
    cosim_pool_free(pool);
    for (int p = 0; p < NPAT; p++) {
        nl_deck_spec spec = {.layout = lay, .array_netlist = array_netlist,
                             .op = op, .corner = c, .dvt = dvt, .x = x + p * FG_ROWS,
                             .max_step_scale = 1.0};
        char *deck;
        double vp[FG_COLS];
        ck_assert_int_eq(nl_deck_build(&spec, &deck), FG_OK);
        tu_ngspice_program(deck, vp);
        free(deck);
        ck_assert(ok[p]);
        for (int j = 0; j < FG_COLS; j++)
            ck_assert_msg(fabs(vp[j] - v[p * FG_COLS + j]) < 1e-4,
                          "%s pattern %d col %d: ngspice %.6f V, libngspice %.6f V",
                          layout_name, p, j, vp[j], v[p * FG_COLS + j]);
    }
    /* all inputs off: no swing at all (precharge of the whole bit line) */
    for (int j = 0; j < FG_COLS; j++)
        ck_assert_msg(fabs(v[j] - at.v_pre) < 3e-4, "col %d: %.6f V with x=0", j, v[j]);
    if (mean_drop) {
        *mean_drop = 0;
        for (int k = FG_COLS; k < NPAT * FG_COLS; k++)
            *mean_drop += (at.v_pre - v[k]) / ((NPAT - 1) * FG_COLS);
    }
    nl_layout_free(lay);
}

static void compare_with_program(const char *layout_name, const char *array_netlist)
{
    compare_at_corner(layout_name, array_netlist, NULL, NULL);
}

/* The deck written for a corner agrees with the ngspice program, and the
 * corner does what the physics says: a subthreshold cell carries more
 * current hot (the drop grows), less at a lower supply. */
START_TEST(test_vs_program_corners)
{
    fg_corner hot = fg_corner_nominal(), low = fg_corner_nominal(),
              old = fg_corner_nominal();
    hot.temp_c = 80;
    low.supply = 0.9;
    old.drift_s = 3.15e8;
    double d_nom, d_hot, d_low, d_old;
    compare_at_corner("coupled", NULL, NULL, &d_nom);
    compare_at_corner("coupled", NULL, &hot, &d_hot);
    compare_at_corner("coupled", NULL, &low, &d_low);
    compare_at_corner("coupled", NULL, &old, &d_old);
    ck_assert_msg(d_hot > 1.3 * d_nom, "80 C drop %.4f V vs %.4f V nominal", d_hot, d_nom);
    ck_assert_msg(d_low < 0.8 * d_nom, "supply 0.9 drop %.4f V vs %.4f V", d_low, d_nom);
    /* charge loss lowers the stored dVT: more current after 10 years */
    ck_assert_msg(d_old > d_nom * 1.01, "drifted drop %.4f V vs %.4f V", d_old, d_nom);
}
END_TEST

START_TEST(test_vs_program_builtin)
{
    const char *const *names = nl_builtin_layouts();
    compare_with_program(names[_i], NULL);
}
END_TEST

START_TEST(test_vs_program_external)
{
    compare_with_program("regular", FG_FIXTURES "/layout_ext_array.cir");
}
END_TEST

/* One cell programmed to w = 0.5, its row fully on: y close to 0.5. */
START_TEST(test_program_single_cell)
{
    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load("regular", &lay), FG_OK);
    fg_op_point op = nl_layout_op_point(lay);
    double w[FG_CELLS] = {0}, dvt[FG_CELLS], x[FG_ROWS] = {0}, v[FG_COLS];
    w[5 * FG_COLS + 9] = 0.5;
    x[5] = 1.0;
    int ok;
    ck_assert_int_eq(cosim_weights_to_dvt(&op, w, 0.0, 1, dvt), FG_OK);
    ck_assert_double_eq(dvt[0], COSIM_DVT_OFF);
    cosim_pool *pool;
    cosim_pool_config cfg = {.layout = lay, .op = op, .jobs = 1};
    ck_assert_int_eq(cosim_pool_new(&cfg, dvt, &pool), FG_OK);
    ck_assert_int_eq(cosim_pool_run(pool, x, 1, v, &ok, NULL), FG_OK);
    cosim_pool_free(pool);
    double y = fg_op_y_from_v(&op, v[9]);
    ck_assert_msg(fabs(y - 0.5) < 0.1, "y = %g for w = 0.5", y);
    ck_assert_msg(fabs(fg_op_y_from_v(&op, v[8])) < 0.05, "idle column y = %g",
                  fg_op_y_from_v(&op, v[8]));
    nl_layout_free(lay);
}
END_TEST

START_TEST(test_program_monotonic)
{
    fg_op_point op = fg_op_point_default();
    double w[FG_CELLS], dvt[FG_CELLS], dvt2[FG_CELLS];
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = k / (double)(FG_CELLS - 1);
    ck_assert_int_eq(cosim_weights_to_dvt(&op, w, 0.0, 1, dvt), FG_OK);
    for (int k = 2; k < FG_CELLS; k++)
        ck_assert(dvt[k] < dvt[k - 1]);
    ck_assert_int_eq(cosim_weights_to_dvt(&op, w, 0.01, 7, dvt2), FG_OK);
    double s2 = 0;
    for (int k = 1; k < FG_CELLS; k++)
        s2 += (dvt2[k] - dvt[k]) * (dvt2[k] - dvt[k]);
    ck_assert(sqrt(s2 / 255) > 0.005 && sqrt(s2 / 255) < 0.02);
    w[3] = 1.5;
    ck_assert_int_eq(cosim_weights_to_dvt(&op, w, 0.0, 1, dvt), FG_ERR_RANGE);
}
END_TEST

/* A worker that crashes or hangs is replaced; its run is retried once. */
static void run_with_fault(const char *fault, int expect_ok5, int expect_restarts)
{
    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load("regular", &lay), FG_OK);
    fg_op_point op = nl_layout_op_point(lay);
    double w[FG_CELLS] = {0}, dvt[FG_CELLS], x[8 * FG_ROWS], v[8 * FG_COLS];
    int ok[8];
    char mark[] = "/tmp/fgcosim-fault-XXXXXX";
    int fd = mkstemp(mark);
    close(fd);
    unlink(mark);
    setenv("FGCOSIM_FAULT", fault, 1);
    setenv("FGCOSIM_FAULT_MARK", mark, 1);
    ck_assert_int_eq(cosim_weights_to_dvt(&op, w, 0.0, 1, dvt), FG_OK);
    cosim_patterns_generate(x, 8, 1);
    cosim_pool *pool;
    cosim_pool_config cfg = {.layout = lay, .op = op, .jobs = 2, .timeout_s = 3};
    ck_assert_int_eq(cosim_pool_new(&cfg, dvt, &pool), FG_OK);
    ck_assert_int_eq(cosim_pool_run(pool, x, 8, v, ok, NULL), FG_OK);
    ck_assert_int_eq(cosim_pool_restarts(pool), expect_restarts);
    cosim_pool_free(pool);
    unsetenv("FGCOSIM_FAULT");
    unlink(mark);
    for (int p = 0; p < 8; p++)
        ck_assert_int_eq(ok[p], p == 5 ? expect_ok5 : 1);
    ck_assert(isnan(v[5 * FG_COLS]) == !expect_ok5);
    nl_layout_free(lay);
}

START_TEST(test_fault_crash_once) { run_with_fault("crash:5", 1, 1); }
END_TEST
START_TEST(test_fault_hang_once) { run_with_fault("hang:5", 1, 1); }
END_TEST
START_TEST(test_fault_crash_always) { run_with_fault("crash-always:5", 0, 2); }
END_TEST

static void dataset_fill(cosim_dataset *ds, int P)
{
    memset(ds, 0, sizeof *ds);
    ds->P = P;
    ds->inputs = calloc((size_t)P * FG_ROWS, sizeof(double));
    ds->v_bl = calloc((size_t)P * FG_COLS, sizeof(double));
    ds->y = calloc((size_t)P * FG_COLS, sizeof(double));
    ds->ok = calloc((size_t)P, sizeof(int));
    for (int k = 0; k < P * FG_COLS; k++) {
        ds->inputs[k] = (k % 7) / 6.0;
        ds->v_bl[k] = 0.8 - 0.001 * k;
        ds->y[k] = 0.1 * k;
    }
    for (int p = 0; p < P; p++)
        ds->ok[p] = 1;
    ds->op = fg_op_point_default();
    ds->layout_name = strdup("regular");
    ds->layout_json = strdup("{}");
    ds->ngspice_version = strdup("ngspice-39");
    ds->seed = 77;
    ds->dvt[3] = 0.25;
    ds->corner = fg_corner_nominal();
}

/* /energy, /energy_delivered, /latency_s: written and read back; a file
 * whose /energy has the wrong shape or sources, or lacks /latency_s, is
 * refused naming the data set. a has no energy; it gets none back. */
static void dataset_energy_check(cosim_dataset *a, const char *path)
{
    cosim_dataset b;
    int P = a->P;
    a->energy = calloc((size_t)P * COSIM_NSRC, sizeof(double));
    a->energy_delivered = calloc((size_t)P * COSIM_NSRC, sizeof(double));
    a->latency_s = calloc((size_t)P, sizeof(double));
    for (int k = 0; k < P * COSIM_NSRC; k++) {
        a->energy[k] = 1e-14 * (k + 1);
        a->energy_delivered[k] = 1e-15 * (k + 1);
    }
    a->timing = nl_timing(&a->op);
    for (int p = 0; p < P; p++)
        a->latency_s[p] = a->timing.total_s;
    ck_assert_int_eq(cosim_dataset_write(path, a), FG_OK);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_OK);
    ck_assert_ptr_nonnull(b.energy);
    ck_assert_double_eq(b.energy[7], a->energy[7]);
    ck_assert_double_eq(b.energy_delivered[9], a->energy_delivered[9]);
    ck_assert_double_eq(b.latency_s[P - 1], a->timing.total_s);
    ck_assert_double_eq(b.timing.integrate_s, a->timing.integrate_s);
    ck_assert_double_eq_tol(b.timing.total_s, a->timing.total_s, 1e-18);
    cosim_dataset_free(&b);
    for (int bad = 0; bad < 3; bad++) {
        ck_assert_int_eq(cosim_dataset_write(path, a), FG_OK);
        hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        ck_assert(f >= 0);
        if (bad == 0) { /* one row too many */
            double e[64] = {0};
            hsize_t dims[2] = {(hsize_t)P + 1, COSIM_NSRC};
            ck_assert(H5Ldelete(f, "/energy", H5P_DEFAULT) >= 0);
            ck_assert(H5LTmake_dataset_double(f, "/energy", 2, dims, e) >= 0);
        } else if (bad == 1)
            ck_assert(H5Ldelete(f, "/latency_s", H5P_DEFAULT) >= 0);
        else
            ck_assert(H5LTset_attribute_string(f, "/energy", "sources", "wordline,precharge") >= 0);
        H5Fclose(f);
        ck_assert_int_eq(cosim_dataset_read(path, &b), FG_ERR_FORMAT);
        static const char *const want[] = {"data set /energy has shape", "/latency_s",
                                           "/energy: attribute sources"};
        ck_assert_msg(strstr(fg_errmsg(), want[bad]), "%s", fg_errmsg());
    }
    free(a->energy);
    free(a->energy_delivered);
    free(a->latency_s);
    a->energy = a->energy_delivered = a->latency_s = NULL;
}

/* Several programmed arrays (version 2): /array, /w_targets, /dvts read
 * back; an index past the arrays and a /w_targets of the wrong shape are
 * refused naming the data set. a is left with one array. */
static void dataset_arrays_check(cosim_dataset *a, const char *path)
{
    cosim_dataset b;
    enum { A = 3 };
    a->n_arrays = A;
    a->array = calloc((size_t)a->P, sizeof(int));
    a->w_targets = calloc(A * FG_CELLS, sizeof(double));
    a->dvts = calloc(A * FG_CELLS, sizeof(double));
    for (int p = 0; p < a->P; p++)
        a->array[p] = p * A / a->P;
    for (int k = 0; k < A * FG_CELLS; k++) {
        a->w_targets[k] = (k % 11) / 10.0;
        a->dvts[k] = 0.01 * k;
    }
    ck_assert_int_eq(cosim_dataset_write(path, a), FG_OK);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_OK);
    ck_assert_int_eq(b.n_arrays, A);
    ck_assert_int_eq(b.array[a->P - 1], A - 1);
    ck_assert_double_eq(cosim_dataset_w_target(&b, 2)[5], a->w_targets[2 * FG_CELLS + 5]);
    ck_assert_double_eq(b.dvts[FG_CELLS + 7], a->dvts[FG_CELLS + 7]);
    cosim_dataset_free(&b);
    a->array[1] = A; /* written as is, refused on reading */
    ck_assert_int_eq(cosim_dataset_write(path, a), FG_OK);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "/array[1] = 3"));
    a->array[1] = 0;
    ck_assert_int_eq(cosim_dataset_write(path, a), FG_OK);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hsize_t dims[3] = {2, FG_ROWS, FG_COLS}; /* 2 arrays where /dvts has 3 */
    ck_assert(H5Ldelete(f, "/w_targets", H5P_DEFAULT) >= 0);
    ck_assert(H5LTmake_dataset_double(f, "/w_targets", 3, dims, a->w_targets) >= 0);
    H5Fclose(f);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_ERR_FORMAT);
    ck_assert_msg(strstr(fg_errmsg(), "/dvts is not (A,16,16)"), "%s", fg_errmsg());
    free(a->array), free(a->w_targets), free(a->dvts);
    a->array = NULL, a->w_targets = a->dvts = NULL, a->n_arrays = 0;
}

START_TEST(test_dataset_roundtrip)
{
    cosim_dataset a, b;
    dataset_fill(&a, 5);
    char path[128];
    tu_tmp(path, sizeof path, "ds.h5");
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_OK);
    ck_assert_int_eq(b.P, 5);
    ck_assert_double_eq(b.v_bl[17], a.v_bl[17]);
    ck_assert_double_eq(b.y[79], a.y[79]);
    ck_assert_double_eq(b.dvt[3], 0.25);
    ck_assert_double_eq(b.op.c_bl, a.op.c_bl);
    ck_assert_str_eq(b.layout_name, "regular");
    ck_assert(b.seed == 77);
    ck_assert(fg_corner_is_nominal(&b.corner));
    ck_assert_str_eq(b.program_method, "model"); /* "" is written as model */
    /* a file without the energy data sets (older files) reads without */
    ck_assert(!b.energy && !b.energy_delivered && !b.latency_s);
    ck_assert_int_eq(b.n_arrays, 1);
    ck_assert_ptr_eq(cosim_dataset_w_target(&b, 0), b.w_target);
    cosim_dataset_free(&b);
    dataset_energy_check(&a, path);
    dataset_arrays_check(&a, path);
    /* how the cells were programmed; a file without it reads as model */
    snprintf(a.program_method, sizeof a.program_method, "verify");
    a.program_tol = 0.01;
    a.program_iterations = 3;
    a.program_worst_rel_err = 0.0042;
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_OK);
    ck_assert_str_eq(b.program_method, "verify");
    ck_assert_double_eq(b.program_tol, 0.01);
    ck_assert_int_eq(b.program_iterations, 3);
    ck_assert_double_eq(b.program_worst_rel_err, 0.0042);
    cosim_dataset_free(&b);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    static const char *const prog_attrs[] = {"program_method", "program_tol",
                                             "program_iterations", "program_worst_rel_err"};
    for (int k = 0; k < 4; k++)
        ck_assert(H5Adelete(f, prog_attrs[k]) >= 0);
    H5Fclose(f);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_OK);
    ck_assert_str_eq(b.program_method, "model");
    ck_assert(isnan(b.program_worst_rel_err) && b.program_iterations == 0);
    cosim_dataset_free(&b);
    /* the corner goes through the attributes */
    a.corner.temp_c = 80;
    a.corner.supply = 0.9;
    a.corner.rails = FG_RAIL_PRE;
    a.corner.drift_s = 3.15e8;
    a.corner.drift_seed = 12345678901ULL;
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_OK);
    ck_assert_double_eq(b.corner.temp_c, 80);
    ck_assert_double_eq(b.corner.supply, 0.9);
    ck_assert_uint_eq(b.corner.rails, FG_RAIL_PRE);
    ck_assert_double_eq(b.corner.drift_s, 3.15e8);
    ck_assert_double_eq(b.corner.drift_rate, a.corner.drift_rate);
    ck_assert(b.corner.drift_seed == 12345678901ULL);
    cosim_dataset_free(&b);
    /* a corner outside its range is not written */
    a.corner.temp_c = 200;
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_ERR_RANGE);
    a.corner = fg_corner_nominal();
    /* /ok longer (or shorter) than /inputs is refused, not read past its
     * buffer */
    for (int n = 7; n >= 3; n -= 4) {
        ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
        int okn[7] = {1, 1, 1, 1, 1, 1, 1};
        hsize_t dims = (hsize_t)n;
        hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        ck_assert(f >= 0 && H5Ldelete(f, "/ok", H5P_DEFAULT) >= 0);
        ck_assert(H5LTmake_dataset_int(f, "/ok", 1, &dims, okn) >= 0);
        H5Fclose(f);
        ck_assert_int_eq(cosim_dataset_read(path, &b), FG_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(fg_errmsg(), "/ok"));
    }
    /* NaN outputs on a converged pattern are rejected, naming the field */
    a.y[20] = NAN;
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "/y[1][4]"));
    ck_assert_int_eq(cosim_dataset_read("/tmp/nonexistent.h5", &b), FG_ERR_IO);
    ck_assert_int_eq(cosim_dataset_read(FG_SOURCE_DIR "/README.md", &b), FG_ERR_FORMAT);
    unlink(path);
    cosim_dataset_free(&a);
}
END_TEST

/* Replaces root attribute `name` of path with n elements (rank 1; rank
 * 2 as n/2 x 2 when two_d) of type t, data buf. */
static void attr_replace(const char *path, const char *name, hid_t t, int n,
                         int two_d, const void *buf)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    if (H5Aexists(f, name) > 0)
        ck_assert(H5Adelete(f, name) >= 0);
    hsize_t dims[2] = {two_d ? (hsize_t)n / 2 : (hsize_t)n, 2};
    hid_t sp = H5Screate_simple(two_d ? 2 : 1, dims, NULL);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(a >= 0 && H5Awrite(a, t, buf) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Fclose(f);
}

/* Reads path expecting FG_ERR_FORMAT with `want` in the message. */
static void expect_bad_dataset(const char *path, const char *want)
{
    cosim_dataset b;
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_ERR_FORMAT);
    ck_assert_msg(strstr(fg_errmsg(), want), "message '%s' lacks '%s'", fg_errmsg(),
                  want);
    ck_assert_ptr_null(b.inputs);
}

/* Found by fuzz_dataset (tests/fuzz): well-formed HDF5 files whose objects
 * have other shapes than the writer's. The H5LT attribute readers write
 * every element into the one value they get (an array attribute overran
 * the stack, a string array the heap, a 2-D one the dims argument), and a
 * data set's declared extent was allocated before anything was read. */
START_TEST(test_dataset_malformed)
{
    cosim_dataset a, b;
    dataset_fill(&a, 3);
    char path[128];
    tu_tmp(path, sizeof path, "dsbad.h5");
    double d8[8] = {0.8, 1, 1, 1, 1, 1, 1, 1};
    int rails4[4] = {3, 3, 3, 3}, ok[3] = {1, 2, 1};
    /* an op point of 8 values (the first one plausible) */
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    attr_replace(path, "op_v_pre_V", H5T_NATIVE_DOUBLE, 8, 0, d8);
    expect_bad_dataset(path, "attribute op_v_pre_V missing or not positive");
    /* the corner's rails as 4 integers, its temperature as a 2x2 array */
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    attr_replace(path, "corner_rails", H5T_NATIVE_INT, 4, 0, rails4);
    expect_bad_dataset(path, "corner_rails");
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    attr_replace(path, "corner_temp_c", H5T_NATIVE_DOUBLE, 4, 1, d8);
    expect_bad_dataset(path, "attribute corner_temp_c unreadable");
    /* the format as two strings, and as a 2-D array of strings */
    char fmt2[2][20] = {"fgcosim-calibration", "fgcosim-calibration"};
    hid_t s20 = H5Tcopy(H5T_C_S1);
    H5Tset_size(s20, 20);
    for (int two_d = 0; two_d <= 1; two_d++) {
        ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
        attr_replace(path, "format", s20, 2, two_d, fmt2);
        expect_bad_dataset(path, "not an fgcosim calibration data set");
    }
    /* program_method as a variable-length string */
    hid_t vs = H5Tcopy(H5T_C_S1);
    H5Tset_size(vs, H5T_VARIABLE);
    const char *verify = "verify";
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), sc = H5Screate(H5S_SCALAR);
    ck_assert(H5Adelete(f, "program_method") >= 0);
    hid_t at = H5Acreate2(f, "program_method", vs, sc, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(at >= 0 && H5Awrite(at, vs, &verify) >= 0);
    H5Aclose(at), H5Sclose(sc), H5Fclose(f);
    expect_bad_dataset(path, "attribute program_* unreadable");
    /* a string attribute that is an array still reads as absent */
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    attr_replace(path, "layout", s20, 2, 1, fmt2);
    ck_assert_int_eq(cosim_dataset_read(path, &b), FG_OK);
    ck_assert_ptr_null(b.layout_name);
    ck_assert_str_eq(b.layout_json, "{}");
    cosim_dataset_free(&b);
    H5Tclose(s20), H5Tclose(vs);
    /* flags other than 0 and 1 */
    ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
    hsize_t three = 3;
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(H5Ldelete(f, "/ok", H5P_DEFAULT) >= 0);
    ck_assert(H5LTmake_dataset_int(f, "/ok", 1, &three, ok) >= 0);
    H5Fclose(f);
    expect_bad_dataset(path, "/ok[1] = 2 (0 or 1 expected)");
    /* /inputs declared (2^31, 16) or (1000, 16) in chunks, none written */
    const hsize_t rows[2] = {(hsize_t)1 << 31, 1000};
    const char *want[2] = {"/inputs has 2147483648 rows, more than 10000000",
                           "/inputs has no data written (1000 rows declared)"};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(cosim_dataset_write(path, &a), FG_OK);
        f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        ck_assert(H5Ldelete(f, "/inputs", H5P_DEFAULT) >= 0);
        hsize_t dims[2] = {rows[k], FG_ROWS}, chunk[2] = {1, FG_ROWS};
        hid_t sp = H5Screate_simple(2, dims, NULL), pl = H5Pcreate(H5P_DATASET_CREATE);
        ck_assert(H5Pset_chunk(pl, 2, chunk) >= 0);
        hid_t d = H5Dcreate2(f, "/inputs", H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, pl,
                             H5P_DEFAULT);
        ck_assert(d >= 0);
        H5Dclose(d), H5Pclose(pl), H5Sclose(sp), H5Fclose(f);
        expect_bad_dataset(path, want[k]);
    }
    unlink(path);
    cosim_dataset_free(&a);
}
END_TEST

/* ---- the simulate command ------------------------------------------------ */
START_TEST(test_simulate_bad_input)
{
    char out[128];
    tu_tmp(out, sizeof out, "bad.h5");
    unlink(out);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --layout nosuch -o %s", tu_tmp_path("bad.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --inputs /nonexistent.csv -o %s", tu_tmp_path("bad.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --inputs " FG_FIXTURES "/bad_inputs_range.csv -o %s", tu_tmp_path("bad.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --inputs " FG_FIXTURES "/bad_inputs_count.csv -o %s", tu_tmp_path("bad.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --patterns 0 -o %s", tu_tmp_path("bad.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosim("simulate --patterns 10"), 2);
    /* corners out of range: one line naming the option, no file */
    ck_assert_int_eq(tu_run_fgcosimf("simulate --temp 200 -o %s", tu_tmp_path("bad.h5")), 2);
    char *err;
    ck_assert_int_eq(fg_file_read(TU_ERR_FILE, &err, NULL), FG_OK);
    ck_assert_ptr_nonnull(strstr(err, "--temp 200 is outside the allowed range [-55, 150]"));
    free(err);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --supply 1.6 -o %s", tu_tmp_path("bad.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --drift-time -1 -o %s", tu_tmp_path("bad.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --supply-rails vdd -o %s", tu_tmp_path("bad.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosimf("netlist --temp -60 -o %s", tu_tmp_path("bad.h5")), 2);
    ck_assert_int_eq(access(out, F_OK), -1);
}
END_TEST

/* An interrupted run (a DATA.h5.partial) is finished without redoing the
 * completed patterns. */
START_TEST(test_simulate_resume)
{
    char a[128], b[128], c[128], part[160], args[512];
    tu_tmp(a, sizeof a, "a.h5"), tu_tmp(b, sizeof b, "b.h5"), tu_tmp(c, sizeof c, "c.h5");
    snprintf(part, sizeof part, "%s.partial", b);
    snprintf(args, sizeof args, "simulate --patterns 6 --seed 5 --jobs 2 -o %s", a);
    ck_assert_int_eq(tu_run_fgcosim(args), 0);
    cosim_dataset first;
    ck_assert_int_eq(cosim_dataset_read(a, &first), FG_OK);
    ck_assert_int_eq(rename(a, part), 0);
    snprintf(args, sizeof args, "simulate --patterns 10 --seed 5 --jobs 2 -o %s", b);
    ck_assert_int_eq(tu_run_fgcosim(args), 0);
    char *err;
    ck_assert_int_eq(fg_file_read(TU_ERR_FILE, &err, NULL), FG_OK);
    ck_assert_ptr_nonnull(strstr(err, "resuming after 6 patterns"));
    free(err);
    ck_assert_int_eq(access(part, F_OK), -1);
    cosim_dataset ds, whole;
    ck_assert_int_eq(cosim_dataset_read(b, &ds), FG_OK);
    ck_assert_int_eq(ds.P, 10);
    for (int p = 0; p < 10; p++)
        ck_assert(ds.ok[p]);
    /* the one-hot rows come first: row p of weights shows in pattern p */
    ck_assert(ds.inputs[3 * FG_ROWS + 3] == 1.0);
    /* the resumed file equals an uninterrupted run, value for value */
    snprintf(args, sizeof args, "simulate --patterns 10 --seed 5 --jobs 1 -o %s", c);
    ck_assert_int_eq(tu_run_fgcosim(args), 0);
    ck_assert_int_eq(cosim_dataset_read(c, &whole), FG_OK);
    ck_assert_int_eq(whole.P, 10);
    ck_assert(memcmp(ds.inputs, whole.inputs, 10 * FG_ROWS * sizeof *ds.inputs) == 0);
    ck_assert(memcmp(ds.v_bl, whole.v_bl, 10 * FG_COLS * sizeof *ds.v_bl) == 0);
    ck_assert(memcmp(ds.y, whole.y, 10 * FG_COLS * sizeof *ds.y) == 0);
    cosim_dataset_free(&whole);
    unlink(c);
    /* energies: carried over from the partial file, measured after it */
    ck_assert_ptr_nonnull(ds.energy);
    for (int p = 0; p < 10; p++) {
        for (int k = 0; k < COSIM_NSRC; k++)
            ck_assert(ds.energy[p * COSIM_NSRC + k] > 0);
        if (p < 6)
            ck_assert_double_eq(ds.energy[p * COSIM_NSRC], first.energy[p * COSIM_NSRC]);
        ck_assert_double_eq(ds.latency_s[p], first.timing.total_s);
    }
    cosim_dataset_free(&first);
    cosim_dataset_free(&ds);
    unlink(b);
}
END_TEST

/* ---- energy of a VMM ------------------------------------------------------ */
/* P patterns x (P,16) on layout lay with weights w (16,16), one worker, at
 * corner c (NULL: nominal): v (P,16) and e (P). */
static void energy_runs(const nl_layout *lay, const fg_corner *c, const double *w,
                        const double *x, int P, double *v, cosim_energy *e)
{
    fg_op_point op = nl_layout_op_point(lay);
    double dvt[FG_CELLS];
    int ok[8];
    ck_assert_int_le(P, 8);
    ck_assert_int_eq(cosim_weights_to_dvt(&op, w, 0.0, 1, dvt), FG_OK);
    cosim_pool *pool;
    cosim_pool_config cfg = {.layout = lay, .op = op, .corner = c, .jobs = 1};
    ck_assert_msg(cosim_pool_new(&cfg, dvt, &pool) == FG_OK, "%s", fg_errmsg());
    ck_assert_int_eq(cosim_pool_run_energy(pool, x, P, v, ok, e, NULL), FG_OK);
    cosim_pool_free(pool);
    for (int p = 0; p < P; p++)
        ck_assert(ok[p]);
}

/* One active cell: cell (3,5) at w = 1, row 3 on for the full T_max.
 *
 * The hand formula. The deck starts with every bit line precharged; the
 * cell takes a charge Q off bit line 5, which ends dV = V_pre - V_BL5
 * below V_pre. The next precharge closes the switch onto the V_pre supply,
 * which puts Q = C dV back at the constant voltage V_pre, so the supply
 * delivers E = V_pre Q = C V_pre dV (of which C (V_pre^2 - V_BL^2) / 2 is
 * stored on C and C dV^2 / 2 lost in the switch; C V^2 only for a line
 * discharged to 0 V). C is the deck's bit-line capacitance: C_BL + the
 * extracted wire C (nl_parasitics.c_bl_total; its neighbour coupling
 * counts, since the neighbours stay at V_pre). The cells' own drain
 * capacitance (BSIM4 junction and overlap, ~0.25 fF each, 16 a line) is
 * in SPICE's C but not in that sum: +3.4 % on a 100 fF line, so the 2 %
 * check runs on the regular layout with a 1 pF C_BL (0.4 %), and the
 * built-in regular one is checked to lie just above its hand figure. */
static void one_cell(const char *layout, double *ratio, double *e_zero)
{
    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load(layout, &lay), FG_OK);
    fg_op_point op = nl_layout_op_point(lay);
    nl_parasitics par;
    ck_assert_int_eq(nl_extract(lay, &op, &par), FG_OK);
    double w[FG_CELLS] = {0}, x[2 * FG_ROWS] = {0}, v[2 * FG_COLS];
    cosim_energy e[2];
    w[3 * FG_COLS + 5] = 1.0;
    x[3] = 1.0; /* pattern 1: all inputs off */
    energy_runs(lay, NULL, w, x, 2, v, e);
    double dv = op.v_pre - v[5];
    ck_assert_msg(dv > 1e-3, "%s: bit line 5 fell only %g V", layout, dv);
    double hand = par.c_bl_total * op.v_pre * dv;
    *ratio = e[0].supply[COSIM_SRC_PRECHARGE] / hand;
    ck_assert_double_eq(e[0].delivered[COSIM_SRC_PRECHARGE],
                        e[0].supply[COSIM_SRC_PRECHARGE]);
    *e_zero = cosim_energy_total(&e[1]) / cosim_energy_total(&e[0]);
    nl_layout_free(lay);
}

START_TEST(test_energy_one_cell)
{
    double r, r100, z;
    one_cell(FG_FIXTURES "/layout_regular_1pf.json", &r, &z);
    ck_assert_msg(fabs(r - 1) < 0.02, "1 pF line: precharge energy / C V_pre dV = %.4f", r);
    ck_assert_msg(z < 1e-3, "all inputs off: %.3g of the one-cell energy", z);
    one_cell("regular", &r100, &z);
    ck_assert_msg(r100 > 1.0 && r100 < 1.06,
                  "regular: precharge energy / C V_pre dV = %.4f", r100);
}
END_TEST

/* Word-line drivers and input activity on regular, weights 0.5:
 *  0 all off; 1 row 3 at x = 1; 2 row 3 at x = 0.3; 3 rows 0-3 at 0.5;
 *  4 all rows at 0.5; 5 all rows at 1. */
START_TEST(test_energy_wordline_activity)
{
    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load("regular", &lay), FG_OK);
    fg_op_point op = nl_layout_op_point(lay);
    nl_parasitics par;
    ck_assert_int_eq(nl_extract(lay, &op, &par), FG_OK);
    double w[FG_CELLS], x[6 * FG_ROWS] = {0}, v[6 * FG_COLS];
    cosim_energy e[6], hi[6];
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = 0.5;
    x[FG_ROWS + 3] = 1.0;
    x[2 * FG_ROWS + 3] = 0.3;
    for (int i = 0; i < FG_ROWS; i++) {
        x[3 * FG_ROWS + i] = i < 4 ? 0.5 : 0.0;
        x[4 * FG_ROWS + i] = 0.5;
        x[5 * FG_ROWS + i] = 1.0;
    }
    energy_runs(lay, NULL, w, x, 6, v, e);
    double wl1 = e[1].supply[COSIM_SRC_WORDLINE];
    /* a driver draws at least C V_read^2 for the word line's wire and
     * crossover C alone (the cells' gates add to it), once per pulse */
    ck_assert_msg(wl1 > par.c_wl_total * op.v_read * op.v_read,
                  "one row: %.4g J from the V_read rail", wl1);
    ck_assert_msg(fabs(e[2].supply[COSIM_SRC_WORDLINE] / wl1 - 1) < 0.05,
                  "narrow pulse %.4g J vs %.4g J", e[2].supply[COSIM_SRC_WORDLINE], wl1);
    ck_assert_msg(fabs(e[4].supply[COSIM_SRC_WORDLINE] / (16 * wl1) - 1) < 0.1,
                  "16 rows %.4g J vs 16 x %.4g J", e[4].supply[COSIM_SRC_WORDLINE], wl1);
    /* what the ideal sources deliver (they take most of C V^2 / 2 back on
     * the falling edge): small and > 0 (dissipated in the drivers' and
     * wires' R, and the Miller charge the falling bit lines draw) */
    for (int p = 1; p < 6; p++) {
        double d = e[p].delivered[COSIM_SRC_WORDLINE];
        ck_assert_msg(d > 0 && d < 0.25 * e[p].supply[COSIM_SRC_WORDLINE],
                      "pattern %d: word lines deliver %.4g J of %.4g J", p, d,
                      e[p].supply[COSIM_SRC_WORDLINE]);
    }
    /* more input activity, more energy */
    static const int order[] = {0, 2, 1, 3, 4, 5};
    for (int k = 1; k < 6; k++)
        ck_assert_msg(cosim_energy_total(&e[order[k]]) > cosim_energy_total(&e[order[k - 1]]),
                      "pattern %d: %.4g J <= pattern %d: %.4g J", order[k],
                      cosim_energy_total(&e[order[k]]), order[k - 1],
                      cosim_energy_total(&e[order[k - 1]]));
    /* supply x1.1 (V_read and V_pre): one row's driver draws C V_read^2,
     * x1.21 for a fixed C and a little more, since the cells' gate
     * charge grows faster than V_GS towards inversion (and the Miller
     * charge with the larger bit-line swing); the precharge energy grows
     * with V_pre and the cell current */
    fg_corner c = fg_corner_nominal();
    c.supply = 1.1;
    energy_runs(lay, &c, w, x, 6, v, hi);
    double r = hi[1].supply[COSIM_SRC_WORDLINE] / wl1;
    ck_assert_msg(r > 1.21 && r < 1.35, "one word line at supply 1.1: x%.3f", r);
    ck_assert(hi[4].supply[COSIM_SRC_PRECHARGE] > 1.1 * e[4].supply[COSIM_SRC_PRECHARGE]);
    nl_layout_free(lay);
}
END_TEST

/* Latency: the deck's phases, with the T_max trim of a corner. */
START_TEST(test_energy_latency)
{
    fg_op_point op = fg_op_point_default();
    nl_vmm_timing t = nl_timing(&op);
    ck_assert_double_eq_tol(t.precharge_s, 5e-9, 1e-15);
    ck_assert_double_eq_tol(t.integrate_s, op.t_max + 0.5e-9, 1e-15);
    ck_assert_double_eq_tol(t.read_s, 2e-9, 1e-15);
    ck_assert_double_eq_tol(t.total_s, nl_t_read(&op), 1e-15);
    ck_assert_double_eq_tol(t.total_s, t.precharge_s + t.integrate_s + t.read_s, 1e-15);
    fg_corner c = fg_corner_nominal();
    c.t_max_trim = 2;
    fg_op_point at = fg_corner_op(&c, &op);
    ck_assert_double_eq_tol(nl_timing(&at).total_s, t.total_s + op.t_max, 1e-15);
}
END_TEST

/* ---- program-and-verify ---------------------------------------------------- */
#define CARD_NETLIST FG_FIXTURES "/layout_ext_array_card.cir"

/* Seeded targets with the corner cases: off cells, full and tiny weights. */
static void verify_weights(double *w /*(16,16)*/)
{
    fg_rng r;
    fg_rng_seed(&r, 21);
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = k % 19 == 0 ? 0.0 : fg_rng_uniform(&r);
    w[1] = 1.0;
    w[2] = 0.002;
}

/* max |I / (w I_unit) - 1| over the on-cells. */
static double worst_rel_err(const double *w, const double *i, double i_unit)
{
    double worst = 0;
    for (int k = 0; k < FG_CELLS; k++)
        if (w[k] > 0 && fabs(i[k] / (w[k] * i_unit) - 1) > worst)
            worst = fabs(i[k] / (w[k] * i_unit) - 1);
    return worst;
}

/* `ngspice -b` on a verify deck: i(vam<j>) of its operating point. */
static void ngspice_ammeters(const char *deck, double *i /*(16)*/)
{
    tu_ngspice_values(deck, " vam%d#branch %lf", i);
}

/* An independent read of the cells programmed with dvt: the ngspice
 * program on the verify deck, each row on alone, minus all rows off. */
static void program_read(const cosim_pool_config *cfg, const double *dvt,
                         double *i_cell /*(16,16)*/)
{
    double bg[FG_COLS], col[FG_COLS];
    for (int row = -1; row < FG_ROWS; row++) {
        nl_deck_spec spec = {.layout = cfg->layout, .array_netlist = cfg->array_netlist,
                             .op = cfg->op, .corner = cfg->corner, .dvt = dvt,
                             .verify = 1, .verify_row = row};
        char *deck;
        ck_assert_msg(nl_deck_build(&spec, &deck) == FG_OK, "%s", fg_errmsg());
        ngspice_ammeters(deck, row < 0 ? bg : col);
        free(deck);
        for (int j = 0; row >= 0 && j < FG_COLS; j++)
            i_cell[row * FG_COLS + j] = col[j] - bg[j];
    }
}

/* The model inversion (start) misses by more than min_model_err on cfg's
 * array; program-verify reaches every target within 1 %, as the ngspice
 * program reads it too; off cells stay off. dvt gets the result. */
static void verify_check(const cosim_pool_config *cfg, const double *w,
                         double min_model_err, double *dvt_model, double *dvt)
{
    double i[FG_CELLS];
    ck_assert_int_eq(cosim_weights_to_dvt(&cfg->op, w, 0.0, 1, dvt_model), FG_OK);
    ck_assert_msg(cosim_verify_read(cfg, dvt_model, i) == FG_OK, "%s", fg_errmsg());
    double e_model = worst_rel_err(w, i, cfg->op.i_unit);
    ck_assert_msg(e_model > min_model_err, "model inversion misses by only %.4f", e_model);
    memcpy(dvt, dvt_model, FG_CELLS * sizeof *dvt);
    cosim_verify_report rep;
    ck_assert_msg(cosim_program_verify(cfg, w, NULL, dvt, &rep) == FG_OK, "%s", fg_errmsg());
    ck_assert_msg(rep.cells_missed == 0 && rep.worst_rel_err <= 0.01,
                  "%d cells missed, worst %.4f after %d passes", rep.cells_missed,
                  rep.worst_rel_err, rep.iterations);
    ck_assert_int_eq(rep.reads, (rep.iterations + 1) * (FG_ROWS + 1));
    program_read(cfg, dvt, i);
    double e = worst_rel_err(w, i, cfg->op.i_unit);
    ck_assert_msg(e <= 0.0101, "ngspice program reads worst %.5f (verify said %.5f)", e,
                  rep.worst_rel_err);
    for (int k = 0; k < FG_CELLS; k++)
        if (w[k] == 0)
            ck_assert(dvt[k] == COSIM_DVT_OFF && fabs(i[k]) < 1e-3 * cfg->op.i_unit);
}

/* An external array with its own device card (vth0 +30 mV) and +-4 % width
 * mismatch: the inversion of the built-in card misses, verify does not. */
START_TEST(test_verify_own_card)
{
    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load("regular", &lay), FG_OK);
    cosim_pool_config cfg = {.layout = lay, .array_netlist = CARD_NETLIST,
                             .op = nl_layout_op_point(lay)};
    double w[FG_CELLS], dvt_model[FG_CELLS], dvt[FG_CELLS];
    verify_weights(w);
    verify_check(&cfg, w, 0.05, dvt_model, dvt);
    /* the cells are weaker: every on-cell needed a lower threshold */
    for (int k = 0; k < FG_CELLS; k++)
        ck_assert(w[k] == 0 || dvt[k] < dvt_model[k] - 0.01);
    nl_layout_free(lay);
}
END_TEST

/* A corner's temperature (80 C, coupled layout) is programmed to its
 * targets; its retention drift is not read (verify is at programming). */
START_TEST(test_verify_corner)
{
    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load("coupled", &lay), FG_OK);
    fg_corner hot = fg_corner_nominal(), hot_old;
    hot.temp_c = 80;
    cosim_pool_config cfg = {.layout = lay, .op = nl_layout_op_point(lay), .corner = &hot};
    double w[FG_CELLS], dvt_model[FG_CELLS], dvt[FG_CELLS], i[FG_CELLS], i_old[FG_CELLS];
    verify_weights(w);
    verify_check(&cfg, w, 0.5, dvt_model, dvt);
    hot_old = hot;
    hot_old.drift_s = 3.15e8;
    ck_assert_int_eq(cosim_verify_read(&cfg, dvt, i), FG_OK);
    cfg.corner = &hot_old;
    ck_assert_int_eq(cosim_verify_read(&cfg, dvt, i_old), FG_OK);
    for (int k = 0; k < FG_CELLS; k++)
        ck_assert_double_eq(i[k], i_old[k]);
    nl_layout_free(lay);
}
END_TEST

/* On a built-in layout at nominal the inversion is exact up to the
 * parasitics (and the junctions' gmin leakage, which the sweep counts as
 * cell current: ~0.8 pA, 3 % of the smallest targets): verify moves each
 * cell by under 2 mV. The method switch: auto is model here. */
START_TEST(test_verify_builtin)
{
    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load("regular", &lay), FG_OK);
    cosim_pool_config cfg = {.layout = lay, .op = nl_layout_op_point(lay)};
    double w[FG_CELLS], dvt_model[FG_CELLS], dvt[FG_CELLS], dvt_auto[FG_CELLS];
    verify_weights(w);
    verify_check(&cfg, w, 0.0, dvt_model, dvt);
    for (int k = 0; k < FG_CELLS; k++)
        ck_assert_msg(fabs(dvt[k] - dvt_model[k]) < 2e-3, "cell %d: verify %.5f V, model %.5f V",
                      k, dvt[k], dvt_model[k]);
    cosim_verify_report rep;
    ck_assert_int_eq(cosim_program(&cfg, NULL, w, dvt_auto, &rep), FG_OK);
    ck_assert(isnan(rep.worst_rel_err) && rep.iterations == 0 && rep.reads == 0);
    ck_assert_mem_eq(dvt_auto, dvt_model, sizeof dvt_auto);
    /* bad targets and options are refused before ngspice runs */
    cosim_verify_opts bad = {.tol = 1.5};
    ck_assert_int_eq(cosim_program_verify(&cfg, w, &bad, dvt, &rep), FG_ERR_RANGE);
    w[3] = 1.2;
    ck_assert_int_eq(cosim_program_verify(&cfg, w, NULL, dvt, &rep), FG_ERR_RANGE);
    nl_layout_free(lay);
}
END_TEST

/* y (4,16) of the spice backend on netlist with programming method m. */
static void spice_backend_y_at(const char *netlist, cosim_program_method m,
                               const fg_corner *c, int at_corner, const float *w,
                               const float *x, float *y)
{
    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load("regular", &lay), FG_OK);
    cosim_pool_config cfg = {.layout = lay, .array_netlist = netlist,
                             .op = nl_layout_op_point(lay), .corner = c, .jobs = 2};
    cosim_program_opts po = {.method = m, .seed = 1, .at_corner = at_corner};
    fg_backend *be;
    ck_assert_msg(cosim_backend_spice_new(&cfg, &po, &be) == FG_OK, "%s", fg_errmsg());
    nl_layout_free(lay); /* the backend keeps its own copy */
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 4), FG_OK);
    fg_backend_free(be);
}

static void spice_backend_y(const char *netlist, cosim_program_method m, const float *w,
                            const float *x, float *y)
{
    spice_backend_y_at(netlist, m, NULL, 0, w, x, y);
}

/* At 80 C the cells programmed at 27 C carry far more current; written
 * again by program-verify at 80 C (a reprogramming in the field) they
 * compute about what they computed at 27 C. */
START_TEST(test_reprogram_at_corner)
{
    double wd[FG_CELLS], x4[4 * FG_ROWS];
    float w[FG_CELLS], x[4 * FG_ROWS], y_nom[4 * FG_COLS], y_hot[4 * FG_COLS],
          y_rep[4 * FG_COLS];
    verify_weights(wd);
    test_patterns(x4);
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = (float)(0.5 * wd[k]); /* away from saturation when hot */
    for (int k = 0; k < 4 * FG_ROWS; k++)
        x[k] = (float)x4[k];
    fg_corner hot = fg_corner_nominal();
    hot.temp_c = 80;
    spice_backend_y_at(NULL, COSIM_PROGRAM_MODEL, NULL, 0, w, x, y_nom);
    spice_backend_y_at(NULL, COSIM_PROGRAM_MODEL, &hot, 0, w, x, y_hot);
    spice_backend_y_at(NULL, COSIM_PROGRAM_MODEL, &hot, 1, w, x, y_rep);
    double s_nom = 0, s_hot = 0, d_rep = 0;
    for (int k = FG_COLS; k < 4 * FG_COLS; k++) { /* pattern 0 is all off */
        s_nom += fabs(y_nom[k]);
        s_hot += fabs(y_hot[k]);
        d_rep += fabs(y_rep[k] - y_nom[k]);
    }
    ck_assert_msg(s_hot > 1.3 * s_nom, "hot %.3f vs nominal %.3f", s_hot, s_nom);
    ck_assert_msg(d_rep < 0.1 * s_nom, "reprogrammed: sum |dy| %.3f vs sum |y| %.3f",
                  d_rep, s_nom);
}
END_TEST

/* The spice backend verifies every tile it programs (auto: verify for a
 * netlist): the array with its own card and mismatch then computes what
 * the same array with the built-in card computes (programmed by model),
 * through the whole transient; programmed by model it does not. */
START_TEST(test_verify_spice_backend)
{
    double wd[FG_CELLS], x4[4 * FG_ROWS];
    float w[FG_CELLS], x[4 * FG_ROWS], y_base[4 * FG_COLS], y_ver[4 * FG_COLS],
          y_mod[4 * FG_COLS];
    verify_weights(wd);
    test_patterns(x4);
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = (float)wd[k];
    for (int k = 0; k < 4 * FG_ROWS; k++)
        x[k] = (float)x4[k];
    spice_backend_y(FG_FIXTURES "/layout_ext_array.cir", COSIM_PROGRAM_MODEL, w, x, y_base);
    spice_backend_y(CARD_NETLIST, COSIM_PROGRAM_AUTO, w, x, y_ver);
    spice_backend_y(CARD_NETLIST, COSIM_PROGRAM_MODEL, w, x, y_mod);
    double d_ver = 0, d_mod = 0, sum = 0;
    for (int k = FG_COLS; k < 4 * FG_COLS; k++) { /* pattern 0 is all off */
        d_ver = fmax(d_ver, fabs(y_ver[k] - y_base[k]));
        d_mod = fmax(d_mod, fabs(y_mod[k] - y_base[k]));
        sum += fabs(y_base[k]) / (3 * FG_COLS);
    }
    ck_assert_msg(d_ver < 0.02 * sum && d_mod > 0.2 * sum,
                  "max |dy|: verify %.4f, model %.4f (mean |y| %.3f)", d_ver, d_mod, sum);
}
END_TEST

/* simulate records how it programmed; verify is the default for a netlist. */
START_TEST(test_simulate_program)
{
    char out[128];
    tu_tmp(out, sizeof out, "pv.h5");
    cosim_dataset ds;
    ck_assert_int_eq(tu_run_fgcosimf("simulate --array-netlist " CARD_NETLIST
                                    " --patterns 2 --jobs 1 -o %s", tu_tmp_path("pv.h5")), 0);
    ck_assert_int_eq(cosim_dataset_read(out, &ds), FG_OK);
    ck_assert_str_eq(ds.program_method, "verify");
    ck_assert_double_eq(ds.program_tol, 0.01);
    ck_assert(ds.program_iterations >= 1 && ds.program_worst_rel_err <= 0.01);
    cosim_dataset_free(&ds);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --program model --patterns 2 --jobs 1 "
                                    "-o %s", tu_tmp_path("pv.h5")), 0);
    ck_assert_int_eq(cosim_dataset_read(out, &ds), FG_OK);
    ck_assert_str_eq(ds.program_method, "model");
    ck_assert(isnan(ds.program_worst_rel_err) && ds.program_iterations == 0);
    cosim_dataset_free(&ds);
    unlink(out);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --program exact -o %s", tu_tmp_path("pv.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --verify-tol 0.9 -o %s", tu_tmp_path("pv.h5")), 2);
    ck_assert_int_eq(tu_run_fgcosimf("simulate --verify-iter 0 -o %s", tu_tmp_path("pv.h5")), 2);
    ck_assert_int_eq(access(out, F_OK), -1);
}
END_TEST

Suite *cosim_suite(void)
{
    Suite *s = suite_create("cosim");
    TCase *tc = tcase_create("cosim:program");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_program_monotonic);
    tcase_add_test(tc, test_program_single_cell);
    suite_add_tcase(s, tc);
    tc = tcase_create("cosim:vs-ngspice");
    tcase_set_timeout(tc, 300);
    int n = 0;
    while (nl_builtin_layouts()[n])
        n++;
    tcase_add_loop_test(tc, test_vs_program_builtin, 0, n);
    tcase_add_test(tc, test_vs_program_external);
    tcase_add_test(tc, test_vs_program_corners);
    suite_add_tcase(s, tc);
    tc = tcase_create("cosim:faults");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fault_crash_once);
    tcase_add_test(tc, test_fault_hang_once);
    tcase_add_test(tc, test_fault_crash_always);
    suite_add_tcase(s, tc);
    tc = tcase_create("cosim:energy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_energy_one_cell);
    tcase_add_test(tc, test_energy_wordline_activity);
    tcase_add_test(tc, test_energy_latency);
    suite_add_tcase(s, tc);
    tc = tcase_create("cosim:dataset");
    tcase_add_test(tc, test_dataset_roundtrip);
    tcase_add_test(tc, test_dataset_malformed);
    suite_add_tcase(s, tc);
    tc = tcase_create("cosim:verify");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_verify_own_card);
    tcase_add_test(tc, test_verify_corner);
    tcase_add_test(tc, test_verify_builtin);
    tcase_add_test(tc, test_verify_spice_backend);
    tcase_add_test(tc, test_reprogram_at_corner);
    tcase_add_test(tc, test_simulate_program);
    suite_add_tcase(s, tc);
    tc = tcase_create("cosim:simulate");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_simulate_bad_input);
    tcase_add_test(tc, test_simulate_resume);
    suite_add_tcase(s, tc);
    return s;
}
