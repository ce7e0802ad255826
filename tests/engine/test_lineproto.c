/*
 * test_lineproto.c: the line-protocol parser, formatter and streaming
 * reader (engine/lineproto.c, lp_reader.c, lp_format.c).
 *
 * The specification is InfluxDB 1.x: the examples of its line-protocol
 * reference, and every error of its Go parser with its exact wording.
 * Property tests: floats equal strtod's on random decimal strings; random
 * points survive format -> parse; the reader gives the same points, bad
 * lines and line numbers however the input is cut into chunks; allocation
 * failures anywhere lose nothing and leak nothing.
 */
#include "cts_test.h"

#include "cts_engine.h"

#include <locale.h>
#include <math.h>

#define NOW 1700000000123456789ll

static cts_lp_opts opts_default(void)
{
    cts_lp_opts o;
    cts_lp_opts_init(&o);
    o.now_ns = NOW;
    return o;
}

/* Parse one line that must give a point (into a static cts_lp_point). */
static const cts_point *ok_with(const char *line, const cts_lp_opts *o)
{
    static cts_lp_point p;
    static bool init;
    cts_lp_error err;
    if (!init) {
        cts_lp_point_init(&p);
        init = true;
    }
    int rc = cts_lp_parse_line(line, strlen(line), o, &p, &err);
    if (rc != 1)
        fail_msg("'%s': rc %d: %s", line, rc, rc == CTS_EPARSE ? err.msg : "");
    return &p.point;
}

static const cts_point *ok(const char *line)
{
    cts_lp_opts o = opts_default();
    return ok_with(line, &o);
}

static cts_lp_error err_with(const char *line, const cts_lp_opts *o)
{
    cts_lp_point p;
    cts_lp_error err;
    cts_lp_point_init(&p);
    int rc = cts_lp_parse_line(line, strlen(line), o, &p, &err);
    if (rc != CTS_EPARSE)
        fail_msg("'%s': expected a parse error, got %d", line, rc);
    cts_lp_point_fini(&p);
    return err;
}

static void expect_err_with(const char *line, const char *reason, uint32_t col,
                            const cts_lp_opts *o)
{
    cts_lp_error e = err_with(line, o);
    if (strcmp(e.reason, reason) != 0 || (col && e.column != col))
        fail_msg("'%s': got '%s' at %u, want '%s' at %u", line, e.reason, e.column, reason, col);
    assert_int_equal(e.line, 1);
}

static void expect_err(const char *line, const char *reason, uint32_t col)
{
    cts_lp_opts o = opts_default();
    expect_err_with(line, reason, col, &o);
}

static bool str_is(cts_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void assert_str(cts_str s, const char *want)
{
    if (!str_is(s, want))
        fail_msg("got '%.*s', want '%s'", (int)s.len, s.ptr, want);
}

static const cts_field *field(const cts_point *p, const char *key)
{
    for (uint32_t i = 0; i < p->nfields; i++)
        if (str_is(p->fields[i].key, key))
            return &p->fields[i];
    fail_msg("no field '%s'", key);
    return NULL;
}

static double float_of(const char *value)
{
    char line[512];
    snprintf(line, sizeof line, "m v=%s", value);
    const cts_field *f = field(ok(line), "v");
    assert_int_equal(f->type, CTS_TYPE_FLOAT);
    return f->v.f;
}

/* ------------------------------------------------------------------------
 * Syntax and values.
 * ------------------------------------------------------------------------ */

static void test_city_line(void **state)
{
    (void)state;
    const cts_point *p = ok("air,city=lisbon,district=d07,sensor=lis-air-0042 "
                            "pm25=12.5,pm10=20.1,no2=31.7 1764000000000000000");
    assert_str(p->measurement, "air");
    assert_int_equal(p->ntags, 3);
    assert_str(p->tags[0].key, "city");
    assert_str(p->tags[0].value, "lisbon");
    assert_str(p->tags[2].key, "sensor");
    assert_str(p->tags[2].value, "lis-air-0042");
    assert_int_equal(p->nfields, 3);
    assert_str(p->fields[1].key, "pm10");
    assert_true(p->fields[0].v.f == 12.5 && p->fields[1].v.f == 20.1 && p->fields[2].v.f == 31.7);
    assert_int_equal(p->ts_ns, 1764000000000000000ll);
}

/* The examples of InfluxDB's line-protocol reference, one by one. */
static void test_reference_examples(void **state)
{
    (void)state;
    const cts_point *p = ok("weather,location=us-midwest temperature=82 1465839830100400200");
    assert_str(p->tags[0].value, "us-midwest");
    assert_true(field(p, "temperature")->v.f == 82.0);
    assert_int_equal(p->ts_ns, 1465839830100400200ll);
    assert_true(float_of("-1.234456e+78") == -1.234456e+78);
    assert_true(float_of("1.0") == 1.0 && float_of("1") == 1.0);
    assert_true(float_of("1.e+78") == 1e78 && float_of("1.E+78") == 1e78);
    const cts_field *f = field(ok("mymeas value=1i"), "value");
    assert_true(f->type == CTS_TYPE_INT && f->v.i == 1);
    f = field(ok("mymeas value=\"stringing along\""), "value");
    assert_int_equal(f->type, CTS_TYPE_STRING);
    assert_str(f->v.s, "stringing along");
    f = field(ok("mymeas value=true"), "value");
    assert_true(f->type == CTS_TYPE_BOOL && f->v.b == 1);
    f = field(ok("mymeas value=\"true\""), "value");
    assert_int_equal(f->type, CTS_TYPE_STRING);
    assert_str(ok("\"mymeas\" value=200")->measurement, "\"mymeas\"");
    assert_str(ok("time value=1")->measurement, "time");

    cts_lp_opts o = opts_default();
    cts_lp_error e = err_with("mymeas value=9 \"1466625759000000000\"", &o);
    assert_string_equal(e.msg,
                        "unable to parse 'mymeas value=9 \"1466625759000000000\"': bad timestamp");

    p = ok("\"measurement\\ with\\ quo⚡️es\\ and\\ emoji\",tag\\ key\\ with\\ sp🚀ces="
           "tag\\,value\\,with\"commas\" field_k\\ey=\"string field value, only \\\" need be "
           "esc🍭ped\"");
    assert_str(p->measurement, "\"measurement with quo⚡️es and emoji\"");
    assert_str(p->tags[0].key, "tag key with sp🚀ces");
    assert_str(p->tags[0].value, "tag,value,with\"commas\"");
    assert_str(p->fields[0].key, "field_k\\ey");
    assert_str(p->fields[0].v.s, "string field value, only \" need be esc🍭ped");
}

static void test_time_key(void **state)
{
    (void)state;
    cts_lp_opts o = opts_default();
    cts_lp_error e = err_with("mymeas time=1", &o);
    assert_int_equal(e.kind, CTS_LP_EREJECTED);
    assert_string_equal(e.msg,
                        "invalid field name: input field \"time\" on measurement \"mymeas\" is "
                        "invalid");
    assert_int_equal(e.column, 8);
    e = err_with("mymeas,time=1 value=1", &o);
    assert_int_equal(e.kind, CTS_LP_EREJECTED);
    assert_string_equal(e.msg,
                        "invalid tag key: input tag \"time\" on measurement \"mymeas\" is invalid");
    assert_int_equal(e.column, 8);
    /* A `time` field among others is dropped, as InfluxDB's engine does. */
    const cts_point *p = ok("m a=1,time=5,b=2");
    assert_int_equal(p->nfields, 2);
    assert_str(p->fields[1].key, "b");
    /* Syntax errors come first. */
    expect_err("mymeas,time=1 value=1 x", "bad timestamp", 23);
    /* The measurement in the message is unescaped. */
    e = err_with("my\\ meas time=1", &o);
    assert_string_equal(e.reason,
                        "invalid field name: input field \"time\" on measurement \"my meas\" is "
                        "invalid");
}

static void test_booleans(void **state)
{
    (void)state;
    const char *t[] = {"t", "T", "true", "True", "TRUE"};
    const char *f[] = {"f", "F", "false", "False", "FALSE"};
    char line[64];
    for (size_t i = 0; i < 5; i++) {
        snprintf(line, sizeof line, "m b=%s", t[i]);
        assert_int_equal(field(ok(line), "b")->v.b, 1);
        snprintf(line, sizeof line, "m b=%s,c=1", f[i]);
        const cts_field *v = field(ok(line), "b");
        assert_true(v->type == CTS_TYPE_BOOL && v->v.b == 0);
    }
    const char *bad[] = {"m b=tru", "m b=tRUE", "m b=yes", "m b=truee", "m b=F0",
                         "m b=+1",  "m b=inf",  "m b=Inf", "m b=_",     "m b=fals"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_err(bad[i], "invalid boolean", 5);
}

static void test_numbers(void **state)
{
    (void)state;
    assert_true(float_of("1.") == 1.0 && float_of(".5") == 0.5 && float_of("-.5") == -0.5);
    assert_true(float_of("1E+05") == 1e5 && float_of("1e-5") == 1e-5 && float_of("00.5") == 0.5);
    assert_true(float_of("-0") == 0.0 && signbit(float_of("-0")));
    assert_true(float_of("1e-400") == 0.0);
    assert_true(float_of("4.9e-324") == 4.9e-324);
    assert_true(float_of("1.7976931348623157e308") == 1.7976931348623157e308);
    assert_true(float_of("123456789012345678901234567890") == 123456789012345678901234567890.0);
    const cts_field *f = field(ok("m v=007i"), "v");
    assert_true(f->type == CTS_TYPE_INT && f->v.i == 7);
    f = field(ok("m v=-9223372036854775808i"), "v");
    assert_true(f->type == CTS_TYPE_INT && f->v.i == INT64_MIN);
    f = field(ok("m v=9223372036854775807i"), "v");
    assert_true(f->v.i == INT64_MAX);
    f = field(ok("m v=0000000000000000000000001i"), "v");
    assert_true(f->v.i == 1);
    f = field(ok("m v=18446744073709551615u"), "v");
    assert_true(f->type == CTS_TYPE_UINT && f->v.u == UINT64_MAX);
    f = field(ok("m v=00000000000000000000018446744073709551615u"), "v");
    assert_true(f->v.u == UINT64_MAX);
    f = field(ok("m v=0u"), "v");
    assert_true(f->type == CTS_TYPE_UINT && f->v.u == 0);
    f = field(ok("m v=-0i"), "v");
    assert_true(f->type == CTS_TYPE_INT && f->v.i == 0);
}

static void test_number_errors(void **state)
{
    (void)state;
    const char *invalid_number[] = {
        "m v=NaN",   "m v=nan",  "m v=-Inf", "m v=-inf", "m v=-",     "m v=-,w=1", "m v=.",
        "m v=1.2.3", "m v=1-2",  "m v=1x",   "m v=1.5i", "m v=1e5i",  "m v=1i5",   "m v=1ii",
        "m v=-1u",   "m v=1.5u", "m v=-i",   "m v=0x10", "m v=1_000", "m v=1e--5", "m v=1+",
        "m v=1iu",   "m v=1ui",  "m v=-.i",  "m v=1\t2", "m v=N",     "m v=--1",
    };
    for (size_t i = 0; i < sizeof invalid_number / sizeof invalid_number[0]; i++)
        expect_err(invalid_number[i], "invalid number", 5);
    const char *invalid_float[] = {"m v=1e",    "m v=1e+",    "m v=.e5", "m v=1e5e5", "m v=1e5.5",
                                   "m v=1e309", "m v=-1e309", "m v=-e5", "m v=1ee5"};
    for (size_t i = 0; i < sizeof invalid_float / sizeof invalid_float[0]; i++)
        expect_err(invalid_float[i], "invalid float", 5);
    expect_err("m v=9223372036854775808i",
               "unable to parse integer 9223372036854775808: strconv.ParseInt: parsing "
               "\"9223372036854775808\": value out of range",
               5);
    expect_err("m v=-9223372036854775809i",
               "unable to parse integer -9223372036854775809: strconv.ParseInt: parsing "
               "\"-9223372036854775809\": value out of range",
               5);
    expect_err("m v=18446744073709551616u",
               "unable to parse unsigned 18446744073709551616: strconv.ParseUint: parsing "
               "\"18446744073709551616\": value out of range",
               5);
    /* A long token is cut in the reason, and says so. */
    char line[200] = "m v=";
    memset(line + 4, '9', 100);
    strcpy(line + 104, "i");
    cts_lp_opts o = opts_default();
    cts_lp_error e = err_with(line, &o);
    assert_non_null(strstr(e.reason, "9999..."));
}

/* Every error of the Go parser, with the column of its token. */
static void test_syntax_errors(void **state)
{
    (void)state;
    static const struct {
        const char *line, *reason;
        uint32_t col;
    } cases[] = {
        {",t=v f=1", "missing measurement", 1},
        {"cpu", "missing fields", 4},
        {"cpu ", "missing fields", 5},
        {"cpu  \t ", "missing fields", 8},
        {"cpu,", "missing tag key", 5},
        {"cpu,,t=v f=1", "missing tag key", 5},
        {"cpu,=v f=1", "missing tag key", 5},
        {"cpu, t=v f=1", "missing tag key", 5},
        {"cpu,tag f=1", "missing tag value", 8},
        {"cpu,tag", "missing tag value", 8},
        {"cpu,tag,a=b f=1", "missing tag value", 8},
        {"cpu,tag=", "missing tag value", 9},
        {"cpu,tag=,a=b f=1", "missing tag value", 9},
        {"cpu,tag= f=1", "missing tag value", 9},
        {"cpu,tag=a=b f=1", "invalid tag format", 10},
        {"cpu,tag=a", "missing fields", 10},
        {"cpu,a=1,b=2,a=3 f=1", "duplicate tags", 13},
        {"cpu,a=1,a=2 f=1 x", "duplicate tags", 9},
        {"cpu =1", "missing field key", 5},
        {"cpu a=1,=2", "missing field key", 9},
        {"cpu a=", "missing field value", 7},
        {"cpu a=,b=1", "missing field value", 7},
        {"cpu a= 1", "missing field value", 7},
        {"cpu a", "invalid field format", 5},
        {"cpu a=1,b", "invalid field format", 9},
        {"cpu a=1,", "invalid field format", 9},
        {"cpu a=1, b=2", "invalid field format", 9},
        {"cpu a=1,b c", "invalid field format", 9},
        {"cpu a=\"x\"y", "invalid field format", 10},
        {"cpu a=\"abc", "unbalanced quotes", 7},
        {"cpu a=\"abc\\\"", "unbalanced quotes", 7},
        {"cpu a=\"abc\\", "unbalanced quotes", 7},
        {"cpu a=1 12a", "bad timestamp", 9},
        {"cpu a=1 1.5", "bad timestamp", 9},
        {"cpu a=1 123\t", "bad timestamp", 9},
        {"cpu a=1 --5", "bad timestamp", 9},
        {"cpu a=1 b=2", "bad timestamp", 9},
        {"cpu a=1 \"123\"", "bad timestamp", 9},
        {"cpu a=1 -", "strconv.ParseInt: parsing \"-\": invalid syntax", 9},
        {"cpu a=1 99999999999999999999",
         "strconv.ParseInt: parsing \"99999999999999999999\": value out of range", 9},
        {"cpu a=1 9223372036854775807",
         "time 9223372036854775807 is outside the range [-9223372036854775806, "
         "9223372036854775806]",
         9},
        {"cpu a=1 -9223372036854775808",
         "time -9223372036854775808 is outside the range [-9223372036854775806, "
         "9223372036854775806]",
         9},
        {"cpu a=1 1 2", "point is invalid", 11},
        {"cpu a=1 1 \t", "point is invalid", 11},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_err(cases[i].line, cases[i].reason, cases[i].col);
    cts_lp_opts o = opts_default();
    cts_lp_error e = err_with("cpu a=tru", &o);
    assert_string_equal(e.msg, "unable to parse 'cpu a=tru': invalid boolean");
    assert_int_equal(e.kind, CTS_LP_ESYNTAX);
    /* Leading blanks are not quoted; the column still counts them. */
    e = err_with("  \tcpu a=tru", &o);
    assert_string_equal(e.msg, "unable to parse 'cpu a=tru': invalid boolean");
    assert_int_equal(e.column, 10);
}

static void test_limits(void **state)
{
    (void)state;
    cts_lp_opts o = opts_default();
    o.max_key_bytes = 10;
    expect_err_with("cpu,tag=value f=1", "max key length exceeded: 13 > 10", 1, &o);
    o.max_key_bytes = 16;
    expect_err_with("cpu,t=v longfieldkey=1", "max key length exceeded: 23 > 16", 9, &o);
    /* Field syntax errors come before field key lengths. */
    expect_err_with("cpu,t=v longfieldkey=1,b=x", "invalid boolean", 26, &o);
    ok_with("cpu,t=v field=1", &o);
    o.max_key_bytes = CTS_LP_KEY_MAX_DEFAULT;
    o.max_line_bytes = 16;
    expect_err_with("cpu value=1 12345678", "max line length exceeded: more than 16 bytes", 17, &o);
    ok_with("cpu value=1 1234", &o);
    ok_with("cpu value=1 1234\r\n", &o);
    /* A long quoted line is cut at CTS_LP_EXCERPT_MAX bytes, marked "...". */
    o = opts_default();
    char line[2000];
    memset(line, 'a', sizeof line);
    memcpy(line + 1000, " v=tru", 7);
    cts_lp_error e = err_with(line, &o);
    assert_int_equal(strlen(e.msg), strlen("unable to parse '...': invalid boolean") + 512);
    assert_non_null(strstr(e.msg, "aaa...': invalid boolean"));
}

static void test_whitespace_and_comments(void **state)
{
    (void)state;
    cts_lp_opts o = opts_default();
    cts_lp_point p;
    cts_lp_point_init(&p);
    const char *empty[] = {"",  "   ", "\t \t", "# comment", "  # comment with \"quote",
                           "#", "\n",  "\r\n",  " \r\n"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++)
        assert_int_equal(cts_lp_parse_line(empty[i], strlen(empty[i]), &o, &p, NULL), 0);
    cts_lp_point_fini(&p);
    const cts_point *q = ok("  \t cpu  \t a=1   123   ");
    assert_str(q->measurement, "cpu");
    assert_int_equal(q->ts_ns, 123);
    q = ok("cpu a=1 ");
    assert_int_equal(q->ts_ns, NOW);
    q = ok("cpu a=1\r\n");
    assert_true(q->fields[0].v.f == 1.0);
    q = ok("cpu,t=v a=1 5\r");
    assert_int_equal(q->ts_ns, 5);
    q = ok("cpu a=1 -5");
    assert_int_equal(q->ts_ns, -5);
    q = ok("cpu a=1 -0009");
    assert_int_equal(q->ts_ns, -9);
    q = ok("cpu a=1 0000000000000000000000000000042");
    assert_int_equal(q->ts_ns, 42);
}

static void test_escapes(void **state)
{
    (void)state;
    const cts_point *p = ok("cpu\\,x\\ y,t\\ k\\==v\\=w\\,z f\\=k\\,\\ =1");
    assert_str(p->measurement, "cpu,x y");
    assert_str(p->tags[0].key, "t k=");
    assert_str(p->tags[0].value, "v=w,z");
    assert_str(p->fields[0].key, "f=k, ");
    /* A backslash before a byte that is not special stays. */
    p = ok("cpu\\=x,t=a\\b f\\x=1");
    assert_str(p->measurement, "cpu\\=x");
    assert_str(p->tags[0].value, "a\\b");
    assert_str(p->fields[0].key, "f\\x");
    /* "\\," is a backslash then an escaped comma (InfluxDB's rule). */
    p = ok("cpu,t=a\\\\,b f=1");
    assert_str(p->tags[0].value, "a\\,b");
    /* InfluxDB takes a tag value's leading '=' literally. */
    p = ok("cpu,t==v f=1");
    assert_str(p->tags[0].value, "=v");
    p = ok("m s=\"a\\\"b\\\\c\\d\",t=\"\"");
    assert_str(field(p, "s")->v.s, "a\"b\\c\\d");
    assert_str(field(p, "t")->v.s, "");
    /* Quotes and commas inside a string; newlines too. */
    p = ok("m s=\"a, b=c \\\"d\\\" e\nf\" 7");
    assert_str(field(p, "s")->v.s, "a, b=c \"d\" e\nf");
    assert_int_equal(p->ts_ns, 7);
}

static void test_duplicates(void **state)
{
    (void)state;
    const cts_point *p = ok("m a=1,b=2,a=3i,c=\"x\",a=true");
    assert_int_equal(p->nfields, 3);
    assert_str(p->fields[0].key, "a");
    assert_true(p->fields[0].type == CTS_TYPE_BOOL && p->fields[0].v.b == 1);
    /* Many keys: the filter must not hide a repeat. */
    char line[4096] = "m ";
    for (int i = 0; i < 200; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "k%d=%di,", i, i);
    strcat(line, "k17=-1i");
    p = ok(line);
    assert_int_equal(p->nfields, 200);
    assert_int_equal(field(p, "k17")->v.i, -1);
    strcpy(line, "m");
    for (int i = 0; i < 100; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), ",t%d=v", i);
    strcat(line, ",t63=v f=1");
    expect_err(line, "duplicate tags", (uint32_t)(strlen(line) - strlen("t63=v f=1") + 1));
}

/* Lines with many keys (past the one-by-one check) against a naive model:
 * fields keep first positions and last values; the first repeated tag is
 * the one reported. A line of 100,000 tags parses in O(n log n). */
static void test_many_keys(void **state)
{
    (void)state;
    cts_rng r = {3};
    static char line[1 << 21];
    for (int round = 0; round < 200; round++) {
        int n = 1 + (int)cts_rng_below(&r, 150), alphabet = 1 + (int)cts_rng_below(&r, 200);
        int keys[150], order[150], last[150], nuniq = 0;
        size_t len = (size_t)sprintf(line, "m ");
        for (int i = 0; i < n; i++) {
            keys[i] = (int)cts_rng_below(&r, (uint64_t)alphabet);
            len += (size_t)sprintf(line + len, "%sk%d=%di", i ? "," : "", keys[i], i);
            int j = 0;
            while (j < nuniq && order[j] != keys[i])
                j++;
            if (j == nuniq)
                order[nuniq++] = keys[i];
            last[j] = i;
        }
        const cts_point *p = ok(line);
        assert_int_equal(p->nfields, nuniq);
        for (int j = 0; j < nuniq; j++) {
            char k[16];
            snprintf(k, sizeof k, "k%d", order[j]);
            assert_str(p->fields[j].key, k);
            assert_int_equal(p->fields[j].v.i, last[j]);
        }
        len = (size_t)sprintf(line, "m");
        size_t first_dup = 0;
        for (int i = 0; i < n; i++) {
            size_t at = len + 2;
            len += (size_t)sprintf(line + len, ",t%d=v", keys[i]);
            for (int j = 0; j < i && !first_dup; j++)
                if (keys[j] == keys[i])
                    first_dup = at;
        }
        strcpy(line + len, " f=1");
        if (first_dup)
            expect_err(line, "duplicate tags", (uint32_t)first_dup);
        else
            assert_int_equal(ok(line)->ntags, n);
    }
    size_t len = (size_t)sprintf(line, "m");
    for (int i = 0; i < 100000; i++)
        len += (size_t)sprintf(line + len, ",t%d=v", i);
    len += (size_t)sprintf(line + len, " f=1");
    cts_lp_opts o = opts_default();
    o.max_key_bytes = UINT32_MAX;
    assert_int_equal(ok_with(line, &o)->ntags, 100000);
    strcpy(line + len - 4, ",t99999=w f=1");
    expect_err_with(line, "duplicate tags", (uint32_t)(len - 4 + 2), &o);
}

static void test_precision(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int64_t ns;
    } names[] = {{"n", 1},        {"ns", 1},         {"u", 1000},        {"us", 1000},
                 {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000}, {"h", 3600000000000}};
    cts_lp_opts o = opts_default();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_int_equal(cts_lp_precision_parse(names[i].name, strlen(names[i].name), &o.precision),
                         CTS_OK);
        assert_int_equal(cts_lp_precision_ns(o.precision), names[i].ns);
        assert_int_equal(ok_with("m v=1 3", &o)->ts_ns, 3 * names[i].ns);
        assert_int_equal(ok_with("m v=1", &o)->ts_ns, NOW / names[i].ns * names[i].ns);
    }
    cts_lp_precision pr = CTS_LP_MS;
    assert_int_equal(cts_lp_precision_parse("sec", 3, &pr), CTS_EINVAL);
    assert_int_equal(cts_lp_precision_parse("", 0, &pr), CTS_EINVAL);
    assert_int_equal(pr, CTS_LP_MS);
    assert_int_equal(cts_lp_precision_ns((cts_lp_precision)99), 0);
    o.precision = CTS_LP_S;
    assert_int_equal(ok_with("m v=1 9223372036", &o)->ts_ns, 9223372036000000000ll);
    expect_err_with("m v=1 9223372037",
                    "time 9223372037 is outside the range [-9223372036, 9223372036]", 7, &o);
    expect_err_with("m v=1 -9223372037",
                    "time -9223372037 is outside the range [-9223372036, 9223372036]", 7, &o);
    o.precision = CTS_LP_H;
    expect_err_with("m v=1 2562048", "time 2562048 is outside the range [-2562047, 2562047]", 7,
                    &o);
    /* "now" is rounded down, also before 1970. */
    o.now_ns = -1;
    o.precision = CTS_LP_S;
    assert_int_equal(ok_with("m v=1", &o)->ts_ns, -1000000000);
    o.now_ns = INT64_MIN + 3; /* rounding down would overflow: toward zero */
    assert_int_equal(ok_with("m v=1", &o)->ts_ns, -9223372036000000000ll);
}

static void test_api_misuse(void **state)
{
    (void)state;
    cts_lp_opts o = opts_default();
    cts_lp_point p;
    cts_lp_point_init(&p);
    assert_int_equal(cts_lp_parse_line(NULL, 1, &o, &p, NULL), CTS_EINVAL);
    assert_int_equal(cts_lp_parse_line("m v=1", 5, NULL, &p, NULL), CTS_EINVAL);
    assert_int_equal(cts_lp_parse_line("m v=1", 5, &o, NULL, NULL), CTS_EINVAL);
    assert_int_equal(cts_lp_parse_line(NULL, 0, &o, &p, NULL), 0);
    o.precision = (cts_lp_precision)9;
    assert_int_equal(cts_lp_parse_line("m v=1", 5, &o, &p, NULL), CTS_EINVAL);
    o = opts_default();
    o.max_line_bytes = 8;
    assert_int_equal(cts_lp_parse_line("m v=1", 5, &o, &p, NULL), CTS_EINVAL);
    o = opts_default();
    o.max_key_bytes = 0;
    assert_int_equal(cts_lp_parse_line("m v=1", 5, &o, &p, NULL), CTS_EINVAL);
    o = opts_default();
    assert_int_equal(cts_lp_parse_line("m v=x", 5, &o, &p, NULL), CTS_EPARSE);
    cts_lp_point_fini(&p);
    cts_lp_point_fini(NULL);
    cts_lp_reader *r = (cts_lp_reader *)&o;
    o.batch_points = 0;
    assert_int_equal(cts_lp_reader_create(&o, &r), CTS_EINVAL);
    assert_null(r);
    assert_int_equal(cts_lp_reader_create(NULL, &r), CTS_EINVAL);
    cts_lp_reader_destroy(NULL);
}

/* ------------------------------------------------------------------------
 * strtod equivalence.
 * ------------------------------------------------------------------------ */

/* A random decimal: sign, 0..25 integer digits, maybe a point and 0..25
 * fraction digits, maybe an exponent; at least one digit. Half of them are
 * drawn near the fast path's edges (mantissas around 2^53, exponents
 * around +-22 and up to 22 + 15), the rest anywhere in [-350, 350]. */
static size_t random_decimal(cts_rng *r, char *buf)
{
    size_t n = 0;
    bool edge = cts_rng_below(r, 2);
    int nint = (int)cts_rng_below(r, edge ? 18 : 26), nfrac = 0;
    if (cts_rng_below(r, 4) == 0)
        buf[n++] = '-';
    for (int i = 0; i < nint; i++)
        buf[n++] = (char)('0' + cts_rng_below(r, 10));
    if (nint == 0 || cts_rng_below(r, 2)) {
        buf[n++] = '.';
        nfrac = (int)cts_rng_below(r, edge ? 18 : 26) + (nint == 0);
        for (int i = 0; i < nfrac; i++)
            buf[n++] = (char)('0' + cts_rng_below(r, 10));
    }
    if (cts_rng_below(r, edge ? 2 : 3) == 0) {
        int e = edge ? (int)cts_rng_below(r, 71) - 30 : (int)cts_rng_below(r, 701) - 350;
        n += (size_t)sprintf(buf + n, "%s%d", cts_rng_below(r, 2) ? "e" : "E", e);
    }
    buf[n] = '\0';
    return n;
}

static void test_strtod_equivalence(void **state)
{
    (void)state;
    static const char *edges[] = {
        "9007199254740992",
        "9007199254740993",
        "9007199254740994",
        "9007199254740992e22",
        "9007199254740993e-22",
        "1e22",
        "1e23",
        "3e37",
        "3e38",
        "123456789e-22",
        "1e-22",
        "1e-23",
        "9999999999999999999",
        "99999999999999999999",
        "0.1",
        "2.2250738585072011e-308",
        "2.2250738585072014e-308",
        "4.9406564584124654e-324",
        "1.7976931348623157e308",
        "1.7976931348623159e308",
        "0.000000000000000000000000001",
        "7.038531e-26",
        "8.9255e-300",
        "1448997445238699",
    };
    locale_t cl = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        double want = strtod_l(edges[i], NULL, cl);
        if (isinf(want))
            continue;
        double got = float_of(edges[i]);
        if (memcmp(&got, &want, 8) != 0)
            fail_msg("'%s': got %.17g want %.17g", edges[i], got, want);
    }
    freelocale(cl);
    const char *env = getenv("CTS_LP_STRTOD_ITERS");
    long iters = env ? atol(env) : 300000;
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    cts_lp_opts o = opts_default();
    cts_lp_point p;
    cts_lp_point_init(&p);
    cts_rng r = {0x5eed};
    char line[128] = "m v=", *num = line + 4;
    for (long i = 0; i < iters; i++) {
        size_t n = random_decimal(&r, num);
        double want = strtod_l(num, NULL, c);
        int rc = cts_lp_parse_line(line, n + 4, &o, &p, NULL);
        if (isinf(want)) {
            assert_int_equal(rc, CTS_EPARSE);
            continue;
        }
        if (rc != 1 || p.point.fields[0].type != CTS_TYPE_FLOAT)
            fail_msg("'%s': rc %d", num, rc);
        uint64_t a, b;
        memcpy(&a, &want, 8);
        memcpy(&b, &p.point.fields[0].v.f, 8);
        if (a != b)
            fail_msg("'%s': got %.17g want %.17g", num, p.point.fields[0].v.f, want);
    }
    cts_lp_point_fini(&p);
    freelocale(c);
}

/* ------------------------------------------------------------------------
 * Round trips: random points -> line -> point.
 * ------------------------------------------------------------------------ */

/* Bytes that stress the escapes; names never end in a backslash and never
 * hold '\n' (line protocol cannot carry either). */
static const char name_bytes[] = "abcXYZ019_-., =\\\"'#\t\r\xc3\xa9";

static cts_str random_name(cts_rng *r, char *buf, size_t max, bool first_free)
{
    size_t n = 1 + cts_rng_below(r, max);
    for (size_t i = 0; i < n; i++) {
        char ch = name_bytes[cts_rng_below(r, sizeof name_bytes - 1)];
        if (i == 0 && !first_free && (ch == '#' || ch == '\t'))
            ch = 'a';
        if (i == n - 1 && ch == '\\')
            ch = 'z';
        buf[i] = ch;
    }
    if (n == 4 && memcmp(buf, "time", 4) == 0)
        buf[0] = 'T';
    return (cts_str){buf, (uint32_t)n};
}

static bool name_taken(const cts_str *names, size_t n, cts_str s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i].len == s.len && memcmp(names[i].ptr, s.ptr, s.len) == 0)
            return true;
    return false;
}

static double random_double(cts_rng *r)
{
    switch (cts_rng_below(r, 4)) {
    case 0:
        return (double)(int64_t)cts_rng_below(r, 100000) / 10.0;
    case 1:
        return cts_rng_unit(r) * 1e6 - 5e5;
    case 2: {
        uint64_t bits = cts_rng_next(r);
        double d;
        memcpy(&d, &bits, 8);
        return isfinite(d) ? d : 1.5;
    }
    default:
        return ldexp(cts_rng_unit(r), (int)cts_rng_below(r, 2000) - 1000);
    }
}

typedef struct gen_point {
    char buf[4096];
    cts_tag tags[8];
    cts_field fields[8];
    cts_str keys[8];
    cts_point pt;
} gen_point;

static void random_field(cts_rng *r, cts_field *f, char *sbuf)
{
    f->type = (cts_type)(1 + cts_rng_below(r, 5));
    switch (f->type) {
    case CTS_TYPE_FLOAT:
        f->v.f = random_double(r);
        break;
    case CTS_TYPE_INT:
        f->v.i = (int64_t)cts_rng_next(r) >> cts_rng_below(r, 64);
        break;
    case CTS_TYPE_UINT:
        f->v.u = cts_rng_next(r) >> cts_rng_below(r, 64);
        break;
    case CTS_TYPE_BOOL:
        f->v.b = (uint8_t)cts_rng_below(r, 2);
        break;
    default: {
        size_t n = cts_rng_below(r, 24);
        for (size_t i = 0; i < n; i++)
            sbuf[i] = "ab \"\\\n,=x\xe2\x82\xac"[cts_rng_below(r, 12)];
        f->v.s = (cts_str){sbuf, (uint32_t)n};
    }
    }
}

static void random_point(cts_rng *r, gen_point *g)
{
    char *b = g->buf;
    g->pt.measurement = random_name(r, b, 12, false);
    b += 64;
    g->pt.ntags = (uint32_t)cts_rng_below(r, 5);
    for (uint32_t i = 0; i < g->pt.ntags; i++, b += 128) {
        do
            g->tags[i].key = random_name(r, b, 10, true);
        while (name_taken(g->keys, i, g->tags[i].key));
        g->keys[i] = g->tags[i].key;
        g->tags[i].value = random_name(r, b + 64, 10, true);
    }
    g->pt.nfields = 1 + (uint32_t)cts_rng_below(r, 6);
    for (uint32_t i = 0; i < g->pt.nfields; i++, b += 128) {
        do
            g->fields[i].key = random_name(r, b, 10, i > 0);
        while (name_taken(g->keys, i, g->fields[i].key));
        g->keys[i] = g->fields[i].key;
        random_field(r, &g->fields[i], b + 64);
    }
    g->pt.tags = g->tags;
    g->pt.fields = g->fields;
    g->pt.ts_ns = (int64_t)cts_rng_next(r) >> cts_rng_below(r, 64);
    if (g->pt.ts_ns < CTS_LP_MIN_NS)
        g->pt.ts_ns = CTS_LP_MIN_NS;
    if (g->pt.ts_ns > CTS_LP_MAX_NS)
        g->pt.ts_ns = CTS_LP_MAX_NS;
}

static bool str_eq(cts_str a, cts_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool field_eq(const cts_field *a, const cts_field *b)
{
    if (!str_eq(a->key, b->key) || a->type != b->type)
        return false;
    switch (a->type) {
    case CTS_TYPE_FLOAT:
        return memcmp(&a->v.f, &b->v.f, 8) == 0;
    case CTS_TYPE_INT:
        return a->v.i == b->v.i;
    case CTS_TYPE_UINT:
        return a->v.u == b->v.u;
    case CTS_TYPE_BOOL:
        return a->v.b == b->v.b;
    default:
        return str_eq(a->v.s, b->v.s);
    }
}

static bool point_eq(const cts_point *a, const cts_point *b)
{
    if (!str_eq(a->measurement, b->measurement) || a->ntags != b->ntags ||
        a->nfields != b->nfields || a->ts_ns != b->ts_ns)
        return false;
    for (uint32_t i = 0; i < a->ntags; i++)
        if (!str_eq(a->tags[i].key, b->tags[i].key) || !str_eq(a->tags[i].value, b->tags[i].value))
            return false;
    for (uint32_t i = 0; i < a->nfields; i++)
        if (!field_eq(&a->fields[i], &b->fields[i]))
            return false;
    return true;
}

static void test_roundtrip(void **state)
{
    (void)state;
    cts_rng r = {42};
    cts_lp_opts o = opts_default();
    cts_lp_point p;
    cts_lp_error err;
    static gen_point g;
    char line[8192];
    cts_lp_point_init(&p);
    for (int i = 0; i < 20000; i++) {
        random_point(&r, &g);
        int64_t n = cts_lp_format_point(&g.pt, line, sizeof line);
        assert_true(n > 0);
        assert_int_equal(strlen(line), (size_t)n);
        int rc = cts_lp_parse_line(line, (size_t)n, &o, &p, &err);
        if (rc != 1)
            fail_msg("'%s': %s", line, err.msg);
        if (!point_eq(&g.pt, &p.point))
            fail_msg("round trip differs: '%s'", line);
    }
    cts_lp_point_fini(&p);
}

static void test_format(void **state)
{
    (void)state;
    cts_field f = {.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = 0.1};
    cts_tag t = {{"t k", 3}, {"a,b", 3}};
    cts_point pt = {
        .measurement = {"m x", 3}, .tags = &t, .ntags = 1, .fields = &f, .nfields = 1, .ts_ns = 5};
    char buf[128];
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), 22);
    assert_string_equal(buf, "m\\ x,t\\ k=a\\,b v=0.1 5");
    assert_int_equal(cts_lp_format_point(&pt, buf, 22), CTS_ENOSPACE);
    assert_int_equal(cts_lp_format_point(&pt, buf, 23), 22);
    f.v.f = 0.1 + 0.2;
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), 38);
    assert_string_equal(buf, "m\\ x,t\\ k=a\\,b v=0.30000000000000004 5");
    f.v.f = NAN;
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), CTS_EINVAL);
    f.v.f = 1;
    pt.measurement = (cts_str){"#m", 2};
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), CTS_EINVAL);
    pt.measurement = (cts_str){"m\\", 2};
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), CTS_EINVAL);
    pt.measurement = (cts_str){"m", 1};
    t.value = (cts_str){"a\nb", 3};
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), CTS_EINVAL);
    t.value = (cts_str){"", 0};
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), CTS_EINVAL);
    pt.ntags = 0;
    f.type = CTS_TYPE_BOOL;
    f.v.b = 2;
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), CTS_EINVAL);
    f.v.b = 1;
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), 10);
    assert_string_equal(buf, "m v=true 5");
    pt.nfields = 0;
    assert_int_equal(cts_lp_format_point(&pt, buf, sizeof buf), CTS_EINVAL);
}

/* ------------------------------------------------------------------------
 * The streaming reader.
 * ------------------------------------------------------------------------ */

/* A text log of everything a reader produced: one line per point (its line
 * number and the point formatted back) or per bad line (number, column,
 * kind, message), merged in input order. */
typedef struct rlog {
    char *text;
    size_t len, cap;
    size_t points, bad, batches;
} rlog;

static void rlog_add(rlog *l, const char *s, size_t n)
{
    if (l->len + n + 1 > l->cap) {
        l->cap = (l->len + n + 1) * 2;
        l->text = realloc(l->text, l->cap);
        assert_non_null(l->text);
    }
    memcpy(l->text + l->len, s, n);
    l->len += n;
    l->text[l->len] = '\0';
}

static void rlog_batch(rlog *l, const cts_lp_batch *b, size_t max_batch)
{
    static char line[1 << 20];
    size_t i = 0, j = 0;
    assert_true(b->npoints + b->nbad > 0);
    assert_true(b->npoints <= max_batch && b->nbad <= max_batch);
    uint64_t values = 0;
    while (i < b->npoints || j < b->nbad) {
        int n;
        if (j >= b->nbad || (i < b->npoints && b->point_line[i] < b->bad[j].line)) {
            n = snprintf(line, sizeof line, "P%llu ", (unsigned long long)b->point_line[i]);
            int64_t k = cts_lp_format_point(&b->points[i], line + n, sizeof line - (size_t)n);
            assert_true(k > 0);
            n += (int)k;
            values += b->points[i++].nfields;
        } else {
            const cts_lp_error *e = &b->bad[j++];
            n = snprintf(line, sizeof line, "E%llu:%u:%d %s", (unsigned long long)e->line,
                         e->column, (int)e->kind, e->msg);
        }
        rlog_add(l, line, (size_t)n);
        rlog_add(l, "\n", 1);
    }
    assert_int_equal(values, b->values);
    l->points += b->npoints;
    l->bad += b->nbad;
    l->batches++;
}

/* Drain the reader into l. */
static void drain(cts_lp_reader *r, rlog *l, size_t max_batch)
{
    cts_lp_batch b;
    int rc;
    while ((rc = cts_lp_reader_next(r, &b)) > 0)
        rlog_batch(l, &b, max_batch);
    assert_int_equal(rc, 0);
}

/* Read text in chunks of the given sizes (cycled; 0 means the rest). */
static rlog read_chunked(const char *text, size_t len, const cts_lp_opts *o, const size_t *sizes,
                         size_t nsizes)
{
    rlog l = {0};
    cts_lp_reader *r;
    assert_int_equal(cts_lp_reader_create(o, &r), CTS_OK);
    size_t pos = 0, k = 0;
    while (pos < len) {
        size_t n = nsizes ? sizes[k++ % nsizes] : len - pos;
        if (n == 0 || n > len - pos)
            n = len - pos;
        /* A private copy, overwritten after use: the reader must not keep it. */
        char *chunk = malloc(n + 1);
        memcpy(chunk, text + pos, n);
        assert_int_equal(cts_lp_reader_feed(r, chunk, n), CTS_OK);
        drain(r, &l, o->batch_points);
        memset(chunk, '#', n);
        free(chunk);
        pos += n;
    }
    assert_int_equal(cts_lp_reader_finish(r), CTS_OK);
    drain(r, &l, o->batch_points);
    cts_lp_stats st;
    cts_lp_reader_stats(r, &st);
    assert_int_equal(st.bytes, len);
    assert_int_equal(st.points, l.points);
    assert_int_equal(st.bad_lines, l.bad);
    assert_int_equal(st.batches, l.batches);
    cts_lp_reader_destroy(r);
    return l;
}

static const char sample_text[] =
    "# a comment line with a \"quote\n"
    "air,city=lisbon,sensor=lis-air-0042 pm25=12.5,pm10=20.1 1764000000000000000\n"
    "\n"
    "   \t\n"
    "air,city=porto pm25=3i,ok=true,name=\"multi\nline, \\\"string\\\"\" 1764000000000000001\r\n"
    "bad line here\n"
    "cpu,host=a usage=0.5,s=\"unterminated\n"
    "cpu,host=b usage=1,s=\"x\"\n"
    "  weather,location=us\\ midwest temperature=82 1465839830100400200\r\n"
    "m v=1x,s=\"opens\n"
    "and closes\" 5\n"
    "mymeas,time=1 value=1\n"
    "mymeas time=1\n"
    "m\\,x,t\\=k=v\\ w f\\ k=\"a\\\\b\" -5\n"
    "toolong,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaa=b v=1 1\n"
    "toolong s=\"string that is long and spans\na newline aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa\" 1\n"
    "after v=2u 9\n"
    "# \"\n"
    "last v=\"no newline at the end\"";

static cts_lp_opts sample_opts(uint32_t batch)
{
    cts_lp_opts o = opts_default();
    o.max_line_bytes = 100;
    o.batch_points = batch;
    return o;
}

static void test_reader_sample(void **state)
{
    (void)state;
    cts_lp_opts o = sample_opts(1000);
    rlog l = read_chunked(sample_text, sizeof sample_text - 1, &o, NULL, 0);
    const char *want =
        "P2 air,city=lisbon,sensor=lis-air-0042 pm25=12.5,pm10=20.1 1764000000000000000\n"
        "P5 air,city=porto pm25=3i,ok=true,name=\"multi\nline, \\\"string\\\"\" "
        "1764000000000000001\n"
        "E7:5:1 unable to parse 'bad line here': invalid field format\n"
        "E8:60:1 unable to parse 'cpu,host=a usage=0.5,s=\"unterminated\n"
        "cpu,host=b usage=1,s=\"x\"': invalid field format\n"
        "P10 weather,location=us\\ midwest temperature=82 1465839830100400200\n"
        "E11:5:1 unable to parse 'm v=1x,s=\"opens\nand closes\" 5': invalid number\n"
        "E13:8:2 invalid tag key: input tag \"time\" on measurement \"mymeas\" is invalid\n"
        "E14:8:2 invalid field name: input field \"time\" on measurement \"mymeas\" is invalid\n"
        "P15 m\\,x,t\\=k=v\\ w f\\ k=\"a\\\\b\" -5\n"
        "E16:101:1 unable to parse 'toolong,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': max line length exceeded: more than 100 "
        "bytes\n"
        "E17:101:1 unable to parse 'toolong s=\"string that is long and spans\na newline "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': max line length exceeded: more "
        "than 100 bytes\n"
        "P19 after v=2u 9\n"
        "P21 last v=\"no newline at the end\" 1700000000123456789\n";
    if (strcmp(l.text, want) != 0) {
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", l.text, want);
        fail();
    }
    free(l.text);
}

/* The same results for every cut into two chunks and for many random cuts. */
static void test_reader_chunk_boundaries(void **state)
{
    (void)state;
    size_t len = sizeof sample_text - 1;
    cts_lp_opts o = sample_opts(3);
    rlog ref = read_chunked(sample_text, len, &o, NULL, 0);
    for (size_t cut = 1; cut < len; cut++) {
        size_t sizes[2] = {cut, 0};
        rlog l = read_chunked(sample_text, len, &o, sizes, 2);
        if (strcmp(l.text, ref.text) != 0)
            fail_msg("cut at %zu:\n%s\nwant:\n%s", cut, l.text, ref.text);
        free(l.text);
    }
    cts_rng r = {7};
    for (int i = 0; i < 300; i++) {
        size_t sizes[16];
        for (size_t k = 0; k < 16; k++)
            sizes[k] = 1 + cts_rng_below(&r, i % 2 ? 8 : 64);
        o.batch_points = 1 + (uint32_t)cts_rng_below(&r, 5);
        rlog l = read_chunked(sample_text, len, &o, sizes, 16);
        if (strcmp(l.text, ref.text) != 0)
            fail_msg("random cut %d:\n%s\nwant:\n%s", i, l.text, ref.text);
        free(l.text);
    }
    free(ref.text);
}

/* Random lines (good, bad, multi-line strings), random cuts: the reader
 * agrees with itself and with parse_line on lines that hold no newline. */
static void random_text(cts_rng *r, rlog *text, rlog *want, int nlines)
{
    static gen_point g;
    char line[8192], entry[9000];
    cts_lp_opts o = opts_default();
    cts_lp_point p;
    cts_lp_error err;
    cts_lp_point_init(&p);
    uint64_t line_no = 1;
    for (int i = 0; i < nlines; i++) {
        random_point(r, &g);
        int64_t n = cts_lp_format_point(&g.pt, line, sizeof line);
        assert_true(n > 0);
        if (cts_rng_below(r, 5) == 0) /* damage it */
            line[cts_rng_below(r, (uint64_t)n)] = ",= \"\\x#"[cts_rng_below(r, 7)];
        if (memchr(line, '\n', (size_t)n) == NULL) {
            int rc = cts_lp_parse_line(line, (size_t)n, &o, &p, &err);
            int k = 0;
            if (rc == 1) {
                k = snprintf(entry, sizeof entry, "P%llu ", (unsigned long long)line_no);
                k += (int)cts_lp_format_point(&p.point, entry + k, sizeof entry - (size_t)k);
            } else if (rc == CTS_EPARSE) {
                k = snprintf(entry, sizeof entry, "E%llu:%u:%d %s", (unsigned long long)line_no,
                             err.column, (int)err.kind, err.msg);
            }
            rlog_add(want, entry, (size_t)k);
            if (k)
                rlog_add(want, "\n", 1);
        } else {
            want->points = SIZE_MAX; /* no reference for this text */
        }
        bool crlf = cts_rng_below(r, 4) == 0;
        rlog_add(text, line, (size_t)n);
        rlog_add(text, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
        line_no += 1;
        for (const char *q = line; (q = memchr(q, '\n', (size_t)(line + n - q))); q++)
            line_no++;
    }
    cts_lp_point_fini(&p);
}

static void test_reader_random(void **state)
{
    (void)state;
    cts_rng r = {99};
    cts_lp_opts o = opts_default();
    for (int round = 0; round < 20; round++) {
        rlog text = {0}, want = {0};
        random_text(&r, &text, &want, 200);
        o.batch_points = 1 + (uint32_t)cts_rng_below(&r, 50);
        rlog ref = read_chunked(text.text, text.len, &o, NULL, 0);
        if (want.points != SIZE_MAX && strcmp(ref.text, want.text) != 0)
            fail_msg("reader differs from parse_line:\n%s\nwant:\n%s", ref.text, want.text);
        for (int i = 0; i < 10; i++) {
            size_t sizes[8];
            for (size_t k = 0; k < 8; k++)
                sizes[k] = 1 + cts_rng_below(&r, 1 + cts_rng_below(&r, 300));
            rlog l = read_chunked(text.text, text.len, &o, sizes, 8);
            assert_string_equal(l.text, ref.text);
            free(l.text);
        }
        free(ref.text);
        free(text.text);
        free(want.text);
    }
}

static void test_reader_batches_and_stats(void **state)
{
    (void)state;
    char text[4000] = "";
    for (int i = 0; i < 50; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "m,i=%d a=%d,b=%di %d\n", i, i, i,
                 i);
    cts_lp_opts o = opts_default();
    o.batch_points = 7;
    cts_lp_reader *r;
    assert_int_equal(cts_lp_reader_create(&o, &r), CTS_OK);
    assert_int_equal(cts_lp_reader_feed(r, text, strlen(text)), CTS_OK);
    assert_int_equal(cts_lp_reader_feed(r, text, 1), CTS_EINVAL);
    assert_int_equal(cts_lp_reader_finish(r), CTS_EINVAL);
    cts_lp_batch b;
    size_t total = 0, batches = 0;
    int rc;
    while ((rc = cts_lp_reader_next(r, &b)) > 0) {
        assert_true(b.npoints == 7 || total + b.npoints == 50);
        for (size_t i = 0; i < b.npoints; i++) {
            assert_int_equal(b.points[i].ts_ns, (int64_t)(total + i));
            assert_int_equal(b.point_line[i], total + i + 1);
            assert_int_equal(b.points[i].fields[1].v.i, (int64_t)(total + i));
        }
        assert_int_equal(b.values, 2 * b.npoints);
        total += b.npoints;
        batches++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(total, 50);
    assert_int_equal(cts_lp_reader_finish(r), CTS_OK);
    assert_int_equal(cts_lp_reader_feed(r, text, 1), CTS_EINVAL);
    assert_int_equal(cts_lp_reader_next(r, &b), 0);
    assert_int_equal(cts_lp_reader_next(r, &b), 0);
    cts_lp_stats st;
    cts_lp_reader_stats(r, &st);
    assert_int_equal(st.lines, 50);
    assert_int_equal(st.points, 50);
    assert_int_equal(st.values, 100);
    assert_int_equal(st.bytes, strlen(text));
    assert_int_equal(st.batches, batches);
    /* reset: a new input, seconds, a new "now". */
    assert_int_equal(cts_lp_reader_reset(r, CTS_LP_S, 5500000000), CTS_OK);
    assert_int_equal(cts_lp_reader_reset(r, (cts_lp_precision)7, 0), CTS_EINVAL);
    assert_int_equal(cts_lp_reader_feed(r, "m a=1\nm a=2 3", 13), CTS_OK);
    assert_int_equal(cts_lp_reader_next(r, &b), 1);
    assert_int_equal(b.npoints, 1);
    assert_int_equal(b.points[0].ts_ns, 5000000000);
    assert_int_equal(cts_lp_reader_next(r, &b), 0);
    assert_int_equal(cts_lp_reader_finish(r), CTS_OK);
    assert_int_equal(cts_lp_reader_next(r, &b), 1);
    assert_int_equal(b.points[0].ts_ns, 3000000000);
    assert_int_equal(b.point_line[0], 2);
    assert_int_equal(cts_lp_reader_next(r, &b), 0);
    cts_lp_reader_destroy(r);
}

/* A long line that straddles many chunks is parsed once it is complete. */
static void test_reader_long_line(void **state)
{
    (void)state;
    size_t n = 300000;
    char *text = malloc(n + 64);
    strcpy(text, "m s=\"");
    memset(text + 5, 'x', n);
    strcpy(text + 5 + n, "\" 1\nm v=2 2\n");
    cts_lp_opts o = opts_default();
    size_t sizes[] = {1000, 7, 65536};
    rlog l = read_chunked(text, strlen(text), &o, sizes, 3);
    assert_int_equal(l.points, 2);
    assert_int_equal(l.bad, 0);
    o.max_line_bytes = 100000;
    rlog m = read_chunked(text, strlen(text), &o, sizes, 3);
    assert_int_equal(m.points, 1);
    assert_int_equal(m.bad, 1);
    assert_non_null(strstr(m.text, "E1:100001:1 "));
    assert_non_null(strstr(m.text, "P2 m v=2 2\n"));
    free(l.text);
    free(m.text);
    free(text);
}

/* Fail every allocation in turn: creation fails cleanly, next() returns
 * CTS_ENOMEM and, retried, loses nothing. */
static void test_alloc_failures(void **state)
{
    (void)state;
    cts_lp_opts o = sample_opts(4);
    size_t len = sizeof sample_text - 1;
    rlog ref = read_chunked(sample_text, len, &o, NULL, 0);
    for (long n = 0; n < 200; n++) {
        rlog l = {0};
        cts_lp_reader *r = NULL;
        cts_alloc_fail_after(n);
        int rc = cts_lp_reader_create(&o, &r);
        if (rc != CTS_OK) {
            assert_int_equal(rc, CTS_ENOMEM);
            assert_null(r);
            continue;
        }
        size_t pos = 0, step = 5 + (size_t)n % 23, failures = 0;
        while (pos < len) {
            size_t k = len - pos < step ? len - pos : step;
            assert_int_equal(cts_lp_reader_feed(r, sample_text + pos, k), CTS_OK);
            cts_lp_batch b;
            while ((rc = cts_lp_reader_next(r, &b)) != 0) {
                if (rc == CTS_ENOMEM) {
                    failures++;
                    cts_alloc_fail_after(failures % 2 ? 1 : -1);
                    continue;
                }
                rlog_batch(&l, &b, o.batch_points);
            }
            pos += k;
        }
        cts_alloc_fail_after(-1);
        assert_int_equal(cts_lp_reader_finish(r), CTS_OK);
        drain(r, &l, o.batch_points);
        assert_string_equal(l.text, ref.text);
        cts_lp_reader_destroy(r);
        free(l.text);
    }
    cts_alloc_fail_after(-1);
    /* parse_line: ENOMEM, then fine. */
    cts_lp_point p;
    cts_lp_point_init(&p);
    cts_lp_opts d = opts_default();
    cts_alloc_fail_after(0);
    assert_int_equal(cts_lp_parse_line("m v=1", 5, &d, &p, NULL), CTS_ENOMEM);
    cts_alloc_fail_after(1);
    assert_int_equal(cts_lp_parse_line("m v=1", 5, &d, &p, NULL), CTS_ENOMEM);
    cts_alloc_fail_after(-1);
    assert_int_equal(cts_lp_parse_line("m v=1", 5, &d, &p, NULL), 1);
    cts_lp_point_fini(&p);
    free(ref.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_city_line),
        cmocka_unit_test(test_reference_examples),
        cmocka_unit_test(test_time_key),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_number_errors),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_whitespace_and_comments),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_api_misuse),
        cmocka_unit_test(test_strtod_equivalence),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_reader_sample),
        cmocka_unit_test(test_reader_chunk_boundaries),
        cmocka_unit_test(test_reader_random),
        cmocka_unit_test(test_reader_batches_and_stats),
        cmocka_unit_test(test_reader_long_line),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
