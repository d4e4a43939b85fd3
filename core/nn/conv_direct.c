/*
 * conv_direct.c -- stride-1 convolution by direct loops, for layers with a
 * short reduction (C * kh * kw <= DIRECT_MAX_TAPS: first layers on gray or
 * RGB images).
 *
 * There im2col + sgemm multiplies matrices only a few dozen deep: the
 * unfolded copy, sgemm's packing and the layout shuffles cost more than
 * the multiply-adds. Here each image is copied once into a zero-padded
 * buffer, and every output row is summed over the taps in a register tile
 * of TILE columns times OUT_BLOCK output channels (the inner loops
 * vectorize across columns; each image vector loaded serves every output
 * channel of the block):
 *   forward  y[o](i, j)   = b[o] + sum over c, u, v of w[o,c,u,v] x[c](i+u, j+v)
 *   dweight  dw[o,c,u,v] += sum over images, i, j of g[o](i, j) x[c](i+u, j+v)
 *   dx       dx[c](i+u, j+v) += sum over o of w[o,c,u,v] g[o](i, j)
 * Images are spread over the threads; dweight is summed per thread, then
 * added up.
 */
#include <omp.h>
#include <string.h>

#include "../internal.h"
#include "conv_direct.h"

#define DIRECT_MAX_TAPS 32
/* Where the forward loops alone still beat im2col + sgemm, whose product
 * has too few output rows to run at sgemm's speed (measured on 3x3 layers
 * of 8-64 channels, 14-32 pixel images): up to FORWARD_MAX_TAPS taps for
 * at most 64 outputs on rows of 16+ pixels, up to FEW_OUTPUTS_MAX_TAPS
 * for at most 16 outputs. */
#define FORWARD_MAX_TAPS 160
#define FORWARD_MAX_OUTPUTS 64
#define FORWARD_MIN_WIDTH 16
#define FEW_OUTPUTS 16
#define FEW_OUTPUTS_MAX_TAPS 576

/* Whether these loops can run on this processor: the portable build
 * compiles them for AVX2 (below), so a processor without it takes the
 * im2col route instead. */
static bool runs_here(void)
{
#ifdef DL_PORTABLE
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return true;
#endif
}

bool conv_direct_suits(int64_t c, const dl_conv_geometry *g)
{
    return runs_here() && g->sh == 1 && g->sw == 1 && c * g->kh * g->kw <= DIRECT_MAX_TAPS;
}

bool conv_direct_forward_pays(int64_t c, int64_t o, const dl_conv_geometry *g)
{
    int64_t taps = c * g->kh * g->kw;
    if (!runs_here() || g->sh != 1 || g->sw != 1)
        return false;
    return (taps <= FORWARD_MAX_TAPS && o <= FORWARD_MAX_OUTPUTS && g->wo >= FORWARD_MIN_WIDTH) ||
           (taps <= FEW_OUTPUTS_MAX_TAPS && o <= FEW_OUTPUTS);
}

#ifdef DL_PORTABLE
/* Everything from here on: AVX2 + FMA, whatever the build's baseline. */
#pragma GCC target("arch=x86-64-v3")
#endif

#ifdef __AVX__
#define LANES 8         /* floats per vector register */
#else
#define LANES 4         /* SSE (the build without -march=native) */
#endif
#define VECS 4          /* registers of output columns summed at a time */
#define TILE (LANES * VECS)
#define KW_UNROLLED 8   /* kernel widths with a loop specialised for them */
#define OUT_BLOCK 4     /* output channels summed together (share image loads) */

typedef float vec __attribute__((vector_size(LANES * sizeof(float))));

static inline vec load(const float *p)
{
    vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* v, made to live in a register: GCC would otherwise fold the load into
 * every multiply-add that uses it, loading the same vector OUT_BLOCK
 * times. */
static inline vec in_register(vec v)
{
    __asm__("" : "+v"(v));
    return v;
}

/* Layout of one image's padded copy: rows of `pitch` floats, zero beyond
 * the image, wide enough for whole tiles of output columns. */
typedef struct {
    int64_t rows, pitch, floats;   /* per channel: rows * pitch */
} padded_plane;

static padded_plane padded_layout(int64_t h, const dl_conv_geometry *g)
{
    int64_t tiles = (g->wo + TILE - 1) / TILE;
    int64_t pitch = tiles * TILE + g->kw - 1;
    int64_t rows = h + 2 * g->ph;
    return (padded_plane){rows, pitch, rows * pitch};
}

/* Copies the c planes (h x w) of one image into pad (already zero where
 * no pixel goes) at (ph, pw). */
static void pad_image(const float *x, int64_t c, int64_t h, int64_t w,
                      const dl_conv_geometry *g, const padded_plane *p, float *pad)
{
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t r = 0; r < h; r++)
            memcpy(pad + ch * p->floats + (r + g->ph) * p->pitch + g->pw,
                   x + (ch * h + r) * w, (size_t)w * sizeof(float));
}

/* Output channels oc0 .. oc0 + OB - 1 (OB a constant once inlined) of one
 * padded image, every output row summed over the taps in registers: OB x
 * VECS accumulators, each image load shared by OB multiply-adds. */
static inline __attribute__((always_inline)) void forward_channels(
    const float *pad, const padded_plane *p, const float *wv, const float *bv, int64_t c,
    int64_t oc0, int ob, const dl_conv_geometry *g, float *y)
{
    int64_t kh = g->kh, kw = g->kw, ho = g->ho, wo = g->wo, taps = c * kh * kw;
    for (int64_t j0 = 0; j0 < wo; j0 += TILE)
        for (int64_t i = 0; i < ho; i++) {
            vec acc[OUT_BLOCK][VECS];
            for (int b = 0; b < ob; b++)
                for (int k = 0; k < VECS; k++)
                    acc[b][k] = (vec){0} + (bv ? bv[oc0 + b] : 0.0f);
            for (int64_t ch = 0; ch < c; ch++)
                for (int64_t u = 0; u < kh; u++) {
                    const float *row = pad + ch * p->floats + (i + u) * p->pitch + j0;
                    const float *t = wv + oc0 * taps + (ch * kh + u) * kw;
                    for (int64_t v = 0; v < kw; v++) {
                        vec xs[VECS];
                        for (int k = 0; k < VECS; k++)
                            xs[k] = in_register(load(row + v + k * LANES));
                        for (int b = 0; b < ob; b++)
                            for (int k = 0; k < VECS; k++)
                                acc[b][k] += t[b * taps + v] * xs[k];
                    }
                }
            int64_t width = wo - j0 < TILE ? wo - j0 : TILE;
            for (int b = 0; b < ob; b++)
                memcpy(y + ((oc0 + b) * ho + i) * wo + j0, acc[b], (size_t)width * sizeof(float));
        }
}

dl_status conv_direct_forward(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                              const dl_conv_geometry *g, dl_tensor *y)
{
    int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    int64_t o = weight->shape[0];
    padded_plane p = padded_layout(h, g);
    dl_tensor *scratch = NULL;
    int64_t per_thread;
    dl_status st = dl_thread_scratch("conv2d", c * p.floats, &scratch, &per_thread);
    if (st != DL_OK)
        return st;
    const float *xv = dl_data(x), *wv = dl_data(weight), *bv = bias ? dl_data(bias) : NULL;
    float *yv = dl_data(y), *base = dl_data(scratch);
    #pragma omp parallel
    {
        float *pad = base + omp_get_thread_num() * per_thread;
        memset(pad, 0, (size_t)(c * p.floats) * sizeof(float));
        #pragma omp for schedule(static)
        for (int64_t img = 0; img < n; img++) {
            pad_image(xv + img * c * h * w, c, h, w, g, &p, pad);
            float *out = yv + img * o * g->ho * g->wo;
            int64_t oc = 0;
            for (; oc + OUT_BLOCK <= o; oc += OUT_BLOCK)
                forward_channels(pad, &p, wv, bv, c, oc, OUT_BLOCK, g, out);
            for (; oc < o; oc++)
                forward_channels(pad, &p, wv, bv, c, oc, 1, g, out);
        }
    }
    dl_release(scratch);
    return DL_OK;
}

/* Copies the o gradient planes (ho x wo) of one image into gpad, rows of
 * `pitch` floats whose tails stay zero, and adds each plane's sum to
 * bias_sums[oc] on the way. */
static void pad_gradient(const float *gy, int64_t o, const dl_conv_geometry *g, int64_t pitch,
                         float *gpad, double *bias_sums)
{
    int64_t ho = g->ho, wo = g->wo;
    for (int64_t oc = 0; oc < o; oc++) {
        float sum = 0;
        for (int64_t r = 0; r < ho; r++) {
            const float *from = gy + (oc * ho + r) * wo;
            float *to = gpad + (oc * ho + r) * pitch;
            #pragma omp simd reduction(+ : sum)
            for (int64_t j = 0; j < wo; j++) {
                to[j] = from[j];
                sum += from[j];
            }
        }
        bias_sums[oc] += sum;
    }
}

/* The kw taps (u fixed) of ob output channels (ob and kw constants once
 * inlined) against one image channel: sums[b * sum_stride + v] += the
 * gradient rows of channel b (planes gstride apart, rows gpitch apart)
 * times the image rows shifted by v, over `rows` rows of `width` columns
 * (a multiple of LANES). The ob x kw accumulators and the kw shifted image
 * vectors stay in registers: each image load serves ob multiply-adds, each
 * gradient load kw. */
static inline __attribute__((always_inline)) void tap_row_sums(
    const float *gy, int64_t gstride, int64_t gpitch, int ob, const float *x, int64_t xpitch,
    int64_t rows, int64_t width, int kw, vec *sums, int64_t sum_stride)
{
    vec acc[OUT_BLOCK][KW_UNROLLED] = {{{0}}};
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < width; j += LANES) {
            vec xs[KW_UNROLLED];
            for (int v = 0; v < kw; v++)
                xs[v] = in_register(load(x + i * xpitch + j + v));
            for (int b = 0; b < ob; b++) {
                vec g = load(gy + b * gstride + i * gpitch + j);
                for (int v = 0; v < kw; v++)
                    acc[b][v] += g * xs[v];
            }
        }
    for (int b = 0; b < ob; b++)
        for (int v = 0; v < kw; v++)
            sums[b * sum_stride + v] += acc[b][v];
}

/* Output channels summed together in the weight gradient for a kernel kw
 * wide: as many as the registers hold (ob * kw accumulators + kw image
 * vectors). */
#define WEIGHT_BLOCK(kw) ((kw) <= 5 ? OUT_BLOCK : 2)

/* dweight of one image added into sums, one vector per tap (o, c, kh, kw);
 * lanes are added up by the caller. */
static void image_weight_grad(const float *gpad, const float *pad, int64_t c, int64_t o,
                              const dl_conv_geometry *g, const padded_plane *p, int64_t gpitch,
                              vec *sums)
{
    int64_t kh = g->kh, kw = g->kw, ho = g->ho, taps = c * kh * kw, gstride = ho * gpitch;
    int block = WEIGHT_BLOCK(kw > KW_UNROLLED ? KW_UNROLLED : kw);
    for (int64_t oc = 0; oc < o;) {
        int ob = o - oc >= block ? block : 1;
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t u = 0; u < kh; u++) {
                const float *gy = gpad + oc * gstride;
                const float *x = pad + ch * p->floats + u * p->pitch;
                vec *tap = sums + ((oc * c + ch) * kh + u) * kw;
                switch (kw) {
#define TAP_SUMS(b, k, x, tap)                                                          \
    tap_row_sums(gy, gstride, gpitch, b, x, p->pitch, ho, gpitch, k, tap, taps)
#define KW_CASE(k)                                                                      \
    case k:                                                                             \
        if (ob == WEIGHT_BLOCK(k))                                                      \
            TAP_SUMS(WEIGHT_BLOCK(k), k, x, tap);                                       \
        else                                                                            \
            TAP_SUMS(1, k, x, tap);                                                     \
        break;
                KW_CASE(1) KW_CASE(2) KW_CASE(3) KW_CASE(4)
                KW_CASE(5) KW_CASE(6) KW_CASE(7) KW_CASE(8)
                default:        /* wider kernels: KW_UNROLLED taps at a time */
                    for (int64_t v0 = 0; v0 < kw; v0 += KW_UNROLLED) {
                        int part = kw - v0 < KW_UNROLLED ? (int)(kw - v0) : KW_UNROLLED;
                        if (ob == WEIGHT_BLOCK(KW_UNROLLED))
                            TAP_SUMS(WEIGHT_BLOCK(KW_UNROLLED), part, x + v0, tap + v0);
                        else
                            TAP_SUMS(1, part, x + v0, tap + v0);
                    }
#undef KW_CASE
#undef TAP_SUMS
                }
            }
        oc += ob;
    }
}

/* dx of one image: the gradient planes spread back through the taps into
 * the padded dpad (zeroed here), then cropped into dx. */
static void image_input_grad(const float *gy, const float *wv, int64_t c, int64_t o, int64_t h,
                             int64_t w, const dl_conv_geometry *g, const padded_plane *p,
                             float *dpad, float *dx)
{
    int64_t kh = g->kh, kw = g->kw, ho = g->ho, wo = g->wo;
    memset(dpad, 0, (size_t)(c * p->floats) * sizeof(float));
    for (int64_t oc = 0; oc < o; oc++) {
        const float *plane = gy + oc * ho * wo;
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t u = 0; u < kh; u++)
                for (int64_t v = 0; v < kw; v++) {
                    float t = wv[((oc * c + ch) * kh + u) * kw + v];
                    for (int64_t i = 0; i < ho; i++) {
                        float *row = dpad + ch * p->floats + (i + u) * p->pitch + v;
                        const float *gr = plane + i * wo;
                        for (int64_t j = 0; j < wo; j++)
                            row[j] += t * gr[j];
                    }
                }
    }
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t r = 0; r < h; r++)
            memcpy(dx + (ch * h + r) * w, dpad + ch * p->floats + (r + g->ph) * p->pitch + g->pw,
                   (size_t)w * sizeof(float));
}

dl_status conv_direct_backward(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *gy,
                               const dl_conv_geometry *g, const conv_grads *out)
{
    int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    int64_t o = weight->shape[0], taps = o * c * g->kh * g->kw;
    int64_t gpitch = (g->wo + TILE - 1) / TILE * TILE;
    padded_plane p = padded_layout(h, g);
    /* per thread: padded image | padded gradient | tap sums | bias sums
     * (doubles) | padded dx */
    int64_t image = dl_round_floats(c * p.floats), gradient = dl_round_floats(o * g->ho * gpitch);
    int64_t sums_at = image + gradient;      /* 64-byte aligned, as vec needs */
    int64_t bias_at = sums_at + taps * LANES, dpad_at = bias_at + dl_round_floats(2 * o);
    dl_tensor *scratch = NULL;
    int64_t per_thread;
    bool weights = out->dw || out->db;
    dl_status st = dl_thread_scratch("conv2d", dpad_at + (out->dx ? image : 0), &scratch,
                                     &per_thread);
    if (st != DL_OK)
        return st;
    const float *xv = dl_data(x), *wv = dl_data(weight), *gv = dl_data(gy);
    float *base = dl_data(scratch);
    int threads = omp_get_max_threads();
    for (int th = 0; th < threads; th++)     /* every sum, even of a thread not started */
        memset(base + th * per_thread + sums_at, 0,
               (size_t)(dpad_at - sums_at) * sizeof(float));
    #pragma omp parallel num_threads(threads)
    {
        float *pad = base + omp_get_thread_num() * per_thread;
        float *gpad = pad + image, *dpad = pad + dpad_at;
        vec *sums = (vec *)(pad + sums_at);
        double *bias_sums = (double *)(pad + bias_at);
        memset(pad, 0, (size_t)(image + gradient) * sizeof(float));
        #pragma omp for schedule(static)
        for (int64_t img = 0; img < n; img++) {
            const float *gi = gv + img * o * g->ho * g->wo;
            if (weights) {
                pad_gradient(gi, o, g, gpitch, gpad, bias_sums);
                if (out->dw) {
                    pad_image(xv + img * c * h * w, c, h, w, g, &p, pad);
                    image_weight_grad(gpad, pad, c, o, g, &p, gpitch, sums);
                }
            }
            if (out->dx)
                image_input_grad(gi, wv, c, o, h, w, g, &p, dpad, out->dx + img * c * h * w);
        }
    }
    /* thread by thread, lane by lane: the same order every run */
    for (int64_t t = 0; out->dw && t < taps; t++) {
        float s = 0;
        for (int th = 0; th < threads; th++)
            for (int lane = 0; lane < LANES; lane++)
                s += base[th * per_thread + sums_at + t * LANES + lane];
        out->dw[t] = out->beta_w != 0.0f ? out->beta_w * out->dw[t] + s : s;
    }
    for (int64_t oc = 0; out->db && oc < o; oc++) {
        double s = 0;
        for (int th = 0; th < threads; th++)
            s += ((const double *)(base + th * per_thread + bias_at))[oc];
        out->db[oc] = out->beta_b != 0.0f ? out->beta_b * out->db[oc] + (float)s : (float)s;
    }
    dl_release(scratch);
    return DL_OK;
}
