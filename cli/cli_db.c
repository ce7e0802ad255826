/*
 * cli_db.c: what every command that touches a database shares: turning
 * --data DIR and --db NAME into an open handle with errors a user can act
 * on, and the one format of usage errors.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cityts %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `cityts help %s`)\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_open_db(const char *data, const char *name, const cts_db_opts *opts, bool create,
                cts_db **out)
{
    char path[4096];
    struct stat st;
    *out = NULL;
    if (!data || !name) {
        fprintf(stderr, "cityts: --data DIR and --db NAME are required\n");
        return CLI_EXIT_USAGE;
    }
    if (!cts_db_name_valid(name)) {
        fprintf(stderr, "cityts: invalid database name '%s': use 1 to %d of A-Z a-z 0-9 _ -\n",
                name, CTS_DB_NAME_MAX);
        return CLI_EXIT_USAGE;
    }
    if (create && mkdir(data, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cityts: cannot create data directory %s: %s\n", data, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data, name) >= sizeof path) {
        fprintf(stderr, "cityts: data directory path too long\n");
        return CLI_EXIT_USAGE;
    }
    if (!create && stat(path, &st) != 0) {
        fprintf(stderr, "cityts: database not found: %s\n", path);
        return CLI_EXIT_FAIL;
    }
    int rc = cts_db_open(path, opts, out);
    if (rc) {
        fprintf(stderr, "cityts: cannot open %s: %s\n", path, cts_db_open_error());
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

int cli_open_existing(int argc, char **argv, const char *cmd, cts_db **out)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'}, {"db", required_argument, NULL, 'n'}, {0}};
    const char *data = NULL, *name = NULL;
    int c;
    *out = NULL;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'n')
            name = optarg;
        else
            return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.read_only = true;
    return cli_open_db(data, name, &o, false, out);
}
