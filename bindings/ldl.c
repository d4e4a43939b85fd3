/*
 * ldl.c -- luaopen_dl: builds the dl table from every binding area, adds
 * the machine functions (manual_seed, clock, threads, memory, blas_info,
 * the interrupt deferral fit uses),
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

/* dl.threads() -> thread count; dl.threads(n) sets it (1 <= n <= the most
 * this OpenBLAS and OpenMP give), returns it */
static int l_threads(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) {
        int64_t n = ldl_checkinteger(L, 1, "threads");
        int most = dl_max_threads();
        if (n < 1 || n > most)
            return ldl_argerror(L, 1, "threads", "expected a thread count in 1..%d, "
                                "got %lld", most, (long long)n);
        dl_set_threads((int)n);
    }
    lua_pushinteger(L, dl_get_threads());
    return 1;
}

/* dl.memory() -> bytes of live tensor data, bytes held in the buffer
 * cache, the peak of live tensor data, bytes of the Lua heap
 * (called as the table dl.memory: argument 1 is the table itself) */
static int l_memory(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)dl_memory_in_use());
    lua_pushinteger(L, (lua_Integer)dl_memory_cached());
    lua_pushinteger(L, (lua_Integer)dl_memory_peak());
    lua_pushinteger(L, (lua_Integer)lua_gc(L, LUA_GCCOUNT) * 1024 + lua_gc(L, LUA_GCCOUNTB));
    return 4;
}

/* dl.memory.release() -> bytes given back: a full Lua collection (dead
 * tensors free their data), then the whole buffer cache goes back to the
 * system. */
static int l_memory_release(lua_State *L)
{
    size_t before = dl_memory_in_use() + dl_memory_cached();
    lua_gc(L, LUA_GCCOLLECT);
    size_t live = dl_memory_in_use();
    dl_cache_clear();
    lua_pushinteger(L, (lua_Integer)(before > live ? before - live : 0));
    return 1;
}

/* dl.memory: a table callable as dl.memory(), with dl.memory.release. */
static void push_memory(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_memory_release);
    lua_setfield(L, -2, "release");
    lua_newtable(L);
    lua_pushcfunction(L, l_memory);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
}

/* dl.blas_info() -> one line naming the BLAS library */
static int l_blas_info(lua_State *L)
{
    lua_pushstring(L, dl_blas_info());
    return 1;
}

/* dl.deferring_interrupts(fn, ...) -> fn(...): while fn runs, a first
 * Ctrl-C does not stop it but is noted for dl.interrupt_requested() (fn
 * polls it at safe points, as fit does after each batch); a second one
 * interrupts as usual. Errors of fn pass through. */
static int l_deferring_interrupts(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TFUNCTION)
        return ldl_argerror(L, 1, "deferring_interrupts", "expected a function, got %s",
                            luaL_typename(L, 1));
    dl_defer_interrupts(true);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    dl_defer_interrupts(false);
    if (status != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

/* dl.interrupt_requested() -> true, once, when Ctrl-C was pressed since the
 * code started (noted while deferring, or an interrupt that was caught);
 * forgets the request. */
static int l_interrupt_requested(lua_State *L)
{
    bool requested = dl_take_deferred_interrupt() || dl_interrupted();
    dl_clear_interrupt();
    lua_pushboolean(L, requested);
    return 1;
}

static const luaL_Reg machine[] = {
    {"deferring_interrupts", l_deferring_interrupts},
    {"interrupt_requested", l_interrupt_requested},
    {"manual_seed", l_manual_seed},
    {"clock", l_clock},
    {"threads", l_threads},
    {"blas_info", l_blas_info},
    {NULL, NULL}
};

/* package.preload loader of one embedded module (upvalue 1). */
static int load_embedded(lua_State *L)
{
    const dl_embedded_module *m = lua_touserdata(L, lua_upvalueindex(1));
    const char *chunkname = lua_pushfstring(L, "@%s", m->path);
    if (luaL_loadbufferx(L, m->source, m->length, chunkname, "b") != LUA_OK)
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
    push_memory(L);
    lua_setfield(L, dl, "memory");
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
    require_into(L, dl, "dl.search", "search");
    require_into(L, dl, "dl.einsum", "einsum");
    require_into(L, dl, "dl.dist", "dist");
    ldl_open_plot(L, dl);
    ldl_open_data(L, dl);
    /* dl.gradcheck, dl.graph, dl.pca, Module:hook_activations */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "dl.inside");
    lua_call(L, 1, 0);
    return 1;
}
