/*
 * cts_storage.h: the public contract of cityts's storage layer.
 *
 * storage/ owns bytes on disk and nothing else: error codes, the allocation
 * hook, CRC32C, and the compressed column block. It knows nothing of series,
 * queries or text formats. Every other module reaches it only through this
 * header.
 *
 * Conventions (see STYLE.md):
 *   - Functions that can fail return a cts_err (0 or a negative code), or a
 *     non-negative byte count / a negative cts_err for buffer APIs.
 *   - Buffer APIs take (dst, dst_cap) and never write a partial result: on
 *     error the contents of dst are unspecified but nothing past dst_cap is
 *     touched.
 *   - Decoders validate every byte they read; hostile input yields
 *     CTS_ECORRUPT or CTS_ECHECKSUM, never an out-of-bounds access.
 *   - All functions are thread-safe on distinct objects; nothing here keeps
 *     hidden mutable state except the process-wide allocation hook.
 */
#ifndef CTS_STORAGE_H
#define CTS_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CTS_MUST_USE __attribute__((warn_unused_result))

/* ------------------------------------------------------------------------
 * Errors. One table defines every code and its message.
 * ------------------------------------------------------------------------ */
#define CTS_ERR_TABLE(X)                                                                           \
    X(CTS_OK, 0, "ok")                                                                             \
    X(CTS_ENOMEM, -1, "out of memory")                                                             \
    X(CTS_EINVAL, -2, "invalid argument")                                                          \
    X(CTS_ECORRUPT, -3, "malformed data")                                                          \
    X(CTS_ECHECKSUM, -4, "checksum mismatch")                                                      \
    X(CTS_ENOSPACE, -5, "destination buffer too small")                                            \
    X(CTS_EIO, -6, "I/O error")                                                                    \
    X(CTS_ENOSPC, -7, "no space left on device")                                                   \
    X(CTS_ERANGE, -8, "value out of range")                                                        \
    X(CTS_ETYPE, -9, "field type conflict")                                                        \
    X(CTS_ENOTFOUND, -10, "not found")                                                             \
    X(CTS_EEXIST, -11, "already exists")                                                           \
    X(CTS_EPOISONED, -12, "writer poisoned by an earlier I/O failure; reopen the database")        \
    X(CTS_ELIMIT, -13, "limit exceeded")                                                           \
    X(CTS_EPARSE, -14, "parse error")                                                              \
    X(CTS_EVERSION, -15, "unsupported format version")                                             \
    X(CTS_EBUSY, -16, "resource busy")                                                             \
    X(CTS_ECLOSED, -17, "handle is closed")

typedef enum cts_err {
#define CTS_ERR_ENUM(name, value, msg) name = value,
    CTS_ERR_TABLE(CTS_ERR_ENUM)
#undef CTS_ERR_ENUM
} cts_err;

/* The message of a code; never NULL (unknown codes get a generic text). */
const char *cts_strerror(int code);
/* The symbolic name of a code ("CTS_ECHECKSUM"); never NULL. */
const char *cts_errname(int code);

/* ------------------------------------------------------------------------
 * Allocation. Every allocation in cityts goes through these, so tests can
 * fail the Nth allocation. cts_free(NULL) is a no-op.
 * ------------------------------------------------------------------------ */
void *cts_malloc(size_t size);
void *cts_calloc(size_t count, size_t size);
void *cts_realloc(void *ptr, size_t size);
void cts_free(void *ptr);

/* Test hook: after `n` more successful allocations, every allocation fails
 * until reset. n < 0 disables failure injection (the default). Process-wide;
 * meant for single-threaded tests. */
void cts_alloc_fail_after(long n);
/* Number of allocations that failed because of cts_alloc_fail_after. */
long cts_alloc_failures(void);

/* ------------------------------------------------------------------------
 * The VFS: every system call that touches a file goes through this table of
 * function pointers (as in SQLite), so tests can inject faults: fail the Nth
 * call with EIO or ENOSPC, short writes, power loss that drops unsynced data.
 * Every function returns >= 0 on success or -errno; it never sets errno for
 * the caller to read. `ctx` is passed back to every call.
 * ------------------------------------------------------------------------ */
typedef struct cts_vfs {
    void *ctx;
    /* open(2) with O_CLOEXEC added; returns an fd. */
    int (*open)(void *ctx, const char *path, int flags, int mode);
    int (*close)(void *ctx, int fd);
    /* May transfer fewer bytes than asked (short read/write); callers loop. */
    int64_t (*pread)(void *ctx, int fd, void *buf, size_t len, uint64_t off);
    int64_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, uint64_t off);
    int (*fsync)(void *ctx, int fd);
    int (*fdatasync)(void *ctx, int fd);
    int (*ftruncate)(void *ctx, int fd, uint64_t len);
    int (*fsize)(void *ctx, int fd, uint64_t *len);
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*unlink)(void *ctx, const char *path);
    int (*mkdir)(void *ctx, const char *path, int mode); /* -EEXIST if present */
    int (*rmdir)(void *ctx, const char *path);
    /* Open the directory, fsync it, close it: makes creates/renames durable. */
    int (*fsync_dir)(void *ctx, const char *path);
    /* Calls fn for each entry but "." and ".."; stops early and returns
     * fn's value when it is non-zero. */
    int (*list_dir)(void *ctx, const char *path, int (*fn)(void *arg, const char *name), void *arg);
} cts_vfs;

/* The real file system. Static storage; never NULL. */
const cts_vfs *cts_vfs_posix(void);

/* Maps -errno from the VFS to a cts_err (-ENOSPC/-EDQUOT to CTS_ENOSPC,
 * -ENOMEM to CTS_ENOMEM, -ENOENT to CTS_ENOTFOUND, -EEXIST to CTS_EEXIST,
 * anything else to CTS_EIO). */
int cts_err_from_errno(int neg_errno);

/* ------------------------------------------------------------------------
 * Fault injection, for tests (vfs_fault.c). A cts_vfs that forwards every
 * call to a base VFS and can: fail the Nth call of one kind of operation
 * with a chosen errno, cut every pwrite short, count calls, and simulate a
 * power loss that drops what was never made durable.
 *
 * What a power loss models:
 *   - file data: the bytes of a file up to its length at its last
 *     successful fsync/fdatasync survive; later bytes are dropped, or, with
 *     a non-zero seed, a pseudo-random prefix of them survives (a torn
 *     write). A file first seen already existing counts as durable as found.
 *   - names: a create (open with O_CREAT of a path that did not exist),
 *     mkdir or rename survives only if its directory (both directories, for
 *     a rename) was fsynced through fsync_dir after it. Otherwise it is
 *     undone, newest first: a created file is removed, a created directory
 *     is removed with its contents, a rename is reversed.
 *   - not modelled: overwrites inside the durable length (durable at once),
 *     unlink and rmdir (durable at once), the old file replaced by a rename
 *     (not restored), out-of-order persistence inside the unsynced tail.
 *   - paths are compared as strings: spell each path one way (cityts joins
 *     a directory and a name with one '/').
 * After cts_vfs_fault_power_loss the machine is off: every call fails with
 * -EIO (close still releases the descriptor) until cts_vfs_fault_reset, so
 * handles still open can be closed without touching the disk.
 *
 * Thread safety: every function here, and every call through the table,
 * may be made from any thread (one internal mutex).
 * ------------------------------------------------------------------------ */
typedef struct cts_vfs_fault cts_vfs_fault;

typedef enum cts_vfs_op {
    CTS_VFS_OP_OPEN,
    CTS_VFS_OP_CLOSE,
    CTS_VFS_OP_PREAD,
    CTS_VFS_OP_PWRITE,
    CTS_VFS_OP_FSYNC,
    CTS_VFS_OP_FDATASYNC,
    CTS_VFS_OP_FTRUNCATE,
    CTS_VFS_OP_FSIZE,
    CTS_VFS_OP_RENAME,
    CTS_VFS_OP_UNLINK,
    CTS_VFS_OP_MKDIR,
    CTS_VFS_OP_RMDIR,
    CTS_VFS_OP_FSYNC_DIR,
    CTS_VFS_OP_LIST_DIR,
    CTS_VFS_OP_COUNT
} cts_vfs_op;

typedef enum cts_fault_mode {
    CTS_FAULT_ONCE = 1,    /* only the Nth call fails (a transient error) */
    CTS_FAULT_PERSIST = 2, /* the Nth and every later call fail (a full disk) */
} cts_fault_mode;

/* "open", "pwrite", ...; "unknown" for anything else. */
const char *cts_vfs_op_name(cts_vfs_op op);

/* Create a fault VFS over `base` (not owned; must outlive it). *out is
 * owned by the caller until cts_vfs_fault_destroy. Errors: CTS_EINVAL (NULL
 * argument), CTS_ENOMEM. */
CTS_MUST_USE int cts_vfs_fault_create(const cts_vfs *base, cts_vfs_fault **out);
/* Free it; NULL is a no-op. Descriptors still open through it stay open in
 * the base VFS (close them first). */
void cts_vfs_fault_destroy(cts_vfs_fault *f);
/* The table to hand to cts_io, cts_wal and the engine; valid until destroy. */
const cts_vfs *cts_vfs_fault_vfs(cts_vfs_fault *f);

/* Make the `nth` call of `op` from now on (1 = the next one) fail with
 * -err_errno (a positive errno such as EIO or ENOSPC) without reaching the
 * base VFS. Replaces an earlier schedule for `op`. A failed close still
 * releases the descriptor. Errors: CTS_EINVAL (bad op, nth 0, errno <= 0,
 * bad mode). */
CTS_MUST_USE int cts_vfs_fault_fail(cts_vfs_fault *f, cts_vfs_op op, uint64_t nth, int err_errno,
                                    cts_fault_mode mode);
/* Every later pwrite transfers at most max_bytes (> 0); 0 turns it off. */
void cts_vfs_fault_short_writes(cts_vfs_fault *f, size_t max_bytes);
/* Calls of `op` since create or the last reset, failed ones included. */
uint64_t cts_vfs_fault_calls(cts_vfs_fault *f, cts_vfs_op op);
/* Calls failed by a schedule since create or the last reset. */
uint64_t cts_vfs_fault_injected(cts_vfs_fault *f);

/* Simulate a power loss as described above (seed 0: every unsynced byte is
 * lost; else a seeded pseudo-random prefix of each unsynced tail survives).
 * Then the machine stays off until cts_vfs_fault_reset. Returns 0, or the
 * cts_err of a base VFS call that failed while applying the loss. */
CTS_MUST_USE int cts_vfs_fault_power_loss(cts_vfs_fault *f, uint64_t seed);
/* Power on: clear schedules, short writes and counters. What exists now is
 * taken as durable. */
void cts_vfs_fault_reset(cts_vfs_fault *f);

/* ------------------------------------------------------------------------
 * cts_io: the data-path writer (io.c, io_uring.c, io_sync.c). Queue writes
 * and fdatasyncs, then submit them together and wait for all of them.
 *
 * Two backends behind one interface, with identical results on disk:
 *   - io_uring (liburing, queue depth CTS_IO_QUEUE_MAX, no SQPOLL): the
 *     queued operations go to the kernel as one chain linked in queue order
 *     (IOSQE_IO_LINK), so an fdatasync runs only after the writes queued
 *     before it completed, and is cancelled if one of them failed. Short
 *     writes are resubmitted for the remainder, -EAGAIN/-EINTR are retried;
 *     a linked fdatasync that completes with -ECANCELED after a write
 *     failed fails with that write's error.
 *   - pwrite: the same operations in queue order through vfs->pwrite (a loop
 *     that completes short writes) and vfs->fdatasync.
 * An fdatasync that fails is never retried: its error is reported and the
 * caller must assume every write queued with it is lost.
 *
 * Choosing: CTS_IO_AUTO tries io_uring and falls back to pwrite when the
 * kernel refuses it (ENOSYS, EPERM under seccomp or kernel.io_uring_disabled,
 * ENOMEM, ...); the fallback is logged once per process to stderr. The
 * environment variable CTS_IO_BACKEND=uring|pwrite overrides AUTO (not an
 * explicit choice), so test suites can run both backends. io_uring bypasses
 * the VFS, so it is used only with cts_vfs_posix(): with any other VFS (fault
 * injection) AUTO means pwrite, so every write goes through that VFS.
 *
 * Thread safety: a cts_io is used by one thread at a time (callers
 * serialise); distinct cts_io objects are independent.
 * ------------------------------------------------------------------------ */
typedef struct cts_io cts_io;

typedef enum cts_io_backend {
    CTS_IO_AUTO = 0,
    CTS_IO_URING = 1,
    CTS_IO_PWRITE = 2,
} cts_io_backend;

/* Most operations queued between two cts_io_submit_wait calls. */
#define CTS_IO_QUEUE_MAX 64u

typedef enum cts_io_kind {
    CTS_IO_WRITE = 1,
    CTS_IO_FDATASYNC = 2,
} cts_io_kind;

/* Which operation failed, for error messages. */
typedef struct cts_io_failure {
    cts_io_kind kind;
    int fd;
    uint64_t off; /* write: file offset of the first byte not known written */
    int neg_errno;
} cts_io_failure;

/* Create a writer over `vfs` (NULL: cts_vfs_posix(); not owned, must outlive
 * it). *out is owned by the caller until cts_io_destroy. Errors: CTS_EINVAL
 * (CTS_IO_URING with a VFS other than posix, bad backend), CTS_ENOMEM, and
 * for an explicit CTS_IO_URING that the kernel refuses, the cts_err of its
 * errno (CTS_EIO for ENOSYS/EPERM, CTS_ENOMEM). */
CTS_MUST_USE int cts_io_create(const cts_vfs *vfs, cts_io_backend backend, cts_io **out);
/* Free it; NULL is a no-op. Nothing may be queued (queued operations are
 * dropped unsubmitted). */
void cts_io_destroy(cts_io *io);
/* "io_uring" or "pwrite": the backend actually in use. Static string. */
const char *cts_io_backend_name(const cts_io *io);

/* Queue a write of buf[0..len) at file offset `off` of `fd`. buf belongs to
 * the writer until cts_io_submit_wait returns (heap or static memory whose
 * contents must not change meanwhile). Errors: CTS_ELIMIT (queue full),
 * CTS_EINVAL (NULL buf with len > 0). */
CTS_MUST_USE int cts_io_write(cts_io *io, int fd, const void *buf, size_t len, uint64_t off);
/* Queue an fdatasync of `fd` covering every write queued before it.
 * Errors: CTS_ELIMIT (queue full). */
CTS_MUST_USE int cts_io_fdatasync(cts_io *io, int fd);
/* Run the queued operations and wait for every one of them, even after a
 * failure, then empty the queue. Returns 0, or the cts_err of the first
 * operation (in queue order) that failed, described in *failure when it is
 * not NULL; operations after a failure may or may not have run. If the ring
 * itself fails (not one operation), this and every later call return
 * CTS_EPOISONED. */
CTS_MUST_USE int cts_io_submit_wait(cts_io *io, cts_io_failure *failure);

/* ------------------------------------------------------------------------
 * The write-ahead log (wal_write.c, wal_replay.c, wal_segment.c; on-disk
 * format in docs/format-wal.md). A directory of segment files
 * wal-<16 hex digits of the first seq>.log holding records of opaque bytes,
 * numbered by a sequence number that grows by one across segments.
 *
 * Lifecycle:
 *
 *   cts_wal_open ──► OPENED ──cts_wal_replay ok──► READY ──I/O failure──► POISONED
 *                      │                             │                       │
 *                 replay error                  cts_wal_close           cts_wal_close
 *                      ▼                             ▼                       ▼
 *                   FAILED ──cts_wal_close──►      (freed)                (freed)
 *
 * Replay must be called once, before any append. In FAILED and POISONED
 * every call but errmsg, stats and close fails (CTS_EPOISONED once
 * poisoned); poisoning is cleared only by reopening. A write or fdatasync is
 * never retried after it failed.
 *
 * Durability (cts_wal_wait_durable):
 *   ALWAYS    returns after an fdatasync that covers the record. Group
 *             commit: one waiting thread becomes the leader, writes every
 *             pending record and fdatasyncs once; the others wait for it.
 *   INTERVAL  returns once the record is written to the file; a background
 *             thread fdatasyncs every interval_ms.
 *   NEVER     returns once the record is written; no fdatasync but at
 *             rotation (which always syncs the segment it closes).
 *
 * Thread safety: append, wait_durable, sync, rotate, remove_before, stats
 * and errmsg may be called from any number of threads at once. open,
 * replay and close must not overlap any other call on the handle.
 * ------------------------------------------------------------------------ */
typedef struct cts_wal cts_wal;

typedef enum cts_wal_fsync {
    CTS_FSYNC_INTERVAL = 0, /* the default */
    CTS_FSYNC_ALWAYS = 1,
    CTS_FSYNC_NEVER = 2,
} cts_wal_fsync;

typedef enum cts_wal_on_corrupt {
    CTS_WAL_CORRUPT_FAIL = 0,       /* replay fails with CTS_ECORRUPT (default) */
    CTS_WAL_CORRUPT_QUARANTINE = 1, /* move the segment aside, keep its valid prefix */
} cts_wal_on_corrupt;

#define CTS_WAL_DEFAULT_INTERVAL_MS 1000u
#define CTS_WAL_DEFAULT_SEGMENT_BYTES (64ull << 20)
/* Largest payload of one record. */
#define CTS_WAL_MAX_PAYLOAD (128u << 20)

/* Options; a zeroed struct (or NULL) means every default. */
typedef struct cts_wal_opts {
    const cts_vfs *vfs;     /* NULL: cts_vfs_posix() (not owned) */
    cts_io_backend io;      /* see cts_io; AUTO by default */
    cts_wal_fsync fsync;    /* INTERVAL by default */
    uint32_t interval_ms;   /* 0: CTS_WAL_DEFAULT_INTERVAL_MS */
    uint64_t segment_bytes; /* rotate past this; 0: CTS_WAL_DEFAULT_SEGMENT_BYTES */
    cts_wal_on_corrupt on_corrupt;
    /* Where notable events go (torn tail truncated, segment quarantined),
     * one line without newline; NULL: stderr. Called from the replaying
     * thread. */
    void (*log)(void *log_ctx, const char *line);
    void *log_ctx;
} cts_wal_opts;

/* Called once per record in seq order. payload is valid only during the
 * call. A non-zero return stops replay, which returns that value. */
typedef int (*cts_wal_replay_fn)(void *ctx, uint64_t seq, const void *payload, size_t len);

typedef struct cts_wal_replay_report {
    uint64_t segments;     /* segment files read */
    uint64_t records;      /* records delivered */
    uint64_t bytes;        /* bytes of segment files read */
    uint64_t first_seq;    /* first delivered; 0 when none */
    uint64_t last_seq;     /* last delivered; 0 when none */
    uint64_t torn_bytes;   /* cut from the tail of the last segment */
    uint64_t torn_records; /* records cut: the torn one and any intact after it */
    uint32_t quarantined;  /* segments moved aside */
} cts_wal_replay_report;

typedef struct cts_wal_stats {
    uint64_t records;       /* appended since open */
    uint64_t bytes_written; /* record bytes written to segment files since open */
    uint64_t writes;        /* write batches since open */
    uint64_t syncs;         /* fdatasyncs of segment files since open */
    uint64_t rotations;     /* segments closed since open */
    uint64_t segments;      /* live segment files */
    uint64_t last_seq;      /* last seq assigned (or replayed); 0 when none */
    uint64_t written_seq;   /* every record <= this is written to its file */
    uint64_t durable_seq;   /* every record <= this is fdatasynced */
} cts_wal_stats;

/*
 * Open the WAL in directory `dir` (created, with its parent fsynced, if
 * missing), list its segments and remove leftover temporary files. Reads no
 * record. *out is owned by the caller until cts_wal_close. Errors:
 * CTS_EINVAL (NULL argument, bad option), CTS_ENOMEM, CTS_EIO/CTS_ENOSPC
 * (directory), CTS_ENOTFOUND (parent of dir missing).
 */
CTS_MUST_USE int cts_wal_open(const char *dir, const cts_wal_opts *opts, cts_wal **out);

/*
 * Replay every record, oldest first, through fn (may be NULL), then make
 * the handle READY: the background thread starts and appends continue after
 * the last record (a new segment is created if none is left). report may be
 * NULL. A torn tail of the last segment (an incomplete or bad record with
 * nothing valid after it, or one whose damage is an all-zero sector, the
 * trace of unsynced pages lost out of order) is truncated and logged. A bad
 * record anywhere else, a bad segment header or a gap in the sequence fails
 * with CTS_ECORRUPT (or CTS_EVERSION) and cts_wal_errmsg names the file and
 * offset; with CTS_WAL_CORRUPT_QUARANTINE the segment is renamed to
 * <name>.corrupt, its valid prefix is kept as a live segment, and replay
 * continues. Records before an error may have been delivered. Other errors:
 * CTS_EINVAL (not OPENED), CTS_ENOMEM, CTS_EIO/CTS_ENOSPC, fn's value. On
 * error the handle is FAILED.
 */
CTS_MUST_USE int cts_wal_replay(cts_wal *wal, cts_wal_replay_fn fn, void *ctx,
                                cts_wal_replay_report *report);

/*
 * Append one record of payload[0..len) (copied; len <= CTS_WAL_MAX_PAYLOAD)
 * and store its seq in *seq. The record is buffered, or written when the
 * buffer is full (the call then does I/O). Durable only per
 * cts_wal_wait_durable. Errors: CTS_EINVAL (not READY, NULL pointer),
 * CTS_ELIMIT (payload too large), CTS_ENOMEM, CTS_EPOISONED, and the
 * CTS_EIO/CTS_ENOSPC of a write this call performed (which poisons).
 */
CTS_MUST_USE int cts_wal_append(cts_wal *wal, const void *payload, size_t len, uint64_t *seq);

/* Return once record `seq` is durable under the fsync policy (see above).
 * Errors: CTS_EINVAL (seq never assigned), CTS_EPOISONED (or the original
 * CTS_EIO/CTS_ENOSPC in the thread whose I/O failed). */
CTS_MUST_USE int cts_wal_wait_durable(cts_wal *wal, uint64_t seq);
/* Write and fdatasync every record appended so far, whatever the policy.
 * Errors as cts_wal_wait_durable. */
CTS_MUST_USE int cts_wal_sync(cts_wal *wal);
/* Write pending records, fdatasync and close the current segment, and
 * start a new one (nothing happens if the current one holds no record).
 * Errors as cts_wal_wait_durable. */
CTS_MUST_USE int cts_wal_rotate(cts_wal *wal);
/* Delete the closed segments whose records all have seq < `seq`, oldest
 * first, then fsync the directory. Never the current segment, never a
 * quarantined file. A failure does not poison: the files left are replayed
 * again at the next open. Errors: CTS_EINVAL (not READY), CTS_EIO. */
CTS_MUST_USE int cts_wal_remove_before(cts_wal *wal, uint64_t seq);
/* Write pending records, fdatasync per policy (not under NEVER), stop the
 * background thread and free the handle; NULL is a no-op. Returns 0 or the
 * error of that last write/sync (CTS_EPOISONED if poisoned before). The
 * handle is freed in every case. */
int cts_wal_close(cts_wal *wal);

/* The detailed message of the last error (file, offset, errno text); ""
 * if none. Never NULL. Valid until the next failing call on the handle;
 * frozen once poisoned. */
const char *cts_wal_errmsg(const cts_wal *wal);
/* A consistent snapshot of the counters. */
void cts_wal_stats_get(cts_wal *wal, cts_wal_stats *out);
/* "io_uring" or "pwrite". */
const char *cts_wal_io_backend(const cts_wal *wal);

/* ------------------------------------------------------------------------
 * CRC32C (Castagnoli). Hardware-accelerated where the CPU has it.
 * cts_crc32c_extend(0, p, n) is the CRC of p[0..n).
 * ------------------------------------------------------------------------ */
uint32_t cts_crc32c_extend(uint32_t crc, const void *data, size_t len);
static inline uint32_t cts_crc32c(const void *data, size_t len)
{
    return cts_crc32c_extend(0, data, len);
}

/* ------------------------------------------------------------------------
 * Value types and the column block.
 * ------------------------------------------------------------------------ */
typedef enum cts_type {
    CTS_TYPE_FLOAT = 1,  /* double */
    CTS_TYPE_INT = 2,    /* int64_t */
    CTS_TYPE_UINT = 3,   /* uint64_t */
    CTS_TYPE_BOOL = 4,   /* uint8_t, 0 or 1 */
    CTS_TYPE_STRING = 5, /* cts_str */
} cts_type;

/* Name of a type as InfluxDB spells it ("float", "integer", "unsigned",
 * "boolean", "string"); "unknown" for anything else. */
const char *cts_type_name(cts_type type);

typedef struct cts_str {
    const char *ptr;
    uint32_t len;
} cts_str;

typedef union cts_num {
    double f;
    int64_t i;
    uint64_t u;
} cts_num;

/* Largest number of points in one block, and largest encoded block. */
#define CTS_BLOCK_MAX_COUNT 65536u
#define CTS_BLOCK_MAX_BYTES (1u << 30)
/* The block size the engine seals at by default (points per block). */
#define CTS_BLOCK_DEFAULT_COUNT 1024u

/*
 * Block statistics, computed while encoding and stored in the block header,
 * so a reader gets them without decoding the payload.
 *
 *   count            number of points (every type)
 *   min_ts, max_ts   smallest and largest timestamp (every type)
 *   first, last      value at min_ts (earliest position on ties) and at
 *                    max_ts (latest position on ties); numeric and bool
 *   sum              float: double sum in block order; int: wrapping int64
 *                    sum; uint: wrapping uint64 sum; not set for bool/string
 *   min, max         numeric only; NaN never wins a comparison, so they are
 *                    NaN only when every value is NaN
 *   min_time,        timestamp of the min and max value; on equal values the
 *   max_time         earliest timestamp (InfluxDB's selector rule)
 * Fields that do not apply to a type are zero.
 */
typedef struct cts_stats {
    uint32_t count;
    int64_t min_ts, max_ts;
    cts_num first, last, sum, min, max;
    int64_t min_time, max_time;
} cts_stats;

/* The input of one block: `count` points, ts[i] paired with value i. The
 * value array matching `type` is read; the others are ignored. Timestamps
 * need not be sorted (the codec is exact for any sequence). */
typedef struct cts_block_input {
    cts_type type;
    uint32_t count;
    const int64_t *ts;
    union {
        const double *f;
        const int64_t *i;
        const uint64_t *u;
        const uint8_t *b;
        const cts_str *s;
    } v;
} cts_block_input;

/* What a block header says, read without decoding the payload. */
typedef struct cts_block_info {
    cts_type type;
    uint32_t count;
    uint8_t ts_codec, value_codec; /* codec ids, see docs/format.md */
    uint32_t ts_bytes;             /* encoded timestamp section, on disk */
    uint32_t value_bytes;          /* encoded value section, on disk */
    uint32_t str_bytes;            /* string blocks: total bytes of all values */
    uint32_t block_bytes;          /* whole block, header and CRC included */
    cts_stats stats;
} cts_block_info;

/* Upper bound of the encoded size of `in`; 0 if `in` is invalid. */
size_t cts_block_bound(const cts_block_input *in);

/*
 * Encode `in` into dst[0..dst_cap). Returns the block's length in bytes, or
 * CTS_EINVAL (count 0 or > CTS_BLOCK_MAX_COUNT, bad type, NULL arrays, bool
 * value other than 0/1), CTS_ENOSPACE (dst_cap too small; cts_block_bound is
 * always enough), CTS_ENOMEM. If stats is not NULL it receives the block's
 * statistics. Reentrant.
 */
CTS_MUST_USE int cts_block_encode(const cts_block_input *in, uint8_t *dst, size_t dst_cap,
                                  cts_stats *stats);

/*
 * Validate a block (structure and CRC32C over all of it) and fill `info`.
 * Returns the block's length (a block may be followed by other bytes), or
 * CTS_ECORRUPT / CTS_ECHECKSUM / CTS_EVERSION. Never reads past src[len).
 */
CTS_MUST_USE int cts_block_info_read(const uint8_t *src, size_t len, cts_block_info *info);
/* cts_block_info_read without the CRC32C pass, for a caller that decodes
 * the block next (cts_block_decode checks the CRC): the header is still
 * checked for structure, so sizes taken from it are safe to allocate. */
CTS_MUST_USE int cts_block_info_peek(const uint8_t *src, size_t len, cts_block_info *info);

/* Where a decode writes. ts and the value array of the block's type must
 * hold info.count elements; string blocks also need str_arena with
 * info.str_bytes bytes, and the decoded cts_str point into it. */
typedef struct cts_block_output {
    int64_t *ts;
    union {
        double *f;
        int64_t *i;
        uint64_t *u;
        uint8_t *b;
        cts_str *s;
    } v;
    uint32_t cap_count;
    char *str_arena;
    size_t str_arena_cap;
} cts_block_output;

/*
 * Decode a whole block. Validates it as cts_block_info_read does first.
 * Returns the number of points, or CTS_ECORRUPT / CTS_ECHECKSUM /
 * CTS_EVERSION / CTS_ENOSPACE (out too small) / CTS_ENOMEM. On error the
 * output arrays hold unspecified values but nothing outside them is written.
 */
CTS_MUST_USE int cts_block_decode(const uint8_t *src, size_t len, cts_block_output *out);

/* Statistics computed naively from decoded values, by the rules above; the
 * reference the encoder's statistics are tested against, and what the
 * engine uses for in-memory heads. */
void cts_stats_compute(const cts_block_input *in, cts_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
