/*
 * memory.c -- tensor storage and the size-keyed buffer cache.
 *
 * A training step allocates the same sizes again and again (activations,
 * gradients). Freed buffers are kept on a free list keyed by their exact
 * byte size, so the next step gets them back without calling malloc.
 * Buffers are 64-byte aligned (a cache line, and AVX-512 width).
 *
 * The cache gives memory back:
 *   - it holds at most as many bytes as are live (at least CACHE_FLOOR, at
 *     most CACHE_CEILING or an eighth of the machine's memory): when tensors
 *     die, the buffers used longest ago are freed until it fits again;
 *   - a size not asked for during STALE_TICKS allocations is freed (a sweep
 *     every SWEEP_TICKS allocations);
 *   - an allocation that fails flushes the whole cache and tries again
 *     before reporting out of memory;
 *   - dl_cache_clear() empties it, and asks malloc to return free pages.
 *
 * The core allocates only from the thread that calls it (OpenMP loops never
 * allocate), so no lock is needed.
 */
#include <malloc.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autograd.h"
#include "internal.h"

#define DL_ALIGN 64
#define CACHE_FLOOR ((size_t)64 << 20)      /* kept even with nothing live */
#define CACHE_CEILING ((size_t)1 << 30)     /* never more (nor over RAM / 8) */
#define STALE_TICKS 16384                   /* allocations a size may go unused */
#define SWEEP_TICKS 4096                    /* allocations between sweeps */
#define DL_CACHE_BUCKETS 256            /* a power of two */
#define DL_MAX_BYTES ((size_t)1 << 40)  /* larger requests are refused */

typedef struct cached_block {
    struct cached_block *next;
} cached_block;

typedef struct {
    size_t bytes;            /* 0: empty bucket */
    cached_block *head;
    uint64_t last_use;       /* tick of the last take or give back */
} bucket;

static bucket cache[DL_CACHE_BUCKETS];
static size_t bytes_cached;
static size_t bytes_in_use;
static size_t bytes_peak;
static uint64_t tick;                   /* allocations so far */

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

/* The most the cache may hold now: the live bytes, within its bounds. */
static size_t cache_limit(void)
{
    static size_t ceiling;
    if (ceiling == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        size_t machine = pages > 0 && page > 0 ? (size_t)pages * (size_t)page / 8 : 0;
        ceiling = machine > 0 && machine < CACHE_CEILING ? machine : CACHE_CEILING;
        if (ceiling < CACHE_FLOOR)
            ceiling = CACHE_FLOOR;
    }
    return bytes_in_use < CACHE_FLOOR ? CACHE_FLOOR
           : bytes_in_use > ceiling ? ceiling : bytes_in_use;
}

/* Frees one buffer of bucket b. */
static void free_one(bucket *b)
{
    cached_block *blk = b->head;
    b->head = blk->next;
    bytes_cached -= b->bytes;
    free(blk);
}

/* Frees the buffers used longest ago until `room` more bytes fit. */
static void make_room(size_t room)
{
    size_t limit = cache_limit();
    while (bytes_cached > 0 && bytes_cached + room > limit) {
        bucket *oldest = NULL;
        for (size_t i = 0; i < DL_CACHE_BUCKETS; i++)
            if (cache[i].head && (!oldest || cache[i].last_use < oldest->last_use))
                oldest = &cache[i];
        free_one(oldest);
    }
}

/* Frees every buffer of the sizes not asked for in STALE_TICKS allocations. */
static void sweep_stale(void)
{
    for (size_t i = 0; i < DL_CACHE_BUCKETS; i++)
        while (cache[i].head && cache[i].last_use + STALE_TICKS < tick)
            free_one(&cache[i]);
}

static float *buffer_take(size_t bytes)
{
    static bool malloc_set;
    if (!malloc_set) {
        /* Buffers of a MiB or more are mapped on their own, so that freeing
         * one gives its pages back. glibc's default moves this threshold up
         * to the largest block freed (up to 32 MiB), after which such
         * buffers come from its heap and stay in the process once freed:
         * 600 freed 4 MiB tensors left 1 GB resident. The cache above
         * spares the mapping cost for sizes in use. */
        mallopt(M_MMAP_THRESHOLD, 1 << 20);
        malloc_set = true;
    }
    if (++tick % SWEEP_TICKS == 0)
        sweep_stale();
    bucket *b = bucket_for(bytes, false);
    if (b && b->head) {
        cached_block *blk = b->head;
        b->head = blk->next;
        b->last_use = tick;
        bytes_cached -= bytes;
        return (float *)blk;
    }
    if (b)
        b->last_use = tick;
    float *data = aligned_alloc(DL_ALIGN, bytes);
    if (data == NULL && bytes_cached > 0) {
        dl_cache_clear();       /* what the cache holds may be what is missing */
        data = aligned_alloc(DL_ALIGN, bytes);
    }
    return data;
}

static void buffer_give_back(float *data, size_t bytes)
{
    bool fits = bytes <= cache_limit();
    make_room(fits ? bytes : 0);    /* the limit may have fallen with the live bytes */
    if (fits) {
        bucket *b = bucket_for(bytes, true);
        if (b) {
            cached_block *blk = (cached_block *)data;
            blk->next = b->head;
            b->head = blk;
            b->last_use = tick;
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
    if (bytes_in_use > bytes_peak)
        bytes_peak = bytes_in_use;
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

size_t dl_memory_peak(void)
{
    return bytes_peak;
}

void dl_memory_reset_peak(void)
{
    bytes_peak = bytes_in_use;
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
    malloc_trim(0);             /* free pages inside malloc's heap go back too */
}
