/*
 * eval.c -- compiling and running user code.
 *
 * A line is first compiled as "return <line>", so expressions give values
 * to print; when that fails it is compiled as it is, a statement. Input
 * is unfinished, and more lines are wanted, when the syntax error is at
 * the end of the input: its message ends in "<eof>", the test lua.c's
 * incomplete() makes. Either reading may be the unfinished one
 * ("1 +" is an unfinished expression but a wrong statement).
 *
 * An expression runs as "return (function(...) return ... end)(<line>)":
 * as "return f(x)", a tail call, the prompt's chunk would leave the stack
 * before f runs, and an error inside f could not name "stdin:1". The values
 * pass through unchanged, all of them. (A line ending in a comment hides
 * the closing parenthesis; it runs as "return <line>".)
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "dl.h"
#include "repl.h"

#define EOF_MARK "<eof>"
#define CHUNK_NAME "=stdin"
#define PASS_VALUES_OPEN "return (function(...) return ... end)("
#define PASS_VALUES_CLOSE ")"

static bool is_unfinished(lua_State *L, int status)
{
    size_t length;
    const char *message;
    if (status != LUA_ERRSYNTAX)
        return false;
    message = lua_tolstring(L, -1, &length);
    return length >= sizeof EOF_MARK - 1 &&
           strcmp(message + length - (sizeof EOF_MARK - 1), EOF_MARK) == 0;
}

/* Pushes the compiled chunk, or the statement's error message. */
static int compile(lua_State *L, const char *code, size_t length, bool *unfinished)
{
    size_t with_return_length;
    const char *with_return;
    int status;

    lua_pushliteral(L, "return ");
    lua_pushlstring(L, code, length);
    lua_concat(L, 2);
    with_return = lua_tolstring(L, -1, &with_return_length);
    status = luaL_loadbuffer(L, with_return, with_return_length, CHUNK_NAME);
    lua_remove(L, -2);
    if (status == LUA_OK) {     /* an expression: run it without a tail call */
        *unfinished = false;
        lua_pushliteral(L, PASS_VALUES_OPEN);
        lua_pushlstring(L, code, length);
        lua_pushliteral(L, PASS_VALUES_CLOSE);
        lua_concat(L, 3);
        with_return = lua_tolstring(L, -1, &with_return_length);
        if (luaL_loadbuffer(L, with_return, with_return_length, CHUNK_NAME) == LUA_OK) {
            lua_replace(L, -3);     /* the passing chunk in place of the plain one */
            lua_pop(L, 1);
        } else {
            lua_pop(L, 2);          /* its message and its source */
        }
        return LUA_OK;
    }
    *unfinished = is_unfinished(L, status);
    lua_pop(L, 1);
    status = luaL_loadbuffer(L, code, length, CHUNK_NAME);
    *unfinished = status != LUA_OK && (*unfinished || is_unfinished(L, status));
    return status;
}

eval_status eval_interactive(lua_State *L, const char *code, size_t len, double *seconds)
{
    int top = lua_gettop(L);
    bool unfinished;
    double start;
    int status = compile(L, code, len, &unfinished);

    if (unfinished) {
        lua_settop(L, top);
        return EVAL_INCOMPLETE;
    }
    if (status != LUA_OK) {
        eval_report(L, NULL);
        return EVAL_ERROR;
    }
    start = dl_clock();
    status = eval_call(L, 0, LUA_MULTRET, false);
    if (seconds != NULL)
        *seconds = dl_clock() - start;
    if (status != LUA_OK) {
        eval_report(L, NULL);
        return EVAL_ERROR;
    }
    if (lua_gettop(L) == top + 1 && lua_isnil(L, -1))
        lua_pop(L, 1);              /* like IPython's None: nothing to show */
    else if (lua_gettop(L) > top)
        show_values(L, lua_gettop(L) - top);
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

static int concise_handler(lua_State *L)
{
    message_text(L);
    return 1;
}

static int traceback_handler(lua_State *L)
{
    luaL_traceback(L, L, message_text(L), 1);
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
