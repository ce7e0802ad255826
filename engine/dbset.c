/*
 * dbset.c: the data directory as a set of databases, DATA/<name>/.
 *
 * The server and the query layer address databases by name (`db=` in a
 * request, USE, CREATE/DROP DATABASE); this file turns names into open
 * handles and keeps them open, so a database's WAL is replayed once per
 * process, not once per request.
 *
 * Invariants:
 *   - an entry is in `entries` from its first successful open until it is
 *     dropped or the set closes; `refs` counts handles acquired and not yet
 *     released;
 *   - a drop waits until refs is 0 (new acquires of a dropping entry wait
 *     too), closes the handle, renames DATA/<name> to DATA/.dropped-<name>-N
 *     and syncs DATA, then removes the renamed tree: after a crash the
 *     database is either whole or gone, and cts_dbset_open removes
 *     leftover .dropped-* trees;
 *   - every name is checked with cts_db_name_valid before it becomes a
 *     path, so no name escapes DATA.
 *
 * One mutex guards the list; opening a database (WAL replay) happens under
 * it, which serialises first opens but keeps the logic obviously correct.
 */
#define _XOPEN_SOURCE 700
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct dbset_entry {
    char name[CTS_DB_NAME_MAX + 1];
    cts_db *db;
    uint32_t refs;
    bool dropping;
    struct dbset_entry *next;
} dbset_entry;

struct cts_dbset {
    char *root;
    cts_db_opts opts;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    dbset_entry *entries;
    uint64_t drops; /* names the .dropped-* directories */
};

static _Thread_local char dbset_error[768];

const char *cts_dbset_errmsg(void)
{
    return dbset_error;
}

static int fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dbset_error, sizeof dbset_error, fmt, ap);
    va_end(ap);
    return rc;
}

/* nftw callback: 0, or the positive errno that stops the walk. */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    return r == 0 || errno == ENOENT ? 0 : (errno ? errno : EIO);
}

/* Remove a directory tree; 0 or a cts_err. */
static int remove_tree(const char *path)
{
    int r = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (r == -1)
        r = errno;
    if (r == 0 || r == ENOENT)
        return 0;
    return fail(cts_err_from_errno(-r), "cannot remove %s: %s", path, strerror(r));
}

/* Remove what interrupted drops left: DATA/.dropped-*. */
static int remove_leftovers(const char *root)
{
    DIR *d = opendir(root);
    if (!d)
        return fail(CTS_EIO, "cannot read data directory %s: %s", root, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char path[4096];
        if (strncmp(e->d_name, ".dropped-", 9) != 0)
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", root, e->d_name) >= sizeof path)
            continue;
        rc = remove_tree(path);
    }
    closedir(d);
    return rc;
}

int cts_dbset_open(const char *root, const cts_db_opts *opts, cts_dbset **out)
{
    *out = NULL;
    dbset_error[0] = 0;
    if (!root || !*root || strlen(root) > 3000)
        return fail(CTS_EINVAL, "invalid data directory");
    if (mkdir(root, 0755) != 0 && errno != EEXIST)
        return fail(cts_err_from_errno(-errno), "cannot create data directory %s: %s", root,
                    strerror(errno));
    int rc = remove_leftovers(root);
    if (rc)
        return rc;
    cts_dbset *s = cts_calloc(1, sizeof *s);
    if (!s || !(s->root = cts_malloc(strlen(root) + 1))) {
        cts_free(s);
        return fail(CTS_ENOMEM, "out of memory");
    }
    strcpy(s->root, root);
    if (opts)
        s->opts = *opts;
    else
        cts_db_opts_init(&s->opts);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    *out = s;
    return 0;
}

int cts_dbset_close(cts_dbset *s)
{
    if (!s)
        return 0;
    int first = 0;
    for (dbset_entry *e = s->entries, *next; e; e = next) {
        next = e->next;
        int rc = cts_db_close(e->db);
        if (rc && !first)
            first = fail(rc, "closing database %s: %s", e->name, cts_strerror(rc));
        cts_free(e);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    cts_free(s->root);
    cts_free(s);
    return first;
}

static int db_path(const cts_dbset *s, const char *name, char *dst, size_t cap)
{
    if ((size_t)snprintf(dst, cap, "%s/%s", s->root, name) >= cap)
        return fail(CTS_EINVAL, "path too long");
    return 0;
}

static int check_name(const char *name)
{
    if (!name || !cts_db_name_valid(name))
        return fail(CTS_EINVAL, "invalid database name \"%s\": use 1 to %d of A-Z a-z 0-9 _ -",
                    name ? name : "", CTS_DB_NAME_MAX);
    return 0;
}

static bool dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static dbset_entry *find(cts_dbset *s, const char *name)
{
    for (dbset_entry *e = s->entries; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

/* Open `name` into a new entry; called with the lock held. */
static int open_entry(cts_dbset *s, const char *name, bool create, dbset_entry **out)
{
    char path[4096];
    int rc = db_path(s, name, path, sizeof path);
    if (rc)
        return rc;
    if (!create && !dir_exists(path))
        return fail(CTS_ENOTFOUND, "database not found: \"%s\"", name);
    dbset_entry *e = cts_calloc(1, sizeof *e);
    if (!e)
        return fail(CTS_ENOMEM, "out of memory");
    rc = cts_db_open(path, &s->opts, &e->db);
    if (rc) {
        cts_free(e);
        return fail(rc, "cannot open database \"%s\": %s", name, cts_db_open_error());
    }
    strcpy(e->name, name);
    e->next = s->entries;
    s->entries = e;
    *out = e;
    return 0;
}

int cts_dbset_acquire(cts_dbset *s, const char *name, bool create, cts_db **out)
{
    *out = NULL;
    int rc = check_name(name);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->mu);
    dbset_entry *e;
    while ((e = find(s, name)) != NULL && e->dropping)
        pthread_cond_wait(&s->cv, &s->mu);
    if (!e)
        rc = open_entry(s, name, create, &e);
    if (rc == 0) {
        e->refs++;
        *out = e->db;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void cts_dbset_release(cts_dbset *s, cts_db *db)
{
    if (!s || !db)
        return;
    pthread_mutex_lock(&s->mu);
    for (dbset_entry *e = s->entries; e; e = e->next)
        if (e->db == db && e->refs > 0) {
            e->refs--;
            break;
        }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int cmp_str(const void *a, const void *b)
{
    const cts_str *x = a, *y = b;
    return strcmp(x->ptr, y->ptr);
}

/* Collect the names of DATA's database directories. */
static int collect(const char *root, cts_str **items, size_t *n)
{
    DIR *d = opendir(root);
    if (!d)
        return fail(CTS_EIO, "cannot read data directory %s: %s", root, strerror(errno));
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        if (!cts_db_name_valid(de->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", root, de->d_name);
        if (!dir_exists(path))
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            cts_str *g = cts_realloc(*items, ncap * sizeof *g);
            if (!g) {
                rc = fail(CTS_ENOMEM, "out of memory");
                break;
            }
            *items = g;
            cap = ncap;
        }
        cts_str v = {cts_malloc(strlen(de->d_name) + 1), (uint32_t)strlen(de->d_name)};
        if (!v.ptr) {
            rc = fail(CTS_ENOMEM, "out of memory");
            break;
        }
        memcpy((char *)(uintptr_t)v.ptr, de->d_name, v.len + 1);
        (*items)[(*n)++] = v;
    }
    closedir(d);
    return rc;
}

int cts_dbset_list(cts_dbset *s, cts_strlist **out)
{
    *out = NULL;
    cts_str *items = NULL;
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    int rc = collect(s->root, &items, &n);
    pthread_mutex_unlock(&s->mu);
    if (rc == 0) {
        if (n > 1)
            qsort(items, n, sizeof *items, cmp_str);
        rc = db_strlist_copy(items, n, out);
    }
    for (size_t i = 0; i < n; i++)
        cts_free((void *)(uintptr_t)items[i].ptr);
    cts_free(items);
    return rc;
}

int cts_dbset_create(cts_dbset *s, const char *name)
{
    cts_db *db;
    int rc = cts_dbset_acquire(s, name, true, &db);
    if (rc == 0)
        cts_dbset_release(s, db);
    return rc;
}

/* Unlink entry e from the list and close it; lock held, refs 0. */
static int close_entry(cts_dbset *s, dbset_entry *e)
{
    for (dbset_entry **pp = &s->entries; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    int rc = cts_db_close(e->db);
    cts_free(e);
    return rc;
}

/* Rename DATA/<name> aside, sync DATA, remove the tree. */
static int remove_db_dir(cts_dbset *s, const char *name)
{
    char path[4096], aside[4096];
    int rc = db_path(s, name, path, sizeof path);
    if (rc)
        return rc;
    if (!dir_exists(path))
        return fail(CTS_ENOTFOUND, "database not found: \"%s\"", name);
    if ((size_t)snprintf(aside, sizeof aside, "%s/.dropped-%s-%llu", s->root, name,
                         (unsigned long long)s->drops++) >= sizeof aside)
        return fail(CTS_EINVAL, "path too long");
    if (rename(path, aside) != 0)
        return fail(cts_err_from_errno(-errno), "cannot drop database \"%s\": %s", name,
                    strerror(errno));
    const cts_vfs *vfs = cts_vfs_posix();
    rc = vfs->fsync_dir(vfs->ctx, s->root);
    if (rc)
        return fail(cts_err_from_errno(rc), "cannot sync %s", s->root);
    return remove_tree(aside);
}

int cts_dbset_drop(cts_dbset *s, const char *name)
{
    int rc = check_name(name);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->mu);
    dbset_entry *e;
    while ((e = find(s, name)) != NULL && e->dropping)
        pthread_cond_wait(&s->cv, &s->mu);
    if (e) {
        e->dropping = true;
        while (e->refs > 0)
            pthread_cond_wait(&s->cv, &s->mu);
        (void)close_entry(s, e); /* its data is being removed: a flush error is moot */
    }
    rc = remove_db_dir(s, name);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
