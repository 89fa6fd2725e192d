/* The float32 kernel's entry points: the x86-64-v3 (AVX2) build of
 * fast_kernel.h (mf_fast_v3) where the CPU has AVX2 and FMA, else the
 * baseline build (mf_fast_base). Both give the same bits (fast_kernel.h).
 * FGCOSIM_KERNEL=base forces the baseline (tests and benchmarks compare the
 * two). */
#include "mf_internal.h"

#include <stdlib.h>
#include <string.h>

static const mf_fast_kernel *kernel_pick(void)
{
#if defined(MF_HAVE_V3)
    const char *e = getenv("FGCOSIM_KERNEL");
    if (e && !strcmp(e, "base"))
        return &mf_fast_base;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &mf_fast_v3;
#endif
    return &mf_fast_base;
}

const mf_fast_kernel *mf_fast(void)
{
    static const mf_fast_kernel *k; /* a race here writes the same value */
    if (!k)
        k = kernel_pick();
    return k;
}

const char *fit_kernel_name(void) { return mf_fast()->name; }

fg_status fit_model_forward_f32_tiles(float *y, const float *x, const float *w,
                                      int nt, const fit_model *m, int B)
{
    return mf_fast()->forward(y, x, w, nt, m, B);
}

fg_status fit_model_backward_f32_tiles(float *dx, float *dw, const float *dy,
                                       const float *x, const float *w, int nt,
                                       const fit_model *m, int B)
{
    return mf_fast()->backward(dx, dw, dy, x, w, nt, m, B);
}

fg_status fit_model_forward_f32(float *y, const float *x, const float *w,
                                const fit_model *m, int B)
{
    return fit_model_forward_f32_tiles(y, x, w, 1, m, B);
}

fg_status fit_model_backward_f32(float *dx, float *dw, const float *dy,
                                 const float *x, const float *w,
                                 const fit_model *m, int B)
{
    return fit_model_backward_f32_tiles(dx, dw, dy, x, w, 1, m, B);
}
