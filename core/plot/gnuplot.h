/* gnuplot.h -- the gnuplot process behind dl.plot (gnuplot.c): started on
 * first use, fed batches of commands, its answers matched to them. */
#ifndef DL_GNUPLOT_H
#define DL_GNUPLOT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dl_gnuplot dl_gnuplot;

/* What gnuplot wrote to stdout and stderr in answer to a batch (malloc'd,
 * NUL-terminated), whether it was started for it, or why the run failed. */
typedef struct {
    char *out, *err;
    size_t out_len, err_len;
    bool fresh;
    char *message;          /* set when the run failed (may be NULL: no memory) */
} dl_gnuplot_answer;

/* Writes the gnuplot that would run into path: $DLREPL_GNUPLOT (a path, or
 * a name looked up on PATH) or "gnuplot" on PATH. False when none is found. */
bool dl_gnuplot_find(char *path, size_t size);

/* A handle with no process yet (NULL when out of memory); freeing it stops
 * the process. */
dl_gnuplot *dl_gnuplot_new(void);
void dl_gnuplot_free(dl_gnuplot *g);

/* Ends the running gnuplot, if any: closing its stdin lets it exit (a
 * window opened with `persist` stays), one that does not within a second
 * is killed. */
void dl_gnuplot_stop(dl_gnuplot *g);

/* The process id of the running gnuplot, or 0. */
long dl_gnuplot_pid(dl_gnuplot *g);

/* Sends the commands batch[0..batch_len) (NUL bytes and all), after init
 * when gnuplot has to be started for it, and collects what it writes
 * until the batch's sync token. A gnuplot that died is started again and
 * the batch re-sent once; one that ran `exit` is not. False (with
 * a->message) when gnuplot is not found or cannot be started, dies twice,
 * does not answer within `timeout` seconds (it is then stopped), or on a
 * Ctrl-C pressed during the wait. Free the answer with
 * dl_gnuplot_answer_free in every case. */
bool dl_gnuplot_run(dl_gnuplot *g, const char *batch, size_t batch_len, const char *init,
                    size_t init_len, double timeout, dl_gnuplot_answer *a);
void dl_gnuplot_answer_free(dl_gnuplot_answer *a);

#endif
