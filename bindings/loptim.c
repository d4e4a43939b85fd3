/*
 * loptim.c -- dl.steps: the fused optimiser updates of core/optim for
 * lua/dl/optim.lua, generated from core/optim/optimizers.def.
 *
 *   step(params, states, options)   (the `step` of each optimiser below)
 *       One update in place of every parameter of the list `params` that
 *       has a gradient. states[i] is parameter i's state table in
 *       PyTorch's layout ({step = n, exp_avg = <tensor>, ...}), made when
 *       missing: step is counted up, missing state tensors are created
 *       with their initial values, state numbers are written back.
 *       `options` holds every option by name (optim.lua has checked them;
 *       the rules are checked again here).
 *   steps.optimizers
 *       The table as Lua sees it, in order: {{name = "SGD", step = fn,
 *       check = fn, options = {{name = "lr", kind = "REAL", default = 0.01,
 *       check = "NON_NEGATIVE"}, ...}, state = {{name = "momentum_buffer",
 *       kind = "TENSOR"}, ...}}, ...}. check(options) returns nil, or the
 *       message of a rule between options that they break.
 */
#include "lbox.h"

/* ---- reading options ----------------------------------------------------- */

/* Pushes field `key` of the options table at `arg`, which must be of type
 * `type`; raises an error naming the option otherwise. */
static void option_field(lua_State *L, int arg, const char *key, int type, const char *what)
{
    if (lua_getfield(L, arg, key) != type)
        ldl_argerror(L, arg, "step", "option '%s' expects %s, got %s", key, what,
                     luaL_typename(L, -1));
}

static void read_REAL(lua_State *L, int arg, const char *key, float *out)
{
    option_field(L, arg, key, LUA_TNUMBER, "a number");
    *out = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
}

static void read_FLAG(lua_State *L, int arg, const char *key, bool *out)
{
    option_field(L, arg, key, LUA_TBOOLEAN, "a boolean");
    *out = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

static void read_PAIR(lua_State *L, int arg, const char *key, float out[2])
{
    option_field(L, arg, key, LUA_TTABLE, "a pair of numbers");
    for (int i = 0; i < 2; i++) {
        if (lua_geti(L, -1, i + 1) != LUA_TNUMBER)
            ldl_argerror(L, arg, "step", "option '%s' expects a pair of numbers, got %s at %d",
                         key, luaL_typename(L, -1), i + 1);
        out[i] = (float)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

#define REF_REAL(x) (&(x))
#define REF_FLAG(x) (&(x))
#define REF_PAIR(x) (x)
#define READ_OPTION(field, kind, def, check) read_##kind(L, arg, #field, REF_##kind(o->field));
/* The first rule among RULES that the options break, or NULL. */
#define BROKEN_RULE(holds, message) if (!(holds)) return message;

/* ---- reading and writing state --------------------------------------------- */

/* The state tensor `name` of the state table at `at`, or NULL when it is
 * absent and not needed; a needed one that is absent is created full of
 * `initial` with the parameter's shape and stored, and *fresh is set. */
static dl_tensor *state_tensor(lua_State *L, int at, const char *name, const dl_tensor *param,
                               bool needed, double initial, bool *fresh)
{
    dl_tensor *t = NULL;
    if (lua_getfield(L, at, name) != LUA_TNIL) {
        t = ldl_checktensor(L, -1, "step");
    } else if (needed) {
        dl_tensor **box = ldl_newbox(L);
        ldl_result(L, dl_full("step", param->ndim, param->shape, (float)initial, box));
        t = *box;
        lua_pushvalue(L, -1);
        lua_setfield(L, at, name);
        *fresh = true;
    }
    lua_pop(L, 1);
    return t;    /* the state table keeps it alive */
}

/* The state number `name` of the state table at `at`, or `initial`. */
static double state_number(lua_State *L, int at, const char *name, double initial)
{
    double v = initial;
    if (lua_getfield(L, at, name) != LUA_TNIL) {
        if (!lua_isnumber(L, -1))
            ldl_argerror(L, 2, "step", "state '%s' expects a number, got %s", name,
                         luaL_typename(L, -1));
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* The state table of parameter i in the list at 2, made when missing;
 * pushed, and its index returned. */
static int state_table(lua_State *L, lua_Integer i)
{
    if (lua_geti(L, 2, i) != LUA_TTABLE) {
        if (!lua_isnil(L, -1))
            ldl_argerror(L, 2, "step", "the state of parameter %lld is a %s, not a table",
                         (long long)i, luaL_typename(L, -1));
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_seti(L, 2, i);
    }
    return lua_gettop(L);
}

#define READ_STATE_TENSOR(name, needed, initial) \
    state.name = state_tensor(L, at, #name, param, (needed), (initial), &state.fresh);
#define READ_STATE_NUMBER(name, needed, initial) \
    state.name = state_number(L, at, #name, (initial));
#define READ_STATE(name, kind, needed, initial) READ_STATE_##kind(name, needed, initial)
#define WRITE_STATE_TENSOR(name)
#define WRITE_STATE_NUMBER(name) lua_pushnumber(L, state.name), lua_setfield(L, at, #name);
#define WRITE_STATE(name, kind, needed, initial) WRITE_STATE_##kind(name)

/* ---- per optimiser: reading options, its rules, its step ------------------ */

#define DL_OPTIMIZER(id, Name, OPTIONS, STATE, RULES)                           \
    static void read_options_##id(lua_State *L, int arg, dl_##id##_options *o) \
    {                                                                           \
        OPTIONS(READ_OPTION)                                                    \
    }                                                                           \
                                                                                \
    static const char *broken_rule_##id(const dl_##id##_options *o)             \
    {                                                                           \
        RULES(BROKEN_RULE)                                                      \
        (void)o;                                                                \
        return NULL;                                                            \
    }                                                                           \
                                                                                \
    /* check(options) -> nil, or the message of a broken rule */              \
    static int check_##id(lua_State *L)                                         \
    {                                                                           \
        luaL_checktype(L, 1, LUA_TTABLE);                                       \
        dl_##id##_options opts;                                                 \
        read_options_##id(L, 1, &opts);                                         \
        const char *broken = broken_rule_##id(&opts);                           \
        if (!broken)                                                            \
            return 0;                                                           \
        lua_pushstring(L, broken);                                              \
        return 1;                                                               \
    }                                                                           \
                                                                                \
    /* step(params, states, options) */                                        \
    static int step_##id(lua_State *L)                                          \
    {                                                                           \
        luaL_checktype(L, 1, LUA_TTABLE);                                       \
        luaL_checktype(L, 2, LUA_TTABLE);                                       \
        luaL_checktype(L, 3, LUA_TTABLE);                                       \
        dl_##id##_options opts;                                                 \
        const dl_##id##_options *o = &opts;                                     \
        read_options_##id(L, 3, &opts);                                         \
        const char *broken = broken_rule_##id(o);                               \
        if (broken)                                                             \
            ldl_argerror(L, 3, "step", "%s", broken);                           \
        lua_Integer n = luaL_len(L, 1);                                         \
        for (lua_Integer i = 1; i <= n; i++) {                                  \
            lua_geti(L, 1, i);                                                  \
            dl_tensor *param = ldl_totensor(L, -1, "step");                     \
            if (!param)                                                         \
                ldl_argerror(L, 1, "step", "parameter %lld is not a tensor, got %s", \
                             (long long)i, luaL_typename(L, -1));               \
            lua_pop(L, 1);    /* the list keeps it alive */                     \
            if (!param->grad)                                                   \
                continue;                                                       \
            int at = state_table(L, i);                                         \
            dl_##id##_state state = {.step = (int64_t)state_number(L, at, "step", 0) + 1}; \
            STATE(READ_STATE)                                                   \
            ldl_check_status(L, dl_##id##_step(param, &state, o));              \
            lua_pushinteger(L, state.step);                                     \
            lua_setfield(L, at, "step");                                        \
            STATE(WRITE_STATE)                                                  \
            lua_pop(L, 1);                                                      \
        }                                                                       \
        return 0;                                                               \
    }
#include "optim/optimizers.def"

/* ---- the table for optim.lua ----------------------------------------------- */

#define PAIR_ARGS(a, b) a, b

static void push_pair(lua_State *L, double a, double b)
{
    lua_createtable(L, 2, 0);
    lua_pushnumber(L, a);
    lua_rawseti(L, -2, 1);
    lua_pushnumber(L, b);
    lua_rawseti(L, -2, 2);
}

#define PUSH_REAL(def) lua_pushnumber(L, def)
#define PUSH_FLAG(def) lua_pushboolean(L, def)
#define PUSH_PAIR(def) push_pair(L, PAIR_ARGS def)

/* Appends {name =, kind =, default =, check =} to the list on top. */
#define DESCRIBE_OPTION(field, kind, def, check)                                \
    lua_createtable(L, 0, 4);                                                   \
    lua_pushliteral(L, #field);                                                 \
    lua_setfield(L, -2, "name");                                                \
    lua_pushliteral(L, #kind);                                                  \
    lua_setfield(L, -2, "kind");                                                \
    PUSH_##kind(def);                                                           \
    lua_setfield(L, -2, "default");                                             \
    lua_pushliteral(L, #check);                                                 \
    lua_setfield(L, -2, "check");                                               \
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);

/* Appends {name =, kind =} to the list on top. */
#define DESCRIBE_STATE(name, kind, needed, initial)                             \
    lua_createtable(L, 0, 2);                                                   \
    lua_pushliteral(L, #name);                                                  \
    lua_setfield(L, -2, "name");                                                \
    lua_pushliteral(L, #kind);                                                  \
    lua_setfield(L, -2, "kind");                                                \
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);

/* Registers package.loaded["dl.steps"] (used by lua/dl/optim.lua). */
void ldl_open_optim(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_newtable(L);
    lua_newtable(L);
#define DL_OPTIMIZER(id, Name, OPTIONS, STATE, RULES)                           \
    lua_createtable(L, 0, 5);                                                   \
    lua_pushliteral(L, #Name);                                                  \
    lua_setfield(L, -2, "name");                                                \
    lua_pushcfunction(L, step_##id);                                            \
    lua_setfield(L, -2, "step");                                                \
    lua_pushcfunction(L, check_##id);                                           \
    lua_setfield(L, -2, "check");                                               \
    lua_newtable(L);                                                            \
    OPTIONS(DESCRIBE_OPTION)                                                    \
    lua_setfield(L, -2, "options");                                             \
    lua_newtable(L);                                                            \
    STATE(DESCRIBE_STATE)                                                       \
    lua_setfield(L, -2, "state");                                               \
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
#include "optim/optimizers.def"
    lua_setfield(L, -2, "optimizers");
    lua_setfield(L, -2, "dl.steps");
    lua_pop(L, 1);
}
