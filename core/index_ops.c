/*
 * index_ops.c -- gather, scatter, scatter_add, where and masked_fill.
 *
 * gather and scatter address `a` through an index tensor of 1-based
 * positions along one dim, with PyTorch's rules: for every position m of
 * the index, gather reads a at m with m[dim] replaced by index[m], and
 * scatter writes src[m] there. Each one's gradient is the other: gather's
 * is a scatter-add of g into zeros, scatter's (for src) a gather of g.
 */
#include <math.h>
#include <string.h>

#include "autograd.h"
#include "index_ops.h"
#include "internal.h"
#include "multi_index.h"

/* A contiguous copy of index (or index itself) after checking that every
 * value is a whole number in 1..size. */
static dl_status checked_positions(const char *fn, int argn, const dl_tensor *index, int dim,
                                   int64_t size, dl_tensor **out)
{
    dl_tensor *c;
    dl_status st = dl_contiguous(index, &c);
    if (st != DL_OK)
        return st;
    const float *p = dl_data(c);
    for (int64_t i = 0, n = dl_numel(c); i < n; i++) {
        if (!(p[i] >= 1 && p[i] <= (float)size && p[i] == floorf(p[i]))) {
            dl_release(c);
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #%d to '%s' (expected indices in 1..%lld along dim %d, "
                           "got %g at entry %lld)", argn, fn, (long long)size, dim + 1,
                           (double)p[i], (long long)i + 1);
        }
    }
    *out = c;
    return DL_OK;
}

/* Checks that index has a's number of dims and is no larger than `other`
 * in every dim (`skip`: except that one, or -1 for none). */
static dl_status check_index_shape(const char *fn, int argn, const dl_tensor *index,
                                   const dl_tensor *other, int skip, const char *what)
{
    char is[64], os[64];
    dl_shape_string(index, is, sizeof is);
    dl_shape_string(other, os, sizeof os);
    if (index->ndim != other->ndim)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #%d to '%s' (expected an index with %d dims as %s %s has, "
                       "got shape %s)", argn, fn, other->ndim, what, os, is);
    for (int d = 0; d < index->ndim; d++)
        if (d != skip && index->shape[d] > other->shape[d])
            return dl_fail(DL_ERR_SHAPE,
                           "bad argument #%d to '%s' (expected an index no larger than %s %s%s, "
                           "got shape %s)", argn, fn, what, os,
                           skip >= 0 ? " outside the indexed dim" : "", is);
    return DL_OK;
}

/* ---- gather ---- */

/* dL/da: g added into zeros at the gathered places. */
static dl_status gather_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *index = dl_saved(node, 0);
    if (!index)
        return DL_ERR_ARGUMENT;
    dl_tensor *a = node->inputs[0], *grad;
    int dim = (int)node->integer[0];
    dl_status st = dl_full(node->name, a->ndim, a->shape, 0.0f, &grad);
    if (st != DL_OK)
        return st;
    float *gx = dl_data(grad);
    const float *gv = dl_data(g), *p = dl_data(index);
    int64_t m[DL_MAX_DIM] = {0}, n = dl_numel(index);
    for (int64_t i = 0; i < n; i++, dl_next_index(index->ndim, index->shape, m)) {
        int64_t from = dl_offset_of(g->ndim, m, g->stride), at = m[dim];
        m[dim] = (int64_t)p[i] - 1;
        gx[dl_offset_of(a->ndim, m, grad->stride)] += gv[from];
        m[dim] = at;
    }
    return dl_accumulate_grad(a, grad);
}

dl_status dl_gather_as(const char *fn, const dl_tensor *a, int dim, const dl_tensor *index,
                       dl_tensor **out)
{
    if (dl_check_dim(fn, 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    dl_tensor *positions;
    dl_status st = check_index_shape(fn, 3, index, a, dim, "the input");
    if (st != DL_OK || (st = checked_positions(fn, 3, index, dim, a->shape[dim], &positions)) != DL_OK)
        return st;
    if ((st = dl_empty(fn, index->ndim, index->shape, out)) != DL_OK) {
        dl_release(positions);
        return st;
    }
    const float *src = dl_data(a), *p = dl_data(positions);
    float *y = dl_data(*out);
    int64_t m[DL_MAX_DIM] = {0}, n = dl_numel(index);
    for (int64_t i = 0; i < n; i++, dl_next_index(index->ndim, index->shape, m)) {
        int64_t at = m[dim];
        m[dim] = (int64_t)p[i] - 1;
        y[i] = src[dl_offset_of(a->ndim, m, a->stride)];
        m[dim] = at;
    }
    if (dl_needs_grad(1, &a)) {
        dl_node *node = dl_record(fn, gather_backward, *out, 1, &a);
        if (!node) {
            dl_release(positions);
            dl_release(*out);
            return DL_ERR_MEMORY;
        }
        node->integer[0] = dim;
        dl_save(node, positions);
    }
    dl_release(positions);
    return DL_OK;
}

dl_status dl_gather(const dl_tensor *a, int dim, const dl_tensor *index, dl_tensor **out)
{
    return dl_gather_as("gather", a, dim, index, out);
}

/* ---- scatter, scatter_add ---- */

/* dL/da: g, less the overwritten places for scatter; dL/dsrc: g gathered
 * at the places each src element went to. */
static dl_status scatter_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *index = dl_saved(node, 0);
    if (!index)
        return DL_ERR_ARGUMENT;
    dl_tensor *a = node->inputs[0], *src = node->ninputs > 1 ? node->inputs[1] : NULL;
    int dim = (int)node->integer[0];
    bool add = node->integer[1];
    dl_tensor *ga = NULL, *gs = NULL;
    dl_status st = DL_OK;
    if (a->requires_grad && add) {
        dl_retain((dl_tensor *)g);
        ga = (dl_tensor *)g;
    } else if (a->requires_grad) {
        st = dl_clone(g, &ga);
    }
    if (st == DL_OK && src && src->requires_grad)
        st = dl_full(node->name, src->ndim, src->shape, 0.0f, &gs);
    if (st != DL_OK) {
        dl_release(ga);
        return st;
    }
    const float *p = dl_data(index), *gv = dl_data(g);
    int64_t m[DL_MAX_DIM] = {0}, n = dl_numel(index);
    for (int64_t i = 0; i < n; i++, dl_next_index(index->ndim, index->shape, m)) {
        int64_t from = gs ? dl_offset_of(gs->ndim, m, gs->stride) : 0, at = m[dim];
        m[dim] = (int64_t)p[i] - 1;
        if (gs)
            dl_data(gs)[from] = gv[dl_offset_of(g->ndim, m, g->stride)];
        if (ga && !add)
            dl_data(ga)[dl_offset_of(ga->ndim, m, ga->stride)] = 0.0f;
        m[dim] = at;
    }
    st = ga ? dl_accumulate_grad(a, ga) : DL_OK;
    if (st == DL_OK && gs)
        return dl_accumulate_grad(src, gs);
    dl_release(gs);
    return st;
}

dl_status dl_scatter(const dl_tensor *a, int dim, const dl_tensor *index, const dl_tensor *src,
                     float value, bool add, dl_tensor **out)
{
    const char *fn = add ? "scatter_add" : "scatter";
    if (dl_check_dim(fn, 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    dl_status st = check_index_shape(fn, 3, index, a, dim, "the input");
    if (st == DL_OK && src)
        st = check_index_shape(fn, 3, index, src, -1, "the source");
    dl_tensor *positions;
    if (st != DL_OK || (st = checked_positions(fn, 3, index, dim, a->shape[dim], &positions)) != DL_OK)
        return st;
    if ((st = dl_clone(a, out)) != DL_OK) {
        dl_release(positions);
        return st;
    }
    const float *p = dl_data(positions);
    float *y = dl_data(*out);
    int64_t m[DL_MAX_DIM] = {0}, n = dl_numel(index);
    for (int64_t i = 0; i < n; i++, dl_next_index(index->ndim, index->shape, m)) {
        float v = src ? dl_data(src)[dl_offset_of(src->ndim, m, src->stride)] : value;
        int64_t at = m[dim];
        m[dim] = (int64_t)p[i] - 1;
        float *place = y + dl_offset_of(a->ndim, m, (*out)->stride);
        *place = add ? *place + v : v;
        m[dim] = at;
    }
    const dl_tensor *inputs[2] = {a, src};
    int ninputs = src ? 2 : 1;
    if (dl_needs_grad(ninputs, inputs)) {
        dl_node *node = dl_record(fn, scatter_backward, *out, ninputs, inputs);
        if (!node) {
            dl_release(positions);
            dl_release(*out);
            return DL_ERR_MEMORY;
        }
        node->integer[0] = dim;
        node->integer[1] = add;
        dl_save(node, positions);
    }
    dl_release(positions);
    return DL_OK;
}

/* ---- where, masked_fill ---- */

/* Strides of t seen with `ndim` dims of `shape` (right-aligned, 0 where
 * a dim is stretched). */
static void stretched_strides(const dl_tensor *t, int ndim, int64_t *stride)
{
    for (int d = 0; d < ndim; d++) {
        int dt = d - (ndim - t->ndim);
        stride[d] = dt >= 0 && t->shape[dt] != 1 ? t->stride[dt] : 0;
    }
}

/* The shape cond, a and b broadcast to; errors name the argument that
 * does not fit. */
static dl_status broadcast3(const char *fn, const dl_tensor *const *ts, int *ndim,
                            int64_t *shape)
{
    int n = 0;
    for (int k = 0; k < 3; k++)
        n = ts[k]->ndim > n ? ts[k]->ndim : n;
    for (int d = 0; d < n; d++)
        shape[d] = 1;
    for (int k = 0; k < 3; k++) {
        for (int d = 0; d < ts[k]->ndim; d++) {
            int64_t s = ts[k]->shape[d], *into = &shape[d + n - ts[k]->ndim];
            if (s != *into && s != 1 && *into != 1) {
                char s1[64], s2[64], s3[64];
                dl_shape_string(ts[0], s1, sizeof s1);
                dl_shape_string(ts[1], s2, sizeof s2);
                dl_shape_string(ts[2], s3, sizeof s3);
                return dl_fail(DL_ERR_SHAPE,
                               "bad argument #%d to '%s' (expected shapes that broadcast "
                               "together, got %s, %s and %s)", k + 1, fn, s1, s2, s3);
            }
            if (s != 1)
                *into = s;
        }
    }
    *ndim = n;
    return DL_OK;
}

static void where_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    for (int64_t i = 0; i < n; i++)
        ptr[0][i * stride[0]] = ptr[1][i * stride[1]] != 0.0f ? ptr[2][i * stride[2]]
                                                              : ptr[3][i * stride[3]];
}

static dl_status where_as(const char *fn, const dl_tensor *cond, const dl_tensor *a,
                          const dl_tensor *b, dl_tensor **out);

/* dL/da = g where cond, dL/db = g elsewhere (summed back to their shapes). */
static dl_status where_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *cond = dl_saved(node, 0);
    if (!cond)
        return DL_ERR_ARGUMENT;
    dl_tensor *zero;
    dl_status st = dl_full(node->name, 0, NULL, 0.0f, &zero);
    for (int k = 0; k < 2 && st == DL_OK; k++) {
        if (!node->inputs[k]->requires_grad)
            continue;
        dl_tensor *grad;
        st = k == 0 ? where_as(node->name, cond, g, zero, &grad)
                    : where_as(node->name, cond, zero, g, &grad);
        if (st == DL_OK)
            st = dl_accumulate_grad(node->inputs[k], grad);
    }
    dl_release(zero);
    return st;
}

static dl_status where_as(const char *fn, const dl_tensor *cond, const dl_tensor *a,
                          const dl_tensor *b, dl_tensor **out)
{
    const dl_tensor *ts[3] = {cond, a, b};
    int ndim = 0;
    int64_t shape[DL_MAX_DIM];
    dl_status st = broadcast3(fn, ts, &ndim, shape);
    if (st != DL_OK || (st = dl_empty(fn, ndim, shape, out)) != DL_OK)
        return st;
    dl_walk w = {.ndim = ndim, .nops = 4};
    memcpy(w.shape, shape, sizeof shape);
    w.base[0] = dl_data(*out);
    memcpy(w.stride[0], (*out)->stride, sizeof w.stride[0]);
    for (int k = 0; k < 3; k++) {
        w.base[k + 1] = dl_data(ts[k]);
        stretched_strides(ts[k], ndim, w.stride[k + 1]);
    }
    dl_walk_coalesce(&w);
    dl_walk_rows(&w, where_row, NULL);
    const dl_tensor *inputs[2] = {a, b};
    if (!dl_needs_grad(2, inputs))
        return DL_OK;
    dl_node *node = dl_record(fn, where_backward, *out, 2, inputs);
    if (!node) {
        dl_release(*out);
        return DL_ERR_MEMORY;
    }
    dl_save(node, cond);
    return DL_OK;
}

dl_status dl_where(const dl_tensor *cond, const dl_tensor *a, const dl_tensor *b,
                   dl_tensor **out)
{
    return where_as("where", cond, a, b, out);
}

dl_status dl_masked_fill(const dl_tensor *a, const dl_tensor *mask, float value,
                         dl_tensor **out)
{
    int ndim = 0;
    int64_t shape[DL_MAX_DIM];
    dl_status st = dl_broadcast_shape("masked_fill", a, mask, &ndim, shape);
    bool fits = st == DL_OK && ndim == a->ndim;
    for (int d = 0; fits && d < ndim; d++)
        fits = shape[d] == a->shape[d];
    if (!fits) {
        char as[64], ms[64];
        dl_shape_string(a, as, sizeof as);
        dl_shape_string(mask, ms, sizeof ms);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to 'masked_fill' (expected a mask that broadcasts to %s, "
                       "got %s)", as, ms);
    }
    dl_tensor *fill;
    if ((st = dl_full("masked_fill", 0, NULL, value, &fill)) != DL_OK)
        return st;
    st = where_as("masked_fill", mask, fill, a, out);
    dl_release(fill);
    return st;
}
