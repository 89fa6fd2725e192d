/* The float32 kernel (fast_kernel.h) for x86-64-v3 (AVX2: twice the lanes
 * per instruction): mf_fast_v3, compiled with -march=x86-64-v3
 * (model_fit/meson.build) where the compiler can; run only where the CPU
 * has AVX2 and FMA (fast_dispatch.c). */
#include "fast_kernel.h"

const mf_fast_kernel mf_fast_v3 = {"x86-64-v3", fast_forward, fast_backward};
