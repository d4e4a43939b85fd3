/*
 * reduce.c -- sum, mean, prod, max, min, argmax, argmin, var, std over one
 * dim or over everything. The loops are in kernels/reduction.c.
 */
#include <math.h>
#include <string.h>

#include "autograd.h"
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

/* g (the reduced shape) as a tensor that broadcasts against the input:
 * the reduced dim put back with size 1. */
static dl_status broadcastable_grad(const dl_node *node, const dl_tensor *g, dl_tensor **out)
{
    int dim = (int)node->integer[1];
    bool keepdim = node->integer[2];
    if (dim >= 0 && !keepdim)
        return dl_unsqueeze(g, dim, out);
    dl_retain((dl_tensor *)g);
    *out = (dl_tensor *)g;
    return DL_OK;
}

/* dL/dx of a whole-tensor max/min: g split evenly among the elements equal
 * to the extreme `value` (all NaNs when it is NaN), as PyTorch does. */
static dl_status tied_extreme_backward(dl_node *node, const dl_tensor *x, float value,
                                       const dl_tensor *g)
{
    dl_tensor *xc, *grad;
    dl_status st = dl_contiguous(x, &xc);
    if (st != DL_OK)
        return st;
    if ((st = dl_empty(node->name, x->ndim, x->shape, &grad)) != DL_OK) {
        dl_release(xc);
        return st;
    }
    const float *xv = dl_data(xc);
    float *gx = dl_data(grad);
    int64_t n = dl_numel(x), ties = 0;
    for (int64_t i = 0; i < n; i++) {
        bool tie = xv[i] == value || (isnan(value) && isnan(xv[i]));
        gx[i] = tie;
        ties += tie;
    }
    float share = dl_data(g)[0] / (float)ties;
    for (int64_t i = 0; i < n; i++)
        gx[i] *= share;
    dl_release(xc);
    return dl_accumulate_grad(node->inputs[0], grad);
}

/* dL/dx of max/min along a dim: g goes to the position of the extreme
 * value (the first on ties, as the positions max(dim) returns). */
static dl_status extreme_backward(dl_node *node, const dl_tensor *x, const dl_tensor *out,
                                  const dl_tensor *g)
{
    dl_reduce_op op = (dl_reduce_op)node->integer[0] == DL_MAX ? DL_ARGMAX : DL_ARGMIN;
    int dim = (int)node->integer[1];
    if (dim < 0 || x->ndim == 0)
        return tied_extreme_backward(node, x, dl_data(out)[0], g);
    dl_tensor *positions, *grad, *gc;
    dl_status st = dl_reduce(op, x, dim, false, 0, &positions);
    if (st != DL_OK)
        return st;
    if ((st = dl_full(node->name, x->ndim, x->shape, 0.0f, &grad)) != DL_OK) {
        dl_release(positions);
        return st;
    }
    if ((st = dl_contiguous(g, &gc)) == DL_OK) {
        int64_t outer = 1, n = dl_numel(x), inner = 1;
        if (dim >= 0 && x->ndim > 0) {
            n = x->shape[dim];
            for (int d = 0; d < dim; d++)
                outer = dl_size_mul(outer, x->shape[d]);
            for (int d = dim + 1; d < x->ndim; d++)
                inner = dl_size_mul(inner, x->shape[d]);
        }
        const float *p = dl_data(positions), *gv = dl_data(gc);
        float *gx = dl_data(grad);
        if (dl_numel(x) == 0)
            outer = 0;              /* its sizes may not multiply */
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < inner; j++) {
                int64_t k = (int64_t)p[o * inner + j] - 1;
                gx[(o * n + k) * inner + j] = gv[o * inner + j];
            }
        dl_release(gc);
        st = dl_accumulate_grad(node->inputs[0], grad);
    } else {
        dl_release(grad);
    }
    dl_release(positions);
    return st;
}

/* d prod / dx: for each reduced slice, the product of the other elements
 * (y / x without dividing: exact with one zero in the slice, and 0
 * everywhere with two or more, as PyTorch). Same shape as x. */
static dl_status prod_partials(const dl_tensor *x, int dim, dl_tensor **out)
{
    dl_tensor *xc;
    dl_status st = dl_contiguous(x, &xc);
    if (st != DL_OK)
        return st;
    if ((st = dl_empty("prod", x->ndim, x->shape, out)) != DL_OK) {
        dl_release(xc);
        return st;
    }
    int64_t outer = 1, n = dl_numel(x), inner = 1;
    if (dim >= 0 && x->ndim > 0) {
        n = x->shape[dim];
        for (int d = 0; d < dim; d++)
            outer = dl_size_mul(outer, x->shape[d]);
        for (int d = dim + 1; d < x->ndim; d++)
            inner = dl_size_mul(inner, x->shape[d]);
    }
    const float *xv = dl_data(xc);
    float *pv = dl_data(*out);
    if (dl_numel(x) == 0)
        outer = 0;                  /* its sizes may not multiply */
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *row = xv + o * n * inner + j;
            float *prow = pv + o * n * inner + j;
            double nonzero = 1;
            int64_t zeros = 0, zero_at = -1;
            for (int64_t k = 0; k < n; k++) {
                if (row[k * inner] == 0.0f) {
                    zeros++;
                    zero_at = k;
                } else {
                    nonzero *= row[k * inner];
                }
            }
            for (int64_t k = 0; k < n; k++)
                prow[k * inner] = zeros == 0   ? (float)(nonzero / row[k * inner])
                                  : zeros == 1 && k == zero_at ? (float)nonzero
                                                               : 0.0f;
        }
    dl_release(xc);
    return DL_OK;
}

/* 1 / y for std's rule, with 0 where y is 0: no spread, no gradient
 * (PyTorch masks the same way). */
static dl_status std_inverse(const dl_tensor *y, dl_tensor **out)
{
    dl_tensor *yc;
    dl_status st = dl_contiguous(y, &yc);
    if (st != DL_OK)
        return st;
    if ((st = dl_empty("std", y->ndim, y->shape, out)) == DL_OK) {
        const float *yv = dl_data(yc);
        float *iv = dl_data(*out);
        for (int64_t i = 0, n = dl_numel(y); i < n; i++)
            iv[i] = yv[i] == 0.0f ? 0.0f : 1.0f / yv[i];
    }
    dl_release(yc);
    return st;
}

/* Number of elements each result summarised. */
static int64_t reduced_count(const dl_tensor *x, int dim)
{
    return dim >= 0 && x->ndim > 0 ? x->shape[dim] : dl_numel(x);
}

static dl_status reduce_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_reduce_op op = (dl_reduce_op)node->integer[0];
    int dim = (int)node->integer[1];
    int correction = (int)node->integer[3];
    const dl_tensor *x = node->nsaved ? dl_saved(node, 0) : node->inputs[0];
    if (!x)
        return DL_ERR_ARGUMENT;
    if (op == DL_MAX || op == DL_MIN)
        return extreme_backward(node, x, out, g);
    dl_tensor *gb, *y = NULL, *grad = NULL;
    dl_status st = broadcastable_grad(node, g, &gb);
    if (st != DL_OK)
        return st;
    if (op != DL_SUM && op != DL_MEAN)
        st = broadcastable_grad(node, out, &y);
    double n = (double)reduced_count(x, dim);
    if (st == DL_OK) {
        switch (op) {
        case DL_SUM:          /* dL/dx = g */
            dl_retain(gb);
            grad = gb;
            break;
        case DL_MEAN:         /* dL/dx = g / n */
            st = dl_binary_scalar(DL_MUL, gb, (float)(1.0 / n), false, &grad);
            break;
        case DL_PROD: {       /* dL/dx = g * (product of the others) */
            dl_tensor *partials;
            if ((st = prod_partials(x, dim, &partials)) == DL_OK) {
                st = dl_binary(DL_MUL, gb, partials, &grad);
                dl_release(partials);
            }
            break;
        }
        default: {            /* var: 2 g (x - mean) / (n - c);  std: g (x - mean) / ((n - c) y) */
            dl_tensor *mean, *centered;
            if ((st = dl_reduce(DL_MEAN, x, dim, true, 0, &mean)) != DL_OK)
                break;
            st = dl_binary(DL_SUB, x, mean, &centered);
            dl_release(mean);
            if (st != DL_OK)
                break;
            float scale = (float)((op == DL_VAR ? 2.0 : 1.0) / (n - correction));
            dl_tensor *scaled;
            if ((st = dl_binary_scalar(DL_MUL, centered, scale, false, &scaled)) == DL_OK) {
                st = dl_binary(DL_MUL, scaled, gb, &grad);
                dl_release(scaled);
            }
            dl_release(centered);
            if (st == DL_OK && op == DL_STD) {
                dl_tensor *inverse, *divided;
                if ((st = std_inverse(y, &inverse)) == DL_OK) {
                    st = dl_binary(DL_MUL, grad, inverse, &divided);
                    dl_release(inverse);
                }
                dl_release(grad);
                grad = st == DL_OK ? divided : NULL;
            }
        }
        }
    }
    dl_release(gb);
    dl_release(y);
    if (st != DL_OK)
        return st;
    dl_tensor *full;                  /* a reduced dim of g stretched back */
    st = dl_expand(grad, x->ndim, x->shape, &full);
    dl_release(grad);
    return st == DL_OK ? dl_accumulate_grad(node->inputs[0], full) : st;
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
                outer = dl_size_mul(outer, a->shape[d]);
            else if (d > dim)
                inner = dl_size_mul(inner, a->shape[d]);
            if (d != dim)
                shape[ndim++] = a->shape[d];
            else if (keepdim)
                shape[ndim++] = 1;
        }
    }
    bool needs_values = op == DL_MAX || op == DL_MIN || op == DL_ARGMAX || op == DL_ARGMIN;
    int64_t results = dl_shape_numel(ndim, shape);   /* outer * inner, when not empty */
    if (n == 0 && needs_values && results > 0)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to '%s' (expected a non-empty dim to reduce, got size 0)",
                       fn);
    dl_tensor *x;
    dl_status st = dl_contiguous(a, &x);
    if (st != DL_OK)
        return st;
    if ((st = dl_empty(fn, ndim, shape, out)) == DL_OK && results > 0)
        kernel_reduce(op, outer, n, inner, correction, dl_data(x), dl_data(*out));
    dl_release(x);
    if (st != DL_OK || op == DL_ARGMAX || op == DL_ARGMIN || !dl_needs_grad(1, &a))
        return st;
    dl_node *node = dl_record(fn, reduce_backward, *out, 1, &a);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        return DL_ERR_MEMORY;
    }
    node->integer[0] = op;
    node->integer[1] = whole ? -1 : dim;
    node->integer[2] = keepdim;
    node->integer[3] = correction;
    if (op != DL_SUM && op != DL_MEAN)
        dl_save(node, a);
    return DL_OK;
}
