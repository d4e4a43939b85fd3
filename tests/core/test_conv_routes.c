/* test_conv_routes.c -- conv2d's FFT and direct-loop routes against plain
 * reference loops: forward, dx, dweight and dbias over several geometries,
 * and the choice of route conv2d makes. */
#include "helpers.h"
#include "../../core/nn/conv_direct.h"
#include "../../core/nn/conv_fft.h"
#include "../../core/nn/window.h"

typedef struct {
    int64_t n, c, h, w, o, kh, kw, ph, pw;
} conv_case;

/* Largest |a[i] - b[i]| relative to the largest |b[i]|. */
static double relative_error(const float *a, const float *b, int64_t count)
{
    double diff = 0, scale = 1e-30;
    for (int64_t i = 0; i < count; i++) {
        diff = fmax(diff, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff / scale;
}

/* Direct loops: y = conv(x, w) + b; with gy, also dx, dw, db. */
static void direct(const conv_case *k, const float *x, const float *w, const float *b,
                   int64_t ho, int64_t wo, float *y, const float *gy, float *dx, float *dw,
                   float *db)
{
    memset(dx, 0, sizeof(float) * k->n * k->c * k->h * k->w);
    memset(dw, 0, sizeof(float) * k->o * k->c * k->kh * k->kw);
    memset(db, 0, sizeof(float) * k->o);
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t o = 0; o < k->o; o++)
            for (int64_t i = 0; i < ho; i++)
                for (int64_t j = 0; j < wo; j++) {
                    int64_t at = ((n * k->o + o) * ho + i) * wo + j;
                    double s = b[o];
                    db[o] += gy[at];
                    for (int64_t c = 0; c < k->c; c++)
                        for (int64_t u = 0; u < k->kh; u++)
                            for (int64_t v = 0; v < k->kw; v++) {
                                int64_t r = i + u - k->ph, q = j + v - k->pw;
                                if (r < 0 || r >= k->h || q < 0 || q >= k->w)
                                    continue;
                                int64_t xi = ((n * k->c + c) * k->h + r) * k->w + q;
                                int64_t wi = ((o * k->c + c) * k->kh + u) * k->kw + v;
                                s += (double)x[xi] * w[wi];
                                dx[xi] += gy[at] * w[wi];
                                dw[wi] += gy[at] * x[xi];
                            }
                    y[at] = (float)s;
                }
}

/* Asserts that y, dx, dw and db match the reference loops on k's x, w, b
 * and gradient gy; dw and db hold `carried` more than the gradient (what
 * a beta of 1 kept). */
static void expect_reference(const conv_case *k, const dl_tensor *x, const dl_tensor *w,
                             const dl_tensor *b, const dl_tensor *gy, const float *y,
                             const float *dx, const float *dw, const float *db, float carried)
{
    int64_t ny = dl_numel(gy), nx = dl_numel(x), nw = dl_numel(w);
    float *ry = malloc(sizeof(float) * ny), *rdx = malloc(sizeof(float) * nx),
          *rdw = malloc(sizeof(float) * nw), *rdb = malloc(sizeof(float) * k->o);
    direct(k, dl_data(x), dl_data(w), dl_data(b), gy->shape[2], gy->shape[3], ry, dl_data(gy),
           rdx, rdw, rdb);
    for (int64_t i = 0; i < nw; i++)
        rdw[i] += carried;
    for (int64_t i = 0; i < k->o; i++)
        rdb[i] += carried;
    assert_true(relative_error(y, ry, ny) < 1e-5);
    assert_true(relative_error(dx, rdx, nx) < 1e-5);
    assert_true(relative_error(dw, rdw, nw) < 1e-5);
    assert_true(relative_error(db, rdb, k->o) < 1e-5);
    free(ry);
    free(rdx);
    free(rdw);
    free(rdb);
}

/* Runs the FFT route (or the direct one) on case k (stride 1) and asserts
 * that y, dx, dweight and dbias match the reference loops. */
static void check_route(const conv_case *k, bool fft)
{
    int kernel[2] = {(int)k->kh, (int)k->kw}, stride[2] = {1, 1},
        padding[2] = {(int)k->ph, (int)k->pw};
    dl_tensor *x, *w, *b, *gy, *y, *dx, *dw, *xspec = NULL, *wspec = NULL;
    assert_int_equal(dl_randn(4, SHAPE(k->n, k->c, k->h, k->w), &x), DL_OK);
    assert_int_equal(dl_randn(4, SHAPE(k->o, k->c, k->kh, k->kw), &w), DL_OK);
    assert_int_equal(dl_randn(1, SHAPE(k->o), &b), DL_OK);
    dl_conv_geometry g;
    assert_int_equal(dl_window_geometry("conv2d", x, kernel, stride, padding, &g), DL_OK);
    assert_int_equal(dl_randn(4, SHAPE(k->n, k->o, g.ho, g.wo), &gy), DL_OK);
    assert_int_equal(dl_empty("test", 4, gy->shape, &y), DL_OK);
    assert_int_equal(dl_empty("test", 4, x->shape, &dx), DL_OK);
    assert_int_equal(dl_empty("test", 4, w->shape, &dw), DL_OK);
    if (fft)
        assert_int_equal(conv_fft_forward(x, w, b, &g, y, &xspec, &wspec), DL_OK);
    else
        assert_int_equal(conv_direct_forward(x, w, b, &g, y), DL_OK);
    /* beta 1 adds to what dweight and dbias hold: start from 1 everywhere */
    float *route_dw = dl_data(dw), *route_db = malloc(sizeof(float) * k->o);
    for (int64_t i = 0; i < dl_numel(dw); i++)
        route_dw[i] = 1.0f;
    for (int64_t i = 0; i < k->o; i++)
        route_db[i] = 1.0f;
    conv_grads out = {route_dw, route_db, dl_data(dx), 1.0f, 1.0f};
    if (fft)
        assert_int_equal(conv_fft_backward(xspec, wspec, x->shape, w->shape, &g, gy, &out),
                         DL_OK);
    else
        assert_int_equal(conv_direct_backward(x, w, gy, &g, &out), DL_OK);

    expect_reference(k, x, w, b, gy, dl_data(y), dl_data(dx), route_dw, route_db, 1.0f);
    free(route_db);
    dl_release(x);
    dl_release(w);
    dl_release(b);
    dl_release(gy);
    dl_release(y);
    dl_release(dx);
    dl_release(dw);
    dl_release(xspec);
    dl_release(wspec);
}

/* The FFT route matches the direct loops to float rounding, also where its
 * field (image side + padding) is smaller than the linear product and the
 * circular wrap has to fall on zeros. */
static void fft_route_matches_direct_loops(void **state)
{
    static const conv_case cases[] = {
        {3, 4, 14, 14, 5, 5, 5, 2, 2},    /* the bench CNN's second layer: 16x16 field */
        {2, 3, 9, 13, 4, 3, 7, 1, 3},     /* rectangular image and kernel */
        {2, 2, 10, 7, 3, 4, 2, 0, 0},     /* even kernel, no padding */
        {1, 1, 5, 5, 1, 5, 5, 0, 0},      /* kernel as large as the image */
        {2, 2, 12, 12, 3, 5, 5, 0, 4},    /* 12 wide field, 5 wide kernel, wraps */
        {1, 2, 6, 6, 2, 3, 3, 4, 4},      /* padding past the kernel: output 12 */
        {2, 33, 6, 6, 37, 3, 3, 1, 1},    /* whole groups of 32 planes and odd rests */
    };
    dl_manual_seed(5);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++)
        check_route(&cases[t], true);
}

/* The direct route matches the reference loops, images wider than its
 * register tile included. */
static void direct_route_matches_reference_loops(void **state)
{
    static const conv_case cases[] = {
        {5, 1, 28, 28, 16, 5, 5, 2, 2},   /* the bench CNN's first layer */
        {2, 3, 9, 70, 4, 3, 3, 1, 1},     /* RGB, three column tiles */
        {3, 2, 6, 5, 3, 1, 4, 0, 2},      /* 1x4 kernel, padding on one axis */
        {1, 1, 3, 3, 2, 3, 3, 0, 0},      /* one output pixel */
        {2, 2, 4, 30, 3, 1, 11, 0, 5},    /* 11 wide: past the unrolled widths */
    };
    dl_manual_seed(7);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++)
        check_route(&cases[t], false);
}

/* More image sizes than the plan cache holds: old plans are replaced, and
 * a size seen before is planned again when it comes back. */
static void many_image_sizes_replan(void **state)
{
    static const int64_t sizes[] = {4, 8, 12, 16, 20, 24, 32};   /* 49 fields */
    dl_manual_seed(6);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++) {
                conv_case k = {1, 2, sizes[i], sizes[j], 2, 3, 3, 0, 0};
                check_route(&k, true);
            }
}

/* conv2d on case k through autograd (bias included): output and every
 * gradient agree with the reference loops. */
static void autograd_agrees(const conv_case *k)
{
    dl_tensor *x, *w, *b, *y, *gy;
    assert_int_equal(dl_randn(4, SHAPE(k->n, k->c, k->h, k->w), &x), DL_OK);
    assert_int_equal(dl_randn(4, SHAPE(k->o, k->c, k->kh, k->kw), &w), DL_OK);
    assert_int_equal(dl_randn(1, SHAPE(k->o), &b), DL_OK);
    x->requires_grad = w->requires_grad = b->requires_grad = true;
    assert_int_equal(dl_conv2d(x, w, b, (int[]){1, 1}, (int[]){(int)k->ph, (int)k->pw}, &y),
                     DL_OK);
    assert_int_equal(dl_randn(4, y->shape, &gy), DL_OK);
    assert_int_equal(dl_backward(y, gy), DL_OK);
    expect_reference(k, x, w, b, gy, dl_data(y), dl_data(x->grad), dl_data(w->grad),
                     dl_data(b->grad), 0.0f);
    dl_release(x);
    dl_release(w);
    dl_release(b);
    dl_release(y);
    dl_release(gy);
}

/* conv2d takes the FFT route for a wide 5x5 layer, the direct one for a
 * one-channel input, im2col for a stride of 2, the direct loops for the
 * forward pass and dx of small 3x3-style layers; its gradients through
 * autograd agree with the reference loops. */
static void conv2d_chooses_its_route_and_agrees(void **state)
{
    dl_conv_geometry wide = {5, 5, 1, 1, 2, 2, 14, 14}, strided = {5, 5, 2, 2, 2, 2, 7, 7};
    assert_true(conv_fft_pays(64, 16, 14, 14, 32, &wide));
    assert_false(conv_fft_pays(64, 16, 14, 14, 32, &strided));
    dl_conv_geometry first = {5, 5, 1, 1, 2, 2, 28, 28};
    assert_false(conv_fft_pays(64, 1, 28, 28, 16, &first));
    assert_true(conv_direct_suits(1, &first));
    assert_false(conv_direct_suits(16, &wide));
    assert_false(conv_direct_suits(1, &strided));
    /* 5x5, 64 -> 64 channels, on 32 images of 224x224 would take fewer
     * operations by FFT, but its spectra (1.8 GB) pass the memory limit;
     * 16 -> 32 channels on 16 images of 64x64 fit (27 MB) */
    dl_conv_geometry large = {5, 5, 1, 1, 2, 2, 224, 224}, mid = {5, 5, 1, 1, 2, 2, 64, 64};
    assert_false(conv_fft_pays(32, 64, 224, 224, 64, &large));
    assert_true(conv_fft_pays(16, 16, 64, 64, 32, &mid));
    /* 3x3 on 8 channels (72 taps), 18 pixels wide: forward (and dx, the
     * turned-around layer) by direct loops, dweight by im2col; 8x8 images
     * keep im2col for 32 outputs, any image for 128, and a layer of more
     * than 16 outputs over 160 taps */
    dl_conv_geometry three = {3, 3, 1, 1, 1, 1, 18, 18}, small = {3, 3, 1, 1, 1, 1, 8, 8};
    assert_false(conv_direct_suits(8, &three));
    assert_false(conv_fft_pays(4, 8, 18, 18, 6, &three));
    assert_true(conv_direct_forward_pays(8, 6, &three));
    assert_true(conv_direct_forward_pays(8, 6, &small));
    assert_false(conv_direct_forward_pays(8, 32, &small));
    assert_false(conv_direct_forward_pays(8, 128, &three));
    assert_false(conv_direct_forward_pays(32, 32, &three));
    assert_true(conv_direct_forward_pays(32, 16, &small));
    dl_conv_geometry oblong = {3, 5, 1, 1, 0, 2, 15, 20};
    assert_false(conv_fft_pays(2, 5, 17, 20, 3, &oblong));

    const conv_case by_fft = {64, 16, 14, 14, 32, 5, 5, 2, 2};
    assert_true(conv_fft_pays(by_fft.n, by_fft.c, by_fft.h, by_fft.w, by_fft.o, &wide));
    const conv_case direct_forward = {4, 8, 18, 18, 6, 3, 3, 1, 1};
    const conv_case oblong_case = {2, 5, 17, 20, 3, 3, 5, 0, 2};   /* turned padding 2, 2 */
    dl_manual_seed(9);
    autograd_agrees(&by_fft);
    autograd_agrees(&direct_forward);
    autograd_agrees(&oblong_case);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fft_route_matches_direct_loops),
        cmocka_unit_test(many_image_sizes_replan),
        cmocka_unit_test(direct_route_matches_reference_loops),
        cmocka_unit_test(conv2d_chooses_its_route_and_agrees),
    };
    return cmocka_run_group_tests_name("conv_routes", tests, NULL, NULL);
}
