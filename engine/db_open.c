/*
 * db_open.c: opening a database (recovery) and closing it.
 *
 * Recovery order matters: the catalog first (series and fields made durable
 * by earlier checkpoints), then the partitions (sealed blocks; those written
 * after the last checkpoint are checked and dropped if torn), then the WAL,
 * whose records re-create what the checkpoint did not cover: definitions the
 * catalog file lacks, points, and deletes, in their original order.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char open_error[768];

const char *cts_db_open_error(void)
{
    return open_error;
}

void cts_db_opts_init(cts_db_opts *o)
{
    memset(o, 0, sizeof *o);
    o->fsync = CTS_DB_FSYNC_INTERVAL;
    o->fsync_interval_ms = 1000;
    o->partition_ns = INT64_C(86400000000000);
    o->memory_budget_bytes = 256ull << 20;
    o->max_series = 10000000;
    o->block_points = CTS_BLOCK_DEFAULT_COUNT;
    o->wal_checkpoint_bytes = 256ull << 20;
    o->io = CTS_DB_IO_AUTO;
}

/* NULL when the options are valid, else what is wrong with them (for
 * cts_db_open_error: "invalid argument" alone does not say which). */
static const char *opts_problem(const cts_db_opts *o)
{
    if (o->partition_ns <= 0)
        return "partition_ns must be > 0";
    if (o->block_points == 0 || o->block_points > CTS_BLOCK_MAX_COUNT)
        return "block_points must be 1..65536";
    if (o->retention_ns < 0)
        return "retention_ns must be >= 0";
    if ((unsigned)o->fsync > CTS_DB_FSYNC_NEVER)
        return "fsync must be ALWAYS, INTERVAL or NEVER";
    if ((unsigned)o->io > CTS_DB_IO_PWRITE)
        return "io must be AUTO, URING or PWRITE";
    return NULL;
}

/* Create directory `path` if absent, then fsync its parent, even when it
 * was there already: until its parent is synced a crash may undo a mkdir,
 * and with it every file later made durable inside (the acknowledged
 * writes of a new database); and a directory found existing may be the
 * work of an earlier open that failed before its sync. */
static int make_dir(const cts_vfs *vfs, const char *path)
{
    int rc = vfs->mkdir(vfs->ctx, path, 0755);
    if (rc < 0 && rc != -EEXIST)
        return cts_err_from_errno(rc);
    char parent[4096];
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    while (n > 0 && path[n - 1] != '/')
        n--;
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n == 0)
        snprintf(parent, sizeof parent, ".");
    else
        snprintf(parent, sizeof parent, "%.*s", (int)n, path);
    rc = vfs->fsync_dir(vfs->ctx, parent);
    return rc < 0 ? cts_err_from_errno(rc) : 0;
}

/* ---- loading partitions ---- */

static int add_loaded_block(void *ctx, part *p, const blockref *b)
{
    cts_db *db = ctx;
    column *c;
    int rc = db_column_get(db, b->series_id, b->field_id, (cts_type)b->type, &c);
    if (rc == CTS_ECORRUPT || rc == CTS_EINVAL)
        return db_fail(db, CTS_ECORRUPT,
                       "%s/index: block of series %u field %u has type %d, "
                       "another block of that column has another",
                       p->dir, b->series_id, b->field_id, b->type);
    if (rc == 0)
        rc = db_column_add_block(c, p, b);
    if (b->seq >= db->next_seq)
        db->next_seq = b->seq + 1;
    return rc;
}

static bool parse_index(const char *name, int64_t *index)
{
    char *end;
    errno = 0;
    long long v = strtoll(name, &end, 10);
    return *name && *end == 0 && errno == 0 && (*index = v, true);
}

typedef struct dir_names {
    int64_t *idx;
    size_t n, cap;
} dir_names;

static int collect(void *arg, const char *name)
{
    dir_names *d = arg;
    int64_t index;
    if (!parse_index(name, &index))
        return 0; /* not ours: leave it alone */
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        int64_t *n = cts_realloc(d->idx, cap * sizeof *n);
        if (!n)
            return CTS_ENOMEM;
        d->idx = n;
        d->cap = cap;
    }
    d->idx[d->n++] = index;
    return 0;
}

/* A directory without an index is what a crash during a partition drop
 * leaves (the index goes first); one with an index but no segment is a
 * creation cut short (the index is created first, and no block is added
 * before both exist). Either way the partition holds nothing: finish
 * removing it, index included, or rmdir fails on a non-empty directory. */
static int finish_drop(cts_db *db, const char *root, int64_t index)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%lld/segment", root, (long long)index);
    db->vfs->unlink(db->vfs->ctx, path);
    snprintf(path, sizeof path, "%s/%lld/index", root, (long long)index);
    db->vfs->unlink(db->vfs->ctx, path);
    snprintf(path, sizeof path, "%s/%lld", root, (long long)index);
    int rc = db->vfs->rmdir(db->vfs->ctx, path);
    if (rc < 0 && rc != -ENOENT)
        return db_fail(db, cts_err_from_errno(rc), "%s: cannot remove an incomplete partition: %s",
                       path, strerror(-rc));
    return 0;
}

static int load_partitions(cts_db *db)
{
    char root[4096];
    dir_names d = {0};
    snprintf(root, sizeof root, "%s/p", db->dir);
    int rc = db->vfs->list_dir(db->vfs->ctx, root, collect, &d);
    if (rc < 0 && rc > -4096 && rc != CTS_ENOMEM)
        rc = cts_err_from_errno(rc);
    for (size_t i = 0; i < d.n && rc == 0; i++) {
        part *p;
        part_report rep = {0};
        rc = part_open(db->vfs, root, d.idx[i], db->opts.partition_ns, false, add_loaded_block, db,
                       &p, &rep, db->errmsg, sizeof db->errmsg);
        if (rc == CTS_ENOTFOUND) {
            rc = finish_drop(db, root, d.idx[i]);
            continue;
        }
        if (rc == 0 && (rc = db_part_insert(db, p)))
            part_unref(p);
        if (rc == 0 && (rep.blocks_dropped || rep.torn_bytes))
            fprintf(stderr,
                    "cityts: %s/%lld: dropped %llu unsynced blocks and %llu torn index "
                    "bytes; their points are replayed from the WAL\n",
                    root, (long long)d.idx[i], (unsigned long long)rep.blocks_dropped,
                    (unsigned long long)rep.torn_bytes);
    }
    cts_free(d.idx);
    return rc;
}

/* ---- WAL replay ---- */

static cts_type field_type(void *ctx, uint32_t id)
{
    cts_type t = 0;
    if (cts_catalog_field_get(ctx, id, NULL, NULL, &t))
        return 0;
    return t;
}

static int replay_series(cts_db *db, const pl_entry *e)
{
    uint32_t id;
    int rc = cts_catalog_series_intern(db->cat, e->m, e->tags, e->ntags, &id, NULL);
    if (rc == 0 && id != e->id)
        rc = CTS_ECORRUPT;
    return rc;
}

static int replay_point(cts_db *db, pl_reader *r, const pl_entry *e)
{
    pending pv = {.series_id = e->id, .ts = e->ts};
    int rc = 0;
    pthread_rwlock_wrlock(&db->lock);
    for (uint32_t k = 0; k < e->nvalues && rc == 0; k++) {
        rc = pl_get_value(r, &pv.field_id, field_type, db->cat, &pv.type, &pv.v);
        if (rc == 0)
            rc = db_apply(db, &pv);
    }
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

int db_apply_delete(cts_db *db, cts_str m, const uint32_t *ids, size_t n, int64_t t0, int64_t t1);

static int replay_delete(cts_db *db, pl_reader *r, const pl_entry *e)
{
    uint32_t *ids = cts_malloc((e->n_ids + 1) * sizeof *ids), prev = 0;
    int rc = ids ? 0 : CTS_ENOMEM;
    for (size_t i = 0; i < e->n_ids && rc == 0; i++)
        rc = pl_get_delete_id(r, &prev, &ids[i]);
    if (rc == 0)
        rc = db_apply_delete(db, e->m, ids, e->n_ids, e->t0, e->t1);
    cts_free(ids);
    return rc;
}

static int replay_record(void *ctx, uint64_t seq, const void *payload, size_t len)
{
    cts_db *db = ctx;
    pl_reader r;
    const uint8_t *entries;
    size_t n;
    int rc = pl_unframe(payload, len, &db->record, &entries, &n);
    pl_entry *e = rc ? NULL : cts_malloc(sizeof *e);
    if (rc == 0 && !e)
        rc = CTS_ENOMEM;
    pl_reader_init(&r, entries, n);
    while (rc == 0 && (rc = pl_next(&r, e)) == 1) {
        switch (e->kind) {
        case PL_SERIES:
            rc = replay_series(db, e);
            break;
        case PL_FIELD:
            rc = cts_catalog_field_restore(db->cat, e->id, e->m, e->name, e->type);
            break;
        case PL_POINT:
            rc = replay_point(db, &r, e);
            break;
        case PL_DELETE:
            rc = replay_delete(db, &r, e);
            break;
        }
    }
    cts_free(e);
    if (rc == CTS_ECORRUPT && !db->errmsg[0])
        db_fail(db, rc,
                "WAL record %llu (%s/wal): payload does not match the catalog %s/catalog "
                "(a definition it uses is missing or different: damaged catalog or WAL)",
                (unsigned long long)seq, db->dir, db->dir);
    return rc;
}

static cts_wal_fsync wal_policy(cts_fsync_policy p)
{
    return p == CTS_DB_FSYNC_ALWAYS  ? CTS_FSYNC_ALWAYS
           : p == CTS_DB_FSYNC_NEVER ? CTS_FSYNC_NEVER
                                     : CTS_FSYNC_INTERVAL;
}

static int open_wal(cts_db *db)
{
    char path[4096];
    cts_wal_opts wo = {.vfs = db->vfs,
                       .io = (cts_io_backend)db->opts.io,
                       .fsync = wal_policy(db->opts.fsync),
                       .interval_ms = db->opts.fsync_interval_ms,
                       .on_corrupt = db->opts.quarantine_wal ? CTS_WAL_CORRUPT_QUARANTINE
                                                             : CTS_WAL_CORRUPT_FAIL};
    snprintf(path, sizeof path, "%s/wal", db->dir);
    int rc = cts_wal_open(path, &wo, &db->wal);
    if (rc)
        return db_fail(db, rc, "%s: %s", path, cts_strerror(rc));
    rc = cts_wal_replay(db->wal, replay_record, db, NULL);
    if (rc && !db->errmsg[0])
        db_fail(db, rc, "%s", cts_wal_errmsg(db->wal));
    /* The segment names may not be durable: an open or rotation that
     * failed between a segment's rename and the sync of its directory
     * leaves a name a crash can undo, and this open appends to it. */
    if (rc == 0 && (rc = db->vfs->fsync_dir(db->vfs->ctx, path)) < 0)
        rc = db_fail(db, cts_err_from_errno(rc), "%s: directory fsync failed: %s", path,
                     strerror(-rc));
    cts_wal_stats ws;
    cts_wal_stats_get(db->wal, &ws);
    db->wal_bytes_at_ckpt = ws.bytes_written;
    return rc;
}

static int open_parts(cts_db *db)
{
    char path[4096];
    cts_catalog_options co = {.max_series = db->opts.max_series};
    int rc = make_dir(db->vfs, db->dir);
    if (rc)
        return db_fail(db, rc, "%s: cannot create the directory: %s", db->dir, cts_strerror(rc));
    snprintf(path, sizeof path, "%s/p", db->dir);
    if ((rc = make_dir(db->vfs, path)))
        return db_fail(db, rc, "%s: %s", path, cts_strerror(rc));
    if ((rc = cts_io_create(db->vfs, (cts_io_backend)db->opts.io, &db->io)))
        return db_fail(db, rc, "cannot set up I/O: %s", cts_strerror(rc));
    if ((rc = cts_catalog_create(&co, &db->cat)))
        return rc;
    if ((rc = cts_catalog_open(db->cat, db->vfs, db->dir, NULL)))
        return db_fail(db, rc, "%s", cts_catalog_errmsg(db->cat));
    return load_partitions(db);
}

/* After replay, every sealed block must belong to a series and a field of
 * its type that the catalog defines (definitions the catalog file had not
 * synced came back from the WAL). A block that does not would be invisible
 * to every query: a catalog that lost records (cut short, or an older
 * copy) is refused rather than hiding data. */
static int check_columns(cts_db *db)
{
    uint32_t nseries = cts_catalog_series_count(db->cat);
    for (size_t i = 0; i < db->col_slots; i++) {
        const column *c = db->cols[i];
        cts_type t = 0;
        if (!c || c->nblocks == 0)
            continue;
        if (c->series_id < nseries &&
            cts_catalog_field_get(db->cat, c->field_id, NULL, NULL, &t) == 0 && t == c->type)
            continue;
        const colblock *b = &c->blocks[0];
        return db_fail(db, CTS_ECORRUPT,
                       "%s/index: block at segment offset %llu (series %u, field %u, type %d) "
                       "is not defined by the catalog %s/catalog (%u series): damaged catalog",
                       b->p->dir, (unsigned long long)b->ref.offset, c->series_id, c->field_id,
                       (int)c->type, db->dir, nseries);
    }
    return 0;
}

int cts_db_open(const char *dir, const cts_db_opts *opts, cts_db **out)
{
    cts_db_opts defaults;
    int rc = CTS_EINVAL;
    cts_db *db = NULL;
    open_error[0] = 0;
    if (!opts) {
        cts_db_opts_init(&defaults);
        opts = &defaults;
    }
    if (out)
        *out = NULL;
    if (!dir || !out)
        goto fail;
    const char *bad = opts_problem(opts);
    if (bad) {
        snprintf(open_error, sizeof open_error, "bad options: %s", bad);
        return rc;
    }
    rc = CTS_ENOMEM;
    if (!(db = cts_calloc(1, sizeof *db)) || !(db->dir = cts_malloc(strlen(dir) + 1)))
        goto fail;
    strcpy(db->dir, dir);
    db->opts = *opts;
    db->vfs = opts->vfs ? opts->vfs : cts_vfs_posix();
    pthread_mutex_init(&db->write_mu, NULL);
    pthread_rwlock_init(&db->lock, NULL);
    if ((rc = open_parts(db)) || (rc = open_wal(db)) || (rc = check_columns(db)))
        goto fail;
    *out = db;
    return 0;
fail:
    snprintf(open_error, sizeof open_error, "%s",
             db && db->errmsg[0] ? db->errmsg : cts_strerror(rc));
    if (db)
        db->opts.read_only = true; /* close must not checkpoint a half-open database */
    cts_db_close(db);
    return rc;
}

int cts_db_close(cts_db *db)
{
    if (!db)
        return 0;
    int rc = 0;
    if (db->wal && db->cat && !db->opts.read_only && !db->poisoned)
        rc = cts_db_flush(db);
    int wrc = cts_wal_close(db->wal);
    if (rc == 0 && !db->opts.read_only && !db->poisoned)
        rc = wrc;
    cts_catalog_destroy(db->cat);
    cts_io_destroy(db->io);
    db_columns_free(db);
    cts_buf_fini(&db->payload);
    cts_buf_fini(&db->record);
    cts_free(db->pend);
    cts_free(db->blkbuf);
    if (db->dir) {
        pthread_mutex_destroy(&db->write_mu);
        pthread_rwlock_destroy(&db->lock);
    }
    cts_free(db->dir);
    cts_free(db);
    return rc;
}

const char *cts_db_errmsg(const cts_db *db)
{
    return db ? db->errmsg : "no database";
}

const char *cts_db_io_backend(const cts_db *db)
{
    return cts_io_backend_name(db->io);
}
