/*
 * gradcheck.h -- the finite-difference gradient check shared by the
 * gradcheck programs (test_gradcheck.c: the first ops; test_gradcheck_ops.c:
 * indexing, sorting, scans and the other multi-dim ops).
 *
 * For each case, the loss L = sum(out * R) with fixed random weights R is
 * differentiated two ways: backward() seeded with R, and central
 * differences (L(x + e) - L(x - e)) / 2e on every input element, with L
 * summed in double. Inputs are distinct values (fill_inputs), so ops that
 * pick elements (max, sort, pools) have no ties within reach of e.
 */
#ifndef DL_TEST_GRADCHECK_H
#define DL_TEST_GRADCHECK_H

#include "helpers.h"

typedef dl_status (*op_fn)(dl_tensor *const *in, dl_tensor **out);

typedef struct {
    const char *name;
    int ninputs;
    int ndim[3];
    int64_t shape[3][DL_MAX_DIM];
    int positive;           /* inputs in [0.5, 1.5] (log, sqrt, pow, prod); for
                               probabilities use PROBABILITIES (in [0.1, 0.9]) */
    op_fn run;
    int param;              /* an op parameter (an op, a dim) */
} grad_case;

#define PROBABILITIES 2

static int current_param;

/* sum(out * R) in double. */
static double weighted_sum(const dl_tensor *out, const dl_tensor *r)
{
    dl_tensor *oc;
    assert_int_equal(dl_contiguous(out, &oc), DL_OK);
    double s = 0;
    for (int64_t i = 0, n = dl_numel(oc); i < n; i++)
        s += (double)dl_data(oc)[i] * dl_data(r)[i];
    dl_release(oc);
    return s;
}

static double loss_at(const grad_case *c, dl_tensor *const *in, const dl_tensor *r)
{
    dl_tensor *out;
    bool was = dl_set_grad_enabled(false);
    assert_int_equal(c->run(in, &out), DL_OK);
    dl_set_grad_enabled(was);
    double l = weighted_sum(out, r);
    dl_release(out);
    return l;
}

/* Distinct values in random order, evenly spaced over a range: no two are
 * within finite-difference reach of each other (max, pools), nor of the
 * kinks at 0 (relu, abs) when the range straddles it. */
static void fill_inputs(dl_tensor *t, int positive)
{
    float *p = dl_data(t);
    int64_t n = dl_numel(t);
    float low = positive == PROBABILITIES ? 0.1f : positive ? 0.5f : -1.1f;
    float high = positive == PROBABILITIES ? 0.9f : positive ? 1.5f : 1.1f;
    dl_tensor *order;
    assert_int_equal(dl_randperm(n, &order), DL_OK);
    for (int64_t i = 0; i < n; i++)
        p[i] = low + (high - low) * ((float)dl_data(order)[i] - 0.25f) / (float)n;
    dl_release(order);
}

static void check_case(const grad_case *c)
{
    dl_tensor *in[3] = {NULL, NULL, NULL};
    for (int k = 0; k < c->ninputs; k++) {
        assert_int_equal(dl_empty("gradcheck", c->ndim[k], c->shape[k], &in[k]), DL_OK);
        fill_inputs(in[k], c->positive);
        in[k]->requires_grad = true;
    }
    current_param = c->param;
    dl_tensor *out, *r;
    if (c->run(in, &out) != DL_OK)
        fail_msg("%s: forward failed: %s", c->name, dl_error());
    assert_int_equal(dl_randn(out->ndim, out->shape, &r), DL_OK);
    if (!out->requires_grad) {
        /* Piecewise-constant ops (comparisons, rounding) record nothing:
         * their gradient is zero wherever it exists. */
        dl_release(out);
        dl_release(r);
        for (int k = 0; k < c->ninputs; k++)
            dl_release(in[k]);
        return;
    }
    if (dl_backward(out, r) != DL_OK)
        fail_msg("%s: backward failed: %s", c->name, dl_error());
    const double eps = 1e-3;
    for (int k = 0; k < c->ninputs; k++) {
        float *x = dl_data(in[k]);
        for (int64_t i = 0, n = dl_numel(in[k]); i < n; i++) {
            float saved = x[i];
            x[i] = saved + (float)eps;
            double up = loss_at(c, in, r);
            x[i] = saved - (float)eps;
            double down = loss_at(c, in, r);
            x[i] = saved;
            double numeric = (up - down) / (2 * eps);
            double analytic = in[k]->grad ? dl_data(in[k]->grad)[i] : 0.0;
            if (fabs(numeric - analytic) > 1e-2 + 1e-2 * fabs(numeric))
                fail_msg("%s: d/d input %d [%lld]: backward %.6g, finite differences %.6g",
                         c->name, k + 1, (long long)i, analytic, numeric);
        }
    }
    dl_release(out);
    dl_release(r);
    for (int k = 0; k < c->ninputs; k++)
        dl_release(in[k]);
}

/* Checks every case of the table; no tensor memory may be left after. */
static inline void check_cases(const grad_case *cases, size_t n)
{
    dl_manual_seed(2024);
    for (size_t i = 0; i < n; i++)
        check_case(&cases[i]);
    assert_int_equal(dl_memory_in_use(), 0);      /* graphs and grads all freed */
}

#endif
