/* One slot of the compact model and its clamps: the one definition that
 * the double model (model.c: forward, backward with the parameter
 * gradients) and the float32 training kernel (fast_kernel.h) both use.
 * Internal to model_fit/.
 *
 * Between two row ends every lane is a slot of charge D = S dt (y-units).
 * It follows du/dD = s^2, s = 1 - a u, solved exactly (the square-law drain
 * dependence):
 *     u' = F(u, D) = (u + D s) / m,   m = 1 + a D s.
 * Clamps: s >= 0 (the bit line cannot pass the pinch voltage) and
 * m >= MF_SLOT_MIN_M (a < 0 could otherwise blow it up). Reverse, with lam
 * the adjoint of u':
 *     du'/du = 1/m^2,  du'/dD = s^2/m^2,  du'/da = -D s (2u + D s)/m^2.
 * A row's end is its width shortened by its pulse's onset, held at 0:
 *     e = max(x - delta r(x), 0).
 * At read time the 16 bit lines of a tile couple to their neighbours and
 * (through them) to the next but one:
 *     y_j = u_j + off_j + beta_{j-1} u_{j-1} + beta_j u_{j+1}
 *                       + beta2_{j-2} u_{j-2} + beta2_j u_{j+2},
 * a symmetric map, so its reverse is the same sum without the offset.
 *
 * The body is written once, MF_SLOT_DEFINE(T, names...), and instantiated
 * below for double and for float with every name spelled out, so that a
 * grep for a name finds the line that defines it. Only integer constants
 * and (T) casts appear in the body: the float version computes in float. */
#ifndef MF_SLOT_H
#define MF_SLOT_H

#include "model_fit.h"

#define MF_SLOT_MIN_M 1e-12 /* floor of the slot denominator m */

/* Generates, for the scalar type T:
 *   T S(T a, T u)          s = 1 - a u, clamped at 0
 *   T M(T a, T D, T s)     m = 1 + a D s, clamped at MF_SLOT_MIN_M
 *   T U(T a, T u, T D)     F(u, D): u after the slot
 *   T GSQ(T a, T u)        s^2 = du'/dD at D = 0: a lane's rate
 *   T BACK(T a, T ub, T D, T lam, T *dD, T *da)
 *                          reverse of u' = F(ub, D): returns lam/m^2 (the
 *                          adjoint at the slot's start), *dD = lam du'/dD,
 *                          *da = lam du'/da unless da is NULL
 *   T END(T v, T delta, T r, int *egate)
 *                          a row's end max(v - delta r, 0) for its clamped
 *                          width v >= 0 and onset r; *egate: the end moves
 *                          with v (not held at 0; at 0 exactly: the right
 *                          derivative, nonzero when delta <= FIT_XR)
 *   void COUPLE(T *y, const T *u, const T *beta, const T *beta2)
 *                          y (16) += the neighbours' share of u (16),
 *                          beta_{j-1} u_{j-1} + beta_j u_{j+1} + beta2_{j-2}
 *                          u_{j-2} + beta2_j u_{j+2} (y != u; y holds
 *                          u + off forward, dy in reverse) */
#define MF_SLOT_DEFINE(T, S, M, U, GSQ, BACK, END, COUPLE)                     \
    static inline T S(T a, T u)                                                \
    {                                                                          \
        T s = 1 - a * u;                                                       \
        return s > 0 ? s : 0;                                                  \
    }                                                                          \
    static inline T M(T a, T D, T s)                                           \
    {                                                                          \
        T m = 1 + a * D * s;                                                   \
        return m > (T)MF_SLOT_MIN_M ? m : (T)MF_SLOT_MIN_M;                    \
    }                                                                          \
    static inline T U(T a, T u, T D)                                           \
    {                                                                          \
        T s = S(a, u);                                                         \
        return (u + D * s) / M(a, D, s);                                       \
    }                                                                          \
    static inline T GSQ(T a, T u)                                              \
    {                                                                          \
        T s = S(a, u);                                                         \
        return s * s;                                                          \
    }                                                                          \
    static inline T BACK(T a, T ub, T D, T lam, T *dD, T *da)                  \
    {                                                                          \
        T s = S(a, ub), m = M(a, D, s), im2 = 1 / (m * m);                     \
        *dD = lam * s * s * im2;                                               \
        if (da)                                                                \
            *da = lam * D * s * (2 * ub + D * s) * im2;                        \
        return lam * im2;                                                      \
    }                                                                          \
    static inline T END(T v, T delta, T r, int *egate)                         \
    {                                                                          \
        T e = v - delta * r;                                                   \
        *egate = e > 0 || (e == 0 && delta <= (T)FIT_XR);                      \
        return e > 0 ? e : 0;                                                  \
    }                                                                          \
    static inline void COUPLE(T *restrict y, const T *restrict u,             \
                              const T *beta, const T *beta2)                   \
    {                                                                          \
        for (int j = 0; j < FG_COLS; j++) {                                    \
            T v = y[j];                                                        \
            if (j > 0)                                                         \
                v += beta[j - 1] * u[j - 1];                                   \
            if (j < FG_COLS - 1)                                               \
                v += beta[j] * u[j + 1];                                       \
            if (j > 1)                                                         \
                v += beta2[j - 2] * u[j - 2];                                  \
            if (j < FG_COLS - 2)                                               \
                v += beta2[j] * u[j + 2];                                      \
            y[j] = v;                                                          \
        }                                                                      \
    }

/* double: model.c */
MF_SLOT_DEFINE(double, slot_s, slot_m, slot_u, slot_gsq, slot_back, row_end,
               lines_couple)
/* float: fast_kernel.h */
MF_SLOT_DEFINE(float, slot_s_f, slot_m_f, slot_u_f, slot_gsq_f, slot_back_f,
               row_end_f, lines_couple_f)

#endif
