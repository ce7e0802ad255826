/*
 * agg.h: aggregate functions and transformations, as pure computations
 * over value arrays (agg.c, transform.c). The executor feeds them; they
 * know nothing of cursors, series or time buckets.
 *
 * Aggregates follow InfluxDB 1.x exactly where it matters for results:
 *   count      integer; 0 for no points (never null)
 *   sum        keeps the type: float, int (wrapping), unsigned (wrapping)
 *   mean       float
 *   min, max   keep the type; selectors (a point's time); ties: earliest time
 *   first      earliest time; ties (several series in one group): the
 *              greatest value, as InfluxDB's reducers do
 *   last       latest time; ties: the greatest value
 *   spread     max - min, keeps the type
 *   stddev     float, sample standard deviation (n - 1); null for n < 2
 *   median     float; the mean of the two middle values for an even count
 *   percentile selector: sorted values, i = floor(n * p / 100 + 0.5) - 1,
 *              null when i is out of [0, n); keeps the type and the time
 * Numeric functions accept float, integer and unsigned fields; count, first
 * and last accept every type; min/max/sum/mean/spread/stddev/median/
 * percentile refuse strings and booleans (q_fn_check says why).
 */
#ifndef CTS_QUERY_AGG_H
#define CTS_QUERY_AGG_H

#include "query_int.h"

typedef enum q_fn {
    Q_FN_COUNT = 1,
    Q_FN_SUM,
    Q_FN_MEAN,
    Q_FN_MIN,
    Q_FN_MAX,
    Q_FN_FIRST,
    Q_FN_LAST,
    Q_FN_SPREAD,
    Q_FN_STDDEV,
    Q_FN_MEDIAN,
    Q_FN_PERCENTILE,
} q_fn;

/* Lower-case name to q_fn; false when not an aggregate. */
bool q_fn_lookup(const char *name, q_fn *out);
const char *q_fn_name(q_fn fn);
/* Returns a point's own time (min, max, first, last, percentile). */
bool q_fn_is_selector(q_fn fn);
/* Can be computed from block statistics (count, sum, mean, min, max, first,
 * last, spread). */
bool q_fn_uses_stats(q_fn fn);
/* The result type for input type `in`: 0, or CTS_ETYPE with msg set, e.g.
 * `unsupported mean iterator type: string` */
CTS_MUST_USE int q_fn_check(q_fn fn, cts_type in, cts_qtype *out, char *msg, size_t cap);

/* The state of one aggregate over one bucket of one group. Plain data but
 * for `vals`/`strs` (heap, freed by q_agg_fini). */
typedef struct q_agg {
    q_fn fn;
    cts_type type; /* input type */
    double pct;    /* percentile's N */
    uint64_t count;
    cts_num sum;
    cts_num sel;     /* first/last/min/max value */
    int64_t sel_ts;  /* its time */
    cts_num min, max; /* spread */
    double mean, m2;  /* stddev (Welford; merged with Chan's formula) */
    /* first/last of strings and booleans: the value (string owned) */
    char *str;
    uint32_t str_len;
    /* median/percentile: every value with its time */
    cts_num *vals;
    int64_t *val_ts;
    uint64_t nvals, cap_vals;
} q_agg;

void q_agg_init(q_agg *a, q_fn fn, cts_type type, double pct);
void q_agg_fini(q_agg *a);
/* Add n points: ts[i] with value i of the array matching a->type (double,
 * int64_t, uint64_t, uint8_t or cts_str). CTS_ENOMEM. */
CTS_MUST_USE int q_agg_add(q_agg *a, const int64_t *ts, const void *vals, uint32_t n);
/* Add a whole block through its statistics (q_fn_uses_stats only). */
CTS_MUST_USE int q_agg_add_stats(q_agg *a, const cts_stats *st);
/* Fold src (same fn and type) into dst; src is left unchanged. CTS_ENOMEM. */
CTS_MUST_USE int q_agg_merge(q_agg *dst, const q_agg *src);
/* The result; *ts_ns receives a selector's point time (unchanged for
 * others). Null (CTS_Q_NULL) when no point was added, but count gives 0.
 * A string result points into the state: valid until the next call. */
CTS_MUST_USE int q_agg_result(q_agg *a, cts_qval *out, int64_t *ts_ns);
/* Heap bytes the state holds (for the query's memory limit). */
uint64_t q_agg_mem_bytes(const q_agg *a);

/* ------------------------------------------------------------------------
 * Transformations over a sequence of rows of one group (transform.c):
 * derivative, non_negative_derivative, difference, non_negative_difference,
 * moving_average, cumulative_sum, elapsed. Input: points in output order
 * (ascending time, or descending under ORDER BY time DESC), nulls
 * included (they are skipped, as InfluxDB skips them). Each input point
 * yields zero or one output point with the same time.
 * ------------------------------------------------------------------------ */
typedef enum q_xf {
    Q_XF_DERIVATIVE = 1,
    Q_XF_NON_NEGATIVE_DERIVATIVE,
    Q_XF_DIFFERENCE,
    Q_XF_NON_NEGATIVE_DIFFERENCE,
    Q_XF_MOVING_AVERAGE,
    Q_XF_CUMULATIVE_SUM,
    Q_XF_ELAPSED,
} q_xf;

bool q_xf_lookup(const char *name, q_xf *out);
const char *q_xf_name(q_xf xf);

typedef struct q_xform {
    q_xf xf;
    int64_t unit_ns; /* derivative (default 1s), elapsed (default 1ns) */
    uint32_t window; /* moving_average's N (>= 1) */
    /* running state */
    bool have_prev;
    int64_t prev_ts;
    cts_qval prev;
    cts_qval acc; /* cumulative_sum */
    double *ring; /* moving_average window */
    uint32_t ring_len, ring_pos;
    double ring_sum;
} q_xform;

/* CTS_EINVAL for a bad window (< 1) or unit (<= 0). */
CTS_MUST_USE int q_xform_init(q_xform *x, q_xf xf, int64_t unit_ns, uint32_t window);
void q_xform_fini(q_xform *x);
/* Reset the running state (a new group). */
void q_xform_reset(q_xform *x);
/* Feed one point; returns 1 and fills *out when it yields a value, 0 when
 * it yields none (first point, a null, a negative value under
 * non_negative_*, the window not yet full), CTS_ETYPE for a string or
 * boolean input (msg in the executor's words), CTS_ENOMEM. */
CTS_MUST_USE int q_xform_push(q_xform *x, int64_t ts_ns, const cts_qval *in, cts_qval *out);

#endif
