/*
 * test_transform.c: the transformations (query/transform.c) against a
 * naive model written here the way InfluxDB 1.x's reducers work (prev/curr
 * points, nulls dropped before the reducer, the first of equal times
 * kept, moving average over an explicit window list), on random streams of
 * floats (NaN, +-Inf), integers and unsigned integers (extremes), with
 * nulls and equal times, in ascending and descending order; reset; the
 * documented InfluxDB examples (the santa_monica water levels and the
 * ORDER BY time DESC difference of issue #8498); and every error path.
 */
#include "cts_test.h"

#include "agg.h"

#include <math.h>

__extension__ typedef __int128 i128;

#define MAXN 600

typedef struct pt {
    int64_t ts;
    cts_qval v;
} pt;

/* ------------------------------------------------------------------------
 * Streams.
 * ------------------------------------------------------------------------ */
static cts_qval gen_val(cts_rng *r, cts_qtype type, int mode)
{
    cts_qval v = {.type = type};
    uint64_t k = cts_rng_below(r, 100);
    if (k < 12) {
        v.type = CTS_Q_NULL; /* an empty GROUP BY time bucket */
        return v;
    }
    if (type == CTS_Q_FLOAT) {
        if (mode == 1 && k < 18)
            v.v.f = k < 14 ? NAN : (k < 16 ? INFINITY : -INFINITY);
        else
            v.v.f = mode == 2 ? (double)cts_rng_below(r, 5) : (cts_rng_unit(r) - 0.3) * 1e4;
    } else if (type == CTS_Q_INT) {
        static const int64_t ext[] = {INT64_MIN, INT64_MAX, 0, -1};
        v.v.i = mode == 1 && k < 30 ? ext[k % 4] : (int64_t)cts_rng_below(r, 20001) - 10000;
    } else {
        static const uint64_t ext[] = {0, UINT64_MAX, 1, 1ull << 63};
        v.v.u = mode == 1 && k < 30 ? ext[k % 4] : cts_rng_below(r, 20001);
    }
    return v;
}

static uint32_t gen_stream(cts_rng *r, cts_qtype type, bool desc, pt *out)
{
    uint32_t n = (uint32_t)cts_rng_below(r, MAXN);
    int mode = (int)cts_rng_below(r, 3);
    int64_t t = (int64_t)cts_rng_below(r, 1000000) - 500000;
    for (uint32_t k = 0; k < n; k++) {
        uint64_t step = cts_rng_below(r, 10);
        t += step < 2 ? 0 : (step < 8 ? 1 + (int64_t)cts_rng_below(r, 5) : 1000000000);
        out[k].ts = t;
        out[k].v = gen_val(r, type, mode);
    }
    if (desc) {
        for (uint32_t k = 0; k < n / 2; k++) {
            pt x = out[k];
            out[k] = out[n - 1 - k];
            out[n - 1 - k] = x;
        }
    }
    return n;
}

/* ------------------------------------------------------------------------
 * The model.
 * ------------------------------------------------------------------------ */
static double model_f(const cts_qval *v)
{
    return v->type == CTS_Q_FLOAT ? v->v.f : v->type == CTS_Q_INT ? (double)v->v.i : (double)v->v.u;
}

typedef struct out_pt {
    int64_t ts;
    cts_qval v;
    double tol;
} out_pt;

/* derivative, difference, elapsed over the non-null points, the way
 * InfluxDB's reducers see them. */
static uint32_t model_pairs(q_xf xf, int64_t unit, bool desc, const pt *in, uint32_t n, out_pt *o)
{
    uint32_t m = 0;
    const pt *prev = NULL, *curr = NULL;
    for (uint32_t k = 0; k < n; k++) {
        if (in[k].v.type == CTS_Q_NULL)
            continue;
        if (xf == Q_XF_ELAPSED) {
            if (curr) {
                o[m].ts = in[k].ts;
                o[m].v.type = CTS_Q_INT;
                o[m++].v.v.i = (int64_t)((uint64_t)in[k].ts - (uint64_t)curr->ts) / unit;
            }
            curr = &in[k];
            continue;
        }
        if (curr && curr->ts == in[k].ts)
            continue;
        prev = curr;
        curr = &in[k];
        if (!prev)
            continue;
        const cts_qval *a = &prev->v, *b = &curr->v;
        out_pt p = {.ts = curr->ts};
        if (xf == Q_XF_DERIVATIVE || xf == Q_XF_NON_NEGATIVE_DERIVATIVE) {
            double diff;
            if (a->type == CTS_Q_INT)
                diff = (double)((i128)b->v.i - a->v.i);
            else if (a->type == CTS_Q_UINT)
                diff = (double)((i128)b->v.u - (i128)a->v.u);
            else
                diff = b->v.f - a->v.f;
            int64_t elapsed = curr->ts - prev->ts;
            if (desc)
                elapsed = -elapsed;
            if (xf == Q_XF_NON_NEGATIVE_DERIVATIVE && diff < 0)
                continue;
            p.v.type = CTS_Q_FLOAT;
            p.v.v.f = diff / ((double)elapsed / (double)unit);
        } else {
            bool nonneg = xf == Q_XF_NON_NEGATIVE_DIFFERENCE;
            p.v.type = a->type;
            if (a->type == CTS_Q_INT) {
                p.v.v.i = (int64_t)((uint64_t)b->v.i - (uint64_t)a->v.i);
                if (nonneg && p.v.v.i < 0)
                    continue;
            } else if (a->type == CTS_Q_UINT) {
                if (nonneg && b->v.u < a->v.u)
                    continue;
                p.v.v.u = b->v.u - a->v.u;
            } else {
                p.v.v.f = b->v.f - a->v.f;
                if (nonneg && p.v.v.f < 0)
                    continue;
            }
        }
        o[m++] = p;
    }
    return m;
}

static uint32_t model_cumsum(const pt *in, uint32_t n, out_pt *o)
{
    uint32_t m = 0;
    bool have = false;
    cts_qval acc = {0};
    for (uint32_t k = 0; k < n; k++) {
        if (in[k].v.type == CTS_Q_NULL)
            continue;
        if (!have)
            acc = in[k].v;
        else if (acc.type == CTS_Q_FLOAT)
            acc.v.f += in[k].v.v.f;
        else
            acc.v.u += in[k].v.v.u; /* two's complement: int64 wraps alike */
        have = true;
        o[m++] = (out_pt){in[k].ts, acc, 0};
    }
    return m;
}

/* Floats: a fresh sum of the window (tolerance for the running sum's
 * rounding); integers: the exact sum, converted once, exactly expected. */
static uint32_t model_mavg(uint32_t window, const pt *in, uint32_t n, out_pt *o)
{
    const cts_qval **w = calloc(n + 1, sizeof *w);
    uint32_t m = 0, len = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (in[k].v.type == CTS_Q_NULL)
            continue;
        w[len++] = &in[k].v;
        if (len < window)
            continue;
        double s = 0, abs = 0;
        i128 is = 0;
        for (uint32_t j = len - window; j < len; j++) {
            double x = model_f(w[j]);
            s += x;
            abs += isfinite(x) ? fabs(x) : 0;
            is += w[j]->type == CTS_Q_INT ? (i128)w[j]->v.i : (i128)w[j]->v.u;
        }
        out_pt p = {.ts = in[k].ts, .tol = 1e-12 * abs / window};
        p.v.type = CTS_Q_FLOAT;
        p.v.v.f = in[k].v.type == CTS_Q_FLOAT ? s / window : (double)is / window;
        if (in[k].v.type != CTS_Q_FLOAT)
            p.tol = 0;
        o[m++] = p;
    }
    free(w);
    return m;
}

/* ------------------------------------------------------------------------
 * Running and comparing.
 * ------------------------------------------------------------------------ */
static uint32_t run(q_xform *x, const pt *in, uint32_t n, out_pt *o)
{
    uint32_t m = 0;
    for (uint32_t k = 0; k < n; k++) {
        cts_qval v;
        memset(&v, 0xa5, sizeof v);
        int rc = q_xform_push(x, in[k].ts, &in[k].v, &v);
        assert_true(rc == 0 || rc == 1);
        if (rc == 1)
            o[m++] = (out_pt){in[k].ts, v, 0};
    }
    return m;
}

static bool same_f(double want, double got, double tol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return want == got;
    return fabs(want - got) <= tol;
}

static void compare(const out_pt *want, uint32_t nw, const out_pt *got, uint32_t ng, uint64_t seed)
{
    if (nw != ng)
        fail_msg("seed %llu: %u outputs, want %u", (unsigned long long)seed, ng, nw);
    for (uint32_t k = 0; k < nw; k++) {
        const cts_qval *a = &want[k].v, *b = &got[k].v;
        if (want[k].ts != got[k].ts || a->type != b->type)
            fail_msg("seed %llu: output %u: time %lld type %d, want %lld %d",
                     (unsigned long long)seed, k, (long long)got[k].ts, b->type,
                     (long long)want[k].ts, a->type);
        if (a->type == CTS_Q_FLOAT ? !same_f(a->v.f, b->v.f, want[k].tol) : a->v.u != b->v.u)
            fail_msg("seed %llu: output %u: %.17g / %llu, want %.17g / %llu",
                     (unsigned long long)seed, k, b->v.f, (unsigned long long)b->v.u, a->v.f,
                     (unsigned long long)a->v.u);
    }
}

static uint32_t model(q_xf xf, int64_t unit, uint32_t window, bool desc, const pt *in, uint32_t n,
                      out_pt *o)
{
    if (xf == Q_XF_CUMULATIVE_SUM)
        return model_cumsum(in, n, o);
    if (xf == Q_XF_MOVING_AVERAGE)
        return model_mavg(window, in, n, o);
    return model_pairs(xf, unit, desc, in, n, o);
}

static void property(q_xf xf)
{
    static const cts_qtype types[] = {CTS_Q_FLOAT, CTS_Q_INT, CTS_Q_UINT};
    static const int64_t units[] = {1, 7, 1000, 1000000000, 60000000000};
    pt *in = calloc(MAXN, sizeof *in), *in2 = calloc(MAXN, sizeof *in2);
    out_pt *want = calloc(MAXN, sizeof *want), *got = calloc(MAXN, sizeof *got);
    for (int k = 0; k < 300; k++) {
        uint64_t seed = 0x7f0u + (uint64_t)xf * 100003u + (uint64_t)k;
        cts_rng r = {seed};
        cts_qtype type = types[k % 3];
        bool desc = (k / 3) % 2;
        int64_t unit = units[cts_rng_below(&r, 5)];
        uint32_t window = 1 + (uint32_t)cts_rng_below(&r, k % 4 == 0 ? 200 : 6);
        uint32_t n = gen_stream(&r, type, desc, in);
        q_xform x;
        assert_int_equal(q_xform_init(&x, xf, unit, window), 0);
        uint32_t nw = model(xf, unit, window, desc, in, n, want);
        compare(want, nw, got, run(&x, in, n, got), seed);
        /* after a reset the state is as new: another stream, another type */
        cts_qtype type2 = types[(k + 1) % 3];
        uint32_t n2 = gen_stream(&r, type2, desc, in2);
        q_xform_reset(&x);
        nw = model(xf, unit, window, desc, in2, n2, want);
        compare(want, nw, got, run(&x, in2, n2, got), seed);
        q_xform_fini(&x);
    }
    free(in);
    free(in2);
    free(want);
    free(got);
}

#define PROPERTY_TEST(name, xf)                                                                    \
    static void name(void **state)                                                                 \
    {                                                                                              \
        (void)state;                                                                               \
        property(xf);                                                                              \
    }
PROPERTY_TEST(test_derivative_property, Q_XF_DERIVATIVE)
PROPERTY_TEST(test_non_negative_derivative_property, Q_XF_NON_NEGATIVE_DERIVATIVE)
PROPERTY_TEST(test_difference_property, Q_XF_DIFFERENCE)
PROPERTY_TEST(test_non_negative_difference_property, Q_XF_NON_NEGATIVE_DIFFERENCE)
PROPERTY_TEST(test_moving_average_property, Q_XF_MOVING_AVERAGE)
PROPERTY_TEST(test_cumulative_sum_property, Q_XF_CUMULATIVE_SUM)
PROPERTY_TEST(test_elapsed_property, Q_XF_ELAPSED)

/* ------------------------------------------------------------------------
 * InfluxDB's documented examples: h2o_feet, location = santa_monica,
 * 2015-08-18T00:00:00Z to 00:30:00Z, one point every 6 minutes.
 * ------------------------------------------------------------------------ */
static const double water[] = {2.064, 2.116, 2.028, 2.126, 2.041, 2.051};
#define MIN_NS 60000000000ll
#define T0 1439856000000000000ll

static uint32_t run_water(q_xf xf, int64_t unit, uint32_t window, bool desc, cts_qval *out,
                          int64_t *out_ts)
{
    q_xform x;
    uint32_t m = 0;
    assert_int_equal(q_xform_init(&x, xf, unit, window), 0);
    for (int k = 0; k < 6; k++) {
        int i = desc ? 5 - k : k;
        cts_qval v = {.type = CTS_Q_FLOAT, .v.f = water[i]};
        int64_t ts = T0 + i * 6 * MIN_NS;
        int rc = q_xform_push(&x, ts, &v, &out[m]);
        assert_true(rc == 0 || rc == 1);
        if (rc == 1)
            out_ts[m++] = ts;
    }
    q_xform_fini(&x);
    return m;
}

static void expect_floats(q_xf xf, int64_t unit, uint32_t window, const double *want, uint32_t nw,
                          int64_t first_ts)
{
    cts_qval out[6];
    int64_t ts[6];
    assert_int_equal(run_water(xf, unit, window, false, out, ts), nw);
    for (uint32_t k = 0; k < nw; k++) {
        assert_int_equal(out[k].type, CTS_Q_FLOAT);
        if (out[k].v.f != want[k])
            fail_msg("%s output %u: %.17g, want %.17g", q_xf_name(xf), k, out[k].v.f, want[k]);
        assert_true(ts[k] == first_ts + (int64_t)k * 6 * MIN_NS);
    }
}

static void test_documented_examples(void **state)
{
    (void)state;
    /* SELECT DERIVATIVE("water_level") ...: per second */
    const double d1s[] = {0.00014444444444444457, -0.00024444444444444465, 0.0002722222222222218,
                          -0.000236111111111111, 2.777777777777842e-05};
    expect_floats(Q_XF_DERIVATIVE, 1000000000, 1, d1s, 5, T0 + 6 * MIN_NS);
    /* DERIVATIVE("water_level", 6m) and DIFFERENCE("water_level") */
    const double d6m[] = {0.052000000000000046, -0.08800000000000008, 0.09799999999999986,
                          -0.08499999999999996, 0.010000000000000231};
    expect_floats(Q_XF_DERIVATIVE, 6 * MIN_NS, 1, d6m, 5, T0 + 6 * MIN_NS);
    expect_floats(Q_XF_DIFFERENCE, 0, 1, d6m, 5, T0 + 6 * MIN_NS);
    /* MOVING_AVERAGE("water_level", 2) */
    const double ma2[] = {2.09, 2.072, 2.077, 2.0835, 2.0460000000000003};
    expect_floats(Q_XF_MOVING_AVERAGE, 0, 2, ma2, 5, T0 + 6 * MIN_NS);
    /* CUMULATIVE_SUM("water_level") */
    const double cs[] = {2.064, 4.18, 6.208, 8.334, 10.375, 12.426};
    expect_floats(Q_XF_CUMULATIVE_SUM, 0, 1, cs, 6, T0);
    /* NON_NEGATIVE_DERIVATIVE("water_level", 6m): the rises only */
    cts_qval out[6];
    int64_t ts[6];
    assert_int_equal(run_water(Q_XF_NON_NEGATIVE_DERIVATIVE, 6 * MIN_NS, 1, false, out, ts), 3);
    assert_true(out[0].v.f == d6m[0] && out[1].v.f == d6m[2] && out[2].v.f == d6m[4]);
    assert_true(ts[1] == T0 + 18 * MIN_NS);
    assert_int_equal(run_water(Q_XF_NON_NEGATIVE_DIFFERENCE, 1, 1, false, out, ts), 3);
    /* ELAPSED("water_level", 1m) */
    assert_int_equal(run_water(Q_XF_ELAPSED, MIN_NS, 1, false, out, ts), 5);
    for (int k = 0; k < 5; k++)
        assert_true(out[k].type == CTS_Q_INT && out[k].v.i == 6);
    /* ORDER BY time DESC: time steps count as positive, so the signs flip;
     * elapsed goes negative */
    assert_int_equal(run_water(Q_XF_DERIVATIVE, 6 * MIN_NS, 1, true, out, ts), 5);
    assert_true(out[0].v.f == 2.041 - 2.051 && ts[0] == T0 + 24 * MIN_NS);
    assert_int_equal(run_water(Q_XF_ELAPSED, MIN_NS, 1, true, out, ts), 5);
    assert_true(out[0].v.i == -6);
}

/* influxdata/influxdb#8498: v = 1i, 2i, 3i at 0, 1s, 2s; SELECT
 * difference(v) ... ORDER BY time DESC gives -1 at 1s and -1 at 0. */
static void test_desc_difference_ints(void **state)
{
    (void)state;
    q_xform x;
    cts_qval out;
    assert_int_equal(q_xform_init(&x, Q_XF_DIFFERENCE, 0, 0), 0);
    for (int k = 2; k >= 0; k--) {
        cts_qval v = {.type = CTS_Q_INT, .v.i = k + 1};
        int rc = q_xform_push(&x, k * 1000000000ll, &v, &out);
        assert_int_equal(rc, k < 2);
        if (rc)
            assert_true(out.type == CTS_Q_INT && out.v.i == -1);
    }
    q_xform_fini(&x);
}

/* Nulls and equal times: skipped by derivative/difference, kept by
 * elapsed (0), a mixed int/float stream goes float. */
static void test_nulls_ties_mixed(void **state)
{
    (void)state;
    q_xform x;
    cts_qval out, null = {.type = CTS_Q_NULL}, i5 = {.type = CTS_Q_INT, .v.i = 5},
                  f7 = {.type = CTS_Q_FLOAT, .v.f = 7.5}, i9 = {.type = CTS_Q_INT, .v.i = 9};
    assert_int_equal(q_xform_init(&x, Q_XF_DIFFERENCE, 0, 0), 0);
    assert_int_equal(q_xform_push(&x, 10, &null, &out), 0);
    assert_int_equal(q_xform_push(&x, 10, &i5, &out), 0);
    assert_int_equal(q_xform_push(&x, 10, &i9, &out), 0); /* same time: ignored */
    assert_int_equal(q_xform_push(&x, 20, &null, &out), 0);
    assert_int_equal(q_xform_push(&x, 30, &f7, &out), 1);
    assert_true(out.type == CTS_Q_FLOAT && out.v.f == 2.5);
    assert_int_equal(q_xform_push(&x, 40, &i9, &out), 1);
    assert_true(out.type == CTS_Q_FLOAT && out.v.f == 1.5);
    q_xform_fini(&x);

    assert_int_equal(q_xform_init(&x, Q_XF_ELAPSED, 1, 0), 0);
    cts_str s = {"x", 1};
    cts_qval str = {.type = CTS_Q_STRING, .v.s = s}, b = {.type = CTS_Q_BOOL, .v.b = true};
    assert_int_equal(q_xform_push(&x, 10, &str, &out), 0);
    assert_int_equal(q_xform_push(&x, 10, &b, &out), 1);
    assert_true(out.type == CTS_Q_INT && out.v.i == 0);
    assert_int_equal(q_xform_push(&x, 15, &null, &out), 0);
    assert_int_equal(q_xform_push(&x, 25, &b, &out), 1);
    assert_true(out.v.i == 15);
    q_xform_fini(&x);

    assert_int_equal(q_xform_init(&x, Q_XF_CUMULATIVE_SUM, 0, 0), 0);
    assert_int_equal(q_xform_push(&x, 1, &i5, &out), 1);
    assert_true(out.type == CTS_Q_INT && out.v.i == 5);
    assert_int_equal(q_xform_push(&x, 2, &f7, &out), 1);
    assert_true(out.type == CTS_Q_FLOAT && out.v.f == 12.5);
    q_xform_fini(&x);
}

/* A NaN or Inf leaves the moving average with the window that held it. */
static void test_moving_average_nonfinite(void **state)
{
    (void)state;
    const double v[] = {1, NAN, 2, 3, INFINITY, 4, 5, -INFINITY, INFINITY, 6, 7, 8};
    const double want[] = {NAN,       NAN, 2.5,      INFINITY, INFINITY, 4.5,
                           -INFINITY, NAN, INFINITY, 6.5,      7.5};
    q_xform x;
    cts_qval out;
    assert_int_equal(q_xform_init(&x, Q_XF_MOVING_AVERAGE, 0, 2), 0);
    for (int k = 0; k < 12; k++) {
        cts_qval in = {.type = CTS_Q_FLOAT, .v.f = v[k]};
        assert_int_equal(q_xform_push(&x, k, &in, &out), k > 0);
        if (k > 0 && !same_f(want[k - 1], out.v.f, 0))
            fail_msg("point %d: %g, want %g", k, out.v.f, want[k - 1]);
    }
    q_xform_fini(&x);
}

/* A huge value entering and leaving the window must not take the small
 * values' digits with it (a plain running sum gives 1, not 2, at the 4th). */
static void test_moving_average_cancellation(void **state)
{
    (void)state;
    const double v[] = {1e20, 1, 2, 3, 4, -1e20, 5, 6, 7};
    const double want[] = {1e20 / 3, 2, 3, -1e20 / 3, -1e20 / 3, -1e20 / 3, 6};
    q_xform x;
    cts_qval out;
    assert_int_equal(q_xform_init(&x, Q_XF_MOVING_AVERAGE, 0, 3), 0);
    for (int k = 0; k < 9; k++) {
        cts_qval in = {.type = CTS_Q_FLOAT, .v.f = v[k]};
        assert_int_equal(q_xform_push(&x, k, &in, &out), k > 1);
        if (k > 1 && fabs(out.v.f - want[k - 2]) > 1e-12 * fabs(want[k - 2]))
            fail_msg("point %d: %.17g, want %.17g", k, out.v.f, want[k - 2]);
    }
    q_xform_fini(&x);
    /* the huge value arrives on a small sum, and leaves before a wrap */
    const double v2[] = {1, 2, 1e20, 3, 4, 5, 6};
    assert_int_equal(q_xform_init(&x, Q_XF_MOVING_AVERAGE, 0, 4), 0);
    for (int k = 0; k < 7; k++) {
        cts_qval in = {.type = CTS_Q_FLOAT, .v.f = v2[k]};
        assert_int_equal(q_xform_push(&x, k, &in, &out), k > 2);
    }
    assert_true(out.v.f == 4.5);
    q_xform_fini(&x);
}

/* ------------------------------------------------------------------------
 * Names and errors.
 * ------------------------------------------------------------------------ */
static void test_names(void **state)
{
    (void)state;
    for (int xf = Q_XF_DERIVATIVE; xf <= Q_XF_ELAPSED; xf++) {
        q_xf back;
        assert_true(q_xf_lookup(q_xf_name((q_xf)xf), &back));
        assert_int_equal(back, xf);
    }
    assert_false(q_xf_lookup("mean", NULL));
    assert_false(q_xf_lookup(NULL, NULL));
    assert_string_equal(q_xf_name((q_xf)0), "unknown");
}

static void test_errors(void **state)
{
    (void)state;
    q_xform x;
    cts_qval out, f = {.type = CTS_Q_FLOAT, .v.f = 1};
    assert_int_equal(q_xform_init(&x, (q_xf)0, 1, 1), CTS_EINVAL);
    assert_int_equal(q_xform_init(&x, (q_xf)99, 1, 1), CTS_EINVAL);
    assert_int_equal(q_xform_init(NULL, Q_XF_DIFFERENCE, 1, 1), CTS_EINVAL);
    assert_int_equal(q_xform_init(&x, Q_XF_DERIVATIVE, 0, 1), CTS_EINVAL);
    assert_int_equal(q_xform_init(&x, Q_XF_NON_NEGATIVE_DERIVATIVE, -5, 1), CTS_EINVAL);
    assert_int_equal(q_xform_init(&x, Q_XF_ELAPSED, 0, 1), CTS_EINVAL);
    assert_int_equal(q_xform_init(&x, Q_XF_MOVING_AVERAGE, 1, 0), CTS_EINVAL);
    /* units and windows that do not apply are ignored */
    assert_int_equal(q_xform_init(&x, Q_XF_CUMULATIVE_SUM, 0, 0), 0);
    assert_int_equal(q_xform_push(NULL, 1, &f, &out), CTS_EINVAL);
    assert_int_equal(q_xform_push(&x, 1, NULL, &out), CTS_EINVAL);
    assert_int_equal(q_xform_push(&x, 1, &f, NULL), CTS_EINVAL);
    q_xform_fini(&x);
    q_xform_fini(NULL);
    q_xform_reset(NULL);

    /* strings, booleans and times refused by all but elapsed */
    cts_qval bad[] = {{.type = CTS_Q_STRING, .v.s = {"a", 1}},
                      {.type = CTS_Q_BOOL, .v.b = true},
                      {.type = CTS_Q_TIME, .v.i = 5}};
    for (int xf = Q_XF_DERIVATIVE; xf < Q_XF_ELAPSED; xf++) {
        for (int k = 0; k < 3; k++) {
            assert_int_equal(q_xform_init(&x, (q_xf)xf, 1, 1), 0);
            assert_int_equal(q_xform_push(&x, 1, &f, &out) >= 0, 1);
            assert_int_equal(q_xform_push(&x, 2, &bad[k], &out), CTS_ETYPE);
            q_xform_fini(&x);
        }
    }
}

static void test_enomem(void **state)
{
    (void)state;
    q_xform x;
    cts_qval out;
    assert_int_equal(q_xform_init(&x, Q_XF_MOVING_AVERAGE, 0, 40), 0);
    for (int k = 0; k < 60; k++) {
        cts_qval in = {.type = CTS_Q_INT, .v.i = k};
        if (k == 0 || k == 16) { /* the ring is allocated, then grown */
            cts_alloc_fail_after(0);
            assert_int_equal(q_xform_push(&x, k, &in, &out), CTS_ENOMEM);
            cts_alloc_fail_after(-1);
        }
        int rc = q_xform_push(&x, k, &in, &out);
        assert_int_equal(rc, k >= 39);
        if (rc)
            assert_true(out.v.f == (double)(2 * k - 39) / 2);
    }
    q_xform_fini(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_enomem),
        cmocka_unit_test(test_documented_examples),
        cmocka_unit_test(test_desc_difference_ints),
        cmocka_unit_test(test_nulls_ties_mixed),
        cmocka_unit_test(test_moving_average_nonfinite),
        cmocka_unit_test(test_moving_average_cancellation),
        cmocka_unit_test(test_derivative_property),
        cmocka_unit_test(test_non_negative_derivative_property),
        cmocka_unit_test(test_difference_property),
        cmocka_unit_test(test_non_negative_difference_property),
        cmocka_unit_test(test_moving_average_property),
        cmocka_unit_test(test_cumulative_sum_property),
        cmocka_unit_test(test_elapsed_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
