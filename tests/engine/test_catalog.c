/*
 * test_catalog.c: the in-memory catalog against a naive model.
 *
 * The model names a series by a tuple (measurement index, value index per
 * tag key or none) over small pools of strings that include the bytes line
 * protocol escapes and a NUL, so a series' identity is independent of the
 * catalog's canonical key. Random workloads intern tuples with permuted tag
 * order and compare ids, reverse lookups, enumeration and postings with the
 * model; other tests cover the rules (limits, type conflicts, restores,
 * malformed keys), allocation failure at every allocation, concurrent
 * readers, and a scale run that prints bytes per series and lookups/s
 * (CTS_CATALOG_SCALE=<series> to change its size; nothing about speed is
 * asserted).
 */
#include "cts_test.h"

#include "catalog.h"
#include "catalog_int.h" /* to damage the structures for cts_catalog_check */
#include "postings.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#define S(lit) ((cts_str){(lit), (uint32_t)(sizeof(lit) - 1)})

static const cts_str meas_pool[] = {S("air"), S("traffic"), S("a,b"), S("m x")};
static const cts_str key_pool[] = {S("city"), S("district"), S("sensor"), S("k=1"), S("z")};
static const cts_str val_pool[] = {S("lisbon"), S("a b"),   S("x,y"),    S("="),
                                   S("q\0q"),   S("porto"), S("lisbon2")};
#define NM 4
#define NK 5
#define NV 7
#define NTUPLES (NM * 8 * 8 * 8 * 8 * 8) /* (NV + 1)^NK rounded up to 8^5 */

typedef struct tuple {
    int m;
    int v[NK]; /* -1: tag absent */
} tuple;

static int tuple_index(const tuple *t)
{
    int x = t->m;
    for (int k = 0; k < NK; k++)
        x = x * 8 + (t->v[k] + 1);
    return x;
}

static tuple random_tuple(cts_rng *r)
{
    tuple t;
    t.m = (int)cts_rng_below(r, NM);
    for (int k = 0; k < NK; k++)
        t.v[k] = cts_rng_below(r, 3) == 0 ? -1 : (int)cts_rng_below(r, NV);
    return t;
}

static bool str_eq(cts_str a, cts_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static int bytes_cmp(cts_str a, cts_str b)
{
    int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* The tags of t in a random order; returns the count. */
static uint32_t tuple_tags(const tuple *t, cts_rng *r, cts_tag *tags)
{
    uint32_t n = 0;
    for (int k = 0; k < NK; k++)
        if (t->v[k] >= 0)
            tags[n++] = (cts_tag){key_pool[k], val_pool[t->v[k]]};
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)cts_rng_below(r, i);
        cts_tag tmp = tags[i - 1];
        tags[i - 1] = tags[j];
        tags[j] = tmp;
    }
    return n;
}

typedef struct model {
    int *id_of;     /* tuple index -> id, -1 if absent */
    tuple *by_id;   /* id -> tuple */
    uint32_t count; /* series */
} model;

static void model_init(model *md)
{
    md->id_of = malloc(NTUPLES * sizeof *md->id_of);
    md->by_id = malloc(NTUPLES * sizeof *md->by_id);
    assert_non_null(md->id_of);
    assert_non_null(md->by_id);
    for (int i = 0; i < NTUPLES; i++)
        md->id_of[i] = -1;
    md->count = 0;
}

static void model_free(model *md)
{
    free(md->id_of);
    free(md->by_id);
}

static cts_catalog *new_catalog(uint32_t max_series)
{
    cts_catalog_options o = {.max_series = max_series, .hash_seed = 42};
    cts_catalog *cat = NULL;
    assert_int_equal(cts_catalog_create(&o, &cat), CTS_OK);
    return cat;
}

/* Interns t (tags permuted) and checks the id against the model. */
static void intern_checked(cts_catalog *cat, model *md, const tuple *t, cts_rng *r)
{
    cts_tag tags[NK];
    uint32_t n = tuple_tags(t, r, tags), id = 0;
    bool is_new = false;
    assert_int_equal(cts_catalog_series_intern(cat, meas_pool[t->m], tags, n, &id, &is_new),
                     CTS_OK);
    int *slot = &md->id_of[tuple_index(t)];
    if (*slot < 0) {
        assert_true(is_new);
        assert_int_equal(id, md->count);
        *slot = (int)id;
        md->by_id[md->count++] = *t;
    } else {
        assert_false(is_new);
        assert_int_equal(id, (uint32_t)*slot);
    }
}

/* Reverse lookup of every id equals its tuple, tags sorted by key. */
static void check_reverse(cts_catalog *cat, const model *md)
{
    assert_int_equal(cts_catalog_series_count(cat), md->count);
    for (uint32_t id = 0; id < md->count; id++) {
        const tuple *t = &md->by_id[id];
        cts_str m;
        cts_tag tags[NK];
        size_t n = 0;
        assert_int_equal(cts_catalog_series_get(cat, id, &m, tags, NK, &n), CTS_OK);
        assert_true(str_eq(m, meas_pool[t->m]));
        size_t want = 0;
        for (int k = 0; k < NK; k++)
            want += t->v[k] >= 0;
        assert_int_equal(n, want);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                assert_true(bytes_cmp(tags[i - 1].key, tags[i].key) < 0);
            int k = 0;
            while (k < NK && !str_eq(key_pool[k], tags[i].key))
                k++;
            assert_true(k < NK);
            assert_true(t->v[k] >= 0 && str_eq(tags[i].value, val_pool[t->v[k]]));
        }
        cts_rng r = {id};
        cts_tag perm[NK];
        uint32_t np = tuple_tags(t, &r, perm), found = UINT32_MAX;
        assert_int_equal(cts_catalog_series_find(cat, meas_pool[t->m], perm, np, &found), CTS_OK);
        assert_int_equal(found, id);
    }
}

/* Postings of (m, k, v) equal the model's ids; v < 0 means the whole
 * measurement. */
static void check_one_postings(cts_catalog *cat, const model *md, int m, int k, int v)
{
    uint32_t *got = NULL;
    size_t n = 0, want = 0;
    int rc = v < 0 ? cts_catalog_measurement_series(cat, meas_pool[m], &got, &n)
                   : cts_catalog_postings(cat, meas_pool[m], key_pool[k], val_pool[v], &got, &n);
    assert_int_equal(rc, CTS_OK);
    for (uint32_t id = 0; id < md->count; id++) {
        const tuple *t = &md->by_id[id];
        if (t->m == m && (v < 0 || t->v[k] == v)) {
            assert_true(want < n);
            assert_int_equal(got[want], id);
            want++;
        }
    }
    assert_int_equal(n, want);
    cts_free(got);
}

static bool odd_length(void *arg, const char *value, size_t len)
{
    (void)value;
    (*(int *)arg)++;
    return len % 2 == 1;
}

static void check_matching(cts_catalog *cat, const model *md, int m, int k)
{
    uint32_t *got = NULL;
    size_t n = 0, want = 0;
    int calls = 0;
    assert_int_equal(
        cts_catalog_postings_matching(cat, meas_pool[m], key_pool[k], odd_length, &calls, &got, &n),
        CTS_OK);
    for (uint32_t id = 0; id < md->count; id++) {
        const tuple *t = &md->by_id[id];
        if (t->m == m && t->v[k] >= 0 && val_pool[t->v[k]].len % 2 == 1) {
            assert_true(want < n);
            assert_int_equal(got[want++], id);
        }
    }
    assert_int_equal(n, want);
    cts_free(got);
}

/* Tag keys of m and values of (m, k) are the model's, sorted. */
static void check_keys_values(cts_catalog *cat, const model *md, int m)
{
    bool key_used[NK] = {0}, val_used[NK][NV] = {{0}};
    for (uint32_t id = 0; id < md->count; id++)
        for (int k = 0; k < NK; k++)
            if (md->by_id[id].m == m && md->by_id[id].v[k] >= 0)
                key_used[k] = val_used[k][md->by_id[id].v[k]] = true;
    cts_str *keys = NULL;
    size_t nkeys = 0, want_keys = 0;
    assert_int_equal(cts_catalog_tag_keys(cat, meas_pool[m], &keys, &nkeys), CTS_OK);
    for (int k = 0; k < NK; k++) {
        if (!key_used[k])
            continue;
        want_keys++;
        cts_str *vals = NULL;
        size_t nvals = 0, want_vals = 0;
        assert_int_equal(cts_catalog_tag_values(cat, meas_pool[m], key_pool[k], &vals, &nvals),
                         CTS_OK);
        for (int v = 0; v < NV; v++)
            want_vals += val_used[k][v];
        assert_int_equal(nvals, want_vals);
        for (size_t i = 1; i < nvals; i++)
            assert_true(bytes_cmp(vals[i - 1], vals[i]) < 0);
        cts_free(vals);
        for (int v = 0; v < NV; v++)
            check_one_postings(cat, md, m, k, v);
        check_matching(cat, md, m, k);
    }
    assert_int_equal(nkeys, want_keys);
    for (size_t i = 1; i < nkeys; i++)
        assert_true(bytes_cmp(keys[i - 1], keys[i]) < 0);
    cts_free(keys);
    check_one_postings(cat, md, m, 0, -1);
}

static void check_all(cts_catalog *cat, const model *md)
{
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
    check_reverse(cat, md);
    cts_str *ms = NULL;
    size_t nm = 0;
    assert_int_equal(cts_catalog_measurements(cat, &ms, &nm), CTS_OK);
    for (size_t i = 1; i < nm; i++)
        assert_true(bytes_cmp(ms[i - 1], ms[i]) < 0);
    cts_free(ms);
    for (int m = 0; m < NM; m++)
        check_keys_values(cat, md, m);
}

static void test_model_random(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        cts_rng r = {seed};
        model md;
        model_init(&md);
        cts_catalog *cat = new_catalog(0);
        for (int i = 0; i < 3000; i++) {
            tuple t = random_tuple(&r);
            intern_checked(cat, &md, &t, &r);
            /* Re-intern an earlier series now and then: a duplicate. */
            if (md.count && cts_rng_below(&r, 4) == 0)
                intern_checked(cat, &md, &md.by_id[cts_rng_below(&r, md.count)], &r);
        }
        check_all(cat, &md);
        cts_catalog_destroy(cat);
        model_free(&md);
    }
}

static void test_unknown_names_are_empty(void **state)
{
    (void)state;
    cts_catalog *cat = new_catalog(0);
    cts_tag tag = {S("city"), S("lisbon")};
    uint32_t id, *ids = (uint32_t *)1;
    size_t n = 9;
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), &tag, 1, &id, NULL), CTS_OK);
    assert_int_equal(cts_catalog_postings(cat, S("air"), S("city"), S("porto"), &ids, &n), CTS_OK);
    assert_null(ids);
    assert_int_equal(n, 0);
    assert_int_equal(cts_catalog_postings(cat, S("nope"), S("city"), S("x"), &ids, &n), CTS_OK);
    assert_int_equal(n, 0);
    cts_str *strs = (cts_str *)1;
    assert_int_equal(cts_catalog_tag_values(cat, S("air"), S("nope"), &strs, &n), CTS_OK);
    assert_null(strs);
    assert_int_equal(cts_catalog_series_find(cat, S("air"), NULL, 0, &id), CTS_ENOTFOUND);
    assert_int_equal(cts_catalog_series_get(cat, 5, NULL, NULL, 0, &n), CTS_ENOTFOUND);
    /* A series without tags is a series. */
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), NULL, 0, &id, NULL), CTS_OK);
    assert_int_equal(id, 1);
    assert_int_equal(cts_catalog_series_find(cat, S("air"), NULL, 0, &id), CTS_OK);
    assert_int_equal(id, 1);
    cts_catalog_destroy(cat);
}

static void test_invalid_series(void **state)
{
    (void)state;
    cts_catalog *cat = new_catalog(0);
    uint32_t id;
    cts_tag dup[] = {{S("city"), S("a")}, {S("sensor"), S("b")}, {S("city"), S("c")}};
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), dup, 3, &id, NULL), CTS_EINVAL);
    assert_non_null(strstr(cts_catalog_errmsg(cat), "duplicate tag key"));
    cts_tag empty_v = {S("city"), S("")}, empty_k = {S(""), S("x")};
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), &empty_v, 1, &id, NULL), CTS_EINVAL);
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), &empty_k, 1, &id, NULL), CTS_EINVAL);
    assert_int_equal(cts_catalog_series_intern(cat, S(""), NULL, 0, &id, NULL), CTS_EINVAL);
    /* A key over 64 KiB in total, each part within limits. */
    char *big = malloc(40000);
    assert_non_null(big);
    memset(big, 'v', 40000);
    cts_tag two[] = {{S("a"), {big, 40000}}, {S("b"), {big, 40000}}};
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), two, 2, &id, NULL), CTS_EINVAL);
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), two, 1, &id, NULL), CTS_OK);
    assert_int_equal(cts_catalog_series_find(cat, S("air"), dup, 3, &id), CTS_EINVAL);
    free(big);
    assert_int_equal(cts_catalog_series_count(cat), 1);
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
    cts_catalog_destroy(cat);
}

static void test_series_text(void **state)
{
    (void)state;
    cts_catalog *cat = new_catalog(0);
    uint32_t a, b;
    cts_tag t1[] = {{S("sensor"), S("lis-air-0042")}, {S("city"), S("lisbon")}};
    cts_tag t2[] = {{S("k=1"), S("a b,c")}, {S("x y"), S("=")}};
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), t1, 2, &a, NULL), CTS_OK);
    assert_int_equal(cts_catalog_series_intern(cat, S("my m,x=1"), t2, 2, &b, NULL), CTS_OK);
    char buf[128];
    int n = cts_catalog_series_text(cat, a, buf, sizeof buf);
    assert_int_equal(n, strlen("air,city=lisbon,sensor=lis-air-0042"));
    assert_memory_equal(buf, "air,city=lisbon,sensor=lis-air-0042", (size_t)n);
    const char *want = "my\\ m\\,x=1,k\\=1=a\\ b\\,c,x\\ y=\\=";
    n = cts_catalog_series_text(cat, b, buf, sizeof buf);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, (size_t)n);
    for (size_t cap = 0; cap < strlen(want); cap++)
        assert_int_equal(cts_catalog_series_text(cat, b, buf, cap), CTS_ENOSPACE);
    assert_int_equal(cts_catalog_series_text(cat, 7, buf, sizeof buf), CTS_ENOTFOUND);
    cts_tag few[1];
    size_t nt = 0;
    assert_int_equal(cts_catalog_series_get(cat, a, NULL, few, 1, &nt), CTS_ENOSPACE);
    assert_int_equal(nt, 2);
    cts_catalog_destroy(cat);
}

static void test_series_limit(void **state)
{
    (void)state;
    cts_catalog *cat = new_catalog(3);
    uint32_t id;
    cts_str vals[] = {S("a"), S("b"), S("c"), S("d")};
    for (int i = 0; i < 3; i++) {
        cts_tag t = {S("sensor"), vals[i]};
        assert_int_equal(cts_catalog_series_intern(cat, S("air"), &t, 1, &id, NULL), CTS_OK);
    }
    cts_tag t = {S("sensor"), vals[3]};
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), &t, 1, &id, NULL), CTS_ELIMIT);
    assert_string_equal(cts_catalog_errmsg(cat), "max series limit reached: 3");
    /* Existing series still resolve at the limit. */
    cts_tag old = {S("sensor"), vals[1]};
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), &old, 1, &id, NULL), CTS_OK);
    assert_int_equal(id, 1);
    /* Restores ignore the limit: lowering it never hides data. */
    cts_catalog *other = new_catalog(0);
    assert_int_equal(cts_catalog_series_intern(other, S("air"), &t, 1, &id, NULL), CTS_OK);
    const uint8_t *key;
    size_t len;
    assert_int_equal(cts_catalog_series_key(other, id, &key, &len), CTS_OK);
    assert_int_equal(cts_catalog_series_restore(cat, 3, key, len), CTS_OK);
    assert_int_equal(cts_catalog_series_count(cat), 4);
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
    cts_catalog_destroy(other);
    cts_catalog_destroy(cat);
}

static void test_fields(void **state)
{
    (void)state;
    cts_catalog *cat = new_catalog(0);
    uint32_t id, id2;
    cts_type existing = 0;
    bool is_new = false;
    assert_int_equal(
        cts_catalog_field_intern(cat, S("air"), S("pm25"), CTS_TYPE_FLOAT, &id, &existing, &is_new),
        CTS_OK);
    assert_true(is_new);
    assert_int_equal(id, 0);
    assert_int_equal(cts_catalog_field_intern(cat, S("air"), S("pm25"), CTS_TYPE_FLOAT, &id2,
                                              &existing, &is_new),
                     CTS_OK);
    assert_false(is_new);
    assert_int_equal(id2, id);
    assert_int_equal(
        cts_catalog_field_intern(cat, S("air"), S("pm25"), CTS_TYPE_STRING, &id2, &existing, NULL),
        CTS_ETYPE);
    assert_int_equal(existing, CTS_TYPE_FLOAT);
    assert_string_equal(
        cts_catalog_errmsg(cat),
        "field type conflict: \"pm25\" on measurement \"air\" is float, got string");
    /* Same name on another measurement is another field; ids are global. */
    assert_int_equal(
        cts_catalog_field_intern(cat, S("traffic"), S("pm25"), CTS_TYPE_INT, &id2, NULL, NULL),
        CTS_OK);
    assert_int_equal(id2, 1);
    assert_int_equal(
        cts_catalog_field_intern(cat, S("air"), S("co2"), CTS_TYPE_UINT, &id2, NULL, NULL), CTS_OK);
    assert_int_equal(id2, 2);
    assert_int_equal(cts_catalog_field_intern(cat, S("air"), S("x"), (cts_type)9, &id2, NULL, NULL),
                     CTS_EINVAL);
    cts_field_info *fi = NULL;
    size_t n = 0;
    assert_int_equal(cts_catalog_field_keys(cat, S("air"), &fi, &n), CTS_OK);
    assert_int_equal(n, 2);
    assert_true(str_eq(fi[0].name, S("co2")) && fi[0].type == CTS_TYPE_UINT && fi[0].id == 2);
    assert_true(str_eq(fi[1].name, S("pm25")) && fi[1].type == CTS_TYPE_FLOAT && fi[1].id == 0);
    cts_free(fi);
    cts_type ty;
    cts_str m, name;
    assert_int_equal(cts_catalog_field_find(cat, S("traffic"), S("pm25"), &id2, &ty), CTS_OK);
    assert_true(id2 == 1 && ty == CTS_TYPE_INT);
    assert_int_equal(cts_catalog_field_find(cat, S("traffic"), S("co2"), &id2, &ty), CTS_ENOTFOUND);
    assert_int_equal(cts_catalog_field_get(cat, 1, &m, &name, &ty), CTS_OK);
    assert_true(str_eq(m, S("traffic")) && str_eq(name, S("pm25")));
    assert_int_equal(cts_catalog_field_get(cat, 3, &m, &name, &ty), CTS_ENOTFOUND);
    assert_int_equal(cts_catalog_field_count(cat), 3);
    /* A measurement known only through its fields is listed. */
    cts_str *ms = NULL;
    assert_int_equal(cts_catalog_measurements(cat, &ms, &n), CTS_OK);
    assert_int_equal(n, 2);
    cts_free(ms);
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
    cts_catalog_destroy(cat);
}

static void test_field_restore(void **state)
{
    (void)state;
    cts_catalog *cat = new_catalog(0);
    assert_int_equal(cts_catalog_field_restore(cat, 0, S("air"), S("pm25"), CTS_TYPE_FLOAT),
                     CTS_OK);
    assert_int_equal(cts_catalog_field_restore(cat, 0, S("air"), S("pm25"), CTS_TYPE_FLOAT),
                     CTS_OK);
    assert_int_equal(cts_catalog_field_restore(cat, 0, S("air"), S("pm25"), CTS_TYPE_INT),
                     CTS_ECORRUPT);
    assert_int_equal(cts_catalog_field_restore(cat, 0, S("air"), S("pm10"), CTS_TYPE_FLOAT),
                     CTS_ECORRUPT);
    assert_int_equal(cts_catalog_field_restore(cat, 2, S("air"), S("pm10"), CTS_TYPE_FLOAT),
                     CTS_ECORRUPT);
    assert_int_equal(cts_catalog_field_restore(cat, 1, S("air"), S("pm25"), CTS_TYPE_FLOAT),
                     CTS_ECORRUPT);
    assert_int_equal(cts_catalog_field_restore(cat, 1, S("air"), S(""), CTS_TYPE_FLOAT),
                     CTS_ECORRUPT);
    assert_int_equal(cts_catalog_field_restore(cat, 1, S("air"), S("pm10"), CTS_TYPE_BOOL), CTS_OK);
    assert_int_equal(cts_catalog_field_count(cat), 2);
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
    cts_catalog_destroy(cat);
}

/* Canonical key of (m, tags) as another catalog builds it. */
static size_t key_of(cts_str m, const cts_tag *tags, uint32_t n, uint8_t *out)
{
    cts_catalog *cat = new_catalog(0);
    uint32_t id;
    const uint8_t *key;
    size_t len;
    assert_int_equal(cts_catalog_series_intern(cat, m, tags, n, &id, NULL), CTS_OK);
    assert_int_equal(cts_catalog_series_key(cat, id, &key, &len), CTS_OK);
    memcpy(out, key, len);
    cts_catalog_destroy(cat);
    return len;
}

static void test_series_restore(void **state)
{
    (void)state;
    cts_catalog *cat = new_catalog(0);
    uint8_t k0[64], k1[64];
    cts_tag a = {S("city"), S("lisbon")}, b = {S("city"), S("porto")};
    size_t l0 = key_of(S("air"), &a, 1, k0), l1 = key_of(S("air"), &b, 1, k1);
    /* The canonical form, byte by byte. */
    const uint8_t want[] = {3,   'a', 'i', 'r', 1,   4,   'c', 'i', 't',
                            'y', 6,   'l', 'i', 's', 'b', 'o', 'n'};
    assert_int_equal(l0, sizeof want);
    assert_memory_equal(k0, want, sizeof want);
    assert_int_equal(cts_catalog_series_restore(cat, 1, k0, l0), CTS_ECORRUPT); /* gap */
    assert_int_equal(cts_catalog_series_restore(cat, 0, k0, l0), CTS_OK);
    assert_int_equal(cts_catalog_series_restore(cat, 0, k0, l0), CTS_OK); /* identical */
    assert_int_equal(cts_catalog_series_restore(cat, 0, k1, l1), CTS_ECORRUPT);
    assert_int_equal(cts_catalog_series_restore(cat, 1, k0, l0), CTS_ECORRUPT); /* dup key */
    assert_int_equal(cts_catalog_series_restore(cat, 1, k1, l1), CTS_OK);
    uint32_t id;
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), &b, 1, &id, NULL), CTS_OK);
    assert_int_equal(id, 1);
    assert_int_equal(cts_catalog_series_count(cat), 2);
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
    cts_catalog_destroy(cat);
}

static void test_malformed_keys(void **state)
{
    (void)state;
    const uint8_t ok[] = {1, 'm', 2, 1, 'a', 1, 'x', 1, 'b', 1, 'y'};
    const struct {
        const uint8_t *key;
        size_t len;
    } bad[] = {
        {(const uint8_t[]){0}, 0},                                          /* empty */
        {(const uint8_t[]){0, 0}, 2},                                       /* empty measurement */
        {(const uint8_t[]){1, 'm'}, 2},                                     /* no tag count */
        {(const uint8_t[]){1, 'm', 0, 0}, 4},                               /* trailing byte */
        {(const uint8_t[]){1, 'm', 1, 1, 'a', 0}, 6},                       /* empty value */
        {(const uint8_t[]){1, 'm', 1, 1, 'a', 2, 'x'}, 7},                  /* value runs out */
        {(const uint8_t[]){0x81, 0, 'm', 0}, 4},                            /* non-minimal varint */
        {(const uint8_t[]){1, 'm', 2, 1, 'b', 1, 'x', 1, 'a', 1, 'y'}, 11}, /* unsorted */
        {(const uint8_t[]){1, 'm', 2, 1, 'a', 1, 'x', 1, 'a', 1, 'y'}, 11}, /* duplicate */
        {(const uint8_t[]){1, 'm', 0xff, 0xff, 0xff, 0x7f}, 6},             /* huge count */
    };
    cts_str m;
    cts_tag tags[4];
    size_t n;
    assert_int_equal(cts_series_key_decode(ok, sizeof ok, &m, tags, 4, &n), CTS_OK);
    assert_int_equal(n, 2);
    assert_true(str_eq(tags[1].key, S("b")) && str_eq(tags[1].value, S("y")));
    assert_int_equal(cts_series_key_decode(ok, sizeof ok, &m, tags, 1, &n), CTS_ENOSPACE);
    cts_catalog *cat = new_catalog(0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cts_series_key_decode(bad[i].key, bad[i].len, &m, tags, 4, &n),
                         CTS_ECORRUPT);
        assert_int_equal(cts_catalog_series_restore(cat, 0, bad[i].key, bad[i].len), CTS_ECORRUPT);
    }
    /* Every truncation of a good key is malformed. */
    for (size_t len = 0; len < sizeof ok; len++)
        assert_int_equal(cts_series_key_decode(ok, len, &m, tags, 4, &n), CTS_ECORRUPT);
    assert_int_equal(cts_catalog_series_count(cat), 0);
    cts_catalog_destroy(cat);
}

/* cts_catalog_check notices each kind of damage (and the catalog is put
 * back before it is destroyed). */
static void test_check_detects_damage(void **state)
{
    (void)state;
    cts_catalog *cat = new_catalog(0);
    model md;
    model_init(&md);
    cts_rng r = {11};
    for (int i = 0; i < 200; i++) {
        tuple t = random_tuple(&r);
        t.v[0] = i % NV;
        intern_checked(cat, &md, &t, &r);
    }
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
    meas *m = cat->meas[0];
    tagkey *tk = m->keys[0];
    tagval *tv = &tk->values[0];
    uint32_t *ids = tv->ids.cap ? tv->ids.u.heap : tv->ids.u.inl;
    assert_true(tv->ids.count >= 2);
    uint32_t save = ids[0];
    ids[0] = ids[1]; /* not strictly increasing */
    assert_int_equal(cts_catalog_check(cat), CTS_ECORRUPT);
    ids[0] = save;
    tv->ids.count--; /* a series missing from its value's list */
    assert_int_equal(cts_catalog_check(cat), CTS_ECORRUPT);
    assert_non_null(strstr(cts_catalog_errmsg(cat), "index totals disagree"));
    tv->ids.count++;
    tv->len--; /* the value no longer matches the keys of its list */
    assert_int_equal(cts_catalog_check(cat), CTS_ECORRUPT);
    tv->len++;
    m->series.count--;
    assert_int_equal(cts_catalog_check(cat), CTS_ECORRUPT);
    m->series.count++;
    uint64_t handle = cat->series[3];
    cat->series[3] = cat->series[4]; /* a key that maps to another id */
    assert_int_equal(cts_catalog_check(cat), CTS_ECORRUPT);
    assert_non_null(strstr(cts_catalog_errmsg(cat), "series 3"));
    cat->series[3] = handle;
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
    cts_catalog_destroy(cat);
    model_free(&md);
}

/* ------------------------------------------------------------------------
 * Allocation failure: every call fails cleanly or succeeds, nothing leaks,
 * and the catalog equals the model of the calls that succeeded.
 * ------------------------------------------------------------------------ */

typedef struct alloc_run {
    model md;
    uint32_t fields_ok;
    int field_id[NM][3]; /* -1 if never added */
} alloc_run;

static const cts_str field_pool[] = {S("pm25"), S("temp"), S("on")};

static void alloc_workload(cts_catalog *cat, alloc_run *ar)
{
    cts_rng r = {7};
    for (int i = 0; i < 40; i++) {
        tuple t = random_tuple(&r);
        cts_tag tags[NK];
        uint32_t n = tuple_tags(&t, &r, tags), id;
        bool is_new;
        int rc = cts_catalog_series_intern(cat, meas_pool[t.m], tags, n, &id, &is_new);
        assert_true(rc == CTS_OK || rc == CTS_ENOMEM);
        if (rc == CTS_OK && is_new) {
            ar->md.id_of[tuple_index(&t)] = (int)id;
            ar->md.by_id[ar->md.count++] = t;
        }
        int fm = (int)cts_rng_below(&r, NM), ff = (int)cts_rng_below(&r, 3);
        rc = cts_catalog_field_intern(cat, meas_pool[fm], field_pool[ff], CTS_TYPE_FLOAT, &id, NULL,
                                      &is_new);
        assert_true(rc == CTS_OK || rc == CTS_ENOMEM);
        if (rc == CTS_OK && is_new) {
            assert_int_equal(id, ar->fields_ok);
            ar->field_id[fm][ff] = (int)ar->fields_ok++;
        }
    }
}

static void alloc_verify(cts_catalog *cat, const alloc_run *ar)
{
    check_all(cat, &ar->md);
    assert_int_equal(cts_catalog_field_count(cat), ar->fields_ok);
    for (int m = 0; m < NM; m++)
        for (int f = 0; f < 3; f++) {
            uint32_t id;
            int rc = cts_catalog_field_find(cat, meas_pool[m], field_pool[f], &id, NULL);
            if (ar->field_id[m][f] < 0) {
                assert_int_equal(rc, CTS_ENOTFOUND);
            } else {
                assert_int_equal(rc, CTS_OK);
                assert_int_equal(id, (uint32_t)ar->field_id[m][f]);
            }
        }
}

static void test_alloc_failure(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        alloc_run ar = {.fields_ok = 0};
        model_init(&ar.md);
        memset(ar.field_id, 0xff, sizeof ar.field_id);
        cts_catalog *cat = NULL;
        cts_catalog_options o = {.hash_seed = 9};
        cts_alloc_fail_after(n);
        int rc = cts_catalog_create(&o, &cat);
        assert_true(rc == CTS_OK || rc == CTS_ENOMEM);
        if (rc == CTS_OK)
            alloc_workload(cat, &ar);
        long failures = cts_alloc_failures();
        cts_alloc_fail_after(-1);
        if (cat) {
            alloc_verify(cat, &ar);
            /* Still usable: a failed call left no half-added state. */
            tuple t = {.m = 0, .v = {1, 2, 3, 4, 5}};
            cts_rng r = {1};
            intern_checked(cat, &ar.md, &t, &r);
            assert_int_equal(cts_catalog_check(cat), CTS_OK);
        }
        cts_catalog_destroy(cat);
        model_free(&ar.md);
        if (failures == 0)
            break;
    }
}

/* ------------------------------------------------------------------------
 * Concurrency: one writer, several readers; everything a reader gets is
 * consistent and stays valid while the writer goes on.
 * ------------------------------------------------------------------------ */

#define CONC_SERIES 20000u

typedef struct conc {
    cts_catalog *cat;
    _Atomic int done;
    long reads, bad;
} conc;

static void series_tags(uint32_t i, char *sensor, size_t cap, cts_tag *tags)
{
    static const char *cities[] = {"lisbon", "porto", "braga", "faro", "evora", "coimbra"};
    int n = snprintf(sensor, cap, "s-%06u", i);
    tags[0] = (cts_tag){S("city"), {cities[i % 6], (uint32_t)strlen(cities[i % 6])}};
    tags[1] = (cts_tag){S("sensor"), {sensor, (uint32_t)n}};
}

/* cmocka's asserts may only run on the test's thread: readers count
 * failures instead. */
static void *reader_main(void *arg)
{
    conc *c = arg;
    long reads = 0;
    while (!c->done || reads < 50) {
        uint32_t count = cts_catalog_series_count(c->cat);
        uint32_t *ids = NULL;
        size_t n = 0;
        if (cts_catalog_postings(c->cat, S("air"), S("city"), S("porto"), &ids, &n) != CTS_OK ||
            !cts_postings_valid(ids, n))
            c->bad++;
        for (size_t i = 0; i < n; i++)
            c->bad += ids[i] % 6 != 1 || ids[i] >= CONC_SERIES;
        cts_free(ids);
        if (count) {
            uint32_t id = count - 1;
            char text[128], sensor[16], want[128];
            cts_tag tags[2];
            series_tags(id, sensor, sizeof sensor, tags);
            int len = cts_catalog_series_text(c->cat, id, text, sizeof text);
            int wl = snprintf(want, sizeof want, "air,city=%.*s,sensor=%s", (int)tags[0].value.len,
                              tags[0].value.ptr, sensor);
            c->bad += len != wl || memcmp(text, want, (size_t)wl) != 0;
        }
        cts_str *vals = NULL;
        c->bad += cts_catalog_tag_values(c->cat, S("air"), S("city"), &vals, &n) != CTS_OK || n > 6;
        cts_free(vals);
        reads++;
    }
    c->reads = reads;
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    (void)state;
    conc c[3];
    pthread_t th[3];
    cts_catalog *cat = new_catalog(0);
    for (int i = 0; i < 3; i++) {
        c[i] = (conc){.cat = cat};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &c[i]), 0);
    }
    cts_str first_sensor = {NULL, 0};
    for (uint32_t i = 0; i < CONC_SERIES; i++) {
        char sensor[16];
        cts_tag tags[2];
        uint32_t id;
        series_tags(i, sensor, sizeof sensor, tags);
        assert_int_equal(cts_catalog_series_intern(cat, S("air"), tags, 2, &id, NULL), CTS_OK);
        assert_int_equal(id, i);
        if (i == 0) {
            cts_tag got[2];
            size_t n;
            assert_int_equal(cts_catalog_series_get(cat, 0, NULL, got, 2, &n), CTS_OK);
            first_sensor = got[1].value;
        }
    }
    for (int i = 0; i < 3; i++)
        c[i].done = 1;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(c[i].bad, 0);
        assert_true(c[i].reads >= 50);
    }
    /* A borrowed string taken before 20000 inserts is still intact. */
    assert_true(str_eq(first_sensor, S("s-000000")));
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
    cts_catalog_destroy(cat);
}

/* ------------------------------------------------------------------------
 * Scale: bytes per series and lookups per second, printed for the record.
 * ------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One series of the scale run: `air,city=<6>,district=<20>,sensor=<unique>`,
 * tags deliberately unsorted; inputs are laid out in arrays as a parse
 * buffer would hold them, so the lookups measure the catalog only. */
typedef struct scale_input {
    char district[16], sensor[24];
    cts_tag tags[3];
} scale_input;

static void scale_fill(scale_input *x, uint32_t i)
{
    static const char *cities[] = {"lisbon", "porto", "braga", "faro", "evora", "coimbra"};
    const char *city = cities[i % 6];
    int nd = snprintf(x->district, sizeof x->district, "district-%02u", (i / 6) % 20);
    int ns = snprintf(x->sensor, sizeof x->sensor, "%.3s-air-%07u", city, i);
    x->tags[0] = (cts_tag){S("sensor"), {x->sensor, (uint32_t)ns}};
    x->tags[1] = (cts_tag){S("city"), {city, (uint32_t)strlen(city)}};
    x->tags[2] = (cts_tag){S("district"), {x->district, (uint32_t)nd}};
}

/* Interns every input; returns lookups (or inserts) per second. */
static double scale_pass(cts_catalog *cat, const scale_input *in, uint32_t n, uint64_t *sum)
{
    double t0 = now_s();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t id;
        assert_int_equal(cts_catalog_series_intern(cat, S("air"), in[i].tags, 3, &id, NULL),
                         CTS_OK);
        *sum += id;
    }
    return n / (now_s() - t0);
}

static void test_scale_report(void **state)
{
    (void)state;
    const char *env = getenv("CTS_CATALOG_SCALE");
    uint32_t n = env ? (uint32_t)strtoul(env, NULL, 10) : 100000;
    scale_input *seq = malloc((size_t)n * sizeof *seq), *rnd = malloc((size_t)n * sizeof *rnd);
    assert_non_null(seq);
    assert_non_null(rnd);
    cts_rng r = {3};
    for (uint32_t i = 0; i < n; i++) {
        scale_fill(&seq[i], i);
        scale_fill(&rnd[i], (uint32_t)cts_rng_below(&r, n));
    }
    cts_catalog *cat = new_catalog(0);
    uint64_t sum = 0;
    double ins = scale_pass(cat, seq, n, &sum);
    double in_order = scale_pass(cat, seq, n, &sum), random = scale_pass(cat, rnd, n, &sum);
    size_t bytes = cts_catalog_memory_bytes(cat);
    print_message("catalog scale: %u series, %.1f bytes/series, inserts %.2f M/s, lookups %.2f "
                  "M/s in creation order, %.2f M/s in random order (checksum %llu)\n",
                  n, (double)bytes / n, ins / 1e6, in_order / 1e6, random / 1e6,
                  (unsigned long long)sum);
    /* Memory is asserted (it is the documented cost); speed is not. */
    assert_true(bytes / n < 200);
    cts_catalog_destroy(cat);
    free(seq);
    free(rnd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_random),   cmocka_unit_test(test_unknown_names_are_empty),
        cmocka_unit_test(test_invalid_series), cmocka_unit_test(test_series_text),
        cmocka_unit_test(test_series_limit),   cmocka_unit_test(test_fields),
        cmocka_unit_test(test_field_restore),  cmocka_unit_test(test_series_restore),
        cmocka_unit_test(test_malformed_keys), cmocka_unit_test(test_check_detects_damage),
        cmocka_unit_test(test_alloc_failure),  cmocka_unit_test(test_concurrent_readers),
        cmocka_unit_test(test_scale_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
