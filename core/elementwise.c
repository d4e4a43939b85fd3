/*
 * elementwise.c -- arithmetic, comparisons and math functions on tensors,
 * with broadcasting; softmax and log-softmax.
 *
 * The loops themselves are in kernels/pointwise.c. Here: shape checks,
 * broadcasting (a size-1 or missing dim gets stride 0), the output tensor,
 * a fast path for the common case of same-shape contiguous operands, and
 * the backward rules (ops.def's gradient columns; a broadcast input's
 * gradient is summed back to its shape by dl_accumulate_grad).
 */
#include <math.h>
#include <string.h>

#include "autograd.h"
#include "internal.h"
#include "kernels/kernels.h"

static const char *const binary_names[DL_BINARY_COUNT] = {
#define DL_BINARY(id, name, expr, grad_a, grad_b) [DL_##id] = #name,
#include "ops.def"
};

static const char *const unary_names[DL_UNARY_COUNT] = {
#define DL_UNARY(id, name, expr, grad) [DL_##id] = #name,
#include "ops.def"
};

/* Names and defaults of the parameters of DL_UNARY_P rows; NULL names for
 * the other ops. */
static const struct {
    const char *name[2];
    float value[2];
} unary_params[DL_UNARY_COUNT] = {
#define DL_UNARY_P(id, name, p_name, p_default, q_name, q_default, expr, grad) \
    [DL_##id] = {{p_name, q_name}, {p_default, q_default}},
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

const char *dl_unary_param_name(dl_unary_op op, int i)
{
    const char *name = unary_params[op].name[i];
    return name && name[0] ? name : NULL;
}

float dl_unary_param_default(dl_unary_op op, int i)
{
    return unary_params[op].value[i];
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

static bool is_comparison(dl_binary_op op)
{
    return op >= DL_EQ && op <= DL_LE;
}

/* One operand of a gradient walk: a tensor broadcast to the output's
 * dims, or a scalar (stride 0 everywhere). */
typedef struct {
    float *base;
    int64_t stride[DL_MAX_DIM];
} operand;

static operand tensor_operand(const dl_tensor *t, int ndim)
{
    operand o = {.base = dl_data(t)};
    broadcast_strides(t, ndim, o.stride);
    return o;
}

static operand scalar_operand(const double *value_slot, float *storage)
{
    *storage = (float)*value_slot;
    return (operand){.base = storage};
}

typedef struct {
    dl_binary_grad_kernel kernel;
} grad_context;

static void binary_grad_row(int64_t n, float *const *ptr, const int64_t *stride,
                            const void *ctx)
{
    const grad_context *c = ctx;
    c->kernel(n, ptr[1], stride[1], ptr[2], stride[2], ptr[3], stride[3], ptr[4], stride[4],
              ptr[0]);
}

/* True when the operand walks the output's elements in order (stride 1
 * through a contiguous layout), step 1, or is one repeated value (a
 * scalar), step 0. */
static bool flat_step(const operand *o, const dl_tensor *out, int64_t *step)
{
    bool repeated = true, in_order = true;
    int64_t expected = 1;
    for (int d = out->ndim - 1; d >= 0; d--) {
        if (out->shape[d] == 1)
            continue;
        repeated = repeated && o->stride[d] == 0;
        in_order = in_order && o->stride[d] == expected;
        expected = dl_size_mul(expected, out->shape[d]);
    }
    *step = repeated ? 0 : 1;
    return repeated || in_order;
}

/* dL/d(operand `which`) in the output's shape, from the gradient kernels. */
static dl_status binary_operand_grad(dl_binary_op op, int which, const dl_tensor *out,
                                     const dl_tensor *g, operand a, operand b,
                                     dl_tensor **grad)
{
    dl_status st = dl_empty(binary_names[op], out->ndim, out->shape, grad);
    if (st != DL_OK)
        return st;
    dl_binary_grad_kernel kernel = dl_binary_grad_kernels[op][which];
    int64_t step_a, step_b;
    if (dl_is_contiguous(out) && dl_is_contiguous(g) && flat_step(&a, out, &step_a) &&
        flat_step(&b, out, &step_b)) {
        kernel(dl_numel(out), dl_data(g), 1, a.base, step_a, b.base, step_b, dl_data(out), 1,
               dl_data(*grad));
        return DL_OK;
    }
    dl_walk w = {.ndim = out->ndim, .nops = 5};
    memcpy(w.shape, out->shape, sizeof w.shape);
    w.base[0] = dl_data(*grad);
    w.base[1] = dl_data(g);
    w.base[2] = a.base;
    w.base[3] = b.base;
    w.base[4] = dl_data(out);
    memcpy(w.stride[0], (*grad)->stride, sizeof w.stride[0]);
    memcpy(w.stride[1], g->stride, sizeof w.stride[1]);
    memcpy(w.stride[2], a.stride, sizeof w.stride[2]);
    memcpy(w.stride[3], b.stride, sizeof w.stride[3]);
    memcpy(w.stride[4], out->stride, sizeof w.stride[4]);
    dl_walk_coalesce(&w);
    grad_context ctx = {kernel};
    dl_walk_rows(&w, binary_grad_row, &ctx);
    return DL_OK;
}

/* Hands g (or -g) to t: the gradient of add and sub needs no kernel. */
static dl_status pass_gradient(dl_tensor *t, const dl_tensor *g, bool negate)
{
    if (!t->requires_grad)
        return DL_OK;
    if (!negate) {
        dl_retain((dl_tensor *)g);
        return dl_accumulate_grad(t, (dl_tensor *)g);
    }
    dl_tensor *ng;
    dl_status st = dl_unary(DL_NEG, g, &ng);
    return st == DL_OK ? dl_accumulate_grad(t, ng) : st;
}

static dl_status binary_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_binary_op op = (dl_binary_op)node->integer[0];
    dl_tensor *a = node->inputs[0], *b = node->inputs[1];
    if (op == DL_ADD || op == DL_SUB) {
        dl_status st = pass_gradient(a, g, false);
        return st == DL_OK ? pass_gradient(b, g, op == DL_SUB) : st;
    }
    const dl_tensor *va = dl_saved(node, 0), *vb = dl_saved(node, 1);
    if (!va || !vb)
        return DL_ERR_ARGUMENT;
    operand oa = tensor_operand(va, out->ndim), ob = tensor_operand(vb, out->ndim);
    dl_tensor *inputs[2] = {a, b};
    for (int which = 0; which < 2; which++) {
        if (!inputs[which]->requires_grad)
            continue;
        dl_tensor *grad;
        dl_status st = binary_operand_grad(op, which, out, g, oa, ob, &grad);
        if (st == DL_OK)
            st = dl_accumulate_grad(inputs[which], grad);
        if (st != DL_OK)
            return st;
    }
    return DL_OK;
}

static dl_status binary_scalar_backward(dl_node *node, const dl_tensor *out,
                                        const dl_tensor *g)
{
    dl_binary_op op = (dl_binary_op)node->integer[0];
    bool scalar_first = node->integer[1];
    dl_tensor *a = node->inputs[0];
    if (op == DL_ADD || op == DL_SUB)
        return pass_gradient(a, g, op == DL_SUB && scalar_first);
    const dl_tensor *va = dl_saved(node, 0);
    if (!va)
        return DL_ERR_ARGUMENT;
    float scalar_value;
    operand ot = tensor_operand(va, out->ndim);
    operand os = scalar_operand(&node->scalar[0], &scalar_value);
    dl_tensor *grad;
    dl_status st = scalar_first ? binary_operand_grad(op, 1, out, g, os, ot, &grad)
                                : binary_operand_grad(op, 0, out, g, ot, os, &grad);
    return st == DL_OK ? dl_accumulate_grad(a, grad) : st;
}

/* Records out = a op b (b NULL: a op scalar) when a gradient is wanted. */
static dl_status record_binary(dl_binary_op op, const dl_tensor *a, const dl_tensor *b,
                               double scalar, bool scalar_first, dl_tensor **out)
{
    const dl_tensor *inputs[2] = {a, b};
    int n = b ? 2 : 1;
    if (is_comparison(op) || !dl_needs_grad(n, inputs))
        return DL_OK;
    dl_node *node = dl_record(binary_names[op], b ? binary_backward : binary_scalar_backward,
                              *out, n, inputs);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        return DL_ERR_MEMORY;
    }
    node->integer[0] = op;
    node->integer[1] = scalar_first;
    node->scalar[0] = scalar;
    if (op != DL_ADD && op != DL_SUB)
        for (int i = 0; i < n; i++)
            dl_save(node, inputs[i]);
    return DL_OK;
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
        return record_binary(op, a, b, 0, false, out);
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
    return record_binary(op, a, b, 0, false, out);
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
    } else {
        const dl_tensor *ops[2] = {*out, a};
        dl_walk w;
        dl_walk_setup(&w, a->ndim, a->shape, 2, ops);
        dl_walk_rows(&w, binary_scalar_row, &ctx);
    }
    return record_binary(op, a, NULL, s, scalar_first, out);
}

typedef struct {
    dl_unary_kernel kernel;
    float lo, hi;          /* clamp's bounds, or a DL_UNARY_P row's p and q */
} unary_context;

static void unary_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    const unary_context *c = ctx;
    c->kernel(n, ptr[1], stride[1], c->lo, c->hi, ptr[0]);
}

static void clamp_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    const unary_context *c = ctx;
    kernel_clamp(n, ptr[1], stride[1], c->lo, c->hi, ptr[0]);
}

/* Writes NaN: clamp with a NaN bound (PyTorch propagates it). */
static void nan_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    for (int64_t i = 0; i < n; i++)
        ptr[0][i * stride[0]] = NAN;
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

typedef struct {
    dl_unary_grad_kernel kernel;
    float lo, hi;
} unary_grad_context;

static void unary_grad_row(int64_t n, float *const *ptr, const int64_t *stride,
                           const void *ctx)
{
    const unary_grad_context *c = ctx;
    c->kernel(n, ptr[1], stride[1], ptr[2], stride[2], ptr[3], stride[3], c->lo, c->hi, ptr[0]);
}

static void clamp_grad_row(int64_t n, float *const *ptr, const int64_t *stride,
                           const void *ctx)
{
    const unary_grad_context *c = ctx;
    kernel_clamp_backward(n, ptr[1], stride[1], ptr[2], stride[2], c->lo, c->hi, ptr[0]);
}

/* Shared rule of unary maps: walks (grad, g, x, y) with the given row. */
static dl_status unary_like_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g,
                                     dl_row_fn row, const unary_grad_context *ctx)
{
    const dl_tensor *x = dl_saved(node, 0);
    if (!x)
        return DL_ERR_ARGUMENT;
    dl_tensor *grad;
    dl_status st = dl_empty(node->name, out->ndim, out->shape, &grad);
    if (st != DL_OK)
        return st;
    const dl_tensor *ops[4] = {grad, g, x, out};
    dl_walk w;
    dl_walk_setup(&w, out->ndim, out->shape, 4, ops);
    dl_walk_rows(&w, row, ctx);
    return dl_accumulate_grad(node->inputs[0], grad);
}

static dl_status unary_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    unary_grad_context ctx = {.kernel = dl_unary_grad_kernels[node->integer[0]],
                              .lo = (float)node->scalar[0], .hi = (float)node->scalar[1]};
    return unary_like_backward(node, out, g, unary_grad_row, &ctx);
}

static dl_status clamp_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    unary_grad_context ctx = {.lo = (float)node->scalar[0], .hi = (float)node->scalar[1]};
    return unary_like_backward(node, out, g, clamp_grad_row, &ctx);
}

/* Records a unary map of a (its input saved for the rule). */
static dl_node *record_unary(const char *name, dl_backward_fn rule, const dl_tensor *a,
                             dl_tensor **out, dl_status *st)
{
    *st = DL_OK;
    if (!dl_needs_grad(1, &a))
        return NULL;
    dl_node *node = dl_record(name, rule, *out, 1, &a);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        *st = DL_ERR_MEMORY;
        return NULL;
    }
    dl_save(node, a);
    return node;
}

static bool has_gradient(dl_unary_op op)
{
    return op != DL_FLOOR && op != DL_CEIL && op != DL_ROUND && op != DL_SIGN;
}

dl_status dl_unary(dl_unary_op op, const dl_tensor *a, dl_tensor **out)
{
    return dl_unary_with(op, a, unary_params[op].value[0], unary_params[op].value[1], out);
}

dl_status dl_unary_with(dl_unary_op op, const dl_tensor *a, float p, float q, dl_tensor **out)
{
    if (op == DL_HARDTANH && !(p <= q))
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to 'hardtanh' (expected min_val <= max_val, got "
                       "min_val %g and max_val %g)", p, q);
    unary_context ctx = {.kernel = dl_unary_kernels[op], .lo = p, .hi = q};
    dl_status st = map_unary(unary_names[op], a, unary_row, &ctx, out);
    if (st != DL_OK || !has_gradient(op))
        return st;
    dl_node *node = record_unary(unary_names[op], unary_backward, a, out, &st);
    if (node) {
        node->integer[0] = op;
        node->scalar[0] = p;
        node->scalar[1] = q;
    }
    return st;
}

dl_status dl_clamp(const dl_tensor *a, float lo, float hi, dl_tensor **out)
{
    if (lo > hi)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to 'clamp' (expected max >= min %g, got %g)", lo, hi);
    unary_context ctx = {.lo = lo, .hi = hi};
    bool nan_bound = isnan(lo) || isnan(hi);     /* every result NaN, no gradient */
    dl_status st = map_unary("clamp", a, nan_bound ? nan_row : clamp_row, &ctx, out);
    if (st != DL_OK)
        return st;
    dl_node *node = record_unary("clamp", clamp_backward, a, out, &st);
    if (node) {
        node->scalar[0] = lo;
        node->scalar[1] = hi;
    }
    return st;
}

/* Runs out = a op b and releases a (a chain step of a composite rule). */
static dl_status then(dl_binary_op op, dl_tensor **a, const dl_tensor *b)
{
    dl_tensor *r;
    dl_status st = dl_binary(op, *a, b, &r);
    dl_release(*a);
    *a = st == DL_OK ? r : NULL;
    return st;
}

/* softmax: dL/dx = y * (g - sum(g * y));  log_softmax: g - exp(y) * sum(g),
 * sums along the softmax dim. */
static dl_status softmax_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    int dim = (int)node->integer[0];
    bool log_space = node->integer[1];
    dl_tensor *t = NULL, *sum = NULL;
    dl_status st;
    if (log_space) {
        if ((st = dl_reduce(DL_SUM, g, dim, true, 0, &sum)) == DL_OK &&
            (st = dl_unary(DL_EXP, out, &t)) == DL_OK && (st = then(DL_MUL, &t, sum)) == DL_OK) {
            dl_tensor *grad;
            if ((st = dl_binary(DL_SUB, g, t, &grad)) == DL_OK)
                st = dl_accumulate_grad(node->inputs[0], grad);
        }
    } else {
        if ((st = dl_binary(DL_MUL, g, out, &t)) == DL_OK &&
            (st = dl_reduce(DL_SUM, t, dim, true, 0, &sum)) == DL_OK) {
            dl_tensor *grad;
            if ((st = dl_binary(DL_SUB, g, sum, &grad)) == DL_OK && (st = then(DL_MUL, &grad, out)) == DL_OK)
                st = dl_accumulate_grad(node->inputs[0], grad);
        }
    }
    dl_release(t);
    dl_release(sum);
    return st;
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
        outer = dl_size_mul(outer, a->shape[d]);
    for (int d = dim + 1; d < a->ndim; d++)
        inner = dl_size_mul(inner, a->shape[d]);
    if (dl_numel(a) == 0)
        outer = 0;                  /* nothing to do; its sizes may not multiply */
    if (log_space)
        kernel_log_softmax(outer, n, inner, dl_data(x), dl_data(*out));
    else
        kernel_softmax(outer, n, inner, dl_data(x), dl_data(*out));
    dl_release(x);
    if (!dl_needs_grad(1, &a))
        return DL_OK;
    dl_node *node = dl_record(fn, softmax_backward, *out, 1, &a);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        return DL_ERR_MEMORY;
    }
    node->integer[0] = a->ndim ? dim : -1;
    node->integer[1] = log_space;
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
