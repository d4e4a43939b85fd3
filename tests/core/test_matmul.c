/* test_matmul.c -- sgemm-backed products against a plain triple loop. */
#include "helpers.h"

/* Reference product of (m,k) and (k,n) read through strides. */
static void naive_matmul(const dl_tensor *a, const dl_tensor *b, float *out)
{
    int64_t m = a->shape[0], k = a->shape[1], n = b->shape[1];
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++)
                s += (double)dl_get(a, (int64_t[]){i, p}) * dl_get(b, (int64_t[]){p, j});
            out[i * n + j] = (float)s;
        }
}

static dl_tensor *random_matrix(int64_t rows, int64_t cols)
{
    dl_tensor *t = NULL;
    assert_int_equal(dl_randn(2, SHAPE(rows, cols), &t), DL_OK);
    return t;
}

static void every_transpose_combination(void **state)
{
    dl_manual_seed(11);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            dl_tensor *a = ta ? random_matrix(33, 17) : random_matrix(17, 33);
            dl_tensor *b = tb ? random_matrix(9, 33) : random_matrix(33, 9);
            dl_tensor *av = a, *bv = b, *c;
            if (ta)
                assert_int_equal(dl_transpose(a, 0, 1, &av), DL_OK);
            if (tb)
                assert_int_equal(dl_transpose(b, 0, 1, &bv), DL_OK);
            assert_int_equal(dl_matmul(av, bv, &c), DL_OK);
            float want[17 * 9];
            naive_matmul(av, bv, want);
            expect_tensor(c, 2, SHAPE(17, 9), want, 1e-4f);
            dl_release(c);
            if (ta)
                dl_release(av);
            if (tb)
                dl_release(bv);
            dl_release(a);
            dl_release(b);
        }
}

static void strided_slices_and_vectors(void **state)
{
    dl_manual_seed(12);
    dl_tensor *a = random_matrix(8, 10), *b = random_matrix(10, 6), *an, *c;
    assert_int_equal(dl_narrow(a, 1, 2, 5, &an), DL_OK);        /* (8,5), row stride 10 */
    dl_tensor *bn;
    assert_int_equal(dl_narrow(b, 0, 0, 5, &bn), DL_OK);
    assert_int_equal(dl_matmul(an, bn, &c), DL_OK);
    float want[8 * 6];
    naive_matmul(an, bn, want);
    expect_tensor(c, 2, SHAPE(8, 6), want, 1e-4f);
    dl_release(c);
    dl_tensor *v = TENSOR(1, SHAPE(3), 1, 2, 3), *m = TENSOR(2, SHAPE(2, 3), 1, 0, 1, 0, 1, 0);
    assert_int_equal(dl_matmul(m, v, &c), DL_OK);
    expect_tensor(c, 1, SHAPE(2), VALUES(4, 2), 0);
    dl_release(c);
    assert_int_equal(dl_matmul(v, v, &c), DL_OK);
    expect_tensor(c, 0, NULL, VALUES(14), 0);
    dl_release(c);
    dl_release(v);
    dl_release(m);
    dl_release(an);
    dl_release(bn);
    dl_release(a);
    dl_release(b);
}

static void batched_and_broadcast(void **state)
{
    dl_manual_seed(13);
    dl_tensor *a, *b, *c;
    assert_int_equal(dl_randn(3, SHAPE(4, 5, 6), &a), DL_OK);
    assert_int_equal(dl_randn(3, SHAPE(4, 6, 3), &b), DL_OK);
    assert_int_equal(dl_matmul(a, b, &c), DL_OK);
    assert_int_equal(c->ndim, 3);
    for (int64_t i = 0; i < 4; i++) {
        dl_tensor *ai, *bi, *ci;
        dl_select(a, 0, i, &ai);
        dl_select(b, 0, i, &bi);
        dl_select(c, 0, i, &ci);
        float want[5 * 3];
        naive_matmul(ai, bi, want);
        expect_tensor(ci, 2, SHAPE(5, 3), want, 1e-4f);
        dl_release(ai);
        dl_release(bi);
        dl_release(ci);
    }
    dl_release(c);
    dl_tensor *w = random_matrix(6, 2);                          /* shared weights */
    assert_int_equal(dl_matmul(a, w, &c), DL_OK);
    dl_tensor *a2, *c2;
    dl_select(a, 0, 3, &a2);
    dl_select(c, 0, 3, &c2);
    float want[5 * 2];
    naive_matmul(a2, w, want);
    expect_tensor(c2, 2, SHAPE(5, 2), want, 1e-4f);
    dl_release(a2);
    dl_release(c2);
    dl_release(c);
    dl_release(w);
    dl_release(a);
    dl_release(b);
}

static void mismatched_shapes_are_explained(void **state)
{
    dl_tensor *a, *b, *c;
    assert_int_equal(dl_empty("t", 2, SHAPE(64, 784), &a), DL_OK);
    assert_int_equal(dl_empty("t", 2, SHAPE(785, 10), &b), DL_OK);
    assert_int_equal(dl_matmul(a, b, &c), DL_ERR_SHAPE);
    expect_error("bad argument #2 to 'matmul' (expected shape (784, *) to match (64, 784), got (785, 10))");
    dl_release(a);
    dl_release(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_transpose_combination),
        cmocka_unit_test(strided_slices_and_vectors),
        cmocka_unit_test(batched_and_broadcast),
        cmocka_unit_test(mismatched_shapes_are_explained),
    };
    return cmocka_run_group_tests_name("matmul", tests, NULL, NULL);
}
