/*
 * postings.h: set operations on postings lists, the sorted arrays of series
 * ids the tag index hands out. Private to engine/ (and its tests); the query
 * planner reaches them through the engine API.
 *
 * A postings list is strictly increasing (sorted, no duplicates). Every
 * function here requires that of its inputs and guarantees it of its output;
 * cts_postings_valid checks it. Counts are elements, not bytes.
 *
 * Each operation merges when the inputs have similar sizes and gallops
 * (exponential then binary search in the longer list, copying whole runs)
 * when one is at least 16 times shorter, so `small AND huge` costs
 * O(small * log(huge)) rather than O(huge).
 *
 * All functions are pure and reentrant.
 */
#ifndef CTS_POSTINGS_H
#define CTS_POSTINGS_H

#include "cts_storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when a[0..n) is strictly increasing (an empty list is valid). */
bool cts_postings_valid(const uint32_t *a, size_t n);

/*
 * a AND b into out, which must hold min(na, nb) elements; returns the count.
 * out may be a itself (in place), but must not overlap b otherwise.
 */
size_t cts_postings_intersect(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                              uint32_t *out);

/* a OR b into out, which must hold na + nb elements and overlap neither
 * input; returns the count. */
size_t cts_postings_union(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                          uint32_t *out);

/*
 * a AND NOT b (what `!=` and `!~` select) into out, which must hold na
 * elements; returns the count. out may be a itself, but must not overlap b.
 */
size_t cts_postings_difference(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                               uint32_t *out);

/*
 * The same three operations into a new cts_malloc'ed array: *out (NULL when
 * *count is 0) is the caller's, freed with cts_free. Errors: CTS_ENOMEM
 * (*out NULL, *count 0).
 */
CTS_MUST_USE int cts_postings_intersect_alloc(const uint32_t *a, size_t na, const uint32_t *b,
                                              size_t nb, uint32_t **out, size_t *count);
CTS_MUST_USE int cts_postings_union_alloc(const uint32_t *a, size_t na, const uint32_t *b,
                                          size_t nb, uint32_t **out, size_t *count);
CTS_MUST_USE int cts_postings_difference_alloc(const uint32_t *a, size_t na, const uint32_t *b,
                                               size_t nb, uint32_t **out, size_t *count);

#endif
