/* test_nn.c -- layer operations beyond the gradient check: batching
 * invariants of the chunked convolution, batch-norm running statistics. */
#include "helpers.h"

/* max |a - b| over two same-shaped tensors. */
static float max_difference(const dl_tensor *a, const dl_tensor *b)
{
    dl_tensor *d, *m;
    assert_int_equal(dl_binary(DL_SUB, a, b, &d), DL_OK);
    assert_int_equal(dl_unary(DL_ABS, d, &m), DL_OK);
    dl_release(d);
    assert_int_equal(dl_reduce(DL_MAX, m, -1, false, 1, &d), DL_OK);
    float v = dl_data(d)[0];
    dl_release(d);
    dl_release(m);
    return v;
}

/* A batch large enough to be split into chunks gives what each image alone
 * gives, forward and backward. */
static void convolution_in_chunks_matches_image_by_image(void **state)
{
    dl_manual_seed(21);
    dl_tensor *x, *w, *b, *y, *g;
    /* 20 images of 3x64x64 unfold to 20 x 27 x 4096 floats: more than one
     * chunk of conv.c's CHUNK_BYTES (8 MB) */
    assert_int_equal(dl_randn(4, SHAPE(20, 3, 64, 64), &x), DL_OK);
    assert_int_equal(dl_randn(4, SHAPE(5, 3, 3, 3), &w), DL_OK);
    assert_int_equal(dl_randn(1, SHAPE(5), &b), DL_OK);
    x->requires_grad = w->requires_grad = b->requires_grad = true;
    int stride[2] = {1, 1}, padding[2] = {1, 1};
    assert_int_equal(dl_conv2d(x, w, b, stride, padding, &y), DL_OK);
    assert_int_equal(dl_randn(4, y->shape, &g), DL_OK);
    assert_int_equal(dl_backward(y, g), DL_OK);
    dl_tensor *dx = x->grad, *dw = w->grad, *db = b->grad;
    x->grad = w->grad = b->grad = NULL;
    dl_tensor *dw_sum = NULL;
    for (int64_t i = 0; i < 20; i++) {
        dl_tensor *xi, *xi4, *yi, *yi4, *gi, *gi4, *row, *dxi;
        assert_int_equal(dl_narrow(x, 0, i, 1, &xi), DL_OK);
        assert_int_equal(dl_detach(xi, &xi4), DL_OK);
        xi4->requires_grad = true;
        assert_int_equal(dl_conv2d(xi4, w, b, stride, padding, &yi4), DL_OK);
        assert_int_equal(dl_narrow(y, 0, i, 1, &yi), DL_OK);
        assert_true(max_difference(yi, yi4) < 1e-4f);
        assert_int_equal(dl_narrow(g, 0, i, 1, &gi), DL_OK);
        assert_int_equal(dl_contiguous(gi, &gi4), DL_OK);
        assert_int_equal(dl_backward(yi4, gi4), DL_OK);
        assert_int_equal(dl_narrow(dx, 0, i, 1, &row), DL_OK);
        dxi = xi4->grad;
        assert_true(max_difference(row, dxi) < 1e-4f);
        dl_release(row);
        dl_release(xi);
        dl_release(xi4);
        dl_release(yi);
        dl_release(yi4);
        dl_release(gi);
        dl_release(gi4);
    }
    dw_sum = w->grad;            /* accumulated over the 20 single-image passes */
    assert_true(max_difference(dw, dw_sum) < 1e-2f);
    assert_true(max_difference(db, b->grad) < 1e-2f);
    dl_release(dx);
    dl_release(dw);
    dl_release(db);
    dl_release(y);
    dl_release(g);
    dl_release(x);
    dl_release(w);
    dl_release(b);
}

static void batch_norm_updates_running_statistics(void **state)
{
    dl_tensor *x = TENSOR(2, SHAPE(4, 2), 1, 10, 2, 20, 3, 30, 4, 40), *y;
    dl_tensor *mean = TENSOR(1, SHAPE(2), 0, 0), *var = TENSOR(1, SHAPE(2), 1, 1);
    assert_int_equal(dl_batch_norm(x, NULL, NULL, mean, var, true, 0.1f, 1e-5f, &y), DL_OK);
    /* batch means 2.5 and 25; unbiased variances 5/3 and 500/3 */
    expect_tensor(mean, 1, SHAPE(2), VALUES(0.25f, 2.5f), 1e-6f);
    expect_tensor(var, 1, SHAPE(2), VALUES(0.9f + 0.1f * 5 / 3, 0.9f + 0.1f * 500 / 3.0f), 1e-5f);
    /* normalised with the biased variance: (1 - 2.5) / sqrt(1.25) */
    assert_true(fabsf(dl_data(y)[0] + 1.5f / sqrtf(1.25f + 1e-5f)) < 1e-5f);
    dl_release(y);
    assert_int_equal(dl_batch_norm(x, NULL, NULL, NULL, NULL, false, 0.1f, 1e-5f, &y),
                     DL_ERR_ARGUMENT);
    expect_error("running statistics");
    dl_release(x);
    dl_release(mean);
    dl_release(var);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(convolution_in_chunks_matches_image_by_image),
        cmocka_unit_test(batch_norm_updates_running_statistics),
    };
    return cmocka_run_group_tests_name("nn", tests, NULL, NULL);
}
