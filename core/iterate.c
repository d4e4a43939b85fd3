/*
 * iterate.c -- walking up to five strided operands over one shape.
 *
 * Elementwise work (copies, fills, arithmetic with broadcasting) is written
 * once as a "row" function over one innermost row; this file calls it for
 * every row, after merging dims that are laid out consecutively so that the
 * common contiguous case is a single long row. Large walks are split into
 * chunks of rows that OpenMP threads take in parallel.
 */
#include "internal.h"

#define DL_WALK_CHUNK 16384   /* elements per parallel work item */

void dl_walk_setup(dl_walk *w, int ndim, const int64_t *shape, int nops,
                   const dl_tensor *const *ops)
{
    w->ndim = ndim;
    w->nops = nops;
    for (int d = 0; d < ndim; d++)
        w->shape[d] = shape[d];
    for (int k = 0; k < nops; k++) {
        w->base[k] = dl_data(ops[k]);
        for (int d = 0; d < ndim; d++)
            w->stride[k][d] = ops[k]->stride[d];
    }
    dl_walk_coalesce(w);
}

void dl_walk_coalesce(dl_walk *w)
{
    /* An empty walk is one row of nothing (and its sizes may not multiply). */
    for (int d = 0; d < w->ndim; d++)
        if (w->shape[d] == 0) {
            w->ndim = 1;
            w->shape[0] = 0;
            return;
        }
    /* Drop size-1 dims: they move no pointer. */
    int kept = 0;
    for (int d = 0; d < w->ndim; d++) {
        if (w->shape[d] == 1)
            continue;
        w->shape[kept] = w->shape[d];
        for (int k = 0; k < w->nops; k++)
            w->stride[k][kept] = w->stride[k][d];
        kept++;
    }
    w->ndim = kept;
    /* Merge dim d into d+1 when, for every operand, stepping d equals
     * stepping d+1 all the way. */
    for (int d = w->ndim - 2; d >= 0; d--) {
        bool mergeable = true;
        for (int k = 0; k < w->nops; k++)
            if (w->stride[k][d] != w->stride[k][d + 1] * w->shape[d + 1])
                mergeable = false;
        if (!mergeable)
            continue;
        w->shape[d + 1] *= w->shape[d];
        for (int e = d; e < w->ndim - 1; e++) {
            w->shape[e] = w->shape[e + 1];
            for (int k = 0; k < w->nops; k++)
                w->stride[k][e] = w->stride[k][e + 1];
        }
        w->ndim--;
    }
}

/* Runs elements [from, to) of outer row `row_index`. */
static void walk_piece(const dl_walk *w, int64_t row_index, int64_t from, int64_t to,
                       dl_row_fn row, const void *ctx)
{
    float *ptr[DL_WALK_MAX_OPERANDS];
    int64_t inner_stride[DL_WALK_MAX_OPERANDS];
    int inner = w->ndim - 1;
    for (int k = 0; k < w->nops; k++) {
        int64_t off = 0, rest = row_index;
        for (int d = inner - 1; d >= 0; d--) {
            off += (rest % w->shape[d]) * w->stride[k][d];
            rest /= w->shape[d];
        }
        inner_stride[k] = inner >= 0 ? w->stride[k][inner] : 0;
        ptr[k] = w->base[k] + off + from * inner_stride[k];
    }
    row(to - from, ptr, inner_stride, ctx);
}

void dl_walk_rows(dl_walk *w, dl_row_fn row, const void *ctx)
{
    if (w->ndim == 0) {                 /* a scalar, or all dims of size 1 */
        walk_piece(w, 0, 0, 1, row, ctx);
        return;
    }
    int64_t inner = w->shape[w->ndim - 1];
    int64_t rows = 1;
    for (int d = 0; d < w->ndim - 1; d++)
        rows *= w->shape[d];
    if (inner == 0 || rows == 0)
        return;
    if (rows * inner < DL_PARALLEL_THRESHOLD) {
        for (int64_t r = 0; r < rows; r++)
            walk_piece(w, r, 0, inner, row, ctx);
        return;
    }
    int64_t chunks = (inner + DL_WALK_CHUNK - 1) / DL_WALK_CHUNK;
    int64_t items = rows * chunks;
    #pragma omp parallel for schedule(static)
    for (int64_t item = 0; item < items; item++) {
        int64_t r = item / chunks, c = item % chunks;
        int64_t from = c * DL_WALK_CHUNK;
        int64_t to = from + DL_WALK_CHUNK < inner ? from + DL_WALK_CHUNK : inner;
        walk_piece(w, r, from, to, row, ctx);
    }
}
