/* Registry entry "spice": tile VMMs through ngspice (cosim's backend).
 * ARG: items separated by commas, each one of
 *   LAYOUT          a built-in layout name or a layout JSON file
 *   layout=LAYOUT   the same
 *   netlist=FILE    a user's flat array netlist (nl_array_netlist_check);
 *                   the op point is then the layout's (default regular)
 *   jobs=N          worker processes, 0 = all cores (default 0)
 *   breakpoints=B   the deck's word-line drive: auto (default), few (B
 *                   sources, breakpoints at the rises and fall starts) or
 *                   all (PULSE sources): nl_wl_drive_parse
 * Weights are programmed as `fgcosim evaluate --backend spice` does:
 * program method auto, seed 1, at the nominal corner (o->reprogram: at
 * o->corner, the corner the array runs at). */
#include "fgcosim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *layout, *netlist;
    int jobs;
    nl_wl_drive drive;
} spice_spec;

/* Copies item (len n) into *slot; FG_ERR_RANGE if it is set already. */
static fg_status spec_set(char **slot, const char *what, const char *v, size_t n)
{
    if (*slot)
        return fg_error(FG_ERR_RANGE, "%s given twice", what);
    if (n == 0)
        return fg_error(FG_ERR_RANGE, "%s is empty", what);
    if (!(*slot = strndup(v, n)))
        return fg_error(FG_ERR_NOMEM, "out of memory");
    return FG_OK;
}

static fg_status spec_jobs(spice_spec *s, const char *v, size_t n)
{
    char buf[32], *end;
    if (n == 0 || n >= sizeof buf)
        return fg_error(FG_ERR_RANGE, "jobs=%.*s is not a count", (int)n, v);
    memcpy(buf, v, n);
    buf[n] = '\0';
    errno = 0;
    long j = strtol(buf, &end, 10);
    if (*end || errno || j < 0 || j > 1024)
        return fg_error(FG_ERR_RANGE, "jobs=%s is not a count in 0..1024", buf);
    s->jobs = (int)j;
    return FG_OK;
}

static fg_status spec_item(spice_spec *s, const char *it, size_t n)
{
    const char *eq = memchr(it, '=', n);
    if (!eq)
        return spec_set(&s->layout, "the layout", it, n);
    size_t k = (size_t)(eq - it), vn = n - k - 1;
    if (k == 6 && !strncmp(it, "layout", 6))
        return spec_set(&s->layout, "the layout", eq + 1, vn);
    if (k == 7 && !strncmp(it, "netlist", 7))
        return spec_set(&s->netlist, "netlist=", eq + 1, vn);
    if (k == 4 && !strncmp(it, "jobs", 4))
        return spec_jobs(s, eq + 1, vn);
    if (k == 11 && !strncmp(it, "breakpoints", 11))
        return nl_wl_drive_parse(eq + 1, vn, &s->drive) == 0
                   ? FG_OK
                   : fg_error(FG_ERR_RANGE, "breakpoints=%.*s is not " NL_WL_DRIVE_NAMES,
                              (int)vn, eq + 1);
    return fg_error(FG_ERR_RANGE,
                    "unknown option '%.*s' (layout, netlist, jobs, breakpoints)", (int)k, it);
}

static fg_status spec_parse(const char *arg, spice_spec *s)
{
    if (!arg || !*arg)
        return fg_error(FG_ERR_RANGE, "spice needs a layout or netlist=FILE");
    fg_status st = FG_OK;
    for (const char *p = arg; st == FG_OK;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        st = n ? spec_item(s, p, n)
               : fg_error(FG_ERR_RANGE, "empty item in '%s'", arg);
        if (!comma)
            break;
        p = comma + 1;
    }
    if (st == FG_OK && !s->layout && !s->netlist)
        st = fg_error(FG_ERR_RANGE, "spice needs a layout or netlist=FILE");
    return st;
}

/* s = arg parsed, *lay = its layout (netlist=FILE alone: regular); both
 * to free with spec_free, whatever the status */
static fg_status spec_load(const char *arg, spice_spec *s, nl_layout **lay)
{
    *lay = NULL;
    fg_status st = spec_parse(arg, s);
    return st == FG_OK ? nl_layout_load(s->layout ? s->layout : "regular", lay) : st;
}

static void spec_free(spice_spec *s, nl_layout *lay)
{
    nl_layout_free(lay);
    free(s->layout);
    free(s->netlist);
}

fg_status fgc_open_spice(const char *arg, const fgc_open_opts *o, fg_backend **out)
{
    *out = NULL;
    spice_spec s = {0};
    nl_layout *lay;
    fg_status st = spec_load(arg, &s, &lay);
    if (st == FG_OK && s.netlist)
        st = nl_array_netlist_check(s.netlist);
    if (st == FG_OK) {
        cosim_pool_config cfg = {.layout = lay, .array_netlist = s.netlist,
                                 .op = nl_layout_op_point(lay), .corner = o->corner,
                                 .jobs = s.jobs, .wl_drive = s.drive};
        cosim_program_opts po = {.seed = 1, .at_corner = o->reprogram};
        st = cosim_backend_spice_new(&cfg, &po, out);
    }
    spec_free(&s, lay);
    return st;
}

/* The layout's op point at the corner it is opened with (the netlist file
 * is not read: its op point is the layout's). */
fg_status fgc_array_spice(const char *arg, const fgc_open_opts *o, fgc_array *out)
{
    spice_spec s = {0};
    nl_layout *lay;
    fg_status st = spec_load(arg, &s, &lay);
    if (st == FG_OK)
        *out = (fgc_array){.on_array = 1, .op = nl_layout_op_point(lay),
                           .corner = o->corner ? *o->corner : fg_corner_nominal()};
    spec_free(&s, lay);
    return st;
}

/* --layout NAME|FILE (default regular), --array-netlist FILE, --jobs N:
 * layout=L[,netlist=F],jobs=N */
fg_status fgc_cli_spice(const fgc_cli_opts *c, char *arg, size_t n)
{
    if (!c->layout && !c->array_netlist)
        return fg_error(FG_ERR_RANGE, "backend spice needs --layout NAME|FILE or "
                        "--array-netlist FILE");
    const char *bad = c->layout && strchr(c->layout, ',')                 ? c->layout
                      : c->array_netlist && strchr(c->array_netlist, ',') ? c->array_netlist
                                                                          : NULL;
    if (bad)
        return fg_error(FG_ERR_RANGE, "%s: a file name with a comma cannot be passed to "
                        "the spice backend", bad);
    int len = snprintf(arg, n, "layout=%s%s%s,jobs=%d",
                       c->layout ? c->layout : "regular",
                       c->array_netlist ? ",netlist=" : "",
                       c->array_netlist ? c->array_netlist : "", c->jobs);
    if (len < 0 || (size_t)len >= n)
        return fg_error(FG_ERR_RANGE, "--layout/--array-netlist: paths of %d bytes are "
                        "too long", len);
    return FG_OK;
}
