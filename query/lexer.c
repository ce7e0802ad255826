/*
 * lexer.c: the InfluxQL scanner (see lexer.h for the contract).
 *
 * A hand-written state machine over UTF-8 text that mirrors InfluxDB 1.x's
 * scanner.go, so that the same text splits into the same tokens and error
 * messages can name tokens as InfluxDB does. Where it deliberately differs:
 *   - an exponent (1e3, 2.5E-2) makes a float; InfluxDB lexes "1e3" as a
 *     bad duration;
 *   - a NUL byte is an illegal character (InfluxDB stops at it as if the
 *     text ended there);
 *   - "$param" bound parameters are not recognised ('$' is illegal).
 *
 * The position of EOF follows InfluxDB's reader too: the first read of
 * the end of the text reports the column after the last character and
 * moves the column on by one, so any later read reports one more. A bare
 * identifier or keyword, a run of blanks or a line comment that ends the
 * text reads the end and keeps it (so "SELECT" fails at char 8, not 7); a
 * number or an operator that looked one character ahead puts it back (so
 * "SELECT *" fails at char 9). eof_* in q_lexer model exactly that.
 *
 * Invariants: pos never passes len; every token's span lies inside the
 * text; line/col always describe pos. Nothing here allocates.
 */
#include "lexer.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * Characters.
 * ------------------------------------------------------------------------ */

/* Decode the code point at s[0..n) (n > 0) into *cp; returns its byte
 * length. An invalid sequence decodes as one byte of U+FFFD. */
static uint32_t utf8_decode(const unsigned char *s, uint32_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    uint32_t need, v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 1, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3, v = c & 0x07, min = 0x10000;
    } else {
        goto bad;
    }
    if (n < need + 1)
        goto bad;
    for (uint32_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto bad;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        goto bad;
    *cp = v;
    return need + 1;
bad:
    *cp = 0xFFFD;
    return 1;
}

/* The character at pos: '\r' and "\r\n" read as '\n'; *bytes its length.
 * EOF reads as -1 with 0 bytes. */
static int32_t peek_at(const q_lexer *lx, uint32_t pos, uint32_t *bytes)
{
    if (pos >= lx->len) {
        *bytes = 0;
        return -1;
    }
    const unsigned char *s = (const unsigned char *)lx->text + pos;
    if (s[0] == '\r') {
        *bytes = (pos + 1 < lx->len && s[1] == '\n') ? 2 : 1;
        return '\n';
    }
    uint32_t cp;
    *bytes = utf8_decode(s, lx->len - pos, &cp);
    return (int32_t)cp;
}

static int32_t peek(const q_lexer *lx)
{
    uint32_t b;
    return peek_at(lx, lx->pos, &b);
}

/* The character after the current one. */
static int32_t peek2(const q_lexer *lx)
{
    uint32_t b;
    if (peek_at(lx, lx->pos, &b) < 0)
        return -1;
    return peek_at(lx, lx->pos + b, &b);
}

/* Consume one character; returns it (-1 at EOF, nothing consumed). */
static int32_t advance(q_lexer *lx)
{
    uint32_t b;
    int32_t c = peek_at(lx, lx->pos, &b);
    if (c < 0)
        return c;
    lx->pos += b;
    lx->prev_line = lx->line;
    lx->prev_col = lx->col;
    if (c == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    return c;
}

static bool is_letter(int32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int32_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_char(int32_t c)
{
    return is_letter(c) || is_digit(c) || c == '_';
}

static bool is_ws(int32_t c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

#define MICRO 0xB5 /* µ, a duration unit */

/* The end of the text was read and kept. */
static void eof_consume(q_lexer *lx)
{
    if (lx->pos < lx->len)
        return;
    if (lx->eof_buffered)
        lx->eof_buffered = false;
    else
        lx->eof_read = true;
}

/* The end of the text was read and put back. */
static void eof_peek(q_lexer *lx)
{
    if (lx->pos < lx->len || lx->eof_buffered)
        return;
    lx->eof_buffered = true;
    lx->eof_buffered_bump = lx->eof_read ? 1 : 0;
    lx->eof_read = true;
}

/* The column at which an EOF token is reported (the token reads the end). */
static uint32_t eof_col(q_lexer *lx)
{
    uint32_t bump = lx->eof_read ? 1 : 0;
    if (lx->eof_buffered) {
        bump = lx->eof_buffered_bump;
        lx->eof_buffered = false;
    }
    lx->eof_read = true;
    return lx->col + bump;
}

/* ------------------------------------------------------------------------
 * Token names and keywords.
 * ------------------------------------------------------------------------ */
#define Q_KW_NAME(k) #k,
static const char *const keyword_names[] = {Q_KEYWORDS(Q_KW_NAME)};
#undef Q_KW_NAME

static const char *const tok_names[QT_KW_FIRST_] = {
    [QT_ILLEGAL] = "ILLEGAL",
    [QT_EOF] = "EOF",
    [QT_IDENT] = "IDENT",
    [QT_NUMBER] = "NUMBER",
    [QT_INTEGER] = "INTEGER",
    [QT_DURATIONVAL] = "DURATIONVAL",
    [QT_STRING] = "STRING",
    [QT_BADSTRING] = "BADSTRING",
    [QT_BADESCAPE] = "BADESCAPE",
    [QT_TRUE] = "TRUE",
    [QT_FALSE] = "FALSE",
    [QT_REGEX] = "REGEX",
    [QT_BADREGEX] = "BADREGEX",
    [QT_ADD] = "+",
    [QT_SUB] = "-",
    [QT_MUL] = "*",
    [QT_DIV] = "/",
    [QT_MOD] = "%",
    [QT_BITAND] = "&",
    [QT_BITOR] = "|",
    [QT_BITXOR] = "^",
    [QT_AND] = "AND",
    [QT_OR] = "OR",
    [QT_IN] = "IN",
    [QT_EQ] = "=",
    [QT_NEQ] = "!=",
    [QT_EQREGEX] = "=~",
    [QT_NEQREGEX] = "!~",
    [QT_LT] = "<",
    [QT_LTE] = "<=",
    [QT_GT] = ">",
    [QT_GTE] = ">=",
    [QT_LPAREN] = "(",
    [QT_RPAREN] = ")",
    [QT_COMMA] = ",",
    [QT_COLON] = ":",
    [QT_DOUBLECOLON] = "::",
    [QT_SEMICOLON] = ";",
    [QT_DOT] = ".",
};

const char *q_tok_name(q_tok k)
{
    if (k > QT_KW_FIRST_ && k < QT_COUNT_)
        return keyword_names[k - QT_KW_FIRST_ - 1];
    if (k < QT_KW_FIRST_ && tok_names[k])
        return tok_names[k];
    return "ILLEGAL";
}

bool q_tok_is_operator(q_tok k)
{
    return k >= QT_ADD && k <= QT_GTE;
}

static bool eq_nocase(const char *s, size_t len, const char *kw)
{
    size_t i = 0;
    for (; i < len && kw[i]; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != kw[i])
            return false;
    }
    return i == len && kw[i] == '\0';
}

q_tok q_tok_lookup(const char *s, size_t len)
{
    static const struct {
        const char *name;
        q_tok kind;
    } extra[] = {
        {"AND", QT_AND}, {"OR", QT_OR}, {"IN", QT_IN}, {"TRUE", QT_TRUE}, {"FALSE", QT_FALSE}};
    if (len < 2 || len > 13)
        return QT_IDENT;
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (eq_nocase(s, len, extra[i].name))
            return extra[i].kind;
    for (size_t i = 0; i < sizeof keyword_names / sizeof keyword_names[0]; i++)
        if (eq_nocase(s, len, keyword_names[i]))
            return (q_tok)(QT_KW_FIRST_ + 1 + i);
    return QT_IDENT;
}

/* ------------------------------------------------------------------------
 * Scanning.
 * ------------------------------------------------------------------------ */
void q_lex_init(q_lexer *lx, const char *text, uint32_t len)
{
    lx->text = text;
    lx->len = len;
    lx->pos = 0;
    lx->line = 1;
    lx->col = 1;
    lx->prev_line = 1;
    lx->prev_col = 1;
    lx->eof_read = false;
    lx->eof_buffered = false;
    lx->eof_buffered_bump = 0;
}

void q_lex_rewind(q_lexer *lx, const q_token *t)
{
    lx->pos = t->pre_off;
    lx->line = t->pre_line;
    lx->col = t->pre_col;
}

static void tok_start(const q_lexer *lx, q_token *t, q_tok kind)
{
    t->kind = kind;
    t->off = lx->pos;
    t->len = 0;
    t->line = lx->line;
    t->col = lx->col;
}

static void tok_end(const q_lexer *lx, q_token *t)
{
    t->len = lx->pos - t->off;
}

/* Skip blanks and comments. Returns false at an unterminated block
 * comment (t is then that ILLEGAL token). */
static bool skip_blanks(q_lexer *lx, q_token *t)
{
    for (;;) {
        int32_t c = peek(lx);
        if (is_ws(c)) {
            advance(lx);
            eof_consume(lx); /* InfluxDB reads blanks up to what follows */
        } else if (c == '-' && peek2(lx) == '-') {
            while ((c = advance(lx)) >= 0 && c != '\n')
                ;
            eof_consume(lx);
        } else if (c == '/' && peek2(lx) == '*') {
            tok_start(lx, t, QT_ILLEGAL);
            advance(lx);
            advance(lx);
            for (;;) {
                c = advance(lx);
                if (c < 0)
                    return false; /* len 0: printed as "ILLEGAL" */
                if (c == '*' && peek(lx) == '/') {
                    advance(lx);
                    break;
                }
            }
        } else {
            return true;
        }
        t->ws_before = true;
    }
}

/* A quoted string or identifier; the opening quote is current. */
static void scan_quoted(q_lexer *lx, q_token *t, q_tok kind)
{
    int32_t quote = advance(lx);
    for (;;) {
        int32_t c = peek(lx);
        if (c == quote) {
            advance(lx);
            t->kind = kind;
            break;
        }
        if (c < 0 || c == '\n') {
            t->kind = QT_BADSTRING;
            eof_consume(lx);
            break;
        }
        if (c != '\\') {
            advance(lx);
            continue;
        }
        uint32_t bs_off = lx->pos;
        advance(lx);
        c = peek(lx);
        if (c == 'n' || c == '\\' || c == '"' || c == '\'') {
            advance(lx);
            continue;
        }
        /* InfluxDB reports a bad escape at the character after the '\'. */
        t->kind = QT_BADESCAPE;
        t->off = bs_off;
        t->line = lx->line;
        t->col = lx->col;
        if (c >= 0 && c != '\n')
            advance(lx);
        t->len = lx->pos - bs_off;
        return;
    }
    tok_end(lx, t);
}

static void scan_digits(q_lexer *lx)
{
    while (is_digit(peek(lx)))
        advance(lx);
}

/* An exponent "e[+-]digits" at pos? */
static bool at_exponent(const q_lexer *lx)
{
    const char *s = lx->text + lx->pos;
    uint32_t n = lx->len - lx->pos;
    if (n < 2 || (s[0] != 'e' && s[0] != 'E'))
        return false;
    if (s[1] == '+' || s[1] == '-')
        return n >= 3 && is_digit(s[2]);
    return is_digit(s[1]);
}

static void scan_exponent(q_lexer *lx)
{
    advance(lx);
    if (peek(lx) == '+' || peek(lx) == '-')
        advance(lx);
    scan_digits(lx);
}

/* A number or duration: digits, or '.' then a digit, is current. */
static void scan_number(q_lexer *lx, q_token *t)
{
    scan_digits(lx);
    if (peek(lx) == '.') {
        advance(lx);
        scan_digits(lx);
        if (at_exponent(lx))
            scan_exponent(lx);
        t->kind = QT_NUMBER;
    } else if (at_exponent(lx)) {
        scan_exponent(lx);
        t->kind = QT_NUMBER;
    } else if (is_letter(peek(lx)) || peek(lx) == MICRO) {
        /* InfluxDB takes letters, then letters and digits, as one duration
         * token ("1h30m"); validity is checked when it is parsed. */
        while (is_letter(peek(lx)) || peek(lx) == MICRO || is_digit(peek(lx)))
            advance(lx);
        t->kind = QT_DURATIONVAL;
    } else {
        t->kind = QT_INTEGER;
    }
    tok_end(lx, t);
    eof_peek(lx); /* a number looks one character ahead and puts it back */
}

/* One- and two-character operators and punctuation; false if c starts none. */
static bool scan_operator(q_lexer *lx, q_token *t, int32_t c)
{
    static const struct {
        char c1, c2;
        q_tok kind;
    } ops[] = {
        {'=', '~', QT_EQREGEX},
        {'!', '=', QT_NEQ},
        {'!', '~', QT_NEQREGEX},
        {'>', '=', QT_GTE},
        {'<', '=', QT_LTE},
        {'<', '>', QT_NEQ},
        {':', ':', QT_DOUBLECOLON},
        {'+', 0, QT_ADD},
        {'-', 0, QT_SUB},
        {'*', 0, QT_MUL},
        {'/', 0, QT_DIV},
        {'%', 0, QT_MOD},
        {'&', 0, QT_BITAND},
        {'|', 0, QT_BITOR},
        {'^', 0, QT_BITXOR},
        {'=', 0, QT_EQ},
        {'>', 0, QT_GT},
        {'<', 0, QT_LT},
        {'(', 0, QT_LPAREN},
        {')', 0, QT_RPAREN},
        {',', 0, QT_COMMA},
        {';', 0, QT_SEMICOLON},
        {':', 0, QT_COLON},
        {'.', 0, QT_DOT},
    };
    int32_t c2 = peek2(lx);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (ops[i].c1 != c || (ops[i].c2 && ops[i].c2 != c2))
            continue;
        t->kind = ops[i].kind;
        advance(lx);
        if (ops[i].c2)
            advance(lx);
        else if (strchr("-/=!<>:.", (char)c))
            eof_peek(lx); /* these look one character ahead */
        tok_end(lx, t);
        return true;
    }
    return false;
}

static void scan_token(q_lexer *lx, q_token *t)
{
    int32_t c = peek(lx);
    tok_start(lx, t, QT_EOF);
    if (c < 0) {
        t->col = eof_col(lx);
        return;
    }
    if (is_letter(c) || c == '_') {
        while (is_ident_char(peek(lx)))
            advance(lx);
        tok_end(lx, t);
        eof_consume(lx); /* a bare name reads what follows and keeps the end */
        t->kind = q_tok_lookup(lx->text + t->off, t->len);
    } else if (is_digit(c) || (c == '.' && is_digit(peek2(lx)))) {
        scan_number(lx, t);
    } else if (c == '"' || c == '\'') {
        /* InfluxDB reports a string (and a quoted identifier cut short) at
         * the character before its opening quote: its scanner puts the
         * quote back and asks for the current position. */
        uint32_t prev_line = lx->prev_line, prev_col = lx->prev_col;
        scan_quoted(lx, t, c == '"' ? QT_IDENT : QT_STRING);
        if (t->kind == QT_STRING || t->kind == QT_BADSTRING) {
            t->line = t->off ? prev_line : 1;
            t->col = t->off ? prev_col : 1;
        }
    } else if (!scan_operator(lx, t, c)) {
        advance(lx);
        tok_end(lx, t);
        t->kind = QT_ILLEGAL;
    }
}

void q_lex_next(q_lexer *lx, q_token *t)
{
    t->pre_off = lx->pos;
    t->pre_line = lx->line;
    t->pre_col = lx->col;
    t->ws_before = false;
    if (!skip_blanks(lx, t))
        return;
    scan_token(lx, t);
}

bool q_lex_at_slash(q_lexer *lx)
{
    while (is_ws(peek(lx)))
        advance(lx);
    eof_consume(lx);
    return peek(lx) == '/';
}

int q_lex_peek_byte(q_lexer *lx)
{
    eof_consume(lx);
    return lx->pos < lx->len ? (unsigned char)lx->text[lx->pos] : -1;
}

void q_lex_regex(q_lexer *lx, q_token *t)
{
    t->pre_off = lx->pos;
    t->pre_line = lx->line;
    t->pre_col = lx->col;
    t->ws_before = false;
    tok_start(lx, t, QT_BADREGEX);
    advance(lx); /* the opening '/' */
    for (;;) {
        int32_t c = peek(lx);
        if (c < 0 || c == '\n') {
            eof_consume(lx);
            break;
        }
        advance(lx);
        if (c == '/') {
            t->kind = QT_REGEX;
            break;
        }
        if (c == '\\' && peek(lx) == '/')
            advance(lx);
    }
    tok_end(lx, t);
}

/* ------------------------------------------------------------------------
 * Token text.
 * ------------------------------------------------------------------------ */

/* Write the unescaped content of a quoted token (or a regex) to dst
 * (at most cap bytes); returns the full length. */
static size_t unescape(const char *text, const q_token *t, char *dst, size_t cap)
{
    q_lexer lx;
    q_lex_init(&lx, text, t->off + t->len);
    lx.pos = t->off;
    int32_t quote = advance(&lx);
    bool regex = t->kind == QT_REGEX || t->kind == QT_BADREGEX;
    size_t n = 0;
    for (;;) {
        uint32_t start = lx.pos, b;
        int32_t c = peek_at(&lx, lx.pos, &b);
        if (c < 0 || c == quote)
            break;
        advance(&lx);
        const char *src = text + start;
        size_t len = lx.pos - start;
        char one = 0;
        if (c == '\\' && regex && peek(&lx) == '/') {
            advance(&lx);
            src = "/", len = 1;
        } else if (c == '\\' && !regex) {
            int32_t e = advance(&lx);
            one = e == 'n' ? '\n' : (char)e;
            src = &one, len = 1;
        } else if (c == 0xFFFD && b == 1) {
            src = "\xEF\xBF\xBD", len = 3;
        } else if (c == '\n') {
            src = "\n", len = 1; /* CRLF inside a token cannot happen; be safe */
        }
        for (size_t i = 0; i < len; i++, n++)
            if (n < cap)
                dst[n] = src[i];
    }
    return n;
}

cts_str q_tok_unquote(q_arena *a, const char *text, const q_token *t)
{
    bool quoted = t->kind == QT_STRING || t->kind == QT_BADSTRING || t->kind == QT_REGEX ||
                  t->kind == QT_BADREGEX || (t->kind == QT_IDENT && text[t->off] == '"');
    if (!quoted)
        return q_arena_strdup(a, text + t->off, t->len);
    size_t n = unescape(text, t, NULL, 0);
    cts_str out = q_arena_strdup(a, "", 0);
    if (n == 0 || !out.ptr)
        return out;
    char *p = q_arena_alloc(a, n + 1);
    if (!p) {
        out.ptr = NULL;
        return out;
    }
    unescape(text, t, p, n);
    p[n] = '\0';
    out.ptr = p;
    out.len = (uint32_t)n;
    return out;
}

/* Copy src[0..len) to dst, cut at a character boundary to fit. */
static void copy_cut(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

void q_tok_display(const char *text, const q_token *t, char *dst, size_t cap)
{
    char buf[256];
    size_t n = 0;
    const char *src = buf;
    switch (t->kind) {
    case QT_IDENT:
    case QT_STRING:
    case QT_BADSTRING:
        n = unescape(text, t, buf, sizeof buf);
        n = n > sizeof buf ? sizeof buf : n;
        if (t->kind == QT_IDENT && text[t->off] != '"')
            src = text + t->off, n = t->len;
        break;
    case QT_ILLEGAL:
        if (t->len == 1 && (unsigned char)text[t->off] >= 0x80)
            src = "\xEF\xBF\xBD", n = 3;
        else if (t->len == 1 && text[t->off] == '\0')
            src = "\\x00", n = 4; /* a NUL would cut the message */
        else
            src = text + t->off, n = t->len;
        break;
    case QT_NUMBER:
    case QT_INTEGER:
    case QT_DURATIONVAL:
    case QT_BADESCAPE:
        src = text + t->off, n = t->len;
        break;
    default:
        break;
    }
    if (n == 0)
        src = q_tok_name(t->kind), n = strlen(src);
    copy_cut(dst, cap, src, n);
}
