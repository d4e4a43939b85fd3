/*
 * steps.c -- fused optimiser updates: one pass over a parameter, its
 * gradient and its state, following torch.optim's formulas exactly.
 */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* Checks that the parameter, its gradient and state tensors are contiguous
 * and of one shape; returns the gradient data (NULL: nothing to do). */
static dl_status check_step(const char *fn, dl_tensor *param, dl_tensor *const *state,
                            int nstate, const float **grad)
{
    *grad = NULL;
    if (!param->grad)
        return DL_OK;
    const dl_tensor *all[4] = {param, param->grad, nstate > 0 ? state[0] : NULL,
                               nstate > 1 ? state[1] : NULL};
    int64_t n = dl_numel(param);
    for (int i = 0; i < 2 + nstate; i++) {
        if (!all[i])
            continue;
        if (!dl_is_contiguous(all[i]) || dl_numel(all[i]) != n)
            return dl_fail(DL_ERR_SHAPE,
                           "%s: the parameter, its gradient and its state must be contiguous "
                           "tensors of %lld elements", fn, (long long)n);
    }
    *grad = dl_data(param->grad);
    return DL_OK;
}

DL_MULTIVERSION
dl_status dl_sgd_step(dl_tensor *param, dl_tensor *velocity, const dl_sgd_options *o,
                      bool first_step)
{
    const float *g;
    bool momentum = o->momentum != 0.0f;
    if (momentum && !velocity)
        return dl_fail(DL_ERR_ARGUMENT, "sgd: momentum needs a velocity buffer");
    dl_status st = check_step("sgd", param, &velocity, momentum ? 1 : 0, &g);
    if (st != DL_OK || !g)
        return st;
    float *restrict p = dl_data(param);
    int64_t n = dl_numel(param);
    const float lr = o->lr, wd = o->weight_decay, mu = o->momentum;
    const float keep = 1.0f - o->dampening;
    /* One branch-free loop per case, so that each vectorises. */
    if (!momentum) {
        #pragma omp parallel for simd schedule(static) if (parallel: n > DL_PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < n; i++)
            p[i] -= lr * (g[i] + wd * p[i]);
    } else {
        float *restrict buf = dl_data(velocity);
        const float first = first_step ? 1.0f : 0.0f, nesterov = o->nesterov ? 1.0f : 0.0f;
        #pragma omp parallel for simd schedule(static) if (parallel: n > DL_PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            float v = first * d + (1.0f - first) * (mu * buf[i] + keep * d);
            buf[i] = v;
            p[i] -= lr * (nesterov * (d + mu * v) + (1.0f - nesterov) * v);
        }
    }
    dl_bump_version(param);
    return DL_OK;
}

DL_MULTIVERSION
dl_status dl_adam_step(dl_tensor *param, dl_tensor *m, dl_tensor *v,
                       const dl_adam_options *o, int64_t step)
{
    const float *g;
    dl_tensor *state[2] = {m, v};
    dl_status st = check_step(o->decoupled ? "adamw" : "adam", param, state, 2, &g);
    if (st != DL_OK || !g)
        return st;
    float *p = dl_data(param), *mv = dl_data(m), *vv = dl_data(v);
    float correction1 = 1.0f - powf(o->beta1, (float)step);
    float correction2_sqrt = sqrtf(1.0f - powf(o->beta2, (float)step));
    float step_size = o->lr / correction1;
    float decay = o->decoupled ? 1.0f - o->lr * o->weight_decay : 1.0f;
    float coupled_decay = o->decoupled ? 0.0f : o->weight_decay;
    int64_t n = dl_numel(param);
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = g[i] + coupled_decay * p[i];
        p[i] *= decay;
        mv[i] = o->beta1 * mv[i] + (1.0f - o->beta1) * grad;
        vv[i] = o->beta2 * vv[i] + (1.0f - o->beta2) * grad * grad;
        p[i] -= step_size * mv[i] / (sqrtf(vv[i]) / correction2_sqrt + o->eps);
    }
    dl_bump_version(param);
    return DL_OK;
}

DL_MULTIVERSION
dl_status dl_rmsprop_step(dl_tensor *param, dl_tensor *square_avg, dl_tensor *buffer,
                          const dl_rmsprop_options *o)
{
    const float *g;
    bool momentum = o->momentum > 0.0f;
    if (momentum && !buffer)
        return dl_fail(DL_ERR_ARGUMENT, "rmsprop: momentum needs a buffer");
    dl_tensor *state[2] = {square_avg, buffer};
    dl_status st = check_step("rmsprop", param, state, momentum ? 2 : 1, &g);
    if (st != DL_OK || !g)
        return st;
    float *p = dl_data(param), *sq = dl_data(square_avg), *buf = momentum ? dl_data(buffer) : NULL;
    int64_t n = dl_numel(param);
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = g[i] + o->weight_decay * p[i];
        sq[i] = o->alpha * sq[i] + (1.0f - o->alpha) * grad * grad;
        float update = grad / (sqrtf(sq[i]) + o->eps);
        if (momentum) {
            buf[i] = o->momentum * buf[i] + update;
            update = buf[i];
        }
        p[i] -= o->lr * update;
    }
    dl_bump_version(param);
    return DL_OK;
}

DL_MULTIVERSION
dl_status dl_adagrad_step(dl_tensor *param, dl_tensor *sum, const dl_adagrad_options *o,
                          int64_t step)
{
    const float *g;
    dl_status st = check_step("adagrad", param, &sum, 1, &g);
    if (st != DL_OK || !g)
        return st;
    float *p = dl_data(param), *s = dl_data(sum);
    float clr = o->lr / (1.0f + (float)(step - 1) * o->lr_decay);
    int64_t n = dl_numel(param);
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = g[i] + o->weight_decay * p[i];
        s[i] += grad * grad;
        p[i] -= clr * grad / (sqrtf(s[i]) + o->eps);
    }
    dl_bump_version(param);
    return DL_OK;
}

static void scale_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx)
{
    float s = *(const float *)ctx;
    float *restrict x = ptr[0];
    for (int64_t i = 0; i < n; i++)
        x[i * stride[0]] *= s;
}

void dl_scale_(dl_tensor *t, float s)
{
    const dl_tensor *ops[1] = {t};
    dl_walk w;
    dl_walk_setup(&w, t->ndim, t->shape, 1, ops);
    dl_walk_rows(&w, scale_row, &s);
    dl_bump_version(t);
}
