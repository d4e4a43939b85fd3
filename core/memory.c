/*
 * memory.c -- tensor storage and the size-keyed buffer cache.
 *
 * A training step allocates the same sizes again and again (activations,
 * gradients). Freed buffers are kept on a free list keyed by their exact
 * byte size, so the next step gets them back without calling malloc. The
 * cache holds at most DL_CACHE_LIMIT bytes; past that, buffers go back to
 * the system. Buffers are 64-byte aligned (a cache line, and AVX-512 width).
 *
 * The core allocates only from the thread that calls it (OpenMP loops never
 * allocate), so no lock is needed.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "internal.h"

#define DL_ALIGN 64
#define DL_CACHE_LIMIT ((size_t)1 << 30)
#define DL_CACHE_BUCKETS 256            /* a power of two */
#define DL_MAX_BYTES ((size_t)1 << 40)  /* larger requests are refused */

typedef struct cached_block {
    struct cached_block *next;
} cached_block;

typedef struct {
    size_t bytes;            /* 0: empty bucket */
    cached_block *head;
} bucket;

static bucket cache[DL_CACHE_BUCKETS];
static size_t bytes_cached;
static size_t bytes_in_use;

/* Bucket holding buffers of exactly `bytes` (open addressing). With
 * `create`, an empty bucket, or one whose list ran dry, is claimed for this
 * size when none holds it yet. NULL when there is none. */
static bucket *bucket_for(size_t bytes, bool create)
{
    size_t h = (bytes / DL_ALIGN) * 2654435761u;
    bucket *reusable = NULL;
    for (size_t i = 0; i < DL_CACHE_BUCKETS; i++) {
        bucket *b = &cache[(h + i) & (DL_CACHE_BUCKETS - 1)];
        if (b->bytes == bytes)
            return b;
        if (!reusable && b->head == NULL)
            reusable = b;
        if (b->bytes == 0)
            break;
    }
    if (create && reusable) {
        reusable->bytes = bytes;
        return reusable;
    }
    return NULL;
}

static size_t rounded_bytes(int64_t numel)
{
    size_t bytes = (size_t)(numel > 0 ? numel : 1) * sizeof(float);
    return (bytes + DL_ALIGN - 1) / DL_ALIGN * DL_ALIGN;
}

static float *buffer_take(size_t bytes)
{
    bucket *b = bucket_for(bytes, false);
    if (b && b->head) {
        cached_block *blk = b->head;
        b->head = blk->next;
        bytes_cached -= bytes;
        return (float *)blk;
    }
    return aligned_alloc(DL_ALIGN, bytes);
}

static void buffer_give_back(float *data, size_t bytes)
{
    if (bytes_cached + bytes <= DL_CACHE_LIMIT) {
        bucket *b = bucket_for(bytes, true);
        if (b) {
            cached_block *blk = (cached_block *)data;
            blk->next = b->head;
            b->head = blk;
            bytes_cached += bytes;
            return;
        }
    }
    free(data);
}

/* ---- record pools ---- */

#define DL_POOL_LIMIT 4096       /* records kept per kind */

typedef struct pooled_record {
    struct pooled_record *next;
} pooled_record;

static struct {
    pooled_record *head;
    int count;
} pools[DL_POOL_COUNT];

static const size_t record_size[DL_POOL_COUNT] = {
    [DL_POOL_TENSOR] = sizeof(dl_tensor),
    [DL_POOL_STORAGE] = sizeof(dl_storage),
    [DL_POOL_NODE] = sizeof(dl_node),
};

void *dl_pool_take(dl_pool_kind kind)
{
    pooled_record *r = pools[kind].head;
    if (!r)
        return calloc(1, record_size[kind]);
    pools[kind].head = r->next;
    pools[kind].count--;
    memset(r, 0, record_size[kind]);
    return r;
}

void dl_pool_give(dl_pool_kind kind, void *record)
{
    if (pools[kind].count >= DL_POOL_LIMIT) {
        free(record);
        return;
    }
    pooled_record *r = record;
    r->next = pools[kind].head;
    pools[kind].head = r;
    pools[kind].count++;
}

/* ---- storage ---- */

dl_storage *dl_storage_new(const char *fn, int64_t numel)
{
    if (numel < 0 || (uint64_t)numel > DL_MAX_BYTES / sizeof(float)) {
        dl_fail(DL_ERR_MEMORY, "%s: cannot allocate %lld elements (more than 1 TiB)",
                fn, (long long)numel);
        return NULL;
    }
    size_t bytes = rounded_bytes(numel);
    dl_storage *s = dl_pool_take(DL_POOL_STORAGE);
    float *data = s ? buffer_take(bytes) : NULL;
    if (!data) {
        if (s)
            dl_pool_give(DL_POOL_STORAGE, s);
        dl_fail(DL_ERR_MEMORY, "%s: out of memory allocating %.1f MB",
                fn, (double)bytes / 1e6);
        return NULL;
    }
    s->data = data;
    s->numel = numel;
    s->refcount = 1;
    s->version = 0;
    bytes_in_use += bytes;
    return s;
}

void dl_storage_release(dl_storage *s)
{
    if (!s || --s->refcount > 0)
        return;
    size_t bytes = rounded_bytes(s->numel);
    bytes_in_use -= bytes;
    buffer_give_back(s->data, bytes);
    dl_pool_give(DL_POOL_STORAGE, s);
}

int64_t dl_round_floats(int64_t n)
{
    int64_t line = DL_ALIGN / (int64_t)sizeof(float);
    return (n + line - 1) / line * line;
}

dl_status dl_thread_scratch(const char *fn, int64_t each, dl_tensor **scratch, int64_t *stride)
{
    *stride = dl_round_floats(each);
    int64_t floats = omp_get_max_threads() * *stride;
    return dl_empty(fn, 1, &floats, scratch);
}

size_t dl_memory_in_use(void)
{
    return bytes_in_use;
}

size_t dl_memory_cached(void)
{
    return bytes_cached;
}

void dl_cache_clear(void)
{
    for (size_t i = 0; i < DL_CACHE_BUCKETS; i++) {
        while (cache[i].head) {
            cached_block *blk = cache[i].head;
            cache[i].head = blk->next;
            free(blk);
        }
        cache[i].bytes = 0;
    }
    bytes_cached = 0;
}
