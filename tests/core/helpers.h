/*
 * helpers.h -- shared helpers of the core's cmocka tests.
 */
#ifndef DL_TEST_HELPERS_H
#define DL_TEST_HELPERS_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dl.h"

/* A tensor of the given shape holding `values` (row-major). */
static inline dl_tensor *make(int ndim, const int64_t *shape, const float *values)
{
    dl_tensor *t = NULL;
    assert_int_equal(dl_from_floats(ndim, shape, values, &t), DL_OK);
    return t;
}

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define VALUES(...) ((const float[]){__VA_ARGS__})
#define TENSOR(ndim, shape, ...) make(ndim, shape, VALUES(__VA_ARGS__))

/* Asserts t's shape and its elements (read through its strides). */
static inline void expect_tensor(const dl_tensor *t, int ndim, const int64_t *shape,
                                 const float *values, float tolerance)
{
    assert_int_equal(t->ndim, ndim);
    for (int d = 0; d < ndim; d++)
        assert_int_equal(t->shape[d], shape[d]);
    int64_t n = dl_numel(t), index[DL_MAX_DIM] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t rest = i;
        for (int d = ndim - 1; d >= 0; d--) {
            index[d] = rest % shape[d];
            rest /= shape[d];
        }
        float got = dl_get(t, index), want = values[i];
        if (isnan(want)) {
            assert_true(isnan(got));
        } else if (fabsf(got - want) > tolerance * (1.0f + fabsf(want))) {
            fail_msg("element %lld: got %.9g, want %.9g", (long long)i, (double)got, (double)want);
        }
    }
}

/* Asserts that the last error message contains `part`. */
static inline void expect_error(const char *part)
{
    if (!strstr(dl_error(), part))
        fail_msg("error \"%s\" does not contain \"%s\"", dl_error(), part);
}

#endif
