/* The backend registry: one table of array backends, opened by a spec
 * string NAME[:ARG]. The table is api/backends.def, one line per kind;
 * adding a backend: its file api/open_NAME.c defining
 * `fg_status fgc_open_NAME(const char *arg, const fgc_open_opts *o,
 * fg_backend **out)` (and the kind's own array and cli functions, if it has
 * any) and its line there (meson.build compiles the files the table
 * names). FGC_BACKENDS_DEF names another table (tests/meson.build: the
 * shipped one plus examples/open_toy.c's line). */
#include "fgcosim.h"

#include <stdlib.h>
#include <string.h>

#ifndef FGC_BACKENDS_DEF
#define FGC_BACKENDS_DEF "backends.def"
#endif

/* the prototypes of the table's functions (fgc_array_none and fgc_cli_none
 * again: fgcosim.h has them) */
#define FGC_BACKEND(name, open, array, cli, usage, help, corner, ir)          \
    fg_status open(const char *arg, const fgc_open_opts *o, fg_backend **out); \
    fg_status array(const char *arg, const fgc_open_opts *o, fgc_array *out);  \
    fg_status cli(const fgc_cli_opts *c, char *arg, size_t n);
#include FGC_BACKENDS_DEF
#undef FGC_BACKEND

static const fgc_backend_kind kinds[] = {
#define FGC_BACKEND(name_, open_, array_, cli_, usage_, help_, corner_, ir_)   \
    {.name = name_, .usage = usage_, .help = help_, .open = open_,            \
     .corner = corner_, .ir = ir_, .array = array_, .cli = cli_},
#include FGC_BACKENDS_DEF
#undef FGC_BACKEND
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

const fgc_backend_kind *fgc_backend_kinds(int *n)
{
    *n = NKINDS;
    return kinds;
}

/* the kind named by the first nlen characters of spec, NULL if none */
static const fgc_backend_kind *find(const char *spec, size_t nlen)
{
    for (int k = 0; k < NKINDS; k++)
        if (strlen(kinds[k].name) == nlen && !strncmp(kinds[k].name, spec, nlen))
            return &kinds[k];
    return NULL;
}

/* the length of spec's NAME (up to the first ':') */
static size_t name_len(const char *spec)
{
    const char *colon = strchr(spec, ':');
    return colon ? (size_t)(colon - spec) : strlen(spec);
}

const fgc_backend_kind *fgc_backend_kind_of(const char *spec)
{
    return spec ? find(spec, name_len(spec)) : NULL;
}

fg_status fgc_array_none(const char *arg, const fgc_open_opts *o, fgc_array *out)
{
    (void)arg, (void)o;
    *out = (fgc_array){.on_array = 0, .corner = fg_corner_nominal()};
    return FG_OK;
}

fg_status fgc_cli_none(const fgc_cli_opts *c, char *arg, size_t n)
{
    (void)c;
    if (n)
        arg[0] = '\0';
    return FG_OK;
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
    const fgc_backend_kind *k = fgc_backend_kind_of(name); /* a name or a spec */
    if (k)
        return opts_check(k, o);
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

/* The error of a spec whose NAME (nlen characters) is not registered. */
static fg_status unknown(const char *spec, size_t nlen)
{
    char names[256];
    kind_names(names, sizeof names);
    return fg_error(FG_ERR_RANGE, "backend '%s': unknown name '%.*s' (known: %s)",
                    spec, (int)nlen, spec, names);
}

/* The kind of spec and its ARG (NULL: none), after the check of o. */
static fg_status spec_kind(const char *spec, const fgc_open_opts *o,
                           const fgc_backend_kind **k, const char **arg)
{
    if (!spec || !*spec)
        return fg_error(FG_ERR_RANGE, "backend spec is empty (NAME or NAME:ARG)");
    size_t nlen = name_len(spec);
    if (!(*k = find(spec, nlen)))
        return unknown(spec, nlen);
    *arg = spec[nlen] ? spec + nlen + 1 : NULL;
    return opts_check(*k, o);
}

/* st of kind k's function on spec, its message prefixed with the spec and
 * followed by the kind's usage */
static fg_status kind_failed(const char *spec, const fgc_backend_kind *k, fg_status st)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", fg_errmsg());
    return fg_error(st, "backend '%s': %s (usage %s)", spec, msg, k->usage);
}

fg_status fgc_backend_open_with(const char *spec, const fgc_open_opts *opts,
                                fg_backend **out)
{
    *out = NULL;
    const fgc_open_opts none = {0};
    const fgc_open_opts *o = opts ? opts : &none;
    const fgc_backend_kind *k = NULL;
    const char *arg = NULL;
    fg_status st = spec_kind(spec, o, &k, &arg);
    if (st != FG_OK)
        return st;
    fg_backend *base = NULL;
    if ((st = k->open(arg, o, &base)) != FG_OK) {
        fg_backend_free(base); /* a constructor that broke the rule */
        return kind_failed(spec, k, st);
    }
    return wrap(o, base, out);
}

fg_status fgc_backend_array(const char *spec, const fgc_open_opts *opts, fgc_array *out)
{
    const fgc_open_opts none = {0};
    const fgc_open_opts *o = opts ? opts : &none;
    const fgc_backend_kind *k = NULL;
    const char *arg = NULL;
    fgc_array_none(NULL, o, out);
    fg_status st = spec_kind(spec, o, &k, &arg);
    if (st == FG_OK && (st = k->array(arg, o, out)) != FG_OK) {
        fgc_array_none(NULL, o, out);
        return kind_failed(spec, k, st);
    }
    return st;
}

fg_status fgc_backend_spec(const char *name, const fgc_cli_opts *c, char *spec,
                           size_t n)
{
    const fgc_cli_opts none = {0};
    size_t nlen = name ? strlen(name) : 0;
    if (n)
        spec[0] = '\0';
    if (!nlen)
        return fg_error(FG_ERR_RANGE, "backend spec is empty (NAME or NAME:ARG)");
    const fgc_backend_kind *k = find(name, nlen);
    if (!k && !strchr(name, ':'))
        return unknown(name, nlen);
    if (nlen + (k != NULL) >= n) /* NAME and ':', or NAME:ARG, and the '\0' */
        return fg_error(FG_ERR_RANGE, "backend '%s': spec longer than %zu bytes", name,
                        n ? n - 1 : 0);
    memcpy(spec, name, nlen + 1);
    if (!k) /* NAME:ARG already */
        return FG_OK;
    spec[nlen] = ':';
    fg_status st = k->cli(c ? c : &none, spec + nlen + 1, n - nlen - 1);
    if (st != FG_OK)
        spec[0] = '\0';
    else if (!spec[nlen + 1])
        spec[nlen] = '\0';
    return st;
}

fg_status fgc_backend_open(const char *spec, fg_backend **out)
{
    return fgc_backend_open_with(spec, NULL, out);
}
