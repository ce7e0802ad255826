/*
 * bench_query.c: query/<name>, the query language's benchmark suite on a
 * real dataset (issue 8's queries). The dataset is too large to build per
 * run, so the benchmarks read the data directory named by
 * CTS_BENCH_QUERY_DATA, holding database `bench` as bench/query.sh builds it
 * (`cityts gen --sensors 280 --duration 7d --seed 7 | cityts ingest`: about
 * 150 million values, 10,080 series). Without it they skip with a message.
 *
 * Each benchmark runs one statement through cts_query_run into a sink that
 * counts rows (no encoding), so the figure is the executor's. Items per
 * second are values per second: the number of values the statement reads,
 * counted once before timing with a count() over the same range.
 * CTS_BENCH_QUERY_THREADS sets cts_query_opts.threads (default 2).
 */
#include "bench_suites.h"
#include "cts_bench.h"
#include "cts_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START "'2026-11-02T00:00:00Z'"
#define WEEK_END "'2026-11-09T00:00:00Z'"

typedef struct qcase {
    const char *name;
    const char *query;
    const char *count_query; /* values the query reads; NULL: report none */
} qcase;

static const qcase cases[] = {
    {"full_range_stats", "SELECT count(pm25), sum(pm25), min(pm25), max(pm25), mean(pm25) FROM air",
     "SELECT count(pm25) FROM air"},
    {"hourly_week_one_city",
     "SELECT mean(temperature) FROM weather WHERE city = 'lisbon' AND time >= " START
     " AND time < " WEEK_END " GROUP BY time(1h)",
     "SELECT count(temperature) FROM weather WHERE city = 'lisbon' AND time >= " START
     " AND time < " WEEK_END},
    {"last_point_every_series", "SELECT last(*) FROM /.*/ GROUP BY *", NULL},
    {"raw_hour_one_sensor",
     "SELECT * FROM air WHERE sensor = 'lis-air-0007' AND time >= '2026-11-05T12:00:00Z' AND "
     "time < '2026-11-05T13:00:00Z'",
     NULL},
    {"field_predicate_scan", "SELECT count(pm25) FROM air WHERE pm25 > 50",
     "SELECT count(pm25) FROM air"},
    {"mean_stddev_15m_by_city",
     "SELECT mean(pm25), stddev(pm25) FROM air WHERE time >= " START " AND time < " WEEK_END
     " GROUP BY time(15m), city",
     "SELECT count(pm25) FROM air WHERE time >= " START " AND time < " WEEK_END},
};

typedef struct counter {
    uint64_t rows;
    int64_t first_int; /* first integer cell seen (a count) */
    bool have_int;
    char error[256];
} counter;

static int c_begin(void *ctx, uint32_t id)
{
    (void)ctx;
    (void)id;
    return 0;
}
static int c_series(void *ctx, const cts_qseries *s)
{
    (void)ctx;
    (void)s;
    return 0;
}
static int c_row(void *ctx, const cts_qval *v)
{
    counter *c = ctx;
    c->rows++;
    if (!c->have_int && v[1].type == CTS_Q_INT) {
        c->first_int = v[1].v.i;
        c->have_int = true;
    }
    return 0;
}
static int c_end_series(void *ctx)
{
    (void)ctx;
    return 0;
}
static int c_end(void *ctx, uint32_t id, const char *err)
{
    (void)id;
    if (err)
        snprintf(((counter *)ctx)->error, sizeof((counter *)ctx)->error, "%s", err);
    return 0;
}

static int run_query(cts_dbset *set, const char *q, counter *c, char *msg, size_t cap)
{
    cts_qsink sink = {c, c_begin, c_series, c_row, c_end_series, c_end};
    cts_query_opts o;
    cts_query_opts_init(&o);
    o.db = "bench";
    const char *threads = getenv("CTS_BENCH_QUERY_THREADS");
    if (threads && *threads)
        o.threads = (uint32_t)strtoul(threads, NULL, 10);
    cts_query_error err;
    memset(c, 0, sizeof *c);
    int rc = cts_query_run(set, q, strlen(q), &o, &sink, &err);
    if (rc)
        snprintf(msg, cap, "%s", err.msg[0] ? err.msg : cts_strerror(rc));
    else if (c->error[0])
        snprintf(msg, cap, "%s", c->error), rc = CTS_EINVAL;
    return rc;
}

/* The data directory, opened at the first benchmark that runs and kept
 * open for the others (as a server keeps it): the first query of the
 * process pays for opening the database and mapping its files. */
struct bench_query {
    cts_dbset *set;
    bool tried;
    char error[512];
    struct qrun {
        struct bench_query *bq;
        const qcase *qc;
    } runs[sizeof cases / sizeof cases[0]];
};

static cts_dbset *shared_set(bench_query *bq)
{
    const char *dir = getenv("CTS_BENCH_QUERY_DATA");
    if (bq->tried)
        return bq->set;
    bq->tried = true;
    if (!dir || !*dir) {
        snprintf(bq->error, sizeof bq->error,
                 "set CTS_BENCH_QUERY_DATA to a data directory built "
                 "by bench/query.sh (docs/benchmarks.md)");
        return NULL;
    }
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.read_only = true;
    if (cts_dbset_open(dir, &o, &bq->set))
        snprintf(bq->error, sizeof bq->error, "%s", cts_dbset_errmsg());
    return bq->set;
}

static void query_run(cts_bench_state *st, void *ctx)
{
    const struct qrun *qr = ctx;
    const qcase *qc = qr->qc;
    char msg[512];
    cts_dbset *set = shared_set(qr->bq);
    if (!set) {
        cts_bench_skip_with_error(st, qr->bq->error);
        return;
    }
    counter c;
    int64_t values = 0;
    int rc = qc->count_query ? run_query(set, qc->count_query, &c, msg, sizeof msg) : 0;
    if (rc == 0 && qc->count_query)
        values = c.first_int;
    if (rc == 0)
        rc = run_query(set, qc->query, &c, msg, sizeof msg); /* warm */
    if (rc) {
        cts_bench_skip_with_error(st, msg);
        return;
    }
    while (cts_bench_keep_running(st))
        (void)run_query(set, qc->query, &c, msg, sizeof msg);
    cts_bench_set_items_processed(st, cts_bench_iterations(st) * values);
    snprintf(msg, sizeof msg, "rows=%llu", (unsigned long long)c.rows);
    cts_bench_set_label(st, msg);
}

int bench_query_register(bench_query **out)
{
    bench_query *bq = calloc(1, sizeof *bq);
    *out = bq;
    if (!bq)
        return CTS_ENOMEM;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[96];
        bq->runs[i] = (struct qrun){bq, &cases[i]};
        snprintf(name, sizeof name, "query/%s", cases[i].name);
        cts_bench *b = cts_bench_register(name, query_run, &bq->runs[i]);
        b = cts_bench_use_real_time(b);
        b = cts_bench_time_unit(b, CTS_BENCH_MS);
        if (!b)
            return CTS_ENOMEM;
    }
    return 0;
}

void bench_query_destroy(bench_query *bq)
{
    if (!bq)
        return;
    (void)cts_dbset_close(bq->set);
    free(bq);
}
