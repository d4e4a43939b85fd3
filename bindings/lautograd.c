/*
 * lautograd.c -- autodiff from Lua: t:backward(), t.grad (read by the
 * tensor __index), t:zero_grad(), t:detach(), t:is_leaf(), t:grad_fn(),
 * dl.no_grad(fn), dl.enable_grad(fn), dl.is_grad_enabled(); and the
 * in-place initialisers uniform_ / normal_ / zero_ / mul_.
 */
#include "lbox.h"

/* t:backward([grad]) -- accumulates d t / d leaf into every leaf's .grad */
static int tensor_backward(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "backward");
    dl_tensor *grad = lua_isnoneornil(L, 2) ? NULL : ldl_checktensor(L, 2, "backward");
    ldl_check_status(L, dl_backward(t, grad));
    ldl_account(L);
    return 0;
}

/* t:zero_grad() -- forgets t's accumulated gradient */
static int tensor_zero_grad(lua_State *L)
{
    dl_zero_grad(ldl_checktensor(L, 1, "zero_grad"));
    return 0;
}

/* t:detach() -> a tensor sharing t's data, cut off from the graph */
static int tensor_detach(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "detach");
    return ldl_result(L, dl_detach(t, ldl_newbox(L)));
}

/* t:is_leaf() -> true unless t was computed by a recorded operation */
static int tensor_is_leaf(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "is_leaf");
    lua_pushboolean(L, dl_is_leaf(t));
    return 1;
}

/* t:grad_fn() -> the name of the operation that made t ("mul"), or nil */
static int tensor_grad_fn(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "grad_fn");
    const char *name = dl_grad_fn_name(t);
    if (name == NULL)
        return 0;
    lua_pushstring(L, name);
    return 1;
}

/* require("dl.autograd_graph").node(t) -> id, op, inputs, graph_freed:
 * what dl.graph shows of t. id is the same number for every box of the
 * same tensor; op is the name of the operation that made t (nil for a
 * leaf); inputs is the list of that operation's input tensors. */
static int graph_node(lua_State *L)
{
    dl_tensor *t = ldl_checktensor(L, 1, "graph");
    lua_pushinteger(L, (lua_Integer)(intptr_t)t);
    const char *name = dl_grad_fn_name(t);
    if (name)
        lua_pushstring(L, name);
    else
        lua_pushnil(L);
    lua_newtable(L);
    for (int i = 0; dl_grad_fn_input(t, i) != NULL; i++) {
        dl_tensor *input = dl_grad_fn_input(t, i);
        dl_tensor **box = ldl_newbox(L);
        dl_retain(input);
        *box = input;
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushboolean(L, t->graph_freed);
    return 4;
}

/* Runs fn(...) with grad mode set to `enabled`, restoring it afterwards
 * even when fn raises an error; returns fn's results. */
static int run_with_grad_mode(lua_State *L, const char *fn, bool enabled)
{
    if (lua_type(L, 1) != LUA_TFUNCTION)
        return ldl_typeerror(L, 1, fn, "a function");
    bool previous = dl_set_grad_enabled(enabled);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    dl_set_grad_enabled(previous);
    if (status != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

/* dl.no_grad(fn, ...) -> fn(...) run without recording the graph */
static int l_no_grad(lua_State *L)
{
    return run_with_grad_mode(L, "no_grad", false);
}

/* dl.enable_grad(fn, ...) -> fn(...) run with recording on */
static int l_enable_grad(lua_State *L)
{
    return run_with_grad_mode(L, "enable_grad", true);
}

/* dl.is_grad_enabled() -> whether operations record the graph now */
static int l_is_grad_enabled(lua_State *L)
{
    lua_pushboolean(L, dl_grad_enabled());
    return 1;
}

/* Checks that t may change in place; raises the core's message otherwise. */
static dl_tensor *inplace_target(lua_State *L, const char *fn)
{
    dl_tensor *t = ldl_checktensor(L, 1, fn);
    ldl_check_status(L, dl_check_inplace(fn, t));
    return t;
}

/* t:uniform_([a=0, b=1]) -> t filled with U(a, b) draws */
static int tensor_uniform_(lua_State *L)
{
    dl_tensor *t = inplace_target(L, "uniform_");
    double a = lua_isnoneornil(L, 2) ? 0 : ldl_checknumber(L, 2, "uniform_");
    double b = lua_isnoneornil(L, 3) ? 1 : ldl_checknumber(L, 3, "uniform_");
    if (!(a <= b))
        return ldl_argerror(L, 3, "uniform_", "expected an upper bound >= %g, got %g", a, b);
    ldl_check_status(L, dl_uniform_(t, (float)a, (float)b));
    lua_settop(L, 1);
    return 1;
}

/* t:normal_([mean=0, std=1]) -> t filled with N(mean, std^2) draws */
static int tensor_normal_(lua_State *L)
{
    dl_tensor *t = inplace_target(L, "normal_");
    double mean = lua_isnoneornil(L, 2) ? 0 : ldl_checknumber(L, 2, "normal_");
    double std = lua_isnoneornil(L, 3) ? 1 : ldl_checknumber(L, 3, "normal_");
    if (!(std >= 0))
        return ldl_argerror(L, 3, "normal_", "expected a standard deviation >= 0, got %g", std);
    ldl_check_status(L, dl_normal_(t, (float)mean, (float)std));
    lua_settop(L, 1);
    return 1;
}

/* t:zero_() -> t filled with zeros */
static int tensor_zero_(lua_State *L)
{
    ldl_check_status(L, dl_fill_(inplace_target(L, "zero_"), 0.0f));
    lua_settop(L, 1);
    return 1;
}

/* t:mul_(s) -> t scaled by the number s in place */
static int tensor_mul_(lua_State *L)
{
    dl_tensor *t = inplace_target(L, "mul_");
    dl_scale_(t, (float)ldl_checknumber(L, 2, "mul_"));
    lua_settop(L, 1);
    return 1;
}

static const luaL_Reg methods[] = {
    {"backward", tensor_backward},
    {"zero_grad", tensor_zero_grad},
    {"detach", tensor_detach},
    {"is_leaf", tensor_is_leaf},
    {"grad_fn", tensor_grad_fn},
    {"uniform_", tensor_uniform_},
    {"normal_", tensor_normal_},
    {"zero_", tensor_zero_},
    {"mul_", tensor_mul_},
    {NULL, NULL}
};

static const luaL_Reg functions[] = {
    {"no_grad", l_no_grad},
    {"enable_grad", l_enable_grad},
    {"is_grad_enabled", l_is_grad_enabled},
    {NULL, NULL}
};

void ldl_open_autograd(lua_State *L, int dl, int methods_table)
{
    ldl_setfuncs(L, methods_table, methods);
    ldl_setfuncs(L, dl, functions);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_newtable(L);
    lua_pushcfunction(L, graph_node);
    lua_setfield(L, -2, "node");
    lua_setfield(L, -2, "dl.autograd_graph");
    lua_pop(L, 1);
}
