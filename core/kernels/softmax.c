/*
 * softmax.c -- softmax and log-softmax over the middle dim of (outer, n, inner).
 *
 * softmax(x)_k = exp(x_k - m) / sum_j exp(x_j - m), with m = max_j x_j so that
 * no exp overflows; log_softmax(x)_k = x_k - m - log(sum_j exp(x_j - m)).
 */
#include <math.h>

#include "kernels.h"

/* Maximum and sum of exp(x - max) of n values spaced `stride` apart. */
static void max_and_expsum(int64_t n, const float *x, int64_t stride, float *max,
                           double *sum)
{
    float m = -INFINITY;
    for (int64_t k = 0; k < n; k++)
        if (x[k * stride] > m || isnan(x[k * stride]))
            m = x[k * stride];
    double s = 0;
    for (int64_t k = 0; k < n; k++)
        s += expf(x[k * stride] - m);
    *max = m;
    *sum = s;
}

/* Both functions: per row of the middle dim, either the probabilities or
 * their logarithms. */
static void softmax_rows(int64_t outer, int64_t n, int64_t inner, const float *x, float *out,
                         bool log_space)
{
    #pragma omp parallel for schedule(static) if (outer * n * inner > 65536)
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < inner; j++) {
            const float *row = x + o * n * inner + j;
            float *dst = out + o * n * inner + j;
            float m;
            double s;
            max_and_expsum(n, row, inner, &m, &s);
            if (log_space) {
                float shift = m + (float)log(s);
                for (int64_t k = 0; k < n; k++)
                    dst[k * inner] = row[k * inner] - shift;
            } else {
                float scale = (float)(1.0 / s);
                for (int64_t k = 0; k < n; k++)
                    dst[k * inner] = expf(row[k * inner] - m) * scale;
            }
        }
    }
}

void kernel_softmax(int64_t outer, int64_t n, int64_t inner, const float *x, float *out)
{
    softmax_rows(outer, n, inner, x, out, false);
}

void kernel_log_softmax(int64_t outer, int64_t n, int64_t inner, const float *x, float *out)
{
    softmax_rows(outer, n, inner, x, out, true);
}
