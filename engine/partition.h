/*
 * partition.h: one time partition on disk (private to engine/).
 *
 * A partition holds every sealed block whose points fall in
 * [index * width, (index + 1) * width). It is a directory p/<index>/ with two
 * append-only files:
 *
 *   segment   the blocks, back to back (each is self-checking, see
 *             docs/format.md); never modified in place
 *   index     a header, then records describing the blocks (docs/format-engine.md):
 *             ADD (a block: column, seal seq, offset, length, statistics),
 *             DEL (a block replaced by a delete), CKPT (every record before
 *             it, and the segment bytes it covers, are fsynced)
 *
 * Durability protocol: blocks are appended to the segment and ADD records to
 * the index without fsync while the WAL still holds their data. A checkpoint
 * fsyncs the segment, then appends CKPT to the index and fsyncs it; only
 * then may WAL segments go. On open, records after the last CKPT are checked
 * against the segment (the block must lie inside it and pass its CRC); those
 * that fail are dropped and logged: their points come back from the WAL.
 *
 * State: open -> (append | checkpoint)* -> close, or -> drop (retention:
 * index unlinked first, so a crash mid-drop leaves a partition without an
 * index, which the next open removes).
 *
 * Threads: the engine's write lock serialises appends, checkpoints and
 * drops; block reads (part_read) run concurrently with all of them on a
 * pinned partition (part_ref/part_unref keep its fds open past a drop).
 */
#ifndef CTS_PARTITION_H
#define CTS_PARTITION_H

#include "payload.h"

#include <stdatomic.h>

struct cts_io;
struct cts_run;

/* One block as the index describes it. */
typedef struct blockref {
    uint32_t series_id, field_id;
    uint64_t seq; /* seal order over the whole database: larger is newer */
    uint64_t offset;
    uint32_t len;
    uint8_t type;
    cts_stats stats;
} blockref;

typedef struct part {
    int64_t index;
    int seg_fd, idx_fd;
    uint64_t seg_len;    /* bytes written to the segment */
    uint64_t idx_len;    /* bytes written to the index */
    cts_buf idx_pending; /* index records not yet written */
    bool dirty;          /* written since the last checkpoint */
    atomic_int refs;     /* 1 for the engine + one per pinning cursor */
    /* Read-only shared mapping of the segment (the real file system only),
     * made at the first block load: NULL not yet, part_map_none() when
     * mmap failed. Reads through it stay below seg_len, never past EOF. */
    _Atomic(uint8_t *) map;
    const cts_vfs *vfs;
    char dir[];
} part;

/* Callback of part_open for each live block found in the index. */
typedef int (*part_block_fn)(void *ctx, part *p, const blockref *b);

/* Report of what part_open dropped (records after the last checkpoint that
 * failed validation, and torn index bytes). */
typedef struct part_report {
    uint64_t blocks_dropped, torn_bytes;
} part_report;

/* Floor division of ts by width: the partition index of a timestamp. */
int64_t part_index_of(int64_t ts, int64_t width);

/*
 * Open (create == true: create if absent) partition `index` under root
 * (the database's p/ directory). Calls fn for every live block. Errors:
 * CTS_ECORRUPT (bad header or a bad record before the last CKPT; errmsg
 * names file and offset), CTS_ENOTFOUND (no index and !create), I/O errors.
 */
CTS_MUST_USE int part_open(const cts_vfs *vfs, const char *root, int64_t index, int64_t width,
                           bool create, part_block_fn fn, void *ctx, part **out, part_report *rep,
                           char *errmsg, size_t errcap);

/* Append an encoded block: writes it at the end of the segment and queues
 * its ADD record; fills ref->offset and ref->len. */
CTS_MUST_USE int part_append(part *p, struct cts_io *io, const uint8_t *blk, uint32_t len,
                             blockref *ref);
/* Queue a DEL record for the block with seal seq `seq` at `offset`. */
CTS_MUST_USE int part_remove(part *p, uint64_t seq, uint64_t offset);
/* Read and decode the block `ref` of p into `out` (an empty run of its
 * type). Errors: CTS_ECHECKSUM / CTS_ECORRUPT (errmsg names the file,
 * offset and series), CTS_EIO, CTS_ENOMEM. */
CTS_MUST_USE int part_load(part *p, const blockref *ref, struct cts_run *out, char *errmsg,
                           size_t errcap);
/* Write queued index records (no fsync). */
CTS_MUST_USE int part_write_index(part *p, struct cts_io *io);
/* fsync the segment, append CKPT, write and fsync the index. */
CTS_MUST_USE int part_checkpoint(part *p, struct cts_io *io);
/* Read a block into dst (len bytes at offset). CTS_EIO on a short file. */
CTS_MUST_USE int part_read(part *p, uint64_t offset, uint32_t len, uint8_t *dst);
/* Remove the partition's files and directory (index first). The struct
 * stays valid until its last reference goes. */
CTS_MUST_USE int part_drop(part *p);

void part_ref(part *p);
/* Drop a reference; the last one closes the fds and frees. */
void part_unref(part *p);

#endif
