/* Networks: a sequence of layers over one parameter block (params, grads and
 * optimiser state m, v shaped the same). Linear and conv layers are "analog":
 * their input is clipped to [0, s_x] (pulse range) and their matrix product
 * goes through the array backend on 16x16 tiles, or through a dense sgemm
 * when the backend is NULL or ideal (mathematically the same product). */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NN_MAX_LAYERS 24
#define NN_MAX_TENSORS 32
#define NN_SX_MOMENTUM 0.9f
#define NN_MAX_SIDE 4096    /* image height and width at most   */
#define NN_MAX_CHANNELS 64  /* input channels at most           */
#define NN_MAX_CLASSES 65536

typedef struct {
    nn_layer_kind kind;
    int H, W, C;    /* input (per image)  */
    int OH, OW, OC; /* output (per image) */
    int K, stride, pad;
    int wt, bt;     /* tensor indices (analog layers), else -1 */
    int analog;     /* index into s_x, else -1 */
    int pixel_in;   /* analog layer fed by the data (s_x fixed at 1) */
    int need_dinp;  /* an analog layer lies before: propagate gradients */
    float *xc, *dxc;     /* (maxB, H*W*C) clipped input and its gradient */
    float *cols, *dcols; /* conv: (maxB*OH*OW, K*K*C) */
} nn_layer;

struct nn_net {
    char name[32];
    int H, W, C, classes, maxB;
    int nl, nt, na;
    nn_layer L[NN_MAX_LAYERS];
    nn_tensor_info T[NN_MAX_TENSORS];
    size_t P;
    float *params, *grads, *m, *v; /* (P) each */
    float sx[NN_MAX_LAYERS];
    int sx_init[NN_MAX_LAYERS];
    float *act[NN_MAX_LAYERS + 1], *dact[NN_MAX_LAYERS + 1]; /* (maxB, size) */
    fg_backend *be;
    nn_tiles_mode tiles;
    nn_scratch ws; /* of the tiled products */
    nn_grad_mode grad;
    float *gains;  /* NN_GRAD_LINEAR: the tile gains of the last forward,
                      analog layer a at + goff[a] (nr,nc,16)          */
    size_t goff[NN_MAX_LAYERS];
};

static size_t in_size(const nn_layer *l) { return (size_t)l->H * l->W * l->C; }
static size_t out_size(const nn_layer *l) { return (size_t)l->OH * l->OW * l->OC; }

/* ---- building ------------------------------------------------------------- */
static nn_layer *push(nn_net *n, nn_layer_kind kind)
{
    nn_layer *l = &n->L[n->nl];
    const nn_layer *prev = n->nl ? &n->L[n->nl - 1] : NULL;
    *l = (nn_layer){.kind = kind, .wt = -1, .bt = -1, .analog = -1};
    l->H = prev ? prev->OH : n->H;
    l->W = prev ? prev->OW : n->W;
    l->C = prev ? prev->OC : n->C;
    l->OH = l->H, l->OW = l->W, l->OC = l->C;
    n->nl++;
    return l;
}

static int add_tensor(nn_net *n, const char *name, int ndim, const int *shape,
                      int decay)
{
    nn_tensor_info *t = &n->T[n->nt];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->size = 1;
    for (int i = 0; i < ndim; i++)
        t->size *= (size_t)(t->shape[i] = shape[i]);
    t->offset = n->P;
    t->decay = decay;
    n->P += t->size;
    return n->nt++;
}

static void add_analog(nn_net *n, nn_layer *l, const char *pfx, int ndim,
                       const int *wshape, int OC)
{
    char nm[32];
    int seen = 0;
    for (int i = 0; i < n->nl - 1; i++)
        seen |= n->L[i].analog >= 0;
    l->pixel_in = !seen;
    l->analog = n->na++;
    snprintf(nm, sizeof nm, "%s.w", pfx);
    l->wt = add_tensor(n, nm, ndim, wshape, 1);
    snprintf(nm, sizeof nm, "%s.b", pfx);
    l->bt = add_tensor(n, nm, 1, &OC, 0);
}

static void add_conv(nn_net *n, int OC, int K, int pad)
{
    nn_layer *l = push(n, NN_CONV);
    char pfx[16];
    l->K = K, l->stride = 1, l->pad = pad, l->OC = OC;
    l->OH = (l->H + 2 * pad - K) + 1;
    l->OW = (l->W + 2 * pad - K) + 1;
    snprintf(pfx, sizeof pfx, "conv%d", n->na + 1);
    int shape[4] = {OC, K, K, l->C};
    add_analog(n, l, pfx, 4, shape, OC);
}

static void add_linear(nn_net *n, int OC)
{
    nn_layer *l = push(n, NN_LINEAR);
    char pfx[16];
    l->OH = l->OW = 1, l->OC = OC;
    snprintf(pfx, sizeof pfx, "fc%d", n->na + 1);
    int shape[2] = {OC, (int)in_size(l)};
    add_analog(n, l, pfx, 2, shape, OC);
}

static void add_pool(nn_net *n, nn_layer_kind kind, int K)
{
    nn_layer *l = push(n, kind);
    l->K = K, l->stride = K;
    l->OH = (l->H - K) / K + 1;
    l->OW = (l->W - K) / K + 1;
}

static void add_simple(nn_net *n, nn_layer_kind kind)
{
    nn_layer *l = push(n, kind);
    if (kind == NN_FLATTEN) {
        l->OC = (int)in_size(l);
        l->OH = l->OW = 1;
    }
}

/* The built-in nets, the one list of them: name, smallest image side, and
 * the training defaults (data set, epochs, learning rate; Adam, batch 64). */
static const nn_net_def net_defs[] = {
    {"mlp-lowres", "flatten-24-10 on 7x7 MNIST", 1, "mnist-lowres", 40, 1e-2f},
    {"mlp", "flatten-256-10 (784-256-10 on MNIST)", 1, "mnist", 3, 3e-3f},
    {"lenet5", "LeNet-5", 16, "mnist", 12, 1e-3f},
    {"vgg-small", "5 conv layers, VGG style", 8, "fashion", 10, 1e-3f},
};
#define NET_NDEFS ((int)(sizeof net_defs / sizeof net_defs[0]))

const nn_net_def *nn_net_def_find(const char *name)
{
    for (int i = 0; name && i < NET_NDEFS; i++)
        if (!strcmp(name, net_defs[i].name))
            return &net_defs[i];
    return NULL;
}

const char *nn_net_names(void)
{
    static char buf[128];
    if (!buf[0])
        for (int i = 0; i < NET_NDEFS; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s",
                     i ? ", " : "", net_defs[i].name);
    return buf;
}

int nn_net_known(const char *name) { return nn_net_def_find(name) != NULL; }

static void build_mlp(nn_net *n, int hidden)
{
    add_simple(n, NN_FLATTEN);
    add_linear(n, hidden);
    add_simple(n, NN_RELU);
    add_linear(n, n->classes);
}

static void build(nn_net *n)
{
    if (!strcmp(n->name, "mlp-lowres")) {
        build_mlp(n, 24);
    } else if (!strcmp(n->name, "mlp")) {
        build_mlp(n, 256);
    } else if (!strcmp(n->name, "lenet5")) {
        add_conv(n, 6, 5, 2);
        add_simple(n, NN_RELU);
        add_pool(n, NN_MAXPOOL, 2);
        add_conv(n, 16, 5, 0);
        add_simple(n, NN_RELU);
        add_pool(n, NN_MAXPOOL, 2);
        add_simple(n, NN_FLATTEN);
        add_linear(n, 120);
        add_simple(n, NN_RELU);
        add_linear(n, 84);
        add_simple(n, NN_RELU);
        add_linear(n, n->classes);
    } else { /* vgg-small */
        static const int ch[5] = {16, 16, 32, 32, 64};
        for (int i = 0; i < 5; i++) {
            add_conv(n, ch[i], 3, 1);
            add_simple(n, NN_RELU);
            if (i == 1 || i == 3 || i == 4)
                add_pool(n, NN_MAXPOOL, 2);
        }
        add_simple(n, NN_FLATTEN);
        add_linear(n, n->classes);
    }
}

static fg_status net_alloc(nn_net *n)
{
    int seen = 0;
    size_t B = (size_t)n->maxB;
    n->params = calloc(n->P, sizeof(float));
    n->grads = calloc(n->P, sizeof(float));
    n->m = calloc(n->P, sizeof(float));
    n->v = calloc(n->P, sizeof(float));
    int ok = n->params && n->grads && n->m && n->v;
    for (int i = 0; i <= n->nl && ok; i++) {
        size_t sz = i < n->nl ? in_size(&n->L[i]) : out_size(&n->L[n->nl - 1]);
        n->act[i] = calloc(B * sz, sizeof(float));
        n->dact[i] = calloc(B * sz, sizeof(float));
        ok = n->act[i] && n->dact[i];
    }
    for (int i = 0; i < n->nl && ok; i++) {
        nn_layer *l = &n->L[i];
        l->need_dinp = seen;
        if (l->analog < 0)
            continue;
        seen = 1;
        l->xc = calloc(B * in_size(l), sizeof(float));
        l->dxc = calloc(B * in_size(l), sizeof(float));
        ok = l->xc && l->dxc;
        if (ok && l->kind == NN_CONV) {
            size_t c = B * l->OH * l->OW * (size_t)(l->K * l->K * l->C);
            l->cols = calloc(c, sizeof(float));
            l->dcols = calloc(c, sizeof(float));
            ok = l->cols && l->dcols;
        }
        n->sx[l->analog] = 1.0f;
    }
    return ok ? FG_OK : fg_error(FG_ERR_NOMEM, "%s: out of memory", n->name);
}

/* Validated sizes and the layer/tensor layout, no buffers (max_batch 0). */
static fg_status net_build(nn_net **out, const char *name, int H, int W, int C,
                           int classes)
{
    *out = NULL;
    const nn_net_def *def = nn_net_def_find(name);
    if (!def)
        return fg_error(FG_ERR_RANGE, "unknown net '%s' (%s)", name, nn_net_names());
    int minhw = def->min_side;
    /* the upper bounds keep every per-image size (H*W*C) in an int */
    if (H < minhw || W < minhw || C < 1 || classes < 2 || H > NN_MAX_SIDE ||
        W > NN_MAX_SIDE || C > NN_MAX_CHANNELS || classes > NN_MAX_CLASSES)
        return fg_error(FG_ERR_RANGE, "net '%s' needs images of %dx%d to %dx%d with "
                        "1 to %d channels and 2 to %d classes (got %dx%dx%d, %d "
                        "classes)", name, minhw, minhw, NN_MAX_SIDE, NN_MAX_SIDE,
                        NN_MAX_CHANNELS, NN_MAX_CLASSES, H, W, C, classes);
    nn_net *n = calloc(1, sizeof *n);
    if (!n)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    snprintf(n->name, sizeof n->name, "%s", name);
    n->H = H, n->W = W, n->C = C, n->classes = classes;
    build(n);
    *out = n;
    return FG_OK;
}

fg_status nn_net_layout(nn_net **out, const char *name, int H, int W, int C,
                        int classes)
{
    return net_build(out, name, H, W, C, classes);
}

fg_status nn_net_new(nn_net **out, const char *name, int H, int W, int C,
                     int classes, int max_batch)
{
    *out = NULL;
    if (max_batch < 1)
        return fg_error(FG_ERR_RANGE, "net '%s': max_batch %d < 1", name, max_batch);
    nn_net *n;
    fg_status st = net_build(&n, name, H, W, C, classes);
    if (st != FG_OK)
        return st;
    n->maxB = max_batch;
    if ((st = net_alloc(n)) != FG_OK) {
        nn_net_free(n);
        return st;
    }
    *out = n;
    return FG_OK;
}

void nn_net_free(nn_net *n)
{
    if (!n)
        return;
    free(n->params), free(n->grads), free(n->m), free(n->v);
    for (int i = 0; i <= n->nl; i++)
        free(n->act[i]), free(n->dact[i]);
    for (int i = 0; i < n->nl; i++) {
        nn_layer *l = &n->L[i];
        free(l->xc), free(l->dxc), free(l->cols), free(l->dcols);
    }
    nn_scratch_free(&n->ws);
    free(n->gains);
    free(n);
}

void nn_net_init(nn_net *n, uint64_t seed)
{
    fg_rng r;
    fg_rng_seed(&r, seed);
    memset(n->params, 0, n->P * sizeof(float));
    memset(n->m, 0, n->P * sizeof(float));
    memset(n->v, 0, n->P * sizeof(float));
    for (int i = 0; i < n->nt; i++) {
        const nn_tensor_info *t = &n->T[i];
        if (!t->decay)
            continue; /* biases stay 0 */
        size_t fan_in = t->size / (size_t)t->shape[0];
        double sd = sqrt(2.0 / (double)fan_in);
        for (size_t k = 0; k < t->size; k++)
            n->params[t->offset + k] = (float)(sd * fg_rng_normal(&r));
    }
    for (int a = 0; a < n->na; a++)
        n->sx[a] = 1.0f, n->sx_init[a] = 0;
}

/* ---- accessors ---------------------------------------------------------------- */
static nn_linear_dims layer_ld(const nn_layer *l, int B)
{
    if (l->kind == NN_CONV)
        return nn_conv_as_linear(nn_conv_dims_make(B, l->H, l->W, l->C, l->OC,
                                                   l->K, l->stride, l->pad));
    return (nn_linear_dims){.N = B, .IC = (int)in_size(l), .OC = l->OC};
}

void nn_net_set_backend(nn_net *n, fg_backend *be) { n->be = be; }
fg_backend *nn_net_backend(const nn_net *n) { return n->be; }
void nn_net_set_tiles(nn_net *n, nn_tiles_mode mode) { n->tiles = mode; }

fg_status nn_net_set_grad(nn_net *n, nn_grad_mode g)
{
    if (g != NN_GRAD_EXACT && g != NN_GRAD_LINEAR)
        return fg_error(FG_ERR_RANGE, "gradient mode %d", (int)g);
    if (g == NN_GRAD_LINEAR && !n->gains) {
        size_t total = 0;
        for (int i = 0; i < n->nl; i++)
            if (n->L[i].analog >= 0) {
                nn_linear_dims d = layer_ld(&n->L[i], 1);
                n->goff[n->L[i].analog] = total;
                total += (size_t)nn_tile_count(d.IC, d.OC) * FG_COLS;
            }
        if (!(n->gains = malloc((total ? total : 1) * sizeof *n->gains)))
            return fg_error(FG_ERR_NOMEM, "out of memory (tile gains)");
        for (size_t k = 0; k < total; k++)
            n->gains[k] = 1.0f;
    }
    n->grad = g;
    return FG_OK;
}

void nn_net_set_input_grad(nn_net *n, int on)
{
    int seen = on != 0; /* an analog layer lies before, or the input counts */
    for (int i = 0; i < n->nl; i++) {
        n->L[i].need_dinp = seen;
        seen |= n->L[i].analog >= 0;
    }
}

const float *nn_net_input_grad(const nn_net *n) { return n->dact[0]; }
size_t nn_net_input_size(const nn_net *n) { return in_size(&n->L[0]); }
const char *nn_net_name(const nn_net *n) { return n->name; }
int nn_net_max_batch(const nn_net *n) { return n->maxB; }
int nn_net_classes(const nn_net *n) { return n->classes; }
size_t nn_net_num_params(const nn_net *n) { return n->P; }
float *nn_net_params(nn_net *n) { return n->params; }
float *nn_net_grads(nn_net *n) { return n->grads; }
int nn_net_num_tensors(const nn_net *n) { return n->nt; }
const nn_tensor_info *nn_net_tensor(const nn_net *n, int i) { return &n->T[i]; }
int nn_net_num_analog(const nn_net *n) { return n->na; }
float *nn_net_act_scales(nn_net *n) { return n->sx; }
const float *nn_net_logits(const nn_net *n) { return n->act[n->nl]; }

int nn_net_uses_tiles(const nn_net *n)
{
    if (n->tiles == NN_TILES_ALWAYS)
        return 1;
    return n->be && strcmp(fg_backend_name(n->be), "ideal") != 0;
}

int nn_net_tiles(const nn_net *n)
{
    int t = 0;
    for (int i = 0; i < n->nl; i++)
        if (n->L[i].analog >= 0) {
            nn_linear_dims d = layer_ld(&n->L[i], 1);
            t += nn_tile_count(d.IC, d.OC);
        }
    return t;
}

uint64_t nn_net_array_ops_per_image(const nn_net *n)
{
    uint64_t ops = 0;
    for (int i = 0; i < n->nl; i++)
        if (n->L[i].analog >= 0) {
            nn_linear_dims d = layer_ld(&n->L[i], 1);
            ops += (uint64_t)d.N * nn_tile_count(d.IC, d.OC);
        }
    return ops;
}

uint64_t nn_net_macs(const nn_net *n, uint64_t *train_macs)
{
    uint64_t f = 0, t = 0;
    for (int i = 0; i < n->nl; i++) {
        const nn_layer *l = &n->L[i];
        if (l->analog < 0)
            continue;
        nn_linear_dims d = layer_ld(l, 1);
        uint64_t m = (uint64_t)d.N * d.IC * d.OC;
        f += m;
        t += m * (l->need_dinp ? 3 : 2);
    }
    if (train_macs)
        *train_macs = t;
    return f;
}

nn_linear_dims nn_net_analog_dims(const nn_net *n, int a, int B, int *need_dinp)
{
    for (int i = 0; i < n->nl; i++)
        if (n->L[i].analog == a) {
            if (need_dinp)
                *need_dinp = n->L[i].need_dinp;
            return layer_ld(&n->L[i], B);
        }
    return (nn_linear_dims){0, 0, 0};
}

void nn_net_print(const nn_net *n, FILE *f)
{
    static const char *kn[] = {"linear", "conv", "relu", "maxpool", "avgpool",
                               "flatten"};
    fprintf(f, "%s: input %dx%dx%d, %zu parameters, %d tiles, %llu array ops/image\n",
            n->name, n->H, n->W, n->C, n->P, nn_net_tiles(n),
            (unsigned long long)nn_net_array_ops_per_image(n));
    for (int i = 0; i < n->nl; i++) {
        const nn_layer *l = &n->L[i];
        fprintf(f, "  %-8s %dx%dx%d -> %dx%dx%d", kn[l->kind], l->H, l->W, l->C,
                l->OH, l->OW, l->OC);
        if (l->analog >= 0) {
            nn_linear_dims d = layer_ld(l, 1);
            fprintf(f, "  (%d tiles, s_x %.3g)", nn_tile_count(d.IC, d.OC),
                    n->sx[l->analog]);
        }
        fputc('\n', f);
    }
}

/* ---- forward / backward ----------------------------------------------------------- */
static fg_status matmul_fwd(nn_net *n, const nn_layer *l, float *out,
                            const float *inp, nn_linear_dims d)
{
    const float *w = n->params + n->T[l->wt].offset;
    const float *b = n->params + n->T[l->bt].offset;
    if (!nn_net_uses_tiles(n)) {
        nn_linear_forward(out, inp, w, b, d);
        return FG_OK;
    }
    fg_backend *be = n->be;
    fg_backend *tmp = be ? NULL : (be = fg_backend_ideal_new());
    float *gains = n->grad == NN_GRAD_LINEAR ? n->gains + n->goff[l->analog] : NULL;
    fg_status st = be ? nn_tiled_forward_gains(be, &n->ws, out, inp, w, b,
                                               n->sx[l->analog], d, gains)
                      : fg_error(FG_ERR_NOMEM, "out of memory");
    fg_backend_free(tmp);
    return st;
}

static fg_status matmul_bwd(nn_net *n, const nn_layer *l, float *dinp,
                            const float *dout, const float *inp, nn_linear_dims d)
{
    const float *w = n->params + n->T[l->wt].offset;
    float *dw = n->grads + n->T[l->wt].offset;
    float *db = n->grads + n->T[l->bt].offset;
    if (!nn_net_uses_tiles(n)) {
        nn_linear_backward(dinp, dw, db, dout, inp, w, d);
        return FG_OK;
    }
    if (n->grad == NN_GRAD_LINEAR)
        return nn_tiled_backward_linear(&n->ws, dinp, dw, db, dout, inp, w,
                                        n->gains + n->goff[l->analog], d);
    fg_backend *be = n->be;
    fg_backend *tmp = be ? NULL : (be = fg_backend_ideal_new());
    fg_status st = be ? nn_tiled_backward(be, &n->ws, dinp, dw, db, dout, inp,
                                          w, n->sx[l->analog], d)
                      : fg_error(FG_ERR_NOMEM, "out of memory");
    fg_backend_free(tmp);
    return st;
}

/* Running pulse scale of a hidden analog layer: EMA of the batch maximum. */
static void update_sx(nn_net *n, const nn_layer *l, const float *in, size_t len)
{
    float mx = 0.0f;
    for (size_t i = 0; i < len; i++)
        mx = in[i] > mx ? in[i] : mx;
    int a = l->analog;
    if (mx <= 0.0f)
        return;
    n->sx[a] = n->sx_init[a] ? NN_SX_MOMENTUM * n->sx[a] + (1 - NN_SX_MOMENTUM) * mx
                             : mx;
    n->sx_init[a] = 1;
}

static fg_status analog_fwd(nn_net *n, nn_layer *l, const float *in, float *out,
                            int B, int training)
{
    size_t len = (size_t)B * in_size(l);
    if (training && !l->pixel_in)
        update_sx(n, l, in, len);
    nn_clip_forward(l->xc, in, n->sx[l->analog], len);
    if (l->kind == NN_LINEAR)
        return matmul_fwd(n, l, out, l->xc, layer_ld(l, B));
    nn_conv_dims cd = nn_conv_dims_make(B, l->H, l->W, l->C, l->OC, l->K,
                                        l->stride, l->pad);
    nn_im2col(l->cols, l->xc, cd);
    return matmul_fwd(n, l, out, l->cols, nn_conv_as_linear(cd));
}

fg_status nn_net_forward(nn_net *n, const float *x, int B, int training)
{
    if (B < 1 || B > n->maxB)
        return fg_error(FG_ERR_RANGE, "batch %d not in 1..%d", B, n->maxB);
    memcpy(n->act[0], x, (size_t)B * in_size(&n->L[0]) * sizeof(float));
    for (int i = 0; i < n->nl; i++) {
        nn_layer *l = &n->L[i];
        const float *in = n->act[i];
        float *out = n->act[i + 1];
        fg_status st = FG_OK;
        switch (l->kind) {
        case NN_LINEAR:
        case NN_CONV: st = analog_fwd(n, l, in, out, B, training); break;
        case NN_RELU: nn_relu_forward(out, in, (size_t)B * in_size(l)); break;
        case NN_MAXPOOL:
            nn_maxpool_forward(out, in, nn_pool_dims_make(B, l->H, l->W, l->C, l->K, l->stride));
            break;
        case NN_AVGPOOL:
            nn_avgpool_forward(out, in, nn_pool_dims_make(B, l->H, l->W, l->C, l->K, l->stride));
            break;
        case NN_FLATTEN: memcpy(out, in, (size_t)B * in_size(l) * sizeof *out); break;
        }
        if (st != FG_OK)
            return st;
    }
    return FG_OK;
}

static fg_status analog_bwd(nn_net *n, nn_layer *l, float *din,
                            const float *dout, const float *in, int B)
{
    size_t len = (size_t)B * in_size(l);
    fg_status st;
    if (l->need_dinp)
        memset(l->dxc, 0, len * sizeof(float));
    if (l->kind == NN_LINEAR) {
        st = matmul_bwd(n, l, l->need_dinp ? l->dxc : NULL, dout, l->xc,
                        layer_ld(l, B));
    } else {
        nn_conv_dims cd = nn_conv_dims_make(B, l->H, l->W, l->C, l->OC, l->K,
                                            l->stride, l->pad);
        nn_linear_dims ld = nn_conv_as_linear(cd);
        if (l->need_dinp)
            memset(l->dcols, 0, (size_t)ld.N * ld.IC * sizeof(float));
        st = matmul_bwd(n, l, l->need_dinp ? l->dcols : NULL, dout, l->cols, ld);
        if (st == FG_OK && l->need_dinp)
            nn_col2im(l->dxc, l->dcols, cd);
    }
    if (st == FG_OK && l->need_dinp)
        nn_clip_backward(din, l->dxc, in, n->sx[l->analog], len);
    return st;
}

fg_status nn_net_backward(nn_net *n, const float *dlogits, int B)
{
    if (B < 1 || B > n->maxB)
        return fg_error(FG_ERR_RANGE, "batch %d not in 1..%d", B, n->maxB);
    memcpy(n->dact[n->nl], dlogits,
           (size_t)B * out_size(&n->L[n->nl - 1]) * sizeof(float));
    for (int i = n->nl - 1; i >= 0; i--) {
        nn_layer *l = &n->L[i];
        if (l->analog < 0 && !l->need_dinp)
            break; /* nothing trainable below */
        float *din = n->dact[i];
        const float *dout = n->dact[i + 1], *in = n->act[i];
        size_t len = (size_t)B * in_size(l);
        if (l->need_dinp)
            memset(din, 0, len * sizeof *din);
        fg_status st = FG_OK;
        switch (l->kind) {
        case NN_LINEAR:
        case NN_CONV: st = analog_bwd(n, l, din, dout, in, B); break;
        case NN_RELU: nn_relu_backward(din, dout, in, len); break;
        case NN_MAXPOOL:
            nn_maxpool_backward(din, dout, in, nn_pool_dims_make(B, l->H, l->W, l->C, l->K, l->stride));
            break;
        case NN_AVGPOOL:
            nn_avgpool_backward(din, dout, nn_pool_dims_make(B, l->H, l->W, l->C, l->K, l->stride));
            break;
        case NN_FLATTEN:
            for (size_t k = 0; k < len; k++)
                din[k] += dout[k];
            break;
        }
        if (st != FG_OK)
            return st;
    }
    return FG_OK;
}

void nn_net_zero_grad(nn_net *n) { memset(n->grads, 0, n->P * sizeof(float)); }

void nn_net_step(nn_net *n, const nn_optim *o, long t)
{
    for (int i = 0; i < n->nt; i++) {
        const nn_tensor_info *ti = &n->T[i];
        size_t off = ti->offset;
        float wd = ti->decay ? o->weight_decay : 0.0f;
        if (o->kind == NN_ADAM)
            nn_adam_step(n->params + off, n->grads + off, n->m + off, n->v + off,
                         ti->size, o->lr, o->beta1, o->beta2, o->eps, wd, t);
        else
            nn_sgd_step(n->params + off, n->grads + off, n->m + off, ti->size,
                        o->lr, o->momentum, wd);
    }
}
