/*
 * encode.c: what every result encoder shares: the cts_qenc object and the
 * sink in front of it, the output buffer, and the formatting of values the
 * way InfluxDB 1.x (a Go program) prints them.
 *
 * The sink checks the order of calls (statement_begin, series_begin, row*,
 * series_end, statement_end) so a misbehaving caller gets CTS_EINVAL, not
 * malformed output, and then hands each call to the format's qenc_ops. A
 * statement that ends while a series is open (an executor that failed
 * mid-series) has its series closed first, so the output stays well formed.
 *
 * States: IDLE --statement_begin--> STATEMENT --series_begin--> SERIES
 *         SERIES --series_end--> STATEMENT --statement_end--> IDLE
 *         any --finish--> DONE (later calls: CTS_EINVAL)
 *
 * Floats: Go prints the shortest decimal that reads back as the same
 * float64 (and, among those, the closest). printf's "%.*e" gives the
 * correctly rounded decimal of each length; the shortest length whose
 * rounded decimal (or, at an uneven gap around a power of two, its other
 * neighbour) reads back through strtod is Go's answer. Decimals of up to 15
 * digits are unique, which makes the common case (a sensor's 12.5) one
 * multiplication and one division, and any other value at most three
 * printf/strtod rounds.
 */
#include "encode_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QENC_BUF_CAP 16384

/* ------------------------------------------------------------------------
 * Output.
 * ------------------------------------------------------------------------ */
int qenc_flush(cts_qenc *e)
{
    if (e->err || e->len == 0)
        return e->err;
    int rc = e->write(e->wctx, e->buf, e->len);
    e->len = 0;
    if (rc)
        e->err = rc;
    return e->err;
}

int qenc_out(cts_qenc *e, const void *p, size_t n)
{
    if (e->err)
        return e->err;
    if (n > e->cap - e->len && qenc_flush(e))
        return e->err;
    if (n >= e->cap) {
        int rc = e->write(e->wctx, p, n);
        if (rc)
            e->err = rc;
        return e->err;
    }
    memcpy(e->buf + e->len, p, n);
    e->len += n;
    return 0;
}

int qenc_outs(cts_qenc *e, const char *s)
{
    return qenc_out(e, s, strlen(s));
}

int qenc_outc(cts_qenc *e, char c)
{
    return qenc_out(e, &c, 1);
}

int qenc_outn(cts_qenc *e, char c, size_t n)
{
    char run[64];
    memset(run, c, sizeof run);
    while (n > 0 && !e->err) {
        size_t k = n < sizeof run ? n : sizeof run;
        qenc_out(e, run, k);
        n -= k;
    }
    return e->err;
}

int qbuf_add(qbuf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return CTS_ENOMEM;
            cap *= 2;
        }
        char *q = cts_realloc(b->p, cap);
        if (!q)
            return CTS_ENOMEM;
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

void qbuf_free(qbuf *b)
{
    cts_free(b->p);
    *b = (qbuf){0};
}

/* ------------------------------------------------------------------------
 * Floats, as Go's strconv formats them with precision -1.
 * ------------------------------------------------------------------------ */

/* digs[0..n) and the decimal point position for m * 10^e10 (m > 0), trailing
 * zeros dropped. Returns n. */
static int int_digits(uint64_t m, int e10, char *digs, int *dp)
{
    while (m % 10 == 0) {
        m /= 10;
        e10++;
    }
    int n = snprintf(digs, 24, "%llu", (unsigned long long)m);
    *dp = e10 + n;
    return n;
}

/* Values read from a short decimal (12.5, 0.1, 1013.25): a * 10^k is an
 * integer below 10^15 that divides back to a exactly. Any decimal of at
 * most 15 significant digits that reads back as a is the only one (their
 * spacing is wider than a's rounding interval), so it is the shortest.
 * Returns n, or 0 when a is not such a value. */
static int short_decimal_digits(double a, char *digs, int *dp)
{
    static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    if (a >= 1e15 || a < 1e-6)
        return 0;
    for (int k = 0; k < 10; k++) {
        double x = a * p10[k];
        if (x >= 1e15)
            return 0;
        if (x == floor(x) && x / p10[k] == a)
            return int_digits((uint64_t)x, -k, digs, dp);
    }
    return 0;
}

/* The p-digit decimal nearest a (printf rounds correctly), or, when it does
 * not read back as a, its neighbour on a's other side (at a power of two
 * the rounding interval is uneven). Returns n, or 0 when neither reads
 * back. */
static int digits_at(double a, int p, char *digs, int *dp)
{
    char s[48];
    snprintf(s, sizeof s, "%.*e", p - 1, a);
    char *ep = strchr(s, 'e');
    uint64_t m = 0;
    for (const char *q = s; q < ep; q++)
        if (*q >= '0' && *q <= '9')
            m = m * 10 + (uint64_t)(*q - '0');
    int e10 = atoi(ep + 1) - (p - 1); /* value = m * 10^e10 */
    double back = strtod(s, NULL);
    if (back != a) {
        m = back < a ? m + 1 : m - 1;
        snprintf(s, sizeof s, "%llue%d", (unsigned long long)m, e10);
        if (strtod(s, NULL) != a)
            return 0;
    }
    return int_digits(m, e10, digs, dp);
}

/* Shortest digits of a (finite, > 0): digs[0..n) without leading or
 * trailing zeros, value = 0.digs * 10^dp. Returns n. For a normal double at
 * most one decimal of 15 digits reads back as a (see short_decimal_digits),
 * so when the 15-digit one does not, only 16 and 17 digits remain to try
 * (17 always read back). A subnormal's interval is wide: every length is
 * tried. */
static int shortest_digits(double a, char *digs, int *dp)
{
    int n = short_decimal_digits(a, digs, dp);
    for (int p = a < DBL_MIN ? 1 : 15; n == 0 && p <= 17; p++)
        n = digits_at(a, p, digs, dp);
    return n;
}

static size_t fmt_e(char *dst, const char *digs, int n, int dp, bool json)
{
    size_t k = 0;
    dst[k++] = digs[0];
    if (n > 1) {
        dst[k++] = '.';
        memcpy(dst + k, digs + 1, (size_t)n - 1);
        k += (size_t)n - 1;
    }
    int x = dp - 1;
    dst[k++] = 'e';
    dst[k++] = x < 0 ? '-' : '+';
    if (x < 0)
        x = -x;
    /* Go writes at least two exponent digits; encoding/json trims the
     * leading zero of a negative one (1e-07 -> 1e-7). */
    int w = snprintf(dst + k, 8, (json && dst[k - 1] == '-') ? "%d" : "%02d", x);
    return k + (size_t)w;
}

static size_t fmt_f(char *dst, const char *digs, int n, int dp)
{
    size_t k = 0;
    if (dp <= 0) {
        dst[k++] = '0';
    } else {
        for (int i = 0; i < dp; i++)
            dst[k++] = i < n ? digs[i] : '0';
    }
    if (n > dp) {
        dst[k++] = '.';
        for (int i = dp; i < 0; i++)
            dst[k++] = '0';
        for (int i = dp > 0 ? dp : 0; i < n; i++)
            dst[k++] = digs[i];
    }
    return k;
}

size_t qfmt_float(double f, qfloat_style style, char *dst)
{
    if (isnan(f))
        return (size_t)snprintf(dst, QFMT_NUM_MAX, "NaN");
    if (isinf(f))
        return (size_t)snprintf(dst, QFMT_NUM_MAX, f > 0 ? "+Inf" : "-Inf");
    size_t k = 0;
    if (signbit(f))
        dst[k++] = '-';
    double a = fabs(f);
    if (a == 0) {
        dst[k++] = '0';
        dst[k] = '\0';
        return k;
    }
    char digs[24];
    int dp = 0;
    int n = shortest_digits(a, digs, &dp);
    if (style == QFLOAT_JSON && (a < 1e-6 || a >= 1e21))
        k += fmt_e(dst + k, digs, n, dp, true);
    else
        k += fmt_f(dst + k, digs, n, dp);
    dst[k] = '\0';
    return k;
}

/* ------------------------------------------------------------------------
 * Times and scalars.
 * ------------------------------------------------------------------------ */
size_t qfmt_time(int64_t ts_ns, cts_qepoch epoch, char *dst, bool *is_text)
{
    static const int64_t div[] = {
        [CTS_QEPOCH_NS] = 1,         [CTS_QEPOCH_US] = 1000,       [CTS_QEPOCH_MS] = 1000000,
        [CTS_QEPOCH_S] = 1000000000, [CTS_QEPOCH_M] = 60000000000, [CTS_QEPOCH_H] = 3600000000000,
    };
    if (epoch <= CTS_QEPOCH_RFC3339 || epoch > CTS_QEPOCH_H) {
        *is_text = true;
        int n = cts_qtime_format(ts_ns, dst, 40);
        return n > 0 ? (size_t)n : 0;
    }
    *is_text = false;
    /* C's division truncates toward zero, as Go's does. */
    return (size_t)snprintf(dst, 40, "%lld", (long long)(ts_ns / div[epoch]));
}

cts_str qfmt_value(const cts_qval *v, cts_qepoch epoch, qfloat_style style, char *dst)
{
    size_t n = 0;
    bool is_text;
    switch (v->type) {
    case CTS_Q_FLOAT:
        n = qfmt_float(v->v.f, style, dst);
        break;
    case CTS_Q_INT:
        n = (size_t)snprintf(dst, QFMT_NUM_MAX, "%lld", (long long)v->v.i);
        break;
    case CTS_Q_UINT:
        n = (size_t)snprintf(dst, QFMT_NUM_MAX, "%llu", (unsigned long long)v->v.u);
        break;
    case CTS_Q_BOOL:
        n = (size_t)snprintf(dst, QFMT_NUM_MAX, "%s", v->v.b ? "true" : "false");
        break;
    case CTS_Q_STRING:
        return (cts_str){v->v.s.ptr ? v->v.s.ptr : "", v->v.s.ptr ? v->v.s.len : 0};
    case CTS_Q_TIME:
        n = qfmt_time(v->v.i, epoch, dst, &is_text);
        break;
    default: /* CTS_Q_NULL and anything unknown: empty */
        break;
    }
    dst[n] = '\0';
    return (cts_str){dst, (uint32_t)n};
}

size_t qfmt_width(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

/* ------------------------------------------------------------------------
 * JSON strings, escaped as Go's encoding/json does with HTML escaping on
 * (json.Marshal, which InfluxDB's /query handler uses).
 * ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s[0..n) (Go's rules: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    uint32_t v = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

/* The escape for one character, or NULL when it is written as is. */
static const char *json_escape(const unsigned char *s, size_t n, size_t *used, char *tmp)
{
    uint32_t cp;
    size_t len = utf8_len(s, n, &cp);
    *used = len ? len : 1;
    if (!len)
        return "\\ufffd";
    if (cp == '"')
        return "\\\"";
    if (cp == '\\')
        return "\\\\";
    if (cp == '\n')
        return "\\n";
    if (cp == '\r')
        return "\\r";
    if (cp == '\t')
        return "\\t";
    if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == 0x2028 || cp == 0x2029) {
        snprintf(tmp, 8, "\\u%04x", (unsigned)cp);
        return tmp;
    }
    return NULL;
}

int qenc_json_string(cts_qenc *e, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0, i = 0;
    char tmp[8];
    qenc_outc(e, '"');
    while (i < len) {
        size_t used;
        const char *esc = json_escape(u + i, len - i, &used, tmp);
        if (esc) {
            qenc_out(e, s + run, i - run);
            qenc_outs(e, esc);
            run = i + used;
        }
        i += used;
    }
    qenc_out(e, s + run, len - run);
    return qenc_outc(e, '"');
}

/* ------------------------------------------------------------------------
 * The sink: order checks, then the format's callbacks.
 * ------------------------------------------------------------------------ */

/* A format callback's failure (a write or CTS_ENOMEM) sticks. */
static int stick(cts_qenc *e, int rc)
{
    if (rc && !e->err)
        e->err = rc;
    return rc;
}
static int s_statement_begin(void *ctx, uint32_t statement_id)
{
    cts_qenc *e = ctx;
    if (e->err)
        return e->err;
    if (e->phase != QENC_IDLE)
        return CTS_EINVAL;
    e->phase = QENC_STATEMENT;
    return stick(e, e->ops->statement_begin(e, statement_id));
}

static int s_series_begin(void *ctx, const cts_qseries *s)
{
    cts_qenc *e = ctx;
    if (e->err)
        return e->err;
    if (e->phase != QENC_STATEMENT || !s || (s->ncolumns && !s->columns) ||
        (s->ntags && (!s->tag_keys || !s->tag_values)))
        return CTS_EINVAL;
    e->phase = QENC_SERIES;
    e->ncolumns = s->ncolumns;
    return stick(e, e->ops->series_begin(e, s));
}

static int s_row(void *ctx, const cts_qval *values)
{
    cts_qenc *e = ctx;
    if (e->err)
        return e->err;
    if (e->phase != QENC_SERIES || (e->ncolumns && !values))
        return CTS_EINVAL;
    return stick(e, e->ops->row(e, values));
}

static int s_series_end(void *ctx)
{
    cts_qenc *e = ctx;
    if (e->err)
        return e->err;
    if (e->phase != QENC_SERIES)
        return CTS_EINVAL;
    e->phase = QENC_STATEMENT;
    if (stick(e, e->ops->series_end(e)))
        return e->err;
    return qenc_flush(e);
}

static int s_statement_end(void *ctx, uint32_t statement_id, const char *error)
{
    cts_qenc *e = ctx;
    if (e->err)
        return e->err;
    if (e->phase == QENC_SERIES && s_series_end(e))
        return e->err;
    if (e->phase != QENC_STATEMENT)
        return CTS_EINVAL;
    e->phase = QENC_IDLE;
    if (stick(e, e->ops->statement_end(e, statement_id, error)))
        return e->err;
    return qenc_flush(e);
}

void cts_qenc_opts_init(cts_qenc_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = CTS_QFMT_TABLE;
    o->epoch = CTS_QEPOCH_RFC3339;
    o->chart_width = 72;
    o->chart_height = 16;
}

int cts_qenc_create(const cts_qenc_opts *opts, cts_qwrite_fn write, void *wctx, cts_qenc **out)
{
    int rc = CTS_EINVAL;
    cts_qenc *e = NULL;
    if (!out || !write || (opts && (unsigned)opts->format > CTS_QFMT_JSON) ||
        (opts && (unsigned)opts->epoch > CTS_QEPOCH_H))
        goto fail;
    rc = CTS_ENOMEM;
    e = cts_calloc(1, sizeof *e);
    if (!e || !(e->buf = cts_malloc(QENC_BUF_CAP)))
        goto fail;
    e->cap = QENC_BUF_CAP;
    if (opts)
        e->opts = *opts;
    else
        cts_qenc_opts_init(&e->opts);
    if (e->opts.chart_width < 16)
        e->opts.chart_width = e->opts.chart_width ? 16 : 72;
    if (e->opts.chart_height < 4)
        e->opts.chart_height = e->opts.chart_height ? 4 : 16;
    if (e->opts.chart_width > 1000)
        e->opts.chart_width = 1000;
    if (e->opts.chart_height > 500)
        e->opts.chart_height = 500;
    e->write = write;
    e->wctx = wctx;
    e->sink =
        (cts_qsink){e, s_statement_begin, s_series_begin, s_row, s_series_end, s_statement_end};
    rc = e->opts.format == CTS_QFMT_JSON  ? qenc_json_init(e)
         : e->opts.format == CTS_QFMT_CSV ? qenc_csv_init(e)
                                          : qenc_table_init(e);
    if (rc)
        goto fail;
    *out = e;
    return 0;
fail:
    if (e) {
        cts_free(e->buf);
        cts_free(e);
    }
    if (out)
        *out = NULL;
    return rc;
}

const cts_qsink *cts_qenc_sink(cts_qenc *enc)
{
    return enc ? &enc->sink : NULL;
}

/* Close whatever is open so an error or the end leaves whole output. */
static int close_open(cts_qenc *e)
{
    if (e->phase == QENC_SERIES && s_series_end(e))
        return e->err;
    if (e->phase == QENC_STATEMENT && s_statement_end(e, UINT32_MAX, NULL))
        return e->err;
    return e->err;
}

int cts_qenc_error(cts_qenc *enc, const char *msg)
{
    if (!enc)
        return CTS_EINVAL;
    if (enc->err || close_open(enc))
        return enc->err;
    if (enc->phase == QENC_DONE)
        return CTS_EINVAL;
    if (stick(enc, enc->ops->error(enc, msg ? msg : "unknown error")))
        return enc->err;
    return qenc_flush(enc);
}

int cts_qenc_finish(cts_qenc *enc)
{
    if (!enc)
        return CTS_EINVAL;
    if (enc->err || close_open(enc))
        return enc->err;
    if (enc->phase == QENC_DONE)
        return 0;
    enc->phase = QENC_DONE;
    if (stick(enc, enc->ops->finish(enc)))
        return enc->err;
    return qenc_flush(enc);
}

void cts_qenc_destroy(cts_qenc *enc)
{
    if (!enc)
        return;
    enc->ops->destroy(enc);
    cts_free(enc->buf);
    cts_free(enc);
}
