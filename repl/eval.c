/*
 * eval.c -- compiling and running user code.
 *
 * The prompt's input is compiled by dl.prompt.compile (Lua): as an
 * expression when it is one, else as statements, else as statements then
 * an expression ("x = 1; x + 1"); top-level locals become globals so they
 * stay visible to the next line; a trailing ';' means run but do not
 * print. Input is unfinished, and more lines are wanted, when the syntax
 * error is at the end of the input (its message ends in "<eof>", the test
 * lua.c's incomplete() makes).
 *
 * Every error's whole traceback is kept for :trace; the prompt prints the
 * message and, when the error went through the user's own functions, their
 * frames (dl.prompt.short_error), in red at a terminal unless NO_COLOR
 * is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "dl.h"
#include "repl.h"

#define TRACEBACK_KEY "dlrepl.traceback"
#define INTERRUPTED "interrupted!"

/* Pushes the module `module`, loaded from package.loaded or else by its
 * package.preload loader (the embedded modules), both found through the
 * registry: a user's `require = nil` cannot take the prompt down. */
static bool push_module(lua_State *L, const char *module)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE) != LUA_TTABLE)
        return false;
    if (lua_getfield(L, -1, module) == LUA_TTABLE) {
        lua_remove(L, -2);
        return true;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE) != LUA_TTABLE ||
        lua_getfield(L, -1, module) != LUA_TFUNCTION)
        return false;
    lua_remove(L, -2);
    lua_pushstring(L, module);
    lua_pushliteral(L, ":preload:");
    if (lua_pcall(L, 2, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TTABLE)
        return false;
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, module);     /* package.loaded[module] */
    lua_remove(L, -2);
    return true;
}

bool eval_push_helper(lua_State *L, const char *module, const char *field)
{
    int top = lua_gettop(L);
    if (!push_module(L, module) || lua_getfield(L, -1, field) != LUA_TFUNCTION) {
        lua_settop(L, top);
        return false;
    }
    lua_remove(L, -2);
    return true;
}

/* Red on a terminal, unless NO_COLOR is set (no-color.org). */
static bool use_colour(void)
{
    const char *no_colour = getenv("NO_COLOR");
    return isatty(STDERR_FILENO) && (no_colour == NULL || *no_colour == '\0');
}

/* Prints the error message on top (shortened as the prompt shows errors)
 * and pops it. */
static void report_interactive(lua_State *L, bool interrupted)
{
    if (interrupted) {
        lua_pop(L, 1);
        lua_pushliteral(L, INTERRUPTED);
    } else if (lua_type(L, -1) == LUA_TSTRING && eval_push_helper(L, "dl.prompt", "short_error")) {
        lua_pushvalue(L, -2);
        lua_getfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
        if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
            lua_replace(L, -2);
        else
            lua_pop(L, 1);
    }
    if (use_colour() && lua_type(L, -1) == LUA_TSTRING) {
        lua_pushfstring(L, "\033[31m%s\033[0m", lua_tostring(L, -1));
        lua_replace(L, -2);
    }
    eval_report(L, NULL);
}

eval_status eval_interactive(lua_State *L, const char *code, size_t len, double *seconds)
{
    int top = lua_gettop(L);
    double start;
    int status;
    bool prints;

    if (!eval_push_helper(L, "dl.prompt", "compile")) {
        fprintf(stderr, "dlrepl: dl.prompt cannot be loaded\n");
        return EVAL_ERROR;
    }
    lua_pushlstring(L, code, len);
    if (lua_pcall(L, 1, 3, 0) != LUA_OK) {
        eval_report(L, NULL);
        lua_settop(L, top);
        return EVAL_ERROR;
    }
    if (lua_isnil(L, top + 1)) {
        bool unfinished = lua_toboolean(L, top + 3);
        lua_settop(L, top + 2);
        if (unfinished) {
            lua_settop(L, top);
            return EVAL_INCOMPLETE;
        }
        eval_report(L, NULL);
        lua_settop(L, top);
        return EVAL_ERROR;
    }
    prints = lua_toboolean(L, top + 2);
    lua_pushvalue(L, top + 1);          /* chunk; below it: chunk, prints, script */
    start = dl_clock();
    status = eval_call(L, 0, LUA_MULTRET, false);
    if (seconds != NULL)
        *seconds = dl_clock() - start;
    if (status != LUA_OK) {
        report_interactive(L, signals_interrupted());
        lua_settop(L, top);
        return EVAL_ERROR;
    }
    if (eval_push_helper(L, "dl.prompt", "remember")) {
        lua_pushvalue(L, top + 3);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK)
            lua_pop(L, 1);
    }
    if (lua_gettop(L) > top + 3 && prints) {
        lua_pushvalue(L, top + 4);
        lua_setglobal(L, "_");         /* the last printed result, as in IPython */
        show_values(L, lua_gettop(L) - top - 3);
    }
    lua_settop(L, top);
    return EVAL_OK;
}

/* The error object as a string (the first half of lua.c's msghandler). */
static const char *message_text(lua_State *L)
{
    const char *message = lua_tostring(L, 1);
    if (message != NULL)
        return message;
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
        return lua_tostring(L, -1);
    return lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
}

/* Keeps the whole traceback for :trace; returns the message alone. */
static int concise_handler(lua_State *L)
{
    const char *message = message_text(L);
    luaL_traceback(L, L, message, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
    lua_pushstring(L, message);
    return 1;
}

static int traceback_handler(lua_State *L)
{
    luaL_traceback(L, L, message_text(L), 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
    return 1;
}

int eval_call(lua_State *L, int nargs, int nresults, bool traceback)
{
    int base = lua_gettop(L) - nargs;
    struct sigaction saved;
    int status;

    lua_pushcfunction(L, traceback ? traceback_handler : concise_handler);
    lua_insert(L, base);
    dl_clear_interrupt();
    signals_running(L, &saved);
    status = lua_pcall(L, nargs, nresults, base);
    signals_restore(L, &saved);
    lua_remove(L, base);
    return status;
}

void eval_report(lua_State *L, const char *progname)
{
    const char *message = lua_tostring(L, -1);
    if (message == NULL)
        message = "(error object is not a string)";
    fflush(stdout);
    if (progname != NULL)
        fprintf(stderr, "%s: ", progname);
    fprintf(stderr, "%s\n", message);
    fflush(stderr);
    lua_pop(L, 1);
}
