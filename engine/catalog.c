/*
 * catalog.c: the catalog's in-memory structures and every change to them:
 * creating and destroying the handle, the arena, the string hash table, the
 * postings lists, and adding series and fields (intern and restore).
 *
 * Every change is prepare-then-commit (see catalog_int.h): prepare reserves
 * capacity and allocates detached objects, commit links them with steps
 * that cannot fail. A failed prepare frees its detached objects and leaves
 * only spare capacity behind, so the catalog never holds half a series.
 *
 * The writer's fast path, interning a series that exists, sorts the tags
 * into scratch space, builds the canonical key there, hashes it and probes
 * the series table: no lock, no allocation after warm-up, one comparison of
 * key bytes in the common case.
 */
#include "catalog_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define ARENA_MIN_CHUNK 4096u
#define ARENA_MAX_CHUNK (1u << ARENA_OFF_BITS)

int cat_error(cts_catalog *cat, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cat->errmsg, sizeof cat->errmsg, fmt, ap);
    va_end(ap);
    return rc;
}

/* ------------------------------------------------------------------------
 * Growable arrays
 * ------------------------------------------------------------------------ */

/* Returns arr grown to hold `need` elements (1.5x steps), or arr unchanged
 * with *rc = CTS_ENOMEM. */
static void *reserve_array(void *arr, uint32_t *cap, uint64_t need, size_t elem, int *rc)
{
    if (need <= *cap)
        return arr;
    uint64_t ncap = *cap < 4 ? 4 : (uint64_t)*cap + *cap / 2;
    if (ncap < need)
        ncap = need;
    if (ncap > UINT32_MAX)
        ncap = UINT32_MAX;
    void *p = need > UINT32_MAX ? NULL : cts_realloc(arr, (size_t)ncap * elem);
    if (!p) {
        *rc = CTS_ENOMEM;
        return arr;
    }
    *cap = (uint32_t)ncap;
    return p;
}

#define RESERVE(arr, cap, need, rc)                                                                \
    ((arr) = reserve_array((arr), &(cap), (uint64_t)(need), sizeof *(arr), &(rc)), (rc))

/* ------------------------------------------------------------------------
 * Arena: reserve then take, so a change can fail before it touches bytes.
 * ------------------------------------------------------------------------ */

/* Makes n <= 1 MiB contiguous bytes available in the last chunk. */
static int arena_reserve(cat_arena *a, size_t n)
{
    int rc = CTS_OK;
    if (a->nchunks && a->cap - a->used >= n)
        return CTS_OK;
    if (a->nchunks >= ARENA_MAX_CHUNKS ||
        RESERVE(a->chunks, a->chunks_cap, (uint64_t)a->nchunks + 1, rc))
        return CTS_ENOMEM;
    size_t cap = a->next_cap > n ? a->next_cap : n;
    uint8_t *c = cts_malloc(cap);
    if (!c)
        return CTS_ENOMEM;
    a->chunks[a->nchunks++] = c;
    a->used = 0;
    a->cap = cap;
    a->bytes += cap;
    if (a->next_cap < ARENA_MAX_CHUNK)
        a->next_cap *= 2;
    return CTS_OK;
}

/* Takes n reserved bytes; *handle (if not NULL) names them. */
static uint8_t *arena_take(cat_arena *a, size_t n, uint64_t *handle)
{
    uint8_t *p = a->chunks[a->nchunks - 1] + a->used;
    if (handle)
        *handle = ((uint64_t)(a->nchunks - 1) << ARENA_OFF_BITS) | a->used;
    a->used += n;
    return p;
}

static void arena_free(cat_arena *a)
{
    for (uint32_t i = 0; i < a->nchunks; i++)
        cts_free(a->chunks[i]);
    cts_free(a->chunks);
    a->chunks = NULL;
    a->nchunks = a->chunks_cap = 0;
}

/* ------------------------------------------------------------------------
 * The string hash table
 * ------------------------------------------------------------------------ */

static int strmap_reserve(strmap *m, uint32_t extra)
{
    uint64_t need = (uint64_t)m->count + extra;
    uint64_t cap = m->slots ? (uint64_t)m->mask + 1 : 0;
    if (cap && need * 5 <= cap * 4)
        return CTS_OK;
    uint64_t ncap = cap ? cap : 8;
    while (need * 5 > ncap * 4)
        ncap *= 2;
    if (ncap > (1ull << 32))
        return CTS_ENOMEM;
    uint64_t *slots = cts_calloc((size_t)ncap, sizeof *slots);
    if (!slots)
        return CTS_ENOMEM;
    uint32_t mask = (uint32_t)(ncap - 1);
    for (uint64_t i = 0; i < cap; i++) {
        uint64_t s = m->slots[i];
        if (!s)
            continue;
        uint32_t j = (uint32_t)(s >> 32) & mask;
        while (slots[j])
            j = (j + 1) & mask;
        slots[j] = s;
    }
    cts_free(m->slots);
    m->slots = slots;
    m->mask = mask;
    return CTS_OK;
}

/* Requires a prior strmap_reserve; never fails. */
static void strmap_insert(strmap *m, uint32_t h, uint32_t idx)
{
    uint32_t j = h & m->mask;
    while (m->slots[j])
        j = (j + 1) & m->mask;
    m->slots[j] = ((uint64_t)h << 32) | ((uint64_t)idx + 1);
    m->count++;
}

uint32_t strmap_find(const strmap *m, uint32_t h, const void *key, size_t len, strmap_key_fn fn,
                     const void *ctx)
{
    if (!m->slots)
        return CAT_NONE;
    for (uint32_t j = h & m->mask;; j = (j + 1) & m->mask) {
        uint64_t s = m->slots[j];
        if (!s)
            return CAT_NONE;
        if ((uint32_t)(s >> 32) != h)
            continue;
        uint32_t idx = (uint32_t)s - 1;
        size_t klen;
        const uint8_t *k = fn(ctx, idx, &klen);
        if (klen == len && memcmp(k, key, len) == 0)
            return idx;
    }
}

/* ------------------------------------------------------------------------
 * The series table (slot layout in catalog_int.h)
 * ------------------------------------------------------------------------ */

static void series_slot_put(uint64_t *slots, uint32_t mask, uint64_t h, uint64_t handle)
{
    uint32_t j = (uint32_t)h & mask;
    while (slots[j])
        j = (j + 1) & mask;
    slots[j] = ((handle + 1) << SERIES_TAG_BITS) | (h >> (64 - SERIES_TAG_BITS));
}

/* Room for one more series; a bigger table is rebuilt from series[] in id
 * order, so the keys are read sequentially. */
static int series_map_reserve(cts_catalog *cat)
{
    strmap *m = &cat->series_map;
    uint64_t need = (uint64_t)cat->nseries + 1;
    uint64_t cap = m->slots ? (uint64_t)m->mask + 1 : 0;
    if (cap && need * 5 <= cap * 4)
        return CTS_OK;
    uint64_t ncap = cap ? cap * 2 : 64;
    if (ncap > (1ull << 32))
        return CTS_ENOMEM;
    uint64_t *slots = cts_calloc((size_t)ncap, sizeof *slots);
    if (!slots)
        return CTS_ENOMEM;
    uint32_t mask = (uint32_t)(ncap - 1);
    for (uint32_t id = 0; id < cat->nseries; id++) {
        size_t len;
        const uint8_t *key = cat_series_key(cat, id, &len);
        series_slot_put(slots, mask, cat_hash(cat->seed, key, len), cat->series[id]);
    }
    cts_free(m->slots);
    m->slots = slots;
    m->mask = mask;
    return CTS_OK;
}

uint32_t cat_series_lookup(const cts_catalog *cat, const uint8_t *key, size_t len, uint64_t h)
{
    const strmap *m = &cat->series_map;
    if (!m->slots)
        return CAT_NONE;
    uint64_t tag = h >> (64 - SERIES_TAG_BITS);
    for (uint32_t j = (uint32_t)h & m->mask;; j = (j + 1) & m->mask) {
        uint64_t s = m->slots[j];
        if (!s)
            return CAT_NONE;
        if ((s & SERIES_TAG_MASK) != tag)
            continue;
        const uint8_t *entry = cat_arena_ptr(&cat->arena, (s >> SERIES_TAG_BITS) - 1);
        size_t klen;
        const uint8_t *k = cat_entry_key(entry, &klen);
        if (klen == len && memcmp(k, key, len) == 0)
            return cat_entry_id(entry);
    }
}

/* ------------------------------------------------------------------------
 * Postings: up to two ids inline, then a heap array growing by 1.5x.
 * ------------------------------------------------------------------------ */

static int postings_reserve(postings *p, uint32_t extra)
{
    uint64_t have = p->cap ? p->cap : 2, need = (uint64_t)p->count + extra;
    if (need <= have)
        return CTS_OK;
    uint64_t ncap = have < 4 ? 4 : have + have / 2;
    if (ncap < need)
        ncap = need;
    if (ncap > UINT32_MAX)
        ncap = UINT32_MAX;
    uint32_t *ids;
    if (p->cap) {
        ids = cts_realloc(p->u.heap, (size_t)ncap * sizeof *ids);
    } else {
        ids = cts_malloc((size_t)ncap * sizeof *ids);
        if (ids)
            memcpy(ids, p->u.inl, p->count * sizeof *ids);
    }
    if (!ids)
        return CTS_ENOMEM;
    p->u.heap = ids;
    p->cap = (uint32_t)ncap;
    return CTS_OK;
}

static void postings_push(postings *p, uint32_t id)
{
    uint32_t *ids = p->cap ? p->u.heap : p->u.inl;
    ids[p->count++] = id;
}

static void postings_free(postings *p)
{
    if (p->cap)
        cts_free(p->u.heap);
}

/* ------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------ */

static uint64_t random_seed(const void *salt)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s && s)
        return s;
    /* No entropy yet (early boot): address and clock still vary per run. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s = (uint64_t)(uintptr_t)salt ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec;
    return s ? s : 1;
}

int cts_catalog_create(const cts_catalog_options *opts, cts_catalog **out)
{
    if (!out)
        return CTS_EINVAL;
    *out = NULL;
    cts_catalog *cat = cts_calloc(1, sizeof *cat);
    if (!cat)
        return CTS_ENOMEM;
    pthread_rwlockattr_t attr;
    if (pthread_rwlockattr_init(&attr) != 0) {
        cts_free(cat);
        return CTS_ENOMEM;
    }
    /* Writer-preferring: a stream of queries must not starve ingest. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int prc = pthread_rwlock_init(&cat->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (prc != 0) {
        cts_free(cat);
        return CTS_ENOMEM;
    }
    uint32_t max = opts && opts->max_series ? opts->max_series : CTS_CATALOG_SERIES_MAX;
    cat->max_series = max < CTS_CATALOG_SERIES_MAX ? max : CTS_CATALOG_SERIES_MAX;
    cat->seed = opts && opts->hash_seed ? opts->hash_seed : random_seed(cat);
    cat->arena.next_cap = ARENA_MIN_CHUNK;
    cat->fd = -1;
    *out = cat;
    return CTS_OK;
}

static void tagkey_free(tagkey *tk)
{
    if (!tk)
        return;
    for (uint32_t i = 0; i < tk->nvalues; i++)
        postings_free(&tk->values[i].ids);
    cts_free(tk->values);
    cts_free(tk->values_map.slots);
    cts_free(tk);
}

static void meas_free(meas *m)
{
    if (!m)
        return;
    postings_free(&m->series);
    for (uint32_t i = 0; i < m->nkeys; i++)
        tagkey_free(m->keys[i]);
    cts_free(m->keys);
    cts_free(m->keys_map.slots);
    cts_free(m->field_ids);
    cts_free(m->fields_map.slots);
    cts_free(m);
}

void cts_catalog_destroy(cts_catalog *cat)
{
    if (!cat)
        return;
    cat_file_close(cat);
    for (uint32_t i = 0; i < cat->nmeas; i++)
        meas_free(cat->meas[i]);
    cts_free(cat->meas);
    cts_free(cat->meas_map.slots);
    cts_free(cat->fields);
    cts_free(cat->series);
    cts_free(cat->series_map.slots);
    cts_free(cat->scratch.tags);
    cts_free(cat->scratch.plan);
    cts_free(cat->scratch.key);
    arena_free(&cat->arena);
    pthread_rwlock_destroy(&cat->lock);
    cts_free(cat);
}

const char *cts_catalog_errmsg(const cts_catalog *cat)
{
    return cat ? cat->errmsg : "";
}

/* ------------------------------------------------------------------------
 * Lookups (the caller holds a lock or is the writer)
 * ------------------------------------------------------------------------ */

static const uint8_t *meas_key_fn(const void *ctx, uint32_t idx, size_t *len)
{
    const cts_catalog *cat = ctx;
    *len = cat->meas[idx]->name.len;
    return (const uint8_t *)cat->meas[idx]->name.ptr;
}

static const uint8_t *tagkey_key_fn(const void *ctx, uint32_t idx, size_t *len)
{
    const meas *m = ctx;
    *len = m->keys[idx]->name.len;
    return (const uint8_t *)m->keys[idx]->name.ptr;
}

typedef struct value_ctx {
    const cts_catalog *cat;
    const tagkey *tk;
} value_ctx;

static const uint8_t *value_key_fn(const void *ctx, uint32_t idx, size_t *len)
{
    const value_ctx *vc = ctx;
    cts_str s = cat_value_str(vc->cat, &vc->tk->values[idx]);
    *len = s.len;
    return (const uint8_t *)s.ptr;
}

static const uint8_t *field_key_fn(const void *ctx, uint32_t idx, size_t *len)
{
    const cts_catalog *cat = ctx;
    *len = cat->fields[idx].name.len;
    return (const uint8_t *)cat->fields[idx].name.ptr;
}

meas *cat_meas_lookup(const cts_catalog *cat, const void *name, size_t len)
{
    uint32_t h = cat_hash32(cat->seed, name, len);
    uint32_t idx = strmap_find(&cat->meas_map, h, name, len, meas_key_fn, cat);
    return idx == CAT_NONE ? NULL : cat->meas[idx];
}

static tagkey *tagkey_find(const meas *m, const void *name, size_t len, uint32_t h)
{
    uint32_t idx = strmap_find(&m->keys_map, h, name, len, tagkey_key_fn, m);
    return idx == CAT_NONE ? NULL : m->keys[idx];
}

tagkey *cat_tagkey_lookup(const cts_catalog *cat, const meas *m, const void *name, size_t len)
{
    return tagkey_find(m, name, len, cat_hash32(cat->seed, name, len));
}

static uint32_t value_find(const cts_catalog *cat, const tagkey *tk, const void *v, size_t len,
                           uint32_t h)
{
    value_ctx vc = {cat, tk};
    return strmap_find(&tk->values_map, h, v, len, value_key_fn, &vc);
}

uint32_t cat_value_lookup(const cts_catalog *cat, const tagkey *tk, const void *v, size_t len)
{
    return value_find(cat, tk, v, len, cat_hash32(cat->seed, v, len));
}

uint32_t cat_field_lookup(const cts_catalog *cat, const meas *m, const void *name, size_t len)
{
    uint32_t h = cat_hash32(cat->seed, name, len);
    return strmap_find(&m->fields_map, h, name, len, field_key_fn, cat);
}

/* ------------------------------------------------------------------------
 * Adding a series: prepare (may fail, changes nothing visible), commit.
 * ------------------------------------------------------------------------ */

static int reserve_new_meas(cts_catalog *cat, meas **mp)
{
    int rc = CTS_OK;
    *mp = cts_calloc(1, sizeof **mp);
    if (!*mp)
        return CTS_ENOMEM;
    if (RESERVE(cat->meas, cat->meas_cap, (uint64_t)cat->nmeas + 1, rc))
        return rc;
    return strmap_reserve(&cat->meas_map, 1);
}

/* Finds or plans each tag's key and value, reserving what commit needs. */
static int tags_prepare(cts_catalog *cat, meas *m, const key_view *v, tag_plan *plan)
{
    int rc = CTS_OK;
    uint32_t new_keys = 0;
    for (uint32_t i = 0; i < v->ntags; i++) {
        tag_plan *p = &plan[i];
        const cts_tag *t = &v->tags[i];
        p->tk = tagkey_find(m, t->key.ptr, t->key.len, p->hk);
        if (p->tk) {
            p->vidx = value_find(cat, p->tk, t->value.ptr, t->value.len, p->hv);
        } else {
            p->tk = cts_calloc(1, sizeof *p->tk);
            if (!p->tk)
                return CTS_ENOMEM;
            p->new_key = true;
            new_keys++;
        }
        tagkey *tk = p->tk;
        if (p->vidx != CAT_NONE)
            rc = postings_reserve(&tk->values[p->vidx].ids, 1);
        else if (!RESERVE(tk->values, tk->values_cap, (uint64_t)tk->nvalues + 1, rc))
            rc = strmap_reserve(&tk->values_map, 1);
        if (rc)
            return rc;
    }
    if (RESERVE(m->keys, m->keys_cap, (uint64_t)m->nkeys + new_keys, rc))
        return rc;
    return strmap_reserve(&m->keys_map, new_keys);
}

static int series_prepare(cts_catalog *cat, const key_view *v, bool log, meas **mp, tag_plan *plan)
{
    int rc = CTS_OK;
    size_t entry = 4 + cat_varint_size((uint32_t)v->len) + v->len;
    if (RESERVE(cat->series, cat->series_cap, (uint64_t)cat->nseries + 1, rc))
        return rc;
    if ((rc = series_map_reserve(cat)) || (rc = arena_reserve(&cat->arena, entry)))
        return rc;
    if (log && (rc = cat_pending_reserve(cat, cat_series_record_bytes(v->len))))
        return rc;
    *mp = cat_meas_lookup(cat, v->m.ptr, v->m.len);
    if (!*mp && (rc = reserve_new_meas(cat, mp)))
        return rc;
    if ((rc = tags_prepare(cat, *mp, v, plan)))
        return rc;
    return postings_reserve(&(*mp)->series, 1);
}

static cts_str rebase(const uint8_t *base, const key_view *v, cts_str s)
{
    return (cts_str){(const char *)base + (s.ptr - (const char *)v->key), s.len};
}

static void tag_commit(meas *m, tag_plan *p, cts_str key, cts_str value, uint16_t value_off,
                       uint32_t id)
{
    tagkey *tk = p->tk;
    if (p->new_key) {
        tk->name = key;
        m->keys[m->nkeys] = tk;
        strmap_insert(&m->keys_map, p->hk, m->nkeys);
        m->nkeys++;
        p->new_key = false;
    }
    if (p->vidx == CAT_NONE) {
        p->vidx = tk->nvalues++;
        tk->values[p->vidx] = (tagval){.sid = id, .off = value_off, .len = (uint16_t)value.len};
        strmap_insert(&tk->values_map, p->hv, p->vidx);
    }
    postings_push(&tk->values[p->vidx].ids, id);
}

static void series_commit(cts_catalog *cat, const key_view *v, uint64_t h, bool log, meas *m,
                          tag_plan *plan)
{
    uint8_t prefix[8];
    uint32_t id = cat->nseries;
    for (int i = 0; i < 4; i++)
        prefix[i] = (uint8_t)(id >> (8 * i));
    size_t plen = 4 + cat_varint_put(prefix + 4, (uint32_t)v->len);
    uint64_t handle;
    uint8_t *entry = arena_take(&cat->arena, plen + v->len, &handle);
    memcpy(entry, prefix, plen);
    memcpy(entry + plen, v->key, v->len);
    const uint8_t *base = entry + plen;
    cat->series[id] = handle;
    cat->nseries++;
    series_slot_put(cat->series_map.slots, cat->series_map.mask, h, handle);
    cat->series_map.count++;
    if (m->name.ptr == NULL) {
        m->name = rebase(base, v, v->m);
        m->idx = cat->nmeas;
        cat->meas[cat->nmeas] = m;
        strmap_insert(&cat->meas_map, cat_hash32(cat->seed, m->name.ptr, m->name.len), cat->nmeas);
        cat->nmeas++;
    }
    for (uint32_t i = 0; i < v->ntags; i++) {
        const cts_tag *t = &v->tags[i];
        uint16_t voff = (uint16_t)((const uint8_t *)t->value.ptr - v->key);
        tag_commit(m, &plan[i], rebase(base, v, t->key), rebase(base, v, t->value), voff, id);
    }
    postings_push(&m->series, id);
    if (log)
        cat_pending_series(cat, id, base, v->len);
}

static int scratch_plan(cts_catalog *cat, uint32_t n)
{
    int rc = CTS_OK;
    return RESERVE(cat->scratch.plan, cat->scratch.plan_cap, n, rc);
}

int cat_scratch_tags(cts_catalog *cat, size_t n)
{
    int rc = CTS_OK;
    if (n > UINT32_MAX)
        return CTS_ENOMEM;
    return RESERVE(cat->scratch.tags, cat->scratch.tags_cap, n, rc);
}

static int scratch_key(cts_catalog *cat, size_t n)
{
    if (n <= cat->scratch.key_cap)
        return CTS_OK;
    uint8_t *p = cts_realloc(cat->scratch.key, n);
    if (!p)
        return CTS_ENOMEM;
    cat->scratch.key = p;
    cat->scratch.key_cap = n;
    return CTS_OK;
}

/* Adds a decoded, validated key under id nseries. */
static int series_add(cts_catalog *cat, const key_view *v, uint64_t h, bool log)
{
    meas *m = NULL;
    int rc = scratch_plan(cat, v->ntags);
    if (rc)
        return rc;
    tag_plan *plan = cat->scratch.plan;
    for (uint32_t i = 0; i < v->ntags; i++) {
        const cts_tag *t = &v->tags[i];
        plan[i] = (tag_plan){.vidx = CAT_NONE,
                             .hk = cat_hash32(cat->seed, t->key.ptr, t->key.len),
                             .hv = cat_hash32(cat->seed, t->value.ptr, t->value.len)};
    }
    pthread_rwlock_wrlock(&cat->lock);
    rc = series_prepare(cat, v, log, &m, plan);
    if (rc == CTS_OK) {
        series_commit(cat, v, h, log, m, plan);
    } else {
        for (uint32_t i = 0; i < v->ntags; i++)
            if (plan[i].new_key)
                tagkey_free(plan[i].tk);
        if (m && !m->name.ptr)
            meas_free(m);
    }
    pthread_rwlock_unlock(&cat->lock);
    return rc;
}

/* ------------------------------------------------------------------------
 * Series: intern and restore
 * ------------------------------------------------------------------------ */

static bool name_ok(cts_str s)
{
    return s.ptr && s.len > 0 && s.len <= CTS_CATALOG_NAME_MAX;
}

static int canon_error(cts_catalog *msg, const char *what, cts_str m)
{
    if (!msg)
        return CTS_EINVAL;
    return cat_error(msg, CTS_EINVAL, "%s (series of measurement \"%.*s\")", what,
                     (int)(m.len > 200 ? 200 : m.len), m.ptr ? m.ptr : "");
}

/* One pass validates, sizes and copies; tags already in order (what most
 * clients send) skip the sort. */
int cat_canon_prepare(cts_catalog *msg, cts_str m, const cts_tag *tags, uint32_t ntags,
                      cts_tag *sorted, size_t *key_len)
{
    if (!name_ok(m))
        return canon_error(msg, "measurement must be 1..65535 bytes", m);
    size_t n = cat_varint_size(m.len) + m.len + cat_varint_size(ntags);
    bool in_order = true;
    for (uint32_t i = 0; i < ntags; i++) {
        const cts_tag *t = &tags[i];
        if (!name_ok(t->key) || !name_ok(t->value))
            return canon_error(msg, "tag keys and values must be 1..65535 bytes", m);
        n +=
            cat_varint_size(t->key.len) + t->key.len + cat_varint_size(t->value.len) + t->value.len;
        if (in_order && i > 0 &&
            cat_bytes_cmp((const uint8_t *)tags[i - 1].key.ptr, tags[i - 1].key.len,
                          (const uint8_t *)t->key.ptr, t->key.len) >= 0)
            in_order = false;
        sorted[i] = *t;
    }
    if (!in_order && cat_tags_sort(sorted, ntags) != CTS_OK)
        return canon_error(msg, "duplicate tag key", m);
    if (n > CTS_SERIES_KEY_MAX)
        return canon_error(msg, "series key longer than 65535 bytes", m);
    *key_len = n;
    return CTS_OK;
}

/* Decodes key into the scratch tags as a key_view. */
static int view_decode(cts_catalog *cat, const uint8_t *key, size_t len, key_view *v)
{
    size_t n = 0;
    int rc = cat_key_decode(key, len, &v->m, cat->scratch.tags, cat->scratch.tags_cap, &n);
    if (rc == CTS_ENOSPACE) {
        if ((rc = cat_scratch_tags(cat, n)))
            return rc;
        rc = cat_key_decode(key, len, &v->m, cat->scratch.tags, cat->scratch.tags_cap, &n);
    }
    v->key = key;
    v->len = len;
    v->tags = cat->scratch.tags;
    v->ntags = (uint32_t)n;
    return rc;
}

int cts_catalog_series_intern(cts_catalog *cat, cts_str measurement, const cts_tag *tags,
                              uint32_t ntags, uint32_t *id, bool *is_new)
{
    size_t len = 0;
    if (!cat || !id || (ntags && !tags))
        return CTS_EINVAL;
    if (is_new)
        *is_new = false;
    int rc = cat_scratch_tags(cat, ntags);
    if (rc || (rc = cat_canon_prepare(cat, measurement, tags, ntags, cat->scratch.tags, &len)))
        return rc;
    if ((rc = scratch_key(cat, len)))
        return rc;
    uint8_t *key = cat->scratch.key;
    cat_key_write(key, measurement, cat->scratch.tags, ntags);
    uint64_t h = cat_hash(cat->seed, key, len);
    uint32_t found = cat_series_lookup(cat, key, len, h);
    if (found != CAT_NONE) {
        *id = found;
        return CTS_OK;
    }
    if (cat->poisoned)
        return cat_error(cat, CTS_EPOISONED, "catalog poisoned by an earlier sync failure");
    if (cat->nseries >= cat->max_series)
        return cat_error(cat, CTS_ELIMIT, "max series limit reached: %" PRIu32, cat->max_series);
    key_view v;
    if ((rc = view_decode(cat, key, len, &v)) || (rc = series_add(cat, &v, h, true)))
        return rc;
    *id = cat->nseries - 1;
    if (is_new)
        *is_new = true;
    return CTS_OK;
}

int cat_series_restore(cts_catalog *cat, uint32_t id, const uint8_t *key, size_t len, bool log)
{
    key_view v;
    int rc = view_decode(cat, key, len, &v);
    if (rc == CTS_ENOMEM)
        return rc;
    if (rc)
        return cat_error(cat, CTS_ECORRUPT, "series %" PRIu32 ": malformed series key", id);
    uint64_t h = cat_hash(cat->seed, key, len);
    uint32_t found = cat_series_lookup(cat, key, len, h);
    if (found == id && id != CAT_NONE) /* CAT_NONE is "absent", never an id */
        return CTS_OK;
    if (id < cat->nseries)
        return cat_error(cat, CTS_ECORRUPT, "series %" PRIu32 ": key differs from the catalog's",
                         id);
    if (id != cat->nseries || id >= CTS_CATALOG_SERIES_MAX)
        return cat_error(cat, CTS_ECORRUPT, "series %" PRIu32 ": expected the next id %" PRIu32, id,
                         cat->nseries);
    if (found != CAT_NONE)
        return cat_error(cat, CTS_ECORRUPT, "series %" PRIu32 ": key already has id %" PRIu32, id,
                         found);
    if (log && cat->poisoned)
        return cat_error(cat, CTS_EPOISONED, "catalog poisoned by an earlier sync failure");
    return series_add(cat, &v, h, log);
}

int cts_catalog_series_restore(cts_catalog *cat, uint32_t id, const uint8_t *key, size_t key_len)
{
    if (!cat)
        return CTS_EINVAL;
    return cat_series_restore(cat, id, key, key_len, true);
}

/* ------------------------------------------------------------------------
 * Fields
 * ------------------------------------------------------------------------ */

static bool type_ok(cts_type t)
{
    return t >= CTS_TYPE_FLOAT && t <= CTS_TYPE_STRING;
}

static int field_prepare(cts_catalog *cat, meas **mp, cts_str mname, cts_str name, bool log)
{
    int rc = CTS_OK;
    bool new_meas = *mp == NULL;
    if (RESERVE(cat->fields, cat->fields_cap, (uint64_t)cat->nfields + 1, rc))
        return rc;
    if ((rc = arena_reserve(&cat->arena, name.len + (new_meas ? mname.len : 0))))
        return rc;
    if (log && (rc = cat_pending_reserve(cat, cat_field_record_bytes(mname, name))))
        return rc;
    if (new_meas && (rc = reserve_new_meas(cat, mp)))
        return rc;
    meas *m = *mp;
    if (RESERVE(m->field_ids, m->fields_cap, (uint64_t)m->nfields + 1, rc))
        return rc;
    return strmap_reserve(&m->fields_map, 1);
}

static cts_str arena_copy(cts_catalog *cat, cts_str s)
{
    uint8_t *p = arena_take(&cat->arena, s.len, NULL);
    memcpy(p, s.ptr, s.len);
    return (cts_str){(const char *)p, s.len};
}

static void field_commit(cts_catalog *cat, meas *m, cts_str mname, cts_str name, cts_type type,
                         bool log)
{
    if (!m->name.ptr) {
        m->name = arena_copy(cat, mname);
        m->idx = cat->nmeas;
        cat->meas[cat->nmeas] = m;
        strmap_insert(&cat->meas_map, cat_hash32(cat->seed, mname.ptr, mname.len), cat->nmeas);
        cat->nmeas++;
    }
    uint32_t fid = cat->nfields;
    cat->fields[fid] = (field){.meas_idx = m->idx, .type = type, .name = arena_copy(cat, name)};
    cat->nfields++;
    m->field_ids[m->nfields++] = fid;
    strmap_insert(&m->fields_map, cat_hash32(cat->seed, name.ptr, name.len), fid);
    if (log)
        cat_pending_field(cat, fid, mname, name, type);
}

/* Adds field (mname, name) under id nfields; m is its measurement or NULL. */
static int field_add(cts_catalog *cat, meas *m, cts_str mname, cts_str name, cts_type type,
                     bool log)
{
    if (cat->nfields >= CTS_CATALOG_FIELDS_MAX)
        return cat_error(cat, CTS_ELIMIT, "max field count reached: %u", CTS_CATALOG_FIELDS_MAX);
    pthread_rwlock_wrlock(&cat->lock);
    int rc = field_prepare(cat, &m, mname, name, log);
    if (rc == CTS_OK)
        field_commit(cat, m, mname, name, type, log);
    else if (m && !m->name.ptr)
        meas_free(m);
    pthread_rwlock_unlock(&cat->lock);
    return rc;
}

static int field_conflict(cts_catalog *cat, const field *f, cts_str mname, cts_type type)
{
    return cat_error(cat, CTS_ETYPE,
                     "field type conflict: \"%.*s\" on measurement \"%.*s\" is %s, "
                     "got %s",
                     (int)(f->name.len > 200 ? 200 : f->name.len), f->name.ptr,
                     (int)(mname.len > 200 ? 200 : mname.len), mname.ptr, cts_type_name(f->type),
                     cts_type_name(type));
}

int cts_catalog_field_intern(cts_catalog *cat, cts_str measurement, cts_str name, cts_type type,
                             uint32_t *id, cts_type *existing, bool *is_new)
{
    if (!cat || !id)
        return CTS_EINVAL;
    if (is_new)
        *is_new = false;
    if (!name_ok(measurement) || !name_ok(name) || !type_ok(type))
        return cat_error(cat, CTS_EINVAL,
                         "field and measurement names must be 1..%u bytes and "
                         "the type known",
                         CTS_CATALOG_NAME_MAX);
    meas *m = cat_meas_lookup(cat, measurement.ptr, measurement.len);
    uint32_t fid = m ? cat_field_lookup(cat, m, name.ptr, name.len) : CAT_NONE;
    if (fid != CAT_NONE) {
        const field *f = &cat->fields[fid];
        if (existing)
            *existing = f->type;
        if (f->type != type)
            return field_conflict(cat, f, measurement, type);
        *id = fid;
        return CTS_OK;
    }
    if (cat->poisoned)
        return cat_error(cat, CTS_EPOISONED, "catalog poisoned by an earlier sync failure");
    int rc = field_add(cat, m, measurement, name, type, true);
    if (rc)
        return rc;
    *id = cat->nfields - 1;
    if (existing)
        *existing = type;
    if (is_new)
        *is_new = true;
    return CTS_OK;
}

static bool str_eq(cts_str a, cts_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

int cat_field_restore(cts_catalog *cat, uint32_t id, cts_str mname, cts_str name, cts_type type,
                      bool log)
{
    if (!name_ok(mname) || !name_ok(name) || !type_ok(type))
        return cat_error(cat, CTS_ECORRUPT, "field %" PRIu32 ": bad name or type", id);
    meas *m = cat_meas_lookup(cat, mname.ptr, mname.len);
    uint32_t found = m ? cat_field_lookup(cat, m, name.ptr, name.len) : CAT_NONE;
    if (found == id && id != CAT_NONE && cat->fields[id].type == type)
        return CTS_OK;
    if (id < cat->nfields) {
        const field *f = &cat->fields[id];
        bool same = str_eq(f->name, name) && str_eq(cat->meas[f->meas_idx]->name, mname);
        return cat_error(cat, CTS_ECORRUPT, "field %" PRIu32 ": %s differs from the catalog's", id,
                         same ? "type" : "name");
    }
    if (id != cat->nfields || id >= CTS_CATALOG_FIELDS_MAX)
        return cat_error(cat, CTS_ECORRUPT, "field %" PRIu32 ": expected the next id %" PRIu32, id,
                         cat->nfields);
    if (found != CAT_NONE)
        return cat_error(cat, CTS_ECORRUPT, "field %" PRIu32 ": field already has id %" PRIu32, id,
                         found);
    if (log && cat->poisoned)
        return cat_error(cat, CTS_EPOISONED, "catalog poisoned by an earlier sync failure");
    return field_add(cat, m, mname, name, type, log);
}

int cts_catalog_field_restore(cts_catalog *cat, uint32_t id, cts_str measurement, cts_str name,
                              cts_type type)
{
    if (!cat)
        return CTS_EINVAL;
    return cat_field_restore(cat, id, measurement, name, type, true);
}
