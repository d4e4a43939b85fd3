/*
 * mpi_backend.c -- dl.dist's collectives on Open MPI (or any MPI), built
 * as $(BUILD)/dl_mpi.so and loaded at run time (see mpi_backend.h).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpi_backend.h"

/* Elements per MPI call: MPI counts are ints, and 64 MB a message keeps
 * one call from holding gigabytes of buffers inside the library. */
#define CHUNK ((size_t)1 << 24)

static int my_rank, world_size = 1;

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
    return 0;
}

static int rank(void) { return my_rank; }
static int size(void) { return world_size; }

static int barrier(char *err, size_t errlen)
{
    int code = MPI_Barrier(MPI_COMM_WORLD);
    return code == MPI_SUCCESS ? 0 : failure(code, "MPI_Barrier", err, errlen);
}

static int all_reduce(float *data, size_t n, dl_mpi_op op, char *err, size_t errlen)
{
    MPI_Op mpi_op = op == DL_MPI_MAX ? MPI_MAX : MPI_SUM;
    for (size_t at = 0; at < n; at += CHUNK) {
        int count = (int)(n - at < CHUNK ? n - at : CHUNK);
        int code = MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, mpi_op,
                                 MPI_COMM_WORLD);
        if (code != MPI_SUCCESS)
            return failure(code, "MPI_Allreduce", err, errlen);
    }
    return 0;
}

static int broadcast(float *data, size_t n, int root, char *err, size_t errlen)
{
    for (size_t at = 0; at < n; at += CHUNK) {
        int count = (int)(n - at < CHUNK ? n - at : CHUNK);
        int code = MPI_Bcast(data + at, count, MPI_FLOAT, root, MPI_COMM_WORLD);
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
        int code = MPI_Allgather(send, (int)n, MPI_FLOAT, out, (int)n, MPI_FLOAT, MPI_COMM_WORLD);
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
        int code = MPI_Allgather(send + at, (int)count, MPI_FLOAT, scratch, (int)count,
                                 MPI_FLOAT, MPI_COMM_WORLD);
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
    DL_MPI_BACKEND_ABI, init, rank, size, barrier, all_reduce, broadcast, all_gather, stop_all,
};

const dl_mpi_backend *dl_mpi_backend_get(void)
{
    return &backend;
}
