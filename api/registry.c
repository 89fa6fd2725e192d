/* The backend registry: one table of array backends, opened by a spec
 * string NAME[:ARG]. Adding a backend: its own file defining
 * `fg_status fgc_open_NAME(const char *arg, fg_backend **out)`, its
 * prototype and one line in the table below (and the file in meson.build). */
#include "fgcosim.h"

#include <stdlib.h>
#include <string.h>

fg_status fgc_open_ideal(const char *arg, fg_backend **out);
fg_status fgc_open_hwa(const char *arg, fg_backend **out);
fg_status fgc_open_spice(const char *arg, fg_backend **out);

static const fgc_backend_kind kinds[] = {
    {"ideal", "ideal", "y = x.W, the ideal array (OpenBLAS sgemm)", fgc_open_ideal},
    {"hwa", "hwa:MODEL.json", "the fitted compact model of `fgcosim fit`", fgc_open_hwa},
    {"spice", "spice:LAYOUT|netlist=FILE[,jobs=N]",
     "ngspice on a layout (built-in name or JSON file) or an array netlist", fgc_open_spice},
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

fg_status fgc_backend_open(const char *spec, fg_backend **out)
{
    *out = NULL;
    if (!spec || !*spec)
        return fg_error(FG_ERR_RANGE, "backend spec is empty (NAME or NAME:ARG)");
    const char *colon = strchr(spec, ':');
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : NULL;
    for (int k = 0; k < NKINDS; k++) {
        if (strlen(kinds[k].name) != nlen || strncmp(kinds[k].name, spec, nlen))
            continue;
        fg_status st = kinds[k].open(arg, out);
        if (st != FG_OK) {
            fg_backend_free(*out); /* a constructor that broke the rule */
            *out = NULL;
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", fg_errmsg());
            return fg_error(st, "backend '%s': %s (usage %s)", spec, msg,
                            kinds[k].usage);
        }
        return FG_OK;
    }
    char names[256];
    kind_names(names, sizeof names);
    return fg_error(FG_ERR_RANGE, "backend '%s': unknown name '%.*s' (known: %s)",
                    spec, (int)nlen, spec, names);
}
