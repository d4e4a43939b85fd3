/*
 * loop.c -- the interactive loop.
 *
 * Lines gather into a block until the block compiles (or fails for a
 * reason other than ending too early), then it runs. A line that starts
 * a fresh block with ':' is a command, one that starts with '?' asks for
 * help. A paste (readline hands over a bracketed paste as one text with
 * newlines, as it does a multi-line entry recalled from the history) runs
 * as one chunk, after dl.prompt.clean_paste has removed prompts and
 * output copied with it. A finished block enters the history as one entry.
 *
 * Ctrl-C at the prompt drops the half-typed line and the unfinished block.
 * Ctrl-D on an empty line leaves; inside an unfinished block it only
 * drops the block (lua.c would exit, losing the session to a stray key).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>

#include "repl.h"

typedef struct {
    char *text;
    size_t length, capacity;
} block;

/* Appends `line` (after a newline when the block is not empty). */
static bool block_add(block *b, const char *line)
{
    size_t line_length = strlen(line);
    size_t needed = b->length + line_length + 2;
    if (needed > b->capacity) {
        size_t capacity = needed > 2 * b->capacity ? needed : 2 * b->capacity;
        char *text = realloc(b->text, capacity);
        if (text == NULL)
            return false;
        b->text = text;
        b->capacity = capacity;
    }
    if (b->length > 0)
        b->text[b->length++] = '\n';
    memcpy(b->text + b->length, line, line_length + 1);
    b->length += line_length;
    return true;
}

typedef struct {
    block pending;      /* the lines of an unfinished block */
    bool unfinished;
} session;

static void drop_block(session *s)
{
    s->unfinished = false;
    s->pending.length = 0;
}

/* `?name` at the start of a block: help for the name (or, for `?`
 * alone, the list of topics). */
static void ask_help(lua_State *L, const char *line)
{
    line += strspn(line, " \t") + 1;
    line += strspn(line, " \t");
    if (!eval_push_helper(L, "dl.help", "show_name"))
        return;
    lua_pushstring(L, line);
    if (eval_call(L, 1, 0, false) != LUA_OK)
        eval_report(L, NULL);
}

static bool is_help_request(const char *line)
{
    return line[strspn(line, " \t")] == '?';
}

/* After an input ran: the running lesson's check, if a lesson runs. */
static void check_lesson(lua_State *L)
{
    if (!eval_push_helper(L, "dl.lessons", "after_input"))
        return;
    if (eval_call(L, 0, 0, false) != LUA_OK)
        eval_report(L, NULL);
}

/* Takes one line as typed, or a whole paste; returns false for :quit. */
static bool take_line(lua_State *L, session *s, const char *line)
{
    if (!s->unfinished && commands_is_command(line) && strchr(line, '\n') == NULL) {
        history_record(line);
        return commands_run(L, line) != COMMAND_QUIT;
    }
    if (!s->unfinished && is_help_request(line) && strchr(line, '\n') == NULL) {
        history_record(line);
        ask_help(L, line);
        return true;
    }
    if (!block_add(&s->pending, line)) {
        fprintf(stderr, "dlrepl: not enough memory; the block was dropped\n");
        drop_block(s);
        return true;
    }
    s->unfinished = eval_interactive(L, s->pending.text, s->pending.length, NULL) ==
                    EVAL_INCOMPLETE;
    if (!s->unfinished) {
        history_record(s->pending.text);
        drop_block(s);
        check_lesson(L);
    }
    return true;
}

/* True when a line of `text` is a command or a help request. */
static bool has_command_line(const char *text)
{
    for (const char *line = text; line != NULL; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (commands_is_command(line) || is_help_request(line))
            return true;
    }
    return false;
}

/* Takes a paste one line at a time, as if typed. */
static bool take_lines(lua_State *L, session *s, const char *text)
{
    char *copy = strdup(text), *next;
    bool going = true;
    if (copy == NULL)
        return true;
    for (char *line = copy; going && line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        going = take_line(L, s, line);
    }
    free(copy);
    return going;
}

/* Takes what was read: a typed line, or a paste cleaned of the prompts
 * and output that came with it, as one chunk (line by line when it holds
 * :commands or ?help, which are not Lua). */
static bool take_input(lua_State *L, session *s, const char *text)
{
    bool going;
    if (strchr(text, '\n') == NULL || !eval_push_helper(L, "dl.prompt", "clean_paste"))
        return take_line(L, s, text);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        return take_line(L, s, text);
    }
    text = lua_tostring(L, -1);
    going = has_command_line(text) ? take_lines(L, s, text) : take_line(L, s, text);
    lua_pop(L, 1);
    return going;
}

bool loop_echo_file(lua_State *L, const char *path)
{
    session s = {{NULL, 0, 0}, false};
    FILE *file = fopen(path, "r");
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    if (file == NULL) {
        fprintf(stderr, "dlrepl: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    while ((length = getline(&line, &capacity, file)) >= 0) {
        if (length > 0 && line[length - 1] == '\n')
            line[--length] = '\0';
        if (!s.unfinished && line[strspn(line, " \t")] == '\0')
            continue;
        printf("%s%s\n", s.unfinished ? REPL_CONTINUE_PROMPT : REPL_PROMPT, line);
        fflush(stdout);
        if (!take_line(L, &s, line))
            break;
    }
    free(line);
    fclose(file);
    free(s.pending.text);
    return true;
}

void loop_run(lua_State *L)
{
    session s = {{NULL, 0, 0}, false};
    bool going = true;

    /* loaded now, while `require` is surely there (a session may lose it) */
    static const char *const parts[][2] = {{"dl.prompt", "compile"}, {"dl.show", "line"},
                                           {"dl.prompt_commands", "who"}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (eval_push_helper(L, parts[i][0], parts[i][1]))
            lua_pop(L, 1);
    input_open(L, isatty(STDIN_FILENO));
    while (going) {
        char *line;
        input_status status = input_read(s.unfinished ? REPL_CONTINUE_PROMPT : REPL_PROMPT,
                                         &line);
        if (status == INPUT_LINE) {
            going = take_input(L, &s, line);
            free(line);
        } else if (status == INPUT_EOF && !s.unfinished) {
            going = false;
        } else {
            if (s.unfinished)
                history_record(s.pending.text);   /* dropped, but Up brings it back */
            drop_block(&s);
        }
    }
    free(s.pending.text);
}
