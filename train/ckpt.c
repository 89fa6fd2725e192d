/* Checkpoints: fixed little-endian header, tensor table, raw float32 data,
 * CRC-32 trailer. Format documented in train/CHECKPOINT.md. */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CK_MAGIC "FGNNCKPT"
#define CK_VERSION 3u /* written; versions 1 to 3 are read */
#define CK_NAME 32
#define CK_SPEC 512
#define CK_HEAD_V1 (8 + 4 + CK_NAME + CK_SPEC + 4 * 4 + 4 + 4 + 4 + 8 + 4 + 4)
#define CK_ARRAY (4 + 4 + 4 + 5 * 8 + CK_NAME) /* v2 "array" record */
#define CK_CORNER (6 * 8) /* v3 "corner" record */
#define CK_HEAD_V2 (CK_HEAD_V1 + CK_ARRAY)
#define CK_HEAD (CK_HEAD_V2 + CK_CORNER)
#define CK_MAX_DIM 1024 /* plausible array rows/cols */
#define CK_TREC (CK_NAME + 4 + 4 * 4)
#define CK_MAX_TENSORS 64
#define CK_SCALES "act_scale"

typedef struct { unsigned char *p; size_t at; } wbuf;

static void put(wbuf *b, const void *src, size_t n) { memcpy(b->p + b->at, src, n); b->at += n; }
static void put_u32(wbuf *b, uint32_t v)
{
    unsigned char q[4] = {v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24};
    put(b, q, 4);
}
static void put_u64(wbuf *b, uint64_t v) { put_u32(b, (uint32_t)v); put_u32(b, (uint32_t)(v >> 32)); }
static void put_f32(wbuf *b, float f) { uint32_t u; memcpy(&u, &f, 4); put_u32(b, u); }
static void put_f64(wbuf *b, double f) { uint64_t u; memcpy(&u, &f, 8); put_u64(b, u); }
static void put_str(wbuf *b, const char *s, size_t n)
{
    memset(b->p + b->at, 0, n);
    memcpy(b->p + b->at, s, strnlen(s, n - 1));
    b->at += n;
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static float get_f32(const unsigned char *p) { uint32_t u = get_u32(p); float f; memcpy(&f, &u, 4); return f; }
static double get_f64(const unsigned char *p)
{
    uint64_t u = get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
    double f;
    memcpy(&f, &u, 8);
    return f;
}

/* The v3 corner record: temp_c, supply, drift_s, t_max_trim, out_gain,
 * rails (as a float64); the nominal corner when on_array is 0. */
static void corner_to_vec(const nn_ckpt_array *a, double *v)
{
    fg_corner c = a->on_array ? a->corner : fg_corner_nominal();
    double cv[6] = {c.temp_c, c.supply, c.drift_s, c.t_max_trim, c.out_gain, c.rails};
    memcpy(v, cv, sizeof cv);
}

static void put_tensor_rec(wbuf *b, const char *name, int ndim, const int *shape)
{
    put_str(b, name, CK_NAME);
    put_u32(b, (uint32_t)ndim);
    for (int i = 0; i < 4; i++)
        put_u32(b, i < ndim ? (uint32_t)shape[i] : 0u);
}

fg_status nn_ckpt_save(const char *path, nn_net *net, const nn_ckpt_meta *m)
{
    int nt = nn_net_num_tensors(net), na = nn_net_num_analog(net);
    size_t len = CK_HEAD + (size_t)(nt + 1) * CK_TREC +
                 (nn_net_num_params(net) + (size_t)na) * 4 + 4;
    wbuf b = {calloc(1, len), 0};
    if (!b.p)
        return fg_error(FG_ERR_NOMEM, "%s: out of memory", path);
    put(&b, CK_MAGIC, 8);
    put_u32(&b, CK_VERSION);
    put_str(&b, nn_net_name(net), CK_NAME);
    put_str(&b, m->data, CK_SPEC);
    put_u32(&b, (uint32_t)m->H), put_u32(&b, (uint32_t)m->W);
    put_u32(&b, (uint32_t)m->C), put_u32(&b, (uint32_t)m->classes);
    put_f32(&b, m->in_scale);
    put_u32(&b, (uint32_t)m->factor);
    put_u32(&b, (uint32_t)m->epochs);
    put_u64(&b, m->seed);
    put_f32(&b, m->test_accuracy);
    put_u32(&b, (uint32_t)(nt + 1));
    /* array record: zeros and "ideal" when trained without an array */
    const nn_ckpt_array *ar = &m->array;
    double op[FG_OP_NFIELDS] = {0};
    if (ar->on_array)
        fg_op_point_to_vec(&ar->op, op);
    put_u32(&b, ar->on_array ? 1u : 0u);
    put_u32(&b, ar->on_array ? (uint32_t)ar->rows : 0u);
    put_u32(&b, ar->on_array ? (uint32_t)ar->cols : 0u);
    for (int k = 0; k < FG_OP_NFIELDS; k++)
        put_f64(&b, op[k]);
    put_str(&b, ar->backend[0] ? ar->backend : "ideal", CK_NAME);
    double cv[6];
    corner_to_vec(ar, cv);
    for (int k = 0; k < 6; k++)
        put_f64(&b, cv[k]);
    for (int i = 0; i < nt; i++) {
        const nn_tensor_info *t = nn_net_tensor(net, i);
        put_tensor_rec(&b, t->name, t->ndim, t->shape);
    }
    put_tensor_rec(&b, CK_SCALES, 1, &na);
    const float *p = nn_net_params(net);
    for (size_t i = 0; i < nn_net_num_params(net); i++)
        put_f32(&b, p[i]);
    for (int a = 0; a < na; a++)
        put_f32(&b, nn_net_act_scales(net)[a]);
    put_u32(&b, (uint32_t)crc32(0L, b.p, (uInt)b.at));
    fg_status st = fg_file_write_atomic(path, b.p, b.at);
    free(b.p);
    return st;
}

static fg_status read_corner(const char *path, const unsigned char *q, nn_ckpt_array *a)
{
    fg_corner c = fg_corner_nominal();
    double v[6];
    for (int k = 0; k < 6; k++)
        v[k] = get_f64(q + 8 * k);
    c.temp_c = v[0], c.supply = v[1], c.drift_s = v[2], c.t_max_trim = v[3];
    c.out_gain = v[4];
    c.rails = v[5] >= 0 && v[5] <= 3 && v[5] == floor(v[5]) ? (unsigned)v[5] : 99u;
    fg_status st = fg_corner_check(&c);
    if (st != FG_OK)
        return fg_error(FG_ERR_FORMAT, "%s: corner record: %s", path, fg_errmsg());
    a->corner = c;
    return FG_OK;
}

/* The v2 array record at q (CK_ARRAY bytes), checked. */
static fg_status read_array(const char *path, const unsigned char *q, nn_ckpt_array *a)
{
    uint32_t flag = get_u32(q), rows = get_u32(q + 4), cols = get_u32(q + 8);
    double op[FG_OP_NFIELDS];
    for (int k = 0; k < FG_OP_NFIELDS; k++)
        op[k] = get_f64(q + 12 + 8 * k);
    const unsigned char *name = q + 12 + 40;
    if (flag > 1)
        return fg_error(FG_ERR_FORMAT, "%s: array flag %u (0 or 1 expected)", path, flag);
    if (!memchr(name, 0, CK_NAME))
        return fg_error(FG_ERR_FORMAT, "%s: array backend name not NUL-terminated", path);
    if (flag) {
        if (rows < 1 || rows > CK_MAX_DIM || cols < 1 || cols > CK_MAX_DIM)
            return fg_error(FG_ERR_FORMAT, "%s: implausible array size %ux%u", path,
                            rows, cols);
        for (int k = 0; k < FG_OP_NFIELDS; k++)
            if (!(isfinite(op[k]) && op[k] > 0))
                return fg_error(FG_ERR_FORMAT, "%s: array op_point.%s = %g %s "
                                "(positive expected)", path, fg_op_field_name[k], op[k],
                                fg_op_field_unit[k]);
    }
    a->on_array = (int)flag;
    a->rows = (int)rows, a->cols = (int)cols;
    a->op = (fg_op_point){op[0], op[1], op[2], op[3], op[4]};
    memcpy(a->backend, name, CK_NAME);
    return FG_OK;
}

/* Header fields into m; *head = the header size of the file's version. */
static fg_status read_meta(const char *path, const unsigned char *p, size_t len,
                           nn_ckpt_meta *m, uint32_t *nt, size_t *head)
{
    if (len < CK_HEAD_V1 || memcmp(p, CK_MAGIC, 8))
        return fg_error(FG_ERR_FORMAT, "%s: not an fgcosim checkpoint (no %s magic)",
                        path, CK_MAGIC);
    uint32_t ver = get_u32(p + 8);
    if (ver < 1 || ver > CK_VERSION)
        return fg_error(FG_ERR_FORMAT,
                        "%s: checkpoint format version %u, this build reads versions "
                        "1 to %u", path, ver, CK_VERSION);
    *head = ver >= 3 ? CK_HEAD : ver == 2 ? CK_HEAD_V2 : CK_HEAD_V1;
    if (len < *head)
        return fg_error(FG_ERR_FORMAT, "%s: truncated header (%zu bytes)", path, len);
    const unsigned char *q = p + 12;
    memset(m, 0, sizeof *m);
    m->version = (int)ver;
    memcpy(m->net, q, CK_NAME - 1), q += CK_NAME;
    memcpy(m->data, q, CK_SPEC - 1), q += CK_SPEC;
    m->H = (int)get_u32(q), m->W = (int)get_u32(q + 4);
    m->C = (int)get_u32(q + 8), m->classes = (int)get_u32(q + 12), q += 16;
    m->in_scale = get_f32(q), q += 4;
    m->factor = (int)get_u32(q), q += 4;
    m->epochs = (int)get_u32(q), q += 4;
    m->seed = get_u32(q) | (uint64_t)get_u32(q + 4) << 32, q += 8;
    m->test_accuracy = get_f32(q), q += 4;
    *nt = get_u32(q), q += 4;
    if (*nt < 1 || *nt > CK_MAX_TENSORS)
        return fg_error(FG_ERR_FORMAT, "%s: implausible tensor count %u", path, *nt);
    m->array.corner = fg_corner_nominal();
    fg_status st = ver >= 2 ? read_array(path, q, &m->array) : FG_OK;
    if (st == FG_OK && ver >= 3)
        st = read_corner(path, q + CK_ARRAY, &m->array);
    return st;
}

static void shape_str(char *s, size_t n, int ndim, const int *shape)
{
    int at = 0;
    s[0] = 0;
    for (int i = 0; i < ndim && at < (int)n; i++)
        at += snprintf(s + at, n - (size_t)at, i ? "x%d" : "%d", shape[i]);
}

/* Compares tensor record k of the file with what the net expects. */
static fg_status check_rec(const char *path, const unsigned char *r, int k,
                           const char *name, int ndim, const int *shape,
                           const char *net)
{
    char fname[CK_NAME] = {0}, a[64], b[64];
    memcpy(fname, r, CK_NAME - 1);
    int fshape[4], fnd = (int)get_u32(r + CK_NAME);
    for (int i = 0; i < 4; i++)
        fshape[i] = (int)get_u32(r + CK_NAME + 4 + 4 * i);
    int same = !strcmp(fname, name) && fnd == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = fshape[i] == shape[i];
    if (same)
        return FG_OK;
    shape_str(a, sizeof a, fnd < 0 || fnd > 4 ? 0 : fnd, fshape);
    shape_str(b, sizeof b, ndim, shape);
    return fg_error(FG_ERR_FORMAT,
                    "%s: tensor %d is '%s' (%s) in the file, net '%s' expects '%s' (%s)",
                    path, k, fname, a, net, name, b);
}

/* Checks the tensor table, length and CRC of the file against the net's
 * layout `net` (no buffers needed). */
static fg_status check_body(const char *path, const unsigned char *p, size_t len,
                            size_t head, uint32_t nt, nn_net *net)
{
    int nn = nn_net_num_tensors(net), na = nn_net_num_analog(net);
    if ((int)nt != nn + 1)
        return fg_error(FG_ERR_FORMAT, "%s: %u tensors in the file, net '%s' has %d",
                        path, nt, nn_net_name(net), nn + 1);
    size_t need = head + (size_t)nt * CK_TREC +
                  (nn_net_num_params(net) + (size_t)na) * 4 + 4;
    const unsigned char *r = p + head;
    if (len < head + (size_t)nt * CK_TREC)
        return fg_error(FG_ERR_FORMAT, "%s: truncated tensor table (%zu bytes)",
                        path, len);
    fg_status st = FG_OK;
    for (int k = 0; k < nn && st == FG_OK; k++) {
        const nn_tensor_info *t = nn_net_tensor(net, k);
        st = check_rec(path, r + (size_t)k * CK_TREC, k, t->name, t->ndim,
                       t->shape, nn_net_name(net));
    }
    if (st == FG_OK)
        st = check_rec(path, r + (size_t)nn * CK_TREC, nn, CK_SCALES, 1, &na,
                       nn_net_name(net));
    if (st != FG_OK)
        return st;
    if (len != need)
        return fg_error(FG_ERR_FORMAT, "%s: %zu bytes, expected %zu (truncated?)",
                        path, len, need);
    if (get_u32(p + len - 4) != (uint32_t)crc32(0L, p, (uInt)(len - 4)))
        return fg_error(FG_ERR_FORMAT, "%s: CRC-32 mismatch (corrupt file)", path);
    return FG_OK;
}

/* The tensors after the table into the net's parameters and scales. */
static void load_body(const unsigned char *p, size_t head, uint32_t nt, nn_net *net)
{
    const unsigned char *d = p + head + (size_t)nt * CK_TREC;
    float *par = nn_net_params(net);
    for (size_t i = 0; i < nn_net_num_params(net); i++, d += 4)
        par[i] = get_f32(d);
    for (int a = 0; a < nn_net_num_analog(net); a++, d += 4)
        nn_net_act_scales(net)[a] = get_f32(d);
}

/* fg_errmsg() of a failed net build, as a format error naming the file. */
static fg_status net_error(const char *path)
{
    char why[512];
    snprintf(why, sizeof why, "%s", fg_errmsg());
    return fg_error(FG_ERR_FORMAT, "%s: %s", path, why);
}

fg_status nn_ckpt_load(const char *path, int max_batch, nn_net **out,
                       nn_ckpt_meta *m)
{
    char *data;
    size_t len;
    uint32_t nt = 0;
    size_t head = CK_HEAD;
    *out = NULL;
    fg_status st = fg_file_read(path, &data, &len);
    if (st != FG_OK)
        return st;
    const unsigned char *p = (const unsigned char *)data;
    st = read_meta(path, p, len, m, &nt, &head);
    nn_net *net = NULL;
    if (st == FG_OK && !nn_net_known(m->net))
        st = fg_error(FG_ERR_FORMAT, "%s: unknown net '%s'", path, m->net);
    /* the file must hold exactly the net its header names before the
     * net's buffers (sized by that header) are allocated */
    if (st == FG_OK && (st = nn_net_layout(&net, m->net, m->H, m->W, m->C,
                                           m->classes)) != FG_OK)
        st = net_error(path);
    if (st == FG_OK)
        st = check_body(path, p, len, head, nt, net);
    nn_net_free(net);
    net = NULL;
    if (st == FG_OK && (st = nn_net_new(&net, m->net, m->H, m->W, m->C,
                                        m->classes, max_batch)) != FG_OK)
        st = net_error(path);
    if (st == FG_OK)
        load_body(p, head, nt, net);
    free(data);
    if (st != FG_OK) {
        nn_net_free(net);
        return st;
    }
    *out = net;
    return FG_OK;
}

fg_status nn_ckpt_array_check(const char *ckpt, const nn_ckpt_array *trained,
                              const char *what, const nn_ckpt_array *given)
{
    if (!trained->on_array)
        return FG_OK;
    if (given->rows != trained->rows || given->cols != trained->cols)
        return fg_error(FG_ERR_RANGE, "%s: array of %dx%d cells, but %s was trained "
                        "for a %dx%d array", what, given->rows, given->cols, ckpt,
                        trained->rows, trained->cols);
    int k = fg_op_point_differs(&given->op, &trained->op);
    if (k < 0)
        return FG_OK;
    double t[FG_OP_NFIELDS], g[FG_OP_NFIELDS];
    fg_op_point_to_vec(&trained->op, t);
    fg_op_point_to_vec(&given->op, g);
    return fg_error(FG_ERR_RANGE, "%s: op_point.%s = %.10g %s, but %s was trained for an "
                    "array with %s = %.10g %s", what, fg_op_field_name[k], g[k],
                    fg_op_field_unit[k], ckpt, fg_op_field_name[k], t[k],
                    fg_op_field_unit[k]);
}
