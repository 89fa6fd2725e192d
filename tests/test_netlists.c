/* Tests of netlists/: extraction formulas, layout files, external arrays,
 * the deck's time-step accuracy and the crosstalk of the built-in layouts. */
#include "suites.h"
#include "cosim.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Hand-computed: eps = 3.9 * 8.8541878128e-12 F/m, line W 0.1 um, T 0.2 um,
 * H 0.6 um, L 1 um: C_ground = eps L (1.15 W/H + 2.80 (T/H)^0.222)
 * = 8.2380e-17 F; at S 0.3 um C_couple = eps L (0.03 W/H + 0.83 T/H -
 * 0.07 (T/H)^0.222) (S/H)^-1.34 = 1.9828e-17 F; two 0.1 um lines crossing
 * 0.45 um apart: eps (0.55 um)^2 / 0.45 um = 2.3213e-17 F. */
START_TEST(test_extract_formulas)
{
    ck_assert_double_eq_tol(nl_wire_res(0.1, 0.4e-6, 0.1e-6), 0.4, 1e-12);
    ck_assert_double_eq_tol(nl_wire_res(8.0, 0.4e-6, 0.1e-6), 32.0, 1e-12);
    ck_assert_double_eq_tol(nl_wire_cap_ground(3.9, 1e-6, 0.1e-6, 0.2e-6, 0.6e-6),
                            8.2380e-17, 1e-21);
    ck_assert_double_eq_tol(nl_wire_cap_couple(3.9, 1e-6, 0.1e-6, 0.2e-6, 0.6e-6, 0.3e-6),
                            1.9828e-17, 1e-21);
    ck_assert_double_eq_tol(nl_wire_cap_cross(3.9, 0.1e-6, 0.1e-6, 0.45e-6),
                            2.3213e-17, 1e-21);
    /* coupling falls with spacing, grows with length */
    ck_assert(nl_wire_cap_couple(3.9, 1e-6, 0.1e-6, 0.2e-6, 0.6e-6, 0.6e-6) <
              nl_wire_cap_couple(3.9, 1e-6, 0.1e-6, 0.2e-6, 0.6e-6, 0.3e-6));
}
END_TEST

START_TEST(test_extract_layouts)
{
    nl_layout *reg, *sh, *ef;
    fg_op_point op = fg_op_point_default();
    ck_assert_int_eq(nl_layout_load("regular", &reg), FG_OK);
    ck_assert_int_eq(nl_layout_load("shielded", &sh), FG_OK);
    ck_assert_int_eq(nl_layout_load("edge-feed", &ef), FG_OK);
    nl_parasitics pr, ps, pe;
    ck_assert_int_eq(nl_extract(reg, &op, &pr), FG_OK);
    ck_assert_int_eq(nl_extract(sh, &op, &ps), FG_OK);
    ck_assert_int_eq(nl_extract(ef, &op, &pe), FG_OK);
    /* regular: m2 bit line 0.1 ohm/sq over a 0.4 um pitch, 0.1 um wide */
    ck_assert_double_eq_tol(pr.r_bl_seg, 0.4, 1e-12);
    ck_assert(pr.c_bl_bl > 0 && ps.c_bl_bl == 0 && ps.c_bl_seg > pr.c_bl_seg);
    ck_assert(pr.c_feed[0] == 0 && pe.c_feed[0] > pe.c_feed[7]);
    ck_assert(pr.merge_wl && pr.merge_bl);
    /* totals: 16 segments of 0.4 ohm; 16 poly segments of 32 ohm + 20 ohm via */
    ck_assert_double_eq_tol(pr.r_bl_total, 6.4, 1e-9);
    ck_assert_double_eq_tol(pr.r_wl_total, 16 * 32.0 + 20.0, 1e-9);
    ck_assert_double_eq_tol(pr.c_bl_total - pr.c_bl_wire, 100e-15, 1e-24);
    ck_assert(pe.c_wl_total > pr.c_wl_total && pe.c_bl_wire > pr.c_bl_wire - 1e-24);
    nl_layout_free(reg);
    nl_layout_free(sh);
    nl_layout_free(ef);
}
END_TEST

/* Built-ins and the model card come from the binary (embedded at build
 * time); the canonical JSON parses back to the same layout. */
START_TEST(test_layout_builtins)
{
    const char *const *names = nl_builtin_layouts();
    int n = 0;
    for (; names[n]; n++) {
        nl_layout *l, *l2;
        ck_assert_int_eq(nl_layout_load(names[n], &l), FG_OK);
        ck_assert_str_eq(nl_layout_name(l), names[n]);
        ck_assert_int_eq(nl_layout_parse(nl_layout_json(l), "canonical", &l2), FG_OK);
        ck_assert_str_eq(nl_layout_json(l2), nl_layout_json(l));
        ck_assert_double_eq(nl_layout_op_point(l).c_bl, l->c_bl_F);
        nl_layout_free(l);
        nl_layout_free(l2);
    }
    ck_assert_int_ge(n, 3);
    ck_assert_ptr_nonnull(strstr(nl_model_card(), ".model nfg nmos level=54"));
}
END_TEST

/* Input x is a pulse of area V_read * x * T_max starting at one t0; x = 0
 * has amplitude 0; the read time is the .tran stop time. */
START_TEST(test_pulse_params)
{
    fg_op_point op = fg_op_point_default();
    double p[7], q[7];
    nl_pulse_params(&op, 0.0, p);
    ck_assert_double_eq(p[1], 0.0);
    for (int k = 1; k <= 10; k++) {
        double x = k / 10.0;
        nl_pulse_params(&op, x, q);
        double area = q[1] * (q[5] + 0.5 * (q[3] + q[4]));
        ck_assert_double_eq_tol(area, op.v_read * x * op.t_max, 1e-15);
        ck_assert_double_eq(q[2], p[2]);
        ck_assert(q[2] + q[3] + q[4] + q[5] < nl_t_read(&op));
    }
    nl_pulse_params(&op, 0.001, q); /* narrower than an edge: a triangle */
    ck_assert_double_eq_tol(q[1] * (q[5] + 0.5 * (q[3] + q[4])), op.v_read * 1e-10, 1e-20);
    nl_layout *l;
    ck_assert_int_eq(nl_layout_load("regular", &l), FG_OK);
    double dvt[FG_CELLS] = {0}, x[FG_ROWS] = {0};
    nl_deck_spec spec = {.layout = l, .op = op, .dvt = dvt, .x = x, .max_step_scale = 1};
    char *deck, tran[64];
    ck_assert_int_eq(nl_deck_build(&spec, &deck), FG_OK);
    snprintf(tran, sizeof tran, ".tran 1n %.9g ", nl_t_read(&op));
    ck_assert_ptr_nonnull(strstr(deck, tran));
    ck_assert_ptr_nonnull(strstr(deck, "\nVWLA15 wla15 0 DC 0\n"));
    ck_assert_ptr_nonnull(strstr(deck, "\n.end\n"));
    free(deck);
    spec.wl_drive = NL_WL_PULSE;
    ck_assert_int_eq(nl_deck_build(&spec, &deck), FG_OK);
    ck_assert_ptr_nonnull(strstr(deck, "VWL15 wld15 0 PULSE(0 0 "));
    free(deck);
    x[0] = 2.0;
    ck_assert_int_eq(nl_deck_build(&spec, &deck), FG_ERR_RANGE);
    nl_layout_free(l);
}
END_TEST

static fg_status load_text(const char *text)
{
    nl_layout *l = NULL;
    fg_status st = nl_layout_parse(text, "t.json", &l);
    nl_layout_free(l);
    return st;
}

START_TEST(test_layout_errors)
{
    nl_layout *l;
    ck_assert_int_eq(nl_layout_load("nosuch", &l), FG_ERR_RANGE);
    ck_assert_int_eq(nl_layout_load("/nonexistent/x.json", &l), FG_ERR_IO);
    ck_assert_int_eq(load_text("{\n\"name\": \"x\",\n oops }"), FG_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "t.json:3"));
    /* a built-in with one field broken, named in the message */
    ck_assert_int_eq(nl_layout_load("regular", &l), FG_OK);
    char *text = strdup(nl_layout_json(l));
    nl_layout_free(l);
    char *p = strstr(text, "\"c_bl_F\":");
    ck_assert_ptr_nonnull(p);
    memcpy(p, "\"c_bl_X\":", 9);
    ck_assert_int_eq(load_text(text), FG_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "missing field c_bl_F"));
    memcpy(p, "\"c_bl_F\":", 9);
    p = strstr(text, "\"driver_res_ohm\":") + strlen("\"driver_res_ohm\":");
    *p = '-';
    ck_assert_int_eq(load_text(text), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "driver_res_ohm"));
    free(text);
    ck_assert_int_eq(load_text("[1, 2]"), FG_ERR_PARSE);
}
END_TEST

/* Bad input to `fgcosim netlist`: exit status 2, one stderr line
 * "fgcosim netlist: ..." naming the file (or layout), no output file. */
static void cli_bad(const char *opts, const char *named)
{
    char out[128];
    tu_tmp(out, sizeof out, "deck.cir");
    char args[512], *err;
    unlink(out);
    snprintf(args, sizeof args, "netlist %s -o %s", opts, out);
    ck_assert_msg(tu_run_fgcosim(args) == 2, "exit status for %s", opts);
    ck_assert_int_eq(access(out, F_OK), -1);
    ck_assert_int_eq(fg_file_read(TU_ERR_FILE, &err, NULL), FG_OK);
    ck_assert_msg(!strncmp(err, "fgcosim netlist: ", 17) && strstr(err, named) &&
                      strchr(err, '\n') == err + strlen(err) - 1,
                  "stderr for %s: %s", opts, err);
    free(err);
}

START_TEST(test_layout_cli_errors)
{
    char *bad = tu_write_tmp("{\"name\": \"x\", \"cell_pitch_x_m\": 1}", ".json"), opts[256];
    snprintf(opts, sizeof opts, "--layout %s", bad);
    cli_bad(opts, "cell_pitch_x_m");
    cli_bad("--layout nosuch", "nosuch");
    cli_bad("--layout /nonexistent/l.json", "/nonexistent/l.json");
    cli_bad("--weights " FG_FIXTURES "/bad_inputs_range.csv", "bad_inputs_range.csv");
    cli_bad("--weights /nonexistent/w.csv", "/nonexistent/w.csv");
    cli_bad("--inputs " FG_FIXTURES "/bad_inputs_count.csv", "bad_inputs_count.csv");
    cli_bad("--inputs " FG_FIXTURES "/bad_inputs_range.csv", "bad_inputs_range.csv");
    cli_bad("--inputs /nonexistent/x.csv", "/nonexistent/x.csv");
    cli_bad("--array-netlist " FG_FIXTURES "/bad_inputs_count.csv", "no port wl0");
    cli_bad("--array-netlist /nonexistent/a.cir", "/nonexistent/a.cir");
    cli_bad("--spice-breakpoints some", "--spice-breakpoints");
    unlink(bad);
    free(bad);
    char out[128];
    tu_tmp(out, sizeof out, "deck.cir");
    ck_assert_int_eq(tu_run_fgcosimf("netlist --layout shielded --weights-seed 4 "
                                    "-o %s", tu_tmp_path("deck.cir")), 0);
    char *deck;
    ck_assert_int_eq(fg_file_read(out, &deck, NULL), FG_OK);
    ck_assert_ptr_nonnull(strstr(deck, "VFG_3_4 wl3 g3_4 DC "));
    ck_assert_ptr_nonnull(strstr(deck, ".model nfg nmos"));
    ck_assert_ptr_nonnull(strstr(deck, "\nBWL3 wlb3 0 V = "));
    free(deck);
    ck_assert_int_eq(tu_run_fgcosimf("netlist --spice-breakpoints all -o %s",
                                     tu_tmp_path("deck.cir")), 0);
    ck_assert_int_eq(fg_file_read(out, &deck, NULL), FG_OK);
    ck_assert_ptr_nonnull(strstr(deck, "\nVWL3 wld3 0 PULSE("));
    ck_assert_ptr_null(strstr(deck, "\nBWL3 "));
    free(deck);
    unlink(out);
}
END_TEST

START_TEST(test_external_check)
{
    ck_assert_int_eq(nl_array_netlist_check(FG_FIXTURES "/layout_ext_array.cir"), FG_OK);
    char *text;
    ck_assert_int_eq(fg_file_read(FG_FIXTURES "/layout_ext_array.cir", &text, NULL), FG_OK);
    char *v = strstr(text, "VFG_7_9 ");
    ck_assert_ptr_nonnull(v);
    v[0] = 'X';
    char *path = tu_write_tmp(text, ".cir");
    ck_assert_int_eq(nl_array_netlist_check(path), FG_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "VFG_7_9"));
    unlink(path);
    free(path);
    char *w = strstr(text, " wl12 ");
    ck_assert_ptr_nonnull(w);
    memcpy(w, " wlXX ", 6);
    v[0] = 'V';
    path = tu_write_tmp(text, ".cir");
    ck_assert_int_eq(nl_array_netlist_check(path), FG_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "no port wl12"));
    unlink(path);
    free(path);
    free(text);
}
END_TEST

static char *deck_drive(const char *layout, const double *x, double step_scale,
                        nl_wl_drive drive, nl_layout **keep)
{
    nl_layout *l;
    ck_assert_int_eq(nl_layout_load(layout, &l), FG_OK);
    fg_op_point op = nl_layout_op_point(l);
    double w[FG_CELLS], dvt[FG_CELLS];
    fg_rng r;
    fg_rng_seed(&r, 5);
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = fg_rng_uniform(&r);
    ck_assert_int_eq(cosim_weights_to_dvt(&op, w, 0.0, 1, dvt), FG_OK);
    nl_deck_spec spec = {.layout = l, .op = op, .dvt = dvt, .x = x,
                         .max_step_scale = step_scale, .wl_drive = drive};
    char *deck;
    ck_assert_int_eq(nl_deck_build(&spec, &deck), FG_OK);
    *keep = l;
    return deck;
}

static char *deck_for(const char *layout, const double *x, double step_scale,
                      nl_layout **keep)
{
    return deck_drive(layout, x, step_scale, NL_WL_FALL_BREAKS, keep);
}

/* The deck of one layout (or the external fixture) with weights w. */
static void run_deck(const char *layout, const char *ext, const double *w,
                     const double *x, double *v /*(16)*/, fg_op_point *op_out)
{
    nl_layout *l;
    ck_assert_int_eq(nl_layout_load(layout, &l), FG_OK);
    fg_op_point op = nl_layout_op_point(l);
    double dvt[FG_CELLS];
    ck_assert_int_eq(cosim_weights_to_dvt(&op, w, 0.0, 1, dvt), FG_OK);
    nl_deck_spec spec = {.layout = l, .array_netlist = ext, .op = op, .dvt = dvt,
                         .x = x, .max_step_scale = 1.0};
    char *deck;
    ck_assert_msg(nl_deck_build(&spec, &deck) == FG_OK, "%s", fg_errmsg());
    tu_ngspice_program(deck, v);
    free(deck);
    nl_layout_free(l);
    *op_out = op;
}

/* Precharge of the whole bit line: all inputs zero leave V_BL at V_pre
 * (the pitfall of an un-initialised wire would show as a ~50 mV drop). */
START_TEST(test_deck_zero_inputs)
{
    const char *const *names = nl_builtin_layouts();
    const char *layout = names[_i] ? names[_i] : "regular";
    const char *ext = names[_i] ? NULL : FG_FIXTURES "/layout_ext_array.cir";
    double w[FG_CELLS], x[FG_ROWS] = {0}, v[FG_COLS];
    fg_rng r;
    fg_rng_seed(&r, 3);
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = fg_rng_uniform(&r);
    fg_op_point op;
    run_deck(layout, ext, w, x, v, &op);
    for (int j = 0; j < FG_COLS; j++)
        ck_assert_msg(fabs(op.v_pre - v[j]) < 0.3e-3, "%s col %d: V_pre - V_bl = %.3f mV",
                      ext ? ext : layout, j, 1e3 * (op.v_pre - v[j]));
}
END_TEST

/* Row 5 fully on, only cell (5,9) programmed (weight 1): column 9 swings
 * by about I_unit T_max / C_BL = 25 mV (less by DIBL as it discharges),
 * the others stay at V_pre. Also through the external fixture. */
START_TEST(test_deck_one_row)
{
    const char *ext = _i ? FG_FIXTURES "/layout_ext_array.cir" : NULL;
    double w[FG_CELLS] = {0}, x[FG_ROWS] = {0}, v[FG_COLS];
    w[5 * FG_COLS + 9] = 1.0;
    x[5] = 1.0;
    fg_op_point op;
    run_deck("regular", ext, w, x, v, &op);
    double ideal = op.i_unit * op.t_max / op.c_bl, swing = op.v_pre - v[9];
    ck_assert_msg(swing > 0.7 * ideal && swing < 1.1 * ideal, "swing %.2f mV, ideal %.2f mV",
                  1e3 * swing, 1e3 * ideal);
    for (int j = 0; j < FG_COLS; j++)
        if (j != 9)
            ck_assert_msg(fabs(op.v_pre - v[j]) < 0.5e-3, "idle col %d: %.3f mV", j,
                          1e3 * (op.v_pre - v[j]));
}
END_TEST

/* Regression: a random pattern whose last time point rounded below the
 * stop time made every `.meas ... AT=t_read` fail in ngspice 39. */
START_TEST(test_deck_meas_at_stop)
{
    static const double x[FG_ROWS] = {0.9560, 0.9478, 0.0566, 0.0849, 0.8355, 0.7360,
                                      0.6697, 0.3081, 0.6059, 0.6068, 0.5812, 0.1584,
                                      0.4307, 0.3935, 0.7230, 0.9948};
    double w[FG_CELLS], v[FG_COLS];
    fg_rng r;
    fg_rng_seed(&r, 2);
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = fg_rng_uniform(&r);
    fg_op_point op;
    run_deck("regular", NULL, w, x, v, &op); /* fails unless all 16 print */
    for (int j = 0; j < FG_COLS; j++)
        ck_assert(v[j] > 0.3 && v[j] < op.v_pre);
}
END_TEST

/* Speed must not cost accuracy: within 1 mV of a 10x smaller max step. */
START_TEST(test_deck_step_accuracy)
{
    double x[FG_ROWS], v1[FG_COLS], v2[FG_COLS];
    fg_rng r;
    fg_rng_seed(&r, 9 + (uint64_t)_i);
    for (int i = 0; i < FG_ROWS; i++)
        x[i] = fg_rng_uniform(&r);
    nl_layout *l;
    char *d1 = deck_for("regular", x, 1.0, &l), *d2;
    nl_layout_free(l);
    d2 = deck_for("regular", x, 0.1, &l);
    nl_layout_free(l);
    ck_assert_ptr_nonnull(strstr(d1, "VFG_3_4 wl3 g3_4 DC "));
    ck_assert_ptr_nonnull(strstr(d1, ".meas tran vbl15 FIND v(bl15) AT="));
    tu_ngspice_program(d1, v1);
    tu_ngspice_program(d2, v2);
    for (int j = 0; j < FG_COLS; j++)
        ck_assert_msg(fabs(v1[j] - v2[j]) < 1e-3, "col %d: %.6f vs %.6f", j, v1[j], v2[j]);
    free(d1);
    free(d2);
}
END_TEST

/* A pulse narrower than its edges is a short pulse, not a word line left on
 * until the read (ngspice reads a PULSE width of 0 as TSTOP). */
START_TEST(test_deck_narrow_pulse)
{
    double x[FG_ROWS] = {0}, v[FG_COLS];
    x[2] = 0.0028; /* 0.28 ns */
    nl_layout *l;
    char *d = deck_for("regular", x, 1.0, &l);
    fg_op_point op = nl_layout_op_point(l);
    nl_layout_free(l);
    tu_ngspice_program(d, v);
    free(d);
    for (int j = 0; j < FG_COLS; j++) /* at most 0.0028 * 25 mV, not ~10 mV */
        ck_assert_msg(op.v_pre - v[j] < 2e-4, "col %d dropped %.3f mV", j,
                      1e3 * (op.v_pre - v[j]));
    double p[7];
    for (double xx = 0.001; xx < 0.02; xx += 0.001) {
        nl_pulse_params(&op, xx, p);
        ck_assert(p[5] > 0);
        ck_assert_double_eq_tol(p[5] + p[3], xx * op.t_max, 1e-15);
    }
}
END_TEST

/* Word-line edges step the floating bit lines (all cells off, all rows on):
 * feeds beside the edge columns add to it there, and only there. */
static void mid_pulse_step(const char *layout, double *step /*(16)*/)
{
    double x[FG_ROWS];
    for (int i = 0; i < FG_ROWS; i++)
        x[i] = 1.0;
    nl_layout *l;
    ck_assert_int_eq(nl_layout_load(layout, &l), FG_OK);
    fg_op_point op = nl_layout_op_point(l);
    double dvt[FG_CELLS];
    for (int k = 0; k < FG_CELLS; k++)
        dvt[k] = COSIM_DVT_OFF;
    nl_deck_spec spec = {.layout = l, .op = op, .dvt = dvt, .x = x, .max_step_scale = 1};
    char *deck;
    ck_assert_int_eq(nl_deck_build(&spec, &deck), FG_OK);
    ck_assert_int_eq(cosim_engine_init(), FG_OK);
    for (int j = 0; j < FG_COLS; j++) {
        char name[8];
        double *v, *t;
        int n, m;
        snprintf(name, sizeof name, "bl%d", j);
        ck_assert_int_eq(cosim_engine_load(deck), FG_OK);
        ck_assert_int_eq(cosim_engine_run_vector(name, &v, &n), FG_OK);
        ck_assert_int_eq(cosim_engine_load(deck), FG_OK);
        ck_assert_int_eq(cosim_engine_run_vector("time", &t, &m), FG_OK);
        ck_assert_int_eq(n, m);
        int q = 0;
        while (q < n - 1 && t[q] < 50e-9)
            q++;
        step[j] = v[q] - op.v_pre;
        free(v);
        free(t);
    }
    free(deck);
    nl_layout_free(l);
}

/* N of the line "<label> = N" that `ngspice -b` prints on deck (with
 * .options acct added); -1 when absent. */
static long ngspice_acct(const char *deck, const char *label)
{
    const char *at = strstr(deck, "\n.temp ");
    ck_assert_ptr_nonnull(at);
    size_t head = (size_t)(at - deck) + 1, n = strlen(deck) + 32;
    char *d = malloc(n), line[512];
    ck_assert_ptr_nonnull(d);
    snprintf(d, n, "%.*s.options acct\n%s", (int)head, deck, deck + head);
    char *path = tu_write_tmp(d, ".cir"), cmd[512];
    free(d);
    snprintf(cmd, sizeof cmd, "HOME=/tmp LC_ALL=C ngspice -b %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    long v = -1;
    while (fgets(line, sizeof line, p))
        if (!strncmp(line, label, strlen(label)) &&
            !strncmp(line + strlen(label), " = ", 3))
            v = strtol(line + strlen(label) + 3, NULL, 10);
    pclose(p);
    unlink(path);
    free(path);
    return v;
}

/* The run statistics of the engine are ngspice's: time points = the length
 * of the run's time vector = `ngspice -b`'s accepted time points, and the
 * Newton iterations of one run = `ngspice -b`'s transient iterations on the
 * same deck; both the same when the run is repeated. */
START_TEST(test_engine_run_stats)
{
    double x[FG_ROWS], v[FG_COLS], *t;
    fg_rng r;
    fg_rng_seed(&r, 21);
    for (int i = 0; i < FG_ROWS; i++)
        x[i] = fg_rng_uniform(&r);
    nl_layout *l;
    char *deck = deck_for("regular", x, 1.0, &l);
    nl_layout_free(l);
    long it0, it1, it2;
    int n;
    ck_assert_int_eq(cosim_engine_init(), FG_OK);
    ck_assert_int_eq(cosim_engine_load(deck), FG_OK);
    ck_assert_int_eq(cosim_engine_tran_iterations(&it0), FG_OK);
    ck_assert_int_eq(cosim_engine_run(v), FG_OK);
    int p1 = cosim_engine_points();
    ck_assert_int_eq(cosim_engine_tran_iterations(&it1), FG_OK);
    ck_assert_int_eq(cosim_engine_run(v), FG_OK);
    ck_assert_int_eq(cosim_engine_tran_iterations(&it2), FG_OK);
    ck_assert_int_eq(cosim_engine_points(), p1);
    ck_assert_int_eq(it2 - it1, it1 - it0);
    ck_assert_int_eq(cosim_engine_run_vector("time", &t, &n), FG_OK);
    free(t);
    ck_assert_int_eq(n, p1);
    ck_assert_int_eq(p1, ngspice_acct(deck, "Accepted timepoints"));
    ck_assert_int_eq(it1 - it0, ngspice_acct(deck, "Transient iterations"));
    ck_assert_msg(p1 > 100 && it1 - it0 > p1, "%d points, %ld iterations", p1,
                  it1 - it0);
    free(deck);
}
END_TEST

/* The default word-line drive (breakpoints at the rises and fall starts
 * only) against PULSE sources with a breakpoint at every corner and a 10x
 * smaller max step, on dense random patterns and narrow pulses: within
 * 0.1 mV (issue 14's accuracy), with at least a quarter fewer time points
 * than PULSE sources at the same step. */
START_TEST(test_deck_wl_drives)
{
    double x[FG_ROWS], vf[FG_COLS], vp[FG_COLS];
    fg_rng r;
    fg_rng_seed(&r, 40 + (uint64_t)_i);
    for (int i = 0; i < FG_ROWS; i++)
        x[i] = _i < 2 ? fg_rng_uniform(&r) : 0.02 * fg_rng_uniform(&r) * (i % 3 != 0);
    nl_layout *l;
    char *df = deck_drive(_i == 1 ? "coupled" : "regular", x, 1.0, NL_WL_FALL_BREAKS, &l);
    nl_layout_free(l);
    char *dp = deck_drive(_i == 1 ? "coupled" : "regular", x, 0.1, NL_WL_PULSE, &l);
    nl_layout_free(l);
    char *dp1 = deck_drive(_i == 1 ? "coupled" : "regular", x, 1.0, NL_WL_PULSE, &l);
    nl_layout_free(l);
    tu_ngspice_program(df, vf);
    tu_ngspice_program(dp, vp);
    for (int j = 0; j < FG_COLS; j++)
        ck_assert_msg(fabs(vf[j] - vp[j]) < 1e-4, "pattern %d col %d: %.4f mV off", _i, j,
                      1e3 * (vf[j] - vp[j]));
    long nf = ngspice_acct(df, "Accepted timepoints"),
         np = ngspice_acct(dp1, "Accepted timepoints");
    if (_i < 2)
        ck_assert_msg(nf < 0.75 * np, "%ld points against %ld with PULSE sources", nf, np);
    free(df);
    free(dp);
    free(dp1);
}
END_TEST

/* Auto: fall breaks where the word lines are fast, PULSE on `dense` (5 kOhm
 * drivers) and on an external array netlist; an explicit drive stays. */
START_TEST(test_deck_wl_auto)
{
    static const char *const fast[] = {"regular", "edge-feed", "shielded", "low-cap",
                                       "coupled"};
    for (size_t k = 0; k <= sizeof fast / sizeof fast[0]; k++) {
        nl_layout *l;
        const char *name = k < sizeof fast / sizeof fast[0] ? fast[k] : "dense";
        ck_assert_int_eq(nl_layout_load(name, &l), FG_OK);
        nl_deck_spec s = {.layout = l, .op = nl_layout_op_point(l)};
        ck_assert_msg(nl_deck_wl_drive(&s) == (strcmp(name, "dense") ? NL_WL_FALL_BREAKS
                                                                    : NL_WL_PULSE),
                      "%s", name);
        s.wl_drive = NL_WL_FALL_BREAKS;
        ck_assert_int_eq(nl_deck_wl_drive(&s), NL_WL_FALL_BREAKS);
        s.wl_drive = NL_WL_AUTO;
        s.array_netlist = FG_FIXTURES "/layout_ext_array.cir";
        ck_assert_int_eq(nl_deck_wl_drive(&s), NL_WL_PULSE);
        nl_layout_free(l);
    }
}
END_TEST

START_TEST(test_crosstalk_layouts)
{
    double reg[FG_COLS], ef[FG_COLS], dense[FG_COLS];
    mid_pulse_step("regular", reg);
    mid_pulse_step("edge-feed", ef);
    mid_pulse_step("dense", dense);
    ck_assert_msg(reg[0] > 2e-3, "16 rows step the bit line by %.2f mV", 1e3 * reg[0]);
    ck_assert(fabs(reg[0] - reg[15]) < 1e-4 && fabs(reg[7] - ef[7]) < 1e-4);
    ck_assert_msg(ef[15] - reg[15] > 1e-3, "edge feed adds %.2f mV", 1e3 * (ef[15] - reg[15]));
    ck_assert(ef[0] - reg[0] > 2e-4 && dense[15] > ef[15]);
}
END_TEST

/* The verify deck: the VMM deck's array, line for line (generated layout
 * and external netlist), DC drivers with only the read row at V_read, the
 * bit lines held at V_pre through ammeters, .op; the corner's .temp and
 * rails apply, its drift does not. */
static void verify_deck_vs_vmm(const char *layout, const char *ext)
{
    nl_layout *l;
    ck_assert_int_eq(nl_layout_load(layout, &l), FG_OK);
    double dvt[FG_CELLS], x[FG_ROWS];
    for (int k = 0; k < FG_CELLS; k++)
        dvt[k] = 0.01 * (k % 23);
    for (int i = 0; i < FG_ROWS; i++)
        x[i] = 0.5;
    fg_corner c = fg_corner_nominal();
    c.temp_c = 80;
    c.supply = 0.9;
    c.drift_s = 3.15e8;
    nl_deck_spec spec = {.layout = l, .array_netlist = ext, .op = nl_layout_op_point(l),
                         .corner = &c, .dvt = dvt, .x = x, .max_step_scale = 1.0};
    char *vmm, *ver;
    c.drift_s = 0; /* the VMM deck without drift holds the same VFG values */
    ck_assert_int_eq(nl_deck_build(&spec, &vmm), FG_OK);
    c.drift_s = 3.15e8;
    spec.verify = 1;
    spec.verify_row = 3;
    spec.x = NULL;
    ck_assert_msg(nl_deck_build(&spec, &ver) == FG_OK, "%s", fg_errmsg());
    int same = 0;
    for (char *line = vmm, *next; *line; line = next + 1) {
        next = strchr(line, '\n');
        ck_assert_ptr_nonnull(next);
        if (line[0] == 'M' || !strncmp(line, "VFG_", 4) || !strncmp(line, "RDRV", 4) ||
            !strncmp(line, "RSL", 3) || !strncmp(line, "RBL", 3) ||
            !strncmp(line, "RWL", 3) || !strncmp(line, "Rw", 2)) {
            *next = '\0';
            ck_assert_msg(strstr(ver, line), "verify deck lacks '%s'", line);
            *next = '\n';
            same++;
        }
    }
    ck_assert_int_ge(same, 2 * FG_CELLS + FG_ROWS);
    ck_assert_ptr_nonnull(strstr(ver, "\nVWL3 wld3 0 DC 0.495\n"));
    ck_assert_ptr_nonnull(strstr(ver, "\nVWL4 wld4 0 DC 0\n"));
    ck_assert_ptr_nonnull(strstr(ver, "\nVPRE vpre 0 DC 0.72\n"));
    ck_assert_ptr_nonnull(strstr(ver, "\nVAM15 vpre bl15 DC 0\n"));
    ck_assert_ptr_nonnull(strstr(ver, "\n.temp 80\n"));
    ck_assert_ptr_nonnull(strstr(ver, "\n.op\n.end\n"));
    ck_assert(strstr(vmm, "\n.tran") && !strstr(ver, "\n.tran"));
    ck_assert(strstr(vmm, "\nSPRE0") && !strstr(ver, "\nSPRE"));
    spec.verify_row = FG_ROWS;
    ck_assert_int_eq(nl_deck_build(&spec, &ver), FG_ERR_RANGE);
    free(vmm);
    free(ver);
    nl_layout_free(l);
}

START_TEST(test_deck_verify)
{
    verify_deck_vs_vmm("edge-feed", NULL);
    verify_deck_vs_vmm("regular", FG_FIXTURES "/layout_ext_array.cir");
}
END_TEST

Suite *netlists_suite(void)
{
    Suite *s = suite_create("netlists");
    TCase *tc = tcase_create("netlists:extract");
    tcase_add_test(tc, test_extract_formulas);
    tcase_add_test(tc, test_extract_layouts);
    tcase_add_test(tc, test_layout_builtins);
    tcase_add_test(tc, test_pulse_params);
    suite_add_tcase(s, tc);
    tc = tcase_create("netlists:layout");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_layout_errors);
    tcase_add_test(tc, test_layout_cli_errors);
    tcase_add_test(tc, test_external_check);
    suite_add_tcase(s, tc);
    tc = tcase_create("netlists:deck");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_deck_step_accuracy, 0, 3);
    tcase_add_loop_test(tc, test_deck_wl_drives, 0, 3);
    tcase_add_test(tc, test_deck_wl_auto);
    /* every built-in layout, then (index = count) the external fixture */
    int nb = 0;
    while (nl_builtin_layouts()[nb])
        nb++;
    tcase_add_loop_test(tc, test_deck_zero_inputs, 0, nb + 1);
    tcase_add_loop_test(tc, test_deck_one_row, 0, 2);
    tcase_add_test(tc, test_deck_meas_at_stop);
    tcase_add_test(tc, test_crosstalk_layouts);
    tcase_add_test(tc, test_engine_run_stats);
    tcase_add_test(tc, test_deck_narrow_pulse);
    tcase_add_test(tc, test_deck_verify);
    suite_add_tcase(s, tc);
    return s;
}
