/*
 * safetensors_write.c -- writing safetensors files (the format:
 * safetensors.h), atomically: the bytes go to a temporary file next to the
 * target, which is flushed to disk and renamed over it only when complete.
 * A crash or a full disk half-way leaves the old file as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "io_internal.h"
#include "safetensors.h"

#define CHUNK 65536

/* A JSON integer written exactly (cJSON prints numbers with 15 digits). */
static cJSON *json_integer(uint64_t n)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, n);
    return cJSON_CreateRaw(text);
}

/* Adds {"dtype", "shape", "data_offsets"} of entry e at [*offset, ...) to
 * the header, and moves *offset past its data. */
static bool describe(cJSON *header, const dl_st_entry *e, uint64_t *offset)
{
    const dl_tensor *t = e->tensor;
    cJSON *info = cJSON_AddObjectToObject(header, e->name);
    cJSON *shape = cJSON_CreateArray();
    cJSON *offsets = cJSON_CreateArray();
    if (info == NULL || shape == NULL || offsets == NULL) {
        cJSON_Delete(shape);
        cJSON_Delete(offsets);
        return false;
    }
    cJSON_AddItemToObject(info, "dtype", cJSON_CreateString(e->as_int64 ? "I64" : "F32"));
    cJSON_AddItemToObject(info, "shape", shape);
    cJSON_AddItemToObject(info, "data_offsets", offsets);
    for (int d = 0; d < t->ndim; d++)
        cJSON_AddItemToArray(shape, json_integer((uint64_t)t->shape[d]));
    uint64_t end = *offset + (uint64_t)dl_numel(t) * (e->as_int64 ? 8 : 4);
    cJSON_AddItemToArray(offsets, json_integer(*offset));
    cJSON_AddItemToArray(offsets, json_integer(end));
    *offset = end;
    return cJSON_GetArraySize(shape) == t->ndim && cJSON_GetArraySize(offsets) == 2 &&
           cJSON_GetArraySize(info) == 3;
}

/* The names must be UTF-8, distinct, and not the metadata's key. */
static dl_status check_names(const char *fn, int n, const dl_st_entry *entries, int nmeta,
                             const char *const *keys, const char *const *values)
{
    dl_strset seen = {0};
    dl_status status = DL_OK;
    for (int i = 0; i < n && status == DL_OK; i++) {
        const char *name = entries[i].name;
        if (dl_utf8_valid_prefix(name, strlen(name)) < strlen(name))
            status = dl_fail(DL_ERR_ARGUMENT, "bad argument to '%s' (tensor name '%.100s' "
                             "is not UTF-8)", fn, name);
        else if (strcmp(name, "__metadata__") == 0 || dl_strset_find(&seen, name) >= 0)
            status = dl_fail(DL_ERR_ARGUMENT, "bad argument to '%s' (tensor name '%.100s' "
                             "given twice or reserved)", fn, name);
        else if ((double)dl_numel(entries[i].tensor) * 8 > 9007199254740992.0)
            status = dl_fail(DL_ERR_ARGUMENT, "bad argument to '%s' (tensor '%.100s' is too "
                             "large to save)", fn, name);
        else if (dl_strset_add(&seen, name) < 0)
            status = dl_fail(DL_ERR_MEMORY, "'%s': out of memory", fn);
    }
    dl_strset_free(&seen);
    for (int i = 0; i < 2 * nmeta && status == DL_OK; i++) {
        const char *s = i % 2 ? values[i / 2] : keys[i / 2];
        if (dl_utf8_valid_prefix(s, strlen(s)) < strlen(s))
            status = dl_fail(DL_ERR_ARGUMENT, "bad argument to '%s' (metadata %s '%.100s' "
                             "is not UTF-8)", fn, i % 2 ? "value of" : "key", keys[i / 2]);
    }
    return status;
}

/* The header text, padded with spaces to a multiple of 8, with entries
 * in writing order `order`; NULL when out of memory. */
static char *header_text(int n, const dl_st_entry *entries, const int *order, int nmeta,
                         const char *const *keys, const char *const *values, size_t *length)
{
    cJSON *header = cJSON_CreateObject();
    bool ok = header != NULL;
    if (ok && nmeta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(header, "__metadata__");
        ok = meta != NULL;
        for (int i = 0; i < nmeta && ok; i++)
            ok = cJSON_AddStringToObject(meta, keys[i], values[i]) != NULL;
    }
    uint64_t offset = 0;
    for (int i = 0; i < n && ok; i++)
        ok = describe(header, &entries[order[i]], &offset);
    char *json = ok ? cJSON_PrintUnformatted(header) : NULL;
    cJSON_Delete(header);
    if (json == NULL)
        return NULL;
    size_t len = strlen(json);
    size_t padded = (len + 7) / 8 * 8;
    char *text = realloc(json, padded + 1);
    if (text == NULL) {
        free(json);
        return NULL;
    }
    memset(text + len, ' ', padded - len);
    text[padded] = '\0';
    *length = padded;
    return text;
}

/* Writes the elements of t (contiguous) as little-endian F32 or I64. */
static bool write_data(FILE *out, const dl_tensor *t, bool as_int64)
{
    const float *src = dl_data(t);
    int64_t numel = dl_numel(t);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (!as_int64)                              /* the floats are the bytes */
        return fwrite(src, sizeof *src, (size_t)numel, out) == (size_t)numel;
#endif
    int size = as_int64 ? 8 : 4;
    unsigned char buf[CHUNK];
    size_t per_chunk = CHUNK / (size_t)size;
    for (int64_t done = 0; done < numel;) {
        size_t n = (size_t)(numel - done) < per_chunk ? (size_t)(numel - done) : per_chunk;
        for (size_t i = 0; i < n; i++) {
            uint64_t v;
            if (as_int64) {
                v = (uint64_t)(int64_t)llrintf(src[done + (int64_t)i]);
            } else {
                uint32_t bits;
                memcpy(&bits, &src[done + (int64_t)i], sizeof bits);
                v = bits;
            }
            for (int k = 0; k < size; k++)
                buf[i * (size_t)size + (size_t)k] = (unsigned char)(v >> (8 * k));
        }
        if (fwrite(buf, (size_t)size, n, out) != n)
            return false;
        done += (int64_t)n;
    }
    return true;
}

/* Creates a new temporary file next to path; returns its descriptor and
 * name (malloc'd) or -1 with errno set. */
static int create_temporary(const char *path, char **tmp_name)
{
    size_t size = strlen(path) + 48;
    char *name = malloc(size);
    if (name == NULL)
        return -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(name, size, "%s.tmp%ld.%d", path, (long)getpid(), attempt);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp_name = name;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int saved = errno;
    free(name);
    errno = saved;
    return -1;
}

/* Makes the rename itself durable: fsync of the directory holding path. */
static void sync_directory(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

dl_status dl_safetensors_write(const char *fn, int argn, const char *path, int n,
                               const dl_st_entry *entries, int nmeta,
                               const char *const *meta_keys,
                               const char *const *meta_values)
{
    dl_status status = check_names(fn, n, entries, nmeta, meta_keys, meta_values);
    if (status != DL_OK)
        return status;
    int *order = malloc(((size_t)n + 1) * sizeof *order);
    dl_tensor **data = calloc((size_t)n + 1, sizeof *data);
    size_t length = 0;
    char *header = NULL;
    if (order != NULL && data != NULL) {
        int k = 0;
        for (int pass = 0; pass < 2; pass++)        /* 8-byte I64 first, then F32 */
            for (int i = 0; i < n; i++)
                if (entries[i].as_int64 == (pass == 0))
                    order[k++] = i;
        header = header_text(n, entries, order, nmeta, meta_keys, meta_values, &length);
    }
    for (int i = 0; i < n && header != NULL && status == DL_OK; i++)
        status = dl_contiguous(entries[i].tensor, &data[i]);
    if (status == DL_OK && header == NULL)
        status = dl_fail(DL_ERR_MEMORY, "'%s': out of memory", fn);
    if (status == DL_OK && length > DL_ST_MAX_HEADER)     /* readers would refuse it */
        status = dl_fail(DL_ERR_ARGUMENT, "bad argument to '%s' (the header would take %zu "
                         "bytes, over the %llu that readers accept: too much metadata)", fn,
                         length, (unsigned long long)DL_ST_MAX_HEADER);
    char *tmp = NULL;
    FILE *out = NULL;
    if (status == DL_OK) {
        int fd = create_temporary(path, &tmp);
        out = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (out == NULL) {
            status = dl_fail(DL_ERR_IO, "bad argument #%d to '%s' (cannot write '%s': %s)",
                             argn, fn, path, strerror(errno));
            if (fd >= 0)
                close(fd);
        }
    }
    if (status == DL_OK) {
        unsigned char head[8];
        for (int k = 0; k < 8; k++)
            head[k] = (unsigned char)((uint64_t)length >> (8 * k));
        bool ok = fwrite(head, 1, 8, out) == 8 && fwrite(header, 1, length, out) == length;
        for (int i = 0; i < n && ok; i++)
            ok = write_data(out, data[order[i]], entries[order[i]].as_int64);
        ok = ok && fflush(out) == 0 && fsync(fileno(out)) == 0;
        int error = ok ? 0 : errno;
        if (fclose(out) != 0 && ok) {
            ok = false;
            error = errno;
        }
        if (ok && rename(tmp, path) != 0) {
            ok = false;
            error = errno;
        }
        if (!ok) {
            status = dl_fail(DL_ERR_IO, "bad argument #%d to '%s' (cannot write '%s': %s)",
                             argn, fn, path, strerror(error));
            unlink(tmp);
        } else {
            sync_directory(path);
        }
    }
    for (int i = 0; i < n && data != NULL; i++)
        dl_release(data[i]);
    free(data);
    free(order);
    free(header);
    free(tmp);
    return status;
}
