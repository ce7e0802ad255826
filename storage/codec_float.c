/*
 * codec_float.c: the float64 column codec. A block of doubles becomes one of
 * three encodings, whichever is smallest:
 *
 *   CTS_CODEC_F_ALP  decimals as scaled integers (ALP, Afroozeh & Boncz,
 *                    SIGMOD 2024). Sensors report decimals: 21.4 degC is
 *                    stored as the double nearest to 21.4, and that double is
 *                    exactly (double)214 / 10.0, because IEEE division of two
 *                    exactly representable numbers is correctly rounded, as
 *                    strtod("21.4") is. So a block of decimals with at most e
 *                    places is a block of integers d plus one exponent e, and
 *                    the integers go through cts_ints (FOR / delta /
 *                    delta-of-delta, bit-packed), which is where the
 *                    compression comes from.
 *   CTS_CODEC_F_XOR  Chimp (Liakos et al., VLDB 2022), a refinement of
 *                    Gorilla's XOR coding, for data that is not decimal.
 *   CTS_CODEC_RAW    8 bytes little-endian per value.
 *
 * Invariant: every encoding is bit-exact. The ALP encoder never trusts its
 * arithmetic: it decodes each scaled integer with alp_dec(), the very
 * function the decoder uses, and compares bit patterns with the input. Any
 * value that does not come back identical (-0.0, NaN with any payload, +-Inf,
 * subnormals, numbers too large to scale, decimals with more places than e)
 * is stored raw as an exception. More than 1/8 exceptions and ALP gives up.
 *
 * Both directions scale and round with the 1.5 * 2^52 trick instead of
 * llrint() and integer casts: adding 1.5 * 2^52 to |x| < 2^51 rounds x to an
 * integer (ties to even, the default rounding mode) and puts that integer in
 * the low mantissa bits, so int64 <-> double conversion is one integer add
 * plus one float subtract. That keeps the encode and decode loops free of
 * calls and branches, and expressible in portable vector types (no x86-64
 * before AVX-512 converts int64 to double in SIMD registers). Decoding a
 * chunk is then: unpack the integers (cts_ints), one add-subtract-divide
 * pass, patch the exceptions.
 *
 * Choosing ALP's exponent: up to 32 values spread over the block are tried
 * with e = 0..18; the smallest e with the most exact round-trips wins. If
 * more than a quarter of the sample fails for every e, ALP is not tried.
 * XOR's exact size is counted without writing when ALP failed or needs more
 * than 2 bytes a value (XOR never wins below that on decimal data); raw is
 * always 8n bytes, so cts_float_bound(n) = 8n. Ties go to the cheaper
 * decoder: RAW, then ALP, then XOR. The choice never depends on `cap`: a cap
 * below the bound is served by encoding into a temporary buffer of the bound
 * and copying, so any cap yields the same bytes or CTS_ENOSPACE.
 *
 * CTS_CODEC_F_ALP layout (all integers little-endian):
 *
 *   OFFSET  SIZE  FIELD
 *   0       1     e, the decimal exponent, 0..18: value = d / 10^e
 *   1       ...   ceil(n / 1024) chunks of m = 1024 values (the last one
 *                 holds the rest), each as below
 *
 *   Chunk:
 *   OFFSET  SIZE  FIELD
 *   0       2     L, bytes of the integer stream (u16)
 *   2       L     cts_ints stream of the chunk's m integers d (int64 as
 *                 uint64), each in [-2^51, 2^51) or the chunk is corrupt;
 *                 an exception's slot repeats its predecessor's d (or the
 *                 first non-exception's, at the start) so that it does not
 *                 widen the packing
 *   2+L     1..2  X, number of exceptions (varint), X <= m
 *   ...     X *   exceptions in increasing position order:
 *                   varint  gap: position = previous position + 1 + gap
 *                           (the first: position = gap); position < m
 *                   8       the value's bit pattern (u64)
 *
 * Chunks of 1024 let encode and decode keep their integers in an 8 KiB stack
 * array that stays in L1, and need no allocation.
 *
 * CTS_CODEC_F_XOR layout: one bit stream, least significant bit first within
 * each byte, fields written low bits first; the last byte is padded with
 * zero bits, and a stream ends exactly at its last used byte.
 *
 *   FIELD                          BITS  MEANING
 *   first value                    64    bit pattern of v[0]
 *   then for each next value, x = bits(v[i]) ^ bits(v[i-1]):
 *   flag 0                         2     x == 0 (the stored lead stays,
 *                                  where Chimp forgets it)
 *   flag 1, code, s, centre        2+3+6+s   x has more than 6 trailing zero
 *                                  bits: lead = LEAD[code] leading zeros
 *                                  (rounded down), s >= 1 significant bits,
 *                                  x = centre << (64 - lead - s); forgets the
 *                                  stored lead
 *   flag 2, low bits               2+64-lead  x fits below the stored lead
 *                                  (an error if none is stored)
 *   flag 3, code, low bits         2+3+64-lead  lead = LEAD[code] becomes the
 *                                  stored lead
 *   LEAD = {0, 8, 12, 16, 18, 20, 22, 24}; no lead is stored at the start.
 *
 * CTS_CODEC_RAW layout: OFFSET 8*i, SIZE 8: bit pattern of v[i].
 *
 * n = 0 encodes as RAW with zero bytes; every codec decodes n = 0 only from
 * zero bytes.
 */
#include "storage_int.h"

#include <float.h>
#include <math.h>

/* Verification is only as good as the promise that the decoder computes in
 * the same IEEE double arithmetic as the encoder (no x87 excess precision). */
#if FLT_EVAL_METHOD != 0
#error "codec_float.c needs FLT_EVAL_METHOD == 0"
#endif

#define ALP_MAX_EXP 18u
#define ALP_CHUNK 1024u
#define ALP_SAMPLE 32u
/* Above this many bytes a value, XOR may win, so its size is counted. */
#define ALP_XOR_CHECK_BYTES 2u

/* 1.5 * 2^52 and its bit pattern: see the opening comment. */
#define ALP_MAGIC 6755399441055744.0
#define ALP_MAGIC_BITS 0x4338000000000000ull
/* |v * 10^e| below 2^51 - 1 rounds to |d| <= 2^51 - 1, inside the range
 * the decoder accepts. */
#define ALP_SCALE_LIMIT 2251799813685247.0
#define ALP_D_LIMIT 0x8000000000000ull /* 2^51: d must lie in [-2^51, 2^51) */

#define XOR_NO_LEAD 65u
#define XOR_TRAIL_MIN 7u /* centre coding needs more than 6 trailing zeros */

static const double pow10_tab[ALP_MAX_EXP + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

static const uint8_t xor_lead_of[8] = {0, 8, 12, 16, 18, 20, 22, 24};

static inline uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static inline double dfrom(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Little-endian 8-byte words at any alignment: one load or store, where
 * the byte-wise cts_get_u64() costs RAW decoding a factor of ten. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static inline uint64_t le64(uint64_t x)
{
    return __builtin_bswap64(x);
}
#else
static inline uint64_t le64(uint64_t x)
{
    return x;
}
#endif

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return le64(x);
}

static inline void store_le64(uint8_t *p, uint64_t x)
{
    x = le64(x);
    memcpy(p, &x, sizeof x);
}

/* Eight-lane GCC/Clang vector extensions: no intrinsics, no per-target
 * code. Casts between them reinterpret bits; a comparison yields -1 / 0
 * lanes. The compiler lowers a vector to whatever the target has: four SSE2
 * registers on baseline x86-64, two AVX2 or one AVX-512 register in the
 * clones below, NEON pairs on arm64. */
typedef double f64xv __attribute__((vector_size(64)));
typedef uint64_t u64xv __attribute__((vector_size(64)));
typedef int64_t i64xv __attribute__((vector_size(64)));
#define LANES 8u

/* The two loops that touch every value (scaling on encode, unscaling on
 * decode) are bound by the floating-point divider, whose throughput grows
 * with the vector width, so on x86-64 they are compiled for AVX-512 and
 * AVX2 as well and the loader picks the widest the CPU runs (ifunc). */
#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 8)
#define SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMD_CLONES
#endif

/* The one ALP decoding formula; exact for d in [-2^51, 2^51), garbage (but
 * defined) otherwise. The encoder verifies every value with it. */
static inline double alp_dec(uint64_t d, double p10)
{
    return (dfrom(d + ALP_MAGIC_BITS) - ALP_MAGIC) / p10;
}

/* ------------------------------------------------------------------------
 * RAW
 * ------------------------------------------------------------------------ */

static void raw_encode(const double *v, uint32_t n, uint8_t *dst)
{
    for (uint32_t i = 0; i < n; i++)
        store_le64(dst + 8 * (size_t)i, dbits(v[i]));
}

static int raw_decode(const uint8_t *src, size_t len, double *out, uint32_t n)
{
    if (len != 8 * (size_t)n)
        return CTS_ECORRUPT;
    for (uint32_t i = 0; i < n; i++)
        out[i] = dfrom(load_le64(src + 8 * (size_t)i));
    return 0;
}

/* ------------------------------------------------------------------------
 * ALP: encoding
 * ------------------------------------------------------------------------ */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Scales v[0..m) into d[]; returns how many do not round-trip. Out-of-range
 * products (and NaN) scale to d = 0, which decodes to +0.0 and so is an
 * exception unless v is +0.0. */
SIMD_CLONES static uint32_t alp_scale(const double *v, uint32_t m, double p10, uint64_t *d)
{
    i64xv bad = {0};
    uint32_t i = 0, x = 0;

    for (; i + LANES <= m; i += LANES) {
        f64xv in, s;
        memcpy(&in, v + i, sizeof in);
        s = in * p10;
        i64xv ok = (f64xv)((u64xv)s & 0x7fffffffffffffffull) < ALP_SCALE_LIMIT;
        s = (f64xv)((u64xv)s & (u64xv)ok);
        u64xv di = (u64xv)(s + ALP_MAGIC) - ALP_MAGIC_BITS;
        f64xv back = ((f64xv)(di + ALP_MAGIC_BITS) - ALP_MAGIC) / p10;
        memcpy(d + i, &di, sizeof di);
        bad += (i64xv)((u64xv)back != (u64xv)in);
    }
    for (; i < m; i++) {
        double s = v[i] * p10;
        s = fabs(s) < ALP_SCALE_LIMIT ? s : 0.0;
        d[i] = dbits(s + ALP_MAGIC) - ALP_MAGIC_BITS;
        x += dbits(alp_dec(d[i], p10)) != dbits(v[i]);
    }
    for (uint32_t k = 0; k < LANES; k++)
        x -= (uint32_t)bad[k];
    return x;
}

/* Picks the exponent from a sample of v: the smallest e with the fewest
 * exceptions, counted by alp_scale() itself. Returns false when every e
 * leaves more than a quarter of the sample as exceptions. */
static bool alp_pick_exponent(const double *v, uint32_t n, uint32_t *e_out)
{
    double sample[ALP_SAMPLE];
    uint64_t d[ALP_SAMPLE];
    uint32_t s = n < ALP_SAMPLE ? n : ALP_SAMPLE;
    uint32_t fewest = s + 1, best_e = 0;

    for (uint32_t k = 0; k < s; k++)
        sample[k] = v[(uint64_t)k * n / s];
    for (uint32_t e = 0; e <= ALP_MAX_EXP && fewest > 0; e++) {
        uint32_t x = alp_scale(sample, s, pow10_tab[e], d);
        if (x < fewest) {
            fewest = x;
            best_e = e;
        }
    }
    *e_out = best_e;
    return 4 * (uint64_t)fewest <= (uint64_t)s;
}

/* Collects the exception positions of a chunk into pos[] and overwrites
 * their integers with a neighbour's; returns their count. Rechecks with the
 * stored d, so the positions are exactly the values alp_dec() gets wrong. */
static uint32_t alp_exceptions(const double *v, uint32_t m, double p10, uint64_t *d, uint16_t *pos)
{
    uint32_t x = 0, lead = 0;

    for (uint32_t i = 0; i < m; i++) {
        pos[x] = (uint16_t)i;
        x += dbits(alp_dec(d[i], p10)) != dbits(v[i]);
    }
    while (lead < x && pos[lead] == lead)
        lead++;
    for (uint32_t k = 0; k < x; k++) {
        uint32_t p = pos[k];
        d[p] = p > 0 ? d[p - 1] : (lead < m ? d[lead] : 0);
    }
    return x;
}

/* Writes the exception list of a chunk at dst[0..cap); returns its size or
 * CTS_ENOSPACE. */
static int alp_put_exceptions(const double *v, const uint16_t *pos, uint32_t x, uint8_t *dst,
                              size_t cap)
{
    size_t need = varint_len(x), at = 0;
    for (uint32_t k = 0; k < x; k++)
        need += varint_len(pos[k] - (k ? pos[k - 1] + 1u : 0u)) + 8;
    if (need > cap)
        return CTS_ENOSPACE;
    at += cts_varint_put(dst, x);
    for (uint32_t k = 0; k < x; k++) {
        at += cts_varint_put(dst + at, pos[k] - (k ? pos[k - 1] + 1u : 0u));
        cts_put_u64(dst + at, dbits(v[pos[k]]));
        at += 8;
    }
    return (int)at;
}

/* Encodes one chunk of m values at dst[0..cap). Returns its size,
 * CTS_ENOSPACE, or CTS_ELIMIT once *budget exceptions are exceeded. */
static int alp_encode_chunk(const double *v, uint32_t m, double p10, uint32_t *budget, uint8_t *dst,
                            size_t cap)
{
    uint64_t d[ALP_CHUNK];
    uint16_t pos[ALP_CHUNK + 1];

    uint32_t x = alp_scale(v, m, p10, d);
    if (x > 0)
        x = alp_exceptions(v, m, p10, d, pos);
    if (x > *budget)
        return CTS_ELIMIT;
    *budget -= x;
    if (cap < 2)
        return CTS_ENOSPACE;
    /* A stream above 8 bytes a value loses to RAW anyway; the cap also keeps
     * L within its u16. */
    size_t ints_cap = cap - 2 < 8 * (size_t)m ? cap - 2 : 8 * (size_t)m;
    int ilen = cts_ints_encode(d, m, dst + 2, ints_cap);
    if (ilen < 0)
        return CTS_ENOSPACE;
    cts_put_u16(dst, (uint16_t)ilen);
    int xlen = alp_put_exceptions(v, pos, x, dst + 2 + ilen, cap - 2 - (size_t)ilen);
    if (xlen < 0)
        return xlen;
    return 2 + ilen + xlen;
}

/* Encodes v as ALP with exponent e at dst[0..cap). Returns the size,
 * CTS_ENOSPACE, or CTS_ELIMIT when more than n/8 values are exceptions. */
static int alp_encode(const double *v, uint32_t n, uint32_t e, uint8_t *dst, size_t cap)
{
    uint32_t budget = n / 8;
    size_t at = 1;

    if (cap < 1)
        return CTS_ENOSPACE;
    dst[0] = (uint8_t)e;
    for (uint32_t base = 0; base < n; base += ALP_CHUNK) {
        uint32_t m = n - base < ALP_CHUNK ? n - base : ALP_CHUNK;
        int r = alp_encode_chunk(v + base, m, pow10_tab[e], &budget, dst + at, cap - at);
        if (r < 0)
            return r;
        at += (size_t)r;
    }
    return (int)at;
}

/* ------------------------------------------------------------------------
 * ALP: decoding
 * ------------------------------------------------------------------------ */

/* Reads a chunk's exception list at src[*at..len) and patches out[0..m). */
static int alp_patch(const uint8_t *src, size_t len, size_t *at, double *out, uint32_t m)
{
    uint64_t x, gap;
    size_t r = cts_varint_get(src + *at, len - *at, &x);
    if (r == 0 || x > m)
        return CTS_ECORRUPT;
    *at += r;
    uint64_t next = 0; /* smallest position the next exception may take */
    for (uint64_t k = 0; k < x; k++) {
        r = cts_varint_get(src + *at, len - *at, &gap);
        if (r == 0 || gap >= m - next || len - *at - r < 8)
            return CTS_ECORRUPT;
        *at += r;
        next += gap;
        out[next++] = dfrom(cts_get_u64(src + *at));
        *at += 8;
    }
    return 0;
}

/* out[i] = alp_dec(d[i]); false when some d lies outside [-2^51, 2^51):
 * no encoder writes one, and it would decode to an unspecified double. */
SIMD_CLONES static bool alp_unscale(const uint64_t *d, uint32_t m, double p10, double *out)
{
    u64xv stray = {0};
    uint64_t any = 0;
    uint32_t i = 0;

    for (; i + LANES <= m; i += LANES) {
        u64xv di;
        memcpy(&di, d + i, sizeof di);
        stray |= di + ALP_D_LIMIT;
        f64xv f = ((f64xv)(di + ALP_MAGIC_BITS) - ALP_MAGIC) / p10;
        memcpy(out + i, &f, sizeof f);
    }
    for (; i < m; i++) {
        any |= d[i] + ALP_D_LIMIT;
        out[i] = alp_dec(d[i], p10);
    }
    for (uint32_t k = 0; k < LANES; k++)
        any |= stray[k];
    return (any >> 52) == 0;
}

static int alp_decode_chunk(const uint8_t *src, size_t len, size_t *at, double p10, double *out,
                            uint32_t m)
{
    uint64_t d[ALP_CHUNK];

    if (len - *at < 2)
        return CTS_ECORRUPT;
    size_t ilen = cts_get_u16(src + *at);
    *at += 2;
    if (ilen > len - *at || cts_ints_decode(src + *at, ilen, d, m) != 0)
        return CTS_ECORRUPT;
    *at += ilen;
    if (!alp_unscale(d, m, p10, out))
        return CTS_ECORRUPT;
    return alp_patch(src, len, at, out, m);
}

static int alp_decode(const uint8_t *src, size_t len, double *out, uint32_t n)
{
    if (len < 1 || src[0] > ALP_MAX_EXP)
        return CTS_ECORRUPT;
    double p10 = pow10_tab[src[0]];
    size_t at = 1;
    for (uint32_t base = 0; base < n; base += ALP_CHUNK) {
        uint32_t m = n - base < ALP_CHUNK ? n - base : ALP_CHUNK;
        if (alp_decode_chunk(src, len, &at, p10, out + base, m) != 0)
            return CTS_ECORRUPT;
    }
    return at == len ? 0 : CTS_ECORRUPT;
}

/* ------------------------------------------------------------------------
 * XOR (Chimp)
 * ------------------------------------------------------------------------ */

/* Leading-zero counts rounded down to a LEAD entry, as its index. */
static inline unsigned xor_code(unsigned clz)
{
    static const uint8_t code_of_clz[65] = {
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 5, 5,
        6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    };
    return code_of_clz[clz];
}

/* Exact size in bytes of the XOR encoding of v[0..n), n >= 1. */
static size_t xor_size(const double *v, uint32_t n)
{
    uint64_t bits = 64, prev = dbits(v[0]);
    unsigned stored = XOR_NO_LEAD;

    for (uint32_t i = 1; i < n; i++) {
        uint64_t cur = dbits(v[i]), x = cur ^ prev;
        prev = cur;
        if (x == 0) {
            bits += 2;
            continue;
        }
        unsigned lead = xor_lead_of[xor_code((unsigned)__builtin_clzll(x))];
        unsigned trail = (unsigned)__builtin_ctzll(x);
        if (trail >= XOR_TRAIL_MIN) {
            bits += 11 + 64 - lead - trail;
            stored = XOR_NO_LEAD;
        } else {
            bits += (lead == stored ? 2 : 5) + 64 - lead;
            stored = lead;
        }
    }
    return (size_t)((bits + 7) / 8);
}

/* A bit writer into a buffer known to be large enough. */
typedef struct bitw {
    uint8_t *p;
    size_t at;
    uint64_t acc;
    unsigned fill; /* < 32 between calls */
} bitw;

/* Appends the nb (<= 32) low bits of bits; bits above nb must be zero. */
static inline void bw_put(bitw *w, uint64_t bits, unsigned nb)
{
    w->acc |= bits << w->fill;
    w->fill += nb;
    if (w->fill >= 32) {
        cts_put_u32(w->p + w->at, (uint32_t)w->acc);
        w->at += 4;
        w->acc >>= 32;
        w->fill -= 32;
    }
}

static inline void bw_put64(bitw *w, uint64_t bits, unsigned nb)
{
    if (nb > 32) {
        bw_put(w, bits & 0xffffffffu, 32);
        bw_put(w, bits >> 32, nb - 32);
    } else {
        bw_put(w, bits, nb);
    }
}

static void bw_flush(bitw *w)
{
    for (; w->fill > 0; w->fill = w->fill > 8 ? w->fill - 8 : 0) {
        w->p[w->at++] = (uint8_t)w->acc;
        w->acc >>= 8;
    }
}

/* Writes the XOR encoding of v[0..n) (n >= 1); dst must hold xor_size(). */
static size_t xor_encode(const double *v, uint32_t n, uint8_t *dst)
{
    bitw w = {dst, 0, 0, 0};
    uint64_t prev = dbits(v[0]);
    unsigned stored = XOR_NO_LEAD;

    bw_put64(&w, prev, 64);
    for (uint32_t i = 1; i < n; i++) {
        uint64_t cur = dbits(v[i]), x = cur ^ prev;
        prev = cur;
        if (x == 0) {
            bw_put(&w, 0, 2);
            continue;
        }
        unsigned code = xor_code((unsigned)__builtin_clzll(x)), lead = xor_lead_of[code];
        unsigned trail = (unsigned)__builtin_ctzll(x);
        if (trail >= XOR_TRAIL_MIN) {
            unsigned sig = 64 - lead - trail;
            bw_put(&w, 1u | code << 2 | sig << 5, 11);
            bw_put64(&w, x >> trail, sig);
            stored = XOR_NO_LEAD;
        } else if (lead == stored) {
            bw_put(&w, 2, 2);
            bw_put64(&w, x, 64 - lead);
        } else {
            bw_put(&w, 3u | code << 2, 5);
            bw_put64(&w, x, 64 - lead);
            stored = lead;
        }
    }
    bw_flush(&w);
    return w.at;
}

/* A bit reader that never reads past p[len). */
typedef struct bitr {
    const uint8_t *p;
    size_t len, at;
    uint64_t acc;
    unsigned avail;
} bitr;

/* Takes nb (<= 32) bits; false when the input ends first. */
static inline bool br_get(bitr *r, unsigned nb, uint64_t *out)
{
    if (r->avail < nb) {
        if (r->len - r->at >= 8) {
            /* Whole bytes that fit above the bits held (avail < 32 here). */
            unsigned take = (63 - r->avail) / 8;
            uint64_t w = load_le64(r->p + r->at) & ((1ull << (8 * take)) - 1);
            r->acc |= w << r->avail;
            r->avail += 8 * take;
            r->at += take;
        }
        while (r->avail <= 56 && r->at < r->len) {
            r->acc |= (uint64_t)r->p[r->at++] << r->avail;
            r->avail += 8;
        }
        if (r->avail < nb)
            return false;
    }
    *out = r->acc & ((1ull << nb) - 1);
    r->acc >>= nb;
    r->avail -= nb;
    return true;
}

/* Takes nb (1..64) bits. */
static inline bool br_get64(bitr *r, unsigned nb, uint64_t *out)
{
    uint64_t lo, hi;
    if (nb <= 32)
        return br_get(r, nb, out);
    if (!br_get(r, 32, &lo) || !br_get(r, nb - 32, &hi))
        return false;
    *out = lo | hi << 32;
    return true;
}

/* Reads one XOR word x; updates the stored lead. */
static bool xor_next(bitr *r, unsigned *stored, uint64_t *x)
{
    uint64_t flag, code, sig;

    if (!br_get(r, 2, &flag))
        return false;
    if (flag == 0) {
        *x = 0;
        return true;
    }
    if (flag == 2)
        return *stored != XOR_NO_LEAD && br_get64(r, 64 - *stored, x);
    if (!br_get(r, 3, &code))
        return false;
    unsigned lead = xor_lead_of[code];
    if (flag == 3) {
        *stored = lead;
        return br_get64(r, 64 - lead, x);
    }
    *stored = XOR_NO_LEAD;
    if (!br_get(r, 6, &sig) || sig == 0 || lead + sig > 64 || !br_get64(r, (unsigned)sig, x))
        return false;
    *x <<= 64 - lead - sig;
    return true;
}

static int xor_decode(const uint8_t *src, size_t len, double *out, uint32_t n)
{
    bitr r = {src, len, 0, 0, 0};
    uint64_t prev, x;
    unsigned stored = XOR_NO_LEAD;

    if (!br_get64(&r, 64, &prev))
        return CTS_ECORRUPT;
    out[0] = dfrom(prev);
    for (uint32_t i = 1; i < n; i++) {
        if (!xor_next(&r, &stored, &x))
            return CTS_ECORRUPT;
        prev ^= x;
        out[i] = dfrom(prev);
    }
    /* Exactly len bytes: at most 7 padding bits left, all zero. */
    if (r.at != len || r.avail >= 8 || r.acc != 0)
        return CTS_ECORRUPT;
    return 0;
}

/* ------------------------------------------------------------------------
 * Selection and the public entry points
 * ------------------------------------------------------------------------ */

size_t cts_float_bound(uint32_t n)
{
    return 8 * (size_t)n;
}

/* Encodes v (1 <= n <= CTS_BLOCK_MAX_COUNT) into dst, which holds
 * cts_float_bound(n) bytes. */
static int encode_best(const double *v, uint32_t n, uint8_t *dst, uint8_t *codec)
{
    size_t raw = cts_float_bound(n), best = raw;
    uint32_t e;
    int alp = CTS_ELIMIT;

    if (alp_pick_exponent(v, n, &e))
        alp = alp_encode(v, n, e, dst, raw);
    if (alp >= 0 && (size_t)alp < best)
        best = (size_t)alp;
    if (alp < 0 || (size_t)alp > ALP_XOR_CHECK_BYTES * (size_t)n) {
        size_t xs = xor_size(v, n);
        if (xs < best) {
            *codec = CTS_CODEC_F_XOR;
            return (int)xor_encode(v, n, dst);
        }
    }
    if (best < raw) {
        *codec = CTS_CODEC_F_ALP;
        return alp;
    }
    raw_encode(v, n, dst);
    *codec = CTS_CODEC_RAW;
    return (int)raw;
}

int cts_float_encode(const double *v, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec)
{
    size_t bound = cts_float_bound(n);
    uint8_t *tmp = NULL;
    int r;

    if (n > CTS_BLOCK_MAX_COUNT)
        return CTS_EINVAL;
    if (n == 0) {
        *codec = CTS_CODEC_RAW;
        return 0;
    }
    if (cap >= bound)
        return encode_best(v, n, dst, codec);
    tmp = cts_malloc(bound);
    if (tmp == NULL)
        return CTS_ENOMEM;
    uint8_t c;
    r = encode_best(v, n, tmp, &c);
    if ((size_t)r > cap) {
        r = CTS_ENOSPACE;
        goto out;
    }
    memcpy(dst, tmp, (size_t)r);
    *codec = c;
out:
    cts_free(tmp);
    return r;
}

int cts_float_decode(uint8_t codec, const uint8_t *src, size_t len, double *out, uint32_t n)
{
    if (codec != CTS_CODEC_RAW && codec != CTS_CODEC_F_ALP && codec != CTS_CODEC_F_XOR)
        return CTS_ECORRUPT;
    if (n == 0)
        return len == 0 ? 0 : CTS_ECORRUPT;
    if (codec == CTS_CODEC_F_ALP)
        return alp_decode(src, len, out, n);
    if (codec == CTS_CODEC_F_XOR)
        return xor_decode(src, len, out, n);
    return raw_decode(src, len, out, n);
}
