/*
 * storage_int.h: private interfaces between the files of storage/.
 * Included only by the files of storage/ and by storage's own unit tests.
 *
 * The column block (block.c) is a header, a timestamp section and a value
 * section. Each section is produced by a type-aware transform (the codecs
 * below) and then, where it makes the section smaller, by LZ4. A codec id is
 * one byte: the low 7 bits name the transform, CTS_CODEC_LZ4 marks the LZ4
 * stage. Transforms write only their own bytes; the block layer owns framing,
 * LZ4 and the checksum.
 *
 * Every codec follows one contract:
 *   encode(values, n, dst, cap[, &codec]) -> bytes written, or CTS_ENOSPACE
 *     when cap is too small (cap >= the codec's bound is always enough);
 *   decode(src, len, out, n) -> 0 when exactly n values were decoded from
 *     exactly len bytes, else CTS_ECORRUPT. Decoders never read outside
 *     src[0..len) nor write outside out[0..n), whatever the input.
 */
#ifndef CTS_STORAGE_INT_H
#define CTS_STORAGE_INT_H

#include "cts_storage.h"

#include <stdbool.h>
#include <string.h>

/* Codec ids (stored on disk: never renumber). */
enum {
    CTS_CODEC_RAW = 0,         /* little-endian array of 8-byte values */
    CTS_CODEC_TS_CONST = 1,    /* first timestamp + constant interval */
    CTS_CODEC_TS_PACKED = 2,   /* scaled delta-of-delta through cts_ints */
    CTS_CODEC_INTS = 3,        /* int64/uint64 values through cts_ints */
    CTS_CODEC_F_ALP = 4,       /* decimal floats as scaled integers */
    CTS_CODEC_F_XOR = 5,       /* Gorilla-style XOR coding */
    CTS_CODEC_BOOL_BITMAP = 6, /* one bit per value */
    CTS_CODEC_STR_DICT = 7,    /* dictionary + packed indices */
    CTS_CODEC_STR_PLAIN = 8,   /* lengths + bytes */
    CTS_CODEC_LZ4 = 0x80,      /* flag: the transform's output was LZ4-compressed */
};

/* ---- little-endian helpers (unaligned-safe) ---- */
static inline void cts_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void cts_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cts_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t cts_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t cts_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint64_t cts_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint64_t cts_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t cts_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ---- LEB128 varints ---- */
/* Writes v at p (at most 10 bytes, p must have room); returns bytes written. */
static inline size_t cts_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}
/* Reads a varint from p[0..len); returns bytes read, 0 if malformed/truncated. */
static inline size_t cts_varint_get(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        uint64_t b = p[i];
        if (i == 9 && b > 1)
            return 0;
        r |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

/* ---- integer sequences (codec_ints.c) ----
 * Values are 64-bit patterns and arithmetic wraps, so int64 and uint64 (and
 * scaled timestamps and decimals) share one codec. Each miniblock of 256
 * values picks its own view (frame of reference, delta, delta-of-delta or
 * distance from a line) and packs it in a window of 2^p or 3 values with
 * its own base, the outliers listed as exceptions. n == 0 encodes as zero
 * bytes; on CTS_ENOSPACE nothing has been written to dst. */
size_t cts_ints_bound(uint32_t n);
int cts_ints_encode(const uint64_t *v, uint32_t n, uint8_t *dst, size_t cap);
int cts_ints_decode(const uint8_t *src, size_t len, uint64_t *out, uint32_t n);
/* cts_ints_encode and cts_int_encode take n <= CTS_BLOCK_MAX_COUNT (else
 * CTS_EINVAL). cts_int_bound(n) is 8n: the raw fallback is never exceeded.
 * cts_ints_decode_affine is cts_ints_decode, then out[i] = offset + out[i]
 * * scale (wrapping) in the same pass: how the timestamp codec expands its
 * scaled sequences. */
int cts_ints_decode_affine(const uint8_t *src, size_t len, uint64_t *out, uint32_t n,
                           uint64_t offset, uint64_t scale);

/* ---- timestamps (codec_ts.c) ---- */
size_t cts_ts_bound(uint32_t n);
int cts_ts_encode(const int64_t *ts, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec);
int cts_ts_decode(uint8_t codec, const uint8_t *src, size_t len, int64_t *out, uint32_t n);
/* cts_ts_encode: n <= CTS_BLOCK_MAX_COUNT (else CTS_EINVAL); may also
 * return CTS_ENOMEM (scratch for the scaled sequence). cts_ts_bound(n) is
 * 8n, the raw size: CONST and PACKED are chosen only when no larger. */

/* ---- float64 (codec_float.c): ALP decimal, XOR, or raw, smallest wins ----
 * cts_float_bound(n) is 8n, the RAW size; the choice never depends on cap, so
 * any cap gives the same bytes or CTS_ENOSPACE. Beyond the common contract,
 * encode returns CTS_EINVAL when n > CTS_BLOCK_MAX_COUNT, and CTS_ENOMEM only
 * when cap < cts_float_bound(n) (it then encodes into a temporary buffer).
 * n == 0 encodes as RAW in 0 bytes. decode's codec is the transform id
 * without CTS_CODEC_LZ4: RAW, F_ALP or F_XOR; anything else is CTS_ECORRUPT.
 * Only RAW checks n against len: an XOR or ALP stream may also decode as a
 * different count (zero padding, constant miniblocks); the block header's
 * count is the authority. */
size_t cts_float_bound(uint32_t n);
int cts_float_encode(const double *v, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec);
int cts_float_decode(uint8_t codec, const uint8_t *src, size_t len, double *out, uint32_t n);

/* ---- int64/uint64 values (codec_ints.c, raw fallback) ---- */
size_t cts_int_bound(uint32_t n);
int cts_int_encode(const uint64_t *v, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec);
int cts_int_decode(uint8_t codec, const uint8_t *src, size_t len, uint64_t *out, uint32_t n);

/* ---- bool (codec_bool.c) ---- */
size_t cts_bool_bound(uint32_t n);
int cts_bool_encode(const uint8_t *v, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec);
int cts_bool_decode(uint8_t codec, const uint8_t *src, size_t len, uint8_t *out, uint32_t n);

/* ---- strings (codec_str.c) ----
 * Decoded strings are copied into arena[0..total_bytes) and out[i] points
 * there; total_bytes is the values' total length as the block header states
 * it, and any other total is CTS_ECORRUPT. */
size_t cts_str_bound(const cts_str *v, uint32_t n);
/* The same bound from the total byte length of the n values. */
size_t cts_str_bound_total(uint64_t total_bytes, uint32_t n);
int cts_str_encode(const cts_str *v, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec);
int cts_str_decode(uint8_t codec, const uint8_t *src, size_t len, cts_str *out, uint32_t n,
                   char *arena, size_t total_bytes);

#endif
