/* Registry entry "hwa:MODEL.json": the fitted compact model of a model
 * file written by `fgcosim fit` (or recalibrate); the perturbation
 * ir_scale scales its voltage-drop physics. It runs on the array the model
 * was fitted on: the file's op point and corner. */
#include "fgcosim.h"

#include <stdio.h>

/* m = the model file arg */
static fg_status model_load(const char *arg, fit_model *m)
{
    if (!arg || !*arg)
        return fg_error(FG_ERR_RANGE, "hwa needs a model file (hwa:MODEL.json)");
    return fit_model_load(m, arg);
}

fg_status fgc_open_hwa(const char *arg, const fgc_open_opts *o, fg_backend **out)
{
    *out = NULL;
    fit_model m;
    fg_status st = model_load(arg, &m);
    if (st != FG_OK)
        return st;
    fit_model_scale_drop(&m, o->perturb ? o->perturb->ir_scale : 1.0);
    return fit_backend_hwa_open(&m, out);
}

fg_status fgc_array_hwa(const char *arg, const fgc_open_opts *o, fgc_array *out)
{
    (void)o;
    fit_model m;
    fg_status st = model_load(arg, &m);
    if (st != FG_OK)
        return st;
    /* a recalibrated model's corner and trims */
    *out = (fgc_array){.on_array = 1, .op = m.op, .corner = m.corner, .must_match = 1};
    return FG_OK;
}

/* --model MODEL.json */
fg_status fgc_cli_hwa(const fgc_cli_opts *c, char *arg, size_t n)
{
    if (!c->model || !*c->model)
        return fg_error(FG_ERR_RANGE, "backend hwa needs --model MODEL.json (from "
                        "fgcosim fit)");
    int len = snprintf(arg, n, "%s", c->model);
    if (len < 0 || (size_t)len >= n)
        return fg_error(FG_ERR_RANGE, "--model: a path of %d bytes is too long", len);
    return FG_OK;
}
