/*
 * fuzz_query.c: libFuzzer target for the InfluxQL lexer and parser
 * (query/lexer.c, parser*.c), cts_query_incomplete and q_time_parse.
 *
 * The input is query text. Checked, besides the sanitizers:
 *   1. q_parse returns 0 or CTS_EPARSE, and an error has a position inside
 *      the text and a message in InfluxDB's form;
 *   2. on success every statement prints back as canonical InfluxQL (all
 *      identifiers quoted, all binary expressions parenthesised), and that
 *      text parses to an AST that prints the same (a round trip);
 *   3. with a small arena limit the result is the same or CTS_ENOMEM;
 *   4. cts_query_incomplete and q_time_parse take the bytes without harm.
 * A mismatch aborts, so libFuzzer keeps the input as a crash.
 */
#include "cts_query.h"
#include "query_int.h"

#include <inttypes.h>
#include <stdarg.h>
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

typedef struct out {
    char *s;
    size_t n, cap;
    int depth, max_depth; /* parentheses the print nests */
} out;

static void put_n(out *o, const char *s, size_t n)
{
    if (o->n + n + 1 > o->cap) {
        o->cap = (o->n + n + 1) * 2 + 256;
        o->s = realloc(o->s, o->cap);
        CHECK(o->s);
    }
    memcpy(o->s + o->n, s, n);
    o->n += n;
}

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    CHECK(n >= 0 && (size_t)n < sizeof buf);
    put_n(o, buf, (size_t)n);
}

static void put_quoted(out *o, cts_str s, char q)
{
    CHECK(s.ptr && s.ptr[s.len] == '\0');
    put_n(o, &q, 1);
    for (uint32_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '\n')
            put_n(o, "\\n", 2);
        else if (c == q || c == '\\')
            put(o, "\\%c", c);
        else
            put_n(o, &c, 1);
    }
    put_n(o, &q, 1);
}

static void put_regex(out *o, cts_str s)
{
    CHECK(s.ptr && s.ptr[s.len] == '\0');
    put_n(o, "/", 1);
    for (uint32_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '/')
            put_n(o, "\\/", 2);
        else
            put_n(o, &s.ptr[i], 1);
    }
    put_n(o, "/", 1);
}

static void print_expr(out *o, const q_expr *e, size_t text_len)
{
    static const char *const ops[] = {"?",  "+", "-",  "*",  "/",  "=",   "!=", "<",
                                      "<=", ">", ">=", "=~", "!~", "AND", "OR"};
    static const char *const casts[] = {"",          "::field",    "::tag",    "::float",
                                        "::integer", "::unsigned", "::string", "::boolean"};
    CHECK(e->off <= text_len);
    switch (e->kind) {
    case Q_E_REF:
        CHECK((unsigned)e->u.ref.cast < 8);
        put_quoted(o, e->u.ref.name, '"');
        put(o, "%s", casts[e->u.ref.cast]);
        break;
    case Q_E_WILDCARD:
        put(o, "*");
        break;
    case Q_E_CALL:
        /* A quoted identifier names a call too: "my fn"(x). */
        put_quoted(o, e->u.call.name, '"');
        put(o, "(");
        for (uint32_t i = 0; i < e->u.call.nargs; i++) {
            put(o, "%s", i ? ", " : "");
            print_expr(o, e->u.call.args[i], text_len);
        }
        put(o, ")");
        break;
    case Q_E_NUMBER: {
        char num[64];
        CHECK(e->u.num == e->u.num && e->u.num - e->u.num == 0); /* finite */
        snprintf(num, sizeof num, "%.17g", e->u.num);
        put(o, "%s%s", num, strpbrk(num, ".e") ? "" : ".0");
        break;
    }
    case Q_E_INTEGER:
        put(o, "%" PRId64, e->u.integer);
        break;
    case Q_E_STRING:
        put_quoted(o, e->u.str, '\'');
        break;
    case Q_E_BOOL:
        put(o, "%s", e->u.boolean ? "true" : "false");
        break;
    case Q_E_DURATION:
        put(o, "%" PRId64 "ns", e->u.integer);
        break;
    case Q_E_REGEX:
        put_regex(o, e->u.str);
        break;
    case Q_E_BINARY:
        CHECK(e->u.bin.op >= Q_OP_ADD && e->u.bin.op <= Q_OP_OR);
        put(o, "(");
        if (++o->depth > o->max_depth)
            o->max_depth = o->depth;
        print_expr(o, e->u.bin.lhs, text_len);
        put(o, " %s ", ops[e->u.bin.op]);
        print_expr(o, e->u.bin.rhs, text_len);
        o->depth--;
        put(o, ")");
        break;
    default:
        CHECK(!"bad expression kind");
    }
}

static void print_source(out *o, const q_source *s)
{
    if (s->db.ptr) {
        put_quoted(o, s->db, '"');
        put(o, ".");
    }
    if (s->rp.ptr || s->db.ptr) {
        if (s->rp.ptr)
            put_quoted(o, s->rp, '"');
        put(o, ".");
    }
    if (s->is_regex)
        put_regex(o, s->name);
    else
        put_quoted(o, s->name, '"');
}

static void print_sources(out *o, const char *kw, const q_source *s, uint32_t n)
{
    if (n)
        put(o, "%s", kw);
    for (uint32_t i = 0; i < n; i++) {
        put(o, "%s", i ? ", " : "");
        print_source(o, &s[i]);
    }
}

static void print_where(out *o, const q_expr *w, size_t len)
{
    if (w) {
        put(o, " WHERE ");
        print_expr(o, w, len);
    }
}

static void print_select(out *o, const q_select *s, size_t len)
{
    static const char *const fills[] = {"null", "none", "previous", "linear"};
    put(o, "SELECT ");
    CHECK(s->nfields > 0 && s->nsources > 0);
    for (uint32_t i = 0; i < s->nfields; i++) {
        put(o, "%s", i ? ", " : "");
        print_expr(o, s->fields[i].expr, len);
        if (s->fields[i].alias.ptr) {
            put(o, " AS ");
            put_quoted(o, s->fields[i].alias, '"');
        }
    }
    print_sources(o, " FROM ", s->sources, s->nsources);
    print_where(o, s->where, len);
    const char *sep = " GROUP BY ";
    if (s->group_time) {
        CHECK(s->interval_ns > 0);
        put(o, "%stime(%" PRId64 "ns, %" PRId64 "ns)", sep, s->interval_ns, s->offset_ns);
        sep = ", ";
    }
    for (uint32_t i = 0; i < s->ngroup_tags; i++, sep = ", ") {
        put(o, "%s", sep);
        put_quoted(o, s->group_tags[i], '"');
    }
    if (s->group_all_tags)
        put(o, "%s*", sep);
    if (s->fill == Q_FILL_NUMBER) {
        CHECK(s->fill_value &&
              (s->fill_value->kind == Q_E_INTEGER || s->fill_value->kind == Q_E_NUMBER));
        put(o, " fill(");
        print_expr(o, s->fill_value, len);
        put(o, ")");
    } else {
        CHECK((unsigned)s->fill < 4);
        put(o, " fill(%s)", fills[s->fill]);
    }
    put(o, " ORDER BY time %s", s->order_desc ? "DESC" : "ASC");
    CHECK(s->limit >= 0 && s->offset >= 0 && s->slimit >= 0 && s->soffset >= 0);
    put(o, " LIMIT %" PRId64 " OFFSET %" PRId64, s->limit, s->offset);
    put(o, " SLIMIT %" PRId64 " SOFFSET %" PRId64, s->slimit, s->soffset);
}

static void print_with(out *o, const q_meta *m)
{
    static const char *const ops[] = {"", "=", "!=", "IN", "=~", "!~"};
    if (!m->with_op)
        return;
    put(o, " WITH KEY %s ", ops[m->with_op]);
    if (m->with_op == Q_WITH_KEY_REGEX || m->with_op == Q_WITH_KEY_NREGEX) {
        put_regex(o, m->regex);
        return;
    }
    CHECK(m->nkeys >= 1 && (m->with_op == Q_WITH_KEY_IN || m->nkeys == 1));
    put(o, "%s", m->with_op == Q_WITH_KEY_IN ? "(" : "");
    for (uint32_t i = 0; i < m->nkeys; i++) {
        put(o, "%s", i ? ", " : "");
        put_quoted(o, m->keys[i], '"');
    }
    put(o, "%s", m->with_op == Q_WITH_KEY_IN ? ")" : "");
}

static void print_meta(out *o, const q_stmt *st, size_t len)
{
    static const char *const kinds[] = {"",
                                        "",
                                        "SHOW DATABASES",
                                        "SHOW MEASUREMENTS",
                                        "SHOW TAG KEYS",
                                        "SHOW TAG VALUES",
                                        "SHOW FIELD KEYS",
                                        "SHOW SERIES",
                                        "SHOW RETENTION POLICIES",
                                        "CREATE DATABASE",
                                        "DROP DATABASE",
                                        "DROP MEASUREMENT",
                                        "DROP SERIES",
                                        "DELETE"};
    const q_meta *m = &st->u.meta;
    CHECK(st->kind >= Q_SHOW_DATABASES && st->kind <= Q_DELETE);
    put(o, "%s", kinds[st->kind]);
    switch (st->kind) {
    case Q_CREATE_DATABASE:
    case Q_DROP_DATABASE:
        put(o, " ");
        put_quoted(o, m->on_db, '"');
        return;
    case Q_DROP_MEASUREMENT:
        CHECK(m->nfrom == 1 && !m->from->is_regex);
        put(o, " ");
        put_quoted(o, m->from->name, '"');
        return;
    default:
        break;
    }
    if (m->on_db.ptr) {
        put(o, " ON ");
        put_quoted(o, m->on_db, '"');
    }
    print_sources(o, " FROM ", m->from, m->nfrom);
    if (st->kind == Q_SHOW_MEASUREMENTS && (m->regex.ptr || m->nkeys)) {
        CHECK(!m->with_op && !m->nfrom && (m->regex.ptr ? m->nkeys == 0 : m->nkeys == 1));
        put(o, " WITH MEASUREMENT %s ", m->regex.ptr ? "=~" : "=");
        if (m->regex.ptr)
            put_regex(o, m->regex);
        else
            put_quoted(o, m->keys[0], '"');
    }
    print_with(o, m);
    print_where(o, m->where, len);
    if (st->kind == Q_SHOW_RETENTION_POLICIES || st->kind == Q_SHOW_DATABASES ||
        st->kind == Q_DROP_SERIES || st->kind == Q_DELETE)
        return;
    put(o, " LIMIT %" PRId64 " OFFSET %" PRId64, m->limit, m->offset);
}

static void print_query(out *o, const q_query *q, size_t len)
{
    CHECK(q->count > 0);
    for (uint32_t i = 0; i < q->count; i++) {
        const q_stmt *st = &q->stmts[i];
        CHECK(st->off <= len && st->len <= len - st->off);
        put(o, "%s", i ? "; " : "");
        if (st->kind == Q_SELECT)
            print_select(o, &st->u.select, len);
        else
            print_meta(o, st, len);
    }
}

/* Parse text; on success print it into *o. */
static int parse_print(const char *text, size_t len, uint64_t limit, out *o)
{
    q_arena a;
    q_query q;
    cts_query_error err;
    q_arena_init(&a, limit);
    int rc = q_parse(&a, text, len, &q, &err);
    CHECK(rc == err.code);
    if (rc == 0) {
        print_query(o, &q, len);
    } else if (rc == CTS_EPARSE) {
        CHECK(strncmp(err.msg, "error parsing query: ", 21) == 0);
        CHECK(err.offset <= len && err.line >= 1 && err.col >= 1);
    } else {
        CHECK(rc == CTS_ENOMEM && limit);
    }
    CHECK(!limit || a.bytes <= limit);
    q_arena_fini(&a);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    out first = {0}, second = {0}, limited = {0};
    int rc = parse_print(text, size, 0, &first);
    /* A flat chain a - b - c ... prints as nested parentheses, which can
     * pass the parser's nesting bound (200): no round trip for those. */
    if (rc == 0 && first.max_depth < 60) {
        int rc2 = parse_print(first.s, first.n, 0, &second);
        if (rc2 != 0 || second.n != first.n || memcmp(first.s, second.s, first.n) != 0) {
            fprintf(stderr, "round trip:\n  %.*s\n  %.*s\n", (int)first.n, first.s, (int)second.n,
                    second.s);
            abort();
        }
    }
    uint64_t limit = 512 + (size ? data[0] : 0) * 64u;
    int rc3 = parse_print(text, size, limit, &limited);
    CHECK(rc3 == rc || rc3 == CTS_ENOMEM);
    if (rc3 == 0)
        CHECK(limited.n == first.n && memcmp(limited.s, first.s, first.n) == 0);
    free(first.s);
    free(second.s);
    free(limited.s);

    (void)cts_query_incomplete(text, size);
    int64_t ns;
    if (q_time_parse(text, size, &ns) == 0)
        CHECK(size >= 10);
    return 0;
}
