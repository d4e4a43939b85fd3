/* test_tensor.c -- creation, refcounted views, copying, the buffer cache. */
#include "helpers.h"

static void creators_fill_values(void **state)
{
    dl_tensor *t;
    assert_int_equal(dl_full("full", 2, SHAPE(2, 3), 7.0f, &t), DL_OK);
    expect_tensor(t, 2, SHAPE(2, 3), VALUES(7, 7, 7, 7, 7, 7), 0);
    dl_release(t);
    assert_int_equal(dl_arange(1, 10, 3, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(3), VALUES(1, 4, 7), 0);
    dl_release(t);
    assert_int_equal(dl_arange(5, 0, -2, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(3), VALUES(5, 3, 1), 0);
    dl_release(t);
    assert_int_equal(dl_linspace(0, 1, 5, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(5), VALUES(0, 0.25f, 0.5f, 0.75f, 1), 0);
    dl_release(t);
    assert_int_equal(dl_eye(2, 3, &t), DL_OK);
    expect_tensor(t, 2, SHAPE(2, 3), VALUES(1, 0, 0, 0, 1, 0), 0);
    dl_release(t);
}

static void creators_reject_bad_sizes(void **state)
{
    dl_tensor *t = NULL;
    assert_int_equal(dl_full("zeros", 2, SHAPE(2, -1), 0, &t), DL_ERR_ARGUMENT);
    expect_error("bad argument #2 to 'zeros' (expected a size >= 0, got -1)");
    assert_null(t);
    assert_int_equal(dl_empty("zeros", 4, SHAPE(1 << 20, 1 << 20, 1 << 20, 8), &t), DL_ERR_MEMORY);
    expect_error("too large");
    assert_int_equal(dl_arange(0, 10, -1, &t), DL_ERR_ARGUMENT);
    expect_error("'arange'");
    assert_int_equal(dl_empty("zeros", 9, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1), &t), DL_ERR_ARGUMENT);
    expect_error("at most 8 sizes");
}

static void views_share_storage_and_outlive_their_source(void **state)
{
    dl_tensor *a = TENSOR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6), *row, *col;
    assert_int_equal(dl_select(a, 0, 1, &row), DL_OK);
    assert_int_equal(dl_select(a, 1, 2, &col), DL_OK);
    expect_tensor(row, 1, SHAPE(3), VALUES(4, 5, 6), 0);
    expect_tensor(col, 1, SHAPE(2), VALUES(3, 6), 0);
    dl_fill_(row, 0);
    expect_tensor(a, 2, SHAPE(2, 3), VALUES(1, 2, 3, 0, 0, 0), 0);
    dl_release(a);                       /* the views keep the storage alive */
    expect_tensor(col, 1, SHAPE(2), VALUES(3, 0), 0);
    dl_release(row);
    dl_release(col);
    assert_int_equal(dl_memory_in_use(), 0);
}

static void copy_broadcasts_and_handles_overlap(void **state)
{
    dl_tensor *a = TENSOR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    dl_tensor *r = TENSOR(1, SHAPE(3), 7, 8, 9), *t;
    assert_int_equal(dl_copy_(a, r), DL_OK);
    expect_tensor(a, 2, SHAPE(2, 3), VALUES(7, 8, 9, 7, 8, 9), 0);
    /* copy a transposed view of itself: must read before writing */
    dl_tensor *sq = TENSOR(2, SHAPE(2, 2), 1, 2, 3, 4);
    assert_int_equal(dl_transpose(sq, 0, 1, &t), DL_OK);
    assert_int_equal(dl_copy_(sq, t), DL_OK);
    expect_tensor(sq, 2, SHAPE(2, 2), VALUES(1, 3, 2, 4), 0);
    assert_int_equal(dl_copy_(r, a), DL_ERR_SHAPE);
    expect_error("'copy_'");
    dl_release(t);
    dl_release(sq);
    dl_release(a);
    dl_release(r);
}

static void item_needs_one_element(void **state)
{
    dl_tensor *a = TENSOR(1, SHAPE(2), 1, 2), *s = TENSOR(0, NULL, 3.5f);
    float v;
    assert_int_equal(dl_item(s, &v), DL_OK);
    assert_true(v == 3.5f);
    assert_int_equal(dl_item(a, &v), DL_ERR_SHAPE);
    expect_error("bad argument #1 to 'item' (expected a tensor with one element, got shape (2,))");
    dl_release(a);
    dl_release(s);
}

static void buffer_cache_reuses_exact_sizes(void **state)
{
    dl_cache_clear();
    dl_tensor *a, *b;
    assert_int_equal(dl_empty("t", 1, SHAPE(1000), &a), DL_OK);
    float *first = dl_data(a);
    size_t in_use = dl_memory_in_use();
    assert_true(in_use >= 4000);
    dl_release(a);
    assert_int_equal(dl_memory_in_use(), 0);
    assert_true(dl_memory_cached() >= 4000);
    assert_int_equal(dl_empty("t", 1, SHAPE(1000), &b), DL_OK);
    assert_ptr_equal(dl_data(b), first);
    assert_int_equal(((uintptr_t)dl_data(b)) % 64, 0);
    dl_release(b);
    dl_cache_clear();
    assert_int_equal(dl_memory_cached(), 0);
}

static void random_draws_repeat_with_the_seed(void **state)
{
    dl_tensor *a, *b, *c;
    dl_manual_seed(42);
    assert_int_equal(dl_randn(1, SHAPE(100), &a), DL_OK);
    dl_manual_seed(42);
    assert_int_equal(dl_randn(1, SHAPE(100), &b), DL_OK);
    dl_manual_seed(43);
    assert_int_equal(dl_randn(1, SHAPE(100), &c), DL_OK);
    assert_memory_equal(dl_data(a), dl_data(b), 100 * sizeof(float));
    assert_memory_not_equal(dl_data(a), dl_data(c), 100 * sizeof(float));
    dl_release(a);
    dl_release(b);
    dl_release(c);
}

static void random_draws_have_the_right_moments(void **state)
{
    dl_tensor *n, *u, *m;
    dl_manual_seed(7);
    assert_int_equal(dl_randn(1, SHAPE(200000), &n), DL_OK);
    assert_int_equal(dl_rand(1, SHAPE(200000), &u), DL_OK);
    float v;
    assert_int_equal(dl_reduce(DL_MEAN, n, -1, false, 1, &m), DL_OK);
    dl_item(m, &v);
    assert_true(fabsf(v) < 0.01f);
    dl_release(m);
    assert_int_equal(dl_reduce(DL_STD, n, -1, false, 1, &m), DL_OK);
    dl_item(m, &v);
    assert_true(fabsf(v - 1) < 0.01f);
    dl_release(m);
    assert_int_equal(dl_reduce(DL_MEAN, u, -1, false, 1, &m), DL_OK);
    dl_item(m, &v);
    assert_true(fabsf(v - 0.5f) < 0.005f);
    dl_release(m);
    assert_int_equal(dl_reduce(DL_MIN, u, -1, false, 1, &m), DL_OK);
    dl_item(m, &v);
    assert_true(v >= 0);
    dl_release(m);
    assert_int_equal(dl_reduce(DL_MAX, u, -1, false, 1, &m), DL_OK);
    dl_item(m, &v);
    assert_true(v < 1);
    dl_release(m);
    dl_release(n);
    dl_release(u);
}

static void randperm_is_a_permutation_of_1_to_n(void **state)
{
    dl_tensor *p;
    dl_manual_seed(3);
    assert_int_equal(dl_randperm(50, &p), DL_OK);
    bool seen[51] = {false};
    for (int i = 0; i < 50; i++) {
        int v = (int)dl_data(p)[i];
        assert_true(v >= 1 && v <= 50 && !seen[v]);
        seen[v] = true;
    }
    dl_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(creators_fill_values),
        cmocka_unit_test(creators_reject_bad_sizes),
        cmocka_unit_test(views_share_storage_and_outlive_their_source),
        cmocka_unit_test(copy_broadcasts_and_handles_overlap),
        cmocka_unit_test(item_needs_one_element),
        cmocka_unit_test(buffer_cache_reuses_exact_sizes),
        cmocka_unit_test(random_draws_repeat_with_the_seed),
        cmocka_unit_test(random_draws_have_the_right_moments),
        cmocka_unit_test(randperm_is_a_permutation_of_1_to_n),
    };
    return cmocka_run_group_tests_name("tensor", tests, NULL, NULL);
}
