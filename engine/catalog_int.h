/*
 * catalog_int.h: the private structures shared by the catalog's files
 * (catalog.c: structures and writes; catalog_key.c: canonical keys and
 * hashing; catalog_read.c: reader lookups and enumeration; catalog_check.c:
 * the integrity validator; catalog_file.c: persistence). Only these files
 * and the catalog's own tests include it.
 *
 * Layout and invariants (the "what must stay true" of the whole catalog):
 *
 *   arena        Chunks of at most 1 MiB that are never moved or freed
 *                before destroy, listed in a table so that a 64-bit handle
 *                (chunk index << 20 | offset) names any byte. Holds every
 *                series entry and the names no key contains (field names,
 *                measurements known only through fields). Every string
 *                handed to a reader points here.
 *   entry        A series in the arena: [u32 id][varint key length][key].
 *   series[id]   Handle of series id's entry, for id < nseries.
 *   series_map   Open-addressing table: canonical key -> entry. A slot is
 *                (entry handle + 1) << 20 | the top 20 bits of the key's
 *                64-bit hash, 0 meaning empty; the slot index is the hash's
 *                low bits, linear probing, load at most 4/5, no deletions.
 *                A lookup reads one slot and one entry (key and id side by
 *                side): two cache misses for a cold series. Slots hold no
 *                position bits, so growing the table re-hashes the keys in
 *                id order, which reads the arena sequentially.
 *   strmap       The other tables (measurements, tag keys, tag values,
 *                fields): slot = hash32 << 32 | index + 1, index = hash32 &
 *                mask, same probing and load.
 *   meas[]       One struct per measurement; names unique.
 *   tagkey       Per measurement and tag key: its distinct values; a value
 *                is (sid, off, len): bytes off..off+len of series sid's key,
 *                the first series that carried it, so values cost no copy.
 *   postings     Strictly increasing ids. Ids only ever get appended in
 *                increasing order (a new series takes id nseries), which
 *                keeps every list sorted without sorting. Up to two ids live
 *                inline (most values of a unique tag carry one series).
 *   fields[]     Global, dense; each measurement lists its field ids.
 *
 * Writes follow prepare-then-commit: every allocation a change needs is made
 * first (capacity reservations, detached new objects), and only then is the
 * catalog changed, by steps that cannot fail. So an error at any point leaves
 * the catalog as it was, and an allocation failure never needs undoing.
 *
 * Locking: all changes happen under the write lock; readers hold the read
 * lock; the single writer thread reads without a lock.
 */
#ifndef CTS_CATALOG_INT_H
#define CTS_CATALOG_INT_H

#include "catalog.h"

#include <pthread.h>
#include <stdarg.h>

#define CAT_NONE UINT32_MAX

/* ---- arena ---- */
#define ARENA_OFF_BITS 20u                 /* a chunk holds at most 1 MiB */
#define ARENA_MAX_CHUNKS ((1u << 24) - 1u) /* handle + 1 fits 44 bits */
#define SERIES_TAG_BITS 20u
#define SERIES_TAG_MASK ((1ull << SERIES_TAG_BITS) - 1)

typedef struct cat_arena {
    uint8_t **chunks; /* chunk data; the last one is being filled */
    uint32_t nchunks, chunks_cap;
    size_t used, cap; /* of the last chunk */
    size_t next_cap;  /* size of the next chunk (doubles up to 1 MiB) */
    size_t bytes;     /* all chunks */
} cat_arena;

static inline const uint8_t *cat_arena_ptr(const cat_arena *a, uint64_t handle)
{
    return a->chunks[handle >> ARENA_OFF_BITS] + (handle & ((1u << ARENA_OFF_BITS) - 1));
}

/* ---- string -> index hash table ---- */
typedef struct strmap {
    uint64_t *slots;
    uint32_t mask; /* capacity - 1; capacity is a power of two (or 0) */
    uint32_t count;
} strmap;

/* Returns the bytes of entry idx (and their length) for comparisons. */
typedef const uint8_t *(*strmap_key_fn)(const void *ctx, uint32_t idx, size_t *len);

/* ---- postings ---- */
typedef struct postings {
    uint32_t count;
    uint32_t cap; /* 0: the ids are in inl[] (at most 2) */
    union {
        uint32_t *heap;
        uint32_t inl[2];
    } u;
} postings;

typedef struct tagval {
    uint32_t sid;
    uint16_t off;
    uint16_t len;
    postings ids;
} tagval;

typedef struct tagkey {
    cts_str name; /* in the arena */
    tagval *values;
    uint32_t nvalues, values_cap;
    strmap values_map;
} tagkey;

typedef struct meas {
    cts_str name; /* in the arena */
    uint32_t idx; /* position in cat->meas */
    postings series;
    tagkey **keys;
    uint32_t nkeys, keys_cap;
    strmap keys_map;
    uint32_t *field_ids;
    uint32_t nfields, fields_cap;
    strmap fields_map;
} meas;

typedef struct field {
    uint32_t meas_idx;
    cts_type type;
    cts_str name; /* in the arena */
} field;

/* A canonical key and the strings in it (pointing into `key`). */
typedef struct key_view {
    const uint8_t *key;
    size_t len;
    cts_str m;
    cts_tag *tags;
    uint32_t ntags;
} key_view;

/* What a new series needs per tag, found in the prepare phase. */
typedef struct tag_plan {
    tagkey *tk;
    uint32_t vidx;   /* CAT_NONE: a new value */
    bool new_key;    /* tk is detached until commit */
    uint32_t hk, hv; /* hashes of key and value */
} tag_plan;

/* Writer-only buffers reused across calls, so lookups do not allocate. */
typedef struct cat_scratch {
    cts_tag *tags;
    uint32_t tags_cap;
    tag_plan *plan;
    uint32_t plan_cap;
    uint8_t *key;
    size_t key_cap;
} cat_scratch;

struct cts_catalog {
    pthread_rwlock_t lock;
    uint64_t seed;
    uint32_t max_series;

    cat_arena arena;
    uint64_t *series; /* entry handles */
    uint32_t nseries, series_cap;
    strmap series_map; /* slots as described above, not strmap's */
    meas **meas;
    uint32_t nmeas, meas_cap;
    strmap meas_map;
    field *fields;
    uint32_t nfields, fields_cap;
    cat_scratch scratch;

    /* Persistence; writer only, never read by readers. */
    const cts_vfs *vfs; /* NULL: in memory */
    int fd;
    char *dir, *path;
    uint64_t file_end;
    uint8_t *pending; /* records not yet written, in file format */
    size_t pending_len, pending_cap;
    bool poisoned;
    int poison_rc;

    char errmsg[CTS_CATALOG_ERRMSG_MAX];
};

/* ---- catalog_key.c ---- */
uint64_t cat_hash(uint64_t seed, const void *data, size_t len);
static inline uint32_t cat_hash32(uint64_t seed, const void *data, size_t len)
{
    uint64_t h = cat_hash(seed, data, len);
    return (uint32_t)(h ^ (h >> 32));
}
size_t cat_varint_put(uint8_t *p, uint32_t v);
static inline size_t cat_varint_size(uint32_t v)
{
    return v < 0x80 ? 1 : v < 0x4000 ? 2 : 3;
}
/* Minimal-form varint of at most 3 bytes (< 2^21); 0 if malformed. */
size_t cat_varint_get(const uint8_t *p, size_t len, uint32_t *v);
int cat_bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Sort tags in place by key; CTS_EINVAL on a duplicate key. */
int cat_tags_sort(cts_tag *tags, uint32_t ntags);
void cat_key_write(uint8_t *dst, cts_str m, const cts_tag *tags, uint32_t ntags);
/* Validate key and fill v (v->tags must hold tags_cap entries). */
int cat_key_decode(const uint8_t *key, size_t len, cts_str *m, cts_tag *tags, size_t tags_cap,
                   size_t *ntags);
/* The key bytes of a series entry (trusted: written by the catalog). */
static inline const uint8_t *cat_entry_key(const uint8_t *entry, size_t *len)
{
    const uint8_t *p = entry + 4;
    uint32_t n = p[0] & 0x7f;
    size_t used = 1;
    if (p[0] & 0x80) {
        n |= (uint32_t)(p[1] & 0x7f) << 7;
        used = 2;
        if (p[1] & 0x80) {
            n |= (uint32_t)p[2] << 14;
            used = 3;
        }
    }
    *len = n;
    return p + used;
}
static inline uint32_t cat_entry_id(const uint8_t *entry)
{
    return (uint32_t)entry[0] | (uint32_t)entry[1] << 8 | (uint32_t)entry[2] << 16 |
           (uint32_t)entry[3] << 24;
}
int cat_key_text(const uint8_t *key, size_t len, char *dst, size_t cap);

/* ---- catalog.c ---- */
int cat_error(cts_catalog *cat, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint32_t strmap_find(const strmap *m, uint32_t h, const void *key, size_t len, strmap_key_fn fn,
                     const void *ctx);
static inline const uint32_t *postings_ids(const postings *p)
{
    return p->cap ? p->u.heap : p->u.inl;
}
/* Lookups used by readers and the writer (caller holds a lock or is the
 * writer); CAT_NONE / NULL when absent. */
uint32_t cat_series_lookup(const cts_catalog *cat, const uint8_t *key, size_t len, uint64_t h);
/* The canonical key of series id < nseries. */
static inline const uint8_t *cat_series_key(const cts_catalog *cat, uint32_t id, size_t *len)
{
    return cat_entry_key(cat_arena_ptr(&cat->arena, cat->series[id]), len);
}
meas *cat_meas_lookup(const cts_catalog *cat, const void *name, size_t len);
tagkey *cat_tagkey_lookup(const cts_catalog *cat, const meas *m, const void *name, size_t len);
uint32_t cat_value_lookup(const cts_catalog *cat, const tagkey *tk, const void *v, size_t len);
uint32_t cat_field_lookup(const cts_catalog *cat, const meas *m, const void *name, size_t len);
static inline cts_str cat_value_str(const cts_catalog *cat, const tagval *tv)
{
    size_t len;
    const uint8_t *key = cat_series_key(cat, tv->sid, &len);
    return (cts_str){(const char *)key + tv->off, tv->len};
}
/* The restore rules of cts_catalog_series_restore / _field_restore; `log`
 * queues an added entry for the next sync (loading the file does not). */
int cat_series_restore(cts_catalog *cat, uint32_t id, const uint8_t *key, size_t len, bool log);
int cat_field_restore(cts_catalog *cat, uint32_t id, cts_str m, cts_str name, cts_type type,
                      bool log);
/* Sort a copy of tags into sorted[0..ntags) and size the canonical key of
 * (m, sorted). CTS_EINVAL with a message in `msg` (when not NULL). */
int cat_canon_prepare(cts_catalog *msg, cts_str m, const cts_tag *tags, uint32_t ntags,
                      cts_tag *sorted, size_t *key_len);
/* Grows the writer's scratch tag array to n entries. */
int cat_scratch_tags(cts_catalog *cat, size_t n);

/* ---- catalog_file.c ---- */
/* Queue a record in the pending buffer (capacity reserved by the caller
 * through cat_pending_reserve). */
int cat_pending_reserve(cts_catalog *cat, size_t record_bytes);
size_t cat_series_record_bytes(size_t key_len);
size_t cat_field_record_bytes(cts_str m, cts_str name);
void cat_pending_series(cts_catalog *cat, uint32_t id, const uint8_t *key, size_t key_len);
void cat_pending_field(cts_catalog *cat, uint32_t id, cts_str m, cts_str name, cts_type type);
void cat_file_close(cts_catalog *cat);

#endif
