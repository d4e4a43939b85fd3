/* test_reduce.c -- reductions over one dim or everything. */
#include "helpers.h"

static void whole_tensor_reductions(void **state)
{
    dl_tensor *a = TENSOR(2, SHAPE(2, 3), 1, 5, 3, 4, 2, 6), *r;
    struct { dl_reduce_op op; float want; } cases[] = {
        {DL_SUM, 21}, {DL_MEAN, 3.5f}, {DL_PROD, 720}, {DL_MAX, 6}, {DL_MIN, 1},
        {DL_ARGMAX, 6}, {DL_ARGMIN, 1}, {DL_VAR, 3.5f}, {DL_STD, sqrtf(3.5f)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(dl_reduce(cases[i].op, a, -1, false, 1, &r), DL_OK);
        assert_int_equal(r->ndim, 0);
        expect_tensor(r, 0, NULL, &cases[i].want, 1e-6f);
        dl_release(r);
    }
    assert_int_equal(dl_reduce(DL_VAR, a, -1, false, 0, &r), DL_OK);   /* biased */
    expect_tensor(r, 0, NULL, VALUES(17.5f / 6), 1e-6f);
    dl_release(r);
    assert_int_equal(dl_reduce(DL_SUM, a, -1, true, 1, &r), DL_OK);
    expect_tensor(r, 2, SHAPE(1, 1), VALUES(21), 0);
    dl_release(r);
    dl_release(a);
}

static void reductions_along_a_dim(void **state)
{
    dl_tensor *a = TENSOR(2, SHAPE(2, 3), 1, 5, 3, 4, 2, 6), *r;
    assert_int_equal(dl_reduce(DL_SUM, a, 0, false, 1, &r), DL_OK);
    expect_tensor(r, 1, SHAPE(3), VALUES(5, 7, 9), 0);
    dl_release(r);
    assert_int_equal(dl_reduce(DL_MEAN, a, 1, true, 1, &r), DL_OK);
    expect_tensor(r, 2, SHAPE(2, 1), VALUES(3, 4), 0);
    dl_release(r);
    assert_int_equal(dl_reduce(DL_ARGMAX, a, 1, false, 1, &r), DL_OK);
    expect_tensor(r, 1, SHAPE(2), VALUES(2, 3), 0);       /* 1-based */
    dl_release(r);
    assert_int_equal(dl_reduce(DL_MAX, a, 0, false, 1, &r), DL_OK);
    expect_tensor(r, 1, SHAPE(3), VALUES(4, 5, 6), 0);
    dl_release(r);
    assert_int_equal(dl_reduce(DL_STD, a, 0, false, 1, &r), DL_OK);
    expect_tensor(r, 1, SHAPE(3), VALUES(sqrtf(4.5f), sqrtf(4.5f), sqrtf(4.5f)), 1e-6f);
    dl_release(r);
    assert_int_equal(dl_reduce(DL_SUM, a, 2, false, 1, &r), DL_ERR_ARGUMENT);
    expect_error("bad argument #2 to 'sum' (expected a dim in 1..2, got 3)");
    dl_release(a);
}

static void reductions_of_views_and_3d(void **state)
{
    dl_tensor *a, *v, *r;
    assert_int_equal(dl_arange(0, 24, 1, &a), DL_OK);
    assert_int_equal(dl_reshape("reshape", a, 3, SHAPE(2, 3, 4), &v), DL_OK);
    assert_int_equal(dl_reduce(DL_SUM, v, 1, false, 1, &r), DL_OK);
    expect_tensor(r, 2, SHAPE(2, 4), VALUES(12, 15, 18, 21, 48, 51, 54, 57), 0);
    dl_release(r);
    dl_tensor *t;
    assert_int_equal(dl_transpose(v, 0, 2, &t), DL_OK);   /* (4, 3, 2) */
    assert_int_equal(dl_reduce(DL_MAX, t, 2, false, 1, &r), DL_OK);
    expect_tensor(r, 2, SHAPE(4, 3), VALUES(12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23), 0);
    dl_release(r);
    dl_release(t);
    dl_release(v);
    dl_release(a);
}

static void nan_propagates_and_empty_dims_are_refused(void **state)
{
    dl_tensor *a = TENSOR(1, SHAPE(3), 1, NAN, 3), *r, *e;
    assert_int_equal(dl_reduce(DL_MAX, a, -1, false, 1, &r), DL_OK);
    assert_true(isnan(dl_data(r)[0]));
    dl_release(r);
    assert_int_equal(dl_empty("empty", 2, SHAPE(2, 0), &e), DL_OK);
    assert_int_equal(dl_reduce(DL_MAX, e, 1, false, 1, &r), DL_ERR_SHAPE);
    expect_error("'max'");
    assert_int_equal(dl_reduce(DL_SUM, e, 1, false, 1, &r), DL_OK);
    expect_tensor(r, 1, SHAPE(2), VALUES(0, 0), 0);
    dl_release(r);
    dl_release(e);
    dl_release(a);
}

static void long_sums_are_accurate_and_repeatable(void **state)
{
    dl_tensor *a, *r1, *r2;
    assert_int_equal(dl_full("full", 1, SHAPE(3000000), 0.1f, &a), DL_OK);
    assert_int_equal(dl_reduce(DL_SUM, a, -1, false, 1, &r1), DL_OK);
    dl_set_threads(1);
    assert_int_equal(dl_reduce(DL_SUM, a, -1, false, 1, &r2), DL_OK);
    dl_set_threads(2);
    float want = (float)(3000000.0 * (double)0.1f);
    assert_true(fabsf(dl_data(r1)[0] - want) <= want * 1e-7f);
    assert_true(dl_data(r1)[0] == dl_data(r2)[0]);
    dl_release(r1);
    dl_release(r2);
    dl_release(a);
}

/* Moments over a strided dim (columns) of an (A, B, C) tensor against sums
 * in double here: C = 150 columns is two whole blocks of the column kernel
 * and a partial one; 1 and 2 threads give the same bits. */
static void column_moments_match_a_reference(void **state)
{
    enum { A = 3, B = 200, C = 150 };
    dl_tensor *x;
    assert_int_equal(dl_empty("test", 3, SHAPE(A, B, C), &x), DL_OK);
    float *v = dl_data(x);
    for (int i = 0; i < A * B * C; i++)
        v[i] = (float)((i * 7919) % 1009) / 101.0f - 4.0f;
    const dl_reduce_op ops[] = {DL_SUM, DL_MEAN, DL_VAR, DL_STD};
    for (int dim = 0; dim < 2; dim++) {   /* over A (outer 1) and over B */
        int n = dim == 0 ? A : B, outer = dim == 0 ? 1 : A, inner = dim == 0 ? B * C : C;
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            dl_tensor *r1, *r2;
            assert_int_equal(dl_reduce(ops[k], x, dim, false, 1, &r1), DL_OK);
            dl_set_threads(1);
            assert_int_equal(dl_reduce(ops[k], x, dim, false, 1, &r2), DL_OK);
            dl_set_threads(2);
            assert_int_equal(dl_numel(r1), outer * inner);
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < inner; j++) {
                    double sum = 0, squares = 0;
                    for (int i = 0; i < n; i++)
                        sum += v[(o * n + i) * inner + j];
                    for (int i = 0; i < n; i++) {
                        double d = v[(o * n + i) * inner + j] - sum / n;
                        squares += d * d;
                    }
                    double want = ops[k] == DL_SUM    ? sum
                                  : ops[k] == DL_MEAN ? sum / n
                                  : ops[k] == DL_VAR  ? squares / (n - 1)
                                                      : sqrt(squares / (n - 1));
                    float got = dl_data(r1)[o * inner + j];
                    assert_true(fabs(got - want) <= 1e-5 * (fabs(want) + 1));
                    assert_true(got == dl_data(r2)[o * inner + j]);
                }
            dl_release(r1);
            dl_release(r2);
        }
    }
    dl_release(x);
}

/* The first extreme of x[0], x[s], ... x[(n-1)s] (the first NaN if any):
 * the plain scan every fast path must agree with. */
static int64_t first_extreme(int64_t n, const float *x, int64_t s, bool largest)
{
    int64_t best = 0;
    for (int64_t k = 1; k < n; k++) {
        float v = x[k * s], b = x[best * s];
        if (isnan(b))
            break;
        if (isnan(v) || (largest ? v > b : v < b))
            best = k;
    }
    return best;
}

/* max/min/argmax/argmin over rows of many lengths (around the 16-lane
 * vector loop's boundaries) and over 150 columns, with repeated values
 * (ties: the first wins) and NaNs (the first NaN wins), as PyTorch. */
static void extremes_match_the_plain_scan(void **state)
{
    const int64_t lengths[] = {1, 5, 31, 32, 33, 47, 48, 100, 1000, 4099};
    for (size_t c = 0; c < sizeof lengths / sizeof lengths[0]; c++) {
        int64_t n = lengths[c], rows = 3;
        for (int with_nan = 0; with_nan < 2; with_nan++) {
            dl_tensor *x;
            assert_int_equal(dl_empty("test", 2, SHAPE(rows, n), &x), DL_OK);
            float *v = dl_data(x);
            for (int64_t i = 0; i < rows * n; i++)
                v[i] = (float)((i * 7919 + n) % 23);          /* many ties */
            if (with_nan && n > 2) {
                v[n + n / 2] = NAN;
                v[n + n - 1] = NAN;
                v[2 * n + n - 1] = NAN;
            }
            for (int largest = 0; largest < 2; largest++) {
                dl_tensor *pos, *val;
                assert_int_equal(dl_reduce(largest ? DL_ARGMAX : DL_ARGMIN, x, 1, false, 1, &pos), DL_OK);
                assert_int_equal(dl_reduce(largest ? DL_MAX : DL_MIN, x, 1, false, 1, &val), DL_OK);
                for (int64_t r = 0; r < rows; r++) {
                    int64_t want = first_extreme(n, v + r * n, 1, largest);
                    assert_int_equal((int64_t)dl_data(pos)[r], want + 1);
                    float got = dl_data(val)[r];
                    assert_true(got == v[r * n + want] || (isnan(got) && isnan(v[r * n + want])));
                }
                dl_release(pos);
                dl_release(val);
                /* the same rows as columns: (n, rows) transposed copies */
                dl_tensor *t, *tc;
                assert_int_equal(dl_transpose(x, 0, 1, &t), DL_OK);
                assert_int_equal(dl_contiguous(t, &tc), DL_OK);
                assert_int_equal(dl_reduce(largest ? DL_ARGMAX : DL_ARGMIN, tc, 0, false, 1, &pos), DL_OK);
                for (int64_t r = 0; r < rows; r++)
                    assert_int_equal((int64_t)dl_data(pos)[r],
                                     first_extreme(n, v + r * n, 1, largest) + 1);
                dl_release(pos);
                dl_release(tc);
                dl_release(t);
            }
            dl_release(x);
        }
    }
    dl_tensor *w;   /* 150 columns: two whole blocks and a partial one, 2 blocks of rows */
    assert_int_equal(dl_empty("test", 3, SHAPE(2, 300, 150), &w), DL_OK);
    float *v = dl_data(w);
    for (int64_t i = 0; i < 2 * 300 * 150; i++)
        v[i] = (float)((i * 104729) % 97);
    v[150 * 7 + 3] = NAN;
    dl_tensor *pos;
    assert_int_equal(dl_reduce(DL_ARGMAX, w, 1, false, 1, &pos), DL_OK);
    for (int64_t o = 0; o < 2; o++)
        for (int64_t j = 0; j < 150; j++)
            assert_int_equal((int64_t)dl_data(pos)[o * 150 + j],
                             first_extreme(300, v + o * 300 * 150 + j, 150, true) + 1);
    assert_int_equal((int64_t)dl_data(pos)[3], 8);
    dl_release(pos);
    dl_release(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_tensor_reductions),
        cmocka_unit_test(reductions_along_a_dim),
        cmocka_unit_test(reductions_of_views_and_3d),
        cmocka_unit_test(nan_propagates_and_empty_dims_are_refused),
        cmocka_unit_test(long_sums_are_accurate_and_repeatable),
        cmocka_unit_test(column_moments_match_a_reference),
        cmocka_unit_test(extremes_match_the_plain_scan),
    };
    return cmocka_run_group_tests_name("reduce", tests, NULL, NULL);
}
