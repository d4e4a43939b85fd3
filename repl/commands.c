/*
 * commands.c -- lines that start with ':'.
 *
 * One row per command in `commands`; a new command is a function and a
 * row. A command gets the text after its name, trimmed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "repl.h"

#define HISTORY_SHOWN 20

typedef enum { RAN, QUIT, BAD_ARGUMENTS } outcome;

typedef struct {
    const char *name;
    const char *arguments;   /* as shown in the usage message */
    outcome (*run)(lua_State *L, const char *arguments);
} command;

static outcome run_history(lua_State *L, const char *arguments);
static outcome run_quit(lua_State *L, const char *arguments);
static outcome run_time(lua_State *L, const char *arguments);

static const command commands[] = {
    {"history", "[n]", run_history},
    {"quit", "", run_quit},
    {"time", "<code>", run_time},
};

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
            outcome result = commands[i].run(L, arguments);
            if (result == BAD_ARGUMENTS)
                fprintf(stderr, "usage: :%s%s%s\n", commands[i].name,
                        *commands[i].arguments ? " " : "", commands[i].arguments);
            free(arguments);
            return result == QUIT ? COMMAND_QUIT : COMMAND_CONTINUE;
        }
    fprintf(stderr, "unknown command :%s (commands:", name);
    for (int i = 0; i < COMMAND_COUNT; i++)
        fprintf(stderr, " :%s", commands[i].name);
    fprintf(stderr, ")\n");
    free(arguments);
    return COMMAND_CONTINUE;
}

const char *commands_name(int i)
{
    return i >= 0 && i < COMMAND_COUNT ? commands[i].name : NULL;
}
