/*
 * image_check.c -- structural checks of image files before stb_image
 * decodes them, for what stb_image 2.27 (Debian 12's libstb) does not
 * check. Each was found by tests/fuzz/fuzz_image or by truncating files.
 *
 * JPEG. Two things stb_image trusts:
 *  - the code counts of a Huffman table (DHT segment): a table whose 16
 *    counts add up to more than 256 makes it write past its 257-entry size
 *    list and 256-entry value list (checked upstream since 2.28);
 *  - that a scan (SOS) only uses Huffman tables defined before it: an
 *    undefined one is uninitialised heap memory, which trips an assertion
 *    (Debian's libstb keeps them, so the process aborts) or sends its fast
 *    lookup tables out of bounds.
 * The walk must see every DHT that stb_image could act on, so it reads
 * the file as loosely as stb_image does: between segments, and through the
 * entropy-coded data of a scan, it moves a byte at a time looking for 0xFF
 * (stb_image skips junk the same way); a marker whose segment has a length
 * is stepped over by that length, as stb_image consumes it; bytes past the
 * end read as zero, as stbi__get8 returns them. It may look at more than
 * stb_image would (a valid file never has 0xFF 0xC4 in scan data), never
 * at less.
 *
 * BMP and GIF. stb_image decodes a truncated file as if the missing bytes
 * were zeros, without an error: a 146-byte BMP can claim 30 million
 * pixels. An uncompressed BMP must hold the pixel rows its header
 * promises; the first frame of a GIF must end inside the file.
 *
 * PNG. stb_image does refuse a truncated PNG, but names a half-read chunk
 * ("IDA"); the chunks up to IEND must lie inside the file.
 */
#include <string.h>

#include "io_internal.h"

#define MARKER_DHT 0xC4
#define MARKER_EOI 0xD9
#define MARKER_SOS 0xDA
#define MARKER_SOF_PROGRESSIVE 0xC2

/* What the walk has seen so far. */
typedef struct {
    const char *name;
    const uint8_t *data;
    size_t size;
    bool defined[2][4];         /* [DC = 0, AC = 1][table id] */
    bool progressive;
} walk;

static uint8_t byte_at(const uint8_t *data, size_t size, size_t i)
{
    return i < size ? data[i] : 0;
}

/* Checks the tables of a DHT segment whose payload spans [start, end): each
 * is a class/id byte, 16 code counts, then the codes. */
static dl_status check_tables(walk *w, size_t start, size_t end)
{
    for (size_t i = start; i < end && i < w->size;) {
        uint8_t id = byte_at(w->data, w->size, i);
        size_t codes = 0;
        for (size_t k = 1; k <= 16; k++)
            codes += byte_at(w->data, w->size, i + k);
        if (codes > 256)
            return dl_fail(DL_ERR_ARGUMENT, "%s: byte %zu: corrupt JPEG image (a Huffman "
                           "table with %zu codes, at most 256 are possible)", w->name, i,
                           codes);
        if (id >> 4 <= 1 && (id & 15) <= 3)
            w->defined[id >> 4][id & 15] = true;
        i += 17 + codes;
    }
    return DL_OK;
}

/* Checks that the scan whose header starts at `start` (after the length)
 * uses only defined tables: DC tables for the DC scans of a progressive
 * file (refinements use none), AC tables for its AC scans, both otherwise. */
static dl_status check_scan(const walk *w, size_t start)
{
    size_t n = byte_at(w->data, w->size, start);
    size_t spectral = start + 1 + 2 * n;
    bool dc_scan = byte_at(w->data, w->size, spectral) == 0;
    bool refining = byte_at(w->data, w->size, spectral + 2) >> 4 != 0;
    bool need_dc = !w->progressive || (dc_scan && !refining);
    bool need_ac = !w->progressive || !dc_scan;
    for (size_t k = 0; k < n; k++) {
        uint8_t tables = byte_at(w->data, w->size, start + 2 + 2 * k);
        int dc = tables >> 4, ac = tables & 15;
        if (dc > 3 || ac > 3)
            continue;                                 /* stb_image refuses these */
        if ((need_dc && !w->defined[0][dc]) || (need_ac && !w->defined[1][ac]))
            return dl_fail(DL_ERR_ARGUMENT, "%s: byte %zu: corrupt JPEG image (a scan uses "
                           "Huffman table %s %d before it is defined)", w->name, start,
                           need_dc && !w->defined[0][dc] ? "DC" : "AC",
                           need_dc && !w->defined[0][dc] ? dc : ac);
    }
    return DL_OK;
}

static dl_status check_jpeg(const char *name, const uint8_t *data, size_t size)
{
    walk w = {.name = name, .data = data, .size = size};
    size_t i = 2;                                  /* after SOI */
    while (i < size) {
        if (data[i] != 0xFF) {
            i++;                                   /* junk or scan data */
            continue;
        }
        size_t at = i;
        while (i < size && data[i] == 0xFF)        /* fill bytes */
            i++;
        uint8_t marker = byte_at(data, size, i);
        i++;
        if (marker == MARKER_EOI)
            return DL_OK;
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
            continue;                              /* no segment follows */
        size_t length = (size_t)byte_at(data, size, i) << 8 | byte_at(data, size, i + 1);
        dl_status status = DL_OK;
        if (marker == MARKER_DHT)
            status = check_tables(&w, i + 2, i + length);
        else if (marker == MARKER_SOS)
            status = check_scan(&w, i + 2);
        else if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC8 && marker != 0xCC)
            w.progressive = marker == MARKER_SOF_PROGRESSIVE;
        if (status != DL_OK)
            return status;
        i = length >= 2 ? i + length : at + 2;
    }
    return DL_OK;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

/* An uncompressed BMP must hold offset + stride * height bytes. */
static dl_status check_bmp(const char *name, const uint8_t *data, size_t size)
{
    if (size < 30)
        return DL_OK;                              /* stb_image reports it */
    uint32_t offset = le32(data + 10), header = le32(data + 14);
    uint64_t width, height, bits, compression = 0;
    if (header == 12) {                            /* OS/2 core header */
        width = le16(data + 18);
        height = le16(data + 20);
        bits = le16(data + 24);
    } else {
        if (size < 34)
            return DL_OK;
        int32_t h = (int32_t)le32(data + 22);
        width = le32(data + 18);
        height = h < 0 ? -(int64_t)h : h;
        bits = le16(data + 28);
        compression = le32(data + 30);
    }
    if (compression == 1 || compression == 2)
        return DL_OK;        /* stb_image refuses RLE, and reads any other as raw */
    uint64_t stride = (width * bits + 31) / 32 * 4;
    uint64_t need = offset + stride * height;
    if (width > 1u << 24 || height > 1u << 24 || need <= size)
        return DL_OK;                              /* huge sizes are refused later */
    return dl_fail(DL_ERR_ARGUMENT, "%s: truncated BMP image (%llux%llu pixels need %llu "
                   "bytes, the file has %zu)", name, (unsigned long long)width,
                   (unsigned long long)height, (unsigned long long)need, size);
}

/* Steps over a chain of GIF sub-blocks starting at *i; false when the
 * chain runs past the end. */
static bool skip_sub_blocks(const uint8_t *data, size_t size, size_t *i)
{
    while (*i < size) {
        size_t n = data[(*i)++];
        if (n == 0)
            return true;
        *i += n;
    }
    return false;
}

/* The blocks before the first frame, and that frame, must end in the file. */
static dl_status check_gif(const char *name, const uint8_t *data, size_t size)
{
    size_t i = 13;                                 /* header and screen descriptor */
    if (size < i)
        return DL_OK;
    if (data[10] & 0x80)
        i += (size_t)3 << ((data[10] & 7) + 1);    /* global colour table */
    while (i < size) {
        uint8_t block = data[i++];
        if (block == 0x21) {                       /* extension: label, sub-blocks */
            i++;
            if (!skip_sub_blocks(data, size, &i))
                break;
        } else if (block == 0x2C) {                /* the first frame */
            i += 9;
            if (i <= size && data[i - 1] & 0x80)
                i += (size_t)3 << ((data[i - 1] & 7) + 1);
            i++;                                   /* LZW code size */
            if (skip_sub_blocks(data, size, &i))
                return DL_OK;
            break;
        } else {
            return DL_OK;                          /* stb_image reports it */
        }
    }
    return dl_fail(DL_ERR_ARGUMENT, "%s: truncated GIF image (its first frame does not end "
                   "in the file's %zu bytes)", name, size);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Every chunk (length, type, data, CRC) up to IEND must be in the file. */
static dl_status check_png(const char *name, const uint8_t *data, size_t size)
{
    size_t i = 8;                                  /* after the signature */
    while (i + 8 <= size) {
        uint64_t end = (uint64_t)i + 12 + be32(data + i);
        if (end > size)
            break;
        if (memcmp(data + i + 4, "IEND", 4) == 0)
            return DL_OK;
        i = (size_t)end;
    }
    return dl_fail(DL_ERR_ARGUMENT, "%s: truncated PNG image (the chunk at byte %zu does "
                   "not end in the file's %zu bytes)", name, i, size);
}

dl_status dl_image_check(const char *name, const char *format, const uint8_t *data,
                         size_t size)
{
    if (strcmp(format, "JPEG") == 0)
        return check_jpeg(name, data, size);
    if (strcmp(format, "BMP") == 0)
        return check_bmp(name, data, size);
    if (strcmp(format, "GIF") == 0)
        return check_gif(name, data, size);
    if (strcmp(format, "PNG") == 0)
        return check_png(name, data, size);
    return DL_OK;
}
