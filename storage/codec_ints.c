/*
 * codec_ints.c: sequences of 64-bit integers, bit-packed in miniblocks.
 *
 * Sensor integers, counters, scaled decimals and scaled timestamps are all
 * sequences of 64-bit patterns whose neighbours are close. One codec serves
 * them: it views the sequence through one of three "orders" and bit-packs
 * the residuals of the cheapest one.
 *
 *   order 0 (FOR)    residuals are the values themselves;
 *   order 1 (DELTA)  v[0] is stored, residuals are v[i+1] - v[i];
 *   order 2 (DOD)    v[0] and v[1] - v[0] are stored, residuals are the
 *                    second differences (v[i+2] - v[i+1]) - (v[i+1] - v[i]).
 *
 * All arithmetic wraps modulo 2^64, so every input round-trips exactly,
 * whatever its sign convention. Residuals are cut into miniblocks of 128
 * (the last one partial). Each miniblock stores its base, the smallest
 * residual read as int64, and the width of the largest residual - base;
 * reading residuals as signed makes a run of small negative deltas as cheap
 * as a run of small positive ones, without a zigzag pass over every value.
 *
 * Stream layout (all varints LEB128; "zz" = zigzag of the int64 reading):
 *
 *   OFFSET SIZE   FIELD
 *   0      1      order: 0, 1 or 2 (anything else is corrupt)
 *   1      1..10  zz v[0]                     (order >= 1 and n >= 1)
 *   .      1..10  zz v[1] - v[0]              (order == 2 and n >= 2)
 *   .      ...    ceil((n - k) / 128) miniblocks, k = min(n, order):
 *                   1      width w, 0..64
 *                   1..10  zz base
 *                   ceil(m * w / 8)  m residuals - base, w bits each,
 *                                    LSB-first; unused high bits are 0
 *
 * Width 0 means every residual equals the base: a regular series costs two
 * bytes per 128 values. The encoder sizes all three orders exactly in one
 * fused pass of min/max folds (no packing), then writes only the smallest,
 * breaking ties toward the lower order because it decodes fastest.
 *
 * Packing and unpacking go through one function per width (FOR_EACH_WIDTH),
 * working on groups of 8 values, which fill exactly w bytes: with w a
 * compile-time constant every shift and offset is too. The unpackers use
 * 64-bit little-endian loads that read up to 8 bytes beyond the packed
 * bits, so a miniblock that ends within 8 bytes of the input's end, or is
 * partial, is first copied into a zeroed local buffer: no read ever leaves
 * src[0..len), whatever the input. The packers write whole groups, except
 * a partial last group, which goes through a local buffer: no write leaves
 * dst[0..size).
 *
 * Decoding integrates the residuals in one pass; cts_ints_decode_affine
 * also maps x -> offset + x * scale in that pass (the timestamp codec's
 * scaled sequences), and costs plain decoding nothing.
 */
#include "storage_int.h"

#define MINIBLOCK 128u
/* The packed bytes of one full miniblock at width 64, plus load slack. */
#define PACKED_MAX (MINIBLOCK * 8u)
#define LOAD_SLACK 8u

/* X(w) for every nonzero width: instantiates the per-width (un)packers. */
// clang-format off
#define FOR_EACH_WIDTH(X)                                                     \
    X(1)  X(2)  X(3)  X(4)  X(5)  X(6)  X(7)  X(8)                            \
    X(9)  X(10) X(11) X(12) X(13) X(14) X(15) X(16)                           \
    X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24)                           \
    X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32)                           \
    X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40)                           \
    X(41) X(42) X(43) X(44) X(45) X(46) X(47) X(48)                           \
    X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56)                           \
    X(57) X(58) X(59) X(60) X(61) X(62) X(63) X(64)
// clang-format on

/* The packed format is little-endian; hosts that are not swap at the edge. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LE64(x) __builtin_bswap64(x)
#else
#define LE64(x) (x)
#endif

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return LE64(x);
}

static inline void store_le64(uint8_t *p, uint64_t x)
{
    x = LE64(x);
    memcpy(p, &x, sizeof x);
}

/* Bits needed to hold x (0 for 0). */
static inline unsigned bit_width(uint64_t x)
{
    return x ? 64u - (unsigned)__builtin_clzll(x) : 0u;
}

static inline size_t varint_len(uint64_t x)
{
    return 1u + (63u - (unsigned)__builtin_clzll(x | 1u)) / 7u;
}

static inline size_t packed_bytes(uint32_t m, unsigned w)
{
    return ((size_t)m * w + 7u) / 8u;
}

/* ------------------------------------------------------------------------
 * Encoding.
 *
 * Residual t of every order lies in miniblock t / 128, so one pass over the
 * values sizes all three orders at once; only the last miniblock differs,
 * because order k has n - k residuals.
 * ------------------------------------------------------------------------ */

typedef struct ranges {
    int64_t lo[3], hi[3];
} ranges;

static inline void range_add(ranges *rg, unsigned order, int64_t r)
{
    rg->lo[order] = r < rg->lo[order] ? r : rg->lo[order];
    rg->hi[order] = r > rg->hi[order] ? r : rg->hi[order];
}

static inline uint64_t residual(const uint64_t *v, uint32_t t, unsigned order)
{
    if (order == 0)
        return v[t];
    if (order == 1)
        return v[t + 1] - v[t];
    return (v[t + 2] - v[t + 1]) - (v[t + 1] - v[t]);
}

/* Folds residuals [t0, t1) of all three orders into rg; v[t1 + 1] must
 * exist. Six independent cmp+cmov chains, values kept in registers. */
static void fused_range(const uint64_t *v, uint32_t t0, uint32_t t1, ranges *rg)
{
    int64_t lo0 = rg->lo[0], lo1 = rg->lo[1], lo2 = rg->lo[2];
    int64_t hi0 = rg->hi[0], hi1 = rg->hi[1], hi2 = rg->hi[2];
    uint64_t a = v[t0], b = v[t0 + 1];
    for (uint32_t t = t0; t < t1; t++) {
        uint64_t c = v[t + 2];
        int64_t r0 = (int64_t)a, r1 = (int64_t)(b - a), r2 = (int64_t)((c - b) - (b - a));
        lo0 = r0 < lo0 ? r0 : lo0;
        hi0 = r0 > hi0 ? r0 : hi0;
        lo1 = r1 < lo1 ? r1 : lo1;
        hi1 = r1 > hi1 ? r1 : hi1;
        lo2 = r2 < lo2 ? r2 : lo2;
        hi2 = r2 > hi2 ? r2 : hi2;
        a = b;
        b = c;
    }
    rg->lo[0] = lo0, rg->lo[1] = lo1, rg->lo[2] = lo2;
    rg->hi[0] = hi0, rg->hi[1] = hi1, rg->hi[2] = hi2;
}

/* The values stored before the miniblocks; returns how many (k). */
static uint32_t header_values(const uint64_t *v, uint32_t n, unsigned order, uint64_t hdr[2])
{
    uint32_t k = n < order ? n : order;
    if (k >= 1)
        hdr[0] = v[0];
    if (k >= 2)
        hdr[1] = v[1] - v[0];
    return k;
}

static size_t miniblock_size(uint32_t m, int64_t lo, int64_t hi)
{
    return 1 + varint_len(cts_zigzag(lo)) + packed_bytes(m, bit_width((uint64_t)hi - (uint64_t)lo));
}

/* Exact encoded size of v[0..n) under each order. */
static void order_sizes(const uint64_t *v, uint32_t n, size_t size[3])
{
    uint32_t both = n >= 2 ? n - 2 : 0; /* residuals all three orders have */
    for (unsigned k = 0; k < 3; k++) {
        uint64_t hdr[2];
        uint32_t h = header_values(v, n, k, hdr);
        size[k] = 1;
        for (uint32_t i = 0; i < h; i++)
            size[k] += varint_len(cts_zigzag((int64_t)hdr[i]));
    }
    for (uint32_t t0 = 0; t0 < n; t0 += MINIBLOCK) {
        ranges rg = {{INT64_MAX, INT64_MAX, INT64_MAX}, {INT64_MIN, INT64_MIN, INT64_MIN}};
        uint32_t t1 = t0 + MINIBLOCK < both ? t0 + MINIBLOCK : both;
        if (t0 < t1)
            fused_range(v, t0, t1, &rg);
        for (unsigned k = 0; k < 3; k++) {
            uint32_t count = n - (n < k ? n : k);
            uint32_t end = t0 + MINIBLOCK < count ? t0 + MINIBLOCK : count;
            for (uint32_t t = t1 > t0 ? t1 : t0; t < end; t++)
                range_add(&rg, k, (int64_t)residual(v, t, k));
            if (end > t0)
                size[k] += miniblock_size(end - t0, rg.lo[k], rg.hi[k]);
        }
    }
}

/* out[i] = residual i of `order` starting at v[0]. Plain differences, so
 * the compiler vectorises them. */
static void residual_fill(const uint64_t *v, uint32_t m, unsigned order, uint64_t *out)
{
    if (order == 0) {
        memcpy(out, v, (size_t)m * sizeof *out);
    } else if (order == 1) {
        for (uint32_t i = 0; i < m; i++)
            out[i] = v[i + 1] - v[i];
    } else {
        for (uint32_t i = 0; i < m; i++)
            out[i] = (v[i + 2] - v[i + 1]) - (v[i + 1] - v[i]);
    }
}

/* Signed range of r[0..m), m >= 1, in four independent min/max lanes: one
 * cmp+cmov chain would pay its latency on every value. */
static void buf_range(const uint64_t *r, uint32_t m, int64_t *lo, int64_t *hi)
{
    int64_t mn[4], mx[4];
    for (unsigned l = 0; l < 4; l++)
        mn[l] = mx[l] = (int64_t)r[0];
    uint32_t i = 0;
    for (; i + 4 <= m; i += 4) {
        int64_t a = (int64_t)r[i], b = (int64_t)r[i + 1];
        int64_t c = (int64_t)r[i + 2], d = (int64_t)r[i + 3];
        mn[0] = a < mn[0] ? a : mn[0], mx[0] = a > mx[0] ? a : mx[0];
        mn[1] = b < mn[1] ? b : mn[1], mx[1] = b > mx[1] ? b : mx[1];
        mn[2] = c < mn[2] ? c : mn[2], mx[2] = c > mx[2] ? c : mx[2];
        mn[3] = d < mn[3] ? d : mn[3], mx[3] = d > mx[3] ? d : mx[3];
    }
    for (; i < m; i++) {
        int64_t a = (int64_t)r[i];
        mn[0] = a < mn[0] ? a : mn[0], mx[0] = a > mx[0] ? a : mx[0];
    }
    for (unsigned l = 1; l < 4; l++) {
        mn[0] = mn[l] < mn[0] ? mn[l] : mn[0];
        mx[0] = mx[l] > mx[0] ? mx[l] : mx[0];
    }
    *lo = mn[0];
    *hi = mx[0];
}

/* Packs 8 values r[j] - base (each < 2^w) into exactly w bytes, LSB-first.
 * Inlined into one function per width: with w constant and the loop
 * unrolled, every shift and every "word full" test is decided at compile
 * time. */
static inline __attribute__((always_inline)) void pack8(const uint64_t *r, uint64_t base,
                                                        uint8_t *dst, const unsigned w)
{
    uint64_t acc = 0;
    unsigned fill = 0, o = 0;
#pragma GCC unroll 8
    for (unsigned j = 0; j < 8; j++) {
        uint64_t x = r[j] - base;
        acc |= x << (fill & 63);
        fill += w;
        if (fill >= 64) {
            store_le64(dst + o, acc);
            o += 8;
            fill -= 64;
            acc = fill ? x >> ((w - fill) & 63) : 0;
        }
    }
#pragma GCC unroll 8
    for (unsigned b = 0; b < fill / 8; b++)
        dst[o + b] = (uint8_t)(acc >> (8 * b));
}

typedef void (*pack_fn)(const uint64_t *r, uint64_t base, uint8_t *dst, uint32_t groups);

#define PACK_DEFINE(W)                                                                             \
    static void pack_##W(const uint64_t *r, uint64_t base, uint8_t *dst, uint32_t groups)          \
    {                                                                                              \
        for (uint32_t g = 0; g < groups; g++)                                                      \
            pack8(r + 8 * g, base, dst + (size_t)g * (W), (W));                                    \
    }
FOR_EACH_WIDTH(PACK_DEFINE)

#define PACK_ENTRY(W) pack_##W,
static const pack_fn pack_table[65] = {NULL, FOR_EACH_WIDTH(PACK_ENTRY)};

/* Writes r[i] - base (each < 2^w, w >= 1), LSB-first, into exactly
 * ceil(m*w/8) bytes; a partial last group goes through a local buffer so
 * nothing past those bytes is written. */
static void pack(const uint64_t *r, uint32_t m, unsigned w, uint64_t base, uint8_t *dst)
{
    uint32_t full = m / 8, rest = m % 8;
    pack_table[w](r, base, dst, full);
    if (rest == 0)
        return;
    uint64_t last[8];
    uint8_t tmp[64];
    for (unsigned j = 0; j < 8; j++)
        last[j] = j < rest ? r[8 * full + j] : base;
    pack_table[w](last, base, tmp, 1);
    memcpy(dst + (size_t)full * w, tmp, packed_bytes(m, w) - (size_t)full * w);
}

/* Writes the miniblocks of `order` for v[0..n) at p; returns the end. */
static uint8_t *write_miniblocks(const uint64_t *v, uint32_t n, unsigned order, uint32_t k,
                                 uint8_t *p)
{
    uint64_t buf[MINIBLOCK];
    uint32_t count = n - k;
    for (uint32_t j = 0; j < count; j += MINIBLOCK) {
        uint32_t m = count - j < MINIBLOCK ? count - j : MINIBLOCK;
        int64_t lo, hi;
        residual_fill(v + j, m, order, buf);
        buf_range(buf, m, &lo, &hi);
        unsigned w = bit_width((uint64_t)hi - (uint64_t)lo);
        *p++ = (uint8_t)w;
        p += cts_varint_put(p, cts_zigzag(lo));
        if (w == 0)
            continue;
        pack(buf, m, w, (uint64_t)lo, p);
        p += packed_bytes(m, w);
    }
    return p;
}

size_t cts_ints_bound(uint32_t n)
{
    size_t blocks = ((size_t)n + MINIBLOCK - 1) / MINIBLOCK;
    return 1 + 2 * 10 + blocks * (1 + 10) + (size_t)n * 8;
}

int cts_ints_encode(const uint64_t *v, uint32_t n, uint8_t *dst, size_t cap)
{
    if (n > CTS_BLOCK_MAX_COUNT)
        return CTS_EINVAL;
    size_t size[3];
    order_sizes(v, n, size);
    unsigned best = 0;
    for (unsigned order = 1; order <= 2; order++)
        best = size[order] < size[best] ? order : best;
    if (size[best] > cap)
        return CTS_ENOSPACE;
    uint64_t hdr[2];
    uint32_t k = header_values(v, n, best, hdr);
    uint8_t *p = dst;
    *p++ = (uint8_t)best;
    for (uint32_t i = 0; i < k; i++)
        p += cts_varint_put(p, cts_zigzag((int64_t)hdr[i]));
    p = write_miniblocks(v, n, best, k, p);
    return (int)(p - dst);
}

/* ------------------------------------------------------------------------
 * Decoding.
 * ------------------------------------------------------------------------ */

/* Unpacks 8 values of constant width w (1..64) from p, which must have
 * w + LOAD_SLACK readable bytes. Inlined into one function per width, so
 * every shift and offset is a constant. */
static inline __attribute__((always_inline)) void unpack8(const uint8_t *p, uint64_t base,
                                                          uint64_t *o, const unsigned w)
{
    const uint64_t mask = w == 64 ? ~(uint64_t)0 : ((uint64_t)1 << (w & 63)) - 1;
#pragma GCC unroll 8
    for (unsigned j = 0; j < 8; j++) {
        const unsigned bit = j * w, s = bit % 8;
        uint64_t x = load_le64(p + bit / 8) >> s;
        /* Above 57 bits a value can straddle 9 bytes (s <= 7). */
        if (w > 57 && s != 0)
            x |= (uint64_t)p[bit / 8 + 8] << ((64 - s) & 63);
        o[j] = base + (x & mask);
    }
}

typedef void (*unpack_fn)(const uint8_t *in, uint64_t base, uint64_t *out);

/* One full miniblock: 16 groups of 8 values, each group w bytes. */
#define UNPACK_DEFINE(W)                                                                           \
    static void unpack_##W(const uint8_t *in, uint64_t base, uint64_t *out)                        \
    {                                                                                              \
        for (unsigned g = 0; g < MINIBLOCK / 8; g++)                                               \
            unpack8(in + g * (W), base, out + g * 8, (W));                                         \
    }
FOR_EACH_WIDTH(UNPACK_DEFINE)

#define UNPACK_ENTRY(W) unpack_##W,
static const unpack_fn unpack_table[65] = {NULL, FOR_EACH_WIDTH(UNPACK_ENTRY)};

/* Unpacks a miniblock that is partial or too close to the end of the input
 * for the wide loads: through a zero-padded copy. Rejects set padding bits,
 * so each sequence has one encoding per (order, widths) choice. */
static int unpack_padded(const uint8_t *in, uint32_t m, unsigned w, uint64_t base, uint64_t *out)
{
    uint8_t pad[PACKED_MAX + LOAD_SLACK];
    uint64_t tmp[MINIBLOCK];
    size_t bytes = packed_bytes(m, w);
    unsigned tail_bits = (unsigned)(((size_t)m * w) % 8);
    if (tail_bits != 0 && (in[bytes - 1] >> tail_bits) != 0)
        return CTS_ECORRUPT;
    memcpy(pad, in, bytes);
    memset(pad + bytes, 0, sizeof pad - bytes);
    if (m == MINIBLOCK) {
        unpack_table[w](pad, base, out);
        return 0;
    }
    unpack_table[w](pad, base, tmp);
    memcpy(out, tmp, (size_t)m * sizeof *out);
    return 0;
}

/* Decodes the miniblocks of count residuals from src[*pos..len) into
 * out[0..count), advancing *pos. */
static int read_miniblocks(const uint8_t *src, size_t len, size_t *pos, uint64_t *out,
                           uint32_t count)
{
    size_t p = *pos;
    for (uint32_t j = 0; j < count; j += MINIBLOCK) {
        uint32_t m = count - j < MINIBLOCK ? count - j : MINIBLOCK;
        if (p >= len || src[p] > 64)
            return CTS_ECORRUPT;
        unsigned w = src[p++];
        uint64_t zz;
        size_t used = cts_varint_get(src + p, len - p, &zz);
        if (used == 0)
            return CTS_ECORRUPT;
        p += used;
        uint64_t base = (uint64_t)cts_unzigzag(zz);
        size_t bytes = packed_bytes(m, w);
        if (len - p < bytes)
            return CTS_ECORRUPT;
        if (w == 0) {
            for (uint32_t i = 0; i < m; i++)
                out[j + i] = base;
        } else if (m == MINIBLOCK && len - p - bytes >= LOAD_SLACK) {
            unpack_table[w](src + p, base, out + j);
        } else if (unpack_padded(src + p, m, w, base, out + j) != 0) {
            return CTS_ECORRUPT;
        }
        p += bytes;
    }
    *pos = p;
    return 0;
}

/* Turns residuals into values, in place, and maps each value x to
 * offset + x * scale when `affine` (a constant after inlining, so plain
 * decoding pays no multiply). out[0..k) already hold the header values,
 * k = min(n, order), as absolute values. */
static inline __attribute__((always_inline)) void integrate(uint64_t *out, uint32_t n,
                                                            unsigned order, uint64_t offset,
                                                            uint64_t scale, const bool affine)
{
#define MAP(x) (affine ? offset + (x)*scale : (x))
    if (order == 0) {
        for (uint32_t i = 0; affine && i < n; i++)
            out[i] = MAP(out[i]);
        return;
    }
    if (n == 0)
        return;
    uint64_t acc = out[0], d = n > 1 ? out[1] - out[0] : 0;
    out[0] = MAP(acc);
    if (order == 1) {
        for (uint32_t i = 1; i < n; i++) {
            acc += out[i];
            out[i] = MAP(acc);
        }
        return;
    }
    if (n == 1)
        return;
    acc = out[1];
    out[1] = MAP(acc);
    for (uint32_t i = 2; i < n; i++) {
        d += out[i];
        acc += d;
        out[i] = MAP(acc);
    }
#undef MAP
}

static inline __attribute__((always_inline)) int decode(const uint8_t *src, size_t len,
                                                        uint64_t *out, uint32_t n, uint64_t offset,
                                                        uint64_t scale, const bool affine)
{
    if (len < 1 || src[0] > 2)
        return CTS_ECORRUPT;
    unsigned order = src[0];
    uint32_t k = n < order ? n : order;
    size_t pos = 1;
    for (uint32_t i = 0; i < k; i++) {
        uint64_t zz;
        size_t used = cts_varint_get(src + pos, len - pos, &zz);
        if (used == 0)
            return CTS_ECORRUPT;
        pos += used;
        out[i] = (uint64_t)cts_unzigzag(zz);
    }
    if (k == 2)
        out[1] += out[0];
    if (read_miniblocks(src, len, &pos, out + k, n - k) != 0 || pos != len)
        return CTS_ECORRUPT;
    integrate(out, n, order, offset, scale, affine);
    return 0;
}

int cts_ints_decode(const uint8_t *src, size_t len, uint64_t *out, uint32_t n)
{
    return decode(src, len, out, n, 0, 1, false);
}

int cts_ints_decode_affine(const uint8_t *src, size_t len, uint64_t *out, uint32_t n,
                           uint64_t offset, uint64_t scale)
{
    return decode(src, len, out, n, offset, scale, true);
}

/* ------------------------------------------------------------------------
 * int64/uint64 value columns: cts_ints, or raw little-endian when that is
 * no larger (raw also decodes fastest, so it wins ties).
 * ------------------------------------------------------------------------ */

size_t cts_int_bound(uint32_t n)
{
    return (size_t)n * 8;
}

static int raw_encode(const uint64_t *v, uint32_t n, uint8_t *dst, size_t cap)
{
    if (cap < (size_t)n * 8)
        return CTS_ENOSPACE;
    for (uint32_t i = 0; i < n; i++)
        cts_put_u64(dst + (size_t)i * 8, v[i]);
    return (int)(n * 8);
}

int cts_int_encode(const uint64_t *v, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec)
{
    if (n > CTS_BLOCK_MAX_COUNT)
        return CTS_EINVAL;
    size_t raw = (size_t)n * 8;
    /* Only an INTS stream strictly smaller than raw is worth keeping. */
    size_t limit = cap < raw ? cap : raw - (raw > 0);
    int rc = n > 0 ? cts_ints_encode(v, n, dst, limit) : CTS_ENOSPACE;
    if (rc >= 0) {
        *codec = CTS_CODEC_INTS;
        return rc;
    }
    rc = raw_encode(v, n, dst, cap);
    if (rc >= 0)
        *codec = CTS_CODEC_RAW;
    return rc;
}

int cts_int_decode(uint8_t codec, const uint8_t *src, size_t len, uint64_t *out, uint32_t n)
{
    if (codec == CTS_CODEC_INTS)
        return cts_ints_decode(src, len, out, n);
    if (codec != CTS_CODEC_RAW || len != (size_t)n * 8)
        return CTS_ECORRUPT;
    for (uint32_t i = 0; i < n; i++)
        out[i] = cts_get_u64(src + (size_t)i * 8);
    return 0;
}
