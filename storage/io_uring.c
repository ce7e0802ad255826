/*
 * io_uring.c: the io_uring backend of cts_io (liburing; no SQPOLL, no
 * registered files or buffers: one ring per cts_io, used by one thread).
 *
 * A run submits the queue in rounds. Each round sends every operation not
 * yet finished, in queue order, as one chain linked with IOSQE_IO_LINK, so
 * an fdatasync starts only after the writes before it completed, and waits
 * for all the round's completions. The kernel breaks a chain at the first
 * operation that fails or writes short, and completes the rest with
 * -ECANCELED. After the round:
 *
 *   - an operation that failed hard (-EIO, -ENOSPC, ...) fails the run;
 *     everything after it is marked -ECANCELED, never retried. This covers a
 *     linked fdatasync cancelled by a failed write: the write's error is the
 *     result, and the sync is not reissued, because the data it would cover
 *     is incomplete.
 *   - a short write keeps its progress and, like -EAGAIN/-EINTR and the
 *     operations cancelled behind it, goes again in the next round.
 *
 * Rounds that make no progress at all are bounded (CTS_IO_MAX_STALLS), so
 * a file that keeps refusing cannot spin the caller forever.
 *
 * Buffers: every SQE points into the caller's buffer, which belongs to the
 * ring until cts_io_submit_wait returns; a run returns only once every
 * submitted SQE has completed, even after failures. The one exception is a
 * failure of the ring itself (io_uring_wait_cqe failing with anything but
 * EINTR), which marks the cts_io broken.
 */
#include "io_int.h"

#include <errno.h>
#include <liburing.h>

/* Largest single write SQE; longer writes take several rounds. */
#define URING_CHUNK_MAX (1u << 30)

int cts_io_uring_init(cts_io *io)
{
    io->ring = cts_calloc(1, sizeof *io->ring);
    if (!io->ring)
        return -ENOMEM;
    int r = io_uring_queue_init(CTS_IO_QUEUE_MAX, io->ring, 0);
    if (r < 0) {
        cts_free(io->ring);
        io->ring = NULL;
    }
    return r;
}

void cts_io_uring_fini(cts_io *io)
{
    if (!io->ring)
        return;
    io_uring_queue_exit(io->ring);
    cts_free(io->ring);
    io->ring = NULL;
}

static int pending(const cts_io_op *op)
{
    return !op->complete && !op->err;
}

/* Prepare one round: every pending op, linked in order. Returns the number
 * of SQEs prepared. */
static unsigned prepare_round(cts_io *io, uint32_t count)
{
    struct io_uring_sqe *last = NULL;
    unsigned n = 0;
    for (uint32_t i = 0; i < count; i++) {
        cts_io_op *op = &io->ops[i];
        if (!pending(op))
            continue;
        struct io_uring_sqe *sqe = io_uring_get_sqe(io->ring);
        if (op->kind == CTS_IO_WRITE) {
            uint64_t left = op->len - op->done;
            unsigned chunk = left > URING_CHUNK_MAX ? URING_CHUNK_MAX : (unsigned)left;
            io_uring_prep_write(sqe, op->fd, op->buf + op->done, chunk, op->off + op->done);
        } else {
            io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
        }
        io_uring_sqe_set_data64(sqe, i);
        sqe->flags |= IOSQE_IO_LINK;
        last = sqe;
        n++;
    }
    if (last)
        last->flags &= (unsigned char)~IOSQE_IO_LINK;
    return n;
}

/* Apply one completion to its op; returns 1 when it made progress. */
static int complete_one(cts_io_op *op, int res)
{
    if (res == -ECANCELED)
        return 0; /* resolved after the round: retried unless an earlier op failed */
    if (op->kind == CTS_IO_WRITE) {
        uint64_t before = op->done;
        cts_io_write_progress(op, res);
        return op->done > before;
    }
    if (res == 0) {
        op->complete = 1;
        return 1;
    }
    if (res != -EAGAIN && res != -EINTR)
        op->err = res;
    return 0;
}

/* Submit `n` prepared SQEs; returns how many the kernel took, or -errno
 * when none could be submitted. The first attempt also waits for all n
 * completions, so a round usually costs one system call. */
static int submit_round(struct io_uring *ring, unsigned n)
{
    unsigned sent = 0;
    int tries = 0;
    while (sent < n) {
        int r = sent == 0 && tries == 0 ? io_uring_submit_and_wait(ring, n) : io_uring_submit(ring);
        if (r > 0) {
            sent += (unsigned)r;
            continue;
        }
        if ((r == -EINTR || r == -EAGAIN || r == 0) && ++tries < CTS_IO_MAX_STALLS)
            continue;
        return sent ? (int)sent : (r < 0 ? r : -EIO);
    }
    return (int)sent;
}

/* Reap `n` completions; returns 1 if any made progress, 0 if none, or
 * -errno when the ring failed. */
static int reap_round(cts_io *io, unsigned n)
{
    int progress = 0;
    for (unsigned got = 0; got < n;) {
        struct io_uring_cqe *cqe;
        int r = io_uring_wait_cqe(io->ring, &cqe);
        if (r == -EINTR)
            continue;
        if (r < 0)
            return r;
        uint64_t idx = io_uring_cqe_get_data64(cqe);
        if (idx < CTS_IO_QUEUE_MAX)
            progress |= complete_one(&io->ops[idx], cqe->res);
        io_uring_cqe_seen(io->ring, cqe);
        got++;
    }
    return progress;
}

/* After a round: if an op failed hard, cancel everything after it and
 * return 1 (the run is over). */
static int settle_failure(cts_io *io, uint32_t count)
{
    uint32_t i = 0;
    while (i < count && !io->ops[i].err)
        i++;
    if (i == count)
        return 0;
    for (i++; i < count; i++)
        if (!io->ops[i].complete && !io->ops[i].err)
            io->ops[i].err = -ECANCELED;
    return 1;
}

/* Fail the first pending op after too many rounds without progress. */
static void give_up(cts_io *io, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (pending(&io->ops[i])) {
            io->ops[i].err = -EIO;
            return;
        }
    }
}

int cts_io_uring_run(cts_io *io, uint32_t count)
{
    int idle_rounds = 0;
    for (;;) {
        unsigned n = prepare_round(io, count);
        if (n == 0)
            return 0;
        int sent = submit_round(io->ring, n);
        if (sent < 0)
            return sent;
        int progress = reap_round(io, (unsigned)sent);
        if (progress < 0)
            return progress;
        if ((unsigned)sent < n)
            return -EIO; /* SQEs stuck in the ring: it is unusable */
        if (settle_failure(io, count))
            return 0;
        idle_rounds = progress ? 0 : idle_rounds + 1;
        if (idle_rounds >= CTS_IO_MAX_STALLS) {
            give_up(io, count);
            settle_failure(io, count);
            return 0;
        }
    }
}
