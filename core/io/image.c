/*
 * image.c -- PNG, JPEG, BMP and GIF files to C x H x W byte planes, through
 * stb_image (Debian's libstb).
 *
 * The format is recognised by its signature before stb_image sees the
 * bytes, so only the four decoders we promise ever run (stb_image would
 * also try TGA, which has no signature, on anything). The size is checked
 * with stbi_info before pixels are allocated. image_check.c first checks
 * what stb_image 2.27 (Debian 12's) does not.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "io_internal.h"

#define MAX_PIXELS ((int64_t)1 << 26)
#define MAX_FILE_BYTES ((size_t)1 << 30)

/* "PNG", "JPEG", "BMP", "GIF", or NULL for anything else. */
static const char *format_of(const unsigned char *p, size_t n)
{
    if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "PNG";
    if (n >= 3 && memcmp(p, "\xff\xd8\xff", 3) == 0)
        return "JPEG";
    if (n >= 2 && memcmp(p, "BM", 2) == 0)
        return "BMP";
    if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
        return "GIF";
    return NULL;
}

/* "name: corrupt PNG image (reason)", with stb_image's reason unless it is
 * left over from its probes for other formats (it tries JPEG first, so a
 * PNG that fails silently would read "no SOI"). */
static dl_status corrupt(const char *name, const char *format)
{
    static const char *const probes[] = {"no SOI", "bad png sig", "not GIF", "not BMP",
                                         "bad format", NULL};
    const char *why = stbi_failure_reason();
    for (const char *const *p = probes; why != NULL && *p != NULL; p++)
        if (strcmp(why, *p) == 0)
            why = NULL;
    if (why == NULL || why[0] == '\0')
        return dl_fail(DL_ERR_ARGUMENT, "%s: corrupt %s image", name, format);
    return dl_fail(DL_ERR_ARGUMENT, "%s: corrupt %s image (%s)", name, format, why);
}

dl_status dl_image_decode(const char *name, const void *data, size_t size, int channels,
                          dl_image *out)
{
    if (size == 0)
        return dl_fail(DL_ERR_ARGUMENT, "%s: the file is empty", name);
    const char *format = format_of(data, size);
    if (format == NULL)
        return dl_fail(DL_ERR_ARGUMENT, "%s: byte 0: not a PNG, JPEG, BMP or GIF image",
                       name);
    if (size > INT_MAX)
        return dl_fail(DL_ERR_ARGUMENT, "%s: %zu bytes is too large for an image", name, size);
    if (dl_image_check(name, format, data, size) != DL_OK)
        return DL_ERR_ARGUMENT;
    int w, h, stored;
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &stored))
        return corrupt(name, format);
    if (w <= 0 || h <= 0)
        return dl_fail(DL_ERR_ARGUMENT, "%s: a %dx%d image has no pixels (its header "
                       "gives a width or height of 0)", name, w, h);
    if ((int64_t)w * h > MAX_PIXELS)
        return dl_fail(DL_ERR_ARGUMENT, "%s: a %dx%d image (at most 2^26 pixels are read)",
                       name, w, h);
    int c = channels ? channels : stored <= 2 ? 1 : 3;
    unsigned char *pixels = stbi_load_from_memory(data, (int)size, &w, &h, &stored, c);
    if (pixels == NULL)
        return corrupt(name, format);
    size_t plane = (size_t)w * (size_t)h;
    uint8_t *planes = malloc(plane * (size_t)c);
    if (planes == NULL) {
        stbi_image_free(pixels);
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory for a %dx%d image", name, w, h);
    }
    /* stb gives H x W x C (interleaved); tensors are C x H x W */
    for (int k = 0; k < c; k++)
        for (size_t i = 0; i < plane; i++)
            planes[(size_t)k * plane + i] = pixels[i * (size_t)c + (size_t)k];
    stbi_image_free(pixels);
    *out = (dl_image){c, h, w, planes};
    return DL_OK;
}

/* Reads the whole file at path into a malloc'd buffer. */
static dl_status read_file(const char *fn, const char *path, unsigned char **data,
                           size_t *size)
{
    dl_source *s;
    dl_status status = dl_source_open(fn, path, &s);
    if (status != DL_OK)
        return status;
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL) {
            status = dl_fail(DL_ERR_MEMORY, "%s: out of memory", path);
            break;
        }
        int64_t k = dl_source_read(s, buf + n, cap - n);
        if (k < 0) {
            status = DL_ERR_IO;
            break;
        }
        n += (size_t)k;
        if (n < cap)
            break;
        if (cap >= MAX_FILE_BYTES) {
            status = dl_fail(DL_ERR_ARGUMENT, "%s: more than %zu MiB: too large for an "
                             "image", path, MAX_FILE_BYTES >> 20);
            break;
        }
        unsigned char *bigger = realloc(buf, 2 * cap);
        if (bigger == NULL)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    dl_source_close(s);
    if (status != DL_OK) {
        free(buf);
        return status;
    }
    *data = buf;
    *size = n;
    return DL_OK;
}

dl_status dl_image_load(const char *fn, const char *path, int channels, dl_image *out)
{
    unsigned char *data;
    size_t size;
    dl_status status = read_file(fn, path, &data, &size);
    if (status != DL_OK)
        return status;
    status = dl_image_decode(path, data, size, channels, out);
    free(data);
    return status;
}

void dl_image_free(dl_image *img)
{
    free(img->data);
    memset(img, 0, sizeof *img);
}
