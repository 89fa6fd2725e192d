/* libFuzzer target: the checkpoint reader (nn_ckpt_load, format v1-v3 of
 * train/CHECKPOINT.md, behind `fgcosim evaluate CKPT`). */
#include "fuzz_util.h"
#include "train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    fuzz_tmpfile(data, size, ".ckpt", path);
    nn_net *net = NULL;
    nn_ckpt_meta meta;
    if (nn_ckpt_load(path, 1, &net, &meta) == FG_OK)
        nn_net_free(net);
    unlink(path);
    return 0;
}
