/*
 * csv_value.c: one CSV cell to one value, strictly.
 *
 * Why strict: a CSV file is usually written by a spreadsheet or a script
 * nobody reviews, and a value that is silently read as something else
 * (" 12" as 12, "12abc" as 12, "1e999" as infinity, 2026-02-30 as March 2)
 * corrupts a series for good. So every cell must match its grammar whole,
 * and every narrowing step (digits to int64, a date to nanoseconds) is
 * range-checked; a cell that fails makes its row a bad row.
 *
 * Floats: the grammar -?(D+(.D*)?|.D+)([eE][+-]?D+)? is checked here; the
 * value is then exactly strtod's. Most sensor readings ("21.4") have at
 * most 15 significant digits and a small exponent, and then one IEEE
 * multiplication or division of two exact doubles is correctly rounded
 * (Clinger's fast path), which is what a correct strtod returns; anything
 * else goes to strtod_l in the C locale, on the cell in place (the reader
 * keeps every cell NUL-terminated).
 *
 * Times: RFC 3339 is read by a hand-written lexer with fixed positions
 * (YYYY-MM-DD, then 'T', 't' or ' ', then HH:MM:SS, an optional fraction
 * of 1 to 9 digits, then 'Z', 'z' or +hh:mm / -hh:mm), checked against the
 * calendar (leap years included; no leap seconds), and converted with the
 * days-from-civil algorithm; epochs are integers scaled with an overflow
 * check. Either way the result must lie in [CTS_LP_MIN_NS, CTS_LP_MAX_NS].
 */
#include "csv_int.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ------------------------------------------------------------------------
 * Floats.
 * ------------------------------------------------------------------------ */

/* The C locale, so that strtod reads '.' whatever setlocale did. glibc
 * returns a static object for "C"; set up once per process. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double strtod_c(const char *s)
{
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale ? strtod_l(s, NULL, c_locale) : strtod(s, NULL);
}

/* The decimal digits of a float, as far as the fast path needs them. */
typedef struct dec {
    uint64_t m;    /* up to 19 significant digits */
    int32_t e10;   /* value = m * 10^e10 when exact */
    uint32_t nsig; /* significant digits kept in m */
    bool exact;    /* no significant digit was dropped */
    bool any;      /* at least one mantissa digit */
} dec;

/* Digits at s[*i...]: up to 19 significant ones go to m; fraction digits
 * lower the exponent, dropped integer digits raise it. */
static void dec_digits(const char *s, size_t *i, dec *d, bool fraction)
{
    for (; is_digit(s[*i]); (*i)++) {
        unsigned v = (unsigned)(s[*i] - '0');
        d->any = true;
        if (d->nsig == 0 && v == 0) {
            d->e10 -= fraction; /* a leading zero */
        } else if (d->nsig < 19) {
            d->m = d->m * 10 + v;
            d->nsig++;
            d->e10 -= fraction;
        } else {
            d->exact = d->exact && v == 0;
            d->e10 += !fraction;
        }
    }
}

/* [eE][+-]?D+ at s[*i]: adds it to d->e10 (clamped, then the fast path
 * is off); false when the exponent has no digit. */
static bool dec_exponent(const char *s, size_t *i, dec *d)
{
    size_t j = *i + 1;
    bool neg = s[j] == '-';
    j += s[j] == '-' || s[j] == '+';
    if (!is_digit(s[j]))
        return false;
    int32_t e = 0;
    for (; is_digit(s[j]); j++)
        e = e < 100000 ? e * 10 + (s[j] - '0') : e;
    d->e10 += neg ? -e : e;
    *i = j;
    return true;
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

const char *csv_parse_float(const char *s, size_t n, double *out)
{
    dec d = {.exact = true};
    size_t i = s[0] == '-';
    dec_digits(s, &i, &d, false);
    if (s[i] == '.') {
        i++;
        dec_digits(s, &i, &d, true);
    }
    if (!d.any || ((s[i] == 'e' || s[i] == 'E') && !dec_exponent(s, &i, &d)) || i != n)
        return "invalid float";
    double v;
    if (d.exact && d.m < (1ull << 53) && d.e10 >= -22 && d.e10 <= 22) {
        v = (double)d.m;
        v = d.e10 < 0 ? v / pow10_exact[-d.e10] : v * pow10_exact[d.e10];
        v = s[0] == '-' ? -v : v;
    } else {
        v = strtod_c(s);
    }
    if (isinf(v))
        return "float out of range";
    *out = v;
    return NULL;
}

/* ------------------------------------------------------------------------
 * Integers and booleans.
 * ------------------------------------------------------------------------ */

typedef enum num_res { NUM_OK, NUM_SYNTAX, NUM_RANGE } num_res;

/* s[i..n) as D+ into *v, at most max. A too large value of digits only is
 * NUM_RANGE; anything but digits (or nothing) is NUM_SYNTAX. */
static num_res digits_upto(const char *s, size_t i, size_t n, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    num_res res = i < n ? NUM_OK : NUM_SYNTAX;
    for (; i < n; i++) {
        if (!is_digit(s[i]))
            return NUM_SYNTAX;
        unsigned dgt = (unsigned)(s[i] - '0');
        if (x > (max - dgt) / 10)
            res = NUM_RANGE; /* keep going: a later non-digit makes it a syntax error */
        else
            x = x * 10 + dgt;
    }
    *v = x;
    return res;
}

/* -?D+ within int64. */
static num_res int_parse(const char *s, size_t n, int64_t *out)
{
    bool neg = s[0] == '-';
    uint64_t v;
    num_res res = digits_upto(s, neg, n, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v);
    /* -(2^63) has no positive int64: negate in unsigned arithmetic. */
    if (res == NUM_OK)
        *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return res;
}

const char *csv_parse_int(const char *s, size_t n, int64_t *out)
{
    num_res res = int_parse(s, n, out);
    return res == NUM_OK ? NULL : res == NUM_RANGE ? "integer out of range" : "invalid integer";
}

const char *csv_parse_uint(const char *s, size_t n, uint64_t *out)
{
    num_res res = digits_upto(s, 0, n, UINT64_MAX, out);
    if (res == NUM_OK)
        return NULL;
    return res == NUM_RANGE ? "unsigned integer out of range" : "invalid unsigned integer";
}

static bool word_is(const char *s, size_t n, const char *w)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != w[i])
            return false;
    return w[n] == '\0';
}

/* The spellings of line protocol (InfluxDB's ParseBool subset). */
const char *csv_parse_bool(const char *s, size_t n, uint8_t *out)
{
    static const char *const yes[] = {"t", "T", "true", "True", "TRUE"};
    static const char *const no[] = {"f", "F", "false", "False", "FALSE"};
    for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++) {
        if (word_is(s, n, yes[k])) {
            *out = 1;
            return NULL;
        }
        if (word_is(s, n, no[k])) {
            *out = 0;
            return NULL;
        }
    }
    return "invalid boolean";
}

/* ------------------------------------------------------------------------
 * Times.
 * ------------------------------------------------------------------------ */

/* Two digits at s (the NUL sentinel stops at the end). */
static bool two_digits(const char *s, int *v)
{
    if (!is_digit(s[0]) || !is_digit(s[1]))
        return false;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return true;
}

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : dim[m - 1];
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* A broken-down RFC 3339 time. */
typedef struct rfc_time {
    int year, month, day, hour, min, sec;
    int64_t frac_ns;
    int offset_s; /* east of UTC */
} rfc_time;

/* YYYY-MM-DD?HH:MM:SS at s; the position after it in *i. */
static const char *rfc_date_time(const char *s, size_t *i, rfc_time *t)
{
    int y1, y2;
    if (!two_digits(s, &y1) || !two_digits(s + 2, &y2) || s[4] != '-' ||
        !two_digits(s + 5, &t->month) || s[7] != '-' || !two_digits(s + 8, &t->day))
        return "expected YYYY-MM-DD at byte 1";
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return "expected 'T' at byte 11";
    if (!two_digits(s + 11, &t->hour) || s[13] != ':' || !two_digits(s + 14, &t->min) ||
        s[16] != ':' || !two_digits(s + 17, &t->sec))
        return "expected HH:MM:SS at byte 12";
    t->year = y1 * 100 + y2;
    *i = 19;
    return NULL;
}

/* An optional .D{1,9} at s[*i]. */
static const char *rfc_fraction(const char *s, size_t *i, rfc_time *t)
{
    if (s[*i] != '.')
        return NULL;
    size_t j = *i + 1, k = 0;
    int64_t f = 0;
    for (; is_digit(s[j]); j++, k++)
        if (k < 9)
            f = f * 10 + (s[j] - '0');
    if (k == 0)
        return "no digit after '.'";
    if (k > 9)
        return "more than 9 fractional digits";
    for (; k < 9; k++)
        f *= 10;
    t->frac_ns = f;
    *i = j;
    return NULL;
}

/* 'Z', 'z' or [+-]hh:mm at s[*i]. */
static const char *rfc_zone(const char *s, size_t *i, rfc_time *t)
{
    char c = s[*i];
    if (c == 'Z' || c == 'z') {
        (*i)++;
        return NULL;
    }
    if (c != '+' && c != '-')
        return c ? "expected 'Z' or an offset (+hh:mm, -hh:mm) after the seconds"
                 : "missing time zone ('Z' or +hh:mm, -hh:mm)";
    int h, m;
    if (!two_digits(s + *i + 1, &h) || s[*i + 3] != ':' || !two_digits(s + *i + 4, &m))
        return "invalid time zone offset (expected +hh:mm or -hh:mm)";
    if (h > 23 || m > 59)
        return "time zone offset out of range";
    t->offset_s = (c == '-' ? -1 : 1) * (h * 3600 + m * 60);
    *i += 6;
    return NULL;
}

static const char *rfc_check(const rfc_time *t)
{
    if (t->month < 1 || t->month > 12)
        return "month out of range";
    if (t->day < 1 || t->day > days_in_month(t->year, t->month))
        return "day out of range";
    if (t->hour > 23)
        return "hour out of range";
    if (t->min > 59)
        return "minute out of range";
    if (t->sec > 59)
        return "second out of range";
    return NULL;
}

static bool ns_in_range(int64_t ns)
{
    return ns >= CTS_LP_MIN_NS && ns <= CTS_LP_MAX_NS;
}

static const char *parse_rfc3339(const char *s, size_t n, int64_t *ns, const char **detail)
{
    rfc_time t = {0};
    size_t i = 0;
    /* Fixed positions read at most 20 bytes; the NUL stops them early. */
    if ((*detail = rfc_date_time(s, &i, &t)) || (*detail = rfc_fraction(s, &i, &t)) ||
        (*detail = rfc_zone(s, &i, &t)))
        return "invalid RFC 3339 time";
    if (i != n) {
        *detail = "unexpected bytes after the time zone";
        return "invalid RFC 3339 time";
    }
    if ((*detail = rfc_check(&t)))
        return "invalid RFC 3339 time";
    int64_t secs = days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.min * 60 +
                   t.sec - t.offset_s;
    int64_t v, frac = t.frac_ns;
    if (secs < 0 && frac > 0) { /* the lowest times only fit as (secs + 1) s - (1 s - frac) */
        secs++;
        frac -= 1000000000;
    }
    if (__builtin_mul_overflow(secs, (int64_t)1000000000, &v) ||
        __builtin_add_overflow(v, frac, &v) || !ns_in_range(v)) {
        *detail = "outside 1677-09-21T00:12:43Z .. 2262-04-11T23:47:16Z";
        return "RFC 3339 time out of range";
    }
    *ns = v;
    return NULL;
}

static const char *parse_epoch(const char *s, size_t n, cts_csv_time_format fmt, int64_t *ns,
                               const char **detail)
{
    static const int64_t unit_ns[] = {1, 1000000000, 1000000, 1000, 1};
    static const char *const expect[] = {
        "", "expected an integer of seconds", "expected an integer of milliseconds",
        "expected an integer of microseconds", "expected an integer of nanoseconds"};
    int64_t v;
    num_res res = int_parse(s, n, &v);
    if (res == NUM_SYNTAX) {
        *detail = expect[fmt];
        return "invalid epoch time";
    }
    if (res == NUM_RANGE || __builtin_mul_overflow(v, unit_ns[fmt], &v) || !ns_in_range(v)) {
        *detail = "outside the int64 nanosecond range";
        return "epoch time out of range";
    }
    *ns = v;
    return NULL;
}

const char *csv_parse_time(const char *s, size_t n, cts_csv_time_format fmt, int64_t *ns,
                           const char **detail)
{
    *detail = NULL;
    if (fmt == CTS_CSV_TIME_RFC3339)
        return parse_rfc3339(s, n, ns, detail);
    return parse_epoch(s, n, fmt, ns, detail);
}
