/* Registry entry "hwa:MODEL.json": the fitted compact model of a model
 * file written by `fgcosim fit` (or recalibrate); "hwa:T.json,temp=C": a
 * temperature model of `fgcosim tmodel` at die temperature C (the model
 * and T_max trim `tmodel --at C` would write). The perturbation ir_scale
 * scales its voltage-drop physics. It runs on the array the model was
 * fitted on: the file's op point and corner. */
#include "fgcosim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HWA_TEMP ",temp="

/* m = the temperature model in path at C (text after ",temp=") */
static fg_status tmodel_at(const char *path, const char *c, fit_model *m)
{
    char *end;
    double T = strtod(c, &end);
    if (end == c || *end || !isfinite(T))
        return fg_error(FG_ERR_RANGE, "hwa: temp=%s is not a die temperature in C", c);
    fit_tmodel *t = malloc(sizeof *t);
    if (!t)
        return fg_error(FG_ERR_NOMEM, "hwa: out of memory");
    fg_status st = fit_tmodel_load(t, path);
    if (st == FG_OK)
        st = fit_tmodel_at(t, T, m);
    free(t);
    return st;
}

/* m = the model of arg: MODEL.json, or T.json,temp=C */
static fg_status model_load(const char *arg, fit_model *m)
{
    if (!arg || !*arg)
        return fg_error(FG_ERR_RANGE, "hwa needs a model file (hwa:MODEL.json or "
                        "hwa:T.json" HWA_TEMP "C)");
    const char *opt = strstr(arg, HWA_TEMP);
    if (!opt)
        return fit_model_load(m, arg);
    char path[4096];
    const size_t n = (size_t)(opt - arg);
    if (n == 0 || n >= sizeof path)
        return fg_error(FG_ERR_RANGE, "hwa: '%s' has no temperature model file before "
                        HWA_TEMP, arg);
    memcpy(path, arg, n);
    path[n] = '\0';
    return tmodel_at(path, opt + strlen(HWA_TEMP), m);
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
