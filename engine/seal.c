/*
 * seal.c: turning heads into sealed blocks, checkpoints, and rewriting
 * blocks for deletes.
 *
 * Sealing splits a head at partition boundaries and at block_points, encodes
 * each slice as one block, appends it to its partition's segment and queues
 * its index record. Nothing is fsynced here: the WAL still holds the points.
 * A checkpoint makes sealed data durable (segments, then indexes with a CKPT
 * record, then the catalog) and only then deletes WAL segments.
 *
 * A block rewritten by a delete keeps its seal seq, so that it keeps its
 * place in newest-wins precedence against blocks sealed after it.
 */
#include "db.h"

#include <stdio.h>

static int ensure_blkbuf(cts_db *db, size_t need)
{
    if (db->blkcap >= need)
        return 0;
    uint8_t *b = cts_realloc(db->blkbuf, need);
    if (!b)
        return CTS_ENOMEM;
    db->blkbuf = b;
    db->blkcap = need;
    return 0;
}

/* Encode in as one block of column c with seal seq `seq` into partition
 * `pidx`, and add it to the column. */
static int write_block(cts_db *db, column *c, int64_t pidx, const cts_block_input *in, uint64_t seq)
{
    part *p;
    blockref ref = {
        .series_id = c->series_id, .field_id = c->field_id, .seq = seq, .type = (uint8_t)c->type};
    int rc = ensure_blkbuf(db, cts_block_bound(in));
    if (rc)
        return rc;
    int len = cts_block_encode(in, db->blkbuf, db->blkcap, &ref.stats);
    if (len < 0)
        return len;
    char what[4200];
    if ((rc = db_part_get(db, pidx, &p))) {
        snprintf(what, sizeof what, "creating partition %s/p/%lld", db->dir, (long long)pidx);
        return db_poison(db, rc, what);
    }
    if ((rc = part_append(p, db->io, db->blkbuf, (uint32_t)len, &ref))) {
        snprintf(what, sizeof what, "appending a block to %s/segment", p->dir);
        return db_poison(db, rc, what);
    }
    return db_column_add_block(c, p, &ref);
}

/* End (exclusive) of the slice of h starting at i: same partition, at most
 * block_points points. */
static uint32_t slice_end(cts_db *db, const cts_head *h, uint32_t i)
{
    int64_t w = db->opts.partition_ns, pidx = part_index_of(h->ts[i], w), end;
    uint32_t j = h->count;
    if (!__builtin_mul_overflow(pidx + 1, w, &end))
        j = cts_head_lower_bound(h, end);
    if (j - i > db->opts.block_points)
        j = i + db->opts.block_points;
    return j;
}

int db_seal_column(cts_db *db, column *c)
{
    cts_head *h = &c->head;
    size_t before = cts_head_bytes(h);
    uint32_t i = 0;
    int rc = 0;
    while (i < h->count && rc == 0) {
        uint32_t j = slice_end(db, h, i);
        cts_block_input in;
        cts_head_input(h, i, j, &in);
        rc =
            write_block(db, c, part_index_of(h->ts[i], db->opts.partition_ns), &in, db->next_seq++);
        if (rc == 0)
            i = j;
    }
    cts_head_remove(h, 0, i);
    db->head_bytes -= before - cts_head_bytes(h);
    return rc;
}

int db_apply(cts_db *db, const pending *pv)
{
    column *c;
    int rc = db_column_get(db, pv->series_id, pv->field_id, pv->type, &c);
    if (rc)
        return rc;
    size_t before = cts_head_bytes(&c->head);
    if ((rc = cts_head_put(&c->head, pv->ts, &pv->v)))
        return rc;
    db->head_bytes += cts_head_bytes(&c->head) - before;
    if (cts_head_count(&c->head) >= db->opts.block_points)
        rc = db_seal_column(db, c);
    return rc;
}

static int seal_all(cts_db *db)
{
    int rc = 0;
    pthread_rwlock_wrlock(&db->lock);
    for (size_t i = 0; i < db->col_slots && rc == 0; i++)
        if (db->cols[i] && cts_head_count(&db->cols[i]->head))
            rc = db_seal_column(db, db->cols[i]);
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

int db_checkpoint(cts_db *db)
{
    cts_wal_stats ws;
    int rc;
    if (db->poisoned)
        return CTS_EPOISONED;
    cts_wal_stats_get(db->wal, &ws);
    if ((rc = seal_all(db))) {
        /* I/O failures poisoned with their own message; out of memory
         * leaves the unsealed rest in the heads, to be retried */
        if (!db->poisoned)
            db_fail(db, rc, "sealing heads into blocks: %s", cts_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < db->nparts; i++) {
        if ((rc = part_checkpoint(db->parts[i], db->io))) {
            char what[4200];
            snprintf(what, sizeof what, "checkpointing partition %s", db->parts[i]->dir);
            return db_poison(db, rc, what);
        }
    }
    if ((rc = cts_catalog_sync(db->cat))) {
        db_poison(db, rc, "syncing the catalog");
        return db_fail(db, rc, "syncing the catalog: %s; the database must be reopened",
                       cts_catalog_errmsg(db->cat));
    }
    if ((rc = cts_wal_rotate(db->wal))) {
        db_poison(db, rc, "rotating the WAL");
        return db_fail(db, rc, "rotating the WAL: %s; the database must be reopened",
                       cts_wal_errmsg(db->wal));
    }
    /* A failed removal must poison: cts_wal_remove_before forgets the
     * segments it meant to delete even when an unlink fails, so the next
     * checkpoint would delete later segments and leave these behind, and
     * the next open would find a gap in the log (CTS_ECORRUPT) or replay
     * stale points over newer ones. Poisoned, nothing is removed any more
     * and the next open replays the leftovers in order. */
    if ((rc = cts_wal_remove_before(db->wal, ws.last_seq + 1))) {
        db_poison(db, rc, "removing old WAL segments");
        return db_fail(db, rc, "removing old WAL segments: %s; the database must be reopened",
                       cts_wal_errmsg(db->wal));
    }
    cts_wal_stats_get(db->wal, &ws);
    db->wal_bytes_at_ckpt = ws.bytes_written;
    return 0;
}

/* Rewrite block i of c without its points in [t0, t1). */
static int rewrite_block(cts_db *db, column *c, uint32_t i, int64_t t0, int64_t t1)
{
    colblock b = c->blocks[i];
    cts_run run;
    cts_run_init(&run, c->type);
    int rc = part_load(b.p, &b.ref, &run, db->errmsg, sizeof db->errmsg);
    if (rc)
        goto done;
    uint32_t lo = cts_run_lower_bound(&run, t0), hi = cts_run_lower_bound(&run, t1);
    db_column_remove_block(c, i);
    cts_block_input in;
    int64_t pidx = b.p->index;
    if (lo > 0) {
        cts_run_input(&run, 0, lo, &in);
        if ((rc = write_block(db, c, pidx, &in, b.ref.seq)))
            goto done;
    }
    if (hi < run.count) {
        cts_run_input(&run, hi, run.count, &in);
        if ((rc = write_block(db, c, pidx, &in, b.ref.seq)))
            goto done;
    }
    if ((rc = part_remove(b.p, b.ref.seq, b.ref.offset)))
        rc = db_poison(db, rc, "recording a block removal");
done:
    cts_run_fini(&run);
    return rc;
}

int db_delete_column_range(cts_db *db, column *c, int64_t t0, int64_t t1)
{
    cts_head *h = &c->head;
    size_t before = cts_head_bytes(h);
    cts_head_remove(h, cts_head_lower_bound(h, t0), cts_head_lower_bound(h, t1));
    db->head_bytes -= before - cts_head_bytes(h);
    /* blocks added by rewrite_block go to the end: walk the originals only */
    uint32_t n = c->nblocks;
    for (uint32_t i = n; i-- > 0;) {
        const blockref *r = &c->blocks[i].ref;
        if (r->stats.min_ts >= t1 || r->stats.max_ts < t0)
            continue;
        int rc = rewrite_block(db, c, i, t0, t1);
        if (rc)
            return rc;
    }
    return 0;
}
