/*
 * codec_str.c: string columns. City sensors send few distinct strings (a
 * status "ok"/"fault", a firmware tag), so the usual winner is a dictionary:
 * the distinct values once, then each value as an index packed by cts_ints.
 * When nearly every value differs, plain is smaller: length + bytes each.
 * The block's LZ4 stage then compresses either form.
 *
 *   PLAIN:  n x (varint len, len bytes)
 *   DICT:   varint d, d x (varint len, len bytes), cts_ints stream of n
 *           indices (each < d) up to the end of the section
 */
#include "storage_int.h"

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t cts_str_bound_total(uint64_t total_bytes, uint32_t n)
{
    return 16 + (size_t)total_bytes + 10 * (size_t)n + cts_ints_bound(n);
}

size_t cts_str_bound(const cts_str *v, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += v[i].len;
    return cts_str_bound_total(total, n);
}

static uint64_t str_hash(const cts_str *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < s->len; i++)
        h = (h ^ (uint8_t)s->ptr[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static bool str_eq(const cts_str *a, const cts_str *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/*
 * Build the dictionary: idx[i] receives value i's dictionary index, uniq[]
 * the position of each distinct value's first occurrence. Returns the number
 * of distinct values, or CTS_ENOMEM.
 */
static int64_t build_dict(const cts_str *v, uint32_t n, uint64_t *idx, uint32_t *uniq)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)n)
        cap <<= 1;
    uint32_t *slots = cts_malloc(cap * sizeof *slots); /* dictionary index + 1; 0 = empty */
    if (!slots)
        return CTS_ENOMEM;
    memset(slots, 0, cap * sizeof *slots);
    uint32_t d = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t s = (size_t)str_hash(&v[i]) & (cap - 1);
        while (slots[s] && !str_eq(&v[uniq[slots[s] - 1]], &v[i]))
            s = (s + 1) & (cap - 1);
        if (!slots[s]) {
            uniq[d] = i;
            slots[s] = ++d;
        }
        idx[i] = slots[s] - 1;
    }
    cts_free(slots);
    return d;
}

static size_t put_strings(const cts_str *v, const uint32_t *pick, uint32_t n, uint8_t *dst)
{
    size_t o = 0;
    for (uint32_t i = 0; i < n; i++) {
        const cts_str *s = &v[pick ? pick[i] : i];
        o += cts_varint_put(dst + o, s->len);
        if (s->len)
            memcpy(dst + o, s->ptr, s->len);
        o += s->len;
    }
    return o;
}

static size_t strings_size(const cts_str *v, const uint32_t *pick, uint32_t n)
{
    size_t o = 0;
    for (uint32_t i = 0; i < n; i++) {
        const cts_str *s = &v[pick ? pick[i] : i];
        o += varint_len(s->len) + s->len;
    }
    return o;
}

/* Try the dictionary form; returns its size, 0 when plain is smaller. */
static int encode_dict(const cts_str *v, uint32_t n, uint8_t *dst, size_t cap, uint64_t *idx,
                       uint32_t *uniq, size_t plain)
{
    int64_t d = build_dict(v, n, idx, uniq);
    if (d < 0)
        return (int)d;
    size_t head = varint_len((uint64_t)d) + strings_size(v, uniq, (uint32_t)d);
    if ((uint64_t)d == n || head >= plain)
        return 0;
    size_t ib = cts_ints_bound(n);
    uint8_t *tmp = cts_malloc(ib);
    if (!tmp)
        return CTS_ENOMEM;
    int rc = cts_ints_encode(idx, n, tmp, ib);
    if (rc >= 0 && head + (size_t)rc >= plain)
        rc = 0; /* plain wins */
    else if (rc >= 0 && head + (size_t)rc > cap)
        rc = CTS_ENOSPACE;
    else if (rc >= 0) {
        size_t o = cts_varint_put(dst, (uint64_t)d);
        o += put_strings(v, uniq, (uint32_t)d, dst + o);
        memcpy(dst + o, tmp, (size_t)rc);
        rc = (int)(o + (size_t)rc);
    }
    cts_free(tmp);
    return rc;
}

int cts_str_encode(const cts_str *v, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec)
{
    size_t plain = strings_size(v, NULL, n);
    uint64_t *idx = cts_malloc((size_t)n * sizeof *idx + 8);
    uint32_t *uniq = cts_malloc((size_t)n * sizeof *uniq + 4);
    int rc = CTS_ENOMEM;
    if (!idx || !uniq)
        goto done;
    rc = encode_dict(v, n, dst, cap, idx, uniq, plain);
    if (rc > 0) {
        *codec = CTS_CODEC_STR_DICT;
    } else if (rc == 0) {
        rc = plain > cap ? CTS_ENOSPACE : (int)put_strings(v, NULL, n, dst);
        *codec = CTS_CODEC_STR_PLAIN;
    }
done:
    cts_free(idx);
    cts_free(uniq);
    return rc;
}

/* Read one (varint len, bytes) string at src[*o..len). */
static bool get_string(const uint8_t *src, size_t len, size_t *o, cts_str *s)
{
    uint64_t l;
    size_t k = cts_varint_get(src + *o, len - *o, &l);
    if (!k || l > len - *o - k)
        return false;
    s->ptr = (const char *)src + *o + k;
    s->len = (uint32_t)l;
    *o += k + l;
    return true;
}

/* Copy s into the arena at *used, bounded by total; out receives the copy. */
static bool place(const cts_str *s, char *arena, size_t total, size_t *used, cts_str *out)
{
    if (s->len > total - *used)
        return false;
    if (s->len)
        memcpy(arena + *used, s->ptr, s->len);
    out->ptr = arena + *used;
    out->len = s->len;
    *used += s->len;
    return true;
}

static int decode_plain(const uint8_t *src, size_t len, cts_str *out, uint32_t n, char *arena,
                        size_t total)
{
    size_t o = 0, used = 0;
    for (uint32_t i = 0; i < n; i++) {
        cts_str s;
        if (!get_string(src, len, &o, &s) || !place(&s, arena, total, &used, &out[i]))
            return CTS_ECORRUPT;
    }
    return o == len && used == total ? 0 : CTS_ECORRUPT;
}

static int decode_dict(const uint8_t *src, size_t len, cts_str *out, uint32_t n, char *arena,
                       size_t total)
{
    uint64_t d;
    size_t o = cts_varint_get(src, len, &d), used = 0;
    if (!o || d == 0 || d > n)
        return CTS_ECORRUPT;
    cts_str *dict = cts_malloc((size_t)d * sizeof *dict);
    uint64_t *idx = cts_malloc((size_t)n * sizeof *idx);
    int rc = CTS_ENOMEM;
    if (!dict || !idx)
        goto done;
    rc = CTS_ECORRUPT;
    for (uint64_t k = 0; k < d; k++)
        if (!get_string(src, len, &o, &dict[k]))
            goto done;
    if (cts_ints_decode(src + o, len - o, idx, n) < 0)
        goto done;
    for (uint32_t i = 0; i < n; i++)
        if (idx[i] >= d || !place(&dict[idx[i]], arena, total, &used, &out[i]))
            goto done;
    rc = used == total ? 0 : CTS_ECORRUPT;
done:
    cts_free(dict);
    cts_free(idx);
    return rc;
}

int cts_str_decode(uint8_t codec, const uint8_t *src, size_t len, cts_str *out, uint32_t n,
                   char *arena, size_t total_bytes)
{
    if (total_bytes && !arena)
        return CTS_EINVAL;
    if (codec == CTS_CODEC_STR_PLAIN)
        return decode_plain(src, len, out, n, arena, total_bytes);
    if (codec == CTS_CODEC_STR_DICT)
        return decode_dict(src, len, out, n, arena, total_bytes);
    return CTS_ECORRUPT;
}
