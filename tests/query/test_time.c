/*
 * test_time.c: q_time_parse (query/time.c).
 *
 * Property: random instants over the whole int64 nanosecond range are
 * broken into calendar fields by a naive reference (walking years and
 * months one at a time from 1970), written in every accepted form (RFC
 * 3339 with Z or an offset, the space-separated form, the bare date) and
 * parsed back to the same instant. Then the edges (leap days, the int64
 * limits) and every malformed or out-of-range field.
 */
#include "cts_test.h"

#include "query_int.h"

#include <inttypes.h>

#define NS_PER_S 1000000000LL
#define NS_PER_DAY (86400LL * NS_PER_S)

typedef struct civil {
    int64_t y, mo, d, h, mi, s, ns;
} civil;

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t month_days(int64_t y, int64_t m)
{
    static const int64_t d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* The naive reference: one year, then one month at a time. */
static civil to_civil(int64_t ts)
{
    civil c = {1970, 1, 1, 0, 0, 0, 0};
    int64_t days = ts / NS_PER_DAY, rem = ts % NS_PER_DAY;
    if (rem < 0) {
        rem += NS_PER_DAY;
        days--;
    }
    while (days < 0) {
        c.y--;
        days += leap(c.y) ? 366 : 365;
    }
    while (days >= (leap(c.y) ? 366 : 365)) {
        days -= leap(c.y) ? 366 : 365;
        c.y++;
    }
    while (days >= month_days(c.y, c.mo))
        days -= month_days(c.y, c.mo++);
    c.d = days + 1;
    c.h = rem / (3600 * NS_PER_S);
    c.mi = rem / (60 * NS_PER_S) % 60;
    c.s = rem / NS_PER_S % 60;
    c.ns = rem % NS_PER_S;
    return c;
}

static void expect_ok(const char *s, int64_t want)
{
    int64_t got = 0;
    int rc = q_time_parse(s, strlen(s), &got);
    if (rc != 0 || got != want)
        fail_msg("q_time_parse(%s) = %d, %" PRId64 "; want %" PRId64, s, rc, got, want);
}

static void expect_bad(const char *s)
{
    int64_t got = 0;
    if (q_time_parse(s, strlen(s), &got) != CTS_EPARSE)
        fail_msg("q_time_parse(%s) accepted: %" PRId64, s, got);
}

static void test_round_trip(void **state)
{
    (void)state;
    cts_rng r = {2026};
    for (int i = 0; i < 20000; i++) {
        int64_t ts = (int64_t)cts_rng_next(&r);
        if (i % 3 == 0)
            ts = 1700000000000000000LL + (int64_t)cts_rng_below(&r, 2000000000000000000ULL) -
                 1000000000000000000LL;
        civil c = to_civil(ts);
        char buf[80];
        snprintf(buf, sizeof buf,
                 "%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02" PRId64 ":%02" PRId64 ":%02" PRId64
                 ".%09" PRId64 "Z",
                 c.y, c.mo, c.d, c.h, c.mi, c.s, c.ns);
        expect_ok(buf, ts);
        buf[10] = ' ';
        buf[29] = '\0'; /* the space form, no zone */
        expect_ok(buf, ts);
        /* Trimmed fractions. */
        int64_t ns = c.ns, digits = 9;
        while (digits > 1 && ns % 10 == 0) {
            ns /= 10;
            digits--;
        }
        snprintf(buf, sizeof buf,
                 "%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02" PRId64 ":%02" PRId64 ":%02" PRId64
                 ".%0*" PRId64 "z",
                 c.y, c.mo, c.d, c.h, c.mi, c.s, (int)digits, ns);
        expect_ok(buf, ts);
        /* A bare date is midnight UTC of that day. */
        if (ts > INT64_MIN + NS_PER_DAY) {
            snprintf(buf, sizeof buf, "%04" PRId64 "-%02" PRId64 "-%02" PRId64, c.y, c.mo, c.d);
            expect_ok(buf, ts - (((ts % NS_PER_DAY) + NS_PER_DAY) % NS_PER_DAY));
        }
    }
}

static void test_offsets_and_edges(void **state)
{
    (void)state;
    expect_ok("1970-01-01T00:00:00Z", 0);
    expect_ok("1970-01-01", 0);
    expect_ok("1970-01-01 00:00:00", 0);
    expect_ok("2026-11-02T00:00:00Z", 1793577600LL * NS_PER_S);
    expect_ok("2026-11-02T01:00:00+01:00", 1793577600LL * NS_PER_S);
    expect_ok("2026-11-01T19:30:00-04:30", 1793577600LL * NS_PER_S);
    expect_ok("2026-11-02 00:00:00Z", 1793577600LL * NS_PER_S);
    expect_ok("2026-11-02 01:00:00+01:00", 1793577600LL * NS_PER_S);
    expect_ok("2024-02-29T12:00:00.5Z", (1709208000LL * NS_PER_S) + 500000000);
    expect_ok("2000-02-29", 951782400LL * NS_PER_S);
    expect_ok("1969-12-31T23:59:59.999999999Z", -1);
    expect_ok("2262-04-11T23:47:16.854775807Z", INT64_MAX);
    expect_ok("1677-09-21T00:12:43.145224192Z", INT64_MIN);
    expect_bad("2262-04-11T23:47:16.854775808Z");
    expect_bad("1677-09-21T00:12:43.145224191Z");
    expect_bad("9999-12-31");
    expect_bad("0000-01-01");
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11",
        "2026-1-02",
        "2026-11-2",
        "2026/11/02",
        "2026-13-01",
        "2026-00-01",
        "2026-11-00",
        "2026-11-31",
        "2025-02-29",
        "1900-02-29",
        "2026-11-02T",
        "2026-11-02T00:00:00",
        "2026-11-02T24:00:00Z",
        "2026-11-02T00:60:00Z",
        "2026-11-02T00:00:60Z",
        "2026-11-02T00:00Z",
        "2026-11-02T00:00:00.Z",
        "2026-11-02T00:00:00.1234567890Z",
        "2026-11-02T00:00:00+1:00",
        "2026-11-02T00:00:00+24:00",
        "2026-11-02T00:00:00+01:60",
        "2026-11-02T00:00:00+0100",
        "2026-11-02T00:00:00ZZ",
        "2026-11-02T00:00:00Z ",
        " 2026-11-02",
        "2026-11-02x",
        "2026-11-02 00:00",
        "2026-11-02  00:00:00",
        "2026-11-02 00:00:00 Z",
        "now()",
        "-2026-11-02",
        "+2026-11-02",
        "2026-11-02T0a:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad(bad[i]);
    /* The length is respected: no read past it, no NUL needed. */
    int64_t ns;
    assert_int_equal(q_time_parse("1970-01-01T00:00:00Zgarbage", 20, &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(q_time_parse("1970-01-01T00:00:00Z", 19, &ns), CTS_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_offsets_and_edges),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
