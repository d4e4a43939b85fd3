/*
 * csv_lex.c -- splits CSV text into records of fields (RFC 4180).
 *
 * A byte-at-a-time state machine, except for runs of ordinary bytes in
 * unquoted fields, which are found with a table lookup and copied at once:
 * that is most of a numeric file. The source is read in 64 KiB chunks, so
 * memory is the chunk plus one record, however large the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"

#define AT_END (-1)
#define READ_ERROR (-2)

void dl_csv_lexer_init(dl_csv_lexer *lx, dl_source *src, char sep)
{
    memset(lx, 0, sizeof *lx);
    lx->src = src;
    lx->sep = sep;
    lx->line = 1;
    lx->special[(unsigned char)sep] = true;
    lx->special['\n'] = lx->special['\r'] = lx->special[0] = true;
}

void dl_csv_lexer_free(dl_csv_lexer *lx)
{
    free(lx->text);
    free(lx->fields);
    lx->text = NULL;
    lx->fields = NULL;
}

dl_status dl_csv_lexer_rewind(dl_csv_lexer *lx)
{
    lx->pos = lx->end = 0;
    lx->at_end = false;
    lx->line = 1;
    return dl_source_rewind(lx->src);
}

/* Refills the chunk; false at the end of the input or on an error. */
static bool fill(dl_csv_lexer *lx, int *status)
{
    int64_t k = dl_source_read(lx->src, lx->buf, sizeof lx->buf);
    if (k <= 0) {
        lx->at_end = true;
        *status = k < 0 ? READ_ERROR : AT_END;
        return false;
    }
    lx->pos = 0;
    lx->end = (size_t)k;
    return true;
}

/* The next byte, AT_END or READ_ERROR. */
static inline int next_byte(dl_csv_lexer *lx)
{
    int status = AT_END;
    if (lx->pos == lx->end && (lx->at_end || !fill(lx, &status)))
        return status;
    return lx->buf[lx->pos++];
}

/* Skips a UTF-8 byte order mark at the start of the input. */
static int skip_bom(dl_csv_lexer *lx)
{
    int status = AT_END;
    if (!fill(lx, &status))
        return status == READ_ERROR ? -1 : 0;
    if (lx->end >= 3 && memcmp(lx->buf, "\xEF\xBB\xBF", 3) == 0)
        lx->pos = 3;
    return 0;
}

static dl_status too_long(dl_csv_lexer *lx)
{
    return dl_fail(DL_ERR_ARGUMENT, "%s:%lld: a record longer than %zu MiB: is this a CSV "
                   "file?", dl_source_name(lx->src), (long long)lx->record_line,
                   DL_CSV_MAX_RECORD >> 20);
}

/* Appends n bytes to the record text. */
static dl_status append(dl_csv_lexer *lx, const void *bytes, size_t n)
{
    if (lx->text_len + n + 1 > lx->text_cap) {
        size_t cap = lx->text_cap ? lx->text_cap : 1024;
        while (cap < lx->text_len + n + 1)
            cap *= 2;
        if (cap > DL_CSV_MAX_RECORD)
            return too_long(lx);
        char *text = realloc(lx->text, cap);
        if (text == NULL)
            return dl_fail(DL_ERR_MEMORY, "%s: out of memory", dl_source_name(lx->src));
        lx->text = text;
        lx->text_cap = cap;
    }
    memcpy(lx->text + lx->text_len, bytes, n);
    lx->text_len += n;
    return DL_OK;
}

/* Ends the field that started at text offset `start` on line `line`. */
static dl_status end_field(dl_csv_lexer *lx, size_t start, int64_t line)
{
    dl_status status = append(lx, "", 1);
    if (status != DL_OK)
        return status;
    if (lx->nfields == lx->fields_cap) {
        if (lx->fields_cap == DL_CSV_MAX_FIELDS)
            return dl_fail(DL_ERR_ARGUMENT, "%s:%lld: more than %d fields in a record",
                           dl_source_name(lx->src), (long long)lx->record_line,
                           DL_CSV_MAX_FIELDS);
        int cap = lx->fields_cap ? 2 * lx->fields_cap : 64;
        dl_csv_field *fields = realloc(lx->fields, (size_t)cap * sizeof *fields);
        if (fields == NULL)
            return dl_fail(DL_ERR_MEMORY, "%s: out of memory", dl_source_name(lx->src));
        lx->fields = fields;
        lx->fields_cap = cap;
    }
    lx->fields[lx->nfields++] = (dl_csv_field){start, lx->text_len - 1 - start, line};
    return DL_OK;
}

static dl_status nul_byte(dl_csv_lexer *lx)
{
    return dl_fail(DL_ERR_ARGUMENT, "%s:%lld:%d: a NUL byte: this is not a text file",
                   dl_source_name(lx->src), (long long)lx->line, lx->nfields + 1);
}

/* Reads an unquoted field whose first byte is c; returns the byte that
 * ended it (separator, CR, LF, AT_END, READ_ERROR) in *end. Runs of
 * ordinary bytes are found in the chunk and copied at once. */
static dl_status unquoted(dl_csv_lexer *lx, int c, int *end)
{
    if (c >= 0)
        lx->pos--;                      /* c goes with the run that follows */
    for (;;) {
        size_t i = lx->pos;
        while (i < lx->end && !lx->special[lx->buf[i]])
            i++;
        dl_status status = append(lx, lx->buf + lx->pos, i - lx->pos);
        if (status != DL_OK)
            return status;
        lx->pos = i;
        c = next_byte(lx);
        if (c < 0 || c == lx->sep || c == '\n' || c == '\r')
            break;
        if (c == 0)
            return nul_byte(lx);
        lx->pos--;                      /* an ordinary byte of a new chunk */
    }
    *end = c;
    return DL_OK;
}

/* Names byte c for a message: 'x', or 0x1b for one that does not print. */
static void byte_name(int c, char *buf, size_t size)
{
    if (c > 32 && c < 127)
        snprintf(buf, size, "'%c'", c);
    else
        snprintf(buf, size, "byte 0x%02x", c);
}

/* Reads a quoted field whose opening quote was just read; *end as above. */
static dl_status quoted(dl_csv_lexer *lx, int64_t start_line, int *end)
{
    const char *name = dl_source_name(lx->src);
    for (;;) {
        int c = next_byte(lx);
        if (c == '"') {
            c = next_byte(lx);
            if (c != '"') {
                if (c >= 0 && c != lx->sep && c != '\n' && c != '\r') {
                    char what[16];
                    byte_name(c, what, sizeof what);
                    return dl_fail(DL_ERR_ARGUMENT, "%s:%lld:%d: %s after the closing quote "
                                   "of a quoted field (a quote inside one is written \"\")",
                                   name, (long long)lx->line, lx->nfields + 1, what);
                }
                *end = c;
                return DL_OK;
            }
        } else if (c == AT_END) {
            return dl_fail(DL_ERR_ARGUMENT, "%s:%lld:%d: a quoted field that never ends "
                           "(its closing quote is missing)", name, (long long)start_line,
                           lx->nfields + 1);
        } else if (c == READ_ERROR) {
            return DL_ERR_IO;
        } else if (c == 0) {
            return nul_byte(lx);
        } else if (c == '\n') {
            lx->line++;
        }
        unsigned char byte = (unsigned char)c;
        dl_status status = append(lx, &byte, 1);
        if (status != DL_OK)
            return status;
    }
}

/* Consumes the LF of a CRLF after a CR was read. */
static void finish_cr(dl_csv_lexer *lx)
{
    int c = next_byte(lx);
    if (c >= 0 && c != '\n')
        lx->pos--;
}

dl_status dl_csv_next(dl_csv_lexer *lx, bool *got)
{
    lx->text_len = 0;
    lx->nfields = 0;
    *got = false;
    if (lx->pos == 0 && lx->end == 0 && !lx->at_end && skip_bom(lx) != 0)
        return DL_ERR_IO;
    int c;
    for (;;) {                           /* empty lines are skipped */
        c = next_byte(lx);
        if (c == '\r')
            finish_cr(lx);
        else if (c != '\n')
            break;
        lx->line++;
    }
    if (c == AT_END)
        return DL_OK;
    lx->record_line = lx->line;
    for (;;) {
        size_t start = lx->text_len;
        int64_t line = lx->line;
        dl_status status = c == '"' ? quoted(lx, line, &c) : unquoted(lx, c, &c);
        if (status == DL_OK)
            status = end_field(lx, start, line);
        if (status != DL_OK)
            return status;
        if (c == READ_ERROR)
            return DL_ERR_IO;
        if (c != lx->sep)
            break;
        c = next_byte(lx);
    }
    if (c == '\r')
        finish_cr(lx);
    if (c == '\r' || c == '\n')
        lx->line++;
    *got = true;
    return DL_OK;
}
