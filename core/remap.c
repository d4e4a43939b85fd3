/*
 * remap.c -- ops whose every output element is one element of the input,
 * or zero: flip, roll, repeat, tril, triu, diag.
 *
 * Each op is a rule `source_of` from an output position to the input
 * position it reads (or none, for a zero). The forward reads through the
 * input's strides, so views need no copy; the backward adds g at those
 * same positions of a zero gradient, which sums the copies repeat makes
 * of one element.
 */
#include <string.h>

#include "autograd.h"
#include "internal.h"
#include "multi_index.h"

typedef enum {
    REMAP_FLIP, REMAP_ROLL, REMAP_ROLL_FLAT, REMAP_REPEAT, REMAP_TRIL, REMAP_TRIU,
    REMAP_DIAG_EMBED, REMAP_DIAG_TAKE
} remap_kind;

typedef struct {
    remap_kind kind;
    int64_t k;                     /* the diagonal of tril, triu, diag */
    int64_t per_dim[DL_MAX_DIM];   /* flip: 1 for a flipped dim; roll: shifts */
} remap;

static int64_t wrap(int64_t i, int64_t n)
{
    int64_t r = i % n;
    return r < 0 ? r + n : r;
}

/* The position of `a` (a->ndim entries) read by output position m of an
 * output with out_ndim dims; false when that output element is zero. */
static bool source_of(const remap *r, const dl_tensor *a, int out_ndim, const int64_t *m,
                      int64_t *src)
{
    int nd = a->ndim;
    switch (r->kind) {
    case REMAP_FLIP:
        for (int d = 0; d < nd; d++)
            src[d] = r->per_dim[d] ? a->shape[d] - 1 - m[d] : m[d];
        return true;
    case REMAP_ROLL:
        for (int d = 0; d < nd; d++)
            src[d] = wrap(m[d] - r->per_dim[d], a->shape[d]);
        return true;
    case REMAP_ROLL_FLAT: {
        int64_t flat = 0;
        for (int d = 0; d < nd; d++)
            flat = flat * a->shape[d] + m[d];
        flat = wrap(flat - r->per_dim[0], dl_numel(a));
        for (int d = nd - 1; d >= 0; d--) {
            src[d] = flat % a->shape[d];
            flat /= a->shape[d];
        }
        return true;
    }
    case REMAP_REPEAT:
        for (int d = 0; d < nd; d++)
            src[d] = m[d + out_ndim - nd] % a->shape[d];
        return true;
    case REMAP_TRIL:
    case REMAP_TRIU: {
        memcpy(src, m, (size_t)nd * sizeof *src);
        int64_t offset = m[nd - 1] - m[nd - 2];
        return r->kind == REMAP_TRIL ? offset <= r->k : offset >= r->k;
    }
    case REMAP_DIAG_EMBED:
        src[0] = r->k >= 0 ? m[0] : m[1];
        return m[1] - m[0] == r->k;
    case REMAP_DIAG_TAKE:
        src[0] = r->k >= 0 ? m[0] : m[0] - r->k;
        src[1] = r->k >= 0 ? m[0] + r->k : m[0];
        return true;
    }
    return false;
}

/* Reads the rule back from a node. */
static remap node_remap(const dl_node *node)
{
    remap r = {.kind = (remap_kind)node->integer[0], .k = node->integer[1]};
    memcpy(r.per_dim, &node->integer[2], sizeof r.per_dim);
    return r;
}

static dl_status remap_backward(dl_node *node, const dl_tensor *out, const dl_tensor *g)
{
    remap r = node_remap(node);
    dl_tensor *a = node->inputs[0], *grad;
    dl_status st = dl_full(node->name, a->ndim, a->shape, 0.0f, &grad);
    if (st != DL_OK)
        return st;
    float *gx = dl_data(grad);
    const float *gv = dl_data(g);
    int64_t m[DL_MAX_DIM] = {0}, src[DL_MAX_DIM];
    for (int64_t i = 0, n = dl_numel(out); i < n; i++, dl_next_index(out->ndim, out->shape, m))
        if (source_of(&r, a, out->ndim, m, src))
            gx[dl_offset_of(a->ndim, src, grad->stride)] += gv[dl_offset_of(g->ndim, m, g->stride)];
    return dl_accumulate_grad(a, grad);
}

/* out (ndim, shape) filled by the rule from a, recorded as op `fn`. */
static dl_status run_remap(const char *fn, const remap *r, const dl_tensor *a, int ndim,
                           const int64_t *shape, dl_tensor **out)
{
    dl_status st = dl_empty(fn, ndim, shape, out);
    if (st != DL_OK)
        return st;
    const float *x = dl_data(a);
    float *y = dl_data(*out);
    int64_t m[DL_MAX_DIM] = {0}, src[DL_MAX_DIM];
    for (int64_t i = 0, n = dl_numel(*out); i < n; i++, dl_next_index(ndim, shape, m))
        y[i] = source_of(r, a, ndim, m, src) ? x[dl_offset_of(a->ndim, src, a->stride)] : 0.0f;
    if (!dl_needs_grad(1, &a))
        return DL_OK;
    dl_node *node = dl_record(fn, remap_backward, *out, 1, &a);
    if (!node) {
        dl_release(*out);
        return DL_ERR_MEMORY;
    }
    node->integer[0] = r->kind;
    node->integer[1] = r->k;
    memcpy(&node->integer[2], r->per_dim, sizeof r->per_dim);
    return DL_OK;
}

dl_status dl_flip(const dl_tensor *a, int ndims, const int *dims, dl_tensor **out)
{
    remap r = {.kind = REMAP_FLIP};
    for (int i = 0; i < ndims; i++) {
        if (dl_check_dim("flip", 2, dims[i], a->ndim, false) != DL_OK)
            return DL_ERR_ARGUMENT;
        if (r.per_dim[dims[i]])
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #2 to 'flip' (expected distinct dims, got dim %d twice)",
                           dims[i] + 1);
        r.per_dim[dims[i]] = 1;
    }
    return run_remap("flip", &r, a, a->ndim, a->shape, out);
}

dl_status dl_roll(const dl_tensor *a, int n, const int64_t *shifts, const int *dims,
                  dl_tensor **out)
{
    remap r = {.kind = dims ? REMAP_ROLL : REMAP_ROLL_FLAT};
    if (!dims)
        r.per_dim[0] = n > 0 ? shifts[0] : 0;
    for (int i = 0; dims && i < n; i++) {
        if (dl_check_dim("roll", 3, dims[i], a->ndim, false) != DL_OK)
            return DL_ERR_ARGUMENT;
        r.per_dim[dims[i]] += shifts[i];
    }
    return run_remap("roll", &r, a, a->ndim, a->shape, out);
}

dl_status dl_repeat(const dl_tensor *a, int n, const int64_t *repeats, dl_tensor **out)
{
    if (n < a->ndim)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to 'repeat' (expected at least %d repeat counts, one per "
                       "dim, got %d)", a->ndim, n);
    if (n > DL_MAX_DIM)
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to 'repeat' (expected at most %d repeat counts, got %d)",
                       DL_MAX_DIM, n);
    int64_t shape[DL_MAX_DIM];
    for (int d = 0; d < n; d++) {
        if (repeats[d] < 0)
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #2 to 'repeat' (expected repeat counts >= 0, got %lld)",
                           (long long)repeats[d]);
        int da = d - (n - a->ndim);
        if (__builtin_mul_overflow(repeats[d], da >= 0 ? a->shape[da] : 1, &shape[d]))
            return dl_fail(DL_ERR_ARGUMENT,
                           "bad argument #2 to 'repeat' (dim %d would have more than 2^63 - 1 "
                           "entries)", d + 1);
    }
    remap r = {.kind = REMAP_REPEAT};
    return run_remap("repeat", &r, a, n, shape, out);
}

/* tril and triu: the last two dims are the matrices. */
static dl_status triangle(const char *fn, remap_kind kind, const dl_tensor *a, int64_t k,
                          dl_tensor **out)
{
    if (a->ndim < 2) {
        char as[64];
        dl_shape_string(a, as, sizeof as);
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to '%s' (expected a tensor with at least 2 dims, got %s)",
                       fn, as);
    }
    remap r = {.kind = kind, .k = k};
    return run_remap(fn, &r, a, a->ndim, a->shape, out);
}

dl_status dl_tril(const dl_tensor *a, int64_t k, dl_tensor **out)
{
    return triangle("tril", REMAP_TRIL, a, k, out);
}

dl_status dl_triu(const dl_tensor *a, int64_t k, dl_tensor **out)
{
    return triangle("triu", REMAP_TRIU, a, k, out);
}

dl_status dl_diag(const dl_tensor *a, int64_t k, dl_tensor **out)
{
    remap r = {.k = k};
    int64_t shape[2];
    int64_t off = k < 0 ? -k : k;
    if (a->ndim == 1) {
        r.kind = REMAP_DIAG_EMBED;
        shape[0] = shape[1] = a->shape[0] + off;
        return run_remap("diag", &r, a, 2, shape, out);
    }
    if (a->ndim == 2) {
        r.kind = REMAP_DIAG_TAKE;
        int64_t rows = a->shape[0] - (k < 0 ? off : 0), cols = a->shape[1] - (k > 0 ? off : 0);
        shape[0] = rows < cols ? rows : cols;
        if (shape[0] < 0)
            shape[0] = 0;
        return run_remap("diag", &r, a, 1, shape, out);
    }
    char as[64];
    dl_shape_string(a, as, sizeof as);
    return dl_fail(DL_ERR_SHAPE,
                   "bad argument #1 to 'diag' (expected a 1-D or 2-D tensor, got shape %s)", as);
}
