/*
 * fuzz_image.c -- libFuzzer target of the image reader (core/io/image.c,
 * image_resize.c) and the stb_image decoders behind it (built from
 * Debian's stb_image.h with the same instrumentation, stb_image_impl.c).
 *
 * The first byte picks the channels (as stored, gray, RGB) and whether to
 * resize; the rest is the file.
 */
#include "io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const int channels[] = {0, 1, 3, 0};
    dl_image img;
    if (dl_image_decode("fuzz.png", data + 1, size - 1, channels[data[0] & 3], &img) != DL_OK)
        return 0;
    if (data[0] & 4) {
        dl_image small;
        if (dl_image_resize(&img, 1 + (data[0] >> 5), 1 + ((data[0] >> 3) & 3), &small) == DL_OK)
            dl_image_free(&small);
    }
    dl_image_free(&img);
    return 0;
}
