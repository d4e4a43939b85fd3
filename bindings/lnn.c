/*
 * lnn.c -- nn.functional: the layer operations and losses of the core as
 * Lua functions (the layers in lua/dl/layers.lua call these).
 */
#include <string.h>

#include "lbox.h"

/* Optional tensor argument: nil/none gives NULL. */
static dl_tensor *opt_tensor(lua_State *L, int arg, const char *fn)
{
    return lua_isnoneornil(L, arg) ? NULL : ldl_checktensor(L, arg, fn);
}

/* Number field `key` of the options table at `arg` (0: none), or `def`. */
static double opt_number(lua_State *L, int arg, const char *fn, const char *key, double def)
{
    if (arg == 0)
        return def;
    lua_getfield(L, arg, key);
    double v = def;
    if (!lua_isnil(L, -1)) {
        if (!lua_isnumber(L, -1))
            ldl_argerror(L, arg, fn, "option '%s' expects a number, got %s", key,
                         luaL_typename(L, -1));
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

#define MAX_WINDOW (1 << 20)   /* largest kernel, stride or padding */

/* The window size (kernel, stride or padding) on top of the stack, popped:
 * a whole number in least..MAX_WINDOW, else an error naming argument `arg`. */
static int window_size(lua_State *L, int arg, const char *fn, const char *what, int least)
{
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint)
        ldl_argerror(L, arg, fn, "expected the %s as a whole number or {h, w}, got %s", what,
                     luaL_tolstring(L, -1, NULL));
    if (v < least || v > MAX_WINDOW)
        ldl_argerror(L, arg, fn, "expected the %s in %d..%d, got %lld", what, least, MAX_WINDOW,
                     (long long)v);
    lua_pop(L, 1);
    return (int)v;
}

/* The window sizes (a number or {h, w}) on top of the stack, popped, into
 * out; nil leaves out (the defaults) as it is. */
static void window_pair(lua_State *L, int arg, const char *fn, const char *what, int least,
                        int out[2])
{
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
    } else if (lua_istable(L, -1)) {
        for (int i = 0; i < 2; i++) {
            lua_geti(L, -1, i + 1);
            out[i] = window_size(L, arg, fn, what, least);
        }
        lua_pop(L, 1);
    } else {
        out[0] = out[1] = window_size(L, arg, fn, what, least);
    }
}

/* A pair option (a number or {h, w}) of the options table at `arg` (0: no
 * table); `out` keeps its values (the defaults) when the option is absent. */
static void opt_pair(lua_State *L, int arg, const char *fn, const char *key, int least,
                     int out[2])
{
    if (arg == 0)
        return;
    lua_getfield(L, arg, key);
    window_pair(L, arg, fn, key, least, out);
}

/* Index of an options table at `arg`, checked against `known`; 0 if absent. */
static int options(lua_State *L, int arg, const char *fn, const char *const *known)
{
    if (lua_isnoneornil(L, arg))
        return 0;
    if (!lua_istable(L, arg))
        ldl_typeerror(L, arg, fn, "an options table");
    ldl_checkoptions(L, arg, fn, known);
    return arg;
}

/* F.linear(x, weight[, bias]) */
static int f_linear(lua_State *L)
{
    dl_tensor *x = ldl_checktensor(L, 1, "linear"), *w = ldl_checktensor(L, 2, "linear");
    dl_tensor *b = opt_tensor(L, 3, "linear");
    return ldl_result(L, dl_linear(x, w, b, ldl_newbox(L)));
}

static const char *const conv_options[] = {"stride", "padding", "dilation", "groups", NULL};

/* The padding option of conv2d into o->padding (top, bottom, left, right):
 * a size, {h, w}, "valid" (none) or "same" (the output keeps the input's
 * size; stride 1 only, as PyTorch; an odd total goes to the bottom/right). */
static void conv_padding(lua_State *L, int opts, const dl_tensor *w, dl_conv2d_options *o)
{
    int pad[2] = {0, 0};
    if (opts != 0 && lua_getfield(L, opts, "padding") == LUA_TSTRING) {
        const char *mode = lua_tostring(L, -1);
        bool same = strcmp(mode, "same") == 0;
        if (!same && strcmp(mode, "valid") != 0)
            ldl_argerror(L, opts, "conv2d", "expected padding as a size, {h, w}, \"same\" or "
                         "\"valid\", got \"%s\"", mode);
        if (same && (o->stride[0] != 1 || o->stride[1] != 1))
            ldl_argerror(L, opts, "conv2d", "padding \"same\" needs stride 1, got stride %d, %d",
                         o->stride[0], o->stride[1]);
        lua_pop(L, 1);
        for (int a = 0; a < 2 && same && w->ndim == 4; a++) {
            int64_t total = (int64_t)o->dilation[a] * (w->shape[2 + a] - 1);
            o->padding[2 * a] = (int)(total / 2);
            o->padding[2 * a + 1] = (int)(total - total / 2);
        }
        return;
    }
    if (opts != 0)
        window_pair(L, opts, "conv2d", "padding", 0, pad);
    o->padding[0] = o->padding[1] = pad[0];
    o->padding[2] = o->padding[3] = pad[1];
}

/* F.conv2d(x, weight[, bias][, {stride=1, padding=0, dilation=1, groups=1}]) */
static int f_conv2d(lua_State *L)
{
    dl_tensor *x = ldl_checktensor(L, 1, "conv2d"), *w = ldl_checktensor(L, 2, "conv2d");
    dl_tensor *b = ldl_istensor(L, 3) ? ldl_checktensor(L, 3, "conv2d") : NULL;
    int opts = options(L, b || lua_isnil(L, 3) ? 4 : 3, "conv2d", conv_options);
    dl_conv2d_options o = {{1, 1}, {0, 0, 0, 0}, {1, 1}, 1};
    opt_pair(L, opts, "conv2d", "stride", 1, o.stride);
    opt_pair(L, opts, "conv2d", "dilation", 1, o.dilation);
    conv_padding(L, opts, w, &o);
    double groups = opt_number(L, opts, "conv2d", "groups", 1);
    if (groups != (int)groups || groups < 1)
        ldl_argerror(L, opts, "conv2d", "expected option 'groups' as a whole number >= 1, got %g",
                     groups);
    o.groups = (int)groups;
    return ldl_result(L, dl_conv2d_with(x, w, b, &o, ldl_newbox(L)));
}

static const char *const max_pool_options[] = {"stride", "padding", "ceil_mode", NULL};
static const char *const avg_pool_options[] = {"stride", "padding", "ceil_mode",
                                               "count_include_pad", NULL};

/* Shared body of max_pool2d and avg_pool2d: (x, kernel[, {stride, padding,
 * ceil_mode=false, count_include_pad=true (average)}]). */
static int pool(lua_State *L, const char *fn, const char *const *known,
                dl_status (*op)(const dl_tensor *, const dl_pool2d_options *, dl_tensor **))
{
    dl_tensor *x = ldl_checktensor(L, 1, fn);
    dl_pool2d_options o = {{1, 1}, {1, 1}, {0, 0}, false, true};
    if (lua_isnoneornil(L, 2))
        ldl_typeerror(L, 2, fn, "a kernel size");
    lua_pushvalue(L, 2);
    window_pair(L, 2, fn, "kernel size", 1, o.kernel);
    int opts = options(L, 3, fn, known);
    o.stride[0] = o.kernel[0];
    o.stride[1] = o.kernel[1];
    opt_pair(L, opts, fn, "stride", 1, o.stride);
    opt_pair(L, opts, fn, "padding", 0, o.padding);
    for (int a = 0; a < 2; a++)
        if (2 * o.padding[a] > o.kernel[a])
            ldl_argerror(L, 3, fn, "expected a padding of at most half the kernel size %d, got %d",
                         o.kernel[a], o.padding[a]);
    o.ceil_mode = opts && ldl_optboolean(L, opts, fn, "ceil_mode", 0);
    o.count_include_pad = !opts || ldl_optboolean(L, opts, fn, "count_include_pad", 1);
    return ldl_result(L, op(x, &o, ldl_newbox(L)));
}

static int f_max_pool2d(lua_State *L)
{
    return pool(L, "max_pool2d", max_pool_options, dl_max_pool2d_with);
}

static int f_avg_pool2d(lua_State *L)
{
    return pool(L, "avg_pool2d", avg_pool_options, dl_avg_pool2d_with);
}

/* F.dropout(x, p[, training=true]) */
static int f_dropout(lua_State *L)
{
    dl_tensor *x = ldl_checktensor(L, 1, "dropout");
    double p = lua_isnoneornil(L, 2) ? 0.5 : ldl_checknumber(L, 2, "dropout");
    bool training = lua_isnoneornil(L, 3) ? true : lua_toboolean(L, 3);
    return ldl_result(L, dl_dropout(x, (float)p, training, ldl_newbox(L)));
}

static const char *const batch_norm_options[] = {"training", "momentum", "eps", NULL};

/* F.batch_norm(x, running_mean, running_var[, weight, bias][, {training=true,
 * momentum=0.1, eps=1e-5}]) */
static int f_batch_norm(lua_State *L)
{
    dl_tensor *x = ldl_checktensor(L, 1, "batch_norm");
    dl_tensor *rm = opt_tensor(L, 2, "batch_norm"), *rv = opt_tensor(L, 3, "batch_norm");
    dl_tensor *w = ldl_istensor(L, 4) ? ldl_checktensor(L, 4, "batch_norm") : NULL;
    dl_tensor *b = ldl_istensor(L, 5) ? ldl_checktensor(L, 5, "batch_norm") : NULL;
    int opts = lua_istable(L, 6) ? options(L, 6, "batch_norm", batch_norm_options) : 0;
    bool training = opts ? ldl_optboolean(L, opts, "batch_norm", "training", 1) : true;
    float momentum = (float)opt_number(L, opts, "batch_norm", "momentum", 0.1);
    float eps = (float)opt_number(L, opts, "batch_norm", "eps", 1e-5);
    return ldl_result(L, dl_batch_norm(x, w, b, rm, rv, training, momentum, eps, ldl_newbox(L)));
}

static const char *const eps_options[] = {"eps", NULL};

/* F.layer_norm(x[, weight, bias][, {eps=1e-5}]) */
static int f_layer_norm(lua_State *L)
{
    dl_tensor *x = ldl_checktensor(L, 1, "layer_norm");
    dl_tensor *w = ldl_istensor(L, 2) ? ldl_checktensor(L, 2, "layer_norm") : NULL;
    dl_tensor *b = ldl_istensor(L, 3) ? ldl_checktensor(L, 3, "layer_norm") : NULL;
    int opts = lua_istable(L, 4) ? options(L, 4, "layer_norm", eps_options) : 0;
    float eps = (float)opt_number(L, opts, "layer_norm", "eps", 1e-5);
    return ldl_result(L, dl_layer_norm(x, w, b, eps, ldl_newbox(L)));
}

/* F.embedding(indices, weight) */
static int f_embedding(lua_State *L)
{
    dl_tensor *idx = ldl_checktensor(L, 1, "embedding"), *w = ldl_checktensor(L, 2, "embedding");
    return ldl_result(L, dl_embedding(idx, w, ldl_newbox(L)));
}

static const char *const loss_options[] = {"reduction", NULL};

/* The reduction option of the options table at `arg` (0: "mean"). */
static dl_reduction opt_reduction(lua_State *L, int arg, const char *fn)
{
    if (arg == 0)
        return DL_REDUCE_MEAN;
    lua_getfield(L, arg, "reduction");
    const char *name = lua_isnil(L, -1) ? "mean" : lua_tostring(L, -1);
    dl_reduction r = DL_REDUCE_MEAN;
    if (name && strcmp(name, "sum") == 0)
        r = DL_REDUCE_SUM;
    else if (name && strcmp(name, "none") == 0)
        r = DL_REDUCE_NONE;
    else if (!name || strcmp(name, "mean") != 0)
        ldl_argerror(L, arg, fn, "reduction must be \"mean\", \"sum\" or \"none\", got %s",
                     name ? name : luaL_typename(L, -1));
    lua_pop(L, 1);
    return r;
}

#define PAIR_LOSS(name)                                                                  \
    static int f_##name(lua_State *L)                                                     \
    {                                                                                     \
        dl_tensor *a = ldl_checktensor(L, 1, #name), *b = ldl_checktensor(L, 2, #name);   \
        int opts = options(L, 3, #name, loss_options);                                    \
        dl_reduction r = opt_reduction(L, opts, #name);                                   \
        return ldl_result(L, dl_##name(a, b, r, ldl_newbox(L)));                          \
    }
PAIR_LOSS(mse_loss)
PAIR_LOSS(l1_loss)
PAIR_LOSS(bce)
PAIR_LOSS(bce_with_logits)

static const char *const cross_entropy_options[] = {"reduction", "weight", "ignore_index",
                                                    "label_smoothing", NULL};
static const char *const nll_loss_options[] = {"reduction", "weight", "ignore_index", NULL};

/* The options of cross_entropy / nll_loss at `arg` (0: none); the weight
 * stays referenced by the options table. */
static dl_class_loss_options opt_class_loss(lua_State *L, int arg, const char *fn)
{
    dl_class_loss_options o = {NULL, DL_IGNORE_DEFAULT, 0.0f, opt_reduction(L, arg, fn)};
    o.label_smoothing = (float)opt_number(L, arg, fn, "label_smoothing", 0);
    o.ignore_index = opt_number(L, arg, fn, "ignore_index", DL_IGNORE_DEFAULT);
    if (arg != 0) {
        lua_getfield(L, arg, "weight");
        if (!lua_isnil(L, -1) && !(o.weight = ldl_totensor(L, -1, fn)))
            ldl_argerror(L, arg, fn, "option 'weight' expects a tensor of class weights, got %s",
                         ldl_typename(L, -1));
        lua_pop(L, 1);
    }
    return o;
}

/* F.cross_entropy(logits, target[, {reduction="mean", weight=, ignore_index=-100,
 * label_smoothing=0}]) */
static int f_cross_entropy(lua_State *L)
{
    dl_tensor *logits = ldl_checktensor(L, 1, "cross_entropy");
    dl_tensor *target = ldl_checktensor(L, 2, "cross_entropy");
    int opts = options(L, 3, "cross_entropy", cross_entropy_options);
    dl_class_loss_options o = opt_class_loss(L, opts, "cross_entropy");
    return ldl_result(L, dl_cross_entropy_with(logits, target, &o, ldl_newbox(L)));
}

/* F.nll_loss(log_probs, labels[, {reduction="mean", weight=, ignore_index=-100}]) */
static int f_nll_loss(lua_State *L)
{
    dl_tensor *log_probs = ldl_checktensor(L, 1, "nll_loss");
    dl_tensor *labels = ldl_checktensor(L, 2, "nll_loss");
    int opts = options(L, 3, "nll_loss", nll_loss_options);
    dl_class_loss_options o = opt_class_loss(L, opts, "nll_loss");
    return ldl_result(L, dl_nll_loss_with(log_probs, labels, &o, ldl_newbox(L)));
}

static const luaL_Reg functional[] = {
    {"linear", f_linear},
    {"conv2d", f_conv2d},
    {"max_pool2d", f_max_pool2d},
    {"avg_pool2d", f_avg_pool2d},
    {"dropout", f_dropout},
    {"batch_norm", f_batch_norm},
    {"layer_norm", f_layer_norm},
    {"embedding", f_embedding},
    {"mse_loss", f_mse_loss},
    {"l1_loss", f_l1_loss},
    {"bce", f_bce},
    {"bce_with_logits", f_bce_with_logits},
    {"nll_loss", f_nll_loss},
    {"cross_entropy", f_cross_entropy},
    {NULL, NULL}
};

/* Registers a table of functions as package.loaded[name]. */
static void register_module(lua_State *L, const char *name, const luaL_Reg *fns)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_newtable(L);
    ldl_setfuncs(L, lua_gettop(L), fns);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void ldl_open_nn(lua_State *L)
{
    register_module(L, "dl.functional", functional);
    ldl_open_nn_vocab(L);
}
