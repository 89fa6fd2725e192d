/* Signal-to-error ratio and relative RMS error. */
#include "model_fit.h"

#include <math.h>

static double ser_from(double sy, double se)
{
    if (se == 0)
        return INFINITY;
    return 10 * log10(sy / se);
}

double fit_ser_db(const double *y, const double *yhat, int n)
{
    double sy = 0, se = 0;
    for (int k = 0; k < n; k++) {
        double e = y[k] - yhat[k];
        sy += y[k] * y[k];
        se += e * e;
    }
    return ser_from(sy, se);
}

double fit_ser_col_db(const double *y, const double *yhat, int P, int j)
{
    double sy = 0, se = 0;
    for (int p = 0; p < P; p++) {
        double v = y[p * FG_COLS + j], e = v - yhat[p * FG_COLS + j];
        sy += v * v;
        se += e * e;
    }
    return ser_from(sy, se);
}

double fit_ser_pairs_db(const double *y, const double *yhat, int P)
{
    double sy = 0, se = 0;
    for (int p = 0; p < P; p++)
        for (int k = 0; k < FG_COLS / 2; k++) {
            const double *yp = y + (size_t)p * FG_COLS + 2 * k;
            const double *hp = yhat + (size_t)p * FG_COLS + 2 * k;
            double d = yp[0] - yp[1], e = d - (hp[0] - hp[1]);
            sy += d * d;
            se += e * e;
        }
    return ser_from(sy, se);
}

double fit_rel_rms(const double *y, const double *yhat, int n)
{
    double sy = 0, se = 0;
    for (int k = 0; k < n; k++) {
        double e = y[k] - yhat[k];
        sy += y[k] * y[k];
        se += e * e;
    }
    return sy > 0 ? sqrt(se / sy) : INFINITY;
}
