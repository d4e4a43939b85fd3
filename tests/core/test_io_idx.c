/* test_io_idx.c -- the IDX reader: every element type, gzip and plain, and a
 * table of truncated, lying and malformed headers; the gzip layer of byte
 * sources. */
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "helpers.h"
#include "io/io.h"

/* An IDX file in a buffer: the header for `shape`, then `payload`. */
typedef struct {
    uint8_t bytes[512];
    size_t size;
} blob;

static blob idx_file(int type, int ndim, const uint32_t *shape, const void *payload,
                     size_t payload_size)
{
    blob b = {{0, 0, (uint8_t)type, (uint8_t)ndim}, 4};
    for (int d = 0; d < ndim; d++) {
        b.bytes[b.size++] = (uint8_t)(shape[d] >> 24);
        b.bytes[b.size++] = (uint8_t)(shape[d] >> 16);
        b.bytes[b.size++] = (uint8_t)(shape[d] >> 8);
        b.bytes[b.size++] = (uint8_t)shape[d];
    }
    memcpy(b.bytes + b.size, payload, payload_size);
    b.size += payload_size;
    return b;
}

#define DIMS(...) ((const uint32_t[]){__VA_ARGS__})
#define BYTES(...) ((const uint8_t[]){__VA_ARGS__})

/* gzip-compresses b (a gzip wrapper: windowBits 15 + 16). */
static blob gzipped(const blob *b)
{
    blob out = {{0}, 0};
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)b->bytes;
    z.avail_in = (uInt)b->size;
    z.next_out = out.bytes;
    z.avail_out = sizeof out.bytes;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.size = sizeof out.bytes - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* Reads a whole IDX blob as floats into a new tensor (NULL on error). */
static dl_status read_blob(const blob *b, dl_tensor **out)
{
    dl_source *s;
    dl_idx_header h;
    *out = NULL;
    assert_int_equal(dl_source_memory("t.idx", b->bytes, b->size, &s), DL_OK);
    dl_status status = dl_idx_read_header(s, &h);
    if (status == DL_OK)
        status = dl_empty("idx", h.ndim, h.shape, out);
    if (status == DL_OK)
        status = dl_idx_read_floats(s, &h, dl_data(*out));
    dl_source_close(s);
    if (status != DL_OK) {
        dl_release(*out);
        *out = NULL;
    }
    return status;
}

static void every_element_type(void **state)
{
    dl_tensor *t;
    blob b = idx_file(0x08, 2, DIMS(2, 3), BYTES(0, 1, 2, 127, 128, 255), 6);
    assert_int_equal(read_blob(&b, &t), DL_OK);
    expect_tensor(t, 2, SHAPE(2, 3), VALUES(0, 1, 2, 127, 128, 255), 0);
    dl_release(t);
    b = idx_file(0x09, 1, DIMS(3), BYTES(0x7f, 0x80, 0xff), 3);
    assert_int_equal(read_blob(&b, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(3), VALUES(127, -128, -1), 0);
    dl_release(t);
    b = idx_file(0x0B, 1, DIMS(2), BYTES(0x80, 0x00, 0x01, 0x2c), 4);
    assert_int_equal(read_blob(&b, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(2), VALUES(-32768, 300), 0);
    dl_release(t);
    b = idx_file(0x0C, 1, DIMS(2), BYTES(0xff, 0xff, 0xff, 0xfe, 0x00, 0x01, 0x11, 0x70), 8);
    assert_int_equal(read_blob(&b, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(2), VALUES(-2, 70000), 0);
    dl_release(t);
    b = idx_file(0x0D, 1, DIMS(2), BYTES(0x3f, 0xc0, 0, 0, 0xc0, 0x10, 0, 0), 8);
    assert_int_equal(read_blob(&b, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(2), VALUES(1.5f, -2.25f), 0);
    dl_release(t);
    b = idx_file(0x0E, 1, DIMS(1), BYTES(0xbf, 0xe0, 0, 0, 0, 0, 0, 0), 8);
    assert_int_equal(read_blob(&b, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(1), VALUES(-0.5f), 0);
    dl_release(t);
}

static void bytes_and_gzip(void **state)
{
    blob plain = idx_file(0x08, 3, DIMS(2, 1, 2), BYTES(9, 8, 7, 6), 4);
    blob gz = gzipped(&plain);
    dl_source *s;
    dl_idx_header h;
    uint8_t data[4];
    assert_int_equal(dl_source_memory("t.idx.gz", gz.bytes, gz.size, &s), DL_OK);
    assert_int_equal(dl_idx_read_header(s, &h), DL_OK);
    assert_int_equal(h.ndim, 3);
    assert_int_equal(h.count, 4);
    assert_int_equal(h.type, DL_IDX_U8);
    assert_int_equal(dl_idx_read_bytes(s, &h, data), DL_OK);
    assert_memory_equal(data, BYTES(9, 8, 7, 6), 4);
    dl_source_close(s);
}

static void loads_files(void **state)
{
    blob b = idx_file(0x08, 1, DIMS(3), BYTES(1, 2, 3), 3);
    blob gz = gzipped(&b);
    char path[] = "/tmp/dl_test_idx_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, gz.bytes, gz.size), (ssize_t)gz.size);
    close(fd);
    dl_tensor *t;
    assert_int_equal(dl_idx_load("idx", path, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(3), VALUES(1, 2, 3), 0);
    dl_release(t);
    unlink(path);
    assert_int_equal(dl_idx_load("idx", path, &t), DL_ERR_IO);
    expect_error("bad argument #1 to 'idx' (cannot open '/tmp/dl_test_idx_");
}

static void malformed_headers_are_refused_before_allocating(void **state)
{
    static const struct {
        blob file;
        const char *message;
    } cases[] = {
        {{{0}, 0}, "t.idx: the file is empty"},
        {{{0, 0, 8}, 3}, "t.idx: truncated at byte 3: an IDX header has at least 8 bytes"},
        {{"PK\3\4xxxxxxxx", 12}, "t.idx: byte 0: not an IDX file (it must start with two "
                                 "zero bytes, got 0x50 0x4b)"},
        {{{0, 0, 0x07, 1, 0, 0, 0, 1, 5}, 9}, "t.idx: byte 2: unknown IDX element type 0x07"},
        {{{0, 0, 8, 0}, 4}, "t.idx: byte 3: 0 dimensions (tensors have 1 to 8)"},
        {{{0, 0, 8, 9}, 4}, "t.idx: byte 3: 9 dimensions (tensors have 1 to 8)"},
        {{{0, 0, 8, 2, 0, 0, 0, 1}, 8}, "t.idx: truncated at byte 8: the header of 2 dimensions "
                                        "has 12 bytes"},
        {{{0, 0, 8, 1, 0, 0, 0, 10, 1, 2, 3}, 11}, "t.idx: truncated: the header promises 10 u8 "
                                                   "items (10 bytes of data), the file holds "
                                                   "at most 3"},
        {{{0, 0, 0x0E, 4, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
           255, 255, 255}, 20}, "t.idx: truncated: the header promises "
                                "4294967295x4294967295x4294967295x4294967295 f64 items"},
        {{{0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3}, 11}, "t.idx: byte 10: data after the 2 bytes the "
                                                  "header promises"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dl_tensor *t;
        size_t before = dl_memory_in_use();
        if (read_blob(&cases[i].file, &t) == DL_OK)
            fail_msg("case %zu: no error, want \"%s\"", i, cases[i].message);
        expect_error(cases[i].message);
        assert_int_equal(dl_memory_in_use(), before);
    }
}

static void truncated_and_corrupt_gzip(void **state)
{
    uint8_t payload[200];
    for (int i = 0; i < 200; i++)
        payload[i] = (uint8_t)(i * 37);
    blob plain = idx_file(0x08, 1, DIMS(200), payload, 200);
    blob gz = gzipped(&plain);
    dl_tensor *t;
    blob cut = gz;
    cut.size = gz.size / 2;
    assert_int_equal(read_blob(&cut, &t), DL_ERR_IO);
    expect_error("t.idx: truncated gzip data");
    blob bad = gz;
    for (size_t i = 12; i < 20; i++)
        bad.bytes[i] ^= 0xA5;
    assert_int_not_equal(read_blob(&bad, &t), DL_OK);
    expect_error("t.idx: ");
    /* a lying header inside gzip: more data promised than deflate could
     * expand the rest of the file to */
    blob liar = idx_file(0x08, 1, DIMS(0x7fffffff), payload, 10);
    blob liar_gz = gzipped(&liar);
    assert_int_equal(read_blob(&liar_gz, &t), DL_ERR_ARGUMENT);
    expect_error("t.idx: truncated: the header promises 2147483647 u8 items");
}

static void gzip_members_are_concatenated(void **state)
{
    blob a = idx_file(0x08, 1, DIMS(4), BYTES(1, 2), 2);
    blob rest = {{3, 4}, 2};
    blob ga = gzipped(&a), gr = gzipped(&rest), both = ga;
    memcpy(both.bytes + ga.size, gr.bytes, gr.size);
    both.size = ga.size + gr.size;
    dl_tensor *t;
    assert_int_equal(read_blob(&both, &t), DL_OK);
    expect_tensor(t, 1, SHAPE(4), VALUES(1, 2, 3, 4), 0);
    dl_release(t);
}

static void nothing_leaks(void **state)
{
    assert_int_equal(dl_memory_in_use(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_element_type),
        cmocka_unit_test(bytes_and_gzip),
        cmocka_unit_test(loads_files),
        cmocka_unit_test(malformed_headers_are_refused_before_allocating),
        cmocka_unit_test(truncated_and_corrupt_gzip),
        cmocka_unit_test(gzip_members_are_concatenated),
        cmocka_unit_test(nothing_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
