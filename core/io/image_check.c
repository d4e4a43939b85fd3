/*
 * jpeg_check.c -- a walk over a JPEG file's markers that refuses what
 * stb_image 2.27 (Debian 12's libstb) would decode out of bounds.
 *
 * Two things stb_image trusts, both found by tests/fuzz/fuzz_image:
 *  - the code counts of a Huffman table (DHT segment): a table whose 16
 *    counts add up to more than 256 makes it write past its 257-entry size
 *    list and 256-entry value list (checked upstream since 2.28);
 *  - that a scan (SOS) only uses Huffman tables defined before it: an
 *    undefined one is uninitialised heap memory, which trips an assertion
 *    (Debian's libstb keeps them, so the process aborts) or sends its fast
 *    lookup tables out of bounds.
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

dl_status dl_jpeg_check(const char *name, const uint8_t *data, size_t size)
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
