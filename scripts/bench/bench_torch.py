"""bench_torch.py -- the same work as bench_core.c and bench_lua.lua, in PyTorch.

    /usr/bin/python3 scripts/bench/bench_torch.py THREADS

Prints one "key value" line per figure, read by scripts/bench:
    threads, version
    small_add_us       a + b on two 16-float tensors, microseconds per op
                       (a Python loop; the empty loop's time is subtracted)
    matmul_gflops      1024x1024 @ 1024x1024, float32
    add_gbps           a + b on 1M floats (12 bytes moved per element)
    exp_gelems         exp on 1M floats
    sum_gbps           sum of 1M floats (4 bytes read per element)
Every figure is the median over REPS timed runs after WARMUP untimed ones.
"""
import statistics
import sys
import time

import torch

WARMUP, REPS = 3, 21
SMALL_ITERS = 100_000          # ops per timed run of the small-op loop
SMALL_REPS = 7


def median_seconds(fn, reps=REPS, warmup=WARMUP):
    """Median wall-clock seconds of fn() over reps calls, after warmup calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def small_add_us():
    """Microseconds per `a + b` on 16 floats, empty-loop time subtracted."""
    a, b = torch.randn(16), torch.randn(16)

    def ops():
        for _ in range(SMALL_ITERS):
            c = a + b
        return c

    def empty():
        for _ in range(SMALL_ITERS):
            c = a
        return c

    per_op = median_seconds(ops, SMALL_REPS, 1) - median_seconds(empty, SMALL_REPS, 1)
    return per_op / SMALL_ITERS * 1e6


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    print("threads", torch.get_num_threads())
    print("version", torch.__version__)

    print("small_add_us %.4f" % small_add_us())

    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    print("matmul_gflops %.2f" % (2.0 * n ** 3 / median_seconds(lambda: a @ b) * 1e-9))

    elems = 1 << 20
    x, y = torch.randn(elems), torch.randn(elems)
    nbytes = elems * 4
    print("add_gbps %.2f" % (3 * nbytes / median_seconds(lambda: x + y) * 1e-9))
    print("exp_gelems %.3f" % (elems / median_seconds(lambda: torch.exp(x)) * 1e-9))
    print("sum_gbps %.2f" % (nbytes / median_seconds(lambda: torch.sum(x)) * 1e-9))


if __name__ == "__main__":
    main()
