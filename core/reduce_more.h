/*
 * reduce_more.h -- what reduce_more.c lends the other op files.
 */
#ifndef DL_REDUCE_MORE_H
#define DL_REDUCE_MORE_H

#include "dl.h"

/* Records *out, a value picked from a along dim (or from every element
 * when dim < 0) with `keepdim`, as op `fn` whose gradient is shared evenly
 * by the elements of a equal to it (amax, amin, median of everything).
 * Does nothing when no gradient is wanted; releases *out on failure. */
dl_status dl_record_shared_pick(const char *fn, const dl_tensor *a, int dim, bool keepdim,
                                dl_tensor **out);

#endif
