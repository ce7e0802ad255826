/*
 * catalog_key.c: canonical series keys, their text form, and the hash the
 * catalog's tables use.
 *
 * The canonical key (see catalog.h) is length-prefixed, so it needs no
 * escaping and no two tag sets share a key: a decoder accepts exactly the
 * bytes an encoder produces (minimal varints, non-empty strings, strictly
 * increasing tag keys, no trailing bytes). Keys from disk or the WAL pass
 * through cat_key_decode before anything trusts them.
 *
 * The hash is a wyhash-style multiply-fold over 16-byte strides: fast on
 * the 40-80 byte keys of sensor series, and seeded per catalog so that
 * crafted keys cannot aim at one slot. It is never stored on disk, so its
 * byte order does not matter.
 */
#include "catalog_int.h"

#include <stdlib.h>
#include <string.h>

#define P0 0xa0761d6478bd642full
#define P1 0xe7037ed1a0b428dbull
#define P2 0x8ebc6af09c88c6e3ull

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

uint64_t cat_hash(uint64_t seed, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t a = 0, b = 0;
    seed ^= mum(seed ^ P0, P1);
    if (len <= 16) {
        if (len >= 4) {
            size_t q = (len >> 3) << 2;
            a = (rd32(p) << 32) | rd32(p + q);
            b = (rd32(p + len - 4) << 32) | rd32(p + len - 4 - q);
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
        }
    } else {
        size_t i = len;
        while (i > 16) {
            seed = mum(rd64(p) ^ P1, rd64(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        /* The last 16 bytes, overlapping the previous stride if need be. */
        a = rd64(p + i - 16);
        b = rd64(p + i - 8);
    }
    a ^= P1;
    b ^= seed;
    return mum(P0 ^ len ^ P2, mum(a, b) ^ P1);
}

size_t cat_varint_put(uint8_t *p, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t cat_varint_get(const uint8_t *p, size_t len, uint32_t *v)
{
    uint32_t r = 0;
    for (size_t i = 0; i < len && i < 3; i++) {
        r |= (uint32_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            /* A zero final byte after a continuation is a non-minimal form,
             * which would give one key two encodings. */
            if (i > 0 && p[i] == 0)
                return 0;
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

int cat_bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int tag_cmp(const cts_tag *x, const cts_tag *y)
{
    return cat_bytes_cmp((const uint8_t *)x->key.ptr, x->key.len, (const uint8_t *)y->key.ptr,
                         y->key.len);
}

static int tag_qsort_cmp(const void *x, const void *y)
{
    return tag_cmp(x, y);
}

int cat_tags_sort(cts_tag *tags, uint32_t ntags)
{
    if (ntags > 16) {
        qsort(tags, ntags, sizeof *tags, tag_qsort_cmp);
    } else {
        /* Insertion sort: tag sets are short and often already sorted. */
        for (uint32_t i = 1; i < ntags; i++) {
            cts_tag t = tags[i];
            uint32_t j = i;
            for (; j > 0 && tag_cmp(&tags[j - 1], &t) > 0; j--)
                tags[j] = tags[j - 1];
            tags[j] = t;
        }
    }
    for (uint32_t i = 1; i < ntags; i++)
        if (tag_cmp(&tags[i - 1], &tags[i]) == 0)
            return CTS_EINVAL;
    return CTS_OK;
}

static uint8_t *put_str(uint8_t *p, cts_str s)
{
    p += cat_varint_put(p, s.len);
    memcpy(p, s.ptr, s.len);
    return p + s.len;
}

void cat_key_write(uint8_t *dst, cts_str m, const cts_tag *tags, uint32_t ntags)
{
    uint8_t *p = put_str(dst, m);
    p += cat_varint_put(p, ntags);
    for (uint32_t i = 0; i < ntags; i++) {
        p = put_str(p, tags[i].key);
        p = put_str(p, tags[i].value);
    }
}

/* Reads one length-prefixed, non-empty string at key[*pos..len). */
static bool get_str(const uint8_t *key, size_t len, size_t *pos, cts_str *s)
{
    uint32_t n;
    size_t used = cat_varint_get(key + *pos, len - *pos, &n);
    if (!used || n == 0 || n > CTS_CATALOG_NAME_MAX || n > len - *pos - used)
        return false;
    s->ptr = (const char *)key + *pos + used;
    s->len = n;
    *pos += used + n;
    return true;
}

int cat_key_decode(const uint8_t *key, size_t len, cts_str *m, cts_tag *tags, size_t tags_cap,
                   size_t *ntags)
{
    size_t pos = 0;
    uint32_t n;
    cts_str mm, prev = {NULL, 0};
    if (!key || len == 0 || len > CTS_SERIES_KEY_MAX || !get_str(key, len, &pos, &mm))
        return CTS_ECORRUPT;
    size_t used = cat_varint_get(key + pos, len - pos, &n);
    if (!used)
        return CTS_ECORRUPT;
    pos += used;
    for (uint32_t i = 0; i < n; i++) {
        cts_tag t;
        if (!get_str(key, len, &pos, &t.key) || !get_str(key, len, &pos, &t.value))
            return CTS_ECORRUPT;
        if (i > 0 && cat_bytes_cmp((const uint8_t *)prev.ptr, prev.len, (const uint8_t *)t.key.ptr,
                                   t.key.len) >= 0)
            return CTS_ECORRUPT;
        prev = t.key;
        if (i < tags_cap)
            tags[i] = t;
    }
    if (pos != len)
        return CTS_ECORRUPT;
    *m = mm;
    *ntags = n;
    return n > tags_cap ? CTS_ENOSPACE : CTS_OK;
}

int cts_series_key_decode(const uint8_t *key, size_t key_len, cts_str *measurement, cts_tag *tags,
                          size_t tags_cap, size_t *ntags)
{
    return cat_key_decode(key, key_len, measurement, tags, tags_cap, ntags);
}

/* Appends s to dst[*pos..cap), escaping the bytes in `special`. */
static bool put_escaped(char *dst, size_t cap, size_t *pos, const uint8_t *s, size_t len,
                        const char *special)
{
    size_t p = *pos;
    for (size_t i = 0; i < len; i++) {
        if (s[i] && strchr(special, s[i])) {
            if (p >= cap)
                return false;
            dst[p++] = '\\';
        }
        if (p >= cap)
            return false;
        dst[p++] = (char)s[i];
    }
    *pos = p;
    return true;
}

int cat_key_text(const uint8_t *key, size_t len, char *dst, size_t cap)
{
    size_t pos = 0, used;
    uint32_t n, slen;
    const char *tag_special = ", =";
    used = cat_varint_get(key, len, &slen);
    if (!put_escaped(dst, cap, &pos, key + used, slen, ", "))
        return CTS_ENOSPACE;
    key += used + slen;
    key += cat_varint_get(key, 3, &n);
    for (uint32_t i = 0; i < n; i++) {
        for (int part = 0; part < 2; part++) {
            if (pos >= cap)
                return CTS_ENOSPACE;
            dst[pos++] = part == 0 ? ',' : '=';
            used = cat_varint_get(key, 3, &slen);
            if (!put_escaped(dst, cap, &pos, key + used, slen, tag_special))
                return CTS_ENOSPACE;
            key += used + slen;
        }
    }
    return (int)pos;
}
