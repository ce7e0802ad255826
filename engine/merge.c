/*
 * merge.c: the snapshot merge cursor of one column (cts_merge, contract in
 * column.h): sealed blocks plus at most one head run, over [t0, t1), in
 * ascending time, newest write winning on equal timestamps.
 *
 * How it works. Sources that miss [t0, t1) are dropped at create; the rest
 * are sorted by min_ts into a pending list. A source *enters* the merge
 * (its block is loaded through the caller's loader, trimmed to [t0, t1) and
 * pushed on a min-heap) only when the output reaches its min_ts; it
 * *retires* when exhausted, and its run is freed at the start of the next
 * call (the chunk just returned may still borrow it). So at any time only
 * the sources overlapping the current instant hold memory: a cluster of
 * overlapping sources, without computing clusters up front.
 *
 * Per call the state machine is:
 *
 *   heap empty, nothing pending          -> 0 (end)
 *   heap empty, next pending isolated    -> stats-only chunk (want_stats)
 *   heap empty, otherwise                -> enter the next pending, loop
 *   one active source                    -> a zero-copy slice of its run, up
 *                                           to the next pending min_ts
 *   several active sources               -> k-way merge into the chunk
 *                                           buffer: point by point while
 *                                           sources alternate, a galloped
 *                                           stretch once one source leads
 *
 * Invariants:
 *   - every pending source has min_ts > the timestamp of every point
 *     emitted so far, so a point emitted at time T has met every source that
 *     could hold T; this is what makes newest-wins dedupe exact. Enforced by
 *     entering every pending source with min_ts <= the heap top before
 *     emitting the top, and by cutting single-source slices at the next
 *     pending min_ts.
 *   - heap order: (ts at pos) ascending, then newer first (head run, then
 *     larger seq, then later in the caller's array); so the top is the
 *     winner of its timestamp, and the losers are the entries that follow
 *     with the same timestamp.
 *   - a source is retired at most once; retired runs are freed exactly once,
 *     by the next call or by destroy.
 *   - a stats-eligible block has no other source overlapping it, so it can
 *     never be due while the heap is non-empty; it is met only with an empty
 *     heap, where it is offered as its stats.
 */
#include "column.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

typedef struct msrc {
    int64_t min_ts, max_ts;
    const cts_srcblock *blk; /* NULL: the head run */
    bool stats_ok;           /* offered as a stats-only chunk */
    bool loaded;             /* run holds the points */
    uint32_t pos, end;       /* unread points [pos, end) of run */
    cts_run run;
} msrc;

struct cts_merge {
    cts_type type;
    size_t elem;
    int64_t t0, t1;
    cts_load_fn load;
    void *ctx;
    int err;    /* sticky; 0 while streaming */
    msrc *srcs; /* sorted by min_ts */
    uint32_t nsrc;
    uint32_t next;  /* first pending source */
    uint32_t *heap; /* indexes of active sources */
    uint32_t nheap;
    uint32_t *retired; /* runs to free at the next call */
    uint32_t nretired;
    uint32_t stats_src;   /* source of the last stats-only chunk, or NONE */
    uint32_t last_top;    /* winner of the last merge step, or NONE */
    cts_srcblock *blocks; /* the caller's descriptors, copied */
    int64_t *out_ts;      /* chunk buffer, allocated on first k-way merge */
    cts_values out_v;
};

/* ------------------------------------------------------------------------
 * Sources and the heap.
 * ------------------------------------------------------------------------ */
static bool newer(const msrc *a, const msrc *b)
{
    if (!a->blk || !b->blk)
        return !a->blk;
    if (a->blk->seq != b->blk->seq)
        return a->blk->seq > b->blk->seq;
    return a->blk > b->blk;
}

static int64_t cur_ts(const cts_merge *m, uint32_t i)
{
    return m->srcs[i].run.ts[m->srcs[i].pos];
}

static bool before(const cts_merge *m, uint32_t a, uint32_t b)
{
    int64_t ta = cur_ts(m, a), tb = cur_ts(m, b);
    return ta < tb || (ta == tb && newer(&m->srcs[a], &m->srcs[b]));
}

static void sift_down(cts_merge *m, uint32_t i)
{
    uint32_t *h = m->heap, n = m->nheap;
    for (;;) {
        uint32_t l = 2 * i + 1, best = i;
        if (l < n && before(m, h[l], h[best]))
            best = l;
        if (l + 1 < n && before(m, h[l + 1], h[best]))
            best = l + 1;
        if (best == i)
            return;
        uint32_t t = h[i];
        h[i] = h[best];
        h[best] = t;
        i = best;
    }
}

static void heap_push(cts_merge *m, uint32_t src)
{
    uint32_t i = m->nheap++;
    m->heap[i] = src;
    while (i > 0 && before(m, m->heap[i], m->heap[(i - 1) / 2])) {
        uint32_t p = (i - 1) / 2, t = m->heap[i];
        m->heap[i] = m->heap[p];
        m->heap[p] = t;
        i = p;
    }
}

static void retire(cts_merge *m, uint32_t src)
{
    m->retired[m->nretired++] = src;
}

static void release_retired(cts_merge *m)
{
    for (uint32_t k = 0; k < m->nretired; k++) {
        msrc *s = &m->srcs[m->retired[k]];
        cts_run_fini(&s->run);
        s->loaded = false;
    }
    m->nretired = 0;
}

/* The top source has been consumed up to its new pos: re-heap or retire. */
static void top_moved(cts_merge *m)
{
    uint32_t top = m->heap[0];
    if (m->srcs[top].pos < m->srcs[top].end) {
        sift_down(m, 0);
        return;
    }
    m->heap[0] = m->heap[--m->nheap];
    sift_down(m, 0);
    retire(m, top);
}

/* Load a block and check the loader's run against its descriptor. */
static int load_src(cts_merge *m, msrc *s)
{
    cts_run_init(&s->run, m->type);
    int rc = m->load(m->ctx, s->blk, &s->run);
    if (rc >= 0) {
        const cts_run *r = &s->run;
        bool agrees = r->type == m->type && r->count == s->blk->count && r->count > 0 &&
                      r->ts[0] == s->min_ts && r->ts[r->count - 1] == s->max_ts;
        rc = agrees ? cts_run_validate(r) : CTS_ECORRUPT;
    }
    if (rc < 0) {
        cts_run_fini(&s->run);
        return rc;
    }
    s->loaded = true;
    return 0;
}

/* Source i enters the merge: loaded, trimmed to [t0, t1), pushed. */
static int enter(cts_merge *m, uint32_t i)
{
    msrc *s = &m->srcs[i];
    int rc = s->loaded ? 0 : load_src(m, s);
    if (rc < 0)
        return rc;
    s->pos = cts_run_lower_bound(&s->run, m->t0);
    s->end = cts_run_lower_bound(&s->run, m->t1);
    if (s->pos < s->end)
        heap_push(m, i);
    else
        retire(m, i);
    return 0;
}

/* Enter every pending source that may hold the heap top's timestamp. */
static int enter_due(cts_merge *m)
{
    while (m->nheap > 0 && m->next < m->nsrc && m->srcs[m->next].min_ts <= cur_ts(m, m->heap[0])) {
        int rc = enter(m, m->next++);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Emitting chunks.
 * ------------------------------------------------------------------------ */
static void chunk_points(const cts_merge *m, cts_chunk *c, const int64_t *ts,
                         const unsigned char *raw, uint32_t n)
{
    c->count = n;
    c->ts = ts;
    c->stats = NULL;
    switch (m->type) {
    case CTS_TYPE_FLOAT:
        c->v.f = (const double *)(const void *)raw;
        break;
    case CTS_TYPE_INT:
        c->v.i = (const int64_t *)(const void *)raw;
        break;
    case CTS_TYPE_UINT:
        c->v.u = (const uint64_t *)(const void *)raw;
        break;
    case CTS_TYPE_BOOL:
        c->v.b = raw;
        break;
    case CTS_TYPE_STRING:
        c->v.s = (const cts_str *)(const void *)raw;
        break;
    }
}

/* Index of the first of ts[lo..hi) that is >= key, given ts[lo] < key:
 * galloping from lo, so O(log distance), cheap when the answer is near. */
static uint32_t gallop(const int64_t *ts, uint32_t lo, uint32_t hi, int64_t key)
{
    uint64_t step = 1;
    uint32_t prev = lo;
    while (hi - lo > step && ts[lo + step] < key) {
        prev = (uint32_t)(lo + step);
        step *= 2;
    }
    uint32_t end = hi - lo > step ? (uint32_t)(lo + step) : hi;
    return prev + 1 + cts_ts_lower_bound(ts + prev + 1, end - prev - 1, key);
}

/* The first timestamp a rival of the top source may hold: the next point
 * of another active source (the root's children hold the second smallest)
 * or the next pending source's min_ts. False when there is no rival. */
static bool rival_bound(const cts_merge *m, int64_t *bound)
{
    bool bounded = false;
    for (uint32_t c = 1; c <= 2 && c < m->nheap; c++) {
        int64_t t = cur_ts(m, m->heap[c]);
        *bound = !bounded || t < *bound ? t : *bound;
        bounded = true;
    }
    if (m->next < m->nsrc && (!bounded || m->srcs[m->next].min_ts < *bound)) {
        *bound = m->srcs[m->next].min_ts;
        bounded = true;
    }
    return bounded;
}

/* The end of the top source's unrivalled stretch, at most `room` points:
 * its points before `bound` have no rival in any source, so they need no
 * dedupe. Requires its next point to be before bound. */
static uint32_t stretch_stop(const msrc *s, bool bounded, int64_t bound, uint32_t room)
{
    uint32_t stop = bounded ? gallop(s->run.ts, s->pos, s->end, bound) : s->end;
    return stop - s->pos > room ? s->pos + room : stop;
}

static int emit_direct(cts_merge *m, cts_chunk *c)
{
    msrc *s = &m->srcs[m->heap[0]];
    int64_t bound = 0;
    bool bounded = rival_bound(m, &bound);
    uint32_t stop = stretch_stop(s, bounded, bound, CTS_MERGE_CHUNK_POINTS);
    chunk_points(m, c, s->run.ts + s->pos, s->run.v.raw + (size_t)s->pos * m->elem, stop - s->pos);
    s->pos = stop;
    top_moved(m);
    return 1;
}

static int emit_stats(cts_merge *m, uint32_t i, cts_chunk *c)
{
    const cts_srcblock *b = m->srcs[i].blk;
    memset(c, 0, sizeof *c);
    c->count = b->count;
    c->stats = b->stats;
    m->stats_src = i;
    return 1;
}

static int ensure_outbuf(cts_merge *m)
{
    if (m->out_ts)
        return 0;
    unsigned char *mem = cts_malloc((size_t)CTS_MERGE_CHUNK_POINTS * (8 + m->elem));
    if (!mem)
        return CTS_ENOMEM;
    m->out_ts = (int64_t *)(void *)mem;
    m->out_v.raw = mem + (size_t)CTS_MERGE_CHUNK_POINTS * 8;
    return 0;
}

/* Copy the top source's next point to out[n]. */
static void copy_point(cts_merge *m, uint32_t n, const msrc *s)
{
    size_t elem = m->elem;
    m->out_ts[n] = s->run.ts[s->pos];
    const unsigned char *from = s->run.v.raw + (size_t)s->pos * elem;
    unsigned char *to = m->out_v.raw + (size_t)n * elem;
    if (elem == 8)
        memcpy(to, from, 8);
    else if (elem == 1)
        *to = *from;
    else
        memcpy(to, from, sizeof(cts_str));
}

/* Emit the top point and drop the older points with its timestamp. */
static void take_top(cts_merge *m, uint32_t n)
{
    msrc *s = &m->srcs[m->heap[0]];
    int64_t t = s->run.ts[s->pos];
    copy_point(m, n, s);
    s->pos++;
    top_moved(m);
    while (m->nheap > 0 && cur_ts(m, m->heap[0]) == t) {
        m->srcs[m->heap[0]].pos++;
        top_moved(m);
    }
}

/* Copy the top source's stretch [pos, stop) to out[n..). */
static uint32_t copy_stretch(cts_merge *m, uint32_t n, msrc *s, uint32_t stop)
{
    uint32_t k = stop - s->pos;
    memcpy(m->out_ts + n, s->run.ts + s->pos, (size_t)k * 8);
    memcpy(m->out_v.raw + (size_t)n * m->elem, s->run.v.raw + (size_t)s->pos * m->elem,
           (size_t)k * m->elem);
    s->pos = stop;
    top_moved(m);
    return k;
}

/* One step of the k-way merge into out[n..); returns the points emitted.
 * Sources that alternate point by point take the cheap path (emit the top,
 * drop its older duplicates). When a source wins twice running, or is
 * alone, it is likely ahead by a stretch: its points before any rival's are
 * found by galloping and copied at once (timsort's galloping mode). */
static uint32_t merge_step(cts_merge *m, uint32_t n)
{
    uint32_t top = m->heap[0];
    msrc *s = &m->srcs[top];
    bool again = top == m->last_top || m->nheap == 1;
    m->last_top = top;
    if (again) {
        int64_t bound = 0;
        bool bounded = rival_bound(m, &bound);
        if (!bounded || s->run.ts[s->pos] < bound) {
            uint32_t stop = stretch_stop(s, bounded, bound, CTS_MERGE_CHUNK_POINTS - n);
            return copy_stretch(m, n, s, stop);
        }
    }
    take_top(m, n);
    return 1;
}

static int emit_merged(cts_merge *m, cts_chunk *c)
{
    int rc = ensure_outbuf(m);
    if (rc < 0)
        return rc;
    uint32_t n = 0;
    while (n < CTS_MERGE_CHUNK_POINTS && m->nheap > 0) {
        if (m->next < m->nsrc && m->srcs[m->next].min_ts <= cur_ts(m, m->heap[0])) {
            if ((rc = enter(m, m->next++)) < 0)
                return rc;
        } else {
            n += merge_step(m, n);
        }
    }
    chunk_points(m, c, m->out_ts, m->out_v.raw, n);
    return 1;
}

static int fill(cts_merge *m, cts_chunk *c)
{
    while (m->nheap == 0) {
        if (m->next == m->nsrc)
            return 0;
        uint32_t i = m->next++;
        if (m->srcs[i].stats_ok)
            return emit_stats(m, i, c);
        int rc = enter(m, i);
        if (rc < 0)
            return rc;
    }
    int rc = enter_due(m);
    if (rc < 0)
        return rc;
    return m->nheap == 1 ? emit_direct(m, c) : emit_merged(m, c);
}

int cts_merge_next(cts_merge *m, cts_chunk *c)
{
    memset(c, 0, sizeof *c);
    if (m->err)
        return m->err;
    release_retired(m);
    m->stats_src = NONE;
    int rc = fill(m, c);
    if (rc < 0)
        m->err = rc;
    return rc;
}

int cts_merge_load(cts_merge *m, cts_chunk *c)
{
    if (m->err)
        return m->err;
    if (m->stats_src == NONE)
        return CTS_EINVAL;
    msrc *s = &m->srcs[m->stats_src];
    if (!s->loaded) {
        int rc = load_src(m, s);
        if (rc < 0)
            return m->err = rc;
        retire(m, m->stats_src);
    }
    chunk_points(m, c, s->run.ts, s->run.v.raw, s->run.count);
    c->stats = s->blk->stats;
    return 0;
}

/* ------------------------------------------------------------------------
 * Life cycle.
 * ------------------------------------------------------------------------ */
static int by_min_ts(const void *a, const void *b)
{
    const msrc *x = a, *y = b;
    return x->min_ts < y->min_ts ? -1 : x->min_ts > y->min_ts;
}

/* Offer a block as stats when it has them, lies inside [t0, t1) and no
 * other source's interval touches its own. Sources are sorted by min_ts. */
static void mark_isolated(cts_merge *m)
{
    int64_t prev_max = 0;
    for (uint32_t i = 0; i < m->nsrc; i++) {
        msrc *s = &m->srcs[i];
        bool left = i == 0 || prev_max < s->min_ts;
        bool right = i + 1 == m->nsrc || m->srcs[i + 1].min_ts > s->max_ts;
        bool inside = s->min_ts >= m->t0 && s->max_ts < m->t1;
        s->stats_ok = s->blk && s->blk->stats && left && right && inside;
        prev_max = i == 0 || s->max_ts > prev_max ? s->max_ts : prev_max;
    }
}

/* One allocation for the merge and its arrays; NULL on overflow or ENOMEM. */
static cts_merge *merge_alloc(size_t n)
{
    size_t nsrc = n + 1;
    size_t bytes = sizeof(cts_merge) + nsrc * sizeof(msrc) + n * sizeof(cts_srcblock) +
                   2 * nsrc * sizeof(uint32_t);
    cts_merge *m = cts_calloc(1, bytes);
    if (!m)
        return NULL;
    unsigned char *p = (unsigned char *)(m + 1);
    m->srcs = (msrc *)(void *)p;
    p += nsrc * sizeof(msrc);
    m->blocks = (cts_srcblock *)(void *)p;
    p += n * sizeof(cts_srcblock);
    m->heap = (uint32_t *)(void *)p;
    m->retired = m->heap + nsrc;
    return m;
}

static int check_args(cts_type type, const cts_srcblock *blocks, size_t n, const cts_run *head,
                      cts_load_fn load)
{
    if (cts_value_size(type) == 0 || (n > 0 && (!load || !blocks)) || n > CTS_MERGE_MAX_BLOCKS)
        return CTS_EINVAL;
    if (head && head->count > 0 && head->type != type)
        return CTS_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (blocks[i].min_ts > blocks[i].max_ts)
            return CTS_EINVAL;
    }
    return 0;
}

/* Keep the sources that can hold points in [t0, t1); the head run moves
 * into the merge. */
static void add_sources(cts_merge *m, const cts_srcblock *blocks, size_t n, cts_run *head)
{
    for (size_t i = 0; i < n && m->t0 < m->t1; i++) {
        const cts_srcblock *b = &blocks[i];
        if (b->count == 0 || b->max_ts < m->t0 || b->min_ts >= m->t1)
            continue;
        m->blocks[i] = *b;
        msrc *s = &m->srcs[m->nsrc++];
        s->min_ts = b->min_ts;
        s->max_ts = b->max_ts;
        s->blk = &m->blocks[i];
        cts_run_init(&s->run, m->type);
    }
    if (head && head->count > 0 && m->t0 < m->t1) {
        msrc *s = &m->srcs[m->nsrc++];
        s->run = *head;
        s->min_ts = head->ts[0];
        s->max_ts = head->ts[head->count - 1];
        s->loaded = true;
        cts_run_init(head, head->type);
    }
}

int cts_merge_create(cts_type type, const cts_srcblock *blocks, size_t n, cts_run *head, int64_t t0,
                     int64_t t1, bool want_stats, cts_load_fn load, void *ctx, cts_merge **out)
{
    *out = NULL;
    cts_merge *m = NULL;
    int rc = check_args(type, blocks, n, head, load);
    if (rc < 0)
        goto done;
    if (!(m = merge_alloc(n))) {
        rc = CTS_ENOMEM;
        goto done;
    }
    m->type = type;
    m->elem = cts_value_size(type);
    m->t0 = t0;
    m->t1 = t1;
    m->load = load;
    m->ctx = ctx;
    m->stats_src = NONE;
    m->last_top = NONE;
    add_sources(m, blocks, n, head);
    qsort(m->srcs, m->nsrc, sizeof(msrc), by_min_ts);
    if (want_stats)
        mark_isolated(m);
    *out = m;
done:
    if (head)
        cts_run_fini(head);
    return rc;
}

cts_type cts_merge_type(const cts_merge *m)
{
    return m->type;
}

void cts_merge_destroy(cts_merge *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->nsrc; i++) {
        if (m->srcs[i].loaded)
            cts_run_fini(&m->srcs[i].run);
    }
    cts_free(m->out_ts);
    cts_free(m);
}
