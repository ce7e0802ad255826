/*
 * catalog_read.c: everything a reader asks of the catalog (lookups, reverse
 * lookups, enumeration for SHOW statements and the planner, postings), plus
 * the memory accounting and the integrity check.
 *
 * Every reader call holds the read lock while it touches the structures and
 * copies what it returns: ids into fresh arrays, strings as pointers into
 * the arena, which never moves (catalog_int.h). Sorting happens after the
 * lock is released, so a slow SHOW does not hold up the writer longer than
 * the copy takes.
 */
#include "catalog_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Lock failures mean a broken caller (a reader inside a match callback that
 * re-enters, or a destroyed handle), never a condition to report. */
static void read_lock(cts_catalog *cat)
{
    if (pthread_rwlock_rdlock(&cat->lock) != 0)
        abort();
}

static void read_unlock(cts_catalog *cat)
{
    pthread_rwlock_unlock(&cat->lock);
}

uint32_t cts_catalog_series_count(cts_catalog *cat)
{
    read_lock(cat);
    uint32_t n = cat->nseries;
    read_unlock(cat);
    return n;
}

uint32_t cts_catalog_field_count(cts_catalog *cat)
{
    read_lock(cat);
    uint32_t n = cat->nfields;
    read_unlock(cat);
    return n;
}

/* ------------------------------------------------------------------------
 * Series
 * ------------------------------------------------------------------------ */

#define FIND_STACK_TAGS 64
#define FIND_STACK_KEY 1024

int cts_catalog_series_find(cts_catalog *cat, cts_str measurement, const cts_tag *tags,
                            uint32_t ntags, uint32_t *id)
{
    cts_tag stack_tags[FIND_STACK_TAGS];
    uint8_t stack_key[FIND_STACK_KEY];
    cts_tag *sorted = stack_tags;
    uint8_t *key = stack_key;
    size_t len = 0;
    int rc = CTS_OK;
    if (!cat || !id || (ntags && !tags))
        return CTS_EINVAL;
    if (ntags > FIND_STACK_TAGS && !(sorted = cts_malloc(ntags * sizeof *sorted)))
        return CTS_ENOMEM;
    if ((rc = cat_canon_prepare(NULL, measurement, tags, ntags, sorted, &len)))
        goto cleanup;
    if (len > FIND_STACK_KEY && !(key = cts_malloc(len))) {
        rc = CTS_ENOMEM;
        goto cleanup;
    }
    cat_key_write(key, measurement, sorted, ntags);
    uint64_t h = cat_hash(cat->seed, key, len);
    read_lock(cat);
    uint32_t found = cat_series_lookup(cat, key, len, h);
    read_unlock(cat);
    if (found == CAT_NONE)
        rc = CTS_ENOTFOUND;
    else
        *id = found;
cleanup:
    if (sorted != stack_tags)
        cts_free(sorted);
    if (key != stack_key)
        cts_free(key);
    return rc;
}

int cts_catalog_series_key(cts_catalog *cat, uint32_t id, const uint8_t **key, size_t *key_len)
{
    const uint8_t *k = NULL;
    read_lock(cat);
    if (id < cat->nseries)
        k = cat_series_key(cat, id, key_len);
    read_unlock(cat);
    if (!k)
        return CTS_ENOTFOUND;
    /* The key lives in the arena: safe to read after the lock. */
    *key = k;
    return CTS_OK;
}

int cts_catalog_series_get(cts_catalog *cat, uint32_t id, cts_str *measurement, cts_tag *tags,
                           size_t tags_cap, size_t *ntags)
{
    const uint8_t *key;
    size_t len;
    int rc = cts_catalog_series_key(cat, id, &key, &len);
    if (rc)
        return rc;
    cts_str m;
    size_t n = 0;
    rc = cat_key_decode(key, len, &m, tags_cap ? tags : NULL, tags_cap, &n);
    *ntags = n;
    if (rc == CTS_OK && measurement)
        *measurement = m;
    return rc;
}

int cts_catalog_series_text(cts_catalog *cat, uint32_t id, char *dst, size_t dst_cap)
{
    const uint8_t *key;
    size_t len;
    int rc = cts_catalog_series_key(cat, id, &key, &len);
    if (rc)
        return rc;
    return cat_key_text(key, len, dst, dst_cap);
}

/* ------------------------------------------------------------------------
 * Fields
 * ------------------------------------------------------------------------ */

int cts_catalog_field_find(cts_catalog *cat, cts_str measurement, cts_str name, uint32_t *id,
                           cts_type *type)
{
    int rc = CTS_ENOTFOUND;
    read_lock(cat);
    const meas *m = cat_meas_lookup(cat, measurement.ptr, measurement.len);
    uint32_t fid = m ? cat_field_lookup(cat, m, name.ptr, name.len) : CAT_NONE;
    if (fid != CAT_NONE) {
        if (id)
            *id = fid;
        if (type)
            *type = cat->fields[fid].type;
        rc = CTS_OK;
    }
    read_unlock(cat);
    return rc;
}

int cts_catalog_field_get(cts_catalog *cat, uint32_t id, cts_str *measurement, cts_str *name,
                          cts_type *type)
{
    int rc = CTS_ENOTFOUND;
    read_lock(cat);
    if (id < cat->nfields) {
        const field *f = &cat->fields[id];
        if (measurement)
            *measurement = cat->meas[f->meas_idx]->name;
        if (name)
            *name = f->name;
        if (type)
            *type = f->type;
        rc = CTS_OK;
    }
    read_unlock(cat);
    return rc;
}

/* ------------------------------------------------------------------------
 * Enumeration
 * ------------------------------------------------------------------------ */

static int str_cmp(const void *x, const void *y)
{
    const cts_str *a = x, *b = y;
    return cat_bytes_cmp((const uint8_t *)a->ptr, a->len, (const uint8_t *)b->ptr, b->len);
}

static int field_info_cmp(const void *x, const void *y)
{
    const cts_field_info *a = x, *b = y;
    return str_cmp(&a->name, &b->name);
}

static int id_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Allocates n elements for an enumeration result; NULL for n == 0. */
static int result_alloc(size_t n, size_t elem, void **out)
{
    *out = NULL;
    if (n == 0)
        return CTS_OK;
    if (n > SIZE_MAX / elem || !(*out = cts_malloc(n * elem)))
        return CTS_ENOMEM;
    return CTS_OK;
}

int cts_catalog_measurements(cts_catalog *cat, cts_str **out, size_t *count)
{
    void *buf;
    read_lock(cat);
    size_t n = cat->nmeas;
    int rc = result_alloc(n, sizeof(cts_str), &buf);
    cts_str *names = buf;
    for (size_t i = 0; rc == CTS_OK && i < n; i++)
        names[i] = cat->meas[i]->name;
    read_unlock(cat);
    if (rc)
        n = 0;
    else if (n > 1)
        qsort(names, n, sizeof *names, str_cmp);
    *out = names;
    *count = n;
    return rc;
}

int cts_catalog_tag_keys(cts_catalog *cat, cts_str measurement, cts_str **out, size_t *count)
{
    void *buf = NULL;
    size_t n = 0;
    int rc = CTS_OK;
    read_lock(cat);
    const meas *m = cat_meas_lookup(cat, measurement.ptr, measurement.len);
    if (m && (rc = result_alloc(m->nkeys, sizeof(cts_str), &buf)) == CTS_OK) {
        n = m->nkeys;
        for (size_t i = 0; i < n; i++)
            ((cts_str *)buf)[i] = m->keys[i]->name;
    }
    read_unlock(cat);
    if (n > 1)
        qsort(buf, n, sizeof(cts_str), str_cmp);
    *out = buf;
    *count = n;
    return rc;
}

/* The tag key (measurement, key), or NULL; caller holds the read lock. */
static const tagkey *find_tagkey(const cts_catalog *cat, cts_str measurement, cts_str key)
{
    const meas *m = cat_meas_lookup(cat, measurement.ptr, measurement.len);
    return m ? cat_tagkey_lookup(cat, m, key.ptr, key.len) : NULL;
}

int cts_catalog_tag_values(cts_catalog *cat, cts_str measurement, cts_str key, cts_str **out,
                           size_t *count)
{
    void *buf = NULL;
    size_t n = 0;
    int rc = CTS_OK;
    read_lock(cat);
    const tagkey *tk = find_tagkey(cat, measurement, key);
    if (tk && (rc = result_alloc(tk->nvalues, sizeof(cts_str), &buf)) == CTS_OK) {
        n = tk->nvalues;
        for (size_t i = 0; i < n; i++)
            ((cts_str *)buf)[i] = cat_value_str(cat, &tk->values[i]);
    }
    read_unlock(cat);
    if (n > 1)
        qsort(buf, n, sizeof(cts_str), str_cmp);
    *out = buf;
    *count = n;
    return rc;
}

int cts_catalog_field_keys(cts_catalog *cat, cts_str measurement, cts_field_info **out,
                           size_t *count)
{
    void *buf = NULL;
    size_t n = 0;
    int rc = CTS_OK;
    read_lock(cat);
    const meas *m = cat_meas_lookup(cat, measurement.ptr, measurement.len);
    if (m && (rc = result_alloc(m->nfields, sizeof(cts_field_info), &buf)) == CTS_OK) {
        n = m->nfields;
        for (size_t i = 0; i < n; i++) {
            const field *f = &cat->fields[m->field_ids[i]];
            ((cts_field_info *)buf)[i] = (cts_field_info){f->name, f->type, m->field_ids[i]};
        }
    }
    read_unlock(cat);
    if (n > 1)
        qsort(buf, n, sizeof(cts_field_info), field_info_cmp);
    *out = buf;
    *count = n;
    return rc;
}

/* Copies a postings list; caller holds the read lock. */
static int copy_postings(const postings *p, uint32_t **out, size_t *count)
{
    void *buf;
    int rc = result_alloc(p->count, sizeof(uint32_t), &buf);
    if (rc == CTS_OK && p->count)
        memcpy(buf, postings_ids(p), p->count * sizeof(uint32_t));
    *out = buf;
    *count = rc == CTS_OK ? p->count : 0;
    return rc;
}

int cts_catalog_measurement_series(cts_catalog *cat, cts_str measurement, uint32_t **out,
                                   size_t *count)
{
    int rc = CTS_OK;
    *out = NULL;
    *count = 0;
    read_lock(cat);
    const meas *m = cat_meas_lookup(cat, measurement.ptr, measurement.len);
    if (m)
        rc = copy_postings(&m->series, out, count);
    read_unlock(cat);
    return rc;
}

int cts_catalog_postings(cts_catalog *cat, cts_str measurement, cts_str key, cts_str value,
                         uint32_t **out, size_t *count)
{
    int rc = CTS_OK;
    *out = NULL;
    *count = 0;
    read_lock(cat);
    const tagkey *tk = find_tagkey(cat, measurement, key);
    uint32_t v = tk ? cat_value_lookup(cat, tk, value.ptr, value.len) : CAT_NONE;
    if (v != CAT_NONE)
        rc = copy_postings(&tk->values[v].ids, out, count);
    read_unlock(cat);
    return rc;
}

/* Concatenates the postings of the values picked[0..n) of tk. */
static int gather_postings(const tagkey *tk, const uint32_t *picked, size_t n, uint32_t **out,
                           size_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += tk->values[picked[i]].ids.count;
    void *buf;
    int rc = result_alloc(total, sizeof(uint32_t), &buf);
    if (rc)
        return rc;
    uint32_t *ids = buf;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const postings *p = &tk->values[picked[i]].ids;
        memcpy(ids + k, postings_ids(p), p->count * sizeof *ids);
        k += p->count;
    }
    *out = ids;
    *count = total;
    return CTS_OK;
}

int cts_catalog_postings_matching(cts_catalog *cat, cts_str measurement, cts_str key,
                                  bool (*match)(void *arg, const char *value, size_t len),
                                  void *arg, uint32_t **out, size_t *count)
{
    void *picked = NULL;
    size_t npicked = 0;
    int rc = CTS_OK;
    *out = NULL;
    *count = 0;
    read_lock(cat);
    const tagkey *tk = find_tagkey(cat, measurement, key);
    if (tk && (rc = result_alloc(tk->nvalues, sizeof(uint32_t), &picked)) == CTS_OK) {
        for (uint32_t i = 0; i < tk->nvalues; i++) {
            cts_str v = cat_value_str(cat, &tk->values[i]);
            if (match(arg, v.ptr, v.len))
                ((uint32_t *)picked)[npicked++] = i;
        }
        rc = gather_postings(tk, picked, npicked, out, count);
    }
    read_unlock(cat);
    cts_free(picked);
    /* Each series has one value per key, so the lists are disjoint: sorting
     * their concatenation is their union. */
    if (*count > 1)
        qsort(*out, *count, sizeof **out, id_cmp);
    return rc;
}

/* ------------------------------------------------------------------------
 * Accounting
 * ------------------------------------------------------------------------ */

static size_t map_bytes(const strmap *m)
{
    return m->slots ? ((size_t)m->mask + 1) * sizeof *m->slots : 0;
}

static size_t postings_bytes(const postings *p)
{
    return (size_t)p->cap * sizeof(uint32_t);
}

static size_t meas_bytes(const meas *m)
{
    size_t n = sizeof *m + postings_bytes(&m->series) + map_bytes(&m->keys_map) +
               map_bytes(&m->fields_map) + (size_t)m->keys_cap * sizeof *m->keys +
               (size_t)m->fields_cap * sizeof *m->field_ids;
    for (uint32_t k = 0; k < m->nkeys; k++) {
        const tagkey *tk = m->keys[k];
        n += sizeof *tk + map_bytes(&tk->values_map) + (size_t)tk->values_cap * sizeof(tagval);
        for (uint32_t v = 0; v < tk->nvalues; v++)
            n += postings_bytes(&tk->values[v].ids);
    }
    return n;
}

size_t cts_catalog_memory_bytes(cts_catalog *cat)
{
    read_lock(cat);
    size_t n = sizeof *cat + map_bytes(&cat->series_map) + map_bytes(&cat->meas_map) +
               (size_t)cat->series_cap * sizeof *cat->series +
               (size_t)cat->meas_cap * sizeof *cat->meas +
               (size_t)cat->fields_cap * sizeof *cat->fields;
    n += cat->arena.bytes + (size_t)cat->arena.chunks_cap * sizeof *cat->arena.chunks;
    for (uint32_t i = 0; i < cat->nmeas; i++)
        n += meas_bytes(cat->meas[i]);
    read_unlock(cat);
    return n;
}
