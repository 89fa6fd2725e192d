/* Physics parameter table, model init/check and the JSON model file. */
#include "mf_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const fit_param_field fit_param_fields[FIT_NFIELDS] = {
    {"lambda", "1/V", offsetof(fit_params, lambda), 1, 1.0, 0, 0},
    {"kappa_row", "1", offsetof(fit_params, kappa_row), FG_ROWS, 1e-3, 1, 0},
    {"kappa_col", "1", offsetof(fit_params, kappa_col), FG_COLS, 1e-3, 0, 0},
    {"kappa_edge", "1", offsetof(fit_params, kappa_edge), 2, 1e-3, 0, 0},
    {"q_row", "C", offsetof(fit_params, q_row), FG_ROWS, 1e-15, 1, 0},
    {"q_col", "C", offsetof(fit_params, q_col), FG_COLS, 1e-15, 0, 0},
    {"beta", "1", offsetof(fit_params, beta), FIT_NBETA, 1e-2, 0, 0},
    {"v_off", "V", offsetof(fit_params, v_off), FG_COLS, 1e-3, 0, 0},
    {"t_edge", "s", offsetof(fit_params, t_edge), FG_ROWS, 1e-10, 0, 0},
    {"beta2", "1", offsetof(fit_params, beta2), FIT_NBETA2, 1e-2, 0, 4},
};

_Static_assert(sizeof(fit_params) == FIT_NPHYS * sizeof(double),
               "fit_params must hold only the table's doubles");

static double *field_ptr(fit_params *p, const fit_param_field *f)
{
    return (double *)((char *)p + f->offset);
}

void fit_model_scale_drop(fit_model *m, double k)
{
    /* the drain law, the word-line and bit-line couplings and the residual
     * charge: everything that moves with the bit line's voltage swing */
    for (int f = 0; f < FIT_NFIELDS; f++) {
        const fit_param_field *fd = &fit_param_fields[f];
        if (!strcmp(fd->name, "v_off") || !strcmp(fd->name, "t_edge"))
            continue;
        double *v = field_ptr(&m->p, fd);
        for (int i = 0; i < fd->count; i++)
            v[i] *= k;
    }
}

static const double *field_cptr(const fit_params *p, const fit_param_field *f)
{
    return (const double *)((const char *)p + f->offset);
}

void fit_params_to_vec(const fit_params *p, double *v)
{
    int n = 0;
    for (int f = 0; f < FIT_NFIELDS; f++)
        for (int k = 0; k < fit_param_fields[f].count; k++)
            v[n++] = field_cptr(p, &fit_param_fields[f])[k];
}

void fit_params_from_vec(fit_params *p, const double *v)
{
    int n = 0;
    for (int f = 0; f < FIT_NFIELDS; f++)
        for (int k = 0; k < fit_param_fields[f].count; k++)
            field_ptr(p, &fit_param_fields[f])[k] = v[n++];
}

void fit_model_init(fit_model *m, const fg_op_point *op)
{
    memset(m, 0, sizeof *m);
    m->op = *op;
    for (int j = 0; j < FG_COLS; j++)
        m->w_gain[j] = 1.0;
    m->w_exp = 1.0;
    m->corner = fg_corner_nominal();
}

double mf_target_pow(const fit_model *m, double t)
{
    return t <= 0 ? 0.0 : m->w_exp == 1.0 ? t : pow(t, m->w_exp);
}

double fit_model_cell(const fit_model *m, double t, int j)
{
    return m->w_gain[j] * mf_target_pow(m, t);
}

void fit_model_tie(const fit_model *m, const double *target, double *w)
{
    for (int n = 0; n < FG_CELLS; n++)
        w[n] = fit_model_cell(m, target[n], n % FG_COLS);
}

fg_status fit_model_forward_tied(double *y, const double *x, int P, const fit_model *m,
                                 const double *targets, const int *array)
{
    fg_status st = FG_OK;
    for (int p0 = 0, p1; p0 < P && st == FG_OK; p0 = p1) {
        int a = array ? array[p0] : 0;
        for (p1 = p0 + 1; p1 < P && (array ? array[p1] : 0) == a; p1++)
            ;
        double w[FG_CELLS];
        fit_model_tie(m, targets + (size_t)a * FG_CELLS, w);
        st = fit_model_forward(y + (size_t)p0 * FG_COLS, x + (size_t)p0 * FG_ROWS, w, m,
                               p1 - p0);
    }
    return st;
}

void fit_model_set_gain(fit_model *m, const double *w_target)
{
    for (int j = 0; j < FG_COLS; j++) {
        double num = 0, den = 0;
        for (int i = 0; i < FG_ROWS; i++) {
            double t = mf_target_pow(m, w_target[i * FG_COLS + j]);
            num += m->w[i * FG_COLS + j] * t;
            den += t * t;
        }
        m->w_gain[j] = den > 0 ? num / den : 1.0;
    }
}

static int pos_finite(double v) { return isfinite(v) && v > 0; }

fg_status fit_model_check(const fit_model *m)
{
    const fg_op_point *op = &m->op;
    if (!pos_finite(op->v_pre) || !pos_finite(op->v_read) ||
        !pos_finite(op->t_max) || !pos_finite(op->c_bl) ||
        !pos_finite(op->i_unit))
        return fg_error(FG_ERR_RANGE, "model: operating point values must be "
                                      "positive and finite");
    double v[FIT_NPHYS];
    fit_params_to_vec(&m->p, v);
    for (int n = 0; n < FIT_NPHYS; n++)
        if (!isfinite(v[n]))
            return fg_error(FG_ERR_RANGE, "model: physics parameter %d is not finite", n);
    /* w and the current w * I_unit the model file holds (what a save
     * writes: an overflow there printed "inf", which no JSON reader takes) */
    for (int n = 0; n < FG_CELLS; n++)
        if (!isfinite(m->w[n]) || !isfinite(m->w[n] * op->i_unit))
            return fg_error(FG_ERR_RANGE, "model: cell (%d,%d) is not finite",
                            n / FG_COLS, n % FG_COLS);
    return FG_OK;
}

/* ---- JSON --------------------------------------------------------------- */
/* A number printed with 17 significant digits (cJSON's own printer may
 * round to 15 and lose the last bit). */
static cJSON *num(double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    return cJSON_CreateRaw(buf);
}

static cJSON *num_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; k < n; k++)
        cJSON_AddItemToArray(a, num(v[k]));
    return a;
}

static cJSON *quantity(double v, const char *unit)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "value", num(v));
    cJSON_AddStringToObject(o, "unit", unit);
    return o;
}

static cJSON *op_json(const fg_op_point *op)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "v_pre", quantity(op->v_pre, "V"));
    cJSON_AddItemToObject(o, "v_read", quantity(op->v_read, "V"));
    cJSON_AddItemToObject(o, "t_max", quantity(op->t_max, "s"));
    cJSON_AddItemToObject(o, "c_bl", quantity(op->c_bl, "F"));
    cJSON_AddItemToObject(o, "i_unit", quantity(op->i_unit, "A"));
    return o;
}

static cJSON *params_json(const fit_params *p)
{
    cJSON *o = cJSON_CreateObject();
    for (int f = 0; f < FIT_NFIELDS; f++) {
        const fit_param_field *fd = &fit_param_fields[f];
        const double *v = field_cptr(p, fd);
        cJSON *q = cJSON_CreateObject();
        if (fd->count == 1)
            cJSON_AddItemToObject(q, "value", num(v[0]));
        else
            cJSON_AddItemToObject(q, "value", num_array(v, fd->count));
        cJSON_AddStringToObject(q, "unit", fd->unit);
        cJSON_AddItemToObject(o, fd->name, q);
    }
    return o;
}

/* The model file's "corner": numbers, and the rails as a bit mask. */
#define CORNER_FIELDS(c)                                                      \
    {{"temp_c", &(c)->temp_c}, {"supply", &(c)->supply},                      \
     {"drift_s", &(c)->drift_s}, {"drift_rate", &(c)->drift_rate},            \
     {"drift_t0_s", &(c)->drift_t0_s}, {"drift_sigma", &(c)->drift_sigma},    \
     {"drift_neutral_v", &(c)->drift_neutral_v},                              \
     {"t_max_trim", &(c)->t_max_trim}, {"out_gain", &(c)->out_gain}}
typedef struct { const char *name; double *v; } corner_field;

static cJSON *corner_json(const fg_corner *c0)
{
    fg_corner c = *c0;
    corner_field f[] = CORNER_FIELDS(&c);
    cJSON *o = cJSON_CreateObject();
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        cJSON_AddNumberToObject(o, f[k].name, *f[k].v);
    cJSON_AddNumberToObject(o, "rails", c.rails);
    cJSON_AddNumberToObject(o, "drift_seed", (double)c.drift_seed);
    return o;
}

static fg_status corner_read(const cJSON *o, const char *what, fg_corner *c)
{
    *c = fg_corner_nominal();
    if (!o)
        return FG_OK;
    corner_field f[] = CORNER_FIELDS(c);
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f[k].name);
        if (v && !cJSON_IsNumber(v))
            return fg_error(FG_ERR_FORMAT, "%s: corner.%s is not a number", what, f[k].name);
        if (v)
            *f[k].v = v->valuedouble;
    }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "rails");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "drift_seed");
    if (cJSON_IsNumber(r))
        c->rails = r->valuedouble >= 0 && r->valuedouble <= 3 ? (unsigned)r->valuedouble : 99u;
    if (cJSON_IsNumber(sd) && sd->valuedouble >= 0)
        c->drift_seed = (uint64_t)sd->valuedouble;
    fg_status st = fg_corner_check(c);
    return st == FG_OK ? st : fg_error(st, "%s: corner: %s", what, fg_errmsg());
}

cJSON *mf_model_cjson(const fit_model *m)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", FIT_FORMAT);
    cJSON_AddNumberToObject(root, "version", FIT_VERSION);
    cJSON_AddStringToObject(root, "model",
        "du/dt = (1 - lambda*Vs*u)^2 S(t), i.e. I ~ (1 + lambda (V - V_pre))^2; "
        "row i on during [0, x_i - t_edge_i/T_max*(1-exp(-x_i/0.01))]; "
        "WL edges step u by -/+ kappa*V_read/Vs, fall adds "
        "w_ij*q/(I_unit T_max)*(1-exp(-x/0.01)) (q per unit cell current); y = u + beta-coupling (neighbours) + beta2-coupling (next but one) + v_off/Vs; "
        "Vs = I_unit T_max / C_BL");
    cJSON_AddItemToObject(root, "op_point", op_json(&m->op));
    cJSON_AddItemToObject(root, "params", params_json(&m->p));
    cJSON *cells = cJSON_CreateObject();
    cJSON_AddStringToObject(cells, "unit", "A");
    cJSON *rows = cJSON_CreateArray();
    for (int i = 0; i < FG_ROWS; i++) {
        double r[FG_COLS];
        for (int j = 0; j < FG_COLS; j++)
            r[j] = m->w[i * FG_COLS + j] * m->op.i_unit;
        cJSON_AddItemToArray(rows, num_array(r, FG_COLS));
    }
    cJSON_AddItemToObject(cells, "value", rows);
    cJSON_AddItemToObject(root, "cell_currents", cells);
    cJSON *gain = cJSON_CreateObject();
    cJSON_AddStringToObject(gain, "unit", "1");
    cJSON_AddItemToObject(gain, "value", num_array(m->w_gain, FG_COLS));
    cJSON_AddItemToObject(root, "programming_gain", gain);
    cJSON *ex = cJSON_CreateObject();
    cJSON_AddStringToObject(ex, "unit", "1");
    cJSON_AddNumberToObject(ex, "value", m->w_exp);
    cJSON_AddItemToObject(root, "programming_exponent", ex);
    cJSON_AddItemToObject(root, "corner", corner_json(&m->corner));
    return root;
}

char *fit_model_to_json(const fit_model *m)
{
    cJSON *root = mf_model_cjson(m);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

/* Reads n finite numbers (a number if n == 1, else an array). */
static fg_status read_nums(const cJSON *v, int n, double *out, const char *what,
                           const char *field)
{
    if (n == 1 && cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        out[0] = v->valuedouble;
        return FG_OK;
    }
    if (n > 1 && cJSON_IsArray(v) && cJSON_GetArraySize(v) == n) {
        for (int k = 0; k < n; k++) {
            const cJSON *e = cJSON_GetArrayItem(v, k);
            if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
                return fg_error(FG_ERR_FORMAT, "%s: field '%s'[%d] is not a finite number",
                                what, field, k);
            out[k] = e->valuedouble;
        }
        return FG_OK;
    }
    return fg_error(FG_ERR_FORMAT, "%s: field '%s' must be %d finite number%s",
                    what, field, n, n > 1 ? "s" : "");
}

/* obj[name].value -> out (n numbers). */
static fg_status read_quantity(const cJSON *obj, const char *name, int n,
                               double *out, const char *what)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(obj, name);
    const cJSON *v = q ? cJSON_GetObjectItemCaseSensitive(q, "value") : NULL;
    if (!v)
        return fg_error(FG_ERR_FORMAT, "%s: missing field '%s.value'", what, name);
    return read_nums(v, n, out, what, name);
}

/* *version: the file's model version (3 or FIT_VERSION). */
static fg_status read_header(const cJSON *root, const char *what, int *version)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, FIT_FORMAT))
        return fg_error(FG_ERR_FORMAT, "%s: field 'format' is not \"%s\"", what,
                        FIT_FORMAT);
    if (!cJSON_IsNumber(ver))
        return fg_error(FG_ERR_FORMAT, "%s: missing field 'version'", what);
    if (ver->valuedouble != FIT_VERSION && ver->valuedouble != 3)
        return fg_error(FG_ERR_FORMAT, "%s: model file version %g, this build "
                        "reads versions 3 and %d", what, ver->valuedouble, FIT_VERSION);
    *version = (int)ver->valuedouble;
    return FG_OK;
}

static fg_status read_body(const cJSON *root, const char *what, int version,
                           fit_model *m)
{
    fg_status st;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(root, "op_point");
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (!cJSON_IsObject(op) || !cJSON_IsObject(pr))
        return fg_error(FG_ERR_FORMAT, "%s: missing object 'op_point' or 'params'", what);
    if ((st = read_quantity(op, "v_pre", 1, &m->op.v_pre, what)) ||
        (st = read_quantity(op, "v_read", 1, &m->op.v_read, what)) ||
        (st = read_quantity(op, "t_max", 1, &m->op.t_max, what)) ||
        (st = read_quantity(op, "c_bl", 1, &m->op.c_bl, what)) ||
        (st = read_quantity(op, "i_unit", 1, &m->op.i_unit, what)))
        return st;
    for (int f = 0; f < FIT_NFIELDS; f++) {
        const fit_param_field *fd = &fit_param_fields[f];
        if (version < fd->since)
            continue; /* zeros: the file predates the field */
        if ((st = read_quantity(pr, fd->name, fd->count, field_ptr(&m->p, fd), what)))
            return st;
    }
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(root, "cell_currents");
    const cJSON *rows = cells ? cJSON_GetObjectItemCaseSensitive(cells, "value") : NULL;
    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) != FG_ROWS)
        return fg_error(FG_ERR_FORMAT, "%s: field 'cell_currents.value' must be "
                        "16 rows of 16", what);
    for (int i = 0; i < FG_ROWS; i++)
        if ((st = read_nums(cJSON_GetArrayItem(rows, i), FG_COLS,
                            m->w + i * FG_COLS, what, "cell_currents.value")))
            return st;
    const cJSON *gain = cJSON_GetObjectItemCaseSensitive(root, "programming_gain");
    for (int j = 0; j < FG_COLS; j++)
        m->w_gain[j] = 1.0; /* optional: 1 when the fit had no targets */
    if (gain && (st = read_nums(cJSON_GetObjectItemCaseSensitive(gain, "value"), FG_COLS,
                                m->w_gain, what, "programming_gain.value")))
        return st;
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "programming_exponent");
    m->w_exp = 1.0; /* optional: 1 where the cells were programmed */
    if (ex && (st = read_nums(cJSON_GetObjectItemCaseSensitive(ex, "value"), 1,
                              &m->w_exp, what, "programming_exponent.value")))
        return st;
    if (!(m->w_exp >= 0.2 && m->w_exp <= 5))
        return fg_error(FG_ERR_RANGE, "%s: programming_exponent.value %g is outside "
                        "[0.2, 5]", what, m->w_exp);
    if ((st = corner_read(cJSON_GetObjectItemCaseSensitive(root, "corner"), what,
                          &m->corner)))
        return st;
    /* checked in the units the model runs in: a current over a small
     * I_unit may overflow (found by tests/fuzz/fuzz_model) */
    for (int n = 0; n < FG_CELLS; n++)
        m->w[n] /= m->op.i_unit;
    if ((st = fit_model_check(m)))
        return fg_error(st, "%s: %s", what, fg_errmsg());
    return FG_OK;
}

fg_status mf_model_from_cjson(const cJSON *root, const char *what, fit_model *m)
{
    fit_model tmp;
    memset(&tmp, 0, sizeof tmp);
    int version = 0;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (cJSON_IsString(fmt) && !strcmp(fmt->valuestring, FIT_TFORMAT))
        return fg_error(FG_ERR_FORMAT, "%s: a temperature model (%s): pick a "
                        "temperature first (fgcosim tmodel --at C, or the backend "
                        "hwa:FILE,temp=C)", what, FIT_TFORMAT);
    fg_status st = read_header(root, what, &version);
    if (st == FG_OK)
        st = read_body(root, what, version, &tmp);
    if (st == FG_OK)
        *m = tmp;
    return st;
}

/* ---- JSON documents: parse, load, save -------------------------------------- */
fg_status mf_json_parse(const char *text, const char *what, mf_json_reader rd, void *out)
{
    cJSON *root = cJSON_Parse(text);
    if (!root)
        return fg_error(FG_ERR_PARSE, "%s: not valid JSON", what);
    fg_status st = rd(root, what, out);
    cJSON_Delete(root);
    return st;
}

fg_status mf_json_load(const char *path, mf_json_reader rd, void *out)
{
    char *text;
    fg_status st = fg_file_read(path, &text, NULL);
    if (st)
        return st;
    st = mf_json_parse(text, path, rd, out);
    free(text);
    return st;
}

fg_status mf_json_save(const char *path, cJSON *root)
{
    char *s = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!s)
        return fg_error(FG_ERR_NOMEM, "%s: out of memory", path);
    fg_status st = fg_file_write_atomic(path, s, strlen(s));
    free(s);
    return st;
}

static fg_status model_reader(const cJSON *root, const char *what, void *m)
{
    return mf_model_from_cjson(root, what, m);
}

fg_status fit_model_from_json(const char *text, const char *what, fit_model *m)
{
    return mf_json_parse(text, what, model_reader, m);
}

fg_status fit_model_save(const fit_model *m, const char *path)
{
    fg_status st = fit_model_check(m);
    return st ? st : mf_json_save(path, mf_model_cjson(m));
}

fg_status fit_model_load(fit_model *m, const char *path)
{
    return mf_json_load(path, model_reader, m);
}
