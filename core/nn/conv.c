/*
 * conv.c -- 2-D convolution, by one of three routes chosen per layer:
 *   direct loops (conv_direct.c) when conv_direct_suits(): stride 1 and at
 *     most 32 taps per output, where sgemm would multiply shallow matrices;
 *   FFTs (conv_fft.c) when conv_fft_pays(): stride 1, many channels, large
 *     kernels;
 *   otherwise im2col + sgemm, a chunk of images at a time, below; but the
 *     forward pass by the direct loops when conv_direct_forward_pays(),
 *     and for stride 1 dx too when that pays for the turned-around layer
 *     (dx is the convolution of g by the weight with in and out channels
 *     swapped and taps mirrored, padded k - 1 - p).
 *
 * x (N, C, H, W), weight (O, C, kh, kw) seen as Wm (O, K), K = C*kh*kw.
 * For each chunk of n images, col (K, n*L) from im2col with L = Ho*Wo:
 *   forward:  Y (O, n*L) = Wm @ col   then rearranged to (n, O, Ho, Wo) + b
 *   backward: G (O, n*L) = g rearranged
 *             dWm += G @ col^T        (sgemm straight into weight.grad)
 *             dcol = Wm^T @ G,  dx = col2im(dcol)
 * db is the sum of g over images and pixels, on every route.
 * Chunks are sized so that col stays near CHUNK_BYTES: unfolding the whole
 * batch at once writes tens of megabytes that no cache holds, and the
 * layer becomes memory-bound. Backward unfolds x again rather than keeping
 * every chunk's col.
 */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "../autograd.h"
#include "../internal.h"
#include "conv_direct.h"
#include "conv_fft.h"
#include "window.h"

#define CHUNK_BYTES ((int64_t)8 << 20)

/* Images per chunk for a col of k rows and l columns per image. */
static int64_t chunk_images(int64_t n, int64_t k, int64_t l)
{
    int64_t per_image = k * l * (int64_t)sizeof(float);
    int64_t chunk = per_image > 0 ? CHUNK_BYTES / per_image : n;
    return chunk < 1 ? 1 : chunk > n ? n : chunk;
}

/* y (n, o, l) <-> m (o, n*l): the layout sgemm produces and the image one. */
static void batch_to_channels(const float *restrict y, int64_t n, int64_t o, int64_t l,
                              float *restrict m)
{
    #pragma omp parallel for schedule(static) if (n * o * l > 65536)
    for (int64_t ch = 0; ch < o; ch++)
        for (int64_t img = 0; img < n; img++)
            memcpy(m + ch * n * l + img * l, y + (img * o + ch) * l, (size_t)l * sizeof(float));
}

static void channels_to_batch(const float *restrict m, int64_t n, int64_t o, int64_t l,
                              const float *restrict bias, float *restrict y)
{
    #pragma omp parallel for schedule(static) if (n * o * l > 65536)
    for (int64_t img = 0; img < n; img++)
        for (int64_t ch = 0; ch < o; ch++) {
            float *dst = y + (img * o + ch) * l;
            const float *src = m + ch * n * l + img * l;
            float b = bias ? bias[ch] : 0.0f;
            for (int64_t i = 0; i < l; i++)
                dst[i] = src[i] + b;
        }
}

/* db = beta * db + the sum of g (n, o, l) over images and pixels. */
static void bias_grad(const float *restrict g, int64_t n, int64_t o, int64_t l, float beta,
                      float *restrict db)
{
    #pragma omp parallel for schedule(static) if (n * o * l > 65536)
    for (int64_t ch = 0; ch < o; ch++) {
        double s = 0;
        for (int64_t img = 0; img < n; img++) {
            const float *plane = g + (img * o + ch) * l;
            float part = 0;
            #pragma omp simd reduction(+ : part)
            for (int64_t i = 0; i < l; i++)
                part += plane[i];
            s += part;
        }
        db[ch] = beta != 0.0f ? beta * db[ch] + (float)s : (float)s;
    }
}

/* The backward pass of one chunk of `n` images starting at image `first`:
 * leaves g of these images rearranged in gm (O, n*L), accumulates dW (beta
 * 0 when it holds no data yet) and writes these images' dx when dx is not
 * NULL. */
static void conv2d_backward_chunk(const dl_tensor *x, const dl_tensor *w, const float *g,
                                  const dl_conv_geometry *geo, int64_t first, int64_t n,
                                  float *col, float *gm, float *dw, float beta, float *dx)
{
    int64_t c = x->shape[1], h = x->shape[2], wd = x->shape[3], o = w->shape[0];
    int64_t k = c * geo->kh * geo->kw, l = geo->ho * geo->wo;
    batch_to_channels(g + first * o * l, n, o, l, gm);
    kernel_im2col(dl_data(x) + first * c * h * wd, n, c, h, wd, geo, col);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)o, (int)k, (int)(n * l), 1.0f,
                    gm, (int)(n * l), col, (int)(n * l), beta, dw, (int)k);
    if (dx) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)(n * l), (int)o, 1.0f,
                    dl_data(w), (int)k, gm, (int)(n * l), 0.0f, col, (int)(n * l));
        kernel_col2im(col, n, c, h, wd, geo, dx + first * c * h * wd);
    }
}

/* The geometry of dx as a forward convolution of g (see the top): true,
 * with *turned filled, when the direct loops pay for it. */
static bool input_grad_by_direct_loops(const dl_tensor *x, const dl_tensor *w,
                                       const dl_conv_geometry *geo, dl_conv_geometry *turned)
{
    if (geo->sh != 1 || geo->sw != 1 || geo->ph > geo->kh - 1 || geo->pw > geo->kw - 1)
        return false;
    *turned = (dl_conv_geometry){geo->kh, geo->kw, 1, 1, geo->kh - 1 - geo->ph,
                                 geo->kw - 1 - geo->pw, x->shape[2], x->shape[3]};
    return conv_direct_forward_pays(w->shape[0], x->shape[1], turned);
}

/* dx (N, C, H, W) = g (N, O, Ho, Wo) convolved by the turned weight. */
static dl_status input_grad_direct(const dl_tensor *g, const dl_tensor *w,
                                   const dl_conv_geometry *turned, dl_tensor *dx)
{
    int64_t o = w->shape[0], c = w->shape[1], kh = turned->kh, kw = turned->kw;
    dl_tensor *wt;
    dl_status st = dl_empty("conv2d", 4, (const int64_t[]){c, o, kh, kw}, &wt);
    if (st != DL_OK)
        return st;
    const float *src = dl_data(w);
    float *dst = dl_data(wt);
    for (int64_t oc = 0; oc < o; oc++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = 0; j < kw; j++)
                    dst[((ch * o + oc) * kh + kh - 1 - i) * kw + kw - 1 - j] =
                        src[((oc * c + ch) * kh + i) * kw + j];
    st = conv_direct_forward(g, wt, NULL, turned, dx);
    dl_release(wt);
    return st;
}

/* With an empty batch no kernel writes the weight and bias gradients:
 * targets that dl_grad_target just made (beta 0) are set to zero. */
static void zero_fresh_targets(const dl_tensor *x, dl_tensor *dw, float beta_w, dl_tensor *db,
                               float beta_b)
{
    if (x->shape[0] != 0)
        return;
    if (dw && beta_w == 0)
        dl_fill_(dw, 0.0f);
    if (db && beta_b == 0)
        dl_fill_(db, 0.0f);
}

static dl_status conv2d_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    const dl_tensor *x = dl_saved(node, 0), *w = dl_saved(node, 1);
    if (!x || !w)
        return DL_ERR_ARGUMENT;
    dl_tensor *bias = node->ninputs > 2 ? node->inputs[2] : NULL;
    dl_conv_geometry geo;
    dl_window_load(node, &geo);
    int64_t n = x->shape[0], o = w->shape[0];
    int64_t k = x->shape[1] * geo.kh * geo.kw, l = geo.ho * geo.wo;
    int64_t chunk = chunk_images(n, k, l);
    dl_tensor *gc = NULL, *col = NULL, *gm = NULL, *dw = NULL, *db = NULL, *dx = NULL;
    float beta_w = 0, beta_b = 0;
    dl_status st;
    if ((st = dl_contiguous(g, &gc)) == DL_OK &&
        (st = dl_empty("conv2d", 2, (const int64_t[]){k, chunk * l}, &col)) == DL_OK &&
        (st = dl_empty("conv2d", 2, (const int64_t[]){o, chunk * l}, &gm)) == DL_OK &&
        (st = dl_grad_target(node->inputs[1], &dw, &beta_w)) == DL_OK &&
        (!bias || (st = dl_grad_target(bias, &db, &beta_b)) == DL_OK) &&
        (!node->inputs[0]->requires_grad ||
         (st = dl_empty("conv2d", 4, x->shape, &dx)) == DL_OK)) {
        zero_fresh_targets(x, dw, beta_w, db, beta_b);
        dl_conv_geometry turned;
        bool dx_direct = dx && input_grad_by_direct_loops(x, w, &geo, &turned);
        for (int64_t first = 0; first < n && (dw || (dx && !dx_direct)); first += chunk) {
            int64_t count = first + chunk <= n ? chunk : n - first;
            bool later = first > 0;
            if (later && dl_interrupted()) {
                st = dl_fail(DL_ERR_INTERRUPTED, "interrupted!");
                break;
            }
            conv2d_backward_chunk(x, w, dl_data(gc), &geo, first, count, dl_data(col),
                                  dl_data(gm), dw ? dl_data(dw) : NULL, later ? 1.0f : beta_w,
                                  dx && !dx_direct ? dl_data(dx) : NULL);
        }
        if (dx_direct && st == DL_OK)
            st = input_grad_direct(gc, w, &turned, dx);
        if (db && st == DL_OK)
            bias_grad(dl_data(gc), n, o, l, beta_b, dl_data(db));
        if (dx && st == DL_OK) {
            st = dl_accumulate_grad(node->inputs[0], dx);
            dx = NULL;
        }
    }
    dl_release(dx);
    dl_release(gc);
    dl_release(col);
    dl_release(gm);
    return st;
}

/* Backward of the FFT route (saved: x, weight, for their versions and
 * shapes, and their spectra) and of the direct one (saved: x, weight). */
static dl_status conv2d_spectral_or_direct_backward(dl_node *node, const dl_tensor *g, bool fft)
{
    const dl_tensor *x = dl_saved(node, 0), *w = dl_saved(node, 1);
    const dl_tensor *xspec = fft ? dl_saved(node, 2) : NULL, *wspec = fft ? dl_saved(node, 3) : NULL;
    if (!x || !w || (fft && (!xspec || !wspec)))
        return DL_ERR_ARGUMENT;
    dl_tensor *bias = node->ninputs > 2 ? node->inputs[2] : NULL;
    dl_conv_geometry geo;
    dl_window_load(node, &geo);
    dl_tensor *gc = NULL, *dw = NULL, *db = NULL, *dx = NULL;
    float beta_w = 0, beta_b = 0;
    dl_status st;
    if ((st = dl_contiguous(g, &gc)) == DL_OK &&
        (st = dl_grad_target(node->inputs[1], &dw, &beta_w)) == DL_OK &&
        (!bias || (st = dl_grad_target(bias, &db, &beta_b)) == DL_OK) &&
        (!node->inputs[0]->requires_grad ||
         (st = dl_empty("conv2d", 4, x->shape, &dx)) == DL_OK)) {
        zero_fresh_targets(x, dw, beta_w, db, beta_b);
        conv_grads out = {dw ? dl_data(dw) : NULL, db ? dl_data(db) : NULL,
                          dx ? dl_data(dx) : NULL, beta_w, beta_b};
        st = fft ? conv_fft_backward(xspec, wspec, x->shape, w->shape, &geo, gc, &out)
                 : conv_direct_backward(x, w, gc, &geo, &out);
    }
    if (st == DL_OK) {
        if (dx) {
            st = dl_accumulate_grad(node->inputs[0], dx);
            dx = NULL;
        }
    }
    dl_release(dx);
    dl_release(gc);
    return st;
}

static dl_status conv2d_fft_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    return conv2d_spectral_or_direct_backward(node, g, true);
}

static dl_status conv2d_direct_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    return conv2d_spectral_or_direct_backward(node, g, false);
}

/* Checks that weight (O, C, kh, kw) and bias (O) fit images x (N, C, H, W). */
static dl_status check_conv(const dl_tensor *x, const dl_tensor *w, const dl_tensor *b)
{
    char xs[64], ws[64];
    dl_shape_string(x, xs, sizeof xs);
    dl_shape_string(w, ws, sizeof ws);
    if (w->ndim != 4)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to 'conv2d' (expected a weight of shape (out, in, kh, kw), got %s)",
                       ws);
    if (x->ndim == 4 && x->shape[1] != w->shape[1])
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'conv2d' (expected images with %lld channel%s, "
                       "shape (N, %lld, H, W), got %s)",
                       (long long)w->shape[1], w->shape[1] == 1 ? "" : "s",
                       (long long)w->shape[1], xs);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #3 to 'conv2d' (expected a bias of shape (%lld,))",
                       (long long)w->shape[0]);
    return DL_OK;
}

/* The im2col + sgemm forward pass into y (N, O, Ho, Wo). */
static dl_status conv2d_im2col_forward(const dl_tensor *x, const dl_tensor *w,
                                       const dl_tensor *bias, const dl_conv_geometry *geo,
                                       dl_tensor *y)
{
    int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], wd = x->shape[3];
    int64_t o = w->shape[0], k = c * geo->kh * geo->kw, l = geo->ho * geo->wo;
    int64_t chunk = chunk_images(n, k, l);
    dl_tensor *col = NULL, *ym = NULL;
    dl_status st;
    if ((st = dl_empty("conv2d", 2, (const int64_t[]){k, chunk * l}, &col)) == DL_OK &&
        (st = dl_empty("conv2d", 2, (const int64_t[]){o, chunk * l}, &ym)) == DL_OK) {
        for (int64_t first = 0; first < n; first += chunk) {
            int64_t count = first + chunk <= n ? chunk : n - first;
            if (first > 0 && dl_interrupted()) {
                st = dl_fail(DL_ERR_INTERRUPTED, "interrupted!");
                break;
            }
            kernel_im2col(dl_data(x) + first * c * h * wd, count, c, h, wd, geo, dl_data(col));
            if (count * l > 0 && o > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)o, (int)(count * l),
                            (int)k, 1.0f, dl_data(w), (int)k, dl_data(col), (int)(count * l),
                            0.0f, dl_data(ym), (int)(count * l));
            channels_to_batch(dl_data(ym), count, o, l, bias ? dl_data(bias) : NULL,
                              dl_data(y) + first * o * l);
        }
    }
    dl_release(col);
    dl_release(ym);
    return st;
}

dl_status dl_conv2d(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                    const int stride[2], const int padding[2], dl_tensor **out)
{
    dl_conv_geometry geo;
    int kernel[2] = {(int)(weight->ndim == 4 ? weight->shape[2] : 1),
                     (int)(weight->ndim == 4 ? weight->shape[3] : 1)};
    dl_status st = check_conv(x, weight, bias);
    if (st != DL_OK || (st = dl_window_geometry("conv2d", x, kernel, stride, padding, &geo)) != DL_OK)
        return st;
    int64_t n = x->shape[0], c = x->shape[1], o = weight->shape[0];
    const dl_tensor *inputs[3] = {x, weight, bias};
    int ninputs = bias ? 3 : 2;
    bool record = dl_needs_grad(ninputs, inputs);
    bool direct = n > 0 && o > 0 && conv_direct_suits(c, &geo);
    bool fft = n > 0 && o > 0 && !direct && conv_fft_pays(n, c, x->shape[2], x->shape[3], o, &geo);
    bool direct_forward = direct || (n > 0 && o > 0 && !fft && conv_direct_forward_pays(c, o, &geo));
    dl_tensor *xc = NULL, *wc = NULL, *bc = NULL, *xspec = NULL, *wspec = NULL, *result = NULL;
    if ((st = dl_contiguous(x, &xc)) == DL_OK && (st = dl_contiguous(weight, &wc)) == DL_OK &&
        (!bias || (st = dl_contiguous(bias, &bc)) == DL_OK) &&
        (st = dl_empty("conv2d", 4, (const int64_t[]){n, o, geo.ho, geo.wo}, &result)) == DL_OK)
        st = direct_forward ? conv_direct_forward(xc, wc, bc, &geo, result)
             : fft  ? conv_fft_forward(xc, wc, bc, &geo, result, record ? &xspec : NULL,
                                       record ? &wspec : NULL)
                    : conv2d_im2col_forward(xc, wc, bc, &geo, result);
    if (st == DL_OK && record) {
        dl_backward_fn backward = direct ? conv2d_direct_backward
                                  : fft  ? conv2d_fft_backward
                                         : conv2d_backward;
        dl_node *node = dl_record("conv2d", backward, result, ninputs, inputs);
        if (node) {
            dl_window_store(node, &geo);
            dl_save(node, xc);
            dl_save(node, wc);
            if (fft) {
                dl_save(node, xspec);
                dl_save(node, wspec);
            }
        } else {
            st = DL_ERR_MEMORY;
        }
    }
    dl_release(xc);
    dl_release(wc);
    dl_release(bc);
    dl_release(xspec);
    dl_release(wspec);
    if (st != DL_OK) {
        dl_release(result);
        return st;
    }
    *out = result;
    return DL_OK;
}
