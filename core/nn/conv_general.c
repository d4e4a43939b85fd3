/*
 * conv_general.c -- 2-D convolution with dilation, groups and padding that
 * may differ on each side (what padding = "same" needs for even kernels).
 *
 * The plain case (dilation 1, one group, even padding) goes to dl_conv2d
 * and its three fast routes (conv.c). The rest runs here, image by image
 * and group by group, by im2col + sgemm:
 *   x (N, C, H, W), weight (O, C/G, kh, kw); group g sees channels
 *   g*C/G .. (g+1)*C/G - 1 and makes outputs g*O/G .. (g+1)*O/G - 1.
 *   col (K, L), K = C/G*kh*kw, L = Ho*Wo: row (c, i, j), column (oh, ow)
 *     holds x[c, oh*sh - pt + i*dh, ow*sw - pl + j*dw] (0 off the image)
 *   forward:  Y_g (O/G, L) = W_g (O/G, K) @ col + b
 *   backward: dW_g += G_g @ col^T;  dcol = W_g^T @ G_g, dx = col2im(dcol)
 * Ho = (H + pt + pb - dh*(kh - 1) - 1) / sh + 1, and likewise Wo.
 * The unfolding loops stay serial: one image's col is small, and a thread
 * team per image and group cost more than it saved (sgemm has its own).
 */
#include <cblas.h>
#include <string.h>

#include "../autograd.h"
#include "../internal.h"

typedef struct {
    int64_t c, h, w;             /* one group's channels, the image size */
    int64_t kh, kw, sh, sw, pt, pl, dh, dw, ho, wo;
} dilated_geometry;

/* Output columns [lo, hi) of a row whose input column ow*sw - pl + j*dw
 * falls inside 0..w-1. */
static void valid_columns(const dilated_geometry *g, int64_t j, int64_t *lo, int64_t *hi)
{
    int64_t first = g->pl - j * g->dw;                /* ow*sw >= first */
    int64_t last = g->w + g->pl - j * g->dw;          /* ow*sw < last */
    *lo = first <= 0 ? 0 : (first + g->sw - 1) / g->sw;
    *hi = last <= 0 ? 0 : (last + g->sw - 1) / g->sw;
    *hi = *hi > g->wo ? g->wo : *hi;
    *lo = *lo > *hi ? *hi : *lo;
}

/* x (c, h, w) of one image's group -> col (c*kh*kw, ho*wo). */
static void im2col_dilated(const float *restrict x, const dilated_geometry *g,
                           float *restrict col)
{
    int64_t l = g->ho * g->wo, rows = g->c * g->kh * g->kw;
    for (int64_t r = 0; r < rows; r++) {
        int64_t ch = r / (g->kh * g->kw), i = (r / g->kw) % g->kh, j = r % g->kw, lo, hi;
        float *dst = col + r * l;
        const float *plane = x + ch * g->h * g->w;
        valid_columns(g, j, &lo, &hi);
        for (int64_t oh = 0; oh < g->ho; oh++) {
            int64_t ih = oh * g->sh - g->pt + i * g->dh;
            float *row = dst + oh * g->wo;
            bool inside = ih >= 0 && ih < g->h;
            int64_t base = ih * g->w - g->pl + j * g->dw;   /* input of ow: base + ow*sw */
            for (int64_t ow = 0; ow < g->wo; ow++)
                row[ow] = inside && ow >= lo && ow < hi ? plane[base + ow * g->sw] : 0.0f;
        }
    }
}

/* The adjoint: dx (c, h, w) += the columns' windows. */
static void col2im_dilated(const float *restrict col, const dilated_geometry *g,
                           float *restrict dx)
{
    int64_t l = g->ho * g->wo;
    for (int64_t ch = 0; ch < g->c; ch++)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                const float *src = col + ((ch * g->kh + i) * g->kw + j) * l;
                float *plane = dx + ch * g->h * g->w;
                int64_t lo, hi;
                valid_columns(g, j, &lo, &hi);
                for (int64_t oh = 0; oh < g->ho; oh++) {
                    int64_t ih = oh * g->sh - g->pt + i * g->dh;
                    if (ih < 0 || ih >= g->h)
                        continue;
                    int64_t base = ih * g->w - g->pl + j * g->dw;
                    for (int64_t ow = lo; ow < hi; ow++)
                        plane[base + ow * g->sw] += src[oh * g->wo + ow];
                }
            }
}

/* The geometry of one group from x, weight and the options. */
static dilated_geometry group_geometry(const dl_tensor *x, const dl_tensor *w,
                                       const dl_conv2d_options *o, int64_t ho, int64_t wo)
{
    return (dilated_geometry){w->shape[1], x->shape[2], x->shape[3], w->shape[2], w->shape[3],
                              o->stride[0], o->stride[1], o->padding[0], o->padding[2],
                              o->dilation[0], o->dilation[1], ho, wo};
}

/* Node slots: stride, top and left padding, dilation, groups. */
static void store_options(dl_node *node, const dl_conv2d_options *o)
{
    int64_t v[7] = {o->stride[0], o->stride[1], o->padding[0], o->padding[2],
                    o->dilation[0], o->dilation[1], o->groups};
    memcpy(node->integer, v, sizeof v);
}

static dl_conv2d_options load_options(const dl_node *node)
{
    const int64_t *v = node->integer;
    return (dl_conv2d_options){{(int)v[0], (int)v[1]}, {(int)v[2], 0, (int)v[3], 0},
                               {(int)v[4], (int)v[5]}, (int)v[6]};
}

static dl_status conv2d_general_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *x = dl_saved(node, 0), *w = dl_saved(node, 1);
    if (!x || !w)
        return DL_ERR_ARGUMENT;
    dl_conv2d_options o = load_options(node);
    dl_tensor *bias = node->ninputs > 2 ? node->inputs[2] : NULL;
    dilated_geometry geo = group_geometry(x, w, &o, out->shape[2], out->shape[3]);
    int64_t n = x->shape[0], c = x->shape[1], o_all = w->shape[0], groups = o.groups;
    int64_t og = o_all / groups, k = geo.c * geo.kh * geo.kw, l = geo.ho * geo.wo;
    dl_tensor *gc = NULL, *col = NULL, *dw = NULL, *db = NULL, *dx = NULL;
    float beta_w = 0, beta_b = 0;
    dl_status st;
    if ((st = dl_contiguous(g, &gc)) == DL_OK &&
        (st = dl_empty("conv2d", 1, (const int64_t[]){k * l > 0 ? k * l : 1}, &col)) == DL_OK &&
        (st = dl_grad_target(node->inputs[1], &dw, &beta_w)) == DL_OK &&
        (!bias || (st = dl_grad_target(bias, &db, &beta_b)) == DL_OK) &&
        (!node->inputs[0]->requires_grad ||
         (st = dl_full("conv2d", 4, x->shape, 0.0f, &dx)) == DL_OK)) {
        const float *gv = dl_data(gc), *wv = dl_data(w), *xv = dl_data(x);
        float *cv = dl_data(col);
        if (dw && beta_w == 0.0f)
            memset(dl_data(dw), 0, (size_t)dl_numel(dw) * sizeof(float));
        for (int64_t img = 0; img < n; img++)
            for (int64_t grp = 0; grp < groups; grp++) {
                const float *gg = gv + (img * o_all + grp * og) * l;
                const float *wg = wv + grp * og * k;
                if (dw && l > 0) {
                    im2col_dilated(xv + (img * c + grp * geo.c) * geo.h * geo.w, &geo, cv);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)og, (int)k, (int)l,
                                1.0f, gg, (int)l, cv, (int)l, 1.0f, dl_data(dw) + grp * og * k,
                                (int)k);
                }
                if (dx && l > 0 && k > 0) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)l, (int)og,
                                1.0f, wg, (int)k, gg, (int)l, 0.0f, cv, (int)l);
                    col2im_dilated(cv, &geo, dl_data(dx) + (img * c + grp * geo.c) * geo.h * geo.w);
                }
            }
        if (db) {
            float *d = dl_data(db);
            for (int64_t ch = 0; ch < o_all; ch++) {
                double s = 0;
                for (int64_t img = 0; img < n; img++)
                    for (int64_t i = 0; i < l; i++)
                        s += gv[(img * o_all + ch) * l + i];
                d[ch] = beta_b != 0.0f ? d[ch] + (float)s : (float)s;
            }
        }
        if (dx) {
            st = dl_accumulate_grad(node->inputs[0], dx);
            dx = NULL;
        }
    }
    dl_release(dx);
    dl_release(gc);
    dl_release(col);
    return st;
}

/* Checks the options and the shapes; writes the output size. */
static dl_status check_general(const dl_tensor *x, const dl_tensor *w, const dl_tensor *b,
                               const dl_conv2d_options *o, int64_t *ho, int64_t *wo)
{
    char xs[64], ws[64];
    dl_shape_string(x, xs, sizeof xs);
    dl_shape_string(w, ws, sizeof ws);
    if (x->ndim != 4)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'conv2d' (expected images of shape (N, C, H, W), got %s)", xs);
    if (w->ndim != 4)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to 'conv2d' (expected a weight of shape (out, in/groups, kh, kw), got %s)",
                       ws);
    for (int a = 0; a < 2; a++)
        if (o->stride[a] < 1 || o->dilation[a] < 1 || o->padding[2 * a] < 0 || o->padding[2 * a + 1] < 0)
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #4 to 'conv2d' (expected stride >= 1, dilation >= 1 and "
                           "padding >= 0, got stride %d, dilation %d, padding %d, %d)",
                           o->stride[a], o->dilation[a], o->padding[2 * a], o->padding[2 * a + 1]);
    int64_t c = x->shape[1], out = w->shape[0], groups = o->groups;
    if (groups < 1 || c % groups != 0 || out % groups != 0)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #4 to 'conv2d' (expected groups dividing the %lld input channels "
                       "and the %lld output channels, got %d)",
                       (long long)c, (long long)out, o->groups);
    if (w->shape[1] * groups != c && groups == 1)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'conv2d' (expected images with %lld channel%s, "
                       "shape (N, %lld, H, W), got %s)",
                       (long long)w->shape[1], w->shape[1] == 1 ? "" : "s",
                       (long long)w->shape[1], xs);
    if (w->shape[1] * groups != c)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'conv2d' (expected images with %lld channels (%lld per "
                       "group for weight %s), got %s)",
                       (long long)(w->shape[1] * groups), (long long)w->shape[1], ws, xs);
    if (b && (b->ndim != 1 || b->shape[0] != out))
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #3 to 'conv2d' (expected a bias of shape (%lld,))", (long long)out);
    int64_t span_h = (int64_t)o->dilation[0] * (w->shape[2] - 1) + 1;
    int64_t span_w = (int64_t)o->dilation[1] * (w->shape[3] - 1) + 1;
    int64_t h = x->shape[2] + o->padding[0] + o->padding[1];
    int64_t wd = x->shape[3] + o->padding[2] + o->padding[3];
    if (h < span_h || wd < span_w)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'conv2d' (a kernel spanning %lldx%lld with dilation does "
                       "not fit a %lldx%lld image with its padding)",
                       (long long)span_h, (long long)span_w, (long long)x->shape[2],
                       (long long)x->shape[3]);
    *ho = (h - span_h) / o->stride[0] + 1;
    *wo = (wd - span_w) / o->stride[1] + 1;
    return DL_OK;
}

dl_status dl_conv2d_with(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                         const dl_conv2d_options *o, dl_tensor **out)
{
    int64_t ho = 0, wo = 0;
    dl_status st = check_general(x, weight, bias, o, &ho, &wo);
    if (st != DL_OK)
        return st;
    if (o->groups == 1 && o->dilation[0] == 1 && o->dilation[1] == 1 &&
        o->padding[0] == o->padding[1] && o->padding[2] == o->padding[3])
        return dl_conv2d(x, weight, bias, o->stride, (const int[]){o->padding[0], o->padding[2]},
                         out);
    int64_t n = x->shape[0], c = x->shape[1], o_all = weight->shape[0], groups = o->groups;
    const dl_tensor *inputs[3] = {x, weight, bias};
    int ninputs = bias ? 3 : 2;
    dl_tensor *xc = NULL, *wc = NULL, *bc = NULL, *col = NULL, *result = NULL;
    dilated_geometry geo = group_geometry(x, weight, o, ho, wo);
    int64_t og = o_all / groups, k = geo.c * geo.kh * geo.kw, l = ho * wo;
    if ((st = dl_contiguous(x, &xc)) == DL_OK && (st = dl_contiguous(weight, &wc)) == DL_OK &&
        (!bias || (st = dl_contiguous(bias, &bc)) == DL_OK) &&
        (st = dl_empty("conv2d", 1, (const int64_t[]){k * l > 0 ? k * l : 1}, &col)) == DL_OK &&
        (st = dl_empty("conv2d", 4, (const int64_t[]){n, o_all, ho, wo}, &result)) == DL_OK) {
        const float *xv = dl_data(xc), *wv = dl_data(wc), *bv = bc ? dl_data(bc) : NULL;
        float *cv = dl_data(col), *yv = dl_data(result);
        for (int64_t img = 0; img < n; img++)
            for (int64_t grp = 0; grp < groups; grp++) {
                float *yg = yv + (img * o_all + grp * og) * l;
                for (int64_t ch = 0; ch < og; ch++)
                    for (int64_t i = 0; i < l; i++)
                        yg[ch * l + i] = bv ? bv[grp * og + ch] : 0.0f;
                if (l == 0 || og == 0 || k == 0)
                    continue;
                im2col_dilated(xv + (img * c + grp * geo.c) * geo.h * geo.w, &geo, cv);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)og, (int)l, (int)k, 1.0f,
                            wv + grp * og * k, (int)k, cv, (int)l, 1.0f, yg, (int)l);
            }
    }
    if (st == DL_OK && dl_needs_grad(ninputs, inputs)) {
        dl_node *node = dl_record("conv2d", conv2d_general_backward, result, ninputs, inputs);
        if (node) {
            store_options(node, o);
            dl_save(node, xc);
            dl_save(node, wc);
        } else {
            st = DL_ERR_MEMORY;
        }
    }
    dl_release(xc);
    dl_release(wc);
    dl_release(bc);
    dl_release(col);
    if (st != DL_OK) {
        dl_release(result);
        return st;
    }
    *out = result;
    return DL_OK;
}
