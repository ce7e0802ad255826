/*
 * encode_table.c: results for a person at a terminal, laid out as the
 * influx CLI's column mode does:
 *
 *   name: air
 *   tags: city=lisbon, sensor=a1
 *   time                 pm25
 *   ----                 ----
 *   2026-11-02T00:00:00Z 12.5
 *
 * "name:" when the series has a name, "tags:" when it is grouped by tags;
 * a header of column names with a line of dashes under each; every column
 * but the last padded to its widest cell plus one space (widths in code
 * points, as Go's tabwriter counts them). An empty line separates series,
 * statements and errors. Values: null is empty, floats as InfluxDB's JSON
 * writes them (shortest digits, exponent below 1e-6 and from 1e21), times
 * per the epoch option. A failed statement writes "ERR: <message>".
 *
 * To align the columns the table keeps one series (its cells, strings
 * copied) until series_end; only then is it written, or drawn (chart.c)
 * when the chart option is on and the series has a time column and a
 * numeric one. A series longer than TABLE_MAX_ROWS is written when the
 * buffer fills and streams from there on (memory stays bounded; a later,
 * wider cell shifts its column), except with a chart, which needs every
 * point.
 */
#include "encode_int.h"

#include <math.h>
#include <string.h>

/* Rows of one series kept to align its columns; past this it streams. */
#define TABLE_MAX_ROWS 10000

/* One buffered cell: a value, its string kept as an offset into strs
 * (which moves as it grows). */
typedef struct tcell {
    cts_qtype type;
    uint32_t len;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        size_t off;
    } v;
} tcell;

typedef struct tstate {
    bool any_output; /* separate what comes next by an empty line */
    qbuf strs;       /* name, then tags text, then strings of cells */
    size_t name_len, tags_len;
    tcell *cells; /* ncolumns header cells (the column names), then rows */
    size_t ncells, cap_cells;
    size_t *widths;
    size_t strs_base; /* strs.len after the header: where row strings start */
    bool streaming;   /* the series outgrew the buffer: rows are written as they come */
} tstate;

static int add_str(tstate *t, tcell *c, const char *s, size_t n)
{
    c->type = CTS_Q_STRING;
    c->v.off = t->strs.len;
    c->len = (uint32_t)n;
    return qbuf_add(&t->strs, s, n);
}

static int reserve_cells(tstate *t, size_t n)
{
    if (n <= t->cap_cells - t->ncells)
        return 0;
    size_t cap = t->cap_cells ? t->cap_cells : 64;
    while (cap - t->ncells < n) {
        if (cap > SIZE_MAX / 2 / sizeof(tcell))
            return CTS_ENOMEM;
        cap *= 2;
    }
    tcell *c = cts_realloc(t->cells, cap * sizeof *c);
    if (!c)
        return CTS_ENOMEM;
    t->cells = c;
    t->cap_cells = cap;
    return 0;
}

static int table_statement_begin(cts_qenc *e, uint32_t statement_id)
{
    (void)e;
    (void)statement_id;
    return 0;
}

static int table_series_begin(cts_qenc *e, const cts_qseries *s)
{
    tstate *t = e->state;
    int rc = 0;
    t->strs.len = t->ncells = 0;
    t->name_len = s->name.len;
    rc = qbuf_add(&t->strs, s->name.ptr, s->name.len);
    size_t start = t->strs.len;
    for (size_t i = 0; i < s->ntags && !rc; i++) {
        if (i)
            rc = qbuf_add(&t->strs, ", ", 2);
        if (!rc)
            rc = qbuf_add(&t->strs, s->tag_keys[i].ptr, s->tag_keys[i].len);
        if (!rc)
            rc = qbuf_add(&t->strs, "=", 1);
        if (!rc)
            rc = qbuf_add(&t->strs, s->tag_values[i].ptr, s->tag_values[i].len);
    }
    t->tags_len = t->strs.len - start;
    if (!rc)
        rc = reserve_cells(t, s->ncolumns);
    for (size_t i = 0; i < s->ncolumns && !rc; i++)
        rc = add_str(t, &t->cells[t->ncells++], s->columns[i].ptr, s->columns[i].len);
    t->strs_base = t->strs.len;
    t->streaming = false;
    return rc;
}

static int buffer_row(cts_qenc *e, const cts_qval *values)
{
    tstate *t = e->state;
    int rc = reserve_cells(t, e->ncolumns);
    for (size_t i = 0; i < e->ncolumns && !rc; i++) {
        tcell *c = &t->cells[t->ncells++];
        const cts_qval *v = &values[i];
        c->type = v->type;
        c->len = 0;
        switch (v->type) {
        case CTS_Q_FLOAT:
            c->v.f = v->v.f;
            break;
        case CTS_Q_INT:
        case CTS_Q_TIME:
            c->v.i = v->v.i;
            break;
        case CTS_Q_UINT:
            c->v.u = v->v.u;
            break;
        case CTS_Q_BOOL:
            c->v.b = v->v.b;
            break;
        case CTS_Q_STRING:
            rc = add_str(t, c, v->v.s.ptr, v->v.s.ptr ? v->v.s.len : 0);
            break;
        default:
            c->type = CTS_Q_NULL;
            break;
        }
    }
    return rc;
}

static int write_table(cts_qenc *e);
static int write_line(cts_qenc *e, const tcell *cells, bool dashes);
static int begin_output(cts_qenc *e);
static void drop_rows(cts_qenc *e);

/* Buffer the row; past TABLE_MAX_ROWS (without a chart, which needs every
 * point) write what is buffered and stream the rest, one line per row, with
 * the widths found so far (a later, wider cell widens its column from
 * there on). */
static int table_row(cts_qenc *e, const cts_qval *values)
{
    tstate *t = e->state;
    size_t nc = e->ncolumns;
    if (nc == 0)
        return 0;
    int rc = buffer_row(e, values);
    if (rc)
        return rc;
    if (t->streaming) {
        rc = write_line(e, t->cells + nc, false);
        drop_rows(e);
    } else if (!e->opts.chart && t->ncells / nc > TABLE_MAX_ROWS) {
        rc = begin_output(e);
        if (!rc)
            rc = write_table(e);
        drop_rows(e);
        t->streaming = true;
    }
    return rc;
}

/* The text of a buffered cell. */
static cts_str cell_text(cts_qenc *e, const tcell *c, char *num)
{
    tstate *t = e->state;
    cts_qval v = {.type = c->type};
    if (c->type == CTS_Q_STRING)
        return (cts_str){t->strs.p + c->v.off, c->len};
    if (c->type == CTS_Q_FLOAT)
        v.v.f = c->v.f;
    else if (c->type == CTS_Q_UINT)
        v.v.u = c->v.u;
    else if (c->type == CTS_Q_BOOL)
        v.v.b = c->v.b;
    else
        v.v.i = c->v.i;
    return qfmt_value(&v, e->opts.epoch, QFLOAT_JSON, num);
}

static int write_line(cts_qenc *e, const tcell *cells, bool dashes)
{
    tstate *t = e->state;
    char num[QFMT_NUM_MAX];
    for (size_t i = 0; i < e->ncolumns && !e->err; i++) {
        cts_str s = cell_text(e, &cells[i], num);
        size_t w = dashes ? s.len : qfmt_width(s.ptr, s.len);
        if (w > t->widths[i]) /* a late wide cell, once streaming */
            t->widths[i] = w;
        if (dashes)
            qenc_outn(e, '-', s.len);
        else
            qenc_out(e, s.ptr, s.len);
        if (i + 1 < e->ncolumns)
            qenc_outn(e, ' ', t->widths[i] - w + 1);
    }
    return qenc_outc(e, '\n');
}

/* Before a series' output: the empty line that separates it, and room for
 * its column widths. */
static int begin_output(cts_qenc *e)
{
    tstate *t = e->state;
    if (t->any_output)
        qenc_outc(e, '\n');
    t->any_output = true;
    if (e->ncolumns) {
        size_t *w = cts_realloc(t->widths, e->ncolumns * sizeof *w);
        if (!w)
            return CTS_ENOMEM;
        t->widths = w;
    }
    return e->err;
}

/* Widths from the header and the buffered rows; name, tags, header, dashes
 * and the rows written. */
static int write_table(cts_qenc *e)
{
    tstate *t = e->state;
    char num[QFMT_NUM_MAX];
    size_t nc = e->ncolumns;
    for (size_t i = 0; i < nc; i++) {
        t->widths[i] = 0;
        for (size_t r = i; r < t->ncells; r += nc) {
            cts_str s = cell_text(e, &t->cells[r], num);
            size_t w = r < nc ? s.len : qfmt_width(s.ptr, s.len); /* dashes: bytes */
            if (w > t->widths[i])
                t->widths[i] = w;
        }
    }
    if (t->name_len) {
        qenc_outs(e, "name: ");
        qenc_out(e, t->strs.p, t->name_len);
        qenc_outc(e, '\n');
    }
    if (t->tags_len) {
        qenc_outs(e, "tags: ");
        qenc_out(e, t->strs.p + t->name_len, t->tags_len);
        qenc_outc(e, '\n');
    }
    if (nc == 0)
        return e->err;
    write_line(e, t->cells, false);
    write_line(e, t->cells, true);
    for (size_t r = nc; r < t->ncells && !e->err; r += nc)
        write_line(e, t->cells + r, false);
    return e->err;
}

/* Keep the header, drop the buffered rows and their strings. */
static void drop_rows(cts_qenc *e)
{
    tstate *t = e->state;
    t->ncells = e->ncolumns;
    t->strs.len = t->strs_base;
}

/* The first column (after time) with a finite number, or 0 when none. */
static size_t chart_column(cts_qenc *e)
{
    tstate *t = e->state;
    size_t nc = e->ncolumns;
    const tcell *h = t->cells;
    if (nc < 2 || h[0].len != 4 || memcmp(t->strs.p + h[0].v.off, "time", 4) != 0)
        return 0;
    for (size_t i = 1; i < nc; i++) {
        for (size_t r = nc + i; r < t->ncells; r += nc) {
            const tcell *c = &t->cells[r];
            if ((c->type == CTS_Q_FLOAT && isfinite(c->v.f)) || c->type == CTS_Q_INT ||
                c->type == CTS_Q_UINT)
                return i;
        }
    }
    return 0;
}

static int draw_chart(cts_qenc *e, size_t col)
{
    tstate *t = e->state;
    size_t nc = e->ncolumns, count = t->ncells / nc - 1;
    int rc = 0;
    qchart_point *p = cts_malloc((count ? count : 1) * sizeof *p);
    if (!p)
        return CTS_ENOMEM;
    for (size_t r = 0; r < count; r++) {
        const tcell *ts = &t->cells[(r + 1) * nc], *c = &t->cells[(r + 1) * nc + col];
        p[r].ts_ns = (ts->type == CTS_Q_TIME || ts->type == CTS_Q_INT) ? ts->v.i : 0;
        p[r].null = !(ts->type == CTS_Q_TIME || ts->type == CTS_Q_INT);
        p[r].v = c->type == CTS_Q_FLOAT  ? c->v.f
                 : c->type == CTS_Q_INT  ? (double)c->v.i
                 : c->type == CTS_Q_UINT ? (double)c->v.u
                                         : NAN;
        p[r].null = p[r].null || !isfinite(p[r].v);
    }
    /* title: "air city=lisbon, sensor=a1: pm25" */
    qbuf title = {0};
    rc = qbuf_add(&title, t->strs.p, t->name_len);
    if (!rc && t->tags_len && title.len)
        rc = qbuf_add(&title, " ", 1);
    if (!rc)
        rc = qbuf_add(&title, t->strs.p + t->name_len, t->tags_len);
    if (!rc && title.len)
        rc = qbuf_add(&title, ": ", 2);
    if (!rc)
        rc = qbuf_add(&title, t->strs.p + t->cells[col].v.off, t->cells[col].len);
    if (!rc)
        rc = qchart_draw(e, title.p, title.len, p, count);
    qbuf_free(&title);
    cts_free(p);
    return rc;
}

static int table_series_end(cts_qenc *e)
{
    tstate *t = e->state;
    if (t->streaming) {
        t->streaming = false;
        return e->err;
    }
    if (begin_output(e))
        return e->err;
    size_t col = e->opts.chart ? chart_column(e) : 0;
    return col ? draw_chart(e, col) : write_table(e);
}

static int table_error(cts_qenc *e, const char *msg)
{
    tstate *t = e->state;
    if (t->any_output)
        qenc_outc(e, '\n');
    t->any_output = true;
    qenc_outs(e, "ERR: ");
    qenc_outs(e, msg);
    return qenc_outc(e, '\n');
}

static int table_statement_end(cts_qenc *e, uint32_t statement_id, const char *error)
{
    (void)statement_id;
    return error ? table_error(e, error) : 0;
}

static int table_finish(cts_qenc *e)
{
    (void)e;
    return 0;
}

static void table_destroy(cts_qenc *e)
{
    tstate *t = e->state;
    if (!t)
        return;
    qbuf_free(&t->strs);
    cts_free(t->cells);
    cts_free(t->widths);
    cts_free(t);
}

static const qenc_ops table_ops = {
    table_statement_begin, table_series_begin, table_row,    table_series_end,
    table_statement_end,   table_error,        table_finish, table_destroy,
};

int qenc_table_init(cts_qenc *e)
{
    e->state = cts_calloc(1, sizeof(tstate));
    if (!e->state)
        return CTS_ENOMEM;
    e->ops = &table_ops;
    return 0;
}
