/* Tests of model_fit/: compact model gradients vs finite differences, the
 * ideal limit, the JSON model file, the hwa backend, extraction and the LM
 * fit on synthetic data with known parameters. */
#include "suites.h"
#include "testutil.h"
#include "model_fit.h"
#include <cjson/cJSON.h>
#include "mf_internal.h" /* the two builds of the float32 kernel */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define B_GRAD 9

/* A model with every physics term switched on at a realistic size. */
static void random_model(fit_model *m, fg_rng *r)
{
    fg_op_point op = fg_op_point_default();
    fit_model_init(m, &op);
    m->p.lambda = 0.9;
    for (int i = 0; i < FG_ROWS; i++) {
        m->p.t_edge[i] = 1e-10 * (3 + 3 * fg_rng_uniform(r));
        m->p.kappa_row[i] = i ? 1e-3 * (0.5 + fg_rng_uniform(r)) : 0;
        m->p.q_row[i] = i ? 2e-15 * (fg_rng_uniform(r) - 0.3) : 0;
    }
    for (int j = 0; j < FG_COLS; j++) {
        m->p.kappa_col[j] = 1e-3 * fg_rng_uniform(r);
        m->p.q_col[j] = 1e-15 * (fg_rng_uniform(r) - 0.5);
        m->p.v_off[j] = 2e-3 * (fg_rng_uniform(r) - 0.5);
    }
    m->p.kappa_edge[0] = 2e-3;
    m->p.kappa_edge[1] = 1e-3;
    for (int p = 0; p < FIT_NBETA; p++)
        m->p.beta[p] = 0.02 + 0.01 * fg_rng_uniform(r);
    for (int p = 0; p < FIT_NBETA2; p++)
        m->p.beta2[p] = 0.004 + 0.004 * fg_rng_uniform(r);
    for (int n = 0; n < FG_CELLS; n++)
        m->w[n] = 0.05 + fg_rng_uniform(r);
}

/* Vectors with ties, zeros, full width and random widths. */
static void grad_inputs(double *x /*(B_GRAD,16)*/, fg_rng *r)
{
    for (int b = 0; b < B_GRAD; b++)
        for (int i = 0; i < FG_ROWS; i++) {
            double v = 0.05 + 0.9 * fg_rng_uniform(r);
            switch (b) {
            case 1: v = (i % 3 == 0) ? 0 : v; break;        /* zeros       */
            case 2: v = 0.6; break;                          /* all tied    */
            case 3: v = (i < 4) ? 0 : (i < 9 ? 0.3 : (i < 12 ? 0.7 : v)); break;
            case 4: v = 0; break;                            /* all zero    */
            case 5: v = (i == 3); break;                     /* one-hot     */
            case 6: v = (i % 2) ? 1.0 : v; break;            /* ties at 1   */
            case 7: v = (i % 4 == 1) ? 0.45 : 0; break;      /* tie + zeros */
            default: break;
            }
            x[b * FG_ROWS + i] = v;
        }
}

/* loss = sum dy * y */
static double loss(const double *x, const double *w, const fit_model *m,
                   const double *dy, int B)
{
    double y[B_GRAD * FG_COLS], s = 0;
    ck_assert_int_eq(fit_model_forward(y, x, w, m, B), FG_OK);
    for (int k = 0; k < B * FG_COLS; k++)
        s += dy[k] * y[k];
    return s;
}

static double worst = 0; /* largest relative error seen (printed) */

static void check_close(double an, double fd, double floor, const char *what, int k)
{
    double err = fabs(an - fd) / (fabs(fd) + floor);
    if (err > worst)
        worst = err;
    ck_assert_msg(err < 1e-4, "%s[%d]: analytic %.10g vs FD %.10g (rel %.2e)",
                  what, k, an, fd, err);
}

typedef struct {
    fit_model m;
    double x[B_GRAD * FG_ROWS], dy[B_GRAD * FG_COLS];
} grad_case;

static void grad_case_init(grad_case *c, uint64_t seed)
{
    fg_rng r;
    fg_rng_seed(&r, seed);
    random_model(&c->m, &r);
    grad_inputs(c->x, &r);
    for (int k = 0; k < B_GRAD * FG_COLS; k++)
        c->dy[k] = fg_rng_normal(&r);
}

START_TEST(test_grad_w_params)
{
    grad_case c;
    grad_case_init(&c, 11 + _i);
    double dw[FG_CELLS] = {0};
    fit_params dp;
    memset(&dp, 0, sizeof dp);
    ck_assert_int_eq(fit_model_backward(NULL, dw, &dp, c.dy, c.x, c.m.w, &c.m, B_GRAD), FG_OK);
    double w[FG_CELLS];
    memcpy(w, c.m.w, sizeof w);
    for (int n = 0; n < FG_CELLS; n++) {
        const double h = 1e-5, w0 = w[n];
        w[n] = w0 + h;
        double lp = loss(c.x, w, &c.m, c.dy, B_GRAD);
        w[n] = w0 - h;
        double lm = loss(c.x, w, &c.m, c.dy, B_GRAD);
        w[n] = w0;
        check_close(dw[n], (lp - lm) / (2 * h), 1e-6, "dw", n);
    }
    double v[FIT_NPHYS], an[FIT_NPHYS];
    fit_params_to_vec(&dp, an);
    int n = 0;
    for (int f = 0; f < FIT_NFIELDS; f++)
        for (int k = 0; k < fit_param_fields[f].count; k++, n++) {
            fit_model mm = c.m;
            const double h = 1e-4 * fit_param_fields[f].scale;
            fit_params_to_vec(&mm.p, v);
            double v0 = v[n];
            v[n] = v0 + h;
            fit_params_from_vec(&mm.p, v);
            double lp = loss(c.x, c.m.w, &mm, c.dy, B_GRAD);
            v[n] = v0 - h;
            fit_params_from_vec(&mm.p, v);
            double lm = loss(c.x, c.m.w, &mm, c.dy, B_GRAD);
            /* floor: 1e-6 of the loss change per unit of typical scale */
            check_close(an[n], (lp - lm) / (2 * h), 1e-6 / fit_param_fields[f].scale,
                        fit_param_fields[f].name, k);
        }
}
END_TEST

/* Side of the FD: central where smooth; right-sided (second order) at zero
 * inputs and ties, matching the documented right derivative. */
static int needs_right_side(const double *xb, int i)
{
    if (xb[i] == 0)
        return 1;
    for (int k = 0; k < FG_ROWS; k++)
        if (k != i && xb[k] == xb[i])
            return 1;
    return 0;
}

START_TEST(test_grad_x)
{
    grad_case c;
    grad_case_init(&c, 101 + _i);
    double dx[B_GRAD * FG_ROWS] = {0};
    ck_assert_int_eq(fit_model_backward(dx, NULL, NULL, c.dy, c.x, c.m.w, &c.m, B_GRAD), FG_OK);
    for (int b = 0; b < B_GRAD; b++)
        for (int i = 0; i < FG_ROWS; i++) {
            double *xb = c.x + b * FG_ROWS, x0 = xb[i], fd;
            const double h = 1e-6;
            const double *dyb = c.dy + b * FG_COLS;
            if (needs_right_side(xb, i)) {
                double f0 = loss(xb, c.m.w, &c.m, dyb, 1);
                xb[i] = x0 + h;
                double f1 = loss(xb, c.m.w, &c.m, dyb, 1);
                xb[i] = x0 + 2 * h;
                double f2 = loss(xb, c.m.w, &c.m, dyb, 1);
                fd = (-3 * f0 + 4 * f1 - f2) / (2 * h);
            } else {
                xb[i] = x0 + h;
                double lp = loss(xb, c.m.w, &c.m, dyb, 1);
                xb[i] = x0 - h;
                double lm = loss(xb, c.m.w, &c.m, dyb, 1);
                fd = (lp - lm) / (2 * h);
            }
            xb[i] = x0;
            check_close(dx[b * FG_ROWS + i], fd, 1e-5, "dx", b * FG_ROWS + i);
        }
    fprintf(stderr, "model_fit:grad worst relative error so far %.2e\n", worst);
}
END_TEST

/* The SER metrics against hand-computed values: two patterns whose errors
 * are common to both columns of each pair (the pairs' SER is infinite),
 * then one error on one column. */
START_TEST(test_ser_metrics)
{
    double y[2 * FG_COLS], yh[2 * FG_COLS];
    for (int n = 0; n < 2 * FG_COLS; n++) {
        y[n] = n % 2 ? 1.0 : 3.0; /* pairs (3, 1): d = 2 */
        yh[n] = y[n] + 0.5;       /* common error 0.5 */
    }
    /* sum y^2 = 16 * (9 + 1) = 160, sum e^2 = 32 * 0.25 = 8 */
    ck_assert_double_eq_tol(fit_ser_db(y, yh, 2 * FG_COLS), 10 * log10(20.0), 1e-12);
    ck_assert_double_eq_tol(fit_ser_col_db(y, yh, 2, 0), 10 * log10(36.0), 1e-12);
    ck_assert(isinf(fit_ser_pairs_db(y, yh, 2)));
    yh[FG_COLS + 5] += 0.1; /* pattern 1, pair 2's w- column */
    /* pairs: sum d^2 = 16 * 4 = 64, one error 0.1 */
    ck_assert_double_eq_tol(fit_ser_pairs_db(y, yh, 2), 10 * log10(64 / 0.01), 1e-9);
    ck_assert(fit_rel_rms(y, y, 2 * FG_COLS) == 0);
}
END_TEST

/* The temperature model: three nodes whose lambda, exponent and T_max trim
 * are quadratics in T (the gains exponentials of one): the Lagrange
 * interpolation reproduces them anywhere in range, exactly at the nodes;
 * out of range, mismatched nodes and a file round trip. */
static double quad(double T) { return 0.9 + 2e-3 * (T - 27) + 1e-5 * (T - 27) * (T - 27); }

START_TEST(test_tmodel)
{
    fg_rng r;
    fg_rng_seed(&r, 11);
    fit_model base, nodes[3], m;
    random_model(&base, &r);
    const double temps[3] = {80, -20, 27}; /* unsorted on purpose */
    for (int k = 0; k < 3; k++) {
        double T = temps[k];
        nodes[k] = base;
        nodes[k].corner.temp_c = T;
        nodes[k].p.lambda = quad(T);
        nodes[k].w_exp = 1 - 3e-3 * (T - 27);
        nodes[k].corner.t_max_trim = exp(-0.02 * (T - 27) + 1e-4 * (T - 27) * (T - 27));
        for (int j = 0; j < FG_COLS; j++)
            nodes[k].w_gain[j] = (0.8 + 0.01 * j) * exp(-0.01 * (T - 27));
    }
    fit_tmodel t;
    ck_assert_int_eq(fit_tmodel_init(&t, nodes, 3), FG_OK);
    ck_assert(t.node[0].corner.temp_c == -20 && t.node[2].corner.temp_c == 80);
    const double at[] = {-20, -3.5, 27, 50, 80};
    for (size_t q = 0; q < sizeof at / sizeof at[0]; q++) {
        double T = at[q];
        ck_assert_int_eq(fit_tmodel_at(&t, T, &m), FG_OK);
        ck_assert(m.corner.temp_c == T);
        ck_assert_double_eq_tol(m.p.lambda, quad(T), 1e-12);
        ck_assert_double_eq_tol(m.w_exp, 1 - 3e-3 * (T - 27), 1e-12);
        ck_assert_double_eq_tol(m.corner.t_max_trim,
                                exp(-0.02 * (T - 27) + 1e-4 * (T - 27) * (T - 27)), 1e-12);
        ck_assert_double_eq_tol(m.w_gain[5], 0.85 * exp(-0.01 * (T - 27)), 1e-12);
        ck_assert_double_eq_tol(m.p.beta2[3], base.p.beta2[3], 1e-15);
    }
    ck_assert_int_eq(fit_tmodel_at(&t, 80.5, &m), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "-20..80"));
    /* a file round trip gives the same model at 50 C */
    fit_model m2;
    const char *path = tu_tmp_path("tmodel.json");
    fit_tmodel t2;
    ck_assert_int_eq(fit_tmodel_save(&t, path), FG_OK);
    ck_assert_int_eq(fit_tmodel_load(&t2, path), FG_OK);
    ck_assert_int_eq(fit_tmodel_at(&t, 50, &m), FG_OK);
    ck_assert_int_eq(fit_tmodel_at(&t2, 50, &m2), FG_OK);
    ck_assert_double_eq_tol(m2.p.lambda, m.p.lambda, 1e-15);
    ck_assert_double_eq_tol(m2.corner.t_max_trim, m.corner.t_max_trim, 1e-15);
    /* read as a plain model: an error that says what to do */
    ck_assert_int_eq(fit_model_load(&m2, path), FG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "tmodel --at"));
    unlink(path);
    /* nodes of another array, another supply, or too close */
    nodes[1].op.c_bl *= 2;
    ck_assert_int_eq(fit_tmodel_init(&t, nodes, 3), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "operating point"));
    nodes[1].op.c_bl /= 2;
    nodes[1].corner.supply = 0.9;
    ck_assert_int_eq(fit_tmodel_init(&t, nodes, 3), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "supply"));
    nodes[1].corner.supply = 1.0;
    nodes[1].corner.temp_c = 27.5;
    ck_assert_int_eq(fit_tmodel_init(&t, nodes, 3), FG_ERR_RANGE);
    ck_assert_int_eq(fit_tmodel_init(&t, nodes, 1), FG_ERR_RANGE);
    /* two nodes: a line */
    nodes[1].corner.temp_c = -20;
    ck_assert_int_eq(fit_tmodel_init(&t, nodes, 2), FG_OK);
    ck_assert_int_eq(fit_tmodel_at(&t, 30, &m), FG_OK);
    ck_assert_double_eq_tol(m.p.lambda, quad(-20) + (quad(80) - quad(-20)) * 0.5, 1e-12);
}
END_TEST

START_TEST(test_ideal_limit)
{
    /* All physics off: the model is the ideal VMM, and one-hot rows read w. */
    fg_rng r;
    fg_rng_seed(&r, 5);
    fit_model m;
    fg_op_point op = fg_op_point_default();
    fit_model_init(&m, &op);
    double x[4 * FG_ROWS], y[4 * FG_COLS], yi[4 * FG_COLS];
    for (int n = 0; n < FG_CELLS; n++)
        m.w[n] = fg_rng_uniform(&r);
    for (int k = 0; k < 4 * FG_ROWS; k++)
        x[k] = fg_rng_uniform(&r);
    x[5] = x[6] = 0;
    ck_assert_int_eq(fit_model_forward(y, x, m.w, &m, 4), FG_OK);
    fit_ideal_vmm(yi, x, m.w, 4);
    for (int k = 0; k < 4 * FG_COLS; k++)
        ck_assert_double_eq_tol(y[k], yi[k], 1e-12);
    /* lambda > 0 makes the output sublinear */
    m.p.lambda = 0.9;
    double y2[4 * FG_COLS];
    fit_model_forward(y2, x, m.w, &m, 4);
    for (int k = 0; k < 4 * FG_COLS; k++)
        ck_assert(y2[k] < yi[k]);
    /* all inputs zero: output zero (kappa steps cancel, no residual) */
    m.p.kappa_col[3] = 1e-3;
    m.p.q_col[2] = 1e-15;
    memset(x, 0, sizeof x);
    fit_model_forward(y, x, m.w, &m, 1);
    for (int j = 0; j < FG_COLS; j++)
        ck_assert_double_eq_tol(y[j], 0, 1e-14);
}
END_TEST

START_TEST(test_drain_law)
{
    /* One row on: the slot map must equal the ODE du/dt = w (1 - a u)^2,
     * integrated here with RK4, and t_edge shortens the pulse. */
    fit_model m;
    fg_op_point op = fg_op_point_default();
    fit_model_init(&m, &op);
    m.p.lambda = 0.9;
    m.p.t_edge[2] = 4e-10;
    for (int j = 0; j < FG_COLS; j++)
        m.w[2 * FG_COLS + j] = 0.25 + j;
    double x[FG_ROWS] = {0}, y[FG_COLS];
    x[2] = 0.7;
    ck_assert_int_eq(fit_model_forward(y, x, m.w, &m, 1), FG_OK);
    double a = m.p.lambda * op.i_unit * op.t_max / op.c_bl;
    double e = 0.7 - 4e-10 / op.t_max * -expm1(-0.7 / FIT_XR);
    for (int j = 0; j < FG_COLS; j++) {
        double w = m.w[2 * FG_COLS + j], u = 0, h = e / 4000;
        for (int n = 0; n < 4000; n++) {
#define F(v) (w * (1 - a * (v)) * (1 - a * (v)))
            double k1 = F(u), k2 = F(u + h / 2 * k1), k3 = F(u + h / 2 * k2),
                   k4 = F(u + h * k3);
#undef F
            u += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
        }
        ck_assert_double_eq_tol(y[j], u, 1e-10 * (1 + u));
        ck_assert(y[j] < w * e); /* sublinear */
    }
}
END_TEST

START_TEST(test_json_roundtrip)
{
    fg_rng r;
    fg_rng_seed(&r, 7);
    fit_model m, m2;
    random_model(&m, &r);
    char path[] = "/tmp/fgfit_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(fit_model_save(&m, path), FG_OK);
    ck_assert_int_eq(fit_model_load(&m2, path), FG_OK);
    ck_assert_mem_eq(&m.op, &m2.op, sizeof m.op);
    ck_assert_mem_eq(&m.p, &m2.p, sizeof m.p);
    for (int n = 0; n < FG_CELLS; n++)
        ck_assert_double_eq_tol(m.w[n], m2.w[n], 1e-15 * fabs(m.w[n]) + 1e-300);
    /* another version -> FG_ERR_FORMAT naming the version */
    char *s = fit_model_to_json(&m);
    char *v = strstr(s, "\"version\":\t4");
    ck_assert_ptr_nonnull(v);
    v[strlen("\"version\":\t")] = '1'; /* version 1: exponential drain law */
    ck_assert_int_eq(fit_model_from_json(s, "m.json", &m2), FG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "version 1"));
    v[strlen("\"version\":\t")] = '5';
    ck_assert_int_eq(fit_model_from_json(s, "m.json", &m2), FG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "version 5"));
    /* version 3 (nearest-neighbour coupling only): beta2 is not read, 0 */
    v[strlen("\"version\":\t")] = '3';
    ck_assert_int_eq(fit_model_from_json(s, "m.json", &m2), FG_OK);
    for (int p = 0; p < FIT_NBETA2; p++)
        ck_assert(m2.p.beta2[p] == 0 && m.p.beta2[p] > 0);
    ck_assert_mem_eq(m2.p.beta, m.p.beta, sizeof m.p.beta);
    /* version 4 needs it */
    v[strlen("\"version\":\t")] = '4';
    char *b2 = strstr(s, "\"beta2\"");
    ck_assert_ptr_nonnull(b2);
    memcpy(b2, "\"betaX\"", 7);
    ck_assert_int_eq(fit_model_from_json(s, "m.json", &m2), FG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "beta2"));
    memcpy(b2, "\"beta2\"", 7);
    ck_assert_int_eq(fit_model_from_json("{\"format\": \"x\"}", "m.json", &m2), FG_ERR_FORMAT);
    ck_assert_int_eq(fit_model_from_json("{", "m.json", &m2), FG_ERR_PARSE);
    /* a missing field is named */
    v = strstr(s, "\"lambda\"");
    memcpy(v, "\"lambdX\"", 8);
    ck_assert_int_eq(fit_model_from_json(s, "m.json", &m2), FG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "lambda"));
    free(s);
    unlink(path);
}
END_TEST

/* Found by fuzz_model (tests/fuzz): a cell current of 1e303 A over
 * I_unit = 2.5e-8 A loaded as w = inf, and a save of that model wrote
 * "inf", which no JSON reader (this one included) takes. */
START_TEST(test_json_cell_overflow)
{
    fg_rng r;
    fg_rng_seed(&r, 7);
    fit_model m, m2;
    random_model(&m, &r);
    m.op.i_unit = 2.5e-8;
    char *s = fit_model_to_json(&m);
    cJSON *root = cJSON_Parse(s);
    ck_assert_ptr_nonnull(root);
    free(s);
    cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root,
                                    "cell_currents"), "value"), 2);
    cJSON_ReplaceItemInArray(row, 7, cJSON_CreateNumber(1e303));
    s = cJSON_Print(root);
    ck_assert_int_eq(fit_model_from_json(s, "m.json", &m2), FG_ERR_RANGE);
    ck_assert_str_eq(fg_errmsg(), "m.json: model: cell (2,7) is not finite");
    free(s);
    /* a large but representable current still loads, and saves as JSON */
    cJSON_ReplaceItemInArray(row, 7, cJSON_CreateNumber(1e290));
    s = cJSON_Print(root);
    ck_assert_int_eq(fit_model_from_json(s, "m.json", &m2), FG_OK);
    ck_assert_double_eq_tol(m2.w[2 * FG_COLS + 7], 1e290 / 2.5e-8, 1e283);
    free(s);
    s = fit_model_to_json(&m2);
    ck_assert_int_eq(fit_model_from_json(s, "again.json", &m), FG_OK);
    free(s);
    /* a model whose w * I_unit overflows is not saved */
    m2.op.i_unit = 1e30;
    ck_assert_int_eq(fit_model_check(&m2), FG_ERR_RANGE);
    cJSON_Delete(root);
}
END_TEST

START_TEST(test_backend)
{
    fg_rng r;
    fg_rng_seed(&r, 9);
    fit_model m;
    random_model(&m, &r);
    fg_backend *be = fit_backend_hwa_new(&m);
    ck_assert_ptr_nonnull(be);
    ck_assert_str_eq(fg_backend_name(be), "hwa");
    ck_assert(fg_backend_can_backward(be));
    enum { B = 5 };
    float wf[FG_CELLS], xf[B * FG_ROWS], yf[B * FG_COLS], dyf[B * FG_COLS];
    float dxf[B * FG_ROWS], dwf[FG_CELLS];
    double w[FG_CELLS], x[B * FG_ROWS], y[B * FG_COLS], dy[B * FG_COLS];
    double dx[B * FG_ROWS] = {0}, dw[FG_CELLS] = {0};
    for (int n = 0; n < FG_CELLS; n++)
        w[n] = wf[n] = (float)fg_rng_uniform(&r);
    for (int k = 0; k < B * FG_ROWS; k++)
        x[k] = xf[k] = (float)fg_rng_uniform(&r);
    for (int k = 0; k < B * FG_COLS; k++)
        dy[k] = dyf[k] = (float)fg_rng_normal(&r);
    for (int k = 0; k < B * FG_ROWS; k++)
        dxf[k] = 1.0f; /* accumulates */
    for (int n = 0; n < FG_CELLS; n++)
        dwf[n] = 0.5f;
    ck_assert_int_eq(fg_backend_vmm(be, wf, xf, yf, B), FG_OK);
    ck_assert_int_eq(fg_backend_vmm_backward(be, wf, xf, dyf, dxf, dwf, B), FG_OK);
    fit_model_forward(y, x, w, &m, B);
    fit_model_backward(dx, dw, NULL, dy, x, w, &m, B);
    for (int k = 0; k < B * FG_COLS; k++)
        ck_assert_double_eq_tol(yf[k], y[k], 1e-5 * (1 + fabs(y[k])));
    for (int k = 0; k < B * FG_ROWS; k++)
        ck_assert_double_eq_tol(dxf[k], 1.0 + dx[k], 1e-4 * (1 + fabs(dx[k])));
    for (int n = 0; n < FG_CELLS; n++)
        ck_assert_double_eq_tol(dwf[n], 0.5 + dw[n], 1e-4 * (1 + fabs(dw[n])));
    ck_assert_int_eq(fg_backend_ops_count(be), B);
    fg_backend_free(be);
}
END_TEST

/* float32 path vs the double one on the gradient-test inputs (ties, zeros,
 * one-hot, full width), repeated to a batch that takes the OpenMP path;
 * _i = 1: lambda so large that the bit line reaches the pinch voltage in
 * some vectors (the clamp s = 0); _i = 2: word-line edges of 3 % of T_max,
 * with pulses so short that they end at t = 0 but leave charge (x = 0.004)
 * and negative inputs (off, no gradient). */
START_TEST(test_f32_matches_double)
{
    enum { REP = 70, B = REP * B_GRAD };
    grad_case c;
    grad_case_init(&c, 11 + _i);
    if (_i)
        c.m.p.lambda = 9.0 / (c.m.op.i_unit * c.m.op.t_max / c.m.op.c_bl);
    double *x = malloc(B * FG_ROWS * sizeof *x), *y = malloc(B * FG_COLS * sizeof *y);
    double *dy = malloc(B * FG_COLS * sizeof *dy), *dx = calloc(B * FG_ROWS, sizeof *dx);
    float *xf = malloc(B * FG_ROWS * sizeof *xf), *yf = malloc(B * FG_COLS * sizeof *yf);
    float *dyf = malloc(B * FG_COLS * sizeof *dyf), *dxf = calloc(B * FG_ROWS, sizeof *dxf);
    double dw[FG_CELLS] = {0};
    float wf[FG_CELLS], dwf[FG_CELLS] = {0};
    for (int k = 0; k < B * FG_ROWS; k++)
        x[k] = xf[k] = (float)c.x[k % (B_GRAD * FG_ROWS)];
    for (int k = 0; k < B * FG_COLS; k++)
        dy[k] = dyf[k] = (float)c.dy[k % (B_GRAD * FG_COLS)];
    for (int n = 0; n < FG_CELLS; n++)
        wf[n] = (float)c.m.w[n], c.m.w[n] = wf[n];
    for (int k = 0; _i == 2 && k < B * FG_ROWS; k++) {
        if (k % 7 == 3)
            x[k] = xf[k] = 0.004f;
        if (k % 11 == 5)
            x[k] = xf[k] = -0.2f;
        if ((k / FG_ROWS) % 5 == 1) /* vectors with all rows off */
            x[k] = xf[k] = k % 3 ? 0.0f : -0.1f;
    }
    for (int i = 0; _i == 2 && i < FG_ROWS; i++)
        c.m.p.t_edge[i] = 0.03 * c.m.op.t_max;
    ck_assert_int_eq(fit_model_forward(y, x, c.m.w, &c.m, B), FG_OK);
    ck_assert_int_eq(fit_model_backward(dx, dw, NULL, dy, x, c.m.w, &c.m, B), FG_OK);
    ck_assert_int_eq(fit_model_forward_f32(yf, xf, wf, &c.m, B), FG_OK);
    ck_assert_int_eq(fit_model_backward_f32(dxf, dwf, dyf, xf, wf, &c.m, B), FG_OK);
    for (int k = 0; k < B * FG_COLS; k++)
        ck_assert_msg(fabs(yf[k] - y[k]) < 2e-5 * (1 + fabs(y[k])), "y[%d]: f32 %.7g vs %.7g",
                      k, yf[k], y[k]);
    for (int k = 0; k < B * FG_ROWS; k++)
        ck_assert_msg(fabs(dxf[k] - dx[k]) < 1e-4 * (1 + fabs(dx[k])), "dx[%d]: f32 %.7g vs %.7g",
                      k, dxf[k], dx[k]);
    for (int n = 0; n < FG_CELLS; n++)
        ck_assert_msg(fabs(dwf[n] - dw[n]) < 1e-4 * (1 + fabs(dw[n])), "dw[%d]: f32 %.7g vs %.7g",
                      n, dwf[n], dw[n]);
    memset(dwf, 0, sizeof dwf); /* dx NULL: dw alone, the same */
    ck_assert_int_eq(fit_model_backward_f32(NULL, dwf, dyf, xf, wf, &c.m, B), FG_OK);
    for (int n = 0; n < FG_CELLS; n++)
        ck_assert(fabs(dwf[n] - dw[n]) < 1e-4 * (1 + fabs(dw[n])));
    free(x), free(y), free(dy), free(dx), free(xf), free(yf), free(dyf), free(dxf);
}
END_TEST

/* The float32 backward sums its chunks in order: 1 or 3 threads give the
 * same bits (sparse inputs, so the chunks differ in cost). */
START_TEST(test_f32_threads_same)
{
    enum { B = 1000 };
    fg_rng r;
    fg_rng_seed(&r, 5);
    fit_model m;
    random_model(&m, &r);
    float *x = malloc(B * FG_ROWS * sizeof *x), *dy = malloc(B * FG_COLS * sizeof *dy);
    float *dx1 = calloc(B * FG_ROWS, sizeof *dx1), *dx3 = calloc(B * FG_ROWS, sizeof *dx3);
    float w[FG_CELLS], dw1[FG_CELLS] = {0}, dw3[FG_CELLS] = {0};
    for (int n = 0; n < FG_CELLS; n++)
        w[n] = (float)fg_rng_uniform(&r);
    for (int k = 0; k < B * FG_ROWS; k++)
        x[k] = fg_rng_uniform(&r) < 0.4 ? (float)fg_rng_uniform(&r) : 0.0f;
    for (int k = 0; k < B * FG_COLS; k++)
        dy[k] = (float)fg_rng_normal(&r);
    fg_set_threads(1);
    ck_assert_int_eq(fit_model_backward_f32(dx1, dw1, dy, x, w, &m, B), FG_OK);
    fg_set_threads(3);
    ck_assert_int_eq(fit_model_backward_f32(dx3, dw3, dy, x, w, &m, B), FG_OK);
    fg_set_threads(0);
    ck_assert(memcmp(dw1, dw3, sizeof dw1) == 0);
    ck_assert(memcmp(dx1, dx3, B * FG_ROWS * sizeof *dx1) == 0);
    float s = 0.0f;
    for (int n = 0; n < FG_CELLS; n++)
        s += fabsf(dw1[n]);
    ck_assert(s > 0.0f);
    free(x), free(dy), free(dx1), free(dx3);
}
END_TEST

/* The hwa backend's row-of-tiles calls give the bits of one call per tile
 * for y and dw, and dx to float rounding (it sums over the lanes of up to 4
 * tiles at once); sparse and negative inputs, so G0 and ties are in it. */
START_TEST(test_hwa_tiles_same)
{
    enum { B = 300, NT = 6 }; /* two passes: 4 + 2 tiles */
    fg_rng r;
    fg_rng_seed(&r, 9);
    fit_model m;
    random_model(&m, &r);
    fg_backend *be = fit_backend_hwa_new(&m);
    ck_assert_ptr_nonnull(be);
    float *x = malloc(B * FG_ROWS * sizeof *x);
    float *dy = malloc(NT * B * FG_COLS * sizeof *dy);
    float *y1 = malloc(NT * B * FG_COLS * sizeof *y1);
    float *yt = malloc(NT * B * FG_COLS * sizeof *yt);
    float *dx1 = calloc(B * FG_ROWS, sizeof *dx1), *dxt = calloc(B * FG_ROWS, sizeof *dxt);
    float w[NT * FG_CELLS], dw1[NT * FG_CELLS] = {0}, dwt[NT * FG_CELLS] = {0};
    for (int n = 0; n < NT * FG_CELLS; n++)
        w[n] = (float)fg_rng_uniform(&r);
    for (int k = 0; k < B * FG_ROWS; k++) {
        double u = fg_rng_uniform(&r);
        x[k] = u < 0.5 ? 0.0f : u < 0.6 ? -0.1f : u < 0.7 ? 0.5f : (float)fg_rng_uniform(&r);
    }
    for (int k = 0; k < NT * B * FG_COLS; k++)
        dy[k] = (float)fg_rng_normal(&r);
    for (int c = 0; c < NT; c++) {
        size_t o = (size_t)c * B * FG_COLS;
        ck_assert_int_eq(fg_backend_vmm(be, w + c * FG_CELLS, x, y1 + o, B), FG_OK);
        ck_assert_int_eq(fg_backend_vmm_backward(be, w + c * FG_CELLS, x, dy + o,
                                                 dx1, dw1 + c * FG_CELLS, B), FG_OK);
    }
    ck_assert_int_eq(fg_backend_vmm_tiles(be, w, NT, x, yt, B), FG_OK);
    ck_assert_int_eq(fg_backend_vmm_tiles_backward(be, w, NT, x, dy, dxt, dwt, B), FG_OK);
    ck_assert_uint_eq(fg_backend_ops_count(be), 2 * NT * B);
    ck_assert(memcmp(y1, yt, NT * B * FG_COLS * sizeof *y1) == 0);
    ck_assert(memcmp(dw1, dwt, sizeof dw1) == 0);
    for (int k = 0; k < B * FG_ROWS; k++) /* summed over lanes of all tiles */
        ck_assert_float_eq_tol(dxt[k], dx1[k], 1e-4f * (1.0f + fabsf(dx1[k])));
    ck_assert(memcmp(dw1, dw1 + 2 * FG_CELLS, FG_CELLS * sizeof *dw1) != 0);
    fg_backend_free(be);
    free(x), free(dy), free(y1), free(yt), free(dx1), free(dxt);
}
END_TEST

/* The AVX2 build of the float32 kernel gives the baseline build's bits
 * (where this CPU has AVX2; elsewhere the baseline runs and this checks
 * only that it does): 6 tiles, sparse and negative inputs. */
START_TEST(test_f32_isa_same)
{
    enum { B = 200, NT = 6 };
    if (strcmp(fit_kernel_name(), "x86-64-v3")) { /* nothing to compare */
        fprintf(stderr, "model_fit:f32 test_f32_isa_same SKIPPED: this CPU runs the "
                        "baseline kernel only (no AVX2/FMA)\n");
        return;
    }
    fg_rng r;
    fg_rng_seed(&r, 11);
    fit_model m;
    random_model(&m, &r);
    const size_t ny = (size_t)NT * B * FG_COLS, nx = (size_t)B * FG_ROWS;
    float *x = malloc(nx * sizeof *x), *dy = malloc(ny * sizeof *dy);
    float *yb = malloc(ny * sizeof *yb), *yv = malloc(ny * sizeof *yv);
    float *dxb = calloc(nx, sizeof *dxb), *dxv = calloc(nx, sizeof *dxv);
    float w[NT * FG_CELLS], dwb[NT * FG_CELLS] = {0}, dwv[NT * FG_CELLS] = {0};
    for (int n = 0; n < NT * FG_CELLS; n++)
        w[n] = (float)fg_rng_uniform(&r);
    for (size_t k = 0; k < nx; k++) {
        double u = fg_rng_uniform(&r);
        x[k] = u < 0.4 ? 0.0f : u < 0.5 ? -0.2f : (float)fg_rng_uniform(&r);
    }
    for (size_t k = 0; k < ny; k++)
        dy[k] = (float)fg_rng_normal(&r);
    ck_assert_int_eq(mf_fast_base.forward(yb, x, w, NT, &m, B), FG_OK);
    ck_assert_int_eq(mf_fast_base.backward(dxb, dwb, dy, x, w, NT, &m, B), FG_OK);
    ck_assert_int_eq(fit_model_forward_f32_tiles(yv, x, w, NT, &m, B), FG_OK);
    ck_assert_int_eq(fit_model_backward_f32_tiles(dxv, dwv, dy, x, w, NT, &m, B), FG_OK);
    ck_assert(memcmp(yb, yv, ny * sizeof *yb) == 0);
    ck_assert(memcmp(dxb, dxv, nx * sizeof *dxb) == 0);
    ck_assert(memcmp(dwb, dwv, sizeof dwb) == 0);
    free(x), free(dy), free(yb), free(yv), free(dxb), free(dxv);
}
END_TEST

/* Pattern mix like the calibration generator: one-hot rows first, then
 * uniform, sparse, random one-hot, and all rows at a common width. */
static void synth_patterns(double *x, int P, fg_rng *r)
{
    for (int p = 0; p < P; p++) {
        double *xp = x + (size_t)p * FG_ROWS, u = fg_rng_uniform(r);
        int hot = (int)(fg_rng_uniform(r) * FG_ROWS);
        double c = fg_rng_uniform(r);
        for (int i = 0; i < FG_ROWS; i++) {
            if (p < FG_ROWS)
                xp[i] = (i == p);
            else if (u < 0.55)
                xp[i] = fg_rng_uniform(r);
            else if (u < 0.8)
                xp[i] = fg_rng_uniform(r) < 0.25 ? fg_rng_uniform(r) : 0;
            else if (u < 0.95)
                xp[i] = (i == hot) ? c : 0;
            else
                xp[i] = c;
        }
    }
}

/* _i = 0: all 256 cells free; _i = 1: cells tied to known targets
 * (w = gain_j target_ij), 16 gains fitted: beta is identifiable then;
 * _i = 2: tied with a programming exponent (w = gain_j target_ij^0.85, as
 * cells programmed at 27 C and read at 80 C), the exponent fitted too from
 * a start at 1. */
START_TEST(test_fit_synthetic)
{
    enum { P = 500, PH = 200 };
    fg_rng r;
    fg_rng_seed(&r, 2024);
    fit_model truth, m;
    random_model(&truth, &r);
    truth.p.lambda = 1.2;
    double *x = malloc(sizeof(double) * (P + PH) * FG_ROWS);
    double *y = malloc(sizeof(double) * (P + PH) * FG_COLS);
    double *yh = malloc(sizeof(double) * PH * FG_COLS);
    synth_patterns(x, P + PH, &r);
    fit_model_forward(y, x, truth.w, &truth, P + PH);
    for (int k = 0; k < (P + PH) * FG_COLS; k++)
        y[k] += 1e-3 * fg_rng_normal(&r); /* measurement noise */
    const double *xh = x + P * FG_ROWS, *yv = y + P * FG_COLS;
    /* naive */
    double wn[FG_CELLS];
    ck_assert_int_eq(fit_extract_naive(x, y, P, wn), FG_OK);
    fit_ideal_vmm(yh, xh, wn, PH);
    double ser_naive = fit_ser_db(yv, yh, PH * FG_COLS);
    /* fitted */
    fit_model_init(&m, &truth.op);
    fit_options o;
    fit_options_default(&o);
    o.verbose = getenv("FIT_VERBOSE") != NULL;
    fit_report rep;
    double tgt[FG_CELLS], gain[FG_COLS];
    for (int j = 0; j < FG_COLS; j++)
        gain[j] = 0.8 + 0.2 * fg_rng_uniform(&r);
    const double gexp = _i == 2 ? 0.85 : 1.0;
    for (int n = 0; n < FG_CELLS; n++)
        tgt[n] = pow(truth.w[n] / gain[n % FG_COLS], 1 / gexp);
    o.w_target = _i ? tgt : NULL;
    o.fit_exp = _i == 2;
    ck_assert_int_eq(fit_model_fit(&m, x, y, P, &o, &rep), FG_OK);
    fit_model_forward(yh, xh, m.w, &m, PH);
    double ser_fit = fit_ser_db(yv, yh, PH * FG_COLS);
    fprintf(stderr, "model_fit:fit synthetic P=%d, %s cells: SER naive %.1f dB, fitted "
            "%.1f dB, lambda %.4f (true %.4f), %d params, %d iter, %.2f s\n", P,
            _i == 2 ? "tied^exp" : _i ? "tied" : "free", ser_naive, ser_fit, m.p.lambda,
            truth.p.lambda, rep.n_params, rep.iterations, rep.seconds);
    ck_assert_double_eq_tol(m.w_exp, gexp, 2e-3);
    if (_i)
        for (int j = 0; j < FG_COLS; j++)
            ck_assert_double_eq_tol(m.w_gain[j], gain[j], 2e-3 * gain[j]);
    ck_assert_msg(ser_fit > ser_naive + 15, "fitted SER %.1f vs naive %.1f", ser_fit, ser_naive);
    ck_assert_msg(ser_fit > 60, "fitted SER %.1f dB", ser_fit);
    ck_assert_double_eq_tol(m.p.lambda, truth.p.lambda, 0.01 * truth.p.lambda);
    for (int p = 0; p < FIT_NBETA; p++)
        ck_assert_double_eq_tol(m.p.beta[p], truth.p.beta[p], _i ? 5e-4 : 4e-3);
    for (int p = 0; p < FIT_NBETA2; p++)
        ck_assert_double_eq_tol(m.p.beta2[p], truth.p.beta2[p], _i ? 5e-4 : 4e-3);
    for (int j = 0; j < FG_COLS; j++) {
        ck_assert_double_eq_tol(m.p.v_off[j], truth.p.v_off[j], 2e-4);
        ck_assert_double_eq_tol(m.p.q_col[j] - m.p.q_col[0],
                                truth.p.q_col[j] - truth.p.q_col[0], 2e-16);
    }
    double werr = 0;
    for (int n = 0; n < FG_CELLS; n++)
        werr = fmax(werr, fabs(m.w[n] - truth.w[n]));
    ck_assert_msg(werr < 0.005, "max cell error %.4f", werr);
    free(x);
    free(y);
    free(yh);
}
END_TEST

/* A network's tiles as the calibration: NA arrays of sparse small
 * targets (half the cells off, the rest up to 0.3, as a layer's w+/w-
 * under one scale), patterns sorted by array, cells tied to each array's
 * targets with common gains, exponent and physics. The fit from scratch
 * (ideal gains) recovers them, and the model carries over to an array it
 * has not seen. */
static void tile_targets(double *t, fg_rng *r)
{
    for (int n = 0; n < FG_CELLS; n++)
        t[n] = fg_rng_uniform(r) < 0.5 ? 0 : 0.3 * fg_rng_uniform(r);
}

START_TEST(test_fit_arrays)
{
    enum { NA = 5, PA = 80, P = NA * PA, PH = 200 };
    fg_rng r;
    fg_rng_seed(&r, 77);
    fit_model truth, m;
    random_model(&truth, &r);
    truth.w_exp = 0.9;
    for (int j = 0; j < FG_COLS; j++)
        truth.w_gain[j] = 0.85 + 0.2 * fg_rng_uniform(&r);
    double *tgt = malloc(sizeof(double) * (NA + 1) * FG_CELLS), w[FG_CELLS];
    double *x = malloc(sizeof(double) * (P + PH) * FG_ROWS);
    double *y = malloc(sizeof(double) * (P + PH) * FG_COLS), *yh = malloc(sizeof(double) * PH * FG_COLS);
    int arr[P];
    for (int a = 0; a <= NA; a++)
        tile_targets(tgt + a * FG_CELLS, &r);
    synth_patterns(x, P + PH, &r);
    for (int p = 0; p < P + PH; p++) {
        int a = p < P ? p / PA : NA; /* held out: the unseen array NA */
        if (p < P)
            arr[p] = a;
        fit_model_tie(&truth, tgt + a * FG_CELLS, w);
        fit_model_forward(y + (size_t)p * FG_COLS, x + (size_t)p * FG_ROWS, w, &truth, 1);
    }
    fit_model_init(&m, &truth.op);
    fit_options o;
    fit_options_default(&o);
    o.w_target = tgt;
    o.n_arrays = NA;
    o.array = arr;
    o.fit_exp = 1;
    ck_assert_int_eq(fit_model_fit(&m, x, y, P, &o, NULL), FG_OK);
    fit_model_tie(&m, tgt + NA * FG_CELLS, w);
    fit_model_forward(yh, x + (size_t)P * FG_ROWS, w, &m, PH);
    double ser = fit_ser_db(y + (size_t)P * FG_COLS, yh, PH * FG_COLS);
    fprintf(stderr, "model_fit:fit arrays: %d arrays, unseen array SER %.1f dB, e %.4f\n",
            NA, ser, m.w_exp);
    ck_assert_msg(ser > 60, "SER on the unseen array %.1f dB", ser);
    ck_assert_double_eq_tol(m.w_exp, truth.w_exp, 1e-3);
    ck_assert_double_eq_tol(m.p.lambda, truth.p.lambda, 0.01 * truth.p.lambda);
    for (int j = 0; j < FG_COLS; j++)
        ck_assert_double_eq_tol(m.w_gain[j], truth.w_gain[j], 2e-3);
    arr[P - 1] = NA; /* an index past the arrays: named, no fit */
    ck_assert_int_eq(fit_model_fit(&m, x, y, P, &o, NULL), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "pattern 399 is on array 5"));
    free(tgt), free(x), free(y), free(yh);
}
END_TEST

/* The hwa backend with a programming exponent: the forward pass is the
 * model on the effective cells gain_j t^e, the weight gradient goes
 * through d(gain t^e)/dt = gain e t^(e-1). */
START_TEST(test_backend_exponent)
{
    fg_rng r;
    fg_rng_seed(&r, 19);
    fit_model m;
    random_model(&m, &r);
    m.w_exp = 0.8;
    for (int j = 0; j < FG_COLS; j++)
        m.w_gain[j] = 0.7 + 0.6 * fg_rng_uniform(&r);
    fg_backend *be = fit_backend_hwa_new(&m);
    enum { B = 4 };
    float tf[FG_CELLS], xf[B * FG_ROWS], yf[B * FG_COLS], dyf[B * FG_COLS];
    float dwf[FG_CELLS] = {0};
    double we[FG_CELLS], x[B * FG_ROWS], y[B * FG_COLS], dy[B * FG_COLS];
    double dw[FG_CELLS] = {0};
    for (int n = 0; n < FG_CELLS; n++) {
        tf[n] = n % 7 == 0 ? 0.0f : (float)(0.01 + fg_rng_uniform(&r));
        we[n] = fit_model_cell(&m, tf[n], n % FG_COLS);
    }
    ck_assert_double_eq_tol(we[1], m.w_gain[1] * pow(tf[1], 0.8), 1e-12);
    for (int k = 0; k < B * FG_ROWS; k++)
        x[k] = xf[k] = (float)fg_rng_uniform(&r);
    for (int k = 0; k < B * FG_COLS; k++)
        dy[k] = dyf[k] = (float)fg_rng_normal(&r);
    ck_assert_int_eq(fg_backend_vmm(be, tf, xf, yf, B), FG_OK);
    ck_assert_int_eq(fg_backend_vmm_backward(be, tf, xf, dyf, NULL, dwf, B), FG_OK);
    fit_model_forward(y, x, we, &m, B);
    fit_model_backward(NULL, dw, NULL, dy, x, we, &m, B);
    for (int k = 0; k < B * FG_COLS; k++)
        ck_assert_double_eq_tol(yf[k], y[k], 1e-5 * (1 + fabs(y[k])));
    for (int n = 0; n < FG_CELLS; n++) {
        double t = tf[n] > 1e-3f ? tf[n] : 1e-3;
        double want = dw[n] * m.w_gain[n % FG_COLS] * 0.8 * pow(t, -0.2);
        ck_assert_double_eq_tol(dwf[n], want, 1e-4 * (1 + fabs(want)));
    }
    fg_backend_free(be);
}
END_TEST

START_TEST(test_fit_bad_input)
{
    fit_model m;
    fg_op_point op = fg_op_point_default();
    fit_model_init(&m, &op);
    double x[10 * FG_ROWS] = {0}, y[10 * FG_COLS] = {0};
    ck_assert_int_eq(fit_model_fit(&m, x, y, 10, NULL, NULL), FG_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(fg_errmsg(), "fewer"));
    ck_assert_int_eq(fit_extract_naive(x, y, 10, m.w), FG_ERR_FORMAT);
}
END_TEST

Suite *model_fit_suite(void)
{
    Suite *s = suite_create("model_fit");
    TCase *tc = tcase_create("model_fit:grad");
    tcase_add_loop_test(tc, test_grad_w_params, 0, 2);
    tcase_add_loop_test(tc, test_grad_x, 0, 2);
    tcase_add_test(tc, test_ideal_limit);
    tcase_add_test(tc, test_ser_metrics);
    tcase_add_test(tc, test_drain_law);
    suite_add_tcase(s, tc);
    tc = tcase_create("model_fit:io");
    tcase_add_test(tc, test_json_roundtrip);
    tcase_add_test(tc, test_json_cell_overflow);
    tcase_add_test(tc, test_tmodel);
    tcase_add_test(tc, test_backend);
    tcase_add_test(tc, test_backend_exponent);
    tcase_add_loop_test(tc, test_f32_matches_double, 0, 3);
    tcase_add_test(tc, test_f32_threads_same);
    tcase_add_test(tc, test_hwa_tiles_same);
    tcase_add_test(tc, test_f32_isa_same);
    suite_add_tcase(s, tc);
    tc = tcase_create("model_fit:fit");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_fit_synthetic, 0, 3);
    tcase_add_test(tc, test_fit_arrays);
    tcase_add_test(tc, test_fit_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
