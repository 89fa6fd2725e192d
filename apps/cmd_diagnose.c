/* fgcosim diagnose: which non-idealities hardware-aware training (HAT) can
 * compensate. For each perturbation class at three strengths, on a fixed
 * training batch, over K draws of the perturbed operator:
 *   D1 gradient expectation consistency: cos(mean_k g_k, g_0), g_0 the
 *      gradient through the unperturbed operator;
 *   D2 gradient variance: trace Cov(g_k) / |mean_k g_k|^2;
 *   D3 sensitivity: the fraction of weights whose mean |g_k| is non-zero
 *      (> 1e-6 of the largest), and the spread of those (std / mean),
 *      judged against the same fraction of g_0 (weights on pixels that are
 *      0 in every image have no gradient through any operator);
 * then the network deployed as is on the perturbed operator against the
 * same network after one HAT epoch through it. D1 and D2 over the analog
 * layers' weight tensors (biases are digital); D3 over those and over the
 * inputs (d loss / d pixel of each image of the batch). */
#include "cmds.h"
#include "app_common.h"
#include "fgcosim.h"
#include "nn_cli.h"
#include "plots.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD "diagnose"
#define NSTR 3

/* The classes, the one list of them: the perturbation each strength sets
 * (a spec appended to the base), and whether its reference is the model
 * without voltage drop (IR drop) rather than the operator as is. */
typedef struct {
    const char *name, *what;
    const char *spec[NSTR];
    int ir;
} diag_class;

static const diag_class classes[] = {
    {"read_noise", "read noise (sigma per output, unit-cell outputs)",
     {"read_noise=0.003", "read_noise=0.01", "read_noise=0.03"}, 0},
    {"variability", "programming variability (sigma of dVT, V)",
     {"prog_sigma=0.005", "prog_sigma=0.01", "prog_sigma=0.02"}, 0},
    {"drift", "retention drift (2 %/decade; time since programming, s)",
     {"drift_rate=0.02,drift_time=1e4", "drift_rate=0.02,drift_time=1e6",
      "drift_rate=0.02,drift_time=3.15e8"}, 0},
    {"stuck", "stuck-at cells (fraction, half off, half on)",
     {"stuck_off=0.0005,stuck_on=0.0005", "stuck_off=0.0015,stuck_on=0.0015",
      "stuck_off=0.005,stuck_on=0.005"}, 0},
    {"ir_drop", "IR / voltage drop (factor on the fitted drop; reference: none)",
     {"ir_scale=0.5", "ir_scale=1", "ir_scale=2"}, 1},
    {"adc", "ADC on the outputs (bits, range 1 unit-cell output)",
     {"adc_bits=8,adc_range=1", "adc_bits=6,adc_range=1", "adc_bits=4,adc_range=1"}, 0},
    {"pulse_bits", "input pulse-width resolution (bits)",
     {"pulse_bits=6", "pulse_bits=4", "pulse_bits=2"}, 0},
    {"prog_bits", "programming precision (bits a write-verify reaches)",
     {"prog_bits=6", "prog_bits=4", "prog_bits=2"}, 0},
};
#define NCLASSES ((int)(sizeof classes / sizeof classes[0]))

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fgcosim diagnose --ckpt CKPT [--backend hwa --model MODEL.json]\n"
        "                        -o DIR [options]\n"
        "For each perturbation class at three strengths: the three HAT\n"
        "diagnostics on a fixed training batch over K draws, and the accuracy\n"
        "of CKPT deployed as is on the perturbed operator against the same net\n"
        "after --hat-epochs of hardware-aware training through it. Writes\n"
        "DIR/diagnose.csv, DIR/diagnose.json, DIR/report.md, DIR/diagnose.png.\n"
        "  --draws K          perturbed gradients per strength (8)\n"
        "  --batch N          the fixed batch: the first N training images (256)\n"
        "  --hat-epochs E     HAT epochs from CKPT (1)\n"
        "  --lr X             HAT learning rate (the net's default / 10)\n"
        "  --limit-train N --limit-test N   images for HAT and the accuracies\n"
        "  --classes A,B,...  only these classes (default all)\n"
        "  --data SPEC        default: the checkpoint's\n"
        NN_CLI_BACKEND_HELP);
}

enum { O_CKPT = 1, O_DRAWS, O_BATCH, O_HATE, O_LR, O_LTRAIN, O_LTEST, O_CLASSES,
       O_DATA, O_HELP, O_BACKEND };

static const struct option longopts[] = {
    {"ckpt", required_argument, 0, O_CKPT}, {"draws", required_argument, 0, O_DRAWS},
    {"batch", required_argument, 0, O_BATCH}, {"hat-epochs", required_argument, 0, O_HATE},
    {"lr", required_argument, 0, O_LR}, {"limit-train", required_argument, 0, O_LTRAIN},
    {"limit-test", required_argument, 0, O_LTEST},
    {"classes", required_argument, 0, O_CLASSES}, {"data", required_argument, 0, O_DATA},
    {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, O_HELP},
    NN_CLI_BACKEND_LONGOPTS(O_BACKEND), {0, 0, 0, 0},
};

typedef struct {
    const char *ckpt, *dir, *data, *only;
    int draws, batch, hat_epochs, limit_train, limit_test;
    float lr;
    nn_cli_backend_opts be;
} diag_args;

/* one class at one strength */
typedef struct {
    int cls, s;
    double cos, var, nonzero, spread;
    double ref_nonzero;      /* D3 of the reference gradient g_0 */
    double in_nonzero, in_spread, ref_in_nonzero; /* D3 of the inputs */
    double ref_acc, ref_hat; /* the reference operator: as is, after HAT */
    double as_is, hat;       /* the perturbed operator: as is, after HAT */
} diag_row;

/* The reference operators (index: the class's ir flag; the reference
 * depends on nothing else), each worked out once: the gradient g0 (n) on
 * the fixed batch, its non-zero fraction, and the accuracy as is and after
 * the same HAT epoch. */
typedef struct {
    int done[2];
    float *g0[2];
    double nonzero[2], in_nonzero[2], as_is[2], hat[2];
} diag_refs;

static int parse_opt(diag_args *a, int c, const char *arg)
{
    int bad = 0;
    if (nn_cli_backend_opt(CMD, &a->be, O_BACKEND, c, arg, &bad))
        return bad;
    switch (c) {
    case O_CKPT: a->ckpt = arg; return 0;
    case 'o': a->dir = arg; return 0;
    case O_DATA: a->data = arg; return 0;
    case O_CLASSES: a->only = arg; return 0;
    case O_DRAWS: return app_parse_int(CMD, "--draws", arg, 2, 1000, &a->draws);
    case O_BATCH: return app_parse_int(CMD, "--batch", arg, 1, 65536, &a->batch);
    case O_HATE: return app_parse_int(CMD, "--hat-epochs", arg, 0, 1000, &a->hat_epochs);
    case O_LR: return nn_cli_float(CMD, "--lr", arg, 1e-9, 10, &a->lr);
    case O_LTRAIN: return app_parse_int(CMD, "--limit-train", arg, 1, 1 << 30, &a->limit_train);
    case O_LTEST: return app_parse_int(CMD, "--limit-test", arg, 1, 1 << 30, &a->limit_test);
    }
    usage(stderr);
    return 2;
}

static int class_selected(const diag_args *a, int c)
{
    if (!a->only)
        return 1;
    size_t n = strlen(classes[c].name);
    for (const char *s = a->only; s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL)
        if (!strncmp(s, classes[c].name, n) && (s[n] == ',' || !s[n]))
            return 1;
    return 0;
}

static fg_status check_classes(const char *only)
{
    for (const char *s = only; s && *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL) {
        size_t n = strchr(s, ',') ? (size_t)(strchr(s, ',') - s) : strlen(s);
        int ok = 0;
        for (int c = 0; c < NCLASSES; c++)
            ok |= strlen(classes[c].name) == n && !strncmp(s, classes[c].name, n);
        if (!ok)
            return fg_error(FG_ERR_RANGE, "--classes: unknown class '%.*s' (read_noise, "
                            "variability, drift, stuck, ir_drop, adc, pulse_bits, "
                            "prog_bits)", (int)n, s);
    }
    return FG_OK;
}

/* The operator of class c at strength s (s < 0: its reference), draw k. */
static fg_status make_operator(const diag_args *a, int c, int s, int k, fg_backend **be)
{
    fg_perturb p = a->be.perturb;
    fg_status st = FG_OK;
    if (s >= 0)
        st = fg_perturb_parse(&p, classes[c].spec[s]);
    else if (classes[c].ir)
        p.ir_scale = 0.0;
    p.seed = a->be.perturb.seed + 1000003ULL * (uint64_t)k;
    if (st == FG_OK)
        st = app_backend_new(a->be.name, a->be.model, a->be.layout, a->be.array_netlist,
                             &a->be.corner, 0, a->be.jobs, &p,
                             a->be.grad == NN_CLI_GRAD_SAMPLE, be);
    return st;
}

/* A gradient vector: the weights' (nw), then the inputs' (nx = B*H*W*C). */
typedef struct {
    nn_net *net;
    size_t nw, nx;
    const float *x;     /* (B, H*W*C) the fixed batch */
    const uint8_t *y;   /* (B)                       */
    int B;
    float *probs, *dl;  /* (B, classes)              */
    nn_grad_mode grad;  /* --grad (linear: the net's) */
} diag_batch;

/* g (nw + nx) = d loss / d weights of the analog layers, then d loss / d
 * input, on the fixed batch */
static fg_status batch_grad(diag_batch *b, fg_backend *be, float *g)
{
    nn_net *net = b->net;
    int K = nn_net_classes(net);
    nn_net_set_backend(net, be);
    nn_net_set_tiles(net, NN_TILES_ALWAYS);
    nn_net_zero_grad(net);
    fg_status st = nn_net_set_grad(net, b->grad);
    if (st == FG_OK)
        st = nn_net_forward(net, b->x, b->B, 0);
    if (st != FG_OK)
        return st;
    nn_xent_forward(b->probs, nn_net_logits(net), b->y, b->B, K);
    memset(b->dl, 0, (size_t)b->B * K * sizeof *b->dl);
    nn_xent_backward(b->dl, b->probs, b->y, b->B, K);
    if ((st = nn_net_backward(net, b->dl, b->B)) != FG_OK)
        return st;
    size_t o = 0;
    for (int t = 0; t < nn_net_num_tensors(net); t++) {
        const nn_tensor_info *ti = nn_net_tensor(net, t);
        if (!ti->decay)
            continue; /* biases */
        memcpy(g + o, nn_net_grads(net) + ti->offset, ti->size * sizeof *g);
        o += ti->size;
    }
    memcpy(g + o, nn_net_input_grad(net), b->nx * sizeof *g);
    return FG_OK;
}

static size_t weight_count(const nn_net *net)
{
    size_t n = 0;
    for (int t = 0; t < nn_net_num_tensors(net); t++)
        n += nn_net_tensor(net, t)->decay ? nn_net_tensor(net, t)->size : 0;
    return n;
}

/* D3 over entries i0..i0+n-1 of the draws gk (K, ld): the fraction whose
 * mean |g| is non-zero (> 1e-6 of the largest) and the spread (std /
 * mean) of those. */
static void sensitivity(const float *gk, int K, size_t ld, size_t i0, size_t n,
                        double *nonzero, double *spread)
{
    double smax = 0, ssum = 0, ssq = 0;
    size_t nz = 0;
    double *sens = malloc(n * sizeof *sens);
    for (size_t i = 0; sens && i < n; i++) {
        double a = 0;
        for (int k = 0; k < K; k++)
            a += fabs(gk[(size_t)k * ld + i0 + i]);
        sens[i] = a / K;
        smax = sens[i] > smax ? sens[i] : smax;
    }
    for (size_t i = 0; sens && i < n; i++)
        if (sens[i] > 1e-6 * smax)
            nz++, ssum += sens[i], ssq += sens[i] * sens[i];
    *nonzero = n ? (double)nz / (double)n : 0;
    double mean = nz ? ssum / nz : 0;
    *spread = nz && mean > 0 ? sqrt(fmax(ssq / nz - mean * mean, 0)) / mean : 0;
    free(sens);
}

/* D1, D2 over the weights (the first nw of each row) and D3 over the
 * weights and the inputs, from g0 (ld) and the draws gk (K, ld) */
static void diagnostics(const float *g0, const float *gk, int K, size_t nw, size_t ld,
                        diag_row *r)
{
    double dot = 0, n0 = 0, nm = 0, tr = 0;
    for (size_t i = 0; i < nw; i++) {
        double m = 0;
        for (int k = 0; k < K; k++)
            m += gk[(size_t)k * ld + i];
        m /= K;
        for (int k = 0; k < K && K > 1; k++) {
            double d = gk[(size_t)k * ld + i] - m;
            tr += d * d / (K - 1);
        }
        dot += m * g0[i], n0 += (double)g0[i] * g0[i], nm += m * m;
    }
    r->cos = n0 > 0 && nm > 0 ? dot / sqrt(n0 * nm) : 0;
    r->var = nm > 0 ? tr / nm : INFINITY;
    sensitivity(gk, K, ld, 0, nw, &r->nonzero, &r->spread);
    sensitivity(gk, K, ld, nw, ld - nw, &r->in_nonzero, &r->in_spread);
}

/* Accuracy of the checkpoint's net on be, and after HAT through it. */
static fg_status accuracies(const diag_args *a, const nn_train_opts *to, nn_net *net,
                            const nn_dataset *te, fg_backend *be, double *as_is,
                            double *hat)
{
    nn_net_set_backend(net, be);
    nn_net_set_tiles(net, NN_TILES_ALWAYS);
    fg_status st = nn_evaluate(net, te, a->limit_test, as_is);
    *hat = *as_is;
    if (st != FG_OK || a->hat_epochs == 0)
        return st;
    nn_train_result res;
    if ((st = nn_train(to, be, NULL, &res)) == FG_OK)
        *hat = res.test_accuracy;
    return st;
}

static fg_status reference(const diag_args *a, const nn_train_opts *to, diag_batch *b,
                           const nn_dataset *te, int c, diag_refs *refs)
{
    const int ir = classes[c].ir;
    if (refs->done[ir])
        return FG_OK;
    fg_backend *be = NULL;
    fg_status st = make_operator(a, c, -1, 0, &be);
    if (st == FG_OK)
        st = batch_grad(b, be, refs->g0[ir]);
    if (st == FG_OK) {
        diag_row ref; /* the reference's own sensitivity */
        diagnostics(refs->g0[ir], refs->g0[ir], 1, b->nw, b->nw + b->nx, &ref);
        refs->nonzero[ir] = ref.nonzero;
        refs->in_nonzero[ir] = ref.in_nonzero;
        st = accuracies(a, to, b->net, te, be, &refs->as_is[ir], &refs->hat[ir]);
    }
    refs->done[ir] = st == FG_OK;
    fg_backend_free(be);
    return st;
}

static fg_status diagnose_one(const diag_args *a, const nn_train_opts *to, diag_batch *b,
                              const nn_dataset *te, int c, int s, float *gk,
                              diag_refs *refs, diag_row *r)
{
    const size_t n = b->nw + b->nx;
    const int ir = classes[c].ir;
    fg_backend *be = NULL;
    *r = (diag_row){.cls = c, .s = s};
    fg_status st = reference(a, to, b, te, c, refs);
    r->ref_acc = refs->as_is[ir], r->ref_hat = refs->hat[ir];
    r->ref_nonzero = refs->nonzero[ir], r->ref_in_nonzero = refs->in_nonzero[ir];
    for (int k = 0; k < a->draws && st == FG_OK; k++) {
        if ((st = make_operator(a, c, s, k + 1, &be)) == FG_OK)
            st = batch_grad(b, be, gk + (size_t)k * n);
        fg_backend_free(be);
        be = NULL;
    }
    if (st == FG_OK) {
        diagnostics(refs->g0[ir], gk, a->draws, b->nw, n, r);
        st = make_operator(a, c, s, 1, &be);
    }
    if (st == FG_OK)
        st = accuracies(a, to, b->net, te, be, &r->as_is, &r->hat);
    nn_net_set_backend(b->net, NULL);
    fg_backend_free(be);
    return st;
}

/* ---- output -------------------------------------------------------------- */
#define COS_MIN 0.9
#define VAR_MAX 1.0
#define NZ_REL 0.95 /* D3: of the reference's own non-zero fraction */
#define HAT_TOL 0.02

static int grad_ok(const diag_row *r)
{
    return r->cos >= COS_MIN && r->var <= VAR_MAX && r->nonzero >= NZ_REL * r->ref_nonzero &&
           r->in_nonzero >= NZ_REL * r->ref_in_nonzero;
}
static int hat_ok(const diag_row *r) { return r->hat >= r->ref_hat - HAT_TOL; }

static fg_status write_csv(const char *dir, const diag_row *rows, int n)
{
    char *buf = NULL, path[4096];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "class,strength,spec,grad_cos,grad_rel_var,sens_nonzero,sens_nonzero_ref,"
               "sens_spread,sens_in_nonzero,sens_in_nonzero_ref,sens_in_spread,"
               "ref_accuracy,ref_hat_accuracy,as_is_accuracy,hat_accuracy,gradient_ok,"
               "hat_recovers\n");
    for (int i = 0; i < n; i++) {
        const diag_row *r = &rows[i];
        char spec[128]; /* its commas as ';': one CSV field */
        snprintf(spec, sizeof spec, "%s", classes[r->cls].spec[r->s]);
        for (char *p = spec; *p; p++)
            *p = *p == ',' ? ';' : *p;
        fprintf(f, "%s,%d,%s,%.4f,%.4g,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%d,%d\n",
                classes[r->cls].name, r->s + 1, spec, r->cos, r->var,
                r->nonzero, r->ref_nonzero, r->spread, r->in_nonzero, r->ref_in_nonzero,
                r->in_spread, r->ref_acc, r->ref_hat, r->as_is, r->hat, grad_ok(r),
                hat_ok(r));
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/diagnose.csv", dir);
    fg_status st = fg_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}

static fg_status write_json(const char *dir, const diag_row *rows, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        const diag_row *r = &rows[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "class", classes[r->cls].name);
        cJSON_AddNumberToObject(o, "strength", r->s + 1);
        cJSON_AddStringToObject(o, "spec", classes[r->cls].spec[r->s]);
        cJSON_AddNumberToObject(o, "grad_cos", r->cos);
        cJSON_AddNumberToObject(o, "grad_rel_var", isfinite(r->var) ? r->var : 1e300);
        cJSON_AddNumberToObject(o, "sens_nonzero", r->nonzero);
        cJSON_AddNumberToObject(o, "sens_nonzero_ref", r->ref_nonzero);
        cJSON_AddNumberToObject(o, "sens_spread", r->spread);
        cJSON_AddNumberToObject(o, "sens_in_nonzero", r->in_nonzero);
        cJSON_AddNumberToObject(o, "sens_in_nonzero_ref", r->ref_in_nonzero);
        cJSON_AddNumberToObject(o, "sens_in_spread", r->in_spread);
        cJSON_AddNumberToObject(o, "ref_accuracy", r->ref_acc);
        cJSON_AddNumberToObject(o, "ref_hat_accuracy", r->ref_hat);
        cJSON_AddNumberToObject(o, "as_is_accuracy", r->as_is);
        cJSON_AddNumberToObject(o, "hat_accuracy", r->hat);
        cJSON_AddBoolToObject(o, "gradient_ok", grad_ok(r));
        cJSON_AddBoolToObject(o, "hat_recovers", hat_ok(r));
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_Print(arr), path[4096];
    snprintf(path, sizeof path, "%s/diagnose.json", dir);
    fg_status st = fg_file_write_atomic(path, text, strlen(text));
    free(text);
    cJSON_Delete(arr);
    return st;
}

static fg_status write_report(const diag_args *a, const diag_row *rows, int n)
{
    char *buf = NULL, path[4096];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "# fgcosim diagnose\n\n`%s` on the `%s` backend%s%s; %d draws on a fixed "
            "batch of %d training images; HAT: %d epoch(s) from the checkpoint through the "
            "perturbed operator.\n\nThresholds: the gradient is consistent when "
            "cos >= %.2f, relative variance <= %.1f and the fractions of weights and of "
            "inputs with a non-zero sensitivity are at least %.0f %% of the reference "
            "gradient's; HAT recovers when its accuracy on the perturbed "
            "operator is within %.0f points of the same HAT on the reference operator "
            "(the unperturbed one; for ir_drop the model without voltage drop).\n\n",
            a->ckpt, a->be.name, a->be.model ? " with " : "", a->be.model ? a->be.model : "",
            a->draws, a->batch, a->hat_epochs, COS_MIN, VAR_MAX, 100 * NZ_REL,
            100 * HAT_TOL);
    fprintf(f, "| class | strength | D1 cos | D2 rel. var | D3 weights non-zero (ref.) | "
               "D3 spread | D3 inputs non-zero (ref.) | reference: as is / HAT | "
               "perturbed: as is / HAT | gradient | HAT recovers |\n"
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < n; i++) {
        const diag_row *r = &rows[i];
        fprintf(f, "| %s | `%s` | %.3f | %.3g | %.3f (%.3f) | %.2f | %.3f (%.3f) | "
                "%.2f / %.2f %% | %.2f / %.2f %% | %s | %s |\n", classes[r->cls].name,
                classes[r->cls].spec[r->s], r->cos, r->var, r->nonzero, r->ref_nonzero,
                r->spread, r->in_nonzero, r->ref_in_nonzero,
                100 * r->ref_acc, 100 * r->ref_hat, 100 * r->as_is, 100 * r->hat,
                grad_ok(r) ? "consistent" : "**not**", hat_ok(r) ? "yes" : "**no**");
    }
    fprintf(f, "\nClasses:\n\n");
    for (int c = 0; c < NCLASSES; c++)
        fprintf(f, "- `%s`: %s\n", classes[c].name, classes[c].what);
    fprintf(f, "\n![diagnostics](diagnose.png)\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/report.md", a->dir);
    fg_status st = fg_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}

typedef struct {
    const diag_row *rows;
    int n;
} diag_plot;

static fg_status plot_data(const plot_stage *ps, const void *ctx)
{
    const diag_plot *d = ctx;
    FILE *f;
    fg_status st = plot_stage_fopen(ps, "diagnose.dat", &f);
    if (st != FG_OK)
        return st;
    for (int c = 0; c < NCLASSES; c++) {
        int any = 0;
        for (int i = 0; i < d->n; i++)
            if (d->rows[i].cls == c) {
                const diag_row *r = &d->rows[i];
                if (!any) /* the block's column heads: its title */
                    fprintf(f, "strength cos as_is hat %s\n", classes[c].name);
                fprintf(f, "%d %g %g %g %s\n", r->s + 1, r->cos, 100 * (r->as_is - r->ref_acc),
                        100 * (r->hat - r->ref_hat), classes[c].name);
                any = 1;
            }
        if (any)
            fprintf(f, "\n\n");
    }
    return plot_stage_fclose(ps, "diagnose.dat", f);
}

/* The script for nblocks classes (a printf format: one %s, the folder). */
static char *gp_script(int nblocks)
{
    static const char fmt[] =
        "cd '%%s'\nset terminal pngcairo size 1100,450\nset output 'diagnose.png'\n"
        "set termoption noenhanced\nset multiplot layout 1,2\nset key left bottom\n"
        "set xlabel 'strength'\nset xtics 1\nset xrange [0.8:3.2]\n"
        "set ylabel 'D1: cos(mean perturbed gradient, reference gradient)'\n"
        "set yrange [*:1.05]\n"
        "plot for [i=0:%d] 'diagnose.dat' index i using 1:2 with linespoints "
        "title columnhead(5)\n"
        "set ylabel 'HAT on it - HAT on the reference (points)'\nset yrange [*:*]\n"
        "plot for [i=0:%d] 'diagnose.dat' index i using 1:4 with linespoints "
        "title columnhead(5)\nunset multiplot\n";
    char *s = malloc(sizeof fmt + 32);
    if (s)
        snprintf(s, sizeof fmt + 32, fmt, nblocks - 1, nblocks - 1);
    return s;
}

/* ---- the command ------------------------------------------------------------- */
static fg_status load(const diag_args *a, nn_net **net, nn_dataset *tr, nn_dataset *te,
                      nn_ckpt_meta *meta)
{
    fg_status st = nn_ckpt_load(a->ckpt, a->batch > 256 ? a->batch : 256, net, meta);
    const char *data = a->data ? a->data : meta->data;
    if (st == FG_OK)
        st = nn_data_load(data, 1, a->limit_train, tr);
    if (st == FG_OK)
        st = nn_data_load(data, 0, a->limit_test, te);
    if (st == FG_OK && tr->n < a->batch)
        st = fg_error(FG_ERR_RANGE, "--batch %d: the training set has %d images", a->batch,
                      tr->n);
    return st;
}

static fg_status run(const diag_args *a)
{
    nn_net *net = NULL;
    nn_dataset tr = {0}, te = {0};
    nn_ckpt_meta meta;
    fg_status st = load(a, &net, &tr, &te, &meta);
    nn_train_opts to;
    nn_train_opts_default(&to, meta.net);
    to.data = a->data ? a->data : meta.data;
    to.epochs = a->hat_epochs ? a->hat_epochs : 1, to.init = a->ckpt, to.quiet = 1;
    to.limit_train = a->limit_train, to.limit_test = a->limit_test;
    to.tiles = NN_TILES_ALWAYS, to.threads = 0;
    to.grad = nn_cli_grad_mode(a->be.grad);
    to.opt.lr = a->lr > 0 ? a->lr : to.opt.lr / 10;
    const size_t n = net ? weight_count(net) : 0, K = net ? (size_t)nn_net_classes(net) : 0;
    diag_batch b = {.net = net, .B = a->batch, .nw = n, .grad = to.grad,
                    .nx = net ? (size_t)a->batch * nn_net_input_size(net) : 0};
    const size_t ng = b.nw + b.nx; /* one gradient vector */
    float *x = NULL, *gk = NULL;
    uint8_t *y = NULL;
    diag_row *rows = calloc(NCLASSES * NSTR, sizeof *rows);
    int nr = 0;
    diag_refs refs = {0};
    if (st == FG_OK) {
        x = malloc((size_t)a->batch * tr.H * tr.W * tr.C * sizeof *x);
        y = malloc((size_t)a->batch);
        b.probs = malloc((size_t)a->batch * K * sizeof(float));
        b.dl = malloc((size_t)a->batch * K * sizeof(float));
        refs.g0[0] = malloc(ng * sizeof(float));
        refs.g0[1] = malloc(ng * sizeof(float));
        gk = malloc((size_t)a->draws * ng * sizeof *gk);
        nn_net_set_input_grad(net, 1);
        if (!x || !y || !b.probs || !b.dl || !refs.g0[0] || !refs.g0[1] || !gk ||
            !rows)
            st = fg_error(FG_ERR_NOMEM, "diagnose: out of memory");
    }
    if (st == FG_OK) {
        nn_data_batch(&tr, NULL, 0, a->batch, x, y);
        b.x = x, b.y = y;
    }
    const fgc_backend_kind *kind = fgc_backend_kind_of(a->be.name);
    for (int c = 0; c < NCLASSES && st == FG_OK; c++) {
        if (!class_selected(a, c) || (classes[c].ir && !(kind && kind->ir)))
            continue;
        for (int s = 0; s < NSTR && st == FG_OK; s++) {
            double t0 = fg_now();
            st = diagnose_one(a, &to, &b, &te, c, s, gk, &refs, &rows[nr]);
            if (st == FG_OK)
                fprintf(stderr, "[%s %d/3] %s: cos %.3f, rel. var %.3g, non-zero %.3f "
                        "(inputs %.3f); "
                        "accuracy as is / after HAT: reference %.2f / %.2f%%, perturbed "
                        "%.2f / %.2f%% (%.0f s)\n", classes[c].name, s + 1,
                        classes[c].spec[s], rows[nr].cos, rows[nr].var, rows[nr].nonzero,
                        rows[nr].in_nonzero,
                        100 * rows[nr].ref_acc, 100 * rows[nr].ref_hat,
                        100 * rows[nr].as_is, 100 * rows[nr].hat, fg_now() - t0);
            nr++;
        }
    }
    if (st == FG_OK && nr == 0)
        st = fg_error(FG_ERR_RANGE, "diagnose: no class to run (ir_drop needs --backend hwa)");
    diag_plot dp = {.rows = rows, .n = nr};
    char *script = st == FG_OK ? gp_script((nr + NSTR - 1) / NSTR) : NULL;
    if (st == FG_OK)
        st = script ? plot_make(a->dir, plot_data, &dp, script)
                    : fg_error(FG_ERR_NOMEM, "diagnose: out of memory");
    free(script);
    if (st == FG_OK)
        st = write_csv(a->dir, rows, nr);
    if (st == FG_OK)
        st = write_json(a->dir, rows, nr);
    if (st == FG_OK)
        st = write_report(a, rows, nr);
    free(x), free(y), free(b.probs), free(b.dl), free(refs.g0[0]), free(refs.g0[1]);
    free(gk), free(rows);
    nn_net_free(net);
    nn_data_free(&tr);
    nn_data_free(&te);
    return st;
}

int cmd_diagnose(int argc, char **argv)
{
    diag_args a = {.draws = 8, .batch = 256, .hat_epochs = 1};
    nn_cli_backend_opts_init(&a.be);
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (c == O_HELP) {
            usage(stdout);
            return 0;
        }
        bad |= parse_opt(&a, c, optarg);
    }
    if (!bad && (optind < argc || !a.ckpt || !a.dir)) {
        fprintf(stderr, "fgcosim diagnose: %s\n", optind < argc ? "unexpected argument"
                : !a.ckpt ? "--ckpt is required" : "-o DIR is required");
        bad = 2;
    }
    if (bad)
        return 2;
    fg_status st = check_classes(a.only);
    if (st == FG_OK)
        st = app_perturb_check(a.be.name, &a.be.perturb);
    if (st == FG_OK)
        st = run(&a);
    if (st != FG_OK)
        return nn_cli_fail(CMD, st);
    printf("fgcosim diagnose: %s/report.md, %s/diagnose.csv, %s/diagnose.png\n", a.dir,
           a.dir, a.dir);
    return 0;
}
