/* Progress lines on a terminal: done/total, rate, ETA. */
#include "fgcore.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double fg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fg_progress_init(fg_progress *p, const char *what, uint64_t total)
{
    const char *env = getenv("FGCOSIM_PROGRESS");
    p->what = what;
    p->total = total;
    p->t_start = fg_now();
    p->t_last = 0.0;
    p->enabled = env ? strcmp(env, "0") != 0 : isatty(STDERR_FILENO);
}

static void progress_draw(fg_progress *p, uint64_t done, const char *end)
{
    double dt = fg_now() - p->t_start;
    double rate = dt > 0 ? (double)done / dt : 0.0;
    double eta = rate > 0 ? (double)(p->total - done) / rate : 0.0;
    fprintf(stderr, "\r%s: %llu/%llu  %.1f/s  ETA %.0f s   %s", p->what,
            (unsigned long long)done, (unsigned long long)p->total, rate, eta,
            end);
    fflush(stderr);
}

void fg_progress_update(fg_progress *p, uint64_t done)
{
    double t = fg_now();
    if (!p->enabled || t - p->t_last < 0.1)
        return;
    p->t_last = t;
    progress_draw(p, done, "");
}

void fg_progress_done(fg_progress *p, uint64_t done)
{
    if (p->enabled)
        progress_draw(p, done, "\n");
}
