/*
 * autograd.c -- recording, backward, grad mode.
 *
 * Reverse mode is a local rule per node plus a walk in reverse creation
 * order (micrograd's design): every node's output was made after its
 * inputs, so visiting nodes by descending sequence number sees each
 * tensor's gradient complete before its rule passes it on.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "internal.h"

static bool grad_enabled = true;
static uint64_t next_sequence = 1;
static uint64_t next_visit = 1;

bool dl_grad_enabled(void)
{
    return grad_enabled;
}

bool dl_set_grad_enabled(bool enabled)
{
    bool previous = grad_enabled;
    grad_enabled = enabled;
    return previous;
}

bool dl_needs_grad(int n, const dl_tensor *const *inputs)
{
    if (!grad_enabled)
        return false;
    for (int i = 0; i < n; i++)
        if (inputs[i] && inputs[i]->requires_grad)
            return true;
    return false;
}

dl_node *dl_record(const char *name, dl_backward_fn backward, dl_tensor *out,
                   int ninputs, const dl_tensor *const *inputs)
{
    dl_node *node = dl_pool_take(DL_POOL_NODE);
    if (!node) {
        dl_fail(DL_ERR_MEMORY, "%s: out of memory recording the graph", name);
        return NULL;
    }
    node->inputs = node->few;
    if (ninputs > DL_NODE_INPUTS &&
        !(node->inputs = malloc((size_t)ninputs * sizeof *node->inputs))) {
        dl_pool_give(DL_POOL_NODE, node);
        dl_fail(DL_ERR_MEMORY, "%s: out of memory recording the graph", name);
        return NULL;
    }
    node->name = name;
    node->backward = backward;
    node->sequence = next_sequence++;
    node->ninputs = ninputs;
    for (int i = 0; i < ninputs; i++) {
        node->inputs[i] = (dl_tensor *)inputs[i];
        dl_retain(node->inputs[i]);
    }
    node->output_version = out->storage->version;
    out->grad_fn = node;
    out->requires_grad = true;
    return node;
}

void dl_mark_rederivable(dl_node *node)
{
    node->rederivable = true;
    for (int i = 0; i < node->ninputs; i++) {
        const dl_tensor *in = node->inputs[i];
        if (in && (in->grad_fn ? !in->grad_fn->rederivable : in->graph_freed))
            node->rederivable = false;
    }
}

void dl_save(dl_node *node, const dl_tensor *t)
{
    assert(node->nsaved < DL_NODE_SAVED);
    assert(!node->rederivable);
    node->saved[node->nsaved] = (dl_tensor *)t;
    node->saved_version[node->nsaved] = t->storage->version;
    node->nsaved++;
    dl_retain((dl_tensor *)t);
}

const dl_tensor *dl_saved(const dl_node *node, int i)
{
    const dl_tensor *t = node->saved[i];
    if (t->storage->version != node->saved_version[i]) {
        dl_fail(DL_ERR_ARGUMENT,
                "backward: a tensor that '%s' saved for the gradient was changed in place "
                "afterwards (version %u, expected %u); clone it before changing it",
                node->name, t->storage->version, node->saved_version[i]);
        return NULL;
    }
    return t;
}

void dl_node_free(dl_node *node)
{
    for (int i = 0; i < node->ninputs; i++)
        dl_release(node->inputs[i]);
    for (int i = 0; i < node->nsaved; i++)
        dl_release(node->saved[i]);
    if (node->inputs != node->few)
        free(node->inputs);
    dl_pool_give(DL_POOL_NODE, node);
}

dl_status dl_sum_to_shape(const dl_tensor *g, int ndim, const int64_t *shape,
                          dl_tensor **out)
{
    dl_tensor *acc = (dl_tensor *)g;
    dl_retain(acc);
    dl_status st = DL_OK;
    /* Leading dims that broadcasting added. */
    while (st == DL_OK && acc->ndim > ndim) {
        dl_tensor *next;
        st = dl_reduce(DL_SUM, acc, 0, false, 0, &next);
        if (st == DL_OK) {
            dl_release(acc);
            acc = next;
        }
    }
    /* Dims of size 1 that were stretched. */
    for (int d = 0; st == DL_OK && d < ndim; d++) {
        if (shape[d] != 1 || acc->shape[d] == 1)
            continue;
        dl_tensor *next;
        st = dl_reduce(DL_SUM, acc, d, true, 0, &next);
        if (st == DL_OK) {
            dl_release(acc);
            acc = next;
        }
    }
    if (st != DL_OK) {
        dl_release(acc);
        return st;
    }
    *out = acc;
    return DL_OK;
}

static bool same_shape(const dl_tensor *a, int ndim, const int64_t *shape)
{
    if (a->ndim != ndim)
        return false;
    for (int d = 0; d < ndim; d++)
        if (a->shape[d] != shape[d])
            return false;
    return true;
}

dl_status dl_accumulate_grad(dl_tensor *t, dl_tensor *g)
{
    if (!t->requires_grad) {
        dl_release(g);
        return DL_OK;
    }
    if (t->graph_freed) {
        dl_release(g);
        return dl_fail(DL_ERR_ARGUMENT,
                       "backward: part of this graph was already freed by an earlier "
                       "backward; compute the result again");
    }
    dl_status st = DL_OK;
    if (!same_shape(g, t->ndim, t->shape)) {
        dl_tensor *reduced;
        st = dl_sum_to_shape(g, t->ndim, t->shape, &reduced);
        dl_release(g);
        if (st != DL_OK)
            return st;
        g = reduced;
    }
    if (!t->grad) {
        /* Take g over when nobody else can see it; else keep a private copy. */
        bool private = g->refcount == 1 && g->storage->refcount == 1 && dl_is_contiguous(g);
        if (private) {
            t->grad = g;
            return DL_OK;
        }
        st = dl_clone(g, &t->grad);
        dl_release(g);
        return st;
    }
    dl_tensor *sum;
    st = dl_binary(DL_ADD, t->grad, g, &sum);
    dl_release(g);
    if (st != DL_OK)
        return st;
    st = dl_copy_(t->grad, sum);
    dl_release(sum);
    return st;
}

dl_status dl_grad_target(dl_tensor *t, dl_tensor **grad, float *beta)
{
    *grad = NULL;
    if (!t->requires_grad)
        return DL_OK;
    if (t->graph_freed)
        return dl_fail(DL_ERR_ARGUMENT,
                       "backward: part of this graph was already freed by an earlier "
                       "backward; compute the result again");
    if (t->grad && !dl_is_contiguous(t->grad)) {
        dl_tensor *c;
        dl_status st = dl_clone(t->grad, &c);
        if (st != DL_OK)
            return st;
        dl_release(t->grad);
        t->grad = c;
    }
    if (t->grad) {
        *beta = 1.0f;
    } else {
        dl_status st = dl_empty("backward", t->ndim, t->shape, &t->grad);
        if (st != DL_OK)
            return st;
        *beta = 0.0f;
    }
    *grad = t->grad;
    return DL_OK;
}

/* A growable array of tensor pointers, kept between backward calls so a
 * training step does not allocate for its walk. */
typedef struct {
    dl_tensor **items;
    size_t count, capacity;
} tensor_list;

static bool list_push(tensor_list *l, dl_tensor *t)
{
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? 2 * l->capacity : 64;
        dl_tensor **grown = realloc(l->items, capacity * sizeof *grown);
        if (!grown)
            return false;
        l->items = grown;
        l->capacity = capacity;
    }
    l->items[l->count++] = t;
    return true;
}

static tensor_list walk_order, walk_stack;

/* Fills walk_order with every tensor with a live node reachable from root,
 * once each. */
static dl_status collect(dl_tensor *root, uint64_t visit)
{
    walk_order.count = walk_stack.count = 0;
    root->grad_fn->visit = visit;
    if (!list_push(&walk_stack, root))
        goto out_of_memory;
    while (walk_stack.count > 0) {
        dl_tensor *t = walk_stack.items[--walk_stack.count];
        if (!list_push(&walk_order, t))
            goto out_of_memory;
        for (int i = 0; i < t->grad_fn->ninputs; i++) {
            dl_tensor *in = t->grad_fn->inputs[i];
            if (!in || !in->grad_fn || in->grad_fn->visit == visit)
                continue;
            in->grad_fn->visit = visit;
            if (!list_push(&walk_stack, in))
                goto out_of_memory;
        }
    }
    return DL_OK;
out_of_memory:
    return dl_fail(DL_ERR_MEMORY, "backward: out of memory walking the graph");
}

static int by_descending_sequence(const void *x, const void *y)
{
    uint64_t a = (*(dl_tensor *const *)x)->grad_fn->sequence;
    uint64_t b = (*(dl_tensor *const *)y)->grad_fn->sequence;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* Runs the rule of each listed tensor's node, newest first. */
static dl_status run_rules(dl_tensor **list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        dl_tensor *t = list[i];
        dl_node *node = t->grad_fn;
        dl_tensor *g = t->grad;
        if (!g)
            continue;           /* no path from the root reaches this tensor */
        if (dl_interrupted())
            return dl_fail(DL_ERR_INTERRUPTED, "backward: interrupted");
        if (!node->rederivable && t->storage->version != node->output_version)
            return dl_fail(DL_ERR_ARGUMENT,
                           "backward: the output of '%s' was changed in place after it was "
                           "computed; clone it before changing it", node->name);
        t->grad = NULL;         /* an intermediate's gradient is not kept */
        dl_status st = node->backward(node, t, g);
        dl_release(g);
        if (st != DL_OK)
            return st;
    }
    return DL_OK;
}

dl_status dl_backward(dl_tensor *root, const dl_tensor *grad)
{
    if (!root->requires_grad)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #1 to 'backward' (expected a tensor computed from one "
                       "that requires grad; none of its inputs has requires_grad=true)");
    if (root->graph_freed)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #1 to 'backward' (its graph was freed by an earlier "
                       "backward; compute the result again)");
    char shape[64];
    if (!grad && dl_numel(root) != 1) {
        dl_shape_string(root, shape, sizeof shape);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'backward' (expected a scalar loss, got shape %s; "
                       "or pass a gradient)", shape);
    }
    if (grad && !same_shape(grad, root->ndim, root->shape)) {
        char gs[64];
        dl_shape_string(root, shape, sizeof shape);
        dl_shape_string(grad, gs, sizeof gs);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #2 to 'backward' (expected a gradient of shape %s, got %s)",
                       shape, gs);
    }
    dl_tensor *seed;
    dl_status st = grad ? dl_clone(grad, &seed)
                        : dl_full("backward", root->ndim, root->shape, 1.0f, &seed);
    if (st != DL_OK)
        return st;
    if (!root->grad_fn)                    /* a leaf: its gradient is the seed */
        return dl_accumulate_grad(root, seed);

    if ((st = collect(root, next_visit++)) != DL_OK) {
        dl_release(seed);
        return st;
    }
    dl_tensor **list = walk_order.items;
    size_t count = walk_order.count;
    qsort(list, count, sizeof *list, by_descending_sequence);
    root->grad = seed;
    bool was_enabled = dl_set_grad_enabled(false);   /* rules are not recorded */
    st = run_rules(list, count);
    dl_set_grad_enabled(was_enabled);
    /* Free the graph: intermediates drop their nodes (and so their inputs).
     * A rederivable node holds nothing backward used up (a view of a leaf,
     * as PyTorch keeps one) and stays for the next backward through it.
     * The listed tensors are held until every node is gone, since freeing a
     * node may drop the last other reference to a tensor further down. */
    for (size_t i = 0; i < count; i++)
        dl_retain(list[i]);
    for (size_t i = 0; i < count; i++) {
        dl_tensor *t = list[i];
        dl_release(t->grad);
        t->grad = NULL;
        if (t->grad_fn->rederivable)
            continue;
        t->graph_freed = true;
        dl_node *node = t->grad_fn;
        t->grad_fn = NULL;
        dl_node_free(node);
    }
    for (size_t i = 0; i < count; i++)
        dl_release(list[i]);
    return st;
}

dl_status dl_set_requires_grad(dl_tensor *t, bool requires_grad)
{
    if (!requires_grad && t->grad_fn)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #1 to 'requires_grad' (only a leaf tensor can stop "
                       "requiring grad; use detach() for a copy cut off from the graph)");
    t->requires_grad = requires_grad;
    return DL_OK;
}

dl_status dl_detach(const dl_tensor *t, dl_tensor **out)
{
    dl_tensor *d = dl_tensor_view_of(t->storage, t->ndim, t->shape, t->stride, t->offset);
    if (!d)
        return DL_ERR_MEMORY;
    *out = d;
    return DL_OK;
}

const char *dl_grad_fn_name(const dl_tensor *t)
{
    return t->grad_fn ? t->grad_fn->name : NULL;
}

dl_tensor *dl_grad_fn_input(const dl_tensor *t, int i)
{
    if (!t->grad_fn || i < 0 || i >= t->grad_fn->ninputs)
        return NULL;
    return t->grad_fn->inputs[i];
}

void dl_zero_grad(dl_tensor *t)
{
    dl_release(t->grad);
    t->grad = NULL;
}

bool dl_is_leaf(const dl_tensor *t)
{
    return t->grad_fn == NULL && !t->graph_freed;
}
