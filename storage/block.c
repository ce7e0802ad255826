/*
 * block.c: the compressed, checksummed column block.
 *
 * A block is one chunk of one column: `count` (timestamp, value) pairs of a
 * single type. It is self-describing and self-checking: a reader needs no
 * other file to validate or decode it, and its statistics sit in the header
 * so aggregates can be answered without touching the payload.
 *
 * Layout (all integers little-endian; see docs/format.md):
 *
 *   OFFSET  SIZE  FIELD
 *   0       4     magic "CTSB"
 *   4       1     format version (CTS_BLOCK_VERSION)
 *   5       1     value type (cts_type)
 *   6       1     timestamp codec id (storage_int.h; bit 7 = LZ4 stage)
 *   7       1     value codec id
 *   8       4     count (1..CTS_BLOCK_MAX_COUNT)
 *   12      4     T = timestamp section bytes
 *   16      4     V = value section bytes
 *   20      4     string blocks: total bytes of all values; else 0
 *   24      8     min_ts
 *   32      8     max_ts
 *   40      8     first   (cts_num bit pattern)
 *   48      8     last
 *   56      8     sum
 *   64      8     min
 *   72      8     max
 *   80      8     min_time
 *   88      8     max_time
 *   96      T     timestamp section
 *   96+T    V     value section
 *   96+T+V  4     CRC32C of bytes [0, 96+T+V)
 *
 * A section whose codec id has the LZ4 bit starts with a u32 holding the
 * transform's output length, followed by the LZ4 block of that output. The
 * LZ4 stage is kept only when it makes the section smaller.
 *
 * Invariants: the encoder never writes past dst_cap and never reports a
 * partial block; the decoder validates structure and CRC before it decodes,
 * and each codec validates its own bytes again, so no input can make it read
 * or write out of bounds.
 */
#include "storage_int.h"

#include <lz4.h>
#include <stdlib.h>

#define BLOCK_MAGIC 0x42535443u /* "CTSB" read as little-endian */
#define CTS_BLOCK_VERSION 1
#define HDR_BYTES 96
#define CRC_BYTES 4
/* Sections smaller than this never shrink under LZ4; skip the attempt. */
#define LZ4_MIN_INPUT 64

static bool type_valid(int t)
{
    return t >= CTS_TYPE_FLOAT && t <= CTS_TYPE_STRING;
}

/* Bound of the value transform's output for `in`. */
static size_t value_bound(const cts_block_input *in)
{
    switch (in->type) {
    case CTS_TYPE_FLOAT:
        return cts_float_bound(in->count);
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        return cts_int_bound(in->count);
    case CTS_TYPE_BOOL:
        return cts_bool_bound(in->count);
    case CTS_TYPE_STRING:
        return cts_str_bound(in->v.s, in->count);
    }
    return 0;
}

/* A section may be stored LZ4-compressed: prefix + LZ4's worst case. */
static size_t section_bound(size_t raw)
{
    size_t lz = (size_t)LZ4_compressBound((int)raw) + 4;
    return raw > lz ? raw : lz;
}

static bool input_valid(const cts_block_input *in)
{
    if (!in || !type_valid(in->type) || in->count == 0 || in->count > CTS_BLOCK_MAX_COUNT ||
        !in->ts || !in->v.f)
        return false;
    if (in->type == CTS_TYPE_BOOL) {
        for (uint32_t i = 0; i < in->count; i++)
            if (in->v.b[i] > 1)
                return false;
    }
    if (in->type == CTS_TYPE_STRING) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < in->count; i++) {
            if (in->v.s[i].len && !in->v.s[i].ptr)
                return false;
            total += in->v.s[i].len;
        }
        if (total > CTS_BLOCK_MAX_BYTES / 2)
            return false;
    }
    return true;
}

size_t cts_block_bound(const cts_block_input *in)
{
    if (!input_valid(in))
        return 0;
    return HDR_BYTES + section_bound(cts_ts_bound(in->count)) + section_bound(value_bound(in)) +
           CRC_BYTES;
}

/* Run the value transform of in->type into dst. */
static int encode_values(const cts_block_input *in, uint8_t *dst, size_t cap, uint8_t *codec)
{
    switch (in->type) {
    case CTS_TYPE_FLOAT:
        return cts_float_encode(in->v.f, in->count, dst, cap, codec);
    case CTS_TYPE_INT:
        return cts_int_encode((const uint64_t *)in->v.i, in->count, dst, cap, codec);
    case CTS_TYPE_UINT:
        return cts_int_encode(in->v.u, in->count, dst, cap, codec);
    case CTS_TYPE_BOOL:
        return cts_bool_encode(in->v.b, in->count, dst, cap, codec);
    case CTS_TYPE_STRING:
        return cts_str_encode(in->v.s, in->count, dst, cap, codec);
    }
    return CTS_EINVAL;
}

/*
 * Store the transform output raw[0..raw_len) as a section at dst: LZ4 with a
 * length prefix when that is smaller, else as it is. Returns the section's
 * length or CTS_ENOSPACE.
 */
static int put_section(const uint8_t *raw, size_t raw_len, uint8_t *dst, size_t cap, uint8_t *codec)
{
    if (raw_len >= LZ4_MIN_INPUT && cap > 4) {
        size_t room = cap - 4 < raw_len - 1 ? cap - 4 : raw_len - 1;
        int lz = LZ4_compress_default((const char *)raw, (char *)dst + 4, (int)raw_len,
                                      (int)(room > INT32_MAX ? INT32_MAX : room));
        if (lz > 0 && (size_t)lz + 4 < raw_len) {
            cts_put_u32(dst, (uint32_t)raw_len);
            *codec |= CTS_CODEC_LZ4;
            return lz + 4;
        }
    }
    if (raw_len > cap)
        return CTS_ENOSPACE;
    memcpy(dst, raw, raw_len);
    return (int)raw_len;
}

static void put_header(uint8_t *dst, const cts_block_input *in, uint8_t ts_codec, uint8_t val_codec,
                       uint32_t ts_len, uint32_t val_len, const cts_stats *st)
{
    uint64_t str_bytes = 0;
    if (in->type == CTS_TYPE_STRING)
        for (uint32_t i = 0; i < in->count; i++)
            str_bytes += in->v.s[i].len;
    cts_put_u32(dst, BLOCK_MAGIC);
    dst[4] = CTS_BLOCK_VERSION;
    dst[5] = (uint8_t)in->type;
    dst[6] = ts_codec;
    dst[7] = val_codec;
    cts_put_u32(dst + 8, in->count);
    cts_put_u32(dst + 12, ts_len);
    cts_put_u32(dst + 16, val_len);
    cts_put_u32(dst + 20, (uint32_t)str_bytes);
    cts_put_u64(dst + 24, (uint64_t)st->min_ts);
    cts_put_u64(dst + 32, (uint64_t)st->max_ts);
    cts_put_u64(dst + 40, st->first.u);
    cts_put_u64(dst + 48, st->last.u);
    cts_put_u64(dst + 56, st->sum.u);
    cts_put_u64(dst + 64, st->min.u);
    cts_put_u64(dst + 72, st->max.u);
    cts_put_u64(dst + 80, (uint64_t)st->min_time);
    cts_put_u64(dst + 88, (uint64_t)st->max_time);
}

int cts_block_encode(const cts_block_input *in, uint8_t *dst, size_t dst_cap, cts_stats *stats)
{
    if (!input_valid(in) || !dst)
        return CTS_EINVAL;
    size_t ts_cap = cts_ts_bound(in->count), val_cap = value_bound(in);
    uint8_t *scratch = cts_malloc(ts_cap > val_cap ? ts_cap : val_cap);
    uint8_t ts_codec = 0, val_codec = 0;
    int rc = CTS_ENOSPACE, ts_len, val_len;
    cts_stats st;
    if (!scratch)
        return CTS_ENOMEM;
    if (dst_cap < HDR_BYTES + CRC_BYTES)
        goto done;
    cts_stats_compute(in, &st);
    size_t room = dst_cap - HDR_BYTES - CRC_BYTES;
    if ((rc = cts_ts_encode(in->ts, in->count, scratch, ts_cap, &ts_codec)) < 0)
        goto done;
    if ((rc = put_section(scratch, (size_t)rc, dst + HDR_BYTES, room, &ts_codec)) < 0)
        goto done;
    ts_len = rc;
    room -= (size_t)ts_len;
    if ((rc = encode_values(in, scratch, val_cap, &val_codec)) < 0)
        goto done;
    if ((rc = put_section(scratch, (size_t)rc, dst + HDR_BYTES + ts_len, room, &val_codec)) < 0)
        goto done;
    val_len = rc;
    put_header(dst, in, ts_codec, val_codec, (uint32_t)ts_len, (uint32_t)val_len, &st);
    size_t body = HDR_BYTES + (size_t)ts_len + (size_t)val_len;
    cts_put_u32(dst + body, cts_crc32c(dst, body));
    if (stats)
        *stats = st;
    rc = (int)(body + CRC_BYTES);
done:
    cts_free(scratch);
    return rc;
}

/* Codec ids each type may use (transform part, LZ4 bit stripped). */
static bool codec_valid(cts_type type, uint8_t ts_codec, uint8_t val_codec)
{
    uint8_t t = ts_codec & 0x7f, v = val_codec & 0x7f;
    if (t != CTS_CODEC_RAW && t != CTS_CODEC_TS_CONST && t != CTS_CODEC_TS_PACKED)
        return false;
    switch (type) {
    case CTS_TYPE_FLOAT:
        return v == CTS_CODEC_RAW || v == CTS_CODEC_F_ALP || v == CTS_CODEC_F_XOR;
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        return v == CTS_CODEC_RAW || v == CTS_CODEC_INTS;
    case CTS_TYPE_BOOL:
        return v == CTS_CODEC_BOOL_BITMAP;
    case CTS_TYPE_STRING:
        return v == CTS_CODEC_STR_DICT || v == CTS_CODEC_STR_PLAIN;
    }
    return false;
}

static void get_stats(const uint8_t *src, cts_stats *st, uint32_t count)
{
    st->count = count;
    st->min_ts = (int64_t)cts_get_u64(src + 24);
    st->max_ts = (int64_t)cts_get_u64(src + 32);
    st->first.u = cts_get_u64(src + 40);
    st->last.u = cts_get_u64(src + 48);
    st->sum.u = cts_get_u64(src + 56);
    st->min.u = cts_get_u64(src + 64);
    st->max.u = cts_get_u64(src + 72);
    st->min_time = (int64_t)cts_get_u64(src + 80);
    st->max_time = (int64_t)cts_get_u64(src + 88);
}

/* The header's fields, checked for structure; the CRC only when asked. */
/* String bytes cts_block_info_peek passes without the CRC (see read_info). */
#define PEEK_STR_BYTES (1u << 20)

static int read_info(const uint8_t *src, size_t len, cts_block_info *info, bool check_crc)
{
    if (!src || !info || len < HDR_BYTES + CRC_BYTES || cts_get_u32(src) != BLOCK_MAGIC)
        return CTS_ECORRUPT;
    if (src[4] != CTS_BLOCK_VERSION)
        return CTS_EVERSION;
    uint32_t count = cts_get_u32(src + 8);
    uint64_t ts_len = cts_get_u32(src + 12), val_len = cts_get_u32(src + 16);
    uint64_t total = HDR_BYTES + ts_len + val_len + CRC_BYTES;
    if (!type_valid(src[5]) || count == 0 || count > CTS_BLOCK_MAX_COUNT ||
        total > CTS_BLOCK_MAX_BYTES || total > len || !codec_valid(src[5], src[6], src[7]))
        return CTS_ECORRUPT;
    size_t body = (size_t)(total - CRC_BYTES);
    if (check_crc && cts_get_u32(src + body) != cts_crc32c(src, body))
        return CTS_ECHECKSUM;
    info->type = src[5];
    info->count = count;
    info->ts_codec = src[6];
    info->value_codec = src[7];
    info->ts_bytes = (uint32_t)ts_len;
    info->value_bytes = (uint32_t)val_len;
    info->str_bytes = cts_get_u32(src + 20);
    info->block_bytes = (uint32_t)total;
    get_stats(src, &info->stats, count);
    if (info->type != CTS_TYPE_STRING && info->str_bytes != 0)
        return CTS_ECORRUPT;
    /* A string block claiming more than a MiB of strings, and more than its
     * own length, is compressed (dictionary, LZ4) or damaged: peek checks
     * its CRC after all, so a flipped size never has the caller allocate
     * more than max(1 MiB, the block's length) for unchecked bytes. */
    if (!check_crc && info->str_bytes > PEEK_STR_BYTES && info->str_bytes > total &&
        cts_get_u32(src + body) != cts_crc32c(src, body))
        return CTS_ECHECKSUM;
    return (int)total;
}

int cts_block_info_read(const uint8_t *src, size_t len, cts_block_info *info)
{
    return read_info(src, len, info, true);
}

int cts_block_info_peek(const uint8_t *src, size_t len, cts_block_info *info)
{
    return read_info(src, len, info, false);
}

/*
 * Undo a section's LZ4 stage. When the codec has no LZ4 bit, *raw is the
 * section itself; otherwise the transform output is decompressed into a
 * buffer the caller frees (*owned). max_raw bounds the claimed length so a
 * hostile prefix cannot make us allocate without limit.
 */
static int open_section(const uint8_t *sec, size_t len, uint8_t codec, size_t max_raw,
                        const uint8_t **raw, size_t *raw_len, uint8_t **owned)
{
    *owned = NULL;
    if (!(codec & CTS_CODEC_LZ4)) {
        *raw = sec;
        *raw_len = len;
        return 0;
    }
    if (len < 4)
        return CTS_ECORRUPT;
    size_t want = cts_get_u32(sec);
    if (want == 0 || want > max_raw)
        return CTS_ECORRUPT;
    uint8_t *buf = cts_malloc(want);
    if (!buf)
        return CTS_ENOMEM;
    int got = LZ4_decompress_safe((const char *)sec + 4, (char *)buf, (int)(len - 4), (int)want);
    if (got < 0 || (size_t)got != want) {
        cts_free(buf);
        return CTS_ECORRUPT;
    }
    *raw = buf;
    *raw_len = want;
    *owned = buf;
    return 0;
}

static size_t decoded_value_bound(const cts_block_info *info)
{
    switch (info->type) {
    case CTS_TYPE_FLOAT:
        return cts_float_bound(info->count);
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        return cts_int_bound(info->count);
    case CTS_TYPE_BOOL:
        return cts_bool_bound(info->count);
    case CTS_TYPE_STRING:
        return cts_str_bound_total(info->str_bytes, info->count);
    }
    return 0;
}

static int decode_values(const cts_block_info *info, const uint8_t *raw, size_t raw_len,
                         cts_block_output *out)
{
    uint8_t c = info->value_codec & 0x7f;
    switch (info->type) {
    case CTS_TYPE_FLOAT:
        return cts_float_decode(c, raw, raw_len, out->v.f, info->count);
    case CTS_TYPE_INT:
        return cts_int_decode(c, raw, raw_len, (uint64_t *)out->v.i, info->count);
    case CTS_TYPE_UINT:
        return cts_int_decode(c, raw, raw_len, out->v.u, info->count);
    case CTS_TYPE_BOOL:
        return cts_bool_decode(c, raw, raw_len, out->v.b, info->count);
    case CTS_TYPE_STRING:
        if (!out->str_arena && info->str_bytes)
            return CTS_ENOSPACE;
        return cts_str_decode(c, raw, raw_len, out->v.s, info->count, out->str_arena,
                              info->str_bytes);
    }
    return CTS_ECORRUPT;
}

int cts_block_decode(const uint8_t *src, size_t len, cts_block_output *out)
{
    cts_block_info info;
    const uint8_t *raw;
    size_t raw_len;
    uint8_t *owned = NULL;
    int rc = cts_block_info_read(src, len, &info);
    if (rc < 0)
        return rc;
    if (!out || !out->ts || !out->v.f || out->cap_count < info.count ||
        (info.type == CTS_TYPE_STRING && out->str_arena_cap < info.str_bytes))
        return CTS_ENOSPACE;
    const uint8_t *ts_sec = src + HDR_BYTES, *val_sec = ts_sec + info.ts_bytes;
    rc = open_section(ts_sec, info.ts_bytes, info.ts_codec, cts_ts_bound(info.count), &raw,
                      &raw_len, &owned);
    if (rc < 0)
        return rc;
    rc = cts_ts_decode(info.ts_codec & 0x7f, raw, raw_len, out->ts, info.count);
    cts_free(owned);
    if (rc < 0)
        return CTS_ECORRUPT;
    rc = open_section(val_sec, info.value_bytes, info.value_codec, decoded_value_bound(&info), &raw,
                      &raw_len, &owned);
    if (rc < 0)
        return rc;
    rc = decode_values(&info, raw, raw_len, out);
    cts_free(owned);
    if (rc < 0)
        return rc == CTS_ENOSPACE || rc == CTS_ENOMEM ? rc : CTS_ECORRUPT;
    return (int)info.count;
}
