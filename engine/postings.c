/*
 * postings.c: intersection, union and difference of postings lists (sorted,
 * duplicate-free arrays of series ids). See postings.h for the contract.
 *
 * Two regimes. Lists of similar length are merged in one pass. When one list
 * is at least SKEW times shorter, each of its elements is located in the
 * longer list by galloping (probe 1, 2, 4, ... ahead of the last position,
 * then binary search inside the bracket), and the runs skipped over are
 * copied with one memmove. The cursor into the longer list only moves
 * forward, so the cost is O(short * log(long / short)).
 *
 * Invariants the callers rely on: outputs are strictly increasing; an
 * intersection or difference writes out[k] only after reading a[k..], so out
 * may be a itself (runs use memmove for that reason).
 */
#include "postings.h"

#include <string.h>

/* A list this many times shorter than the other is galloped, not merged. */
#define SKEW 16u

bool cts_postings_valid(const uint32_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (a[i - 1] >= a[i])
            return false;
    return true;
}

/* First index i in [lo, n) with a[i] >= key, or n. */
static size_t gallop(const uint32_t *a, size_t lo, size_t n, uint32_t key)
{
    size_t hi = lo, step = 1;
    while (hi < n && a[hi] < key) {
        lo = hi + 1;
        hi += step;
        step <<= 1;
    }
    if (hi > n)
        hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* memmove that accepts NULL when n is 0 (empty inputs may be NULL). */
static void move_ids(uint32_t *dst, const uint32_t *src, size_t n)
{
    if (n)
        memmove(dst, src, n * sizeof *src);
}

static bool skewed(size_t small, size_t big)
{
    return small <= big / SKEW;
}

static size_t intersect_merge(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                              uint32_t *out)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        uint32_t x = a[i], y = b[j];
        /* Branch-free: k <= min(i, j), so out[k] is in bounds and, when out
         * is a, never overwrites an element not yet read. */
        out[k] = x;
        k += x == y;
        i += x <= y;
        j += y <= x;
    }
    return k;
}

/* `small` elements located in `big`; both orders keep out <= a safe. */
static size_t intersect_gallop(const uint32_t *small, size_t ns, const uint32_t *big, size_t nb,
                               uint32_t *out)
{
    size_t j = 0, k = 0;
    for (size_t i = 0; i < ns && j < nb; i++) {
        j = gallop(big, j, nb, small[i]);
        if (j < nb && big[j] == small[i])
            out[k++] = small[i];
    }
    return k;
}

size_t cts_postings_intersect(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                              uint32_t *out)
{
    if (na == 0 || nb == 0)
        return 0;
    if (skewed(na, nb))
        return intersect_gallop(a, na, b, nb, out);
    if (skewed(nb, na))
        return intersect_gallop(b, nb, a, na, out);
    return intersect_merge(a, na, b, nb, out);
}

static size_t union_merge(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        uint32_t x = a[i], y = b[j];
        out[k++] = x <= y ? x : y;
        i += x <= y;
        j += y <= x;
    }
    move_ids(out + k, a + i, na - i);
    k += na - i;
    move_ids(out + k, b + j, nb - j);
    return k + (nb - j);
}

static size_t union_gallop(const uint32_t *small, size_t ns, const uint32_t *big, size_t nb,
                           uint32_t *out)
{
    size_t i = 0, k = 0;
    for (size_t s = 0; s < ns; s++) {
        size_t p = gallop(big, i, nb, small[s]);
        move_ids(out + k, big + i, p - i);
        k += p - i;
        i = p;
        if (i < nb && big[i] == small[s])
            i++;
        out[k++] = small[s];
    }
    move_ids(out + k, big + i, nb - i);
    return k + (nb - i);
}

size_t cts_postings_union(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out)
{
    if (skewed(na, nb))
        return union_gallop(a, na, b, nb, out);
    if (skewed(nb, na))
        return union_gallop(b, nb, a, na, out);
    return union_merge(a, na, b, nb, out);
}

static size_t difference_merge(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                               uint32_t *out)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        uint32_t x = a[i], y = b[j];
        out[k] = x;
        k += x < y;
        i += x <= y;
        j += y <= x;
    }
    move_ids(out + k, a + i, na - i);
    return k + (na - i);
}

/* b much shorter: skip to each element of b in a, keeping the run before. */
static size_t difference_gallop_a(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                                  uint32_t *out)
{
    size_t i = 0, k = 0;
    for (size_t j = 0; j < nb && i < na; j++) {
        size_t p = gallop(a, i, na, b[j]);
        move_ids(out + k, a + i, p - i);
        k += p - i;
        i = p;
        if (i < na && a[i] == b[j])
            i++;
    }
    move_ids(out + k, a + i, na - i);
    return k + (na - i);
}

/* a much shorter: keep each element of a that b lacks. */
static size_t difference_gallop_b(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                                  uint32_t *out)
{
    size_t j = 0, k = 0;
    for (size_t i = 0; i < na; i++) {
        j = gallop(b, j, nb, a[i]);
        if (j == nb || b[j] != a[i])
            out[k++] = a[i];
    }
    return k;
}

size_t cts_postings_difference(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                               uint32_t *out)
{
    if (nb == 0) {
        move_ids(out, a, na);
        return na;
    }
    if (skewed(nb, na))
        return difference_gallop_a(a, na, b, nb, out);
    if (skewed(na, nb))
        return difference_gallop_b(a, na, b, nb, out);
    return difference_merge(a, na, b, nb, out);
}

typedef size_t (*postings_op)(const uint32_t *, size_t, const uint32_t *, size_t, uint32_t *);

/* Runs op into an array of `bound` elements, then trims it. */
static int run_alloc(postings_op op, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                     size_t bound, uint32_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (bound == 0)
        return CTS_OK;
    if (bound > SIZE_MAX / sizeof(uint32_t))
        return CTS_ENOMEM;
    uint32_t *buf = cts_malloc(bound * sizeof *buf);
    if (!buf)
        return CTS_ENOMEM;
    size_t n = op(a, na, b, nb, buf);
    if (n == 0) {
        cts_free(buf);
        return CTS_OK;
    }
    if (n < bound / 2) {
        /* A failed shrink keeps the larger buffer, which is still correct. */
        uint32_t *small = cts_realloc(buf, n * sizeof *buf);
        if (small)
            buf = small;
    }
    *out = buf;
    *count = n;
    return CTS_OK;
}

int cts_postings_intersect_alloc(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                                 uint32_t **out, size_t *count)
{
    return run_alloc(cts_postings_intersect, a, na, b, nb, na < nb ? na : nb, out, count);
}

int cts_postings_union_alloc(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                             uint32_t **out, size_t *count)
{
    if (na > SIZE_MAX - nb) {
        *out = NULL;
        *count = 0;
        return CTS_ENOMEM;
    }
    return run_alloc(cts_postings_union, a, na, b, nb, na + nb, out, count);
}

int cts_postings_difference_alloc(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                                  uint32_t **out, size_t *count)
{
    return run_alloc(cts_postings_difference, a, na, b, nb, na, out, count);
}
