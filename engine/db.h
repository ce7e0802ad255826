/*
 * db.h: the database handle and what its files share (private to engine/).
 *
 * Directory layout:
 *   DIR/catalog      series and field definitions (catalog_file.c)
 *   DIR/wal/         write-ahead log segments (storage's cts_wal)
 *   DIR/p/<index>/   time partitions: segment + index (partition.c)
 *
 * Write path (db_write.c): resolve series and fields in the catalog, encode
 * one WAL payload for the batch, append it, apply the points to the column
 * heads, then wait until the record is durable under the fsync policy. A
 * full head is sealed into a block (seal.c) and appended to its
 * partition's segment. A checkpoint seals every head, fsyncs segments,
 * indexes and the catalog, and only then deletes WAL segments.
 *
 * Locks, in the order they are taken:
 *   write_mu  serialises writers (write, delete, flush, retention). Held
 *             while a batch is resolved, logged and applied; released before
 *             waiting for durability, so concurrent writers share fsyncs.
 *   lock      rwlock over the columns, their heads and block lists, and the
 *             partition table. Writers hold it exclusively only while they
 *             change those; readers hold it shared while they take a
 *             snapshot (head copy + block list), never while they decode.
 *   The catalog and the WAL have their own internal locks.
 *
 * Invariant: every point acknowledged to a writer is in the WAL (durable per
 * policy) or in a sealed block covered by a partition checkpoint, and WAL
 * segments are deleted only when everything they hold is in the latter.
 */
#ifndef CTS_DB_H
#define CTS_DB_H

#include "catalog.h"
#include "column.h"
#include "partition.h"

#include <pthread.h>
#include <string.h>

/* A sealed block of a column: where it is and what it holds. */
typedef struct colblock {
    blockref ref;
    part *p;
} colblock;

typedef struct column {
    uint32_t series_id, field_id;
    cts_type type;
    cts_head head;
    colblock *blocks; /* in seal order */
    uint32_t nblocks, cap_blocks;
} column;

/* One value waiting to be applied to its column after the WAL append. */
typedef struct pending {
    uint32_t series_id, field_id;
    cts_type type;
    int64_t ts;
    cts_value v;
} pending;

struct cts_db {
    char *dir;
    cts_db_opts opts;
    const cts_vfs *vfs;
    cts_catalog *cat;
    cts_wal *wal;
    cts_io *io;
    pthread_mutex_t write_mu;
    pthread_rwlock_t lock;
    /* columns: open addressing over (series_id, field_id) */
    column **cols;
    uint64_t *col_keys; /* key + 1; 0 = empty slot */
    size_t col_slots, ncols;
    /* partitions, sorted by index */
    part **parts;
    size_t nparts, cap_parts;
    uint64_t next_seq; /* seal seq of the next block */
    uint64_t head_bytes;
    uint64_t wal_bytes_at_ckpt;
    bool poisoned;
    cts_buf payload; /* entry stream of the batch being written */
    cts_buf record;  /* the framed WAL record; scratch for replay */
    pending *pend;
    size_t npend, cap_pend;
    uint8_t *blkbuf; /* encode buffer for sealing */
    size_t blkcap;
    char errmsg[512];
};

/* ---- columns (db_columns.c) ---- */
column *db_column_find(cts_db *db, uint32_t series_id, uint32_t field_id);
/* Find or create; CTS_ENOMEM. Caller holds lock exclusively. */
CTS_MUST_USE int db_column_get(cts_db *db, uint32_t series_id, uint32_t field_id, cts_type type,
                               column **out);
CTS_MUST_USE int db_column_add_block(column *c, part *p, const blockref *ref);
void db_column_remove_block(column *c, uint32_t i);
void db_columns_free(cts_db *db);

/* ---- partitions (db_columns.c) ---- */
part *db_part_find(cts_db *db, int64_t index);
/* Find or create the partition of `index`. Caller holds lock exclusively. */
CTS_MUST_USE int db_part_get(cts_db *db, int64_t index, part **out);
CTS_MUST_USE int db_part_insert(cts_db *db, part *p);

/* ---- sealing and checkpoints (seal.c) ---- */
/* Seal the whole head of c into blocks (split by partition and block size).
 * Caller holds write_mu and lock exclusively. */
CTS_MUST_USE int db_seal_column(cts_db *db, column *c);
/* Seal all heads, sync segments, indexes and catalog, drop old WAL. Caller
 * holds write_mu (not lock). */
CTS_MUST_USE int db_checkpoint(cts_db *db);
/* Apply one value to its column's head, sealing a full head. Caller holds
 * write_mu and lock exclusively. */
CTS_MUST_USE int db_apply(cts_db *db, const pending *pv);
/* Remove [t0, t1) from column c: head points and, by rewriting, blocks.
 * Caller holds write_mu and lock exclusively. */
CTS_MUST_USE int db_delete_column_range(cts_db *db, column *c, int64_t t0, int64_t t1);

/* ---- errors ---- */
/* Record a detailed message on the handle; returns rc. */
int db_fail(cts_db *db, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An I/O failure on the write path: poison the handle. */
int db_poison(cts_db *db, int rc, const char *what);
/* Copy n borrowed strings into one allocation: a cts_strlist, its items,
 * then the bytes (db_read.c). */
int db_strlist_copy(const cts_str *in, size_t n, cts_strlist **out);

#endif
