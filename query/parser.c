/*
 * parser.c: the InfluxQL parser's core: token plumbing, errors in
 * InfluxDB's words, expressions, identifiers, sources and the clauses that
 * several statements share; q_parse itself. parser_select.c parses SELECT,
 * parser_meta.c SHOW / CREATE / DROP / DELETE.
 *
 * Recursive descent over the lexer's tokens with one token of lookahead,
 * shaped after InfluxDB 1.x's parser.go so that the same text is accepted
 * or refused at the same token with the same message:
 *
 *   error parsing query: found <token>, expected <list> at line L, char C
 *
 * Whitespace matters where it does in InfluxDB: a call needs its '(' right
 * after the name ("mean (x)" is not a call), and "::" casts and the '.'
 * between "db"."rp"."m" segments must touch what they join.
 *
 * Expressions use precedence climbing with InfluxDB's levels (OR < AND <
 * comparisons < + - < * /), all left-associative; parentheses group and
 * leave no node. Nesting is bounded (MAX_DEPTH while parsing, and
 * MAX_TREE_DEPTH for the tree built) so hostile input cannot exhaust the
 * stack, here or in the executor's walks over the tree. Every node and string goes to the query's
 * arena; a failed allocation returns CTS_ENOMEM and the arena is freed by the caller as usual.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "lexer.h"

#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 200       /* nested parentheses and calls while parsing */
#define MAX_TREE_DEPTH 2000 /* depth of the tree an expression makes */
#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

static const char EXPECT_UNARY[] = "identifier, string, number, bool";

/* ------------------------------------------------------------------------
 * Tokens and errors.
 * ------------------------------------------------------------------------ */
const q_token *q_p_peek(q_parser *p)
{
    if (!p->have) {
        q_lex_next(&p->lx, &p->tok);
        p->have = true;
    }
    return &p->tok;
}

q_token q_p_next(q_parser *p)
{
    q_p_peek(p);
    p->have = false;
    return p->tok;
}

bool q_p_accept(q_parser *p, q_tok k)
{
    if (q_p_peek(p)->kind != k)
        return false;
    p->have = false;
    return true;
}

int q_p_expect(q_parser *p, q_tok k, const char *expected)
{
    q_token t = q_p_next(p);
    return t.kind == k ? 0 : q_p_err_found(p, &t, expected);
}

static void set_pos(q_parser *p, const q_token *t)
{
    p->err->code = CTS_EPARSE;
    p->err->line = t->line;
    p->err->col = t->col;
    p->err->offset = t->off;
}

int q_p_err_found(q_parser *p, const q_token *t, const char *expected)
{
    char found[200];
    q_tok_display(p->lx.text, t, found, sizeof found);
    set_pos(p, t);
    snprintf(p->err->msg, sizeof p->err->msg,
             "error parsing query: found %s, expected %s at line %u, char %u", found, expected,
             t->line, t->col);
    return CTS_EPARSE;
}

static void vformat(q_parser *p, const q_token *t, bool with_pos, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void vformat(q_parser *p, const q_token *t, bool with_pos, const char *fmt, va_list ap)
{
    char what[400];
    vsnprintf(what, sizeof what, fmt, ap);
    set_pos(p, t);
    if (with_pos)
        snprintf(p->err->msg, sizeof p->err->msg, "error parsing query: %s at line %u, char %u",
                 what, t->line, t->col);
    else
        snprintf(p->err->msg, sizeof p->err->msg, "error parsing query: %s", what);
}

int q_p_err_at(q_parser *p, const q_token *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(p, t, true, fmt, ap);
    va_end(ap);
    return CTS_EPARSE;
}

int q_p_err_plain(q_parser *p, const q_token *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(p, t, false, fmt, ap);
    va_end(ap);
    return CTS_EPARSE;
}

static int oom(q_parser *p)
{
    p->err->code = CTS_ENOMEM;
    p->err->line = 0;
    p->err->col = 0;
    p->err->offset = 0;
    snprintf(p->err->msg, sizeof p->err->msg, "out of memory");
    return CTS_ENOMEM;
}

/* ------------------------------------------------------------------------
 * Arena helpers.
 * ------------------------------------------------------------------------ */
q_expr *q_p_node(q_parser *p, q_expr_kind kind, uint32_t off)
{
    q_expr *e = q_arena_alloc(p->a, sizeof *e);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->off = off;
    return e;
}

void *q_p_push(q_parser *p, void **arr, uint32_t *n, uint32_t *cap, size_t size)
{
    if (*n == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4;
        if (ncap < *cap)
            return NULL;
        void *grown = q_arena_alloc(p->a, (size_t)ncap * size);
        if (!grown)
            return NULL;
        if (*n)
            memcpy(grown, *arr, (size_t)*n * size);
        *arr = grown;
        *cap = ncap;
    }
    void *slot = (char *)*arr + (size_t)*n * size;
    memset(slot, 0, size);
    (*n)++;
    return slot;
}

static int unquote(q_parser *p, const q_token *t, cts_str *out)
{
    *out = q_tok_unquote(p->a, p->lx.text, t);
    return out->ptr ? 0 : oom(p);
}

/* ------------------------------------------------------------------------
 * Identifiers, regexes, literals.
 * ------------------------------------------------------------------------ */
int q_p_ident(q_parser *p, cts_str *out)
{
    q_token t = q_p_next(p);
    if (t.kind != QT_IDENT)
        return q_p_err_found(p, &t, "identifier");
    return unquote(p, &t, out);
}

/* The pattern must compile as the executor will compile it. */
static int check_regex(q_parser *p, const q_token *t, cts_str pat)
{
    int code;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat.ptr, pat.len, PCRE2_UTF, &code, &at, NULL);
    if (re) {
        pcre2_code_free(re);
        return 0;
    }
    PCRE2_UCHAR why[160];
    if (pcre2_get_error_message(code, why, sizeof why) < 0)
        snprintf((char *)why, sizeof why, "invalid pattern");
    return q_p_err_at(p, t, "error parsing regexp: %s: `%.100s`", (const char *)why, pat.ptr);
}

int q_p_regex_opt(q_parser *p, q_expr **out)
{
    *out = NULL;
    if (p->have) {
        q_lex_rewind(&p->lx, &p->tok);
        p->have = false;
    }
    if (!q_lex_at_slash(&p->lx))
        return 0;
    q_token t;
    q_lex_regex(&p->lx, &t);
    if (t.kind == QT_BADREGEX)
        return q_p_err_at(p, &t, "bad regex: ");
    q_expr *e = q_p_node(p, Q_E_REGEX, t.off);
    if (!e)
        return oom(p);
    TRY(unquote(p, &t, &e->u.str));
    TRY(check_regex(p, &t, e->u.str));
    *out = e;
    return 0;
}

static int parse_duration(q_parser *p, const q_token *t, int64_t *ns)
{
    int rc = cts_duration_parse(p->lx.text + t->off, t->len, ns, NULL);
    if (rc == CTS_ERANGE)
        return q_p_err_plain(p, t, "overflowed duration %.*s: choose a smaller duration or INF",
                             (int)t->len, p->lx.text + t->off);
    if (rc)
        return q_p_err_plain(p, t, "invalid duration");
    return 0;
}

/* Decimal digits of t as an unsigned value; false on overflow. */
static bool parse_u64(const char *s, uint32_t len, uint64_t *out)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < len; i++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
            return false;
    *out = v;
    return true;
}

static int number_node(q_parser *p, const q_token *t, bool neg, q_expr **out)
{
    cts_str s;
    TRY(unquote(p, t, &s));
    errno = 0;
    double v = strtod(s.ptr, NULL);
    if (isinf(v))
        return q_p_err_at(p, t, "unable to parse number");
    q_expr *e = q_p_node(p, Q_E_NUMBER, t->off);
    if (!e)
        return oom(p);
    e->u.num = neg ? -v : v;
    *out = e;
    return 0;
}

/* An integer literal. Past INT64_MAX (but within uint64) InfluxDB makes an
 * unsigned literal, which the AST cannot hold: it becomes a float. */
static int integer_node(q_parser *p, const q_token *t, bool neg, q_expr **out)
{
    uint64_t u;
    if (!parse_u64(p->lx.text + t->off, t->len, &u))
        return q_p_err_at(p, t, "unable to parse integer");
    q_expr *e = q_p_node(p, Q_E_INTEGER, t->off);
    if (!e)
        return oom(p);
    if (u <= (uint64_t)INT64_MAX) {
        e->u.integer = neg ? -(int64_t)u : (int64_t)u;
    } else if (neg && u == (uint64_t)INT64_MAX + 1) {
        e->u.integer = INT64_MIN;
    } else if (neg) {
        return q_p_err_plain(p, t, "constant -%.*s underflows int64", (int)t->len,
                             p->lx.text + t->off);
    } else {
        e->kind = Q_E_NUMBER;
        e->u.num = (double)u;
    }
    *out = e;
    return 0;
}

static int duration_node(q_parser *p, const q_token *t, bool neg, q_expr **out)
{
    int64_t ns;
    TRY(parse_duration(p, t, &ns));
    q_expr *e = q_p_node(p, Q_E_DURATION, t->off);
    if (!e)
        return oom(p);
    e->u.integer = neg ? -ns : ns;
    *out = e;
    return 0;
}

/* ------------------------------------------------------------------------
 * Segmented identifiers: "db"."rp"."m", "db".."m", a.b (a field "a.b").
 * ------------------------------------------------------------------------ */
typedef struct segs {
    cts_str s[3];
    uint32_t n;
    bool regex_next; /* stopped at a '.' followed by '/' */
} segs;

/* `first` (an IDENT) is consumed; read ".seg" continuations. */
static int segments(q_parser *p, const q_token *first, segs *sg)
{
    memset(sg, 0, sizeof *sg);
    TRY(unquote(p, first, &sg->s[0]));
    sg->n = 1;
    for (;;) {
        const q_token *t = q_p_peek(p);
        if (t->kind != QT_DOT || t->ws_before)
            return 0;
        q_p_next(p);
        int c = q_lex_peek_byte(&p->lx);
        if (c == '/') {
            sg->regex_next = true;
            return 0;
        }
        if (c == ':')
            return 0;
        if (sg->n == 3)
            return q_p_err_at(p, first, "too many segments in identifier");
        if (c == '.') {
            sg->s[sg->n].ptr = "";
            sg->s[sg->n].len = 0;
            sg->n++;
            continue;
        }
        TRY(q_p_ident(p, &sg->s[sg->n]));
        sg->n++;
    }
}

static cts_str given(cts_str s)
{
    if (s.len == 0)
        s.ptr = NULL;
    return s;
}

int q_p_source(q_parser *p, q_source *out)
{
    q_expr *re;
    memset(out, 0, sizeof *out);
    TRY(q_p_regex_opt(p, &re));
    if (re) {
        out->is_regex = true;
        out->name = re->u.str;
        return 0;
    }
    q_token t = q_p_next(p);
    if (t.kind == QT_LPAREN)
        return q_p_err_at(p, &t, "subqueries are not supported");
    if (t.kind != QT_IDENT)
        return q_p_err_found(p, &t, "identifier");
    segs sg;
    TRY(segments(p, &t, &sg));
    if (sg.regex_next) {
        TRY(q_p_regex_opt(p, &re));
        if (!re) {
            q_token bad = q_p_next(p);
            return q_p_err_found(p, &bad, "regex");
        }
        out->is_regex = true;
        out->name = re->u.str;
        out->rp = given(sg.s[sg.n - 1]);
        if (sg.n == 2)
            out->db = given(sg.s[0]);
        return 0;
    }
    out->name = sg.s[sg.n - 1];
    if (sg.n >= 2)
        out->rp = given(sg.s[sg.n - 2]);
    if (sg.n == 3)
        out->db = given(sg.s[0]);
    return 0;
}

int q_p_sources(q_parser *p, q_source **out, uint32_t *n)
{
    uint32_t cap = 0;
    *out = NULL;
    *n = 0;
    do {
        q_source *s = q_p_push(p, (void **)out, n, &cap, sizeof *s);
        if (!s)
            return oom(p);
        TRY(q_p_source(p, s));
    } while (q_p_accept(p, QT_COMMA));
    return 0;
}

/* ------------------------------------------------------------------------
 * Expressions.
 * ------------------------------------------------------------------------ */
static int parse_unary(q_parser *p, q_expr **out);

static int precedence(q_tok k)
{
    switch (k) {
    case QT_OR:
        return 1;
    case QT_AND:
        return 2;
    case QT_EQ:
    case QT_NEQ:
    case QT_EQREGEX:
    case QT_NEQREGEX:
    case QT_LT:
    case QT_LTE:
    case QT_GT:
    case QT_GTE:
    case QT_IN:
        return 3;
    case QT_ADD:
    case QT_SUB:
    case QT_BITOR:
    case QT_BITXOR:
        return 4;
    default:
        return 5;
    }
}

/* The AST operator of a token; 0 for operators the AST cannot hold. */
static q_op ast_op(q_tok k)
{
    static const int map[][2] = {
        {QT_ADD, Q_OP_ADD},
        {QT_SUB, Q_OP_SUB},
        {QT_MUL, Q_OP_MUL},
        {QT_DIV, Q_OP_DIV},
        {QT_EQ, Q_OP_EQ},
        {QT_NEQ, Q_OP_NEQ},
        {QT_LT, Q_OP_LT},
        {QT_LTE, Q_OP_LTE},
        {QT_GT, Q_OP_GT},
        {QT_GTE, Q_OP_GTE},
        {QT_EQREGEX, Q_OP_EQ_REGEX},
        {QT_NEQREGEX, Q_OP_NEQ_REGEX},
        {QT_AND, Q_OP_AND},
        {QT_OR, Q_OP_OR},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i][0] == (int)k)
            return (q_op)map[i][1];
    return (q_op)0;
}

static int binary(q_parser *p, q_op op, q_expr *lhs, q_expr *rhs, q_expr **out)
{
    q_expr *e = q_p_node(p, Q_E_BINARY, lhs->off);
    if (!e)
        return oom(p);
    e->u.bin.op = op;
    e->u.bin.lhs = lhs;
    e->u.bin.rhs = rhs;
    *out = e;
    return 0;
}

static int parse_binary(q_parser *p, int min_prec, q_expr **out)
{
    q_expr *lhs;
    TRY(parse_unary(p, &lhs));
    for (;;) {
        const q_token *t = q_p_peek(p);
        if (!q_tok_is_operator(t->kind) || precedence(t->kind) < min_prec)
            break;
        q_token op = q_p_next(p);
        q_op aop = ast_op(op.kind);
        if (!aop)
            return q_p_err_at(p, &op, "operator %s is not supported", q_tok_name(op.kind));
        q_expr *rhs;
        if (op.kind == QT_EQREGEX || op.kind == QT_NEQREGEX) {
            TRY(q_p_regex_opt(p, &rhs));
            if (!rhs) {
                q_token bad = q_p_next(p);
                return q_p_err_found(p, &bad, "regex");
            }
        } else {
            TRY(parse_binary(p, precedence(op.kind) + 1, &rhs));
        }
        TRY(binary(p, aop, lhs, rhs, &lhs));
    }
    *out = lhs;
    return 0;
}

/* Does the tree under e go deeper than `budget` nodes? The recursion
 * stops at the budget, so it cannot itself run out of stack. */
static bool tree_too_deep(const q_expr *e, uint32_t budget)
{
    if (budget == 0)
        return true;
    if (e->kind == Q_E_BINARY)
        return tree_too_deep(e->u.bin.lhs, budget - 1) || tree_too_deep(e->u.bin.rhs, budget - 1);
    if (e->kind == Q_E_CALL)
        for (uint32_t i = 0; i < e->u.call.nargs; i++)
            if (tree_too_deep(e->u.call.args[i], budget - 1))
                return true;
    return false;
}

int q_p_expr(q_parser *p, q_expr **out)
{
    q_token start = *q_p_peek(p);
    if (++p->depth > MAX_DEPTH)
        return q_p_err_at(p, &start, "expression nested too deeply");
    int rc = parse_binary(p, 1, out);
    p->depth--;
    /* A flat chain (a OR b OR c ...) needs no recursion to parse but makes
     * a tree as deep as it is long, which every later tree walk (here and
     * in the executor) recurses over: bound it once, at the outermost
     * expression. */
    if (rc == 0 && p->depth == 0 && tree_too_deep(*out, MAX_TREE_DEPTH))
        return q_p_err_at(p, &start, "expression nested too deeply");
    return rc;
}

static int push_arg(q_parser *p, q_expr *call, uint32_t *cap, q_expr *arg)
{
    q_expr **slot =
        q_p_push(p, (void **)&call->u.call.args, &call->u.call.nargs, cap, sizeof(q_expr *));
    if (!slot)
        return oom(p);
    *slot = arg;
    return 0;
}

/* name(args...), the '(' consumed. */
static int parse_call(q_parser *p, const q_token *name, q_expr **out)
{
    q_expr *e = q_p_node(p, Q_E_CALL, name->off);
    if (!e)
        return oom(p);
    cts_str raw;
    TRY(unquote(p, name, &raw));
    char *low = q_arena_alloc(p->a, (size_t)raw.len + 1);
    if (!low)
        return oom(p);
    for (uint32_t i = 0; i <= raw.len; i++) {
        char c = raw.ptr[i];
        low[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    e->u.call.name.ptr = low;
    e->u.call.name.len = raw.len;
    uint32_t cap = 0;
    q_expr *arg;
    TRY(q_p_regex_opt(p, &arg));
    if (!arg) {
        const q_token *t = q_p_peek(p);
        if (t->kind == QT_RPAREN && !t->ws_before) {
            q_p_next(p);
            *out = e;
            return 0;
        }
        TRY(q_p_expr(p, &arg));
    }
    TRY(push_arg(p, e, &cap, arg));
    while (q_p_accept(p, QT_COMMA)) {
        TRY(q_p_regex_opt(p, &arg));
        if (!arg)
            TRY(q_p_expr(p, &arg));
        TRY(push_arg(p, e, &cap, arg));
    }
    TRY(q_p_expect(p, QT_RPAREN, ")"));
    *out = e;
    return 0;
}

static int parse_cast(q_parser *p, q_cast *cast)
{
    static const char *const names[] = {"float", "integer", "unsigned", "string", "boolean"};
    static const q_cast casts[] = {Q_CAST_FLOAT, Q_CAST_INTEGER, Q_CAST_UNSIGNED, Q_CAST_STRING,
                                   Q_CAST_BOOLEAN};
    q_token t = q_p_next(p);
    if (t.kind == QT_FIELD && !t.ws_before) {
        *cast = Q_CAST_FIELD;
        return 0;
    }
    if (t.kind == QT_TAG && !t.ws_before) {
        *cast = Q_CAST_TAG;
        return 0;
    }
    if (t.kind == QT_IDENT && !t.ws_before) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (t.len == strlen(names[i]) &&
                strncasecmp(p->lx.text + t.off, names[i], t.len) == 0) {
                *cast = casts[i];
                return 0;
            }
        }
        return q_p_err_found(p, &t, "float, integer, unsigned, string, boolean, field, tag");
    }
    return q_p_err_found(p, &t, "float, integer, string, boolean, field, tag");
}

/* A reference; `first` (an IDENT) consumed. Segments join with '.'. */
static int parse_ref(q_parser *p, const q_token *first, q_expr **out)
{
    segs sg;
    TRY(segments(p, first, &sg));
    q_expr *e = q_p_node(p, Q_E_REF, first->off);
    if (!e)
        return oom(p);
    e->u.ref.name = sg.s[0];
    if (sg.n > 1) {
        size_t len = 0;
        for (uint32_t i = 0; i < sg.n; i++)
            len += sg.s[i].len + 1;
        char *buf = q_arena_alloc(p->a, len);
        if (!buf)
            return oom(p);
        size_t at = 0;
        for (uint32_t i = 0; i < sg.n; i++) {
            if (i)
                buf[at++] = '.';
            memcpy(buf + at, sg.s[i].ptr, sg.s[i].len);
            at += sg.s[i].len;
        }
        buf[at] = '\0';
        e->u.ref.name.ptr = buf;
        e->u.ref.name.len = (uint32_t)at;
    }
    const q_token *t = q_p_peek(p);
    if (t->kind == QT_DOUBLECOLON && !t->ws_before) {
        q_p_next(p);
        TRY(parse_cast(p, &e->u.ref.cast));
    }
    *out = e;
    return 0;
}

/* IDENT: a call when '(' touches it, else a reference. */
static int parse_ident_expr(q_parser *p, const q_token *t, q_expr **out)
{
    const q_token *nx = q_p_peek(p);
    if (nx->kind == QT_LPAREN && !nx->ws_before) {
        q_p_next(p);
        return parse_call(p, t, out);
    }
    return parse_ref(p, t, out);
}

/* DISTINCT x (InfluxDB's Distinct) or distinct(x): both as a call. */
static int parse_distinct(q_parser *p, const q_token *kw, q_expr **out)
{
    q_token name = *kw;
    q_token t = q_p_next(p);
    if (t.kind == QT_LPAREN && !t.ws_before)
        return parse_call(p, &name, out);
    if (!t.ws_before)
        return q_p_err_found(p, &t, "(, identifier");
    if (t.kind != QT_IDENT)
        return q_p_err_found(p, &t, "identifier");
    q_expr *e = q_p_node(p, Q_E_CALL, kw->off), *ref = q_p_node(p, Q_E_REF, t.off);
    q_expr **args = q_arena_alloc(p->a, sizeof *args);
    if (!e || !ref || !args)
        return oom(p);
    e->u.call.name = q_arena_strdup(p->a, "distinct", 8);
    if (!e->u.call.name.ptr)
        return oom(p);
    TRY(unquote(p, &t, &ref->u.ref.name));
    args[0] = ref;
    e->u.call.args = args;
    e->u.call.nargs = 1;
    *out = e;
    return 0;
}

static int parse_wildcard(q_parser *p, const q_token *t, q_expr **out)
{
    const q_token *nx = q_p_peek(p);
    if (nx->kind == QT_DOUBLECOLON && !nx->ws_before) {
        q_p_next(p);
        q_token ty = q_p_next(p);
        if ((ty.kind == QT_FIELD || ty.kind == QT_TAG) && !ty.ws_before)
            return q_p_err_at(p, t, "*::%s is not supported",
                              ty.kind == QT_FIELD ? "field" : "tag");
        return q_p_err_found(p, &ty, "field, tag");
    }
    *out = q_p_node(p, Q_E_WILDCARD, t->off);
    return *out ? 0 : oom(p);
}

/* Unary + or -: literals are folded, anything else becomes -1 * x. */
static int parse_signed(q_parser *p, const q_token *sign, q_expr **out)
{
    bool neg = sign->kind == QT_SUB;
    q_token t = *q_p_peek(p);
    switch (t.kind) {
    case QT_INTEGER:
        q_p_next(p);
        return integer_node(p, &t, neg, out);
    case QT_NUMBER:
        q_p_next(p);
        return number_node(p, &t, neg, out);
    case QT_DURATIONVAL:
        q_p_next(p);
        return duration_node(p, &t, neg, out);
    case QT_LPAREN:
    case QT_IDENT: {
        q_expr *x, *m = q_p_node(p, Q_E_INTEGER, sign->off);
        if (!m)
            return oom(p);
        TRY(parse_unary(p, &x));
        if (!neg) {
            *out = x;
            return 0;
        }
        m->u.integer = -1;
        return binary(p, Q_OP_MUL, m, x, out);
    }
    default:
        q_p_next(p);
        return q_p_err_found(p, &t, "identifier, number, duration, (");
    }
}

static int parse_primary(q_parser *p, const q_token *t, q_expr **out)
{
    q_expr *e;
    switch (t->kind) {
    case QT_IDENT:
        return parse_ident_expr(p, t, out);
    case QT_DISTINCT:
        return parse_distinct(p, t, out);
    case QT_STRING:
        if (!(e = q_p_node(p, Q_E_STRING, t->off)))
            return oom(p);
        *out = e;
        return unquote(p, t, &e->u.str);
    case QT_NUMBER:
        return number_node(p, t, false, out);
    case QT_INTEGER:
        return integer_node(p, t, false, out);
    case QT_DURATIONVAL:
        return duration_node(p, t, false, out);
    case QT_TRUE:
    case QT_FALSE:
        if (!(e = q_p_node(p, Q_E_BOOL, t->off)))
            return oom(p);
        e->u.boolean = t->kind == QT_TRUE;
        *out = e;
        return 0;
    case QT_MUL:
        return parse_wildcard(p, t, out);
    case QT_ADD:
    case QT_SUB:
        return parse_signed(p, t, out);
    default:
        return q_p_err_found(p, t, EXPECT_UNARY);
    }
}

static int parse_unary(q_parser *p, q_expr **out)
{
    q_token t = q_p_next(p);
    if (++p->depth > MAX_DEPTH)
        return q_p_err_at(p, &t, "expression nested too deeply");
    int rc;
    if (t.kind == QT_LPAREN) {
        rc = q_p_expr(p, out);
        if (rc == 0)
            rc = q_p_expect(p, QT_RPAREN, ")");
    } else {
        rc = parse_primary(p, &t, out);
    }
    p->depth--;
    return rc;
}

/* ------------------------------------------------------------------------
 * Clauses shared by several statements.
 * ------------------------------------------------------------------------ */
int q_p_where(q_parser *p, q_expr **out)
{
    *out = NULL;
    if (!q_p_accept(p, QT_WHERE))
        return 0;
    return q_p_expr(p, out);
}

int q_p_opt_int(q_parser *p, q_tok kw, int64_t *out)
{
    *out = 0;
    if (!q_p_accept(p, kw))
        return 0;
    q_token t = q_p_next(p);
    if (t.kind != QT_INTEGER)
        return q_p_err_found(p, &t, "integer");
    uint64_t v;
    if (!parse_u64(p->lx.text + t.off, t.len, &v) || v > (uint64_t)INT64_MAX)
        return q_p_err_at(p, &t, "unable to parse integer");
    *out = (int64_t)v;
    return 0;
}

static int sort_field(q_parser *p, bool *is_time, bool *desc)
{
    cts_str name;
    TRY(q_p_ident(p, &name));
    *is_time = name.len == 4 && memcmp(name.ptr, "time", 4) == 0;
    if (q_p_accept(p, QT_DESC))
        *desc = true;
    else if (q_p_accept(p, QT_ASC))
        *desc = false;
    return 0;
}

int q_p_order_by(q_parser *p, bool *desc)
{
    *desc = false;
    const q_token *kw = q_p_peek(p);
    if (kw->kind != QT_ORDER)
        return 0;
    q_token order = q_p_next(p);
    TRY(q_p_expect(p, QT_BY, "BY"));
    q_token t = *q_p_peek(p);
    bool is_time = true;
    uint32_t count = 1;
    if (t.kind == QT_ASC || t.kind == QT_DESC) {
        q_p_next(p);
        *desc = t.kind == QT_DESC;
    } else if (t.kind == QT_IDENT) {
        TRY(sort_field(p, &is_time, desc));
        if (!is_time)
            return q_p_err_plain(p, &t, "only ORDER BY time supported at this time");
    } else {
        q_p_next(p);
        return q_p_err_found(p, &t, "identifier, ASC, DESC");
    }
    while (q_p_accept(p, QT_COMMA)) {
        bool d2;
        TRY(sort_field(p, &is_time, &d2));
        count++;
    }
    if (count > 1)
        return q_p_err_plain(p, &order, "only ORDER BY time supported at this time");
    return 0;
}

/* ------------------------------------------------------------------------
 * Statements.
 * ------------------------------------------------------------------------ */
static int parse_statement(q_parser *p, q_stmt *st)
{
    q_token t = q_p_next(p);
    memset(st, 0, sizeof *st);
    st->off = t.off;
    int rc;
    switch (t.kind) {
    case QT_SELECT:
        st->kind = Q_SELECT;
        rc = q_p_select(p, &st->u.select);
        break;
    case QT_DELETE:
        rc = q_p_delete(p, st, &t);
        break;
    case QT_SHOW:
        rc = q_p_show(p, st);
        break;
    case QT_CREATE:
        rc = q_p_create(p, st);
        break;
    case QT_DROP:
        rc = q_p_drop(p, st);
        break;
    default:
        return q_p_err_found(p, &t, "SELECT, DELETE, SHOW, CREATE, DROP");
    }
    if (rc == 0) {
        /* The statement ends where the lexer stopped before the lookahead. */
        uint32_t end = p->have ? p->tok.pre_off : p->lx.pos;
        st->len = end - st->off;
    }
    return rc;
}

static void err_clear(cts_query_error *err)
{
    err->code = 0;
    err->line = 0;
    err->col = 0;
    err->offset = 0;
    err->msg[0] = '\0';
}

int q_parse(q_arena *a, const char *text, size_t len, q_query *out, cts_query_error *err)
{
    cts_query_error scratch;
    if (!err)
        err = &scratch; /* the caller wants only the code */
    q_parser p = {.a = a, .err = err};
    uint32_t cap = 0;
    bool semi = true;
    err_clear(err);
    out->stmts = NULL;
    out->count = 0;
    if (len >= UINT32_MAX) {
        err->code = CTS_EPARSE;
        snprintf(err->msg, sizeof err->msg, "error parsing query: query text too long");
        return CTS_EPARSE;
    }
    q_lex_init(&p.lx, text, (uint32_t)len);
    for (;;) {
        q_token t = *q_p_peek(&p);
        if (t.kind == QT_EOF)
            break;
        if (q_p_accept(&p, QT_SEMICOLON)) {
            semi = true;
            continue;
        }
        if (!semi)
            return q_p_err_found(&p, &t, ";");
        q_stmt *st = q_p_push(&p, (void **)&out->stmts, &out->count, &cap, sizeof *st);
        if (!st)
            return oom(&p);
        TRY(parse_statement(&p, st));
        semi = false;
    }
    if (out->count == 0) {
        q_token t = q_p_next(&p);
        return q_p_err_found(&p, &t, "SELECT, DELETE, SHOW, CREATE, DROP");
    }
    return 0;
}
