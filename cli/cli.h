/*
 * cli.h: what the files of cli/ share. Each subcommand is one entry of the
 * table in main.c: its name, a one-line summary, the full text that
 * `cityts help <command>` prints, and the function that runs it.
 *
 * A command returns its process exit status: 0 success, 1 failure of the
 * work (bad input, I/O error), 2 bad usage.
 */
#ifndef CTS_CLI_H
#define CTS_CLI_H

typedef struct cli_command {
    const char *name;
    const char *summary;
    const char *help;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

#include "cts_query.h"

/* Open database NAME under data directory DATA (created if absent) with
 * `opts` (NULL: defaults). Validates the name. On failure prints
 * "cityts: ..." naming the problem to stderr and returns the exit status
 * to use (CLI_EXIT_USAGE for a bad name, CLI_EXIT_FAIL otherwise). */
int cli_open_db(const char *data, const char *name, const cts_db_opts *opts, bool create,
                cts_db **out);

/* For commands that take only --data DIR --db NAME: parse them and open
 * that existing database read-only (no checkpoint at close). Returns 0 or
 * the exit status to use, having printed why. */
int cli_open_existing(int argc, char **argv, const char *cmd, cts_db **out);

/* Print "cityts <cmd>: <message>" and the usage hint; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The commands (one file each, cmd_<name>.c). */
int cmd_verify(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_shell(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
