/* test_autograd.c -- recording, accumulation, grad mode and misuse. */
#include "helpers.h"

static dl_tensor *leaf(int ndim, const int64_t *shape, const float *values)
{
    dl_tensor *t = make(ndim, shape, values);
    t->requires_grad = true;
    return t;
}

/* loss = sum(w * x) squared-ish chain used by several tests. */
static dl_tensor *weighted_sum(dl_tensor *w, dl_tensor *x)
{
    dl_tensor *p, *s;
    assert_int_equal(dl_binary(DL_MUL, w, x, &p), DL_OK);
    assert_int_equal(dl_reduce(DL_SUM, p, -1, false, 1, &s), DL_OK);
    dl_release(p);
    return s;
}

static void gradients_accumulate_until_zeroed(void **state)
{
    dl_tensor *w = leaf(1, SHAPE(3), VALUES(1, 2, 3)), *x = TENSOR(1, SHAPE(3), 4, 5, 6);
    for (int round = 1; round <= 2; round++) {
        dl_tensor *loss = weighted_sum(w, x);
        assert_true(loss->requires_grad);
        assert_int_equal(dl_backward(loss, NULL), DL_OK);
        expect_tensor(w->grad, 1, SHAPE(3), VALUES(4.0f * round, 5.0f * round, 6.0f * round), 0);
        dl_release(loss);
    }
    assert_null(x->grad);                      /* x does not require grad */
    dl_zero_grad(w);
    assert_null(w->grad);
    dl_release(w);
    dl_release(x);
}

static void a_tensor_used_twice_gets_both_contributions(void **state)
{
    dl_tensor *x = leaf(0, NULL, VALUES(3)), *y, *z, *loss;
    assert_int_equal(dl_binary(DL_MUL, x, x, &y), DL_OK);         /* x^2 */
    assert_int_equal(dl_binary(DL_ADD, y, x, &z), DL_OK);         /* x^2 + x */
    assert_int_equal(dl_binary(DL_MUL, z, y, &loss), DL_OK);      /* (x^2 + x) x^2 */
    assert_int_equal(dl_backward(loss, NULL), DL_OK);
    /* d/dx (x^4 + x^3) = 4x^3 + 3x^2 = 108 + 27 */
    expect_tensor(x->grad, 0, NULL, VALUES(135), 1e-6f);
    dl_release(loss);
    dl_release(z);
    dl_release(y);
    dl_release(x);
}

static void no_grad_records_nothing_and_detach_cuts(void **state)
{
    dl_tensor *w = leaf(1, SHAPE(2), VALUES(1, 2)), *y, *d;
    bool was = dl_set_grad_enabled(false);
    assert_int_equal(dl_unary(DL_EXP, w, &y), DL_OK);
    dl_set_grad_enabled(was);
    assert_false(y->requires_grad);
    assert_null(y->grad_fn);
    dl_release(y);
    assert_int_equal(dl_detach(w, &d), DL_OK);
    assert_false(d->requires_grad);
    assert_ptr_equal(d->storage, w->storage);
    assert_int_equal(dl_unary(DL_EXP, d, &y), DL_OK);
    assert_false(y->requires_grad);
    dl_release(y);
    dl_release(d);
    dl_release(w);
}

static void backward_misuse_is_explained(void **state)
{
    dl_tensor *w = leaf(1, SHAPE(2), VALUES(1, 2)), *x = TENSOR(1, SHAPE(2), 1, 1), *y, *loss;
    assert_int_equal(dl_backward(x, NULL), DL_ERR_ARGUMENT);
    expect_error("requires_grad");
    assert_int_equal(dl_binary(DL_MUL, w, w, &y), DL_OK);
    assert_int_equal(dl_backward(y, NULL), DL_ERR_SHAPE);
    expect_error("expected a scalar loss, got shape (2,)");
    assert_int_equal(dl_backward(y, x), DL_OK);                 /* explicit gradient */
    expect_tensor(w->grad, 1, SHAPE(2), VALUES(2, 4), 0);
    assert_int_equal(dl_backward(y, x), DL_ERR_ARGUMENT);       /* graph is gone */
    expect_error("freed");
    dl_release(y);
    assert_int_equal(dl_set_requires_grad(w, false), DL_OK);
    loss = weighted_sum(w, x);
    assert_false(loss->requires_grad);
    dl_release(loss);
    dl_release(w);
    dl_release(x);
}

static void changing_a_saved_tensor_in_place_is_refused(void **state)
{
    dl_tensor *w = leaf(1, SHAPE(2), VALUES(1, 2)), *x = TENSOR(1, SHAPE(2), 3, 4);
    dl_tensor *loss = weighted_sum(w, x);
    dl_fill_(x, 0);                                       /* x was saved by mul */
    assert_int_equal(dl_backward(loss, NULL), DL_ERR_ARGUMENT);
    expect_error("changed in place");
    assert_int_equal(dl_check_inplace("fill_", w), DL_ERR_ARGUMENT);
    expect_error("bad argument #1 to 'fill_' (cannot change a tensor that requires grad in place");
    assert_int_equal(dl_check_inplace("fill_", x), DL_OK);
    dl_release(loss);
    dl_release(w);
    dl_release(x);
}

static void graphs_are_freed_with_or_without_backward(void **state)
{
    size_t before = dl_memory_in_use();
    dl_tensor *w, *x;
    assert_int_equal(dl_full("full", 1, SHAPE(1000), 0.5f, &w), DL_OK);
    w->requires_grad = true;
    /* A chain 100,000 operations deep: freeing it must not recurse. */
    dl_retain(w);
    x = w;
    for (int i = 0; i < 100000; i++) {
        dl_tensor *next;
        assert_int_equal(dl_binary_scalar(DL_MUL, x, 1.0f, false, &next), DL_OK);
        dl_release(x);
        x = next;
    }
    dl_release(x);                                  /* never backpropagated */
    assert_int_equal(dl_memory_in_use() - before, 4032);   /* only w is left */
    dl_release(w);
    assert_int_equal(dl_memory_in_use(), before);
}

/* A join of more tensors than a node's inline slots keeps every gradient
 * and frees cleanly; a failed join leaves *out untouched. */
static void joins_of_many_tensors_keep_every_gradient(void **state)
{
    size_t before = dl_memory_in_use();
    dl_tensor *ts[12], *y, *loss;
    for (int i = 0; i < 12; i++)
        ts[i] = leaf(1, SHAPE(2), VALUES((float)i, 1));
    assert_int_equal(dl_stack(12, (const dl_tensor *const *)ts, 0, &y), DL_OK);
    assert_int_equal(dl_binary(DL_MUL, y, y, &loss), DL_OK);
    dl_tensor *sum;
    assert_int_equal(dl_reduce(DL_SUM, loss, -1, false, 0, &sum), DL_OK);
    assert_int_equal(dl_backward(sum, NULL), DL_OK);
    for (int i = 0; i < 12; i++)
        expect_tensor(ts[i]->grad, 1, SHAPE(2), VALUES(2.0f * i, 2), 0);
    dl_tensor *bad = TENSOR(1, SHAPE(3), 1, 2, 3), *out = NULL, *last = ts[11];
    ts[11] = bad;
    assert_int_equal(dl_stack(12, (const dl_tensor *const *)ts, 0, &out), DL_ERR_SHAPE);
    assert_null(out);
    ts[11] = last;
    dl_release(bad);
    dl_release(sum);
    dl_release(loss);
    dl_release(y);
    for (int i = 0; i < 12; i++)
        dl_release(ts[i]);
    assert_int_equal(dl_memory_in_use(), before);
}

/* t[i] = v through dl_set_row_ bumps the version a backward checks. */
static void writing_a_row_bumps_the_version(void **state)
{
    dl_tensor *w = leaf(1, SHAPE(3), VALUES(1, 1, 1)), *x = TENSOR(1, SHAPE(3), 4, 5, 6);
    dl_tensor *loss = weighted_sum(w, x);
    assert_int_equal(dl_set_row_(x, 0, NULL, 100), DL_OK);
    assert_int_equal(dl_backward(loss, NULL), DL_ERR_ARGUMENT);
    expect_error("changed in place");
    assert_int_equal(dl_set_row_(w, 0, NULL, 100), DL_ERR_ARGUMENT);
    expect_error("bad argument #1 to '__newindex' (cannot change a tensor that requires grad");
    dl_release(loss);
    dl_release(w);
    dl_release(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_accumulate_until_zeroed),
        cmocka_unit_test(a_tensor_used_twice_gets_both_contributions),
        cmocka_unit_test(no_grad_records_nothing_and_detach_cuts),
        cmocka_unit_test(backward_misuse_is_explained),
        cmocka_unit_test(changing_a_saved_tensor_in_place_is_refused),
        cmocka_unit_test(graphs_are_freed_with_or_without_backward),
        cmocka_unit_test(joins_of_many_tensors_keep_every_gradient),
        cmocka_unit_test(writing_a_row_bumps_the_version),
    };
    return cmocka_run_group_tests_name("autograd", tests, NULL, NULL);
}
