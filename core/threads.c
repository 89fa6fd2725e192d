/* The thread count of the batch-splitting compute kernels. */
#include "fgcore.h"

#include <stdatomic.h>
#include <unistd.h>

static atomic_int nthreads; /* 0: not set */

static int online_cores(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

void fg_set_threads(int n) { atomic_store(&nthreads, n > 0 ? n : online_cores()); }

int fg_threads(void)
{
    int n = atomic_load(&nthreads);
    return n > 0 ? n : online_cores();
}
