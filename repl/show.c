/*
 * show.c -- results as text.
 *
 * The text of each value comes from dl.show (Lua): numbers without float
 * noise, tables nested and indented with their size limited, histories
 * and parameter lists as small tables, everything else as tostring()
 * shows it (a module as its architecture).
 */
#include <stdio.h>

#include <lauxlib.h>
#include <lua.h>

#include "repl.h"

void show_values(lua_State *L, int n)
{
    size_t length;
    const char *text;

    if (!eval_push_helper(L, "dl.show", "line")) {
        lua_getglobal(L, "print");   /* never expected: dl.show is built in */
        lua_insert(L, -n - 1);
        lua_call(L, n, 0);
        return;
    }
    lua_insert(L, -n - 1);
    if (eval_call(L, n, 1, false) != LUA_OK) {
        eval_report(L, NULL);
        return;
    }
    text = lua_tolstring(L, -1, &length);
    if (text != NULL) {
        fwrite(text, 1, length, stdout);
        fputc('\n', stdout);
    }
    fflush(stdout);
    lua_pop(L, 1);
}
