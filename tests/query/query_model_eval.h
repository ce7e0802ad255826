/*
 * query_model_eval.h: the reference evaluator of the query model test. It
 * computes a statement's expected result from the in-memory model by
 * InfluxDB 1.x's rules, naively and independently of query/. The rules
 * were taken from InfluxDB 1.x's query engine (query/select.go,
 * iterator.go, iterator.gen.go.tmpl, call_iterator.go, functions.go,
 * cursor.go, compile.go) and are restated where they are used:
 *
 *   - time range: `time > t` starts at t + 1, `time < t` ends at t - 1; no
 *     lower bound is MinTime; no upper bound is now() for GROUP BY time
 *     queries and MaxTime otherwise.
 *   - every call (aggregate or transformation) is its own stream of points
 *     per group: aggregate per window, stamp the window start, fill, then
 *     LIMIT/OFFSET per group; the streams are then joined on (group, time)
 *     into rows (multiScannerCursor). A column absent at a row gets the
 *     fill value cast to its type (fill(number)), keeps the column's last
 *     value in the series (fill(previous)), or null.
 *   - a statement whose only call is a selector (min, max, first, last,
 *     percentile) without GROUP BY time returns the selected point's own
 *     time; otherwise an aggregate's time is its window start (the range
 *     start, 0 when unbounded, without GROUP BY time).
 *   - derivative, difference, moving_average and elapsed over an aggregate
 *     read one extra interval before the range (after it, descending).
 *   - output series are ordered by tag values; ORDER BY time DESC reverses
 *     that order too.
 */
#ifndef QM_EVAL_H
#define QM_EVAL_H

#include "query_model_query.h"

#include <regex.h>

#define QM_MAX_OUT 12

typedef struct qm_pt {
    int64_t t;
    bool t_any; /* the time is one of several tied points' */
    bool nil;   /* InfluxDB's Nil point: present, but null */
    qm_v v;
    int sidx;     /* the series of a selected point (aux values), -1: unknown */
    bool aux_any; /* several points tie: aux values are not determined */
} qm_pt;

typedef struct qm_pts {
    qm_pt *p;
    size_t n, cap;
    bool any_all; /* every value of the stream is undetermined (see QF_M_STDDEV1) */
} qm_pts;

typedef struct qm_row {
    int64_t t;
    bool t_any;
    qm_v val[QM_MAX_OUT];
} qm_row;

typedef struct qm_rseries {
    const char *tagv[QM_NTAGS]; /* group values ("" when absent), by dim */
    qm_row *rows;
    size_t n, cap;
} qm_rseries;

typedef struct qm_result {
    uint32_t ncols; /* without time */
    char colname[QM_MAX_OUT][48];
    int ndims;
    int dims[QM_NTAGS]; /* tag indices, sorted by key */
    qm_rseries *series;
    size_t nseries;
    bool raw;              /* rows of equal time may come in any order */
    const char *ambiguous; /* non-NULL: the result is not determined (why) */
} qm_result;

/* Everything the evaluation of one statement needs. */
typedef struct qm_ctx {
    const qm_query *q;
    const qm_data *d;
    const qm_meas *m;
    int64_t now;
    int64_t start, end; /* the statement's range, inclusive */
    uint32_t ncols;
    qm_colspec col[QM_MAX_OUT];
    cts_qtype ctype[QM_MAX_OUT];
    bool selector_mode;
    regex_t re[QM_MAX_PREDS];
    bool re_ok[QM_MAX_PREDS];
    /* groups */
    uint32_t ngroups;
    int group_of[QM_MAX_SERIES];
    uint32_t group_rep[QM_MAX_SERIES]; /* a series of each group */
    uint32_t order[QM_MAX_SERIES];     /* groups in output order */
} qm_ctx;

static void qm_pts_push(qm_pts *a, const qm_pt *p)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->p = cts_realloc(a->p, a->cap * sizeof *a->p);
        assert_non_null(a->p);
    }
    a->p[a->n++] = *p;
}

static void qm_result_free(qm_result *r)
{
    for (size_t i = 0; i < r->nseries; i++)
        cts_free(r->series[i].rows);
    cts_free(r->series);
    memset(r, 0, sizeof *r);
}

static qm_row *qm_rseries_add(qm_rseries *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->rows = cts_realloc(s->rows, s->cap * sizeof *s->rows);
        assert_non_null(s->rows);
    }
    qm_row *r = &s->rows[s->n++];
    memset(r, 0, sizeof *r);
    return r;
}

/* ---- wrapping integer arithmetic, as Go does it ---- */
static int64_t qm_wadd(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
static int64_t qm_wsub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static double qm_num(const cts_qval *v)
{
    return v->type == CTS_Q_INT ? (double)v->v.i : v->v.f;
}

/* ---- windows (IteratorOptions.Window, no time zone) ---- */
static int64_t qm_window(const qm_ctx *c, int64_t t)
{
    const qm_query *q = c->q;
    if (!q->group_time)
        return c->start;
    int64_t iv = q->interval, off = q->offset;
    t = qm_wsub(t, off);
    int64_t dt = t % iv;
    if (dt < 0)
        dt += iv;
    int64_t start = (QM_MINTIME + dt >= t) ? QM_MINTIME : t - dt;
    return qm_wadd(start, off);
}

/* ---- conditions ---- */
static int qm_cmp_num(const cts_qval *a, const cts_qval *b)
{
    if (a->type == CTS_Q_INT && b->type == CTS_Q_INT)
        return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    double x = qm_num(a), y = qm_num(b);
    return x < y ? -1 : x > y;
}

static bool qm_op_holds(qm_op op, int cmp)
{
    switch (op) {
    case QO_EQ:
        return cmp == 0;
    case QO_NEQ:
        return cmp != 0;
    case QO_LT:
        return cmp < 0;
    case QO_LTE:
        return cmp <= 0;
    case QO_GT:
        return cmp > 0;
    default:
        return cmp >= 0;
    }
}

static bool qm_pred_true(const qm_ctx *c, const qm_series *s, int64_t t, int i)
{
    const qm_pred *p = &c->q->pred[i];
    switch (p->kind) {
    case QP_AND:
        return qm_pred_true(c, s, t, p->a) && qm_pred_true(c, s, t, p->b);
    case QP_OR:
        return qm_pred_true(c, s, t, p->a) || qm_pred_true(c, s, t, p->b);
    case QP_TAG: {
        const char *v = s->tag[p->a] ? s->tag[p->a] : "";
        if (p->op == QO_RE || p->op == QO_NRE) {
            bool m = regexec(&c->re[i], v, 0, NULL, 0) == 0;
            return p->op == QO_RE ? m : !m;
        }
        return qm_op_holds(p->op, strcmp(v, p->lit.v.s.ptr));
    }
    default: {
        const cts_qval *v = qm_col_at(&s->col[p->a], t);
        if (!v) /* null compares false, != included */
            return false;
        if (v->type == CTS_Q_STRING)
            return qm_op_holds(p->op, strcmp(v->v.s.ptr, p->lit.v.s.ptr) != 0);
        if (v->type == CTS_Q_BOOL)
            return qm_op_holds(p->op, v->v.b != p->lit.v.b);
        return qm_op_holds(p->op, qm_cmp_num(v, &p->lit));
    }
    }
}

static bool qm_point_passes(const qm_ctx *c, const qm_series *s, int64_t t)
{
    return c->q->where < 0 || qm_pred_true(c, s, t, c->q->where);
}

/* ---- columns ---- */
static cts_qtype qm_col_type(const qm_meas *m, const qm_colspec *cs)
{
    if (cs->kind == QC_TAG)
        return CTS_Q_STRING;
    cts_qtype ft = qm_qtype_of(m->ftype[cs->field]);
    cts_qtype in = ft;
    if (cs->fn != QFN_NONE) {
        switch (cs->fn) {
        case QFN_COUNT:
            in = CTS_Q_INT;
            break;
        case QFN_MEAN:
        case QFN_MEDIAN:
        case QFN_STDDEV:
            in = CTS_Q_FLOAT;
            break;
        default:
            in = ft;
        }
    }
    if (cs->kind != QC_XF)
        return in;
    switch (cs->xf) {
    case QXF_ELAPSED:
        return CTS_Q_INT;
    case QXF_DIFFERENCE:
    case QXF_NN_DIFFERENCE:
    case QXF_CUMULATIVE_SUM:
        return in;
    default:
        return CTS_Q_FLOAT;
    }
}

static const char *qm_col_base_name(const qm_meas *m, const qm_colspec *cs)
{
    if (cs->star_alias[0])
        return cs->star_alias;
    switch (cs->kind) {
    case QC_FIELD:
        return m->fname[cs->field];
    case QC_TAG:
        return qm_tag_keys[cs->field];
    case QC_AGG:
        return qm_fn_names[cs->fn];
    default:
        return qm_xf_names[cs->xf];
    }
}

/* SelectStatement.ColumnNames: aliases first, then generated names with
 * "_N" suffixes on conflicts. */
typedef struct qm_name_count {
    char name[48];
    int count;
} qm_name_count;

static int qm_nc_find(const qm_name_count *t, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, s) == 0)
            return i;
    return -1;
}

static int qm_nc_add(qm_name_count *t, int *n, const char *s, int count)
{
    snprintf(t[*n].name, sizeof t[*n].name, "%s", s);
    t[*n].count = count;
    return (*n)++;
}

static void qm_column_names(qm_ctx *c, qm_result *res)
{
    qm_name_count names[QM_MAX_OUT * 4];
    int nn = 0;
    for (uint32_t i = 0; i < c->ncols; i++) {
        res->colname[i][0] = 0;
        const char *a = c->col[i].alias[0] ? c->col[i].alias : c->col[i].star_alias;
        if (!a[0])
            continue;
        snprintf(res->colname[i], sizeof res->colname[i], "%s", a);
        int k = qm_nc_find(names, nn, a);
        if (k < 0)
            qm_nc_add(names, &nn, a, 1);
        else
            names[k].count = 1;
    }
    for (uint32_t i = 0; i < c->ncols; i++) {
        if (res->colname[i][0])
            continue;
        char name[48];
        snprintf(name, sizeof name, "%s", qm_col_base_name(c->m, &c->col[i]));
        int k = qm_nc_find(names, nn, name);
        if (k >= 0) {
            for (int count = names[k].count;; count++) {
                char resolved[64];
                snprintf(resolved, sizeof resolved, "%.40s_%d", name, count);
                if (qm_nc_find(names, nn, resolved) < 0) {
                    names[k].count = count + 1;
                    snprintf(name, sizeof name, "%.47s", resolved);
                    break;
                }
            }
        }
        k = qm_nc_find(names, nn, name);
        if (k < 0)
            qm_nc_add(names, &nn, name, 1);
        else
            names[k].count++;
        snprintf(res->colname[i], sizeof res->colname[i], "%s", name);
    }
}

static bool qm_is_dim(const qm_ctx *c, int tag)
{
    const qm_query *q = c->q;
    if (q->gmode == 2)
        return true;
    for (int i = 0; q->gmode == 1 && i < q->ngtags; i++)
        if (q->gtag_order[i] == tag)
            return true;
    return false;
}

/* Expand * and fn(*) (RewriteFields): fields and, for *, the tag keys that
 * are not GROUP BY dimensions, sorted by name. */
static void qm_expand_columns(qm_ctx *c)
{
    const qm_query *q = c->q;
    const qm_meas *m = c->m;
    c->ncols = 0;
    if (!q->star && !q->countstar) {
        for (uint32_t i = 0; i < q->ncols; i++)
            c->col[c->ncols++] = q->col[i];
        return;
    }
    const char *names[QM_MAX_OUT];
    qm_colspec cols[QM_MAX_OUT];
    uint32_t n = 0;
    for (uint32_t f = 0; f < m->nfields; f++) {
        if (q->countstar && !qm_numeric(m->ftype[f]) && q->star_fn != QFN_COUNT &&
            q->star_fn != QFN_FIRST && q->star_fn != QFN_LAST)
            continue;
        cols[n] =
            (qm_colspec){.kind = q->star ? QC_FIELD : QC_AGG, .field = (int)f, .fn = q->star_fn};
        if (q->countstar)
            snprintf(cols[n].star_alias, sizeof cols[n].star_alias, "%s_%s",
                     qm_fn_names[q->star_fn], m->fname[f]);
        names[n++] = m->fname[f];
    }
    for (int k = 0; q->star && k < QM_NTAGS; k++) {
        if (!m->has_tag[k] || qm_is_dim(c, k))
            continue;
        cols[n] = (qm_colspec){.kind = QC_TAG, .field = k};
        names[n++] = qm_tag_keys[k];
    }
    for (uint32_t i = 0; i < n; i++) { /* selection sort by name */
        uint32_t best = i;
        for (uint32_t j = i + 1; j < n; j++)
            if (strcmp(names[j], names[best]) < 0)
                best = j;
        const char *tn = names[i];
        qm_colspec tc = cols[i];
        names[i] = names[best];
        cols[i] = cols[best];
        names[best] = tn;
        cols[best] = tc;
        c->col[c->ncols++] = cols[i];
    }
}

static bool qm_same_call(const qm_colspec *a, const qm_colspec *b)
{
    return a->kind == b->kind && a->field == b->field && a->fn == b->fn && a->xf == b->xf &&
           a->pct == b->pct && a->pct_float == b->pct_float && a->unit_ns == b->unit_ns &&
           a->window == b->window;
}

/* buildCursor: a selector statement has exactly one distinct call and it
 * is a selector. */
static bool qm_selector_mode(const qm_ctx *c)
{
    int first = -1;
    for (uint32_t i = 0; i < c->ncols; i++) {
        const qm_colspec *cs = &c->col[i];
        if (cs->kind != QC_AGG && cs->kind != QC_XF)
            continue;
        if (first < 0)
            first = (int)i;
        else if (!qm_same_call(&c->col[first], cs))
            return false;
    }
    return first >= 0 && c->col[first].kind == QC_AGG && qm_fn_selector(c->col[first].fn);
}

/* ---- groups ---- */
static int qm_group_cmp(const qm_ctx *c, uint32_t sa, uint32_t sb)
{
    for (int k = 0; k < QM_NTAGS; k++) {
        if (!qm_is_dim(c, k))
            continue;
        const char *a = c->m->s[sa].tag[k] ? c->m->s[sa].tag[k] : "";
        const char *b = c->m->s[sb].tag[k] ? c->m->s[sb].tag[k] : "";
        int r = strcmp(a, b);
        if (r)
            return r;
    }
    return 0;
}

static void qm_make_groups(qm_ctx *c, qm_result *res)
{
    res->ndims = 0;
    for (int k = 0; k < QM_NTAGS; k++)
        if (qm_is_dim(c, k) && (c->q->gmode == 1 || c->m->has_tag[k]))
            res->dims[res->ndims++] = k;
    c->ngroups = 0;
    for (uint32_t s = 0; s < c->m->nseries; s++) {
        uint32_t g;
        for (g = 0; g < c->ngroups && qm_group_cmp(c, c->group_rep[g], s) != 0; g++)
            ;
        if (g == c->ngroups)
            c->group_rep[c->ngroups++] = s;
        c->group_of[s] = (int)g;
    }
    for (uint32_t g = 0; g < c->ngroups; g++)
        c->order[g] = g;
    for (uint32_t i = 1; i < c->ngroups; i++) {
        for (uint32_t j = i; j > 0; j--) {
            int r = qm_group_cmp(c, c->group_rep[c->order[j - 1]], c->group_rep[c->order[j]]);
            if ((c->q->desc && (c->q->feats & QF_M_DESC_SERIES)) ? r >= 0 : r <= 0)
                break;
            uint32_t t = c->order[j];
            c->order[j] = c->order[j - 1];
            c->order[j - 1] = t;
        }
    }
}

/* ---- gathering points ---- */

/* The points of field f of group g with start <= t <= end that pass the
 * WHERE clause, by time (series order on ties). */
static void qm_gather(const qm_ctx *c, uint32_t g, int f, int64_t start, int64_t end, qm_pts *out)
{
    out->n = 0;
    for (uint32_t s = 0; s < c->m->nseries; s++) {
        if (c->group_of[s] != (int)g)
            continue;
        const qm_series *se = &c->m->s[s];
        const qm_col *col = &se->col[f];
        for (uint32_t i = 0; i < col->n; i++) {
            if (col->ts[i] < start || col->ts[i] > end || !qm_point_passes(c, se, col->ts[i]))
                continue;
            qm_pt p = {.t = col->ts[i], .v = {.v = col->v[i]}, .sidx = (int)s};
            qm_pts_push(out, &p);
        }
    }
    for (size_t i = 1; i < out->n; i++) { /* stable insertion sort by time */
        qm_pt p = out->p[i];
        size_t j = i;
        while (j > 0 && out->p[j - 1].t > p.t) {
            out->p[j] = out->p[j - 1];
            j--;
        }
        out->p[j] = p;
    }
}

static void qm_reverse(qm_pts *a)
{
    for (size_t i = 0, j = a->n; i + 1 < j; i++, j--) {
        qm_pt t = a->p[i];
        a->p[i] = a->p[j - 1];
        a->p[j - 1] = t;
    }
}

#include "query_model_agg.h"

#endif
