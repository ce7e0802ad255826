/*
 * wal_write.c: the WAL's writer: open and close, append, group commit,
 * the background sync thread, rotation and removal of old segments.
 *
 * Appends only encode: under the mutex, a record gets the next seq and is
 * copied (header, CRC, payload) into the `pending` buffer. The I/O is done
 * by a leader: a thread that needs its record written or synced and finds
 * no leader active takes the whole pending buffer (swapping it with its
 * spare, `inflight`), drops the mutex, writes the batch at the end of the
 * current segment through cts_io (with a linked fdatasync when syncing),
 * then retakes the mutex, advances written_seq/synced_seq and wakes every
 * waiter. Threads that arrive while a leader works wait on done_cv and
 * find their record covered, or become the next leader for what piled up
 * meanwhile: concurrent batches share one fdatasync (group commit).
 *
 * Leader states (one thread at a time holds the role):
 *
 *   idle ──take pending──► writing ──ok──► [syncing] ──ok──► idle (wake waiters)
 *                             │                 │
 *                             └─────failure─────┴──► POISONED (wake waiters)
 *
 * Rotation happens inside a leader, before a batch lands in a segment that
 * already reached segment_bytes (so a segment may pass the limit by one
 * batch): fdatasync the current segment (under every policy, so that every
 * segment but the last is complete on disk, which replay relies on), close
 * it, create the next one crash-safely, named after the batch's first seq.
 *
 * Failure: the first write, fdatasync or segment creation that fails
 * poisons the handle. Nothing is written afterwards and nothing is retried:
 * after a failed fdatasync the kernel may have dropped the dirty pages, so
 * a second fdatasync that succeeds proves nothing. Waiters whose record was
 * not yet covered get CTS_EPOISONED; errmsg keeps the original error.
 */
#include "wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>

/* ---- lifecycle ---- */

static void wal_free(cts_wal *wal)
{
    if (wal->fd >= 0)
        wal->vfs->close(wal->vfs->ctx, wal->fd);
    cts_io_destroy(wal->io);
    pthread_cond_destroy(&wal->bg_cv);
    pthread_cond_destroy(&wal->done_cv);
    pthread_mutex_destroy(&wal->mu);
    wal_seqs_free(&wal->segs);
    wal_seqs_free(&wal->quarantine);
    cts_free(wal->pending.data);
    cts_free(wal->inflight.data);
    cts_free(wal->seg_path);
    cts_free(wal->dir);
    cts_free(wal);
}

static int init_sync(cts_wal *wal)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return CTS_ENOMEM;
    int ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&wal->bg_cv, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok)
        return CTS_ENOMEM;
    if (pthread_cond_init(&wal->done_cv, NULL) != 0) {
        pthread_cond_destroy(&wal->bg_cv);
        return CTS_ENOMEM;
    }
    if (pthread_mutex_init(&wal->mu, NULL) != 0) {
        pthread_cond_destroy(&wal->done_cv);
        pthread_cond_destroy(&wal->bg_cv);
        return CTS_ENOMEM;
    }
    return CTS_OK;
}

static int check_opts(const cts_wal_opts *o)
{
    if (o->fsync != CTS_FSYNC_INTERVAL && o->fsync != CTS_FSYNC_ALWAYS &&
        o->fsync != CTS_FSYNC_NEVER)
        return CTS_EINVAL;
    if (o->on_corrupt != CTS_WAL_CORRUPT_FAIL && o->on_corrupt != CTS_WAL_CORRUPT_QUARANTINE)
        return CTS_EINVAL;
    if (o->segment_bytes != 0 && o->segment_bytes < 1024)
        return CTS_EINVAL;
    return CTS_OK;
}

/* Copy of dir without trailing slashes (but "/" stays). */
static char *dup_dir(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    char *d = cts_malloc(n + 1);
    if (d) {
        memcpy(d, dir, n);
        d[n] = '\0';
    }
    return d;
}

static void apply_opts(cts_wal *wal, const cts_wal_opts *o)
{
    wal->vfs = o->vfs ? o->vfs : cts_vfs_posix();
    wal->policy = o->fsync;
    wal->interval_ms = o->interval_ms ? o->interval_ms : CTS_WAL_DEFAULT_INTERVAL_MS;
    wal->segment_bytes = o->segment_bytes ? o->segment_bytes : CTS_WAL_DEFAULT_SEGMENT_BYTES;
    wal->on_corrupt = o->on_corrupt;
    wal->log = o->log;
    wal->log_ctx = o->log_ctx;
    wal->fd = -1;
}

/* Create dir if missing and make its entry durable (fsync the parent). */
static int ensure_dir(cts_wal *wal)
{
    const cts_vfs *vfs = wal->vfs;
    int r = vfs->mkdir(vfs->ctx, wal->dir, 0755);
    if (r == -EEXIST)
        return 0;
    if (r < 0)
        return r;
    size_t cut = 0;
    for (size_t i = 0; wal->dir[i]; i++)
        if (wal->dir[i] == '/')
            cut = i;
    char *parent = cut ? dup_dir(wal->dir) : NULL;
    if (cut && !parent)
        return -ENOMEM;
    if (parent)
        parent[cut] = '\0';
    r = vfs->fsync_dir(vfs->ctx, parent ? parent : (wal->dir[0] == '/' ? "/" : "."));
    cts_free(parent);
    return r;
}

int cts_wal_open(const char *dir, const cts_wal_opts *opts, cts_wal **out)
{
    static const cts_wal_opts defaults;
    if (!dir || !*dir || !out)
        return CTS_EINVAL;
    if (!opts)
        opts = &defaults;
    int r = check_opts(opts);
    if (r < 0)
        return r;
    cts_wal *wal = cts_calloc(1, sizeof *wal);
    if (!wal)
        return CTS_ENOMEM;
    if (init_sync(wal) < 0) {
        cts_free(wal);
        return CTS_ENOMEM;
    }
    apply_opts(wal, opts);
    wal->dir = dup_dir(dir);
    r = wal->dir ? cts_io_create(wal->vfs, opts->io, &wal->io) : CTS_ENOMEM;
    if (r == 0) {
        int e = ensure_dir(wal);
        r = e < 0 ? cts_err_from_errno(e) : wal_list(wal);
    }
    if (r < 0) {
        wal_free(wal);
        return r;
    }
    wal->state = WAL_OPENED;
    *out = wal;
    return CTS_OK;
}

/* ---- the leader ---- */

static void describe_failure(cts_wal *wal, const cts_io_failure *f, int err)
{
    if (err == CTS_EPOISONED || f->kind == 0)
        wal_fail(wal, err, "writer of %s failed: %s", wal->seg_path, cts_strerror(err));
    else if (f->kind == CTS_IO_WRITE)
        wal_fail(wal, err, "write of %s at offset %" PRIu64 " failed: %s", wal->seg_path, f->off,
                 strerror(-f->neg_errno));
    else
        wal_fail(wal, err, "fdatasync of %s failed: %s", wal->seg_path, strerror(-f->neg_errno));
}

/* Write `len` bytes of inflight at the end of the segment, then fdatasync
 * when `sync`. Leader only, unlocked. */
static int write_batch(cts_wal *wal, int sync)
{
    cts_io_failure f = {0};
    int r = cts_io_write(wal->io, wal->fd, wal->inflight.data, wal->inflight.len, wal->file_off);
    if (r == 0 && sync)
        r = cts_io_fdatasync(wal->io, wal->fd);
    if (r == 0)
        r = cts_io_submit_wait(wal->io, &f);
    if (r < 0)
        describe_failure(wal, &f, r);
    return r;
}

/* Seal the current segment (fdatasync, close) and start segment
 * `new_first`. Leader only, unlocked. */
static int rotate_segment(cts_wal *wal, uint64_t new_first)
{
    cts_io_failure f = {0};
    int r = cts_io_fdatasync(wal->io, wal->fd);
    if (r == 0)
        r = cts_io_submit_wait(wal->io, &f);
    if (r < 0) {
        describe_failure(wal, &f, r);
        return r;
    }
    int fd;
    char *path;
    r = wal_seg_create(wal, new_first, &fd, &path);
    if (r < 0)
        return r;
    wal->vfs->close(wal->vfs->ctx, wal->fd);
    cts_free(wal->seg_path);
    wal->fd = fd;
    wal->seg_path = path;
    wal->file_off = WAL_HEADER_BYTES;
    pthread_mutex_lock(&wal->mu);
    wal->synced_seq = wal->written_seq;
    wal->stats.syncs++;
    wal->stats.rotations++;
    r = wal_seqs_push(&wal->segs, new_first);
    pthread_mutex_unlock(&wal->mu);
    return r;
}

/* The leader's I/O, unlocked: rotate when the segment is full (or when
 * asked and it holds records), write the batch, sync. */
static int leader_io(cts_wal *wal, uint64_t batch_first, uint64_t batch_last, int sync,
                     int force_rotate)
{
    int r = 0;
    if (wal->inflight.len && wal->file_off >= wal->segment_bytes)
        r = rotate_segment(wal, batch_first);
    if (r == 0 && (wal->inflight.len || sync))
        r = write_batch(wal, sync);
    if (r == 0)
        wal->file_off += wal->inflight.len;
    if (r == 0 && force_rotate && wal->file_off > WAL_HEADER_BYTES)
        r = rotate_segment(wal, batch_last + 1);
    return r;
}

/*
 * Lead one batch. Called with mu held and no leader; returns with mu held.
 * Returns 0 or the cts_err of the I/O, which has poisoned the handle.
 */
static int lead(cts_wal *wal, int sync, int force_rotate)
{
    wal_buf spare = wal->inflight;
    wal->inflight = wal->pending;
    wal->pending = spare;
    uint64_t batch_first = wal->written_seq + 1, batch_last = wal->next_seq - 1;
    sync = sync && wal->synced_seq < batch_last;
    size_t len = wal->inflight.len;
    wal->leader = 1;
    wal->leader_tid = pthread_self();
    pthread_mutex_unlock(&wal->mu);

    int r = leader_io(wal, batch_first, batch_last, sync, force_rotate);

    pthread_mutex_lock(&wal->mu);
    if (r < 0) {
        if (!wal->poisoned) /* a failure without a message (out of memory) */
            wal->poisoned = r;
    } else {
        wal->written_seq = batch_last;
        wal->stats.bytes_written += len;
        wal->stats.writes += len > 0;
        wal->stats.syncs += sync;
        if (sync)
            wal->synced_seq = batch_last;
    }
    wal->inflight.len = 0;
    if (wal->inflight.cap > WAL_KEEP_BUF_BYTES) {
        cts_free(wal->inflight.data);
        wal->inflight = (wal_buf){0};
    }
    wal->leader = 0;
    pthread_cond_broadcast(&wal->done_cv);
    return r;
}

/* Wait (leading when nobody does) until every record <= target is written,
 * and synced when `sync`; force_rotate asks for a rotation after it.
 * Called with mu held; returns with mu held. */
static int wait_until(cts_wal *wal, uint64_t target, int sync, int force_rotate)
{
    for (;;) {
        uint64_t have = sync ? wal->synced_seq : wal->written_seq;
        if (have >= target && !force_rotate)
            return CTS_OK;
        if (wal->poisoned)
            return CTS_EPOISONED;
        if (wal->leader) {
            pthread_cond_wait(&wal->done_cv, &wal->mu);
            continue;
        }
        int r = lead(wal, sync, force_rotate);
        if (r < 0 || force_rotate)
            return r;
    }
}

/* ---- the background thread ---- */

static void deadline_after(struct timespec *ts, uint32_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Every interval_ms: write what is pending and, unless the policy is
 * NEVER, fdatasync what is written but not synced. */
static void *bg_main(void *arg)
{
    cts_wal *wal = arg;
    int sync = wal->policy != CTS_FSYNC_NEVER;
    pthread_mutex_lock(&wal->mu);
    while (!wal->bg_stop) {
        struct timespec ts;
        deadline_after(&ts, wal->interval_ms);
        while (!wal->bg_stop && pthread_cond_timedwait(&wal->bg_cv, &wal->mu, &ts) != ETIMEDOUT)
            ;
        while (!wal->bg_stop && wal->leader)
            pthread_cond_wait(&wal->done_cv, &wal->mu);
        int work = wal->pending.len > 0 || (sync && wal->synced_seq < wal->written_seq);
        if (!wal->bg_stop && !wal->poisoned && work)
            (void)lead(wal, sync, 0); /* a failure poisons; appenders report it */
    }
    pthread_mutex_unlock(&wal->mu);
    return NULL;
}

int wal_writer_start(cts_wal *wal, uint64_t last_first, uint64_t valid_end, uint64_t next_seq)
{
    const cts_vfs *vfs = wal->vfs;
    int r = 0;
    if (last_first) {
        wal->seg_path = wal_seg_path(wal, last_first, "");
        if (!wal->seg_path)
            return wal_fail(wal, CTS_ENOMEM, "out of memory opening %s", wal->dir);
        const char *what = "open";
        int fd = vfs->open(vfs->ctx, wal->seg_path, O_RDWR, 0);
        uint64_t size = 0;
        r = fd < 0 ? fd : vfs->fsize(vfs->ctx, fd, &size);
        if (r == 0 && size > valid_end) {
            what = "truncate";
            r = vfs->ftruncate(vfs->ctx, fd, valid_end);
        }
        if (r == 0) {
            what = "fsync";
            r = vfs->fsync(vfs->ctx, fd);
        }
        if (fd >= 0 && r < 0)
            vfs->close(vfs->ctx, fd);
        if (r < 0)
            return wal_fail(wal, cts_err_from_errno(r), "%s of %s failed: %s", what, wal->seg_path,
                            strerror(-r));
        wal->fd = fd;
        wal->file_off = valid_end;
    } else {
        r = wal_seg_create(wal, next_seq, &wal->fd, &wal->seg_path);
        if (r == 0)
            r = wal_seqs_push(&wal->segs, next_seq);
        if (r < 0)
            return r;
        wal->file_off = WAL_HEADER_BYTES;
    }
    wal->next_seq = next_seq;
    wal->written_seq = wal->synced_seq = next_seq - 1;
    if (pthread_create(&wal->bg, NULL, bg_main, wal) != 0)
        return wal_fail(wal, CTS_ENOMEM, "cannot start the WAL sync thread");
    wal->bg_started = 1;
    return CTS_OK;
}

/* ---- appending and waiting ---- */

static int reserve_pending(wal_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return CTS_OK;
    size_t ncap = b->cap ? b->cap : 64 * 1024;
    while (ncap - b->len < more)
        ncap *= 2;
    uint8_t *nd = cts_realloc(b->data, ncap);
    if (!nd)
        return CTS_ENOMEM;
    b->data = nd;
    b->cap = ncap;
    return CTS_OK;
}

/* 0 when the handle accepts writes; mu held. */
static int usable(const cts_wal *wal)
{
    if (wal->poisoned)
        return CTS_EPOISONED;
    return wal->state == WAL_READY ? CTS_OK : CTS_EINVAL;
}

int cts_wal_append(cts_wal *wal, const void *payload, size_t len, uint64_t *seq)
{
    if (!wal || !seq || (!payload && len))
        return CTS_EINVAL;
    if (len > CTS_WAL_MAX_PAYLOAD)
        return CTS_ELIMIT;
    pthread_mutex_lock(&wal->mu);
    int r = usable(wal);
    if (r == 0)
        r = reserve_pending(&wal->pending, WAL_RECORD_HEADER + len);
    if (r == 0) {
        *seq = wal->next_seq++;
        wal_record_encode(wal->pending.data + wal->pending.len, *seq, payload, (uint32_t)len);
        wal->pending.len += WAL_RECORD_HEADER + len;
        wal->stats.records++;
        if (wal->pending.len >= WAL_FLUSH_BYTES)
            r = wait_until(wal, *seq, 0, 0);
    }
    pthread_mutex_unlock(&wal->mu);
    return r;
}

/* wait_until for a public call: checks state and the target. */
static int wait_public(cts_wal *wal, uint64_t target, int sync, int force_rotate)
{
    if (!wal)
        return CTS_EINVAL;
    pthread_mutex_lock(&wal->mu);
    /* Not usable(): a record made durable before poisoning stays durable,
     * and wait_until says so before it reports the poisoning. */
    int r = wal->state == WAL_READY && target < wal->next_seq ? CTS_OK : CTS_EINVAL;
    if (r == 0)
        r = wait_until(wal, target, sync, force_rotate);
    pthread_mutex_unlock(&wal->mu);
    return r;
}

int cts_wal_wait_durable(cts_wal *wal, uint64_t seq)
{
    if (!wal || seq == 0)
        return CTS_EINVAL;
    return wait_public(wal, seq, wal->policy == CTS_FSYNC_ALWAYS, 0);
}

/* The last seq assigned, read under the lock. */
static uint64_t last_assigned(cts_wal *wal)
{
    pthread_mutex_lock(&wal->mu);
    uint64_t s = wal->next_seq - 1;
    pthread_mutex_unlock(&wal->mu);
    return s;
}

int cts_wal_sync(cts_wal *wal)
{
    return wal ? wait_public(wal, last_assigned(wal), 1, 0) : CTS_EINVAL;
}

int cts_wal_rotate(cts_wal *wal)
{
    return wal ? wait_public(wal, last_assigned(wal), 1, 1) : CTS_EINVAL;
}

/* ---- removing old segments ---- */

/* Take the closed segments whose records are all < seq off the list: their
 * first seqs go to out->v (allocated). mu held. 0 or CTS_ENOMEM. */
static int take_removable(cts_wal *wal, uint64_t seq, wal_seqs *out)
{
    size_t n = 0;
    while (n + 1 < wal->segs.count && wal->segs.v[n + 1] <= seq)
        n++;
    if (n == 0)
        return CTS_OK;
    out->v = cts_malloc(n * sizeof *out->v);
    if (!out->v)
        return CTS_ENOMEM;
    out->count = out->cap = n;
    memcpy(out->v, wal->segs.v, n * sizeof *out->v);
    memmove(wal->segs.v, wal->segs.v + n, (wal->segs.count - n) * sizeof *wal->segs.v);
    wal->segs.count -= n;
    return CTS_OK;
}

static int unlink_segment(cts_wal *wal, uint64_t first)
{
    char *p = wal_seg_path(wal, first, "");
    if (!p)
        return wal_fail(wal, CTS_ENOMEM, "out of memory removing WAL segments");
    int r = wal->vfs->unlink(wal->vfs->ctx, p);
    if (r < 0 && r != -ENOENT)
        r = wal_fail(wal, cts_err_from_errno(r), "unlink of %s failed: %s", p, strerror(-r));
    else
        r = CTS_OK;
    cts_free(p);
    return r;
}

int cts_wal_remove_before(cts_wal *wal, uint64_t seq)
{
    if (!wal)
        return CTS_EINVAL;
    wal_seqs gone = {0};
    pthread_mutex_lock(&wal->mu);
    int r = wal->state == WAL_READY ? CTS_OK : CTS_EINVAL;
    if (r == 0)
        r = take_removable(wal, seq, &gone);
    pthread_mutex_unlock(&wal->mu);
    for (size_t i = 0; r == 0 && i < gone.count; i++)
        r = unlink_segment(wal, gone.v[i]);
    if (gone.count > 0 && r == 0) {
        int e = wal->vfs->fsync_dir(wal->vfs->ctx, wal->dir);
        if (e < 0)
            r = wal_fail(wal, cts_err_from_errno(e), "fsync of directory %s failed: %s", wal->dir,
                         strerror(-e));
    }
    wal_seqs_free(&gone);
    return r;
}

/* ---- closing and queries ---- */

int cts_wal_close(cts_wal *wal)
{
    if (!wal)
        return CTS_OK;
    if (wal->bg_started) {
        pthread_mutex_lock(&wal->mu);
        wal->bg_stop = 1;
        pthread_cond_broadcast(&wal->bg_cv);
        pthread_cond_broadcast(&wal->done_cv);
        pthread_mutex_unlock(&wal->mu);
        pthread_join(wal->bg, NULL);
    }
    int r = CTS_OK;
    pthread_mutex_lock(&wal->mu);
    if (wal->state == WAL_READY) {
        int sync = wal->policy != CTS_FSYNC_NEVER;
        r = wait_until(wal, wal->next_seq - 1, sync, 0);
    }
    pthread_mutex_unlock(&wal->mu);
    wal_free(wal);
    return r;
}

const char *cts_wal_errmsg(const cts_wal *wal)
{
    return wal ? wal->errmsg : "";
}

void cts_wal_stats_get(cts_wal *wal, cts_wal_stats *out)
{
    pthread_mutex_lock(&wal->mu);
    *out = wal->stats;
    out->segments = wal->segs.count;
    out->last_seq = wal->next_seq ? wal->next_seq - 1 : 0;
    out->written_seq = wal->written_seq;
    out->durable_seq = wal->synced_seq;
    pthread_mutex_unlock(&wal->mu);
}

const char *cts_wal_io_backend(const cts_wal *wal)
{
    return cts_io_backend_name(wal->io);
}
