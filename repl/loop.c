/*
 * loop.c -- the interactive loop.
 *
 * Lines gather into a block until the block compiles (or fails for a
 * reason other than ending too early), then it runs. A line that starts
 * a fresh block with ':' is a command instead. Pasted text (readline
 * hands over a bracketed paste as one line) is taken line by line, as if
 * typed.
 *
 * Ctrl-C at the prompt drops the half-typed line and the unfinished block.
 * Ctrl-D on an empty line leaves; inside an unfinished block it only
 * drops the block (lua.c would exit, losing the session to a stray key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Takes one line as typed; returns false for :quit. */
static bool take_line(lua_State *L, session *s, const char *line)
{
    history_record(line);
    if (!s->unfinished && commands_is_command(line))
        return commands_run(L, line) != COMMAND_QUIT;
    if (!block_add(&s->pending, line)) {
        fprintf(stderr, "dlrepl: not enough memory; the block was dropped\n");
        drop_block(s);
        return true;
    }
    s->unfinished = eval_interactive(L, s->pending.text, s->pending.length, NULL) ==
                    EVAL_INCOMPLETE;
    if (!s->unfinished)
        drop_block(s);
    return true;
}

/* Takes each line of what was read: a paste brings several at once. */
static bool take_lines(lua_State *L, session *s, char *lines)
{
    char *next;
    for (char *line = lines; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (!take_line(L, s, line))
            return false;
    }
    return true;
}

void loop_run(lua_State *L)
{
    session s = {{NULL, 0, 0}, false};
    bool going = true;

    input_open(L, isatty(STDIN_FILENO));
    while (going) {
        char *line;
        input_status status = input_read(s.unfinished ? REPL_CONTINUE_PROMPT : REPL_PROMPT,
                                         &line);
        if (status == INPUT_LINE) {
            going = take_lines(L, &s, line);
            free(line);
        } else if (status == INPUT_EOF && !s.unfinished) {
            going = false;
        } else {
            drop_block(&s);
        }
    }
    free(s.pending.text);
}
