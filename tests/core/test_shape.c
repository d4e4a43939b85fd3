/* test_shape.c -- reshape, views, joining and picking. */
#include "helpers.h"

static dl_tensor *range(int64_t n)
{
    dl_tensor *t = NULL;
    assert_int_equal(dl_arange(1, (double)n + 1, 1, &t), DL_OK);
    return t;
}

static void reshape_views_contiguous_and_copies_otherwise(void **state)
{
    dl_tensor *a = range(6), *m, *t, *f;
    assert_int_equal(dl_reshape("reshape", a, 2, SHAPE(2, -1), &m), DL_OK);
    expect_tensor(m, 2, SHAPE(2, 3), VALUES(1, 2, 3, 4, 5, 6), 0);
    assert_ptr_equal(m->storage, a->storage);
    assert_int_equal(dl_transpose(m, 0, 1, &t), DL_OK);
    assert_int_equal(dl_reshape("reshape", t, 1, SHAPE(6), &f), DL_OK);
    expect_tensor(f, 1, SHAPE(6), VALUES(1, 4, 2, 5, 3, 6), 0);
    assert_ptr_not_equal(f->storage, a->storage);
    dl_release(f);
    assert_int_equal(dl_view(t, 1, SHAPE(6), &f), DL_ERR_SHAPE);
    expect_error("use reshape");
    assert_int_equal(dl_reshape("reshape", a, 2, SHAPE(4, 2), &f), DL_ERR_SHAPE);
    expect_error("bad argument #2 to 'reshape' (expected sizes whose product is 6, got (4, 2))");
    assert_int_equal(dl_reshape("reshape", a, 2, SHAPE(-1, 4), &f), DL_ERR_SHAPE);
    expect_error("cannot infer");
    dl_release(t);
    dl_release(m);
    dl_release(a);
}

static void view_of_a_non_contiguous_tensor_when_possible(void **state)
{
    dl_tensor *a = range(24), *v, *t, *w;
    assert_int_equal(dl_reshape("reshape", a, 3, SHAPE(2, 3, 4), &v), DL_OK);
    assert_int_equal(dl_transpose(v, 0, 1, &t), DL_OK);       /* (3, 2, 4) */
    assert_int_equal(dl_view(t, 4, SHAPE(3, 2, 2, 2), &w), DL_OK);   /* splits the last dim */
    assert_ptr_equal(w->storage, a->storage);
    expect_tensor(w, 4, SHAPE(3, 2, 2, 2),
                  VALUES(1, 2, 3, 4, 13, 14, 15, 16, 5, 6, 7, 8, 17, 18, 19, 20,
                         9, 10, 11, 12, 21, 22, 23, 24), 0);
    dl_release(w);
    dl_release(t);
    dl_release(v);
    dl_release(a);
}

static void squeeze_unsqueeze_flatten_permute(void **state)
{
    dl_tensor *a = range(6), *m, *u, *s, *f, *p;
    assert_int_equal(dl_reshape("reshape", a, 2, SHAPE(2, 3), &m), DL_OK);
    assert_int_equal(dl_unsqueeze(m, 1, &u), DL_OK);
    expect_tensor(u, 3, SHAPE(2, 1, 3), VALUES(1, 2, 3, 4, 5, 6), 0);
    assert_int_equal(dl_squeeze(u, -1, &s), DL_OK);
    expect_tensor(s, 2, SHAPE(2, 3), VALUES(1, 2, 3, 4, 5, 6), 0);
    dl_release(s);
    assert_int_equal(dl_squeeze(u, 0, &s), DL_OK);           /* size 2: unchanged */
    assert_int_equal(s->ndim, 3);
    dl_release(s);
    assert_int_equal(dl_flatten(u, 0, 2, &f), DL_OK);
    expect_tensor(f, 1, SHAPE(6), VALUES(1, 2, 3, 4, 5, 6), 0);
    dl_release(f);
    assert_int_equal(dl_permute(u, (const int[]){2, 0, 1}, &p), DL_OK);
    expect_tensor(p, 3, SHAPE(3, 2, 1), VALUES(1, 4, 2, 5, 3, 6), 0);
    dl_release(p);
    assert_int_equal(dl_permute(u, (const int[]){0, 0, 1}, &p), DL_ERR_ARGUMENT);
    expect_error("each dim once");
    assert_int_equal(dl_unsqueeze(m, 3, &p), DL_ERR_ARGUMENT);
    expect_error("bad argument #2 to 'unsqueeze' (expected a dim in 1..3, got 4)");
    dl_release(u);
    dl_release(m);
    dl_release(a);
}

static void narrow_select_and_bounds(void **state)
{
    dl_tensor *a = range(12), *m, *n, *s;
    assert_int_equal(dl_reshape("reshape", a, 2, SHAPE(3, 4), &m), DL_OK);
    assert_int_equal(dl_narrow(m, 1, 1, 2, &n), DL_OK);
    expect_tensor(n, 2, SHAPE(3, 2), VALUES(2, 3, 6, 7, 10, 11), 0);
    assert_int_equal(dl_select(n, 0, 2, &s), DL_OK);
    expect_tensor(s, 1, SHAPE(2), VALUES(10, 11), 0);
    dl_release(s);
    assert_int_equal(dl_narrow(m, 1, 3, 2, &s), DL_ERR_ARGUMENT);
    expect_error("bad argument #4 to 'narrow' (expected a length in 0..1, got 2)");
    assert_int_equal(dl_select(m, 0, 3, &s), DL_ERR_ARGUMENT);
    expect_error("bad argument #3 to 'select' (expected an index in 1..3, got 4)");
    dl_release(n);
    dl_release(m);
    dl_release(a);
}

static void expand_cat_stack(void **state)
{
    dl_tensor *r = TENSOR(2, SHAPE(1, 2), 1, 2), *e, *c, *s;
    assert_int_equal(dl_expand(r, 2, SHAPE(3, 2), &e), DL_OK);
    expect_tensor(e, 2, SHAPE(3, 2), VALUES(1, 2, 1, 2, 1, 2), 0);
    assert_int_equal(e->stride[0], 0);
    const dl_tensor *parts[2] = {r, e};
    assert_int_equal(dl_cat(2, parts, 0, &c), DL_OK);
    expect_tensor(c, 2, SHAPE(4, 2), VALUES(1, 2, 1, 2, 1, 2, 1, 2), 0);
    dl_release(c);
    assert_int_equal(dl_cat(2, parts, 1, &c), DL_ERR_SHAPE);
    expect_error("tensor 2 has shape (3, 2)");
    const dl_tensor *same[2] = {r, r};
    assert_int_equal(dl_stack(2, same, 2, &s), DL_OK);
    expect_tensor(s, 3, SHAPE(1, 2, 2), VALUES(1, 1, 2, 2), 0);
    dl_release(s);
    assert_int_equal(dl_expand(e, 2, SHAPE(3, 3), &s), DL_ERR_SHAPE);
    expect_error("cannot expand shape (3, 2) to (3, 3)");
    dl_release(e);
    dl_release(r);
}

static void index_select_takes_1_based_positions(void **state)
{
    dl_tensor *a = range(6), *m, *idx = TENSOR(1, SHAPE(3), 3, 1, 3), *s, *bad;
    assert_int_equal(dl_reshape("reshape", a, 2, SHAPE(2, 3), &m), DL_OK);
    assert_int_equal(dl_index_select(m, 1, idx, &s), DL_OK);
    expect_tensor(s, 2, SHAPE(2, 3), VALUES(3, 1, 3, 6, 4, 6), 0);
    dl_release(s);
    bad = TENSOR(1, SHAPE(2), 1, 4);
    assert_int_equal(dl_index_select(m, 0, bad, &s), DL_ERR_ARGUMENT);
    expect_error("bad argument #3 to 'index_select' (expected positions in 1..2, got 4 at entry 2)");
    dl_release(bad);
    dl_release(idx);
    dl_release(m);
    dl_release(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reshape_views_contiguous_and_copies_otherwise),
        cmocka_unit_test(view_of_a_non_contiguous_tensor_when_possible),
        cmocka_unit_test(squeeze_unsqueeze_flatten_permute),
        cmocka_unit_test(narrow_select_and_bounds),
        cmocka_unit_test(expand_cat_stack),
        cmocka_unit_test(index_select_takes_1_based_positions),
    };
    return cmocka_run_group_tests_name("shape", tests, NULL, NULL);
}
