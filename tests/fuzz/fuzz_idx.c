/*
 * fuzz_idx.c -- libFuzzer target of the IDX reader (core/io/idx.c) and the
 * gzip layer of byte sources (core/io/source.c).
 *
 * The input is the file, gzip or plain. Headers that promise more than 16M
 * elements are read only as far as the header check: the reader refuses
 * sizes the input cannot hold before allocating, and that is what is
 * fuzzed; the bound only keeps the fuzzer's memory small.
 */
#include <stdlib.h>

#include "io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dl_source *src;
    if (dl_source_memory("fuzz.idx", data, size, &src) != DL_OK)
        return 0;
    dl_idx_header h;
    if (dl_idx_read_header(src, &h) == DL_OK && h.count <= (1 << 24)) {
        if (h.type == DL_IDX_U8 && (h.count & 1)) {
            uint8_t *bytes = malloc((size_t)h.count + 1);
            dl_idx_read_bytes(src, &h, bytes);
            free(bytes);
        } else {
            float *floats = malloc(((size_t)h.count + 1) * sizeof *floats);
            dl_idx_read_floats(src, &h, floats);
            free(floats);
        }
    }
    dl_source_close(src);
    return 0;
}
