/*
 * check.c: parsing without running (cts_query_check) and the interactive
 * shell's "is this statement finished?" test (cts_query_incomplete).
 *
 * cts_query_incomplete is a small scanner of its own, not the lexer: it
 * only tracks what can still be open at the end of the text (a 'string',
 * a "quoted identifier", a /regex/ after =~ or !~, a block comment, an
 * open parenthesis), and it must say "complete" for any text the parser
 * would reject for other reasons, so the shell reports the error instead
 * of waiting for more lines.
 */
#include "query_int.h"

int cts_query_check(const char *text, size_t len, cts_query_error *err)
{
    q_arena a;
    q_query q;
    if (!text && len)
        return CTS_EINVAL;
    q_arena_init(&a, 0);
    int rc = q_parse(&a, text ? text : "", len, &q, err);
    q_arena_fini(&a);
    return rc;
}

bool cts_query_writes(const char *text, size_t len)
{
    q_arena a;
    q_query q;
    cts_query_error err;
    bool writes = false;
    q_arena_init(&a, 0);
    if (text && q_parse(&a, text, len, &q, &err) == 0)
        for (uint32_t i = 0; i < q.count; i++)
            writes |= q.stmts[i].kind >= Q_CREATE_DATABASE;
    q_arena_fini(&a);
    return writes;
}

typedef enum open_state {
    ST_NONE = 0,
    ST_STRING,   /* inside '...' */
    ST_IDENT,    /* inside "..." */
    ST_REGEX,    /* inside /.../ */
    ST_COMMENT,  /* inside a block comment */
    ST_LINE_CMT, /* inside -- ... (ends at a line break) */
} open_state;

/* After =~ or !~ (and blanks) a '/' opens a regex. */
static bool regex_may_start(const char *t, size_t i)
{
    while (i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\t' || t[i - 1] == '\n' || t[i - 1] == '\r'))
        i--;
    return i >= 2 && t[i - 1] == '~' && (t[i - 2] == '=' || t[i - 2] == '!');
}

/* One character outside of any quoted state; returns the new state. */
static open_state plain_char(const char *t, size_t len, size_t *i, long *depth)
{
    char c = t[*i], n = *i + 1 < len ? t[*i + 1] : '\0';
    switch (c) {
    case '\'':
        return ST_STRING;
    case '"':
        return ST_IDENT;
    case '(':
        (*depth)++;
        return ST_NONE;
    case ')':
        (*depth)--;
        return ST_NONE;
    case '-':
        if (n == '-') {
            (*i)++;
            return ST_LINE_CMT;
        }
        return ST_NONE;
    case '/':
        if (n == '*') {
            (*i)++;
            return ST_COMMENT;
        }
        return regex_may_start(t, *i) ? ST_REGEX : ST_NONE;
    default:
        return ST_NONE;
    }
}

bool cts_query_incomplete(const char *text, size_t len)
{
    open_state st = ST_NONE;
    long depth = 0;
    if (!text)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i], n = i + 1 < len ? text[i + 1] : '\0';
        switch (st) {
        case ST_NONE:
            st = plain_char(text, len, &i, &depth);
            break;
        case ST_STRING:
        case ST_IDENT:
        case ST_REGEX:
            if (c == '\\')
                i++;
            else if (c == (st == ST_STRING ? '\'' : st == ST_IDENT ? '"' : '/'))
                st = ST_NONE;
            break;
        case ST_COMMENT:
            if (c == '*' && n == '/') {
                i++;
                st = ST_NONE;
            }
            break;
        case ST_LINE_CMT:
            if (c == '\n' || c == '\r')
                st = ST_NONE;
            break;
        }
    }
    return (st != ST_NONE && st != ST_LINE_CMT) || depth > 0;
}
