/*
 * multiversion.h -- hot loops compiled for several processor generations.
 *
 * The portable build (make PORTABLE=1, used by `make deb`) targets any
 * x86-64 from 2009 on (x86-64-v2: SSE4.2). A function marked DL_MULTIVERSION
 * is compiled three times there -- for that baseline, for AVX2 + FMA
 * (x86-64-v3) and for AVX-512 (x86-64-v4) -- and the dynamic loader binds
 * the best version the processor has, once (GCC's function multi-versioning:
 * an ifunc resolver). Loops inlined into it, and its OpenMP regions, are
 * compiled with it. The normal build (-march=native) has one version and the
 * mark does nothing.
 *
 * Mark the kernels whose loops dominate a training step; a mark costs code
 * size only.
 */
#ifndef DL_MULTIVERSION_H
#define DL_MULTIVERSION_H

#if defined(DL_PORTABLE) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DL_MULTIVERSION \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DL_MULTIVERSION
#endif

#endif
