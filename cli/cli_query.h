/*
 * cli_query.h: what `cityts query` (cmd_query.c, which implements it) and
 * `cityts shell` (cmd_shell.c) share: the options that choose how results
 * look, opening the data directory, and running one query text with its
 * results on standard output and its errors on standard error.
 */
#ifndef CTS_CLI_QUERY_H
#define CTS_CLI_QUERY_H

#include "cli.h"

#include <stdio.h>

/* --format: "table", "csv" or "json". 0 or CTS_EINVAL. */
int cli_parse_format(const char *s, cts_qformat *out);

/* The options query and shell share, by getopt code: 'f' --format,
 * 'e' --epoch, 'p' --pretty, 'c' --chart, 'W' --chart-width, 'H'
 * --chart-height, 't' --timeout, 'M' --memory-limit. Returns 1 when `c` was
 * one of them (applied), 0 when not, or CLI_EXIT_USAGE having printed why
 * `arg` is bad. */
int cli_query_common_opt(const char *cmd, int c, const char *arg, cts_qenc_opts *eo,
                         cts_query_opts *qo);

/* The chart width that fits the terminal on stdout (72 when not one). */
uint32_t cli_terminal_chart_width(void);

/* The data directory DIR as a set of databases: it must exist (a mistyped
 * --data is reported, not created). Prints why it failed; returns 0 or the
 * exit status to use. */
int cli_open_dbset(const char *data, cts_dbset **out);

/* Print a parse error as InfluxDB words it, then the offending line of
 * `text` and a caret under the character it names. */
void cli_print_parse_error(FILE *out, const char *text, size_t len, const cts_query_error *err);

/* How one run went. */
typedef struct cli_run_result {
    int status;        /* CLI_EXIT_OK, CLI_EXIT_FAIL (a statement or the query
                        * failed), CLI_EXIT_USAGE (the text does not parse) */
    double elapsed_ms; /* wall time of cts_query_run */
} cli_run_result;

/* Run text[0..len) against `dbs`, results to stdout in the `eo` format.
 * A statement's error is written in that format and, when stdout is not a
 * terminal, also to stderr as "ERR: <message>"; a parse error goes to
 * stderr with a caret line (and, for JSON, as {"error":...} on stdout). */
cli_run_result cli_run_query(cts_dbset *dbs, const char *text, size_t len, const cts_query_opts *qo,
                             const cts_qenc_opts *eo);

#endif
