/* The float32 kernel's entry points: the x86-64-v3 (AVX2) build of fast.c
 * where the CPU has AVX2 and FMA, else the baseline build. Both give the
 * same bits (fast.c). FGCOSIM_KERNEL=base forces the baseline (tests and
 * benchmarks compare the two). */
#include "mf_internal.h"

#include <stdlib.h>
#include <string.h>

static int kernel_pick(void)
{
#if defined(MF_HAVE_V3)
    const char *e = getenv("FGCOSIM_KERNEL");
    if (e && !strcmp(e, "base"))
        return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int mf_kernel_v3(void)
{
    static int v = -1; /* a race here writes the same value */
    if (v < 0)
        v = kernel_pick();
    return v;
}

const char *fit_kernel_name(void)
{
    return mf_kernel_v3() ? "x86-64-v3" : "baseline";
}

fg_status fit_model_forward_f32_tiles(float *y, const float *x, const float *w,
                                      int nt, const fit_model *m, int B)
{
#if defined(MF_HAVE_V3)
    if (mf_kernel_v3())
        return mf_forward_f32_tiles_v3(y, x, w, nt, m, B);
#endif
    return mf_forward_f32_tiles_base(y, x, w, nt, m, B);
}

fg_status fit_model_backward_f32_tiles(float *dx, float *dw, const float *dy,
                                       const float *x, const float *w, int nt,
                                       const fit_model *m, int B)
{
#if defined(MF_HAVE_V3)
    if (mf_kernel_v3())
        return mf_backward_f32_tiles_v3(dx, dw, dy, x, w, nt, m, B);
#endif
    return mf_backward_f32_tiles_base(dx, dw, dy, x, w, nt, m, B);
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
