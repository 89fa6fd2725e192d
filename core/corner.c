/* Operating corners: temperature, supply scale and retention drift. */
#include "fgcore.h"

#include <math.h>
#include <string.h>

/* Retention defaults (see README "Operating corners" for the sources and
 * why): 0.5 % of the stored shift lost per decade of time after 1 s, so
 * ten years (8.5 decades) take 4.2 % of it, with a 20 % per-cell spread. */
#define DRIFT_RATE 0.005
#define DRIFT_T0 1.0
#define DRIFT_SIGMA 0.2

fg_corner fg_corner_nominal(void)
{
    return (fg_corner){
        .temp_c = FG_TEMP_NOMINAL_C, .supply = 1.0,
        .rails = FG_RAIL_READ | FG_RAIL_PRE, .drift_s = 0.0,
        .drift_rate = DRIFT_RATE, .drift_t0_s = DRIFT_T0,
        .drift_sigma = DRIFT_SIGMA, .drift_neutral_v = 0.0, .drift_seed = 1,
        .t_max_trim = 1.0, .out_gain = 1.0,
    };
}

int fg_corner_is_nominal(const fg_corner *c)
{
    return !c || (c->temp_c == FG_TEMP_NOMINAL_C && c->supply == 1.0 &&
                  c->drift_s == 0.0 && c->t_max_trim == 1.0 &&
                  c->out_gain == 1.0);
}

static int in_range(double v, double lo, double hi) { return v >= lo && v <= hi; }

fg_status fg_corner_check(const fg_corner *c)
{
    static const char *fmt = "%s %g is outside the allowed range [%g, %g]%s";
    if (!in_range(c->temp_c, -55, 150))
        return fg_error(FG_ERR_RANGE, fmt, "--temp", c->temp_c, -55.0, 150.0, " C");
    if (!in_range(c->supply, 0.5, 1.5))
        return fg_error(FG_ERR_RANGE, fmt, "--supply", c->supply, 0.5, 1.5, "");
    if (!in_range(c->drift_s, 0, 1e10))
        return fg_error(FG_ERR_RANGE, fmt, "--drift-time", c->drift_s, 0.0, 1e10, " s");
    if (!in_range(c->drift_rate, 0, 0.2))
        return fg_error(FG_ERR_RANGE, fmt, "--drift-rate", c->drift_rate, 0.0, 0.2,
                        " per decade");
    if (!in_range(c->drift_t0_s, 1e-9, 1e9))
        return fg_error(FG_ERR_RANGE, fmt, "--drift-t0", c->drift_t0_s, 1e-9, 1e9, " s");
    if (!in_range(c->drift_sigma, 0, 2))
        return fg_error(FG_ERR_RANGE, fmt, "--drift-sigma", c->drift_sigma, 0.0, 2.0, "");
    if (!in_range(c->drift_neutral_v, -1, 1))
        return fg_error(FG_ERR_RANGE, fmt, "--drift-neutral", c->drift_neutral_v, -1.0,
                        1.0, " V");
    if (!in_range(c->t_max_trim, 0.05, 4))
        return fg_error(FG_ERR_RANGE, fmt, "--t-max-trim", c->t_max_trim, 0.05, 4.0, "");
    if (!in_range(c->out_gain, 0.1, 20))
        return fg_error(FG_ERR_RANGE, fmt, "--out-gain", c->out_gain, 0.1, 20.0, "");
    if (c->rails & ~(unsigned)(FG_RAIL_READ | FG_RAIL_PRE))
        return fg_error(FG_ERR_RANGE, "--supply-rails: unknown rail bits 0x%x", c->rails);
    return FG_OK;
}

fg_op_point fg_corner_op(const fg_corner *c, const fg_op_point *nominal)
{
    fg_op_point op = *nominal;
    if (!c)
        return op;
    if (c->rails & FG_RAIL_READ)
        op.v_read *= c->supply;
    if (c->rails & FG_RAIL_PRE)
        op.v_pre *= c->supply;
    op.t_max *= c->t_max_trim;
    return op;
}

double fg_corner_y_from_v(const fg_corner *c, const fg_op_point *nominal, double v)
{
    fg_op_point at = fg_corner_op(c, nominal);
    at.t_max = nominal->t_max;
    return fg_op_y_from_v(&at, v) * (c ? c->out_gain : 1.0);
}

double fg_corner_drift_loss(const fg_corner *c)
{
    if (!c || c->drift_s <= 0 || c->drift_rate <= 0)
        return 0.0;
    return c->drift_rate * log10(1.0 + c->drift_s / c->drift_t0_s);
}

void fg_corner_drift(const fg_corner *c, const double *dvt, double *dvt_out)
{
    if (dvt_out != dvt)
        memmove(dvt_out, dvt, FG_CELLS * sizeof *dvt);
    if (!c || c->drift_s <= 0 || c->drift_rate <= 0)
        return;
    char hex[65];
    fg_sha256_hex(dvt_out, FG_CELLS * sizeof *dvt_out, hex);
    uint64_t h = 0;
    for (int k = 0; k < 16; k++)
        h = h << 4 | (uint64_t)(hex[k] <= '9' ? hex[k] - '0' : hex[k] - 'a' + 10);
    fg_rng r;
    fg_rng_seed(&r, c->drift_seed ^ h);
    double mean = fg_corner_drift_loss(c);
    for (int k = 0; k < FG_CELLS; k++) {
        double f = 1.0 + c->drift_sigma * fg_rng_normal(&r);
        double loss = mean * (f > 0 ? f : 0);
        if (loss > 1)
            loss = 1;
        dvt_out[k] = c->drift_neutral_v + (dvt_out[k] - c->drift_neutral_v) * (1 - loss);
    }
}

void fg_corner_describe(const fg_corner *c, char *buf, size_t n)
{
    fg_corner nom = fg_corner_nominal();
    if (!c)
        c = &nom;
    snprintf(buf, n, "%g C, supply %g (%s%s%s), drift %g s, T_max trim %g, output gain %g",
             c->temp_c,
             c->supply,
             c->rails & FG_RAIL_READ ? "V_read" : "",
             (c->rails & FG_RAIL_READ) && (c->rails & FG_RAIL_PRE) ? "+" : "",
             c->rails & FG_RAIL_PRE ? "V_pre" : c->rails ? "" : "no rail", c->drift_s,
             c->t_max_trim, c->out_gain);
    if (c->drift_s > 0) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, " (rate %g/decade, t0 %g s, sigma %g, neutral %g V, seed %llu)",
                 c->drift_rate, c->drift_t0_s, c->drift_sigma, c->drift_neutral_v,
                 (unsigned long long)c->drift_seed);
    }
}
