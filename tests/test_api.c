/* api/: the backend registry (specs, errors) and the library version. */
#include "fgcosim.h"
#include "suites.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A real fitted model: `fgcosim simulate --layout coupled --patterns 600
 * --jobs 2 -o d.h5` then `fgcosim fit --data d.h5 -o hwa_coupled_model.json`
 * (held-out SER 44-51 dB per column). */
#define MODEL FG_FIXTURES "/hwa_coupled_model.json"

/* The example's tile: w_ij = (i + j) / 30, x_i = (i + 1) / 16. */
static void example_tile(float *w, float *x)
{
    for (int i = 0; i < FG_ROWS; i++) {
        x[i] = (float)(i + 1) / FG_ROWS;
        for (int j = 0; j < FG_COLS; j++)
            w[i * FG_COLS + j] = (float)(i + j) / 30.0f;
    }
}

/* y_j = sum_i (i+1)/16 (i+j)/30 = (1360 + 136 j) / 480 */
static double example_ideal(int j) { return (1360.0 + 136.0 * j) / 480.0; }

START_TEST(test_kinds_table)
{
    int n;
    const fgc_backend_kind *k = fgc_backend_kinds(&n);
    /* the shipped kinds first; a backend added by README's "Adding a
     * backend" (a line at the end of api/backends.def) after them */
    ck_assert_int_ge(n, 3);
    const char *names[] = {"ideal", "hwa", "spice"};
    const int corner[] = {0, 0, 1}, ir[] = {0, 1, 0};
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(k[i].name, names[i]);
        ck_assert_int_eq(k[i].corner, corner[i]);
        ck_assert_int_eq(k[i].ir, ir[i]);
    }
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(strncmp(k[i].usage, k[i].name, strlen(k[i].name)), 0);
        ck_assert(strlen(k[i].help) > 10 && !strchr(k[i].help, '\n'));
        ck_assert_ptr_nonnull(k[i].open);
        ck_assert_ptr_nonnull(k[i].array);
        ck_assert_ptr_nonnull(k[i].cli);
        ck_assert_ptr_eq(fgc_backend_kind_of(k[i].name), &k[i]);
    }
    ck_assert_ptr_eq(fgc_backend_kind_of("hwa:m.json"), &k[1]);
    ck_assert_ptr_null(fgc_backend_kind_of("hw"));
    ck_assert_ptr_null(fgc_backend_kind_of(NULL));
    ck_assert_str_eq(fgc_version(), FG_PROJECT_VERSION);
}
END_TEST

START_TEST(test_open_ideal)
{
    fg_backend *be = NULL;
    ck_assert_int_eq(fgc_backend_open("ideal", &be), FG_OK);
    ck_assert_str_eq(fg_backend_name(be), "ideal");
    float w[FG_CELLS], x[FG_ROWS], y[FG_COLS];
    example_tile(w, x);
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 1), FG_OK);
    for (int j = 0; j < FG_COLS; j++)
        ck_assert_msg(fabs(y[j] - example_ideal(j)) < 1e-5, "y[%d] = %g", j, y[j]);
    fg_backend_free(be);
}
END_TEST

/* hwa:MODEL is the fitted model of that file: the same bits as the
 * backend built from the loaded model, and not the ideal product. */
START_TEST(test_open_hwa)
{
    fg_backend *be = NULL, *ref = NULL;
    ck_assert_msg(fgc_backend_open("hwa:" MODEL, &be) == FG_OK, "%s", fg_errmsg());
    ck_assert_str_eq(fg_backend_name(be), "hwa");
    ck_assert(fg_backend_can_backward(be));
    fit_model m;
    ck_assert_int_eq(fit_model_load(&m, MODEL), FG_OK);
    ck_assert_int_eq(fit_backend_hwa_open(&m, &ref), FG_OK);
    float w[FG_CELLS], x[FG_ROWS], y[FG_COLS], yr[FG_COLS];
    example_tile(w, x);
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 1), FG_OK);
    ck_assert_int_eq(fg_backend_vmm(ref, w, x, yr, 1), FG_OK);
    ck_assert_int_eq(memcmp(y, yr, sizeof y), 0);
    for (int j = 0; j < FG_COLS; j++) /* sublinear: the bit lines droop */
        ck_assert_msg(y[j] > 0.3 * example_ideal(j) && y[j] < 0.9 * example_ideal(j),
                      "y[%d] = %g, ideal %g", j, y[j], example_ideal(j));
    fg_backend_free(be);
    fg_backend_free(ref);
}
END_TEST

/* hwa:T.json,temp=C is the temperature model at C: the same bits as the
 * backend of fit_tmodel_at's model, another output at another C; a
 * temperature model without temp=, a bad temp= and one out of range fail
 * with a message that says so. */
START_TEST(test_open_hwa_tmodel)
{
    fit_model nodes[3], m;
    ck_assert_int_eq(fit_model_load(&nodes[0], MODEL), FG_OK);
    for (int k = 0; k < 3; k++) { /* lambda and the trim move with T */
        nodes[k] = nodes[0];
        nodes[k].corner.temp_c = -20.0 + 50.0 * k;
        nodes[k].p.lambda = nodes[0].p.lambda * (1.0 + 0.1 * k);
        nodes[k].corner.t_max_trim = 1.0 + 0.05 * k;
    }
    fit_tmodel *t = malloc(sizeof *t);
    ck_assert_int_eq(fit_tmodel_init(t, nodes, 3), FG_OK);
    const char *path = tu_tmp_path("api_tmodel.json");
    ck_assert_int_eq(fit_tmodel_save(t, path), FG_OK);
    char spec[512];
    snprintf(spec, sizeof spec, "hwa:%s,temp=55", path);
    fg_backend *be = NULL, *ref = NULL, *other = NULL;
    ck_assert_msg(fgc_backend_open(spec, &be) == FG_OK, "%s", fg_errmsg());
    ck_assert_int_eq(fit_tmodel_at(t, 55.0, &m), FG_OK);
    ck_assert_int_eq(fit_backend_hwa_open(&m, &ref), FG_OK);
    snprintf(spec, sizeof spec, "hwa:%s,temp=-10", path);
    ck_assert_int_eq(fgc_backend_open(spec, &other), FG_OK);
    float w[FG_CELLS], x[FG_ROWS], y[FG_COLS], yr[FG_COLS], yo[FG_COLS];
    example_tile(w, x);
    ck_assert_int_eq(fg_backend_vmm(be, w, x, y, 1), FG_OK);
    ck_assert_int_eq(fg_backend_vmm(ref, w, x, yr, 1), FG_OK);
    ck_assert_int_eq(fg_backend_vmm(other, w, x, yo, 1), FG_OK);
    ck_assert_int_eq(memcmp(y, yr, sizeof y), 0);
    ck_assert(fabsf(yo[15] - y[15]) > 1e-3f);
    fgc_array a;
    snprintf(spec, sizeof spec, "hwa:%s,temp=55", path);
    ck_assert_int_eq(fgc_backend_array(spec, NULL, &a), FG_OK);
    ck_assert(a.on_array && a.corner.temp_c == 55.0 && a.corner.t_max_trim > 1.0);
    fg_backend_free(be), fg_backend_free(ref), fg_backend_free(other);
    const struct {
        const char *tail, *msg;
        fg_status st;
    } bad[] = {{"", "hwa:FILE,temp=C", FG_ERR_FORMAT},
               {",temp=warm", "temp=warm", FG_ERR_RANGE},
               {",temp=", "temp=", FG_ERR_RANGE},
               {",temp=81", "-20..80", FG_ERR_RANGE}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(spec, sizeof spec, "hwa:%s%s", path, bad[k].tail);
        be = (fg_backend *)t;
        ck_assert_int_eq(fgc_backend_open(spec, &be), bad[k].st);
        ck_assert_ptr_null(be);
        ck_assert_msg(strstr(fg_errmsg(), bad[k].msg), "%s: %s", spec, fg_errmsg());
    }
    snprintf(spec, sizeof spec, "hwa:%s,temp=27", MODEL); /* not a temperature model */
    ck_assert_int_ne(fgc_backend_open(spec, &be), FG_OK);
    ck_assert_int_ne(fgc_backend_open("hwa:,temp=27", &be), FG_OK);
    unlink(path);
    free(t);
}
END_TEST

/* The constructor's own convention: a status and a message, no backend. */
START_TEST(test_hwa_open_bad_model)
{
    fit_model m;
    ck_assert_int_eq(fit_model_load(&m, MODEL), FG_OK);
    m.op.c_bl = NAN;
    fg_backend *be = (fg_backend *)&m;
    ck_assert_int_eq(fit_backend_hwa_open(&m, &be), FG_ERR_RANGE);
    ck_assert_ptr_null(be);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "operating point"));
    ck_assert_ptr_null(fit_backend_hwa_new(&m));
}
END_TEST

/* spice:LAYOUT,jobs=1 runs the tile on ngspice: the outputs droop below
 * the ideal product (by 10-17 % on this tile, measured). */
START_TEST(test_open_spice)
{
    fg_backend *be = NULL;
    ck_assert_msg(fgc_backend_open("spice:regular,jobs=1", &be) == FG_OK, "%s",
                  fg_errmsg());
    ck_assert_str_eq(fg_backend_name(be), "spice");
    ck_assert(!fg_backend_can_backward(be));
    float w[FG_CELLS], x[FG_ROWS], y[FG_COLS];
    example_tile(w, x);
    ck_assert_msg(fg_backend_vmm(be, w, x, y, 1) == FG_OK, "%s", fg_errmsg());
    for (int j = 0; j < FG_COLS; j++)
        ck_assert_msg(y[j] > 0.7 * example_ideal(j) && y[j] < 0.97 * example_ideal(j),
                      "y[%d] = %g, ideal %g", j, y[j], example_ideal(j));
    fg_backend_free(be);
}
END_TEST

/* breakpoints=all|few reach the deck: the same tile through PULSE and
 * fall-break word lines, other time points (outputs not bit-equal) and
 * within 0.1 mV of each other (0.004 output units of 25 mV). */
START_TEST(test_open_spice_breakpoints)
{
    float w[FG_CELLS], x[FG_ROWS], y[2][FG_COLS];
    example_tile(w, x);
    const char *spec[2] = {"spice:regular,jobs=1,breakpoints=all",
                           "spice:regular,jobs=1,breakpoints=few"};
    for (int k = 0; k < 2; k++) {
        fg_backend *be = NULL;
        ck_assert_msg(fgc_backend_open(spec[k], &be) == FG_OK, "%s", fg_errmsg());
        ck_assert_msg(fg_backend_vmm(be, w, x, y[k], 1) == FG_OK, "%s", fg_errmsg());
        fg_backend_free(be);
    }
    int same = 1;
    for (int j = 0; j < FG_COLS; j++) {
        same &= y[0][j] == y[1][j];
        ck_assert_msg(fabsf(y[0][j] - y[1][j]) < 0.004f, "col %d: %g vs %g", j, y[0][j],
                      y[1][j]);
    }
    ck_assert_msg(!same, "breakpoints=all and few gave the same bits");
}
END_TEST

START_TEST(test_open_errors)
{
    char *bad_json = tu_write_tmp("{\"format\": ", ".json");
    char bad_hwa[128];
    snprintf(bad_hwa, sizeof bad_hwa, "hwa:%s", bad_json);
    const struct {
        const char *spec;
        fg_status st;
        const char *says;
    } cases[] = {
        {"", FG_ERR_RANGE, "empty"},
        {"foo", FG_ERR_RANGE, "unknown name 'foo' (known: ideal, hwa, spice"},
        {"ideal2:x", FG_ERR_RANGE, "unknown name 'ideal2'"},
        {"ideal:x", FG_ERR_RANGE, "ideal takes no argument, got 'x'"},
        {"hwa", FG_ERR_RANGE, "hwa needs a model file"},
        {"hwa:", FG_ERR_RANGE, "hwa needs a model file"},
        {"hwa:/nonexistent/m.json", FG_ERR_IO, "/nonexistent/m.json"},
        {bad_hwa, FG_ERR_PARSE, "not valid JSON"},
        {"spice", FG_ERR_RANGE, "spice needs a layout"},
        {"spice:nolayout", FG_ERR_RANGE, "unknown layout 'nolayout'"},
        {"spice:regular,coupled", FG_ERR_RANGE, "the layout given twice"},
        {"spice:regular,jobs=-1", FG_ERR_RANGE, "jobs=-1 is not a count"},
        {"spice:regular,jobs=", FG_ERR_RANGE, "jobs= is not a count"},
        {"spice:regular,,jobs=1", FG_ERR_RANGE, "empty item"},
        {"spice:regular,speed=2", FG_ERR_RANGE, "unknown option 'speed'"},
        {"spice:regular,breakpoints=some", FG_ERR_RANGE,
         "breakpoints=some is not auto, few or all"},
        {"spice:jobs=2", FG_ERR_RANGE, "spice needs a layout or netlist=FILE"},
        {"spice:netlist=/nonexistent.cir", FG_ERR_IO, "/nonexistent.cir"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fg_backend *be = (fg_backend *)cases; /* must be reset to NULL */
        fg_status st = fgc_backend_open(cases[i].spec, &be);
        ck_assert_msg(st == cases[i].st, "'%s': status %d, not %d (%s)", cases[i].spec,
                      st, cases[i].st, fg_errmsg());
        ck_assert_ptr_null(be);
        ck_assert_int_eq(fg_status_exit_code(st), 2);
        ck_assert_msg(strstr(fg_errmsg(), cases[i].says), "'%s': message '%s' lacks '%s'",
                      cases[i].spec, fg_errmsg(), cases[i].says);
        if (*cases[i].spec) /* names the spec it rejects */
            ck_assert_msg(strstr(fg_errmsg(), cases[i].spec), "%s", fg_errmsg());
        ck_assert_ptr_null(strchr(fg_errmsg(), '\n'));
    }
    unlink(bad_json);
    free(bad_json);
}
END_TEST

/* The array a spec runs on: hwa the model file's op point and corner
 * (must match a checkpoint's), spice its layout's at the corner it is
 * given, ideal none; errors as fgc_backend_open's, *out reset. */
START_TEST(test_backend_array)
{
    fit_model m;
    ck_assert_int_eq(fit_model_load(&m, MODEL), FG_OK);
    fgc_array a;
    ck_assert_msg(fgc_backend_array("hwa:" MODEL, NULL, &a) == FG_OK, "%s", fg_errmsg());
    ck_assert_int_eq(a.on_array, 1);
    ck_assert_int_eq(a.must_match, 1);
    ck_assert_int_eq(memcmp(&a.op, &m.op, sizeof a.op), 0);
    ck_assert_double_eq(a.corner.temp_c, m.corner.temp_c);
    ck_assert_double_eq(a.corner.t_max_trim, m.corner.t_max_trim);

    nl_layout *lay;
    ck_assert_int_eq(nl_layout_load("coupled", &lay), FG_OK);
    fg_op_point op = nl_layout_op_point(lay);
    nl_layout_free(lay);
    fg_corner hot = fg_corner_nominal();
    hot.temp_c = 80;
    fgc_open_opts o = {.corner = &hot};
    ck_assert_msg(fgc_backend_array("spice:coupled,jobs=1", &o, &a) == FG_OK, "%s",
                  fg_errmsg());
    ck_assert_int_eq(a.on_array, 1);
    ck_assert_int_eq(a.must_match, 0);
    ck_assert_int_eq(memcmp(&a.op, &op, sizeof op), 0);
    ck_assert_double_eq(a.corner.temp_c, 80);

    ck_assert_int_eq(fgc_backend_array("ideal", NULL, &a), FG_OK);
    ck_assert_int_eq(a.on_array, 0);
    ck_assert_double_eq(a.op.c_bl, 0);
    ck_assert_double_eq(a.corner.temp_c, fg_corner_nominal().temp_c);

    const struct {
        const char *spec;
        fg_status st;
        const char *says;
    } bad[] = {
        {"nosuch", FG_ERR_RANGE, "unknown name 'nosuch' (known: ideal, hwa, spice"},
        {"", FG_ERR_RANGE, "empty"},
        {"hwa", FG_ERR_RANGE, "hwa needs a model file"},
        {"hwa:/nonexistent/m.json", FG_ERR_IO, "/nonexistent/m.json"},
        {"spice:nolayout", FG_ERR_RANGE, "unknown layout 'nolayout'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a.on_array = 1;
        fg_status st = fgc_backend_array(bad[i].spec, NULL, &a);
        ck_assert_msg(st == bad[i].st, "'%s': status %d (%s)", bad[i].spec, st,
                      fg_errmsg());
        ck_assert_msg(strstr(fg_errmsg(), bad[i].says), "'%s': %s", bad[i].spec,
                      fg_errmsg());
        ck_assert_int_eq(a.on_array, 0);
    }
    /* the option check of fgc_backend_open_with: hwa has no corner */
    ck_assert_int_eq(fgc_backend_array("hwa:" MODEL, &o, &a), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "the hwa backend has no corner"));
}
END_TEST

/* The spec of the command-line options: each kind reads its own; the
 * messages name the option missing. */
START_TEST(test_backend_spec)
{
    char spec[64];
    fgc_cli_opts c = {.model = "m.json", .layout = "coupled", .jobs = 2};
    ck_assert_int_eq(fgc_backend_spec("ideal", &c, spec, sizeof spec), FG_OK);
    ck_assert_str_eq(spec, "ideal");
    ck_assert_int_eq(fgc_backend_spec("hwa", &c, spec, sizeof spec), FG_OK);
    ck_assert_str_eq(spec, "hwa:m.json");
    ck_assert_int_eq(fgc_backend_spec("spice", &c, spec, sizeof spec), FG_OK);
    ck_assert_str_eq(spec, "spice:layout=coupled,jobs=2");
    c.array_netlist = "a.cir", c.layout = NULL;
    ck_assert_int_eq(fgc_backend_spec("spice", &c, spec, sizeof spec), FG_OK);
    ck_assert_str_eq(spec, "spice:layout=regular,netlist=a.cir,jobs=2");
    ck_assert_int_eq(fgc_backend_spec("hwa:x.json", NULL, spec, sizeof spec), FG_OK);
    ck_assert_str_eq(spec, "hwa:x.json");
    const struct {
        const char *name;
        const char *says;
    } bad[] = {
        {"hwa", "backend hwa needs --model MODEL.json (from fgcosim fit)"},
        {"spice", "backend spice needs --layout NAME|FILE or --array-netlist FILE"},
        {"nosuch", "unknown name 'nosuch' (known: ideal, hwa, spice"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(fgc_backend_spec(bad[i].name, NULL, spec, sizeof spec),
                         FG_ERR_RANGE);
        ck_assert_str_eq(spec, "");
        ck_assert_msg(strstr(fg_errmsg(), bad[i].says), "'%s': %s", bad[i].name,
                      fg_errmsg());
    }
    c = (fgc_cli_opts){.layout = "a,b"};
    ck_assert_int_eq(fgc_backend_spec("spice", &c, spec, sizeof spec), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "a,b: a file name with a comma"));
    c = (fgc_cli_opts){.model = "a-model-file-whose-path-does-not-fit-in-the-spec.json"};
    ck_assert_int_eq(fgc_backend_spec("hwa", &c, spec, 32), FG_ERR_RANGE);
    ck_assert_str_eq(spec, "");
}
END_TEST

Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("registry");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_kinds_table);
    tcase_add_test(tc, test_open_ideal);
    tcase_add_test(tc, test_open_hwa);
    tcase_add_test(tc, test_open_hwa_tmodel);
    tcase_add_test(tc, test_hwa_open_bad_model);
    tcase_add_test(tc, test_open_spice);
    tcase_add_test(tc, test_open_spice_breakpoints);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_backend_array);
    tcase_add_test(tc, test_backend_spec);
    suite_add_tcase(s, tc);
    return s;
}
