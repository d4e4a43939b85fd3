/*
 * autograd.h -- recording operations for reverse-mode autodiff (core only).
 *
 * An operation that wants a gradient calls dl_record() on its output after
 * computing it. The node keeps references to the inputs, plus any tensor
 * the backward rule reads (dl_save: versions are checked at backward time)
 * and a few numbers. During dl_backward, `backward` is called with the node,
 * its output and dL/doutput, and hands each input's gradient to
 * dl_accumulate_grad.
 */
#ifndef DL_AUTOGRAD_H
#define DL_AUTOGRAD_H

#include "dl.h"

#define DL_NODE_INPUTS 4
#define DL_NODE_SAVED 4

typedef dl_status (*dl_backward_fn)(dl_node *node, const dl_tensor *out,
                                    const dl_tensor *grad_out);

struct dl_node {
    const char *name;                 /* the operation, for messages */
    dl_backward_fn backward;
    uint64_t sequence;                /* creation order: backward runs it in reverse */
    uint64_t visit;                   /* marks the node during a backward walk */
    uint32_t output_version;          /* the output must not change before backward */
    bool rederivable;                 /* a view, copy or join that neither saves nor
                                       * reads its output, over leaves or other such
                                       * nodes (dl_mark_rederivable): backward keeps it */
    int ninputs;
    dl_tensor **inputs;               /* ninputs tensors: `few`, or a malloc'd list
                                       * for joins of more (cat, stack) */
    dl_tensor *few[DL_NODE_INPUTS];
    int nsaved;
    dl_tensor *saved[DL_NODE_SAVED];
    uint32_t saved_version[DL_NODE_SAVED];
    double scalar[4];                 /* operation parameters */
    int64_t integer[DL_MAX_DIM + 4];
};

/* True when grad mode is on and some of the n inputs requires grad. */
bool dl_needs_grad(int n, const dl_tensor *const *inputs);

/* Makes out the result of a recorded operation: a node with the inputs
 * (each retained; any number of them), linked as out->grad_fn. NULL when
 * out of memory (out is then left unrecorded). */
dl_node *dl_record(const char *name, dl_backward_fn backward, dl_tensor *out,
                   int ninputs, const dl_tensor *const *inputs);

/* Marks a node whose rule reads neither saved tensors nor its output (a
 * view, a copy, a join) as rederivable when its inputs are leaves or such
 * nodes: backward keeps it for the next backward through it, as PyTorch
 * keeps a view of a leaf usable, and changes of its output's values (the
 * leaf updated by an optimiser) do not stop it. */
void dl_mark_rederivable(dl_node *node);

/* Frees a node: drops its inputs and saved tensors. */
void dl_node_free(dl_node *node);

/* Keeps t for the backward rule and remembers its version (at most
 * DL_NODE_SAVED tensors per node: a rule that needs more is a bug). */
void dl_save(dl_node *node, const dl_tensor *t);

/* The saved tensor i, or NULL with an error if it changed in place since. */
const dl_tensor *dl_saved(const dl_node *node, int i);

/* Adds g (dL/dt, possibly in a broadcast shape) to t's gradient, summing
 * broadcast dims away. Consumes the caller's reference to g. Tensors that
 * do not require grad are skipped. */
dl_status dl_accumulate_grad(dl_tensor *t, dl_tensor *g);

/* The buffer a kernel should write t's gradient into, for kernels that can
 * accumulate themselves (sgemm with beta = 1): t->grad, made contiguous,
 * with *beta = 1 when it exists; else a new buffer set as t->grad, with
 * *beta = 0. NULL grad (and DL_OK) when t does not require grad. */
dl_status dl_grad_target(dl_tensor *t, dl_tensor **grad, float *beta);

/* g summed over dims so that it has `shape` (broadcasting undone). */
dl_status dl_sum_to_shape(const dl_tensor *g, int ndim, const int64_t *shape,
                          dl_tensor **out);

#endif
