/*
 * test_gradcheck.c -- every differentiable op against finite differences
 * (the check itself is in gradcheck.h). Elementwise ops come straight from
 * ops.def, so a new row there is checked without editing this file.
 */
#include "gradcheck.h"

#define POSITIVE_ONLY(op) ((op) == DL_POW || (op) == DL_DIV)   /* base > 0, divisor away from 0 */
/* unary maps defined only for positive inputs (or above -1: log1p) */
#define POSITIVE_UNARY(op) ((op) == DL_LOG || (op) == DL_SQRT || (op) == DL_LOG1P || \
                            (op) == DL_LOG2 || (op) == DL_RECIPROCAL || (op) == DL_RSQRT)

/* ---- the ops under test ---- */

#define DL_BINARY(id, name, expr, ga, gb)                                         \
    static dl_status run_##name(dl_tensor *const *in, dl_tensor **out)            \
    {                                                                             \
        return dl_binary(DL_##id, in[0], in[1], out);                             \
    }                                                                             \
    static dl_status run_##name##_scalar(dl_tensor *const *in, dl_tensor **out)   \
    {                                                                             \
        return dl_binary_scalar(DL_##id, in[0], 1.3f, current_param, out);        \
    }
#include "ops.def"

#define DL_UNARY(id, name, expr, grad)                                            \
    static dl_status run_##name(dl_tensor *const *in, dl_tensor **out)            \
    {                                                                             \
        return dl_unary(DL_##id, in[0], out);                                     \
    }
#include "ops.def"

static dl_status run_clamp(dl_tensor *const *in, dl_tensor **out)
{
    return dl_clamp(in[0], -0.3f, 0.7f, out);
}

static dl_status run_softmax(dl_tensor *const *in, dl_tensor **out)
{
    return dl_softmax(in[0], current_param, out);
}

static dl_status run_log_softmax(dl_tensor *const *in, dl_tensor **out)
{
    return dl_log_softmax(in[0], current_param, out);
}

#define REDUCTION(op)                                                             \
    static dl_status run_##op(dl_tensor *const *in, dl_tensor **out)              \
    {                                                                             \
        return dl_reduce(DL_##op, in[0], current_param, current_param == 0, 1, out); \
    }
REDUCTION(SUM)
REDUCTION(MEAN)
REDUCTION(PROD)
REDUCTION(MAX)
REDUCTION(MIN)
REDUCTION(VAR)
REDUCTION(STD)

static dl_status run_reshape(dl_tensor *const *in, dl_tensor **out)
{
    return dl_reshape("reshape", in[0], 2, SHAPE(3, -1), out);
}

static dl_status run_transpose(dl_tensor *const *in, dl_tensor **out)
{
    return dl_transpose(in[0], 0, 2, out);
}

static dl_status run_permute(dl_tensor *const *in, dl_tensor **out)
{
    return dl_permute(in[0], (const int[]){1, 2, 0}, out);
}

static dl_status run_reshape_of_transpose(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *t;
    dl_status st = dl_transpose(in[0], 0, 1, &t);
    if (st == DL_OK) {
        st = dl_flatten(t, 0, 1, out);
        dl_release(t);
    }
    return st;
}

static dl_status run_unsqueeze_squeeze(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *u, *m;
    dl_status st = dl_unsqueeze(in[0], 1, &u);
    if (st != DL_OK)
        return st;
    st = dl_binary(DL_MUL, u, u, &m);
    dl_release(u);
    if (st == DL_OK) {
        st = dl_squeeze(m, 1, out);
        dl_release(m);
    }
    return st;
}

static dl_status run_narrow(dl_tensor *const *in, dl_tensor **out)
{
    return dl_narrow(in[0], 1, 1, 2, out);
}

static dl_status run_select(dl_tensor *const *in, dl_tensor **out)
{
    return dl_select(in[0], 0, 1, out);
}

static dl_status run_expand(dl_tensor *const *in, dl_tensor **out)
{
    return dl_expand(in[0], 3, SHAPE(2, 3, 4), out);
}

static dl_status run_cat(dl_tensor *const *in, dl_tensor **out)
{
    return dl_cat(2, (const dl_tensor *const *)in, current_param, out);
}

static dl_status run_stack(dl_tensor *const *in, dl_tensor **out)
{
    return dl_stack(2, (const dl_tensor *const *)in, current_param, out);
}

static dl_status run_index_select(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *idx = TENSOR(1, SHAPE(4), 3, 1, 3, 2);
    dl_status st = dl_index_select(in[0], 1, idx, out);
    dl_release(idx);
    return st;
}

static dl_status run_matmul(dl_tensor *const *in, dl_tensor **out)
{
    return dl_matmul(in[0], in[1], out);
}

static dl_status run_linear(dl_tensor *const *in, dl_tensor **out)
{
    return dl_linear(in[0], in[1], current_param ? in[2] : NULL, out);
}

static dl_status run_conv2d(dl_tensor *const *in, dl_tensor **out)
{
    int stride[2] = {current_param ? 2 : 1, 1}, padding[2] = {1, current_param ? 0 : 1};
    return dl_conv2d(in[0], in[1], in[2], stride, padding, out);
}

static dl_status run_max_pool2d(dl_tensor *const *in, dl_tensor **out)
{
    int kernel[2] = {2, 2}, stride[2] = {2, 1}, padding[2] = {current_param, 0};
    return dl_max_pool2d(in[0], kernel, stride, padding, out);
}

static dl_status run_avg_pool2d(dl_tensor *const *in, dl_tensor **out)
{
    int kernel[2] = {3, 2}, stride[2] = {1, 2}, padding[2] = {1, current_param};
    return dl_avg_pool2d(in[0], kernel, stride, padding, out);
}

static dl_status run_dropout(dl_tensor *const *in, dl_tensor **out)
{
    dl_manual_seed(5);                  /* the same mask on every call */
    return dl_dropout(in[0], 0.4f, true, out);
}

static dl_status run_batch_norm(dl_tensor *const *in, dl_tensor **out)
{
    return dl_batch_norm(in[0], in[1], in[2], NULL, NULL, true, 0.1f, 1e-5f, out);
}

static dl_status run_batch_norm_eval(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *mean = TENSOR(1, SHAPE(3), 0.1f, -0.2f, 0.3f), *var = TENSOR(1, SHAPE(3), 0.5f, 1, 2);
    dl_status st = dl_batch_norm(in[0], in[1], in[2], mean, var, false, 0.1f, 1e-5f, out);
    dl_release(mean);
    dl_release(var);
    return st;
}

static dl_status run_layer_norm(dl_tensor *const *in, dl_tensor **out)
{
    return dl_layer_norm(in[0], in[1], in[2], 1e-5f, out);
}

static dl_status run_embedding(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *idx = TENSOR(2, SHAPE(2, 3), 1, 4, 2, 4, 4, 3);
    dl_status st = dl_embedding(idx, in[0], out);
    dl_release(idx);
    return st;
}

static dl_status run_cross_entropy(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *labels = TENSOR(1, SHAPE(3), 2, 4, 1);
    dl_status st = dl_cross_entropy(in[0], labels, current_param ? 0.1f : 0.0f,
                                    current_param == 2 ? DL_REDUCE_NONE : DL_REDUCE_MEAN, out);
    dl_release(labels);
    return st;
}

static dl_status run_nll_loss(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *labels = TENSOR(1, SHAPE(3), 3, 1, 4);
    dl_status st = dl_nll_loss(in[0], labels, DL_REDUCE_SUM, out);
    dl_release(labels);
    return st;
}

static dl_status run_mse_loss(dl_tensor *const *in, dl_tensor **out)
{
    return dl_mse_loss(in[0], in[1], DL_REDUCE_MEAN, out);
}

static dl_status run_l1_loss(dl_tensor *const *in, dl_tensor **out)
{
    return dl_l1_loss(in[0], in[1], DL_REDUCE_SUM, out);
}

static dl_status run_bce(dl_tensor *const *in, dl_tensor **out)
{
    return dl_bce(in[0], in[1], DL_REDUCE_MEAN, out);
}

static dl_status run_bce_with_logits(dl_tensor *const *in, dl_tensor **out)
{
    return dl_bce_with_logits(in[0], in[1], DL_REDUCE_MEAN, out);
}

static dl_status run_gelu_tanh(dl_tensor *const *in, dl_tensor **out)
{
    return dl_gelu(in[0], true, out);
}

/* clone() and a copying contiguous() (of a transposed view) pass g back. */
static dl_status run_clone_contiguous(dl_tensor *const *in, dl_tensor **out)
{
    dl_tensor *copy, *t, *c;
    dl_status st = dl_clone_recorded(in[0], &copy);
    if (st != DL_OK)
        return st;
    if ((st = dl_transpose(copy, 0, 1, &t)) == DL_OK) {
        if ((st = dl_contiguous_recorded(t, &c)) == DL_OK) {
            st = dl_binary(DL_MUL, c, c, out);
            dl_release(c);
        }
        dl_release(t);
    }
    dl_release(copy);
    return st;
}

/* ---- the table ---- */

#define ONE(nd, ...) 1, {nd}, {{__VA_ARGS__}}
#define TWO(nda, ndb, sa, sb) 2, {nda, ndb}, {sa, sb}
#define THREE(nda, ndb, ndc, sa, sb, sc) 3, {nda, ndb, ndc}, {sa, sb, sc}
#define S(...) {__VA_ARGS__}

static const grad_case cases[] = {
#define DL_BINARY(id, name, expr, ga, gb)                                               \
    {#name " same shape", TWO(2, 2, S(2, 3), S(2, 3)), POSITIVE_ONLY(DL_##id), run_##name, 0}, \
    {#name " broadcast", TWO(2, 1, S(2, 3), S(3)), POSITIVE_ONLY(DL_##id), run_##name, 0},     \
    {#name " broadcast both", TWO(2, 3, S(3, 1), S(2, 1, 4)), POSITIVE_ONLY(DL_##id),           \
     run_##name, 0},                                                                    \
    {#name " tensor-scalar", ONE(2, 2, 3), POSITIVE_ONLY(DL_##id), run_##name##_scalar, 0},     \
    {#name " scalar-tensor", ONE(2, 2, 3), true, run_##name##_scalar, 1},
#include "ops.def"
#define DL_UNARY(id, name, expr, grad)                                                  \
    {#name, ONE(2, 3, 4), POSITIVE_UNARY(DL_##id), run_##name, 0},
#include "ops.def"
    {"clamp", ONE(2, 3, 4), false, run_clamp, 0},
    {"softmax dim 1", ONE(2, 3, 4), false, run_softmax, 0},
    {"softmax dim 2", ONE(2, 3, 4), false, run_softmax, 1},
    {"log_softmax dim 2", ONE(2, 3, 4), false, run_log_softmax, 1},
    {"log_softmax 3-D dim 2", ONE(3, 2, 3, 4), false, run_log_softmax, 1},
    {"sum all", ONE(2, 3, 4), false, run_SUM, -1},
    {"sum dim 1 keepdim", ONE(2, 3, 4), false, run_SUM, 0},
    {"sum dim 2", ONE(2, 3, 4), false, run_SUM, 1},
    {"mean all", ONE(2, 3, 4), false, run_MEAN, -1},
    {"mean dim 2", ONE(3, 2, 3, 4), false, run_MEAN, 1},
    {"prod dim 2", ONE(2, 3, 4), true, run_PROD, 1},
    {"max all", ONE(2, 3, 4), false, run_MAX, -1},
    {"max dim 2", ONE(2, 3, 4), false, run_MAX, 1},
    {"min dim 1 keepdim", ONE(2, 3, 4), false, run_MIN, 0},
    {"var all", ONE(2, 3, 4), false, run_VAR, -1},
    {"var dim 2", ONE(2, 3, 4), false, run_VAR, 1},
    {"std dim 1 keepdim", ONE(2, 3, 4), false, run_STD, 0},
    {"reshape", ONE(2, 2, 6), false, run_reshape, 0},
    {"transpose", ONE(3, 2, 3, 4), false, run_transpose, 0},
    {"permute", ONE(3, 2, 3, 4), false, run_permute, 0},
    {"flatten of transpose", ONE(2, 3, 4), false, run_reshape_of_transpose, 0},
    {"unsqueeze, squeeze", ONE(2, 3, 4), false, run_unsqueeze_squeeze, 0},
    {"narrow", ONE(2, 3, 4), false, run_narrow, 0},
    {"select", ONE(2, 3, 4), false, run_select, 0},
    {"expand", ONE(2, 3, 1), false, run_expand, 0},
    {"cat dim 1", TWO(2, 2, S(2, 3), S(1, 3)), false, run_cat, 0},
    {"cat dim 2", TWO(2, 2, S(2, 3), S(2, 2)), false, run_cat, 1},
    {"stack dim 2", TWO(2, 2, S(2, 3), S(2, 3)), false, run_stack, 1},
    {"index_select", ONE(2, 2, 3), false, run_index_select, 0},
    {"matmul 2-D", TWO(2, 2, S(3, 4), S(4, 2)), false, run_matmul, 0},
    {"matmul vector-matrix", TWO(1, 2, S(4), S(4, 2)), false, run_matmul, 0},
    {"matmul matrix-vector", TWO(2, 1, S(3, 4), S(4)), false, run_matmul, 0},
    {"matmul dot", TWO(1, 1, S(4), S(4)), false, run_matmul, 0},
    {"matmul batched", TWO(3, 3, S(2, 3, 4), S(2, 4, 2)), false, run_matmul, 0},
    {"matmul batch broadcast", TWO(3, 2, S(2, 3, 4), S(4, 2)), false, run_matmul, 0},
    {"linear", TWO(2, 2, S(3, 4), S(2, 4)), false, run_linear, 0},
    {"linear with bias, 3-D input", THREE(3, 2, 1, S(2, 3, 4), S(5, 4), S(5)), false, run_linear, 1},
    {"conv2d padded", THREE(4, 4, 1, S(2, 2, 5, 4), S(3, 2, 3, 2), S(3)), false, run_conv2d, 0},
    {"conv2d strided", THREE(4, 4, 1, S(2, 2, 5, 4), S(3, 2, 3, 2), S(3)), false, run_conv2d, 1},
    {"max_pool2d", ONE(4, 2, 2, 4, 5), false, run_max_pool2d, 0},
    {"max_pool2d padded", ONE(4, 2, 2, 4, 5), false, run_max_pool2d, 1},
    {"avg_pool2d", ONE(4, 2, 2, 4, 5), false, run_avg_pool2d, 0},
    {"avg_pool2d padded", ONE(4, 2, 2, 4, 5), false, run_avg_pool2d, 1},
    {"dropout", ONE(2, 3, 4), false, run_dropout, 0},
    {"batch_norm 2-D", THREE(2, 1, 1, S(4, 3), S(3), S(3)), false, run_batch_norm, 0},
    {"batch_norm 4-D", THREE(4, 1, 1, S(2, 3, 2, 2), S(3), S(3)), false, run_batch_norm, 0},
    {"batch_norm eval", THREE(4, 1, 1, S(2, 3, 2, 2), S(3), S(3)), false, run_batch_norm_eval, 0},
    {"layer_norm", THREE(3, 1, 1, S(2, 2, 5), S(5), S(5)), false, run_layer_norm, 0},
    {"embedding", ONE(2, 4, 3), false, run_embedding, 0},
    {"cross_entropy", ONE(2, 3, 4), false, run_cross_entropy, 0},
    {"cross_entropy smoothed", ONE(2, 3, 4), false, run_cross_entropy, 1},
    {"cross_entropy per row", ONE(2, 3, 4), false, run_cross_entropy, 2},
    {"nll_loss", ONE(2, 3, 4), false, run_nll_loss, 0},
    {"mse_loss", TWO(2, 2, S(3, 2), S(3, 2)), false, run_mse_loss, 0},
    {"l1_loss", TWO(2, 2, S(3, 2), S(3, 2)), false, run_l1_loss, 0},
    {"bce", TWO(2, 2, S(3, 2), S(3, 2)), PROBABILITIES, run_bce, 0},
    {"bce_with_logits", TWO(2, 2, S(3, 2), S(3, 2)), false, run_bce_with_logits, 0},
    {"gelu tanh", ONE(2, 3, 4), false, run_gelu_tanh, 0},
    {"clone, contiguous", ONE(2, 3, 4), false, run_clone_contiguous, 0},
};

static void every_op_matches_finite_differences(void **state)
{
    check_cases(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_op_matches_finite_differences),
    };
    return cmocka_run_group_tests_name("gradcheck", tests, NULL, NULL);
}
