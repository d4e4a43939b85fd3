/*
 * pointwise.c -- one kernel per row of ops.def.
 *
 * Each binary kernel has four loops: both operands walking with stride 1
 * (the hot, vectorised case), one of them fixed (a scalar or a broadcast
 * row), and the general strided case. Gradient kernels (the dL/da, dL/db
 * and dL/dx columns of ops.def) take every operand with its own stride and
 * have a loop of their own for all strides 1.
 */
#include <math.h>

#include "kernels.h"
#include "vector_math.h"

#define DL_BINARY(id, name, expr, grad_a, grad_b)                                               \
    DL_MULTIVERSION static void binary_##name(int64_t n, const float *restrict pa, int64_t sa,  \
                              const float *restrict pb, int64_t sb,             \
                              float *restrict out)                              \
    {                                                                           \
        if (sa == 1 && sb == 1) {                                               \
            _Pragma("omp simd")                                     \
            for (int64_t i = 0; i < n; i++) {                                   \
                float a = pa[i], b = pb[i];                                     \
                out[i] = (expr);                                                \
            }                                                                   \
        } else if (sa == 1 && sb == 0) {                                        \
            const float b = pb[0];                                              \
            _Pragma("omp simd")                                     \
            for (int64_t i = 0; i < n; i++) {                                   \
                float a = pa[i];                                                \
                out[i] = (expr);                                                \
            }                                                                   \
        } else if (sa == 0 && sb == 1) {                                        \
            const float a = pa[0];                                              \
            _Pragma("omp simd")                                     \
            for (int64_t i = 0; i < n; i++) {                                   \
                float b = pb[i];                                                \
                out[i] = (expr);                                                \
            }                                                                   \
        } else {                                                                \
            _Pragma("omp simd")                                     \
            for (int64_t i = 0; i < n; i++) {                                   \
                float a = pa[i * sa], b = pb[i * sb];                           \
                out[i] = (expr);                                                \
            }                                                                   \
        }                                                                       \
    }
#include "../ops.def"

#define DL_UNARY(id, name, expr, grad)                                                \
    DL_MULTIVERSION static void unary_##name(int64_t n, const float *restrict px,   \
                                             int64_t sx, float p, float q,          \
                                             float *restrict out)                   \
    {                                                                           \
        if (sx == 1) {                                                          \
            _Pragma("omp simd")                                     \
            for (int64_t i = 0; i < n; i++) {                                   \
                float x = px[i];                                                \
                out[i] = (expr);                                                \
            }                                                                   \
        } else {                                                                \
            _Pragma("omp simd")                                     \
            for (int64_t i = 0; i < n; i++) {                                   \
                float x = px[i * sx];                                           \
                out[i] = (expr);                                                \
            }                                                                   \
        }                                                                       \
    }
#include "../ops.def"

/* The body of a gradient kernel: out[i] = GRAD, with the operands the
 * formula reads loaded by LOAD_OPERANDS at the indices in the tuples: once
 * with stride 1 (vectorised loads, the common case), once with the strides
 * given. */
#define GRAD_LOOPS(contiguous, unit_indices, strided_indices, GRAD)             \
    if (contiguous) {                                                           \
        _Pragma("omp simd")                                                     \
        for (int64_t i = 0; i < n; i++) {                                       \
            LOAD_OPERANDS unit_indices;                                         \
            out[i] = (GRAD);                                                    \
        }                                                                       \
    } else {                                                                    \
        _Pragma("omp simd")                                                     \
        for (int64_t i = 0; i < n; i++) {                                       \
            LOAD_OPERANDS strided_indices;                                      \
            out[i] = (GRAD);                                                    \
        }                                                                       \
    }

#define LOAD_OPERANDS(ig, ia, ib, iy)                                           \
    float g = pg[ig], a = pa[ia], b = pb[ib], y = py[iy];                       \
    (void)g, (void)a, (void)b, (void)y

#define DL_BINARY(id, name, expr, grad_a, grad_b)                               \
    DL_MULTIVERSION static void grad_a_##name(int64_t n, const float *restrict pg, int64_t sg,   \
                              const float *restrict pa, int64_t sa,             \
                              const float *restrict pb, int64_t sb,             \
                              const float *restrict py, int64_t sy,             \
                              float *restrict out)                              \
    {                                                                           \
        GRAD_LOOPS(sg == 1 && sa == 1 && sb == 1 && sy == 1, (i, i, i, i),      \
                   (i * sg, i * sa, i * sb, i * sy), grad_a)                    \
    }                                                                           \
    DL_MULTIVERSION static void grad_b_##name(int64_t n, const float *restrict pg, int64_t sg,   \
                              const float *restrict pa, int64_t sa,             \
                              const float *restrict pb, int64_t sb,             \
                              const float *restrict py, int64_t sy,             \
                              float *restrict out)                              \
    {                                                                           \
        GRAD_LOOPS(sg == 1 && sa == 1 && sb == 1 && sy == 1, (i, i, i, i),      \
                   (i * sg, i * sa, i * sb, i * sy), grad_b)                    \
    }
#include "../ops.def"
#undef LOAD_OPERANDS

#define LOAD_OPERANDS(ig, ix, iy)                                               \
    float g = pg[ig], x = px[ix], y = py[iy];                                   \
    (void)g, (void)x, (void)y

#define DL_UNARY(id, name, expr, grad)                                          \
    DL_MULTIVERSION static void grad_##name(int64_t n, const float *restrict pg, int64_t sg,     \
                            const float *restrict px, int64_t sx,               \
                            const float *restrict py, int64_t sy,               \
                            float p, float q, float *restrict out)              \
    {                                                                           \
        GRAD_LOOPS(sg == 1 && sx == 1 && sy == 1, (i, i, i),                    \
                   (i * sg, i * sx, i * sy), grad)                              \
    }
#include "../ops.def"
#undef LOAD_OPERANDS
#undef GRAD_LOOPS

const dl_binary_kernel dl_binary_kernels[DL_BINARY_COUNT] = {
#define DL_BINARY(id, name, expr, grad_a, grad_b) [DL_##id] = binary_##name,
#include "../ops.def"
};

const dl_unary_kernel dl_unary_kernels[DL_UNARY_COUNT] = {
#define DL_UNARY(id, name, expr, grad) [DL_##id] = unary_##name,
#include "../ops.def"
};

const dl_binary_grad_kernel dl_binary_grad_kernels[DL_BINARY_COUNT][2] = {
#define DL_BINARY(id, name, expr, grad_a, grad_b) [DL_##id] = {grad_a_##name, grad_b_##name},
#include "../ops.def"
};

const dl_unary_grad_kernel dl_unary_grad_kernels[DL_UNARY_COUNT] = {
#define DL_UNARY(id, name, expr, grad) [DL_##id] = grad_##name,
#include "../ops.def"
};

DL_MULTIVERSION
void kernel_clamp_backward(int64_t n, const float *restrict g, int64_t sg,
                           const float *restrict x, int64_t sx, float lo, float hi,
                           float *restrict out)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i * sx];
        out[i] = v >= lo && v <= hi ? g[i * sg] : 0.0f;
    }
}

DL_MULTIVERSION
void kernel_clamp(int64_t n, const float *restrict x, int64_t sx, float lo, float hi,
                  float *restrict out)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i * sx];
        out[i] = v < lo ? lo : v > hi ? hi : v;
    }
}
