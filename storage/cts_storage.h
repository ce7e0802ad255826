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
    int (*list_dir)(void *ctx, const char *path, int (*fn)(void *arg, const char *name),
                    void *arg);
} cts_vfs;

/* The real file system. Static storage; never NULL. */
const cts_vfs *cts_vfs_posix(void);

/* Maps -errno from the VFS to a cts_err (-ENOSPC/-EDQUOT to CTS_ENOSPC,
 * -ENOMEM to CTS_ENOMEM, -ENOENT to CTS_ENOTFOUND, -EEXIST to CTS_EEXIST,
 * anything else to CTS_EIO). */
int cts_err_from_errno(int neg_errno);

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
