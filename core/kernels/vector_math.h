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

#endif
