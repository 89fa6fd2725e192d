/* Registry entry "ideal": y = x.W (core's backend). */
#include "fgcosim.h"

fg_status fgc_open_ideal(const char *arg, const fgc_open_opts *o, fg_backend **out)
{
    (void)o;
    *out = NULL;
    if (arg)
        return fg_error(FG_ERR_RANGE, "ideal takes no argument, got '%s'", arg);
    if (!(*out = fg_backend_ideal_new()))
        return fg_error(FG_ERR_NOMEM, "out of memory");
    return FG_OK;
}
