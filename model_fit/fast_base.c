/* The float32 kernel (fast_kernel.h) for the x86-64 baseline: mf_fast_base,
 * on every machine. */
#include "fast_kernel.h"

const mf_fast_kernel mf_fast_base = {"baseline", fast_forward, fast_backward};
