/*
 * bench_core.c -- throughput of the C core, measured against raw OpenBLAS.
 *
 *   bench_core THREADS
 *
 * Prints one "key value" line per figure, read by scripts/bench:
 *   matmul_dl_gflops, matmul_blas_gflops   1024x1024 x 1024x1024, float32
 *   add_gbps      dl_binary(ADD) on 1M floats (12 bytes moved per element)
 *   exp_gelems    dl_unary(EXP) on 1M floats
 *   sum_gbps      dl_reduce(SUM) over 1M floats (4 bytes read per element)
 *   mlp_sgemm_epoch_s   the 8 cblas_sgemm calls of one training step of the
 *                 bench's 784-256-128-10 MLP (batch 64: forward, weight and
 *                 input gradients), times the 938 steps of an epoch: the floor
 *                 under any MLP epoch that uses this BLAS
 * Every figure is the median over REPS timed calls after WARMUP untimed ones.
 * dl_matmul and cblas_sgemm alternate in one loop, so both see the same
 * machine state. Exits non-zero, with the core's message, on any error.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl.h"

enum { WARMUP = 3, REPS = 21, MATMUL_N = 1024, ELEMS = 1 << 20 };

/* Stops the benchmark when a core call failed. */
static void check(dl_status status, const char *what)
{
    if (status != DL_OK) {
        fprintf(stderr, "bench_core: %s: %s\n", what, dl_error());
        exit(1);
    }
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n timings (sorts them in place). */
static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, compare_doubles);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Seconds taken by one dl_matmul of a and b, result freed. */
static double time_dl_matmul(const dl_tensor *a, const dl_tensor *b)
{
    dl_tensor *c = NULL;
    double start = dl_clock();
    check(dl_matmul(a, b, &c), "dl_matmul");
    double elapsed = dl_clock() - start;
    dl_release(c);
    return elapsed;
}

/* Seconds taken by one cblas_sgemm c = a b on n x n row-major matrices. */
static double time_sgemm(const float *a, const float *b, float *c, int n)
{
    double start = dl_clock();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n,
                1.0f, a, n, b, n, 0.0f, c, n);
    return dl_clock() - start;
}

/* Prints the median GFLOP/s of dl_matmul and of cblas_sgemm on n x n. */
static void bench_matmul(int n)
{
    int64_t shape[2] = {n, n};
    dl_tensor *a = NULL, *b = NULL;
    check(dl_randn(2, shape, &a), "dl_randn");
    check(dl_randn(2, shape, &b), "dl_randn");
    float *c = malloc(sizeof(float) * (size_t)n * (size_t)n);
    if (!c) {
        fprintf(stderr, "bench_core: out of memory\n");
        exit(1);
    }
    double t_dl[REPS], t_blas[REPS];
    for (int i = 0; i < WARMUP; i++) {
        time_dl_matmul(a, b);
        time_sgemm(dl_data(a), dl_data(b), c, n);
    }
    for (int i = 0; i < REPS; i++) {
        t_dl[i] = time_dl_matmul(a, b);
        t_blas[i] = time_sgemm(dl_data(a), dl_data(b), c, n);
    }
    double flops = 2.0 * n * n * n;
    printf("matmul_dl_gflops %.2f\n", flops / median(t_dl, REPS) * 1e-9);
    printf("matmul_blas_gflops %.2f\n", flops / median(t_blas, REPS) * 1e-9);
    free(c);
    dl_release(a);
    dl_release(b);
}

/* Median seconds of dl_binary(ADD, a, b) when `binary`, else of
 * dl_unary(EXP, a); the output is freed each time, as a user's loop would. */
static double time_pointwise(int binary, const dl_tensor *a, const dl_tensor *b)
{
    double t[REPS];
    for (int i = -WARMUP; i < REPS; i++) {
        dl_tensor *out = NULL;
        double start = dl_clock();
        if (binary)
            check(dl_binary(DL_ADD, a, b, &out), "dl_binary add");
        else
            check(dl_unary(DL_EXP, a, &out), "dl_unary exp");
        double elapsed = dl_clock() - start;
        dl_release(out);
        if (i >= 0)
            t[i] = elapsed;
    }
    return median(t, REPS);
}

/* Median seconds of a whole-tensor dl_reduce(SUM). */
static double time_sum(const dl_tensor *a)
{
    double t[REPS];
    for (int i = -WARMUP; i < REPS; i++) {
        dl_tensor *out = NULL;
        double start = dl_clock();
        check(dl_reduce(DL_SUM, a, -1, false, 1, &out), "dl_reduce sum");
        double elapsed = dl_clock() - start;
        dl_release(out);
        if (i >= 0)
            t[i] = elapsed;
    }
    return median(t, REPS);
}

/* Prints add, exp and sum throughput on 1-D tensors of n floats. */
static void bench_elementwise(int64_t n)
{
    dl_tensor *a = NULL, *b = NULL;
    check(dl_randn(1, &n, &a), "dl_randn");
    check(dl_randn(1, &n, &b), "dl_randn");
    double bytes = (double)n * sizeof(float);
    printf("add_gbps %.2f\n", 3.0 * bytes / time_pointwise(1, a, b) * 1e-9);
    printf("exp_gelems %.3f\n", (double)n / time_pointwise(0, a, NULL) * 1e-9);
    printf("sum_gbps %.2f\n", bytes / time_sum(a) * 1e-9);
    dl_release(a);
    dl_release(b);
}

/* Seconds for the sgemm calls of one MLP step: y = x W^T per layer, then
 * dW = g^T x per layer and dx = g W for all but the first layer. */
static double time_mlp_sgemm(float *const *buf)
{
    enum { B = 64 };
    static const int width[4] = {784, 256, 128, 10};
    double start = dl_clock();
    for (int l = 0; l < 3; l++)     /* buf: x0 x1 x2 x3, W1 W2 W3, dW1 dW2 dW3 */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, width[l + 1], width[l], 1.0f,
                    buf[l], width[l], buf[4 + l], width[l], 0.0f, buf[l + 1], width[l + 1]);
    for (int l = 2; l >= 0; l--) {  /* gradients reuse the activations' buffers */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, width[l + 1], width[l], B, 1.0f,
                    buf[l + 1], width[l + 1], buf[l], width[l], 1.0f, buf[7 + l], width[l]);
        if (l > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, width[l], width[l + 1],
                        1.0f, buf[l + 1], width[l + 1], buf[4 + l], width[l], 0.0f, buf[l],
                        width[l]);
    }
    return dl_clock() - start;
}

static void bench_mlp_sgemm(void)
{
    enum { STEPS = 938, B = 64 };
    static const int64_t size[10] = {B * 784, B * 256, B * 128, B * 10, 256 * 784, 128 * 256,
                                     10 * 128, 256 * 784, 128 * 256, 10 * 128};
    float *buf[10];
    for (int i = 0; i < 10; i++) {
        buf[i] = aligned_alloc(64, (size_t)((size[i] * 4 + 63) / 64 * 64));
        if (!buf[i]) {
            fprintf(stderr, "bench_core: out of memory\n");
            exit(1);
        }
        for (int64_t j = 0; j < size[i]; j++)
            buf[i][j] = (float)((j * 7919 % 2001) - 1000) * 1e-4f;
    }
    double t[REPS];
    for (int r = 0; r < WARMUP + REPS; r++) {
        double total = 0;
        for (int s = 0; s < 100; s++)
            total += time_mlp_sgemm(buf);
        if (r >= WARMUP)
            t[r - WARMUP] = total / 100;
    }
    printf("mlp_sgemm_epoch_s %.4f\n", median(t, REPS) * STEPS);
    for (int i = 0; i < 10; i++)
        free(buf[i]);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    if (threads > 0)
        dl_set_threads(threads);
    dl_manual_seed(1);
    printf("threads %d\n", dl_get_threads());
    printf("blas %s\n", dl_blas_info());
    bench_matmul(MATMUL_N);
    bench_elementwise(ELEMS);
    bench_mlp_sgemm();
    return 0;
}
