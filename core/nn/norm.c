/*
 * norm.c -- batch and layer normalisation.
 *
 * Both normalise groups of elements, xhat = (x - mean) * rstd with
 * rstd = 1 / sqrt(var + eps) (biased variance), then scale and shift.
 * Batch norm: one group per channel c of x (N, C, *), M = N * (H*W)
 * elements, weight/bias per channel. Layer norm: one group per row of the
 * last dim D, weight/bias per position in the row.
 *
 * Backward of a normalised group (g = dL/dy, dxhat = g * weight):
 *   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
 * and, in evaluation mode where the statistics are constants,
 *   dx = rstd * dxhat.
 * Per-group mean and rstd are kept from the forward pass.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd.h"
#include "../internal.h"
#include "../kernels/kernels.h"

/* Group k starts at k*group_stride; its M = blocks * run elements come in
 * `blocks` runs of `run` contiguous floats, runs block_stride apart. The
 * loops below walk a group run by run, so that each run is one vector loop. */
typedef struct {
    int64_t groups, blocks, run, group_stride, block_stride;
} group_layout;

/* Offset of run b of group k. */
static inline int64_t run_start(const group_layout *l, int64_t k, int64_t b)
{
    return k * l->group_stride + b * l->block_stride;
}

static group_layout batch_layout(const dl_tensor *x)
{
    if (dl_numel(x) == 0)          /* nothing to walk; its sizes may not multiply */
        return (group_layout){x->shape[1], 0, 0, 0, 0};
    int64_t hw = x->ndim == 4 ? x->shape[2] * x->shape[3] : 1;
    return (group_layout){x->shape[1], x->shape[0], hw, hw, x->shape[1] * hw};
}

static group_layout row_layout(const dl_tensor *x)
{
    int64_t d = x->shape[x->ndim - 1];
    return (group_layout){dl_numel(x) / (d ? d : 1), 1, d, d, 0};
}

/* Groups of one element a row (BatchNorm1d's (N, C): group k is column k
 * of an (N, C) block): the loops below go along the rows instead, a vector
 * across the groups, as the strided reductions of kernel_reduce do. */
static bool is_columns(const group_layout *l)
{
    return l->run == 1 && l->blocks > 1;
}

static void normalise_columns(const group_layout *l, const float *x, const float *mean,
                              const float *rstd, const float *w, const float *b, float *y)
{
    int64_t c = l->groups, n = l->blocks;
    #pragma omp parallel for schedule(static) if (c * n > 65536)
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        #pragma omp simd
        for (int64_t k = 0; k < c; k++)
            yr[k] = (xr[k] - mean[k]) * rstd[k] * (w ? w[k] : 1.0f) + (b ? b[k] : 0.0f);
    }
}

static void columns_backward(const group_layout *l, const float *x, const float *g,
                             const float *mean, const float *rstd, const float *w,
                             bool batch_statistics, float *dx, double *dw, double *db)
{
    int64_t c = l->groups, n = l->blocks;
    int64_t blocks = (c + DL_COLUMN_BLOCK - 1) / DL_COLUMN_BLOCK;
    #pragma omp parallel for schedule(static) if (c * n > 65536)
    for (int64_t t = 0; t < blocks; t++) {
        int64_t k0 = t * DL_COLUMN_BLOCK;
        int64_t width = c - k0 < DL_COLUMN_BLOCK ? c - k0 : DL_COLUMN_BLOCK;
        const float *mk = mean + k0, *rk = rstd + k0, *wk = w ? w + k0 : NULL;
        double dxhat_sum[DL_COLUMN_BLOCK] = {0}, dxhat_xhat_sum[DL_COLUMN_BLOCK] = {0};
        double g_xhat_sum[DL_COLUMN_BLOCK] = {0}, g_sum[DL_COLUMN_BLOCK] = {0};
        for (int64_t r = 0; r < n; r++) {
            const float *xr = x + r * c + k0, *gr = g + r * c + k0;
            #pragma omp simd
            for (int64_t j = 0; j < width; j++) {
                double xhat = (xr[j] - (double)mk[j]) * rk[j];
                double dxhat = gr[j] * (double)(wk ? wk[j] : 1.0f);
                dxhat_sum[j] += dxhat;
                dxhat_xhat_sum[j] += dxhat * xhat;
                g_xhat_sum[j] += gr[j] * xhat;
                g_sum[j] += gr[j];
            }
        }
        for (int64_t j = 0; j < width; j++) {
            dw[k0 + j] += g_xhat_sum[j];
            db[k0 + j] += g_sum[j];
            dxhat_sum[j] = batch_statistics ? dxhat_sum[j] / (double)n : 0;         /* means */
            dxhat_xhat_sum[j] = batch_statistics ? dxhat_xhat_sum[j] / (double)n : 0;
        }
        if (!dx)
            continue;
        for (int64_t r = 0; r < n; r++) {
            const float *xr = x + r * c + k0, *gr = g + r * c + k0;
            float *dr = dx + r * c + k0;
            #pragma omp simd
            for (int64_t j = 0; j < width; j++) {
                double xhat = (xr[j] - (double)mk[j]) * rk[j];
                double dxhat = gr[j] * (double)(wk ? wk[j] : 1.0f);
                dr[j] = (float)(rk[j] * (dxhat - dxhat_sum[j] - xhat * dxhat_xhat_sum[j]));
            }
        }
    }
}

/* mean and biased variance of every group. */
static void group_moments(const group_layout *l, const float *x, float *mean, float *var)
{
    if (is_columns(l)) {
        kernel_reduce(DL_MEAN, 1, l->blocks, l->groups, 0, x, mean);
        kernel_reduce(DL_VAR, 1, l->blocks, l->groups, 0, x, var);
        return;
    }
    int64_t m = l->blocks * l->run;
    #pragma omp parallel for schedule(static) if (l->groups * m > 65536)
    for (int64_t k = 0; k < l->groups; k++) {
        double s = 0, ss = 0;
        for (int64_t b = 0; b < l->blocks; b++) {
            const float *r = x + run_start(l, k, b);
            #pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < l->run; j++)
                s += r[j];
        }
        double mu = s / (double)m;
        for (int64_t b = 0; b < l->blocks; b++) {
            const float *r = x + run_start(l, k, b);
            #pragma omp simd reduction(+ : ss)
            for (int64_t j = 0; j < l->run; j++) {
                double d = r[j] - mu;
                ss += d * d;
            }
        }
        mean[k] = (float)mu;
        var[k] = (float)(ss / (double)m);
    }
}

/* y = (x - mean_k) * rstd_k * w + b, w/b indexed per group (batch norm) or
 * per position in the run (layer norm); absent ones are 1 and 0. */
static void normalise(const group_layout *l, const float *x, const float *mean,
                      const float *rstd, const float *w, const float *b, bool per_group,
                      float *y)
{
    if (per_group && is_columns(l)) {
        normalise_columns(l, x, mean, rstd, w, b, y);
        return;
    }
    int64_t m = l->blocks * l->run;
    #pragma omp parallel for schedule(static) if (l->groups * m > 65536)
    for (int64_t k = 0; k < l->groups; k++) {
        const float mk = mean[k], rk = rstd[k];
        const float wk = per_group && w ? w[k] : 1.0f, bk = per_group && b ? b[k] : 0.0f;
        for (int64_t blk = 0; blk < l->blocks; blk++) {
            const float *xr = x + run_start(l, k, blk);
            float *yr = y + run_start(l, k, blk);
            if (per_group || (!w && !b)) {
                #pragma omp simd
                for (int64_t j = 0; j < l->run; j++)
                    yr[j] = (xr[j] - mk) * rk * wk + bk;
            } else {
                #pragma omp simd
                for (int64_t j = 0; j < l->run; j++)
                    yr[j] = (xr[j] - mk) * rk * (w ? w[j] : 1.0f) + (b ? b[j] : 0.0f);
            }
        }
    }
}

/* dx (when wanted), and dweight/dbias sums, for normalised groups. */
static void normalise_backward(const group_layout *l, const float *x, const float *g,
                               const float *mean, const float *rstd, const float *w,
                               bool per_group, bool batch_statistics, float *dx,
                               double *dw, double *db)
{
    if (per_group && is_columns(l)) {
        columns_backward(l, x, g, mean, rstd, w, batch_statistics, dx, dw, db);
        return;
    }
    int64_t m = l->blocks * l->run;
    #pragma omp parallel for schedule(static) if (l->groups * m > 65536)
    for (int64_t k = 0; k < l->groups; k++) {
        const double mk = mean[k], rk = rstd[k];
        const float wk = per_group && w ? w[k] : 1.0f;
        double sum_dxhat = 0, sum_dxhat_xhat = 0, sum_g_xhat = 0, sum_g = 0;
        for (int64_t blk = 0; blk < l->blocks; blk++) {
            const float *xr = x + run_start(l, k, blk), *gr = g + run_start(l, k, blk);
            #pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat, sum_g_xhat, sum_g)
            for (int64_t j = 0; j < l->run; j++) {
                double xhat = (xr[j] - mk) * rk;
                double dxhat = gr[j] * (per_group || !w ? wk : w[j]);
                sum_dxhat += dxhat;
                sum_dxhat_xhat += dxhat * xhat;
                sum_g_xhat += gr[j] * xhat;
                sum_g += gr[j];
            }
        }
        if (per_group) {
            dw[k] += sum_g_xhat;
            db[k] += sum_g;
        }
        if (!dx)
            continue;
        double mean_dxhat = batch_statistics ? sum_dxhat / (double)m : 0;
        double mean_dxhat_xhat = batch_statistics ? sum_dxhat_xhat / (double)m : 0;
        for (int64_t blk = 0; blk < l->blocks; blk++) {
            const float *xr = x + run_start(l, k, blk), *gr = g + run_start(l, k, blk);
            float *dr = dx + run_start(l, k, blk);
            #pragma omp simd
            for (int64_t j = 0; j < l->run; j++) {
                double xhat = (xr[j] - mk) * rk;
                double dxhat = gr[j] * (per_group || !w ? wk : w[j]);
                dr[j] = (float)(rk * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat));
            }
        }
    }
    if (!per_group)     /* per-position sums run across groups: one row after another */
        for (int64_t k = 0; k < l->groups; k++) {
            const float *xr = x + run_start(l, k, 0), *gr = g + run_start(l, k, 0);
            const float mk = mean[k], rk = rstd[k];
            #pragma omp simd
            for (int64_t j = 0; j < l->run; j++) {
                dw[j] += gr[j] * (xr[j] - mk) * rk;
                db[j] += gr[j];
            }
        }
}

/* Adds accumulated double sums into a parameter's gradient. */
static dl_status add_param_grad(dl_tensor *param, const double *sums)
{
    dl_tensor *target;
    float beta;
    dl_status st = dl_grad_target(param, &target, &beta);
    if (st != DL_OK || !target)
        return st;
    float *p = dl_data(target);
    for (int64_t j = 0, n = dl_numel(target); j < n; j++)
        p[j] = beta == 0.0f ? (float)sums[j] : p[j] + (float)sums[j];
    return DL_OK;
}

/* Shared rule. Saved: x, mean, rstd, weight (or absent). */
DL_MULTIVERSION
static dl_status norm_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    bool per_group = node->integer[0], batch_statistics = node->integer[1];
    const dl_tensor *x = dl_saved(node, 0), *mean = dl_saved(node, 1), *rstd = dl_saved(node, 2);
    const dl_tensor *w = node->nsaved > 3 ? dl_saved(node, 3) : NULL;
    if (!x || !mean || !rstd || (node->nsaved > 3 && !w))
        return DL_ERR_ARGUMENT;
    group_layout l = per_group ? batch_layout(x) : row_layout(x);
    int64_t params = per_group ? l.groups : l.run;
    dl_tensor *gc, *dx = NULL;
    dl_status st = dl_contiguous(g, &gc);
    if (st != DL_OK)
        return st;
    double *sums = calloc((size_t)(2 * params + 1), sizeof *sums);
    if (!sums || (node->inputs[0]->requires_grad &&
                  (st = dl_empty(node->name, x->ndim, x->shape, &dx)) != DL_OK)) {
        free(sums);
        dl_release(gc);
        return st != DL_OK ? st : dl_fail(DL_ERR_MEMORY, "%s: out of memory", node->name);
    }
    normalise_backward(&l, dl_data(x), dl_data(gc), dl_data(mean), dl_data(rstd),
                       w ? dl_data(w) : NULL, per_group, batch_statistics,
                       dx ? dl_data(dx) : NULL, sums, sums + params);
    dl_release(gc);
    if (dx)
        st = dl_accumulate_grad(node->inputs[0], dx);
    for (int i = 1; st == DL_OK && i < node->ninputs; i++)
        if (node->inputs[i])
            st = add_param_grad(node->inputs[i], sums + (i - 1) * params);
    free(sums);
    return st;
}

/* Checks a per-channel or per-position parameter of `size` entries. */
static dl_status check_param(const char *fn, int argn, const char *what, const dl_tensor *p,
                             int64_t size)
{
    if (!p || (p->ndim == 1 && p->shape[0] == size))
        return DL_OK;
    char ps[64];
    dl_shape_string(p, ps, sizeof ps);
    return dl_fail(DL_ERR_SHAPE, "bad argument #%d to '%s' (expected a %s of shape (%lld,), got %s)",
                   argn, fn, what, (long long)size, ps);
}

/* Runs the forward pass and records it; mean/rstd are per group. */
static dl_status finish_norm(const char *fn, const dl_tensor *x, const dl_tensor *weight,
                             const dl_tensor *bias, const group_layout *l, bool per_group,
                             bool batch_statistics, dl_tensor *mean, dl_tensor *rstd,
                             dl_tensor **out)
{
    dl_tensor *xc, *wc = NULL, *bc = NULL, *result = NULL;
    dl_status st = dl_contiguous(x, &xc);
    if (st != DL_OK)
        return st;
    if ((!weight || (st = dl_contiguous(weight, &wc)) == DL_OK) &&
        (!bias || (st = dl_contiguous(bias, &bc)) == DL_OK) &&
        (st = dl_empty(fn, x->ndim, x->shape, &result)) == DL_OK)
        normalise(l, dl_data(xc), dl_data(mean), dl_data(rstd), wc ? dl_data(wc) : NULL,
                  bc ? dl_data(bc) : NULL, per_group, dl_data(result));
    const dl_tensor *inputs[3] = {x, weight, bias};
    if (st == DL_OK && dl_needs_grad(3, inputs)) {
        dl_node *node = dl_record(fn, norm_backward, result, 3, inputs);
        if (node) {
            node->integer[0] = per_group;
            node->integer[1] = batch_statistics;
            dl_save(node, xc);
            dl_save(node, mean);
            dl_save(node, rstd);
            if (wc)
                dl_save(node, wc);
        } else {
            st = DL_ERR_MEMORY;
        }
    }
    dl_release(xc);
    dl_release(wc);
    dl_release(bc);
    if (st != DL_OK) {
        dl_release(result);
        return st;
    }
    *out = result;
    return DL_OK;
}

DL_MULTIVERSION
dl_status dl_batch_norm(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                        dl_tensor *running_mean, dl_tensor *running_var, bool training,
                        float momentum, float eps, dl_tensor **out)
{
    if (x->ndim != 2 && x->ndim != 4) {
        char xs[64];
        dl_shape_string(x, xs, sizeof xs);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'batch_norm' (expected (N, C) or (N, C, H, W), got %s)", xs);
    }
    int64_t c = x->shape[1];
    dl_status st;
    if ((st = check_param("batch_norm", 2, "weight", weight, c)) != DL_OK ||
        (st = check_param("batch_norm", 3, "bias", bias, c)) != DL_OK ||
        (st = check_param("batch_norm", 4, "running mean", running_mean, c)) != DL_OK ||
        (st = check_param("batch_norm", 5, "running variance", running_var, c)) != DL_OK)
        return st;
    if (!training && (!running_mean || !running_var))
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #4 to 'batch_norm' (evaluation mode needs running statistics)");
    group_layout l = batch_layout(x);
    int64_t m = l.blocks * l.run;
    if (training && m < 2)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'batch_norm' (training needs more than one value per "
                       "channel, got %lld)", (long long)m);
    dl_tensor *mean = NULL, *var = NULL, *rstd = NULL, *xc = NULL;
    if ((st = dl_empty("batch_norm", 1, &c, &mean)) != DL_OK ||
        (st = dl_empty("batch_norm", 1, &c, &var)) != DL_OK ||
        (st = dl_empty("batch_norm", 1, &c, &rstd)) != DL_OK ||
        (st = dl_contiguous(x, &xc)) != DL_OK)
        goto done;
    if (training) {
        group_moments(&l, dl_data(xc), dl_data(mean), dl_data(var));
        for (int64_t k = 0; k < c && running_mean && running_var; k++) {
            float *rm = dl_data(running_mean) + k * running_mean->stride[0];
            float *rv = dl_data(running_var) + k * running_var->stride[0];
            *rm = (1 - momentum) * *rm + momentum * dl_data(mean)[k];
            *rv = (1 - momentum) * *rv + momentum * dl_data(var)[k] * (float)m / (float)(m - 1);
        }
        if (running_mean && running_var) {
            dl_bump_version(running_mean);
            dl_bump_version(running_var);
        }
    } else {
        dl_tensor *rmc, *rvc;
        if ((st = dl_contiguous(running_mean, &rmc)) != DL_OK)
            goto done;
        if ((st = dl_contiguous(running_var, &rvc)) != DL_OK) {
            dl_release(rmc);
            goto done;
        }
        memcpy(dl_data(mean), dl_data(rmc), (size_t)c * sizeof(float));
        memcpy(dl_data(var), dl_data(rvc), (size_t)c * sizeof(float));
        dl_release(rmc);
        dl_release(rvc);
    }
    for (int64_t k = 0; k < c; k++)
        dl_data(rstd)[k] = 1.0f / sqrtf(dl_data(var)[k] + eps);
    st = finish_norm("batch_norm", x, weight, bias, &l, true, training, mean, rstd, out);
done:
    dl_release(mean);
    dl_release(var);
    dl_release(rstd);
    dl_release(xc);
    return st;
}

DL_MULTIVERSION
dl_status dl_layer_norm(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                        float eps, dl_tensor **out)
{
    if (x->ndim < 1)
        return dl_fail(DL_ERR_SHAPE, "bad argument #1 to 'layer_norm' (expected at least 1 dim, got a scalar)");
    int64_t d = x->shape[x->ndim - 1];
    dl_status st;
    if ((st = check_param("layer_norm", 2, "weight", weight, d)) != DL_OK ||
        (st = check_param("layer_norm", 3, "bias", bias, d)) != DL_OK)
        return st;
    group_layout l = row_layout(x);
    dl_tensor *mean = NULL, *var = NULL, *rstd = NULL, *xc = NULL;
    if ((st = dl_empty("layer_norm", 1, &l.groups, &mean)) == DL_OK &&
        (st = dl_empty("layer_norm", 1, &l.groups, &var)) == DL_OK &&
        (st = dl_empty("layer_norm", 1, &l.groups, &rstd)) == DL_OK &&
        (st = dl_contiguous(x, &xc)) == DL_OK) {
        group_moments(&l, dl_data(xc), dl_data(mean), dl_data(var));
        for (int64_t k = 0; k < l.groups; k++)
            dl_data(rstd)[k] = 1.0f / sqrtf(dl_data(var)[k] + eps);
        st = finish_norm("layer_norm", x, weight, bias, &l, false, true, mean, rstd, out);
    }
    dl_release(mean);
    dl_release(var);
    dl_release(rstd);
    dl_release(xc);
    return st;
}
