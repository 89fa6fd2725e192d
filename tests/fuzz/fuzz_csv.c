/* libFuzzer target: the input/weight CSV reader (fg_csv_read, behind
 * `--inputs FILE.csv` and `--weights FILE.csv`: rows of 16 numbers in
 * [0,1]). Every value it returns must be in range. */
#include "fgcore.h"
#include "fuzz_util.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    fuzz_tmpfile(data, size, ".csv", path);
    double *v = NULL;
    int rows = 0;
    if (fg_csv_read(path, FG_ROWS, 0.0, 1.0, &v, &rows) == FG_OK) {
        if (rows < 1)
            abort();
        for (size_t k = 0; k < (size_t)rows * FG_ROWS; k++)
            if (!(v[k] >= 0.0 && v[k] <= 1.0)) {
                fprintf(stderr, "fuzz_csv: value %g out of [0,1] accepted\n", v[k]);
                abort();
            }
        free(v);
    }
    unlink(path);
    return 0;
}
