/*
 * io_internal.h -- helpers shared by the readers of core/io; not public.
 */
#ifndef DL_IO_INTERNAL_H
#define DL_IO_INTERNAL_H

#include "io.h"

/* ---- CSV records (csv_lex.c) ---------------------------------------------- */

#define DL_CSV_MAX_RECORD ((size_t)16 << 20)   /* bytes of one record */
#define DL_CSV_MAX_FIELDS (1 << 20)            /* fields of one record */

typedef struct {
    size_t start;          /* offset of the text in the lexer's record buffer */
    size_t length;
    int64_t line;          /* physical line (1-based) where the field starts */
} dl_csv_field;

/* Splits a source into records of fields. The text of every field is
 * unquoted and NUL-terminated in `text`; it stays valid until the next
 * call of dl_csv_next. */
typedef struct {
    dl_source *src;
    char sep;
    bool special[256];             /* bytes that end an unquoted field */
    unsigned char buf[65536];
    size_t pos, end;
    bool at_end;
    int64_t line;                  /* current physical line */
    char *text;
    size_t text_len, text_cap;
    dl_csv_field *fields;
    int nfields, fields_cap;
    int64_t record_line;           /* line where the current record starts */
} dl_csv_lexer;

/* A lexer at the start of src (which stays owned by the caller). */
void dl_csv_lexer_init(dl_csv_lexer *lx, dl_source *src, char sep);

/* Reads the next record into lx->fields / lx->nfields; *got is false at the
 * end of the input. Errors: an unterminated quote, a character after a
 * closing quote, a NUL byte, a record over the size limits, read errors. */
dl_status dl_csv_next(dl_csv_lexer *lx, bool *got);

/* Rewinds the source and starts over. */
dl_status dl_csv_lexer_rewind(dl_csv_lexer *lx);

/* Text of field i of the current record. */
static inline const char *dl_csv_text(const dl_csv_lexer *lx, int i)
{
    return lx->text + lx->fields[i].start;
}

/* Frees the lexer's buffers (not the source). */
void dl_csv_lexer_free(dl_csv_lexer *lx);

/* ---- numbers in text (csv_number.c) ---------------------------------------- */

/* Parses a decimal number (spaces around it allowed) as float32, the same
 * in every locale. Returns 1 on success, 0 when the text is not a number,
 * -1 when it is one outside float32's finite range. */
int dl_parse_float(const char *text, size_t length, float *value);

/* ---- sets of strings (strset.c) ---------------------------------------------- */

/* Distinct strings, each with an id in order of first insertion. */
typedef struct {
    char **strings;        /* by id */
    int count;
    int *slots;            /* hash table of ids + 1 (0: empty) */
    size_t nslots;         /* a power of two */
} dl_strset;

/* Adds s (when new) and returns its id, or -1 when out of memory. */
int dl_strset_add(dl_strset *set, const char *s);

/* The id of s, or -1 when absent. */
int dl_strset_find(const dl_strset *set, const char *s);

/* rank[id] = position of string id when the set is sorted: numerically when
 * every string is a number, else bytewise. rank holds set->count ints.
 * Returns DL_ERR_MEMORY when out of memory. */
dl_status dl_strset_ranks(const dl_strset *set, int *rank);

/* Frees the strings and the table, and zeroes the set. */
void dl_strset_free(dl_strset *set);

/* ---- image structure (image_check.c) --------------------------------------- */

/* Checks what stb_image 2.27 does not before it decodes: JPEG Huffman
 * tables (at most 256 codes, defined before a scan uses them), and that a
 * BMP or GIF is not truncated. `format` is "PNG", "JPEG", "BMP" or "GIF".
 * Error: "name: byte N: corrupt JPEG image (...)", "name: truncated BMP
 * image (...)". */
dl_status dl_image_check(const char *name, const char *format, const uint8_t *data,
                         size_t size);

#endif
