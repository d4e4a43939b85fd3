/* test_io_csv.c -- the CSV reader: RFC 4180 details, column kinds, classes,
 * one-hot, missing cells, numbers, and a table of malformed inputs. */
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "helpers.h"
#include "io/io.h"
#include "io/io_internal.h"

/* Reads n bytes as the file "t.csv" with options o (defaults when NULL). */
static dl_status read_bytes(const char *data, size_t n, const dl_csv_options *o,
                            dl_csv_table *t)
{
    dl_csv_options defaults;
    if (o == NULL) {
        dl_csv_defaults(&defaults);
        o = &defaults;
    }
    dl_source *src;
    assert_int_equal(dl_source_memory("t.csv", data, n, &src), DL_OK);
    memset(t, 0, sizeof *t);
    dl_status status = dl_csv_read_source("csv", src, o, t);
    dl_source_close(src);
    return status;
}

static dl_status read_text(const char *text, const dl_csv_options *o, dl_csv_table *t)
{
    return read_bytes(text, strlen(text), o, t);
}

static dl_csv_options with_target(const char *target)
{
    dl_csv_options o;
    dl_csv_defaults(&o);
    o.target = target;
    return o;
}

static void rfc4180_quotes_crlf_bom_and_blank_lines(void **state)
{
    const char *text = "\xEF\xBB\xBF" "a,\"b, \"\"quoted\"\"\",c\r\n"
                       "1,\"2.5\",3\r\n"
                       "\r\n"
                       "4,5,\"6\"";
    dl_csv_table t;
    assert_int_equal(read_text(text, NULL, &t), DL_OK);
    expect_tensor(t.x, 2, SHAPE(2, 3), VALUES(1, 2.5f, 3, 4, 5, 6), 0);
    assert_null(t.y);
    assert_int_equal(t.nfeatures, 3);
    assert_string_equal(t.features[0], "a");
    assert_string_equal(t.features[1], "b, \"quoted\"");
    dl_csv_table_free(&t);
}

static void quoted_line_breaks_keep_line_numbers(void **state)
{
    dl_csv_options o;
    dl_csv_defaults(&o);
    o.one_hot = true;
    dl_csv_table t;
    assert_int_equal(read_text("a,b\n\"p\nq\",2\nr,x\n", &o, &t), DL_ERR_ARGUMENT);
    expect_error("t.csv:4:2: expected a number, got \"x\" (column 'b')");
    assert_int_equal(read_text("a,b\n\"p\nq\",2\nr,3\n", &o, &t), DL_OK);
    assert_string_equal(t.features[0], "a=p\nq");
    expect_tensor(t.x, 2, SHAPE(2, 3), VALUES(1, 0, 2, 0, 1, 3), 0);
    dl_csv_table_free(&t);
}

static void string_target_becomes_sorted_classes(void **state)
{
    dl_csv_options o = with_target("species");
    dl_csv_table t;
    assert_int_equal(read_text("x,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n",
                               &o, &t), DL_OK);
    expect_tensor(t.y, 1, SHAPE(4), VALUES(3, 1, 2, 1), 0);
    expect_tensor(t.x, 2, SHAPE(4, 1), VALUES(1, 2, 3, 4), 0);
    assert_int_equal(t.nclasses, 3);
    assert_string_equal(t.classes[0], "setosa");
    assert_string_equal(t.classes[2], "virginica");
    assert_string_equal(t.target, "species");
    dl_csv_table_free(&t);
}

static void target_by_number_and_numeric_targets(void **state)
{
    dl_csv_options o = with_target("-1");
    o.header = false;
    dl_csv_table t;
    assert_int_equal(read_text("1,2,0.5\n3,4,1.5\n", &o, &t), DL_OK);
    expect_tensor(t.y, 1, SHAPE(2), VALUES(0.5f, 1.5f), 0);
    expect_tensor(t.x, 2, SHAPE(2, 2), VALUES(1, 2, 3, 4), 0);
    assert_int_equal(t.nclasses, 0);
    assert_string_equal(t.features[1], "2");
    dl_csv_table_free(&t);
    o.target = "1";
    assert_int_equal(read_text("1,2,0.5\n3,4,1.5\n", &o, &t), DL_OK);
    expect_tensor(t.y, 1, SHAPE(2), VALUES(1, 3), 0);
    dl_csv_table_free(&t);
}

static void numeric_classes_sort_numerically(void **state)
{
    dl_csv_options o = with_target("y");
    o.classes = true;
    dl_csv_table t;
    assert_int_equal(read_text("x,y\n0,10\n0,2\n0,1\n0,2\n", &o, &t), DL_OK);
    expect_tensor(t.y, 1, SHAPE(4), VALUES(3, 2, 1, 2), 0);
    assert_string_equal(t.classes[0], "1");
    assert_string_equal(t.classes[2], "10");
    dl_csv_table_free(&t);
}

static void fixed_classes_keep_their_order(void **state)
{
    static const char *const names[] = {"no", "yes", "maybe"};
    dl_csv_options o = with_target("y");
    o.fixed_classes = names;
    o.nfixed_classes = 3;
    dl_csv_table t;
    assert_int_equal(read_text("x,y\n1,yes\n2,no\n", &o, &t), DL_OK);
    expect_tensor(t.y, 1, SHAPE(2), VALUES(2, 1), 0);
    assert_int_equal(t.nclasses, 3);
    assert_string_equal(t.classes[2], "maybe");
    dl_csv_table_free(&t);
    assert_int_equal(read_text("x,y\n1,yes\n2,nope\n", &o, &t), DL_ERR_ARGUMENT);
    expect_error("t.csv:3:2: unknown class \"nope\" (the classes given are no, yes, maybe)");
}

static void one_hot_auto_and_forced(void **state)
{
    dl_csv_options o;
    dl_csv_defaults(&o);
    o.one_hot = true;
    dl_csv_table t;
    assert_int_equal(read_text("color,w\nred,1\nblue,2\nred,3\n", &o, &t), DL_OK);
    assert_int_equal(t.nfeatures, 3);
    assert_string_equal(t.features[0], "color=blue");
    assert_string_equal(t.features[1], "color=red");
    assert_string_equal(t.features[2], "w");
    expect_tensor(t.x, 2, SHAPE(3, 3), VALUES(0, 1, 1, 1, 0, 2, 0, 1, 3), 0);
    dl_csv_table_free(&t);
    static const char *const forced[] = {"size"};
    dl_csv_defaults(&o);
    o.one_hot_columns = forced;
    o.n_one_hot_columns = 1;
    assert_int_equal(read_text("size,w\n3,1\n1,2\n", &o, &t), DL_OK);
    assert_string_equal(t.features[0], "size=1");
    expect_tensor(t.x, 2, SHAPE(2, 3), VALUES(0, 1, 1, 1, 0, 2), 0);
    dl_csv_table_free(&t);
}

static void missing_cells_by_policy(void **state)
{
    const char *text = "a,b\n1,\n3,NA\n?,4\n5,6\n";
    dl_csv_options o;
    dl_csv_defaults(&o);
    dl_csv_table t;
    assert_int_equal(read_text(text, &o, &t), DL_ERR_ARGUMENT);
    expect_error("t.csv:2:2: missing value (column 'b')");
    o.missing = DL_MISSING_ZERO;
    assert_int_equal(read_text(text, &o, &t), DL_OK);
    expect_tensor(t.x, 2, SHAPE(4, 2), VALUES(1, 0, 3, 0, 0, 4, 5, 6), 0);
    dl_csv_table_free(&t);
    o.missing = DL_MISSING_MEAN;
    assert_int_equal(read_text(text, &o, &t), DL_OK);
    expect_tensor(t.x, 2, SHAPE(4, 2), VALUES(1, 5, 3, 5, 3, 4, 5, 6), 1e-6f);
    dl_csv_table_free(&t);
    o.missing = DL_MISSING_DROP;
    assert_int_equal(read_text(text, &o, &t), DL_OK);
    expect_tensor(t.x, 2, SHAPE(1, 2), VALUES(5, 6), 0);
    assert_int_equal(t.dropped, 3);
    dl_csv_table_free(&t);
    o = with_target("b");
    o.missing = DL_MISSING_MEAN;
    assert_int_equal(read_text(text, &o, &t), DL_ERR_ARGUMENT);
    expect_error("t.csv:2:2: missing target value (column 'b'; missing = \"drop\"");
}

static void separators_and_spaces(void **state)
{
    dl_csv_options o;
    dl_csv_defaults(&o);
    o.sep = ';';
    dl_csv_table t;
    assert_int_equal(read_text("a;b\n 1.5 ;\t-2\n", &o, &t), DL_OK);
    expect_tensor(t.x, 2, SHAPE(1, 2), VALUES(1.5f, -2), 0);
    dl_csv_table_free(&t);
    o.sep = '\t';
    assert_int_equal(read_text("a\tb\n1,5\t2\n", &o, &t), DL_ERR_ARGUMENT);
    expect_error("t.csv:2:1: expected a number, got \"1,5\" (column 'a')");
}

static void numbers_parse_exactly_in_any_locale(void **state)
{
    static const struct {
        const char *text;
        int ok;
        float value;
    } cases[] = {
        {"1e-3", 1, 1e-3f}, {"  2.5 ", 1, 2.5f}, {"+7", 1, 7}, {".5", 1, 0.5f},
        {"5.", 1, 5}, {"-0.1", 1, -0.1f}, {"123456789012345678901", 1, 1.2345679e20f},
        {"0.1234567890123456789", 1, 0.12345679f}, {"3.4028235e38", 1, 3.4028235e38f},
        {"1e-50", 1, 0}, {"1e39", -1, 0}, {"-1e39", -1, 0}, {"1e", 0, 0}, {"abc", 0, 0},
        {"0x10", 0, 0}, {"1 2", 0, 0}, {"", 0, 0}, {"-", 0, 0}, {"inf", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        float v = 0;
        int ok = dl_parse_float(cases[i].text, strlen(cases[i].text), &v);
        if (ok != cases[i].ok || (ok == 1 && v != cases[i].value))
            fail_msg("'%s': got %d %.9g, want %d %.9g", cases[i].text, ok, (double)v,
                     cases[i].ok, (double)cases[i].value);
    }
}

/* Writes text gzip-compressed to a temporary file; returns its path. */
static char *gzip_file(const char *text)
{
    char *path = strdup("/tmp/dl_test_csv_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    gzFile gz = gzdopen(fd, "wb");
    gzputs(gz, text);
    gzclose(gz);
    return path;
}

static void reads_files_and_gzip(void **state)
{
    char *path = gzip_file("a,y\n1,cat\n2,dog\n");
    dl_csv_options o = with_target("y");
    dl_csv_table t;
    assert_int_equal(dl_csv_read("csv", path, &o, &t), DL_OK);
    expect_tensor(t.y, 1, SHAPE(2), VALUES(1, 2), 0);
    dl_csv_table_free(&t);
    unlink(path);
    free(path);
}

/* Every malformed input is an error naming the file and the place. */
static void malformed_inputs_name_the_place(void **state)
{
    static const struct {
        const char *text;
        const char *target;
        const char *message;
    } cases[] = {
        {"a,b\n1,2\n3\n", NULL, "t.csv:3: expected 2 fields (as in the header), got 1"},
        {"a,b\n1,2,3\n", NULL, "t.csv:2: expected 2 fields (as in the header), got 3"},
        {"a,b\n1,abc\n", NULL, "t.csv:2:2: expected a number, got \"abc\" (column 'b')"},
        {"a\n1e39\n", NULL, "t.csv:2:1: expected a number in float32's range, got \"1e39\""},
        {"", NULL, "t.csv: the file is empty"},
        {"\n\r\n\n", NULL, "t.csv: the file is empty"},
        {"a,b\n", NULL, "t.csv: no data rows after the header"},
        {"a,b\n\"1,2\n", NULL, "t.csv:2:1: a quoted field that never ends"},
        {"a,b\n\"1\"x,2\n", NULL, "t.csv:2:1: 'x' after the closing quote"},
        {"a,b\n1,2\n", "c", "bad argument #2 to 'csv' (option 'target': no column 'c' in "
                            "'t.csv'; its columns are a, b)"},
        {"a,b\n1,2\n", "3", "no column '3'"},
        {"a,b\n1,x\n\"2\",y\n", "1", "t.csv:2:2: expected a number, got \"x\" (column 'b')"},
        {"a,b\n1,\x01\x02\n", NULL, "t.csv:2:2: expected a number, got \"??\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dl_csv_options o = with_target(cases[i].target);
        dl_csv_table t;
        dl_status status = read_text(cases[i].text, &o, &t);
        if (status == DL_OK)
            fail_msg("case %zu: no error, want \"%s\"", i, cases[i].message);
        expect_error(cases[i].message);
        assert_null(t.x);
    }
    static const char garbage[] = "\x7f" "ELF\x02\x01\x01\0\0\0\x03\0>\0";
    dl_csv_table t;
    assert_int_equal(read_bytes(garbage, sizeof garbage - 1, NULL, &t), DL_ERR_ARGUMENT);
    expect_error("t.csv:1:1: a NUL byte: this is not a text file");
    dl_csv_options o;
    dl_csv_defaults(&o);
    o.sep = '"';
    assert_int_equal(read_text("a\n1\n", &o, &t), DL_ERR_ARGUMENT);
    expect_error("bad argument #2 to 'csv' (option 'sep' cannot be");
    assert_int_equal(dl_csv_read("csv", "/nonexistent/x.csv", &o, &t), DL_ERR_IO);
    expect_error("bad argument #1 to 'csv' (cannot open '/nonexistent/x.csv': No such file");
    assert_int_equal(dl_csv_read("csv", "/tmp", &o, &t), DL_ERR_IO);
    expect_error("cannot open '/tmp': Is a directory");
}

static void long_records_are_refused(void **state)
{
    size_t n = DL_CSV_MAX_RECORD + 16;
    char *text = malloc(n + 1);
    memset(text, 'a', n);
    text[n] = '\0';
    dl_csv_table t;
    assert_int_equal(read_text(text, NULL, &t), DL_ERR_ARGUMENT);
    expect_error("t.csv:1: a record longer than 16 MiB");
    free(text);
}

static void nothing_leaks(void **state)
{
    assert_int_equal(dl_memory_in_use(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4180_quotes_crlf_bom_and_blank_lines),
        cmocka_unit_test(quoted_line_breaks_keep_line_numbers),
        cmocka_unit_test(string_target_becomes_sorted_classes),
        cmocka_unit_test(target_by_number_and_numeric_targets),
        cmocka_unit_test(numeric_classes_sort_numerically),
        cmocka_unit_test(fixed_classes_keep_their_order),
        cmocka_unit_test(one_hot_auto_and_forced),
        cmocka_unit_test(missing_cells_by_policy),
        cmocka_unit_test(separators_and_spaces),
        cmocka_unit_test(numbers_parse_exactly_in_any_locale),
        cmocka_unit_test(reads_files_and_gzip),
        cmocka_unit_test(malformed_inputs_name_the_place),
        cmocka_unit_test(long_records_are_refused),
        cmocka_unit_test(nothing_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
