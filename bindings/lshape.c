/*
 * lshape.c -- shape and indexing: reshape, view, transpose, t, permute,
 * flatten, unsqueeze, squeeze, narrow, select, expand, index_select, and
 * dl.cat / dl.stack. Dims and positions are 1-based here (negative ones
 * count from the end) and 0-based in the core.
 */
#include "lbox.h"

/* Sizes from argument 2 on (numbers or one table); -1 allowed. */
static int sizes_from_2(lua_State *L, const char *fn, int64_t *shape)
{
    return ldl_checksizes(L, 2, lua_gettop(L), fn, -1, shape);
}

/* t:reshape(sizes...): one size may be -1; a view when the layout allows */
static int l_reshape(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "reshape");
    int64_t shape[DL_MAX_DIM];
    int ndim = sizes_from_2(L, "reshape", shape);
    return ldl_result(L, dl_reshape("reshape", a, ndim, shape, ldl_newbox(L)));
}

/* t:view(sizes...): as reshape, but always a view */
static int l_view(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "view");
    int64_t shape[DL_MAX_DIM];
    int ndim = sizes_from_2(L, "view", shape);
    return ldl_result(L, dl_view(a, ndim, shape, ldl_newbox(L)));
}

/* t:transpose(d1, d2): view with two dims swapped */
static int l_transpose(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "transpose");
    int d1 = ldl_checkdim(L, 2, "transpose", a->ndim);
    int d2 = ldl_checkdim(L, 3, "transpose", a->ndim);
    return ldl_result(L, dl_transpose(a, d1, d2, ldl_newbox(L)));
}

/* t:t(): transpose of a 2-D tensor; a 0-D or 1-D tensor comes back as is */
static int l_t(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "t");
    if (a->ndim < 2) {
        lua_settop(L, 1);
        return 1;
    }
    if (a->ndim > 2) {
        char shape[64];
        dl_shape_string(a, shape, sizeof shape);
        return ldl_argerror(L, 1, "t", "expected a tensor with at most 2 dims, got %s",
                            shape);
    }
    return ldl_result(L, dl_transpose(a, 0, 1, ldl_newbox(L)));
}

/* t:permute(dims...): numbers or one table, one entry per dim */
static int l_permute(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "permute");
    bool table = lua_gettop(L) == 2 && lua_istable(L, 2);
    size_t n = table ? lua_rawlen(L, 2) : (size_t)lua_gettop(L) - 1;
    if (n != (size_t)a->ndim)
        return ldl_argerror(L, 2, "permute", "expected %d dims, got %zu", a->ndim, n);
    int perm[DL_MAX_DIM];
    for (int i = 0; i < a->ndim; i++) {
        int arg = table ? 2 : i + 2;
        if (table)
            lua_rawgeti(L, 2, i + 1);
        int isint;
        lua_Integer d = lua_tointegerx(L, table ? -1 : arg, &isint);
        if (!isint && table)
            return ldl_argerror(L, arg, "permute", "expected an integer dim at [%d], "
                                "got %s", i + 1, luaL_tolstring(L, -1, NULL));
        if (!isint)
            return ldl_typeerror(L, arg, "permute", "an integer dim");
        perm[i] = ldl_todim(L, d, arg, "permute", a->ndim);
        if (table)
            lua_pop(L, 1);
    }
    return ldl_result(L, dl_permute(a, perm, ldl_newbox(L)));
}

/* t:flatten([start], [end]): dims start..end merged (all by default) */
static int l_flatten(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "flatten");
    if (a->ndim == 0)
        return ldl_result(L, dl_reshape("flatten", a, 1, (int64_t[]){1}, ldl_newbox(L)));
    int start = ldl_optdim(L, 2, "flatten", a->ndim, 0);
    int end = ldl_optdim(L, 3, "flatten", a->ndim, a->ndim - 1);
    if (end < start)
        return ldl_argerror(L, 3, "flatten", "expected an end dim >= the start dim %d, "
                            "got %d", start + 1, end + 1);
    return ldl_result(L, dl_flatten(a, start, end, ldl_newbox(L)));
}

/* t:unsqueeze(d): a size-1 dim inserted so that it becomes dim d */
static int l_unsqueeze(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "unsqueeze");
    int dim = ldl_checkdim(L, 2, "unsqueeze", a->ndim + 1);
    return ldl_result(L, dl_unsqueeze(a, dim, ldl_newbox(L)));
}

/* t:squeeze([d]): without size-1 dim d, or without every size-1 dim */
static int l_squeeze(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "squeeze");
    int dim = ldl_optdim(L, 2, "squeeze", a->ndim, -1);
    return ldl_result(L, dl_squeeze(a, dim, ldl_newbox(L)));
}

/* t:narrow(dim, start, length): view of entries start..start+length-1 */
static int l_narrow(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "narrow");
    int dim = ldl_checkdim(L, 2, "narrow", a->ndim);
    int64_t size = a->shape[dim];
    int64_t start = ldl_checkinteger(L, 3, "narrow");
    int64_t length = ldl_checkinteger(L, 4, "narrow");
    if (start < 0)
        start += size + 1;
    if (start < 1 || start > size + 1)
        return ldl_argerror(L, 3, "narrow", "expected a start in 1..%lld or -%lld..-1, "
                            "got %lld", (long long)size, (long long)size,
                            (long long)ldl_checkinteger(L, 3, "narrow"));
    if (length < 0 || start - 1 + length > size)
        return ldl_argerror(L, 4, "narrow", "expected a length in 0..%lld, got %lld",
                            (long long)(size - start + 1), (long long)length);
    return ldl_result(L, dl_narrow(a, dim, start - 1, length, ldl_newbox(L)));
}

/* t:select(dim, i): view of entry i of dim, which disappears */
static int l_select(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "select");
    int dim = ldl_checkdim(L, 2, "select", a->ndim);
    int64_t i = ldl_checkpos(L, 3, "select", a->shape[dim]);
    return ldl_result(L, dl_select(a, dim, i, ldl_newbox(L)));
}

/* t:expand(sizes...): size-1 dims stretched without copying; -1 keeps a size */
static int l_expand(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "expand");
    int64_t shape[DL_MAX_DIM];
    int ndim = sizes_from_2(L, "expand", shape);
    int lead = ndim - a->ndim;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] != -1)
            continue;
        if (d < lead)
            return ldl_argerror(L, 2, "expand", "expected a size for new dim %d, got -1",
                                d + 1);
        shape[d] = a->shape[d - lead];
    }
    return ldl_result(L, dl_expand(a, ndim, shape, ldl_newbox(L)));
}

/* The 1-D tensor of positions at `arg`: a tensor, or a table of integers
 * turned into one (left on the stack). */
static dl_tensor *positions(lua_State *L, int arg, const char *fn)
{
    dl_tensor *t = ldl_totensor(L, arg, fn);
    if (t != NULL)
        return t;
    if (!lua_istable(L, arg))
        return ldl_typeerror(L, arg, fn, "a tensor or a table of positions"), NULL;
    int64_t n = (int64_t)lua_rawlen(L, arg);
    dl_tensor **box = ldl_newbox(L);
    ldl_check_status(L, dl_empty(fn, 1, &n, box));
    float *p = dl_data(*box);
    for (int64_t i = 0; i < n; i++) {
        int isint;
        lua_rawgeti(L, arg, i + 1);
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint)
            ldl_argerror(L, arg, fn, "expected an integer position at [%lld], got %s",
                         (long long)i + 1, luaL_tolstring(L, -1, NULL));
        p[i] = (float)v;
        lua_pop(L, 1);
    }
    return *box;
}

/* t:index_select(dim, idx): entries of dim at the 1-based positions idx */
static int l_index_select(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "index_select");
    int dim = ldl_checkdim(L, 2, "index_select", a->ndim);
    dl_tensor *index = positions(L, 3, "index_select");
    return ldl_result(L, dl_index_select(a, dim, index, ldl_newbox(L)));
}

/* The tensors of the list at 1 (kept alive by the list, which stays on
 * the stack) in a GC-owned array; *n receives their count. */
static const dl_tensor **tensor_list(lua_State *L, const char *fn, int *n)
{
    if (!lua_istable(L, 1))
        return ldl_typeerror(L, 1, fn, "a list of tensors"), NULL;
    size_t len = lua_rawlen(L, 1);
    if (len == 0)
        return ldl_argerror(L, 1, fn, "expected a non-empty list of tensors, got an "
                            "empty one"), NULL;
    if (len > INT32_MAX)
        return ldl_argerror(L, 1, fn, "expected at most %d tensors, got %zu", INT32_MAX,
                            len), NULL;
    const dl_tensor **ts = lua_newuserdatauv(L, len * sizeof *ts, 0);
    for (size_t i = 0; i < len; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        ts[i] = ldl_istensor(L, -1) ? *(dl_tensor **)lua_touserdata(L, -1) : NULL;
        if (ts[i] == NULL)
            return ldl_argerror(L, 1, fn, "expected a tensor at [%lld], got %s",
                                (long long)i + 1, ldl_typename(L, -1)), NULL;
        lua_pop(L, 1);
    }
    *n = (int)len;
    return ts;
}

/* dl.cat({a, b, ...}, [dim]): joined along an existing dim (1 by default) */
static int l_cat(lua_State *L)
{
    int n;
    lua_settop(L, 2);
    const dl_tensor **ts = tensor_list(L, "cat", &n);
    int dim = ldl_optdim(L, 2, "cat", ts[0]->ndim, 0);
    return ldl_result(L, dl_cat(n, ts, dim, ldl_newbox(L)));
}

/* dl.stack({a, b, ...}, [dim]): joined along a new dim (1 by default) */
static int l_stack(lua_State *L)
{
    int n;
    lua_settop(L, 2);
    const dl_tensor **ts = tensor_list(L, "stack", &n);
    int dim = ldl_optdim(L, 2, "stack", ts[0]->ndim + 1, 0);
    return ldl_result(L, dl_stack(n, ts, dim, ldl_newbox(L)));
}

static const luaL_Reg shape_functions[] = {
    {"reshape", l_reshape},
    {"view", l_view},
    {"transpose", l_transpose},
    {"t", l_t},
    {"permute", l_permute},
    {"flatten", l_flatten},
    {"unsqueeze", l_unsqueeze},
    {"squeeze", l_squeeze},
    {"narrow", l_narrow},
    {"select", l_select},
    {"expand", l_expand},
    {"index_select", l_index_select},
    {NULL, NULL}
};

static const luaL_Reg joins[] = {
    {"cat", l_cat},
    {"stack", l_stack},
    {NULL, NULL}
};

void ldl_open_shape(lua_State *L, int dl, int methods)
{
    ldl_setfuncs(L, methods, shape_functions);
    ldl_setfuncs(L, dl, shape_functions);
    ldl_setfuncs(L, dl, joins);
}
