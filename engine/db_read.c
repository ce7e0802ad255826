/*
 * db_read.c: the read side: snapshot cursors over one column, and catalog
 * listings copied out for the caller.
 *
 * A cursor's snapshot is taken under the shared lock: the column's block
 * list (each partition pinned, so a retention drop cannot close its file
 * under us) and a copy of the head's points in range. Everything after that
 * (reading and decoding blocks, merging) runs without any lock.
 */
#include "db.h"

#include <stdio.h>

struct cts_cursor {
    cts_db *db;
    cts_merge *merge;
    colblock *blocks; /* pinned snapshot of the column's blocks */
    cts_srcblock *src;
    size_t n;
    cts_type type;
    char errmsg[512];
};

static int load_block(void *ctx, const cts_srcblock *b, cts_run *out)
{
    cts_cursor *cur = ctx;
    const colblock *cb = b->handle;
    return part_load(cb->p, &cb->ref, out, cur->errmsg, sizeof cur->errmsg);
}

/* Under the shared lock: copy the blocks overlapping [t0, t1) and the head
 * range. */
static int snapshot(cts_cursor *cur, column *c, int64_t t0, int64_t t1, cts_run *head)
{
    cur->blocks = cts_malloc((c->nblocks + 1) * sizeof *cur->blocks);
    cur->src = cts_malloc((c->nblocks + 1) * sizeof *cur->src);
    if (!cur->blocks || !cur->src)
        return CTS_ENOMEM;
    for (uint32_t i = 0; i < c->nblocks; i++) {
        const blockref *r = &c->blocks[i].ref;
        if (r->stats.max_ts < t0 || r->stats.min_ts >= t1)
            continue;
        cur->blocks[cur->n] = c->blocks[i];
        part_ref(c->blocks[i].p);
        cur->n++;
    }
    return cts_head_copy(&c->head, t0, t1, head);
}

static void describe_sources(cts_cursor *cur)
{
    for (size_t i = 0; i < cur->n; i++) {
        const blockref *r = &cur->blocks[i].ref;
        cur->src[i] = (cts_srcblock){.min_ts = r->stats.min_ts,
                                     .max_ts = r->stats.max_ts,
                                     .count = r->stats.count,
                                     .seq = r->seq,
                                     .stats = &r->stats,
                                     .handle = &cur->blocks[i]};
    }
}

int cts_cursor_open(cts_db *db, uint32_t series_id, uint32_t field_id, int64_t t0, int64_t t1,
                    bool want_stats, cts_cursor **out)
{
    cts_run head;
    int rc = CTS_ENOMEM;
    *out = NULL;
    cts_cursor *cur = cts_calloc(1, sizeof *cur);
    if (!cur)
        return rc;
    cur->db = db;
    pthread_rwlock_rdlock(&db->lock);
    column *c = db_column_find(db, series_id, field_id);
    if (c) {
        cur->type = c->type;
        cts_run_init(&head, c->type);
        rc = snapshot(cur, c, t0, t1, &head);
    } else {
        rc = CTS_ENOTFOUND;
    }
    pthread_rwlock_unlock(&db->lock);
    if (rc == 0) {
        describe_sources(cur);
        rc = cts_merge_create(cur->type, cur->src, cur->n, &head, t0, t1, want_stats, load_block,
                              cur, &cur->merge);
    }
    if (c)
        cts_run_fini(&head);
    if (rc) {
        cts_cursor_close(cur);
        return rc;
    }
    *out = cur;
    return 0;
}

int cts_cursor_next(cts_cursor *cur, cts_chunk *chunk)
{
    return cts_merge_next(cur->merge, chunk);
}

int cts_cursor_load(cts_cursor *cur, cts_chunk *chunk)
{
    return cts_merge_load(cur->merge, chunk);
}

cts_type cts_cursor_type(const cts_cursor *cur)
{
    return cur->type;
}

const char *cts_cursor_errmsg(const cts_cursor *cur)
{
    return cur->errmsg;
}

void cts_cursor_close(cts_cursor *cur)
{
    if (!cur)
        return;
    cts_merge_destroy(cur->merge);
    for (size_t i = 0; i < cur->n; i++)
        part_unref(cur->blocks[i].p);
    cts_free(cur->blocks);
    cts_free(cur->src);
    cts_free(cur);
}

/* ---- catalog listings ---- */

static cts_str cstr(const char *s)
{
    return (cts_str){s ? s : "", s ? (uint32_t)strlen(s) : 0};
}

/* Copy n borrowed strings into one allocation: a cts_strlist, its items,
 * then the bytes. */
int db_strlist_copy(const cts_str *in, size_t n, cts_strlist **out)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += in[i].len + 1;
    cts_strlist *l = cts_malloc(sizeof *l + n * sizeof(cts_str) + bytes);
    if (!l)
        return CTS_ENOMEM;
    l->count = n;
    l->items = (cts_str *)(l + 1);
    char *p = (char *)(l->items + n);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, in[i].ptr, in[i].len);
        p[in[i].len] = 0;
        l->items[i] = (cts_str){p, in[i].len};
        p += in[i].len + 1;
    }
    *out = l;
    return 0;
}

static int finish_strlist(int rc, cts_str *items, size_t n, cts_strlist **out)
{
    if (rc == 0)
        rc = db_strlist_copy(items, n, out);
    cts_free(items);
    return rc;
}

int cts_db_measurements(cts_db *db, cts_strlist **out)
{
    cts_str *items = NULL;
    size_t n = 0;
    /* the call must come first: argument evaluation order is unspecified,
     * and items and n are its outputs (gcc read them first: every listing
     * came out empty and the catalog's array leaked) */
    int rc = cts_catalog_measurements(db->cat, &items, &n);
    return finish_strlist(rc, items, n, out);
}

int cts_db_tag_keys(cts_db *db, const char *m, cts_strlist **out)
{
    cts_str *items = NULL;
    size_t n = 0;
    int rc = cts_catalog_tag_keys(db->cat, cstr(m), &items, &n); /* first: as above */
    return finish_strlist(rc, items, n, out);
}

int cts_db_tag_values(cts_db *db, const char *m, const char *key, cts_strlist **out)
{
    cts_str *items = NULL;
    size_t n = 0;
    int rc = cts_catalog_tag_values(db->cat, cstr(m), cstr(key), &items, &n);
    return finish_strlist(rc, items, n, out);
}

int cts_db_field_keys(cts_db *db, const char *m, cts_fieldlist **out)
{
    cts_field_info *f = NULL;
    size_t n = 0, bytes = 0;
    int rc = cts_catalog_field_keys(db->cat, cstr(m), &f, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        bytes += f[i].name.len + 1;
    cts_fieldlist *l = cts_malloc(sizeof *l + n * sizeof(cts_fieldinfo) + bytes);
    if (!l) {
        cts_free(f);
        return CTS_ENOMEM;
    }
    l->count = n;
    l->items = (cts_fieldinfo *)(l + 1);
    char *p = (char *)(l->items + n);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, f[i].name.ptr, f[i].name.len);
        p[f[i].name.len] = 0;
        l->items[i] = (cts_fieldinfo){{p, f[i].name.len}, f[i].id, f[i].type};
        p += f[i].name.len + 1;
    }
    cts_free(f);
    *out = l;
    return 0;
}

int cts_db_series_ids(cts_db *db, const char *m, const char *key, const char *val, cts_idlist **out)
{
    uint32_t *ids = NULL;
    size_t n = 0;
    int rc = key ? cts_catalog_postings(db->cat, cstr(m), cstr(key), cstr(val), &ids, &n)
                 : cts_catalog_measurement_series(db->cat, cstr(m), &ids, &n);
    if (rc)
        return rc;
    cts_idlist *l = cts_malloc(sizeof *l + n * sizeof(uint32_t));
    if (!l) {
        cts_free(ids);
        return CTS_ENOMEM;
    }
    l->count = n;
    l->ids = (uint32_t *)(l + 1);
    if (n)
        memcpy(l->ids, ids, n * sizeof(uint32_t));
    cts_free(ids);
    *out = l;
    return 0;
}

int cts_db_series_key(cts_db *db, uint32_t series_id, char *dst, size_t cap)
{
    if (cap == 0)
        return CTS_ENOSPACE;
    int rc = cts_catalog_series_text(db->cat, series_id, dst, cap - 1);
    if (rc >= 0)
        dst[rc] = 0;
    return rc;
}

int cts_db_series_tags(cts_db *db, uint32_t series_id, cts_str *measurement, cts_tag *tags,
                       size_t tags_cap, size_t *ntags)
{
    return cts_catalog_series_get(db->cat, series_id, measurement, tags, tags_cap, ntags);
}

int cts_db_series_tag(cts_db *db, uint32_t series_id, const char *key, char *dst, size_t cap)
{
    cts_str m;
    cts_tag tags[256];
    size_t n;
    int rc = cts_catalog_series_get(db->cat, series_id, &m, tags, 256, &n);
    if (rc)
        return rc;
    cts_str k = cstr(key);
    for (size_t i = 0; i < n; i++) {
        if (tags[i].key.len != k.len || memcmp(tags[i].key.ptr, k.ptr, k.len) != 0)
            continue;
        if (tags[i].value.len + 1 > cap)
            return CTS_ENOSPACE;
        memcpy(dst, tags[i].value.ptr, tags[i].value.len);
        dst[tags[i].value.len] = 0;
        return (int)tags[i].value.len;
    }
    if (cap)
        dst[0] = 0;
    return 0;
}
