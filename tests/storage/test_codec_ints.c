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

/* ---- reference encoder ----
 *
 * Straight from the format table and the choice rules in codec_ints.c:
 * every residual from its definition, every count by brute force, every
 * size by writing the candidate out, one bit at a time. */

#define REF_MB 256u
#define REF_STRIDE 4u

typedef struct bitbuf {
    uint8_t *p;
    size_t len; /* bytes */
    unsigned bit;
} bitbuf;

static void ref_byte(bitbuf *b, uint8_t x)
{
    b->p[b->len++] = x;
    b->bit = 0;
}

static void ref_varint(bitbuf *b, uint64_t x)
{
    do {
        uint8_t byte = x & 0x7f;
        x >>= 7;
        ref_byte(b, (uint8_t)(byte | (x ? 0x80 : 0)));
    } while (x);
}

/* Appends `bits` bits of x, LSB-first, continuing the current byte. */
static void ref_bits(bitbuf *b, uint64_t x, unsigned bits)
{
    for (unsigned t = 0; t < bits; t++) {
        if (b->bit == 0)
            b->p[b->len++] = 0;
        if ((x >> t) & 1)
            b->p[b->len - 1] |= (uint8_t)(1u << b->bit);
        b->bit = (b->bit + 1) % 8;
    }
}

static unsigned ref_width(uint64_t x)
{
    unsigned w = 0;
    while (w < 64 && (x >> w) != 0)
        w++;
    return w;
}

/* v[i] for i >= -2: before the first value, v[0] - d0 and v[0] - 2*d0. */
static uint64_t ref_at(const uint64_t *v, uint32_t n, int64_t i)
{
    uint64_t d0 = n > 1 ? v[1] - v[0] : 0;
    return i >= 0 ? v[i] : v[0] + (uint64_t)i * d0;
}

static uint64_t ref_linear(uint64_t slope, uint64_t k)
{
    return (uint64_t)((int64_t)(slope * k) >> 8);
}

/* Residual of value j (absolute index) under mode; k is j's index within its
 * miniblock (LINEAR). */
static uint64_t ref_residual(const uint64_t *v, uint32_t n, uint32_t j, uint32_t k, unsigned mode,
                             uint64_t slope)
{
    uint64_t a = ref_at(v, n, j), b = ref_at(v, n, (int64_t)j - 1),
             c = ref_at(v, n, (int64_t)j - 2);
    if (mode == 0)
        return a;
    if (mode == 1)
        return a - b;
    if (mode == 2)
        return (a - b) - (b - c);
    return a - ref_linear(slope, k);
}

typedef struct ref_plan {
    unsigned mode, pack; /* pack 65: ternary */
    uint64_t slope, base;
    size_t size;
} ref_plan;

/* Writes miniblock [j, j + m) under plan pl at b (b->p may be a scratch
 * buffer when only the size is wanted). */
static void ref_write_miniblock(bitbuf *b, const uint64_t *v, uint32_t n, uint32_t j, uint32_t m,
                                const ref_plan *pl)
{
    uint64_t span = pl->pack == 65 ? 3 : pl->pack == 64 ? 0 : (uint64_t)1 << pl->pack;
    uint64_t off[REF_MB], code[REF_MB];
    uint32_t pos[REF_MB], x = 0;
    for (uint32_t i = 0; i < m; i++) {
        uint64_t r = ref_residual(v, n, j + i, i, pl->mode, pl->slope);
        off[i] = r - pl->base;
        if (span != 0 && off[i] >= span) {
            int64_t d = (int64_t)off[i];
            pos[x] = i;
            code[x++] = d >= 0 ? 2 * (uint64_t)(d - (int64_t)span) : 2 * (uint64_t)(-d) - 1;
            off[i] = 0;
        }
    }
    ref_byte(b, (uint8_t)(pl->pack | (x ? 0x80 : 0)));
    if (pl->mode == 3)
        ref_varint(b, cts_zigzag((int64_t)pl->slope));
    ref_varint(b, cts_zigzag((int64_t)pl->base));
    if (pl->pack == 65) {
        for (uint32_t i = 0; i < m; i += 5) {
            unsigned byte = 0, weight = 1;
            for (uint32_t t = i; t < i + 5 && t < m; t++, weight *= 3)
                byte += (unsigned)off[t] * weight;
            ref_byte(b, (uint8_t)byte);
        }
    } else {
        for (uint32_t i = 0; i < m; i++)
            ref_bits(b, off[i], pl->pack);
        b->bit = 0;
    }
    if (x == 0)
        return;
    uint64_t far = 0;
    for (uint32_t k = 0; k < x; k++)
        far = code[k] > far ? code[k] : far;
    unsigned xw = ref_width(far), pw = ref_width(m - 1);
    if (x <= 31 && xw <= 7) {
        ref_byte(b, (uint8_t)(x << 3 | xw));
    } else {
        ref_byte(b, 0);
        ref_varint(b, x);
        ref_byte(b, (uint8_t)xw);
    }
    for (uint32_t k = 0; k < x; k++)
        ref_bits(b, pos[k], pw);
    for (uint32_t k = 0; k < x; k++)
        ref_bits(b, code[k], xw);
    b->bit = 0;
}

static size_t ref_size(const uint64_t *v, uint32_t n, uint32_t j, uint32_t m, const ref_plan *pl)
{
    static uint8_t scratch[16 * REF_MB];
    bitbuf b = {scratch, 0, 0};
    ref_write_miniblock(&b, v, n, j, m, pl);
    return b.len;
}

/* Keeps candidate c in *best when strictly smaller. */
static void ref_consider(const uint64_t *v, uint32_t n, uint32_t j, uint32_t m, ref_plan c,
                         ref_plan *best)
{
    c.size = ref_size(v, n, j, m, &c);
    if (c.size < best->size)
        *best = c;
}

static size_t ref_varint_len(uint64_t x)
{
    size_t len = 1;
    while (x >= 0x80) {
        x >>= 7;
        len++;
    }
    return len;
}

/* The size estimated from the sample s[0..ms) for window [base, base +
 * span) packed with `pack`, over m residuals. */
static size_t ref_estimate(const uint64_t *s, uint32_t ms, uint32_t m, unsigned mode,
                           uint64_t slope, unsigned pack, uint64_t base, uint64_t span)
{
    uint32_t out = 0;
    uint64_t far = 0;
    for (uint32_t i = 0; i < ms; i++) {
        uint64_t off = s[i] - base;
        if (off >= span) {
            int64_t d = (int64_t)off;
            uint64_t c = d >= 0 ? 2 * (uint64_t)(d - (int64_t)span) : 2 * (uint64_t)(-d) - 1;
            out++;
            far = c > far ? c : far;
        }
    }
    uint32_t x = (uint32_t)(((uint64_t)out * m + ms / 2) / ms);
    size_t size = 1 + (mode == 3 ? ref_varint_len(cts_zigzag((int64_t)slope)) : 0) +
                  ref_varint_len(cts_zigzag((int64_t)base)) +
                  (pack == 65 ? (m + 4) / 5 : ((size_t)m * pack + 7) / 8);
    if (x > 0) {
        unsigned xw = ref_width(far);
        size += (x <= 31 && xw <= 7 ? 1 : 2 + ref_varint_len(x)) +
                ((size_t)x * (ref_width(m - 1) + xw) + 7) / 8;
    }
    return size;
}

static ref_plan ref_choose(const uint64_t *v, uint32_t n, uint32_t j, uint32_t m)
{
    ref_plan best = {0, 0, 0, 0, SIZE_MAX};
    int64_t lo[4], hi[4];
    unsigned w[4], wmin = 64;
    for (unsigned mode = 0; mode < 3; mode++) {
        lo[mode] = INT64_MAX, hi[mode] = INT64_MIN;
        for (uint32_t i = 0; i < m; i++) {
            int64_t r = (int64_t)ref_residual(v, n, j + i, i, mode, 0);
            lo[mode] = r < lo[mode] ? r : lo[mode];
            hi[mode] = r > hi[mode] ? r : hi[mode];
        }
        w[mode] = ref_width((uint64_t)hi[mode] - (uint64_t)lo[mode]);
        wmin = w[mode] < wmin ? w[mode] : wmin;
        ref_consider(v, n, j, m, (ref_plan){mode, w[mode], 0, (uint64_t)lo[mode], 0}, &best);
    }
    /* LINEAR: every delta within (-2^32, 2^32), slope from the two halves */
    bool linear = m >= 2 && lo[1] > -((int64_t)1 << 32) && hi[1] < ((int64_t)1 << 32);
    uint64_t slope = 0;
    if (linear) {
        uint32_t h = m / 2;
        int64_t first = 0, last = 0;
        for (uint32_t i = 0; i < h; i++) {
            first += (int64_t)(v[j + i] - v[j]);
            last += (int64_t)(v[j + m - h + i] - v[j]);
        }
        int64_t num = (last - first) * 256, den = (int64_t)h * (int64_t)(m - h);
        slope = (uint64_t)(num >= 0 ? (num + den / 2) / den : -((den / 2 - num) / den));
    }
    /* the sample picks one window candidate */
    bool found = false;
    ref_plan win = {0, 0, 0, 0, SIZE_MAX};
    for (unsigned mode = 0; mode < 4; mode++) {
        bool cand = mode == 3 ? linear
                              : w[mode] >= 1 && w[mode] <= 48 && w[mode] <= wmin + 1 &&
                                    (mode != 0 || !linear) && (mode != 2 || w[2] <= w[1]);
        if (!cand)
            continue;
        uint64_t s[REF_MB];
        uint32_t ms = 0;
        for (uint32_t i = 0; i < m; i += REF_STRIDE)
            s[ms++] = ref_residual(v, n, j + i, i, mode, slope);
        int64_t slo = INT64_MAX, shi = INT64_MIN;
        for (uint32_t i = 0; i < ms; i++) {
            slo = (int64_t)s[i] < slo ? (int64_t)s[i] : slo;
            shi = (int64_t)s[i] > shi ? (int64_t)s[i] : shi;
        }
        unsigned sw = ref_width((uint64_t)shi - (uint64_t)slo);
        if (sw > 48)
            continue;
        uint64_t sum = 0;
        for (uint32_t i = 0; i < ms; i++)
            sum += s[i] - (uint64_t)slo;
        uint64_t c = (uint64_t)slo + (sum + ms / 2) / ms;
        for (int p = (int)sw; p >= -1; p--) { /* -1: ternary, last */
            unsigned pack = p < 0 ? 65 : (unsigned)p;
            uint64_t span = p < 0 ? 3 : (uint64_t)1 << p;
            uint64_t base = c - (p < 0 ? 1 : span / 2);
            if (p < 0 && sw < 2)
                break;
            size_t est = ref_estimate(s, ms, m, mode, slope, pack, base, span);
            if (est < win.size) {
                win = (ref_plan){mode, pack, slope, base, est};
                found = true;
            }
        }
    }
    if (!found)
        return best;
    if (win.mode == 3) {
        int64_t l = INT64_MAX, u = INT64_MIN;
        for (uint32_t i = 0; i < m; i++) {
            int64_t r = (int64_t)ref_residual(v, n, j + i, i, 3, slope);
            l = r < l ? r : l;
            u = r > u ? r : u;
        }
        ref_consider(v, n, j, m,
                     (ref_plan){3, ref_width((uint64_t)u - (uint64_t)l), slope, (uint64_t)l, 0},
                     &best);
    }
    ref_consider(v, n, j, m, win, &best);
    return best;
}

/* What the reference chose, so that the property tests can show they
 * reached every mode, ternary packing and exception lists. */
static struct {
    unsigned long modes[4], ternary, exceptions;
} ref_seen;

static size_t ref_encode(const uint64_t *v, uint32_t n, uint8_t *dst)
{
    bitbuf b = {dst, 0, 0};
    if (n == 0)
        return 0;
    ref_varint(&b, cts_zigzag((int64_t)v[0]));
    ref_varint(&b, cts_zigzag((int64_t)(n > 1 ? v[1] - v[0] : 0)));
    uint32_t blocks = (n + REF_MB - 1) / REF_MB;
    size_t map = b.len;
    for (uint32_t k = 0; k < (blocks + 3) / 4; k++)
        ref_byte(&b, 0);
    for (uint32_t k = 0; k < blocks; k++) {
        uint32_t j = k * REF_MB, m = n - j < REF_MB ? n - j : REF_MB;
        ref_plan pl = ref_choose(v, n, j, m);
        dst[map + k / 4] |= (uint8_t)(pl.mode << (2 * (k % 4)));
        size_t head = b.len;
        ref_write_miniblock(&b, v, n, j, m, &pl);
        ref_seen.modes[pl.mode]++;
        ref_seen.ternary += pl.pack == 65;
        ref_seen.exceptions += (dst[head] & 0x80) != 0;
    }
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
    GEN_METER,       /* a counter whose increments step by -1, 0, 1, rarely 2 */
    GEN_NOISY_LINE,  /* small noise around a slope, with rare spikes */
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
        case GEN_METER: {
            uint64_t pick = cts_rng_below(r, 100);
            step += pick < 30   ? (uint64_t)-1
                    : pick < 60 ? 1
                    : pick < 62 ? 2
                    : pick < 64 ? (uint64_t)-2
                                : 0;
            acc += step;
            v[i] = acc;
            break;
        }
        case GEN_NOISY_LINE:
            v[i] = base + (step >> 40) * i + cts_rng_below(r, 9) +
                   (cts_rng_below(r, 50) ? 0 : rng_width(r, w % 40));
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
    assert_true(len > 0 || (n == 0 && len == 0));
    assert_true((size_t)len <= bound);
    assert_int_equal(ref_encode(v, n, ref), len);
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
    for (unsigned mode = 0; mode < 4; mode++)
        assert_true(ref_seen.modes[mode] > 0);
    assert_true(ref_seen.ternary > 0 && ref_seen.exceptions > 0);
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

/* Offset of the mode map: after the two head varints. */
static size_t map_offset(const uint8_t *enc)
{
    size_t at = 0;
    for (int k = 0; k < 2; k++)
        while (enc[at++] & 0x80)
            ;
    return at;
}

static void test_regular_is_cheap(void **state)
{
    (void)state;
    uint64_t *v = malloc(MAX_N * sizeof *v);
    uint8_t *enc = malloc(cts_ints_bound(MAX_N));
    assert_true(v && enc);
    /* width 0 everywhere: two bytes per 256 values plus the mode map */
    size_t cheap = 2 * MAX_N / 256 + MAX_N / 1024 + 16;
    for (uint32_t i = 0; i < MAX_N; i++)
        v[i] = 1700000000ull + 60ull * i;
    int len = cts_ints_encode(v, MAX_N, enc, cts_ints_bound(MAX_N));
    /* a constant delta ties with delta-of-delta, and DELTA wins the tie */
    assert_true(len > 0 && (size_t)len <= cheap);
    assert_int_equal(enc[map_offset(enc)], 0x55);
    for (uint32_t i = 0; i < MAX_N; i++)
        v[i] = 42;
    len = cts_ints_encode(v, MAX_N, enc, cts_ints_bound(MAX_N));
    assert_true(len > 0 && (size_t)len <= cheap);
    assert_int_equal(enc[map_offset(enc)], 0x00);
    free(enc);
    free(v);
}

/* Second differences of -1, 0 and 1 with a rare 2 or -2 (a metered
 * counter rounded to its resolution) pack as base-3 digits with exceptions:
 * under the two bits a value any bit width would take. */
static void test_ternary_with_exceptions(void **state)
{
    (void)state;
    cts_rng r = {4242};
    uint64_t v[1024], d = 3300;
    uint8_t enc[8192], ref[8192];
    v[0] = 482135700;
    for (uint32_t i = 1; i < 1024; i++) {
        uint64_t pick = cts_rng_below(&r, 1000);
        int64_t step = pick < 300 ? -1 : pick < 600 ? 1 : pick < 610 ? 2 : pick < 620 ? -2 : 0;
        d += (uint64_t)step;
        v[i] = v[i - 1] + d;
    }
    size_t len = check_roundtrip(v, 1024, enc, ref);
    assert_true(len < 1024 / 4);
    size_t mb = map_offset(enc) + 1; /* the first miniblock's header */
    assert_int_equal(enc[map_offset(enc)] & 3, 2);
    assert_int_equal(enc[mb] & 0x7f, 65);
    assert_true(enc[mb] & 0x80);
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
        assert_true(len > 0 || (n == 0 && len == 0));
        /* too small: CTS_ENOSPACE, and not a byte written */
        for (size_t cap = 0; cap < (size_t)len; cap++) {
            uint8_t *dst = malloc(cap ? cap : 1);
            assert_non_null(dst);
            memset(dst, 0xa5, cap);
            assert_int_equal(cts_ints_encode(v, n, dst, cap), CTS_ENOSPACE);
            for (size_t i = 0; i < cap; i++)
                assert_int_equal(dst[i], 0xa5);
            free(dst);
        }
        uint8_t *dst = malloc(len ? (size_t)len : 1);
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
        assert_true(len > 0 || (n == 0 && len == 0));
        for (size_t cut = 0; cut < (size_t)len; cut++)
            assert_int_equal(decode_exact(enc, cut, n), CTS_ECORRUPT);
        enc[len] = (uint8_t)cts_rng_next(&r);
        assert_int_equal(decode_exact(enc, (size_t)len + 1, n), CTS_ECORRUPT);
        for (int f = 0; f < 40 && len > 0; f++) {
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
        /* Plausible heads (two one-byte varints, a mode map byte, a packing
         * in range) reach the miniblock parser more often. */
        if (len > 1) {
            buf[0] &= 0x7f;
            buf[1] &= 0x7f;
        }
        if (len > 3 && iter % 2)
            buf[3] = (uint8_t)(cts_rng_below(&r, 66) | (cts_rng_next(&r) & 0x80));
        uint32_t n = (uint32_t)cts_rng_below(&r, 600);
        int rc = decode_exact(buf, len, n);
        assert_true(rc == 0 || rc == CTS_ECORRUPT);
    }
}

static void test_hostile_streams(void **state)
{
    (void)state;
    uint8_t s[1] = {0};
    /* n = 0 is the empty stream, and only that */
    assert_int_equal(decode_exact(s, 0, 0), 0);
    assert_int_equal(decode_exact(s, 1, 0), CTS_ECORRUPT);
    /* head: zz v0 = 0, zz d0 = 0, map (FOR), then the miniblock */
    const uint8_t ok1[] = {0, 0, 0x00, 1, 0, 0x05};
    assert_int_equal(decode_exact(ok1, sizeof ok1, 3), 0);
    /* padding bits set in the last packed byte: 3 values of width 1 */
    const uint8_t pad_bad[] = {0, 0, 0x00, 1, 0, 0x0d};
    assert_int_equal(decode_exact(pad_bad, sizeof pad_bad, 3), CTS_ECORRUPT);
    /* unused mode map bits set */
    const uint8_t map_bad[] = {0, 0, 0x04, 1, 0, 0x05};
    assert_int_equal(decode_exact(map_bad, sizeof map_bad, 3), CTS_ECORRUPT);
    /* packing 66, and exceptions after a width of 64 */
    const uint8_t pack_bad[] = {0, 0, 0x00, 66, 0, 0};
    assert_int_equal(decode_exact(pack_bad, sizeof pack_bad, 1), CTS_ECORRUPT);
    const uint8_t w64[] = {0, 0, 0x00, 64, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(decode_exact(w64, sizeof w64, 1), 0);
    const uint8_t w64x[] = {0, 0, 0x00, 64 | 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1 << 3, 0};
    assert_int_equal(decode_exact(w64x, sizeof w64x, 1), CTS_ECORRUPT);
    /* a base varint of 11 bytes, and one overflowing its 10th byte */
    const uint8_t long_varint[] = {0,    0,    0x00, 0,    0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(decode_exact(long_varint, sizeof long_varint, 1), CTS_ECORRUPT);
    const uint8_t over_varint[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(decode_exact(over_varint, sizeof over_varint, 1), CTS_ECORRUPT);
    /* a head varint cut short */
    const uint8_t trunc_head[] = {0x80};
    assert_int_equal(decode_exact(trunc_head, sizeof trunc_head, 2), CTS_ECORRUPT);
    /* a miniblock missing for the values asked */
    assert_int_equal(decode_exact(ok1, sizeof ok1, 300), CTS_ECORRUPT);
    /* ternary: 5 digits of 2 are 242, 243 is out of range; in a last byte
     * of two digits, 9 is */
    const uint8_t t_ok[] = {0, 0, 0x00, 65, 0, 242, 8};
    assert_int_equal(decode_exact(t_ok, sizeof t_ok, 7), 0);
    const uint8_t t_big[] = {0, 0, 0x00, 65, 0, 243, 8};
    assert_int_equal(decode_exact(t_big, sizeof t_big, 7), CTS_ECORRUPT);
    const uint8_t t_tail[] = {0, 0, 0x00, 65, 0, 242, 9};
    assert_int_equal(decode_exact(t_tail, sizeof t_tail, 7), CTS_ECORRUPT);
    /* exceptions: 3 values of width 0 (base 0), one exception at position 1
     * with code 0 (base + 1): X = 1, xw = 0, positions of 2 bits */
    const uint8_t x_ok[] = {0, 0, 0x00, 0x80, 0, 1 << 3, 0x01};
    uint64_t out[3];
    assert_int_equal(cts_ints_decode(x_ok, sizeof x_ok, out, 3), 0);
    assert_true(out[0] == 0 && out[1] == 1 && out[2] == 0);
    /* position 3 is past m = 3; X = 0 is no list; a set padding bit */
    const uint8_t x_far[] = {0, 0, 0x00, 0x80, 0, 1 << 3, 0x03};
    assert_int_equal(decode_exact(x_far, sizeof x_far, 3), CTS_ECORRUPT);
    const uint8_t x_zero[] = {0, 0, 0x00, 0x80, 0, 1, 0x01};
    assert_int_equal(decode_exact(x_zero, sizeof x_zero, 3), CTS_ECORRUPT);
    const uint8_t x_pad[] = {0, 0, 0x00, 0x80, 0, 1 << 3, 0x05};
    assert_int_equal(decode_exact(x_pad, sizeof x_pad, 3), CTS_ECORRUPT);
    /* positions must increase: 1 then 1 */
    const uint8_t x_dup[] = {0, 0, 0x00, 0x80, 0, 2 << 3, 0x05};
    assert_int_equal(decode_exact(x_dup, sizeof x_dup, 3), CTS_ECORRUPT);
    /* an exception over a nonzero slot: width 1, offsets 0 1 0, exception at 1 */
    const uint8_t x_slot[] = {0, 0, 0x00, 1 | 0x80, 0, 0x02, 1 << 3, 0x01};
    assert_int_equal(decode_exact(x_slot, sizeof x_slot, 3), CTS_ECORRUPT);
    /* the long exception header where the short one was due */
    const uint8_t x_long[] = {0, 0, 0x00, 0x80, 0, 0, 1, 0, 0x01};
    assert_int_equal(decode_exact(x_long, sizeof x_long, 3), CTS_ECORRUPT);
    /* codes wider than 56 bits */
    const uint8_t x_wide[] = {0, 0, 0x00, 0x80, 0, 0, 1, 57, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(decode_exact(x_wide, sizeof x_wide, 3), CTS_ECORRUPT);
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
        cmocka_unit_test(test_roundtrip_property),
        cmocka_unit_test(test_full_block),
        cmocka_unit_test(test_every_width),
        cmocka_unit_test(test_regular_is_cheap),
        cmocka_unit_test(test_enospace_every_cap),
        cmocka_unit_test(test_too_many_values),
        cmocka_unit_test(test_truncation_and_flips),
        cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_hostile_streams),
        cmocka_unit_test(test_int_codec),
        cmocka_unit_test(test_ternary_with_exceptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
