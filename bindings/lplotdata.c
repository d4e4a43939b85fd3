/*
 * lplotdata.c -- numbers as gnuplot reads them, and the size of the
 * terminal plots are drawn in: the helpers of dl.plot that would be slow
 * or impossible in Lua.
 *
 * Data is written as named datablocks ("$d << EOD" ... "EOD"); plot.lua
 * sends small ones inline and moves large ones to temporary files (gnuplot
 * reads its command pipe a byte at a time). Large data is first cut down
 * to what a figure shows (histogram counts, the extremes of each pixel
 * column of a line, a point a grid cell of a scatter plot, an averaged
 * image: core/kernels/plot_reduce.c). Numbers are written with "%.9g" (enough
 * to round-trip a float32) under the C locale whatever the host's locale
 * is, and a value that is not finite is written as NaN, which gnuplot
 * skips (a line plot shows a gap).
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernels/plot_reduce.h"
#include "lbox.h"
#include "lplot.h"

/* ---- numbers ---------------------------------------------------------------- */

static locale_t c_locale(void)
{
    static locale_t c;
    if (c == (locale_t)0)
        c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c;
}

/* Appends v as gnuplot reads it. */
static void add_number(luaL_Buffer *b, double v)
{
    char text[32];
    int n;
    if (!isfinite(v)) {
        luaL_addstring(b, "NaN");
        return;
    }
    locale_t c = c_locale();
    locale_t old = c != (locale_t)0 ? uselocale(c) : (locale_t)0;
    n = snprintf(text, sizeof text, "%.9g", v);
    if (old != (locale_t)0)
        uselocale(old);
    luaL_addlstring(b, text, (size_t)n);
}

/* number(v) -> v as gnuplot reads it ("%.9g" in the C locale, NaN) */
static int l_number(lua_State *L)
{
    luaL_Buffer b;
    double v = luaL_checknumber(L, 1);
    luaL_buffinit(L, &b);
    add_number(&b, v);
    luaL_pushresult(&b);
    return 1;
}

/* ---- datablocks --------------------------------------------------------------- */

/* One column of a datablock: row numbers, a Lua table, or tensor data. */
typedef struct {
    enum { COLUMN_ROWS, COLUMN_TABLE, COLUMN_FLOATS } kind;
    int table;                  /* stack index of the table */
    const float *floats;
    int64_t length;
} column;

/* The contiguous data of the tensor at `idx`: a contiguous copy is boxed
 * on the stack, so the GC frees it. */
static const float *tensor_floats(lua_State *L, dl_tensor *t)
{
    if (dl_is_contiguous(t))
        return dl_data(t);
    dl_tensor **box = ldl_newbox(L);
    ldl_check_status(L, dl_contiguous(t, box));
    return dl_data(*box);
}

/* Value k (1-based) of a table column as a number; false when it is
 * neither a number nor a one-element tensor. */
static bool table_value(lua_State *L, int table, int64_t k, double *v)
{
    bool ok = true;
    if (lua_rawgeti(L, table, k) == LUA_TNUMBER) {
        *v = lua_tonumber(L, -1);
    } else {
        dl_tensor *t = ldl_istensor(L, -1) ? *(dl_tensor **)lua_touserdata(L, -1) : NULL;
        float f = NAN;
        ok = t != NULL && dl_item(t, &f) == DL_OK;
        *v = f;
    }
    lua_pop(L, 1);
    return ok;
}

/* datablock(name, columns) -> text | nil, column, row, typename
 * The datablock `name` ("$d") with one row per element and one column per
 * entry of `columns`: true (the row numbers 1..n), a table of numbers (or
 * of one-element tensors), or a tensor (its elements in row-major order).
 * Shorter columns are padded with NaN. On a value that is not a number,
 * returns nil, its column, its row and its type name. */
static int l_datablock(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int ncols = (int)lua_rawlen(L, 2);
    luaL_checkstack(L, 2 * ncols + 8, "datablock: too many columns");
    column *cols = lua_newuserdatauv(L, sizeof(column) * (size_t)(ncols ? ncols : 1), 0);
    int64_t rows = 0;
    for (int c = 0; c < ncols; c++) {
        lua_rawgeti(L, 2, c + 1);
        dl_tensor *t = ldl_istensor(L, -1) ? ldl_checktensor(L, -1, "datablock") : NULL;
        if (lua_toboolean(L, -1) && lua_isboolean(L, -1)) {
            cols[c] = (column){.kind = COLUMN_ROWS};
        } else if (t != NULL) {
            cols[c] = (column){.kind = COLUMN_FLOATS, .floats = tensor_floats(L, t),
                               .length = dl_numel(t)};
        } else if (lua_istable(L, -1)) {
            cols[c] = (column){.kind = COLUMN_TABLE, .table = lua_gettop(L),
                               .length = (int64_t)lua_rawlen(L, -1)};
        } else {
            return ldl_error(L, "datablock: column %d is a %s", c + 1,
                              luaL_typename(L, -1));
        }
        if (cols[c].length > rows)
            rows = cols[c].length;
    }

    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, name);
    luaL_addstring(&b, " << EOD\n");
    for (int64_t r = 0; r < rows; r++) {
        for (int c = 0; c < ncols; c++) {
            double v = NAN;
            if (c > 0)
                luaL_addchar(&b, ' ');
            if (cols[c].kind == COLUMN_ROWS)
                v = (double)(r + 1);
            else if (r < cols[c].length && cols[c].kind == COLUMN_FLOATS)
                v = cols[c].floats[r];
            else if (r < cols[c].length && !table_value(L, cols[c].table, r + 1, &v)) {
                lua_rawgeti(L, cols[c].table, r + 1);
                const char *type = luaL_typename(L, -1);
                lua_pushnil(L);
                lua_pushinteger(L, c + 1);
                lua_pushinteger(L, r + 1);
                if (!ldl_istensor(L, -4))
                    lua_pushstring(L, type);
                else if (*(dl_tensor **)lua_touserdata(L, -4) == NULL)
                    lua_pushliteral(L, "a closed tensor");
                else
                    lua_pushliteral(L, "a tensor of several elements");
                return 4;
            }
            add_number(&b, v);
        }
        luaL_addchar(&b, '\n');
    }
    luaL_addstring(&b, "EOD\n");
    luaL_pushresult(&b);
    return 1;
}

/* The tensor at `arg` with `ndim` dims; raises a message naming `fn`. */
static dl_tensor *check_dims(lua_State *L, int arg, const char *fn, int ndim)
{
    dl_tensor *t = ldl_checktensor(L, arg, fn);
    if (t->ndim != ndim) {
        char shape[64];
        dl_shape_string(t, shape, sizeof shape);
        ldl_argerror(L, arg, fn, "expected a %d-D tensor, got shape %s", ndim, shape);
    }
    return t;
}

/* matrix(name, t) -> text
 * The datablock `name` holding the 2-D tensor t as rows of numbers, for
 * gnuplot's `matrix` plots (column i, row j is the point (i-1, j-1)). */
static int l_matrix(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    dl_tensor *t = check_dims(L, 2, "matrix", 2);
    const float *v = tensor_floats(L, t);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, name);
    luaL_addstring(&b, " << EOD\n");
    for (int64_t i = 0; i < t->shape[0]; i++) {
        for (int64_t j = 0; j < t->shape[1]; j++) {
            if (j > 0)
                luaL_addchar(&b, ' ');
            add_number(&b, v[i * t->shape[1] + j]);
        }
        luaL_addchar(&b, '\n');
    }
    luaL_addstring(&b, "EOD\n");
    luaL_pushresult(&b);
    return 1;
}

/* rgb(name, t) -> text
 * The datablock `name` holding the 3×H×W tensor t (values in [0, 1]) as
 * rows "x y r g b" with 0..255 colours, for `with rgbimage`. */
static int l_rgb(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    dl_tensor *t = check_dims(L, 2, "rgb", 3);
    const float *v = tensor_floats(L, t);
    int64_t h = t->shape[1], w = t->shape[2];
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, name);
    luaL_addstring(&b, " << EOD\n");
    for (int64_t i = 0; i < h; i++) {
        for (int64_t j = 0; j < w; j++) {
            add_number(&b, (double)j);
            luaL_addchar(&b, ' ');
            add_number(&b, (double)i);
            for (int64_t c = 0; c < 3 && c < t->shape[0]; c++) {
                float x = v[(c * h + i) * w + j];
                luaL_addchar(&b, ' ');
                add_number(&b, x != x ? 0.0 : x < 0 ? 0.0 : x > 1 ? 255.0 : x * 255.0);
            }
            luaL_addchar(&b, '\n');
        }
    }
    luaL_addstring(&b, "EOD\n");
    luaL_pushresult(&b);
    return 1;
}

/* ---- large data, reduced (core/kernels/plot_reduce.c) ---------------------- */

/* The float tensor at `arg` (checked for `fn`) and its contiguous data. */
static const float *floats_at(lua_State *L, int arg, const char *fn, int64_t *n)
{
    dl_tensor *t = ldl_checktensor(L, arg, fn);
    *n = dl_numel(t);
    return tensor_floats(L, t);
}

/* Scratch of `bytes` bytes, freed by the GC (a userdata on the stack). */
static void *scratch(lua_State *L, size_t bytes)
{
    return lua_newuserdatauv(L, bytes ? bytes : 1, 0);
}

/* histogram(name, t, bins) -> datablock text, bin width
 * The datablock `name` of rows "centre count", one per bin over the
 * finite values of t (see kernel_histogram). */
static int l_histogram(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    int64_t n, bins = luaL_checkinteger(L, 3);
    const float *x = floats_at(L, 2, "hist", &n);
    luaL_argcheck(L, bins >= 1 && bins <= 100000, 3, "expected 1..100000 bins");
    int64_t *counts = scratch(L, (size_t)bins * sizeof *counts);
    double lo, width;
    kernel_histogram(x, n, bins, &lo, &width, counts);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, name);
    luaL_addstring(&b, " << EOD\n");
    for (int64_t k = 0; k < bins; k++) {
        add_number(&b, lo + width * ((double)k + 0.5));
        luaL_addchar(&b, ' ');
        add_number(&b, (double)counts[k]);
        luaL_addchar(&b, '\n');
    }
    luaL_addstring(&b, "EOD\n");
    luaL_pushresult(&b);
    lua_pushnumber(L, width);
    return 2;
}

/* Appends the rows "x[i] y[i] ..." of the positions keep[0..count) of the
 * given columns (x NULL: the position, 1-based). */
static void add_rows(luaL_Buffer *b, const int64_t *keep, int64_t count, const float *x,
                     int64_t nx, const float *const *cols, int ncols)
{
    for (int64_t r = 0; r < count; r++) {
        int64_t i = keep[r];
        add_number(b, x == NULL ? (double)(i + 1) : i < nx ? x[i] : NAN);
        for (int c = 0; c < ncols; c++) {
            luaL_addchar(b, ' ');
            add_number(b, cols[c][i]);
        }
        luaL_addchar(b, '\n');
    }
}

/* line(name, y, x | nil, buckets) -> datablock text
 * The datablock `name` of rows "x y" for the points of the series y (x:
 * its positions when nil) that a line `buckets` pixels wide needs (see
 * kernel_line_points): extremes, ends and gaps of each pixel column. */
static int l_line(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    int64_t n, nx = 0, buckets = luaL_checkinteger(L, 4);
    const float *y = floats_at(L, 2, "lines", &n);
    const float *x = lua_isnil(L, 3) ? NULL : floats_at(L, 3, "lines", &nx);
    luaL_argcheck(L, buckets >= 1, 4, "expected buckets >= 1");
    int64_t *keep = scratch(L, (size_t)(5 * buckets) * sizeof *keep);
    int64_t count = kernel_line_points(y, n, buckets, keep);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, name);
    luaL_addstring(&b, " << EOD\n");
    add_rows(&b, keep, count, x, nx, &y, 1);
    luaL_addstring(&b, "EOD\n");
    luaL_pushresult(&b);
    return 1;
}

/* scatter(name, x, y, labels | nil, classes, cols, rows) -> datablock text, points
 * The datablock `name` of rows "x y [label]" keeping the first point of
 * each class in each cell of a cols x rows grid (see kernel_grid_points). */
static int l_scatter(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    int64_t n, ny, nc = 0;
    const float *x = floats_at(L, 2, "scatter", &n);
    const float *y = floats_at(L, 3, "scatter", &ny);
    const float *labels = lua_isnil(L, 4) ? NULL : floats_at(L, 4, "scatter", &nc);
    int64_t classes = luaL_checkinteger(L, 5), cols = luaL_checkinteger(L, 6);
    int64_t rows = luaL_checkinteger(L, 7);
    luaL_argcheck(L, ny == n && (labels == NULL || nc == n), 3, "expected equal lengths");
    luaL_argcheck(L, classes >= 1 && cols >= 1 && rows >= 1 &&
                  cols * rows <= ((int64_t)1 << 24) / classes, 5, "expected a smaller grid");
    unsigned char *seen = scratch(L, (size_t)(cols * rows * classes));
    int64_t *keep = scratch(L, (size_t)n * sizeof *keep);
    int64_t count = kernel_grid_points(x, y, labels, n, cols, rows, classes, seen, keep);
    const float *columns[2] = {y, labels};
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, name);
    luaL_addstring(&b, " << EOD\n");
    add_rows(&b, keep, count, x, n, columns, labels ? 2 : 1);
    luaL_addstring(&b, "EOD\n");
    luaL_pushresult(&b);
    lua_pushinteger(L, count);
    return 2;
}

/* downsample(t, height, width) -> tensor
 * The H x W or C x H x W tensor t averaged over blocks to height x width
 * (each at most t's own; see kernel_downsample). */
static int l_downsample(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "image");
    int64_t oh = luaL_checkinteger(L, 2), ow = luaL_checkinteger(L, 3);
    luaL_argcheck(L, t->ndim == 2 || t->ndim == 3, 1, "expected an image");
    int64_t c = t->ndim == 3 ? t->shape[0] : 1;
    int64_t h = t->shape[t->ndim - 2], w = t->shape[t->ndim - 1];
    luaL_argcheck(L, oh >= 1 && oh <= h && ow >= 1 && ow <= w, 2, "expected a smaller size");
    const float *src = tensor_floats(L, t);
    int64_t shape[3] = {c, oh, ow};
    dl_tensor **box = ldl_newbox(L);
    dl_status st = t->ndim == 3 ? dl_empty("image", 3, shape, box)
                                : dl_empty("image", 2, shape + 1, box);
    if (st == DL_OK)
        kernel_downsample(src, c, h, w, oh, ow, dl_data(*box));
    return ldl_result(L, st);
}

/* tty() -> is_tty, columns, rows, xpixels, ypixels
 * Whether stdout is a terminal, and its size in characters and pixels
 * (nil when unknown; pixels are often unknown). Without a terminal the
 * size comes from $COLUMNS and $LINES when they are set. */
static int l_tty(lua_State *L)
{
    struct winsize ws = {0};
    bool tty = isatty(STDOUT_FILENO);
    lua_pushboolean(L, tty);
    if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        lua_pushinteger(L, ws.ws_col);
        lua_pushinteger(L, ws.ws_row);
    } else {
        const char *cols = getenv("COLUMNS"), *lines = getenv("LINES");
        int c = cols ? atoi(cols) : 0, r = lines ? atoi(lines) : 0;
        c > 0 ? lua_pushinteger(L, c) : lua_pushnil(L);
        r > 0 ? lua_pushinteger(L, r) : lua_pushnil(L);
    }
    ws.ws_xpixel > 0 ? lua_pushinteger(L, ws.ws_xpixel) : lua_pushnil(L);
    ws.ws_ypixel > 0 ? lua_pushinteger(L, ws.ws_ypixel) : lua_pushnil(L);
    return 5;
}

const luaL_Reg ldl_plotdata_funcs[] = {
    {"number", l_number},
    {"datablock", l_datablock},
    {"matrix", l_matrix},
    {"rgb", l_rgb},
    {"tty", l_tty},
    {"histogram", l_histogram},
    {"line", l_line},
    {"scatter", l_scatter},
    {"downsample", l_downsample},
    {NULL, NULL}
};
