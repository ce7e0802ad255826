/*
 * catalog.h: the series catalog and tag index of one database. Private to
 * engine/; the public engine API wraps it.
 *
 * What it holds (InfluxDB's data model):
 *   - series: a measurement plus its tag set (keys unique, sorted bytewise),
 *     identified by a dense id 0, 1, 2, ... in order of creation;
 *   - fields: per measurement, field name -> (dense global field id, type);
 *   - the inverted tag index: per measurement its series ids; per
 *     (measurement, tag key) the distinct values; per (measurement, key,
 *     value) the sorted series ids that carry it (the postings).
 *
 * The canonical series key is binary and unambiguous (any byte may appear in
 * a name, no escaping): the measurement and then the tags sorted by key, each
 * string prefixed by its length as an LEB128 varint in minimal form:
 *
 *     key := len(m) m ntags { len(k) k len(v) v }*ntags
 *
 * Every string is 1..65535 bytes, tag keys are strictly increasing (bytewise,
 * shorter first on a common prefix), and the whole key is at most
 * CTS_SERIES_KEY_MAX bytes. Two tag sets that differ only in order have the
 * same key, hence the same id. docs/format-catalog.md has the file format.
 *
 * Lifetime:   create -> [open -> load] -> intern/restore/sync ... -> destroy
 * A catalog that is never opened is purely in memory (sync does nothing).
 *
 * Threads. One writer thread and any number of reader threads. Functions
 * marked WRITER must be called by one thread at a time (the engine's write
 * path); they take the write lock only while they change the catalog, so the
 * writer looks up existing series without locking. Functions marked READER
 * may run on any thread, concurrently with each other and with the writer;
 * they take a read lock (writer-preferring, not recursive: a READER callback
 * must not call the catalog). The catalog only grows: a reader that needs one
 * consistent view across several calls reads cts_catalog_series_count first
 * and ignores ids at or above it.
 *
 * Borrowed strings. Every string the catalog hands out (measurement, tag
 * key, tag value, field name, canonical key bytes) points into an arena that
 * is never moved or freed before cts_catalog_destroy: it stays valid across
 * later inserts, on any thread. Arrays of ids and of cts_str are copied into
 * cts_malloc'ed memory that the caller frees with cts_free.
 *
 * Memory: 147 bytes per series for 1M series of
 * `air,city=<6>,district=<20>,sensor=<unique>` (cts_catalog_memory_bytes;
 * glibc's mallinfo2 counts the same 147, allocator overhead included). Per
 * series: its entry in the arena (4-byte id, length, ~60 key bytes), an
 * 8-byte handle, 8-16 bytes of hash slot, 4 bytes in each postings list it
 * joins plus growth slack, and for each tag value it introduces a 24-byte
 * entry and 8-16 bytes of hash slot. Run test_catalog with
 * CTS_CATALOG_SCALE=1000000 to measure it again.
 *
 * Speed (Release, jemalloc, a shared 2-vCPU VM on which one dependent
 * cache miss costs ~435 ns; inputs laid out as a parse buffer holds them):
 * interning an existing series costs ~50 ns when the catalog is in cache
 * (10k series: ~10M lookups/s, either order). Beyond the cache a lookup is
 * bound by two dependent misses, the slot and then the entry (key and id
 * side by side): 100k series 11-14M/s in creation order, 3.5-4.6M/s in
 * random order; 1M series 2.5-3.9M/s and 1.0-1.8M/s (the spread is the
 * machine's load). test_catalog's scale test prints these figures.
 */
#ifndef CTS_CATALOG_H
#define CTS_CATALOG_H

#include "cts_engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest canonical series key, in bytes (as InfluxDB's 64 KiB key limit). */
#define CTS_SERIES_KEY_MAX 65535u
/* Longest measurement, tag key, tag value or field name, in bytes. */
#define CTS_CATALOG_NAME_MAX 65535u
/* Most series a catalog can hold (ids 0 .. CTS_CATALOG_SERIES_MAX - 1). */
#define CTS_CATALOG_SERIES_MAX (UINT32_MAX - 1u)
/* Most fields a catalog can hold, over all measurements. */
#define CTS_CATALOG_FIELDS_MAX (UINT32_MAX - 1u)
/* The text form of a series key (cts_catalog_series_text) never exceeds
 * this many bytes: every byte escaped at worst doubles. */
#define CTS_SERIES_TEXT_MAX (2u * CTS_SERIES_KEY_MAX)
/* Capacity of the detailed error message kept on the handle. */
#define CTS_CATALOG_ERRMSG_MAX 512

typedef struct cts_catalog cts_catalog;

/* cts_tag (one tag: key and value, not NUL-terminated) is the public type
 * of cts_engine.h. */

/* One field of a measurement, as enumerated by cts_catalog_field_keys. */
typedef struct cts_field_info {
    cts_str name; /* borrowed: valid until cts_catalog_destroy */
    cts_type type;
    uint32_t id;
} cts_field_info;

typedef struct cts_catalog_options {
    /* Most series cts_catalog_series_intern may create; 0 means
     * CTS_CATALOG_SERIES_MAX. Restores and loads ignore it, so lowering the
     * limit never hides existing series. */
    uint32_t max_series;
    /* Seed of the hash tables; 0 picks a random seed so that crafted keys
     * cannot force collisions. Tests pass a fixed seed. Never stored. */
    uint64_t hash_seed;
} cts_catalog_options;

/* What cts_catalog_open found in the file. */
typedef struct cts_catalog_report {
    bool created;         /* the file did not exist and was created */
    uint64_t file_bytes;  /* size of the file as found */
    uint64_t records;     /* valid records loaded (commit records included) */
    uint64_t torn_offset; /* where a torn tail began (when torn_bytes > 0) */
    uint64_t torn_bytes;  /* bytes truncated from a torn tail; 0 if none */
} cts_catalog_report;

/* ------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------ */

/*
 * Create an empty in-memory catalog. opts may be NULL (defaults).
 * Errors: CTS_ENOMEM. On success *out owns the catalog; free it with
 * cts_catalog_destroy. WRITER (no other thread can know the handle yet).
 */
CTS_MUST_USE int cts_catalog_create(const cts_catalog_options *opts, cts_catalog **out);

/*
 * Attach the file `catalog` in directory `dir` through `vfs` and load it. A
 * missing file is created crash-safely (written as catalog.tmp, fsynced,
 * renamed, directory fsynced); a leftover catalog.tmp is removed. A torn tail
 * (a bad or truncated record with no valid commit record after it) is
 * truncated, fsynced and described in *report (which may be NULL) and in
 * cts_catalog_errmsg, though the call succeeds.
 *
 * `vfs` must outlive the catalog; `dir` is copied.
 * Errors: CTS_EINVAL (catalog not empty or already open, NULL argument),
 * CTS_ECORRUPT (bad header, a bad record followed by a valid commit record,
 * a valid record that contradicts the ones before it; the message names the
 * file and byte offset), CTS_EVERSION, CTS_ENOMEM, or an I/O error mapped by
 * cts_err_from_errno. cts_catalog_errmsg has the details. After a failure
 * the handle may hold part of the file: only cts_catalog_errmsg and
 * cts_catalog_destroy may follow. WRITER.
 */
CTS_MUST_USE int cts_catalog_open(cts_catalog *cat, const cts_vfs *vfs, const char *dir,
                                  cts_catalog_report *report);

/*
 * Write every definition added since the last sync (with a commit record)
 * at the end of the file and fsync it. Nothing to write: returns 0 without
 * I/O; in-memory catalog: returns 0. The engine calls this before it deletes
 * WAL segments, whose records also carry new definitions.
 * Errors: CTS_ENOMEM (nothing written; may be retried), CTS_EPOISONED (an
 * earlier sync failed), or the I/O error of a failed write or fsync, which
 * poisons the catalog: every later WRITER call that would change it returns
 * CTS_EPOISONED until it is destroyed and reopened (lookups keep working).
 * WRITER; does no I/O under the lock, so readers are never blocked on disk.
 */
CTS_MUST_USE int cts_catalog_sync(cts_catalog *cat);

/* Close the file (without syncing: unsynced definitions are dropped, the
 * WAL still has them) and free everything. NULL is a no-op. WRITER, and no
 * reader may be inside or enter a call on `cat`. */
void cts_catalog_destroy(cts_catalog *cat);

/* The detailed message of the last failed WRITER call, e.g. "max series
 * limit reached: 1000000"; "" if none. Owned by the handle, valid until the
 * next WRITER call. WRITER thread only. */
const char *cts_catalog_errmsg(const cts_catalog *cat);

/* ------------------------------------------------------------------------
 * Series
 * ------------------------------------------------------------------------ */

/*
 * Lookup-or-insert the series (measurement, tags[0..ntags)), tags in any
 * order. Sets *id and *is_new (is_new may be NULL). A new series gets the
 * next id and is queued for the next sync.
 * Errors: CTS_EINVAL (empty or over-long measurement, tag key or value, a
 * duplicate tag key, key over CTS_SERIES_KEY_MAX), CTS_ELIMIT (new series
 * past max_series; message "max series limit reached: N"), CTS_EPOISONED,
 * CTS_ENOMEM. On error nothing changed. WRITER.
 */
CTS_MUST_USE int cts_catalog_series_intern(cts_catalog *cat, cts_str measurement,
                                           const cts_tag *tags, uint32_t ntags, uint32_t *id,
                                           bool *is_new);

/*
 * Replay: add the series with canonical key key[0..key_len) under `id`.
 * `id` must be the next id (the series is added and queued for the next
 * sync) or an existing id with the identical key (nothing to do).
 * Errors: CTS_ECORRUPT (malformed key, id neither next nor identical, key
 * already present under another id, id past CTS_CATALOG_SERIES_MAX),
 * CTS_EPOISONED, CTS_ENOMEM. Ignores max_series. WRITER.
 */
CTS_MUST_USE int cts_catalog_series_restore(cts_catalog *cat, uint32_t id, const uint8_t *key,
                                            size_t key_len);

/* Number of series; ids are 0 .. count-1. READER. */
uint32_t cts_catalog_series_count(cts_catalog *cat);

/*
 * Find an existing series by measurement and tags (any order).
 * Errors: CTS_ENOTFOUND, CTS_EINVAL (as intern), CTS_ENOMEM (only for tag
 * sets of more than 64 tags or keys over 1 KiB, which need scratch memory).
 * READER.
 */
CTS_MUST_USE int cts_catalog_series_find(cts_catalog *cat, cts_str measurement, const cts_tag *tags,
                                         uint32_t ntags, uint32_t *id);

/*
 * The canonical key of series `id`: *key, *key_len, borrowed until
 * cts_catalog_destroy. This is what the WAL stores and
 * cts_catalog_series_restore takes. Errors: CTS_ENOTFOUND. READER.
 */
CTS_MUST_USE int cts_catalog_series_key(cts_catalog *cat, uint32_t id, const uint8_t **key,
                                        size_t *key_len);

/*
 * Reverse lookup: the measurement and tags (sorted by key) of series `id`,
 * strings borrowed until cts_catalog_destroy. *ntags receives the number of
 * tags even when tags_cap is too small.
 * Errors: CTS_ENOTFOUND, CTS_ENOSPACE (tags_cap < *ntags; nothing written
 * to tags). READER.
 */
CTS_MUST_USE int cts_catalog_series_get(cts_catalog *cat, uint32_t id, cts_str *measurement,
                                        cts_tag *tags, size_t tags_cap, size_t *ntags);

/*
 * The series key of `id` in InfluxDB's text form, written to dst[0..dst_cap)
 * without a NUL: `air,city=lisbon,sensor=lis-air-0042`, with a backslash
 * before commas and spaces in the measurement and before commas, equals
 * signs and spaces in tag keys and values. Returns the length, or
 * CTS_ENOTFOUND, or CTS_ENOSPACE (nothing useful in dst; a dst_cap of
 * CTS_SERIES_TEXT_MAX always suffices). READER.
 */
CTS_MUST_USE int cts_catalog_series_text(cts_catalog *cat, uint32_t id, char *dst, size_t dst_cap);

/* ------------------------------------------------------------------------
 * Fields
 * ------------------------------------------------------------------------ */

/*
 * Lookup-or-insert field `name` of `measurement` with `type`. Sets *id, and
 * *existing (may be NULL) to the field's stored type; *is_new may be NULL.
 * Errors: CTS_ETYPE (the field exists with another type, reported in
 * *existing; nothing changed; the message reads `field type conflict:
 * "pm25" on measurement "air" is float, got string`), CTS_EINVAL (empty or
 * over-long name, unknown type), CTS_ELIMIT (CTS_CATALOG_FIELDS_MAX fields),
 * CTS_EPOISONED, CTS_ENOMEM. WRITER.
 */
CTS_MUST_USE int cts_catalog_field_intern(cts_catalog *cat, cts_str measurement, cts_str name,
                                          cts_type type, uint32_t *id, cts_type *existing,
                                          bool *is_new);

/*
 * Replay: add field (measurement, name, type) under `id`, which must be the
 * next field id or an existing one with identical measurement, name and
 * type. Errors: CTS_ECORRUPT (otherwise, or the field already exists under
 * another id, or bad name/type), CTS_EPOISONED, CTS_ENOMEM. WRITER.
 */
CTS_MUST_USE int cts_catalog_field_restore(cts_catalog *cat, uint32_t id, cts_str measurement,
                                           cts_str name, cts_type type);

/* Number of fields over all measurements; ids are 0 .. count-1. READER. */
uint32_t cts_catalog_field_count(cts_catalog *cat);

/* Find a field. Errors: CTS_ENOTFOUND. id and type may be NULL. READER. */
CTS_MUST_USE int cts_catalog_field_find(cts_catalog *cat, cts_str measurement, cts_str name,
                                        uint32_t *id, cts_type *type);

/* A field by id; strings borrowed until cts_catalog_destroy; any output may
 * be NULL. Errors: CTS_ENOTFOUND. READER. */
CTS_MUST_USE int cts_catalog_field_get(cts_catalog *cat, uint32_t id, cts_str *measurement,
                                       cts_str *name, cts_type *type);

/* ------------------------------------------------------------------------
 * Enumeration for the query layer. Each copies its result into one
 * cts_malloc'ed array (*out, *count elements; *out is NULL when *count is
 * 0) that the caller frees with cts_free; the strings inside are borrowed
 * until cts_catalog_destroy. Strings sort bytewise (shorter first on a
 * common prefix), ids ascending. An unknown measurement, key or value gives
 * an empty result, not an error. Errors: CTS_ENOMEM (*out NULL, *count 0).
 * All READER.
 * ------------------------------------------------------------------------ */

/* Measurements, including one known only through its fields. */
CTS_MUST_USE int cts_catalog_measurements(cts_catalog *cat, cts_str **out, size_t *count);
CTS_MUST_USE int cts_catalog_tag_keys(cts_catalog *cat, cts_str measurement, cts_str **out,
                                      size_t *count);
CTS_MUST_USE int cts_catalog_tag_values(cts_catalog *cat, cts_str measurement, cts_str key,
                                        cts_str **out, size_t *count);
CTS_MUST_USE int cts_catalog_field_keys(cts_catalog *cat, cts_str measurement, cts_field_info **out,
                                        size_t *count);
/* Series ids of a measurement. */
CTS_MUST_USE int cts_catalog_measurement_series(cts_catalog *cat, cts_str measurement,
                                                uint32_t **out, size_t *count);
/* Series ids carrying tag key=value in measurement (the postings). */
CTS_MUST_USE int cts_catalog_postings(cts_catalog *cat, cts_str measurement, cts_str key,
                                      cts_str value, uint32_t **out, size_t *count);
/*
 * Union of the postings of every value of (measurement, key) for which
 * match(arg, value, len) is true: what `key =~ /re/` selects. `match` runs
 * under the read lock: it must not call the catalog. READER.
 */
CTS_MUST_USE int cts_catalog_postings_matching(cts_catalog *cat, cts_str measurement, cts_str key,
                                               bool (*match)(void *arg, const char *value,
                                                             size_t len),
                                               void *arg, uint32_t **out, size_t *count);

/* ------------------------------------------------------------------------
 * Integrity and accounting
 * ------------------------------------------------------------------------ */

/* Bytes the catalog's shared structures have allocated (capacities, not
 * allocator overhead); the writer's buffers (definitions pending a sync,
 * scratch space for one key) are not counted. READER. */
size_t cts_catalog_memory_bytes(cts_catalog *cat);

/*
 * Check every invariant: each key decodes and maps back to its id, postings
 * are strictly increasing and agree with the keys, every index entry is
 * reachable, fields agree with their measurements. Returns 0 or
 * CTS_ECORRUPT (describing the first violation in errmsg) or CTS_ENOMEM.
 * For tests and `cityts verify`. WRITER (it writes errmsg).
 */
CTS_MUST_USE int cts_catalog_check(cts_catalog *cat);

/* ------------------------------------------------------------------------
 * Canonical keys (pure functions, thread-safe)
 * ------------------------------------------------------------------------ */

/*
 * Decode key[0..key_len) into *measurement and tags (pointing into key).
 * *ntags receives the number of tags even when tags_cap is too small.
 * Errors: CTS_ECORRUPT (not a canonical key), CTS_ENOSPACE (tags_cap too
 * small; the key was validated).
 */
CTS_MUST_USE int cts_series_key_decode(const uint8_t *key, size_t key_len, cts_str *measurement,
                                       cts_tag *tags, size_t tags_cap, size_t *ntags);

#endif
