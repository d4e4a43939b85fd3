/*
 * fuzz_safetensors.c -- libFuzzer target of the safetensors reader
 * (core/io/safetensors.c): the input is the file.
 *
 * Every tensor the header accepts is read. The reader has checked that
 * each tensor's bytes lie inside the input, so a tensor costs at most four
 * times its share of the input (F32 from 1-byte types: U8, I8, BOOL); the
 * bound below only keeps the fuzzer's memory small.
 */
#include <string.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dl_safetensors *f;
    if (dl_safetensors_open_memory("fuzz.safetensors", data, size, &f) != DL_OK)
        return 0;
    for (int i = 0; i < dl_safetensors_count(f); i++) {
        dl_tensor *t;
        if (dl_safetensors_tensor(f, i)->numel <= (1 << 24) &&
            dl_safetensors_read(f, i, &t) == DL_OK)
            dl_release(t);
    }
    size_t text = 0;                /* touches every metadata string */
    for (int i = 0; i < dl_safetensors_metadata_count(f); i++)
        text += strlen(dl_safetensors_metadata_key(f, i)) +
                strlen(dl_safetensors_metadata_value(f, i));
    volatile size_t sink = text;
    (void)sink;
    dl_safetensors_close(f);
    return 0;
}
