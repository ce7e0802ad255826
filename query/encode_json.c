/*
 * encode_json.c: results as InfluxDB 1.x's /query endpoint writes them:
 *
 *   {"results":[{"statement_id":0,"series":[{"name":"air",
 *     "tags":{"city":"lisbon"},"columns":["time","mean"],
 *     "values":[["2026-11-02T00:00:00Z",12.5]]}]}]}
 *
 * followed by a newline. As Go's encoding/json writes InfluxDB's structs
 * (their `omitempty` fields): a series without a name, tags, columns or
 * rows leaves that member out; a statement without series is
 * {"statement_id":0}; its error is "error" after its series; a query with
 * no statement is {}; a whole-query error is {"error":"..."}. With pretty,
 * the layout of json.MarshalIndent(v, "", "    "): one member or element
 * per line, four spaces per level, "key": value, empty containers as []/{}.
 *
 * It streams: each piece is written when its sink call arrives, so a
 * member that is omitted when empty ("series", "values") is opened by the
 * first element that needs it. The nesting is at most 6 deep
 * (response, results, result, series, series object, values, row).
 */
#include "encode_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define JMAX_DEPTH 8

typedef struct jstate {
    int depth;
    bool has_elem[JMAX_DEPTH];
    bool results_open; /* {"results":[ written */
    bool closed;       /* the top-level object is closed */
    bool series_open;  /* "series":[ written in this statement */
    bool values_open;  /* "values":[ written in this series */
} jstate;

/* Comma, newline and indentation before a member or element. */
static int j_elem(cts_qenc *e, jstate *j)
{
    if (j->has_elem[j->depth])
        qenc_outc(e, ',');
    j->has_elem[j->depth] = true;
    if (e->opts.pretty) {
        qenc_outc(e, '\n');
        qenc_outn(e, ' ', 4 * (size_t)j->depth);
    }
    return e->err;
}

static int j_open(cts_qenc *e, jstate *j, char c)
{
    if (j->depth + 1 >= JMAX_DEPTH)
        return CTS_EINVAL;
    j->depth++;
    j->has_elem[j->depth] = false;
    return qenc_outc(e, c);
}

static int j_close(cts_qenc *e, jstate *j, char c)
{
    if (e->opts.pretty && j->has_elem[j->depth]) {
        qenc_outc(e, '\n');
        qenc_outn(e, ' ', 4 * (size_t)(j->depth - 1));
    }
    j->depth--;
    return qenc_outc(e, c);
}

static int j_key(cts_qenc *e, jstate *j, const char *key)
{
    j_elem(e, j);
    qenc_outc(e, '"');
    qenc_outs(e, key);
    return qenc_outs(e, e->opts.pretty ? "\": " : "\":");
}

static int j_value(cts_qenc *e, const cts_qval *v)
{
    char num[QFMT_NUM_MAX];
    bool is_text;
    size_t n;
    switch (v->type) {
    case CTS_Q_FLOAT:
        if (!isfinite(v->v.f))
            return qenc_outs(e, "null"); /* JSON has no NaN or infinity */
        n = qfmt_float(v->v.f, QFLOAT_JSON, num);
        return qenc_out(e, num, n);
    case CTS_Q_INT:
    case CTS_Q_UINT:
    case CTS_Q_BOOL:
        n = qfmt_value(v, e->opts.epoch, QFLOAT_JSON, num).len;
        return qenc_out(e, num, n);
    case CTS_Q_STRING:
        return qenc_json_string(e, v->v.s.ptr ? v->v.s.ptr : "", v->v.s.ptr ? v->v.s.len : 0);
    case CTS_Q_TIME:
        n = qfmt_time(v->v.i, e->opts.epoch, num, &is_text);
        return is_text ? qenc_json_string(e, num, n) : qenc_out(e, num, n);
    default:
        return qenc_outs(e, "null");
    }
}

static int json_statement_begin(cts_qenc *e, uint32_t statement_id)
{
    jstate *j = e->state;
    char num[16];
    if (j->closed)
        return CTS_EINVAL;
    if (!j->results_open) {
        j_open(e, j, '{');
        j_key(e, j, "results");
        j_open(e, j, '[');
        j->results_open = true;
    }
    j_elem(e, j);
    j_open(e, j, '{');
    j_key(e, j, "statement_id");
    int n = snprintf(num, sizeof num, "%u", (unsigned)statement_id);
    j->series_open = false;
    return qenc_out(e, num, (size_t)n);
}

static int json_series_begin(cts_qenc *e, const cts_qseries *s)
{
    jstate *j = e->state;
    if (!j->series_open) {
        j_key(e, j, "series");
        j_open(e, j, '[');
        j->series_open = true;
    }
    j_elem(e, j);
    j_open(e, j, '{');
    if (s->name.len) {
        j_key(e, j, "name");
        qenc_json_string(e, s->name.ptr, s->name.len);
    }
    if (s->ntags) {
        j_key(e, j, "tags");
        j_open(e, j, '{');
        for (size_t i = 0; i < s->ntags; i++) {
            j_elem(e, j);
            qenc_json_string(e, s->tag_keys[i].ptr, s->tag_keys[i].len);
            qenc_outs(e, e->opts.pretty ? ": " : ":");
            qenc_json_string(e, s->tag_values[i].ptr, s->tag_values[i].len);
        }
        j_close(e, j, '}');
    }
    if (s->ncolumns) {
        j_key(e, j, "columns");
        j_open(e, j, '[');
        for (size_t i = 0; i < s->ncolumns; i++) {
            j_elem(e, j);
            qenc_json_string(e, s->columns[i].ptr, s->columns[i].len);
        }
        j_close(e, j, ']');
    }
    j->values_open = false;
    return e->err;
}

static int json_row(cts_qenc *e, const cts_qval *values)
{
    jstate *j = e->state;
    if (!j->values_open) {
        j_key(e, j, "values");
        j_open(e, j, '[');
        j->values_open = true;
    }
    j_elem(e, j);
    j_open(e, j, '[');
    for (size_t i = 0; i < e->ncolumns && !e->err; i++) {
        j_elem(e, j);
        j_value(e, &values[i]);
    }
    return j_close(e, j, ']');
}

static int json_series_end(cts_qenc *e)
{
    jstate *j = e->state;
    if (j->values_open)
        j_close(e, j, ']');
    return j_close(e, j, '}');
}

static int json_statement_end(cts_qenc *e, uint32_t statement_id, const char *error)
{
    jstate *j = e->state;
    (void)statement_id;
    if (j->series_open)
        j_close(e, j, ']');
    if (error) {
        j_key(e, j, "error");
        qenc_json_string(e, error, strlen(error));
    }
    return j_close(e, j, '}');
}

static int json_error(cts_qenc *e, const char *msg)
{
    jstate *j = e->state;
    if (j->closed)
        return 0;
    if (j->results_open)
        j_close(e, j, ']');
    else
        j_open(e, j, '{');
    j_key(e, j, "error");
    qenc_json_string(e, msg, strlen(msg));
    j_close(e, j, '}');
    j->closed = true;
    return qenc_outc(e, '\n');
}

static int json_finish(cts_qenc *e)
{
    jstate *j = e->state;
    if (j->closed)
        return 0;
    j->closed = true;
    if (!j->results_open)
        return qenc_outs(e, "{}\n");
    j_close(e, j, ']');
    j_close(e, j, '}');
    return qenc_outc(e, '\n');
}

static void json_destroy(cts_qenc *e)
{
    cts_free(e->state);
}

static const qenc_ops json_ops = {
    json_statement_begin, json_series_begin, json_row,    json_series_end,
    json_statement_end,   json_error,        json_finish, json_destroy,
};

int qenc_json_init(cts_qenc *e)
{
    e->state = cts_calloc(1, sizeof(jstate));
    if (!e->state)
        return CTS_ENOMEM;
    e->ops = &json_ops;
    return 0;
}
