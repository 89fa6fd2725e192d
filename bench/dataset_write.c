/* bench_dataset_write DATA.h5 [REPS]: how long rank 0 takes to write a
 * data set of that size (cosim_dataset_write, temp name then rename), the
 * cost of each partial-file save and of the final file in the MPI run. */
#include "cosim.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_dataset_write DATA.h5 [REPS]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    cosim_dataset ds;
    if (cosim_dataset_read(argv[1], &ds) != FG_OK) {
        fprintf(stderr, "bench_dataset_write: %s\n", fg_errmsg());
        return 2;
    }
    char out[4200];
    snprintf(out, sizeof out, "%s.bench", argv[1]);
    double t0 = fg_now();
    for (int k = 0; k < reps; k++)
        if (cosim_dataset_write(out, &ds) != FG_OK) {
            fprintf(stderr, "bench_dataset_write: %s\n", fg_errmsg());
            return 1;
        }
    double per = (fg_now() - t0) / (reps > 0 ? reps : 1);
    printf("write of %d patterns: %.2f ms (%.0f patterns/s)\n", ds.P, 1e3 * per, ds.P / per);
    unlink(out);
    cosim_dataset_free(&ds);
    return 0;
}
