/*
 * mpi_backend.h -- the collective operations of dl.dist, as a table of
 * plain C functions with no MPI and no Lua types in it.
 *
 * MPI is optional: the prompt and dl.so do not link libmpi. The functions
 * live in a separate shared object, $(BUILD)/dl_mpi.so, built only where
 * mpi.h is found. bindings/ldist.c loads it with dlopen when a script runs
 * under mpirun, and finds this table through the one exported symbol
 * dl_mpi_backend_get (see DL_MPI_BACKEND_SYMBOL).
 *
 * Every function works on MPI_COMM_WORLD with float32 data. Counts are
 * element counts (size_t); buffers larger than MPI's int counts are sent
 * in chunks. A failing call returns -1 and writes MPI's message into err
 * (always terminated); 0 is success. A collective that has not completed
 * after the time limit (set_timeout) stops every rank with MPI_Abort: the
 * ranks do not wait for ever for one that hangs.
 */
#ifndef DL_MPI_BACKEND_H
#define DL_MPI_BACKEND_H

#include <stddef.h>

#define DL_MPI_BACKEND_SYMBOL "dl_mpi_backend_get"
#define DL_MPI_BACKEND_ABI 2

typedef enum { DL_MPI_SUM, DL_MPI_MAX } dl_mpi_op;

typedef struct dl_mpi_backend {
    int abi;   /* DL_MPI_BACKEND_ABI of the object that made the table */

    /* Initialises MPI (once; later calls do nothing) and arranges for the
     * process's exit: a zero exit status finalises MPI, any other one
     * prints the rank and calls MPI_Abort, so the other ranks stop
     * instead of waiting in a collective. */
    int (*init)(char *err, size_t errlen);

    /* Seconds a collective may wait for the other ranks (> 0). */
    void (*set_timeout)(double seconds);

    int (*rank)(void);         /* 0-based rank in MPI_COMM_WORLD */
    int (*size)(void);         /* number of ranks */

    int (*barrier)(char *err, size_t errlen);

    /* data[0..n) of every rank combined by op; every rank gets the result. */
    int (*all_reduce)(float *data, size_t n, dl_mpi_op op, char *err, size_t errlen);

    /* data[0..n) of rank `root` copied into data of every other rank. */
    int (*broadcast)(float *data, size_t n, int root, char *err, size_t errlen);

    /* out[r*n .. (r+1)*n) = send[0..n) of rank r, on every rank. */
    int (*all_gather)(const float *send, float *out, size_t n, char *err, size_t errlen);

    /* Prints message (with the rank) to stderr and stops every rank. */
    void (*abort)(int code, const char *message);
} dl_mpi_backend;

/* The table of this object (the exported symbol). */
const dl_mpi_backend *dl_mpi_backend_get(void);

#endif
