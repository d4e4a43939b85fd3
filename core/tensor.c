/*
 * tensor.c -- tensor records, creation, inspection and copying.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "internal.h"

/* ---- records ------------------------------------------------------------ */

int64_t dl_shape_numel(int ndim, const int64_t *shape)
{
    /* Creation caps the product at 2^38; an empty dim may sit beside huge
     * ones, so check for it before multiplying. */
    for (int d = 0; d < ndim; d++)
        if (shape[d] == 0)
            return 0;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n = dl_size_mul(n, shape[d]);
    return n;
}

void dl_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = s;
        /* Only an empty tensor (whose strides are never used) can have
         * sizes whose product overflows. */
        if (__builtin_mul_overflow(s, shape[d] > 0 ? shape[d] : 1, &s))
            s = 1;
    }
}

dl_tensor *dl_tensor_view_of(dl_storage *storage, int ndim, const int64_t *shape,
                             const int64_t *stride, int64_t offset)
{
    dl_tensor *t = dl_pool_take(DL_POOL_TENSOR);
    if (!t) {
        dl_fail(DL_ERR_MEMORY, "out of memory");
        return NULL;
    }
    t->refcount = 1;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) {
        t->shape[d] = shape[d];
        t->stride[d] = stride[d];
    }
    t->offset = offset;
    t->storage = storage;
    storage->refcount++;
    return t;
}

void dl_retain(dl_tensor *t)
{
    if (t)
        t->refcount++;
}

/* Frees x's fields and record; releases may queue more tensors. */
static void tensor_free(dl_tensor *x)
{
    dl_release(x->grad);
    if (x->grad_fn)
        dl_node_free(x->grad_fn);
    dl_storage_release(x->storage);
    dl_pool_give(DL_POOL_TENSOR, x);
}

/* Frees a tensor whose last reference is gone. Its gradient and graph node
 * are released too, which may free a long chain of graph nodes: those are
 * queued and freed by a loop rather than by recursion, so that a graph
 * thousands of operations deep cannot overflow the stack. */
void dl_release(dl_tensor *t)
{
    static dl_tensor **pending;
    static size_t count, capacity;
    static bool draining;
    if (!t || --t->refcount > 0)
        return;
    if (count == capacity) {
        size_t grown_capacity = capacity ? capacity * 2 : 256;
        dl_tensor **grown = realloc(pending, grown_capacity * sizeof *grown);
        if (!grown) {             /* no memory to queue: free it right here */
            tensor_free(t);
            return;
        }
        pending = grown;
        capacity = grown_capacity;
    }
    pending[count++] = t;
    if (draining)
        return;
    draining = true;
    while (count > 0)
        tensor_free(pending[--count]);
    draining = false;
}

/* ---- shapes in messages -------------------------------------------------- */

void dl_format_shape(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %lld" : "%lld",
                                 (long long)shape[d]);
    if (used < size)
        snprintf(buf + used, size - used, ndim == 1 ? ",)" : ")");
}

void dl_shape_string(const dl_tensor *t, char *buf, size_t size)
{
    dl_format_shape(t->ndim, t->shape, buf, size);
}

dl_status dl_check_dim(const char *fn, int argn, int dim, int ndim, bool inclusive)
{
    int limit = inclusive ? ndim + 1 : ndim;
    if (dim >= 0 && dim < limit)
        return DL_OK;
    if (limit == 0)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #%d to '%s' (a scalar tensor has no dims, got dim %d)",
                       argn, fn, dim + 1);
    return dl_fail(DL_ERR_ARGUMENT,
                   "bad argument #%d to '%s' (expected a dim in 1..%d, got %d)",
                   argn, fn, limit, dim + 1);
}

/* ---- creation ------------------------------------------------------------ */

static dl_status check_shape(const char *fn, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > DL_MAX_DIM)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #1 to '%s' (expected at most %d sizes, got %d)",
                       fn, DL_MAX_DIM, ndim);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0)
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #%d to '%s' (expected a size >= 0, got %lld)",
                           d + 1, fn, (long long)shape[d]);
    double numel = 1;
    for (int d = 0; d < ndim; d++)
        numel *= (double)shape[d];
    if (numel > (double)(INT64_C(1) << 38))
        return dl_fail(DL_ERR_MEMORY,
                       "bad argument #1 to '%s' (a tensor of %.3g elements is too large)",
                       fn, numel);
    return DL_OK;
}

dl_status dl_empty(const char *fn, int ndim, const int64_t *shape, dl_tensor **out)
{
    dl_status st = check_shape(fn, ndim, shape);
    if (st != DL_OK)
        return st;
    dl_storage *s = dl_storage_new(fn, dl_shape_numel(ndim, shape));
    if (!s)
        return DL_ERR_MEMORY;
    int64_t stride[DL_MAX_DIM];
    dl_contiguous_strides(ndim, shape, stride);
    dl_tensor *t = dl_tensor_view_of(s, ndim, shape, stride, 0);
    dl_storage_release(s);
    if (!t)
        return DL_ERR_MEMORY;
    *out = t;
    return DL_OK;
}

dl_status dl_full(const char *fn, int ndim, const int64_t *shape, float value,
                  dl_tensor **out)
{
    dl_status st = dl_empty(fn, ndim, shape, out);
    if (st == DL_OK)
        dl_fill_(*out, value);
    return st;
}

dl_status dl_rand(int ndim, const int64_t *shape, dl_tensor **out)
{
    dl_status st = dl_empty("rand", ndim, shape, out);
    if (st != DL_OK)
        return st;
    float *p = dl_data(*out);
    for (int64_t i = 0, n = dl_numel(*out); i < n; i++)
        p[i] = dl_random_uniform();
    return DL_OK;
}

dl_status dl_randn(int ndim, const int64_t *shape, dl_tensor **out)
{
    dl_status st = dl_empty("randn", ndim, shape, out);
    if (st != DL_OK)
        return st;
    float *p = dl_data(*out);
    for (int64_t i = 0, n = dl_numel(*out); i < n; i++)
        p[i] = dl_random_normal();
    return DL_OK;
}

dl_status dl_from_floats(int ndim, const int64_t *shape, const float *values,
                         dl_tensor **out)
{
    dl_status st = dl_empty("tensor", ndim, shape, out);
    if (st == DL_OK)
        memcpy(dl_data(*out), values, (size_t)dl_numel(*out) * sizeof(float));
    return st;
}

dl_status dl_arange(double start, double end, double step, dl_tensor **out)
{
    if (!isfinite(start) || !isfinite(end))
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #1 to 'arange' (expected finite bounds, got %g and %g)",
                       start, end);
    if (step == 0 || !isfinite(step) || (end - start) / step < 0)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to 'arange' (expected a step going from %g towards %g, got %g)",
                       start, end, step);
    double count = ceil((end - start) / step);
    if (!(count <= (double)(INT64_C(1) << 38)))
        return dl_fail(DL_ERR_MEMORY,
                       "bad argument #3 to 'arange' (a step of %g from %g to %g gives %.3g "
                       "elements, too many for one tensor)", step, start, end, count);
    int64_t n = (int64_t)count;
    int64_t shape[1] = {n};
    dl_status st = dl_empty("arange", 1, shape, out);
    if (st != DL_OK)
        return st;
    float *p = dl_data(*out);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)(start + (double)i * step);
    return DL_OK;
}

dl_status dl_linspace(double start, double end, int64_t steps, dl_tensor **out)
{
    if (steps < 0)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to 'linspace' (expected a number of steps >= 0, got %lld)",
                       (long long)steps);
    int64_t shape[1] = {steps};
    dl_status st = dl_empty("linspace", 1, shape, out);
    if (st != DL_OK)
        return st;
    float *p = dl_data(*out);
    double delta = steps > 1 ? (end - start) / (double)(steps - 1) : 0;
    for (int64_t i = 0; i < steps; i++)
        p[i] = (float)(i == steps - 1 && steps > 1 ? end : start + (double)i * delta);
    return DL_OK;
}

dl_status dl_eye(int64_t n, int64_t m, dl_tensor **out)
{
    int64_t shape[2] = {n, m};
    dl_status st = dl_full("eye", 2, shape, 0.0f, out);
    if (st != DL_OK)
        return st;
    float *p = dl_data(*out);
    for (int64_t i = 0; i < n && i < m; i++)
        p[i * m + i] = 1.0f;
    return DL_OK;
}

dl_status dl_randperm(int64_t n, dl_tensor **out)
{
    if (n < 0 || n > (INT64_C(1) << 24))
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #1 to 'randperm' (expected 0..16777216, got %lld)",
                       (long long)n);
    int64_t shape[1] = {n};
    dl_status st = dl_empty("randperm", 1, shape, out);
    if (st != DL_OK)
        return st;
    float *p = dl_data(*out);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)(i + 1);
    /* Fisher-Yates; the bound is below 2^24, so one 32-bit draw suffices
     * (the modulo bias is at most 2^-8 relative, unmeasurable here). */
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)((uint64_t)dl_random_u32() * (uint64_t)(i + 1) >> 32);
        float tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
    return DL_OK;
}

/* ---- inspection ---------------------------------------------------------- */

int64_t dl_numel(const dl_tensor *t)
{
    return dl_shape_numel(t->ndim, t->shape);
}

bool dl_is_contiguous(const dl_tensor *t)
{
    int64_t expected = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != expected)
            return false;
        expected = dl_size_mul(expected, t->shape[d]);
    }
    return true;
}

float *dl_data(const dl_tensor *t)
{
    return t->storage->data + t->offset;
}

float dl_get(const dl_tensor *t, const int64_t *index)
{
    int64_t off = t->offset;
    for (int d = 0; d < t->ndim; d++)
        off += index[d] * t->stride[d];
    return t->storage->data[off];
}

dl_status dl_item(const dl_tensor *t, float *value)
{
    if (dl_numel(t) != 1) {
        char shape[64];
        dl_shape_string(t, shape, sizeof shape);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'item' (expected a tensor with one element, got shape %s)",
                       shape);
    }
    *value = dl_data(t)[0];
    return DL_OK;
}

/* ---- copying ------------------------------------------------------------- */

void dl_copy_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    float *restrict dst = ptr[0];
    const float *restrict src = ptr[1];
    int64_t ds = stride[0], ss = stride[1];
    if (ds == 1 && ss == 1) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else {
        for (int64_t i = 0; i < n; i++)
            dst[i * ds] = src[i * ss];
    }
}

dl_status dl_clone(const dl_tensor *t, dl_tensor **out)
{
    dl_status st = dl_empty("clone", t->ndim, t->shape, out);
    if (st != DL_OK)
        return st;
    const dl_tensor *ops[2] = {*out, t};
    dl_walk w;
    dl_walk_setup(&w, t->ndim, t->shape, 2, ops);
    dl_walk_rows(&w, dl_copy_row, NULL);
    return DL_OK;
}

dl_status dl_contiguous(const dl_tensor *t, dl_tensor **out)
{
    if (dl_is_contiguous(t)) {
        dl_retain((dl_tensor *)t);
        *out = (dl_tensor *)t;
        return DL_OK;
    }
    return dl_clone(t, out);
}

/* copy: the gradient passes to the source unchanged. */
static dl_status copy_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_retain((dl_tensor *)g);
    return dl_accumulate_grad(node->inputs[0], (dl_tensor *)g);
}

/* Records *out as a copy of t named fn, when a gradient is wanted. */
static dl_status record_copy(const char *fn, const dl_tensor *t, dl_tensor **out)
{
    if (!dl_needs_grad(1, &t))
        return DL_OK;
    dl_node *node = dl_record(fn, copy_backward, *out, 1, &t);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        return DL_ERR_MEMORY;
    }
    dl_mark_rederivable(node);
    return DL_OK;
}

dl_status dl_clone_recorded(const dl_tensor *t, dl_tensor **out)
{
    dl_status st = dl_clone(t, out);
    return st == DL_OK ? record_copy("clone", t, out) : st;
}

dl_status dl_contiguous_recorded(const dl_tensor *t, dl_tensor **out)
{
    if (dl_is_contiguous(t))
        return dl_contiguous(t, out);
    dl_status st = dl_empty("contiguous", t->ndim, t->shape, out);
    if (st != DL_OK)
        return st;
    const dl_tensor *ops[2] = {*out, t};
    dl_walk w;
    dl_walk_setup(&w, t->ndim, t->shape, 2, ops);
    dl_walk_rows(&w, dl_copy_row, NULL);
    return record_copy("contiguous", t, out);
}
