/*
 * repl.h -- the parts of the dlrepl program and how they meet.
 *
 *   main.c      options, the Lua state, scripts, exit codes (as lua.c)
 *   loop.c      the interactive loop: lines -> blocks -> commands or Lua
 *   input.c     reading a line: GNU Readline's callback interface at a
 *               terminal, plain stdio otherwise
 *   eval.c      compiling and running code, reporting errors
 *   show.c      turning results into text
 *   signals.c   Ctrl-C at the prompt and while Lua code runs
 *   history.c   ~/.dlrepl_history
 *   complete.c  Tab completion of globals, fields and methods
 *   commands.c  lines that start with ':'
 */
#ifndef DLREPL_H
#define DLREPL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

#define REPL_PROMPT "dlrepl> "
#define REPL_CONTINUE_PROMPT "...> "

/* True when `s` has the form of a Lua name (a letter or '_', then
 * letters, digits or '_'); keywords pass too. */
static inline bool repl_is_name(const char *s)
{
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return false;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* ---- main.c ------------------------------------------------------------ */

/* Writes the one-line banner (versions, BLAS, threads) to stdout. */
void repl_print_banner(void);

/* ---- loop.c ------------------------------------------------------------ */

/* Reads and runs lines until :quit or end of input. Prompts and line
 * editing when stdin is a terminal. */
void loop_run(lua_State *L);

/* Runs the file line by line as if typed at the prompt, printing each
 * line after its prompt before its output (a transcript, --echo). False
 * when the file cannot be read. */
bool loop_echo_file(lua_State *L, const char *path);

/* ---- input.c ----------------------------------------------------------- */

typedef enum {
    INPUT_LINE,        /* *line holds a malloc'd line without its newline */
    INPUT_EOF,         /* Ctrl-D on an empty line, or the input ended */
    INPUT_INTERRUPTED  /* Ctrl-C: the half-typed line was dropped */
} input_status;

/* Prepares line editing (completion, history) when stdin is a terminal;
 * `interactive` false means plain stdio without prompts. */
void input_open(lua_State *L, bool interactive);

/* Shows `prompt` and reads one line. */
input_status input_read(const char *prompt, char **line);

/* ---- eval.c ------------------------------------------------------------ */

typedef enum {
    EVAL_OK,
    EVAL_ERROR,      /* the message was printed to stderr */
    EVAL_INCOMPLETE  /* the code ends too early: more lines are needed */
} eval_status;

/* Compiles `code` as "return <code>" when that is valid, else as a
 * statement, runs it and prints its results (nothing for a single nil) or
 * its error. Incomplete code is neither run nor reported. When `seconds`
 * is not NULL it receives the running time. */
eval_status eval_interactive(lua_State *L, const char *code, size_t len, double *seconds);

/* lua_pcall for user code: clears a pending dl interrupt, lets Ctrl-C stop
 * the code, and on error leaves a string message on the stack (with a
 * traceback when `traceback`). Returns the lua_pcall status. */
int eval_call(lua_State *L, int nargs, int nresults, bool traceback);

/* Pushes field `field` of the Lua module `module` (loaded by require)
 * when it is a function; false, with nothing pushed, otherwise. */
bool eval_push_helper(lua_State *L, const char *module, const char *field);

/* Prints the message on top of the stack to stderr, prefixed with
 * "`progname`: " unless progname is NULL, and pops it. */
void eval_report(lua_State *L, const char *progname);

/* ---- show.c ------------------------------------------------------------ */

/* Prints the `n` values on top of the stack as dl.show.line gives them
 * (tab-separated on one line; tables, histories and parameter lists by
 * their printers) and pops them. Errors raised by a __tostring are
 * reported, not propagated. */
void show_values(lua_State *L, int n);

/* ---- signals.c --------------------------------------------------------- */

/* Creates the self-pipe, installs the prompt's SIGINT handler and the
 * SIGWINCH and SIGCONT handlers. Call once, before reading at a terminal. */
void signals_open(void);

/* Read end of the pipe the prompt's handlers write to (-1 before
 * signals_open). */
int signals_prompt_fd(void);

enum { SIGNALS_INTERRUPT = 1, SIGNALS_RESIZE = 2, SIGNALS_CONTINUE = 4 };

/* Empties the pipe; returns the SIGNALS_* bits of what arrived. */
int signals_drain(void);

/* From now until signals_restore, Ctrl-C stops the Lua code running in L
 * (an "interrupted!" error at its next instruction) and the core's loops
 * (dl_request_interrupt); after three presses the code has ignored, Ctrl-C
 * gets default handling, so code stuck in C can still be killed. `saved`
 * receives the previous handler. */
void signals_running(lua_State *L, struct sigaction *saved);

/* True when Ctrl-C was pressed since the last signals_running. */
bool signals_interrupted(void);

/* Reinstates the handler saved by signals_running and removes an
 * interrupt hook that fired too late to stop anything. */
void signals_restore(lua_State *L, const struct sigaction *saved);

/* ---- history.c --------------------------------------------------------- */

/* Loads the history file ($DLREPL_HISTORY, else ~/.dlrepl_history). */
void history_open(void);

/* Adds a line to the history and appends it to the file, which is kept to
 * the last HISTORY_MAX lines. Blank lines and repeats of the previous line
 * are not recorded. */
void history_record(const char *line);

/* Prints the last `n` history lines, numbered. */
void history_print(int n);

#define HISTORY_MAX 1000

/* ---- complete.c -------------------------------------------------------- */

/* Makes Tab complete globals, `t.field`, `t:method` and :commands in L. */
void complete_install(lua_State *L);

/* ---- commands.c -------------------------------------------------------- */

typedef enum { COMMAND_CONTINUE, COMMAND_QUIT } command_status;

/* True when `line` is a command (':' then a letter; "::label::" is Lua). */
bool commands_is_command(const char *line);

/* Runs the command on `line`, reporting unknown ones. */
command_status commands_run(lua_State *L, const char *line);

/* Name (without ':') of command number i, or NULL past the last. */
const char *commands_name(int i);

#endif
