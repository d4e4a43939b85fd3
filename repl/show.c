/*
 * show.c -- results as text.
 *
 * Values print as tostring() shows them (a tensor's __tostring gives its
 * values and shape), except tables without a metatable: a small one of
 * numbers, booleans, plain strings and small tables prints as Lua source
 * ({2, 3}, {loss=0.3, accuracy=0.9}); a bigger one stays "table: 0x...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "repl.h"

#define SHOW_MAX_ENTRIES 16   /* per table */
#define SHOW_MAX_ATOMS 32     /* over the whole table, nested ones included */
#define SHOW_MAX_DEPTH 2

/* A string that reads back as itself between double quotes. */
static bool is_plain_string(lua_State *L, int index)
{
    size_t length;
    const char *s = lua_tolstring(L, index, &length);
    for (size_t i = 0; i < length; i++)
        if (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < ' ')
            return false;
    return true;
}

static bool is_showable(lua_State *L, int index, int depth, int *atoms);

/* True when the key and value lua_next left on the stack fit a showable table. */
static bool is_showable_entry(lua_State *L, int depth, int *atoms)
{
    int key_type = lua_type(L, -2), value_type = lua_type(L, -1);
    if (lua_isinteger(L, -2) ? lua_tointeger(L, -2) < 1
                             : key_type != LUA_TSTRING || !repl_is_name(lua_tostring(L, -2)))
        return false;
    if (value_type == LUA_TTABLE)
        return is_showable(L, -1, depth + 1, atoms);
    if (value_type == LUA_TSTRING)
        return is_plain_string(L, -1);
    return value_type == LUA_TNUMBER || value_type == LUA_TBOOLEAN;
}

/* True when the table at `index` is small and plain enough to print as
 * source: no metatable, keys 1..n and identifiers, showable values. */
static bool is_showable(lua_State *L, int index, int depth, int *atoms)
{
    lua_Integer count = 0, integer_keys = 0, largest = 0;

    if (depth > SHOW_MAX_DEPTH)
        return false;
    if (lua_getmetatable(L, index)) {
        lua_pop(L, 1);
        return false;
    }
    index = lua_absindex(L, index);
    luaL_checkstack(L, 4, "table too deep to show");
    lua_pushnil(L);
    while (lua_next(L, index)) {
        if (++count > SHOW_MAX_ENTRIES || ++*atoms > SHOW_MAX_ATOMS ||
            !is_showable_entry(L, depth, atoms)) {
            lua_pop(L, 2);
            return false;
        }
        if (lua_isinteger(L, -2)) {
            integer_keys++;
            if (lua_tointeger(L, -2) > largest)
                largest = lua_tointeger(L, -2);
        }
        lua_pop(L, 1);
    }
    return largest == integer_keys;  /* the integer keys are exactly 1..n */
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void push_shown(lua_State *L, int index, bool quote_strings);

/* Pushes a showable table as source: the list part, then sorted names. */
static void push_table_source(lua_State *L, int index)
{
    const char *names[SHOW_MAX_ENTRIES];
    int name_count = 0, pieces = 1;
    lua_Integer length = (lua_Integer)lua_rawlen(L, index);

    lua_pushliteral(L, "{");
    for (lua_Integer i = 1; i <= length; i++) {
        lua_pushstring(L, i > 1 ? ", " : "");
        lua_rawgeti(L, index, i);
        push_shown(L, -1, true);
        lua_remove(L, -2);
        pieces += 2;
    }
    lua_pushnil(L);
    while (lua_next(L, index)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING)
            names[name_count++] = lua_tostring(L, -1);  /* anchored by the table */
    }
    qsort(names, (size_t)name_count, sizeof names[0], compare_strings);
    for (int i = 0; i < name_count; i++) {
        lua_pushfstring(L, "%s%s=", length > 0 || i > 0 ? ", " : "", names[i]);
        lua_getfield(L, index, names[i]);
        push_shown(L, -1, true);
        lua_remove(L, -2);
        pieces += 2;
    }
    lua_pushliteral(L, "}");
    lua_concat(L, pieces + 1);
}

/* Pushes tostring(value at `index`); a __tostring that returns a number
 * shows the number, one that returns another non-string says so (where
 * luaL_tolstring raises "'__tostring' must return a string"). */
static void push_tostring(lua_State *L, int index)
{
    if (luaL_getmetafield(L, index, "__tostring") == LUA_TNIL) {
        luaL_tolstring(L, index, NULL);
        return;
    }
    lua_pushvalue(L, index);
    lua_call(L, 1, 1);
    if (lua_isstring(L, -1)) {
        lua_tolstring(L, -1, NULL);     /* a number becomes its text */
        return;
    }
    const char *type = luaL_typename(L, -1);
    lua_pop(L, 1);
    lua_pushfstring(L, "%s: %p (its __tostring returned a %s)", luaL_typename(L, index),
                    lua_topointer(L, index), type);
}

/* Pushes the text of the value at `index`. */
static void push_shown(lua_State *L, int index, bool quote_strings)
{
    int atoms = 0;
    index = lua_absindex(L, index);
    luaL_checkstack(L, 2 * SHOW_MAX_ENTRIES + 4, "table too deep to show");
    if (lua_type(L, index) == LUA_TTABLE && is_showable(L, index, 0, &atoms))
        push_table_source(L, index);
    else if (quote_strings && lua_type(L, index) == LUA_TSTRING)
        lua_pushfstring(L, "\"%s\"", lua_tostring(L, index));
    else
        push_tostring(L, index);
}

/* Lua function: its arguments as one tab-separated line. */
static int format_values(lua_State *L)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        push_shown(L, i, false);
        if (i < n)
            lua_pushliteral(L, "\t");
    }
    lua_concat(L, 2 * n - 1);
    return 1;
}

void show_values(lua_State *L, int n)
{
    size_t length;
    const char *text;

    lua_pushcfunction(L, format_values);
    lua_insert(L, -n - 1);
    if (eval_call(L, n, 1, false) != LUA_OK) {
        eval_report(L, NULL);
        return;
    }
    text = lua_tolstring(L, -1, &length);
    fwrite(text, 1, length, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    lua_pop(L, 1);
}
