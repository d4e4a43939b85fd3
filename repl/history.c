/*
 * history.c -- the history file, ~/.dlrepl_history ($DLREPL_HISTORY wins).
 *
 * Each line is appended to the file as it is entered, so a session that
 * ends badly loses nothing and parallel sessions interleave rather than
 * overwrite each other; the file is then cut to its last HISTORY_MAX lines.
 *
 * A multi-line entry (a block, a paste) is one entry, recalled whole; in
 * the file its line breaks are written as ENTRY_BREAK, so that each entry
 * stays one line of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>

#include "repl.h"

#define ENTRY_BREAK '\x1f'   /* ASCII unit separator */

static char *path;          /* NULL until history_open: nothing is recorded */
static bool warned;

static char *default_path(void)
{
    const char *home = getenv("HOME");
    char *result;
    if (home == NULL || *home == '\0') {
        struct passwd *user = getpwuid(getuid());
        if (user == NULL)
            return NULL;
        home = user->pw_dir;
    }
    if (asprintf(&result, "%s/.dlrepl_history", home) < 0)
        return NULL;
    return result;
}

void history_open(void)
{
    const char *chosen = getenv("DLREPL_HISTORY");
    path = chosen != NULL && *chosen != '\0' ? strdup(chosen) : default_path();
    using_history();
    stifle_history(HISTORY_MAX);
    if (path != NULL && read_history(path) == 0) {
        HIST_ENTRY **entries = history_list();
        for (int i = 0; entries != NULL && entries[i] != NULL; i++)
            for (char *c = entries[i]->line; *c; c++)
                if (*c == ENTRY_BREAK)
                    *c = '\n';
    }
}

/* Appends `line` to the history file as one line. */
static int append_entry(const char *line)
{
    int error = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    FILE *file = fd < 0 ? NULL : fdopen(fd, "a");
    if (file == NULL) {
        error = errno;
        if (fd >= 0)
            close(fd);
        return error;
    }
    for (const char *c = line; *c; c++)
        if (putc(*c == '\n' ? ENTRY_BREAK : *c, file) == EOF)
            error = errno;
    if (putc('\n', file) == EOF)
        error = errno;
    if (fclose(file) != 0 && error == 0)
        error = errno;
    return error;
}

static bool is_blank(const char *line)
{
    return line[strspn(line, " \t\r\n")] == '\0';
}

static void warn_once(int error)
{
    if (warned)
        return;
    warned = true;
    fprintf(stderr, "dlrepl: cannot write history to %s: %s\n", path, strerror(error));
}

void history_record(const char *line)
{
    HIST_ENTRY *last;
    int error;

    if (path == NULL || is_blank(line))
        return;
    last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last != NULL && strcmp(last->line, line) == 0)
        return;
    add_history(line);
    error = append_entry(line);
    if (error == 0)
        error = history_truncate_file(path, HISTORY_MAX);
    if (error != 0)
        warn_once(error);
}

void history_print(int n)
{
    HIST_ENTRY **entries = history_list();
    int first = history_length > n ? history_length - n : 0;
    if (entries == NULL)
        return;
    for (int i = first; i < history_length; i++)
        printf("%5d  %s\n", history_base + i, entries[i]->line);   /* blocks as typed */
    fflush(stdout);
}
