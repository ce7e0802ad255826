/*
 * wal_int.h: what the files of the write-ahead log share: the handle, the
 * on-disk constants, and the segment helpers. Included only by wal_*.c.
 *
 * The files split the WAL by lifecycle phase:
 *   wal_segment.c  names, headers, records, creating and listing segments
 *   wal_replay.c   reading every segment at open, torn tails, quarantine
 *   wal_write.c    open/close, append, group commit, rotation, removal
 *
 * Locking: `mu` guards every field marked (mu). At most one thread at a
 * time is the leader (`leader` set under mu); the fields marked (leader)
 * are touched only by it, without the lock, and by replay/close when no
 * other thread can run. Fields marked (fixed) are set at open.
 *
 * Invariants while READY:
 *   synced_seq <= written_seq <= next_seq - 1
 *   pending holds exactly the records written_seq+1 .. next_seq-1 that no
 *     leader has taken; inflight holds the records a leader is writing
 *   segs lists the live segments by first seq, ascending; the last one is
 *     the current segment, open as fd, whose records end at file_off
 *   once poisoned != 0, nothing is written again and errmsg is frozen
 */
#ifndef CTS_WAL_INT_H
#define CTS_WAL_INT_H

#include "storage_int.h"

#include <pthread.h>

/* ---- on-disk format (docs/format-wal.md) ---- */
#define WAL_MAGIC "CTSWAL\r\n" /* 8 bytes, no NUL on disk */
#define WAL_VERSION 1u
#define WAL_HEADER_BYTES 32u
#define WAL_RECORD_HEADER 16u
/* "wal-" + 16 hex digits + ".log" */
#define WAL_NAME_LEN 24u
#define WAL_TMP_SUFFIX ".tmp"
#define WAL_CORRUPT_SUFFIX ".corrupt"

/* Pending bytes past which an append writes them itself. */
#define WAL_FLUSH_BYTES (1u << 20)
/* A leader's buffer larger than this is freed after its batch. */
#define WAL_KEEP_BUF_BYTES (16u << 20)
#define WAL_ERRMSG_CAP 512

typedef enum wal_state { WAL_OPENED, WAL_READY, WAL_FAILED } wal_state;

typedef struct wal_buf {
    uint8_t *data;
    size_t len, cap;
} wal_buf;

typedef struct wal_seqs {
    uint64_t *v;
    size_t count, cap;
} wal_seqs;

struct cts_wal {
    /* (fixed) */
    char *dir;
    const cts_vfs *vfs;
    cts_io *io;
    cts_wal_fsync policy;
    uint32_t interval_ms;
    uint64_t segment_bytes;
    cts_wal_on_corrupt on_corrupt;
    void (*log)(void *log_ctx, const char *line);
    void *log_ctx;

    pthread_mutex_t mu;
    pthread_cond_t done_cv; /* a leader finished (mu) */
    pthread_cond_t bg_cv;   /* wakes the background thread (mu, monotonic clock) */
    pthread_t bg;
    int bg_started; /* (fixed after replay) */
    int bg_stop;    /* (mu) */

    wal_state state; /* (mu) */
    int poisoned;    /* (mu) cts_err of the failure that poisoned; 0 if none */
    char errmsg[WAL_ERRMSG_CAP];

    wal_seqs segs;       /* (mu) first seqs of live segments */
    wal_seqs quarantine; /* replay only: first seqs of quarantined files */

    uint64_t next_seq;    /* (mu) */
    uint64_t written_seq; /* (mu) written by the leader only */
    uint64_t synced_seq;  /* (mu) written by the leader only */
    wal_buf pending;      /* (mu) */
    int leader;           /* (mu) */
    pthread_t leader_tid; /* (mu) valid while leader is set */
    cts_wal_stats stats;  /* (mu) counters; seq fields filled on read */

    wal_buf inflight;  /* (leader) */
    int fd;            /* (leader) current segment, -1 if none */
    uint64_t file_off; /* (leader) end of its records */
    char *seg_path;    /* (leader) its path, for messages */
};

/* ---- wal_segment.c ---- */

/* dir/wal-<16 hex>.log<suffix>, allocated (cts_free it); NULL when out of
 * memory. */
char *wal_seg_path(const cts_wal *wal, uint64_t first_seq, const char *suffix);

void wal_header_encode(uint8_t out[WAL_HEADER_BYTES], uint64_t first_seq);
/* 0, or CTS_ECORRUPT / CTS_EVERSION with *why set to a static reason. */
int wal_header_check(const uint8_t *p, size_t len, uint64_t first_seq, const char **why);

/* Encode one record (header and payload) at dst, which has room for
 * WAL_RECORD_HEADER + len bytes. */
void wal_record_encode(uint8_t *dst, uint64_t seq, const void *payload, uint32_t len);
/* Validate the record at p[0..avail): NULL when it is whole and its CRC
 * matches (then *seq, *len are set), else a static reason. */
const char *wal_record_check(const uint8_t *p, uint64_t avail, uint64_t *seq, uint32_t *len);

/* Create `path` crash-safely with contents data[0..len): write it under
 * path.tmp, fsync, rename, fsync the directory. Keeps the descriptor open
 * in *fd when fd is not NULL. 0 or a cts_err, described in wal->errmsg. */
int wal_file_create(cts_wal *wal, const char *path, const void *data, size_t len, int *fd);
/* Create segment `first_seq` (header only), open in *fd; *path receives its
 * allocated path. 0 or a cts_err, described in errmsg. */
int wal_seg_create(cts_wal *wal, uint64_t first_seq, int *fd, char **path);

/* List dir: live segments into wal->segs (sorted), quarantined files into
 * wal->quarantine; leftover temporary files are removed. 0 or a cts_err. */
int wal_list(cts_wal *wal);

int wal_seqs_push(wal_seqs *s, uint64_t v);
void wal_seqs_free(wal_seqs *s);

/* Set errmsg (unless poisoned) to "wal: <formatted>" and return err. Called
 * by the leader thread, it also poisons the handle, under the same lock, so
 * the message of the failure that poisoned is the one that stays. */
int wal_fail(cts_wal *wal, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Send one formatted line to the log hook (or stderr). */
void wal_log(cts_wal *wal, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write all of data[0..len) at off through the VFS; 0 or -errno. */
int wal_pwrite_all(const cts_vfs *vfs, int fd, const void *data, size_t len, uint64_t off);

/* ---- wal_write.c ---- */

/* Become READY after replay: open (or create) the current segment, cut it
 * to `valid_end` when longer, fsync it, start the background thread.
 * last_first is the current segment's first seq, or 0 to create segment
 * next_seq. 0 or a cts_err, described in errmsg. */
int wal_writer_start(cts_wal *wal, uint64_t last_first, uint64_t valid_end, uint64_t next_seq);

#endif
