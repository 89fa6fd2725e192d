/* The temperature model: node models at a few temperatures, interpolated
 * (model_fit.h, "temperature model"). */
#include "mf_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int by_temp(const void *a, const void *b)
{
    double ta = ((const fit_model *)a)->corner.temp_c;
    double tb = ((const fit_model *)b)->corner.temp_c;
    return (ta > tb) - (ta < tb);
}

/* what node k differs in from node 0, or NULL */
static const char *node_differs(const fit_model *m0, const fit_model *m)
{
    if (fg_op_point_differs(&m0->op, &m->op) >= 0)
        return "operating point";
    if (m->corner.supply != m0->corner.supply || m->corner.rails != m0->corner.rails)
        return "supply";
    if (m->corner.drift_s != m0->corner.drift_s)
        return "drift time";
    return NULL;
}

fg_status fit_tmodel_init(fit_tmodel *t, const fit_model *nodes, int n)
{
    if (n < 2 || n > FIT_TNODES_MAX)
        return fg_error(FG_ERR_RANGE, "temperature model: %d node models, needs 2 to %d",
                        n, FIT_TNODES_MAX);
    fit_tmodel tmp = {.n = n};
    memcpy(tmp.node, nodes, (size_t)n * sizeof *nodes);
    qsort(tmp.node, (size_t)n, sizeof *tmp.node, by_temp);
    for (int k = 0; k < n; k++) {
        const char *d = node_differs(&tmp.node[0], &tmp.node[k]);
        if (d)
            return fg_error(FG_ERR_RANGE, "temperature model: the node models at %g C "
                            "and %g C differ in %s (one array and supply per model)",
                            tmp.node[0].corner.temp_c, tmp.node[k].corner.temp_c, d);
        if (k && tmp.node[k].corner.temp_c - tmp.node[k - 1].corner.temp_c < 1.0)
            return fg_error(FG_ERR_RANGE, "temperature model: node models at %g C and "
                            "%g C (at least 1 C apart)", tmp.node[k - 1].corner.temp_c,
                            tmp.node[k].corner.temp_c);
    }
    *t = tmp;
    return FG_OK;
}

/* The window of (up to) 3 nodes around T and their Lagrange weights. */
static int lagrange(const fit_tmodel *t, double T, int *s, double *L)
{
    int n = t->n < 3 ? t->n : 3, near = 0;
    for (int k = 1; k < t->n; k++)
        if (fabs(t->node[k].corner.temp_c - T) < fabs(t->node[near].corner.temp_c - T))
            near = k;
    *s = near - 1 < 0 ? 0 : near - 1 > t->n - n ? t->n - n : near - 1;
    for (int a = 0; a < n; a++) {
        double ta = t->node[*s + a].corner.temp_c;
        L[a] = 1.0;
        for (int b = 0; b < n; b++)
            if (b != a)
                L[a] *= (T - t->node[*s + b].corner.temp_c) /
                        (ta - t->node[*s + b].corner.temp_c);
    }
    return n;
}

/* sum_a L_a f(node a); lg: in log */
static double interp(const double *L, const double *v, int n, int lg)
{
    double s = 0;
    for (int a = 0; a < n; a++)
        s += L[a] * (lg ? log(v[a]) : v[a]);
    return lg ? exp(s) : s;
}

fg_status fit_tmodel_at(const fit_tmodel *t, double temp_c, fit_model *out)
{
    double lo = t->node[0].corner.temp_c, hi = t->node[t->n - 1].corner.temp_c;
    if (!(temp_c >= lo && temp_c <= hi))
        return fg_error(FG_ERR_RANGE, "temperature %g C is outside the temperature "
                        "model's %g..%g C", temp_c, lo, hi);
    int s;
    double L[3], v[3], pv[3][FIT_NPHYS], res[FIT_NPHYS];
    int n = lagrange(t, temp_c, &s, L);
    const fit_model *nd = t->node + s;
    fit_model m = nd[0];
    for (int a = 0; a < n; a++)
        fit_params_to_vec(&nd[a].p, pv[a]);
    for (int k = 0; k < FIT_NPHYS; k++) {
        for (int a = 0; a < n; a++)
            v[a] = pv[a][k];
        res[k] = interp(L, v, n, 0);
    }
    fit_params_from_vec(&m.p, res);
#define INTERP(field, lg)                                                      \
    do {                                                                       \
        for (int a = 0; a < n; a++)                                            \
            v[a] = nd[a].field;                                                \
        m.field = interp(L, v, n, lg);                                         \
    } while (0)
    for (int c = 0; c < FG_CELLS; c++)
        INTERP(w[c], 0);
    for (int j = 0; j < FG_COLS; j++)
        INTERP(w_gain[j], 1);
    INTERP(w_exp, 0);
    INTERP(corner.t_max_trim, 1);
    INTERP(corner.out_gain, 1);
#undef INTERP
    m.corner.temp_c = temp_c;
    fg_status st = fit_model_check(&m);
    if (st == FG_OK)
        *out = m;
    return st;
}

fg_status fit_tmodel_save(const fit_tmodel *t, const char *path)
{
    cJSON *root = cJSON_CreateObject(), *nodes = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "format", FIT_TFORMAT);
    cJSON_AddNumberToObject(root, "version", FIT_TVERSION);
    cJSON_AddStringToObject(root, "interpolation",
        "Lagrange polynomial in the die temperature through the 3 nodes nearest T "
        "(2 nodes: a line): physics parameters, cells, programming exponent; "
        "programming gains and the T_max trim and output gain in log");
    for (int k = 0; k < t->n; k++)
        cJSON_AddItemToArray(nodes, mf_model_cjson(&t->node[k]));
    cJSON_AddItemToObject(root, "nodes", nodes);
    return mf_json_save(path, root);
}

/* an mf_json_reader: the nodes of a temperature model into t */
static fg_status read_nodes(const cJSON *root, const char *path, void *t)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, FIT_TFORMAT))
        return fg_error(FG_ERR_FORMAT, "%s: field 'format' is not \"%s\"", path,
                        FIT_TFORMAT);
    if (!cJSON_IsNumber(ver) || ver->valuedouble != FIT_TVERSION)
        return fg_error(FG_ERR_FORMAT, "%s: field 'version' is not %d", path, FIT_TVERSION);
    int n = cJSON_GetArraySize(nodes);
    if (!cJSON_IsArray(nodes) || n < 2 || n > FIT_TNODES_MAX)
        return fg_error(FG_ERR_FORMAT, "%s: field 'nodes' must hold 2 to %d models", path,
                        FIT_TNODES_MAX);
    fit_model *m = malloc((size_t)n * sizeof *m);
    if (!m)
        return fg_error(FG_ERR_NOMEM, "%s: out of memory", path);
    fg_status st = FG_OK;
    for (int k = 0; k < n && st == FG_OK; k++) {
        char what[600];
        snprintf(what, sizeof what, "%s: nodes[%d]", path, k);
        st = mf_model_from_cjson(cJSON_GetArrayItem(nodes, k), what, &m[k]);
    }
    if (st == FG_OK && (st = fit_tmodel_init(t, m, n)) != FG_OK)
        st = fg_error(st, "%s: %s", path, fg_errmsg());
    free(m);
    return st;
}

fg_status fit_tmodel_from_json(const char *text, const char *what, fit_tmodel *t)
{
    return mf_json_parse(text, what, read_nodes, t);
}

fg_status fit_tmodel_load(fit_tmodel *t, const char *path)
{
    return mf_json_load(path, read_nodes, t);
}
