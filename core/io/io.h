/*
 * io.h -- readers of data files: CSV tables, IDX arrays, images.
 *
 * The readers know nothing of Lua. They stream their input (a file or a
 * memory block, gzip-compressed or plain, through a dl_source) and build
 * dl_tensor results, plus what a dataset needs besides the numbers: column
 * and class names, byte buffers.
 *
 * Errors follow the core's rules (dl.h): a dl_status, a message readable
 * with dl_error(), nothing written to the outputs on failure, never an
 * abort. Problems with the arguments name the Lua function and argument:
 *     bad argument #1 to 'csv' (cannot open 'x.csv': No such file or directory)
 * Problems with the contents of a file name the file and the place:
 *     data.csv:12:3: expected a number, got "abc" (column 'petal_width')
 *     train.idx: truncated at byte 1016: the header promises 47040000 bytes of data
 * For CSV the place is line:column, the column counting fields (the third
 * field of the line is column 3); for binary files it is a byte offset.
 */
#ifndef DL_IO_H
#define DL_IO_H

#include "dl.h"

/* ---- byte sources (source.c) -------------------------------------------- *
 * One stream of bytes from a file or a memory block. Input that starts with
 * the gzip magic (1f 8b) is inflated on the fly, so every reader takes
 * .gz files as they are. */

typedef struct dl_source dl_source;

/* Opens the file at `path`. Error: "bad argument #1 to 'fn' (cannot open
 * 'path': reason)". */
dl_status dl_source_open(const char *fn, const char *path, dl_source **out);

/* A source reading `size` bytes at `data` (not copied: keep them alive
 * until dl_source_close). `name` stands for the file in messages. */
dl_status dl_source_memory(const char *name, const void *data, size_t size,
                           dl_source **out);

/* Reads up to n bytes into buf; fewer only at the end of the data. Returns
 * the count, or -1 on a read error or corrupt gzip data (message set). */
int64_t dl_source_read(dl_source *s, void *buf, size_t n);

/* An upper bound of the bytes still to come: exact for plain input, the
 * largest possible inflated size for gzip. Lets readers reject a header
 * that promises more data than the file can hold before allocating. */
uint64_t dl_source_bound(const dl_source *s);

/* Bytes delivered so far (uncompressed), for messages giving an offset. */
uint64_t dl_source_offset(const dl_source *s);

/* Starts again from the first byte. */
dl_status dl_source_rewind(dl_source *s);

/* The name messages use for this source (the path as given). */
const char *dl_source_name(const dl_source *s);

/* Closes the file and frees the source. NULL is ignored. */
void dl_source_close(dl_source *s);

/* ---- CSV tables (csv_lex.c, csv.c) --------------------------------------- *
 * RFC 4180: fields separated by `sep`, records by LF, CRLF or CR; quoted
 * fields may hold separators, quotes (doubled) and line breaks; a UTF-8 BOM
 * is skipped; empty lines are skipped. Every record must have as many
 * fields as the first. Cells that are empty or hold NA, N/A, n/a, NaN, nan,
 * null, NULL, None or ? (spaces around them ignored) are missing.
 *
 * Columns are referred to by name, or by a 1-based number written as text
 * ("3"; "-1" is the last column) when no column has that name. */

typedef enum {
    DL_MISSING_ERROR,   /* a missing cell is an error naming file:line:column */
    DL_MISSING_MEAN,    /* numeric cells get the column's mean, one-hot cells zeros */
    DL_MISSING_ZERO,    /* cells get 0 (one-hot: all zeros) */
    DL_MISSING_DROP     /* rows with a missing cell are left out */
} dl_missing;

typedef struct {
    char sep;                     /* field separator (',') */
    bool header;                  /* the first record names the columns (true) */
    const char *target;           /* column reference of the target, NULL: none */
    bool classes;                 /* the target holds classes even when numeric */
    int nfixed_classes;           /* > 0: the class names to use, in this order */
    const char *const *fixed_classes;
    bool one_hot;                 /* text feature columns become one-hot columns */
    int n_one_hot_columns;        /* these feature columns are one-hot even when */
    const char *const *one_hot_columns;  /* their values are numbers */
    dl_missing missing;           /* DL_MISSING_ERROR */
} dl_csv_options;

/* What a CSV file becomes. Feature columns are the columns other than the
 * target, in file order; a one-hot column expands into one indicator column
 * per distinct value ("color=red"), the values sorted. The target is
 * numeric, or classes 1..nclasses whose names are sorted (numerically when
 * every name is a number) unless fixed by the options. */
typedef struct {
    dl_tensor *x;          /* rows x features */
    dl_tensor *y;          /* rows, or NULL without a target */
    int nfeatures;
    char **features;       /* names of x's columns */
    char *target;          /* name of the target column, or NULL */
    int nclasses;          /* 0 for a numeric target */
    char **classes;
    int64_t dropped;       /* rows left out by DL_MISSING_DROP */
} dl_csv_table;

/* Sets the defaults shown above. */
void dl_csv_defaults(dl_csv_options *o);

/* Reads the CSV file at `path` into *out (fn names the caller in messages:
 * a bad target or option is "bad argument #2 to 'fn' (...)"). The file is
 * read twice (the first pass finds the row count, column kinds and class
 * names), so memory stays near the size of the result. Errors: the file
 * cannot be opened; empty file; a record with a different field count;
 * a cell that is not a number in a numeric column, or outside float32's
 * range; a missing cell with DL_MISSING_ERROR; an unterminated quote; a
 * NUL byte; no data rows. */
dl_status dl_csv_read(const char *fn, const char *path, const dl_csv_options *o,
                      dl_csv_table *out);

/* As dl_csv_read, from an open source (which must allow a rewind). */
dl_status dl_csv_read_source(const char *fn, dl_source *src, const dl_csv_options *o,
                             dl_csv_table *out);

/* Frees what a successful read returned, and zeroes *t. */
void dl_csv_table_free(dl_csv_table *t);

/* ---- IDX arrays (idx.c) --------------------------------------------------- *
 * The format of MNIST and Fashion-MNIST: two zero bytes, an element type,
 * the number of dimensions, each size as a big-endian uint32, then the
 * elements in row-major order, big-endian. */

typedef enum {
    DL_IDX_U8 = 0x08, DL_IDX_I8 = 0x09, DL_IDX_I16 = 0x0B,
    DL_IDX_I32 = 0x0C, DL_IDX_F32 = 0x0D, DL_IDX_F64 = 0x0E
} dl_idx_type;

typedef struct {
    dl_idx_type type;
    int elem_size;                  /* bytes per element */
    int ndim;                       /* 1..DL_MAX_DIM */
    int64_t shape[DL_MAX_DIM];
    int64_t count;                  /* elements */
} dl_idx_header;

/* Reads and checks the header: magic, element type, at most DL_MAX_DIM
 * dimensions, and a data size the source can hold. */
dl_status dl_idx_read_header(dl_source *s, dl_idx_header *h);

/* Reads the data of a DL_IDX_U8 file (h->count bytes) into dst, and checks
 * that nothing follows it. */
dl_status dl_idx_read_bytes(dl_source *s, const dl_idx_header *h, uint8_t *dst);

/* Reads the data of any type, converted to float, into dst (h->count
 * floats), and checks that nothing follows it. */
dl_status dl_idx_read_floats(dl_source *s, const dl_idx_header *h, float *dst);

/* The whole IDX file at `path` as a float tensor of its shape. */
dl_status dl_idx_load(const char *fn, const char *path, dl_tensor **out);

/* ---- images (image.c, image_resize.c) -------------------------------------- *
 * PNG, JPEG, BMP and GIF (first frame) through stb_image, as 8-bit
 * channel-major planes (C x H x W). */

typedef struct {
    int channels;          /* 1 (gray) or 3 (RGB) */
    int height, width;
    uint8_t *data;         /* channels * height * width bytes, C x H x W */
} dl_image;

/* Decodes an image held in memory. `channels` is 1 (gray), 3 (RGB) or 0
 * (as stored: gray for gray and gray+alpha, RGB otherwise; alpha is
 * dropped). `name` stands for the file in messages. Errors: not a PNG,
 * JPEG, BMP or GIF; corrupt data; more than 2^26 pixels. */
dl_status dl_image_decode(const char *name, const void *data, size_t size, int channels,
                          dl_image *out);

/* Reads and decodes the image file at `path` (fn names the caller). */
dl_status dl_image_load(const char *fn, const char *path, int channels, dl_image *out);

/* Bilinear resize to height x width (half-pixel centres, as PyTorch's
 * interpolate with align_corners=false), rounded back to bytes. */
dl_status dl_image_resize(const dl_image *in, int height, int width, dl_image *out);

/* Frees the pixels and zeroes *img. */
void dl_image_free(dl_image *img);

/* ---- image transforms (warp.c) ---------------------------------------------- */

/* out[n] = x[n] sampled through the affine map theta[n] (6 floats per
 * image: output pixel (col, row) reads input at (t0*col + t1*row + t2,
 * t3*col + t4*row + t5), in pixels), bilinear, `fill` outside the image.
 * x is N x C x H x W. Integer maps (flips, shifts) copy pixels exactly. */
dl_status dl_warp_affine(const dl_tensor *x, const float *theta, float fill,
                         dl_tensor **out);

#endif
