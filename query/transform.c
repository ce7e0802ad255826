/*
 * transform.c: the transformations of cityts's query language (derivative,
 * non_negative_derivative, difference, non_negative_difference,
 * moving_average, cumulative_sum, elapsed) as small state machines fed one
 * row at a time, in output order, by the executor. agg.h states the
 * semantics (InfluxDB 1.x's reducers in query/functions.go and its stream
 * iterator, which drops null points before they reach a reducer).
 *
 * States:
 *
 *   derivative, difference (and non_negative_*):
 *     EMPTY --point--> HAVE_PREV (no output)
 *     HAVE_PREV --point at prev's time--> HAVE_PREV (ignored, no output)
 *     HAVE_PREV --point--> HAVE_PREV (output, unless non-negative drops it;
 *                                      prev := point either way)
 *   elapsed: as above, but a point at prev's time yields 0.
 *   cumulative_sum: EMPTY --point--> SUMMING; every point yields the sum.
 *   moving_average: FILLING (ring_len < N, no output) --N-th point-->
 *     FULL (every point replaces the oldest value and yields the mean).
 *   Any state --null--> the same state (no output). reset -> EMPTY.
 *
 * Numbers: integer pairs are computed exactly where the result is a float
 * (derivative) and wrap like Go's int64 where the result keeps the type
 * (difference, cumulative_sum); a pair mixing integers and floats is
 * computed in float. moving_average keeps its window's integers summed
 * exactly, its finite floats in a compensated running sum (recomputed each
 * time the window wraps, so nothing accumulates over a long stream), and
 * counts of NaN, +Inf and -Inf, so a non-finite value affects exactly the
 * windows that contain it (a plain running sum would stay NaN forever).
 */
#include "agg.h"

#include <math.h>
#include <string.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

static const char *const xf_names[] = {
    [Q_XF_DERIVATIVE] = "derivative",
    [Q_XF_NON_NEGATIVE_DERIVATIVE] = "non_negative_derivative",
    [Q_XF_DIFFERENCE] = "difference",
    [Q_XF_NON_NEGATIVE_DIFFERENCE] = "non_negative_difference",
    [Q_XF_MOVING_AVERAGE] = "moving_average",
    [Q_XF_CUMULATIVE_SUM] = "cumulative_sum",
    [Q_XF_ELAPSED] = "elapsed",
};

static bool xf_valid(q_xf xf)
{
    return xf >= Q_XF_DERIVATIVE && xf <= Q_XF_ELAPSED;
}

bool q_xf_lookup(const char *name, q_xf *out)
{
    if (!name)
        return false;
    for (int xf = Q_XF_DERIVATIVE; xf <= Q_XF_ELAPSED; xf++) {
        if (strcmp(name, xf_names[xf]) == 0) {
            if (out)
                *out = (q_xf)xf;
            return true;
        }
    }
    return false;
}

const char *q_xf_name(q_xf xf)
{
    return xf_valid(xf) ? xf_names[xf] : "unknown";
}

static bool uses_unit(q_xf xf)
{
    return xf == Q_XF_DERIVATIVE || xf == Q_XF_NON_NEGATIVE_DERIVATIVE || xf == Q_XF_ELAPSED;
}

int q_xform_init(q_xform *x, q_xf xf, int64_t unit_ns, uint32_t window)
{
    if (!x || !xf_valid(xf))
        return CTS_EINVAL;
    if (uses_unit(xf) && unit_ns <= 0)
        return CTS_EINVAL;
    if (xf == Q_XF_MOVING_AVERAGE && window < 1)
        return CTS_EINVAL;
    memset(x, 0, sizeof *x);
    x->xf = xf;
    x->unit_ns = unit_ns;
    x->window = window;
    return 0;
}

void q_xform_fini(q_xform *x)
{
    if (!x)
        return;
    cts_free(x->ring);
    x->ring = NULL;
    x->ring_cap = 0;
    q_xform_reset(x);
}

void q_xform_reset(q_xform *x)
{
    if (!x)
        return;
    x->have_prev = false;
    x->prev_ts = 0;
    memset(&x->prev, 0, sizeof x->prev);
    memset(&x->acc, 0, sizeof x->acc);
    x->ring_len = x->ring_pos = 0;
    x->ring_sum = x->ring_comp = 0;
    x->ring_isum_lo = 0;
    x->ring_isum_hi = 0;
    x->ring_nan = x->ring_pinf = x->ring_ninf = 0;
}

static bool is_number(cts_qtype t)
{
    return t == CTS_Q_FLOAT || t == CTS_Q_INT || t == CTS_Q_UINT;
}

static double as_f64(const cts_qval *v)
{
    if (v->type == CTS_Q_FLOAT)
        return v->v.f;
    return v->type == CTS_Q_INT ? (double)v->v.i : (double)v->v.u;
}

/* ------------------------------------------------------------------------
 * derivative, difference
 * ------------------------------------------------------------------------ */

/* cur - prev as a double, exact before the final rounding for integers. */
static double diff_f64(const cts_qval *prev, const cts_qval *cur)
{
    if (prev->type == CTS_Q_INT && cur->type == CTS_Q_INT)
        return (double)((i128)cur->v.i - (i128)prev->v.i);
    if (prev->type == CTS_Q_UINT && cur->type == CTS_Q_UINT)
        return cur->v.u >= prev->v.u ? (double)(cur->v.u - prev->v.u)
                                     : -(double)(prev->v.u - cur->v.u);
    return as_f64(cur) - as_f64(prev);
}

static int derive(const q_xform *x, const cts_qval *prev, int64_t prev_ts, const cts_qval *cur,
                  int64_t ts, cts_qval *out)
{
    double diff = diff_f64(prev, cur);
    if (x->xf == Q_XF_NON_NEGATIVE_DERIVATIVE && diff < 0)
        return 0;
    /* |t - prev|: under ORDER BY time DESC the step still counts as positive */
    uint64_t step =
        ts > prev_ts ? (uint64_t)ts - (uint64_t)prev_ts : (uint64_t)prev_ts - (uint64_t)ts;
    out->type = CTS_Q_FLOAT;
    out->v.f = diff / ((double)step / (double)x->unit_ns);
    return 1;
}

static int differ(const q_xform *x, const cts_qval *prev, const cts_qval *cur, cts_qval *out)
{
    bool nonneg = x->xf == Q_XF_NON_NEGATIVE_DIFFERENCE;
    if (prev->type == CTS_Q_INT && cur->type == CTS_Q_INT) {
        int64_t v = (int64_t)((uint64_t)cur->v.i - (uint64_t)prev->v.i);
        if (nonneg && v < 0)
            return 0;
        out->type = CTS_Q_INT;
        out->v.i = v;
        return 1;
    }
    if (prev->type == CTS_Q_UINT && cur->type == CTS_Q_UINT) {
        if (nonneg && cur->v.u < prev->v.u)
            return 0;
        out->type = CTS_Q_UINT;
        out->v.u = cur->v.u - prev->v.u;
        return 1;
    }
    double v = as_f64(cur) - as_f64(prev);
    if (nonneg && v < 0)
        return 0;
    out->type = CTS_Q_FLOAT;
    out->v.f = v;
    return 1;
}

static int push_pair(q_xform *x, int64_t ts, const cts_qval *in, cts_qval *out)
{
    if (x->have_prev && ts == x->prev_ts)
        return 0; /* InfluxDB keeps the first of equal times */
    cts_qval prev = x->prev;
    int64_t prev_ts = x->prev_ts;
    bool had = x->have_prev;
    x->prev = *in;
    x->prev_ts = ts;
    x->have_prev = true;
    if (!had)
        return 0;
    if (x->xf == Q_XF_DERIVATIVE || x->xf == Q_XF_NON_NEGATIVE_DERIVATIVE)
        return derive(x, &prev, prev_ts, in, ts, out);
    return differ(x, &prev, in, out);
}

/* ------------------------------------------------------------------------
 * elapsed, cumulative_sum
 * ------------------------------------------------------------------------ */
static int push_elapsed(q_xform *x, int64_t ts, cts_qval *out)
{
    bool had = x->have_prev;
    int64_t prev_ts = x->prev_ts;
    x->have_prev = true;
    x->prev_ts = ts;
    if (!had)
        return 0;
    out->type = CTS_Q_INT;
    /* Go's int64 subtraction wraps; division truncates toward zero as C's */
    out->v.i = (int64_t)((uint64_t)ts - (uint64_t)prev_ts) / x->unit_ns;
    return 1;
}

static int push_cumsum(q_xform *x, const cts_qval *in, cts_qval *out)
{
    cts_qval *acc = &x->acc;
    if (acc->type == CTS_Q_NULL) {
        *acc = *in;
    } else if (acc->type == CTS_Q_INT && in->type == CTS_Q_INT) {
        acc->v.i = (int64_t)((uint64_t)acc->v.i + (uint64_t)in->v.i);
    } else if (acc->type == CTS_Q_UINT && in->type == CTS_Q_UINT) {
        acc->v.u += in->v.u;
    } else {
        acc->v.f = as_f64(acc) + as_f64(in);
        acc->type = CTS_Q_FLOAT;
    }
    *out = *acc;
    return 1;
}

/* ------------------------------------------------------------------------
 * moving_average
 * ------------------------------------------------------------------------ */
static i128 ring_isum(const q_xform *x)
{
    return (i128)(((u128)(uint64_t)x->ring_isum_hi << 64) | x->ring_isum_lo);
}

static void ring_isum_add(q_xform *x, i128 v)
{
    u128 s = (u128)ring_isum(x) + (u128)v;
    x->ring_isum_lo = (uint64_t)s;
    x->ring_isum_hi = (int64_t)(uint64_t)(s >> 64);
}

/* Neumaier's compensated addition: what rounding drops from sum + v goes
 * into the compensation, so a huge value entering and leaving the window
 * does not take the small ones' digits with it. */
static void ring_fadd(q_xform *x, double v)
{
    double t = x->ring_sum + v;
    if (fabs(x->ring_sum) >= fabs(v))
        x->ring_comp += (x->ring_sum - t) + v;
    else
        x->ring_comp += (v - t) + x->ring_sum;
    x->ring_sum = t;
}

/* Add (sign 1) or remove (sign -1) one value. */
static void ring_count(q_xform *x, const cts_qval *v, int sign)
{
    if (v->type == CTS_Q_INT) {
        ring_isum_add(x, sign * (i128)v->v.i);
    } else if (v->type == CTS_Q_UINT) {
        ring_isum_add(x, sign * (i128)v->v.u);
    } else if (isnan(v->v.f)) {
        x->ring_nan += (uint32_t)sign;
    } else if (isinf(v->v.f)) {
        if (v->v.f > 0)
            x->ring_pinf += (uint32_t)sign;
        else
            x->ring_ninf += (uint32_t)sign;
    } else {
        ring_fadd(x, sign * v->v.f);
    }
}

/* Each time the window wraps the float sum starts afresh, so nothing
 * accumulates over a long stream. */
static void ring_resum(q_xform *x)
{
    x->ring_sum = x->ring_comp = 0;
    for (uint32_t i = 0; i < x->ring_len; i++) {
        const cts_qval *v = &x->ring[(x->ring_pos + i) % x->ring_len];
        if (v->type == CTS_Q_FLOAT && isfinite(v->v.f))
            ring_fadd(x, v->v.f);
    }
}

static int ring_grow(q_xform *x)
{
    uint32_t cap = 16;
    if (x->ring_cap)
        cap = x->ring_cap > x->window / 2 ? x->window : x->ring_cap * 2;
    if (cap > x->window)
        cap = x->window;
    cts_qval *r = cts_realloc(x->ring, (size_t)cap * sizeof *r);
    if (!r)
        return CTS_ENOMEM;
    x->ring = r;
    x->ring_cap = cap;
    return 0;
}

static double ring_mean(const q_xform *x)
{
    if (x->ring_nan || (x->ring_pinf && x->ring_ninf))
        return NAN;
    if (x->ring_pinf)
        return INFINITY;
    if (x->ring_ninf)
        return -INFINITY;
    /* no floats: 0 + exact integer sum; no integers: the float sum */
    return ((x->ring_sum + x->ring_comp) + (double)ring_isum(x)) / (double)x->ring_len;
}

static int push_mavg(q_xform *x, const cts_qval *in, cts_qval *out)
{
    if (x->ring_len < x->window) {
        if (x->ring_len == x->ring_cap) {
            int rc = ring_grow(x);
            if (rc)
                return rc;
        }
        x->ring[x->ring_len++] = *in;
        ring_count(x, in, 1);
        if (x->ring_len < x->window)
            return 0;
        x->ring_pos = 0;
    } else {
        ring_count(x, &x->ring[x->ring_pos], -1);
        x->ring[x->ring_pos] = *in;
        ring_count(x, in, 1);
        x->ring_pos = x->ring_pos + 1 == x->window ? 0 : x->ring_pos + 1;
        if (x->ring_pos == 0)
            ring_resum(x);
    }
    out->type = CTS_Q_FLOAT;
    out->v.f = ring_mean(x);
    return 1;
}

int q_xform_push(q_xform *x, int64_t ts_ns, const cts_qval *in, cts_qval *out)
{
    if (!x || !in || !out || !xf_valid(x->xf))
        return CTS_EINVAL;
    if (in->type == CTS_Q_NULL)
        return 0;
    if (x->xf == Q_XF_ELAPSED)
        return push_elapsed(x, ts_ns, out);
    if (!is_number(in->type))
        return CTS_ETYPE;
    switch (x->xf) {
    case Q_XF_MOVING_AVERAGE:
        return push_mavg(x, in, out);
    case Q_XF_CUMULATIVE_SUM:
        return push_cumsum(x, in, out);
    default:
        return push_pair(x, ts_ns, in, out);
    }
}
