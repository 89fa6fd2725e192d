/* Registry entry "hwa:MODEL.json": the fitted compact model of a model
 * file written by `fgcosim fit` (or recalibrate). */
#include "fgcosim.h"

fg_status fgc_open_hwa(const char *arg, fg_backend **out)
{
    *out = NULL;
    if (!arg || !*arg)
        return fg_error(FG_ERR_RANGE, "hwa needs a model file (hwa:MODEL.json)");
    fit_model m;
    fg_status st = fit_model_load(&m, arg);
    return st != FG_OK ? st : fit_backend_hwa_open(&m, out);
}
