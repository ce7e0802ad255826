/*
 * query_model_query.h: random SELECT statements for the query model test.
 * A statement is generated as a structure (qm_query), rendered to InfluxQL
 * text for the engine under test, and evaluated from the structure by the
 * reference (query_model_eval.h): the reference never parses text.
 *
 * Every feature the generator can use sits behind a bit of qm_features, so
 * a feature the executor does not support yet can be switched off
 * (CTS_QUERY_FEATURES="-linear,-xf_agg" on the command line of the test).
 */
#ifndef QM_QUERY_H
#define QM_QUERY_H

#include "query_model_data.h"

#include <stdio.h>
#include <time.h>

/* The value of now() in the random statements (opts.now_ns). */
#define QM_NOW (QM_T0 + 30 * QM_DAY)

/* ---- features ---- */
enum {
    QF_RAW = 1u << 0,        /* SELECT fields */
    QF_STAR = 1u << 1,       /* SELECT * */
    QF_TAGCOL = 1u << 2,     /* a tag key among raw columns */
    QF_AGG = 1u << 3,        /* aggregates without GROUP BY time */
    QF_GTIME = 1u << 4,      /* GROUP BY time(...) */
    QF_OFFSET = 1u << 5,     /* time(i, offset) */
    QF_GTAGS = 1u << 6,      /* GROUP BY tag keys */
    QF_GSTAR = 1u << 7,      /* GROUP BY * */
    QF_WTAG = 1u << 8,       /* tag predicates */
    QF_WREGEX = 1u << 9,     /* =~ !~ */
    QF_WFIELD = 1u << 10,    /* field predicates */
    QF_WOR = 1u << 11,       /* OR and parentheses */
    QF_FILL = 1u << 12,      /* fill(null|none|number|previous) */
    QF_LINEAR = 1u << 13,    /* fill(linear) */
    QF_DESC = 1u << 14,      /* ORDER BY time DESC */
    QF_LIMIT = 1u << 15,     /* LIMIT / OFFSET */
    QF_SLIMIT = 1u << 16,    /* SLIMIT / SOFFSET */
    QF_XF_RAW = 1u << 17,    /* transformations of raw fields */
    QF_XF_AGG = 1u << 18,    /* transformations of aggregates (GROUP BY time) */
    QF_ALIAS = 1u << 19,     /* AS */
    QF_STRFN = 1u << 20,     /* count/first/last of strings and booleans */
    QF_PCT = 1u << 21,       /* percentile */
    QF_MEDIAN = 1u << 22,    /* median, stddev, spread */
    QF_NOLOWER = 1u << 23,   /* GROUP BY time without a lower time bound */
    QF_SELAUX = 1u << 24,    /* a selector with fields or tags: max(x), y */
    QF_INTTIME = 1u << 25,   /* integer nanosecond time literals */
    QF_DUPCALL = 1u << 26,   /* the same call twice */
    QF_COUNTSTAR = 1u << 27, /* count(*) and friends */
};
#define QF_STARGROUP (1ull << 28) /* SELECT * with GROUP BY tags */
#define QF_STDDEV (1ull << 29)    /* stddev */
#define QF_FILLFLOAT (1ull << 30) /* fill(2.5): cast to integer columns */
/* Strictness of the reference (not generator features): switched off, the
 * reference accepts a simpler behaviour than InfluxDB's. */
#define QF_M_DESC_SERIES (1ull << 32) /* ORDER BY time DESC also reverses the series order */
#define QF_M_LIMIT_CALL (1ull << 33)  /* LIMIT/OFFSET apply to each call's points, not to rows */
#define QF_M_SCANNER                                                                               \
    (1ull << 34) /* a call without a point at a row: fill(previous) keeps the                      \
                  * column's last value, fill(x) gives x */
#define QF_M_EMPTY                                                                                 \
    (1ull << 35)                /* a group (or call) without points has no rows (no 0/null fill)   \
                                 */
#define QF_PCTLOW (1ull << 36)  /* percentiles below 50 (out of range for few points: no point) */
#define QF_XFMULTI (1ull << 37) /* several transformations of raw fields in one statement */
#define QF_M_INTWRAP                                                                               \
    (1ull << 38)                /* integer means, medians, derivatives wrap as in Go (else exact) */
#define QF_NOW (1ull << 39)     /* time >= now() - 3d4h... */
#define QF_NOUPPER (1ull << 40) /* GROUP BY time without an upper bound (now()) */
#define QF_M_EXTEND (1ull << 41)  /* transformations of aggregates read one interval early */
#define QF_M_STDDEV1 (1ull << 42) /* stddev of one point is a null point (not NaN) */
#define QF_XFMIX (1ull << 43)     /* derivative(mean(x)) next to plain aggregates */
#define QF_ALL ((1ull << 44) - 1)

static const struct {
    const char *name;
    uint64_t bit;
} qm_feature_names[] = {
    {"raw", QF_RAW},
    {"star", QF_STAR},
    {"tagcol", QF_TAGCOL},
    {"agg", QF_AGG},
    {"gtime", QF_GTIME},
    {"offset", QF_OFFSET},
    {"gtags", QF_GTAGS},
    {"gstar", QF_GSTAR},
    {"wtag", QF_WTAG},
    {"wregex", QF_WREGEX},
    {"wfield", QF_WFIELD},
    {"wor", QF_WOR},
    {"fill", QF_FILL},
    {"linear", QF_LINEAR},
    {"desc", QF_DESC},
    {"limit", QF_LIMIT},
    {"slimit", QF_SLIMIT},
    {"xf_raw", QF_XF_RAW},
    {"xf_agg", QF_XF_AGG},
    {"alias", QF_ALIAS},
    {"strfn", QF_STRFN},
    {"pct", QF_PCT},
    {"median", QF_MEDIAN},
    {"nolower", QF_NOLOWER},
    {"selaux", QF_SELAUX},
    {"inttime", QF_INTTIME},
    {"dupcall", QF_DUPCALL},
    {"countstar", QF_COUNTSTAR},
    {"stargroup", QF_STARGROUP},
    {"stddev", QF_STDDEV},
    {"fillfloat", QF_FILLFLOAT},
    {"pctlow", QF_PCTLOW},
    {"xfmulti", QF_XFMULTI},
    {"m_desc_series", QF_M_DESC_SERIES},
    {"m_limit_call", QF_M_LIMIT_CALL},
    {"m_scanner", QF_M_SCANNER},
    {"m_empty", QF_M_EMPTY},
    {"now", QF_NOW},
    {"noupper", QF_NOUPPER},
    {"m_extend", QF_M_EXTEND},
    {"m_stddev1", QF_M_STDDEV1},
    {"xfmix", QF_XFMIX},
    {"m_intwrap", QF_M_INTWRAP},
};

/* ---- functions ---- */
typedef enum qm_fn {
    QFN_NONE = 0,
    QFN_COUNT,
    QFN_SUM,
    QFN_MEAN,
    QFN_MIN,
    QFN_MAX,
    QFN_FIRST,
    QFN_LAST,
    QFN_SPREAD,
    QFN_STDDEV,
    QFN_MEDIAN,
    QFN_PERCENTILE,
} qm_fn;

static const char *const qm_fn_names[] = {"",       "count",  "sum",    "mean",
                                          "min",    "max",    "first",  "last",
                                          "spread", "stddev", "median", "percentile"};

typedef enum qm_xf {
    QXF_NONE = 0,
    QXF_DERIVATIVE,
    QXF_NN_DERIVATIVE,
    QXF_DIFFERENCE,
    QXF_NN_DIFFERENCE,
    QXF_MOVING_AVERAGE,
    QXF_CUMULATIVE_SUM,
    QXF_ELAPSED,
} qm_xf;

static const char *const qm_xf_names[] = {"",
                                          "derivative",
                                          "non_negative_derivative",
                                          "difference",
                                          "non_negative_difference",
                                          "moving_average",
                                          "cumulative_sum",
                                          "elapsed"};

static bool qm_fn_selector(qm_fn fn)
{
    return fn == QFN_MIN || fn == QFN_MAX || fn == QFN_FIRST || fn == QFN_LAST ||
           fn == QFN_PERCENTILE;
}

/* ---- the statement ---- */
typedef enum qm_ckind { QC_FIELD = 1, QC_TAG, QC_AGG, QC_XF } qm_ckind;

typedef struct qm_colspec {
    qm_ckind kind;
    int field; /* QC_FIELD, QC_AGG, QC_XF: field index; QC_TAG: tag index */
    qm_fn fn;  /* QC_AGG; QC_XF: the inner aggregate or QFN_NONE */
    double pct;
    bool pct_float; /* rendered as 50.0 rather than 50 */
    qm_xf xf;
    int64_t unit_ns; /* 0: not given */
    int window;
    char alias[24];
    char star_alias[40]; /* count(*) expansion: count_<field> */
} qm_colspec;

typedef enum qm_pkind { QP_AND = 1, QP_OR, QP_TAG, QP_FIELD } qm_pkind;
typedef enum qm_op { QO_EQ = 1, QO_NEQ, QO_LT, QO_LTE, QO_GT, QO_GTE, QO_RE, QO_NRE } qm_op;
static const char *const qm_op_text[] = {"", "=", "!=", "<", "<=", ">", ">=", "=~", "!~"};

typedef struct qm_pred {
    qm_pkind kind;
    qm_op op;
    int a, b;     /* QP_AND/QP_OR: children; QP_TAG/QP_FIELD: a = tag or field index */
    cts_qval lit; /* QP_FIELD literal; QP_TAG: string (also the regex source) */
} qm_pred;

typedef enum qm_fill {
    QFILL_NULL = 0,
    QFILL_NONE,
    QFILL_PREVIOUS,
    QFILL_LINEAR,
    QFILL_NUMBER
} qm_fill;

#define QM_MAX_COLS 8
#define QM_MAX_PREDS 16

typedef struct qm_query {
    uint32_t meas;
    bool star;      /* SELECT * (columns expanded by the evaluator) */
    bool countstar; /* SELECT <fn>(*) */
    qm_fn star_fn;
    uint32_t ncols;
    qm_colspec col[QM_MAX_COLS];
    uint32_t npreds;
    qm_pred pred[QM_MAX_PREDS];
    int where; /* root predicate, -1: none */
    bool has_lo, lo_incl, has_hi, hi_incl;
    int64_t lo, hi;
    bool lo_int, hi_int; /* rendered as integers */
    bool lo_now;         /* rendered as now() - duration (opts.now_ns is fixed) */
    bool group_time;
    int64_t interval, offset_lit, offset; /* offset = offset_lit % interval */
    bool offset_given;
    int gmode; /* 0 none, 1 tag list, 2 * */
    int gtag_order[QM_NTAGS];
    int ngtags;
    qm_fill fill;
    bool fill_given;
    bool fill_float;
    double fill_f;
    int64_t fill_i;
    bool desc;
    int64_t limit, offset_rows, slimit, soffset;
    uint64_t feats; /* the features it was generated with (the reference reads the QF_M_ bits) */
    char text[2048];
} qm_query;

/* ---- rendering ---- */
typedef struct qm_buf {
    char *p;
    size_t len, cap;
} qm_buf;

static void qm_printf(qm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qm_printf(qm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < b->cap - b->len);
    b->len += (size_t)n;
}

static void qm_fmt_duration(qm_buf *b, int64_t ns)
{
    static const struct {
        int64_t ns;
        const char *u;
    } units[] = {{QM_DAY, "d"}, {QM_HOUR, "h"},  {QM_MIN, "m"},
                 {QM_SEC, "s"}, {1000000, "ms"}, {1, "ns"}};
    if (ns < 0) {
        qm_printf(b, "-");
        ns = -ns;
    }
    if (ns == 0) {
        qm_printf(b, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (ns >= units[i].ns && ns / units[i].ns > 0) {
            int64_t q = ns / units[i].ns;
            qm_printf(b, "%lld%s", (long long)q, units[i].u);
            ns -= q * units[i].ns;
        }
    }
}

static void qm_fmt_time(qm_buf *b, int64_t ns, bool as_int)
{
    if (as_int) {
        qm_printf(b, "%lld", (long long)ns);
        return;
    }
    int64_t sec = ns / QM_SEC, frac = ns % QM_SEC;
    if (frac < 0) {
        frac += QM_SEC;
        sec--;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    qm_printf(b, "'%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
              tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac) {
        char f[16];
        snprintf(f, sizeof f, "%09lld", (long long)frac);
        size_t n = 9;
        while (n > 1 && f[n - 1] == '0')
            n--;
        f[n] = 0;
        qm_printf(b, ".%s", f);
    }
    qm_printf(b, "Z'");
}

static void qm_fmt_string(qm_buf *b, const char *s)
{
    qm_printf(b, "'");
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            qm_printf(b, "\\");
        qm_printf(b, "%c", *s);
    }
    qm_printf(b, "'");
}

static void qm_fmt_float(qm_buf *b, double f)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.6f", f);
    size_t n = strlen(tmp);
    while (n > 2 && tmp[n - 1] == '0' && tmp[n - 2] != '.')
        n--;
    tmp[n] = 0;
    qm_printf(b, "%s", tmp);
}

static void qm_fmt_pred(qm_buf *b, const qm_query *q, const qm_meas *m, int i)
{
    const qm_pred *p = &q->pred[i];
    switch (p->kind) {
    case QP_AND:
    case QP_OR:
        qm_printf(b, "(");
        qm_fmt_pred(b, q, m, p->a);
        qm_printf(b, p->kind == QP_AND ? " AND " : " OR ");
        qm_fmt_pred(b, q, m, p->b);
        qm_printf(b, ")");
        return;
    case QP_TAG:
        qm_printf(b, "%s %s ", qm_tag_keys[p->a], qm_op_text[p->op]);
        if (p->op == QO_RE || p->op == QO_NRE)
            qm_printf(b, "/%.*s/", (int)p->lit.v.s.len, p->lit.v.s.ptr);
        else
            qm_fmt_string(b, p->lit.v.s.ptr);
        return;
    case QP_FIELD:
        qm_printf(b, "%s %s ", m->fname[p->a], qm_op_text[p->op]);
        switch (p->lit.type) {
        case CTS_Q_FLOAT:
            qm_fmt_float(b, p->lit.v.f);
            break;
        case CTS_Q_INT:
            qm_printf(b, "%lld", (long long)p->lit.v.i);
            break;
        case CTS_Q_BOOL:
            qm_printf(b, p->lit.v.b ? "true" : "false");
            break;
        default:
            qm_fmt_string(b, p->lit.v.s.ptr);
        }
        return;
    }
}

static void qm_fmt_col(qm_buf *b, const qm_query *q, const qm_meas *m, const qm_colspec *c)
{
    const char *fname = c->kind == QC_TAG ? qm_tag_keys[c->field] : m->fname[c->field];
    (void)q;
    if (c->kind == QC_FIELD || c->kind == QC_TAG) {
        qm_printf(b, "%s", fname);
    } else {
        if (c->kind == QC_XF)
            qm_printf(b, "%s(", qm_xf_names[c->xf]);
        if (c->fn != QFN_NONE) {
            qm_printf(b, "%s(%s", qm_fn_names[c->fn], fname);
            if (c->fn == QFN_PERCENTILE) {
                if (c->pct_float)
                    qm_printf(b, ", %.1f", c->pct);
                else
                    qm_printf(b, ", %d", (int)c->pct);
            }
            qm_printf(b, ")");
        } else {
            qm_printf(b, "%s", fname);
        }
        if (c->kind == QC_XF) {
            if (c->xf == QXF_MOVING_AVERAGE)
                qm_printf(b, ", %d", c->window);
            else if (c->unit_ns) {
                qm_printf(b, ", ");
                qm_fmt_duration(b, c->unit_ns);
            }
            qm_printf(b, ")");
        }
    }
    if (c->alias[0])
        qm_printf(b, " AS %s", c->alias);
}

static void qm_fmt_where(qm_buf *b, const qm_query *q, const qm_meas *m)
{
    const char *sep = " WHERE ";
    if (q->has_lo) {
        qm_printf(b, "%stime %s ", sep, q->lo_incl ? ">=" : ">");
        if (q->lo_now) {
            qm_printf(b, "now() - ");
            qm_fmt_duration(b, QM_NOW - q->lo);
        } else {
            qm_fmt_time(b, q->lo, q->lo_int);
        }
        sep = " AND ";
    }
    if (q->where >= 0) {
        qm_printf(b, "%s", sep);
        qm_fmt_pred(b, q, m, q->where);
        sep = " AND ";
    }
    if (q->has_hi) {
        qm_printf(b, "%stime %s ", sep, q->hi_incl ? "<=" : "<");
        qm_fmt_time(b, q->hi, q->hi_int);
    }
}

static void qm_render(qm_query *q, const qm_data *d)
{
    const qm_meas *m = &d->m[q->meas];
    qm_buf b = {q->text, 0, sizeof q->text};
    qm_printf(&b, "SELECT ");
    if (q->star) {
        qm_printf(&b, "*");
    } else if (q->countstar) {
        qm_printf(&b, "%s(*)", qm_fn_names[q->star_fn]);
    } else {
        for (uint32_t i = 0; i < q->ncols; i++) {
            if (i)
                qm_printf(&b, ", ");
            qm_fmt_col(&b, q, m, &q->col[i]);
        }
    }
    qm_printf(&b, " FROM %s", m->name);
    qm_fmt_where(&b, q, m);
    if (q->group_time || q->gmode) {
        qm_printf(&b, " GROUP BY ");
        if (q->group_time) {
            qm_printf(&b, "time(");
            qm_fmt_duration(&b, q->interval);
            if (q->offset_given) {
                qm_printf(&b, ", ");
                qm_fmt_duration(&b, q->offset_lit);
            }
            qm_printf(&b, ")%s", q->gmode ? ", " : "");
        }
        if (q->gmode == 2)
            qm_printf(&b, "*");
        for (int i = 0; q->gmode == 1 && i < q->ngtags; i++)
            qm_printf(&b, "%s%s", i ? ", " : "", qm_tag_keys[q->gtag_order[i]]);
    }
    if (q->fill_given) {
        static const char *const fills[] = {"null", "none", "previous", "linear"};
        if (q->fill == QFILL_NUMBER) {
            if (q->fill_float) {
                qm_printf(&b, " fill(");
                qm_fmt_float(&b, q->fill_f);
                qm_printf(&b, ")");
            } else {
                qm_printf(&b, " fill(%lld)", (long long)q->fill_i);
            }
        } else {
            qm_printf(&b, " fill(%s)", fills[q->fill]);
        }
    }
    if (q->desc)
        qm_printf(&b, " ORDER BY time DESC");
    if (q->limit)
        qm_printf(&b, " LIMIT %lld", (long long)q->limit);
    if (q->offset_rows)
        qm_printf(&b, " OFFSET %lld", (long long)q->offset_rows);
    if (q->slimit)
        qm_printf(&b, " SLIMIT %lld", (long long)q->slimit);
    if (q->soffset)
        qm_printf(&b, " SOFFSET %lld", (long long)q->soffset);
}

#endif
