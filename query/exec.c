/*
 * exec.c: one statement. SELECT resolves its database and sources (names
 * and /regex/ over the database's measurements), then plans and runs each
 * measurement in name order; SLIMIT/SOFFSET count result series across
 * them. Everything else goes to exec_meta.c.
 */
#include "exec.h"

#include <stdlib.h>
#include <string.h>

int q_stmt_db(q_ctx *ctx, cts_str named, cts_db **db)
{
    const char *name = named.ptr ? named.ptr : ctx->opts->db;
    if (!name || !*name)
        return q_fail(ctx, CTS_EINVAL, "database name required");
    int rc = cts_dbset_acquire(ctx->dbs, name, false, db);
    if (rc == CTS_ENOTFOUND)
        return q_fail(ctx, rc, "database not found: %s", name);
    if (rc == CTS_EINVAL)
        return q_fail(ctx, rc, "invalid database name: \"%s\"", name);
    if (rc)
        return q_fail(ctx, rc, "%s", cts_dbset_errmsg());
    return 0;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(((const cts_str *)a)->ptr, ((const cts_str *)b)->ptr);
}

/* The measurements the sources name, sorted and distinct (arena). Named
 * measurements that do not exist are left out (no result, no error). */
static int resolve_sources(q_ctx *ctx, cts_db *db, const q_source *src, uint32_t nsrc,
                           cts_str **out, uint32_t *n)
{
    cts_strlist *all = NULL;
    int rc = cts_db_measurements(db, &all);
    if (rc)
        return q_fail(ctx, rc, "listing measurements: %s", cts_strerror(rc));
    cts_str *ms = q_arena_alloc(ctx->arena, (all->count * nsrc + 1) * sizeof *ms);
    uint32_t k = 0;
    for (uint32_t s = 0; rc == 0 && ms && s < nsrc; s++) {
        q_regex *re = NULL;
        if (src[s].is_regex && (rc = q_regex_compile(ctx, src[s].name, &re)))
            break;
        for (size_t i = 0; i < all->count; i++) {
            const cts_str *m = &all->items[i];
            bool hit =
                re ? q_regex_match(re, m->ptr, m->len)
                   : m->len == src[s].name.len && memcmp(m->ptr, src[s].name.ptr, m->len) == 0;
            if (hit && !(ms[k] = q_arena_strdup(ctx->arena, m->ptr, m->len)).ptr)
                ms = NULL;
            k += hit;
            if (!ms)
                break;
        }
    }
    cts_free(all);
    if (rc)
        return rc;
    if (!ms)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    if (k > 1)
        qsort(ms, k, sizeof *ms, cmp_cstr);
    uint32_t w = 0;
    for (uint32_t i = 0; i < k; i++)
        if (w == 0 || strcmp(ms[w - 1].ptr, ms[i].ptr) != 0)
            ms[w++] = ms[i];
    *out = ms;
    *n = w;
    return 0;
}

static int exec_select(q_ctx *ctx, const q_select *sel)
{
    cts_db *db = NULL;
    if (sel->nsources == 0)
        return q_fail(ctx, CTS_EINVAL, "SELECT needs a FROM clause");
    for (uint32_t i = 1; i < sel->nsources; i++)
        if ((sel->sources[i].db.ptr != NULL) != (sel->sources[0].db.ptr != NULL) ||
            (sel->sources[i].db.ptr && strcmp(sel->sources[i].db.ptr, sel->sources[0].db.ptr)))
            return q_fail(ctx, CTS_EINVAL,
                          "one SELECT reads one database: the sources name "
                          "different databases");
    int rc = q_stmt_db(ctx, sel->sources[0].db, &db);
    if (rc)
        return rc;
    cts_str *ms = NULL;
    uint32_t nm = 0;
    rc = resolve_sources(ctx, db, sel->sources, sel->nsources, &ms, &nm);
    q_slimit sl = {sel->soffset, sel->slimit > 0 ? sel->slimit : -1};
    /* `*` over several measurements expands to all their fields and tags */
    q_schema wild;
    bool union_wild = rc == 0 && nm > 1;
    if (union_wild)
        rc = q_schema_union(ctx, db, ms, nm, &wild);
    for (uint32_t i = 0; rc == 0 && i < nm && sl.left != 0; i++) {
        q_plan plan;
        /* ORDER BY time DESC reverses the series order, measurements too */
        rc = q_plan_build(ctx, db, sel, ms[sel->order_desc ? nm - 1 - i : i],
                          union_wild ? &wild : NULL, &plan);
        if (rc == 0 && plan.ngroups)
            rc = plan.aggregate ? q_exec_agg(ctx, &plan, &sl) : q_exec_raw(ctx, &plan, &sl);
    }
    cts_dbset_release(ctx->dbs, db);
    return rc;
}

int q_exec_statement(q_ctx *ctx, const q_stmt *st)
{
    if (st->kind == Q_SELECT)
        return exec_select(ctx, &st->u.select);
    return q_exec_meta(ctx, st);
}
