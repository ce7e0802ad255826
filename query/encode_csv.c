/*
 * encode_csv.c: results as InfluxDB 1.x writes them for Accept:
 * application/csv (services/httpd's csvFormatter, through Go's
 * encoding/csv):
 *
 *   name,tags,time,mean
 *   air,city=lisbon,1764547200000000000,12.5
 *
 * - A header record "name,tags,<columns>" opens each statement that has
 *   series; when a later series of the statement has other columns, an
 *   empty line and a new header come first. Statements without series
 *   write nothing; an empty line separates statements that write.
 * - tags: the series' tag set as a series key spells it (sorted,
 *   "k=v,k2=v2", with ',', ' ' and '=' escaped by a backslash); empty when
 *   the series is not grouped by tags.
 * - values: null is empty; floats in Go's 'f' format with the shortest
 *   digits (never an exponent: 1e21 is 1000000000000000000000; NaN, +Inf,
 *   -Inf); times as integers: nanoseconds unless an epoch unit was asked
 *   for (InfluxDB writes a time.Time as UnixNano here, never as RFC 3339).
 * - quoting as encoding/csv: a field is quoted when it holds a comma, a
 *   double quote, \r or \n, when it begins with a Unicode space, or when it
 *   is exactly \. ; a quote inside is doubled. Records end with \n.
 * - errors (cityts's choice, the influx CLI's words; InfluxDB's HTTP CSV
 *   drops a statement's error): "ERR: <message>" on its own line.
 */
#include "encode_int.h"

#include <string.h>

typedef struct cstate {
    bool any_output;  /* a statement wrote: separate the next by a line */
    bool stmt_header; /* a header was written in this statement */
    qbuf cols;        /* the last header's columns, each NUL-terminated */
    size_t ncols;
    qbuf prefix; /* "name,tags," of the current series, quoted */
    qbuf line;   /* scratch: one record */
    qbuf tmp;    /* scratch: the tag set before quoting */
} cstate;

/* encoding/csv's fieldNeedsQuotes, for a comma separator. */
static bool needs_quotes(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0)
        return false;
    if (n == 2 && s[0] == '\\' && s[1] == '.')
        return true;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    /* unicode.IsSpace of the first rune */
    if (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r'))
        return true;
    if (n >= 2 && u[0] == 0xC2 && (u[1] == 0x85 || u[1] == 0xA0))
        return true;
    if (n >= 3 && u[0] == 0xE1 && u[1] == 0x9A && u[2] == 0x80) /* U+1680 */
        return true;
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 &&
        (u[2] <= 0x8A || u[2] == 0xA8 || u[2] == 0xA9 ||
         u[2] == 0xAF)) /* U+2000-200A, 2028/9, 202F */
        return true;
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F) /* U+205F */
        return true;
    return n >= 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80; /* U+3000 */
}

static int add_field(qbuf *b, const char *s, size_t n)
{
    if (!needs_quotes(s, n))
        return qbuf_add(b, s, n);
    int rc = qbuf_add(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (s[i] == '"') {
            rc = qbuf_add(b, s + run, i + 1 - run);
            run = i; /* the quote again */
        }
    }
    if (!rc)
        rc = qbuf_add(b, s + run, n - run);
    return rc ? rc : qbuf_add(b, "\"", 1);
}

/* A tag key or value as a series key escapes it. */
static int add_tag_escaped(qbuf *b, cts_str s)
{
    int rc = 0;
    for (uint32_t i = 0; i < s.len && !rc; i++) {
        char c = s.ptr[i];
        if (c == ',' || c == ' ' || c == '=')
            rc = qbuf_add(b, "\\", 1);
        if (!rc)
            rc = qbuf_add(b, &c, 1);
    }
    return rc;
}

static int csv_statement_begin(cts_qenc *e, uint32_t statement_id)
{
    cstate *c = e->state;
    (void)statement_id;
    c->stmt_header = false;
    return 0;
}

static bool same_columns(const cstate *c, const cts_qseries *s)
{
    if (c->ncols != s->ncolumns)
        return false;
    const char *p = c->cols.p;
    for (size_t i = 0; i < s->ncolumns; i++) {
        size_t n = strlen(p);
        if (n != s->columns[i].len || memcmp(p, s->columns[i].ptr, n) != 0)
            return false;
        p += n + 1;
    }
    return true;
}

static int write_header(cts_qenc *e, cstate *c, const cts_qseries *s)
{
    int rc = 0;
    c->cols.len = c->line.len = 0;
    c->ncols = s->ncolumns;
    rc = qbuf_add(&c->line, "name,tags", 9);
    for (size_t i = 0; i < s->ncolumns && !rc; i++) {
        rc = qbuf_add(&c->line, ",", 1);
        if (!rc)
            rc = add_field(&c->line, s->columns[i].ptr, s->columns[i].len);
        if (!rc)
            rc = qbuf_add(&c->cols, s->columns[i].ptr, s->columns[i].len);
        if (!rc)
            rc = qbuf_add(&c->cols, "", 1);
    }
    if (!rc)
        rc = qbuf_add(&c->line, "\n", 1);
    return rc ? rc : qenc_out(e, c->line.p, c->line.len);
}

static int build_prefix(cstate *c, const cts_qseries *s)
{
    c->prefix.len = c->tmp.len = 0;
    int rc = add_field(&c->prefix, s->name.ptr, s->name.len);
    for (size_t i = 0; i < s->ntags && !rc; i++) {
        if (i)
            rc = qbuf_add(&c->tmp, ",", 1);
        if (!rc)
            rc = add_tag_escaped(&c->tmp, s->tag_keys[i]);
        if (!rc)
            rc = qbuf_add(&c->tmp, "=", 1);
        if (!rc)
            rc = add_tag_escaped(&c->tmp, s->tag_values[i]);
    }
    if (!rc)
        rc = qbuf_add(&c->prefix, ",", 1);
    if (!rc)
        rc = add_field(&c->prefix, c->tmp.p, c->tmp.len);
    return rc;
}

static int csv_series_begin(cts_qenc *e, const cts_qseries *s)
{
    cstate *c = e->state;
    int rc = 0;
    if (!c->stmt_header || !same_columns(c, s)) {
        if (c->any_output)
            qenc_outc(e, '\n');
        rc = write_header(e, c, s);
        c->stmt_header = c->any_output = true;
    }
    return rc ? rc : build_prefix(c, s);
}

static int csv_row(cts_qenc *e, const cts_qval *values)
{
    cstate *c = e->state;
    char num[QFMT_NUM_MAX];
    /* InfluxDB writes a time.Time as nanoseconds in CSV */
    cts_qepoch ep = e->opts.epoch == CTS_QEPOCH_RFC3339 ? CTS_QEPOCH_NS : e->opts.epoch;
    c->line.len = 0;
    int rc = qbuf_add(&c->line, c->prefix.p, c->prefix.len);
    for (size_t i = 0; i < e->ncolumns && !rc; i++) {
        cts_str v = qfmt_value(&values[i], ep, QFLOAT_PLAIN, num);
        rc = qbuf_add(&c->line, ",", 1);
        if (!rc)
            rc = add_field(&c->line, v.ptr, v.len);
    }
    if (!rc)
        rc = qbuf_add(&c->line, "\n", 1);
    return rc ? rc : qenc_out(e, c->line.p, c->line.len);
}

static int csv_series_end(cts_qenc *e)
{
    (void)e;
    return 0;
}

static int csv_error(cts_qenc *e, const char *msg)
{
    cstate *c = e->state;
    if (c->any_output)
        qenc_outc(e, '\n');
    c->any_output = true;
    qenc_outs(e, "ERR: ");
    qenc_outs(e, msg);
    return qenc_outc(e, '\n');
}

static int csv_statement_end(cts_qenc *e, uint32_t statement_id, const char *error)
{
    (void)statement_id;
    return error ? csv_error(e, error) : 0;
}

static int csv_finish(cts_qenc *e)
{
    (void)e;
    return 0;
}

static void csv_destroy(cts_qenc *e)
{
    cstate *c = e->state;
    if (!c)
        return;
    qbuf_free(&c->cols);
    qbuf_free(&c->prefix);
    qbuf_free(&c->line);
    qbuf_free(&c->tmp);
    cts_free(c);
}

static const qenc_ops csv_ops = {
    csv_statement_begin, csv_series_begin, csv_row,    csv_series_end,
    csv_statement_end,   csv_error,        csv_finish, csv_destroy,
};

int qenc_csv_init(cts_qenc *e)
{
    e->state = cts_calloc(1, sizeof(cstate));
    if (!e->state)
        return CTS_ENOMEM;
    e->ops = &csv_ops;
    return 0;
}
