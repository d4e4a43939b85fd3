/*
 * reduce_more.c -- logsumexp, amax/amin, all/any and norm, along one dim
 * or over every element, with their gradients.
 *
 * Each works on contiguous data seen as (outer, n, inner) around the
 * reduced dim (outer = inner = 1 over every element) and accumulates in
 * double. The backward rules are loops of the same shape: the gradient of
 * output (o, j) goes to the n inputs (o, 0..n-1, j).
 */
#include <math.h>
#include <string.h>

#include "autograd.h"
#include "internal.h"
#include "reduce_more.h"

typedef enum { PICK_SHARED, LOGSUMEXP, NORM } rule_kind;

/* Where a reduction's outputs come from. */
typedef struct {
    int64_t outer, n, inner;
    int ndim;                       /* the result's dims and shape */
    int64_t shape[DL_MAX_DIM];
} reduction_geometry;

/* Geometry of reducing a along dim (every element when dim < 0); error
 * when the dim is out of range. */
static dl_status geometry_of(const char *fn, const dl_tensor *a, int dim, bool keepdim,
                             reduction_geometry *r)
{
    memset(r, 0, sizeof *r);
    r->outer = r->inner = 1;
    if (dim < 0 || a->ndim == 0) {
        r->n = dl_numel(a);
        if (keepdim)
            for (r->ndim = 0; r->ndim < a->ndim; r->ndim++)
                r->shape[r->ndim] = 1;
        return DL_OK;
    }
    if (dl_check_dim(fn, 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    r->n = a->shape[dim];
    for (int d = 0; d < a->ndim; d++) {
        if (d < dim)
            r->outer = dl_size_mul(r->outer, a->shape[d]);
        else if (d > dim)
            r->inner = dl_size_mul(r->inner, a->shape[d]);
        if (d != dim)
            r->shape[r->ndim++] = a->shape[d];
        else if (keepdim)
            r->shape[r->ndim++] = 1;
    }
    return DL_OK;
}

/* dL/dx for every rule, from x (contiguous), the outputs y and g (both
 * (outer, inner) contiguous): written into grad (x's shape). */
static void rule_loops(rule_kind kind, double p, const reduction_geometry *r, const float *x,
                       const float *y, const float *g, float *grad)
{
    for (int64_t o = 0; o < r->outer; o++)
        for (int64_t j = 0; j < r->inner; j++) {
            float yv = y[o * r->inner + j], gv = g[o * r->inner + j];
            const float *xr = x + o * r->n * r->inner + j;
            float *gr = grad + o * r->n * r->inner + j;
            int64_t equal = 0;
            bool extreme = kind == PICK_SHARED || (kind == NORM && isinf(p));
            for (int64_t k = 0; extreme && k < r->n; k++)
                equal += (kind == PICK_SHARED ? xr[k * r->inner] : fabsf(xr[k * r->inner])) == yv;
            for (int64_t k = 0; k < r->n; k++) {
                float xv = xr[k * r->inner], sign = (float)((xv > 0) - (xv < 0)), d = 0.0f;
                switch (kind) {
                case PICK_SHARED:          /* g shared by the elements equal to y */
                    d = xv == yv ? gv / (float)equal : 0.0f;
                    break;
                case LOGSUMEXP:            /* softmax times g */
                    d = gv * expf(xv - yv);
                    break;
                case NORM:
                    if (p == 0.0 || yv == 0.0f)
                        d = 0.0f;
                    else if (isinf(p))     /* sign(x) g shared by the extreme |x| */
                        d = fabsf(xv) == yv ? sign * gv / (float)equal : 0.0f;
                    else if (p == 1.0)
                        d = sign * gv;
                    else if (p == 2.0)
                        d = xv * gv / yv;
                    else                   /* sign(x) |x|^(p-1) g / y^(p-1) */
                        d = xv == 0.0f ? 0.0f
                                       : (float)(sign * pow(fabs(xv) / yv, p - 1.0) * gv);
                    break;
                }
                gr[k * r->inner] = d;
            }
        }
}

static dl_status rule_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    rule_kind kind = (rule_kind)node->integer[0];
    int dim = (int)node->integer[1];
    bool keepdim = node->integer[2];
    const dl_tensor *a = dl_saved(node, 0);
    if (!a)
        return DL_ERR_ARGUMENT;
    reduction_geometry r;
    dl_tensor *x, *y = NULL, *gc = NULL, *grad = NULL;
    dl_status st = geometry_of(node->name, a, dim, keepdim, &r);
    if (st != DL_OK || (st = dl_contiguous(a, &x)) != DL_OK)
        return st;
    if ((st = dl_contiguous(out, &y)) == DL_OK && (st = dl_contiguous(g, &gc)) == DL_OK &&
        (st = dl_empty(node->name, a->ndim, a->shape, &grad)) == DL_OK)
        rule_loops(kind, node->scalar[0], &r, dl_data(x), dl_data(y), dl_data(gc),
                   dl_data(grad));
    dl_release(x);
    dl_release(y);
    dl_release(gc);
    return st == DL_OK ? dl_accumulate_grad(node->inputs[0], grad) : st;
}

/* Records *out as the result of reducing a with rule `kind`. */
static dl_status record_rule(const char *fn, rule_kind kind, double p, const dl_tensor *a,
                             int dim, bool keepdim, dl_tensor **out)
{
    if (!dl_needs_grad(1, &a))
        return DL_OK;
    dl_node *node = dl_record(fn, rule_backward, *out, 1, &a);
    if (!node) {
        dl_release(*out);
        return DL_ERR_MEMORY;
    }
    node->integer[0] = kind;
    node->integer[1] = dim;
    node->integer[2] = keepdim;
    node->scalar[0] = p;
    dl_save(node, a);
    return DL_OK;
}

dl_status dl_record_shared_pick(const char *fn, const dl_tensor *a, int dim, bool keepdim,
                                dl_tensor **out)
{
    return record_rule(fn, PICK_SHARED, 0.0, a, dim, keepdim, out);
}

/* A reduction computed by `reduce_row` over each row of n values spaced
 * `inner` apart. */
typedef double (*row_reducer)(int64_t n, const float *x, int64_t inner, double p);

static dl_status reduce_rows(const char *fn, const dl_tensor *a, int dim, bool keepdim,
                             row_reducer reduce_row, double p, dl_tensor **out)
{
    reduction_geometry r;
    dl_tensor *x;
    dl_status st = geometry_of(fn, a, dim, keepdim, &r);
    if (st != DL_OK || (st = dl_contiguous(a, &x)) != DL_OK)
        return st;
    if ((st = dl_empty(fn, r.ndim, r.shape, out)) == DL_OK) {
        const float *xv = dl_data(x);
        float *y = dl_data(*out);
        for (int64_t o = 0; o < r.outer; o++)
            for (int64_t j = 0; j < r.inner; j++)
                y[o * r.inner + j] = (float)reduce_row(r.n, xv + o * r.n * r.inner + j, r.inner, p);
    }
    dl_release(x);
    return st;
}

/* ---- logsumexp ---- */

/* max + log(sum(exp(x - max))); an infinite max shifts by 0 instead
 * (PyTorch's rule), so all -inf gives -inf and any +inf gives +inf. */
static double logsumexp_row(int64_t n, const float *x, int64_t inner, double p)
{
    double m = -INFINITY, sum = 0.0;
    for (int64_t k = 0; k < n; k++)
        if (x[k * inner] > m)
            m = x[k * inner];
    if (isinf(m))
        m = 0.0;
    for (int64_t k = 0; k < n; k++)
        sum += exp((double)x[k * inner] - m);
    return log(sum) + m;
}

dl_status dl_logsumexp(const dl_tensor *a, int dim, bool keepdim, dl_tensor **out)
{
    dl_status st = reduce_rows("logsumexp", a, dim, keepdim, logsumexp_row, 0.0, out);
    return st == DL_OK ? record_rule("logsumexp", LOGSUMEXP, 0.0, a, dim, keepdim, out) : st;
}

/* ---- amax, amin ---- */

dl_status dl_amax(const dl_tensor *a, int dim, bool keepdim, bool largest, dl_tensor **out)
{
    const char *fn = largest ? "amax" : "amin";
    reduction_geometry r;
    dl_status st = geometry_of(fn, a, dim, keepdim, &r);
    if (st != DL_OK)
        return st;
    if (r.n == 0 && dl_size_mul(r.outer, r.inner) > 0)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to '%s' (expected a non-empty dim to reduce, got size 0)",
                       fn);
    bool was = dl_set_grad_enabled(false);       /* the value only; its rule is below */
    st = dl_reduce(largest ? DL_MAX : DL_MIN, a, a->ndim ? dim : -1, keepdim, 0, out);
    dl_set_grad_enabled(was);
    return st == DL_OK ? dl_record_shared_pick(fn, a, dim, keepdim, out) : st;
}

/* ---- all, any ---- */

static double all_row(int64_t n, const float *x, int64_t inner, double p)
{
    for (int64_t k = 0; k < n; k++)
        if (x[k * inner] == 0.0f)
            return 0.0;
    return 1.0;
}

static double any_row(int64_t n, const float *x, int64_t inner, double p)
{
    for (int64_t k = 0; k < n; k++)
        if (x[k * inner] != 0.0f)
            return 1.0;
    return 0.0;
}

dl_status dl_all_any(const dl_tensor *a, int dim, bool keepdim, bool all, dl_tensor **out)
{
    return reduce_rows(all ? "all" : "any", a, dim, keepdim, all ? all_row : any_row, 0.0, out);
}

/* ---- norm ---- */

static double norm_row(int64_t n, const float *x, int64_t inner, double p)
{
    double acc = p == -INFINITY ? INFINITY : 0.0;
    for (int64_t k = 0; k < n; k++) {
        double v = fabs((double)x[k * inner]);
        if (p == INFINITY)
            acc = v > acc || isnan(v) ? v : acc;
        else if (p == -INFINITY)
            acc = v < acc || isnan(v) ? v : acc;
        else if (p == 0.0)
            acc += v != 0.0;
        else if (p == 1.0)
            acc += v;
        else if (p == 2.0)
            acc += v * v;
        else
            acc += pow(v, p);
    }
    if (isinf(p) || p == 0.0 || p == 1.0)
        return acc;
    return p == 2.0 ? sqrt(acc) : pow(acc, 1.0 / p);
}

dl_status dl_norm(const dl_tensor *a, double p, int dim, bool keepdim, dl_tensor **out)
{
    if (isnan(p))
        return dl_fail(DL_ERR_ARGUMENT, "bad argument #2 to 'norm' (expected a number p, got nan)");
    dl_status st = reduce_rows("norm", a, dim, keepdim, norm_row, p, out);
    return st == DL_OK ? record_rule("norm", NORM, p, a, dim, keepdim, out) : st;
}
