/*
 * dropout.c -- inverted dropout: while training, each element is zeroed
 * with probability p and the survivors scaled by 1/(1-p), so nothing needs
 * rescaling at evaluation time. The mask (0 or 1/(1-p)) is kept for
 * backward: dL/dx = g * mask. Draws come from the core's seeded generator.
 */
#include "../autograd.h"
#include "../internal.h"

DL_MULTIVERSION
static dl_status dropout_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *mask = dl_saved(node, 0);
    if (!mask)
        return DL_ERR_ARGUMENT;
    dl_tensor *grad;
    dl_status st = dl_binary(DL_MUL, g, mask, &grad);
    return st == DL_OK ? dl_accumulate_grad(node->inputs[0], grad) : st;
}

DL_MULTIVERSION
dl_status dl_dropout(const dl_tensor *x, float p, bool training, dl_tensor **out)
{
    if (!(p >= 0 && p <= 1))
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to 'dropout' (expected a probability in [0, 1], got %g)",
                       (double)p);
    if (!training || p == 0) {
        dl_retain((dl_tensor *)x);
        *out = (dl_tensor *)x;
        return DL_OK;
    }
    dl_tensor *mask, *result;
    dl_status st = dl_empty("dropout", x->ndim, x->shape, &mask);
    if (st != DL_OK)
        return st;
    float keep = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
    float *m = dl_data(mask);
    for (int64_t i = 0, n = dl_numel(mask); i < n; i++)
        m[i] = dl_random_uniform() < p ? 0.0f : keep;
    bool recording = dl_set_grad_enabled(false);
    st = dl_binary(DL_MUL, x, mask, &result);
    dl_set_grad_enabled(recording);
    if (st == DL_OK && dl_needs_grad(1, &x)) {
        dl_node *node = dl_record("dropout", dropout_backward, result, 1, &x);
        if (node) {
            dl_save(node, mask);
        } else {
            dl_release(result);
            st = DL_ERR_MEMORY;
        }
    }
    dl_release(mask);
    if (st == DL_OK)
        *out = result;
    return st;
}
