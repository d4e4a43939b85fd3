/*
 * safetensors.c -- reading safetensors files (the format: safetensors.h).
 *
 * Opening reads only the 8-byte length and the header, and checks every
 * claim of the header against the file before anything is allocated for
 * the tensors: a hostile file costs at most its header (<= 100 MB, and at
 * most 2^21 JSON values so cJSON's tree stays small). The data of a tensor
 * is read when asked for, converted to float32.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "io_internal.h"
#include "safetensors.h"

#define MAX_JSON_VALUES (1 << 21)
#define MAX_NDIM 64                          /* shapes longer are refused */
#define MAX_WHOLE 9007199254740992.0         /* 2^53: whole numbers a double holds */
#define CHUNK 65536

struct dl_safetensors {
    char *name;
    int fd;                        /* -1 when reading memory */
    const unsigned char *mem;
    uint64_t size;                 /* bytes of the whole file */
    uint64_t data_start;           /* 8 + header length */
    int ntensors;
    dl_st_tensor *tensors;
    int nmeta;
    char **meta;                   /* key 0, value 0, key 1, ... */
};

static const struct {
    const char *name;
    int size;
} dtypes[DL_ST_DTYPE_COUNT] = {
    [DL_ST_BOOL] = {"BOOL", 1}, [DL_ST_U8] = {"U8", 1}, [DL_ST_I8] = {"I8", 1},
    [DL_ST_F8_E5M2] = {"F8_E5M2", 1}, [DL_ST_F8_E4M3] = {"F8_E4M3", 1},
    [DL_ST_I16] = {"I16", 2}, [DL_ST_U16] = {"U16", 2}, [DL_ST_F16] = {"F16", 2},
    [DL_ST_BF16] = {"BF16", 2}, [DL_ST_I32] = {"I32", 4}, [DL_ST_U32] = {"U32", 4},
    [DL_ST_F32] = {"F32", 4}, [DL_ST_F64] = {"F64", 8}, [DL_ST_I64] = {"I64", 8},
    [DL_ST_U64] = {"U64", 8},
};

const char *dl_safetensors_dtype_name(dl_st_dtype dtype)
{
    return dtypes[dtype].name;
}

size_t dl_utf8_valid_prefix(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        int more;
        uint32_t code, least;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            more = 1, code = c & 0x1F, least = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2, code = c & 0x0F, least = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3, code = c & 0x07, least = 0x10000;
        } else {
            return i;
        }
        if (n - i <= (size_t)more)
            return i;
        for (int k = 1; k <= more; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            code = code << 6 | (s[i + k] & 0x3F);
        }
        if (code < least || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
            return i;
        i += (size_t)more + 1;
    }
    return n;
}

/* ---- reading bytes ----------------------------------------------------------- */

/* Reads n bytes at `offset` of the file into buf. */
static dl_status read_at(dl_safetensors *f, uint64_t offset, void *buf, size_t n)
{
    if (f->fd < 0) {
        if (offset > f->size || n > f->size - offset)
            return dl_fail(DL_ERR_IO, "%s: truncated at byte %llu", f->name,
                           (unsigned long long)f->size);
        memcpy(buf, f->mem + offset, n);
        return DL_OK;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(f->fd, (char *)buf + done, n - done, (off_t)(offset + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return dl_fail(DL_ERR_IO, "%s: read error at byte %llu: %s", f->name,
                           (unsigned long long)(offset + done), strerror(errno));
        if (k == 0)
            return dl_fail(DL_ERR_IO, "%s: truncated at byte %llu (the file shrank after "
                           "it was opened)", f->name, (unsigned long long)(offset + done));
        done += (size_t)k;
    }
    return DL_OK;
}

/* ---- checking the header ---------------------------------------------------- */

/* Checks what cJSON does not: the header is UTF-8, strings hold no control
 * character nor an escaped NUL (cJSON's C strings would cut the name
 * there), and the value count is bounded. */
static dl_status scan_header(const char *name, const char *text, size_t n)
{
    size_t valid = dl_utf8_valid_prefix(text, n);
    if (valid < n)
        return dl_fail(DL_ERR_ARGUMENT, "%s: the header is not UTF-8 (byte %zu of the "
                       "header)", name, valid);
    bool in_string = false;
    uint64_t values = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (in_string) {
            if (c < 0x20)
                return dl_fail(DL_ERR_ARGUMENT, "%s: the header is not valid JSON (a "
                               "control character in a string at byte %zu)", name, i);
            if (c == '\\') {
                if (i + 5 < n && text[i + 1] == 'u' && memcmp(text + i + 2, "0000", 4) == 0)
                    return dl_fail(DL_ERR_ARGUMENT, "%s: a string of the header holds a "
                                   "NUL character (\\u0000 at byte %zu)", name, i);
                i++;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == ',' || c == '[' || c == '{') {
            values++;
        }
    }
    if (values > MAX_JSON_VALUES)
        return dl_fail(DL_ERR_ARGUMENT, "%s: the header holds more than %d JSON values",
                       name, MAX_JSON_VALUES);
    return DL_OK;
}

/* A whole number in 0..2^53 from a JSON value. */
static bool whole_number(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= MAX_WHOLE) || d != floor(d))
        return false;
    *out = (uint64_t)d;
    return true;
}

static int find_dtype(const char *s)
{
    for (int i = 0; i < DL_ST_DTYPE_COUNT; i++)
        if (strcmp(s, dtypes[i].name) == 0)
            return i;
    return -1;
}

/* "(2, 3)" of a shape, cut to fit buf. */
static void shape_text(const int64_t *shape, int ndim, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "",
                                 (long long)shape[d]);
    if (used < size)
        snprintf(buf + used, size - used, "%s)", ndim == 1 ? "," : "");
}

/* Reads one tensor entry `info` named t->name into t. */
static dl_status parse_tensor(const char *file, const cJSON *info, dl_st_tensor *t)
{
    const char *name = t->name;
    if (!cJSON_IsObject(info))
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': expected an object with "
                       "dtype, shape and data_offsets", file, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(info, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(info, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(info, "data_offsets");
    if (!cJSON_IsString(dtype))
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': expected a dtype string",
                       file, name);
    int type = find_dtype(dtype->valuestring);
    if (type < 0)
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': unknown dtype \"%.20s\" "
                       "(expected F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, ...)",
                       file, name, dtype->valuestring);
    t->dtype = (dl_st_dtype)type;
    if (!cJSON_IsArray(shape))
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': expected a shape list",
                       file, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > MAX_NDIM)
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': %d dimensions (at most %d)",
                       file, name, ndim, MAX_NDIM);
    t->shape = malloc(((size_t)ndim + 1) * sizeof *t->shape);
    if (t->shape == NULL)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", file);
    t->ndim = ndim;
    uint64_t numel = 1;
    bool overflow = false;
    int d = 0;
    for (const cJSON *size = shape->child; size != NULL; size = size->next, d++) {
        uint64_t n;
        if (!whole_number(size, &n))
            return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': dimension %d of the shape "
                           "is not a whole number >= 0", file, name, d + 1);
        t->shape[d] = (int64_t)n;
        overflow |= __builtin_mul_overflow(numel, n, &numel);
    }
    uint64_t begin, end, bytes;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !whole_number(offsets->child, &begin) || !whole_number(offsets->child->next, &end))
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': expected data_offsets "
                       "[begin, end] of two whole numbers", file, name);
    char dims[128];
    shape_text(t->shape, ndim, dims, sizeof dims);
    overflow |= __builtin_mul_overflow(numel, (uint64_t)dtypes[type].size, &bytes);
    if (overflow || numel > (uint64_t)INT64_MAX)
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': shape %s has more elements "
                       "than can be counted", file, name, dims);
    if (end < begin)
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': data_offsets [%llu, %llu] "
                       "end before they begin", file, name, (unsigned long long)begin,
                       (unsigned long long)end);
    if (end - begin != bytes)
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': shape %s of %s needs %llu "
                       "bytes, its data_offsets [%llu, %llu] hold %llu", file, name, dims,
                       dtypes[type].name, (unsigned long long)bytes,
                       (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)(end - begin));
    t->numel = (int64_t)numel;
    t->begin = begin;
    t->end = end;
    return DL_OK;
}

static dl_status parse_metadata(dl_safetensors *f, const cJSON *meta)
{
    if (cJSON_IsNull(meta))
        return DL_OK;
    if (!cJSON_IsObject(meta))
        return dl_fail(DL_ERR_ARGUMENT, "%s: __metadata__ is not an object of strings",
                       f->name);
    int n = cJSON_GetArraySize(meta);
    f->meta = calloc(2 * (size_t)n + 1, sizeof *f->meta);
    if (f->meta == NULL)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", f->name);
    for (const cJSON *v = meta->child; v != NULL; v = v->next) {
        if (!cJSON_IsString(v))
            return dl_fail(DL_ERR_ARGUMENT, "%s: __metadata__ entry '%.100s' is not a "
                           "string", f->name, v->string);
        for (int i = 0; i < f->nmeta; i++)
            if (strcmp(f->meta[2 * i], v->string) == 0)
                return dl_fail(DL_ERR_ARGUMENT, "%s: __metadata__ entry '%.100s' appears "
                               "twice", f->name, v->string);
        f->meta[2 * f->nmeta] = strdup(v->string);
        f->meta[2 * f->nmeta + 1] = strdup(v->valuestring);
        f->nmeta++;
        if (f->meta[2 * f->nmeta - 2] == NULL || f->meta[2 * f->nmeta - 1] == NULL)
            return dl_fail(DL_ERR_MEMORY, "%s: out of memory", f->name);
    }
    return DL_OK;
}

static int by_offset(const void *pa, const void *pb)
{
    const dl_st_tensor *a = pa, *b = pb;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    return (a->end > b->end) - (a->end < b->end);
}

/* The tensors must tile the data [0, data_size) exactly. */
static dl_status check_tiling(const dl_safetensors *f, uint64_t data_size)
{
    uint64_t expected = 0;
    for (int i = 0; i < f->ntensors; i++) {
        const dl_st_tensor *t = &f->tensors[i];
        if (t->end > data_size)
            return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': data_offsets [%llu, %llu] "
                           "pass the end of the data (%llu bytes)", f->name, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end,
                           (unsigned long long)data_size);
    }
    for (int i = 0; i < f->ntensors; i++) {
        const dl_st_tensor *t = &f->tensors[i];
        if (t->begin < expected)
            return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': data_offsets [%llu, %llu] "
                           "overlap those of tensor '%.100s'", f->name, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end,
                           f->tensors[i - 1].name);
        if (t->begin > expected)
            return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s': data_offsets [%llu, %llu] "
                           "leave bytes %llu..%llu of the data unused", f->name, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end,
                           (unsigned long long)expected, (unsigned long long)t->begin - 1);
        expected = t->end;
    }
    if (expected < data_size)
        return dl_fail(DL_ERR_ARGUMENT, "%s: %llu bytes of data after the last tensor (the "
                       "header and the file size disagree)", f->name,
                       (unsigned long long)(data_size - expected));
    return DL_OK;
}

/* Reads the header of f (name, fd or mem, size set) and checks it. */
static dl_status parse_file(dl_safetensors *f)
{
    unsigned char head[8];
    if (f->size < 8)
        return dl_fail(DL_ERR_ARGUMENT, "%s: truncated at byte %llu: a safetensors file "
                       "starts with an 8-byte header length", f->name,
                       (unsigned long long)f->size);
    dl_status status = read_at(f, 0, head, 8);
    if (status != DL_OK)
        return status;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | head[i];
    if (n > f->size - 8)
        return dl_fail(DL_ERR_ARGUMENT, "%s: the header length %llu is past the end of the "
                       "file (%llu bytes): truncated, or not a safetensors file", f->name,
                       (unsigned long long)n, (unsigned long long)f->size);
    if (n > DL_ST_MAX_HEADER)
        return dl_fail(DL_ERR_ARGUMENT, "%s: the header length %llu is over the limit of "
                       "%llu bytes", f->name, (unsigned long long)n,
                       (unsigned long long)DL_ST_MAX_HEADER);
    f->data_start = 8 + n;
    char *text = malloc((size_t)n + 1);
    if (text == NULL)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory for a header of %llu bytes",
                       f->name, (unsigned long long)n);
    status = read_at(f, 8, text, (size_t)n);
    text[n] = '\0';
    if (status == DL_OK)
        status = scan_header(f->name, text, (size_t)n);
    cJSON *root = NULL;
    if (status == DL_OK) {
        const char *end = text;
        root = cJSON_ParseWithLengthOpts(text, (size_t)n, &end, false);
        size_t at = (size_t)(end - text);
        while (root != NULL && at < n && strchr(" \t\r\n", text[at]) != NULL)
            at++;
        if (root == NULL || at < n)
            status = dl_fail(DL_ERR_ARGUMENT, "%s: the header is not valid JSON (at byte "
                             "%zu of the header)", f->name, at);
        else if (!cJSON_IsObject(root))
            status = dl_fail(DL_ERR_ARGUMENT, "%s: the header is not a JSON object",
                             f->name);
    }
    dl_strset seen = {0};
    if (status == DL_OK) {
        int count = cJSON_GetArraySize(root);
        f->tensors = calloc((size_t)count + 1, sizeof *f->tensors);
        if (f->tensors == NULL)
            status = dl_fail(DL_ERR_MEMORY, "%s: out of memory", f->name);
        for (const cJSON *e = root->child; e != NULL && status == DL_OK; e = e->next) {
            if (dl_strset_find(&seen, e->string) >= 0) {
                status = dl_fail(DL_ERR_ARGUMENT, "%s: '%.100s' appears twice in the "
                                 "header", f->name, e->string);
            } else if (dl_strset_add(&seen, e->string) < 0) {
                status = dl_fail(DL_ERR_MEMORY, "%s: out of memory", f->name);
            } else if (strcmp(e->string, "__metadata__") == 0) {
                status = parse_metadata(f, e);
            } else {
                dl_st_tensor *t = &f->tensors[f->ntensors++];
                t->name = strdup(e->string);
                status = t->name == NULL ? dl_fail(DL_ERR_MEMORY, "%s: out of memory",
                                                   f->name)
                                         : parse_tensor(f->name, e, t);
            }
        }
    }
    dl_strset_free(&seen);
    cJSON_Delete(root);
    free(text);
    if (status != DL_OK)
        return status;
    qsort(f->tensors, (size_t)f->ntensors, sizeof *f->tensors, by_offset);
    return check_tiling(f, f->size - f->data_start);
}

/* A new file object named `name` (copied). */
static dl_safetensors *new_file(const char *name)
{
    dl_safetensors *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->fd = -1;
    f->name = strdup(name);
    if (f->name == NULL) {
        free(f);
        return NULL;
    }
    return f;
}

dl_status dl_safetensors_open(const char *fn, const char *path, dl_safetensors **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const char *reason = fd < 0 ? strerror(errno) : "not a regular file";
        if (fd >= 0)
            close(fd);
        return dl_fail(DL_ERR_IO, "bad argument #1 to '%s' (cannot open '%s': %s)", fn, path,
                       reason);
    }
    dl_safetensors *f = new_file(path);
    if (f == NULL) {
        close(fd);
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", path);
    }
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    dl_status status = parse_file(f);
    if (status != DL_OK) {
        dl_safetensors_close(f);
        return status;
    }
    *out = f;
    return DL_OK;
}

dl_status dl_safetensors_open_memory(const char *name, const void *data, size_t size,
                                     dl_safetensors **out)
{
    dl_safetensors *f = new_file(name);
    if (f == NULL)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", name);
    f->mem = data;
    f->size = size;
    dl_status status = parse_file(f);
    if (status != DL_OK) {
        dl_safetensors_close(f);
        return status;
    }
    *out = f;
    return DL_OK;
}

int dl_safetensors_count(const dl_safetensors *f)
{
    return f->ntensors;
}

const dl_st_tensor *dl_safetensors_tensor(const dl_safetensors *f, int i)
{
    return &f->tensors[i];
}

int dl_safetensors_metadata_count(const dl_safetensors *f)
{
    return f->nmeta;
}

const char *dl_safetensors_metadata_key(const dl_safetensors *f, int i)
{
    return f->meta[2 * i];
}

const char *dl_safetensors_metadata_value(const dl_safetensors *f, int i)
{
    return f->meta[2 * i + 1];
}

void dl_safetensors_close(dl_safetensors *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    for (int i = 0; i < f->ntensors; i++) {
        free(f->tensors[i].name);
        free(f->tensors[i].shape);
    }
    free(f->tensors);
    for (int i = 0; i < 2 * f->nmeta; i++)
        free(f->meta[i]);
    free(f->meta);
    free(f->name);
    free(f);
}

/* ---- converting elements ------------------------------------------------------ */

static uint64_t load_le(const unsigned char *p, int size)
{
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static float half_to_float(uint16_t h)
{
    int exponent = h >> 10 & 0x1F;
    int mantissa = h & 0x3FF;
    float f;
    if (exponent == 0)
        f = ldexpf((float)mantissa, -24);                 /* zero and subnormals */
    else if (exponent == 31)
        f = mantissa ? NAN : INFINITY;
    else
        f = ldexpf((float)(mantissa | 0x400), exponent - 25);
    return h & 0x8000 ? -f : f;
}

static float bits_to_float(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Converts n elements of `dtype` at p to floats. */
static void convert(dl_st_dtype dtype, const unsigned char *p, size_t n, float *out)
{
    int size = dtypes[dtype].size;
    for (size_t i = 0; i < n; i++, p += size) {
        uint64_t v = load_le(p, size);
        switch (dtype) {
        case DL_ST_BOOL: out[i] = v != 0; break;
        case DL_ST_U8: case DL_ST_U16: case DL_ST_U32: case DL_ST_U64: out[i] = (float)v; break;
        case DL_ST_I8: out[i] = (int8_t)v; break;
        case DL_ST_I16: out[i] = (int16_t)v; break;
        case DL_ST_I32: out[i] = (float)(int32_t)v; break;
        case DL_ST_I64: out[i] = (float)(int64_t)v; break;
        case DL_ST_F16: out[i] = half_to_float((uint16_t)v); break;
        case DL_ST_BF16: out[i] = bits_to_float((uint32_t)v << 16); break;
        case DL_ST_F32: out[i] = bits_to_float((uint32_t)v); break;
        case DL_ST_F64: {
            double d;
            memcpy(&d, &v, sizeof d);
            out[i] = (float)d;
            break;
        }
        default: out[i] = NAN; break;                     /* refused before */
        }
    }
}

dl_status dl_safetensors_read(dl_safetensors *f, int i, dl_tensor **out)
{
    const dl_st_tensor *t = &f->tensors[i];
    if (t->dtype == DL_ST_F8_E5M2 || t->dtype == DL_ST_F8_E4M3)
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s' has dtype %s, which dl cannot "
                       "read (it reads F32, F16, BF16, F64, BOOL and the integer types)",
                       f->name, t->name, dtypes[t->dtype].name);
    if (t->ndim > DL_MAX_DIM)
        return dl_fail(DL_ERR_ARGUMENT, "%s: tensor '%.100s' has %d dimensions, dl tensors "
                       "have at most %d", f->name, t->name, t->ndim, DL_MAX_DIM);
    dl_tensor *result;
    dl_status status = dl_empty("load", t->ndim, t->shape, &result);
    if (status != DL_OK)
        return status;
    float *dst = dl_data(result);
    int size = dtypes[t->dtype].size;
    size_t per_chunk = CHUNK / (size_t)size;
    unsigned char buf[CHUNK];
    uint64_t at = f->data_start + t->begin;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (t->dtype == DL_ST_F32) {                /* the bytes are the floats */
        status = read_at(f, at, dst, (size_t)t->numel * sizeof *dst);
        per_chunk = 0;
    }
#endif
    for (int64_t done = 0; per_chunk > 0 && done < t->numel && status == DL_OK;) {
        size_t n = (size_t)(t->numel - done) < per_chunk ? (size_t)(t->numel - done) : per_chunk;
        status = read_at(f, at, buf, n * (size_t)size);
        if (status == DL_OK)
            convert(t->dtype, buf, n, dst + done);
        at += n * (uint64_t)size;
        done += (int64_t)n;
    }
    if (status != DL_OK) {
        dl_release(result);
        return status;
    }
    *out = result;
    return DL_OK;
}
