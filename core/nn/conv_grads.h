/*
 * conv_grads.h -- where a convolution route's backward pass writes.
 */
#ifndef DL_NN_CONV_GRADS_H
#define DL_NN_CONV_GRADS_H

/* Gradient buffers of a convolution, each NULL when not wanted: dw
 * (O, C, kh, kw) = beta_w * dw + dL/dweight, db (O) = beta_b * db + dL/dbias
 * (a beta of 0 overwrites), dx (N, C, H, W) = dL/dx. */
typedef struct {
    float *dw, *db, *dx;
    float beta_w, beta_b;
} conv_grads;

#endif
