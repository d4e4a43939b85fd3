/*
 * ldist.c -- the MPI side of dl.dist, as the table `require "dl.mpi"`
 * that bindings/lua/dl/dist.lua builds on. MPI stays optional: nothing
 * here links libmpi. load() opens $(BUILD)/dl_mpi.so (dist/mpi_backend.c)
 * with dlopen, next to the dl.so or dlrepl that holds this code, or at
 * $DL_MPI_LIBRARY.
 *
 *   load() -> rank, size            MPI_Init; raises when MPI cannot be had
 *   set_timeout(seconds)            how long a collective waits for the others
 *   barrier()
 *   all_reduce(tensors, op)         op "sum" | "mean" | "max", in place
 *   broadcast(tensors, root)        root 0-based, in place
 *   all_gather(t) -> (size, ...t's shape) tensor
 *   abort(message)                  stops every rank
 *
 * The Lua side checks the arguments (tensors contiguous, every rank
 * passing the same shapes is the caller's contract). Lists of tensors go
 * to MPI packed into buckets, so many small gradients cost few calls.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../dist/mpi_backend.h"
#include "lbox.h"

/* Floats packed into one call: 4 M (16 MB). A tensor at least this big
 * goes on its own, from its own memory. */
#define BUCKET ((size_t)1 << 22)

static const dl_mpi_backend *mpi;

/* The directory of the file that holds this code (dl.so, or the dlrepl
 * executable) into dir, with a trailing slash; "" when unknown. */
static void own_directory(char *dir, size_t size)
{
    Dl_info info;
    const char *file = NULL;
    char exe[PATH_MAX];
    if (dladdr((void *)own_directory, &info) && info.dli_fname != NULL
            && strchr(info.dli_fname, '/') != NULL)
        file = info.dli_fname;
    if (file == NULL) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            file = exe;
        }
    }
    const char *slash = file ? strrchr(file, '/') : NULL;
    size_t len = slash ? (size_t)(slash - file) + 1 : 0;
    if (len >= size)
        len = 0;
    memcpy(dir, file ? file : "", len);
    dir[len] = '\0';
}

/* load() -> rank, size */
static int l_load(lua_State *L)
{
    char err[512];
    if (mpi == NULL) {
        char path[PATH_MAX + 16];
        const char *env = getenv("DL_MPI_LIBRARY");
        if (env != NULL && env[0] != '\0') {
            snprintf(path, sizeof path, "%s", env);
        } else {
            own_directory(path, PATH_MAX);
            strcat(path, "dl_mpi.so");
        }
        /* RTLD_GLOBAL: Open MPI's own plugins look for libmpi's symbols. */
        void *lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
        if (lib == NULL)
            return ldl_error(L, "dl.dist.init: cannot load the MPI module (%s); it is built "
                             "by make when libopenmpi-dev is installed", dlerror());
        const dl_mpi_backend *(*get)(void) =
            (const dl_mpi_backend *(*)(void))dlsym(lib, DL_MPI_BACKEND_SYMBOL);
        if (get == NULL || get()->abi != DL_MPI_BACKEND_ABI)
            return ldl_error(L, "dl.dist.init: %s is not this build's MPI module "
                             "(rebuild with make)", path);
        mpi = get();
    }
    if (mpi->init(err, sizeof err) != 0)
        return ldl_error(L, "dl.dist.init: %s", err);
    lua_pushinteger(L, mpi->rank());
    lua_pushinteger(L, mpi->size());
    return 2;
}

/* The backend, or an error naming fn when load() has not succeeded. */
static const dl_mpi_backend *backend(lua_State *L, const char *fn)
{
    if (mpi == NULL)
        ldl_error(L, "dl.dist.%s: MPI is not loaded (call dl.dist.init() under mpirun)", fn);
    return mpi;
}

/* set_timeout(seconds) */
static int l_set_timeout(lua_State *L)
{
    backend(L, "init")->set_timeout(luaL_checknumber(L, 1));
    return 0;
}

static int l_barrier(lua_State *L)
{
    char err[512];
    if (backend(L, "barrier")->barrier(err, sizeof err) != 0)
        return ldl_error(L, "dl.dist.barrier: %s", err);
    return 0;
}

/* The n tensors of the list at index 1, checked. */
static dl_tensor *list_item(lua_State *L, int i, const char *fn)
{
    lua_geti(L, 1, i);
    dl_tensor *t = ldl_checktensor(L, -1, fn);
    lua_pop(L, 1);   /* the list keeps it alive */
    ldl_check_status(L, dl_check_inplace(fn, t));
    if (!dl_is_contiguous(t))
        ldl_argerror(L, 1, fn, "expected contiguous tensors, got a non-contiguous one at %d", i);
    return t;
}

typedef int (*collective)(float *data, size_t n, int arg, char *err, size_t errlen);

static int reduce_sum(float *d, size_t n, int unused, char *e, size_t l)
{
    (void)unused;
    return mpi->all_reduce(d, n, DL_MPI_SUM, e, l);
}

static int reduce_max(float *d, size_t n, int unused, char *e, size_t l)
{
    (void)unused;
    return mpi->all_reduce(d, n, DL_MPI_MAX, e, l);
}

static int bcast(float *d, size_t n, int root, char *e, size_t l)
{
    return mpi->broadcast(d, n, root, e, l);
}

/* Multiplies n floats by scale (1: nothing to do). */
static void scale_floats(float *data, size_t n, float scale)
{
    if (scale != 1.0f)
        for (size_t i = 0; i < n; i++)
            data[i] *= scale;
}

/* Runs `op` over the tensors of the list at index 1 in place, then
 * multiplies them by `scale`: runs of small tensors packed into one
 * bucket, big ones on their own. Every tensor is checked before the first
 * MPI call, so a bad list fails on every rank alike; the scratch memory is
 * Lua's (a raised error cannot leak it). */
static void over_list(lua_State *L, const char *fn, collective op, int arg, float scale)
{
    char err[512];
    size_t count = (size_t)luaL_len(L, 1), small = 0;
    dl_tensor **tensors = lua_newuserdatauv(L, (count ? count : 1) * sizeof *tensors, 0);
    for (size_t i = 0; i < count; i++) {
        tensors[i] = list_item(L, (int)i + 1, fn);
        size_t n = (size_t)dl_numel(tensors[i]);
        small += n < BUCKET ? n : 0;
    }
    float *bucket = small ? lua_newuserdatauv(L, (small < BUCKET ? small : BUCKET) * sizeof *bucket, 0)
                          : NULL;
    size_t i = 0;
    while (i < count) {
        size_t n = (size_t)dl_numel(tensors[i]);
        if (n >= BUCKET) {
            if (op(dl_data(tensors[i]), n, arg, err, sizeof err) != 0)
                ldl_error(L, "dl.dist.%s: %s", fn, err);
            scale_floats(dl_data(tensors[i]), n, scale);
            dl_bump_version(tensors[i]);
            i++;
            continue;
        }
        size_t last = i, fill = 0;
        for (; last < count; last++) {
            size_t m = (size_t)dl_numel(tensors[last]);
            if (m >= BUCKET || fill + m > BUCKET)
                break;
            memcpy(bucket + fill, dl_data(tensors[last]), m * sizeof *bucket);
            fill += m;
        }
        if (op(bucket, fill, arg, err, sizeof err) != 0)
            ldl_error(L, "dl.dist.%s: %s", fn, err);
        for (fill = 0; i < last; i++) {
            size_t m = (size_t)dl_numel(tensors[i]);
            memcpy(dl_data(tensors[i]), bucket + fill, m * sizeof *bucket);
            scale_floats(dl_data(tensors[i]), m, scale);
            fill += m;
            dl_bump_version(tensors[i]);
        }
    }
}

/* all_reduce(tensors, op): "mean" is the sum divided by the world size */
static int l_all_reduce(lua_State *L)
{
    const dl_mpi_backend *b = backend(L, "all_reduce");
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *op = luaL_checkstring(L, 2);
    float scale = strcmp(op, "mean") == 0 ? 1.0f / (float)b->size() : 1.0f;
    over_list(L, "all_reduce", strcmp(op, "max") == 0 ? reduce_max : reduce_sum, 0, scale);
    return 0;
}

/* broadcast(tensors, root) */
static int l_broadcast(lua_State *L)
{
    backend(L, "broadcast");
    luaL_checktype(L, 1, LUA_TTABLE);
    over_list(L, "broadcast", bcast, (int)luaL_checkinteger(L, 2), 1.0f);
    return 0;
}

/* all_gather(t) -> tensor of shape (size, ...t's shape) */
static int l_all_gather(lua_State *L)
{
    char err[512];
    const dl_mpi_backend *b = backend(L, "all_gather");
    dl_tensor *t = ldl_checktensor(L, 1, "all_gather");
    int64_t shape[DL_MAX_DIM];
    if (t->ndim >= DL_MAX_DIM)
        return ldl_argerror(L, 1, "all_gather", "expected at most %d dims, got %d",
                            DL_MAX_DIM - 1, t->ndim);
    shape[0] = b->size();
    memcpy(shape + 1, t->shape, (size_t)t->ndim * sizeof *shape);
    dl_tensor **out = ldl_newbox(L);
    ldl_result(L, dl_empty("all_gather", t->ndim + 1, shape, out));
    if (b->all_gather(dl_data(t), dl_data(*out), (size_t)dl_numel(t), err, sizeof err) != 0)
        return ldl_error(L, "dl.dist.all_gather: %s", err);
    return 1;
}

/* abort(message): never returns */
static int l_abort(lua_State *L)
{
    backend(L, "abort")->abort(1, luaL_checkstring(L, 1));
    return 0;
}

static const luaL_Reg functions[] = {
    {"load", l_load},
    {"set_timeout", l_set_timeout},
    {"barrier", l_barrier},
    {"all_reduce", l_all_reduce},
    {"broadcast", l_broadcast},
    {"all_gather", l_all_gather},
    {"abort", l_abort},
    {NULL, NULL}
};

void ldl_open_dist(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_newtable(L);
    ldl_setfuncs(L, lua_gettop(L), functions);
    lua_setfield(L, -2, "dl.mpi");
    lua_pop(L, 1);
}
