/*
 * loss.c -- loss functions.
 *
 * cross_entropy is fused: one pass computes log-softmax and the loss per
 * row and keeps the probabilities, so backward is just p - target
 * (the smoothed one-hot). nll_loss picks log-probabilities. The
 * elementwise losses are compositions of differentiable ops.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../autograd.h"
#include "../internal.h"

static bool valid_reduction(dl_reduction r)
{
    return r == DL_REDUCE_MEAN || r == DL_REDUCE_SUM || r == DL_REDUCE_NONE;
}

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

/* Checks logits (N, C) and labels (N) holding whole numbers in 1..C. */
static dl_status check_classes(const char *fn, const dl_tensor *scores, const dl_tensor *labels)
{
    char ss[64], ls[64];
    dl_shape_string(scores, ss, sizeof ss);
    dl_shape_string(labels, ls, sizeof ls);
    if (scores->ndim != 2)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to '%s' (expected scores of shape (N, C), got %s)", fn, ss);
    int64_t n = scores->shape[0], c = scores->shape[1];
    if (labels->ndim != 1 || labels->shape[0] != n)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to '%s' (expected labels of shape (%lld,) for scores %s, got %s)",
                       fn, (long long)n, ss, ls);
    const float *l = dl_data(labels);
    for (int64_t i = 0; i < n; i++) {
        float v = l[i * labels->stride[0]];
        if (!(v >= 1 && v <= (float)c && v == floorf(v)))
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #2 to '%s' (expected class labels in 1..%lld, got %g at row %lld)",
                           fn, (long long)c, (double)v, (long long)i + 1);
    }
    return DL_OK;
}

/* Scale of each row's gradient: g_i (none), g (sum) or g / N (mean). */
static float row_scale(const dl_tensor *g, dl_reduction reduction, int64_t i, int64_t n)
{
    const float *gv = dl_data(g);
    if (reduction == DL_REDUCE_NONE)
        return gv[i * (g->ndim ? g->stride[0] : 0)];
    return reduction == DL_REDUCE_MEAN ? gv[0] / (float)n : gv[0];
}

/* dL/dlogits = scale_i * (p - (1 - eps) onehot(y) - eps / C). */
static dl_status cross_entropy_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *probs = dl_saved(node, 0), *labels = dl_saved(node, 1);
    if (!probs || !labels)
        return DL_ERR_ARGUMENT;
    dl_reduction reduction = (dl_reduction)node->integer[0];
    float eps = (float)node->scalar[0];
    int64_t n = probs->shape[0], c = probs->shape[1];
    dl_tensor *grad;
    dl_status st = dl_empty("cross_entropy", 2, probs->shape, &grad);
    if (st != DL_OK)
        return st;
    const float *p = dl_data(probs), *l = dl_data(labels);
    float *d = dl_data(grad);
    #pragma omp parallel for schedule(static) if (n * c > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float scale = row_scale(g, reduction, i, n);
        int64_t y = (int64_t)l[i * labels->stride[0]] - 1;
        for (int64_t k = 0; k < c; k++)
            d[i * c + k] = scale * (p[i * c + k] - eps / (float)c - (k == y ? 1.0f - eps : 0.0f));
    }
    return dl_accumulate_grad(node->inputs[0], grad);
}

dl_status dl_cross_entropy(const dl_tensor *logits, const dl_tensor *labels,
                           float label_smoothing, dl_reduction reduction, dl_tensor **out)
{
    dl_status st = check_classes("cross_entropy", logits, labels);
    if (st != DL_OK)
        return st;
    if (!(label_smoothing >= 0 && label_smoothing < 1))
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to 'cross_entropy' (expected label_smoothing in [0, 1), got %g)",
                       (double)label_smoothing);
    if (!valid_reduction(reduction))
        return dl_fail(DL_ERR_ARGUMENT, "bad argument #4 to 'cross_entropy' (unknown reduction)");
    int64_t n = logits->shape[0], c = logits->shape[1];
    bool grad = dl_needs_grad(1, &logits);
    dl_tensor *x, *losses = NULL, *probs = NULL;
    if ((st = dl_contiguous(logits, &x)) != DL_OK)
        return st;
    if ((st = dl_empty("cross_entropy", 1, (const int64_t[]){n}, &losses)) == DL_OK && grad)
        st = dl_empty("cross_entropy", 2, logits->shape, &probs);
    if (st == DL_OK) {
        const float *xv = dl_data(x), *l = dl_data(labels);
        float *lv = dl_data(losses), *pv = probs ? dl_data(probs) : NULL;
        #pragma omp parallel for schedule(static) if (n * c > DL_PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < n; i++) {
            const float *row = xv + i * c;
            float m = -INFINITY;
            for (int64_t k = 0; k < c; k++)
                m = row[k] > m ? row[k] : m;
            double sum = 0, row_sum = 0;
            for (int64_t k = 0; k < c; k++) {
                sum += exp((double)(row[k] - m));
                row_sum += row[k];
            }
            double lse = m + log(sum);
            int64_t y = (int64_t)l[i * labels->stride[0]] - 1;
            double nll = lse - row[y], smooth = lse - row_sum / (double)c;
            lv[i] = (float)((1.0 - label_smoothing) * nll + label_smoothing * smooth);
            if (pv)
                for (int64_t k = 0; k < c; k++)
                    pv[i * c + k] = (float)exp(row[k] - lse);
        }
    }
    dl_release(x);
    if (st != DL_OK) {
        dl_release(losses);
        dl_release(probs);
        return st;
    }
    dl_tensor *result;
    if ((st = reduce_losses(losses, reduction, &result)) != DL_OK) {
        dl_release(probs);
        return st;
    }
    if (grad) {
        dl_node *node = dl_record("cross_entropy", cross_entropy_backward, result, 1, &logits);
        if (!node) {
            dl_release(probs);
            dl_release(result);
            return DL_ERR_MEMORY;
        }
        node->integer[0] = reduction;
        node->scalar[0] = label_smoothing;
        dl_save(node, probs);
        dl_save(node, labels);
        dl_release(probs);
    }
    *out = result;
    return DL_OK;
}

/* dL/dlogp[i, y_i] = -scale_i; zero elsewhere. */
static dl_status nll_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *labels = dl_saved(node, 0);
    if (!labels)
        return DL_ERR_ARGUMENT;
    dl_tensor *in = node->inputs[0], *grad;
    int64_t n = in->shape[0], c = in->shape[1];
    dl_status st = dl_full("nll_loss", 2, in->shape, 0.0f, &grad);
    if (st != DL_OK)
        return st;
    const float *l = dl_data(labels);
    for (int64_t i = 0; i < n; i++) {
        int64_t y = (int64_t)l[i * labels->stride[0]] - 1;
        dl_data(grad)[i * c + y] = -row_scale(g, (dl_reduction)node->integer[0], i, n);
    }
    return dl_accumulate_grad(in, grad);
}

dl_status dl_nll_loss(const dl_tensor *log_probs, const dl_tensor *labels,
                      dl_reduction reduction, dl_tensor **out)
{
    dl_status st = check_classes("nll_loss", log_probs, labels);
    if (st != DL_OK)
        return st;
    int64_t n = log_probs->shape[0];
    dl_tensor *losses, *result;
    if ((st = dl_empty("nll_loss", 1, (const int64_t[]){n}, &losses)) != DL_OK)
        return st;
    const float *l = dl_data(labels);
    for (int64_t i = 0; i < n; i++) {
        int64_t y = (int64_t)l[i * labels->stride[0]] - 1;
        dl_data(losses)[i] = -dl_get(log_probs, (const int64_t[]){i, y});
    }
    if ((st = reduce_losses(losses, reduction, &result)) != DL_OK)
        return st;
    if (dl_needs_grad(1, &log_probs)) {
        dl_node *node = dl_record("nll_loss", nll_backward, result, 1, &log_probs);
        if (!node) {
            dl_release(result);
            return DL_ERR_MEMORY;
        }
        node->integer[0] = reduction;
        dl_save(node, labels);
    }
    *out = result;
    return DL_OK;
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

/* dL/dp = g (p - t) / max(p (1 - p), 1e-12), PyTorch's BCELoss rule: finite
 * where a saturated sigmoid gives p = 0 or 1 (the chain rule through the
 * clamped logs would give 0/0 there). dL/dt = g (log(1 - p) - log p), not
 * clamped (as PyTorch), for a target that requires grad. */
static dl_status bce_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *prob = dl_saved(node, 0), *target = dl_saved(node, 1);
    if (!prob || !target)
        return DL_ERR_ARGUMENT;
    dl_tensor *gc, *grad = NULL, *grad_t = NULL;
    dl_status st = dl_contiguous(g, &gc);
    if (st != DL_OK)
        return st;
    int64_t n = dl_numel(prob);
    if ((st = dl_empty("bce", prob->ndim, prob->shape, &grad)) == DL_OK &&
        node->inputs[1]->requires_grad)
        st = dl_empty("bce", prob->ndim, prob->shape, &grad_t);
    if (st != DL_OK) {
        dl_release(gc);
        dl_release(grad);
        return st;
    }
    const float *p = dl_data(prob), *t = dl_data(target), *gv = dl_data(gc);
    float *d = dl_data(grad), *dt = grad_t ? dl_data(grad_t) : NULL;
    for (int64_t i = 0; i < n; i++) {
        d[i] = gv[i] * (p[i] - t[i]) / fmaxf(p[i] * (1.0f - p[i]), 1e-12f);
        if (dt)
            dt[i] = gv[i] * (logf(1.0f - p[i]) - logf(p[i]));
    }
    dl_release(gc);
    st = dl_accumulate_grad(node->inputs[0], grad);
    if (grad_t && st == DL_OK)
        return dl_accumulate_grad(node->inputs[1], grad_t);
    dl_release(grad_t);
    return st;
}

dl_status dl_bce(const dl_tensor *prob, const dl_tensor *target,
                 dl_reduction reduction, dl_tensor **out)
{
    dl_status st = check_same_shape("bce", prob, target);
    if (st != DL_OK)
        return st;
    dl_tensor *pc, *tc = NULL, *losses = NULL;
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
    if ((st = dl_contiguous(target, &tc)) == DL_OK)
        st = dl_empty("bce", pc->ndim, pc->shape, &losses);
    if (st != DL_OK) {
        dl_release(pc);
        dl_release(tc);
        return st;
    }
    /* -(t log p + (1 - t) log(1 - p)), each log clamped below at -100 as
     * PyTorch's BCELoss does */
    const float *t = dl_data(tc);
    float *l = dl_data(losses);
    for (int64_t i = 0, n = dl_numel(pc); i < n; i++)
        l[i] = -(t[i] * fmaxf(logf(p[i]), -100.0f) +
                 (1.0f - t[i]) * fmaxf(logf(1.0f - p[i]), -100.0f));
    const dl_tensor *inputs[2] = {prob, target};
    if (dl_needs_grad(2, inputs)) {
        dl_node *node = dl_record("bce", bce_backward, losses, 2, inputs);
        if (!node) {
            dl_release(pc);
            dl_release(tc);
            dl_release(losses);
            return DL_ERR_MEMORY;
        }
        dl_save(node, pc);
        dl_save(node, tc);
    }
    dl_release(pc);
    dl_release(tc);
    return reduce_losses(losses, reduction, out);
}

dl_status dl_bce_with_logits(const dl_tensor *logits, const dl_tensor *target,
                             dl_reduction reduction, dl_tensor **out)
{
    dl_status st = check_same_shape("bce_with_logits", logits, target);
    if (st != DL_OK)
        return st;
    /* max(x, 0) - x t + log(1 + exp(-|x|)): no overflow for any x. */
    dl_tensor *loss = NULL, *xt = NULL, *soft = NULL;
    if ((st = dl_unary(DL_RELU, logits, &loss)) == DL_OK &&
        (st = dl_binary(DL_MUL, logits, target, &xt)) == DL_OK &&
        (st = step(DL_SUB, &loss, xt, 0)) == DL_OK &&
        (st = dl_unary(DL_ABS, logits, &soft)) == DL_OK && (st = step_unary(DL_NEG, &soft)) == DL_OK &&
        (st = step_unary(DL_EXP, &soft)) == DL_OK && (st = step(DL_ADD, &soft, NULL, 1.0f)) == DL_OK &&
        (st = step_unary(DL_LOG, &soft)) == DL_OK && (st = step(DL_ADD, &loss, soft, 0)) == DL_OK) {
        st = reduce_losses(loss, reduction, out);
        loss = NULL;
    }
    dl_release(loss);
    dl_release(xt);
    dl_release(soft);
    return st;
}
