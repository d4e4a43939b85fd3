/*
 * lgnuplot.c -- the Lua side of the gnuplot process (core/plot/gnuplot.c),
 * and the registration of dl.plot itself.
 *
 * The functions are the C side of bindings/lua/dl/plot.lua, registered as
 * the module "dl.gnuplot" (not part of the public API), all sharing one
 * process handle, stopped when the Lua state closes:
 *     find() -> path | nil          run(batch, init, timeout) -> out, err, fresh
 *     pid() -> pid | nil            stop()
 * plus the data helpers of lplotdata.c.
 */
#include <limits.h>

#include "lbox.h"
#include "lplot.h"
#include "plot/gnuplot.h"

#define PROCESS_META "dl.gnuplot.process"

static dl_gnuplot *check_process(lua_State *L)
{
    return *(dl_gnuplot **)luaL_checkudata(L, lua_upvalueindex(1), PROCESS_META);
}

/* find() -> the path of the gnuplot that would run, or nil */
static int l_find(lua_State *L)
{
    char path[PATH_MAX];
    if (dl_gnuplot_find(path, sizeof path))
        lua_pushstring(L, path);
    else
        lua_pushnil(L);
    return 1;
}

/* run(batch, init, timeout) -> out, err, fresh | nil, message
 * Sends the commands `batch` to gnuplot, starting it first when none runs
 * (then `init` is sent before the batch, and `fresh` is true), and returns
 * what gnuplot wrote to stdout and to stderr in answer (see
 * dl_gnuplot_run for when it fails). */
static int l_run(lua_State *L)
{
    dl_gnuplot *g = check_process(L);
    size_t batch_len, init_len = 0;
    const char *batch = luaL_checklstring(L, 1, &batch_len);
    const char *init = lua_isnoneornil(L, 2) ? "" : luaL_checklstring(L, 2, &init_len);
    double timeout = luaL_optnumber(L, 3, 30.0);
    dl_gnuplot_answer a;
    int results;
    if (dl_gnuplot_run(g, batch, batch_len, init, init_len, timeout, &a)) {
        lua_pushlstring(L, a.out, a.out_len);
        lua_pushlstring(L, a.err, a.err_len);
        lua_pushboolean(L, a.fresh);
        results = 3;
    } else {
        lua_pushnil(L);
        lua_pushstring(L, a.message ? a.message : "talking to gnuplot failed: out of memory");
        results = 2;
    }
    dl_gnuplot_answer_free(&a);
    return results;
}

/* pid() -> the process id of the running gnuplot, or nil */
static int l_pid(lua_State *L)
{
    long pid = dl_gnuplot_pid(check_process(L));
    if (pid != 0)
        lua_pushinteger(L, pid);
    else
        lua_pushnil(L);
    return 1;
}

/* stop(): ends the running gnuplot, if any (windows it opened stay) */
static int l_stop(lua_State *L)
{
    dl_gnuplot_stop(check_process(L));
    return 0;
}

static int process_gc(lua_State *L)
{
    dl_gnuplot **p = luaL_checkudata(L, 1, PROCESS_META);
    dl_gnuplot_free(*p);
    *p = NULL;
    return 0;
}

static const luaL_Reg process_funcs[] = {
    {"find", l_find},
    {"run", l_run},
    {"pid", l_pid},
    {"stop", l_stop},
    {NULL, NULL}
};

/* Pushes the "dl.gnuplot" table: the process functions sharing one
 * process userdata (stopped when the state closes), the data helpers, and
 * `dl` (the dl table, which plot.lua cannot require while dl loads). */
static void push_gnuplot_module(lua_State *L, int dl)
{
    lua_newtable(L);
    dl_gnuplot **p = lua_newuserdatauv(L, sizeof *p, 0);
    *p = dl_gnuplot_new();
    if (*p == NULL)
        luaL_error(L, "not enough memory for dl.plot");
    if (luaL_newmetatable(L, PROCESS_META)) {
        lua_pushcfunction(L, process_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    luaL_setfuncs(L, process_funcs, 1);
    ldl_setfuncs(L, lua_gettop(L), ldl_plotdata_funcs);
    lua_pushvalue(L, dl);
    lua_setfield(L, -2, "dl");
}

void ldl_open_plot(lua_State *L, int dl)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    push_gnuplot_module(L, dl);
    lua_setfield(L, -2, "dl.gnuplot");
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_getfield(L, -1, "dl.plot");
    lua_remove(L, -2);
    lua_pushliteral(L, "dl.plot");
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "dl.plot");
    lua_setfield(L, dl, "plot");
    lua_pop(L, 1);
}
