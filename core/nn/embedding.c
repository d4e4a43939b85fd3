/*
 * embedding.c -- rows of a weight table picked by 1-based indices.
 *
 * indices (any shape, whole numbers in 1..num), weight (num, dim) ->
 * (indices..., dim). Backward adds each row of g into the weight gradient
 * at its index (rows picked twice get both contributions).
 */
#include <math.h>
#include <string.h>

#include "../autograd.h"
#include "../internal.h"

static dl_status embedding_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *indices = dl_saved(node, 0);
    if (!indices)
        return DL_ERR_ARGUMENT;
    dl_tensor *weight = node->inputs[0], *grad, *gc;
    dl_status st = dl_full("embedding", 2, weight->shape, 0.0f, &grad);
    if (st != DL_OK)
        return st;
    if ((st = dl_contiguous(g, &gc)) != DL_OK) {
        dl_release(grad);
        return st;
    }
    int64_t dim = weight->shape[1];
    const float *iv = dl_data(indices), *gv = dl_data(gc);
    float *dw = dl_data(grad);
    for (int64_t i = 0, n = dl_numel(indices); i < n; i++) {
        float *row = dw + ((int64_t)iv[i] - 1) * dim;
        for (int64_t j = 0; j < dim; j++)
            row[j] += gv[i * dim + j];
    }
    dl_release(gc);
    return dl_accumulate_grad(weight, grad);
}

dl_status dl_embedding(const dl_tensor *indices, const dl_tensor *weight, dl_tensor **out)
{
    if (weight->ndim != 2) {
        char ws[64];
        dl_shape_string(weight, ws, sizeof ws);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to 'embedding' (expected a table of shape (num, dim), got %s)", ws);
    }
    if (indices->ndim >= DL_MAX_DIM)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'embedding' (expected indices of at most %d dims, got %d)",
                       DL_MAX_DIM - 1, indices->ndim);
    int64_t num = weight->shape[0], dim = weight->shape[1];
    dl_tensor *ic, *wc, *result = NULL;
    dl_status st = dl_contiguous(indices, &ic);
    if (st != DL_OK)
        return st;
    const float *iv = dl_data(ic);
    for (int64_t i = 0, n = dl_numel(ic); i < n; i++)
        if (!(iv[i] >= 1 && iv[i] <= (float)num && iv[i] == floorf(iv[i]))) {
            dl_release(ic);
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #1 to 'embedding' (expected indices in 1..%lld, got %g at entry %lld)",
                           (long long)num, (double)iv[i], (long long)i + 1);
        }
    if ((st = dl_contiguous(weight, &wc)) != DL_OK) {
        dl_release(ic);
        return st;
    }
    int64_t shape[DL_MAX_DIM];
    memcpy(shape, indices->shape, sizeof(int64_t) * (size_t)indices->ndim);
    shape[indices->ndim] = dim;
    if ((st = dl_empty("embedding", indices->ndim + 1, shape, &result)) == DL_OK) {
        float *y = dl_data(result);
        for (int64_t i = 0, n = dl_numel(ic); i < n; i++)
            memcpy(y + i * dim, dl_data(wc) + ((int64_t)iv[i] - 1) * dim, (size_t)dim * sizeof(float));
        if (dl_needs_grad(1, &weight)) {
            dl_node *node = dl_record("embedding", embedding_backward, result, 1, &weight);
            if (node)
                dl_save(node, ic);
            else
                st = DL_ERR_MEMORY;
        }
    }
    dl_release(ic);
    dl_release(wc);
    if (st != DL_OK) {
        dl_release(result);
        return st;
    }
    *out = result;
    return DL_OK;
}
