/* Registry entry "hwa:MODEL.json": the fitted compact model of a model
 * file written by `fgcosim fit` (or recalibrate); the perturbation
 * ir_scale scales its voltage-drop physics. */
#include "fgcosim.h"

fg_status fgc_open_hwa(const char *arg, const fgc_open_opts *o, fg_backend **out)
{
    *out = NULL;
    if (!arg || !*arg)
        return fg_error(FG_ERR_RANGE, "hwa needs a model file (hwa:MODEL.json)");
    fit_model m;
    fg_status st = fit_model_load(&m, arg);
    if (st != FG_OK)
        return st;
    fit_model_scale_drop(&m, o->perturb ? o->perturb->ir_scale : 1.0);
    return fit_backend_hwa_open(&m, out);
}
