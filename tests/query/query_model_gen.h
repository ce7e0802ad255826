/*
 * query_model_gen.h: the random statement generator of the query model
 * test. It only builds statements InfluxDB 1.x accepts and whose result
 * the reference can determine (see the comments on each restriction).
 */
#ifndef QM_GEN_H
#define QM_GEN_H

#include "query_model_query.h"

#define QM_MAX_BUCKETS 1500

static int qm_pick_field(cts_rng *r, const qm_meas *m, bool numeric_only)
{
    for (int tries = 0; tries < 32; tries++) {
        int f = (int)cts_rng_below(r, m->nfields);
        if (!numeric_only || qm_numeric(m->ftype[f]))
            return f;
    }
    return -1;
}

static qm_fn qm_pick_fn(cts_rng *r, uint64_t feats, cts_type t)
{
    static const qm_fn numeric[] = {QFN_COUNT,      QFN_SUM,  QFN_MEAN,   QFN_MIN,    QFN_MAX,
                                    QFN_FIRST,      QFN_LAST, QFN_SPREAD, QFN_STDDEV, QFN_MEDIAN,
                                    QFN_PERCENTILE, QFN_MEAN, QFN_COUNT,  QFN_MAX};
    static const qm_fn any[] = {QFN_COUNT, QFN_FIRST, QFN_LAST};
    for (;;) {
        qm_fn fn = qm_numeric(t) ? numeric[cts_rng_below(r, sizeof numeric / sizeof *numeric)]
                                 : any[cts_rng_below(r, 3)];
        if (!(feats & QF_PCT) && fn == QFN_PERCENTILE)
            continue;
        if (!(feats & QF_MEDIAN) && (fn == QFN_MEDIAN || fn == QFN_SPREAD))
            continue;
        if (!(feats & QF_STDDEV) && fn == QFN_STDDEV)
            continue;
        return fn;
    }
}

static void qm_gen_alias(cts_rng *r, uint64_t feats, qm_colspec *c, uint32_t i, const qm_meas *m)
{
    if (!(feats & QF_ALIAS) || cts_rng_below(r, 4) != 0)
        return;
    switch (cts_rng_below(r, 4)) {
    case 0: /* collides with a generated name */
        snprintf(c->alias, sizeof c->alias, "%s",
                 c->kind == QC_AGG ? qm_fn_names[c->fn] : m->fname[cts_rng_below(r, m->nfields)]);
        break;
    case 1:
        snprintf(c->alias, sizeof c->alias, "%s_1", c->kind == QC_AGG ? qm_fn_names[c->fn] : "x");
        break;
    default:
        snprintf(c->alias, sizeof c->alias, "a%u", i + 1);
    }
}

static void qm_gen_percentile(cts_rng *r, uint64_t feats, qm_colspec *c)
{
    /* i = floor(n * p / 100 + 0.5) - 1 is in range for every n >= 1 when p >= 50 */
    static const double pcts[] = {50, 50, 75, 90, 99, 100, 66.7, 0, 1, 5, 25, 33.3};
    c->pct = pcts[cts_rng_below(r, (feats & QF_PCTLOW) ? 12 : 7)];
    c->pct_float = c->pct != floor(c->pct) || cts_rng_below(r, 4) == 0;
}

static void qm_gen_agg_col(cts_rng *r, uint64_t feats, const qm_meas *m, qm_colspec *c)
{
    bool strfn = (feats & QF_STRFN) && cts_rng_below(r, 4) == 0;
    int f = qm_pick_field(r, m, !strfn);
    if (f < 0)
        f = 0;
    c->kind = QC_AGG;
    c->field = f;
    c->fn = qm_pick_fn(r, feats, m->ftype[f]);
    if (c->fn == QFN_PERCENTILE)
        qm_gen_percentile(r, feats, c);
}

/* ---- WHERE ---- */

static int qm_new_pred(qm_query *q, qm_pkind k)
{
    assert_true(q->npreds < QM_MAX_PREDS);
    int i = (int)q->npreds++;
    q->pred[i] = (qm_pred){.kind = k};
    return i;
}

static const char *const qm_regexes[] = {"^lis",  "o", "^s1$", "^$",  "^(porto|oslo)$",
                                         "[0-9]", ".", "^s1",  "x|z", "^new york$"};

static int qm_gen_tag_pred(cts_rng *r, uint64_t feats, qm_query *q, const qm_meas *m)
{
    int i = qm_new_pred(q, QP_TAG);
    qm_pred *p = &q->pred[i];
    p->a = (int)cts_rng_below(r, QM_NTAGS);
    if ((feats & QF_WREGEX) && cts_rng_below(r, 3) == 0) {
        p->op = cts_rng_below(r, 2) ? QO_RE : QO_NRE;
        p->lit = qm_sval(qm_regexes[cts_rng_below(r, sizeof qm_regexes / sizeof *qm_regexes)]);
        return i;
    }
    p->op = cts_rng_below(r, 3) ? QO_EQ : QO_NEQ;
    uint64_t k = cts_rng_below(r, 10);
    const char *v = m->s[cts_rng_below(r, m->nseries)].tag[p->a];
    if (k == 0 || !v)
        v = k == 1 ? "nowhere" : "";
    p->lit = qm_sval(v);
    return i;
}

static int qm_gen_field_pred(cts_rng *r, qm_query *q, const qm_meas *m)
{
    int i = qm_new_pred(q, QP_FIELD);
    qm_pred *p = &q->pred[i];
    p->a = (int)cts_rng_below(r, m->nfields);
    switch (m->ftype[p->a]) {
    case CTS_TYPE_FLOAT:
        p->op = (qm_op)(1 + cts_rng_below(r, 6));
        p->lit = (cts_qval){.type = CTS_Q_FLOAT,
                            .v.f = (double)((int64_t)cts_rng_below(r, 1201) - 200) / 10.0};
        break;
    case CTS_TYPE_INT:
        p->op = (qm_op)(1 + cts_rng_below(r, 6));
        p->lit = (cts_qval){.type = CTS_Q_INT, .v.i = (int64_t)cts_rng_below(r, 600) - 100};
        break;
    case CTS_TYPE_BOOL:
        p->op = cts_rng_below(r, 2) ? QO_EQ : QO_NEQ;
        p->lit = (cts_qval){.type = CTS_Q_BOOL, .v.b = cts_rng_below(r, 2)};
        break;
    default:
        p->op = cts_rng_below(r, 2) ? QO_EQ : QO_NEQ;
        p->lit = qm_sval(qm_strings[cts_rng_below(r, sizeof qm_strings / sizeof *qm_strings)]);
    }
    return i;
}

static int qm_gen_pred(cts_rng *r, uint64_t feats, qm_query *q, const qm_meas *m, int depth)
{
    bool tag = feats & QF_WTAG, field = feats & QF_WFIELD;
    if (depth > 0 && q->npreds + 3 < QM_MAX_PREDS && cts_rng_below(r, 3) == 0) {
        int a = qm_gen_pred(r, feats, q, m, depth - 1);
        int b = qm_gen_pred(r, feats, q, m, depth - 1);
        int i = qm_new_pred(q, (feats & QF_WOR) && cts_rng_below(r, 2) ? QP_OR : QP_AND);
        q->pred[i].a = a;
        q->pred[i].b = b;
        return i;
    }
    if (tag && (!field || cts_rng_below(r, 2)))
        return qm_gen_tag_pred(r, feats, q, m);
    return qm_gen_field_pred(r, q, m);
}

/* ---- time range ---- */

static int64_t qm_some_time(cts_rng *r, const qm_data *d, const qm_meas *m)
{
    uint64_t k = cts_rng_below(r, 10);
    if (k < 3) { /* exactly a point's time, or next to it */
        for (int tries = 0; tries < 8; tries++) {
            const qm_col *c = &m->s[cts_rng_below(r, m->nseries)].col[cts_rng_below(r, m->nfields)];
            if (c->n)
                return c->ts[cts_rng_below(r, c->n)] + (int64_t)cts_rng_below(r, 3) - 1;
        }
    }
    int64_t t = d->t_lo - 6 * QM_HOUR +
                (int64_t)cts_rng_below(r, (uint64_t)(d->t_hi - d->t_lo + 12 * QM_HOUR));
    if (k < 6)
        t -= t % QM_MIN;
    else if (k < 8)
        t -= t % QM_HOUR;
    return t;
}

static void qm_gen_range(cts_rng *r, uint64_t feats, qm_query *q, const qm_data *d, bool need_hi,
                         bool need_lo)
{
    const qm_meas *m = &d->m[q->meas];
    q->has_lo = need_lo || cts_rng_below(r, 3) != 0;
    q->has_hi = need_hi || cts_rng_below(r, 2) != 0;
    q->lo = qm_some_time(r, d, m);
    q->hi = cts_rng_below(r, 30) == 0
                ? q->lo - (int64_t)cts_rng_below(r, QM_HOUR)
                : q->lo + 1 + (int64_t)cts_rng_below(r, (uint64_t)(d->t_hi - d->t_lo + QM_DAY));
    if (cts_rng_below(r, 4) == 0)
        q->hi = qm_some_time(r, d, m);
    q->lo_incl = cts_rng_below(r, 2);
    q->hi_incl = cts_rng_below(r, 2);
    q->lo_int = (feats & QF_INTTIME) && cts_rng_below(r, 3) == 0;
    q->hi_int = (feats & QF_INTTIME) && cts_rng_below(r, 3) == 0;
    q->lo_now = (feats & QF_NOW) && cts_rng_below(r, 6) == 0;
}

/* The earliest time of the measurement (the first bucket of a GROUP BY
 * time query without a lower bound is the bucket of a group's first
 * point). */
static int64_t qm_meas_first(const qm_meas *m)
{
    int64_t t = INT64_MAX;
    for (uint32_t s = 0; s < m->nseries; s++)
        for (uint32_t f = 0; f < m->nfields; f++)
            if (m->s[s].col[f].n && m->s[s].col[f].ts[0] < t)
                t = m->s[s].col[f].ts[0];
    return t;
}

static void qm_gen_group_time(cts_rng *r, uint64_t feats, qm_query *q, const qm_data *d)
{
    static const int64_t intervals[] = {QM_SEC,      10 * QM_SEC, QM_MIN,  5 * QM_MIN,
                                        7 * QM_MIN,  15 * QM_MIN, QM_HOUR, 90 * QM_MIN,
                                        3 * QM_HOUR, 6 * QM_HOUR, QM_DAY,  150 * QM_MIN};
    static const int64_t offsets[] = {
        15 * QM_MIN, -15 * QM_MIN, 30 * QM_SEC, -QM_HOUR, 2 * QM_HOUR, 7 * QM_MIN, 0};
    int64_t lo = q->has_lo ? q->lo : qm_meas_first(&d->m[q->meas]);
    int64_t span = (q->has_hi ? q->hi : QM_NOW) - lo;
    if (span < 1)
        span = 1;
    q->group_time = true;
    for (int tries = 0;; tries++) {
        q->interval = intervals[cts_rng_below(r, sizeof intervals / sizeof *intervals)];
        if (span / q->interval < QM_MAX_BUCKETS || tries > 50)
            break;
    }
    if (span / q->interval >= QM_MAX_BUCKETS)
        q->interval = QM_DAY;
    if ((feats & QF_OFFSET) && q->has_lo && cts_rng_below(r, 3) == 0) {
        q->offset_given = true;
        q->offset_lit = offsets[cts_rng_below(r, sizeof offsets / sizeof *offsets)];
        q->offset = q->offset_lit % q->interval;
    }
}

static void qm_gen_group_tags(cts_rng *r, uint64_t feats, qm_query *q)
{
    uint64_t k = cts_rng_below(r, 8);
    if ((feats & QF_GSTAR) && k == 0) {
        q->gmode = 2;
    } else if ((feats & QF_GTAGS) && k < 4) {
        q->gmode = 1;
        q->ngtags = 1 + (int)cts_rng_below(r, 2);
        q->gtag_order[0] = (int)cts_rng_below(r, 2);
        q->gtag_order[1] = 1 - q->gtag_order[0];
    }
}

static void qm_gen_fill(cts_rng *r, uint64_t feats, qm_query *q, bool numeric_cols)
{
    if (!(feats & QF_FILL) || cts_rng_below(r, 3) == 0)
        return;
    q->fill_given = true;
    uint64_t k = cts_rng_below(r, 5);
    if (k == 0)
        q->fill = QFILL_NULL;
    else if (k == 1)
        q->fill = QFILL_NONE;
    else if (k == 2)
        q->fill = QFILL_PREVIOUS;
    else if (k == 3 && (feats & QF_LINEAR))
        q->fill = QFILL_LINEAR;
    else if (numeric_cols) {
        q->fill = QFILL_NUMBER;
        q->fill_float = (feats & QF_FILLFLOAT) && cts_rng_below(r, 3) == 0;
        q->fill_i = (int64_t)cts_rng_below(r, 21) - 1;
        q->fill_f = (double)((int64_t)cts_rng_below(r, 41) - 10) / 4.0;
    } else {
        q->fill = QFILL_NONE;
    }
}

static void qm_gen_tail(cts_rng *r, uint64_t feats, qm_query *q, bool allow_limit)
{
    q->desc = (feats & QF_DESC) && cts_rng_below(r, 4) == 0;
    if (allow_limit && (feats & QF_LIMIT) && cts_rng_below(r, 5) == 0) {
        q->limit = cts_rng_below(r, 4) ? 1 + (int64_t)cts_rng_below(r, 8) : 0;
        q->offset_rows = cts_rng_below(r, 2) ? (int64_t)cts_rng_below(r, 5) : 0;
    }
    if ((feats & QF_SLIMIT) && cts_rng_below(r, 8) == 0) {
        q->slimit = cts_rng_below(r, 4) ? 1 + (int64_t)cts_rng_below(r, 3) : 0;
        q->soffset = cts_rng_below(r, 2) ? (int64_t)cts_rng_below(r, 3) : 0;
    }
}

/* ---- statement kinds ---- */

static void qm_gen_raw(cts_rng *r, uint64_t feats, qm_query *q, const qm_meas *m)
{
    if ((feats & QF_STAR) && cts_rng_below(r, 3) == 0) {
        q->star = true;
        return;
    }
    q->ncols = 1 + (uint32_t)cts_rng_below(r, 3);
    for (uint32_t i = 0; i < q->ncols; i++) {
        q->col[i] = (qm_colspec){.kind = QC_FIELD, .field = (int)cts_rng_below(r, m->nfields)};
        qm_gen_alias(r, feats, &q->col[i], i, m);
    }
    if ((feats & QF_TAGCOL) && cts_rng_below(r, 3) == 0) {
        qm_colspec *c = &q->col[q->ncols++];
        *c = (qm_colspec){.kind = QC_TAG, .field = (int)cts_rng_below(r, QM_NTAGS)};
    }
}

static bool qm_gen_countstar(cts_rng *r, uint64_t feats, qm_query *q)
{
    static const qm_fn fns[] = {QFN_COUNT, QFN_FIRST, QFN_LAST, QFN_MEAN, QFN_SUM};
    if (!(feats & QF_COUNTSTAR) || cts_rng_below(r, 8) != 0)
        return false;
    q->countstar = true;
    q->star_fn = fns[cts_rng_below(r, (feats & QF_STRFN) ? 5 : 2) + ((feats & QF_STRFN) ? 0 : 3)];
    return true;
}

static bool qm_all_numeric(const qm_query *q, const qm_meas *m)
{
    for (uint32_t i = 0; i < q->ncols; i++) {
        const qm_colspec *c = &q->col[i];
        if ((c->fn == QFN_FIRST || c->fn == QFN_LAST) && !qm_numeric(m->ftype[c->field]))
            return false;
    }
    return !(q->countstar && (q->star_fn == QFN_FIRST || q->star_fn == QFN_LAST));
}

static void qm_gen_aggs(cts_rng *r, uint64_t feats, qm_query *q, const qm_meas *m,
                        bool allow_selaux)
{
    if (qm_gen_countstar(r, feats, q))
        return;
    q->ncols = 1 + (uint32_t)cts_rng_below(r, 4);
    for (uint32_t i = 0; i < q->ncols; i++) {
        if ((feats & QF_DUPCALL) && i > 0 && cts_rng_below(r, 10) == 0)
            q->col[i] = q->col[cts_rng_below(r, i)];
        else
            qm_gen_agg_col(r, feats, m, &q->col[i]);
        q->col[i].alias[0] = 0;
        qm_gen_alias(r, feats, &q->col[i], i, m);
    }
    if (allow_selaux && (feats & QF_SELAUX) && cts_rng_below(r, 6) == 0) {
        static const qm_fn sels[] = {QFN_FIRST, QFN_LAST, QFN_MIN, QFN_MAX};
        q->ncols = 1;
        q->col[0].fn = sels[cts_rng_below(r, 4)];
        if (!qm_numeric(m->ftype[q->col[0].field]))
            q->col[0].fn = cts_rng_below(r, 2) ? QFN_FIRST : QFN_LAST;
        uint32_t naux = 1 + (uint32_t)cts_rng_below(r, 2);
        for (uint32_t i = 0; i < naux; i++) {
            bool tag = (feats & QF_TAGCOL) && cts_rng_below(r, 3) == 0;
            q->col[q->ncols++] =
                (qm_colspec){.kind = tag ? QC_TAG : QC_FIELD,
                             .field = (int)cts_rng_below(r, tag ? QM_NTAGS : m->nfields)};
        }
    }
}

static void qm_gen_xf_col(cts_rng *r, uint64_t feats, const qm_meas *m, qm_colspec *c,
                          bool over_agg)
{
    static const int64_t units[] = {QM_SEC, QM_MIN, QM_HOUR, 10 * QM_SEC, 1, QM_DAY};
    c->kind = QC_XF;
    c->xf = (qm_xf)(1 + cts_rng_below(r, 7));
    bool any_type = c->xf == QXF_ELAPSED && !over_agg && (feats & QF_STRFN);
    c->field = qm_pick_field(r, m, !any_type);
    if (c->field < 0) {
        c->field = 0;
        c->xf = QXF_ELAPSED;
    }
    if (over_agg) {
        for (;;) {
            c->fn = qm_pick_fn(r, feats, m->ftype[c->field]);
            if (c->fn == QFN_STDDEV && !(feats & QF_M_STDDEV1))
                continue; /* a lone point's NaN would change which rows exist */
            if (c->fn != QFN_FIRST && c->fn != QFN_LAST && c->fn != QFN_COUNT)
                break;
            if (qm_numeric(m->ftype[c->field]) || c->fn == QFN_COUNT)
                break;
        }
        if (c->fn == QFN_PERCENTILE)
            qm_gen_percentile(r, feats, c);
    }
    if (c->xf == QXF_MOVING_AVERAGE)
        c->window = 2 + (int)cts_rng_below(r, 4);
    else if ((c->xf == QXF_DERIVATIVE || c->xf == QXF_NN_DERIVATIVE || c->xf == QXF_ELAPSED) &&
             cts_rng_below(r, 2))
        c->unit_ns = units[cts_rng_below(r, sizeof units / sizeof *units)];
}

/* InfluxDB computes identical calls once (so max(x), max(x) is a
 * selector statement); without QF_DUPCALL such a repeat is dropped. */
static void qm_drop_dup_calls(qm_query *q)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < q->ncols; i++) {
        const qm_colspec *a = &q->col[i];
        bool dup = false;
        for (uint32_t j = 0; j < k && (a->kind == QC_AGG || a->kind == QC_XF); j++) {
            const qm_colspec *b = &q->col[j];
            dup |= a->kind == b->kind && a->field == b->field && a->fn == b->fn && a->xf == b->xf &&
                   a->pct == b->pct && a->pct_float == b->pct_float && a->unit_ns == b->unit_ns &&
                   a->window == b->window;
        }
        if (!dup)
            q->col[k++] = *a;
    }
    q->ncols = k;
}

typedef enum qm_kind { QK_RAW, QK_AGG, QK_GTIME, QK_XF_RAW, QK_XF_AGG } qm_kind;

static qm_kind qm_pick_kind(cts_rng *r, uint64_t feats)
{
    static const struct {
        qm_kind k;
        uint64_t need;
        int weight;
    } kinds[] = {{QK_RAW, QF_RAW, 3},
                 {QK_AGG, QF_AGG, 3},
                 {QK_GTIME, QF_GTIME, 5},
                 {QK_XF_RAW, QF_XF_RAW, 2},
                 {QK_XF_AGG, QF_XF_AGG | QF_GTIME, 2}};
    int total = 0;
    for (size_t i = 0; i < 5; i++)
        if ((feats & kinds[i].need) == kinds[i].need)
            total += kinds[i].weight;
    assert_true(total > 0);
    int k = (int)cts_rng_below(r, (uint64_t)total);
    for (size_t i = 0; i < 5; i++) {
        if ((feats & kinds[i].need) != kinds[i].need)
            continue;
        if (k < kinds[i].weight)
            return kinds[i].k;
        k -= kinds[i].weight;
    }
    return QK_RAW;
}

/* One random statement over d's measurement q->meas. */
static void qm_gen_query(cts_rng *r, uint64_t feats, const qm_data *d, qm_query *q)
{
    memset(q, 0, sizeof *q);
    q->where = -1;
    q->feats = feats;
    q->meas = (uint32_t)cts_rng_below(r, d->nmeas);
    const qm_meas *m = &d->m[q->meas];
    qm_kind kind = qm_pick_kind(r, feats);
    bool gtime = kind == QK_GTIME || kind == QK_XF_AGG;
    bool nolower = gtime && kind == QK_GTIME && (feats & QF_NOLOWER) && cts_rng_below(r, 6) == 0;
    qm_gen_range(r, feats, q, d, gtime, gtime && !nolower);
    if (nolower)
        q->has_lo = false;
    if (kind == QK_GTIME && !nolower && (feats & QF_NOUPPER) && cts_rng_below(r, 8) == 0)
        q->has_hi = false; /* now() is the upper bound */
    if ((feats & (QF_WTAG | QF_WFIELD)) && cts_rng_below(r, 2))
        q->where = qm_gen_pred(r, feats, q, m, 2);
    qm_gen_group_tags(r, feats, q);
    switch (kind) {
    case QK_RAW:
        qm_gen_raw(r, feats, q, m);
        break;
    case QK_AGG:
        qm_gen_aggs(r, feats, q, m, true);
        break;
    case QK_GTIME:
        qm_gen_aggs(r, feats, q, m, false);
        qm_gen_group_time(r, feats, q, d);
        qm_gen_fill(r, feats, q, qm_all_numeric(q, m));
        break;
    case QK_XF_RAW:
        q->ncols = (feats & QF_XFMULTI) ? 1 + (uint32_t)cts_rng_below(r, 2) : 1;
        for (uint32_t i = 0; i < q->ncols; i++) {
            qm_gen_xf_col(r, feats, m, &q->col[i], false);
            qm_gen_alias(r, feats, &q->col[i], i, m);
        }
        break;
    case QK_XF_AGG:
        q->ncols = 1 + (uint32_t)cts_rng_below(r, 3);
        for (uint32_t i = 0; i < q->ncols; i++) {
            if ((feats & QF_XFMIX) && i > 0 && cts_rng_below(r, 3) == 0)
                qm_gen_agg_col(r, feats & ~QF_STRFN, m, &q->col[i]);
            else
                qm_gen_xf_col(r, feats, m, &q->col[i], true);
            qm_gen_alias(r, feats, &q->col[i], i, m);
        }
        qm_gen_group_time(r, feats, q, d);
        qm_gen_fill(r, feats, q, qm_all_numeric(q, m));
        break;
    }
    if (q->star && !(feats & QF_STARGROUP))
        q->gmode = 0;
    if (!(feats & QF_DUPCALL))
        qm_drop_dup_calls(q);
    qm_gen_tail(r, feats, q, true);
    qm_render(q, d);
}

#endif
