/*
 * test_nn_vocab.c -- the gradients of the newer layer and loss kernels
 * against finite differences: class losses with weights, ignored labels,
 * extra dims and probability targets; general convolution (dilation,
 * groups, asymmetric padding); padding modes; windowed and adaptive
 * pooling; upsampling.
 *
 * As in test_gradcheck.c: L = sum(out * R) for fixed random R, its
 * gradient by backward() seeded with R and by central differences.
 */
#include "helpers.h"

typedef dl_status (*op_fn)(dl_tensor *const *in, dl_tensor **out);

typedef struct {
    const char *name;
    int ninputs;
    int ndim[3];
    int64_t shape[3][DL_MAX_DIM];
    op_fn run;
    int param;
} grad_case;

static int current_param;

/* ---- class losses ---- */

/* 1-based labels for (2, 3) positions over 4 classes; -100 where ignored. */
static dl_tensor *labels_2x3(bool with_ignored)
{
    return TENSOR(2, SHAPE(2, 3), 1, 4, with_ignored ? -100 : 2, 3, 3, 1);
}

static dl_tensor *class_weights(void)
{
    return TENSOR(1, SHAPE(4), 0.5, 2, 1, 3);
}

/* scores (2, 4, 3): param 0 plain mean, 1 weighted mean with an ignored
 * label, 2 weighted and smoothed sum, 3 "none"; nll_loss for param >= 10. */
static dl_status run_class_loss(dl_tensor *const *in, dl_tensor **out)
{
    int p = current_param % 10;
    dl_tensor *labels = labels_2x3(p == 1), *w = class_weights();
    dl_class_loss_options o = {p == 1 || p == 2 ? w : NULL, DL_IGNORE_DEFAULT,
                               p == 2 && current_param < 10 ? 0.2f : 0.0f,
                               p == 2 ? DL_REDUCE_SUM : p == 3 ? DL_REDUCE_NONE : DL_REDUCE_MEAN};
    dl_status st = current_param < 10 ? dl_cross_entropy_with(in[0], labels, &o, out)
                                      : dl_nll_loss_with(in[0], labels, &o, out);
    dl_release(labels);
    dl_release(w);
    return st;
}

/* scores (3, 4) against probabilities softmax(in[1]) (3, 4), weighted and
 * smoothed when param is 1: gradients flow to both. */
static dl_status run_soft_cross_entropy(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *w = class_weights(), *t;
    dl_status st = dl_softmax(in[1], 1, &t);
    if (st != DL_OK)
        return st;
    dl_class_loss_options o = {current_param ? w : NULL, DL_IGNORE_DEFAULT,
                               current_param ? 0.1f : 0.0f, DL_REDUCE_MEAN};
    st = dl_cross_entropy_with(in[0], t, &o, out);
    dl_release(t);
    dl_release(w);
    return st;
}

/* ---- convolution, padding, pooling, upsampling ---- */

/* x (2, 4, 6, 5), weight (4, 4/groups, 3, 2), bias (4). */
static dl_status run_conv_general(dl_tensor *const *in, dl_tensor **out)
{
    static const dl_conv2d_options options[] = {
        {{1, 1}, {1, 1, 0, 0}, {2, 1}, 1},      /* dilation */
        {{2, 1}, {1, 1, 1, 1}, {1, 1}, 2},      /* groups, strided */
        {{1, 1}, {1, 2, 0, 1}, {1, 2}, 4},      /* depthwise, dilated, uneven padding */
    };
    return dl_conv2d_with(in[0], in[1], in[2], &options[current_param], out);
}

static dl_status run_pad(dl_tensor *const *in, dl_tensor **out)
{
    int pads[4] = {2, 1, 1, 3};
    return dl_pad(in[0], current_param == DL_PAD_CIRCULAR ? 2 : 4, pads,
                  (dl_pad_mode)current_param, 0.5f, out);
}

/* 1, 2: max / average with ceil_mode; 3: average without the padding;
 * 4, 5: adaptive max / average. */
static dl_status run_pool_windows(dl_tensor *const *in, dl_tensor **out)
{
    dl_pool2d_options o = {{3, 2}, {2, 2}, {1, 1}, current_param != 3, current_param == 2};
    int64_t size[2] = {3, 4};
    switch (current_param) {
    case 1: return dl_max_pool2d_with(in[0], &o, out);
    case 2: case 3: return dl_avg_pool2d_with(in[0], &o, out);
    case 4: return dl_adaptive_max_pool2d(in[0], size, out);
    default: return dl_adaptive_avg_pool2d(in[0], size, out);
    }
}

static dl_status run_interpolate(dl_tensor *const *in, dl_tensor **out)
{
    int64_t size[2] = {7, 4};
    double none[2] = {0, 0}, scale[2] = {2, 1.5};
    bool by_scale = current_param == 3;
    if (by_scale) {
        size[0] = 8;
        size[1] = 7;
    }
    return dl_interpolate(in[0], size, by_scale ? scale : none,
                          current_param == 0 ? DL_UPSAMPLE_NEAREST : DL_UPSAMPLE_BILINEAR,
                          current_param == 2, out);
}

#define S(...) {__VA_ARGS__}
#define ONE(nd, ...) 1, {nd}, {S(__VA_ARGS__)}
#define TWO(n1, n2, s1, s2) 2, {n1, n2}, {s1, s2}
#define THREE(n1, n2, n3, s1, s2, s3) 3, {n1, n2, n3}, {s1, s2, s3}

static const grad_case cases[] = {
    {"cross_entropy (N, C, d)", ONE(3, 2, 4, 3), run_class_loss, 0},
    {"cross_entropy weighted, ignored label", ONE(3, 2, 4, 3), run_class_loss, 1},
    {"cross_entropy weighted, smoothed, sum", ONE(3, 2, 4, 3), run_class_loss, 2},
    {"cross_entropy none", ONE(3, 2, 4, 3), run_class_loss, 3},
    {"nll_loss (N, C, d)", ONE(3, 2, 4, 3), run_class_loss, 10},
    {"nll_loss weighted, ignored label", ONE(3, 2, 4, 3), run_class_loss, 11},
    {"nll_loss none", ONE(3, 2, 4, 3), run_class_loss, 13},
    {"cross_entropy probabilities", TWO(2, 2, S(3, 4), S(3, 4)), run_soft_cross_entropy, 0},
    {"cross_entropy probabilities weighted", TWO(2, 2, S(3, 4), S(3, 4)), run_soft_cross_entropy, 1},
    {"conv2d dilated", THREE(4, 4, 1, S(2, 4, 6, 5), S(4, 4, 3, 2), S(4)), run_conv_general, 0},
    {"conv2d groups, strided", THREE(4, 4, 1, S(2, 4, 6, 5), S(4, 2, 3, 2), S(4)), run_conv_general, 1},
    {"conv2d depthwise, uneven padding", THREE(4, 4, 1, S(2, 4, 6, 5), S(4, 1, 3, 2), S(4)),
     run_conv_general, 2},
    {"pad constant", ONE(3, 2, 4, 5), run_pad, DL_PAD_CONSTANT},
    {"pad reflect", ONE(3, 2, 4, 5), run_pad, DL_PAD_REFLECT},
    {"pad replicate", ONE(3, 2, 4, 5), run_pad, DL_PAD_REPLICATE},
    {"pad circular (last dim)", ONE(3, 2, 4, 5), run_pad, DL_PAD_CIRCULAR},
    {"max_pool2d ceil_mode", ONE(4, 2, 2, 6, 5), run_pool_windows, 1},
    {"avg_pool2d ceil_mode", ONE(4, 2, 2, 6, 5), run_pool_windows, 2},
    {"avg_pool2d without the padding", ONE(4, 2, 2, 6, 5), run_pool_windows, 3},
    {"adaptive_max_pool2d", ONE(4, 2, 2, 7, 5), run_pool_windows, 4},
    {"adaptive_avg_pool2d", ONE(4, 2, 2, 7, 5), run_pool_windows, 5},
    {"interpolate nearest", ONE(4, 2, 2, 3, 5), run_interpolate, 0},
    {"interpolate bilinear", ONE(4, 2, 2, 3, 5), run_interpolate, 1},
    {"interpolate bilinear, align_corners", ONE(4, 2, 2, 3, 5), run_interpolate, 2},
    {"interpolate bilinear by scale", ONE(4, 2, 2, 4, 5), run_interpolate, 3},
};

/* sum(out * R) in double. */
static double weighted_sum(const dl_tensor *out, const dl_tensor *r)
{
    dl_tensor *oc;
    assert_int_equal(dl_contiguous(out, &oc), DL_OK);
    double s = 0;
    for (int64_t i = 0, n = dl_numel(oc); i < n; i++)
        s += (double)dl_data(oc)[i] * dl_data(r)[i];
    dl_release(oc);
    return s;
}

static double loss_at(const grad_case *c, dl_tensor *const *in, const dl_tensor *r)
{
    dl_tensor *out;
    bool was = dl_set_grad_enabled(false);
    assert_int_equal(c->run(in, &out), DL_OK);
    dl_set_grad_enabled(was);
    double l = weighted_sum(out, r);
    dl_release(out);
    return l;
}

/* Distinct values in random order spread over [-1.1, 1.1]: no two within
 * finite-difference reach of each other (max pooling). */
static void fill_inputs(dl_tensor *t)
{
    float *p = dl_data(t);
    int64_t n = dl_numel(t);
    dl_tensor *order;
    assert_int_equal(dl_randperm(n, &order), DL_OK);
    for (int64_t i = 0; i < n; i++)
        p[i] = -1.1f + 2.2f * ((float)dl_data(order)[i] - 0.25f) / (float)n;
    dl_release(order);
}

static void check_case(const grad_case *c)
{
    dl_tensor *in[3] = {NULL, NULL, NULL};
    for (int k = 0; k < c->ninputs; k++) {
        assert_int_equal(dl_empty("gradcheck", c->ndim[k], c->shape[k], &in[k]), DL_OK);
        fill_inputs(in[k]);
        in[k]->requires_grad = true;
    }
    current_param = c->param;
    dl_tensor *out, *r;
    if (c->run(in, &out) != DL_OK)
        fail_msg("%s: forward failed: %s", c->name, dl_error());
    assert_int_equal(dl_randn(out->ndim, out->shape, &r), DL_OK);
    if (dl_backward(out, r) != DL_OK)
        fail_msg("%s: backward failed: %s", c->name, dl_error());
    const double eps = 1e-3;
    for (int k = 0; k < c->ninputs; k++) {
        float *x = dl_data(in[k]);
        for (int64_t i = 0, n = dl_numel(in[k]); i < n; i++) {
            float saved = x[i];
            x[i] = saved + (float)eps;
            double up = loss_at(c, in, r);
            x[i] = saved - (float)eps;
            double down = loss_at(c, in, r);
            x[i] = saved;
            double numeric = (up - down) / (2 * eps);
            double analytic = in[k]->grad ? dl_data(in[k]->grad)[i] : 0.0;
            if (fabs(numeric - analytic) > 1e-2 + 1e-2 * fabs(numeric))
                fail_msg("%s: d/d input %d [%lld]: backward %.6g, finite differences %.6g",
                         c->name, k + 1, (long long)i, analytic, numeric);
        }
    }
    dl_release(out);
    dl_release(r);
    for (int k = 0; k < c->ninputs; k++)
        dl_release(in[k]);
}

static void new_kernels_match_finite_differences(void **state)
{
    dl_manual_seed(7);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
    assert_int_equal(dl_memory_in_use(), 0);
}

/* An all-ignored batch: "mean" is 0/0 (nan, as PyTorch), the gradient 0. */
static void all_ignored_labels_give_nan_and_zero_gradient(void **state)
{
    dl_tensor *x = TENSOR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6), *y = TENSOR(1, SHAPE(2), 2, 2), *out;
    x->requires_grad = true;
    dl_class_loss_options o = {NULL, 2, 0.0f, DL_REDUCE_MEAN};
    assert_int_equal(dl_cross_entropy_with(x, y, &o, &out), DL_OK);
    assert_true(isnan(dl_data(out)[0]));
    assert_int_equal(dl_backward(out, NULL), DL_OK);
    expect_tensor(x->grad, 2, SHAPE(2, 3), VALUES(0, 0, 0, 0, 0, 0), 0);
    dl_release(out);
    dl_release(x);
    dl_release(y);
    assert_int_equal(dl_memory_in_use(), 0);
}

static void class_loss_errors_name_the_argument(void **state)
{
    dl_tensor *x = TENSOR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6), *y = TENSOR(1, SHAPE(2), 1, 5);
    dl_tensor *w = TENSOR(1, SHAPE(2), 1, 1), *p = TENSOR(2, SHAPE(2, 3), 1, 0, 0, 0, 1, 0), *out;
    dl_class_loss_options o = {NULL, DL_IGNORE_DEFAULT, 0.0f, DL_REDUCE_MEAN};
    assert_int_equal(dl_cross_entropy_with(x, y, &o, &out), DL_ERR_ARGUMENT);
    expect_error("expected class labels in 1..3, got 5 at row 2");
    o.weight = w;
    assert_int_equal(dl_nll_loss_with(x, p, &o, &out), DL_ERR_SHAPE);
    expect_error("probability targets need cross_entropy");
    assert_int_equal(dl_cross_entropy_with(x, p, &o, &out), DL_ERR_SHAPE);
    expect_error("option 'weight' of shape (3,)");
    o.weight = NULL;
    o.ignore_index = 1;
    assert_int_equal(dl_cross_entropy_with(x, p, &o, &out), DL_ERR_ARGUMENT);
    expect_error("ignore_index is not supported for probability targets");
    dl_release(x);
    dl_release(y);
    dl_release(w);
    dl_release(p);
}

/* Largest |a - b| over two same-shaped tensors. */
static float max_difference(const dl_tensor *a, const dl_tensor *b)
{
    dl_tensor *ac, *bc;
    assert_int_equal(dl_contiguous(a, &ac), DL_OK);
    assert_int_equal(dl_contiguous(b, &bc), DL_OK);
    assert_int_equal(dl_numel(ac), dl_numel(bc));
    float worst = 0;
    for (int64_t i = 0; i < dl_numel(ac); i++)
        worst = fmaxf(worst, fabsf(dl_data(ac)[i] - dl_data(bc)[i]));
    dl_release(ac);
    dl_release(bc);
    return worst;
}

/* The plain case goes to dl_conv2d's routes (the same numbers, bit for
 * bit); uneven padding runs the general route and equals padding first. */
static void conv2d_with_routes_the_plain_case_to_conv2d(void **state)
{
    dl_manual_seed(3);
    dl_tensor *x, *w, *b, *plain, *routed, *padded, *uneven, *by_pad;
    assert_int_equal(dl_randn(4, SHAPE(3, 5, 9, 8), &x), DL_OK);
    assert_int_equal(dl_randn(4, SHAPE(6, 5, 3, 4), &w), DL_OK);
    assert_int_equal(dl_randn(1, SHAPE(6), &b), DL_OK);
    dl_conv2d_options even = {{1, 2}, {1, 1, 2, 2}, {1, 1}, 1};
    assert_int_equal(dl_conv2d(x, w, b, (const int[]){1, 2}, (const int[]){1, 2}, &plain), DL_OK);
    assert_int_equal(dl_conv2d_with(x, w, b, &even, &routed), DL_OK);
    assert_true(max_difference(plain, routed) == 0.0f);
    dl_conv2d_options same = {{1, 1}, {1, 1, 1, 2}, {1, 1}, 1};
    assert_int_equal(dl_conv2d_with(x, w, b, &same, &uneven), DL_OK);
    assert_int_equal(dl_pad(x, 4, (const int[]){1, 2, 1, 1}, DL_PAD_CONSTANT, 0.0f, &padded), DL_OK);
    assert_int_equal(dl_conv2d(padded, w, b, (const int[]){1, 1}, (const int[]){0, 0}, &by_pad), DL_OK);
    assert_int_equal(uneven->shape[2], 9);   /* "same": the size is kept */
    assert_int_equal(uneven->shape[3], 8);
    assert_true(max_difference(uneven, by_pad) < 1e-4f);
    dl_tensor *all[] = {x, w, b, plain, routed, padded, uneven, by_pad};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        dl_release(all[i]);
    assert_int_equal(dl_memory_in_use(), 0);
}

static void conv_and_pad_errors_name_the_option(void **state)
{
    dl_tensor *x, *w, *out;
    assert_int_equal(dl_full("test", 4, SHAPE(1, 4, 5, 5), 1.0f, &x), DL_OK);
    assert_int_equal(dl_full("test", 4, SHAPE(6, 2, 3, 3), 1.0f, &w), DL_OK);
    dl_conv2d_options o = {{1, 1}, {0, 0, 0, 0}, {0, 1}, 2};
    assert_int_equal(dl_conv2d_with(x, w, NULL, &o, &out), DL_ERR_ARGUMENT);
    expect_error("expected stride >= 1, dilation >= 1 and padding >= 0, got stride 1, dilation 0");
    o.dilation[0] = 1;
    o.groups = 4;
    assert_int_equal(dl_conv2d_with(x, w, NULL, &o, &out), DL_ERR_ARGUMENT);
    expect_error("expected groups dividing the 4 input channels and the 6 output channels, got 4");
    o.groups = 2;
    o.dilation[0] = 3;
    assert_int_equal(dl_conv2d_with(x, w, NULL, &o, &out), DL_ERR_SHAPE);
    expect_error("a kernel spanning 7x3 with dilation does not fit a 5x5 image");
    assert_int_equal(dl_pad(x, 4, (const int[]){5, 0, 0, 0}, DL_PAD_REFLECT, 0.0f, &out), DL_ERR_ARGUMENT);
    expect_error("reflect padding of 5 does not fit dim 4 of size 5");
    assert_int_equal(dl_pad(x, 2, (const int[]){6, 0}, DL_PAD_CIRCULAR, 0.0f, &out), DL_ERR_ARGUMENT);
    expect_error("circular padding of 6 does not fit dim 4 of size 5");
    dl_release(x);
    dl_release(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_kernels_match_finite_differences),
        cmocka_unit_test(all_ignored_labels_give_nan_and_zero_gradient),
        cmocka_unit_test(class_loss_errors_name_the_argument),
        cmocka_unit_test(conv2d_with_routes_the_plain_case_to_conv2d),
        cmocka_unit_test(conv_and_pad_errors_name_the_option),
    };
    return cmocka_run_group_tests_name("nn_vocab", tests, NULL, NULL);
}
