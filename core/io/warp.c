/*
 * warp.c -- affine resampling of image batches, the geometric half of data
 * augmentation (flips, shifts, crops with padding, small rotations).
 *
 * Each output pixel reads the input at an affine function of its own
 * position, with bilinear weights; neighbours outside the image contribute
 * `fill` (as grid_sample's constant padding). An integer position reads its
 * pixel exactly, so flips and shifts lose nothing.
 */
#include <math.h>

#include "io.h"

/* One plane: out (H, W) from in (H, W) through the map t[6]. */
static void warp_plane(const float *in, float *out, int64_t h, int64_t w, const float *t,
                       float fill)
{
    for (int64_t row = 0; row < h; row++) {
        for (int64_t col = 0; col < w; col++) {
            float sx = t[0] * (float)col + t[1] * (float)row + t[2];
            float sy = t[3] * (float)col + t[4] * (float)row + t[5];
            float fx = floorf(sx), fy = floorf(sy);
            float wx = sx - fx, wy = sy - fy;
            float acc = 0;
            for (int dy = 0; dy < 2; dy++) {
                for (int dx = 0; dx < 2; dx++) {
                    float weight = (dx ? wx : 1 - wx) * (dy ? wy : 1 - wy);
                    if (weight == 0)
                        continue;
                    float x = fx + (float)dx, y = fy + (float)dy;
                    bool inside = x >= 0 && y >= 0 && x < (float)w && y < (float)h;
                    acc += weight * (inside ? in[(int64_t)y * w + (int64_t)x] : fill);
                }
            }
            out[row * w + col] = acc;
        }
    }
}

dl_status dl_warp_affine(const dl_tensor *x, const float *theta, float fill,
                         dl_tensor **out)
{
    if (x->ndim != 4) {
        char shape[64];
        dl_shape_string(x, shape, sizeof shape);
        return dl_fail(DL_ERR_SHAPE, "bad argument #1 to 'warp' (expected images N x C x H x "
                       "W, got shape %s)", shape);
    }
    dl_tensor *src, *dst;
    dl_status status = dl_contiguous(x, &src);
    if (status != DL_OK)
        return status;
    status = dl_empty("warp", 4, x->shape, &dst);
    if (status != DL_OK) {
        dl_release(src);
        return status;
    }
    int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    const float *in = dl_data(src);
    float *o = dl_data(dst);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < c; k++)
            warp_plane(in + (i * c + k) * h * w, o + (i * c + k) * h * w, h, w,
                       theta + 6 * i, fill);
    dl_release(src);
    *out = dst;
    return DL_OK;
}
