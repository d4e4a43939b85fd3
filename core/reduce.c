/*
 * reduce.c -- sum, mean, prod, max, min, argmax, argmin, var, std over one
 * dim or over everything. The loops are in kernels/reduction.c.
 */
#include "internal.h"
#include "kernels/kernels.h"

static const char *const reduce_names[] = {
    [DL_SUM] = "sum", [DL_MEAN] = "mean", [DL_PROD] = "prod", [DL_MAX] = "max",
    [DL_MIN] = "min", [DL_ARGMAX] = "argmax", [DL_ARGMIN] = "argmin",
    [DL_VAR] = "var", [DL_STD] = "std",
};

const char *dl_reduce_name(dl_reduce_op op)
{
    return reduce_names[op];
}

dl_status dl_reduce(dl_reduce_op op, const dl_tensor *a, int dim, bool keepdim,
                    int correction, dl_tensor **out)
{
    const char *fn = reduce_names[op];
    bool whole = dim < 0 || a->ndim == 0;
    if (!whole && dl_check_dim(fn, 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    int64_t outer = 1, n, inner = 1;
    int ndim = 0;
    int64_t shape[DL_MAX_DIM];
    if (whole) {
        n = dl_numel(a);
        if (keepdim)
            for (ndim = 0; ndim < a->ndim; ndim++)
                shape[ndim] = 1;
    } else {
        n = a->shape[dim];
        for (int d = 0; d < a->ndim; d++) {
            if (d < dim)
                outer *= a->shape[d];
            else if (d > dim)
                inner *= a->shape[d];
            if (d != dim)
                shape[ndim++] = a->shape[d];
            else if (keepdim)
                shape[ndim++] = 1;
        }
    }
    bool needs_values = op == DL_MAX || op == DL_MIN || op == DL_ARGMAX || op == DL_ARGMIN;
    if (n == 0 && needs_values && outer * inner > 0)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to '%s' (expected a non-empty dim to reduce, got size 0)",
                       fn);
    dl_tensor *x;
    dl_status st = dl_contiguous(a, &x);
    if (st != DL_OK)
        return st;
    if ((st = dl_empty(fn, ndim, shape, out)) == DL_OK && outer * inner > 0)
        kernel_reduce(op, outer, n, inner, correction, dl_data(x), dl_data(*out));
    dl_release(x);
    return st;
}
