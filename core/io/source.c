/*
 * source.c -- byte sources: a file or a memory block, gzip or plain, read
 * as one stream of uncompressed bytes.
 *
 * The raw layer reads the file (stdio) or copies from memory; when the
 * first two bytes are the gzip magic, an inflate layer (zlib) sits on top.
 * Concatenated gzip members are read one after another, as gzip -d does
 * bytes after the last member that do not start another one are an error
 * (gzip -d warns about them; here they mean a damaged or padded file).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "io.h"

#define RAW_CHUNK 65536
/* deflate cannot expand data by more than this factor (zlib's technical
 * details: 1032:1), plus what inflate may still hold back */
#define GZIP_MAX_RATIO 1032
#define GZIP_SLACK 65536

struct dl_source {
    char *name;
    FILE *file;                  /* NULL for memory */
    const unsigned char *mem;
    uint64_t raw_size;           /* bytes of raw input */
    uint64_t raw_pos;            /* raw bytes consumed */
    uint64_t offset;             /* uncompressed bytes delivered */
    bool gzip;
    bool gzip_done;              /* the last member ended */
    z_stream z;
    unsigned char in[RAW_CHUNK]; /* raw input waiting for inflate */
};

/* Reads up to n raw bytes; -1 on a read error (message set). */
static int64_t raw_read(dl_source *s, void *buf, size_t n)
{
    if (s->file == NULL) {
        uint64_t left = s->raw_size - s->raw_pos;
        size_t k = n < left ? n : (size_t)left;
        if (k > 0)
            memcpy(buf, s->mem + s->raw_pos, k);
        s->raw_pos += k;
        return (int64_t)k;
    }
    size_t k = fread(buf, 1, n, s->file);
    if (k < n && ferror(s->file)) {
        dl_fail(DL_ERR_IO, "%s: read error: %s", s->name, strerror(errno));
        return -1;
    }
    s->raw_pos += k;
    return (int64_t)k;
}

/* Refills z.next_in from the raw input when it is empty. */
static dl_status refill(dl_source *s)
{
    if (s->z.avail_in > 0)
        return DL_OK;
    int64_t k = raw_read(s, s->in, sizeof s->in);
    if (k < 0)
        return DL_ERR_IO;
    s->z.next_in = s->in;
    s->z.avail_in = (uInt)k;
    return DL_OK;
}

/* After a member ended: true when another member follows. */
static dl_status next_member(dl_source *s, bool *more)
{
    *more = false;
    if (refill(s) != DL_OK)
        return DL_ERR_IO;
    if (s->z.avail_in == 1 && s->z.next_in[0] == 0x1f) {
        /* the magic may straddle the buffer end: keep the first byte */
        s->in[0] = 0x1f;
        int64_t k = raw_read(s, s->in + 1, sizeof s->in - 1);
        if (k < 0)
            return DL_ERR_IO;
        s->z.next_in = s->in;
        s->z.avail_in = (uInt)(k + 1);
    }
    if (s->z.avail_in >= 2 && s->z.next_in[0] == 0x1f && s->z.next_in[1] == 0x8b) {
        inflateReset(&s->z);
        *more = true;
    } else if (s->z.avail_in > 0) {
        return dl_fail(DL_ERR_IO, "%s: trailing bytes after the gzip data (a damaged or "
                       "padded file; the data ended after %llu bytes)", s->name,
                       (unsigned long long)s->offset);
    }
    return DL_OK;
}

static int64_t gzip_read(dl_source *s, unsigned char *buf, size_t n)
{
    size_t done = 0;
    while (done < n && !s->gzip_done) {
        if (refill(s) != DL_OK)
            return -1;
        bool at_end = s->z.avail_in == 0;
        size_t want = n - done > UINT32_MAX ? UINT32_MAX : n - done;
        s->z.next_out = buf + done;
        s->z.avail_out = (uInt)want;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        size_t got = want - s->z.avail_out;
        done += got;
        s->offset += got;
        if (rc == Z_STREAM_END) {
            bool more;
            if (next_member(s, &more) != DL_OK)
                return -1;
            s->gzip_done = !more;
        } else if (rc == Z_BUF_ERROR && at_end) {
            dl_fail(DL_ERR_IO, "%s: truncated gzip data (the stream ends after %llu "
                    "bytes)", s->name, (unsigned long long)s->offset);
            return -1;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            dl_fail(DL_ERR_IO, "%s: corrupt gzip data after %llu bytes (%s)", s->name,
                    (unsigned long long)s->offset, s->z.msg ? s->z.msg : "inflate failed");
            return -1;
        }
    }
    return (int64_t)done;
}

int64_t dl_source_read(dl_source *s, void *buf, size_t n)
{
    if (s->gzip)
        return gzip_read(s, buf, n);
    int64_t k = raw_read(s, buf, n);
    if (k > 0)
        s->offset += (uint64_t)k;
    return k;
}

uint64_t dl_source_bound(const dl_source *s)
{
    uint64_t raw_left = s->raw_size - s->raw_pos;
    if (!s->gzip)
        return raw_left;
    if (s->gzip_done)
        return 0;
    return (raw_left + s->z.avail_in) * GZIP_MAX_RATIO + GZIP_SLACK;
}

uint64_t dl_source_offset(const dl_source *s)
{
    return s->offset;
}

const char *dl_source_name(const dl_source *s)
{
    return s->name;
}

/* Sniffs the gzip magic and sets up inflate; the raw position is then at
 * the start (plain) or the sniffed bytes wait in s->in (gzip). */
static dl_status start(dl_source *s)
{
    s->raw_pos = 0;
    s->offset = 0;
    s->gzip_done = false;
    s->z.avail_in = 0;
    if (refill(s) != DL_OK)
        return DL_ERR_IO;
    s->gzip = s->z.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
    if (s->gzip) {
        /* windowBits 15 + 16: gzip wrapper only */
        if (inflateInit2(&s->z, 15 + 16) != Z_OK)
            return dl_fail(DL_ERR_MEMORY, "%s: cannot start zlib", s->name);
        return DL_OK;
    }
    /* plain: give the sniffed bytes back by starting over */
    s->z.avail_in = 0;
    s->raw_pos = 0;
    if (s->file != NULL && fseek(s->file, 0, SEEK_SET) != 0)
        return dl_fail(DL_ERR_IO, "%s: cannot seek: %s", s->name, strerror(errno));
    return DL_OK;
}

dl_status dl_source_rewind(dl_source *s)
{
    if (s->gzip)
        inflateEnd(&s->z);
    s->gzip = false;
    memset(&s->z, 0, sizeof s->z);
    if (s->file != NULL && fseek(s->file, 0, SEEK_SET) != 0)
        return dl_fail(DL_ERR_IO, "%s: cannot seek: %s", s->name, strerror(errno));
    return start(s);
}

static dl_source *new_source(const char *name)
{
    dl_source *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->name = strdup(name);
    if (s->name == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

dl_status dl_source_open(const char *fn, const char *path, dl_source **out)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL)
        return dl_fail(DL_ERR_IO, "bad argument #1 to '%s' (cannot open '%s': %s)", fn,
                       path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
        fclose(f);
        return dl_fail(DL_ERR_IO, "bad argument #1 to '%s' (cannot open '%s': %s)", fn,
                       path, strerror(err));
    }
    dl_source *s = new_source(path);
    if (s == NULL) {
        fclose(f);
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", fn);
    }
    s->file = f;
    s->raw_size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : (uint64_t)1 << 62;
    dl_status status = start(s);
    if (status != DL_OK) {
        dl_source_close(s);
        return status;
    }
    *out = s;
    return DL_OK;
}

dl_status dl_source_memory(const char *name, const void *data, size_t size,
                           dl_source **out)
{
    dl_source *s = new_source(name);
    if (s == NULL)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", name);
    s->mem = data;
    s->raw_size = size;
    dl_status status = start(s);
    if (status != DL_OK) {
        dl_source_close(s);
        return status;
    }
    *out = s;
    return DL_OK;
}

void dl_source_close(dl_source *s)
{
    if (s == NULL)
        return;
    if (s->gzip)
        inflateEnd(&s->z);
    if (s->file != NULL)
        fclose(s->file);
    free(s->name);
    free(s);
}
