/*
 * window.h -- checks shared by the sliding-window layers (conv, pooling).
 */
#ifndef DL_NN_WINDOW_H
#define DL_NN_WINDOW_H

#include "../autograd.h"
#include "../kernels/kernels.h"

/* Checks that x is (N, C, H, W) and that the window (kernel, stride,
 * padding) fits it; fills g with the output size. Errors name `fn`. */
dl_status dl_window_geometry(const char *fn, const dl_tensor *x, const int kernel[2],
                             const int stride[2], const int padding[2], dl_conv_geometry *g);

/* Keeps the geometry in a node's integer slots 0..7, and reads it back. */
void dl_window_store(dl_node *node, const dl_conv_geometry *g);
void dl_window_load(const dl_node *node, dl_conv_geometry *g);

#endif
