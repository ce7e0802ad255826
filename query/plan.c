/*
 * plan.c: from a SELECT and one measurement to a plan: the output columns
 * (raw fields and tags, aggregates, transformations), the columns to read,
 * the time range, the series selected by the tag condition, and their
 * grouping by GROUP BY tags.
 *
 * Column names follow InfluxDB: a field or tag by its name, an aggregate by
 * its function (`mean`), a wildcard aggregate by function and field
 * (`mean_pm25`), a transformation by the outer function; an alias replaces
 * the name; a repeated name gets `_1`, `_2`, ...
 */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int q_plan_load_schema(q_ctx *ctx, cts_db *db, cts_str m, q_plan *plan)
{
    cts_fieldlist *f = NULL;
    cts_strlist *t = NULL;
    int rc = cts_db_field_keys(db, m.ptr, &f);
    if (rc == 0)
        rc = cts_db_tag_keys(db, m.ptr, &t);
    if (rc == CTS_ENOTFOUND)
        rc = 0;
    if (rc) {
        cts_free(f);
        return q_fail(ctx, rc, "reading the schema of %s: %s", m.ptr, cts_strerror(rc));
    }
    size_t nf = f ? f->count : 0, nt = t ? t->count : 0;
    cts_fieldinfo *fa = q_arena_alloc(ctx->arena, (nf + 1) * sizeof *fa);
    cts_str *ta = q_arena_alloc(ctx->arena, (nt + 1) * sizeof *ta);
    for (size_t i = 0; fa && i < nf; i++) {
        fa[i] = f->items[i];
        fa[i].name = q_arena_strdup(ctx->arena, f->items[i].name.ptr, f->items[i].name.len);
        if (!fa[i].name.ptr)
            fa = NULL;
    }
    for (size_t i = 0; ta && i < nt; i++) {
        ta[i] = q_arena_strdup(ctx->arena, t->items[i].ptr, t->items[i].len);
        if (!ta[i].ptr)
            ta = NULL;
    }
    cts_free(f);
    cts_free(t);
    if (!fa || !ta)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    plan->fields = fa;
    plan->nfields = nf;
    plan->tagkeys = ta;
    plan->ntagkeys = nt;
    return 0;
}

static bool str_eq(cts_str a, cts_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

const cts_fieldinfo *q_plan_field(const q_plan *plan, cts_str name)
{
    for (size_t i = 0; i < plan->nfields; i++)
        if (str_eq(plan->fields[i].name, name))
            return &plan->fields[i];
    return NULL;
}

bool q_plan_is_tag(const q_plan *plan, cts_str name)
{
    for (size_t i = 0; i < plan->ntagkeys; i++)
        if (str_eq(plan->tagkeys[i], name))
            return true;
    return false;
}

#define Q_MAX_COLS 1024

int q_plan_col(q_ctx *ctx, q_plan *plan, cts_str name, int *idx)
{
    for (uint32_t i = 0; i < plan->ncols; i++)
        if (str_eq(plan->cols[i].name, name)) {
            *idx = (int)i;
            return 0;
        }
    if (plan->ncols == Q_MAX_COLS)
        return q_fail(ctx, CTS_ELIMIT, "too many fields in one statement (max %d)", Q_MAX_COLS);
    if (!plan->cols && !(plan->cols = q_arena_alloc(ctx->arena, Q_MAX_COLS * sizeof(q_col))))
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    const cts_fieldinfo *f = q_plan_field(plan, name);
    plan->cols[plan->ncols] =
        (q_col){name, f ? f->field_id : 0, f ? f->type : CTS_TYPE_FLOAT, f != NULL};
    *idx = (int)plan->ncols++;
    return 0;
}

/* ---- output columns ---- */

static int add_out(q_ctx *ctx, q_plan *plan, const q_out *o)
{
    if (plan->nouts == Q_MAX_OUTS)
        return q_fail(ctx, CTS_ELIMIT, "too many columns in one statement (max %d)", Q_MAX_OUTS);
    if (!plan->outs && !(plan->outs = q_arena_alloc(ctx->arena, Q_MAX_OUTS * sizeof(q_out))))
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    plan->outs[plan->nouts++] = *o;
    return 0;
}

static int raw_ref(q_ctx *ctx, q_plan *plan, cts_str name, q_cast cast, cts_str alias)
{
    q_out o = {.kind = Q_OUT_FIELD, .name = alias.ptr ? alias : name, .col = -1};
    if (cast == Q_CAST_TAG ||
        (cast != Q_CAST_FIELD && !q_plan_field(plan, name) && q_plan_is_tag(plan, name))) {
        o.kind = Q_OUT_TAG;
        o.tag = name;
        return add_out(ctx, plan, &o);
    }
    int rc = q_plan_col(ctx, plan, name, &o.col);
    return rc ? rc : add_out(ctx, plan, &o);
}

static bool grouped_by(const q_select *sel, cts_str tag)
{
    if (sel->group_all_tags)
        return true;
    for (uint32_t i = 0; i < sel->ngroup_tags; i++)
        if (str_eq(sel->group_tags[i], tag))
            return true;
    return false;
}

/* Fields and tags sorted together by name, as InfluxDB expands `*`; a tag
 * the statement groups by is in the series' tags, not a column. */
static int raw_wildcard(q_ctx *ctx, q_plan *plan)
{
    size_t i = 0, j = 0;
    int rc = 0;
    const q_schema *w = &plan->wild;
    while (rc == 0 && (i < w->nfields || j < w->ntags)) {
        bool take_field =
            j == w->ntags || (i < w->nfields && strcmp(w->fields[i].name.ptr, w->tags[j].ptr) <= 0);
        if (take_field)
            rc = raw_ref(ctx, plan, w->fields[i++].name, Q_CAST_FIELD, (cts_str){0});
        else if (grouped_by(plan->sel, w->tags[j]))
            j++;
        else
            rc = raw_ref(ctx, plan, w->tags[j++], Q_CAST_TAG, (cts_str){0});
    }
    return rc;
}

static int expect_nargs(q_ctx *ctx, const q_expr *call, uint32_t lo, uint32_t hi)
{
    uint32_t n = call->u.call.nargs;
    if (n >= lo && n <= hi)
        return 0;
    if (lo == hi)
        return q_fail(ctx, CTS_EINVAL, "invalid number of arguments for %s, expected %u, got %u",
                      call->u.call.name.ptr, lo, n);
    return q_fail(ctx, CTS_EINVAL,
                  "invalid number of arguments for %s, expected at least %u but no more than "
                  "%u, got %u",
                  call->u.call.name.ptr, lo, hi, n);
}

static char *fmt_name(q_ctx *ctx, const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = q_arena_alloc(ctx->arena, n);
    if (p)
        snprintf(p, n, "%s_%s", a, b);
    return p;
}

/* One aggregate column fn(field); with `expanded`, named fn_field. */
static int agg_col(q_ctx *ctx, q_plan *plan, q_out o, cts_str field, bool expanded)
{
    int rc = q_plan_col(ctx, plan, field, &o.col);
    if (rc)
        return rc;
    if (expanded && !o.name.ptr) {
        char *n = fmt_name(ctx, q_fn_name(o.fn), field.ptr);
        if (!n)
            return q_fail(ctx, CTS_ENOMEM, "out of memory");
        o.name = (cts_str){n, (uint32_t)strlen(n)};
    }
    if (!o.name.ptr)
        o.name = (cts_str){q_fn_name(o.fn), (uint32_t)strlen(q_fn_name(o.fn))};
    return add_out(ctx, plan, &o);
}

/* fn(*), fn(/re/): one column per field whose type fn accepts. */
static int agg_expand(q_ctx *ctx, q_plan *plan, q_out o, const q_expr *arg)
{
    q_regex *re = NULL;
    int rc = arg->kind == Q_E_REGEX ? q_regex_compile(ctx, arg->u.str, &re) : 0;
    for (size_t i = 0; rc == 0 && i < plan->wild.nfields; i++) {
        const cts_fieldinfo *f = &plan->wild.fields[i];
        cts_qtype t;
        char msg[8];
        if (re && !q_regex_match(re, f->name.ptr, f->name.len))
            continue;
        if (q_fn_check(o.fn, f->type, &t, msg, sizeof msg))
            continue;
        rc = agg_col(ctx, plan, o, f->name, true);
    }
    return rc;
}

static int number_arg(q_ctx *ctx, const q_expr *call, const q_expr *a, double *out)
{
    if (a->kind == Q_E_NUMBER)
        *out = a->u.num;
    else if (a->kind == Q_E_INTEGER)
        *out = (double)a->u.integer;
    else
        return q_fail(ctx, CTS_EINVAL, "expected float argument in %s()", call->u.call.name.ptr);
    return 0;
}

static int agg_call(q_ctx *ctx, q_plan *plan, const q_expr *call, q_out o)
{
    uint32_t want = o.fn == Q_FN_PERCENTILE ? 2 : 1;
    int rc = expect_nargs(ctx, call, want, want);
    if (rc == 0 && want == 2)
        rc = number_arg(ctx, call, call->u.call.args[1], &o.pct);
    if (rc)
        return rc;
    const q_expr *a = call->u.call.args[0];
    o.kind = Q_OUT_AGG;
    if (a->kind == Q_E_WILDCARD || a->kind == Q_E_REGEX)
        return agg_expand(ctx, plan, o, a);
    if (a->kind != Q_E_REF)
        return q_fail(ctx, CTS_EINVAL, "expected field argument in %s()", call->u.call.name.ptr);
    return agg_col(ctx, plan, o, a->u.ref.name, false);
}

static int xf_args(q_ctx *ctx, const q_plan *plan, const q_expr *call, q_out *o)
{
    q_xf xf = o->xf;
    bool unit = xf == Q_XF_DERIVATIVE || xf == Q_XF_NON_NEGATIVE_DERIVATIVE || xf == Q_XF_ELAPSED;
    int rc = expect_nargs(ctx, call, xf == Q_XF_MOVING_AVERAGE ? 2 : 1,
                          unit || xf == Q_XF_MOVING_AVERAGE ? 2 : 1);
    if (rc)
        return rc;
    /* InfluxDB: a derivative of an aggregate defaults to the GROUP BY
     * interval as its unit, of raw points to one second */
    o->xf_unit_ns = xf == Q_XF_ELAPSED      ? 1
                    : plan->sel->group_time ? plan->sel->interval_ns
                                            : 1000000000;
    if (call->u.call.nargs < 2)
        return 0;
    const q_expr *a = call->u.call.args[1];
    if (xf == Q_XF_MOVING_AVERAGE) {
        if (a->kind != Q_E_INTEGER)
            return q_fail(ctx, CTS_EINVAL, "second argument for moving_average must be an integer");
        if (a->u.integer <= 1 || a->u.integer > 1000000)
            return q_fail(ctx, CTS_EINVAL, "moving_average window must be greater than 1, got %lld",
                          (long long)a->u.integer);
        o->xf_window = (uint32_t)a->u.integer;
        return 0;
    }
    if (a->kind != Q_E_DURATION || a->u.integer <= 0)
        return q_fail(ctx, CTS_EINVAL, "second argument to %s must be a duration, got %s",
                      call->u.call.name.ptr,
                      a->kind == Q_E_DURATION ? "a non-positive one" : "a literal");
    o->xf_unit_ns = a->u.integer;
    return 0;
}

static int call_out(q_ctx *ctx, q_plan *plan, const q_expr *call, cts_str alias)
{
    const char *name = call->u.call.name.ptr;
    q_out o = {.name = alias, .col = -1};
    if (q_fn_lookup(name, &o.fn))
        return agg_call(ctx, plan, call, o);
    if (!q_xf_lookup(name, &o.xf))
        return q_fail(ctx, CTS_EINVAL, "undefined function %s()", name);
    o.has_xf = true;
    int rc = xf_args(ctx, plan, call, &o);
    if (rc)
        return rc;
    if (!o.name.ptr)
        o.name = call->u.call.name;
    const q_expr *in = call->u.call.args[0];
    if (in->kind == Q_E_CALL && q_fn_lookup(in->u.call.name.ptr, &o.fn)) {
        uint32_t before = plan->nouts;
        if ((rc = agg_call(ctx, plan, in, o)))
            return rc;
        for (uint32_t i = before; i < plan->nouts; i++)
            plan->outs[i].name = o.name;
        return 0;
    }
    if (in->kind != Q_E_REF)
        return q_fail(ctx, CTS_EINVAL, "expected field argument in %s()", name);
    if (plan->sel->group_time)
        return q_fail(ctx, CTS_EINVAL, "aggregate function required inside the call to %s", name);
    o.kind = Q_OUT_FIELD;
    rc = q_plan_col(ctx, plan, in->u.ref.name, &o.col);
    return rc ? rc : add_out(ctx, plan, &o);
}

static int field_out(q_ctx *ctx, q_plan *plan, const q_field *f)
{
    const q_expr *e = f->expr;
    switch (e->kind) {
    case Q_E_WILDCARD:
        return raw_wildcard(ctx, plan);
    case Q_E_REF:
        return raw_ref(ctx, plan, e->u.ref.name, e->u.ref.cast, f->alias);
    case Q_E_CALL:
        return call_out(ctx, plan, e, f->alias);
    default:
        return q_fail(ctx, CTS_EINVAL,
                      "unsupported expression in the field list at char %u: "
                      "select fields, tags, aggregates and transformations",
                      e->off + 1);
    }
}

/* Whether another column already holds `name`: an alias anywhere (aliases
 * are never renamed) or an earlier unaliased column. */
static bool name_taken(const q_plan *plan, const bool *aliased, uint32_t i, cts_str name)
{
    for (uint32_t j = 0; j < plan->nouts; j++)
        if (j != i && (aliased[j] || j < i) && str_eq(plan->outs[j].name, name))
            return true;
    return false;
}

/* Repeated column names get _1, _2, ... (InfluxDB's rule: aliases are
 * resolved first and kept; other names yield to them). */
static int dedupe_names(q_ctx *ctx, q_plan *plan, const bool *aliased)
{
    for (uint32_t i = 0; i < plan->nouts; i++) {
        if (aliased[i])
            continue;
        cts_str base = plan->outs[i].name;
        for (uint32_t k = 1; name_taken(plan, aliased, i, plan->outs[i].name); k++) {
            char num[16];
            snprintf(num, sizeof num, "%u", k);
            char *n = fmt_name(ctx, base.ptr, num);
            if (!n)
                return q_fail(ctx, CTS_ENOMEM, "out of memory");
            plan->outs[i].name = (cts_str){n, (uint32_t)strlen(n)};
        }
    }
    return 0;
}

static int check_outs(q_ctx *ctx, q_plan *plan)
{
    bool agg = false, raw = false, field = false;
    for (uint32_t i = 0; i < plan->nouts; i++) {
        const q_out *o = &plan->outs[i];
        agg |= o->kind == Q_OUT_AGG;
        raw |= o->kind != Q_OUT_AGG;
        field |= o->kind != Q_OUT_TAG;
        plan->has_xf |= o->has_xf;
        if (o->kind == Q_OUT_AGG) {
            cts_qtype t;
            char msg[160];
            const q_col *c = &plan->cols[o->col];
            if (c->exists && q_fn_check(o->fn, c->type, &t, msg, sizeof msg))
                return q_fail(ctx, CTS_ETYPE, "%s", msg);
        }
    }
    if (agg && raw)
        return q_fail(ctx, CTS_EINVAL,
                      "mixing aggregate and non-aggregate queries is not "
                      "supported");
    if (!field && plan->nouts)
        return q_fail(ctx, CTS_EINVAL, "statement must have at least one field in select clause");
    if (plan->sel->group_time && !agg)
        return q_fail(ctx, CTS_EINVAL, "GROUP BY requires at least one aggregate function");
    if (!agg && plan->sel->fill != Q_FILL_NULL)
        return q_fail(ctx, CTS_EINVAL, "fill(%s) must be used with a function",
                      plan->sel->fill == Q_FILL_NONE       ? "none"
                      : plan->sel->fill == Q_FILL_PREVIOUS ? "previous"
                      : plan->sel->fill == Q_FILL_LINEAR   ? "linear"
                                                           : "<number>");
    plan->aggregate = agg;
    return 0;
}

/* ---- grouping ---- */

typedef struct sortrow {
    uint32_t id;
    const cts_tag *tags;
    size_t ntags;
    cts_str *vals; /* one per group key */
} sortrow;

static int cmp_tuple(const cts_str *a, const cts_str *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t l = a[i].len < b[i].len ? a[i].len : b[i].len;
        int c = l ? memcmp(a[i].ptr, b[i].ptr, l) : 0;
        if (c == 0)
            c = (a[i].len > b[i].len) - (a[i].len < b[i].len);
        if (c)
            return c;
    }
    return 0;
}

static int cmp_rows(const void *x, const void *y, void *arg)
{
    const sortrow *a = x, *b = y;
    int c = cmp_tuple(a->vals, b->vals, *(const size_t *)arg);
    return c ? c : (a->id > b->id) - (a->id < b->id);
}

static int cmp_str_q(const void *x, const void *y)
{
    const cts_str *a = x, *b = y;
    return strcmp(a->ptr, b->ptr);
}

/* The GROUP BY tag keys, sorted and distinct; `*`: every tag key. */
static int group_keys(q_ctx *ctx, q_plan *plan)
{
    const q_select *sel = plan->sel;
    if (sel->group_all_tags) {
        plan->gkeys = (cts_str *)(uintptr_t)plan->tagkeys;
        plan->ngkeys = (uint32_t)plan->ntagkeys;
        return 0;
    }
    plan->gkeys = q_arena_alloc(ctx->arena, (sel->ngroup_tags + 1) * sizeof(cts_str));
    if (!plan->gkeys)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    uint32_t n = 0;
    for (uint32_t i = 0; i < sel->ngroup_tags; i++)
        plan->gkeys[n++] = sel->group_tags[i];
    if (n > 1)
        qsort(plan->gkeys, n, sizeof(cts_str), cmp_str_q);
    uint32_t w = 0;
    for (uint32_t i = 0; i < n; i++)
        if (w == 0 || !str_eq(plan->gkeys[w - 1], plan->gkeys[i]))
            plan->gkeys[w++] = plan->gkeys[i];
    plan->ngkeys = w;
    return 0;
}

static int load_rows(q_ctx *ctx, q_plan *plan, const uint32_t *ids, uint32_t n, sortrow *rows)
{
    for (uint32_t i = 0; i < n; i++) {
        cts_tag tmp[1];
        cts_str m;
        size_t nt = 0;
        int rc = cts_db_series_tags(plan->db, ids[i], &m, tmp, 0, &nt);
        cts_tag *tags = q_arena_alloc(ctx->arena, (nt + 1) * sizeof *tags);
        rows[i].vals = q_arena_alloc(ctx->arena, (plan->ngkeys + 1) * sizeof(cts_str));
        if (!tags || !rows[i].vals)
            return q_fail(ctx, CTS_ENOMEM, "out of memory");
        if (rc == 0 || rc == CTS_ENOSPACE)
            rc = cts_db_series_tags(plan->db, ids[i], &m, tags, nt, &nt);
        if (rc)
            return q_fail(ctx, rc, "reading series %u: %s", ids[i], cts_strerror(rc));
        rows[i] = (sortrow){ids[i], tags, nt, rows[i].vals};
        q_env env = {tags, nt, NULL};
        for (uint32_t k = 0; k < plan->ngkeys; k++)
            rows[i].vals[k] = q_env_tag(&env, plan->gkeys[k]);
    }
    return 0;
}

static int make_groups(q_ctx *ctx, q_plan *plan, sortrow *rows, uint32_t n)
{
    size_t nk = plan->ngkeys;
    if (n > 1)
        qsort_r(rows, n, sizeof *rows, cmp_rows, &nk);
    plan->groups = q_arena_alloc(ctx->arena, (n + 1) * sizeof(q_group));
    if (!plan->groups)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    uint32_t i = 0;
    while (i < n) {
        uint32_t j = i + 1;
        while (j < n && cmp_tuple(rows[i].vals, rows[j].vals, nk) == 0)
            j++;
        q_group *g = &plan->groups[plan->ngroups++];
        g->tag_vals = rows[i].vals;
        g->nseries = j - i;
        g->series = q_arena_alloc(ctx->arena, g->nseries * sizeof *g->series);
        g->series_tags = q_arena_alloc(ctx->arena, g->nseries * sizeof *g->series_tags);
        g->series_ntags = q_arena_alloc(ctx->arena, g->nseries * sizeof *g->series_ntags);
        if (!g->series || !g->series_tags || !g->series_ntags)
            return q_fail(ctx, CTS_ENOMEM, "out of memory");
        for (uint32_t k = i; k < j; k++) {
            g->series[k - i] = rows[k].id;
            g->series_tags[k - i] = rows[k].tags;
            g->series_ntags[k - i] = rows[k].ntags;
        }
        i = j;
    }
    return 0;
}

static int plan_series(q_ctx *ctx, q_plan *plan, const q_cexpr *tag_cond)
{
    uint32_t *ids, n;
    int rc = q_select_series(ctx, plan->db, plan->measurement, tag_cond, &ids, &n);
    if (rc || n == 0)
        return rc;
    sortrow *rows = q_arena_alloc(ctx->arena, n * sizeof *rows);
    if (!rows)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    if ((rc = group_keys(ctx, plan)) || (rc = load_rows(ctx, plan, ids, n, rows)))
        return rc;
    return make_groups(ctx, plan, rows, n);
}

static int cmp_field(const void *a, const void *b)
{
    return strcmp(((const cts_fieldinfo *)a)->name.ptr, ((const cts_fieldinfo *)b)->name.ptr);
}

int q_schema_union(q_ctx *ctx, cts_db *db, const cts_str *ms, uint32_t n, q_schema *out)
{
    size_t nf = 0, nt = 0;
    q_plan *p = q_arena_alloc(ctx->arena, (n + 1) * sizeof *p);
    if (!p)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        memset(&p[i], 0, sizeof p[i]);
        int rc = q_plan_load_schema(ctx, db, ms[i], &p[i]);
        if (rc)
            return rc;
        nf += p[i].nfields;
        nt += p[i].ntagkeys;
    }
    cts_fieldinfo *f = q_arena_alloc(ctx->arena, (nf + 1) * sizeof *f);
    cts_str *t = q_arena_alloc(ctx->arena, (nt + 1) * sizeof *t);
    if (!f || !t)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    size_t kf = 0, kt = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(f + kf, p[i].fields, p[i].nfields * sizeof *f);
        memcpy(t + kt, p[i].tagkeys, p[i].ntagkeys * sizeof *t);
        kf += p[i].nfields;
        kt += p[i].ntagkeys;
    }
    if (kf > 1)
        qsort(f, kf, sizeof *f, cmp_field); /* stable enough: equal names keep one */
    if (kt > 1)
        qsort(t, kt, sizeof *t, cmp_str_q);
    size_t wf = 0, wt = 0;
    for (size_t i = 0; i < kf; i++)
        if (wf == 0 || !str_eq(f[wf - 1].name, f[i].name))
            f[wf++] = f[i];
    for (size_t i = 0; i < kt; i++)
        if (wt == 0 || !str_eq(t[wt - 1], t[i]))
            t[wt++] = t[i];
    *out = (q_schema){f, wf, t, wt};
    return 0;
}

int q_plan_build(q_ctx *ctx, cts_db *db, const q_select *sel, cts_str m, const q_schema *wild,
                 q_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->sel = sel;
    plan->db = db;
    plan->measurement = m;
    int rc = q_plan_load_schema(ctx, db, m, plan);
    if (rc == 0)
        plan->wild =
            wild ? *wild : (q_schema){plan->fields, plan->nfields, plan->tagkeys, plan->ntagkeys};
    if (rc == 0)
        rc = q_where_time(ctx, sel->where, &plan->tmin, &plan->tmax, &plan->tmin_set,
                          &plan->tmax_set);
    bool *aliased = q_arena_alloc(ctx->arena, (Q_MAX_OUTS + 1) * sizeof *aliased);
    if (rc == 0 && !aliased)
        rc = q_fail(ctx, CTS_ENOMEM, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < sel->nfields; i++) {
        uint32_t before = plan->nouts;
        rc = field_out(ctx, plan, &sel->fields[i]);
        for (uint32_t k = before; rc == 0 && k < plan->nouts; k++)
            aliased[k] = sel->fields[i].alias.ptr != NULL;
    }
    if (rc == 0)
        rc = dedupe_names(ctx, plan, aliased);
    if (rc == 0)
        rc = check_outs(ctx, plan);
    if (rc)
        return rc;
    if (sel->group_time && !plan->tmax_set)
        plan->tmax = ctx->now_ns; /* InfluxDB: GROUP BY time ends at now() by default */
    q_cexpr *tag_cond = NULL;
    if ((rc = q_where_split(ctx, sel->where, plan, &tag_cond, &plan->field_cond)))
        return rc;
    if (plan->tmin > plan->tmax)
        return 0; /* an empty range: no groups */
    return plan_series(ctx, plan, tag_cond);
}
