/*
 * The column head and runs (engine/head.c) against a naive model: a sorted
 * array of (ts, value) updated by linear search. Random puts (in order, out
 * of order, duplicates), removes and range copies for every type, strings
 * included; compaction keeps memory bounded under string replacement; a
 * head slice round-trips through the block codec into a reserved run;
 * every allocation failure of a small workload leaves the head unchanged and
 * leaks nothing (ASan).
 */
#include "cts_test.h"
#include "column.h"

static const cts_type TYPES[] = {CTS_TYPE_FLOAT, CTS_TYPE_INT, CTS_TYPE_UINT, CTS_TYPE_BOOL,
                                 CTS_TYPE_STRING};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])

/* ---- the model: sorted, unique points; strings owned by the model ---- */
typedef struct mpoint {
    int64_t ts;
    uint64_t num; /* float bits, int, uint or bool */
    char *str;
    uint32_t len;
} mpoint;

typedef struct model {
    cts_type type;
    uint32_t n, cap;
    mpoint *p;
} model;

static void model_free(model *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        free(m->p[i].str);
    free(m->p);
    memset(m, 0, sizeof *m);
}

static mpoint mpoint_of(cts_type type, int64_t ts, const cts_value *v)
{
    mpoint p = {.ts = ts};
    if (type == CTS_TYPE_STRING) {
        p.len = v->s.len;
        p.str = malloc(p.len + 1);
        if (p.len)
            memcpy(p.str, v->s.ptr, p.len);
    } else if (type == CTS_TYPE_BOOL) {
        p.num = v->b;
    } else {
        memcpy(&p.num, &v->u, 8);
    }
    return p;
}

static void model_put(model *m, int64_t ts, const cts_value *v)
{
    mpoint np = mpoint_of(m->type, ts, v);
    uint32_t i = 0;
    while (i < m->n && m->p[i].ts < ts)
        i++;
    if (i < m->n && m->p[i].ts == ts) {
        free(m->p[i].str);
        m->p[i] = np;
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->p = realloc(m->p, m->cap * sizeof *m->p);
    }
    memmove(m->p + i + 1, m->p + i, (m->n - i) * sizeof *m->p);
    m->p[i] = np;
    m->n++;
}

static void model_remove(model *m, uint32_t lo, uint32_t hi)
{
    for (uint32_t i = lo; i < hi; i++)
        free(m->p[i].str);
    if (lo < hi)
        memmove(m->p + lo, m->p + hi, (m->n - hi) * sizeof *m->p);
    m->n -= hi - lo;
}

/* ---- comparing ---- */
static bool value_eq(cts_type type, const mpoint *p, cts_values v, uint32_t i)
{
    switch (type) {
    case CTS_TYPE_FLOAT:
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        return memcmp(&p->num, &v.u[i], 8) == 0;
    case CTS_TYPE_BOOL:
        return p->num == v.b[i];
    case CTS_TYPE_STRING:
        return v.s[i].ptr != NULL && p->len == v.s[i].len &&
               (p->len == 0 || memcmp(p->str, v.s[i].ptr, p->len) == 0);
    }
    return false;
}

/* Points [lo, hi) of the model equal the n points of (ts, v). */
static void check_points(const model *m, uint32_t lo, uint32_t hi, const int64_t *ts, cts_values v,
                         uint32_t n)
{
    assert_int_equal(n, hi - lo);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(ts[i] == m->p[lo + i].ts);
        assert_true(value_eq(m->type, &m->p[lo + i], v, i));
        if (i > 0)
            assert_true(ts[i] > ts[i - 1]);
    }
}

static void check_head(const cts_head *h, const model *m)
{
    check_points(m, 0, m->n, h->ts, h->v, h->count);
    assert_int_equal(cts_head_count(h), m->n);
    assert_true(h->count <= h->cap);
    if (h->type == CTS_TYPE_STRING) {
        size_t live = 0;
        for (uint32_t i = 0; i < m->n; i++)
            live += m->p[i].len;
        assert_true(h->str_live == live);
        assert_true(h->str_used >= live && h->str_held >= h->str_used);
    }
    assert_true(cts_head_bytes(h) >= (size_t)h->cap * (8 + h->elem_size));
}

/* ---- random values ---- */
typedef struct valgen {
    char text[20000];
} valgen;

static cts_value random_value(cts_rng *r, cts_type type, valgen *g)
{
    cts_value v;
    memset(&v, 0, sizeof v);
    switch (type) {
    case CTS_TYPE_FLOAT:
        v.f = cts_rng_below(r, 8) == 0 ? (double)cts_rng_below(r, 3) : cts_rng_unit(r) * 100 - 50;
        break;
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        v.u = cts_rng_next(r) >> cts_rng_below(r, 64);
        break;
    case CTS_TYPE_BOOL:
        v.b = (uint8_t)cts_rng_below(r, 2);
        break;
    case CTS_TYPE_STRING: {
        uint32_t len = cts_rng_below(r, 50) == 0 ? (uint32_t)cts_rng_below(r, sizeof g->text)
                                                 : (uint32_t)cts_rng_below(r, 24);
        for (uint32_t i = 0; i < len; i++)
            g->text[i] = (char)('a' + cts_rng_below(r, 26));
        v.s.ptr = len ? g->text : NULL;
        v.s.len = len;
        break;
    }
    }
    return v;
}

/* A timestamp in one of the patterns ingest sees. */
static int64_t random_ts(cts_rng *r, const cts_head *h, int64_t *clock)
{
    switch (cts_rng_below(r, 4)) {
    case 0: /* duplicate of an existing point */
        if (h->count)
            return h->ts[cts_rng_below(r, h->count)];
        return *clock;
    case 1: /* late point */
        return *clock - (int64_t)cts_rng_below(r, 5000);
    default: /* in order */
        *clock += 1 + (int64_t)cts_rng_below(r, 20);
        return *clock;
    }
}

static void random_range(cts_rng *r, uint32_t n, uint32_t *lo, uint32_t *hi)
{
    *lo = (uint32_t)cts_rng_below(r, n + 1);
    *hi = *lo + (uint32_t)cts_rng_below(r, n - *lo + 1);
}

/* A range bound: near an existing timestamp, or anywhere. */
static int64_t random_bound(cts_rng *r, const model *m)
{
    if (m->n == 0 || cts_rng_below(r, 8) == 0) {
        const int64_t any[] = {INT64_MIN, INT64_MAX, 0, (int64_t)cts_rng_next(r)};
        return any[cts_rng_below(r, 4)];
    }
    int64_t t = m->p[cts_rng_below(r, m->n)].ts;
    int64_t d = (int64_t)cts_rng_below(r, 3) - 1;
    return (d < 0 && t == INT64_MIN) || (d > 0 && t == INT64_MAX) ? t : t + d;
}

static uint32_t model_lower_bound(const model *m, int64_t ts)
{
    uint32_t i = 0;
    while (i < m->n && m->p[i].ts < ts)
        i++;
    return i;
}

/* Deep copy of points [lo, hi) of src. */
static void model_slice(const model *src, uint32_t lo, uint32_t hi, model *dst)
{
    model_free(dst);
    dst->type = src->type;
    dst->n = dst->cap = hi - lo;
    dst->p = calloc(dst->cap + 1, sizeof *dst->p);
    for (uint32_t i = lo; i < hi; i++) {
        mpoint *p = &dst->p[i - lo];
        *p = src->p[i];
        p->str = p->str ? memcpy(malloc(p->len + 1), src->p[i].str, p->len + 1) : NULL;
    }
}

/* Copy a random time range into `snap` and check it; its model goes to
 * snap_model, to check later that the copy outlived the head. */
static void check_copy(cts_rng *r, const cts_head *h, const model *m, cts_run *snap,
                       model *snap_model)
{
    int64_t t0 = random_bound(r, m), t1 = random_bound(r, m);
    uint32_t lo = model_lower_bound(m, t0);
    uint32_t hi = t0 < t1 ? model_lower_bound(m, t1) : lo;
    assert_int_equal(cts_head_copy(h, t0, t1, snap), 0);
    check_points(m, lo, hi, snap->ts, snap->v, snap->count);
    assert_int_equal(cts_run_validate(snap), 0);
    model_slice(m, lo, hi, snap_model);
}

static void run_property(cts_type type, uint64_t seed, uint32_t steps)
{
    cts_rng r = {seed};
    valgen *g = malloc(sizeof *g);
    cts_head h;
    model m = {.type = type}, snap_model = {.type = type};
    cts_run snap;
    cts_run_init(&snap, type);
    assert_int_equal(cts_head_init(&h, type), 0);
    int64_t clock = (int64_t)(cts_rng_next(&r) >> 2) - (INT64_C(1) << 61);
    for (uint32_t step = 0; step < steps; step++) {
        uint64_t op = cts_rng_below(&r, 100);
        if (op < 90) {
            int64_t ts = random_ts(&r, &h, &clock);
            cts_value v = random_value(&r, type, g);
            assert_int_equal(cts_head_put(&h, ts, &v), 0);
            model_put(&m, ts, &v);
        } else if (op < 95) {
            uint32_t lo, hi;
            random_range(&r, m.n, &lo, &hi);
            cts_head_remove(&h, lo, hi);
            model_remove(&m, lo, hi);
        } else {
            check_copy(&r, &h, &m, &snap, &snap_model);
        }
        check_head(&h, &m);
    }
    cts_head_fini(&h);
    /* The last snapshot outlives its head. */
    check_points(&snap_model, 0, snap_model.n, snap.ts, snap.v, snap.count);
    cts_run_fini(&snap);
    model_free(&snap_model);
    model_free(&m);
    free(g);
}

static void test_property_all_types(void **state)
{
    (void)state;
    for (size_t t = 0; t < NTYPES; t++) {
        for (uint64_t seed = 1; seed <= 6; seed++)
            run_property(TYPES[t], seed * 7919 + t, 1500);
    }
}

/* In-order puts only: the fast path, and the arrays grow by doubling. */
static void test_in_order_append(void **state)
{
    (void)state;
    for (size_t t = 0; t < NTYPES; t++) {
        cts_head h;
        model m = {.type = TYPES[t]};
        cts_rng r = {t + 100};
        valgen *g = malloc(sizeof *g);
        assert_int_equal(cts_head_init(&h, TYPES[t]), 0);
        for (int64_t i = 0; i < 5000; i++) {
            cts_value v = random_value(&r, TYPES[t], g);
            assert_int_equal(cts_head_put(&h, i * 10 - 20000, &v), 0);
            model_put(&m, i * 10 - 20000, &v);
        }
        check_head(&h, &m);
        assert_true(h.cap < 2 * 5000 + 16);
        cts_head_fini(&h);
        model_free(&m);
        free(g);
    }
}

static void test_extreme_timestamps(void **state)
{
    (void)state;
    cts_head h;
    assert_int_equal(cts_head_init(&h, CTS_TYPE_INT), 0);
    const int64_t ts[] = {0, INT64_MAX, INT64_MIN, -1, INT64_MAX - 1, INT64_MIN + 1, INT64_MAX};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        assert_int_equal(cts_head_put(&h, ts[i], &(cts_value){.i = (int64_t)i}), 0);
    assert_int_equal(cts_head_count(&h), 6);
    assert_true(h.ts[0] == INT64_MIN && h.ts[5] == INT64_MAX);
    assert_int_equal(h.v.i[5], 6); /* the second INT64_MAX replaced the first */
    assert_int_equal(cts_head_lower_bound(&h, INT64_MIN), 0);
    assert_int_equal(cts_head_lower_bound(&h, INT64_MAX), 5);
    cts_run run;
    cts_run_init(&run, CTS_TYPE_INT);
    assert_int_equal(cts_head_copy(&h, INT64_MIN, INT64_MAX, &run), 0);
    assert_int_equal(run.count, 5); /* t1 is exclusive: INT64_MAX is out */
    assert_int_equal(cts_head_copy(&h, 5, 5, &run), 0);
    assert_int_equal(run.count, 0);
    assert_int_equal(cts_head_copy(&h, INT64_MAX, INT64_MIN, &run), 0);
    assert_int_equal(run.count, 0);
    cts_run_fini(&run);
    cts_head_fini(&h);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    cts_head h;
    assert_int_equal(cts_head_init(&h, (cts_type)0), CTS_EINVAL);
    assert_int_equal(cts_head_init(&h, (cts_type)6), CTS_EINVAL);
    assert_int_equal(cts_head_init(&h, CTS_TYPE_BOOL), 0);
    assert_int_equal(cts_head_put(&h, 5, &(cts_value){.b = 1}), 0);
    assert_int_equal(cts_head_put(&h, 9, &(cts_value){.b = 2}), CTS_EINVAL);
    assert_int_equal(cts_head_put(&h, 1, &(cts_value){.b = 7}), CTS_EINVAL);
    assert_int_equal(cts_head_put(&h, 5, &(cts_value){.b = 255}), CTS_EINVAL);
    assert_int_equal(cts_head_count(&h), 1);
    assert_int_equal(h.v.b[0], 1);
    cts_head_fini(&h);
    cts_run run;
    cts_run_init(&run, (cts_type)0);
    assert_int_equal(cts_run_reserve(&run, 4, 0), CTS_EINVAL);
    cts_run_fini(&run);
}

/* Replacing strings over and over must not grow memory without bound. */
static void test_string_compaction(void **state)
{
    (void)state;
    cts_head h;
    model m = {.type = CTS_TYPE_STRING};
    cts_rng r = {42};
    char buf[200];
    assert_int_equal(cts_head_init(&h, CTS_TYPE_STRING), 0);
    size_t peak = 0;
    for (uint32_t i = 0; i < 200000; i++) {
        uint32_t len = (uint32_t)cts_rng_below(&r, sizeof buf);
        memset(buf, 'a' + (int)(i % 26), len);
        cts_value v = {.s = {buf, len}};
        int64_t ts = (int64_t)cts_rng_below(&r, 64);
        assert_int_equal(cts_head_put(&h, ts, &v), 0);
        model_put(&m, ts, &v);
        peak = cts_head_bytes(&h) > peak ? cts_head_bytes(&h) : peak;
    }
    check_head(&h, &m);
    /* 64 live strings of < 200 bytes: a few pages, never the 20 MB written. */
    assert_true(peak < 64 * 1024);
    /* Removing everything gives all memory back. */
    cts_head_remove(&h, 0, h.count);
    assert_int_equal(cts_head_bytes(&h), 0);
    cts_head_fini(&h);
    model_free(&m);
}

/* Sealing pattern: fill, take a prefix, remove it; memory follows count. */
static void test_remove_shrinks(void **state)
{
    (void)state;
    cts_head h;
    assert_int_equal(cts_head_init(&h, CTS_TYPE_FLOAT), 0);
    for (int64_t i = 0; i < 100000; i++)
        assert_int_equal(cts_head_put(&h, i, &(cts_value){.f = (double)i}), 0);
    size_t full = cts_head_bytes(&h);
    cts_head_remove(&h, 0, 99000);
    assert_int_equal(cts_head_count(&h), 1000);
    assert_true(cts_head_bytes(&h) < full / 8);
    assert_true(h.ts[0] == 99000 && h.v.f[999] == 99999.0);
    cts_head_remove(&h, 10, 10);
    assert_int_equal(cts_head_count(&h), 1000);
    cts_head_remove(&h, 0, 1000);
    assert_int_equal(cts_head_bytes(&h), 0);
    assert_int_equal(cts_head_put(&h, 3, &(cts_value){.f = 1.5}), 0);
    assert_int_equal(cts_head_count(&h), 1);
    cts_head_fini(&h);
}

/* head -> cts_head_input -> block -> decode into a reserved run. */
static void test_block_round_trip(void **state)
{
    (void)state;
    for (size_t t = 0; t < NTYPES; t++) {
        cts_head h;
        cts_rng r = {t + 7};
        valgen *g = malloc(sizeof *g);
        assert_int_equal(cts_head_init(&h, TYPES[t]), 0);
        for (uint32_t i = 0; i < 3000; i++) {
            cts_value v = random_value(&r, TYPES[t], g);
            int64_t ts = (int64_t)cts_rng_below(&r, 1u << 20) * 1000;
            assert_int_equal(cts_head_put(&h, ts, &v), 0);
        }
        uint32_t lo = 100, hi = lo + CTS_BLOCK_DEFAULT_COUNT;
        cts_block_input in;
        cts_head_input(&h, lo, hi, &in);
        assert_int_equal(in.count, CTS_BLOCK_DEFAULT_COUNT);
        size_t cap = cts_block_bound(&in);
        uint8_t *blk = malloc(cap);
        cts_stats st;
        int len = cts_block_encode(&in, blk, cap, &st);
        assert_true(len > 0);
        cts_block_info info;
        assert_int_equal(cts_block_info_read(blk, (size_t)len, &info), len);
        cts_run run;
        cts_run_init(&run, TYPES[t]);
        assert_int_equal(cts_run_reserve(&run, info.count, info.str_bytes), 0);
        cts_block_output out;
        cts_run_output(&run, &out);
        int n = cts_block_decode(blk, (size_t)len, &out);
        assert_int_equal(n, (int)in.count);
        run.count = (uint32_t)n;
        assert_int_equal(cts_run_validate(&run), 0);
        cts_block_input back;
        cts_run_input(&run, 0, run.count, &back);
        cts_stats st2;
        cts_stats_compute(&back, &st2);
        assert_int_equal(st2.count, st.count);
        assert_true(st2.min_ts == h.ts[lo] && st2.max_ts == h.ts[hi - 1]);
        assert_memory_equal(run.ts, h.ts + lo, (size_t)n * 8);
        for (uint32_t i = 0; TYPES[t] == CTS_TYPE_STRING && i < run.count; i++) {
            assert_int_equal(run.v.s[i].len, h.v.s[lo + i].len);
            assert_memory_equal(run.v.s[i].ptr, h.v.s[lo + i].ptr, run.v.s[i].len);
        }
        if (TYPES[t] != CTS_TYPE_STRING)
            assert_memory_equal(run.v.raw, h.v.raw + (size_t)lo * h.elem_size,
                                (size_t)n * h.elem_size);
        uint32_t before = cts_head_count(&h);
        cts_head_remove(&h, lo, hi);
        assert_int_equal(cts_head_count(&h), before - CTS_BLOCK_DEFAULT_COUNT);
        cts_run_fini(&run);
        free(blk);
        cts_head_fini(&h);
        free(g);
    }
}

static void test_run_validate_rejects(void **state)
{
    (void)state;
    cts_run run;
    cts_run_init(&run, CTS_TYPE_STRING);
    assert_int_equal(cts_run_reserve(&run, 3, 6), 0);
    memcpy(run.str_arena, "abcdef", 6);
    for (uint32_t i = 0; i < 3; i++) {
        run.ts[i] = i * 10;
        run.v.s[i] = (cts_str){run.str_arena + 2 * i, 2};
    }
    run.count = 3;
    assert_int_equal(cts_run_validate(&run), 0);
    run.v.s[2].len = 3; /* past the arena */
    assert_int_equal(cts_run_validate(&run), CTS_ECORRUPT);
    run.v.s[2] = (cts_str){"zz", 2}; /* outside the arena */
    assert_int_equal(cts_run_validate(&run), CTS_ECORRUPT);
    run.v.s[2] = (cts_str){run.str_arena + 6, 0}; /* empty, at the end: fine */
    assert_int_equal(cts_run_validate(&run), 0);
    run.ts[2] = 10; /* duplicate timestamp */
    assert_int_equal(cts_run_validate(&run), CTS_ECORRUPT);
    run.ts[2] = 20;
    run.count = 4; /* more than reserved */
    assert_int_equal(cts_run_validate(&run), CTS_ECORRUPT);
    cts_run_fini(&run);
    cts_run_fini(&run); /* idempotent */
    cts_run_init(&run, CTS_TYPE_BOOL);
    assert_int_equal(cts_run_reserve(&run, 2, 0), 0);
    run.ts[0] = 1;
    run.ts[1] = 2;
    run.v.b[0] = 0;
    run.v.b[1] = 2;
    run.count = 2;
    assert_int_equal(cts_run_validate(&run), CTS_ECORRUPT);
    cts_run_fini(&run);
}

/* A workload where any allocation may fail: the head and model agree. */
static void fail_workload(cts_type type, long fail_after)
{
    cts_rng r = {(uint64_t)fail_after * 31 + type};
    valgen *g = malloc(sizeof *g);
    cts_head h;
    model m = {.type = type};
    cts_run snap;
    cts_run_init(&snap, type);
    assert_int_equal(cts_head_init(&h, type), 0);
    int64_t clock = 0;
    cts_alloc_fail_after(fail_after);
    for (uint32_t step = 0; step < 400; step++) {
        if (step % 50 == 49) {
            int rc = cts_head_copy(&h, INT64_MIN, INT64_MAX, &snap);
            assert_true(rc == 0 || (rc == CTS_ENOMEM && snap.count == 0 && snap.ts == NULL));
            if (rc == 0)
                check_points(&m, 0, m.n, snap.ts, snap.v, snap.count);
            cts_head_remove(&h, 0, h.count / 2);
            model_remove(&m, 0, m.n / 2);
        } else {
            int64_t ts = random_ts(&r, &h, &clock);
            cts_value v = random_value(&r, type, g);
            int rc = cts_head_put(&h, ts, &v);
            assert_true(rc == 0 || rc == CTS_ENOMEM);
            if (rc == 0)
                model_put(&m, ts, &v);
        }
        check_head(&h, &m);
    }
    cts_alloc_fail_after(-1);
    cts_head_fini(&h);
    cts_run_fini(&snap);
    model_free(&m);
    free(g);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    for (size_t t = 0; t < NTYPES; t++) {
        for (long n = 0; n < 60; n++)
            fail_workload(TYPES[t], n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_property_all_types),  cmocka_unit_test(test_in_order_append),
        cmocka_unit_test(test_extreme_timestamps),  cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_string_compaction),   cmocka_unit_test(test_remove_shrinks),
        cmocka_unit_test(test_block_round_trip),    cmocka_unit_test(test_run_validate_rejects),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
