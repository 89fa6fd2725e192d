/* Seeded calibration patterns: one-hot rows first, then a documented mix. */
#include "cosim.h"

static void pattern_random(double *x /*(16)*/, fg_rng *r)
{
    double kind = fg_rng_uniform(r);
    for (int i = 0; i < FG_ROWS; i++)
        x[i] = 0.0;
    if (kind < 0.02) { /* all off: the zero-input reading pins the offsets */
    } else if (kind < 0.45) { /* uniform */
        for (int i = 0; i < FG_ROWS; i++)
            x[i] = fg_rng_uniform(r);
    } else if (kind < 0.65) { /* small, like a network's activations: each
                                 row on with p = 0.5, width u^3 */
        for (int i = 0; i < FG_ROWS; i++)
            if (fg_rng_uniform(r) < 0.5) {
                double u = fg_rng_uniform(r);
                x[i] = u * u * u;
            }
    } else if (kind < 0.80) { /* sparse: each row on with p = 0.25 */
        for (int i = 0; i < FG_ROWS; i++)
            if (fg_rng_uniform(r) < 0.25)
                x[i] = fg_rng_uniform(r);
    } else if (kind < 0.95) { /* one-hot row, random width */
        x[fg_rng_next(r) % FG_ROWS] = fg_rng_uniform(r);
    } else { /* all rows on at one width */
        double t = fg_rng_uniform(r);
        for (int i = 0; i < FG_ROWS; i++)
            x[i] = t;
    }
}

void cosim_patterns_generate(double *x, int P, uint64_t seed)
{
    fg_rng r;
    fg_rng_seed(&r, seed);
    for (int p = 0; p < P; p++) {
        double *row = x + (size_t)p * FG_ROWS;
        if (p < FG_ROWS) { /* one-hot rows at full width: naive extraction */
            for (int i = 0; i < FG_ROWS; i++)
                row[i] = i == p ? 1.0 : 0.0;
        } else
            pattern_random(row, &r);
    }
}
