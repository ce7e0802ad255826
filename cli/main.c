/*
 * main.c: the `cityts` program's entry point and its command table.
 * Everything a user can type is listed here, with its help text, so that
 * `cityts help` and the README can be checked against one list.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const cli_command commands[] = {
    {"help", "show help for cityts or one command",
     "usage: cityts help [COMMAND]\n\nWithout COMMAND, lists the commands; with it, prints that "
     "command's help.\n",
     cmd_help},
    {"demo", "generate a week of six-city sensor data, ingest it, show it, query it",
     "usage: cityts demo [--data DIR] [--sensors N] [--no-progress]\n\n"
     "Generates one week of sensor data for bordeaux, burgas, lisbon, london, milan and\n"
     "warsaw (`cityts gen` with N sensors per city and measurement, default 40: about\n"
     "20 million values), streams it into the database DIR/demo with the progress bar,\n"
     "then prints what was stored (`cityts inspect`), checks every block (`cityts\n"
     "verify`) and answers four example queries (`cityts query`; the last one drawn as\n"
     "a chart). Without --data it works in a temporary directory that it removes at\n"
     "the end. Running it twice is safe: the data is the same and replaces itself.\n",
     cmd_demo},
    {"gen", "generate realistic sensor streams of the six Sharing Cities (line protocol)",
     "usage: cityts gen [options] > data.lp\n\n"
     "Writes InfluxDB line protocol for smart-city sensors in bordeaux, burgas, lisbon,\n"
     "london, milan and warsaw, in time order across sensors, as a fleet of gateways\n"
     "would deliver it. Tags: city, district, sensor. Measurements and fields:\n"
     "  air       pm25, pm10, no2 (ug/m3, 1 decimal)                     every 60 s\n"
     "  weather   temperature (degC), humidity (%), pressure (hPa)       5 or 10 min\n"
     "  traffic   count (vehicles, integer), avg_speed (km/h)            60 s or 5 min\n"
     "  energy    kwh (meter reading, never decreases), power_kw         15 min or 1 min\n"
     "  lamp      dimming (0-100, integer), on (boolean), power_w        10 min\n"
     "  mobility  bikes_available (e-bike dock, integer)                 10 s to 60 s\n"
     "Stamps carry millisecond gateway jitter; sensors go offline now and then (gaps);\n"
     "about one point in 2,000 arrives 1 to 8 minutes late (out of order). The output\n"
     "depends only on the options: the same seed gives the same bytes.\n\n"
     "options:\n"
     "  --seed N             PRNG seed (default 1)\n"
     "  --sensors N          sensors per city per measurement, 1-100000 (default 10)\n"
     "  --start TIME         RFC 3339 (2026-11-01T00:00:00Z) or integer ns since the epoch\n"
     "                       (default 2026-11-02T00:00:00Z, a Monday)\n"
     "  --duration D         integer and unit s, m, h, d or w: 90m, 24h, 7d (default 1d)\n"
     "  --measurements LIST  comma-separated, e.g. air,traffic (default all)\n"
     "  --cities LIST        comma-separated, e.g. lisbon,milan (default all)\n"
     "  --output FILE        write to FILE (default, or -, stdout)\n"
     "  --precision P        timestamp unit: ns (default), us, ms or s\n"
     "  --stats              report lines, values, bytes, time and rate on stderr\n"
     "                       (always when stderr is a terminal)\n\n"
     "Exit status: 0 done, 1 output error, 2 bad option. See docs/gen.md.\n",
     cmd_gen},
    {"ingest", "load line protocol from files or standard input into a database",
     "usage: cityts ingest --data DIR --db NAME [options] [FILE...|-]\n\n"
     "Reads InfluxDB line protocol (or CSV, see below) from each FILE in turn, or from\n"
     "standard input when\n"
     "FILE is - or absent; gzip input is recognised by its magic bytes. The database\n"
     "DIR/NAME is created if absent. Parsing runs on its own thread, overlapping with\n"
     "the writes. On a terminal a progress bar shows bytes, lines/s, values/s and an\n"
     "ETA; at the end a summary gives lines, points, values, new series, bad lines,\n"
     "rejected points, time and rate.\n\n"
     "Bad lines are skipped and reported (the first 10 as FILE:LINE:COLUMN: message,\n"
     "in InfluxDB's words; then counted), and the exit status is 1. A point the\n"
     "database refuses (a field type conflict) is reported the same way; the rest of\n"
     "its batch is written, as InfluxDB does.\n\n"
     "options:\n"
     "  --precision P   unit of the timestamps: ns (default), us, ms, s, m, h\n"
     "  --strict        stop at the first bad line; nothing of its batch is written\n"
     "  --fsync P       always, interval (default) or never\n"
     "  --format F      lp (line protocol, the default) or csv\n"
     "  --progress      draw the progress bar even when stderr is not a terminal\n"
     "  --no-progress   never draw it\n\n"
     "CSV (--format csv): the first row is the header; these map its columns\n"
     "(docs/csv.md has the details):\n"
     "  --measurement NAME          the measurement of every row, or\n"
     "  --measurement-column COL    the column that names each row's measurement\n"
     "  --time COL[:FMT]            the time column (default time) and its format:\n"
     "                              rfc3339 (default), s, ms, us or ns\n"
     "  --tags COL,COL...           tag columns\n"
     "  --fields COL:TYPE,...       field columns; TYPE is float, integer, unsigned,\n"
     "                              boolean or string\n"
     "  --delimiter D               one byte, or tab (default ,)\n"
     "  --unmapped error|ignore     a header column not mapped above is an error\n"
     "                              (default) or skipped\n"
     "Bad rows are reported as FILE: row N, column C (NAME): reason.\n\n"
     "Exit status: 0 all written, 1 bad lines or a failure, 2 bad usage.\n",
     cmd_ingest},
    {"inspect", "show what a database holds and how well it compresses",
     "usage: cityts inspect --data DIR --db NAME\n\n"
     "Opens the database (recovering it from its write-ahead log if needed) and prints\n"
     "its totals (series, columns, partitions, blocks, bytes per point, WAL size, I/O\n"
     "backend), then one row per field: measurement, field, type, series, points,\n"
     "blocks, bytes on disk, bytes per point and time range.\n",
     cmd_inspect},
    {"query", "run InfluxQL statements against a data directory",
     "usage: cityts query --data DIR [--db NAME] [options] 'STATEMENT[; ...]'\n"
     "       cityts query --data DIR [--db NAME] [options] --file FILE   (or - for stdin)\n\n"
     "Runs one or more InfluxQL statements (separated by ';') against the databases in\n"
     "DIR and writes the results to standard output. The statement is the remaining\n"
     "arguments joined by spaces, or - to read it from standard input, or --file.\n"
     "Statements run in order; the first that fails ends the query, as in InfluxDB.\n\n"
     "options:\n"
     "  --data DIR           the data directory (must exist)\n"
     "  --db NAME            the default database (as USE, or the db= parameter)\n"
     "  --format F           table (the default, on a terminal or not), csv or json\n"
     "                       (InfluxDB 1.x's /query JSON; CSV as its Accept: text/csv)\n"
     "  --epoch E            times as integers of ns, u, ms, s, m or h since 1970,\n"
     "                       or rfc3339 (the default; CSV writes ns unless told)\n"
     "  --pretty             indent JSON\n"
     "  --chart              draw series with a time column as line charts (table)\n"
     "  --chart-width N      chart columns, 16-1000 (default: fits the terminal, or 72)\n"
     "  --chart-height N     chart rows, 4-500 (default 16)\n"
     "  --timeout T          stop a query after T seconds (30, 2.5) or a duration (90s)\n"
     "  --memory-limit B     memory a query may use, in bytes or with k, m, g\n"
     "                       (default 512m)\n"
     "  --file FILE          read the statements from FILE (- for stdin)\n\n"
     "A statement's error is written in the chosen format (ERR: message, or \"error\" in\n"
     "JSON) and, when stdout is not a terminal, to stderr. A query that does not parse\n"
     "prints InfluxDB's message and a caret under the offending character to stderr.\n\n"
     "Exit status: 0 every statement succeeded, 1 a statement failed, 2 bad usage or a\n"
     "query that does not parse.\n",
     cmd_query},
    {"shell", "interactive InfluxQL shell with line editing and history",
     "usage: cityts shell --data DIR [--db NAME] [options]\n\n"
     "Reads InfluxQL statements and shell commands, runs each statement when it is\n"
     "complete and prints its results. On a terminal: line editing and history\n"
     "(kept in ~/.cityts_history, or the file named by $CITYTS_HISTORY); the prompt\n"
     "is cityts> or cityts[DB]> and ...> while a statement continues. A statement\n"
     "continues on the next line when a line ends with \\ or inside a quote, regex\n"
     "or open parenthesis. When standard input is not a terminal it reads lines\n"
     "without prompts, so `echo 'SHOW DATABASES' | cityts shell --data DIR` works.\n\n"
     "commands (case-insensitive, at the start of a statement):\n"
     "  USE <db>                      the default database of later statements\n"
     "  FORMAT table|csv|json         how results are written\n"
     "  EPOCH ns|u|ms|s|m|h|rfc3339   how times are written\n"
     "  TIMING on|off                 print each query's time, as (12.3 ms), on stderr\n"
     "  CHART on|off                  draw time series as charts (table format)\n"
     "  PRETTY on|off                 indent JSON\n"
     "  HELP                          list these commands\n"
     "  EXIT, QUIT or Ctrl-D          leave (Ctrl-C drops the statement being typed)\n\n"
     "options: --data, --db, --format, --epoch, --pretty, --chart, --chart-width,\n"
     "--chart-height, --timeout and --memory-limit, as for `cityts query`.\n\n"
     "Exit status: 0, or 1 when any statement or command failed; 2 bad usage.\n",
     cmd_shell},
    {"verify", "check every checksum of a database",
     "usage: cityts verify --data DIR --db NAME\n\n"
     "Opens the database, which checks its write-ahead log, catalog and partition\n"
     "indexes (a torn WAL tail is truncated and reported), then reads every sealed\n"
     "block and checks its CRC32C and structure. Prints the number of blocks and files\n"
     "checked and the first error with its file and offset. Exit status 0 when\n"
     "everything is intact, 1 otherwise.\n",
     cmd_verify},
    {"serve", "serve the InfluxDB 1.x HTTP API (/write, /query, /ping, /health, /metrics)",
     "usage: cityts serve --data DIR [options]\n\n"
     "Serves every database under DIR over HTTP, compatible with InfluxDB 1.x: its clients,\n"
     "Telegraf and Grafana's InfluxDB data source work unchanged. Endpoints:\n"
     "  POST /write?db=&precision=&rp=      line protocol (gzip bodies too); 204, or 400\n"
     "                                      `partial write: ... dropped=N` keeping good lines\n"
     "  POST /api/v2/write?bucket=&org=&precision=   the same for 2.x clients (bucket = db)\n"
     "  GET|POST /query?db=&q=&epoch=&pretty=&chunked=   InfluxQL; JSON, or CSV with\n"
     "                                      Accept: application/csv; POST for CREATE/DROP/DELETE\n"
     "  GET /ping (204; ?verbose=true: 200 with the version), GET /health (JSON),\n"
     "  GET /metrics (Prometheus text)\n"
     "A database must exist before /write accepts points: CREATE DATABASE via /query.\n"
     "Writes are acknowledged once durable under the fsync policy; concurrent writers\n"
     "share WAL group commits. SIGINT or SIGTERM: stop accepting, finish the requests in\n"
     "flight, flush every database, exit 0.\n\n"
     "options:\n"
     "  --listen HOST:PORT       TCP address (default 127.0.0.1:8086; port 0 picks a free\n"
     "                           one, printed on stderr)\n"
     "  --unix PATH              also (or, without --listen, only) a Unix socket\n"
     "  --auth FILE              require credentials from FILE, lines NAME:SHA256HEX:PRIV\n"
     "                           (PRIV read, write, all or admin; SHA256HEX from\n"
     "                           `printf %s PASSWORD | sha256sum`); Basic, Token user:pass\n"
     "                           and u/p parameters are accepted; /ping and /health stay open\n"
     "  --fsync P                always, interval (default) or never\n"
     "  --max-body-bytes N       largest request body after gunzip (default 25000000): 413\n"
     "  --max-inflight-bytes N   request bodies and query responses held at once\n"
     "                           (default 268435456): 503 with Retry-After past it\n"
     "  --max-connections N      concurrent connections (default 256)\n"
     "  --max-series N           series per database (default 10000000): past it a point of\n"
     "                           a new series is refused (partial write, 400)\n"
     "  --read-timeout S         close a connection idle for S seconds (default 30)\n"
     "  --max-query-bytes N      longest query text (default 1048576): 413\n"
     "  --max-result-bytes N     largest /query response (default 67108864)\n"
     "  --query-timeout S        stop a query after S seconds (default 60; 0: never)\n"
     "  --drain-timeout S        how long a stop waits for requests in flight (default 30)\n\n"
     "Exit status: 0 stopped by a signal with everything flushed, 1 failure, 2 bad usage.\n",
     cmd_serve},
    {"bench", "benchmark ingest (CLI and HTTP), storage, memory and queries on city data",
     "usage: cityts bench [--scale tiny|small|medium|large] [--data DIR] [--json] [--keep]\n"
     "                    [--clients N] [--runs N] [--seed N]\n\n"
     "Generates the city data of `cityts gen` (seed 1, one week from 2026-11-02) at a\n"
     "scale, then measures, on this machine:\n"
     "  - ingest values/s through the CLI path (the pipeline of `cityts ingest`) and over\n"
     "    HTTP (`cityts serve` started on a free 127.0.0.1 port; 5,000-line batches\n"
     "    POSTed to /write by N concurrent keep-alive clients), each from the same file;\n"
     "  - bytes per value: sealed blocks overall and per measurement, the database\n"
     "    directory on disk (as du counts it), and WAL bytes written;\n"
     "  - peak resident memory of the CLI run and of the server;\n"
     "  - p50 and p99 latency of the query suite (six InfluxQL statements: full-range\n"
     "    stats, an hourly week of one city, the last point of every series, a raw hour\n"
     "    of one sensor, a field-predicate scan, mean and stddev per 15 min by city).\n\n"
     "scales (sensors per city and measurement x days: values):\n"
     "  tiny    1 x 2 d: ~0.15 million (for tests)\n"
     "  small   2 x 7 d: ~1.1 million (the default)\n"
     "  medium 55 x 7 d: ~30 million\n"
     "  large 550 x 7 d: ~300 million (about 20 GB of line protocol on disk)\n\n"
     "options:\n"
     "  --data DIR     work in DIR (created if absent; its data.lp, cli/ and http/ are\n"
     "                 replaced), else in a temporary directory\n"
     "  --json         one JSON object instead of the tables\n"
     "  --keep         keep the generated data and both databases\n"
     "  --clients N    concurrent HTTP clients, 1-256 (default 4)\n"
     "  --runs N       runs of each query (default 20)\n"
     "  --seed N       generator seed (default 1)\n\n"
     "Exit status: 0 done, 1 a step failed (named on stderr), 2 bad usage.\n",
     cmd_bench},
    {"version", "print the version",
     "usage: cityts version (or cityts --version)\n\nPrints `cityts <version>`.\n", cmd_version},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

static const cli_command *find(const char *name)
{
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: cityts <command> [options]\n\n"
                 "cityts is a time-series storage engine for city sensor streams.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < n_commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun `cityts help <command>` for a command's options.\n");
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *c = find(argv[1]);
    if (!c) {
        fprintf(stderr, "cityts: unknown command '%s' (see `cityts help`)\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    fputs(c->help, stdout);
    return CLI_EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("cityts %s\n", CTS_VERSION);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    opterr = 0; /* commands print their own message for a bad option */
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
        return cmd_version(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(1, argv + 1);
    const cli_command *c = find(argv[1]);
    if (!c) {
        fprintf(stderr, "cityts: unknown command '%s' (see `cityts help`)\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
