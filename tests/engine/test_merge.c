/*
 * The snapshot merge cursor (engine/merge.c) against a naive evaluation:
 * every source's points with their precedence (head run first, then larger
 * seq, then later block), sorted, first of each timestamp kept, cut to
 * [t0, t1). Random sets of overlapping and disjoint blocks plus a head, for
 * every type, with and without stats push-down (a stats-only chunk must be
 * eligible, every eligible block must come as one, and loading it yields its
 * points). Edge cases: no sources, t0 >= t1, INT64_MIN/MAX timestamps, all
 * sources outside the range, one huge cluster. The test's loader returns a
 * copy of an in-memory run and can fail or corrupt on demand; allocation
 * failures are injected over a small workload (no leaks under ASan).
 */
#include "cts_test.h"
#include "column.h"

static const cts_type TYPES[] = {CTS_TYPE_FLOAT, CTS_TYPE_INT, CTS_TYPE_UINT, CTS_TYPE_BOOL,
                                 CTS_TYPE_STRING};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])
#define MAX_BLOCKS 256

/* ---- points as the test keeps them: strings in a pool it owns ---- */
typedef struct tpoint {
    int64_t ts;
    uint64_t num;
    size_t off; /* string bytes in pool */
    uint32_t len;
    uint64_t prio; /* naive model only: larger is newer */
} tpoint;

typedef struct tvec {
    tpoint *p;
    size_t n, cap;
    char *pool;
    size_t pool_len, pool_cap;
} tvec;

static void tvec_free(tvec *v)
{
    free(v->p);
    free(v->pool);
    memset(v, 0, sizeof *v);
}

static void tvec_add(tvec *v, cts_type type, int64_t ts, cts_values vals, uint32_t i, uint64_t prio)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->p = realloc(v->p, v->cap * sizeof *v->p);
    }
    tpoint p = {.ts = ts, .prio = prio};
    if (type == CTS_TYPE_STRING) {
        cts_str s = vals.s[i];
        assert_non_null(s.ptr);
        while (v->pool_len + s.len > v->pool_cap) {
            v->pool_cap = v->pool_cap ? v->pool_cap * 2 : 4096;
            v->pool = realloc(v->pool, v->pool_cap);
        }
        if (s.len)
            memcpy(v->pool + v->pool_len, s.ptr, s.len);
        p.off = v->pool_len;
        p.len = s.len;
        v->pool_len += s.len;
    } else if (type == CTS_TYPE_BOOL) {
        p.num = vals.b[i];
    } else {
        memcpy(&p.num, &vals.u[i], 8);
    }
    v->p[v->n++] = p;
}

static void tvec_add_chunk(tvec *v, cts_type type, const cts_chunk *c)
{
    cts_values vals = {.raw = (unsigned char *)(uintptr_t)c->v.b};
    for (uint32_t i = 0; i < c->count; i++)
        tvec_add(v, type, c->ts[i], vals, i, 0);
}

static void assert_same(const tvec *a, const tvec *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const tpoint *x = &a->p[i], *y = &b->p[i];
        assert_true(x->ts == y->ts);
        assert_true(x->num == y->num);
        assert_int_equal(x->len, y->len);
        if (x->len)
            assert_memory_equal(a->pool + x->off, b->pool + y->off, x->len);
    }
}

/* ---- a scenario: blocks as in-memory runs, plus an optional head ---- */
typedef struct scenario {
    cts_type type;
    size_t n;
    cts_srcblock blk[MAX_BLOCKS];
    cts_stats stats[MAX_BLOCKS];
    cts_run runs[MAX_BLOCKS];
    cts_head head;
    bool has_head;
    int64_t t0, t1;
} scenario;

typedef struct loader {
    long fail_after; /* < 0: never */
    int fail_code;
    bool corrupt;  /* return an unsorted run */
    bool truncate; /* return one point fewer than the descriptor says */
    uint32_t calls;
    bool loaded[MAX_BLOCKS];
    const scenario *sc;
} loader;

static int test_load(void *ctx, const cts_srcblock *b, cts_run *out)
{
    loader *ld = ctx;
    const cts_run *src = b->handle;
    ld->calls++;
    ld->loaded[src - ld->sc->runs] = true;
    if (ld->fail_after == 0)
        return ld->fail_code;
    if (ld->fail_after > 0)
        ld->fail_after--;
    int rc = cts_run_copy(src, 0, src->count - (ld->truncate ? 1 : 0), out);
    if (rc == 0 && ld->corrupt && out->count > 1) {
        int64_t t = out->ts[0];
        out->ts[0] = out->ts[1];
        out->ts[1] = t;
    }
    return rc;
}

static cts_value random_value(cts_rng *r, cts_type type, char *text)
{
    cts_value v;
    memset(&v, 0, sizeof v);
    switch (type) {
    case CTS_TYPE_FLOAT:
        v.f = cts_rng_unit(r) * 1000;
        break;
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        v.u = cts_rng_next(r) >> cts_rng_below(r, 64);
        break;
    case CTS_TYPE_BOOL:
        v.b = (uint8_t)cts_rng_below(r, 2);
        break;
    case CTS_TYPE_STRING:
        v.s.len = (uint32_t)cts_rng_below(r, 12);
        for (uint32_t i = 0; i < v.s.len; i++)
            text[i] = (char)('a' + cts_rng_below(r, 26));
        v.s.ptr = text;
        break;
    }
    return v;
}

/* Fill a head with `count` random points in [lo, lo + span). */
static void fill_head(cts_rng *r, cts_head *h, cts_type type, int64_t lo, uint64_t span,
                      uint32_t count)
{
    char text[16];
    assert_int_equal(cts_head_init(h, type), 0);
    for (uint32_t i = 0; i < count; i++) {
        int64_t ts = lo + (int64_t)cts_rng_below(r, span);
        cts_value v = random_value(r, type, text);
        assert_int_equal(cts_head_put(h, ts, &v), 0);
    }
}

/* Make block k from every point of head h (a "sealed" copy). */
static void seal_block(scenario *sc, size_t k, const cts_head *h, uint64_t seq)
{
    cts_block_input in;
    cts_head_input(h, 0, h->count, &in);
    cts_run *run = &sc->runs[k];
    cts_run_init(run, sc->type);
    size_t str_bytes = 0;
    for (uint32_t i = 0; sc->type == CTS_TYPE_STRING && i < in.count; i++)
        str_bytes += in.v.s[i].len;
    assert_int_equal(cts_run_reserve(run, in.count, str_bytes), 0);
    memcpy(run->ts, in.ts, (size_t)in.count * 8);
    size_t off = 0;
    for (uint32_t i = 0; i < in.count; i++) {
        if (sc->type != CTS_TYPE_STRING)
            continue;
        memcpy(run->str_arena + off, in.v.s[i].ptr, in.v.s[i].len);
        run->v.s[i] = (cts_str){run->str_arena + off, in.v.s[i].len};
        off += in.v.s[i].len;
    }
    if (sc->type != CTS_TYPE_STRING)
        memcpy(run->v.raw, h->v.raw, (size_t)in.count * h->elem_size);
    run->count = in.count;
    assert_int_equal(cts_run_validate(run), 0);
    cts_stats_compute(&in, &sc->stats[k]);
    sc->blk[k] = (cts_srcblock){.min_ts = in.ts[0],
                                .max_ts = in.ts[in.count - 1],
                                .count = in.count,
                                .seq = seq,
                                .stats = &sc->stats[k],
                                .handle = run};
}

static void add_block(cts_rng *r, scenario *sc, int64_t lo, uint64_t span, uint32_t count,
                      uint64_t seq)
{
    cts_head h;
    fill_head(r, &h, sc->type, lo, span, count);
    seal_block(sc, sc->n++, &h, seq);
    cts_head_fini(&h);
}

static void scenario_free(scenario *sc)
{
    for (size_t k = 0; k < sc->n; k++)
        cts_run_fini(&sc->runs[k]);
    if (sc->has_head)
        cts_head_fini(&sc->head);
    sc->n = 0;
    sc->has_head = false;
}

/* Random blocks: a mix of a dense overlapping zone and disjoint runs. */
static void random_scenario(cts_rng *r, scenario *sc, cts_type type)
{
    memset(sc, 0, sizeof *sc);
    sc->type = type;
    size_t n = (size_t)cts_rng_below(r, 12);
    uint64_t seqs[MAX_BLOCKS];
    bool same_seq = cts_rng_below(r, 4) == 0; /* ties: the later block wins */
    for (size_t k = 0; k < n; k++)
        seqs[k] = same_seq ? 7 : k * 3 + 1;
    for (size_t k = n; k > 1; k--) { /* shuffle: seal order is not index order */
        size_t j = (size_t)cts_rng_below(r, k);
        uint64_t t = seqs[k - 1];
        seqs[k - 1] = seqs[j];
        seqs[j] = t;
    }
    int64_t base = (int64_t)cts_rng_below(r, 1000) - 500;
    for (size_t k = 0; k < n; k++) {
        uint32_t count = 1 + (uint32_t)cts_rng_below(r, 300);
        if (cts_rng_below(r, 2)) /* overlapping zone [base, base + 3000) */
            add_block(r, sc, base, 1 + cts_rng_below(r, 3000), count, seqs[k]);
        else /* disjoint zone: one slot of 10,000 per block */
            add_block(r, sc, base + 10000 * (int64_t)(k + 1), 1 + cts_rng_below(r, 5000), count,
                      seqs[k]);
    }
    if (cts_rng_below(r, 3)) {
        int64_t lo = base + (int64_t)cts_rng_below(r, 130000) - 5000;
        fill_head(r, &sc->head, type, lo, 1 + cts_rng_below(r, 20000),
                  (uint32_t)cts_rng_below(r, 400));
        sc->has_head = true;
    }
    int64_t span = 140000;
    sc->t0 = cts_rng_below(r, 4) == 0 ? INT64_MIN : base - 1000 + (int64_t)cts_rng_below(r, span);
    sc->t1 = cts_rng_below(r, 4) == 0 ? INT64_MAX : base - 1000 + (int64_t)cts_rng_below(r, span);
}

/* ---- the naive evaluation ---- */
static int by_ts_then_newest(const void *a, const void *b)
{
    const tpoint *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->prio > y->prio ? -1 : x->prio < y->prio;
}

static void naive(const scenario *sc, tvec *out)
{
    tvec all = {0};
    for (size_t k = 0; k < sc->n; k++) {
        const cts_run *run = &sc->runs[k];
        uint64_t prio = sc->blk[k].seq * MAX_BLOCKS + k;
        for (uint32_t i = 0; i < run->count; i++)
            tvec_add(&all, sc->type, run->ts[i], run->v, i, prio);
    }
    for (uint32_t i = 0; sc->has_head && i < sc->head.count; i++)
        tvec_add(&all, sc->type, sc->head.ts[i], sc->head.v, i, UINT64_MAX);
    if (all.n)
        qsort(all.p, all.n, sizeof *all.p, by_ts_then_newest);
    memset(out, 0, sizeof *out);
    out->pool = all.pool; /* offsets stay valid: share the pool */
    out->pool_cap = all.pool_cap;
    out->p = malloc((all.n + 1) * sizeof *out->p);
    for (size_t i = 0; i < all.n; i++) {
        const tpoint *p = &all.p[i];
        bool dup = i > 0 && all.p[i - 1].ts == p->ts;
        if (!dup && sc->t0 < sc->t1 && p->ts >= sc->t0 && p->ts < sc->t1)
            out->p[out->n++] = *p;
    }
    free(all.p);
}

/* Whether block k may be returned as stats: inside the range and touching
 * no other source. */
static bool eligible(const scenario *sc, size_t k)
{
    const cts_srcblock *b = &sc->blk[k];
    if (b->min_ts < sc->t0 || b->max_ts >= sc->t1 || sc->t0 >= sc->t1)
        return false;
    for (size_t j = 0; j < sc->n; j++) {
        if (j != k && sc->blk[j].min_ts <= b->max_ts && sc->blk[j].max_ts >= b->min_ts)
            return false;
    }
    if (sc->has_head && sc->head.count > 0)
        return sc->head.ts[0] > b->max_ts || sc->head.ts[sc->head.count - 1] < b->min_ts;
    return true;
}

static size_t block_of_stats(const scenario *sc, const cts_stats *st)
{
    for (size_t k = 0; k < sc->n; k++) {
        if (&sc->stats[k] == st)
            return k;
    }
    fail_msg("stats chunk of no block");
    return 0;
}

/* ---- driving the cursor ---- */
static int open_merge(const scenario *sc, bool want_stats, loader *ld, cts_merge **m)
{
    cts_run head;
    cts_run_init(&head, sc->type);
    if (sc->has_head) {
        int rc = cts_head_copy(&sc->head, INT64_MIN, INT64_MAX, &head);
        if (rc < 0)
            return rc;
    }
    return cts_merge_create(sc->type, sc->blk, sc->n, &head, sc->t0, sc->t1, want_stats, test_load,
                            ld, m);
}

/* A stats chunk: check eligibility, then load it or take the test's copy. */
static int take_stats(const scenario *sc, cts_merge *m, cts_chunk *c, bool load, tvec *out,
                      size_t *nstats)
{
    size_t k = block_of_stats(sc, c->stats);
    assert_true(eligible(sc, k));
    assert_null(c->ts);
    assert_int_equal(c->count, sc->blk[k].count);
    (*nstats)++;
    if (!load) {
        const cts_run *run = &sc->runs[k];
        for (uint32_t i = 0; i < run->count; i++)
            tvec_add(out, sc->type, run->ts[i], run->v, i, 0);
        return 0;
    }
    int rc = cts_merge_load(m, c);
    if (rc < 0)
        return rc;
    assert_int_equal(c->count, sc->blk[k].count);
    assert_ptr_equal(c->stats, &sc->stats[k]);
    tvec_add_chunk(out, sc->type, c);
    return 0;
}

/* Drain the merge into `out`; returns 0 or the first error. */
static int drain(const scenario *sc, cts_merge *m, cts_rng *r, tvec *out, size_t *nstats)
{
    cts_chunk c;
    int rc;
    while ((rc = cts_merge_next(m, &c)) == 1) {
        if (c.stats) {
            rc = take_stats(sc, m, &c, cts_rng_below(r, 2), out, nstats);
            if (rc < 0)
                return rc;
            continue;
        }
        assert_non_null(c.ts);
        assert_true(c.count > 0 && c.count <= CTS_MERGE_CHUNK_POINTS);
        tvec_add_chunk(out, sc->type, &c);
    }
    return rc;
}

static void check_scenario(const scenario *sc, bool want_stats, cts_rng *r)
{
    loader ld = {.fail_after = -1, .sc = sc};
    cts_merge *m;
    assert_int_equal(open_merge(sc, want_stats, &ld, &m), 0);
    assert_int_equal(cts_merge_type(m), sc->type);
    tvec got = {0}, want;
    size_t nstats = 0;
    assert_int_equal(drain(sc, m, r, &got, &nstats), 0);
    cts_chunk c;
    assert_int_equal(cts_merge_next(m, &c), 0); /* DONE stays done */
    cts_merge_destroy(m);
    naive(sc, &want);
    assert_same(&got, &want);
    size_t nelig = 0;
    for (size_t k = 0; k < sc->n; k++) {
        bool e = eligible(sc, k);
        nelig += e;
        bool touches = sc->blk[k].max_ts >= sc->t0 && sc->blk[k].min_ts < sc->t1;
        if (!touches || sc->t0 >= sc->t1) /* outside the range: never loaded */
            assert_false(ld.loaded[k]);
    }
    assert_int_equal(nstats, want_stats ? nelig : 0);
    tvec_free(&got);
    tvec_free(&want);
}

static void test_property_random(void **state)
{
    (void)state;
    cts_rng r = {2024};
    scenario *sc = malloc(sizeof *sc);
    for (int iter = 0; iter < 600; iter++) {
        random_scenario(&r, sc, TYPES[iter % NTYPES]);
        check_scenario(sc, false, &r);
        check_scenario(sc, true, &r);
        scenario_free(sc);
    }
    free(sc);
}

/* Disjoint blocks in order, a trailing head: every block is stats-eligible
 * over a wide range, and the single-source path emits them zero-copy. */
static void test_disjoint_blocks(void **state)
{
    (void)state;
    cts_rng r = {5};
    scenario *sc = malloc(sizeof *sc);
    for (size_t t = 0; t < NTYPES; t++) {
        memset(sc, 0, sizeof *sc);
        sc->type = TYPES[t];
        for (uint64_t k = 0; k < 40; k++)
            add_block(&r, sc, (int64_t)k * 5000, 4000, 1024, k + 1);
        fill_head(&r, &sc->head, TYPES[t], 200000, 1000, 300);
        sc->has_head = true;
        sc->t0 = INT64_MIN;
        sc->t1 = INT64_MAX;
        check_scenario(sc, false, &r);
        check_scenario(sc, true, &r);
        sc->t0 = 12345; /* cuts blocks 2 and 30 */
        sc->t1 = 151234;
        check_scenario(sc, true, &r);
        scenario_free(sc);
    }
    free(sc);
}

/* Hundreds of blocks overlapping one another: one cluster, chunked. */
static void test_huge_cluster(void **state)
{
    (void)state;
    cts_rng r = {77};
    scenario *sc = malloc(sizeof *sc);
    memset(sc, 0, sizeof *sc);
    sc->type = CTS_TYPE_INT;
    for (uint64_t k = 0; k < 200; k++)
        add_block(&r, sc, 0, 50000, 500, 1000 - k * 3);
    fill_head(&r, &sc->head, sc->type, 1000, 40000, 2000);
    sc->has_head = true;
    sc->t0 = 100;
    sc->t1 = 49000;
    check_scenario(sc, false, &r);
    check_scenario(sc, true, &r);
    scenario_free(sc);
    free(sc);
}

/* Sources that take turns in stretches of varied length, with some shared
 * timestamps at the seams: the galloping path and its tie handling. */
static void test_striped_sources(void **state)
{
    (void)state;
    cts_rng r = {31};
    scenario *sc = malloc(sizeof *sc);
    for (int iter = 0; iter < 40; iter++) {
        memset(sc, 0, sizeof *sc);
        sc->type = TYPES[iter % NTYPES];
        size_t nb = 2 + (size_t)cts_rng_below(&r, 4);
        uint32_t width = 1 + (uint32_t)cts_rng_below(&r, 300);
        cts_head hs[8];
        char text[16];
        for (size_t k = 0; k < nb; k++)
            assert_int_equal(cts_head_init(&hs[k], sc->type), 0);
        for (int64_t slot = 0; slot < 20000; slot++) {
            size_t owner = (size_t)(slot / width) % nb;
            bool shared = cts_rng_below(&r, 50) == 0;
            for (size_t k = 0; k < nb; k++) {
                cts_value v = random_value(&r, sc->type, text);
                if (k == owner || shared)
                    assert_int_equal(cts_head_put(&hs[k], slot * 10, &v), 0);
            }
        }
        for (size_t k = 0; k < nb; k++) {
            seal_block(sc, sc->n++, &hs[k], cts_rng_below(&r, 3));
            cts_head_fini(&hs[k]);
        }
        sc->t0 = (int64_t)cts_rng_below(&r, 50000);
        sc->t1 = sc->t0 + (int64_t)cts_rng_below(&r, 200000);
        check_scenario(sc, cts_rng_below(&r, 2), &r);
        scenario_free(sc);
    }
    free(sc);
}

static void test_empty_and_outside(void **state)
{
    (void)state;
    cts_rng r = {9};
    scenario *sc = malloc(sizeof *sc);
    memset(sc, 0, sizeof *sc);
    sc->type = CTS_TYPE_FLOAT;
    sc->t0 = INT64_MIN;
    sc->t1 = INT64_MAX;
    check_scenario(sc, true, &r); /* no sources at all */
    sc->has_head = true;
    assert_int_equal(cts_head_init(&sc->head, sc->type), 0);
    check_scenario(sc, true, &r); /* an empty head */
    for (uint64_t k = 0; k < 5; k++)
        add_block(&r, sc, (int64_t)k * 100, 200, 50, k + 1);
    sc->t0 = 10000; /* everything before the range */
    sc->t1 = 20000;
    check_scenario(sc, true, &r);
    sc->t0 = -20000; /* everything after it */
    sc->t1 = -1;
    check_scenario(sc, false, &r);
    sc->t0 = 100; /* t0 >= t1 */
    sc->t1 = 100;
    check_scenario(sc, true, &r);
    sc->t1 = 50;
    check_scenario(sc, false, &r);
    sc->blk[2].count = 0; /* a block with no points is skipped */
    sc->t0 = INT64_MIN;
    sc->t1 = INT64_MAX;
    loader ld = {.fail_after = -1, .sc = sc};
    cts_merge *m;
    assert_int_equal(open_merge(sc, false, &ld, &m), 0);
    tvec got = {0};
    size_t nstats = 0;
    assert_int_equal(drain(sc, m, &r, &got, &nstats), 0);
    assert_false(ld.loaded[2]);
    cts_merge_destroy(m);
    tvec_free(&got);
    scenario_free(sc);
    free(sc);
}

static void test_extreme_timestamps(void **state)
{
    (void)state;
    cts_rng r = {11};
    scenario *sc = malloc(sizeof *sc);
    memset(sc, 0, sizeof *sc);
    sc->type = CTS_TYPE_UINT;
    cts_head h;
    assert_int_equal(cts_head_init(&h, sc->type), 0);
    const int64_t ts[] = {INT64_MIN, INT64_MIN + 1, -1, 0, INT64_MAX - 1, INT64_MAX};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(cts_head_put(&h, ts[i], &(cts_value){.u = i}), 0);
    seal_block(sc, sc->n++, &h, 1);
    cts_head_fini(&h);
    assert_int_equal(cts_head_init(&h, sc->type), 0);
    for (size_t i = 0; i < 6; i += 2)
        assert_int_equal(cts_head_put(&h, ts[i], &(cts_value){.u = 100 + i}), 0);
    seal_block(sc, sc->n++, &h, 2);
    cts_head_fini(&h);
    add_block(&r, sc, INT64_MAX - 1000, 1000, 10, 3);
    fill_head(&r, &sc->head, sc->type, INT64_MIN, 100, 10);
    sc->has_head = true;
    sc->t0 = INT64_MIN;
    sc->t1 = INT64_MAX; /* INT64_MAX itself is never inside [t0, t1) */
    check_scenario(sc, false, &r);
    check_scenario(sc, true, &r);
    sc->t0 = INT64_MAX - 1;
    check_scenario(sc, true, &r);
    scenario_free(sc);
    free(sc);
}

/* The loader's failure and bad runs come back from next and load, sticky. */
static void test_loader_errors(void **state)
{
    (void)state;
    cts_rng r = {13};
    scenario *sc = malloc(sizeof *sc);
    memset(sc, 0, sizeof *sc);
    sc->type = CTS_TYPE_STRING;
    for (uint64_t k = 0; k < 6; k++)
        add_block(&r, sc, (int64_t)(k / 2) * 1000, 800, 100, k + 1);
    sc->t0 = INT64_MIN;
    sc->t1 = INT64_MAX;
    for (long fail = 0; fail < 6; fail++) {
        loader ld = {.fail_after = fail, .fail_code = CTS_EIO, .sc = sc};
        cts_merge *m;
        assert_int_equal(open_merge(sc, false, &ld, &m), 0);
        tvec got = {0};
        size_t nstats = 0;
        assert_int_equal(drain(sc, m, &r, &got, &nstats), CTS_EIO);
        cts_chunk c;
        assert_int_equal(cts_merge_next(m, &c), CTS_EIO);
        assert_int_equal(cts_merge_load(m, &c), CTS_EIO);
        cts_merge_destroy(m);
        tvec_free(&got);
    }
    for (int kind = 0; kind < 2; kind++) {
        loader ld = {.fail_after = -1, .corrupt = kind == 0, .truncate = kind == 1, .sc = sc};
        cts_merge *m;
        assert_int_equal(open_merge(sc, false, &ld, &m), 0);
        tvec got = {0};
        size_t nstats = 0;
        assert_int_equal(drain(sc, m, &r, &got, &nstats), CTS_ECORRUPT);
        cts_merge_destroy(m);
        tvec_free(&got);
    }
    scenario_free(sc);
    free(sc);
}

/* Loading a stats chunk can fail too; load without a stats chunk is a
 * misuse that changes nothing. */
static void test_stats_load_errors(void **state)
{
    (void)state;
    cts_rng r = {17};
    scenario *sc = malloc(sizeof *sc);
    memset(sc, 0, sizeof *sc);
    sc->type = CTS_TYPE_FLOAT;
    add_block(&r, sc, 0, 1000, 100, 1);
    add_block(&r, sc, 5000, 1000, 100, 2);
    sc->t0 = INT64_MIN;
    sc->t1 = INT64_MAX;
    loader ld = {.fail_after = 1, .fail_code = CTS_ECHECKSUM, .sc = sc};
    cts_merge *m;
    cts_chunk c;
    assert_int_equal(open_merge(sc, true, &ld, &m), 0);
    assert_int_equal(cts_merge_load(m, &c), CTS_EINVAL);
    assert_int_equal(cts_merge_next(m, &c), 1);
    assert_non_null(c.stats);
    assert_int_equal(cts_merge_load(m, &c), 0);
    assert_int_equal(cts_merge_load(m, &c), 0); /* twice: same points */
    assert_int_equal(c.count, sc->blk[0].count);
    assert_int_equal(ld.calls, 1);
    assert_int_equal(cts_merge_next(m, &c), 1);
    assert_non_null(c.stats);
    assert_int_equal(cts_merge_load(m, &c), CTS_ECHECKSUM);
    assert_int_equal(cts_merge_next(m, &c), CTS_ECHECKSUM);
    cts_merge_destroy(m);
    scenario_free(sc);
    free(sc);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    cts_rng r = {19};
    scenario *sc = malloc(sizeof *sc);
    memset(sc, 0, sizeof *sc);
    sc->type = CTS_TYPE_INT;
    add_block(&r, sc, 0, 1000, 10, 1);
    cts_merge *m = (cts_merge *)sc;
    cts_run head;
    cts_run_init(&head, CTS_TYPE_FLOAT);
    assert_int_equal(cts_run_reserve(&head, 1, 0), 0);
    head.ts[0] = 1;
    head.v.f[0] = 1.0;
    head.count = 1;
    /* a head run of another type: rejected, and still taken (freed) */
    assert_int_equal(
        cts_merge_create(CTS_TYPE_INT, sc->blk, 1, &head, 0, 10, false, test_load, NULL, &m),
        CTS_EINVAL);
    assert_null(m);
    assert_null(head.ts);
    assert_int_equal(
        cts_merge_create((cts_type)9, sc->blk, 1, NULL, 0, 10, false, test_load, NULL, &m),
        CTS_EINVAL);
    assert_int_equal(cts_merge_create(CTS_TYPE_INT, sc->blk, 1, NULL, 0, 10, false, NULL, NULL, &m),
                     CTS_EINVAL);
    sc->blk[0].min_ts = sc->blk[0].max_ts + 1;
    assert_int_equal(
        cts_merge_create(CTS_TYPE_INT, sc->blk, 1, NULL, 0, 10, false, test_load, NULL, &m),
        CTS_EINVAL);
    assert_int_equal(cts_merge_create(CTS_TYPE_INT, NULL, 0, NULL, 0, 10, false, NULL, NULL, &m),
                     0);
    cts_chunk c;
    assert_int_equal(cts_merge_next(m, &c), 0);
    cts_merge_destroy(m);
    cts_merge_destroy(NULL);
    scenario_free(sc);
    free(sc);
}

/* Every allocation failure over a small workload: only CTS_ENOMEM, and a
 * finished merge is still exact. */
static void test_allocation_failures(void **state)
{
    (void)state;
    cts_rng r = {23};
    scenario *sc = malloc(sizeof *sc);
    for (size_t t = 0; t < NTYPES; t++) {
        memset(sc, 0, sizeof *sc);
        sc->type = TYPES[t];
        for (uint64_t k = 0; k < 6; k++)
            add_block(&r, sc, (int64_t)(k % 3) * 700, 1000, 200, k + 1);
        add_block(&r, sc, 90000, 1000, 200, 99); /* isolated: stats-eligible */
        fill_head(&r, &sc->head, sc->type, 1500, 500, 100);
        sc->has_head = true;
        sc->t0 = 10;
        sc->t1 = INT64_MAX;
        tvec want;
        naive(sc, &want);
        for (long n = 0; n < 80; n++) {
            loader ld = {.fail_after = -1, .sc = sc};
            tvec got = {0};
            size_t nstats = 0;
            cts_merge *m = NULL;
            cts_alloc_fail_after(n);
            int rc = open_merge(sc, n % 2 == 0, &ld, &m);
            if (rc == 0)
                rc = drain(sc, m, &r, &got, &nstats);
            cts_alloc_fail_after(-1);
            assert_true(rc == 0 || rc == CTS_ENOMEM);
            if (rc == 0)
                assert_same(&got, &want);
            cts_merge_destroy(m);
            tvec_free(&got);
        }
        tvec_free(&want);
        scenario_free(sc);
    }
    free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_property_random),   cmocka_unit_test(test_disjoint_blocks),
        cmocka_unit_test(test_huge_cluster),      cmocka_unit_test(test_striped_sources),
        cmocka_unit_test(test_empty_and_outside), cmocka_unit_test(test_extreme_timestamps),
        cmocka_unit_test(test_loader_errors),     cmocka_unit_test(test_stats_load_errors),
        cmocka_unit_test(test_invalid_arguments), cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
