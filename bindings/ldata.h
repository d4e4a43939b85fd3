/*
 * ldata.h -- shared by the data bindings: ldata.c (the readers) and
 * lbytes.c (the "dl.Bytes" byte storage).
 *
 * A dl.Bytes is a full userdata holding an N x ... array of uint8 and the
 * factor that turns a byte into a float (1/255 for pixels). The bytes live
 * inside the userdata, so the Lua GC counts them as the memory they are.
 * Large image sets stay in this form (60,000 28x28 images: 47 MB rather
 * than 188 MB of floats) and become float tensors a batch at a time.
 */
#ifndef LDATA_H
#define LDATA_H

#include "lbox.h"

#define LDL_BYTES "dl.Bytes"

typedef struct {
    int ndim;
    int64_t shape[DL_MAX_DIM];
    size_t row_size;        /* bytes per entry of the first dim */
    float scale;            /* float value = byte * scale */
    uint8_t data[];
} ldl_bytes;

/* Pushes a new dl.Bytes of the given shape (ndim >= 1), data uninitialised.
 * Raises an error naming `fn` when the size is absurd. */
ldl_bytes *ldl_newbytes(lua_State *L, const char *fn, int ndim, const int64_t *shape,
                        float scale);

/* The dl.Bytes at `arg`, or raises a type error naming `fn`. */
ldl_bytes *ldl_checkbytes(lua_State *L, int arg, const char *fn);

/* Registers the dl.Bytes metatable and adds `bytes(tensor, scale)` to the
 * table at index `readers`. */
void ldl_open_bytes(lua_State *L, int readers);

#endif
