/*
 * conv_fft.c -- stride-1 convolution through the 2-D FFT (FFTW).
 *
 * Every image plane (x zero-padded, weight, gradient) is placed in an
 * n1 x n2 field, n1 >= H + 2*ph and n2 >= W + 2*pw, and transformed once.
 * A convolution layer then becomes, at each of the bins = n1 * (n2/2 + 1)
 * frequencies, a small complex matrix product over channels (cgemm):
 *   forward   Y[f]  (N, O) = X[f] (N, C) @ conj(W[f])^T     (correlation)
 *   dx        DX[f] (N, C) = G[f] (N, O) @ W[f]             (convolution)
 *   dweight   DW[f] (O, C) = conj(G[f])^T @ X[f]            (correlation)
 * and inverse transforms cropped to the output, input or kernel window.
 * The field is large enough that no circular wrap reaches those windows.
 * Spectra are laid out (bins, rows, cols) complex, so each frequency's
 * matrix is contiguous. The x and weight spectra of the forward pass are
 * kept for the backward pass, which then transforms only the gradient.
 *
 * For a 16 -> 32 channel 5x5 layer on 14x14 images this takes about a
 * quarter of im2col + sgemm's multiply-adds (conv_fft_pays decides).
 * Plans use FFTW_ESTIMATE: the same plan, hence the same rounding, in
 * every run, so results stay repeatable from a seed.
 */
#include <cblas.h>
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"
#include "conv_fft.h"

#define PLAN_CACHE 16
#define ALIGN_FLOATS 16 /* 64 bytes: each thread's scratch starts aligned */
#define BLOCK 16        /* fields per FFTW call */

/* An n1 x n2 field and its plans; bins = n1 * (n2/2 + 1) frequencies.
 * Each plan transforms BLOCK fields at once, spectra interleaved so that
 * a bin's BLOCK values are adjacent: copying a block to or from the
 * (bins, planes) layout then moves whole cache lines. */
typedef struct {
    int n1, n2;
    int64_t bins;
    fftwf_plan r2c, c2r;
} fft_field;

static fft_field fields[PLAN_CACHE];
static int field_count;

/* The smallest 2^a 3^b 5^c >= n with a >= 2: FFTW is fastest on these
 * (an 18-point transform takes longer than a 20-point one here). */
static int fft_size(int64_t n)
{
    for (int64_t m = n < 4 ? 4 : n;; m++) {
        int64_t r = m;
        if (r % 4)
            continue;
        while (r % 2 == 0)
            r /= 2;
        while (r % 3 == 0)
            r /= 3;
        while (r % 5 == 0)
            r /= 5;
        if (r == 1)
            return (int)m;
    }
}

static int64_t round_up(int64_t n)
{
    return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

/* Floats of a block's real fields, and of its spectra. */
static int64_t block_reals(const fft_field *f)
{
    return round_up((int64_t)BLOCK * f->n1 * f->n2);
}

static int64_t block_spectra(const fft_field *f)
{
    return round_up(2 * BLOCK * f->bins);
}

/* Plans for an n1 x n2 field, made once and kept (past PLAN_CACHE sizes,
 * the oldest is replaced: plans are only used during one call); NULL (with
 * an error) when FFTW cannot plan it. Plans are made on 64-byte aligned
 * arrays, as every later execution uses. */
static const fft_field *field_for(int n1, int n2)
{
    static int next_slot;
    for (int i = 0; i < field_count; i++)
        if (fields[i].n1 == n1 && fields[i].n2 == n2)
            return &fields[i];
    fft_field f = {n1, n2, (int64_t)n1 * (n2 / 2 + 1), NULL, NULL};
    float *re = aligned_alloc(64, (size_t)block_reals(&f) * sizeof(float));
    float *cx = aligned_alloc(64, (size_t)block_spectra(&f) * sizeof(float));
    int dims[2] = {n1, n2};
    if (re && cx) {
        f.r2c = fftwf_plan_many_dft_r2c(2, dims, BLOCK, re, NULL, 1, n1 * n2,
                                        (fftwf_complex *)cx, NULL, BLOCK, 1, FFTW_ESTIMATE);
        f.c2r = fftwf_plan_many_dft_c2r(2, dims, BLOCK, (fftwf_complex *)cx, NULL, BLOCK, 1,
                                        re, NULL, 1, n1 * n2, FFTW_ESTIMATE);
    }
    free(re);
    free(cx);
    if (!f.r2c || !f.c2r) {
        if (f.r2c)
            fftwf_destroy_plan(f.r2c);
        if (f.c2r)
            fftwf_destroy_plan(f.c2r);
        dl_fail(DL_ERR_MEMORY, "conv2d: FFTW could not plan a %dx%d transform", n1, n2);
        return NULL;
    }
    int slot;
    if (field_count < PLAN_CACHE) {
        slot = field_count++;
    } else {
        slot = next_slot;
        next_slot = (next_slot + 1) % PLAN_CACHE;
        fftwf_destroy_plan(fields[slot].r2c);
        fftwf_destroy_plan(fields[slot].c2r);
    }
    fields[slot] = f;
    return &fields[slot];
}

/* Floats of scratch each thread needs: one block of fields and spectra. */
static int64_t scratch_per_thread(const fft_field *f)
{
    return block_reals(f) + block_spectra(f);
}

/* spec[bin][p] = FFT of plane p (rows x cols at src + p*rows*cols) placed
 * at (top, left) of a zero field, for p < count. spec is complex. */
static void transform_planes(const fft_field *f, const float *src, int64_t count, int64_t rows,
                             int64_t cols, int64_t top, int64_t left, float *spec, float *scratch)
{
    int64_t field = (int64_t)f->n1 * f->n2;
    #pragma omp parallel
    {
        float *re = scratch + omp_get_thread_num() * scratch_per_thread(f);
        float *cx = re + block_reals(f);
        memset(re, 0, (size_t)block_reals(f) * sizeof(float));
        #pragma omp for schedule(static)
        for (int64_t first = 0; first < count; first += BLOCK) {
            int64_t planes = count - first < BLOCK ? count - first : BLOCK;
            for (int64_t q = 0; q < planes; q++) {
                const float *plane = src + (first + q) * rows * cols;
                for (int64_t r = 0; r < rows; r++)
                    memcpy(re + q * field + (top + r) * f->n2 + left, plane + r * cols,
                           (size_t)cols * sizeof(float));
            }
            fftwf_execute_dft_r2c(f->r2c, re, (fftwf_complex *)cx);
            for (int64_t b = 0; b < f->bins; b++)
                memcpy(spec + 2 * (b * count + first), cx + 2 * b * BLOCK,
                       (size_t)planes * 2 * sizeof(float));
        }
    }
}

/* For p < count, the rows x cols window at (top, left) of the inverse FFT
 * of spec[.][p], times scale, plus bias[p % period] when bias is not NULL,
 * goes to plane p of dst: dst = beta * dst + that (dst is not read when
 * beta is 0). */
static void inverse_planes(const fft_field *f, const float *spec, int64_t count, float *dst,
                           int64_t rows, int64_t cols, int64_t top, int64_t left, float scale,
                           const float *bias, int64_t period, float beta, float *scratch)
{
    int64_t field = (int64_t)f->n1 * f->n2;
    #pragma omp parallel
    {
        float *re = scratch + omp_get_thread_num() * scratch_per_thread(f);
        float *cx = re + block_reals(f);
        memset(cx, 0, (size_t)block_spectra(f) * sizeof(float));
        #pragma omp for schedule(static)
        for (int64_t first = 0; first < count; first += BLOCK) {
            int64_t planes = count - first < BLOCK ? count - first : BLOCK;
            for (int64_t b = 0; b < f->bins; b++)
                memcpy(cx + 2 * b * BLOCK, spec + 2 * (b * count + first),
                       (size_t)planes * 2 * sizeof(float));
            fftwf_execute_dft_c2r(f->c2r, (fftwf_complex *)cx, re);
            for (int64_t q = 0; q < planes; q++) {
                int64_t p = first + q;
                float add = bias ? bias[p % period] : 0.0f;
                float *plane = dst + p * rows * cols;
                for (int64_t r = 0; r < rows; r++) {
                    const float *from = re + q * field + (top + r) * f->n2 + left;
                    float *to = plane + r * cols;
                    if (beta == 0.0f)
                        for (int64_t i = 0; i < cols; i++)
                            to[i] = scale * from[i] + add;
                    else
                        for (int64_t i = 0; i < cols; i++)
                            to[i] = beta * to[i] + scale * from[i] + add;
                }
            }
        }
    }
}

/* C[f] (m, n) = op(A[f]) (m, k) @ op(B[f]) (k, n) at every bin f, where
 * A[f] holds a_step complex numbers, B[f] b_step, C[f] m*n. Each bin is
 * one single-threaded cgemm; bins are spread over the threads. */
static void multiply_bins(int64_t bins, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m,
                          int64_t n, int64_t k, const float *a, int64_t lda, int64_t a_step,
                          const float *b, int64_t ldb, int64_t b_step, float *c)
{
    static const float one[2] = {1.0f, 0.0f}, zero[2] = {0.0f, 0.0f};
    #pragma omp parallel for schedule(static)
    for (int64_t f = 0; f < bins; f++)
        cblas_cgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, one, a + 2 * f * a_step,
                    (int)lda, b + 2 * f * b_step, (int)ldb, zero, c + 2 * f * m * n, (int)n);
}

/* The field for images h x w with g's padding, or NULL with an error. */
static const fft_field *field_for_images(int64_t h, int64_t w, const dl_conv_geometry *g)
{
    return field_for(fft_size(h + 2 * g->ph), fft_size(w + 2 * g->pw));
}

/* Scratch for every thread of the parallel loops. */
static dl_status scratch_for(const fft_field *f, dl_tensor **scratch)
{
    int64_t floats = omp_get_max_threads() * scratch_per_thread(f);
    return dl_empty("conv2d", 1, &floats, scratch);
}

/* A spectrum of `planes` complex numbers per bin. */
static dl_status spectrum(const fft_field *f, int64_t planes, dl_tensor **out)
{
    return dl_empty("conv2d", 3, (const int64_t[]){f->bins, planes, 2}, out);
}

bool conv_fft_pays(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                   const dl_conv_geometry *g)
{
    if (g->sh != 1 || g->sw != 1)
        return false;
    double n1 = fft_size(h + 2 * g->ph), n2 = fft_size(w + 2 * g->pw);
    double bins = n1 * (floor(n2 / 2) + 1);
    /* One transform takes about as long as sgemm does 6 N log2 N multiply-
     * adds (a 20x20 one: 0.7 us); a complex multiply-add is 4 real ones. */
    double transform = 6.0 * n1 * n2 * log2(n1 * n2);
    double fft = (double)(n * c + o * c + n * o) * transform + 4.0 * bins * n * c * o;
    double direct = (double)n * o * c * g->kh * g->kw * g->ho * g->wo;
    return fft < direct;
}

dl_status conv_fft_forward(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                           const dl_conv_geometry *g, dl_tensor *y, dl_tensor **xspec,
                           dl_tensor **wspec)
{
    int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    int64_t o = weight->shape[0];
    const fft_field *f = field_for_images(h, w, g);
    if (!f)
        return DL_ERR_MEMORY;
    dl_tensor *xs = NULL, *ws = NULL, *ys = NULL, *scratch = NULL;
    dl_status st;
    if ((st = spectrum(f, n * c, &xs)) == DL_OK && (st = spectrum(f, o * c, &ws)) == DL_OK &&
        (st = spectrum(f, n * o, &ys)) == DL_OK && (st = scratch_for(f, &scratch)) == DL_OK) {
        float *tmp = dl_data(scratch);
        transform_planes(f, dl_data(x), n * c, h, w, g->ph, g->pw, dl_data(xs), tmp);
        transform_planes(f, dl_data(weight), o * c, g->kh, g->kw, 0, 0, dl_data(ws), tmp);
        multiply_bins(f->bins, CblasNoTrans, CblasConjTrans, n, o, c, dl_data(xs), c, n * c,
                      dl_data(ws), c, o * c, dl_data(ys));
        inverse_planes(f, dl_data(ys), n * o, dl_data(y), g->ho, g->wo, 0, 0,
                       1.0f / (float)(f->n1 * f->n2), bias ? dl_data(bias) : NULL, o, 0.0f, tmp);
    }
    if (st == DL_OK && xspec && wspec) {
        *xspec = xs;
        *wspec = ws;
        xs = ws = NULL;
    }
    dl_release(xs);
    dl_release(ws);
    dl_release(ys);
    dl_release(scratch);
    return st;
}

dl_status conv_fft_backward(const dl_tensor *xspec, const dl_tensor *wspec,
                            const int64_t *x_shape, const int64_t *w_shape,
                            const dl_conv_geometry *g, const dl_tensor *gy, float *dw,
                            float beta_w, float *dx)
{
    int64_t n = x_shape[0], c = x_shape[1], h = x_shape[2], w = x_shape[3], o = w_shape[0];
    const fft_field *f = field_for_images(h, w, g);
    if (!f)
        return DL_ERR_MEMORY;
    float scale = 1.0f / (float)(f->n1 * f->n2);
    dl_tensor *gs = NULL, *out = NULL, *scratch = NULL;
    dl_status st;
    if ((st = spectrum(f, n * o, &gs)) == DL_OK &&
        (st = spectrum(f, n * c > o * c ? n * c : o * c, &out)) == DL_OK &&
        (st = scratch_for(f, &scratch)) == DL_OK) {
        float *tmp = dl_data(scratch);
        transform_planes(f, dl_data(gy), n * o, g->ho, g->wo, 0, 0, dl_data(gs), tmp);
        if (dx) {
            multiply_bins(f->bins, CblasNoTrans, CblasNoTrans, n, c, o, dl_data(gs), o, n * o,
                          dl_data(wspec), c, o * c, dl_data(out));
            inverse_planes(f, dl_data(out), n * c, dx, h, w, g->ph, g->pw, scale, NULL, 1, 0.0f,
                           tmp);
        }
        if (dw) {
            multiply_bins(f->bins, CblasConjTrans, CblasNoTrans, o, c, n, dl_data(gs), o, n * o,
                          dl_data(xspec), c, n * c, dl_data(out));
            inverse_planes(f, dl_data(out), o * c, dw, g->kh, g->kw, 0, 0, scale, NULL, 1, beta_w,
                           tmp);
        }
    }
    dl_release(gs);
    dl_release(out);
    dl_release(scratch);
    return st;
}
