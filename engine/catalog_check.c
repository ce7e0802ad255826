/*
 * catalog_check.c: cts_catalog_check, the integrity validator. It re-derives
 * every index from the canonical keys and compares, so it catches a broken
 * invariant wherever it came from (a bug in a write path, a memory error):
 *
 *   - each series key decodes and the series table maps it back to its id;
 *   - each measurement, tag key, value and field is found by name in its
 *     own table, and the table counts equal the entry counts;
 *   - each postings list is strictly increasing, below nseries, and each id
 *     in it carries the tag (or measurement) the list stands for;
 *   - each series appears in its measurement's list and in the list of each
 *     of its tags, so the postings lengths add up;
 *   - each field belongs to the measurement that lists it.
 *
 * The writer runs it (it uses the writer's scratch space and errmsg); it
 * reads without the lock, as the writer may.
 */
#include "catalog_int.h"

#include <inttypes.h>
#include <string.h>

static bool ids_ok(const postings *p, uint32_t nseries)
{
    const uint32_t *ids = postings_ids(p);
    for (uint32_t i = 0; i < p->count; i++)
        if (ids[i] >= nseries || (i > 0 && ids[i - 1] >= ids[i]))
            return false;
    return true;
}

static bool str_eq(cts_str a, cts_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Decodes series id's key into the scratch tags. */
static int decode_series(cts_catalog *cat, uint32_t id, cts_str *m, size_t *ntags)
{
    size_t len;
    const uint8_t *key = cat_series_key(cat, id, &len);
    int rc = cat_key_decode(key, len, m, cat->scratch.tags, cat->scratch.tags_cap, ntags);
    if (rc == CTS_ENOSPACE) {
        if ((rc = cat_scratch_tags(cat, *ntags)))
            return rc;
        rc = cat_key_decode(key, len, m, cat->scratch.tags, cat->scratch.tags_cap, ntags);
    }
    if (rc == CTS_ECORRUPT)
        return cat_error(cat, rc, "series %" PRIu32 ": key does not decode", id);
    if (rc == CTS_OK && cat_series_lookup(cat, key, len, cat_hash(cat->seed, key, len)) != id)
        return cat_error(cat, CTS_ECORRUPT, "series %" PRIu32 ": key maps to another id", id);
    return rc;
}

/* Series id has tag (k, v) (k NULL: id belongs to measurement m). */
static int series_has(cts_catalog *cat, uint32_t id, cts_str m, const cts_str *k, cts_str v)
{
    cts_str sm;
    size_t n;
    int rc = decode_series(cat, id, &sm, &n);
    if (rc)
        return rc;
    bool ok = str_eq(sm, m);
    if (ok && k) {
        ok = false;
        for (size_t i = 0; i < n && !ok; i++)
            ok = str_eq(cat->scratch.tags[i].key, *k) && str_eq(cat->scratch.tags[i].value, v);
    }
    if (!ok)
        return cat_error(cat, CTS_ECORRUPT, "series %" PRIu32 " listed under \"%.*s\" lacks %s", id,
                         (int)(m.len > 100 ? 100 : m.len), m.ptr,
                         k ? "the tag of its list" : "that measurement");
    return CTS_OK;
}

static int check_postings(cts_catalog *cat, const postings *p, cts_str m, const cts_str *k,
                          cts_str v, uint64_t *total)
{
    if (!ids_ok(p, cat->nseries))
        return cat_error(cat, CTS_ECORRUPT,
                         "a postings list of \"%.*s\" is not sorted or "
                         "holds an unknown id",
                         (int)(m.len > 100 ? 100 : m.len), m.ptr);
    const uint32_t *ids = postings_ids(p);
    for (uint32_t i = 0; i < p->count; i++) {
        int rc = series_has(cat, ids[i], m, k, v);
        if (rc)
            return rc;
    }
    *total += p->count;
    return CTS_OK;
}

static int check_tagkey(cts_catalog *cat, const meas *m, const tagkey *tk, uint64_t *total)
{
    if (cat_tagkey_lookup(cat, m, tk->name.ptr, tk->name.len) != tk ||
        tk->values_map.count != tk->nvalues)
        return cat_error(cat, CTS_ECORRUPT, "tag key \"%.*s\" is not indexed",
                         (int)(tk->name.len > 100 ? 100 : tk->name.len), tk->name.ptr);
    for (uint32_t i = 0; i < tk->nvalues; i++) {
        const tagval *tv = &tk->values[i];
        size_t klen = 0;
        if (tv->sid < cat->nseries)
            cat_series_key(cat, tv->sid, &klen);
        if (tv->sid >= cat->nseries || (size_t)tv->off + tv->len > klen || tv->len == 0 ||
            tv->ids.count == 0)
            return cat_error(cat, CTS_ECORRUPT, "a value of tag key \"%.*s\" is out of range",
                             (int)(tk->name.len > 100 ? 100 : tk->name.len), tk->name.ptr);
        cts_str v = cat_value_str(cat, tv);
        if (cat_value_lookup(cat, tk, v.ptr, v.len) != i)
            return cat_error(cat, CTS_ECORRUPT, "a value of tag key \"%.*s\" is not indexed",
                             (int)(tk->name.len > 100 ? 100 : tk->name.len), tk->name.ptr);
        int rc = check_postings(cat, &tv->ids, m->name, &tk->name, v, total);
        if (rc)
            return rc;
    }
    return CTS_OK;
}

static int check_meas(cts_catalog *cat, const meas *m, uint32_t idx, uint64_t *in_meas,
                      uint64_t *in_tags)
{
    if (m->idx != idx || cat_meas_lookup(cat, m->name.ptr, m->name.len) != m ||
        m->keys_map.count != m->nkeys || m->fields_map.count != m->nfields)
        return cat_error(cat, CTS_ECORRUPT, "measurement %" PRIu32 " is not indexed", idx);
    int rc = check_postings(cat, &m->series, m->name, NULL, m->name, in_meas);
    for (uint32_t k = 0; rc == CTS_OK && k < m->nkeys; k++)
        rc = check_tagkey(cat, m, m->keys[k], in_tags);
    for (uint32_t f = 0; rc == CTS_OK && f < m->nfields; f++) {
        uint32_t fid = m->field_ids[f];
        if (fid >= cat->nfields || cat->fields[fid].meas_idx != idx ||
            cat_field_lookup(cat, m, cat->fields[fid].name.ptr, cat->fields[fid].name.len) != fid)
            rc =
                cat_error(cat, CTS_ECORRUPT, "field list of measurement %" PRIu32 " is wrong", idx);
    }
    return rc;
}

/* Every series decodes; returns the number of tags over all series. */
static int check_series(cts_catalog *cat, uint64_t *ntags_total)
{
    for (uint32_t id = 0; id < cat->nseries; id++) {
        cts_str m;
        size_t n;
        int rc = decode_series(cat, id, &m, &n);
        if (rc)
            return rc;
        *ntags_total += n;
    }
    return CTS_OK;
}

int cts_catalog_check(cts_catalog *cat)
{
    uint64_t ntags = 0, in_meas = 0, in_tags = 0, fields = 0;
    if (cat->series_map.count != cat->nseries || cat->meas_map.count != cat->nmeas)
        return cat_error(cat, CTS_ECORRUPT, "table counts disagree with entry counts");
    int rc = check_series(cat, &ntags);
    for (uint32_t i = 0; rc == CTS_OK && i < cat->nmeas; i++) {
        rc = check_meas(cat, cat->meas[i], i, &in_meas, &in_tags);
        fields += cat->meas[i]->nfields;
    }
    if (rc)
        return rc;
    /* Every listed id carries its tag (checked above); equal totals then
     * mean no series is missing from a list it belongs to. */
    if (in_meas != cat->nseries || in_tags != ntags || fields != cat->nfields)
        return cat_error(cat, CTS_ECORRUPT,
                         "index totals disagree: %" PRIu64 "/%" PRIu32 " series, %" PRIu64
                         "/%" PRIu64 " tags, %" PRIu64 "/%" PRIu32 " fields",
                         in_meas, cat->nseries, in_tags, ntags, fields, cat->nfields);
    return CTS_OK;
}
