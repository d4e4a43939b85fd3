/*
 * class_loss.c -- cross_entropy and nll_loss over classes, with PyTorch's
 * options: class weights, an ignored label, label smoothing, inputs with
 * extra dims (N, C, d1, ...) and probability targets.
 *
 * Scores (N, C, d...) are read as (N, C, S) with S = prod(d...), one
 * "position" per (n, s). Each position's loss is a weighted sum of its
 * log-probabilities,
 *     loss = -sum_c a[c] logp[c]
 * where for a label y (not ignored), w the class weights (1 when absent)
 * and eps the label smoothing:
 *     a[c] = (1 - eps) w[y] [c == y] + eps / C w[c]
 * and for a target distribution t:
 *     a[c] = w[c] ((1 - eps) t[c] + eps / C).
 * cross_entropy takes logits (logp = log_softmax), so dL/dx[c] =
 * scale (sum(a) p[c] - a[c]); nll_loss takes logp itself, dL/dlogp[c] =
 * -scale a[c]. A target distribution gets dL/dt[c] = -scale (1 - eps)
 * w[c] logp[c]. "mean" divides by the summed w[y] of the counted positions
 * for labels (as PyTorch: an empty or all-ignored batch gives nan) and by
 * the number of positions for distributions.
 */
#include <math.h>
#include <stdio.h>

#include "../autograd.h"
#include "../internal.h"
#include "../kernels/kernels.h"

typedef struct {
    const char *fn;
    bool logits;                 /* cross_entropy: scores are logits */
    bool distributions;          /* target holds probabilities (N, C, d...) */
    int64_t n, c, s;             /* batch, classes, positions per image */
} class_layout;

/* Checks the shapes and the labels; fills the layout. */
static dl_status check_class_loss(const char *fn, const dl_tensor *scores, const dl_tensor *target,
                                  const dl_class_loss_options *o, class_layout *lay)
{
    char ss[64], ts[64];
    dl_shape_string(scores, ss, sizeof ss);
    dl_shape_string(target, ts, sizeof ts);
    if (scores->ndim < 2)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to '%s' (expected scores of shape (N, C) or (N, C, d1, ...), got %s)",
                       fn, ss);
    if (scores->shape[1] < 1)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to '%s' (expected at least one class in dim 2, got %s)", fn, ss);
    lay->fn = fn;
    lay->n = scores->shape[0];
    lay->c = scores->shape[1];
    lay->s = dl_shape_numel(scores->ndim - 2, scores->shape + 2);
    lay->distributions = target->ndim == scores->ndim;
    bool fits = true;
    for (int d = 0; d < target->ndim && fits; d++)
        fits = target->shape[d] == scores->shape[lay->distributions || d == 0 ? d : d + 1];
    if (!fits || (!lay->distributions && target->ndim != scores->ndim - 1))
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to '%s' (expected labels of the scores' shape %s without "
                       "dim 2, or probabilities of its shape, got %s)",
                       fn, ss, ts);
    if (lay->distributions && !lay->logits)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to '%s' (expected labels of the scores' shape %s without "
                       "dim 2, got %s; probability targets need cross_entropy)",
                       fn, ss, ts);
    if (lay->distributions && o->ignore_index != DL_IGNORE_DEFAULT)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to '%s' (ignore_index is not supported for probability targets)",
                       fn);
    if (o->weight && (o->weight->ndim != 1 || o->weight->shape[0] != lay->c)) {
        char ws[64];
        dl_shape_string(o->weight, ws, sizeof ws);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #3 to '%s' (expected option 'weight' of shape (%lld,), one per class, got %s)",
                       fn, (long long)lay->c, ws);
    }
    if (!(o->label_smoothing >= 0 && o->label_smoothing <= 1))
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #3 to '%s' (expected label_smoothing in [0, 1], got %g)", fn,
                       (double)o->label_smoothing);
    if (o->reduction != DL_REDUCE_MEAN && o->reduction != DL_REDUCE_SUM &&
        o->reduction != DL_REDUCE_NONE)
        return dl_fail(DL_ERR_ARGUMENT, "bad argument #3 to '%s' (unknown reduction)", fn);
    return DL_OK;
}

/* Checks labels (contiguous, n*s of them): whole numbers in 1..C or the
 * ignored label. */
static dl_status check_labels(const class_layout *lay, const float *labels, double ignore)
{
    for (int64_t i = 0; i < lay->n * lay->s; i++) {
        float v = labels[i];
        if ((double)v == ignore)
            continue;
        if (!(v >= 1 && v <= (float)lay->c && v == floorf(v)))
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #2 to '%s' (expected class labels in 1..%lld, got %g at "
                           "%s %lld)",
                           lay->fn, (long long)lay->c, (double)v, lay->s == 1 ? "row" : "position",
                           (long long)i + 1);
    }
    return DL_OK;
}

/* What a backward pass needs besides the saved tensors. */
typedef struct {
    class_layout lay;
    float eps;
    double ignore;
    double denominator;          /* of "mean" */
    dl_reduction reduction;
} class_loss_record;

static float class_weight(const float *w, int64_t k)
{
    return w ? w[k] : 1.0f;
}

/* The label of position i, 0-based, or -1 when it is the ignored one. */
static int64_t position_label(const class_loss_record *r, const float *labels, int64_t i)
{
    return (double)labels[i] == r->ignore ? -1 : (int64_t)labels[i] - 1;
}

/* The loss of position (img, pos) from its log-probabilities lp (laid out
 * as the scores); *count is its weight in "mean". */
static double position_loss(const class_loss_record *r, const float *lp, const float *target,
                            const float *w, int64_t img, int64_t pos, double *count)
{
    int64_t c = r->lay.c, s = r->lay.s;
    const float *l = lp + img * c * s + pos;
    float eps = r->eps, share = eps / (float)c;
    double loss = 0;
    if (r->lay.distributions) {
        const float *t = target + img * c * s + pos;
        for (int64_t k = 0; k < c; k++) {
            float a = class_weight(w, k) * ((1.0f - eps) * t[k * s] + share);
            if (a != 0.0f)   /* 0 log 0 counts as 0 */
                loss -= (double)a * l[k * s];
        }
        *count = 1.0;
        return loss;
    }
    int64_t y = position_label(r, target, img * s + pos);
    if (y < 0) {
        *count = 0.0;
        return 0.0;
    }
    float wy = class_weight(w, y);
    loss = -(double)((1.0f - eps) * wy) * l[y * s];
    if (eps > 0) {
        double smooth = 0;
        for (int64_t k = 0; k < c; k++)
            smooth += (double)class_weight(w, k) * l[k * s];
        loss -= share * smooth;
    }
    *count = wy;
    return loss;
}

/* dL/dscores of position (img, pos) into d (laid out as the scores), and
 * dL/dtarget into dt when it is not NULL; `scale` is dL/dloss there and
 * sum_w the sum of the class weights. */
static void position_grad(const class_loss_record *r, const float *lp, const float *target,
                          const float *w, double sum_w, int64_t img, int64_t pos, double scale,
                          float *d, float *dt)
{
    int64_t c = r->lay.c, s = r->lay.s, at = img * c * s + pos;
    const float *l = lp + at;
    float *dx = d + at, eps = r->eps, share = eps / (float)c;
    bool logits = r->lay.logits;
    if (r->lay.distributions) {
        const float *t = target + at;
        double total = 0;
        for (int64_t k = 0; k < c; k++)
            total += class_weight(w, k) * ((1.0f - eps) * t[k * s] + share);
        for (int64_t k = 0; k < c; k++) {
            float a = class_weight(w, k) * ((1.0f - eps) * t[k * s] + share);
            dx[k * s] = (float)(scale * (logits ? total * expf(l[k * s]) - a : -a));
            if (dt)
                dt[at + k * s] = (float)(-scale * (1.0f - eps) * class_weight(w, k) * l[k * s]);
        }
        return;
    }
    int64_t y = position_label(r, target, img * s + pos);
    if (y < 0) {   /* no gradient, even when "mean" is 0/0 */
        for (int64_t k = 0; k < c; k++)
            dx[k * s] = 0.0f;
        return;
    }
    float wy = class_weight(w, y), sc = (float)scale;
    float total = (1.0f - eps) * wy + share * (float)sum_w, on = logits ? 1.0f : 0.0f;
    if (w) {
        #pragma omp simd
        for (int64_t k = 0; k < c; k++)
            dx[k * s] = sc * (on * total * expf(l[k * s]) - share * w[k]);
    } else {
        #pragma omp simd
        for (int64_t k = 0; k < c; k++)
            dx[k * s] = sc * (on * total * expf(l[k * s]) - share);
    }
    dx[y * s] -= sc * (1.0f - eps) * wy;
}

static void load_record(const dl_node *node, class_loss_record *r)
{
    r->lay = (class_layout){node->name, node->integer[0] != 0, node->integer[1] != 0,
                            node->integer[2], node->integer[3], node->integer[4]};
    r->reduction = (dl_reduction)node->integer[5];
    r->eps = (float)node->scalar[0];
    r->ignore = node->scalar[1];
    r->denominator = node->scalar[2];
}

static void store_record(dl_node *node, const class_loss_record *r)
{
    node->integer[0] = r->lay.logits;
    node->integer[1] = r->lay.distributions;
    node->integer[2] = r->lay.n;
    node->integer[3] = r->lay.c;
    node->integer[4] = r->lay.s;
    node->integer[5] = r->reduction;
    node->scalar[0] = r->eps;
    node->scalar[1] = r->ignore;
    node->scalar[2] = r->denominator;
}

/* saved: 0 the log-probabilities (the scores themselves for nll_loss), 1 the
 * target, 2 the weight (when given). inputs: the scores, and a target
 * distribution that requires grad. */
DL_MULTIVERSION
static dl_status class_loss_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    class_loss_record r;
    load_record(node, &r);
    const dl_tensor *log_probs = dl_saved(node, 0), *target = dl_saved(node, 1);
    const dl_tensor *weight = node->nsaved > 2 ? dl_saved(node, 2) : NULL;
    if (!log_probs || !target || (node->nsaved > 2 && !weight))
        return DL_ERR_ARGUMENT;
    dl_tensor *in = node->inputs[0], *grad, *gc, *dt = NULL;
    int64_t n = r.lay.n, c = r.lay.c, s = r.lay.s;
    dl_status st = dl_empty(r.lay.fn, in->ndim, in->shape, &grad);
    if (st != DL_OK)
        return st;
    if ((st = dl_contiguous(g, &gc)) != DL_OK ||
        (node->ninputs > 1 && node->inputs[1]->requires_grad &&
         (st = dl_empty(r.lay.fn, in->ndim, in->shape, &dt)) != DL_OK)) {
        dl_release(grad);
        dl_release(gc);
        return st;
    }
    const float *lp = dl_data(log_probs), *t = dl_data(target), *gv = dl_data(gc);
    const float *w = weight ? dl_data(weight) : NULL;
    float *d = dl_data(grad), *dtv = dt ? dl_data(dt) : NULL;
    double sum_w = 0;
    for (int64_t k = 0; k < c; k++)
        sum_w += class_weight(w, k);
    #pragma omp parallel for schedule(static) if (n * s * c > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n * s; i++) {
        double scale = r.reduction == DL_REDUCE_NONE ? gv[i]
                     : r.reduction == DL_REDUCE_SUM  ? gv[0]
                                                     : gv[0] / r.denominator;
        position_grad(&r, lp, t, w, sum_w, i / s, i % s, scale, d, dtv);
    }
    dl_release(gc);
    if (dt && (st = dl_accumulate_grad(node->inputs[1], dt)) != DL_OK) {
        dl_release(grad);
        return st;
    }
    return dl_accumulate_grad(in, grad);
}

DL_MULTIVERSION
static dl_status class_loss(const char *fn, bool logits, const dl_tensor *scores,
                            const dl_tensor *target, const dl_class_loss_options *o,
                            dl_tensor **out)
{
    class_layout lay = {.logits = logits};
    dl_status st = check_class_loss(fn, scores, target, o, &lay);
    if (st != DL_OK)
        return st;
    class_loss_record r = {lay, o->label_smoothing, o->ignore_index, 0, o->reduction};
    int64_t n = lay.n, c = lay.c, s = lay.s;
    const dl_tensor *inputs[2] = {scores, target};
    int ninputs = lay.distributions ? 2 : 1;
    bool record = dl_needs_grad(ninputs, inputs);
    int64_t shape[DL_MAX_DIM] = {n};
    for (int d = 2; d < scores->ndim; d++)
        shape[d - 1] = scores->shape[d];
    dl_tensor *x = NULL, *t = NULL, *w = NULL, *losses = NULL, *log_probs = NULL;
    if ((st = dl_contiguous(scores, &x)) == DL_OK && (st = dl_contiguous(target, &t)) == DL_OK &&
        (!o->weight || (st = dl_contiguous(o->weight, &w)) == DL_OK) &&
        (lay.distributions || (st = check_labels(&lay, dl_data(t), o->ignore_index)) == DL_OK) &&
        (st = dl_empty(fn, scores->ndim - 1, shape, &losses)) == DL_OK) {
        /* nll_loss reads the scores as log-probabilities; cross_entropy
         * computes them (and keeps them for backward). */
        if (logits && (st = dl_empty(fn, scores->ndim, scores->shape, &log_probs)) == DL_OK)
            kernel_log_softmax(n, c, s, dl_data(x), dl_data(log_probs));
        else if (!logits) {
            dl_retain(x);
            log_probs = x;
        }
    }
    if (st == DL_OK) {
        const float *lp = dl_data(log_probs), *tv = dl_data(t), *wv = w ? dl_data(w) : NULL;
        float *lv = dl_data(losses);
        double total = 0, denominator = 0;
        #pragma omp parallel for schedule(static) reduction(+ : total, denominator) \
            if (n * s * c > DL_PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < n * s; i++) {
            double count;
            double loss = position_loss(&r, lp, tv, wv, i / s, i % s, &count);
            lv[i] = (float)loss;
            total += loss;
            denominator += count;
        }
        r.denominator = lay.distributions ? (double)(n * s) : denominator;
        if (o->reduction != DL_REDUCE_NONE) {
            dl_release(losses);
            losses = NULL;
            double value = o->reduction == DL_REDUCE_SUM ? total : total / r.denominator;
            st = dl_full(fn, 0, shape, (float)value, &losses);
        }
    }
    if (st == DL_OK && record) {
        dl_node *node = dl_record(fn, class_loss_backward, losses, ninputs, inputs);
        if (node) {
            store_record(node, &r);
            dl_save(node, log_probs);
            dl_save(node, t);
            if (w)
                dl_save(node, w);
        } else {
            st = DL_ERR_MEMORY;
        }
    }
    dl_release(x);
    dl_release(t);
    dl_release(w);
    dl_release(log_probs);
    if (st != DL_OK) {
        dl_release(losses);
        return st;
    }
    *out = losses;
    return DL_OK;
}

dl_status dl_cross_entropy_with(const dl_tensor *logits, const dl_tensor *target,
                                const dl_class_loss_options *options, dl_tensor **out)
{
    return class_loss("cross_entropy", true, logits, target, options, out);
}

dl_status dl_nll_loss_with(const dl_tensor *log_probs, const dl_tensor *target,
                           const dl_class_loss_options *options, dl_tensor **out)
{
    if (options->label_smoothing != 0)
        return dl_fail(DL_ERR_ARGUMENT, "bad argument #3 to 'nll_loss' (label_smoothing is an "
                                        "option of cross_entropy)");
    return class_loss("nll_loss", false, log_probs, target, options, out);
}

dl_status dl_cross_entropy(const dl_tensor *logits, const dl_tensor *labels,
                           float label_smoothing, dl_reduction reduction, dl_tensor **out)
{
    dl_class_loss_options o = {NULL, DL_IGNORE_DEFAULT, label_smoothing, reduction};
    return dl_cross_entropy_with(logits, labels, &o, out);
}

dl_status dl_nll_loss(const dl_tensor *log_probs, const dl_tensor *labels,
                      dl_reduction reduction, dl_tensor **out)
{
    dl_class_loss_options o = {NULL, DL_IGNORE_DEFAULT, 0.0f, reduction};
    return dl_nll_loss_with(log_probs, labels, &o, out);
}
