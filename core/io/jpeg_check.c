/*
 * jpeg_check.c -- a walk over a JPEG file's markers that refuses what
 * stb_image 2.27 (Debian 12's libstb) would decode out of bounds.
 *
 * stb_image trusts the code counts of a Huffman table (DHT segment): a
 * table whose 16 counts add up to more than 256 makes it write past its
 * 257-entry size list and 256-entry value list (fixed upstream in 2.28;
 * found here by tests/fuzz/fuzz_image).
 *
 * The walk must see every DHT that stb_image could act on, so it reads
 * the file as loosely as stb_image does: between segments, and through the
 * entropy-coded data of a scan, it moves a byte at a time looking for 0xFF
 * (stb_image skips junk the same way); a marker whose segment has a length
 * is stepped over by that length, as stb_image consumes it; bytes past the
 * end read as zero, as stbi__get8 returns them. It may look at more than
 * stb_image would (a valid file never has 0xFF 0xC4 in scan data), never
 * at less. Everything else is left for stb_image to report.
 */
#include "io_internal.h"

#define MARKER_DHT 0xC4
#define MARKER_EOI 0xD9

static uint8_t byte_at(const uint8_t *data, size_t size, size_t i)
{
    return i < size ? data[i] : 0;
}

/* Checks the tables of a DHT segment whose payload spans [start, end): each
 * is a class/id byte, 16 code counts, then the codes. */
static dl_status check_tables(const char *name, const uint8_t *data, size_t size,
                              size_t start, size_t end)
{
    for (size_t i = start; i < end && i < size;) {
        size_t codes = 0;
        for (size_t k = 1; k <= 16; k++)
            codes += byte_at(data, size, i + k);
        if (codes > 256)
            return dl_fail(DL_ERR_ARGUMENT, "%s: byte %zu: corrupt JPEG image (a Huffman "
                           "table with %zu codes, at most 256 are possible)", name, i, codes);
        i += 17 + codes;
    }
    return DL_OK;
}

dl_status dl_jpeg_check(const char *name, const uint8_t *data, size_t size)
{
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
        if (marker == MARKER_DHT) {
            dl_status status = check_tables(name, data, size, i + 2, i + length);
            if (status != DL_OK)
                return status;
        }
        i = length >= 2 ? i + length : at + 2;
    }
    return DL_OK;
}
