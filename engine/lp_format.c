/*
 * lp_format.c: a point back into one line of line protocol.
 *
 * Why it exists: the parser's round-trip tests and fuzz target need the
 * inverse of parsing, and so does anything that emits line protocol (the
 * data generator, exports). What must stay true is that lineproto.c reads
 * every line written here back into the same point:
 *   - names get a backslash before each byte special in their place
 *     (measurement: comma, space; keys and tag values: comma, equals sign,
 *     space). Other backslashes stay as they are, which the parser reads
 *     back literally; so a name may not end in a backslash (it would escape
 *     the delimiter after it) and is refused;
 *   - string values escape '"' and '\' and keep everything else, newlines
 *     included (the splitter keeps a string's newlines inside its line);
 *   - floats use the fewest significant digits (15, 16 or 17) that strtod
 *     reads back to the same double, printed in the C locale.
 */
#include "lp_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bounded writer: `over` records that dst was too small. */
typedef struct lp_writer {
    char *p, *end;
    bool over;
} lp_writer;

static void put(lp_writer *w, const char *s, size_t n)
{
    if ((size_t)(w->end - w->p) < n) {
        w->over = true;
        return;
    }
    memcpy(w->p, s, n);
    w->p += n;
}

static void put_ch(lp_writer *w, char ch)
{
    put(w, &ch, 1);
}

/* A name with a backslash before each byte listed in `special`. */
static int put_name(lp_writer *w, cts_str s, const char *special)
{
    if (s.len == 0 || s.ptr[s.len - 1] == '\\' || memchr(s.ptr, '\n', s.len))
        return CTS_EINVAL;
    for (uint32_t i = 0; i < s.len; i++) {
        if (strchr(special, s.ptr[i]) && s.ptr[i] != '\0')
            put_ch(w, '\\');
        put_ch(w, s.ptr[i]);
    }
    return CTS_OK;
}

static void put_string(lp_writer *w, cts_str s)
{
    put_ch(w, '"');
    for (uint32_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '"' || s.ptr[i] == '\\')
            put_ch(w, '\\');
        put_ch(w, s.ptr[i]);
    }
    put_ch(w, '"');
}

/* The shortest of %.15g, %.16g, %.17g that reads back as d. */
static int put_float(lp_writer *w, double d)
{
    char buf[40];
    int n = 0;
    if (!isfinite(d))
        return CTS_EINVAL;
    locale_t loc = lp_c_locale(), old = loc ? uselocale(loc) : (locale_t)0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (loc)
        uselocale(old);
    put(w, buf, (size_t)n);
    return CTS_OK;
}

static int put_value(lp_writer *w, const cts_field *f)
{
    char buf[32];
    int n;
    switch (f->type) {
    case CTS_TYPE_FLOAT:
        return put_float(w, f->v.f);
    case CTS_TYPE_INT:
        n = snprintf(buf, sizeof buf, "%" PRId64 "i", f->v.i);
        break;
    case CTS_TYPE_UINT:
        n = snprintf(buf, sizeof buf, "%" PRIu64 "u", f->v.u);
        break;
    case CTS_TYPE_BOOL:
        if (f->v.b > 1)
            return CTS_EINVAL;
        n = snprintf(buf, sizeof buf, "%s", f->v.b ? "true" : "false");
        break;
    case CTS_TYPE_STRING:
        put_string(w, f->v.s);
        return CTS_OK;
    default:
        return CTS_EINVAL;
    }
    put(w, buf, (size_t)n);
    return CTS_OK;
}

/* measurement[,k=v...]: a first byte that the parser would skip as blank
 * or read as a comment cannot be written. */
static int put_key(lp_writer *w, const cts_point *pt)
{
    cts_str m = pt->measurement;
    if (m.len && (m.ptr[0] == '#' || m.ptr[0] == '\t' || m.ptr[0] == '\0'))
        return CTS_EINVAL;
    int rc = put_name(w, m, ", ");
    for (uint32_t i = 0; rc == CTS_OK && i < pt->ntags; i++) {
        put_ch(w, ',');
        rc = put_name(w, pt->tags[i].key, ",= ");
        put_ch(w, '=');
        if (rc == CTS_OK)
            rc = put_name(w, pt->tags[i].value, ",= ");
    }
    return rc;
}

int64_t cts_lp_format_point(const cts_point *pt, char *dst, size_t cap)
{
    if (!pt || (!dst && cap) || pt->nfields == 0 || pt->ts_ns < CTS_LP_MIN_NS ||
        pt->ts_ns > CTS_LP_MAX_NS)
        return CTS_EINVAL;
    lp_writer w = {dst, dst + (cap ? cap - 1 : 0), cap == 0};
    int rc = put_key(&w, pt);
    /* The parser skips blanks before the field set; a space is escaped. */
    cts_str k0 = pt->fields[0].key;
    if (k0.len && (k0.ptr[0] == '\t' || k0.ptr[0] == '\0'))
        return CTS_EINVAL;
    for (uint32_t i = 0; rc == CTS_OK && i < pt->nfields; i++) {
        put_ch(&w, i ? ',' : ' ');
        rc = put_name(&w, pt->fields[i].key, ",= ");
        put_ch(&w, '=');
        if (rc == CTS_OK)
            rc = put_value(&w, &pt->fields[i]);
    }
    if (rc != CTS_OK)
        return rc;
    char ts[24];
    int n = snprintf(ts, sizeof ts, " %" PRId64, pt->ts_ns);
    put(&w, ts, (size_t)n);
    if (w.over)
        return CTS_ENOSPACE;
    *w.p = '\0';
    return (int64_t)(w.p - dst);
}
