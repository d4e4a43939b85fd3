/*
 * elementwise.c -- arithmetic, comparisons and math functions on tensors,
 * with broadcasting; softmax and log-softmax.
 *
 * The loops themselves are in kernels/pointwise.c. Here: shape checks,
 * broadcasting (a size-1 or missing dim gets stride 0), the output tensor,
 * and a fast path for the common case of same-shape contiguous operands.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "kernels/kernels.h"

static const char *const binary_names[DL_BINARY_COUNT] = {
#define DL_BINARY(id, name, expr) [DL_##id] = #name,
#include "ops.def"
};

static const char *const unary_names[DL_UNARY_COUNT] = {
#define DL_UNARY(id, name, expr) [DL_##id] = #name,
#include "ops.def"
};

const char *dl_binary_name(dl_binary_op op)
{
    return binary_names[op];
}

const char *dl_unary_name(dl_unary_op op)
{
    return unary_names[op];
}

dl_status dl_broadcast_shape(const char *fn, const dl_tensor *a, const dl_tensor *b,
                             int *ndim, int64_t *shape)
{
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int d = 0; d < n; d++) {
        int da = d - (n - a->ndim), db = d - (n - b->ndim);
        int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            char as[64], bs[64];
            dl_shape_string(a, as, sizeof as);
            dl_shape_string(b, bs, sizeof bs);
            return dl_fail(DL_ERR_SHAPE,
                           "bad argument #2 to '%s' (expected a shape that broadcasts with %s, got %s)",
                           fn, as, bs);
        }
        shape[d] = sa == 1 ? sb : sa;
    }
    *ndim = n;
    return DL_OK;
}

/* Strides of t seen as a tensor of `ndim` dims of `shape` (right-aligned). */
static void broadcast_strides(const dl_tensor *t, int ndim, int64_t *stride)
{
    for (int d = 0; d < ndim; d++) {
        int dt = d - (ndim - t->ndim);
        stride[d] = dt >= 0 && t->shape[dt] != 1 ? t->stride[dt] : 0;
    }
}

/* Runs `kernel` over n contiguous elements, in parallel chunks when large. */
static void run_binary_flat(dl_binary_kernel kernel, int64_t n, const float *a,
                            int64_t sa, const float *b, int64_t sb, float *out)
{
    if (n < DL_PARALLEL_THRESHOLD) {
        kernel(n, a, sa, b, sb, out);
        return;
    }
    const int64_t chunk = 16384;
    int64_t chunks = (n + chunk - 1) / chunk;
    #pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t from = c * chunk, len = from + chunk < n ? chunk : n - from;
        kernel(len, a + from * sa, sa, b + from * sb, sb, out + from);
    }
}

typedef struct {
    dl_binary_kernel kernel;
    float scalar;
    bool scalar_first;
} binary_context;

static void binary_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    const binary_context *c = ctx;
    c->kernel(n, ptr[1], stride[1], ptr[2], stride[2], ptr[0]);
}

static void binary_scalar_row(int64_t n, float *const *ptr, const int64_t *stride,
                              const void *ctx)
{
    const binary_context *c = ctx;
    if (c->scalar_first)
        c->kernel(n, &c->scalar, 0, ptr[1], stride[1], ptr[0]);
    else
        c->kernel(n, ptr[1], stride[1], &c->scalar, 0, ptr[0]);
}

static bool same_shape(const dl_tensor *a, const dl_tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return false;
    return true;
}

dl_status dl_binary(dl_binary_op op, const dl_tensor *a, const dl_tensor *b,
                    dl_tensor **out)
{
    const char *fn = binary_names[op];
    binary_context ctx = {.kernel = dl_binary_kernels[op]};
    dl_status st;
    if (same_shape(a, b) && dl_is_contiguous(a) && dl_is_contiguous(b)) {
        if ((st = dl_empty(fn, a->ndim, a->shape, out)) != DL_OK)
            return st;
        run_binary_flat(ctx.kernel, dl_numel(a), dl_data(a), 1, dl_data(b), 1, dl_data(*out));
        return DL_OK;
    }
    int ndim;
    int64_t shape[DL_MAX_DIM];
    if ((st = dl_broadcast_shape(fn, a, b, &ndim, shape)) != DL_OK)
        return st;
    if ((st = dl_empty(fn, ndim, shape, out)) != DL_OK)
        return st;
    dl_walk w = {.ndim = ndim, .nops = 3};
    memcpy(w.shape, shape, sizeof shape);
    w.base[0] = dl_data(*out);
    w.base[1] = dl_data(a);
    w.base[2] = dl_data(b);
    memcpy(w.stride[0], (*out)->stride, sizeof w.stride[0]);
    broadcast_strides(a, ndim, w.stride[1]);
    broadcast_strides(b, ndim, w.stride[2]);
    dl_walk_coalesce(&w);
    dl_walk_rows(&w, binary_row, &ctx);
    return DL_OK;
}

dl_status dl_binary_scalar(dl_binary_op op, const dl_tensor *a, float s,
                           bool scalar_first, dl_tensor **out)
{
    binary_context ctx = {.kernel = dl_binary_kernels[op], .scalar = s,
                          .scalar_first = scalar_first};
    dl_status st = dl_empty(binary_names[op], a->ndim, a->shape, out);
    if (st != DL_OK)
        return st;
    if (dl_is_contiguous(a)) {
        int64_t n = dl_numel(a);
        if (scalar_first)
            run_binary_flat(ctx.kernel, n, &ctx.scalar, 0, dl_data(a), 1, dl_data(*out));
        else
            run_binary_flat(ctx.kernel, n, dl_data(a), 1, &ctx.scalar, 0, dl_data(*out));
        return DL_OK;
    }
    const dl_tensor *ops[2] = {*out, a};
    dl_walk w;
    dl_walk_setup(&w, a->ndim, a->shape, 2, ops);
    dl_walk_rows(&w, binary_scalar_row, &ctx);
    return DL_OK;
}

typedef struct {
    dl_unary_kernel kernel;
    float lo, hi;
} unary_context;

static void unary_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    const unary_context *c = ctx;
    c->kernel(n, ptr[1], stride[1], ptr[0]);
}

static void clamp_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    const unary_context *c = ctx;
    kernel_clamp(n, ptr[1], stride[1], c->lo, c->hi, ptr[0]);
}

/* out = row_fn applied to a, for unary maps; out has a's shape. */
static dl_status map_unary(const char *fn, const dl_tensor *a, dl_row_fn row,
                           const unary_context *ctx, dl_tensor **out)
{
    dl_status st = dl_empty(fn, a->ndim, a->shape, out);
    if (st != DL_OK)
        return st;
    const dl_tensor *ops[2] = {*out, a};
    dl_walk w;
    dl_walk_setup(&w, a->ndim, a->shape, 2, ops);
    dl_walk_rows(&w, row, ctx);
    return DL_OK;
}

dl_status dl_unary(dl_unary_op op, const dl_tensor *a, dl_tensor **out)
{
    unary_context ctx = {.kernel = dl_unary_kernels[op]};
    return map_unary(unary_names[op], a, unary_row, &ctx, out);
}

dl_status dl_clamp(const dl_tensor *a, float lo, float hi, dl_tensor **out)
{
    if (lo > hi)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to 'clamp' (expected max >= min %g, got %g)", lo, hi);
    unary_context ctx = {.lo = lo, .hi = hi};
    return map_unary("clamp", a, clamp_row, &ctx, out);
}

/* Shared body of softmax and log_softmax: (outer, n, inner) around dim. */
static dl_status softmax_like(const char *fn, const dl_tensor *a, int dim, bool log_space,
                              dl_tensor **out)
{
    if (a->ndim == 0)
        dim = 0;
    else if (dl_check_dim(fn, 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    dl_tensor *x;
    dl_status st = dl_contiguous(a, &x);
    if (st != DL_OK)
        return st;
    if ((st = dl_empty(fn, a->ndim, a->shape, out)) != DL_OK) {
        dl_release(x);
        return st;
    }
    int64_t outer = 1, inner = 1, n = a->ndim ? a->shape[dim] : 1;
    for (int d = 0; d < dim; d++)
        outer *= a->shape[d];
    for (int d = dim + 1; d < a->ndim; d++)
        inner *= a->shape[d];
    if (log_space)
        kernel_log_softmax(outer, n, inner, dl_data(x), dl_data(*out));
    else
        kernel_softmax(outer, n, inner, dl_data(x), dl_data(*out));
    dl_release(x);
    return DL_OK;
}

dl_status dl_softmax(const dl_tensor *a, int dim, dl_tensor **out)
{
    return softmax_like("softmax", a, dim, false, out);
}

dl_status dl_log_softmax(const dl_tensor *a, int dim, dl_tensor **out)
{
    return softmax_like("log_softmax", a, dim, true, out);
}
