/*
 * test_lexer.c: the InfluxQL scanner (query/lexer.c).
 *
 * Token kinds, spans, lines and columns (in characters) for every token
 * class; how tokens print in error messages; unescaping of quoted tokens
 * and regexes; and a property: random token sequences, joined with random
 * blanks and comments, lex back to the same kinds and texts.
 */
#include "cts_test.h"

#include "lexer.h"

typedef struct want {
    q_tok kind;
    const char *text; /* the token's span, NULL: don't check */
    uint32_t line, col;
} want;

static void check_tokens(const char *text, const want *w, size_t n)
{
    q_lexer lx;
    q_lex_init(&lx, text, (uint32_t)strlen(text));
    for (size_t i = 0; i <= n; i++) {
        q_token t;
        q_lex_next(&lx, &t);
        if (i == n) {
            if (t.kind != QT_EOF)
                fail_msg("%s: extra token %s", text, q_tok_name(t.kind));
            return;
        }
        if (t.kind != w[i].kind)
            fail_msg("%s: token %zu is %s, want %s", text, i, q_tok_name(t.kind),
                     q_tok_name(w[i].kind));
        if (w[i].text && (t.len != strlen(w[i].text) || memcmp(text + t.off, w[i].text, t.len)))
            fail_msg("%s: token %zu is '%.*s', want '%s'", text, i, (int)t.len, text + t.off,
                     w[i].text);
        if (w[i].line && (t.line != w[i].line || t.col != w[i].col))
            fail_msg("%s: token %zu at %u:%u, want %u:%u", text, i, t.line, t.col, w[i].line,
                     w[i].col);
    }
}

#define CHECK(text, ...)                                                                           \
    do {                                                                                           \
        const want w_[] = {__VA_ARGS__};                                                           \
        check_tokens(text, w_, sizeof w_ / sizeof w_[0]);                                          \
    } while (0)

static void test_identifiers_keywords(void **state)
{
    (void)state;
    CHECK("SELECT select SeLeCt _x a1_b \"quoted id\" \"\"", {QT_SELECT, "SELECT", 1, 1},
          {QT_SELECT, "select", 1, 8}, {QT_SELECT, NULL, 1, 15}, {QT_IDENT, "_x", 1, 22},
          {QT_IDENT, "a1_b", 1, 25}, {QT_IDENT, "\"quoted id\"", 1, 30}, {QT_IDENT, "\"\"", 1, 42});
    CHECK("and OR in true FALSE key keys Values", {QT_AND, 0, 0, 0}, {QT_OR, 0, 0, 0},
          {QT_IN, 0, 0, 0}, {QT_TRUE, 0, 0, 0}, {QT_FALSE, 0, 0, 0}, {QT_KEY, 0, 0, 0},
          {QT_KEYS, 0, 0, 0}, {QT_VALUES, 0, 0, 0});
    CHECK("subscriptions destinations cardinality x", {QT_SUBSCRIPTIONS, 0, 0, 0},
          {QT_DESTINATIONS, 0, 0, 0}, {QT_CARDINALITY, 0, 0, 0}, {QT_IDENT, "x", 0, 0});
    assert_int_equal(q_tok_lookup("time", 4), QT_IDENT);
    assert_int_equal(q_tok_lookup("fill", 4), QT_IDENT);
    assert_int_equal(q_tok_lookup("Measurements", 12), QT_MEASUREMENTS);
    assert_string_equal(q_tok_name(QT_MEASUREMENTS), "MEASUREMENTS");
    assert_string_equal(q_tok_name(QT_EOF), "EOF");
    assert_string_equal(q_tok_name(QT_NEQ), "!=");
}

static void test_numbers_durations(void **state)
{
    (void)state;
    CHECK("42 1.5 .5 1e3 2.5E-2 3e+4 1. 007", {QT_INTEGER, "42", 0, 0}, {QT_NUMBER, "1.5", 0, 0},
          {QT_NUMBER, ".5", 0, 0}, {QT_NUMBER, "1e3", 0, 0}, {QT_NUMBER, "2.5E-2", 0, 0},
          {QT_NUMBER, "3e+4", 0, 0}, {QT_NUMBER, "1.", 0, 0}, {QT_INTEGER, "007", 0, 0});
    CHECK("15m 1h30m 10u 10\xc2\xb5 1w 100ns 5ms 1e 3x9", {QT_DURATIONVAL, "15m", 0, 0},
          {QT_DURATIONVAL, "1h30m", 0, 0}, {QT_DURATIONVAL, "10u", 0, 0},
          {QT_DURATIONVAL, "10\xc2\xb5", 0, 0}, {QT_DURATIONVAL, "1w", 0, 0},
          {QT_DURATIONVAL, "100ns", 0, 0}, {QT_DURATIONVAL, "5ms", 0, 0},
          {QT_DURATIONVAL, "1e", 0, 0}, {QT_DURATIONVAL, "3x9", 0, 0});
    /* A sign is always an operator: the parser folds it. */
    CHECK("-1 +2.5 now()-1h", {QT_SUB, "-", 0, 0}, {QT_INTEGER, "1", 0, 0}, {QT_ADD, 0, 0, 0},
          {QT_NUMBER, "2.5", 0, 0}, {QT_IDENT, "now", 0, 0}, {QT_LPAREN, 0, 0, 0},
          {QT_RPAREN, 0, 0, 0}, {QT_SUB, 0, 0, 0}, {QT_DURATIONVAL, "1h", 0, 0});
}

static void test_operators(void **state)
{
    (void)state;
    CHECK("= != <> < <= > >= =~ !~ + - * / % & | ^ ( ) , ; . :: :", {QT_EQ, "=", 0, 0},
          {QT_NEQ, "!=", 0, 0}, {QT_NEQ, "<>", 0, 0}, {QT_LT, "<", 0, 0}, {QT_LTE, "<=", 0, 0},
          {QT_GT, ">", 0, 0}, {QT_GTE, ">=", 0, 0}, {QT_EQREGEX, "=~", 0, 0},
          {QT_NEQREGEX, "!~", 0, 0}, {QT_ADD, 0, 0, 0}, {QT_SUB, 0, 0, 0}, {QT_MUL, 0, 0, 0},
          {QT_DIV, 0, 0, 0}, {QT_MOD, 0, 0, 0}, {QT_BITAND, 0, 0, 0}, {QT_BITOR, 0, 0, 0},
          {QT_BITXOR, 0, 0, 0}, {QT_LPAREN, 0, 0, 0}, {QT_RPAREN, 0, 0, 0}, {QT_COMMA, 0, 0, 0},
          {QT_SEMICOLON, 0, 0, 0}, {QT_DOT, 0, 0, 0}, {QT_DOUBLECOLON, "::", 0, 0},
          {QT_COLON, ":", 0, 0});
    CHECK("! @ $x \xff", {QT_ILLEGAL, "!", 1, 1}, {QT_ILLEGAL, "@", 1, 3}, {QT_ILLEGAL, "$", 1, 5},
          {QT_IDENT, "x", 1, 6}, {QT_ILLEGAL, "\xff", 1, 8});
}

static void test_strings_comments_positions(void **state)
{
    (void)state;
    /* A string is reported at the character before its quote (InfluxDB). */
    CHECK("'a' 'it\\'s' '' 'x\\\\'", {QT_STRING, "'a'", 1, 1}, {QT_STRING, "'it\\'s'", 1, 4},
          {QT_STRING, "''", 1, 12}, {QT_STRING, "'x\\\\'", 1, 15});
    CHECK("'open\nx", {QT_BADSTRING, "'open", 1, 1}, {QT_IDENT, "x", 2, 1});
    CHECK("'ab\\qc'", {QT_BADESCAPE, "\\q", 1, 5}, {QT_IDENT, "c", 1, 6},
          {QT_BADSTRING, "'", 1, 6});
    CHECK("\"id\\\"x\" \"no end", {QT_IDENT, "\"id\\\"x\"", 1, 1}, {QT_BADSTRING, NULL, 1, 8});
    CHECK("a -- comment ( '\n b /* multi\nline */ c", {QT_IDENT, "a", 1, 1}, {QT_IDENT, "b", 2, 2},
          {QT_IDENT, "c", 3, 9});
    CHECK("x /* never closed", {QT_IDENT, "x", 1, 1}, {QT_ILLEGAL, "", 1, 3});
    /* Columns count characters; CRLF and CR are one line break each. */
    CHECK("'\xc3\xa9\xe2\x82\xac' y\r\nz\rw", {QT_STRING, NULL, 1, 1}, {QT_IDENT, "y", 1, 6},
          {QT_IDENT, "z", 2, 1}, {QT_IDENT, "w", 3, 1});
    CHECK("\xf0\x9f\x98\x80 q", {QT_ILLEGAL, "\xf0\x9f\x98\x80", 1, 1}, {QT_IDENT, "q", 1, 3});
    /* ws_before: what adjacency rules in the parser rely on. */
    q_lexer lx;
    q_token t;
    q_lex_init(&lx, "f(x) g (y)", 10);
    bool ws[] = {false, false, false, false, true, true, false, false};
    for (int i = 0; i < 8; i++) {
        q_lex_next(&lx, &t);
        assert_int_equal(t.ws_before, ws[i]);
    }
}

/* Where EOF is reported: InfluxDB's reader moves one character past the
 * end once something has read the end and kept it. */
static void test_eof_position(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint32_t col;
    } cases[] = {
        {"", 1},    {"SELECT", 8},     {"SELECT *", 9}, {"x ", 4},  {"1", 2},
        {"1h", 3},  {"x /* c */", 10}, {"x -- c", 8},   {"'s'", 4}, {"\"q\"", 4},
        {"a <", 4}, {"a <=", 5},       {"a (", 4},      {"a.", 3},  {"'open", 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        q_lexer lx;
        q_token t;
        q_lex_init(&lx, cases[i].text, (uint32_t)strlen(cases[i].text));
        do {
            q_lex_next(&lx, &t);
        } while (t.kind != QT_EOF);
        if (t.col != cases[i].col)
            fail_msg("EOF of '%s' at char %u, want %u", cases[i].text, t.col, cases[i].col);
    }
    /* A peek at the end (for a regex) reads it too. */
    q_lexer lx;
    q_token t;
    q_lex_init(&lx, "a =~", 4);
    q_lex_next(&lx, &t);
    q_lex_next(&lx, &t);
    assert_false(q_lex_at_slash(&lx));
    q_lex_next(&lx, &t);
    assert_int_equal(t.kind, QT_EOF);
    assert_int_equal(t.col, 6);
}

static void test_regex(void **state)
{
    (void)state;
    q_arena a;
    q_lexer lx;
    q_token t;
    q_arena_init(&a, 0);
    const char *text = "  /a\\/b\\d+/ x /open\n/";
    q_lex_init(&lx, text, (uint32_t)strlen(text));
    assert_true(q_lex_at_slash(&lx));
    q_lex_regex(&lx, &t);
    assert_int_equal(t.kind, QT_REGEX);
    assert_int_equal(t.col, 3);
    cts_str s = q_tok_unquote(&a, text, &t);
    assert_string_equal(s.ptr, "a/b\\d+");
    assert_false(q_lex_at_slash(&lx));
    q_lex_next(&lx, &t);
    assert_int_equal(t.kind, QT_IDENT);
    assert_true(q_lex_at_slash(&lx));
    q_lex_regex(&lx, &t);
    assert_int_equal(t.kind, QT_BADREGEX);
    /* Rewind: a token can be lexed again from where it started. */
    q_lex_init(&lx, "a  b", 4);
    q_lex_next(&lx, &t);
    q_lex_next(&lx, &t);
    q_lex_rewind(&lx, &t);
    assert_int_equal(lx.pos, 1);
    q_lex_next(&lx, &t);
    assert_int_equal(t.off, 3);
    assert_true(t.ws_before);
    q_arena_fini(&a);
}

static void display(const char *text, char *out, size_t cap)
{
    q_lexer lx;
    q_token t;
    q_lex_init(&lx, text, (uint32_t)strlen(text));
    q_lex_next(&lx, &t);
    q_tok_display(text, &t, out, cap);
}

static void test_display_unquote(void **state)
{
    (void)state;
    static const struct {
        const char *text, *shown;
    } cases[] = {
        {"from", "FROM"},
        {"\"my id\"", "my id"},
        {"bare", "bare"},
        {"'str'", "str"},
        {"''", "STRING"},
        {"\"\"", "IDENT"},
        {"'cut", "cut"},
        {"'", "BADSTRING"},
        {"'a\\qb'", "\\q"},
        {"12", "12"},
        {"1.50", "1.50"},
        {"15m", "15m"},
        {"", "EOF"},
        {"<>", "!="},
        {"true", "TRUE"},
        {"@", "@"},
        {"\xff", "\xef\xbf\xbd"},
        {"'it\\'s\\n'", "it's\n"},
        {"/* x", "ILLEGAL"},
        {"::", "::"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        display(cases[i].text, out, sizeof out);
        if (strcmp(out, cases[i].shown) != 0)
            fail_msg("display(%s) = '%s', want '%s'", cases[i].text, out, cases[i].shown);
    }
    /* Cut at a character boundary. */
    display("'\xc3\xa9\xc3\xa9\xc3\xa9'", out, 4);
    assert_string_equal(out, "\xc3\xa9");

    q_arena a;
    q_arena_init(&a, 0);
    static const struct {
        const char *text, *value;
    } uq[] = {
        {"'a\\\\b\\\"c\\'d\\ne'", "a\\b\"c'd\ne"},
        {"\"x\\\"y\"", "x\"y"},
        {"plain", "plain"},
        {"'\xff\xc3\xa9'", "\xef\xbf\xbd\xc3\xa9"},
        {"''", ""},
    };
    for (size_t i = 0; i < sizeof uq / sizeof uq[0]; i++) {
        q_lexer lx;
        q_token t;
        q_lex_init(&lx, uq[i].text, (uint32_t)strlen(uq[i].text));
        q_lex_next(&lx, &t);
        cts_str s = q_tok_unquote(&a, uq[i].text, &t);
        assert_non_null(s.ptr);
        assert_int_equal(s.len, strlen(uq[i].value));
        assert_memory_equal(s.ptr, uq[i].value, s.len + 1);
    }
    q_arena_fini(&a);
}

/* Random token sequences lex back to the same tokens, whatever blanks
 * and comments separate them. */
static void test_random_sequences(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        q_tok kind;
    } pool[] = {
        {"SELECT", QT_SELECT},
        {"x", QT_IDENT},
        {"\"a b\"", QT_IDENT},
        {"'s\\'q'", QT_STRING},
        {"42", QT_INTEGER},
        {"4.2", QT_NUMBER},
        {"1h30m", QT_DURATIONVAL},
        {"=~", QT_EQREGEX},
        {"!=", QT_NEQ},
        {"<=", QT_LTE},
        {"(", QT_LPAREN},
        {")", QT_RPAREN},
        {",", QT_COMMA},
        {";", QT_SEMICOLON},
        {"::", QT_DOUBLECOLON},
        {"*", QT_MUL},
        {"/", QT_DIV},
        {"\xc3\xa9", QT_ILLEGAL},
        {"-", QT_SUB},
        {"true", QT_TRUE},
    };
    static const char *const blanks[] = {" ", "\t", "\n", "\r\n", " /* c */ ", " -- c\n", "  "};
    cts_rng r = {99};
    for (int iter = 0; iter < 2000; iter++) {
        char text[2048];
        size_t n = 0, count = 1 + cts_rng_below(&r, 30), idx[32];
        for (size_t i = 0; i < count; i++) {
            idx[i] = cts_rng_below(&r, sizeof pool / sizeof pool[0]);
            const char *b = blanks[cts_rng_below(&r, sizeof blanks / sizeof blanks[0])];
            n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", pool[idx[i]].text, b);
        }
        q_lexer lx;
        q_lex_init(&lx, text, (uint32_t)n);
        for (size_t i = 0; i < count; i++) {
            q_token t;
            q_lex_next(&lx, &t);
            assert_int_equal(t.kind, pool[idx[i]].kind);
            assert_int_equal(t.len, strlen(pool[idx[i]].text));
            assert_memory_equal(text + t.off, pool[idx[i]].text, t.len);
        }
        q_token end;
        q_lex_next(&lx, &end);
        assert_int_equal(end.kind, QT_EOF);
    }
}

/* Any bytes: tokens tile the text in order, never past its end. */
static void test_random_bytes(void **state)
{
    (void)state;
    cts_rng r = {5};
    for (int iter = 0; iter < 3000; iter++) {
        char text[64];
        size_t n = cts_rng_below(&r, sizeof text);
        for (size_t i = 0; i < n; i++)
            text[i] = "ab1.'\"\\/*-=~!<>():\n\r \xc3\xa9\x80\xff"[cts_rng_below(&r, 26)];
        q_lexer lx;
        q_lex_init(&lx, text, (uint32_t)n);
        uint32_t last = 0;
        for (int k = 0; k < 200; k++) {
            q_token t;
            q_lex_next(&lx, &t);
            assert_true(t.off >= last && t.off + t.len <= n);
            assert_true(t.line >= 1 && t.col >= 1);
            last = t.off + t.len;
            char shown[32];
            q_tok_display(text, &t, shown, sizeof shown);
            if (t.kind == QT_EOF)
                break;
            assert_true(t.len > 0 || t.kind == QT_ILLEGAL);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identifiers_keywords),
        cmocka_unit_test(test_numbers_durations),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_strings_comments_positions),
        cmocka_unit_test(test_eof_position),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_display_unquote),
        cmocka_unit_test(test_random_sequences),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
