/*
 * cmd_bench.c: `cityts bench`, the benchmark a user runs on their own
 * server before choosing cityts. One run, in a work directory:
 *
 *   1. generate the city data (`cityts gen`, seed fixed) into data.lp;
 *   2. CLI ingest: data.lp through the same pipeline as `cityts ingest`
 *      (cli/ingest.c) into work/cli/bench; values/s, then the close that
 *      seals and syncs everything (timed apart);
 *   3. storage: sealed block bytes per value overall and per measurement
 *      (cts_db_columns, as `cityts inspect`), bytes on disk of the whole
 *      database directory as du counts them, WAL bytes written per value;
 *   4. queries: the suite of the query-language benchmark
 *      (bench/bench_query.c: the same statements) against that database,
 *      each run once to warm up, then `runs` times through the JSON
 *      encoder (the output counted, not kept); p50 and p99;
 *   5. HTTP ingest: `cityts serve` started as a child on 127.0.0.1 (a free
 *      port), data.lp cut into 5,000-line batches POSTed to /write by
 *      `clients` concurrent keep-alive connections (bench_http.c); values/s,
 *      then SIGTERM (the server flushes and exits) timed apart, and the
 *      server's peak RSS from wait4.
 *
 * Both ingest paths read the same file from the page cache, so generation
 * is not in either figure. Peak RSS of the CLI path is this process's
 * VmHWM after steps 2-4 (before the HTTP step maps data.lp).
 *
 * Everything is removed at the end unless --keep; with --data DIR the
 * files go there (and DIR itself is kept).
 */
#include "bench_fs.h"
#include "bench_http.h"
#include "cli.h"
#include "gen.h"
#include "ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BATCH_LINES 5000u
#define QUERY_COUNT 6
#define MEAS_MAX 16

typedef struct scale {
    const char *name;
    uint32_t sensors; /* per city per measurement */
    uint32_t days;
} scale;

/* Values are about 78,000 per sensor per day over the six measurements
 * and cities (docs/gen.md); a week keeps the suite's time ranges full. */
static const scale scales[] = {
    {"tiny", 1, 2},    /* ~0.15 million values: tests */
    {"small", 2, 7},   /* ~1.1 million */
    {"medium", 55, 7}, /* ~30 million */
    {"large", 550, 7}, /* ~300 million */
};

typedef struct args {
    const scale *sc;
    const char *data;
    bool json, keep;
    uint32_t clients, runs;
    uint64_t seed;
} args;

typedef struct meas_row {
    char name[64];
    uint64_t values, bytes;
} meas_row;

typedef struct qresult {
    char name[32];
    char text[512];
    double p50_ms, p99_ms;
    uint64_t out_bytes;
    char error[600];
} qresult;

typedef struct report {
    cts_gen_stats gen;
    double gen_s;
    double cli_s, cli_close_s;
    double http_s, http_stop_s;
    uint64_t http_batches, http_failed;
    uint64_t sealed_values, sealed_bytes, disk_bytes, wal_bytes;
    meas_row meas[MEAS_MAX];
    size_t nmeas;
    uint64_t rss_cli, rss_serve;
    qresult q[QUERY_COUNT];
} report;

typedef struct paths {
    char root[4096], lp[4200], cli[4200], db[4200], http[4200], log[4200];
    bool made_root;
} paths;

/* ---- options ---- */

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || v < lo || v > hi)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_args(int argc, char **argv, args *a)
{
    static const struct option longopts[] = {
        {"scale", required_argument, NULL, 's'},   {"data", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},          {"keep", no_argument, NULL, 'k'},
        {"clients", required_argument, NULL, 'c'}, {"runs", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 'S'},    {0}};
    int c;
    uint32_t seed = 1;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 's') {
            a->sc = NULL;
            for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++)
                if (strcmp(optarg, scales[i].name) == 0)
                    a->sc = &scales[i];
            if (!a->sc)
                return cli_usage_error("bench",
                                       "--scale: expected tiny, small, medium or large, "
                                       "got '%s'",
                                       optarg);
        } else if (c == 'd') {
            a->data = optarg;
        } else if (c == 'j' || c == 'k') {
            *(c == 'j' ? &a->json : &a->keep) = true;
        } else if (c == 'c' && parse_u32(optarg, 1, 256, &a->clients) == 0) {
        } else if (c == 'r' && parse_u32(optarg, 1, 100000, &a->runs) == 0) {
        } else if (c == 'S' && parse_u32(optarg, 0, UINT32_MAX, &seed) == 0) {
        } else if (c == 'c' || c == 'r' || c == 'S') {
            return cli_usage_error("bench", "%s: bad number '%s'", argv[optind - 1], optarg);
        } else {
            return cli_usage_error("bench", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    a->seed = seed;
    return 0;
}

static int make_paths(const args *a, paths *p)
{
    if (a->data) {
        if (strlen(a->data) >= sizeof p->root)
            return -1;
        snprintf(p->root, sizeof p->root, "%s", a->data);
        if (mkdir(p->root, 0755) != 0 && errno != EEXIST)
            return -1;
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(p->root, sizeof p->root, "%s/cityts-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(p->root))
            return -1;
        p->made_root = true;
    }
    snprintf(p->lp, sizeof p->lp, "%s/data.lp", p->root);
    snprintf(p->cli, sizeof p->cli, "%s/cli", p->root);
    snprintf(p->db, sizeof p->db, "%s/cli/bench", p->root);
    snprintf(p->http, sizeof p->http, "%s/http", p->root);
    snprintf(p->log, sizeof p->log, "%s/serve.log", p->root);
    /* a previous run's files would add to (or replace) this run's data */
    if (bench_rmtree(p->lp) || bench_rmtree(p->cli) || bench_rmtree(p->http) ||
        bench_rmtree(p->log))
        return -1;
    return 0;
}

static void remove_paths(const paths *p)
{
    if (p->made_root) {
        bench_rmtree(p->root);
        return;
    }
    bench_rmtree(p->lp);
    bench_rmtree(p->cli);
    bench_rmtree(p->http);
    bench_rmtree(p->log);
}

/* ---- 1. generate ---- */

static int generate(const args *a, const paths *p, report *r)
{
    cts_gen_opts go;
    cts_gen_opts_init(&go);
    go.seed = a->seed;
    go.sensors = a->sc->sensors;
    go.duration_ns = (int64_t)a->sc->days * 86400 * INT64_C(1000000000);
    cts_gen *g = NULL;
    char *buf = NULL;
    FILE *f = NULL;
    int rc = CTS_ENOMEM;
    double t0 = bench_now();
    if (cts_gen_create(&go, &g) || !(buf = cts_malloc(1 << 20)))
        goto out;
    rc = CTS_EIO;
    if (!(f = fopen(p->lp, "wb")))
        goto out;
    int64_t n;
    while ((n = cts_gen_read(g, buf, 1 << 20)) > 0)
        if (fwrite(buf, 1, (size_t)n, f) != (size_t)n)
            goto out;
    if (n == 0)
        rc = 0;
    cts_gen_stats_get(g, &r->gen);
    r->gen_s = bench_now() - t0;
out:
    if (f && fclose(f) != 0 && rc == 0)
        rc = CTS_EIO;
    cts_free(buf);
    cts_gen_destroy(g);
    if (rc)
        fprintf(stderr, "cityts bench: cannot write %s: %s\n", p->lp, strerror(errno));
    return rc;
}

/* ---- 2. CLI ingest ---- */

static int ingest_cli(const paths *p, report *r)
{
    cts_db *db;
    if (cli_open_db(p->cli, "bench", NULL, true, &db))
        return CTS_EIO;
    ingest_source src;
    if (ingest_source_file(&src, p->lp)) {
        fprintf(stderr, "cityts bench: %s\n", src.errmsg);
        cts_db_close(db);
        return CTS_EIO;
    }
    ingest_opts io = {.precision = CTS_LP_NS, .report_max = 10, .report = stderr};
    ingest_stats st;
    double t0 = bench_now();
    int rc = ingest_run(db, &io, &src, 1, &st);
    r->cli_s = bench_now() - t0;
    ingest_source_close(&src);
    cts_db_stats ds;
    cts_db_get_stats(db, &ds);
    r->wal_bytes = ds.wal_bytes;
    t0 = bench_now();
    int crc = cts_db_close(db);
    r->cli_close_s = bench_now() - t0;
    if (rc == 0 && st.values != r->gen.values) {
        fprintf(stderr, "cityts bench: ingest wrote %llu values of %llu\n",
                (unsigned long long)st.values, (unsigned long long)r->gen.values);
        rc = CTS_EIO;
    }
    if (crc)
        fprintf(stderr, "cityts bench: closing the database: %s\n", cts_strerror(crc));
    return rc ? rc : crc;
}

/* ---- 3. storage ---- */

typedef struct col_sums {
    uint64_t *points, *bytes; /* by field id */
    size_t cap;
    int err;
} col_sums;

static int sum_column(void *ctx, const cts_column_info *ci)
{
    col_sums *s = ctx;
    if (ci->field_id >= s->cap)
        return s->err = CTS_ERANGE;
    s->points[ci->field_id] += ci->points_sealed + ci->head_points;
    s->bytes[ci->field_id] += ci->bytes_sealed;
    return 0;
}

/* Add field `fid`'s sums to the row of its measurement. */
static void add_to_measurement(cts_db *db, report *r, uint32_t fid, uint64_t values, uint64_t bytes)
{
    char m[64], name[256];
    cts_type type;
    if (cts_db_field_info(db, fid, m, sizeof m, name, sizeof name, &type))
        return;
    size_t i = 0;
    while (i < r->nmeas && strcmp(r->meas[i].name, m) != 0)
        i++;
    if (i == r->nmeas) {
        if (r->nmeas == MEAS_MAX)
            return;
        snprintf(r->meas[r->nmeas++].name, sizeof r->meas[0].name, "%s", m);
    }
    r->meas[i].values += values;
    r->meas[i].bytes += bytes;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const meas_row *)a)->name, ((const meas_row *)b)->name);
}

static int storage(const paths *p, report *r)
{
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.read_only = true;
    cts_db *db;
    if (cli_open_db(p->cli, "bench", &o, false, &db))
        return CTS_EIO;
    cts_db_stats ds;
    cts_db_get_stats(db, &ds);
    r->sealed_values = ds.points_sealed + ds.head_points;
    r->sealed_bytes = ds.bytes_sealed;
    col_sums s = {.cap = 4096};
    s.points = cts_calloc(s.cap, sizeof *s.points);
    s.bytes = cts_calloc(s.cap, sizeof *s.bytes);
    int rc = s.points && s.bytes ? cts_db_columns(db, sum_column, &s) : CTS_ENOMEM;
    for (uint32_t f = 0; rc == 0 && f < s.cap; f++)
        if (s.points[f])
            add_to_measurement(db, r, f, s.points[f], s.bytes[f]);
    qsort(r->meas, r->nmeas, sizeof r->meas[0], by_name);
    cts_free(s.points);
    cts_free(s.bytes);
    cts_db_close(db);
    uint64_t apparent;
    if (rc == 0)
        rc = bench_du(p->db, &r->disk_bytes, &apparent);
    if (rc)
        fprintf(stderr, "cityts bench: reading the database's statistics: %s\n", cts_strerror(rc));
    return rc;
}

/* ---- 4. queries ---- */

#define START "'2026-11-02T00:00:00Z'"
#define WEEK_END "'2026-11-09T00:00:00Z'"

/* The statements of bench/bench_query.c (issue 8's suite), with the
 * sensor of the raw query made one the scale has (%u: 7, or fewer). */
static void query_texts(uint32_t sensors, qresult *q)
{
    static const char *const names[QUERY_COUNT] = {
        "full_range_stats",    "hourly_week_one_city", "last_point_every_series",
        "raw_hour_one_sensor", "field_predicate_scan", "mean_stddev_15m_by_city"};
    const char *texts[QUERY_COUNT] = {
        "SELECT count(pm25), sum(pm25), min(pm25), max(pm25), mean(pm25) FROM air",
        "SELECT mean(temperature) FROM weather WHERE city = 'lisbon' AND time >= " START
        " AND time < " WEEK_END " GROUP BY time(1h)",
        "SELECT last(*) FROM /.*/ GROUP BY *",
        NULL,
        "SELECT count(pm25) FROM air WHERE pm25 > 50",
        "SELECT mean(pm25), stddev(pm25) FROM air WHERE time >= " START " AND time < " WEEK_END
        " GROUP BY time(15m), city"};
    for (int i = 0; i < QUERY_COUNT; i++) {
        snprintf(q[i].name, sizeof q[i].name, "%s", names[i]);
        if (texts[i])
            snprintf(q[i].text, sizeof q[i].text, "%s", texts[i]);
        else
            snprintf(q[i].text, sizeof q[i].text,
                     "SELECT * FROM air WHERE sensor = 'lis-air-%04u' AND time >= "
                     "'2026-11-05T12:00:00Z' AND time < '2026-11-05T13:00:00Z'",
                     sensors < 7 ? sensors : 7);
    }
}

/* A sink that forwards to the JSON encoder and keeps the statement's
 * error, so a failing query is reported rather than timed. */
typedef struct tap {
    const cts_qsink *inner;
    char *error;
    size_t error_cap;
} tap;

static int t_sb(void *c, uint32_t id)
{
    const tap *t = c;
    return t->inner->statement_begin(t->inner->ctx, id);
}
static int t_seb(void *c, const cts_qseries *s)
{
    const tap *t = c;
    return t->inner->series_begin(t->inner->ctx, s);
}
static int t_row(void *c, const cts_qval *v)
{
    const tap *t = c;
    return t->inner->row(t->inner->ctx, v);
}
static int t_see(void *c)
{
    const tap *t = c;
    return t->inner->series_end(t->inner->ctx);
}
static int t_ste(void *c, uint32_t id, const char *err)
{
    tap *t = c;
    if (err && !t->error[0])
        snprintf(t->error, t->error_cap, "%s", err);
    return t->inner->statement_end(t->inner->ctx, id, err);
}

static int count_bytes(void *ctx, const void *buf, size_t len)
{
    (void)buf;
    *(uint64_t *)ctx += len;
    return 0;
}

/* Run q once; its time in ms, or < 0 on failure (q->error set). */
static double run_once(cts_dbset *dbs, qresult *q)
{
    cts_query_opts qo;
    cts_query_opts_init(&qo);
    qo.db = "bench";
    cts_qenc_opts eo;
    cts_qenc_opts_init(&eo);
    eo.format = CTS_QFMT_JSON;
    cts_qenc *enc;
    q->out_bytes = 0;
    double t0 = bench_now();
    if (cts_qenc_create(&eo, count_bytes, &q->out_bytes, &enc)) {
        snprintf(q->error, sizeof q->error, "out of memory");
        return -1;
    }
    tap t = {.inner = cts_qenc_sink(enc), .error = q->error, .error_cap = sizeof q->error};
    cts_qsink sink = {&t, t_sb, t_seb, t_row, t_see, t_ste};
    cts_query_error qe;
    int rc = cts_query_run(dbs, q->text, strlen(q->text), &qo, &sink, &qe);
    int frc = cts_qenc_finish(enc);
    cts_qenc_destroy(enc);
    double ms = (bench_now() - t0) * 1e3;
    if (rc && !q->error[0])
        snprintf(q->error, sizeof q->error, "%s", rc == CTS_EPARSE ? qe.msg : cts_strerror(rc));
    return rc || frc || q->error[0] ? -1 : ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, uint32_t n, double p)
{
    uint32_t k = (uint32_t)(p * n + 0.999999);
    return v[k ? k - 1 : 0];
}

static int queries(const args *a, const paths *p, report *r)
{
    cts_dbset *dbs;
    if (cts_dbset_open(p->cli, NULL, &dbs)) {
        fprintf(stderr, "cityts bench: cannot open %s\n", p->cli);
        return CTS_EIO;
    }
    double *ms = cts_malloc(a->runs * sizeof *ms);
    int rc = ms ? 0 : CTS_ENOMEM;
    query_texts(a->sc->sensors, r->q);
    for (int i = 0; rc == 0 && i < QUERY_COUNT; i++) {
        if (run_once(dbs, &r->q[i]) < 0) /* warm-up, not counted: maps, caches */
            rc = CTS_EIO;
        for (uint32_t k = 0; rc == 0 && k < a->runs; k++)
            if ((ms[k] = run_once(dbs, &r->q[i])) < 0)
                rc = CTS_EIO;
        if (rc) {
            fprintf(stderr, "cityts bench: query %s failed: %s\n", r->q[i].name, r->q[i].error);
            break;
        }
        qsort(ms, a->runs, sizeof *ms, cmp_double);
        r->q[i].p50_ms = pct(ms, a->runs, 0.50);
        r->q[i].p99_ms = pct(ms, a->runs, 0.99);
    }
    cts_free(ms);
    cts_dbset_close(dbs);
    return rc;
}

/* ---- 5. HTTP ingest ---- */

/* Start `cityts serve` (this very program) on a free loopback port;
 * returns its pid (> 0) and the port, or -1. */
static pid_t start_server(const paths *p, uint16_t *port)
{
    unlink(p->log); /* an old log would name an old port */
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execl("/proc/self/exe", "cityts", "serve", "--data", p->http, "--listen", "127.0.0.1:0",
              "--max-connections", "512", (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    /* bounded wait for "listening on http://127.0.0.1:PORT" */
    for (int i = 0; i < 400; i++) {
        char buf[4096] = {0};
        FILE *f = fopen(p->log, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        const char *at = strstr(buf, "http://127.0.0.1:");
        if (at && strchr(at, ' ')) {
            *port = (uint16_t)strtoul(at + 17, NULL, 10);
            return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(25000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* SIGTERM, then wait (bounded) for the flush and exit; the server's peak
 * RSS from its rusage. Returns its exit status or -1. */
static int stop_server(pid_t pid, report *r)
{
    double t0 = bench_now();
    kill(pid, SIGTERM);
    int status = 0;
    struct rusage ru;
    pid_t w = 0;
    for (int i = 0; i < 12000 && w == 0; i++) { /* 10 minutes at most */
        w = wait4(pid, &status, WNOHANG, &ru);
        if (w == 0)
            usleep(50000);
    }
    if (w != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    r->http_stop_s = bench_now() - t0;
    r->rss_serve = (uint64_t)ru.ru_maxrss * 1024;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int create_db(uint16_t port)
{
    bench_conn c;
    bench_resp resp = {0};
    int rc = bench_conn_open(&c, "127.0.0.1", port);
    if (rc == 0) {
        rc = bench_http_request(&c, "POST", "/query?q=CREATE%20DATABASE%20bench", NULL, NULL, 0,
                                &resp);
        bench_conn_close(&c);
    }
    if (rc == 0 && resp.status != 200)
        rc = CTS_EIO;
    cts_free(resp.body);
    return rc;
}

static int post_all(const args *a, const paths *p, uint16_t port, report *r)
{
    int fd = open(p->lp, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        if (fd >= 0)
            close(fd);
        return CTS_EIO;
    }
    size_t len = (size_t)st.st_size;
    char *buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (buf == MAP_FAILED)
        return CTS_EIO;
    size_t *off = NULL;
    int64_t nb = bench_batches(buf, len, BATCH_LINES, &off);
    int rc = nb < 0 ? (int)nb : 0;
    bench_load_result lr;
    if (rc == 0) {
        bench_load l = {"127.0.0.1", port,      "/write?db=bench&precision=ns", buf, off,
                        (size_t)nb,  a->clients};
        rc = bench_http_load(&l, &lr);
        r->http_s = lr.seconds;
        r->http_batches = (uint64_t)nb;
        r->http_failed = lr.failed;
        if (rc == 0 && lr.failed)
            fprintf(stderr, "cityts bench: %llu of %lld batches failed; first: %d %s\n",
                    (unsigned long long)lr.failed, (long long)nb, lr.first_status, lr.first_error);
    }
    cts_free(off);
    munmap(buf, len);
    return rc ? rc : r->http_failed ? CTS_EIO : 0;
}

static int ingest_http(const args *a, const paths *p, report *r)
{
    uint16_t port = 0;
    pid_t pid = start_server(p, &port);
    if (pid < 0) {
        fprintf(stderr, "cityts bench: cityts serve did not start (see %s)\n", p->log);
        return CTS_EIO;
    }
    int rc = create_db(port);
    if (rc)
        fprintf(stderr, "cityts bench: CREATE DATABASE over HTTP failed\n");
    else
        rc = post_all(a, p, port, r);
    int status = stop_server(pid, r);
    if (status != 0) {
        fprintf(stderr, "cityts bench: cityts serve exited with status %d (see %s)\n", status,
                p->log);
        rc = rc ? rc : CTS_EIO;
    }
    return rc;
}

/* ---- output ---- */

static double per(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

static void print_json(const args *a, const report *r)
{
    uint64_t v = r->gen.values;
    printf("{\"scale\":\"%s\",\"seed\":%llu,\"sensors\":%u,\"days\":%u,\"clients\":%u,"
           "\"batch_lines\":%u,\"runs\":%u,\n",
           a->sc->name, (unsigned long long)a->seed, a->sc->sensors, a->sc->days, a->clients,
           BATCH_LINES, a->runs);
    printf(" \"data\":{\"lines\":%llu,\"values\":%llu,\"bytes\":%llu,\"gen_seconds\":%.3f},\n",
           (unsigned long long)r->gen.lines, (unsigned long long)v,
           (unsigned long long)r->gen.bytes, r->gen_s);
    printf(" \"ingest_cli\":{\"seconds\":%.3f,\"values_per_s\":%.0f,\"close_seconds\":%.3f},\n",
           r->cli_s, per(v, 1) / r->cli_s, r->cli_close_s);
    printf(" \"ingest_http\":{\"seconds\":%.3f,\"values_per_s\":%.0f,\"batches\":%llu,"
           "\"failed\":%llu,\"stop_seconds\":%.3f},\n",
           r->http_s, per(v, 1) / r->http_s, (unsigned long long)r->http_batches,
           (unsigned long long)r->http_failed, r->http_stop_s);
    printf(" \"storage\":{\"values\":%llu,\"sealed_bytes\":%llu,\"bytes_per_value\":%.4f,"
           "\"disk_bytes\":%llu,\"disk_bytes_per_value\":%.4f,\"wal_bytes\":%llu,"
           "\"wal_bytes_per_value\":%.4f,\"measurements\":[",
           (unsigned long long)r->sealed_values, (unsigned long long)r->sealed_bytes,
           per(r->sealed_bytes, r->sealed_values), (unsigned long long)r->disk_bytes,
           per(r->disk_bytes, v), (unsigned long long)r->wal_bytes, per(r->wal_bytes, v));
    for (size_t i = 0; i < r->nmeas; i++)
        printf("%s{\"name\":\"%s\",\"values\":%llu,\"bytes\":%llu,\"bytes_per_value\":%.4f}",
               i ? "," : "", r->meas[i].name, (unsigned long long)r->meas[i].values,
               (unsigned long long)r->meas[i].bytes, per(r->meas[i].bytes, r->meas[i].values));
    printf("]},\n \"memory\":{\"peak_rss_cli_bytes\":%llu,\"peak_rss_serve_bytes\":%llu},\n",
           (unsigned long long)r->rss_cli, (unsigned long long)r->rss_serve);
    printf(" \"queries\":[");
    for (int i = 0; i < QUERY_COUNT; i++) {
        printf("%s\n  {\"name\":\"%s\",\"query\":\"", i ? "," : "", r->q[i].name);
        for (const char *s = r->q[i].text; *s; s++)
            printf(*s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
        printf("\",\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"response_bytes\":%llu}", r->q[i].p50_ms,
               r->q[i].p99_ms, (unsigned long long)r->q[i].out_bytes);
    }
    printf("]}\n");
}

static void print_table(const args *a, const report *r)
{
    uint64_t v = r->gen.values;
    printf("cityts bench --scale %s: %u sensors per city and measurement, %u days, seed %llu\n",
           a->sc->name, a->sc->sensors, a->sc->days, (unsigned long long)a->seed);
    printf("data: %llu lines, %llu values, %.1f MB of line protocol (generated in %.2f s)\n\n",
           (unsigned long long)r->gen.lines, (unsigned long long)v, (double)r->gen.bytes / 1e6,
           r->gen_s);
    printf("ingest                          values/s      seconds   then flush\n");
    printf("  CLI (cityts ingest path)  %12.0f %12.2f %10.2f s\n", per(v, 1) / r->cli_s, r->cli_s,
           r->cli_close_s);
    printf("  HTTP (%u clients, %u-line) %11.0f %12.2f %10.2f s\n\n", a->clients, BATCH_LINES,
           per(v, 1) / r->http_s, r->http_s, r->http_stop_s);
    printf("storage                    values        bytes   bytes/value\n");
    for (size_t i = 0; i < r->nmeas; i++)
        printf("  %-18s %12llu %12llu %10.3f\n", r->meas[i].name,
               (unsigned long long)r->meas[i].values, (unsigned long long)r->meas[i].bytes,
               per(r->meas[i].bytes, r->meas[i].values));
    printf("  %-18s %12llu %12llu %10.3f\n", "all (blocks)", (unsigned long long)r->sealed_values,
           (unsigned long long)r->sealed_bytes, per(r->sealed_bytes, r->sealed_values));
    printf("  %-18s %12llu %12llu %10.3f\n", "all (on disk, du)", (unsigned long long)v,
           (unsigned long long)r->disk_bytes, per(r->disk_bytes, v));
    printf("  %-18s %12llu %12llu %10.3f\n\n", "WAL written", (unsigned long long)v,
           (unsigned long long)r->wal_bytes, per(r->wal_bytes, v));
    printf("peak resident memory: CLI ingest + queries %.1f MB, cityts serve %.1f MB\n\n",
           (double)r->rss_cli / 1e6, (double)r->rss_serve / 1e6);
    printf("query (%u runs each)           p50 ms     p99 ms\n", a->runs);
    for (int i = 0; i < QUERY_COUNT; i++)
        printf("  %-26s %10.3f %10.3f\n", r->q[i].name, r->q[i].p50_ms, r->q[i].p99_ms);
}

static int run_all(const args *a, const paths *p, report *r)
{
    int rc = generate(a, p, r);
    if (rc == 0)
        rc = ingest_cli(p, r);
    if (rc == 0)
        rc = storage(p, r);
    if (rc == 0)
        rc = queries(a, p, r);
    r->rss_cli = bench_peak_rss();
    if (rc == 0)
        rc = ingest_http(a, p, r);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    args a = {.sc = &scales[1], .clients = 4, .runs = 20};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    paths p = {0};
    if (make_paths(&a, &p)) {
        fprintf(stderr, "cityts bench: cannot prepare the work directory %s: %s\n",
                a.data ? a.data : "in $TMPDIR", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    report *r = cts_calloc(1, sizeof *r);
    rc = r ? run_all(&a, &p, r) : CTS_ENOMEM;
    if (rc == 0 && a.json)
        print_json(&a, r);
    else if (rc == 0)
        print_table(&a, r);
    cts_free(r);
    if (a.keep)
        fprintf(stderr, "cityts bench: files kept in %s\n", p.root);
    else
        remove_paths(&p);
    return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
