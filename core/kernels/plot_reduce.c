/*
 * plot_reduce.c -- big data made figure-sized before it goes to gnuplot.
 *
 * gnuplot reads numbers as text and draws every point it gets: 10^7
 * values took it half a minute. What a figure can show is much smaller:
 * a histogram needs its bin counts, a line a few points per pixel column
 * (its extremes, so spikes stay visible), a scatter plot one point per
 * small cell and class, an image about as many pixels as the screen has.
 */
#include <math.h>
#include <string.h>

#include "plot_reduce.h"

int64_t kernel_histogram(const float *x, int64_t n, int64_t bins, double *lo, double *width,
                         int64_t *counts)
{
    double least = INFINITY, most = -INFINITY;
    int64_t finite = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        finite++;
        least = x[i] < least ? x[i] : least;
        most = x[i] > most ? x[i] : most;
    }
    memset(counts, 0, (size_t)bins * sizeof *counts);
    *lo = finite ? least : 0.0;
    *width = finite && most > least ? (most - least) / (double)bins : 1.0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        int64_t k = (int64_t)(((double)x[i] - *lo) / *width);
        counts[k < 0 ? 0 : k >= bins ? bins - 1 : k]++;
    }
    return finite;
}

/* Appends position p unless it is the last one kept. */
static void keep_once(int64_t *keep, int64_t *count, int64_t p)
{
    if (p >= 0 && (*count == 0 || keep[*count - 1] != p))
        keep[(*count)++] = p;
}

int64_t kernel_line_points(const float *y, int64_t n, int64_t buckets, int64_t *keep)
{
    int64_t count = 0;
    for (int64_t b = 0; b < buckets; b++) {
        int64_t first = n * b / buckets, end = n * (b + 1) / buckets;
        if (first >= end)
            continue;
        int64_t least = -1, most = -1, gap = -1;
        for (int64_t i = first; i < end; i++) {
            if (y[i] != y[i]) {
                gap = gap < 0 ? i : gap;
                continue;
            }
            if (least < 0 || y[i] < y[least])
                least = i;
            if (most < 0 || y[i] > y[most])
                most = i;
        }
        int64_t picks[5] = {first, least, most, gap, end - 1};
        /* in increasing order: sort the five (small insertion sort) */
        for (int i = 1; i < 5; i++)
            for (int j = i; j > 0 && picks[j] < picks[j - 1]; j--) {
                int64_t t = picks[j];
                picks[j] = picks[j - 1];
                picks[j - 1] = t;
            }
        for (int i = 0; i < 5; i++)
            keep_once(keep, &count, picks[i]);
    }
    return count;
}

/* The least and greatest finite value of v[0..n); false when none. */
static int extent(const float *v, const float *other, int64_t n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(v[i]) || !isfinite(other[i]))
            continue;
        *lo = v[i] < *lo ? v[i] : *lo;
        *hi = v[i] > *hi ? v[i] : *hi;
    }
    return *lo <= *hi;
}

/* The cell (0..cells-1) of value v in [lo, hi]. */
static int64_t cell_of(double v, double lo, double hi, int64_t cells)
{
    if (hi <= lo)
        return 0;
    int64_t c = (int64_t)((v - lo) / (hi - lo) * (double)cells);
    return c < 0 ? 0 : c >= cells ? cells - 1 : c;
}

int64_t kernel_grid_points(const float *x, const float *y, const float *cls, int64_t n,
                           int64_t cols, int64_t rows, int64_t classes, unsigned char *seen,
                           int64_t *keep)
{
    double x0, x1, y0, y1;
    int64_t count = 0;
    if (!extent(x, y, n, &x0, &x1) || !extent(y, x, n, &y0, &y1))
        return 0;
    memset(seen, 0, (size_t)(cols * rows * classes));
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        int64_t k = 0;
        if (cls != NULL) {
            double c = floor((double)cls[i] + 0.5);
            k = c >= 1 && c <= (double)classes ? (int64_t)c - 1 : 0;
        }
        int64_t cell = (k * rows + cell_of(y[i], y0, y1, rows)) * cols
                       + cell_of(x[i], x0, x1, cols);
        if (!seen[cell]) {
            seen[cell] = 1;
            keep[count++] = i;
        }
    }
    return count;
}

void kernel_downsample(const float *src, int64_t c, int64_t h, int64_t w, int64_t oh,
                       int64_t ow, float *dst)
{
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t i = 0; i < oh; i++) {
            int64_t r0 = h * i / oh, r1 = h * (i + 1) / oh;
            for (int64_t j = 0; j < ow; j++) {
                int64_t c0 = w * j / ow, c1 = w * (j + 1) / ow;
                double sum = 0;
                for (int64_t r = r0; r < r1; r++)
                    for (int64_t q = c0; q < c1; q++)
                        sum += src[(ch * h + r) * w + q];
                dst[(ch * oh + i) * ow + j] = (float)(sum / (double)((r1 - r0) * (c1 - c0)));
            }
        }
}
