/*
 * test_csv.c: CSV import (engine/csv.c, csv_map.c, csv_value.c).
 *
 * The specification is docs/csv.md: the mapping specs and their errors,
 * the header rules, RFC 4180 tokenizing (quotes, "" escapes, CRLF, empty
 * lines), strict values of every type, RFC 3339 and epoch times, and the
 * bad-row messages. Property tests: floats equal strtod's on random
 * decimal strings; the reader gives the same points, bad rows and row
 * numbers however the input is cut into chunks; allocation failures
 * anywhere lose nothing and leak nothing (ASan's leak checker).
 *
 * Points and bad rows are compared as text: each point is written as
 *   row|measurement|tag=value,...|field:type=value,...|ts_ns
 * with floats in %a (exact), so one string holds a whole result.
 */
#include "cts_test.h"

#include "cts_engine.h"

#include <math.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * A growing text buffer (test memory: plain malloc, never failed).
 * ------------------------------------------------------------------------ */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    sb_put(b, tmp, (size_t)n);
}

static void sb_str(sbuf *b, cts_str s)
{
    sb_put(b, s.ptr, s.len);
}

static const char *sb_text(const sbuf *b)
{
    return b->p ? b->p : "";
}

static void sb_free(sbuf *b)
{
    free(b->p);
    *b = (sbuf){0};
}

/* ------------------------------------------------------------------------
 * Driving a reader.
 * ------------------------------------------------------------------------ */
typedef struct result {
    sbuf points, bad;
    size_t npoints, nbad, batches;
    int rc; /* 0, or the error that stopped the run */
    char errmsg[CTS_CSV_MSG_MAX];
    cts_csv_stats st;
} result;

static void result_free(result *res)
{
    sb_free(&res->points);
    sb_free(&res->bad);
}

static void put_field(sbuf *b, const cts_field *f)
{
    sb_str(b, f->key);
    switch (f->type) {
    case CTS_TYPE_FLOAT:
        sb_printf(b, ":f=%a", f->v.f);
        break;
    case CTS_TYPE_INT:
        sb_printf(b, ":i=%lld", (long long)f->v.i);
        break;
    case CTS_TYPE_UINT:
        sb_printf(b, ":u=%llu", (unsigned long long)f->v.u);
        break;
    case CTS_TYPE_BOOL:
        sb_printf(b, ":b=%u", (unsigned)f->v.b);
        break;
    default:
        sb_put(b, ":s=", 3);
        sb_str(b, f->v.s);
        break;
    }
}

static void put_point(sbuf *b, const cts_point *p, uint64_t row)
{
    sb_printf(b, "%llu|", (unsigned long long)row);
    sb_str(b, p->measurement);
    sb_put(b, "|", 1);
    for (uint32_t i = 0; i < p->ntags; i++) {
        sb_put(b, i ? "," : "", i ? 1 : 0);
        sb_str(b, p->tags[i].key);
        sb_put(b, "=", 1);
        sb_str(b, p->tags[i].value);
    }
    sb_put(b, "|", 1);
    for (uint32_t i = 0; i < p->nfields; i++) {
        sb_put(b, i ? "," : "", i ? 1 : 0);
        put_field(b, &p->fields[i]);
    }
    sb_printf(b, "|%lld\n", (long long)p->ts_ns);
}

static void collect(result *res, const cts_csv_batch *b)
{
    uint64_t values = 0;
    assert_true(b->npoints + b->nbad > 0);
    for (size_t i = 0; i < b->npoints; i++) {
        put_point(&res->points, &b->points[i], b->point_row[i]);
        values += b->points[i].nfields;
    }
    assert_int_equal(values, b->values);
    for (size_t i = 0; i < b->nbad; i++)
        sb_printf(&res->bad, "%s [%u@%u]\n", b->bad[i].msg, b->bad[i].field, b->bad[i].byte_column);
    res->npoints += b->npoints;
    res->nbad += b->nbad;
    res->batches++;
}

/* CTS_ENOMEM results that drain retried. */
static long enomem_retries;

/* Take every batch until next gives 0; on CTS_ENOMEM with `retry`, stop
 * injecting failures and call again (nothing may have been lost). */
static int drain(cts_csv_reader *r, result *res, bool retry)
{
    cts_csv_batch b;
    int rc;
    for (;;) {
        rc = cts_csv_reader_next(r, &b);
        if (rc == CTS_ENOMEM && retry) {
            cts_alloc_fail_after(-1);
            enomem_retries++;
            continue;
        }
        if (rc <= 0)
            return rc;
        collect(res, &b);
    }
}

/* Feed in[0..len) cut at cuts[0..ncuts) (increasing offsets), then finish. */
static void run_cuts(cts_csv_reader *r, const char *in, size_t len, const size_t *cuts,
                     size_t ncuts, bool retry, result *res)
{
    size_t at = 0;
    memset(res, 0, sizeof *res);
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        int rc = cts_csv_reader_feed(r, in + at, end - at);
        if (rc == CTS_OK)
            rc = drain(r, res, retry);
        if (rc != CTS_OK) {
            res->rc = rc;
            goto out;
        }
        at = end;
    }
    assert_int_equal(cts_csv_reader_finish(r), CTS_OK);
    res->rc = drain(r, res, retry);
out:
    snprintf(res->errmsg, sizeof res->errmsg, "%s", cts_csv_reader_errmsg(r));
    cts_csv_reader_stats(r, &res->st);
}

static void run_opts(const cts_csv_opts *o, const char *in, size_t chunk, result *res)
{
    cts_csv_reader *r;
    size_t len = strlen(in), ncuts = 0;
    size_t *cuts = calloc(len + 1, sizeof *cuts);
    assert_int_equal(cts_csv_reader_create(o, &r), CTS_OK);
    for (size_t at = chunk; chunk && at < len; at += chunk)
        cuts[ncuts++] = at;
    run_cuts(r, in, len, cuts, ncuts, false, res);
    free(cuts);
    cts_csv_reader_destroy(r);
}

/* The usual mapping: air, time:rfc3339, tags city,sensor, fields
 * pm25:float,count:integer. */
static void opts_std(cts_csv_opts *o)
{
    cts_csv_opts_init(o);
    assert_int_equal(cts_csv_opts_set_measurement(o, "air"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_time(o, "time:rfc3339"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_tags(o, "city,sensor"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_fields(o, "pm25:float,count:integer"), CTS_OK);
    assert_int_equal(cts_csv_opts_check(o), CTS_OK);
}

/* A mapping: measurement "m", time "t:<fmt>", no tags, fields as given. */
static void opts_simple(cts_csv_opts *o, const char *time, const char *fields)
{
    cts_csv_opts_init(o);
    assert_int_equal(cts_csv_opts_set_measurement(o, "m"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_time(o, time), CTS_OK);
    assert_int_equal(cts_csv_opts_set_fields(o, fields), CTS_OK);
    if (cts_csv_opts_check(o) != CTS_OK)
        fail_msg("%s", o->errmsg);
}

static void expect_run(const cts_csv_opts *o, const char *in, const char *points, const char *bad)
{
    result res;
    run_opts(o, in, 0, &res);
    if (res.rc != 0)
        fail_msg("rc %d: %s", res.rc, res.errmsg);
    if (strcmp(sb_text(&res.points), points) != 0 || strcmp(sb_text(&res.bad), bad) != 0)
        fail_msg("input:\n%s\npoints:\n%swant:\n%sbad:\n%swant:\n%s", in, sb_text(&res.points),
                 points, sb_text(&res.bad), bad);
    result_free(&res);
}

/* One cell of a field or time column: the one-column file
 * "t,v\n<time>,<value>\n" under opts_simple(time, "v:<type>"). */
static void expect_cell(const char *time, const char *type, const char *tcell, const char *vcell,
                        const char *points, const char *bad)
{
    cts_csv_opts o;
    char fields[64], in[512];
    snprintf(fields, sizeof fields, "v:%s", type);
    opts_simple(&o, time, fields);
    snprintf(in, sizeof in, "t,v\n%s,%s\n", tcell, vcell);
    expect_run(&o, in, points, bad);
    cts_csv_opts_fini(&o);
}

/* A float cell gives exactly strtod's value. */
static void expect_float(const char *cell)
{
    char want[256];
    snprintf(want, sizeof want, "2|m||v:f=%a|0\n", strtod(cell, NULL));
    expect_cell("t:s", "float", "0", cell, want, "");
}

static void expect_cell_error(const char *type, const char *cell, const char *msg)
{
    char want[1200];
    snprintf(want, sizeof want, "%s [2@3]\n", msg);
    expect_cell("t:s", type, "0", cell, "", want);
}

/* A time cell under format `fmt` gives ns (or, with bad, that reason). */
static void expect_time(const char *fmt, const char *cell, int64_t ns)
{
    char time[32], want[128];
    snprintf(time, sizeof time, "t:%s", fmt);
    snprintf(want, sizeof want, "2|m||v:i=1|%lld\n", (long long)ns);
    expect_cell(time, "integer", cell, "1", want, "");
}

static void expect_time_error(const char *fmt, const char *cell, const char *reason)
{
    char time[32], want[1200];
    snprintf(time, sizeof time, "t:%s", fmt);
    snprintf(want, sizeof want, "row 2, column 1 (t): %s [1@1]\n", reason);
    expect_cell(time, "integer", cell, "1", "", want);
}

/* ------------------------------------------------------------------------
 * The mapping.
 * ------------------------------------------------------------------------ */
static void expect_spec_error(int (*set)(cts_csv_opts *, const char *), const char *spec,
                              const char *msg)
{
    cts_csv_opts o;
    cts_csv_opts_init(&o);
    int rc = set(&o, spec);
    if (rc != CTS_EINVAL || strcmp(o.errmsg, msg) != 0)
        fail_msg("spec '%s': rc %d, '%s', want '%s'", spec, rc, o.errmsg, msg);
    cts_csv_opts_fini(&o);
}

static void test_mapping_specs(void **state)
{
    (void)state;
    expect_spec_error(cts_csv_opts_set_fields, "pm25:flaot",
                      "fields: unknown type 'flaot' for column 'pm25' at byte 6 (expected "
                      "float, integer, unsigned, boolean or string)");
    expect_spec_error(cts_csv_opts_set_fields, "pm25:float,no2",
                      "fields: column 'no2' at byte 12 has no type (write name:type; types: "
                      "float, integer, unsigned, boolean, string)");
    expect_spec_error(cts_csv_opts_set_fields, "pm25:float,,no2:float",
                      "fields: empty column name at byte 12");
    expect_spec_error(cts_csv_opts_set_fields, "pm25:float,pm25:integer",
                      "fields: column 'pm25' is listed twice (items 1 and 2)");
    expect_spec_error(cts_csv_opts_set_fields, ":float", "fields: empty column name at byte 1");
    expect_spec_error(cts_csv_opts_set_tags, "city,city",
                      "tags: column 'city' is listed twice (items 1 and 2)");
    expect_spec_error(cts_csv_opts_set_tags, "city,", "tags: empty column name at byte 6");
    expect_spec_error(cts_csv_opts_set_tags, "temp:c",
                      "tags: ':' at byte 5 (a tag has no type; write '\\:' for a ':' in a name)");
    expect_spec_error(cts_csv_opts_set_tags, "a\\b",
                      "tags: '\\b' at byte 2 (only ',', ':' and '\\' are escaped)");
    expect_spec_error(cts_csv_opts_set_tags, "ab\\",
                      "tags: '\\' at the end (write '\\\\' for a backslash)");
    expect_spec_error(cts_csv_opts_set_time, "ts:sec",
                      "time: unknown time format 'sec' for column 'ts' at byte 4 (expected "
                      "rfc3339, s, ms, us or ns)");
    expect_spec_error(cts_csv_opts_set_time, "a,b", "time: expected one column, got 2");
    expect_spec_error(cts_csv_opts_set_time, "", "time: empty column name at byte 1");
    expect_spec_error(cts_csv_opts_set_measurement_column, "",
                      "measurement column: empty column name at byte 1");
    expect_spec_error(cts_csv_opts_set_measurement, "", "measurement: empty name");
    expect_spec_error(cts_csv_opts_set_delimiter, "ab",
                      "delimiter: expected one byte other than '\"', CR and LF, or 'tab', got "
                      "'ab'");
    expect_spec_error(cts_csv_opts_set_delimiter, "\"",
                      "delimiter: expected one byte other than '\"', CR and LF, or 'tab', got "
                      "'\"'");
    expect_spec_error(cts_csv_opts_set_unmapped, "skip",
                      "unmapped: expected 'error' or 'ignore', got 'skip'");

    /* A failed setter keeps what was set; a good one replaces it. */
    cts_csv_opts o;
    cts_csv_opts_init(&o);
    assert_int_equal(cts_csv_opts_set_measurement(&o, "air"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_fields(&o, "a:float"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_fields(&o, "a:bogus"), CTS_EINVAL);
    assert_int_equal(cts_csv_opts_check(&o), CTS_OK);
    assert_string_equal(o.errmsg, "");
    assert_int_equal(cts_csv_opts_set_delimiter(&o, "tab"), CTS_OK);
    assert_int_equal(o.delimiter, '\t');
    assert_int_equal(cts_csv_opts_set_delimiter(&o, "\\t"), CTS_OK);
    assert_int_equal(o.delimiter, '\t');
    assert_int_equal(cts_csv_opts_set_delimiter(&o, ";"), CTS_OK);
    assert_int_equal(o.delimiter, ';');
    assert_int_equal(cts_csv_opts_set_unmapped(&o, "ignore"), CTS_OK);
    assert_int_equal(o.unmapped, CTS_CSV_UNMAPPED_IGNORE);
    assert_int_equal(cts_csv_opts_set_unmapped(&o, "error"), CTS_OK);
    assert_int_equal(o.unmapped, CTS_CSV_UNMAPPED_ERROR);
    assert_int_equal(cts_csv_opts_set_tags(&o, ""), CTS_OK);
    assert_int_equal(cts_csv_opts_set_time(&o, "ts"), CTS_OK); /* rfc3339 by default */
    assert_int_equal(cts_csv_opts_check(&o), CTS_OK);
    assert_int_equal(cts_csv_opts_set_tags(NULL, "a"), CTS_EINVAL);
    assert_int_equal(cts_csv_opts_set_tags(&o, NULL), CTS_EINVAL);
    assert_string_equal(o.errmsg, "tags: no spec");
    cts_csv_opts_fini(&o);
    cts_csv_opts_fini(NULL);
}

static void expect_check_error(cts_csv_opts *o, const char *msg)
{
    cts_csv_reader *r = (cts_csv_reader *)1;
    if (cts_csv_opts_check(o) != CTS_EINVAL || strcmp(o->errmsg, msg) != 0)
        fail_msg("check: '%s', want '%s'", o->errmsg, msg);
    assert_int_equal(cts_csv_reader_create(o, &r), CTS_EINVAL);
    assert_null(r);
    cts_csv_opts_fini(o);
}

static void test_mapping_check(void **state)
{
    (void)state;
    cts_csv_opts o;
    cts_csv_opts_init(&o);
    expect_check_error(&o, "no measurement: set a measurement name or a measurement column");

    assert_int_equal(cts_csv_opts_set_measurement(&o, "air"), CTS_OK);
    expect_check_error(&o, "no field columns: map at least one (fields name:type,...)");

    assert_int_equal(cts_csv_opts_set_measurement(&o, "air"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_measurement_column(&o, "kind"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_fields(&o, "v:float"), CTS_OK);
    expect_check_error(&o, "both a measurement name and a measurement column are set: use one");

    opts_std(&o);
    assert_int_equal(cts_csv_opts_set_fields(&o, "pm25:float,city:string"), CTS_OK);
    expect_check_error(&o, "column 'city' is mapped twice: as a tag and as a field");

    opts_std(&o);
    assert_int_equal(cts_csv_opts_set_tags(&o, "city,time"), CTS_OK);
    expect_check_error(&o, "column 'time' is mapped twice: as the time column and as a tag");

    cts_csv_opts_init(&o);
    assert_int_equal(cts_csv_opts_set_measurement_column(&o, "v"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_fields(&o, "v:float"), CTS_OK);
    expect_check_error(&o, "column 'v' is mapped twice: as the measurement column and as a "
                           "field");

    opts_std(&o);
    o.delimiter = '"';
    expect_check_error(&o, "delimiter: 0x22 is not allowed ('\"', CR, LF and NUL are not)");
    opts_std(&o);
    o.max_record_bytes = 15;
    expect_check_error(&o, "max_record_bytes: 15 is outside 16 .. 1073741824");
    opts_std(&o);
    o.batch_points = 0;
    expect_check_error(&o, "batch_points: 0 is outside 1 .. 10000000");
    opts_std(&o);
    o.unmapped = (cts_csv_unmapped)7;
    expect_check_error(&o, "unmapped: invalid value 7");
}

/* ------------------------------------------------------------------------
 * The header.
 * ------------------------------------------------------------------------ */
static void expect_header_error(const cts_csv_opts *o, const char *in, const char *msg)
{
    result res;
    run_opts(o, in, 0, &res);
    if (res.rc != CTS_EPARSE || strcmp(res.errmsg, msg) != 0)
        fail_msg("input:\n%s\nrc %d '%s', want '%s'", in, res.rc, res.errmsg, msg);
    assert_int_equal(res.npoints + res.nbad, 0);
    result_free(&res);
}

static void test_header(void **state)
{
    (void)state;
    cts_csv_opts o;
    opts_std(&o);
    expect_header_error(&o, "time,city,pm25,count\n",
                        "header (row 1): mapped column not in the header: 'sensor' (tag)");
    expect_header_error(&o, "\n\ncity,x\n",
                        "header (row 3): mapped columns not in the header: 'time' (time "
                        "column), 'sensor' (tag), 'pm25' (field), 'count' (field)");
    expect_header_error(&o, "time,city,sensor,pm25,count,city\n",
                        "header (row 1): column 'city' appears twice (columns 2 and 6)");
    expect_header_error(&o, "time,city,sensor,pm25,count,no2\n",
                        "header (row 1): column 6 'no2' is not mapped (map it as a tag or a "
                        "field, or ignore unmapped columns)");
    expect_header_error(&o, "time,ci\"ty,sensor,pm25,count\n",
                        "header (row 1, byte 8): '\"' inside an unquoted cell (quote the cell "
                        "and double its quotes)");
    expect_header_error(&o, "", "no header: the input holds no record");
    expect_header_error(&o, "\r\n\n", "no header: the input holds no record");

    /* A long list of missing names is cut visibly. */
    cts_csv_opts many;
    cts_csv_opts_init(&many);
    sbuf spec = {0};
    for (int i = 0; i < 30; i++)
        sb_printf(&spec, "%sfield_%02d_with_a_rather_long_name_that_fills_the_message:float",
                  i ? "," : "", i);
    assert_int_equal(cts_csv_opts_set_measurement(&many, "m"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_fields(&many, sb_text(&spec)), CTS_OK);
    result res;
    run_opts(&many, "time\n", 0, &res);
    assert_int_equal(res.rc, CTS_EPARSE);
    size_t len = strlen(res.errmsg);
    assert_true(len > 500 && len < CTS_CSV_MSG_MAX - 1);
    assert_string_equal(res.errmsg + len - 5, ", ...");
    assert_non_null(strstr(res.errmsg, "mapped columns not in the header: "
                                       "'field_00_with_a_rather_long_name_that_fills_the_message' "
                                       "(field), 'field_01"));
    result_free(&res);
    sb_free(&spec);
    cts_csv_opts_fini(&many);

    /* Ignored unmapped columns, repeated unmapped names, a quoted header,
     * a byte-order mark, columns in any order. */
    o.unmapped = CTS_CSV_UNMAPPED_IGNORE;
    expect_run(&o,
               "\xEF\xBB\xBF\"count\",x,sensor,x,time,pm25,city\n"
               "3,a,s1,b,2026-01-05T10:00:00Z,12.5,lisbon\n",
               "2|air|sensor=s1,city=lisbon|count:i=3,pm25:f=0x1.9p+3|1767607200000000000\n", "");
    /* A partial mark is data, at the end of the input too. */
    expect_header_error(&o, "\xEF\xBB",
                        "header (row 1): mapped columns not in the header: 'time' (time "
                        "column), 'city' (tag), 'sensor' (tag), 'pm25' (field), 'count' (field)");
    expect_header_error(&o, "\xEF\xBBtime,city,sensor,pm25,count\n",
                        "header (row 1): mapped column not in the header: 'time' (time column)");

    /* A failed reader stays failed until reset. */
    cts_csv_reader *r;
    cts_csv_batch b;
    const char *bad = "nope\n",
               *good = "time,city,sensor,pm25,count\n2026-01-05T10:00:00Z,a,b,1,2\n";
    assert_int_equal(cts_csv_reader_create(&o, &r), CTS_OK);
    size_t nh;
    assert_null(cts_csv_reader_header(r, &nh));
    assert_int_equal(nh, 0);
    assert_int_equal(cts_csv_reader_feed(r, bad, strlen(bad)), CTS_OK);
    assert_int_equal(cts_csv_reader_next(r, &b), CTS_EPARSE);
    assert_int_equal(cts_csv_reader_next(r, &b), CTS_EPARSE);
    assert_int_equal(cts_csv_reader_feed(r, good, strlen(good)), CTS_EINVAL); /* chunk pending */
    assert_int_equal(cts_csv_reader_reset(r), CTS_OK);
    assert_string_equal(cts_csv_reader_errmsg(r), "");
    assert_int_equal(cts_csv_reader_feed(r, good, strlen(good)), CTS_OK);
    assert_int_equal(cts_csv_reader_next(r, &b), 1);
    assert_int_equal(b.npoints, 1);
    assert_int_equal(cts_csv_reader_next(r, &b), 0);
    const cts_str *h = cts_csv_reader_header(r, &nh);
    assert_int_equal(nh, 5);
    assert_int_equal(h[4].len, 5);
    assert_memory_equal(h[4].ptr, "count", 5);
    cts_csv_reader_destroy(r);
    cts_csv_opts_fini(&o);

    /* The header of a failed reader is refused before any row. */
    opts_std(&o);
    assert_int_equal(cts_csv_reader_create(&o, &r), CTS_OK);
    assert_int_equal(cts_csv_reader_feed(r, bad, strlen(bad)), CTS_OK);
    assert_int_equal(cts_csv_reader_next(r, &b), CTS_EPARSE);
    assert_int_equal(cts_csv_reader_finish(r), CTS_EINVAL); /* chunk still pending */
    assert_int_equal(cts_csv_reader_reset(r), CTS_OK);
    assert_int_equal(cts_csv_reader_feed(r, bad, strlen(bad)), CTS_OK);
    assert_int_equal(cts_csv_reader_next(r, &b), CTS_EPARSE);
    assert_int_equal(cts_csv_reader_feed(r, bad, 1), CTS_EINVAL);
    cts_csv_reader_destroy(r);
    /* A failed reader whose chunk is consumed refuses more input with its error. */
    const char *nl = "nope\n";
    assert_int_equal(cts_csv_reader_create(&o, &r), CTS_OK);
    assert_int_equal(cts_csv_reader_finish(r), CTS_OK);
    assert_int_equal(cts_csv_reader_next(r, &b), CTS_EPARSE);
    assert_string_equal(cts_csv_reader_errmsg(r), "no header: the input holds no record");
    assert_int_equal(cts_csv_reader_reset(r), CTS_OK);
    assert_int_equal(cts_csv_reader_feed(r, nl, 5), CTS_OK);
    assert_int_equal(cts_csv_reader_next(r, &b), CTS_EPARSE);
    assert_int_equal(cts_csv_reader_reset(NULL), CTS_EINVAL);
    cts_csv_reader_destroy(r);
    cts_csv_opts_fini(&o);
}

/* ------------------------------------------------------------------------
 * Values.
 * ------------------------------------------------------------------------ */
static void test_floats(void **state)
{
    (void)state;
    const char *good[] = {"0",
                          "-0",
                          "21.4",
                          "12.5",
                          ".5",
                          "5.",
                          "-3.25",
                          "1e3",
                          "1E-3",
                          "2.5e+2",
                          "007",
                          "0.1",
                          "1e22",
                          "1e23",
                          "123456789012345678",
                          "1234567890123456789012",
                          "0.000001",
                          "4.9e-324",
                          "1e-400",
                          "1.7976931348623157e308",
                          "0.30000000000000004",
                          "9007199254740993"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        expect_float(good[i]);
    expect_cell("t:s", "float", "0", "-0", "2|m||v:f=-0x0p+0|0\n", "");
    const char *bad[] = {"abc", "1.2.3", "1e", "1e+",  "+1",  " 1",    "1 ", "nan",
                         "inf", "-",     ".",  "0x10", "1,5", "1_000", "1d", "e5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[256];
        snprintf(msg, sizeof msg, "row 2, column 2 (v): invalid float '%s'", bad[i]);
        char in[64];
        snprintf(in, sizeof in, "\"%s\"", bad[i]); /* quoted: "1,5" is one cell */
        char want[300];
        snprintf(want, sizeof want, "%s [2@3]\n", msg);
        expect_cell("t:s", "float", "0", in, "", want);
    }
    expect_cell_error("float", "1e999", "row 2, column 2 (v): float out of range '1e999'");
    expect_cell_error("float", "-1e309", "row 2, column 2 (v): float out of range '-1e309'");
}

/* Random decimal strings: the reader's float is strtod's. */
static void test_floats_random(void **state)
{
    (void)state;
    cts_rng rng = {20261125};
    sbuf in = {0}, want = {0};
    sb_printf(&in, "t,v\n");
    for (int row = 0; row < 4000; row++) {
        char cell[64];
        size_t n = 0;
        if (cts_rng_below(&rng, 4) == 0)
            cell[n++] = '-';
        int ni = (int)cts_rng_below(&rng, row % 7 == 0 ? 24 : 8);
        int nf = (int)cts_rng_below(&rng, row % 5 == 0 ? 24 : 6);
        if (ni == 0 && nf == 0)
            ni = 1;
        for (int k = 0; k < ni; k++)
            cell[n++] = (char)('0' + cts_rng_below(&rng, 10));
        if (nf || cts_rng_below(&rng, 8) == 0)
            cell[n++] = '.';
        for (int k = 0; k < nf; k++)
            cell[n++] = (char)('0' + cts_rng_below(&rng, 10));
        if (cts_rng_below(&rng, 4) == 0)
            n += (size_t)snprintf(cell + n, sizeof cell - n, "e%d",
                                  (int)cts_rng_below(&rng, 700) - 350);
        cell[n] = '\0';
        double v = strtod(cell, NULL);
        sb_printf(&in, "%d,%s\n", row, cell);
        if (isinf(v))
            continue;
        sb_printf(&want, "%d|m||v:f=%a|%lld\n", row + 2, v, (long long)row * 1000000000ll);
    }
    cts_csv_opts o;
    opts_simple(&o, "t:s", "v:float");
    result res;
    run_opts(&o, sb_text(&in), 0, &res);
    assert_int_equal(res.rc, 0);
    if (strcmp(sb_text(&res.points), sb_text(&want)) != 0) {
        const char *a = sb_text(&res.points), *b = sb_text(&want);
        size_t i = 0;
        while (a[i] && a[i] == b[i])
            i++;
        fail_msg("differs at %zu: got '%.60s' want '%.60s'", i, a + i, b + i);
    }
    result_free(&res);
    sb_free(&in);
    sb_free(&want);
    cts_csv_opts_fini(&o);
}

static void test_integers(void **state)
{
    (void)state;
    expect_cell("t:s", "integer", "0", "42", "2|m||v:i=42|0\n", "");
    expect_cell("t:s", "integer", "0", "-42", "2|m||v:i=-42|0\n", "");
    expect_cell("t:s", "integer", "0", "0007", "2|m||v:i=7|0\n", "");
    expect_cell("t:s", "integer", "0", "9223372036854775807", "2|m||v:i=9223372036854775807|0\n",
                "");
    expect_cell("t:s", "integer", "0", "-9223372036854775808", "2|m||v:i=-9223372036854775808|0\n",
                "");
    expect_cell_error("integer", "9223372036854775808",
                      "row 2, column 2 (v): integer out of range '9223372036854775808'");
    expect_cell_error("integer", "-9223372036854775809",
                      "row 2, column 2 (v): integer out of range '-9223372036854775809'");
    expect_cell_error("integer", "99999999999999999999x",
                      "row 2, column 2 (v): invalid integer '99999999999999999999x'");
    const char *bad[] = {"1.0", "1e3", "+1", "-", "12i", "0x1", " 1", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[128];
        snprintf(msg, sizeof msg, "row 2, column 2 (v): invalid integer '%s'", bad[i]);
        expect_cell_error("integer", bad[i], msg);
    }

    expect_cell("t:s", "unsigned", "0", "18446744073709551615", "2|m||v:u=18446744073709551615|0\n",
                "");
    expect_cell("t:s", "unsigned", "0", "0", "2|m||v:u=0|0\n", "");
    expect_cell_error("unsigned", "18446744073709551616",
                      "row 2, column 2 (v): unsigned integer out of range "
                      "'18446744073709551616'");
    expect_cell_error("unsigned", "-1", "row 2, column 2 (v): invalid unsigned integer '-1'");
    expect_cell_error("unsigned", "+1", "row 2, column 2 (v): invalid unsigned integer '+1'");
    expect_cell_error("unsigned", "1u", "row 2, column 2 (v): invalid unsigned integer '1u'");
}

static void test_booleans_strings(void **state)
{
    (void)state;
    const char *yes[] = {"t", "T", "true", "True", "TRUE"};
    const char *no[] = {"f", "F", "false", "False", "FALSE"};
    for (size_t i = 0; i < 5; i++) {
        expect_cell("t:s", "boolean", "0", yes[i], "2|m||v:b=1|0\n", "");
        expect_cell("t:s", "boolean", "0", no[i], "2|m||v:b=0|0\n", "");
    }
    const char *bad[] = {"yes", "1", "0", "tRUE", "truE", "trues", "F ", "n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[128];
        snprintf(msg, sizeof msg, "row 2, column 2 (v): invalid boolean '%s'", bad[i]);
        expect_cell_error("boolean", bad[i], msg);
    }
    expect_cell("t:s", "string", "0", "hello world", "2|m||v:s=hello world|0\n", "");
    expect_cell("t:s", "string", "0", "\"a,b \"\"c\"\"\"", "2|m||v:s=a,b \"c\"|0\n", "");
    expect_cell("t:s", "string", "0", " 12 ", "2|m||v:s= 12 |0\n", "");
    /* A long bad cell is cut in the message; control bytes are escaped. */
    char cell[200], msg[512];
    memset(cell, 'x', 100);
    cell[100] = '\0';
    snprintf(msg, sizeof msg, "row 2, column 2 (v): invalid float '%.64s...'", cell);
    expect_cell_error("float", cell, msg);
    expect_cell("t:s", "float", "0", "\"a\tb\nc\"", "",
                "row 2, column 2 (v): invalid float 'a\\tb\\nc' [2@3]\n");
}

/* ------------------------------------------------------------------------
 * Times.
 * ------------------------------------------------------------------------ */
static void test_rfc3339(void **state)
{
    (void)state;
    const int64_t base = 1767607200ll * 1000000000ll; /* 2026-01-05T10:00:00Z */
    expect_time("rfc3339", "1970-01-01T00:00:00Z", 0);
    expect_time("rfc3339", "2026-01-05T10:00:00Z", base);
    expect_time("rfc3339", "2026-01-05t10:00:00z", base);
    expect_time("rfc3339", "2026-01-05 10:00:00Z", base);
    expect_time("rfc3339", "2026-01-05T11:00:00+01:00", base);
    expect_time("rfc3339", "2026-01-05T15:30:00+05:30", base);
    expect_time("rfc3339", "2026-01-05T02:00:00-08:00", base);
    expect_time("rfc3339", "2026-01-04T23:59:00-10:01", base);
    expect_time("rfc3339", "2026-01-05T10:00:00+00:00", base);
    expect_time("rfc3339", "2026-01-05T10:00:00-00:00", base);
    expect_time("rfc3339", "2026-01-05T10:00:00.5Z", base + 500000000);
    expect_time("rfc3339", "2026-01-05T10:00:00.12Z", base + 120000000);
    expect_time("rfc3339", "2026-01-05T10:00:00.123Z", base + 123000000);
    expect_time("rfc3339", "2026-01-05T10:00:00.1234Z", base + 123400000);
    expect_time("rfc3339", "2026-01-05T10:00:00.12345Z", base + 123450000);
    expect_time("rfc3339", "2026-01-05T10:00:00.123456Z", base + 123456000);
    expect_time("rfc3339", "2026-01-05T10:00:00.1234567Z", base + 123456700);
    expect_time("rfc3339", "2026-01-05T10:00:00.12345678Z", base + 123456780);
    expect_time("rfc3339", "2026-01-05T10:00:00.123456789Z", base + 123456789);
    expect_time("rfc3339", "2026-01-05T10:00:00.000000001+01:00", base - 3600000000000ll + 1);
    expect_time("rfc3339", "1969-12-31T23:59:59.999999999Z", -1);
    expect_time("rfc3339", "2024-02-29T00:00:00Z", 1709164800ll * 1000000000ll);
    expect_time("rfc3339", "2000-02-29T00:00:00Z", 951782400ll * 1000000000ll);
    expect_time("rfc3339", "2262-04-11T23:47:16.854775806Z", INT64_MAX - 1);
    expect_time("rfc3339", "1677-09-21T00:12:43.145224194Z", INT64_MIN + 2);

    const char *inv = "invalid RFC 3339 time";
    struct {
        const char *cell, *detail;
    } bad[] = {
        {"2026-02-30T00:00:00Z", "day out of range"},
        {"2026-02-29T00:00:00Z", "day out of range"},
        {"2100-02-29T00:00:00Z", "day out of range"},
        {"2026-04-31T00:00:00Z", "day out of range"},
        {"2026-01-00T00:00:00Z", "day out of range"},
        {"2026-13-01T00:00:00Z", "month out of range"},
        {"2026-00-01T00:00:00Z", "month out of range"},
        {"2026-01-01T24:00:00Z", "hour out of range"},
        {"2026-01-01T00:60:00Z", "minute out of range"},
        {"2026-01-01T00:00:60Z", "second out of range"},
        {"2026-01-01T00:00:00", "missing time zone ('Z' or +hh:mm, -hh:mm)"},
        {"2026-01-01T00:00:00.Z", "no digit after '.'"},
        {"2026-01-01T00:00:00.1234567890Z", "more than 9 fractional digits"},
        {"2026-01-01T00:00:00+0100", "invalid time zone offset (expected +hh:mm or -hh:mm)"},
        {"2026-01-01T00:00:00+24:00", "time zone offset out of range"},
        {"2026-01-01T00:00:00+01:60", "time zone offset out of range"},
        {"2026-01-01T00:00:00ZZ", "unexpected bytes after the time zone"},
        {"2026-01-01T00:00:00UTC", "expected 'Z' or an offset (+hh:mm, -hh:mm) after the seconds"},
        {"2026-01-01", "expected 'T' at byte 11"},
        {"2026-1-01T00:00:00Z", "expected YYYY-MM-DD at byte 1"},
        {"26-01-01T00:00:00Z", "expected YYYY-MM-DD at byte 1"},
        {"2026-01-01X00:00:00Z", "expected 'T' at byte 11"},
        {"2026-01-01T0:00:00Z", "expected HH:MM:SS at byte 12"},
        {"2026-01-01T00:00Z", "expected HH:MM:SS at byte 12"},
        {"1767607200", "expected YYYY-MM-DD at byte 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char reason[256];
        snprintf(reason, sizeof reason, "%s '%s': %s", inv, bad[i].cell, bad[i].detail);
        expect_time_error("rfc3339", bad[i].cell, reason);
    }
    expect_time_error("rfc3339", "2262-04-11T23:47:16.854775807Z",
                      "RFC 3339 time out of range '2262-04-11T23:47:16.854775807Z': outside "
                      "1677-09-21T00:12:43Z .. 2262-04-11T23:47:16Z");
    expect_time_error("rfc3339", "1677-09-21T00:12:43.145224193Z",
                      "RFC 3339 time out of range '1677-09-21T00:12:43.145224193Z': outside "
                      "1677-09-21T00:12:43Z .. 2262-04-11T23:47:16Z");
    expect_time_error("rfc3339", "9999-12-31T23:59:59Z",
                      "RFC 3339 time out of range '9999-12-31T23:59:59Z': outside "
                      "1677-09-21T00:12:43Z .. 2262-04-11T23:47:16Z");
    expect_time_error("rfc3339", "0000-01-01T00:00:00+23:59",
                      "RFC 3339 time out of range '0000-01-01T00:00:00+23:59': outside "
                      "1677-09-21T00:12:43Z .. 2262-04-11T23:47:16Z");
}

/* Every day from 1678 to 2261 (one per month) against days-from-civil as
 * timegm computes it. */
static void test_rfc3339_calendar(void **state)
{
    (void)state;
    sbuf in = {0}, want = {0};
    sb_printf(&in, "t,v\n");
    int row = 2;
    for (int y = 1678; y <= 2261; y += 7) {
        for (int m = 1; m <= 12; m++) {
            struct tm tm = {.tm_year = y - 1900,
                            .tm_mon = m - 1,
                            .tm_mday = 28,
                            .tm_hour = 13,
                            .tm_min = 14,
                            .tm_sec = 15};
            time_t t = timegm(&tm);
            sb_printf(&in, "%04d-%02d-28T13:14:15.25Z,1\n", y, m);
            sb_printf(&want, "%d|m||v:i=1|%lld\n", row++,
                      (long long)t * 1000000000ll + 250000000ll);
        }
    }
    cts_csv_opts o;
    opts_simple(&o, "t", "v:integer");
    expect_run(&o, sb_text(&in), sb_text(&want), "");
    cts_csv_opts_fini(&o);
    sb_free(&in);
    sb_free(&want);
}

static void test_epochs(void **state)
{
    (void)state;
    expect_time("s", "1767607200", 1767607200000000000ll);
    expect_time("s", "-1", -1000000000ll);
    expect_time("s", "0", 0);
    expect_time("ms", "1767607200123", 1767607200123000000ll);
    expect_time("us", "1767607200123456", 1767607200123456000ll);
    expect_time("ns", "1767607200123456789", 1767607200123456789ll);
    expect_time("ns", "9223372036854775806", INT64_MAX - 1);
    expect_time("ns", "-9223372036854775806", INT64_MIN + 2);
    expect_time("s", "9223372036", 9223372036000000000ll);
    expect_time("s", "-9223372036", -9223372036000000000ll);
    expect_time("ms", "9223372036854", 9223372036854000000ll);

    const char *range = "outside the int64 nanosecond range";
    char r1[256];
    const char *over[][2] = {{"s", "9223372037"},
                             {"s", "-9223372037"},
                             {"ms", "9223372036855"},
                             {"us", "9223372036854776"},
                             {"ns", "9223372036854775807"},
                             {"ns", "-9223372036854775807"},
                             {"ns", "-9223372036854775808"},
                             {"ns", "99999999999999999999"}};
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        snprintf(r1, sizeof r1, "epoch time out of range '%s': %s", over[i][1], range);
        expect_time_error(over[i][0], over[i][1], r1);
    }
    expect_time_error("s", "1.5", "invalid epoch time '1.5': expected an integer of seconds");
    expect_time_error("ms", "+5", "invalid epoch time '+5': expected an integer of milliseconds");
    expect_time_error("us", "1e6", "invalid epoch time '1e6': expected an integer of microseconds");
    expect_time_error("ns", "2026-01-05T10:00:00Z",
                      "invalid epoch time '2026-01-05T10:00:00Z': expected an integer of "
                      "nanoseconds");
}

/* ------------------------------------------------------------------------
 * Tokenizing, empty cells, rows.
 * ------------------------------------------------------------------------ */
static void test_quoting(void **state)
{
    (void)state;
    cts_csv_opts o;
    opts_std(&o);
    assert_int_equal(cts_csv_opts_set_fields(&o, "pm25:float,note:string"), CTS_OK);
    const char *hdr = "time,city,sensor,pm25,note\r\n";
    char in[1024];
    snprintf(in, sizeof in,
             "%s"
             "2026-01-05T10:00:00Z,\"lis,bon\",\"s\"\"1\",1,\"two\r\nlines\"\r\n"
             "\r\n"
             "\n"
             "\"2026-01-05T10:00:00Z\",\"\",s2,\"2.5\",\"\"\"\"\n"
             "2026-01-05T10:00:00Z,\"a\nb\nc\",s3,3,x\n"
             "2026-01-05T10:00:00Z,porto,s4,4,\"\"",
             hdr);
    expect_run(&o, in,
               "2|air|city=lis,bon,sensor=s\"1|pm25:f=0x1p+0,note:s=two\r\nlines|"
               "1767607200000000000\n"
               "6|air|sensor=s2|pm25:f=0x1.4p+1,note:s=\"|1767607200000000000\n"
               "7|air|city=a\nb\nc,sensor=s3|pm25:f=0x1.8p+1,note:s=x|1767607200000000000\n"
               "10|air|city=porto,sensor=s4|pm25:f=0x1p+2|1767607200000000000\n",
               "");

    /* Tokenizer faults: the row is bad, the next row is read. */
    snprintf(in, sizeof in,
             "%s"
             "2026-01-05T10:00:00Z,li\"sbon,s1,1,x\n"
             "2026-01-05T10:00:00Z,\"lisbon\"x,s1,1,x\n"
             "2026-01-05T10:00:00Z,lisbon,s1\r,1,x\n"
             "2026-01-05T10:00:00Z,lisbon,s1,1\n"
             "2026-01-05T10:00:00Z,lisbon,s1,1,x,y\n"
             "2026-01-05T10:00:00Z,lisbon,s1,1,x\n"
             "2026-01-05T10:00:00Z,lisbon,s1,1,\"open\nquote,\n",
             hdr);
    expect_run(&o, in, "7|air|city=lisbon,sensor=s1|pm25:f=0x1p+0,note:s=x|1767607200000000000\n",
               "row 2, column 2 (city): '\"' inside an unquoted cell (quote the cell and double "
               "its quotes) [2@24]\n"
               "row 3, column 2 (city): 'x' after a closing quote (expected the delimiter or a "
               "newline) [2@30]\n"
               "row 4, column 3 (sensor): carriage return not followed by a line feed [3@31]\n"
               "row 5: 4 cells, the header has 5 [0@1]\n"
               "row 6: 6 cells, the header has 5 [0@1]\n"
               "row 8, column 5 (note): quoted cell not closed at the end of the input [5@34]\n");

    /* The first fault of a record wins; a fault past the header's columns
     * has no name; control bytes in a quoted byte are escaped. */
    snprintf(in, sizeof in,
             "%s"
             "2026-01-05T10:00:00Z,a\"b,\"s\"x,1,x\n"
             "2026-01-05T10:00:00Z,a,b,1,x,\"y\"z\n"
             "2026-01-05T10:00:00Z,a,\"b\"\x01,1,x\n",
             hdr);
    expect_run(&o, in, "",
               "row 2, column 2 (city): '\"' inside an unquoted cell (quote the cell and double "
               "its quotes) [2@23]\n"
               "row 3, column 6: 'z' after a closing quote (expected the delimiter or a newline) "
               "[6@33]\n"
               "row 4, column 3 (sensor): '\\x01' after a closing quote (expected the delimiter "
               "or a newline) [3@27]\n");
    cts_csv_opts_fini(&o);

    /* Other delimiters. */
    opts_std(&o);
    assert_int_equal(cts_csv_opts_set_delimiter(&o, "tab"), CTS_OK);
    expect_run(&o, "time\tcity\tsensor\tpm25\tcount\n2026-01-05T10:00:00Z\ta,b\t\"x\ty\"\t1\t2\n",
               "2|air|city=a,b,sensor=x\ty|pm25:f=0x1p+0,count:i=2|1767607200000000000\n", "");
    assert_int_equal(cts_csv_opts_set_delimiter(&o, ";"), CTS_OK);
    expect_run(&o, "time;city;sensor;pm25;count\n2026-01-05T10:00:00Z;a,b;x;1.5;2\n",
               "2|air|city=a,b,sensor=x|pm25:f=0x1.8p+0,count:i=2|1767607200000000000\n", "");
    cts_csv_opts_fini(&o);
}

static void test_empty_cells(void **state)
{
    (void)state;
    cts_csv_opts o;
    opts_std(&o);
    expect_run(&o,
               "time,city,sensor,pm25,count\n"
               "2026-01-05T10:00:00Z,,s1,1.5,\n"    /* no city tag, no count */
               "2026-01-05T10:00:00Z,lisbon,,,7\n"  /* no sensor, no pm25 */
               "2026-01-05T10:00:00Z,lisbon,s1,,\n" /* no field at all */
               ",lisbon,s1,1,2\n"                   /* no time */
               "\"\",lisbon,s1,1,2\n"               /* no time, quoted */
               "2026-01-05T10:00:00Z,\"\",\"\",\"\",\"3\"\n",
               "2|air|sensor=s1|pm25:f=0x1.8p+0|1767607200000000000\n"
               "3|air|city=lisbon|count:i=7|1767607200000000000\n"
               "7|air||count:i=3|1767607200000000000\n",
               "row 4: no field values (every field cell is empty) [0@1]\n"
               "row 5, column 1 (time): empty time [1@1]\n"
               "row 6, column 1 (time): empty time [1@1]\n");
    cts_csv_opts_fini(&o);

    /* The measurement from a column. */
    cts_csv_opts_init(&o);
    assert_int_equal(cts_csv_opts_set_measurement_column(&o, "kind"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_time(&o, "ts:ms"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_fields(&o, "v:float"), CTS_OK);
    expect_run(&o, "ts,kind,v\n1000,air,1\n2000,,2\n3000,\"wea ther\",3\n",
               "2|air||v:f=0x1p+0|1000000000\n4|wea ther||v:f=0x1.8p+1|3000000000\n",
               "row 3, column 2 (kind): empty measurement [2@6]\n");
    cts_csv_opts_fini(&o);

    /* Names with escapes in the spec; a one-column file and its empty lines. */
    cts_csv_opts_init(&o);
    assert_int_equal(cts_csv_opts_set_measurement(&o, "m"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_time(&o, "a\\:b\\\\c:s"), CTS_OK);
    assert_int_equal(cts_csv_opts_set_fields(&o, "x\\,y:unsigned"), CTS_OK);
    expect_run(&o, "\"a:b\\c\",\"x,y\"\n5,6\n", "2|m||x,y:u=6|5000000000\n", "");
    cts_csv_opts_fini(&o);
}

/* Copies of one batch spread over several scratch blocks stay valid. */
static void test_large_values(void **state)
{
    (void)state;
    cts_csv_opts o;
    opts_simple(&o, "t:s", "v:string");
    assert_int_equal(cts_csv_opts_set_tags(&o, "k"), CTS_OK);
    o.batch_points = 10;
    sbuf in = {0}, want = {0};
    sb_printf(&in, "t,k,v\n");
    char *big = malloc(150001);
    for (int row = 0; row < 25; row++) {
        size_t n = 1000 + (size_t)row * 6000;
        memset(big, 'a' + row, n);
        big[n] = '\0';
        sb_printf(&in, "%d,%c%c,", row, 'a' + row, 'A' + row);
        sb_put(&in, big, n);
        sb_put(&in, "\n", 1);
        sb_printf(&want, "%d|m|k=%c%c|v:s=", row + 2, 'a' + row, 'A' + row);
        sb_put(&want, big, n);
        sb_printf(&want, "|%lld\n", (long long)row * 1000000000ll);
    }
    free(big);
    result res;
    run_opts(&o, sb_text(&in), 0, &res);
    assert_int_equal(res.rc, 0);
    assert_int_equal(res.batches, 3);
    assert_true(strcmp(sb_text(&res.points), sb_text(&want)) == 0);
    result_free(&res);
    sb_free(&in);
    sb_free(&want);
    cts_csv_opts_fini(&o);
}

static void test_long_records(void **state)
{
    (void)state;
    cts_csv_opts o;
    opts_simple(&o, "t:s", "v:string");
    o.max_record_bytes = 16;
    /* 16 bytes are fine, 17 are not; the skip ends at the next '\n' even
     * inside quotes; "\r\n" counts its '\r'. */
    expect_run(&o,
               "t,v\n"
               "1,12345678901234\n"
               "2,123456789012345\n"
               "3,\"1234567890\n4\"\n"
               "4,1234567890123\r\n"
               "5,12345678901234\r\n"
               "6,\"12345678901234\n"
               "7,x\n",
               "2|m||v:s=12345678901234|1000000000\n"
               "4|m||v:s=1234567890\n4|3000000000\n"
               "6|m||v:s=1234567890123|4000000000\n"
               "9|m||v:s=x|7000000000\n",
               "row 3: record longer than 16 bytes [0@17]\n"
               "row 7: record longer than 16 bytes [0@17]\n"
               "row 8: record longer than 16 bytes [0@17]\n");
    /* A record too long at the end of the input; the header too long. */
    expect_run(&o, "t,v\n1,x\n2,12345678901234567890", "2|m||v:s=x|1000000000\n",
               "row 3: record longer than 16 bytes [0@17]\n");
    expect_header_error(&o, "t,v,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n1,2\n",
                        "header (row 1, byte 17): record longer than 16 bytes");
    cts_csv_opts_fini(&o);
}

/* ------------------------------------------------------------------------
 * Streaming.
 * ------------------------------------------------------------------------ */

/* A file with every tokenizer path: a mark, CRLF, quoted delimiters and
 * newlines, doubled quotes, empty lines and cells, bad rows of each kind
 * (the first five rows: one of each tokenizer fault and a too long
 * record), no final newline, and with open_tail a quote left open at the
 * end. */
static void tricky_input(sbuf *in, cts_rng *rng, int rows, bool open_tail)
{
    static const char *cities[] = {"lisbon", "\"por,to\"", "\"ma\"\"drid\"", "", "\"ber\r\nlin\""};
    static const char *pm[] = {"12.5", "\"7\"", "", "x1", "1e400", "-0.25", "3"};
    static const char *nl[] = {"\n", "\r\n", "\n\n", "\r\n\r\n", "\n"};
    sb_put(in, "\xEF\xBB\xBF", 3);
    sb_printf(in, "time,\"city\",sensor,pm25,count%s", nl[cts_rng_below(rng, 5)]);
    for (int i = 0; i < rows; i++) {
        int kind = i < 5 ? i : (int)cts_rng_below(rng, 40);
        if (kind == 0)
            sb_printf(in, "2026-01-05T10:00:00Z,a\"b,s,1,2");
        else if (kind == 1)
            sb_printf(in, "\"2026-01-05T10:00:00Z\"x,a,s,1,2");
        else if (kind == 2)
            sb_printf(in, "2026-01-05T10:00:00Z,a\rb,s,1,2");
        else if (kind == 3)
            sb_printf(in, "2026-01-05T10:00:00Z,a,s,1");
        else if (kind == 4)
            sb_printf(in, "2026-01-05T10:00:%02d.5+01:00,\"%0200d\",s,1,2", i % 60, i);
        else
            sb_printf(in, "2026-01-05T%02d:%02d:%02dZ,%s,\"s%d\",%s,%s", i / 3600 % 24, i / 60 % 60,
                      i % 60, cities[cts_rng_below(rng, 5)], i, pm[cts_rng_below(rng, 7)],
                      cts_rng_below(rng, 3) ? "3" : "");
        sb_printf(in, "%s", i + 1 < rows ? nl[cts_rng_below(rng, 5)] : "");
    }
    if (open_tail)
        sb_printf(in, "\r\n2026-01-05T10:00:00Z,a,s,1,\"3\nx");
}

static void expect_same(const result *a, const result *b, const char *what)
{
    if (a->rc != b->rc || strcmp(sb_text(&a->points), sb_text(&b->points)) != 0 ||
        strcmp(sb_text(&a->bad), sb_text(&b->bad)) != 0)
        fail_msg("%s: results differ (rc %d vs %d; %zu vs %zu points; %zu vs %zu bad)", what, a->rc,
                 b->rc, a->npoints, b->npoints, a->nbad, b->nbad);
    assert_int_equal(a->st.lines, b->st.lines);
    assert_int_equal(a->st.rows, b->st.rows);
    assert_int_equal(a->st.bad_rows, b->st.bad_rows);
    assert_int_equal(a->st.values, b->st.values);
}

static void test_chunk_boundaries(void **state)
{
    (void)state;
    cts_rng rng = {77};
    cts_csv_opts o;
    opts_std(&o);
    o.max_record_bytes = 180;
    o.batch_points = 7;
    cts_csv_reader *r;
    assert_int_equal(cts_csv_reader_create(&o, &r), CTS_OK);

    /* Small input: every single cut and every pair of cuts around it. */
    sbuf small = {0};
    tricky_input(&small, &rng, 12, true);
    result whole, cut;
    run_cuts(r, small.p, small.len, NULL, 0, false, &whole);
    assert_int_equal(whole.rc, 0);
    assert_true(whole.npoints > 3 && whole.nbad >= 6);
    assert_non_null(strstr(sb_text(&whole.bad), "not closed at the end of the input"));
    assert_non_null(strstr(sb_text(&whole.bad), "record longer than 180 bytes"));
    for (size_t a = 1; a < small.len; a++) {
        assert_int_equal(cts_csv_reader_reset(r), CTS_OK);
        size_t cuts[2] = {a, a + 1 + cts_rng_below(&rng, small.len - a)};
        run_cuts(r, small.p, small.len, cuts, cuts[1] < small.len ? 2 : 1, false, &cut);
        expect_same(&whole, &cut, "two cuts");
        result_free(&cut);
    }
    /* One byte at a time. */
    size_t *cuts = calloc(small.len, sizeof *cuts);
    for (size_t i = 0; i + 1 < small.len; i++)
        cuts[i] = i + 1;
    assert_int_equal(cts_csv_reader_reset(r), CTS_OK);
    run_cuts(r, small.p, small.len, cuts, small.len - 1, false, &cut);
    expect_same(&whole, &cut, "bytes");
    result_free(&cut);
    free(cuts);
    result_free(&whole);
    sb_free(&small);

    /* Larger inputs: random cuts. */
    for (int round = 0; round < 20; round++) {
        sbuf in = {0};
        tricky_input(&in, &rng, 300, round % 2 == 0);
        assert_int_equal(cts_csv_reader_reset(r), CTS_OK);
        run_cuts(r, in.p, in.len, NULL, 0, false, &whole);
        size_t n = 1 + cts_rng_below(&rng, 200), at = 0, k = 0;
        size_t *c = calloc(n, sizeof *c);
        for (; k < n; k++) {
            at += 1 + cts_rng_below(&rng, 2 * in.len / n);
            if (at >= in.len)
                break;
            c[k] = at;
        }
        assert_int_equal(cts_csv_reader_reset(r), CTS_OK);
        run_cuts(r, in.p, in.len, c, k, false, &cut);
        expect_same(&whole, &cut, "random cuts");
        result_free(&cut);
        result_free(&whole);
        free(c);
        sb_free(&in);
    }
    cts_csv_reader_destroy(r);
    cts_csv_opts_fini(&o);
}

static void test_batches_and_stats(void **state)
{
    (void)state;
    cts_csv_opts o;
    opts_simple(&o, "t:s", "v:integer");
    o.batch_points = 3;
    cts_csv_reader *r;
    cts_csv_batch b;
    assert_int_equal(cts_csv_reader_create(&o, &r), CTS_OK);
    const char *c1 = "t,v\n1,1\n2,2\n3,x\n4,4\n5,5\n6,6\n7,";
    const char *c2 = "7\n8,8\n";
    assert_int_equal(cts_csv_reader_feed(r, c1, strlen(c1)), CTS_OK);
    assert_int_equal(cts_csv_reader_feed(r, c2, strlen(c2)), CTS_EINVAL);
    assert_int_equal(cts_csv_reader_finish(r), CTS_EINVAL);
    assert_int_equal(cts_csv_reader_next(r, &b), 1);
    assert_int_equal(b.npoints, 3); /* rows 2, 3, 5; row 4 is bad */
    assert_int_equal(b.nbad, 1);
    assert_int_equal(b.point_row[2], 5);
    assert_int_equal(b.bad[0].row, 4);
    assert_string_equal(b.bad[0].reason, "invalid integer 'x'");
    assert_int_equal(b.values, 3);
    assert_int_equal(cts_csv_reader_next(r, &b), 1); /* the chunk ends its batch */
    assert_int_equal(b.npoints, 2);
    assert_int_equal(b.points[1].ts_ns, 6000000000ll);
    assert_int_equal(cts_csv_reader_next(r, &b), 0);
    assert_int_equal(cts_csv_reader_feed(r, c2, strlen(c2)), CTS_OK);
    assert_int_equal(cts_csv_reader_next(r, &b), 1);
    assert_int_equal(b.npoints, 2);
    assert_int_equal(b.point_row[0], 8);
    assert_int_equal(cts_csv_reader_next(r, &b), 0);
    assert_int_equal(cts_csv_reader_finish(r), CTS_OK);
    assert_int_equal(cts_csv_reader_feed(r, c2, 1), CTS_EINVAL);
    assert_int_equal(cts_csv_reader_next(r, &b), 0);
    assert_int_equal(cts_csv_reader_next(r, &b), 0);
    cts_csv_stats st;
    cts_csv_reader_stats(r, &st);
    assert_int_equal(st.bytes, strlen(c1) + strlen(c2));
    assert_int_equal(st.lines, 9);
    assert_int_equal(st.rows, 8);
    assert_int_equal(st.points, 7);
    assert_int_equal(st.values, 7);
    assert_int_equal(st.bad_rows, 1);
    assert_int_equal(st.batches, 3);
    assert_int_equal(cts_csv_reader_next(NULL, &b), CTS_EINVAL);
    assert_int_equal(cts_csv_reader_next(r, NULL), CTS_EINVAL);
    assert_int_equal(cts_csv_reader_feed(r, NULL, 1), CTS_EINVAL);
    cts_csv_reader_destroy(r);
    cts_csv_reader_destroy(NULL);
    assert_int_equal(cts_csv_reader_create(&o, NULL), CTS_EINVAL);
    assert_int_equal(cts_csv_reader_create(NULL, &r), CTS_EINVAL);
    cts_csv_opts_fini(&o);

    /* Bad rows fill batches too. */
    opts_simple(&o, "t:s", "v:integer");
    o.batch_points = 2;
    result res;
    run_opts(&o, "t,v\nx,1\nx,2\nx,3\n4,4\n", 0, &res);
    assert_int_equal(res.batches, 2);
    assert_int_equal(res.nbad, 3);
    assert_int_equal(res.npoints, 1);
    result_free(&res);
    cts_csv_opts_fini(&o);
}

/* ------------------------------------------------------------------------
 * Allocation failures.
 * ------------------------------------------------------------------------ */

/* The mapping setters under failure: each fails cleanly or succeeds. */
static void alloc_opts(cts_csv_opts *o)
{
    for (long n = 0;; n++) {
        cts_csv_opts_init(o);
        cts_alloc_fail_after(n);
        int rc = cts_csv_opts_set_measurement(o, "air");
        if (rc == CTS_OK)
            rc = cts_csv_opts_set_tags(o, "city,sensor");
        if (rc == CTS_OK)
            rc = cts_csv_opts_set_fields(o, "pm25:float,count:integer");
        if (rc == CTS_OK)
            rc = cts_csv_opts_set_time(o, "time");
        cts_alloc_fail_after(-1);
        if (rc == CTS_OK)
            break;
        assert_int_equal(rc, CTS_ENOMEM);
        cts_csv_opts_fini(o);
    }
    assert_int_equal(cts_csv_opts_check(o), CTS_OK);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    cts_rng rng = {5};
    cts_csv_opts o;
    alloc_opts(&o);
    o.batch_points = 5;
    o.max_record_bytes = 180;
    sbuf in = {0};
    tricky_input(&in, &rng, 60, true);
    size_t cuts[3] = {in.len / 5, in.len / 2, in.len / 2 + 7};
    cts_csv_reader *r;
    result want, got;
    assert_int_equal(cts_csv_reader_create(&o, &r), CTS_OK);
    run_cuts(r, in.p, in.len, cuts, 3, false, &want);
    cts_csv_reader_destroy(r);
    assert_int_equal(want.rc, 0);

    enomem_retries = 0;
    for (long n = 0; n < 400; n++) {
        cts_alloc_fail_after(n);
        int rc = cts_csv_reader_create(&o, &r);
        if (rc != CTS_OK) {
            cts_alloc_fail_after(-1);
            assert_int_equal(rc, CTS_ENOMEM);
            assert_null(r);
            continue;
        }
        run_cuts(r, in.p, in.len, cuts, 3, true, &got);
        cts_alloc_fail_after(-1);
        expect_same(&want, &got, "allocation failure");
        result_free(&got);
        cts_csv_reader_destroy(r);
    }
    assert_true(enomem_retries > 10);
    result_free(&want);
    sb_free(&in);
    cts_csv_opts_fini(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapping_specs),    cmocka_unit_test(test_mapping_check),
        cmocka_unit_test(test_header),           cmocka_unit_test(test_floats),
        cmocka_unit_test(test_floats_random),    cmocka_unit_test(test_integers),
        cmocka_unit_test(test_booleans_strings), cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_rfc3339_calendar), cmocka_unit_test(test_epochs),
        cmocka_unit_test(test_quoting),          cmocka_unit_test(test_empty_cells),
        cmocka_unit_test(test_large_values),     cmocka_unit_test(test_long_records),
        cmocka_unit_test(test_chunk_boundaries), cmocka_unit_test(test_batches_and_stats),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
