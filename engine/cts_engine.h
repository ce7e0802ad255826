/*
 * cts_engine.h: the public contract of the cityts engine (the database).
 *
 * engine/ owns the database: names, series catalog and tag index, the write
 * path (WAL -> head -> sealed blocks in time partitions), recovery,
 * retention, deletes and snapshot reads. It reaches the disk only through
 * cts_storage.h and knows nothing of query syntax or HTTP.
 *
 * Threads: a cts_db is safe for one or more writer threads (cts_db_write,
 * cts_db_delete, cts_db_flush, cts_db_enforce_retention are serialised
 * internally; concurrent writers share WAL group commits) and any number of
 * reader threads (catalog listings and cursors). A cursor belongs to the
 * thread that uses it and sees a snapshot taken when it was opened: writes
 * that complete later are invisible to it, and it stays valid while writes,
 * sealing and retention continue. Close every cursor before cts_db_close.
 *
 * Errors: functions return 0 (or a count) or a negative cts_err. The handle
 * keeps the detailed message of its last error (file, offset, series);
 * cts_db_errmsg returns it. An I/O failure during a write poisons the handle:
 * later writes fail with CTS_EPOISONED until the database is reopened.
 */
#ifndef CTS_ENGINE_H
#define CTS_ENGINE_H

#include "cts_storage.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest database name, in bytes. */
#define CTS_DB_NAME_MAX 64

/* True when `name` (NUL-terminated) is a valid database name:
 * 1..CTS_DB_NAME_MAX bytes of [A-Za-z0-9_-]. Everything that turns a name
 * into a path checks this first, so no name can escape the data root. */
bool cts_db_name_valid(const char *name);

/* ------------------------------------------------------------------------
 * Opening a database.
 * ------------------------------------------------------------------------ */
typedef enum cts_fsync_policy {
    CTS_DB_FSYNC_ALWAYS = 0,   /* acknowledge after the fdatasync covering the batch */
    CTS_DB_FSYNC_INTERVAL = 1, /* fdatasync at least every fsync_interval_ms (default) */
    CTS_DB_FSYNC_NEVER = 2,    /* leave it to the kernel */
} cts_fsync_policy;

typedef enum cts_io_choice {
    CTS_DB_IO_AUTO = 0,  /* io_uring when the kernel allows it, else pwrite */
    CTS_DB_IO_URING = 1, /* io_uring or fail */
    CTS_DB_IO_PWRITE = 2,
} cts_io_choice;

typedef struct cts_db_opts {
    cts_fsync_policy fsync;
    uint32_t fsync_interval_ms;   /* default 1000 */
    int64_t partition_ns;         /* time partition width; default one UTC day */
    uint64_t memory_budget_bytes; /* heads are sealed past this; default 256 MiB */
    int64_t retention_ns;         /* 0 keeps everything (default) */
    uint32_t max_series;          /* default 10,000,000; CTS_ELIMIT past it */
    uint32_t block_points;        /* points per sealed block; default CTS_BLOCK_DEFAULT_COUNT */
    uint64_t wal_checkpoint_bytes; /* checkpoint when the WAL grows past this; default 256 MiB */
    cts_io_choice io;
    const cts_vfs *vfs;   /* NULL: the real file system; a fault VFS forces pwrite */
    bool quarantine_wal;  /* move a corrupt WAL segment aside instead of failing open */
    bool read_only;       /* open without replaying into a writable state (verify) */
} cts_db_opts;

/* Fills `opts` with the defaults above. */
void cts_db_opts_init(cts_db_opts *opts);

typedef struct cts_db cts_db;

/*
 * Open the database in directory `dir` (created, with its parents' last
 * component, if absent), recovering from its WAL. Errors: CTS_EINVAL (bad
 * options), CTS_ECORRUPT (a bad WAL record other than a torn tail, a bad
 * catalog record: cts_db_open_error names file and offset), CTS_EIO,
 * CTS_ENOSPC, CTS_ENOMEM, CTS_EVERSION. On failure *out is NULL.
 */
CTS_MUST_USE int cts_db_open(const char *dir, const cts_db_opts *opts, cts_db **out);

/* The detailed message of the last failed cts_db_open on this thread. */
const char *cts_db_open_error(void);

/* Seal what is in memory, sync, and free the handle. NULL is a no-op.
 * Returns the first error met while flushing (the handle is freed anyway). */
int cts_db_close(cts_db *db);

/* The detailed message of the handle's last error; never NULL. */
const char *cts_db_errmsg(const cts_db *db);

/* The I/O backend in use: "io_uring" or "pwrite". */
const char *cts_db_io_backend(const cts_db *db);

/* ------------------------------------------------------------------------
 * Writing.
 * ------------------------------------------------------------------------ */
typedef struct cts_tag {
    cts_str key;
    cts_str value;
} cts_tag;

typedef struct cts_field {
    cts_str key;
    cts_type type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        uint8_t b;
        cts_str s;
    } v;
} cts_field;

/* One point: all strings are borrowed for the duration of the call. Tags
 * may come in any order; their keys must be distinct. */
typedef struct cts_point {
    cts_str measurement;
    const cts_tag *tags;
    uint32_t ntags;
    const cts_field *fields;
    uint32_t nfields;
    int64_t ts_ns;
} cts_point;

/* What a write did. msg holds the first rejected point's reason in
 * InfluxDB's words, e.g. `field type conflict: "pm25" on measurement "air"
 * is float, got string`. */
typedef struct cts_write_result {
    uint64_t points_written;
    uint64_t values_written;
    uint64_t points_rejected;
    uint64_t series_created;
    int64_t first_rejected; /* index of the first rejected point, -1 if none */
    char msg[256];
} cts_write_result;

/*
 * Write n points as one batch (one WAL record). Points that cannot be
 * written (field type conflict, duplicate tag key, empty measurement, a
 * point with no fields, series limit) are rejected individually and the
 * others are written: the call then returns CTS_ETYPE, CTS_EINVAL or
 * CTS_ELIMIT (the first rejection's code) with `res` describing them.
 * Returns 0 when every point was written. When the call returns anything
 * but those three codes, nothing of the batch was written or acknowledged
 * (CTS_EIO, CTS_ENOSPC, CTS_EPOISONED, CTS_ENOMEM). Durable on return under
 * the database's fsync policy. A point replaces an existing one with the
 * same series, field and timestamp (last write wins). An integer written
 * to a float field is stored as a float (a sensor that first sends `25`
 * then `24.6` is not rejected); every other type mismatch is a conflict.
 */
CTS_MUST_USE int cts_db_write(cts_db *db, const cts_point *pts, size_t n, cts_write_result *res);

/* Seal every head into blocks, sync segment files, catalog and index, and
 * drop WAL segments whose data is now in fsynced files. */
CTS_MUST_USE int cts_db_flush(cts_db *db);

/* A tag predicate for deletes and series selection: key = value. */
typedef struct cts_tag_eq {
    const char *key;
    const char *val;
} cts_tag_eq;

/*
 * Delete the points of measurement `m` with t0 <= ts < t1, restricted to
 * series whose tags match every predicate in `where` (n_where may be 0).
 * Durable like a write. Rewrites only the affected blocks. Returns the
 * number of series touched (>= 0) or an error.
 */
CTS_MUST_USE int64_t cts_db_delete(cts_db *db, const char *m, const cts_tag_eq *where,
                                   size_t n_where, int64_t t0, int64_t t1);

/* Drop every whole partition that ends before now_ns - retention (no-op
 * when retention is 0). Returns the number of partitions dropped. */
CTS_MUST_USE int cts_db_enforce_retention(cts_db *db, int64_t now_ns);

/* ------------------------------------------------------------------------
 * Catalog: measurements, series, tags and fields. Listings are copied out:
 * the caller frees them with cts_free (one allocation: the array and the
 * strings it points to). Safe concurrently with writes.
 * ------------------------------------------------------------------------ */
typedef struct cts_strlist {
    size_t count;
    cts_str *items; /* sorted bytewise, distinct */
} cts_strlist;

typedef struct cts_fieldinfo {
    cts_str name;
    uint32_t field_id;
    cts_type type;
} cts_fieldinfo;

typedef struct cts_fieldlist {
    size_t count;
    cts_fieldinfo *items; /* sorted by name */
} cts_fieldlist;

typedef struct cts_idlist {
    size_t count;
    uint32_t *ids; /* ascending */
} cts_idlist;

CTS_MUST_USE int cts_db_measurements(cts_db *db, cts_strlist **out);
CTS_MUST_USE int cts_db_tag_keys(cts_db *db, const char *m, cts_strlist **out);
CTS_MUST_USE int cts_db_tag_values(cts_db *db, const char *m, const char *key, cts_strlist **out);
CTS_MUST_USE int cts_db_field_keys(cts_db *db, const char *m, cts_fieldlist **out);
/* Series of a measurement; with key/val set, only those with tag key=val. */
CTS_MUST_USE int cts_db_series_ids(cts_db *db, const char *m, const char *key, const char *val,
                                   cts_idlist **out);
/* The series key in line-protocol form (`air,city=lisbon,sensor=x`),
 * written to dst (NUL-terminated); returns its length or CTS_ENOSPACE /
 * CTS_ENOTFOUND. */
CTS_MUST_USE int cts_db_series_key(cts_db *db, uint32_t series_id, char *dst, size_t cap);
/* The value of tag `key` of a series, copied to dst (NUL-terminated);
 * returns its length, 0 when the series lacks the tag (empty value), or
 * CTS_ENOSPACE / CTS_ENOTFOUND. */
CTS_MUST_USE int cts_db_series_tag(cts_db *db, uint32_t series_id, const char *key, char *dst,
                                   size_t cap);

/* ------------------------------------------------------------------------
 * Reading a column: one field of one series, by time.
 * ------------------------------------------------------------------------ */
typedef struct cts_cursor cts_cursor;

/* A run of points in ascending time order, or a whole sealed block that no
 * other data in the snapshot overlaps (then `stats` is set and the points
 * are produced only if asked for with cts_cursor_load). Arrays are borrowed
 * until the next call on the cursor. */
typedef struct cts_chunk {
    uint32_t count;
    const int64_t *ts; /* NULL for a stats-only chunk not yet loaded */
    union {
        const double *f;
        const int64_t *i;
        const uint64_t *u;
        const uint8_t *b;
        const cts_str *s;
    } v;
    const cts_stats *stats; /* non-NULL: these are a block's exact statistics */
} cts_chunk;

/*
 * Open a snapshot cursor over column (series_id, field_id) for t0 <= ts < t1.
 * With `want_stats`, a sealed block lying wholly inside [t0, t1) and
 * overlapping nothing else is returned as a stats-only chunk; without it,
 * every chunk carries points. Errors: CTS_ENOTFOUND (no such column: the
 * series never had this field), CTS_ENOMEM.
 */
CTS_MUST_USE int cts_cursor_open(cts_db *db, uint32_t series_id, uint32_t field_id, int64_t t0,
                                 int64_t t1, bool want_stats, cts_cursor **out);
/* Next chunk: returns 1 and fills *chunk, 0 at the end, or an error
 * (CTS_ECHECKSUM / CTS_ECORRUPT naming file, offset and series in
 * cts_cursor_errmsg; CTS_EIO; CTS_ENOMEM). */
CTS_MUST_USE int cts_cursor_next(cts_cursor *cur, cts_chunk *chunk);
/* Decode the points of the stats-only chunk last returned. */
CTS_MUST_USE int cts_cursor_load(cts_cursor *cur, cts_chunk *chunk);
cts_type cts_cursor_type(const cts_cursor *cur);
const char *cts_cursor_errmsg(const cts_cursor *cur);
void cts_cursor_close(cts_cursor *cur);

/* ------------------------------------------------------------------------
 * Verification and statistics.
 * ------------------------------------------------------------------------ */
typedef struct cts_verify_report {
    uint64_t files_checked, blocks_checked, records_checked, errors;
    char first_error[512];
} cts_verify_report;

/* Check every checksum of the database (catalog, WAL, indexes, blocks).
 * Returns 0 when all are good, CTS_ECORRUPT/CTS_ECHECKSUM otherwise. */
CTS_MUST_USE int cts_db_verify(cts_db *db, cts_verify_report *rep);

typedef struct cts_db_stats {
    uint64_t series, columns, partitions, blocks;
    uint64_t points_sealed, bytes_sealed; /* block bytes on disk */
    uint64_t head_points, head_bytes;
    uint64_t wal_bytes;
} cts_db_stats;

void cts_db_get_stats(cts_db *db, cts_db_stats *st);

#ifdef __cplusplus
}
#endif
#endif
