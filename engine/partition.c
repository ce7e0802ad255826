/*
 * partition.c: the files of one time partition: its block segment and its
 * block index. The protocol that makes them crash-safe is in partition.h.
 *
 * Index file layout (integers little-endian):
 *
 *   OFFSET  SIZE  FIELD
 *   0       4     magic "CTSI"
 *   4       4     format version (1)
 *   8       8     partition index
 *   16      8     partition width, ns
 *   24      4     CRC32C of bytes [0, 24)
 *   28      ...   records
 *
 *   record: u32 body length L, u32 CRC32C of the body, body[L]
 *   body:   u8 kind, then
 *     ADD  (1): u32 series, u32 field, u64 seq, u64 offset, u32 length,
 *               u8 type, u32 count, 9 x u64: min_ts max_ts first last sum
 *               min max min_time max_time                       (L = 106)
 *     DEL  (2): u64 seq, u64 offset of the block removed         (L = 17)
 *     CKPT (3): u64 segment bytes covered                        (L = 9)
 */
#include "partition.h"

#include <sys/mman.h>

#include "column.h"
#include "storage_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>

#define IDX_MAGIC 0x49535443u /* "CTSI" */
#define IDX_VERSION 1
#define IDX_HDR 28
#define REC_ADD 1
#define REC_DEL 2
#define REC_CKPT 3
#define ADD_LEN 106
#define SMALL_LEN 9
#define DEL_LEN 17

int64_t part_index_of(int64_t ts, int64_t width)
{
    int64_t q = ts / width;
    return (ts % width < 0) ? q - 1 : q;
}

static int write_all(const cts_vfs *vfs, int fd, const uint8_t *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        int64_t n = vfs->pwrite(vfs->ctx, fd, buf, len, off);
        if (n < 0)
            return cts_err_from_errno((int)n);
        if (n == 0)
            return CTS_EIO;
        buf += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int read_all(const cts_vfs *vfs, int fd, uint8_t *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        int64_t n = vfs->pread(vfs->ctx, fd, buf, len, off);
        if (n < 0)
            return cts_err_from_errno((int)n);
        if (n == 0)
            return CTS_EIO; /* the file ends before the block does */
        buf += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* ---- records ---- */

static int queue_record(part *p, const uint8_t *body, uint32_t len)
{
    if (cts_buf_reserve(&p->idx_pending, 8 + len))
        return CTS_ENOMEM;
    uint8_t *o = p->idx_pending.p + p->idx_pending.len;
    cts_put_u32(o, len);
    cts_put_u32(o + 4, cts_crc32c(body, len));
    memcpy(o + 8, body, len);
    p->idx_pending.len += 8 + len;
    p->dirty = true;
    return 0;
}

static void put_add(uint8_t *b, const blockref *r)
{
    const cts_stats *s = &r->stats;
    b[0] = REC_ADD;
    cts_put_u32(b + 1, r->series_id);
    cts_put_u32(b + 5, r->field_id);
    cts_put_u64(b + 9, r->seq);
    cts_put_u64(b + 17, r->offset);
    cts_put_u32(b + 25, r->len);
    b[29] = r->type;
    cts_put_u32(b + 30, s->count);
    uint64_t v[9] = {(uint64_t)s->min_ts,
                     (uint64_t)s->max_ts,
                     s->first.u,
                     s->last.u,
                     s->sum.u,
                     s->min.u,
                     s->max.u,
                     (uint64_t)s->min_time,
                     (uint64_t)s->max_time};
    for (int i = 0; i < 9; i++)
        cts_put_u64(b + 34 + 8 * i, v[i]);
}

static void get_add(const uint8_t *b, blockref *r)
{
    cts_stats *s = &r->stats;
    r->series_id = cts_get_u32(b + 1);
    r->field_id = cts_get_u32(b + 5);
    r->seq = cts_get_u64(b + 9);
    r->offset = cts_get_u64(b + 17);
    r->len = cts_get_u32(b + 25);
    r->type = b[29];
    s->count = cts_get_u32(b + 30);
    s->min_ts = (int64_t)cts_get_u64(b + 34);
    s->max_ts = (int64_t)cts_get_u64(b + 42);
    s->first.u = cts_get_u64(b + 50);
    s->last.u = cts_get_u64(b + 58);
    s->sum.u = cts_get_u64(b + 66);
    s->min.u = cts_get_u64(b + 74);
    s->max.u = cts_get_u64(b + 82);
    s->min_time = (int64_t)cts_get_u64(b + 90);
    s->max_time = (int64_t)cts_get_u64(b + 98);
}

int part_append(part *p, struct cts_io *io, const uint8_t *blk, uint32_t len, blockref *ref)
{
    (void)io;
    int rc = write_all(p->vfs, p->seg_fd, blk, len, p->seg_len);
    if (rc)
        return rc;
    ref->offset = p->seg_len;
    ref->len = len;
    __atomic_store_n(&p->seg_len, p->seg_len + len, __ATOMIC_RELEASE);
    uint8_t body[ADD_LEN];
    put_add(body, ref);
    return queue_record(p, body, ADD_LEN);
}

int part_remove(part *p, uint64_t seq, uint64_t offset)
{
    uint8_t body[DEL_LEN] = {REC_DEL};
    cts_put_u64(body + 1, seq);
    cts_put_u64(body + 9, offset);
    return queue_record(p, body, DEL_LEN);
}

int part_write_index(part *p, struct cts_io *io)
{
    (void)io;
    if (p->idx_pending.len == 0)
        return 0;
    int rc = write_all(p->vfs, p->idx_fd, p->idx_pending.p, p->idx_pending.len, p->idx_len);
    if (rc)
        return rc;
    p->idx_len += p->idx_pending.len;
    p->idx_pending.len = 0;
    return 0;
}

int part_checkpoint(part *p, struct cts_io *io)
{
    if (!p->dirty)
        return 0;
    int rc = p->vfs->fdatasync(p->vfs->ctx, p->seg_fd);
    if (rc < 0)
        return cts_err_from_errno(rc);
    uint8_t body[SMALL_LEN] = {REC_CKPT};
    cts_put_u64(body + 1, p->seg_len);
    if ((rc = queue_record(p, body, SMALL_LEN)) || (rc = part_write_index(p, io)))
        return rc;
    rc = p->vfs->fdatasync(p->vfs->ctx, p->idx_fd);
    if (rc < 0)
        return cts_err_from_errno(rc);
    p->dirty = false;
    return 0;
}

int part_read(part *p, uint64_t offset, uint32_t len, uint8_t *dst)
{
    return read_all(p->vfs, p->seg_fd, dst, len, offset);
}

/* ---- open and load ---- */

typedef struct loader {
    part *p;
    blockref *refs; /* ADD records seen, in order */
    size_t n, cap;
    size_t n_trusted;  /* refs[0..n_trusted) precede the last CKPT */
    uint64_t ckpt_end; /* index offset just past the last CKPT */
    char *errmsg;
    size_t errcap;
} loader;

static int loader_add(loader *l, const blockref *r)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        blockref *nr = cts_realloc(l->refs, cap * sizeof *nr);
        if (!nr)
            return CTS_ENOMEM;
        l->refs = nr;
        l->cap = cap;
    }
    l->refs[l->n++] = *r;
    return 0;
}

/* DEL: forget the block with that seq and offset (a rewritten block keeps
 * its seq, so the offset tells the two apart). */
static void loader_del(loader *l, uint64_t seq, uint64_t offset)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->refs[i].seq == seq && l->refs[i].offset == offset) {
            memmove(&l->refs[i], &l->refs[i + 1], (l->n - i - 1) * sizeof *l->refs);
            l->n--;
            if (i < l->n_trusted)
                l->n_trusted--;
            return;
        }
    }
}

static int apply_record(loader *l, const uint8_t *b, uint32_t len, uint64_t end)
{
    blockref r;
    if (b[0] == REC_ADD && len == ADD_LEN) {
        get_add(b, &r);
        return loader_add(l, &r);
    }
    if (b[0] == REC_DEL && len == DEL_LEN) {
        loader_del(l, cts_get_u64(b + 1), cts_get_u64(b + 9));
        return 0;
    }
    if (b[0] == REC_CKPT && len == SMALL_LEN) {
        l->n_trusted = l->n;
        l->ckpt_end = end;
        return 0;
    }
    return CTS_ECORRUPT;
}

/* True when a valid CKPT record starts anywhere in idx[from..len): after a
 * bad record that means the bad one was durable, hence corruption. */
static bool ckpt_after(const uint8_t *idx, uint64_t from, uint64_t len)
{
    for (uint64_t o = from; o + 8 + SMALL_LEN <= len; o++)
        if (cts_get_u32(idx + o) == SMALL_LEN && idx[o + 8] == REC_CKPT &&
            cts_get_u32(idx + o + 4) == cts_crc32c(idx + o + 8, SMALL_LEN))
            return true;
    return false;
}

/* Parse the records of idx[IDX_HDR..len) up to the first bad one, whose
 * offset goes to *good_end. */
static int load_records(loader *l, const uint8_t *idx, uint64_t len, uint64_t *good_end)
{
    uint64_t off = IDX_HDR;
    while (off < len) {
        if (len - off < 8)
            break;
        uint32_t blen = cts_get_u32(idx + off);
        if (blen == 0 || blen > len - off - 8 ||
            cts_get_u32(idx + off + 4) != cts_crc32c(idx + off + 8, blen))
            break;
        int rc = apply_record(l, idx + off + 8, blen, off + 8 + blen);
        if (rc == CTS_ENOMEM)
            return rc;
        if (rc)
            break;
        off += 8 + blen;
    }
    *good_end = off;
    if (off < len && ckpt_after(idx, off + 1, len)) {
        snprintf(l->errmsg, l->errcap, "%s/index: bad record at offset %" PRIu64, l->p->dir, off);
        return CTS_ECORRUPT;
    }
    return 0;
}

/* A block after the last checkpoint must lie inside the segment and pass
 * its checks; otherwise it is dropped (the WAL replays its points). */
static bool block_valid(part *p, const blockref *r)
{
    if (r->offset + r->len > p->seg_len || r->len == 0 || r->len > CTS_BLOCK_MAX_BYTES)
        return false;
    uint8_t *buf = cts_malloc(r->len);
    cts_block_info info;
    bool ok = buf && part_read(p, r->offset, r->len, buf) == 0 &&
              cts_block_info_read(buf, r->len, &info) == (int)r->len &&
              info.count == r->stats.count;
    cts_free(buf);
    return ok;
}

static int check_header(const uint8_t *h, int64_t index, int64_t width)
{
    if (cts_get_u32(h) != IDX_MAGIC || cts_get_u32(h + 24) != cts_crc32c(h, 24))
        return CTS_ECORRUPT;
    if (cts_get_u32(h + 4) != IDX_VERSION)
        return CTS_EVERSION;
    if ((int64_t)cts_get_u64(h + 8) != index || (int64_t)cts_get_u64(h + 16) != width)
        return CTS_ECORRUPT;
    return 0;
}

static int create_files(part *p, int64_t width)
{
    uint8_t h[IDX_HDR];
    cts_put_u32(h, IDX_MAGIC);
    cts_put_u32(h + 4, IDX_VERSION);
    cts_put_u64(h + 8, (uint64_t)p->index);
    cts_put_u64(h + 16, (uint64_t)width);
    cts_put_u32(h + 24, cts_crc32c(h, 24));
    int rc = write_all(p->vfs, p->idx_fd, h, IDX_HDR, 0);
    if (rc)
        return rc;
    if ((rc = p->vfs->fsync(p->vfs->ctx, p->idx_fd)) < 0 ||
        (rc = p->vfs->fsync(p->vfs->ctx, p->seg_fd)) < 0 ||
        (rc = p->vfs->fsync_dir(p->vfs->ctx, p->dir)) < 0)
        return cts_err_from_errno(rc);
    p->idx_len = IDX_HDR;
    return 0;
}

static int open_fd(part *p, const char *name, int flags, int *fd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", p->dir, name);
    int rc = p->vfs->open(p->vfs->ctx, path, flags, 0644);
    if (rc < 0)
        return cts_err_from_errno(rc);
    *fd = rc;
    return 0;
}

static int load_index(part *p, int64_t width, loader *l, part_report *rep)
{
    uint64_t len;
    int rc = p->vfs->fsize(p->vfs->ctx, p->idx_fd, &len);
    if (rc < 0)
        return cts_err_from_errno(rc);
    if ((rc = p->vfs->fsize(p->vfs->ctx, p->seg_fd, &p->seg_len)) < 0)
        return cts_err_from_errno(rc);
    if (len < IDX_HDR) {
        snprintf(l->errmsg, l->errcap, "%s/index: %" PRIu64 " bytes, shorter than its header",
                 p->dir, len);
        return CTS_ECORRUPT;
    }
    uint8_t *idx = cts_malloc(len);
    if (!idx)
        return CTS_ENOMEM;
    uint64_t good = 0;
    if ((rc = read_all(p->vfs, p->idx_fd, idx, len, 0)) == 0 &&
        (rc = check_header(idx, p->index, width)) != 0)
        snprintf(l->errmsg, l->errcap, "%s/index: bad header at offset 0", p->dir);
    if (rc == 0)
        rc = load_records(l, idx, len, &good);
    cts_free(idx);
    if (rc)
        return rc;
    /* a torn tail after the last checkpoint: cut it off */
    if (good < len) {
        if ((rc = p->vfs->ftruncate(p->vfs->ctx, p->idx_fd, good)) < 0)
            return cts_err_from_errno(rc);
        rep->torn_bytes += len - good;
    }
    p->idx_len = good;
    return 0;
}

static int deliver(loader *l, part_block_fn fn, void *ctx, part_report *rep)
{
    for (size_t i = 0; i < l->n; i++) {
        if (i >= l->n_trusted && !block_valid(l->p, &l->refs[i])) {
            rep->blocks_dropped++;
            int rc = part_remove(l->p, l->refs[i].seq, l->refs[i].offset);
            if (rc)
                return rc;
            continue;
        }
        int rc = fn(ctx, l->p, &l->refs[i]);
        if (rc)
            return rc;
    }
    return 0;
}

int part_open(const cts_vfs *vfs, const char *root, int64_t index, int64_t width, bool create,
              part_block_fn fn, void *ctx, part **out, part_report *rep, char *errmsg,
              size_t errcap)
{
    size_t dlen = strlen(root) + 32;
    part *p = cts_calloc(1, sizeof *p + dlen);
    loader l = {.p = p, .errmsg = errmsg, .errcap = errcap};
    int rc = CTS_ENOMEM;
    *out = NULL;
    if (!p)
        return rc;
    snprintf(p->dir, dlen, "%s/%" PRId64, root, index);
    p->index = index;
    p->vfs = vfs;
    p->seg_fd = p->idx_fd = -1;
    atomic_init(&p->refs, 1);
    bool fresh = false;
    rc = vfs->mkdir(vfs->ctx, p->dir, 0755);
    if (rc == 0) {
        fresh = true;
        if ((rc = vfs->fsync_dir(vfs->ctx, root)) < 0) {
            rc = cts_err_from_errno(rc);
            goto fail;
        }
    } else if (rc != -EEXIST) {
        rc = cts_err_from_errno(rc);
        goto fail;
    }
    int flags = O_RDWR | (create ? O_CREAT : 0);
    if ((rc = open_fd(p, "index", flags, &p->idx_fd)) ||
        (rc = open_fd(p, "segment", flags, &p->seg_fd)))
        goto fail;
    uint64_t ilen = 0;
    if ((rc = vfs->fsize(vfs->ctx, p->idx_fd, &ilen)) < 0) {
        rc = cts_err_from_errno(rc);
        goto fail;
    }
    /* An index shorter than its header is a creation cut short (by a crash
     * or a failed write in create_files): no block can have been added to
     * the partition yet, so finish the creation. */
    if (fresh || ilen < IDX_HDR) {
        rc = create_files(p, width);
    } else if ((rc = load_index(p, width, &l, rep)) == 0 && (rc = deliver(&l, fn, ctx, rep)) == 0 &&
               p->idx_len == IDX_HDR) {
        /* No record yet: this may be a creation whose last step, the
         * directory sync that makes the file names durable, failed. Sync
         * it before blocks go into those files. */
        if ((rc = vfs->fsync_dir(vfs->ctx, p->dir)) < 0)
            rc = cts_err_from_errno(rc);
    }
    if (rc)
        goto fail;
    cts_free(l.refs);
    *out = p;
    return 0;
fail:
    cts_free(l.refs);
    part_unref(p);
    return rc;
}

int part_drop(part *p)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index", p->dir);
    int rc = p->vfs->unlink(p->vfs->ctx, path);
    if (rc < 0 && rc != -ENOENT)
        return cts_err_from_errno(rc);
    snprintf(path, sizeof path, "%s/segment", p->dir);
    rc = p->vfs->unlink(p->vfs->ctx, path);
    if (rc < 0 && rc != -ENOENT)
        return cts_err_from_errno(rc);
    rc = p->vfs->rmdir(p->vfs->ctx, p->dir);
    return rc < 0 && rc != -ENOENT ? cts_err_from_errno(rc) : 0;
}

void part_ref(part *p)
{
    atomic_fetch_add(&p->refs, 1);
}

/* Address space reserved for a segment's mapping: blocks past it are read
 * with pread. Reserving is free; only touched pages cost memory. */
#define PART_MAP_BYTES (4ull << 30)

static uint8_t map_none; /* the "mmap failed" marker; never written */

/* The segment's mapping, made on first use; NULL when unavailable (a
 * test VFS, or mmap refused). Racing threads agree on one mapping. */
static const uint8_t *part_map(part *p)
{
    uint8_t *m = atomic_load_explicit(&p->map, memory_order_acquire);
    if (!m) {
        uint8_t *want = &map_none;
        if (p->vfs == cts_vfs_posix()) {
            void *n = mmap(NULL, PART_MAP_BYTES, PROT_READ, MAP_SHARED, p->seg_fd, 0);
            if (n != MAP_FAILED)
                want = n;
        }
        uint8_t *expected = NULL;
        if (atomic_compare_exchange_strong(&p->map, &expected, want)) {
            m = want;
        } else {
            if (want != &map_none)
                munmap(want, PART_MAP_BYTES);
            m = expected;
        }
    }
    return m == &map_none ? NULL : m;
}

void part_unref(part *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    uint8_t *m = atomic_load(&p->map);
    if (m && m != &map_none)
        munmap(m, PART_MAP_BYTES);
    if (p->seg_fd >= 0)
        p->vfs->close(p->vfs->ctx, p->seg_fd);
    if (p->idx_fd >= 0)
        p->vfs->close(p->vfs->ctx, p->idx_fd);
    cts_buf_fini(&p->idx_pending);
    cts_free(p);
}

/* The block's bytes: inside the mapping when it covers them (*owned
 * NULL), else read into a buffer the caller frees (*owned). */
static int block_bytes(part *p, const blockref *ref, const uint8_t **bytes, uint8_t **owned)
{
    const uint8_t *m = part_map(p);
    uint64_t end = ref->offset + ref->len;
    *owned = NULL;
    /* an index record (checksum-valid, yet wrong) pointing past the segment
     * is corruption: refuse it before allocating what it claims */
    if (end < ref->offset || end > __atomic_load_n(&p->seg_len, __ATOMIC_ACQUIRE))
        return CTS_ECORRUPT;
    if (m && end <= PART_MAP_BYTES && end <= __atomic_load_n(&p->seg_len, __ATOMIC_ACQUIRE)) {
        *bytes = m + ref->offset;
        return 0;
    }
    uint8_t *buf = cts_malloc(ref->len ? ref->len : 1);
    if (!buf)
        return CTS_ENOMEM;
    int rc = part_read(p, ref->offset, ref->len, buf);
    if (rc) {
        cts_free(buf);
        return rc;
    }
    *bytes = *owned = buf;
    return 0;
}

int part_load(part *p, const blockref *ref, struct cts_run *out, char *errmsg, size_t errcap)
{
    const uint8_t *buf = NULL;
    uint8_t *owned = NULL;
    cts_block_info info;
    cts_block_output o;
    int rc = block_bytes(p, ref, &buf, &owned);
    if (rc)
        goto fail;
    /* cts_block_decode checks the CRC: one pass over the bytes, not two */
    if ((rc = cts_block_info_peek(buf, ref->len, &info)) < 0)
        goto fail;
    if (info.type != out->type || info.count != ref->stats.count) {
        rc = CTS_ECORRUPT;
        goto fail;
    }
    if ((rc = cts_run_reserve(out, info.count, info.str_bytes)))
        goto fail;
    cts_run_output(out, &o);
    if ((rc = cts_block_decode(buf, ref->len, &o)) < 0)
        goto fail;
    out->count = (uint32_t)rc;
    cts_free(owned);
    return 0;
fail:
    if (rc != CTS_ENOMEM)
        snprintf(errmsg, errcap,
                 "%s/segment: block at offset %" PRIu64 " (series %u, field %u): %s", p->dir,
                 ref->offset, ref->series_id, ref->field_id, cts_strerror(rc));
    cts_free(owned);
    return rc;
}
