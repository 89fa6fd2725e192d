/* vmm: one 16x16 vector-matrix multiply through a backend opened by spec.
 *
 *     cc vmm.c $(pkg-config --cflags --libs fgcosim) -o vmm
 *     ./vmm ideal            # or hwa:MODEL.json, spice:coupled
 *
 * Weights: cell (i,j) = (i + j) / 30 (normalised cell currents in [0,1]);
 * inputs: row i on for (i + 1) / 16 of T_max. Prints the version, the
 * backend and the 16 outputs y_j (ideal: y_j = sum_i x_i w_ij). */
#include <fgcosim.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    const char *spec = argc > 1 ? argv[1] : "ideal";
    fg_backend *be;
    if (fgc_backend_open(spec, &be) != FG_OK) {
        fprintf(stderr, "vmm: %s\n", fg_errmsg());
        return 2;
    }
    float w[FG_CELLS], x[FG_ROWS], y[FG_COLS];
    for (int i = 0; i < FG_ROWS; i++) {
        x[i] = (float)(i + 1) / FG_ROWS;
        for (int j = 0; j < FG_COLS; j++)
            w[i * FG_COLS + j] = (float)(i + j) / 30.0f;
    }
    fg_status st = fg_backend_vmm(be, w, x, y, 1);
    if (st == FG_OK) {
        printf("fgcosim %s, backend %s\ny:", fgc_version(), fg_backend_name(be));
        for (int j = 0; j < FG_COLS; j++)
            printf(" %.6g", y[j]);
        printf("\n");
    } else {
        fprintf(stderr, "vmm: %s\n", fg_errmsg());
    }
    fg_backend_free(be);
    return st == FG_OK ? 0 : fg_status_exit_code(st);
}
