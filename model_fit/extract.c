/* Weight extraction assuming an ideal VMM: naive (one-hot rows) and linear
 * least squares over all patterns. */
#include "model_fit.h"

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <string.h>

void fit_ideal_vmm(double *y, const double *x, const double *w, int P)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, FG_COLS, FG_ROWS,
                1.0, x, FG_ROWS, w, FG_COLS, 0.0, y, FG_COLS);
}

/* Row index if x (16) is one-hot at full width, else -1. */
static int one_hot_row(const double *x)
{
    int row = -1;
    for (int i = 0; i < FG_ROWS; i++) {
        if (x[i] == 1.0 && row < 0)
            row = i;
        else if (x[i] != 0.0)
            return -1;
    }
    return row;
}

int fit_find_one_hot(const double *x, int P, int idx[FG_ROWS])
{
    int found = 0;
    for (int i = 0; i < FG_ROWS; i++)
        idx[i] = -1;
    for (int p = 0; p < P; p++) {
        int r = one_hot_row(x + (size_t)p * FG_ROWS);
        if (r >= 0 && idx[r] < 0) {
            idx[r] = p;
            found++;
        }
    }
    return found;
}

fg_status fit_extract_naive(const double *x, const double *y, int P,
                            double *w /*(16,16)*/)
{
    int idx[FG_ROWS];
    fit_find_one_hot(x, P, idx);
    for (int i = 0; i < FG_ROWS; i++) {
        if (idx[i] < 0)
            return fg_error(FG_ERR_FORMAT, "naive extraction: no one-hot pattern "
                            "(x = e_%d, width 1.0) among %d patterns", i, P);
        memcpy(w + i * FG_COLS, y + (size_t)idx[i] * FG_COLS, FG_COLS * sizeof *w);
    }
    return FG_OK;
}

fg_status fit_extract_linear(const double *x, const double *y, int P,
                             double *w /*(16,16)*/)
{
    double a[FG_ROWS * FG_ROWS], b[FG_ROWS * FG_COLS], tr = 0;
    /* a (16,16) = x^T x ; b (16,16) = x^T y */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, FG_ROWS, FG_ROWS, P,
                1.0, x, FG_ROWS, x, FG_ROWS, 0.0, a, FG_ROWS);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, FG_ROWS, FG_COLS, P,
                1.0, x, FG_ROWS, y, FG_COLS, 0.0, b, FG_COLS);
    for (int i = 0; i < FG_ROWS; i++)
        tr += a[i * FG_ROWS + i];
    if (!(tr > 0))
        return fg_error(FG_ERR_RANGE, "linear extraction: all inputs are zero");
    for (int i = 0; i < FG_ROWS; i++) /* tiny ridge: rows never on stay 0 */
        a[i * FG_ROWS + i] += 1e-12 * tr;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    gsl_matrix_view A = gsl_matrix_view_array(a, FG_ROWS, FG_ROWS);
    int gs = gsl_linalg_cholesky_decomp1(&A.matrix);
    for (int j = 0; j < FG_COLS && gs == GSL_SUCCESS; j++) {
        double rhs[FG_ROWS], sol[FG_ROWS];
        for (int i = 0; i < FG_ROWS; i++)
            rhs[i] = b[i * FG_COLS + j];
        gsl_vector_view R = gsl_vector_view_array(rhs, FG_ROWS);
        gsl_vector_view X = gsl_vector_view_array(sol, FG_ROWS);
        gs = gsl_linalg_cholesky_solve(&A.matrix, &R.vector, &X.vector);
        for (int i = 0; i < FG_ROWS; i++)
            w[i * FG_COLS + j] = sol[i];
    }
    gsl_set_error_handler(old);
    if (gs != GSL_SUCCESS)
        return fg_error(FG_ERR_CONVERGE, "linear extraction: %s", gsl_strerror(gs));
    return FG_OK;
}
