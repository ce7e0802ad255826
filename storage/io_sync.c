/*
 * io_sync.c: the pwrite backend of cts_io, used where io_uring is refused
 * and whenever the VFS is not the real one (fault injection must see every
 * write).
 *
 * Operations run one after the other in queue order, which gives the same
 * ordering guarantee as the io_uring backend's linked chain: an fdatasync
 * covers the writes queued before it. The first failure stops the run; the
 * operations after it never start. Short writes are completed by looping;
 * -EAGAIN/-EINTR are retried a bounded number of times; an fdatasync runs
 * once and its error is final.
 */
#include "io_int.h"

static void run_write(cts_io *io, cts_io_op *op)
{
    const cts_vfs *vfs = io->vfs;
    int64_t res;
    do
        res = vfs->pwrite(vfs->ctx, op->fd, op->buf + op->done, (size_t)(op->len - op->done),
                          op->off + op->done);
    while (cts_io_write_progress(op, res));
}

static void run_fdatasync(cts_io *io, cts_io_op *op)
{
    int r = io->vfs->fdatasync(io->vfs->ctx, op->fd);
    if (r < 0)
        op->err = r;
    else
        op->complete = 1;
}

void cts_io_sync_run(cts_io *io, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        cts_io_op *op = &io->ops[i];
        if (op->kind == CTS_IO_WRITE)
            run_write(io, op);
        else
            run_fdatasync(io, op);
        if (op->err)
            return;
    }
}
