/* gemm.h -- sgemm in pieces that a Ctrl-C can stop between (gemm.c). */
#ifndef DL_GEMM_H
#define DL_GEMM_H

#include <cblas.h>
#include <stdbool.h>
#include <stdint.h>

/* Row-major C (m x n) = alpha * op(A) (m x k) @ op(B) (k x n) + beta * C,
 * as cblas_sgemm (same arguments, int64_t sizes). A product of more than
 * about 2^31 multiply-adds runs as blocks of rows of C (columns when C is
 * short and wide), each of at least GEMM_MIN_BLOCK rows, and dl_interrupted()
 * is polled before each block after the first. Returns false when it
 * stopped for an interrupt (C is then partly written), true when done. */
bool kernel_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
                  float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc);

#endif
