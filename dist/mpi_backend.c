/*
 * mpi_backend.c -- dl.dist's collectives on Open MPI (or any MPI), built
 * as $(BUILD)/dl_mpi.so and loaded at run time (see mpi_backend.h).
 */
#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mpi_backend.h"

/* Elements per MPI call: MPI counts are ints, and 64 MB a message keeps
 * one call from holding gigabytes of buffers inside the library. */
#define CHUNK ((size_t)1 << 24)

static int my_rank, world_size = 1;

/* ---- the watchdog: a time limit on collectives ------------------------------ *
 * A rank that hangs (an endless loop, a deadlock) would hold the others in
 * their next collective for ever. Each collective records when it started
 * and what it is; a thread wakes every second and, past the time limit,
 * prints the rank and what it waits in, and ends the process, which makes
 * mpirun stop every rank. The collectives stay the blocking ones (Open
 * MPI's non-blocking ones, tested in a loop instead, made the gradient
 * all-reduce of examples/fashion_mnist_ddp.lua twice as slow). */
static _Atomic double timeout_seconds = 1800;   /* PyTorch's default */
static _Atomic double waiting_since = 0;        /* 0: in no collective */
static const char *_Atomic waiting_in = "";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *watchdog(void *unused)
{
    (void)unused;
    for (;;) {
        struct timespec second = {1, 0};
        nanosleep(&second, NULL);
        double since = waiting_since, limit = timeout_seconds;
        if (since > 0 && now() - since > limit) {
            fprintf(stderr, "dl.dist: rank %d of %d waited %g s in %s for the other ranks (the "
                    "time limit of dl.dist.init{timeout = }); stopping every rank\n",
                    my_rank, world_size, limit, waiting_in);
            fflush(stderr);
            _exit(1);   /* no MPI call from this thread: mpirun sees the rank end */
        }
    }
    return NULL;
}

/* Marks the start (what != NULL) or the end (NULL) of a collective. */
static void watch(const char *what)
{
    if (what != NULL) {
        waiting_in = what;
        waiting_since = now();
    } else {
        waiting_since = 0;
    }
}

/* Writes MPI's text for `code` into err; returns -1. */
static int failure(int code, const char *what, char *err, size_t errlen)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", code);
    snprintf(err, errlen, "%s failed on rank %d: %s", what, my_rank, text);
    return -1;
}

/* on_exit handler: finalises MPI after a clean exit; after an error (the
 * interpreter has printed it) stops every rank, naming this one. */
static void at_exit(int status, void *unused)
{
    (void)unused;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized)
        return;
    if (status == 0) {
        MPI_Finalize();
        return;
    }
    fprintf(stderr, "dl.dist: rank %d of %d stopped with exit status %d (its error is above); "
            "stopping every rank\n", my_rank, world_size, status);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
}

static int init(char *err, size_t errlen)
{
    int initialized = 0, provided = 0, code;
    MPI_Initialized(&initialized);
    if (initialized)
        return 0;
    /* A rank waiting in a collective yields its core instead of polling
     * (Open MPI's default): on a shared or oversubscribed machine the
     * polling ranks starve the ones still computing (measured: an epoch
     * of examples/fashion_mnist_ddp.lua on 2 ranks, 12.1 s polling,
     * 3.5 s yielding). A value the user set is kept. */
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    /* OpenMP threads compute; only the main thread calls MPI. */
    code = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (code != MPI_SUCCESS)
        return failure(code, "MPI_Init_thread", err, errlen);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    on_exit(at_exit, NULL);
    pthread_t thread;
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    int started = pthread_create(&thread, &detached, watchdog, NULL);
    pthread_attr_destroy(&detached);
    if (started != 0) {
        snprintf(err, errlen, "cannot start the watchdog thread of the collectives");
        return -1;
    }
    return 0;
}

static void set_timeout(double seconds) { timeout_seconds = seconds; }
static int rank(void) { return my_rank; }
static int size(void) { return world_size; }

static int barrier(char *err, size_t errlen)
{
    watch("MPI_Barrier");
    int code = MPI_Barrier(MPI_COMM_WORLD);
    watch(NULL);
    return code == MPI_SUCCESS ? 0 : failure(code, "MPI_Barrier", err, errlen);
}

static int all_reduce(float *data, size_t n, dl_mpi_op op, char *err, size_t errlen)
{
    MPI_Op mpi_op = op == DL_MPI_MAX ? MPI_MAX : MPI_SUM;
    for (size_t at = 0; at < n; at += CHUNK) {
        int count = (int)(n - at < CHUNK ? n - at : CHUNK);
        watch("MPI_Allreduce");
        int code = MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, mpi_op,
                                 MPI_COMM_WORLD);
        watch(NULL);
        if (code != MPI_SUCCESS)
            return failure(code, "MPI_Allreduce", err, errlen);
    }
    return 0;
}

static int broadcast(float *data, size_t n, int root, char *err, size_t errlen)
{
    for (size_t at = 0; at < n; at += CHUNK) {
        int count = (int)(n - at < CHUNK ? n - at : CHUNK);
        watch("MPI_Bcast");
        int code = MPI_Bcast(data + at, count, MPI_FLOAT, root, MPI_COMM_WORLD);
        watch(NULL);
        if (code != MPI_SUCCESS)
            return failure(code, "MPI_Bcast", err, errlen);
    }
    return 0;
}

/* Chunk by chunk: piece k of every rank lands at r*n + k*CHUNK, so each
 * chunk is gathered into a contiguous scratch row per rank and placed. */
static int all_gather(const float *send, float *out, size_t n, char *err, size_t errlen)
{
    if (n <= CHUNK) {
        watch("MPI_Allgather");
        int code = MPI_Allgather(send, (int)n, MPI_FLOAT, out, (int)n, MPI_FLOAT, MPI_COMM_WORLD);
        watch(NULL);
        return code == MPI_SUCCESS ? 0 : failure(code, "MPI_Allgather", err, errlen);
    }
    float *scratch = malloc(CHUNK * (size_t)world_size * sizeof *scratch);
    if (scratch == NULL) {
        snprintf(err, errlen, "all_gather: out of memory for a %zu-element buffer",
                 CHUNK * (size_t)world_size);
        return -1;
    }
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t count = n - at < CHUNK ? n - at : CHUNK;
        watch("MPI_Allgather");
        int code = MPI_Allgather(send + at, (int)count, MPI_FLOAT, scratch, (int)count,
                                 MPI_FLOAT, MPI_COMM_WORLD);
        watch(NULL);
        if (code != MPI_SUCCESS) {
            free(scratch);
            return failure(code, "MPI_Allgather", err, errlen);
        }
        for (int r = 0; r < world_size; r++)
            for (size_t i = 0; i < count; i++)
                out[(size_t)r * n + at + i] = scratch[(size_t)r * count + i];
    }
    free(scratch);
    return 0;
}

static void stop_all(int code, const char *message)
{
    fprintf(stderr, "dl.dist: rank %d of %d: %s; stopping every rank\n", my_rank, world_size,
            message);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
}

static const dl_mpi_backend backend = {
    DL_MPI_BACKEND_ABI, init, set_timeout, rank, size, barrier, all_reduce, broadcast, all_gather, stop_all,
};

const dl_mpi_backend *dl_mpi_backend_get(void)
{
    return &backend;
}
