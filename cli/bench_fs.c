/*
 * bench_fs.c: du, rm -r and the peak RSS for `cityts bench` (bench_fs.h).
 * A depth-first walk over directory file descriptors, so no path is ever
 * rebuilt and symbolic links are never followed; depth is bounded (a
 * database tree is a few levels deep).
 */
#include "bench_fs.h"

#include "cts_storage.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WALK_DEPTH_MAX 32

typedef struct walk {
    bool remove;
    uint64_t alloc, size;
} walk;

static int walk_dir(int dfd, walk *w, int depth);

static int walk_entry(int dfd, const char *name, walk *w, int depth)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : CTS_EIO;
    if (S_ISDIR(st.st_mode)) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return CTS_EIO;
        int rc = walk_dir(fd, w, depth + 1); /* closes fd */
        if (rc == 0 && w->remove && unlinkat(dfd, name, AT_REMOVEDIR) != 0)
            rc = CTS_EIO;
        return rc;
    }
    if (S_ISREG(st.st_mode)) {
        w->alloc += (uint64_t)st.st_blocks * 512;
        w->size += (uint64_t)st.st_size;
    }
    if (w->remove && unlinkat(dfd, name, 0) != 0)
        return CTS_EIO;
    return 0;
}

static int walk_dir(int fd, walk *w, int depth)
{
    if (depth > WALK_DEPTH_MAX) {
        close(fd);
        return CTS_EIO;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return CTS_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        rc = walk_entry(dirfd(d), e->d_name, w, depth);
        if (rc == 0 && w->remove)
            rewinddir(d); /* entries removed: start over rather than trust the stream */
    }
    closedir(d);
    return rc;
}

int bench_du(const char *path, uint64_t *alloc_bytes, uint64_t *size_bytes)
{
    walk w = {0};
    int rc = walk_entry(AT_FDCWD, path, &w, 0);
    struct stat st;
    if (rc == 0 && stat(path, &st) != 0)
        rc = CTS_ENOTFOUND;
    *alloc_bytes = w.alloc;
    *size_bytes = w.size;
    return rc;
}

int bench_rmtree(const char *path)
{
    walk w = {.remove = true};
    return walk_entry(AT_FDCWD, path, &w, 0);
}

uint64_t bench_peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    uint64_t kib = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib * 1024;
}
