/*
 * vfs_fault.c: a cts_vfs that injects faults, for tests and reliability
 * work (SQLite's test VFS is the model).
 *
 * It forwards every call to a base VFS, after three checks made under one
 * mutex: is the machine off (after a simulated power loss), is this call
 * the one scheduled to fail, must this pwrite be cut short. Around the base
 * calls it keeps the bookkeeping a power loss needs:
 *
 *   files  one entry per path it has seen: `len`, the file's length by the
 *          writes it forwarded, and `durable_len`, that length at the last
 *          successful fsync/fdatasync. A power loss truncates the file to
 *          durable_len (or keeps a seeded random part of the unsynced tail).
 *   fds    descriptor -> file entry, so writes and syncs find their file.
 *   ops    creates, mkdirs and renames not yet covered by an fsync_dir of
 *          their directory; a power loss undoes them newest first.
 *
 * The model is deliberately simple (see cts_storage.h for what it leaves
 * out): enough to check that a writer acknowledges only what an fsync or
 * fdatasync covered, and that recovery copes with what is left.
 *
 * States:
 *
 *   create ──► ON ──cts_vfs_fault_power_loss──► OFF (every call -EIO)
 *               ▲                                 │
 *               └──────── cts_vfs_fault_reset ────┘
 *
 * Invariants: every entry of `fds` names a live descriptor of the base VFS
 * and an index into `files`; entries of `files` are never removed (a gone
 * file is flagged), so indices stay valid. The mutex is held across each
 * base call, which serialises I/O through this VFS: fine for tests, and it
 * keeps each write and its bookkeeping atomic. list_dir is the exception:
 * its callback may call back into the VFS, so it runs unlocked.
 */
#include "cts_storage.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>

typedef struct file_ent {
    char *path;
    uint64_t len;
    uint64_t durable_len;
    int gone; /* unlinked, replaced by a rename, or undone */
} file_ent;

typedef struct fd_ent {
    int fd;
    size_t file;
} fd_ent;

typedef enum dir_op_kind { DIR_CREATE, DIR_MKDIR, DIR_RENAME } dir_op_kind;

typedef struct dir_op {
    dir_op_kind kind;
    char *path;       /* the created path, or the rename's target */
    char *from;       /* rename source; NULL otherwise */
    int path_durable; /* the directory of `path` was fsynced since */
    int from_durable; /* the directory of `from` was fsynced since */
} dir_op;

typedef struct fault_sched {
    uint64_t at; /* fail when calls reach this; 0: none */
    int err;
    cts_fault_mode mode;
} fault_sched;

struct cts_vfs_fault {
    cts_vfs vfs;
    const cts_vfs *base;
    pthread_mutex_t mu;
    uint64_t calls[CTS_VFS_OP_COUNT];
    fault_sched sched[CTS_VFS_OP_COUNT];
    uint64_t injected;
    size_t short_max;
    int off; /* powered off */
    file_ent *files;
    size_t nfiles, cap_files;
    fd_ent *fds;
    size_t nfds, cap_fds;
    dir_op *ops;
    size_t nops, cap_ops;
};

static const char *const op_names[CTS_VFS_OP_COUNT] = {
    "open",  "close",  "pread",  "pwrite", "fsync", "fdatasync", "ftruncate",
    "fsize", "rename", "unlink", "mkdir",  "rmdir", "fsync_dir", "list_dir",
};

const char *cts_vfs_op_name(cts_vfs_op op)
{
    return (unsigned)op < CTS_VFS_OP_COUNT ? op_names[op] : "unknown";
}

/* ---- small helpers ---- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = cts_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Make room for one more element; -ENOMEM on failure. */
static int reserve(void **arr, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = cts_realloc(*arr, ncap * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Length of the directory part of `path` (no trailing '/'), or 0 when it
 * has none (then the directory is "."). */
static size_t dir_part(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

/* True when `path` is an entry of directory `dir` (spelled as given to
 * fsync_dir, trailing slashes ignored). */
static int in_dir(const char *path, const char *dir)
{
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    size_t pl = dir_part(path);
    if (pl == 0)
        return dl == 1 && dir[0] == '.';
    return pl == dl && memcmp(path, dir, dl) == 0;
}

static long find_file(const cts_vfs_fault *f, const char *path)
{
    for (size_t i = 0; i < f->nfiles; i++)
        if (!f->files[i].gone && strcmp(f->files[i].path, path) == 0)
            return (long)i;
    return -1;
}

static file_ent *file_of_fd(cts_vfs_fault *f, int fd)
{
    for (size_t i = 0; i < f->nfds; i++)
        if (f->fds[i].fd == fd)
            return &f->files[f->fds[i].file];
    return NULL;
}

/* Count the call and decide whether it fails: 0 or -errno. Lock held. */
static int gate(cts_vfs_fault *f, cts_vfs_op op)
{
    uint64_t n = ++f->calls[op];
    if (f->off)
        return -EIO;
    fault_sched *s = &f->sched[op];
    if (s->at == 0 || n < s->at)
        return 0;
    if (n > s->at && s->mode != CTS_FAULT_PERSIST)
        return 0;
    f->injected++;
    return -s->err;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#define SELF(ctx) ((cts_vfs_fault *)(ctx))

/* ---- open / close ---- */

/* True when an O_CREAT open of `path` would create it. Lock held. */
static int would_create(cts_vfs_fault *f, const char *path, int flags)
{
    if (!(flags & O_CREAT) || find_file(f, path) >= 0)
        return 0;
    int fd = f->base->open(f->base->ctx, path, O_RDONLY, 0);
    if (fd >= 0)
        f->base->close(f->base->ctx, fd);
    return fd == -ENOENT;
}

/* Track a descriptor just opened. `path` is a copy the file entry may take;
 * `undo` (a second copy, NULL unless the open created the file) becomes the
 * create's undo record. Room in every array was reserved. */
static void track_open(cts_vfs_fault *f, int fd, char *path, char *undo, int flags)
{
    long idx = find_file(f, path);
    if (idx < 0) {
        uint64_t size = 0;
        if (!undo && f->base->fsize(f->base->ctx, fd, &size) < 0)
            size = 0;
        idx = (long)f->nfiles++;
        f->files[idx] = (file_ent){.path = path, .len = size, .durable_len = size};
        path = NULL;
    }
    if (flags & O_TRUNC)
        f->files[idx].len = f->files[idx].durable_len = 0;
    f->fds[f->nfds++] = (fd_ent){.fd = fd, .file = (size_t)idx};
    if (undo)
        f->ops[f->nops++] = (dir_op){.kind = DIR_CREATE, .path = undo, .from_durable = 1};
    cts_free(path);
}

static int reserve_open(cts_vfs_fault *f)
{
    if (reserve((void **)&f->files, &f->cap_files, f->nfiles, sizeof *f->files) < 0 ||
        reserve((void **)&f->fds, &f->cap_fds, f->nfds, sizeof *f->fds) < 0 ||
        reserve((void **)&f->ops, &f->cap_ops, f->nops, sizeof *f->ops) < 0)
        return -ENOMEM;
    return 0;
}

static int fault_open(void *ctx, const char *path, int flags, int mode)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    char *copy = NULL, *undo = NULL;
    int r = gate(f, CTS_VFS_OP_OPEN);
    if (r < 0)
        goto out;
    int creating = would_create(f, path, flags);
    copy = dup_str(path);
    undo = creating ? dup_str(path) : NULL;
    r = -ENOMEM;
    if (!copy || (creating && !undo) || reserve_open(f) < 0)
        goto out;
    r = f->base->open(f->base->ctx, path, flags, mode);
    if (r >= 0) {
        track_open(f, r, copy, undo, flags);
        copy = undo = NULL;
    }
out:
    cts_free(copy);
    cts_free(undo);
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int fault_close(void *ctx, int fd)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    int injected = gate(f, CTS_VFS_OP_CLOSE);
    for (size_t i = 0; i < f->nfds; i++) {
        if (f->fds[i].fd == fd) {
            f->fds[i] = f->fds[--f->nfds];
            break;
        }
    }
    int r = f->base->close(f->base->ctx, fd);
    pthread_mutex_unlock(&f->mu);
    return injected < 0 ? injected : r;
}

/* ---- data ---- */

static int64_t fault_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    int64_t r = gate(f, CTS_VFS_OP_PREAD);
    if (r == 0)
        r = f->base->pread(f->base->ctx, fd, buf, len, off);
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int64_t fault_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    int64_t r = gate(f, CTS_VFS_OP_PWRITE);
    if (r < 0)
        goto out;
    if (f->short_max && len > f->short_max)
        len = f->short_max;
    r = f->base->pwrite(f->base->ctx, fd, buf, len, off);
    file_ent *fe = file_of_fd(f, fd);
    if (r > 0 && fe && off + (uint64_t)r > fe->len)
        fe->len = off + (uint64_t)r;
out:
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int sync_common(cts_vfs_fault *f, int fd, cts_vfs_op op)
{
    pthread_mutex_lock(&f->mu);
    int r = gate(f, op);
    if (r == 0) {
        r = op == CTS_VFS_OP_FSYNC ? f->base->fsync(f->base->ctx, fd)
                                   : f->base->fdatasync(f->base->ctx, fd);
        file_ent *fe = file_of_fd(f, fd);
        if (r == 0 && fe)
            fe->durable_len = fe->len;
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int fault_fsync(void *ctx, int fd)
{
    return sync_common(SELF(ctx), fd, CTS_VFS_OP_FSYNC);
}

static int fault_fdatasync(void *ctx, int fd)
{
    return sync_common(SELF(ctx), fd, CTS_VFS_OP_FDATASYNC);
}

static int fault_ftruncate(void *ctx, int fd, uint64_t len)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    int r = gate(f, CTS_VFS_OP_FTRUNCATE);
    if (r == 0)
        r = f->base->ftruncate(f->base->ctx, fd, len);
    file_ent *fe = file_of_fd(f, fd);
    if (r == 0 && fe) {
        fe->len = len;
        if (fe->durable_len > len)
            fe->durable_len = len;
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int fault_fsize(void *ctx, int fd, uint64_t *len)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    int r = gate(f, CTS_VFS_OP_FSIZE);
    if (r == 0)
        r = f->base->fsize(f->base->ctx, fd, len);
    pthread_mutex_unlock(&f->mu);
    return r;
}

/* ---- names ---- */

static int fault_rename(void *ctx, const char *from, const char *to)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    char *to_copy = NULL, *from_copy = NULL, *ent_path = NULL;
    int r = gate(f, CTS_VFS_OP_RENAME);
    if (r < 0)
        goto out;
    to_copy = dup_str(to);
    from_copy = dup_str(from);
    ent_path = dup_str(to);
    r = -ENOMEM;
    if (!to_copy || !from_copy || !ent_path ||
        reserve((void **)&f->ops, &f->cap_ops, f->nops, sizeof *f->ops) < 0)
        goto out;
    r = f->base->rename(f->base->ctx, from, to);
    if (r < 0)
        goto out;
    long replaced = find_file(f, to), moved = find_file(f, from);
    if (replaced >= 0)
        f->files[replaced].gone = 1;
    if (moved >= 0) {
        cts_free(f->files[moved].path);
        f->files[moved].path = ent_path;
        ent_path = NULL;
    }
    f->ops[f->nops++] = (dir_op){.kind = DIR_RENAME, .path = to_copy, .from = from_copy};
    to_copy = from_copy = NULL;
out:
    cts_free(to_copy);
    cts_free(from_copy);
    cts_free(ent_path);
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int fault_unlink(void *ctx, const char *path)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    int r = gate(f, CTS_VFS_OP_UNLINK);
    if (r == 0)
        r = f->base->unlink(f->base->ctx, path);
    long idx = r == 0 ? find_file(f, path) : -1;
    if (idx >= 0)
        f->files[idx].gone = 1;
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int fault_mkdir(void *ctx, const char *path, int mode)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    char *copy = NULL;
    int r = gate(f, CTS_VFS_OP_MKDIR);
    if (r < 0)
        goto out;
    copy = dup_str(path);
    r = -ENOMEM;
    if (!copy || reserve((void **)&f->ops, &f->cap_ops, f->nops, sizeof *f->ops) < 0)
        goto out;
    r = f->base->mkdir(f->base->ctx, path, mode);
    if (r == 0) {
        f->ops[f->nops++] = (dir_op){.kind = DIR_MKDIR, .path = copy, .from_durable = 1};
        copy = NULL;
    }
out:
    cts_free(copy);
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int fault_rmdir(void *ctx, const char *path)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    int r = gate(f, CTS_VFS_OP_RMDIR);
    if (r == 0)
        r = f->base->rmdir(f->base->ctx, path);
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int fault_fsync_dir(void *ctx, const char *path)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    int r = gate(f, CTS_VFS_OP_FSYNC_DIR);
    if (r == 0)
        r = f->base->fsync_dir(f->base->ctx, path);
    for (size_t i = 0; r == 0 && i < f->nops; i++) {
        if (in_dir(f->ops[i].path, path))
            f->ops[i].path_durable = 1;
        if (f->ops[i].from && in_dir(f->ops[i].from, path))
            f->ops[i].from_durable = 1;
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int fault_list_dir(void *ctx, const char *path, int (*fn)(void *arg, const char *name),
                          void *arg)
{
    cts_vfs_fault *f = SELF(ctx);
    pthread_mutex_lock(&f->mu);
    int r = gate(f, CTS_VFS_OP_LIST_DIR);
    pthread_mutex_unlock(&f->mu);
    return r < 0 ? r : f->base->list_dir(f->base->ctx, path, fn, arg);
}

/* ---- power loss ---- */

static void free_ops(cts_vfs_fault *f)
{
    for (size_t i = 0; i < f->nops; i++) {
        cts_free(f->ops[i].path);
        cts_free(f->ops[i].from);
    }
    f->nops = 0;
}

/* Truncate every tracked file to what survives. Lock held. */
static int drop_unsynced(cts_vfs_fault *f, uint64_t seed)
{
    const cts_vfs *b = f->base;
    for (size_t i = 0; i < f->nfiles; i++) {
        file_ent *fe = &f->files[i];
        if (fe->gone || fe->len <= fe->durable_len)
            continue;
        uint64_t keep = fe->durable_len;
        if (seed)
            keep += splitmix(&seed) % (fe->len - fe->durable_len + 1);
        int fd = b->open(b->ctx, fe->path, O_WRONLY, 0);
        if (fd < 0)
            return fd;
        int r = b->ftruncate(b->ctx, fd, keep);
        b->close(b->ctx, fd);
        if (r < 0)
            return r;
        fe->len = fe->durable_len = keep;
    }
    return 0;
}

typedef struct name_list {
    char **names;
    size_t count, cap;
} name_list;

static int collect_name(void *arg, const char *name)
{
    name_list *l = arg;
    if (reserve((void **)&l->names, &l->cap, l->count, sizeof *l->names) < 0)
        return -ENOMEM;
    l->names[l->count] = dup_str(name);
    return l->names[l->count++] ? 0 : -ENOMEM;
}

static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = cts_malloc(dl + nl + 2);
    if (p) {
        memcpy(p, dir, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, name, nl + 1);
    }
    return p;
}

/* Remove directory `path` and everything in it, as a lost mkdir would. */
static int remove_tree(const cts_vfs *b, const char *path)
{
    name_list l = {0};
    int r = b->list_dir(b->ctx, path, collect_name, &l);
    for (size_t i = 0; r == 0 && i < l.count; i++) {
        char *child = join_path(path, l.names[i]);
        if (!child) {
            r = -ENOMEM;
            break;
        }
        r = b->unlink(b->ctx, child);
        if (r == -EISDIR || r == -EPERM)
            r = remove_tree(b, child);
        cts_free(child);
    }
    for (size_t i = 0; i < l.count; i++)
        cts_free(l.names[i]);
    cts_free(l.names);
    return r < 0 ? r : b->rmdir(b->ctx, path);
}

/* Flag tracked files at `path` or below it as gone. */
static void forget_under(cts_vfs_fault *f, const char *path)
{
    size_t pl = strlen(path);
    for (size_t i = 0; i < f->nfiles; i++) {
        const char *fp = f->files[i].path;
        if (strncmp(fp, path, pl) == 0 && (fp[pl] == '\0' || fp[pl] == '/'))
            f->files[i].gone = 1;
    }
}

/* Undo one create, mkdir or rename that no directory fsync covered. */
static int undo_op(cts_vfs_fault *f, dir_op *op)
{
    const cts_vfs *b = f->base;
    int r = 0;
    switch (op->kind) {
    case DIR_CREATE:
        r = b->unlink(b->ctx, op->path);
        forget_under(f, op->path);
        break;
    case DIR_MKDIR:
        r = remove_tree(b, op->path);
        forget_under(f, op->path);
        break;
    case DIR_RENAME: {
        long idx = find_file(f, op->path);
        r = b->rename(b->ctx, op->path, op->from);
        if (r == 0 && idx >= 0) {
            char *tmp = f->files[idx].path;
            f->files[idx].path = op->from;
            op->from = tmp;
        }
        break;
    }
    }
    return r == -ENOENT ? 0 : r;
}

int cts_vfs_fault_power_loss(cts_vfs_fault *f, uint64_t seed)
{
    pthread_mutex_lock(&f->mu);
    int r = drop_unsynced(f, seed);
    for (size_t i = f->nops; r == 0 && i > 0; i--) {
        dir_op *op = &f->ops[i - 1];
        if (!op->path_durable || !op->from_durable)
            r = undo_op(f, op);
    }
    free_ops(f);
    f->off = 1;
    pthread_mutex_unlock(&f->mu);
    return r < 0 ? cts_err_from_errno(r) : CTS_OK;
}

/* ---- lifecycle and controls ---- */

static const cts_vfs fault_table = {
    .open = fault_open,
    .close = fault_close,
    .pread = fault_pread,
    .pwrite = fault_pwrite,
    .fsync = fault_fsync,
    .fdatasync = fault_fdatasync,
    .ftruncate = fault_ftruncate,
    .fsize = fault_fsize,
    .rename = fault_rename,
    .unlink = fault_unlink,
    .mkdir = fault_mkdir,
    .rmdir = fault_rmdir,
    .fsync_dir = fault_fsync_dir,
    .list_dir = fault_list_dir,
};

int cts_vfs_fault_create(const cts_vfs *base, cts_vfs_fault **out)
{
    if (!base || !out)
        return CTS_EINVAL;
    cts_vfs_fault *f = cts_calloc(1, sizeof *f);
    if (!f)
        return CTS_ENOMEM;
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        cts_free(f);
        return CTS_ENOMEM;
    }
    f->vfs = fault_table;
    f->vfs.ctx = f;
    f->base = base;
    *out = f;
    return CTS_OK;
}

void cts_vfs_fault_destroy(cts_vfs_fault *f)
{
    if (!f)
        return;
    free_ops(f);
    for (size_t i = 0; i < f->nfiles; i++)
        cts_free(f->files[i].path);
    cts_free(f->files);
    cts_free(f->fds);
    cts_free(f->ops);
    pthread_mutex_destroy(&f->mu);
    cts_free(f);
}

const cts_vfs *cts_vfs_fault_vfs(cts_vfs_fault *f)
{
    return &f->vfs;
}

int cts_vfs_fault_fail(cts_vfs_fault *f, cts_vfs_op op, uint64_t nth, int err_errno,
                       cts_fault_mode mode)
{
    if ((unsigned)op >= CTS_VFS_OP_COUNT || nth == 0 || err_errno <= 0 ||
        (mode != CTS_FAULT_ONCE && mode != CTS_FAULT_PERSIST))
        return CTS_EINVAL;
    pthread_mutex_lock(&f->mu);
    f->sched[op] = (fault_sched){.at = f->calls[op] + nth, .err = err_errno, .mode = mode};
    pthread_mutex_unlock(&f->mu);
    return CTS_OK;
}

void cts_vfs_fault_short_writes(cts_vfs_fault *f, size_t max_bytes)
{
    pthread_mutex_lock(&f->mu);
    f->short_max = max_bytes;
    pthread_mutex_unlock(&f->mu);
}

uint64_t cts_vfs_fault_calls(cts_vfs_fault *f, cts_vfs_op op)
{
    if ((unsigned)op >= CTS_VFS_OP_COUNT)
        return 0;
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->calls[op];
    pthread_mutex_unlock(&f->mu);
    return n;
}

uint64_t cts_vfs_fault_injected(cts_vfs_fault *f)
{
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->injected;
    pthread_mutex_unlock(&f->mu);
    return n;
}

void cts_vfs_fault_reset(cts_vfs_fault *f)
{
    pthread_mutex_lock(&f->mu);
    memset(f->calls, 0, sizeof f->calls);
    memset(f->sched, 0, sizeof f->sched);
    f->injected = 0;
    f->short_max = 0;
    f->off = 0;
    free_ops(f);
    for (size_t i = 0; i < f->nfiles; i++)
        f->files[i].durable_len = f->files[i].len;
    pthread_mutex_unlock(&f->mu);
}
