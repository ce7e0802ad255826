/*
 * encode_int.h: what the result encoders (encode*.c, chart.c) share and
 * nothing else includes.
 *
 * One cts_qenc is a sink (cts_qsink) in front of one output format. The
 * shared part (encode.c) owns the output buffer, the sticky write error
 * and the value formatting every format needs (Go's float formatting,
 * RFC 3339 or epoch times, JSON string escaping); each format supplies a
 * table of callbacks (qenc_ops) and keeps its own state behind `state`.
 *
 * Output is collected in a small buffer and handed to the writer when the
 * buffer fills and at the end of each series and statement, so a result
 * streams in bounded memory (the table is the exception: it keeps one
 * series, to align its columns).
 *
 * Once a write fails, the error sticks: every later sink call returns it
 * without writing, so cts_query_run aborts with the writer's value.
 */
#ifndef CTS_ENCODE_INT_H
#define CTS_ENCODE_INT_H

#include "cts_query.h"

#include <stddef.h>
#include <stdint.h>

typedef struct qenc_ops {
    int (*statement_begin)(cts_qenc *e, uint32_t statement_id);
    int (*series_begin)(cts_qenc *e, const cts_qseries *s);
    int (*row)(cts_qenc *e, const cts_qval *values);
    int (*series_end)(cts_qenc *e);
    int (*statement_end)(cts_qenc *e, uint32_t statement_id, const char *error);
    int (*error)(cts_qenc *e, const char *msg);
    int (*finish)(cts_qenc *e);
    void (*destroy)(cts_qenc *e); /* frees `state`; called once */
} qenc_ops;

/* Where a sink call stands, so a misbehaving caller gets CTS_EINVAL rather
 * than malformed output. */
typedef enum qenc_phase {
    QENC_IDLE = 0,  /* between statements */
    QENC_STATEMENT, /* inside statement_begin .. statement_end */
    QENC_SERIES,    /* inside series_begin .. series_end */
    QENC_DONE,      /* after finish */
} qenc_phase;

struct cts_qenc {
    cts_qsink sink;
    cts_qenc_opts opts;
    cts_qwrite_fn write;
    void *wctx;
    const qenc_ops *ops;
    void *state;
    int err; /* sticky: the first failed write (or CTS_ENOMEM) */
    qenc_phase phase;
    size_t ncolumns; /* of the current series */
    char *buf;
    size_t len, cap;
};

/* Formats' constructors: set e->ops and e->state; 0 or CTS_ENOMEM. */
int qenc_json_init(cts_qenc *e);
int qenc_csv_init(cts_qenc *e);
int qenc_table_init(cts_qenc *e);

/* ---- output (encode.c) ---- */
/* Append bytes; flushes when the buffer is full. Returns e->err. */
int qenc_out(cts_qenc *e, const void *p, size_t n);
int qenc_outs(cts_qenc *e, const char *s);
int qenc_outc(cts_qenc *e, char c);
/* Append c n times. */
int qenc_outn(cts_qenc *e, char c, size_t n);
/* Hand what is buffered to the writer. */
int qenc_flush(cts_qenc *e);

/* A growable byte buffer (cts_realloc). */
typedef struct qbuf {
    char *p;
    size_t len, cap;
} qbuf;
/* Append n bytes; 0 or CTS_ENOMEM (then b is unchanged). */
int qbuf_add(qbuf *b, const void *p, size_t n);
void qbuf_free(qbuf *b);

/* ---- value formatting (encode.c) ---- */
/* Longest text of a number below: 'f' of 5e-324 is "0." then 323 zeros
 * then 5; 1.7976931348623157e308 is 309 digits. */
#define QFMT_NUM_MAX 400

/* Go's shortest round-trip formatting of a finite float64.
 * QFLOAT_JSON: encoding/json (plain, e-notation when |f| < 1e-6 or
 *   >= 1e21, exponent without leading zeros: 1e-7, 1e+21).
 * QFLOAT_PLAIN: strconv.FormatFloat(f, 'f', -1, 64) (never an exponent).
 * Non-finite values give "NaN", "+Inf", "-Inf". Returns the length. */
typedef enum qfloat_style { QFLOAT_JSON, QFLOAT_PLAIN } qfloat_style;
size_t qfmt_float(double f, qfloat_style style, char *dst /* QFMT_NUM_MAX */);

/* A time for output: RFC 3339 into dst (quoted=false) or the integer count
 * of the epoch unit (truncated toward zero, as Go divides). Sets *is_text
 * to true for RFC 3339. Returns the length; dst holds >= 40 bytes. */
size_t qfmt_time(int64_t ts_ns, cts_qepoch epoch, char *dst, bool *is_text);

/* Plain text of a scalar for the table and CSV (no quoting): NULL is
 * empty, floats in `style`, times per the epoch. dst holds QFMT_NUM_MAX
 * bytes; for strings the result points into the value instead. */
cts_str qfmt_value(const cts_qval *v, cts_qepoch epoch, qfloat_style style, char *dst);

/* Write s as a JSON string (quotes included), escaped as Go's
 * encoding/json does by default: \" \\ \n \r \t, other controls and
 * < > & U+2028 U+2029 as \u00XX / \u2028, invalid UTF-8 as \ufffd. */
int qenc_json_string(cts_qenc *e, const char *s, size_t len);

/* Number of code points of s (for column alignment). */
size_t qfmt_width(const char *s, size_t len);

/* ---- chart (chart.c) ---- */
typedef struct qchart_point {
    int64_t ts_ns;
    double v;
    bool null;
} qchart_point;

/* Draw points (time-ordered as given) as a Braille line chart of
 * e->opts.chart_width x chart_height cells, titled `title`, with the y axis
 * labelled (max, min, ticks) and the x axis labelled with the first and last
 * time in e->opts.epoch. Null points are gaps. Returns e->err. */
int qchart_draw(cts_qenc *e, const char *title, size_t title_len, const qchart_point *pts,
                size_t count);

#endif
