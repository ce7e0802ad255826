/*
 * The column block: round trips of random and adversarial blocks of every
 * type (bit-identical), statistics against a naive reference written here
 * independently of stats.c, and corruption: every single-byte flip and every
 * truncation of a sample block of each type is detected, never crashes.
 */
#include "cts_test.h"
#include "cts_storage.h"

#include <float.h>
#include <math.h>

typedef struct column {
    cts_type type;
    uint32_t n;
    int64_t *ts;
    double *f;
    uint64_t *u; /* int and uint */
    uint8_t *b;
    cts_str *s;
    char *text; /* backing bytes of s */
} column;

static void column_alloc(column *c, cts_type type, uint32_t n)
{
    memset(c, 0, sizeof *c);
    c->type = type;
    c->n = n;
    c->ts = calloc(n, 8);
    c->f = calloc(n, 8);
    c->u = calloc(n, 8);
    c->b = calloc(n, 1);
    c->s = calloc(n, sizeof(cts_str));
    c->text = calloc((size_t)n * 24 + 1, 1);
}

static void column_free(column *c)
{
    free(c->ts);
    free(c->f);
    free(c->u);
    free(c->b);
    free(c->s);
    free(c->text);
}

static cts_block_input input_of(const column *c)
{
    cts_block_input in = {.type = c->type, .count = c->n, .ts = c->ts};
    switch (c->type) {
    case CTS_TYPE_FLOAT:
        in.v.f = c->f;
        break;
    case CTS_TYPE_INT:
        in.v.i = (const int64_t *)c->u;
        break;
    case CTS_TYPE_UINT:
        in.v.u = c->u;
        break;
    case CTS_TYPE_BOOL:
        in.v.b = c->b;
        break;
    case CTS_TYPE_STRING:
        in.v.s = c->s;
        break;
    }
    return in;
}

/* ---- generators ---- */

static void gen_ts(cts_rng *r, column *c)
{
    int64_t t = (int64_t)(cts_rng_next(r) >> 4) - (INT64_C(1) << 58);
    int kind = (int)cts_rng_below(r, 6);
    for (uint32_t i = 0; i < c->n; i++) {
        switch (kind) {
        case 0: /* regular 60 s */
            c->ts[i] = t + (int64_t)i * 60000000000;
            break;
        case 1: /* 10 s with +-1 s jitter at ms precision */
            c->ts[i] =
                t + (int64_t)i * 10000000000 + ((int64_t)cts_rng_below(r, 2001) - 1000) * 1000000;
            break;
        case 2: /* backwards and duplicates */
            c->ts[i] = t - (int64_t)cts_rng_below(r, 3) * 1000;
            t = c->ts[i];
            break;
        case 3: /* jumps by years */
            t = (int64_t)((uint64_t)t + cts_rng_below(r, 4) * 31557600000000000ull);
            c->ts[i] = t;
            break;
        case 4: /* extremes */
            c->ts[i] = (i & 1) ? INT64_MAX : INT64_MIN;
            break;
        default: /* random bits */
            c->ts[i] = (int64_t)cts_rng_next(r);
            break;
        }
    }
}

static double gen_decimal(cts_rng *r, int places)
{
    static const double p10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    int64_t k = (int64_t)cts_rng_below(r, 2000001) - 1000000;
    return (double)k / p10[places];
}

static double gen_special(cts_rng *r)
{
    static const double sp[] = {0.0,      -0.0,      INFINITY, -INFINITY,
                                NAN,      DBL_MAX,   -DBL_MAX, DBL_MIN,
                                4.9e-324, -4.9e-324, 1e308,    2.2250738585072009e-308};
    uint64_t bits;
    switch (cts_rng_below(r, 3)) {
    case 0:
        return sp[cts_rng_below(r, sizeof sp / sizeof sp[0])];
    case 1: /* NaN with a payload */
        bits = 0x7ff0000000000001ull | (cts_rng_next(r) & 0x800fffffffffffffull);
        break;
    default:
        bits = cts_rng_next(r);
        break;
    }
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

static void gen_float(cts_rng *r, column *c)
{
    int kind = (int)cts_rng_below(r, 6), places = (int)cts_rng_below(r, 7);
    double base = gen_decimal(r, places);
    for (uint32_t i = 0; i < c->n; i++) {
        switch (kind) {
        case 0:
            c->f[i] = base;
            break;
        case 1:
            c->f[i] = gen_decimal(r, places);
            break;
        case 2: /* decimals with a few exceptions */
            c->f[i] = cts_rng_below(r, 50) ? gen_decimal(r, places) : gen_special(r);
            break;
        case 3:
            c->f[i] = (i & 1) ? DBL_MAX : -DBL_MAX;
            break;
        default:
            c->f[i] = gen_special(r);
            break;
        }
    }
}

static void gen_int(cts_rng *r, column *c)
{
    int kind = (int)cts_rng_below(r, 5);
    uint64_t acc = cts_rng_next(r);
    for (uint32_t i = 0; i < c->n; i++) {
        switch (kind) {
        case 0:
            c->u[i] = cts_rng_below(r, 200);
            break;
        case 1: /* counter */
            acc += cts_rng_below(r, 1000);
            c->u[i] = acc;
            break;
        case 2:
            c->u[i] = (i & 1) ? (uint64_t)INT64_MAX : (uint64_t)INT64_MIN;
            break;
        case 3:
            c->u[i] = acc;
            break;
        default:
            c->u[i] = cts_rng_next(r);
            break;
        }
    }
}

static void gen_str(cts_rng *r, column *c)
{
    static const char *words[] = {"ok", "fault", "", "maintenance", "fw-1.2.3", "lisbon"};
    bool unique = cts_rng_below(r, 3) == 0;
    size_t o = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        char *p = c->text + o;
        int len;
        if (unique)
            len = snprintf(p, 24, "v%llu", (unsigned long long)cts_rng_next(r));
        else
            len = snprintf(p, 24, "%s", words[cts_rng_below(r, 6)]);
        c->s[i].ptr = p;
        c->s[i].len = (uint32_t)len;
        o += (size_t)len;
    }
}

static void gen_column(cts_rng *r, column *c, cts_type type, uint32_t n)
{
    column_alloc(c, type, n);
    gen_ts(r, c);
    switch (type) {
    case CTS_TYPE_FLOAT:
        gen_float(r, c);
        break;
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        gen_int(r, c);
        break;
    case CTS_TYPE_BOOL:
        for (uint32_t i = 0; i < n; i++)
            c->b[i] = cts_rng_below(r, 4) ? (uint8_t)(i / 100 % 2) : (uint8_t)cts_rng_below(r, 2);
        break;
    case CTS_TYPE_STRING:
        gen_str(r, c);
        break;
    }
}

/* ---- naive statistics, independent of stats.c ---- */

static uint64_t value_bits(const column *c, uint32_t i)
{
    uint64_t b = 0;
    if (c->type == CTS_TYPE_FLOAT)
        memcpy(&b, &c->f[i], 8);
    else if (c->type == CTS_TYPE_INT || c->type == CTS_TYPE_UINT)
        b = c->u[i];
    else if (c->type == CTS_TYPE_BOOL)
        b = c->b[i];
    return b;
}

/* a < b in the column's numeric order */
static bool less(const column *c, uint64_t a, uint64_t b)
{
    if (c->type == CTS_TYPE_INT)
        return (int64_t)a < (int64_t)b;
    if (c->type == CTS_TYPE_UINT)
        return a < b;
    double x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    return x < y;
}

static bool is_nan_bits(const column *c, uint64_t v)
{
    double d;
    memcpy(&d, &v, 8);
    return c->type == CTS_TYPE_FLOAT && isnan(d);
}

static void check_stats(const column *c, const cts_stats *st)
{
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (uint32_t i = 0; i < c->n; i++) {
        mn = c->ts[i] < mn ? c->ts[i] : mn;
        mx = c->ts[i] > mx ? c->ts[i] : mx;
    }
    assert_int_equal(st->count, c->n);
    assert_int_equal(st->min_ts, mn);
    assert_int_equal(st->max_ts, mx);
    if (c->type == CTS_TYPE_STRING)
        return;
    uint32_t fi = c->n, li = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->ts[i] == mn && fi == c->n)
            fi = i;
        if (c->ts[i] == mx)
            li = i;
    }
    assert_true(st->first.u == value_bits(c, fi));
    assert_true(st->last.u == value_bits(c, li));
    if (c->type == CTS_TYPE_BOOL)
        return;
    /* min: smallest non-NaN value, earliest time among equals */
    int have = 0;
    uint64_t vmin = 0, vmax = 0;
    int64_t tmin = 0, tmax = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        uint64_t v = value_bits(c, i);
        if (is_nan_bits(c, v))
            continue;
        if (!have || less(c, v, vmin) || (!less(c, vmin, v) && c->ts[i] < tmin)) {
            vmin = v;
            tmin = c->ts[i];
        }
        if (!have || less(c, vmax, v) || (!less(c, v, vmax) && c->ts[i] < tmax)) {
            vmax = v;
            tmax = c->ts[i];
        }
        have = 1;
    }
    if (have) {
        /* -0.0 and 0.0 compare equal; the earliest one's bits are kept */
        assert_false(less(c, st->min.u, vmin) || less(c, vmin, st->min.u));
        assert_false(less(c, st->max.u, vmax) || less(c, vmax, st->max.u));
        assert_int_equal(st->min_time, tmin);
        assert_int_equal(st->max_time, tmax);
    } else {
        assert_true(isnan(st->min.f) && isnan(st->max.f));
    }
    if (c->type == CTS_TYPE_FLOAT) {
        double sum = 0;
        for (uint32_t i = 0; i < c->n; i++)
            sum += c->f[i];
        assert_true(memcmp(&sum, &st->sum.f, 8) == 0 || (isnan(sum) && isnan(st->sum.f)));
    } else {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < c->n; i++)
            sum += c->u[i];
        assert_true(sum == st->sum.u);
    }
}

/* ---- round trip ---- */

static int decode_into(const uint8_t *blk, size_t len, const column *c, column *out)
{
    column_alloc(out, c->type, c->n);
    cts_block_info info;
    int rc = cts_block_info_read(blk, len, &info);
    if (rc < 0)
        return rc;
    char *arena = malloc(info.str_bytes + 1);
    cts_block_output o = {
        .ts = out->ts, .cap_count = c->n, .str_arena = arena, .str_arena_cap = info.str_bytes};
    switch (c->type) {
    case CTS_TYPE_FLOAT:
        o.v.f = out->f;
        break;
    case CTS_TYPE_INT:
        o.v.i = (int64_t *)out->u;
        break;
    case CTS_TYPE_UINT:
        o.v.u = out->u;
        break;
    case CTS_TYPE_BOOL:
        o.v.b = out->b;
        break;
    case CTS_TYPE_STRING:
        o.v.s = out->s;
        break;
    }
    rc = cts_block_decode(blk, len, &o);
    if (rc >= 0 && c->type == CTS_TYPE_STRING) {
        /* keep the arena alive in out->text for comparison */
        free(out->text);
        out->text = arena;
    } else {
        free(arena);
    }
    return rc;
}

static void assert_same(const column *a, const column *b)
{
    assert_memory_equal(a->ts, b->ts, (size_t)a->n * 8);
    switch (a->type) {
    case CTS_TYPE_FLOAT:
        assert_memory_equal(a->f, b->f, (size_t)a->n * 8);
        break;
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        assert_memory_equal(a->u, b->u, (size_t)a->n * 8);
        break;
    case CTS_TYPE_BOOL:
        assert_memory_equal(a->b, b->b, a->n);
        break;
    case CTS_TYPE_STRING:
        for (uint32_t i = 0; i < a->n; i++) {
            assert_int_equal(a->s[i].len, b->s[i].len);
            if (a->s[i].len)
                assert_memory_equal(a->s[i].ptr, b->s[i].ptr, a->s[i].len);
        }
        break;
    }
}

static void round_trip_one(const column *c)
{
    cts_block_input in = input_of(c);
    size_t cap = cts_block_bound(&in);
    assert_true(cap > 0);
    uint8_t *blk = malloc(cap);
    cts_stats st;
    int len = cts_block_encode(&in, blk, cap, &st);
    assert_true(len > 0);
    assert_true((size_t)len <= cap);
    check_stats(c, &st);
    cts_block_info info;
    assert_int_equal(cts_block_info_read(blk, (size_t)len, &info), len);
    assert_int_equal(info.count, c->n);
    assert_int_equal(info.type, c->type);
    assert_true(info.stats.count == st.count && info.stats.min_ts == st.min_ts &&
                info.stats.max_ts == st.max_ts && info.stats.first.u == st.first.u &&
                info.stats.last.u == st.last.u && info.stats.sum.u == st.sum.u &&
                info.stats.min.u == st.min.u && info.stats.max.u == st.max.u &&
                info.stats.min_time == st.min_time && info.stats.max_time == st.max_time);
    column out;
    assert_int_equal(decode_into(blk, (size_t)len, c, &out), (int)c->n);
    assert_same(c, &out);
    column_free(&out);
    /* a smaller destination fails cleanly, never writes past it */
    uint8_t *small = malloc((size_t)len);
    assert_int_equal(cts_block_encode(&in, small, (size_t)len - 1, NULL), CTS_ENOSPACE);
    free(small);
    free(blk);
}

static const cts_type all_types[] = {CTS_TYPE_FLOAT, CTS_TYPE_INT, CTS_TYPE_UINT, CTS_TYPE_BOOL,
                                     CTS_TYPE_STRING};

static void random_round_trips(void **state)
{
    (void)state;
    cts_rng r = {7};
    static const uint32_t sizes[] = {1, 2, 3, 127, 128, 129, 1000, 1024};
    for (int iter = 0; iter < 3000; iter++) {
        column c;
        uint32_t n = iter % 4 ? sizes[cts_rng_below(&r, 8)] : 1 + (uint32_t)cts_rng_below(&r, 3000);
        gen_column(&r, &c, all_types[iter % 5], n);
        round_trip_one(&c);
        column_free(&c);
    }
}

static void maximum_block(void **state)
{
    (void)state;
    cts_rng r = {99};
    for (int t = 0; t < 5; t++) {
        column c;
        gen_column(&r, &c, all_types[t], CTS_BLOCK_MAX_COUNT);
        round_trip_one(&c);
        column_free(&c);
    }
}

static void invalid_inputs(void **state)
{
    (void)state;
    int64_t ts[2] = {1, 2};
    uint8_t b[2] = {0, 2};
    uint8_t dst[256];
    cts_block_input in = {.type = CTS_TYPE_BOOL, .count = 2, .ts = ts, .v.b = b};
    assert_int_equal(cts_block_encode(&in, dst, sizeof dst, NULL), CTS_EINVAL); /* bool 2 */
    assert_int_equal(cts_block_bound(&in), 0);
    in.count = 0;
    assert_int_equal(cts_block_encode(&in, dst, sizeof dst, NULL), CTS_EINVAL);
    in.count = CTS_BLOCK_MAX_COUNT + 1;
    assert_int_equal(cts_block_encode(&in, dst, sizeof dst, NULL), CTS_EINVAL);
    in.count = 1;
    in.type = (cts_type)9;
    assert_int_equal(cts_block_encode(&in, dst, sizeof dst, NULL), CTS_EINVAL);
    in.type = CTS_TYPE_BOOL;
    in.ts = NULL;
    assert_int_equal(cts_block_encode(&in, dst, sizeof dst, NULL), CTS_EINVAL);
    assert_int_equal(cts_block_encode(NULL, dst, sizeof dst, NULL), CTS_EINVAL);
}

static void output_too_small(void **state)
{
    (void)state;
    cts_rng r = {5};
    column c, out;
    gen_column(&r, &c, CTS_TYPE_STRING, 100);
    cts_block_input in = input_of(&c);
    size_t cap = cts_block_bound(&in);
    uint8_t *blk = malloc(cap);
    int len = cts_block_encode(&in, blk, cap, NULL);
    assert_true(len > 0);
    column_alloc(&out, c.type, c.n);
    cts_block_output o = {.ts = out.ts, .v.s = out.s, .cap_count = 99};
    assert_int_equal(cts_block_decode(blk, (size_t)len, &o), CTS_ENOSPACE);
    o.cap_count = 100; /* arena missing */
    cts_block_info info;
    assert_true(cts_block_info_read(blk, (size_t)len, &info) > 0);
    if (info.str_bytes)
        assert_int_equal(cts_block_decode(blk, (size_t)len, &o), CTS_ENOSPACE);
    column_free(&out);
    column_free(&c);
    free(blk);
}

/* Every flip of every byte and every truncation must fail, never crash. */
static void corruption_detected(void **state)
{
    (void)state;
    cts_rng r = {11};
    for (int t = 0; t < 5; t++) {
        column c;
        gen_column(&r, &c, all_types[t], 300);
        cts_block_input in = input_of(&c);
        size_t cap = cts_block_bound(&in);
        uint8_t *blk = malloc(cap);
        int len = cts_block_encode(&in, blk, cap, NULL);
        assert_true(len > 0);
        for (int i = 0; i < len; i++) {
            uint8_t *copy = malloc((size_t)len);
            memcpy(copy, blk, (size_t)len);
            copy[i] ^= (uint8_t)(1u << cts_rng_below(&r, 8));
            column out;
            int rc = decode_into(copy, (size_t)len, &c, &out);
            assert_true(rc == CTS_ECHECKSUM || rc == CTS_ECORRUPT || rc == CTS_EVERSION);
            column_free(&out);
            free(copy);
        }
        /* peek skips only the CRC: a flipped payload byte passes it (decode
         * then refuses), a truncation never does */
        cts_block_info pi;
        assert_int_equal(cts_block_info_peek(blk, (size_t)len, &pi), len);
        uint8_t *flip = malloc((size_t)len);
        memcpy(flip, blk, (size_t)len);
        flip[len - 5] ^= 0x10; /* the last payload byte, before the CRC */
        assert_int_equal(cts_block_info_peek(flip, (size_t)len, &pi), len);
        assert_int_equal(cts_block_info_read(flip, (size_t)len, &pi), CTS_ECHECKSUM);
        free(flip);
        for (int cut = 0; cut < len; cut++)
            assert_true(cts_block_info_peek(blk, (size_t)cut, &pi) < 0);
        for (int cut = 0; cut < len; cut++) {
            uint8_t *copy = malloc((size_t)cut + 1); /* exact size: ASan sees any overread */
            memcpy(copy, blk, (size_t)cut);
            column out;
            int rc = decode_into(copy, (size_t)cut, &c, &out);
            assert_true(rc == CTS_ECHECKSUM || rc == CTS_ECORRUPT);
            column_free(&out);
            free(copy);
        }
        column_free(&c);
        free(blk);
    }
}

/* Blocks are self-delimiting: trailing bytes after a block are not read. */
static void trailing_bytes_ignored(void **state)
{
    (void)state;
    cts_rng r = {3};
    column c, out;
    gen_column(&r, &c, CTS_TYPE_FLOAT, 50);
    cts_block_input in = input_of(&c);
    size_t cap = cts_block_bound(&in) + 16;
    uint8_t *blk = malloc(cap);
    int len = cts_block_encode(&in, blk, cap, NULL);
    memset(blk + len, 0xAB, 16);
    assert_int_equal(decode_into(blk, (size_t)len + 16, &c, &out), 50);
    assert_same(&c, &out);
    column_free(&out);
    column_free(&c);
    free(blk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_round_trips),  cmocka_unit_test(maximum_block),
        cmocka_unit_test(invalid_inputs),      cmocka_unit_test(output_too_small),
        cmocka_unit_test(corruption_detected), cmocka_unit_test(trailing_bytes_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
