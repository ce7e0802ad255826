/*
 * agg.h: aggregate functions and transformations, as pure computations
 * over value arrays (agg.c, transform.c). The executor feeds them; they
 * know nothing of cursors, series or time buckets.
 *
 * Aggregates follow InfluxDB 1.x (query/call_iterator.go, functions.go):
 *   count      integer; 0 for no points (never null); counts NaN too
 *   sum        keeps the type: float, int (wrapping), unsigned (wrapping)
 *   mean       float; integers are summed exactly (128-bit), so unlike
 *              InfluxDB's wrapping int64 sum a mean never overflows
 *   min, max   keep the type; selectors (a point's time); ties: earliest
 *              time. Booleans too (false < true), as InfluxDB allows
 *   first      earliest time; ties (several series in one group): the
 *              greatest value (strings: bytewise), but false for booleans
 *   last       latest time; ties: the greatest value (true for booleans)
 *   spread     max - min, keeps the type (int64 wraps, as in InfluxDB)
 *   stddev     float, sample standard deviation (n - 1). Exactly one
 *              point: NaN, not null (InfluxDB emits a NaN point, which its
 *              output shows as null but fill() does not replace: encoders
 *              should print NaN as null and fill must leave it alone)
 *   median     float; for an even count lo + (hi - lo) / 2 of the two
 *              middle values (InfluxDB's formula; integers without its
 *              int64 overflow)
 *   percentile selector: values sorted ascending, equal values by time
 *              (InfluxDB's unstable sort leaves ties open; we take the
 *              earliest); i = floor(n * N / 100 + 0.5) - 1; null when i
 *              is out of [0, n) (so N = 0 and no points give null, N = 100
 *              the max); keeps the type and the chosen point's time
 * Types: count, first and last accept every type; min and max also
 * booleans; sum, mean, spread, stddev, median and percentile only float,
 * integer and unsigned (q_fn_check gives InfluxDB's message otherwise).
 *
 * NaN (cityts floats may hold it; InfluxDB cannot store it, so this is our
 * rule, chosen to agree with the block statistics of cts_storage.h):
 *   - count counts it; sum and mean propagate it (IEEE arithmetic).
 *   - min, max and spread ignore it: NaN never wins a comparison, so they
 *     are NaN only when every value is NaN (min/max then give the earliest
 *     point's time).
 *   - first and last treat it as a value; on a time tie any number beats it.
 *   - stddev, median and percentile ignore it (InfluxDB's stddev skips NaN
 *     too); stddev is NaN with fewer than two non-NaN values, median NaN
 *     when every value is NaN, percentile null then.
 *
 * Which functions block statistics can answer: q_fn_uses_stats says so by
 * function; by type, count takes every type, first/last numeric and
 * boolean, the others numeric only (q_agg_add_stats refuses the rest with
 * CTS_EINVAL). For integer mean the wrapped block sum is made exact from
 * count, min and max; when that is ambiguous (count * (max - min) >= 2^64)
 * q_agg_add_stats returns CTS_ERANGE and the block must be decoded.
 *
 * q_agg_add relies on timestamps ascending within one call (min and max
 * take the first index of the extreme value as its earliest point); it
 * returns CTS_EINVAL for NULL arrays with n > 0 or a function the type does
 * not accept. Merges and stats apply the same tie rules, so a result never
 * depends on how the points were split, beyond float rounding of sum, mean
 * and stddev.
 *
 * Transformations (InfluxDB's functions.go reducers and stream iterator):
 *   - nulls (empty GROUP BY time buckets under fill(null)) are skipped: no
 *     output, no change of state.
 *   - derivative, difference and their non_negative_ variants yield nothing
 *     for the first point, and ignore a point with the same time as the
 *     previous one (the first of equal times wins). Both work on
 *     consecutive rows in output order: derivative is (v - v_prev) /
 *     (|t - t_prev| / unit) at the current row's time, so under ORDER BY
 *     time DESC the signs are the opposite of ascending order and the
 *     values sit at the earlier point's time, as InfluxDB does (issue
 *     #8498, "wontfix"). non_negative_derivative drops v - v_prev < 0,
 *     non_negative_difference a negative difference (unsigned: cur < prev).
 *     derivative of integers is exact (no int64 wrap as in InfluxDB);
 *     difference of integers wraps like InfluxDB's int64. A stream mixing
 *     integer and float values is computed in float.
 *   - elapsed accepts every type; (t - t_prev) / unit truncated toward
 *     zero, negative under DESC, 0 for equal times (no skip).
 *   - moving_average(x, N): nothing until N values, then the mean of the
 *     last N. Integers are summed exactly (InfluxDB: int64 sum, then one
 *     conversion; same result without its overflow), floats with a
 *     compensated running sum, and NaN and Inf leave the average with the
 *     window that held them (InfluxDB's plain running sum would stay NaN).
 *   - cumulative_sum keeps the type (integers wrap) and yields from the
 *     first point on.
 *   - InfluxDB's default unit of derivative under GROUP BY time(i) is i,
 *     not 1s: the executor must pass it.
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

/* The state of one aggregate over one bucket of one group: the common
 * head, then one member of `u` by function (a bucket array holds many, so
 * it stays small). Plain data but for u.sel.str (strings) and u.ord's
 * arrays (heap, freed by q_agg_fini). */
typedef struct q_agg {
    q_fn fn;
    cts_type type;  /* input type */
    double pct;     /* percentile's N */
    uint64_t count; /* points added, NaN included */
    union {
        struct { /* sum, mean: floats in f; integers exactly, as the
                  * 128-bit two's complement number hi:lo */
            double f;
            uint64_t lo;
            int64_t hi;
        } sum;
        struct { /* min, max, first, last: the chosen point (booleans
                  * 0/1 in val.u; strings in str, owned) */
            cts_num val;
            int64_t ts;
            char *str;
            uint32_t len, cap;
        } sel;
        struct { /* spread: n non-NaN values, the smallest and largest */
            uint64_t n;
            cts_num min, max;
        } spread;
        struct { /* stddev: n non-NaN values, their mean and sum of
                  * squared deviations (merged with Chan's formula) */
            uint64_t n;
            double mean, m2;
        } mom;
        struct { /* median, percentile: every non-NaN value as an
                  * order-preserving uint64 key, and (percentile) its time */
            uint64_t *keys;
            int64_t *ts;
            uint64_t n, cap;
        } ord;
    } u;
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
    cts_qval prev; /* derivative, difference, elapsed: the previous point */
    cts_qval acc;  /* cumulative_sum (CTS_Q_NULL before the first point) */
    /* moving_average: the last ring_len points, grown as needed; the sum
     * of their finite floats (Neumaier: sum + compensation), of their
     * integers exactly (128 bits, hi:lo), and counts of the non-finite */
    cts_qval *ring;
    uint32_t ring_len, ring_cap, ring_pos;
    double ring_sum, ring_comp;
    uint64_t ring_isum_lo;
    int64_t ring_isum_hi;
    uint32_t ring_nan, ring_pinf, ring_ninf;
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
