/*
 * wal_replay.c: reading the WAL back at open.
 *
 * Each segment, oldest first, is read whole into one buffer, its header and
 * records are validated, and only then are its records delivered, so the
 * decisions below are made before the caller sees a record of that file.
 *
 * What counts as what:
 *   - a segment other than the last is complete by construction (rotation
 *     fdatasyncs it before the next one is created), so any bad record in
 *     it is corruption: CTS_ECORRUPT naming file and offset.
 *   - in the last segment, the first bad record (incomplete, length past
 *     the end, checksum mismatch, wrong seq) is a torn tail when nothing
 *     valid follows it, or when an all-zero 512-byte sector overlaps it: the
 *     trace of unsynced pages a crash lost out of order, which only happens
 *     past the last fdatasync, i.e. to records never acknowledged as
 *     durable. The tail is cut at the bad record and the cut is logged with
 *     the bytes and records dropped. A bad record followed by valid ones and
 *     no zero sector is corruption.
 *   - seqs grow by one across segments; a gap is corruption unless a
 *     quarantined file explains it (its first seq lies between the first seq
 *     of the segment before the gap and the gap's end).
 * With CTS_WAL_CORRUPT_QUARANTINE a corrupt segment is renamed to
 * <name>.corrupt (or .corrupt.N), its valid prefix is rewritten under the
 * original name (crash-safely) and replay goes on. Replay never skips a bad
 * record silently: it fails, or it logs and reports what it dropped.
 */
#include "wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>

#define SECTOR 512u

typedef struct replay {
    cts_wal *wal;
    cts_wal_replay_fn fn;
    void *ctx;
    cts_wal_replay_report rep;
    uint8_t *buf;
    size_t cap;
    uint64_t size;       /* bytes of the segment in buf */
    uint64_t expect;     /* next seq expected; 0 before the first segment */
    uint64_t prev_first; /* first seq of the segment read before */
    wal_seqs live;       /* segments left in place */
    uint64_t last_end;   /* valid end of the last live segment */
} replay;

/* Where a segment's valid records end, and why they end there. */
typedef struct seg_scan {
    uint64_t end;
    uint64_t count;
    const char *why; /* NULL when every byte is valid */
} seg_scan;

/* ---- reading and scanning ---- */

static int read_segment(replay *rp, const char *path)
{
    const cts_vfs *vfs = rp->wal->vfs;
    int fd = vfs->open(vfs->ctx, path, O_RDONLY, 0);
    int r = fd < 0 ? fd : vfs->fsize(vfs->ctx, fd, &rp->size);
    if (r == 0 && rp->size > rp->cap) {
        uint8_t *nb = rp->size <= SIZE_MAX ? cts_realloc(rp->buf, (size_t)rp->size) : NULL;
        r = nb ? 0 : -ENOMEM;
        if (nb) {
            rp->buf = nb;
            rp->cap = (size_t)rp->size;
        }
    }
    for (uint64_t got = 0; r == 0 && got < rp->size;) {
        int64_t n = vfs->pread(vfs->ctx, fd, rp->buf + got, (size_t)(rp->size - got), got);
        if (n == 0)
            n = -EIO; /* the file shrank under us */
        if (n < 0 && n != -EINTR && n != -EAGAIN)
            r = (int)n;
        got += n > 0 ? (uint64_t)n : 0;
    }
    if (fd >= 0)
        vfs->close(vfs->ctx, fd);
    if (r < 0)
        return wal_fail(rp->wal, cts_err_from_errno(r), "reading %s failed: %s", path,
                        strerror(-r));
    rp->rep.bytes += rp->size;
    return CTS_OK;
}

static void scan_records(const replay *rp, uint64_t first, seg_scan *s)
{
    uint64_t off = WAL_HEADER_BYTES, expect = first;
    s->why = NULL;
    while (off < rp->size) {
        uint64_t seq;
        uint32_t len;
        s->why = wal_record_check(rp->buf + off, rp->size - off, &seq, &len);
        if (!s->why && seq != expect)
            s->why = "record out of sequence";
        if (s->why)
            break;
        off += WAL_RECORD_HEADER + len;
        expect++;
    }
    s->end = off;
    s->count = expect - first;
}

/* Offset of the first intact record after a bad one at `bad` whose seq is
 * past `last_seq`, or the segment size when there is none. */
static uint64_t find_intact(const replay *rp, uint64_t bad, uint64_t last_seq)
{
    uint64_t most = (rp->size - bad) / WAL_RECORD_HEADER + 1;
    for (uint64_t p = bad + 1; p + WAL_RECORD_HEADER <= rp->size; p++) {
        uint64_t seq = cts_get_u64(rp->buf + p + 8);
        if (seq <= last_seq || seq - last_seq > most)
            continue;
        uint32_t len;
        if (!wal_record_check(rp->buf + p, rp->size - p, &seq, &len))
            return p;
    }
    return rp->size;
}

/* Intact records in the chain starting at `off`. */
static uint64_t count_chain(const replay *rp, uint64_t off)
{
    uint64_t n = 0, seq;
    uint32_t len;
    while (off < rp->size && !wal_record_check(rp->buf + off, rp->size - off, &seq, &len)) {
        off += WAL_RECORD_HEADER + len;
        n++;
    }
    return n;
}

/* True when a 512-byte-aligned sector overlapping [from, to) is all zero. */
static int zero_sector(const replay *rp, uint64_t from, uint64_t to)
{
    for (uint64_t sec = from - from % SECTOR; sec < to && sec < rp->size; sec += SECTOR) {
        uint64_t end = sec + SECTOR < rp->size ? sec + SECTOR : rp->size;
        uint64_t i = sec;
        while (i < end && rp->buf[i] == 0)
            i++;
        if (i == end)
            return 1;
    }
    return 0;
}

/* In the last segment, is the bad record at s->end a torn tail? Sets
 * *dropped to the records it would cut (the bad one and intact ones after). */
static int is_torn(const replay *rp, const seg_scan *s, uint64_t first, uint64_t *dropped)
{
    uint64_t next = find_intact(rp, s->end, first + s->count - 1);
    *dropped = 1;
    if (next == rp->size)
        return 1;
    if (!zero_sector(rp, s->end, next))
        return 0;
    *dropped += count_chain(rp, next);
    return 1;
}

/* ---- delivering ---- */

static int deliver(replay *rp, uint64_t end)
{
    uint64_t off = WAL_HEADER_BYTES;
    while (off < end) {
        uint32_t len = cts_get_u32(rp->buf + off);
        uint64_t seq = cts_get_u64(rp->buf + off + 8);
        if (rp->fn) {
            int r = rp->fn(rp->ctx, seq, rp->buf + off + WAL_RECORD_HEADER, len);
            if (r != 0)
                return wal_fail(rp->wal, r, "replay stopped by its callback at seq %" PRIu64, seq);
        }
        if (!rp->rep.first_seq)
            rp->rep.first_seq = seq;
        rp->rep.last_seq = seq;
        rp->rep.records++;
        off += WAL_RECORD_HEADER + len;
    }
    return CTS_OK;
}

/* ---- quarantine ---- */

/* path + ".corrupt", or ".corrupt.N" when that exists; allocated. */
static char *quarantine_name(cts_wal *wal, const char *path)
{
    size_t pl = strlen(path), cap = pl + sizeof WAL_CORRUPT_SUFFIX + 8;
    char *q = cts_malloc(cap);
    for (int i = 0; q && i < 1000; i++) {
        if (i == 0)
            snprintf(q, cap, "%s%s", path, WAL_CORRUPT_SUFFIX);
        else
            snprintf(q, cap, "%s%s.%d", path, WAL_CORRUPT_SUFFIX, i);
        int fd = wal->vfs->open(wal->vfs->ctx, q, O_RDONLY, 0);
        if (fd == -ENOENT)
            return q;
        if (fd >= 0)
            wal->vfs->close(wal->vfs->ctx, fd);
    }
    cts_free(q);
    return NULL;
}

/* Move the segment aside and rewrite its valid prefix [0, keep) (keep 0:
 * none) under its name. */
static int quarantine(replay *rp, uint64_t first, const char *path, uint64_t keep)
{
    cts_wal *wal = rp->wal;
    char *q = quarantine_name(wal, path);
    if (!q)
        return wal_fail(wal, CTS_ENOMEM, "no free quarantine name for %s", path);
    int r = wal->vfs->rename(wal->vfs->ctx, path, q);
    if (r < 0)
        r = wal_fail(wal, cts_err_from_errno(r), "rename of %s to %s failed: %s", path, q,
                     strerror(-r));
    else if (keep > WAL_HEADER_BYTES)
        r = wal_file_create(wal, path, rp->buf, (size_t)keep, NULL);
    else if ((r = wal->vfs->fsync_dir(wal->vfs->ctx, wal->dir)) < 0)
        r = wal_fail(wal, cts_err_from_errno(r), "fsync of directory %s failed: %s", wal->dir,
                     strerror(-r));
    if (r == 0)
        r = wal_seqs_push(&wal->quarantine, first);
    if (r == 0 && keep > WAL_HEADER_BYTES)
        r = wal_seqs_push(&rp->live, first);
    if (r == 0) {
        rp->rep.quarantined++;
        wal_log(wal, "wal: %s moved to %s; kept %" PRIu64 " bytes before the damage", path, q,
                keep > WAL_HEADER_BYTES ? keep : 0);
    }
    cts_free(q);
    return r;
}

/* A bad header or record at `off`: fail, or quarantine and keep [0, keep). */
static int corrupt(replay *rp, int err, uint64_t first, const char *path, uint64_t off,
                   const char *why, uint64_t keep)
{
    cts_wal *wal = rp->wal;
    if (wal->on_corrupt != CTS_WAL_CORRUPT_QUARANTINE)
        return wal_fail(wal, err, "%s: %s at offset %" PRIu64, path, why, off);
    wal_log(wal, "wal: %s: %s at offset %" PRIu64 "; quarantining", path, why, off);
    int r = keep > WAL_HEADER_BYTES ? deliver(rp, keep) : CTS_OK;
    return r ? r : quarantine(rp, first, path, keep);
}

/* ---- one segment ---- */

/* Does a quarantined file explain a gap after segment prev_first? */
static int gap_explained(const replay *rp, uint64_t gap_end)
{
    const wal_seqs *q = &rp->wal->quarantine;
    for (size_t i = 0; i < q->count; i++)
        if (q->v[i] >= rp->prev_first && q->v[i] < gap_end)
            return 1;
    return 0;
}

static int check_order(replay *rp, uint64_t first, const char *path)
{
    if (rp->expect == 0 || first == rp->expect)
        return CTS_OK;
    if (first > rp->expect && gap_explained(rp, first))
        return CTS_OK;
    return wal_fail(rp->wal, CTS_ECORRUPT,
                    "%s: starts at seq %" PRIu64 " but seq %" PRIu64
                    " was expected (a segment is missing or overlaps)",
                    path, first, rp->expect);
}

/* Torn tail of the last segment: deliver the prefix and note the cut,
 * which wal_writer_start applies. */
static int torn_tail(replay *rp, const seg_scan *s, const char *path, uint64_t dropped)
{
    rp->rep.torn_bytes = rp->size - s->end;
    rp->rep.torn_records = dropped;
    wal_log(rp->wal,
            "wal: %s: torn tail (%s) truncated at offset %" PRIu64 ": dropped %" PRIu64
            " bytes, %" PRIu64 " record(s)",
            path, s->why, s->end, rp->size - s->end, dropped);
    return deliver(rp, s->end);
}

static int replay_segment(replay *rp, uint64_t first, const char *path, int is_last)
{
    int r = read_segment(rp, path);
    if (r == 0)
        r = check_order(rp, first, path);
    if (r < 0)
        return r;
    rp->rep.segments++;
    rp->prev_first = first;
    const char *why;
    r = wal_header_check(rp->buf, (size_t)rp->size, first, &why);
    if (r < 0 && !rp->expect)
        rp->expect = first; /* if quarantined, seqs go on from its name, never back */
    if (r < 0)
        return corrupt(rp, r, first, path, 0, why, 0);
    seg_scan s;
    scan_records(rp, first, &s);
    rp->expect = first + s.count;
    uint64_t dropped;
    if (!s.why || (is_last && is_torn(rp, &s, first, &dropped))) {
        r = s.why ? torn_tail(rp, &s, path, dropped) : deliver(rp, s.end);
        rp->last_end = s.end;
        return r ? r : wal_seqs_push(&rp->live, first);
    }
    rp->last_end = s.end;
    return corrupt(rp, CTS_ECORRUPT, first, path, s.end, s.why, s.end);
}

/* ---- entry point ---- */

static int replay_all(replay *rp)
{
    cts_wal *wal = rp->wal;
    for (size_t i = 0; i < wal->segs.count; i++) {
        uint64_t first = wal->segs.v[i];
        char *path = wal_seg_path(wal, first, "");
        if (!path)
            return wal_fail(wal, CTS_ENOMEM, "out of memory replaying %s", wal->dir);
        int r = replay_segment(rp, first, path, i + 1 == wal->segs.count);
        cts_free(path);
        if (r != 0)
            return r;
    }
    return CTS_OK;
}

int cts_wal_replay(cts_wal *wal, cts_wal_replay_fn fn, void *ctx, cts_wal_replay_report *report)
{
    if (!wal)
        return CTS_EINVAL;
    if (wal->state != WAL_OPENED)
        return wal_fail(wal, CTS_EINVAL, "replay called twice or after a failure");
    replay rp = {.wal = wal, .fn = fn, .ctx = ctx};
    int r = replay_all(&rp);
    cts_free(rp.buf);
    if (r == 0) {
        wal_seqs_free(&wal->segs);
        wal->segs = rp.live;
        rp.live = (wal_seqs){0};
        /* The last live segment is the current one; if the last file read
         * was quarantined without a prefix, none is left and one is made. */
        uint64_t last = wal->segs.count ? wal->segs.v[wal->segs.count - 1] : 0;
        uint64_t next = rp.expect ? rp.expect : 1;
        if (last && rp.prev_first != last)
            last = 0;
        r = wal_writer_start(wal, last, rp.last_end, next);
    }
    wal_seqs_free(&rp.live);
    if (report)
        *report = rp.rep;
    pthread_mutex_lock(&wal->mu);
    wal->state = r == 0 ? WAL_READY : WAL_FAILED;
    pthread_mutex_unlock(&wal->mu);
    return r;
}
