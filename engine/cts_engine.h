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
    uint32_t fsync_interval_ms;    /* default 1000 */
    int64_t partition_ns;          /* time partition width; default one UTC day */
    uint64_t memory_budget_bytes;  /* heads are sealed past this; default 256 MiB */
    int64_t retention_ns;          /* 0 keeps everything (default) */
    uint32_t max_series;           /* default 10,000,000; CTS_ELIMIT past it */
    uint32_t block_points;         /* points per sealed block; default CTS_BLOCK_DEFAULT_COUNT */
    uint64_t wal_checkpoint_bytes; /* checkpoint when the WAL grows past this; default 256 MiB */
    cts_io_choice io;
    const cts_vfs *vfs;  /* NULL: the real file system; a fault VFS forces pwrite */
    bool quarantine_wal; /* move a corrupt WAL segment aside instead of failing open */
    bool read_only;      /* open without replaying into a writable state (verify) */
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
 * Returns the first error met while flushing (the handle is freed anyway).
 * A poisoned or read-only handle is freed without flushing and returns 0:
 * the poisoning error was returned by the call that met it. */
int cts_db_close(cts_db *db);

/* The detailed message of the handle's last error; never NULL. */
const char *cts_db_errmsg(const cts_db *db);

/* The I/O backend in use: "io_uring" or "pwrite". */
const char *cts_db_io_backend(const cts_db *db);

/* ------------------------------------------------------------------------
 * A set of databases: the data directory DATA, holding DATA/<name>/ for
 * each database (dbset.c). Databases are opened on first use and kept open
 * until the set is closed or the database dropped. Thread-safe: any number
 * of threads may acquire, release, list, create and drop concurrently.
 * ------------------------------------------------------------------------ */
typedef struct cts_dbset cts_dbset;
typedef struct cts_strlist cts_strlist; /* defined with the catalog listings */

/* Open the data directory `root` (created if absent); `opts` (copied; NULL:
 * defaults) applies to every database opened through the set. Removes what
 * an interrupted drop left behind. Errors: CTS_EIO, CTS_ENOMEM, CTS_EINVAL.
 */
CTS_MUST_USE int cts_dbset_open(const char *root, const cts_db_opts *opts, cts_dbset **out);

/* Close every database (flushing it) and free the set; every acquired
 * handle must have been released. Returns the first close error. NULL is a
 * no-op. */
int cts_dbset_close(cts_dbset *set);

/* Get database `name`, opening it on first use; with `create`, create it
 * when absent. The handle stays valid until cts_dbset_release. Errors:
 * CTS_EINVAL (invalid name), CTS_ENOTFOUND (absent and !create), and
 * cts_db_open's (the message in cts_dbset_errmsg). */
CTS_MUST_USE int cts_dbset_acquire(cts_dbset *set, const char *name, bool create, cts_db **out);
void cts_dbset_release(cts_dbset *set, cts_db *db);

/* The databases, sorted (one allocation; cts_free). */
CTS_MUST_USE int cts_dbset_list(cts_dbset *set, cts_strlist **out);

/* Create database `name` (no error when it exists). CTS_EINVAL, CTS_EIO. */
CTS_MUST_USE int cts_dbset_create(cts_dbset *set, const char *name);

/* Drop database `name`: wait until no handle to it is held, close it,
 * rename its directory aside (atomic: after a crash it is either whole or
 * gone) and remove the files. CTS_ENOTFOUND when absent. */
CTS_MUST_USE int cts_dbset_drop(cts_dbset *set, const char *name);

/* The detailed message of this thread's last dbset error; never NULL. */
const char *cts_dbset_errmsg(void);

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

/* Like cts_db_delete for the series ids[0..n) of measurement m (ids from
 * cts_db_series_ids; an id of another measurement is ignored). Returns 0
 * or an error. */
CTS_MUST_USE int cts_db_delete_series(cts_db *db, const char *m, const uint32_t *ids, size_t n,
                                      int64_t t0, int64_t t1);

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
/* The measurement and tags (sorted by key) of a series, borrowed from the
 * catalog: valid until cts_db_close. *ntags receives the count even when
 * tags_cap is too small. Errors: CTS_ENOTFOUND, CTS_ENOSPACE (tags_cap <
 * *ntags; nothing written). Safe concurrently with writes. */
CTS_MUST_USE int cts_db_series_tags(cts_db *db, uint32_t series_id, cts_str *measurement,
                                    cts_tag *tags, size_t tags_cap, size_t *ntags);
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

/* Check the database's sealed data: read every block and check its CRC32C,
 * structure and agreement with its index entry, and check the catalog's
 * invariants. The WAL's, the partition indexes' and the catalog file's
 * checksums are checked when the database is opened (a damaged record makes
 * cts_db_open fail naming file and offset), so open + verify covers every
 * checksum. Returns 0 when all are good, CTS_ECORRUPT otherwise. */
CTS_MUST_USE int cts_db_verify(cts_db *db, cts_verify_report *rep);

typedef struct cts_db_stats {
    uint64_t series, columns, partitions, blocks;
    uint64_t points_sealed, bytes_sealed; /* block bytes on disk */
    uint64_t head_points, head_bytes;
    uint64_t wal_bytes;
} cts_db_stats;

void cts_db_get_stats(cts_db *db, cts_db_stats *st);

/* What one column holds. */
typedef struct cts_column_info {
    uint32_t series_id, field_id;
    cts_type type;
    uint64_t blocks, points_sealed, bytes_sealed, head_points;
    int64_t min_ts, max_ts; /* over sealed blocks and head; 0 when empty */
    /* The narrowest windows that still hold the column's last and first
     * points: every point at max_ts lies in [tail_min_ts, max_ts] within
     * a whole block (or the head's run), and every point at min_ts in
     * [min_ts, lead_max_ts]. A reader of last() (first()) can start
     * (stop) there and still meet whole blocks. */
    int64_t tail_min_ts, lead_max_ts;
} cts_column_info;

/* Call fn for every column, in no particular order. fn runs under the
 * database's shared lock: it must not call the database; a non-zero return
 * stops the walk and is returned. */
int cts_db_columns(cts_db *db, int (*fn)(void *ctx, const cts_column_info *ci), void *ctx);

/* What column (series_id, field_id) holds; CTS_ENOTFOUND when the series
 * never had the field. Costs one lookup and a pass over the column's block
 * list. */
CTS_MUST_USE int cts_db_column_info(cts_db *db, uint32_t series_id, uint32_t field_id,
                                    cts_column_info *ci);

/* The measurement, name and type of field `field_id`, copied (NUL-
 * terminated) into m[0..m_cap) and name[0..name_cap). Errors:
 * CTS_ENOTFOUND, CTS_ENOSPACE. */
CTS_MUST_USE int cts_db_field_info(cts_db *db, uint32_t field_id, char *m, size_t m_cap, char *name,
                                   size_t name_cap, cts_type *type);

/* ------------------------------------------------------------------------
 * Line protocol (lineproto.c, lp_reader.c, lp_format.c): InfluxDB 1.x line
 * protocol in, cts_point batches out. docs/line-protocol.md is the user's
 * reference (what is accepted, limits, every error message).
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * Parsing follows InfluxDB 1.x (its Go parser, models/points.go) so that a
 * line InfluxDB accepts is accepted with the same values, and a line it
 * rejects is rejected with its reason, in its words:
 *   unable to parse '<line>': <reason>
 * Deliberate differences, each in docs/line-protocol.md: unsigned integers
 * (`7u`) are always accepted, CRLF line endings are accepted, a quoted
 * string must be followed by `,`, a space or the end of the line, and a
 * line longer than max_line_bytes is rejected.
 *
 * Strings of parsed points are never NUL-terminated (cts_str). Values:
 * floats are exactly what strtod gives for the same text; integers are
 * range-checked; timestamps are scaled from the precision to nanoseconds
 * with an overflow check and must lie in [CTS_LP_MIN_NS, CTS_LP_MAX_NS].
 *
 * Thread safety: nothing here has hidden state; a cts_lp_point or a
 * cts_lp_reader is used by one thread at a time, distinct ones are
 * independent.
 * ------------------------------------------------------------------------ */

/* Timestamp precision of a line's timestamp (the `precision` URL parameter
 * of InfluxDB's /write). */
typedef enum cts_lp_precision {
    CTS_LP_NS = 0, /* "n", "ns" (default) */
    CTS_LP_US = 1, /* "u", "us" */
    CTS_LP_MS = 2, /* "ms" */
    CTS_LP_S = 3,  /* "s" */
    CTS_LP_M = 4,  /* "m" (minutes) */
    CTS_LP_H = 5,  /* "h" */
} cts_lp_precision;

/* Parse a precision name (not NUL-terminated, len bytes) as listed above.
 * Errors: CTS_EINVAL (unknown name; *out unchanged). */
CTS_MUST_USE int cts_lp_precision_parse(const char *s, size_t len, cts_lp_precision *out);
/* Nanoseconds per unit of p (1 for CTS_LP_NS); 0 for an invalid value. */
int64_t cts_lp_precision_ns(cts_lp_precision p);

/* InfluxDB's representable time range: the two lowest int64 values and the
 * highest are reserved as sentinels. */
#define CTS_LP_MIN_NS (INT64_MIN + 2)
#define CTS_LP_MAX_NS (INT64_MAX - 1)

#define CTS_LP_LINE_MAX_DEFAULT (1u << 20) /* bytes of one line */
#define CTS_LP_KEY_MAX_DEFAULT 65535u      /* InfluxDB's MaxKeyLength */
#define CTS_LP_BATCH_DEFAULT 5000u         /* points per reader batch */

typedef struct cts_lp_opts {
    cts_lp_precision precision;
    /* Timestamp of lines that carry none ("now"), truncated down to a
     * multiple of the precision as InfluxDB does. Default 0: callers set it
     * from the clock once per request or file. */
    int64_t now_ns;
    /* A longer line (its bytes before the '\n', leading blanks included) is
     * rejected and skipped. 16 .. 1 GiB. */
    uint32_t max_line_bytes;
    /* The series key (measurement and tags as written, escapes included)
     * and the series key plus 4 plus a field key as written must not exceed
     * this (InfluxDB's "max key length exceeded"). >= 1. */
    uint32_t max_key_bytes;
    /* Reader only: a batch holds at most this many points and at most this
     * many bad lines. 1 .. 10,000,000. */
    uint32_t batch_points;
} cts_lp_opts;

/* Fill o with the defaults: nanoseconds, now_ns 0, CTS_LP_LINE_MAX_DEFAULT,
 * CTS_LP_KEY_MAX_DEFAULT, CTS_LP_BATCH_DEFAULT. */
void cts_lp_opts_init(cts_lp_opts *o);

/* Why a line was refused. */
typedef enum cts_lp_errkind {
    /* Malformed: msg is "unable to parse '<line>': <reason>". */
    CTS_LP_ESYNTAX = 1,
    /* Well-formed but refused as InfluxDB refuses it at write time (`time`
     * as a tag key, or `time` as the only field key): msg is the reason
     * alone, e.g. `invalid tag key: input tag "time" on measurement "m" is
     * invalid`. */
    CTS_LP_EREJECTED = 2,
} cts_lp_errkind;

#define CTS_LP_REASON_MAX 256  /* reason buffer, NUL included */
#define CTS_LP_EXCERPT_MAX 512 /* bytes of the line quoted in msg */
#define CTS_LP_MSG_MAX 1024    /* msg buffer, NUL included */

/* One refused line. Long text is never cut silently: a quoted line longer
 * than CTS_LP_EXCERPT_MAX bytes, and a token longer than 64 bytes inside a
 * reason, end in "...". */
typedef struct cts_lp_error {
    uint64_t line;   /* 1-based number of the line's first physical line */
    uint32_t column; /* 1-based byte offset of the offending token in the line */
    cts_lp_errkind kind;
    char reason[CTS_LP_REASON_MAX]; /* e.g. "invalid boolean" */
    char msg[CTS_LP_MSG_MAX];       /* the full message, as above */
} cts_lp_error;

/* A point parsed by cts_lp_parse_line. `point` and every string it points
 * to (into the buffers below, which hold a copy of the line) are valid
 * until the next parse into the same cts_lp_point or its fini; the caller's
 * line is not referenced after the call. */
typedef struct cts_lp_point {
    cts_point point;
    struct { /* private: reused buffers, grown with cts_realloc */
        cts_tag *tags;
        cts_field *fields;
        uint32_t *work;
        char *buf;
        size_t items_cap, buf_cap;
    } priv;
} cts_lp_point;

/* init zeroes p (no allocation); fini frees its buffers (NULL is a no-op)
 * and leaves it initialised. */
void cts_lp_point_init(cts_lp_point *p);
void cts_lp_point_fini(cts_lp_point *p);

/*
 * Parse one line: len bytes at `line`, an optional trailing "\n" or "\r\n"
 * included. A '\n' inside is an ordinary byte (inside a string value it is
 * part of the string, as in InfluxDB). The line's number in err is 1.
 * Returns 1 with out->point set; 0 for a blank or comment line (no point);
 * CTS_EPARSE with *err filled (err may be NULL), a line longer than
 * max_line_bytes included; CTS_EINVAL (NULL line with len > 0, NULL o or
 * out, invalid opts); CTS_ENOMEM. Fields: a repeated field key keeps its
 * last value (as InfluxDB); a `time` field is dropped (as InfluxDB). Tags
 * keep the order of the line. Allocates only when the line is longer than
 * any before it.
 */
CTS_MUST_USE int cts_lp_parse_line(const char *line, size_t len, const cts_lp_opts *o,
                                   cts_lp_point *out, cts_lp_error *err);

/*
 * Format pt as one line of line protocol (no newline), NUL-terminated, with
 * the escapes the parser undoes and the timestamp in nanoseconds; floats
 * are written with the fewest digits that parse back to the same double.
 * Parsing the result gives pt back (same strings, types, values, order of
 * tags and fields; see below). Returns the length (without the NUL), or CTS_ENOSPACE
 * (cap too small; dst unspecified), or CTS_EINVAL for a point line protocol
 * cannot carry: no fields; an empty measurement, key or tag value; a
 * measurement starting with '#', a tab or a NUL; a first field key
 * starting with a tab or a NUL (the parser skips them as blanks); a name
 * ending in a backslash or holding a '\n'; a NaN or infinite float; a bool
 * other than 0/1; an unknown type; a timestamp outside [CTS_LP_MIN_NS,
 * CTS_LP_MAX_NS]. What the parser does to a valid line still applies: a
 * `time` tag or a point whose only field is `time` is refused, a `time`
 * field is dropped, a repeated tag key is refused and a repeated field key
 * keeps its last value.
 */
CTS_MUST_USE int64_t cts_lp_format_point(const cts_point *pt, char *dst, size_t cap);

/* ------------------------------------------------------------------------
 * The streaming reader: feed chunks of any size (a line may span any number
 * of chunks; only the unfinished line is copied), take batches of points
 * ready for cts_db_write, and the bad lines with their numbers and
 * messages (InfluxDB's partial-write semantics: good lines are kept).
 *
 *     cts_lp_reader_create(&opts, &r)
 *     while ((n = read(fd, buf, sizeof buf)) > 0) {
 *         cts_lp_reader_feed(r, buf, n)                 buf borrowed...
 *         while ((rc = cts_lp_reader_next(r, &b)) > 0)
 *             cts_db_write(db, b.points, b.npoints, &res)
 *     }                                                 ...until next gives 0
 *     cts_lp_reader_finish(r)
 *     while ((rc = cts_lp_reader_next(r, &b)) > 0) ...
 *     cts_lp_reader_destroy(r)
 *
 * State: IDLE --feed--> FEEDING --next()==0--> IDLE; IDLE --finish-->
 * FINISHING --next()==0--> DONE (next keeps returning 0; reset goes back
 * to IDLE). A batch never spans two chunks: each chunk ends its batch, so
 * batches are full (batch_points) only when chunks hold that many lines
 * (feed 1 MiB or more for 5,000-point batches of typical lines).
 *
 * Line boundaries: a '\n' ends a line except inside a string field value
 * (the value of a field whose first byte is '"', up to the closing
 * unescaped '"'), as in InfluxDB. A '\r' before the '\n' is dropped. Line
 * numbers count every '\n' of the input. No allocation per point or line:
 * the batch arrays and copies are reused across batches and grow only when
 * a batch needs more than any before.
 * ------------------------------------------------------------------------ */
typedef struct cts_lp_reader cts_lp_reader;

/* One batch; every pointer is borrowed until the next call on the reader. */
typedef struct cts_lp_batch {
    const cts_point *points;    /* npoints, in input order */
    const uint64_t *point_line; /* the line number of each point */
    size_t npoints;
    const cts_lp_error *bad; /* nbad refused lines, in input order */
    size_t nbad;
    uint64_t values; /* fields in points[] */
} cts_lp_batch;

typedef struct cts_lp_stats {
    uint64_t bytes;  /* fed */
    uint64_t lines;  /* lines ended so far, blank, comment and bad ones included */
    uint64_t points; /* points yielded */
    uint64_t values; /* fields of the points yielded */
    uint64_t bad_lines;
    uint64_t batches;
} cts_lp_stats;

/* Create a reader. Errors: CTS_EINVAL (NULL, invalid opts), CTS_ENOMEM.
 * On failure *out is NULL. */
CTS_MUST_USE int cts_lp_reader_create(const cts_lp_opts *o, cts_lp_reader **out);
/* Free it; NULL is a no-op. */
void cts_lp_reader_destroy(cts_lp_reader *r);
/* Start a new input with the same limits and a new precision and "now":
 * forgets any unfinished line, the counters and the line numbers; keeps
 * the buffers. Errors: CTS_EINVAL (bad precision). */
CTS_MUST_USE int cts_lp_reader_reset(cts_lp_reader *r, cts_lp_precision precision, int64_t now_ns);
/* Hand over the next len bytes. They are borrowed (must stay unchanged)
 * until cts_lp_reader_next returns 0. Errors: CTS_EINVAL (the previous
 * chunk is not consumed yet, input already finished, NULL data with
 * len > 0). */
CTS_MUST_USE int cts_lp_reader_feed(cts_lp_reader *r, const void *data, size_t len);
/* Declare the end of the input: an unfinished last line is parsed by the
 * following cts_lp_reader_next calls. Errors: CTS_EINVAL (a chunk is not
 * consumed yet). */
CTS_MUST_USE int cts_lp_reader_finish(cts_lp_reader *r);
/* Returns 1 with *b filled (at least one point or bad line), 0 when the
 * chunk is consumed (or, after finish, the input is done), or CTS_ENOMEM:
 * then nothing was lost and calling again retries. */
CTS_MUST_USE int cts_lp_reader_next(cts_lp_reader *r, cts_lp_batch *b);
/* Counters since create or reset. */
void cts_lp_reader_stats(const cts_lp_reader *r, cts_lp_stats *st);

/* ------------------------------------------------------------------------
 * CSV (csv.c, csv_map.c, csv_value.c): CSV files in, cts_point batches out,
 * through a mapping that names, for the columns of the header, which one
 * holds the time (and in which format), which are tags, which are fields
 * (and of which type), and the measurement. docs/csv.md is the user's
 * reference (syntax of the mapping, what is accepted, every message).
 *
 * The input is RFC 4180 CSV: the first record is the header; cells are
 * separated by the delimiter (default ','); a cell in double quotes may
 * hold delimiters, '\r' and '\n', and "" stands for one quote; records end
 * with "\n" or "\r\n"; empty lines are skipped; a UTF-8 byte-order mark
 * before the header is dropped. Every data record must have as many cells
 * as the header.
 *
 * Cells become values strictly: floats are exactly what strtod gives (C
 * locale) for the grammar -?(D+(.D*)?|.D+)([eE][+-]?D+)?, and must be
 * finite; integers are -?D+ within int64, unsigned integers D+ within
 * uint64; booleans are t T true True TRUE f F false False FALSE (as in line
 * protocol); strings are the cell's bytes. An empty cell omits its field or
 * tag; a record left without fields, or with an empty time or measurement
 * cell, is a bad row. Times are RFC 3339 (YYYY-MM-DDTHH:MM:SS, 'T', 't' or
 * ' ' between date and time, 0-9 fractional digits after a '.', then 'Z',
 * 'z' or +hh:mm / -hh:mm; calendar-checked) or integer epochs in s, ms, us
 * or ns; the result must lie in [CTS_LP_MIN_NS, CTS_LP_MAX_NS].
 *
 * Thread safety: nothing here has hidden state (the C locale for strtod is
 * set up once per process); a cts_csv_opts or cts_csv_reader is used by
 * one thread at a time, distinct ones are independent.
 * ------------------------------------------------------------------------ */

/* Format of the time column. */
typedef enum cts_csv_time_format {
    CTS_CSV_TIME_RFC3339 = 0, /* "rfc3339" (default) */
    CTS_CSV_TIME_S = 1,       /* "s": integer seconds since the epoch */
    CTS_CSV_TIME_MS = 2,      /* "ms" */
    CTS_CSV_TIME_US = 3,      /* "us" */
    CTS_CSV_TIME_NS = 4,      /* "ns" */
} cts_csv_time_format;

/* What a header column that the mapping does not name means. */
typedef enum cts_csv_unmapped {
    CTS_CSV_UNMAPPED_ERROR = 0,  /* the header is refused (default): "error" */
    CTS_CSV_UNMAPPED_IGNORE = 1, /* the column is skipped: "ignore" */
} cts_csv_unmapped;

#define CTS_CSV_RECORD_MAX_DEFAULT (1u << 20) /* bytes of one record */
#define CTS_CSV_BATCH_DEFAULT 5000u           /* points per reader batch */
#define CTS_CSV_REASON_MAX 256                /* reason buffer, NUL included */
#define CTS_CSV_MSG_MAX 1024                  /* message buffers, NUL included */

/* The mapping, parsed from its specs; private to csv_map.c. */
typedef struct cts_csv_mapping cts_csv_mapping;

/*
 * Options of a CSV reader: the mapping, given as text the way command-line
 * flags give it and parsed by the setters below, and the limits.
 *
 *   cts_csv_opts_init(&o);
 *   cts_csv_opts_set_measurement(&o, "air");        --measurement air
 *   cts_csv_opts_set_time(&o, "ts:ms");             --time ts:ms
 *   cts_csv_opts_set_tags(&o, "city,sensor");       --tags city,sensor
 *   cts_csv_opts_set_fields(&o, "pm25:float");      --fields pm25:float
 *   if (cts_csv_opts_check(&o) != 0) puts(o.errmsg);
 *   ... cts_csv_reader_create(&o, &r) ...
 *   cts_csv_opts_fini(&o);
 *
 * Spec syntax: a list of column names separated by ','; a field name is
 * followed by ':' and its type (float, integer, unsigned, boolean,
 * string), the time column's by ':' and its format (rfc3339, s, ms, us,
 * ns; rfc3339 when omitted). A '\' makes the next byte (',', ':' or '\')
 * part of the name. Names are header names, byte for byte (no trimming).
 * Without set_time the time column is "time" in RFC 3339. Each setter
 * replaces what an earlier call of it set. On failure a setter returns
 * CTS_EINVAL (or CTS_ENOMEM), leaves the mapping as it was and writes the
 * reason, with its byte offset in the spec, to errmsg, e.g.
 *   fields: unknown type 'flaot' for column 'pm25' at byte 6 (expected
 *   float, integer, unsigned, boolean or string)
 * The fields before errmsg may also be set directly; cts_csv_opts_check
 * checks them with the mapping.
 */
typedef struct cts_csv_opts {
    char delimiter;            /* any byte but '"', '\r', '\n' and NUL; default ',' */
    cts_csv_unmapped unmapped; /* default CTS_CSV_UNMAPPED_ERROR */
    /* A longer record (its bytes before the final newline, quotes and
     * inner newlines included) is a bad row, skipped up to the next '\n'.
     * 16 .. 1 GiB. */
    uint32_t max_record_bytes;
    /* A batch holds at most this many points and this many bad rows.
     * 1 .. 10,000,000. */
    uint32_t batch_points;
    char errmsg[CTS_CSV_MSG_MAX]; /* why the last setter or check failed */
    /* private: owned, set through the setters. A copy of the struct shares
     * it: finalise only one of them. */
    cts_csv_mapping *mapping;
} cts_csv_opts;

/* Fill o with the defaults above and an empty mapping (no allocation). */
void cts_csv_opts_init(cts_csv_opts *o);
/* Free the mapping (NULL is a no-op) and leave o initialised. */
void cts_csv_opts_fini(cts_csv_opts *o);

/* A fixed measurement name (non-empty). */
CTS_MUST_USE int cts_csv_opts_set_measurement(cts_csv_opts *o, const char *name);
/* The column whose cells name each row's measurement (one name, no type). */
CTS_MUST_USE int cts_csv_opts_set_measurement_column(cts_csv_opts *o, const char *spec);
/* "name[:format]": the time column. */
CTS_MUST_USE int cts_csv_opts_set_time(cts_csv_opts *o, const char *spec);
/* "name[,name...]": the tag columns; "" for none. The tag key is the name. */
CTS_MUST_USE int cts_csv_opts_set_tags(cts_csv_opts *o, const char *spec);
/* "name:type[,name:type...]": the field columns. The field key is the name. */
CTS_MUST_USE int cts_csv_opts_set_fields(cts_csv_opts *o, const char *spec);
/* "," or any one byte, or "tab" / "\t" (backslash, t) for a tab. */
CTS_MUST_USE int cts_csv_opts_set_delimiter(cts_csv_opts *o, const char *spec);
/* "error" or "ignore". */
CTS_MUST_USE int cts_csv_opts_set_unmapped(cts_csv_opts *o, const char *spec);

/*
 * Check that o is complete and consistent: exactly one of a measurement or
 * a measurement column; at least one field; no column used twice (as two
 * of time, measurement, tag and field, or twice in one list); the
 * delimiter and limits in range. Returns 0, or CTS_EINVAL with errmsg set,
 * e.g. "column 'city' is mapped twice: as a tag and as a field".
 */
CTS_MUST_USE int cts_csv_opts_check(cts_csv_opts *o);

/* One bad row. Long text is never cut silently: a cell or a column name
 * longer than 64 bytes is quoted up to there and ends in "..."; control
 * bytes are shown escaped (\n, \r, \t, \xHH). */
typedef struct cts_csv_error {
    uint64_t row;         /* 1-based line number of the record's first line */
    uint32_t field;       /* 1-based index of the offending cell; 0: the record */
    uint32_t byte_column; /* 1-based byte offset in the record (raw) of the cell or fault */
    char reason[CTS_CSV_REASON_MAX]; /* e.g. "invalid float 'abc'" */
    /* "row 17, column 3 (pm25): invalid float 'abc'", or for the record as
     * a whole "row 17: 3 cells, the header has 4". */
    char msg[CTS_CSV_MSG_MAX];
} cts_csv_error;

/* ------------------------------------------------------------------------
 * The streaming reader, shaped like cts_lp_reader (same loop, states and
 * borrowing rules), so a caller treats both formats alike:
 *
 *     cts_csv_reader_create(&opts, &r)
 *     while ((n = read(fd, buf, sizeof buf)) > 0) {
 *         cts_csv_reader_feed(r, buf, n)
 *         while ((rc = cts_csv_reader_next(r, &b)) > 0)
 *             cts_db_write(db, b.points, b.npoints, &res)
 *     }
 *     cts_csv_reader_finish(r)
 *     while ((rc = cts_csv_reader_next(r, &b)) > 0) ...
 *     cts_csv_reader_destroy(r)
 *
 * State: IDLE --feed--> FEEDING --next()==0--> IDLE; IDLE --finish-->
 * FINISHING --next()==0--> DONE; any --header refused--> FAILED (next and
 * feed return the error until reset). A record may span any number of
 * chunks; only the unfinished record is kept (unquoted, in the reader), so
 * memory is bounded by max_record_bytes and the batch. A batch never spans
 * two chunks: each chunk ends its batch.
 *
 * The header is read by the first next() calls that reach its end; then
 * the mapping is resolved against it. It is refused (CTS_EPARSE, with
 * cts_csv_reader_errmsg saying why) when a mapped name is missing from it
 * ("mapped column 'pm25' (field) is not in the header"), when a mapped
 * name appears twice in it, when a column is not mapped under
 * CTS_CSV_UNMAPPED_ERROR, when it is malformed or too long, or when the
 * input ends before it.
 *
 * Points: measurement, then tags and fields in header order; tag and field
 * keys are the header names. Every string of a batch is a copy owned by
 * the reader. No allocation per row: the arrays and copies are reused
 * across batches and grow only when a batch needs more than any before.
 * ------------------------------------------------------------------------ */
typedef struct cts_csv_reader cts_csv_reader;

/* One batch; every pointer is borrowed until the next call on the reader. */
typedef struct cts_csv_batch {
    const cts_point *points;   /* npoints, in input order */
    const uint64_t *point_row; /* the row (line number) of each point */
    size_t npoints;
    const cts_csv_error *bad; /* nbad refused rows, in input order */
    size_t nbad;
    uint64_t values; /* fields in points[] */
} cts_csv_batch;

typedef struct cts_csv_stats {
    uint64_t bytes;    /* fed */
    uint64_t lines;    /* '\n' bytes read (inside quoted cells too) */
    uint64_t rows;     /* data records ended: bad ones included, header and empty lines not */
    uint64_t points;   /* points yielded */
    uint64_t values;   /* fields of the points yielded */
    uint64_t bad_rows; /* rows refused */
    uint64_t batches;
} cts_csv_stats;

/* Create a reader with a copy of o's mapping (o may be changed or
 * finalised afterwards). Errors: CTS_EINVAL (NULL, or o fails
 * cts_csv_opts_check: call it for the message), CTS_ENOMEM. On failure
 * *out is NULL. */
CTS_MUST_USE int cts_csv_reader_create(const cts_csv_opts *o, cts_csv_reader **out);
/* Free it; NULL is a no-op. */
void cts_csv_reader_destroy(cts_csv_reader *r);
/* Start a new input (a new header) with the same mapping: forgets any
 * unfinished record, the header, a failure, the counters and the row
 * numbers; keeps the buffers. Errors: CTS_EINVAL (NULL). */
CTS_MUST_USE int cts_csv_reader_reset(cts_csv_reader *r);
/* Hand over the next len bytes. They are borrowed (must stay unchanged)
 * until cts_csv_reader_next returns 0. Errors: CTS_EINVAL (the previous
 * chunk is not consumed yet, input already finished, NULL data with
 * len > 0), or the reader's failure (CTS_EPARSE). */
CTS_MUST_USE int cts_csv_reader_feed(cts_csv_reader *r, const void *data, size_t len);
/* Declare the end of the input: an unfinished last record (no final
 * newline) is read by the following cts_csv_reader_next calls. Errors:
 * CTS_EINVAL (a chunk is not consumed yet). */
CTS_MUST_USE int cts_csv_reader_finish(cts_csv_reader *r);
/* Returns 1 with *b filled (at least one point or bad row), 0 when the
 * chunk is consumed (or, after finish, the input is done), CTS_EPARSE when
 * the header is refused (the reader is FAILED), or CTS_ENOMEM: then
 * nothing was lost and calling again retries. */
CTS_MUST_USE int cts_csv_reader_next(cts_csv_reader *r, cts_csv_batch *b);
/* Counters since create or reset. */
void cts_csv_reader_stats(const cts_csv_reader *r, cts_csv_stats *st);
/* Why the reader failed ("" when it has not); never NULL. */
const char *cts_csv_reader_errmsg(const cts_csv_reader *r);
/* The header's names, once read: *count cells (0 before the header); the
 * strings are borrowed until reset or destroy. */
const cts_str *cts_csv_reader_header(const cts_csv_reader *r, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
