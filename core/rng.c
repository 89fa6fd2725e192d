/* Deterministic random numbers: splitmix64 seeding, xoshiro256**. */
#include "fgcore.h"

#include <math.h>
#include <pthread.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void fg_rng_seed(fg_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(fg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t fg_rng_next(fg_rng *r) { return rng_next(r); }

double fg_rng_uniform(fg_rng *r) { return (double)(fg_rng_next(r) >> 11) * 0x1.0p-53; }

double fg_rng_normal(fg_rng *r)
{
    double u1 = fg_rng_uniform(r), u2 = fg_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* The standard normal quantile, P. J. Acklam's rational approximation
 * (relative error below 1.2e-9 over (0,1)); central region for
 * p in [0.02425, 0.97575], logarithmic tails outside. */
double fg_normal_quantile(double p)
{
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00};
    const double lo = 0.02425;
    if (p > lo && p < 1.0 - lo) {
        double q = p - 0.5, r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
               (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    double q = sqrt(-2.0 * log(p <= lo ? p : 1.0 - p));
    double x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    return p <= lo ? x : -x;
}

/* Quantiles of the 1024 equal-probability bins' edges, k/1024 for
 * k = 0..1024 (the ends unused): the inverse CDF is interpolated linearly
 * inside a bin; draws that land in the two outermost bins (0.2 %) go
 * through fg_normal_quantile itself, so the tails are exact. */
#define QBINS 1024
static float qedge[QBINS + 1];
static pthread_once_t qonce = PTHREAD_ONCE_INIT;

static void qedge_init(void)
{
    for (int k = 1; k < QBINS; k++)
        qedge[k] = (float)fg_normal_quantile((double)k / QBINS);
}

void fg_rng_normal_add(fg_rng *r, float *out, size_t n, float sigma)
{
    pthread_once(&qonce, qedge_init);
    for (size_t i = 0; i < n; i++) {
        uint64_t u = rng_next(r);
        unsigned k = (unsigned)(u >> 54);                           /* bin   */
        float f = (float)((u >> 30) & 0xffffff) * 0x1.0p-24f;       /* in it */
        float z;
        if (k == 0 || k == QBINS - 1)
            z = (float)fg_normal_quantile(((double)k + f + 0x1.0p-25) / QBINS);
        else
            z = qedge[k] + f * (qedge[k + 1] - qedge[k]);
        out[i] += sigma * z;
    }
}
