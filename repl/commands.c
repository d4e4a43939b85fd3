/*
 * commands.c -- lines that start with ':'.
 *
 * One row per command in `commands`; a new command is a function and a
 * row. A command gets the text after its name, trimmed. Most are written
 * in Lua (dl.prompt_commands, run_in_lua); :cd, :pwd, :time, :history and
 * :quit are here.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <unistd.h>

#include <lua.h>

#include "repl.h"

#define HISTORY_SHOWN 20
#define LIST_WIDTH 78        /* columns of the unknown-command list */

typedef enum { RAN, QUIT, BAD_ARGUMENTS } outcome;

typedef struct {
    const char *name;
    const char *arguments;   /* as shown in the usage message */
    outcome (*run)(lua_State *L, const char *arguments);
} command;

static outcome run_history(lua_State *L, const char *arguments);
static outcome run_quit(lua_State *L, const char *arguments);
static outcome run_time(lua_State *L, const char *arguments);
static outcome run_cd(lua_State *L, const char *arguments);
static outcome run_pwd(lua_State *L, const char *arguments);
static outcome run_in_lua(lua_State *L, const char *arguments);

/* Sorted by name: the order of completions and of the unknown-command list. */
static const command commands[] = {
    {"back", "", run_in_lua},
    {"bye", "", run_in_lua},
    {"cd", "<dir>", run_cd},
    {"edit", "[function]", run_in_lua},
    {"help", "[name]", run_in_lua},
    {"hint", "", run_in_lua},
    {"history", "[n]", run_history},
    {"lesson", "[n]", run_in_lua},
    {"load", "<file.lua>", run_in_lua},
    {"mem", "", run_in_lua},
    {"pwd", "", run_pwd},
    {"quit", "", run_quit},
    {"reset", "", run_in_lua},
    {"save", "<file.lua>", run_in_lua},
    {"seed", "<n>", run_in_lua},
    {"skip", "", run_in_lua},
    {"threads", "[n]", run_in_lua},
    {"time", "<code>", run_time},
    {"trace", "", run_in_lua},
    {"who", "", run_in_lua},
};

static const char *running_name;   /* the command run_in_lua runs */

#define COMMAND_COUNT ((int)(sizeof commands / sizeof commands[0]))

/* :history [n] -- the last n lines entered (20). */
static outcome run_history(lua_State *L, const char *arguments)
{
    char *end;
    long n = HISTORY_SHOWN;
    if (*arguments != '\0') {
        n = strtol(arguments, &end, 10);
        if (*end != '\0' || n < 1 || n > HISTORY_MAX)
            return BAD_ARGUMENTS;
    }
    history_print((int)n);
    return RAN;
}

/* :quit -- leave, as Ctrl-D does. */
static outcome run_quit(lua_State *L, const char *arguments)
{
    return *arguments == '\0' ? QUIT : BAD_ARGUMENTS;
}

static void print_duration(double seconds)
{
    if (seconds >= 1)
        printf("wall time: %.2f s\n", seconds);
    else if (seconds >= 1e-3)
        printf("wall time: %.2f ms\n", seconds * 1e3);
    else
        printf("wall time: %.1f us\n", seconds * 1e6);
    fflush(stdout);
}

/* :time <code> -- runs one line of code as the prompt would, then shows
 * how long it ran (compiling and printing excluded). */
static outcome run_time(lua_State *L, const char *arguments)
{
    double seconds;
    eval_status status;
    if (*arguments == '\0')
        return BAD_ARGUMENTS;
    status = eval_interactive(L, arguments, strlen(arguments), &seconds);
    if (status == EVAL_OK)
        print_duration(seconds);
    else if (status == EVAL_INCOMPLETE)
        fprintf(stderr, ":time: the code is unfinished (it must fit on one line)\n");
    return RAN;
}

/* :cd <dir> -- changes the working directory (~ is $HOME). */
static outcome run_cd(lua_State *L, const char *arguments)
{
    char *path = NULL;
    const char *home = getenv("HOME");
    if (*arguments == '\0')
        return BAD_ARGUMENTS;
    if (arguments[0] == '~' && (arguments[1] == '/' || arguments[1] == '\0') && home != NULL) {
        if (asprintf(&path, "%s%s", home, arguments + 1) < 0)
            return RAN;
        arguments = path;
    }
    if (chdir(arguments) != 0)
        fprintf(stderr, ":cd: %s: %s\n", arguments, strerror(errno));
    else
        run_pwd(L, "");
    free(path);
    return RAN;
}

/* :pwd -- the working directory. */
static outcome run_pwd(lua_State *L, const char *arguments)
{
    char *here;
    if (*arguments != '\0')
        return BAD_ARGUMENTS;
    here = getcwd(NULL, 0);
    if (here == NULL) {
        fprintf(stderr, ":pwd: %s\n", strerror(errno));
        return RAN;
    }
    printf("%s\n", here);
    fflush(stdout);
    free(here);
    return RAN;
}

/* A command of dl.prompt_commands: it prints its own output, returns
 * false for bad arguments, or a string of code to run at the prompt. */
static outcome run_in_lua(lua_State *L, const char *arguments)
{
    int top = lua_gettop(L);
    outcome result = RAN;
    if (!eval_push_helper(L, "dl.prompt_commands", running_name)) {
        fprintf(stderr, ":%s is not available\n", running_name);
        return RAN;
    }
    lua_pushstring(L, arguments);
    if (eval_call(L, 1, 1, false) != LUA_OK) {
        eval_report(L, NULL);
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        size_t length;
        const char *code = lua_tolstring(L, -1, &length);
        history_record(code);
        eval_interactive(L, code, length, NULL);
    } else if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
        result = BAD_ARGUMENTS;
    }
    lua_settop(L, top);
    return result;
}

bool commands_is_command(const char *line)
{
    line += strspn(line, " \t");
    return line[0] == ':' && isalpha((unsigned char)line[1]);
}

command_status commands_run(lua_State *L, const char *line)
{
    char name[32];
    size_t length;
    char *arguments;

    line += strspn(line, " \t") + 1;
    length = strcspn(line, " \t");
    arguments = strdup(line + length + strspn(line + length, " \t"));
    if (arguments == NULL)
        return COMMAND_CONTINUE;
    for (size_t end = strlen(arguments); end > 0 && isspace((unsigned char)arguments[end - 1]); end--)
        arguments[end - 1] = '\0';
    snprintf(name, sizeof name, "%.*s", (int)length, line);
    fflush(stdout);
    for (int i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0) {
            running_name = commands[i].name;
            outcome result = commands[i].run(L, arguments);
            if (result == BAD_ARGUMENTS)
                fprintf(stderr, "usage: :%s%s%s\n", commands[i].name,
                        *commands[i].arguments ? " " : "", commands[i].arguments);
            free(arguments);
            return result == QUIT ? COMMAND_QUIT : COMMAND_CONTINUE;
        }
    fprintf(stderr, "unknown command :%s\ncommands:", name);
    int column = (int)strlen("commands:");
    for (int i = 0; i < COMMAND_COUNT; i++) {
        int width = 2 + (int)strlen(commands[i].name);
        if (column + width > LIST_WIDTH) {      /* lines fit a narrow terminal */
            fprintf(stderr, "\n ");
            column = 1;
        }
        fprintf(stderr, " :%s", commands[i].name);
        column += width;
    }
    fprintf(stderr, "\n");
    free(arguments);
    return COMMAND_CONTINUE;
}

const char *commands_name(int i)
{
    return i >= 0 && i < COMMAND_COUNT ? commands[i].name : NULL;
}
