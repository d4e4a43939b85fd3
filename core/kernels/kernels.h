/*
 * kernels.h -- raw float loops. No tensors here: pointers, counts, strides.
 */
#ifndef DL_KERNELS_H
#define DL_KERNELS_H

#include <stdint.h>

#include "dl.h"
#include "../multiversion.h"

/* out[i] = a[i*sa] op b[i*sb], i < n; out contiguous. sa, sb are 0 or any
 * stride (0 repeats one value: a broadcast operand or a scalar). */
typedef void (*dl_binary_kernel)(int64_t n, const float *a, int64_t sa,
                                 const float *b, int64_t sb, float *out);

/* out[i] = f(x[i*sx]), i < n; out contiguous. p and q are the parameters
 * of a DL_UNARY_P row (ignored by the others). */
typedef void (*dl_unary_kernel)(int64_t n, const float *x, int64_t sx, float p, float q,
                                float *out);

extern const dl_binary_kernel dl_binary_kernels[DL_BINARY_COUNT];
extern const dl_unary_kernel dl_unary_kernels[DL_UNARY_COUNT];

/* out[i] = dL/da (index 0) or dL/db (index 1) from g = dL/dy, the inputs
 * and the output y; every operand strided, out contiguous. */
typedef void (*dl_binary_grad_kernel)(int64_t n, const float *g, int64_t sg,
                                      const float *a, int64_t sa, const float *b,
                                      int64_t sb, const float *y, int64_t sy, float *out);

/* out[i] = dL/dx from g, the input x, the output y and the parameters. */
typedef void (*dl_unary_grad_kernel)(int64_t n, const float *g, int64_t sg,
                                     const float *x, int64_t sx, const float *y,
                                     int64_t sy, float p, float q, float *out);

extern const dl_binary_grad_kernel dl_binary_grad_kernels[DL_BINARY_COUNT][2];
extern const dl_unary_grad_kernel dl_unary_grad_kernels[DL_UNARY_COUNT];

/* out[i] = g[i] where lo <= x[i] <= hi, else 0 (clamp's gradient). */
void kernel_clamp_backward(int64_t n, const float *g, int64_t sg, const float *x,
                           int64_t sx, float lo, float hi, float *out);

/* out[i] = min(max(x[i*sx], lo), hi); NaN stays NaN. */
void kernel_clamp(int64_t n, const float *x, int64_t sx, float lo, float hi, float *out);

/* x, out (outer, n, inner) contiguous: softmax (or log-softmax) over the
 * middle dim, after subtracting its maximum for stability. */
void kernel_softmax(int64_t outer, int64_t n, int64_t inner, const float *x, float *out);
void kernel_log_softmax(int64_t outer, int64_t n, int64_t inner, const float *x, float *out);

/* 0-based position of the largest (or smallest) of n values spaced `stride`
 * apart: the first of equal extremes, and the first NaN before anything. */
int64_t kernel_extreme_position(int64_t n, const float *x, int64_t stride, bool largest);

/* Columns of a strided reduction handled together: their running values
 * fill eight AVX-512 registers of doubles. */
#define DL_COLUMN_BLOCK 64

/* The same for each of `width` <= DL_COLUMN_BLOCK neighbouring columns of an
 * (n, inner) block at x: out[j] is the extreme value, or its 1-based row
 * when `positions`. */
void kernel_extreme_columns(int64_t n, int64_t inner, const float *x, int64_t width,
                            bool largest, bool positions, float *out);

/* x (outer, n, inner) contiguous -> out (outer, inner): reduction `op` over
 * the middle dim. ARGMAX/ARGMIN write 1-based positions. VAR/STD divide by
 * n - correction. Sums and moments accumulate in double. */
void kernel_reduce(dl_reduce_op op, int64_t outer, int64_t n, int64_t inner,
                   int correction, const float *x, float *out);

/* Window geometry of a convolution or pooling: kernel, stride, padding and
 * the output size. */
typedef struct {
    int64_t kh, kw, sh, sw, ph, pw, ho, wo;
} dl_conv_geometry;

/* x (n, c, h, w) -> col (c*kh*kw, n*ho*wo); see im2col.c. */
void kernel_im2col(const float *x, int64_t n, int64_t c, int64_t h, int64_t w,
                   const dl_conv_geometry *g, float *col);

/* The adjoint of im2col: x (n, c, h, w) = sum of the columns' windows. */
void kernel_col2im(const float *col, int64_t n, int64_t c, int64_t h, int64_t w,
                   const dl_conv_geometry *g, float *x);

#endif
