/*
 * duration.c: InfluxQL duration literals ("10s", "1h30m", "2w"), used by
 * time ranges (now() - 1h) and GROUP BY time(15m). A hand-written scanner
 * with offsets: no sscanf, every overflow checked.
 */
#include "cts_query.h"

#include <string.h>

/* Nanoseconds per unit at text[i..); sets *ulen. 0 when no unit matches. */
static int64_t unit_ns(const char *t, size_t len, size_t i, size_t *ulen)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {
        {"ns", 1},
        {"ms", 1000000},
        {"\xc2\xb5", 1000},
        {"u", 1000},
        {"s", 1000000000},
        {"m", 60000000000},
        {"h", 3600000000000},
        {"d", 86400000000000},
        {"w", 604800000000000},
    };
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
        size_t n = strlen(units[k].name);
        if (len - i >= n && memcmp(t + i, units[k].name, n) == 0) {
            *ulen = n;
            return units[k].ns;
        }
    }
    return 0;
}

int cts_duration_parse(const char *text, size_t len, int64_t *out_ns, size_t *err_off)
{
    size_t i = 0, bad = 0;
    int64_t total = 0;
    int rc = CTS_EPARSE;
    if (len == 0)
        goto fail;
    while (i < len) {
        if (text[i] < '0' || text[i] > '9') {
            bad = i;
            goto fail;
        }
        int64_t n = 0;
        while (i < len && text[i] >= '0' && text[i] <= '9') {
            if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, text[i] - '0', &n)) {
                bad = i;
                rc = CTS_ERANGE;
                goto fail;
            }
            i++;
        }
        size_t ulen = 0;
        int64_t ns = i < len ? unit_ns(text, len, i, &ulen) : 0;
        if (ns == 0) {
            bad = i;
            goto fail;
        }
        int64_t seg;
        if (__builtin_mul_overflow(n, ns, &seg) || __builtin_add_overflow(total, seg, &total)) {
            bad = i;
            rc = CTS_ERANGE;
            goto fail;
        }
        i += ulen;
    }
    *out_ns = total;
    return 0;
fail:
    if (err_off)
        *err_off = bad;
    return rc;
}
