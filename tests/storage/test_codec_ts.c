/*
 * test_codec_ts.c: the timestamp codec (cts_ts_*).
 *
 * Thousands of generated series (regular, jittered at ms or s precision,
 * backwards, with jumps of years, duplicates, INT64 extremes, random bits)
 * must decode bit-identically; the codec chosen must be the smallest of
 * CONST, PACKED and RAW; a PACKED stream must be byte-identical to one built
 * by a naive reference (Euclid's gcd and plain division); and hostile input
 * (every truncation, extensions, byte flips, bad codec ids) must be
 * rejected or decoded in bounds. Buffers handed to the codec are heap blocks
 * of exactly their size, so ASan sees any overrun.
 */
#include "cts_test.h"

#include "storage_int.h"

#define MAX_N 65536u
#define NS_PER_MS 1000000ll
#define NS_PER_S 1000000000ll
#define NS_PER_YEAR (365ll * 86400 * NS_PER_S)

/* ---- generators (all arithmetic wraps, through uint64) ---- */

enum ts_kind {
    TS_REGULAR,   /* fixed interval, any sign or size */
    TS_JITTER_MS, /* 10 s +- 1 s at ms precision */
    TS_JITTER_S,  /* 60 s +- 5 s at s precision */
    TS_BACKWARDS, /* decreasing with jitter */
    TS_JUMPS,     /* regular with jumps of years either way */
    TS_EXTREMES,  /* INT64_MIN, INT64_MAX and their neighbours */
    TS_DUPLICATES,
    TS_RANDOM,
    TS_GAPPY, /* regular 60 s with a few missing samples */
    TS_COUNT,
};

static int64_t add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t sub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int64_t random_start(cts_rng *r)
{
    switch (cts_rng_below(r, 4)) {
    case 0:
        return 1700000000ll * NS_PER_S + (int64_t)cts_rng_below(r, 1000000) * NS_PER_MS;
    case 1:
        return (int64_t)cts_rng_next(r);
    case 2:
        return INT64_MAX - (int64_t)cts_rng_below(r, 1000);
    default:
        return INT64_MIN + (int64_t)cts_rng_below(r, 1000);
    }
}

static int64_t ts_value(cts_rng *r, enum ts_kind kind, int64_t prev, int64_t step, uint32_t i)
{
    static const int64_t extremes[] = {INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1, 0, -1};
    switch (kind) {
    case TS_REGULAR:
        return add(prev, step);
    case TS_JITTER_MS:
        return add(prev, 10 * NS_PER_S + ((int64_t)cts_rng_below(r, 2001) - 1000) * NS_PER_MS);
    case TS_JITTER_S:
        return add(prev, (55 + (int64_t)cts_rng_below(r, 11)) * NS_PER_S);
    case TS_BACKWARDS:
        return add(prev, -(int64_t)cts_rng_below(r, 5000) * NS_PER_MS);
    case TS_JUMPS:
        if (cts_rng_below(r, 50) == 0)
            return add(prev, ((int64_t)cts_rng_below(r, 400) - 200) * NS_PER_YEAR);
        return add(prev, step);
    case TS_EXTREMES:
        return extremes[cts_rng_below(r, sizeof extremes / sizeof extremes[0])];
    case TS_DUPLICATES:
        return cts_rng_below(r, 3) ? prev : add(prev, (int64_t)cts_rng_below(r, 3) * NS_PER_S);
    case TS_GAPPY:
        return add(prev, (cts_rng_below(r, 20) ? 60 : 120) * NS_PER_S);
    default:
        (void)i;
        return (int64_t)cts_rng_next(r);
    }
}

static void gen_series(cts_rng *r, enum ts_kind kind, int64_t *ts, uint32_t n)
{
    static const int64_t steps[] = {0,          1,         -1,       NS_PER_S, 60 * NS_PER_S,
                                    -NS_PER_MS, INT64_MAX, INT64_MIN};
    int64_t step = cts_rng_below(r, 2) ? steps[cts_rng_below(r, sizeof steps / sizeof steps[0])]
                                       : (int64_t)cts_rng_next(r);
    if (kind == TS_JUMPS)
        step = 10 * NS_PER_S;
    int64_t prev = random_start(r);
    for (uint32_t i = 0; i < n; i++) {
        ts[i] = i == 0 ? prev : ts_value(r, kind, prev, step, i);
        prev = ts[i];
    }
}

static uint32_t gen_length(cts_rng *r)
{
    static const uint32_t special[] = {0, 1, 2, 3, 4, 127, 128, 129, 130, 1024};
    if (cts_rng_below(r, 3) == 0)
        return special[cts_rng_below(r, sizeof special / sizeof special[0])];
    return (uint32_t)cts_rng_below(r, 1200);
}

/* ---- reference ---- */

static uint64_t magnitude(int64_t d)
{
    return d < 0 ? -(uint64_t)d : (uint64_t)d;
}

static uint64_t ref_gcd(const int64_t *ts, uint32_t n)
{
    uint64_t g = 0;
    for (uint32_t i = 1; i < n; i++) {
        uint64_t a = magnitude(sub(ts[i], ts[0])), b = g;
        while (b) {
            uint64_t t = a % b;
            a = b;
            b = t;
        }
        g = a;
    }
    return g;
}

static int ref_regular(const int64_t *ts, uint32_t n)
{
    for (uint32_t i = 2; i < n; i++)
        if (sub(ts[i], ts[i - 1]) != sub(ts[1], ts[0]))
            return 0;
    return n >= 1;
}

/* The PACKED stream built naively; returns its length. */
static size_t ref_packed(const int64_t *ts, uint32_t n, uint8_t *dst, size_t cap)
{
    uint64_t g = ref_gcd(ts, n);
    if (g == 0)
        g = 1;
    uint64_t *s = malloc(n * sizeof *s);
    assert_non_null(s);
    for (uint32_t i = 0; i < n; i++) {
        int64_t d = sub(ts[i], ts[0]);
        uint64_t q = magnitude(d) / g;
        s[i] = d < 0 ? -q : q;
    }
    size_t len = cts_varint_put(dst, cts_zigzag(ts[0]));
    len += cts_varint_put(dst + len, g);
    int rc = cts_ints_encode(s, n, dst + len, cap - len);
    assert_true(rc > 0);
    free(s);
    return len + (size_t)rc;
}

/* ---- helpers ---- */

static uint8_t *exact_copy(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    if (len)
        memcpy(p, src, len);
    return p;
}

static int decode_exact(uint8_t codec, const uint8_t *src, size_t len, uint32_t n)
{
    uint8_t *copy = exact_copy(src, len);
    int64_t *out = malloc((n ? n : 1) * sizeof *out);
    assert_non_null(out);
    int rc = cts_ts_decode(codec, copy, len, out, n);
    free(out);
    free(copy);
    return rc;
}

/* Encodes, checks the choice of codec and the bytes against the reference,
 * decodes; returns the length, bytes left in enc and *codec. */
static size_t check_roundtrip(const int64_t *ts, uint32_t n, uint8_t *enc, uint8_t *ref,
                              size_t ref_cap, uint8_t *codec)
{
    size_t bound = cts_ts_bound(n);
    int len = cts_ts_encode(ts, n, enc, bound, codec);
    assert_true(len >= 0 && (size_t)len <= bound);
    size_t raw = (size_t)n * 8;
    if (*codec == CTS_CODEC_TS_CONST) {
        assert_true(ref_regular(ts, n));
        assert_true((size_t)len <= 20 && (size_t)len <= raw);
    } else if (ref_regular(ts, n)) {
        assert_int_equal(*codec, CTS_CODEC_RAW);
        assert_true(n <= 2);
    } else if (n > 0) {
        size_t rl = ref_packed(ts, n, ref, ref_cap);
        if (rl < raw) {
            assert_int_equal(*codec, CTS_CODEC_TS_PACKED);
            assert_int_equal(len, rl);
            assert_memory_equal(enc, ref, rl);
        } else {
            assert_int_equal(*codec, CTS_CODEC_RAW);
        }
    }
    if (*codec == CTS_CODEC_RAW)
        assert_int_equal(len, raw);
    uint8_t *copy = exact_copy(enc, (size_t)len);
    int64_t *out = malloc((n ? n : 1) * sizeof *out);
    assert_non_null(out);
    assert_int_equal(cts_ts_decode(*codec, copy, (size_t)len, out, n), 0);
    if (n)
        assert_memory_equal(out, ts, n * sizeof *ts);
    free(out);
    free(copy);
    return (size_t)len;
}

/* ---- tests ---- */

static void test_roundtrip_property(void **state)
{
    (void)state;
    cts_rng r = {0xabc};
    int64_t *ts = malloc(1200 * sizeof *ts);
    size_t cap = cts_ints_bound(1200) + 64;
    uint8_t *enc = malloc(cap), *ref = malloc(cap);
    assert_true(ts && enc && ref);
    int seen[256] = {0};
    for (int iter = 0; iter < 5000; iter++) {
        uint32_t n = gen_length(&r);
        gen_series(&r, (enum ts_kind)(iter % TS_COUNT), ts, n);
        uint8_t codec;
        check_roundtrip(ts, n, enc, ref, cap, &codec);
        seen[codec]++;
    }
    assert_true(seen[CTS_CODEC_TS_CONST] && seen[CTS_CODEC_TS_PACKED] && seen[CTS_CODEC_RAW]);
    free(ref);
    free(enc);
    free(ts);
}

static void test_full_block(void **state)
{
    (void)state;
    cts_rng r = {77};
    int64_t *ts = malloc(MAX_N * sizeof *ts);
    size_t cap = cts_ints_bound(MAX_N) + 64;
    uint8_t *enc = malloc(cap), *ref = malloc(cap);
    assert_true(ts && enc && ref);
    for (int kind = 0; kind < TS_COUNT; kind++) {
        uint8_t codec;
        gen_series(&r, (enum ts_kind)kind, ts, MAX_N);
        check_roundtrip(ts, MAX_N, enc, ref, cap, &codec);
    }
    free(ref);
    free(enc);
    free(ts);
}

/* A regular series costs at most 24 bytes whatever n, start or interval. */
static void test_constant_is_tiny(void **state)
{
    (void)state;
    cts_rng r = {3};
    int64_t *ts = malloc(MAX_N * sizeof *ts);
    uint8_t enc[64];
    assert_non_null(ts);
    static const uint32_t lengths[] = {3, 4, 100, 1024, MAX_N};
    for (int iter = 0; iter < 200; iter++) {
        uint32_t n = lengths[iter % 5];
        int64_t step = iter % 2 ? 60 * NS_PER_S : (int64_t)cts_rng_next(&r);
        ts[0] = random_start(&r);
        for (uint32_t i = 1; i < n; i++)
            ts[i] = add(ts[i - 1], step);
        uint8_t codec;
        int len = cts_ts_encode(ts, n, enc, sizeof enc, &codec);
        assert_int_equal(codec, CTS_CODEC_TS_CONST);
        assert_true(len > 0 && len <= 24);
        int64_t *out = malloc(n * sizeof *out);
        assert_non_null(out);
        assert_int_equal(cts_ts_decode(codec, enc, (size_t)len, out, n), 0);
        assert_memory_equal(out, ts, n * sizeof *ts);
        free(out);
    }
    free(ts);
}

/* ms-precision jitter is packed with a divisor that is a multiple of 10^6,
 * and costs far less than its raw 8 bytes. */
static void test_divisor_found(void **state)
{
    (void)state;
    cts_rng r = {11};
    int64_t ts[1024];
    uint8_t enc[8192];
    for (int iter = 0; iter < 50; iter++) {
        gen_series(&r, iter % 2 ? TS_JITTER_MS : TS_JITTER_S, ts, 1024);
        uint8_t codec;
        int len = cts_ts_encode(ts, 1024, enc, sizeof enc, &codec);
        assert_int_equal(codec, CTS_CODEC_TS_PACKED);
        assert_true(len < 1024 * 2);
        uint64_t zz = 0, g = 0;
        size_t p = cts_varint_get(enc, (size_t)len, &zz);
        assert_true(p > 0 && cts_varint_get(enc + p, (size_t)len - p, &g) > 0);
        assert_int_equal(g % (iter % 2 ? NS_PER_MS : NS_PER_S), 0);
        assert_int_equal(g, ref_gcd(ts, 1024));
    }
}

static void test_enospace_every_cap(void **state)
{
    (void)state;
    cts_rng r = {5};
    int64_t ts[200];
    uint8_t enc[2048];
    for (int iter = 0; iter < 200; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, 200);
        gen_series(&r, (enum ts_kind)(iter % TS_COUNT), ts, n);
        uint8_t codec, codec2;
        int len = cts_ts_encode(ts, n, enc, sizeof enc, &codec);
        assert_true(len >= 0);
        for (size_t cap = 0; cap < (size_t)len; cap++) {
            uint8_t *dst = malloc(cap ? cap : 1);
            assert_non_null(dst);
            assert_int_equal(cts_ts_encode(ts, n, dst, cap, &codec2), CTS_ENOSPACE);
            free(dst);
        }
        uint8_t *dst = malloc(len ? (size_t)len : 1);
        assert_non_null(dst);
        assert_int_equal(cts_ts_encode(ts, n, dst, (size_t)len, &codec2), len);
        assert_int_equal(codec2, codec);
        if (len)
            assert_memory_equal(dst, enc, (size_t)len);
        free(dst);
    }
}

static void test_invalid_and_enomem(void **state)
{
    (void)state;
    int64_t ts[4] = {0, 5, 7, 100};
    uint8_t dst[64], codec = 0xee;
    assert_int_equal(cts_ts_encode(ts, MAX_N + 1, dst, sizeof dst, &codec), CTS_EINVAL);
    assert_int_equal(codec, 0xee);
    cts_alloc_fail_after(0);
    assert_int_equal(cts_ts_encode(ts, 4, dst, sizeof dst, &codec), CTS_ENOMEM);
    cts_alloc_fail_after(-1);
    assert_int_equal(codec, 0xee);
    assert_true(cts_ts_encode(ts, 4, dst, sizeof dst, &codec) > 0);
    /* n = 0 is an empty RAW section */
    assert_int_equal(cts_ts_encode(NULL, 0, NULL, 0, &codec), 0);
    assert_int_equal(codec, CTS_CODEC_RAW);
    assert_int_equal(cts_ts_decode(CTS_CODEC_RAW, NULL, 0, NULL, 0), 0);
}

static void test_truncation_and_flips(void **state)
{
    (void)state;
    cts_rng r = {0xbeef};
    int64_t ts[600];
    uint8_t enc[8192];
    for (int iter = 0; iter < 300; iter++) {
        uint32_t n = 1 + (uint32_t)cts_rng_below(&r, 600);
        gen_series(&r, (enum ts_kind)(iter % TS_COUNT), ts, n);
        uint8_t codec;
        int len = cts_ts_encode(ts, n, enc, sizeof enc - 1, &codec);
        assert_true(len > 0);
        for (size_t cut = 0; cut < (size_t)len; cut++)
            assert_int_equal(decode_exact(codec, enc, cut, n), CTS_ECORRUPT);
        enc[len] = (uint8_t)cts_rng_next(&r);
        assert_int_equal(decode_exact(codec, enc, (size_t)len + 1, n), CTS_ECORRUPT);
        for (int f = 0; f < 30; f++) {
            size_t at = cts_rng_below(&r, (uint64_t)len);
            uint8_t saved = enc[at];
            enc[at] ^= (uint8_t)(1 + cts_rng_below(&r, 255));
            int rc = decode_exact(codec, enc, (size_t)len, n);
            assert_true(rc == 0 || rc == CTS_ECORRUPT);
            enc[at] = saved;
        }
        for (unsigned c = 0; c < 256; c += 1 + (unsigned)cts_rng_below(&r, 16)) {
            int rc = decode_exact((uint8_t)c, enc, (size_t)len, n);
            assert_true(rc == 0 || rc == CTS_ECORRUPT);
        }
    }
}

static void test_hostile_streams(void **state)
{
    (void)state;
    int64_t out[4];
    /* unknown codecs, and the LZ4 flag, which the block layer strips */
    const uint8_t any[] = {0, 0};
    assert_int_equal(cts_ts_decode(CTS_CODEC_INTS, any, 2, out, 1), CTS_ECORRUPT);
    assert_int_equal(cts_ts_decode(CTS_CODEC_TS_CONST | CTS_CODEC_LZ4, any, 2, out, 1),
                     CTS_ECORRUPT);
    assert_int_equal(cts_ts_decode(CTS_CODEC_TS_CONST, any, 2, out, 4), 0);
    assert_int_equal(out[3], 0);
    /* CONST: empty, one varint, overlong varint */
    assert_int_equal(decode_exact(CTS_CODEC_TS_CONST, any, 0, 1), CTS_ECORRUPT);
    assert_int_equal(decode_exact(CTS_CODEC_TS_CONST, any, 1, 1), CTS_ECORRUPT);
    const uint8_t overlong[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0};
    assert_int_equal(decode_exact(CTS_CODEC_TS_CONST, overlong, sizeof overlong, 1), CTS_ECORRUPT);
    /* PACKED: divisor 0; then divisor 3 with a valid ints stream of [0, 5]
     * (zz v0, zz d0, mode map: DELTA, width 0, zz base 5) */
    const uint8_t zero_div[] = {2, 0, 0, 10, 1, 0, 10};
    assert_int_equal(decode_exact(CTS_CODEC_TS_PACKED, zero_div, sizeof zero_div, 2), CTS_ECORRUPT);
    const uint8_t ok[] = {2, 3, 0, 10, 1, 0, 10};
    assert_int_equal(cts_ts_decode(CTS_CODEC_TS_PACKED, ok, sizeof ok, out, 2), 0);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 1 + 5 * 3);
    /* RAW: length must be exactly 8n */
    const uint8_t raw[16] = {1};
    assert_int_equal(decode_exact(CTS_CODEC_RAW, raw, 16, 2), 0);
    assert_int_equal(decode_exact(CTS_CODEC_RAW, raw, 15, 2), CTS_ECORRUPT);
    assert_int_equal(decode_exact(CTS_CODEC_RAW, raw, 16, 1), CTS_ECORRUPT);
}

/* Hand-picked series whose exactness depends on wrapping arithmetic. */
static void test_wrapping_edges(void **state)
{
    (void)state;
    static const int64_t cases[][5] = {
        {INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, 0}, {0, INT64_MIN, 0, INT64_MIN, 0},
        {INT64_MAX, INT64_MIN, INT64_MAX - 1, 7, -7},    {-1, INT64_MAX, 1, INT64_MIN, 2},
        {1000000, 2000000, 1000000, INT64_MIN, 3000000}, {INT64_MIN, 0, INT64_MIN, 0, INT64_MAX},
    };
    uint8_t enc[256], ref[256];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (uint32_t n = 1; n <= 5; n++) {
            uint8_t codec;
            check_roundtrip(cases[c], n, enc, ref, sizeof ref, &codec);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_property),   cmocka_unit_test(test_full_block),
        cmocka_unit_test(test_constant_is_tiny),     cmocka_unit_test(test_divisor_found),
        cmocka_unit_test(test_enospace_every_cap),   cmocka_unit_test(test_invalid_and_enomem),
        cmocka_unit_test(test_truncation_and_flips), cmocka_unit_test(test_hostile_streams),
        cmocka_unit_test(test_wrapping_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
