/*
 * machine.c -- interruption, threads, BLAS identity, clock.
 */
#include <cblas.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "dl.h"

static volatile sig_atomic_t interrupt_requested;
static volatile sig_atomic_t deferral_depth;    /* dl_defer_interrupts(true) minus (false) */
static volatile sig_atomic_t deferred_request;  /* a request noted while deferring */

bool dl_request_interrupt(void)
{
    if (deferral_depth > 0 && !deferred_request) {
        deferred_request = 1;
        return false;
    }
    interrupt_requested = 1;
    return true;
}

void dl_clear_interrupt(void)
{
    interrupt_requested = 0;
    deferred_request = 0;
}

void dl_defer_interrupts(bool on)
{
    deferral_depth += on ? 1 : -1;
    if (deferral_depth <= 0) {
        deferral_depth = 0;
        deferred_request = 0;
    }
}

bool dl_take_deferred_interrupt(void)
{
    bool noted = deferred_request != 0;
    deferred_request = 0;
    return noted;
}

bool dl_interrupted(void)
{
    return interrupt_requested != 0;
}

void dl_set_threads(int n)
{
    if (n < 1)
        n = 1;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int dl_get_threads(void)
{
    return omp_get_max_threads();
}

int dl_max_threads(void)
{
    static int most;
    if (most == 0) {            /* asked once: what a request for 4096 gives */
        int now = dl_get_threads();
        dl_set_threads(4096);
        most = dl_get_threads();
        dl_set_threads(now);
    }
    return most;
}

const char *dl_blas_info(void)
{
    static char info[160];
    static const char *const modes[] = {"sequential", "pthreads", "OpenMP"};
    int version_end = 0;
    const char *config = openblas_get_config();   /* "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." */
    sscanf(config, "%*s %*s%n", &version_end);
    int mode = openblas_get_parallel();
    snprintf(info, sizeof info, "%.*s (%s, %s)", version_end, config,
             openblas_get_corename(), mode >= 0 && mode <= 2 ? modes[mode] : "unknown");
    return info;
}

const char *dl_kernel_set(void)
{
#if defined(DL_PORTABLE) && defined(__x86_64__)
    /* The same test as the resolvers of DL_MULTIVERSION functions. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4"))
        return "x86-64-v4 (AVX-512)";
    if (__builtin_cpu_supports("x86-64-v3"))
        return "x86-64-v3 (AVX2)";
    return "x86-64-v2";
#else
    return "native";
#endif
}

double dl_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
