/*
 * random.c -- the core's one random generator.
 *
 * PCG32 (O'Neill 2014, "PCG-XSH-RR" with 64-bit state): small, fast, and
 * statistically sound; every random draw in the core (init, shuffles,
 * dropout) comes from here, so dl_manual_seed makes a run repeatable.
 * The seed is spread over the state with SplitMix64 so that nearby seeds
 * give unrelated streams.
 *
 * Normal draws use the Box-Muller transform on two uniforms; the second
 * value of each pair is kept for the next call (and dropped on reseeding).
 */
#include <math.h>

#include "dl.h"

#define PCG_MULTIPLIER 6364136223846793005ULL
#define PCG_INCREMENT 1442695040888963407ULL

static uint64_t state = 0x853c49e6748fea9bULL;
static bool has_spare_normal;
static float spare_normal;

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void dl_manual_seed(uint64_t seed)
{
    state = splitmix64(seed);
    has_spare_normal = false;
}

uint32_t dl_random_u32(void)
{
    uint64_t old = state;
    state = old * PCG_MULTIPLIER + PCG_INCREMENT;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

float dl_random_uniform(void)
{
    /* 24 random bits: every float in [0,1) on a 2^-24 grid, never 1. */
    return (float)(dl_random_u32() >> 8) * 0x1.0p-24f;
}

float dl_random_normal(void)
{
    if (has_spare_normal) {
        has_spare_normal = false;
        return spare_normal;
    }
    double u1 = ((double)(dl_random_u32() >> 8) + 1.0) * 0x1.0p-24;   /* (0,1] */
    double u2 = (double)(dl_random_u32() >> 8) * 0x1.0p-24;
    double radius = sqrt(-2.0 * log(u1));
    double angle = 2.0 * M_PI * u2;
    spare_normal = (float)(radius * sin(angle));
    has_spare_normal = true;
    return (float)(radius * cos(angle));
}
