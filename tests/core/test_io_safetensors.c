/* test_io_safetensors.c -- the safetensors writer and reader: a round trip
 * through a file and through memory, the layout the reference writer uses
 * (header padded to 8 bytes, I64 before F32), names the writer refuses, and
 * the UTF-8 check. Hostile files are in tests/lua/save_spec.lua and the
 * fuzz target. */
#include <stdio.h>
#include <unistd.h>

#include "helpers.h"
#include "io/safetensors.h"

static char folder[] = "/tmp/dl_safetensors_XXXXXX";

static int make_folder(void **state)
{
    return mkdtemp(folder) == NULL;
}

static int remove_folder(void **state)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", folder);
    return system(command) != 0;
}

static char *path_of(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    return path;
}

/* The bytes of a file (malloc'd), *size set. */
static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *data = malloc(1 << 16);
    *size = fread(data, 1, 1 << 16, f);
    fclose(f);
    return data;
}

/* Checks the tensors and metadata of the file written by round_trip. */
static void expect_contents(dl_safetensors *f)
{
    assert_int_equal(dl_safetensors_count(f), 3);
    const dl_st_tensor *first = dl_safetensors_tensor(f, 0);
    assert_string_equal(first->name, "count");           /* 8-byte types first */
    assert_int_equal(first->dtype, DL_ST_I64);
    assert_int_equal(first->ndim, 0);
    const dl_st_tensor *w = dl_safetensors_tensor(f, 1);
    assert_string_equal(w->name, "w");
    assert_int_equal(w->dtype, DL_ST_F32);
    assert_int_equal(w->begin, 8);
    assert_int_equal(w->end, 32);
    assert_string_equal(dl_safetensors_tensor(f, 2)->name, "empty");
    dl_tensor *t;
    assert_int_equal(dl_safetensors_read(f, 0, &t), DL_OK);
    expect_tensor(t, 0, SHAPE(0), VALUES(7), 0);
    dl_release(t);
    assert_int_equal(dl_safetensors_read(f, 1, &t), DL_OK);
    expect_tensor(t, 2, SHAPE(3, 2), VALUES(1, 4, 2, 5, 3, 6), 0);   /* the transpose */
    dl_release(t);
    assert_int_equal(dl_safetensors_read(f, 2, &t), DL_OK);
    expect_tensor(t, 2, SHAPE(0, 4), VALUES(0), 0);
    dl_release(t);
    assert_int_equal(dl_safetensors_metadata_count(f), 2);
    assert_string_equal(dl_safetensors_metadata_key(f, 0), "format");
    assert_string_equal(dl_safetensors_metadata_value(f, 0), "pt");
    assert_string_equal(dl_safetensors_metadata_value(f, 1), "h\xc3\xa9 \"quoted\"\n");
}

static void round_trip(void **state)
{
    dl_tensor *m = TENSOR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6), *w, *count, *empty;
    assert_int_equal(dl_transpose(m, 0, 1, &w), DL_OK);
    count = TENSOR(0, SHAPE(0), 7);
    assert_int_equal(dl_empty("test", 2, SHAPE(0, 4), &empty), DL_OK);
    const dl_st_entry entries[] = {{"w", w, false}, {"count", count, true}, {"empty", empty, false}};
    const char *keys[] = {"format", "note"}, *values[] = {"pt", "h\xc3\xa9 \"quoted\"\n"};
    char *path = path_of("round.safetensors");
    assert_int_equal(dl_safetensors_write("save", 1, path, 3, entries, 2, keys, values), DL_OK);

    size_t size;
    unsigned char *data = slurp(path, &size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | data[i];
    assert_int_equal(n % 8, 0);                           /* padded as the reference */
    assert_int_equal(data[8], '{');
    size_t end = (size_t)n;                              /* spaces after the JSON */
    while (end > 0 && data[8 + end - 1] == ' ')
        end--;
    assert_int_equal(data[8 + end - 1], '}');
    assert_true(n - end < 8);
    assert_int_equal(size, 8 + n + 8 + 24);
    assert_memory_equal(data + 8, "{\"__metadata__\":{\"format\":\"pt\"", 30);

    dl_safetensors *f;
    assert_int_equal(dl_safetensors_open("load", path, &f), DL_OK);
    expect_contents(f);
    dl_safetensors_close(f);
    assert_int_equal(dl_safetensors_open_memory("mem", data, size, &f), DL_OK);
    expect_contents(f);
    dl_safetensors_close(f);
    free(data);
    dl_release(m);
    dl_release(w);
    dl_release(count);
    dl_release(empty);
}

static void the_writer_refuses_bad_names(void **state)
{
    dl_tensor *t = TENSOR(1, SHAPE(1), 1);
    char *path = path_of("refused.safetensors");
    const dl_st_entry twice[] = {{"a", t, false}, {"a", t, false}};
    assert_int_equal(dl_safetensors_write("save", 1, path, 2, twice, 0, NULL, NULL),
                     DL_ERR_ARGUMENT);
    assert_string_equal(dl_error(), "bad argument to 'save' (tensor name 'a' given twice or "
                        "reserved)");
    const dl_st_entry reserved[] = {{"__metadata__", t, false}};
    assert_int_equal(dl_safetensors_write("save", 1, path, 1, reserved, 0, NULL, NULL),
                     DL_ERR_ARGUMENT);
    const dl_st_entry latin1[] = {{"caf\xe9", t, false}};
    assert_int_equal(dl_safetensors_write("save", 1, path, 1, latin1, 0, NULL, NULL),
                     DL_ERR_ARGUMENT);
    assert_int_equal(access(path, F_OK), -1);             /* nothing written */
    const dl_st_entry fine[] = {{"a", t, false}};
    assert_int_equal(dl_safetensors_write("save", 2, "/nonexistent/x.safetensors", 1, fine, 0,
                                          NULL, NULL), DL_ERR_IO);
    assert_string_equal(dl_error(), "bad argument #2 to 'save' (cannot write "
                        "'/nonexistent/x.safetensors': No such file or directory)");
    dl_release(t);
}

static void utf8_check(void **state)
{
    static const struct {
        const char *text;
        size_t valid;
    } cases[] = {
        {"plain", 5}, {"h\xc3\xa9", 3}, {"\xe2\x82\xac", 3}, {"\xf0\x9f\x98\x80", 4},
        {"\xc0\xaf", 0},                 /* overlong '/' */
        {"\xe0\x80\xaf", 0},             /* overlong, 3 bytes */
        {"a\xed\xa0\x80", 1},            /* a UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 0},         /* above U+10FFFF */
        {"ab\xe2\x82", 2},               /* cut short */
        {"\x80", 0}, {"\xff", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(dl_utf8_valid_prefix(cases[i].text, strlen(cases[i].text)),
                         cases[i].valid);
}

static void nothing_leaks(void **state)
{
    assert_int_equal(dl_memory_in_use(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(the_writer_refuses_bad_names),
        cmocka_unit_test(utf8_check),
        cmocka_unit_test(nothing_leaks),
    };
    return cmocka_run_group_tests(tests, make_folder, remove_folder);
}
