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

/* The commands (one file each, cmd_<name>.c). */
int cmd_gen(int argc, char **argv);

#endif
