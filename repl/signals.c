/*
 * signals.c -- Ctrl-C at the prompt and while Lua code runs.
 *
 * At the prompt, SIGINT, SIGWINCH and SIGCONT (back from Ctrl-Z, with
 * the terminal as the shell left it) handlers only write a byte to a
 * self-pipe that the input loop watches next to the terminal, so the line
 * editor is never touched from a handler and no signal can slip in
 * between a check and a wait.
 *
 * While code runs, SIGINT does what lua.c does: the handler sets a count
 * hook that raises "interrupted!" at the next Lua instruction, and asks
 * the core's loops to stop (dl_request_interrupt). Both are
 * async-signal-safe. lua.c gives the second Ctrl-C default handling at
 * once; here a second press is still only a request (code may rightly
 * take a moment to stop), and only the third
 * unanswered one warns and restores the default, so that code stuck in C
 * can still be killed from the keyboard. Code that defers interrupts
 * (dl_defer_interrupts: fit finishing its batch) gets the first press as a
 * note it polls for; the next ones interrupt as above.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "dl.h"
#include "lbox.h"
#include "repl.h"

#define PRESSES_BEFORE_DEFAULT 3

static int pipe_fds[2] = {-1, -1};
static lua_State *volatile running_state;
static volatile sig_atomic_t presses;   /* Ctrl-C while this code runs */

static void send_byte(char byte)
{
    int saved_errno = errno;
    ssize_t written = write(pipe_fds[1], &byte, 1);
    (void)written;  /* a full pipe already holds the news */
    errno = saved_errno;
}

static void on_prompt_interrupt(int sig)
{
    send_byte('i');
}

static void on_resize(int sig)
{
    send_byte('r');
}

static void on_continue(int sig)
{
    send_byte('c');
}

/* Raises "interrupted!" at the user's line (not at a line of dl's own
 * modules, nor without one when the hook runs inside a C function). */
static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
    lua_sethook(L, NULL, 0, 0);
    ldl_where(L);
    lua_pushliteral(L, "interrupted!");
    lua_concat(L, 2);
    lua_error(L);
}

static void on_running_interrupt(int sig)
{
    static const char warning[] =
        "\ndlrepl: the code does not stop; one more Ctrl-C ends dlrepl\n";
    if (!dl_request_interrupt())
        return;     /* deferred: the code (fit) stops at its next safe point */
    lua_sethook(running_state, interrupt_hook,
                LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    if (++presses >= PRESSES_BEFORE_DEFAULT) {
        ssize_t written = write(STDERR_FILENO, warning, sizeof warning - 1);
        (void)written;
        signal(SIGINT, SIG_DFL);
    }
}

static void set_handler(int sig, void (*handler)(int), int flags)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_handler = handler;
    action.sa_flags = flags;
    sigaction(sig, &action, NULL);
}

void signals_open(void)
{
    if (pipe_fds[0] >= 0)
        return;
    if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        pipe_fds[0] = pipe_fds[1] = -1;
        return;
    }
    set_handler(SIGINT, on_prompt_interrupt, 0);
    set_handler(SIGWINCH, on_resize, SA_RESTART);
    set_handler(SIGCONT, on_continue, SA_RESTART);
}

int signals_prompt_fd(void)
{
    return pipe_fds[0];
}

int signals_drain(void)
{
    int events = 0;
    char bytes[64];
    ssize_t n;
    if (pipe_fds[0] < 0)
        return 0;
    while ((n = read(pipe_fds[0], bytes, sizeof bytes)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            events |= bytes[i] == 'i' ? SIGNALS_INTERRUPT
                      : bytes[i] == 'c' ? SIGNALS_CONTINUE : SIGNALS_RESIZE;
    }
    return events;
}

void signals_running(lua_State *L, struct sigaction *saved)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_handler = on_running_interrupt;
    running_state = L;
    presses = 0;
    sigaction(SIGINT, &action, saved);
}

bool signals_interrupted(void)
{
    return presses > 0;
}

void signals_restore(lua_State *L, const struct sigaction *saved)
{
    sigaction(SIGINT, saved, NULL);
    if (lua_gethook(L) == interrupt_hook)
        lua_sethook(L, NULL, 0, 0);
}
