/*
 * gnuplot.c -- the gnuplot process behind dl.plot: plain C, no Lua (the
 * binding is bindings/lgnuplot.c).
 *
 * One gnuplot runs per dl_gnuplot, started on first use with three pipes
 * (commands in; output and errors back), in its own process group so that
 * a Ctrl-C at the terminal reaches dlrepl only. Each batch of commands is
 * followed by a sync token printed once to stdout and once to stderr; what
 * arrives before the token on each stream is the batch's answer, so
 * gnuplot's error messages are matched to the call that caused them.
 * Reads and writes never block: one poll() loop feeds the batch and
 * drains both streams (a big batch and a big answer cannot deadlock).
 * The wait ends on Ctrl-C (dl_interrupted(), checked every slice) or
 * after a timeout; either stops the process, which may be stuck in a long
 * command, so no late answer can be mistaken for the next one's. A
 * gnuplot that died between calls is started again, and the batch
 * re-sent, on the next call. A write to a dead gnuplot fails with EPIPE
 * (SIGPIPE is blocked around it only: the program's own output keeps the
 * default, so a pipe reader that went away still ends the program).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dl.h"
#include "gnuplot.h"

#define PATH_ENV "DLREPL_GNUPLOT"
#define SYNC_MARK "DLREPL_SYNC_"
#define SLICE_MS 50             /* how often a wait looks at Ctrl-C */
#define STOP_WAIT_MS 1000       /* how long stop() lets gnuplot exit on its own */

extern char **environ;

typedef struct dl_gnuplot {
    pid_t pid;                  /* 0 when no process runs */
    int in, out, err;           /* our ends of its stdin, stdout, stderr, or -1 */
    unsigned long token;        /* number of the last sync token sent */
} process;

/* A growing byte buffer, and the scan state of one output stream. */
typedef struct {
    int fd;
    char *data;
    size_t len, cap;
    size_t scan_from;           /* the token cannot start before this */
    bool synced, eof;
} stream;

typedef enum { RUN_OK, RUN_DIED, RUN_TIMEOUT, RUN_INTERRUPTED, RUN_FAILED } run_status;

/* ---- finding and starting gnuplot ----------------------------------------- */

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Writes the gnuplot to run into `path`: $DLREPL_GNUPLOT (a path, or a
 * name looked up on PATH) or "gnuplot" on PATH. False when none is found. */
static bool find_gnuplot(char *path, size_t size)
{
    const char *name = getenv(PATH_ENV);
    const char *dirs = getenv("PATH");
    if (name == NULL || *name == '\0')
        name = "gnuplot";
    if (strchr(name, '/') != NULL)
        return snprintf(path, size, "%s", name) < (int)size && is_executable(path);
    if (dirs == NULL)
        dirs = "/usr/bin:/bin";
    while (*dirs != '\0') {
        size_t n = strcspn(dirs, ":");
        if (snprintf(path, size, "%.*s/%s", (int)n, n == 0 ? "." : dirs, name) < (int)size
            && is_executable(path))
            return true;
        dirs += n + (dirs[n] == ':');
    }
    return false;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Forgets the process after it has been reaped (or must be abandoned). */
static void forget(process *p)
{
    close_fd(&p->in);
    close_fd(&p->out);
    close_fd(&p->err);
    p->pid = 0;
}

/* True when the process has ended; it is then reaped (its wait status
 * written; one reaped by someone else counts as killed) but its pipes
 * stay open, so what it wrote last can be read. */
static bool ended(process *p, int *wstatus)
{
    pid_t r;
    if (p->pid == 0 || (r = waitpid(p->pid, wstatus, WNOHANG)) == 0)
        return false;
    if (r < 0)
        *wstatus = SIGKILL;     /* as the wait status of a process killed by it */
    p->pid = 0;
    return true;
}

/* True while the process runs; forgets one that has ended. */
static bool alive(process *p, int *wstatus)
{
    if (p->pid != 0 && !ended(p, wstatus))
        return true;
    forget(p);
    return false;
}

/* Ends the process: closing its stdin lets gnuplot exit by itself (a
 * window opened with `persist` stays on screen); one that does not
 * within STOP_WAIT_MS is killed. */
static void stop(process *p)
{
    int wstatus;
    if (p->pid == 0)
        return;
    close_fd(&p->in);
    for (int waited = 0; waited < STOP_WAIT_MS; waited += 10) {
        if (waitpid(p->pid, &wstatus, WNOHANG) != 0) {
            forget(p);
            return;
        }
        usleep(10000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &wstatus, 0);
    forget(p);
}

/* Kills a process that no longer answers. */
static void kill_now(process *p)
{
    int wstatus;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &wstatus, 0);
    forget(p);
}

/* Runs `path` with the given fds as its stdin, stdout and stderr, in a
 * new process group, with default signal handling and none blocked.
 * Returns 0 or an errno value (exec failures included). */
static int spawn_gnuplot(process *p, const char *path, int child_in, int child_out,
                         int child_err)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    char *argv[] = {(char *)path, NULL};
    int rc;

    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);      /* the host may ignore it; gnuplot does not */
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGQUIT);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, child_in, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, child_out, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, child_err, STDERR_FILENO);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                             POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    rc = posix_spawn(&p->pid, path, &actions, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        p->pid = 0;
    return rc;
}

static void close_pipes(int fds[3][2])
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            close_fd(&fds[i][j]);
}

/* Starts gnuplot at `path`. On failure writes a message and returns false. */
static bool start(process *p, const char *path, char *msg, size_t size)
{
    int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};    /* its stdin, stdout, stderr */
    for (int i = 0; i < 3; i++) {
        if (pipe2(fds[i], O_CLOEXEC) != 0) {
            snprintf(msg, size, "cannot create pipes for gnuplot: %s", strerror(errno));
            close_pipes(fds);
            return false;
        }
    }
    int rc = spawn_gnuplot(p, path, fds[0][0], fds[1][1], fds[2][1]);
    if (rc != 0) {
        snprintf(msg, size, "cannot start %s: %s", path, strerror(rc));
        close_pipes(fds);
        return false;
    }
    p->in = fds[0][1];
    p->out = fds[1][0];
    p->err = fds[2][0];
    fds[0][1] = fds[1][0] = fds[2][0] = -1;
    close_pipes(fds);           /* the child's ends */
    fcntl(p->in, F_SETFL, O_NONBLOCK);
    fcntl(p->out, F_SETFL, O_NONBLOCK);
    fcntl(p->err, F_SETFL, O_NONBLOCK);
    return true;
}

/* ---- one batch ------------------------------------------------------------ */

/* write() to gnuplot's stdin. A gnuplot that just died makes it fail with
 * EPIPE, never kill the session: SIGPIPE is blocked in this thread for
 * the write, and the one it raised is taken back before unblocking. The
 * program's own output keeps the default SIGPIPE (`dlrepl ... | head`
 * ends when head does). */
static ssize_t write_to_gnuplot(int fd, const char *bytes, size_t n)
{
    sigset_t pipe_signal, old, pending;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, &old);
    bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    ssize_t w = write(fd, bytes, n);
    int error = errno;
    if (w < 0 && error == EPIPE && !was_pending) {
        struct timespec now = {0, 0};
        while (sigtimedwait(&pipe_signal, NULL, &now) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = error;
    return w;
}

/* Appends n bytes to what the stream received; false when out of memory. */
static bool append(stream *s, const char *bytes, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *data = realloc(s->data, cap);
        if (data == NULL)
            return false;
        s->data = data;
        s->cap = cap;
    }
    memcpy(s->data + s->len, bytes, n);
    s->len += n;
    s->data[s->len] = '\0';
    return true;
}

/* Looks for the sync token "DLREPL_SYNC_<token>\n" in what the stream
 * has received; it ends the answer and is cut off. */
static void scan_token(stream *s, unsigned long token)
{
    char mark[64];
    int n = snprintf(mark, sizeof mark, SYNC_MARK "%lu\n", token);
    if (s->len == 0)
        return;
    char *found = memmem(s->data + s->scan_from, s->len - s->scan_from, mark, (size_t)n);
    if (found == NULL) {
        s->scan_from = s->len > (size_t)n ? s->len - (size_t)n : 0;
        return;
    }
    s->len = (size_t)(found - s->data);
    s->data[s->len] = '\0';
    s->synced = true;
}

/* Reads what the stream has; false on a memory failure. */
static bool drain(stream *s, unsigned long token)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(s->fd, chunk, sizeof chunk);
        if (n > 0) {
            if (!append(s, chunk, (size_t)n))
                return false;
            continue;
        }
        if (n == 0)
            s->eof = true;
        else if (errno == EINTR)
            continue;
        else if (errno != EAGAIN)
            s->eof = true;
        break;
    }
    scan_token(s, token);
    return true;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sends `batch` (which ends with the sync commands of p->token) and
 * collects both streams up to the token. Only a Ctrl-C pressed during the
 * wait ends it: code that already handled one (fit stopping after its
 * batch) can still draw. */
static run_status exchange(process *p, const char *batch, size_t len, double timeout,
                           stream *s, int *wstatus)
{
    size_t sent = 0;
    double deadline = now_seconds() + timeout;
    bool interrupted_before = dl_interrupted();
    s[0].fd = p->out;
    s[1].fd = p->err;
    while (!(s[0].synced && s[1].synced)) {
        struct pollfd fds[3];
        int n = 0;
        for (int i = 0; i < 2; i++)
            if (!s[i].synced && !s[i].eof)
                fds[n++] = (struct pollfd){.fd = s[i].fd, .events = POLLIN};
        if (sent < len)
            fds[n++] = (struct pollfd){.fd = p->in, .events = POLLOUT};
        if (poll(fds, (nfds_t)n, SLICE_MS) < 0 && errno != EINTR)
            return RUN_FAILED;
        if (sent < len) {
            ssize_t w = write_to_gnuplot(p->in, batch + sent, len - sent);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                sent = len;     /* EPIPE: it died; the reads will tell */
        }
        for (int i = 0; i < 2; i++)
            if (!s[i].synced && !s[i].eof && !drain(&s[i], p->token))
                return RUN_FAILED;
        if (s[0].synced && s[1].synced)
            break;
        if ((s[0].eof || s[1].eof || sent == len) && ended(p, wstatus)) {
            for (int i = 0; i < 2; i++)
                if (!s[i].eof && !drain(&s[i], p->token))
                    return RUN_FAILED;
            forget(p);
            return RUN_DIED;
        }
        if (!interrupted_before && dl_interrupted()) {
            kill_now(p);        /* it may be busy for long; a new one starts fast */
            return RUN_INTERRUPTED;
        }
        if (now_seconds() > deadline) {
            kill_now(p);
            return RUN_TIMEOUT;
        }
    }
    return RUN_OK;
}

/* Describes how gnuplot ended. */
static void describe_exit(int wstatus, char *msg, size_t size)
{
    if (WIFSIGNALED(wstatus))
        snprintf(msg, size, "gnuplot was stopped by signal %d (%s)", WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
    else
        snprintf(msg, size, "gnuplot exited with status %d",
                 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
}

/* ---- the public functions ------------------------------------------------- */

bool dl_gnuplot_find(char *path, size_t size)
{
    return find_gnuplot(path, size);
}

dl_gnuplot *dl_gnuplot_new(void)
{
    process *p = malloc(sizeof *p);
    if (p != NULL)
        *p = (process){.pid = 0, .in = -1, .out = -1, .err = -1, .token = 0};
    return p;
}

void dl_gnuplot_free(dl_gnuplot *p)
{
    if (p == NULL)
        return;
    stop(p);
    free(p);
}

void dl_gnuplot_stop(dl_gnuplot *p)
{
    stop(p);
}

long dl_gnuplot_pid(dl_gnuplot *p)
{
    int wstatus;
    return alive(p, &wstatus) ? (long)p->pid : 0;
}

/* The batch to send: `init` when gnuplot is fresh, the commands, then the
 * sync commands of token `token`; malloc'd, its length in *len. */
static char *make_batch(const char *batch, size_t batch_len, const char *init,
                        size_t init_len, bool fresh, unsigned long token, size_t *len)
{
    char sync[160];
    int sync_len = snprintf(sync, sizeof sync, "\nset print \"-\"\nprint \"" SYNC_MARK
                            "%lu\"\nset print\nprint \"" SYNC_MARK "%lu\"\n", token, token);
    if (!fresh)
        init_len = 0;
    char *text = malloc(init_len + 1 + batch_len + (size_t)sync_len + 1);
    if (text == NULL)
        return NULL;
    memcpy(text, init, init_len);
    text[init_len] = '\n';
    memcpy(text + init_len + 1, batch, batch_len);
    memcpy(text + init_len + 1 + batch_len, sync, (size_t)sync_len + 1);
    *len = init_len + 1 + batch_len + (size_t)sync_len;
    return text;
}

/* Sets a->message (malloc'd) to describe a failed run. */
static void describe_failure(dl_gnuplot_answer *a, run_status status, int wstatus,
                             const stream *err, double timeout, int error)
{
    char msg[128];
    int n = -1;
    switch (status) {
    case RUN_DIED:
        describe_exit(wstatus, msg, sizeof msg);
        n = asprintf(&a->message, "%s while running the commands%s%s", msg,
                     err->len ? ":\n" : "", err->len ? err->data : "");
        break;
    case RUN_TIMEOUT:
        n = asprintf(&a->message, "gnuplot did not answer within %.1f s and was stopped "
                     "(the next plot starts a new one)", timeout);
        break;
    case RUN_INTERRUPTED:
        n = asprintf(&a->message, "interrupted");
        break;
    default:
        n = asprintf(&a->message, "talking to gnuplot failed: %s", strerror(error));
        break;
    }
    if (n < 0)
        a->message = NULL;
}

bool dl_gnuplot_run(dl_gnuplot *p, const char *batch, size_t batch_len, const char *init,
                    size_t init_len, double timeout, dl_gnuplot_answer *a)
{
    char path[PATH_MAX], msg[PATH_MAX + 128];
    run_status status = RUN_FAILED;
    stream s[2] = {{0}, {0}};
    int wstatus = 0, error = 0;

    *a = (dl_gnuplot_answer){0};
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!alive(p, &wstatus)) {
            if (!find_gnuplot(path, sizeof path)) {
                a->message = strdup("gnuplot is not installed");
                return false;
            }
            if (!start(p, path, msg, sizeof msg)) {
                a->message = strdup(msg);
                return false;
            }
            a->fresh = true;
        }
        free(s[0].data);
        free(s[1].data);
        memset(s, 0, sizeof s);
        p->token++;
        size_t len;
        char *text = make_batch(batch, batch_len, init, init_len, a->fresh, p->token, &len);
        if (text == NULL) {
            error = ENOMEM;
            status = RUN_FAILED;
            break;
        }
        status = exchange(p, text, len, timeout, s, &wstatus);
        error = errno;
        free(text);
        if (status == RUN_DIED && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
            status = RUN_OK;
        if (status != RUN_DIED)
            break;
    }
    if (status == RUN_FAILED) {
        if (p->pid != 0)
            kill_now(p);
        forget(p);
    }
    if (status == RUN_OK) {
        a->out = s[0].data ? s[0].data : strdup("");
        a->err = s[1].data ? s[1].data : strdup("");
        a->out_len = s[0].len;
        a->err_len = s[1].len;
        return a->out != NULL && a->err != NULL;
    }
    describe_failure(a, status, wstatus, &s[1], timeout, error);
    free(s[0].data);
    free(s[1].data);
    return false;
}

void dl_gnuplot_answer_free(dl_gnuplot_answer *a)
{
    free(a->out);
    free(a->err);
    free(a->message);
    *a = (dl_gnuplot_answer){0};
}
