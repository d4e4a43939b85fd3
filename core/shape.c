/*
 * shape.c -- reshaping, views, joining and picking.
 *
 * Views only rewrite shape, strides and offset over the same storage;
 * cat, stack and index_select copy.
 */
#include <math.h>
#include <string.h>

#include "autograd.h"
#include "internal.h"

/* ---- backward rules ---- */

/* reshape, view, flatten, squeeze, unsqueeze: g back in the input's shape. */
static dl_status reshape_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_tensor *in = node->inputs[0], *grad;
    dl_status st = dl_reshape(node->name, g, in->ndim, in->shape, &grad);
    return st == DL_OK ? dl_accumulate_grad(in, grad) : st;
}

static dl_status transpose_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_tensor *grad;
    dl_status st = dl_transpose(g, (int)node->integer[0], (int)node->integer[1], &grad);
    return st == DL_OK ? dl_accumulate_grad(node->inputs[0], grad) : st;
}

static dl_status permute_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    int inverse[DL_MAX_DIM];
    for (int d = 0; d < out->ndim; d++)
        inverse[node->integer[d]] = d;
    dl_tensor *grad;
    dl_status st = dl_permute(g, inverse, &grad);
    return st == DL_OK ? dl_accumulate_grad(node->inputs[0], grad) : st;
}

/* expand: the accumulation sums the stretched dims back. */
static dl_status expand_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_retain((dl_tensor *)g);
    return dl_accumulate_grad(node->inputs[0], (dl_tensor *)g);
}

/* The view of `t` that node's narrow or select picked. */
static dl_status picked_place(dl_node *node, dl_tensor *t, dl_tensor **place)
{
    int dim = (int)node->integer[0];
    return node->integer[2] < 0 ? dl_select(t, dim, node->integer[1], place)
                                : dl_narrow(t, dim, node->integer[1], node->integer[2], place);
}

/* narrow and select: g written into a zero gradient at the picked place.
 * When the input already holds a gradient (another slice of it was picked
 * before: a sequence read step by step), g is added into that slice alone,
 * so T slices cost T slice-sized adds, not T full-sized ones. */
static dl_status pick_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_tensor *in = node->inputs[0], *grad, *place;
    if (in->requires_grad && !in->graph_freed && in->grad) {
        dl_tensor *sum;
        dl_status st = picked_place(node, in->grad, &place);
        if (st != DL_OK)
            return st;
        st = dl_binary(DL_ADD, place, g, &sum);
        if (st == DL_OK) {
            st = dl_copy_(place, sum);
            dl_release(sum);
        }
        dl_release(place);
        return st;
    }
    dl_status st = dl_full(node->name, in->ndim, in->shape, 0.0f, &grad);
    if (st != DL_OK)
        return st;
    st = picked_place(node, grad, &place);
    if (st == DL_OK) {
        st = dl_copy_(place, g);
        dl_release(place);
    }
    if (st != DL_OK) {
        dl_release(grad);
        return st;
    }
    return dl_accumulate_grad(in, grad);
}

/* cat and stack: each input gets its slice of g. */
static dl_status join_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    int dim = (int)node->integer[0];
    bool is_stack = node->integer[1];
    int64_t start = 0;
    for (int i = 0; i < node->ninputs; i++) {
        dl_tensor *in = node->inputs[i], *part;
        int64_t length = is_stack ? 1 : in->shape[dim];
        dl_status st = is_stack ? dl_select(g, dim, i, &part)
                                : dl_narrow(g, dim, start, length, &part);
        if (st == DL_OK)
            st = dl_accumulate_grad(in, part);
        if (st != DL_OK)
            return st;
        start += length;
    }
    return DL_OK;
}

/* Records cat or stack over the n inputs. */
static dl_status record_join(const char *name, int n, const dl_tensor *const *ts, int dim,
                             bool is_stack, dl_tensor **out)
{
    if (!dl_needs_grad(n, ts))
        return DL_OK;
    dl_node *node = dl_record(name, join_backward, *out, n, ts);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        return DL_ERR_MEMORY;
    }
    node->integer[0] = dim;
    node->integer[1] = is_stack;
    dl_mark_rederivable(node);
    return DL_OK;
}

/* Records a shape operation with up to DL_MAX_DIM integer parameters. */
static dl_status record_shape_op(const char *name, dl_backward_fn rule, const dl_tensor *a,
                                 dl_tensor **out, int nparams, const int64_t *params)
{
    if (!dl_needs_grad(1, &a))
        return DL_OK;
    dl_node *node = dl_record(name, rule, *out, 1, &a);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        return DL_ERR_MEMORY;
    }
    for (int i = 0; i < nparams; i++)
        node->integer[i] = params[i];
    dl_mark_rederivable(node);
    return DL_OK;
}

/* A new view of a's storage with the given geometry. */
static dl_status make_view(const dl_tensor *a, int ndim, const int64_t *shape,
                           const int64_t *stride, int64_t offset, dl_tensor **out)
{
    dl_tensor *t = dl_tensor_view_of(a->storage, ndim, shape, stride, offset);
    if (!t)
        return DL_ERR_MEMORY;
    *out = t;
    return DL_OK;
}

/* Offset of entry `index` of dim in a. An empty tensor's views are empty
 * and address nothing (and its strides may be huge): they keep a's. */
static int64_t view_offset(const dl_tensor *a, int dim, int64_t index)
{
    return dl_numel(a) == 0 ? a->offset : a->offset + index * a->stride[dim];
}

/* Resolves one -1 in shape against numel; checks the product. */
static dl_status resolve_shape(const char *fn, const dl_tensor *a, int ndim,
                               const int64_t *in, int64_t *shape)
{
    char given[96];
    dl_format_shape(ndim, in, given, sizeof given);
    if (ndim > DL_MAX_DIM)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to '%s' (expected at most %d sizes, got %d)",
                       fn, DL_MAX_DIM, ndim);
    int inferred = -1;
    int64_t known = 1;
    bool has_zero = false;        /* then the product is 0, however large the rest */
    for (int d = 0; d < ndim; d++)
        has_zero = has_zero || in[d] == 0;
    for (int d = 0; d < ndim; d++) {
        shape[d] = in[d];
        if (in[d] == -1 && inferred < 0) {
            inferred = d;
        } else if (in[d] < 0) {
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #2 to '%s' (expected sizes >= 0 and at most one -1, got %s)",
                           fn, given);
        } else if (has_zero) {
            known = 0;
        } else if (__builtin_mul_overflow(known, in[d], &known) || known > (INT64_C(1) << 40)) {
            return dl_fail(DL_ERR_SHAPE,
                           "bad argument #2 to '%s' (expected sizes whose product is %lld, got %s)",
                           fn, (long long)dl_numel(a), given);
        }
    }
    int64_t numel = dl_numel(a);
    if (inferred >= 0) {
        if (known == 0 || numel % known != 0)
            return dl_fail(DL_ERR_SHAPE,
                           "bad argument #2 to '%s' (cannot infer the -1 in %s for %lld elements)",
                           fn, given, (long long)numel);
        shape[inferred] = numel / known;
    } else if (known != numel) {
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to '%s' (expected sizes whose product is %lld, got %s)",
                       fn, (long long)numel, given);
    }
    return DL_OK;
}

/* Strides that let a's elements be viewed in `shape` without copying
 * (PyTorch's computeStride); false when the layout does not allow it. */
static bool view_strides(const dl_tensor *a, int ndim, const int64_t *shape,
                         int64_t *stride)
{
    if (a->ndim == 0 || dl_numel(a) == 0 || dl_is_contiguous(a)) {
        dl_contiguous_strides(ndim, shape, stride);
        return true;
    }
    int view_d = ndim - 1;
    int64_t chunk_base_stride = a->stride[a->ndim - 1];
    int64_t tensor_numel = 1, view_numel = 1;
    for (int d = a->ndim - 1; d >= 0; d--) {
        tensor_numel *= a->shape[d];
        bool chunk_ends = d == 0 || (a->shape[d - 1] != 1 &&
                                     a->stride[d - 1] != tensor_numel * chunk_base_stride);
        if (!chunk_ends)
            continue;
        while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
            stride[view_d] = view_numel * chunk_base_stride;
            view_numel *= shape[view_d];
            view_d--;
        }
        if (view_numel != tensor_numel)
            return false;
        if (d > 0) {
            chunk_base_stride = a->stride[d - 1];
            tensor_numel = 1;
            view_numel = 1;
        }
    }
    return view_d == -1;
}

dl_status dl_reshape(const char *fn, const dl_tensor *a, int ndim, const int64_t *in,
                     dl_tensor **out)
{
    int64_t shape[DL_MAX_DIM], stride[DL_MAX_DIM];
    dl_status st = resolve_shape(fn, a, ndim, in, shape);
    if (st != DL_OK)
        return st;
    if (view_strides(a, ndim, shape, stride)) {
        st = make_view(a, ndim, shape, stride, a->offset, out);
    } else {
        dl_tensor *copy;
        if ((st = dl_clone(a, &copy)) != DL_OK)
            return st;
        dl_contiguous_strides(ndim, shape, stride);
        st = make_view(copy, ndim, shape, stride, 0, out);
        dl_release(copy);
    }
    return st == DL_OK ? record_shape_op(fn, reshape_backward, a, out, 0, NULL) : st;
}

dl_status dl_view(const dl_tensor *a, int ndim, const int64_t *in, dl_tensor **out)
{
    int64_t shape[DL_MAX_DIM], stride[DL_MAX_DIM];
    dl_status st = resolve_shape("view", a, ndim, in, shape);
    if (st != DL_OK)
        return st;
    if (!view_strides(a, ndim, shape, stride))
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'view' (this tensor's strides do not allow "
                       "that shape without a copy; use reshape)");
    st = make_view(a, ndim, shape, stride, a->offset, out);
    return st == DL_OK ? record_shape_op("view", reshape_backward, a, out, 0, NULL) : st;
}

dl_status dl_transpose(const dl_tensor *a, int d1, int d2, dl_tensor **out)
{
    if (dl_check_dim("transpose", 2, d1, a->ndim, false) != DL_OK ||
        dl_check_dim("transpose", 3, d2, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    int64_t shape[DL_MAX_DIM], stride[DL_MAX_DIM];
    memcpy(shape, a->shape, sizeof shape);
    memcpy(stride, a->stride, sizeof stride);
    shape[d1] = a->shape[d2];
    shape[d2] = a->shape[d1];
    stride[d1] = a->stride[d2];
    stride[d2] = a->stride[d1];
    dl_status st = make_view(a, a->ndim, shape, stride, a->offset, out);
    return st == DL_OK ? record_shape_op("transpose", transpose_backward, a, out, 2,
                                         (const int64_t[]){d1, d2})
                       : st;
}

dl_status dl_permute(const dl_tensor *a, const int *perm, dl_tensor **out)
{
    int64_t shape[DL_MAX_DIM], stride[DL_MAX_DIM];
    bool seen[DL_MAX_DIM] = {false};
    for (int d = 0; d < a->ndim; d++) {
        if (dl_check_dim("permute", 2, perm[d], a->ndim, false) != DL_OK)
            return DL_ERR_ARGUMENT;
        if (seen[perm[d]])
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #2 to 'permute' (expected each dim once, got %d twice)",
                           perm[d] + 1);
        seen[perm[d]] = true;
        shape[d] = a->shape[perm[d]];
        stride[d] = a->stride[perm[d]];
    }
    dl_status st = make_view(a, a->ndim, shape, stride, a->offset, out);
    int64_t params[DL_MAX_DIM];
    for (int d = 0; d < a->ndim; d++)
        params[d] = perm[d];
    return st == DL_OK ? record_shape_op("permute", permute_backward, a, out, a->ndim, params)
                       : st;
}

dl_status dl_flatten(const dl_tensor *a, int start, int end, dl_tensor **out)
{
    if (a->ndim == 0)
        return dl_reshape("flatten", a, 1, (int64_t[]){1}, out);
    if (dl_check_dim("flatten", 2, start, a->ndim, false) != DL_OK ||
        dl_check_dim("flatten", 3, end, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    if (start > end)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to 'flatten' (expected an end dim >= start dim %d, got %d)",
                       start + 1, end + 1);
    int64_t shape[DL_MAX_DIM];
    int ndim = 0;
    for (int d = 0; d < a->ndim; d++) {
        if (d <= start || d > end) {
            shape[ndim++] = a->shape[d];
        } else if (__builtin_mul_overflow(shape[ndim - 1], a->shape[d], &shape[ndim - 1])) {
            char as[96];
            dl_shape_string(a, as, sizeof as);
            return dl_fail(DL_ERR_SHAPE,
                           "bad argument #1 to 'flatten' (dims %d..%d of shape %s merge into a "
                           "size beyond 2^63)", start + 1, end + 1, as);
        }
    }
    return dl_reshape("flatten", a, ndim, shape, out);
}

dl_status dl_unsqueeze(const dl_tensor *a, int dim, dl_tensor **out)
{
    if (dl_check_dim("unsqueeze", 2, dim, a->ndim, true) != DL_OK)
        return DL_ERR_ARGUMENT;
    if (a->ndim == DL_MAX_DIM)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'unsqueeze' (expected at most %d dims, as tensors "
                       "have at most %d, got %d)", DL_MAX_DIM - 1, DL_MAX_DIM, a->ndim);
    int64_t shape[DL_MAX_DIM], stride[DL_MAX_DIM];
    for (int d = 0, s = 0; d <= a->ndim; d++) {
        if (d == dim) {
            shape[d] = 1;
            stride[d] = s < a->ndim ? dl_size_mul(a->stride[s], a->shape[s]) : 1;
        } else {
            shape[d] = a->shape[s];
            stride[d] = a->stride[s];
            s++;
        }
    }
    dl_status st = make_view(a, a->ndim + 1, shape, stride, a->offset, out);
    return st == DL_OK ? record_shape_op("unsqueeze", reshape_backward, a, out, 0, NULL) : st;
}

dl_status dl_squeeze(const dl_tensor *a, int dim, dl_tensor **out)
{
    if (dim >= 0 && a->ndim > 0 && dl_check_dim("squeeze", 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    int64_t shape[DL_MAX_DIM], stride[DL_MAX_DIM];
    int ndim = 0;
    for (int d = 0; d < a->ndim; d++) {
        bool drop = a->shape[d] == 1 && (dim < 0 || d == dim);
        if (!drop) {
            shape[ndim] = a->shape[d];
            stride[ndim++] = a->stride[d];
        }
    }
    dl_status st = make_view(a, ndim, shape, stride, a->offset, out);
    return st == DL_OK ? record_shape_op("squeeze", reshape_backward, a, out, 0, NULL) : st;
}

dl_status dl_narrow(const dl_tensor *a, int dim, int64_t start, int64_t length,
                    dl_tensor **out)
{
    if (dl_check_dim("narrow", 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    int64_t size = a->shape[dim];
    if (start < 0 || start > size)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to 'narrow' (expected a start in 1..%lld, got %lld)",
                       (long long)size, (long long)start + 1);
    if (length < 0 || start + length > size)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #4 to 'narrow' (expected a length in 0..%lld, got %lld)",
                       (long long)(size - start), (long long)length);
    int64_t shape[DL_MAX_DIM];
    memcpy(shape, a->shape, sizeof shape);
    shape[dim] = length;
    dl_status st = make_view(a, a->ndim, shape, a->stride, view_offset(a, dim, start), out);
    return st == DL_OK ? record_shape_op("narrow", pick_backward, a, out, 3,
                                         (const int64_t[]){dim, start, length})
                       : st;
}

dl_status dl_select(const dl_tensor *a, int dim, int64_t index, dl_tensor **out)
{
    if (dl_check_dim("select", 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    if (index < 0 || index >= a->shape[dim])
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to 'select' (expected an index in 1..%lld, got %lld)",
                       (long long)a->shape[dim], (long long)index + 1);
    int64_t shape[DL_MAX_DIM], stride[DL_MAX_DIM];
    int ndim = 0;
    for (int d = 0; d < a->ndim; d++) {
        if (d == dim)
            continue;
        shape[ndim] = a->shape[d];
        stride[ndim++] = a->stride[d];
    }
    dl_status st = make_view(a, ndim, shape, stride, view_offset(a, dim, index), out);
    return st == DL_OK ? record_shape_op("select", pick_backward, a, out, 3,
                                         (const int64_t[]){dim, index, -1})
                       : st;
}

dl_status dl_expand(const dl_tensor *a, int ndim, const int64_t *shape, dl_tensor **out)
{
    char from[64], to[64];
    int64_t stride[DL_MAX_DIM];
    bool ok = ndim >= a->ndim && ndim <= DL_MAX_DIM;
    double numel = 1;
    for (int d = 0; ok && d < ndim; d++)
        numel *= (double)shape[d];
    ok = ok && numel <= (double)(INT64_C(1) << 40);
    for (int d = 0; ok && d < ndim; d++) {
        int da = d - (ndim - a->ndim);
        if (da < 0 || (a->shape[da] == 1 && shape[d] != 1))
            stride[d] = 0;
        else if (a->shape[da] == shape[d])
            stride[d] = a->stride[da];
        else
            ok = false;
        if (shape[d] < 0)
            ok = false;
    }
    if (!ok) {
        dl_shape_string(a, from, sizeof from);
        dl_format_shape(ndim, shape, to, sizeof to);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to 'expand' (cannot expand shape %s to %s)", from, to);
    }
    dl_status st = make_view(a, ndim, shape, stride, a->offset, out);
    return st == DL_OK ? record_shape_op("expand", expand_backward, a, out, 0, NULL) : st;
}

/* Checks that ts[0..n) share a shape except along `skip` (-1: everywhere). */
static dl_status check_same_shapes(const char *fn, int n, const dl_tensor *const *ts, int skip)
{
    if (n < 1)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #1 to '%s' (expected a list of at least one tensor, got none)", fn);
    const dl_tensor *first = ts[0];
    for (int i = 1; i < n; i++) {
        bool same = ts[i]->ndim == first->ndim;
        for (int d = 0; same && d < first->ndim; d++)
            same = d == skip || ts[i]->shape[d] == first->shape[d];
        if (!same) {
            char fs[64], is[64];
            dl_shape_string(first, fs, sizeof fs);
            dl_shape_string(ts[i], is, sizeof is);
            return dl_fail(DL_ERR_SHAPE,
                           "bad argument #1 to '%s' (tensor %d has shape %s, expected one "
                           "matching tensor 1's %s%s)",
                           fn, i + 1, is, fs, skip >= 0 ? " except along the joined dim" : "");
        }
    }
    return DL_OK;
}

dl_status dl_cat(int n, const dl_tensor *const *ts, int dim, dl_tensor **out)
{
    dl_status st = check_same_shapes("cat", n, ts, dim);
    if (st != DL_OK)
        return st;
    if (dl_check_dim("cat", 2, dim, ts[0]->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    int64_t shape[DL_MAX_DIM];
    memcpy(shape, ts[0]->shape, sizeof shape);
    shape[dim] = 0;
    for (int i = 0; i < n; i++)
        if (__builtin_add_overflow(shape[dim], ts[i]->shape[dim], &shape[dim]))
            return dl_fail(DL_ERR_SHAPE,
                           "bad argument #1 to 'cat' (the joined dim %d would have a size "
                           "beyond 2^63)", dim + 1);
    if ((st = dl_empty("cat", ts[0]->ndim, shape, out)) != DL_OK)
        return st;
    int64_t start = 0;
    for (int i = 0; i < n && st == DL_OK; i++) {
        dl_tensor *part;
        if ((st = dl_narrow(*out, dim, start, ts[i]->shape[dim], &part)) != DL_OK)
            break;
        st = dl_copy_(part, ts[i]);
        dl_release(part);
        start += ts[i]->shape[dim];
    }
    if (st != DL_OK) {
        dl_release(*out);
        *out = NULL;
        return st;
    }
    return record_join("cat", n, ts, dim, false, out);
}

dl_status dl_stack(int n, const dl_tensor *const *ts, int dim, dl_tensor **out)
{
    dl_status st = check_same_shapes("stack", n, ts, -1);
    if (st != DL_OK)
        return st;
    if (dl_check_dim("stack", 2, dim, ts[0]->ndim, true) != DL_OK)
        return DL_ERR_ARGUMENT;
    if (ts[0]->ndim == DL_MAX_DIM)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'stack' (expected tensors of at most %d dims, as "
                       "tensors have at most %d, got %d)", DL_MAX_DIM - 1, DL_MAX_DIM, ts[0]->ndim);
    int64_t shape[DL_MAX_DIM];
    for (int d = 0, s = 0; d <= ts[0]->ndim; d++)
        shape[d] = d == dim ? n : ts[0]->shape[s++];
    if ((st = dl_empty("stack", ts[0]->ndim + 1, shape, out)) != DL_OK)
        return st;
    for (int i = 0; i < n && st == DL_OK; i++) {
        dl_tensor *slot;
        if ((st = dl_select(*out, dim, i, &slot)) != DL_OK)
            break;
        st = dl_copy_(slot, ts[i]);
        dl_release(slot);
    }
    if (st != DL_OK) {
        dl_release(*out);
        *out = NULL;
        return st;
    }
    return record_join("stack", n, ts, dim, true, out);
}

/* The gather of index_select: row positions[i] (1-based) of each of the
 * `outer` blocks of src (outer, size, inner) goes to row i of dst (outer,
 * count, inner). Rows are copied in parallel once there is enough to copy:
 * a batch of dataset rows is many cache misses apart. */
static void gather_rows(const float *src, float *dst, const float *positions, int64_t istride,
                        int64_t outer, int64_t count, int64_t size, int64_t inner)
{
    #pragma omp parallel for schedule(static) if (outer * count * inner >= DL_PARALLEL_THRESHOLD)
    for (int64_t r = 0; r < outer * count; r++) {
        int64_t o = r / count, i = r % count;
        int64_t p = (int64_t)positions[i * istride] - 1;
        memcpy(dst + r * inner, src + (o * size + p) * inner, (size_t)inner * sizeof(float));
    }
}

/* Its backward: row i of src (outer, count, inner) is added to row
 * positions[i] of dst (outer, size, inner). Serial: positions may repeat. */
static void scatter_add_rows(const float *src, float *dst, const float *positions,
                             int64_t istride, int64_t outer, int64_t count, int64_t size,
                             int64_t inner)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < count; i++) {
            float *to = dst + (o * size + (int64_t)positions[i * istride] - 1) * inner;
            const float *from = src + (o * count + i) * inner;
            for (int64_t j = 0; j < inner; j++)
                to[j] += from[j];
        }
}

/* Sizes around dim: outer (before) and inner (after). */
static void split_at(const dl_tensor *t, int dim, int64_t *outer, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < dim; d++)
        *outer = dl_size_mul(*outer, t->shape[d]);
    for (int d = dim + 1; d < t->ndim; d++)
        *inner = dl_size_mul(*inner, t->shape[d]);
}

static dl_status index_select_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_tensor *in = node->inputs[0], *grad, *gc;
    const dl_tensor *index = dl_saved(node, 0);
    if (!index)
        return DL_ERR_ARGUMENT;
    int dim = (int)node->integer[0];
    dl_status st = dl_full("index_select", in->ndim, in->shape, 0.0f, &grad);
    if (st != DL_OK)
        return st;
    if ((st = dl_contiguous(g, &gc)) != DL_OK) {
        dl_release(grad);
        return st;
    }
    int64_t outer, inner;
    split_at(in, dim, &outer, &inner);
    if (dl_numel(gc) == 0)
        outer = 0;                  /* nothing to add; its sizes may not multiply */
    scatter_add_rows(dl_data(gc), dl_data(grad), dl_data(index),
                     index->ndim ? index->stride[0] : 0, outer, dl_numel(index), in->shape[dim],
                     inner);
    dl_release(gc);
    return dl_accumulate_grad(in, grad);
}

dl_status dl_index_select(const dl_tensor *a, int dim, const dl_tensor *index,
                          dl_tensor **out)
{
    if (dl_check_dim("index_select", 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    if (index->ndim > 1) {
        char is[64];
        dl_shape_string(index, is, sizeof is);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #3 to 'index_select' (expected a 1-D tensor of positions, got shape %s)",
                       is);
    }
    int64_t count = dl_numel(index), size = a->shape[dim];
    int64_t istride = index->ndim ? index->stride[0] : 0;
    const float *positions = dl_data(index);
    for (int64_t i = 0; i < count; i++) {
        float p = positions[i * istride];
        if (!(p >= 1 && p <= (float)size && p == floorf(p)))
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #3 to 'index_select' (expected positions in 1..%lld, "
                           "got %g at entry %lld)",
                           (long long)size, (double)p, (long long)i + 1);
    }
    dl_tensor *x;
    dl_status st = dl_contiguous(a, &x);
    if (st != DL_OK)
        return st;
    int64_t shape[DL_MAX_DIM];
    memcpy(shape, a->shape, sizeof shape);
    shape[dim] = count;
    if ((st = dl_empty("index_select", a->ndim, shape, out)) == DL_OK && dl_numel(*out) > 0) {
        int64_t outer, inner;
        split_at(a, dim, &outer, &inner);
        gather_rows(dl_data(x), dl_data(*out), positions, istride, outer, count, size, inner);
    }
    dl_release(x);
    if (st != DL_OK || !dl_needs_grad(1, &a))
        return st;
    dl_node *node = dl_record("index_select", index_select_backward, *out, 1, &a);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        return DL_ERR_MEMORY;
    }
    node->integer[0] = dim;
    dl_save(node, index);
    return DL_OK;
}
