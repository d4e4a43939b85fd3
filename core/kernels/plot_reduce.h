/* plot_reduce.h -- large data cut down to what a figure can show
 * (plot_reduce.c), for dl.plot. Plain loops over floats. */
#ifndef DL_PLOT_REDUCE_H
#define DL_PLOT_REDUCE_H

#include <stdint.h>

/* Counts the finite values of x[0..n) in `bins` equal bins from their
 * least to their greatest value (the greatest falls in the last bin).
 * Writes the first bin's left edge and the bins' width (1 when all values
 * are equal; lo 0 and width 1 when none is finite). Returns how many
 * values were finite. */
int64_t kernel_histogram(const float *x, int64_t n, int64_t bins, double *lo, double *width,
                         int64_t *counts);

/* The positions of y[0..n) that a line drawn `buckets` pixel columns wide
 * needs: in each of `buckets` runs of consecutive positions, the first
 * and last, the least and the greatest value, and the first NaN (so gaps
 * stay gaps), in increasing order. keep must hold 5 * buckets entries.
 * Returns the count written. */
int64_t kernel_line_points(const float *y, int64_t n, int64_t buckets, int64_t *keep);

/* The positions of the first point of each class in each cell of a
 * cols x rows grid over the finite points' extent: what a scatter plot
 * shows when a point covers a cell. cls (NULL: one class) holds labels
 * 1..classes (rounded); points with non-finite coordinates are dropped.
 * `seen` is scratch of cols * rows * classes bytes. Returns the count of
 * positions written to keep (at most n), in increasing order. */
int64_t kernel_grid_points(const float *x, const float *y, const float *cls, int64_t n,
                           int64_t cols, int64_t rows, int64_t classes, unsigned char *seen,
                           int64_t *keep);

/* src (c, h, w) averaged over blocks into dst (c, oh, ow), oh <= h,
 * ow <= w: each output pixel is the mean of the source pixels whose
 * centres fall in it. */
void kernel_downsample(const float *src, int64_t c, int64_t h, int64_t w, int64_t oh,
                       int64_t ow, float *dst);

#endif
