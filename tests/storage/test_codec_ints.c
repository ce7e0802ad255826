/*
 * test_codec_ints.c: the integer-sequence codec (cts_ints_*) and the int
 * column codec (cts_int_*).
 *
 * The central property: for thousands of adversarial sequences, the
 * encoder's output is byte-identical to a naive reference encoder (one bit
 * at a time, written straight from the format table in codec_ints.c) run
 * with the cheapest order, and decodes back exactly. Then every truncation,
 * an extra byte, single-byte flips and random garbage must be rejected or
 * decoded without touching memory outside the buffers: every buffer handed
 * to the codec is a heap block of exactly its size, so ASan sees any
 * overrun.
 */
#include "cts_test.h"

#include "storage_int.h"

#define MAX_N 65536u

/* ---- reference encoder ---- */

typedef struct bitbuf {
    uint8_t *p;
    size_t len; /* bytes */
    unsigned bit;
} bitbuf;

static void ref_byte(bitbuf *b, uint8_t x)
{
    b->p[b->len++] = x;
}

static void ref_varint(bitbuf *b, uint64_t x)
{
    do {
        uint8_t byte = x & 0x7f;
        x >>= 7;
        ref_byte(b, (uint8_t)(byte | (x ? 0x80 : 0)));
    } while (x);
}

static uint64_t ref_residual(const uint64_t *v, uint32_t j, unsigned order)
{
    if (order == 0)
        return v[j];
    if (order == 1)
        return v[j + 1] - v[j];
    return (v[j + 2] - v[j + 1]) - (v[j + 1] - v[j]);
}

/* Packs one miniblock's bits: the bitbuf's bit cursor restarts per block. */
static void ref_miniblock(bitbuf *b, const uint64_t *v, uint32_t j, uint32_t m, unsigned order)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t i = 0; i < m; i++) {
        int64_t r = (int64_t)ref_residual(v, j + i, order);
        if (r < lo)
            lo = r;
        if (r > hi)
            hi = r;
    }
    uint64_t range = (uint64_t)hi - (uint64_t)lo;
    unsigned w = 0;
    while (w < 64 && (range >> w) != 0)
        w++;
    ref_byte(b, (uint8_t)w);
    ref_varint(b, cts_zigzag(lo));
    uint64_t bits = 0; /* continuous bit stream within the miniblock */
    for (uint32_t i = 0; i < m; i++) {
        uint64_t r = ref_residual(v, j + i, order) - (uint64_t)lo;
        for (unsigned t = 0; t < w; t++, bits++) {
            if (bits % 8 == 0)
                ref_byte(b, 0);
            if ((r >> t) & 1)
                b->p[b->len - 1] |= (uint8_t)(1u << (bits % 8));
        }
    }
}

static size_t ref_encode(const uint64_t *v, uint32_t n, unsigned order, uint8_t *dst)
{
    bitbuf b = {dst, 0, 0};
    ref_byte(&b, (uint8_t)order);
    uint32_t k = n < order ? n : order;
    if (k >= 1)
        ref_varint(&b, cts_zigzag((int64_t)v[0]));
    if (k >= 2)
        ref_varint(&b, cts_zigzag((int64_t)(v[1] - v[0])));
    for (uint32_t j = 0; j < n - k; j += 128)
        ref_miniblock(&b, v, j, n - k - j < 128 ? n - k - j : 128, order);
    return b.len;
}

/* ---- generators ---- */

enum gen_kind {
    GEN_WIDTH,       /* random values of one random width over a random base */
    GEN_CONST,       /* one value repeated */
    GEN_COUNTER,     /* monotonic, small random increments */
    GEN_RANDOM64,    /* uniform 64-bit */
    GEN_EXTREMES,    /* alternating INT64_MIN / INT64_MAX */
    GEN_LINEAR,      /* arithmetic progression, any step, wrapping */
    GEN_JITTER,      /* linear plus small noise (jittered timestamps) */
    GEN_WALK,        /* random walk around a random level (temperatures) */
    GEN_SEGMENTS,    /* a different generator every few dozen values */
    GEN_EDGE_VALUES, /* drawn from 0, +-1, INT64_MIN/MAX, UINT64_MAX, ... */
    GEN_COUNT,
};

static const uint64_t edge_values[] = {
    0,
    1,
    2,
    UINT64_MAX,
    UINT64_MAX - 1,
    (uint64_t)INT64_MAX,
    (uint64_t)INT64_MIN,
    (uint64_t)INT64_MAX - 1,
    (uint64_t)INT64_MIN + 1,
    127,
    128,
    1ull << 56,
    (1ull << 57) - 1,
};

static uint64_t rng_width(cts_rng *r, unsigned w)
{
    return w == 0 ? 0 : w == 64 ? cts_rng_next(r) : cts_rng_next(r) >> (64 - w);
}

static void gen_fill(cts_rng *r, enum gen_kind kind, uint64_t *v, uint32_t n)
{
    uint64_t base = cts_rng_next(r), step = rng_width(r, (unsigned)cts_rng_below(r, 65));
    unsigned w = (unsigned)cts_rng_below(r, 65);
    uint64_t acc = base;
    for (uint32_t i = 0; i < n; i++) {
        switch (kind) {
        case GEN_WIDTH:
            v[i] = base + rng_width(r, w);
            break;
        case GEN_CONST:
            v[i] = base;
            break;
        case GEN_COUNTER:
            acc += rng_width(r, w % 17);
            v[i] = acc;
            break;
        case GEN_EXTREMES:
            v[i] = (i + (uint32_t)(base & 1)) % 2 ? (uint64_t)INT64_MIN : (uint64_t)INT64_MAX;
            break;
        case GEN_LINEAR:
            v[i] = base + step * i;
            break;
        case GEN_JITTER:
            v[i] = base + step * i + rng_width(r, w % 20) - (w % 20 ? 1ull << (w % 20 - 1) : 0);
            break;
        case GEN_WALK:
            acc += (uint64_t)((int64_t)cts_rng_below(r, 7) - 3);
            v[i] = acc;
            break;
        case GEN_EDGE_VALUES:
            v[i] = edge_values[cts_rng_below(r, sizeof edge_values / sizeof edge_values[0])];
            break;
        default:
            v[i] = cts_rng_next(r);
            break;
        }
    }
}

static void gen_sequence(cts_rng *r, enum gen_kind kind, uint64_t *v, uint32_t n)
{
    if (kind != GEN_SEGMENTS) {
        gen_fill(r, kind, v, n);
        return;
    }
    for (uint32_t i = 0; i < n;) {
        uint32_t m = 1 + (uint32_t)cts_rng_below(r, 300);
        if (m > n - i)
            m = n - i;
        gen_fill(r, (enum gen_kind)cts_rng_below(r, GEN_SEGMENTS), v + i, m);
        i += m;
    }
}

static uint32_t gen_length(cts_rng *r)
{
    static const uint32_t special[] = {0, 1, 2, 3, 127, 128, 129, 130, 255, 256, 257, 1024};
    uint64_t pick = cts_rng_below(r, 4);
    if (pick == 0)
        return special[cts_rng_below(r, sizeof special / sizeof special[0])];
    if (pick == 1)
        return (uint32_t)cts_rng_below(r, 8);
    return (uint32_t)cts_rng_below(r, 1500);
}

/* ---- helpers ---- */

/* A heap copy of exactly len bytes (at least one, so malloc never returns
 * NULL for 0), so ASan flags any read past the end. */
static uint8_t *exact_copy(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    if (len)
        memcpy(p, src, len);
    return p;
}

/* Decodes plainly and through the affine entry point, which must agree on
 * success or failure. */
static int decode_exact(const uint8_t *src, size_t len, uint32_t n)
{
    uint8_t *copy = exact_copy(src, len);
    uint64_t *out = malloc((n ? n : 1) * sizeof *out);
    assert_non_null(out);
    int rc = cts_ints_decode(copy, len, out, n);
    assert_int_equal(cts_ints_decode_affine(copy, len, out, n, 12345, 678), rc);
    free(out);
    free(copy);
    return rc;
}

/* Encodes v, checks it against the reference and the bound, decodes it
 * back; returns the encoded length and leaves the bytes in enc. */
static size_t check_roundtrip(const uint64_t *v, uint32_t n, uint8_t *enc, uint8_t *ref)
{
    size_t bound = cts_ints_bound(n);
    int len = cts_ints_encode(v, n, enc, bound);
    assert_true(len > 0);
    assert_true((size_t)len <= bound);
    /* the cheapest order wins, the lowest on ties */
    size_t best = SIZE_MAX;
    unsigned best_order = 0;
    for (unsigned order = 0; order <= 2; order++) {
        size_t rl = ref_encode(v, n, order, ref);
        if (rl < best) {
            best = rl;
            best_order = order;
        }
    }
    assert_int_equal(ref_encode(v, n, best_order, ref), len);
    assert_memory_equal(enc, ref, (size_t)len);
    uint8_t *copy = exact_copy(enc, (size_t)len);
    uint64_t *out = malloc((n ? n : 1) * sizeof *out);
    assert_non_null(out);
    assert_int_equal(cts_ints_decode(copy, (size_t)len, out, n), 0);
    if (n)
        assert_memory_equal(out, v, n * sizeof *v);
    /* the fused affine decode equals decode-then-map, for any order */
    uint64_t offset = 0x9E3779B97F4A7C15ull * (n + 1), scale = n % 3 ? (uint64_t)n * 1000003 : 1;
    if (n > 0 && n % 5 == 0)
        scale = v[0];
    assert_int_equal(cts_ints_decode_affine(copy, (size_t)len, out, n, offset, scale), 0);
    for (uint32_t i = 0; i < n; i++)
        assert_true(out[i] == offset + v[i] * scale);
    free(out);
    free(copy);
    return (size_t)len;
}

/* ---- tests ---- */

static void test_roundtrip_property(void **state)
{
    (void)state;
    cts_rng r = {0x1234};
    uint64_t *v = malloc(2048 * sizeof *v);
    uint8_t *enc = malloc(cts_ints_bound(2048)), *ref = malloc(cts_ints_bound(2048));
    assert_true(v && enc && ref);
    for (int iter = 0; iter < 4000; iter++) {
        enum gen_kind kind = (enum gen_kind)(iter % GEN_COUNT);
        uint32_t n = gen_length(&r);
        gen_sequence(&r, kind, v, n);
        check_roundtrip(v, n, enc, ref);
    }
    free(ref);
    free(enc);
    free(v);
}

static void test_full_block(void **state)
{
    (void)state;
    cts_rng r = {99};
    uint64_t *v = malloc(MAX_N * sizeof *v);
    uint8_t *enc = malloc(cts_ints_bound(MAX_N)), *ref = malloc(cts_ints_bound(MAX_N));
    assert_true(v && enc && ref);
    for (int kind = 0; kind < GEN_COUNT; kind++) {
        gen_sequence(&r, (enum gen_kind)kind, v, MAX_N);
        check_roundtrip(v, MAX_N, enc, ref);
    }
    free(ref);
    free(enc);
    free(v);
}

/* Each width 0..64 in each position of a miniblock, so every specialised
 * unpacker and the straddling loads above 56 bits run on known data. */
static void test_every_width(void **state)
{
    (void)state;
    cts_rng r = {7};
    uint64_t v[300];
    uint8_t enc[4096], ref[4096];
    for (unsigned w = 0; w <= 64; w++) {
        for (uint32_t n = 126; n <= 300; n += 29) {
            for (uint32_t i = 0; i < n; i++)
                v[i] = rng_width(&r, w) | (i % 2 == 0 && w ? 1ull << (w - 1) : 0);
            check_roundtrip(v, n, enc, ref);
        }
    }
}

static void test_regular_is_cheap(void **state)
{
    (void)state;
    uint64_t *v = malloc(MAX_N * sizeof *v);
    uint8_t *enc = malloc(cts_ints_bound(MAX_N));
    assert_true(v && enc);
    for (uint32_t i = 0; i < MAX_N; i++)
        v[i] = 1700000000ull + 60ull * i;
    int len = cts_ints_encode(v, MAX_N, enc, cts_ints_bound(MAX_N));
    /* width 0 everywhere: two bytes per 128 values plus headers; a constant
     * delta ties with delta-of-delta, and the lower order wins the tie */
    assert_true(len > 0 && (size_t)len <= 2 * MAX_N / 128 + 16);
    assert_int_equal(enc[0], 1);
    for (uint32_t i = 0; i < MAX_N; i++)
        v[i] = 42;
    len = cts_ints_encode(v, MAX_N, enc, cts_ints_bound(MAX_N));
    assert_true(len > 0 && (size_t)len <= 2 * MAX_N / 128 + 16);
    assert_int_equal(enc[0], 0);
    free(enc);
    free(v);
}

static void test_enospace_every_cap(void **state)
{
    (void)state;
    cts_rng r = {5};
    uint64_t v[300];
    uint8_t enc[4096];
    for (int iter = 0; iter < 150; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, 300);
        gen_sequence(&r, (enum gen_kind)(iter % GEN_COUNT), v, n);
        int len = cts_ints_encode(v, n, enc, sizeof enc);
        assert_true(len > 0);
        for (size_t cap = 0; cap < (size_t)len; cap++) {
            uint8_t *dst = malloc(cap ? cap : 1);
            assert_non_null(dst);
            assert_int_equal(cts_ints_encode(v, n, dst, cap), CTS_ENOSPACE);
            free(dst);
        }
        uint8_t *dst = malloc((size_t)len);
        assert_non_null(dst);
        assert_int_equal(cts_ints_encode(v, n, dst, (size_t)len), len);
        assert_memory_equal(dst, enc, (size_t)len);
        free(dst);
    }
}

static void test_too_many_values(void **state)
{
    (void)state;
    uint8_t dst[16];
    uint64_t v[1] = {0};
    assert_int_equal(cts_ints_encode(v, MAX_N + 1, dst, sizeof dst), CTS_EINVAL);
    uint8_t codec = 0xff;
    assert_int_equal(cts_int_encode(v, MAX_N + 1, dst, sizeof dst, &codec), CTS_EINVAL);
    assert_int_equal(codec, 0xff);
}

/* Every strict prefix and every one-byte extension is rejected; single-byte
 * flips decode or fail but stay in bounds. */
static void test_truncation_and_flips(void **state)
{
    (void)state;
    cts_rng r = {0xfeed};
    uint64_t v[700];
    uint8_t enc[8192];
    for (int iter = 0; iter < 250; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, 700);
        gen_sequence(&r, (enum gen_kind)(iter % GEN_COUNT), v, n);
        int len = cts_ints_encode(v, n, enc, sizeof enc - 1);
        assert_true(len > 0);
        for (size_t cut = 0; cut < (size_t)len; cut++)
            assert_int_equal(decode_exact(enc, cut, n), CTS_ECORRUPT);
        enc[len] = (uint8_t)cts_rng_next(&r);
        assert_int_equal(decode_exact(enc, (size_t)len + 1, n), CTS_ECORRUPT);
        for (int f = 0; f < 40; f++) {
            size_t at = cts_rng_below(&r, (uint64_t)len);
            uint8_t saved = enc[at];
            enc[at] ^= (uint8_t)(1 + cts_rng_below(&r, 255));
            int rc = decode_exact(enc, (size_t)len, n);
            assert_true(rc == 0 || rc == CTS_ECORRUPT);
            rc = decode_exact(enc, (size_t)len, n + (uint32_t)cts_rng_below(&r, 200));
            assert_true(rc == 0 || rc == CTS_ECORRUPT);
            enc[at] = saved;
        }
        if (n > 0) {
            int rc = decode_exact(enc, (size_t)len, n - 1);
            assert_true(rc == 0 || rc == CTS_ECORRUPT);
        }
    }
}

static void test_random_garbage(void **state)
{
    (void)state;
    cts_rng r = {31337};
    uint8_t buf[2200];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = cts_rng_below(&r, iter < 10000 ? 24 : sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)cts_rng_next(&r);
        /* Plausible headers reach the miniblock parser more often. */
        if (len > 0)
            buf[0] = (uint8_t)cts_rng_below(&r, 4);
        if (len > 2 && iter % 2)
            buf[2] = (uint8_t)cts_rng_below(&r, 70);
        uint32_t n = (uint32_t)cts_rng_below(&r, 600);
        int rc = decode_exact(buf, len, n);
        assert_true(rc == 0 || rc == CTS_ECORRUPT);
    }
}

static void test_hostile_streams(void **state)
{
    (void)state;
    /* mode byte out of range */
    const uint8_t bad_mode[] = {3, 0, 0};
    assert_int_equal(decode_exact(bad_mode, sizeof bad_mode, 1), CTS_ECORRUPT);
    assert_int_equal(decode_exact(bad_mode, 0, 0), CTS_ECORRUPT);
    /* n = 0: exactly the mode byte */
    const uint8_t empty[] = {1};
    assert_int_equal(decode_exact(empty, 1, 0), 0);
    /* width 65 */
    const uint8_t wide[] = {0, 65, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_int_equal(decode_exact(wide, sizeof wide, 1), CTS_ECORRUPT);
    /* width 64 is fine: one value, base 0 */
    const uint8_t w64[] = {0, 64, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(decode_exact(w64, sizeof w64, 1), 0);
    /* base varint of 11 bytes / overflowing the 10th byte */
    const uint8_t long_varint[] = {0,    0,    0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(decode_exact(long_varint, sizeof long_varint, 1), CTS_ECORRUPT);
    const uint8_t over_varint[] = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(decode_exact(over_varint, sizeof over_varint, 1), CTS_ECORRUPT);
    /* header varint truncated */
    const uint8_t trunc_hdr[] = {2, 0x80};
    assert_int_equal(decode_exact(trunc_hdr, sizeof trunc_hdr, 2), CTS_ECORRUPT);
    /* padding bits set in the last packed byte: 3 values of width 1 */
    const uint8_t pad_ok[] = {0, 1, 0, 0x05};
    const uint8_t pad_bad[] = {0, 1, 0, 0x0d};
    assert_int_equal(decode_exact(pad_ok, sizeof pad_ok, 3), 0);
    assert_int_equal(decode_exact(pad_bad, sizeof pad_bad, 3), CTS_ECORRUPT);
    /* a miniblock missing for the values asked */
    assert_int_equal(decode_exact(pad_ok, sizeof pad_ok, 200), CTS_ECORRUPT);
}

/* ---- cts_int_*: INTS or raw ---- */

static void check_int_roundtrip(const uint64_t *v, uint32_t n)
{
    size_t bound = cts_int_bound(n);
    uint8_t *dst = malloc(bound ? bound : 1);
    assert_non_null(dst);
    uint8_t codec = 0xff;
    int len = cts_int_encode(v, n, dst, bound, &codec);
    assert_true(len >= 0 && (size_t)len <= bound);
    uint8_t tmp[8 * 300 + 64];
    int ints_len = cts_ints_encode(v, n, tmp, sizeof tmp);
    if ((size_t)ints_len < (size_t)n * 8) {
        assert_int_equal(codec, CTS_CODEC_INTS);
        assert_int_equal(len, ints_len);
    } else {
        assert_int_equal(codec, CTS_CODEC_RAW);
        assert_int_equal(len, n * 8);
    }
    for (size_t cap = 0; cap < (size_t)len; cap++)
        assert_int_equal(cts_int_encode(v, n, dst, cap, &codec), CTS_ENOSPACE);
    uint8_t *copy = exact_copy(dst, (size_t)len);
    uint64_t *out = malloc((n ? n : 1) * sizeof *out);
    assert_non_null(out);
    assert_int_equal(cts_int_decode(codec, copy, (size_t)len, out, n), 0);
    if (n)
        assert_memory_equal(out, v, n * sizeof *v);
    for (size_t cut = 0; cut < (size_t)len; cut++)
        assert_int_equal(cts_int_decode(codec, copy, cut, out, n), CTS_ECORRUPT);
    assert_int_equal(cts_int_decode(CTS_CODEC_TS_CONST, copy, (size_t)len, out, n), CTS_ECORRUPT);
    assert_int_equal(cts_int_decode(CTS_CODEC_INTS | CTS_CODEC_LZ4, copy, (size_t)len, out, n),
                     CTS_ECORRUPT);
    free(out);
    free(copy);
    free(dst);
}

static void test_int_codec(void **state)
{
    (void)state;
    cts_rng r = {2024};
    uint64_t v[300];
    int seen_raw = 0, seen_ints = 0;
    for (int iter = 0; iter < 600; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, iter % 3 ? 20 : 300);
        gen_sequence(&r, (enum gen_kind)(iter % GEN_COUNT), v, n);
        check_int_roundtrip(v, n);
        uint8_t codec, dst[8 * 300];
        assert_true(cts_int_encode(v, n, dst, sizeof dst, &codec) >= 0);
        seen_raw += codec == CTS_CODEC_RAW;
        seen_ints += codec == CTS_CODEC_INTS;
    }
    assert_true(seen_raw > 0 && seen_ints > 0);
    /* raw with n = 0 is zero bytes */
    uint8_t codec = 0xff;
    assert_int_equal(cts_int_encode(NULL, 0, NULL, 0, &codec), 0);
    assert_int_equal(codec, CTS_CODEC_RAW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_property),   cmocka_unit_test(test_full_block),
        cmocka_unit_test(test_every_width),          cmocka_unit_test(test_regular_is_cheap),
        cmocka_unit_test(test_enospace_every_cap),   cmocka_unit_test(test_too_many_values),
        cmocka_unit_test(test_truncation_and_flips), cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_hostile_streams),      cmocka_unit_test(test_int_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
