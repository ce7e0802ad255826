/*
 * cts_test.h: what every cmocka test program includes: cmocka itself (with
 * the headers it needs first) and a small deterministic PRNG so property
 * tests are reproducible from their seed.
 */
#ifndef CTS_TEST_H
#define CTS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* splitmix64: tiny, fast, good enough to drive property tests. */
typedef struct cts_rng {
    uint64_t s;
} cts_rng;

static inline uint64_t cts_rng_next(cts_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t cts_rng_below(cts_rng *r, uint64_t n)
{
    return cts_rng_next(r) % n;
}

/* Uniform double in [0, 1). */
static inline double cts_rng_unit(cts_rng *r)
{
    return (double)(cts_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
