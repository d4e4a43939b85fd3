/*
 * gemm.c -- large matrix products cut into blocks, so that Ctrl-C stops
 * them within a fraction of a second.
 *
 * One cblas_sgemm call cannot be interrupted: a 10000^2 product runs for
 * seconds. Cut into blocks of rows of C (A's rows, C's rows), each block a
 * full-speed sgemm of about GEMM_BLOCK_WORK multiply-adds (tens of
 * milliseconds), the interrupt flag is looked at between blocks. Blocks
 * keep at least GEMM_MIN_BLOCK rows, where sgemm runs as fast as on the
 * whole (measured in the commit that added this file).
 */
#include "gemm.h"
#include "dl.h"

#define GEMM_BLOCK_WORK ((int64_t)1 << 31)  /* multiply-adds a block */
#define GEMM_MIN_BLOCK 256                  /* rows (or columns) a block, at least */

static void sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
                  float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha, a, (int)lda, b,
                (int)ldb, beta, c, (int)ldc);
}

/* The rows (or columns) of a block for a product whose other sizes
 * multiply to `other`. */
static int64_t block_size(int64_t other)
{
    int64_t size = other > 0 ? GEMM_BLOCK_WORK / other : GEMM_MIN_BLOCK;
    return size < GEMM_MIN_BLOCK ? GEMM_MIN_BLOCK : size;
}

bool kernel_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
                  float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc)
{
    bool by_rows = m >= n;
    int64_t length = by_rows ? m : n;
    int64_t block = block_size(k * (by_rows ? n : m));
    if (length < 2 * block) {
        sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return true;
    }
    for (int64_t first = 0; first < length; first += block) {
        int64_t count = first + block <= length ? block : length - first;
        if (first > 0 && dl_interrupted())
            return false;
        if (by_rows)        /* rows of A (columns when transposed) and of C */
            sgemm(ta, tb, count, n, k, alpha, a + first * (ta == CblasNoTrans ? lda : 1), lda,
                  b, ldb, beta, c + first * ldc, ldc);
        else                /* columns of B (rows when transposed) and of C */
            sgemm(ta, tb, m, count, k, alpha, a, lda,
                  b + first * (tb == CblasNoTrans ? 1 : ldb), ldb, beta, c + first, ldc);
    }
    return true;
}
