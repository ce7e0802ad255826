/*
 * stats.c: block statistics computed from values, by the rules written in
 * cts_storage.h (cts_stats). The block encoder stores exactly this, so a
 * query can use a block's header in place of its decoded values.
 *
 * Rules worth keeping in mind: first/last follow time, not position (the
 * block's order need not be sorted); NaN never wins min/max; equal min/max
 * values keep the earliest timestamp; integer sums wrap as two's complement.
 */
#include "storage_int.h"

#include <math.h>

static void time_range(const cts_block_input *in, cts_stats *st, uint32_t *first_i,
                       uint32_t *last_i)
{
    *first_i = *last_i = 0;
    st->min_ts = st->max_ts = in->ts[0];
    for (uint32_t i = 1; i < in->count; i++) {
        if (in->ts[i] < st->min_ts) {
            st->min_ts = in->ts[i];
            *first_i = i;
        }
        if (in->ts[i] >= st->max_ts) {
            st->max_ts = in->ts[i];
            *last_i = i;
        }
    }
}

static void float_stats(const cts_block_input *in, cts_stats *st)
{
    double sum = 0, mn = NAN, mx = NAN;
    int64_t mn_t = st->min_ts, mx_t = st->min_ts;
    bool have = false;
    for (uint32_t i = 0; i < in->count; i++) {
        double v = in->v.f[i];
        int64_t t = in->ts[i];
        sum += v;
        if (isnan(v))
            continue;
        if (!have || v < mn || (v == mn && t < mn_t)) {
            mn = v;
            mn_t = t;
        }
        if (!have || v > mx || (v == mx && t < mx_t)) {
            mx = v;
            mx_t = t;
        }
        have = true;
    }
    st->sum.f = sum;
    st->min.f = mn;
    st->max.f = mx;
    st->min_time = mn_t;
    st->max_time = mx_t;
}

/* int64 and uint64 differ only in how min/max compare. */
static void int_stats(const cts_block_input *in, cts_stats *st, bool is_signed)
{
    const uint64_t *u = in->type == CTS_TYPE_INT ? (const uint64_t *)in->v.i : in->v.u;
    uint64_t sum = 0, mn = u[0], mx = u[0];
    int64_t mn_t = in->ts[0], mx_t = in->ts[0];
    for (uint32_t i = 0; i < in->count; i++) {
        uint64_t v = u[i];
        int64_t t = in->ts[i];
        sum += v;
        bool lt = is_signed ? (int64_t)v < (int64_t)mn : v < mn;
        bool gt = is_signed ? (int64_t)v > (int64_t)mx : v > mx;
        if (lt || (v == mn && t < mn_t)) {
            mn = v;
            mn_t = t;
        }
        if (gt || (v == mx && t < mx_t)) {
            mx = v;
            mx_t = t;
        }
    }
    st->sum.u = sum;
    st->min.u = mn;
    st->max.u = mx;
    st->min_time = mn_t;
    st->max_time = mx_t;
}

static uint64_t bits_at(const cts_block_input *in, uint32_t i)
{
    switch (in->type) {
    case CTS_TYPE_FLOAT: {
        uint64_t b;
        memcpy(&b, &in->v.f[i], 8);
        return b;
    }
    case CTS_TYPE_INT:
        return (uint64_t)in->v.i[i];
    case CTS_TYPE_UINT:
        return in->v.u[i];
    case CTS_TYPE_BOOL:
        return in->v.b[i];
    case CTS_TYPE_STRING:
        break;
    }
    return 0;
}

void cts_stats_compute(const cts_block_input *in, cts_stats *st)
{
    uint32_t first_i, last_i;
    memset(st, 0, sizeof *st);
    if (!in || in->count == 0 || !in->ts)
        return;
    st->count = in->count;
    time_range(in, st, &first_i, &last_i);
    st->first.u = bits_at(in, first_i);
    st->last.u = bits_at(in, last_i);
    if (in->type == CTS_TYPE_FLOAT)
        float_stats(in, st);
    else if (in->type == CTS_TYPE_INT || in->type == CTS_TYPE_UINT)
        int_stats(in, st, in->type == CTS_TYPE_INT);
}
