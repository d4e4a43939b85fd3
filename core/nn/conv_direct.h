/*
 * conv_direct.h -- stride-1 convolution by direct loops, for layers whose
 * reduction C * kh * kw is short (conv.c picks it when conv_direct_suits).
 */
#ifndef DL_NN_CONV_DIRECT_H
#define DL_NN_CONV_DIRECT_H

#include "../autograd.h"
#include "../kernels/kernels.h"
#include "conv_grads.h"

/* True for stride 1 and at most 32 taps (C * kh * kw) per output. */
bool conv_direct_suits(int64_t c, const dl_conv_geometry *g);

/* True where the forward loops pay though the backward ones would not:
 * stride 1, and at most 160 taps for at most 64 outputs on rows of 16+
 * pixels, or at most 576 taps for at most 16 outputs. */
bool conv_direct_forward_pays(int64_t c, int64_t o, const dl_conv_geometry *g);

/* y (N, O, Ho, Wo) = conv2d(x, weight) + bias for contiguous x (N, C, H, W),
 * weight (O, C, kh, kw) and bias (O) or NULL. */
dl_status conv_direct_forward(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                              const dl_conv_geometry *g, dl_tensor *y);

/* The backward pass from contiguous x, weight and the gradient gy
 * (N, O, Ho, Wo) into out. */
dl_status conv_direct_backward(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *gy,
                               const dl_conv_geometry *g, const conv_grads *out);

#endif
