/*
 * lsafetensors.c -- safetensors files and JSON for Lua, gathered in the
 * table `require "dl.safetensors"` that bindings/lua/dl/serialize.lua
 * builds dl.save, dl.load, Module:save and nn.load on.
 *
 *   write(path, entries, metadata, fn, argn)
 *        entries: list of {name, tensor, as_int64}; metadata: string -> string
 *   read(path, fn) -> names (in data order), tensors (name -> tensor),
 *                     metadata (string -> string), dtypes (name -> "F32", ...)
 *   json_encode(value) -> text     booleans, numbers, UTF-8 strings, lists
 *                                  (keys 1..n) and tables of string keys
 *   json_decode(text) -> value     whole numbers become integers
 *
 * JSON goes through cJSON both ways; objects are written with their keys
 * sorted, so the same value always gives the same text.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "io/safetensors.h"
#include "lbox.h"

#define FILE_HOLDER "dl.SafetensorsFile"
#define JSON_HOLDER "dl.JsonTree"
#define MAX_DEPTH 200

/* ---- files ------------------------------------------------------------------ */

static int file_holder_gc(lua_State *L)
{
    dl_safetensors **f = luaL_checkudata(L, 1, FILE_HOLDER);
    dl_safetensors_close(*f);
    *f = NULL;
    return 0;
}

/* A string at `idx` that holds no NUL byte, or raises naming `what`. */
static const char *c_string(lua_State *L, int idx, const char *fn, const char *what)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (s == NULL || strlen(s) != len)
        ldl_error(L, "bad argument to '%s' (%s must be a string without NUL bytes, got %s)",
                  fn, what, s ? "one with a NUL" : luaL_typename(L, idx));
    return s;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* write(path, entries, metadata, fn, argn) */
static int l_write(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    const char *fn = luaL_checkstring(L, 4);
    int argn = (int)luaL_checkinteger(L, 5);
    lua_Integer n = luaL_len(L, 2);
    if (n < 0 || n > 1 << 24)
        return ldl_error(L, "bad argument to '%s' (too many tensors: %lld)", fn, (long long)n);
    dl_st_entry *entries = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *entries, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 2, i);                  /* the entries table keeps it alive */
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_geti(L, -1, 1);
        entries[i - 1].name = c_string(L, -1, fn, "a tensor name");
        lua_geti(L, -2, 2);
        entries[i - 1].tensor = ldl_totensor(L, -1, fn);
        if (entries[i - 1].tensor == NULL)
            return ldl_error(L, "bad argument to '%s' (expected a tensor for '%s', got %s)",
                             fn, entries[i - 1].name, ldl_typename(L, -1));
        lua_geti(L, -3, 3);
        entries[i - 1].as_int64 = lua_toboolean(L, -1);
        lua_pop(L, 4);
    }
    int nmeta = 0;
    const char **keys = NULL, **values = NULL;
    if (lua_istable(L, 3)) {
        for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1))
            nmeta++;
        keys = lua_newuserdatauv(L, ((size_t)nmeta + 1) * 2 * sizeof *keys, 0);
        int k = 0;
        for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1)) {
            lua_pushvalue(L, -2);
            keys[k++] = c_string(L, -1, fn, "a metadata key");
            lua_pop(L, 1);
            c_string(L, -1, fn, "a metadata value");
        }
        qsort(keys, (size_t)nmeta, sizeof *keys, compare_strings);
        values = keys + nmeta;
        for (int i = 0; i < nmeta; i++) {
            lua_getfield(L, 3, keys[i]);
            values[i] = lua_tostring(L, -1);
            lua_pop(L, 1);                  /* the metadata table keeps it alive */
        }
    }
    ldl_check_status(L, dl_safetensors_write(fn, argn, path, (int)n, entries, nmeta, keys,
                                             values));
    return 0;
}

/* read(path, fn) -> names, tensors, metadata, dtypes */
static int l_read(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *fn = luaL_optstring(L, 2, "load");
    dl_safetensors **f = lua_newuserdatauv(L, sizeof *f, 0);
    *f = NULL;
    luaL_setmetatable(L, FILE_HOLDER);
    int holder = lua_gettop(L);
    ldl_check_status(L, dl_safetensors_open(fn, path, f));
    int n = dl_safetensors_count(*f);
    lua_createtable(L, n, 0);
    lua_createtable(L, 0, n);
    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, n);
    int names = holder + 1, tensors = holder + 2, metadata = holder + 3, dtypes = holder + 4;
    for (int i = 0; i < n; i++) {
        const dl_st_tensor *t = dl_safetensors_tensor(*f, i);
        dl_tensor **box = ldl_newbox(L);
        ldl_check_status(L, dl_safetensors_read(*f, i, box));
        ldl_account(L);
        lua_setfield(L, tensors, t->name);
        lua_pushstring(L, t->name);
        lua_rawseti(L, names, i + 1);
        lua_pushstring(L, dl_safetensors_dtype_name(t->dtype));
        lua_setfield(L, dtypes, t->name);
    }
    for (int i = 0; i < dl_safetensors_metadata_count(*f); i++) {
        lua_pushstring(L, dl_safetensors_metadata_value(*f, i));
        lua_setfield(L, metadata, dl_safetensors_metadata_key(*f, i));
    }
    dl_safetensors_close(*f);
    *f = NULL;
    return 4;
}

/* ---- JSON ------------------------------------------------------------------- */

static int json_holder_gc(lua_State *L)
{
    cJSON **tree = luaL_checkudata(L, 1, JSON_HOLDER);
    cJSON_Delete(*tree);
    *tree = NULL;
    return 0;
}

/* A holder of a cJSON tree, freed by the GC if an error comes first. */
static cJSON **new_holder(lua_State *L)
{
    cJSON **tree = lua_newuserdatauv(L, sizeof *tree, 0);
    *tree = NULL;
    luaL_setmetatable(L, JSON_HOLDER);
    return tree;
}

/* A number as JSON text that reads back as the same double, in the
 * shortest such form, with a '.' whatever the locale. */
static cJSON *json_number(lua_State *L, int idx)
{
    char text[40];
    if (lua_isinteger(L, idx)) {
        snprintf(text, sizeof text, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
        return cJSON_CreateRaw(text);
    }
    double d = lua_tonumber(L, idx);
    if (!isfinite(d))
        ldl_error(L, "bad argument to 'json_encode' (%g has no JSON form)", d);
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, d);
        if (strtod(text, NULL) == d)
            break;
    }
    char point = localeconv()->decimal_point[0];
    for (char *p = text; *p; p++)
        if (*p == point)
            *p = '.';
    if (strpbrk(text, ".eE") == NULL)          /* 3.0 stays a float: "3.0" */
        strcat(text, ".0");
    return cJSON_CreateRaw(text);
}

/* How the table at idx is written: 1 a list (keys 1..n, n >= 1), 0 an
 * object (string keys only, or empty); raises otherwise. */
static int table_kind(lua_State *L, int idx)
{
    lua_Integer count = 0, n = (lua_Integer)lua_rawlen(L, idx);
    bool all_strings = true, all_positions = true;
    for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
        count++;
        if (lua_type(L, -2) != LUA_TSTRING)
            all_strings = false;
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > n)
            all_positions = false;
    }
    if (count > 0 && all_positions && count == n)
        return 1;
    if (all_strings)
        return 0;
    return ldl_error(L, "bad argument to 'json_encode' (a table mixing keys other than "
                     "strings and positions 1..n)");
}

static void encode(lua_State *L, int idx, int depth, cJSON *parent, const char *key);

/* Fills the JSON object `object` from the table at idx, keys sorted. */
static void encode_object(lua_State *L, int idx, int depth, cJSON *object)
{
    lua_newtable(L);                           /* the keys, to sort */
    int keys = lua_gettop(L);
    lua_Integer n = 0;
    for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
        lua_pushvalue(L, -2);
        lua_rawseti(L, keys, ++n);
    }
    const char **sorted = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *sorted, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, keys, i);
        sorted[i - 1] = c_string(L, -1, "json_encode", "a key");
        lua_pop(L, 1);                         /* the keys table keeps it alive */
    }
    qsort(sorted, (size_t)n, sizeof *sorted, compare_strings);
    for (lua_Integer i = 0; i < n; i++) {
        size_t len = strlen(sorted[i]);
        if (dl_utf8_valid_prefix(sorted[i], len) < len)
            ldl_error(L, "bad argument to 'json_encode' (a key is not UTF-8)");
        lua_getfield(L, idx, sorted[i]);
        encode(L, lua_gettop(L), depth + 1, object, sorted[i]);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

/* The JSON of the value at idx, added to `parent` (under `key` for an
 * object, at the end for a list) before it is filled, so that an error
 * half-way frees everything through the holder of the root. */
static void encode(lua_State *L, int idx, int depth, cJSON *parent, const char *key)
{
    if (depth > MAX_DEPTH)
        ldl_error(L, "bad argument to 'json_encode' (nested more than %d deep, or a table "
                  "that contains itself)", MAX_DEPTH);
    luaL_checkstack(L, 8, "json_encode");
    cJSON *item = NULL;
    int kind = -1;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        item = cJSON_CreateBool(lua_toboolean(L, idx));
        break;
    case LUA_TNUMBER:
        item = json_number(L, idx);
        break;
    case LUA_TSTRING: {
        const char *s = c_string(L, idx, "json_encode", "a string");
        size_t len = strlen(s);
        if (dl_utf8_valid_prefix(s, len) < len)
            ldl_error(L, "bad argument to 'json_encode' (a string is not UTF-8)");
        item = cJSON_CreateString(s);
        break;
    }
    case LUA_TTABLE:
        kind = table_kind(L, idx);
        item = kind ? cJSON_CreateArray() : cJSON_CreateObject();
        break;
    default:
        ldl_error(L, "bad argument to 'json_encode' (a %s has no JSON form)",
                  luaL_typename(L, idx));
    }
    if (item == NULL)
        ldl_error(L, "'json_encode': out of memory");
    if (key != NULL)
        cJSON_AddItemToObject(parent, key, item);
    else
        cJSON_AddItemToArray(parent, item);
    if (kind == 1) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            encode(L, lua_gettop(L), depth + 1, item, NULL);
            lua_pop(L, 1);
        }
    } else if (kind == 0) {
        encode_object(L, idx, depth, item);
    }
}

/* json_encode(value) -> compact JSON text */
static int l_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    cJSON **holder = new_holder(L);
    *holder = cJSON_CreateArray();             /* holds the value while it is built */
    if (*holder == NULL)
        return ldl_error(L, "'json_encode': out of memory");
    encode(L, 1, 0, *holder, NULL);
    char *text = cJSON_PrintUnformatted((*holder)->child);
    if (text == NULL)
        return ldl_error(L, "'json_encode': out of memory");
    lua_pushstring(L, text);
    free(text);
    return 1;
}

static void decode(lua_State *L, const cJSON *item, int depth)
{
    luaL_checkstack(L, 4, "json_decode");
    if (cJSON_IsTrue(item) || cJSON_IsFalse(item)) {
        lua_pushboolean(L, cJSON_IsTrue(item));
    } else if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (d == floor(d) && fabs(d) < 9.2e18)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsString(item)) {
        lua_pushstring(L, item->valuestring);
    } else if (cJSON_IsArray(item)) {
        lua_createtable(L, cJSON_GetArraySize(item), 0);
        lua_Integer i = 0;
        for (const cJSON *e = item->child; e != NULL; e = e->next) {
            decode(L, e, depth + 1);
            lua_rawseti(L, -2, ++i);
        }
    } else if (cJSON_IsObject(item)) {
        lua_createtable(L, 0, cJSON_GetArraySize(item));
        for (const cJSON *e = item->child; e != NULL; e = e->next) {
            decode(L, e, depth + 1);
            lua_setfield(L, -2, e->string);
        }
    } else {
        lua_pushnil(L);                        /* null */
    }
}

/* json_decode(text) -> value; raises on text that is not JSON */
static int l_json_decode(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    cJSON **holder = new_holder(L);
    *holder = cJSON_ParseWithLength(text, len);
    if (*holder == NULL)
        return ldl_error(L, "bad argument #1 to 'json_decode' (not valid JSON)");
    decode(L, *holder, 0);
    return 1;
}

/* ---- registration ------------------------------------------------------------- */

static const luaL_Reg functions[] = {
    {"write", l_write},
    {"read", l_read},
    {"json_encode", l_json_encode},
    {"json_decode", l_json_decode},
    {NULL, NULL}
};

void ldl_open_safetensors(lua_State *L)
{
    luaL_newmetatable(L, FILE_HOLDER);
    lua_pushcfunction(L, file_holder_gc);
    lua_setfield(L, -2, "__gc");
    luaL_newmetatable(L, JSON_HOLDER);
    lua_pushcfunction(L, json_holder_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 2);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_newtable(L);
    ldl_setfuncs(L, lua_gettop(L), functions);
    lua_setfield(L, -2, "dl.safetensors");
    lua_pop(L, 1);
}
