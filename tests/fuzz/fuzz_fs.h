/*
 * fuzz_fs.h: what the file-reading fuzz targets (fuzz_wal.c,
 * fuzz_catalog.c) share: a scratch directory per process (under /dev/shm
 * when it exists: each input is written to files, so RAM keeps the runs
 * fast), a VFS over the real file system whose syncs do nothing (a fuzz
 * run never loses power), and helpers to write a file, remove a tree and
 * frame little-endian fields. Header-only: each target is one program.
 */
#ifndef CTS_FUZZ_FS_H
#define CTS_FUZZ_FS_H

#include "cts_storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FZ_CHECK(x)                                                                                \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static inline int fz_nosync(void *ctx, int fd)
{
    (void)ctx;
    (void)fd;
    return 0;
}

static inline int fz_nosync_dir(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return 0;
}

/* The real file system without syncs. Filled once per call (no global
 * mutable state): the caller keeps the table. */
static inline void fz_vfs_init(cts_vfs *v)
{
    *v = *cts_vfs_posix();
    v->fsync = fz_nosync;
    v->fdatasync = fz_nosync;
    v->fsync_dir = fz_nosync_dir;
}

/* Remove `path` and everything under it; a missing path is fine. */
static inline void fz_rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    char sub[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        fz_rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static inline void fz_scratch_path(char *out, size_t cap)
{
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
    snprintf(out, cap, "%s/cts-fuzz-%ld", base, (long)getpid());
}

static inline void fz_scratch_remove(void)
{
    char dir[256];
    fz_scratch_path(dir, sizeof dir);
    fz_rm_tree(dir);
}

/* A fresh scratch directory for this process, into out[cap], removed when
 * the process exits normally. */
static inline void fz_scratch(char *out, size_t cap)
{
    fz_scratch_path(out, cap);
    fz_rm_tree(out);
    FZ_CHECK(mkdir(out, 0755) == 0);
    atexit(fz_scratch_remove);
}

static inline void fz_write_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FZ_CHECK(fd >= 0);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        FZ_CHECK(n > 0);
        off += (size_t)n;
    }
    FZ_CHECK(close(fd) == 0);
}

static inline uint32_t fz_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t fz_u64(const uint8_t *p)
{
    return (uint64_t)fz_u32(p) | (uint64_t)fz_u32(p + 4) << 32;
}

static inline void fz_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void fz_put_u64(uint8_t *p, uint64_t v)
{
    fz_put_u32(p, (uint32_t)v);
    fz_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* True when msg names a file (a '/') and a byte offset. */
static inline bool fz_names_file_and_offset(const char *msg)
{
    return strchr(msg, '/') != NULL && strstr(msg, "offset") != NULL;
}

#endif
