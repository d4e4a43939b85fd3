/*
 * pointwise.c -- one kernel per row of ops.def.
 *
 * Each binary kernel has four loops: both operands walking with stride 1
 * (the hot, vectorised case), one of them fixed (a scalar or a broadcast
 * row), and the general strided case.
 */
#include <math.h>

#include "kernels.h"

#define DL_BINARY(id, name, expr)                                               \
    static void binary_##name(int64_t n, const float *restrict pa, int64_t sa,  \
                              const float *restrict pb, int64_t sb,             \
                              float *restrict out)                              \
    {                                                                           \
        if (sa == 1 && sb == 1) {                                               \
            for (int64_t i = 0; i < n; i++) {                                   \
                float a = pa[i], b = pb[i];                                     \
                out[i] = (expr);                                                \
            }                                                                   \
        } else if (sa == 1 && sb == 0) {                                        \
            const float b = pb[0];                                              \
            for (int64_t i = 0; i < n; i++) {                                   \
                float a = pa[i];                                                \
                out[i] = (expr);                                                \
            }                                                                   \
        } else if (sa == 0 && sb == 1) {                                        \
            const float a = pa[0];                                              \
            for (int64_t i = 0; i < n; i++) {                                   \
                float b = pb[i];                                                \
                out[i] = (expr);                                                \
            }                                                                   \
        } else {                                                                \
            for (int64_t i = 0; i < n; i++) {                                   \
                float a = pa[i * sa], b = pb[i * sb];                           \
                out[i] = (expr);                                                \
            }                                                                   \
        }                                                                       \
    }
#include "../ops.def"

#define DL_UNARY(id, name, expr)                                                \
    static void unary_##name(int64_t n, const float *restrict px, int64_t sx,   \
                             float *restrict out)                               \
    {                                                                           \
        if (sx == 1) {                                                          \
            for (int64_t i = 0; i < n; i++) {                                   \
                float x = px[i];                                                \
                out[i] = (expr);                                                \
            }                                                                   \
        } else {                                                                \
            for (int64_t i = 0; i < n; i++) {                                   \
                float x = px[i * sx];                                           \
                out[i] = (expr);                                                \
            }                                                                   \
        }                                                                       \
    }
#include "../ops.def"

const dl_binary_kernel dl_binary_kernels[DL_BINARY_COUNT] = {
#define DL_BINARY(id, name, expr) [DL_##id] = binary_##name,
#include "../ops.def"
};

const dl_unary_kernel dl_unary_kernels[DL_UNARY_COUNT] = {
#define DL_UNARY(id, name, expr) [DL_##id] = unary_##name,
#include "../ops.def"
};

void kernel_clamp(int64_t n, const float *restrict x, int64_t sx, float lo, float hi,
                  float *restrict out)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i * sx];
        out[i] = v < lo ? lo : v > hi ? hi : v;
    }
}
