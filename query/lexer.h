/*
 * lexer.h: the InfluxQL lexer and the parser's internal interface, shared
 * by lexer.c, parser.c, parser_select.c and parser_meta.c only.
 *
 * The lexer follows InfluxDB 1.x's scanner (influxql/scanner.go) token for
 * token, because error messages print tokens the way InfluxDB does:
 * keywords upper-case, identifiers and strings by their unquoted text,
 * numbers as written, operators as themselves, "EOF" at the end.
 *
 * It never allocates and never fails: a token is a span of the text plus
 * its kind and position; quoted tokens are unescaped later, by the parser,
 * into the arena (q_tok_unquote). Positions: byte offset, 1-based line and
 * 1-based column counted in characters (UTF-8 code points; an invalid byte
 * counts as one, as Go's decoder does). "\r\n" and a lone "\r" are one
 * line break. Whitespace is ' ', '\t' and line breaks only.
 *
 * Regex literals are not lexed by q_lex_next ('/' is the DIV operator);
 * the parser asks for one with q_lex_regex where InfluxQL expects one.
 */
#ifndef CTS_QUERY_LEXER_H
#define CTS_QUERY_LEXER_H

#include "query_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keywords: InfluxDB's whole list, so that a keyword used as a bare
 * identifier fails here as it does there. */
/* One keyword a line: clang-format does not settle on this macro. */
// clang-format off
#define Q_KEYWORDS(X) \
    X(ALL) \
    X(ALTER) \
    X(ANALYZE) \
    X(ANY) \
    X(AS) \
    X(ASC) \
    X(BEGIN) \
    X(BY) \
    X(CARDINALITY) \
    X(CREATE) \
    X(CONTINUOUS) \
    X(DATABASE) \
    X(DATABASES) \
    X(DEFAULT) \
    X(DELETE) \
    X(DESC) \
    X(DESTINATIONS) \
    X(DIAGNOSTICS) \
    X(DISTINCT) \
    X(DROP) \
    X(DURATION) \
    X(END) \
    X(EVERY) \
    X(EXACT) \
    X(EXPLAIN) \
    X(FIELD) \
    X(FOR) \
    X(FROM) \
    X(GRANT) \
    X(GRANTS) \
    X(GROUP) \
    X(GROUPS) \
    X(INF) \
    X(INSERT) \
    X(INTO) \
    X(KEY) \
    X(KEYS) \
    X(KILL) \
    X(LIMIT) \
    X(MEASUREMENT) \
    X(MEASUREMENTS) \
    X(NAME) \
    X(OFFSET) \
    X(ON) \
    X(ORDER) \
    X(PASSWORD) \
    X(POLICY) \
    X(POLICIES) \
    X(PRIVILEGES) \
    X(QUERIES) \
    X(QUERY) \
    X(READ) \
    X(REPLICATION) \
    X(RESAMPLE) \
    X(RETENTION) \
    X(REVOKE) \
    X(SELECT) \
    X(SERIES) \
    X(SET) \
    X(SHOW) \
    X(SHARD) \
    X(SHARDS) \
    X(SLIMIT) \
    X(SOFFSET) \
    X(STATS) \
    X(SUBSCRIPTION) \
    X(SUBSCRIPTIONS) \
    X(TAG) \
    X(TO) \
    X(USER) \
    X(USERS) \
    X(VALUES) \
    X(WHERE) \
    X(WITH) \
    X(WRITE)
// clang-format on

typedef enum q_tok {
    QT_ILLEGAL = 0, /* a character no token starts with; an unterminated comment */
    QT_EOF,
    QT_IDENT,       /* bare or "double quoted" */
    QT_NUMBER,      /* 1.5 .5 1e3 */
    QT_INTEGER,     /* 42 */
    QT_DURATIONVAL, /* 15m 1h30m (validated by the parser) */
    QT_STRING,      /* 'single quoted' */
    QT_BADSTRING,   /* a string or quoted identifier cut by a line break or the end */
    QT_BADESCAPE,   /* \q in a string or quoted identifier (span: the two characters) */
    QT_TRUE,
    QT_FALSE,
    QT_REGEX,    /* /pattern/ (only from q_lex_regex) */
    QT_BADREGEX, /* a regex cut by a line break or the end */
    /* operators, in InfluxDB's order (q_tok_is_operator relies on it) */
    QT_ADD,
    QT_SUB,
    QT_MUL,
    QT_DIV,
    QT_MOD,
    QT_BITAND,
    QT_BITOR,
    QT_BITXOR,
    QT_AND,
    QT_OR,
    QT_IN,
    QT_EQ,
    QT_NEQ,
    QT_EQREGEX,
    QT_NEQREGEX,
    QT_LT,
    QT_LTE,
    QT_GT,
    QT_GTE,
    /* punctuation */
    QT_LPAREN,
    QT_RPAREN,
    QT_COMMA,
    QT_COLON,
    QT_DOUBLECOLON,
    QT_SEMICOLON,
    QT_DOT,
#define Q_KW_ENUM(k) QT_##k,
    QT_KW_FIRST_,
    Q_KEYWORDS(Q_KW_ENUM) QT_COUNT_
#undef Q_KW_ENUM
} q_tok;

typedef struct q_token {
    q_tok kind;
    uint32_t off;      /* byte offset of the first character */
    uint32_t len;      /* bytes of the token in the text */
    uint32_t line;     /* 1-based */
    uint32_t col;      /* 1-based, in characters */
    bool ws_before;    /* whitespace or a comment right before it */
    uint32_t pre_off;  /* where the lexer was before skipping that */
    uint32_t pre_line; /* (to rewind for a regex) */
    uint32_t pre_col;
} q_token;

typedef struct q_lexer {
    const char *text;
    uint32_t len;
    uint32_t pos;
    uint32_t line, col;
    uint32_t prev_line, prev_col; /* where the previous character was */
    /* InfluxDB's reader counts the end of the text as one more character
     * once it has read past it, so where "EOF" is reported depends on
     * what read it first (see eof_col in lexer.c). */
    bool eof_read;     /* the end was read (and not put back) */
    bool eof_buffered; /* the end was read and put back */
    uint8_t eof_buffered_bump;
} q_lexer;

void q_lex_init(q_lexer *lx, const char *text, uint32_t len);
/* The next token, skipping whitespace and comments. */
void q_lex_next(q_lexer *lx, q_token *t);
/* Skip whitespace only (not comments, as InfluxDB) and report whether the
 * next character is '/'. */
bool q_lex_at_slash(q_lexer *lx);
/* The next byte without skipping anything, or -1 at the end (which counts
 * as reading the end, as InfluxDB's peek does). */
int q_lex_peek_byte(q_lexer *lx);
/* At '/': a QT_REGEX or QT_BADREGEX token. */
void q_lex_regex(q_lexer *lx, q_token *t);
/* Put the lexer back to where it was before token t (and its blanks). */
void q_lex_rewind(q_lexer *lx, const q_token *t);

/* InfluxDB's name of a token kind: "EOF", "FROM", "=", "IDENT", ... */
const char *q_tok_name(q_tok k);
bool q_tok_is_operator(q_tok k);
/* A keyword's kind for an identifier (case-insensitive), or QT_IDENT. */
q_tok q_tok_lookup(const char *s, size_t len);

/*
 * The unescaped text of an IDENT (bare or quoted), STRING, BADSTRING (what
 * was read before the break) or REGEX token, NUL-terminated in the arena;
 * invalid UTF-8 becomes U+FFFD as in InfluxDB. .ptr NULL when out of memory.
 */
cts_str q_tok_unquote(q_arena *a, const char *text, const q_token *t);
/* How InfluxDB prints token t in "found X": its literal when it has one,
 * else its kind's name; truncated to fit dst (always NUL-terminated). */
void q_tok_display(const char *text, const q_token *t, char *dst, size_t cap);

/* ------------------------------------------------------------------------
 * Parser internals (parser.c), used by parser_select.c and parser_meta.c.
 * Every function returning int returns 0, CTS_EPARSE (p->err filled) or
 * CTS_ENOMEM.
 * ------------------------------------------------------------------------ */
typedef struct q_parser {
    q_arena *a;
    q_lexer lx;
    q_token tok; /* the peeked token, when `have` */
    bool have;
    uint32_t depth; /* expression nesting */
    cts_query_error *err;
} q_parser;

/* The next token (skipping blanks), without consuming it. */
const q_token *q_p_peek(q_parser *p);
/* Consume and return the next token. */
q_token q_p_next(q_parser *p);
/* Consume the next token if it is of kind k. */
bool q_p_accept(q_parser *p, q_tok k);
/* Consume a token of kind k or fail with "found X, expected <expected>". */
CTS_MUST_USE int q_p_expect(q_parser *p, q_tok k, const char *expected);

/* "error parsing query: found X, expected Y at line L, char C" */
CTS_MUST_USE int q_p_err_found(q_parser *p, const q_token *t, const char *expected);
/* "error parsing query: <msg> at line L, char C" */
CTS_MUST_USE int q_p_err_at(q_parser *p, const q_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "error parsing query: <msg>" (InfluxDB's errors without a position; the
 * position still goes to err->line/col/offset). */
CTS_MUST_USE int q_p_err_plain(q_parser *p, const q_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

q_expr *q_p_node(q_parser *p, q_expr_kind kind, uint32_t off);
/* Append one element of `size` bytes to an arena array that grows by
 * doubling (old copies are left in the arena); returns the new slot. */
void *q_p_push(q_parser *p, void **arr, uint32_t *n, uint32_t *cap, size_t size);

CTS_MUST_USE int q_p_ident(q_parser *p, cts_str *out);
CTS_MUST_USE int q_p_expr(q_parser *p, q_expr **out);
/* A /regex/ when the next non-blank character is '/': *out set (a
 * Q_E_REGEX node), else *out NULL and nothing consumed. */
CTS_MUST_USE int q_p_regex_opt(q_parser *p, q_expr **out);
/* One FROM source, or a comma-separated list of them. */
CTS_MUST_USE int q_p_source(q_parser *p, q_source *out);
CTS_MUST_USE int q_p_sources(q_parser *p, q_source **out, uint32_t *n);
/* [WHERE expr] */
CTS_MUST_USE int q_p_where(q_parser *p, q_expr **out);
/* [<kw> <integer>] into *out (0 when absent). */
CTS_MUST_USE int q_p_opt_int(q_parser *p, q_tok kw, int64_t *out);
/* [ORDER BY [time] [ASC|DESC]] */
CTS_MUST_USE int q_p_order_by(q_parser *p, bool *desc);

/* Statement parsers: the leading keyword(s) already consumed. */
CTS_MUST_USE int q_p_select(q_parser *p, q_select *s);
CTS_MUST_USE int q_p_show(q_parser *p, q_stmt *st);
CTS_MUST_USE int q_p_create(q_parser *p, q_stmt *st);
CTS_MUST_USE int q_p_drop(q_parser *p, q_stmt *st);
CTS_MUST_USE int q_p_delete(q_parser *p, q_stmt *st, const q_token *kw);

#endif
