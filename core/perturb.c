/* Perturbations: a wrapper backend over any array backend (see fgcore.h for
 * the semantics of every key). Order of one VMM:
 *   programming side, per cell of a tile, from the targets w (16,16):
 *     prog_bits (levels of a write-verify) -> prog_sigma (dVT error, log-normal
 *     in current) -> drift (w^(1-L), per-cell L) -> stuck_off / stuck_on;
 *   input side: pulse_bits (pulse-width resolution);
 *   inner backend vmm;
 *   output side: read_noise (fresh per read) -> ADC (clip to [0, adc_range],
 *     adc_bits levels).
 * Draws made "at programming" are seeded by the seed and a hash of the
 * tile's targets, so a tile keeps its draw for as long as its weights stay
 * (a fixed network: every call; training: a fresh programming per step).
 * Backward: exact through prog_sigma, drift and stuck (constants of the
 * draw), straight through the three quantisers and the ADC clip;
 * bwd_noise adds N(0, (bwd_noise * max_j |dy_j|)^2) to every dx of a row. */
#include "fgcore.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *key, *unit, *help;
    size_t off;
    int is_int;
    double lo, hi;
} perturb_key;

#define F(k) offsetof(fg_perturb, k)
/* The one list of perturbation keys. */
static const perturb_key keys[] = {
    {"read_noise", "", "sigma of additive Gaussian noise on every output, per "
     "read, in units of one unit cell under a full pulse (1/16 of a tile's full "
     "scale)", F(read_noise), 0, 0, 100},
    {"bwd_noise", "", "sigma of Gaussian noise on the backward products dx, "
     "relative to max|dy| of the row (training only)", F(bwd_noise), 0, 0, 100},
    {"prog_sigma", "V", "sigma of the threshold shift error per cell at "
     "programming; current factor exp(-dVT/slope) (log-normal)",
     F(prog_sigma_v), 0, 0, 0.5},
    {"slope", "V", "n kT/q of the cells, maps dVT to current (1.5 x 25.85 mV)",
     F(slope_v), 0, 0.005, 0.2},
    {"drift_time", "s", "time since programming; every cell keeps w^(1-L), L the "
     "retention loss of the corner model", F(drift_s), 0, 0, 1e10},
    {"drift_rate", "", "fraction of the stored shift lost per decade",
     F(drift_rate), 0, 0, 0.2},
    {"drift_t0", "s", "onset time of the logarithmic loss", F(drift_t0_s), 0,
     1e-9, 1e9},
    {"drift_sigma", "", "relative per-cell spread of the loss", F(drift_sigma),
     0, 0, 2},
    {"stuck_off", "", "fraction of cells stuck off (w = 0)", F(stuck_off), 0, 0, 1},
    {"stuck_on", "", "fraction of cells stuck at full current (w = 1)",
     F(stuck_on), 0, 0, 1},
    {"ir_scale", "", "factor on the fitted voltage-drop physics (drain law, "
     "couplings): needs the hwa backend", F(ir_scale), 0, 0, 100},
    {"adc_bits", "", "ADC resolution on the outputs", F(adc_bits), 1, 1, 16},
    {"adc_range", "", "ADC full scale, in unit-cell outputs (16 = a tile's "
     "full scale)", F(adc_range), 0, 1e-6, 1e3},
    {"pulse_bits", "", "pulse-width resolution of the inputs", F(pulse_bits), 1,
     1, 16},
    {"prog_bits", "", "levels a write-verify reaches: 2^bits over [0,1] per cell",
     F(prog_bits), 1, 1, 16},
    {"seed", "", "seed of every draw", F(seed), 2, 0, 9007199254740992.0},
};
#undef F
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

void fg_perturb_init(fg_perturb *p)
{
    fg_corner c = fg_corner_nominal();
    *p = (fg_perturb){.slope_v = 1.5 * 0.025852, .drift_rate = c.drift_rate,
                      .drift_t0_s = c.drift_t0_s, .drift_sigma = c.drift_sigma,
                      .ir_scale = 1.0, .adc_range = FG_ROWS, .seed = 1};
}

static const perturb_key *key_find(const char *key, size_t n)
{
    for (int i = 0; i < NKEYS; i++)
        if (strlen(keys[i].key) == n && !strncmp(keys[i].key, key, n))
            return &keys[i];
    return NULL;
}

const char *fg_perturb_key_name(int i) { return i >= 0 && i < NKEYS ? keys[i].key : NULL; }

void fg_perturb_help(FILE *f)
{
    for (int i = 0; i < NKEYS; i++)
        fprintf(f, "  %-11s %s%s%s [%g..%g]\n", keys[i].key, keys[i].help,
                keys[i].unit[0] ? ", " : "", keys[i].unit, keys[i].lo, keys[i].hi);
}

fg_status fg_perturb_set(fg_perturb *p, const char *key, double v)
{
    const perturb_key *k = key_find(key, strlen(key));
    if (!k)
        return fg_error(FG_ERR_RANGE, "unknown perturbation '%s' (see --perturb help)",
                        key);
    if (!(v >= k->lo && v <= k->hi) || (k->is_int && v != floor(v)))
        return fg_error(FG_ERR_RANGE, "perturbation %s = %g is out of range: %s%g..%g%s%s",
                        key, v, k->is_int ? "an integer " : "", k->lo, k->hi,
                        k->unit[0] ? " " : "", k->unit);
    char *at = (char *)p + k->off;
    if (k->is_int == 1)
        *(int *)at = (int)v;
    else if (k->is_int == 2)
        *(uint64_t *)at = (uint64_t)v;
    else
        *(double *)at = v;
    if (p->stuck_off + p->stuck_on > 1.0)
        return fg_error(FG_ERR_RANGE, "perturbations stuck_off + stuck_on = %g: at "
                        "most 1", p->stuck_off + p->stuck_on);
    return FG_OK;
}

double fg_perturb_get(const fg_perturb *p, const char *key)
{
    const perturb_key *k = key_find(key, strlen(key));
    if (!k)
        return NAN;
    const char *at = (const char *)p + k->off;
    return k->is_int == 1 ? *(const int *)at
           : k->is_int == 2 ? (double)*(const uint64_t *)at : *(const double *)at;
}

fg_status fg_perturb_parse(fg_perturb *p, const char *spec)
{
    const char *s = spec;
    while (s && *s) {
        const char *end = strchr(s, ','), *eq = strchr(s, '=');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if (!eq || (end && eq > end))
            return fg_error(FG_ERR_PARSE, "perturbation '%.*s': expected KEY=VALUE",
                            (int)n, s);
        char key[32], *stop;
        size_t kn = (size_t)(eq - s);
        if (kn >= sizeof key || !key_find(s, kn))
            return fg_error(FG_ERR_RANGE, "unknown perturbation '%.*s'", (int)kn, s);
        memcpy(key, s, kn);
        key[kn] = 0;
        double v = strtod(eq + 1, &stop);
        if (stop == eq + 1 || stop != s + n || !isfinite(v))
            return fg_error(FG_ERR_PARSE, "perturbation %s: '%.*s' is not a number",
                            key, (int)(n - kn - 1), eq + 1);
        fg_status st = fg_perturb_set(p, key, v);
        if (st != FG_OK)
            return st;
        s = end ? end + 1 : NULL;
    }
    return FG_OK;
}

int fg_perturb_weights(const fg_perturb *p)
{
    return p->prog_bits > 0 || p->prog_sigma_v > 0 || p->stuck_off > 0 ||
           p->stuck_on > 0 || (p->drift_s > 0 && p->drift_rate > 0);
}

int fg_perturb_is_none(const fg_perturb *p)
{
    return !fg_perturb_weights(p) && p->read_noise == 0 && p->bwd_noise == 0 &&
           p->adc_bits == 0 && p->pulse_bits == 0 && p->ir_scale == 1.0;
}

void fg_perturb_describe(const fg_perturb *p, char *buf, size_t n)
{
    fg_perturb d;
    fg_perturb_init(&d);
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < NKEYS && len < n; i++) {
        double v = fg_perturb_get(p, keys[i].key);
        if (v != fg_perturb_get(&d, keys[i].key))
            len += (size_t)snprintf(buf + len, n - len, "%s%s=%g", len ? "," : "",
                                    keys[i].key, v);
    }
    if (!buf[0])
        snprintf(buf, n, "none");
}

/* ---- the wrapper backend ------------------------------------------------ */
typedef struct {
    fg_backend *inner;
    fg_perturb p;
    double drift_loss;/* mean retention loss of p (drift_loss())      */
    fg_rng rng;       /* fresh per read: read noise, backward noise */
    char name[48];
    float *buf;       /* scratch: cells (nt,16,16) + factors + pulses (B,16) */
    size_t cap;
} perturb_ctx;

static fg_status ctx_scratch(perturb_ctx *c, size_t n, float **out)
{
    if (c->cap < n) {
        float *b = realloc(c->buf, n * sizeof *b);
        if (!b)
            return fg_error(FG_ERR_NOMEM, "perturbations: out of memory");
        c->buf = b, c->cap = n;
    }
    *out = c->buf;
    return FG_OK;
}

#define PERTURB_MAX_LN 60.0f /* |ln| of a programming factor at most */

static uint64_t tile_hash(const float *w, uint64_t seed)
{
    uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
    uint32_t u;
    for (int k = 0; k < FG_CELLS; k++) {
        memcpy(&u, &w[k], sizeof u);
        h = (h ^ u) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

/* v clipped to [0,1] (NaN to 0), rounded to 2^bits levels (0 and 1
 * included) */
static float quantise(float v, int bits)
{
    float L = (float)((1u << bits) - 1u);
    v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
    return (float)(int)(v * L + 0.5f) / L;
}

static void quantise_all(float *v, const float *in, size_t n, int bits)
{
    for (size_t i = 0; i < n; i++)
        v[i] = quantise(in[i], bits);
}

/* The mean retention loss of p's drift keys (the corner's law): a
 * constant of the wrapper, worked out once. */
static double drift_loss(const fg_perturb *p)
{
    fg_corner c = fg_corner_nominal();
    c.drift_s = p->drift_s, c.drift_rate = p->drift_rate;
    c.drift_t0_s = p->drift_t0_s, c.drift_sigma = p->drift_sigma;
    return fg_corner_drift_loss(&c);
}

/* weff (16,16) = the programmed cells of targets w (16,16), loss the mean
 * retention loss; dfac (16,16) = d weff / d w with the quantiser straight
 * through (NULL: not needed). */
static void tile_program(const fg_perturb *p, double loss, const float *w, float *weff,
                         float *dfac)
{
    float d[FG_CELLS], z[FG_CELLS];
    if (p->prog_bits > 0)
        quantise_all(weff, w, FG_CELLS, p->prog_bits);
    else
        memcpy(weff, w, sizeof z);
    for (int k = 0; k < FG_CELLS; k++)
        d[k] = 1.0f;
    fg_rng r;
    if (p->prog_sigma_v > 0 || loss > 0 || p->stuck_off > 0 || p->stuck_on > 0)
        fg_rng_seed(&r, tile_hash(w, p->seed));
    if (p->prog_sigma_v > 0) {
        const float s = (float)(p->prog_sigma_v / p->slope_v);
        memset(z, 0, sizeof z);
        fg_rng_normal_add(&r, z, FG_CELLS, 1.0f);
        for (int k = 0; k < FG_CELLS; k++) {
            /* a numerical guard, not physics: at sigma/slope of tens the
             * log-normal law has long left subthreshold, and e^88 would
             * overflow a float (inf * an input of 0 = NaN) */
            float e = -s * z[k];
            float f = expf(e > PERTURB_MAX_LN ? PERTURB_MAX_LN
                                              : (e < -PERTURB_MAX_LN ? -PERTURB_MAX_LN : e));
            weff[k] *= f, d[k] *= f;
        }
    }
    if (loss > 0) {
        memset(z, 0, sizeof z);
        fg_rng_normal_add(&r, z, FG_CELLS, (float)p->drift_sigma);
        for (int k = 0; k < FG_CELLS; k++) {
            float L = (float)loss * (1.0f + z[k] > 0.0f ? 1.0f + z[k] : 0.0f);
            L = L > 1.0f ? 1.0f : L;
            if (weff[k] <= 0.0f)
                continue;
            float nv = powf(weff[k], 1.0f - L);
            d[k] *= (1.0f - L) * nv / weff[k]; /* d v^(1-L)/dv = (1-L) v^-L */
            weff[k] = nv;
        }
    }
    for (int k = 0; (p->stuck_off > 0 || p->stuck_on > 0) && k < FG_CELLS; k++) {
        double u = fg_rng_uniform(&r);
        if (u < p->stuck_off + p->stuck_on)
            weff[k] = u < p->stuck_off ? 0.0f : 1.0f, d[k] = 0.0f;
    }
    if (dfac)
        memcpy(dfac, d, sizeof d);
}

/* The cells (nt,16,16) a wrapper hands the inner backend, and their
 * derivative factors (nt,16,16) when dfac is not NULL. */
static const float *tiles_program(perturb_ctx *c, const float *w, int nt,
                                  float *weff, float *dfac)
{
    if (!fg_perturb_weights(&c->p))
        return w;
    for (int t = 0; t < nt; t++)
        tile_program(&c->p, c->drift_loss, w + (size_t)t * FG_CELLS,
                     weff + (size_t)t * FG_CELLS, dfac ? dfac + (size_t)t * FG_CELLS : NULL);
    return weff;
}

static const float *pulses(const perturb_ctx *c, const float *x, float *xq, int B)
{
    if (c->p.pulse_bits <= 0)
        return x;
    quantise_all(xq, x, (size_t)B * FG_ROWS, c->p.pulse_bits);
    return xq;
}

static void outputs(perturb_ctx *c, float *y, size_t n)
{
    if (c->p.read_noise > 0)
        fg_rng_normal_add(&c->rng, y, n, (float)c->p.read_noise);
    if (c->p.adc_bits > 0) {
        const float R = (float)c->p.adc_range;
        for (size_t i = 0; i < n; i++)
            y[i] = R * quantise(y[i] / R, c->p.adc_bits);
    }
}

static fg_status perturb_tiles(void *ctx, const float *w, int nt, const float *x,
                               float *y, int B)
{
    perturb_ctx *c = ctx;
    float *weff = NULL;
    fg_status st = ctx_scratch(c, (size_t)nt * FG_CELLS + (size_t)B * FG_ROWS, &weff);
    if (st != FG_OK)
        return st;
    float *xq = weff + (size_t)nt * FG_CELLS;
    const float *wp = tiles_program(c, w, nt, weff, NULL);
    if ((st = fg_backend_vmm_tiles(c->inner, wp, nt, pulses(c, x, xq, B), y, B)) == FG_OK)
        outputs(c, y, (size_t)nt * B * FG_COLS);
    return st;
}

static fg_status perturb_vmm(void *ctx, const float *w, const float *x, float *y, int B)
{
    return perturb_tiles(ctx, w, 1, x, y, B);
}

/* dx (B,16) += N(0, (s max_j |dy_j|)^2), dy summed over nt tiles (nt,B,16) */
static void bwd_noise(perturb_ctx *c, float *dx, const float *dy, int nt, int B)
{
    for (int n = 0; n < B; n++) {
        float m = 0.0f;
        for (int t = 0; t < nt; t++)
            for (int j = 0; j < FG_COLS; j++) {
                float a = fabsf(dy[((size_t)t * B + n) * FG_COLS + j]);
                m = a > m ? a : m;
            }
        if (m > 0.0f)
            fg_rng_normal_add(&c->rng, dx + (size_t)n * FG_ROWS, FG_ROWS,
                              (float)c->p.bwd_noise * m);
    }
}

static fg_status perturb_tiles_backward(void *ctx, const float *w, int nt,
                                        const float *x, const float *dy, float *dx,
                                        float *dw, int B)
{
    perturb_ctx *c = ctx;
    const size_t nc = (size_t)nt * FG_CELLS;
    float *weff = NULL;
    fg_status st = ctx_scratch(c, 3 * nc + (size_t)B * FG_ROWS, &weff);
    if (st != FG_OK)
        return st;
    float *dfac = weff + nc, *dcell = dfac + nc, *xq = dcell + nc;
    const float *wp = tiles_program(c, w, nt, weff, dfac);
    const int chain = wp != w && dw;
    if (chain)
        memset(dcell, 0, nc * sizeof *dcell);
    st = fg_backend_vmm_tiles_backward(c->inner, wp, nt, pulses(c, x, xq, B), dy, dx,
                                       chain ? dcell : dw, B);
    if (st != FG_OK)
        return st;
    for (size_t k = 0; chain && k < nc; k++)
        dw[k] += dcell[k] * dfac[k];
    if (dx && c->p.bwd_noise > 0)
        bwd_noise(c, dx, dy, nt, B);
    return FG_OK;
}

static fg_status perturb_backward(void *ctx, const float *w, const float *x,
                                  const float *dy, float *dx, float *dw, int B)
{
    return perturb_tiles_backward(ctx, w, 1, x, dy, dx, dw, B);
}

static void perturb_free(void *ctx)
{
    perturb_ctx *c = ctx;
    fg_backend_free(c->inner);
    free(c->buf);
    free(c);
}

fg_status fg_perturb_wrap(fg_backend *inner, const fg_perturb *p, fg_backend **out)
{
    *out = NULL;
    perturb_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return fg_error(FG_ERR_NOMEM, "perturbations: out of memory");
    c->inner = inner;
    c->p = *p;
    c->drift_loss = drift_loss(p);
    fg_rng_seed(&c->rng, p->seed ^ 0x5eedf00dULL);
    snprintf(c->name, sizeof c->name, "%s+perturb", fg_backend_name(inner));
    fg_backend_ops ops = {
        .name = c->name, .vmm = perturb_vmm, .vmm_tiles = perturb_tiles,
        .free = perturb_free,
    };
    if (fg_backend_can_backward(inner)) {
        ops.vmm_backward = perturb_backward;
        ops.vmm_tiles_backward = perturb_tiles_backward;
    }
    if (!(*out = fg_backend_new(&ops, c))) {
        free(c);
        return fg_error(FG_ERR_NOMEM, "perturbations: out of memory");
    }
    return FG_OK;
}
