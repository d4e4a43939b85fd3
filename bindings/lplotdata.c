/*
 * lplotdata.c -- numbers as gnuplot reads them, and the size of the
 * terminal plots are drawn in: the helpers of dl.plot that would be slow
 * or impossible in Lua.
 *
 * Data reaches gnuplot inline, as named datablocks ("$d << EOD" ... "EOD"),
 * never through temporary files. Numbers are written with "%.9g" (enough
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
    {NULL, NULL}
};
