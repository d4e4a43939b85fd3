/*
 * lops.c -- the tensor ops of core/index_ops.c, remap.c, scan.c, sort.c and
 * reduce_more.c, plus mm, bmm, chunk and split:
 *
 *   t:gather(dim, index)            t:scatter(dim, index, src | value)
 *   t:scatter_add(dim, index, src)  dl.where(cond, a, b)   t:where(cond, other)
 *   t:masked_fill(mask, value)      t:tril([k])  t:triu([k])  t:diag([k])
 *   t:flip(dims)  t:roll(shifts, [dims])  t:tile(sizes) (t["repeat"] too)
 *   t:cumsum(dim)  t:cumprod(dim)   t:sort([dim], {descending=})
 *   t:topk(k, [dim], {largest=})    t:median([dim], {keepdim=})
 *   t:logsumexp([dim], {keepdim=})  t:amax  t:amin  t:all  t:any (the same)
 *   t:norm([p], [dim], {keepdim=})  (these six also over a table of dims)
 *   a:mm(b)  a:bmm(b)
 *   t:chunk(n, [dim])  t:split(size | {sizes}, [dim])  -> a list of views
 *
 * Dims are 1-based (negative from the end), index tensors hold 1-based
 * positions, and ops that pick elements return those positions as a second
 * result, as argmax does.
 */
#include <math.h>
#include <string.h>

#include "lbox.h"

/* ---- argument helpers ---- */

/* Integers at stack index `idx`, argument `arg` in messages: one number or
 * a table of them; at most `max`. */
static int integer_list_at(lua_State *L, int idx, int arg, const char *fn, int max,
                           int64_t *out)
{
    if (!lua_istable(L, idx)) {
        int isint;
        lua_Integer v = lua_tointegerx(L, idx, &isint);
        if (!isint)
            return ldl_argerror(L, arg, fn, "expected a whole number or a table of them, got %s",
                                ldl_typename(L, idx));
        out[0] = v;
        return 1;
    }
    int n = (int)lua_rawlen(L, idx);
    if (n > max)
        return ldl_argerror(L, arg, fn, "expected at most %d entries, got %d", max, n);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        int isint;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint)
            ldl_argerror(L, arg, fn, "expected whole numbers, got %s at [%d]",
                         luaL_tolstring(L, -1, NULL), i);
        out[i - 1] = v;
        lua_pop(L, 1);
    }
    return n;
}

static int integer_list(lua_State *L, int arg, const char *fn, int max, int64_t *out)
{
    return integer_list_at(L, arg, arg, fn, max, out);
}

/* Dims at stack index `idx` (a number or a table; argument `arg` in
 * messages) as 0-based C dims of a. */
static int dim_list_at(lua_State *L, int idx, int arg, const char *fn, const dl_tensor *a,
                       int *dims)
{
    int64_t raw[DL_MAX_DIM];
    int n = integer_list_at(L, idx, arg, fn, DL_MAX_DIM, raw);
    for (int i = 0; i < n; i++)
        dims[i] = ldl_todim(L, raw[i], arg, fn, a->ndim);
    return n;
}

static int dim_list(lua_State *L, int arg, const char *fn, const dl_tensor *a, int *dims)
{
    return dim_list_at(L, arg, arg, fn, a, dims);
}

/* Reads ([dim], [opts]) or ([opts] with a `dim` field) from `arg` on: *dim
 * is 0-based, or `def` when absent. Returns the options table's index (0:
 * none) after checking its keys against `known` (which lists "dim"). */
static int dim_and_options(lua_State *L, const char *fn, const dl_tensor *a, int arg,
                           const char *const *known, int def, int *dim)
{
    int opts = 0;
    *dim = def;
    if (lua_istable(L, arg)) {
        opts = arg;
    } else {
        *dim = ldl_optdim(L, arg, fn, a->ndim, def);
        if (!lua_isnoneornil(L, arg + 1) && !lua_istable(L, arg + 1))
            ldl_typeerror(L, arg + 1, fn, "an options table");
        opts = lua_istable(L, arg + 1) ? arg + 1 : 0;
    }
    ldl_checkoptions(L, opts, fn, known);
    if (opts != 0 && lua_getfield(L, opts, "dim") != LUA_TNIL) {
        int isint;
        lua_Integer d = lua_tointegerx(L, -1, &isint);
        if (!isint)
            ldl_argerror(L, opts, fn, "expected option 'dim' to be an integer, got %s",
                         luaL_tolstring(L, -1, NULL));
        *dim = ldl_todim(L, d, opts, fn, a->ndim);
    }
    if (opts != 0)
        lua_settop(L, opts);
    return opts;
}

/* A tensor argument, or a number made into a 0-d tensor (kept on the stack
 * in place of the number so that it lives as long as the call). */
static dl_tensor *tensor_or_number(lua_State *L, int arg, const char *fn)
{
    if (lua_type(L, arg) != LUA_TNUMBER)
        return ldl_checktensor(L, arg, fn);
    float value = (float)lua_tonumber(L, arg);
    dl_tensor **box = ldl_newbox(L);
    ldl_result(L, dl_full(fn, 0, NULL, value, box));
    lua_replace(L, arg);
    return *(dl_tensor **)lua_touserdata(L, arg);
}

/* ---- indexing ---- */

static int l_gather(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "gather");
    int dim = ldl_checkdim(L, 2, "gather", a->ndim);
    dl_tensor *index = ldl_checktensor(L, 3, "gather");
    return ldl_result(L, dl_gather(a, dim, index, ldl_newbox(L)));
}

/* scatter and scatter_add (upvalue 1: add) */
static int l_scatter(lua_State *L)
{
    bool add = lua_tointeger(L, lua_upvalueindex(1)) != 0;
    const char *fn = add ? "scatter_add" : "scatter";
    dl_tensor *a = ldl_checktensor(L, 1, fn);
    int dim = ldl_checkdim(L, 2, fn, a->ndim);
    dl_tensor *index = ldl_checktensor(L, 3, fn);
    dl_tensor *src = ldl_totensor(L, 4, fn);
    if (src == NULL && lua_type(L, 4) != LUA_TNUMBER)
        return ldl_typeerror(L, 4, fn, "a tensor or a number");
    float value = src ? 0.0f : (float)lua_tonumber(L, 4);
    return ldl_result(L, dl_scatter(a, dim, index, src, value, add, ldl_newbox(L)));
}

/* dl.where(cond, a, b): a and b may be numbers */
static int l_where(lua_State *L)
{
    dl_tensor *cond = ldl_checktensor(L, 1, "where");
    dl_tensor *a = tensor_or_number(L, 2, "where");
    dl_tensor *b = tensor_or_number(L, 3, "where");
    return ldl_result(L, dl_where(cond, a, b, ldl_newbox(L)));
}

/* t:where(cond, other): t where cond, else other (torch.Tensor.where) */
static int l_where_method(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "where");
    dl_tensor *cond = ldl_checktensor(L, 2, "where");
    dl_tensor *b = tensor_or_number(L, 3, "where");
    return ldl_result(L, dl_where(cond, a, b, ldl_newbox(L)));
}

static int l_masked_fill(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "masked_fill");
    dl_tensor *mask = ldl_checktensor(L, 2, "masked_fill");
    float value = (float)ldl_checknumber(L, 3, "masked_fill");
    return ldl_result(L, dl_masked_fill(a, mask, value, ldl_newbox(L)));
}

/* ---- rearranging ---- */

/* tril, triu, diag (upvalue 1: which) */
static int l_diagonal_op(lua_State *L)
{
    static const char *const names[] = {"tril", "triu", "diag"};
    int which = (int)lua_tointeger(L, lua_upvalueindex(1));
    dl_tensor *a = ldl_checktensor(L, 1, names[which]);
    int64_t k = lua_isnoneornil(L, 2) ? 0 : ldl_checkinteger(L, 2, names[which]);
    dl_tensor **box = ldl_newbox(L);
    dl_status st = which == 0 ? dl_tril(a, k, box) : which == 1 ? dl_triu(a, k, box)
                                                                : dl_diag(a, k, box);
    return ldl_result(L, st);
}

/* t:flip(dims): a number, several numbers or a table */
static int l_flip(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "flip");
    int dims[DL_MAX_DIM], n;
    if (lua_gettop(L) > 2) {
        n = lua_gettop(L) - 1;
        if (n > DL_MAX_DIM)
            return ldl_argerror(L, 2, "flip", "expected at most %d dims, got %d", DL_MAX_DIM, n);
        for (int i = 0; i < n; i++)
            dims[i] = ldl_checkdim(L, i + 2, "flip", a->ndim);
    } else {
        if (lua_isnoneornil(L, 2))
            return ldl_argerror(L, 2, "flip", "expected the dims to flip, got none");
        n = dim_list(L, 2, "flip", a, dims);
    }
    return ldl_result(L, dl_flip(a, n, dims, ldl_newbox(L)));
}

/* t:roll(shifts, [dims]): numbers or tables of the same length */
static int l_roll(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "roll");
    int64_t shifts[DL_MAX_DIM];
    int dims[DL_MAX_DIM];
    int n = integer_list(L, 2, "roll", DL_MAX_DIM, shifts);
    if (lua_isnoneornil(L, 3)) {
        if (n != 1)
            return ldl_argerror(L, 2, "roll", "expected one shift when no dims are given, got %d", n);
        return ldl_result(L, dl_roll(a, 1, shifts, NULL, ldl_newbox(L)));
    }
    int nd = dim_list(L, 3, "roll", a, dims);
    if (nd != n)
        return ldl_argerror(L, 3, "roll", "expected as many dims as shifts (%d), got %d", n, nd);
    return ldl_result(L, dl_roll(a, n, shifts, dims, ldl_newbox(L)));
}

/* t["repeat"](t, sizes...) (numbers or one table, at least one per dim) and
 * t:tile(sizes...) (missing leading counts are 1, as torch.tile); `repeat`
 * is a Lua keyword, so tile is the name that reads well in Lua.
 * Upvalue 1: tile. */
static int l_repeat(lua_State *L)
{
    bool tile = lua_tointeger(L, lua_upvalueindex(1)) != 0;
    const char *fn = tile ? "tile" : "repeat";
    dl_tensor *a = ldl_checktensor(L, 1, fn);
    int64_t repeats[DL_MAX_DIM];
    int n = ldl_checksizes(L, 2, lua_gettop(L), fn, 0, repeats);
    if (tile && n < a->ndim) {
        int missing = a->ndim - n;
        memmove(repeats + missing, repeats, (size_t)n * sizeof *repeats);
        for (int d = 0; d < missing; d++)
            repeats[d] = 1;
        n = a->ndim;
    }
    return ldl_result(L, dl_repeat(a, n, repeats, ldl_newbox(L)));
}

/* ---- scans and sorting ---- */

/* cumsum and cumprod (upvalue 1: product) */
static int l_scan(lua_State *L)
{
    bool product = lua_tointeger(L, lua_upvalueindex(1)) != 0;
    const char *fn = product ? "cumprod" : "cumsum";
    dl_tensor *a = ldl_checktensor(L, 1, fn);
    if (lua_isnoneornil(L, 2))
        return ldl_argerror(L, 2, fn, "expected a dim, got none");
    int dim = ldl_checkdim(L, 2, fn, a->ndim);
    dl_tensor **box = ldl_newbox(L);
    return ldl_result(L, product ? dl_cumprod(a, dim, box) : dl_cumsum(a, dim, box));
}

/* t:sort([dim], {descending = false}) -> values, indices */
static int l_sort(lua_State *L)
{
    static const char *const known[] = {"dim", "descending", NULL};
    dl_tensor *a = ldl_checktensor(L, 1, "sort");
    int dim;
    int opts = dim_and_options(L, "sort", a, 2, known, a->ndim - 1, &dim);
    bool descending = ldl_optboolean(L, opts, "sort", "descending", 0);
    if (a->ndim == 0)
        return ldl_argerror(L, 1, "sort", "expected a tensor with dims, got a 0-d tensor");
    dl_tensor **values = ldl_newbox(L), **indices = ldl_newbox(L);
    ldl_result(L, dl_sort(a, dim, descending, values, indices));
    return 2;
}

/* t:topk(k, [dim], {largest = true}) -> values, indices */
static int l_topk(lua_State *L)
{
    static const char *const known[] = {"dim", "largest", "sorted", NULL};
    dl_tensor *a = ldl_checktensor(L, 1, "topk");
    int64_t k = ldl_checkinteger(L, 2, "topk");
    if (a->ndim == 0)
        return ldl_argerror(L, 1, "topk", "expected a tensor with dims, got a 0-d tensor");
    int dim;
    int opts = dim_and_options(L, "topk", a, 3, known, a->ndim - 1, &dim);
    bool largest = ldl_optboolean(L, opts, "topk", "largest", 1);
    dl_tensor **values = ldl_newbox(L), **indices = ldl_newbox(L);
    ldl_result(L, dl_topk(a, k, dim, largest, values, indices));
    return 2;
}

/* t:median() -> value;  t:median(dim, {keepdim = false}) -> values, indices */
static int l_median(lua_State *L)
{
    static const char *const known[] = {"dim", "keepdim", NULL};
    dl_tensor *a = ldl_checktensor(L, 1, "median");
    int dim;
    int opts = dim_and_options(L, "median", a, 2, known, -1, &dim);
    bool keepdim = ldl_optboolean(L, opts, "median", "keepdim", 0);
    dl_tensor **values = ldl_newbox(L), **indices = ldl_newbox(L);
    ldl_result(L, dl_median(a, dim, keepdim, values, indices));
    if (*indices == NULL) {
        lua_pop(L, 1);
        return 1;
    }
    return 2;
}

/* ---- reductions ---- */

/* logsumexp, amax, amin, all, any, norm */
typedef enum { R_LOGSUMEXP, R_AMAX, R_AMIN, R_ALL, R_ANY, R_NORM } reduction;

static const char *const reduction_names[] = {"logsumexp", "amax", "amin", "all", "any", "norm"};

static dl_status reduce_one_dim(reduction which, const dl_tensor *a, int dim, bool keepdim,
                                double p, dl_tensor **out)
{
    switch (which) {
    case R_LOGSUMEXP:
        return dl_logsumexp(a, dim, keepdim, out);
    case R_AMAX:
    case R_AMIN:
        return dl_amax(a, dim, keepdim, which == R_AMAX, out);
    case R_ALL:
    case R_ANY:
        return dl_all_any(a, dim, keepdim, which == R_ALL, out);
    default:
        return dl_norm(a, p, dim, keepdim, out);
    }
}

/* The reduction over several dims at once: a permuted so that they come
 * last and merged into one, reduced along it, and with keepdim reshaped to
 * a's dims with 1s in their place. Gradients flow through the view and
 * reshapes. */
static dl_status reduce_dims(reduction which, const dl_tensor *a, const int *dims, int n,
                             bool keepdim, double p, dl_tensor **out)
{
    int perm[DL_MAX_DIM], kept = 0;
    bool reduced[DL_MAX_DIM] = {false};
    int64_t shape[DL_MAX_DIM], merged = 1;
    for (int i = 0; i < n; i++)
        reduced[dims[i]] = true;
    for (int d = 0; d < a->ndim; d++)
        if (!reduced[d]) {
            shape[kept] = a->shape[d];
            perm[kept++] = d;
        }
    for (int i = 0; i < n; i++) {
        perm[kept + i] = dims[i];
        if (__builtin_mul_overflow(merged, a->shape[dims[i]], &merged))
            merged = INT64_MAX;     /* only an empty tensor gets here: reshape refuses it */
    }
    shape[kept] = merged;
    dl_tensor *permuted, *flat, *reduced_out;
    dl_status st = dl_permute(a, perm, &permuted);
    if (st != DL_OK)
        return st;
    st = dl_reshape(reduction_names[which], permuted, kept + 1, shape, &flat);
    dl_release(permuted);
    if (st != DL_OK)
        return st;
    st = reduce_one_dim(which, flat, kept, false, p, keepdim ? &reduced_out : out);
    dl_release(flat);
    if (st != DL_OK || !keepdim)
        return st;
    for (int d = 0; d < a->ndim; d++)
        shape[d] = reduced[d] ? 1 : a->shape[d];
    st = dl_reshape(reduction_names[which], reduced_out, a->ndim, shape, out);
    dl_release(reduced_out);
    return st;
}

/* Reads ([dim | {dims}], [opts]) or ([opts] with `dim`) from `arg` on into
 * dims (0-based, distinct; n = 0: every element). Returns the options
 * table's index (0: none) after checking its keys against `known`. */
static int dims_and_options(lua_State *L, const char *fn, const dl_tensor *a, int arg,
                            const char *const *known, int *dims, int *n)
{
    int opts = 0, from = 0, argn = 0;
    if (lua_istable(L, arg) && lua_rawlen(L, arg) > 0) {
        from = argn = arg;
        opts = lua_istable(L, arg + 1) ? arg + 1 : 0;
    } else if (lua_istable(L, arg)) {
        opts = arg;
    } else {
        from = argn = lua_isnoneornil(L, arg) ? 0 : arg;
        if (!lua_isnoneornil(L, arg + 1) && !lua_istable(L, arg + 1))
            ldl_typeerror(L, arg + 1, fn, "an options table");
        opts = lua_istable(L, arg + 1) ? arg + 1 : 0;
    }
    ldl_checkoptions(L, opts, fn, known);
    if (opts != 0 && from == 0 && lua_getfield(L, opts, "dim") != LUA_TNIL) {
        from = lua_gettop(L);            /* option 'dim': a dim or a table of dims */
        argn = opts;
    }
    *n = 0;
    if (from == 0)
        return opts;
    *n = dim_list_at(L, from, argn, fn, a, dims);
    for (int i = 0; i < *n; i++)
        for (int j = 0; j < i; j++)
            if (dims[i] == dims[j])
                ldl_argerror(L, argn, fn, "expected distinct dims, got dim %d twice", dims[i] + 1);
    return opts;
}

/* One of the reductions with its dims, keepdim and p. */
static int reduce_with(lua_State *L, reduction which, const dl_tensor *a, const int *dims,
                       int n, bool keepdim, double p)
{
    dl_tensor **box = ldl_newbox(L);
    if (n <= 1)
        return ldl_result(L, reduce_one_dim(which, a, n ? dims[0] : -1, keepdim, p, box));
    return ldl_result(L, reduce_dims(which, a, dims, n, keepdim, p, box));
}

/* logsumexp, amax, amin, all, any (upvalue 1: which):
 * t:amax([dim | {dims}], {keepdim = false}) or t:amax{dim =, keepdim =} */
static int l_reduce_more(lua_State *L)
{
    static const char *const known[] = {"dim", "keepdim", NULL};
    reduction which = (reduction)lua_tointeger(L, lua_upvalueindex(1));
    const char *fn = reduction_names[which];
    dl_tensor *a = ldl_checktensor(L, 1, fn);
    int dims[DL_MAX_DIM], n;
    int opts = dims_and_options(L, fn, a, 2, known, dims, &n);
    bool keepdim = ldl_optboolean(L, opts, fn, "keepdim", 0);
    return reduce_with(L, which, a, dims, n, keepdim, 0.0);
}

/* The p of norm at `idx`: a number, or "fro" (2). */
static double norm_p(lua_State *L, int idx, int arg)
{
    if (lua_type(L, idx) == LUA_TSTRING && strcmp(lua_tostring(L, idx), "fro") == 0)
        return 2.0;
    if (lua_type(L, idx) != LUA_TNUMBER)
        ldl_argerror(L, arg, "norm", "expected p to be a number or \"fro\", got %s",
                     ldl_typename(L, idx));
    return lua_tonumber(L, idx);
}

/* t:norm([p = 2], [dim | {dims}], {keepdim = false}) or t:norm{p =, dim =, keepdim =} */
static int l_norm(lua_State *L)
{
    static const char *const known[] = {"p", "dim", "keepdim", NULL};
    dl_tensor *a = ldl_checktensor(L, 1, "norm");
    double p = 2.0;
    int next = 2;
    if (!lua_istable(L, 2)) {
        if (!lua_isnoneornil(L, 2))
            p = norm_p(L, 2, 2);
        next = 3;
    }
    int dims[DL_MAX_DIM], n;
    int opts = dims_and_options(L, "norm", a, next, known, dims, &n);
    if (opts != 0 && lua_getfield(L, opts, "p") != LUA_TNIL)
        p = norm_p(L, -1, opts);
    bool keepdim = ldl_optboolean(L, opts, "norm", "keepdim", 0);
    return reduce_with(L, R_NORM, a, dims, n, keepdim, p);
}

/* ---- products ---- */

/* Raises unless t has `ndim` dims (mm: 2, bmm: 3). */
static void check_dims(lua_State *L, int arg, const char *fn, const dl_tensor *t, int ndim)
{
    if (t->ndim == ndim)
        return;
    char shape[64];
    dl_shape_string(t, shape, sizeof shape);
    ldl_argerror(L, arg, fn, "expected a %d-D tensor, got shape %s", ndim, shape);
}

/* dl.mm(a, b): (n, k) x (k, m) only; dl.bmm(a, b): (B, n, k) x (B, k, m) */
static int l_mm(lua_State *L)
{
    bool batched = lua_tointeger(L, lua_upvalueindex(1)) != 0;
    const char *fn = batched ? "bmm" : "mm";
    dl_tensor *a = ldl_checktensor(L, 1, fn), *b = ldl_checktensor(L, 2, fn);
    check_dims(L, 1, fn, a, batched ? 3 : 2);
    check_dims(L, 2, fn, b, batched ? 3 : 2);
    if (batched && a->shape[0] != b->shape[0])
        return ldl_argerror(L, 2, fn, "expected a batch of %lld matrices as #1 has, got %lld",
                            (long long)a->shape[0], (long long)b->shape[0]);
    int inner = batched ? 1 : 0;
    if (a->shape[inner + 1] != b->shape[inner]) {
        char as[64], bs[64];
        dl_shape_string(a, as, sizeof as);
        dl_shape_string(b, bs, sizeof bs);
        return ldl_argerror(L, 2, fn, "expected %lld rows to match #1's shape %s, got shape %s",
                            (long long)a->shape[inner + 1], as, bs);
    }
    return ldl_result(L, dl_matmul(a, b, ldl_newbox(L)));
}

/* ---- pieces ---- */

/* The most views chunk and split return: one Lua table of that many
 * tensors is already 2 GB. */
#define MAX_PIECES (1 << 24)

/* Pushes a list of the narrow views of a along dim with the given sizes. */
static int push_pieces(lua_State *L, const char *fn, const dl_tensor *a, int dim,
                       const int64_t *sizes, int64_t n)
{
    lua_createtable(L, (int)n, 0);
    int64_t start = 0;
    for (int64_t i = 0; i < n; i++) {
        ldl_result(L, dl_narrow(a, dim, start, sizes[i], ldl_newbox(L)));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
        start += sizes[i];
    }
    return 1;
}

/* t:chunk(n, [dim = 1]) -> up to n views of ceil(size / n) entries */
static int l_chunk(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "chunk");
    int64_t chunks = ldl_checkinteger(L, 2, "chunk");
    if (chunks < 1)
        return ldl_argerror(L, 2, "chunk", "expected a number of chunks >= 1, got %lld",
                            (long long)chunks);
    int dim = ldl_optdim(L, 3, "chunk", a->ndim, 0);
    int64_t size = a->shape[dim], each = size / chunks + (size % chunks != 0);
    int64_t n = each > 0 ? size / each + (size % each != 0) : chunks;
    if (n > MAX_PIECES)
        return ldl_argerror(L, 2, "chunk", "expected at most %d pieces, got %lld",
                            MAX_PIECES, (long long)n);
    int64_t *sizes = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *sizes, 0);
    for (int64_t i = 0; i < n; i++)
        sizes[i] = each > 0 ? (size - i * each < each ? size - i * each : each) : 0;
    return push_pieces(L, "chunk", a, dim, sizes, n);
}

/* t:split(size, [dim = 1]) -> views of `size` entries (the last may be
 * shorter); t:split({s1, s2, ...}, [dim]) -> views of those sizes */
static int l_split(lua_State *L)
{
    dl_tensor *a = ldl_checktensor(L, 1, "split");
    int dim = ldl_optdim(L, 3, "split", a->ndim, 0);
    int64_t size = a->shape[dim];
    if (lua_istable(L, 2)) {
        int64_t n = (int64_t)lua_rawlen(L, 2), total = 0;
        int64_t *sizes = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *sizes, 0);
        for (int64_t i = 0; i < n; i++) {
            lua_rawgeti(L, 2, (lua_Integer)i + 1);
            int isint;
            sizes[i] = lua_tointegerx(L, -1, &isint);
            if (!isint || sizes[i] < 0)
                return ldl_argerror(L, 2, "split", "expected sizes >= 0, got %s at [%lld]",
                                    luaL_tolstring(L, -1, NULL), (long long)i + 1);
            lua_pop(L, 1);
            total = sizes[i] > INT64_MAX - total ? INT64_MAX : total + sizes[i];   /* saturates */
        }
        if (total != size)
            return ldl_argerror(L, 2, "split", "expected sizes that add up to %lld (the size of "
                                "dim %d), got %lld", (long long)size, dim + 1, (long long)total);
        return push_pieces(L, "split", a, dim, sizes, n);
    }
    int64_t each = ldl_checkinteger(L, 2, "split");
    if (each < 1)
        return ldl_argerror(L, 2, "split", "expected a size >= 1, got %lld", (long long)each);
    int64_t n = size / each + (size % each != 0);
    if (n > MAX_PIECES)
        return ldl_argerror(L, 2, "split", "expected at most %d pieces, got %lld",
                            MAX_PIECES, (long long)n);
    int64_t *sizes = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *sizes, 0);
    for (int64_t i = 0; i < n; i++)
        sizes[i] = size - i * each < each ? size - i * each : each;
    return push_pieces(L, "split", a, dim, sizes, n);
}

static const luaL_Reg ops[] = {
    {"gather", l_gather},
    {"masked_fill", l_masked_fill},
    {"flip", l_flip},
    {"roll", l_roll},
    {"sort", l_sort},
    {"topk", l_topk},
    {"median", l_median},
    {"norm", l_norm},
    {"chunk", l_chunk},
    {"split", l_split},
    {NULL, NULL}
};

/* Sets name = closure of fn over the integer upvalue in both tables. */
static void set_closure(lua_State *L, int dl, int methods, const char *name, lua_CFunction fn,
                        int upvalue)
{
    lua_pushinteger(L, upvalue);
    lua_pushcclosure(L, fn, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, methods, name);
    lua_setfield(L, dl, name);
}

void ldl_open_ops(lua_State *L, int dl, int methods)
{
    ldl_setfuncs(L, dl, ops);
    ldl_setfuncs(L, methods, ops);
    lua_pushcfunction(L, l_where);
    lua_setfield(L, dl, "where");
    lua_pushcfunction(L, l_where_method);
    lua_setfield(L, methods, "where");
    static const char *const diagonal_ops[] = {"tril", "triu", "diag"};
    for (int i = 0; i < 3; i++)
        set_closure(L, dl, methods, diagonal_ops[i], l_diagonal_op, i);
    for (int i = R_LOGSUMEXP; i <= R_ANY; i++)
        set_closure(L, dl, methods, reduction_names[i], l_reduce_more, i);
    set_closure(L, dl, methods, "scatter", l_scatter, 0);
    set_closure(L, dl, methods, "scatter_add", l_scatter, 1);
    set_closure(L, dl, methods, "cumsum", l_scan, 0);
    set_closure(L, dl, methods, "cumprod", l_scan, 1);
    set_closure(L, dl, methods, "repeat", l_repeat, 0);
    set_closure(L, dl, methods, "tile", l_repeat, 1);
    set_closure(L, dl, methods, "mm", l_mm, 0);
    set_closure(L, dl, methods, "bmm", l_mm, 1);
}
