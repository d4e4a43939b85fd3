/*
 * loss.c -- loss functions.
 *
 * The elementwise losses, compositions of differentiable ops;
 * cross_entropy and nll_loss are in class_loss.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../autograd.h"
#include "../internal.h"

/* Applies the reduction to per-element losses (consumed). */
static dl_status reduce_losses(dl_tensor *losses, dl_reduction reduction, dl_tensor **out)
{
    if (reduction == DL_REDUCE_NONE) {
        *out = losses;
        return DL_OK;
    }
    dl_status st = dl_reduce(reduction == DL_REDUCE_MEAN ? DL_MEAN : DL_SUM, losses, -1, false,
                             0, out);
    dl_release(losses);
    return st;
}

/* ---- elementwise losses, composed of differentiable ops ---- */

static dl_status check_same_shape(const char *fn, const dl_tensor *pred, const dl_tensor *target)
{
    bool same = pred->ndim == target->ndim;
    for (int d = 0; same && d < pred->ndim; d++)
        same = pred->shape[d] == target->shape[d];
    if (same)
        return DL_OK;
    char ps[64], ts[64];
    dl_shape_string(pred, ps, sizeof ps);
    dl_shape_string(target, ts, sizeof ts);
    return dl_fail(DL_ERR_SHAPE,
                   "bad argument #2 to '%s' (expected a target of the prediction's shape %s, got %s)",
                   fn, ps, ts);
}

/* Replaces *t by op(*t, other) (or op(*t, s) when other is NULL). */
static dl_status step(dl_binary_op op, dl_tensor **t, const dl_tensor *other, float s)
{
    dl_tensor *r;
    dl_status st = other ? dl_binary(op, *t, other, &r) : dl_binary_scalar(op, *t, s, false, &r);
    dl_release(*t);
    *t = st == DL_OK ? r : NULL;
    return st;
}

static dl_status step_unary(dl_unary_op op, dl_tensor **t)
{
    dl_tensor *r;
    dl_status st = dl_unary(op, *t, &r);
    dl_release(*t);
    *t = st == DL_OK ? r : NULL;
    return st;
}

dl_status dl_mse_loss(const dl_tensor *pred, const dl_tensor *target,
                      dl_reduction reduction, dl_tensor **out)
{
    dl_status st = check_same_shape("mse_loss", pred, target);
    dl_tensor *d;
    if (st != DL_OK || (st = dl_binary(DL_SUB, pred, target, &d)) != DL_OK)
        return st;
    if ((st = step(DL_MUL, &d, d, 0)) != DL_OK)
        return st;
    return reduce_losses(d, reduction, out);
}

dl_status dl_l1_loss(const dl_tensor *pred, const dl_tensor *target,
                     dl_reduction reduction, dl_tensor **out)
{
    dl_status st = check_same_shape("l1_loss", pred, target);
    dl_tensor *d;
    if (st != DL_OK || (st = dl_binary(DL_SUB, pred, target, &d)) != DL_OK)
        return st;
    if ((st = step_unary(DL_ABS, &d)) != DL_OK)
        return st;
    return reduce_losses(d, reduction, out);
}

/* dL/dp = g (p - t) / max(p (1 - p), 1e-12) and dL/dt = g log((1 - p) / p),
 * PyTorch's float32 rules: the gradient stays finite where the log was
 * clamped, so a saturated sigmoid before bce passes back 0, not NaN. */
static dl_status bce_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *saved_p = dl_saved(node, 0), *saved_t = dl_saved(node, 1);
    if (!saved_p || !saved_t)
        return DL_ERR_ARGUMENT;
    dl_tensor *p, *t, *gc, *grad[2] = {NULL, NULL};
    dl_status st = dl_contiguous(saved_p, &p);
    if (st != DL_OK)
        return st;
    if ((st = dl_contiguous(saved_t, &t)) == DL_OK) {
        if ((st = dl_contiguous(g, &gc)) == DL_OK) {
            const float *pv = dl_data(p), *tv = dl_data(t), *gv = dl_data(gc);
            int64_t n = dl_numel(p);
            for (int k = 0; k < 2 && st == DL_OK; k++)
                if (node->inputs[k]->requires_grad)
                    st = dl_empty("bce", p->ndim, p->shape, &grad[k]);
            float *gp = grad[0] ? dl_data(grad[0]) : NULL, *gt = grad[1] ? dl_data(grad[1]) : NULL;
            for (int64_t i = 0; st == DL_OK && i < n; i++) {
                if (gp)
                    gp[i] = gv[i] * (pv[i] - tv[i]) / fmaxf((1.0f - pv[i]) * pv[i], 1e-12f);
                if (gt)
                    gt[i] = gv[i] * (log1pf(-pv[i]) - logf(pv[i]));
            }
            dl_release(gc);
        }
        dl_release(t);
    }
    dl_release(p);
    for (int k = 0; k < 2; k++)
        if (st == DL_OK && grad[k]) {
            st = dl_accumulate_grad(node->inputs[k], grad[k]);
            grad[k] = NULL;
        }
    dl_release(grad[0]);
    dl_release(grad[1]);
    return st;
}

/* Per-element -(t log p + (1 - t) log(1 - p)), each log clamped below at
 * -100 as PyTorch's BCELoss does; prob holds values in [0, 1]. */
static dl_status bce_elementwise(const dl_tensor *prob, const dl_tensor *target,
                                 dl_tensor **out)
{
    dl_tensor *p, *t;
    dl_status st = dl_contiguous(prob, &p);
    if (st != DL_OK)
        return st;
    if ((st = dl_contiguous(target, &t)) == DL_OK) {
        if ((st = dl_empty("bce", prob->ndim, prob->shape, out)) == DL_OK) {
            const float *pv = dl_data(p), *tv = dl_data(t);
            float *o = dl_data(*out);
            for (int64_t i = 0, n = dl_numel(p); i < n; i++)
                o[i] = (tv[i] - 1.0f) * fmaxf(log1pf(-pv[i]), -100.0f) -
                       tv[i] * fmaxf(logf(pv[i]), -100.0f);
        }
        dl_release(t);
    }
    dl_release(p);
    const dl_tensor *inputs[2] = {prob, target};
    if (st != DL_OK || !dl_needs_grad(2, inputs))
        return st;
    dl_node *node = dl_record("bce", bce_backward, *out, 2, inputs);
    if (!node) {
        dl_release(*out);
        *out = NULL;
        return DL_ERR_MEMORY;
    }
    dl_save(node, prob);
    dl_save(node, target);
    return DL_OK;
}

dl_status dl_bce(const dl_tensor *prob, const dl_tensor *target,
                 dl_reduction reduction, dl_tensor **out)
{
    dl_status st = check_same_shape("bce", prob, target);
    if (st != DL_OK)
        return st;
    dl_tensor *pc;
    if ((st = dl_contiguous(prob, &pc)) != DL_OK)
        return st;
    const float *p = dl_data(pc);
    for (int64_t i = 0, n = dl_numel(pc); i < n; i++)
        if (!(p[i] >= 0 && p[i] <= 1)) {
            dl_release(pc);
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #1 to 'bce' (expected probabilities in [0, 1], got %g at "
                           "element %lld; use bce_with_logits for raw scores)",
                           (double)p[i], (long long)i + 1);
        }
    dl_release(pc);
    dl_tensor *losses;
    if ((st = bce_elementwise(prob, target, &losses)) != DL_OK)
        return st;
    return reduce_losses(losses, reduction, out);
}

dl_status dl_bce_with_logits(const dl_tensor *logits, const dl_tensor *target,
                             dl_reduction reduction, dl_tensor **out)
{
    dl_status st = check_same_shape("bce_with_logits", logits, target);
    if (st != DL_OK)
        return st;
    /* 0.5 x - x t + (0.5 |x| + log(1 + exp(-|x|))): no overflow for any x.
     * The bracket is even and flat at 0, so its slope through |x| is right
     * there too (max(x, 0) - x t + log(1 + exp(-|x|)) was off by 0.5 at 0). */
    dl_tensor *loss = NULL, *xt = NULL, *soft = NULL, *half = NULL;
    if ((st = dl_binary_scalar(DL_MUL, logits, 0.5f, false, &loss)) == DL_OK &&
        (st = dl_binary(DL_MUL, logits, target, &xt)) == DL_OK &&
        (st = step(DL_SUB, &loss, xt, 0)) == DL_OK &&
        (st = dl_unary(DL_ABS, logits, &soft)) == DL_OK &&
        (st = dl_binary_scalar(DL_MUL, soft, 0.5f, false, &half)) == DL_OK &&
        (st = step_unary(DL_NEG, &soft)) == DL_OK && (st = step_unary(DL_EXP, &soft)) == DL_OK &&
        (st = step(DL_ADD, &soft, NULL, 1.0f)) == DL_OK && (st = step_unary(DL_LOG, &soft)) == DL_OK &&
        (st = step(DL_ADD, &soft, half, 0)) == DL_OK && (st = step(DL_ADD, &loss, soft, 0)) == DL_OK) {
        st = reduce_losses(loss, reduction, out);
        loss = NULL;
    }
    dl_release(half);
    dl_release(loss);
    dl_release(xt);
    dl_release(soft);
    return st;
}
