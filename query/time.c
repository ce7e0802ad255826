/*
 * time.c: time literals of WHERE clauses ('2026-11-02T00:00:00Z') to
 * nanoseconds since the Unix epoch (q_time_parse in query_int.h).
 *
 * Accepted, as InfluxDB 1.x accepts them:
 *   YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)   RFC 3339
 *   YYYY-MM-DD HH:MM:SS[.f{1,9}]                    UTC
 *   YYYY-MM-DD                                      midnight UTC
 * Every field is range-checked (month 1-12, day within its month with leap
 * years, hour < 24, minute and second < 60, offset hours < 24) and the
 * result must fit int64 nanoseconds (years 1677-2262). Hand-written: no
 * sscanf, no strptime, no dependence on the process's time zone.
 */
#include "query_int.h"

#include <stdbool.h>

typedef struct cursor {
    const char *s;
    size_t len, pos;
} cursor;

/* Exactly n digits into *out. */
static bool digits(cursor *c, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++, c->pos++) {
        if (c->pos >= c->len || c->s[c->pos] < '0' || c->s[c->pos] > '9')
            return false;
        v = v * 10 + (c->s[c->pos] - '0');
    }
    *out = v;
    return true;
}

static bool lit(cursor *c, char ch)
{
    if (c->pos < c->len && c->s[c->pos] == ch) {
        c->pos++;
        return true;
    }
    return false;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t days_in_month(int64_t y, int64_t m)
{
    static const int8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ".f{1,9}" if present, as nanoseconds. */
static bool fraction(cursor *c, int64_t *ns)
{
    *ns = 0;
    if (!lit(c, '.'))
        return true;
    int n = 0;
    while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
        if (++n > 9)
            return false;
        *ns = *ns * 10 + (c->s[c->pos++] - '0');
    }
    if (n == 0)
        return false;
    for (; n < 9; n++)
        *ns *= 10;
    return true;
}

/* "Z" or "+hh:mm"/"-hh:mm" as seconds east of UTC. */
static bool zone(cursor *c, int64_t *east_s)
{
    *east_s = 0;
    if (lit(c, 'Z') || lit(c, 'z'))
        return true;
    int64_t sign = lit(c, '+') ? 1 : lit(c, '-') ? -1 : 0, hh, mm;
    if (!sign || !digits(c, 2, &hh) || !lit(c, ':') || !digits(c, 2, &mm) || hh > 23 || mm > 59)
        return false;
    *east_s = sign * (hh * 3600 + mm * 60);
    return true;
}

/* "HH:MM:SS[.f]": seconds into the day and nanoseconds into the second. */
static bool clock(cursor *c, int64_t *day_s, int64_t *frac_ns)
{
    int64_t h, mi, s, frac;
    if (!digits(c, 2, &h) || !lit(c, ':') || !digits(c, 2, &mi) || !lit(c, ':') ||
        !digits(c, 2, &s) || !fraction(c, &frac))
        return false;
    if (h > 23 || mi > 59 || s > 59)
        return false;
    *day_s = h * 3600 + mi * 60 + s;
    *frac_ns = frac;
    return true;
}

int q_time_parse(const char *s, size_t len, int64_t *out_ns)
{
    cursor c = {s, len, 0};
    int64_t y, m, d, day_s = 0, frac_ns = 0, east_s = 0;
    if (!digits(&c, 4, &y) || !lit(&c, '-') || !digits(&c, 2, &m) || !lit(&c, '-') ||
        !digits(&c, 2, &d))
        return CTS_EPARSE;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return CTS_EPARSE;
    if (c.pos < len) {
        bool rfc = lit(&c, 'T') || lit(&c, 't');
        if (!rfc && !lit(&c, ' '))
            return CTS_EPARSE;
        if (!clock(&c, &day_s, &frac_ns))
            return CTS_EPARSE;
        if ((rfc || c.pos < len) && !zone(&c, &east_s))
            return CTS_EPARSE;
        if (c.pos != len)
            return CTS_EPARSE;
    }
    /* Years are 4 digits, so seconds cannot overflow; nanoseconds can. */
    int64_t secs = days_from_civil(y, m, d) * 86400 + day_s - east_s, ns;
    if (secs < 0 && frac_ns > 0) {
        secs += 1; /* stay in range near INT64_MIN: add the fraction last */
        frac_ns -= 1000000000;
    }
    if (__builtin_mul_overflow(secs, (int64_t)1000000000, &ns) ||
        __builtin_add_overflow(ns, frac_ns, &ns))
        return CTS_EPARSE;
    *out_ns = ns;
    return 0;
}
