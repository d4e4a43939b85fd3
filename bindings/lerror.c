/*
 * lerror.c -- errors that point at the user's line.
 *
 * A mistake made in a user's script or at the prompt is often caught deep
 * inside dl's own Lua modules (nn.Linear's init, an optimiser's option
 * check), where lauxlib's luaL_error would name that module's line. Errors
 * of dl name instead the innermost line that is not part of dl's modules:
 *
 *     stdin:1: bad argument #1 to 'Linear' (expected the input size >= 1, got -3)
 *
 * dl's modules are the chunks whose name holds "bindings/lua/dl/" (the
 * embedded ones are named after their source path, see ldl.c). The Lua
 * modules raise through require("dl.errors").raise(message).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lbox.h"

#define LIBRARY_CHUNK "bindings/lua/dl/"

void ldl_where(lua_State *L)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0 && strstr(ar.source, LIBRARY_CHUNK) == NULL) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

/* printf writes a NaN whose sign bit is set (0/0 on x86) as "-nan";
 * messages say "nan". */
static void unsign_nans(char *text)
{
    for (char *p = strstr(text, "-nan"); p != NULL; p = strstr(p, "-nan"))
        memmove(p, p + 1, strlen(p + 1) + 1);
}

int ldl_error(lua_State *L, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    unsign_nans(text);
    ldl_where(L);
    lua_pushstring(L, text);
    lua_concat(L, 2);
    return lua_error(L);
}

const char *ldl_renamed(const char *message, const char *internal, const char *name)
{
    static char text[1024];
    char quoted[64];
    size_t n = strlen(internal);
    snprintf(quoted, sizeof quoted, "'%s'", internal);
    const char *at = strstr(message, quoted);
    if (strncmp(message, internal, n) == 0 && message[n] == ':')
        snprintf(text, sizeof text, "%s%s", name, message + n);
    else if (at != NULL)
        snprintf(text, sizeof text, "%.*s'%s'%s", (int)(at - message), message, name,
                 at + strlen(quoted));
    else
        snprintf(text, sizeof text, "%s", message);
    return text;
}

/* raise(message): raises message after the user's "chunk:line: " (whole:
 * gnuplot's messages may be long). */
static int l_raise(lua_State *L)
{
    luaL_checkstring(L, 1);
    ldl_where(L);
    lua_pushvalue(L, 1);
    lua_concat(L, 2);
    return lua_error(L);
}

/* require("dl.errors") */
static int open_errors(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_raise);
    lua_setfield(L, -2, "raise");
    return 1;
}

void ldl_open_errors(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, open_errors);
    lua_setfield(L, -2, "dl.errors");
    lua_pop(L, 1);
}
