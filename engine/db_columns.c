/*
 * db_columns.c: the database's in-memory tables: columns by (series, field)
 * in an open-addressing hash, each with its head and its list of sealed
 * blocks, and the partitions sorted by index. Callers hold db->lock
 * exclusively to change them and shared to read them.
 */
#include "db.h"

#include <stdio.h>

static uint64_t col_key(uint32_t series_id, uint32_t field_id)
{
    return ((uint64_t)series_id << 32) | field_id;
}

static size_t slot_of(uint64_t key, size_t slots)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 29)) & (slots - 1);
}

column *db_column_find(cts_db *db, uint32_t series_id, uint32_t field_id)
{
    if (!db->col_slots)
        return NULL;
    uint64_t k = col_key(series_id, field_id) + 1;
    for (size_t s = slot_of(k, db->col_slots);; s = (s + 1) & (db->col_slots - 1)) {
        if (db->col_keys[s] == k)
            return db->cols[s];
        if (db->col_keys[s] == 0)
            return NULL;
    }
}

static void place(uint64_t *keys, column **cols, size_t slots, uint64_t k, column *c)
{
    size_t s = slot_of(k, slots);
    while (keys[s])
        s = (s + 1) & (slots - 1);
    keys[s] = k;
    cols[s] = c;
}

static int grow(cts_db *db)
{
    size_t slots = db->col_slots ? db->col_slots * 2 : 1024;
    uint64_t *keys = cts_calloc(slots, sizeof *keys);
    column **cols = cts_calloc(slots, sizeof *cols);
    if (!keys || !cols) {
        cts_free(keys);
        cts_free(cols);
        return CTS_ENOMEM;
    }
    for (size_t i = 0; i < db->col_slots; i++)
        if (db->col_keys[i])
            place(keys, cols, slots, db->col_keys[i], db->cols[i]);
    cts_free(db->col_keys);
    cts_free(db->cols);
    db->col_keys = keys;
    db->cols = cols;
    db->col_slots = slots;
    return 0;
}

int db_column_get(cts_db *db, uint32_t series_id, uint32_t field_id, cts_type type, column **out)
{
    column *c = db_column_find(db, series_id, field_id);
    if (c) {
        *out = c;
        return c->type == type ? 0 : CTS_ECORRUPT;
    }
    if ((db->ncols + 1) * 4 > db->col_slots * 3 && grow(db))
        return CTS_ENOMEM;
    c = cts_calloc(1, sizeof *c);
    if (!c)
        return CTS_ENOMEM;
    c->series_id = series_id;
    c->field_id = field_id;
    c->type = type;
    if (cts_head_init(&c->head, type)) {
        cts_free(c);
        return CTS_EINVAL;
    }
    place(db->col_keys, db->cols, db->col_slots, col_key(series_id, field_id) + 1, c);
    db->ncols++;
    *out = c;
    return 0;
}

int db_column_add_block(column *c, part *p, const blockref *ref)
{
    if (c->nblocks == c->cap_blocks) {
        uint32_t cap = c->cap_blocks ? c->cap_blocks * 2 : 4;
        colblock *b = cts_realloc(c->blocks, cap * sizeof *b);
        if (!b)
            return CTS_ENOMEM;
        c->blocks = b;
        c->cap_blocks = cap;
    }
    c->blocks[c->nblocks].ref = *ref;
    c->blocks[c->nblocks].p = p;
    c->nblocks++;
    return 0;
}

void db_column_remove_block(column *c, uint32_t i)
{
    memmove(&c->blocks[i], &c->blocks[i + 1], (c->nblocks - i - 1) * sizeof *c->blocks);
    c->nblocks--;
}

void db_columns_free(cts_db *db)
{
    for (size_t i = 0; i < db->col_slots; i++) {
        column *c = db->cols[i];
        if (!c)
            continue;
        cts_head_fini(&c->head);
        cts_free(c->blocks);
        cts_free(c);
    }
    cts_free(db->cols);
    cts_free(db->col_keys);
    db->cols = NULL;
    db->col_keys = NULL;
    db->col_slots = db->ncols = 0;
    for (size_t i = 0; i < db->nparts; i++)
        part_unref(db->parts[i]);
    cts_free(db->parts);
    db->parts = NULL;
    db->nparts = 0;
}

/* ---- partitions ---- */

static size_t part_pos(cts_db *db, int64_t index)
{
    size_t lo = 0, hi = db->nparts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (db->parts[mid]->index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

part *db_part_find(cts_db *db, int64_t index)
{
    size_t i = part_pos(db, index);
    return i < db->nparts && db->parts[i]->index == index ? db->parts[i] : NULL;
}

int db_part_insert(cts_db *db, part *p)
{
    if (db->nparts == db->cap_parts) {
        size_t cap = db->cap_parts ? db->cap_parts * 2 : 16;
        part **np = cts_realloc(db->parts, cap * sizeof *np);
        if (!np)
            return CTS_ENOMEM;
        db->parts = np;
        db->cap_parts = cap;
    }
    size_t i = part_pos(db, p->index);
    memmove(&db->parts[i + 1], &db->parts[i], (db->nparts - i) * sizeof *db->parts);
    db->parts[i] = p;
    db->nparts++;
    return 0;
}

static int no_blocks(void *ctx, part *p, const blockref *b)
{
    (void)ctx;
    (void)p;
    (void)b;
    return CTS_ECORRUPT; /* a partition being created has no blocks */
}

int db_part_get(cts_db *db, int64_t index, part **out)
{
    part *p = db_part_find(db, index);
    if (p) {
        *out = p;
        return 0;
    }
    char root[4096];
    part_report rep = {0};
    snprintf(root, sizeof root, "%s/p", db->dir);
    int rc = part_open(db->vfs, root, index, db->opts.partition_ns, true, no_blocks, NULL, &p, &rep,
                       db->errmsg, sizeof db->errmsg);
    if (rc)
        return rc;
    if ((rc = db_part_insert(db, p))) {
        part_unref(p);
        return rc;
    }
    *out = p;
    return 0;
}
