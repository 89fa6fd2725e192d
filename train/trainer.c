/* The training loop: shuffled mini-batches, softmax cross-entropy, SGD or
 * Adam with cosine decay, test accuracy per epoch, checkpoint at the end. */
#include "train.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void nn_set_threads(int n)
{
    fg_set_threads(n); /* the hwa backend's kernels; n <= 0: all cores */
    n = fg_threads();
    /* One pool of workers: OpenMP's. Two pools that both spin between
     * calls (OpenBLAS's and OpenMP's) take the cores from each other
     * (measured: half the samples of a LeNet-5 HWA epoch in sched_yield and
     * libgomp's spin), so OpenBLAS runs each call on its caller's thread and
     * the layers split large products over the OpenMP threads. */
    openblas_set_num_threads(1);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

void nn_train_opts_default(nn_train_opts *o, const char *net)
{
    *o = (nn_train_opts){
        .net = net, .epochs = 10, .batch = 64, .cosine = 1, .seed = 1,
        .threads = NN_DEFAULT_THREADS,
        .opt = {.kind = NN_ADAM, .lr = 1e-3f, .momentum = 0.9f, .beta1 = 0.9f,
                .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f},
    };
    const nn_net_def *def = nn_net_def_find(net);
    if (def) {
        o->data = def->data;
        o->epochs = def->epochs;
        o->opt.lr = def->lr;
    }
}

/* Fisher-Yates permutation of 0..n-1 */
static void shuffle(int *perm, int n, fg_rng *rng)
{
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(fg_rng_next(rng) % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static int argmax(const float *z, int K)
{
    int best = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[best])
            best = k;
    return best;
}

typedef struct {
    float *x;      /* (B, H*W*C) */
    uint8_t *y;    /* (B)        */
    float *probs;  /* (B, K)     */
    float *dlogits;/* (B, K)     */
    int *perm;     /* (n)        */
} batch_bufs;

static fg_status bufs_new(batch_bufs *b, const nn_dataset *ds, int B, int K)
{
    size_t in = (size_t)ds->H * ds->W * ds->C;
    b->x = malloc((size_t)B * in * sizeof *b->x);
    b->y = malloc((size_t)B);
    b->probs = malloc((size_t)B * K * sizeof *b->probs);
    b->dlogits = malloc((size_t)B * K * sizeof *b->dlogits);
    b->perm = malloc((size_t)ds->n * sizeof *b->perm);
    if (b->x && b->y && b->probs && b->dlogits && b->perm)
        return FG_OK;
    return fg_error(FG_ERR_NOMEM, "training buffers: out of memory");
}

static void bufs_free(batch_bufs *b)
{
    free(b->x), free(b->y), free(b->probs), free(b->dlogits), free(b->perm);
}

/* One optimiser step on a batch; adds the batch's loss sum and hits. */
static fg_status train_batch(nn_net *net, batch_bufs *b, int B, const nn_optim *o,
                             long t, double *loss, long *hits)
{
    const int K = nn_net_classes(net);
    fg_status st = nn_net_forward(net, b->x, B, 1);
    if (st != FG_OK)
        return st;
    const float *z = nn_net_logits(net);
    *loss += (double)nn_xent_forward(b->probs, z, b->y, B, K) * B;
    for (int i = 0; i < B; i++)
        *hits += argmax(z + (size_t)i * K, K) == b->y[i];
    memset(b->dlogits, 0, (size_t)B * K * sizeof *b->dlogits);
    nn_xent_backward(b->dlogits, b->probs, b->y, B, K);
    nn_net_zero_grad(net);
    if ((st = nn_net_backward(net, b->dlogits, B)) != FG_OK)
        return st;
    nn_net_step(net, o, t);
    return FG_OK;
}

typedef struct {
    fg_status (*fn)(void *user, nn_net *net, long step);
    void *user;
} batch_hook;

static fg_status epoch_run(nn_net *net, const nn_dataset *ds, const nn_optim *opt,
                           int batch, fg_rng *rng, long *step, long total_steps,
                           int cosine, const char *what, const batch_hook *hook,
                           double *loss, double *acc)
{
    batch_bufs b = {0};
    fg_status st = bufs_new(&b, ds, batch, nn_net_classes(net));
    double lsum = 0.0;
    long hits = 0;
    int nb = (ds->n + batch - 1) / batch;
    char line[160];
    fg_progress pr;
    fg_progress_init(&pr, line, (uint64_t)ds->n);
    if (st == FG_OK)
        shuffle(b.perm, ds->n, rng);
    for (int k = 0; k < nb && st == FG_OK; k++) {
        int start = k * batch, B = ds->n - start < batch ? ds->n - start : batch;
        nn_optim o = *opt;
        ++*step;
        if (cosine && total_steps > 0)
            o.lr = (float)(opt->lr * 0.5 * (1.0 + cos(M_PI * (double)(*step - 1) /
                                                      (double)total_steps)));
        nn_data_batch(ds, b.perm + start, 0, B, b.x, b.y);
        if (hook->fn)
            st = hook->fn(hook->user, net, *step);
        if (st == FG_OK)
            st = train_batch(net, &b, B, &o, *step, &lsum, &hits);
        snprintf(line, sizeof line, "%s batch %d/%d loss %.4f", what, k + 1, nb,
                 lsum / (start + B));
        fg_progress_update(&pr, (uint64_t)(start + B));
    }
    if (st == FG_OK)
        fg_progress_done(&pr, (uint64_t)ds->n);
    *loss = lsum / ds->n;
    *acc = (double)hits / ds->n;
    bufs_free(&b);
    return st;
}

fg_status nn_train_epoch(nn_net *net, const nn_dataset *ds, const nn_optim *opt,
                         int batch, fg_rng *rng, long *step, long total_steps,
                         int cosine, const char *what, double *loss, double *acc)
{
    const batch_hook none = {0};
    return epoch_run(net, ds, opt, batch, rng, step, total_steps, cosine, what, &none,
                     loss, acc);
}

fg_status nn_evaluate(nn_net *net, const nn_dataset *ds, int limit, double *acc)
{
    int n = limit > 0 && limit < ds->n ? limit : ds->n;
    int B = nn_net_max_batch(net), K = nn_net_classes(net);
    float *x = malloc((size_t)B * ds->H * ds->W * ds->C * sizeof *x);
    uint8_t *y = malloc((size_t)B);
    if (!x || !y) {
        free(x), free(y);
        return fg_error(FG_ERR_NOMEM, "evaluate: out of memory");
    }
    long hits = 0;
    fg_status st = FG_OK;
    for (int s = 0; s < n && st == FG_OK; s += B) {
        int b = n - s < B ? n - s : B;
        nn_data_batch(ds, NULL, s, b, x, y);
        if ((st = nn_net_forward(net, x, b, 0)) != FG_OK)
            break;
        const float *z = nn_net_logits(net);
        for (int i = 0; i < b; i++)
            hits += argmax(z + (size_t)i * K, K) == y[i];
    }
    free(x), free(y);
    *acc = n ? (double)hits / n : 0.0;
    return st;
}

static fg_status save(const nn_train_opts *o, nn_net *net, const nn_dataset *ds,
                      const char *ckpt, double acc)
{
    nn_ckpt_meta m = {.H = ds->H, .W = ds->W, .C = ds->C, .classes = ds->classes,
                      .in_scale = 1.0f / 255.0f, .factor = ds->factor,
                      .epochs = o->epochs, .seed = o->seed,
                      .test_accuracy = (float)acc, .array = o->array};
    snprintf(m.net, sizeof m.net, "%s", o->net);
    snprintf(m.data, sizeof m.data, "%s", ds->spec);
    return nn_ckpt_save(ckpt, net, &m);
}

/* Copies the parameters and input scales of checkpoint path into net: the
 * checkpoint must hold the same net on the same input shape. */
static fg_status load_init(nn_net *net, const nn_dataset *ds, const char *path)
{
    nn_net *src = NULL;
    nn_ckpt_meta m;
    fg_status st = nn_ckpt_load(path, 1, &src, &m);
    if (st != FG_OK)
        return st;
    if (strcmp(m.net, nn_net_name(net)) || m.H != ds->H || m.W != ds->W ||
        m.C != ds->C || m.classes != ds->classes)
        st = fg_error(FG_ERR_FORMAT,
                      "%s: --init checkpoint holds %s on %dx%dx%d images, %d classes; "
                      "this run trains %s on %dx%dx%d, %d classes", path, m.net, m.H,
                      m.W, m.C, m.classes, nn_net_name(net), ds->H, ds->W, ds->C,
                      ds->classes);
    if (st == FG_OK) {
        memcpy(nn_net_params(net), nn_net_params(src),
               nn_net_num_params(net) * sizeof(float));
        memcpy(nn_net_act_scales(net), nn_net_act_scales(src),
               (size_t)nn_net_num_analog(net) * sizeof(float));
    }
    nn_net_free(src);
    return st;
}

static fg_status run_epochs(const nn_train_opts *o, nn_net *net, fg_backend *be,
                            const nn_dataset *tr, const nn_dataset *te,
                            nn_train_result *r)
{
    const batch_hook hook = {o->on_batch, o->on_batch_user};
    fg_rng rng;
    fg_rng_seed(&rng, o->seed ^ 0x5eedda7aULL);
    long step = 0, total = (long)o->epochs * ((tr->n + o->batch - 1) / o->batch);
    fg_status st = FG_OK;
    for (int e = 0; e < o->epochs && st == FG_OK; e++) {
        char what[48];
        snprintf(what, sizeof what, "epoch %d/%d", e + 1, o->epochs);
        double t0 = fg_now();
        st = epoch_run(net, tr, &o->opt, o->batch, &rng, &step, total, o->cosine, what,
                       &hook, &r->train_loss, &r->train_accuracy);
        r->seconds += fg_now() - t0;
        nn_net_set_backend(net, be); /* the hook's backend may be freed now */
        if (st == FG_OK)
            st = nn_evaluate(net, te, 0, &r->test_accuracy);
        if (st == FG_OK && !o->quiet)
            fprintf(stderr, "%s: epoch %d/%d  loss %.4f  train %.2f%%  test %.2f%%  "
                    "%.1f s  %.0f img/s\n", o->net, e + 1, o->epochs, r->train_loss,
                    100 * r->train_accuracy, 100 * r->test_accuracy,
                    fg_now() - t0, tr->n / (fg_now() - t0));
    }
    return st;
}

fg_status nn_train(const nn_train_opts *o, fg_backend *be, const char *ckpt,
                   nn_train_result *r)
{
    memset(r, 0, sizeof *r);
    if (!nn_net_known(o->net))
        return fg_error(FG_ERR_RANGE, "unknown net '%s' (%s)", o->net,
                        nn_net_names());
    if (o->epochs < 1 || o->batch < 1)
        return fg_error(FG_ERR_RANGE, "epochs and batch must be >= 1");
    nn_set_threads(o->threads);
    nn_train_opts d;
    nn_train_opts_default(&d, o->net);
    const char *spec = o->data ? o->data : d.data;
    nn_dataset tr = {0}, te = {0};
    nn_net *net = NULL;
    fg_status st = nn_data_load(spec, 1, o->limit_train, &tr);
    if (st == FG_OK)
        st = nn_data_load(spec, 0, o->limit_test, &te);
    if (st == FG_OK)
        st = nn_net_new(&net, o->net, tr.H, tr.W, tr.C, tr.classes, o->batch);
    if (st == FG_OK) {
        nn_net_init(net, o->seed);
        if (o->init)
            st = load_init(net, &tr, o->init);
    }
    if (st == FG_OK) {
        nn_net_set_backend(net, be);
        nn_net_set_tiles(net, o->tiles);
        st = nn_net_set_grad(net, o->grad);
    }
    if (st == FG_OK) {
        if (!o->quiet)
            nn_net_print(net, stderr);
        st = run_epochs(o, net, be, &tr, &te, r);
    }
    if (st == FG_OK && ckpt)
        st = save(o, net, &tr, ckpt, r->test_accuracy);
    r->epochs = o->epochs;
    r->images = (long)o->epochs * tr.n;
    r->test_images = te.n;
    r->images_per_s = r->seconds > 0 ? r->images / r->seconds : 0.0;
    r->epoch_seconds = r->seconds / o->epochs;
    nn_net_free(net);
    nn_data_free(&tr);
    nn_data_free(&te);
    return st;
}
