/*
 * query_model_data.h: the data half of the query model test. A random
 * dataset per seed (measurements, series with some tags missing, typed
 * fields with some values missing, irregular out-of-order timestamps,
 * duplicate writes), written through cts_db_write and mirrored in a plain
 * in-memory model: per (series, field) a time-sorted column, last write
 * wins. Header-only; included by test_query_model.c.
 *
 * Invariants the evaluator relies on:
 *   - every column is sorted by time with distinct times after qm_finish;
 *   - a field has one type per measurement (the first write fixes it; an
 *     integer written to a float field is stored as a float, as the engine
 *     promises);
 *   - unless data.xties, no two series of a measurement share a timestamp,
 *     so raw queries over several series have one row order.
 */
#ifndef QM_DATA_H
#define QM_DATA_H

#include "cts_engine.h"
#include "cts_query.h"
#include "cts_test.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define QM_MAX_MEAS 3
#define QM_MAX_SERIES 6
#define QM_MAX_FIELDS 6
#define QM_NTAGS 2                  /* city, sensor */
#define QM_T0 1793491200000000000LL /* 2026-11-01T00:00:00Z */
#define QM_SEC 1000000000LL
#define QM_MIN (60 * QM_SEC)
#define QM_HOUR (3600 * QM_SEC)
#define QM_DAY (86400 * QM_SEC)
/* InfluxDB's sentinels (models.MinNanoTime, MaxNanoTime). */
#define QM_MINTIME (INT64_MIN + 2)
#define QM_MAXTIME (INT64_MAX - 1)

static const char *const qm_tag_keys[QM_NTAGS] = {"city", "sensor"};
static const char *const qm_cities[] = {"lisbon", "porto", "new york", "oslo", "z\xc3\xbcrich"};
static const char *const qm_sensors[] = {"s1", "s10", "s2", "x-9"};
static const char *const qm_strings[] = {"ok",  "warn", "alarm", "",     "a b",
                                         "zzz", "Ok",   "it's",  "a\\b", "\xc3\xa9t\xc3\xa9"};

/* One value of the model: a query value plus how far a correct float
 * result may stray (absolute), and whether any value is acceptable (the
 * reference cannot tell which of several tied points InfluxDB would pick). */
typedef struct qm_v {
    cts_qval v;
    double tol;
    bool any;
} qm_v;

typedef struct qm_col {
    uint32_t n, cap;
    int64_t *ts;
    cts_qval *v;
    uint64_t *seq; /* write order, while building */
} qm_col;

typedef struct qm_series {
    const char *tag[QM_NTAGS]; /* NULL: the series lacks the tag */
    qm_col col[QM_MAX_FIELDS];
} qm_series;

typedef struct qm_meas {
    const char *name;
    uint32_t nfields;
    const char *fname[QM_MAX_FIELDS];
    cts_type ftype[QM_MAX_FIELDS];
    uint32_t nseries;
    qm_series s[QM_MAX_SERIES];
    bool has_tag[QM_NTAGS]; /* some series carries the key */
} qm_meas;

typedef struct qm_data {
    uint32_t nmeas;
    qm_meas m[QM_MAX_MEAS];
    int64_t t_lo, t_hi; /* span of the generated times */
    bool xties;         /* series of one measurement may share times */
    bool big_ints;      /* integers up to +-4e18 (sums wrap) */
    bool wild_floats;   /* huge, tiny and -0 floats */
    uint32_t block_points;
    int flush_mode; /* 0 none, 1 at the end, 2 midway then more writes */
    uint64_t npoints;
} qm_data;

typedef struct qm_schema {
    const char *name;
    uint32_t nfields;
    const char *fname[QM_MAX_FIELDS];
    cts_type ftype[QM_MAX_FIELDS];
} qm_schema;

static const qm_schema qm_schemas[QM_MAX_MEAS] = {
    {"air",
     5,
     {"aqi", "ok", "pm25", "status", "temp"},
     {CTS_TYPE_INT, CTS_TYPE_BOOL, CTS_TYPE_FLOAT, CTS_TYPE_STRING, CTS_TYPE_FLOAT}},
    {"energy",
     4,
     {"active", "kwh", "state", "watts"},
     {CTS_TYPE_BOOL, CTS_TYPE_FLOAT, CTS_TYPE_STRING, CTS_TYPE_INT}},
    {"traffic", 3, {"cars", "mode", "speed"}, {CTS_TYPE_INT, CTS_TYPE_STRING, CTS_TYPE_FLOAT}},
};

static cts_qtype qm_qtype_of(cts_type t)
{
    switch (t) {
    case CTS_TYPE_FLOAT:
        return CTS_Q_FLOAT;
    case CTS_TYPE_INT:
        return CTS_Q_INT;
    case CTS_TYPE_UINT:
        return CTS_Q_UINT;
    case CTS_TYPE_BOOL:
        return CTS_Q_BOOL;
    default:
        return CTS_Q_STRING;
    }
}

static bool qm_numeric(cts_type t)
{
    return t == CTS_TYPE_FLOAT || t == CTS_TYPE_INT || t == CTS_TYPE_UINT;
}

static cts_qval qm_sval(const char *s)
{
    return (cts_qval){.type = CTS_Q_STRING, .v.s = {s, (uint32_t)strlen(s)}};
}

/* ---- building the model ---- */

static void qm_col_put(qm_col *c, int64_t ts, cts_qval v, uint64_t seq)
{
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->ts[i] == ts) {
            c->v[i] = v;
            c->seq[i] = seq;
            return;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->ts = cts_realloc(c->ts, c->cap * sizeof *c->ts);
        c->v = cts_realloc(c->v, c->cap * sizeof *c->v);
        c->seq = cts_realloc(c->seq, c->cap * sizeof *c->seq);
        assert_non_null(c->ts);
        assert_non_null(c->v);
        assert_non_null(c->seq);
    }
    c->ts[c->n] = ts;
    c->v[c->n] = v;
    c->seq[c->n] = seq;
    c->n++;
}

static void qm_col_sort(qm_col *c)
{
    for (uint32_t i = 1; i < c->n; i++) { /* insertion sort: columns are small */
        int64_t t = c->ts[i];
        cts_qval v = c->v[i];
        uint64_t s = c->seq[i];
        uint32_t j = i;
        while (j > 0 && c->ts[j - 1] > t) {
            c->ts[j] = c->ts[j - 1];
            c->v[j] = c->v[j - 1];
            c->seq[j] = c->seq[j - 1];
            j--;
        }
        c->ts[j] = t;
        c->v[j] = v;
        c->seq[j] = s;
    }
}

/* The value of column c at exactly ts, or NULL. */
static const cts_qval *qm_col_at(const qm_col *c, int64_t ts)
{
    uint32_t lo = 0, hi = c->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (c->ts[mid] < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n && c->ts[lo] == ts ? &c->v[lo] : NULL;
}

static void qm_data_free(qm_data *d)
{
    for (uint32_t m = 0; m < d->nmeas; m++)
        for (uint32_t s = 0; s < d->m[m].nseries; s++)
            for (uint32_t f = 0; f < QM_MAX_FIELDS; f++) {
                qm_col *c = &d->m[m].s[s].col[f];
                cts_free(c->ts);
                cts_free(c->v);
                cts_free(c->seq);
            }
    memset(d, 0, sizeof *d);
}

/* ---- random values ---- */

static double qm_rand_float(cts_rng *r, bool wild)
{
    uint64_t k = cts_rng_below(r, 100);
    if (wild && k < 3)
        return -0.0;
    if (wild && k < 6)
        return (cts_rng_below(r, 2) ? -1.0 : 1.0) *
               ldexp(1.0 + cts_rng_unit(r), 50 + (int)cts_rng_below(r, 280));
    if (wild && k < 9)
        return (cts_rng_below(r, 2) ? -1.0 : 1.0) *
               ldexp(1.0 + cts_rng_unit(r), -1000 + (int)cts_rng_below(r, 30));
    if (k < 15)
        return (double)((int64_t)cts_rng_below(r, 41) - 20); /* small integers: ties */
    return (double)((int64_t)cts_rng_below(r, 2001) - 500) / 10.0;
}

static int64_t qm_rand_int(cts_rng *r, bool big)
{
    uint64_t k = cts_rng_below(r, 100);
    if (big && k < 10)
        return (int64_t)(cts_rng_next(r) >> 2) * (cts_rng_below(r, 2) ? -1 : 1);
    if (k < 20)
        return (int64_t)cts_rng_below(r, 7) - 3;
    if (k < 30)
        return (int64_t)(cts_rng_next(r) >> 24) - (int64_t)(1ull << 39); /* +-5e11 */
    return (int64_t)cts_rng_below(r, 1201) - 200;
}

static cts_qval qm_rand_value(cts_rng *r, const qm_data *d, cts_type t)
{
    cts_qval v = {.type = qm_qtype_of(t)};
    switch (t) {
    case CTS_TYPE_FLOAT:
        v.v.f = qm_rand_float(r, d->wild_floats);
        break;
    case CTS_TYPE_INT:
        v.v.i = qm_rand_int(r, d->big_ints);
        break;
    case CTS_TYPE_BOOL:
        v.v.b = cts_rng_below(r, 2);
        break;
    default: {
        const char *s = qm_strings[cts_rng_below(r, sizeof qm_strings / sizeof *qm_strings)];
        v.v.s = (cts_str){s, (uint32_t)strlen(s)};
    }
    }
    return v;
}

/* ---- generating the dataset and writing it ---- */

typedef struct qm_write {
    uint8_t meas, series;
    uint8_t nf;
    uint8_t fidx[QM_MAX_FIELDS];
    bool promote[QM_MAX_FIELDS]; /* send a float field's integral value as an int */
    cts_qval val[QM_MAX_FIELDS];
    int64_t ts;
} qm_write;

typedef struct qm_writes {
    qm_write *w;
    size_t n, cap;
} qm_writes;

static void qm_writes_push(qm_writes *ws, const qm_write *w)
{
    if (ws->n == ws->cap) {
        ws->cap = ws->cap ? ws->cap * 2 : 256;
        ws->w = cts_realloc(ws->w, ws->cap * sizeof *ws->w);
        assert_non_null(ws->w);
    }
    ws->w[ws->n++] = *w;
}

static bool qm_time_used(const qm_writes *ws, size_t from, uint8_t meas, int64_t ts)
{
    for (size_t i = from; i < ws->n; i++)
        if (ws->w[i].meas == meas && ws->w[i].ts == ts)
            return true;
    return false;
}

/* The next time of a series: mostly whole seconds or minutes, irregular
 * gaps, now and then a sub-second or an exact hour boundary. */
static int64_t qm_next_time(cts_rng *r, int64_t t)
{
    uint64_t k = cts_rng_below(r, 100);
    int64_t gap;
    if (k < 5)
        gap = (int64_t)cts_rng_below(r, 12) * QM_HOUR;
    else if (k < 15)
        gap = 1 + (int64_t)cts_rng_below(r, QM_SEC);
    else if (k < 60)
        gap = (1 + (int64_t)cts_rng_below(r, 120)) * QM_SEC;
    else
        gap = (1 + (int64_t)cts_rng_below(r, 40)) * QM_MIN;
    t += gap;
    if (cts_rng_below(r, 10) == 0)
        t = (t / QM_HOUR + 1) * QM_HOUR;
    return t;
}

static void qm_gen_series(cts_rng *r, qm_data *d, qm_meas *m, uint32_t mi, qm_writes *ws,
                          size_t mstart)
{
    for (uint32_t s = 0; s < m->nseries; s++) {
        bool has_field[QM_MAX_FIELDS];
        for (uint32_t f = 0; f < m->nfields; f++)
            has_field[f] = cts_rng_below(r, 6) != 0;
        uint32_t npts = 3 + (uint32_t)cts_rng_below(r, cts_rng_below(r, 4) ? 60 : 220);
        int64_t t = d->t_lo + (int64_t)cts_rng_below(r, (uint64_t)(d->t_hi - d->t_lo) / 2);
        for (uint32_t p = 0; p < npts && t < d->t_hi; p++, t = qm_next_time(r, t)) {
            qm_write w = {.meas = (uint8_t)mi, .series = (uint8_t)s, .ts = t};
            while (!d->xties && qm_time_used(ws, mstart, (uint8_t)mi, w.ts))
                w.ts += 1 + (int64_t)cts_rng_below(r, 1000);
            for (uint32_t f = 0; f < m->nfields; f++) {
                if (!has_field[f] || cts_rng_below(r, 5) == 0)
                    continue;
                w.fidx[w.nf] = (uint8_t)f;
                w.val[w.nf] = qm_rand_value(r, d, m->ftype[f]);
                if (m->ftype[f] == CTS_TYPE_FLOAT && cts_rng_below(r, 8) == 0) {
                    w.val[w.nf].v.f = (double)((int64_t)cts_rng_below(r, 200) - 50);
                    w.promote[w.nf] = true;
                }
                w.nf++;
            }
            if (w.nf > 0)
                qm_writes_push(ws, &w);
        }
    }
}

/* Overwrites of existing points (same series and time, new values). */
static void qm_gen_dups(cts_rng *r, qm_data *d, qm_writes *ws)
{
    size_t n = ws->n, ndup = n / 20 + cts_rng_below(r, 4);
    for (size_t k = 0; k < ndup && n > 0; k++) {
        qm_write w = ws->w[cts_rng_below(r, n)];
        const qm_meas *m = &d->m[w.meas];
        for (uint32_t i = 0; i < w.nf; i++) {
            w.val[i] = qm_rand_value(r, d, m->ftype[w.fidx[i]]);
            w.promote[i] = false;
        }
        qm_writes_push(ws, &w);
    }
}

static void qm_shuffle_some(cts_rng *r, qm_writes *ws, size_t from)
{
    for (size_t i = from; i + 1 < ws->n; i++) {
        if (cts_rng_below(r, 3) != 0)
            continue;
        size_t j = i + cts_rng_below(r, ws->n - i < 40 ? ws->n - i : 40);
        qm_write t = ws->w[i];
        ws->w[i] = ws->w[j];
        ws->w[j] = t;
    }
}

static void qm_gen_meas(cts_rng *r, qm_meas *m, const qm_schema *sc)
{
    m->name = sc->name;
    m->nfields = sc->nfields;
    memcpy(m->fname, sc->fname, sizeof m->fname);
    memcpy(m->ftype, sc->ftype, sizeof m->ftype);
    m->nseries = 1 + (uint32_t)cts_rng_below(r, QM_MAX_SERIES);
    for (uint32_t s = 0; s < m->nseries; s++) {
        for (;;) {
            qm_series *se = &m->s[s];
            se->tag[0] = cts_rng_below(r, 5) ? qm_cities[cts_rng_below(r, 5)] : NULL;
            se->tag[1] = cts_rng_below(r, 4) ? qm_sensors[cts_rng_below(r, 4)] : NULL;
            bool dup = false;
            for (uint32_t o = 0; o < s; o++)
                dup |= m->s[o].tag[0] == se->tag[0] && m->s[o].tag[1] == se->tag[1];
            if (!dup)
                break;
        }
        for (int k = 0; k < QM_NTAGS; k++)
            m->has_tag[k] |= m->s[s].tag[k] != NULL;
    }
}

/* The first write of each measurement carries every field with its own
 * type, so that later integers for float fields are promotions. */
static void qm_define_types(cts_rng *r, qm_data *d, qm_writes *ws, size_t from, uint32_t mi)
{
    for (size_t i = from; i < ws->n; i++) {
        if (ws->w[i].meas != mi)
            continue;
        qm_write *w = &ws->w[i];
        const qm_meas *m = &d->m[mi];
        w->nf = (uint8_t)m->nfields;
        for (uint32_t f = 0; f < m->nfields; f++) {
            w->fidx[f] = (uint8_t)f;
            w->val[f] = qm_rand_value(r, d, m->ftype[f]);
            w->promote[f] = false;
        }
        qm_write t = ws->w[from];
        ws->w[from] = *w;
        ws->w[i] = t;
        return;
    }
}

static void qm_apply(qm_data *d, const qm_write *w, uint64_t seq)
{
    qm_series *s = &d->m[w->meas].s[w->series];
    for (uint32_t i = 0; i < w->nf; i++)
        qm_col_put(&s->col[w->fidx[i]], w->ts, w->val[i], seq);
}

static void qm_write_batch(cts_db *db, qm_data *d, const qm_write *ws, size_t n, uint64_t seq0)
{
    cts_point pts[64];
    cts_tag tags[64][QM_NTAGS];
    cts_field fields[64][QM_MAX_FIELDS];
    assert_true(n <= 64);
    for (size_t p = 0; p < n; p++) {
        const qm_write *w = &ws[p];
        const qm_meas *m = &d->m[w->meas];
        const qm_series *s = &m->s[w->series];
        uint32_t nt = 0;
        for (int k = 0; k < QM_NTAGS; k++)
            if (s->tag[k])
                tags[p][nt++] = (cts_tag){{qm_tag_keys[k], (uint32_t)strlen(qm_tag_keys[k])},
                                          {s->tag[k], (uint32_t)strlen(s->tag[k])}};
        for (uint32_t i = 0; i < w->nf; i++) {
            cts_field *f = &fields[p][i];
            const char *fn = m->fname[w->fidx[i]];
            f->key = (cts_str){fn, (uint32_t)strlen(fn)};
            f->type = m->ftype[w->fidx[i]];
            switch (f->type) {
            case CTS_TYPE_FLOAT:
                if (w->promote[i]) {
                    f->type = CTS_TYPE_INT;
                    f->v.i = (int64_t)w->val[i].v.f;
                } else {
                    f->v.f = w->val[i].v.f;
                }
                break;
            case CTS_TYPE_INT:
                f->v.i = w->val[i].v.i;
                break;
            case CTS_TYPE_BOOL:
                f->v.b = w->val[i].v.b;
                break;
            default:
                f->v.s = w->val[i].v.s;
            }
        }
        pts[p] = (cts_point){.measurement = {m->name, (uint32_t)strlen(m->name)},
                             .tags = tags[p],
                             .ntags = nt,
                             .fields = fields[p],
                             .nfields = w->nf,
                             .ts_ns = w->ts};
    }
    cts_write_result res;
    int rc = cts_db_write(db, pts, n, &res);
    if (rc != 0)
        fail_msg("cts_db_write: %s (%s)", cts_strerror(rc), res.msg);
    for (size_t p = 0; p < n; p++)
        qm_apply(d, &ws[p], seq0 + p);
}

static void qm_write_all(cts_rng *r, cts_db *db, qm_data *d, const qm_writes *ws, size_t from,
                         size_t to)
{
    for (size_t i = from; i < to;) {
        size_t n = 1 + cts_rng_below(r, 64);
        if (n > to - i)
            n = to - i;
        qm_write_batch(db, d, &ws->w[i], n, i);
        i += n;
    }
}

/* Generate the dataset for a seed and write it into db (the model is
 * filled as the writes are acknowledged). */
static void qm_data_build(cts_rng *r, qm_data *d, cts_db *db)
{
    qm_writes ws = {0};
    d->t_lo = QM_T0 + (int64_t)cts_rng_below(r, QM_DAY);
    d->t_hi = d->t_lo + (1 + (int64_t)cts_rng_below(r, 4)) * QM_DAY;
    uint32_t first = (uint32_t)cts_rng_below(r, QM_MAX_MEAS);
    d->nmeas = 1 + (uint32_t)cts_rng_below(r, QM_MAX_MEAS);
    for (uint32_t mi = 0; mi < d->nmeas; mi++) {
        qm_gen_meas(r, &d->m[mi], &qm_schemas[(first + mi) % QM_MAX_MEAS]);
        size_t from = ws.n;
        qm_gen_series(r, d, &d->m[mi], mi, &ws, from);
        if (ws.n == from) { /* every measurement gets at least one point */
            qm_write w = {.meas = (uint8_t)mi, .series = 0, .ts = d->t_lo, .nf = 0};
            qm_writes_push(&ws, &w);
        }
    }
    qm_gen_dups(r, d, &ws);
    qm_shuffle_some(r, &ws, 0);
    for (uint32_t mi = 0; mi < d->nmeas; mi++)
        qm_define_types(r, d, &ws, mi, mi);
    size_t mid = d->flush_mode == 2 ? ws.n / 2 + cts_rng_below(r, ws.n / 2 + 1) : ws.n;
    qm_write_all(r, db, d, &ws, 0, mid);
    if (d->flush_mode != 0)
        assert_int_equal(cts_db_flush(db), 0);
    qm_write_all(r, db, d, &ws, mid, ws.n);
    if (d->flush_mode == 1 && mid < ws.n)
        assert_int_equal(cts_db_flush(db), 0);
    d->npoints = ws.n;
    for (uint32_t mi = 0; mi < d->nmeas; mi++)
        for (uint32_t s = 0; s < d->m[mi].nseries; s++)
            for (uint32_t f = 0; f < QM_MAX_FIELDS; f++)
                qm_col_sort(&d->m[mi].s[s].col[f]);
    cts_free(ws.w);
}

#endif
