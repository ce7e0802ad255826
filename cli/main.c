/*
 * main.c: the `cityts` program's entry point and its command table.
 * Everything a user can type is listed here, with its help text, so that
 * `cityts help` and the README can be checked against one list.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const cli_command commands[] = {
    {"help", "show help for cityts or one command",
     "usage: cityts help [COMMAND]\n\nWithout COMMAND, lists the commands; with it, prints that "
     "command's help.\n",
     cmd_help},
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
