/*
 * test_codec_float.c: the float64 column codec (cts_float_*).
 *
 * The central property: for thousands of adversarial blocks (decimals with
 * 0..6 places, constants, extremes and subnormals, random bit patterns with
 * NaN payloads, -0.0 and infinities, decimals salted with exceptions), the
 * decoded doubles are bit-identical (memcmp) to the input, the encoding is
 * the same whatever the cap, and a naive reference decoder written from the
 * layout tables in codec_float.c reads the same values, so the documented
 * format is the real one. Then every too-small cap is CTS_ENOSPACE, every
 * truncation is CTS_ECORRUPT, and byte flips and garbage never crash: every
 * buffer handed to the codec is a heap block of exactly its size, so ASan
 * sees any overrun. Finally the codec must pick ALP for sensor decimals and
 * reach the size targets on generated city data.
 */
#include "cts_test.h"

#include "storage_int.h"

#include <float.h>
#include <math.h>

#define MAX_N 65536u

static const double pow10_ref[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                     1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

static uint64_t bits_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double from_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* ------------------------------------------------------------------------
 * Generators
 * ------------------------------------------------------------------------ */

static double special_value(cts_rng *r)
{
    static const uint64_t nan_payloads[] = {0x7ff8000000000000ull, 0x7ff0000000000001ull,
                                            0xfff8dead0000beefull, 0x7ff4000000000000ull};
    switch (cts_rng_below(r, 12)) {
    case 0:
        return DBL_MAX;
    case 1:
        return -DBL_MAX;
    case 2:
        return DBL_MIN;
    case 3:
        return -DBL_MIN;
    case 4:
        return from_bits(1); /* smallest subnormal */
    case 5:
        return from_bits(0x800fffffffffffffull); /* largest negative subnormal */
    case 6:
        return -0.0;
    case 7:
        return INFINITY;
    case 8:
        return -INFINITY;
    case 9:
        return from_bits(nan_payloads[cts_rng_below(r, 4)]);
    case 10:
        return 1e300;
    default:
        return from_bits(cts_rng_next(r));
    }
}

/* A random walk of decimals with `places` places, as strtod reads them. */
static void gen_decimals(cts_rng *r, double *v, uint32_t n, unsigned places)
{
    int64_t mag = (int64_t)1 << cts_rng_below(r, 40);
    int64_t d = (int64_t)cts_rng_below(r, (uint64_t)mag) - mag / 2;
    int64_t step = (int64_t)cts_rng_below(r, 1000) + 1;

    for (uint32_t i = 0; i < n; i++) {
        d += (int64_t)cts_rng_below(r, (uint64_t)(2 * step + 1)) - step;
        if (cts_rng_below(r, 100) == 0)
            d = (int64_t)cts_rng_below(r, (uint64_t)mag) - mag / 2;
        v[i] = (double)d / pow10_ref[places];
    }
}

static void gen_constant(cts_rng *r, double *v, uint32_t n)
{
    double c = cts_rng_below(r, 2) ? special_value(r) : (double)cts_rng_below(r, 1000) / 10.0;
    for (uint32_t i = 0; i < n; i++)
        v[i] = c;
}

static void gen_extremes(cts_rng *r, double *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        v[i] = cts_rng_below(r, 2) ? special_value(r) : (i & 1 ? -DBL_MAX : DBL_MAX);
}

static void gen_random_bits(cts_rng *r, double *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        v[i] = cts_rng_below(r, 16) ? from_bits(cts_rng_next(r)) : special_value(r);
}

/* Decimals with a few values replaced by exceptions (sometimes too many). */
static void gen_salted(cts_rng *r, double *v, uint32_t n)
{
    gen_decimals(r, v, n, (unsigned)cts_rng_below(r, 4));
    uint32_t k = (uint32_t)cts_rng_below(r, n / 6 + 2);
    for (uint32_t j = 0; j < k; j++)
        v[cts_rng_below(r, n)] = special_value(r);
}

/* Smooth full-precision values: XOR territory. */
static void gen_smooth(cts_rng *r, double *v, uint32_t n)
{
    double a = cts_rng_unit(r) * 100, f = cts_rng_unit(r) * 0.01;
    for (uint32_t i = 0; i < n; i++)
        v[i] = i == 0 || cts_rng_below(r, 8) ? a * sin(f * i) : v[i - 1];
}

/* Runs of repeated values, some decimal, some not. */
static void gen_runs(cts_rng *r, double *v, uint32_t n)
{
    double c = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i == 0 || cts_rng_below(r, 10) == 0)
            c = cts_rng_below(r, 2) ? (double)cts_rng_below(r, 10000) / 100.0
                                    : from_bits(cts_rng_next(r) >> 2);
        v[i] = c;
    }
}

static void gen_any(cts_rng *r, double *v, uint32_t n)
{
    switch (cts_rng_below(r, 8)) {
    case 0:
    case 1:
        gen_decimals(r, v, n, (unsigned)cts_rng_below(r, 7));
        break;
    case 2:
        gen_constant(r, v, n);
        break;
    case 3:
        gen_extremes(r, v, n);
        break;
    case 4:
        gen_random_bits(r, v, n);
        break;
    case 5:
        gen_salted(r, v, n);
        break;
    case 6:
        gen_smooth(r, v, n);
        break;
    default:
        gen_runs(r, v, n);
        break;
    }
}

static uint32_t random_n(cts_rng *r)
{
    static const uint32_t edges[] = {1, 2, 3, 7, 8, 9, 31, 32, 33, 127, 128, 129, 1023, 1024, 1025};
    if (cts_rng_below(r, 4) == 0)
        return edges[cts_rng_below(r, sizeof edges / sizeof edges[0])];
    return (uint32_t)cts_rng_below(r, cts_rng_below(r, 8) ? 300 : 3000) + 1;
}

/* ------------------------------------------------------------------------
 * Reference decoder, written from the layout tables, one bit at a time.
 * Returns true when it decodes exactly n values from exactly len bytes.
 * ------------------------------------------------------------------------ */

typedef struct refbits {
    const uint8_t *p;
    size_t len;
    uint64_t bit;
} refbits;

static bool ref_take(refbits *b, unsigned nb, uint64_t *out)
{
    *out = 0;
    for (unsigned t = 0; t < nb; t++, b->bit++) {
        if (b->bit / 8 >= b->len)
            return false;
        *out |= (uint64_t)((b->p[b->bit / 8] >> (b->bit % 8)) & 1) << t;
    }
    return true;
}

static bool ref_xor(const uint8_t *src, size_t len, double *out, uint32_t n)
{
    static const unsigned lead_of[8] = {0, 8, 12, 16, 18, 20, 22, 24};
    refbits b = {src, len, 0};
    uint64_t prev, flag, code, s, x;
    int stored = -1;

    if (!ref_take(&b, 64, &prev))
        return false;
    out[0] = from_bits(prev);
    for (uint32_t i = 1; i < n; i++) {
        if (!ref_take(&b, 2, &flag))
            return false;
        if (flag == 0) {
            x = 0;
        } else if (flag == 1) {
            if (!ref_take(&b, 3, &code) || !ref_take(&b, 6, &s) || s == 0 ||
                lead_of[code] + s > 64 || !ref_take(&b, (unsigned)s, &x))
                return false;
            x <<= 64 - lead_of[code] - s;
            stored = -1;
        } else if (flag == 2) {
            if (stored < 0 || !ref_take(&b, 64 - (unsigned)stored, &x))
                return false;
        } else {
            if (!ref_take(&b, 3, &code) || !ref_take(&b, 64 - lead_of[code], &x))
                return false;
            stored = (int)lead_of[code];
        }
        prev ^= x;
        out[i] = from_bits(prev);
    }
    uint64_t pad;
    return (b.bit + 7) / 8 == len && ref_take(&b, (unsigned)(len * 8 - b.bit), &pad) && pad == 0;
}

static bool ref_varint(const uint8_t *src, size_t len, size_t *at, uint64_t *v)
{
    size_t r = cts_varint_get(src + *at, len - *at, v);
    *at += r;
    return r != 0;
}

static bool ref_alp(const uint8_t *src, size_t len, double *out, uint32_t n)
{
    if (len < 1 || src[0] > 18)
        return false;
    double p10 = pow10_ref[src[0]];
    size_t at = 1;
    uint64_t *d = malloc(1024 * sizeof *d);
    bool ok = true;
    for (uint32_t base = 0; ok && base < n; base += 1024) {
        uint32_t m = n - base < 1024 ? n - base : 1024;
        uint64_t x, gap, pos = 0;
        ok = len - at >= 2;
        size_t l = ok ? cts_get_u16(src + at) : 0;
        at += 2;
        ok = ok && l <= len - at && cts_ints_decode(src + at, l, d, m) == 0;
        at += l;
        for (uint32_t i = 0; ok && i < m; i++) {
            ok = (int64_t)d[i] >= -((int64_t)1 << 51) && (int64_t)d[i] < ((int64_t)1 << 51);
            out[base + i] = (double)(int64_t)d[i] / p10;
        }
        ok = ok && ref_varint(src, len, &at, &x) && x <= m;
        for (uint64_t k = 0; ok && k < x; k++) {
            ok = ref_varint(src, len, &at, &gap) && gap < m - pos && len - at >= 8;
            pos += gap;
            if (ok)
                out[base + pos++] = from_bits(cts_get_u64(src + at));
            at += 8;
        }
    }
    free(d);
    return ok && at == len;
}

static bool ref_decode(uint8_t codec, const uint8_t *src, size_t len, double *out, uint32_t n)
{
    if (codec == CTS_CODEC_F_XOR)
        return ref_xor(src, len, out, n);
    if (codec == CTS_CODEC_F_ALP)
        return ref_alp(src, len, out, n);
    if (codec != CTS_CODEC_RAW || len != 8 * (size_t)n)
        return false;
    for (uint32_t i = 0; i < n; i++)
        out[i] = from_bits(cts_get_u64(src + 8 * (size_t)i));
    return true;
}

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

typedef struct encoded {
    uint8_t *buf; /* heap block of exactly len bytes */
    size_t len;
    uint8_t codec;
} encoded;

static encoded encode_exact(const double *v, uint32_t n)
{
    size_t bound = cts_float_bound(n);
    uint8_t *big = malloc(bound ? bound : 1);
    encoded e = {NULL, 0, 0xff};
    int r = cts_float_encode(v, n, big, bound, &e.codec);
    assert_true(r >= 0);
    assert_true((size_t)r <= bound);
    e.len = (size_t)r;
    e.buf = malloc(e.len ? e.len : 1);
    memcpy(e.buf, big, e.len);
    free(big);
    return e;
}

/* Decodes from an exact-size copy of src[0..len) into an exact-size out. */
static int decode_exact(uint8_t codec, const uint8_t *src, size_t len, double *out_or_null,
                        uint32_t n)
{
    uint8_t *copy = malloc(len ? len : 1);
    double *out = malloc(n ? n * sizeof *out : 1);
    memcpy(copy, src, len);
    int r = cts_float_decode(codec, copy, len, out, n);
    if (r == 0 && out_or_null)
        memcpy(out_or_null, out, n * sizeof *out);
    free(out);
    free(copy);
    return r;
}

/* Encodes, decodes, compares bits, checks the reference decoder and that a
 * cap of exactly the size gives the same bytes. Returns the encoding. */
static encoded check_roundtrip(const double *v, uint32_t n)
{
    encoded e = encode_exact(v, n);
    double *out = malloc(n * sizeof *out);
    double *ref = malloc(n * sizeof *ref);
    assert_int_equal(decode_exact(e.codec, e.buf, e.len, out, n), 0);
    assert_memory_equal(out, v, n * sizeof *v);
    assert_true(ref_decode(e.codec, e.buf, e.len, ref, n));
    assert_memory_equal(ref, v, n * sizeof *v);

    uint8_t *tight = malloc(e.len ? e.len : 1), codec = 0xff;
    assert_int_equal(cts_float_encode(v, n, tight, e.len, &codec), (int)e.len);
    assert_int_equal(codec, e.codec);
    assert_memory_equal(tight, e.buf, e.len);
    free(tight);
    free(ref);
    free(out);
    return e;
}

/* ------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------ */

static void test_roundtrip_property(void **state)
{
    (void)state;
    cts_rng r = {0xf10a7001};
    double *v = malloc(3000 * sizeof *v);
    unsigned seen[3] = {0, 0, 0};
    for (int iter = 0; iter < 4000; iter++) {
        uint32_t n = random_n(&r);
        gen_any(&r, v, n);
        encoded e = check_roundtrip(v, n);
        seen[e.codec == CTS_CODEC_RAW ? 0 : e.codec == CTS_CODEC_F_ALP ? 1 : 2]++;
        free(e.buf);
    }
    /* The generators reach every codec. */
    assert_true(seen[0] > 100 && seen[1] > 100 && seen[2] > 100);
    free(v);
}

static void test_decimals_every_places(void **state)
{
    (void)state;
    cts_rng r = {0xdec1};
    double v[600];
    for (unsigned places = 0; places <= 6; places++) {
        for (int iter = 0; iter < 150; iter++) {
            uint32_t n = (uint32_t)cts_rng_below(&r, 600) + 1;
            gen_decimals(&r, v, n, places);
            encoded e = check_roundtrip(v, n);
            free(e.buf);
        }
    }
}

static void test_constant_blocks(void **state)
{
    (void)state;
    cts_rng r = {0xc0c0};
    double v[2048];
    for (int iter = 0; iter < 300; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, 2048) + 1;
        gen_constant(&r, v, n);
        encoded e = check_roundtrip(v, n);
        /* Any constant costs XOR 2 bits a value at most. */
        assert_true(e.len <= 8 + (2 * (size_t)n + 7) / 8 + 8);
        free(e.buf);
    }
}

static void test_extremes_and_specials(void **state)
{
    (void)state;
    cts_rng r = {0xe7};
    double v[1500];
    for (int iter = 0; iter < 300; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, 1500) + 1;
        if (iter & 1)
            gen_extremes(&r, v, n);
        else
            gen_random_bits(&r, v, n);
        encoded e = check_roundtrip(v, n);
        free(e.buf);
    }
}

/* Exceptions up to 1/8 keep ALP; -0.0 and NaN payloads come back intact. */
static void test_decimals_with_exceptions(void **state)
{
    (void)state;
    cts_rng r = {0xe8ce};
    double v[4096];
    for (int iter = 0; iter < 200; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, 4096 - 64) + 64;
        for (uint32_t i = 0; i < n; i++)
            v[i] = (double)(2000 + (int64_t)cts_rng_below(&r, 50)) / 10.0;
        uint32_t k = (uint32_t)cts_rng_below(&r, n / 16 + 1);
        for (uint32_t j = 0; j < k; j++)
            v[cts_rng_below(&r, n)] = special_value(&r);
        encoded e = check_roundtrip(v, n);
        assert_int_equal(e.codec, CTS_CODEC_F_ALP);
        free(e.buf);
    }
    /* All exceptions at the start, then decimals: the neighbour fill. */
    for (uint32_t i = 0; i < 1024; i++)
        v[i] = i < 100 ? -0.0 : 21.5;
    encoded e = check_roundtrip(v, 1024);
    assert_int_equal(e.codec, CTS_CODEC_F_ALP);
    free(e.buf);
}

/* ALP keeps up to n/8 exceptions and gives up beyond; a chunk made only of
 * exceptions is fine within the budget. */
static void test_exception_budget(void **state)
{
    (void)state;
    double *v = malloc(8192 * sizeof *v);
    for (uint32_t extra = 0; extra < 2; extra++) {
        for (uint32_t i = 0; i < 1024; i++)
            v[i] = (double)(150 + i % 37) / 10.0;
        /* Off the sample's positions (multiples of 32), so the sample
         * still votes for ALP. */
        for (uint32_t k = 0; k < 128; k++)
            v[8 * k + 1] = from_bits(0x7ff8000000000000ull + k);
        if (extra)
            v[2] = -0.0;
        encoded e = check_roundtrip(v, 1024);
        assert_int_equal(e.codec == CTS_CODEC_F_ALP, extra == 0);
        free(e.buf);
    }
    for (uint32_t i = 0; i < 8192; i++)
        v[i] = i < 1024 ? -0.0 : (double)(i % 1000) / 100.0;
    encoded e = check_roundtrip(v, 8192);
    assert_int_equal(e.codec, CTS_CODEC_F_ALP);
    free(e.buf);
    free(v);
}

static void test_n_one_and_max(void **state)
{
    (void)state;
    cts_rng r = {0x1};
    double *v = malloc(MAX_N * sizeof *v);
    for (int iter = 0; iter < 200; iter++) {
        gen_any(&r, v, 1);
        encoded e = check_roundtrip(v, 1);
        free(e.buf);
    }
    for (int kind = 0; kind < 4; kind++) {
        if (kind == 0)
            gen_decimals(&r, v, MAX_N, 2);
        else if (kind == 1)
            gen_random_bits(&r, v, MAX_N);
        else if (kind == 2)
            gen_salted(&r, v, MAX_N);
        else
            gen_smooth(&r, v, MAX_N);
        encoded e = check_roundtrip(v, MAX_N);
        free(e.buf);
    }
    free(v);
}

static void test_zero_and_invalid_n(void **state)
{
    (void)state;
    uint8_t buf[8] = {0}, codec = 0xff;
    double v = 1.0, out = 0;
    assert_int_equal(cts_float_bound(0), 0);
    assert_int_equal(cts_float_encode(&v, 0, buf, 0, &codec), 0);
    assert_int_equal(codec, CTS_CODEC_RAW);
    assert_int_equal(cts_float_encode(NULL, 0, NULL, 0, &codec), 0);
    const uint8_t codecs[] = {CTS_CODEC_RAW, CTS_CODEC_F_ALP, CTS_CODEC_F_XOR};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(cts_float_decode(codecs[i], buf, 0, &out, 0), 0);
        assert_int_equal(cts_float_decode(codecs[i], buf, 1, &out, 0), CTS_ECORRUPT);
    }
    assert_int_equal(cts_float_encode(&v, CTS_BLOCK_MAX_COUNT + 1, buf, sizeof buf, &codec),
                     CTS_EINVAL);
}

/* ------------------------------------------------------------------------
 * Capacity and hostile input
 * ------------------------------------------------------------------------ */

static void test_enospace_every_cap(void **state)
{
    (void)state;
    cts_rng r = {0x5ace};
    double v[48];
    for (int iter = 0; iter < 300; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, 48) + 1;
        gen_any(&r, v, n);
        encoded e = encode_exact(v, n);
        for (size_t cap = 0; cap < e.len; cap++) {
            uint8_t *dst = malloc(cap ? cap : 1), codec = 0xee;
            assert_int_equal(cts_float_encode(v, n, dst, cap, &codec), CTS_ENOSPACE);
            assert_int_equal(codec, 0xee);
            free(dst);
        }
        free(e.buf);
    }
}

/* A cap below the bound needs a temporary buffer: its failure is ENOMEM. */
static void test_alloc_failure(void **state)
{
    (void)state;
    double v[64];
    uint8_t dst[512], codec;
    for (int i = 0; i < 64; i++)
        v[i] = i / 10.0;
    cts_alloc_fail_after(0);
    assert_int_equal(cts_float_encode(v, 64, dst, 100, &codec), CTS_ENOMEM);
    /* At the bound no allocation happens. */
    assert_true(cts_float_encode(v, 64, dst, sizeof dst, &codec) > 0);
    cts_alloc_fail_after(-1);
    assert_true(cts_float_encode(v, 64, dst, 100, &codec) > 0);
}

static void test_every_truncation_fails(void **state)
{
    (void)state;
    cts_rng r = {0x7a11};
    double v[1100];
    for (int iter = 0; iter < 120; iter++) {
        uint32_t n = iter < 3 ? 1100 : (uint32_t)cts_rng_below(&r, 100) + 1;
        gen_any(&r, v, n);
        encoded e = encode_exact(v, n);
        for (size_t len = 0; len < e.len; len++)
            assert_int_equal(decode_exact(e.codec, e.buf, len, NULL, n), CTS_ECORRUPT);
        /* One byte too many, and one value too many. */
        uint8_t *longer = malloc(e.len + 1);
        memcpy(longer, e.buf, e.len);
        longer[e.len] = 0;
        assert_int_equal(decode_exact(e.codec, longer, e.len + 1, NULL, n), CTS_ECORRUPT);
        /* Only RAW knows n from len: XOR's zero padding can read as "same
         * again", and a cts_ints miniblock of width 0 holds any count. */
        if (e.codec == CTS_CODEC_RAW)
            assert_int_equal(decode_exact(e.codec, e.buf, e.len, NULL, n + 1), CTS_ECORRUPT);
        free(longer);
        free(e.buf);
    }
}

static void test_byte_flips_never_crash(void **state)
{
    (void)state;
    cts_rng r = {0xf11b};
    double v[1500], out[1500];
    for (int iter = 0; iter < 600; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, iter < 20 ? 1500 : 200) + 1;
        gen_any(&r, v, n);
        encoded e = encode_exact(v, n);
        for (int flip = 0; flip < 20 && e.len > 0; flip++) {
            uint8_t *bad = malloc(e.len);
            memcpy(bad, e.buf, e.len);
            unsigned flips = (unsigned)cts_rng_below(&r, 3) + 1;
            for (unsigned k = 0; k < flips; k++)
                bad[cts_rng_below(&r, e.len)] ^= (uint8_t)(cts_rng_below(&r, 255) + 1);
            int rc = decode_exact(e.codec, bad, e.len, out, n);
            assert_true(rc == 0 || rc == CTS_ECORRUPT);
            /* The codec and the reference agree on what is well formed. */
            double *ref = malloc(n * sizeof *ref);
            assert_int_equal(rc == 0, ref_decode(e.codec, bad, e.len, ref, n));
            if (rc == 0)
                assert_memory_equal(ref, out, n * sizeof *out);
            free(ref);
            free(bad);
        }
        free(e.buf);
    }
}

static void test_garbage_never_crashes(void **state)
{
    (void)state;
    cts_rng r = {0x6a6b};
    const uint8_t codecs[] = {CTS_CODEC_RAW, CTS_CODEC_F_ALP, CTS_CODEC_F_XOR};
    for (int iter = 0; iter < 6000; iter++) {
        size_t len = (size_t)cts_rng_below(&r, 200);
        uint32_t n = (uint32_t)cts_rng_below(&r, 40) + 1;
        uint8_t *src = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            src[i] = (uint8_t)cts_rng_next(&r);
        /* Plausible headers reach deeper into the decoders. */
        if (len > 0 && cts_rng_below(&r, 2))
            src[0] = (uint8_t)cts_rng_below(&r, 20);
        if (len > 3 && cts_rng_below(&r, 2))
            cts_put_u16(src + 1, (uint16_t)cts_rng_below(&r, len));
        int rc = decode_exact(codecs[iter % 3], src, len, NULL, n);
        assert_true(rc == 0 || rc == CTS_ECORRUPT);
        free(src);
    }
}

static void test_unknown_codecs(void **state)
{
    (void)state;
    uint8_t src[16] = {0};
    double out[2];
    const uint8_t bad[] = {1, 2, 3, 6, 7, 8, 9, 0x7f, 0x80, 0x84, 0x85, 0xff};
    for (size_t i = 0; i < sizeof bad; i++)
        assert_int_equal(cts_float_decode(bad[i], src, sizeof src, out, 2), CTS_ECORRUPT);
}

/* Hand-made ALP streams that break one rule each. */
static void test_alp_malformed(void **state)
{
    (void)state;
    double v[8] = {1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, -0.0}, out[8];
    encoded e = encode_exact(v, 8);
    assert_int_equal(e.codec, CTS_CODEC_F_ALP);
    /* e, L, ints, X = 1, gap = 7, 8 bytes of -0.0 */
    size_t x_at = 3 + cts_get_u16(e.buf + 1);
    assert_int_equal(e.buf[x_at], 1);
    assert_int_equal(e.buf[x_at + 1], 7);
    assert_int_equal(e.len, x_at + 2 + 8);

    uint8_t *bad = malloc(e.len);
    memcpy(bad, e.buf, e.len);
    bad[0] = 19; /* exponent out of range */
    assert_int_equal(cts_float_decode(CTS_CODEC_F_ALP, bad, e.len, out, 8), CTS_ECORRUPT);
    memcpy(bad, e.buf, e.len);
    bad[x_at + 1] = 8; /* position past the chunk */
    assert_int_equal(cts_float_decode(CTS_CODEC_F_ALP, bad, e.len, out, 8), CTS_ECORRUPT);
    memcpy(bad, e.buf, e.len);
    bad[x_at] = 9; /* more exceptions than values */
    assert_int_equal(cts_float_decode(CTS_CODEC_F_ALP, bad, e.len, out, 8), CTS_ECORRUPT);
    memcpy(bad, e.buf, e.len);
    cts_put_u16(bad + 1, (uint16_t)(e.len)); /* stream longer than the input */
    assert_int_equal(cts_float_decode(CTS_CODEC_F_ALP, bad, e.len, out, 8), CTS_ECORRUPT);
    memcpy(bad, e.buf, e.len);
    assert_int_equal(cts_float_decode(CTS_CODEC_F_ALP, bad, e.len, out, 8), 0);
    assert_memory_equal(out, v, sizeof v);
    free(bad);
    free(e.buf);

    /* An integer outside [-2^51, 2^51) is corrupt, though cts_ints reads it. */
    uint64_t d = (uint64_t)1 << 51;
    uint8_t s[64];
    s[0] = 1;
    int il = cts_ints_encode(&d, 1, s + 3, sizeof s - 4);
    assert_true(il > 0);
    cts_put_u16(s + 1, (uint16_t)il);
    s[3 + il] = 0;
    assert_int_equal(decode_exact(CTS_CODEC_F_ALP, s, 4 + (size_t)il, NULL, 1), CTS_ECORRUPT);
    d = (uint64_t) - ((int64_t)1 << 51);
    assert_int_equal(cts_ints_encode(&d, 1, s + 3, sizeof s - 4), il);
    assert_int_equal(decode_exact(CTS_CODEC_F_ALP, s, 4 + (size_t)il, out, 1), 0);
    assert_true(out[0] == -225179981368524.8);

    /* The second exception's gap pushes it past the end. */
    double w[16];
    for (int i = 0; i < 16; i++)
        w[i] = 0.5;
    w[1] = -0.0;
    w[7] = NAN;
    e = encode_exact(w, 16);
    assert_int_equal(e.codec, CTS_CODEC_F_ALP);
    x_at = 3 + cts_get_u16(e.buf + 1);
    assert_int_equal(e.buf[x_at], 2);
    assert_int_equal(e.buf[x_at + 1], 1);
    assert_int_equal(e.buf[x_at + 10], 5);
    e.buf[x_at + 10] = 14; /* 1 + 1 + 14 = 16: past the end */
    assert_int_equal(decode_exact(CTS_CODEC_F_ALP, e.buf, e.len, NULL, 16), CTS_ECORRUPT);
    free(e.buf);
}

/* Hand-made XOR streams that break one rule each. */
static void test_xor_malformed(void **state)
{
    (void)state;
    uint8_t s[16] = {0};
    double out[2];
    /* 64 bits of v[0], then flag 2 with no stored lead. */
    s[8] = 2;
    assert_int_equal(cts_float_decode(CTS_CODEC_F_XOR, s, 9, out, 2), CTS_ECORRUPT);
    /* flag 1, code 0, s = 0 */
    s[8] = 1;
    assert_int_equal(cts_float_decode(CTS_CODEC_F_XOR, s, 10, out, 2), CTS_ECORRUPT);
    /* flag 0 then a set padding bit */
    s[8] = 0x04;
    assert_int_equal(cts_float_decode(CTS_CODEC_F_XOR, s, 9, out, 2), CTS_ECORRUPT);
    /* flag 0 and clean padding: two equal values */
    s[8] = 0;
    assert_int_equal(cts_float_decode(CTS_CODEC_F_XOR, s, 9, out, 2), 0);
    assert_true(out[0] == 0.0 && out[1] == 0.0);
    /* flag 1, code 7 (lead 24), s = 41: 24 + 41 > 64 */
    s[8] = (uint8_t)(1 | 7 << 2 | (41 & 7) << 5);
    s[9] = (uint8_t)(41 >> 3);
    assert_int_equal(cts_float_decode(CTS_CODEC_F_XOR, s, 16, out, 2), CTS_ECORRUPT);
}

/* ------------------------------------------------------------------------
 * Selection and size targets on generated city data
 * ------------------------------------------------------------------------ */

/* Roughly normal, mean 0, standard deviation sd. */
static double gauss(cts_rng *r, double sd)
{
    double s = cts_rng_unit(r) + cts_rng_unit(r) + cts_rng_unit(r) + cts_rng_unit(r) - 2.0;
    return s * sd * 1.7320508075688772;
}

/* What a sensor gateway sends: the value rounded to `places` decimals,
 * parsed as a decimal literal (division by 10^places is the same double). */
static double as_reported(double x, unsigned places)
{
    return nearbyint(x * pow10_ref[places]) / pow10_ref[places];
}

/* Air temperature every 60 s: a daily cycle of +-6 degC, a slow weather
 * drift, sensor noise of 0.1 degC, one decimal. */
static void gen_temperature(cts_rng *r, double *v, uint32_t n)
{
    double drift = 0;
    for (uint32_t i = 0; i < n; i++) {
        drift += gauss(r, 0.01);
        double t = 60.0 * i;
        double x = 14.0 + 6.0 * sin(2 * M_PI * t / 86400.0) + drift + gauss(r, 0.1);
        v[i] = as_reported(x, 1);
    }
}

/* PM2.5 every 60 s: a slowly wandering background of 8..20 ug/m3 with 4%
 * noise, and spikes (traffic, a bus idling) of up to 150 ug/m3 that decay
 * over minutes, one decimal. */
static void gen_pm25(cts_rng *r, double *v, uint32_t n)
{
    double bg = 12.0, spike = 0;
    for (uint32_t i = 0; i < n; i++) {
        bg += gauss(r, 0.05);
        bg = bg < 8 ? 8 : bg > 20 ? 20 : bg;
        spike *= 0.8;
        if (cts_rng_below(r, 200) == 0)
            spike += 20 + cts_rng_unit(r) * 130;
        double x = (bg + spike) * (1 + gauss(r, 0.04));
        v[i] = as_reported(x < 0 ? 0 : x, 1);
    }
}

/* A building's energy meter in kWh every 60 s, two decimals: the counter
 * integrates a load of about 1 kW that follows the day and wanders slowly. */
static void gen_energy(cts_rng *r, double *v, uint32_t n)
{
    double kwh = 18342.0 + cts_rng_unit(r) * 1000, wander = 0;
    for (uint32_t i = 0; i < n; i++) {
        wander += gauss(r, 0.002);
        double kw = 1.0 + 0.3 * sin(2 * M_PI * 60.0 * i / 86400.0) + wander;
        kwh += (kw < 0.05 ? 0.05 : kw) / 60.0;
        v[i] = as_reported(kwh, 2);
    }
}

/* Bytes a value over `blocks` consecutive blocks of 1024; all must be
 * `want` codec. */
static double bytes_per_value(const double *v, uint32_t blocks, uint8_t want)
{
    size_t total = 0;
    for (uint32_t b = 0; b < blocks; b++) {
        encoded e = check_roundtrip(v + 1024 * (size_t)b, 1024);
        assert_int_equal(e.codec, want);
        total += e.len;
        free(e.buf);
    }
    return (double)total / (1024.0 * blocks);
}

static void test_size_targets(void **state)
{
    (void)state;
    enum { BLOCKS = 16 };
    cts_rng r = {0xc17};
    double *v = malloc(BLOCKS * 1024 * sizeof *v);

    gen_temperature(&r, v, BLOCKS * 1024);
    double temp = bytes_per_value(v, BLOCKS, CTS_CODEC_F_ALP);
    gen_pm25(&r, v, BLOCKS * 1024);
    double pm = bytes_per_value(v, BLOCKS, CTS_CODEC_F_ALP);
    gen_energy(&r, v, BLOCKS * 1024);
    double energy = bytes_per_value(v, BLOCKS, CTS_CODEC_F_ALP);
    gen_random_bits(&r, v, BLOCKS * 1024);
    double random = bytes_per_value(v, BLOCKS, CTS_CODEC_RAW);
    print_message("bytes/value: temperature %.3f, pm2.5 %.3f, energy %.3f, random %.3f\n", temp, pm,
                  energy, random);
    assert_true(temp <= 0.5);
    assert_true(pm <= 1.0);
    assert_true(energy <= 0.25);
    assert_true(random <= 8.1);

    /* Smooth non-decimal data goes to XOR and beats raw. */
    for (uint32_t i = 0; i < 1024; i++)
        v[i] = 20.0 + sin(i / 100.0);
    encoded e = check_roundtrip(v, 1024);
    assert_int_equal(e.codec, CTS_CODEC_F_XOR);
    assert_true(e.len < 8 * 1024 * 0.9);
    free(e.buf);
    free(v);
}

/* The premise of ALP: d / 10^e is the double strtod reads from the decimal
 * literal of d with e places. */
static void test_division_matches_strtod(void **state)
{
    (void)state;
    cts_rng r = {0x57d};
    char text[64];
    for (int iter = 0; iter < 20000; iter++) {
        unsigned e = (unsigned)cts_rng_below(&r, 19);
        int64_t d = (int64_t)(cts_rng_next(&r) >> (11 + cts_rng_below(&r, 50)));
        if (cts_rng_below(&r, 2))
            d = -d;
        uint64_t mag = (uint64_t)(d < 0 ? -d : d), scale = 1;
        for (unsigned k = 0; k < e; k++)
            scale *= 10;
        snprintf(text, sizeof text, "%s%llu.%0*llue0", d < 0 ? "-" : "",
                 (unsigned long long)(mag / scale), (int)e, (unsigned long long)(mag % scale));
        if (e == 0)
            snprintf(text, sizeof text, "%lld", (long long)d);
        double want = strtod(text, NULL);
        assert_true(bits_of((double)d / pow10_ref[e]) == bits_of(want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_property),
        cmocka_unit_test(test_decimals_every_places),
        cmocka_unit_test(test_constant_blocks),
        cmocka_unit_test(test_extremes_and_specials),
        cmocka_unit_test(test_decimals_with_exceptions),
        cmocka_unit_test(test_exception_budget),
        cmocka_unit_test(test_n_one_and_max),
        cmocka_unit_test(test_zero_and_invalid_n),
        cmocka_unit_test(test_enospace_every_cap),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_every_truncation_fails),
        cmocka_unit_test(test_byte_flips_never_crash),
        cmocka_unit_test(test_garbage_never_crashes),
        cmocka_unit_test(test_unknown_codecs),
        cmocka_unit_test(test_alp_malformed),
        cmocka_unit_test(test_xor_malformed),
        cmocka_unit_test(test_size_targets),
        cmocka_unit_test(test_division_matches_strtod),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
