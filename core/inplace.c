/*
 * inplace.c -- every change of an existing tensor's elements.
 *
 * A tensor's storage carries a version; a backward rule that saved a tensor
 * remembers the version and refuses to run when it moved. So each write
 * checks first that the tensor may change (not a tensor that requires grad
 * while grad mode is on, not an expanded view whose elements share memory)
 * and bumps the version after. fill_, copy_, t[i] = v and the initialisers
 * all write through dl_write_rows or, for draws that must come in row-major
 * order, through the same check and bump.
 */
#include "internal.h"

/* Error when t takes part in the graph being recorded. */
static dl_status check_graph(const char *fn, const dl_tensor *t)
{
    if (dl_grad_enabled() && t->requires_grad)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #1 to '%s' (cannot change a tensor that requires grad "
                       "in place; use dl.no_grad)", fn);
    return DL_OK;
}

dl_status dl_check_inplace(const char *fn, const dl_tensor *t)
{
    dl_status st = check_graph(fn, t);
    if (st != DL_OK)
        return st;
    for (int d = 0; d < t->ndim; d++)
        if (t->stride[d] == 0 && t->shape[d] > 1)
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #1 to '%s' (cannot write into an expanded tensor: "
                           "dim %d repeats one element %lld times; clone it first)",
                           fn, d + 1, (long long)t->shape[d]);
    return DL_OK;
}

void dl_bump_version(dl_tensor *t)
{
    t->storage->version++;
}

dl_status dl_write_rows(const char *fn, dl_tensor *t, const dl_tensor *src, dl_row_fn row,
                        const void *ctx)
{
    dl_status st = dl_check_inplace(fn, t);
    if (st != DL_OK)
        return st;
    const dl_tensor *ops[2] = {t, src};
    dl_walk w;
    dl_walk_setup(&w, t->ndim, t->shape, src ? 2 : 1, ops);
    dl_walk_rows(&w, row, ctx);
    dl_bump_version(t);
    return DL_OK;
}

/* copy_ into dst under the name fn. */
static dl_status copy_named(const char *fn, dl_tensor *dst, const dl_tensor *src)
{
    /* A source sharing storage with the destination is copied out first,
     * so that overlapping elements are read before they are written. */
    dl_tensor *source = (dl_tensor *)src, *expanded;
    dl_status st = DL_OK;
    if (src->storage == dst->storage && (st = dl_clone(src, &source)) != DL_OK)
        return st;
    bool recording = dl_set_grad_enabled(false);
    st = dl_expand(source, dst->ndim, dst->shape, &expanded);
    dl_set_grad_enabled(recording);
    if (st != DL_OK) {
        char ds[64], ss[64];
        dl_shape_string(dst, ds, sizeof ds);
        dl_shape_string(src, ss, sizeof ss);
        st = dl_fail(DL_ERR_SHAPE,
                     "bad argument #2 to '%s' (expected a shape that broadcasts to %s, got %s)",
                     fn, ds, ss);
    } else {
        st = dl_write_rows(fn, dst, expanded, dl_copy_row, NULL);
        dl_release(expanded);
    }
    if (source != src)
        dl_release(source);
    return st;
}

dl_status dl_copy_(dl_tensor *dst, const dl_tensor *src)
{
    return copy_named("copy_", dst, src);
}

static void fill_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    float value = *(const float *)ctx;
    float *restrict dst = ptr[0];
    int64_t ds = stride[0];
    for (int64_t i = 0; i < n; i++)
        dst[i * ds] = value;
}

dl_status dl_fill_(dl_tensor *t, float value)
{
    return dl_write_rows("fill_", t, NULL, fill_row, &value);
}

dl_status dl_set_row_(dl_tensor *t, int64_t index, const dl_tensor *src, float value)
{
    const char *fn = "__newindex";
    dl_status st = check_graph(fn, t);   /* the row is checked as it is written */
    if (st != DL_OK)
        return st;
    if (t->ndim == 0)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to '%s' (expected no index (the tensor is 0-d), got %lld)",
                       fn, (long long)index + 1);
    if (index < 0 || index >= t->shape[0])
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to '%s' (expected an index in 1..%lld, got %lld)",
                       fn, (long long)t->shape[0], (long long)index + 1);
    /* The row is a view: writing into it writes into t (and bumps the
     * version t shares with it). */
    dl_tensor *row;
    bool recording = dl_set_grad_enabled(false);
    st = dl_select(t, 0, index, &row);
    dl_set_grad_enabled(recording);
    if (st != DL_OK)
        return st;
    if (src) {
        st = copy_named(fn, row, src);
        if (st == DL_ERR_SHAPE) {
            char rs[64], ss[64];
            dl_shape_string(row, rs, sizeof rs);
            dl_shape_string(src, ss, sizeof ss);
            st = dl_fail(DL_ERR_SHAPE,
                         "bad argument #3 to '%s' (expected a shape that broadcasts to the "
                         "row's %s, got %s)", fn, rs, ss);
        }
    } else {
        st = dl_write_rows(fn, row, NULL, fill_row, &value);
    }
    dl_release(row);
    return st;
}

/* Calls draw() for every element of t in row-major order (serially, so
 * that the sequence of random draws is the same on every run). */
static dl_status fill_in_order(const char *fn, dl_tensor *t,
                               float (*draw)(const float *params), const float *params)
{
    dl_status st = dl_check_inplace(fn, t);
    if (st != DL_OK)
        return st;
    int64_t index[DL_MAX_DIM] = {0}, n = dl_numel(t);
    float *data = t->storage->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t off = t->offset;
        for (int d = 0; d < t->ndim; d++)
            off += index[d] * t->stride[d];
        data[off] = draw(params);
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (++index[d] < t->shape[d])
                break;
            index[d] = 0;
        }
    }
    dl_bump_version(t);
    return DL_OK;
}

static float draw_uniform(const float *p)
{
    return p[0] + (p[1] - p[0]) * dl_random_uniform();
}

static float draw_normal(const float *p)
{
    return p[0] + p[1] * dl_random_normal();
}

dl_status dl_uniform_(dl_tensor *t, float lo, float hi)
{
    return fill_in_order("uniform_", t, draw_uniform, (const float[]){lo, hi});
}

dl_status dl_normal_(dl_tensor *t, float mean, float std)
{
    return fill_in_order("normal_", t, draw_normal, (const float[]){mean, std});
}
