/*
 * parser_meta.c: the statements about the schema rather than the data:
 *
 *   SHOW DATABASES | MEASUREMENTS | TAG KEYS | TAG VALUES | FIELD KEYS |
 *        SERIES | RETENTION POLICIES
 *   CREATE DATABASE, DROP DATABASE | MEASUREMENT | SERIES, DELETE
 *
 * Each follows InfluxDB's clause order (ON, FROM, WITH, WHERE, ORDER BY,
 * LIMIT, OFFSET) and fills a q_meta. The "expected" lists after SHOW,
 * CREATE and DROP name only what cityts supports, in InfluxDB's order, so
 * an unsupported statement (SHOW USERS) reads as a syntax error that says
 * what would have been accepted.
 */
#include "lexer.h"

#include <string.h>

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

/* [ON db] */
static int parse_on(q_parser *p, q_meta *m)
{
    if (!q_p_accept(p, QT_ON))
        return 0;
    return q_p_ident(p, &m->on_db);
}

/* [FROM sources] */
static int parse_from(q_parser *p, q_meta *m)
{
    if (!q_p_accept(p, QT_FROM))
        return 0;
    return q_p_sources(p, &m->from, &m->nfrom);
}

/* [ORDER BY ...] [LIMIT n] [OFFSET n]: the order of names is fixed. */
static int parse_tail(q_parser *p, q_meta *m)
{
    bool desc;
    q_token t = *q_p_peek(p);
    TRY(q_p_order_by(p, &desc));
    if (desc)
        return q_p_err_at(p, &t, "ORDER BY DESC is not supported here");
    TRY(q_p_opt_int(p, QT_LIMIT, &m->limit));
    return q_p_opt_int(p, QT_OFFSET, &m->offset);
}

static int required_regex(q_parser *p, cts_str *out)
{
    q_expr *re;
    TRY(q_p_regex_opt(p, &re));
    if (!re) {
        q_token t = q_p_next(p);
        return q_p_err_found(p, &t, "regex");
    }
    *out = re->u.str;
    return 0;
}

/* WITH KEY (= k | != k | IN (k, ...) | =~ /re/ | !~ /re/) */
static int parse_with_key(q_parser *p, q_meta *m)
{
    TRY(q_p_expect(p, QT_WITH, "WITH"));
    TRY(q_p_expect(p, QT_KEY, "KEY"));
    q_token t = q_p_next(p);
    uint32_t cap = 0;
    cts_str *k;
    switch (t.kind) {
    case QT_IN:
        m->with_op = Q_WITH_KEY_IN;
        TRY(q_p_expect(p, QT_LPAREN, "("));
        do {
            if (!(k = q_p_push(p, (void **)&m->keys, &m->nkeys, &cap, sizeof *k)))
                return oom(p);
            TRY(q_p_ident(p, k));
        } while (q_p_accept(p, QT_COMMA));
        return q_p_expect(p, QT_RPAREN, ")");
    case QT_EQ:
    case QT_NEQ:
        m->with_op = t.kind == QT_EQ ? Q_WITH_KEY_EQ : Q_WITH_KEY_NEQ;
        if (!(k = q_p_push(p, (void **)&m->keys, &m->nkeys, &cap, sizeof *k)))
            return oom(p);
        return q_p_ident(p, k);
    case QT_EQREGEX:
    case QT_NEQREGEX:
        m->with_op = t.kind == QT_EQREGEX ? Q_WITH_KEY_REGEX : Q_WITH_KEY_NREGEX;
        return required_regex(p, &m->regex);
    default:
        return q_p_err_found(p, &t, "IN, =, =~");
    }
}

/* SHOW MEASUREMENTS [ON db] [WITH MEASUREMENT (= | =~) (name | /re/)] ...: the
 * measurement's name (without any "db"."rp". prefix) or pattern. */
static int show_measurements(q_parser *p, q_meta *m)
{
    if (q_p_accept(p, QT_ON)) {
        q_token t = *q_p_peek(p);
        if (t.kind == QT_MUL)
            return q_p_err_at(p, &t, "ON * is not supported");
        TRY(q_p_ident(p, &m->on_db));
    }
    if (q_p_accept(p, QT_WITH)) {
        TRY(q_p_expect(p, QT_MEASUREMENT, "MEASUREMENT"));
        q_token t = q_p_next(p);
        if (t.kind != QT_EQ && t.kind != QT_EQREGEX)
            return q_p_err_found(p, &t, "=, =~");
        /* The executor reads a regex in m->regex, a name in keys[0]. */
        q_source src;
        TRY(q_p_source(p, &src));
        if (src.is_regex) {
            m->regex = src.name;
        } else {
            if (!(m->keys = q_arena_alloc(p->a, sizeof *m->keys)))
                return oom(p);
            m->keys[0] = src.name;
            m->nkeys = 1;
        }
    }
    TRY(q_p_where(p, &m->where));
    return parse_tail(p, m);
}

static int show_tag(q_parser *p, q_stmt *st)
{
    q_meta *m = &st->u.meta;
    q_token t = q_p_next(p);
    if (t.kind != QT_KEYS && t.kind != QT_VALUES)
        return q_p_err_found(p, &t, "KEYS, VALUES");
    st->kind = t.kind == QT_KEYS ? Q_SHOW_TAG_KEYS : Q_SHOW_TAG_VALUES;
    TRY(parse_on(p, m));
    TRY(parse_from(p, m));
    if (t.kind == QT_VALUES || q_p_peek(p)->kind == QT_WITH)
        TRY(parse_with_key(p, m));
    TRY(q_p_where(p, &m->where));
    TRY(parse_tail(p, m));
    q_token s = *q_p_peek(p);
    if (t.kind == QT_KEYS && (s.kind == QT_SLIMIT || s.kind == QT_SOFFSET))
        return q_p_err_at(p, &s, "%s is not supported on SHOW TAG KEYS", q_tok_name(s.kind));
    return 0;
}

int q_p_show(q_parser *p, q_stmt *st)
{
    q_meta *m = &st->u.meta;
    q_token t = q_p_next(p);
    switch (t.kind) {
    case QT_DATABASES:
        st->kind = Q_SHOW_DATABASES;
        return 0;
    case QT_FIELD:
        st->kind = Q_SHOW_FIELD_KEYS;
        TRY(q_p_expect(p, QT_KEYS, "KEYS"));
        TRY(parse_on(p, m));
        TRY(parse_from(p, m));
        return parse_tail(p, m);
    case QT_MEASUREMENTS:
        st->kind = Q_SHOW_MEASUREMENTS;
        return show_measurements(p, m);
    case QT_RETENTION:
        st->kind = Q_SHOW_RETENTION_POLICIES;
        TRY(q_p_expect(p, QT_POLICIES, "POLICIES"));
        return parse_on(p, m);
    case QT_SERIES:
        st->kind = Q_SHOW_SERIES;
        TRY(parse_on(p, m));
        TRY(parse_from(p, m));
        TRY(q_p_where(p, &m->where));
        return parse_tail(p, m);
    case QT_TAG:
        return show_tag(p, st);
    default:
        return q_p_err_found(p, &t, "DATABASES, FIELD, MEASUREMENTS, RETENTION, SERIES, TAG");
    }
}

int q_p_create(q_parser *p, q_stmt *st)
{
    TRY(q_p_expect(p, QT_DATABASE, "DATABASE"));
    st->kind = Q_CREATE_DATABASE;
    TRY(q_p_ident(p, &st->u.meta.on_db));
    q_token t = *q_p_peek(p);
    if (t.kind == QT_WITH)
        return q_p_err_at(p, &t,
                          "CREATE DATABASE ... WITH is not supported (a database has one "
                          "retention policy, autogen)");
    return 0;
}

/* FROM sources of DROP SERIES / DELETE: measurements of the database the
 * statement runs on, so no "db". prefix (nor, for DROP SERIES, "rp".). */
static int from_no_db(q_parser *p, q_meta *m, bool allow_rp)
{
    q_token start = *q_p_peek(p);
    TRY(q_p_sources(p, &m->from, &m->nfrom));
    for (uint32_t i = 0; i < m->nfrom; i++) {
        if (m->from[i].db.ptr)
            return q_p_err_at(p, &start, "database not supported");
        if (m->from[i].rp.ptr && !allow_rp)
            return q_p_err_at(p, &start, "retention policy not supported");
    }
    return 0;
}

/* [FROM sources] [WHERE expr], at least one of them. */
static int from_where(q_parser *p, q_meta *m, bool allow_rp)
{
    q_token t = *q_p_peek(p);
    if (q_p_accept(p, QT_FROM))
        TRY(from_no_db(p, m, allow_rp));
    TRY(q_p_where(p, &m->where));
    if (!m->from && !m->where)
        return q_p_err_found(p, &t, "FROM, WHERE");
    return 0;
}

int q_p_drop(q_parser *p, q_stmt *st)
{
    q_token t = q_p_next(p);
    switch (t.kind) {
    case QT_DATABASE:
        st->kind = Q_DROP_DATABASE;
        return q_p_ident(p, &st->u.meta.on_db);
    case QT_MEASUREMENT:
        st->kind = Q_DROP_MEASUREMENT;
        st->u.meta.from = q_arena_alloc(p->a, sizeof *st->u.meta.from);
        if (!st->u.meta.from)
            return oom(p);
        memset(st->u.meta.from, 0, sizeof *st->u.meta.from);
        st->u.meta.nfrom = 1;
        return q_p_ident(p, &st->u.meta.from->name);
    case QT_SERIES:
        st->kind = Q_DROP_SERIES;
        return from_where(p, &st->u.meta, false);
    default:
        return q_p_err_found(p, &t, "DATABASE, MEASUREMENT, SERIES");
    }
}

int q_p_delete(q_parser *p, q_stmt *st, const q_token *kw)
{
    (void)kw;
    st->kind = Q_DELETE;
    return from_where(p, &st->u.meta, true);
}
