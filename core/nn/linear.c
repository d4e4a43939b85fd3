/*
 * linear.c -- y = x W^T + b through sgemm, and its backward.
 *
 * x (M, in) is any tensor whose last dim is `in` (leading dims flattened
 * into M), W (out, in) stored out x in as PyTorch does, b (out).
 *   forward:  y  = x W^T + b      sgemm(NoTrans, Trans), b pre-filled, beta 1
 *   backward: dx = g W            sgemm(NoTrans, NoTrans)
 *             dW += g^T x         sgemm(Trans, NoTrans) straight into W.grad
 *             db += sum_rows g
 */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "../autograd.h"
#include "../internal.h"

static dl_status linear_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *x = dl_saved(node, 0), *w = dl_saved(node, 1);
    if (!x || !w)
        return DL_ERR_ARGUMENT;
    dl_tensor *bias = node->ninputs > 2 ? node->inputs[2] : NULL;
    int64_t in = w->shape[1], outf = w->shape[0], m = dl_numel(x) / (in ? in : 1);
    dl_tensor *gc;
    dl_status st = dl_contiguous(g, &gc);
    if (st != DL_OK)
        return st;
    const float *gv = dl_data(gc);
    if (node->inputs[0]->requires_grad) {
        dl_tensor *dx;
        if ((st = dl_empty("linear", x->ndim, x->shape, &dx)) == DL_OK) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)in, (int)outf,
                        1.0f, gv, (int)outf, dl_data(w), (int)in, 0.0f, dl_data(dx), (int)in);
            st = dl_accumulate_grad(node->inputs[0], dx);
        }
    }
    dl_tensor *dw;
    float beta;
    if (st == DL_OK && (st = dl_grad_target(node->inputs[1], &dw, &beta)) == DL_OK && dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)outf, (int)in, (int)m, 1.0f,
                    gv, (int)outf, dl_data(x), (int)in, beta, dl_data(dw), (int)in);
    dl_tensor *db;
    if (st == DL_OK && bias && (st = dl_grad_target(bias, &db, &beta)) == DL_OK && db) {
        float *dbv = dl_data(db);
        if (beta == 0.0f)
            memset(dbv, 0, (size_t)outf * sizeof(float));
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < outf; j++)
                dbv[j] += gv[i * outf + j];
    }
    dl_release(gc);
    return st;
}

/* Checks shapes: names the first argument that does not fit. */
static dl_status check_linear(const dl_tensor *x, const dl_tensor *w, const dl_tensor *b)
{
    char xs[64], ws[64];
    dl_shape_string(x, xs, sizeof xs);
    dl_shape_string(w, ws, sizeof ws);
    if (w->ndim != 2)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to 'linear' (expected a weight of shape (out, in), got %s)", ws);
    if (x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1])
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'linear' (expected shape (*, %lld), got %s)",
                       (long long)w->shape[1], xs);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) {
        char bs[64];
        dl_shape_string(b, bs, sizeof bs);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #3 to 'linear' (expected a bias of shape (%lld,), got %s)",
                       (long long)w->shape[0], bs);
    }
    return DL_OK;
}

dl_status dl_linear(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                    dl_tensor **out)
{
    dl_status st = check_linear(x, weight, bias);
    if (st != DL_OK)
        return st;
    dl_tensor *xc, *wc;
    if ((st = dl_contiguous(x, &xc)) != DL_OK)
        return st;
    if ((st = dl_contiguous(weight, &wc)) != DL_OK) {
        dl_release(xc);
        return st;
    }
    int64_t in = weight->shape[1], outf = weight->shape[0];
    int64_t m = dl_numel(x) / (in ? in : 1);
    int64_t shape[DL_MAX_DIM];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = outf;
    dl_tensor *result = NULL;
    if ((st = dl_empty("linear", x->ndim, shape, &result)) == DL_OK) {
        float *y = dl_data(result);
        if (bias) {
            dl_tensor *bc;
            if ((st = dl_contiguous(bias, &bc)) == DL_OK) {
                for (int64_t i = 0; i < m; i++)
                    memcpy(y + i * outf, dl_data(bc), (size_t)outf * sizeof(float));
                dl_release(bc);
            }
        }
        if (st == DL_OK && m > 0 && outf > 0 && in > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)outf, (int)in, 1.0f,
                        dl_data(xc), (int)in, dl_data(wc), (int)in, bias ? 1.0f : 0.0f, y,
                        (int)outf);
        else if (st == DL_OK && !bias)
            memset(y, 0, (size_t)dl_numel(result) * sizeof(float));
    }
    const dl_tensor *inputs[3] = {x, weight, bias};
    int n = bias ? 3 : 2;
    if (st == DL_OK && dl_needs_grad(n, inputs)) {
        dl_node *node = dl_record("linear", linear_backward, result, n, inputs);
        if (node) {
            dl_save(node, xc);
            dl_save(node, wc);
        } else {
            st = DL_ERR_MEMORY;
        }
    }
    dl_release(xc);
    dl_release(wc);
    if (st != DL_OK) {
        dl_release(result);
        return st;
    }
    *out = result;
    return DL_OK;
}
