/*
 * strset.c -- a set of distinct strings with ids (open-addressing hash
 * table, FNV-1a), for class names and one-hot categories.
 */
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"

static size_t hash(const char *s)
{
    size_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Slot holding s, or the empty slot where it would go. */
static size_t slot_of(const dl_strset *set, const char *s)
{
    size_t mask = set->nslots - 1;
    for (size_t i = hash(s) & mask;; i = (i + 1) & mask) {
        int id = set->slots[i] - 1;
        if (id < 0 || strcmp(set->strings[id], s) == 0)
            return i;
    }
}

/* Doubles the table (and the strings array); false when out of memory. */
static bool grow(dl_strset *set)
{
    size_t nslots = set->nslots ? 2 * set->nslots : 16;
    int *slots = calloc(nslots, sizeof *slots);
    char **strings = realloc(set->strings, nslots / 2 * sizeof *strings);
    if (slots == NULL || strings == NULL) {
        free(slots);
        if (strings != NULL)
            set->strings = strings;
        return false;
    }
    set->strings = strings;
    free(set->slots);
    set->slots = slots;
    set->nslots = nslots;
    for (int id = 0; id < set->count; id++)
        set->slots[slot_of(set, strings[id])] = id + 1;
    return true;
}

int dl_strset_find(const dl_strset *set, const char *s)
{
    if (set->count == 0)
        return -1;
    return set->slots[slot_of(set, s)] - 1;
}

int dl_strset_add(dl_strset *set, const char *s)
{
    int id = dl_strset_find(set, s);
    if (id >= 0)
        return id;
    /* keep the table at most half full */
    if ((size_t)set->count + 1 > set->nslots / 2 && !grow(set))
        return -1;
    char *copy = strdup(s);
    if (copy == NULL)
        return -1;
    set->strings[set->count] = copy;
    set->slots[slot_of(set, s)] = ++set->count;
    return set->count - 1;
}

/* Sorting context: qsort has none, so ids are sorted with their keys. */
typedef struct {
    const char *s;
    double number;
    int id;
} sort_item;

static int by_number(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->number != y->number)
        return x->number < y->number ? -1 : 1;
    return strcmp(x->s, y->s);
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(((const sort_item *)a)->s, ((const sort_item *)b)->s);
}

dl_status dl_strset_ranks(const dl_strset *set, int *rank)
{
    if (set->count == 0)
        return DL_OK;
    sort_item *items = malloc((size_t)set->count * sizeof *items);
    if (items == NULL)
        return dl_fail(DL_ERR_MEMORY, "out of memory sorting %d names", set->count);
    bool numeric = true;
    for (int id = 0; id < set->count; id++) {
        float v = 0;
        const char *s = set->strings[id];
        numeric = numeric && dl_parse_float(s, strlen(s), &v) == 1;
        items[id] = (sort_item){s, v, id};
    }
    qsort(items, (size_t)set->count, sizeof *items, numeric ? by_number : by_bytes);
    for (int r = 0; r < set->count; r++)
        rank[items[r].id] = r;
    free(items);
    return DL_OK;
}

void dl_strset_free(dl_strset *set)
{
    for (int id = 0; id < set->count; id++)
        free(set->strings[id]);
    free(set->strings);
    free(set->slots);
    memset(set, 0, sizeof *set);
}
