/* test_print.c -- tensors rendered as PyTorch renders them. */
#include "helpers.h"

static void expect_format(const dl_tensor *t, const char *want)
{
    char *got = dl_format(t);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void integers_fixed_and_scientific(void **state)
{
    dl_tensor *a = TENSOR(2, SHAPE(2, 2), 1, -20, 3, 4);
    expect_format(a, "[[  1., -20.],\n [  3.,   4.]]\n[tensor of shape (2, 2)]");
    dl_tensor *b = TENSOR(1, SHAPE(3), 0.5f, -1.25f, 2);
    expect_format(b, "[ 0.5000, -1.2500,  2.0000]\n[tensor of shape (3,)]");
    dl_tensor *c = TENSOR(1, SHAPE(2), 1e-5f, 3);
    expect_format(c, "[1.0000e-05, 3.0000e+00]\n[tensor of shape (2,)]");
    dl_tensor *d = TENSOR(1, SHAPE(3), NAN, INFINITY, 1.5f);
    expect_format(d, "[   nan,    inf, 1.5000]\n[tensor of shape (3,)]");
    dl_tensor *s = TENSOR(0, NULL, 2.5f);
    s->requires_grad = true;
    expect_format(s, "2.5000\n[scalar tensor, requires_grad]");
    dl_release(a);
    dl_release(b);
    dl_release(c);
    dl_release(d);
    dl_release(s);
}

static void blocks_of_3d_tensors_are_separated(void **state)
{
    dl_tensor *a, *v;
    assert_int_equal(dl_arange(1, 9, 1, &a), DL_OK);
    assert_int_equal(dl_reshape("reshape", a, 3, SHAPE(2, 2, 2), &v), DL_OK);
    expect_format(v, "[[[1., 2.],\n  [3., 4.]],\n\n [[5., 6.],\n  [7., 8.]]]\n"
                     "[tensor of shape (2, 2, 2)]");
    dl_release(v);
    dl_release(a);
}

static void large_tensors_are_elided(void **state)
{
    dl_tensor *a, *m;
    assert_int_equal(dl_arange(0, 2000, 1, &a), DL_OK);
    assert_int_equal(dl_reshape("reshape", a, 2, SHAPE(100, 20), &m), DL_OK);
    char *text = dl_format(m);
    assert_non_null(text);
    assert_non_null(strstr(text, "[[   0.,    1.,    2., ...,   17.,   18.,   19.],"));
    assert_non_null(strstr(text, "\n ...,\n"));
    assert_non_null(strstr(text, "[1980., 1981., 1982., ..., 1997., 1998., 1999.]]"));
    assert_non_null(strstr(text, "[tensor of shape (100, 20)]"));
    assert_null(strstr(text, " 500."));
    free(text);
    dl_release(m);
    dl_release(a);
}

static void long_rows_wrap_at_80_columns(void **state)
{
    dl_tensor *a;
    assert_int_equal(dl_arange(0, 40, 1, &a), DL_OK);
    char *text = dl_format(a);
    for (char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        size_t len = strchr(line, '\n') ? (size_t)(strchr(line, '\n') - line) : strlen(line);
        assert_true(len <= 80);
    }
    assert_non_null(strstr(text, "39.]"));
    free(text);
    dl_release(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_fixed_and_scientific),
        cmocka_unit_test(blocks_of_3d_tensors_are_separated),
        cmocka_unit_test(large_tensors_are_elided),
        cmocka_unit_test(long_rows_wrap_at_80_columns),
    };
    return cmocka_run_group_tests_name("print", tests, NULL, NULL);
}
