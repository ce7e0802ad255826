/*
 * scratch_dir.h: scratch directories for storage tests. A test makes one
 * under $CTS_TEST_TMPDIR (set by ctest) or /tmp, and removes it with
 * everything inside when done. Header-only, included by test programs.
 */
#ifndef CTS_SCRATCH_DIR_H
#define CTS_SCRATCH_DIR_H

#include "cts_storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct scratch_dir {
    char path[512];
} scratch_dir;

/* Create a fresh directory; returns 0 or -1. */
static inline int scratch_make(scratch_dir *s, const char *tag)
{
    const char *base = getenv("CTS_TEST_TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(s->path, sizeof s->path, "%s/%s-XXXXXX", base, tag);
    return mkdtemp(s->path) ? 0 : -1;
}

/* path/name into out. */
static inline void scratch_join(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

typedef struct rm_ctx {
    const char *dir;
    int err;
} rm_ctx;

static int scratch_rm_tree(const char *path);

static inline int rm_one(void *arg, const char *name)
{
    rm_ctx *c = arg;
    char p[1024];
    scratch_join(p, sizeof p, c->dir, name);
    const cts_vfs *v = cts_vfs_posix();
    int r = v->unlink(v->ctx, p);
    if (r < 0)
        r = scratch_rm_tree(p);
    if (r < 0)
        c->err = r;
    return 0;
}

/* Remove path and everything below it; 0 or -errno. */
static inline int scratch_rm_tree(const char *path)
{
    const cts_vfs *v = cts_vfs_posix();
    /* Entries are removed while listing; list again until empty. */
    for (int round = 0; round < 8; round++) {
        rm_ctx c = {.dir = path};
        int r = v->list_dir(v->ctx, path, rm_one, &c);
        if (r < 0)
            return r;
        if (c.err == 0)
            break;
    }
    return v->rmdir(v->ctx, path);
}

static inline void scratch_remove(scratch_dir *s)
{
    scratch_rm_tree(s->path);
}

#endif
