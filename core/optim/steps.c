/*
 * steps.c -- fused optimiser updates: one pass over a parameter, its
 * gradient and its state, following torch.optim's formulas (the single-
 * tensor code paths of torch 1.13, where the notes say otherwise). The
 * options and state of each optimiser come from optimizers.def.
 *
 * Every loop reads the gradient through `sign` (-1 with maximize) and adds
 * weight decay to it as torch does: grad = sign * g + weight_decay * p.
 */
#include <math.h>
#include <string.h>

#include "../internal.h"

#define MAX_STATE 4

/* Checks that the parameter, its gradient and the non-NULL state tensors
 * are contiguous with one element count; returns the gradient data (NULL:
 * the parameter has no gradient, nothing to do). */
static dl_status check_step(const char *fn, dl_tensor *param, dl_tensor *const state[MAX_STATE],
                            const float **grad)
{
    *grad = NULL;
    if (!param->grad)
        return DL_OK;
    int64_t n = dl_numel(param);
    const dl_tensor *all[2 + MAX_STATE] = {param, param->grad};
    for (int i = 0; i < MAX_STATE; i++)
        all[2 + i] = state[i];
    for (int i = 0; i < 2 + MAX_STATE; i++) {
        if (all[i] && (!dl_is_contiguous(all[i]) || dl_numel(all[i]) != n))
            return dl_fail(DL_ERR_SHAPE,
                           "%s: the parameter, its gradient and its state must be contiguous "
                           "tensors of %lld elements", fn, (long long)n);
    }
    *grad = dl_data(param->grad);
    return DL_OK;
}

/* Refuses a state tensor that the options need but that is missing. */
static dl_status need_state(const char *fn, const dl_tensor *t, const char *name)
{
    return t ? DL_OK : dl_fail(DL_ERR_ARGUMENT, "%s: the state '%s' is missing", fn, name);
}

#define CHECK(expr)                          \
    do {                                     \
        dl_status st_ = (expr);              \
        if (st_ != DL_OK)                    \
            return st_;                      \
    } while (0)

/* The common start of a step: the state tensors' checks and the data. */
#define BEGIN_STEP(fn, ...)                                            \
    const float *g;                                                    \
    dl_tensor *state_[MAX_STATE] = {__VA_ARGS__};                      \
    CHECK(check_step(fn, param, state_, &g));                          \
    if (!g)                                                            \
        return DL_OK;                                                  \
    float *restrict p = dl_data(param);                                \
    const int64_t n = dl_numel(param)

DL_MULTIVERSION
dl_status dl_sgd_step(dl_tensor *param, dl_sgd_state *s, const dl_sgd_options *o)
{
    bool momentum = o->momentum != 0.0f;
    if (momentum)
        CHECK(need_state("sgd", s->momentum_buffer, "momentum_buffer"));
    BEGIN_STEP("sgd", momentum ? s->momentum_buffer : NULL);
    const float lr = o->lr, wd = o->weight_decay, mu = o->momentum;
    const float sign = o->maximize ? -1.0f : 1.0f, keep = 1.0f - o->dampening;
    /* One branch-free loop per case, so that each vectorises. */
    if (!momentum) {
        #pragma omp parallel for simd schedule(static) if (parallel: n > DL_PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < n; i++)
            p[i] -= lr * (sign * g[i] + wd * p[i]);
    } else {
        /* A new buffer starts as the gradient itself, as torch's does. */
        float *restrict buf = dl_data(s->momentum_buffer);
        const float first = s->fresh ? 1.0f : 0.0f, nesterov = o->nesterov ? 1.0f : 0.0f;
        #pragma omp parallel for simd schedule(static) if (parallel: n > DL_PARALLEL_THRESHOLD)
        for (int64_t i = 0; i < n; i++) {
            float d = sign * g[i] + wd * p[i];
            float v = first * d + (1.0f - first) * (mu * buf[i] + keep * d);
            buf[i] = v;
            p[i] -= lr * (nesterov * (d + mu * v) + (1.0f - nesterov) * v);
        }
    }
    dl_bump_version(param);
    return DL_OK;
}

/* Adam and AdamW (decoupled: the weights decay directly by lr * weight_decay,
 * not through the gradient). The options of both have Adam's fields. */
DL_MULTIVERSION
static dl_status adam_step(const char *fn, dl_tensor *param, dl_adam_state *s,
                           const dl_adam_options *o, bool decoupled)
{
    CHECK(need_state(fn, s->exp_avg, "exp_avg"));
    CHECK(need_state(fn, s->exp_avg_sq, "exp_avg_sq"));
    if (o->amsgrad)
        CHECK(need_state(fn, s->max_exp_avg_sq, "max_exp_avg_sq"));
    BEGIN_STEP(fn, s->exp_avg, s->exp_avg_sq, o->amsgrad ? s->max_exp_avg_sq : NULL);
    float *restrict mv = dl_data(s->exp_avg), *restrict vv = dl_data(s->exp_avg_sq);
    float *restrict vmax = o->amsgrad ? dl_data(s->max_exp_avg_sq) : NULL;
    const float beta1 = o->betas[0], beta2 = o->betas[1], eps = o->eps;
    const float correction1 = 1.0f - powf(beta1, (float)s->step);
    const float correction2_sqrt = sqrtf(1.0f - powf(beta2, (float)s->step));
    const float step_size = o->lr / correction1;
    const float decay = decoupled ? 1.0f - o->lr * o->weight_decay : 1.0f;
    const float coupled_decay = decoupled ? 0.0f : o->weight_decay;
    const float sign = o->maximize ? -1.0f : 1.0f;
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = sign * g[i] + coupled_decay * p[i];
        p[i] *= decay;
        mv[i] = beta1 * mv[i] + (1.0f - beta1) * grad;
        vv[i] = beta2 * vv[i] + (1.0f - beta2) * grad * grad;
        float second = vv[i];
        if (vmax) {
            vmax[i] = fmaxf(vmax[i], vv[i]);
            second = vmax[i];
        }
        p[i] -= step_size * mv[i] / (sqrtf(second) / correction2_sqrt + eps);
    }
    dl_bump_version(param);
    return DL_OK;
}

DL_MULTIVERSION
dl_status dl_adam_step(dl_tensor *param, dl_adam_state *s, const dl_adam_options *o)
{
    return adam_step("adam", param, s, o, false);
}

DL_MULTIVERSION
dl_status dl_adamw_step(dl_tensor *param, dl_adamw_state *s, const dl_adamw_options *o)
{
    dl_adam_state as = {.step = s->step, .fresh = s->fresh, .exp_avg = s->exp_avg,
                        .exp_avg_sq = s->exp_avg_sq, .max_exp_avg_sq = s->max_exp_avg_sq};
    /* Both option structs come from DL_ADAM_OPTIONS: one layout. */
    dl_adam_options ao;
    _Static_assert(sizeof ao == sizeof *o, "AdamW's options are Adam's");
    memcpy(&ao, o, sizeof ao);
    return adam_step("adamw", param, &as, &ao, true);
}

DL_MULTIVERSION
dl_status dl_rmsprop_step(dl_tensor *param, dl_rmsprop_state *s, const dl_rmsprop_options *o)
{
    bool momentum = o->momentum > 0.0f;
    CHECK(need_state("rmsprop", s->square_avg, "square_avg"));
    if (momentum)
        CHECK(need_state("rmsprop", s->momentum_buffer, "momentum_buffer"));
    if (o->centered)
        CHECK(need_state("rmsprop", s->grad_avg, "grad_avg"));
    BEGIN_STEP("rmsprop", s->square_avg, momentum ? s->momentum_buffer : NULL,
               o->centered ? s->grad_avg : NULL);
    float *restrict sq = dl_data(s->square_avg);
    float *restrict buf = momentum ? dl_data(s->momentum_buffer) : NULL;
    float *restrict avg = o->centered ? dl_data(s->grad_avg) : NULL;
    const float alpha = o->alpha, eps = o->eps, wd = o->weight_decay, mu = o->momentum;
    const float sign = o->maximize ? -1.0f : 1.0f;
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = sign * g[i] + wd * p[i];
        sq[i] = alpha * sq[i] + (1.0f - alpha) * grad * grad;
        float variance = sq[i];
        if (avg) {
            avg[i] = alpha * avg[i] + (1.0f - alpha) * grad;
            variance -= avg[i] * avg[i];
        }
        float update = grad / (sqrtf(variance) + eps);
        if (buf) {
            buf[i] = mu * buf[i] + update;
            update = buf[i];
        }
        p[i] -= o->lr * update;
    }
    dl_bump_version(param);
    return DL_OK;
}

DL_MULTIVERSION
dl_status dl_adagrad_step(dl_tensor *param, dl_adagrad_state *s, const dl_adagrad_options *o)
{
    CHECK(need_state("adagrad", s->sum, "sum"));
    BEGIN_STEP("adagrad", s->sum);
    float *restrict sum = dl_data(s->sum);
    const float clr = o->lr / (1.0f + (float)(s->step - 1) * o->lr_decay);
    const float sign = o->maximize ? -1.0f : 1.0f, wd = o->weight_decay, eps = o->eps;
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = sign * g[i] + wd * p[i];
        sum[i] += grad * grad;
        p[i] -= clr * grad / (sqrtf(sum[i]) + eps);
    }
    dl_bump_version(param);
    return DL_OK;
}

DL_MULTIVERSION
dl_status dl_adamax_step(dl_tensor *param, dl_adamax_state *s, const dl_adamax_options *o)
{
    CHECK(need_state("adamax", s->exp_avg, "exp_avg"));
    CHECK(need_state("adamax", s->exp_inf, "exp_inf"));
    BEGIN_STEP("adamax", s->exp_avg, s->exp_inf);
    float *restrict mv = dl_data(s->exp_avg), *restrict inf = dl_data(s->exp_inf);
    const float beta1 = o->betas[0], beta2 = o->betas[1], eps = o->eps, wd = o->weight_decay;
    const float clr = o->lr / (1.0f - powf(beta1, (float)s->step));
    const float sign = o->maximize ? -1.0f : 1.0f;
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = sign * g[i] + wd * p[i];
        mv[i] = beta1 * mv[i] + (1.0f - beta1) * grad;
        inf[i] = fmaxf(beta2 * inf[i], fabsf(grad) + eps);
        p[i] -= clr * mv[i] / inf[i];
    }
    dl_bump_version(param);
    return DL_OK;
}

DL_MULTIVERSION
dl_status dl_adadelta_step(dl_tensor *param, dl_adadelta_state *s, const dl_adadelta_options *o)
{
    CHECK(need_state("adadelta", s->square_avg, "square_avg"));
    CHECK(need_state("adadelta", s->acc_delta, "acc_delta"));
    BEGIN_STEP("adadelta", s->square_avg, s->acc_delta);
    float *restrict sq = dl_data(s->square_avg), *restrict acc = dl_data(s->acc_delta);
    const float rho = o->rho, eps = o->eps, wd = o->weight_decay, lr = o->lr;
    const float sign = o->maximize ? -1.0f : 1.0f;
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = sign * g[i] + wd * p[i];
        sq[i] = rho * sq[i] + (1.0f - rho) * grad * grad;
        float delta = sqrtf(acc[i] + eps) / sqrtf(sq[i] + eps) * grad;
        acc[i] = rho * acc[i] + (1.0f - rho) * delta * delta;
        p[i] -= lr * delta;
    }
    dl_bump_version(param);
    return DL_OK;
}

/* NAdam with the momentum schedule mu_t = beta1 (1 - 0.96^(t psi) / 2).
 * The second term's product is mu_1 ... mu_t mu_{t+1}, as in Dozat's paper
 * and PyTorch 2; torch 1.13 multiplied mu_t in twice. */
DL_MULTIVERSION
dl_status dl_nadam_step(dl_tensor *param, dl_nadam_state *s, const dl_nadam_options *o)
{
    CHECK(need_state("nadam", s->exp_avg, "exp_avg"));
    CHECK(need_state("nadam", s->exp_avg_sq, "exp_avg_sq"));
    BEGIN_STEP("nadam", s->exp_avg, s->exp_avg_sq);
    float *restrict mv = dl_data(s->exp_avg), *restrict vv = dl_data(s->exp_avg_sq);
    const double beta1 = o->betas[0], beta2 = o->betas[1], t = (double)s->step;
    const double mu = beta1 * (1.0 - 0.5 * pow(0.96, t * o->momentum_decay));
    const double mu_next = beta1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * o->momentum_decay));
    s->mu_product *= mu;
    const float grad_rate = (float)(o->lr * (1.0 - mu) / (1.0 - s->mu_product));
    const float avg_rate = (float)(o->lr * mu_next / (1.0 - s->mu_product * mu_next));
    const float correction2 = (float)(1.0 - pow(beta2, t));
    const float b1 = (float)beta1, b2 = (float)beta2, eps = o->eps, wd = o->weight_decay;
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = g[i] + wd * p[i];
        mv[i] = b1 * mv[i] + (1.0f - b1) * grad;
        vv[i] = b2 * vv[i] + (1.0f - b2) * grad * grad;
        float denom = sqrtf(vv[i] / correction2) + eps;
        p[i] -= (grad_rate * grad + avg_rate * mv[i]) / denom;
    }
    dl_bump_version(param);
    return DL_OK;
}

/* RAdam: Adam whose adaptive term is switched on, and rectified, once the
 * variance estimate is tractable (rho_t > 5). */
DL_MULTIVERSION
dl_status dl_radam_step(dl_tensor *param, dl_radam_state *s, const dl_radam_options *o)
{
    CHECK(need_state("radam", s->exp_avg, "exp_avg"));
    CHECK(need_state("radam", s->exp_avg_sq, "exp_avg_sq"));
    BEGIN_STEP("radam", s->exp_avg, s->exp_avg_sq);
    float *restrict mv = dl_data(s->exp_avg), *restrict vv = dl_data(s->exp_avg_sq);
    const double beta1 = o->betas[0], beta2 = o->betas[1], t = (double)s->step;
    const double correction1 = 1.0 - pow(beta1, t), correction2 = 1.0 - pow(beta2, t);
    const double rho_inf = 2.0 / (1.0 - beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * t * pow(beta2, t) / correction2;
    const bool adaptive = rho_t > 5.0;
    double rate = o->lr / correction1, scale = 0.0;
    if (adaptive) {
        double rect = sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                           ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t));
        rate *= rect;
        scale = sqrt(correction2);
    }
    const float b1 = (float)beta1, b2 = (float)beta2, eps = o->eps, wd = o->weight_decay;
    const float frate = (float)rate, fscale = (float)scale;
    #pragma omp parallel for schedule(static) if (n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float grad = g[i] + wd * p[i];
        mv[i] = b1 * mv[i] + (1.0f - b1) * grad;
        vv[i] = b2 * vv[i] + (1.0f - b2) * grad * grad;
        float adaptive_lr = adaptive ? fscale / (sqrtf(vv[i]) + eps) : 1.0f;
        p[i] -= frate * mv[i] * adaptive_lr;
    }
    dl_bump_version(param);
    return DL_OK;
}

/* Lion (Chen et al. 2023): the sign of an interpolation between momentum
 * and gradient, with decoupled weight decay:
 *   c = b1 m + (1 - b1) g;  p -= lr (sign(c) + wd p);  m = b2 m + (1 - b2) g */
DL_MULTIVERSION
dl_status dl_lion_step(dl_tensor *param, dl_lion_state *s, const dl_lion_options *o)
{
    CHECK(need_state("lion", s->exp_avg, "exp_avg"));
    BEGIN_STEP("lion", s->exp_avg);
    float *restrict mv = dl_data(s->exp_avg);
    const float b1 = o->betas[0], b2 = o->betas[1], lr = o->lr, wd = o->weight_decay;
    #pragma omp parallel for simd schedule(static) if (parallel: n > DL_PARALLEL_THRESHOLD)
    for (int64_t i = 0; i < n; i++) {
        float c = b1 * mv[i] + (1.0f - b1) * g[i];
        float sign_c = (float)((c > 0.0f) - (c < 0.0f));
        p[i] -= lr * (sign_c + wd * p[i]);
        mv[i] = b2 * mv[i] + (1.0f - b2) * g[i];
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
