/*
 * lbytes.c -- "dl.Bytes": uint8 arrays that become float tensors on demand
 * (see ldata.h). Methods, with positions 1-based along the first dim:
 *
 *   #b                   entries of the first dim (images, rows)
 *   b:shape()            {60000, 1, 28, 28}
 *   b:tensor([first, n], [mul, add])
 *                        floats of entries first..first+n-1 (default: all)
 *   b:index(idx, [mul, add])
 *                        floats of the entries idx lists (a 1-D tensor or a
 *                        table of positions), in that order
 *   b:stats()            per-feature sum, sum of squares, min, max and the
 *                        count of values summed, as Lua lists (scaled)
 *   b:take(idx)          a new dl.Bytes of those entries
 *   b:reshape_(sizes)    the same bytes seen with another shape (in place)
 *   tostring(b)          "dl.Bytes (60000, 1, 28, 28), 44.9 MiB, x 0.00392157"
 *
 * A feature is an entry of the second dim (a column of a table, a channel
 * of images). The optional 1-D tensors mul and add, one value per feature,
 * make the conversion byte * scale * mul + add in the same pass: a
 * standardized batch costs one tensor, not three.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ldata.h"

#define MAX_BYTES ((int64_t)1 << 40)

ldl_bytes *ldl_newbytes(lua_State *L, const char *fn, int ndim, const int64_t *shape,
                        float scale)
{
    int64_t total = 1, row = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] > 0 && total > MAX_BYTES / shape[d]))
            ldl_error(L, "%s: %s bytes is too large", fn, shape[d] < 0 ? "a negative count of"
                                                                        : "that many");
        total *= shape[d];
        if (d > 0)
            row *= shape[d];
    }
    ldl_bytes *b = lua_newuserdatauv(L, sizeof *b + (size_t)total, 0);
    b->ndim = ndim;
    memcpy(b->shape, shape, (size_t)ndim * sizeof *shape);
    b->row_size = (size_t)row;
    b->scale = scale;
    luaL_setmetatable(L, LDL_BYTES);
    return b;
}

ldl_bytes *ldl_checkbytes(lua_State *L, int arg, const char *fn)
{
    ldl_bytes *b = luaL_testudata(L, arg, LDL_BYTES);
    if (b == NULL)
        ldl_typeerror(L, arg, fn, "a dl.Bytes");
    return b;
}

/* Position (1-based) number k of the list at `arg` (a tensor or a table),
 * checked against the entry count, as a 0-based index. */
static int64_t position(lua_State *L, int arg, const char *fn, const float *values,
                        int64_t k, int64_t rows)
{
    double v;
    if (values != NULL) {
        v = values[k];
    } else {
        lua_geti(L, arg, k + 1);
        int ok;
        v = lua_tonumberx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok)
            return ldl_argerror(L, arg, fn, "expected positions, got a non-number at [%lld]",
                                (long long)k + 1);
    }
    if (v != floor(v) || v < 1 || v > (double)rows)
        return ldl_argerror(L, arg, fn, "expected positions in 1..%lld, got %.14g at [%lld]",
                            (long long)rows, v, (long long)k + 1);
    return (int64_t)v - 1;
}

/* Reads the index list at `arg`: its length, and its floats when it is a
 * tensor (a contiguous copy is pushed and kept on the stack). */
static int64_t index_list(lua_State *L, int arg, const char *fn, const float **values)
{
    *values = NULL;
    if (lua_istable(L, arg))
        return (int64_t)luaL_len(L, arg);
    dl_tensor *t = ldl_totensor(L, arg, fn);
    if (t == NULL)
        return ldl_typeerror(L, arg, fn, "a 1-D tensor or a table of positions");
    if (t->ndim != 1)
        return ldl_argerror(L, arg, fn, "expected a 1-D tensor of positions, got %d dims",
                            t->ndim);
    dl_tensor **box = ldl_newbox(L);
    ldl_check_status(L, dl_contiguous(t, box));
    *values = dl_data(*box);
    return t->shape[0];
}

/* Pushes an empty float tensor for n entries of b. */
static float *new_floats(lua_State *L, const ldl_bytes *b, int64_t n, const char *fn)
{
    int64_t shape[DL_MAX_DIM];
    memcpy(shape, b->shape, sizeof shape);
    shape[0] = n;
    dl_tensor **box = ldl_newbox(L);
    ldl_result(L, dl_empty(fn, b->ndim, shape, box));
    return dl_data(*box);
}

/* How bytes become floats: value = byte * mul[f] + add[f] for feature f,
 * each feature a run of `inner` consecutive bytes of an entry. */
typedef struct {
    size_t features, inner;
    const float *mul, *add;         /* NULL: scale and 0 */
    float scale;
} conversion;

/* The features of b, and the optional mul and add tensors at arg, arg+1
 * (pushed as contiguous copies, kept on the stack). */
static conversion conversion_of(lua_State *L, const ldl_bytes *b, int arg, const char *fn)
{
    conversion c = {1, b->row_size, NULL, NULL, b->scale};
    if (b->ndim >= 2) {
        c.features = (size_t)b->shape[1];
        c.inner = c.features ? b->row_size / c.features : 0;
    }
    if (lua_isnoneornil(L, arg))
        return c;
    for (int k = 0; k < 2; k++) {
        dl_tensor *t = ldl_checktensor(L, arg + k, fn);
        if (dl_numel(t) != (int64_t)c.features)
            ldl_argerror(L, arg + k, fn, "expected %zu values (one per feature), got %lld",
                         c.features, (long long)dl_numel(t));
        dl_tensor **box = ldl_newbox(L);
        ldl_check_status(L, dl_contiguous(t, box));
        if (k == 0)
            c.mul = dl_data(*box);
        else
            c.add = dl_data(*box);
    }
    return c;
}

static void to_floats(const ldl_bytes *b, const conversion *c, int64_t entry, float *out)
{
    const uint8_t *src = b->data + (size_t)entry * b->row_size;
    for (size_t f = 0; f < c->features; f++) {
        float mul = c->mul ? c->scale * c->mul[f] : c->scale, add = c->add ? c->add[f] : 0;
        for (size_t j = f * c->inner; j < (f + 1) * c->inner; j++)
            out[j] = src[j] * mul + add;
    }
}

/* b:tensor([first, n], [mul, add]) */
static int bytes_tensor(lua_State *L)
{
    ldl_bytes *b = ldl_checkbytes(L, 1, "tensor");
    int64_t rows = b->shape[0];
    int64_t first = lua_isnoneornil(L, 2) ? 0 : ldl_checkpos(L, 2, "tensor", rows);
    int64_t n = lua_isnoneornil(L, 3) ? rows - first : ldl_checkinteger(L, 3, "tensor");
    if (n < 0 || n > rows - first)
        return ldl_argerror(L, 3, "tensor", "expected a count in 0..%lld, got %lld",
                            (long long)(rows - first), (long long)n);
    conversion c = conversion_of(L, b, 4, "tensor");
    float *out = new_floats(L, b, n, "tensor");
    for (int64_t i = 0; i < n; i++)
        to_floats(b, &c, first + i, out + (size_t)i * b->row_size);
    return 1;
}

/* b:index(idx, [mul, add]) */
static int bytes_index(lua_State *L)
{
    ldl_bytes *b = ldl_checkbytes(L, 1, "index");
    const float *values;
    conversion c = conversion_of(L, b, 3, "index");
    int64_t n = index_list(L, 2, "index", &values);
    float *out = new_floats(L, b, n, "index");
    for (int64_t k = 0; k < n; k++)
        to_floats(b, &c, position(L, 2, "index", values, k, b->shape[0]),
                  out + (size_t)k * b->row_size);
    return 1;
}

/* b:stats() -> sum, sum of squares, min, max (lists, one value per feature,
 * of the scaled values) and the count of values per feature. */
static int bytes_stats(lua_State *L)
{
    ldl_bytes *b = ldl_checkbytes(L, 1, "stats");
    conversion c = conversion_of(L, b, 2, "stats");
    /* count each byte value per feature, then sum the histogram */
    size_t features = c.features;
    uint64_t *counts = lua_newuserdatauv(L, features * 256 * sizeof *counts, 0);
    memset(counts, 0, features * 256 * sizeof *counts);
    for (int64_t i = 0; i < b->shape[0]; i++) {
        const uint8_t *src = b->data + (size_t)i * b->row_size;
        for (size_t f = 0; f < features; f++)
            for (size_t j = f * c.inner; j < (f + 1) * c.inner; j++)
                counts[f * 256 + src[j]]++;
    }
    for (int list = 0; list < 4; list++)
        lua_createtable(L, (int)features, 0);
    int top = lua_gettop(L);
    for (size_t f = 0; f < features; f++) {
        double sum = 0, squares = 0, lo = 0, hi = 0;
        bool seen = false;
        for (int v = 0; v < 256; v++) {
            uint64_t k = counts[f * 256 + (size_t)v];
            if (k == 0)
                continue;
            double x = v * (double)b->scale;
            sum += (double)k * x;
            squares += (double)k * x * x;
            hi = x;
            if (!seen)
                lo = x;
            seen = true;
        }
        double values[4] = {sum, squares, lo, hi};
        for (int list = 0; list < 4; list++) {
            lua_pushnumber(L, values[list]);
            lua_rawseti(L, top - 3 + list, (lua_Integer)f + 1);
        }
    }
    lua_pushinteger(L, (lua_Integer)((size_t)b->shape[0] * c.inner));
    return 5;
}

/* b:take(idx) */
static int bytes_take(lua_State *L)
{
    ldl_bytes *b = ldl_checkbytes(L, 1, "take");
    const float *values;
    int64_t n = index_list(L, 2, "take", &values);
    int64_t shape[DL_MAX_DIM];
    memcpy(shape, b->shape, sizeof shape);
    shape[0] = n;
    ldl_bytes *out = ldl_newbytes(L, "take", b->ndim, shape, b->scale);
    for (int64_t k = 0; k < n; k++) {
        int64_t entry = position(L, 2, "take", values, k, b->shape[0]);
        memcpy(out->data + (size_t)k * b->row_size, b->data + (size_t)entry * b->row_size,
               b->row_size);
    }
    return 1;
}

/* b:shape() */
static int bytes_shape(lua_State *L)
{
    ldl_bytes *b = ldl_checkbytes(L, 1, "shape");
    lua_createtable(L, b->ndim, 0);
    for (int d = 0; d < b->ndim; d++) {
        lua_pushinteger(L, b->shape[d]);
        lua_rawseti(L, -2, d + 1);
    }
    return 1;
}

/* b:reshape_(sizes) -> b, with the shape changed in place */
static int bytes_reshape_(lua_State *L)
{
    ldl_bytes *b = ldl_checkbytes(L, 1, "reshape_");
    int64_t shape[DL_MAX_DIM], total = 1, old = (int64_t)b->row_size * b->shape[0];
    int ndim = ldl_checksizes(L, 2, lua_gettop(L), "reshape_", 0, shape);
    for (int d = 0; d < ndim; d++)
        total *= shape[d];
    if (ndim < 1 || total != old)
        return ldl_argerror(L, 2, "reshape_", "expected sizes with %lld elements in all",
                            (long long)old);
    b->ndim = ndim;
    memcpy(b->shape, shape, sizeof shape);
    b->row_size = shape[0] > 0 ? (size_t)(total / shape[0]) : 0;
    lua_settop(L, 1);
    return 1;
}

static int bytes_len(lua_State *L)
{
    lua_pushinteger(L, ldl_checkbytes(L, 1, "__len")->shape[0]);
    return 1;
}

static int bytes_tostring(lua_State *L)
{
    ldl_bytes *b = ldl_checkbytes(L, 1, "__tostring");
    luaL_Buffer buf;
    luaL_buffinit(L, &buf);
    luaL_addstring(&buf, "dl.Bytes (");
    for (int d = 0; d < b->ndim; d++) {
        lua_pushfstring(L, "%s%I", d ? ", " : "", (lua_Integer)b->shape[d]);
        luaL_addvalue(&buf);
    }
    char tail[64];
    snprintf(tail, sizeof tail, "), %.1f MiB, x %g",
             (double)b->row_size * (double)b->shape[0] / (1 << 20), (double)b->scale);
    luaL_addstring(&buf, tail);
    luaL_pushresult(&buf);
    return 1;
}

/* bytes(t, scale): a float tensor (first dim = entries) stored as bytes,
 * each value divided by scale, rounded and clamped to 0..255. */
static int bytes_new(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "bytes");
    float scale = (float)luaL_optnumber(L, 2, 1.0);
    if (t->ndim < 1)
        return ldl_argerror(L, 1, "bytes", "expected a tensor with dims, got a 0-d tensor");
    if (!(scale > 0))
        return ldl_argerror(L, 2, "bytes", "expected a scale > 0, got %g", (double)scale);
    dl_tensor **box = ldl_newbox(L);
    ldl_check_status(L, dl_contiguous(t, box));
    ldl_bytes *b = ldl_newbytes(L, "bytes", t->ndim, t->shape, scale);
    const float *src = dl_data(*box);
    for (int64_t i = 0, n = dl_numel(t); i < n; i++) {
        float v = roundf(src[i] / scale);
        b->data[i] = (uint8_t)(v > 255 ? 255 : v > 0 ? v : 0);
    }
    return 1;
}

static const luaL_Reg bytes_methods[] = {
    {"tensor", bytes_tensor},
    {"index", bytes_index},
    {"take", bytes_take},
    {"stats", bytes_stats},
    {"shape", bytes_shape},
    {"reshape_", bytes_reshape_},
    {NULL, NULL}
};

void ldl_open_bytes(lua_State *L, int readers)
{
    luaL_newmetatable(L, LDL_BYTES);
    lua_pushcfunction(L, bytes_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, bytes_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_newtable(L);
    ldl_setfuncs(L, lua_gettop(L), bytes_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, bytes_new);
    lua_setfield(L, readers, "bytes");
}
