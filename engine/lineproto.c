/*
 * lineproto.c: one line of InfluxDB line protocol into one point.
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * Why it exists: ingest is parse-bound, so this is the hot loop of every
 * write. It must accept exactly what InfluxDB 1.x accepts, refuse what it
 * refuses in its words, and run at memory-scanning speed.
 *
 * Shape: an explicit state machine over tokens (nginx style). Each state
 * scans one token with a tight loop over a byte-class table and returns the
 * next state:
 *
 *   START -> MEASUREMENT -+-> TAG_KEY -> TAG_VALUE -+-> FIELDS -> FIELD_KEY
 *                         |      ^_______',' _______|               |  ^
 *                         +---------------' '-------+      FIELD_VALUE  |
 *                                                           |  |__','__|
 *                                               ' ' or end  v
 *                                                         TIME -> CHECK -> POINT
 *   any state -> FAIL (reason, column) | START -> EMPTY | FIELD_VALUE -> OPEN
 *
 * What must stay true:
 *   - Loops run without bounds checks: the byte at the line's end is a
 *     '\n' or '\r' sentinel (lp_int.h), which is in every stop class, and
 *     a stop at '\n' or '\r' before the end is treated as an ordinary byte.
 *   - Escapes: in a name a backslash escapes the next byte only when that
 *     byte is special there (measurement: comma, space; tag keys, tag
 *     values, field keys: comma, equals sign, space); otherwise it is an
 *     ordinary byte. This is InfluxDB's "the byte after a backslash is not a
 *     delimiter" rule. In a string value a backslash always takes the next
 *     byte with it; `\"` and `\\` become `"` and `\`, anything else stays.
 *     Names without escapes point into the line; others are unescaped into
 *     out->scratch.
 *   - Errors are InfluxDB's (models/points.go), in the order it finds them:
 *     key syntax, duplicate tags, key length, field syntax (numbers checked
 *     as its scanNumber does), field key lengths, timestamp; then at "write
 *     time" a `time` tag and a `time`-only field set.
 *   - Floats are exactly strtod's: Clinger's fast path when the decimal
 *     mantissa and the power of ten are both exact doubles (one IEEE
 *     multiplication or division is then correctly rounded), strtod_l in
 *     the C locale on a NUL-terminated copy otherwise.
 */
#include "lp_int.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Byte classes. The sentinels '\n' and '\r' stop every scan. */
enum {
    K_NAME = 1,  /* ends a measurement: comma, space, backslash */
    K_KEY = 2,   /* ends a key or tag value: comma, equals, space, backslash */
    K_STR = 4,   /* ends a run inside a string: quote, backslash */
    K_BLANK = 8, /* skipped before a section: space, tab, NUL */
    K_MESC = 16, /* escapable in a measurement */
    K_KESC = 32, /* escapable in keys and tag values */
    K_END = 64,  /* ends a number or boolean: comma, space */
};

static const uint8_t cls[256] = {
    [0] = K_BLANK,
    ['\t'] = K_BLANK,
    ['\n'] = K_NAME | K_KEY | K_STR | K_END,
    ['\r'] = K_NAME | K_KEY | K_STR | K_END,
    [' '] = K_NAME | K_KEY | K_BLANK | K_MESC | K_KESC | K_END,
    [','] = K_NAME | K_KEY | K_MESC | K_KESC | K_END,
    ['='] = K_KEY | K_KESC,
    ['"'] = K_STR,
    ['\\'] = K_NAME | K_KEY | K_STR,
};

#define CLS(p) (cls[(uint8_t) * (p)])

/* Tokens quoted inside a reason are cut to TOK_MAX bytes and marked. */
#define TOK_MAX 64
#define TOKF "%.*s%s"
#define TOKA(s, n) (int)((n) > TOK_MAX ? TOK_MAX : (n)), (s), ((n) > TOK_MAX ? "..." : "")

typedef enum lp_state {
    S_START,
    S_MEASUREMENT,
    S_TAG_KEY,
    S_TAG_VALUE,
    S_FIELDS,
    S_FIELD_KEY,
    S_FIELD_VALUE,
    S_TIME,
    S_CHECK,
    /* terminal */
    S_POINT,
    S_EMPTY,
    S_FAIL,
    S_OPEN,
} lp_state;

typedef struct lp_ctx {
    const char *line; /* first byte of the line */
    const char *p;    /* scanning position */
    const char *e;    /* the end: the sentinel */
    const char *safe; /* end of readable memory */
    const lp_cfg *cfg;
    lp_out *out;
    lp_fail *fail;
    const char *key_start;  /* the measurement's first byte */
    size_t key_len;         /* measurement and tags as written */
    const char *dup_tag;    /* first tag key seen twice */
    const char *time_tag;   /* first tag key "time" */
    const char *long_field; /* first field key making the series key too long */
    size_t long_size;
    const char *first_field;         /* first byte of the field set */
    uint64_t tag_bloom, field_bloom; /* one bit per key hash, for duplicates */
    uint32_t bound;                  /* lp_items_bound(len): work[bound..] = tag offsets */
} lp_ctx;

__attribute__((format(printf, 3, 4))) static lp_state fail_at(lp_ctx *c, const char *at,
                                                              const char *fmt, ...)
{
    va_list ap;
    c->fail->col = (uint32_t)(at - c->line) + 1;
    c->fail->kind = CTS_LP_ESYNTAX;
    va_start(ap, fmt);
    vsnprintf(c->fail->reason, sizeof c->fail->reason, fmt, ap);
    va_end(ap);
    return S_FAIL;
}

static const char *skip_blanks(const char *p)
{
    while (CLS(p) & K_BLANK)
        p++;
    return p;
}

/* ------------------------------------------------------------------------
 * Names: measurement, tag keys and values, field keys.
 * ------------------------------------------------------------------------ */

/* The end of the name starting at p: the first byte of class `stop` that is
 * neither escaped (a backslash before a byte of class `esc`) nor a '\n' or
 * '\r' inside the line. *escaped tells whether the name needs unescaping. */
static const char *name_end(const lp_ctx *c, const char *p, uint8_t stop, uint8_t esc,
                            bool *escaped)
{
    for (;;) {
        while (!(CLS(p) & stop))
            p++;
        if (p >= c->e)
            return p;
        if (*p == '\\') {
            if (p + 1 < c->e && (CLS(p + 1) & esc)) {
                *escaped = true;
                p += 2;
            } else {
                p++;
            }
            continue;
        }
        if (*p != '\n' && *p != '\r')
            return p;
        p++;
    }
}

/* *dst = the name [s, t), unescaped into scratch when it holds escapes. */
static void name_set(lp_ctx *c, cts_str *dst, const char *s, const char *t, uint8_t esc,
                     bool escaped)
{
    if (!escaped) {
        dst->ptr = s;
        dst->len = (uint32_t)(t - s);
        return;
    }
    char *d0 = c->out->scratch + c->out->scratch_used, *d = d0;
    while (s < t) {
        if (*s == '\\' && s + 1 < t && (CLS(s + 1) & esc)) {
            *d++ = s[1];
            s += 2;
        } else {
            *d++ = *s++;
        }
    }
    dst->ptr = d0;
    dst->len = (uint32_t)(d - d0);
    c->out->scratch_used += (size_t)(d - d0);
}

static bool str_eq(cts_str a, cts_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static bool is_time(cts_str k)
{
    return k.len == 4 && memcmp(k.ptr, "time", 4) == 0;
}

/* Repeated keys: the first DUP_LINEAR_MAX keys of a kind are checked as
 * they come, through a 64-bit filter and a linear search on a likely
 * repeat (at most DUP_LINEAR_MAX^2 compares). Past that, the filter would
 * saturate and the search turn quadratic, so all keys are checked once at
 * the end by sorting their indices: O(n log n) for a line of 100k tags. */
#define DUP_LINEAR_MAX 32u

/* Keys of tags or fields: the key is the first member of both structs. */
typedef struct key_array {
    const char *base;
    size_t stride;
} key_array;

static cts_str key_of(const key_array *a, uint32_t i)
{
    return *(const cts_str *)(const void *)(a->base + i * a->stride);
}

/* qsort_r order: by key bytes, then length, then index. */
static int key_index_cmp(const void *x, const void *y, void *ctx)
{
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    cts_str a = key_of(ctx, i), b = key_of(ctx, j);
    int r = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
    if (r == 0)
        r = (a.len > b.len) - (a.len < b.len);
    return r ? r : (i > j) - (i < j);
}

/* idx[0..n) = 0..n-1 ordered by (key, index). */
static void sort_keys(uint32_t *idx, uint32_t n, key_array *a)
{
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, n, sizeof *idx, key_index_cmp, a);
}

/* The first tag key (in line order) that repeats an earlier one, or NULL.
 * Cold: kept out of the hot path's code. */
__attribute__((cold, noinline)) static const char *dup_tag_sorted(lp_ctx *c)
{
    lp_out *o = c->out;
    key_array a = {(const char *)o->tags, sizeof *o->tags};
    uint32_t *idx = o->work, first = UINT32_MAX;
    sort_keys(idx, o->ntags, &a);
    for (uint32_t k = 1; k < o->ntags; k++)
        if (idx[k] < first && str_eq(key_of(&a, idx[k - 1]), key_of(&a, idx[k])))
            first = idx[k];
    return first == UINT32_MAX ? NULL : c->line + o->work[c->bound + first];
}

/* Merge repeated field keys as field_commit does one by one: each key stays
 * where it first came, with the value it was given last. */
__attribute__((cold, noinline)) static void dedup_fields_sorted(lp_ctx *c)
{
    lp_out *o = c->out;
    key_array a = {(const char *)o->fields, sizeof *o->fields};
    uint32_t *idx = o->work, n = o->nfields, kept = 0;
    sort_keys(idx, n, &a);
    for (uint32_t k = 0, g; k < n; k = g + 1) {
        for (g = k; g + 1 < n && str_eq(key_of(&a, idx[k]), key_of(&a, idx[g + 1]));)
            g++;
        o->fields[idx[k]].type = o->fields[idx[g]].type;
        o->fields[idx[k]].v = o->fields[idx[g]].v;
        for (uint32_t m = k + 1; m <= g; m++)
            o->fields[idx[m]].type = (cts_type)0; /* merged away */
    }
    for (uint32_t i = 0; i < n; i++)
        if (o->fields[i].type != (cts_type)0)
            o->fields[kept++] = o->fields[i];
    o->nfields = kept;
}

/* One of 64 bits for a non-empty key: a cheap filter before the linear
 * duplicate search, which then runs only on a likely repeat. */
static uint64_t key_bit(cts_str k)
{
    uint32_t h = k.len * 7u + (uint8_t)k.ptr[0] * 31u + (uint8_t)k.ptr[k.len - 1] * 131u;
    return 1ull << (h & 63u);
}

static lp_state st_start(lp_ctx *c)
{
    const char *p = skip_blanks(c->p);
    if (p >= c->e || *p == '#')
        return S_EMPTY;
    c->p = c->key_start = p;
    return S_MEASUREMENT;
}

static lp_state st_measurement(lp_ctx *c)
{
    const char *s = c->p;
    bool escaped = false;
    if (*s == ',')
        return fail_at(c, s, "missing measurement");
    const char *t = name_end(c, s, K_NAME, K_MESC, &escaped);
    name_set(c, &c->out->measurement, s, t, K_MESC, escaped);
    c->p = t;
    if (t >= c->e)
        return fail_at(c, t, "missing fields");
    if (*t == ',') {
        c->p = t + 1;
        return S_TAG_KEY;
    }
    return S_FIELDS;
}

static lp_state st_tag_key(lp_ctx *c)
{
    const char *s = c->p;
    bool escaped = false;
    if (s >= c->e || (CLS(s) & K_KESC))
        return fail_at(c, s, "missing tag key");
    const char *t = name_end(c, s, K_KEY, K_KESC, &escaped);
    if (t >= c->e || *t != '=')
        return fail_at(c, t, "missing tag value");
    cts_tag *tag = &c->out->tags[c->out->ntags];
    name_set(c, &tag->key, s, t, K_KESC, escaped);
    c->out->work[c->bound + c->out->ntags] = (uint32_t)(s - c->line);
    if (c->out->ntags < DUP_LINEAR_MAX) {
        uint64_t bit = key_bit(tag->key);
        for (uint32_t i = 0; (c->tag_bloom & bit) && !c->dup_tag && i < c->out->ntags; i++)
            if (str_eq(c->out->tags[i].key, tag->key))
                c->dup_tag = s;
        c->tag_bloom |= bit;
    }
    if (!c->time_tag && is_time(tag->key))
        c->time_tag = s;
    c->p = t + 1;
    return S_TAG_VALUE;
}

static lp_state st_tag_value(lp_ctx *c)
{
    const char *s = c->p;
    bool escaped = false;
    if (s >= c->e || *s == ',' || *s == ' ')
        return fail_at(c, s, "missing tag value");
    /* InfluxDB takes an '=' as the first byte of a value literally. */
    const char *t = name_end(c, s + (*s == '='), K_KEY, K_KESC, &escaped);
    if (t < c->e && *t == '=')
        return fail_at(c, t, "invalid tag format");
    if (t >= c->e)
        return fail_at(c, t, "missing fields");
    name_set(c, &c->out->tags[c->out->ntags].value, s, t, K_KESC, escaped);
    c->out->ntags++;
    if (*t == ',') {
        c->p = t + 1;
        return S_TAG_KEY;
    }
    c->p = t;
    return S_FIELDS;
}

/* At the space that ends measurement and tags. */
static lp_state st_fields(lp_ctx *c)
{
    if (c->out->ntags > DUP_LINEAR_MAX)
        c->dup_tag = dup_tag_sorted(c);
    if (c->dup_tag)
        return fail_at(c, c->dup_tag, "duplicate tags");
    c->key_len = (size_t)(c->p - c->key_start);
    if (c->key_len > c->cfg->max_key)
        return fail_at(c, c->key_start, "max key length exceeded: %zu > %u", c->key_len,
                       c->cfg->max_key);
    const char *p = skip_blanks(c->p);
    if (p >= c->e)
        return fail_at(c, p, "missing fields");
    c->p = c->first_field = p;
    return S_FIELD_KEY;
}

static lp_state st_field_key(lp_ctx *c)
{
    const char *s = c->p;
    bool escaped = false;
    const char *t = name_end(c, s, K_KEY, K_KESC, &escaped);
    if (t >= c->e || *t != '=')
        return fail_at(c, s, "invalid field format");
    if (t == s)
        return fail_at(c, t, "missing field key");
    size_t size = c->key_len + 4 + (size_t)(t - s);
    if (size > c->cfg->max_key && !c->long_field) {
        c->long_field = s;
        c->long_size = size;
    }
    name_set(c, &c->out->fields[c->out->nfields].key, s, t, K_KESC, escaped);
    c->p = t + 1;
    return S_FIELD_VALUE;
}

/* The field just parsed (at out->fields[nfields]) joins the point: a `time`
 * field is dropped and a repeated key keeps the last value, as InfluxDB. */
static void field_commit(lp_ctx *c)
{
    lp_out *o = c->out;
    cts_field *f = &o->fields[o->nfields];
    if (is_time(f->key))
        return;
    if (o->nfields >= DUP_LINEAR_MAX) { /* checked at the end */
        o->nfields++;
        return;
    }
    uint64_t bit = key_bit(f->key);
    if (c->field_bloom & bit) {
        for (uint32_t i = 0; i < o->nfields; i++) {
            if (str_eq(o->fields[i].key, f->key)) {
                o->fields[i].type = f->type;
                o->fields[i].v = f->v;
                return;
            }
        }
    }
    c->field_bloom |= bit;
    o->nfields++;
}

/* ------------------------------------------------------------------------
 * Field values.
 * ------------------------------------------------------------------------ */

/* 1 for t T true True TRUE, 0 for f F false False FALSE, else -1. */
static int bool_value(const char *s, size_t n)
{
    if (n == 1)
        return (*s == 't' || *s == 'T') ? 1 : (*s == 'f' || *s == 'F') ? 0 : -1;
    if (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4)))
        return 1;
    if (n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5)))
        return 0;
    return -1;
}

static lp_state value_bool(lp_ctx *c, cts_field *f)
{
    const char *s = c->p, *p = s;
    while (!(CLS(p) & K_END))
        p++;
    int v = -1;
    if (p >= c->e || *p == ',' || *p == ' ')
        v = bool_value(s, (size_t)(p - s));
    if (v < 0)
        return fail_at(c, s, "invalid boolean");
    f->type = CTS_TYPE_BOOL;
    f->v.b = (uint8_t)v;
    c->p = p;
    return S_FIELD_VALUE;
}

/* The string at the opening quote q holds escapes, the first at p: copy
 * it unescaped into scratch. Returns the closing quote, or NULL when the
 * line ends first. */
static const char *string_copy(lp_ctx *c, const char *q, const char *p, cts_str *dst)
{
    char *d0 = c->out->scratch + c->out->scratch_used, *d = d0;
    const char *s = q + 1;
    for (;;) { /* [s, p) holds no special byte; p is at one */
        memcpy(d, s, (size_t)(p - s));
        d += p - s;
        if (*p == '"')
            break;
        if (p >= c->e)
            return NULL;
        if (*p == '\\' && p + 1 < c->e) {
            if (p[1] != '"' && p[1] != '\\')
                *d++ = '\\';
            *d++ = p[1];
            p += 2;
        } else {
            *d++ = *p++; /* '\n' or '\r' inside, or a backslash just before the end */
        }
        s = p;
        while (!(CLS(p) & K_STR))
            p++;
    }
    dst->ptr = d0;
    dst->len = (uint32_t)(d - d0);
    c->out->scratch_used += (size_t)(d - d0);
    return p;
}

/* The closing quote of the string opened at q, or NULL when the line ends
 * first; *dst is the unescaped content. */
static const char *string_end(lp_ctx *c, const char *q, cts_str *dst)
{
    const char *p = q + 1;
    for (;;) {
        while (!(CLS(p) & K_STR))
            p++;
        if (*p == '"') {
            *dst = (cts_str){q + 1, (uint32_t)(p - q - 1)};
            return p;
        }
        if (p >= c->e)
            return NULL;
        if (*p == '\\' && p + 1 < c->e && (p[1] == '"' || p[1] == '\\'))
            return string_copy(c, q, p, dst);
        p += (*p == '\\' && p + 1 < c->e) ? 2 : 1;
    }
}

static lp_state value_string(lp_ctx *c, cts_field *f)
{
    const char *q = c->p, *p = string_end(c, q, &f->v.s);
    if (!p) {
        fail_at(c, q, "unbalanced quotes");
        return S_OPEN;
    }
    p++;
    if (p < c->e && *p != ',' && *p != ' ')
        return fail_at(c, p, "invalid field format");
    f->type = CTS_TYPE_STRING;
    c->p = p;
    return S_FIELD_VALUE;
}

/* Decimal digits from p into *m while fewer than 19 are counted (so *m
 * cannot overflow); every digit is counted in *nd. */
static const char *digits_short(const char *p, uint64_t *m, uint32_t *nd)
{
    uint64_t v = *m;
    uint32_t n = *nd;
    for (;;) {
        unsigned d = (unsigned)(uint8_t)*p - '0';
        if (d > 9)
            break;
        if (n < 19)
            v = v * 10 + d;
        n++;
        p++;
    }
    *m = v;
    *nd = n;
    return p;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LOAD_LE64(x) __builtin_bswap64(x)
#else
#define LOAD_LE64(x) (x)
#endif

static uint64_t load_le64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return LOAD_LE64(v);
}

/* True when the eight bytes of w (little-endian) are all ASCII digits. */
static bool eight_digits_ok(uint64_t w)
{
    const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull, z = 0x3030303030303030ull;
    return (w & hi) == z && ((w + 0x0606060606060606ull) & hi) == z;
}

/* The value of eight ASCII digits, first digit in the low byte: pairs,
 * then quads, then the whole, by multiply-and-shift. */
static uint64_t eight_digits(uint64_t w)
{
    w -= 0x3030303030303030ull;
    w = (w * 10) + (w >> 8);
    w = (((w & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
         (((w >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
        32;
    return w & 0xFFFFFFFFull;
}

/* digits_short, eight digits at a time where eight bytes are readable. */
static const char *digits_long(const char *p, const char *safe, uint64_t *m, uint32_t *nd)
{
    while (*nd <= 11 && safe - p >= 8) {
        uint64_t w = load_le64(p);
        if (!eight_digits_ok(w))
            break;
        *m = *m * 100000000u + eight_digits(w);
        *nd += 8;
        p += 8;
    }
    return digits_short(p, m, nd);
}

/* Digits [s, t) as an unsigned value; false on overflow. */
static bool u64_checked(const char *s, const char *t, uint64_t *out)
{
    uint64_t v = 0;
    for (; s < t; s++) {
        if (__builtin_mul_overflow(v, 10u, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
            return false;
    }
    *out = v;
    return true;
}

static lp_state int_value(lp_ctx *c, cts_field *f, const char *s, const char *t)
{
    bool neg = *s == '-';
    uint64_t v, lim = neg ? (1ull << 63) : (uint64_t)INT64_MAX;
    size_t n = (size_t)(t - s);
    if (!u64_checked(s + neg, t, &v) || v > lim)
        return fail_at(c, s,
                       "unable to parse integer " TOKF ": strconv.ParseInt: parsing \"" TOKF
                       "\": value out of range",
                       TOKA(s, n), TOKA(s, n));
    f->type = CTS_TYPE_INT;
    f->v.i = neg ? (v == (1ull << 63) ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return S_FIELD_VALUE;
}

static lp_state uint_value(lp_ctx *c, cts_field *f, const char *s, const char *t)
{
    uint64_t v;
    size_t n = (size_t)(t - s);
    if (!u64_checked(s, t, &v))
        return fail_at(c, s,
                       "unable to parse unsigned " TOKF ": strconv.ParseUint: parsing \"" TOKF
                       "\": value out of range",
                       TOKA(s, n), TOKA(s, n));
    f->type = CTS_TYPE_UINT;
    f->v.u = v;
    return S_FIELD_VALUE;
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* m * 10^e10 correctly rounded when Clinger's fast path applies: m and the
 * power of ten are exact doubles, so one IEEE operation rounds correctly.
 * Exponents a little over 22 are handled by moving powers of ten into m
 * while it stays below 2^53. Returns false when it does not apply. */
static bool clinger(uint64_t m, int32_t e10, bool neg, double *out)
{
    const uint64_t max = 1ull << 53;
    if (m > max || e10 < -22 || e10 > 22 + 15)
        return false;
    double d = (double)m;
    if (e10 < 0) {
        d /= pow10_exact[-e10];
    } else if (e10 > 22) {
        d *= pow10_exact[e10 - 22];
        if (d > (double)max)
            return false;
        d *= 1e22;
    } else {
        d *= pow10_exact[e10];
    }
    *out = neg ? -d : d;
    return true;
}

/* The C locale, so that strtod reads '.' whatever setlocale did. glibc
 * returns a static object for "C": this never allocates. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

locale_t lp_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale;
}

/* strtod of [s, t) in the C locale; the caller checked the syntax. */
static double float_strtod(lp_ctx *c, const char *s, const char *t)
{
    char *buf = c->out->scratch + c->out->scratch_used;
    memcpy(buf, s, (size_t)(t - s));
    buf[t - s] = '\0';
    locale_t loc = lp_c_locale();
    /* newlocale("C") cannot fail in glibc; strtod is the same in the C locale. */
    return loc ? strtod_l(buf, NULL, loc) : strtod(buf, NULL);
}

/* A float token [s, t) of the grammar -?D*(.D*)?([eE][+-]?D+)? with at
 * least one mantissa digit; false when it does not match (strtod, and Go's
 * ParseFloat, would then stop short of t). */
static bool float_syntax(const char *s, const char *t, uint64_t *m, uint32_t *nd, int32_t *e10)
{
    const char *p = s + (*s == '-');
    const char *q = digits_short(p, m, nd);
    if (q < t && *q == '.') {
        const char *r = digits_short(q + 1, m, nd);
        *e10 = -(int32_t)(r - q - 1);
        q = r;
    }
    if (*nd == 0)
        return false;
    if (q < t && (*q == 'e' || *q == 'E')) {
        q++;
        bool eneg = q < t && *q == '-';
        q += q < t && (*q == '-' || *q == '+');
        if (q >= t || (unsigned)(*q - '0') > 9)
            return false;
        int32_t x = 0;
        for (; q < t && (unsigned)(*q - '0') <= 9; q++)
            x = x < 100000 ? x * 10 + (*q - '0') : x;
        *e10 += eneg ? -x : x;
    }
    return q == t;
}

static lp_state float_value(lp_ctx *c, cts_field *f, const char *s, const char *t)
{
    uint64_t m = 0;
    uint32_t nd = 0;
    int32_t e10 = 0;
    double d;
    if (!float_syntax(s, t, &m, &nd, &e10))
        return fail_at(c, s, "invalid float");
    if (nd > 19 || !clinger(m, e10, *s == '-', &d))
        d = float_strtod(c, s, t);
    if (isinf(d))
        return fail_at(c, s, "invalid float");
    f->type = CTS_TYPE_FLOAT;
    f->v.f = d;
    return S_FIELD_VALUE;
}

/* Every number the fast path does not take: InfluxDB's scanNumber rules,
 * in its order, then the conversion. */
static lp_state number_slow(lp_ctx *c, cts_field *f)
{
    const char *s = c->p, *p = s;
    bool is_int = false, is_uint = false, dot = false, sci = false;
    if (*p == '-' && ++p >= c->e)
        return fail_at(c, s, "invalid number");
    for (; p < c->e && *p != ',' && *p != ' '; p++) {
        char ch = *p;
        if ((ch == 'i' || ch == 'u') && p > s && !is_int && !is_uint) {
            is_int = ch == 'i';
            is_uint = ch == 'u';
        } else if (ch == '.') {
            if (dot)
                return fail_at(c, s, "invalid number");
            dot = true;
        } else if ((ch == 'e' || ch == 'E') && p > s) {
            sci = true;
        } else if ((ch == '+' || ch == '-') && (p[-1] == 'e' || p[-1] == 'E')) {
            continue;
        } else if ((unsigned)(ch - '0') > 9) {
            return fail_at(c, s, "invalid number");
        }
    }
    size_t digits = (size_t)(p - s) - is_int - dot - (*s == '-');
    if (((is_int || is_uint) && (dot || sci)) || digits == 0)
        return fail_at(c, s, "invalid number");
    c->p = p;
    if (is_int)
        return p[-1] != 'i' ? fail_at(c, s, "invalid number") : int_value(c, f, s, p - 1);
    if (is_uint)
        return (p[-1] != 'u' || *s == '-') ? fail_at(c, s, "invalid number")
                                           : uint_value(c, f, s, p - 1);
    return float_value(c, f, s, p);
}

/* The common shapes first: -?D*(.D*)? ending the value is a float,
 * -?D+i an int, D+u an unsigned, each with at most 19 digits. */
static lp_state value_number(lp_ctx *c, cts_field *f)
{
    const char *s = c->p, *p = s;
    bool neg = *p == '-', dot = false;
    uint64_t m = 0;
    uint32_t nd = 0;
    int32_t frac = 0;
    p = digits_short(p + neg, &m, &nd);
    if (*p == '.') {
        const char *q = p + 1;
        p = digits_short(q, &m, &nd);
        frac = (int32_t)(p - q);
        dot = true;
    }
    if (nd == 0 || nd > 19)
        return number_slow(c, f);
    char ch = *p;
    if (p >= c->e || ch == ',' || ch == ' ') {
        if (!clinger(m, -frac, neg, &f->v.f))
            return number_slow(c, f);
        f->type = CTS_TYPE_FLOAT;
        c->p = p;
        return S_FIELD_VALUE;
    }
    const char *t = p + 1;
    if (dot || (ch != 'i' && ch != 'u') || !(t >= c->e || *t == ',' || *t == ' '))
        return number_slow(c, f);
    if (ch == 'i' && m <= (uint64_t)INT64_MAX + neg) {
        f->type = CTS_TYPE_INT;
        f->v.i = neg ? (m == (1ull << 63) ? INT64_MIN : -(int64_t)m) : (int64_t)m;
    } else if (ch == 'u' && !neg) {
        f->type = CTS_TYPE_UINT;
        f->v.u = m;
    } else {
        return number_slow(c, f);
    }
    c->p = t;
    return S_FIELD_VALUE;
}

static lp_state st_field_value(lp_ctx *c)
{
    const char *s = c->p;
    cts_field *f = &c->out->fields[c->out->nfields];
    lp_state st;
    if (s >= c->e || *s == ',' || *s == ' ')
        return fail_at(c, s, "missing field value");
    unsigned ch = (uint8_t)*s;
    if (ch == '"')
        st = value_string(c, f);
    else if (ch - '0' <= 9 || ch == '-' || ch == '.')
        st = value_number(c, f);
    else if (ch == 'N' || ch == 'n')
        st = fail_at(c, s, "invalid number");
    else
        st = value_bool(c, f);
    if (st != S_FIELD_VALUE)
        return st;
    field_commit(c);
    if (c->p < c->e && *c->p == ',') {
        c->p++;
        return S_FIELD_KEY;
    }
    return S_TIME;
}

/* ------------------------------------------------------------------------
 * Timestamp and the write-time checks.
 * ------------------------------------------------------------------------ */

/* The timestamp token [s, p) is -?D+: its value, or the failure state. */
static lp_state time_value(lp_ctx *c, const char *s, const char *p, uint64_t m, uint32_t nd,
                           int64_t *out)
{
    bool neg = *s == '-';
    size_t n = (size_t)(p - s);
    if (nd == 0)
        return fail_at(c, s, "strconv.ParseInt: parsing \"" TOKF "\": invalid syntax", TOKA(s, n));
    if (nd > 19 && !u64_checked(s + neg, p, &m))
        m = UINT64_MAX;
    if (m > (uint64_t)INT64_MAX + neg)
        return fail_at(c, s, "strconv.ParseInt: parsing \"" TOKF "\": value out of range",
                       TOKA(s, n));
    *out = neg ? (m == (1ull << 63) ? INT64_MIN : -(int64_t)m) : (int64_t)m;
    return S_CHECK;
}

static lp_state st_time(lp_ctx *c)
{
    if (c->out->nfields > DUP_LINEAR_MAX)
        dedup_fields_sorted(c);
    if (c->long_field)
        return fail_at(c, c->long_field, "max key length exceeded: %zu > %u", c->long_size,
                       c->cfg->max_key);
    const char *s = skip_blanks(c->p), *p = s;
    if (s >= c->e) {
        c->out->ts_ns = c->cfg->now_ns;
        return S_CHECK;
    }
    uint64_t m = 0;
    uint32_t nd = 0;
    p = digits_long(p + (*p == '-'), c->safe, &m, &nd);
    if (p < c->e && *p != ' ')
        return fail_at(c, s, "bad timestamp");
    int64_t ts = 0, ns, mult = c->cfg->mult_ns;
    lp_state st = time_value(c, s, p, m, nd, &ts);
    if (st != S_CHECK)
        return st;
    if (__builtin_mul_overflow(ts, mult, &ns) || ns < CTS_LP_MIN_NS || ns > CTS_LP_MAX_NS)
        return fail_at(c, s, "time %lld is outside the range [%lld, %lld]", (long long)ts,
                       (long long)(CTS_LP_MIN_NS / mult), (long long)(CTS_LP_MAX_NS / mult));
    while (*p == ' ')
        p++;
    if (p < c->e)
        return fail_at(c, p, "point is invalid");
    c->out->ts_ns = ns;
    return S_CHECK;
}

__attribute__((format(printf, 3, 4))) static lp_state reject_at(lp_ctx *c, const char *at,
                                                                const char *fmt, ...)
{
    va_list ap;
    c->fail->col = (uint32_t)(at - c->line) + 1;
    c->fail->kind = CTS_LP_EREJECTED;
    va_start(ap, fmt);
    vsnprintf(c->fail->reason, sizeof c->fail->reason, fmt, ap);
    va_end(ap);
    return S_FAIL;
}

/* What InfluxDB refuses only when writing the parsed point. */
static lp_state st_check(lp_ctx *c)
{
    cts_str m = c->out->measurement;
    if (c->time_tag)
        return reject_at(c, c->time_tag,
                         "invalid tag key: input tag \"time\" on measurement \"" TOKF
                         "\" is invalid",
                         TOKA(m.ptr, m.len));
    if (c->out->nfields == 0)
        return reject_at(c, c->first_field,
                         "invalid field name: input field \"time\" on measurement \"" TOKF
                         "\" is invalid",
                         TOKA(m.ptr, m.len));
    return S_POINT;
}

lp_result lp_parse(const char *line, size_t len, size_t avail, const lp_cfg *cfg, lp_out *out,
                   lp_fail *fail)
{
    lp_ctx c = {.line = line,
                .p = line,
                .e = line + len,
                .safe = line + avail,
                .cfg = cfg,
                .out = out,
                .fail = fail,
                .bound = (uint32_t)lp_items_bound(len)};
    lp_state st = S_START;
    out->ntags = out->nfields = 0;
    out->scratch_used = 0;
    for (;;) {
        switch (st) {
        case S_START:
            st = st_start(&c);
            break;
        case S_MEASUREMENT:
            st = st_measurement(&c);
            break;
        case S_TAG_KEY:
            st = st_tag_key(&c);
            break;
        case S_TAG_VALUE:
            st = st_tag_value(&c);
            break;
        case S_FIELDS:
            st = st_fields(&c);
            break;
        case S_FIELD_KEY:
            st = st_field_key(&c);
            break;
        case S_FIELD_VALUE:
            st = st_field_value(&c);
            break;
        case S_TIME:
            st = st_time(&c);
            break;
        case S_CHECK:
            st = st_check(&c);
            break;
        case S_POINT:
            return LP_POINT;
        case S_EMPTY:
            return LP_EMPTY;
        case S_FAIL:
            return LP_FAIL;
        case S_OPEN:
            return LP_OPEN;
        }
    }
}

/* ------------------------------------------------------------------------
 * Options, errors and the one-line API.
 * ------------------------------------------------------------------------ */

int cts_lp_precision_parse(const char *s, size_t len, cts_lp_precision *out)
{
    static const struct {
        const char *name;
        cts_lp_precision p;
    } names[] = {{"n", CTS_LP_NS},  {"ns", CTS_LP_NS}, {"u", CTS_LP_US}, {"us", CTS_LP_US},
                 {"ms", CTS_LP_MS}, {"s", CTS_LP_S},   {"m", CTS_LP_M},  {"h", CTS_LP_H}};
    if (!s || !out)
        return CTS_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == len && memcmp(names[i].name, s, len) == 0) {
            *out = names[i].p;
            return CTS_OK;
        }
    }
    return CTS_EINVAL;
}

int64_t cts_lp_precision_ns(cts_lp_precision p)
{
    switch (p) {
    case CTS_LP_NS:
        return 1;
    case CTS_LP_US:
        return 1000;
    case CTS_LP_MS:
        return 1000000;
    case CTS_LP_S:
        return 1000000000;
    case CTS_LP_M:
        return 60ll * 1000000000;
    case CTS_LP_H:
        return 3600ll * 1000000000;
    }
    return 0;
}

void cts_lp_opts_init(cts_lp_opts *o)
{
    memset(o, 0, sizeof *o);
    o->precision = CTS_LP_NS;
    o->max_line_bytes = CTS_LP_LINE_MAX_DEFAULT;
    o->max_key_bytes = CTS_LP_KEY_MAX_DEFAULT;
    o->batch_points = CTS_LP_BATCH_DEFAULT;
}

int lp_cfg_init(lp_cfg *cfg, const cts_lp_opts *o)
{
    int64_t mult = cts_lp_precision_ns(o->precision);
    if (mult == 0 || o->max_line_bytes < 16 || o->max_line_bytes > (1u << 30) ||
        o->max_key_bytes == 0 || o->batch_points == 0 || o->batch_points > 10000000)
        return CTS_EINVAL;
    cfg->mult_ns = mult;
    cfg->max_key = o->max_key_bytes;
    /* Round "now" down to the precision; near INT64_MIN toward zero. */
    int64_t r = o->now_ns % mult, now = o->now_ns - r;
    if (r < 0 && __builtin_sub_overflow(now, mult, &now))
        now = o->now_ns - r;
    cfg->now_ns = now;
    return CTS_OK;
}

static size_t first_nonblank(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (cls[(uint8_t)line[i]] & K_BLANK))
        i++;
    return i;
}

static void msg_quote(cts_lp_error *err, const char *line, size_t len)
{
    size_t i = first_nonblank(line, len), n = len - i;
    snprintf(err->msg, sizeof err->msg, "unable to parse '%.*s%s': %s",
             (int)(n > CTS_LP_EXCERPT_MAX ? CTS_LP_EXCERPT_MAX : n), line + i,
             n > CTS_LP_EXCERPT_MAX ? "..." : "", err->reason);
}

void lp_error_fill(cts_lp_error *err, const char *line, size_t len, uint64_t line_no,
                   const lp_fail *fail)
{
    err->line = line_no;
    err->column = fail->col;
    err->kind = fail->kind;
    memcpy(err->reason, fail->reason, sizeof err->reason);
    if (fail->kind == CTS_LP_EREJECTED)
        memcpy(err->msg, fail->reason, sizeof fail->reason);
    else
        msg_quote(err, line, len);
}

void lp_error_too_long(cts_lp_error *err, const char *line, size_t len, uint64_t line_no,
                       uint32_t max)
{
    err->line = line_no;
    err->column = max + 1;
    err->kind = CTS_LP_ESYNTAX;
    snprintf(err->reason, sizeof err->reason, "max line length exceeded: more than %u bytes", max);
    msg_quote(err, line, len > max ? max : len);
}

void cts_lp_point_init(cts_lp_point *p)
{
    memset(p, 0, sizeof *p);
}

void cts_lp_point_fini(cts_lp_point *p)
{
    if (!p)
        return;
    cts_free(p->priv.tags);
    cts_free(p->priv.fields);
    cts_free(p->priv.work);
    cts_free(p->priv.buf);
    cts_lp_point_init(p);
}

/* Room for a line of len bytes: its copy with sentinel and padding for
 * eight-byte loads, the scratch, and the worst-case tag and field counts. */
static int point_reserve(cts_lp_point *p, size_t len)
{
    size_t items = lp_items_bound(len), buf = 2 * len + 24;
    if (items > p->priv.items_cap) {
        cts_tag *t = cts_realloc(p->priv.tags, items * sizeof *t);
        if (!t)
            return CTS_ENOMEM;
        p->priv.tags = t;
        cts_field *f = cts_realloc(p->priv.fields, items * sizeof *f);
        if (!f)
            return CTS_ENOMEM;
        p->priv.fields = f;
        uint32_t *w = cts_realloc(p->priv.work, 2 * items * sizeof *w);
        if (!w)
            return CTS_ENOMEM;
        p->priv.work = w;
        p->priv.items_cap = items;
    }
    if (buf > p->priv.buf_cap) {
        char *b = cts_realloc(p->priv.buf, buf);
        if (!b)
            return CTS_ENOMEM;
        p->priv.buf = b;
        p->priv.buf_cap = buf;
    }
    return CTS_OK;
}

int cts_lp_parse_line(const char *line, size_t len, const cts_lp_opts *o, cts_lp_point *out,
                      cts_lp_error *err)
{
    lp_cfg cfg;
    lp_fail fail;
    cts_lp_error spare;
    if (!o || !out || (!line && len) || lp_cfg_init(&cfg, o) != CTS_OK)
        return CTS_EINVAL;
    err = err ? err : &spare;
    len -= len && line[len - 1] == '\n';
    len -= len && line[len - 1] == '\r';
    if (len > o->max_line_bytes) {
        lp_error_too_long(err, line, len, 1, o->max_line_bytes);
        return CTS_EPARSE;
    }
    if (point_reserve(out, len) != CTS_OK)
        return CTS_ENOMEM;
    char *buf = out->priv.buf;
    if (len)
        memcpy(buf, line, len);
    memset(buf + len, '\n', 9);
    lp_out lo = {.tags = out->priv.tags,
                 .fields = out->priv.fields,
                 .work = out->priv.work,
                 .scratch = buf + len + 16};
    lp_result r = lp_parse(buf, len, len + 9, &cfg, &lo, &fail);
    if (r == LP_FAIL || r == LP_OPEN) {
        lp_error_fill(err, buf, len, 1, &fail);
        return CTS_EPARSE;
    }
    out->point = (cts_point){.measurement = lo.measurement,
                             .tags = lo.tags,
                             .ntags = lo.ntags,
                             .fields = lo.fields,
                             .nfields = lo.nfields,
                             .ts_ns = lo.ts_ns};
    return r == LP_POINT ? 1 : 0;
}
