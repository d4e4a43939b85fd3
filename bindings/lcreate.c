/*
 * lcreate.c -- tensor creators: dl.tensor, zeros, ones, empty, full, rand,
 * randn, arange, linspace, eye, randperm and the *_like variants.
 *
 * Sizes come as numbers or one table (dl.zeros(2, 3), dl.zeros{2, 3}); every
 * creator accepts a trailing options table, {requires_grad = true}.
 */
#include <stdio.h>

#include "lbox.h"

static const char *const creator_options[] = {"requires_grad", NULL};

/* Reads the options table at `opts` (0: none): the requires_grad flag. */
static bool read_options(lua_State *L, int opts, const char *fn)
{
    ldl_checkoptions(L, opts, fn, creator_options);
    return ldl_optboolean(L, opts, fn, "requires_grad", 0);
}

/* Index of the options table at `arg` of a creator with fixed arguments:
 * 0 when absent. */
static int options_arg(lua_State *L, int arg, const char *fn)
{
    if (lua_isnoneornil(L, arg))
        return 0;
    if (!lua_istable(L, arg))
        return ldl_typeerror(L, arg, fn, "an options table");
    return arg;
}

/* Ends a creator: raises on failure, else sets the grad flag of the new
 * tensor (the box on top). */
static int created(lua_State *L, dl_status status, bool requires_grad)
{
    ldl_result(L, status);
    ldl_check_status(L, dl_set_requires_grad(*(dl_tensor **)lua_touserdata(L, -1),
                                             requires_grad));
    return 1;
}

/* Sizes in 1..top (or up to a trailing options table) and the flag. */
static int sizes_and_options(lua_State *L, const char *fn, int64_t *shape,
                             bool *requires_grad)
{
    int opts = ldl_options_at(L, 1);
    int last = opts ? opts - 1 : lua_gettop(L);
    int ndim = ldl_checksizes(L, 1, last, fn, 0, shape);
    *requires_grad = read_options(L, opts, fn);
    return ndim;
}

static int create_filled(lua_State *L, const char *fn, float value)
{
    int64_t shape[DL_MAX_DIM];
    bool grad;
    int ndim = sizes_and_options(L, fn, shape, &grad);
    return created(L, dl_full(fn, ndim, shape, value, ldl_newbox(L)), grad);
}

/* dl.zeros(sizes..., [opts]) */
static int l_zeros(lua_State *L)
{
    return create_filled(L, "zeros", 0.0f);
}

/* dl.ones(sizes..., [opts]) */
static int l_ones(lua_State *L)
{
    return create_filled(L, "ones", 1.0f);
}

/* dl.empty(sizes..., [opts]): uninitialised values */
static int l_empty(lua_State *L)
{
    int64_t shape[DL_MAX_DIM];
    bool grad;
    int ndim = sizes_and_options(L, "empty", shape, &grad);
    return created(L, dl_empty("empty", ndim, shape, ldl_newbox(L)), grad);
}

/* dl.rand(sizes..., [opts]): uniform [0, 1) */
static int l_rand(lua_State *L)
{
    int64_t shape[DL_MAX_DIM];
    bool grad;
    int ndim = sizes_and_options(L, "rand", shape, &grad);
    return created(L, dl_rand(ndim, shape, ldl_newbox(L)), grad);
}

/* dl.randn(sizes..., [opts]): standard normal */
static int l_randn(lua_State *L)
{
    int64_t shape[DL_MAX_DIM];
    bool grad;
    int ndim = sizes_and_options(L, "randn", shape, &grad);
    return created(L, dl_randn(ndim, shape, ldl_newbox(L)), grad);
}

/* dl.full(sizes..., value, [opts]): dl.full({2, 3}, 7) or dl.full(2, 3, 7) */
static int l_full(lua_State *L)
{
    int opts = ldl_options_at(L, 1);
    int value_arg = opts ? opts - 1 : lua_gettop(L);
    if (value_arg < 1 || lua_type(L, value_arg) != LUA_TNUMBER)
        return ldl_typeerror(L, value_arg < 1 ? 1 : value_arg, "full",
                             "sizes then a value");
    int64_t shape[DL_MAX_DIM];
    int ndim = ldl_checksizes(L, 1, value_arg - 1, "full", 0, shape);
    float value = (float)lua_tonumber(L, value_arg);
    bool grad = read_options(L, opts, "full");
    return created(L, dl_full("full", ndim, shape, value, ldl_newbox(L)), grad);
}

/* dl.arange(end), dl.arange(start, end), dl.arange(start, end, step): end
 * excluded, as torch.arange. */
static int l_arange(lua_State *L)
{
    int opts = ldl_options_at(L, 1);
    int n = opts ? opts - 1 : lua_gettop(L);
    if (n < 1 || n > 3)
        return ldl_argerror(L, n < 1 ? 1 : 4, "arange",
                            "expected (end), (start, end) or (start, end, step), "
                            "got %d numbers", n);
    double a[3];
    for (int i = 1; i <= n; i++)
        a[i - 1] = ldl_checknumber(L, i, "arange");
    double start = n == 1 ? 0 : a[0], end = n == 1 ? a[0] : a[1], step = n == 3 ? a[2] : 1;
    bool grad = read_options(L, opts, "arange");
    return created(L, dl_arange(start, end, step, ldl_newbox(L)), grad);
}

/* dl.linspace(start, end, steps, [opts]): steps values, both ends included */
static int l_linspace(lua_State *L)
{
    double start = ldl_checknumber(L, 1, "linspace");
    double end = ldl_checknumber(L, 2, "linspace");
    int64_t steps = ldl_checkinteger(L, 3, "linspace");
    bool grad = read_options(L, options_arg(L, 4, "linspace"), "linspace");
    return created(L, dl_linspace(start, end, steps, ldl_newbox(L)), grad);
}

/* dl.eye(n, [m], [opts]): ones on the diagonal */
static int l_eye(lua_State *L)
{
    int opts = ldl_options_at(L, 2);
    int64_t shape[DL_MAX_DIM];
    int n = ldl_checksizes(L, 1, opts ? opts - 1 : lua_gettop(L), "eye", 0, shape);
    if (n < 1 || n > 2)
        return ldl_argerror(L, 1, "eye", "expected (n) or (n, m), got %d sizes", n);
    bool grad = read_options(L, opts, "eye");
    return created(L, dl_eye(shape[0], n == 2 ? shape[1] : shape[0], ldl_newbox(L)), grad);
}

/* dl.randperm(n, [opts]): 1..n shuffled */
static int l_randperm(lua_State *L)
{
    int64_t n = ldl_checkinteger(L, 1, "randperm");
    bool grad = read_options(L, options_arg(L, 2, "randperm"), "randperm");
    return created(L, dl_randperm(n, ldl_newbox(L)), grad);
}

/* ---- dl.tensor ---------------------------------------------------------------- */

/* "[2][1]" for the position path[0..depth-1] (0-based entries). */
static void position(const int64_t *path, int depth, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < depth && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "[%lld]",
                                 (long long)path[d] + 1);
}

/* Copies the nested table on top of the stack (at nesting `depth`) into *p,
 * checking that it has the shape read from the first elements. */
static void fill_nested(lua_State *L, int ndim, const int64_t *shape, int depth,
                        int64_t *path, float **p)
{
    char where[64];
    int64_t n = (int64_t)lua_rawlen(L, -1);
    if (n != shape[depth]) {
        position(path, depth, where, sizeof where);
        ldl_argerror(L, 1, "tensor", "expected %lld values at %s (as in the first row), "
                     "got %lld", (long long)shape[depth], depth ? where : "the top",
                     (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        path[depth] = i;
        int type = lua_rawgeti(L, -1, i + 1);
        if (depth + 1 < ndim && type == LUA_TTABLE) {
            fill_nested(L, ndim, shape, depth + 1, path, p);
        } else if (depth + 1 == ndim && type == LUA_TNUMBER) {
            *(*p)++ = (float)lua_tonumber(L, -1);
        } else {
            position(path, depth + 1, where, sizeof where);
            ldl_argerror(L, 1, "tensor", "expected %s at %s, got %s",
                         depth + 1 < ndim ? "a table" : "a number", where,
                         ldl_typename(L, -1));
        }
        lua_pop(L, 1);
    }
}

/* dl.tensor(data, [opts]): data is a number (0-d), nested tables of numbers
 * (one level per dim), or a tensor (copied). */
static int l_tensor(lua_State *L)
{
    bool grad = read_options(L, options_arg(L, 2, "tensor"), "tensor");
    dl_tensor *src = ldl_totensor(L, 1, "tensor");
    if (src != NULL)
        return created(L, dl_clone(src, ldl_newbox(L)), grad);
    if (lua_type(L, 1) == LUA_TNUMBER) {
        float v = (float)lua_tonumber(L, 1);
        return created(L, dl_from_floats(0, NULL, &v, ldl_newbox(L)), grad);
    }
    if (!lua_istable(L, 1))
        return ldl_typeerror(L, 1, "tensor",
                             "a number, nested tables of numbers or a tensor");
    int64_t shape[DL_MAX_DIM];
    int ndim = 0;
    lua_pushvalue(L, 1);
    while (lua_istable(L, -1)) {
        if (ndim == DL_MAX_DIM)
            return ldl_argerror(L, 1, "tensor", "expected at most %d levels of nesting, "
                                "got more", DL_MAX_DIM);
        shape[ndim++] = (int64_t)lua_rawlen(L, -1);
        if (shape[ndim - 1] == 0)
            break;
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
    dl_tensor **box = ldl_newbox(L);
    created(L, dl_empty("tensor", ndim, shape, box), grad);
    int64_t path[DL_MAX_DIM];
    float *p = dl_data(*box);
    lua_pushvalue(L, 1);
    fill_nested(L, ndim, shape, 0, path, &p);
    lua_pop(L, 1);
    return 1;
}

/* ---- *_like ------------------------------------------------------------------- */

/* The tensor at 1, whose shape the new tensor takes, and the options at 2. */
static dl_tensor *like(lua_State *L, const char *fn, bool *requires_grad)
{
    dl_tensor *t = ldl_checktensor(L, 1, fn);
    *requires_grad = read_options(L, options_arg(L, 2, fn), fn);
    return t;
}

/* dl.zeros_like(t, [opts]) */
static int l_zeros_like(lua_State *L)
{
    bool grad;
    dl_tensor *t = like(L, "zeros_like", &grad);
    return created(L, dl_full("zeros_like", t->ndim, t->shape, 0.0f, ldl_newbox(L)), grad);
}

/* dl.ones_like(t, [opts]) */
static int l_ones_like(lua_State *L)
{
    bool grad;
    dl_tensor *t = like(L, "ones_like", &grad);
    return created(L, dl_full("ones_like", t->ndim, t->shape, 1.0f, ldl_newbox(L)), grad);
}

/* dl.rand_like(t, [opts]) */
static int l_rand_like(lua_State *L)
{
    bool grad;
    dl_tensor *t = like(L, "rand_like", &grad);
    return created(L, dl_rand(t->ndim, t->shape, ldl_newbox(L)), grad);
}

/* dl.randn_like(t, [opts]) */
static int l_randn_like(lua_State *L)
{
    bool grad;
    dl_tensor *t = like(L, "randn_like", &grad);
    return created(L, dl_randn(t->ndim, t->shape, ldl_newbox(L)), grad);
}

static const luaL_Reg creators[] = {
    {"tensor", l_tensor},
    {"zeros", l_zeros},
    {"ones", l_ones},
    {"empty", l_empty},
    {"full", l_full},
    {"rand", l_rand},
    {"randn", l_randn},
    {"arange", l_arange},
    {"linspace", l_linspace},
    {"eye", l_eye},
    {"randperm", l_randperm},
    {"zeros_like", l_zeros_like},
    {"ones_like", l_ones_like},
    {"rand_like", l_rand_like},
    {"randn_like", l_randn_like},
    {NULL, NULL}
};

void ldl_open_create(lua_State *L, int dl, int methods)
{
    ldl_setfuncs(L, dl, creators);
}
