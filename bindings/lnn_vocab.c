/*
 * lnn_vocab.c -- more of nn.functional: pad, adaptive pooling and
 * interpolate, added to the "dl.functional" table that lnn.c registers.
 */
#include <math.h>
#include <string.h>

#include "lbox.h"

/* Index of an options table at `arg` checked against `known`; 0 if absent. */
static int options_at(lua_State *L, int arg, const char *fn, const char *const *known)
{
    if (lua_isnoneornil(L, arg))
        return 0;
    if (!lua_istable(L, arg))
        ldl_typeerror(L, arg, fn, "an options table");
    ldl_checkoptions(L, arg, fn, known);
    return arg;
}

/* A whole number >= least on top of the stack, popped; errors name `what`. */
static int whole(lua_State *L, int arg, const char *fn, const char *what, int least)
{
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < least || v > (1 << 24))
        ldl_argerror(L, arg, fn, "expected %s as a whole number >= %d, got %s", what, least,
                     luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
    return (int)v;
}

/* The value at `idx` (a number or a table of n numbers) into out[n]. */
static void sizes_at(lua_State *L, int idx, int arg, const char *fn, const char *what, int least,
                     int n, int *out)
{
    idx = lua_absindex(L, idx);
    if (lua_istable(L, idx)) {
        if ((int)luaL_len(L, idx) != n)
            ldl_argerror(L, arg, fn, "expected %s as a number or a table of %d numbers", what, n);
        for (int i = 0; i < n; i++) {
            lua_geti(L, idx, i + 1);
            out[i] = whole(L, arg, fn, what, least);
        }
    } else {
        lua_pushvalue(L, idx);
        int v = whole(L, arg, fn, what, least);
        for (int i = 0; i < n; i++)
            out[i] = v;
    }
}

static const char *const pad_options[] = {"mode", "value", NULL};
static const char *const pad_modes[] = {"constant", "reflect", "replicate", "circular", NULL};

/* F.pad(x, {left, right[, top, bottom]}[, {mode="constant", value=0}]) */
static int f_pad(lua_State *L)
{
    dl_tensor *x = ldl_checktensor(L, 1, "pad");
    if (!lua_istable(L, 2))
        ldl_typeerror(L, 2, "pad", "a table {left, right} or {left, right, top, bottom}");
    int npad = (int)luaL_len(L, 2), pad[4] = {0, 0, 0, 0};
    if (npad != 2 && npad != 4)
        ldl_argerror(L, 2, "pad", "expected {left, right} or {left, right, top, bottom}, got %d numbers",
                     npad);
    for (int i = 0; i < npad; i++) {
        lua_geti(L, 2, i + 1);
        pad[i] = whole(L, 2, "pad", "each pad", 0);
    }
    int opts = options_at(L, 3, "pad", pad_options);
    int mode = 0;
    float value = 0;
    if (opts) {
        lua_getfield(L, opts, "mode");
        if (!lua_isnil(L, -1)) {
            const char *name = lua_tostring(L, -1);
            while (pad_modes[mode] && (!name || strcmp(pad_modes[mode], name) != 0))
                mode++;
            if (!pad_modes[mode])
                ldl_argerror(L, 3, "pad", "expected mode \"constant\", \"reflect\", \"replicate\" "
                             "or \"circular\", got %s", luaL_tolstring(L, -1, NULL));
        }
        lua_pop(L, 1);
        lua_getfield(L, opts, "value");
        if (!lua_isnil(L, -1) && !lua_isnumber(L, -1))
            ldl_argerror(L, 3, "pad", "expected option 'value' to be a number, got %s",
                         luaL_typename(L, -1));
        value = (float)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    return ldl_result(L, dl_pad(x, npad, pad, (dl_pad_mode)mode, value, ldl_newbox(L)));
}

/* Shared body of the adaptive pools: (x, size) with size h or {h, w}. */
static int adaptive_pool(lua_State *L, const char *fn,
                         dl_status (*op)(const dl_tensor *, const int64_t *, dl_tensor **))
{
    dl_tensor *x = ldl_checktensor(L, 1, fn);
    if (lua_isnoneornil(L, 2))
        ldl_typeerror(L, 2, fn, "an output size h or {h, w}");
    int size[2];
    sizes_at(L, 2, 2, fn, "the output size", 1, 2, size);
    return ldl_result(L, op(x, (const int64_t[]){size[0], size[1]}, ldl_newbox(L)));
}

/* F.adaptive_avg_pool2d(x, size) */
static int f_adaptive_avg_pool2d(lua_State *L)
{
    return adaptive_pool(L, "adaptive_avg_pool2d", dl_adaptive_avg_pool2d);
}

/* F.adaptive_max_pool2d(x, size) */
static int f_adaptive_max_pool2d(lua_State *L)
{
    return adaptive_pool(L, "adaptive_max_pool2d", dl_adaptive_max_pool2d);
}

static const char *const interpolate_options[] = {"size", "scale_factor", "mode", "align_corners",
                                                  NULL};

/* The n scale factors of option `scale_factor` (on top of the stack: a
 * number, or a table of n numbers), each > 0. */
static void scale_factors(lua_State *L, int n, double *scale)
{
    int top = lua_gettop(L);
    for (int a = 0; a < n; a++) {
        if (lua_istable(L, top)) {
            if (luaL_len(L, top) != n)
                ldl_argerror(L, 2, "interpolate", "expected scale_factor as a number or a table of "
                             "%d numbers", n);
            lua_geti(L, top, a + 1);
        } else {
            lua_pushvalue(L, top);
        }
        if (!lua_isnumber(L, -1) || !(lua_tonumber(L, -1) > 0))
            ldl_argerror(L, 2, "interpolate", "expected scale_factor > 0, got %s",
                         luaL_tolstring(L, -1, NULL));
        scale[a] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
}

/* The mode option: nearest, or the interpolating mode of the input's rank
 * ("linear" for sequences, "bilinear" for images). True when interpolating. */
static bool interpolating_mode(lua_State *L, int opts, int axes)
{
    lua_getfield(L, opts, "mode");
    const char *name = lua_isnil(L, -1) ? "nearest" : lua_tostring(L, -1);
    const char *linear = axes == 1 ? "linear" : "bilinear";
    bool interpolating = name && strcmp(name, linear) == 0;
    if (!interpolating && (!name || strcmp(name, "nearest") != 0))
        ldl_argerror(L, 2, "interpolate", "expected mode \"nearest\" or \"%s\" for %s, got %s",
                     linear, axes == 1 ? "sequences (N, C, L)" : "images (N, C, H, W)",
                     luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
    return interpolating;
}

/* F.interpolate(x, {size = | scale_factor = , mode = "nearest" | "linear" |
 * "bilinear", align_corners = false}): images (N, C, H, W), or sequences
 * (N, C, L) resized as (N, C, 1, L). */
static int f_interpolate(lua_State *L)
{
    dl_tensor *x = ldl_checktensor(L, 1, "interpolate");
    if (x->ndim != 3 && x->ndim != 4) {
        char xs[64];
        dl_shape_string(x, xs, sizeof xs);
        ldl_argerror(L, 1, "interpolate", "expected sequences (N, C, L) or images (N, C, H, W), got %s",
                     xs);
    }
    int opts = options_at(L, 2, "interpolate", interpolate_options);
    if (!opts)
        ldl_typeerror(L, 2, "interpolate", "an options table with size or scale_factor");
    int axes = x->ndim - 2, first = 2 - axes;   /* a sequence's one axis is the second */
    int size[2] = {1, 1};
    double scale[2] = {axes == 1 ? 1.0 : 0.0, 0.0};
    bool has_size = lua_getfield(L, opts, "size") != LUA_TNIL;
    if (has_size)
        sizes_at(L, -1, 2, "interpolate", "the output size", 1, axes, size + first);
    lua_pop(L, 1);
    if (lua_getfield(L, opts, "scale_factor") != LUA_TNIL) {
        if (has_size)
            ldl_argerror(L, 2, "interpolate", "expected either size or scale_factor, got both");
        scale_factors(L, axes, scale + first);
        for (int a = first; a < 2; a++)
            size[a] = (int)floor((double)x->shape[x->ndim - 2 + a] * scale[a]);
    } else if (!has_size) {
        ldl_argerror(L, 2, "interpolate", "expected option size or scale_factor, got neither");
    }
    lua_pop(L, 1);
    bool interpolating = interpolating_mode(L, opts, axes);
    lua_getfield(L, opts, "align_corners");
    bool given = !lua_isnil(L, -1);
    lua_pop(L, 1);
    bool align = ldl_optboolean(L, opts, "interpolate", "align_corners", 0);
    if (given && !interpolating)
        ldl_argerror(L, 2, "interpolate", "align_corners is an option of the modes \"linear\" and "
                     "\"bilinear\" only");
    dl_upsample_mode mode = interpolating ? DL_UPSAMPLE_BILINEAR : DL_UPSAMPLE_NEAREST;
    const int64_t out_size[2] = {size[0], size[1]};
    dl_tensor **box = ldl_newbox(L);
    if (axes == 2)
        return ldl_result(L, dl_interpolate(x, out_size, scale, mode, align, box));
    dl_tensor *x4 = NULL, *y4 = NULL;
    dl_status st = dl_unsqueeze(x, 2, &x4);
    if (st == DL_OK && (st = dl_interpolate(x4, out_size, scale, mode, align, &y4)) == DL_OK)
        st = dl_squeeze(y4, 2, box);
    dl_release(x4);
    dl_release(y4);
    return ldl_result(L, st);
}

static const luaL_Reg functional_vocab[] = {
    {"pad", f_pad},
    {"adaptive_avg_pool2d", f_adaptive_avg_pool2d},
    {"adaptive_max_pool2d", f_adaptive_max_pool2d},
    {"interpolate", f_interpolate},
    {NULL, NULL}
};

void ldl_open_nn_vocab(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "dl.functional");
    ldl_setfuncs(L, lua_gettop(L), functional_vocab);
    lua_pop(L, 2);
}
