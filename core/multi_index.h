/*
 * multi_index.h -- stepping a row-major multi-index through a shape, for
 * the ops that move elements around (index_ops.c, remap.c).
 */
#ifndef DL_MULTI_INDEX_H
#define DL_MULTI_INDEX_H

#include "dl.h"

/* Advances index (ndim entries) to the next position of shape in row-major
 * order; false once it wraps around past the last one. */
static inline bool dl_next_index(int ndim, const int64_t *shape, int64_t *index)
{
    for (int d = ndim - 1; d >= 0; d--) {
        if (++index[d] < shape[d])
            return true;
        index[d] = 0;
    }
    return false;
}

/* Offset in elements of index under stride (ndim entries). */
static inline int64_t dl_offset_of(int ndim, const int64_t *index, const int64_t *stride)
{
    int64_t offset = 0;
    for (int d = 0; d < ndim; d++)
        offset += index[d] * stride[d];
    return offset;
}

#endif
