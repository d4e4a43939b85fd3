/*
 * im2col.c -- unfolding image patches into columns, and folding them back.
 *
 * x (N, C, H, W) -> col (C*kh*kw, N*L), L = Ho*Wo output positions: column
 * n*L + oh*Wo + ow holds the kh x kw window of every channel that output
 * position (oh, ow) of image n sees (zeros where the window hangs over the
 * padding). A convolution is then one sgemm: W (O, C*kh*kw) @ col.
 */
#include <string.h>

#include "kernels.h"

/* Output columns [lo, hi) of a row whose input column ow*sw - pw + kj falls
 * inside 0..w-1; the others read the zero padding. */
static void valid_columns(const dl_conv_geometry *g, int64_t w, int64_t kj, int64_t *lo,
                          int64_t *hi)
{
    int64_t first = g->pw - kj;                       /* ow*sw >= first */
    int64_t last = w + g->pw - kj;                    /* ow*sw < last */
    *lo = first <= 0 ? 0 : (first + g->sw - 1) / g->sw;
    *hi = last <= 0 ? 0 : (last + g->sw - 1) / g->sw;
    if (*hi > g->wo)
        *hi = g->wo;
    if (*lo > *hi)
        *lo = *hi;
}

DL_MULTIVERSION
void kernel_im2col(const float *restrict x, int64_t n, int64_t c, int64_t h, int64_t w,
                   const dl_conv_geometry *g, float *restrict col)
{
    int64_t rows = c * g->kh * g->kw, l = g->ho * g->wo;
    #pragma omp parallel for schedule(static) if (rows * n * l > 65536)
    for (int64_t r = 0; r < rows; r++) {
        int64_t ch = r / (g->kh * g->kw), ki = (r / g->kw) % g->kh, kj = r % g->kw;
        float *dst = col + r * n * l;
        for (int64_t img = 0; img < n; img++) {
            const float *plane = x + (img * c + ch) * h * w;
            for (int64_t oh = 0; oh < g->ho; oh++) {
                int64_t ih = oh * g->sh - g->ph + ki;
                float *out_row = dst + img * l + oh * g->wo;
                if (ih < 0 || ih >= h) {
                    for (int64_t ow = 0; ow < g->wo; ow++)
                        out_row[ow] = 0.0f;
                    continue;
                }
                int64_t lo, hi;
                valid_columns(g, w, kj, &lo, &hi);
                /* Rows are short (a few dozen floats): plain loops beat
                 * memset/memcpy calls here. */
                int64_t base = ih * w - g->pw + kj;      /* input of ow: base + ow*sw */
                for (int64_t ow = 0; ow < lo; ow++)
                    out_row[ow] = 0.0f;
                if (g->sw == 1) {
                    const float *in_row = plane + base + lo;
                    for (int64_t ow = lo; ow < hi; ow++)
                        out_row[ow] = *in_row++;
                } else {
                    for (int64_t ow = lo; ow < hi; ow++)
                        out_row[ow] = plane[base + ow * g->sw];
                }
                for (int64_t ow = hi; ow < g->wo; ow++)
                    out_row[ow] = 0.0f;
            }
        }
    }
}

DL_MULTIVERSION
void kernel_col2im(const float *restrict col, int64_t n, int64_t c, int64_t h, int64_t w,
                   const dl_conv_geometry *g, float *restrict x)
{
    int64_t l = g->ho * g->wo;
    memset(x, 0, (size_t)(n * c * h * w) * sizeof(float));
    /* One channel per thread: windows of one channel overlap, of two never. */
    #pragma omp parallel for schedule(static) if (c * n * l > 65536)
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t ki = 0; ki < g->kh; ki++)
            for (int64_t kj = 0; kj < g->kw; kj++) {
                const float *src = col + ((ch * g->kh + ki) * g->kw + kj) * n * l;
                for (int64_t img = 0; img < n; img++) {
                    float *plane = x + (img * c + ch) * h * w;
                    for (int64_t oh = 0; oh < g->ho; oh++) {
                        int64_t ih = oh * g->sh - g->ph + ki;
                        if (ih < 0 || ih >= h)
                            continue;
                        const float *in_row = src + img * l + oh * g->wo;
                        int64_t base = ih * w - g->pw + kj, lo, hi;
                        valid_columns(g, w, kj, &lo, &hi);
                        if (g->sw == 1) {
                            #pragma omp simd
                            for (int64_t ow = lo; ow < hi; ow++)
                                plane[base + ow] += in_row[ow];
                        } else {
                            for (int64_t ow = lo; ow < hi; ow++)
                                plane[base + ow * g->sw] += in_row[ow];
                        }
                    }
                }
            }
}
