/*
 * test_parser.c: q_parse (parser.c, parser_select.c, parser_meta.c),
 * cts_query_check and cts_query_incomplete.
 *
 * The AST is checked through a printer that writes it back as canonical
 * InfluxQL (every identifier quoted, every binary expression in
 * parentheses, durations in ns), so each construct test is one line: text
 * in, canonical text out. The printer also drives the round-trip property:
 * random ASTs from a small grammar are printed, parsed and printed again,
 * and both prints must match. Every error message is checked word for
 * word with its line and character; allocation failure at every step must
 * give CTS_ENOMEM (never a crash or a leak: ASan checks).
 */
#include "cts_test.h"

#include "cts_query.h"
#include "query_int.h"

#include <inttypes.h>
#include <strings.h>
#include <math.h>

/* ------------------------------------------------------------------------
 * A growing text buffer and the canonical printer.
 * ------------------------------------------------------------------------ */
typedef struct sbuf {
    char s[16384];
    size_t n;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof b->s - b->n);
    b->n += (size_t)n;
}

static void put_quoted(sbuf *b, cts_str s, char q)
{
    put(b, "%c", q);
    for (uint32_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '\n')
            put(b, "\\n");
        else if (c == q || c == '\\')
            put(b, "\\%c", c);
        else
            put(b, "%c", c);
    }
    put(b, "%c", q);
}

static const char *op_text(q_op op)
{
    static const char *const t[] = {"?",  "+", "-",  "*",  "/",  "=",   "!=", "<",
                                    "<=", ">", ">=", "=~", "!~", "AND", "OR"};
    return (unsigned)op < sizeof t / sizeof t[0] ? t[op] : "?";
}

static const char *cast_text(q_cast c)
{
    static const char *const t[] = {"",          "::field",    "::tag",    "::float",
                                    "::integer", "::unsigned", "::string", "::boolean"};
    return t[c];
}

static void print_expr(sbuf *b, const q_expr *e)
{
    switch (e->kind) {
    case Q_E_REF:
        put_quoted(b, e->u.ref.name, '"');
        put(b, "%s", cast_text(e->u.ref.cast));
        break;
    case Q_E_WILDCARD:
        put(b, "*");
        break;
    case Q_E_CALL:
        put(b, "%s(", e->u.call.name.ptr);
        for (uint32_t i = 0; i < e->u.call.nargs; i++) {
            put(b, i ? ", " : "");
            print_expr(b, e->u.call.args[i]);
        }
        put(b, ")");
        break;
    case Q_E_NUMBER: {
        char num[64];
        snprintf(num, sizeof num, "%.17g", e->u.num);
        put(b, "%s%s", num, strpbrk(num, ".en") ? "" : ".0");
        break;
    }
    case Q_E_INTEGER:
        put(b, "%" PRId64, e->u.integer);
        break;
    case Q_E_STRING:
        put_quoted(b, e->u.str, '\'');
        break;
    case Q_E_BOOL:
        put(b, "%s", e->u.boolean ? "true" : "false");
        break;
    case Q_E_DURATION:
        put(b, "%" PRId64 "ns", e->u.integer);
        break;
    case Q_E_REGEX:
        put(b, "/");
        for (uint32_t i = 0; i < e->u.str.len; i++)
            put(b, e->u.str.ptr[i] == '/' ? "\\/" : "%c", e->u.str.ptr[i]);
        put(b, "/");
        break;
    case Q_E_BINARY:
        put(b, "(");
        print_expr(b, e->u.bin.lhs);
        put(b, " %s ", op_text(e->u.bin.op));
        print_expr(b, e->u.bin.rhs);
        put(b, ")");
        break;
    }
}

static void print_source(sbuf *b, const q_source *s)
{
    if (s->db.ptr) {
        put_quoted(b, s->db, '"');
        put(b, ".");
    }
    if (s->rp.ptr || s->db.ptr) {
        if (s->rp.ptr)
            put_quoted(b, s->rp, '"');
        put(b, ".");
    }
    if (s->is_regex) {
        q_expr re = {.kind = Q_E_REGEX, .u.str = s->name};
        print_expr(b, &re);
    } else {
        put_quoted(b, s->name, '"');
    }
}

static void print_sources(sbuf *b, const q_source *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        put(b, i ? ", " : "");
        print_source(b, &s[i]);
    }
}

static void print_where(sbuf *b, const q_expr *w)
{
    if (w) {
        put(b, " WHERE ");
        print_expr(b, w);
    }
}

static void print_group_by(sbuf *b, const q_select *s)
{
    const char *sep = " GROUP BY ";
    if (s->group_time) {
        put(b, "%stime(%" PRId64 "ns", sep, s->interval_ns);
        if (s->offset_ns)
            put(b, ", %" PRId64 "ns", s->offset_ns);
        put(b, ")");
        sep = ", ";
    }
    for (uint32_t i = 0; i < s->ngroup_tags; i++, sep = ", ") {
        put(b, "%s", sep);
        put_quoted(b, s->group_tags[i], '"');
    }
    if (s->group_all_tags)
        put(b, "%s*", sep);
}

static void print_select(sbuf *b, const q_select *s)
{
    static const char *const fills[] = {"null", "none", "previous", "linear"};
    put(b, "SELECT ");
    for (uint32_t i = 0; i < s->nfields; i++) {
        put(b, i ? ", " : "");
        print_expr(b, s->fields[i].expr);
        if (s->fields[i].alias.ptr) {
            put(b, " AS ");
            put_quoted(b, s->fields[i].alias, '"');
        }
    }
    put(b, " FROM ");
    print_sources(b, s->sources, s->nsources);
    print_where(b, s->where);
    print_group_by(b, s);
    if (s->fill == Q_FILL_NUMBER) {
        put(b, " fill(");
        print_expr(b, s->fill_value);
        put(b, ")");
    } else if (s->fill != Q_FILL_NULL) {
        put(b, " fill(%s)", fills[s->fill]);
    }
    if (s->order_desc)
        put(b, " ORDER BY time DESC");
    const char *names[] = {"LIMIT", "OFFSET", "SLIMIT", "SOFFSET"};
    int64_t vals[] = {s->limit, s->offset, s->slimit, s->soffset};
    for (int i = 0; i < 4; i++)
        if (vals[i])
            put(b, " %s %" PRId64, names[i], vals[i]);
}

static void print_meta(sbuf *b, const q_stmt *st)
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
    static const char *const with[] = {"", "=", "!=", "IN", "=~", "!~"};
    const q_meta *m = &st->u.meta;
    put(b, "%s", kinds[st->kind]);
    if (m->on_db.ptr) {
        put(b, st->kind == Q_CREATE_DATABASE || st->kind == Q_DROP_DATABASE ? " " : " ON ");
        put_quoted(b, m->on_db, '"');
    }
    if (m->nfrom) {
        put(b, st->kind == Q_DROP_MEASUREMENT ? " " : " FROM ");
        print_sources(b, m->from, m->nfrom);
    }
    if (m->with_op) {
        put(b, " WITH KEY %s ", with[m->with_op]);
        if (m->with_op == Q_WITH_KEY_REGEX || m->with_op == Q_WITH_KEY_NREGEX) {
            q_expr re = {.kind = Q_E_REGEX, .u.str = m->regex};
            print_expr(b, &re);
        }
        for (uint32_t i = 0; i < m->nkeys; i++) {
            put(b, i ? ", " : "");
            put_quoted(b, m->keys[i], '"');
        }
    } else if (m->regex.ptr) {
        put(b, " WITH MEASUREMENT =~ /%s/", m->regex.ptr);
    } else if (m->nkeys) {
        put(b, " WITH MEASUREMENT = ");
        put_quoted(b, m->keys[0], '"');
    }
    print_where(b, m->where);
    if (m->limit)
        put(b, " LIMIT %" PRId64, m->limit);
    if (m->offset)
        put(b, " OFFSET %" PRId64, m->offset);
}

static void print_query(sbuf *b, const q_query *q)
{
    for (uint32_t i = 0; i < q->count; i++) {
        put(b, i ? "; " : "");
        if (q->stmts[i].kind == Q_SELECT)
            print_select(b, &q->stmts[i].u.select);
        else
            print_meta(b, &q->stmts[i]);
    }
}

/* Parse text and print it (or the error as "ERR line:col msg"). */
static int parse_print(const char *text, size_t len, sbuf *out)
{
    q_arena a;
    q_query q;
    cts_query_error err;
    q_arena_init(&a, 0);
    out->n = 0;
    out->s[0] = '\0';
    int rc = q_parse(&a, text, len, &q, &err);
    if (rc == 0)
        print_query(out, &q);
    else
        put(out, "ERR %u:%u %s", err.line, err.col, err.msg);
    assert_int_equal(rc, err.code);
    q_arena_fini(&a);
    return rc;
}

static void check_parse(const char *text, const char *want)
{
    sbuf b;
    parse_print(text, strlen(text), &b);
    if (strcmp(b.s, want) != 0)
        fail_msg("query: %s\n  got:  %s\n  want: %s", text, b.s, want);
}

/* ------------------------------------------------------------------------
 * Constructs.
 * ------------------------------------------------------------------------ */
static void test_select_fields(void **state)
{
    (void)state;
    check_parse("SELECT * FROM m", "SELECT * FROM \"m\"");
    check_parse("select value, \"my field\" from cpu",
                "SELECT \"value\", \"my field\" FROM \"cpu\"");
    check_parse("SELECT x::float, y::tag, z::field, a::integer, b::unsigned, c::string, "
                "d::boolean FROM m",
                "SELECT \"x\"::float, \"y\"::tag, \"z\"::field, \"a\"::integer, "
                "\"b\"::unsigned, \"c\"::string, \"d\"::boolean FROM \"m\"");
    check_parse("SELECT percentile(pm25, 95), derivative(mean(x), 1s), moving_average(x, 3), "
                "count(*) FROM m",
                "SELECT percentile(\"pm25\", 95), derivative(mean(\"x\"), 1000000000ns), "
                "moving_average(\"x\", 3), count(*) FROM \"m\"");
    check_parse("SELECT MEAN(x) AS avg, Max(\"y\") as \"the max\" FROM m",
                "SELECT mean(\"x\") AS \"avg\", max(\"y\") AS \"the max\" FROM \"m\"");
    check_parse("SELECT a + b * c - d / 2 FROM m",
                "SELECT ((\"a\" + (\"b\" * \"c\")) - (\"d\" / 2)) FROM \"m\"");
    check_parse("SELECT (a + b) * c FROM m", "SELECT ((\"a\" + \"b\") * \"c\") FROM \"m\"");
    check_parse("SELECT a - b - c FROM m", "SELECT ((\"a\" - \"b\") - \"c\") FROM \"m\"");
    check_parse("SELECT -x, -1, -1.5, +2, -(a) FROM m",
                "SELECT (-1 * \"x\"), -1, -1.5, 2, (-1 * \"a\") FROM \"m\"");
    check_parse("SELECT 1.5, .5, 1e3, 2.5E-2, 7 FROM m",
                "SELECT 1.5, 0.5, 1000.0, 0.025000000000000001, 7 FROM \"m\"");
    check_parse("SELECT /^p.*/ FROM m", "SELECT /^p.*/ FROM \"m\"");
    check_parse("SELECT DISTINCT host FROM m", "SELECT distinct(\"host\") FROM \"m\"");
    check_parse("SELECT count(distinct(host)) FROM m",
                "SELECT count(distinct(\"host\")) FROM \"m\"");
    check_parse("SELECT top(x, host, 3), now() FROM m",
                "SELECT top(\"x\", \"host\", 3), now() FROM \"m\"");
    check_parse("SELECT \"a\".\"b\" FROM m", "SELECT \"a.b\" FROM \"m\"");
    check_parse("SELECT 9223372036854775807, -9223372036854775808 FROM m",
                "SELECT 9223372036854775807, -9223372036854775808 FROM \"m\"");
    check_parse("SELECT 9223372036854775808 FROM m", "SELECT 9.2233720368547758e+18 FROM \"m\"");
    check_parse("SELECT \"quote\\\"d\", 'it\\'s\\n' FROM m",
                "SELECT \"quote\\\"d\", 'it\\'s\\n' FROM \"m\"");
    check_parse("SELECT mean( ) FROM m", "SELECT mean() FROM \"m\"");
}

static void test_select_from(void **state)
{
    (void)state;
    check_parse("SELECT * FROM a, b,c", "SELECT * FROM \"a\", \"b\", \"c\"");
    check_parse("SELECT * FROM /^air.*/", "SELECT * FROM /^air.*/");
    check_parse("SELECT * FROM /a\\/b/", "SELECT * FROM /a\\/b/");
    check_parse("SELECT * FROM \"db\".\"rp\".\"m\"", "SELECT * FROM \"db\".\"rp\".\"m\"");
    check_parse("SELECT * FROM \"db\"..\"m\"", "SELECT * FROM \"db\"..\"m\"");
    check_parse("SELECT * FROM \"rp\".\"m\"", "SELECT * FROM \"rp\".\"m\"");
    check_parse("SELECT * FROM db.rp./x/", "SELECT * FROM \"db\".\"rp\"./x/");
    check_parse("SELECT * FROM rp./x/", "SELECT * FROM \"rp\"./x/");
}

static void test_select_where(void **state)
{
    (void)state;
    check_parse("SELECT * FROM m WHERE a = 'x' AND b != 'y' OR c <> 1",
                "SELECT * FROM \"m\" WHERE (((\"a\" = 'x') AND (\"b\" != 'y')) OR (\"c\" != 1))");
    check_parse("SELECT * FROM m WHERE a = 1 AND (b = 2 OR c = 3)",
                "SELECT * FROM \"m\" WHERE ((\"a\" = 1) AND ((\"b\" = 2) OR (\"c\" = 3)))");
    check_parse("SELECT * FROM m WHERE time > now() - 1h AND time <= now()",
                "SELECT * FROM \"m\" WHERE ((\"time\" > (now() - 3600000000000ns)) AND "
                "(\"time\" <= now()))");
    check_parse("SELECT * FROM m WHERE time >= '2026-11-02T00:00:00Z' + 1h",
                "SELECT * FROM \"m\" WHERE (\"time\" >= ('2026-11-02T00:00:00Z' + "
                "3600000000000ns))");
    check_parse("SELECT * FROM m WHERE host =~ /^a/ AND host !~ /b$/",
                "SELECT * FROM \"m\" WHERE ((\"host\" =~ /^a/) AND (\"host\" !~ /b$/))");
    check_parse("SELECT * FROM m WHERE ok = true OR ok = FALSE",
                "SELECT * FROM \"m\" WHERE ((\"ok\" = true) OR (\"ok\" = false))");
    check_parse("SELECT * FROM m WHERE time > 1700000000000000000 AND x < -2.5 AND y >= 10u",
                "SELECT * FROM \"m\" WHERE (((\"time\" > 1700000000000000000) AND (\"x\" < "
                "-2.5)) AND (\"y\" >= 10000ns))");
    check_parse("SELECT * FROM m WHERE time > now() - 1h30m AND d < 10\xc2\xb5 AND e < 1w "
                "AND f < 100ns AND g < 5ms",
                "SELECT * FROM \"m\" WHERE (((((\"time\" > (now() - 5400000000000ns)) AND "
                "(\"d\" < 10000ns)) AND (\"e\" < 604800000000000ns)) AND (\"f\" < 100ns)) AND "
                "(\"g\" < 5000000ns))");
}

static void test_select_group_fill_limits(void **state)
{
    (void)state;
    check_parse("SELECT mean(x) FROM m GROUP BY time(15m)",
                "SELECT mean(\"x\") FROM \"m\" GROUP BY time(900000000000ns)");
    check_parse("SELECT mean(x) FROM m GROUP BY host, time(1h, -15m), region",
                "SELECT mean(\"x\") FROM \"m\" GROUP BY time(3600000000000ns, "
                "-900000000000ns), \"host\", \"region\"");
    check_parse("SELECT mean(x) FROM m GROUP BY *, time(1m)",
                "SELECT mean(\"x\") FROM \"m\" GROUP BY time(60000000000ns), *");
    check_parse("SELECT mean(x) FROM m GROUP BY time(1m) fill(none)",
                "SELECT mean(\"x\") FROM \"m\" GROUP BY time(60000000000ns) fill(none)");
    check_parse("SELECT mean(x) FROM m GROUP BY time(1m) fill(previous)",
                "SELECT mean(\"x\") FROM \"m\" GROUP BY time(60000000000ns) fill(previous)");
    check_parse("SELECT mean(x) FROM m GROUP BY time(1m) FILL(linear)",
                "SELECT mean(\"x\") FROM \"m\" GROUP BY time(60000000000ns) fill(linear)");
    check_parse("SELECT mean(x) FROM m GROUP BY time(1m) fill(null)",
                "SELECT mean(\"x\") FROM \"m\" GROUP BY time(60000000000ns)");
    check_parse("SELECT mean(x) FROM m GROUP BY time(1m) fill(-1)",
                "SELECT mean(\"x\") FROM \"m\" GROUP BY time(60000000000ns) fill(-1)");
    check_parse("SELECT mean(x) FROM m GROUP BY time(1m) fill(0.5)",
                "SELECT mean(\"x\") FROM \"m\" GROUP BY time(60000000000ns) fill(0.5)");
    check_parse("SELECT mean(x) FROM m fill(0)", "SELECT mean(\"x\") FROM \"m\" fill(0)");
    check_parse("SELECT * FROM m ORDER BY time DESC LIMIT 10 OFFSET 2 SLIMIT 3 SOFFSET 4",
                "SELECT * FROM \"m\" ORDER BY time DESC LIMIT 10 OFFSET 2 SLIMIT 3 SOFFSET 4");
    check_parse("SELECT * FROM m ORDER BY time ASC", "SELECT * FROM \"m\"");
    check_parse("SELECT * FROM m ORDER BY DESC", "SELECT * FROM \"m\" ORDER BY time DESC");
    check_parse("SELECT * FROM m LIMIT 0", "SELECT * FROM \"m\"");
}

static void test_statements(void **state)
{
    (void)state;
    check_parse("SHOW DATABASES", "SHOW DATABASES");
    check_parse("show measurements", "SHOW MEASUREMENTS");
    check_parse("SHOW MEASUREMENTS ON db WITH MEASUREMENT =~ /air.*/ WHERE city = 'x' LIMIT 5 "
                "OFFSET 1",
                "SHOW MEASUREMENTS ON \"db\" WITH MEASUREMENT =~ /air.*/ WHERE (\"city\" = "
                "'x') LIMIT 5 OFFSET 1");
    check_parse("SHOW MEASUREMENTS WITH MEASUREMENT = air",
                "SHOW MEASUREMENTS WITH MEASUREMENT = \"air\"");
    check_parse("SHOW MEASUREMENTS WITH MEASUREMENT = /a/",
                "SHOW MEASUREMENTS WITH MEASUREMENT =~ /a/");
    check_parse("SHOW MEASUREMENTS WITH MEASUREMENT =~ \"db\".\"rp\".air",
                "SHOW MEASUREMENTS WITH MEASUREMENT = \"air\"");
    check_parse("SHOW TAG KEYS ON db FROM m WHERE a = 'b' LIMIT 2 OFFSET 1",
                "SHOW TAG KEYS ON \"db\" FROM \"m\" WHERE (\"a\" = 'b') LIMIT 2 OFFSET 1");
    check_parse("SHOW TAG KEYS WITH KEY =~ /^c/", "SHOW TAG KEYS WITH KEY =~ /^c/");
    check_parse("SHOW TAG VALUES FROM m WITH KEY = city",
                "SHOW TAG VALUES FROM \"m\" WITH KEY = \"city\"");
    check_parse("SHOW TAG VALUES ON db WITH KEY != \"city\" WHERE x = 'y' LIMIT 1",
                "SHOW TAG VALUES ON \"db\" WITH KEY != \"city\" WHERE (\"x\" = 'y') LIMIT 1");
    check_parse("SHOW TAG VALUES WITH KEY IN (\"a\", b)",
                "SHOW TAG VALUES WITH KEY IN \"a\", \"b\"");
    check_parse("SHOW TAG VALUES WITH KEY !~ /x/", "SHOW TAG VALUES WITH KEY !~ /x/");
    check_parse("SHOW FIELD KEYS ON db FROM m", "SHOW FIELD KEYS ON \"db\" FROM \"m\"");
    check_parse("SHOW SERIES ON db FROM a, b WHERE x = 'y' LIMIT 3 OFFSET 4",
                "SHOW SERIES ON \"db\" FROM \"a\", \"b\" WHERE (\"x\" = 'y') LIMIT 3 OFFSET 4");
    check_parse("SHOW RETENTION POLICIES ON db", "SHOW RETENTION POLICIES ON \"db\"");
    check_parse("SHOW RETENTION POLICIES", "SHOW RETENTION POLICIES");
    check_parse("CREATE DATABASE city", "CREATE DATABASE \"city\"");
    check_parse("DROP DATABASE \"city\"", "DROP DATABASE \"city\"");
    check_parse("DROP MEASUREMENT air", "DROP MEASUREMENT \"air\"");
    check_parse("DROP SERIES FROM air WHERE city = 'x'",
                "DROP SERIES FROM \"air\" WHERE (\"city\" = 'x')");
    check_parse("DROP SERIES WHERE city = 'x'", "DROP SERIES WHERE (\"city\" = 'x')");
    check_parse("DELETE FROM air WHERE time < '2026-01-01'",
                "DELETE FROM \"air\" WHERE (\"time\" < '2026-01-01')");
    check_parse("DELETE FROM air", "DELETE FROM \"air\"");
    check_parse("DELETE WHERE time < 0", "DELETE WHERE (\"time\" < 0)");
    check_parse("SHOW DATABASES; SHOW MEASUREMENTS;", "SHOW DATABASES; SHOW MEASUREMENTS");
    check_parse(";; SHOW DATABASES ;; ; SHOW DATABASES", "SHOW DATABASES; SHOW DATABASES");
    check_parse("-- a comment\nSHOW /* inline */ DATABASES -- trailing", "SHOW DATABASES");
}

static void test_statement_offsets(void **state)
{
    (void)state;
    const char *text = "  SHOW DATABASES ; SELECT *  FROM m  ;";
    q_arena a;
    q_query q;
    cts_query_error err;
    q_arena_init(&a, 0);
    assert_int_equal(q_parse(&a, text, strlen(text), &q, &err), 0);
    assert_int_equal(q.count, 2);
    assert_int_equal(q.stmts[0].off, 2);
    assert_int_equal(q.stmts[0].len, 14);
    assert_int_equal(q.stmts[1].off, 19);
    assert_int_equal(q.stmts[1].len, 16);
    /* Node offsets point at their first token. */
    const q_select *s = &q.stmts[1].u.select;
    assert_int_equal(s->fields[0].expr->off, 26);
    q_arena_fini(&a);
}

/* ------------------------------------------------------------------------
 * Errors: message, line and character, as InfluxDB words them.
 * ------------------------------------------------------------------------ */
static const struct {
    const char *text, *want;
} errors[] = {
    {"", "ERR 1:1 error parsing query: found EOF, expected SELECT, DELETE, SHOW, CREATE, DROP "
         "at line 1, char 1"},
    {" ;\n ; ", "ERR 2:5 error parsing query: found EOF, expected SELECT, DELETE, SHOW, CREATE, "
                "DROP at line 2, char 5"},
    {"EXPLAIN SELECT", "ERR 1:1 error parsing query: found EXPLAIN, expected SELECT, DELETE, "
                       "SHOW, CREATE, DROP at line 1, char 1"},
    {"SELECT", "ERR 1:8 error parsing query: found EOF, expected identifier, string, number, bool "
               "at line 1, char 8"},
    {"SELECT FROM m", "ERR 1:8 error parsing query: found FROM, expected identifier, string, "
                      "number, bool at line 1, char 8"},
    {"SELECT a, FROM m", "ERR 1:11 error parsing query: found FROM, expected identifier, "
                         "string, number, bool at line 1, char 11"},
    {"SELECT value", "ERR 1:14 error parsing query: found EOF, expected FROM at line 1, char 14"},
    {"SELECT * FROM",
     "ERR 1:15 error parsing query: found EOF, expected identifier at line 1, char 15"},
    {"SELECT field1 FROM 12", "ERR 1:20 error parsing query: found 12, expected identifier at "
                              "line 1, char 20"},
    {"SELECT mean (x) FROM m", "ERR 1:13 error parsing query: found (, expected FROM at line "
                               "1, char 13"},
    {"SELECT key FROM m", "ERR 1:8 error parsing query: found KEY, expected identifier, "
                          "string, number, bool at line 1, char 8"},
    {"SELECT * FROM m LIMIT 1 GROUP BY host", "ERR 1:25 error parsing query: found GROUP, "
                                              "expected ; at line 1, char 25"},
    {"SELECT * FROM m SELECT", "ERR 1:17 error parsing query: found SELECT, expected ; at line "
                               "1, char 17"},
    {"SELECT * FROM m GROUP host", "ERR 1:23 error parsing query: found host, expected BY at "
                                   "line 1, char 23"},
    {"SELECT * FROM m GROUP BY", "ERR 1:26 error parsing query: found EOF, expected identifier, "
                                 "string, number, bool at line 1, char 26"},
    {"SELECT * FROM m LIMIT x", "ERR 1:23 error parsing query: found x, expected integer at "
                                "line 1, char 23"},
    {"SELECT * FROM m LIMIT 1.5", "ERR 1:23 error parsing query: found 1.5, expected integer "
                                  "at line 1, char 23"},
    {"SELECT * FROM m LIMIT -1", "ERR 1:23 error parsing query: found -, expected integer at "
                                 "line 1, char 23"},
    {"SELECT * FROM m OFFSET 99999999999999999999", "ERR 1:24 error parsing query: unable to "
                                                    "parse integer at line 1, char 24"},
    {"SELECT * FROM m SLIMIT 'a'",
     "ERR 1:23 error parsing query: found a, expected integer at line 1, char 23"},
    {"SELECT * FROM m WHERE a = 'abc", "ERR 1:26 error parsing query: found abc, expected "
                                       "identifier, string, number, bool at line 1, char 26"},
    {"SELECT * FROM m WHERE a = 1 '",
     "ERR 1:28 error parsing query: found BADSTRING, expected ; at line 1, char 28"},
    {"SELECT * FROM m WHERE a = ''\nx'", "ERR 2:1 error parsing query: found x, expected ; at "
                                         "line 2, char 1"},
    {"SELECT 'a\\qb' FROM m", "ERR 1:11 error parsing query: found \\q, expected identifier, "
                              "string, number, bool at line 1, char 11"},
    {"SELECT \"unterminated FROM m", "ERR 1:7 error parsing query: found unterminated FROM m, "
                                     "expected identifier, string, number, bool at line 1, char 7"},
    {"SELECT * FROM m WHERE a =~ 'x'",
     "ERR 1:27 error parsing query: found x, expected regex at line 1, char 27"},
    {"SELECT * FROM m WHERE a =~ /x", "ERR 1:28 error parsing query: bad regex:  at line 1, "
                                      "char 28"},
    {"SELECT * FROM m WHERE a =~ /(x/", "ERR 1:28 error parsing query: error parsing regexp: "
                                        "missing closing parenthesis: `(x` at line 1, char 28"},
    {"SELECT * FROM m WHERE time > now() - 10x", "ERR 1:38 error parsing query: invalid "
                                                 "duration"},
    {"SELECT * FROM m WHERE time > now() - 1e", "ERR 1:38 error parsing query: invalid "
                                                "duration"},
    {"SELECT * FROM m WHERE t > 99999999999999999999h", "ERR 1:27 error parsing query: "
                                                        "overflowed duration "
                                                        "99999999999999999999h: choose a "
                                                        "smaller duration or INF"},
    {"SELECT * FROM m WHERE a = 1 +", "ERR 1:30 error parsing query: found EOF, expected "
                                      "identifier, string, number, bool at line 1, char 30"},
    {"SELECT * FROM m WHERE (a = 1", "ERR 1:29 error parsing query: found EOF, expected ) at "
                                     "line 1, char 29"},
    {"SELECT * FROM m WHERE a = - 'x'", "ERR 1:28 error parsing query: found x, expected "
                                        "identifier, number, duration, ( at line 1, char 28"},
    {"SELECT * FROM m WHERE a % 2 = 0", "ERR 1:25 error parsing query: operator % is not "
                                        "supported at line 1, char 25"},
    {"SELECT a = 1 FROM m", "ERR 1:8 error parsing query: invalid operator = in SELECT clause "
                            "at line 1, char 8; operator is intended for WHERE clause"},
    {"SELECT x, (a < 1) + (b OR c) FROM m", "ERR 1:11 error parsing query: invalid operator OR "
                                            "in SELECT clause at line 1, char 11; operator is "
                                            "intended for WHERE clause"},
    {"SELECT mean(x FROM m", "ERR 1:15 error parsing query: found FROM, expected ) at line 1, "
                             "char 15"},
    {"SELECT x::foo FROM m", "ERR 1:11 error parsing query: found foo, expected float, "
                             "integer, unsigned, string, boolean, field, tag at line 1, char 11"},
    {"SELECT x::1 FROM m", "ERR 1:11 error parsing query: found 1, expected float, integer, "
                           "string, boolean, field, tag at line 1, char 11"},
    {"SELECT *::field FROM m", "ERR 1:8 error parsing query: *::field is not supported at line "
                               "1, char 8"},
    {"SELECT DISTINCT 1 FROM m", "ERR 1:17 error parsing query: found 1, expected identifier "
                                 "at line 1, char 17"},
    {"SELECT x AS FROM m", "ERR 1:13 error parsing query: found FROM, expected identifier at "
                           "line 1, char 13"},
    {"SELECT x INTO y FROM m", "ERR 1:10 error parsing query: SELECT ... INTO is not supported "
                               "at line 1, char 10"},
    {"SELECT x FROM (SELECT y FROM m)", "ERR 1:15 error parsing query: subqueries are not "
                                        "supported at line 1, char 15"},
    {"SELECT x FROM a.b.c.d", "ERR 1:15 error parsing query: too many segments in identifier "
                              "at line 1, char 15"},
    {"SELECT x FROM m GROUP BY time", "ERR 1:26 error parsing query: time() is a function and "
                                      "expects at least one argument at line 1, char 26"},
    {"SELECT x FROM m GROUP BY time()", "ERR 1:26 error parsing query: time dimension "
                                        "expected 1 or 2 arguments at line 1, char 26"},
    {"SELECT x FROM m GROUP BY time(5m, 30s, 1ms)", "ERR 1:26 error parsing query: time "
                                                    "dimension expected 1 or 2 arguments at "
                                                    "line 1, char 26"},
    {"SELECT x FROM m GROUP BY time('x')", "ERR 1:26 error parsing query: time dimension must "
                                           "have duration argument at line 1, char 26"},
    {"SELECT x FROM m GROUP BY time(1x)", "ERR 1:31 error parsing query: invalid duration"},
    {"SELECT x FROM m GROUP BY time(0s)", "ERR 1:26 error parsing query: time dimension must "
                                          "have a positive duration at line 1, char 26"},
    {"SELECT x FROM m GROUP BY time(5m), time(1m)", "ERR 1:36 error parsing query: multiple "
                                                    "time dimensions not allowed at line 1, "
                                                    "char 36"},
    {"SELECT x FROM m GROUP BY time(5m, foo())", "ERR 1:35 error parsing query: time dimension "
                                                 "offset function must be now() at line 1, "
                                                 "char 35"},
    {"SELECT x FROM m GROUP BY time(5m, now(1m))", "ERR 1:35 error parsing query: time "
                                                   "dimension offset now() function requires "
                                                   "no arguments at line 1, char 35"},
    {"SELECT x FROM m GROUP BY time(5m, now())", "ERR 1:35 error parsing query: time(interval, "
                                                 "now()) is not supported at line 1, char 35"},
    {"SELECT x FROM m GROUP BY time(5m, 'x')",
     "ERR 1:34 error parsing query: time dimension offset must be duration or now() at line 1, "
     "char 34"},
    {"SELECT x FROM m GROUP BY now()", "ERR 1:26 error parsing query: only time() calls "
                                       "allowed in dimensions at line 1, char 26"},
    {"SELECT x FROM m GROUP BY 'x'",
     "ERR 1:25 error parsing query: only time and tag dimensions allowed at line 1, char 25"},
    {"SELECT x FROM m GROUP BY /x/", "ERR 1:26 error parsing query: GROUP BY /regex/ is not "
                                     "supported at line 1, char 26"},
    {"SELECT x FROM m fill(foo)", "ERR 1:17 error parsing query: expected number argument in "
                                  "fill()"},
    {"SELECT x FROM m fill(NULL)", "ERR 1:17 error parsing query: expected number argument in "
                                   "fill()"},
    {"SELECT x FROM m fill('none')", "ERR 1:17 error parsing query: expected number argument "
                                     "in fill()"},
    {"SELECT x FROM m fill()", "ERR 1:17 error parsing query: fill requires an argument, e.g.: "
                               "0, null, none, previous, linear"},
    {"SELECT x FROM m fill(1, 2)", "ERR 1:17 error parsing query: fill requires an argument, "
                                   "e.g.: 0, null, none, previous, linear"},
    {"SELECT x FROM m fill", "ERR 1:17 error parsing query: fill must be a function call"},
    {"SELECT x FROM m ORDER BY host", "ERR 1:26 error parsing query: only ORDER BY time "
                                      "supported at this time"},
    {"SELECT x FROM m ORDER BY time, host", "ERR 1:17 error parsing query: only ORDER BY time "
                                            "supported at this time"},
    {"SELECT x FROM m ORDER time", "ERR 1:23 error parsing query: found time, expected BY at "
                                   "line 1, char 23"},
    {"SELECT x FROM m ORDER BY 1", "ERR 1:26 error parsing query: found 1, expected "
                                   "identifier, ASC, DESC at line 1, char 26"},
    {"SELECT x FROM m tz('Europe/Paris')", "ERR 1:17 error parsing query: tz() is not "
                                           "supported at line 1, char 17"},
    {"SELECT x FROM m WHERE a = $x", "ERR 1:27 error parsing query: found $, expected "
                                     "identifier, string, number, bool at line 1, char 27"},
    {"SELECT \xc3\xa9 FROM m", "ERR 1:8 error parsing query: found \xc3\xa9, expected "
                               "identifier, string, number, bool at line 1, char 8"},
    {"SELECT \xff FROM m", "ERR 1:8 error parsing query: found \xef\xbf\xbd, expected "
                           "identifier, string, number, bool at line 1, char 8"},
    {"SELECT '\xc3\xa9\xc3\xa9' + FROM m", "ERR 1:15 error parsing query: found FROM, expected "
                                           "identifier, string, number, bool at line 1, char 15"},
    {"SELECT x\r\nFROM m\r\nWHERE", "ERR 3:7 error parsing query: found EOF, expected "
                                    "identifier, string, number, bool at line 3, char 7"},
    {"SELECT x /* open", "ERR 1:10 error parsing query: found ILLEGAL, expected FROM at line 1, "
                         "char 10"},
    {"SHOW", "ERR 1:6 error parsing query: found EOF, expected DATABASES, FIELD, MEASUREMENTS, "
             "RETENTION, SERIES, TAG at line 1, char 6"},
    {"SHOW USERS", "ERR 1:6 error parsing query: found USERS, expected DATABASES, FIELD, "
                   "MEASUREMENTS, RETENTION, SERIES, TAG at line 1, char 6"},
    {"SHOW TAG",
     "ERR 1:10 error parsing query: found EOF, expected KEYS, VALUES at line 1, char 10"},
    {"SHOW FIELD VALUES", "ERR 1:12 error parsing query: found VALUES, expected KEYS at line 1, "
                          "char 12"},
    {"SHOW RETENTION",
     "ERR 1:16 error parsing query: found EOF, expected POLICIES at line 1, char 16"},
    {"SHOW TAG VALUES FROM m",
     "ERR 1:24 error parsing query: found EOF, expected WITH at line 1, char 24"},
    {"SHOW TAG VALUES WITH host", "ERR 1:22 error parsing query: found host, expected KEY at "
                                  "line 1, char 22"},
    {"SHOW TAG VALUES WITH KEY host", "ERR 1:26 error parsing query: found host, expected IN, "
                                      "=, =~ at line 1, char 26"},
    {"SHOW TAG VALUES WITH KEY = 'host'",
     "ERR 1:27 error parsing query: found host, expected identifier at line 1, char 27"},
    {"SHOW TAG VALUES WITH KEY IN a", "ERR 1:29 error parsing query: found a, expected ( at "
                                      "line 1, char 29"},
    {"SHOW TAG VALUES WITH KEY IN (a",
     "ERR 1:32 error parsing query: found EOF, expected ) at line 1, char 32"},
    {"SHOW TAG VALUES WITH KEY =~ x", "ERR 1:29 error parsing query: found x, expected regex "
                                      "at line 1, char 29"},
    {"SHOW TAG KEYS SLIMIT 1", "ERR 1:15 error parsing query: SLIMIT is not supported on SHOW "
                               "TAG KEYS at line 1, char 15"},
    {"SHOW MEASUREMENTS WITH KEY = x", "ERR 1:24 error parsing query: found KEY, expected "
                                       "MEASUREMENT at line 1, char 24"},
    {"SHOW MEASUREMENTS WITH MEASUREMENT != x", "ERR 1:36 error parsing query: found !=, "
                                                "expected =, =~ at line 1, char 36"},
    {"SHOW MEASUREMENTS ON *", "ERR 1:22 error parsing query: ON * is not supported at line 1, "
                               "char 22"},
    {"SHOW SERIES ON",
     "ERR 1:16 error parsing query: found EOF, expected identifier at line 1, char 16"},
    {"SHOW SERIES ORDER BY time DESC", "ERR 1:13 error parsing query: ORDER BY DESC is not "
                                       "supported here at line 1, char 13"},
    {"CREATE", "ERR 1:8 error parsing query: found EOF, expected DATABASE at line 1, char 8"},
    {"CREATE USER x", "ERR 1:8 error parsing query: found USER, expected DATABASE at line 1, "
                      "char 8"},
    {"CREATE DATABASE",
     "ERR 1:17 error parsing query: found EOF, expected identifier at line 1, char 17"},
    {"CREATE DATABASE d WITH DURATION 1d", "ERR 1:19 error parsing query: CREATE DATABASE ... "
                                           "WITH is not supported (a database has one retention "
                                           "policy, autogen) at line 1, char 19"},
    {"DROP", "ERR 1:6 error parsing query: found EOF, expected DATABASE, MEASUREMENT, SERIES at "
             "line 1, char 6"},
    {"DROP MEASUREMENT 'x'",
     "ERR 1:17 error parsing query: found x, expected identifier at line 1, char 17"},
    {"DROP SERIES",
     "ERR 1:13 error parsing query: found EOF, expected FROM, WHERE at line 1, char 13"},
    {"DROP SERIES FROM rp.m", "ERR 1:18 error parsing query: retention policy not supported at "
                              "line 1, char 18"},
    {"DELETE", "ERR 1:8 error parsing query: found EOF, expected FROM, WHERE at line 1, char 8"},
    {"DELETE LIMIT 1", "ERR 1:8 error parsing query: found LIMIT, expected FROM, WHERE at line "
                       "1, char 8"},
    {"DELETE FROM db.rp.m", "ERR 1:13 error parsing query: database not supported at line 1, "
                            "char 13"},
    {"SHOW DATABASES SHOW DATABASES", "ERR 1:16 error parsing query: found SHOW, expected ; at "
                                      "line 1, char 16"},
};

/* Positions InfluxDB's own tests give (influxql parser_test.go): where EOF
 * is reported depends on what read the end of the text first. */
static const struct {
    const char *text, *want;
} influx_errors[] = {
    {"SELECT", "found EOF, expected identifier, string, number, bool at line 1, char 8"},
    {"SELECT *", "found EOF, expected FROM at line 1, char 9"},
    {"SELECT field1 X", "found X, expected FROM at line 1, char 15"},
    {"SELECT field1 FROM \"series\" WHERE X +;",
     "found ;, expected identifier, string, number, bool at line 1, char 38"},
    {"SELECT field1 FROM myseries GROUP", "found EOF, expected BY at line 1, char 35"},
    {"SELECT field1 FROM myseries LIMIT", "found EOF, expected integer at line 1, char 35"},
    {"SELECT field1 FROM myseries LIMIT 10.5", "found 10.5, expected integer at line 1, char 35"},
    {"SELECT field1 FROM myseries OFFSET", "found EOF, expected integer at line 1, char 36"},
    {"SELECT field1 FROM myseries ORDER", "found EOF, expected BY at line 1, char 35"},
    {"SELECT field1 FROM myseries ORDER BY",
     "found EOF, expected identifier, ASC, DESC at line 1, char 38"},
    {"SELECT field1 FROM myseries ORDER BY /",
     "found /, expected identifier, ASC, DESC at line 1, char 38"},
    {"SELECT field1 FROM myseries ORDER BY 1",
     "found 1, expected identifier, ASC, DESC at line 1, char 38"},
    {"SELECT field1 FROM myseries ORDER BY time ASC,",
     "found EOF, expected identifier at line 1, char 47"},
    {"SELECT field1 FROM myseries ORDER BY time, field1",
     "only ORDER BY time supported at this time"},
    {"SELECT field1 AS", "found EOF, expected identifier at line 1, char 18"},
    {"SELECT field1 FROM 12", "found 12, expected identifier at line 1, char 20"},
    {"SELECT 10.5h FROM myseries", "found h, expected FROM at line 1, char 12"},
    {"SELECT distinct FROM myseries", "found FROM, expected identifier at line 1, char 17"},
    {"SELECT count(distinct) FROM myseries", "found ), expected (, identifier at line 1, char 22"},
    {"SELECT field1 from myseries WHERE host =~ 'asd' LIMIT 1",
     "found asd, expected regex at line 1, char 42"},
    {"SELECT value > 2 FROM cpu", "invalid operator > in SELECT clause at line 1, char 8; "
                                  "operator is intended for WHERE clause"},
    {"SELECT s =~ /foo/ FROM cpu", "invalid operator =~ in SELECT clause at line 1, char 8; "
                                   "operator is intended for WHERE clause"},
    {"SELECT mean(value) FROM cpu FILL + value", "fill must be a function call"},
    /* InfluxDB finds this one when it compiles the statement, and gives no
     * position; cityts finds it while parsing and gives one. */
    {"SELECT count(value) FROM foo group by time",
     "time() is a function and expects at least one argument at line 1, char 39"},
    {"DELETE", "found EOF, expected FROM, WHERE at line 1, char 8"},
    {"DELETE FROM", "found EOF, expected identifier at line 1, char 13"},
    {"DELETE FROM myseries WHERE",
     "found EOF, expected identifier, string, number, bool at line 1, char 28"},
    {"DROP MEASUREMENT", "found EOF, expected identifier at line 1, char 18"},
    {"DROP SERIES", "found EOF, expected FROM, WHERE at line 1, char 13"},
    {"DROP SERIES FROM", "found EOF, expected identifier at line 1, char 18"},
    {"DROP SERIES FROM src WHERE",
     "found EOF, expected identifier, string, number, bool at line 1, char 28"},
    {"DROP DATABASE", "found EOF, expected identifier at line 1, char 15"},
    {"SHOW RETENTION", "found EOF, expected POLICIES at line 1, char 16"},
    {"SHOW RETENTION ON", "found ON, expected POLICIES at line 1, char 16"},
    {"SHOW RETENTION POLICIES ON", "found EOF, expected identifier at line 1, char 28"},
    {"CREATE DATABASE", "found EOF, expected identifier at line 1, char 17"},
    /* InfluxDB: `DROP SUBSCRIPTION "name"` fails at char 25 (a quoted name does
     * not read the end), `... ON ` at char 30 (trailing blanks do). */
    {"DROP DATABASE \"name\"x", "found x, expected ; at line 1, char 21"},
    {"SHOW SERIES ON \"db\" FROM", "found EOF, expected identifier at line 1, char 26"},
    {"SHOW SERIES ON ", "found EOF, expected identifier at line 1, char 17"},
    /* InfluxDB: `KILL QUERY 4 ON 'host'` fails at char 16, before the quote. */
    {"SHOW TAG KEYS ON 'host'", "found host, expected identifier at line 1, char 17"},
    {"CREATE DATABASE foo CREATE DATABASE bar", "found CREATE, expected ; at line 1, char 21"},
};

static void test_influxdb_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof influx_errors / sizeof influx_errors[0]; i++) {
        cts_query_error err;
        const char *text = influx_errors[i].text;
        assert_int_equal(cts_query_check(text, strlen(text), &err), CTS_EPARSE);
        const char *msg = err.msg + strlen("error parsing query: ");
        if (strcmp(msg, influx_errors[i].want) != 0)
            fail_msg("query: %s\n  got:  %s\n  want: %s", text, msg, influx_errors[i].want);
    }
}

static void test_errors(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        sbuf b;
        parse_print(errors[i].text, strlen(errors[i].text), &b);
        if (strcmp(b.s, errors[i].want) != 0) {
            print_error("query: %s\n  got:  %s\n  want: %s\n", errors[i].text, b.s, errors[i].want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_nul_and_depth(void **state)
{
    (void)state;
    sbuf b;
    assert_int_equal(parse_print("SELECT * FROM m\0x", 17, &b), CTS_EPARSE);
    assert_string_equal(b.s, "ERR 1:16 error parsing query: found \\x00, expected ; at line 1, "
                             "char 16");
    char deep[4096];
    size_t n = (size_t)snprintf(deep, sizeof deep, "SELECT ");
    for (int i = 0; i < 1000; i++)
        deep[n++] = '(';
    memcpy(deep + n, "x FROM m", 9);
    assert_int_equal(parse_print(deep, strlen(deep), &b), CTS_EPARSE);
    assert_non_null(strstr(b.s, "expression nested too deeply"));
    n = (size_t)snprintf(deep, sizeof deep, "SELECT x FROM m WHERE ");
    for (int i = 0; i < 400; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "a=%d OR ", i);
    memcpy(deep + n, "b=1", 4);
    assert_int_equal(parse_print(deep, strlen(deep), &b), 0);
    /* A flat chain is parsed without recursion but makes a deep tree:
     * bounded at 2000 levels. */
    static char chain[65536];
    n = (size_t)snprintf(chain, sizeof chain, "SELECT x FROM m WHERE a=1");
    for (int i = 0; i < 1998; i++)
        n += (size_t)snprintf(chain + n, sizeof chain - n, " OR a=1");
    assert_int_equal(cts_query_check(chain, n, NULL), 0);
    n += (size_t)snprintf(chain + n, sizeof chain - n, " OR a=1");
    assert_int_equal(parse_print(chain, n, &b), CTS_EPARSE);
    assert_string_equal(b.s, "ERR 1:23 error parsing query: expression nested too deeply at "
                             "line 1, char 23");
    n = (size_t)snprintf(chain, sizeof chain, "SELECT ");
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(chain + n, sizeof chain - n, "x + ");
    n += (size_t)snprintf(chain + n, sizeof chain - n, "x FROM m");
    assert_int_equal(parse_print(chain, n, &b), CTS_EPARSE);
    assert_string_equal(b.s, "ERR 1:8 error parsing query: expression nested too deeply at "
                             "line 1, char 8");
}

/* ------------------------------------------------------------------------
 * Round trip: random ASTs, printed, parsed and printed again.
 * ------------------------------------------------------------------------ */
typedef struct gen {
    cts_rng rng;
    q_arena *a;
} gen;

static cts_str gen_name(gen *g)
{
    static const char *const names[] = {
        "pm25",        "my field", "host",   "a\"b",  "x.y", "temp", "\xc3\xa9t\xc3\xa9",
        "back\\slash", "time",     "SELECT", "nl\nx", ""};
    const char *s = names[cts_rng_below(&g->rng, sizeof names / sizeof names[0])];
    return q_arena_strdup(g->a, s, strlen(s));
}

static q_expr *gen_node(gen *g, q_expr_kind k)
{
    q_expr *e = q_arena_alloc(g->a, sizeof *e);
    assert_non_null(e);
    memset(e, 0, sizeof *e);
    e->kind = k;
    return e;
}

static q_expr *gen_expr(gen *g, int depth, bool boolean);

static q_expr *gen_leaf(gen *g)
{
    static const char *const strs[] = {"", "it's", "a\\b", "line\nbreak", "2026-11-02T00:00:00Z"};
    q_expr *e;
    switch (cts_rng_below(&g->rng, 7)) {
    case 0:
        e = gen_node(g, Q_E_REF);
        e->u.ref.name = gen_name(g);
        e->u.ref.cast = (q_cast)cts_rng_below(&g->rng, 8);
        return e;
    case 1:
        e = gen_node(g, Q_E_INTEGER);
        e->u.integer = (int64_t)cts_rng_next(&g->rng) >> cts_rng_below(&g->rng, 64);
        return e;
    case 2:
        e = gen_node(g, Q_E_NUMBER);
        e->u.num = (cts_rng_unit(&g->rng) - 0.5) * pow(10, (double)cts_rng_below(&g->rng, 40));
        return e;
    case 3: {
        e = gen_node(g, Q_E_STRING);
        const char *s = strs[cts_rng_below(&g->rng, 5)];
        e->u.str = q_arena_strdup(g->a, s, strlen(s));
        return e;
    }
    case 4:
        e = gen_node(g, Q_E_BOOL);
        e->u.boolean = cts_rng_below(&g->rng, 2);
        return e;
    case 5:
        e = gen_node(g, Q_E_DURATION);
        e->u.integer = (int64_t)cts_rng_below(&g->rng, 1000000000000) - 1000;
        return e;
    default:
        e = gen_node(g, Q_E_CALL);
        e->u.call.name = q_arena_strdup(g->a, "now", 3);
        return e;
    }
}

static q_expr *gen_call(gen *g, int depth)
{
    static const char *const fns[] = {"mean", "percentile", "derivative", "count", "top"};
    q_expr *e = gen_node(g, Q_E_CALL);
    const char *f = fns[cts_rng_below(&g->rng, 5)];
    e->u.call.name = q_arena_strdup(g->a, f, strlen(f));
    e->u.call.nargs = (uint32_t)cts_rng_below(&g->rng, 4);
    e->u.call.args = q_arena_alloc(g->a, sizeof(q_expr *) * 4);
    for (uint32_t i = 0; i < e->u.call.nargs; i++) {
        uint64_t r = cts_rng_below(&g->rng, 6);
        if (r == 0)
            e->u.call.args[i] = gen_node(g, Q_E_WILDCARD);
        else if (r == 1) {
            e->u.call.args[i] = gen_node(g, Q_E_REGEX);
            e->u.call.args[i]->u.str = q_arena_strdup(g->a, "^a/b.*", 6);
        } else
            e->u.call.args[i] = gen_expr(g, depth - 1, false);
    }
    return e;
}

static q_expr *gen_expr(gen *g, int depth, bool boolean)
{
    static const q_op arith[] = {Q_OP_ADD, Q_OP_SUB, Q_OP_MUL, Q_OP_DIV};
    static const q_op cmp[] = {Q_OP_EQ, Q_OP_NEQ, Q_OP_LT, Q_OP_LTE, Q_OP_GT, Q_OP_GTE};
    uint64_t r = depth > 0 ? cts_rng_below(&g->rng, 4) : 0;
    if (boolean) {
        q_expr *e = gen_node(g, Q_E_BINARY);
        if (depth > 0 && r < 2) {
            e->u.bin.op = r ? Q_OP_AND : Q_OP_OR;
            e->u.bin.lhs = gen_expr(g, depth - 1, true);
            e->u.bin.rhs = gen_expr(g, depth - 1, true);
        } else if (r == 2) {
            e->u.bin.op = cts_rng_below(&g->rng, 2) ? Q_OP_EQ_REGEX : Q_OP_NEQ_REGEX;
            e->u.bin.lhs = gen_expr(g, 0, false);
            e->u.bin.rhs = gen_node(g, Q_E_REGEX);
            e->u.bin.rhs->u.str = q_arena_strdup(g->a, "x/y|[a-z]+", 10);
        } else {
            e->u.bin.op = cmp[cts_rng_below(&g->rng, 6)];
            e->u.bin.lhs = gen_expr(g, depth - 1, false);
            e->u.bin.rhs = gen_expr(g, depth - 1, false);
        }
        return e;
    }
    if (r == 0)
        return gen_leaf(g);
    if (r == 1)
        return gen_call(g, depth);
    q_expr *e = gen_node(g, Q_E_BINARY);
    e->u.bin.op = arith[cts_rng_below(&g->rng, 4)];
    e->u.bin.lhs = gen_expr(g, depth - 1, false);
    e->u.bin.rhs = gen_expr(g, depth - 1, false);
    return e;
}

static void gen_select(gen *g, q_select *s)
{
    memset(s, 0, sizeof *s);
    s->nfields = 1 + (uint32_t)cts_rng_below(&g->rng, 3);
    s->fields = q_arena_alloc(g->a, sizeof *s->fields * s->nfields);
    for (uint32_t i = 0; i < s->nfields; i++) {
        s->fields[i].expr = gen_expr(g, 3, false);
        s->fields[i].alias = cts_rng_below(&g->rng, 3) ? (cts_str){0} : gen_name(g);
    }
    s->nsources = 1 + (uint32_t)cts_rng_below(&g->rng, 2);
    s->sources = q_arena_alloc(g->a, sizeof *s->sources * s->nsources);
    for (uint32_t i = 0; i < s->nsources; i++) {
        q_source *src = &s->sources[i];
        memset(src, 0, sizeof *src);
        src->is_regex = cts_rng_below(&g->rng, 4) == 0;
        src->name = src->is_regex ? q_arena_strdup(g->a, "^a\\.b/c", 7) : gen_name(g);
        if (cts_rng_below(&g->rng, 3) == 0)
            src->db = q_arena_strdup(g->a, "city db", 7);
        if (cts_rng_below(&g->rng, 3) == 0)
            src->rp = q_arena_strdup(g->a, "autogen", 7);
    }
    if (cts_rng_below(&g->rng, 2))
        s->where = gen_expr(g, 3, true);
    if (cts_rng_below(&g->rng, 2)) {
        s->group_time = true;
        s->interval_ns = 1 + (int64_t)cts_rng_below(&g->rng, 1000000000000);
        s->offset_ns = (int64_t)cts_rng_below(&g->rng, 1000000) - 500000;
    }
    s->ngroup_tags = (uint32_t)cts_rng_below(&g->rng, 3);
    s->group_tags = q_arena_alloc(g->a, sizeof(cts_str) * 3);
    for (uint32_t i = 0; i < s->ngroup_tags; i++) {
        s->group_tags[i] = gen_name(g);
        if (strcasecmp(s->group_tags[i].ptr, "time") == 0)
            s->group_tags[i] = q_arena_strdup(g->a, "t", 1);
    }
    s->group_all_tags = cts_rng_below(&g->rng, 4) == 0;
    s->fill = (q_fill)cts_rng_below(&g->rng, 5);
    if (s->fill == Q_FILL_NUMBER) {
        s->fill_value = gen_node(g, Q_E_INTEGER);
        s->fill_value->u.integer = (int64_t)cts_rng_below(&g->rng, 100) - 50;
    }
    s->order_desc = cts_rng_below(&g->rng, 2);
    s->limit = (int64_t)cts_rng_below(&g->rng, 3);
    s->offset = (int64_t)cts_rng_below(&g->rng, 3);
    s->slimit = (int64_t)cts_rng_below(&g->rng, 3);
    s->soffset = (int64_t)cts_rng_below(&g->rng, 3);
}

static void test_round_trip(void **state)
{
    (void)state;
    gen g = {.rng = {42}};
    for (int iter = 0; iter < 3000; iter++) {
        q_arena a;
        q_arena_init(&a, 0);
        g.a = &a;
        q_query q = {.count = 1 + (uint32_t)cts_rng_below(&g.rng, 2)};
        q.stmts = q_arena_alloc(&a, sizeof *q.stmts * q.count);
        for (uint32_t i = 0; i < q.count; i++) {
            q.stmts[i].kind = Q_SELECT;
            gen_select(&g, &q.stmts[i].u.select);
        }
        sbuf first, second;
        first.n = 0;
        print_query(&first, &q);
        parse_print(first.s, first.n, &second);
        if (strcmp(first.s, second.s) != 0)
            fail_msg("iteration %d\n  printed:  %s\n  reparsed: %s", iter, first.s, second.s);
        q_arena_fini(&a);
    }
}

/* ------------------------------------------------------------------------
 * Allocation failure, arena limits, check and incomplete.
 * ------------------------------------------------------------------------ */
static const char BIG[] =
    "SELECT mean(pm25) AS m, percentile(\"no2\", 95), derivative(max(x), 1s) * 2 FROM "
    "\"city\".\"autogen\".air, /^wea/ WHERE city =~ /^(Paris|Lyon)$/ AND time > now() - 7d AND "
    "sensor != 'a\\'b' GROUP BY time(15m, -5m), city, * fill(-1) ORDER BY time DESC LIMIT 10 "
    "OFFSET 1 SLIMIT 2; SHOW TAG VALUES ON city FROM air WITH KEY IN (a, \"b\", c) WHERE x = 1; "
    "DELETE FROM air WHERE time < '2026-01-01'";

static void test_alloc_failure(void **state)
{
    (void)state;
    int saw_nomem = 0;
    for (long n = 0;; n++) {
        q_arena a;
        q_query q;
        cts_query_error err;
        q_arena_init(&a, 0);
        cts_alloc_fail_after(n);
        int rc = q_parse(&a, BIG, strlen(BIG), &q, &err);
        cts_alloc_fail_after(-1);
        q_arena_fini(&a);
        if (rc == 0) {
            assert_int_equal(q.count, 3);
            break;
        }
        assert_int_equal(rc, CTS_ENOMEM);
        assert_int_equal(err.code, CTS_ENOMEM);
        saw_nomem++;
        assert_true(n < 1000);
    }
    assert_true(saw_nomem > 0);
    /* The arena's own limit fails the same way. */
    for (uint64_t limit = 64; limit < 200000; limit = limit * 3 / 2) {
        q_arena a;
        q_query q;
        cts_query_error err;
        q_arena_init(&a, limit);
        int rc = q_parse(&a, BIG, strlen(BIG), &q, &err);
        assert_true(rc == 0 || rc == CTS_ENOMEM);
        assert_true(a.bytes <= limit);
        q_arena_fini(&a);
    }
}

static void test_arena(void **state)
{
    (void)state;
    q_arena a;
    q_arena_init(&a, 0);
    cts_rng r = {7};
    for (int i = 0; i < 2000; i++) {
        size_t n = (size_t)cts_rng_below(&r, i % 100 == 0 ? 100000 : 300);
        unsigned char *p = q_arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xAB, n);
    }
    cts_str s = q_arena_strdup(&a, "hello", 3);
    assert_string_equal(s.ptr, "hel");
    assert_int_equal(s.len, 3);
    q_arena_fini(&a);
    q_arena_fini(&a); /* twice is fine */
    q_arena_init(&a, 1000);
    assert_null(q_arena_alloc(&a, 5000));
    assert_non_null(q_arena_alloc(&a, 100));
    assert_true(a.bytes <= 1000);
    q_arena_fini(&a);
    q_arena_fini(NULL);
}

static void test_check(void **state)
{
    (void)state;
    cts_query_error err;
    assert_int_equal(cts_query_check("SHOW DATABASES", 14, &err), 0);
    assert_int_equal(cts_query_check("SHOW", 4, &err), CTS_EPARSE);
    assert_int_equal(err.code, CTS_EPARSE);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.col, 6); /* InfluxDB's reader: see lexer.c */
    assert_int_equal(err.offset, 4);
    assert_string_equal(err.msg, "error parsing query: found EOF, expected DATABASES, FIELD, "
                                 "MEASUREMENTS, RETENTION, SERIES, TAG at line 1, char 6");
    assert_int_equal(cts_query_check("SHOW", 4, NULL), CTS_EPARSE);
    assert_int_equal(cts_query_check(NULL, 0, &err), CTS_EPARSE);
    assert_int_equal(cts_query_check(NULL, 3, &err), CTS_EINVAL);
}

static void test_incomplete(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool want;
    } cases[] = {
        {"SELECT * FROM m", false},
        {"SELECT * FROM m WHERE a = 'abc", true},
        {"SELECT * FROM m WHERE a = 'it\\'s", true},
        {"SELECT * FROM m WHERE a = 'it\\'s'", false},
        {"SELECT \"my field", true},
        {"SELECT mean(x", true},
        {"SELECT mean(x)", false},
        {"SELECT (a + (b", true},
        {"SELECT a) FROM m", false},
        {"SELECT * FROM m WHERE a =~ /x", true},
        {"SELECT * FROM m WHERE a =~ /x\\/y/", false},
        {"SELECT a / b", false},
        {"SELECT 1 /* open comment", true},
        {"SELECT 1 -- ( ' \" ", false},
        {"SELECT 1 -- (\nFROM (", true},
        {"", false},
        {"SELECT '(' FROM m", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cts_query_incomplete(cases[i].text, strlen(cases[i].text)) != cases[i].want)
            fail_msg("cts_query_incomplete(\"%s\") != %d", cases[i].text, cases[i].want);
    assert_false(cts_query_incomplete(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_fields), cmocka_unit_test(test_select_from),
        cmocka_unit_test(test_select_where),  cmocka_unit_test(test_select_group_fill_limits),
        cmocka_unit_test(test_statements),    cmocka_unit_test(test_statement_offsets),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_influxdb_errors),
        cmocka_unit_test(test_nul_and_depth), cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_alloc_failure), cmocka_unit_test(test_arena),
        cmocka_unit_test(test_check),         cmocka_unit_test(test_incomplete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
