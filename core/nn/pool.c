/*
 * pool.c -- max and average pooling over N x C x H x W images.
 *
 * Max pooling keeps, per output, the flat position (h*W + w) of the winning
 * input in its plane, so backward routes each gradient straight there.
 * Average pooling divides by the full window, padding included (PyTorch's
 * default count_include_pad=True); backward spreads g / (kh*kw) back.
 */
#include <string.h>

#include "../autograd.h"
#include "../internal.h"
#include "window.h"

static dl_status pool_geometry(const char *fn, const dl_tensor *x, const int kernel[2],
                               const int stride[2], const int padding[2], dl_conv_geometry *g)
{
    for (int a = 0; a < 2; a++)
        if (kernel[a] >= 1 && 2 * padding[a] > kernel[a])
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument to '%s' (expected padding at most half the kernel %d, got %d)",
                           fn, kernel[a], padding[a]);
    return dl_window_geometry(fn, x, kernel, stride, padding, g);
}

DL_MULTIVERSION
static dl_status max_pool_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *where = dl_saved(node, 0);
    if (!where)
        return DL_ERR_ARGUMENT;
    dl_tensor *x = node->inputs[0], *grad, *gc;
    dl_status st = dl_empty("max_pool2d", 4, x->shape, &grad);
    if (st != DL_OK)
        return st;
    if ((st = dl_contiguous(g, &gc)) != DL_OK) {
        dl_release(grad);
        return st;
    }
    int64_t planes = x->shape[0] * x->shape[1], hw = x->shape[2] * x->shape[3];
    int64_t l = out->shape[2] * out->shape[3];
    const float *gv = dl_data(gc), *wv = dl_data(where);
    float *dx = dl_data(grad);
    #pragma omp parallel for schedule(static) if (planes * l > 65536)
    for (int64_t p = 0; p < planes; p++) {
        memset(dx + p * hw, 0, (size_t)hw * sizeof(float));   /* zeroed while in cache */
        for (int64_t i = 0; i < l; i++)
            dx[p * hw + (int64_t)wv[p * l + i]] += gv[p * l + i];
    }
    dl_release(gc);
    return dl_accumulate_grad(x, grad);
}

/* b wins over the best so far a when larger, or when it is the first NaN;
 * all ones (as a mask) when it does, else 0. No branch is taken. */
static inline uint32_t beats(float b, float a)
{
    return -(uint32_t)((b > a) | ((b != b) & (a == a)));
}

/* The bits of x where mask is set, of y elsewhere. */
static inline float pick(uint32_t mask, float x, float y)
{
    uint32_t xb, yb;
    memcpy(&xb, &x, sizeof xb);
    memcpy(&yb, &y, sizeof yb);
    xb = (xb & mask) | (yb & ~mask);
    memcpy(&x, &xb, sizeof x);
    return x;
}

/* All ones when a and b are equal or both NaN, else 0. */
static inline uint32_t ties(float b, float a)
{
    return -(uint32_t)((b == a) | ((b != b) & (a != a)));
}

#define POOL_SEGMENT 1024 /* column winners buffered per pass (even) */

/* Pass 1 of 2x2 pooling: for n columns of a row pair (top, and the row w
 * below), the winner v[j] and its flat position at[j]; the top one's first
 * column sits at position `first`. */
static void column_winners(const float *restrict top, int64_t w, int n, float first,
                           float *restrict v, float *restrict at)
{
    float width = (float)w;
    for (int j = 0; j < n; j++) {
        float a = top[j], c = top[w + j], pa = first + (float)j;
        uint32_t t = beats(c, a);
        v[j] = pick(t, c, a);
        at[j] = pick(t, pa + width, pa);
    }
}

/* Pass 2: output r takes the winner of columns 2r and 2r+1, the earlier
 * position winning ties (so the first maximum, or first NaN, of the window
 * in scan order wins, as in one pass). */
static void pair_winners(const float *restrict v, const float *restrict at, int n,
                         float *restrict y, float *restrict where)
{
    for (int r = 0; r < n; r++) {
        float left = v[2 * r], right = v[2 * r + 1], pl = at[2 * r], pr = at[2 * r + 1];
        uint32_t t = beats(right, left) | (ties(right, left) & -(uint32_t)(pr < pl));
        y[r] = pick(t, right, left);
        where[r] = pick(t, pr, pl);
    }
}

/* 2x2 windows, stride 2, no padding, over one plane w pixels wide: the
 * common case. Two passes over short buffers, written with masks instead
 * of branches, vectorize across output rows however narrow the image;
 * where holds each winner's flat position. */
static void max_pool_2x2_plane(const float *restrict plane, int64_t w, int64_t ho, int64_t wo,
                               float *restrict y, float *restrict where)
{
    float v[POOL_SEGMENT], at[POOL_SEGMENT];
    int64_t pair = 2 * wo;             /* columns used per output row */
    if (pair <= POOL_SEGMENT) {
        int64_t group = POOL_SEGMENT / pair;
        for (int64_t oh0 = 0; oh0 < ho; oh0 += group) {
            int64_t rows = ho - oh0 < group ? ho - oh0 : group;
            for (int64_t r = 0; r < rows; r++)
                column_winners(plane + 2 * (oh0 + r) * w, w, (int)pair,
                               (float)(2 * (oh0 + r) * w), v + r * pair, at + r * pair);
            pair_winners(v, at, (int)(rows * wo), y + oh0 * wo, where + oh0 * wo);
        }
        return;
    }
    for (int64_t oh = 0; oh < ho; oh++)
        for (int64_t j0 = 0; j0 < pair; j0 += POOL_SEGMENT) {
            int64_t n = pair - j0 < POOL_SEGMENT ? pair - j0 : POOL_SEGMENT;
            column_winners(plane + 2 * oh * w + j0, w, (int)n, (float)(2 * oh * w + j0), v, at);
            pair_winners(v, at, (int)(n / 2), y + oh * wo + j0 / 2, where + oh * wo + j0 / 2);
        }
}

DL_MULTIVERSION
dl_status dl_max_pool2d(const dl_tensor *x, const int kernel[2], const int stride[2],
                        const int padding[2], dl_tensor **out)
{
    dl_conv_geometry geo;
    dl_status st = pool_geometry("max_pool2d", x, kernel, stride, padding, &geo);
    if (st != DL_OK)
        return st;
    int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    int64_t shape[4] = {n, c, geo.ho, geo.wo};
    dl_tensor *xc = NULL, *result = NULL, *where = NULL;
    if ((st = dl_contiguous(x, &xc)) == DL_OK && (st = dl_empty("max_pool2d", 4, shape, &result)) == DL_OK &&
        (st = dl_empty("max_pool2d", 4, shape, &where)) == DL_OK) {
        const float *xv = dl_data(xc);
        float *yv = dl_data(result), *wv = dl_data(where);
        int64_t planes = n * c, l = geo.ho * geo.wo;
        bool two_by_two = geo.kh == 2 && geo.kw == 2 && geo.sh == 2 && geo.sw == 2 &&
                          geo.ph == 0 && geo.pw == 0;
        #pragma omp parallel for schedule(static) if (planes * l > 16384)
        for (int64_t p = 0; p < planes; p++) {
            const float *plane = xv + p * h * w;
            if (two_by_two) {
                max_pool_2x2_plane(plane, w, geo.ho, geo.wo, yv + p * l, wv + p * l);
                continue;
            }
            for (int64_t oh = 0; oh < geo.ho; oh++) {
                /* the window clipped to the image: rows i0..i1, columns j0..j1 */
                int64_t i0 = oh * geo.sh - geo.ph, i1 = i0 + geo.kh;
                i0 = i0 < 0 ? 0 : i0;
                i1 = i1 > h ? h : i1;
                for (int64_t ow = 0; ow < geo.wo; ow++) {
                    int64_t j0 = ow * geo.sw - geo.pw, j1 = j0 + geo.kw;
                    j0 = j0 < 0 ? 0 : j0;
                    j1 = j1 > w ? w : j1;
                    int64_t at = i0 * w + j0;
                    float best = plane[at];
                    for (int64_t i = i0; i < i1; i++)
                        for (int64_t j = j0; j < j1; j++) {
                            float v = plane[i * w + j];
                            if (v > best || (v != v && best == best)) {   /* the first NaN wins */
                                best = v;
                                at = i * w + j;
                            }
                        }
                    yv[p * l + oh * geo.wo + ow] = best;
                    wv[p * l + oh * geo.wo + ow] = (float)at;
                }
            }
        }
    }
    dl_release(xc);
    if (st == DL_OK && dl_needs_grad(1, &x)) {
        dl_node *node = dl_record("max_pool2d", max_pool_backward, result, 1, &x);
        if (node) {
            dl_window_store(node, &geo);
            dl_save(node, where);
        } else {
            st = DL_ERR_MEMORY;
        }
    }
    dl_release(where);
    if (st != DL_OK) {
        dl_release(result);
        return st;
    }
    *out = result;
    return DL_OK;
}

/* Adds each window's share of g (g / window area) back onto dx. */
static void avg_pool_scatter(const float *g, int64_t planes, int64_t h, int64_t w,
                             const dl_conv_geometry *geo, float *dx)
{
    float scale = 1.0f / (float)(geo->kh * geo->kw);
    int64_t l = geo->ho * geo->wo;
    #pragma omp parallel for schedule(static) if (planes * l > 16384)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oh = 0; oh < geo->ho; oh++)
            for (int64_t ow = 0; ow < geo->wo; ow++) {
                float share = g[p * l + oh * geo->wo + ow] * scale;
                for (int64_t ki = 0; ki < geo->kh; ki++) {
                    int64_t ih = oh * geo->sh - geo->ph + ki;
                    if (ih < 0 || ih >= h)
                        continue;
                    for (int64_t kj = 0; kj < geo->kw; kj++) {
                        int64_t iw = ow * geo->sw - geo->pw + kj;
                        if (iw >= 0 && iw < w)
                            dx[p * h * w + ih * w + iw] += share;
                    }
                }
            }
}

DL_MULTIVERSION
static dl_status avg_pool_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    dl_tensor *x = node->inputs[0], *grad, *gc;
    dl_conv_geometry geo;
    dl_window_load(node, &geo);
    dl_status st = dl_full("avg_pool2d", 4, x->shape, 0.0f, &grad);
    if (st != DL_OK)
        return st;
    if ((st = dl_contiguous(g, &gc)) != DL_OK) {
        dl_release(grad);
        return st;
    }
    avg_pool_scatter(dl_data(gc), x->shape[0] * x->shape[1], x->shape[2], x->shape[3], &geo,
                     dl_data(grad));
    dl_release(gc);
    return dl_accumulate_grad(x, grad);
}

DL_MULTIVERSION
dl_status dl_avg_pool2d(const dl_tensor *x, const int kernel[2], const int stride[2],
                        const int padding[2], dl_tensor **out)
{
    dl_conv_geometry geo;
    dl_status st = pool_geometry("avg_pool2d", x, kernel, stride, padding, &geo);
    if (st != DL_OK)
        return st;
    int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    dl_tensor *xc = NULL, *result = NULL;
    if ((st = dl_contiguous(x, &xc)) == DL_OK &&
        (st = dl_empty("avg_pool2d", 4, (const int64_t[]){n, c, geo.ho, geo.wo}, &result)) == DL_OK) {
        const float *xv = dl_data(xc);
        float *yv = dl_data(result);
        int64_t planes = n * c, l = geo.ho * geo.wo;
        float scale = 1.0f / (float)(geo.kh * geo.kw);
        #pragma omp parallel for schedule(static) if (planes * l > 16384)
        for (int64_t p = 0; p < planes; p++)
            for (int64_t oh = 0; oh < geo.ho; oh++)
                for (int64_t ow = 0; ow < geo.wo; ow++) {
                    double s = 0;
                    for (int64_t ki = 0; ki < geo.kh; ki++) {
                        int64_t ih = oh * geo.sh - geo.ph + ki;
                        if (ih < 0 || ih >= h)
                            continue;
                        for (int64_t kj = 0; kj < geo.kw; kj++) {
                            int64_t iw = ow * geo.sw - geo.pw + kj;
                            if (iw >= 0 && iw < w)
                                s += xv[p * h * w + ih * w + iw];
                        }
                    }
                    yv[p * l + oh * geo.wo + ow] = (float)s * scale;
                }
    }
    dl_release(xc);
    if (st == DL_OK && dl_needs_grad(1, &x)) {
        dl_node *node = dl_record("avg_pool2d", avg_pool_backward, result, 1, &x);
        if (node)
            dl_window_store(node, &geo);
        else
            st = DL_ERR_MEMORY;
    }
    if (st != DL_OK) {
        dl_release(result);
        return st;
    }
    *out = result;
    return DL_OK;
}
