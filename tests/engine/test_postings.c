/*
 * test_postings.c: postings set operations against brute-force set
 * arithmetic over random sorted arrays: empty inputs, equal sizes (merge),
 * skewed sizes on either side (galloping), dense and sparse universes, in
 * place outputs, and the allocating variants under allocation failure.
 */
#include "cts_test.h"

#include "postings.h"

#include <stdbool.h>

#define UNIVERSE_MAX 200000u

/* A random strictly increasing list of n ids below universe (n <= universe). */
static uint32_t *random_list(cts_rng *r, size_t n, uint32_t universe)
{
    uint32_t *a = malloc((n ? n : 1) * sizeof *a);
    assert_non_null(a);
    /* Selection sampling (Knuth's algorithm S): sorted by construction. */
    size_t k = 0;
    for (uint32_t v = 0; v < universe && k < n; v++)
        if (cts_rng_below(r, universe - v) < n - k)
            a[k++] = v;
    assert_int_equal(k, n);
    return a;
}

typedef enum { OP_AND, OP_OR, OP_ANDNOT } set_op;

/* Brute force through a membership table over the universe. */
static size_t naive(set_op op, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                    uint32_t universe, uint32_t *out)
{
    uint8_t *in = calloc(universe ? universe : 1, 1);
    assert_non_null(in);
    for (size_t i = 0; i < na; i++)
        in[a[i]] |= 1;
    for (size_t i = 0; i < nb; i++)
        in[b[i]] |= 2;
    size_t k = 0;
    for (uint32_t v = 0; v < universe; v++) {
        bool keep = op == OP_AND ? in[v] == 3 : op == OP_OR ? in[v] != 0 : in[v] == 1;
        if (keep)
            out[k++] = v;
    }
    free(in);
    return k;
}

static size_t run(set_op op, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                  uint32_t *out)
{
    switch (op) {
    case OP_AND:
        return cts_postings_intersect(a, na, b, nb, out);
    case OP_OR:
        return cts_postings_union(a, na, b, nb, out);
    default:
        return cts_postings_difference(a, na, b, nb, out);
    }
}

static int run_alloc(set_op op, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                     uint32_t **out, size_t *count)
{
    switch (op) {
    case OP_AND:
        return cts_postings_intersect_alloc(a, na, b, nb, out, count);
    case OP_OR:
        return cts_postings_union_alloc(a, na, b, nb, out, count);
    default:
        return cts_postings_difference_alloc(a, na, b, nb, out, count);
    }
}

/* One comparison of every form of `op` on (a, b) with the brute force. */
static void check_op(set_op op, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                     uint32_t universe)
{
    uint32_t *want = malloc((na + nb + 1) * sizeof *want);
    uint32_t *got = malloc((na + nb + 1) * sizeof *got);
    assert_non_null(want);
    assert_non_null(got);
    size_t nw = naive(op, a, na, b, nb, universe, want);
    size_t ng = run(op, a, na, b, nb, got);
    assert_int_equal(ng, nw);
    if (nw)
        assert_memory_equal(got, want, nw * sizeof *want);
    assert_true(cts_postings_valid(got, ng));

    uint32_t *heap = NULL;
    size_t nh = 99;
    assert_int_equal(run_alloc(op, a, na, b, nb, &heap, &nh), CTS_OK);
    assert_int_equal(nh, nw);
    assert_true(nh > 0 || heap == NULL);
    if (nh)
        assert_memory_equal(heap, want, nw * sizeof *want);
    cts_free(heap);

    if (op != OP_OR) {
        /* In place: the output overwrites a copy of a. */
        uint32_t *inplace = malloc((na + 1) * sizeof *inplace);
        assert_non_null(inplace);
        if (na)
            memcpy(inplace, a, na * sizeof *a);
        size_t ni = run(op, inplace, na, b, nb, inplace);
        assert_int_equal(ni, nw);
        if (ni)
            assert_memory_equal(inplace, want, nw * sizeof *want);
        free(inplace);
    }
    free(want);
    free(got);
}

static void check_pair(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                       uint32_t universe)
{
    for (int op = OP_AND; op <= OP_ANDNOT; op++) {
        check_op((set_op)op, a, na, b, nb, universe);
        check_op((set_op)op, b, nb, a, na, universe);
    }
}

static void test_empty_inputs(void **state)
{
    (void)state;
    uint32_t one[] = {7}, out[2];
    assert_int_equal(cts_postings_intersect(NULL, 0, NULL, 0, out), 0);
    assert_int_equal(cts_postings_union(NULL, 0, NULL, 0, out), 0);
    assert_int_equal(cts_postings_difference(NULL, 0, NULL, 0, out), 0);
    check_pair(one, 1, NULL, 0, 8);
    assert_true(cts_postings_valid(NULL, 0));
    uint32_t bad[] = {3, 3};
    assert_false(cts_postings_valid(bad, 2));
}

/* Random sizes from 0 to a few thousand in a small universe: merge regime,
 * heavy overlap, and every boundary of one list inside the other. */
static void test_random_similar_sizes(void **state)
{
    (void)state;
    cts_rng r = {0x5eed};
    for (int iter = 0; iter < 400; iter++) {
        uint32_t universe = 1 + (uint32_t)cts_rng_below(&r, 3000);
        size_t na = cts_rng_below(&r, universe + 1), nb = cts_rng_below(&r, universe + 1);
        uint32_t *a = random_list(&r, na, universe), *b = random_list(&r, nb, universe);
        check_pair(a, na, b, nb, universe);
        free(a);
        free(b);
    }
}

/* One list 16x to 10000x shorter than the other: the galloping regime. */
static void test_random_skewed_sizes(void **state)
{
    (void)state;
    cts_rng r = {0xfeed};
    for (int iter = 0; iter < 120; iter++) {
        uint32_t universe = 1000 + (uint32_t)cts_rng_below(&r, UNIVERSE_MAX - 1000);
        size_t nbig = universe / (1 + cts_rng_below(&r, 4));
        size_t nsmall = cts_rng_below(&r, nbig / 16 + 1);
        uint32_t *big = random_list(&r, nbig, universe);
        uint32_t *small = random_list(&r, nsmall, universe);
        if (iter % 4 == 0 && nsmall > 0) {
            /* Make every small element a member of big, and some runs
             * adjacent, so runs of matches and of copies both occur. */
            for (size_t i = 0; i < nsmall; i++)
                small[i] = big[(i * nbig) / nsmall];
        }
        check_pair(small, nsmall, big, nbig, universe);
        free(big);
        free(small);
    }
}

/* Extremes: ids near UINT32_MAX, disjoint ranges, identical lists. */
static void test_edges(void **state)
{
    (void)state;
    uint32_t hi[] = {UINT32_MAX - 3, UINT32_MAX - 2, UINT32_MAX - 1};
    uint32_t lo[] = {0, 1, 2};
    uint32_t out[6];
    assert_int_equal(cts_postings_intersect(hi, 3, lo, 3, out), 0);
    assert_int_equal(cts_postings_union(hi, 3, lo, 3, out), 6);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[5], UINT32_MAX - 1);
    assert_int_equal(cts_postings_difference(hi, 3, lo, 3, out), 3);
    assert_int_equal(cts_postings_difference(hi, 3, hi, 3, out), 0);
    assert_int_equal(cts_postings_intersect(hi, 3, hi, 3, out), 3);
    assert_memory_equal(out, hi, sizeof hi);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    uint32_t a[] = {1, 2, 3}, b[] = {2, 4};
    uint32_t *out = (uint32_t *)1;
    size_t n = 99;
    cts_alloc_fail_after(0);
    assert_int_equal(cts_postings_union_alloc(a, 3, b, 2, &out, &n), CTS_ENOMEM);
    assert_null(out);
    assert_int_equal(n, 0);
    assert_int_equal(cts_postings_intersect_alloc(a, 3, b, 2, &out, &n), CTS_ENOMEM);
    assert_int_equal(cts_postings_difference_alloc(a, 3, b, 2, &out, &n), CTS_ENOMEM);
    /* An empty result needs no memory, so it cannot fail. */
    assert_int_equal(cts_postings_intersect_alloc(a, 3, NULL, 0, &out, &n), CTS_OK);
    assert_null(out);
    cts_alloc_fail_after(-1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_inputs),        cmocka_unit_test(test_random_similar_sizes),
        cmocka_unit_test(test_random_skewed_sizes), cmocka_unit_test(test_edges),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
