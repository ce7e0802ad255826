/*
 * db_admin.c: deletes, retention, verification and statistics.
 *
 * A delete is logged in the WAL like a write (so replay repeats it in
 * order) and synced whatever the fsync policy, then applied to heads and
 * blocks, then checkpointed at once: a block rewrite replaces durable data,
 * so the record that explains it must be durable before the rewrite is, and
 * stay until the rewrite is.
 */
#include "db.h"

#include <stdio.h>

int db_apply_delete(cts_db *db, cts_str m, const uint32_t *ids, size_t n, int64_t t0, int64_t t1);

int db_apply_delete(cts_db *db, cts_str m, const uint32_t *ids, size_t n, int64_t t0, int64_t t1)
{
    cts_field_info *f = NULL;
    size_t nf = 0;
    int rc = cts_catalog_field_keys(db->cat, m, &f, &nf);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&db->lock);
    for (size_t i = 0; i < n && rc == 0; i++) {
        for (size_t k = 0; k < nf && rc == 0; k++) {
            column *c = db_column_find(db, ids[i], f[k].id);
            if (c)
                rc = db_delete_column_range(db, c, t0, t1);
        }
    }
    pthread_rwlock_unlock(&db->lock);
    cts_free(f);
    return rc;
}

/* Series of m matching every predicate: intersect the postings. */
static int select_series(cts_db *db, cts_str m, const cts_tag_eq *where, size_t n_where,
                         cts_idlist **out)
{
    int rc = cts_db_series_ids(db, m.ptr, NULL, NULL, out);
    for (size_t i = 0; i < n_where && rc == 0; i++) {
        cts_idlist *p;
        if ((rc = cts_db_series_ids(db, m.ptr, where[i].key, where[i].val, &p)))
            break;
        size_t k = 0, j = 0, w = 0;
        while (k < (*out)->count && j < p->count) {
            uint32_t a = (*out)->ids[k], b = p->ids[j];
            if (a == b)
                (*out)->ids[w++] = a;
            k += a <= b;
            j += b <= a;
        }
        (*out)->count = w;
        cts_free(p);
    }
    return rc;
}

/* Delete [t0, t1) of series ids[0..n) of measurement m; under write_mu. */
static int delete_ids(cts_db *db, cts_str ms, const uint32_t *ids, size_t n, int64_t t0, int64_t t1)
{
    uint64_t seq = 0;
    int rc = 0;
    db->payload.len = 0;
    /* framed like every WAL record: replay unframes each one */
    if ((rc = pl_put_delete(&db->payload, ms, ids, n, t0, t1)) == 0 &&
        (rc = pl_frame(&db->payload, &db->record)) == 0 &&
        (rc = cts_wal_append(db->wal, db->record.p, db->record.len, &seq)) && rc != CTS_ENOMEM)
        db_poison(db, rc, "appending a delete to the WAL");
    /* Log before data: the rewrites below replace blocks that earlier
     * checkpoints made durable, and the checkpoint makes them durable
     * one partition at a time. With the record durable first, a failure
     * or crash in between is completed by replay; without it the delete
     * could survive in some partitions only (and, from a torn index
     * tail, resurrect an older value of a deleted point). */
    if (rc == 0 && (rc = cts_wal_sync(db->wal))) {
        db_poison(db, rc, "syncing a delete to the WAL");
        db_fail(db, rc, "syncing a delete to the WAL: %s; the database must be reopened",
                cts_wal_errmsg(db->wal));
    }
    if (rc == 0 && (rc = db_apply_delete(db, ms, ids, n, t0, t1)) && !db->poisoned) {
        /* applied in part (out of memory too): memory no longer
         * matches the files and the WAL */
        db_fail(db, rc, "applying a delete: %s; the database must be reopened", cts_strerror(rc));
        db->poisoned = true;
    }
    if (rc == 0)
        rc = db_checkpoint(db);
    return rc;
}

int64_t cts_db_delete(cts_db *db, const char *m, const cts_tag_eq *where, size_t n_where,
                      int64_t t0, int64_t t1)
{
    cts_idlist *ids = NULL;
    if (!db || !m || (n_where && !where))
        return CTS_EINVAL;
    cts_str ms = {m, (uint32_t)strlen(m)};
    pthread_mutex_lock(&db->write_mu);
    int rc = db->poisoned ? CTS_EPOISONED : db->opts.read_only ? CTS_EINVAL : 0;
    if (rc == 0)
        rc = select_series(db, ms, where, n_where, &ids);
    if (rc == 0 && ids->count && t0 < t1)
        rc = delete_ids(db, ms, ids->ids, ids->count, t0, t1);
    if (rc == CTS_ENOMEM && !db->poisoned)
        db_fail(db, rc, "deleting from %s: out of memory; the delete may be retried", m);
    pthread_mutex_unlock(&db->write_mu);
    int64_t touched = rc == 0 && ids ? (int64_t)ids->count : rc;
    cts_free(ids);
    return touched;
}

int cts_db_delete_series(cts_db *db, const char *m, const uint32_t *ids, size_t n, int64_t t0,
                         int64_t t1)
{
    if (!db || !m || (n && !ids))
        return CTS_EINVAL;
    cts_str ms = {m, (uint32_t)strlen(m)};
    pthread_mutex_lock(&db->write_mu);
    int rc = db->poisoned ? CTS_EPOISONED : db->opts.read_only ? CTS_EINVAL : 0;
    if (rc == 0 && n && t0 < t1)
        rc = delete_ids(db, ms, ids, n, t0, t1);
    if (rc == CTS_ENOMEM && !db->poisoned)
        db_fail(db, rc, "deleting from %s: out of memory; the delete may be retried", m);
    pthread_mutex_unlock(&db->write_mu);
    return rc;
}

/* Forget every block of partition p in every column, and head points in
 * its time range. Caller holds lock exclusively. */
static void forget_partition(cts_db *db, part *p)
{
    int64_t w = db->opts.partition_ns, t0 = 0, t1 = 0;
    bool bounded =
        !__builtin_mul_overflow(p->index, w, &t0) && !__builtin_mul_overflow(p->index + 1, w, &t1);
    for (size_t i = 0; i < db->col_slots; i++) {
        column *c = db->cols[i];
        if (!c)
            continue;
        for (uint32_t k = c->nblocks; k-- > 0;)
            if (c->blocks[k].p == p)
                db_column_remove_block(c, k);
        if (bounded) {
            size_t before = cts_head_bytes(&c->head);
            cts_head_remove(&c->head, cts_head_lower_bound(&c->head, t0),
                            cts_head_lower_bound(&c->head, t1));
            db->head_bytes -= before - cts_head_bytes(&c->head);
        }
    }
}

int cts_db_enforce_retention(cts_db *db, int64_t now_ns)
{
    if (!db)
        return CTS_EINVAL;
    if (db->opts.retention_ns == 0 || db->opts.read_only)
        return 0;
    int64_t w = db->opts.partition_ns, cutoff;
    if (__builtin_sub_overflow(now_ns, db->opts.retention_ns, &cutoff))
        return 0;
    pthread_mutex_lock(&db->write_mu);
    int rc = db->poisoned ? CTS_EPOISONED : db_checkpoint(db), dropped = 0;
    while (rc == 0 && db->nparts) {
        part *p = db->parts[0];
        int64_t end;
        if (__builtin_mul_overflow(p->index + 1, w, &end) || end > cutoff)
            break;
        pthread_rwlock_wrlock(&db->lock);
        forget_partition(db, p);
        memmove(db->parts, db->parts + 1, (db->nparts - 1) * sizeof *db->parts);
        db->nparts--;
        pthread_rwlock_unlock(&db->lock);
        /* A failed drop leaves files that memory no longer knows (a later
         * write to that time range would trip over them), so it poisons
         * like any failed write; the next open finishes or undoes the drop.
         * The message is made before part_unref, which may free p. */
        if ((rc = part_drop(p))) {
            char what[4200];
            snprintf(what, sizeof what, "dropping partition %s", p->dir);
            db_poison(db, rc, what);
        }
        part_unref(p);
        dropped++;
    }
    pthread_mutex_unlock(&db->write_mu);
    return rc ? rc : dropped;
}

/* ---- verification ---- */

static void verify_note(cts_verify_report *rep, const char *msg)
{
    if (rep->errors++ == 0)
        snprintf(rep->first_error, sizeof rep->first_error, "%s", msg);
}

static void verify_column(column *c, cts_verify_report *rep)
{
    char msg[512];
    for (uint32_t k = 0; k < c->nblocks; k++) {
        cts_run run;
        cts_run_init(&run, c->type);
        int rc = part_load(c->blocks[k].p, &c->blocks[k].ref, &run, msg, sizeof msg);
        rep->blocks_checked++;
        if (rc == 0 && (run.count != c->blocks[k].ref.stats.count ||
                        run.ts[0] != c->blocks[k].ref.stats.min_ts)) {
            snprintf(msg, sizeof msg,
                     "%s/index: block at offset %llu disagrees with its index entry",
                     c->blocks[k].p->dir, (unsigned long long)c->blocks[k].ref.offset);
            rc = CTS_ECORRUPT;
        }
        if (rc)
            verify_note(rep, msg);
        cts_run_fini(&run);
    }
}

int cts_db_verify(cts_db *db, cts_verify_report *rep)
{
    cts_verify_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    pthread_mutex_lock(&db->write_mu);
    if (cts_catalog_check(db->cat))
        verify_note(rep, cts_catalog_errmsg(db->cat));
    rep->files_checked = 1 + 2 * db->nparts;
    pthread_rwlock_rdlock(&db->lock);
    for (size_t i = 0; i < db->col_slots; i++)
        if (db->cols[i])
            verify_column(db->cols[i], rep);
    pthread_rwlock_unlock(&db->lock);
    pthread_mutex_unlock(&db->write_mu);
    return rep->errors ? CTS_ECORRUPT : 0;
}

void cts_db_get_stats(cts_db *db, cts_db_stats *st)
{
    cts_wal_stats ws;
    memset(st, 0, sizeof *st);
    st->series = cts_catalog_series_count(db->cat);
    pthread_rwlock_rdlock(&db->lock);
    st->columns = db->ncols;
    st->partitions = db->nparts;
    for (size_t i = 0; i < db->col_slots; i++) {
        column *c = db->cols[i];
        if (!c)
            continue;
        st->blocks += c->nblocks;
        st->head_points += cts_head_count(&c->head);
        for (uint32_t k = 0; k < c->nblocks; k++) {
            st->points_sealed += c->blocks[k].ref.stats.count;
            st->bytes_sealed += c->blocks[k].ref.len;
        }
    }
    st->head_bytes = db->head_bytes;
    pthread_rwlock_unlock(&db->lock);
    cts_wal_stats_get(db->wal, &ws);
    st->wal_bytes = ws.bytes_written;
}

/* tail_min_ts and lead_max_ts (see cts_column_info) once min/max are known. */
static void edge_windows(const column *c, cts_column_info *ci)
{
    uint32_t hn = cts_head_count(&c->head);
    ci->tail_min_ts = ci->max_ts;
    ci->lead_max_ts = ci->min_ts;
    for (uint32_t k = 0; k < c->nblocks; k++) {
        const cts_stats *st = &c->blocks[k].ref.stats;
        if (st->max_ts == ci->max_ts && st->min_ts < ci->tail_min_ts)
            ci->tail_min_ts = st->min_ts;
        if (st->min_ts == ci->min_ts && st->max_ts > ci->lead_max_ts)
            ci->lead_max_ts = st->max_ts;
    }
    if (hn && c->head.ts[hn - 1] == ci->max_ts && c->head.ts[0] < ci->tail_min_ts)
        ci->tail_min_ts = c->head.ts[0];
    if (hn && c->head.ts[0] == ci->min_ts && c->head.ts[hn - 1] > ci->lead_max_ts)
        ci->lead_max_ts = c->head.ts[hn - 1];
}

static void column_info(const column *c, cts_column_info *ci)
{
    memset(ci, 0, sizeof *ci);
    ci->series_id = c->series_id;
    ci->field_id = c->field_id;
    ci->type = c->type;
    ci->blocks = c->nblocks;
    ci->head_points = cts_head_count(&c->head);
    bool any = false;
    for (uint32_t k = 0; k < c->nblocks; k++) {
        const blockref *r = &c->blocks[k].ref;
        ci->points_sealed += r->stats.count;
        ci->bytes_sealed += r->len;
        ci->min_ts = !any || r->stats.min_ts < ci->min_ts ? r->stats.min_ts : ci->min_ts;
        ci->max_ts = !any || r->stats.max_ts > ci->max_ts ? r->stats.max_ts : ci->max_ts;
        any = true;
    }
    if (ci->head_points) {
        int64_t lo = c->head.ts[0], hi = c->head.ts[ci->head_points - 1];
        ci->min_ts = !any || lo < ci->min_ts ? lo : ci->min_ts;
        ci->max_ts = !any || hi > ci->max_ts ? hi : ci->max_ts;
    }
    edge_windows(c, ci);
}

int cts_db_columns(cts_db *db, int (*fn)(void *ctx, const cts_column_info *ci), void *ctx)
{
    int rc = 0;
    cts_column_info ci;
    pthread_rwlock_rdlock(&db->lock);
    for (size_t i = 0; i < db->col_slots && rc == 0; i++) {
        if (!db->cols[i])
            continue;
        column_info(db->cols[i], &ci);
        rc = fn(ctx, &ci);
    }
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

int cts_db_column_info(cts_db *db, uint32_t series_id, uint32_t field_id, cts_column_info *ci)
{
    pthread_rwlock_rdlock(&db->lock);
    const column *c = db_column_find(db, series_id, field_id);
    if (c)
        column_info(c, ci);
    pthread_rwlock_unlock(&db->lock);
    return c ? 0 : CTS_ENOTFOUND;
}

static int copy_cstr(cts_str s, char *dst, size_t cap)
{
    if (s.len + 1 > cap)
        return CTS_ENOSPACE;
    memcpy(dst, s.ptr, s.len);
    dst[s.len] = 0;
    return 0;
}

int cts_db_field_info(cts_db *db, uint32_t field_id, char *m, size_t m_cap, char *name,
                      size_t name_cap, cts_type *type)
{
    cts_str ms, ns;
    int rc = cts_catalog_field_get(db->cat, field_id, &ms, &ns, type);
    if (rc == 0)
        rc = copy_cstr(ms, m, m_cap);
    if (rc == 0)
        rc = copy_cstr(ns, name, name_cap);
    return rc;
}
