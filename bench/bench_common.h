/* Helpers shared by the benches. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include "fgcore.h"

#include <math.h>
#include <stdio.h>

/* The 1-minute load average (NaN when /proc/loadavg is unreadable): the
 * benches print it beside timings taken on a shared machine. */
static inline double bench_load_avg(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = NAN;
        fclose(f);
    }
    return l;
}

/* w (16,16) uniform in [0,1) from seed: the benches' programmed array. */
static inline void bench_random_weights(double *w, uint64_t seed)
{
    fg_rng r;
    fg_rng_seed(&r, seed);
    for (int k = 0; k < FG_CELLS; k++)
        w[k] = fg_rng_uniform(&r);
}

#endif
