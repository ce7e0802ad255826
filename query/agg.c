/*
 * agg.c: the aggregate functions of cityts's query language (count sum
 * mean min max first last spread stddev median percentile), as states that
 * take arrays of points, whole blocks through their statistics, and other
 * states of the same function. agg.h states the semantics (InfluxDB 1.x's,
 * plus our NaN rule); this file is about doing it fast and split-invariant.
 *
 * Speed. A scan feeds hundreds of millions of values through q_agg_add, so
 * the dispatch on function and type happens once per call and each case is
 * a loop over one array with no per-value branch on the function. Sums,
 * minima and maxima run on eight-lane GCC vector types (as the float codec
 * does), compiled also for AVX2/AVX-512 and picked at load time. Min and max
 * need the *earliest* point of the extreme value: each vector lane keeps its
 * extreme and the index where it first met it, in the same pass, and the
 * lanes are compared at the end (timestamps ascend within a call, so the
 * first index is the earliest point).
 *
 * Split invariance. Every selector decision goes through one comparison
 * function per rule (better_min, better_max, better_first, better_last),
 * used alike for a call's candidate, a block's statistics and a merged
 * state, so a total order decides and the order of arrival does not.
 * Integer sums are kept exact in 128 bits (sum reports the low 64 bits,
 * i.e. the wrapping sum; mean divides the exact value). stddev keeps count,
 * mean and M2 and merges with Chan's formula. median and percentile keep
 * every value as an order-preserving uint64 key (floats: sign-magnitude
 * flipped; int64: sign bit flipped) so one quickselect serves all types.
 *
 * Size. The executor keeps a state per time bucket and output, so q_agg is
 * a common head plus a union with one member per kind of function (56
 * bytes); each function reads and frees only its own member.
 */
#include "agg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define SIGN64 0x8000000000000000ull

typedef double f64xv __attribute__((vector_size(64)));
typedef uint64_t u64xv __attribute__((vector_size(64)));
#define LANES 8u
typedef double f64x4 __attribute__((vector_size(32)));
typedef uint64_t u64x4 __attribute__((vector_size(32)));
typedef int64_t i64x4 __attribute__((vector_size(32)));

#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 8)
#define SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMD_CLONES
#endif

/* ------------------------------------------------------------------------
 * Names and types.
 * ------------------------------------------------------------------------ */
static const char *const fn_names[] = {
    [Q_FN_COUNT] = "count",
    [Q_FN_SUM] = "sum",
    [Q_FN_MEAN] = "mean",
    [Q_FN_MIN] = "min",
    [Q_FN_MAX] = "max",
    [Q_FN_FIRST] = "first",
    [Q_FN_LAST] = "last",
    [Q_FN_SPREAD] = "spread",
    [Q_FN_STDDEV] = "stddev",
    [Q_FN_MEDIAN] = "median",
    [Q_FN_PERCENTILE] = "percentile",
};

static bool fn_valid(q_fn fn)
{
    return fn >= Q_FN_COUNT && fn <= Q_FN_PERCENTILE;
}

static bool type_valid(cts_type t)
{
    return t >= CTS_TYPE_FLOAT && t <= CTS_TYPE_STRING;
}

static bool is_numeric(cts_type t)
{
    return t == CTS_TYPE_FLOAT || t == CTS_TYPE_INT || t == CTS_TYPE_UINT;
}

bool q_fn_lookup(const char *name, q_fn *out)
{
    if (!name)
        return false;
    for (int fn = Q_FN_COUNT; fn <= Q_FN_PERCENTILE; fn++) {
        if (strcmp(name, fn_names[fn]) == 0) {
            if (out)
                *out = (q_fn)fn;
            return true;
        }
    }
    return false;
}

const char *q_fn_name(q_fn fn)
{
    return fn_valid(fn) ? fn_names[fn] : "unknown";
}

bool q_fn_is_selector(q_fn fn)
{
    return fn == Q_FN_MIN || fn == Q_FN_MAX || fn == Q_FN_FIRST || fn == Q_FN_LAST ||
           fn == Q_FN_PERCENTILE;
}

bool q_fn_uses_stats(q_fn fn)
{
    return fn_valid(fn) && fn != Q_FN_STDDEV && fn != Q_FN_MEDIAN && fn != Q_FN_PERCENTILE;
}

static bool fn_accepts(q_fn fn, cts_type t)
{
    if (!fn_valid(fn) || !type_valid(t))
        return false;
    switch (fn) {
    case Q_FN_COUNT:
    case Q_FN_FIRST:
    case Q_FN_LAST:
        return true;
    case Q_FN_MIN:
    case Q_FN_MAX:
        return t != CTS_TYPE_STRING;
    default:
        return is_numeric(t);
    }
}

static cts_qtype qtype_of(cts_type t)
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
    case CTS_TYPE_STRING:
        return CTS_Q_STRING;
    }
    return CTS_Q_NULL;
}

int q_fn_check(q_fn fn, cts_type in, cts_qtype *out, char *msg, size_t cap)
{
    if (!fn_valid(fn) || !type_valid(in)) {
        if (msg && cap)
            snprintf(msg, cap, "invalid aggregate or type");
        return CTS_EINVAL;
    }
    if (!fn_accepts(fn, in)) {
        if (msg && cap)
            snprintf(msg, cap, "unsupported %s iterator type: %s", fn_names[fn], cts_type_name(in));
        return CTS_ETYPE;
    }
    cts_qtype t = qtype_of(in);
    if (fn == Q_FN_COUNT)
        t = CTS_Q_INT;
    else if (fn == Q_FN_MEAN || fn == Q_FN_STDDEV || fn == Q_FN_MEDIAN)
        t = CTS_Q_FLOAT;
    if (out)
        *out = t;
    return 0;
}

/* ------------------------------------------------------------------------
 * Lifecycle.
 * ------------------------------------------------------------------------ */
void q_agg_init(q_agg *a, q_fn fn, cts_type type, double pct)
{
    if (!a)
        return;
    memset(a, 0, sizeof *a);
    a->fn = fn;
    a->type = type;
    a->pct = pct;
}

static bool holds_str(const q_agg *a)
{
    return a->type == CTS_TYPE_STRING &&
           (a->fn == Q_FN_FIRST || a->fn == Q_FN_LAST || a->fn == Q_FN_MIN || a->fn == Q_FN_MAX);
}

static bool holds_keys(const q_agg *a)
{
    return a->fn == Q_FN_MEDIAN || a->fn == Q_FN_PERCENTILE;
}

/* Only the function's own union member is read: the others alias it. */
void q_agg_fini(q_agg *a)
{
    if (!a)
        return;
    if (holds_str(a)) {
        cts_free(a->u.sel.str);
        a->u.sel.str = NULL;
        a->u.sel.len = a->u.sel.cap = 0;
    } else if (holds_keys(a)) {
        cts_free(a->u.ord.keys);
        cts_free(a->u.ord.ts);
        a->u.ord.keys = NULL;
        a->u.ord.ts = NULL;
        a->u.ord.n = a->u.ord.cap = 0;
    }
}

uint64_t q_agg_mem_bytes(const q_agg *a)
{
    if (a && holds_str(a))
        return a->u.sel.cap;
    if (a && holds_keys(a))
        return a->u.ord.cap * (a->fn == Q_FN_PERCENTILE ? 16 : 8);
    return 0;
}

/* ------------------------------------------------------------------------
 * 128-bit integer sum, stored as hi:lo in the state.
 * ------------------------------------------------------------------------ */
static i128 isum_get(const q_agg *a)
{
    return (i128)(((u128)(uint64_t)a->u.sum.hi << 64) | a->u.sum.lo);
}

static void isum_add(q_agg *a, i128 v)
{
    u128 s = (u128)isum_get(a) + (u128)v;
    a->u.sum.lo = (uint64_t)s;
    a->u.sum.hi = (int64_t)(uint64_t)(s >> 64);
}

/* ------------------------------------------------------------------------
 * Vector kernels. Each handles any n; the tail is scalar.
 * ------------------------------------------------------------------------ */
SIMD_CLONES static double sum_f64(const double *v, uint32_t n)
{
    f64xv acc0 = {0}, acc1 = {0};
    uint32_t i = 0;
    for (; i + 2 * LANES <= n; i += 2 * LANES) {
        f64xv x, y;
        memcpy(&x, v + i, sizeof x);
        memcpy(&y, v + i + LANES, sizeof y);
        acc0 += x;
        acc1 += y;
    }
    acc0 += acc1;
    double s = 0;
    for (uint32_t k = 0; k < LANES; k++)
        s += acc0[k];
    for (; i < n; i++)
        s += v[i];
    return s;
}

/* The exact sum of n <= 2^32 - 1 unsigned values: high and low 32-bit
 * halves summed separately cannot overflow 64 bits. `bias` is XORed into
 * each value first (SIGN64 turns int64 into v + 2^63). */
SIMD_CLONES static u128 sum_u64(const uint64_t *v, uint32_t n, uint64_t bias)
{
    u64xv hi = {0}, lo = {0};
    uint32_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        u64xv x;
        memcpy(&x, v + i, sizeof x);
        x ^= bias;
        hi += x >> 32;
        lo += x & 0xffffffffu;
    }
    uint64_t h = 0, l = 0;
    for (uint32_t k = 0; k < LANES; k++) {
        h += hi[k];
        l += lo[k];
    }
    for (; i < n; i++) {
        uint64_t x = v[i] ^ bias;
        h += x >> 32;
        l += x & 0xffffffffu;
    }
    return ((u128)h << 32) + l;
}

/* ------------------------------------------------------------------------
 * First index of the extreme.
 * ------------------------------------------------------------------------ */

/* First index of the smallest non-NaN value of sign * v[i]; n when no
 * value is below +Inf. One pass: each lane keeps its minimum and where it
 * first saw it (strict <, so the earliest), then lanes are compared. The
 * comparisons use 256-bit vectors: GCC lowers a compare on vectors wider
 * than the target's to scalar code, so these run as vectors in the AVX2
 * and AVX-512 clones (the baseline clone is scalar, and still correct). */
SIMD_CLONES static uint32_t f64_min_at(const double *v, uint32_t n, double sign)
{
    f64x4 m0 = (f64x4){0} + INFINITY, m1 = m0;
    i64x4 a0 = (i64x4){0} + INT64_MAX, a1 = a0, p0 = {0, 1, 2, 3}, p1 = {4, 5, 6, 7};
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        f64x4 x, y;
        memcpy(&x, v + i, sizeof x);
        memcpy(&y, v + i + 4, sizeof y);
        x *= sign;
        y *= sign;
        i64x4 l0 = x < m0, l1 = y < m1;
        m0 = (f64x4)(((u64x4)x & (u64x4)l0) | ((u64x4)m0 & ~(u64x4)l0));
        m1 = (f64x4)(((u64x4)y & (u64x4)l1) | ((u64x4)m1 & ~(u64x4)l1));
        a0 = (p0 & l0) | (a0 & ~l0);
        a1 = (p1 & l1) | (a1 & ~l1);
        p0 += 8;
        p1 += 8;
    }
    double best = INFINITY;
    int64_t bi = INT64_MAX;
    for (uint32_t k = 0; k < 8; k++) {
        double mk = k < 4 ? m0[k] : m1[k - 4];
        int64_t ak = k < 4 ? a0[k] : a1[k - 4];
        if (mk < best || (mk == best && ak < bi)) {
            best = mk;
            bi = ak;
        }
    }
    for (; i < n; i++) { /* later than every lane's index: strict < */
        if (v[i] * sign < best) {
            best = v[i] * sign;
            bi = i;
        }
    }
    return bi == INT64_MAX ? n : (uint32_t)bi;
}

/* First index of the smallest of (int64)(v[i] ^ mask); n >= 1. The mask
 * folds in the uint64 bias and, for a maximum, ~0 (which reverses the
 * order without overflow). */
SIMD_CLONES static uint32_t i64_min_at(const uint64_t *v, uint32_t n, uint64_t mask)
{
    i64x4 m0 = (i64x4){0} + INT64_MAX, m1 = m0, a0 = m0, a1 = m0;
    i64x4 p0 = {0, 1, 2, 3}, p1 = {4, 5, 6, 7};
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        u64x4 x, y;
        memcpy(&x, v + i, sizeof x);
        memcpy(&y, v + i + 4, sizeof y);
        i64x4 xs = (i64x4)(x ^ mask), ys = (i64x4)(y ^ mask);
        i64x4 l0 = xs < m0, l1 = ys < m1;
        m0 = (xs & l0) | (m0 & ~l0);
        m1 = (ys & l1) | (m1 & ~l1);
        a0 = (p0 & l0) | (a0 & ~l0);
        a1 = (p1 & l1) | (a1 & ~l1);
        p0 += 8;
        p1 += 8;
    }
    int64_t best = INT64_MAX, bi = INT64_MAX;
    for (uint32_t k = 0; k < 8; k++) {
        int64_t mk = k < 4 ? m0[k] : m1[k - 4], ak = k < 4 ? a0[k] : a1[k - 4];
        if (mk < best || (mk == best && ak < bi)) {
            best = mk;
            bi = ak;
        }
    }
    for (; i < n; i++) {
        if ((int64_t)(v[i] ^ mask) < best) {
            best = (int64_t)(v[i] ^ mask);
            bi = i;
        }
    }
    return bi == INT64_MAX ? 0 : (uint32_t)bi; /* unset: every value is INT64_MAX */
}

/* Index of the first occurrence of the smallest (largest) non-NaN value,
 * or n when every value is NaN. */
static uint32_t f64_extreme_at(const double *v, uint32_t n, bool want_max)
{
    uint32_t i = f64_min_at(v, n, want_max ? -1.0 : 1.0);
    if (i < n)
        return i;
    const double none = want_max ? -INFINITY : INFINITY; /* the extreme, if any */
    for (i = 0; i < n && v[i] != none; i++)
        ;
    return i;
}

static uint32_t i64_extreme_at(const uint64_t *v, uint32_t n, uint64_t bias, bool want_max)
{
    return i64_min_at(v, n, want_max ? ~bias : bias);
}

/* ------------------------------------------------------------------------
 * Selector rules: does candidate (v, t) beat the current choice (c, ct)?
 * Booleans are compared as 0/1 in .u.
 * ------------------------------------------------------------------------ */
static bool num_lt(cts_type type, cts_num x, cts_num y)
{
    switch (type) {
    case CTS_TYPE_FLOAT:
        return x.f < y.f;
    case CTS_TYPE_INT:
        return x.i < y.i;
    default:
        return x.u < y.u;
    }
}

static bool num_eq(cts_type type, cts_num x, cts_num y)
{
    return type == CTS_TYPE_FLOAT ? x.f == y.f : x.u == y.u;
}

static bool is_nan_num(cts_type type, cts_num x)
{
    return type == CTS_TYPE_FLOAT && isnan(x.f);
}

/* min (want_max false) or max: NaN never wins; among NaNs, and among equal
 * values, the earliest time wins. */
static bool better_extreme(cts_type type, bool want_max, cts_num v, int64_t t, cts_num c,
                           int64_t ct)
{
    bool vn = is_nan_num(type, v), cn = is_nan_num(type, c);
    if (vn || cn)
        return vn ? cn && t < ct : true;
    if (want_max ? num_lt(type, c, v) : num_lt(type, v, c))
        return true;
    return num_eq(type, v, c) && t < ct;
}

/* On a time tie: which value first/last keep. Numbers: the greater (NaN
 * never wins); booleans: false for first, true for last. */
static bool tie_wins(cts_type type, bool last, cts_num v, cts_num c)
{
    if (type == CTS_TYPE_BOOL)
        return last ? v.u > c.u : v.u < c.u;
    if (is_nan_num(type, v))
        return false;
    return is_nan_num(type, c) || num_lt(type, c, v);
}

static bool better_edge(cts_type type, bool last, cts_num v, int64_t t, cts_num c, int64_t ct)
{
    if (t != ct)
        return last ? t > ct : t < ct;
    return tie_wins(type, last, v, c);
}

static bool str_gt(cts_str x, const char *y, uint32_t ylen)
{
    uint32_t m = x.len < ylen ? x.len : ylen;
    int c = m ? memcmp(x.ptr, y, m) : 0;
    return c > 0 || (c == 0 && x.len > ylen);
}

/* Offer a numeric/bool candidate to a min/max/first/last state. */
static void offer(q_agg *a, cts_num v, int64_t t)
{
    bool take;
    if (a->count == 0)
        take = true;
    else if (a->fn == Q_FN_MIN || a->fn == Q_FN_MAX)
        take = better_extreme(a->type, a->fn == Q_FN_MAX, v, t, a->u.sel.val, a->u.sel.ts);
    else
        take = better_edge(a->type, a->fn == Q_FN_LAST, v, t, a->u.sel.val, a->u.sel.ts);
    if (take) {
        a->u.sel.val = v;
        a->u.sel.ts = t;
    }
}

static int set_str(q_agg *a, cts_str s)
{
    if (s.len > a->u.sel.cap || !a->u.sel.str) {
        uint32_t cap = s.len ? s.len : 1;
        char *p = cts_malloc(cap);
        if (!p)
            return CTS_ENOMEM;
        cts_free(a->u.sel.str);
        a->u.sel.str = p;
        a->u.sel.cap = cap;
    }
    if (s.len)
        memcpy(a->u.sel.str, s.ptr, s.len);
    a->u.sel.len = s.len;
    return 0;
}

/* Offer a string candidate to a first/last state. */
static int offer_str(q_agg *a, cts_str s, int64_t t)
{
    bool last = a->fn == Q_FN_LAST, take;
    if (a->count == 0)
        take = true;
    else if (t != a->u.sel.ts)
        take = last ? t > a->u.sel.ts : t < a->u.sel.ts;
    else
        take = str_gt(s, a->u.sel.str, a->u.sel.len);
    if (!take)
        return 0;
    int rc = set_str(a, s);
    if (rc == 0)
        a->u.sel.ts = t;
    return rc;
}

/* ------------------------------------------------------------------------
 * Adding arrays.
 * ------------------------------------------------------------------------ */
static cts_num num_at(cts_type type, const void *vals, uint32_t i)
{
    cts_num x;
    switch (type) {
    case CTS_TYPE_FLOAT:
        x.f = ((const double *)vals)[i];
        break;
    case CTS_TYPE_BOOL:
        x.u = ((const uint8_t *)vals)[i] != 0;
        break;
    default:
        x.u = ((const uint64_t *)vals)[i];
        break;
    }
    return x;
}

static void add_sum(q_agg *a, const void *vals, uint32_t n)
{
    if (a->type == CTS_TYPE_FLOAT) {
        a->u.sum.f += sum_f64(vals, n);
        return;
    }
    if (a->type == CTS_TYPE_INT)
        isum_add(a, (i128)sum_u64(vals, n, SIGN64) - (i128)n * (i128)SIGN64);
    else
        isum_add(a, (i128)sum_u64(vals, n, 0));
}

static void add_extreme(q_agg *a, const int64_t *ts, const void *vals, uint32_t n)
{
    bool want_max = a->fn == Q_FN_MAX;
    uint32_t i;
    if (a->type == CTS_TYPE_FLOAT) {
        i = f64_extreme_at(vals, n, want_max);
        if (i == n)
            i = 0; /* all NaN: the earliest NaN */
    } else if (a->type == CTS_TYPE_BOOL) {
        const uint8_t *b = vals;
        /* the first true (max) or false (min), else the first point */
        for (i = 0; i < n && (b[i] != 0) != want_max; i++)
            ;
        if (i == n)
            i = 0;
    } else {
        i = i64_extreme_at(vals, n, a->type == CTS_TYPE_UINT ? SIGN64 : 0, want_max);
    }
    offer(a, num_at(a->type, vals, i), ts[i]);
}

/* first/last: the point at the earliest (latest) time, ties within the
 * call settled by the same rule as across calls. */
static int add_edge(q_agg *a, const int64_t *ts, const void *vals, uint32_t n)
{
    bool last = a->fn == Q_FN_LAST;
    uint32_t i = last ? n - 1 : 0;
    int64_t t = ts[i];
    if (a->type == CTS_TYPE_STRING) {
        const cts_str *s = vals;
        uint32_t best = i;
        for (uint32_t j = i; (last ? j-- > 0 : ++j < n) && ts[j] == t;)
            if (str_gt(s[j], s[best].ptr, s[best].len))
                best = j;
        return offer_str(a, s[best], t);
    }
    cts_num best = num_at(a->type, vals, i);
    for (uint32_t j = i; (last ? j-- > 0 : ++j < n) && ts[j] == t;) {
        cts_num x = num_at(a->type, vals, j);
        if (tie_wins(a->type, last, x, best))
            best = x;
    }
    offer(a, best, t);
    return 0;
}

/* Fold one non-NaN range [mn, mx] into a spread state. */
static void spread_fold(q_agg *a, cts_num mn, cts_num mx, uint64_t nvalid)
{
    if (nvalid == 0)
        return;
    if (a->u.spread.n == 0 || num_lt(a->type, mn, a->u.spread.min))
        a->u.spread.min = mn;
    if (a->u.spread.n == 0 || num_lt(a->type, a->u.spread.max, mx))
        a->u.spread.max = mx;
    a->u.spread.n += nvalid;
}

static void add_spread(q_agg *a, const void *vals, uint32_t n)
{
    if (a->type == CTS_TYPE_FLOAT) {
        const double *v = vals;
        uint32_t lo = f64_extreme_at(v, n, false);
        if (lo == n)
            return; /* every value is NaN */
        uint32_t hi = f64_extreme_at(v, n, true);
        spread_fold(a, (cts_num){.f = v[lo]}, (cts_num){.f = v[hi]}, n);
        return;
    }
    const uint64_t *u = vals;
    uint64_t bias = a->type == CTS_TYPE_UINT ? SIGN64 : 0;
    uint32_t lo = i64_extreme_at(u, n, bias, false), hi = i64_extreme_at(u, n, bias, true);
    spread_fold(a, (cts_num){.u = u[lo]}, (cts_num){.u = u[hi]}, n);
}

/* Chan et al.'s pairwise update of (count, mean, M2). */
static void moments_merge(q_agg *a, uint64_t nb, double mb, double m2b)
{
    if (nb == 0)
        return;
    if (a->u.mom.n == 0) {
        a->u.mom.n = nb;
        a->u.mom.mean = mb;
        a->u.mom.m2 = m2b;
        return;
    }
    double na = (double)a->u.mom.n, nbd = (double)nb, n = na + nbd;
    double delta = mb - a->u.mom.mean;
    a->u.mom.mean += delta * (nbd / n);
    a->u.mom.m2 += m2b + delta * delta * (na * nbd / n);
    a->u.mom.n += nb;
}

static double val_f64(cts_type type, const void *vals, uint32_t i)
{
    if (type == CTS_TYPE_FLOAT)
        return ((const double *)vals)[i];
    if (type == CTS_TYPE_INT)
        return (double)((const int64_t *)vals)[i];
    return (double)((const uint64_t *)vals)[i];
}

/* Two passes over the call's values (mean, then squared deviations), then
 * one merge: more accurate than Welford per value, and cheaper. */
static void add_stddev(q_agg *a, const void *vals, uint32_t n)
{
    double s = 0, m2 = 0;
    uint64_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        double x = val_f64(a->type, vals, i);
        if (!isnan(x)) {
            s += x;
            k++;
        }
    }
    if (k == 0)
        return;
    double mean = s / (double)k;
    for (uint32_t i = 0; i < n; i++) {
        double x = val_f64(a->type, vals, i);
        if (!isnan(x))
            m2 += (x - mean) * (x - mean);
    }
    moments_merge(a, k, mean, m2);
}

/* Order-preserving keys: key order is value order (floats: -Inf < ... <
 * -0 < +0 < ... < +Inf; NaN never becomes a key). */
static uint64_t key_of(cts_type type, cts_num x)
{
    if (type == CTS_TYPE_FLOAT)
        return (x.u & SIGN64) ? ~x.u : x.u | SIGN64;
    return type == CTS_TYPE_INT ? x.u ^ SIGN64 : x.u;
}

static cts_num num_of_key(cts_type type, uint64_t k)
{
    cts_num x;
    if (type == CTS_TYPE_FLOAT)
        x.u = (k & SIGN64) ? k & ~SIGN64 : ~k;
    else
        x.u = type == CTS_TYPE_INT ? k ^ SIGN64 : k;
    return x;
}

static int keys_reserve(q_agg *a, uint64_t more)
{
    bool with_ts = a->fn == Q_FN_PERCENTILE;
    uint64_t need = a->u.ord.n + more;
    if (need <= a->u.ord.cap)
        return 0;
    if (need < a->u.ord.n || need > (uint64_t)(SIZE_MAX / 16))
        return CTS_ENOMEM;
    uint64_t cap = a->u.ord.cap ? a->u.ord.cap : 64;
    while (cap < need)
        cap = cap > (uint64_t)(SIZE_MAX / 32) ? need : cap * 2;
    uint64_t *k = cts_realloc(a->u.ord.keys, (size_t)cap * sizeof *k);
    if (!k)
        return CTS_ENOMEM;
    a->u.ord.keys = k;
    if (with_ts) {
        int64_t *t = cts_realloc(a->u.ord.ts, (size_t)cap * sizeof *t);
        if (!t)
            return CTS_ENOMEM;
        a->u.ord.ts = t;
    }
    a->u.ord.cap = cap;
    return 0;
}

static int add_keys(q_agg *a, const int64_t *ts, const void *vals, uint32_t n)
{
    int rc = keys_reserve(a, n);
    if (rc)
        return rc;
    uint64_t *k = a->u.ord.keys + a->u.ord.n;
    uint32_t m = 0;
    if (a->type == CTS_TYPE_FLOAT) {
        const double *v = vals;
        for (uint32_t i = 0; i < n; i++) {
            if (isnan(v[i]))
                continue;
            if (a->u.ord.ts)
                a->u.ord.ts[a->u.ord.n + m] = ts[i];
            k[m++] = key_of(CTS_TYPE_FLOAT, num_at(CTS_TYPE_FLOAT, vals, i));
        }
    } else {
        uint64_t bias = a->type == CTS_TYPE_INT ? SIGN64 : 0;
        const uint64_t *u = vals;
        for (uint32_t i = 0; i < n; i++)
            k[i] = u[i] ^ bias;
        if (a->u.ord.ts)
            memcpy(a->u.ord.ts + a->u.ord.n, ts, (size_t)n * sizeof *ts);
        m = n;
    }
    a->u.ord.n += m;
    return 0;
}

int q_agg_add(q_agg *a, const int64_t *ts, const void *vals, uint32_t n)
{
    if (!a || (n && (!ts || !vals)) || !fn_accepts(a->fn, a->type))
        return CTS_EINVAL;
    if (n == 0)
        return 0;
    int rc = 0;
    switch (a->fn) {
    case Q_FN_COUNT:
        break;
    case Q_FN_SUM:
    case Q_FN_MEAN:
        add_sum(a, vals, n);
        break;
    case Q_FN_MIN:
    case Q_FN_MAX:
        add_extreme(a, ts, vals, n);
        break;
    case Q_FN_FIRST:
    case Q_FN_LAST:
        rc = add_edge(a, ts, vals, n);
        break;
    case Q_FN_SPREAD:
        add_spread(a, vals, n);
        break;
    case Q_FN_STDDEV:
        add_stddev(a, vals, n);
        break;
    case Q_FN_MEDIAN:
    case Q_FN_PERCENTILE:
        rc = add_keys(a, ts, vals, n);
        break;
    }
    if (rc == 0)
        a->count += n;
    return rc;
}

/* ------------------------------------------------------------------------
 * Block statistics.
 * ------------------------------------------------------------------------ */

/* The exact sum of a block from its wrapped sum: it lies in
 * [count * min, count * max], and is known modulo 2^64, so it is exact
 * when that range is narrower than 2^64. */
static int stats_exact_sum(cts_type type, const cts_stats *st, i128 *out)
{
    i128 lo, hi;
    if (type == CTS_TYPE_INT) {
        lo = (i128)st->count * st->min.i;
        hi = (i128)st->count * st->max.i;
    } else {
        lo = (i128)st->count * (i128)st->min.u;
        hi = (i128)st->count * (i128)st->max.u;
    }
    if (hi < lo || (u128)(hi - lo) > (u128)UINT64_MAX)
        return CTS_ERANGE;
    *out = lo + (i128)(uint64_t)(st->sum.u - (uint64_t)lo);
    return *out <= hi ? 0 : CTS_ECORRUPT;
}

static bool stats_accepts(q_fn fn, cts_type t)
{
    if (fn == Q_FN_COUNT)
        return type_valid(t);
    if (fn == Q_FN_FIRST || fn == Q_FN_LAST)
        return is_numeric(t) || t == CTS_TYPE_BOOL;
    return q_fn_uses_stats(fn) && is_numeric(t);
}

static int stats_sum(q_agg *a, const cts_stats *st)
{
    if (a->type == CTS_TYPE_FLOAT) {
        a->u.sum.f += st->sum.f;
        return 0;
    }
    i128 s;
    int rc = stats_exact_sum(a->type, st, &s);
    if (rc && a->fn == Q_FN_SUM)
        s = (i128)(int64_t)st->sum.u; /* sum reports the low 64 bits only */
    else if (rc)
        return rc;
    isum_add(a, s);
    return 0;
}

int q_agg_add_stats(q_agg *a, const cts_stats *st)
{
    if (!a || !st || !stats_accepts(a->fn, a->type))
        return CTS_EINVAL;
    if (st->count == 0)
        return 0;
    int rc = 0;
    switch (a->fn) {
    case Q_FN_SUM:
    case Q_FN_MEAN:
        rc = stats_sum(a, st);
        break;
    case Q_FN_MIN:
        offer(a, st->min, st->min_time);
        break;
    case Q_FN_MAX:
        offer(a, st->max, st->max_time);
        break;
    case Q_FN_FIRST:
        offer(a, st->first, st->min_ts);
        break;
    case Q_FN_LAST:
        offer(a, st->last, st->max_ts);
        break;
    case Q_FN_SPREAD:
        if (!is_nan_num(a->type, st->min))
            spread_fold(a, st->min, st->max, st->count);
        break;
    default:
        break;
    }
    if (rc == 0)
        a->count += st->count;
    return rc;
}

/* ------------------------------------------------------------------------
 * Merging.
 * ------------------------------------------------------------------------ */
static int merge_keys(q_agg *dst, const q_agg *src)
{
    int rc = keys_reserve(dst, src->u.ord.n);
    if (rc)
        return rc;
    if (src->u.ord.n) {
        memcpy(dst->u.ord.keys + dst->u.ord.n, src->u.ord.keys,
               (size_t)src->u.ord.n * sizeof *src->u.ord.keys);
        if (dst->u.ord.ts)
            memcpy(dst->u.ord.ts + dst->u.ord.n, src->u.ord.ts,
                   (size_t)src->u.ord.n * sizeof *src->u.ord.ts);
    }
    dst->u.ord.n += src->u.ord.n;
    return 0;
}

int q_agg_merge(q_agg *dst, const q_agg *src)
{
    if (!dst || !src || dst == src || dst->fn != src->fn || dst->type != src->type ||
        !fn_accepts(dst->fn, dst->type))
        return CTS_EINVAL;
    if (src->count == 0)
        return 0;
    int rc = 0;
    switch (dst->fn) {
    case Q_FN_SUM:
    case Q_FN_MEAN:
        dst->u.sum.f += src->u.sum.f;
        isum_add(dst, isum_get(src));
        break;
    case Q_FN_MIN:
    case Q_FN_MAX:
    case Q_FN_FIRST:
    case Q_FN_LAST:
        if (dst->type == CTS_TYPE_STRING)
            rc = offer_str(dst, (cts_str){src->u.sel.str, src->u.sel.len}, src->u.sel.ts);
        else
            offer(dst, src->u.sel.val, src->u.sel.ts);
        break;
    case Q_FN_SPREAD:
        spread_fold(dst, src->u.spread.min, src->u.spread.max, src->u.spread.n);
        break;
    case Q_FN_STDDEV:
        moments_merge(dst, src->u.mom.n, src->u.mom.mean, src->u.mom.m2);
        break;
    case Q_FN_MEDIAN:
    case Q_FN_PERCENTILE:
        rc = merge_keys(dst, src);
        break;
    default:
        break;
    }
    if (rc == 0)
        dst->count += src->count;
    return rc;
}

/* ------------------------------------------------------------------------
 * Order statistics: quickselect with a three-way partition (sensor data is
 * full of repeated values) and a pseudo-random pivot (no quadratic input
 * in practice). Keys compare first, then times when `t` is not NULL, so
 * percentile's choice among equal values is the earliest point.
 * ------------------------------------------------------------------------ */
static int key_cmp(const uint64_t *k, const int64_t *t, uint64_t i, uint64_t pk, int64_t pt)
{
    if (k[i] != pk)
        return k[i] < pk ? -1 : 1;
    if (!t || t[i] == pt)
        return 0;
    return t[i] < pt ? -1 : 1;
}

static void key_swap(uint64_t *k, int64_t *t, uint64_t i, uint64_t j)
{
    uint64_t x = k[i];
    k[i] = k[j];
    k[j] = x;
    if (t) {
        int64_t y = t[i];
        t[i] = t[j];
        t[j] = y;
    }
}

/* Reorder k (and t) so that position nth holds the element that sorting
 * would put there, everything before it no greater, after it no smaller. */
static void select_nth(uint64_t *k, int64_t *t, uint64_t n, uint64_t nth)
{
    uint64_t lo = 0, hi = n, rng = 0x9E3779B97F4A7C15ull ^ n;
    while (hi - lo > 1) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        uint64_t p = lo + rng % (hi - lo);
        uint64_t pk = k[p], lt = lo, i = lo, gt = hi;
        int64_t pt = t ? t[p] : 0;
        while (i < gt) {
            int c = key_cmp(k, t, i, pk, pt);
            if (c < 0)
                key_swap(k, t, lt++, i++);
            else if (c > 0)
                key_swap(k, t, i, --gt);
            else
                i++;
        }
        if (nth < lt)
            hi = lt;
        else if (nth >= gt)
            lo = gt;
        else
            return;
    }
}

static double num_to_f64(cts_type type, cts_num x)
{
    if (type == CTS_TYPE_FLOAT)
        return x.f;
    return type == CTS_TYPE_INT ? (double)x.i : (double)x.u;
}

static void median_result(q_agg *a, cts_qval *out)
{
    uint64_t n = a->u.ord.n, k = n / 2;
    out->type = CTS_Q_FLOAT;
    if (n == 0) {
        out->v.f = NAN; /* only NaN values were added */
        return;
    }
    select_nth(a->u.ord.keys, NULL, n, k);
    uint64_t hi = a->u.ord.keys[k];
    if (n % 2) {
        out->v.f = num_to_f64(a->type, num_of_key(a->type, hi));
        return;
    }
    uint64_t lo = a->u.ord.keys[0];
    for (uint64_t i = 1; i < k; i++)
        lo = a->u.ord.keys[i] > lo ? a->u.ord.keys[i] : lo;
    cts_num l = num_of_key(a->type, lo), h = num_of_key(a->type, hi);
    if (a->type == CTS_TYPE_FLOAT)
        out->v.f = lo == hi ? l.f : l.f + (h.f - l.f) / 2;
    else /* keys are biased, so hi - lo is the exact, non-negative difference */
        out->v.f = num_to_f64(a->type, l) + (double)(hi - lo) / 2;
}

static void percentile_result(q_agg *a, cts_qval *out, int64_t *ts_ns)
{
    double x = floor((double)a->u.ord.n * a->pct / 100.0 + 0.5) - 1;
    if (!(x >= 0 && x < (double)a->u.ord.n)) {
        out->type = CTS_Q_NULL;
        return;
    }
    uint64_t i = (uint64_t)x;
    select_nth(a->u.ord.keys, a->u.ord.ts, a->u.ord.n, i);
    cts_num v = num_of_key(a->type, a->u.ord.keys[i]);
    out->type = qtype_of(a->type);
    out->v.u = v.u;
    if (ts_ns)
        *ts_ns = a->u.ord.ts[i];
}

/* ------------------------------------------------------------------------
 * Results.
 * ------------------------------------------------------------------------ */
static void typed_result(cts_type type, cts_num v, cts_qval *out)
{
    out->type = qtype_of(type);
    if (type == CTS_TYPE_BOOL)
        out->v.b = v.u != 0;
    else
        out->v.u = v.u;
}

static void sum_result(const q_agg *a, cts_qval *out)
{
    if (a->type == CTS_TYPE_FLOAT) {
        out->type = CTS_Q_FLOAT;
        out->v.f = a->u.sum.f;
    } else {
        out->type = qtype_of(a->type);
        out->v.u = a->u.sum.lo;
    }
}

static void mean_result(const q_agg *a, cts_qval *out)
{
    out->type = CTS_Q_FLOAT;
    if (a->type == CTS_TYPE_FLOAT)
        out->v.f = a->u.sum.f / (double)a->count;
    else
        out->v.f = (double)isum_get(a) / (double)a->count;
}

static void spread_result(const q_agg *a, cts_qval *out)
{
    out->type = qtype_of(a->type);
    if (a->type == CTS_TYPE_FLOAT)
        out->v.f = a->u.spread.n ? a->u.spread.max.f - a->u.spread.min.f : NAN;
    else
        out->v.u = a->u.spread.max.u - a->u.spread.min.u; /* int64 wraps as in InfluxDB */
}

static void stddev_result(const q_agg *a, cts_qval *out)
{
    out->type = CTS_Q_FLOAT;
    out->v.f = a->u.mom.n < 2 ? NAN : sqrt(a->u.mom.m2 / (double)(a->u.mom.n - 1));
}

int q_agg_result(q_agg *a, cts_qval *out, int64_t *ts_ns)
{
    if (!a || !out || !fn_accepts(a->fn, a->type))
        return CTS_EINVAL;
    memset(out, 0, sizeof *out);
    if (a->fn == Q_FN_COUNT) {
        out->type = CTS_Q_INT;
        out->v.i = (int64_t)a->count;
        return 0;
    }
    if (a->count == 0) {
        out->type = CTS_Q_NULL;
        return 0;
    }
    switch (a->fn) {
    case Q_FN_SUM:
        sum_result(a, out);
        break;
    case Q_FN_MEAN:
        mean_result(a, out);
        break;
    case Q_FN_MIN:
    case Q_FN_MAX:
    case Q_FN_FIRST:
    case Q_FN_LAST:
        if (a->type == CTS_TYPE_STRING) {
            out->type = CTS_Q_STRING;
            out->v.s = (cts_str){a->u.sel.str ? a->u.sel.str : "", a->u.sel.len};
        } else {
            typed_result(a->type, a->u.sel.val, out);
        }
        if (ts_ns)
            *ts_ns = a->u.sel.ts;
        break;
    case Q_FN_SPREAD:
        spread_result(a, out);
        break;
    case Q_FN_STDDEV:
        stddev_result(a, out);
        break;
    case Q_FN_MEDIAN:
        median_result(a, out);
        break;
    case Q_FN_PERCENTILE:
        percentile_result(a, out, ts_ns);
        break;
    default:
        break;
    }
    return 0;
}
