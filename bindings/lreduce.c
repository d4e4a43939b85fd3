/*
 * lreduce.c -- reductions: sum mean prod max min argmax argmin var std.
 *
 *   t:sum()                       every element -> 0-d tensor
 *   t:sum(2)                      along dim 2
 *   t:sum(2, {keepdim = true})    or t:sum{dim = 2, keepdim = true}
 *   t:max(2)                      values and 1-based indices, as torch
 *   t:var(2, {unbiased = false})  or {correction = 0}
 *   t:max(u)                      elementwise maximum with another tensor
 */
#include "lbox.h"

static const struct {
    const char *name;
    dl_reduce_op op;
} reductions[] = {
    {"sum", DL_SUM}, {"mean", DL_MEAN}, {"prod", DL_PROD},
    {"max", DL_MAX}, {"min", DL_MIN}, {"argmax", DL_ARGMAX}, {"argmin", DL_ARGMIN},
    {"var", DL_VAR}, {"std", DL_STD}
};

static const char *const plain_options[] = {"dim", "keepdim", NULL};
static const char *const spread_options[] = {"dim", "keepdim", "unbiased", "correction",
                                             NULL};

typedef struct {
    int dim;          /* 0-based, or -1 for every element */
    bool keepdim;
    int correction;   /* var/std divide by n - correction */
} reduce_args;

/* Reads (dim, [opts]) or ([opts]) after the tensor into *r. */
static void read_args(lua_State *L, const char *fn, const dl_tensor *a, bool spread,
                      reduce_args *r)
{
    int opts = 0;
    r->dim = -1;
    r->keepdim = false;
    r->correction = 1;
    if (lua_istable(L, 2)) {
        opts = 2;
    } else {
        r->dim = ldl_optdim(L, 2, fn, a->ndim, -1);
        if (!lua_isnoneornil(L, 3) && !lua_istable(L, 3))
            ldl_typeerror(L, 3, fn, "an options table");
        opts = lua_istable(L, 3) ? 3 : 0;
    }
    if (opts == 0)
        return;
    ldl_checkoptions(L, opts, fn, spread ? spread_options : plain_options);
    r->keepdim = ldl_optboolean(L, opts, fn, "keepdim", 0);
    if (opts == 2 && lua_getfield(L, 2, "dim") != LUA_TNIL) {
        int isint;
        lua_Integer d = lua_tointegerx(L, -1, &isint);
        if (!isint)
            ldl_argerror(L, 2, fn, "expected option 'dim' to be an integer, got %s",
                         luaL_tolstring(L, -1, NULL));
        r->dim = ldl_todim(L, d, 2, fn, a->ndim);
    }
    if (!spread)
        return;
    r->correction = ldl_optboolean(L, opts, fn, "unbiased", 1) ? 1 : 0;
    if (lua_getfield(L, opts, "correction") != LUA_TNIL) {
        int isint;
        lua_Integer c = lua_tointegerx(L, -1, &isint);
        if (!isint || c < 0)
            ldl_argerror(L, opts, fn, "expected option 'correction' to be an integer "
                         ">= 0, got %s", luaL_tolstring(L, -1, NULL));
        r->correction = (int)c;
    }
}

/* A reduction (upvalue 1 indexes `reductions`). */
static int l_reduce(lua_State *L)
{
    int which = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *fn = reductions[which].name;
    dl_reduce_op op = reductions[which].op;
    dl_tensor *a = ldl_checktensor(L, 1, fn);
    bool extremum = op == DL_MAX || op == DL_MIN;
    dl_tensor *other = extremum ? ldl_totensor(L, 2, fn) : NULL;
    if (other != NULL) {
        dl_binary_op bop = op == DL_MAX ? DL_MAXIMUM : DL_MINIMUM;
        return ldl_result(L, dl_binary(bop, a, other, ldl_newbox(L)));
    }
    reduce_args r;
    read_args(L, fn, a, op == DL_VAR || op == DL_STD, &r);
    ldl_result(L, dl_reduce(op, a, r.dim, r.keepdim, r.correction, ldl_newbox(L)));
    if (!extremum || r.dim < 0)
        return 1;
    dl_reduce_op arg = op == DL_MAX ? DL_ARGMAX : DL_ARGMIN;
    ldl_result(L, dl_reduce(arg, a, r.dim, r.keepdim, 0, ldl_newbox(L)));
    return 2;
}

void ldl_open_reduce(lua_State *L, int dl, int methods)
{
    for (size_t i = 0; i < sizeof reductions / sizeof reductions[0]; i++) {
        lua_pushinteger(L, (lua_Integer)i);
        lua_pushcclosure(L, l_reduce, 1);
        lua_pushvalue(L, -1);
        lua_setfield(L, methods, reductions[i].name);
        lua_setfield(L, dl, reductions[i].name);
    }
}
