/*
 * larith.c -- elementwise arithmetic, comparisons and math: the binary and
 * unary rows of core/ops.def (each becomes a method, a dl.* function, and
 * for + - * / ^ and unary - a metamethod; a row with parameters takes them
 * as numbers or options), plus matmul, clamp, softmax and log_softmax.
 */
#include <math.h>
#include <string.h>

#include "lbox.h"

static const char *const binary_names[] = {
#define DL_BINARY(id, name, expr, grad_a, grad_b) #name,
#include "ops.def"
};

static const char *const unary_names[] = {
#define DL_UNARY(id, name, expr, grad) #name,
#include "ops.def"
};

/* Upvalues of the op closures: the op, and the tensor metatable, which the
 * hot paths compare with directly instead of looking it up each call. */
#define OP_UPVALUE lua_upvalueindex(1)
#define META_UPVALUE lua_upvalueindex(2)

/* The open tensor at `arg` when its metatable is the upvalue, else NULL. */
static dl_tensor *fast_tensor(lua_State *L, int arg)
{
    dl_tensor **box = lua_touserdata(L, arg);
    if (box == NULL || *box == NULL || !lua_getmetatable(L, arg))
        return NULL;
    bool ours = lua_rawequal(L, -1, META_UPVALUE);
    lua_pop(L, 1);
    return ours ? *box : NULL;
}

/* An empty box with the upvalue metatable (as ldl_newbox). */
static dl_tensor **fast_newbox(lua_State *L)
{
    dl_tensor **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    lua_pushvalue(L, META_UPVALUE);
    lua_setmetatable(L, -2);
    return box;
}

/* a op b for a binary operation: tensor op tensor (broadcast), tensor op
 * number, or number op tensor. Closed tensors and wrong types fall through
 * the fast checks to the error messages at the end. */
static int l_binary(lua_State *L)
{
    dl_binary_op op = (dl_binary_op)lua_tointeger(L, OP_UPVALUE);
    dl_tensor *a = fast_tensor(L, 1), *b;
    if (a != NULL) {
        if ((b = fast_tensor(L, 2)) != NULL)
            return ldl_result(L, dl_binary(op, a, b, fast_newbox(L)));
        if (lua_type(L, 2) == LUA_TNUMBER) {
            float s = (float)lua_tonumber(L, 2);
            return ldl_result(L, dl_binary_scalar(op, a, s, false, fast_newbox(L)));
        }
    } else if (lua_type(L, 1) == LUA_TNUMBER && (b = fast_tensor(L, 2)) != NULL) {
        float s = (float)lua_tonumber(L, 1);
        return ldl_result(L, dl_binary_scalar(op, b, s, true, fast_newbox(L)));
    }
    const char *fn = binary_names[op];
    if (a == NULL && ldl_totensor(L, 1, fn) == NULL && lua_type(L, 1) != LUA_TNUMBER)
        return ldl_typeerror(L, 1, fn, "a tensor or a number");
    ldl_totensor(L, 2, fn);    /* raises for a closed tensor */
    return ldl_typeerror(L, 2, fn, a != NULL ? "a tensor or a number" : "a tensor");
}

/* f(t) for a unary operation. */
static int l_unary(lua_State *L)
{
    dl_unary_op op = (dl_unary_op)lua_tointeger(L, OP_UPVALUE);
    dl_tensor *a = fast_tensor(L, 1);
    if (a == NULL)
        a = ldl_checktensor(L, 1, unary_names[op]);
    return ldl_result(L, dl_unary(op, a, fast_newbox(L)));
}

/* The value of parameter `i` of op: the number at `arg`, else the field of
 * the options table `opts` (0: none), else the default. */
static float unary_param(lua_State *L, dl_unary_op op, int i, int arg, int opts)
{
    const char *fn = unary_names[op], *name = dl_unary_param_name(op, i);
    float value = dl_unary_param_default(op, i);
    if (name == NULL)
        return value;
    if (lua_type(L, arg) == LUA_TNUMBER)
        value = (float)lua_tonumber(L, arg);
    else if (!lua_isnoneornil(L, arg) && arg != opts)
        ldl_typeerror(L, arg, fn, "a number or an options table");
    if (opts != 0 && lua_getfield(L, opts, name) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            ldl_argerror(L, opts, fn, "expected option '%s' to be a number, got %s", name,
                         ldl_typename(L, -1));
        value = (float)lua_tonumber(L, -1);
    }
    if (opts != 0)
        lua_pop(L, 1);
    return value;
}

/* f(t, [p, [q]], [opts]) for a unary operation with parameters (the
 * DL_UNARY_P rows): t:leaky_relu(0.2), t:hardtanh{min_val = 0, max_val = 6}. */
static int l_unary_with(lua_State *L)
{
    dl_unary_op op = (dl_unary_op)lua_tointeger(L, OP_UPVALUE);
    const char *fn = unary_names[op];
    dl_tensor *a = ldl_checktensor(L, 1, fn);
    int opts = 0;
    for (int arg = 2; arg <= 4 && opts == 0; arg++)
        if (lua_istable(L, arg))
            opts = arg;
    if (opts != 0) {
        const char *known[3] = {NULL, NULL, NULL};
        for (int i = 0, k = 0; i < 2; i++)
            if (dl_unary_param_name(op, i) != NULL)
                known[k++] = dl_unary_param_name(op, i);
        ldl_checkoptions(L, opts, fn, known);
    }
    float p = unary_param(L, op, 0, 2, opts);
    float q = unary_param(L, op, 1, 3, opts);
    return ldl_result(L, dl_unary_with(op, a, p, q, ldl_newbox(L)));
}

/* dl.matmul(a, b) / a:matmul(b): torch.matmul's rules */
static int l_matmul(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "matmul");
    dl_tensor *b = ldl_checktensor(L, 2, "matmul");
    return ldl_result(L, dl_matmul(a, b, ldl_newbox(L)));
}

/* One bound of clamp: the number at `arg`, or `def` when nil. */
static float clamp_bound(lua_State *L, int arg, float def)
{
    return lua_isnoneornil(L, arg) ? def : (float)ldl_checknumber(L, arg, "clamp");
}

/* t:clamp(min, max) with nil for an open side, or t:clamp{min=, max=} */
static int l_clamp(lua_State *L)
{
    static const char *const known[] = {"min", "max", NULL};
    dl_tensor *a = ldl_checktensor(L, 1, "clamp");
    if (lua_istable(L, 2)) {
        ldl_checkoptions(L, 2, "clamp", known);
        lua_settop(L, 2);
        lua_getfield(L, 2, "min");
        lua_getfield(L, 2, "max");
        lua_remove(L, 2);
    }
    if (lua_isnoneornil(L, 2) && lua_isnoneornil(L, 3))
        return ldl_argerror(L, 2, "clamp", "expected a min, a max or both, got neither");
    float lo = clamp_bound(L, 2, -INFINITY), hi = clamp_bound(L, 3, INFINITY);
    return ldl_result(L, dl_clamp(a, lo, hi, ldl_newbox(L)));
}

/* t:gelu([{approximate = "none" | "tanh"}]): the exact GELU or PyTorch's
 * tanh approximation */
static int l_gelu(lua_State *L)
{
    static const char *const known[] = {"approximate", NULL};
    static const char *const approximations[] = {"none", "tanh", NULL};
    dl_tensor *a = ldl_checktensor(L, 1, "gelu");
    bool tanh_approximation = false;
    if (!lua_isnoneornil(L, 2)) {
        if (!lua_istable(L, 2))
            return ldl_typeerror(L, 2, "gelu", "an options table");
        ldl_checkoptions(L, 2, "gelu", known);
        lua_getfield(L, 2, "approximate");
        if (!lua_isnil(L, -1)) {
            const char *name = lua_tostring(L, -1);
            int which = -1;
            for (int i = 0; name && lua_type(L, -1) == LUA_TSTRING && approximations[i]; i++)
                if (strcmp(name, approximations[i]) == 0)
                    which = i;
            if (which < 0)
                return ldl_argerror(L, 2, "gelu", "expected approximate = \"none\" or \"tanh\", "
                                    "got %s", luaL_tolstring(L, -1, NULL));
            tanh_approximation = which == 1;
        }
        lua_pop(L, 1);
    }
    return ldl_result(L, dl_gelu(a, tanh_approximation, ldl_newbox(L)));
}

/* t:softmax([dim]) along dim (the last one by default) */
static int l_softmax(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "softmax");
    int dim = ldl_optdim(L, 2, "softmax", a->ndim, a->ndim - 1);
    return ldl_result(L, dl_softmax(a, dim, ldl_newbox(L)));
}

/* t:log_softmax([dim]) along dim (the last one by default) */
static int l_log_softmax(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "log_softmax");
    int dim = ldl_optdim(L, 2, "log_softmax", a->ndim, a->ndim - 1);
    return ldl_result(L, dl_log_softmax(a, dim, ldl_newbox(L)));
}

static const luaL_Reg functions[] = {
    {"matmul", l_matmul},
    {"clamp", l_clamp},
    {"gelu", l_gelu},           /* replaces the plain unary "gelu": takes options */
    {"softmax", l_softmax},
    {"log_softmax", l_log_softmax},
    {NULL, NULL}
};

/* Sets table[name] = closure of fn over the op and the tensor metatable,
 * in each table of tables[0..n-1]. */
static void set_op(lua_State *L, const int *tables, int n, const char *name,
                   lua_CFunction fn, int op)
{
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, op);
        luaL_getmetatable(L, LDL_TENSOR);
        lua_pushcclosure(L, fn, 2);
        lua_setfield(L, tables[i], name);
    }
}

void ldl_open_arith(lua_State *L, int dl, int methods)
{
    static const struct {
        const char *event;
        dl_binary_op op;
    } metamethods[] = {
        {"__add", DL_ADD}, {"__sub", DL_SUB}, {"__mul", DL_MUL},
        {"__div", DL_DIV}, {"__pow", DL_POW}
    };
    int both[2] = {dl, methods};
    for (int op = 0; op < DL_BINARY_COUNT; op++)
        set_op(L, both, 2, binary_names[op], l_binary, op);
    for (int op = 0; op < DL_UNARY_COUNT; op++)
        set_op(L, both, 2, unary_names[op],
               dl_unary_param_name(op, 0) != NULL ? l_unary_with : l_unary, op);
    ldl_setfuncs(L, dl, functions);
    ldl_setfuncs(L, methods, functions);

    luaL_getmetatable(L, LDL_TENSOR);
    int meta[1] = {lua_gettop(L)};
    for (size_t i = 0; i < sizeof metamethods / sizeof metamethods[0]; i++)
        set_op(L, meta, 1, metamethods[i].event, l_binary, metamethods[i].op);
    set_op(L, meta, 1, "__unm", l_unary, DL_NEG);
    lua_pop(L, 1);
}
