/*
 * head.c: a column's unsealed points (cts_head) and self-contained copies of
 * points (cts_run). Contracts in column.h.
 *
 * Why it looks like this. Ingest appends, almost always in time order, to
 * millions of columns, so a head is two parallel arrays (timestamps, values)
 * grown by doubling: the in-order put is a compare, two stores and an
 * increment. Late points are rare and cost a binary search and a memmove.
 * Sealing takes a prefix [lo, hi) straight from the arrays as a
 * cts_block_input, then removes it.
 *
 * Strings. A head copies string bytes into append-only pages that it owns
 * (never one allocation per value). Pages never move, so the cts_str of the
 * value array stays valid across puts of other values. Replacing or removing
 * a string leaves its bytes behind as garbage; when garbage exceeds
 * `live + 16 * count + COMPACT_MIN_BYTES` the live strings are copied into
 * one fresh page and the old pages are freed. The threshold makes the O(count
 * + live) compaction cost no more than the bytes that became garbage since
 * the last one, so it is amortised O(1) per byte written. Compaction is an
 * optimisation: when its allocation fails, the head keeps its pages.
 *
 * Invariants kept by every function here:
 *   - ts[0..count) strictly increasing; count <= cap;
 *   - head strings point into pages or at EMPTY, runs' strings into their
 *     arena; never NULL;
 *   - str_live = sum of value lengths, str_used = bytes handed out from the
 *     pages (live or garbage), str_held = bytes allocated for pages;
 *   - on any error the object is exactly as before the call.
 *
 * A run is one allocation: [ts: cap * 8][values: cap * elem, rounded to 8]
 * [string arena: str_cap], so copying a snapshot costs one malloc and freeing
 * it one free.
 */
#include "column.h"

#include <string.h>

/* Target of every empty string: never NULL, so memcpy(dst, s.ptr, 0) is
 * well defined for consumers. */
static const char EMPTY[1] = "";

#define HEAD_MIN_CAP 8u
#define HEAD_SHRINK_MIN_CAP 64u
#define PAGE_MIN_BYTES 256u
#define PAGE_MAX_BYTES 65536u
#define PAGE_BIG_BYTES 16384u
#define COMPACT_MIN_BYTES 4096u

struct cts_strpage {
    struct cts_strpage *next;
    size_t len, cap;
    char data[];
};

size_t cts_value_size(cts_type type)
{
    switch (type) {
    case CTS_TYPE_FLOAT:
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        return 8;
    case CTS_TYPE_BOOL:
        return 1;
    case CTS_TYPE_STRING:
        return sizeof(cts_str);
    }
    return 0;
}

uint32_t cts_ts_lower_bound(const int64_t *ts, uint32_t n, int64_t key)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ts[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t string_bytes(const cts_str *s, uint32_t n)
{
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += s[i].len;
    return total;
}

/* ------------------------------------------------------------------------
 * Runs.
 * ------------------------------------------------------------------------ */
void cts_run_init(cts_run *r, cts_type type)
{
    memset(r, 0, sizeof *r);
    r->type = type;
}

void cts_run_fini(cts_run *r)
{
    cts_free(r->ts);
    cts_run_init(r, r->type);
}

int cts_run_reserve(cts_run *r, uint32_t count, size_t str_bytes)
{
    size_t elem = cts_value_size(r->type);
    if (elem == 0)
        return CTS_EINVAL;
    cts_run_fini(r);
    if (count == 0 && str_bytes == 0)
        return 0;
    size_t ts_bytes = (size_t)count * 8;
    size_t val_bytes = ((size_t)count * elem + 7) & ~(size_t)7;
    size_t fixed = ts_bytes + val_bytes;
    if (str_bytes > SIZE_MAX - fixed)
        return CTS_ENOMEM;
    unsigned char *mem = cts_malloc(fixed + str_bytes);
    if (!mem)
        return CTS_ENOMEM;
    r->ts = (int64_t *)(void *)mem;
    r->v.raw = mem + ts_bytes;
    r->str_arena = (char *)mem + fixed;
    r->str_cap = str_bytes;
    r->cap = count;
    return 0;
}

void cts_run_output(cts_run *r, cts_block_output *out)
{
    memset(out, 0, sizeof *out);
    out->ts = r->ts;
    out->v.s = r->v.s; /* every member aliases the same pointer */
    out->cap_count = r->cap;
    out->str_arena = r->str_arena;
    out->str_arena_cap = r->str_cap;
}

static void input_of(cts_type type, const int64_t *ts, cts_values v, size_t elem, uint32_t lo,
                     uint32_t hi, cts_block_input *in)
{
    memset(in, 0, sizeof *in);
    in->type = type;
    in->count = hi - lo;
    in->ts = ts ? ts + lo : NULL;
    in->v.s = v.raw ? (const cts_str *)(const void *)(v.raw + (size_t)lo * elem) : NULL;
}

void cts_run_input(const cts_run *r, uint32_t lo, uint32_t hi, cts_block_input *in)
{
    input_of(r->type, r->ts, r->v, cts_value_size(r->type), lo, hi, in);
}

/* Fill reserved `dst` with n points; strings are copied into dst's arena,
 * which must hold their total length. */
static void fill_run(cts_run *dst, const int64_t *ts, cts_values v, uint32_t n)
{
    size_t elem = cts_value_size(dst->type);
    if (n == 0)
        return;
    memcpy(dst->ts, ts, (size_t)n * 8);
    if (dst->type != CTS_TYPE_STRING) {
        memcpy(dst->v.raw, v.raw, (size_t)n * elem);
    } else {
        size_t off = 0;
        for (uint32_t i = 0; i < n; i++) {
            cts_str s = v.s[i];
            if (s.len)
                memcpy(dst->str_arena + off, s.ptr, s.len);
            dst->v.s[i].ptr = dst->str_arena + off;
            dst->v.s[i].len = s.len;
            off += s.len;
        }
    }
    dst->count = n;
}

/* Replace dst with a copy of n points of `type`. */
static int copy_points(cts_type type, const int64_t *ts, cts_values v, uint32_t n, cts_run *dst)
{
    size_t str_bytes = type == CTS_TYPE_STRING ? string_bytes(v.s, n) : 0;
    cts_run_fini(dst);
    dst->type = type;
    int rc = cts_run_reserve(dst, n, str_bytes);
    if (rc < 0)
        return rc;
    fill_run(dst, ts, v, n);
    return 0;
}

int cts_run_copy(const cts_run *src, uint32_t lo, uint32_t hi, cts_run *dst)
{
    size_t elem = cts_value_size(src->type);
    cts_values v = {.raw = src->v.raw ? src->v.raw + (size_t)lo * elem : NULL};
    return copy_points(src->type, src->ts ? src->ts + lo : NULL, v, hi - lo, dst);
}

uint32_t cts_run_lower_bound(const cts_run *r, int64_t ts)
{
    return cts_ts_lower_bound(r->ts, r->count, ts);
}

static bool str_in_arena(const cts_run *r, cts_str s)
{
    uintptr_t base = (uintptr_t)r->str_arena, p = (uintptr_t)s.ptr;
    return s.ptr && p >= base && p - base <= r->str_cap && s.len <= r->str_cap - (p - base);
}

int cts_run_validate(const cts_run *r)
{
    if (r->count > r->cap || cts_value_size(r->type) == 0)
        return CTS_ECORRUPT;
    for (uint32_t i = 1; i < r->count; i++) {
        if (r->ts[i] <= r->ts[i - 1])
            return CTS_ECORRUPT;
    }
    for (uint32_t i = 0; r->type == CTS_TYPE_BOOL && i < r->count; i++) {
        if (r->v.b[i] > 1)
            return CTS_ECORRUPT;
    }
    for (uint32_t i = 0; r->type == CTS_TYPE_STRING && i < r->count; i++) {
        if (!str_in_arena(r, r->v.s[i]))
            return CTS_ECORRUPT;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Head string pages.
 * ------------------------------------------------------------------------ */
static void free_pages(cts_head *h)
{
    struct cts_strpage *p = h->pages;
    while (p) {
        struct cts_strpage *next = p->next;
        cts_free(p);
        p = next;
    }
    h->pages = NULL;
    h->str_live = h->str_used = h->str_held = 0;
}

static struct cts_strpage *page_new(size_t cap)
{
    if (cap > SIZE_MAX - sizeof(struct cts_strpage))
        return NULL;
    struct cts_strpage *p = cts_malloc(sizeof *p + cap);
    if (!p)
        return NULL;
    p->next = NULL;
    p->len = 0;
    p->cap = cap;
    return p;
}

/* Room for len bytes: the newest page, or a new one. A big string gets a
 * page of its own behind the newest, so the newest keeps serving small
 * ones. */
static char *page_alloc(cts_head *h, size_t len)
{
    struct cts_strpage *p = h->pages;
    if (p && p->cap - p->len >= len) {
        p->len += len;
        return p->data + p->len - len;
    }
    size_t cap = len;
    if (len < PAGE_BIG_BYTES) {
        size_t grown = p ? p->cap * 2 : PAGE_MIN_BYTES;
        cap = grown > PAGE_MAX_BYTES ? PAGE_MAX_BYTES : grown;
        cap = cap < len ? len : cap;
    }
    struct cts_strpage *np = page_new(cap);
    if (!np)
        return NULL;
    h->str_held += sizeof *np + cap;
    np->len = len;
    if (len >= PAGE_BIG_BYTES && p) {
        np->next = p->next;
        p->next = np;
    } else {
        np->next = p;
        h->pages = np;
    }
    return np->data;
}

/* Copy src's bytes into the head; *dst receives the head's copy. */
static int str_copy(cts_head *h, const cts_str *src, cts_str *dst)
{
    if (src->len == 0) {
        dst->ptr = EMPTY;
        dst->len = 0;
        return 0;
    }
    char *mem = page_alloc(h, src->len);
    if (!mem)
        return CTS_ENOMEM;
    memcpy(mem, src->ptr, src->len);
    dst->ptr = mem;
    dst->len = src->len;
    h->str_live += src->len;
    h->str_used += src->len;
    return 0;
}

/* Move every live string into one exact page when garbage dominates. */
static void maybe_compact(cts_head *h)
{
    size_t garbage = h->str_used - h->str_live;
    if (garbage < h->str_live + (size_t)16 * h->count + COMPACT_MIN_BYTES)
        return;
    size_t live = h->str_live;
    struct cts_strpage *np = live ? page_new(live) : NULL;
    if (live && !np)
        return;
    for (uint32_t i = 0; np && i < h->count; i++) {
        cts_str *s = &h->v.s[i];
        if (s->len) {
            memcpy(np->data + np->len, s->ptr, s->len);
            s->ptr = np->data + np->len;
            np->len += s->len;
        }
    }
    free_pages(h);
    h->pages = np;
    h->str_live = h->str_used = live;
    h->str_held = np ? sizeof *np + live : 0;
}

/* ------------------------------------------------------------------------
 * Head.
 * ------------------------------------------------------------------------ */
int cts_head_init(cts_head *h, cts_type type)
{
    memset(h, 0, sizeof *h);
    size_t elem = cts_value_size(type);
    if (elem == 0)
        return CTS_EINVAL;
    h->type = type;
    h->elem_size = (uint32_t)elem;
    return 0;
}

void cts_head_fini(cts_head *h)
{
    cts_free(h->ts);
    cts_free(h->v.raw);
    free_pages(h);
    h->ts = NULL;
    h->v.raw = NULL;
    h->count = h->cap = 0;
}

size_t cts_head_bytes(const cts_head *h)
{
    return (size_t)h->cap * (8 + h->elem_size) + h->str_held;
}

uint32_t cts_head_lower_bound(const cts_head *h, int64_t ts)
{
    return cts_ts_lower_bound(h->ts, h->count, ts);
}

void cts_head_input(const cts_head *h, uint32_t lo, uint32_t hi, cts_block_input *in)
{
    input_of(h->type, h->ts, h->v, h->elem_size, lo, hi, in);
}

/* Double the capacity. A failure leaves count and cap as they were (an
 * array that did grow is merely roomier than cap says). */
static int grow(cts_head *h)
{
    if (h->count == UINT32_MAX)
        return CTS_ELIMIT;
    /* an emptied head regrows straight to the size it had when it was last
     * sealed: one allocation per block instead of a doubling series */
    uint32_t cap = h->cap == 0 && h->cap_hint > HEAD_MIN_CAP ? h->cap_hint
                   : h->cap < HEAD_MIN_CAP                   ? HEAD_MIN_CAP
                   : h->cap > UINT32_MAX / 2                 ? UINT32_MAX
                                                             : h->cap * 2;
    int64_t *ts = cts_realloc(h->ts, (size_t)cap * 8);
    if (!ts)
        return CTS_ENOMEM;
    h->ts = ts;
    unsigned char *v = cts_realloc(h->v.raw, (size_t)cap * h->elem_size);
    if (!v)
        return CTS_ENOMEM;
    h->v.raw = v;
    h->cap = cap;
    return 0;
}

static int replace(cts_head *h, uint32_t i, const cts_value *v)
{
    if (h->type != CTS_TYPE_STRING) {
        memcpy(h->v.raw + (size_t)i * h->elem_size, v, h->elem_size);
        return 0;
    }
    cts_str s;
    int rc = str_copy(h, &v->s, &s);
    if (rc < 0)
        return rc;
    h->str_live -= h->v.s[i].len;
    h->v.s[i] = s;
    maybe_compact(h);
    return 0;
}

static int insert(cts_head *h, uint32_t i, int64_t ts, const cts_value *v)
{
    int rc = h->count == h->cap ? grow(h) : 0;
    if (rc < 0)
        return rc;
    cts_value val = *v;
    if (h->type == CTS_TYPE_STRING && (rc = str_copy(h, &v->s, &val.s)) < 0)
        return rc;
    size_t elem = h->elem_size, tail = h->count - i;
    memmove(h->ts + i + 1, h->ts + i, tail * 8);
    memmove(h->v.raw + (i + 1) * elem, h->v.raw + i * elem, tail * elem);
    h->ts[i] = ts;
    memcpy(h->v.raw + i * elem, &val, elem);
    h->count++;
    return 0;
}

static int put_slow(cts_head *h, int64_t ts, const cts_value *v)
{
    uint32_t n = h->count;
    uint32_t i = n == 0 || ts > h->ts[n - 1] ? n : cts_ts_lower_bound(h->ts, n, ts);
    if (i < n && h->ts[i] == ts)
        return replace(h, i, v);
    return insert(h, i, ts, v);
}

int cts_head_put(cts_head *h, int64_t ts, const cts_value *v)
{
    uint32_t n = h->count;
    if (n == h->cap || (n > 0 && ts <= h->ts[n - 1]))
        return h->type == CTS_TYPE_BOOL && v->b > 1 ? CTS_EINVAL : put_slow(h, ts, v);
    switch (h->type) {
    case CTS_TYPE_FLOAT:
    case CTS_TYPE_INT:
    case CTS_TYPE_UINT:
        memcpy(h->v.u + n, &v->u, 8);
        break;
    case CTS_TYPE_BOOL:
        if (v->b > 1)
            return CTS_EINVAL;
        h->v.b[n] = v->b;
        break;
    case CTS_TYPE_STRING:
        return put_slow(h, ts, v);
    }
    h->ts[n] = ts;
    h->count = n + 1;
    return 0;
}

/* Give back array memory once the head is mostly empty. Both arrays are
 * reallocated first and swapped in together, so a refusal changes nothing. */
static void shrink(cts_head *h)
{
    if (h->count == 0) {
        h->cap_hint = h->cap;
        cts_free(h->ts);
        cts_free(h->v.raw);
        h->ts = NULL;
        h->v.raw = NULL;
        h->cap = 0;
        return;
    }
    if (h->cap < HEAD_SHRINK_MIN_CAP || h->count > h->cap / 4)
        return;
    uint32_t cap = h->count * 2 < HEAD_MIN_CAP ? HEAD_MIN_CAP : h->count * 2;
    int64_t *ts = cts_malloc((size_t)cap * 8);
    unsigned char *v = cts_malloc((size_t)cap * h->elem_size);
    if (ts && v) {
        memcpy(ts, h->ts, (size_t)h->count * 8);
        memcpy(v, h->v.raw, (size_t)h->count * h->elem_size);
        cts_free(h->ts);
        cts_free(h->v.raw);
        h->ts = ts;
        h->v.raw = v;
        h->cap = cap;
        return;
    }
    cts_free(ts);
    cts_free(v);
}

void cts_head_remove(cts_head *h, uint32_t lo, uint32_t hi)
{
    if (lo >= hi)
        return;
    size_t elem = h->elem_size, tail = h->count - hi;
    if (h->type == CTS_TYPE_STRING)
        h->str_live -= string_bytes(h->v.s + lo, hi - lo);
    memmove(h->ts + lo, h->ts + hi, tail * 8);
    memmove(h->v.raw + lo * elem, h->v.raw + hi * elem, tail * elem);
    h->count -= hi - lo;
    if (h->type == CTS_TYPE_STRING && h->count == 0)
        free_pages(h);
    else if (h->type == CTS_TYPE_STRING)
        maybe_compact(h);
    shrink(h);
}

int cts_head_copy(const cts_head *h, int64_t t0, int64_t t1, cts_run *out)
{
    uint32_t lo = cts_ts_lower_bound(h->ts, h->count, t0);
    uint32_t hi = t0 < t1 ? cts_ts_lower_bound(h->ts, h->count, t1) : lo;
    cts_values v = {.raw = h->v.raw ? h->v.raw + (size_t)lo * h->elem_size : NULL};
    return copy_points(h->type, h->ts ? h->ts + lo : NULL, v, hi - lo, out);
}
