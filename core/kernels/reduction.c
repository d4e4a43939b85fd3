/*
 * reduction.c -- reductions over the middle dim of x (outer, n, inner) -> (outer, inner).
 *
 * Sums accumulate in double. A contiguous sum runs in SUM_LANES running
 * sums (independent vector additions), added up in lane order at the end.
 * A long one is cut into at most MAX_PIECES pieces whose size depends only
 * on n; threads sum pieces and the partial sums are added in piece order,
 * so the result does not depend on the number of threads (same seed, same
 * numbers). Sums over a strided dim (columns of a table) add whole rows
 * into one running sum per column, DL_COLUMN_BLOCK columns at a time: each
 * column's values are still added in row order. Maxima and minima are in
 * extreme.c.
 */
#include <math.h>

#include "kernels.h"

#define MAX_PIECES 256
#define MIN_PIECE 65536
#define SUM_LANES 32      /* four AVX-512 registers of doubles */

/* Sum of n contiguous values, or of their squared deviations from `mean`,
 * in SUM_LANES running sums so that successive additions do not wait on
 * each other. */
static double piece_sum(int64_t n, const float *x, bool squares, double mean)
{
    double lane[SUM_LANES] = {0};
    int64_t k = 0;
    for (; k + SUM_LANES <= n; k += SUM_LANES) {
        if (squares) {
            #pragma omp simd
            for (int j = 0; j < SUM_LANES; j++) {
                double d = x[k + j] - mean;
                lane[j] += d * d;
            }
        } else {
            #pragma omp simd
            for (int j = 0; j < SUM_LANES; j++)
                lane[j] += x[k + j];
        }
    }
    for (int j = 0; k < n; j++, k++) {
        double d = x[k] - mean;
        lane[j] += squares ? d * d : x[k];
    }
    double s = 0;
    for (int j = 0; j < SUM_LANES; j++)
        s += lane[j];
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

/* One reduction of n values spaced `stride` apart (contiguous ones for the
 * moments: sum, mean, var, std; reduce_columns takes strided moments). */
static float reduce_one(dl_reduce_op op, int64_t n, const float *x, int64_t stride,
                        int correction)
{
    switch (op) {
    case DL_SUM:
        return (float)long_sum(n, x, false, 0);
    case DL_MEAN:
        return (float)(long_sum(n, x, false, 0) / (double)n);
    case DL_PROD: {
        double p = 1;
        for (int64_t k = 0; k < n; k++)
            p *= x[k * stride];
        return (float)p;
    }
    case DL_MAX:
        return x[kernel_extreme_position(n, x, stride, true) * stride];
    case DL_MIN:
        return x[kernel_extreme_position(n, x, stride, false) * stride];
    case DL_ARGMAX:
        return (float)(kernel_extreme_position(n, x, stride, true) + 1);
    case DL_ARGMIN:
        return (float)(kernel_extreme_position(n, x, stride, false) + 1);
    case DL_VAR:
    case DL_STD: {
        double mean = long_sum(n, x, false, 0) / (double)n;
        double ss = long_sum(n, x, true, mean);
        double var = ss / (double)(n - correction > 0 ? n - correction : 0);
        return (float)(op == DL_VAR ? var : sqrt(var));
    }
    }
    return NAN;
}

static bool is_moment(dl_reduce_op op)
{
    return op == DL_SUM || op == DL_MEAN || op == DL_VAR || op == DL_STD;
}

/* A moment (sum, mean, var, std) of each of `width` <= DL_COLUMN_BLOCK
 * neighbouring columns of an (n, inner) block at x, into out[0..width). */
static void reduce_columns(dl_reduce_op op, int64_t n, int64_t inner, int correction,
                           const float *x, int64_t width, float *out)
{
    double sum[DL_COLUMN_BLOCK] = {0};
    for (int64_t k = 0; k < n; k++) {
        const float *row = x + k * inner;
        #pragma omp simd
        for (int64_t j = 0; j < width; j++)
            sum[j] += row[j];
    }
    if (op == DL_SUM || op == DL_MEAN) {
        for (int64_t j = 0; j < width; j++)
            out[j] = (float)(op == DL_SUM ? sum[j] : sum[j] / (double)n);
        return;
    }
    double mean[DL_COLUMN_BLOCK], squares[DL_COLUMN_BLOCK] = {0};
    for (int64_t j = 0; j < width; j++)
        mean[j] = sum[j] / (double)n;
    for (int64_t k = 0; k < n; k++) {
        const float *row = x + k * inner;
        #pragma omp simd
        for (int64_t j = 0; j < width; j++) {
            double d = row[j] - mean[j];
            squares[j] += d * d;
        }
    }
    for (int64_t j = 0; j < width; j++) {
        double var = squares[j] / (double)(n - correction > 0 ? n - correction : 0);
        out[j] = (float)(op == DL_VAR ? var : sqrt(var));
    }
}

DL_MULTIVERSION
void kernel_reduce(dl_reduce_op op, int64_t outer, int64_t n, int64_t inner,
                   int correction, const float *x, float *out)
{
    if (outer == 1 && inner == 1) {   /* one long reduction: parallel inside */
        out[0] = reduce_one(op, n, x, 1, correction);
        return;
    }
    int64_t results = outer * inner;
    if (inner > 1 && op != DL_PROD) {   /* columns: rows scanned a block at a time */
        int64_t blocks = (inner + DL_COLUMN_BLOCK - 1) / DL_COLUMN_BLOCK;
        #pragma omp parallel for schedule(static) if (results * n > 65536)
        for (int64_t t = 0; t < outer * blocks; t++) {
            int64_t o = t / blocks, j = t % blocks * DL_COLUMN_BLOCK;
            int64_t width = inner - j < DL_COLUMN_BLOCK ? inner - j : DL_COLUMN_BLOCK;
            const float *block = x + o * n * inner + j;
            if (is_moment(op))
                reduce_columns(op, n, inner, correction, block, width, out + o * inner + j);
            else
                kernel_extreme_columns(n, inner, block, width, op == DL_MAX || op == DL_ARGMAX,
                                       op == DL_ARGMAX || op == DL_ARGMIN, out + o * inner + j);
        }
        return;
    }
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
