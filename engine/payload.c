/*
 * payload.c: encoding and decoding of the engine's WAL payloads; the
 * layout is in payload.h. The reader trusts nothing: every varint, length
 * and count is checked against the payload's end (the WAL's CRC guards
 * against media damage, not against our own bugs or hostile files).
 */
#include "payload.h"

#include "storage_int.h"

#include <lz4.h>
#include <math.h>

int cts_buf_reserve(cts_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more)
        cap *= 2;
    uint8_t *p = cts_realloc(b->p, cap);
    if (!p)
        return CTS_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

void cts_buf_fini(cts_buf *b)
{
    cts_free(b->p);
    memset(b, 0, sizeof *b);
}

static void put_varint(cts_buf *b, uint64_t v)
{
    b->len += cts_varint_put(b->p + b->len, v);
}

static void put_str(cts_buf *b, const char *s, uint32_t len)
{
    put_varint(b, len);
    if (len)
        memcpy(b->p + b->len, s, len);
    b->len += len;
}

int pl_put_series(cts_buf *b, uint32_t id, cts_str m, const cts_tag *tags, uint32_t ntags)
{
    size_t need = 1 + 10 + 10 + m.len + 10;
    for (uint32_t i = 0; i < ntags; i++)
        need += 20 + tags[i].key.len + tags[i].value.len;
    if (cts_buf_reserve(b, need))
        return CTS_ENOMEM;
    b->p[b->len++] = PL_SERIES;
    put_varint(b, id);
    put_str(b, m.ptr, m.len);
    put_varint(b, ntags);
    for (uint32_t i = 0; i < ntags; i++) {
        put_str(b, tags[i].key.ptr, tags[i].key.len);
        put_str(b, tags[i].value.ptr, tags[i].value.len);
    }
    return 0;
}

int pl_put_field(cts_buf *b, uint32_t id, cts_str m, cts_str name, cts_type type)
{
    if (cts_buf_reserve(b, 1 + 10 + 20 + m.len + name.len + 1))
        return CTS_ENOMEM;
    b->p[b->len++] = PL_FIELD;
    put_varint(b, id);
    put_str(b, m.ptr, m.len);
    put_str(b, name.ptr, name.len);
    b->p[b->len++] = (uint8_t)type;
    return 0;
}

int pl_put_point(cts_buf *b, uint32_t series_id, int64_t ts, int64_t *prev_ts, uint32_t nvalues)
{
    if (cts_buf_reserve(b, 1 + 10 + 10 + 10))
        return CTS_ENOMEM;
    b->p[b->len++] = PL_POINT;
    put_varint(b, series_id);
    put_varint(b, cts_zigzag((int64_t)((uint64_t)ts - (uint64_t)*prev_ts)));
    put_varint(b, nvalues);
    *prev_ts = ts;
    return 0;
}

/* the varint of a float that is not a short decimal: 8 raw bytes follow */
#define FLOAT_RAW 15

static const double pow10_tab[10] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* The smallest e with v == k / 10^e exactly (|k| < 2^53), or -1. */
static int decimal_exponent(double v, int64_t *k)
{
    if (!isfinite(v) || fabs(v) > 9e15 || (v == 0 && signbit(v)))
        return -1;
    for (int e = 0; e < 10; e++) {
        double s = v * pow10_tab[e];
        if (fabs(s) >= 9007199254740992.0)
            return -1;
        int64_t r = llrint(s);
        if ((double)r / pow10_tab[e] == v) {
            *k = r;
            return e;
        }
    }
    return -1;
}

int pl_put_value(cts_buf *b, uint32_t field_id, cts_type type, const cts_value *v)
{
    size_t need = 10 + 10 + (type == CTS_TYPE_STRING ? v->s.len : 0);
    if (cts_buf_reserve(b, need))
        return CTS_ENOMEM;
    put_varint(b, field_id);
    int64_t k;
    int e;
    switch (type) {
    case CTS_TYPE_FLOAT:
        /* a decimal costs one varint holding k and e: 21.4 takes 2 bytes */
        if ((e = decimal_exponent(v->f, &k)) >= 0 && cts_zigzag(k) < (UINT64_C(1) << 59)) {
            put_varint(b, (cts_zigzag(k) << 4) | (uint64_t)e);
        } else {
            put_varint(b, FLOAT_RAW);
            memcpy(b->p + b->len, &v->f, 8);
            b->len += 8;
        }
        break;
    case CTS_TYPE_INT:
        put_varint(b, cts_zigzag(v->i));
        break;
    case CTS_TYPE_UINT:
        put_varint(b, v->u);
        break;
    case CTS_TYPE_BOOL:
        b->p[b->len++] = v->b ? 1 : 0;
        break;
    case CTS_TYPE_STRING:
        put_str(b, v->s.ptr, v->s.len);
        break;
    }
    return 0;
}

int pl_put_delete(cts_buf *b, cts_str m, const uint32_t *ids, size_t n, int64_t t0, int64_t t1)
{
    if (cts_buf_reserve(b, 1 + 10 + m.len + 20 + 10 + n * 5))
        return CTS_ENOMEM;
    b->p[b->len++] = PL_DELETE;
    put_str(b, m.ptr, m.len);
    put_varint(b, cts_zigzag(t0));
    put_varint(b, cts_zigzag(t1));
    put_varint(b, n);
    uint32_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        put_varint(b, ids[i] - prev);
        prev = ids[i];
    }
    return 0;
}

/* ---- framing ---- */

#define FRAME_PLAIN 0
#define FRAME_LZ4 1

int pl_frame(const cts_buf *entries, cts_buf *out)
{
    size_t n = entries->len;
    int bound = n < (size_t)LZ4_MAX_INPUT_SIZE ? LZ4_compressBound((int)n) : 0;
    out->len = 0;
    if (cts_buf_reserve(out, 5 + (n > (size_t)bound ? n : (size_t)bound)))
        return CTS_ENOMEM;
    int lz = bound
                 ? LZ4_compress_default((const char *)entries->p, (char *)out->p + 5, (int)n, bound)
                 : 0;
    if (lz > 0 && (size_t)lz + 5 < n - n / 8) {
        out->p[0] = FRAME_LZ4;
        cts_put_u32(out->p + 1, (uint32_t)n);
        out->len = 5 + (size_t)lz;
        return 0;
    }
    out->p[0] = FRAME_PLAIN;
    if (n)
        memcpy(out->p + 1, entries->p, n);
    out->len = 1 + n;
    return 0;
}

int pl_unframe(const uint8_t *rec, size_t rec_len, cts_buf *scratch, const uint8_t **p, size_t *len)
{
    if (rec_len >= 1 && rec[0] == FRAME_PLAIN) {
        *p = rec + 1;
        *len = rec_len - 1;
        return 0;
    }
    if (rec_len < 5 || rec[0] != FRAME_LZ4)
        return CTS_ECORRUPT;
    uint32_t n = cts_get_u32(rec + 1);
    /* LZ4 expands at most 255 times (plus a little), so a larger claim is
     * refused before anything is allocated for it. */
    if (n == 0 || n > (1u << 30) || rec_len - 5 > INT32_MAX || n > (rec_len - 5) * 255 + 64)
        return CTS_ECORRUPT;
    scratch->len = 0;
    if (cts_buf_reserve(scratch, n))
        return CTS_ENOMEM;
    int got =
        LZ4_decompress_safe((const char *)rec + 5, (char *)scratch->p, (int)(rec_len - 5), (int)n);
    if (got < 0 || (uint32_t)got != n)
        return CTS_ECORRUPT;
    *p = scratch->p;
    *len = n;
    return 0;
}

/* ---- reader ---- */

void pl_reader_init(pl_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->prev_ts = 0;
}

static bool get_varint(pl_reader *r, uint64_t *v)
{
    size_t k = cts_varint_get(r->p + r->off, r->len - r->off, v);
    r->off += k;
    return k != 0;
}

static bool get_u32(pl_reader *r, uint32_t *v)
{
    uint64_t x;
    if (!get_varint(r, &x) || x > UINT32_MAX)
        return false;
    *v = (uint32_t)x;
    return true;
}

static bool get_str(pl_reader *r, const char **s, uint32_t *len)
{
    uint64_t l;
    if (!get_varint(r, &l) || l > r->len - r->off)
        return false;
    *s = (const char *)r->p + r->off;
    *len = (uint32_t)l;
    r->off += l;
    return true;
}

static bool get_byte(pl_reader *r, uint8_t *v)
{
    if (r->off >= r->len)
        return false;
    *v = r->p[r->off++];
    return true;
}

static bool get_series(pl_reader *r, pl_entry *e)
{
    if (!get_u32(r, &e->id) || !get_str(r, &e->m.ptr, &e->m.len) || !get_u32(r, &e->ntags) ||
        e->ntags > PL_MAX_TAGS)
        return false;
    for (uint32_t i = 0; i < e->ntags; i++) {
        cts_tag *t = &e->tags[i];
        if (!get_str(r, &t->key.ptr, &t->key.len) || !get_str(r, &t->value.ptr, &t->value.len))
            return false;
    }
    return true;
}

static bool get_field(pl_reader *r, pl_entry *e)
{
    uint8_t t;
    if (!get_u32(r, &e->id) || !get_str(r, &e->m.ptr, &e->m.len) ||
        !get_str(r, &e->name.ptr, &e->name.len) || !get_byte(r, &t))
        return false;
    e->type = (cts_type)t;
    return t >= CTS_TYPE_FLOAT && t <= CTS_TYPE_STRING;
}

static bool get_point(pl_reader *r, pl_entry *e)
{
    uint64_t d;
    if (!get_u32(r, &e->id) || !get_varint(r, &d) || !get_u32(r, &e->nvalues))
        return false;
    e->ts = (int64_t)((uint64_t)r->prev_ts + (uint64_t)cts_unzigzag(d));
    r->prev_ts = e->ts;
    return true;
}

static bool get_delete(pl_reader *r, pl_entry *e)
{
    uint64_t n, t0, t1;
    if (!get_str(r, &e->m.ptr, &e->m.len) || !get_varint(r, &t0) || !get_varint(r, &t1) ||
        !get_varint(r, &n) || n > r->len - r->off)
        return false;
    e->t0 = cts_unzigzag(t0);
    e->t1 = cts_unzigzag(t1);
    e->n_ids = (size_t)n;
    return true;
}

int pl_next(pl_reader *r, pl_entry *e)
{
    uint8_t kind;
    if (r->off == r->len)
        return 0;
    if (!get_byte(r, &kind))
        return CTS_ECORRUPT;
    e->kind = kind;
    bool ok = false;
    switch (kind) {
    case PL_SERIES:
        ok = get_series(r, e);
        break;
    case PL_FIELD:
        ok = get_field(r, e);
        break;
    case PL_POINT:
        ok = get_point(r, e);
        break;
    case PL_DELETE:
        ok = get_delete(r, e);
        break;
    }
    return ok ? 1 : CTS_ECORRUPT;
}

static bool get_float(pl_reader *r, double *f)
{
    uint64_t x;
    if (!get_varint(r, &x))
        return false;
    if (x == FLOAT_RAW) {
        if (r->len - r->off < 8)
            return false;
        memcpy(f, r->p + r->off, 8);
        r->off += 8;
        return true;
    }
    if ((x & 15) >= 10)
        return false;
    *f = (double)cts_unzigzag(x >> 4) / pow10_tab[x & 15];
    return true;
}

int pl_get_value(pl_reader *r, uint32_t *field_id, cts_type (*type_of)(void *, uint32_t), void *ctx,
                 cts_type *type, cts_value *v)
{
    uint64_t x;
    bool ok = get_u32(r, field_id);
    if (!ok)
        return CTS_ECORRUPT;
    *type = type_of(ctx, *field_id);
    switch (*type) {
    case CTS_TYPE_FLOAT:
        ok = get_float(r, &v->f);
        break;
    case CTS_TYPE_INT:
        ok = get_varint(r, &x);
        v->i = cts_unzigzag(x);
        break;
    case CTS_TYPE_UINT:
        ok = get_varint(r, &v->u);
        break;
    case CTS_TYPE_BOOL:
        ok = get_byte(r, &v->b) && v->b <= 1;
        break;
    case CTS_TYPE_STRING:
        ok = get_str(r, &v->s.ptr, &v->s.len);
        break;
    default:
        ok = false;
    }
    return ok ? 0 : CTS_ECORRUPT;
}

int pl_get_delete_id(pl_reader *r, uint32_t *prev, uint32_t *id)
{
    uint32_t d;
    if (!get_u32(r, &d) || (uint64_t)*prev + d > UINT32_MAX)
        return CTS_ECORRUPT;
    *id = *prev + d;
    *prev = *id;
    return 0;
}
