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
    {"demo", "generate a week of six-city sensor data, ingest it, show what was stored",
     "usage: cityts demo [--data DIR] [--sensors N] [--no-progress]\n\n"
     "Generates one week of sensor data for bordeaux, burgas, lisbon, london, milan and\n"
     "warsaw (`cityts gen` with N sensors per city and measurement, default 40: about\n"
     "20 million values), streams it into the database DIR/demo with the progress bar,\n"
     "then prints what was stored (`cityts inspect`) and checks every block (`cityts\n"
     "verify`). Without --data it works in a temporary directory that it removes at\n"
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
     "  --max-inflight-bytes N   request bodies held at once (default 268435456): 503\n"
     "                           with Retry-After past it\n"
     "  --max-connections N      concurrent connections (default 256)\n"
     "  --read-timeout S         close a connection idle for S seconds (default 30)\n"
     "  --max-query-bytes N      longest query text (default 1048576): 413\n"
     "  --max-result-bytes N     largest /query response (default 67108864)\n"
     "  --query-timeout S        stop a query after S seconds (default 60; 0: never)\n"
     "  --drain-timeout S        how long a stop waits for requests in flight (default 30)\n\n"
     "Exit status: 0 stopped by a signal with everything flushed, 1 failure, 2 bad usage.\n",
     cmd_serve},
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
