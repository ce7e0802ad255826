/*
 * exec_meta.c: the statements that are not SELECT: SHOW (databases,
 * measurements, tag keys and values, field keys, series, retention
 * policies), CREATE and DROP DATABASE, DROP MEASUREMENT, DROP SERIES and
 * DELETE. Result shapes (series names and columns) are InfluxDB 1.x's.
 *
 * The catalog never forgets a series, so a series whose points were all
 * deleted is still in it; SHOW lists only series that hold points, which
 * is what InfluxDB shows after a DELETE or DROP.
 */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small result helpers ---- */

typedef struct strv {
    cts_str *v;
    size_t n, cap;
} strv;

static int strv_push(q_ctx *ctx, strv *s, cts_str x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        cts_str *g = q_arena_alloc(ctx->arena, cap * sizeof *g);
        if (!g)
            return q_fail(ctx, CTS_ENOMEM, "out of memory");
        if (s->n)
            memcpy(g, s->v, s->n * sizeof *g);
        s->v = g;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    const cts_str *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->ptr, y->ptr, n) : 0;
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void strv_sort_unique(strv *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++)
        if (w == 0 || cmp_str(&s->v[w - 1], &s->v[i]) != 0)
            s->v[w++] = s->v[i];
    s->n = w;
}

/* Emit a series of string rows: `ncols` columns, rows of ncols strings
 * (and bool/ints given as qvals by the caller elsewhere), with OFFSET and
 * LIMIT applied. Nothing is emitted when no row is left. */
static int emit_strings(q_ctx *ctx, cts_str name, const char *const *cols, size_t ncols,
                        const cts_str *cells, size_t nrows, const q_meta *mt)
{
    size_t first = mt && mt->offset > 0 ? (size_t)mt->offset : 0;
    size_t last = nrows;
    if (mt && mt->limit > 0 && first + (size_t)mt->limit < last)
        last = first + (size_t)mt->limit;
    if (first >= last)
        return 0;
    cts_str cn[8];
    for (size_t c = 0; c < ncols; c++)
        cn[c] = (cts_str){cols[c], (uint32_t)strlen(cols[c])};
    cts_qseries s = {.name = name, .ncolumns = ncols, .columns = cn};
    int rc = q_emit_begin(ctx, &s);
    for (size_t r = first; rc == 0 && r < last; r++) {
        cts_qval v[8];
        for (size_t c = 0; c < ncols; c++)
            v[c] = (cts_qval){.type = CTS_Q_STRING, .v.s = cells[r * ncols + c]};
        rc = q_emit_row(ctx, v);
    }
    return rc ? rc : q_emit_end(ctx);
}

static cts_str cs(const char *s)
{
    return (cts_str){s, (uint32_t)strlen(s)};
}

/* ---- which series hold points ---- */

typedef struct liveset {
    uint8_t *bits;
    uint32_t n; /* ids below n */
} liveset;

static int live_count(void *arg, const cts_column_info *ci)
{
    liveset *l = arg;
    if (ci->series_id >= l->n)
        l->n = ci->series_id + 1;
    return 0;
}

static int live_mark(void *arg, const cts_column_info *ci)
{
    liveset *l = arg;
    if (ci->series_id < l->n && ci->points_sealed + ci->head_points > 0)
        l->bits[ci->series_id >> 3] |= (uint8_t)(1u << (ci->series_id & 7));
    return 0;
}

static int live_build(q_ctx *ctx, cts_db *db, liveset *l)
{
    l->n = 0;
    (void)cts_db_columns(db, live_count, l);
    l->n += 1024; /* series created meanwhile read as dead: harmless */
    l->bits = q_arena_alloc(ctx->arena, l->n / 8 + 1);
    if (!l->bits)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    memset(l->bits, 0, l->n / 8 + 1);
    (void)cts_db_columns(db, live_mark, l);
    return 0;
}

static bool live(const liveset *l, uint32_t id)
{
    return id < l->n && (l->bits[id >> 3] >> (id & 7)) & 1;
}

/* ---- the measurements a SHOW addresses ---- */

typedef struct target {
    cts_db *db;
    strv ms;    /* measurements, sorted */
    liveset lv; /* series with points */
} target;

static int match_source(q_ctx *ctx, const q_source *src, cts_str m, bool *hit)
{
    if (!src->is_regex) {
        *hit = cmp_str(&src->name, &m) == 0;
        return 0;
    }
    q_regex *re;
    int rc = q_regex_compile(ctx, src->name, &re);
    *hit = rc == 0 && q_regex_match(re, m.ptr, m.len);
    return rc;
}

static int target_open(q_ctx *ctx, const q_meta *mt, target *t)
{
    memset(t, 0, sizeof *t);
    cts_str dbname = mt->on_db;
    if (!dbname.ptr && mt->nfrom && mt->from[0].db.ptr)
        dbname = mt->from[0].db;
    int rc = q_stmt_db(ctx, dbname, &t->db);
    if (rc)
        return rc;
    cts_strlist *all = NULL;
    if ((rc = cts_db_measurements(t->db, &all)))
        return q_fail(ctx, rc, "listing measurements: %s", cts_strerror(rc));
    for (size_t i = 0; rc == 0 && i < all->count; i++) {
        bool hit = mt->nfrom == 0;
        for (uint32_t f = 0; rc == 0 && !hit && f < mt->nfrom; f++)
            rc = match_source(ctx, &mt->from[f], all->items[i], &hit);
        cts_str m =
            hit ? q_arena_strdup(ctx->arena, all->items[i].ptr, all->items[i].len) : (cts_str){0};
        if (rc == 0 && hit)
            rc = m.ptr ? strv_push(ctx, &t->ms, m) : q_fail(ctx, CTS_ENOMEM, "out of memory");
    }
    cts_free(all);
    return rc ? rc : live_build(ctx, t->db, &t->lv);
}

static void target_close(q_ctx *ctx, target *t)
{
    cts_dbset_release(ctx->dbs, t->db);
}

/* The live series of m that satisfy the statement's WHERE (tags only). */
static int meta_series(q_ctx *ctx, const target *t, const q_meta *mt, cts_str m, uint32_t **ids,
                       uint32_t *n)
{
    q_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.db = t->db;
    plan.measurement = m;
    q_cexpr *tag = NULL, *field = NULL;
    int64_t tmin, tmax;
    bool smin, smax;
    int rc = q_plan_load_schema(ctx, t->db, m, &plan);
    if (rc == 0)
        rc = q_where_time(ctx, mt->where, &tmin, &tmax, &smin, &smax);
    if (rc == 0)
        rc = q_where_split(ctx, mt->where, &plan, &tag, &field);
    if (rc == 0 && field)
        return q_fail(ctx, CTS_EINVAL,
                      "fields not supported in WHERE clause during deletion or "
                      "SHOW: use tags");
    if (rc == 0)
        rc = q_select_series(ctx, t->db, m, tag, ids, n);
    uint32_t w = 0;
    for (uint32_t i = 0; rc == 0 && i < *n; i++)
        if (live(&t->lv, (*ids)[i]))
            (*ids)[w++] = (*ids)[i];
    if (rc == 0)
        *n = w;
    return rc;
}

/* ---- SHOW ---- */

static int show_databases(q_ctx *ctx, const q_meta *mt)
{
    cts_strlist *l = NULL;
    int rc = cts_dbset_list(ctx->dbs, &l);
    if (rc)
        return q_fail(ctx, rc, "listing databases: %s", cts_dbset_errmsg());
    static const char *const cols[] = {"name"};
    rc = emit_strings(ctx, cs("databases"), cols, 1, l->items, l->count, mt);
    cts_free(l);
    return rc;
}

static int show_measurements(q_ctx *ctx, const q_meta *mt)
{
    target t;
    strv out = {0};
    q_regex *re = NULL;
    int rc = target_open(ctx, mt, &t);
    if (rc == 0 && mt->regex.ptr)
        rc = q_regex_compile(ctx, mt->regex, &re);
    for (size_t i = 0; rc == 0 && i < t.ms.n; i++) {
        cts_str m = t.ms.v[i];
        if (re && !q_regex_match(re, m.ptr, m.len))
            continue;
        if (!re && mt->nkeys && cmp_str(&mt->keys[0], &m) != 0)
            continue;
        uint32_t *ids, n;
        if ((rc = meta_series(ctx, &t, mt, m, &ids, &n)) == 0 && n)
            rc = strv_push(ctx, &out, m);
    }
    static const char *const cols[] = {"name"};
    if (rc == 0)
        rc = emit_strings(ctx, cs("measurements"), cols, 1, out.v, out.n, mt);
    if (t.db)
        target_close(ctx, &t);
    return rc;
}

static int series_tags(q_ctx *ctx, cts_db *db, uint32_t id, const cts_tag **tags, size_t *n)
{
    cts_str m;
    cts_tag one[1];
    int rc = cts_db_series_tags(db, id, &m, one, 0, n);
    cts_tag *t = q_arena_alloc(ctx->arena, (*n + 1) * sizeof *t);
    if (!t)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    if (rc == 0 || rc == CTS_ENOSPACE)
        rc = cts_db_series_tags(db, id, &m, t, *n, n);
    *tags = t;
    return rc ? q_fail(ctx, rc, "reading series %u: %s", id, cts_strerror(rc)) : 0;
}

static int show_tag_keys(q_ctx *ctx, const q_meta *mt)
{
    target t;
    int rc = target_open(ctx, mt, &t);
    for (size_t i = 0; rc == 0 && i < t.ms.n; i++) {
        uint32_t *ids, n;
        strv keys = {0};
        rc = meta_series(ctx, &t, mt, t.ms.v[i], &ids, &n);
        for (uint32_t s = 0; rc == 0 && s < n; s++) {
            const cts_tag *tags;
            size_t nt;
            rc = series_tags(ctx, t.db, ids[s], &tags, &nt);
            for (size_t k = 0; rc == 0 && k < nt; k++)
                rc = strv_push(ctx, &keys, tags[k].key);
        }
        strv_sort_unique(&keys);
        static const char *const cols[] = {"tagKey"};
        if (rc == 0)
            rc = emit_strings(ctx, t.ms.v[i], cols, 1, keys.v, keys.n, mt);
    }
    if (t.db)
        target_close(ctx, &t);
    return rc;
}

static bool key_wanted(q_ctx *ctx, const q_meta *mt, cts_str key, q_regex **re)
{
    switch (mt->with_op) {
    case Q_WITH_KEY_EQ:
        return cmp_str(&mt->keys[0], &key) == 0;
    case Q_WITH_KEY_NEQ:
        return cmp_str(&mt->keys[0], &key) != 0;
    case Q_WITH_KEY_IN:
        for (uint32_t i = 0; i < mt->nkeys; i++)
            if (cmp_str(&mt->keys[i], &key) == 0)
                return true;
        return false;
    case Q_WITH_KEY_REGEX:
    case Q_WITH_KEY_NREGEX:
        if (!*re && q_regex_compile(ctx, mt->regex, re))
            return false;
        return q_regex_match(*re, key.ptr, key.len) == (mt->with_op == Q_WITH_KEY_REGEX);
    }
    return false;
}

static int cmp_pair(const void *a, const void *b)
{
    const cts_str *x = a, *y = b;
    int c = cmp_str(&x[0], &y[0]);
    return c ? c : cmp_str(&x[1], &y[1]);
}

static int show_tag_values(q_ctx *ctx, const q_meta *mt)
{
    target t;
    q_regex *re = NULL;
    int rc = target_open(ctx, mt, &t);
    for (size_t i = 0; rc == 0 && i < t.ms.n; i++) {
        uint32_t *ids, n;
        strv kv = {0}; /* key, value pairs */
        rc = meta_series(ctx, &t, mt, t.ms.v[i], &ids, &n);
        for (uint32_t s = 0; rc == 0 && s < n; s++) {
            const cts_tag *tags;
            size_t nt;
            rc = series_tags(ctx, t.db, ids[s], &tags, &nt);
            for (size_t k = 0; rc == 0 && k < nt; k++)
                if (key_wanted(ctx, mt, tags[k].key, &re) &&
                    (rc = strv_push(ctx, &kv, tags[k].key)) == 0)
                    rc = strv_push(ctx, &kv, tags[k].value);
        }
        if (rc)
            break;
        if (kv.n > 2)
            qsort(kv.v, kv.n / 2, 2 * sizeof(cts_str), cmp_pair);
        size_t w = 0;
        for (size_t p = 0; p < kv.n / 2; p++)
            if (w == 0 || cmp_pair(&kv.v[2 * (w - 1)], &kv.v[2 * p]) != 0) {
                kv.v[2 * w] = kv.v[2 * p];
                kv.v[2 * w + 1] = kv.v[2 * p + 1];
                w++;
            }
        static const char *const cols[] = {"key", "value"};
        rc = emit_strings(ctx, t.ms.v[i], cols, 2, kv.v, w, mt);
    }
    if (t.db)
        target_close(ctx, &t);
    return rc;
}

static int show_field_keys(q_ctx *ctx, const q_meta *mt)
{
    target t;
    int rc = target_open(ctx, mt, &t);
    for (size_t i = 0; rc == 0 && i < t.ms.n; i++) {
        cts_fieldlist *f = NULL;
        if ((rc = cts_db_field_keys(t.db, t.ms.v[i].ptr, &f)) == CTS_ENOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc) {
            rc = q_fail(ctx, rc, "listing fields: %s", cts_strerror(rc));
            break;
        }
        cts_str *cells = q_arena_alloc(ctx->arena, (2 * f->count + 1) * sizeof *cells);
        for (size_t k = 0; cells && k < f->count; k++) {
            cells[2 * k] = q_arena_strdup(ctx->arena, f->items[k].name.ptr, f->items[k].name.len);
            cells[2 * k + 1] = cs(cts_type_name(f->items[k].type));
        }
        size_t n = f->count;
        cts_free(f);
        static const char *const cols[] = {"fieldKey", "fieldType"};
        rc = cells ? emit_strings(ctx, t.ms.v[i], cols, 2, cells, n, mt)
                   : q_fail(ctx, CTS_ENOMEM, "out of memory");
    }
    if (t.db)
        target_close(ctx, &t);
    return rc;
}

static int show_series(q_ctx *ctx, const q_meta *mt)
{
    target t;
    strv keys = {0};
    int rc = target_open(ctx, mt, &t);
    for (size_t i = 0; rc == 0 && i < t.ms.n; i++) {
        uint32_t *ids, n;
        rc = meta_series(ctx, &t, mt, t.ms.v[i], &ids, &n);
        for (uint32_t s = 0; rc == 0 && s < n; s++) {
            char buf[4096];
            int len = cts_db_series_key(t.db, ids[s], buf, sizeof buf);
            if (len < 0)
                continue;
            cts_str k = q_arena_strdup(ctx->arena, buf, (size_t)len);
            rc = k.ptr ? strv_push(ctx, &keys, k) : q_fail(ctx, CTS_ENOMEM, "out of memory");
        }
    }
    strv_sort_unique(&keys);
    static const char *const cols[] = {"key"};
    if (rc == 0)
        rc = emit_strings(ctx, (cts_str){"", 0}, cols, 1, keys.v, keys.n, mt);
    if (t.db)
        target_close(ctx, &t);
    return rc;
}

static int show_retention(q_ctx *ctx, const q_meta *mt)
{
    cts_db *db;
    int rc = q_stmt_db(ctx, mt->on_db, &db);
    if (rc)
        return rc;
    cts_dbset_release(ctx->dbs, db);
    cts_str cn[5] = {cs("name"), cs("duration"), cs("shardGroupDuration"), cs("replicaN"),
                     cs("default")};
    cts_qseries s = {.ncolumns = 5, .columns = cn};
    cts_qval row[5] = {{.type = CTS_Q_STRING, .v.s = cs("autogen")},
                       {.type = CTS_Q_STRING, .v.s = cs("0s")},
                       {.type = CTS_Q_STRING, .v.s = cs("24h0m0s")},
                       {.type = CTS_Q_INT, .v.i = 1},
                       {.type = CTS_Q_BOOL, .v.b = true}};
    rc = q_emit_begin(ctx, &s);
    if (rc == 0)
        rc = q_emit_row(ctx, row);
    return rc ? rc : q_emit_end(ctx);
}

/* ---- writes: CREATE, DROP, DELETE ---- */

static int need_writable(q_ctx *ctx, const char *what)
{
    if (ctx->opts->read_only)
        return q_fail(ctx, CTS_EINVAL, "%s is not allowed in a read-only query (use POST)", what);
    return 0;
}

static int create_database(q_ctx *ctx, const q_meta *mt)
{
    int rc = need_writable(ctx, "CREATE DATABASE");
    if (rc == 0 && (rc = cts_dbset_create(ctx->dbs, mt->on_db.ptr)))
        return q_fail(ctx, rc, "%s", cts_dbset_errmsg());
    return rc;
}

static int drop_database(q_ctx *ctx, const q_meta *mt)
{
    int rc = need_writable(ctx, "DROP DATABASE");
    if (rc == 0 && (rc = cts_dbset_drop(ctx->dbs, mt->on_db.ptr)) == CTS_ENOTFOUND)
        rc = 0; /* InfluxDB: dropping a database that does not exist succeeds */
    if (rc)
        return q_fail(ctx, rc, "%s", cts_dbset_errmsg());
    return 0;
}

/* DROP MEASUREMENT, DROP SERIES, DELETE: the matching series of each
 * measurement lose their points in the time range. */
static int delete_points(q_ctx *ctx, const q_stmt *st)
{
    const q_meta *mt = &st->u.meta;
    const char *what = st->kind == Q_DELETE        ? "DELETE"
                       : st->kind == Q_DROP_SERIES ? "DROP SERIES"
                                                   : "DROP MEASUREMENT";
    target t;
    int64_t tmin = Q_NS_MIN, tmax = Q_NS_MAX;
    bool smin, smax;
    int rc = need_writable(ctx, what);
    if (rc == 0 && st->kind != Q_DELETE && mt->where &&
        (rc = q_where_time(ctx, mt->where, &tmin, &tmax, &smin, &smax)) == 0 && (smin || smax))
        return q_fail(ctx, CTS_EINVAL, "%s doesn't support time in WHERE clause", what);
    if (rc == 0 && st->kind == Q_DELETE)
        rc = q_where_time(ctx, mt->where, &tmin, &tmax, &smin, &smax);
    if (rc == 0)
        rc = target_open(ctx, mt, &t);
    if (rc)
        return rc;
    int64_t t1 = tmax == Q_NS_MAX ? Q_NS_MAX : tmax + 1;
    for (size_t i = 0; rc == 0 && i < t.ms.n && tmin < t1; i++) {
        uint32_t *ids, n;
        rc = meta_series(ctx, &t, mt, t.ms.v[i], &ids, &n);
        if (rc == 0 && n && (rc = cts_db_delete_series(t.db, t.ms.v[i].ptr, ids, n, tmin, t1)))
            rc = q_fail(ctx, rc, "%s: %s", what, cts_db_errmsg(t.db));
    }
    target_close(ctx, &t);
    return rc;
}

int q_exec_meta(q_ctx *ctx, const q_stmt *st)
{
    const q_meta *mt = &st->u.meta;
    switch (st->kind) {
    case Q_SHOW_DATABASES:
        return show_databases(ctx, mt);
    case Q_SHOW_MEASUREMENTS:
        return show_measurements(ctx, mt);
    case Q_SHOW_TAG_KEYS:
        return show_tag_keys(ctx, mt);
    case Q_SHOW_TAG_VALUES:
        return show_tag_values(ctx, mt);
    case Q_SHOW_FIELD_KEYS:
        return show_field_keys(ctx, mt);
    case Q_SHOW_SERIES:
        return show_series(ctx, mt);
    case Q_SHOW_RETENTION_POLICIES:
        return show_retention(ctx, mt);
    case Q_CREATE_DATABASE:
        return create_database(ctx, mt);
    case Q_DROP_DATABASE:
        return drop_database(ctx, mt);
    case Q_DROP_MEASUREMENT:
    case Q_DROP_SERIES:
    case Q_DELETE:
        return delete_points(ctx, st);
    default:
        return q_fail(ctx, CTS_EINVAL, "unsupported statement");
    }
}
