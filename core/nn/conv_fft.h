/*
 * conv_fft.h -- stride-1 convolution through the 2-D FFT (FFTW).
 *
 * conv.c picks this route when conv_fft_pays() says it costs fewer
 * operations than im2col + sgemm; results agree with it to float rounding.
 */
#ifndef DL_NN_CONV_FFT_H
#define DL_NN_CONV_FFT_H

#include "../autograd.h"
#include "../kernels/kernels.h"
#include "conv_grads.h"

/* True when the FFT route is expected to be cheaper than im2col + sgemm for
 * n images of c channels and h x w pixels, o output channels and geometry g
 * (stride 1 only). */
bool conv_fft_pays(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                   const dl_conv_geometry *g);

/* y (N, O, Ho, Wo) = conv2d(x, weight) + bias for contiguous x (N, C, H, W),
 * weight (O, C, kh, kw) and bias (O) or NULL. When xspec and wspec are not
 * NULL, the spectra of x and weight are returned there for the backward
 * pass (new references). */
dl_status conv_fft_forward(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                           const dl_conv_geometry *g, dl_tensor *y, dl_tensor **xspec,
                           dl_tensor **wspec);

/* The backward pass from the spectra conv_fft_forward returned and the
 * contiguous gradient gy (N, O, Ho, Wo) into out (db from the spectrum's
 * constant term). x_shape is x's (N, C, H, W), w_shape weight's
 * (O, C, kh, kw). */
dl_status conv_fft_backward(const dl_tensor *xspec, const dl_tensor *wspec,
                            const int64_t *x_shape, const int64_t *w_shape,
                            const dl_conv_geometry *g, const dl_tensor *gy,
                            const conv_grads *out);

#endif
