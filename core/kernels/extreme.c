/*
 * extreme.c -- positions of maxima and minima, PyTorch's way: the first
 * extreme value wins a tie, and the first NaN wins over everything.
 *
 * A contiguous run is scanned in EXTREME_LANES interleaved lanes (vector
 * compares and blends), each keeping the first extreme of its own
 * elements; the lanes are then merged by value and position, so the
 * answer is that of the plain left-to-right scan. Columns of a table
 * (a strided dim) are scanned a block of DL_COLUMN_BLOCK columns at a time,
 * row after row.
 */
#include <math.h>

#include "kernels.h"

#define EXTREME_LANES 16   /* one AVX-512 register of floats */

/* True when value v at position p beats value b at position q: a NaN beats
 * any number, and of two NaNs or two equal values the earlier wins. */
static bool beats(float v, int64_t p, float b, int64_t q, bool largest)
{
    if (isnan(v) || isnan(b))
        return isnan(v) && (!isnan(b) || p < q);
    if (v == b)
        return p < q;
    return largest ? v > b : v < b;
}

/* The plain scan over n values spaced `stride` apart. */
static int64_t scan_extreme(int64_t n, const float *x, int64_t stride, bool largest)
{
    int64_t best = 0;
    float b = x[0];
    for (int64_t k = 1; k < n && !isnan(b); k++) {
        float v = x[k * stride];
        if (isnan(v) || (largest ? v > b : v < b)) {
            b = v;
            best = k;
        }
    }
    return best;
}

/* The lane scan of a contiguous run of n >= EXTREME_LANES values. */
static int64_t lane_extreme(int64_t n, const float *x, bool largest)
{
    float best[EXTREME_LANES];
    int64_t at[EXTREME_LANES];
    for (int j = 0; j < EXTREME_LANES; j++) {
        best[j] = x[j];
        at[j] = j;
    }
    int64_t k = EXTREME_LANES;
    for (; k + EXTREME_LANES <= n; k += EXTREME_LANES) {
        #pragma omp simd
        for (int j = 0; j < EXTREME_LANES; j++) {
            float v = x[k + j], b = best[j];
            bool take = (largest ? v > b : v < b) || (v != v && b == b);
            best[j] = take ? v : b;
            at[j] = take ? k + j : at[j];
        }
    }
    int64_t winner = at[0];
    float w = best[0];
    for (int j = 1; j < EXTREME_LANES; j++)
        if (beats(best[j], at[j], w, winner, largest)) {
            w = best[j];
            winner = at[j];
        }
    for (; k < n && !isnan(w); k++)   /* the rest, after every lane's positions */
        if (isnan(x[k]) || (largest ? x[k] > w : x[k] < w)) {
            w = x[k];
            winner = k;
        }
    return winner;
}

DL_MULTIVERSION
int64_t kernel_extreme_position(int64_t n, const float *x, int64_t stride, bool largest)
{
    if (stride == 1 && n >= 2 * EXTREME_LANES)
        return lane_extreme(n, x, largest);
    return scan_extreme(n, x, stride, largest);
}

DL_MULTIVERSION
void kernel_extreme_columns(int64_t n, int64_t inner, const float *x, int64_t width,
                            bool largest, bool positions, float *out)
{
    float best[DL_COLUMN_BLOCK];
    int64_t at[DL_COLUMN_BLOCK];
    for (int64_t j = 0; j < width; j++) {
        best[j] = x[j];
        at[j] = 0;
    }
    for (int64_t k = 1; k < n; k++) {
        const float *row = x + k * inner;
        #pragma omp simd
        for (int64_t j = 0; j < width; j++) {
            float v = row[j], b = best[j];
            bool take = (largest ? v > b : v < b) || (v != v && b == b);
            best[j] = take ? v : b;
            at[j] = take ? k : at[j];
        }
    }
    for (int64_t j = 0; j < width; j++)
        out[j] = positions ? (float)(at[j] + 1) : best[j];
}
