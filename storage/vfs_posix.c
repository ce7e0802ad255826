/*
 * vfs_posix.c: the real file system behind the cts_vfs table.
 *
 * Every system call that touches a file is reached through cts_vfs (see
 * cts_storage.h), so tests can swap this table for a fault-injecting one.
 * This file is the only place where those calls meet the kernel.
 *
 * What must stay true:
 *   - Every function returns >= 0 or -errno, and never leaves errno for the
 *     caller to read.
 *   - Descriptors are opened with O_CLOEXEC, so a fork+exec (the CLI's pager,
 *     a test harness) never inherits them.
 *   - EINTR is retried where the call has not taken effect: open, pread,
 *     pwrite, ftruncate, fsync, fdatasync, rename, mkdir and friends. close is
 *     never retried: on Linux the descriptor is released even when close
 *     reports EINTR, and retrying could close a descriptor another thread
 *     just received. An fsync that failed with anything but EINTR is not
 *     retried here either: its error is reported once and the caller poisons.
 *   - No allocation: list_dir reads entries with getdents64 into a buffer on
 *     the stack, so it needs neither opendir's hidden malloc nor cts_malloc.
 */
#include "cts_storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Linux transfers at most this much per read/write call; larger requests
 * become short transfers, which callers already handle. */
#define IO_CHUNK_MAX 0x7ffff000u

static int posix_open(void *ctx, const char *path, int flags, int mode)
{
    (void)ctx;
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC, (mode_t)mode);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

static int posix_close(void *ctx, int fd)
{
    (void)ctx;
    if (close(fd) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

static int64_t posix_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off)
{
    (void)ctx;
    if (off > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (len > IO_CHUNK_MAX)
        len = IO_CHUNK_MAX;
    ssize_t n;
    do
        n = pread(fd, buf, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (int64_t)n;
}

static int64_t posix_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    (void)ctx;
    if (off > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (len > IO_CHUNK_MAX)
        len = IO_CHUNK_MAX;
    ssize_t n;
    do
        n = pwrite(fd, buf, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (int64_t)n;
}

static int posix_fsync(void *ctx, int fd)
{
    (void)ctx;
    int r;
    do
        r = fsync(fd);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int posix_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    int r;
    do
        r = fdatasync(fd);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int posix_ftruncate(void *ctx, int fd, uint64_t len)
{
    (void)ctx;
    if (len > (uint64_t)INT64_MAX)
        return -EINVAL;
    int r;
    do
        r = ftruncate(fd, (off_t)len);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int posix_fsize(void *ctx, int fd, uint64_t *len)
{
    (void)ctx;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    *len = (uint64_t)st.st_size;
    return 0;
}

static int posix_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    int r;
    do
        r = rename(from, to);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int posix_unlink(void *ctx, const char *path)
{
    (void)ctx;
    int r;
    do
        r = unlink(path);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int posix_mkdir(void *ctx, const char *path, int mode)
{
    (void)ctx;
    int r;
    do
        r = mkdir(path, (mode_t)mode);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int posix_rmdir(void *ctx, const char *path)
{
    (void)ctx;
    int r;
    do
        r = rmdir(path);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int posix_fsync_dir(void *ctx, const char *path)
{
    int fd = posix_open(ctx, path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    int r = posix_fsync(ctx, fd);
    posix_close(ctx, fd);
    return r;
}

/* Calls fn for each name in one getdents64 buffer; returns fn's first
 * non-zero value, else 0. */
static int list_chunk(const char *buf, size_t len, int (*fn)(void *, const char *), void *arg)
{
    size_t pos = 0;
    while (pos < len) {
        const struct dirent64 *d = (const struct dirent64 *)(const void *)(buf + pos);
        pos += d->d_reclen;
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        int r = fn(arg, d->d_name);
        if (r != 0)
            return r;
    }
    return 0;
}

static int posix_list_dir(void *ctx, const char *path, int (*fn)(void *arg, const char *name),
                          void *arg)
{
    int fd = posix_open(ctx, path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    /* dirent64 needs 8-byte alignment; a union gives it without a cast. */
    union {
        char bytes[8192];
        struct dirent64 align;
    } buf;
    int r = 0;
    for (;;) {
        ssize_t n = getdents64(fd, buf.bytes, sizeof buf.bytes);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : 0;
            break;
        }
        r = list_chunk(buf.bytes, (size_t)n, fn, arg);
        if (r != 0)
            break;
    }
    posix_close(ctx, fd);
    return r;
}

static const cts_vfs posix_vfs = {
    .ctx = NULL,
    .open = posix_open,
    .close = posix_close,
    .pread = posix_pread,
    .pwrite = posix_pwrite,
    .fsync = posix_fsync,
    .fdatasync = posix_fdatasync,
    .ftruncate = posix_ftruncate,
    .fsize = posix_fsize,
    .rename = posix_rename,
    .unlink = posix_unlink,
    .mkdir = posix_mkdir,
    .rmdir = posix_rmdir,
    .fsync_dir = posix_fsync_dir,
    .list_dir = posix_list_dir,
};

const cts_vfs *cts_vfs_posix(void)
{
    return &posix_vfs;
}

int cts_err_from_errno(int neg_errno)
{
    switch (-neg_errno) {
    case 0:
        return CTS_OK;
    case ENOSPC:
    case EDQUOT:
        return CTS_ENOSPC;
    case ENOMEM:
        return CTS_ENOMEM;
    case ENOENT:
        return CTS_ENOTFOUND;
    case EEXIST:
        return CTS_EEXIST;
    }
    return CTS_EIO;
}
