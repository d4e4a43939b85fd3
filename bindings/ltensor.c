/*
 * ltensor.c -- the "dl.Tensor" metatable (__index, __newindex, __len,
 * __tostring, __gc, __close) and the inspection methods: shape, size, dim,
 * numel, item, totable, clone, contiguous, fill_, copy_, requires_grad.
 */
#include <stdlib.h>

#include <string.h>

#include "lbox.h"

/* ---- metamethods ----------------------------------------------------------- */

/* t.name finds a method (upvalue 1 is the methods table); t[i] is row i as
 * a view, or the number at i for a 1-D tensor. */
/* t.grad: the accumulated gradient (a tensor sharing it), or nil. */
static int push_grad(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "grad");
    if (t->grad == NULL)
        return 0;
    dl_retain(t->grad);
    *ldl_newbox(L) = t->grad;
    return 1;
}

static int tensor_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING) {
        lua_pushvalue(L, 2);
        lua_rawget(L, lua_upvalueindex(1));
        if (lua_isnil(L, -1) && strcmp(lua_tostring(L, 2), "grad") == 0)
            return push_grad(L);
        return 1;
    }
    dl_tensor *t = ldl_checktensor(L, 1, "__index");
    if (lua_type(L, 2) != LUA_TNUMBER)
        return ldl_typeerror(L, 2, "__index", "an index or a method name");
    if (t->ndim == 0)
        return ldl_argerror(L, 2, "__index", "expected no index (the tensor is 0-d), "
                            "got %s", lua_tostring(L, 2));
    int64_t i = ldl_checkpos(L, 2, "__index", t->shape[0]);
    if (t->ndim == 1) {
        lua_pushnumber(L, dl_data(t)[i * t->stride[0]]);
        return 1;
    }
    dl_tensor **box = ldl_newbox(L);
    return ldl_result(L, dl_select(t, 0, i, box));
}

/* t[i] = v: v (a number, or a tensor broadcast to the row) is written into
 * row i, or into element i of a 1-D tensor. */
static int tensor_newindex(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "__newindex");
    if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "grad") == 0 &&
        lua_isnil(L, 3)) {
        dl_zero_grad(t);                 /* t.grad = nil forgets the gradient */
        return 0;
    }
    if (lua_type(L, 2) == LUA_TSTRING)
        return ldl_argerror(L, 2, "__newindex", "expected an index, got the field name "
                            "'%s' (tensors have no settable fields)", lua_tostring(L, 2));
    if (lua_type(L, 2) != LUA_TNUMBER)
        return ldl_typeerror(L, 2, "__newindex", "an index");
    if (t->ndim == 0)
        return ldl_argerror(L, 2, "__newindex", "expected no index (the tensor is 0-d), "
                            "got %s", lua_tostring(L, 2));
    int64_t i = ldl_checkpos(L, 2, "__newindex", t->shape[0]);
    dl_tensor *src = ldl_totensor(L, 3, "__newindex");
    if (src == NULL && lua_type(L, 3) != LUA_TNUMBER)
        return ldl_typeerror(L, 3, "__newindex", "a number or a tensor");
    ldl_check_status(L, dl_set_row_(t, i, src, (float)lua_tonumber(L, 3)));
    return 0;
}

/* #t: the size of the first dim. */
static int tensor_len(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "__len");
    if (t->ndim == 0)
        return ldl_argerror(L, 1, "__len", "expected a tensor with dims, got a 0-d tensor");
    lua_pushinteger(L, t->shape[0]);
    return 1;
}

/* tostring(t): values, then a line with the shape and the grad flag. */
static int tensor_tostring(lua_State *L)
{
    if (!ldl_istensor(L, 1))
        return ldl_typeerror(L, 1, "__tostring", "a tensor");
    dl_tensor **box = lua_touserdata(L, 1);
    if (*box == NULL) {
        lua_pushliteral(L, "tensor (closed)");
        return 1;
    }
    char *text = dl_format(*box);
    if (text == NULL)
        return ldl_error(L, "not enough memory to print a tensor");
    lua_pushstring(L, text);
    free(text);
    return 1;
}

/* __gc and __close: drop the box's reference (once). */
static int tensor_release(lua_State *L)
{
    if (!ldl_istensor(L, 1))
        return ldl_typeerror(L, 1, "__gc", "a tensor");
    dl_tensor **box = lua_touserdata(L, 1);
    dl_release(*box);
    *box = NULL;
    return 0;
}

/* ---- inspection -------------------------------------------------------------- */

static void push_shape(lua_State *L, const dl_tensor *t)
{
    lua_createtable(L, t->ndim, 0);
    for (int d = 0; d < t->ndim; d++) {
        lua_pushinteger(L, t->shape[d]);
        lua_rawseti(L, -2, d + 1);
    }
}

/* t:shape() -> {sizes...} */
static int tensor_shape(lua_State *L)
{
    push_shape(L, ldl_checktensor(L, 1, "shape"));
    return 1;
}

/* t:size() -> {sizes...}; t:size(d) -> size of dim d */
static int tensor_size(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "size");
    if (lua_isnoneornil(L, 2))
        push_shape(L, t);
    else
        lua_pushinteger(L, t->shape[ldl_checkdim(L, 2, "size", t->ndim)]);
    return 1;
}

/* t:dim() -> number of dims */
static int tensor_dim(lua_State *L)
{
    lua_pushinteger(L, ldl_checktensor(L, 1, "dim")->ndim);
    return 1;
}

/* t:numel() -> number of elements */
static int tensor_numel(lua_State *L)
{
    lua_pushinteger(L, dl_numel(ldl_checktensor(L, 1, "numel")));
    return 1;
}

/* t:item() -> the value of a one-element tensor */
static int tensor_item(lua_State *L)
{
    float v;
    ldl_check_status(L, dl_item(ldl_checktensor(L, 1, "item"), &v));
    lua_pushnumber(L, v);
    return 1;
}

static void push_values(lua_State *L, const dl_tensor *t, const float *p, int d)
{
    if (d >= t->ndim || d >= DL_MAX_DIM) {
        lua_pushnumber(L, *p);
        return;
    }
    luaL_checkstack(L, 2, NULL);
    lua_createtable(L, t->shape[d] > INT32_MAX ? 0 : (int)t->shape[d], 0);
    for (int64_t i = 0; i < t->shape[d]; i++) {
        push_values(L, t, p + i * t->stride[d], d + 1);
        lua_rawseti(L, -2, i + 1);
    }
}

/* t:totable() -> nested tables of numbers (a number for a 0-d tensor) */
static int tensor_totable(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "totable");
    double tables = 1;             /* the innermost tables; an empty dim ends the nesting */
    for (int d = 0; d + 1 < t->ndim && t->shape[d] > 0; d++)
        tables *= (double)t->shape[d];
    if (tables > (double)INT32_MAX) {
        char shape[96];
        dl_shape_string(t, shape, sizeof shape);
        return ldl_argerror(L, 1, "totable", "expected a tensor that fits in Lua tables, got "
                            "shape %s (%.3g nested tables)", shape, tables);
    }
    push_values(L, t, dl_data(t), 0);
    return 1;
}

/* t:clone() -> a contiguous copy sharing nothing */
static int tensor_clone(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "clone");
    return ldl_result(L, dl_clone_recorded(t, ldl_newbox(L)));
}

/* t:contiguous() -> t itself when contiguous, else a contiguous copy */
static int tensor_contiguous(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "contiguous");
    if (dl_is_contiguous(t)) {
        lua_settop(L, 1);
        return 1;
    }
    dl_status st = dl_contiguous_recorded(t, ldl_newbox(L));
    if (st != DL_OK)    /* the copy is made by clone: the user called contiguous */
        return ldl_error(L, "%s", ldl_renamed(dl_error(), "clone", "contiguous"));
    return ldl_result(L, st);
}

/* t:is_contiguous() -> boolean */
static int tensor_is_contiguous(lua_State *L)
{
    lua_pushboolean(L, dl_is_contiguous(ldl_checktensor(L, 1, "is_contiguous")));
    return 1;
}

/* t:fill_(v) -> t, every element set to v */
static int tensor_fill_(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "fill_");
    ldl_check_status(L, dl_fill_(t, (float)ldl_checknumber(L, 2, "fill_")));
    lua_settop(L, 1);
    return 1;
}

/* t:copy_(src) -> t, src's values (broadcast) copied in */
static int tensor_copy_(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "copy_");
    ldl_check_status(L, dl_copy_(t, ldl_checktensor(L, 2, "copy_")));
    lua_settop(L, 1);
    return 1;
}

/* t:requires_grad() -> the flag; t:requires_grad(flag) -> t, flag set */
static int tensor_requires_grad(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "requires_grad");
    if (lua_isnone(L, 2)) {
        lua_pushboolean(L, t->requires_grad);
        return 1;
    }
    if (!lua_isboolean(L, 2))
        return ldl_typeerror(L, 2, "requires_grad", "a boolean");
    ldl_check_status(L, dl_set_requires_grad(t, lua_toboolean(L, 2)));
    lua_settop(L, 1);
    return 1;
}

/* dl.is_tensor(v) -> true when v is a tensor (closed or not) */
static int l_is_tensor(lua_State *L)
{
    lua_pushboolean(L, ldl_istensor(L, 1));
    return 1;
}

static const luaL_Reg metamethods[] = {
    {"__newindex", tensor_newindex},
    {"__len", tensor_len},
    {"__tostring", tensor_tostring},
    {"__gc", tensor_release},
    {"__close", tensor_release},
    {NULL, NULL}
};

static const luaL_Reg methods_list[] = {
    {"shape", tensor_shape},
    {"size", tensor_size},
    {"dim", tensor_dim},
    {"numel", tensor_numel},
    {"item", tensor_item},
    {"totable", tensor_totable},
    {"clone", tensor_clone},
    {"contiguous", tensor_contiguous},
    {"is_contiguous", tensor_is_contiguous},
    {"fill_", tensor_fill_},
    {"copy_", tensor_copy_},
    {"requires_grad", tensor_requires_grad},
    {NULL, NULL}
};

void ldl_open_tensor(lua_State *L, int dl, int methods)
{
    luaL_newmetatable(L, LDL_TENSOR);
    ldl_register_metatable(L);
    int meta = lua_gettop(L);
    ldl_setfuncs(L, meta, metamethods);
    lua_pushvalue(L, methods);
    lua_pushcclosure(L, tensor_index, 1);
    lua_setfield(L, meta, "__index");
    lua_pop(L, 1);
    ldl_setfuncs(L, methods, methods_list);
    lua_pushcfunction(L, tensor_clone);
    lua_setfield(L, dl, "clone");
    lua_pushcfunction(L, l_is_tensor);
    lua_setfield(L, dl, "is_tensor");
}
