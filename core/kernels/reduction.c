/*
 * reduction.c -- reductions over the middle dim of x (outer, n, inner) -> (outer, inner).
 *
 * Sums accumulate in double (vectorised: the lanes' order is fixed by the
 * build, so results still repeat exactly). A long contiguous sum is cut into at most
 * MAX_PIECES pieces whose size depends only on n; threads sum pieces and the
 * partial sums are added in piece order, so the result does not depend on
 * the number of threads (same seed, same build, same numbers).
 */
#include <math.h>

#include "kernels.h"

#define MAX_PIECES 256
#define MIN_PIECE 65536

/* Sum of n values spaced `stride` apart, in double. */
static double strided_sum(int64_t n, const float *x, int64_t stride)
{
    double s = 0;
    for (int64_t k = 0; k < n; k++)
        s += x[k * stride];
    return s;
}

/* Sum of n contiguous values, or of their squared deviations from `mean`. */
static double piece_sum(int64_t n, const float *x, bool squares, double mean)
{
    double s = 0;
    if (squares) {
        #pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < n; k++) {
            double d = x[k] - mean;
            s += d * d;
        }
    } else {
        #pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < n; k++)
            s += x[k];
    }
    return s;
}

/* piece_sum of a long row, split into pieces summed in parallel and
 * combined in order. Short rows skip the thread team entirely: starting
 * one costs more than summing a few thousand floats. */
static double long_sum(int64_t n, const float *x, bool squares, double mean)
{
    int64_t piece = n / MAX_PIECES + 1;
    if (piece < MIN_PIECE)
        piece = MIN_PIECE;
    int64_t pieces = (n + piece - 1) / piece;
    if (pieces <= 1)
        return piece_sum(n, x, squares, mean);
    double partial[MAX_PIECES + 1];
    #pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < pieces; p++) {
        int64_t from = p * piece, to = from + piece < n ? from + piece : n;
        partial[p] = piece_sum(to - from, x + from, squares, mean);
    }
    double total = 0;
    for (int64_t p = 0; p < pieces; p++)
        total += partial[p];
    return total;
}

/* Sum of squared deviations from mean of n values spaced `stride` apart. */
static double strided_squares(int64_t n, const float *x, int64_t stride, double mean)
{
    double s = 0;
    for (int64_t k = 0; k < n; k++) {
        double d = x[k * stride] - mean;
        s += d * d;
    }
    return s;
}

/* Position (0-based) of the extreme value; the first NaN wins, as in PyTorch. */
static int64_t strided_extreme(int64_t n, const float *x, int64_t stride, bool largest)
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

/* One reduction of n values spaced `stride` apart. */
static float reduce_one(dl_reduce_op op, int64_t n, const float *x, int64_t stride,
                        int correction)
{
    bool contiguous = stride == 1;
    switch (op) {
    case DL_SUM:
        return (float)(contiguous ? long_sum(n, x, false, 0) : strided_sum(n, x, stride));
    case DL_MEAN:
        return (float)((contiguous ? long_sum(n, x, false, 0) : strided_sum(n, x, stride)) / (double)n);
    case DL_PROD: {
        double p = 1;
        for (int64_t k = 0; k < n; k++)
            p *= x[k * stride];
        return (float)p;
    }
    case DL_MAX:
        return x[strided_extreme(n, x, stride, true) * stride];
    case DL_MIN:
        return x[strided_extreme(n, x, stride, false) * stride];
    case DL_ARGMAX:
        return (float)(strided_extreme(n, x, stride, true) + 1);
    case DL_ARGMIN:
        return (float)(strided_extreme(n, x, stride, false) + 1);
    case DL_VAR:
    case DL_STD: {
        double mean = (contiguous ? long_sum(n, x, false, 0) : strided_sum(n, x, stride)) / (double)n;
        double ss = contiguous ? long_sum(n, x, true, mean) : strided_squares(n, x, stride, mean);
        double var = n - correction > 0 ? ss / (double)(n - correction) : NAN;
        return (float)(op == DL_VAR ? var : sqrt(var));
    }
    }
    return NAN;
}

void kernel_reduce(dl_reduce_op op, int64_t outer, int64_t n, int64_t inner,
                   int correction, const float *x, float *out)
{
    if (outer == 1 && inner == 1) {   /* one long reduction: parallel inside */
        out[0] = reduce_one(op, n, x, 1, correction);
        return;
    }
    int64_t results = outer * inner;
    if (results * n <= 65536) {
        for (int64_t r = 0; r < results; r++)
            out[r] = reduce_one(op, n, x + (r / inner) * n * inner + r % inner, inner, correction);
        return;
    }
    #pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < results; r++) {
        int64_t o = r / inner, j = r % inner;
        out[r] = reduce_one(op, n, x + o * n * inner + j, inner, correction);
    }
}
