/*
 * print.c -- tensors as text, the way PyTorch prints them.
 *
 *   [[ 1.0000, -2.5000],
 *    [ 3.0000,  4.0000]]
 *   [tensor of shape (2, 2), requires_grad]
 *
 * One number format for the whole tensor, chosen as PyTorch's _Formatter
 * does: integers as "3." when every value is whole, "%.4f" normally, and
 * "%.4e" when magnitudes span more than 1000x or leave [1e-4, 1e8]. Values
 * are right-aligned to the widest. Tensors of more than 1000 elements show
 * the first and last three entries of each long dim around a "...", and
 * rows wrap at 80 columns.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SUMMARY_THRESHOLD 1000
#define EDGE_ITEMS 3
#define LINE_WIDTH 80

typedef struct {
    char *text;
    size_t length, capacity;
    bool failed;
} text_buffer;

static void put(text_buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text_buffer *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->length + (size_t)need + 1 > b->capacity) {
        size_t cap = (b->capacity + (size_t)need + 1) * 2;
        char *grown = realloc(b->text, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->text = grown;
        b->capacity = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->text + b->length, b->capacity - b->length, fmt, ap);
    va_end(ap);
    b->length += (size_t)need;
}

typedef enum { STYLE_INTEGER, STYLE_FIXED, STYLE_SCIENTIFIC } number_style;

typedef struct {
    const dl_tensor *t;
    bool summarize;
    number_style style;
    int width;
    /* statistics gathered over the printed elements */
    bool all_integral;
    double max_abs, min_abs;
} printer;

static int format_number(const printer *p, float v, char *buf, size_t size)
{
    if (isnan(v))
        return snprintf(buf, size, "nan");
    if (isinf(v))
        return snprintf(buf, size, v > 0 ? "inf" : "-inf");
    switch (p->style) {
    case STYLE_INTEGER:
        return snprintf(buf, size, "%.0f.", (double)v);
    case STYLE_FIXED:
        return snprintf(buf, size, "%.4f", (double)v);
    case STYLE_SCIENTIFIC:
        break;
    }
    return snprintf(buf, size, "%.4e", (double)v);
}

/* Whether entry i of a dim of `size` is printed, and whether a "..." goes
 * before it. */
static bool shown(const printer *p, int64_t size, int64_t i)
{
    return !p->summarize || size <= 2 * EDGE_ITEMS || i < EDGE_ITEMS || i >= size - EDGE_ITEMS;
}

typedef void (*element_fn)(printer *p, float v);

static void visit(printer *p, int dim, int64_t offset, element_fn fn)
{
    const dl_tensor *t = p->t;
    if (dim >= t->ndim || dim >= DL_MAX_DIM) {
        fn(p, t->storage->data[offset]);
        return;
    }
    for (int64_t i = 0; i < t->shape[dim]; i++)
        if (shown(p, t->shape[dim], i))
            visit(p, dim + 1, offset + i * t->stride[dim], fn);
}

static void gather_statistics(printer *p, float v)
{
    if (!isfinite(v))
        return;
    double a = fabs((double)v);
    if ((double)v != floor((double)v))
        p->all_integral = false;
    if (a > p->max_abs)
        p->max_abs = a;
    if (a > 0 && a < p->min_abs)
        p->min_abs = a;
}

static void measure_width(printer *p, float v)
{
    char buf[64];
    int w = format_number(p, v, buf, sizeof buf);
    if (w > p->width)
        p->width = w;
}

static void choose_style(printer *p)
{
    p->all_integral = true;
    p->max_abs = 0;
    p->min_abs = INFINITY;
    visit(p, 0, p->t->offset, gather_statistics);
    if (p->all_integral)
        p->style = p->max_abs > 1e8 ? STYLE_SCIENTIFIC : STYLE_INTEGER;
    else if (p->max_abs > 1e8 || p->min_abs < 1e-4 || p->max_abs / p->min_abs > 1000)
        p->style = STYLE_SCIENTIFIC;
    else
        p->style = STYLE_FIXED;
    p->width = 1;
    visit(p, 0, p->t->offset, measure_width);
}

static void put_number(text_buffer *b, const printer *p, float v)
{
    char buf[64];
    format_number(p, v, buf, sizeof buf);
    put(b, "%*s", p->width, buf);
}

/* Writes one entry of the last dim, wrapping the row at LINE_WIDTH. */
static void put_row_item(text_buffer *b, const char *item, int width, int indent,
                         int *on_line)
{
    int per_line = (LINE_WIDTH - indent - 2) / (width + 2);
    if (*on_line > 0) {
        if (*on_line >= (per_line > 1 ? per_line : 1)) {
            put(b, ",\n%*s", indent + 1, "");
            *on_line = 0;
        } else {
            put(b, ", ");
        }
    }
    put(b, "%*s", width, item);
    (*on_line)++;
}

/* Writes dim `dim` starting at `offset`; `indent` is the column of its '['. */
static void put_block(text_buffer *b, const printer *p, int dim, int64_t offset, int indent)
{
    const dl_tensor *t = p->t;
    int64_t size = t->shape[dim];
    bool last_dim = dim >= t->ndim - 1 || dim >= DL_MAX_DIM - 1;
    int blank_lines = t->ndim - dim - 2;
    int on_line = 0;
    put(b, "[");
    for (int64_t i = 0; i < size; i++) {
        if (!shown(p, size, i))
            continue;
        bool gap = i > 0 && !shown(p, size, i - 1);
        if (last_dim) {
            char number[64];
            if (gap)
                put_row_item(b, "...", 3, indent, &on_line);
            format_number(p, t->storage->data[offset + i * t->stride[dim]], number, sizeof number);
            put_row_item(b, number, p->width, indent, &on_line);
            continue;
        }
        if (on_line > 0)
            put(b, ",\n%.*s%*s", blank_lines, "\n\n\n", indent + 1, "");
        if (gap)
            put(b, "...,\n%.*s%*s", blank_lines, "\n\n\n", indent + 1, "");
        put_block(b, p, dim + 1, offset + i * t->stride[dim], indent + 1);
        on_line = 1;
    }
    put(b, "]");
}

char *dl_format(const dl_tensor *t)
{
    text_buffer b = {0};
    printer p = {.t = t, .summarize = dl_numel(t) > SUMMARY_THRESHOLD};
    if (dl_numel(t) > 0)
        choose_style(&p);
    if (t->ndim == 0)
        put_number(&b, &p, dl_data(t)[0]);
    else if (dl_numel(t) == 0)
        put(&b, "[]");
    else
        put_block(&b, &p, 0, t->offset, 0);
    char shape[192];
    dl_shape_string(t, shape, sizeof shape);
    const char *grad = t->requires_grad ? ", requires_grad" : "";
    if (t->ndim == 0)
        put(&b, "\n[scalar tensor%s]", grad);
    else
        put(&b, "\n[tensor of shape %s%s]", shape, grad);
    if (b.failed) {
        free(b.text);
        return NULL;
    }
    return b.text;
}
