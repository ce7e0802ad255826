/*
 * io_int.h: what the files of cts_io share (io.c, io_sync.c, io_uring.c).
 * Included only by those files.
 *
 * A cts_io holds a queue of operations. cts_io_submit_wait hands the queue
 * to the backend, which runs every operation to completion (or failure) and
 * fills in `done` and `err`; io.c then picks the first failure in queue
 * order and empties the queue. Backends see the same queue, so they differ
 * only in how the bytes reach the kernel.
 */
#ifndef CTS_IO_INT_H
#define CTS_IO_INT_H

#include "cts_storage.h"

struct io_uring;

/* A write that makes no progress this many times in a row (zero bytes,
 * -EAGAIN, -EINTR) fails: a guard against spinning on a broken file. */
#define CTS_IO_MAX_STALLS 64

typedef struct cts_io_op {
    cts_io_kind kind;
    int fd;
    const uint8_t *buf; /* writes */
    uint64_t len;       /* writes: bytes to write */
    uint64_t off;       /* writes: file offset of buf[0] */
    uint64_t done;      /* writes: bytes known written */
    int complete;       /* finished successfully */
    int err;            /* -errno when it failed; 0 otherwise */
    int stalls;         /* consecutive attempts without progress */
} cts_io_op;

struct cts_io {
    const cts_vfs *vfs;
    cts_io_backend backend; /* resolved: CTS_IO_URING or CTS_IO_PWRITE */
    int broken;             /* -errno of a ring failure: only destroy is left */
    uint32_t count;
    cts_io_op ops[CTS_IO_QUEUE_MAX];
    struct io_uring *ring; /* CTS_IO_URING only */
};

/* Backends run ops[0..count); io->count is already reset to 0. */

/* Run every queued operation with vfs->pwrite and vfs->fdatasync, in queue
 * order, stopping at the first failure. Never fails itself. */
void cts_io_sync_run(cts_io *io, uint32_t count);

/* Set up io->ring: 0 or -errno (io_uring_queue_init's). */
int cts_io_uring_init(cts_io *io);
void cts_io_uring_fini(cts_io *io);
/* Run the queue through the ring until every operation completed or
 * failed. Returns 0, or -errno when the ring itself failed (io->broken is
 * then set and operations may not have finished). */
int cts_io_uring_run(cts_io *io, uint32_t count);

/* Record progress of a write attempt that returned `res` (bytes or -errno):
 * advances `done`, counts stalls, and sets `complete` or `err`. Returns 1
 * when the write must be attempted again. Shared by both backends. */
int cts_io_write_progress(cts_io_op *op, int64_t res);

#endif
