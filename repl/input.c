/*
 * input.c -- reading one line.
 *
 * At a terminal, GNU Readline's callback interface: a select() loop feeds
 * readline one character at a time and also watches the signal pipe, so
 * Ctrl-C can drop the half-typed line and return cleanly, with readline's
 * state and the terminal modes restored (the recipe Python's readline
 * module uses). The line handler removes itself, so nothing is drawn
 * while the line runs and the next prompt can differ ("dlrepl> " or
 * "...> "). Anywhere else, plain getline without prompts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <readline/readline.h>

#include "repl.h"

static bool at_terminal;
static bool line_done;
static char *done_line;

void input_open(lua_State *L, bool interactive)
{
    at_terminal = interactive;
    if (!at_terminal)
        return;
    rl_readline_name = "dlrepl";
    rl_instream = stdin;
    rl_outstream = stdout;
    rl_catch_signals = 0;       /* signals.c handles them; see above */
    rl_catch_sigwinch = 0;
    signals_open();
    history_open();
    complete_install(L);
}

static void on_line(char *line)
{
    rl_callback_handler_remove();
    done_line = line;
    line_done = true;
}

/* Ctrl-C: show "^C" after the text, forget the line, restore the terminal. */
static void abandon_line(void)
{
    rl_point = rl_end;
    rl_redisplay();
    rl_echo_signal_char(SIGINT);
    rl_free_line_state();
    rl_callback_sigcleanup();
    rl_cleanup_after_signal();
    rl_callback_handler_remove();
    fputc('\n', rl_outstream);
    fflush(rl_outstream);
}

/* Back from Ctrl-Z: the shell has put the terminal in its own modes. */
static void restore_terminal(void)
{
    rl_deprep_terminal();
    rl_prep_terminal(1);
    rl_forced_update_display();
}

static input_status read_terminal(const char *prompt, char **line)
{
    int in_fd = fileno(rl_instream);
    int signal_fd = signals_prompt_fd();
    int stale = signals_drain();  /* a Ctrl-C that came as code finished */

    fflush(stdout);
    line_done = false;
    rl_callback_handler_install(prompt, on_line);
    if (stale & SIGNALS_RESIZE)
        rl_resize_terminal();
    while (!line_done) {
        fd_set ready;
        FD_ZERO(&ready);
        FD_SET(in_fd, &ready);
        if (signal_fd >= 0)
            FD_SET(signal_fd, &ready);
        int last = in_fd > signal_fd ? in_fd : signal_fd;
        if (select(last + 1, &ready, NULL, NULL, NULL) < 0) {
            if (errno == EINTR)
                continue;
            rl_callback_handler_remove();
            return INPUT_EOF;
        }
        if (signal_fd >= 0 && FD_ISSET(signal_fd, &ready)) {
            int events = signals_drain();
            if (events & SIGNALS_RESIZE)
                rl_resize_terminal();
            if (events & SIGNALS_CONTINUE)
                restore_terminal();
            if (events & SIGNALS_INTERRUPT) {
                abandon_line();
                return INPUT_INTERRUPTED;
            }
        }
        if (FD_ISSET(in_fd, &ready))
            rl_callback_read_char();
    }
    if (done_line == NULL) {
        /* With bracketed paste on, readline has ended the line itself (and
         * would end the next one too, unless rl_eof_found is reset). */
        const char *paste = rl_variable_value("enable-bracketed-paste");
        if (paste == NULL || strcmp(paste, "on") != 0)
            fputc('\n', rl_outstream);
        fflush(rl_outstream);
        rl_eof_found = 0;
        return INPUT_EOF;
    }
    *line = done_line;
    return INPUT_LINE;
}

static input_status read_plain(char **line)
{
    char *text = NULL;
    size_t capacity = 0;
    ssize_t length = getline(&text, &capacity, stdin);
    if (length < 0) {
        free(text);
        return INPUT_EOF;
    }
    if (length > 0 && text[length - 1] == '\n')
        text[length - 1] = '\0';
    *line = text;
    return INPUT_LINE;
}

input_status input_read(const char *prompt, char **line)
{
    return at_terminal ? read_terminal(prompt, line) : read_plain(line);
}
