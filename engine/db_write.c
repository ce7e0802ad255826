/*
 * db_write.c: the write path. A batch is resolved against the catalog
 * (series and fields, rejecting points one by one), encoded as one WAL
 * payload, appended to the WAL, applied to the column heads, and
 * acknowledged once the WAL record is durable under the fsync policy. See
 * db.h for the locks.
 *
 * Nothing is applied to the heads before the WAL append succeeded, so a
 * failed append leaves no trace but catalog entries (harmless: a series
 * without points). Readers may see a batch before it is durable; it is
 * acknowledged to the writer only after.
 */
#include "db.h"

#include <stdarg.h>
#include <stdio.h>

int db_fail(cts_db *db, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->errmsg, sizeof db->errmsg, fmt, ap);
    va_end(ap);
    return rc;
}

int db_poison(cts_db *db, int rc, const char *what)
{
    if (rc == CTS_ENOMEM)
        return db_fail(db, rc, "%s: out of memory", what);
    db->poisoned = true;
    return db_fail(db, rc, "%s: %s; the database must be reopened", what, cts_strerror(rc));
}

/* A failed WAL append or sync: poison, and keep the WAL's own account of
 * it (which file, offset and errno) in the message. */
static int poison_wal(cts_db *db, int rc, const char *what)
{
    const char *detail = cts_wal_errmsg(db->wal); /* frozen once the WAL is poisoned */
    db_poison(db, rc, what);
    if (detail[0] && rc != CTS_ENOMEM)
        db_fail(db, rc, "%s: %s; the database must be reopened", what, detail);
    return rc;
}

static int reserve_pending(cts_db *db, size_t more)
{
    if (db->cap_pend - db->npend >= more)
        return 0;
    size_t cap = db->cap_pend ? db->cap_pend : 1024;
    while (cap - db->npend < more)
        cap *= 2;
    pending *p = cts_realloc(db->pend, cap * sizeof *p);
    if (!p)
        return CTS_ENOMEM;
    db->pend = p;
    db->cap_pend = cap;
    return 0;
}

static void reject(cts_write_result *res, size_t i, const char *msg)
{
    if (res->first_rejected < 0) {
        res->first_rejected = (int64_t)i;
        snprintf(res->msg, sizeof res->msg, "%s", msg);
    }
    res->points_rejected++;
}

/* Resolve one field: its id and stored type, promoting an integer written
 * to a float field. Returns 0, CTS_ETYPE (msg filled) or another error. */
static int resolve_field(cts_db *db, cts_str m, const cts_field *f, pending *pv, char *msg,
                         size_t cap)
{
    cts_type existing, t = f->type;
    bool is_new = false;
    pv->v.u = f->v.u;
    if (t == CTS_TYPE_STRING)
        pv->v.s = f->v.s;
    int rc = cts_catalog_field_intern(db->cat, m, f->key, t, &pv->field_id, &existing, &is_new);
    /* an integer for a float field is promoted; the conflict changed nothing, so retry */
    if (rc == CTS_ETYPE && t == CTS_TYPE_INT && existing == CTS_TYPE_FLOAT) {
        t = CTS_TYPE_FLOAT;
        pv->v.f = (double)f->v.i;
        rc = cts_catalog_field_intern(db->cat, m, f->key, t, &pv->field_id, &existing, &is_new);
    }
    if (rc == CTS_ETYPE)
        snprintf(msg, cap, "field type conflict: \"%.*s\" on measurement \"%.*s\" is %s, got %s",
                 (int)f->key.len, f->key.ptr, (int)m.len, m.ptr, cts_type_name(existing),
                 cts_type_name(t));
    else if (rc)
        snprintf(msg, cap, "%s", cts_catalog_errmsg(db->cat));
    if (rc == 0 && is_new)
        rc = pl_put_field(&db->payload, pv->field_id, m, f->key, t);
    pv->type = t;
    return rc;
}

/* Resolve point i into db->pend and the payload; returns 0, or a
 * rejection code (the point is then rejected), or a fatal error. */
static int resolve_point(cts_db *db, const cts_point *pt, int64_t *prev_ts, char *msg, size_t cap,
                         bool *new_series)
{
    uint32_t sid;
    int rc;
    if (pt->nfields == 0)
        return snprintf(msg, cap, "missing fields"), CTS_EINVAL;
    rc = cts_catalog_series_intern(db->cat, pt->measurement, pt->tags, pt->ntags, &sid, new_series);
    if (rc) {
        snprintf(msg, cap, "%s", cts_catalog_errmsg(db->cat));
        return rc;
    }
    if (*new_series &&
        (rc = pl_put_series(&db->payload, sid, pt->measurement, pt->tags, pt->ntags)))
        return rc;
    if ((rc = reserve_pending(db, pt->nfields)))
        return rc;
    size_t mark = db->npend;
    for (uint32_t k = 0; k < pt->nfields; k++) {
        pending *pv = &db->pend[db->npend];
        pv->series_id = sid;
        pv->ts = pt->ts_ns;
        if ((rc = resolve_field(db, pt->measurement, &pt->fields[k], pv, msg, cap))) {
            db->npend = mark;
            return rc;
        }
        db->npend++;
    }
    if ((rc = pl_put_point(&db->payload, sid, pt->ts_ns, prev_ts, pt->nfields)))
        return rc;
    for (size_t k = mark; k < db->npend; k++)
        if ((rc = pl_put_value(&db->payload, db->pend[k].field_id, db->pend[k].type,
                               &db->pend[k].v)))
            return rc;
    return 0;
}

static bool is_rejection(int rc)
{
    return rc == CTS_ETYPE || rc == CTS_EINVAL || rc == CTS_ELIMIT;
}

static int resolve_batch(cts_db *db, const cts_point *pts, size_t n, cts_write_result *res,
                         int *first_reject)
{
    int64_t prev_ts = 0;
    char msg[256];
    for (size_t i = 0; i < n; i++) {
        bool new_series = false;
        int rc = resolve_point(db, &pts[i], &prev_ts, msg, sizeof msg, &new_series);
        res->series_created += new_series;
        if (rc && !is_rejection(rc))
            return rc;
        if (rc) {
            /* definitions already in the payload stay: the catalog has them */
            reject(res, i, msg);
            if (!*first_reject)
                *first_reject = rc;
            continue;
        }
        res->points_written++;
        res->values_written += pts[i].nfields;
    }
    return 0;
}

static int apply_pending(cts_db *db)
{
    int rc = 0;
    pthread_rwlock_wrlock(&db->lock);
    for (size_t i = 0; i < db->npend && rc == 0; i++)
        rc = db_apply(db, &db->pend[i]);
    pthread_rwlock_unlock(&db->lock);
    if (rc && !db->poisoned) {
        /* logged but applied in part: memory no longer matches the WAL,
         * whatever the error (out of memory too), and a checkpoint would
         * make the part durable and drop the record */
        db_fail(db, rc, "applying a batch to memory: %s; the database must be reopened",
                cts_strerror(rc));
        db->poisoned = true;
    }
    return rc;
}

/* A batch that failed before its WAL record was appended may have created
 * series and fields: they are in the catalog but in no record, later
 * batches take them as known and never log them, and a crash before the
 * next checkpoint would lose those batches' points (replayed under ids
 * nothing defines). Make the catalog durable now; if that fails too,
 * poison. */
static void keep_definitions(cts_db *db, int rc)
{
    int src = cts_catalog_sync(db->cat);
    if (src) {
        db_fail(db, src,
                "saving the catalog after a failed write: %s; the database must be "
                "reopened",
                cts_catalog_errmsg(db->cat));
        db->poisoned = true;
    } else if (rc == CTS_ENOMEM) {
        db_fail(db, rc, "writing a batch: out of memory; nothing of it was written");
    }
}

static bool needs_checkpoint(cts_db *db)
{
    cts_wal_stats ws;
    cts_wal_stats_get(db->wal, &ws);
    return db->head_bytes > db->opts.memory_budget_bytes ||
           ws.bytes_written - db->wal_bytes_at_ckpt > db->opts.wal_checkpoint_bytes;
}

int cts_db_write(cts_db *db, const cts_point *pts, size_t n, cts_write_result *res)
{
    cts_write_result local;
    uint64_t seq = 0;
    int first_reject = 0, rc;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    res->first_rejected = -1;
    if (!db || (n && !pts))
        return CTS_EINVAL;
    pthread_mutex_lock(&db->write_mu);
    db->payload.len = 0;
    db->npend = 0;
    if (db->opts.read_only)
        rc = db_fail(db, CTS_EINVAL, "database opened read-only");
    else if (db->poisoned)
        rc = CTS_EPOISONED;
    else if ((rc = resolve_batch(db, pts, n, res, &first_reject)) == 0 && db->payload.len &&
             (rc = pl_frame(&db->payload, &db->record)) == 0 &&
             (rc = cts_wal_append(db->wal, db->record.p, db->record.len, &seq)) &&
             (rc == CTS_EIO || rc == CTS_ENOSPC))
        poison_wal(db, rc, "appending to the WAL");
    /* (only I/O errors poison here: read-only, a batch too large for one
     * record or out of memory leave the handle usable) */
    if (rc && !db->poisoned)
        keep_definitions(db, rc);
    if (rc == 0 && db->npend)
        rc = apply_pending(db);
    if (rc == 0 && needs_checkpoint(db))
        rc = db_checkpoint(db);
    pthread_mutex_unlock(&db->write_mu);
    if (rc == 0 && seq && (rc = cts_wal_wait_durable(db->wal, seq))) {
        /* poisoned and errmsg belong to the writers: take write_mu (other
         * writers, and a checkpoint, may be running); the first failure's
         * message stays */
        pthread_mutex_lock(&db->write_mu);
        if (!db->poisoned)
            poison_wal(db, rc, "syncing the WAL");
        pthread_mutex_unlock(&db->write_mu);
    }
    if (rc) {
        res->points_written = res->values_written = 0;
        return rc;
    }
    return first_reject;
}

int cts_db_flush(cts_db *db)
{
    if (!db)
        return CTS_EINVAL;
    if (db->opts.read_only)
        return 0;
    pthread_mutex_lock(&db->write_mu);
    int rc = db_checkpoint(db);
    pthread_mutex_unlock(&db->write_mu);
    return rc;
}
