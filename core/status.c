/* Status codes and the per-thread last error message. */
#include "fgcore.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errbuf[1024];

const char *fg_status_to_string(fg_status st)
{
    switch (st) {
    case FG_OK: return "ok";
    case FG_ERR_IO: return "i/o error";
    case FG_ERR_PARSE: return "parse error";
    case FG_ERR_RANGE: return "value out of range";
    case FG_ERR_FORMAT: return "wrong format";
    case FG_ERR_NOMEM: return "out of memory";
    case FG_ERR_SPICE: return "ngspice error";
    case FG_ERR_CONVERGE: return "no convergence";
    case FG_ERR_UNSUPPORTED: return "unsupported";
    case FG_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *fg_errmsg(void) { return errbuf; }

void fg_error_clear(void) { errbuf[0] = '\0'; }

/* Formats into a scratch buffer first: a message may wrap the previous
 * one (fg_error(st, "%s: %s", file, fg_errmsg())). */
fg_status fg_error(fg_status st, const char *fmt, ...)
{
    char tmp[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(errbuf, tmp, sizeof errbuf);
    return st;
}

int fg_status_exit_code(fg_status st)
{
    switch (st) {
    case FG_OK: return 0;
    case FG_ERR_IO:
    case FG_ERR_PARSE:
    case FG_ERR_RANGE:
    case FG_ERR_FORMAT: return 2;
    default: return 1;
    }
}

static fg_warn_fn warn_fn;
static void *warn_user;

void fg_set_warn(fg_warn_fn fn, void *user)
{
    warn_fn = fn;
    warn_user = user;
}

void fg_warn(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (warn_fn)
        warn_fn(msg, warn_user);
    else
        fprintf(stderr, "fgcosim: %s\n", msg);
}
