/*
 * catalog_file.c: the append-only file `catalog` that makes series and
 * field definitions durable (format: docs/format-catalog.md).
 *
 * The file is a 16-byte header and then records. Every definition the
 * writer adds is encoded at once into the pending buffer; cts_catalog_sync
 * appends the buffer and a COMMIT record (the counts of series and fields so
 * far) in one write, then fsyncs. A COMMIT record on disk therefore means
 * "every record before me was fsynced", and that is what loading relies on:
 *
 *   - a bad record (short, bad length, bad checksum) with no valid COMMIT
 *     record anywhere after it is a torn tail: the crash came before the
 *     fsync of that batch, whose definitions the WAL still holds (the
 *     engine deletes WAL segments only after a sync). It is truncated and
 *     reported, never silently skipped. Valid records after the bad one in
 *     the same unsynced batch (the kernel may persist pages out of order)
 *     are dropped with it, which is safe for the same reason.
 *   - a bad record followed by a valid COMMIT record was synced and then
 *     damaged: CTS_ECORRUPT naming the file and the offset.
 *   - a record whose checksum holds but whose content contradicts what came
 *     before (an id out of sequence, counts that disagree) is CTS_ECORRUPT.
 *
 * The scan for a later COMMIT record looks at every byte offset, so a
 * damaged length field cannot hide the rest of the file.
 *
 * A new file is written as catalog.tmp, fsynced, renamed to catalog and the
 * directory fsynced, so `catalog` is either absent or has a whole header.
 *
 * State: closed -> open (fd, file_end) -> [sync fails] -> poisoned. A
 * poisoned catalog refuses to change (the bytes at file_end are unknown and
 * an fsync error may have dropped dirty pages); reopening recovers.
 */
#include "catalog_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define FILE_NAME "catalog"
#define TMP_SUFFIX ".tmp"
#define HDR_BYTES 16u
#define FORMAT_VERSION 1u
#define REC_HDR 8u
#define KIND_SERIES 1u
#define KIND_FIELD 2u
#define KIND_COMMIT 3u
#define COMMIT_LEN 9u
/* kind + id + type + two u16 lengths + two names of at most 65535 bytes */
#define REC_MAX_LEN (1u + 4u + 1u + 2u + 2u * CTS_CATALOG_NAME_MAX + 2u)
#define WINDOW_BYTES (1u << 20)
#define PENDING_KEEP (1u << 20)

static const uint8_t magic[8] = {'C', 'T', 'S', 'C', 'A', 'T', 'L', 'G'};

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* CRC of a record: its length field, then kind and payload. */
static uint32_t record_crc(const uint8_t *rec, uint32_t len)
{
    return cts_crc32c_extend(cts_crc32c(rec, 4), rec + REC_HDR, len);
}

/* ------------------------------------------------------------------------
 * The pending buffer (writer only)
 * ------------------------------------------------------------------------ */

int cat_pending_reserve(cts_catalog *cat, size_t record_bytes)
{
    if (!cat->vfs)
        return CTS_OK;
    size_t need = cat->pending_len + record_bytes;
    if (need <= cat->pending_cap)
        return CTS_OK;
    size_t cap = cat->pending_cap < 4096 ? 4096 : cat->pending_cap + cat->pending_cap / 2;
    if (cap < need)
        cap = need;
    uint8_t *p = cts_realloc(cat->pending, cap);
    if (!p)
        return CTS_ENOMEM;
    cat->pending = p;
    cat->pending_cap = cap;
    return CTS_OK;
}

size_t cat_series_record_bytes(size_t key_len)
{
    return REC_HDR + 1 + 4 + key_len;
}

size_t cat_field_record_bytes(cts_str m, cts_str name)
{
    return REC_HDR + 1 + 4 + 1 + 2 + m.len + 2 + name.len;
}

/* Starts a record of `len` bytes (kind + payload) at the end of pending;
 * returns where the payload goes. */
static uint8_t *record_begin(cts_catalog *cat, uint8_t kind, size_t len)
{
    uint8_t *rec = cat->pending + cat->pending_len;
    put_u32(rec, (uint32_t)len);
    rec[REC_HDR] = kind;
    return rec + REC_HDR + 1;
}

static void record_end(cts_catalog *cat, size_t len)
{
    uint8_t *rec = cat->pending + cat->pending_len;
    put_u32(rec + 4, record_crc(rec, (uint32_t)len));
    cat->pending_len += REC_HDR + len;
}

void cat_pending_series(cts_catalog *cat, uint32_t id, const uint8_t *key, size_t key_len)
{
    if (!cat->vfs)
        return;
    size_t len = 1 + 4 + key_len;
    uint8_t *p = record_begin(cat, KIND_SERIES, len);
    put_u32(p, id);
    memcpy(p + 4, key, key_len);
    record_end(cat, len);
}

void cat_pending_field(cts_catalog *cat, uint32_t id, cts_str m, cts_str name, cts_type type)
{
    if (!cat->vfs)
        return;
    size_t len = cat_field_record_bytes(m, name) - REC_HDR;
    uint8_t *p = record_begin(cat, KIND_FIELD, len);
    put_u32(p, id);
    p[4] = (uint8_t)type;
    put_u16(p + 5, (uint16_t)m.len);
    memcpy(p + 7, m.ptr, m.len);
    put_u16(p + 7 + m.len, (uint16_t)name.len);
    memcpy(p + 9 + m.len, name.ptr, name.len);
    record_end(cat, len);
}

static void pending_commit(cts_catalog *cat)
{
    uint8_t *p = record_begin(cat, KIND_COMMIT, COMMIT_LEN);
    put_u32(p, cat->nseries);
    put_u32(p + 4, cat->nfields);
    record_end(cat, COMMIT_LEN);
}

/* ------------------------------------------------------------------------
 * I/O helpers: loops over short transfers; return 0 or -errno.
 * ------------------------------------------------------------------------ */

static int write_all(const cts_vfs *vfs, int fd, const uint8_t *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        int64_t n = vfs->pwrite(vfs->ctx, fd, buf, len, off);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -EIO; /* no progress: would loop forever */
        buf += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Reads up to len bytes; returns the count (short only at end of file). */
static int64_t read_full(const cts_vfs *vfs, int fd, uint8_t *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        int64_t n = vfs->pread(vfs->ctx, fd, buf + got, len - got, off + got);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (int64_t)got;
}

static int io_error(cts_catalog *cat, int neg_errno, const char *what, uint64_t off)
{
    return cat_error(cat, cts_err_from_errno(neg_errno),
                     "catalog file %s: %s at offset %" PRIu64 " failed: %s", cat->path, what, off,
                     strerror(-neg_errno));
}

/* ------------------------------------------------------------------------
 * Creating the file
 * ------------------------------------------------------------------------ */

static void header_write(uint8_t *hdr)
{
    memcpy(hdr, magic, 8);
    put_u32(hdr + 8, FORMAT_VERSION);
    put_u32(hdr + 12, cts_crc32c(hdr, 12));
}

static int file_create(cts_catalog *cat, const char *tmp)
{
    const cts_vfs *vfs = cat->vfs;
    uint8_t hdr[HDR_BYTES];
    header_write(hdr);
    int fd = vfs->open(vfs->ctx, tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return cat_error(cat, cts_err_from_errno(fd), "catalog file %s: create failed: %s", tmp,
                         strerror(-fd));
    int rc = write_all(vfs, fd, hdr, sizeof hdr, 0);
    const char *what = "header write";
    if (rc == 0 && (rc = vfs->fsync(vfs->ctx, fd)) < 0)
        what = "fsync";
    int crc = vfs->close(vfs->ctx, fd);
    if (rc == 0 && crc < 0) {
        rc = crc;
        what = "close";
    }
    if (rc == 0 && (rc = vfs->rename(vfs->ctx, tmp, cat->path)) < 0)
        what = "rename";
    if (rc == 0 && (rc = vfs->fsync_dir(vfs->ctx, cat->dir)) < 0)
        what = "directory fsync";
    if (rc < 0) {
        vfs->unlink(vfs->ctx, tmp);
        return cat_error(cat, cts_err_from_errno(rc), "catalog file %s: %s failed: %s", cat->path,
                         what, strerror(-rc));
    }
    return CTS_OK;
}

static char *path_join(const char *dir, const char *name, const char *suffix)
{
    size_t a = strlen(dir), b = strlen(name), c = strlen(suffix);
    char *p = cts_malloc(a + 1 + b + c + 1);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b);
        memcpy(p + a + 1 + b, suffix, c + 1);
    }
    return p;
}

static char *str_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cts_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Opens `catalog`, creating it first if missing. */
static int file_open(cts_catalog *cat, const char *tmp, bool *created)
{
    const cts_vfs *vfs = cat->vfs;
    int rc = vfs->unlink(vfs->ctx, tmp);
    if (rc < 0 && rc != -ENOENT)
        return cat_error(cat, cts_err_from_errno(rc), "catalog file %s: unlink failed: %s", tmp,
                         strerror(-rc));
    int fd = vfs->open(vfs->ctx, cat->path, O_RDWR, 0);
    if (fd == -ENOENT) {
        if ((rc = file_create(cat, tmp)))
            return rc;
        *created = true;
        fd = vfs->open(vfs->ctx, cat->path, O_RDWR, 0);
    }
    if (fd < 0)
        return cat_error(cat, cts_err_from_errno(fd), "catalog file %s: open failed: %s", cat->path,
                         strerror(-fd));
    cat->fd = fd;
    return CTS_OK;
}

/* ------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------ */

/* A window of the file in memory; records never straddle what it can hold. */
typedef struct window {
    uint8_t *buf;
    uint64_t base, size; /* file offset of buf[0]; file size */
    size_t len;
} window;

/* Points *p at bytes [off, off + need) of the file; off + need <= size. */
static int window_get(cts_catalog *cat, window *w, uint64_t off, size_t need, const uint8_t **p)
{
    if (off < w->base || off + need > w->base + w->len) {
        uint64_t left = w->size - off;
        size_t want = left < WINDOW_BYTES ? (size_t)left : WINDOW_BYTES;
        int64_t n = read_full(cat->vfs, cat->fd, w->buf, want, off);
        if (n < 0)
            return io_error(cat, (int)n, "read", off);
        if ((size_t)n < need)
            return cat_error(cat, CTS_EIO, "catalog file %s: short read at offset %" PRIu64,
                             cat->path, off);
        w->base = off;
        w->len = (size_t)n;
    }
    *p = w->buf + (off - w->base);
    return CTS_OK;
}

/* A record as parsed: kind and payload, or why it is bad. */
typedef struct record {
    uint32_t len; /* kind + payload */
    uint8_t kind;
    const uint8_t *payload;
    const char *bad; /* NULL when the record is whole */
} record;

static int record_read(cts_catalog *cat, window *w, uint64_t off, record *r)
{
    const uint8_t *p;
    int rc;
    r->bad = NULL;
    if (w->size - off < REC_HDR + 1) {
        r->bad = "truncated record header";
        return CTS_OK;
    }
    if ((rc = window_get(cat, w, off, REC_HDR, &p)))
        return rc;
    r->len = get_u32(p);
    if (r->len == 0 || r->len > REC_MAX_LEN) {
        r->bad = "record length out of range";
        return CTS_OK;
    }
    if (r->len > w->size - off - REC_HDR) {
        r->bad = "record runs past the end of the file";
        return CTS_OK;
    }
    if ((rc = window_get(cat, w, off, REC_HDR + r->len, &p)))
        return rc;
    if (get_u32(p + 4) != record_crc(p, r->len)) {
        r->bad = "checksum mismatch";
        return CTS_OK;
    }
    r->kind = p[REC_HDR];
    r->payload = p + REC_HDR + 1;
    return CTS_OK;
}

static int apply_field(cts_catalog *cat, const uint8_t *p, uint32_t n)
{
    if (n < 9)
        return cat_error(cat, CTS_ECORRUPT, "field record too short");
    cts_str m = {(const char *)p + 7, get_u16(p + 5)};
    if (n < 9u + m.len)
        return cat_error(cat, CTS_ECORRUPT, "field record too short");
    cts_str name = {(const char *)p + 9 + m.len, get_u16(p + 7 + m.len)};
    if (n != 9u + m.len + name.len)
        return cat_error(cat, CTS_ECORRUPT, "field record has the wrong length");
    return cat_field_restore(cat, get_u32(p), m, name, (cts_type)p[4], false);
}

static int apply_record(cts_catalog *cat, const record *r)
{
    uint32_t n = r->len - 1; /* payload bytes */
    const uint8_t *p = r->payload;
    switch (r->kind) {
    case KIND_SERIES:
        if (n < 5)
            return cat_error(cat, CTS_ECORRUPT, "series record too short");
        return cat_series_restore(cat, get_u32(p), p + 4, n - 4, false);
    case KIND_FIELD:
        return apply_field(cat, p, n);
    case KIND_COMMIT:
        if (n != 8)
            return cat_error(cat, CTS_ECORRUPT, "commit record has the wrong length");
        if (get_u32(p) != cat->nseries || get_u32(p + 4) != cat->nfields)
            return cat_error(cat, CTS_ECORRUPT,
                             "commit record counts %" PRIu32 " series and %" PRIu32
                             " fields, the file holds %" PRIu32 " and %" PRIu32,
                             get_u32(p), get_u32(p + 4), cat->nseries, cat->nfields);
        return CTS_OK;
    default:
        return cat_error(cat, CTS_ECORRUPT, "unknown record kind %u", r->kind);
    }
}

/* Looks for a valid COMMIT record starting anywhere in [from, size). */
static int find_commit(cts_catalog *cat, window *w, uint64_t from, uint64_t *at)
{
    const uint32_t whole = REC_HDR + COMMIT_LEN;
    uint64_t off = from;
    while (off + whole <= w->size) {
        uint64_t left = w->size - off;
        size_t avail = left < WINDOW_BYTES ? (size_t)left : WINDOW_BYTES;
        const uint8_t *p;
        int rc = window_get(cat, w, off, avail, &p);
        if (rc)
            return rc;
        size_t i = 0;
        for (; i + whole <= avail; i++) {
            const uint8_t *q = p + i;
            if (q[0] == COMMIT_LEN && q[1] == 0 && q[2] == 0 && q[3] == 0 &&
                q[REC_HDR] == KIND_COMMIT && get_u32(q + 4) == record_crc(q, COMMIT_LEN)) {
                *at = off + i;
                return 1;
            }
        }
        off += i;
    }
    return 0;
}

/* The bad record at `off` ends the valid data: torn tail or corruption. */
static int load_tail(cts_catalog *cat, window *w, uint64_t off, const char *why,
                     cts_catalog_report *report)
{
    uint64_t at = 0;
    int rc = find_commit(cat, w, off + 1, &at);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return cat_error(cat, CTS_ECORRUPT,
                         "catalog file %s: bad record at offset %" PRIu64
                         " (%s) before a valid commit record at offset %" PRIu64,
                         cat->path, off, why, at);
    int e = cat->vfs->ftruncate(cat->vfs->ctx, cat->fd, off);
    if (e == 0)
        e = cat->vfs->fsync(cat->vfs->ctx, cat->fd);
    if (e < 0)
        return io_error(cat, e, "truncating the torn tail", off);
    report->torn_offset = off;
    report->torn_bytes = w->size - off;
    snprintf(cat->errmsg, sizeof cat->errmsg,
             "catalog file %s: truncated a torn tail of %" PRIu64 " bytes at offset %" PRIu64
             " (%s)",
             cat->path, w->size - off, off, why);
    return CTS_OK;
}

static int header_check(cts_catalog *cat, window *w)
{
    const uint8_t *h;
    if (w->size < HDR_BYTES)
        return cat_error(cat, CTS_ECORRUPT,
                         "catalog file %s: %" PRIu64 " bytes, shorter than "
                         "its %u-byte header (ends at offset %" PRIu64 ")",
                         cat->path, w->size, HDR_BYTES, w->size);
    int rc = window_get(cat, w, 0, HDR_BYTES, &h);
    if (rc)
        return rc;
    if (memcmp(h, magic, sizeof magic) != 0)
        return cat_error(cat, CTS_ECORRUPT,
                         "catalog file %s: not a catalog (bad magic at offset 0)", cat->path);
    if (get_u32(h + 12) != cts_crc32c(h, 12))
        return cat_error(cat, CTS_ECORRUPT,
                         "catalog file %s: header checksum mismatch at "
                         "offset 0",
                         cat->path);
    if (get_u32(h + 8) != FORMAT_VERSION)
        return cat_error(cat, CTS_EVERSION,
                         "catalog file %s: format version %" PRIu32
                         " at offset 8, this build reads %u",
                         cat->path, get_u32(h + 8), FORMAT_VERSION);
    return CTS_OK;
}

static int load_records(cts_catalog *cat, window *w, cts_catalog_report *report)
{
    uint64_t off = HDR_BYTES;
    while (off < w->size) {
        record r;
        int rc = record_read(cat, w, off, &r);
        if (rc)
            return rc;
        if (r.bad) {
            if ((rc = load_tail(cat, w, off, r.bad, report)))
                return rc;
            break;
        }
        if ((rc = apply_record(cat, &r))) {
            char why[CTS_CATALOG_ERRMSG_MAX];
            memcpy(why, cat->errmsg, sizeof why);
            if (rc == CTS_ENOMEM)
                snprintf(why, sizeof why, "%s", cts_strerror(rc));
            return cat_error(cat, rc, "catalog file %s: record at offset %" PRIu64 ": %.300s",
                             cat->path, off, why);
        }
        report->records++;
        off += REC_HDR + r.len;
    }
    cat->file_end = off;
    return CTS_OK;
}

static int file_load(cts_catalog *cat, cts_catalog_report *report)
{
    window w = {0};
    int rc = cat->vfs->fsize(cat->vfs->ctx, cat->fd, &w.size);
    if (rc < 0)
        return io_error(cat, rc, "fsize", 0);
    report->file_bytes = w.size;
    w.buf = cts_malloc(WINDOW_BYTES);
    if (!w.buf)
        return CTS_ENOMEM;
    rc = header_check(cat, &w);
    if (rc == CTS_OK)
        rc = load_records(cat, &w, report);
    cts_free(w.buf);
    return rc;
}

int cts_catalog_open(cts_catalog *cat, const cts_vfs *vfs, const char *dir,
                     cts_catalog_report *report)
{
    cts_catalog_report scratch;
    char *tmp = NULL;
    int rc = CTS_OK;
    if (!report)
        report = &scratch;
    memset(report, 0, sizeof *report);
    if (!cat || !vfs || !dir)
        return CTS_EINVAL;
    cat->errmsg[0] = '\0';
    if (cat->vfs || cat->nseries || cat->nfields)
        return cat_error(cat, CTS_EINVAL, "catalog already open or not empty");
    cts_free(cat->dir); /* left by an earlier open that ran out of memory */
    cts_free(cat->path);
    cat->dir = str_dup(dir);
    cat->path = path_join(dir, FILE_NAME, "");
    tmp = path_join(dir, FILE_NAME, TMP_SUFFIX);
    if (!cat->dir || !cat->path || !tmp) {
        rc = CTS_ENOMEM;
        goto cleanup;
    }
    cat->vfs = vfs;
    if ((rc = file_open(cat, tmp, &report->created)))
        goto cleanup;
    rc = file_load(cat, report);
cleanup:
    cts_free(tmp);
    return rc;
}

/* ------------------------------------------------------------------------
 * Sync and close
 * ------------------------------------------------------------------------ */

int cts_catalog_sync(cts_catalog *cat)
{
    if (!cat)
        return CTS_EINVAL;
    if (!cat->vfs)
        return CTS_OK;
    if (cat->poisoned)
        return cat_error(cat, CTS_EPOISONED, "catalog file %s: an earlier sync failed (%s)",
                         cat->path, cts_strerror(cat->poison_rc));
    if (cat->pending_len == 0)
        return CTS_OK;
    int rc = cat_pending_reserve(cat, REC_HDR + COMMIT_LEN);
    if (rc)
        return cat_error(cat, rc, "catalog file %s: no memory for the commit record", cat->path);
    pending_commit(cat);
    const char *what = "write";
    int e = write_all(cat->vfs, cat->fd, cat->pending, cat->pending_len, cat->file_end);
    if (e == 0 && (e = cat->vfs->fsync(cat->vfs->ctx, cat->fd)) < 0)
        what = "fsync";
    if (e < 0) {
        cat->poisoned = true;
        cat->poison_rc = io_error(cat, e, what, cat->file_end);
        return cat->poison_rc;
    }
    cat->file_end += cat->pending_len;
    cat->pending_len = 0;
    if (cat->pending_cap > PENDING_KEEP) {
        /* A bulk load left a large buffer; later syncs are small. */
        cts_free(cat->pending);
        cat->pending = NULL;
        cat->pending_cap = 0;
    }
    return CTS_OK;
}

void cat_file_close(cts_catalog *cat)
{
    if (cat->vfs && cat->fd >= 0)
        cat->vfs->close(cat->vfs->ctx, cat->fd);
    cat->fd = -1;
    cts_free(cat->pending);
    cts_free(cat->dir);
    cts_free(cat->path);
    cat->pending = NULL;
    cat->dir = cat->path = NULL;
}
