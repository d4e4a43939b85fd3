/*
 * image_resize.c -- bilinear resizing of C x H x W byte planes.
 *
 * Half-pixel centres, as PyTorch's interpolate(mode="bilinear",
 * align_corners=False) and OpenCV's INTER_LINEAR: output pixel i covers
 * input position (i + 0.5) * in / out - 0.5, clamped to the image. The
 * weights of each output row and column are computed once.
 */
#include <math.h>
#include <stdlib.h>

#include "io.h"

#define MAX_SIDE 65536

/* For each of `out` positions: the two input neighbours and the weight of
 * the second. */
typedef struct {
    int lo, hi;
    float w;
} tap;

static void taps(int in, int out, tap *t)
{
    double scale = (double)in / out;
    for (int i = 0; i < out; i++) {
        double src = (i + 0.5) * scale - 0.5;
        if (src < 0)
            src = 0;
        int lo = (int)src;
        if (lo > in - 1)
            lo = in - 1;
        t[i] = (tap){lo, lo < in - 1 ? lo + 1 : lo, (float)(src - lo)};
    }
}

dl_status dl_image_resize(const dl_image *in, int height, int width, dl_image *out)
{
    if (height < 1 || width < 1 || height > MAX_SIDE || width > MAX_SIDE)
        return dl_fail(DL_ERR_ARGUMENT, "bad size %dx%d to resize to (expected 1..%d each)",
                       height, width, MAX_SIDE);
    size_t plane = (size_t)height * (size_t)width;
    uint8_t *data = malloc(plane * (size_t)in->channels);
    tap *rows = malloc((size_t)height * sizeof *rows);
    tap *cols = malloc((size_t)width * sizeof *cols);
    if (data == NULL || rows == NULL || cols == NULL) {
        free(data);
        free(rows);
        free(cols);
        return dl_fail(DL_ERR_MEMORY, "out of memory resizing to %dx%d", height, width);
    }
    taps(in->height, height, rows);
    taps(in->width, width, cols);
    size_t in_plane = (size_t)in->height * (size_t)in->width;
    for (int c = 0; c < in->channels; c++) {
        const uint8_t *src = in->data + (size_t)c * in_plane;
        uint8_t *dst = data + (size_t)c * plane;
        for (int y = 0; y < height; y++) {
            const uint8_t *top = src + (size_t)rows[y].lo * (size_t)in->width;
            const uint8_t *bottom = src + (size_t)rows[y].hi * (size_t)in->width;
            float wy = rows[y].w;
            for (int x = 0; x < width; x++) {
                tap t = cols[x];
                float upper = top[t.lo] + t.w * (top[t.hi] - top[t.lo]);
                float lower = bottom[t.lo] + t.w * (bottom[t.hi] - bottom[t.lo]);
                float v = upper + wy * (lower - upper);
                dst[(size_t)y * (size_t)width + (size_t)x] = (uint8_t)lrintf(v);
            }
        }
    }
    free(rows);
    free(cols);
    *out = (dl_image){in->channels, height, width, data};
    return DL_OK;
}
