/* train.h — networks on analog 16x16 floating-gate tiles: float32 tensors,
 * layers with forward and backward, optimisers, data sets, analog tiles,
 * networks, checkpoints and the training loop. Prefix nn_.
 *
 * Tensors are plain float32 arrays, row-major, shapes given in the comments
 * next to every pointer. Images are NHWC: (B, H, W, C). Every backward
 * ACCUMULATES (+=) into its gradient outputs (llm.c style), so a caller zeroes
 * gradients once per step.
 *
 * Worked example: train LeNet-5 on MNIST on the dense ideal path.
 *
 *     nn_train_opts o;
 *     nn_train_opts_default(&o, "lenet5");       // data "mnist", Adam, 12 epochs
 *     nn_train_result r;
 *     if (nn_train(&o, NULL, "lenet5.ckpt", &r) != FG_OK)   // NULL = ideal
 *         fprintf(stderr, "%s\n", fg_errmsg());
 *
 * Plugging in an array backend (the integrator's `--backend`):
 *
 *     nn_net_set_backend(net, be);  // every linear/conv product now goes
 *                                   // through fg_backend_vmm on 16x16 tiles
 *
 * train never includes netlists/, cosim/ or model_fit/ headers: it talks to
 * whatever fg_backend it is handed.
 */
#ifndef FG_TRAIN_H
#define FG_TRAIN_H

#include "fgcore.h"

#include <stddef.h>
#include <stdint.h>

/* ---- layers --------------------------------------------------------------- */
typedef struct { int N, IC, OC; } nn_linear_dims; /* rows, inputs, outputs */

/* out (N,OC) = inp (N,IC) . w^T (w: (OC,IC)) + b (OC); b may be NULL */
void nn_linear_forward(float *out, const float *inp, const float *w,
                       const float *b, nn_linear_dims d);
/* dinp (N,IC) += dout . w ; dw (OC,IC) += dout^T . inp ; db (OC) += sum_n dout.
 * Any of dinp, dw, db may be NULL (not needed). */
void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout,
                        const float *inp, const float *w, nn_linear_dims d);

/* Convolution, NHWC, weight (OC, K, K, C), zero padding, square kernel. */
typedef struct {
    int B, H, W, C;    /* input  (B,H,W,C)   */
    int OC, K, stride, pad;
    int OH, OW;        /* output (B,OH,OW,OC) */
} nn_conv_dims;
nn_conv_dims nn_conv_dims_make(int B, int H, int W, int C, int OC, int K,
                               int stride, int pad);
/* The im2col matrix as a linear layer: N = B*OH*OW rows, IC = K*K*C. */
nn_linear_dims nn_conv_as_linear(nn_conv_dims d);
/* cols (B*OH*OW, K*K*C) = patches of inp (B,H,W,C), zeros outside */
void nn_im2col(float *cols, const float *inp, nn_conv_dims d);
/* dinp (B,H,W,C) += scatter of dcols (B*OH*OW, K*K*C) */
void nn_col2im(float *dinp, const float *dcols, nn_conv_dims d);
/* out (B,OH,OW,OC) = conv(inp (B,H,W,C), w (OC,K,K,C)) + b (OC);
 * cols (B*OH*OW, K*K*C) is scratch that backward reads again. */
void nn_conv2d_forward(float *out, float *cols, const float *inp,
                       const float *w, const float *b, nn_conv_dims d);
/* dinp (B,H,W,C) +=, dw (OC,K,K,C) +=, db (OC) += ; dcols is scratch of
 * the size of cols (overwritten); dinp may be NULL (first layer). */
void nn_conv2d_backward(float *dinp, float *dw, float *db, float *dcols,
                        const float *dout, const float *cols, const float *w,
                        nn_conv_dims d);

/* Pooling, NHWC, window K x K, stride S, no padding (floor). */
typedef struct { int B, H, W, C, K, stride, OH, OW; } nn_pool_dims;
nn_pool_dims nn_pool_dims_make(int B, int H, int W, int C, int K, int stride);
/* out (B,OH,OW,C) = max over window of inp (B,H,W,C) */
void nn_maxpool_forward(float *out, const float *inp, nn_pool_dims d);
/* dinp (B,H,W,C) += dout (B,OH,OW,C) routed to the first max of each window */
void nn_maxpool_backward(float *dinp, const float *dout, const float *inp,
                         nn_pool_dims d);
void nn_avgpool_forward(float *out, const float *inp, nn_pool_dims d);
void nn_avgpool_backward(float *dinp, const float *dout, nn_pool_dims d);

/* out (n) = max(inp, 0) ; dinp (n) += dout * [inp > 0] */
void nn_relu_forward(float *out, const float *inp, size_t n);
void nn_relu_backward(float *dinp, const float *dout, const float *inp, size_t n);
/* Pulse clip of an analog layer's input: out (n) = min(max(inp,0), s).
 * dinp (n) += dout * [0 <= inp <= s]  (exact derivative inside the range,
 * boundaries included; zero above s and below 0). */
void nn_clip_forward(float *out, const float *inp, float s, size_t n);
void nn_clip_backward(float *dinp, const float *dout, const float *inp,
                      float s, size_t n);
/* Softmax cross-entropy, mean over the batch.
 * probs (B,K) = softmax(logits (B,K)); returns mean -log probs[label]. */
float nn_xent_forward(float *probs, const float *logits, const uint8_t *labels,
                      int B, int K);
/* dlogits (B,K) += (probs - onehot(labels)) / B */
void nn_xent_backward(float *dlogits, const float *probs, const uint8_t *labels,
                      int B, int K);

/* ---- optimisers ----------------------------------------------------------- */
typedef enum { NN_SGD = 0, NN_ADAM = 1 } nn_optim_kind;
typedef struct {
    nn_optim_kind kind;
    float lr;
    float momentum;      /* SGD: heavy-ball momentum (0 = plain SGD)        */
    float beta1, beta2, eps; /* Adam                                        */
    float weight_decay;  /* SGD: L2 added to the gradient; Adam: decoupled
                            (AdamW). Applied to weights only, not biases.   */
} nn_optim;
/* p, g, m (n): m = mu*m + g + wd*p ; p -= lr*m */
void nn_sgd_step(float *p, const float *g, float *m, size_t n, float lr,
                 float momentum, float wd);
/* p, g, m, v (n); t >= 1 is the step number (bias correction) */
void nn_adam_step(float *p, const float *g, float *m, float *v, size_t n,
                  float lr, float beta1, float beta2, float eps, float wd, long t);

/* ---- analog tiles (tile.c) -------------------------------------------------
 * A matrix product out (N,OC) = s_x * x (N,IC) . W^T, x = inp / s_x in [0,1]
 * (pulse widths), W (OC,IC) cut into 16x16 array tiles:
 *   - rows: tile r holds inputs 16r..16r+15 on its word lines;
 *   - columns: tile c holds outputs 8c..8c+7 as differential bit-line pairs,
 *     output k on columns 2k (w+) and 2k+1 (w-);
 *   - cells: w = g * (w+ - w-), v = W/g, w+ = max(v,0), w- = max(-v,0), with
 *     the per-layer scale g = max|W| so that w+- lie in [0,1] (normalised cell
 *     currents); padding cells (beyond IC or OC) are 0;
 *   - out[n][8c+k] = b[k] + s_x * g * sum_r (y_r[n][2k] - y_r[n][2k+1]),
 *     partial sums of the row tiles added digitally.
 * A layer uses ceil(IC/16) * ceil(OC/8) tiles; one image row costs that many
 * array operations (fg_backend_ops_count). */
int nn_tile_count(int IC, int OC);
/* The per-layer weight scale g = max|W| (1 when W == 0). */
float nn_tile_scale(const float *w /*(OC,IC)*/, int IC, int OC);
/* cells (16,16) of tile (r,c) of w (OC,IC) with scale g */
void nn_tile_cells(float *cells, const float *w, int IC, int OC, int r, int c,
                   float g);
/* Scratch of the tiled products, kept between calls (a network owns one, so
 * that a batch of conv patches does not map fresh pages on every call);
 * {0} is empty; nn_scratch_free releases it. */
typedef struct {
    float *buf;
    size_t cap; /* floats */
} nn_scratch;
void nn_scratch_free(nn_scratch *ws);
/* out (N,OC) = tiled product of inp (N,IC), values in [0,s_x], plus b (OC or
 * NULL), through fg_backend_vmm; ws: scratch (NULL: allocated per call). */
fg_status nn_tiled_forward(fg_backend *be, nn_scratch *ws, float *out,
                           const float *inp, const float *w, const float *b,
                           float s_x, nn_linear_dims d);
/* nn_tiled_forward, and when gains (nr,nc,16) is not NULL, the linear
 * gain of every tile column over this batch (nr = ceil(IC/16) row tiles,
 * nc = ceil(OC/8) column tiles): the least-squares slope of the column's
 * output y against its ideal product z = x . cells over the N vectors of
 * the row tile (over 256 of them spread over the batch when N is larger:
 * a conv layer's patches), 1 where z does not vary, clipped to [0,
 * NN_GAIN_MAX]; for nn_tiled_backward_linear. */
#define NN_GAIN_MAX 4.0
fg_status nn_tiled_forward_gains(fg_backend *be, nn_scratch *ws, float *out,
                                 const float *inp, const float *w, const float *b,
                                 float s_x, nn_linear_dims d, float *gains);
/* Backward of the per-tile linearisation y ~= G_col (x . cells) + c_col,
 * with the gains of nn_tiled_forward_gains: the dense backward with each
 * weight's gradient and each input's path scaled by the gain of the column
 * its cell sits on (2k for w >= 0, 2k+1 for w < 0):
 *     dinp += dout . (G o w),  dw += G o (dout^T . inp),  db += sum dout.
 * Needs no backward of the backend (any backend, SPICE included). */
fg_status nn_tiled_backward_linear(nn_scratch *ws, float *dinp, float *dw, float *db,
                                   const float *dout, const float *inp, const float *w,
                                   const float *gains, nn_linear_dims d);
/* Backward through fg_backend_vmm_backward (the backend's own Jacobian):
 * dinp (N,IC) +=, dw (OC,IC) +=, db (OC) += (any may be NULL). The split
 * v -> (w+, w-) is differentiated exactly: dv = dw+ where v >= 0, -dw- where
 * v < 0; g and s_x are treated as constants (stop-gradient). With the ideal
 * backend this equals nn_linear_backward. */
fg_status nn_tiled_backward(fg_backend *be, nn_scratch *ws, float *dinp,
                            float *dw, float *db, const float *dout,
                            const float *inp, const float *w, float s_x,
                            nn_linear_dims d);

/* ---- data sets -------------------------------------------------------------
 * Specs: "mnist[:DIR]" (default data/mnist, relative to the working dir),
 * "mnist-lowres[:DIR]" (MNIST area-averaged 4x4 -> 7x7), "fashion[:DIR]"
 * (default /usr/share/datasets/fashion-mnist), "cifar10:PATH" (PATH a folder
 * with data_batch_1..5.bin and test_batch.bin, or one .bin file used for
 * both splits). IDX files may be plain or gzipped (NAME or NAME.gz).
 * Pixels are scaled by 1/255 into [0,1]. */
typedef struct {
    char spec[512];  /* canonical spec, e.g. "mnist-lowres:data/mnist"  */
    int n;           /* images                                          */
    int H, W, C;     /* shape of one image as the network sees it       */
    int classes;
    int rawH, rawW;  /* stored resolution (before area averaging)       */
    int factor;      /* area-averaging factor (1 = none)                */
    uint8_t *px;     /* (n, rawH, rawW, C) raw pixels                   */
    uint8_t *labels; /* (n)                                             */
} nn_dataset;

/* Loads the train (train=1) or test split of spec; limit > 0 keeps the first
 * `limit` images. Errors name the file: FG_ERR_IO (missing, unreadable),
 * FG_ERR_FORMAT (magic, truncation, count mismatch, bad label). */
fg_status nn_data_load(const char *spec, int train, int limit, nn_dataset *ds);
/* One IDX pair (plain or gzip). */
fg_status nn_idx_load(const char *images, const char *labels, int limit,
                      nn_dataset *ds);
/* CIFAR-10 binary batches (1 label byte + 3072 CHW pixel bytes each). */
fg_status nn_cifar_load(const char *const *paths, int npaths, int limit,
                        nn_dataset *ds);
/* Area averaging by an integer factor (rawH, rawW divisible by it). */
fg_status nn_data_set_factor(nn_dataset *ds, int factor);
/* x (B,H,W,C) in [0,1], y (B) for the images idx[0..B-1] (idx NULL: first
 * images from `start`). */
void nn_data_batch(const nn_dataset *ds, const int *idx, int start, int B,
                   float *x, uint8_t *y);
void nn_data_free(nn_dataset *ds);

/* ---- networks --------------------------------------------------------------- */
typedef enum {
    NN_LINEAR, NN_CONV, NN_RELU, NN_MAXPOOL, NN_AVGPOOL, NN_FLATTEN
} nn_layer_kind;

typedef struct {
    char name[32];  /* e.g. "conv1.w"                        */
    int ndim;
    int shape[4];
    size_t offset;  /* into the parameter block              */
    size_t size;
    int decay;      /* weight decay applies (weights, not biases) */
} nn_tensor_info;

typedef enum {
    NN_TILES_AUTO = 0, /* dense fast path when the backend is NULL or "ideal" */
    NN_TILES_ALWAYS,   /* every product through the 16x16 tiles               */
} nn_tiles_mode;

typedef struct nn_net nn_net;

/* The built-in nets (one table in net.c): "mlp-lowres" (flatten-24-10 on
 * 7x7 MNIST), "mlp" (784-256-10 on MNIST), "lenet5", "vgg-small". */
typedef struct {
    const char *name, *help;
    int min_side;       /* smallest image height/width it accepts */
    const char *data;   /* default data set spec                  */
    int epochs;         /* default epochs                         */
    float lr;           /* default learning rate (Adam)           */
} nn_net_def;
const nn_net_def *nn_net_def_find(const char *name); /* NULL: unknown */
const char *nn_net_names(void);                      /* "a, b, c"      */
int nn_net_known(const char *name);
/* Builds `name` for images (H,W,C) and `classes`, buffers for up to max_batch
 * images. FG_ERR_RANGE for an unknown name, images too small or above
 * 4096x4096x64, or classes outside 2..65536. */
fg_status nn_net_new(nn_net **out, const char *name, int H, int W, int C,
                     int classes, int max_batch);
/* The same net's layers and tensor table without any buffer (tensors,
 * parameter and analog-layer counts only; nothing may run on it; free it
 * with nn_net_free): what a checkpoint is checked against before the
 * memory its header asks for is committed. */
fg_status nn_net_layout(nn_net **out, const char *name, int H, int W, int C,
                        int classes);
void nn_net_free(nn_net *net);
/* He-normal weights, zero biases, from seed. */
void nn_net_init(nn_net *net, uint64_t seed);
/* Borrowed backend (NULL = ideal dense); the caller frees it after the net. */
void nn_net_set_backend(nn_net *net, fg_backend *be);
fg_backend *nn_net_backend(const nn_net *net);
void nn_net_set_tiles(nn_net *net, nn_tiles_mode mode);
/* How the tiled layers backpropagate: NN_GRAD_EXACT (the default) through
 * the backend's own Jacobian (fg_backend_vmm_backward); NN_GRAD_LINEAR
 * through the per-tile linearisation of the last forward pass
 * (nn_tiled_forward_gains, nn_tiled_backward_linear), for which the backend
 * needs no backward. FG_ERR_NOMEM, FG_ERR_RANGE (unknown mode). */
typedef enum { NN_GRAD_EXACT = 0, NN_GRAD_LINEAR } nn_grad_mode;
fg_status nn_net_set_grad(nn_net *net, nn_grad_mode g);
/* on: nn_net_backward also propagates the loss gradient to the network's
 * input, nn_net_input_grad (B, nn_net_input_size) afterwards (the input
 * sensitivities); off (the default): the first layers skip it. */
void nn_net_set_input_grad(nn_net *net, int on);
const float *nn_net_input_grad(const nn_net *net);
size_t nn_net_input_size(const nn_net *net);
/* 1 when the products go through the tiles (backend not NULL/ideal, or
 * NN_TILES_ALWAYS). */
int nn_net_uses_tiles(const nn_net *net);

const char *nn_net_name(const nn_net *net);
int nn_net_max_batch(const nn_net *net);
int nn_net_classes(const nn_net *net);
size_t nn_net_num_params(const nn_net *net);
float *nn_net_params(nn_net *net); /* (P) all parameters in one block  */
float *nn_net_grads(nn_net *net);  /* (P) their gradients, same layout */
int nn_net_num_tensors(const nn_net *net);
const nn_tensor_info *nn_net_tensor(const nn_net *net, int i);
/* Input pulse scales s_x of the analog (linear/conv) layers, in order. */
int nn_net_num_analog(const nn_net *net);
float *nn_net_act_scales(nn_net *net);
/* Tiles over all analog layers (= array operations per image for an MLP;
 * a conv layer repeats its tiles at every output position). */
int nn_net_tiles(const nn_net *net);
/* Array operations (16x16 VMMs) for one image. */
uint64_t nn_net_array_ops_per_image(const nn_net *net);
/* Multiply-accumulates of one image's forward pass; train_macs: forward +
 * backward (input gradients skipped for the first layer). */
uint64_t nn_net_macs(const nn_net *net, uint64_t *train_macs);
/* The matrix product of analog layer a (0..nn_net_num_analog-1) for a batch
 * of B images (conv: the im2col product); *need_dinp: its backward also
 * computes input gradients. */
nn_linear_dims nn_net_analog_dims(const nn_net *net, int a, int B, int *need_dinp);
/* One line per layer to f. */
void nn_net_print(const nn_net *net, FILE *f);

/* logits (B,classes) for x (B,H,W,C); training=1 updates the running input
 * scales s_x of hidden analog layers (EMA of the batch maximum). */
fg_status nn_net_forward(nn_net *net, const float *x, int B, int training);
const float *nn_net_logits(const nn_net *net);
/* grads += d loss / d params, given dlogits (B,classes) */
fg_status nn_net_backward(nn_net *net, const float *dlogits, int B);
/* One optimiser step over all tensors (step t >= 1). */
void nn_net_step(nn_net *net, const nn_optim *opt, long t);
void nn_net_zero_grad(nn_net *net);

/* ---- tile operations (record.c) ------------------------------------------- */
/* The tile operations a network runs: distinct programmed tiles and a
 * seeded sample of the non-zero input rows they get (a calibration drawn
 * from the network itself, or a check of a model on its operations). */
typedef struct {
    int n_tiles;   /* distinct tiles                               */
    float *w;      /* (n_tiles,16,16) their normalised cells       */
    int S;         /* operations recorded                          */
    int *tile;     /* (S) tile of each, sorted (ascending)         */
    float *x;      /* (S,16) its input row (pulse fractions)       */
} nn_tile_ops;
/* Runs net (its weights, an ideal product) on the first n_images of ds
 * and keeps each non-zero tile input row with a probability set so that
 * about cap rows are kept, at most cap, spread over the images. The net's
 * backend is restored after. FG_ERR_RANGE (cap or n_images < 1),
 * FG_ERR_NOMEM; *out is empty then. */
fg_status nn_tile_ops_record(nn_net *net, const nn_dataset *ds, int n_images, int cap,
                             uint64_t seed, nn_tile_ops *out);
void nn_tile_ops_free(nn_tile_ops *o);

/* ---- checkpoints (format in train/CHECKPOINT.md) ---------------------------- */
/* The array a checkpoint was trained for (format version 2 "array" record;
 * version 1 files read as on_array = 0, backend ""). */
typedef struct {
    int on_array;      /* 1: trained through an array backend's model (hwa,
                          spice); 0: without one (ideal, digital)          */
    int rows, cols;    /* array size (FG_ROWS x FG_COLS); 0 when on_array 0 */
    fg_op_point op;    /* operating point, SI units; zeros when on_array 0  */
    char backend[32];  /* "ideal", "hwa" or "spice" ("" in v1 files)       */
    fg_corner corner;  /* the corner trained at (v3; nominal before, and
                          when on_array is 0): spice's, or the corner a
                          recalibrated hwa model describes; only temp,
                          supply, drift, trims and rails are stored     */
} nn_ckpt_array;

typedef struct {
    char net[32];
    char data[512];    /* data set spec the net was trained on          */
    int H, W, C, classes;
    float in_scale;    /* pixel value -> input: byte * in_scale          */
    int factor;        /* area-averaging factor applied to raw images   */
    int epochs;
    uint64_t seed;
    float test_accuracy;
    nn_ckpt_array array; /* the array trained for (version 2)           */
    int version;         /* format version read (load only)             */
} nn_ckpt_meta;

fg_status nn_ckpt_save(const char *path, nn_net *net, const nn_ckpt_meta *meta);
/* Reads meta, builds the net (max_batch images) and loads its tensors.
 * FG_ERR_IO / FG_ERR_FORMAT with messages naming the file. */
fg_status nn_ckpt_load(const char *path, int max_batch, nn_net **net,
                       nn_ckpt_meta *meta);
/* Whether an array `given` (read from file `what`, e.g. a model file) is the
 * one checkpoint `ckpt` was trained for (`trained`): same rows and cols, and
 * each op point field equal within a relative tolerance of 1e-9. A
 * checkpoint trained without an array (on_array 0) accepts any. On a
 * mismatch FG_ERR_RANGE (exit status 2) with a message naming what, the
 * field and both values, e.g. "M.json: op_point.c_bl = 2e-14 F, but
 * CKPT was trained for an array with c_bl = 1e-13 F". */
fg_status nn_ckpt_array_check(const char *ckpt, const nn_ckpt_array *trained,
                              const char *what, const nn_ckpt_array *given);

/* ---- training ---------------------------------------------------------------- */
/* Default thread count of training: fixed (not "all cores") so that the
 * same seed gives the same checkpoint on any machine. */
#define NN_DEFAULT_THREADS 2

typedef struct {
    const char *net;
    const char *data;   /* spec; NULL = the net's default              */
    int epochs, batch;
    nn_optim opt;
    int cosine;         /* cosine decay of lr to 0 over the run         */
    uint64_t seed;
    int limit_train, limit_test; /* 0 = all                            */
    int threads;        /* OpenBLAS/OpenMP threads (0 = all cores).
                           Results are bit-identical for the same seed and
                           the same thread count; OpenBLAS splits some
                           reductions by thread, so another count gives
                           (slightly) different floats.                  */
    int quiet;          /* no per-epoch lines on stderr                 */
    nn_tiles_mode tiles;/* NN_TILES_ALWAYS: products through the tiles  */
    nn_grad_mode grad;  /* how the tiled layers backpropagate
                           (nn_net_set_grad; exact by default)          */
    const char *init;   /* checkpoint to start from (fine-tuning: same net
                           and input shape); NULL = random init (seed)   */
    nn_ckpt_array array;/* the array trained for, stored in the
                           checkpoint (the caller knows the backend's
                           op point; zeros = none, backend "ideal")      */
    /* Called before every training batch (NULL: never) with the running
     * step: may set another backend on the net (nn_net_set_backend), e.g.
     * the array at an operating corner drawn per batch. The backend
     * nn_train was given is set back before each test pass and at the end;
     * the caller frees the backends its hook set, after nn_train. */
    fg_status (*on_batch)(void *user, nn_net *net, long step);
    void *on_batch_user;
} nn_train_opts;

typedef struct {
    double test_accuracy, train_loss, train_accuracy;
    double seconds, images_per_s; /* training time (without test passes) */
    double epoch_seconds;         /* mean per epoch                       */
    int epochs;
    long images;                  /* training images seen                 */
    int test_images;
} nn_train_result;

/* Defaults for a known net (data set, epochs, batch, optimiser, lr). */
void nn_train_opts_default(nn_train_opts *o, const char *net);
/* Loads data, trains with backend be (NULL = ideal), writes the checkpoint
 * (path may be NULL: none). */
fg_status nn_train(const nn_train_opts *o, fg_backend *be, const char *ckpt,
                   nn_train_result *res);
/* Sets OpenBLAS and OpenMP threads (0 = number of cores). */
void nn_set_threads(int n);
/* One epoch over ds in shuffled mini-batches; loss and acc get the means.
 * step is the running optimiser step counter. */
fg_status nn_train_epoch(nn_net *net, const nn_dataset *ds, const nn_optim *opt,
                         int batch, fg_rng *rng, long *step, long total_steps,
                         int cosine, const char *what, double *loss, double *acc);
/* Accuracy of net on ds (limit 0 = all). */
fg_status nn_evaluate(nn_net *net, const nn_dataset *ds, int limit, double *acc);

#endif
