/*
 * safetensors.h -- the safetensors file format: a reader that checks a
 * file completely before it allocates anything for its tensors, and a
 * writer that never leaves a half-written file behind.
 *
 * The format (https://github.com/huggingface/safetensors):
 *     8 bytes   N, the header length, unsigned little-endian
 *     N bytes   a JSON object, padded with spaces to a multiple of 8:
 *               {"__metadata__": {"key": "value", ...},
 *                "name": {"dtype": "F32", "shape": [2, 3],
 *                         "data_offsets": [begin, end]}, ...}
 *     the data  every tensor's elements, row-major, little-endian, at
 *               [begin, end) counted from the first byte after the header
 * The data offsets must tile the data exactly, in some order, with no gap
 * and no overlap, as the reference implementation requires.
 *
 * JSON is read and written with cJSON. Errors follow the core's rules
 * (dl.h): a dl_status and a message naming the file, and the tensor when
 * one is at fault:
 *     model.safetensors: tensor '0.weight': shape (10, 784) of F32 needs
 *     31360 bytes, its data_offsets [0, 100] hold 100
 */
#ifndef DL_SAFETENSORS_H
#define DL_SAFETENSORS_H

#include "dl.h"

/* Headers longer than this are refused, as the reference does. */
#define DL_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

/* Element types of the format, in the reference's spelling ("F32"). */
typedef enum {
    DL_ST_BOOL, DL_ST_U8, DL_ST_I8, DL_ST_F8_E5M2, DL_ST_F8_E4M3, DL_ST_I16,
    DL_ST_U16, DL_ST_F16, DL_ST_BF16, DL_ST_I32, DL_ST_U32, DL_ST_F32, DL_ST_F64,
    DL_ST_I64, DL_ST_U64, DL_ST_DTYPE_COUNT
} dl_st_dtype;

/* One tensor of a file, as its header describes it. */
typedef struct {
    char *name;
    dl_st_dtype dtype;
    int ndim;
    int64_t *shape;            /* ndim sizes */
    int64_t numel;
    uint64_t begin, end;       /* byte range in the data section */
} dl_st_tensor;

/* An open file whose header has been checked. */
typedef struct dl_safetensors dl_safetensors;

/* Opens the file at `path` and checks its header against the file (fn
 * names the caller: "bad argument #1 to 'fn' (cannot open 'path': ...)").
 * Errors: the file is shorter than 8 bytes; a header length past the end
 * of the file or above DL_ST_MAX_HEADER; a header that is not UTF-8, not
 * JSON, not an object, or holds more than 2^21 JSON values; __metadata__
 * that is not an object of strings; a tensor entry without a known dtype,
 * a shape of whole numbers, or two data_offsets; a name given twice; a
 * shape whose size overflows or disagrees with its offsets; offsets that
 * overlap, leave a gap, or pass the end of the data; data after the last
 * tensor. Nothing is read of the tensors' data. */
dl_status dl_safetensors_open(const char *fn, const char *path, dl_safetensors **out);

/* As dl_safetensors_open, over `size` bytes at `data` (not copied: keep
 * them alive until dl_safetensors_close); `name` stands for the file. */
dl_status dl_safetensors_open_memory(const char *name, const void *data, size_t size,
                                     dl_safetensors **out);

/* The file's tensors, sorted by their place in the data. */
int dl_safetensors_count(const dl_safetensors *f);
const dl_st_tensor *dl_safetensors_tensor(const dl_safetensors *f, int i);

/* The __metadata__ entries (0 when there is none), in header order. */
int dl_safetensors_metadata_count(const dl_safetensors *f);
const char *dl_safetensors_metadata_key(const dl_safetensors *f, int i);
const char *dl_safetensors_metadata_value(const dl_safetensors *f, int i);

/* Reads tensor i as a float32 tensor of its shape. F32, F16, BF16, F64,
 * the integer types and BOOL are converted (F64 and large integers round
 * to the nearest float). Errors: an 8-bit float dtype; more dimensions
 * than DL_MAX_DIM; a read error or a file that shrank since it was
 * opened. */
dl_status dl_safetensors_read(dl_safetensors *f, int i, dl_tensor **out);

/* Closes the file and frees everything. NULL is ignored. */
void dl_safetensors_close(dl_safetensors *f);

/* The reference's name of a dtype ("F32"). */
const char *dl_safetensors_dtype_name(dl_st_dtype dtype);

/* A tensor to write: stored as F32, or as I64 (its values rounded to the
 * nearest integer; PyTorch keeps counters such as BatchNorm's
 * num_batches_tracked in int64). */
typedef struct {
    const char *name;
    const dl_tensor *tensor;
    bool as_int64;
} dl_st_entry;

/* Writes the n entries and the metadata (nmeta key/value strings) to
 * `path` as the reference writer does: compact JSON, __metadata__ first,
 * header padded with spaces to a multiple of 8, 8-byte types before 4-byte
 * ones (otherwise in the given order). The bytes go to a temporary file in
 * the same directory, which is flushed to disk and then renamed over
 * `path`: an existing file is replaced whole or not at all. Names and
 * metadata must be UTF-8. Errors name fn, and path as its argument argn:
 * a name given twice, "__metadata__", or not UTF-8; a tensor of more than
 * 2^53 bytes; a header over DL_ST_MAX_HEADER; the directory cannot be
 * written; a write fails (the disk is full). */
dl_status dl_safetensors_write(const char *fn, int argn, const char *path, int n,
                               const dl_st_entry *entries, int nmeta,
                               const char *const *meta_keys,
                               const char *const *meta_values);

/* The byte length of the longest prefix of s[0..n) that is valid UTF-8
 * (n when all of it is). */
size_t dl_utf8_valid_prefix(const char *s, size_t n);

#endif
