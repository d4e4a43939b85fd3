/*
 * ldata.c -- the readers of core/io for Lua, gathered in the table
 * `require "dl.readers"`, and luaopen's hook that sets dl.data.
 *
 * These are the raw readers; bindings/lua/dl/data.lua builds the user's
 * functions (dl.data.csv, mnist, images, ...) and datasets on top of them.
 *
 *   csv(path, opts)            -> x, y | nil, info {features, target, classes, dropped}
 *   idx(path)                  -> float tensor of the file's shape
 *   idx_bytes(path, scale)     -> dl.Bytes of a u8 IDX file
 *   image(path, opts)          -> C x H x W float tensor in [0, 1]
 *   images(paths, opts)        -> dl.Bytes N x C x H x W, kept positions, failures
 *   list_dir(path, fn)         -> entry names, a parallel list of is-directory flags
 *   warp(x, theta, fill)       -> x resampled through one affine map per image
 *   bytes(t, scale)            -> dl.Bytes (lbytes.c)
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io.h"
#include "ldata.h"

/* Userdata that hold what the core allocated until it is handed out, so
 * that a Lua error on the way (out of memory) frees it in __gc. */
#define CSV_TABLE "dl.CsvTable"
#define IMAGE_HOLDER "dl.ImageHolder"
#define SOURCE_HOLDER "dl.SourceHolder"

/* ---- csv ------------------------------------------------------------------- */

/* A column reference option (a name or a non-zero integer) as a string
 * kept on the stack; NULL when the option is absent. */
static const char *column_ref(lua_State *L, int value, const char *option)
{
    if (lua_type(L, value) == LUA_TSTRING)
        return lua_tostring(L, value);
    int isint;
    lua_Integer k = lua_tointegerx(L, value, &isint);
    if (!isint || k == 0)
        ldl_argerror(L, 2, "csv", "expected option '%s' to name a column or give its "
                     "number (1-based), got %s", option, lua_tostring(L, value) ?
                     lua_tostring(L, value) : luaL_typename(L, value));
    return lua_pushfstring(L, "%I", k);
}

/* A list option (table at `value`) of column references or names, as an
 * array of strings in a userdata pushed on the stack. */
static const char **name_list(lua_State *L, int value, const char *option, int *n)
{
    lua_Integer len = luaL_len(L, value);
    if (len > 1 << 20)
        ldl_argerror(L, 2, "csv", "option '%s' lists too many names", option);
    const char **names = lua_newuserdatauv(L, (size_t)(len + 1) * sizeof *names, 0);
    for (lua_Integer i = 1; i <= len; i++) {
        lua_geti(L, value, i);
        names[i - 1] = column_ref(L, lua_gettop(L), option);
        /* the string stays on the stack until the call ends */
    }
    *n = (int)len;
    return names;
}

/* Reads the options table at `arg` into o. */
static void csv_options(lua_State *L, int arg, dl_csv_options *o)
{
    static const char *const known[] = {"target", "header", "sep", "missing", "one_hot",
                                        "classes", NULL};
    static const char *const missing[] = {"error", "mean", "zero", "drop", NULL};
    dl_csv_defaults(o);
    if (lua_isnoneornil(L, arg))
        return;
    if (!lua_istable(L, arg))
        ldl_typeerror(L, arg, "csv", "an options table");
    ldl_checkoptions(L, arg, "csv", known);
    o->header = ldl_optboolean(L, arg, "csv", "header", 1);
    if (lua_getfield(L, arg, "target") != LUA_TNIL)
        o->target = column_ref(L, lua_gettop(L), "target");
    if (lua_getfield(L, arg, "sep") != LUA_TNIL) {
        size_t n;
        const char *sep = lua_tolstring(L, -1, &n);
        if (sep == NULL || n != 1)
            ldl_argerror(L, arg, "csv", "expected option 'sep' to be one character, got %s",
                         sep ? lua_pushfstring(L, "\"%s\"", sep) : luaL_typename(L, -1));
        o->sep = sep[0];
    }
    if (lua_getfield(L, arg, "missing") != LUA_TNIL) {
        const char *m = lua_tostring(L, -1);
        int i = 0;
        while (m != NULL && missing[i] != NULL && strcmp(m, missing[i]) != 0)
            i++;
        if (m == NULL || missing[i] == NULL)
            ldl_argerror(L, arg, "csv", "expected option 'missing' to be \"error\", \"mean\", "
                         "\"zero\" or \"drop\", got %s", m ? m : luaL_typename(L, -1));
        o->missing = (dl_missing)i;
    }
    int type = lua_getfield(L, arg, "one_hot");
    if (type == LUA_TBOOLEAN)
        o->one_hot = lua_toboolean(L, -1);
    else if (type == LUA_TTABLE)
        o->one_hot_columns = name_list(L, lua_gettop(L), "one_hot", &o->n_one_hot_columns);
    else if (type != LUA_TNIL)
        ldl_argerror(L, arg, "csv", "expected option 'one_hot' to be a boolean or a list of "
                     "columns, got %s", luaL_typename(L, -1));
    type = lua_getfield(L, arg, "classes");
    if (type == LUA_TBOOLEAN)
        o->classes = lua_toboolean(L, -1);
    else if (type == LUA_TTABLE)
        o->fixed_classes = name_list(L, lua_gettop(L), "classes", &o->nfixed_classes);
    else if (type != LUA_TNIL)
        ldl_argerror(L, arg, "csv", "expected option 'classes' to be a boolean or a list of "
                     "names, got %s", luaL_typename(L, -1));
}

static int csv_table_gc(lua_State *L)
{
    dl_csv_table_free(luaL_checkudata(L, 1, CSV_TABLE));
    return 0;
}

static void push_names(lua_State *L, char **names, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* The path at `arg`: a string without NUL bytes (fopen would open the
 * name before the first one). dl.data checks first, with its own names. */
static const char *check_path(lua_State *L, int arg)
{
    size_t len;
    const char *path = luaL_checklstring(L, arg, &len);
    if (strlen(path) != len)
        luaL_argerror(L, arg, "a path with a NUL byte");
    return path;
}

/* csv(path, opts) -> x, y | nil, info */
static int l_csv(lua_State *L)
{
    const char *path = check_path(L, 1);
    dl_csv_options o;
    csv_options(L, 2, &o);
    /* the result lives in a userdata until it is handed out, so that an
     * error on the way frees it */
    dl_csv_table *t = lua_newuserdatauv(L, sizeof *t, 0);
    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, CSV_TABLE);
    ldl_check_status(L, dl_csv_read("csv", path, &o, t));
    *ldl_newbox(L) = t->x;
    t->x = NULL;
    if (t->y != NULL)
        *ldl_newbox(L) = t->y;
    else
        lua_pushnil(L);
    t->y = NULL;
    lua_createtable(L, 0, 4);
    push_names(L, t->features, t->nfeatures);
    lua_setfield(L, -2, "features");
    if (t->target != NULL) {
        lua_pushstring(L, t->target);
        lua_setfield(L, -2, "target");
    }
    if (t->nclasses > 0) {
        push_names(L, t->classes, t->nclasses);
        lua_setfield(L, -2, "classes");
    }
    lua_pushinteger(L, t->dropped);
    lua_setfield(L, -2, "dropped");
    dl_csv_table_free(t);
    ldl_account(L);
    return 3;
}

/* ---- idx ------------------------------------------------------------------- */

/* idx(path) -> float tensor */
static int l_idx(lua_State *L)
{
    const char *path = check_path(L, 1);
    dl_tensor **box = ldl_newbox(L);
    return ldl_result(L, dl_idx_load("idx", path, box));
}

static int source_holder_gc(lua_State *L)
{
    dl_source **s = luaL_checkudata(L, 1, SOURCE_HOLDER);
    dl_source_close(*s);
    *s = NULL;
    return 0;
}

/* idx_bytes(path, scale) -> dl.Bytes of a u8 file */
static int l_idx_bytes(lua_State *L)
{
    const char *path = check_path(L, 1);
    float scale = (float)luaL_optnumber(L, 2, 1.0);
    dl_source **s = lua_newuserdatauv(L, sizeof *s, 0);
    *s = NULL;
    luaL_setmetatable(L, SOURCE_HOLDER);
    dl_idx_header h;
    ldl_check_status(L, dl_source_open("idx", path, s));
    ldl_check_status(L, dl_idx_read_header(*s, &h));
    if (h.type != DL_IDX_U8)
        return ldl_error(L, "%s: expected u8 elements (type 0x08), got type 0x%02x", path,
                          h.type);
    ldl_bytes *b = ldl_newbytes(L, "idx", h.ndim, h.shape, scale);
    ldl_check_status(L, dl_idx_read_bytes(*s, &h, b->data));
    dl_source_close(*s);
    *s = NULL;
    return 1;
}

/* ---- images ------------------------------------------------------------------ */

/* Reads {gray =, size = {h, w}} from the options at `arg`: the channel
 * count (0: as stored) and the size (0 x 0: as stored). */
/* The value at `idx` as a message shows it: "{0, 0}" for a short table of
 * values, else its type. Pushed on the stack. */
static const char *size_text(lua_State *L, int idx)
{
    if (!lua_istable(L, idx) || luaL_len(L, idx) > 4)
        return lua_pushstring(L, luaL_typename(L, idx));
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '{');
    for (lua_Integer i = 1, n = luaL_len(L, idx); i <= n; i++) {
        lua_geti(L, idx, i);
        luaL_tolstring(L, -1, NULL);
        lua_remove(L, -2);
        if (i > 1)
            luaL_addstring(&b, ", ");
        luaL_addvalue(&b);
    }
    luaL_addchar(&b, '}');
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

static void image_options(lua_State *L, int arg, const char *fn, int *channels, int *h,
                          int *w)
{
    *channels = 0;
    *h = *w = 0;
    if (lua_isnoneornil(L, arg))
        return;
    if (!lua_istable(L, arg))
        ldl_typeerror(L, arg, fn, "an options table");
    if (lua_getfield(L, arg, "gray") != LUA_TNIL) {
        if (!lua_isboolean(L, -1))
            ldl_argerror(L, arg, fn, "expected option 'gray' to be a boolean, got %s",
                         luaL_typename(L, -1));
        *channels = lua_toboolean(L, -1) ? 1 : 3;
    }
    if (lua_getfield(L, arg, "size") != LUA_TNIL) {
        int t = lua_gettop(L);
        lua_Integer side[2] = {0, 0};
        int ok = lua_istable(L, t) && luaL_len(L, t) == 2;
        for (int i = 0; ok && i < 2; i++) {
            lua_geti(L, t, i + 1);
            side[i] = lua_tointegerx(L, -1, &ok);
            ok = ok && side[i] >= 1 && side[i] <= 65536;
            lua_pop(L, 1);
        }
        if (!ok)
            ldl_argerror(L, arg, fn, "expected option 'size' to be {height, width}, each "
                         "in 1..65536, got %s", size_text(L, t));
        *h = (int)side[0];
        *w = (int)side[1];
    }
    lua_pop(L, 2);
}

/* Loads and resizes one image; the message is left in dl_error(). */
static dl_status load_image(const char *fn, const char *path, int channels, int h, int w,
                            dl_image *out)
{
    dl_image img;
    dl_status status = dl_image_load(fn, path, channels, &img);
    if (status != DL_OK)
        return status;
    if (h == 0 || (img.height == h && img.width == w)) {
        *out = img;
        return DL_OK;
    }
    status = dl_image_resize(&img, h, w, out);
    dl_image_free(&img);
    return status;
}

/* image(path, opts) -> C x H x W float tensor in [0, 1] */
static int l_image(lua_State *L)
{
    const char *path = check_path(L, 1);
    int channels, h, w;
    image_options(L, 2, "image", &channels, &h, &w);
    dl_tensor **box = ldl_newbox(L);
    dl_image img;
    ldl_check_status(L, load_image("image", path, channels, h, w, &img));
    dl_status status = dl_empty("image", 3, (int64_t[]){img.channels, img.height, img.width},
                                box);
    if (status == DL_OK) {
        float *out = dl_data(*box);
        for (int64_t i = 0, n = dl_numel(*box); i < n; i++)
            out[i] = img.data[i] / 255.0f;
    }
    dl_image_free(&img);
    return ldl_result(L, status);
}

static int image_holder_gc(lua_State *L)
{
    dl_image_free(luaL_checkudata(L, 1, IMAGE_HOLDER));
    return 0;
}

/* images(paths, opts) -> dl.Bytes (N x C x H x W, / 255), kept, failures.
 * opts: gray, size, skip (unreadable files are listed in failures rather
 * than raised). Without size, every image must have the first one's. */
static int l_images(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int channels, want_h, want_w, h = 0, w = 0;
    image_options(L, 2, "images", &channels, &want_h, &want_w);
    bool skip = lua_istable(L, 2) && ldl_optboolean(L, 2, "images", "skip", 0);
    lua_Integer n = luaL_len(L, 1);
    lua_settop(L, 2);
    lua_newtable(L);                        /* 3: kept positions */
    lua_newtable(L);                        /* 4: failures */
    dl_image *img = lua_newuserdatauv(L, sizeof *img, 0);    /* 5 */
    memset(img, 0, sizeof *img);
    luaL_setmetatable(L, IMAGE_HOLDER);
    ldl_bytes *b = NULL;                    /* 6, once the first image is read */
    int64_t count = 0;
    const char *first = NULL;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        size_t len;
        const char *path = lua_tolstring(L, -1, &len);
        if (path == NULL || strlen(path) != len)
            return ldl_argerror(L, 1, "images", "expected paths, got %s at [%lld]",
                                path ? "a string with a NUL byte" : luaL_typename(L, -1),
                                (long long)i);
        lua_pop(L, 1);                      /* the table keeps the string alive */
        if (load_image("images", path, channels, want_h, want_w, img) != DL_OK) {
            if (!skip)
                return ldl_error(L, "%s", dl_error());
            lua_pushstring(L, dl_error());
            lua_rawseti(L, 4, (lua_Integer)lua_rawlen(L, 4) + 1);
            continue;
        }
        if (b == NULL) {
            channels = img->channels;
            h = img->height;
            w = img->width;
            first = path;
            b = ldl_newbytes(L, "images", 4, (int64_t[]){n, channels, h, w}, 1.0f / 255);
        } else if (img->height != h || img->width != w) {
            return ldl_error(L, "bad argument #1 to 'images' (images differ in size: '%s' "
                              "is %dx%d, '%s' is %dx%d; pass size = {height, width})",
                              first, h, w, path, img->height, img->width);
        }
        memcpy(b->data + (size_t)count * b->row_size, img->data, b->row_size);
        dl_image_free(img);
        count++;
        lua_pushinteger(L, i);
        lua_rawseti(L, 3, (lua_Integer)count);
    }
    if (b == NULL)
        return ldl_error(L, "bad argument #1 to 'images' (no readable image among %d "
                          "files)", (int)n);
    b->shape[0] = count;
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 4);
    return 3;
}

/* list_dir(path, fn) -> names, is_dir flags (not sorted; hidden entries
 * left out) */
static int l_list_dir(lua_State *L)
{
    const char *path = check_path(L, 1);
    const char *fn = luaL_optstring(L, 2, "list_dir");
    DIR *dir = opendir(path);
    if (dir == NULL)
        return ldl_error(L, "bad argument #1 to '%s' (cannot open '%s': %s)", fn, path,
                          strerror(errno));
    lua_newtable(L);
    lua_newtable(L);
    int k = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        const char *full = lua_pushfstring(L, "%s/%s", path, e->d_name);
        struct stat st;
        bool is_dir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
        lua_pop(L, 1);
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -3, ++k);
        lua_pushboolean(L, is_dir);
        lua_rawseti(L, -2, k);
    }
    closedir(dir);
    return 2;
}

/* ---- augmentation ------------------------------------------------------------ */

/* warp(x, theta, fill) -> x resampled; theta is N x 6 (or N x 2 x 3) */
static int l_warp(lua_State *L)
{
    dl_tensor *x = ldl_checktensor(L, 1, "warp");
    dl_tensor *theta = ldl_checktensor(L, 2, "warp");
    float fill = (float)luaL_optnumber(L, 3, 0);
    if (x->ndim != 4 || dl_numel(theta) != 6 * x->shape[0])
        return ldl_argerror(L, 2, "warp", "expected N x C x H x W images and 6 numbers per "
                            "image");
    dl_tensor **tbox = ldl_newbox(L);
    ldl_check_status(L, dl_contiguous(theta, tbox));
    dl_tensor **box = ldl_newbox(L);
    return ldl_result(L, dl_warp_affine(x, dl_data(*tbox), fill, box));
}

/* ---- registration -------------------------------------------------------------- */

static const luaL_Reg readers[] = {
    {"csv", l_csv},
    {"idx", l_idx},
    {"idx_bytes", l_idx_bytes},
    {"image", l_image},
    {"images", l_images},
    {"list_dir", l_list_dir},
    {"warp", l_warp},
    {NULL, NULL}
};

/* Registers a holder metatable whose __gc is `gc`. */
static void holder(lua_State *L, const char *name, lua_CFunction gc)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

void ldl_open_data(lua_State *L, int dl)
{
    holder(L, CSV_TABLE, csv_table_gc);
    holder(L, IMAGE_HOLDER, image_holder_gc);
    holder(L, SOURCE_HOLDER, source_holder_gc);
    lua_newtable(L);
    int table = lua_gettop(L);
    ldl_setfuncs(L, table, readers);
    ldl_open_bytes(L, table);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, table);
    lua_setfield(L, -2, "dl.readers");
    /* data.lua requires "dl", which is still being opened */
    if (lua_getfield(L, -1, "dl") == LUA_TNIL) {
        lua_pushvalue(L, dl);
        lua_setfield(L, -3, "dl");
    }
    lua_pop(L, 3);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "dl.data");
    lua_call(L, 1, 1);
    lua_setfield(L, dl, "data");
}
