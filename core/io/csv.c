/*
 * csv.c -- a CSV file becomes a feature matrix, a target and their names.
 *
 * Two passes over the source keep memory near the size of the result: the
 * text is never held whole, and the table is never built twice.
 *   pass 1 (scan)  counts the rows, checks every record's field count and
 *                  missing cells, decides each column's kind and collects
 *                  the distinct values of one-hot columns and class targets;
 *   pass 2 (fill)  parses the numbers straight into the result tensors.
 * A column's kind is decided by its first non-missing cell when it is not
 * forced by the options: a number makes it numeric, text makes it one-hot
 * (when one_hot is on) or a class target.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"

typedef enum { KIND_UNKNOWN, KIND_NUMBER, KIND_CATEGORY } column_kind;

typedef struct {
    const char *fn;
    const char *file;
    const dl_csv_options *o;
    dl_csv_lexer lx;
    int ncols;
    char **names;              /* column names */
    int target;                /* column of the target, -1 for none */
    column_kind *kind;
    dl_strset *values;         /* distinct values of category columns */
    int **rank;                /* sorted position of each value id */
    int *first_out;            /* first column of x written by each column */
    int64_t rows, dropped;
    int nfeatures;
    double *sum;               /* per column, for missing = "mean" */
    int64_t *present;
} reader;

void dl_csv_defaults(dl_csv_options *o)
{
    memset(o, 0, sizeof *o);
    o->sep = ',';
    o->header = true;
    o->missing = DL_MISSING_ERROR;
}

/* ---- names and messages ----------------------------------------------------- */

/* Writes "column 'name'" (or "column 3" without a header) into buf. */
static const char *column_label(const reader *r, int c, char *buf, size_t size)
{
    if (r->o->header)
        snprintf(buf, size, "column '%s'", r->names[c]);
    else
        snprintf(buf, size, "column %d", c + 1);
    return buf;
}

/* Copies at most 40 bytes of text for a message, control bytes as '?'. */
static const char *excerpt(const char *text, char *buf, size_t size)
{
    size_t n = 0;
    for (; text[n] != '\0' && n < 40 && n + 4 < size; n++)
        buf[n] = (unsigned char)text[n] < 32 || text[n] == 127 ? '?' : text[n];
    if (text[n] != '\0' && n + 4 < size)
        buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    buf[n] = '\0';
    return buf;
}

/* "a, b, c" (cut short past ~200 bytes) for messages listing names. */
static const char *name_list(char *const *names, int n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 8 < size; i++) {
        int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
        if (k < 0 || used + (size_t)k >= size - 8) {
            snprintf(buf + used, size - used, ", ...");
            break;
        }
        used += (size_t)k;
    }
    return buf;
}

static dl_status fail_at(const reader *r, int64_t line, int c, const char *what)
{
    return dl_fail(DL_ERR_ARGUMENT, "%s:%lld:%d: %s", r->file, (long long)line, c + 1, what);
}

/* ---- the columns ----------------------------------------------------------------- */

/* Resolves a column reference: a name, else a 1-based number ("-1": last).
 * -1 when it names no column. */
static int find_column(const reader *r, const char *ref)
{
    for (int c = 0; c < r->ncols; c++)
        if (strcmp(r->names[c], ref) == 0)
            return c;
    char *end;
    long k = strtol(ref, &end, 10);
    if (end == ref || *end != '\0' || k == 0 || k > r->ncols || k < -r->ncols)
        return -1;
    return k > 0 ? (int)k - 1 : r->ncols + (int)k;
}

static dl_status no_column(const reader *r, const char *option, const char *ref)
{
    char list[256];
    return dl_fail(DL_ERR_ARGUMENT, "bad argument #2 to '%s' (option '%s': no column '%s' "
                   "in '%s'; its columns are %s)", r->fn, option, ref, r->file,
                   name_list(r->names, r->ncols, list, sizeof list));
}

/* Names the columns from the first record (header) or by number. */
static dl_status name_columns(reader *r)
{
    r->ncols = r->lx.nfields;
    r->names = calloc((size_t)r->ncols, sizeof *r->names);
    r->kind = calloc((size_t)r->ncols, sizeof *r->kind);
    r->values = calloc((size_t)r->ncols, sizeof *r->values);
    r->rank = calloc((size_t)r->ncols, sizeof *r->rank);
    r->first_out = calloc((size_t)r->ncols, sizeof *r->first_out);
    r->sum = calloc((size_t)r->ncols, sizeof *r->sum);
    r->present = calloc((size_t)r->ncols, sizeof *r->present);
    if (!r->names || !r->kind || !r->values || !r->rank || !r->first_out || !r->sum ||
        !r->present)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
    for (int c = 0; c < r->ncols; c++) {
        char number[16];
        snprintf(number, sizeof number, "%d", c + 1);
        r->names[c] = strdup(r->o->header ? dl_csv_text(&r->lx, c) : number);
        if (r->names[c] == NULL)
            return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
    }
    return DL_OK;
}

/* Sets the target and the forced kinds from the options. */
static dl_status choose_columns(reader *r)
{
    const dl_csv_options *o = r->o;
    column_kind feature_kind = o->one_hot ? KIND_UNKNOWN : KIND_NUMBER;
    for (int c = 0; c < r->ncols; c++)
        r->kind[c] = feature_kind;
    r->target = -1;
    if (o->target != NULL) {
        r->target = find_column(r, o->target);
        if (r->target < 0)
            return no_column(r, "target", o->target);
        bool classes = o->classes || o->nfixed_classes > 0;
        r->kind[r->target] = classes ? KIND_CATEGORY : KIND_UNKNOWN;
        for (int i = 0; i < o->nfixed_classes; i++)
            if (dl_strset_add(&r->values[r->target], o->fixed_classes[i]) < 0)
                return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
    }
    for (int i = 0; i < o->n_one_hot_columns; i++) {
        int c = find_column(r, o->one_hot_columns[i]);
        if (c < 0)
            return no_column(r, "one_hot", o->one_hot_columns[i]);
        if (c == r->target)
            return dl_fail(DL_ERR_ARGUMENT, "bad argument #2 to '%s' (option 'one_hot': "
                           "column '%s' is the target)", r->fn, r->names[c]);
        r->kind[c] = KIND_CATEGORY;
    }
    return DL_OK;
}

/* ---- records --------------------------------------------------------------------- */

static bool is_missing(const char *text, size_t n)
{
    static const char *const words[] = {
        "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "?", NULL
    };
    while (n > 0 && (*text == ' ' || *text == '\t')) {
        text++;
        n--;
    }
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    if (n == 0)
        return true;
    if (n > 4 || (text[0] >= '0' && text[0] <= '9'))
        return false;                  /* the common case, decided at once */
    for (const char *const *w = words; *w; w++)
        if (strncmp(*w, text, n) == 0 && (*w)[n] == '\0')
            return true;
    return false;
}

static dl_status check_field_count(const reader *r)
{
    if (r->lx.nfields == r->ncols)
        return DL_OK;
    return dl_fail(DL_ERR_ARGUMENT, "%s:%lld: expected %d fields (as in %s), got %d",
                   r->file, (long long)r->lx.record_line, r->ncols,
                   r->o->header ? "the header" : "line 1", r->lx.nfields);
}

/* Checks the record's missing cells against the policy; *drop is set when
 * the row is to be left out. */
static dl_status check_missing(const reader *r, bool *drop)
{
    *drop = false;
    for (int c = 0; c < r->ncols; c++) {
        if (!is_missing(dl_csv_text(&r->lx, c), r->lx.fields[c].length))
            continue;
        if (r->o->missing == DL_MISSING_DROP) {
            *drop = true;
            return DL_OK;
        }
        char label[160], what[256];
        if (c == r->target && r->o->missing != DL_MISSING_ERROR)
            snprintf(what, sizeof what, "missing target value (%s; missing = \"drop\" "
                     "leaves such rows out)", column_label(r, c, label, sizeof label));
        else if (c == r->target || r->o->missing == DL_MISSING_ERROR)
            snprintf(what, sizeof what, "missing value (%s)",
                     column_label(r, c, label, sizeof label));
        else
            continue;
        return fail_at(r, r->lx.fields[c].line, c, what);
    }
    return DL_OK;
}

/* Pass 1 on one data record. */
static dl_status scan_record(reader *r)
{
    bool drop;
    dl_status status = check_field_count(r);
    if (status == DL_OK)
        status = check_missing(r, &drop);
    if (status != DL_OK)
        return status;
    if (drop) {
        r->dropped++;
        return DL_OK;
    }
    for (int c = 0; c < r->ncols; c++) {
        const char *text = dl_csv_text(&r->lx, c);
        if (r->kind[c] == KIND_NUMBER || is_missing(text, r->lx.fields[c].length))
            continue;
        if (r->kind[c] == KIND_UNKNOWN) {
            float v;
            r->kind[c] = dl_parse_float(text, r->lx.fields[c].length, &v) ? KIND_NUMBER
                                                                           : KIND_CATEGORY;
            if (r->kind[c] == KIND_NUMBER)
                continue;
        }
        if (c == r->target && r->o->nfixed_classes > 0) {
            if (dl_strset_find(&r->values[c], text) < 0) {
                char what[512], list[256], shown[64];
                snprintf(what, sizeof what, "unknown class \"%s\" (the classes given are %s)",
                         excerpt(text, shown, sizeof shown),
                         name_list(r->values[c].strings, r->values[c].count, list,
                                   sizeof list));
                return fail_at(r, r->lx.fields[c].line, c, what);
            }
        } else if (dl_strset_add(&r->values[c], text) < 0) {
            return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
        }
    }
    r->rows++;
    return DL_OK;
}

static dl_status scan(reader *r)
{
    dl_status status;
    bool got;
    if ((status = dl_csv_next(&r->lx, &got)) != DL_OK)
        return status;
    if (!got)
        return dl_fail(DL_ERR_ARGUMENT, "%s: the file is empty", r->file);
    if ((status = name_columns(r)) != DL_OK || (status = choose_columns(r)) != DL_OK)
        return status;
    if (!r->o->header && (status = scan_record(r)) != DL_OK)
        return status;
    for (;;) {
        if ((status = dl_csv_next(&r->lx, &got)) != DL_OK)
            return status;
        if (!got)
            break;
        if ((status = scan_record(r)) != DL_OK)
            return status;
    }
    if (r->rows == 0 && r->dropped > 0)
        return dl_fail(DL_ERR_ARGUMENT, "%s: no data rows left: all %lld have missing cells",
                       r->file, (long long)r->dropped);
    if (r->rows == 0)
        return dl_fail(DL_ERR_ARGUMENT, "%s: no data rows after the header", r->file);
    return DL_OK;
}

/* ---- between the passes ------------------------------------------------------- */

/* Sorts category values, places each column in x, counts the features. */
static dl_status lay_out(reader *r)
{
    int out = 0;
    for (int c = 0; c < r->ncols; c++) {
        if (r->kind[c] == KIND_UNKNOWN)
            r->kind[c] = KIND_NUMBER;      /* every cell was missing */
        if (r->kind[c] == KIND_CATEGORY) {
            r->rank[c] = malloc((size_t)(r->values[c].count + 1) * sizeof **r->rank);
            if (r->rank[c] == NULL)
                return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
            if (c == r->target && r->o->nfixed_classes > 0) {
                for (int i = 0; i < r->values[c].count; i++)
                    r->rank[c][i] = i;
            } else if (dl_strset_ranks(&r->values[c], r->rank[c]) != DL_OK) {
                return DL_ERR_MEMORY;
            }
        }
        if (c == r->target)
            continue;
        r->first_out[c] = out;
        int width = r->kind[c] == KIND_CATEGORY ? r->values[c].count : 1;
        if (width > DL_CSV_MAX_FIELDS - out)
            return dl_fail(DL_ERR_ARGUMENT, "%s: more than %d feature columns after one-hot "
                           "encoding", r->file, DL_CSV_MAX_FIELDS);
        out += width;
    }
    r->nfeatures = out;
    return DL_OK;
}

/* Fills the names of x's columns: "name", or "name=value" for one-hot. */
static dl_status name_features(const reader *r, dl_csv_table *t)
{
    t->features = calloc((size_t)r->nfeatures + 1, sizeof *t->features);
    if (t->features == NULL)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
    t->nfeatures = r->nfeatures;
    for (int c = 0; c < r->ncols; c++) {
        if (c == r->target)
            continue;
        if (r->kind[c] == KIND_NUMBER) {
            t->features[r->first_out[c]] = strdup(r->names[c]);
            if (t->features[r->first_out[c]] == NULL)
                return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
            continue;
        }
        for (int id = 0; id < r->values[c].count; id++) {
            const char *value = r->values[c].strings[id];
            size_t n = strlen(r->names[c]) + strlen(value) + 2;
            char *name = malloc(n);
            if (name == NULL)
                return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
            snprintf(name, n, "%s=%s", r->names[c], value);
            t->features[r->first_out[c] + r->rank[c][id]] = name;
        }
    }
    return DL_OK;
}

/* The target's name and, for classes, the class names in class order. */
static dl_status name_target(const reader *r, dl_csv_table *t)
{
    if (r->target < 0)
        return DL_OK;
    t->target = strdup(r->names[r->target]);
    if (t->target == NULL)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
    if (r->kind[r->target] != KIND_CATEGORY)
        return DL_OK;
    const dl_strset *v = &r->values[r->target];
    t->classes = calloc((size_t)v->count + 1, sizeof *t->classes);
    if (t->classes == NULL)
        return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
    t->nclasses = v->count;
    for (int id = 0; id < v->count; id++) {
        t->classes[r->rank[r->target][id]] = strdup(v->strings[id]);
        if (t->classes[r->rank[r->target][id]] == NULL)
            return dl_fail(DL_ERR_MEMORY, "%s: out of memory", r->file);
    }
    return DL_OK;
}

/* ---- pass 2 --------------------------------------------------------------------- */

static dl_status changed(const reader *r)
{
    return dl_fail(DL_ERR_IO, "%s: the file changed while it was read", r->file);
}

/* Parses cell c of the current record as a number. */
static dl_status number_at(const reader *r, int c, float *v)
{
    const char *text = dl_csv_text(&r->lx, c);
    int ok = dl_parse_float(text, r->lx.fields[c].length, v);
    if (ok == 1)
        return DL_OK;
    char what[400], label[160], shown[64];
    snprintf(what, sizeof what, "%s, got \"%s\" (%s)",
             ok == 0 ? "expected a number" : "expected a number in float32's range",
             excerpt(text, shown, sizeof shown), column_label(r, c, label, sizeof label));
    return fail_at(r, r->lx.fields[c].line, c, what);
}

/* Pass 2 on one data record: writes row `row` of x and y. */
static dl_status fill_record(reader *r, int64_t row, float *x, float *y)
{
    float *xrow = x + row * r->nfeatures;
    for (int c = 0; c < r->ncols; c++) {
        const char *text = dl_csv_text(&r->lx, c);
        bool missing = is_missing(text, r->lx.fields[c].length);
        float v = 0;
        if (r->kind[c] == KIND_CATEGORY) {
            int id = missing ? -1 : dl_strset_find(&r->values[c], text);
            if (!missing && id < 0)
                return changed(r);
            if (c == r->target)
                y[row] = (float)(r->rank[c][id] + 1);
            else if (id >= 0)
                xrow[r->first_out[c] + r->rank[c][id]] = 1.0f;
            continue;
        }
        if (missing) {
            v = r->o->missing == DL_MISSING_MEAN ? NAN : 0.0f;
        } else {
            dl_status status = number_at(r, c, &v);
            if (status != DL_OK)
                return status;
            r->sum[c] += v;
            r->present[c]++;
        }
        if (c == r->target)
            y[row] = v;
        else
            xrow[r->first_out[c]] = v;
    }
    return DL_OK;
}

static dl_status fill(reader *r, float *x, float *y)
{
    dl_status status;
    bool got, drop;
    if ((status = dl_csv_lexer_rewind(&r->lx)) != DL_OK)
        return status;
    if (r->o->header) {
        if ((status = dl_csv_next(&r->lx, &got)) != DL_OK)
            return status;
        if (!got)
            return changed(r);
    }
    int64_t row = 0;
    for (;;) {
        if ((status = dl_csv_next(&r->lx, &got)) != DL_OK)
            return status;
        if (!got)
            break;
        if ((status = check_field_count(r)) != DL_OK ||
            (status = check_missing(r, &drop)) != DL_OK)
            return status;
        if (drop)
            continue;
        if (row == r->rows)
            return changed(r);
        if ((status = fill_record(r, row++, x, y)) != DL_OK)
            return status;
        if (row % 65536 == 0 && dl_interrupted())
            return dl_fail(DL_ERR_INTERRUPTED, "%s: interrupted", r->file);
    }
    return row == r->rows ? DL_OK : changed(r);
}

/* missing = "mean": NaN cells get their column's mean. */
static dl_status impute_means(const reader *r, float *x)
{
    for (int c = 0; c < r->ncols; c++) {
        if (c == r->target || r->kind[c] != KIND_NUMBER || r->present[c] == r->rows)
            continue;
        if (r->present[c] == 0) {
            char label[160];
            return dl_fail(DL_ERR_ARGUMENT, "%s: %s has no values to take the mean of",
                           r->file, column_label(r, c, label, sizeof label));
        }
        float mean = (float)(r->sum[c] / (double)r->present[c]);
        for (int64_t i = 0; i < r->rows; i++) {
            float *cell = x + i * r->nfeatures + r->first_out[c];
            if (isnan(*cell))
                *cell = mean;
        }
    }
    return DL_OK;
}

/* ---- the reader ------------------------------------------------------------------ */

static void reader_free(reader *r)
{
    for (int c = 0; c < r->ncols; c++) {
        if (r->names)
            free(r->names[c]);
        if (r->values)
            dl_strset_free(&r->values[c]);
        if (r->rank)
            free(r->rank[c]);
    }
    free(r->names);
    free(r->kind);
    free(r->values);
    free(r->rank);
    free(r->first_out);
    free(r->sum);
    free(r->present);
    dl_csv_lexer_free(&r->lx);
}

static dl_status check_options(const char *fn, const dl_csv_options *o)
{
    char sep = o->sep;
    if (sep == '"' || sep == '\n' || sep == '\r' || sep == '\0')
        return dl_fail(DL_ERR_ARGUMENT, "bad argument #2 to '%s' (option 'sep' cannot be a "
                       "quote, a line break or NUL)", fn);
    return DL_OK;
}

/* Pass 2 and the names, into t. */
static dl_status build(reader *r, dl_csv_table *t)
{
    dl_status status = lay_out(r);
    if (status != DL_OK)
        return status;
    int64_t xshape[2] = {r->rows, r->nfeatures};
    if ((status = dl_full(r->fn, 2, xshape, 0.0f, &t->x)) != DL_OK)
        return status;
    float *y = NULL;
    if (r->target >= 0) {
        if ((status = dl_empty(r->fn, 1, &r->rows, &t->y)) != DL_OK)
            return status;
        y = dl_data(t->y);
    }
    if ((status = fill(r, dl_data(t->x), y)) != DL_OK)
        return status;
    if (r->o->missing == DL_MISSING_MEAN && (status = impute_means(r, dl_data(t->x))))
        return status;
    if ((status = name_features(r, t)) != DL_OK)
        return status;
    t->dropped = r->dropped;
    return name_target(r, t);
}

dl_status dl_csv_read_source(const char *fn, dl_source *src, const dl_csv_options *o,
                             dl_csv_table *out)
{
    dl_status status = check_options(fn, o);
    if (status != DL_OK)
        return status;
    reader r = {.fn = fn, .file = dl_source_name(src), .o = o};
    dl_csv_table t = {0};
    dl_csv_lexer_init(&r.lx, src, o->sep);
    status = scan(&r);
    if (status == DL_OK)
        status = build(&r, &t);
    reader_free(&r);
    if (status != DL_OK) {
        dl_csv_table_free(&t);
        return status;
    }
    *out = t;
    return DL_OK;
}

dl_status dl_csv_read(const char *fn, const char *path, const dl_csv_options *o,
                      dl_csv_table *out)
{
    dl_source *src;
    dl_status status = dl_source_open(fn, path, &src);
    if (status != DL_OK)
        return status;
    status = dl_csv_read_source(fn, src, o, out);
    dl_source_close(src);
    return status;
}

static void free_names(char **names, int n)
{
    if (names == NULL)
        return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void dl_csv_table_free(dl_csv_table *t)
{
    dl_release(t->x);
    dl_release(t->y);
    free_names(t->features, t->nfeatures);
    free_names(t->classes, t->nclasses);
    free(t->target);
    memset(t, 0, sizeof *t);
}
