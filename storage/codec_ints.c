/*
 * codec_ints.c: sequences of 64-bit integers, bit-packed in miniblocks.
 *
 * Sensor integers, counters, scaled decimals and scaled timestamps are all
 * sequences of 64-bit patterns whose neighbours are close. One codec serves
 * them: it cuts the sequence into miniblocks of 256 values (the last one
 * partial) and views each miniblock through the one of four "modes" whose
 * residuals pack smallest:
 *
 *   FOR     r[i] = v[i]
 *   DELTA   r[i] = v[i] - v[i-1]
 *   DOD     r[i] = (v[i] - v[i-1]) - (v[i-1] - v[i-2])
 *   LINEAR  r[i] = v[i] - asr(s * k, 8), k = i - (first index of the
 *           miniblock), s a per-miniblock slope in 1/256 units
 *
 * The mode changes from miniblock to miniblock, but the history does not:
 * v[i-1] and v[i-2] reach back into the previous miniblock, and before the
 * first value they are v[0] - d0 and v[0] - 2*d0, with d0 = v[1] - v[0], so
 * a series starts with small DELTA and DOD residuals. A city feed changes
 * character within a block: a meter that sits at its clip level for an hour
 * is a run of constant deltas (DELTA), then wanders (DOD); a noisy reading on
 * a slow curve is best seen as noise around a line (LINEAR).
 *
 * Each miniblock stores a window [base, base + S) and the residuals' offsets
 * r - base inside it, packed at p bits (S = 2^p), or as base-3 digits, five
 * per byte (S = 3, "ternary": 1.6 bits per value where two bits would hold
 * one wasted state). Residuals outside the window are exceptions (patched
 * frame of reference, PFOR): their slots hold 0 and a list after the packed
 * bits gives their positions and how far outside the window they lie. A
 * reading with a spike, or second differences that are -1, 0 or 1 with an
 * occasional 2, then cost the bits of their common values plus a few bytes,
 * instead of the width of their extremes.
 *
 * All arithmetic wraps modulo 2^64, so every input round-trips exactly,
 * whatever its sign convention; residuals are read as int64 where they are
 * compared, so a run of small negative deltas is as cheap as a run of small
 * positive ones without a zigzag pass over every value.
 *
 * Stream layout (varints are LEB128; "zz" = zigzag of the int64 reading; an
 * empty sequence is the empty stream):
 *
 *   OFFSET SIZE       FIELD
 *   0      1..10      zz v[0]
 *   .      1..10      zz d0 = v[1] - v[0] (0 when n == 1)
 *   .      ceil(B/4)  mode map: the mode of miniblock b (0 FOR, 1 DELTA,
 *                     2 DOD, 3 LINEAR) in bits 2(b%4)..2(b%4)+1 of byte
 *                     b/4; unused bits are 0. B = ceil(n / 256).
 *   .      ...        B miniblocks, of m = 256 values except the last
 *
 *   Miniblock:
 *   1      h          bits 0-6: packing p, 0..64 (bits per offset) or 65
 *                     (ternary); bit 7: an exception list follows (never
 *                     with p = 64)
 *   1..10  zz s       the slope, LINEAR only
 *   1..10  zz base
 *   P                 the m offsets r - base: for p <= 64, P = ceil(m*p/8)
 *                     bytes, p bits each, LSB-first; for ternary, P =
 *                     ceil(m/5) bytes, each sum(digit[j] * 3^j, j < 5) over
 *                     the next five offsets, at most 242 (fewer digits in the
 *                     last byte). Unused high bits and digits are 0, and so is
 *                     an exception's slot.
 *   exception list (bit 7 of h):
 *   1      e          X << 3 | xw when 1 <= X <= 31 and xw <= 7, else 0 and:
 *   1..10    X        number of exceptions, 32..m or xw > 7 (varint)
 *   1        xw       bits per code, 0..56
 *   ceil(X*(pw+xw)/8) one LSB-first bit stream: X positions of pw bits
 *                     (pw = bits of m - 1), strictly increasing, then X
 *                     codes of xw bits; unused high bits are 0. Code c
 *                     means r = base + S + c/2 for even c, base - 1 - c/2
 *                     for odd c.
 *
 * Choosing a plan. The plain packings of FOR, DELTA and DOD (base = the
 * smallest residual, p = bits of largest - smallest: the old codec's only
 * choice) are sized exactly by one pass of min/max folds. One window joins
 * them, picked from a sample, every fourth residual, of the candidate modes:
 * LINEAR when m >= 2 and every DELTA residual lies in (-2^32, 2^32); FOR,
 * DELTA and DOD when their plain width W is in 1..48 and at most one more
 * than the smallest, FOR only when LINEAR is no candidate (a slope of 0 is
 * FOR), DOD only when its W is no more than DELTA's. For each, the windows
 * centred on the sample's rounded mean c (base = c - S/2 for S = 2^p, p =
 * the sample's width down to 0, then ternary with base = c - 1 when that
 * width is at least 2) are sized with exception counts scaled up from the
 * sample; the smallest estimate is then sized exactly (with LINEAR's plain
 * packing if it is LINEAR) and competes with the plain packings. Modes are
 * tried from FOR to LINEAR, windows in the order above, plain packings
 * before the window, and a later candidate must be strictly smaller, so
 * ties go to the plainer, faster decoding choice. LINEAR's slope is s =
 * round(256 * (sum of the last h values - sum of the first h) / (h * (m -
 * h))), h = m/2, the values taken relative to the miniblock's first, halves
 * rounded away from zero. The sample costs a quarter of a pass per mode,
 * where counting every residual cost four passes' time, and the plans it
 * picks are within 1 % of those of the full count on the benchmark data.
 *
 * Packing and unpacking go through one function per width (FOR_EACH_WIDTH),
 * working on groups of 8 values, which fill exactly w bytes: with w a
 * compile-time constant every shift and offset is too. The unpackers use
 * 64-bit little-endian loads that read up to 8 bytes beyond the packed
 * bits, so a miniblock that ends within 8 bytes of the input's end, or is
 * partial, is first copied into a zeroed local buffer: no read ever leaves
 * src[0..len), whatever the input. The packers write whole groups, except
 * a partial last group, which goes through a local buffer. The encoder
 * plans and sizes every miniblock before it writes a byte, so a cap too
 * small leaves dst untouched.
 *
 * Decoding unpacks a miniblock, patches its exceptions and integrates it
 * in place; cts_ints_decode_affine also maps x -> offset + x * scale in
 * that pass (the timestamp codec's scaled sequences), and costs plain
 * decoding nothing.
 */
#include "storage_int.h"

#define MINIBLOCK 256u
/* The packed bytes of one full miniblock at width 64, plus load slack. */
#define PACKED_MAX (MINIBLOCK * 8u)
#define LOAD_SLACK 8u

#define PACK_TERNARY 65u
#define HDR_PACK_MASK 0x7fu
#define HDR_EXCEPTIONS 0x80u
#define TERNARY_MAX_BYTE 242u /* 3^5 - 1 */

#define SLOPE_FRAC_BITS 8u
#define LINEAR_DELTA_LIMIT ((int64_t)1 << 32)
/* Windows are considered up to this plain width: offsets, their sum over a
 * miniblock and every exception code then stay far from 2^64. */
#define PFOR_MAX_WIDTH 48u
/* Windows are chosen from every fourth residual. */
#define SAMPLE_STRIDE 4u
#define SAMPLE_MAX ((MINIBLOCK + SAMPLE_STRIDE - 1) / SAMPLE_STRIDE)
#define CODE_MAX_BITS 56u
/* The one-byte exception header holds X < 32 and xw < 8. */
#define SHORT_X_MAX 31u
#define SHORT_XW_MAX 7u

enum { MODE_FOR, MODE_DELTA, MODE_DOD, MODE_LINEAR, MODE_COUNT };

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

/* Bytes of m offsets under packing p. */
static inline size_t packed_bytes(uint32_t m, unsigned p)
{
    return p == PACK_TERNARY ? ((size_t)m + 4u) / 5u : ((size_t)m * p + 7u) / 8u;
}

/* The window size S of packing p < 64. */
static inline uint64_t window_span(unsigned p)
{
    return p == PACK_TERNARY ? 3u : (uint64_t)1 << p;
}

/* The LINEAR prediction for index k of a miniblock. */
static inline uint64_t linear_at(uint64_t slope, uint64_t k)
{
    return (uint64_t)((int64_t)(slope * k) >> SLOPE_FRAC_BITS);
}

/* v[i-1] and v[i-1] - v[i-2] before the next value: carried across
 * miniblocks, whatever their modes. */
typedef struct history {
    uint64_t prev, delta;
} history;

/* Bytes of a miniblock's exception list. */
static size_t exceptions_size(uint32_t m, uint32_t x, unsigned xw)
{
    if (x == 0)
        return 0;
    size_t head = x <= SHORT_X_MAX && xw <= SHORT_XW_MAX ? 1 : 2 + varint_len(x);
    return head + ((size_t)x * (bit_width(m - 1) + xw) + 7) / 8;
}

/* ------------------------------------------------------------------------
 * Encoding: choosing a miniblock's plan.
 * ------------------------------------------------------------------------ */

typedef struct plan {
    uint64_t slope;     /* LINEAR only */
    uint64_t base;      /* offsets are r - base */
    uint32_t size;      /* exact bytes of the miniblock */
    uint8_t mode, pack; /* pack: bits per offset, or PACK_TERNARY */
} plan;

/* Eight-lane GCC/Clang vector extensions, as in codec_float.c: no
 * intrinsics, no per-target code. The loops that touch every value of a
 * miniblock while its plan is chosen are compiled for AVX-512 and AVX2 as
 * well (64-bit compares and min/max), and the loader picks the widest the CPU
 * runs. A comparison yields -1 / 0 lanes. */
typedef uint64_t u64xv __attribute__((vector_size(64)));
typedef int64_t i64xv __attribute__((vector_size(64)));
#define LANES 8u

#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 8)
#define SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMD_CLONES
#endif

/* Lane-wise loads and signed min/max. Macros: a function passing vectors
 * by value would change its ABI with the target. */
#define VLOAD(x, p) memcpy(&(x), (p), sizeof(x))
#define VMIN(a, b) (((a) & ((a) < (b))) | ((b) & ~((a) < (b))))
#define VMAX(a, b) (((a) & ((a) > (b))) | ((b) & ~((a) > (b))))

/* Running signed ranges of the FOR, DELTA and DOD residuals. */
typedef struct ranges {
    int64_t lo[MODE_LINEAR], hi[MODE_LINEAR];
} ranges;

static inline void ranges_add(ranges *rg, uint64_t x, uint64_t d, uint64_t dd)
{
    int64_t r[MODE_LINEAR] = {(int64_t)x, (int64_t)d, (int64_t)dd};
    for (unsigned k = 0; k < MODE_LINEAR; k++) {
        rg->lo[k] = r[k] < rg->lo[k] ? r[k] : rg->lo[k];
        rg->hi[k] = r[k] > rg->hi[k] ? r[k] : rg->hi[k];
    }
}

/* The signed ranges of the FOR, DELTA and DOD residuals of v[0..m), m >= 1,
 * after history h. The first two values need the history; from the third
 * on, eight at a time, each with its two predecessors loaded beside it. */
SIMD_CLONES static void fused_ranges(const uint64_t *v, uint32_t m, history h, int64_t lo[],
                                     int64_t hi[])
{
    ranges rg = {{INT64_MAX, INT64_MAX, INT64_MAX}, {INT64_MIN, INT64_MIN, INT64_MIN}};
    uint64_t prev = h.prev, delta = h.delta;
    uint32_t i = 0;
    for (; i < m && i < 2; i++) {
        uint64_t d = v[i] - prev;
        ranges_add(&rg, v[i], d, d - delta);
        prev = v[i];
        delta = d;
    }
    i64xv lo0 = (i64xv){0} + INT64_MAX, lo1 = lo0, lo2 = lo0;
    i64xv hi0 = (i64xv){0} + INT64_MIN, hi1 = hi0, hi2 = hi0;
    for (; i + LANES <= m; i += LANES) {
        u64xv a, b, c;
        VLOAD(a, v + i), VLOAD(b, v + i - 1), VLOAD(c, v + i - 2);
        i64xv r0 = (i64xv)a, r1 = (i64xv)(a - b), r2 = (i64xv)((a - b) - (b - c));
        lo0 = VMIN(r0, lo0), hi0 = VMAX(r0, hi0);
        lo1 = VMIN(r1, lo1), hi1 = VMAX(r1, hi1);
        lo2 = VMIN(r2, lo2), hi2 = VMAX(r2, hi2);
    }
    if (i > 2) {
        prev = v[i - 1];
        delta = v[i - 1] - v[i - 2];
    }
    for (; i < m; i++) {
        uint64_t d = v[i] - prev;
        ranges_add(&rg, v[i], d, d - delta);
        prev = v[i];
        delta = d;
    }
    for (unsigned l = 0; l < LANES; l++) {
        rg.lo[0] = lo0[l] < rg.lo[0] ? lo0[l] : rg.lo[0];
        rg.lo[1] = lo1[l] < rg.lo[1] ? lo1[l] : rg.lo[1];
        rg.lo[2] = lo2[l] < rg.lo[2] ? lo2[l] : rg.lo[2];
        rg.hi[0] = hi0[l] > rg.hi[0] ? hi0[l] : rg.hi[0];
        rg.hi[1] = hi1[l] > rg.hi[1] ? hi1[l] : rg.hi[1];
        rg.hi[2] = hi2[l] > rg.hi[2] ? hi2[l] : rg.hi[2];
    }
    memcpy(lo, rg.lo, sizeof rg.lo);
    memcpy(hi, rg.hi, sizeof rg.hi);
}

/* The sum of v[i] - v[0] over i in [from, from + count), wrapping. */
SIMD_CLONES static uint64_t sum_from_first(const uint64_t *v, uint32_t from, uint32_t count)
{
    u64xv acc = {0};
    uint64_t sum = 0;
    uint32_t i = 0;
    for (; i + LANES <= count; i += LANES) {
        u64xv a;
        VLOAD(a, v + from + i);
        acc += a;
    }
    for (; i < count; i++)
        sum += v[from + i];
    for (unsigned l = 0; l < LANES; l++)
        sum += acc[l];
    return sum - (uint64_t)count * v[0];
}

/* LINEAR's slope, false when LINEAR is no candidate (see the opening
 * comment). The DELTA bounds keep every sum below 2^48 in magnitude, so the
 * wrapping sums are exact. */
static bool linear_slope(const uint64_t *v, uint32_t m, int64_t dlo, int64_t dhi, uint64_t *slope)
{
    if (m < 2 || dlo <= -LINEAR_DELTA_LIMIT || dhi >= LINEAR_DELTA_LIMIT)
        return false;
    uint32_t h = m / 2;
    int64_t first = (int64_t)sum_from_first(v, 0, h), last = (int64_t)sum_from_first(v, m - h, h);
    int64_t num = (last - first) * ((int64_t)1 << SLOPE_FRAC_BITS);
    int64_t den = (int64_t)h * (int64_t)(m - h);
    int64_t q = num >= 0 ? (num + den / 2) / den : -((den / 2 - num) / den);
    *slope = (uint64_t)q;
    return true;
}

/* out[i] = residual i of `mode` for v[0..m) after history h. */
SIMD_CLONES static void residual_fill(const uint64_t *v, uint32_t m, unsigned mode, history h,
                                      uint64_t slope, uint64_t *out)
{
    uint32_t i = 0;
    switch (mode) {
    case MODE_FOR:
        memcpy(out, v, (size_t)m * sizeof *out);
        return;
    case MODE_DELTA:
        out[0] = v[0] - h.prev;
        for (i = 1; i + LANES <= m; i += LANES) {
            u64xv a, b;
            VLOAD(a, v + i), VLOAD(b, v + i - 1);
            a -= b;
            memcpy(out + i, &a, sizeof a);
        }
        for (; i < m; i++)
            out[i] = v[i] - v[i - 1];
        return;
    case MODE_DOD:
        out[0] = (v[0] - h.prev) - h.delta;
        if (m > 1)
            out[1] = (v[1] - v[0]) - (v[0] - h.prev);
        for (i = 2; i + LANES <= m; i += LANES) {
            u64xv a, b, c;
            VLOAD(a, v + i), VLOAD(b, v + i - 1), VLOAD(c, v + i - 2);
            a = (a - b) - (b - c);
            memcpy(out + i, &a, sizeof a);
        }
        for (; i < m; i++)
            out[i] = (v[i] - v[i - 1]) - (v[i - 1] - v[i - 2]);
        return;
    default: {
        /* slope * k for the eight lanes, stepped by addition */
        u64xv at = {0, 1, 2, 3, 4, 5, 6, 7};
        at *= slope;
        for (; i + LANES <= m; i += LANES) {
            u64xv a;
            VLOAD(a, v + i);
            a -= (u64xv)((i64xv)at >> SLOPE_FRAC_BITS);
            memcpy(out + i, &a, sizeof a);
            at += slope * LANES;
        }
        for (; i < m; i++)
            out[i] = v[i] - linear_at(slope, i);
        return;
    }
    }
}

/* Counts r[i] outside [base, base + span) and the signed range of r[0..m),
 * m >= 1. */
SIMD_CLONES static uint32_t count_outside(const uint64_t *r, uint32_t m, uint64_t base,
                                          uint64_t span, int64_t *lo, int64_t *hi)
{
    i64xv out = {0}, mn = (i64xv){0} + (int64_t)r[0], mx = mn;
    uint32_t i = 0, x = 0;
    for (; i + LANES <= m; i += LANES) {
        u64xv a;
        VLOAD(a, r + i);
        i64xv s = (i64xv)a;
        out += (i64xv)(a - base >= span);
        mn = VMIN(s, mn);
        mx = VMAX(s, mx);
    }
    int64_t l = (int64_t)r[0], u = l;
    for (; i < m; i++) {
        x += r[i] - base >= span;
        l = (int64_t)r[i] < l ? (int64_t)r[i] : l;
        u = (int64_t)r[i] > u ? (int64_t)r[i] : u;
    }
    for (unsigned k = 0; k < LANES; k++) {
        x -= (uint32_t)out[k];
        l = mn[k] < l ? mn[k] : l;
        u = mx[k] > u ? mx[k] : u;
    }
    *lo = l;
    *hi = u;
    return x;
}

/* Residual i of every sampled index i = 0, SAMPLE_STRIDE, ... < m of
 * `mode` into out[]; returns their count. */
static uint32_t sample_residuals(const uint64_t *v, uint32_t m, unsigned mode, history h,
                                 uint64_t slope, uint64_t *out)
{
    uint32_t k = 1;
    switch (mode) {
    case MODE_FOR:
        for (uint32_t i = 0; i < m; i += SAMPLE_STRIDE)
            out[i / SAMPLE_STRIDE] = v[i];
        break;
    case MODE_DELTA:
        out[0] = v[0] - h.prev;
        for (uint32_t i = SAMPLE_STRIDE; i < m; i += SAMPLE_STRIDE, k++)
            out[k] = v[i] - v[i - 1];
        break;
    case MODE_DOD:
        out[0] = (v[0] - h.prev) - h.delta;
        for (uint32_t i = SAMPLE_STRIDE; i < m; i += SAMPLE_STRIDE, k++)
            out[k] = (v[i] - v[i - 1]) - (v[i - 1] - v[i - 2]);
        break;
    default:
        for (uint32_t i = 0; i < m; i += SAMPLE_STRIDE)
            out[i / SAMPLE_STRIDE] = v[i] - linear_at(slope, i);
        break;
    }
    return (m + SAMPLE_STRIDE - 1) / SAMPLE_STRIDE;
}

/* A window candidate: offsets r - base packed with `pack`. */
typedef struct window {
    unsigned mode, pack;
    uint64_t base;
    size_t size; /* as estimated from the sample */
} window;

/* The size of a window over m residuals with x of them outside, the
 * farthest `code` away. */
static size_t window_size(size_t head, uint32_t m, unsigned pack, uint64_t base, uint32_t x,
                          uint64_t code)
{
    return head + varint_len(cts_zigzag((int64_t)base)) + packed_bytes(m, pack) +
           exceptions_size(m, x, x ? bit_width(code) : 0);
}

/* The largest exception code of window [start, start + span) over values
 * whose offsets from their smallest lie in [0, top]; start is an offset too.
 * All below 2^50 in magnitude. */
static uint64_t farthest_code(int64_t start, uint64_t span, uint64_t top)
{
    int64_t above = (int64_t)top - start - (int64_t)span;
    uint64_t code = above >= 0 ? 2 * (uint64_t)above : 0;
    if (start > 0 && 2 * (uint64_t)start - 1 > code)
        code = 2 * (uint64_t)start - 1;
    return code;
}

/* What choosing a window needs of a sample rs[0..ms) of residuals. */
typedef struct spread {
    uint64_t lo, top; /* the smallest; the largest's offset from it */
    uint64_t centre;  /* offset of c, the rounded mean, from lo */
    unsigned w;       /* bits of top */
    /* inside[p]: how many lie in the window of 2^p centred on c, that is
     * zz(r - c) < 2^p, for p <= w; three: how many in [c - 1, c + 1] */
    uint32_t inside[PFOR_MAX_WIDTH + 1], three;
} spread;

/* Fills *sp; false when the sample is wider than PFOR_MAX_WIDTH. */
SIMD_CLONES static bool spread_of(const uint64_t *rs, uint32_t ms, spread *sp)
{
    i64xv mn = (i64xv){0} + (int64_t)rs[0], mx = mn;
    u64xv acc = {0};
    uint32_t i = 0, vec = ms / LANES * LANES;
    for (; i < vec; i += LANES) {
        u64xv a;
        VLOAD(a, rs + i);
        i64xv s = (i64xv)a;
        mn = VMIN(s, mn), mx = VMAX(s, mx);
        acc += a;
    }
    int64_t lo = (int64_t)rs[0], hi = lo;
    uint64_t sum = 0;
    for (; i < ms; i++) {
        lo = (int64_t)rs[i] < lo ? (int64_t)rs[i] : lo;
        hi = (int64_t)rs[i] > hi ? (int64_t)rs[i] : hi;
        sum += rs[i];
    }
    for (unsigned l = 0; l < LANES; l++) {
        lo = mn[l] < lo ? mn[l] : lo;
        hi = mx[l] > hi ? mx[l] : hi;
        sum += acc[l];
    }
    sp->lo = (uint64_t)lo;
    sp->top = (uint64_t)hi - (uint64_t)lo;
    sp->w = bit_width(sp->top);
    if (sp->w > PFOR_MAX_WIDTH)
        return false;
    sum -= (uint64_t)ms * sp->lo; /* the sum of rs[i] - lo, below 2^56 */
    sp->centre = (sum + ms / 2) / ms;
    /* The zigzagged distances from c, then one counting pass per window:
     * compares, where a histogram would wait on its own stores. */
    uint64_t c = sp->lo + sp->centre, z[SAMPLE_MAX];
    for (i = 0; i < vec; i += LANES) {
        u64xv a;
        VLOAD(a, rs + i);
        a -= c;
        a = (a << 1) ^ (u64xv)((i64xv)a >> 63);
        memcpy(z + i, &a, sizeof a);
    }
    for (; i < ms; i++)
        z[i] = cts_zigzag((int64_t)(rs[i] - c));
    for (unsigned p = 0; p <= sp->w + 1; p++) {
        uint64_t limit = p <= sp->w ? (uint64_t)1 << p : 3;
        i64xv in = {0};
        uint32_t count = 0;
        for (i = 0; i < vec; i += LANES) {
            u64xv a;
            VLOAD(a, z + i);
            in -= (i64xv)(a < limit);
        }
        for (; i < ms; i++)
            count += z[i] < limit;
        for (unsigned l = 0; l < LANES; l++)
            count += (uint32_t)in[l];
        if (p <= sp->w)
            sp->inside[p] = count;
        else
            sp->three = count;
    }
    return true;
}

/* Estimates, from the sample rs[0..ms) of one mode's m residuals, every
 * window centred on the sample's rounded mean c: 2^p values for p = the
 * sample's width down to 0, then three values. Keeps the smallest in *best;
 * exceptions are counted in the sample and scaled by m / ms. */
static void estimate_windows(const uint64_t *rs, uint32_t ms, uint32_t m, unsigned mode,
                             size_t head, window *best)
{
    spread sp;
    if (!spread_of(rs, ms, &sp))
        return;
    for (unsigned p = sp.w + 1; p-- > 0;) {
        uint64_t span = (uint64_t)1 << p;
        int64_t start = (int64_t)sp.centre - (int64_t)(span / 2);
        uint32_t x = (uint32_t)(((uint64_t)(ms - sp.inside[p]) * m + ms / 2) / ms);
        uint64_t base = sp.lo + (uint64_t)start;
        size_t size = window_size(head, m, p, base, x, farthest_code(start, span, sp.top));
        if (size < best->size)
            *best = (window){mode, p, base, size};
    }
    if (sp.w >= 2) {
        int64_t start = (int64_t)sp.centre - 1;
        uint32_t x = (uint32_t)(((uint64_t)(ms - sp.three) * m + ms / 2) / ms);
        uint64_t base = sp.lo + (uint64_t)start;
        size_t size = window_size(head, m, PACK_TERNARY, base, x, farthest_code(start, 3, sp.top));
        if (size < best->size)
            *best = (window){mode, PACK_TERNARY, base, size};
    }
}

static size_t plan_head(unsigned mode, uint64_t slope)
{
    return 1 + (mode == MODE_LINEAR ? varint_len(cts_zigzag((int64_t)slope)) : 0);
}

/* Keeps the plain packing of residuals in [lo, hi] in *best when smaller. */
static void try_plain(unsigned mode, uint64_t slope, uint32_t m, int64_t lo, int64_t hi, plan *best)
{
    unsigned w = bit_width((uint64_t)hi - (uint64_t)lo);
    size_t size = plan_head(mode, slope) + varint_len(cts_zigzag(lo)) + packed_bytes(m, w);
    if (size < best->size)
        *best = (plan){slope, (uint64_t)lo, (uint32_t)size, (uint8_t)mode, (uint8_t)w};
}

/* The smallest plan for v[0..m) after history h (see the opening comment);
 * buf is scratch. */
static void choose_plan(const uint64_t *v, uint32_t m, history h, uint64_t *buf, plan *best)
{
    int64_t lo[MODE_COUNT], hi[MODE_COUNT];
    unsigned w[MODE_LINEAR], wmin = 64;
    uint64_t slope = 0, rs[SAMPLE_MAX];
    fused_ranges(v, m, h, lo, hi);
    bool linear = linear_slope(v, m, lo[MODE_DELTA], hi[MODE_DELTA], &slope);
    best->size = UINT32_MAX;
    for (unsigned k = 0; k < MODE_LINEAR; k++) {
        try_plain(k, slope, m, lo[k], hi[k], best);
        w[k] = bit_width((uint64_t)hi[k] - (uint64_t)lo[k]);
        wmin = w[k] < wmin ? w[k] : wmin;
    }
    window wd = {0, 0, 0, SIZE_MAX};
    for (unsigned k = 0; k < MODE_COUNT; k++) {
        /* LINEAR's windows take in FOR's, slope 0 being FOR, at a byte */
        bool sample = k == MODE_LINEAR ? linear
                                       : w[k] >= 1 && w[k] <= PFOR_MAX_WIDTH && w[k] <= wmin + 1 &&
                                             (k != MODE_FOR || !linear) &&
                                             (k != MODE_DOD || w[k] <= w[MODE_DELTA]);
        if (!sample)
            continue;
        uint32_t ms = sample_residuals(v, m, k, h, slope, rs);
        estimate_windows(rs, ms, m, k, plan_head(k, slope), &wd);
    }
    if (wd.size == SIZE_MAX)
        return;
    /* The candidate, sized exactly. */
    uint64_t span = window_span(wd.pack);
    residual_fill(v, m, wd.mode, h, slope, buf);
    uint32_t x = count_outside(buf, m, wd.base, span, &lo[wd.mode], &hi[wd.mode]);
    if (wd.mode == MODE_LINEAR)
        try_plain(MODE_LINEAR, slope, m, lo[MODE_LINEAR], hi[MODE_LINEAR], best);
    uint64_t top = (uint64_t)hi[wd.mode] - (uint64_t)lo[wd.mode];
    int64_t start = (int64_t)(wd.base - (uint64_t)lo[wd.mode]);
    size_t size = window_size(plan_head(wd.mode, slope), m, wd.pack, wd.base, x,
                              farthest_code(start, span, top));
    if (size < best->size)
        *best = (plan){slope, wd.base, (uint32_t)size, (uint8_t)wd.mode, (uint8_t)wd.pack};
}

/* ------------------------------------------------------------------------
 * Encoding: writing a miniblock.
 * ------------------------------------------------------------------------ */

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

/* Five offsets (each < 3) per byte, the first least significant. */
static void pack_ternary(const uint64_t *off, uint32_t m, uint8_t *dst)
{
    for (uint32_t i = 0; i < m; i += 5) {
        unsigned byte = 0;
        for (uint32_t j = i + 5 < m ? i + 5 : m; j-- > i;)
            byte = byte * 3 + (unsigned)off[j];
        *dst++ = (uint8_t)byte;
    }
}

/* An LSB-first bit stream of fields of at most 56 bits. */
typedef struct bitsink {
    uint8_t *p;
    uint64_t acc;
    unsigned fill; /* < 8 between calls */
} bitsink;

static void sink_put(bitsink *s, uint64_t x, unsigned bits)
{
    s->acc |= x << s->fill;
    for (s->fill += bits; s->fill >= 8; s->fill -= 8) {
        *s->p++ = (uint8_t)s->acc;
        s->acc >>= 8;
    }
}

/* The exception code of offset d (as int64) outside [0, span). */
static inline uint64_t exception_code(int64_t d, uint64_t span)
{
    return d >= 0 ? 2 * (uint64_t)(d - (int64_t)span) : 2 * (uint64_t)(-d) - 1;
}

/* Replaces r[0..m) by their offsets from base, those outside [0, span) by 0
 * (span 0: no window, no exceptions); the exceptions' positions and codes
 * go to pos[] and code[]. Returns their count. Eight at a time: most groups
 * hold none. */
SIMD_CLONES static uint32_t split_exceptions(uint64_t *r, uint32_t m, uint64_t base, uint64_t span,
                                             uint8_t *pos, uint64_t *code)
{
    uint32_t x = 0, i = 0;
    for (; i + LANES <= m; i += LANES) {
        u64xv a;
        VLOAD(a, r + i);
        a -= base;
        i64xv out = (i64xv)(a >= span) & (span != 0 ? -1 : 0);
        u64xv kept = a & ~(u64xv)out;
        memcpy(r + i, &kept, sizeof kept);
        int64_t any = 0;
        for (unsigned l = 0; l < LANES; l++)
            any |= out[l];
        for (unsigned l = 0; any && l < LANES; l++) {
            if (out[l]) {
                pos[x] = (uint8_t)(i + l);
                code[x++] = exception_code((int64_t)a[l], span);
            }
        }
    }
    for (; i < m; i++) {
        uint64_t off = r[i] - base;
        if (span != 0 && off >= span) {
            pos[x] = (uint8_t)i;
            code[x++] = exception_code((int64_t)off, span);
            off = 0;
        }
        r[i] = off;
    }
    return x;
}

/* Writes an exception list of x >= 1 entries at p; returns its end. */
static uint8_t *put_exceptions(uint8_t *p, uint32_t m, const uint8_t *pos, const uint64_t *code,
                               uint32_t x, unsigned xw)
{
    if (x <= SHORT_X_MAX && xw <= SHORT_XW_MAX) {
        *p++ = (uint8_t)(x << 3 | xw);
    } else {
        *p++ = 0;
        p += cts_varint_put(p, x);
        *p++ = (uint8_t)xw;
    }
    bitsink s = {p, 0, 0};
    unsigned pw = bit_width(m - 1);
    for (uint32_t k = 0; k < x; k++)
        sink_put(&s, pos[k], pw);
    for (uint32_t k = 0; k < x; k++)
        sink_put(&s, code[k], xw);
    sink_put(&s, 0, 7); /* flushes a partial last byte */
    return s.p;
}

/* Writes the miniblock of plan pl for v[0..m) after history h at p, which
 * has room for pl->size bytes; returns the end. buf is scratch. */
static uint8_t *write_miniblock(const uint64_t *v, uint32_t m, history h, const plan *pl,
                                uint64_t *buf, uint8_t *p)
{
    uint8_t pos[MINIBLOCK];
    uint64_t code[MINIBLOCK];
    residual_fill(v, m, pl->mode, h, pl->slope, buf);
    uint64_t span = pl->pack == 64 ? 0 : window_span(pl->pack);
    uint32_t x = split_exceptions(buf, m, pl->base, span, pos, code);
    uint64_t farthest = 0;
    for (uint32_t k = 0; k < x; k++)
        farthest = code[k] > farthest ? code[k] : farthest;
    *p++ = (uint8_t)(pl->pack | (x ? HDR_EXCEPTIONS : 0));
    if (pl->mode == MODE_LINEAR)
        p += cts_varint_put(p, cts_zigzag((int64_t)pl->slope));
    p += cts_varint_put(p, cts_zigzag((int64_t)pl->base));
    if (pl->pack == PACK_TERNARY)
        pack_ternary(buf, m, p);
    else if (pl->pack != 0)
        pack(buf, m, pl->pack, 0, p);
    p += packed_bytes(m, pl->pack);
    return x ? put_exceptions(p, m, pos, code, x, bit_width(farthest)) : p;
}

/* The history after v[0..m), m >= 1, given the history h before it. */
static history advance(const uint64_t *v, uint32_t m, history h)
{
    uint64_t before = m >= 2 ? v[m - 2] : h.prev;
    return (history){v[m - 1], v[m - 1] - before};
}

size_t cts_ints_bound(uint32_t n)
{
    size_t blocks = ((size_t)n + MINIBLOCK - 1) / MINIBLOCK;
    return 2 * 10 + (blocks + 3) / 4 + blocks * (1 + 10 + 10) + (size_t)n * 8;
}

int cts_ints_encode(const uint64_t *v, uint32_t n, uint8_t *dst, size_t cap)
{
    if (n > CTS_BLOCK_MAX_COUNT)
        return CTS_EINVAL;
    if (n == 0)
        return 0;
    uint64_t d0 = n > 1 ? v[1] - v[0] : 0;
    uint32_t blocks = (n + MINIBLOCK - 1) / MINIBLOCK;
    size_t at = varint_len(cts_zigzag((int64_t)v[0])) + varint_len(cts_zigzag((int64_t)d0));
    size_t map_len = (blocks + 3) / 4;
    at += map_len;
    if (cap < at)
        return CTS_ENOSPACE;
    /* Every plan first, so that nothing is written unless all of it fits;
     * the residuals are then computed again, to be written. */
    _Static_assert(CTS_BLOCK_MAX_COUNT % MINIBLOCK == 0, "whole miniblocks");
    plan plans[CTS_BLOCK_MAX_COUNT / MINIBLOCK];
    uint64_t buf[MINIBLOCK];
    history h = {v[0] - d0, d0};
    for (uint32_t b = 0; b < blocks; b++) {
        uint32_t j = b * MINIBLOCK, m = n - j < MINIBLOCK ? n - j : MINIBLOCK;
        choose_plan(v + j, m, h, buf, &plans[b]);
        if (cap - at < plans[b].size)
            return CTS_ENOSPACE;
        at += plans[b].size;
        h = advance(v + j, m, h);
    }
    uint8_t *p = dst + cts_varint_put(dst, cts_zigzag((int64_t)v[0]));
    p += cts_varint_put(p, cts_zigzag((int64_t)d0));
    memset(p, 0, map_len);
    for (uint32_t b = 0; b < blocks; b++)
        p[b / 4] |= (uint8_t)(plans[b].mode << (2 * (b % 4)));
    p += map_len;
    h = (history){v[0] - d0, d0};
    for (uint32_t b = 0; b < blocks; b++) {
        uint32_t j = b * MINIBLOCK, m = n - j < MINIBLOCK ? n - j : MINIBLOCK;
        p = write_miniblock(v + j, m, h, &plans[b], buf, p);
        h = advance(v + j, m, h);
    }
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

/* One full miniblock: 32 groups of 8 values, each group w bytes. */
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
 * so each sequence has one encoding per plan. */
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

/* The five base-3 digits of a byte b, digit j in byte j (for b > 242 the
 * value is meaningless: such bytes are rejected first). */
#define TERNARY_DIGITS(b)                                                                          \
    ((uint64_t)((b) % 3) | (uint64_t)((b) / 3 % 3) << 8 | (uint64_t)((b) / 9 % 3) << 16 |          \
     (uint64_t)((b) / 27 % 3) << 24 | (uint64_t)((b) / 81 % 3) << 32),
#define TERNARY_4(b)                                                                               \
    TERNARY_DIGITS(b) TERNARY_DIGITS(b + 1) TERNARY_DIGITS(b + 2) TERNARY_DIGITS(b + 3)
#define TERNARY_16(b) TERNARY_4(b) TERNARY_4(b + 4) TERNARY_4(b + 8) TERNARY_4(b + 12)
#define TERNARY_64(b) TERNARY_16(b) TERNARY_16(b + 16) TERNARY_16(b + 32) TERNARY_16(b + 48)
static const uint64_t ternary_digits[256] = {TERNARY_64(0) TERNARY_64(64) TERNARY_64(128)
                                                 TERNARY_64(192)};

/* Base-3 digits, five per byte; rejects bytes above 242 and, in a partial
 * last byte, digits beyond m. */
static int unpack_ternary(const uint8_t *in, uint32_t m, uint64_t base, uint64_t *out)
{
    uint32_t i = 0;
    for (; i + 5 <= m; i += 5) {
        unsigned b = *in++;
        if (b > TERNARY_MAX_BYTE)
            return CTS_ECORRUPT;
        uint64_t d = ternary_digits[b];
        out[i] = base + (d & 0xff);
        out[i + 1] = base + ((d >> 8) & 0xff);
        out[i + 2] = base + ((d >> 16) & 0xff);
        out[i + 3] = base + ((d >> 24) & 0xff);
        out[i + 4] = base + (d >> 32);
    }
    if (i < m) {
        unsigned b = *in, limit = 1;
        for (uint32_t j = i; j < m; j++)
            limit *= 3;
        if (b >= limit)
            return CTS_ECORRUPT;
        for (; i < m; i++, b /= 3)
            out[i] = base + b % 3;
    }
    return 0;
}

static int unpack_offsets(const uint8_t *in, size_t avail, uint32_t m, unsigned pack, uint64_t base,
                          uint64_t *out)
{
    if (pack == 0) {
        for (uint32_t i = 0; i < m; i++)
            out[i] = base;
        return 0;
    }
    if (pack == PACK_TERNARY)
        return unpack_ternary(in, m, base, out);
    if (m == MINIBLOCK && avail - packed_bytes(m, pack) >= LOAD_SLACK) {
        unpack_table[pack](in, base, out);
        return 0;
    }
    return unpack_padded(in, m, pack, base, out);
}

/* The w-bit field (w <= 56) at bit `bit` of p, which has 8 readable bytes
 * from bit / 8 on. */
static inline uint64_t field_at(const uint8_t *p, size_t bit, unsigned w)
{
    return (load_le64(p + bit / 8) >> (bit % 8)) & (((uint64_t)1 << w) - 1);
}

/* Reads an exception list's header at src[*pos..len): its count and code
 * width, each in range. */
static int exceptions_head(const uint8_t *src, size_t len, size_t *pos, uint32_t m, uint32_t *x,
                           unsigned *xw)
{
    size_t p = *pos;
    uint64_t count;
    if (p >= len)
        return CTS_ECORRUPT;
    if (src[p] != 0) {
        count = src[p] >> 3;
        *xw = src[p++] & 7u;
    } else {
        size_t used = cts_varint_get(src + p + 1, len - p - 1, &count);
        if (used == 0 || len - p - 1 - used < 1)
            return CTS_ECORRUPT;
        p += 1 + used;
        *xw = src[p++];
        if (count <= SHORT_X_MAX && *xw <= SHORT_XW_MAX)
            return CTS_ECORRUPT; /* the short form was due */
    }
    if (count == 0 || count > m || *xw > CODE_MAX_BITS)
        return CTS_ECORRUPT;
    *x = (uint32_t)count;
    *pos = p;
    return 0;
}

/* Reads an exception list at src[*pos..len) and patches r[0..m), whose
 * window is [base, base + span). */
static int patch_exceptions(const uint8_t *src, size_t len, size_t *pos, uint64_t *r, uint32_t m,
                            uint64_t base, uint64_t span)
{
    uint32_t x;
    unsigned xw, pw = bit_width(m - 1);
    size_t p = *pos;
    if (exceptions_head(src, len, &p, m, &x, &xw) != 0)
        return CTS_ECORRUPT;
    size_t bits = (size_t)x * (pw + xw), bytes = (bits + 7) / 8;
    if (len - p < bytes || (bits % 8 != 0 && src[p + bytes - 1] >> (bits % 8) != 0))
        return CTS_ECORRUPT;
    /* The wide loads of field_at need slack: near the end, a padded copy. */
    uint8_t pad[(size_t)MINIBLOCK * (8 + CODE_MAX_BITS) / 8 + LOAD_SLACK];
    const uint8_t *in = src + p;
    if (len - p - bytes < LOAD_SLACK) {
        for (size_t k = 0; k < bytes; k++) /* a few bytes: no library call */
            pad[k] = in[k];
        store_le64(pad + bytes, 0);
        in = pad;
    }
    size_t codes = (size_t)x * pw;
    uint64_t next = 0; /* smallest position the next exception may take */
    for (uint32_t k = 0; k < x; k++) {
        uint64_t at = field_at(in, (size_t)k * pw, pw);
        uint64_t c = field_at(in, codes + (size_t)k * xw, xw);
        /* Increasing positions, each over a zero slot: one list per plan. */
        if (at < next || at >= m || r[at] != base)
            return CTS_ECORRUPT;
        /* Branch-free: the side of the window is a coin toss. */
        uint64_t below = (uint64_t)0 - (c & 1);
        r[at] = base + ((~(c >> 1) & below) | ((span + (c >> 1)) & ~below));
        next = at + 1;
    }
    *pos = p + bytes;
    return 0;
}

/* Reads one miniblock's residuals into r[0..m), advancing *pos; LINEAR's
 * slope goes to *slope. */
static int read_miniblock(const uint8_t *src, size_t len, size_t *pos, unsigned mode, uint64_t *r,
                          uint32_t m, uint64_t *slope)
{
    size_t p = *pos;
    uint64_t zz;
    if (p >= len)
        return CTS_ECORRUPT;
    unsigned pack = src[p] & HDR_PACK_MASK;
    bool exceptions = (src[p++] & HDR_EXCEPTIONS) != 0;
    if (pack > PACK_TERNARY || (exceptions && pack == 64))
        return CTS_ECORRUPT;
    if (mode == MODE_LINEAR) {
        size_t used = cts_varint_get(src + p, len - p, &zz);
        if (used == 0)
            return CTS_ECORRUPT;
        p += used;
        *slope = (uint64_t)cts_unzigzag(zz);
    }
    size_t used = cts_varint_get(src + p, len - p, &zz);
    if (used == 0)
        return CTS_ECORRUPT;
    p += used;
    uint64_t base = (uint64_t)cts_unzigzag(zz);
    size_t bytes = packed_bytes(m, pack);
    if (len - p < bytes || unpack_offsets(src + p, len - p, m, pack, base, r) != 0)
        return CTS_ECORRUPT;
    p += bytes;
    if (exceptions && patch_exceptions(src, len, &p, r, m, base, window_span(pack)) != 0)
        return CTS_ECORRUPT;
    *pos = p;
    return 0;
}

/* r[i] += the LINEAR prediction for index i. */
SIMD_CLONES static void add_linear(uint64_t *r, uint32_t m, uint64_t slope)
{
    u64xv at = {0, 1, 2, 3, 4, 5, 6, 7}; /* slope * i, stepped by addition */
    at *= slope;
    uint32_t i = 0;
    for (; i + LANES <= m; i += LANES) {
        u64xv a;
        VLOAD(a, r + i);
        a += (u64xv)((i64xv)at >> SLOPE_FRAC_BITS);
        memcpy(r + i, &a, sizeof a);
        at += slope * LANES;
    }
    for (; i < m; i++)
        r[i] += linear_at(slope, i);
}

/* r[i] = offset + r[i] * scale, wrapping. */
SIMD_CLONES static void map_affine(uint64_t *r, uint32_t m, uint64_t offset, uint64_t scale)
{
    uint32_t i = 0;
    for (; i + LANES <= m; i += LANES) {
        u64xv a;
        VLOAD(a, r + i);
        a = offset + a * scale;
        memcpy(r + i, &a, sizeof a);
    }
    for (; i < m; i++)
        r[i] = offset + r[i] * scale;
}

/* Turns a miniblock's residuals r[0..m) into values, in place, continuing
 * history *h, and maps each value x to offset + x * scale when `affine`
 * (a constant after inlining, so plain decoding pays no multiply). */
static inline __attribute__((always_inline)) void integrate(uint64_t *r, uint32_t m, unsigned mode,
                                                            uint64_t slope, history *h,
                                                            uint64_t offset, uint64_t scale,
                                                            const bool affine)
{
#define MAP(x) (affine ? offset + (x)*scale : (x))
    /* Four values a step: their sums within the step are independent of
     * the running prev and delta, which then advance once per step rather
     * than once per value. */
    uint64_t prev = h->prev, delta = h->delta;
    uint32_t i = 0;
    if (mode == MODE_DELTA) {
        for (; i + 4 <= m; i += 4) {
            uint64_t p1 = r[i], p2 = p1 + r[i + 1], p3 = p2 + r[i + 2], p4 = p3 + r[i + 3];
            delta = r[i + 3];
            r[i] = MAP(prev + p1);
            r[i + 1] = MAP(prev + p2);
            r[i + 2] = MAP(prev + p3);
            r[i + 3] = MAP(prev + p4);
            prev += p4;
        }
        for (; i < m; i++) {
            delta = r[i];
            prev += delta;
            r[i] = MAP(prev);
        }
        *h = (history){prev, delta};
        return;
    }
    if (mode == MODE_DOD) {
        for (; i + 4 <= m; i += 4) {
            uint64_t p1 = r[i], p2 = p1 + r[i + 1], p3 = p2 + r[i + 2], p4 = p3 + r[i + 3];
            uint64_t q2 = p1 + p2, q3 = q2 + p3, q4 = q3 + p4;
            r[i] = MAP(prev + delta + p1);
            r[i + 1] = MAP(prev + 2 * delta + q2);
            r[i + 2] = MAP(prev + 3 * delta + q3);
            r[i + 3] = MAP(prev + 4 * delta + q4);
            prev += 4 * delta + q4;
            delta += p4;
        }
        for (; i < m; i++) {
            delta += r[i];
            prev += delta;
            r[i] = MAP(prev);
        }
        *h = (history){prev, delta};
        return;
    }
    if (mode == MODE_LINEAR)
        add_linear(r, m, slope);
    *h = advance(r, m, *h);
    if (affine)
        map_affine(r, m, offset, scale);
#undef MAP
}

static inline __attribute__((always_inline)) int decode(const uint8_t *src, size_t len,
                                                        uint64_t *out, uint32_t n, uint64_t offset,
                                                        uint64_t scale, const bool affine)
{
    if (n == 0)
        return len == 0 ? 0 : CTS_ECORRUPT;
    uint64_t zz0, zz1;
    size_t pos = cts_varint_get(src, len, &zz0), used;
    if (pos == 0 || (used = cts_varint_get(src + pos, len - pos, &zz1)) == 0)
        return CTS_ECORRUPT;
    pos += used;
    uint64_t v0 = (uint64_t)cts_unzigzag(zz0), d0 = (uint64_t)cts_unzigzag(zz1);
    uint32_t blocks = (n + MINIBLOCK - 1) / MINIBLOCK;
    size_t map_len = (blocks + 3) / 4;
    if (len - pos < map_len)
        return CTS_ECORRUPT;
    const uint8_t *map = src + pos;
    if (blocks % 4 != 0 && (map[map_len - 1] >> (2 * (blocks % 4))) != 0)
        return CTS_ECORRUPT;
    pos += map_len;
    history h = {v0 - d0, d0};
    for (uint32_t b = 0; b < blocks; b++) {
        uint32_t j = b * MINIBLOCK, m = n - j < MINIBLOCK ? n - j : MINIBLOCK;
        unsigned mode = (map[b / 4] >> (2 * (b % 4))) & 3u;
        uint64_t slope = 0;
        if (read_miniblock(src, len, &pos, mode, out + j, m, &slope) != 0)
            return CTS_ECORRUPT;
        integrate(out + j, m, mode, slope, &h, offset, scale, affine);
    }
    return pos == len ? 0 : CTS_ECORRUPT;
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
