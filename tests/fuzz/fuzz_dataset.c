/* libFuzzer target: the calibration data set reader (cosim_dataset_read,
 * behind `fit --data`, `validate --data` and `simulate`'s resume), driven
 * through the structure of the file rather than its bytes.
 *
 * The input is a recipe: the bytes choose, for every data set the reader
 * knows (/inputs, /v_read, /y, /ok, /dvt, /w_target) and every root
 * attribute (format, version, op_*, corner_*, program_*, ...), whether it is
 * written as the writer does (byte < 128; an exhausted input reads 0, so a
 * short input is a valid file) or in one of the wrong shapes a foreign or
 * damaged file may hold: missing, another rank or extent, a huge extent
 * with no storage, another type (strings, integers, compounds), a group,
 * a null or scalar dataspace, a multi-element or 2-D attribute, a
 * variable-length string; values come from the input too (NaN, inf, out of
 * range). The library writes the file (H5Fcreate into a temporary name), so
 * each input is a well-formed HDF5 file and what is fuzzed is our reader,
 * not libhdf5's decoder of damaged bytes (fuzz_dataset_raw does that). */
#include "cosim.h"
#include "fuzz_util.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>

typedef struct { const uint8_t *d; size_t n; } fdp;

static unsigned fdp_u8(fdp *f)
{
    if (!f->n)
        return 0;
    f->n--;
    return *f->d++;
}

static uint64_t fdp_u64(fdp *f)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | fdp_u8(f);
    return v;
}

/* A number: the valid default, an edge value, or 8 raw bytes. */
static double fdp_num(fdp *f, double valid)
{
    static const double edge[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-300,
                                  1e300, 27.0, 1e-14, 1e-6, 150.0, -300.0,
                                  4.0, 0.999999, 1.000001};
    unsigned b = fdp_u8(f);
    if (b < 160)
        return valid;
    if (b < 240)
        return edge[b % (sizeof edge / sizeof edge[0])];
    if (b == 240)
        return NAN;
    if (b == 241)
        return INFINITY;
    if (b == 242)
        return -INFINITY;
    uint64_t u = fdp_u64(f);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* A short string: the valid one, or bytes of the input. */
static void fdp_str(fdp *f, const char *valid, char *out, size_t cap)
{
    unsigned b = fdp_u8(f);
    if (b < 160) {
        snprintf(out, cap, "%s", valid);
        return;
    }
    size_t n = fdp_u8(f) % cap;
    for (size_t k = 0; k < n; k++)
        out[k] = (char)fdp_u8(f);
    out[n] = '\0'; /* may be shorter: an embedded NUL ends it */
}

enum { BAD_OMIT, BAD_RANK, BAD_DIMS, BAD_HUGE, BAD_STRING, BAD_INTTYPE,
       BAD_F32, BAD_GROUP, BAD_NULLSPACE, BAD_SCALAR, BAD_COMPOUND, BAD_N };

static hid_t compound_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, 16);
    H5Tinsert(t, "a", 0, H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "b", 8, H5T_NATIVE_DOUBLE);
    return t;
}

/* Writes data set `name`: rank 1 (P) or 2 (rows, cols) of doubles, or an
 * int vector (is_int), as the writer does or in a wrong shape. */
static void put_dataset(fdp *f, hid_t file, const char *name, int rows, int cols,
                        int is_int, double valid)
{
    unsigned b = fdp_u8(f);
    int bad = b < 128 ? -1 : (int)(b - 128) % BAD_N;
    if (bad == BAD_OMIT)
        return;
    if (bad == BAD_GROUP) {
        hid_t g = H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g >= 0)
            H5Gclose(g);
        return;
    }
    int rank = cols ? 2 : 1;
    hsize_t dims[3] = {(hsize_t)rows, (hsize_t)cols, 2};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (bad == BAD_RANK)
        rank = rank == 2 ? (fdp_u8(f) & 1 ? 1 : 3) : 2;
    if (bad == BAD_DIMS)
        for (int k = 0; k < rank; k++)
            dims[k] = fdp_u8(f) % 40;
    hid_t space;
    if (bad == BAD_HUGE) {
        /* no storage is written: the extent is all there is */
        static const hsize_t huge[] = {(hsize_t)1 << 31, (hsize_t)1 << 40,
                                       (hsize_t)1 << 28, (hsize_t)1 << 62,
                                       4294967296ull + 16};
        dims[0] = huge[fdp_u8(f) % 5];
        hsize_t chunk[3] = {1, cols ? (hsize_t)cols : 1, 1};
        H5Pset_chunk(dcpl, rank, chunk);
        space = H5Screate_simple(rank, dims, NULL);
    } else if (bad == BAD_NULLSPACE) {
        space = H5Screate(H5S_NULL);
    } else if (bad == BAD_SCALAR) {
        space = H5Screate(H5S_SCALAR);
    } else {
        space = H5Screate_simple(rank, dims, NULL);
    }
    hid_t type = H5T_NATIVE_DOUBLE, own = -1;
    if (is_int && bad < 0)
        type = H5T_NATIVE_INT;
    if (bad == BAD_STRING) {
        own = type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, 1 + fdp_u8(f) % 12);
    } else if (bad == BAD_INTTYPE) {
        unsigned k = fdp_u8(f) % 4; /* the H5T_NATIVE_* are not constants */
        type = k == 0 ? H5T_NATIVE_SCHAR : k == 1 ? H5T_NATIVE_UINT64
             : k == 2 ? H5T_NATIVE_LLONG : H5T_NATIVE_USHORT;
    } else if (bad == BAD_F32) {
        type = H5T_NATIVE_FLOAT;
    } else if (bad == BAD_COMPOUND) {
        own = type = compound_type();
    }
    hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds >= 0 && bad != BAD_HUGE && bad != BAD_NULLSPACE) {
        hssize_t n = H5Sget_simple_extent_npoints(space);
        if (n > 0 && n < 100000) {
            double *v = malloc((size_t)n * sizeof *v);
            int *iv = malloc((size_t)n * sizeof *iv);
            for (hssize_t k = 0; k < n; k++)
                v[k] = fdp_num(f, valid), iv[k] = (int)fdp_u8(f) % 3 == 2 ? 0 : 1;
            if (type == H5T_NATIVE_INT)
                H5Dwrite(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, iv);
            else if (own < 0) /* numeric: converted from double */
                H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
            free(v);
            free(iv);
        }
    }
    if (ds >= 0)
        H5Dclose(ds);
    if (own >= 0)
        H5Tclose(own);
    H5Sclose(space);
    H5Pclose(dcpl);
}

/* Attribute kinds: what the writer uses, and what it does not. */
enum { ATT_DOUBLE, ATT_INT, ATT_LLONG, ATT_STRING };
enum { ABAD_OMIT, ABAD_DOUBLE, ABAD_INT, ABAD_STRING, ABAD_ARRAY, ABAD_STR2D,
       ABAD_VLEN, ABAD_NULLSPACE, ABAD_LLONG, ABAD_STRARRAY, ABAD_N };

/* Attribute of file type `type`; buf (NULL: none) in memory type mtype. */
static void attr_write2(hid_t file, const char *name, hid_t type, hid_t space,
                        hid_t mtype, const void *buf)
{
    hid_t a = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        if (buf)
            H5Awrite(a, mtype, buf);
        H5Aclose(a);
    }
}

static void attr_write(hid_t file, const char *name, hid_t type, hid_t space,
                       const void *buf)
{
    attr_write2(file, name, type, space, type, buf);
}

static void put_attr(fdp *f, hid_t file, const char *name, int kind,
                     double valid, const char *valid_s)
{
    unsigned b = fdp_u8(f);
    int bad = b < 128 ? -1 : (int)(b - 128) % ABAD_N;
    if (bad == ABAD_OMIT)
        return;
    if (bad < 0)
        bad = kind == ATT_DOUBLE ? ABAD_DOUBLE : kind == ATT_INT ? ABAD_INT
            : kind == ATT_LLONG ? ABAD_LLONG : ABAD_STRING;
    hid_t scalar = H5Screate(H5S_SCALAR);
    char s[64];
    switch (bad) {
    case ABAD_DOUBLE: {
        double v = fdp_num(f, valid);
        attr_write(file, name, H5T_NATIVE_DOUBLE, scalar, &v);
        break;
    }
    case ABAD_INT: {
        double d = fdp_num(f, valid);
        int v = isfinite(d) && fabs(d) < 2e9 ? (int)d : -7;
        attr_write(file, name, H5T_NATIVE_INT, scalar, &v);
        break;
    }
    case ABAD_LLONG: {
        long long v = (long long)fdp_u64(f);
        if (b < 128)
            v = (long long)valid;
        attr_write(file, name, H5T_NATIVE_LLONG, scalar, &v);
        break;
    }
    case ABAD_STRING: {
        fdp_str(f, valid_s ? valid_s : "x", s, sizeof s);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, strlen(s) + 1);
        attr_write(file, name, t, scalar, s);
        H5Tclose(t);
        break;
    }
    case ABAD_ARRAY: {
        hsize_t n = 2 + fdp_u8(f) % 30;
        double v[32];
        for (hsize_t k = 0; k < n; k++)
            v[k] = valid + (double)k;
        hid_t sp = H5Screate_simple(1, &n, NULL);
        attr_write2(file, name, fdp_u8(f) & 1 ? H5T_NATIVE_INT : H5T_NATIVE_DOUBLE,
                    sp, H5T_NATIVE_DOUBLE, v);
        H5Sclose(sp);
        break;
    }
    case ABAD_STR2D:
    case ABAD_STRARRAY: {
        hsize_t dims[3] = {2 + fdp_u8(f) % 6, 2 + fdp_u8(f) % 6, 3};
        int rank = bad == ABAD_STR2D ? 2 + (fdp_u8(f) & 1) : 1;
        size_t len = 1 + fdp_u8(f) % 40;
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, len);
        hid_t sp = H5Screate_simple(rank, dims, NULL);
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        char *buf = malloc((size_t)n * len);
        memset(buf, 'a', (size_t)n * len);
        attr_write(file, name, t, sp, buf);
        free(buf);
        H5Sclose(sp);
        H5Tclose(t);
        break;
    }
    case ABAD_VLEN: {
        fdp_str(f, valid_s ? valid_s : "vlen", s, sizeof s);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        const char *p = s;
        attr_write(file, name, t, scalar, &p);
        H5Tclose(t);
        break;
    }
    case ABAD_NULLSPACE: {
        hid_t sp = H5Screate(H5S_NULL);
        attr_write(file, name, kind == ATT_STRING ? H5T_C_S1 : H5T_NATIVE_DOUBLE,
                   sp, NULL);
        H5Sclose(sp);
        break;
    }
    }
    H5Sclose(scalar);
}

static const struct { const char *name; int kind; double valid; const char *s; } attrs[] = {
    {"format", ATT_STRING, 0, "fgcosim-calibration"},
    {"version", ATT_INT, 1, NULL},
    {"op_v_pre_V", ATT_DOUBLE, 1.0, NULL},
    {"op_v_read_V", ATT_DOUBLE, 0.8, NULL},
    {"op_t_max_s", ATT_DOUBLE, 1e-6, NULL},
    {"op_c_bl_F", ATT_DOUBLE, 1e-13, NULL},
    {"op_i_unit_A", ATT_DOUBLE, 1e-8, NULL},
    {"layout", ATT_STRING, 0, "regular"},
    {"layout_json", ATT_STRING, 0, "{}"},
    {"deck_sha256", ATT_STRING, 0, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    {"seed", ATT_LLONG, 7, NULL},
    {"ngspice_version", ATT_STRING, 0, "42"},
    {"corner_temp_c", ATT_DOUBLE, 27.0, NULL},
    {"corner_supply", ATT_DOUBLE, 1.0, NULL},
    {"corner_drift_s", ATT_DOUBLE, 0.0, NULL},
    {"corner_drift_rate", ATT_DOUBLE, 0.0, NULL},
    {"corner_drift_t0_s", ATT_DOUBLE, 1.0, NULL},
    {"corner_drift_sigma", ATT_DOUBLE, 0.0, NULL},
    {"corner_drift_neutral_V", ATT_DOUBLE, 0.0, NULL},
    {"corner_t_max_trim", ATT_DOUBLE, 1.0, NULL},
    {"corner_out_gain", ATT_DOUBLE, 1.0, NULL},
    {"corner_rails", ATT_INT, 3, NULL},
    {"corner_drift_seed", ATT_LLONG, 1, NULL},
    {"program_method", ATT_STRING, 0, "verify"},
    {"program_tol", ATT_DOUBLE, 0.01, NULL},
    {"program_iterations", ATT_INT, 2, NULL},
    {"program_worst_rel_err", ATT_DOUBLE, 0.005, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once++)
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fdp f = {data, size};
    int P = 1 + (int)(fdp_u8(&f) % 6);
    char path[4096];
    fuzz_tmpfile(NULL, 0, ".h5", path);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
        abort();
    put_dataset(&f, file, "/inputs", P, FG_ROWS, 0, 0.5);
    put_dataset(&f, file, "/v_read", P, FG_COLS, 0, 0.9);
    put_dataset(&f, file, "/y", P, FG_COLS, 0, 0.1);
    put_dataset(&f, file, "/ok", P, 0, 1, 1);
    put_dataset(&f, file, "/dvt", FG_ROWS, FG_COLS, 0, 0.2);
    put_dataset(&f, file, "/w_target", FG_ROWS, FG_COLS, 0, 0.5);
    for (size_t k = 0; k < sizeof attrs / sizeof attrs[0]; k++)
        put_attr(&f, file, attrs[k].name, attrs[k].kind, attrs[k].valid, attrs[k].s);
    H5Fclose(file);
    cosim_dataset ds;
    if (cosim_dataset_read(path, &ds) == FG_OK) {
        if (ds.P < 1 || !ds.inputs || !ds.ok)
            abort();
        cosim_dataset_free(&ds);
    }
    unlink(path);
    return 0;
}
