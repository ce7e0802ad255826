/*
 * cmd_ingest.c: `cityts ingest`: load InfluxDB line protocol, or CSV with a
 * header-driven mapping (docs/csv.md), from files or standard input (gzip
 * recognised by its magic bytes) into a database, with a progress bar on a
 * terminal and a summary at the end.
 */
#include "cli.h"
#include "ingest.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct ingest_args {
    const char *data, *db;
    ingest_opts io;
    cts_db_opts dbo;
    cts_csv_opts csv;
    bool csv_mapped; /* a CSV mapping option was given */
    int progress;    /* -1 auto */
} ingest_args;

/* A CSV mapping option: hand its text to the matching setter. */
static int csv_option(ingest_args *a, int c, const char *arg)
{
    int rc;
    switch (c) {
    case 'm':
        rc = cts_csv_opts_set_measurement(&a->csv, arg);
        break;
    case 'M':
        rc = cts_csv_opts_set_measurement_column(&a->csv, arg);
        break;
    case 't':
        rc = cts_csv_opts_set_time(&a->csv, arg);
        break;
    case 'g':
        rc = cts_csv_opts_set_tags(&a->csv, arg);
        break;
    case 'v':
        rc = cts_csv_opts_set_fields(&a->csv, arg);
        break;
    case 'D':
        rc = cts_csv_opts_set_delimiter(&a->csv, arg);
        break;
    default:
        rc = cts_csv_opts_set_unmapped(&a->csv, arg);
        break;
    }
    a->csv_mapped = true;
    return rc ? cli_usage_error("ingest", "%s", a->csv.errmsg) : 0;
}

static int parse_fsync(const char *s, cts_fsync_policy *p)
{
    if (strcmp(s, "always") == 0)
        *p = CTS_DB_FSYNC_ALWAYS;
    else if (strcmp(s, "interval") == 0)
        *p = CTS_DB_FSYNC_INTERVAL;
    else if (strcmp(s, "never") == 0)
        *p = CTS_DB_FSYNC_NEVER;
    else
        return -1;
    return 0;
}

static int parse_args(int argc, char **argv, ingest_args *a)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"db", required_argument, NULL, 'n'},
                                             {"precision", required_argument, NULL, 'p'},
                                             {"strict", no_argument, NULL, 's'},
                                             {"fsync", required_argument, NULL, 'f'},
                                             {"progress", no_argument, NULL, 'P'},
                                             {"no-progress", no_argument, NULL, 'Q'},
                                             {"format", required_argument, NULL, 'F'},
                                             {"measurement", required_argument, NULL, 'm'},
                                             {"measurement-column", required_argument, NULL, 'M'},
                                             {"time", required_argument, NULL, 't'},
                                             {"tags", required_argument, NULL, 'g'},
                                             {"fields", required_argument, NULL, 'v'},
                                             {"delimiter", required_argument, NULL, 'D'},
                                             {"unmapped", required_argument, NULL, 'U'},
                                             {0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->data = optarg;
            break;
        case 'n':
            a->db = optarg;
            break;
        case 'p':
            if (cts_lp_precision_parse(optarg, strlen(optarg), &a->io.precision))
                return cli_usage_error(
                    "ingest", "--precision: expected ns, us, ms, s, m or h, got '%s'", optarg);
            break;
        case 's':
            a->io.strict = true;
            break;
        case 'f':
            if (parse_fsync(optarg, &a->dbo.fsync))
                return cli_usage_error(
                    "ingest", "--fsync: expected always, interval or never, got '%s'", optarg);
            break;
        case 'P':
        case 'Q':
            a->progress = c == 'P';
            break;
        case 'F':
            if (strcmp(optarg, "lp") != 0 && strcmp(optarg, "csv") != 0)
                return cli_usage_error("ingest", "--format: expected lp or csv, got '%s'", optarg);
            a->io.format = strcmp(optarg, "csv") == 0 ? INGEST_CSV : INGEST_LP;
            break;
        case 'm':
        case 'M':
        case 't':
        case 'g':
        case 'v':
        case 'D':
        case 'U':
            if (csv_option(a, c, optarg))
                return CLI_EXIT_USAGE;
            break;
        default:
            return cli_usage_error("ingest", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (a->csv_mapped && a->io.format != INGEST_CSV)
        return cli_usage_error("ingest", "CSV mapping options need --format csv");
    if (a->io.format == INGEST_CSV && cts_csv_opts_check(&a->csv))
        return cli_usage_error("ingest", "CSV mapping: %s", a->csv.errmsg);
    a->io.csv = &a->csv;
    return 0;
}

static int open_sources(int argc, char **argv, ingest_source *srcs, size_t *n)
{
    char *dash[1] = {"-"};
    char **files = optind < argc ? argv + optind : dash;
    size_t nf = optind < argc ? (size_t)(argc - optind) : 1;
    for (*n = 0; *n < nf; (*n)++) {
        if (ingest_source_file(&srcs[*n], files[*n])) {
            fprintf(stderr, "cityts ingest: cannot open %s\n", srcs[*n].errmsg);
            return CLI_EXIT_FAIL;
        }
    }
    return 0;
}

int cmd_ingest(int argc, char **argv)
{
    ingest_args a = {.progress = -1, .io = {.report_max = 10, .report = stderr}};
    cts_db_opts_init(&a.dbo);
    cts_csv_opts_init(&a.csv);
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        cts_csv_opts_fini(&a.csv);
        return rc;
    }
    a.io.progress = a.progress < 0 ? isatty(2) : a.progress;
    size_t nsrc = 0, cap = optind < argc ? (size_t)(argc - optind) : 1;
    ingest_source *srcs = calloc(cap, sizeof *srcs);
    cts_db *db = NULL;
    if (!srcs) {
        cts_csv_opts_fini(&a.csv);
        return CLI_EXIT_FAIL;
    }
    if ((rc = open_sources(argc, argv, srcs, &nsrc)) == 0 &&
        (rc = cli_open_db(a.data, a.db, &a.dbo, true, &db)) == 0) {
        ingest_stats st;
        int irc = ingest_run(db, &a.io, srcs, nsrc, &st);
        int crc = cts_db_close(db);
        if (crc)
            fprintf(stderr, "cityts ingest: closing the database: %s\n", cts_strerror(crc));
        ingest_print_summary(stderr, &st);
        rc = irc || crc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < nsrc; i++)
        ingest_source_close(&srcs[i]);
    free(srcs);
    cts_csv_opts_fini(&a.csv);
    return rc;
}
