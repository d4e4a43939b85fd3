/*
 * conv_fft.c -- stride-1 convolution through the 2-D FFT (FFTW).
 *
 * Every image plane (x, weight, gradient) is placed in an n1 x n2 zero
 * field and transformed once; x sits at (ph, pw), the others at (0, 0).
 * A convolution layer then becomes, at each of the bins = n1 * (n2/2 + 1)
 * frequencies, a small complex matrix product over channels:
 *   forward   Y[f]  (N, O) = X[f] (N, C) @ conj(W[f])^T     (correlation)
 *   dx        DX[f] (N, C) = G[f] (N, O) @ W[f]             (convolution)
 *   dweight   DW[f] (O, C) = conj(G[f])^T @ X[f]            (correlation)
 * and inverse transforms cropped to the output, input or kernel window.
 * The products are circular, but a field n1 >= H + ph (and n1 >= Ho, kh)
 * is enough: every index that wraps lands in a band that is zero in the
 * field and would be zero in the linear product too (see field_side).
 * For 14x14 images padded by 2 that is a 16x16 field, not 18 (or 20).
 *
 * Real planes go through FFTW two at a time, as the real and imaginary
 * parts of one complex transform (its complex codelets are vectorized, the
 * real-input ones it picks for small fields are not: 3x the speed), and
 * their spectra are taken apart by symmetry (split_bin, join_bin).
 * A spectrum of rows x cols planes (images x channels, say) is laid out
 * (rows, bins, cols) complex, so that each frequency's matrix is a strided
 * view read in place by one real sgemm per frequency (the interleaved
 * complex rows times a real matrix that does the complex arithmetic, which
 * here beats cgemm). The x and weight spectra of the forward pass are
 * kept for the backward pass, which then transforms only the gradient.
 *
 * The loops over planes and frequencies hand out work dynamically: every
 * unit writes its own outputs, so the result does not depend on which
 * thread took it, and a core slowed by a neighbour does not hold up the
 * other.
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

#define PLAN_CACHE 32
#define GROUP 32        /* most planes of a row per FFTW call */
#define SPECTRA_LIMIT ((double)(256 << 20))  /* bytes of spectra one call may hold */

/* An n1 x n2 field; bins = n1 * (n2/2 + 1) frequencies. */
typedef struct {
    int n1, n2;
    int64_t bins;
} fft_field;

/* After a parallel loop whose iterations stop doing work on Ctrl-C:
 * DL_ERR_INTERRUPTED when that happened (the output is then incomplete). */
static dl_status interrupted_status(void)
{
    return dl_interrupted() ? dl_fail(DL_ERR_INTERRUPTED, "interrupted!") : DL_OK;
}

/* FFTW plans for `howmany` complex n1 x n2 fields interleaved pixel by
 * pixel (field t's pixel at complex index pixel * GROUP/2 + t; out of
 * place, forward and backward). Each field holds two real planes, one as
 * its real part, one as its imaginary part. */
typedef struct {
    int n1, n2, howmany;
    fftwf_plan forward, backward;
} fft_plans;

static fft_plans plans[PLAN_CACHE];
static int plan_count;

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

/* The least field side for one axis of a stride-1 layer: image side `in`,
 * padding `pad`, kernel side `k`, output side `out`. In the forward and
 * weight-gradient products the image index read is i + j (output or
 * kernel offsets), at most in + 2*pad - 1; with a side of in + pad those
 * past the side wrap to below pad, the zero band before the image, and
 * were past the image (zero) before wrapping. The input gradient reads
 * gradient index t - j, at least pad - k + 1; below zero it wraps to at
 * least side + pad - k + 1 >= out, past the gradient, zero as well. The
 * crops need side >= in + pad, out and k. */
static int64_t field_side(int64_t in, int64_t pad, int64_t k, int64_t out)
{
    int64_t side = in + pad;
    if (side < out)
        side = out;
    return side < k ? k : side;
}

/* The field for images h x w with g's geometry. */
static fft_field field_for_images(int64_t h, int64_t w, const dl_conv_geometry *g)
{
    int n1 = fft_size(field_side(h, g->ph, g->kh, g->ho));
    int n2 = fft_size(field_side(w, g->pw, g->kw, g->wo));
    return (fft_field){n1, n2, (int64_t)n1 * (n2 / 2 + 1)};
}

/* Whether a real plane's spectrum needs bin `bin` of field f: in the
 * columns k2 = 0 and n2/2 the bins past row n1/2 are the conjugates of
 * bins above them (A(-k) = conj A(k)), so they are never split out nor
 * multiplied, and join_bin rebuilds them from their mirrors. */
static bool independent_bin(const fft_field *f, int64_t bin)
{
    int64_t half = f->n2 / 2 + 1, k1 = bin / half, k2 = bin % half;
    return (k2 != 0 && k2 != half - 1) || 2 * k1 <= f->n1;
}

/* Floats of one interleaved field buffer: every pixel holds GROUP floats,
 * one per plane of a group (two planes to a complex field). */
static int64_t buffer_floats(const fft_field *f)
{
    return (int64_t)GROUP * f->n1 * f->n2;
}

/* Floats of scratch each thread needs: a buffer to transform from and one
 * to transform into. */
static int64_t scratch_per_thread(const fft_field *f)
{
    return dl_round_floats(2 * buffer_floats(f));
}

/* The kept plans for `howmany` fields of f, or NULL. */
static const fft_plans *find_plans(const fft_field *f, int howmany)
{
    for (int i = 0; i < plan_count; i++)
        if (plans[i].n1 == f->n1 && plans[i].n2 == f->n2 && plans[i].howmany == howmany)
            return &plans[i];
    return NULL;
}

/* Makes and keeps those plans in a free slot (the caller leaves one); in
 * and out are arrays of the coming executions (FFTW_ESTIMATE reads
 * neither), and later executions use arrays of the same 64-byte
 * alignment. NULL, with an error, when FFTW cannot plan. */
static const fft_plans *make_plans(const fft_field *f, int howmany, float *in, float *out)
{
    int dims[2] = {f->n1, f->n2}, stride = GROUP / 2;
    fftwf_complex *from = (fftwf_complex *)in, *to = (fftwf_complex *)out;
    fft_plans p = {f->n1, f->n2, howmany, NULL, NULL};
    p.forward = fftwf_plan_many_dft(2, dims, howmany, from, NULL, stride, 1, to, NULL, stride, 1,
                                    FFTW_FORWARD, FFTW_ESTIMATE);
    p.backward = fftwf_plan_many_dft(2, dims, howmany, from, NULL, stride, 1, to, NULL, stride,
                                     1, FFTW_BACKWARD, FFTW_ESTIMATE);
    if (!p.forward || !p.backward) {
        if (p.forward)
            fftwf_destroy_plan(p.forward);
        if (p.backward)
            fftwf_destroy_plan(p.backward);
        dl_fail(DL_ERR_MEMORY, "conv2d: FFTW could not plan a %dx%d transform", f->n1, f->n2);
        return NULL;
    }
    plans[plan_count] = p;
    return &plans[plan_count++];
}

/* The plans for a row of cols planes taken GROUP at a time, two to a
 * complex field: `full` for whole groups (NULL when cols < GROUP), `tail`
 * for the last, shorter one (NULL when there is none). When the cache
 * cannot take the missing ones, it is emptied first (plans are only used
 * during one call). False, with an error, when FFTW cannot plan. Not to
 * be called from a parallel region: FFTW's planner is not thread-safe. */
static bool row_plans(const fft_field *f, int64_t cols, float *scratch,
                      const fft_plans **full, const fft_plans **tail)
{
    int rest = (int)(cols % GROUP), tail_fields = (rest + 1) / 2;
    bool want_full = cols >= GROUP, want_tail = rest > 0;
    *full = want_full ? find_plans(f, GROUP / 2) : NULL;
    *tail = want_tail ? find_plans(f, tail_fields) : NULL;
    int missing = (want_full && !*full) + (want_tail && !*tail);
    if (missing && plan_count + missing > PLAN_CACHE) {
        for (int i = 0; i < plan_count; i++) {
            fftwf_destroy_plan(plans[i].forward);
            fftwf_destroy_plan(plans[i].backward);
        }
        plan_count = 0;
        *full = *tail = NULL;
    }
    float *out = scratch + buffer_floats(f);
    if (want_full && !*full && !(*full = make_plans(f, GROUP / 2, scratch, out)))
        return false;
    if (want_tail && !*tail && !(*tail = make_plans(f, tail_fields, scratch, out)))
        return false;
    return true;
}

/* The spectra of the planes of a group from Z, the transforms of their
 * fields z = a + i b (planes 2t and 2t+1 in field t): A(k) = (Z(k) +
 * conj Z(-k)) / 2 and B(k) = (Z(k) - conj Z(-k)) / 2i, at bin k: zk and
 * zm hold Z(k) and Z(-k) of every field, `to` gets the planes' values at
 * k in plane order (complex). */
static void split_bin(const float *restrict zk, const float *restrict zm, int64_t planes,
                      float *restrict to)
{
    for (int64_t t = 0; t < planes / 2; t++) {
        float zr = zk[2 * t], zi = zk[2 * t + 1], mr = zm[2 * t], mi = zm[2 * t + 1];
        to[4 * t] = 0.5f * (zr + mr);
        to[4 * t + 1] = 0.5f * (zi - mi);
        to[4 * t + 2] = 0.5f * (zi + mi);
        to[4 * t + 3] = 0.5f * (mr - zr);
    }
    if (planes % 2) {       /* the last field holds one plane */
        int64_t t = planes / 2;
        to[4 * t] = 0.5f * (zk[2 * t] + zm[2 * t]);
        to[4 * t + 1] = 0.5f * (zk[2 * t + 1] - zm[2 * t + 1]);
    }
}

/* Z(k) = A(k) + i B(k) of every field of a group into zk from the planes'
 * values at bin k (`from`, plane order), and when zm is not NULL also
 * Z(-k) = conj A(k) + i conj B(k) into zm (the bin a real plane's
 * spectrum leaves out). */
static void join_bin(const float *restrict from, int64_t planes, float *restrict zk,
                     float *restrict zm)
{
    for (int64_t t = 0; t < planes / 2; t++) {
        float ar = from[4 * t], ai = from[4 * t + 1], br = from[4 * t + 2], bi = from[4 * t + 3];
        zk[2 * t] = ar - bi;
        zk[2 * t + 1] = ai + br;
        if (zm) {
            zm[2 * t] = ar + bi;
            zm[2 * t + 1] = br - ai;
        }
    }
    if (planes % 2) {       /* the last field holds one plane: B = 0 */
        int64_t t = planes / 2;
        zk[2 * t] = from[4 * t];
        zk[2 * t + 1] = from[4 * t + 1];
        if (zm) {
            zm[2 * t] = from[4 * t];
            zm[2 * t + 1] = -from[4 * t + 1];
        }
    }
}

/* The spectrum (rows, bins, cols) of rows x cols planes, each plane
 * (height x width at src + p*height*width, p = row*cols + col) placed at
 * (top, left) of a zero field.
 *
 * A group of up to GROUP planes of a row is laid out pixel by pixel
 * (pixel-major, the group's planes side by side), two planes to a complex
 * field, and goes through one FFTW call: its complex codelets vectorize
 * across the fields, where the real-input ones it picks for small fields
 * run scalar. Then each bin's values of the whole group are contiguous
 * in the buffer and in the spectrum, and split_bin takes them apart. */
DL_MULTIVERSION
static dl_status transform_planes(const fft_field *f, const float *src, int64_t rows,
                                  int64_t cols, int64_t height, int64_t width, int64_t top,
                                  int64_t left, float *spec, float *scratch)
{
    const fft_plans *full, *tail;
    if (!row_plans(f, cols, scratch, &full, &tail))
        return DL_ERR_MEMORY;
    int n1 = f->n1, n2 = f->n2, half = n2 / 2 + 1;
    int64_t groups = (cols + GROUP - 1) / GROUP;
    #pragma omp parallel
    {
        float *in = scratch + omp_get_thread_num() * scratch_per_thread(f);
        float *out = in + buffer_floats(f);
        memset(in, 0, (size_t)buffer_floats(f) * sizeof(float));
        #pragma omp for schedule(dynamic, 2)
        for (int64_t unit = 0; unit < rows * groups; unit++) {
            if (dl_interrupted())
                continue;           /* Ctrl-C: the remaining groups are skipped */
            int64_t row = unit / groups, first = unit % groups * GROUP;
            int64_t planes = cols - first < GROUP ? cols - first : GROUP;
            const float *group = src + (row * cols + first) * height * width;
            for (int64_t q = 0; q < planes; q++)
                for (int64_t r = 0; r < height; r++) {
                    const float *from = group + (q * height + r) * width;
                    float *pixels = in + ((top + r) * n2 + left) * GROUP + q;
                    for (int64_t i = 0; i < width; i++)
                        pixels[i * GROUP] = from[i];
                }
            /* an odd count: the last field's imaginary part is zero */
            for (int64_t r = 0; planes % 2 && r < height; r++) {
                float *pixels = in + ((top + r) * n2 + left) * GROUP + planes;
                for (int64_t i = 0; i < width; i++)
                    pixels[i * GROUP] = 0.0f;
            }
            fftwf_execute_dft(planes == GROUP ? full->forward : tail->forward,
                              (fftwf_complex *)in, (fftwf_complex *)out);
            float *to = spec + 2 * (row * f->bins * cols + first);
            for (int k1 = 0; k1 < n1; k1++)
                for (int k2 = 0; k2 < half; k2++) {
                    if (!independent_bin(f, k1 * half + k2))
                        continue;
                    int m1 = k1 ? n1 - k1 : 0, m2 = k2 ? n2 - k2 : 0;
                    split_bin(out + (k1 * n2 + k2) * GROUP, out + (m1 * n2 + m2) * GROUP,
                              planes, to + 2 * (k1 * half + k2) * cols);
                }
        }
    }
    return interrupted_status();
}

/* For each plane p = row*cols + col of a spectrum (rows, bins, cols): the
 * height x width window at (top, left) of its inverse FFT, times scale,
 * plus bias[p % period] when bias is not NULL, goes to plane p of dst:
 * dst = beta * dst + that (dst is not read when beta is 0). Groups of
 * planes go through FFTW as in transform_planes, their fields joined by
 * join_bin. */
DL_MULTIVERSION
static dl_status inverse_planes(const fft_field *f, const float *spec, int64_t rows,
                                int64_t cols, float *dst, int64_t height, int64_t width,
                                int64_t top, int64_t left, float scale, const float *bias,
                                int64_t period, float beta, float *scratch)
{
    const fft_plans *full, *tail;
    if (!row_plans(f, cols, scratch, &full, &tail))
        return DL_ERR_MEMORY;
    int n1 = f->n1, n2 = f->n2, half = n2 / 2 + 1;
    int64_t groups = (cols + GROUP - 1) / GROUP;
    #pragma omp parallel
    {
        float *in = scratch + omp_get_thread_num() * scratch_per_thread(f);
        float *out = in + buffer_floats(f);
        #pragma omp for schedule(dynamic, 2)
        for (int64_t unit = 0; unit < rows * groups; unit++) {
            if (dl_interrupted())
                continue;           /* Ctrl-C: the remaining groups are skipped */
            int64_t row = unit / groups, first = unit % groups * GROUP;
            int64_t planes = cols - first < GROUP ? cols - first : GROUP;
            const float *from = spec + 2 * (row * f->bins * cols + first);
            for (int k1 = 0; k1 < n1; k1++)
                for (int k2 = 0; k2 < half; k2++) {
                    /* every independent bin also gives its mirror -k, left out */
                    if (!independent_bin(f, k1 * half + k2))
                        continue;
                    int m1 = k1 ? n1 - k1 : 0, m2 = k2 ? n2 - k2 : 0;
                    bool mirror = m1 != k1 || m2 != k2;
                    join_bin(from + 2 * (k1 * half + k2) * cols, planes,
                             in + (k1 * n2 + k2) * GROUP,
                             mirror ? in + (m1 * n2 + m2) * GROUP : NULL);
                }
            fftwf_execute_dft(planes == GROUP ? full->backward : tail->backward,
                              (fftwf_complex *)in, (fftwf_complex *)out);
            for (int64_t q = 0; q < planes; q++) {
                int64_t p = row * cols + first + q;
                float add = bias ? bias[p % period] : 0.0f;
                float *plane = dst + p * height * width;
                for (int64_t r = 0; r < height; r++) {
                    const float *pixels = out + ((top + r) * n2 + left) * GROUP + q;
                    float *to = plane + r * width;
                    if (beta == 0.0f)
                        for (int64_t i = 0; i < width; i++)
                            to[i] = scale * pixels[i * GROUP] + add;
                    else
                        for (int64_t i = 0; i < width; i++)
                            to[i] = beta * to[i] + scale * pixels[i * GROUP] + add;
                }
            }
        }
    }
    return interrupted_status();
}

/* The real (2k x 2n) matrix that multiplies an interleaved complex row by
 * one bin's weights: with forward, k = c inputs times conj(W[oc][ch]) into
 * n = o outputs; else k = o inputs times W[oc][ch] into n = c outputs. wf
 * is W's bin (o, c) in a spectrum (o, bins, c). */
static void weight_matrix(const float *wf, int64_t bins, int64_t c, int64_t o, bool forward,
                          float *m)
{
    for (int64_t oc = 0; oc < o; oc++)
        for (int64_t ch = 0; ch < c; ch++) {
            const float *w = wf + 2 * (oc * bins * c + ch);
            float wr = w[0], wi = w[1];
            if (forward) {        /* x conj(w): re = xr wr + xi wi, im = xi wr - xr wi */
                float *re_row = m + 2 * ch * 2 * o, *im_row = re_row + 2 * o;
                re_row[2 * oc] = wr;
                re_row[2 * oc + 1] = -wi;
                im_row[2 * oc] = wi;
                im_row[2 * oc + 1] = wr;
            } else {              /* g w: re = gr wr - gi wi, im = gr wi + gi wr */
                float *re_row = m + 2 * oc * 2 * c, *im_row = re_row + 2 * c;
                re_row[2 * ch] = wr;
                re_row[2 * ch + 1] = wi;
                im_row[2 * ch] = -wi;
                im_row[2 * ch + 1] = wr;
            }
        }
}

/* out[f] (m x n complex) = a[f] (m x k complex) times the bin's weights
 * (see weight_matrix) at every bin f, a and out spectra (m, bins, k) and
 * (m, bins, n): one real sgemm per bin on the interleaved rows in place,
 * cheaper than cgemm for these small products. */
static dl_status multiply_by_weights(const fft_field *field, int64_t m, const float *a,
                                     const float *ws, int64_t c, int64_t o, bool forward,
                                     float *out)
{
    int64_t bins = field->bins;
    int64_t k = forward ? c : o, n = forward ? o : c, per_thread;
    dl_tensor *scratch = NULL;
    dl_status st = dl_thread_scratch("conv2d", 4 * k * n, &scratch, &per_thread);
    if (st != DL_OK)
        return st;
    float *base = dl_data(scratch);
    #pragma omp parallel
    {
        float *mat = base + omp_get_thread_num() * per_thread;
        #pragma omp for schedule(dynamic, 4)
        for (int64_t f = 0; f < bins; f++) {
            if (!independent_bin(field, f) || dl_interrupted())
                continue;
            weight_matrix(ws + 2 * f * c, bins, c, o, forward, mat);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)(2 * n),
                        (int)(2 * k), 1.0f, a + 2 * f * k, (int)(2 * bins * k), mat, (int)(2 * n),
                        0.0f, out + 2 * f * n, (int)(2 * bins * n));
        }
    }
    dl_release(scratch);
    return interrupted_status();
}

/* dw[f] (o x c complex) = the sum over images b of conj(g[b][oc]) x[b][ch]
 * at every bin f, for spectra gs (n, bins, o), xs (n, bins, c) and out
 * (o, bins, c). One real sgemm per bin, g's interleaved rows transposed,
 * gives every product of real and imaginary parts, P (2o x 2c); then
 * re = P[2oc][2ch] + P[2oc+1][2ch+1] and im = P[2oc][2ch+1] - P[2oc+1][2ch]. */
static dl_status multiply_gradient_by_inputs(const fft_field *field, int64_t n, const float *gs,
                                             const float *xs, int64_t c, int64_t o, float *out)
{
    int64_t bins = field->bins;
    int64_t per_thread;
    dl_tensor *scratch = NULL;
    dl_status st = dl_thread_scratch("conv2d", 4 * o * c, &scratch, &per_thread);
    if (st != DL_OK)
        return st;
    float *base = dl_data(scratch);
    #pragma omp parallel
    {
        float *prod = base + omp_get_thread_num() * per_thread;
        #pragma omp for schedule(dynamic, 4)
        for (int64_t f = 0; f < bins; f++) {
            if (!independent_bin(field, f) || dl_interrupted())
                continue;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(2 * o), (int)(2 * c),
                        (int)n, 1.0f, gs + 2 * f * o, (int)(2 * bins * o), xs + 2 * f * c,
                        (int)(2 * bins * c), 0.0f, prod, (int)(2 * c));
            for (int64_t oc = 0; oc < o; oc++) {
                const float *re_row = prod + 2 * oc * 2 * c, *im_row = re_row + 2 * c;
                float *to = out + 2 * ((oc * bins + f) * c);
                for (int64_t ch = 0; ch < c; ch++) {
                    to[2 * ch] = re_row[2 * ch] + im_row[2 * ch + 1];
                    to[2 * ch + 1] = re_row[2 * ch + 1] - im_row[2 * ch];
                }
            }
        }
    }
    dl_release(scratch);
    return interrupted_status();
}

/* Scratch for every thread of the parallel loops. */
static dl_status scratch_for(const fft_field *f, dl_tensor **scratch)
{
    int64_t stride;         /* scratch_per_thread(f) */
    return dl_thread_scratch("conv2d", 2 * buffer_floats(f), scratch, &stride);
}

/* A spectrum of rows x cols planes. */
static dl_status spectrum(const fft_field *f, int64_t rows, int64_t cols, dl_tensor **out)
{
    return dl_empty("conv2d", 4, (const int64_t[]){rows, f->bins, cols, 2}, out);
}

bool conv_fft_pays(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                   const dl_conv_geometry *g)
{
    if (g->sh != 1 || g->sw != 1)
        return false;
    fft_field f = field_for_images(h, w, g);
    double n1 = f.n1, n2 = f.n2, bins = (double)f.bins;
    /* One transform takes about as long as sgemm does 6 N log2 N multiply-
     * adds (a 20x20 one: 0.7 us); a complex multiply-add is 4 real ones. */
    double transform = 6.0 * n1 * n2 * log2(n1 * n2);
    double fft = (double)(n * c + o * c + n * o) * transform + 4.0 * bins * n * c * o;
    double direct = (double)n * o * c * g->kh * g->kw * g->ho * g->wo;
    /* The spectra of a whole batch live at once (x's and weight's until
     * backward): past SPECTRA_LIMIT bytes, im2col's chunks are kinder. */
    double spectra = 8.0 * bins * (double)(n * c + o * c + n * o);
    return fft < direct && spectra <= SPECTRA_LIMIT;
}

dl_status conv_fft_forward(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                           const dl_conv_geometry *g, dl_tensor *y, dl_tensor **xspec,
                           dl_tensor **wspec)
{
    int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    int64_t o = weight->shape[0];
    fft_field f = field_for_images(h, w, g);
    dl_tensor *xs = NULL, *ws = NULL, *ys = NULL, *scratch = NULL;
    dl_status st;
    if ((st = spectrum(&f, n, c, &xs)) == DL_OK && (st = spectrum(&f, o, c, &ws)) == DL_OK &&
        (st = spectrum(&f, n, o, &ys)) == DL_OK && (st = scratch_for(&f, &scratch)) == DL_OK &&
        (st = transform_planes(&f, dl_data(x), n, c, h, w, g->ph, g->pw, dl_data(xs),
                               dl_data(scratch))) == DL_OK &&
        (st = transform_planes(&f, dl_data(weight), o, c, g->kh, g->kw, 0, 0, dl_data(ws),
                               dl_data(scratch))) == DL_OK) {
        if ((st = multiply_by_weights(&f, n, dl_data(xs), dl_data(ws), c, o, true,
                                      dl_data(ys))) == DL_OK)
            st = inverse_planes(&f, dl_data(ys), n, o, dl_data(y), g->ho, g->wo, 0, 0,
                                1.0f / (float)(f.n1 * f.n2), bias ? dl_data(bias) : NULL, o,
                                0.0f, dl_data(scratch));
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

/* db[oc] = beta * db[oc] + the sum of gradient oc over images and pixels:
 * the real part of each plane's constant term (bin 0) of gs (n, bins, o),
 * summed over the images. */
DL_MULTIVERSION
static void bias_grad_from_spectrum(const float *gs, int64_t n, int64_t bins, int64_t o,
                                    float beta, float *db)
{
    for (int64_t oc = 0; oc < o; oc++) {
        double s = 0;
        for (int64_t img = 0; img < n; img++)
            s += gs[2 * (img * bins * o + oc)];
        db[oc] = beta != 0.0f ? beta * db[oc] + (float)s : (float)s;
    }
}

dl_status conv_fft_backward(const dl_tensor *xspec, const dl_tensor *wspec,
                            const int64_t *x_shape, const int64_t *w_shape,
                            const dl_conv_geometry *g, const dl_tensor *gy,
                            const conv_grads *out)
{
    int64_t n = x_shape[0], c = x_shape[1], h = x_shape[2], w = x_shape[3], o = w_shape[0];
    fft_field f = field_for_images(h, w, g);
    float scale = 1.0f / (float)(f.n1 * f.n2);
    dl_tensor *gs = NULL, *prod = NULL, *scratch = NULL;
    dl_status st;
    if ((st = spectrum(&f, n, o, &gs)) == DL_OK &&
        (st = spectrum(&f, n > o ? n : o, c, &prod)) == DL_OK &&
        (st = scratch_for(&f, &scratch)) == DL_OK &&
        (st = transform_planes(&f, dl_data(gy), n, o, g->ho, g->wo, 0, 0, dl_data(gs),
                               dl_data(scratch))) == DL_OK) {
        if (out->db)
            bias_grad_from_spectrum(dl_data(gs), n, f.bins, o, out->beta_b, out->db);
        if (out->dx &&
            (st = multiply_by_weights(&f, n, dl_data(gs), dl_data(wspec), c, o, false,
                                      dl_data(prod))) == DL_OK)
            st = inverse_planes(&f, dl_data(prod), n, c, out->dx, h, w, g->ph, g->pw, scale,
                                NULL, 1, 0.0f, dl_data(scratch));
        if (out->dw && st == DL_OK &&
            (st = multiply_gradient_by_inputs(&f, n, dl_data(gs), dl_data(xspec), c, o,
                                              dl_data(prod))) == DL_OK)
            st = inverse_planes(&f, dl_data(prod), o, c, out->dw, g->kh, g->kw, 0, 0, scale,
                                NULL, 1, out->beta_w, dl_data(scratch));
    }
    dl_release(gs);
    dl_release(prod);
    dl_release(scratch);
    return st;
}
