/*
 * window.c -- geometry of sliding windows over N x C x H x W images.
 */
#include <stdio.h>
#include <string.h>

#include "../internal.h"
#include "window.h"

dl_status dl_window_geometry(const char *fn, const dl_tensor *x, const int kernel[2],
                             const int stride[2], const int padding[2], dl_conv_geometry *g)
{
    if (x->ndim != 4) {
        char xs[64];
        dl_shape_string(x, xs, sizeof xs);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to '%s' (expected images of shape (N, C, H, W), got %s)",
                       fn, xs);
    }
    for (int a = 0; a < 2; a++) {
        if (kernel[a] < 1 || stride[a] < 1 || padding[a] < 0)
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument to '%s' (expected kernel >= 1, stride >= 1, padding >= 0, "
                           "got kernel %d, stride %d, padding %d)",
                           fn, kernel[a], stride[a], padding[a]);
    }
    g->kh = kernel[0];
    g->kw = kernel[1];
    g->sh = stride[0];
    g->sw = stride[1];
    g->ph = padding[0];
    g->pw = padding[1];
    int64_t h = x->shape[2] + 2 * g->ph, w = x->shape[3] + 2 * g->pw;
    if (h < g->kh || w < g->kw)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to '%s' (a %lldx%lld kernel does not fit a %lldx%lld image "
                       "with padding %lld,%lld)",
                       fn, (long long)g->kh, (long long)g->kw, (long long)x->shape[2],
                       (long long)x->shape[3], (long long)g->ph, (long long)g->pw);
    g->ho = (h - g->kh) / g->sh + 1;
    g->wo = (w - g->kw) / g->sw + 1;
    return DL_OK;
}

void dl_window_store(dl_node *node, const dl_conv_geometry *g)
{
    int64_t params[8] = {g->kh, g->kw, g->sh, g->sw, g->ph, g->pw, g->ho, g->wo};
    memcpy(node->integer, params, sizeof params);
}

void dl_window_load(const dl_node *node, dl_conv_geometry *g)
{
    *g = (dl_conv_geometry){node->integer[0], node->integer[1], node->integer[2],
                            node->integer[3], node->integer[4], node->integer[5],
                            node->integer[6], node->integer[7]};
}
