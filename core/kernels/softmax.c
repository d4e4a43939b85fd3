/*
 * softmax.c -- softmax and log-softmax over the middle dim of (outer, n, inner).
 *
 * softmax(x)_k = exp(x_k - m) / sum_j exp(x_j - m), with m = max_j x_j so that
 * no exp overflows; log_softmax(x)_k = x_k - m - log(sum_j exp(x_j - m)).
 * A NaN anywhere in a row makes the whole row NaN. Rows of the last dim are
 * vectorised along the row; a strided dim is done DL_COLUMN_BLOCK columns
 * at a time, row after row. Sums of exponentials accumulate in double.
 */
#include <math.h>

#include "kernels.h"
#include "vector_math.h"

/* One contiguous row of n values. */
static void softmax_row(int64_t n, const float *x, float *dst, bool log_space)
{
    const float m = x[kernel_extreme_position(n, x, 1, true)];
    double s = 0;
    if (log_space) {
        #pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < n; k++)
            s += expf(x[k] - m);
        const float shift = m + (float)log(s);
        #pragma omp simd
        for (int64_t k = 0; k < n; k++)
            dst[k] = x[k] - shift;
    } else {
        #pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < n; k++) {
            float e = expf(x[k] - m);
            dst[k] = e;
            s += e;
        }
        const float scale = (float)(1.0 / s);
        #pragma omp simd
        for (int64_t k = 0; k < n; k++)
            dst[k] *= scale;
    }
}

/* `width` <= DL_COLUMN_BLOCK neighbouring columns of an (n, inner) block. */
static void softmax_columns(int64_t n, int64_t inner, const float *x, float *dst,
                            int64_t width, bool log_space)
{
    float m[DL_COLUMN_BLOCK];
    double s[DL_COLUMN_BLOCK] = {0};
    for (int64_t j = 0; j < width; j++)
        m[j] = x[j];
    for (int64_t k = 1; k < n; k++) {
        const float *row = x + k * inner;
        #pragma omp simd
        for (int64_t j = 0; j < width; j++)
            m[j] = row[j] > m[j] ? row[j] : m[j];   /* a NaN spreads through the sums */
    }
    for (int64_t k = 0; k < n; k++) {
        const float *row = x + k * inner;
        float *out = dst + k * inner;
        #pragma omp simd
        for (int64_t j = 0; j < width; j++) {
            float e = expf(row[j] - m[j]);
            if (!log_space)
                out[j] = e;
            s[j] += e;
        }
    }
    float shift[DL_COLUMN_BLOCK];
    for (int64_t j = 0; j < width; j++)
        shift[j] = log_space ? m[j] + (float)log(s[j]) : (float)(1.0 / s[j]);
    for (int64_t k = 0; k < n; k++) {
        const float *row = x + k * inner;
        float *out = dst + k * inner;
        #pragma omp simd
        for (int64_t j = 0; j < width; j++)
            out[j] = log_space ? row[j] - shift[j] : out[j] * shift[j];
    }
}

/* Both functions: per row of the middle dim, either the probabilities or
 * their logarithms. */
static void softmax_rows(int64_t outer, int64_t n, int64_t inner, const float *x, float *out,
                         bool log_space)
{
    if (n == 0)
        return;     /* nothing to write, and no first element to read */
    if (inner == 1) {
        #pragma omp parallel for schedule(static) if (outer * n > 65536)
        for (int64_t o = 0; o < outer; o++)
            softmax_row(n, x + o * n, out + o * n, log_space);
        return;
    }
    int64_t blocks = (inner + DL_COLUMN_BLOCK - 1) / DL_COLUMN_BLOCK;
    #pragma omp parallel for schedule(static) if (outer * n * inner > 65536)
    for (int64_t t = 0; t < outer * blocks; t++) {
        int64_t o = t / blocks, j = t % blocks * DL_COLUMN_BLOCK;
        int64_t width = inner - j < DL_COLUMN_BLOCK ? inner - j : DL_COLUMN_BLOCK;
        softmax_columns(n, inner, x + o * n * inner + j, out + o * n * inner + j, width,
                        log_space);
    }
}

DL_MULTIVERSION
void kernel_softmax(int64_t outer, int64_t n, int64_t inner, const float *x, float *out)
{
    softmax_rows(outer, n, inner, x, out, false);
}

DL_MULTIVERSION
void kernel_log_softmax(int64_t outer, int64_t n, int64_t inner, const float *x, float *out)
{
    softmax_rows(outer, n, inner, x, out, true);
}
