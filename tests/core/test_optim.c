/* test_optim.c -- the fused optimiser steps of core/optim: hand-computed
 * single steps, and misuse refused with a status (the values over many
 * steps are compared with PyTorch in tests/lua/optim_oracle_spec.lua). */
#include "helpers.h"

/* A parameter holding `values` whose gradient holds `grads`. */
static dl_tensor *param_with_grad(int64_t n, const float *values, const float *grads)
{
    dl_tensor *p = make(1, SHAPE(n), values);
    p->grad = make(1, SHAPE(n), grads);
    return p;
}

static dl_tensor *zeros(int64_t n)
{
    dl_tensor *t = NULL;
    assert_int_equal(dl_full("test", 1, SHAPE(n), 0.0f, &t), DL_OK);
    return t;
}

static void a_parameter_without_gradient_is_left_alone(void **state)
{
    dl_tensor *p = TENSOR(1, SHAPE(2), 1, 2), *m = zeros(2), *v = zeros(2);
    dl_adam_state s = {.step = 1, .exp_avg = m, .exp_avg_sq = v};
    dl_adam_options o = {.lr = 0.1f, .betas = {0.9f, 0.999f}, .eps = 1e-8f};
    assert_int_equal(dl_adam_step(p, &s, &o), DL_OK);
    expect_tensor(p, 1, SHAPE(2), VALUES(1, 2), 0);
    expect_tensor(m, 1, SHAPE(2), VALUES(0, 0), 0);
    dl_release(p);
    dl_release(m);
    dl_release(v);
}

static void missing_or_misshapen_state_is_refused(void **state)
{
    dl_tensor *p = param_with_grad(2, VALUES(1, 2), VALUES(1, 1)), *m = zeros(2), *small = zeros(1);
    dl_adam_options o = {.lr = 0.1f, .betas = {0.9f, 0.999f}, .eps = 1e-8f, .amsgrad = true};
    dl_adam_state s = {.step = 1, .exp_avg = m, .exp_avg_sq = m};
    assert_int_equal(dl_adam_step(p, &s, &o), DL_ERR_ARGUMENT);
    expect_error("the state 'max_exp_avg_sq' is missing");
    s.max_exp_avg_sq = small;
    assert_int_equal(dl_adam_step(p, &s, &o), DL_ERR_SHAPE);
    expect_error("contiguous tensors of 2 elements");
    expect_tensor(p, 1, SHAPE(2), VALUES(1, 2), 0);
    dl_release(p);
    dl_release(m);
    dl_release(small);
}

/* Lion: c = 0.9 * 0 + 0.1 g; p -= lr (sign(c) + wd p); m = 0.01 g. */
static void lion_moves_each_weight_by_lr_in_the_sign_of_the_gradient(void **state)
{
    dl_tensor *p = param_with_grad(3, VALUES(1, -2, 0.5f), VALUES(3, -0.5f, 0)), *m = zeros(3);
    dl_lion_state s = {.step = 1, .exp_avg = m};
    dl_lion_options o = {.lr = 0.1f, .betas = {0.9f, 0.99f}, .weight_decay = 0.5f};
    assert_int_equal(dl_lion_step(p, &s, &o), DL_OK);
    expect_tensor(p, 1, SHAPE(3), VALUES(1 - 0.1f * (1 + 0.5f), -2 - 0.1f * (-1 - 1.0f),
                                         0.5f - 0.1f * 0.25f), 1e-6f);
    expect_tensor(m, 1, SHAPE(3), VALUES(0.03f, -0.005f, 0), 1e-6f);
    dl_release(p);
    dl_release(m);
}

/* SGD with maximize climbs: p += lr * g (no momentum, no state). */
static void sgd_maximize_climbs(void **state)
{
    dl_tensor *p = param_with_grad(2, VALUES(1, 2), VALUES(0.5f, -1));
    dl_sgd_state s = {.step = 1};
    dl_sgd_options o = {.lr = 0.1f, .maximize = true};
    assert_int_equal(dl_sgd_step(p, &s, &o), DL_OK);
    expect_tensor(p, 1, SHAPE(2), VALUES(1.05f, 1.9f), 1e-6f);
    dl_release(p);
}

/* NAdam keeps the product of the momentum schedule in its state. */
static void nadam_updates_its_mu_product(void **state)
{
    dl_tensor *p = param_with_grad(1, VALUES(1), VALUES(1)), *m = zeros(1), *v = zeros(1);
    dl_nadam_state s = {.step = 1, .mu_product = 1.0, .exp_avg = m, .exp_avg_sq = v};
    dl_nadam_options o = {.lr = 0.1f, .betas = {0.9f, 0.999f}, .eps = 1e-8f,
                          .momentum_decay = 4e-3f};
    assert_int_equal(dl_nadam_step(p, &s, &o), DL_OK);
    double mu1 = 0.9 * (1.0 - 0.5 * pow(0.96, 4e-3));
    assert_true(fabs(s.mu_product - mu1) < 1e-6);
    dl_release(p);
    dl_release(m);
    dl_release(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_parameter_without_gradient_is_left_alone),
        cmocka_unit_test(missing_or_misshapen_state_is_refused),
        cmocka_unit_test(lion_moves_each_weight_by_lr_in_the_sign_of_the_gradient),
        cmocka_unit_test(sgd_maximize_climbs),
        cmocka_unit_test(nadam_updates_its_mu_product),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
