/*
 * sort.c -- sort, topk and median along a dim.
 *
 * Each row along the dim is ordered as (value, position) pairs: by value,
 * NaN above everything, and equal values by position, so the order is
 * stable as PyTorch's sort is. The values are then picked from the input
 * by gather, whose gradient sends g back to the positions they came from.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "index_ops.h"
#include "internal.h"
#include "reduce_more.h"

typedef struct {
    float value;
    int64_t position;
} entry;

/* Ascending (or descending, *ctx true) by value, NaN largest; ties by
 * ascending position. */
static int compare_entries(const void *x, const void *y, void *ctx)
{
    const entry *a = x, *b = y;
    bool descending = *(const bool *)ctx;
    bool an = isnan(a->value), bn = isnan(b->value);
    int order = an || bn ? (an && bn ? 0 : an ? 1 : -1)
                         : a->value < b->value ? -1 : a->value > b->value ? 1 : 0;
    if (descending)
        order = -order;
    if (order != 0)
        return order;
    return a->position < b->position ? -1 : a->position > b->position;
}

/* compare_entries for rows without NaN, one direction each: the sort's
 * inner loop, kept to two comparisons. */
static int compare_ascending(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    return a->position < b->position ? -1 : 1;
}

static int compare_descending(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    if (a->value != b->value)
        return a->value > b->value ? -1 : 1;
    return a->position < b->position ? -1 : 1;
}

/* Sorts the first `count` entries of a row that `has_nan` or not. */
static void sort_entries(entry *row, int64_t count, bool has_nan, bool descending)
{
    if (has_nan)
        qsort_r(row, (size_t)count, sizeof *row, compare_entries, &descending);
    else
        qsort(row, (size_t)count, sizeof *row, descending ? compare_descending : compare_ascending);
}

static void swap_entries(entry *a, entry *b)
{
    entry t = *a;
    *a = *b;
    *b = t;
}

/* Reorders row[0..n-1] so that row[rank] is the entry a full sort would put
 * there, with smaller ones before it and larger ones after (quickselect,
 * median-of-three pivots). The order is total (ties go by position), so
 * the result is the stable sort's: topk and median need no full sort. */
static void select_rank(entry *row, int64_t n, int64_t rank, bool descending)
{
    int64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        int64_t mid = lo + (hi - lo) / 2;
        if (compare_entries(&row[mid], &row[lo], &descending) < 0)
            swap_entries(&row[mid], &row[lo]);
        if (compare_entries(&row[hi], &row[lo], &descending) < 0)
            swap_entries(&row[hi], &row[lo]);
        if (compare_entries(&row[hi], &row[mid], &descending) < 0)
            swap_entries(&row[hi], &row[mid]);
        entry pivot = row[mid];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (compare_entries(&row[i], &pivot, &descending) < 0)
                i++;
            while (compare_entries(&row[j], &pivot, &descending) > 0)
                j--;
            if (i <= j)
                swap_entries(&row[i++], &row[j--]);
        }
        if (rank <= j)
            hi = j;
        else if (rank >= i)
            lo = i;
        else
            return;
    }
}

/* Sizes before, along and after dim. */
static void split_at_dim(const dl_tensor *a, int dim, int64_t *outer, int64_t *n,
                         int64_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < dim; d++)
        *outer = dl_size_mul(*outer, a->shape[d]);
    for (int d = dim + 1; d < a->ndim; d++)
        *inner = dl_size_mul(*inner, a->shape[d]);
    *n = a->shape[dim];
    if (dl_numel(a) == 0)
        *outer = 0;     /* no rows to walk, however large the other sizes */
}

/* The 1-based positions of sorted entries `first` .. first + count - 1 of
 * every row of a along dim, as a tensor of a's shape with `count` along dim.
 * first < 0 asks for the median: the entry at (n - 1) / 2, or the first NaN
 * of a row that has one (the median of such a row is NaN, as in PyTorch). */
static dl_status sorted_positions(const char *fn, const dl_tensor *a, int dim, bool descending,
                                  int64_t first, int64_t count, dl_tensor **out)
{
    int64_t outer, n, inner, shape[DL_MAX_DIM];
    split_at_dim(a, dim, &outer, &n, &inner);
    memcpy(shape, a->shape, sizeof shape);
    shape[dim] = count;
    dl_tensor *x;
    dl_status st = dl_contiguous(a, &x);
    if (st != DL_OK)
        return st;
    if ((st = dl_empty(fn, a->ndim, shape, out)) != DL_OK) {
        dl_release(x);
        return st;
    }
    if (dl_numel(*out) == 0) {          /* nothing to write (rows may still be many or long) */
        dl_release(x);
        return DL_OK;
    }
    entry *row = malloc((size_t)(n > 0 ? n : 1) * sizeof *row);
    if (!row) {
        dl_release(*out);
        *out = NULL;
        dl_release(x);
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", fn);
    }
    const float *xv = dl_data(x);
    float *p = dl_data(*out);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            for (int64_t k = 0; k < n; k++)
                row[k] = (entry){xv[(o * n + k) * inner + j], k};
            int64_t from = first, nans = 0;
            for (int64_t k = 0; k < n; k++)
                nans += isnan(row[k].value);
            if (first < 0) {                 /* the median: one entry, selected */
                from = nans > 0 ? n - nans : (n - 1) / 2;
                select_rank(row, n, from, descending);
            } else if (count < n) {          /* topk: the first count, then sorted */
                if (count > 0)
                    select_rank(row, n, count - 1, descending);
                sort_entries(row, count, nans > 0, descending);
            } else {
                sort_entries(row, n, nans > 0, descending);
            }
            for (int64_t k = 0; k < count; k++)
                p[(o * count + k) * inner + j] = (float)(row[from + k].position + 1);
        }
    free(row);
    dl_release(x);
    return DL_OK;
}

/* values = a gathered at positions (recorded as fn); both handed out. */
static dl_status pick(const char *fn, const dl_tensor *a, int dim, dl_tensor *positions,
                      dl_tensor **values, dl_tensor **indices)
{
    dl_status st = dl_gather_as(fn, a, dim, positions, values);
    if (st != DL_OK) {
        dl_release(positions);
        return st;
    }
    *indices = positions;
    return DL_OK;
}

dl_status dl_sort(const dl_tensor *a, int dim, bool descending, dl_tensor **values,
                  dl_tensor **indices)
{
    if (dl_check_dim("sort", 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    dl_tensor *positions;
    dl_status st = sorted_positions("sort", a, dim, descending, 0, a->shape[dim], &positions);
    return st == DL_OK ? pick("sort", a, dim, positions, values, indices) : st;
}

dl_status dl_topk(const dl_tensor *a, int64_t k, int dim, bool largest, dl_tensor **values,
                  dl_tensor **indices)
{
    if (dl_check_dim("topk", 3, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    if (k < 0 || k > a->shape[dim])
        return dl_fail(DL_ERR_ARGUMENT,
                       "bad argument #2 to 'topk' (expected k in 0..%lld, the size of dim %d, "
                       "got %lld)", (long long)a->shape[dim], dim + 1, (long long)k);
    dl_tensor *positions;
    dl_status st = sorted_positions("topk", a, dim, largest, 0, k, &positions);
    return st == DL_OK ? pick("topk", a, dim, positions, values, indices) : st;
}

/* Median of every element: a 0-d tensor (all-ones dims with keepdim). */
static dl_status median_of_all(const dl_tensor *a, bool keepdim, dl_tensor **out)
{
    dl_tensor *flat, *positions;
    int64_t n = dl_numel(a), shape[DL_MAX_DIM];
    bool was = dl_set_grad_enabled(false);        /* the value only; its rule is below */
    dl_status st = dl_reshape("median", a, 1, &n, &flat);
    dl_set_grad_enabled(was);
    if (st != DL_OK)
        return st;
    if (n > 0)
        st = sorted_positions("median", flat, 0, false, -1, 1, &positions);
    float value = NAN;
    if (st == DL_OK && n > 0) {
        value = dl_data(flat)[((int64_t)dl_data(positions)[0] - 1) * flat->stride[0]];
        dl_release(positions);
    }
    dl_release(flat);
    for (int d = 0; d < a->ndim; d++)
        shape[d] = 1;
    if (st != DL_OK || (st = dl_full("median", keepdim ? a->ndim : 0, shape, value, out)) != DL_OK)
        return st;
    return dl_record_shared_pick("median", a, -1, keepdim, out);
}

dl_status dl_median(const dl_tensor *a, int dim, bool keepdim, dl_tensor **values,
                    dl_tensor **indices)
{
    if (dim < 0 || a->ndim == 0) {
        *indices = NULL;
        return median_of_all(a, keepdim, values);
    }
    if (dl_check_dim("median", 2, dim, a->ndim, false) != DL_OK)
        return DL_ERR_ARGUMENT;
    int64_t n = a->shape[dim];
    if (n == 0)
        return dl_fail(DL_ERR_SHAPE,
                       "bad argument #1 to 'median' (expected a non-empty dim to reduce, got "
                       "size 0)");
    dl_tensor *positions, *kept_values;
    dl_status st = sorted_positions("median", a, dim, false, -1, 1, &positions);
    if (st != DL_OK || (st = pick("median", a, dim, positions, &kept_values, indices)) != DL_OK)
        return st;
    if (keepdim) {
        *values = kept_values;
        return DL_OK;
    }
    dl_tensor *squeezed;
    st = dl_squeeze(*indices, dim, &squeezed);
    dl_release(*indices);
    *indices = st == DL_OK ? squeezed : NULL;
    if (st == DL_OK)
        st = dl_squeeze(kept_values, dim, values);
    dl_release(kept_values);
    if (st != DL_OK)
        dl_release(*indices);
    return st;
}
