/*
 * cmd_demo.c: `cityts demo`, the first thing a new user runs: generate a
 * week of the six Sharing Cities' sensor data (`cityts gen`, streamed
 * straight into the ingest pipeline: no file), ingest it with the progress
 * bar, then show what was stored and how small it is, and check it.
 *
 * Running it twice is safe: the data is deterministic and a point written
 * again replaces itself (last write wins), so a second run leaves the same
 * database.
 */
#include "cli.h"
#include "cli_query.h"
#include "gen.h"
#include "ingest.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t gen_read(void *ctx, void *buf, size_t cap)
{
    int64_t n = cts_gen_read(ctx, buf, cap);
    return n < 0 ? -1 : n;
}

static uint64_t gen_pos(void *ctx)
{
    cts_gen_stats st;
    cts_gen_stats_get(ctx, &st);
    return st.lines;
}

/* The example queries the demo answers (docs/query-language.md explains
 * them); the fourth is drawn as a chart. */
static const char *const examples[] = {
    "SHOW MEASUREMENTS",
    "SELECT count(pm25), mean(pm25), max(pm25) FROM air GROUP BY city",
    "SELECT non_negative_difference(max(kwh)) AS kwh_used FROM energy WHERE sensor = "
    "'lis-energy-0001' AND time >= '2026-11-02T06:00:00Z' AND time < '2026-11-02T12:00:00Z' "
    "GROUP BY time(1h)",
    "SELECT mean(pm25) FROM air WHERE city = 'milan' AND time >= '2026-11-02T00:00:00Z' AND "
    "time < '2026-11-09T00:00:00Z' GROUP BY time(3h)",
};

static int run_examples(const char *data)
{
    cts_dbset *dbs;
    int rc = cli_open_dbset(data, &dbs);
    if (rc)
        return rc;
    cts_query_opts qo;
    cts_query_opts_init(&qo);
    qo.db = "demo";
    for (size_t i = 0; i < sizeof examples / sizeof examples[0] && rc == 0; i++) {
        cts_qenc_opts eo;
        cts_qenc_opts_init(&eo);
        eo.chart = i == 3;
        eo.chart_width = cli_terminal_chart_width();
        printf("\ncityts> %s\n", examples[i]);
        fflush(stdout);
        cli_run_result r = cli_run_query(dbs, examples[i], strlen(examples[i]), &qo, &eo);
        rc = r.status;
        printf("(%.1f ms)\n", r.elapsed_ms);
    }
    printf("\ntry your own: cityts shell --data %s --db demo\n", data);
    int crc = cts_dbset_close(dbs);
    return rc ? rc : crc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int run_demo(char *data, uint32_t sensors, bool progress)
{
    cts_gen_opts go;
    cts_gen *g;
    cts_db *db;
    cts_gen_opts_init(&go);
    go.sensors = sensors;
    go.duration_ns = INT64_C(7) * 86400 * 1000000000;
    if (cts_gen_create(&go, &g)) {
        fprintf(stderr, "cityts demo: cannot create the generator\n");
        return CLI_EXIT_FAIL;
    }
    int rc = cli_open_db(data, "demo", NULL, true, &db);
    if (rc) {
        cts_gen_destroy(g);
        return rc;
    }
    printf("cityts demo: one week of sensor data from bordeaux, burgas, lisbon, london, milan "
           "and warsaw\n(%u sensors per city and measurement), into %s/demo\n\n",
           sensors, data);
    fflush(stdout);
    ingest_source src = {.name = "generator", .read = gen_read, .pos = gen_pos, .ctx = g};
    ingest_opts io = {
        .precision = CTS_LP_NS, .progress = progress, .report_max = 10, .report = stderr};
    ingest_stats st;
    int irc = ingest_run(db, &io, &src, 1, &st);
    int crc = cts_db_close(db);
    cts_gen_destroy(g);
    printf("ingested: ");
    ingest_print_summary(stdout, &st);
    printf("\n");
    fflush(stdout);
    if (irc || crc) {
        fprintf(stderr, "cityts demo: ingest failed\n");
        return CLI_EXIT_FAIL;
    }
    char *inspect[] = {"inspect", "--data", data, "--db", "demo", NULL};
    char *verify[] = {"verify", "--data", data, "--db", "demo", NULL};
    printf("what is stored (cityts inspect --data %s --db demo):\n", data);
    fflush(stdout);
    if ((rc = cmd_inspect(5, inspect)))
        return rc;
    printf("\nchecking every block (cityts verify --data %s --db demo):\n", data);
    fflush(stdout);
    if ((rc = cmd_verify(5, verify)))
        return rc;
    return run_examples(data);
}

int cmd_demo(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"sensors", required_argument, NULL, 's'},
                                             {"no-progress", no_argument, NULL, 'Q'},
                                             {0}};
    char *data = NULL;
    uint32_t sensors = 40;
    bool progress = isatty(2);
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd') {
            data = optarg;
        } else if (c == 's') {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || v < 1 || v > 10000)
                return cli_usage_error("demo", "--sensors: expected 1 to 10000, got '%s'", optarg);
            sensors = (uint32_t)v;
        } else if (c == 'Q') {
            progress = false;
        } else {
            return cli_usage_error("demo", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
    char tmp[] = "/tmp/cityts-demo-XXXXXX";
    if (!data && !mkdtemp(tmp)) {
        perror("cityts demo: mkdtemp");
        return CLI_EXIT_FAIL;
    }
    int rc = run_demo(data ? data : tmp, sensors, progress);
    if (!data) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "cityts demo: could not remove %s\n", tmp);
        else
            printf("\n(the temporary database %s was removed; use --data DIR to keep it)\n", tmp);
    }
    return rc;
}
