/*
 * exec_agg.c: SELECTs of aggregates, with or without GROUP BY time.
 *
 * Per group, a dense array of aggregate states covers the buckets between
 * the group's first and last point inside the query's range (bucket b of
 * output column o at st[b * nouts + o]). Every column a group needs is read
 * series by series through snapshot cursors; a sealed block that lies in
 * one bucket and overlaps nothing else arrives as statistics only and is
 * folded in without being decoded (when every aggregate on its column can
 * use statistics and there is no field condition). With a field condition,
 * rows are joined by time and filtered first.
 *
 * Output walks the query's whole bucket range, not just the data's: empty
 * buckets are filled per FILL (count's null fill is 0, as in InfluxDB),
 * transformations run over the filled sequence, then OFFSET/LIMIT.
 */
#include "exec.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

int64_t q_bucket_start(int64_t ts, int64_t interval, int64_t offset)
{
    offset %= interval;
    __int128 t = (__int128)ts - offset;
    __int128 q = t / interval;
    if (t % interval < 0)
        q--;
    __int128 b = q * interval + offset;
    return b < INT64_MIN ? INT64_MIN : b > INT64_MAX ? INT64_MAX : (int64_t)b;
}

/* ---- per-group state ---- */

typedef struct gstate {
    int64_t b0;       /* start of bucket 0 */
    int64_t interval; /* 0: one bucket for the whole range */
    uint64_t nb;
    q_agg *st;
    uint64_t bytes; /* charged */
} gstate;

/* Where one column of one series has points inside [tmin, tmax]. */
typedef struct crange {
    bool has;
    int64_t min_ts, max_ts; /* clipped to [tmin, tmax] */
    int64_t tail_min_ts;    /* last() may start here (Q_NS_MIN: no shortcut) */
    int64_t lead_max_ts;    /* first() may stop here (Q_NS_MAX: no shortcut) */
    uint64_t points;        /* the column's points (in range or not) */
} crange;

/* Fill cr[s * ncols + c] for the group's series and columns; returns
 * whether any has data, and the group's data range. */
static bool group_range(const q_plan *plan, const q_group *g, crange *cr, int64_t *lo, int64_t *hi)
{
    bool any = false;
    for (uint32_t s = 0; s < g->nseries; s++)
        for (uint32_t c = 0; c < plan->ncols; c++) {
            const q_col *col = &plan->cols[c];
            crange *r = &cr[(size_t)s * plan->ncols + c];
            cts_column_info ci;
            memset(r, 0, sizeof *r);
            if (!col->exists || cts_db_column_info(plan->db, g->series[s], col->field_id, &ci) ||
                ci.points_sealed + ci.head_points == 0)
                continue;
            if (ci.max_ts < plan->tmin || ci.min_ts > plan->tmax)
                continue;
            r->has = true;
            r->points = ci.points_sealed + ci.head_points;
            r->min_ts = ci.min_ts >= plan->tmin ? ci.min_ts : plan->tmin;
            r->max_ts = ci.max_ts <= plan->tmax ? ci.max_ts : plan->tmax;
            /* the column's own last (first) point is in range: last() (first())
             * finds it in the window that holds it */
            r->tail_min_ts =
                ci.max_ts <= plan->tmax && ci.tail_min_ts > r->min_ts ? ci.tail_min_ts : Q_NS_MIN;
            r->lead_max_ts =
                ci.min_ts >= plan->tmin && ci.lead_max_ts < r->max_ts ? ci.lead_max_ts : Q_NS_MAX;
            if (!any || r->min_ts < *lo)
                *lo = r->min_ts;
            if (!any || r->max_ts > *hi)
                *hi = r->max_ts;
            any = true;
        }
    return any;
}

static int gstate_init(q_ctx *ctx, const q_plan *plan, int64_t lo, int64_t hi, gstate *gs)
{
    const q_select *sel = plan->sel;
    memset(gs, 0, sizeof *gs);
    gs->nb = 1;
    gs->b0 = lo;
    if (sel->group_time) {
        gs->interval = sel->interval_ns;
        gs->b0 = q_bucket_start(lo, sel->interval_ns, sel->offset_ns);
        int64_t last = q_bucket_start(hi, sel->interval_ns, sel->offset_ns);
        gs->nb = (uint64_t)(((__int128)last - gs->b0) / sel->interval_ns) + 1;
    }
    __int128 bytes = (__int128)gs->nb * plan->nouts * sizeof(q_agg);
    if (bytes > (__int128)(1ull << 40))
        bytes = (__int128)(1ull << 40);
    int rc = q_mem_charge(ctx, (int64_t)bytes);
    if (rc)
        return rc;
    gs->bytes = (uint64_t)bytes;
    gs->st = cts_malloc((size_t)bytes);
    if (!gs->st)
        return q_fail(ctx, CTS_ENOMEM, "out of memory for %llu time buckets",
                      (unsigned long long)gs->nb);
    for (uint64_t b = 0; b < gs->nb; b++)
        for (uint32_t o = 0; o < plan->nouts; o++) {
            const q_out *out = &plan->outs[o];
            q_agg_init(&gs->st[b * plan->nouts + o], out->fn, plan->cols[out->col].type, out->pct);
        }
    return 0;
}

static void gstate_fini(q_ctx *ctx, const q_plan *plan, gstate *gs)
{
    if (!gs->st)
        return;
    for (uint64_t i = 0; i < gs->nb * plan->nouts; i++)
        q_agg_fini(&gs->st[i]);
    cts_free(gs->st);
    (void)q_mem_charge(ctx, -(int64_t)gs->bytes);
    gs->st = NULL;
}

/* Bucket index of ts, or -1 when outside the state's buckets. */
static int64_t bucket_index(const gstate *gs, int64_t ts)
{
    if (gs->interval == 0)
        return 0;
    if (ts < gs->b0)
        return -1;
    uint64_t i = (uint64_t)(((__int128)ts - gs->b0) / gs->interval);
    return i < gs->nb ? (int64_t)i : -1;
}

static const void *elem(const cts_chunk *c, cts_type t, uint32_t i)
{
    switch (t) {
    case CTS_TYPE_FLOAT:
        return c->v.f + i;
    case CTS_TYPE_INT:
        return c->v.i + i;
    case CTS_TYPE_UINT:
        return c->v.u + i;
    case CTS_TYPE_BOOL:
        return c->v.b + i;
    case CTS_TYPE_STRING:
        return c->v.s + i;
    }
    return NULL;
}

/* Fold points [0, count) of a chunk into the outs `os` of one column. */
static int add_points(const q_plan *plan, gstate *gs, const uint32_t *os, uint32_t nos,
                      const cts_chunk *ch, cts_type t)
{
    uint32_t i = 0;
    while (i < ch->count) {
        int64_t b = bucket_index(gs, ch->ts[i]);
        uint32_t j = i + 1;
        if (gs->interval == 0) {
            j = ch->count;
        } else {
            int64_t end = gs->b0 + (b < 0 ? 0 : b + 1) * gs->interval; /* bucket end */
            while (j < ch->count && (b < 0 ? bucket_index(gs, ch->ts[j]) < 0 : ch->ts[j] < end))
                j++;
        }
        for (uint32_t k = 0; b >= 0 && k < nos; k++) {
            int rc = q_agg_add(&gs->st[(uint64_t)b * plan->nouts + os[k]], ch->ts + i,
                               elem(ch, t, i), j - i);
            if (rc)
                return rc;
        }
        i = j;
    }
    return 0;
}

/* Fold a stats-only chunk into its bucket when it lies in one: *done is
 * the number of outs (in os order) that took it; the caller decodes the
 * block for the rest (integer mean refuses ambiguous sums: CTS_ERANGE). */
static int add_stats(const q_plan *plan, gstate *gs, const uint32_t *os, uint32_t nos,
                     const cts_stats *st, uint32_t *done)
{
    int64_t b = bucket_index(gs, st->min_ts);
    *done = 0;
    if (b < 0 || b != bucket_index(gs, st->max_ts))
        return 0;
    for (; *done < nos; (*done)++) {
        int rc = q_agg_add_stats(&gs->st[(uint64_t)b * plan->nouts + os[*done]], st);
        if (rc == CTS_ERANGE)
            return 0;
        if (rc)
            return rc;
    }
    return 0;
}

static bool stats_fit(q_fn fn, cts_type t)
{
    bool num = t == CTS_TYPE_FLOAT || t == CTS_TYPE_INT || t == CTS_TYPE_UINT;
    if (!q_fn_uses_stats(fn))
        return false;
    if (fn == Q_FN_COUNT)
        return true;
    if (fn == Q_FN_FIRST || fn == Q_FN_LAST)
        return t != CTS_TYPE_STRING;
    return num;
}

/* Scratch for filtered chunks (one per scanning thread). */
typedef struct scratch {
    int64_t *ts;
    double *v;
    uint32_t cap;
} scratch;

static int filter_chunk(const q_vfilter *vf, scratch *sc, cts_chunk *ch)
{
    if (ch->count > sc->cap) {
        int64_t *t = cts_realloc(sc->ts, ch->count * sizeof *t);
        if (t)
            sc->ts = t;
        double *v = t ? cts_realloc(sc->v, ch->count * sizeof *v) : NULL;
        if (!v)
            return CTS_ENOMEM;
        sc->v = v;
        sc->cap = ch->count;
    }
    ch->count = q_vfilter_apply(vf, ch->ts, ch->v.f, ch->count, sc->ts, sc->v);
    ch->ts = sc->ts;
    ch->v.f = sc->v;
    return 0;
}

/* Read column c of one series into the outs on it, through vf when set. */
static int scan_column(q_ctx *ctx, const q_plan *plan, gstate *gs, uint32_t series, int c,
                       const uint32_t *os, uint32_t nos, const q_vfilter *vf, scratch *sc,
                       const crange *r, int64_t lo, int64_t hi)
{
    const q_col *col = &plan->cols[c];
    bool stats_ok = vf == NULL, all_last = vf == NULL, all_first = vf == NULL;
    for (uint32_t k = 0; k < nos; k++) {
        stats_ok &= stats_fit(plan->outs[os[k]].fn, col->type);
        all_last &= plan->outs[os[k]].fn == Q_FN_LAST;
        all_first &= plan->outs[os[k]].fn == Q_FN_FIRST;
    }
    /* the column's own range, clipped: blocks outside it are never met, and
     * a block wholly inside it can answer from its statistics. last() and
     * first() of one series need only the window of its extreme point
     * (outside GROUP BY time, where every bucket would need its own). */
    int64_t t0 = r->min_ts > lo ? r->min_ts : lo;
    int64_t t1 = r->max_ts < hi ? r->max_ts : hi;
    if (t0 > t1)
        return 0;
    t1 = t1 == Q_NS_MAX ? Q_NS_MAX : t1 + 1;
    if (!plan->sel->group_time && all_last && r->tail_min_ts != Q_NS_MIN)
        t0 = r->tail_min_ts;
    if (!plan->sel->group_time && all_first && r->lead_max_ts != Q_NS_MAX)
        t1 = r->lead_max_ts + 1;
    cts_cursor *cur;
    int rc = cts_cursor_open(plan->db, series, col->field_id, t0, t1, stats_ok, &cur);
    if (rc == CTS_ENOTFOUND)
        return 0;
    if (rc)
        return q_fail(ctx, rc, "reading %s: %s", col->name.ptr, cts_strerror(rc));
    cts_chunk ch;
    while ((rc = cts_cursor_next(cur, &ch)) == 1) {
        uint32_t done = 0;
        if (ch.stats && (rc = add_stats(plan, gs, os, nos, ch.stats, &done)))
            break;
        if (done < nos && ch.stats && (rc = cts_cursor_load(cur, &ch)) < 0)
            break;
        if (done < nos && vf && (rc = filter_chunk(vf, sc, &ch)))
            break;
        if (done < nos && (rc = add_points(plan, gs, os + done, nos - done, &ch, col->type)))
            break;
        if ((rc = q_check_deadline(ctx)))
            break;
    }
    if (rc < 0 && !ctx->err[0])
        q_fail(ctx, rc, "%s", rc == CTS_ENOMEM ? "out of memory" : cts_cursor_errmsg(cur));
    cts_cursor_close(cur);
    return rc < 0 ? rc : 0;
}

static cts_type val_type(cts_qtype t)
{
    switch (t) {
    case CTS_Q_INT:
        return CTS_TYPE_INT;
    case CTS_Q_UINT:
        return CTS_TYPE_UINT;
    case CTS_Q_BOOL:
        return CTS_TYPE_BOOL;
    case CTS_Q_STRING:
        return CTS_TYPE_STRING;
    default:
        return CTS_TYPE_FLOAT;
    }
}

/* Fold one joined row into bucket b. */
static int add_row(const q_plan *plan, gstate *gs, int64_t b, int64_t ts, const cts_qval *vals)
{
    bool in_call_range = ts >= plan->ctmin && ts <= plan->ctmax;
    for (uint32_t o = 0; o < plan->nouts; o++) {
        const cts_qval *v = &vals[plan->outs[o].col];
        if (!q_out_widens(&plan->outs[o]) && !in_call_range)
            continue; /* the interval read for transformations only */
        if (v->type == CTS_Q_NULL || val_type(v->type) != plan->cols[plan->outs[o].col].type)
            continue;
        uint8_t b8 = v->type == CTS_Q_BOOL && v->v.b;
        const void *p = v->type == CTS_Q_STRING ? (const void *)&v->v.s
                        : v->type == CTS_Q_BOOL ? (const void *)&b8
                                                : (const void *)&v->v;
        int rc = q_agg_add(&gs->st[(uint64_t)b * plan->nouts + o], &ts, p, 1);
        if (rc)
            return rc;
    }
    return 0;
}

/* With a field condition: rows of the series, filtered, folded point by
 * point. */
static int scan_rows(q_ctx *ctx, const q_plan *plan, gstate *gs, const q_group *g, uint32_t si)
{
    /* heap, not the arena: worker threads run this */
    bool *need = cts_malloc(plan->ncols * sizeof *need);
    cts_qval *vals = cts_malloc(plan->ncols * sizeof *vals);
    q_rows *r = NULL;
    int rc = need && vals ? 0 : q_fail(ctx, CTS_ENOMEM, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < plan->ncols; i++)
        need[i] = true;
    if (rc == 0)
        rc = q_rows_open(ctx, plan, g->series[si], need, &r);
    if (rc) {
        cts_free(need);
        cts_free(vals);
        return rc;
    }
    q_env env = {g->series_tags[si], g->series_ntags[si], vals};
    int64_t ts;
    while ((rc = q_rows_next(ctx, r, &ts, vals)) == 1) {
        int64_t b = bucket_index(gs, ts);
        if (b < 0 || !q_cond_true(plan->field_cond, &env))
            continue;
        if ((rc = add_row(plan, gs, b, ts, vals)) || (rc = q_check_deadline(ctx)))
            break;
    }
    q_rows_close(r);
    cts_free(need);
    cts_free(vals);
    if (rc < 0 && !ctx->err[0])
        q_fail(ctx, rc, "%s", cts_strerror(rc));
    return rc < 0 ? rc : 0;
}

/* Every aggregate reads the condition's one float column: filter chunks. */
static bool vector_filter(const q_plan *plan, q_vfilter *vf)
{
    if (!q_vfilter_compile(plan->field_cond, plan, vf))
        return false;
    for (uint32_t o = 0; o < plan->nouts; o++)
        if (plan->outs[o].col != vf->col)
            return false;
    return true;
}

/* Series [s0, s1) of group g into gs. */
static int scan_series(q_ctx *ctx, const q_plan *plan, const q_group *g, const crange *cr,
                       gstate *gs, uint32_t s0, uint32_t s1)
{
    uint32_t os[Q_MAX_OUTS];
    q_vfilter vf;
    bool vec = plan->field_cond && vector_filter(plan, &vf);
    scratch sc = {0};
    int rc = 0;
    for (uint32_t si = s0; rc == 0 && si < s1; si++) {
        if (plan->field_cond && !vec) {
            rc = scan_rows(ctx, plan, gs, g, si);
            continue;
        }
        /* transformations read the extended range, other calls their own
         * (the same unless extend_for_transforms widened it) */
        for (int pass = 0; pass < 2; pass++)
            for (uint32_t c = 0; rc == 0 && c < plan->ncols; c++) {
                uint32_t nos = 0;
                bool ext = pass == 0;
                for (uint32_t o = 0; o < plan->nouts && nos < Q_MAX_OUTS; o++)
                    if (plan->outs[o].col == (int)c && q_out_widens(&plan->outs[o]) == ext)
                        os[nos++] = o;
                const crange *r = &cr[(size_t)si * plan->ncols + c];
                if (nos && r->has)
                    rc = scan_column(ctx, plan, gs, g->series[si], (int)c, os, nos,
                                     vec ? &vf : NULL, &sc, r, ext ? plan->tmin : plan->ctmin,
                                     ext ? plan->tmax : plan->ctmax);
            }
    }
    cts_free(sc.ts);
    cts_free(sc.v);
    if (rc == CTS_ENOMEM && !ctx->err[0])
        q_fail(ctx, rc, "out of memory");
    return rc;
}

/* ---- output ---- */

static bool empty_at(const gstate *gs, uint32_t nouts, int64_t idx, uint32_t o)
{
    return idx < 0 || (uint64_t)idx >= gs->nb || gs->st[(uint64_t)idx * nouts + o].count == 0;
}

/* What out o gives in bucket idx (InfluxDB's points of one call):
 *   ABSENT  no point: no rows from it alone, no fill (fill applies)
 *   VALUE   a point with a value
 *   NIL     a point without a value (stddev of one point): present, and
 *           its value comes from fill as an absent one's would */
typedef enum bkind { B_ABSENT = 0, B_VALUE, B_NIL } bkind;

static bkind bucket_kind(const gstate *gs, const q_plan *plan, int64_t idx, uint32_t o, cts_qval *v,
                         int64_t *sel_ts)
{
    *v = (cts_qval){.type = CTS_Q_NULL};
    if (empty_at(gs, plan->nouts, idx, o))
        return B_ABSENT;
    if (q_agg_result(&gs->st[(uint64_t)idx * plan->nouts + o], v, sel_ts))
        return B_ABSENT;
    q_fn fn = plan->outs[o].fn;
    if (fn == Q_FN_PERCENTILE && v->type == CTS_Q_NULL)
        return B_ABSENT; /* too few points: InfluxDB emits none */
    if (fn == Q_FN_STDDEV && v->type == CTS_Q_FLOAT && v->v.f != v->v.f) {
        *v = (cts_qval){.type = CTS_Q_NULL};
        return B_NIL;
    }
    return B_VALUE;
}

/* The nearest bucket from idx in direction dir (+1/-1) where out o has a
 * value, or -1. */
static int64_t neighbour(const gstate *gs, const q_plan *plan, int64_t idx, uint32_t o, int dir,
                         cts_qval *v)
{
    int64_t i = idx + dir, ts;
    if (i < 0)
        i = dir > 0 ? 0 : -1;
    if (i >= (int64_t)gs->nb)
        i = dir > 0 ? -1 : (int64_t)gs->nb - 1;
    for (; i >= 0 && i < (int64_t)gs->nb; i += dir)
        if (bucket_kind(gs, plan, i, o, v, &ts) == B_VALUE)
            return i;
    return -1;
}

static cts_qval fill_number(const q_select *sel, cts_qtype t)
{
    const q_expr *v = sel->fill_value;
    bool is_int = v && v->kind == Q_E_INTEGER;
    double d = !v ? 0 : is_int ? (double)v->u.integer : v->u.num;
    if (t == CTS_Q_INT && is_int)
        return (cts_qval){.type = CTS_Q_INT, .v.i = v->u.integer};
    if (t == CTS_Q_INT && d >= -9.2e18 && d <= 9.2e18) /* InfluxDB casts: 1.5 -> 1 */
        return (cts_qval){.type = CTS_Q_INT, .v.i = (int64_t)d};
    if (t == CTS_Q_UINT && d >= 0 && d <= 1.8e19)
        return (cts_qval){.type = CTS_Q_UINT, .v.u = is_int ? (uint64_t)v->u.integer : (uint64_t)d};
    return (cts_qval){.type = CTS_Q_FLOAT, .v.f = d};
}

static double num_of(const cts_qval *v)
{
    return v->type == CTS_Q_FLOAT ? v->v.f : v->type == CTS_Q_INT ? (double)v->v.i : (double)v->v.u;
}

/* Per out, over the whole group: whether the call has any point, and the
 * first bucket where it does (without a lower time bound InfluxDB starts
 * each call's fill at its own first point); and the last gap fill(linear)
 * searched: its bounding buckets a and b hold for every bucket strictly
 * between lo and hi, so a gap of g buckets costs O(g), not O(g^2). */
typedef struct callspan {
    bool has;
    int64_t first;
    int64_t lin_lo, lin_hi, lin_a, lin_b;
} callspan;

static cts_qval fill_linear(const gstate *gs, const q_plan *plan, callspan *cs, int64_t idx,
                            uint32_t o)
{
    cts_qval va, vb;
    int64_t ts;
    if (!(cs->lin_lo < idx && idx < cs->lin_hi)) {
        cs->lin_a = neighbour(gs, plan, idx, o, -1, &va);
        cs->lin_b = neighbour(gs, plan, idx, o, 1, &vb);
        cs->lin_lo = cs->lin_a < 0 ? INT64_MIN : cs->lin_a;
        cs->lin_hi = cs->lin_b < 0 ? INT64_MAX : cs->lin_b;
    }
    int64_t a = cs->lin_a, b = cs->lin_b;
    if (a < 0 || b < 0 || bucket_kind(gs, plan, a, o, &va, &ts) != B_VALUE ||
        bucket_kind(gs, plan, b, o, &vb, &ts) != B_VALUE)
        return (cts_qval){.type = CTS_Q_NULL};
    if (va.type == CTS_Q_INT && vb.type == CTS_Q_INT) {
        __int128 d = (__int128)vb.v.i - va.v.i;
        int64_t r = (int64_t)(va.v.i + d * (idx - a) / (b - a));
        return (cts_qval){.type = CTS_Q_INT, .v.i = r};
    }
    if (va.type != CTS_Q_FLOAT && va.type != CTS_Q_INT && va.type != CTS_Q_UINT)
        return (cts_qval){.type = CTS_Q_NULL};
    double x = num_of(&va), y = num_of(&vb);
    return (cts_qval){.type = CTS_Q_FLOAT,
                      .v.f = x + (y - x) * (double)(idx - a) / (double)(b - a)};
}

static void call_spans(const gstate *gs, const q_plan *plan, callspan *cs)
{
    for (uint32_t o = 0; o < plan->nouts; o++) {
        cts_qval v;
        cs[o] = (callspan){.first = -1}; /* lin_lo == lin_hi: no gap cached */
        int64_t ts;
        for (uint64_t b = 0; cs[o].first < 0 && b < gs->nb; b++)
            if (bucket_kind(gs, plan, (int64_t)b, o, &v, &ts) != B_ABSENT)
                cs[o].first = (int64_t)b;
        cs[o].has = cs[o].first >= 0;
    }
}

/* Out o's value in bucket idx, filled per FILL; *present: whether the call
 * has a point there (an absent one makes no row by itself). */
static cts_qval bucket_value(q_emitter *e, const gstate *gs, const callspan *cs, int64_t idx,
                             uint32_t o, bool *present, int64_t *sel_ts)
{
    const q_plan *plan = e->plan;
    const q_select *sel = plan->sel;
    cts_qval v;
    *present = false;
    if (!cs[o].has)
        return (cts_qval){.type = CTS_Q_NULL}; /* the call has no point at all */
    bkind k = bucket_kind(gs, plan, idx, o, &v, sel_ts);
    if (k == B_VALUE) {
        e->prev[o] = v;
        *present = true;
        return v;
    }
    if (k == B_ABSENT && (!plan->tmin_set && idx < cs[o].first))
        return v; /* before the call's first point, with no lower bound */
    *present = k == B_NIL || sel->fill != Q_FILL_NONE;
    switch (sel->fill) {
    case Q_FILL_NULL:
        if (k == B_ABSENT && plan->outs[o].fn == Q_FN_COUNT)
            v = (cts_qval){.type = CTS_Q_INT, .v.i = 0};
        break;
    case Q_FILL_NONE:
        break;
    case Q_FILL_PREVIOUS:
        v = e->prev[o];
        break;
    case Q_FILL_LINEAR:
        v = fill_linear(gs, plan, (callspan *)(uintptr_t)&cs[o], idx, o);
        break;
    case Q_FILL_NUMBER: {
        cts_qtype t = CTS_Q_FLOAT;
        char msg[8];
        const q_col *c = &plan->cols[plan->outs[o].col];
        if (q_fn_check(plan->outs[o].fn, c->type, &t, msg, sizeof msg))
            t = CTS_Q_FLOAT;
        v = fill_number(sel, t);
        break;
    }
    }
    return v;
}

/* One output row per bucket of [first, last] (GROUP BY time) where some
 * call has a point. */
static int emit_buckets(q_emitter *e, const gstate *gs, const callspan *cs, int64_t first,
                        int64_t last)
{
    const q_plan *plan = e->plan;
    int64_t iv = plan->sel->interval_ns;
    uint64_t n = (uint64_t)(((__int128)last - first) / iv) + 1;
    bool desc = plan->sel->order_desc;
    cts_qval *vals = e->row + 1 + plan->nouts; /* scratch after the row */
    bool *present = e->present;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t step = desc ? n - 1 - k : k;
        int64_t t = (int64_t)((__int128)first + (__int128)step * iv);
        int64_t idx = t < gs->b0 ? -1 : (int64_t)(((__int128)t - gs->b0) / iv);
        for (uint32_t o = 0; o < plan->nouts; o++) {
            int64_t sel_ts;
            vals[o] = bucket_value(e, gs, cs, idx, o, &present[o], &sel_ts);
        }
        int rc = q_emitter_row(e, t, vals, present);
        if (rc)
            return rc;
        if ((k & 4095) == 0 && (rc = q_check_deadline(e->ctx)))
            return rc;
    }
    return 0;
}

/* A lone selector (one call, or the same call repeated: InfluxDB computes
 * it once) keeps its point's time. */
static bool lone_selector(const q_plan *plan)
{
    const q_out *a = &plan->outs[0];
    if (!q_fn_is_selector(a->fn))
        return false;
    for (uint32_t o = 1; o < plan->nouts; o++) {
        const q_out *b = &plan->outs[o];
        if (b->fn != a->fn || b->col != a->col || b->pct != a->pct)
            return false;
    }
    return true;
}

/* The one row of an aggregate without GROUP BY time. */
static int emit_single(q_emitter *e, const gstate *gs, const callspan *cs)
{
    const q_plan *plan = e->plan;
    cts_qval *vals = e->row + 1 + plan->nouts;
    int64_t sel_ts = 0;
    for (uint32_t o = 0; o < plan->nouts; o++) {
        vals[o] = (cts_qval){.type = CTS_Q_NULL};
        e->present[o] = cs[o].has && bucket_kind(gs, plan, 0, o, &vals[o], &sel_ts) != B_ABSENT;
    }
    int64_t t = plan->tmin_set ? plan->tmin : 0;
    if (lone_selector(plan))
        t = sel_ts;
    return q_emitter_row(e, t, vals, e->present);
}

/* ---- scanning a batch of groups on several threads ---- */

/* One group of a batch: its state, once it has data in range. */
typedef struct gwork {
    const q_group *g;
    crange *cr; /* per series and column */
    bool has;
    int64_t lo, hi; /* the group's data range */
    gstate gs;
} gwork;

/* What one thread scans: series [s0, s1) of w[0] into `into` (split mode),
 * or every group k with k % nthreads == t (spread mode). */
typedef struct job {
    q_ctx wctx; /* a copy: its own error message */
    const q_plan *plan;
    gwork *w;
    uint32_t n;
    bool split;
    uint32_t s0, s1, t, nthreads;
    gstate *into;
    int rc;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    if (j->split) {
        j->rc = scan_series(&j->wctx, j->plan, j->w[0].g, j->w[0].cr, j->into, j->s0, j->s1);
        return NULL;
    }
    for (uint32_t k = j->t; k < j->n && j->rc == 0; k += j->nthreads)
        if (j->w[k].has)
            j->rc = scan_series(&j->wctx, j->plan, j->w[k].g, j->w[k].cr, &j->w[k].gs, 0,
                                j->w[k].g->nseries);
    return NULL;
}

/* Fold a split's partial state into the group's. */
static int merge_state(const q_plan *plan, gstate *dst, const gstate *src)
{
    for (uint64_t i = 0; i < dst->nb * plan->nouts; i++) {
        if (src->st[i].count == 0)
            continue;
        int rc = q_agg_merge(&dst->st[i], &src->st[i]);
        if (rc)
            return rc;
    }
    return 0;
}

#define Q_BATCH 64     /* groups prepared and scanned together */
#define Q_SPLIT_MIN 16 /* series a lone group needs before it is split */
#define Q_THREADS_MAX 16
#define Q_PARALLEL_MIN_POINTS (4u << 20)

/* Scan the batch with up to opts->threads threads (this one included). */
/* Points the batch's columns hold in range or not: the work a scan may
 * decode. Below Q_PARALLEL_MIN_POINTS a second thread costs more (its
 * start, and both threads taking the database's locks and pinning the same
 * partitions) than it saves. */
static uint64_t batch_points(const q_plan *plan, const gwork *w, uint32_t n)
{
    uint64_t pts = 0;
    for (uint32_t k = 0; k < n; k++)
        for (size_t i = 0; w[k].has && i < (size_t)w[k].g->nseries * plan->ncols; i++)
            pts += w[k].cr[i].has ? w[k].cr[i].points : 0;
    return pts;
}

static int scan_batch(q_ctx *ctx, const q_plan *plan, gwork *w, uint32_t n)
{
    uint32_t nt = ctx->opts->threads ? ctx->opts->threads : 2;
    nt = nt > Q_THREADS_MAX ? Q_THREADS_MAX : nt;
    if (nt > 1 && batch_points(plan, w, n) < Q_PARALLEL_MIN_POINTS)
        nt = 1;
    bool split = n == 1 && w[0].has && w[0].g->nseries >= Q_SPLIT_MIN;
    if (nt > 1 && n == 1 && !split)
        nt = 1;
    if (nt > n && !split)
        nt = n;
    job jobs[Q_THREADS_MAX];
    gstate part[Q_THREADS_MAX];
    pthread_t th[Q_THREADS_MAX];
    memset(part, 0, sizeof part);
    bool started[Q_THREADS_MAX] = {0};
    int rc = 0;
    for (uint32_t t = 0; t < nt; t++) {
        jobs[t] = (job){.wctx = *ctx,
                        .plan = plan,
                        .w = w,
                        .n = n,
                        .split = split,
                        .t = t,
                        .nthreads = nt,
                        .into = &w[0].gs};
        jobs[t].wctx.err[0] = 0;
        if (split) {
            uint32_t ns = w[0].g->nseries;
            jobs[t].s0 = (uint32_t)((uint64_t)ns * t / nt);
            jobs[t].s1 = (uint32_t)((uint64_t)ns * (t + 1) / nt);
            if (t > 0 && (rc = gstate_init(ctx, plan, w[0].lo, w[0].hi, &part[t])))
                break;
            if (t > 0)
                jobs[t].into = &part[t];
        }
        if (t > 0 && pthread_create(&th[t], NULL, run_job, &jobs[t]) == 0)
            started[t] = true;
        else if (t > 0)
            run_job(&jobs[t]); /* no thread: do it here */
    }
    uint32_t made = rc ? 0 : nt;
    if (rc == 0)
        run_job(&jobs[0]);
    for (uint32_t t = 1; t < nt; t++)
        if (started[t])
            pthread_join(th[t], NULL);
    for (uint32_t t = 0; t < made && rc == 0; t++)
        if ((rc = jobs[t].rc))
            snprintf(ctx->err, sizeof ctx->err, "%s", jobs[t].wctx.err);
    for (uint32_t t = 1; split && t < nt; t++) {
        if (rc == 0 && part[t].st && (rc = merge_state(plan, &w[0].gs, &part[t])))
            q_fail(ctx, rc, "out of memory");
        gstate_fini(ctx, plan, &part[t]);
    }
    return rc;
}

static int emit_group(q_ctx *ctx, const q_plan *plan, gwork *w, q_slimit *sl)
{
    q_emitter e;
    callspan *cs = cts_calloc(plan->nouts + 1, sizeof *cs);
    int rc =
        cs ? q_emitter_init(ctx, plan, w->g, sl, &e) : q_fail(ctx, CTS_ENOMEM, "out of memory");
    if (rc == 0) {
        const q_select *sel = plan->sel;
        call_spans(&w->gs, plan, cs);
        e.emit_from = plan->emit_from;
        e.emit_to = plan->emit_to;
        if (sel->group_time) {
            int64_t first = q_bucket_start(plan->tmin_set ? plan->tmin : w->lo, sel->interval_ns,
                                           sel->offset_ns);
            int64_t last = q_bucket_start(plan->tmax, sel->interval_ns, sel->offset_ns);
            rc = emit_buckets(&e, &w->gs, cs, first, last);
        } else {
            rc = emit_single(&e, &w->gs, cs);
        }
        if (rc == Q_EMIT_STOP)
            rc = 0;
        if (rc == 0 && e.begun && !e.skipped)
            rc = q_emit_end(ctx);
    }
    if (cs)
        q_emitter_fini(plan, &e);
    cts_free(cs);
    return rc;
}

/* median() and percentile() keep every value they see (16 bytes each):
 * the bytes the batch's groups may need, bounded by their columns' points,
 * are charged to the query's memory before any is read. */
static uint64_t value_bytes(const q_plan *plan, const gwork *w, uint32_t n)
{
    uint64_t bytes = 0;
    for (uint32_t c = 0; c < plan->ncols; c++) {
        bool keeps = false;
        for (uint32_t o = 0; o < plan->nouts; o++)
            keeps |= plan->outs[o].col == (int)c &&
                     (plan->outs[o].fn == Q_FN_MEDIAN || plan->outs[o].fn == Q_FN_PERCENTILE);
        for (uint32_t k = 0; keeps && k < n; k++)
            for (uint32_t s = 0; w[k].has && s < w[k].g->nseries; s++)
                bytes += 16 * w[k].cr[(size_t)s * plan->ncols + c].points;
    }
    return bytes;
}

/* Groups [i, i + n): prepare, scan, emit in order. */
static int run_batch(q_ctx *ctx, const q_plan *plan, uint32_t i, uint32_t n, q_slimit *sl)
{
    gwork w[Q_BATCH];
    int rc = 0;
    memset(w, 0, sizeof w);
    for (uint32_t k = 0; k < n && rc == 0; k++) {
        /* ORDER BY time DESC also reverses the order of series */
        w[k].g = &plan->groups[plan->sel->order_desc ? plan->ngroups - 1 - (i + k) : i + k];
        w[k].cr = cts_malloc(((size_t)w[k].g->nseries * plan->ncols + 1) * sizeof(crange));
        if (!w[k].cr) {
            rc = q_fail(ctx, CTS_ENOMEM, "out of memory");
            break;
        }
        w[k].has = group_range(plan, w[k].g, w[k].cr, &w[k].lo, &w[k].hi);
        if (w[k].has)
            rc = gstate_init(ctx, plan, w[k].lo, w[k].hi, &w[k].gs);
    }
    uint64_t vbytes = rc == 0 ? value_bytes(plan, w, n) : 0;
    if (rc == 0 && vbytes > INT64_MAX / 2)
        vbytes = INT64_MAX / 2;
    if (rc == 0 && (rc = q_mem_charge(ctx, (int64_t)vbytes)))
        vbytes = 0;
    if (rc == 0)
        rc = scan_batch(ctx, plan, w, n);
    for (uint32_t k = 0; k < n && rc == 0 && sl->left != 0; k++)
        if (w[k].has)
            rc = emit_group(ctx, plan, &w[k], sl);
    for (uint32_t k = 0; k < n; k++) {
        gstate_fini(ctx, plan, &w[k].gs);
        cts_free(w[k].cr);
    }
    (void)q_mem_charge(ctx, -(int64_t)vbytes);
    return rc;
}

/* Transformations of aggregates read one interval before the range (after
 * it under DESC) so that the range's first row has its predecessor, as
 * InfluxDB does; rows outside the asked range are not emitted. */
static void extend_for_transforms(q_plan *plan)
{
    const q_select *sel = plan->sel;
    plan->emit_from = Q_NS_MIN;
    plan->emit_to = Q_NS_MAX;
    plan->ctmin = plan->tmin;
    plan->ctmax = plan->tmax;
    bool any = false;
    for (uint32_t o = 0; o < plan->nouts; o++)
        any |= q_out_widens(&plan->outs[o]);
    if (!any || !sel->group_time)
        return;
    if (!sel->order_desc && plan->tmin_set) {
        plan->emit_from = q_bucket_start(plan->tmin, sel->interval_ns, sel->offset_ns);
        plan->tmin =
            plan->tmin < Q_NS_MIN + sel->interval_ns ? Q_NS_MIN : plan->tmin - sel->interval_ns;
    } else if (sel->order_desc) {
        plan->emit_to = q_bucket_start(plan->tmax, sel->interval_ns, sel->offset_ns);
        plan->tmax =
            plan->tmax > Q_NS_MAX - sel->interval_ns ? Q_NS_MAX : plan->tmax + sel->interval_ns;
    }
}

int q_exec_agg(q_ctx *ctx, q_plan *plan, q_slimit *sl)
{
    for (uint32_t o = 0; o < plan->nouts; o++)
        if (plan->outs[o].has_xf && !plan->sel->group_time)
            return q_fail(ctx, CTS_EINVAL, "%s of an aggregate requires a GROUP BY time interval",
                          q_xf_name(plan->outs[o].xf));
    extend_for_transforms(plan);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < plan->ngroups && sl->left != 0; i += Q_BATCH) {
        uint32_t n = plan->ngroups - i < Q_BATCH ? plan->ngroups - i : Q_BATCH;
        rc = run_batch(ctx, plan, i, n, sl);
    }
    return rc;
}
