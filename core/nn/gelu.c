/*
 * gelu.c -- GELU with PyTorch's tanh approximation,
 *     y = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3),
 * dy/dx = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
 * The exact GELU is the elementwise op DL_GELU (ops.def).
 */
#include <math.h>

#include "../autograd.h"
#include "../internal.h"

#define SQRT_2_OVER_PI 0.7978845608f
#define GELU_CUBIC 0.044715f

static float gelu_tanh_slope(float x)
{
    float t = tanhf(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
    return 0.5f * (1.0f + t) +
           0.5f * x * (1.0f - t * t) * SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_CUBIC * x * x);
}

static dl_status gelu_tanh_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *saved = dl_saved(node, 0);
    if (!saved)
        return DL_ERR_ARGUMENT;
    dl_tensor *x, *gc, *grad = NULL;
    dl_status st = dl_contiguous(saved, &x);
    if (st != DL_OK)
        return st;
    if ((st = dl_contiguous(g, &gc)) == DL_OK) {
        if ((st = dl_empty("gelu", x->ndim, x->shape, &grad)) == DL_OK) {
            const float *xv = dl_data(x), *gv = dl_data(gc);
            float *d = dl_data(grad);
            for (int64_t i = 0, n = dl_numel(x); i < n; i++)
                d[i] = gv[i] * gelu_tanh_slope(xv[i]);
        }
        dl_release(gc);
    }
    dl_release(x);
    return st == DL_OK ? dl_accumulate_grad(node->inputs[0], grad) : st;
}

dl_status dl_gelu(const dl_tensor *a, bool tanh_approximation, dl_tensor **out)
{
    if (!tanh_approximation)
        return dl_unary(DL_GELU, a, out);
    dl_tensor *x;
    dl_status st = dl_contiguous(a, &x);
    if (st != DL_OK)
        return st;
    if ((st = dl_empty("gelu", a->ndim, a->shape, out)) == DL_OK) {
        const float *xv = dl_data(x);
        float *y = dl_data(*out);
        for (int64_t i = 0, n = dl_numel(x); i < n; i++)
            y[i] = 0.5f * xv[i] *
                   (1.0f + tanhf(SQRT_2_OVER_PI * (xv[i] + GELU_CUBIC * xv[i] * xv[i] * xv[i])));
    }
    dl_release(x);
    if (st != DL_OK || !dl_needs_grad(1, &a))
        return st;
    dl_node *node = dl_record("gelu", gelu_tanh_backward, *out, 1, &a);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        return DL_ERR_MEMORY;
    }
    dl_save(node, a);
    return DL_OK;
}
