/* test_elementwise.c -- arithmetic with broadcasting, math, softmax. */
#include "helpers.h"

static void same_shape_arithmetic(void **state)
{
    dl_tensor *a = TENSOR(2, SHAPE(2, 2), 1, 2, 3, 4), *b = TENSOR(2, SHAPE(2, 2), 4, 3, 2, 1), *c;
    assert_int_equal(dl_binary(DL_ADD, a, b, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(2, 2), VALUES(5, 5, 5, 5), 0);
    dl_release(c);
    assert_int_equal(dl_binary(DL_DIV, a, b, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(2, 2), VALUES(0.25f, 2.0f / 3, 1.5f, 4), 1e-7f);
    dl_release(c);
    assert_int_equal(dl_binary(DL_POW, a, b, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(2, 2), VALUES(1, 8, 9, 4), 1e-6f);
    dl_release(c);
    assert_int_equal(dl_binary(DL_GT, a, b, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(2, 2), VALUES(0, 0, 1, 1), 0);
    dl_release(c);
    dl_release(a);
    dl_release(b);
}

static void broadcasting_rows_columns_and_ranks(void **state)
{
    dl_tensor *m = TENSOR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    dl_tensor *row = TENSOR(1, SHAPE(3), 10, 20, 30), *col = TENSOR(2, SHAPE(2, 1), 100, 200), *c;
    assert_int_equal(dl_binary(DL_ADD, m, row, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(2, 3), VALUES(11, 22, 33, 14, 25, 36), 0);
    dl_release(c);
    assert_int_equal(dl_binary(DL_SUB, col, m, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(2, 3), VALUES(99, 98, 97, 196, 195, 194), 0);
    dl_release(c);
    assert_int_equal(dl_binary(DL_MUL, col, row, &c), DL_OK);     /* outer product */
    expect_tensor(c, 2, SHAPE(2, 3), VALUES(1000, 2000, 3000, 2000, 4000, 6000), 0);
    dl_release(c);
    dl_tensor *bad = TENSOR(1, SHAPE(2), 1, 2);
    assert_int_equal(dl_binary(DL_ADD, m, bad, &c), DL_ERR_SHAPE);
    expect_error("bad argument #2 to 'add' (expected a shape that broadcasts with (2, 3), got (2,))");
    dl_release(bad);
    dl_release(m);
    dl_release(row);
    dl_release(col);
}

static void strided_operands(void **state)
{
    dl_tensor *m = TENSOR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6), *t, *c;
    assert_int_equal(dl_transpose(m, 0, 1, &t), DL_OK);
    assert_int_equal(dl_binary(DL_MUL, t, t, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(3, 2), VALUES(1, 16, 4, 25, 9, 36), 0);
    dl_release(c);
    assert_int_equal(dl_unary(DL_NEG, t, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(3, 2), VALUES(-1, -4, -2, -5, -3, -6), 0);
    dl_release(c);
    assert_int_equal(dl_binary_scalar(DL_SUB, t, 10, true, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(3, 2), VALUES(9, 6, 8, 5, 7, 4), 0);
    dl_release(c);
    dl_release(t);
    dl_release(m);
}

static void large_operands_take_the_parallel_path(void **state)
{
    dl_tensor *a, *b, *c, *s;
    assert_int_equal(dl_arange(0, 300000, 1, &a), DL_OK);
    assert_int_equal(dl_full("full", 1, SHAPE(300000), 2, &b), DL_OK);
    assert_int_equal(dl_binary(DL_MUL, a, b, &c), DL_OK);
    for (int i = 0; i < 300000; i += 9973)
        assert_true(dl_data(c)[i] == 2.0f * (float)i);
    assert_int_equal(dl_binary_scalar(DL_ADD, c, 1, false, &s), DL_OK);
    assert_true(dl_data(s)[299999] == 599999.0f);
    dl_release(a);
    dl_release(b);
    dl_release(c);
    dl_release(s);
}

static void math_functions(void **state)
{
    dl_tensor *x = TENSOR(1, SHAPE(4), -2, -0.5f, 0, 3), *y;
    struct { dl_unary_op op; float want[4]; } cases[] = {
        {DL_EXP, {expf(-2), expf(-0.5f), 1, expf(3)}},
        {DL_ABS, {2, 0.5f, 0, 3}},
        {DL_TANH, {tanhf(-2), tanhf(-0.5f), 0, tanhf(3)}},
        {DL_SIGMOID, {1 / (1 + expf(2)), 1 / (1 + expf(0.5f)), 0.5f, 1 / (1 + expf(-3))}},
        {DL_RELU, {0, 0, 0, 3}},
        {DL_SIGN, {-1, -1, 0, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(dl_unary(cases[i].op, x, &y), DL_OK);
        expect_tensor(y, 1, SHAPE(4), cases[i].want, 1e-6f);
        dl_release(y);
    }
    assert_int_equal(dl_unary(DL_LOG, x, &y), DL_OK);
    assert_true(isnan(dl_data(y)[0]) && isinf(dl_data(y)[2]));
    dl_release(y);
    assert_int_equal(dl_clamp(x, -1, 1, &y), DL_OK);
    expect_tensor(y, 1, SHAPE(4), VALUES(-1, -0.5f, 0, 1), 0);
    dl_release(y);
    assert_int_equal(dl_clamp(x, 1, -1, &y), DL_ERR_ARGUMENT);
    expect_error("'clamp'");
    assert_string_equal(dl_unary_name(DL_SIGMOID), "sigmoid");
    assert_string_equal(dl_binary_name(DL_MAXIMUM), "maximum");
    dl_release(x);
}

static void softmax_is_stable_and_sums_to_one(void **state)
{
    dl_tensor *x = TENSOR(2, SHAPE(2, 3), 1000, 1001, 1002, -1, 0, 1), *p, *lp;
    assert_int_equal(dl_softmax(x, 1, &p), DL_OK);
    float e = expf(1), z = 1 + e + e * e;
    expect_tensor(p, 2, SHAPE(2, 3), VALUES(1 / z, e / z, e * e / z, 1 / z, e / z, e * e / z), 1e-6f);
    assert_int_equal(dl_log_softmax(x, 1, &lp), DL_OK);
    expect_tensor(lp, 2, SHAPE(2, 3),
                  VALUES(-logf(z), 1 - logf(z), 2 - logf(z), -logf(z), 1 - logf(z), 2 - logf(z)),
                  1e-5f);
    dl_release(p);
    dl_release(lp);
    assert_int_equal(dl_softmax(x, 0, &p), DL_OK);            /* over columns */
    assert_true(fabsf(dl_data(p)[0] - 1) < 1e-6f && dl_data(p)[3] < 1e-6f);
    dl_release(p);
    assert_int_equal(dl_softmax(x, 2, &p), DL_ERR_ARGUMENT);
    expect_error("bad argument #2 to 'softmax' (expected a dim in 1..2, got 3)");
    dl_release(x);
}

/* x ^ s for the exponents computed without powf (2, 1, 0, -1, 3, -2, 0.5)
 * and one that is not (1.5): powf's values within a rounding, at negative
 * bases too, and the gradient s * x^(s-1). */
static void powers_match_powf(void **state)
{
    const float exponents[] = {2, 1, 0, -1, 3, -2, 0.5f, 1.5f};
    const float bases[] = {-3.5f, -1, -0.25f, 0.3f, 1, 2.5f, 7, 1e-3f, 40};
    enum { N = sizeof bases / sizeof bases[0] };
    dl_tensor *x = TENSOR(1, SHAPE(N), -3.5f, -1, -0.25f, 0.3f, 1, 2.5f, 7, 1e-3f, 40);
    assert_int_equal(dl_set_requires_grad(x, true), DL_OK);
    for (size_t e = 0; e < sizeof exponents / sizeof exponents[0]; e++) {
        float s = exponents[e];
        dl_tensor *y, *total;
        assert_int_equal(dl_binary_scalar(DL_POW, x, s, false, &y), DL_OK);
        assert_int_equal(dl_reduce(DL_SUM, y, -1, false, 1, &total), DL_OK);
        assert_int_equal(dl_backward(total, NULL), DL_OK);
        for (int i = 0; i < N; i++) {
            float want = powf(bases[i], s), got = dl_data(y)[i];
            if (isnan(want))
                assert_true(isnan(got));
            else
                assert_true(fabsf(got - want) <= 2.5e-7f * fabsf(want));
            float dwant = s * powf(bases[i], s - 1), dgot = dl_data(x->grad)[i];
            if (isnan(dwant))
                assert_true(isnan(dgot));
            else
                assert_true(fabsf(dgot - dwant) <= 5e-7f * fabsf(dwant));
        }
        dl_zero_grad(x);
        dl_release(total);
        dl_release(y);
    }
    dl_release(x);
}

/* softmax and log_softmax of a (3, 70, 130) tensor over its last dim
 * (rows) and over dim 2 (columns, in blocks of 64) against a double
 * reference; a NaN makes its own row (or column) NaN and no other. */
static void softmax_matches_a_reference_along_any_dim(void **state)
{
    enum { A = 3, B = 70, C = 130 };
    dl_tensor *x;
    assert_int_equal(dl_empty("test", 3, SHAPE(A, B, C), &x), DL_OK);
    float *v = dl_data(x);
    for (int i = 0; i < A * B * C; i++)
        v[i] = (float)((i * 7919) % 2003) / 97.0f - 10.0f;
    v[(1 * B + 5) * C + 7] = NAN;
    v[(2 * B + 9) * C + 100] = -INFINITY;
    for (int dim = 1; dim < 3; dim++) {
        int n = dim == 2 ? C : B, inner = dim == 2 ? 1 : C, outer = dim == 2 ? A * B : A;
        for (int log_space = 0; log_space < 2; log_space++) {
            dl_tensor *p;
            assert_int_equal((log_space ? dl_log_softmax : dl_softmax)(x, dim, &p), DL_OK);
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < inner; j++) {
                    const float *in = v + o * n * inner + j;
                    const float *got = dl_data(p) + o * n * inner + j;
                    double m = -INFINITY, s = 0;
                    bool nan = false;
                    for (int k = 0; k < n; k++) {
                        nan = nan || isnan(in[k * inner]);
                        m = fmax(m, in[k * inner]);
                    }
                    for (int k = 0; k < n; k++)
                        s += exp(in[k * inner] - m);
                    for (int k = 0; k < n; k++) {
                        double want = log_space ? in[k * inner] - m - log(s)
                                                : exp(in[k * inner] - m) / s;
                        if (nan)
                            assert_true(isnan(got[k * inner]));
                        else if (isinf(want))
                            assert_true(got[k * inner] == (float)want);
                        else
                            assert_true(fabs(got[k * inner] - want) <= 1e-5 * (fabs(want) + 1e-3));
                    }
                }
            dl_release(p);
        }
    }
    dl_release(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_shape_arithmetic),
        cmocka_unit_test(broadcasting_rows_columns_and_ranks),
        cmocka_unit_test(strided_operands),
        cmocka_unit_test(large_operands_take_the_parallel_path),
        cmocka_unit_test(math_functions),
        cmocka_unit_test(softmax_is_stable_and_sums_to_one),
        cmocka_unit_test(powers_match_powf),
        cmocka_unit_test(softmax_matches_a_reference_along_any_dim),
    };
    return cmocka_run_group_tests_name("elementwise", tests, NULL, NULL);
}
