/*
 * upsample.c -- resizing images (N, C, H, W) by nearest-neighbour or
 * bilinear interpolation, as PyTorch's F.interpolate.
 *
 * Both are separable: along each axis, output o reads input rows i0[o]
 * and i1[o] with weights 1 - t[o] and t[o], so
 *   y[oh, ow] = sum over a, b in {0, 1} of wh_a[oh] ww_b[ow] x[ih_a[oh], iw_b[ow]]
 * and backward adds g back with the same weights. Source coordinates:
 *   nearest:  i0 = min(floor(o * scale), n - 1), t = 0
 *   bilinear: src = o * (n - 1) / (out - 1) with align_corners, else
 *             max((o + 0.5) * scale - 0.5, 0); i0 = floor(src),
 *             i1 = min(i0 + 1, n - 1), t = src - i0
 * where scale is 1 / scale_factor when one was given, else n / out.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../autograd.h"
#include "../internal.h"

typedef struct {
    int64_t *i0, *i1;
    float *t;
} axis_taps;

/* Fills the taps of one axis; false when out of memory. */
static bool make_taps(axis_taps *a, int64_t n, int64_t out, double scale, dl_upsample_mode mode,
                      bool align_corners)
{
    size_t count = (size_t)(out > 0 ? out : 1);
    a->i0 = malloc(count * 2 * sizeof(int64_t));
    a->t = malloc(count * sizeof(float));
    if (!a->i0 || !a->t)
        return false;
    a->i1 = a->i0 + count;
    /* In float, as PyTorch computes them, so that rounding agrees. */
    float ratio = align_corners ? (out > 1 ? (float)(n - 1) / (float)(out - 1) : 0.0f) : (float)scale;
    for (int64_t o = 0; o < out; o++) {
        if (mode == DL_UPSAMPLE_NEAREST) {
            int64_t i = (int64_t)floorf((float)o * (float)scale);
            a->i0[o] = a->i1[o] = i < n - 1 ? i : n - 1;
            a->t[o] = 0.0f;
            continue;
        }
        float src = align_corners ? ratio * (float)o : ratio * ((float)o + 0.5f) - 0.5f;
        src = src < 0 ? 0 : src;
        int64_t i = (int64_t)src;
        i = i < n - 1 ? i : n - 1;
        a->i0[o] = i;
        a->i1[o] = i + 1 < n ? i + 1 : n - 1;
        a->t[o] = src - (float)i;
    }
    return true;
}

static void free_taps(axis_taps *a, axis_taps *b)
{
    free(a->i0);
    free(a->t);
    free(b->i0);
    free(b->t);
}

typedef struct {
    int64_t h, w, ho, wo;
    double scale_h, scale_w;
    dl_upsample_mode mode;
    bool align_corners;
} resize_plan;

static bool plan_taps(const resize_plan *p, axis_taps *th, axis_taps *tw)
{
    *th = (axis_taps){NULL, NULL, NULL};
    *tw = (axis_taps){NULL, NULL, NULL};
    return make_taps(th, p->h, p->ho, p->scale_h, p->mode, p->align_corners) &&
           make_taps(tw, p->w, p->wo, p->scale_w, p->mode, p->align_corners);
}

static dl_status interpolate_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_tensor *x = node->inputs[0], *dx, *gc;
    resize_plan p = {x->shape[2], x->shape[3], out->shape[2], out->shape[3], node->scalar[0],
                     node->scalar[1], (dl_upsample_mode)node->integer[0], node->integer[1] != 0};
    axis_taps th, tw;
    if (!plan_taps(&p, &th, &tw)) {
        free_taps(&th, &tw);
        return dl_fail(DL_ERR_MEMORY, "out of memory in 'interpolate'");
    }
    dl_status st = dl_full("interpolate", 4, x->shape, 0.0f, &dx);
    if (st == DL_OK && (st = dl_contiguous(g, &gc)) != DL_OK)
        dl_release(dx);
    if (st != DL_OK) {
        free_taps(&th, &tw);
        return st;
    }
    int64_t planes = dl_size_mul(x->shape[0], x->shape[1]);
    const float *gv = dl_data(gc);
    float *d = dl_data(dx);
    #pragma omp parallel for schedule(static) if (planes * p.ho * p.wo > 65536)
    for (int64_t q = 0; q < planes; q++) {
        float *plane = d + q * p.h * p.w;
        for (int64_t oh = 0; oh < p.ho; oh++)
            for (int64_t ow = 0; ow < p.wo; ow++) {
                float gval = gv[(q * p.ho + oh) * p.wo + ow];
                float a = th.t[oh], b = tw.t[ow];
                plane[th.i0[oh] * p.w + tw.i0[ow]] += (1 - a) * (1 - b) * gval;
                plane[th.i0[oh] * p.w + tw.i1[ow]] += (1 - a) * b * gval;
                plane[th.i1[oh] * p.w + tw.i0[ow]] += a * (1 - b) * gval;
                plane[th.i1[oh] * p.w + tw.i1[ow]] += a * b * gval;
            }
    }
    free_taps(&th, &tw);
    dl_release(gc);
    return dl_accumulate_grad(x, dx);
}

dl_status dl_interpolate(const dl_tensor *x, const int64_t size[2], const double scale[2],
                         dl_upsample_mode mode, bool align_corners, dl_tensor **out)
{
    char xs[64];
    dl_shape_string(x, xs, sizeof xs);
    if (x->ndim != 4)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'interpolate' (expected images of shape (N, C, H, W), got %s)",
                       xs);
    if (mode != DL_UPSAMPLE_NEAREST && mode != DL_UPSAMPLE_BILINEAR)
        return dl_fail(DL_ERR_ARGUMENT, "bad argument #2 to 'interpolate' (unknown mode)");
    if (size[0] < 1 || size[1] < 1 || x->shape[2] < 1 || x->shape[3] < 1)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to 'interpolate' (expected non-empty images and an output "
                       "size >= 1, got %s to %lldx%lld)",
                       xs, (long long)size[0], (long long)size[1]);
    resize_plan p = {x->shape[2], x->shape[3], size[0], size[1],
                     scale[0] > 0 ? 1.0 / scale[0] : (double)x->shape[2] / (double)size[0],
                     scale[1] > 0 ? 1.0 / scale[1] : (double)x->shape[3] / (double)size[1],
                     mode, align_corners};
    axis_taps th, tw;
    if (!plan_taps(&p, &th, &tw)) {
        free_taps(&th, &tw);
        return dl_fail(DL_ERR_MEMORY, "out of memory in 'interpolate'");
    }
    dl_tensor *xc = NULL, *y = NULL;
    dl_status st;
    if ((st = dl_contiguous(x, &xc)) == DL_OK &&
        (st = dl_empty("interpolate", 4, (const int64_t[]){x->shape[0], x->shape[1], p.ho, p.wo},
                       &y)) == DL_OK) {
        int64_t planes = dl_size_mul(x->shape[0], x->shape[1]);
        const float *xv = dl_data(xc);
        float *yv = dl_data(y);
        #pragma omp parallel for schedule(static) if (planes * p.ho * p.wo > 65536)
        for (int64_t q = 0; q < planes; q++) {
            const float *plane = xv + q * p.h * p.w;
            for (int64_t oh = 0; oh < p.ho; oh++)
                for (int64_t ow = 0; ow < p.wo; ow++) {
                    float a = th.t[oh], b = tw.t[ow];
                    yv[(q * p.ho + oh) * p.wo + ow] =
                        (1 - a) * ((1 - b) * plane[th.i0[oh] * p.w + tw.i0[ow]] +
                                   b * plane[th.i0[oh] * p.w + tw.i1[ow]]) +
                        a * ((1 - b) * plane[th.i1[oh] * p.w + tw.i0[ow]] +
                             b * plane[th.i1[oh] * p.w + tw.i1[ow]]);
                }
        }
    }
    free_taps(&th, &tw);
    dl_release(xc);
    if (st == DL_OK && dl_needs_grad(1, &x)) {
        dl_node *node = dl_record("interpolate", interpolate_backward, y, 1, &x);
        if (node) {
            node->scalar[0] = p.scale_h;
            node->scalar[1] = p.scale_w;
            node->integer[0] = mode;
            node->integer[1] = align_corners;
        } else {
            st = DL_ERR_MEMORY;
        }
    }
    if (st != DL_OK) {
        dl_release(y);
        return st;
    }
    *out = y;
    return DL_OK;
}
