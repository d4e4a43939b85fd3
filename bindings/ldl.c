/*
 * ldl.c -- luaopen_dl: builds the dl table from every binding area, adds
 * the machine functions (manual_seed, clock, threads, memory, blas_info),
 * and registers the embedded pure-Lua modules in package.preload.
 */
#include <dlfcn.h>

#include "dl_lua.h"
#include "embedded.h"
#include "lbox.h"

/* dl.manual_seed(n): every later random draw repeats for the same n */
static int l_manual_seed(lua_State *L)
{
    dl_manual_seed((uint64_t)ldl_checkinteger(L, 1, "manual_seed"));
    return 0;
}

/* dl.clock() -> monotonic wall-clock seconds */
static int l_clock(lua_State *L)
{
    lua_pushnumber(L, dl_clock());
    return 1;
}

/* dl.threads() -> thread count; dl.threads(n) sets it (n >= 1), returns it */
static int l_threads(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) {
        int64_t n = ldl_checkinteger(L, 1, "threads");
        if (n < 1 || n > 4096)
            return ldl_argerror(L, 1, "threads", "expected a thread count in 1..4096, "
                                "got %lld", (long long)n);
        dl_set_threads((int)n);
    }
    lua_pushinteger(L, dl_get_threads());
    return 1;
}

/* dl.memory() -> bytes of live tensor data, bytes held in the buffer cache */
static int l_memory(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)dl_memory_in_use());
    lua_pushinteger(L, (lua_Integer)dl_memory_cached());
    return 2;
}

/* dl.blas_info() -> one line naming the BLAS library */
static int l_blas_info(lua_State *L)
{
    lua_pushstring(L, dl_blas_info());
    return 1;
}

static const luaL_Reg machine[] = {
    {"manual_seed", l_manual_seed},
    {"clock", l_clock},
    {"threads", l_threads},
    {"memory", l_memory},
    {"blas_info", l_blas_info},
    {NULL, NULL}
};

/* package.preload loader of one embedded module (upvalue 1). */
static int load_embedded(lua_State *L)
{
    const dl_embedded_module *m = lua_touserdata(L, lua_upvalueindex(1));
    const char *chunkname = lua_pushfstring(L, "@%s", m->path);
    if (luaL_loadbufferx(L, m->source, m->length, chunkname, "t") != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, m->name);
    lua_pushstring(L, m->path);
    lua_call(L, 2, 1);
    return 1;
}

static void register_embedded(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const dl_embedded_module *m = dl_embedded_modules; m->name != NULL; m++) {
        lua_pushlightuserdata(L, (void *)m);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 1);
}

/* Keeps dl.so mapped until the process exits. lua_close unloads C modules,
 * and unmapping OpenMP and OpenBLAS while their worker threads still run
 * crashes the process at exit. In dlrepl this finds the executable and
 * does nothing. */
static void pin_library(void)
{
    Dl_info info;
    if (dladdr((void *)luaopen_dl, &info) && info.dli_fname != NULL)
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

/* dl[field] = require(module). */
static void require_into(lua_State *L, int dl, const char *module, const char *field)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, module);
    lua_call(L, 1, 1);
    lua_setfield(L, dl, field);
}

int luaopen_dl(lua_State *L)
{
    luaL_checkversion(L);
    pin_library();
    /* Tensor bytes are reported to the GC as debt (lbox.c), which paces
     * the incremental collector. Generational mode ignores that debt for
     * major collections, and its minor ones promote the temporaries of
     * every step to old, so memory would only be reclaimed at the soft
     * limit: use incremental mode (lua.c starts Lua 5.4 in generational).
     * Every tensor box has a finalizer, which keeps a dead box alive for an
     * extra cycle; with Lua's default pacing (pause 200, step multiplier 100)
     * the collector falls behind a loop of small operations and the heap
     * swells to tens of megabytes of dead boxes, which made `a + b` twice as
     * slow. Starting cycles sooner (pause 150) and working three times as hard
     * per step (multiplier 300) keeps the heap at a few hundred kilobytes. */
    lua_gc(L, LUA_GCINC, 150, 300, 0);
    lua_newtable(L);
    int dl = lua_gettop(L);
    lua_newtable(L);
    int methods = lua_gettop(L);
    ldl_open_tensor(L, dl, methods);
    ldl_open_create(L, dl, methods);
    ldl_open_arith(L, dl, methods);
    ldl_open_reduce(L, dl, methods);
    ldl_open_shape(L, dl, methods);
    ldl_open_autograd(L, dl, methods);
    ldl_open_ops(L, dl, methods);
    lua_setfield(L, dl, "Tensor");
    ldl_setfuncs(L, dl, machine);
    lua_pushliteral(L, DL_VERSION);
    lua_setfield(L, dl, "version");
    ldl_open_nn(L);
    ldl_open_optim(L);
    ldl_open_errors(L);
    ldl_open_safetensors(L);
    ldl_open_dist(L);
    register_embedded(L);
    /* The Lua parts (dl.nn, dl.optim) require "dl" themselves: publish the
     * table before loading them. */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, dl);
    lua_setfield(L, -2, "dl");
    lua_pop(L, 1);
    require_into(L, dl, "dl.nn", "nn");
    require_into(L, dl, "dl.optim", "optim");
    require_into(L, dl, "dl.metrics", "metrics");
    require_into(L, dl, "dl.einsum", "einsum");
    require_into(L, dl, "dl.dist", "dist");
    ldl_open_plot(L, dl);
    ldl_open_data(L, dl);
    return 1;
}
