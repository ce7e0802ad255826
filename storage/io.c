/*
 * io.c: the front of cts_io: choosing a backend, the operation queue, and
 * turning a run of the queue into one result.
 *
 * The engine and the WAL write through cts_io so that one code path serves
 * io_uring and the pwrite fallback (see cts_storage.h for the contract).
 * The backend is fixed at create: AUTO tries io_uring and falls back when
 * the kernel refuses it, logging the fallback once per process (the only
 * process-wide state here: a flag, so that a server opening many databases
 * does not repeat itself; one flag for the fallback, one for the
 * environment override).
 *
 * States of a cts_io:
 *
 *   create ──► IDLE ──write/fdatasync──► QUEUED ──submit_wait──► IDLE
 *                                                     │
 *                                         ring failure (not an op's)
 *                                                     ▼
 *                                                  BROKEN (every call CTS_EPOISONED)
 *
 * Invariants: count <= CTS_IO_QUEUE_MAX; after submit_wait the queue is
 * empty and no operation is in flight, so callers may reuse their buffers.
 */
#include "io_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_flag env_logged = ATOMIC_FLAG_INIT;
static atomic_flag fallback_logged = ATOMIC_FLAG_INIT;

/* One line "cityts: <a><b><c>" to stderr, the first time `once` is seen. */
static void log_once(atomic_flag *once, const char *a, const char *b, const char *c)
{
    if (!atomic_flag_test_and_set(once))
        fprintf(stderr, "cityts: %s%s%s\n", a, b, c);
}

/* AUTO as the environment may override it. */
static cts_io_backend env_backend(void)
{
    const char *env = getenv("CTS_IO_BACKEND");
    if (!env || !*env)
        return CTS_IO_AUTO;
    if (strcmp(env, "uring") == 0 || strcmp(env, "io_uring") == 0)
        return CTS_IO_URING;
    if (strcmp(env, "pwrite") == 0) {
        log_once(&env_logged, "CTS_IO_BACKEND=pwrite", "", "; using pwrite");
        return CTS_IO_PWRITE;
    }
    log_once(&env_logged, "CTS_IO_BACKEND=", env, " not understood (uring or pwrite); ignored");
    return CTS_IO_AUTO;
}

/* Set up io->backend from the request; 0 or a cts_err. */
static int choose_backend(cts_io *io, cts_io_backend want)
{
    int posix = io->vfs == cts_vfs_posix();
    if (want == CTS_IO_AUTO && posix)
        want = env_backend();
    if (want == CTS_IO_AUTO && !posix)
        want = CTS_IO_PWRITE; /* every write must pass through the VFS */
    if (want == CTS_IO_PWRITE) {
        io->backend = CTS_IO_PWRITE;
        return CTS_OK;
    }
    if (!posix)
        return CTS_EINVAL;
    int r = cts_io_uring_init(io);
    if (r == 0) {
        io->backend = CTS_IO_URING;
        return CTS_OK;
    }
    if (want == CTS_IO_URING)
        return cts_err_from_errno(r);
    log_once(&fallback_logged, "io_uring unavailable (", strerror(-r), "); using pwrite");
    io->backend = CTS_IO_PWRITE;
    return CTS_OK;
}

int cts_io_create(const cts_vfs *vfs, cts_io_backend backend, cts_io **out)
{
    if (!out || (backend != CTS_IO_AUTO && backend != CTS_IO_URING && backend != CTS_IO_PWRITE))
        return CTS_EINVAL;
    cts_io *io = cts_calloc(1, sizeof *io);
    if (!io)
        return CTS_ENOMEM;
    io->vfs = vfs ? vfs : cts_vfs_posix();
    int r = choose_backend(io, backend);
    if (r < 0) {
        cts_free(io);
        return r;
    }
    *out = io;
    return CTS_OK;
}

void cts_io_destroy(cts_io *io)
{
    if (!io)
        return;
    if (io->backend == CTS_IO_URING)
        cts_io_uring_fini(io);
    cts_free(io);
}

const char *cts_io_backend_name(const cts_io *io)
{
    return io->backend == CTS_IO_URING ? "io_uring" : "pwrite";
}

static cts_io_op *queue_slot(cts_io *io)
{
    if (io->count >= CTS_IO_QUEUE_MAX)
        return NULL;
    cts_io_op *op = &io->ops[io->count++];
    memset(op, 0, sizeof *op);
    return op;
}

int cts_io_write(cts_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
    if (!buf && len > 0)
        return CTS_EINVAL;
    if (len == 0)
        return CTS_OK;
    cts_io_op *op = queue_slot(io);
    if (!op)
        return CTS_ELIMIT;
    op->kind = CTS_IO_WRITE;
    op->fd = fd;
    op->buf = buf;
    op->len = len;
    op->off = off;
    return CTS_OK;
}

int cts_io_fdatasync(cts_io *io, int fd)
{
    cts_io_op *op = queue_slot(io);
    if (!op)
        return CTS_ELIMIT;
    op->kind = CTS_IO_FDATASYNC;
    op->fd = fd;
    return CTS_OK;
}

int cts_io_write_progress(cts_io_op *op, int64_t res)
{
    if (res > 0) {
        op->done += (uint64_t)res;
        op->stalls = 0;
        op->complete = op->done >= op->len;
        return !op->complete;
    }
    if (res == 0 || res == -EAGAIN || res == -EINTR) {
        if (++op->stalls < CTS_IO_MAX_STALLS)
            return 1;
        op->err = res ? (int)res : -EIO;
        return 0;
    }
    op->err = (int)res;
    return 0;
}

static void describe(const cts_io_op *op, int neg_errno, cts_io_failure *failure)
{
    if (!failure)
        return;
    failure->kind = op->kind;
    failure->fd = op->fd;
    failure->off = op->kind == CTS_IO_WRITE ? op->off + op->done : 0;
    failure->neg_errno = neg_errno;
}

int cts_io_submit_wait(cts_io *io, cts_io_failure *failure)
{
    uint32_t count = io->count;
    io->count = 0;
    if (io->broken) {
        if (count)
            describe(&io->ops[0], io->broken, failure);
        return CTS_EPOISONED;
    }
    if (io->backend == CTS_IO_URING) {
        int r = cts_io_uring_run(io, count);
        if (r < 0) {
            io->broken = r;
            describe(&io->ops[0], r, failure);
            return CTS_EPOISONED;
        }
    } else {
        cts_io_sync_run(io, count);
    }
    for (uint32_t i = 0; i < count; i++) {
        if (io->ops[i].err) {
            describe(&io->ops[i], io->ops[i].err, failure);
            return cts_err_from_errno(io->ops[i].err);
        }
    }
    return CTS_OK;
}
