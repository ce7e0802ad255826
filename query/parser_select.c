/*
 * parser_select.c: the SELECT statement, clause by clause in InfluxDB's
 * fixed order:
 *
 *   SELECT fields FROM sources [WHERE expr] [GROUP BY dims] [fill(...)]
 *     [ORDER BY time [ASC|DESC]] [LIMIT n] [OFFSET n] [SLIMIT n] [SOFFSET n]
 *
 * A clause out of order ends the statement, and q_parse then reports
 * "found X, expected ;" as InfluxDB does.
 *
 * GROUP BY and fill() are checked here rather than at execution, because
 * the AST keeps only their meaning (an interval, tag keys, a fill mode):
 * the messages for a bad GROUP BY are the ones InfluxDB gives when it
 * compiles the statement, with our position appended; those for fill()
 * are InfluxDB's parse-time messages, which carry no position.
 */
#include "lexer.h"

#include <string.h>
#include <strings.h>

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

static int oom(q_parser *p)
{
    p->err->code = CTS_ENOMEM;
    p->err->line = p->err->col = 0;
    p->err->offset = 0;
    strcpy(p->err->msg, "out of memory");
    return CTS_ENOMEM;
}

/* A token standing for an AST node's position (errors after the fact). */
static q_token node_tok(const q_parser *p, const q_expr *e)
{
    q_lexer lx;
    q_token t = {0};
    q_lex_init(&lx, p->lx.text, p->lx.len);
    do {
        q_lex_next(&lx, &t);
    } while (t.kind != QT_EOF && t.off < e->off);
    return t;
}

/* ------------------------------------------------------------------------
 * Fields.
 * ------------------------------------------------------------------------ */
static const char *bool_op_name(q_op op)
{
    switch (op) {
    case Q_OP_EQ:
        return "=";
    case Q_OP_NEQ:
        return "!=";
    case Q_OP_EQ_REGEX:
        return "=~";
    case Q_OP_NEQ_REGEX:
        return "!~";
    case Q_OP_LT:
        return "<";
    case Q_OP_LTE:
        return "<=";
    case Q_OP_GT:
        return ">";
    case Q_OP_GTE:
        return ">=";
    case Q_OP_AND:
        return "AND";
    case Q_OP_OR:
        return "OR";
    default:
        return NULL;
    }
}

/* InfluxDB walks the whole field and keeps the last boolean operator it
 * meets (not descending below one); so do we. */
static void find_bool_op(const q_expr *e, const char **bad)
{
    if (e->kind == Q_E_BINARY) {
        const char *name = bool_op_name(e->u.bin.op);
        if (name) {
            *bad = name;
            return;
        }
        find_bool_op(e->u.bin.lhs, bad);
        find_bool_op(e->u.bin.rhs, bad);
    } else if (e->kind == Q_E_CALL) {
        for (uint32_t i = 0; i < e->u.call.nargs; i++)
            find_bool_op(e->u.call.args[i], bad);
    }
}

static int parse_field(q_parser *p, q_field *f)
{
    TRY(q_p_regex_opt(p, &f->expr));
    if (!f->expr) {
        q_token start = *q_p_peek(p);
        TRY(q_p_expr(p, &f->expr));
        const char *bad = NULL;
        find_bool_op(f->expr, &bad);
        if (bad) {
            return q_p_err_plain(p, &start,
                                 "invalid operator %s in SELECT clause at line %u, char %u; "
                                 "operator is intended for WHERE clause",
                                 bad, start.line, start.col);
        }
    }
    if (q_p_accept(p, QT_AS))
        TRY(q_p_ident(p, &f->alias));
    return 0;
}

static int parse_fields(q_parser *p, q_select *s)
{
    uint32_t cap = 0;
    do {
        q_field *f = q_p_push(p, (void **)&s->fields, &s->nfields, &cap, sizeof *f);
        if (!f)
            return oom(p);
        TRY(parse_field(p, f));
    } while (q_p_accept(p, QT_COMMA));
    return 0;
}

/* ------------------------------------------------------------------------
 * GROUP BY.
 * ------------------------------------------------------------------------ */
static int time_offset(q_parser *p, q_select *s, const q_expr *arg)
{
    q_token at = node_tok(p, arg);
    if (arg->kind == Q_E_DURATION) {
        s->offset_ns = arg->u.integer;
        return 0;
    }
    if (arg->kind == Q_E_CALL) {
        if (strcmp(arg->u.call.name.ptr, "now") != 0)
            return q_p_err_at(p, &at, "time dimension offset function must be now()");
        if (arg->u.call.nargs != 0)
            return q_p_err_at(p, &at, "time dimension offset now() function requires no arguments");
        return q_p_err_at(p, &at, "time(interval, now()) is not supported");
    }
    return q_p_err_at(p, &at, "time dimension offset must be duration or now()");
}

static int time_dimension(q_parser *p, q_select *s, const q_expr *e)
{
    q_token at = node_tok(p, e);
    if (strcmp(e->u.call.name.ptr, "time") != 0)
        return q_p_err_at(p, &at, "only time() calls allowed in dimensions");
    if (e->u.call.nargs < 1 || e->u.call.nargs > 2)
        return q_p_err_at(p, &at, "time dimension expected 1 or 2 arguments");
    const q_expr *iv = e->u.call.args[0];
    if (iv->kind != Q_E_DURATION)
        return q_p_err_at(p, &at, "time dimension must have duration argument");
    if (s->group_time)
        return q_p_err_at(p, &at, "multiple time dimensions not allowed");
    if (iv->u.integer <= 0)
        return q_p_err_at(p, &at, "time dimension must have a positive duration");
    s->group_time = true;
    s->interval_ns = iv->u.integer;
    if (e->u.call.nargs == 2)
        TRY(time_offset(p, s, e->u.call.args[1]));
    return 0;
}

static int dimension(q_parser *p, q_select *s, uint32_t *cap)
{
    q_expr *e;
    TRY(q_p_regex_opt(p, &e));
    if (e) {
        q_token at = node_tok(p, e);
        return q_p_err_at(p, &at, "GROUP BY /regex/ is not supported");
    }
    q_token start = *q_p_peek(p);
    TRY(q_p_expr(p, &e));
    switch (e->kind) {
    case Q_E_REF: {
        if (e->u.ref.name.len == 4 && strncasecmp(e->u.ref.name.ptr, "time", 4) == 0)
            return q_p_err_at(p, &start, "time() is a function and expects at least one argument");
        cts_str *k = q_p_push(p, (void **)&s->group_tags, &s->ngroup_tags, cap, sizeof *k);
        if (!k)
            return oom(p);
        *k = e->u.ref.name;
        return 0;
    }
    case Q_E_WILDCARD:
        s->group_all_tags = true;
        return 0;
    case Q_E_CALL:
        return time_dimension(p, s, e);
    default:
        return q_p_err_at(p, &start, "only time and tag dimensions allowed");
    }
}

static int parse_group_by(q_parser *p, q_select *s)
{
    uint32_t cap = 0;
    if (!q_p_accept(p, QT_GROUP))
        return 0;
    TRY(q_p_expect(p, QT_BY, "BY"));
    do {
        TRY(dimension(p, s, &cap));
    } while (q_p_accept(p, QT_COMMA));
    return 0;
}

/* ------------------------------------------------------------------------
 * fill(), tz(), the rest.
 * ------------------------------------------------------------------------ */
static bool is_ident_named(const q_parser *p, const q_token *t, const char *name)
{
    size_t n = strlen(name);
    return t->kind == QT_IDENT && t->len == n && strncasecmp(p->lx.text + t->off, name, n) == 0;
}

static int parse_fill(q_parser *p, q_select *s)
{
    static const struct {
        const char *name;
        q_fill fill;
    } modes[] = {{"null", Q_FILL_NULL},
                 {"none", Q_FILL_NONE},
                 {"previous", Q_FILL_PREVIOUS},
                 {"linear", Q_FILL_LINEAR}};
    q_token t = *q_p_peek(p);
    if (!is_ident_named(p, &t, "fill"))
        return 0;
    q_expr *e;
    TRY(q_p_expr(p, &e));
    if (e->kind != Q_E_CALL)
        return q_p_err_plain(p, &t, "fill must be a function call");
    if (e->u.call.nargs != 1)
        return q_p_err_plain(p, &t,
                             "fill requires an argument, e.g.: 0, null, none, previous, linear");
    q_expr *arg = e->u.call.args[0];
    if (arg->kind == Q_E_REF && arg->u.ref.cast == Q_CAST_NONE) {
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
            if (strcmp(arg->u.ref.name.ptr, modes[i].name) == 0) {
                s->fill = modes[i].fill;
                return 0;
            }
        }
    }
    if (arg->kind != Q_E_INTEGER && arg->kind != Q_E_NUMBER)
        return q_p_err_plain(p, &t, "expected number argument in fill()");
    s->fill = Q_FILL_NUMBER;
    s->fill_value = arg;
    return 0;
}

static int parse_limits(q_parser *p, q_select *s)
{
    TRY(q_p_order_by(p, &s->order_desc));
    TRY(q_p_opt_int(p, QT_LIMIT, &s->limit));
    TRY(q_p_opt_int(p, QT_OFFSET, &s->offset));
    TRY(q_p_opt_int(p, QT_SLIMIT, &s->slimit));
    TRY(q_p_opt_int(p, QT_SOFFSET, &s->soffset));
    q_token t = *q_p_peek(p);
    if (is_ident_named(p, &t, "tz"))
        return q_p_err_at(p, &t, "tz() is not supported");
    return 0;
}

int q_p_select(q_parser *p, q_select *s)
{
    memset(s, 0, sizeof *s);
    TRY(parse_fields(p, s));
    q_token t = q_p_next(p);
    if (t.kind == QT_INTO)
        return q_p_err_at(p, &t, "SELECT ... INTO is not supported");
    if (t.kind != QT_FROM)
        return q_p_err_found(p, &t, "FROM");
    TRY(q_p_sources(p, &s->sources, &s->nsources));
    TRY(q_p_where(p, &s->where));
    TRY(parse_group_by(p, s));
    TRY(parse_fill(p, s));
    return parse_limits(p, s);
}
