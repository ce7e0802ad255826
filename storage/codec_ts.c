/*
 * codec_ts.c: the timestamp section of a column block.
 *
 * Sensor timestamps are nearly regular: a gateway samples every 10 s or
 * every minute and stamps at millisecond or second precision, so the
 * nanosecond values are multiples of 10^6 or 10^9 with a little jitter.
 * Three encodings, smallest wins:
 *
 *   CTS_CODEC_TS_CONST   every consecutive difference is the same (n >= 1):
 *       OFFSET SIZE   FIELD
 *       0      1..10  zz ts[0]
 *       .      1..10  zz interval (ts[1] - ts[0]; 0 when n == 1)
 *     at most 20 bytes whatever n (for n <= 2 RAW may be smaller, and wins).
 *
 *   CTS_CODEC_TS_PACKED  anything else:
 *       OFFSET SIZE   FIELD
 *       0      1..10  zz ts[0]
 *       .      1..10  divisor g >= 1 (plain varint)
 *       .      ...    cts_ints stream of s[i], where ts[i] = ts[0] + s[i] * g
 *     g is the greatest common divisor of the differences ts[i] - ts[0], so
 *     millisecond stamps shrink by 10^6 before cts_ints bit-packs their
 *     delta-of-delta.
 *
 *   CTS_CODEC_RAW        8 bytes little-endian per timestamp, when PACKED
 *                        would be no smaller (and for n == 0: no bytes).
 *
 * "zz" is the zigzag of the int64 value. Every timestamp is exact, whatever
 * the order, duplicates, jumps or INT64 extremes, because all arithmetic
 * wraps modulo 2^64: the differences D[i] = ts[i] - ts[0] are taken modulo
 * 2^64 and read as int64, g divides every |D[i]| exactly, and s[i] = D[i]/g
 * with the sign of D[i]; then s[i] * g == D[i] modulo 2^64 even when |D[i]|
 * is 2^63, and decoding ts[0] + s[i] * g with wrapping arithmetic gives
 * back ts[i] bit for bit.
 *
 * The divisor is found without a division per value: g = 2^z * odd, and x
 * is a multiple of g when its low z bits are zero and (x >> z) * odd^-1
 * (mod 2^64) is at most UINT64_MAX / odd; that product is then the exact
 * quotient (Granlund and Montgomery). g only shrinks, by at least half each
 * time a value is not a multiple, so gcd steps are few.
 *
 * The bound is RAW's 8n: CONST and PACKED are kept only when no larger
 * than RAW (a CONST stream of n >= 3 is at most 20 < 24 bytes).
 */
#include "storage_int.h"

#define CONST_MAX_BYTES 20u

/* g = 2^shift * odd, with odd_inv * odd == 1 (mod 2^64). */
typedef struct divisor {
    uint64_t g, odd_inv, quot_max;
    unsigned shift;
} divisor;

static uint64_t magnitude(int64_t d)
{
    return d < 0 ? -(uint64_t)d : (uint64_t)d;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void divisor_set(divisor *d, uint64_t g)
{
    d->g = g;
    d->shift = (unsigned)__builtin_ctzll(g);
    uint64_t odd = g >> d->shift;
    /* Newton's iteration doubles the correct low bits: 3, 6, ..., 96. */
    uint64_t inv = odd;
    for (int i = 0; i < 5; i++)
        inv *= 2 - odd * inv;
    d->odd_inv = inv;
    d->quot_max = UINT64_MAX / odd;
}

/* True when g divides x; *q receives x / g then. */
static inline bool divisor_divides(const divisor *d, uint64_t x, uint64_t *q)
{
    if (x & ((((uint64_t)1) << d->shift) - 1))
        return false;
    *q = (x >> d->shift) * d->odd_inv;
    return *q <= d->quot_max;
}

/* The gcd of |ts[i] - ts[0]| over all i; 0 when they are all equal. */
static uint64_t difference_gcd(const int64_t *ts, uint32_t n)
{
    divisor d = {0, 0, 0, 0};
    uint64_t t0 = (uint64_t)ts[0], q;
    for (uint32_t i = 1; i < n && d.g != 1; i++) {
        uint64_t a = magnitude((int64_t)((uint64_t)ts[i] - t0));
        if (a == 0 || (d.g != 0 && divisor_divides(&d, a, &q)))
            continue;
        divisor_set(&d, gcd(a, d.g));
    }
    return d.g;
}

/* s[i] = (ts[i] - ts[0]) / g, signed, exact (g divides every difference). */
static void scale_down(const int64_t *ts, uint32_t n, uint64_t g, uint64_t *s)
{
    divisor d;
    divisor_set(&d, g);
    uint64_t t0 = (uint64_t)ts[0];
    for (uint32_t i = 0; i < n; i++) {
        int64_t diff = (int64_t)((uint64_t)ts[i] - t0);
        uint64_t q = (magnitude(diff) >> d.shift) * d.odd_inv;
        s[i] = diff < 0 ? -q : q;
    }
}

static bool is_regular(const int64_t *ts, uint32_t n)
{
    uint64_t step = n > 1 ? (uint64_t)ts[1] - (uint64_t)ts[0] : 0;
    for (uint32_t i = 2; i < n; i++)
        if ((uint64_t)ts[i] - (uint64_t)ts[i - 1] != step)
            return false;
    return true;
}

size_t cts_ts_bound(uint32_t n)
{
    return (size_t)n * 8;
}

/* The CONST stream of a regular series into tmp; returns its length. */
static size_t const_stream(const int64_t *ts, uint32_t n, uint8_t tmp[CONST_MAX_BYTES])
{
    uint64_t step = n > 1 ? (uint64_t)ts[1] - (uint64_t)ts[0] : 0;
    size_t len = cts_varint_put(tmp, cts_zigzag(ts[0]));
    return len + cts_varint_put(tmp + len, cts_zigzag((int64_t)step));
}

static int raw_encode(const int64_t *ts, uint32_t n, uint8_t *dst, size_t cap)
{
    if (cap < (size_t)n * 8)
        return CTS_ENOSPACE;
    for (uint32_t i = 0; i < n; i++)
        cts_put_u64(dst + (size_t)i * 8, (uint64_t)ts[i]);
    return (int)(n * 8);
}

/* PACKED into at most `limit` bytes; CTS_ENOSPACE when it does not fit. */
static int packed_encode(const int64_t *ts, uint32_t n, uint8_t *dst, size_t limit)
{
    uint64_t g = difference_gcd(ts, n);
    uint8_t head[CONST_MAX_BYTES];
    size_t hlen = cts_varint_put(head, cts_zigzag(ts[0]));
    hlen += cts_varint_put(head + hlen, g ? g : 1);
    if (hlen >= limit)
        return CTS_ENOSPACE;
    uint64_t *s = cts_malloc((size_t)n * sizeof *s);
    if (s == NULL)
        return CTS_ENOMEM;
    scale_down(ts, n, g ? g : 1, s);
    int rc = cts_ints_encode(s, n, dst + hlen, limit - hlen);
    cts_free(s);
    if (rc < 0)
        return rc;
    memcpy(dst, head, hlen);
    return (int)hlen + rc;
}

int cts_ts_encode(const int64_t *ts, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec)
{
    if (n > CTS_BLOCK_MAX_COUNT)
        return CTS_EINVAL;
    size_t raw = (size_t)n * 8;
    int rc = CTS_ENOSPACE;
    if (n > 0 && is_regular(ts, n)) {
        /* One or two far-out stamps can take more than their raw bytes. */
        uint8_t tmp[CONST_MAX_BYTES];
        size_t len = const_stream(ts, n, tmp);
        if (len <= raw && len > cap)
            return CTS_ENOSPACE;
        if (len <= raw) {
            memcpy(dst, tmp, len);
            *codec = CTS_CODEC_TS_CONST;
            return (int)len;
        }
    } else if (n > 0) {
        /* Only a PACKED stream strictly smaller than raw is worth keeping. */
        rc = packed_encode(ts, n, dst, cap < raw ? cap : raw - 1);
    }
    if (rc >= 0) {
        *codec = CTS_CODEC_TS_PACKED;
        return rc;
    }
    if (rc != CTS_ENOSPACE)
        return rc;
    rc = raw_encode(ts, n, dst, cap);
    if (rc >= 0)
        *codec = CTS_CODEC_RAW;
    return rc;
}

/* ------------------------------------------------------------------------
 * Decoding.
 * ------------------------------------------------------------------------ */

/* Reads two varints that make up the whole of src (CONST) or its head
 * (PACKED); returns bytes read, 0 if malformed. */
static size_t read_head(const uint8_t *src, size_t len, uint64_t *a, uint64_t *b)
{
    size_t p = cts_varint_get(src, len, a);
    if (p == 0)
        return 0;
    size_t q = cts_varint_get(src + p, len - p, b);
    return q == 0 ? 0 : p + q;
}

static int const_decode(const uint8_t *src, size_t len, int64_t *out, uint32_t n)
{
    uint64_t first = 0, step = 0;
    size_t used = read_head(src, len, &first, &step);
    if (used == 0 || used != len)
        return CTS_ECORRUPT;
    uint64_t t = (uint64_t)cts_unzigzag(first), d = (uint64_t)cts_unzigzag(step);
    for (uint32_t i = 0; i < n; i++, t += d)
        out[i] = (int64_t)t;
    return 0;
}

static int packed_decode(const uint8_t *src, size_t len, int64_t *out, uint32_t n)
{
    uint64_t first = 0, g = 0;
    size_t p = read_head(src, len, &first, &g);
    if (p == 0 || g == 0)
        return CTS_ECORRUPT;
    /* int64_t and uint64_t may alias: the quotients expand in place. */
    uint64_t t0 = (uint64_t)cts_unzigzag(first);
    if (cts_ints_decode_affine(src + p, len - p, (uint64_t *)out, n, t0, g) != 0)
        return CTS_ECORRUPT;
    return 0;
}

int cts_ts_decode(uint8_t codec, const uint8_t *src, size_t len, int64_t *out, uint32_t n)
{
    switch (codec) {
    case CTS_CODEC_TS_CONST:
        return const_decode(src, len, out, n);
    case CTS_CODEC_TS_PACKED:
        return packed_decode(src, len, out, n);
    case CTS_CODEC_RAW:
        if (len != (size_t)n * 8)
            return CTS_ECORRUPT;
        for (uint32_t i = 0; i < n; i++)
            out[i] = (int64_t)cts_get_u64(src + (size_t)i * 8);
        return 0;
    default:
        return CTS_ECORRUPT;
    }
}
