/*
 * fuzz_csv.c -- libFuzzer target of the CSV reader (core/io/csv*.c).
 *
 * The first byte picks the options (separator, header, target, one-hot,
 * missing-cell policy, forced classes), the rest is the file. Any input
 * must give a table or an error message, never a crash or a leak.
 */
#include <stdlib.h>
#include <string.h>

#include "io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t pick = data[0];
    static const char seps[] = {',', ';', '\t', '|'};
    static const char *const targets[] = {NULL, "-1", "1", "species"};
    static const char *const one_hot[] = {"2"};
    dl_csv_options o;
    dl_csv_defaults(&o);
    o.sep = seps[pick & 3];
    o.header = (pick & 4) == 0;
    o.target = targets[(pick >> 3) & 3];
    o.one_hot = (pick & 32) != 0;
    o.missing = (dl_missing)((pick >> 6) & 3);
    if ((pick & 0x24) == 0x24) {
        o.one_hot_columns = one_hot;
        o.n_one_hot_columns = 1;
    }
    o.classes = (pick & 0x11) == 0x11;
    dl_source *src;
    if (dl_source_memory("fuzz.csv", data + 1, size - 1, &src) != DL_OK)
        return 0;
    dl_csv_table t;
    if (dl_csv_read_source("csv", src, &o, &t) == DL_OK) {
        if (t.x->shape[1] != t.nfeatures || (t.y && t.y->shape[0] != t.x->shape[0]))
            abort();
        dl_csv_table_free(&t);
    } else if (dl_error()[0] == '\0') {
        abort();                        /* a failure must explain itself */
    }
    dl_source_close(src);
    return 0;
}
