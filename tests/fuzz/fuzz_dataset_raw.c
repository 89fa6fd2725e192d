/* libFuzzer target: the calibration data set reader on raw bytes (a
 * damaged HDF5 file). Most of what this finds is inside libhdf5's own
 * decoder (Debian's 1.10.8 trusts sizes and offsets in the file; see
 * README, Fuzzing): it is not run by CI. fuzz_dataset fuzzes our reader
 * through well-formed files. */
#include "cosim.h"
#include "fuzz_util.h"

#include <hdf5.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once++)
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char path[4096];
    fuzz_tmpfile(data, size, ".h5", path);
    cosim_dataset ds;
    if (cosim_dataset_read(path, &ds) == FG_OK)
        cosim_dataset_free(&ds);
    unlink(path);
    return 0;
}
