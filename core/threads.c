/* The thread count of the batch-splitting compute kernels. */
#include "fgcore.h"

#include <stdatomic.h>
#include <unistd.h>

static atomic_int nthreads; /* 0: not set yet (all online cores) */

static int online_cores(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN); /* reads /sys: once, not per call */
    return c > 0 ? (int)c : 1;
}

void fg_set_threads(int n) { atomic_store(&nthreads, n > 0 ? n : online_cores()); }

int fg_threads(void)
{
    int n = atomic_load(&nthreads);
    if (n <= 0) {
        n = online_cores();
        atomic_store(&nthreads, n);
    }
    return n;
}
