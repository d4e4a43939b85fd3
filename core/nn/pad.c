/*
 * pad.c -- padding the last one or two dims (PyTorch's F.pad): with a
 * constant, or by reflecting, replicating or wrapping the edge.
 *
 * Each output row/column reads one source row/column (or the constant):
 * index maps per padded dim are built once, forward copies through them
 * and backward adds each output gradient back to its source.
 */
#include <stdio.h>

#include "../autograd.h"
#include "../internal.h"

static const char *const mode_names[] = {"constant", "reflect", "replicate", "circular"};

/* The source of output position o along a dim of size n padded by
 * `before` in front, or -1 for the constant. */
static int64_t source_index(int64_t o, int64_t n, int64_t before, dl_pad_mode mode)
{
    int64_t i = o - before;
    switch (mode) {
    case DL_PAD_REFLECT:
        i = i < 0 ? -i : i;
        return i >= n ? 2 * (n - 1) - i : i;
    case DL_PAD_REPLICATE:
        return i < 0 ? 0 : i >= n ? n - 1 : i;
    case DL_PAD_CIRCULAR:
        return ((i % n) + n) % n;
    default:
        return i >= 0 && i < n ? i : -1;
    }
}

typedef struct {
    int64_t planes, h, w, ho, wo;   /* a 1-D pad has h = ho = 1 */
    int64_t top, left;
    dl_pad_mode mode;
} pad_layout;

static pad_layout layout_of(const dl_tensor *x, int npad, const int *pad, dl_pad_mode mode)
{
    int64_t w = x->shape[x->ndim - 1], h = npad == 4 ? x->shape[x->ndim - 2] : 1;
    return (pad_layout){dl_shape_numel(x->ndim - npad / 2, x->shape), h, w,
                        h + (npad == 4 ? pad[2] + pad[3] : 0), w + pad[0] + pad[1],
                        npad == 4 ? pad[2] : 0, pad[0], mode};
}

static dl_status pad_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_tensor *x = node->inputs[0], *dx, *gc;
    int pad[4] = {(int)node->integer[1], (int)node->integer[2], (int)node->integer[3],
                  (int)node->integer[4]};
    pad_layout lay = layout_of(x, (int)node->integer[0], pad, (dl_pad_mode)node->integer[5]);
    dl_status st = dl_full("pad", x->ndim, x->shape, 0.0f, &dx);
    if (st != DL_OK)
        return st;
    if ((st = dl_contiguous(g, &gc)) != DL_OK) {
        dl_release(dx);
        return st;
    }
    const float *gv = dl_data(gc);
    float *d = dl_data(dx);
    for (int64_t p = 0; p < lay.planes; p++)
        for (int64_t oh = 0; oh < lay.ho; oh++) {
            int64_t ih = source_index(oh, lay.h, lay.top, lay.mode);
            for (int64_t ow = 0; ow < lay.wo; ow++) {
                int64_t iw = source_index(ow, lay.w, lay.left, lay.mode);
                if (ih >= 0 && iw >= 0)
                    d[(p * lay.h + ih) * lay.w + iw] += gv[(p * lay.ho + oh) * lay.wo + ow];
            }
        }
    dl_release(gc);
    return dl_accumulate_grad(x, dx);
}

/* Checks the pads against x's dims and the mode. */
static dl_status check_pad(const dl_tensor *x, int npad, const int *pad, dl_pad_mode mode)
{
    if (npad != 2 && npad != 4)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to 'pad' (expected {left, right} or {left, right, top, "
                       "bottom}, got %d numbers)",
                       npad);
    if (mode < DL_PAD_CONSTANT || mode > DL_PAD_CIRCULAR)
        return dl_fail(DL_ERR_ARGUMENT, "bad argument #3 to 'pad' (unknown mode)");
    if (x->ndim < npad / 2) {
        char xs[64];
        dl_shape_string(x, xs, sizeof xs);
        return dl_fail(DL_ERR_SHAPE, "bad argument #1 to 'pad' (expected at least %d dims, got %s)",
                       npad / 2, xs);
    }
    for (int i = 0; i < npad; i++) {
        int64_t n = x->shape[x->ndim - 1 - i / 2];
        if (pad[i] < 0)
            return dl_fail(DL_ERR_ARGUMENT, "bad argument #2 to 'pad' (expected pads >= 0, got %d)",
                           pad[i]);
        if (pad[i] > 0 && ((mode == DL_PAD_REFLECT && pad[i] >= n) ||
                           (mode == DL_PAD_REPLICATE && n == 0) ||
                           (mode == DL_PAD_CIRCULAR && pad[i] > n)))
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #2 to 'pad' (%s padding of %d does not fit dim %d of size "
                           "%lld; reflect needs a pad below the size, replicate a non-empty dim, "
                           "circular at most the size)",
                           mode_names[mode], pad[i], x->ndim - i / 2, (long long)n);
    }
    return DL_OK;
}

dl_status dl_pad(const dl_tensor *x, int npad, const int *pad, dl_pad_mode mode, float value,
                 dl_tensor **out)
{
    dl_status st = check_pad(x, npad, pad, mode);
    if (st != DL_OK)
        return st;
    pad_layout lay = layout_of(x, npad, pad, mode);
    int64_t shape[DL_MAX_DIM];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = x->shape[d];
    shape[x->ndim - 1] = lay.wo;
    if (npad == 4)
        shape[x->ndim - 2] = lay.ho;
    dl_tensor *xc, *result;
    if ((st = dl_contiguous(x, &xc)) != DL_OK)
        return st;
    if ((st = dl_empty("pad", x->ndim, shape, &result)) != DL_OK) {
        dl_release(xc);
        return st;
    }
    const float *xv = dl_data(xc);
    float *y = dl_data(result);
    for (int64_t p = 0; p < lay.planes; p++)
        for (int64_t oh = 0; oh < lay.ho; oh++) {
            int64_t ih = source_index(oh, lay.h, lay.top, mode);
            for (int64_t ow = 0; ow < lay.wo; ow++) {
                int64_t iw = source_index(ow, lay.w, lay.left, mode);
                y[(p * lay.ho + oh) * lay.wo + ow] =
                    ih >= 0 && iw >= 0 ? xv[(p * lay.h + ih) * lay.w + iw] : value;
            }
        }
    dl_release(xc);
    if (dl_needs_grad(1, &x)) {
        dl_node *node = dl_record("pad", pad_backward, result, 1, &x);
        if (!node) {
            dl_release(result);
            return DL_ERR_MEMORY;
        }
        node->integer[0] = npad;
        for (int i = 0; i < 4; i++)
            node->integer[1 + i] = i < npad ? pad[i] : 0;
        node->integer[5] = mode;
    }
    *out = result;
    return DL_OK;
}
