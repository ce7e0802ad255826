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
