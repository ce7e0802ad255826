/*
 * qtime.c: times as results show them. InfluxDB writes the time column as
 * Go's time.RFC3339Nano in UTC ("2026-11-02T00:00:00Z",
 * "2026-11-02T00:00:00.5Z": the fraction trimmed of trailing zeros and
 * left out when zero), or, with the `epoch` parameter, as an integer count
 * of a unit since 1970.
 *
 * Every int64 nanosecond count is a date between 1677-09-21 and 2262-04-11,
 * so the year always has four digits. Seconds are split off by floor
 * division, so times before 1970 get a non-negative fraction
 * (-1 ns is 1969-12-31T23:59:59.999999999Z).
 */
#include "cts_query.h"

#include <string.h>

/* Days since 1970-01-01 to a proleptic Gregorian y/m/d (H. Hinnant's
 * civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

int cts_qtime_format(int64_t ts_ns, char *dst, size_t cap)
{
    char tmp[40], *p = tmp;
    int64_t secs = ts_ns / 1000000000, frac = ts_ns % 1000000000;
    if (frac < 0) {
        secs -= 1;
        frac += 1000000000;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        days -= 1;
        sod += 86400;
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    p = put_digits(p, (unsigned)y, 4); /* 1677..2262 for any int64 */
    *p++ = '-';
    p = put_digits(p, mo, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)(sod / 3600), 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)(sod / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)(sod % 60), 2);
    if (frac) {
        int n = 9;
        while (frac % 10 == 0) {
            frac /= 10;
            n--;
        }
        *p++ = '.';
        p = put_digits(p, (unsigned)frac, n);
    }
    *p++ = 'Z';
    size_t len = (size_t)(p - tmp);
    if (!dst || len >= cap)
        return CTS_ENOSPACE;
    memcpy(dst, tmp, len);
    dst[len] = '\0';
    return (int)len;
}

int cts_qepoch_parse(const char *s, cts_qepoch *out)
{
    static const struct {
        const char *name;
        cts_qepoch epoch;
    } names[] = {
        {"rfc3339", CTS_QEPOCH_RFC3339},
        {"ns", CTS_QEPOCH_NS},
        {"n", CTS_QEPOCH_NS},
        {"u", CTS_QEPOCH_US},
        {"us", CTS_QEPOCH_US},
        {"\xc2\xb5", CTS_QEPOCH_US},
        {"ms", CTS_QEPOCH_MS},
        {"s", CTS_QEPOCH_S},
        {"m", CTS_QEPOCH_M},
        {"h", CTS_QEPOCH_H},
    };
    if (!s || !out)
        return CTS_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].epoch;
            return 0;
        }
    }
    return CTS_EINVAL;
}
