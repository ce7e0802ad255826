/*
 * wal_segment.c: the pieces of the WAL's on-disk format (docs/format-wal.md)
 * and the operations on whole segment files: naming, the 32-byte header,
 * record framing, crash-safe creation, and listing the directory.
 *
 * Crash safety of a new file rests on one sequence: write it under a
 * temporary name, fsync it, rename it to its final name, fsync the
 * directory. A segment name therefore never refers to a file whose header
 * is incomplete; a crash leaves at worst a *.tmp file, which the next open
 * removes.
 *
 * Record CRC: CRC32C over seq (8 bytes LE) || length (4 bytes LE) ||
 * payload. Covering the seq means a stale record left from an earlier life
 * of the file can never pass as the next one.
 */
#include "wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- messages ---- */

int wal_fail(cts_wal *wal, int err, const char *fmt, ...)
{
    pthread_mutex_lock(&wal->mu);
    if (!wal->poisoned) {
        int n = snprintf(wal->errmsg, sizeof wal->errmsg, "wal: ");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(wal->errmsg + n, sizeof wal->errmsg - (size_t)n, fmt, ap);
        va_end(ap);
        if (wal->leader && pthread_equal(wal->leader_tid, pthread_self()))
            wal->poisoned = err;
    }
    pthread_mutex_unlock(&wal->mu);
    return err;
}

void wal_log(cts_wal *wal, const char *fmt, ...)
{
    char line[WAL_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (wal->log)
        wal->log(wal->log_ctx, line);
    else
        fprintf(stderr, "cityts: %s\n", line);
}

/* ---- names ---- */

char *wal_seg_path(const cts_wal *wal, uint64_t first_seq, const char *suffix)
{
    size_t need = strlen(wal->dir) + 1 + WAL_NAME_LEN + strlen(suffix) + 1;
    char *p = cts_malloc(need);
    if (p)
        snprintf(p, need, "%s/wal-%016llx.log%s", wal->dir, (unsigned long long)first_seq, suffix);
    return p;
}

/* Parse "wal-<16 lowercase hex>.log" at the start of name; returns the
 * length of the rest of the name, or -1 when it does not match. */
static long parse_name(const char *name, uint64_t *seq)
{
    if (strncmp(name, "wal-", 4) != 0)
        return -1;
    uint64_t v = 0;
    for (int i = 4; i < 20; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = (v << 4) | (uint64_t)d;
    }
    if (strncmp(name + 20, ".log", 4) != 0)
        return -1;
    *seq = v;
    return (long)strlen(name + WAL_NAME_LEN);
}

/* ---- header and records ---- */

void wal_header_encode(uint8_t out[WAL_HEADER_BYTES], uint64_t first_seq)
{
    memcpy(out, WAL_MAGIC, 8);
    cts_put_u32(out + 8, WAL_VERSION);
    cts_put_u32(out + 12, WAL_HEADER_BYTES);
    cts_put_u64(out + 16, first_seq);
    cts_put_u32(out + 24, 0);
    cts_put_u32(out + 28, cts_crc32c(out, 28));
}

int wal_header_check(const uint8_t *p, size_t len, uint64_t first_seq, const char **why)
{
    *why = NULL;
    if (len < WAL_HEADER_BYTES)
        *why = "segment shorter than its header";
    else if (memcmp(p, WAL_MAGIC, 8) != 0)
        *why = "not a WAL segment (bad magic)";
    else if (cts_get_u32(p + 28) != cts_crc32c(p, 28))
        *why = "segment header checksum mismatch";
    else if (cts_get_u32(p + 8) != WAL_VERSION) {
        *why = "unsupported segment format version";
        return CTS_EVERSION;
    } else if (cts_get_u32(p + 12) != WAL_HEADER_BYTES || cts_get_u32(p + 24) != 0)
        *why = "unexpected segment header size or flags";
    else if (cts_get_u64(p + 16) != first_seq)
        *why = "header's first seq differs from the file name";
    return *why ? CTS_ECORRUPT : CTS_OK;
}

static uint32_t record_crc(const uint8_t *hdr, const void *payload, uint32_t len)
{
    uint32_t crc = cts_crc32c_extend(0, hdr + 8, 8);
    crc = cts_crc32c_extend(crc, hdr, 4);
    return cts_crc32c_extend(crc, payload, len);
}

void wal_record_encode(uint8_t *dst, uint64_t seq, const void *payload, uint32_t len)
{
    cts_put_u32(dst, len);
    cts_put_u64(dst + 8, seq);
    if (len)
        memcpy(dst + WAL_RECORD_HEADER, payload, len);
    cts_put_u32(dst + 4, record_crc(dst, dst + WAL_RECORD_HEADER, len));
}

const char *wal_record_check(const uint8_t *p, uint64_t avail, uint64_t *seq, uint32_t *len)
{
    if (avail < WAL_RECORD_HEADER)
        return "incomplete record header";
    uint32_t n = cts_get_u32(p);
    if (n > CTS_WAL_MAX_PAYLOAD)
        return "record length over the limit";
    if ((uint64_t)n > avail - WAL_RECORD_HEADER)
        return "record extends past the end of the file";
    if (cts_get_u32(p + 4) != record_crc(p, p + WAL_RECORD_HEADER, n))
        return "record checksum mismatch";
    *seq = cts_get_u64(p + 8);
    *len = n;
    return NULL;
}

/* ---- creating files ---- */

int wal_pwrite_all(const cts_vfs *vfs, int fd, const void *data, size_t len, uint64_t off)
{
    const uint8_t *p = data;
    int stalls = 0;
    while (len > 0) {
        int64_t n = vfs->pwrite(vfs->ctx, fd, p, len, off);
        if (n < 0 && n != -EINTR && n != -EAGAIN)
            return (int)n;
        if (n <= 0) {
            if (++stalls >= 64)
                return n < 0 ? (int)n : -EIO;
            continue;
        }
        stalls = 0;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Write and fsync the temporary file; 0 or -errno, with *what naming the
 * step that failed. */
static int fill_tmp(const cts_vfs *vfs, int fd, const void *data, size_t len, const char **what)
{
    *what = "write";
    int r = wal_pwrite_all(vfs, fd, data, len, 0);
    if (r == 0) {
        *what = "fsync";
        r = vfs->fsync(vfs->ctx, fd);
    }
    return r;
}

int wal_file_create(cts_wal *wal, const char *path, const void *data, size_t len, int *fd_out)
{
    const cts_vfs *vfs = wal->vfs;
    size_t plen = strlen(path);
    char *tmp = cts_malloc(plen + sizeof WAL_TMP_SUFFIX);
    if (!tmp)
        return wal_fail(wal, CTS_ENOMEM, "out of memory creating %s", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, WAL_TMP_SUFFIX, sizeof WAL_TMP_SUFFIX);
    const char *what = "create";
    const char *subject = tmp;
    int fd = vfs->open(vfs->ctx, tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int r = fd < 0 ? fd : fill_tmp(vfs, fd, data, len, &what);
    if (r == 0) {
        what = "rename to final name";
        r = vfs->rename(vfs->ctx, tmp, path);
    }
    if (r == 0) {
        what = "fsync directory";
        subject = wal->dir;
        r = vfs->fsync_dir(vfs->ctx, wal->dir);
    }
    if (r < 0)
        wal_fail(wal, cts_err_from_errno(r), "%s of %s failed: %s", what, subject, strerror(-r));
    if (fd >= 0 && (r < 0 || !fd_out))
        vfs->close(vfs->ctx, fd);
    if (r < 0 && fd >= 0)
        vfs->unlink(vfs->ctx, tmp); /* best effort; the next open removes it too */
    if (r == 0 && fd_out)
        *fd_out = fd;
    cts_free(tmp);
    return r < 0 ? cts_err_from_errno(r) : CTS_OK;
}

int wal_seg_create(cts_wal *wal, uint64_t first_seq, int *fd, char **path)
{
    char *p = wal_seg_path(wal, first_seq, "");
    if (!p)
        return wal_fail(wal, CTS_ENOMEM, "out of memory creating a segment in %s", wal->dir);
    uint8_t hdr[WAL_HEADER_BYTES];
    wal_header_encode(hdr, first_seq);
    int r = wal_file_create(wal, p, hdr, sizeof hdr, fd);
    if (r < 0) {
        cts_free(p);
        return r;
    }
    *path = p;
    return CTS_OK;
}

/* ---- listing ---- */

int wal_seqs_push(wal_seqs *s, uint64_t v)
{
    if (s->count == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        uint64_t *nv = cts_realloc(s->v, ncap * sizeof *nv);
        if (!nv)
            return CTS_ENOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->count++] = v;
    return CTS_OK;
}

void wal_seqs_free(wal_seqs *s)
{
    cts_free(s->v);
    *s = (wal_seqs){0};
}

/* list_dir passes a callback's non-zero value through; a positive one
 * cannot be mistaken for the VFS's -errno. */
#define LIST_NOMEM 1

typedef struct list_ctx {
    cts_wal *wal;
    wal_seqs tmps;
} list_ctx;

static int list_one(void *arg, const char *name)
{
    list_ctx *lc = arg;
    uint64_t seq;
    long rest = parse_name(name, &seq);
    const char *tail = name + WAL_NAME_LEN;
    wal_seqs *into = NULL;
    if (rest == 0)
        into = &lc->wal->segs;
    else if (rest > 0 && strcmp(tail, WAL_TMP_SUFFIX) == 0)
        into = &lc->tmps;
    else if (rest > 0 && strncmp(tail, WAL_CORRUPT_SUFFIX, strlen(WAL_CORRUPT_SUFFIX)) == 0)
        into = &lc->wal->quarantine;
    if (!into)
        return 0; /* not ours */
    return wal_seqs_push(into, seq) < 0 ? LIST_NOMEM : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void sort_seqs(wal_seqs *s)
{
    if (s->count > 1)
        qsort(s->v, s->count, sizeof *s->v, cmp_u64);
}

static int remove_tmps(cts_wal *wal, const wal_seqs *tmps)
{
    for (size_t i = 0; i < tmps->count; i++) {
        char *p = wal_seg_path(wal, tmps->v[i], WAL_TMP_SUFFIX);
        if (!p)
            return wal_fail(wal, CTS_ENOMEM, "out of memory listing %s", wal->dir);
        int r = wal->vfs->unlink(wal->vfs->ctx, p);
        if (r < 0 && r != -ENOENT)
            wal_fail(wal, cts_err_from_errno(r), "unlink of %s failed: %s", p, strerror(-r));
        cts_free(p);
        if (r < 0 && r != -ENOENT)
            return cts_err_from_errno(r);
    }
    return CTS_OK;
}

int wal_list(cts_wal *wal)
{
    list_ctx lc = {.wal = wal};
    int r = wal->vfs->list_dir(wal->vfs->ctx, wal->dir, list_one, &lc);
    if (r == LIST_NOMEM)
        r = wal_fail(wal, CTS_ENOMEM, "out of memory listing %s", wal->dir);
    else if (r < 0)
        r = wal_fail(wal, cts_err_from_errno(r), "listing %s failed: %s", wal->dir, strerror(-r));
    if (r == 0)
        r = remove_tmps(wal, &lc.tmps);
    wal_seqs_free(&lc.tmps);
    if (r == 0) {
        sort_seqs(&wal->segs);
        sort_seqs(&wal->quarantine);
    }
    return r;
}
