/*
 * column.h: the in-memory column store of the engine (private to engine/).
 *
 * A column is one field of one series: (timestamp, value) pairs of one
 * cts_type. Three objects live here:
 *
 *   cts_head   the column's unsealed points, mutable, owned by the column.
 *              Writes go here (after the WAL); slices of it are sealed into
 *              blocks and then removed.
 *   cts_run    an immutable-by-convention, self-contained array of points:
 *              a reader's snapshot of a head slice, or a decoded block. It
 *              owns one allocation holding timestamps, values and string
 *              bytes, so it outlives whatever it was copied from.
 *   cts_merge  a snapshot cursor over a column's sources (sealed blocks plus
 *              at most one head run) for a time range: ascending time,
 *              duplicates resolved newest-wins, blocks loaded lazily, and
 *              whole isolated blocks offered as their statistics alone.
 *
 * Invariants (every function keeps them; tests check them against models):
 *   - A head and a run are sorted by timestamp, strictly increasing: one
 *     point per timestamp. A put with an existing timestamp replaces the
 *     value (last write wins, as in InfluxDB).
 *   - Every cts_str of a head points into the head's own string pages (or a
 *     static "" when empty), of a run into the run's arena; never into
 *     caller memory and never NULL, so consumers may memcpy any of them.
 *   - Bool values are 0 or 1.
 *   - A head's cts_str pointers stay valid until the next mutating call on
 *     the head (put, remove); a run's until cts_run_fini.
 *
 * Threads: none of these objects locks. The caller serialises every call
 * on one head (the engine's column writer lock); a reader copies what it
 * needs into a cts_run while holding that lock and then uses the copy
 * alone. A merge belongs to the thread that uses it. Distinct objects may
 * be used from distinct threads freely.
 *
 * Allocation goes through cts_malloc and friends only, so tests can fail the
 * Nth allocation; every function that allocates reports CTS_ENOMEM and
 * leaves its object as it was.
 */
#ifndef CTS_COLUMN_H
#define CTS_COLUMN_H

#include "cts_engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One value of any type; the member matching the column's type is used. */
typedef union cts_value {
    double f;
    int64_t i;
    uint64_t u;
    uint8_t b;
    cts_str s;
} cts_value;

/* Typed views of a value array; `raw` is for type-agnostic moves. */
typedef union cts_values {
    double *f;
    int64_t *i;
    uint64_t *u;
    uint8_t *b;
    cts_str *s;
    unsigned char *raw;
} cts_values;

/* Bytes one value of `type` takes in a value array: 8 for numbers, 1 for
 * bool, sizeof(cts_str) for strings, 0 for an invalid type. */
size_t cts_value_size(cts_type type);

/* Index of the first of ts[0..n) that is >= key (n if none); ts sorted. */
uint32_t cts_ts_lower_bound(const int64_t *ts, uint32_t n, int64_t key);

/* ------------------------------------------------------------------------
 * Run: a self-contained, sorted, unique array of points of one type.
 *
 * States: EMPTY (after init or fini: no memory, count 0, cap 0) and
 * RESERVED (one allocation for cap points and str_cap string bytes, of
 * which count points are filled). Fields are public for reading; only the
 * filler of a freshly reserved run (a block loader) writes ts[], the values,
 * str_arena and then count.
 * ------------------------------------------------------------------------ */
typedef struct cts_run {
    cts_type type;
    uint32_t count;  /* points filled */
    uint32_t cap;    /* points reserved */
    int64_t *ts;     /* strictly increasing over [0, count) */
    cts_values v;    /* the member matching type */
    char *str_arena; /* backing bytes of string values */
    size_t str_cap;
} cts_run;

/* Make `r` an empty run of `type`. Never fails; no memory held. */
void cts_run_init(cts_run *r, cts_type type);

/* Free what `r` holds and make it empty again (same type). Idempotent. */
void cts_run_fini(cts_run *r);

/*
 * Drop r's contents and reserve room for `count` points and `str_bytes`
 * bytes of string values, in one allocation; count becomes 0.
 * Errors: CTS_EINVAL (invalid type), CTS_ENOMEM (r is then empty).
 */
CTS_MUST_USE int cts_run_reserve(cts_run *r, uint32_t count, size_t str_bytes);

/* A decode target over r's reserved memory, for cts_block_decode. After a
 * successful decode the loader sets r->count to the points decoded. */
void cts_run_output(cts_run *r, cts_block_output *out);

/* An encode source over points [lo, hi) of r; requires lo <= hi <= count.
 * Borrows r's memory: valid while r is neither changed nor finalised. */
void cts_run_input(const cts_run *r, uint32_t lo, uint32_t hi, cts_block_input *in);

/*
 * Replace dst's contents with a copy of src's points [lo, hi) (strings
 * included), requiring lo <= hi <= src->count and dst != src; dst takes
 * src's type.
 * Errors: CTS_ENOMEM (dst is then empty).
 */
CTS_MUST_USE int cts_run_copy(const cts_run *src, uint32_t lo, uint32_t hi, cts_run *dst);

/* Index of the first point with timestamp >= ts (count if none). */
uint32_t cts_run_lower_bound(const cts_run *r, int64_t ts);

/*
 * Check what a loader produced: count <= cap, timestamps strictly
 * increasing, bools 0/1, strings inside the run's arena. Returns 0 or
 * CTS_ECORRUPT. O(count).
 */
CTS_MUST_USE int cts_run_validate(const cts_run *r);

/* ------------------------------------------------------------------------
 * Head: the unsealed points of one column.
 *
 * Arrays grow by doubling; in-order puts (the common case) are O(1)
 * amortised, older ones are inserted by binary search and memmove. String
 * bytes live in append-only pages owned by the head (no allocation per
 * value); bytes of replaced or removed strings are reclaimed by compacting
 * the pages into one once garbage outweighs live data.
 * ------------------------------------------------------------------------ */
struct cts_strpage;

typedef struct cts_head {
    cts_type type;
    uint32_t elem_size; /* cts_value_size(type) */
    uint32_t count;
    uint32_t cap;
    uint32_t cap_hint; /* capacity before the head was last emptied */
    int64_t *ts;       /* strictly increasing over [0, count) */
    cts_values v;
    struct cts_strpage *pages; /* newest first */
    size_t str_live;           /* bytes referenced by current values */
    size_t str_used;           /* bytes handed out from pages, live or not */
    size_t str_held;           /* bytes allocated for pages */
} cts_head;

/* Make `h` an empty head of `type`. Errors: CTS_EINVAL (invalid type). */
CTS_MUST_USE int cts_head_init(cts_head *h, cts_type type);

/* Free everything `h` holds; it is then empty (and may be reused). */
void cts_head_fini(cts_head *h);

/*
 * Put (ts, *v): appended when ts is past the last point (O(1) amortised),
 * inserted in place when older, replacing the value when ts exists. String
 * bytes are copied. Errors: CTS_EINVAL (bool value other than 0/1),
 * CTS_ELIMIT (the head already holds UINT32_MAX points), CTS_ENOMEM. On error
 * the head is unchanged.
 */
CTS_MUST_USE int cts_head_put(cts_head *h, int64_t ts, const cts_value *v);

/* Number of points. */
static inline uint32_t cts_head_count(const cts_head *h)
{
    return h->count;
}

/* Heap memory the head holds (arrays at capacity and string pages), for
 * the memory budget. */
size_t cts_head_bytes(const cts_head *h);

/* Index of the first point with timestamp >= ts (count if none). */
uint32_t cts_head_lower_bound(const cts_head *h, int64_t ts);

/* An encode source over points [lo, hi), lo <= hi <= count, ready for
 * cts_block_encode. Borrows the head: valid until its next put or remove. */
void cts_head_input(const cts_head *h, uint32_t lo, uint32_t hi, cts_block_input *in);

/*
 * Remove points [lo, hi), lo <= hi <= count (after sealing a slice, or for
 * a delete). Never fails: memory is given back when it can be (arrays
 * shrink when mostly empty, string pages are compacted) and kept when the
 * allocator refuses.
 */
void cts_head_remove(cts_head *h, uint32_t lo, uint32_t hi);

/*
 * Replace out's contents with a self-contained copy of the points with
 * t0 <= ts < t1 (none when t0 >= t1); out takes the head's type. A
 * reader's snapshot: it stays valid whatever happens to the head later.
 * Errors: CTS_ENOMEM (out is then empty).
 */
CTS_MUST_USE int cts_head_copy(const cts_head *h, int64_t t0, int64_t t1, cts_run *out);

/* ------------------------------------------------------------------------
 * Merge cursor: one column's snapshot over [t0, t1).
 *
 * Sources: sealed blocks (described without their points) and at most one
 * head run. Precedence for equal timestamps: the head run beats every
 * block; among blocks the larger seq wins (equal seqs: the later entry of
 * the blocks array wins). Output: chunks in ascending time order, each
 * point once, all inside [t0, t1).
 *
 * Blocks are loaded lazily: a block enters the merge when the output
 * reaches its min_ts and leaves it when exhausted (its run is freed at the
 * next call), so memory is bounded by the sources overlapping at one
 * instant (a cluster) plus one chunk buffer. A source wholly
 * outside [t0, t1) is never loaded. A block alone in its stretch of time
 * (a single active source) is emitted straight from its loaded run, without
 * copying.
 *
 * States: STREAMING --next()=0--> DONE; an error of next or load --> FAILED
 * (sticky: every later next/load returns that error; CTS_EINVAL for a
 * misplaced load is the exception and changes nothing). After next()
 * returns a stats-only chunk, load() may be called, once or more, until the
 * following next().
 * ------------------------------------------------------------------------ */

/* The most points in one chunk, except a loaded stats-only chunk (which
 * has its block's count). */
#define CTS_MERGE_CHUNK_POINTS 4096u
/* The most blocks one merge takes (a column's blocks in one query range). */
#define CTS_MERGE_MAX_BLOCKS (1u << 30)

/* A sealed block as the engine's block index describes it. */
typedef struct cts_srcblock {
    int64_t min_ts, max_ts; /* of its points; min_ts <= max_ts */
    uint32_t count;         /* points; 0 is skipped */
    uint64_t seq;           /* seal sequence: larger is newer */
    const cts_stats *stats; /* NULL: never offered as a stats-only chunk */
    void *handle;           /* opaque to the merge, for the loader */
} cts_srcblock;

/*
 * Loader: fill `out` (an empty run of the column's type) with the block's
 * points, e.g. cts_run_reserve + cts_block_decode into cts_run_output +
 * setting out->count. Returns 0 or a negative cts_err, which the merge
 * returns to its caller; out is finalised by the merge either way. The
 * merge rejects (CTS_ECORRUPT) a run that fails cts_run_validate or
 * disagrees with its descriptor (count, min_ts, max_ts, type). Called on
 * the merge's thread only.
 */
typedef int (*cts_load_fn)(void *ctx, const cts_srcblock *b, cts_run *out);

typedef struct cts_merge cts_merge;

/*
 * Create a merge over `n` blocks (descriptors copied; their stats pointers
 * are borrowed until destroy) and the head run `*head` (NULL or empty for
 * none; sorted and unique, as cts_head_copy makes it: trusted, not
 * re-validated) for t0 <= ts < t1
 * (t0 >= t1: nothing). The merge takes the head run's contents in every
 * case: *head is empty after the call. With want_stats, a block with stats
 * lying wholly inside [t0, t1) whose [min_ts, max_ts] overlaps no other
 * source's is returned as a stats-only chunk, not loaded.
 * Errors: CTS_EINVAL (invalid type, a block with min_ts > max_ts, a head
 * run of another type, n > 0 with a NULL load or blocks, n >
 * CTS_MERGE_MAX_BLOCKS), CTS_ENOMEM. On error *out is NULL.
 */
CTS_MUST_USE int cts_merge_create(cts_type type, const cts_srcblock *blocks, size_t n,
                                  cts_run *head, int64_t t0, int64_t t1, bool want_stats,
                                  cts_load_fn load, void *ctx, cts_merge **out);

/*
 * Next chunk: returns 1 and fills *c, 0 at the end, or an error (the
 * loader's, CTS_ECORRUPT for a bad loaded run, CTS_ENOMEM). A points chunk
 * has ts and v set, stats NULL. A stats-only chunk has stats and count set,
 * ts NULL. Arrays are borrowed until the next call on the merge; a stats
 * pointer is the one from the block's descriptor (valid until destroy).
 */
CTS_MUST_USE int cts_merge_next(cts_merge *m, cts_chunk *c);

/*
 * Load the points of the stats-only chunk last returned by next: returns 0
 * and fills *c with all of the block's points (stats still set).
 * Errors: CTS_EINVAL (the last chunk was not stats-only), the loader's,
 * CTS_ECORRUPT, CTS_ENOMEM. Borrowed like next's chunks.
 */
CTS_MUST_USE int cts_merge_load(cts_merge *m, cts_chunk *c);

/* The column type the merge was created with. */
cts_type cts_merge_type(const cts_merge *m);

/* Free the merge, its loaded runs and its head run. NULL is a no-op. */
void cts_merge_destroy(cts_merge *m);

#endif
