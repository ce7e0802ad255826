/*
 * test_exec.c: the executor on a small hand-made city dataset, checked
 * against results worked out by hand (and against InfluxDB 1.x's documented
 * output shapes): aggregates with and without GROUP BY time, selectors'
 * times, fill, grouping by tags, raw selects, field conditions, SHOW, DELETE
 * and the errors. test_query_model.c checks the same executor against a
 * brute-force evaluator on random data; this file pins exact outputs.
 */
#include "cts_query.h"
#include "cts_test.h"

#include "../storage/scratch_dir.h"

#define T0 1793577600000000000LL /* 2026-11-02T00:00:00Z */
#define MIN_NS 60000000000LL

typedef struct fixture {
    scratch_dir dir;
    cts_dbset *set;
    char out[16384];
    size_t len;
} fixture;

static int put(void *ctx, const void *buf, size_t len)
{
    fixture *f = ctx;
    if (f->len + len >= sizeof f->out)
        return CTS_ENOSPACE;
    memcpy(f->out + f->len, buf, len);
    f->len += len;
    f->out[f->len] = 0;
    return 0;
}

static void write_pt(cts_db *db, const char *city, const char *sensor, const char *field,
                     cts_type t, double v, int64_t ts)
{
    cts_tag tags[2] = {{{"city", 4}, {city, (uint32_t)strlen(city)}},
                       {{"sensor", 6}, {sensor, (uint32_t)strlen(sensor)}}};
    cts_field fl = {{field, (uint32_t)strlen(field)}, t, {.f = v}};
    if (t == CTS_TYPE_INT)
        fl.v.i = (int64_t)v;
    cts_point p = {{"air", 3}, tags, 2, &fl, 1, ts};
    cts_write_result r;
    assert_int_equal(cts_db_write(db, &p, 1, &r), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(scratch_make(&f->dir, "qexec"), 0);
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.block_points = 2; /* sealed blocks, stats-only chunks and the head all play */
    o.fsync = CTS_DB_FSYNC_NEVER;
    assert_int_equal(cts_dbset_open(f->dir.path, &o, &f->set), 0);
    cts_db *db;
    assert_int_equal(cts_dbset_acquire(f->set, "city", true, &db), 0);
    write_pt(db, "lisbon", "a", "pm25", CTS_TYPE_FLOAT, 10, T0);
    write_pt(db, "lisbon", "a", "pm25", CTS_TYPE_FLOAT, 20, T0 + MIN_NS);
    write_pt(db, "lisbon", "a", "pm25", CTS_TYPE_FLOAT, 30, T0 + 2 * MIN_NS);
    write_pt(db, "lisbon", "a", "pm25", CTS_TYPE_FLOAT, 40, T0 + 60 * MIN_NS);
    assert_int_equal(cts_db_flush(db), 0);
    write_pt(db, "milan", "b", "pm25", CTS_TYPE_FLOAT, 5, T0);
    write_pt(db, "milan", "b", "pm25", CTS_TYPE_FLOAT, 15, T0 + 30 * MIN_NS);
    write_pt(db, "milan", "b", "no2", CTS_TYPE_INT, 7, T0 + 30 * MIN_NS);
    cts_dbset_release(f->set, db);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    assert_int_equal(cts_dbset_close(f->set), 0);
    scratch_rm_tree(f->dir.path);
    free(f);
    return 0;
}

/* Run q, return the JSON (InfluxDB's /query body) and the run's code. */
static const char *run(fixture *f, const char *q, int *code)
{
    cts_qenc_opts eo;
    cts_qenc_opts_init(&eo);
    eo.format = CTS_QFMT_JSON;
    cts_qenc *enc;
    f->len = 0;
    f->out[0] = 0;
    assert_int_equal(cts_qenc_create(&eo, put, f, &enc), 0);
    cts_query_opts qo;
    cts_query_opts_init(&qo);
    qo.db = "city";
    qo.now_ns = T0 + 120 * MIN_NS; /* 02:00 */
    cts_query_error err;
    int rc = cts_query_run(f->set, q, strlen(q), &qo, cts_qenc_sink(enc), &err);
    if (rc == CTS_EPARSE)
        assert_int_equal(cts_qenc_error(enc, err.msg), 0);
    assert_int_equal(cts_qenc_finish(enc), 0);
    cts_qenc_destroy(enc);
    if (code)
        *code = rc;
    return f->out;
}

#define EXPECT(f, q, json)                                                                         \
    do {                                                                                           \
        const char *got_ = run(f, q, NULL);                                                        \
        if (strcmp(got_, json "\n") != 0)                                                          \
            fail_msg("query: %s\nwant: %s\ngot:  %s", q, json, got_);                              \
    } while (0)

static void test_aggregates(void **state)
{
    fixture *f = *state;
    EXPECT(f, "SELECT count(pm25) FROM air",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"count\"],\"values\":[[\"1970-01-01T00:00:00Z\",6]]}]}]}");
    EXPECT(f, "SELECT sum(pm25), mean(pm25), min(pm25), max(pm25), spread(pm25) FROM air",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"sum\",\"mean\",\"min\",\"max\",\"spread\"],\"values\":[[\"1970-01-01T00:00:00Z\",120,"
           "20,5,40,35]]}]}]}");
    /* a lone selector keeps its point's time */
    EXPECT(f, "SELECT max(pm25) FROM air",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"max\"],\"values\":[[\"2026-11-02T01:00:00Z\",40]]}]}]}");
    /* with a lower bound the row time is the bound */
    EXPECT(f, "SELECT count(pm25) AS n FROM air WHERE time >= '2026-11-02T00:01:00Z'",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"n\"],\"values\":[[\"2026-11-02T00:01:00Z\",4]]}]}]}");
    EXPECT(f, "SELECT first(pm25), last(pm25) FROM air WHERE city = 'lisbon'",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"first\",\"last\"],\"values\":[[\"1970-01-01T00:00:00Z\",10,40]]}]}]}");
    EXPECT(f, "SELECT median(pm25), percentile(pm25, 50) FROM air WHERE city =~ /^lis/",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"median\",\"percentile\"],\"values\":[[\"1970-01-01T00:00:00Z\",25,20]]}]}]}");
}

/* last() and first() of one series read only the window of the extreme
 * point; a newer write that overrides a sealed point must still win. */
static void test_first_last_windows(void **state)
{
    fixture *f = *state;
    cts_db *db;
    assert_int_equal(cts_dbset_acquire(f->set, "city", false, &db), 0);
    write_pt(db, "lisbon", "a", "pm25", CTS_TYPE_FLOAT, 41, T0 + 60 * MIN_NS); /* overrides 40 */
    write_pt(db, "lisbon", "a", "pm25", CTS_TYPE_FLOAT, 9, T0);                /* overrides 10 */
    cts_dbset_release(f->set, db);
    EXPECT(f, "SELECT last(pm25) FROM air WHERE city = 'lisbon'",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"last\"],\"values\":[[\"2026-11-02T01:00:00Z\",41]]}]}]}");
    EXPECT(f, "SELECT first(pm25) FROM air WHERE city = 'lisbon'",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"first\"],\"values\":[[\"2026-11-02T00:00:00Z\",9]]}]}]}");
    /* the range cuts the extreme off: no shortcut, the right point */
    EXPECT(f, "SELECT last(pm25) FROM air WHERE city = 'lisbon' AND time < '2026-11-02T00:30:00Z'",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"last\"],\"values\":[[\"2026-11-02T00:02:00Z\",30]]}]}]}");
    assert_int_equal(cts_dbset_acquire(f->set, "city", false, &db), 0);
    assert_int_equal(cts_db_flush(db), 0);
    cts_dbset_release(f->set, db);
    EXPECT(f, "SELECT last(pm25) FROM air GROUP BY sensor",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"tags\":{\"sensor\":"
           "\"a\"},\"columns\":[\"time\",\"last\"],\"values\":[[\"2026-11-02T01:00:00Z\",41]]},{"
           "\"name\":\"air\",\"tags\":{\"sensor\":\"b\"},\"columns\":[\"time\",\"last\"],"
           "\"values\":[[\"2026-11-02T00:30:00Z\",15]]}]}]}");
}

static void test_group_by_time(void **state)
{
    fixture *f = *state;
    EXPECT(f,
           "SELECT mean(pm25) FROM air WHERE time >= '2026-11-02T00:00:00Z' AND time < "
           "'2026-11-02T02:00:00Z' GROUP BY time(1h), city",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"tags\":{\"city\":"
           "\"lisbon\"},\"columns\":[\"time\",\"mean\"],\"values\":[[\"2026-11-02T00:00:00Z\",20],["
           "\"2026-11-02T01:00:00Z\",40]]},{\"name\":\"air\",\"tags\":{\"city\":\"milan\"},"
           "\"columns\":[\"time\",\"mean\"],\"values\":[[\"2026-11-02T00:00:00Z\",10],[\"2026-11-"
           "02T01:00:00Z\",null]]}]}]}");
    /* count fills empty buckets with 0; the upper bound defaults to now() (02:00) */
    EXPECT(f,
           "SELECT count(pm25) FROM air WHERE time >= '2026-11-02T00:00:00Z' AND city = 'milan' "
           "GROUP BY time(1h)",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"count\"],\"values\":[[\"2026-11-02T00:00:00Z\",2],[\"2026-11-02T01:00:00Z\",0],["
           "\"2026-11-02T02:00:00Z\",0]]}]}]}");
    EXPECT(f,
           "SELECT max(pm25) FROM air WHERE time >= '2026-11-02T00:00:00Z' AND time < "
           "'2026-11-02T02:00:00Z' AND city = 'milan' GROUP BY time(30m) fill(previous)",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"max\"],\"values\":[[\"2026-11-02T00:00:00Z\",5],[\"2026-11-02T00:30:00Z\",15],["
           "\"2026-11-02T01:00:00Z\",15],[\"2026-11-02T01:30:00Z\",15]]}]}]}");
    EXPECT(
        f,
        "SELECT mean(pm25) FROM air WHERE time >= '2026-11-02T00:00:00Z' AND time < "
        "'2026-11-02T02:00:00Z' AND city = 'lisbon' GROUP BY time(30m) fill(none)",
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
        "\"mean\"],\"values\":[[\"2026-11-02T00:00:00Z\",20],[\"2026-11-02T01:00:00Z\",40]]}]}]}");
    EXPECT(f,
           "SELECT mean(pm25) FROM air WHERE time >= '2026-11-02T00:00:00Z' AND time < "
           "'2026-11-02T01:30:00Z' AND city = 'lisbon' GROUP BY time(30m) fill(linear)",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"mean\"],\"values\":[[\"2026-11-02T00:00:00Z\",20],[\"2026-11-02T00:30:00Z\",30],["
           "\"2026-11-02T01:00:00Z\",40]]}]}]}");
    EXPECT(f,
           "SELECT difference(max(pm25)) FROM air WHERE time >= '2026-11-02T00:00:00Z' AND time "
           "< '2026-11-02T02:00:00Z' AND city = 'lisbon' GROUP BY time(1h)",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"difference\"],\"values\":[[\"2026-11-02T01:00:00Z\",10]]}]}]}");
}

static void test_raw(void **state)
{
    fixture *f = *state;
    EXPECT(
        f, "SELECT pm25, no2 FROM air WHERE city = 'milan'",
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
        "\"pm25\",\"no2\"],\"values\":[[\"2026-11-02T00:00:00Z\",5,null],[\"2026-11-02T00:30:00Z\","
        "15,7]]}]}]}");
    EXPECT(f, "SELECT * FROM air WHERE pm25 > 25 ORDER BY time DESC LIMIT 1",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"city\",\"no2\",\"pm25\",\"sensor\"],\"values\":[[\"2026-11-02T01:00:00Z\",\"lisbon\","
           "null,40,\"a\"]]}]}]}");
    /* rows of all series merge by time; ties in series order */
    EXPECT(f, "SELECT pm25 FROM air WHERE time <= '2026-11-02T00:01:00Z'",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
           "\"pm25\"],\"values\":[[\"2026-11-02T00:00:00Z\",10],[\"2026-11-02T00:00:00Z\",5],["
           "\"2026-11-02T00:01:00Z\",20]]}]}]}");
    EXPECT(f, "SELECT pm25 FROM air GROUP BY city SLIMIT 1 SOFFSET 1",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"tags\":{\"city\":"
           "\"milan\"},\"columns\":[\"time\",\"pm25\"],\"values\":[[\"2026-11-02T00:00:00Z\",5],["
           "\"2026-11-02T00:30:00Z\",15]]}]}]}");
    EXPECT(f, "SELECT pm25 FROM nothing", "{\"results\":[{\"statement_id\":0}]}");
}

static void test_show(void **state)
{
    fixture *f = *state;
    EXPECT(f, "SHOW DATABASES",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"databases\",\"columns\":["
           "\"name\"],\"values\":[[\"city\"]]}]}]}");
    EXPECT(
        f, "SHOW MEASUREMENTS; SHOW TAG VALUES WITH KEY = city",
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"measurements\",\"columns\":["
        "\"name\"],\"values\":[[\"air\"]]}]},{\"statement_id\":1,\"series\":[{\"name\":\"air\","
        "\"columns\":[\"key\",\"value\"],\"values\":[[\"city\",\"lisbon\"],[\"city\",\"milan\"]]}"
        "]}]}");
    EXPECT(
        f, "SHOW FIELD KEYS FROM air",
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":["
        "\"fieldKey\",\"fieldType\"],\"values\":[[\"no2\",\"integer\"],[\"pm25\",\"float\"]]}]}]}");
    EXPECT(f, "SHOW SERIES WHERE city = 'milan'",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"columns\":[\"key\"],\"values\":[["
           "\"air,city=milan,sensor=b\"]]}]}]}");
    EXPECT(f, "SHOW TAG KEYS",
           "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":["
           "\"tagKey\"],\"values\":[[\"city\"],[\"sensor\"]]}]}]}");
}

static void test_errors(void **state)
{
    fixture *f = *state;
    int rc;
    const char *got = run(f, "SELECT FROM air", &rc);
    assert_int_equal(rc, CTS_EPARSE);
    assert_non_null(strstr(got, "error parsing query: found FROM"));
    EXPECT(f, "SELECT mean(pm25), pm25 FROM air",
           "{\"results\":[{\"statement_id\":0,\"error\":\"mixing aggregate and non-aggregate "
           "queries is not supported\"}]}");
    /* the first failing statement ends the query */
    EXPECT(f,
           "SELECT count(pm25) FROM air WHERE city = 'x'; SELECT nope(pm25) FROM air; SHOW "
           "DATABASES",
           "{\"results\":[{\"statement_id\":0},{\"statement_id\":1,\"error\":\"undefined "
           "function nope()\"}]}");
    EXPECT(f, "SELECT mean(pm25) FROM missing.autogen.air",
           "{\"results\":[{\"statement_id\":0,\"error\":\"database not found: missing\"}]}");
    EXPECT(f, "SELECT pm25 FROM air GROUP BY time(1h)",
           "{\"results\":[{\"statement_id\":0,\"error\":\"GROUP BY requires at least one "
           "aggregate function\"}]}");
    EXPECT(f, "SELECT mean(pm25) FROM air WHERE time > now() - 1h OR city = 'x'",
           "{\"results\":[{\"statement_id\":0,\"error\":\"invalid time condition at char 34: "
           "time ranges must be ANDed at the top level of WHERE (not under OR)\"}]}");
}

/* The per-query memory limit and the timeout give clear errors. */
/* `*` over several measurements expands to all their fields: each series
 * gets every column, null where its measurement lacks the field, and
 * several calls stamp the row with the range's start (InfluxDB's shape). */
static void test_wildcard_union(void **state)
{
    fixture *f = *state;
    cts_db *db;
    assert_int_equal(cts_dbset_acquire(f->set, "city", false, &db), 0);
    cts_field fl = {{"level", 5}, CTS_TYPE_FLOAT, {.f = 1.25}};
    cts_point p = {{"water", 5}, NULL, 0, &fl, 1, T0 + 5 * MIN_NS};
    cts_write_result r;
    assert_int_equal(cts_db_write(db, &p, 1, &r), 0);
    cts_dbset_release(f->set, db);
    EXPECT(
        f, "SELECT last(*) FROM /a/",
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
        "\"last_level\",\"last_no2\",\"last_pm25\"],\"values\":[[\"1970-01-01T00:00:00Z\",null,7,"
        "40]]},{\"name\":\"water\",\"columns\":[\"time\",\"last_level\",\"last_no2\",\"last_"
        "pm25\"],\"values\":[[\"1970-01-01T00:00:00Z\",1.25,null,null]]}]}]}");
    EXPECT(f, "SELECT * FROM air, water WHERE time = '2026-11-02T00:05:00Z' OR city = 'milan'",
           "{\"results\":[{\"statement_id\":0,\"error\":\"invalid time condition at char 32: time "
           "ranges must be ANDed at the top level of WHERE (not under OR)\"}]}");
    EXPECT(
        f,
        "SELECT * FROM air, water WHERE time >= '2026-11-02T00:05:00Z' AND time < "
        "'2026-11-02T00:31:00Z'",
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
        "\"city\",\"level\",\"no2\",\"pm25\",\"sensor\"],\"values\":[[\"2026-11-02T00:30:00Z\","
        "\"milan\",null,7,15,\"b\"]]},{\"name\":\"water\",\"columns\":[\"time\",\"city\",\"level\","
        "\"no2\",\"pm25\",\"sensor\"],\"values\":[[\"2026-11-02T00:05:00Z\",null,1.25,null,null,"
        "null]]}]}]}");
}

static void test_limits(void **state)
{
    fixture *f = *state;
    cts_qenc_opts eo;
    cts_qenc_opts_init(&eo);
    eo.format = CTS_QFMT_JSON;
    cts_query_opts qo;
    cts_query_opts_init(&qo);
    qo.db = "city";
    qo.memory_limit_bytes = 64; /* too small for 7 values of median() */
    cts_qenc *enc;
    f->len = 0;
    assert_int_equal(cts_qenc_create(&eo, put, f, &enc), 0);
    const char *q = "SELECT median(pm25) FROM air";
    assert_int_equal(cts_query_run(f->set, q, strlen(q), &qo, cts_qenc_sink(enc), NULL), 0);
    assert_int_equal(cts_qenc_finish(enc), 0);
    cts_qenc_destroy(enc);
    assert_non_null(strstr(f->out, "query memory limit exceeded"));
    /* a bucket array larger than the limit */
    qo.memory_limit_bytes = 4096;
    assert_int_equal(cts_qenc_create(&eo, put, f, &enc), 0);
    f->len = 0;
    q = "SELECT mean(pm25) FROM air WHERE time >= '2026-11-02T00:00:00Z' AND time < "
        "'2026-11-03T00:00:00Z' GROUP BY time(1s)";
    assert_int_equal(cts_query_run(f->set, q, strlen(q), &qo, cts_qenc_sink(enc), NULL), 0);
    assert_int_equal(cts_qenc_finish(enc), 0);
    cts_qenc_destroy(enc);
    assert_non_null(strstr(f->out, "query memory limit exceeded"));
    /* too long a text */
    qo.max_statement_bytes = 8;
    cts_query_error err;
    q = "SHOW DATABASES";
    assert_int_equal(cts_query_run(f->set, q, strlen(q), &qo, NULL, &err), CTS_ELIMIT);
    assert_non_null(strstr(err.msg, "query too long"));
}

static void test_delete_and_drop(void **state)
{
    fixture *f = *state;
    EXPECT(
        f, "CREATE DATABASE scratch; DROP DATABASE scratch; SHOW DATABASES",
        "{\"results\":[{\"statement_id\":0},{\"statement_id\":1},{\"statement_id\":2,"
        "\"series\":[{\"name\":\"databases\",\"columns\":[\"name\"],\"values\":[[\"city\"]]}]}]}");
    EXPECT(f, "DELETE FROM air WHERE city = 'lisbon' AND time < '2026-11-02T00:02:00Z'",
           "{\"results\":[{\"statement_id\":0}]}");
    EXPECT(
        f, "SELECT count(pm25) FROM air GROUP BY city",
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"tags\":{\"city\":"
        "\"lisbon\"},\"columns\":[\"time\",\"count\"],\"values\":[[\"1970-01-01T00:00:00Z\",2]]},"
        "{\"name\":\"air\",\"tags\":{\"city\":\"milan\"},\"columns\":[\"time\",\"count\"],"
        "\"values\":[[\"1970-01-01T00:00:00Z\",2]]}]}]}");
    EXPECT(f, "DROP SERIES FROM air WHERE city = 'milan'; SHOW SERIES",
           "{\"results\":[{\"statement_id\":0},{\"statement_id\":1,\"series\":[{\"columns\":["
           "\"key\"],\"values\":[[\"air,city=lisbon,sensor=a\"]]}]}]}");
    EXPECT(f, "DROP MEASUREMENT air; SHOW MEASUREMENTS",
           "{\"results\":[{\"statement_id\":0},{\"statement_id\":1}]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_aggregates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_last_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wildcard_union, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_drop, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
