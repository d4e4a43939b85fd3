/*
 * internal.h -- helpers shared by the core's own files; not part of dl.h.
 */
#ifndef DL_INTERNAL_H
#define DL_INTERNAL_H

#include "dl.h"
#include "multiversion.h"

/* Elementwise loops go parallel (OpenMP) from this many elements on; below
 * it a thread team costs more than it saves. */
#define DL_PARALLEL_THRESHOLD 32768

/* ---- small records (memory.c) ---- */

/* Tensor, storage and graph-node records are recycled through free lists:
 * a training step creates and drops thousands of them, and malloc/free
 * for each was a fifth of a small operation's cost. */
typedef enum { DL_POOL_TENSOR, DL_POOL_STORAGE, DL_POOL_NODE, DL_POOL_COUNT } dl_pool_kind;

/* A zeroed record of the kind; NULL when out of memory. */
void *dl_pool_take(dl_pool_kind kind);

/* Returns a record to its free list (or to the system when the list is full). */
void dl_pool_give(dl_pool_kind kind, void *record);

/* ---- storage (memory.c) ---- */

/* A storage of numel floats with refcount 1, data from the buffer cache.
 * NULL (with a message naming fn) when the allocation fails. */
dl_storage *dl_storage_new(const char *fn, int64_t numel);

/* Drops one reference; returns data to the cache at zero. */
void dl_storage_release(dl_storage *s);

/* n floats rounded up to whole 64-byte lines. */
int64_t dl_round_floats(int64_t n);

/* Scratch for the threads of a parallel region: a tensor holding, for each
 * of omp_get_max_threads() threads, `each` floats from a 64-byte boundary,
 * *stride floats apart. Errors name fn. */
dl_status dl_thread_scratch(const char *fn, int64_t each, dl_tensor **scratch, int64_t *stride);

/* ---- tensor records (tensor.c) ---- */

/* A new tensor record viewing `storage` (which gains a reference) with the
 * given geometry; NULL when out of memory. */
dl_tensor *dl_tensor_view_of(dl_storage *storage, int ndim, const int64_t *shape,
                             const int64_t *stride, int64_t offset);

/* Contiguous strides for shape, written to stride. */
void dl_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);

/* a * b for sizes (>= 0), saturating at INT64_MAX instead of overflowing.
 * Every product of sizes goes through it: a product that large only
 * arises in an empty tensor (a 0 beside huge sizes, which creation lets
 * through), whose elements are never addressed. */
static inline int64_t dl_size_mul(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

/* Product of sizes (1 for ndim 0). */
int64_t dl_shape_numel(int ndim, const int64_t *shape);

/* Writes "(2, 3)" for a shape. */
void dl_format_shape(int ndim, const int64_t *shape, char *buf, size_t size);

/* Checks that dim is in 0..ndim-1 (or 0..ndim when `inclusive`); on failure
 * records "bad argument #argn to 'fn' (expected a dim in 1..N, got D)",
 * with dims shown 1-based as users write them. */
dl_status dl_check_dim(const char *fn, int argn, int dim, int ndim, bool inclusive);

/* ---- strided iteration (iterate.c) ---- */

#define DL_WALK_MAX_OPERANDS 5

/* Up to five operands walked together over one shape. Each operand has a
 * base pointer and a stride per dim (0 broadcasts). */
typedef struct {
    int ndim;
    int64_t shape[DL_MAX_DIM];
    int nops;
    float *base[DL_WALK_MAX_OPERANDS];
    int64_t stride[DL_WALK_MAX_OPERANDS][DL_MAX_DIM];
} dl_walk;

/* Called once per innermost row: n elements, each operand's pointer to the
 * row's first element and its stride along the row. */
typedef void (*dl_row_fn)(int64_t n, float *const *ptr, const int64_t *stride,
                          const void *ctx);

/* A walk over `shape` of the given operands (each of that same shape, as a
 * broadcast operand is after dl_expand), coalesced and ready to run. */
void dl_walk_setup(dl_walk *w, int ndim, const int64_t *shape, int nops,
                   const dl_tensor *const *ops);

/* Merges dims that are laid out consecutively in every operand, so that
 * contiguous tensors become one long row. */
void dl_walk_coalesce(dl_walk *w);

/* Calls row() for every innermost row of the walk (after coalescing), in
 * parallel across rows when the walk is large. */
void dl_walk_rows(dl_walk *w, dl_row_fn row, const void *ctx);

/* A row function copying operand 1 into operand 0 (tensor.c). */
void dl_copy_row(int64_t n, float *const *ptr, const int64_t *stride, const void *ctx);

/* ---- in-place writes (inplace.c) ---- */

/* The one way the core changes the elements of an existing tensor: checks
 * that `fn` may write into t (dl_check_inplace), walks row() over t and src
 * (t's shape, as after dl_expand; NULL for no source) and bumps t's
 * version, so that a backward whose saved tensor this was refuses to run. */
dl_status dl_write_rows(const char *fn, dl_tensor *t, const dl_tensor *src, dl_row_fn row,
                        const void *ctx);

#endif
