/*
 * test_gradcheck_ops.c -- finite-difference checks of the indexing,
 * rearranging, scan, sorting and reduction ops (index_ops.c, remap.c,
 * scan.c, sort.c, reduce_more.c) and of the ops.def rows with parameters
 * at values other than their defaults. The check is gradcheck.h's.
 */
#include "gradcheck.h"

/* ---- ops with parameters ---- */

static dl_status run_leaky_relu(dl_tensor *const *in, dl_tensor **out)
{
    return dl_unary_with(DL_LEAKY_RELU, in[0], 0.2f, 0.0f, out);
}

static dl_status run_elu(dl_tensor *const *in, dl_tensor **out)
{
    return dl_unary_with(DL_ELU, in[0], 0.5f, 0.0f, out);
}

static dl_status run_softplus(dl_tensor *const *in, dl_tensor **out)
{
    return dl_unary_with(DL_SOFTPLUS, in[0], 2.0f, 1.0f, out);     /* threshold at x = 0.5 */
}

static dl_status run_hardtanh(dl_tensor *const *in, dl_tensor **out)
{
    return dl_unary_with(DL_HARDTANH, in[0], -0.5f, 0.7f, out);
}

/* ---- indexing ---- */

static dl_status run_gather(dl_tensor *const *in, dl_tensor **out)
{
    /* repeated positions: their gradients add up */
    dl_tensor *idx = TENSOR(2, SHAPE(2, 3), 2, 2, 4, 1, 3, 2);
    dl_status st = dl_gather(in[0], 1, idx, out);
    dl_release(idx);
    return st;
}

static dl_status run_scatter(dl_tensor *const *in, dl_tensor **out)
{
    /* src (2, 3) larger than the index (2, 2); a (3, 4) */
    dl_tensor *idx = TENSOR(2, SHAPE(2, 2), 3, 1, 2, 3);
    dl_status st = dl_scatter(in[0], 0, idx, in[1], 0.0f, current_param, out);
    dl_release(idx);
    return st;
}

static dl_status run_scatter_value(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *idx = TENSOR(2, SHAPE(1, 2), 4, 2);
    dl_status st = dl_scatter(in[0], 1, idx, NULL, 2.5f, false, out);
    dl_release(idx);
    return st;
}

static dl_status run_where(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *cond = TENSOR(2, SHAPE(3, 1), 1, 0, 1);    /* broadcast over columns */
    dl_status st = dl_where(cond, in[0], in[1], out);
    dl_release(cond);
    return st;
}

static dl_status run_masked_fill(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *mask = TENSOR(1, SHAPE(4), 0, 1, 1, 0);
    dl_status st = dl_masked_fill(in[0], mask, -3.0f, out);
    dl_release(mask);
    return st;
}

/* ---- rearranging ---- */

static dl_status run_flip(dl_tensor *const *in, dl_tensor **out)
{
    return dl_flip(in[0], 2, (const int[]){0, 2}, out);
}

static dl_status run_roll(dl_tensor *const *in, dl_tensor **out)
{
    return dl_roll(in[0], 2, (const int64_t[]){1, -5}, (const int[]){0, 1}, out);
}

static dl_status run_roll_flat(dl_tensor *const *in, dl_tensor **out)
{
    return dl_roll(in[0], 1, (const int64_t[]){7}, NULL, out);
}

static dl_status run_repeat(dl_tensor *const *in, dl_tensor **out)
{
    return dl_repeat(in[0], 3, (const int64_t[]){2, 1, 3}, out);
}

static dl_status run_tril(dl_tensor *const *in, dl_tensor **out)
{
    return current_param ? dl_triu(in[0], -1, out) : dl_tril(in[0], 1, out);
}

static dl_status run_diag(dl_tensor *const *in, dl_tensor **out)
{
    return dl_diag(in[0], current_param, out);
}

/* ---- scans, sorting ---- */

static dl_status run_cumsum(dl_tensor *const *in, dl_tensor **out)
{
    return dl_cumsum(in[0], current_param, out);
}

static dl_status run_cumprod(dl_tensor *const *in, dl_tensor **out)
{
    return dl_cumprod(in[0], current_param, out);
}

/* cumprod through a zero: x with its element (0, 2) set to 0 first. */
static dl_status run_cumprod_zero(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *mask = TENSOR(2, SHAPE(2, 5), 1, 1, 0, 1, 1, 1, 1, 1, 1, 1), *x;
    dl_status st = dl_binary(DL_MUL, in[0], mask, &x);
    dl_release(mask);
    if (st == DL_OK) {
        st = dl_cumprod(x, 1, out);
        dl_release(x);
    }
    return st;
}

static dl_status run_sort(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *idx;
    dl_status st = dl_sort(in[0], current_param, current_param == 1, out, &idx);
    if (st == DL_OK)
        dl_release(idx);
    return st;
}

static dl_status run_topk(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *idx;
    dl_status st = dl_topk(in[0], 2, 1, current_param == 0, out, &idx);
    if (st == DL_OK)
        dl_release(idx);
    return st;
}

static dl_status run_median(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *idx = NULL;
    dl_status st = dl_median(in[0], current_param, current_param == 0, out, &idx);
    dl_release(idx);
    return st;
}

/* ---- reductions ---- */

static dl_status run_logsumexp(dl_tensor *const *in, dl_tensor **out)
{
    return dl_logsumexp(in[0], current_param, current_param == 0, out);
}

static dl_status run_amax(dl_tensor *const *in, dl_tensor **out)
{
    return dl_amax(in[0], current_param, false, true, out);
}

static dl_status run_amin(dl_tensor *const *in, dl_tensor **out)
{
    return dl_amax(in[0], current_param, true, false, out);
}

static const double norm_ps[] = {2.0, 1.0, 3.0, 0.5, INFINITY, -INFINITY};

static dl_status run_norm(dl_tensor *const *in, dl_tensor **out)
{
    int which = current_param % 10;
    return dl_norm(in[0], norm_ps[which], current_param >= 10 ? 1 : -1, false, out);
}

#define ONE(nd, ...) 1, {nd}, {{__VA_ARGS__}}
#define TWO(nda, ndb, sa, sb) 2, {nda, ndb}, {sa, sb}
#define S(...) {__VA_ARGS__}

static const grad_case cases[] = {
    {"leaky_relu slope 0.2", ONE(2, 3, 4), false, run_leaky_relu, 0},
    {"elu alpha 0.5", ONE(2, 3, 4), false, run_elu, 0},
    {"softplus beta 2 threshold 1", ONE(2, 3, 4), false, run_softplus, 0},
    {"hardtanh -0.5..0.7", ONE(2, 3, 4), false, run_hardtanh, 0},
    {"gather dim 2", ONE(2, 2, 4), false, run_gather, 0},
    {"scatter dim 1", TWO(2, 2, S(3, 4), S(2, 3)), false, run_scatter, 0},
    {"scatter_add dim 1", TWO(2, 2, S(3, 4), S(2, 3)), false, run_scatter, 1},
    {"scatter of a value", ONE(2, 2, 4), false, run_scatter_value, 0},
    {"where broadcast", TWO(2, 1, S(3, 4), S(4)), false, run_where, 0},
    {"masked_fill", ONE(2, 3, 4), false, run_masked_fill, 0},
    {"flip dims 1, 3", ONE(3, 2, 3, 2), false, run_flip, 0},
    {"roll two dims", ONE(2, 3, 4), false, run_roll, 0},
    {"roll flat", ONE(2, 3, 4), false, run_roll_flat, 0},
    {"repeat", ONE(2, 2, 3), false, run_repeat, 0},
    {"tril 1", ONE(3, 2, 3, 4), false, run_tril, 0},
    {"triu -1", ONE(2, 4, 3), false, run_tril, 1},
    {"diag of a vector", ONE(1, 3), false, run_diag, 1},
    {"diag of a matrix", ONE(2, 3, 4), false, run_diag, -1},
    {"cumsum dim 1", ONE(2, 3, 4), false, run_cumsum, 0},
    {"cumsum dim 2", ONE(2, 3, 4), false, run_cumsum, 1},
    {"cumprod dim 2", ONE(2, 3, 4), false, run_cumprod, 1},
    {"cumprod through a zero", ONE(2, 2, 5), false, run_cumprod_zero, 0},
    {"sort dim 1", ONE(2, 3, 4), false, run_sort, 0},
    {"sort dim 2 descending", ONE(2, 3, 4), false, run_sort, 1},
    {"topk largest", ONE(2, 3, 4), false, run_topk, 0},
    {"topk smallest", ONE(2, 3, 4), false, run_topk, 1},
    {"median dim 1 keepdim", ONE(2, 4, 3), false, run_median, 0},
    {"median dim 2", ONE(2, 3, 5), false, run_median, 1},
    {"median of all", ONE(2, 3, 5), false, run_median, -1},
    {"logsumexp dim 1 keepdim", ONE(2, 3, 4), false, run_logsumexp, 0},
    {"logsumexp all", ONE(2, 3, 4), false, run_logsumexp, -1},
    {"amax dim 2", ONE(2, 3, 4), false, run_amax, 1},
    {"amin all keepdim", ONE(2, 3, 4), false, run_amin, -1},
    {"norm 2", ONE(2, 3, 4), false, run_norm, 0},
    {"norm 1 dim 2", ONE(2, 3, 4), false, run_norm, 11},
    {"norm 3 dim 2", ONE(2, 3, 4), false, run_norm, 12},
    {"norm 0.5", ONE(2, 3, 4), false, run_norm, 3},
    {"norm inf dim 2", ONE(2, 3, 4), false, run_norm, 14},
    {"norm -inf", ONE(2, 3, 4), false, run_norm, 5},
};

static void every_new_op_matches_finite_differences(void **state)
{
    check_cases(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_new_op_matches_finite_differences),
    };
    return cmocka_run_group_tests_name("gradcheck of the indexing, sorting and scan ops", tests,
                                       NULL, NULL);
}
