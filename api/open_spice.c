/* Registry entry "spice": tile VMMs through ngspice (cosim's backend).
 * ARG: items separated by commas, each one of
 *   LAYOUT          a built-in layout name or a layout JSON file
 *   layout=LAYOUT   the same
 *   netlist=FILE    a user's flat array netlist (nl_array_netlist_check);
 *                   the op point is then the layout's (default regular)
 *   jobs=N          worker processes, 0 = all cores (default 0)
 * Weights are programmed as `fgcosim evaluate --backend spice` does:
 * program method auto, seed 1, at the nominal corner (o->reprogram: at
 * o->corner, the corner the array runs at). */
#include "fgcosim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *layout, *netlist;
    int jobs;
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
    return fg_error(FG_ERR_RANGE, "unknown option '%.*s' (layout, netlist, jobs)",
                    (int)k, it);
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

fg_status fgc_open_spice(const char *arg, const fgc_open_opts *o, fg_backend **out)
{
    *out = NULL;
    spice_spec s = {0};
    nl_layout *lay = NULL;
    fg_status st = spec_parse(arg, &s);
    if (st == FG_OK)
        st = nl_layout_load(s.layout ? s.layout : "regular", &lay);
    if (st == FG_OK && s.netlist)
        st = nl_array_netlist_check(s.netlist);
    if (st == FG_OK) {
        cosim_pool_config cfg = {.layout = lay, .array_netlist = s.netlist,
                                 .op = nl_layout_op_point(lay), .corner = o->corner,
                                 .jobs = s.jobs};
        cosim_program_opts po = {.seed = 1, .at_corner = o->reprogram};
        st = cosim_backend_spice_new(&cfg, &po, out);
    }
    nl_layout_free(lay);
    free(s.layout);
    free(s.netlist);
    return st;
}
