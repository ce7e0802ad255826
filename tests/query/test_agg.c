/*
 * test_agg.c: the aggregate functions (query/agg.c) against naive reference
 * computations written here, for every function and input type, over
 * random data with NaN, +-Inf, -0, INT64/UINT64 extremes and many repeated
 * values and times; and split invariance: the same points fed per series,
 * as many calls, as many states merged in random order, and partly as
 * block statistics, must give the same result (exactly for selectors,
 * counts and integer sums; within 1e-12 relative for float sum, mean and
 * stddev). Then InfluxDB's documented examples by hand, and every error
 * path (type refusals and their messages, CTS_EINVAL, CTS_ERANGE,
 * CTS_ECORRUPT, CTS_ENOMEM through cts_alloc_fail_after).
 */
#include "cts_test.h"

#include "agg.h"

#include <math.h>

__extension__ typedef __int128 i128;

#define MAXS 5 /* series per data set */

/* ------------------------------------------------------------------------
 * Data sets: up to MAXS series, each ascending in time, sharing times.
 * ------------------------------------------------------------------------ */
typedef struct ds {
    cts_type type;
    uint32_t n, nseries;
    uint32_t off[MAXS + 1];
    int64_t *ts;
    double *f;
    int64_t *i;
    uint64_t *u;
    uint8_t *b;
    cts_str *s;
} ds;

static const char *const palette[] = {"", "a", "ab", "b", "ba", "abc", "zz", "za", "a b"};
#define NPAL (sizeof palette / sizeof palette[0])

static double gen_f(cts_rng *r, int mode)
{
    static const double pal[] = {1.5, -2.25, 0.0, 21.4, -0.0};
    uint64_t k = cts_rng_below(r, 100);
    if (mode == 3)
        return NAN;
    if (mode >= 1 && k < 6)
        return k < 3 ? NAN : (k < 5 ? INFINITY : -INFINITY);
    if (k < 25)
        return pal[cts_rng_below(r, 5)];
    if (mode == 2)
        return (double)(int64_t)cts_rng_below(r, 7) - 3;
    return (cts_rng_unit(r) - 0.5) * 2000;
}

static int64_t gen_i(cts_rng *r, int mode)
{
    static const int64_t pal[] = {INT64_MIN, INT64_MAX, 0, -1, 1, 7};
    uint64_t k = cts_rng_below(r, 100);
    if (mode >= 1 && k < 30)
        return pal[cts_rng_below(r, 6)];
    if (mode >= 2)
        return (int64_t)cts_rng_next(r);
    if (k < 40)
        return (int64_t)cts_rng_below(r, 5) - 2;
    return (int64_t)cts_rng_below(r, 2000001) - 1000000;
}

static uint64_t gen_u(cts_rng *r, int mode)
{
    static const uint64_t pal[] = {0, UINT64_MAX, 1, 1ull << 63, 42};
    uint64_t k = cts_rng_below(r, 100);
    if (mode >= 1 && k < 30)
        return pal[cts_rng_below(r, 5)];
    if (mode >= 2)
        return cts_rng_next(r);
    return k < 40 ? cts_rng_below(r, 4) : cts_rng_below(r, 1000000);
}

static void ds_free(ds *d)
{
    free(d->ts);
    free(d->f);
    free(d->i);
    free(d->u);
    free(d->b);
    free(d->s);
    memset(d, 0, sizeof *d);
}

static void ds_gen(ds *d, cts_rng *r, cts_type type, uint32_t max_per_series)
{
    memset(d, 0, sizeof *d);
    d->type = type;
    d->nseries = 1 + (uint32_t)cts_rng_below(r, MAXS);
    uint32_t lens[MAXS];
    for (uint32_t s = 0; s < d->nseries; s++) {
        lens[s] = (uint32_t)cts_rng_below(r, max_per_series + 1);
        d->off[s + 1] = d->off[s] + lens[s];
    }
    d->n = d->off[d->nseries];
    size_t cnt = d->n ? d->n : 1;
    d->ts = calloc(cnt, sizeof *d->ts);
    d->f = calloc(cnt, sizeof *d->f);
    d->i = calloc(cnt, sizeof *d->i);
    d->u = calloc(cnt, sizeof *d->u);
    d->b = calloc(cnt, sizeof *d->b);
    d->s = calloc(cnt, sizeof *d->s);
    assert_non_null(d->s);
    int mode = (int)cts_rng_below(r, 4);
    int64_t t0 = (int64_t)cts_rng_below(r, 1000) - 500;
    for (uint32_t s = 0; s < d->nseries; s++) {
        int64_t t = t0 + (int64_t)cts_rng_below(r, 3);
        for (uint32_t k = d->off[s]; k < d->off[s + 1]; k++) {
            d->ts[k] = t;
            t += 1 + (int64_t)cts_rng_below(r, 3); /* often equal to another series' time */
            d->f[k] = gen_f(r, mode);
            d->i[k] = gen_i(r, mode);
            d->u[k] = gen_u(r, mode);
            d->b[k] = cts_rng_below(r, 3) == 0;
            const char *p = palette[cts_rng_below(r, NPAL)];
            d->s[k] = (cts_str){p, (uint32_t)strlen(p)};
        }
    }
}

static const void *ds_vals(const ds *d, uint32_t at)
{
    switch (d->type) {
    case CTS_TYPE_FLOAT:
        return d->f + at;
    case CTS_TYPE_INT:
        return d->i + at;
    case CTS_TYPE_UINT:
        return d->u + at;
    case CTS_TYPE_BOOL:
        return d->b + at;
    default:
        return d->s + at;
    }
}

static cts_num ds_num(const ds *d, uint32_t k)
{
    cts_num x;
    x.u = 0;
    if (d->type == CTS_TYPE_FLOAT)
        x.f = d->f[k];
    else if (d->type == CTS_TYPE_INT)
        x.i = d->i[k];
    else if (d->type == CTS_TYPE_UINT)
        x.u = d->u[k];
    else if (d->type == CTS_TYPE_BOOL)
        x.u = d->b[k];
    return x;
}

/* ------------------------------------------------------------------------
 * Reference computations: plain loops over every point, in any order.
 * ------------------------------------------------------------------------ */
typedef struct expect {
    cts_qval v;
    int64_t ts;
    bool has_ts;
    double tol; /* for float sum, mean, stddev */
} expect;

static bool lt_num(cts_type t, cts_num a, cts_num b)
{
    if (t == CTS_TYPE_FLOAT)
        return a.f < b.f;
    if (t == CTS_TYPE_INT)
        return a.i < b.i;
    return a.u < b.u;
}

static bool eq_num(cts_type t, cts_num a, cts_num b)
{
    return t == CTS_TYPE_FLOAT ? a.f == b.f : a.u == b.u;
}

static bool nan_num(cts_type t, cts_num a)
{
    return t == CTS_TYPE_FLOAT && isnan(a.f);
}

static int cmp_str(cts_str a, cts_str b)
{
    uint32_t m = a.len < b.len ? a.len : b.len;
    int c = m ? memcmp(a.ptr, b.ptr, m) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

static void set_typed(cts_type t, cts_num x, cts_qval *v)
{
    v->type = (cts_qtype)t; /* CTS_Q_* numbering matches cts_type's */
    if (t == CTS_TYPE_BOOL)
        v->v.b = x.u != 0;
    else
        v->v.u = x.u;
}

/* min/max: NaN never wins; ties and NaN-only go to the earliest time. */
static void ref_extreme(const ds *d, bool want_max, expect *e)
{
    uint32_t best = 0;
    for (uint32_t k = 1; k < d->n; k++) {
        cts_num x = ds_num(d, k), c = ds_num(d, best);
        bool xn = nan_num(d->type, x), cn = nan_num(d->type, c), take;
        if (xn)
            take = cn && d->ts[k] < d->ts[best];
        else if (cn)
            take = true;
        else
            take = (want_max ? lt_num(d->type, c, x) : lt_num(d->type, x, c)) ||
                   (eq_num(d->type, x, c) && d->ts[k] < d->ts[best]);
        if (take)
            best = k;
    }
    set_typed(d->type, ds_num(d, best), &e->v);
    e->ts = d->ts[best];
    e->has_ts = true;
}

static bool ref_tie(cts_type t, bool last, cts_num x, cts_num c)
{
    if (t == CTS_TYPE_BOOL)
        return last ? x.u > c.u : x.u < c.u;
    if (nan_num(t, x))
        return false;
    return nan_num(t, c) || lt_num(t, c, x);
}

static void ref_edge(const ds *d, bool last, expect *e)
{
    uint32_t best = 0;
    for (uint32_t k = 1; k < d->n; k++) {
        bool take;
        if (d->ts[k] != d->ts[best])
            take = last ? d->ts[k] > d->ts[best] : d->ts[k] < d->ts[best];
        else if (d->type == CTS_TYPE_STRING)
            take = cmp_str(d->s[k], d->s[best]) > 0;
        else
            take = ref_tie(d->type, last, ds_num(d, k), ds_num(d, best));
        if (take)
            best = k;
    }
    if (d->type == CTS_TYPE_STRING) {
        e->v.type = CTS_Q_STRING;
        e->v.v.s = d->s[best];
    } else {
        set_typed(d->type, ds_num(d, best), &e->v);
    }
    e->ts = d->ts[best];
    e->has_ts = true;
}

static double num_f(cts_type t, cts_num x)
{
    return t == CTS_TYPE_FLOAT ? x.f : t == CTS_TYPE_INT ? (double)x.i : (double)x.u;
}

static void ref_sum_mean(const ds *d, bool mean, expect *e)
{
    double fs = 0, abs_sum = 0;
    i128 is = 0;
    for (uint32_t k = 0; k < d->n; k++) {
        cts_num x = ds_num(d, k);
        if (d->type == CTS_TYPE_FLOAT) {
            fs += x.f;
            if (isfinite(x.f))
                abs_sum += fabs(x.f);
        } else {
            is += d->type == CTS_TYPE_INT ? (i128)x.i : (i128)x.u;
        }
    }
    if (mean) {
        e->v.type = CTS_Q_FLOAT;
        e->v.v.f = d->type == CTS_TYPE_FLOAT ? fs / d->n : (double)is / d->n;
        e->tol = 1e-12 * abs_sum / d->n;
    } else if (d->type == CTS_TYPE_FLOAT) {
        e->v.type = CTS_Q_FLOAT;
        e->v.v.f = fs;
        e->tol = 1e-12 * abs_sum;
    } else {
        e->v.type = (cts_qtype)d->type;
        e->v.v.u = (uint64_t)is;
    }
}

static void ref_spread(const ds *d, expect *e)
{
    bool have = false;
    cts_num mn = {0}, mx = {0};
    for (uint32_t k = 0; k < d->n; k++) {
        cts_num x = ds_num(d, k);
        if (nan_num(d->type, x))
            continue;
        if (!have || lt_num(d->type, x, mn))
            mn = x;
        if (!have || lt_num(d->type, mx, x))
            mx = x;
        have = true;
    }
    e->v.type = (cts_qtype)d->type;
    if (d->type == CTS_TYPE_FLOAT)
        e->v.v.f = have ? mx.f - mn.f : NAN;
    else
        e->v.v.u = mx.u - mn.u;
}

static void ref_stddev(const ds *d, expect *e)
{
    double s = 0, m2 = 0, amax = 0;
    uint32_t k = 0;
    for (uint32_t j = 0; j < d->n; j++) {
        double x = num_f(d->type, ds_num(d, j));
        if (!isnan(x)) {
            s += x;
            k++;
            amax = fabs(x) > amax ? fabs(x) : amax;
        }
    }
    double mean = s / k;
    for (uint32_t j = 0; j < d->n; j++) {
        double x = num_f(d->type, ds_num(d, j));
        if (!isnan(x))
            m2 += (x - mean) * (x - mean);
    }
    e->v.type = CTS_Q_FLOAT;
    e->v.v.f = k < 2 ? NAN : sqrt(m2 / (k - 1));
    e->tol = 1e-12 * (fabs(e->v.v.f) + amax);
}

/* Sorting for median/percentile: by value (-0 before +0), then time. */
typedef struct vt {
    cts_num v;
    int64_t t;
    cts_type type;
} vt;

static int vt_cmp(const void *pa, const void *pb)
{
    const vt *a = pa, *b = pb;
    if (lt_num(a->type, a->v, b->v))
        return -1;
    if (lt_num(a->type, b->v, a->v))
        return 1;
    if (a->type == CTS_TYPE_FLOAT && signbit(a->v.f) != signbit(b->v.f))
        return signbit(a->v.f) ? -1 : 1;
    return a->t < b->t ? -1 : a->t > b->t;
}

static uint32_t sorted_valid(const ds *d, vt *out)
{
    uint32_t m = 0;
    for (uint32_t k = 0; k < d->n; k++) {
        cts_num x = ds_num(d, k);
        if (!nan_num(d->type, x))
            out[m++] = (vt){x, d->ts[k], d->type};
    }
    qsort(out, m, sizeof *out, vt_cmp);
    return m;
}

static void ref_median(const ds *d, expect *e)
{
    vt *a = calloc(d->n, sizeof *a);
    uint32_t m = sorted_valid(d, a);
    e->v.type = CTS_Q_FLOAT;
    if (m == 0) {
        e->v.v.f = NAN;
    } else if (m % 2) {
        e->v.v.f = num_f(d->type, a[m / 2].v);
    } else {
        cts_num lo = a[m / 2 - 1].v, hi = a[m / 2].v;
        if (d->type == CTS_TYPE_FLOAT)
            e->v.v.f = lo.f == hi.f ? lo.f : lo.f + (hi.f - lo.f) / 2;
        else
            e->v.v.f = num_f(d->type, lo) + (double)(hi.u - lo.u) / 2;
    }
    free(a);
}

static void ref_percentile(const ds *d, double pct, expect *e)
{
    vt *a = calloc(d->n, sizeof *a);
    uint32_t m = sorted_valid(d, a);
    double x = floor((double)m * pct / 100.0 + 0.5) - 1;
    if (x >= 0 && x < m) {
        uint32_t i = (uint32_t)x;
        set_typed(d->type, a[i].v, &e->v);
        e->ts = a[i].t;
        e->has_ts = true;
    } else {
        e->v.type = CTS_Q_NULL;
    }
    free(a);
}

static void reference(const ds *d, q_fn fn, double pct, expect *e)
{
    memset(e, 0, sizeof *e);
    if (fn == Q_FN_COUNT) {
        e->v.type = CTS_Q_INT;
        e->v.v.i = d->n;
        return;
    }
    if (d->n == 0) {
        e->v.type = CTS_Q_NULL;
        return;
    }
    switch (fn) {
    case Q_FN_SUM:
    case Q_FN_MEAN:
        ref_sum_mean(d, fn == Q_FN_MEAN, e);
        break;
    case Q_FN_MIN:
    case Q_FN_MAX:
        ref_extreme(d, fn == Q_FN_MAX, e);
        break;
    case Q_FN_FIRST:
    case Q_FN_LAST:
        ref_edge(d, fn == Q_FN_LAST, e);
        break;
    case Q_FN_SPREAD:
        ref_spread(d, e);
        break;
    case Q_FN_STDDEV:
        ref_stddev(d, e);
        break;
    case Q_FN_MEDIAN:
        ref_median(d, e);
        break;
    default:
        ref_percentile(d, pct, e);
        break;
    }
}

/* ------------------------------------------------------------------------
 * Comparing.
 * ------------------------------------------------------------------------ */
static bool float_close(double want, double got, double tol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return want == got;
    return fabs(want - got) <= tol;
}

static void check(const expect *e, const cts_qval *got, int64_t got_ts, const char *what,
                  uint64_t seed)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s (seed %llu)", what, (unsigned long long)seed);
    if (got->type != e->v.type)
        fail_msg("%s: type %d, want %d", msg, got->type, e->v.type);
    switch (got->type) {
    case CTS_Q_NULL:
        break;
    case CTS_Q_FLOAT:
        if (!float_close(e->v.v.f, got->v.f, e->tol))
            fail_msg("%s: %.17g, want %.17g (tol %g)", msg, got->v.f, e->v.v.f, e->tol);
        break;
    case CTS_Q_STRING:
        if (cmp_str(got->v.s, e->v.v.s) != 0)
            fail_msg("%s: string '%.*s', want '%.*s'", msg, (int)got->v.s.len, got->v.s.ptr,
                     (int)e->v.v.s.len, e->v.v.s.ptr);
        break;
    case CTS_Q_BOOL:
        if (got->v.b != e->v.v.b)
            fail_msg("%s: bool %d, want %d", msg, got->v.b, e->v.v.b);
        break;
    default:
        if (got->v.u != e->v.v.u)
            fail_msg("%s: %llu, want %llu", msg, (unsigned long long)got->v.u,
                     (unsigned long long)e->v.v.u);
        break;
    }
    if (e->has_ts && got_ts != e->ts)
        fail_msg("%s: time %lld, want %lld", msg, (long long)got_ts, (long long)e->ts);
}

/* ------------------------------------------------------------------------
 * The ways to feed a data set.
 * ------------------------------------------------------------------------ */
typedef struct chunk {
    uint32_t at, n;
} chunk;

/* Cut every series into random chunks and shuffle them (series
 * interleave; within a series chunks may come in any order too, since
 * states are merged in any order). */
static uint32_t make_chunks(const ds *d, cts_rng *r, chunk *out)
{
    uint32_t m = 0;
    for (uint32_t s = 0; s < d->nseries; s++) {
        uint32_t k = d->off[s];
        while (k < d->off[s + 1]) {
            uint32_t left = d->off[s + 1] - k;
            uint32_t len = 1 + (uint32_t)cts_rng_below(r, cts_rng_below(r, 2) ? 4 : 64);
            len = len > left ? left : len;
            out[m++] = (chunk){k, len};
            k += len;
        }
    }
    for (uint32_t i = m; i > 1; i--) {
        uint32_t j = (uint32_t)cts_rng_below(r, i);
        chunk c = out[i - 1];
        out[i - 1] = out[j];
        out[j] = c;
    }
    return m;
}

static void add_ok(q_agg *a, const ds *d, chunk c)
{
    assert_int_equal(q_agg_add(a, d->ts + c.at, ds_vals(d, c.at), c.n), 0);
}

static bool stats_usable(q_fn fn, cts_type t)
{
    if (!q_fn_uses_stats(fn) || t == CTS_TYPE_STRING)
        return fn == Q_FN_COUNT;
    return t != CTS_TYPE_BOOL || fn == Q_FN_COUNT || fn == Q_FN_FIRST || fn == Q_FN_LAST;
}

/* Feed a chunk through its block statistics, as the executor would. */
static void add_stats(q_agg *a, const ds *d, chunk c)
{
    cts_block_input in = {.type = d->type, .count = c.n, .ts = d->ts + c.at};
    in.v.f = ds_vals(d, c.at); /* the union's members alias one pointer */
    cts_stats st;
    cts_stats_compute(&in, &st);
    int rc = q_agg_add_stats(a, &st);
    if (rc == CTS_ERANGE) /* an integer mean the stats cannot pin down */
        add_ok(a, d, c);
    else
        assert_int_equal(rc, 0);
}

static void result(q_agg *a, cts_qval *v, int64_t *ts)
{
    *ts = INT64_MIN;
    assert_int_equal(q_agg_result(a, v, ts), 0);
}

static void run_one(const ds *d, q_fn fn, double pct, cts_rng *r, uint64_t seed)
{
    expect e;
    reference(d, fn, pct, &e);
    chunk *ch = calloc(d->n + 1, sizeof *ch);
    uint32_t nch = make_chunks(d, r, ch);
    cts_qval v;
    int64_t ts;
    q_agg a;

    q_agg_init(&a, fn, d->type, pct); /* one call per series */
    for (uint32_t s = 0; s < d->nseries; s++)
        add_ok(&a, d, (chunk){d->off[s], d->off[s + 1] - d->off[s]});
    result(&a, &v, &ts);
    check(&e, &v, ts, "per series", seed);
    q_agg_fini(&a);

    q_agg_init(&a, fn, d->type, pct); /* many calls */
    for (uint32_t k = 0; k < nch; k++)
        add_ok(&a, d, ch[k]);
    result(&a, &v, &ts);
    check(&e, &v, ts, "many calls", seed);
    q_agg_fini(&a);

    q_agg *st = calloc(nch + 1, sizeof *st); /* many states, merged at random */
    for (uint32_t k = 0; k < nch; k++) {
        q_agg_init(&st[k], fn, d->type, pct);
        add_ok(&st[k], d, ch[k]);
    }
    for (uint32_t live = nch; live > 1; live--) {
        uint32_t i = (uint32_t)cts_rng_below(r, live), j = (uint32_t)cts_rng_below(r, live - 1);
        j += j >= i;
        assert_int_equal(q_agg_merge(&st[i], &st[j]), 0);
        q_agg_fini(&st[j]);
        st[j] = st[live - 1];
    }
    if (nch == 0)
        q_agg_init(&st[0], fn, d->type, pct);
    result(&st[0], &v, &ts);
    check(&e, &v, ts, "merged", seed);
    q_agg_fini(&st[0]);
    free(st);

    if (stats_usable(fn, d->type)) { /* block statistics, mixed with raw calls */
        q_agg_init(&a, fn, d->type, pct);
        for (uint32_t k = 0; k < nch; k++) {
            if (cts_rng_below(r, 4))
                add_stats(&a, d, ch[k]);
            else
                add_ok(&a, d, ch[k]);
        }
        result(&a, &v, &ts);
        check(&e, &v, ts, "stats", seed);
        q_agg_fini(&a);
    }
    free(ch);
}

static const double pcts[] = {0, 0.1, 1, 5, 20, 25, 33.3, 50, 66.6, 90, 99, 99.9, 100, 150, -5};

static void property(q_fn fn, int trials)
{
    static const cts_type types[] = {CTS_TYPE_FLOAT, CTS_TYPE_INT, CTS_TYPE_UINT, CTS_TYPE_BOOL,
                                     CTS_TYPE_STRING};
    for (size_t t = 0; t < 5; t++) {
        if (q_fn_check(fn, types[t], NULL, NULL, 0) != 0)
            continue;
        for (int k = 0; k < trials; k++) {
            uint64_t seed = 0xa99u + (uint64_t)fn * 1000003u + t * 7919u + (uint64_t)k;
            cts_rng r = {seed};
            ds d;
            uint32_t max = k % 10 == 9 ? 2600 : (k % 3 ? 40 : 300);
            ds_gen(&d, &r, types[t], max);
            double pct = pcts[cts_rng_below(&r, sizeof pcts / sizeof pcts[0])];
            run_one(&d, fn, pct, &r, seed);
            ds_free(&d);
        }
    }
}

#define PROPERTY_TEST(name, fn)                                                                    \
    static void name(void **state)                                                                 \
    {                                                                                              \
        (void)state;                                                                               \
        property(fn, 250);                                                                         \
    }
PROPERTY_TEST(test_count_property, Q_FN_COUNT)
PROPERTY_TEST(test_sum_property, Q_FN_SUM)
PROPERTY_TEST(test_mean_property, Q_FN_MEAN)
PROPERTY_TEST(test_min_property, Q_FN_MIN)
PROPERTY_TEST(test_max_property, Q_FN_MAX)
PROPERTY_TEST(test_first_property, Q_FN_FIRST)
PROPERTY_TEST(test_last_property, Q_FN_LAST)
PROPERTY_TEST(test_spread_property, Q_FN_SPREAD)
PROPERTY_TEST(test_stddev_property, Q_FN_STDDEV)
PROPERTY_TEST(test_median_property, Q_FN_MEDIAN)
PROPERTY_TEST(test_percentile_property, Q_FN_PERCENTILE)

/* ------------------------------------------------------------------------
 * Hand-checked examples.
 * ------------------------------------------------------------------------ */
static const int64_t T[] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};

static cts_qval agg_f(q_fn fn, const double *v, uint32_t n, double pct, int64_t *ts)
{
    q_agg a;
    cts_qval out;
    int64_t t = -1;
    q_agg_init(&a, fn, CTS_TYPE_FLOAT, pct);
    assert_int_equal(q_agg_add(&a, T, v, n), 0);
    assert_int_equal(q_agg_result(&a, &out, &t), 0);
    q_agg_fini(&a);
    if (ts)
        *ts = t;
    return out;
}

static cts_qval agg_i(q_fn fn, const int64_t *v, uint32_t n, double pct, int64_t *ts)
{
    q_agg a;
    cts_qval out;
    int64_t t = -1;
    q_agg_init(&a, fn, CTS_TYPE_INT, pct);
    assert_int_equal(q_agg_add(&a, T, v, n), 0);
    assert_int_equal(q_agg_result(&a, &out, &t), 0);
    q_agg_fini(&a);
    if (ts)
        *ts = t;
    return out;
}

static void test_examples_numeric(void **state)
{
    (void)state;
    /* the six santa_monica water levels of InfluxDB's documentation */
    const double w[] = {2.064, 2.116, 2.028, 2.126, 2.041, 2.051};
    int64_t ts;
    cts_qval v = agg_f(Q_FN_MEAN, w, 6, 0, NULL);
    assert_true(fabs(v.v.f - 12.426 / 6) < 1e-14);
    v = agg_f(Q_FN_MEDIAN, w, 6, 0, NULL); /* 2.051 + (2.064 - 2.051) / 2 */
    assert_true(v.v.f == 2.051 + (2.064 - 2.051) / 2);
    v = agg_f(Q_FN_SPREAD, w, 6, 0, NULL);
    assert_true(v.type == CTS_Q_FLOAT && v.v.f == 2.126 - 2.028);
    v = agg_f(Q_FN_MAX, w, 6, 0, &ts);
    assert_true(v.v.f == 2.126 && ts == 40);
    v = agg_f(Q_FN_PERCENTILE, w, 6, 50, &ts); /* i = floor(3.5) - 1 = 2 */
    assert_true(v.v.f == 2.051 && ts == 60);

    const int64_t one_to_ten[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    v = agg_i(Q_FN_PERCENTILE, one_to_ten, 10, 5, &ts); /* floor(1.0) - 1 = 0 */
    assert_int_equal(v.type, CTS_Q_INT);
    assert_int_equal(v.v.i, 1);
    v = agg_i(Q_FN_PERCENTILE, one_to_ten, 10, 100, &ts);
    assert_int_equal(v.v.i, 10);
    assert_int_equal(ts, 100);
    v = agg_i(Q_FN_PERCENTILE, one_to_ten, 10, 0, &ts);
    assert_int_equal(v.type, CTS_Q_NULL);
    v = agg_i(Q_FN_PERCENTILE, one_to_ten, 10, 4.9, &ts); /* floor(0.99) - 1 < 0 */
    assert_int_equal(v.type, CTS_Q_NULL);
    v = agg_i(Q_FN_PERCENTILE, one_to_ten, 10, NAN, &ts); /* no index at all */
    assert_int_equal(v.type, CTS_Q_NULL);
    v = agg_i(Q_FN_PERCENTILE, one_to_ten, 3, 20, &ts); /* floor(1.1) - 1 = 0: the min */
    assert_true(v.v.i == 1 && ts == 10);

    /* a boolean byte other than 0 is true */
    const uint8_t bools[] = {2, 0, 1};
    q_agg a;
    q_agg_init(&a, Q_FN_MAX, CTS_TYPE_BOOL, 0);
    assert_int_equal(q_agg_add(&a, T, bools, 3), 0);
    assert_int_equal(q_agg_result(&a, &v, &ts), 0);
    assert_true(v.type == CTS_Q_BOOL && v.v.b && ts == 10);
    q_agg_fini(&a);
    v = agg_i(Q_FN_MEDIAN, one_to_ten, 4, 0, NULL);
    assert_true(v.type == CTS_Q_FLOAT && v.v.f == 2.5);
    v = agg_i(Q_FN_MEDIAN, one_to_ten, 3, 0, NULL);
    assert_true(v.v.f == 2.0);
    v = agg_i(Q_FN_MEAN, one_to_ten, 4, 0, NULL);
    assert_true(v.type == CTS_Q_FLOAT && v.v.f == 2.5);
    v = agg_i(Q_FN_SUM, one_to_ten, 10, 0, NULL);
    assert_true(v.type == CTS_Q_INT && v.v.i == 55);

    const double sd[] = {2, 4, 4, 4, 5, 5, 7, 9}; /* sample: sqrt(32 / 7) */
    v = agg_f(Q_FN_STDDEV, sd, 8, 0, NULL);
    assert_true(fabs(v.v.f - sqrt(32.0 / 7)) < 1e-15);
    v = agg_f(Q_FN_STDDEV, sd, 1, 0, NULL); /* one point: NaN, not null */
    assert_true(v.type == CTS_Q_FLOAT && isnan(v.v.f));
}

static void test_examples_extremes(void **state)
{
    (void)state;
    const int64_t big[] = {INT64_MAX, INT64_MAX, INT64_MIN, INT64_MAX};
    cts_qval v = agg_i(Q_FN_SUM, big, 2, 0, NULL); /* wraps, as Go's int64 */
    assert_int_equal(v.v.i, -2);
    v = agg_i(Q_FN_MEAN, big, 2, 0, NULL); /* exact: no wrap */
    assert_true(v.v.f == (double)INT64_MAX);
    v = agg_i(Q_FN_SPREAD, big + 2, 2, 0, NULL); /* INT64_MAX - INT64_MIN wraps */
    assert_int_equal(v.v.i, -1);
    v = agg_i(Q_FN_MEDIAN, big + 2, 2, 0, NULL); /* -0.5, rounded: no overflow */
    assert_true(fabs(v.v.f) <= 1);
    /* every value at the end of the order: the earliest point still wins */
    const int64_t maxes[10] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX,
                               INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
    const int64_t mins[10] = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN,
                              INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
    int64_t at;
    v = agg_i(Q_FN_MIN, maxes, 10, 0, &at);
    assert_true(v.v.i == INT64_MAX && at == 10);
    v = agg_i(Q_FN_MAX, mins, 10, 0, &at);
    assert_true(v.v.i == INT64_MIN && at == 10);
    const double infs[10] = {INFINITY, NAN,      INFINITY, INFINITY, INFINITY,
                             INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
    v = agg_f(Q_FN_MIN, infs, 10, 0, &at);
    assert_true(v.v.f == INFINITY && at == 10);
    v = agg_f(Q_FN_SPREAD, infs, 10, 0, NULL); /* Inf - Inf */
    assert_true(isnan(v.v.f));

    const double nan_first[] = {NAN, 3, NAN, 1, 1};
    int64_t ts;
    v = agg_f(Q_FN_MIN, nan_first, 5, 0, &ts); /* NaN never wins; tie: earliest */
    assert_true(v.v.f == 1 && ts == 40);
    v = agg_f(Q_FN_MAX, nan_first, 5, 0, &ts);
    assert_true(v.v.f == 3 && ts == 20);
    v = agg_f(Q_FN_SUM, nan_first, 5, 0, NULL);
    assert_true(isnan(v.v.f));
    v = agg_f(Q_FN_COUNT, nan_first, 5, 0, NULL);
    assert_true(v.type == CTS_Q_INT && v.v.i == 5);
    v = agg_f(Q_FN_FIRST, nan_first, 5, 0, &ts);
    assert_true(isnan(v.v.f) && ts == 10);
    v = agg_f(Q_FN_MEDIAN, nan_first, 5, 0, NULL); /* of 3, 1, 1 */
    assert_true(v.v.f == 1);
    const double all_nan[] = {NAN, NAN};
    v = agg_f(Q_FN_MIN, all_nan, 2, 0, &ts);
    assert_true(isnan(v.v.f) && ts == 10);
    v = agg_f(Q_FN_SPREAD, all_nan, 2, 0, NULL);
    assert_true(isnan(v.v.f));
    v = agg_f(Q_FN_MEDIAN, all_nan, 2, 0, NULL);
    assert_true(v.type == CTS_Q_FLOAT && isnan(v.v.f));
    v = agg_f(Q_FN_PERCENTILE, all_nan, 2, 50, NULL);
    assert_int_equal(v.type, CTS_Q_NULL);
    v = agg_f(Q_FN_STDDEV, all_nan, 2, 0, NULL);
    assert_true(isnan(v.v.f));
}

/* Two series at the same times: first/last keep the greatest value
 * (booleans: false first, true last; strings bytewise). */
static void test_examples_ties(void **state)
{
    (void)state;
    const int64_t t1[] = {5, 9}, t2[] = {5, 9};
    const double a1[] = {3, 8}, a2[] = {7, 2};
    const uint8_t b1[] = {1, 0}, b2[] = {0, 1};
    const cts_str s1[] = {{"abc", 3}, {"b", 1}}, s2[] = {{"abd", 3}, {"ab", 2}};
    struct {
        q_fn fn;
        cts_type type;
        const void *v1, *v2;
        uint64_t want;
        int64_t ts;
    } c[] = {
        {Q_FN_FIRST, CTS_TYPE_FLOAT, a1, a2, 0, 5},  {Q_FN_LAST, CTS_TYPE_FLOAT, a1, a2, 0, 9},
        {Q_FN_FIRST, CTS_TYPE_BOOL, b1, b2, 0, 5},   {Q_FN_LAST, CTS_TYPE_BOOL, b1, b2, 1, 9},
        {Q_FN_MIN, CTS_TYPE_BOOL, b1, b2, 0, 5},     {Q_FN_MAX, CTS_TYPE_BOOL, b1, b2, 1, 5},
        {Q_FN_FIRST, CTS_TYPE_STRING, s1, s2, 0, 5}, {Q_FN_LAST, CTS_TYPE_STRING, s1, s2, 0, 9},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        for (int order = 0; order < 2; order++) {
            q_agg a;
            cts_qval v;
            int64_t ts;
            q_agg_init(&a, c[k].fn, c[k].type, 0);
            assert_int_equal(q_agg_add(&a, order ? t2 : t1, order ? c[k].v2 : c[k].v1, 2), 0);
            assert_int_equal(q_agg_add(&a, order ? t1 : t2, order ? c[k].v1 : c[k].v2, 2), 0);
            assert_int_equal(q_agg_result(&a, &v, &ts), 0);
            assert_int_equal(ts, c[k].ts);
            if (c[k].type == CTS_TYPE_FLOAT)
                assert_true(v.v.f == (c[k].fn == Q_FN_FIRST ? 7 : 8));
            else if (c[k].type == CTS_TYPE_BOOL)
                assert_int_equal(v.v.b, c[k].want);
            else
                assert_true(v.v.s.len == (c[k].fn == Q_FN_FIRST ? 3 : 1) &&
                            memcmp(v.v.s.ptr, c[k].fn == Q_FN_FIRST ? "abd" : "b", v.v.s.len) == 0);
            q_agg_fini(&a);
        }
    }
}

static void test_empty(void **state)
{
    (void)state;
    for (int fn = Q_FN_COUNT; fn <= Q_FN_PERCENTILE; fn++) {
        q_agg a;
        cts_qval v;
        int64_t ts = 77;
        q_agg_init(&a, (q_fn)fn, CTS_TYPE_FLOAT, 50);
        assert_int_equal(q_agg_add(&a, NULL, NULL, 0), 0);
        assert_int_equal(q_agg_result(&a, &v, &ts), 0);
        if (fn == Q_FN_COUNT)
            assert_true(v.type == CTS_Q_INT && v.v.i == 0);
        else
            assert_int_equal(v.type, CTS_Q_NULL);
        assert_int_equal(ts, 77);
        assert_int_equal(q_agg_mem_bytes(&a), 0);
        q_agg_fini(&a);
        q_agg_fini(&a); /* twice is harmless */
    }
    q_agg_fini(NULL);
    assert_int_equal(q_agg_mem_bytes(NULL), 0);
}

/* ------------------------------------------------------------------------
 * Names, types and errors.
 * ------------------------------------------------------------------------ */
static void test_names(void **state)
{
    (void)state;
    /* a state per bucket and output: keep it within a cache line */
    assert_true(sizeof(q_agg) <= 64);
    for (int fn = Q_FN_COUNT; fn <= Q_FN_PERCENTILE; fn++) {
        q_fn back;
        assert_true(q_fn_lookup(q_fn_name((q_fn)fn), &back));
        assert_int_equal(back, fn);
    }
    assert_false(q_fn_lookup("derivative", NULL));
    assert_false(q_fn_lookup("MEAN", NULL));
    assert_false(q_fn_lookup(NULL, NULL));
    assert_string_equal(q_fn_name((q_fn)99), "unknown");
    assert_true(q_fn_is_selector(Q_FN_PERCENTILE) && q_fn_is_selector(Q_FN_FIRST));
    assert_false(q_fn_is_selector(Q_FN_MEDIAN) || q_fn_is_selector(Q_FN_SPREAD));
    assert_true(q_fn_uses_stats(Q_FN_SPREAD) && q_fn_uses_stats(Q_FN_MEAN));
    assert_false(q_fn_uses_stats(Q_FN_STDDEV) || q_fn_uses_stats(Q_FN_MEDIAN) ||
                 q_fn_uses_stats(Q_FN_PERCENTILE) || q_fn_uses_stats((q_fn)0));
}

static void test_check_types(void **state)
{
    (void)state;
    /* result type per (fn, input), 0 for a refusal; columns float int uint bool string */
    static const cts_qtype want[][5] = {
        [Q_FN_COUNT] = {CTS_Q_INT, CTS_Q_INT, CTS_Q_INT, CTS_Q_INT, CTS_Q_INT},
        [Q_FN_SUM] = {CTS_Q_FLOAT, CTS_Q_INT, CTS_Q_UINT, 0, 0},
        [Q_FN_MEAN] = {CTS_Q_FLOAT, CTS_Q_FLOAT, CTS_Q_FLOAT, 0, 0},
        [Q_FN_MIN] = {CTS_Q_FLOAT, CTS_Q_INT, CTS_Q_UINT, CTS_Q_BOOL, 0},
        [Q_FN_MAX] = {CTS_Q_FLOAT, CTS_Q_INT, CTS_Q_UINT, CTS_Q_BOOL, 0},
        [Q_FN_FIRST] = {CTS_Q_FLOAT, CTS_Q_INT, CTS_Q_UINT, CTS_Q_BOOL, CTS_Q_STRING},
        [Q_FN_LAST] = {CTS_Q_FLOAT, CTS_Q_INT, CTS_Q_UINT, CTS_Q_BOOL, CTS_Q_STRING},
        [Q_FN_SPREAD] = {CTS_Q_FLOAT, CTS_Q_INT, CTS_Q_UINT, 0, 0},
        [Q_FN_STDDEV] = {CTS_Q_FLOAT, CTS_Q_FLOAT, CTS_Q_FLOAT, 0, 0},
        [Q_FN_MEDIAN] = {CTS_Q_FLOAT, CTS_Q_FLOAT, CTS_Q_FLOAT, 0, 0},
        [Q_FN_PERCENTILE] = {CTS_Q_FLOAT, CTS_Q_INT, CTS_Q_UINT, 0, 0},
    };
    for (int fn = Q_FN_COUNT; fn <= Q_FN_PERCENTILE; fn++) {
        for (int t = CTS_TYPE_FLOAT; t <= CTS_TYPE_STRING; t++) {
            char msg[128] = "", expect_msg[128];
            cts_qtype out = CTS_Q_TIME;
            int rc = q_fn_check((q_fn)fn, (cts_type)t, &out, msg, sizeof msg);
            if (want[fn][t - 1]) {
                assert_int_equal(rc, 0);
                assert_int_equal(out, want[fn][t - 1]);
                continue;
            }
            assert_int_equal(rc, CTS_ETYPE);
            snprintf(expect_msg, sizeof expect_msg, "unsupported %s iterator type: %s",
                     q_fn_name((q_fn)fn), cts_type_name((cts_type)t));
            assert_string_equal(msg, expect_msg);
            /* a state for a refused pair refuses everything */
            q_agg a;
            cts_qval v;
            int64_t ts = 0;
            uint8_t vals[16] = {0};
            q_agg_init(&a, (q_fn)fn, (cts_type)t, 50);
            assert_int_equal(q_agg_add(&a, T, vals, 1), CTS_EINVAL);
            assert_int_equal(q_agg_result(&a, &v, &ts), CTS_EINVAL);
            q_agg_fini(&a);
        }
    }
    char msg[8];
    assert_int_equal(q_fn_check(Q_FN_MEAN, CTS_TYPE_STRING, NULL, msg, sizeof msg), CTS_ETYPE);
    assert_string_equal(msg, "unsuppo"); /* truncated, terminated */
    assert_int_equal(q_fn_check((q_fn)0, CTS_TYPE_FLOAT, NULL, NULL, 0), CTS_EINVAL);
    assert_int_equal(q_fn_check(Q_FN_SUM, (cts_type)9, NULL, msg, sizeof msg), CTS_EINVAL);
}

static void test_argument_errors(void **state)
{
    (void)state;
    q_agg a, b;
    cts_qval v;
    int64_t ts;
    const double x[] = {1};
    q_agg_init(&a, Q_FN_SUM, CTS_TYPE_FLOAT, 0);
    assert_int_equal(q_agg_add(NULL, T, x, 1), CTS_EINVAL);
    assert_int_equal(q_agg_add(&a, NULL, x, 1), CTS_EINVAL);
    assert_int_equal(q_agg_add(&a, T, NULL, 1), CTS_EINVAL);
    assert_int_equal(q_agg_result(&a, NULL, &ts), CTS_EINVAL);
    assert_int_equal(q_agg_result(NULL, &v, &ts), CTS_EINVAL);
    assert_int_equal(q_agg_add_stats(&a, NULL), CTS_EINVAL);
    assert_int_equal(q_agg_merge(&a, NULL), CTS_EINVAL);
    assert_int_equal(q_agg_merge(&a, &a), CTS_EINVAL); /* would count twice */
    q_agg_init(&b, Q_FN_MEAN, CTS_TYPE_FLOAT, 0);      /* another function */
    assert_int_equal(q_agg_merge(&a, &b), CTS_EINVAL);
    q_agg_init(&b, Q_FN_SUM, CTS_TYPE_INT, 0); /* another type */
    assert_int_equal(q_agg_merge(&a, &b), CTS_EINVAL);
    q_agg_init(&a, Q_FN_COUNT, CTS_TYPE_FLOAT, 0);
    assert_int_equal(q_agg_add(&a, T, x, 1), 0);
    assert_int_equal(q_agg_result(&a, &v, NULL), 0); /* ts_ns may be NULL */
    assert_int_equal(v.v.i, 1);
}

static void test_stats_refusals(void **state)
{
    (void)state;
    cts_stats st = {.count = 1};
    struct {
        q_fn fn;
        cts_type type;
        int rc;
    } c[] = {
        {Q_FN_STDDEV, CTS_TYPE_FLOAT, CTS_EINVAL},
        {Q_FN_MEDIAN, CTS_TYPE_INT, CTS_EINVAL},
        {Q_FN_PERCENTILE, CTS_TYPE_UINT, CTS_EINVAL},
        {Q_FN_FIRST, CTS_TYPE_STRING, CTS_EINVAL},
        {Q_FN_LAST, CTS_TYPE_STRING, CTS_EINVAL},
        {Q_FN_MIN, CTS_TYPE_BOOL, CTS_EINVAL},
        {Q_FN_MAX, CTS_TYPE_BOOL, CTS_EINVAL},
        {Q_FN_SUM, CTS_TYPE_BOOL, CTS_EINVAL},
        {Q_FN_COUNT, CTS_TYPE_STRING, 0},
        {Q_FN_FIRST, CTS_TYPE_BOOL, 0},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        q_agg a;
        q_agg_init(&a, c[k].fn, c[k].type, 50);
        assert_int_equal(q_agg_add_stats(&a, &st), c[k].rc);
        q_agg_fini(&a);
    }
}

/* Integer mean from stats: exact when count * (max - min) < 2^64,
 * CTS_ERANGE when ambiguous, CTS_ECORRUPT when inconsistent. sum never
 * needs more than the wrapped sum. */
static void test_stats_int_sum(void **state)
{
    (void)state;
    const int64_t ts[] = {1, 2, 3};
    const int64_t v[] = {INT64_MAX, INT64_MAX, INT64_MAX};
    cts_block_input in = {.type = CTS_TYPE_INT, .count = 3, .ts = ts};
    in.v.i = v;
    cts_stats st;
    cts_stats_compute(&in, &st);
    q_agg a;
    cts_qval out;
    q_agg_init(&a, Q_FN_MEAN, CTS_TYPE_INT, 0); /* wrapped sum, but max == min */
    assert_int_equal(q_agg_add_stats(&a, &st), 0);
    assert_int_equal(q_agg_result(&a, &out, NULL), 0);
    assert_true(out.v.f == (double)INT64_MAX);

    st.min.i = INT64_MIN; /* now count * (max - min) >= 2^64 */
    assert_int_equal(q_agg_add_stats(&a, &st), CTS_ERANGE);
    q_agg_init(&a, Q_FN_SUM, CTS_TYPE_INT, 0);
    assert_int_equal(q_agg_add_stats(&a, &st), 0);
    assert_int_equal(q_agg_result(&a, &out, NULL), 0);
    assert_int_equal(out.v.u, st.sum.u);

    cts_stats bad = {.count = 1, .min.i = 5, .max.i = 5, .sum.i = 7};
    q_agg_init(&a, Q_FN_MEAN, CTS_TYPE_INT, 0);
    assert_int_equal(q_agg_add_stats(&a, &bad), CTS_ECORRUPT);
    assert_int_equal(q_agg_result(&a, &out, NULL), 0);
    assert_int_equal(out.type, CTS_Q_NULL); /* nothing was added */
    cts_stats ubad = {.count = 1, .min.u = UINT64_MAX, .max.u = 0};
    q_agg_init(&a, Q_FN_MEAN, CTS_TYPE_UINT, 0);
    assert_int_equal(q_agg_add_stats(&a, &ubad), CTS_ERANGE);
    cts_stats none = {.count = 0};
    assert_int_equal(q_agg_add_stats(&a, &none), 0);
}

/* ------------------------------------------------------------------------
 * Allocation failures: the state is unchanged and usable afterwards.
 * ------------------------------------------------------------------------ */
static void expect_count(q_agg *a, int64_t want)
{
    assert_int_equal((int64_t)a->count, want);
}

static void test_enomem_keys(void **state)
{
    (void)state;
    double v[200];
    int64_t ts[200];
    for (int k = 0; k < 200; k++) {
        v[k] = 200 - k;
        ts[k] = k;
    }
    for (long nth = 0; nth < 2; nth++) { /* percentile: keys, then times fail */
        q_agg a, b;
        cts_qval out;
        int64_t t;
        q_agg_init(&a, Q_FN_PERCENTILE, CTS_TYPE_FLOAT, 50);
        cts_alloc_fail_after(nth);
        assert_int_equal(q_agg_add(&a, ts, v, 10), CTS_ENOMEM);
        cts_alloc_fail_after(-1);
        expect_count(&a, 0);
        assert_int_equal(q_agg_add(&a, ts, v, 10), 0);
        q_agg_init(&b, Q_FN_PERCENTILE, CTS_TYPE_FLOAT, 50);
        assert_int_equal(q_agg_add(&b, ts + 10, v + 10, 190), 0);
        cts_alloc_fail_after(nth); /* merge must grow a's arrays */
        assert_int_equal(q_agg_merge(&a, &b), CTS_ENOMEM);
        cts_alloc_fail_after(-1);
        expect_count(&a, 10);
        assert_int_equal(q_agg_merge(&a, &b), 0);
        assert_int_equal(q_agg_result(&a, &out, &t), 0);
        assert_true(out.v.f == 100 && t == 100); /* i = floor(100.5) - 1 = 99: value 100 */
        assert_true(q_agg_mem_bytes(&a) >= 200 * 16);
        q_agg_fini(&a);
        q_agg_fini(&b);
    }
}

static void test_enomem_strings(void **state)
{
    (void)state;
    const int64_t ts[] = {1, 2};
    const cts_str s[] = {{"late", 4}, {"later", 5}};
    q_agg a, b;
    cts_qval out;
    int64_t t;
    q_agg_init(&a, Q_FN_LAST, CTS_TYPE_STRING, 0);
    cts_alloc_fail_after(0);
    assert_int_equal(q_agg_add(&a, ts, s, 1), CTS_ENOMEM);
    cts_alloc_fail_after(-1);
    expect_count(&a, 0);
    assert_int_equal(q_agg_add(&a, ts, s, 1), 0);
    q_agg_init(&b, Q_FN_LAST, CTS_TYPE_STRING, 0);
    assert_int_equal(q_agg_add(&b, ts + 1, s + 1, 1), 0);
    cts_alloc_fail_after(0); /* a longer winner needs a bigger buffer */
    assert_int_equal(q_agg_merge(&a, &b), CTS_ENOMEM);
    cts_alloc_fail_after(-1);
    assert_int_equal(q_agg_result(&a, &out, &t), 0);
    assert_true(out.v.s.len == 4 && memcmp(out.v.s.ptr, "late", 4) == 0 && t == 1);
    assert_int_equal(q_agg_merge(&a, &b), 0);
    assert_int_equal(q_agg_result(&a, &out, &t), 0);
    assert_true(out.v.s.len == 5 && memcmp(out.v.s.ptr, "later", 5) == 0 && t == 2);
    assert_int_equal(q_agg_mem_bytes(&a), 5);
    q_agg_fini(&a);
    q_agg_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_check_types),
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_stats_refusals),
        cmocka_unit_test(test_stats_int_sum),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_examples_numeric),
        cmocka_unit_test(test_examples_extremes),
        cmocka_unit_test(test_examples_ties),
        cmocka_unit_test(test_enomem_keys),
        cmocka_unit_test(test_enomem_strings),
        cmocka_unit_test(test_count_property),
        cmocka_unit_test(test_sum_property),
        cmocka_unit_test(test_mean_property),
        cmocka_unit_test(test_min_property),
        cmocka_unit_test(test_max_property),
        cmocka_unit_test(test_first_property),
        cmocka_unit_test(test_last_property),
        cmocka_unit_test(test_spread_property),
        cmocka_unit_test(test_stddev_property),
        cmocka_unit_test(test_median_property),
        cmocka_unit_test(test_percentile_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
