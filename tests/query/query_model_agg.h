/*
 * query_model_agg.h: the reference evaluator's computations: aggregates
 * over a window's points, the fill iterator, transformations, the join of
 * the per-call streams into rows, raw rows, and qm_eval, the entry point.
 * Included by query_model_eval.h only.
 */
#ifndef QM_AGG_H
#define QM_AGG_H

#define QM_REL 1e-9

/* a - b as a double: wrapped like Go's int64 arithmetic (wrap, InfluxDB)
 * or exact. */
static double qm_isub_f(int64_t a, int64_t b, bool wrap)
{
    return wrap ? (double)qm_wsub(a, b) : (double)((__int128)a - (__int128)b);
}

/* ---- aggregates over one window: pts[0..n) sorted by time ---- */

static bool qm_greater(const cts_qval *a, const cts_qval *b)
{
    switch (a->type) {
    case CTS_Q_FLOAT:
        return a->v.f > b->v.f;
    case CTS_Q_INT:
        return a->v.i > b->v.i;
    case CTS_Q_BOOL:
        return a->v.b && !b->v.b;
    default: {
        uint32_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
        int r = memcmp(a->v.s.ptr, b->v.s.ptr, n);
        return r > 0 || (r == 0 && a->v.s.len > b->v.s.len);
    }
    }
}

static bool qm_val_eq(const cts_qval *a, const cts_qval *b)
{
    return !qm_greater(a, b) && !qm_greater(b, a);
}

/* min/max/first/last: the FloatMinReduce... rules. */
static qm_pt qm_select(const qm_pt *p, size_t n, qm_fn fn)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        const qm_pt *b = &p[best], *x = &p[i];
        bool better;
        switch (fn) {
        case QFN_MIN:
            better = qm_greater(&b->v.v, &x->v.v) || (qm_val_eq(&b->v.v, &x->v.v) && x->t < b->t);
            break;
        case QFN_MAX:
            better = qm_greater(&x->v.v, &b->v.v) || (qm_val_eq(&b->v.v, &x->v.v) && x->t < b->t);
            break;
        case QFN_FIRST: /* BooleanFirstReduce: on a tie false wins, the greatest otherwise */
            better = x->t < b->t ||
                     (x->t == b->t && (x->v.v.type == CTS_Q_BOOL ? !x->v.v.v.b && b->v.v.v.b
                                                                 : qm_greater(&x->v.v, &b->v.v)));
            break;
        default: /* last */
            better = x->t > b->t || (x->t == b->t && qm_greater(&x->v.v, &b->v.v));
        }
        if (better)
            best = i;
    }
    qm_pt out = p[best];
    for (size_t i = 0; i < n; i++) /* another point as good: which series is not determined */
        if (i != best && p[i].t == out.t && qm_val_eq(&p[i].v.v, &out.v.v) && p[i].sidx != out.sidx)
            out.aux_any = true;
    return out;
}

static int qm_cmp_pt_value(const void *a, const void *b)
{
    const qm_pt *x = a, *y = b;
    return qm_greater(&x->v.v, &y->v.v) ? 1 : qm_greater(&y->v.v, &x->v.v) ? -1 : 0;
}

static void qm_sum(const qm_pt *p, size_t n, qm_pt *out, double *abs_sum)
{
    *abs_sum = 0;
    if (p[0].v.v.type == CTS_Q_INT) {
        int64_t s = 0;
        for (size_t i = 0; i < n; i++)
            s = qm_wadd(s, p[i].v.v.v.i);
        out->v.v = (cts_qval){.type = CTS_Q_INT, .v.i = s};
        return;
    }
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        s += p[i].v.v.v.f;
        *abs_sum += fabs(p[i].v.v.v.f);
    }
    out->v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = s};
    out->v.tol = QM_REL * *abs_sum;
}

static void qm_stddev(const qm_pt *p, size_t n, qm_pt *out)
{
    if (n < 2) {
        out->nil = true;
        out->v.any = true; /* marks it undetermined unless QF_M_STDDEV1 (qm_windows) */
        return;
    }
    double mean = 0, var = 0, maxabs = 0;
    for (size_t i = 0; i < n; i++) {
        double x = qm_num(&p[i].v.v);
        mean += (x - mean) / (double)(i + 1);
        maxabs = fmax(maxabs, fabs(x));
    }
    for (size_t i = 0; i < n; i++)
        var += (qm_num(&p[i].v.v) - mean) * (qm_num(&p[i].v.v) - mean);
    out->v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = sqrt(var / (double)(n - 1))};
    out->v.tol = QM_REL * maxabs;
}

static void qm_median(qm_pt *p, size_t n, qm_pt *out, bool wrap)
{
    qsort(p, n, sizeof *p, qm_cmp_pt_value);
    const cts_qval *lo = &p[(n - 1) / 2].v.v, *hi = &p[n / 2].v.v;
    double v;
    if (n % 2 == 1)
        v = qm_num(&p[n / 2].v.v);
    else if (lo->type == CTS_Q_INT)
        v = (double)lo->v.i + qm_isub_f(hi->v.i, lo->v.i, wrap) / 2;
    else
        v = lo->v.f + (hi->v.f - lo->v.f) / 2;
    out->v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = v};
    out->v.tol = QM_REL * fmax(fabs(qm_num(lo)), fabs(qm_num(hi)));
}

static bool qm_percentile(qm_pt *p, size_t n, double pct, qm_pt *out)
{
    long i = (long)floor((double)n * pct / 100.0 + 0.5) - 1;
    if (i < 0 || i >= (long)n)
        return false;
    qsort(p, n, sizeof *p, qm_cmp_pt_value);
    *out = p[i];
    for (size_t k = 0; k < n; k++) /* sort.Sort is not stable: a tie's time is any of them */
        if ((long)k != i && qm_val_eq(&p[k].v.v, &out->v.v) &&
            (p[k].t != out->t || p[k].sidx != out->sidx)) {
            out->t_any |= p[k].t != out->t;
            out->aux_any = true;
        }
    out->v.tol = 0;
    return true;
}

/* Reduce the window's points with fn. Returns false when the reducer
 * emits no point (percentile out of range); out->t is the selected point's
 * time for selectors, INT64_MIN for the others. */
/* The mean of integers: InfluxDB sums each series' integers in an int64
 * (wrapping), divides, and merges the series' means as floats weighted by
 * their counts (wrap); or the exact mean. */
static double qm_int_mean(const qm_pt *p, size_t n, bool wrap)
{
    if (!wrap) {
        __int128 s = 0;
        for (size_t i = 0; i < n; i++)
            s += p[i].v.v.v.i;
        return (double)s / (double)n;
    }
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = p[j].sidx == p[i].sidx;
        if (seen)
            continue;
        int64_t s = 0;
        uint64_t cnt = 0;
        for (size_t j = i; j < n; j++)
            if (p[j].sidx == p[i].sidx) {
                s = qm_wadd(s, p[j].v.v.v.i);
                cnt++;
            }
        total += (double)s / (double)cnt * (double)cnt;
    }
    return total / (double)n;
}

static bool qm_aggregate(qm_pt *p, size_t n, const qm_colspec *cs, bool wrap, qm_pt *out)
{
    memset(out, 0, sizeof *out);
    out->t = INT64_MIN;
    out->sidx = -1;
    double abs_sum;
    switch (cs->fn) {
    case QFN_COUNT:
        out->v.v = (cts_qval){.type = CTS_Q_INT, .v.i = (int64_t)n};
        return true;
    case QFN_SUM:
        qm_sum(p, n, out, &abs_sum);
        return true;
    case QFN_MEAN:
        qm_sum(p, n, out, &abs_sum);
        if (out->v.v.type == CTS_Q_INT)
            out->v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = qm_int_mean(p, n, wrap)};
        else
            out->v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = out->v.v.v.f / (double)n};
        out->v.tol = QM_REL * abs_sum / (double)n;
        return true;
    case QFN_MIN:
    case QFN_MAX:
    case QFN_FIRST:
    case QFN_LAST:
        *out = qm_select(p, n, cs->fn);
        out->v.tol = 0;
        return true;
    case QFN_SPREAD: {
        qm_pt lo = qm_select(p, n, QFN_MIN), hi = qm_select(p, n, QFN_MAX);
        if (lo.v.v.type == CTS_Q_INT)
            out->v.v = (cts_qval){.type = CTS_Q_INT, .v.i = qm_wsub(hi.v.v.v.i, lo.v.v.v.i)};
        else
            out->v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = hi.v.v.v.f - lo.v.v.v.f};
        return true;
    }
    case QFN_STDDEV:
        qm_stddev(p, n, out);
        return true;
    case QFN_MEDIAN:
        qm_median(p, n, out, wrap);
        return true;
    default:
        return qm_percentile(p, n, cs->pct, out);
    }
}

/* ---- per-call streams ---- */

/* Aggregate pts (sorted by time) per window: one point per non-empty
 * window, stamped with the window start, or for a selector statement
 * without GROUP BY time with its own time. */
static void qm_windows(const qm_ctx *c, const qm_colspec *cs, qm_pts *pts, qm_pts *out)
{
    out->n = 0;
    for (size_t i = 0; i < pts->n;) {
        int64_t w = qm_window(c, pts->p[i].t);
        size_t j = i;
        while (j < pts->n && qm_window(c, pts->p[j].t) == w)
            j++;
        qm_pt a;
        if (qm_aggregate(&pts->p[i], j - i, cs, (c->q->feats & QF_M_INTWRAP) != 0, &a)) {
            if (a.nil && a.v.any && (c->q->feats & QF_M_STDDEV1))
                a.v.any = false;
            bool own_time = c->selector_mode && !c->q->group_time;
            if (!own_time || a.t == INT64_MIN) {
                a.t = w == QM_MINTIME ? 0 : w;
                a.t_any = false;
            }
            qm_pts_push(out, &a);
        }
        i = j;
    }
}

static double qm_linear_f(int64_t wt, int64_t pt, int64_t nt, double pv, double nv)
{
    double m = (nv - pv) / (double)(nt - pt);
    double x = (double)(wt - pt);
    return m * x + pv;
}

/* The value the fill iterator constructs for an empty window. */
static qm_pt qm_fill_point(const qm_ctx *c, const qm_colspec *cs, cts_qtype type, int64_t wt,
                           const qm_pt *prev, const qm_pt *next)
{
    qm_pt p = {.t = wt, .nil = true, .sidx = -1};
    qm_fill fill = c->q->fill;
    if (fill == QFILL_NULL && cs->fn == QFN_COUNT && cs->kind == QC_AGG)
        fill = QFILL_NUMBER; /* count fills 0 for null */
    if (fill == QFILL_NULL && cs->fn == QFN_COUNT && cs->kind == QC_XF)
        fill = QFILL_NUMBER; /* the inner count's own fill iterator */
    switch (fill) {
    case QFILL_NUMBER: {
        bool is_count_zero = c->q->fill != QFILL_NUMBER;
        double f = is_count_zero ? 0 : c->q->fill_float ? c->q->fill_f : (double)c->q->fill_i;
        p.nil = false;
        if (type == CTS_Q_INT)
            p.v.v = (cts_qval){.type = CTS_Q_INT,
                               .v.i = is_count_zero      ? 0
                                      : c->q->fill_float ? (int64_t)c->q->fill_f
                                                         : c->q->fill_i};
        else if (type == CTS_Q_FLOAT)
            p.v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = f};
        else if (type == CTS_Q_STRING)
            p.v.v = qm_sval("");
        else
            p.v.v = (cts_qval){.type = CTS_Q_BOOL, .v.b = false};
        return p;
    }
    case QFILL_PREVIOUS:
        if (prev && !prev->nil) {
            p.nil = false;
            p.v = prev->v;
        }
        return p;
    case QFILL_LINEAR:
        if (prev && !prev->nil && next && (type == CTS_Q_FLOAT || type == CTS_Q_INT)) {
            int64_t iv = c->q->interval;
            int64_t w = wt / iv, a = prev->t / iv, b = next->t / iv;
            p.nil = false;
            if (type == CTS_Q_INT) {
                int64_t nv = next->nil ? 0 : next->v.v.v.i; /* a Nil point's value is 0 */
                double m = qm_isub_f(nv, prev->v.v.v.i, (c->q->feats & QF_M_INTWRAP) != 0) /
                           (double)(b - a);
                p.v.v = (cts_qval){.type = CTS_Q_INT,
                                   .v.i = (int64_t)(m * (double)(w - a) + (double)prev->v.v.v.i)};
                /* InfluxDB computes in float64 and truncates: allow for an
                 * exact integer computation (off by one, or by the float's
                 * rounding for huge values) */
                p.v.tol = 1.0 + 1e-15 * (fabs((double)nv) + fabs((double)prev->v.v.v.i));
            } else {
                double nv = next->nil ? 0 : next->v.v.v.f;
                p.v.v =
                    (cts_qval){.type = CTS_Q_FLOAT, .v.f = qm_linear_f(w, a, b, prev->v.v.v.f, nv)};
                p.v.tol = prev->v.tol + next->v.tol + QM_REL * (fabs(prev->v.v.v.f) + fabs(nv));
            }
        }
        return p;
    default:
        return p;
    }
}

/* The fill iterator over one group's stream `in` (in output order), for a
 * statement range [start, end]. */
static void qm_fill_stream(const qm_ctx *c, const qm_colspec *cs, cts_qtype type, int64_t start,
                           int64_t end, const qm_pts *in, qm_pts *out)
{
    out->n = 0;
    if (in->n == 0)
        return;
    bool asc = !c->q->desc;
    int64_t iv = c->q->interval;
    int64_t st = qm_window(c, asc ? start : end), et = qm_window(c, asc ? end : start);
    int64_t w = st == QM_MINTIME ? qm_window(c, in->p[0].t) : st;
    const qm_pt *prev = NULL;
    size_t i = 0;
    for (;;) {
        const qm_pt *p = i < in->n ? &in->p[i] : NULL;
        if (!p) {
            bool inside = asc ? w <= et : (w >= et && et != QM_MINTIME);
            if (!inside)
                return;
        }
        if (!p || (asc && p->t > w) || (!asc && p->t < w)) {
            qm_pt f = qm_fill_point(c, cs, type, w, prev, p);
            qm_pts_push(out, &f);
        } else {
            qm_pts_push(out, p);
            prev = p;
            i++;
        }
        w = asc ? w + iv : w - iv;
    }
}

static void qm_limit_stream(const qm_query *q, qm_pts *a)
{
    if (!q->limit && !q->offset_rows)
        return;
    size_t off = (size_t)q->offset_rows, k = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (i < off)
            continue;
        if (q->limit && k >= (size_t)q->limit)
            break;
        a->p[k++] = a->p[i];
    }
    a->n = k;
}

/* ---- transformations ---- */
typedef struct qm_xstate {
    bool have_prev, have_curr;
    qm_pt prev, curr;
    double ring[8];
    int64_t iring[8];
    int nring, pos;
    double sum, abs_seen, tol_seen;
    int64_t isum;
    cts_qval acc;
    bool have_acc;
} qm_xstate;

static int64_t qm_deriv_unit(const qm_ctx *c, const qm_colspec *cs)
{
    if (cs->unit_ns)
        return cs->unit_ns;
    if (cs->xf == QXF_ELAPSED)
        return 1;
    return c->q->group_time ? c->q->interval : QM_SEC;
}

static bool qm_xf_derivative(const qm_ctx *c, const qm_colspec *cs, qm_xstate *x, const qm_pt *p,
                             qm_pt *o)
{
    if (x->have_curr && x->curr.t == p->t)
        return false; /* a point that does not advance the stream */
    x->prev = x->curr;
    x->have_prev = x->have_curr;
    x->curr = *p;
    x->have_curr = true;
    if (!x->have_prev)
        return false;
    double diff = p->v.v.type == CTS_Q_INT
                      ? qm_isub_f(p->v.v.v.i, x->prev.v.v.v.i, (c->q->feats & QF_M_INTWRAP) != 0)
                      : p->v.v.v.f - x->prev.v.v.v.f;
    int64_t el = p->t - x->prev.t;
    if (c->q->desc)
        el = -el;
    double units = (double)el / (double)qm_deriv_unit(c, cs);
    x->have_prev = false;
    if (cs->xf == QXF_NN_DERIVATIVE && diff < 0)
        return false;
    o->v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = diff / units};
    o->v.tol =
        (p->v.tol + x->prev.v.tol + QM_REL * (fabs(qm_num(&p->v.v)) + fabs(qm_num(&x->prev.v.v)))) /
        fabs(units);
    return true;
}

static bool qm_xf_difference(const qm_colspec *cs, qm_xstate *x, const qm_pt *p, qm_pt *o)
{
    if (x->have_curr && x->curr.t == p->t)
        return false;
    x->prev = x->curr;
    x->have_prev = x->have_curr;
    x->curr = *p;
    x->have_curr = true;
    if (!x->have_prev)
        return false;
    bool neg;
    if (p->v.v.type == CTS_Q_INT) {
        int64_t d = qm_wsub(p->v.v.v.i, x->prev.v.v.v.i);
        o->v.v = (cts_qval){.type = CTS_Q_INT, .v.i = d};
        o->v.tol = p->v.tol + x->prev.v.tol; /* inputs from fill(linear) */
        neg = d < 0;
    } else {
        double d = p->v.v.v.f - x->prev.v.v.v.f;
        o->v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = d};
        o->v.tol = p->v.tol + x->prev.v.tol + QM_REL * (fabs(p->v.v.v.f) + fabs(x->prev.v.v.v.f));
        neg = d < 0;
    }
    if (cs->xf == QXF_NN_DIFFERENCE && neg)
        return false;
    x->have_prev = false;
    return true;
}

static bool qm_xf_moving_average(const qm_ctx *c, const qm_colspec *cs, qm_xstate *x,
                                 const qm_pt *p, qm_pt *o)
{
    int n = cs->window;
    bool is_int = p->v.v.type == CTS_Q_INT;
    if (x->nring < n) {
        x->ring[x->nring] = p->v.v.v.f;
        x->iring[x->nring++] = p->v.v.v.i;
    } else {
        x->sum -= x->ring[x->pos];
        x->isum = qm_wsub(x->isum, x->iring[x->pos]);
        x->ring[x->pos] = p->v.v.v.f;
        x->iring[x->pos] = p->v.v.v.i;
    }
    x->sum += p->v.v.v.f;
    x->isum = qm_wadd(x->isum, p->v.v.v.i);
    x->abs_seen += fabs(qm_num(&p->v.v));
    x->tol_seen += p->v.tol;
    x->pos = (x->pos + 1) % n;
    if (x->nring < n)
        return false;
    double v = x->sum / n;
    if (is_int && (c->q->feats & QF_M_INTWRAP)) {
        v = (double)x->isum / n;
    } else if (is_int) {
        __int128 exact = 0;
        for (int k = 0; k < n; k++)
            exact += x->iring[k];
        v = (double)exact / n;
    }
    o->v.v = (cts_qval){.type = CTS_Q_FLOAT, .v.f = v};
    o->v.tol = is_int ? 0 : (QM_REL * x->abs_seen + x->tol_seen) / n;
    return true;
}

static bool qm_xf_cumulative(qm_xstate *x, const qm_pt *p, qm_pt *o)
{
    if (!x->have_acc) {
        x->acc = p->v.v;
        x->have_acc = true;
    } else if (p->v.v.type == CTS_Q_INT) {
        x->acc.v.i = qm_wadd(x->acc.v.i, p->v.v.v.i);
    } else {
        x->acc.v.f += p->v.v.v.f;
    }
    x->abs_seen += fabs(qm_num(&p->v.v));
    x->tol_seen += p->v.tol;
    o->v.v = x->acc;
    o->v.tol = p->v.v.type == CTS_Q_INT ? x->tol_seen : QM_REL * x->abs_seen + x->tol_seen;
    return true;
}

static bool qm_xf_push(const qm_ctx *c, const qm_colspec *cs, qm_xstate *x, const qm_pt *p,
                       qm_pt *o)
{
    memset(o, 0, sizeof *o);
    o->t = p->t;
    o->sidx = -1;
    switch (cs->xf) {
    case QXF_DERIVATIVE:
    case QXF_NN_DERIVATIVE:
        return qm_xf_derivative(c, cs, x, p, o);
    case QXF_DIFFERENCE:
    case QXF_NN_DIFFERENCE:
        return qm_xf_difference(cs, x, p, o);
    case QXF_MOVING_AVERAGE:
        return qm_xf_moving_average(c, cs, x, p, o);
    case QXF_CUMULATIVE_SUM:
        return qm_xf_cumulative(x, p, o);
    default: /* elapsed */
        x->prev = x->curr;
        x->have_prev = x->have_curr;
        x->curr = *p;
        x->have_curr = true;
        if (!x->have_prev)
            return false;
        o->v.v = (cts_qval){.type = CTS_Q_INT, .v.i = (p->t - x->prev.t) / qm_deriv_unit(c, cs)};
        return true;
    }
}

static void qm_transform(const qm_ctx *c, const qm_colspec *cs, const qm_pts *in, qm_pts *out)
{
    qm_xstate x;
    memset(&x, 0, sizeof x);
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (in->p[i].nil)
            continue;
        qm_pt o;
        if (qm_xf_push(c, cs, &x, &in->p[i], &o))
            qm_pts_push(out, &o);
    }
}

/* True when two points of the stream share a time (their order, and so a
 * transformation's result, depends on how series are merged). */
static bool qm_has_time_ties(const qm_pts *a)
{
    for (size_t i = 1; i < a->n; i++)
        if (a->p[i].t == a->p[i - 1].t)
            return true;
    return false;
}

/* One call column's stream for group g (output order, after fill and
 * LIMIT). */
static void qm_column_stream(qm_ctx *c, const qm_colspec *cs, cts_qtype type, uint32_t g,
                             qm_pts *out, const char **ambiguous)
{
    const qm_query *q = c->q;
    qm_pts pts = {0}, win = {0};
    bool poison = false;
    int64_t start = c->start, end = c->end;
    bool extend = cs->kind == QC_XF && cs->fn != QFN_NONE && cs->xf != QXF_CUMULATIVE_SUM &&
                  (q->feats & QF_M_EXTEND);
    if (extend && !q->desc)
        start -= q->interval;
    else if (extend)
        end += q->interval;
    qm_gather(c, g, cs->field, start, end, &pts);
    if (cs->fn != QFN_NONE) {
        qm_windows(c, cs, &pts, &win);
        for (size_t i = 0; i < win.n; i++) /* a lone point's stddev, unless QF_M_STDDEV1 */
            poison |= win.p[i].nil && win.p[i].v.any;
        if (q->desc)
            qm_reverse(&win);
        if (q->group_time && q->fill != QFILL_NONE) {
            cts_qtype inner =
                cs->kind == QC_XF
                    ? qm_col_type(c->m,
                                  &(qm_colspec){.kind = QC_AGG, .field = cs->field, .fn = cs->fn})
                    : type;
            qm_fill_stream(c, cs, inner, start, end, &win, out);
        } else {
            qm_pts t = *out;
            *out = win;
            win = t;
        }
    } else {
        if (q->desc)
            qm_reverse(&pts);
        qm_pts t = *out;
        *out = pts;
        pts = t;
        if (cs->kind == QC_XF && qm_has_time_ties(out))
            *ambiguous = "several series share a time in a transformed raw stream";
    }
    if (cs->kind == QC_XF) {
        qm_pts t = *out;
        qm_transform(c, cs, &t, &win);
        *out = win;
        win = t;
    }
    if (q->feats & QF_M_LIMIT_CALL)
        qm_limit_stream(q, out);
    out->any_all = poison;
    for (size_t i = 0; poison && i < out->n; i++)
        out->p[i].v.any = true;
    cts_free(pts.p);
    cts_free(win.p);
}

/* ---- joining the streams into rows ---- */

static qm_v qm_aux_value(const qm_ctx *c, const qm_colspec *cs, const qm_pt *sel)
{
    qm_v v = {.v = {.type = CTS_Q_NULL}};
    if (!sel || sel->sidx < 0 || sel->nil)
        return v;
    if (sel->aux_any) {
        v.any = true;
        return v;
    }
    const qm_series *s = &c->m->s[sel->sidx];
    if (cs->kind == QC_TAG) {
        if (s->tag[cs->field])
            v.v = qm_sval(s->tag[cs->field]);
        return v;
    }
    const cts_qval *fv = qm_col_at(&s->col[cs->field], sel->t);
    if (fv)
        v.v = *fv;
    return v;
}

static qm_v qm_default_value(const qm_ctx *c, cts_qtype type, const qm_v *last)
{
    qm_v v = {.v = {.type = CTS_Q_NULL}};
    if (c->q->fill == QFILL_PREVIOUS)
        return last ? *last : v;
    if (c->q->fill == QFILL_NUMBER) {
        if (type == CTS_Q_INT)
            v.v = (cts_qval){.type = CTS_Q_INT,
                             .v.i = c->q->fill_float ? (int64_t)c->q->fill_f : c->q->fill_i};
        else if (type == CTS_Q_FLOAT)
            v.v = (cts_qval){.type = CTS_Q_FLOAT,
                             .v.f = c->q->fill_float ? c->q->fill_f : (double)c->q->fill_i};
    }
    return v;
}

/* multiScannerCursor for one group: repeatedly take the earliest (latest,
 * descending) head time over the streams; every stream whose head is at
 * that time contributes its value. */
static void qm_join(qm_ctx *c, qm_pts *streams, qm_rseries *out, int sel_col)
{
    size_t pos[QM_MAX_OUT] = {0};
    qm_v last[QM_MAX_OUT];
    bool have_last[QM_MAX_OUT] = {false};
    bool asc = !c->q->desc;
    for (;;) {
        int64_t ts = 0;
        bool any = false, t_any = false;
        for (uint32_t k = 0; k < c->ncols; k++) {
            if (c->col[k].kind != QC_AGG && c->col[k].kind != QC_XF)
                continue;
            if (pos[k] >= streams[k].n)
                continue;
            int64_t t = streams[k].p[pos[k]].t;
            if (!any || (asc ? t < ts : t > ts)) {
                ts = t;
                t_any = streams[k].p[pos[k]].t_any;
            }
            any = true;
        }
        if (!any)
            return;
        qm_row *row = qm_rseries_add(out);
        row->t = ts;
        row->t_any = t_any;
        const qm_pt *sel = NULL;
        for (uint32_t k = 0; k < c->ncols; k++) {
            if (c->col[k].kind != QC_AGG && c->col[k].kind != QC_XF)
                continue;
            const qm_pt *p = pos[k] < streams[k].n && streams[k].p[pos[k]].t == ts
                                 ? &streams[k].p[pos[k]++]
                                 : NULL;
            if ((int)k == sel_col)
                sel = p;
            if (p && !p->nil) {
                row->val[k] = p->v;
                last[k] = p->v;
                have_last[k] = true;
            } else {
                row->val[k] = qm_default_value(c, c->ctype[k], have_last[k] ? &last[k] : NULL);
                if (!(c->q->feats & QF_M_SCANNER) &&
                    (c->q->fill == QFILL_PREVIOUS || c->q->fill == QFILL_NUMBER))
                    row->val[k].any = true;
                if (!(c->q->feats & QF_M_EMPTY) && streams[k].n == 0)
                    row->val[k].any = true;
                if (streams[k].any_all)
                    row->val[k].any = true;
                if (c->q->fill == QFILL_NUMBER && c->ctype[k] != CTS_Q_INT &&
                    c->ctype[k] != CTS_Q_FLOAT)
                    row->val[k].any = true; /* a raw number in a string column: not modelled */
            }
        }
        for (uint32_t k = 0; k < c->ncols; k++)
            if (c->col[k].kind == QC_FIELD || c->col[k].kind == QC_TAG)
                row->val[k] = qm_aux_value(c, &c->col[k], sel);
    }
}

/* ---- raw rows ---- */

typedef struct qm_rawrow {
    int64_t t;
    int sidx;
} qm_rawrow;

static int qm_cmp_rawrow(const void *a, const void *b)
{
    const qm_rawrow *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->sidx > y->sidx) - (x->sidx < y->sidx);
}

static void qm_raw_group(qm_ctx *c, uint32_t g, qm_rseries *out, const char **ambiguous)
{
    qm_rawrow *rr = NULL;
    size_t n = 0, cap = 0;
    for (uint32_t s = 0; s < c->m->nseries; s++) {
        if (c->group_of[s] != (int)g)
            continue;
        const qm_series *se = &c->m->s[s];
        /* the union of the selected fields' times (tags drive no rows) */
        for (uint32_t k = 0; k < c->ncols; k++) {
            if (c->col[k].kind != QC_FIELD)
                continue;
            const qm_col *col = &se->col[c->col[k].field];
            for (uint32_t i = 0; i < col->n; i++) {
                int64_t t = col->ts[i];
                if (t < c->start || t > c->end || !qm_point_passes(c, se, t))
                    continue;
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    rr = cts_realloc(rr, cap * sizeof *rr);
                    assert_non_null(rr);
                }
                rr[n++] = (qm_rawrow){t, (int)s};
            }
        }
    }
    if (n)
        qsort(rr, n, sizeof *rr, qm_cmp_rawrow);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || rr[k - 1].t != rr[i].t || rr[k - 1].sidx != rr[i].sidx)
            rr[k++] = rr[i];
    n = k;
    for (size_t i = 0, j = n; c->q->desc && i + 1 < j; i++, j--) {
        qm_rawrow t = rr[i];
        rr[i] = rr[j - 1];
        rr[j - 1] = t;
    }
    size_t off = (size_t)c->q->offset_rows, lim = c->q->limit ? (size_t)c->q->limit : n;
    size_t from = off < n ? off : n, to = from + lim < n ? from + lim : n;
    if ((from > 0 && from < n && rr[from].t == rr[from - 1].t) ||
        (to > 0 && to < n && rr[to].t == rr[to - 1].t))
        *ambiguous = "LIMIT/OFFSET cuts between rows of equal time";
    for (size_t i = from; i < to; i++) {
        qm_row *row = qm_rseries_add(out);
        row->t = rr[i].t;
        for (uint32_t kk = 0; kk < c->ncols; kk++) {
            qm_pt sel = {.t = rr[i].t, .sidx = rr[i].sidx};
            row->val[kk] = qm_aux_value(c, &c->col[kk], &sel);
        }
    }
    cts_free(rr);
}

/* ---- the statement ---- */

static void qm_eval_group(qm_ctx *c, uint32_t g, qm_rseries *out, const char **ambiguous)
{
    bool calls = false;
    for (uint32_t k = 0; k < c->ncols; k++)
        calls |= c->col[k].kind == QC_AGG || c->col[k].kind == QC_XF;
    if (!calls) {
        qm_raw_group(c, g, out, ambiguous);
        return;
    }
    qm_pts streams[QM_MAX_OUT];
    memset(streams, 0, sizeof streams);
    int sel_col = -1;
    for (uint32_t k = 0; k < c->ncols; k++) {
        if (c->col[k].kind != QC_AGG && c->col[k].kind != QC_XF)
            continue;
        if (sel_col < 0)
            sel_col = (int)k;
        qm_column_stream(c, &c->col[k], c->ctype[k], g, &streams[k], ambiguous);
    }
    qm_join(c, streams, out, sel_col);
    if (!(c->q->feats & QF_M_LIMIT_CALL)) { /* LIMIT/OFFSET over the joined rows */
        size_t off = (size_t)c->q->offset_rows, from = off < out->n ? off : out->n;
        size_t to = c->q->limit && from + (size_t)c->q->limit < out->n ? from + (size_t)c->q->limit
                                                                       : out->n;
        if (to > from && from > 0)
            memmove(out->rows, out->rows + from, (to - from) * sizeof *out->rows);
        out->n = to - from;
    }
    for (uint32_t k = 0; k < c->ncols; k++)
        cts_free(streams[k].p);
}

static void qm_ctx_init(qm_ctx *c, const qm_query *q, const qm_data *d, int64_t now)
{
    memset(c, 0, sizeof *c);
    c->q = q;
    c->d = d;
    c->m = &d->m[q->meas];
    c->now = now;
    c->start = !q->has_lo ? QM_MINTIME : q->lo_incl ? q->lo : q->lo + 1;
    c->end = !q->has_hi ? (q->group_time ? now : QM_MAXTIME) : q->hi_incl ? q->hi : q->hi - 1;
    for (uint32_t i = 0; i < q->npreds; i++) {
        const qm_pred *p = &q->pred[i];
        if (p->kind == QP_TAG && (p->op == QO_RE || p->op == QO_NRE)) {
            int rc = regcomp(&c->re[i], p->lit.v.s.ptr, REG_EXTENDED | REG_NOSUB);
            assert_int_equal(rc, 0);
            c->re_ok[i] = true;
        }
    }
}

static void qm_ctx_fini(qm_ctx *c)
{
    for (uint32_t i = 0; i < QM_MAX_PREDS; i++)
        if (c->re_ok[i])
            regfree(&c->re[i]);
}

/* The WHERE clause over a series' tags alone: 0 false, 1 true, 2 unknown
 * (it depends on field values). */
static int qm_pred_tags(const qm_ctx *c, const qm_series *s, int i)
{
    const qm_pred *p = &c->q->pred[i];
    if (p->kind == QP_FIELD)
        return 2;
    if (p->kind == QP_TAG)
        return qm_pred_true(c, s, 0, i) ? 1 : 0;
    int a = qm_pred_tags(c, s, p->a), b = qm_pred_tags(c, s, p->b);
    if (p->kind == QP_AND)
        return a == 0 || b == 0 ? 0 : a == 1 && b == 1 ? 1 : 2;
    return a == 1 || b == 1 ? 1 : a == 0 && b == 0 ? 0 : 2;
}

static void qm_slimit_check(qm_ctx *c, qm_result *res)
{
    for (uint32_t g = 0; g < c->ngroups; g++) {
        bool has_rows = false, selectable = false;
        for (size_t i = 0; i < res->nseries && !has_rows; i++) {
            bool same = true;
            for (int k = 0; k < res->ndims; k++) {
                const char *v = c->m->s[c->group_rep[g]].tag[res->dims[k]];
                same &= strcmp(v ? v : "", res->series[i].tagv[k]) == 0;
            }
            has_rows = same;
        }
        for (uint32_t s = 0; s < c->m->nseries; s++)
            if (c->group_of[s] == (int)g)
                selectable |= c->q->where < 0 || qm_pred_tags(c, &c->m->s[s], c->q->where) != 0;
        if (!has_rows && selectable)
            res->ambiguous = "SLIMIT/SOFFSET with a group that has no points in the range";
    }
}

/* The expected result of q over d (now_ns: the value of now()). */
static void qm_eval(const qm_query *q, const qm_data *d, int64_t now, qm_result *res)
{
    qm_ctx c;
    memset(res, 0, sizeof *res);
    qm_ctx_init(&c, q, d, now);
    qm_expand_columns(&c);
    res->ncols = c.ncols;
    for (uint32_t k = 0; k < c.ncols; k++)
        c.ctype[k] = qm_col_type(c.m, &c.col[k]);
    qm_column_names(&c, res);
    c.selector_mode = qm_selector_mode(&c);
    qm_make_groups(&c, res);
    res->raw = true;
    for (uint32_t k = 0; k < c.ncols; k++)
        res->raw &= c.col[k].kind == QC_FIELD || c.col[k].kind == QC_TAG;
    if (c.start <= c.end) {
        res->series = cts_calloc(c.ngroups ? c.ngroups : 1, sizeof *res->series);
        assert_non_null(res->series);
        for (uint32_t i = 0; i < c.ngroups; i++) {
            uint32_t g = c.order[i];
            qm_rseries *s = &res->series[res->nseries];
            qm_eval_group(&c, g, s, &res->ambiguous);
            if (s->n == 0) {
                cts_free(s->rows);
                memset(s, 0, sizeof *s);
                continue;
            }
            for (int k = 0; k < res->ndims; k++) {
                const char *v = c.m->s[c.group_rep[g]].tag[res->dims[k]];
                s->tagv[k] = v ? v : "";
            }
            res->nseries++;
        }
    }
    /* SLIMIT / SOFFSET over the series that have rows. InfluxDB counts the
     * tag sets of the index instead, which include groups whose series
     * match the tag conditions but have no points in the range: such a
     * group makes the result undetermined here. */
    if ((q->slimit || q->soffset) && c.start <= c.end)
        qm_slimit_check(&c, res);
    size_t from = (size_t)q->soffset < res->nseries ? (size_t)q->soffset : res->nseries;
    size_t to = q->slimit && from + (size_t)q->slimit < res->nseries ? from + (size_t)q->slimit
                                                                     : res->nseries;
    for (size_t i = 0; i < res->nseries; i++)
        if (i < from || i >= to)
            cts_free(res->series[i].rows);
    if (to > from && from > 0)
        memmove(res->series, res->series + from, (to - from) * sizeof *res->series);
    res->nseries = to - from;
    qm_ctx_fini(&c);
}

#endif
