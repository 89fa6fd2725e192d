/* The backend registry: one table of array backends, opened by a spec
 * string NAME[:ARG]. The table is api/backends.def, one line per kind;
 * adding a backend: its file api/open_NAME.c defining
 * `fg_status fgc_open_NAME(const char *arg, const fgc_open_opts *o,
 * fg_backend **out)` and its line there (meson.build compiles the files the
 * table names). FGC_BACKENDS_DEF names another table (tests/meson.build:
 * the shipped one plus examples/open_toy.c's line). */
#include "fgcosim.h"

#include <stdlib.h>
#include <string.h>

#ifndef FGC_BACKENDS_DEF
#define FGC_BACKENDS_DEF "backends.def"
#endif

/* the constructors' prototypes */
#define FGC_BACKEND(name, open, usage, help, corner, ir)                      \
    fg_status open(const char *arg, const fgc_open_opts *o, fg_backend **out);
#include FGC_BACKENDS_DEF
#undef FGC_BACKEND

static const fgc_backend_kind kinds[] = {
#define FGC_BACKEND(name, open, usage, help, corner, ir)                      \
    {name, usage, help, open, corner, ir},
#include FGC_BACKENDS_DEF
#undef FGC_BACKEND
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

const fgc_backend_kind *fgc_backend_kinds(int *n)
{
    *n = NKINDS;
    return kinds;
}

/* "ideal, hwa, spice" */
static void kind_names(char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < NKINDS && len < n; k++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", k ? ", " : "", kinds[k].name);
}

/* what o asks of kind k that it does not take */
static fg_status opts_check(const fgc_backend_kind *k, const fgc_open_opts *o)
{
    fg_status st = o->corner ? fg_corner_check(o->corner) : FG_OK;
    if (st != FG_OK)
        return st;
    if (!k->corner && ((o->corner && !fg_corner_is_nominal(o->corner)) || o->reprogram))
        return fg_error(FG_ERR_RANGE, "--temp/--supply/--drift-time/--reprogram need "
                        "the spice backend (the %s backend has no corner; recalibrate a "
                        "model instead)", k->name);
    if (!k->ir && o->perturb && o->perturb->ir_scale != 1.0)
        return fg_error(FG_ERR_RANGE, "perturbation ir_scale scales the fitted model: "
                        "it needs --backend hwa (not %s)", k->name);
    return FG_OK;
}

fg_status fgc_backend_check(const char *name, const fgc_open_opts *o)
{
    for (int k = 0; k < NKINDS; k++)
        if (!strcmp(kinds[k].name, name))
            return opts_check(&kinds[k], o);
    char names[256];
    kind_names(names, sizeof names);
    return fg_error(FG_ERR_RANGE, "unknown backend '%s' (known: %s)", name, names);
}

/* *out = perturb(linear(*base)) as o asks; frees *base on failure */
static fg_status wrap(const fgc_open_opts *o, fg_backend *base, fg_backend **out)
{
    fg_status st = FG_OK;
    fg_backend *w;
    if (o->linear_grad) {
        if ((st = fg_backend_linear_grad(base, &w)) != FG_OK) {
            fg_backend_free(base);
            return st;
        }
        base = w;
    }
    if (o->perturb && !fg_perturb_is_none(o->perturb)) {
        if ((st = fg_perturb_wrap(base, o->perturb, &w)) != FG_OK) {
            fg_backend_free(base);
            return st;
        }
        base = w;
    }
    *out = base;
    return FG_OK;
}

fg_status fgc_backend_open_with(const char *spec, const fgc_open_opts *opts,
                                fg_backend **out)
{
    *out = NULL;
    const fgc_open_opts none = {0};
    fgc_open_opts o = opts ? *opts : none;
    if (!spec || !*spec)
        return fg_error(FG_ERR_RANGE, "backend spec is empty (NAME or NAME:ARG)");
    const char *colon = strchr(spec, ':');
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : NULL;
    for (int k = 0; k < NKINDS; k++) {
        if (strlen(kinds[k].name) != nlen || strncmp(kinds[k].name, spec, nlen))
            continue;
        fg_status st = opts_check(&kinds[k], &o);
        if (st != FG_OK)
            return st;
        fg_backend *base = NULL;
        st = kinds[k].open(arg, &o, &base);
        if (st != FG_OK) {
            fg_backend_free(base); /* a constructor that broke the rule */
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", fg_errmsg());
            return fg_error(st, "backend '%s': %s (usage %s)", spec, msg,
                            kinds[k].usage);
        }
        return wrap(&o, base, out);
    }
    char names[256];
    kind_names(names, sizeof names);
    return fg_error(FG_ERR_RANGE, "backend '%s': unknown name '%.*s' (known: %s)",
                    spec, (int)nlen, spec, names);
}

fg_status fgc_backend_open(const char *spec, fg_backend **out)
{
    return fgc_backend_open_with(spec, NULL, out);
}
