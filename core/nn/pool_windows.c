/*
 * pool_windows.c -- pooling whose windows are listed per axis: max and
 * average pooling with ceil_mode and count_include_pad, and the adaptive
 * pools. (Plain max/avg pooling keeps its fast loops in pool.c.)
 *
 * Along each axis, output o pools input rows [start[o], end[o]) and an
 * average divides by div[o]; a 2-D window is the product of an H and a
 * W window, so the divisor is divh[oh] * divw[ow] (PyTorch counts the
 * padding the same way). Max pooling keeps, per output, the flat position
 * in its plane of the winner (the first one, or the first NaN).
 *   pooling:  s = o*stride - pad, e = min(s + k, n + pad), div = e - s
 *             (count_include_pad) or the clipped size; then s, e clipped
 *             to 0..n. ceil_mode rounds the output count up but drops a
 *             last window that would start in the right padding.
 *   adaptive: s = floor(o*n/out), e = ceil((o+1)*n/out), div = e - s.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../autograd.h"
#include "../internal.h"

typedef struct {
    int64_t n, out;
    int64_t *start, *end, *div;
} axis_windows;

/* Node slots: 0 adaptive, 1 average, 2..3 kernel, 4..5 stride, 6..7
 * padding; scalar 0 ceil_mode, 1 count_include_pad. */
typedef struct {
    bool adaptive, average;
    dl_pool2d_options o;
} pool_kind;

static int64_t pooled_size(int64_t n, int k, int s, int p, bool ceil_mode)
{
    int64_t span = n + 2 * p - k;
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= n + p)
        out--;
    return out;
}

/* Fills the windows of one axis; false when out of memory. */
static bool make_windows(axis_windows *a, const pool_kind *kind, int axis)
{
    a->start = malloc((size_t)(a->out > 0 ? a->out : 1) * 3 * sizeof(int64_t));
    if (!a->start)
        return false;
    a->end = a->start + a->out;
    a->div = a->end + a->out;
    int k = kind->o.kernel[axis], s = kind->o.stride[axis], p = kind->o.padding[axis];
    for (int64_t o = 0; o < a->out; o++) {
        int64_t lo, hi, div;
        if (kind->adaptive) {
            lo = o * a->n / a->out;
            hi = ((o + 1) * a->n + a->out - 1) / a->out;
            div = hi - lo;
        } else {
            lo = o * s - p;
            hi = lo + k < a->n + p ? lo + k : a->n + p;
            div = hi - lo;
            lo = lo < 0 ? 0 : lo;
            hi = hi > a->n ? a->n : hi;
            if (!kind->o.count_include_pad)
                div = hi - lo;
        }
        a->start[o] = lo;
        a->end[o] = hi;
        a->div[o] = div;
    }
    return true;
}

static void pool_forward(const float *x, int64_t planes, const axis_windows *wh,
                         const axis_windows *ww, bool average, float *y, float *where)
{
    int64_t h = wh->n, w = ww->n, ho = wh->out, wo = ww->out;
    #pragma omp parallel for schedule(static) if (planes * ho * wo > 65536)
    for (int64_t p = 0; p < planes; p++) {
        const float *plane = x + p * h * w;
        for (int64_t oh = 0; oh < ho; oh++)
            for (int64_t ow = 0; ow < wo; ow++) {
                int64_t at = (p * ho + oh) * wo + ow;
                if (average) {
                    double s = 0;
                    for (int64_t i = wh->start[oh]; i < wh->end[oh]; i++)
                        for (int64_t j = ww->start[ow]; j < ww->end[ow]; j++)
                            s += plane[i * w + j];
                    y[at] = (float)(s / (double)(wh->div[oh] * ww->div[ow]));
                    continue;
                }
                float best = -INFINITY;
                int64_t pos = wh->start[oh] * w + ww->start[ow];
                for (int64_t i = wh->start[oh]; i < wh->end[oh]; i++)
                    for (int64_t j = ww->start[ow]; j < ww->end[ow]; j++) {
                        float v = plane[i * w + j];
                        if (v > best || (v != v && best == best)) {
                            best = v;
                            pos = i * w + j;
                        }
                    }
                y[at] = best;
                where[at] = (float)pos;
            }
    }
}

static void free_windows(axis_windows *wh, axis_windows *ww)
{
    free(wh->start);
    free(ww->start);
}

static void load_kind(const dl_node *node, pool_kind *kind)
{
    const int64_t *v = node->integer;
    *kind = (pool_kind){v[0] != 0, v[1] != 0,
                        {{(int)v[2], (int)v[3]}, {(int)v[4], (int)v[5]}, {(int)v[6], (int)v[7]},
                         node->scalar[0] != 0, node->scalar[1] != 0}};
}

static void store_kind(dl_node *node, const pool_kind *kind)
{
    int64_t v[8] = {kind->adaptive, kind->average, kind->o.kernel[0], kind->o.kernel[1],
                    kind->o.stride[0], kind->o.stride[1], kind->o.padding[0], kind->o.padding[1]};
    for (int i = 0; i < 8; i++)
        node->integer[i] = v[i];
    node->scalar[0] = kind->o.ceil_mode;
    node->scalar[1] = kind->o.count_include_pad;
}

/* saved: the winners' positions (max pooling). */
static dl_status windows_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    pool_kind kind;
    load_kind(node, &kind);
    dl_tensor *x = node->inputs[0], *dx, *gc;
    const dl_tensor *where = kind.average ? NULL : dl_saved(node, 0);
    if (!kind.average && !where)
        return DL_ERR_ARGUMENT;
    axis_windows wh = {x->shape[2], out->shape[2], NULL, NULL, NULL};
    axis_windows ww = {x->shape[3], out->shape[3], NULL, NULL, NULL};
    if (!make_windows(&wh, &kind, 0) || !make_windows(&ww, &kind, 1)) {
        free_windows(&wh, &ww);
        return dl_fail(DL_ERR_MEMORY, "out of memory in pooling");
    }
    dl_status st = dl_full(node->name, 4, x->shape, 0.0f, &dx);
    if (st == DL_OK && (st = dl_contiguous(g, &gc)) != DL_OK)
        dl_release(dx);
    if (st != DL_OK) {
        free_windows(&wh, &ww);
        return st;
    }
    int64_t planes = dl_size_mul(x->shape[0], x->shape[1]), h = wh.n, w = ww.n, ho = wh.out, wo = ww.out;
    const float *gv = dl_data(gc), *pos = where ? dl_data(where) : NULL;
    float *d = dl_data(dx);
    #pragma omp parallel for schedule(static) if (planes * ho * wo > 65536)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oh = 0; oh < ho; oh++)
            for (int64_t ow = 0; ow < wo; ow++) {
                int64_t at = (p * ho + oh) * wo + ow;
                if (pos) {
                    d[p * h * w + (int64_t)pos[at]] += gv[at];
                    continue;
                }
                float share = gv[at] / (float)(wh.div[oh] * ww.div[ow]);
                for (int64_t i = wh.start[oh]; i < wh.end[oh]; i++)
                    for (int64_t j = ww.start[ow]; j < ww.end[ow]; j++)
                        d[p * h * w + i * w + j] += share;
            }
    free_windows(&wh, &ww);
    dl_release(gc);
    return dl_accumulate_grad(x, dx);
}

static dl_status pool_by_windows(const char *fn, const dl_tensor *x, const pool_kind *kind,
                                 int64_t ho, int64_t wo, dl_tensor **out)
{
    axis_windows wh = {x->shape[2], ho, NULL, NULL, NULL};
    axis_windows ww = {x->shape[3], wo, NULL, NULL, NULL};
    if (!make_windows(&wh, kind, 0) || !make_windows(&ww, kind, 1)) {
        free_windows(&wh, &ww);
        return dl_fail(DL_ERR_MEMORY, "out of memory in '%s'", fn);
    }
    int64_t shape[4] = {x->shape[0], x->shape[1], ho, wo};
    dl_tensor *xc = NULL, *y = NULL, *where = NULL;
    dl_status st;
    if ((st = dl_contiguous(x, &xc)) == DL_OK && (st = dl_empty(fn, 4, shape, &y)) == DL_OK &&
        (kind->average || (st = dl_empty(fn, 4, shape, &where)) == DL_OK))
        pool_forward(dl_data(xc), dl_size_mul(shape[0], shape[1]), &wh, &ww, kind->average, dl_data(y),
                     where ? dl_data(where) : NULL);
    free_windows(&wh, &ww);
    dl_release(xc);
    if (st == DL_OK && dl_needs_grad(1, &x)) {
        dl_node *node = dl_record(fn, windows_backward, y, 1, &x);
        if (node) {
            store_kind(node, kind);
            if (where)
                dl_save(node, where);
        } else {
            st = DL_ERR_MEMORY;
        }
    }
    dl_release(where);
    if (st != DL_OK) {
        dl_release(y);
        return st;
    }
    *out = y;
    return DL_OK;
}

static dl_status check_images(const char *fn, const dl_tensor *x)
{
    if (x->ndim == 4 && dl_size_mul(x->shape[2], x->shape[3]) < (1 << 24))
        return DL_OK;
    char xs[64];
    dl_shape_string(x, xs, sizeof xs);
    return dl_fail(DL_ERR_SHAPE,
                   "bad argument #1 to '%s' (expected images of shape (N, C, H, W) with H*W < 2^24, "
                   "got %s)",
                   fn, xs);
}

static dl_status windowed(const char *fn, bool average, const dl_tensor *x,
                          const dl_pool2d_options *o, dl_tensor **out)
{
    dl_status st = check_images(fn, x);
    if (st != DL_OK)
        return st;
    for (int a = 0; a < 2; a++) {
        if (o->kernel[a] < 1 || o->stride[a] < 1 || o->padding[a] < 0 || 2 * o->padding[a] > o->kernel[a])
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument to '%s' (expected kernel >= 1, stride >= 1 and padding in "
                           "0..kernel/2, got kernel %d, stride %d, padding %d)",
                           fn, o->kernel[a], o->stride[a], o->padding[a]);
        if (x->shape[2 + a] + 2 * o->padding[a] < o->kernel[a])
            return dl_fail(DL_ERR_SHAPE,
                           "bad argument #1 to '%s' (a kernel of %d does not fit dim %d of size "
                           "%lld with padding %d)",
                           fn, o->kernel[a], 3 + a, (long long)x->shape[2 + a], o->padding[a]);
    }
    if (!o->ceil_mode && o->count_include_pad)
        return average ? dl_avg_pool2d(x, o->kernel, o->stride, o->padding, out)
                       : dl_max_pool2d(x, o->kernel, o->stride, o->padding, out);
    pool_kind kind = {false, average, *o};
    return pool_by_windows(fn, x, &kind,
                           pooled_size(x->shape[2], o->kernel[0], o->stride[0], o->padding[0], o->ceil_mode),
                           pooled_size(x->shape[3], o->kernel[1], o->stride[1], o->padding[1], o->ceil_mode),
                           out);
}

dl_status dl_max_pool2d_with(const dl_tensor *x, const dl_pool2d_options *o, dl_tensor **out)
{
    return windowed("max_pool2d", false, x, o, out);
}

dl_status dl_avg_pool2d_with(const dl_tensor *x, const dl_pool2d_options *o, dl_tensor **out)
{
    return windowed("avg_pool2d", true, x, o, out);
}

static dl_status adaptive(const char *fn, bool average, const dl_tensor *x, const int64_t size[2],
                          dl_tensor **out)
{
    dl_status st = check_images(fn, x);
    if (st != DL_OK)
        return st;
    if (size[0] < 1 || size[1] < 1)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to '%s' (expected an output size >= 1, got %lld, %lld)", fn,
                       (long long)size[0], (long long)size[1]);
    if (x->shape[2] < 1 || x->shape[3] < 1)
        return dl_fail(DL_ERR_SHAPE, "bad argument #1 to '%s' (expected non-empty images)", fn);
    pool_kind kind = {true, average, {{0, 0}, {1, 1}, {0, 0}, false, true}};
    return pool_by_windows(fn, x, &kind, size[0], size[1], out);
}

dl_status dl_adaptive_avg_pool2d(const dl_tensor *x, const int64_t size[2], dl_tensor **out)
{
    return adaptive("adaptive_avg_pool2d", true, x, size, out);
}

dl_status dl_adaptive_max_pool2d(const dl_tensor *x, const int64_t size[2], dl_tensor **out)
{
    return adaptive("adaptive_max_pool2d", false, x, size, out);
}
