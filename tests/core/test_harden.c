/* test_harden.c -- blocked sgemm against one cblas call, the plot data
 * reductions, and the gnuplot process (core/plot/gnuplot.c). */
#include <cblas.h>
#include <signal.h>
#include <unistd.h>

#include "helpers.h"
#include "kernels/gemm.h"
#include "kernels/plot_reduce.h"
#include "plot/gnuplot.h"

/* kernel_sgemm on a product big enough to be cut in blocks (rows when C is
 * tall, columns when it is wide), each transpose combination, equals one
 * cblas_sgemm call; and an interrupt stops it before the last block. */
static void blocked_sgemm_equals_one_call(void **state)
{
    const int64_t sizes[2][3] = {{2048, 1024, 2048}, {256, 4096, 4096}};   /* m, n, k */
    for (int s = 0; s < 2; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int64_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
                float *a = malloc((size_t)(m * k) * sizeof *a);
                float *b = malloc((size_t)(k * n) * sizeof *b);
                float *c = malloc((size_t)(m * n) * sizeof *c);
                float *want = malloc((size_t)(m * n) * sizeof *want);
                assert_non_null(a && b && c && want);
                for (int64_t i = 0; i < m * k; i++)
                    a[i] = (float)((i * 7919) % 101) / 101.0f - 0.5f;
                for (int64_t i = 0; i < k * n; i++)
                    b[i] = (float)((i * 104729) % 97) / 97.0f - 0.5f;
                CBLAS_TRANSPOSE tra = ta ? CblasTrans : CblasNoTrans;
                CBLAS_TRANSPOSE trb = tb ? CblasTrans : CblasNoTrans;
                int64_t lda = ta ? m : k, ldb = tb ? k : n;
                cblas_sgemm(CblasRowMajor, tra, trb, (int)m, (int)n, (int)k, 1.0f, a, (int)lda,
                            b, (int)ldb, 0.0f, want, (int)n);
                assert_true(kernel_sgemm(tra, trb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n));
                for (int64_t i = 0; i < m * n; i++)
                    assert_true(fabsf(c[i] - want[i]) <= 1e-3f * (1.0f + fabsf(want[i])));
                if (s == 0 && ta == 0 && tb == 0) {
                    memset(c, 0, (size_t)(m * n) * sizeof *c);
                    dl_request_interrupt();
                    assert_false(kernel_sgemm(tra, trb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f,
                                              c, n));
                    dl_clear_interrupt();
                    assert_true(c[0] == want[0]);              /* the first block ran */
                    assert_true(c[(m - 1) * n] == 0.0f);       /* the last did not */
                }
                free(a);
                free(b);
                free(c);
                free(want);
            }
}

static void histogram_counts_finite_values(void **state)
{
    const float x[] = {0, 1, 1, 2, 4, NAN, INFINITY, -INFINITY};
    int64_t counts[4];
    double lo, width;
    assert_int_equal(kernel_histogram(x, 8, 4, &lo, &width, counts), 5);
    assert_true(lo == 0.0 && width == 1.0);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 2);
    assert_int_equal(counts[2], 1);
    assert_int_equal(counts[3], 1);
    assert_int_equal(kernel_histogram(x + 5, 3, 4, &lo, &width, counts), 0);
    assert_int_equal(counts[0] + counts[1] + counts[2] + counts[3], 0);
}

static void line_points_keep_extremes(void **state)
{
    float y[100] = {0};
    int64_t keep[5 * 4];
    y[37] = 9;
    y[38] = -9;
    y[80] = NAN;
    int64_t n = kernel_line_points(y, 100, 4, keep);
    bool spike = false, dip = false, gap = false;
    for (int64_t i = 0; i < n; i++) {
        spike |= keep[i] == 37;
        dip |= keep[i] == 38;
        gap |= keep[i] == 80;
        if (i > 0)
            assert_true(keep[i] > keep[i - 1]);
    }
    assert_true(spike && dip && gap);
    assert_true(n <= 20 && keep[0] == 0 && keep[n - 1] == 99);
}

static void grid_points_one_a_cell_and_class(void **state)
{
    const float x[] = {0, 0.1f, 10, 10, NAN}, y[] = {0, 0.1f, 10, 10, 1};
    const float cls[] = {1, 1, 1, 2, 1};
    unsigned char seen[2 * 2 * 2];
    int64_t keep[5];
    int64_t n = kernel_grid_points(x, y, cls, 5, 2, 2, 2, seen, keep);
    assert_int_equal(n, 3);
    assert_int_equal(keep[0], 0);
    assert_int_equal(keep[1], 2);
    assert_int_equal(keep[2], 3);
}

static void downsample_averages_blocks(void **state)
{
    float src[16], dst[4];
    for (int i = 0; i < 16; i++)
        src[i] = (float)i;
    kernel_downsample(src, 1, 4, 4, 2, 2, dst);
    assert_true(dst[0] == 2.5f && dst[1] == 4.5f && dst[2] == 10.5f && dst[3] == 12.5f);
}

/* A batch's output, its errors, a gnuplot started again after it died,
 * and the sync tokens keeping answers apart. */
static void gnuplot_answers_each_batch(void **state)
{
    char path[4096];
    if (!dl_gnuplot_find(path, sizeof path))
        skip();
    dl_gnuplot *g = dl_gnuplot_new();
    dl_gnuplot_answer a;
    assert_true(dl_gnuplot_run(g, "print 6 * 7", 11, "print 'init'", 12, 30, &a));
    assert_true(a.fresh);
    assert_string_equal(a.err, "init\n42\n");      /* print goes to stderr */
    dl_gnuplot_answer_free(&a);
    long pid = dl_gnuplot_pid(g);
    assert_true(pid > 0);
    assert_true(dl_gnuplot_run(g, "set nonsense", 12, "", 0, 30, &a));
    assert_false(a.fresh);
    assert_non_null(strstr(a.err, "unrecognized option"));
    dl_gnuplot_answer_free(&a);
    kill((pid_t)pid, 9);
    assert_true(dl_gnuplot_run(g, "print 1", 7, "", 0, 30, &a));
    assert_true(a.fresh);
    assert_string_equal(a.err, "1\n");
    dl_gnuplot_answer_free(&a);
    dl_gnuplot_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocked_sgemm_equals_one_call),
        cmocka_unit_test(histogram_counts_finite_values),
        cmocka_unit_test(line_points_keep_extremes),
        cmocka_unit_test(grid_points_one_a_cell_and_class),
        cmocka_unit_test(downsample_averages_blocks),
        cmocka_unit_test(gnuplot_answers_each_batch),
    };
    return cmocka_run_group_tests_name("harden", tests, NULL, NULL);
}
