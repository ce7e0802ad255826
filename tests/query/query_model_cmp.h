/*
 * query_model_cmp.h: a cts_qsink that captures a query's results (deep
 * copies), the comparison of captured and expected results, and the dumps
 * printed on a mismatch (query, data, both results).
 */
#ifndef QM_CMP_H
#define QM_CMP_H

#include "query_model_eval.h"

#include <inttypes.h>

typedef struct qm_gseries {
    char *name;
    size_t ntags;
    char **tk, **tv;
    size_t ncols;
    char **cols;
    cts_qval *vals; /* nrows * ncols; strings owned */
    size_t nrows, cap;
} qm_gseries;

typedef struct qm_got {
    uint32_t nstmts;
    char *err; /* the first statement error */
    qm_gseries *series;
    size_t nseries, cap;
    char protocol[128]; /* a callback sequence the contract forbids */
    int state;          /* 0 outside a statement, 1 in one, 2 in a series */
} qm_got;

static char *qm_strndup(const char *s, size_t n)
{
    char *p = cts_malloc(n + 1);
    assert_non_null(p);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static void qm_gseries_free(qm_gseries *s)
{
    cts_free(s->name);
    for (size_t k = 0; k < s->ntags; k++) {
        cts_free(s->tk[k]);
        cts_free(s->tv[k]);
    }
    cts_free(s->tk);
    cts_free(s->tv);
    for (size_t k = 0; k < s->ncols; k++)
        cts_free(s->cols[k]);
    cts_free(s->cols);
    for (size_t k = 0; k < s->nrows * s->ncols; k++)
        if (s->vals[k].type == CTS_Q_STRING)
            cts_free((void *)(uintptr_t)s->vals[k].v.s.ptr);
    cts_free(s->vals);
}

static void qm_got_free(qm_got *g)
{
    for (size_t i = 0; i < g->nseries; i++)
        qm_gseries_free(&g->series[i]);
    cts_free(g->series);
    cts_free(g->err);
    memset(g, 0, sizeof *g);
}

static void qm_protocol(qm_got *g, const char *what)
{
    if (!g->protocol[0])
        snprintf(g->protocol, sizeof g->protocol, "%s", what);
}

static int qm_sink_stmt_begin(void *ctx, uint32_t id)
{
    qm_got *g = ctx;
    if (g->state != 0 || id != g->nstmts)
        qm_protocol(g, "statement_begin out of order");
    g->state = 1;
    return 0;
}

static int qm_sink_series_begin(void *ctx, const cts_qseries *s)
{
    qm_got *g = ctx;
    if (g->state != 1)
        qm_protocol(g, "series_begin outside a statement");
    g->state = 2;
    if (g->nseries == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 8;
        g->series = cts_realloc(g->series, g->cap * sizeof *g->series);
        assert_non_null(g->series);
    }
    qm_gseries *o = &g->series[g->nseries++];
    memset(o, 0, sizeof *o);
    o->name = qm_strndup(s->name.ptr ? s->name.ptr : "", s->name.len);
    o->ntags = s->ntags;
    o->tk = cts_calloc(s->ntags + 1, sizeof *o->tk);
    o->tv = cts_calloc(s->ntags + 1, sizeof *o->tv);
    for (size_t k = 0; k < s->ntags; k++) {
        o->tk[k] = qm_strndup(s->tag_keys[k].ptr, s->tag_keys[k].len);
        o->tv[k] =
            qm_strndup(s->tag_values[k].ptr ? s->tag_values[k].ptr : "", s->tag_values[k].len);
    }
    o->ncols = s->ncolumns;
    o->cols = cts_calloc(s->ncolumns + 1, sizeof *o->cols);
    for (size_t k = 0; k < s->ncolumns; k++)
        o->cols[k] = qm_strndup(s->columns[k].ptr, s->columns[k].len);
    return 0;
}

static int qm_sink_row(void *ctx, const cts_qval *v)
{
    qm_got *g = ctx;
    if (g->state != 2) {
        qm_protocol(g, "row outside a series");
        return 0;
    }
    qm_gseries *s = &g->series[g->nseries - 1];
    if (s->nrows == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->vals = cts_realloc(s->vals, s->cap * (s->ncols ? s->ncols : 1) * sizeof *s->vals);
        assert_non_null(s->vals);
    }
    for (size_t k = 0; k < s->ncols; k++) {
        cts_qval x = v[k];
        if (x.type == CTS_Q_STRING) {
            x.v.s.ptr = qm_strndup(x.v.s.ptr ? x.v.s.ptr : "", x.v.s.len);
        }
        s->vals[s->nrows * s->ncols + k] = x;
    }
    s->nrows++;
    return 0;
}

static int qm_sink_series_end(void *ctx)
{
    qm_got *g = ctx;
    if (g->state != 2)
        qm_protocol(g, "series_end outside a series");
    g->state = 1;
    return 0;
}

static int qm_sink_stmt_end(void *ctx, uint32_t id, const char *error)
{
    qm_got *g = ctx;
    if (g->state != 1 || id != g->nstmts)
        qm_protocol(g, "statement_end out of order");
    g->state = 0;
    g->nstmts++;
    if (error && !g->err)
        g->err = qm_strndup(error, strlen(error));
    return 0;
}

static cts_qsink qm_sink(qm_got *g)
{
    return (cts_qsink){.ctx = g,
                       .statement_begin = qm_sink_stmt_begin,
                       .series_begin = qm_sink_series_begin,
                       .row = qm_sink_row,
                       .series_end = qm_sink_series_end,
                       .statement_end = qm_sink_stmt_end};
}

/* ---- printing ---- */

static void qm_print_val(FILE *f, const cts_qval *v)
{
    switch (v->type) {
    case CTS_Q_NULL:
        fprintf(f, "null");
        break;
    case CTS_Q_FLOAT:
        fprintf(f, "%.17g", v->v.f);
        break;
    case CTS_Q_INT:
        fprintf(f, "%" PRId64 "i", v->v.i);
        break;
    case CTS_Q_UINT:
        fprintf(f, "%" PRIu64 "u", v->v.u);
        break;
    case CTS_Q_BOOL:
        fprintf(f, v->v.b ? "true" : "false");
        break;
    case CTS_Q_STRING:
        fprintf(f, "\"%.*s\"", (int)v->v.s.len, v->v.s.ptr);
        break;
    case CTS_Q_TIME:
        fprintf(f, "T%" PRId64, v->v.i);
        break;
    default:
        fprintf(f, "?type%d", (int)v->type);
    }
}

/* Rows [from, from + 60) of each series are printed. */
static void qm_print_expected(FILE *f, const qm_data *d, const qm_query *q, const qm_result *r,
                              size_t from)
{
    fprintf(f, "  expected: %zu series%s\n", r->nseries, r->ambiguous ? " (ambiguous)" : "");
    for (size_t i = 0; i < r->nseries; i++) {
        const qm_rseries *s = &r->series[i];
        fprintf(f, "   series %s", d->m[q->meas].name);
        for (int k = 0; k < r->ndims; k++)
            fprintf(f, " %s=\"%s\"", qm_tag_keys[r->dims[k]], s->tagv[k]);
        fprintf(f, " columns time");
        for (uint32_t k = 0; k < r->ncols; k++)
            fprintf(f, ",%s", r->colname[k]);
        fprintf(f, " (%zu rows)\n", s->n);
        for (size_t j = from; j < s->n && j < from + 60; j++) {
            fprintf(f, "    T%" PRId64 "%s", s->rows[j].t, s->rows[j].t_any ? "?" : "");
            for (uint32_t k = 0; k < r->ncols; k++) {
                fprintf(f, " ");
                if (s->rows[j].val[k].any)
                    fprintf(f, "*");
                else
                    qm_print_val(f, &s->rows[j].val[k].v);
            }
            fprintf(f, "\n");
        }
    }
}

static void qm_print_got(FILE *f, const qm_got *g, size_t from)
{
    fprintf(f, "  got: %zu series%s%s\n", g->nseries, g->err ? ", error: " : "",
            g->err ? g->err : "");
    for (size_t i = 0; i < g->nseries; i++) {
        const qm_gseries *s = &g->series[i];
        fprintf(f, "   series %s", s->name);
        for (size_t k = 0; k < s->ntags; k++)
            fprintf(f, " %s=\"%s\"", s->tk[k], s->tv[k]);
        fprintf(f, " columns");
        for (size_t k = 0; k < s->ncols; k++)
            fprintf(f, "%s%s", k ? "," : " ", s->cols[k]);
        fprintf(f, " (%zu rows)\n", s->nrows);
        for (size_t j = from; j < s->nrows && j < from + 60; j++) {
            fprintf(f, "   ");
            for (size_t k = 0; k < s->ncols; k++) {
                fprintf(f, " ");
                qm_print_val(f, &s->vals[j * s->ncols + k]);
            }
            fprintf(f, "\n");
        }
    }
}

/* The measurement's data that the statement reads (fields it names, all
 * for * and fn(*), and the fields of its WHERE clause). */
static void qm_print_data(FILE *f, const qm_data *d, const qm_query *q)
{
    const qm_meas *m = &d->m[q->meas];
    bool used[QM_MAX_FIELDS] = {false};
    for (uint32_t k = 0; k < q->ncols; k++)
        if (q->col[k].kind != QC_TAG)
            used[q->col[k].field] = true;
    for (uint32_t k = 0; k < q->npreds; k++)
        if (q->pred[k].kind == QP_FIELD)
            used[q->pred[k].a] = true;
    fprintf(f, "  data of %s (xties %d, block_points %u, flush_mode %d):\n", m->name, d->xties,
            d->block_points, d->flush_mode);
    for (uint32_t s = 0; s < m->nseries; s++) {
        const qm_series *se = &m->s[s];
        fprintf(f, "   series %u city=%s sensor=%s\n", s, se->tag[0] ? se->tag[0] : "(none)",
                se->tag[1] ? se->tag[1] : "(none)");
        for (uint32_t fi = 0; fi < m->nfields; fi++) {
            if (!used[fi] && !q->star && !q->countstar)
                continue;
            const qm_col *c = &se->col[fi];
            fprintf(f, "    %s (%u points):", m->fname[fi], c->n);
            for (uint32_t i = 0; i < c->n && i < 120; i++) {
                fprintf(f, "%s%" PRId64 "=", i % 4 ? " " : "\n     ", c->ts[i]);
                qm_print_val(f, &c->v[i]);
            }
            fprintf(f, "\n");
        }
    }
}

/* ---- comparing ---- */

static int qm_cmp_qval(const cts_qval *a, const cts_qval *b)
{
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    switch (a->type) {
    case CTS_Q_FLOAT:
        return a->v.f < b->v.f ? -1 : a->v.f > b->v.f;
    case CTS_Q_INT:
    case CTS_Q_TIME:
        return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    case CTS_Q_BOOL:
        return (int)a->v.b - (int)b->v.b;
    case CTS_Q_STRING: {
        uint32_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
        int r = memcmp(a->v.s.ptr, b->v.s.ptr, n);
        return r ? r : (a->v.s.len > b->v.s.len) - (a->v.s.len < b->v.s.len);
    }
    default:
        return 0;
    }
}

static int qm_cmp_got_row(const void *a, const void *b, void *ncols)
{
    const cts_qval *x = a, *y = b;
    for (size_t k = 0; k < *(const size_t *)ncols; k++) {
        int r = qm_cmp_qval(&x[k], &y[k]);
        if (r)
            return r;
    }
    return 0;
}

static int qm_cmp_exp_row(const void *a, const void *b, void *ncols)
{
    const qm_row *x = a, *y = b;
    for (size_t k = 0; k + 1 < *(const size_t *)ncols; k++) {
        int r = qm_cmp_qval(&x->val[k].v, &y->val[k].v);
        if (r)
            return r;
    }
    return 0;
}

/* Raw rows of equal time come in an order InfluxDB does not fix: sort
 * each run of equal times by value, on both sides. */
static void qm_canon_raw(qm_gseries *g, qm_rseries *e, size_t ncols)
{
    for (size_t i = 0; i < g->nrows;) {
        size_t j = i + 1;
        while (j < g->nrows && g->vals[j * ncols].v.i == g->vals[i * ncols].v.i)
            j++;
        if (j - i > 1)
            qsort_r(&g->vals[i * ncols], j - i, ncols * sizeof *g->vals, qm_cmp_got_row, &ncols);
        i = j;
    }
    for (size_t i = 0; i < e->n;) {
        size_t j = i + 1;
        while (j < e->n && e->rows[j].t == e->rows[i].t)
            j++;
        if (j - i > 1)
            qsort_r(&e->rows[i], j - i, sizeof *e->rows, qm_cmp_exp_row, &ncols);
        i = j;
    }
}

static bool qm_val_matches(const qm_v *e, const cts_qval *g)
{
    if (e->any)
        return true;
    if (e->v.type != g->type)
        return false;
    switch (g->type) {
    case CTS_Q_NULL:
        return true;
    case CTS_Q_FLOAT: {
        double a = e->v.v.f, b = g->v.f;
        if (isnan(a) || isnan(b))
            return isnan(a) && isnan(b);
        if (a == b)
            return true;
        return fabs(a - b) <= QM_REL * fmax(fabs(a), fabs(b)) + e->tol;
    }
    case CTS_Q_INT:
        if (e->tol > 0) { /* the exact difference: converting to double would round it */
            __int128 diff = (__int128)e->v.v.i - (__int128)g->v.i;
            return (double)(diff < 0 ? -diff : diff) <= e->tol;
        }
        return e->v.v.i == g->v.i;
    default:
        return qm_cmp_qval(&e->v, g) == 0;
    }
}

typedef struct qm_mismatch {
    char what[768];
    size_t row; /* print the rows from here */
} qm_mismatch;

static bool qm_compare_series(const qm_data *d, const qm_query *q, qm_result *r, size_t i,
                              qm_gseries *g, qm_mismatch *mm)
{
    qm_rseries *e = &r->series[i];
    const char *mname = d->m[q->meas].name;
    if (strcmp(g->name, mname) != 0) {
        snprintf(mm->what, sizeof mm->what, "series %zu: name \"%s\", expected \"%s\"", i, g->name,
                 mname);
        return false;
    }
    bool tags_ok = g->ntags == (size_t)r->ndims;
    for (int k = 0; tags_ok && k < r->ndims; k++)
        tags_ok =
            strcmp(g->tk[k], qm_tag_keys[r->dims[k]]) == 0 && strcmp(g->tv[k], e->tagv[k]) == 0;
    if (!tags_ok) {
        snprintf(mm->what, sizeof mm->what, "series %zu: tags differ (got %zu tags)", i, g->ntags);
        return false;
    }
    bool cols_ok = g->ncols == r->ncols + 1 && strcmp(g->cols[0], "time") == 0;
    for (uint32_t k = 0; cols_ok && k < r->ncols; k++)
        cols_ok = strcmp(g->cols[k + 1], r->colname[k]) == 0;
    if (!cols_ok) {
        snprintf(mm->what, sizeof mm->what, "series %zu: columns differ", i);
        return false;
    }
    if (g->nrows != e->n) {
        snprintf(mm->what, sizeof mm->what, "series %zu: %zu rows, expected %zu", i, g->nrows,
                 e->n);
        return false;
    }
    size_t nc = g->ncols;
    for (size_t j = 0; j < g->nrows; j++)
        if (g->vals[j * nc].type != CTS_Q_TIME) {
            snprintf(mm->what, sizeof mm->what, "series %zu row %zu: the time column has type %d",
                     i, j, (int)g->vals[j * nc].type);
            return false;
        }
    if (r->raw)
        qm_canon_raw(g, e, nc);
    for (size_t j = 0; j < g->nrows; j++) {
        const cts_qval *row = &g->vals[j * nc];
        if (!e->rows[j].t_any && row[0].v.i != e->rows[j].t) {
            mm->row = j > 5 ? j - 5 : 0;
            snprintf(mm->what, sizeof mm->what,
                     "series %zu row %zu: time %" PRId64 ", expected %" PRId64, i, j, row[0].v.i,
                     e->rows[j].t);
            return false;
        }
        for (uint32_t k = 0; k < r->ncols; k++) {
            if (!qm_val_matches(&e->rows[j].val[k], &row[k + 1])) {
                mm->row = j > 5 ? j - 5 : 0;
                snprintf(mm->what, sizeof mm->what,
                         "series %zu row %zu (time %" PRId64 "): column %s differs", i, j,
                         row[0].v.i, r->colname[k]);
                return false;
            }
        }
    }
    return true;
}

/* Without QF_M_EMPTY: a series the executor made of fill values only
 * (null, 0 or the fill number) for a group InfluxDB has no points for. */
static bool qm_junk_series(const qm_query *q, const qm_result *r, const qm_gseries *g)
{
    for (size_t i = 0; i < r->nseries; i++) {
        bool same = g->ntags == (size_t)r->ndims;
        for (int k = 0; same && k < r->ndims; k++)
            same = strcmp(g->tv[k], r->series[i].tagv[k]) == 0;
        if (same)
            return false;
    }
    for (size_t j = 0; j < g->nrows; j++) {
        for (size_t k = 1; k < g->ncols; k++) {
            const cts_qval *v = &g->vals[j * g->ncols + k];
            double fillv =
                q->fill == QFILL_NUMBER ? (q->fill_float ? q->fill_f : (double)q->fill_i) : 0;
            bool junk = v->type == CTS_Q_NULL ||
                        (v->type == CTS_Q_INT && (v->v.i == 0 || (double)v->v.i == fillv)) ||
                        (v->type == CTS_Q_FLOAT && (v->v.f == 0 || v->v.f == fillv));
            if (!junk)
                return false;
        }
    }
    return true;
}

static void qm_drop_junk(const qm_query *q, const qm_result *r, qm_got *g)
{
    size_t k = 0;
    for (size_t i = 0; i < g->nseries; i++) {
        if (qm_junk_series(q, r, &g->series[i])) {
            qm_gseries_free(&g->series[i]);
            continue;
        }
        g->series[k++] = g->series[i];
    }
    g->nseries = k;
}

/* True when got matches the expected result; otherwise mm says where. */
static bool qm_compare(const qm_data *d, const qm_query *q, qm_result *r, qm_got *g,
                       qm_mismatch *mm)
{
    mm->row = 0;
    if (g->protocol[0]) {
        snprintf(mm->what, sizeof mm->what, "sink protocol: %s", g->protocol);
        return false;
    }
    if (g->err) {
        snprintf(mm->what, sizeof mm->what, "statement error: %s", g->err);
        return false;
    }
    if (g->nstmts != 1) {
        snprintf(mm->what, sizeof mm->what, "%u statements reported, expected 1", g->nstmts);
        return false;
    }
    if (!(q->feats & QF_M_EMPTY))
        qm_drop_junk(q, r, g);
    if (g->nseries != r->nseries) {
        snprintf(mm->what, sizeof mm->what, "%zu series, expected %zu", g->nseries, r->nseries);
        return false;
    }
    for (size_t i = 0; i < g->nseries; i++)
        if (!qm_compare_series(d, q, r, i, &g->series[i], mm))
            return false;
    return true;
}

#endif
