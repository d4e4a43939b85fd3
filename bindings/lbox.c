/*
 * lbox.c -- the tensor box, GC accounting, and argument helpers shared by
 * every binding file (see lbox.h for the conventions).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lbox.h"

/* ---- GC accounting -------------------------------------------------------- *
 * The Lua GC only sees the 8-byte boxes, not the tensor data they keep alive,
 * so a loop making big temporaries would grow without bound. Each megabyte
 * of new tensor data is paid for with a GC step, and a full collection runs
 * whenever the live bytes pass a soft limit, which then becomes twice what
 * survived (Torch7's THGeneral heap tracking). The steps are sized so that
 * a whole cycle (which marks the whole Lua heap) comes once per
 * max(8 Lua heaps, live tensor bytes / 16) of new tensor data: dead tensors
 * wait at most that long. Counting every byte ran a cycle per big
 * temporary (with a 3 MB Lua heap, y = x * 2 + 1 on 1000x1000 tensors went
 * 4 times slower); with a dataset of 200 MB live, 8 Lua heaps alone meant
 * dozens of cycles per training step of a small CNN (a tenth of its
 * time). The state is per process, as the core's memory counter is. */

#define GC_STEP_BYTES ((size_t)1 << 20)
#define GC_HEAPS_PER_CYCLE 8            /* least tensor data per cycle, in Lua heaps */
#define GC_LIVE_SHARE_PER_CYCLE 16      /* ... or live tensor data / this */
#define GC_STEP_MULTIPLIER 3            /* luaopen_dl's step multiplier, 300% */
#define GC_SOFT_LIMIT_BASE ((size_t)128 << 20)

static size_t gc_last_in_use;   /* dl_memory_in_use() at the last check */
static size_t gc_debt;          /* bytes allocated since the last GC step */
static size_t gc_soft_limit = GC_SOFT_LIMIT_BASE;

/* Pays the debt with a GC step: a cycle's work (the Lua heap, done at the
 * step multiplier's pace) spread over the tensor bytes allowed per cycle. */
static void gc_pay(lua_State *L)
{
    double heap = 1024.0 * lua_gc(L, LUA_GCCOUNT) + lua_gc(L, LUA_GCCOUNTB);
    double per_cycle = (double)dl_memory_in_use() / GC_LIVE_SHARE_PER_CYCLE;
    if (per_cycle < GC_HEAPS_PER_CYCLE * heap)
        per_cycle = GC_HEAPS_PER_CYCLE * heap;
    double kb = (double)gc_debt * heap / GC_STEP_MULTIPLIER / per_cycle / 1024.0;
    gc_debt = 0;
    /* at least 1 KB: a step of 0 would be Lua's basic step, whatever the debt */
    lua_gc(L, LUA_GCSTEP, kb > INT32_MAX ? INT32_MAX : (int)kb + 1);
    size_t live = dl_memory_in_use();
    if (live > gc_soft_limit) {
        lua_gc(L, LUA_GCCOLLECT);
        live = dl_memory_in_use();
        gc_soft_limit = 2 * live > GC_SOFT_LIMIT_BASE ? 2 * live : GC_SOFT_LIMIT_BASE;
    }
    gc_last_in_use = live;
}

void ldl_account(lua_State *L)
{
    size_t now = dl_memory_in_use();
    if (now > gc_last_in_use) {
        gc_debt += now - gc_last_in_use;
        if (gc_debt >= GC_STEP_BYTES) {
            gc_pay(L);
            return;
        }
    }
    gc_last_in_use = now;
}

/* ---- boxes ---------------------------------------------------------------- */

/* The metatable is also kept in the registry under this address: looking
 * it up by pointer skips the string lookup of luaL_testudata, which is a
 * measurable part of a small tensor operation. */
static const char metatable_key = 0;

void ldl_register_metatable(lua_State *L)
{
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &metatable_key);
}

/* The box at `arg`, or NULL when the value there is not a tensor box. */
static dl_tensor **tobox(lua_State *L, int arg)
{
    dl_tensor **box = lua_touserdata(L, arg);
    if (box == NULL || !lua_getmetatable(L, arg))
        return NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &metatable_key);
    bool ours = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return ours ? box : NULL;
}

bool ldl_istensor(lua_State *L, int arg)
{
    return tobox(L, arg) != NULL;
}

dl_tensor **ldl_newbox(lua_State *L)
{
    dl_tensor **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &metatable_key);
    lua_setmetatable(L, -2);
    return box;
}

void ldl_check_status(lua_State *L, dl_status status)
{
    if (status != DL_OK)
        ldl_error(L, "%s", dl_error());
}

int ldl_result(lua_State *L, dl_status status)
{
    if (status != DL_OK)
        return ldl_error(L, "%s", dl_error());
    ldl_account(L);
    return 1;
}

dl_tensor *ldl_totensor(lua_State *L, int arg, const char *fn)
{
    dl_tensor **box = tobox(L, arg);
    if (box == NULL)
        return NULL;
    if (*box == NULL)
        ldl_argerror(L, arg, fn, "expected a tensor, got a closed tensor");
    return *box;
}

dl_tensor *ldl_checktensor(lua_State *L, int arg, const char *fn)
{
    dl_tensor *t = ldl_totensor(L, arg, fn);
    if (t == NULL)
        ldl_typeerror(L, arg, fn, "a tensor");
    return t;
}

/* ---- errors ---------------------------------------------------------------- */

int ldl_argerror(lua_State *L, int arg, const char *fn, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return ldl_error(L, "bad argument #%d to '%s' (%s)", arg, fn, text);
}

const char *ldl_typename(lua_State *L, int idx)
{
    dl_tensor **box = tobox(L, idx);
    if (box != NULL)
        return *box != NULL ? "a tensor" : "a closed tensor";
    if (lua_isnone(L, idx))
        return "no value";
    if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING)
        return lua_tostring(L, -1);
    return luaL_typename(L, idx);
}

int ldl_typeerror(lua_State *L, int arg, const char *fn, const char *what)
{
    return ldl_argerror(L, arg, fn, "expected %s, got %s", what, ldl_typename(L, arg));
}

/* ---- arguments ------------------------------------------------------------- */

int64_t ldl_checkinteger(lua_State *L, int arg, const char *fn)
{
    int isint;
    lua_Integer v = lua_tointegerx(L, arg, &isint);
    if (!isint) {
        if (lua_type(L, arg) == LUA_TNUMBER)
            return ldl_argerror(L, arg, fn, "expected an integer, got %.14g",
                                lua_tonumber(L, arg));
        return ldl_typeerror(L, arg, fn, "an integer");
    }
    return v;
}

double ldl_checknumber(lua_State *L, int arg, const char *fn)
{
    if (lua_type(L, arg) == LUA_TNUMBER)
        return lua_tonumber(L, arg);
    dl_tensor *t = ldl_totensor(L, arg, fn);
    float v;
    if (t == NULL)
        return ldl_typeerror(L, arg, fn, "a number");
    if (dl_numel(t) != 1) {
        char shape[64];
        dl_shape_string(t, shape, sizeof shape);
        return ldl_argerror(L, arg, fn, "expected a number or a one-element tensor, "
                            "got %s", shape);
    }
    dl_item(t, &v);
    return v;
}

int ldl_todim(lua_State *L, int64_t d, int arg, const char *fn, int n)
{
    if (n == 0)
        return ldl_argerror(L, arg, fn, "expected no dim (the tensor has none), got %lld",
                            (long long)d);
    if (d >= 1 && d <= n)
        return (int)(d - 1);
    if (d <= -1 && d >= -n)
        return (int)(d + n);
    return ldl_argerror(L, arg, fn, "expected a dim in 1..%d or -%d..-1, got %lld",
                        n, n, (long long)d);
}

int ldl_checkdim(lua_State *L, int arg, const char *fn, int n)
{
    return ldl_todim(L, ldl_checkinteger(L, arg, fn), arg, fn, n);
}

int ldl_optdim(lua_State *L, int arg, const char *fn, int n, int def)
{
    return lua_isnoneornil(L, arg) ? def : ldl_checkdim(L, arg, fn, n);
}

int64_t ldl_checkpos(lua_State *L, int arg, const char *fn, int64_t n)
{
    int64_t i = ldl_checkinteger(L, arg, fn);
    if (i >= 1 && i <= n)
        return i - 1;
    if (i <= -1 && i >= -n)
        return i + n;
    if (n == 0)
        return ldl_argerror(L, arg, fn, "expected an index (the dim is empty), got %lld",
                            (long long)i);
    return ldl_argerror(L, arg, fn, "expected an index in 1..%lld or -%lld..-1, got %lld",
                        (long long)n, (long long)n, (long long)i);
}

/* One size at stack index `idx`, reported as argument `arg` ("at [k]" when
 * it comes from a table). */
static int64_t check_size(lua_State *L, int idx, int arg, int k, const char *fn,
                          int64_t min)
{
    char where[32] = "";
    int isint;
    lua_Integer v = lua_tointegerx(L, idx, &isint);
    if (k > 0)
        snprintf(where, sizeof where, " at [%d]", k);
    if (!isint) {
        if (lua_type(L, idx) == LUA_TNUMBER)
            return ldl_argerror(L, arg, fn, "expected an integer size%s, got %.14g",
                                where, lua_tonumber(L, idx));
        return ldl_argerror(L, arg, fn, "expected a size%s, got %s", where,
                            ldl_typename(L, idx));
    }
    if (v < min && min < 0)
        return ldl_argerror(L, arg, fn, "expected a size >= 0 or -1%s, got %lld", where,
                            (long long)v);
    if (v < min)
        return ldl_argerror(L, arg, fn, "expected a size >= %lld%s, got %lld",
                            (long long)min, where, (long long)v);
    return v;
}

int ldl_checksizes(lua_State *L, int first, int last, const char *fn, int64_t min,
                   int64_t *shape)
{
    if (first == last && lua_istable(L, first)) {
        size_t n = lua_rawlen(L, first);
        if (n > DL_MAX_DIM)
            return ldl_argerror(L, first, fn, "expected at most %d sizes, got %zu",
                                DL_MAX_DIM, n);
        for (int k = 1; k <= (int)n; k++) {
            lua_rawgeti(L, first, k);
            shape[k - 1] = check_size(L, -1, first, k, fn, min);
            lua_pop(L, 1);
        }
        return (int)n;
    }
    if (last - first + 1 > DL_MAX_DIM)
        return ldl_argerror(L, first + DL_MAX_DIM, fn, "expected at most %d sizes, got %d",
                            DL_MAX_DIM, last - first + 1);
    for (int i = first; i <= last; i++)
        shape[i - first] = check_size(L, i, i, 0, fn, min);
    return last - first + 1;
}

int ldl_options_at(lua_State *L, int first)
{
    int top = lua_gettop(L);
    if (top < first || !lua_istable(L, top))
        return 0;
    if (top > first)
        return top;
    if (lua_rawlen(L, top) > 0)
        return 0;
    lua_pushnil(L);
    if (lua_next(L, top) == 0)
        return 0;
    lua_pop(L, 2);
    return top;
}

void ldl_checkoptions(lua_State *L, int arg, const char *fn, const char *const *known)
{
    if (arg == 0)
        return;
    lua_pushnil(L);
    while (lua_next(L, arg) != 0) {
        lua_pop(L, 1);
        int ok = 0;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *key = lua_tostring(L, -1);
            for (const char *const *k = known; *k != NULL && !ok; k++)
                ok = strcmp(key, *k) == 0;
            if (!ok)
                ldl_argerror(L, arg, fn, "unknown option '%s'", key);
        } else {
            ldl_argerror(L, arg, fn, "expected an options table with named keys, got a "
                         "%s key", luaL_typename(L, -1));
        }
    }
}

int ldl_optboolean(lua_State *L, int arg, const char *fn, const char *key, int def)
{
    if (arg == 0)
        return def;
    int type = lua_getfield(L, arg, key);
    int v = def;
    if (type == LUA_TBOOLEAN)
        v = lua_toboolean(L, -1);
    else if (type != LUA_TNIL)
        ldl_argerror(L, arg, fn, "expected option '%s' to be a boolean, got %s", key,
                     luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

/* ---- registration ----------------------------------------------------------- */

void ldl_setfuncs(lua_State *L, int table, const luaL_Reg *fns)
{
    for (; fns->name != NULL; fns++) {
        lua_pushcfunction(L, fns->func);
        lua_setfield(L, table, fns->name);
    }
}
