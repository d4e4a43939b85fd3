/*
 * vector_math.h -- lets GCC vectorise loops that call float math functions.
 *
 * glibc's libmvec provides SIMD versions of expf, logf, tanhf... (AVX2 and
 * AVX-512, within 4 ulp of the scalar ones). Declaring the functions with
 * the `simd` attribute, as glibc's own headers do under -ffast-math, lets
 * loops marked `#pragma omp simd` call them 8 or 16 lanes at a time while
 * keeping IEEE semantics everywhere else (we build without -ffast-math so
 * NaN checks work). Link with -lmvec.
 */
#ifndef DL_VECTOR_MATH_H
#define DL_VECTOR_MATH_H

#define DL_SIMD __attribute__((simd("notinbranch")))

DL_SIMD float expf(float);
DL_SIMD float logf(float);
DL_SIMD float tanhf(float);
DL_SIMD float sinf(float);
DL_SIMD float cosf(float);
DL_SIMD float erff(float);
DL_SIMD float powf(float, float);
DL_SIMD float log1pf(float);
DL_SIMD float expm1f(float);
DL_SIMD float log2f(float);
DL_SIMD float tanf(float);
DL_SIMD float atanf(float);

/* powf, with the exponents of everyday formulas done by multiplication,
 * division or sqrtf, as PyTorch's pow kernel does: 2, 1, 0 and -1 round
 * exactly as powf; 3, -2 and 0.5 may differ from powf in the last bit (and
 * 0.5 gives sqrtf's -0 and NaN at -0 and -inf). libmvec's vector powf hands
 * every vector holding a negative base to the scalar function: x ^ 2 on
 * normal data ran 5 times slower than PyTorch's. */
static inline float dl_powf(float a, float b)
{
    if (b == 2.0f)
        return a * a;
    if (b == 1.0f)
        return a;
    if (b == 0.0f)
        return 1.0f;
    if (b == -1.0f)
        return 1.0f / a;
    if (b == 3.0f)
        return a * a * a;
    if (b == -2.0f)
        return 1.0f / (a * a);
    if (b == 0.5f)
        return sqrtf(a);
    return powf(a, b);
}

#endif
