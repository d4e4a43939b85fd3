/*
 * idx.c -- IDX arrays (MNIST's format), gzip or plain.
 *
 * The header is checked before anything is allocated: a size that the
 * file cannot hold is refused at once for plain files (the exact size is
 * known) and as soon as the data runs out for gzip ones. After the data,
 * the file must end: trailing bytes mean the header and the data disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

#define CHUNK 65536

static int element_size(int type)
{
    switch (type) {
    case DL_IDX_U8: case DL_IDX_I8: return 1;
    case DL_IDX_I16: return 2;
    case DL_IDX_I32: case DL_IDX_F32: return 4;
    case DL_IDX_F64: return 8;
    default: return 0;
    }
}

static const char *type_name(int type)
{
    switch (type) {
    case DL_IDX_U8: return "u8";
    case DL_IDX_I8: return "i8";
    case DL_IDX_I16: return "i16";
    case DL_IDX_I32: return "i32";
    case DL_IDX_F32: return "f32";
    default: return "f64";
    }
}

/* Reads exactly n bytes; *got tells how many arrived when fewer did. */
static dl_status read_exact(dl_source *s, void *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        int64_t k = dl_source_read(s, (char *)buf + *got, n - *got);
        if (k < 0)
            return DL_ERR_IO;
        if (k == 0)
            break;
        *got += (size_t)k;
    }
    return DL_OK;
}

static uint32_t big_endian_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

dl_status dl_idx_read_header(dl_source *s, dl_idx_header *h)
{
    const char *name = dl_source_name(s);
    unsigned char head[4 + 4 * 255];
    size_t got;
    if (read_exact(s, head, 4, &got) != DL_OK)
        return DL_ERR_IO;
    if (got == 0)
        return dl_fail(DL_ERR_ARGUMENT, "%s: the file is empty", name);
    if (got < 4)
        return dl_fail(DL_ERR_ARGUMENT, "%s: truncated at byte %zu: an IDX header has at "
                       "least 8 bytes", name, got);
    if (head[0] != 0 || head[1] != 0)
        return dl_fail(DL_ERR_ARGUMENT, "%s: byte 0: not an IDX file (it must start with "
                       "two zero bytes, got 0x%02x 0x%02x)", name, head[0], head[1]);
    int size = element_size(head[2]);
    if (size == 0)
        return dl_fail(DL_ERR_ARGUMENT, "%s: byte 2: unknown IDX element type 0x%02x "
                       "(expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)", name, head[2]);
    int ndim = head[3];
    if (ndim < 1 || ndim > DL_MAX_DIM)
        return dl_fail(DL_ERR_ARGUMENT, "%s: byte 3: %d dimensions (tensors have 1 to %d)",
                       name, ndim, DL_MAX_DIM);
    if (read_exact(s, head + 4, 4 * (size_t)ndim, &got) != DL_OK)
        return DL_ERR_IO;
    if (got < 4 * (size_t)ndim)
        return dl_fail(DL_ERR_ARGUMENT, "%s: truncated at byte %zu: the header of %d "
                       "dimensions has %d bytes", name, 4 + got, ndim, 4 + 4 * ndim);
    dl_idx_header hd = {.type = head[2], .elem_size = size, .ndim = ndim};
    char dims[96] = "";
    double bytes = size;               /* in double: four sizes < 2^32 overflow int64 */
    for (int d = 0; d < ndim; d++) {
        hd.shape[d] = big_endian_u32(head + 4 + 4 * d);
        bytes *= (double)hd.shape[d];
        size_t used = strlen(dims);
        snprintf(dims + used, sizeof dims - used, "%s%lld", d ? "x" : "",
                 (long long)hd.shape[d]);
    }
    if (bytes > (double)dl_source_bound(s))
        return dl_fail(DL_ERR_ARGUMENT, "%s: truncated: the header promises %s %s items "
                       "(%.0f bytes of data), the file holds at most %llu", name, dims,
                       type_name(hd.type), bytes, (unsigned long long)dl_source_bound(s));
    hd.count = (int64_t)bytes / size;
    *h = hd;
    return DL_OK;
}

static dl_status truncated(dl_source *s, const dl_idx_header *h)
{
    return dl_fail(DL_ERR_ARGUMENT, "%s: truncated at byte %llu: the header promises %lld "
                   "bytes of data after %d header bytes", dl_source_name(s),
                   (unsigned long long)dl_source_offset(s),
                   (long long)(h->count * h->elem_size), 4 + 4 * h->ndim);
}

/* The data must be the end of the file. */
static dl_status expect_end(dl_source *s, const dl_idx_header *h)
{
    unsigned char extra;
    size_t got;
    if (read_exact(s, &extra, 1, &got) != DL_OK)
        return DL_ERR_IO;
    if (got == 0)
        return DL_OK;
    return dl_fail(DL_ERR_ARGUMENT, "%s: byte %llu: data after the %lld bytes the header "
                   "promises (the header and the file size disagree)", dl_source_name(s),
                   (unsigned long long)dl_source_offset(s) - 1,
                   (long long)(h->count * h->elem_size));
}

dl_status dl_idx_read_bytes(dl_source *s, const dl_idx_header *h, uint8_t *dst)
{
    size_t got;
    if (read_exact(s, dst, (size_t)h->count, &got) != DL_OK)
        return DL_ERR_IO;
    if (got < (size_t)h->count)
        return truncated(s, h);
    return expect_end(s, h);
}

/* Converts n big-endian elements of `type` at p to floats. */
static void convert(int type, const unsigned char *p, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) {
        switch (type) {
        case DL_IDX_U8: out[i] = p[i]; break;
        case DL_IDX_I8: out[i] = (int8_t)p[i]; break;
        case DL_IDX_I16: out[i] = (int16_t)(p[2 * i] << 8 | p[2 * i + 1]); break;
        case DL_IDX_I32: out[i] = (float)(int32_t)big_endian_u32(p + 4 * i); break;
        case DL_IDX_F32: {
            uint32_t bits = big_endian_u32(p + 4 * i);
            memcpy(&out[i], &bits, 4);
            break;
        }
        default: {
            uint64_t bits = (uint64_t)big_endian_u32(p + 8 * i) << 32 |
                            big_endian_u32(p + 8 * i + 4);
            double d;
            memcpy(&d, &bits, 8);
            out[i] = (float)d;
        }
        }
    }
}

dl_status dl_idx_read_floats(dl_source *s, const dl_idx_header *h, float *dst)
{
    unsigned char *chunk = malloc(CHUNK);
    if (chunk == NULL)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", dl_source_name(s));
    size_t per_chunk = CHUNK / (size_t)h->elem_size, got;
    dl_status status = DL_OK;
    for (int64_t done = 0; done < h->count && status == DL_OK;) {
        size_t n = (size_t)(h->count - done) < per_chunk ? (size_t)(h->count - done)
                                                         : per_chunk;
        status = read_exact(s, chunk, n * (size_t)h->elem_size, &got);
        if (status == DL_OK && got < n * (size_t)h->elem_size)
            status = truncated(s, h);
        if (status == DL_OK)
            convert(h->type, chunk, n, dst + done);
        done += (int64_t)n;
    }
    free(chunk);
    return status == DL_OK ? expect_end(s, h) : status;
}

dl_status dl_idx_load(const char *fn, const char *path, dl_tensor **out)
{
    dl_source *s;
    dl_idx_header h;
    dl_tensor *t = NULL;
    dl_status status = dl_source_open(fn, path, &s);
    if (status != DL_OK)
        return status;
    status = dl_idx_read_header(s, &h);
    if (status == DL_OK)
        status = dl_empty(fn, h.ndim, h.shape, &t);
    if (status == DL_OK)
        status = dl_idx_read_floats(s, &h, dl_data(t));
    dl_source_close(s);
    if (status != DL_OK) {
        dl_release(t);
        return status;
    }
    *out = t;
    return DL_OK;
}
