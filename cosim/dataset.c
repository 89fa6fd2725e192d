/* Calibration data sets in HDF5, readable from numpy/h5py:
 *   /inputs (P,16) pulse fractions, /v_read (P,16) bit-line volts at read
 *   time, /y (P,16) normalised outputs, /ok (P) 1 = converged,
 *   /dvt (16,16) V, /w_target (16,16) programmed targets;
 *   root attributes: format, version, layout, layout_json, deck_sha256,
 *   seed, ngspice_version, op_v_pre_V, op_v_read_V, op_t_max_s, op_c_bl_F,
 *   op_i_unit_A, and the corner: corner_temp_c, corner_supply,
 *   corner_rails (1 V_read, 2 V_pre), corner_drift_s, corner_drift_rate,
 *   corner_drift_t0_s, corner_drift_sigma, corner_drift_neutral_V,
 *   corner_drift_seed, corner_t_max_trim, corner_out_gain (files without
 *   them are nominal), and how the cells were programmed: program_method ("model"
 *   or "verify"), program_tol, program_iterations, program_worst_rel_err
 *   (files without them were programmed by "model"). /y is the drop
 *   below the precharge level applied at the corner, normalised.
 *   Optional (files before them have none): /energy (P,2) J drawn from
 *   each supply and /energy_delivered (P,2) J, both with attributes
 *   sources = "precharge,wordline" and unit = "J"; /latency_s (P) with
 *   attributes precharge_s, integrate_s, read_s (see cosim.h).
 *   Several programmed arrays (a network's tiles; version 2): /array (P)
 *   the array each pattern ran on, /w_targets and /dvts (A,16,16); /dvt
 *   and /w_target hold array 0 then. */
#include "cosim.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DS_FORMAT "fgcosim-calibration"
#define DS_VERSION 1       /* one programmed array                     */
#define DS_VERSION_ARRAYS 2 /* several: /array, /w_targets, /dvts       */
#define DS_MAX_ARRAYS 65536
#define DS_MAX_PATTERNS 10000000 /* simulate --patterns at most */

/* Root attribute `name` as one element of class cls (H5T_FLOAT takes an
 * integer too): 1 = so, 0 = absent, -1 = there in another shape or type
 * (an array, a 2-D or empty space, a variable-length string, another
 * class). The H5LT readers write every element of an attribute into the
 * one value they are given, so the shape is checked before each read. */
static int attr_one(hid_t f, const char *name, H5T_class_t cls, size_t *size)
{
    if (H5LTfind_attribute(f, name) != 1)
        return 0;
    hid_t a = H5Aopen_by_name(f, "/", name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t sp = H5Aget_space(a), t = H5Aget_type(a);
    H5T_class_t c = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    int ok = sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1 &&
             (c == cls || (cls == H5T_FLOAT && c == H5T_INTEGER)) &&
             !(c == H5T_STRING && H5Tis_variable_str(t) != 0);
    if (ok && size)
        *size = H5Tget_size(t);
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    H5Aclose(a);
    return ok ? 1 : -1;
}

/* One number from root attribute `name`: 1 read, 0 absent, -1 unreadable. */
static int attr_double(hid_t f, const char *name, double *v)
{
    int r = attr_one(f, name, H5T_FLOAT, NULL);
    return r == 1 && H5LTget_attribute_double(f, "/", name, v) < 0 ? -1 : r;
}

static int attr_int(hid_t f, const char *name, int *v)
{
    int r = attr_one(f, name, H5T_INTEGER, NULL);
    return r == 1 && H5LTget_attribute_int(f, "/", name, v) < 0 ? -1 : r;
}

static int attr_llong(hid_t f, const char *name, long long *v)
{
    int r = attr_one(f, name, H5T_INTEGER, NULL);
    return r == 1 && H5LTget_attribute_long_long(f, "/", name, v) < 0 ? -1 : r;
}

static int put_matrix(hid_t f, const char *name, const double *a, int r, int c)
{
    hsize_t dims[2] = {(hsize_t)r, (hsize_t)c};
    return H5LTmake_dataset_double(f, name, 2, dims, a) < 0;
}

/* The corner's numeric attributes, in one table for both directions. */
typedef struct { const char *name; double *v; } corner_attr;
#define CORNER_ATTRS(c)                                                      \
    {{"corner_temp_c", &(c)->temp_c}, {"corner_supply", &(c)->supply},       \
     {"corner_drift_s", &(c)->drift_s}, {"corner_drift_rate", &(c)->drift_rate}, \
     {"corner_drift_t0_s", &(c)->drift_t0_s},                                \
     {"corner_drift_sigma", &(c)->drift_sigma},                              \
     {"corner_drift_neutral_V", &(c)->drift_neutral_v},                      \
     {"corner_t_max_trim", &(c)->t_max_trim},                                \
     {"corner_out_gain", &(c)->out_gain}}

static int put_corner(hid_t f, const fg_corner *c0)
{
    fg_corner c = *c0;
    corner_attr a[] = CORNER_ATTRS(&c);
    int bad = 0, rails = (int)c.rails;
    long long seed = (long long)c.drift_seed;
    for (size_t k = 0; k < sizeof a / sizeof a[0]; k++)
        bad |= H5LTset_attribute_double(f, "/", a[k].name, a[k].v, 1) < 0;
    bad |= H5LTset_attribute_int(f, "/", "corner_rails", &rails, 1) < 0;
    bad |= H5LTset_attribute_long_long(f, "/", "corner_drift_seed", &seed, 1) < 0;
    return bad;
}

/* Nominal unless the file says otherwise; a value it holds is checked. */
static fg_status get_corner(hid_t f, const char *path, fg_corner *c)
{
    *c = fg_corner_nominal();
    corner_attr a[] = CORNER_ATTRS(c);
    for (size_t k = 0; k < sizeof a / sizeof a[0]; k++)
        if (attr_double(f, a[k].name, a[k].v) < 0)
            return fg_error(FG_ERR_FORMAT, "%s: attribute %s unreadable (one number "
                            "expected)", path, a[k].name);
    int rails = (int)c->rails;
    long long seed = (long long)c->drift_seed;
    if (attr_int(f, "corner_rails", &rails) < 0 ||
        attr_llong(f, "corner_drift_seed", &seed) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: attribute corner_rails or corner_drift_seed "
                        "unreadable (one integer expected)", path);
    c->rails = (unsigned)rails;
    c->drift_seed = (uint64_t)seed;
    fg_status st = fg_corner_check(c);
    return st == FG_OK ? st : fg_error(st, "%s: %s", path, fg_errmsg());
}

static int put_program(hid_t f, const cosim_dataset *ds)
{
    const char *method = ds->program_method[0] ? ds->program_method : "model";
    int bad = H5LTset_attribute_string(f, "/", "program_method", method) < 0;
    bad |= H5LTset_attribute_double(f, "/", "program_tol", &ds->program_tol, 1) < 0;
    bad |= H5LTset_attribute_int(f, "/", "program_iterations", &ds->program_iterations,
                                 1) < 0;
    bad |= H5LTset_attribute_double(f, "/", "program_worst_rel_err",
                                    &ds->program_worst_rel_err, 1) < 0;
    return bad;
}

#define ENERGY_SOURCES "precharge,wordline" /* cosim_src_name, in order */

/* /energy, /energy_delivered and /latency_s, when the data set has them. */
static int put_energy(hid_t f, const cosim_dataset *ds)
{
    if (!ds->energy)
        return 0;
    hsize_t np = (hsize_t)ds->P;
    int bad = put_matrix(f, "/energy", ds->energy, ds->P, COSIM_NSRC);
    bad |= put_matrix(f, "/energy_delivered", ds->energy_delivered, ds->P, COSIM_NSRC);
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "/energy_delivered" : "/energy";
        bad |= H5LTset_attribute_string(f, name, "sources", ENERGY_SOURCES) < 0;
        bad |= H5LTset_attribute_string(f, name, "unit", "J") < 0;
    }
    bad |= H5LTmake_dataset_double(f, "/latency_s", 1, &np, ds->latency_s) < 0;
    const nl_vmm_timing *t = &ds->timing;
    bad |= H5LTset_attribute_double(f, "/latency_s", "precharge_s", &t->precharge_s, 1) < 0;
    bad |= H5LTset_attribute_double(f, "/latency_s", "integrate_s", &t->integrate_s, 1) < 0;
    bad |= H5LTset_attribute_double(f, "/latency_s", "read_s", &t->read_s, 1) < 0;
    return bad;
}

/* /array, /w_targets and /dvts of a data set of several arrays. */
static int put_arrays(hid_t f, const cosim_dataset *ds)
{
    if (ds->n_arrays <= 1)
        return 0;
    hsize_t np = (hsize_t)ds->P, dims[3] = {(hsize_t)ds->n_arrays, FG_ROWS, FG_COLS};
    int bad = H5LTmake_dataset_int(f, "/array", 1, &np, ds->array) < 0;
    bad |= H5LTmake_dataset_double(f, "/w_targets", 3, dims, ds->w_targets) < 0;
    bad |= H5LTmake_dataset_double(f, "/dvts", 3, dims, ds->dvts) < 0;
    return bad;
}

static int put_attrs(hid_t f, const cosim_dataset *ds)
{
    const struct { const char *name; double v; } num[] = {
        {"op_v_pre_V", ds->op.v_pre}, {"op_v_read_V", ds->op.v_read},
        {"op_t_max_s", ds->op.t_max}, {"op_c_bl_F", ds->op.c_bl},
        {"op_i_unit_A", ds->op.i_unit},
    };
    int bad = 0, version = ds->n_arrays > 1 ? DS_VERSION_ARRAYS : DS_VERSION;
    long long seed = (long long)ds->seed;
    for (size_t k = 0; k < sizeof num / sizeof num[0]; k++)
        bad |= H5LTset_attribute_double(f, "/", num[k].name, &num[k].v, 1) < 0;
    bad |= H5LTset_attribute_string(f, "/", "format", DS_FORMAT) < 0;
    bad |= H5LTset_attribute_int(f, "/", "version", &version, 1) < 0;
    bad |= H5LTset_attribute_string(f, "/", "layout", ds->layout_name ? ds->layout_name : "") < 0;
    bad |= H5LTset_attribute_string(f, "/", "layout_json", ds->layout_json ? ds->layout_json : "") < 0;
    bad |= H5LTset_attribute_string(f, "/", "deck_sha256", ds->deck_sha256) < 0;
    bad |= H5LTset_attribute_long_long(f, "/", "seed", &seed, 1) < 0;
    bad |= H5LTset_attribute_string(f, "/", "ngspice_version",
                                    ds->ngspice_version ? ds->ngspice_version : "") < 0;
    return bad | put_corner(f, &ds->corner) | put_program(f, ds);
}

fg_status cosim_dataset_write(const char *path, const cosim_dataset *ds)
{
    fg_status st = fg_corner_check(&ds->corner);
    if (st != FG_OK) /* e.g. a zeroed corner: set fg_corner_nominal() */
        return fg_error(st, "%s: corner: %s", path, fg_errmsg());
    char *tmp = fg_tmp_name(path);
    if (!tmp)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int bad = f < 0;
    if (!bad) {
        hsize_t np = (hsize_t)ds->P;
        bad |= put_matrix(f, "/inputs", ds->inputs, ds->P, FG_ROWS);
        bad |= put_matrix(f, "/v_read", ds->v_bl, ds->P, FG_COLS);
        bad |= put_matrix(f, "/y", ds->y, ds->P, FG_COLS);
        bad |= H5LTmake_dataset_int(f, "/ok", 1, &np, ds->ok) < 0;
        bad |= put_matrix(f, "/dvt", ds->dvt, FG_ROWS, FG_COLS);
        bad |= put_matrix(f, "/w_target", ds->w_target, FG_ROWS, FG_COLS);
        bad |= put_attrs(f, ds);
        bad |= put_arrays(f, ds);
        bad |= put_energy(f, ds);
        bad |= H5Fclose(f) < 0;
    }
    if (!bad && rename(tmp, path) != 0)
        bad = 1;
    if (bad)
        unlink(tmp);
    free(tmp);
    return bad ? fg_error(FG_ERR_IO, "%s: cannot write HDF5 data set", path) : FG_OK;
}

/* Whether data set `name` has all its storage in the file: an extent
 * without storage reads as fill values, and a header may claim any
 * extent, so it is refused rather than allocated. */
static int ds_written(hid_t f, const char *name)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    H5D_space_status_t st = H5D_SPACE_STATUS_ERROR;
    int ok = d >= 0 && H5Dget_space_status(d, &st) >= 0 &&
             st == H5D_SPACE_STATUS_ALLOCATED;
    if (d >= 0)
        H5Dclose(d);
    return ok;
}

/* Reads a 2-D double data set of `cols` columns (rows = -1: any, set). */
static fg_status get_matrix(hid_t f, const char *path, const char *name,
                            int *rows, int cols, double **out)
{
    int rank;
    hsize_t dims[2] = {0, 0};
    H5T_class_t cls;
    size_t sz;
    if (!H5LTfind_dataset(f, name + 1) || H5LTget_dataset_ndims(f, name, &rank) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: data set %s is missing", path, name);
    if (rank != 2 || H5LTget_dataset_info(f, name, dims, &cls, &sz) < 0 ||
        dims[1] != (hsize_t)cols || (*rows >= 0 && dims[0] != (hsize_t)*rows) ||
        dims[0] == 0)
        return fg_error(FG_ERR_FORMAT, "%s: data set %s has shape (%llu,%llu), expected (%d,%d)",
                        path, name, (unsigned long long)dims[0],
                        (unsigned long long)dims[1], *rows >= 0 ? *rows : (int)dims[0], cols);
    if (dims[0] > DS_MAX_PATTERNS)
        return fg_error(FG_ERR_FORMAT, "%s: data set %s has %llu rows, more than %d",
                        path, name, (unsigned long long)dims[0], DS_MAX_PATTERNS);
    if (!ds_written(f, name))
        return fg_error(FG_ERR_FORMAT, "%s: data set %s has no data written (%llu rows "
                        "declared)", path, name, (unsigned long long)dims[0]);
    *rows = (int)dims[0];
    *out = malloc(dims[0] * dims[1] * sizeof **out);
    if (!*out)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    if (H5LTread_dataset_double(f, name, *out) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: cannot read %s", path, name);
    return FG_OK;
}

/* A fixed-length string attribute of one element, or NULL. */
static char *get_string_attr(hid_t f, const char *name)
{
    size_t sz = 0;
    if (attr_one(f, name, H5T_STRING, &sz) != 1)
        return NULL;
    char *s = calloc(sz + 1, 1);
    if (s && H5LTget_attribute_string(f, "/", name, s) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* "model" unless the file says otherwise (older files). */
static fg_status get_program(hid_t f, const char *path, cosim_dataset *ds)
{
    snprintf(ds->program_method, sizeof ds->program_method, "model");
    ds->program_tol = 0.0;
    ds->program_iterations = 0;
    ds->program_worst_rel_err = NAN;
    if (H5LTfind_attribute(f, "program_method") != 1)
        return FG_OK;
    char *m = get_string_attr(f, "program_method");
    int ok = m && (!strcmp(m, "model") || !strcmp(m, "verify"));
    if (ok)
        snprintf(ds->program_method, sizeof ds->program_method, "%s", m);
    free(m);
    ok = ok && attr_double(f, "program_tol", &ds->program_tol) >= 0 &&
         attr_int(f, "program_iterations", &ds->program_iterations) >= 0 &&
         attr_double(f, "program_worst_rel_err", &ds->program_worst_rel_err) >= 0;
    return ok ? FG_OK
              : fg_error(FG_ERR_FORMAT, "%s: attribute program_* unreadable (method "
                         "model or verify)", path);
}

/* The attributes, and the format version into *version. */
static fg_status get_attrs(hid_t f, const char *path, cosim_dataset *ds, int *version)
{
    const struct { const char *name; double *v; } num[] = {
        {"op_v_pre_V", &ds->op.v_pre}, {"op_v_read_V", &ds->op.v_read},
        {"op_t_max_s", &ds->op.t_max}, {"op_c_bl_F", &ds->op.c_bl},
        {"op_i_unit_A", &ds->op.i_unit},
    };
    for (size_t k = 0; k < sizeof num / sizeof num[0]; k++)
        if (attr_double(f, num[k].name, num[k].v) != 1 || !isfinite(*num[k].v) ||
            *num[k].v <= 0)
            return fg_error(FG_ERR_FORMAT, "%s: attribute %s missing or not positive",
                            path, num[k].name);
    char *fmt = get_string_attr(f, "format");
    int ok = fmt && !strcmp(fmt, DS_FORMAT);
    free(fmt);
    if (!ok || attr_int(f, "version", version) != 1)
        return fg_error(FG_ERR_FORMAT, "%s: not an fgcosim calibration data set", path);
    if (*version != DS_VERSION && *version != DS_VERSION_ARRAYS)
        return fg_error(FG_ERR_FORMAT, "%s: data set version %d, this build reads %d "
                        "and %d", path, *version, DS_VERSION, DS_VERSION_ARRAYS);
    long long seed = 0;
    if (attr_llong(f, "seed", &seed) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: attribute seed unreadable (one integer "
                        "expected)", path);
    ds->seed = (uint64_t)seed;
    ds->layout_name = get_string_attr(f, "layout");
    ds->layout_json = get_string_attr(f, "layout_json");
    ds->ngspice_version = get_string_attr(f, "ngspice_version");
    char *sha = get_string_attr(f, "deck_sha256");
    snprintf(ds->deck_sha256, sizeof ds->deck_sha256, "%s", sha ? sha : "");
    free(sha);
    fg_status st = get_program(f, path, ds);
    return st == FG_OK ? get_corner(f, path, &ds->corner) : st;
}

static fg_status check_values(const char *path, const cosim_dataset *ds)
{
    for (size_t k = 0; k < (size_t)ds->P * FG_ROWS; k++)
        if (!(ds->inputs[k] >= 0.0 && ds->inputs[k] <= 1.0))
            return fg_error(FG_ERR_RANGE, "%s: /inputs[%zu][%zu] = %g is not in [0,1]",
                            path, k / FG_ROWS, k % FG_ROWS, ds->inputs[k]);
    for (size_t k = 0; k < (size_t)ds->P * FG_COLS; k++)
        if (ds->ok[k / FG_COLS] && !isfinite(ds->y[k]))
            return fg_error(FG_ERR_RANGE, "%s: /y[%zu][%zu] is not finite",
                            path, k / FG_COLS, k % FG_COLS);
    for (size_t k = 0; ds->energy && k < (size_t)ds->P * COSIM_NSRC; k++)
        if (ds->ok[k / COSIM_NSRC] && !isfinite(ds->energy[k]))
            return fg_error(FG_ERR_RANGE, "%s: /energy[%zu][%zu] is not finite",
                            path, k / COSIM_NSRC, k % COSIM_NSRC);
    for (int p = 0; ds->array && p < ds->P; p++)
        if (ds->array[p] < 0 || ds->array[p] >= ds->n_arrays)
            return fg_error(FG_ERR_RANGE, "%s: /array[%d] = %d is not an array in 0..%d",
                            path, p, ds->array[p], ds->n_arrays - 1);
    for (size_t k = 0; ds->w_targets && k < (size_t)ds->n_arrays * FG_CELLS; k++)
        if (!isfinite(ds->w_targets[k]) || !isfinite(ds->dvts[k]))
            return fg_error(FG_ERR_RANGE, "%s: /%s[%zu][%zu][%zu] is not finite", path,
                            isfinite(ds->dvts[k]) ? "w_targets" : "dvts", k / FG_CELLS,
                            k % FG_CELLS / FG_COLS, k % FG_COLS);
    for (int p = 0; ds->latency_s && p < ds->P; p++)
        if (!(ds->latency_s[p] > 0))
            return fg_error(FG_ERR_RANGE, "%s: /latency_s[%d] = %g is not positive",
                            path, p, ds->latency_s[p]);
    return FG_OK;
}

/* /ok: exactly P flags (a longer one overflowed the buffer before). */
static fg_status get_flags(hid_t f, const char *path, int P, int *ok)
{
    int rank;
    hsize_t dims[2] = {0, 0};
    H5T_class_t cls;
    size_t sz;
    if (!H5LTfind_dataset(f, "ok") || H5LTget_dataset_ndims(f, "/ok", &rank) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: data set /ok is missing", path);
    if (rank != 1 || H5LTget_dataset_info(f, "/ok", dims, &cls, &sz) < 0 ||
        dims[0] != (hsize_t)P)
        return fg_error(FG_ERR_FORMAT, "%s: data set /ok has %llu entries in %d "
                        "dimension(s), expected (%d)", path, (unsigned long long)dims[0],
                        rank, P);
    if (!ds_written(f, "/ok") || H5LTread_dataset_int(f, "/ok", ok) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: cannot read /ok", path);
    for (int p = 0; p < P; p++)
        if (ok[p] != 0 && ok[p] != 1)
            return fg_error(FG_ERR_FORMAT, "%s: /ok[%d] = %d (0 or 1 expected)", path,
                            p, ok[p]);
    return FG_OK;
}

/* A string attribute of object obj must read `want`. */
static int attr_is(hid_t f, const char *obj, const char *name, const char *want)
{
    hsize_t dims;
    H5T_class_t cls;
    size_t sz = 0;
    char buf[64] = "";
    if (H5LTget_attribute_info(f, obj, name, &dims, &cls, &sz) < 0 || cls != H5T_STRING ||
        sz >= sizeof buf || H5LTget_attribute_string(f, obj, name, buf) < 0)
        return 0;
    return !strcmp(buf, want);
}

/* /latency_s: exactly P values, and its phases. */
static fg_status get_latency(hid_t f, const char *path, cosim_dataset *ds)
{
    int rank;
    hsize_t dims[2] = {0, 0};
    H5T_class_t cls;
    size_t sz;
    if (!H5LTfind_dataset(f, "latency_s") || H5LTget_dataset_ndims(f, "/latency_s", &rank) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: /energy without /latency_s", path);
    if (rank != 1 || H5LTget_dataset_info(f, "/latency_s", dims, &cls, &sz) < 0 ||
        dims[0] != (hsize_t)ds->P)
        return fg_error(FG_ERR_FORMAT, "%s: data set /latency_s has %llu entries in %d "
                        "dimension(s), expected (%d)", path, (unsigned long long)dims[0],
                        rank, ds->P);
    if (!(ds->latency_s = malloc((size_t)ds->P * sizeof *ds->latency_s)))
        return fg_error(FG_ERR_NOMEM, "out of memory");
    nl_vmm_timing *t = &ds->timing;
    if (H5LTread_dataset_double(f, "/latency_s", ds->latency_s) < 0 ||
        H5LTget_attribute_double(f, "/latency_s", "precharge_s", &t->precharge_s) < 0 ||
        H5LTget_attribute_double(f, "/latency_s", "integrate_s", &t->integrate_s) < 0 ||
        H5LTget_attribute_double(f, "/latency_s", "read_s", &t->read_s) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: cannot read /latency_s and its attributes "
                        "precharge_s, integrate_s, read_s", path);
    t->total_s = t->precharge_s + t->integrate_s + t->read_s;
    return FG_OK;
}

/* An (A,16,16) data set of A <= DS_MAX_ARRAYS arrays (*A = -1: any, set). */
static fg_status get_tiles(hid_t f, const char *path, const char *name, int *A,
                           double **out)
{
    int rank = 0;
    hsize_t dims[3] = {0, 0, 0};
    H5T_class_t cls;
    size_t sz;
    if (!H5LTfind_dataset(f, name + 1) || H5LTget_dataset_ndims(f, name, &rank) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: data set %s is missing (version 2: several "
                        "arrays)", path, name);
    if (rank != 3 || H5LTget_dataset_info(f, name, dims, &cls, &sz) < 0 ||
        dims[0] < 2 || dims[0] > DS_MAX_ARRAYS || dims[1] != FG_ROWS ||
        dims[2] != FG_COLS || (*A >= 0 && dims[0] != (hsize_t)*A))
        return fg_error(FG_ERR_FORMAT, "%s: data set %s is not (A,16,16) with 2 <= A "
                        "<= %d%s", path, name, DS_MAX_ARRAYS, *A >= 0 ? " as /w_targets" : "");
    if (!ds_written(f, name))
        return fg_error(FG_ERR_FORMAT, "%s: data set %s has no data written", path, name);
    *A = (int)dims[0];
    if (!(*out = malloc(dims[0] * FG_CELLS * sizeof **out)))
        return fg_error(FG_ERR_NOMEM, "out of memory");
    if (H5LTread_dataset_double(f, name, *out) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: cannot read %s", path, name);
    return FG_OK;
}

/* Version 2: /w_targets, /dvts and /array (P ints); version 1: one array. */
static fg_status get_arrays(hid_t f, const char *path, int version, cosim_dataset *ds)
{
    int A = -1, rank = 0;
    hsize_t dims[2] = {0, 0};
    H5T_class_t cls;
    size_t sz;
    if (version != DS_VERSION_ARRAYS) {
        ds->n_arrays = 1;
        return FG_OK;
    }
    fg_status st = get_tiles(f, path, "/w_targets", &A, &ds->w_targets);
    if (st == FG_OK)
        st = get_tiles(f, path, "/dvts", &A, &ds->dvts);
    if (st != FG_OK)
        return st;
    ds->n_arrays = A;
    if (!H5LTfind_dataset(f, "array") || H5LTget_dataset_ndims(f, "/array", &rank) < 0 ||
        rank != 1 || H5LTget_dataset_info(f, "/array", dims, &cls, &sz) < 0 ||
        dims[0] != (hsize_t)ds->P || !ds_written(f, "/array"))
        return fg_error(FG_ERR_FORMAT, "%s: data set /array missing or not (%d)", path,
                        ds->P);
    if (!(ds->array = malloc((size_t)ds->P * sizeof *ds->array)))
        return fg_error(FG_ERR_NOMEM, "out of memory");
    if (H5LTread_dataset_int(f, "/array", ds->array) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: cannot read /array", path);
    return FG_OK;
}

/* The optional energy data sets: none, or all three of the right shapes
 * with the sources this build knows. */
static fg_status get_energy(hid_t f, const char *path, cosim_dataset *ds)
{
    if (!H5LTfind_dataset(f, "energy"))
        return H5LTfind_dataset(f, "latency_s") || H5LTfind_dataset(f, "energy_delivered")
                   ? fg_error(FG_ERR_FORMAT, "%s: /latency_s or /energy_delivered "
                              "without /energy", path)
                   : FG_OK;
    int P = ds->P;
    fg_status st = get_matrix(f, path, "/energy", &P, COSIM_NSRC, &ds->energy);
    if (st == FG_OK)
        st = get_matrix(f, path, "/energy_delivered", &P, COSIM_NSRC, &ds->energy_delivered);
    for (int k = 0; k < 2 && st == FG_OK; k++) {
        const char *name = k ? "/energy_delivered" : "/energy";
        if (!attr_is(f, name, "sources", ENERGY_SOURCES) || !attr_is(f, name, "unit", "J"))
            st = fg_error(FG_ERR_FORMAT, "%s: %s: attribute sources is not \"%s\" or "
                          "unit is not \"J\"", path, name, ENERGY_SOURCES);
    }
    return st == FG_OK ? get_latency(f, path, ds) : st;
}

static fg_status read_open(hid_t f, const char *path, cosim_dataset *ds)
{
    int P = -1, sq = FG_ROWS, version = 0;
    double *dvt = NULL, *wt = NULL;
    fg_status st = get_matrix(f, path, "/inputs", &P, FG_ROWS, &ds->inputs);
    if (st == FG_OK)
        st = get_matrix(f, path, "/v_read", &P, FG_COLS, &ds->v_bl);
    if (st == FG_OK)
        st = get_matrix(f, path, "/y", &P, FG_COLS, &ds->y);
    if (st == FG_OK && (st = get_matrix(f, path, "/dvt", &sq, FG_COLS, &dvt)) == FG_OK)
        memcpy(ds->dvt, dvt, sizeof ds->dvt);
    if (st == FG_OK && (st = get_matrix(f, path, "/w_target", &sq, FG_COLS, &wt)) == FG_OK)
        memcpy(ds->w_target, wt, sizeof ds->w_target);
    free(dvt);
    free(wt);
    ds->P = P;
    if (st == FG_OK && !(ds->ok = malloc((size_t)P * sizeof *ds->ok)))
        st = fg_error(FG_ERR_NOMEM, "out of memory");
    if (st == FG_OK)
        st = get_flags(f, path, P, ds->ok);
    if (st == FG_OK)
        st = get_attrs(f, path, ds, &version);
    if (st == FG_OK)
        st = get_arrays(f, path, version, ds);
    if (st == FG_OK)
        st = get_energy(f, path, ds);
    return st == FG_OK ? check_values(path, ds) : st;
}

fg_status cosim_dataset_read(const char *path, cosim_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    if (access(path, R_OK) != 0)
        return fg_error(FG_ERR_IO, "%s: no such readable file", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return fg_error(FG_ERR_FORMAT, "%s: not an HDF5 file", path);
    fg_status st = read_open(f, path, ds);
    H5Fclose(f);
    if (st != FG_OK)
        cosim_dataset_free(ds);
    return st;
}

const double *cosim_dataset_w_target(const cosim_dataset *ds, int a)
{
    return ds->n_arrays > 1 ? ds->w_targets + (size_t)a * FG_CELLS : ds->w_target;
}

void cosim_dataset_free(cosim_dataset *ds)
{
    free(ds->inputs);
    free(ds->v_bl);
    free(ds->y);
    free(ds->ok);
    free(ds->energy);
    free(ds->energy_delivered);
    free(ds->latency_s);
    free(ds->array);
    free(ds->w_targets);
    free(ds->dvts);
    free(ds->layout_name);
    free(ds->layout_json);
    free(ds->ngspice_version);
    memset(ds, 0, sizeof *ds);
}
