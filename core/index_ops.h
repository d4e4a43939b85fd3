/*
 * index_ops.h -- what index_ops.c lends the other op files of the core.
 */
#ifndef DL_INDEX_OPS_H
#define DL_INDEX_OPS_H

#include "dl.h"

/* dl_gather, with `fn` naming the operation in messages and in the graph
 * (sort, topk and median pick their values with it). */
dl_status dl_gather_as(const char *fn, const dl_tensor *a, int dim, const dl_tensor *index,
                       dl_tensor **out);

#endif
