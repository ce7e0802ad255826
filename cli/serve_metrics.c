/*
 * serve_metrics.c: GET /metrics, the server's counters in the Prometheus
 * text exposition format (version 0.0.4).
 *
 * Counters live in serve_metrics (atomics bumped by the connection
 * threads); a scrape reads them without a lock, so one scrape may see a
 * request counted in one family and not yet in another, which Prometheus
 * tolerates. Per-database gauges come from cts_db_get_stats on every
 * database of the data directory (a scrape opens a database not yet
 * opened). Memory is the process's resident set from /proc/self/statm.
 *
 * Families (all prefixed cityts_):
 *   http_requests_total{endpoint,status}   by endpoint and status class
 *   write_bytes_total, points_written_total, values_written_total,
 *   series_created_total, write_errors_total{kind}
 *   queries_total, query_errors_total, query_duration_seconds (histogram)
 *   auth_failures_total
 *   http_active_requests, http_inflight_body_bytes
 *   databases, series{db}, sealed_bytes{db}, wal_bytes{db},
 *   head_points{db}, io_backend{db,backend}
 *   memory_rss_bytes, uptime_seconds
 */
#include "serve.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t lat_bounds_us[SERVE_LAT_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000};

static const char *const route_names[SERVE_R_COUNT] = {"write",  "write_v2", "query", "ping",
                                                       "health", "metrics",  "other"};

static const char *const werr_names[SERVE_WERR_COUNT] = {"parse",     "rejected",   "db_not_found",
                                                         "too_large", "throttled",  "auth",
                                                         "internal",  "bad_request"};

void serve_metrics_query(serve_metrics *m, uint64_t elapsed_ns, bool failed)
{
    uint64_t us = elapsed_ns / 1000;
    atomic_fetch_add(&m->queries, 1);
    if (failed)
        atomic_fetch_add(&m->query_errors, 1);
    for (int i = 0; i < SERVE_LAT_BUCKETS; i++)
        if (us <= lat_bounds_us[i]) {
            atomic_fetch_add(&m->query_lat[i], 1);
            break;
        }
    atomic_fetch_add(&m->query_lat_count, 1);
    atomic_fetch_add(&m->query_lat_sum_us, us);
}

/* A growing text buffer; `failed` sticks after an allocation failure. */
typedef struct mbuf {
    char *p;
    size_t len, cap;
    bool failed;
} mbuf;

__attribute__((format(printf, 2, 3))) static void put(mbuf *b, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !b->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap ? b->cap : 4096) * 2 + (size_t)n;
        char *np = cts_realloc(b->p, ncap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static void family(mbuf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP cityts_%s %s\n# TYPE cityts_%s %s\n", name, help, name, type);
}

static unsigned long long ld(atomic_uint_fast64_t *v)
{
    return (unsigned long long)atomic_load(v);
}

static void render_http(mbuf *b, serve_metrics *m)
{
    static const char *const cls[6] = {"0xx", "1xx", "2xx", "3xx", "4xx", "5xx"};
    family(b, "http_requests_total", "counter", "HTTP requests answered, by endpoint and status");
    for (int r = 0; r < SERVE_R_COUNT; r++)
        for (int s = 1; s < 6; s++)
            if (ld(&m->requests[r][s]) || s == 2)
                put(b, "cityts_http_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
                    route_names[r], cls[s], ld(&m->requests[r][s]));
    family(b, "auth_failures_total", "counter", "Requests refused for bad or missing credentials");
    put(b, "cityts_auth_failures_total %llu\n", ld(&m->auth_failures));
}

static void render_writes(mbuf *b, serve_metrics *m)
{
    family(b, "write_bytes_total", "counter", "Bytes of line protocol received (after gunzip)");
    put(b, "cityts_write_bytes_total %llu\n", ld(&m->write_bytes));
    family(b, "points_written_total", "counter", "Points written through HTTP");
    put(b, "cityts_points_written_total %llu\n", ld(&m->points_written));
    family(b, "values_written_total", "counter", "Field values written through HTTP");
    put(b, "cityts_values_written_total %llu\n", ld(&m->values_written));
    family(b, "series_created_total", "counter", "Series created by HTTP writes");
    put(b, "cityts_series_created_total %llu\n", ld(&m->series_created));
    family(b, "write_errors_total", "counter",
           "Write errors: lines or points for parse and rejected, requests otherwise");
    for (int k = 0; k < SERVE_WERR_COUNT; k++)
        put(b, "cityts_write_errors_total{kind=\"%s\"} %llu\n", werr_names[k],
            ld(&m->write_errors[k]));
}

static void render_queries(mbuf *b, serve_metrics *m)
{
    family(b, "queries_total", "counter", "Queries run (/query requests that parsed)");
    put(b, "cityts_queries_total %llu\n", ld(&m->queries));
    family(b, "query_errors_total", "counter", "Queries that failed as a whole");
    put(b, "cityts_query_errors_total %llu\n", ld(&m->query_errors));
    family(b, "query_duration_seconds", "histogram", "Query latency, parse to last byte");
    unsigned long long cum = 0;
    for (int i = 0; i < SERVE_LAT_BUCKETS; i++) {
        cum += ld(&m->query_lat[i]);
        put(b, "cityts_query_duration_seconds_bucket{le=\"%g\"} %llu\n",
            (double)lat_bounds_us[i] / 1e6, cum);
    }
    put(b, "cityts_query_duration_seconds_bucket{le=\"+Inf\"} %llu\n", ld(&m->query_lat_count));
    put(b, "cityts_query_duration_seconds_sum %.6f\n", (double)ld(&m->query_lat_sum_us) / 1e6);
    put(b, "cityts_query_duration_seconds_count %llu\n", ld(&m->query_lat_count));
}

static void render_db(mbuf *b, cts_dbset *dbs, const char *name)
{
    cts_db *db = NULL;
    if (cts_dbset_acquire(dbs, name, false, &db) != 0)
        return;
    cts_db_stats s;
    memset(&s, 0, sizeof s);
    cts_db_get_stats(db, &s);
    put(b, "cityts_series{db=\"%s\"} %llu\n", name, (unsigned long long)s.series);
    put(b, "cityts_sealed_bytes{db=\"%s\"} %llu\n", name, (unsigned long long)s.bytes_sealed);
    put(b, "cityts_wal_bytes{db=\"%s\"} %llu\n", name, (unsigned long long)s.wal_bytes);
    put(b, "cityts_head_points{db=\"%s\"} %llu\n", name, (unsigned long long)s.head_points);
    put(b, "cityts_io_backend{db=\"%s\",backend=\"%s\"} 1\n", name, cts_db_io_backend(db));
    cts_dbset_release(dbs, db);
}

static void render_dbs(mbuf *b, cts_dbset *dbs)
{
    cts_strlist *list = NULL;
    if (cts_dbset_list(dbs, &list) != 0)
        return;
    family(b, "databases", "gauge", "Databases in the data directory");
    put(b, "cityts_databases %zu\n", list->count);
    put(b, "# HELP cityts_series Series per database (also _sealed_bytes: block bytes on disk, "
           "_wal_bytes, _head_points: points in memory, _io_backend)\n# TYPE cityts_series "
           "gauge\n# TYPE cityts_sealed_bytes gauge\n# TYPE cityts_wal_bytes gauge\n"
           "# TYPE cityts_head_points gauge\n# TYPE cityts_io_backend gauge\n");
    for (size_t i = 0; i < list->count; i++) {
        char name[CTS_DB_NAME_MAX + 1];
        cts_str s = list->items[i];
        if (s.len > CTS_DB_NAME_MAX)
            continue;
        memcpy(name, s.ptr, s.len);
        name[s.len] = '\0';
        if (cts_db_name_valid(name))
            render_db(b, dbs, name);
    }
    cts_free(list);
}

static void render_process(mbuf *b, serve_state *st)
{
    unsigned long long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    family(b, "memory_rss_bytes", "gauge", "Resident memory of the server process");
    put(b, "cityts_memory_rss_bytes %llu\n", rss * (unsigned long long)sysconf(_SC_PAGESIZE));
    family(b, "http_active_requests", "gauge", "Requests being handled");
    put(b, "cityts_http_active_requests %d\n", atomic_load(&st->active_requests));
    family(b, "http_inflight_body_bytes", "gauge", "Request body bytes held in memory");
    put(b, "cityts_http_inflight_body_bytes %llu\n", ld(&st->inflight_bytes));
    family(b, "uptime_seconds", "gauge", "Seconds since the server started");
    put(b, "cityts_uptime_seconds %.3f\n", (double)(serve_now_ns() - st->start_ns) / 1e9);
}

int serve_metrics_render(serve_state *st, char **out, size_t *len)
{
    mbuf b = {0};
    render_http(&b, &st->metrics);
    render_writes(&b, &st->metrics);
    render_queries(&b, &st->metrics);
    render_dbs(&b, st->dbs);
    render_process(&b, st);
    if (b.failed) {
        cts_free(b.p);
        return CTS_ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
