/*
 * fuzz_lineproto.c: libFuzzer target for the line-protocol parser, reader
 * and formatter (engine/lineproto.c, lp_reader.c, lp_format.c).
 *
 * The first input byte chooses the options (bits 0-1: max_line_bytes 1 MiB,
 * 64, 300 or 4096; bits 2-4: the chunk-size pattern; bits 5-7: the batch
 * size); the rest is line protocol. Checked, besides the sanitizers:
 *   1. the whole input as one line: when it parses, the point formats, and
 *      the formatted line parses back into the same point (a name holding a
 *      '\n', which line protocol cannot carry, may be refused instead);
 *   2. the reader gives the same points, bad lines and line numbers whether
 *      the input comes in one chunk or in small ones;
 *   3. every point the reader yields formats and parses back to itself.
 * A mismatch aborts, so libFuzzer keeps the input as a crash.
 */
#include "cts_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool str_eq(cts_str a, cts_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool field_eq(const cts_field *a, const cts_field *b)
{
    if (!str_eq(a->key, b->key) || a->type != b->type)
        return false;
    switch (a->type) {
    case CTS_TYPE_FLOAT:
        return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0;
    case CTS_TYPE_INT:
        return a->v.i == b->v.i;
    case CTS_TYPE_UINT:
        return a->v.u == b->v.u;
    case CTS_TYPE_BOOL:
        return a->v.b == b->v.b;
    default:
        return str_eq(a->v.s, b->v.s);
    }
}

static bool point_eq(const cts_point *a, const cts_point *b)
{
    if (!str_eq(a->measurement, b->measurement) || a->ntags != b->ntags ||
        a->nfields != b->nfields || a->ts_ns != b->ts_ns)
        return false;
    for (uint32_t i = 0; i < a->ntags; i++)
        if (!str_eq(a->tags[i].key, b->tags[i].key) || !str_eq(a->tags[i].value, b->tags[i].value))
            return false;
    for (uint32_t i = 0; i < a->nfields; i++)
        if (!field_eq(&a->fields[i], &b->fields[i]))
            return false;
    return true;
}

static bool has_newline(cts_str s)
{
    return s.len && memchr(s.ptr, '\n', s.len) != NULL;
}

static bool names_have_newline(const cts_point *p)
{
    bool nl = has_newline(p->measurement);
    for (uint32_t i = 0; i < p->ntags; i++)
        nl |= has_newline(p->tags[i].key) || has_newline(p->tags[i].value);
    for (uint32_t i = 0; i < p->nfields; i++)
        nl |= has_newline(p->fields[i].key);
    return nl;
}

/* Format p and parse it back; returns the formatted length or -1 when it
 * could not be formatted (allowed only for names holding a '\n'). */
static int64_t round_trip(const cts_point *p, const cts_lp_opts *o)
{
    static char buf[3 << 20];
    static cts_lp_point back;
    int64_t n = cts_lp_format_point(p, buf, sizeof buf);
    if (n == CTS_EINVAL) {
        CHECK(names_have_newline(p));
        return -1;
    }
    CHECK(n > 0);
    cts_lp_opts big = *o;
    big.max_line_bytes = 1u << 30;
    CHECK(cts_lp_parse_line(buf, (size_t)n, &big, &back, NULL) == 1);
    CHECK(point_eq(p, &back.point));
    return n;
}

/* A growing text log of what a reader produced. */
typedef struct flog {
    char *text;
    size_t len, cap;
} flog;

static void flog_add(flog *l, const char *s, size_t n)
{
    if (l->len + n > l->cap) {
        l->cap = (l->len + n) * 2 + 256;
        l->text = realloc(l->text, l->cap);
        CHECK(l->text);
    }
    memcpy(l->text + l->len, s, n);
    l->len += n;
}

static void flog_point(flog *l, const cts_point *p, uint64_t line, const cts_lp_opts *o)
{
    char head[80];
    int n = snprintf(head, sizeof head, "P%llu %u %u %lld|", (unsigned long long)line, p->ntags,
                     p->nfields, (long long)p->ts_ns);
    flog_add(l, head, (size_t)n);
    flog_add(l, p->measurement.ptr, p->measurement.len);
    for (uint32_t k = 0; k < p->nfields; k++)
        flog_add(l, p->fields[k].key.ptr, p->fields[k].key.len);
    CHECK(round_trip(p, o) > 0); /* reader names never hold a '\n' */
}

static void flog_bad(flog *l, const cts_lp_error *e)
{
    char head[80];
    int n = snprintf(head, sizeof head, "E%llu:%u:%d|", (unsigned long long)e->line, e->column,
                     (int)e->kind);
    flog_add(l, head, (size_t)n);
    flog_add(l, e->msg, strlen(e->msg));
}

/* Points and bad lines merged in input order (both are, within a batch),
 * so that the log does not depend on where batches end. */
static void flog_batch(flog *l, const cts_lp_batch *b, const cts_lp_opts *o)
{
    size_t i = 0, j = 0;
    CHECK(b->npoints + b->nbad > 0);
    CHECK(b->npoints <= o->batch_points && b->nbad <= o->batch_points);
    while (i < b->npoints || j < b->nbad) {
        if (j >= b->nbad || (i < b->npoints && b->point_line[i] < b->bad[j].line)) {
            CHECK(i == 0 || b->point_line[i - 1] < b->point_line[i]);
            flog_point(l, &b->points[i], b->point_line[i], o);
            i++;
        } else {
            CHECK(j == 0 || b->bad[j - 1].line < b->bad[j].line);
            flog_bad(l, &b->bad[j++]);
        }
    }
}

/* Read text in chunks from `pattern` (cycled; 0: everything at once). */
static flog read_chunked(const char *text, size_t len, const cts_lp_opts *o, const size_t *pattern,
                         size_t npattern)
{
    flog l = {0};
    cts_lp_reader *r;
    cts_lp_batch b;
    CHECK(cts_lp_reader_create(o, &r) == CTS_OK);
    for (size_t pos = 0, k = 0;; k++) {
        bool last = pos == len;
        size_t n = npattern ? pattern[k % npattern] : len - pos;
        n = n > len - pos ? len - pos : n;
        CHECK((last ? cts_lp_reader_finish(r) : cts_lp_reader_feed(r, text + pos, n)) == CTS_OK);
        pos += n;
        int rc;
        while ((rc = cts_lp_reader_next(r, &b)) > 0)
            flog_batch(&l, &b, o);
        CHECK(rc == 0);
        if (last)
            break;
    }
    cts_lp_reader_destroy(r);
    return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t max_lines[] = {1u << 20, 64, 300, 4096};
    static const size_t patterns[8][3] = {{1, 1, 1},  {1, 2, 3},   {7, 1, 13}, {2, 5, 64},
                                          {16, 3, 1}, {100, 1, 9}, {3, 3, 3},  {31, 4, 2}};
    if (size == 0)
        return 0;
    cts_lp_opts o;
    cts_lp_opts_init(&o);
    o.now_ns = 1764000000000000000;
    o.max_line_bytes = max_lines[data[0] & 3];
    o.batch_points = 1u + (data[0] >> 5) * 3u;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    static cts_lp_point p;
    if (cts_lp_parse_line(text, len, &o, &p, NULL) == 1)
        round_trip(&p.point, &o);

    flog one = read_chunked(text, len, &o, NULL, 0);
    flog cut = read_chunked(text, len, &o, patterns[(data[0] >> 2) & 7], 3);
    CHECK(one.len == cut.len && (one.len == 0 || memcmp(one.text, cut.text, one.len) == 0));
    free(one.text);
    free(cut.text);
    return 0;
}
