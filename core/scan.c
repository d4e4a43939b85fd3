/*
 * scan.c -- cumsum and cumprod along one dim, and their gradients.
 *
 * Both work on contiguous data seen as (outer, n, inner) around the dim and
 * accumulate in double, as PyTorch does on the CPU.
 */
#include "autograd.h"
#include "internal.h"

/* Sizes before, along and after dim. */
static void split_at_dim(const dl_tensor *a, int dim, int64_t *outer, int64_t *n,
                         int64_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < dim; d++)
        *outer = dl_size_mul(*outer, a->shape[d]);
    for (int d = dim + 1; d < a->ndim; d++)
        *inner = dl_size_mul(*inner, a->shape[d]);
    *n = a->shape[dim];
    if (dl_numel(a) == 0)
        *outer = 0;     /* no rows to walk, however large the other sizes */
}

/* One row of cumprod's gradient: x, g (n values `inner` apart) -> grad.
 * dL/dx_k = sum_{j >= k} g_j prod_{i <= j, i != k} x_i. Before the first
 * zero z that is (sum_{j >= k} g_j y_j) / x_k; at z it is y_{z-1} times a
 * running product after z; past z every term holds the zero. */
static void cumprod_grad_row(int64_t n, int64_t inner, const float *x, const float *g,
                             float *grad)
{
    int64_t z = 0;
    while (z < n && x[z * inner] != 0.0f)
        z++;
    double prefix = 1.0, suffix = 0.0;
    for (int64_t k = 0; k < z; k++)
        prefix *= x[k * inner];
    /* prefix is now y_{z-1}; walk back down summing g_j y_j. */
    double y = prefix;
    for (int64_t k = z - 1; k >= 0; k--) {
        suffix += g[k * inner] * y;
        grad[k * inner] = (float)(suffix / x[k * inner]);
        y /= x[k * inner];
    }
    if (z < n) {
        double run = 1.0, sum = 0.0;
        for (int64_t j = z; j < n; j++) {
            if (j > z)
                run *= x[j * inner];
            sum += g[j * inner] * run;
        }
        grad[z * inner] = (float)(prefix * sum);
        for (int64_t k = z + 1; k < n; k++)
            grad[k * inner] = 0.0f;
    }
}

static dl_status scan_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    bool product = node->integer[1];
    int dim = (int)node->integer[0];
    const dl_tensor *a = product ? dl_saved(node, 0) : node->inputs[0];
    if (!a)
        return DL_ERR_ARGUMENT;
    dl_tensor *gc, *x = NULL, *grad;
    dl_status st = dl_contiguous(g, &gc);
    if (st == DL_OK && product)
        st = dl_contiguous(a, &x);
    if (st == DL_OK)
        st = dl_empty(node->name, a->ndim, a->shape, &grad);
    if (st != DL_OK) {
        dl_release(gc);
        dl_release(x);
        return st;
    }
    int64_t outer, n, inner;
    split_at_dim(a, dim, &outer, &n, &inner);
    const float *gv = dl_data(gc);
    float *gx = dl_data(grad);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            int64_t base = o * n * inner + j;
            if (product) {
                cumprod_grad_row(n, inner, dl_data(x) + base, gv + base, gx + base);
                continue;
            }
            double sum = 0.0;            /* cumsum: g summed from the end */
            for (int64_t k = n - 1; k >= 0; k--) {
                sum += gv[base + k * inner];
                gx[base + k * inner] = (float)sum;
            }
        }
    dl_release(gc);
    dl_release(x);
    return dl_accumulate_grad(node->inputs[0], grad);
}

static dl_status scan(const char *fn, bool product, const dl_tensor *a, int dim,
                      dl_tensor **out)
{
    if (dl_check_dim(fn, 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    dl_tensor *x;
    dl_status st = dl_contiguous(a, &x);
    if (st != DL_OK)
        return st;
    if ((st = dl_empty(fn, a->ndim, a->shape, out)) != DL_OK) {
        dl_release(x);
        return st;
    }
    int64_t outer, n, inner;
    split_at_dim(a, dim, &outer, &n, &inner);
    const float *xv = dl_data(x);
    float *y = dl_data(*out);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            double acc = product ? 1.0 : 0.0;
            for (int64_t k = 0; k < n; k++) {
                int64_t at = (o * n + k) * inner + j;
                acc = product ? acc * xv[at] : acc + xv[at];
                y[at] = (float)acc;
            }
        }
    dl_release(x);
    if (!dl_needs_grad(1, &a))
        return DL_OK;
    dl_node *node = dl_record(fn, scan_backward, *out, 1, &a);
    if (!node) {
        dl_release(*out);
        return DL_ERR_MEMORY;
    }
    node->integer[0] = dim;
    node->integer[1] = product;
    if (product)
        dl_save(node, a);
    return DL_OK;
}

dl_status dl_cumsum(const dl_tensor *a, int dim, dl_tensor **out)
{
    return scan("cumsum", false, a, dim, out);
}

dl_status dl_cumprod(const dl_tensor *a, int dim, dl_tensor **out)
{
    return scan("cumprod", true, a, dim, out);
}
