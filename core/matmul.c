/*
 * matmul.c -- matrix products through OpenBLAS's cblas_sgemm.
 *
 * Operands keep their layout: a 2-D slice whose columns are contiguous
 * goes to sgemm as is, one whose rows are contiguous (a transposed view)
 * goes with the transpose flag; only other layouts are copied first.
 * Leading (batch) dims broadcast as in torch.matmul; each batch entry is
 * one sgemm call, cut in blocks that Ctrl-C can stop between (gemm.c).
 */
#include <cblas.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "autograd.h"
#include "internal.h"
#include "kernels/gemm.h"

/* How a (rows, cols) slice with strides (rs, cs) is passed to row-major
 * sgemm: false when it must be copied first. */
static bool blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                        CBLAS_TRANSPOSE *trans, int64_t *ld)
{
    if ((cols == 1 || cs == 1) && (rows == 1 || rs >= (cols > 1 ? cols : 1))) {
        *trans = CblasNoTrans;
        *ld = rows == 1 ? (cols > 1 ? cols : 1) : rs;
        return true;
    }
    if ((rows == 1 || rs == 1) && (cols == 1 || cs >= (rows > 1 ? rows : 1))) {
        *trans = CblasTrans;
        *ld = cols == 1 ? (rows > 1 ? rows : 1) : cs;
        return true;
    }
    return false;
}

static dl_status shape_error(const char *what, const dl_tensor *a, const dl_tensor *b)
{
    char as[64], bs[64];
    dl_shape_string(a, as, sizeof as);
    dl_shape_string(b, bs, sizeof bs);
    return dl_fail(DL_ERR_SHAPE, "bad argument #2 to 'matmul' (%s; got %s and %s)", what, as, bs);
}

/* Promotes a 1-D operand to a matrix view: (1, k) on the left, (k, 1) on
 * the right, as torch.matmul does (the extra dim is dropped afterwards). */
static dl_status as_matrix(const dl_tensor *t, bool left, dl_tensor **out)
{
    if (t->ndim != 1) {
        dl_retain((dl_tensor *)t);
        *out = (dl_tensor *)t;
        return DL_OK;
    }
    return dl_unsqueeze(t, left ? 0 : 1, out);
}

/* Copies t when no row/column of its last two dims is contiguous. */
static dl_status blas_ready(dl_tensor **t)
{
    int n = (*t)->ndim;
    CBLAS_TRANSPOSE trans;
    int64_t ld;
    if (blas_layout((*t)->shape[n - 2], (*t)->shape[n - 1], (*t)->stride[n - 2],
                    (*t)->stride[n - 1], &trans, &ld))
        return DL_OK;
    dl_tensor *copy;
    dl_status st = dl_clone(*t, &copy);
    if (st == DL_OK) {
        dl_release(*t);
        *t = copy;
    }
    return st;
}

/* out (batch..., m, n) = a (batch..., m, k) @ b (batch..., k, n); a and b
 * are at least 2-D, blas-ready, batch dims already checked to broadcast. */
static dl_status batched_gemm(const dl_tensor *a, const dl_tensor *b, int ndim,
                              const int64_t *shape, dl_tensor *out)
{
    int64_t m = shape[ndim - 2], n = shape[ndim - 1], k = a->shape[a->ndim - 1];
    CBLAS_TRANSPOSE ta = CblasNoTrans, tb = CblasNoTrans;
    int64_t lda = 1, ldb = 1;
    blas_layout(m, k, a->stride[a->ndim - 2], a->stride[a->ndim - 1], &ta, &lda);
    blas_layout(k, n, b->stride[b->ndim - 2], b->stride[b->ndim - 1], &tb, &ldb);
    int nb = ndim - 2;
    int64_t batches = dl_shape_numel(nb, shape);
    float *c = dl_data(out);
    if (k == 0) {
        memset(c, 0, (size_t)(batches * m * n) * sizeof(float));
        return DL_OK;
    }
    for (int64_t i = 0; i < batches; i++) {
        if (dl_interrupted())
            return dl_fail(DL_ERR_INTERRUPTED, "interrupted!");
        int64_t off_a = a->offset, off_b = b->offset, rest = i;
        for (int d = nb - 1; d >= 0; d--) {
            int64_t idx = rest % shape[d];
            rest /= shape[d];
            int da = d - (nb - (a->ndim - 2)), db = d - (nb - (b->ndim - 2));
            if (da >= 0 && a->shape[da] != 1)
                off_a += idx * a->stride[da];
            if (db >= 0 && b->shape[db] != 1)
                off_b += idx * b->stride[db];
        }
        if (!kernel_sgemm(ta, tb, m, n, k, 1.0f, a->storage->data + off_a, lda,
                          b->storage->data + off_b, ldb, 0.0f, c + i * m * n, n > 0 ? n : 1))
            return dl_fail(DL_ERR_INTERRUPTED, "interrupted!");
    }
    return DL_OK;
}

/* t with its last two dims swapped (a view). */
static dl_status swap_last(const dl_tensor *t, dl_tensor **out)
{
    return dl_transpose(t, t->ndim - 2, t->ndim - 1, out);
}

/* dL/d(one operand) = left @ right, summed to the operand's matrix shape
 * (batch broadcasting undone), then shaped as the operand itself. */
static dl_status operand_grad(const dl_tensor *left, const dl_tensor *right,
                              const dl_tensor *as_matrix_form, dl_tensor *operand)
{
    dl_tensor *product, *summed, *grad;
    dl_status st = dl_matmul(left, right, &product);
    if (st != DL_OK)
        return st;
    st = dl_sum_to_shape(product, as_matrix_form->ndim, as_matrix_form->shape, &summed);
    dl_release(product);
    if (st != DL_OK)
        return st;
    st = dl_reshape("matmul", summed, operand->ndim, operand->shape, &grad);
    dl_release(summed);
    return st == DL_OK ? dl_accumulate_grad(operand, grad) : st;
}

/* dL/da = g @ b^T, dL/db = a^T @ g, in the operands' matrix forms. */
static dl_status matmul_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *a = dl_saved(node, 0), *b = dl_saved(node, 1);
    if (!a || !b)
        return DL_ERR_ARGUMENT;
    dl_tensor *ma = NULL, *mb = NULL, *g2 = NULL, *t = NULL;
    dl_status st;
    int64_t full[DL_MAX_DIM];
    int ndim = (int)node->integer[DL_MAX_DIM];
    for (int d = 0; d < ndim; d++)
        full[d] = node->integer[d];
    if ((st = as_matrix(a, true, &ma)) == DL_OK && (st = as_matrix(b, false, &mb)) == DL_OK &&
        (st = dl_reshape("matmul", g, ndim, full, &g2)) == DL_OK) {
        if (node->inputs[0]->requires_grad && (st = swap_last(mb, &t)) == DL_OK) {
            st = operand_grad(g2, t, ma, node->inputs[0]);
            dl_release(t);
        }
        if (st == DL_OK && node->inputs[1]->requires_grad && (st = swap_last(ma, &t)) == DL_OK) {
            st = operand_grad(t, g2, mb, node->inputs[1]);
            dl_release(t);
        }
    }
    dl_release(ma);
    dl_release(mb);
    dl_release(g2);
    return st;
}

dl_status dl_matmul(const dl_tensor *a, const dl_tensor *b, dl_tensor **out)
{
    if (a->ndim == 0 || b->ndim == 0)
        return shape_error("expected tensors of at least 1 dim, not scalars", a, b);
    int64_t ka = a->shape[a->ndim - 1];
    int64_t kb = b->ndim == 1 ? b->shape[0] : b->shape[b->ndim - 2];
    if (ka != kb) {
        char as[64], bs[64];
        dl_shape_string(a, as, sizeof as);
        dl_shape_string(b, bs, sizeof bs);
        const char *pattern = b->ndim == 1 ? "(%lld,)" : b->ndim == 2 ? "(%lld, *)" : "(..., %lld, *)";
        char expected[48];
        snprintf(expected, sizeof expected, pattern, (long long)ka);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to 'matmul' (expected shape %s to match %s, got %s)",
                       expected, as, bs);
    }
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] > INT_MAX)
            return shape_error("expected sizes below 2^31 for BLAS", a, b);
    for (int d = 0; d < b->ndim; d++)
        if (b->shape[d] > INT_MAX)
            return shape_error("expected sizes below 2^31 for BLAS", a, b);
    dl_tensor *ma, *mb;
    dl_status st = as_matrix(a, true, &ma);
    if (st != DL_OK)
        return st;
    if ((st = as_matrix(b, false, &mb)) != DL_OK) {
        dl_release(ma);
        return st;
    }
    /* Broadcast the batch dims. */
    int nba = ma->ndim - 2, nbb = mb->ndim - 2, nb = nba > nbb ? nba : nbb;
    int64_t shape[DL_MAX_DIM];
    for (int d = 0; d < nb && st == DL_OK; d++) {
        int da = d - (nb - nba), db = d - (nb - nbb);
        int64_t sa = da >= 0 ? ma->shape[da] : 1, sb = db >= 0 ? mb->shape[db] : 1;
        if (sa != sb && sa != 1 && sb != 1)
            st = shape_error("expected batch dims that broadcast", a, b);
        shape[d] = sa == 1 ? sb : sa;
    }
    shape[nb] = ma->shape[ma->ndim - 2];
    shape[nb + 1] = mb->shape[mb->ndim - 1];
    dl_tensor *result = NULL;
    if (st == DL_OK && (st = blas_ready(&ma)) == DL_OK && (st = blas_ready(&mb)) == DL_OK &&
        (st = dl_empty("matmul", nb + 2, shape, &result)) == DL_OK)
        st = batched_gemm(ma, mb, nb + 2, shape, result);
    dl_release(ma);
    dl_release(mb);
    if (st != DL_OK) {
        dl_release(result);
        return st;
    }
    const dl_tensor *inputs[2] = {a, b};
    if (dl_needs_grad(2, inputs)) {
        dl_node *node = dl_record("matmul", matmul_backward, result, 2, inputs);
        if (!node) {
            dl_release(result);
            return DL_ERR_MEMORY;
        }
        for (int d = 0; d < nb + 2; d++)
            node->integer[d] = shape[d];
        node->integer[DL_MAX_DIM] = nb + 2;
        dl_save(node, a);
        dl_save(node, b);
    }
    /* Drop the dims that 1-D operands gained. */
    if (a->ndim == 1 || b->ndim == 1) {
        int ndim = 0;
        int64_t final[DL_MAX_DIM];
        for (int d = 0; d < nb; d++)
            final[ndim++] = shape[d];
        if (a->ndim != 1)
            final[ndim++] = shape[nb];
        if (b->ndim != 1)
            final[ndim++] = shape[nb + 1];
        st = dl_reshape("matmul", result, ndim, final, out);
        dl_release(result);
        return st;
    }
    *out = result;
    return DL_OK;
}
