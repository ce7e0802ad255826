/*
 * cmd_shell.c: `cityts shell`, the interactive query shell. On a terminal
 * it reads lines with libedit (line editing, history kept in
 * ~/.cityts_history or $CITYTS_HISTORY); otherwise it reads standard
 * input line by line without prompts, so it can be scripted and tested.
 *
 * A line is either one of the shell's own commands (USE, FORMAT, EPOCH,
 * TIMING, CHART, PRETTY, HELP, EXIT/QUIT), recognised only at the start
 * of a statement, or query text. Query text accumulates until it is
 * complete: a line ending in '\' continues, and so does text that
 * cts_query_incomplete says ends inside a string, a quoted identifier, a
 * regex or an open parenthesis (the prompt becomes "...> "). Complete text
 * runs as one query (cli_run_query: results on stdout, errors on stderr).
 *
 * States: READY --query line, incomplete--> PENDING --complete--> run
 *         --> READY; READY --command--> READY; PENDING --Ctrl-C--> READY
 *         (the text dropped); any --EOF/EXIT--> done
 * (pending text at EOF still runs, so its parse error is reported).
 *
 * Exit status: 0, or 1 when any statement or command failed (a script fed
 * through stdin learns that something went wrong); 2 for bad options.
 */
#include "cli_query.h"

#include <ctype.h>
#include <editline/readline.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SHELL_HISTORY_MAX 1000

typedef struct shell {
    cts_dbset *dbs;
    char db[CTS_DB_NAME_MAX + 1]; /* "" when none */
    cts_qenc_opts eo;
    cts_query_opts qo;
    bool timing;
    bool interactive;
    bool failed;
    bool quit;
    char hist_path[4096];
    char *text; /* the statement being collected */
    size_t len, cap;
} shell;

static const char shell_help[] =
    "Commands (case-insensitive; a trailing ';' is allowed):\n"
    "  USE <db>                      the default database of later statements\n"
    "  FORMAT table|csv|json         how results are written\n"
    "  EPOCH ns|u|ms|s|m|h|rfc3339   how times are written\n"
    "  TIMING on|off                 print how long each query took\n"
    "  CHART on|off                  draw time series as charts (table format)\n"
    "  PRETTY on|off                 indent JSON\n"
    "  HELP                          this text\n"
    "  EXIT, QUIT or Ctrl-D          leave (Ctrl-C drops the statement being typed)\n"
    "Anything else is InfluxQL, e.g. SHOW MEASUREMENTS or\n"
    "  SELECT mean(pm25) FROM air WHERE time > now() - 1h GROUP BY time(10m), city\n"
    "A statement continues on the next line when a line ends with '\\' or inside\n"
    "a quote or an open parenthesis.\n";

static int text_add(shell *sh, const char *s, size_t n)
{
    if (n + 1 > sh->cap - sh->len) {
        size_t cap = sh->cap ? sh->cap : 1024;
        while (n + 1 > cap - sh->len)
            cap *= 2;
        char *p = cts_realloc(sh->text, cap);
        if (!p)
            return CTS_ENOMEM;
        sh->text = p;
        sh->cap = cap;
    }
    memcpy(sh->text + sh->len, s, n);
    sh->len += n;
    sh->text[sh->len] = '\0';
    return 0;
}

/* An error of the shell itself: stderr, and the exit status remembers. */
static void shell_error(shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void shell_error(shell *sh, const char *fmt, ...)
{
    va_list ap;
    fputs("ERR: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    sh->failed = true;
}

/* ------------------------------------------------------------------------
 * Input: libedit on a terminal, plain lines otherwise.
 * ------------------------------------------------------------------------ */

/* One line of stdin without its end of line, in a cts_malloc'd string;
 * NULL at the end of input. */
static char *read_plain_line(void)
{
    size_t cap = 256, n = 0;
    char *line = cts_malloc(cap);
    int c = 0;
    while (line && (c = getchar()) != EOF && c != '\n') {
        if (n + 2 > cap) {
            char *p = cts_realloc(line, cap *= 2);
            if (!p)
                cts_free(line);
            line = p;
        }
        if (line)
            line[n++] = (char)c;
    }
    if (!line || (c == EOF && n == 0)) {
        cts_free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    return line;
}

/* Ctrl-C at the prompt. The one piece of global state here: a signal
 * handler can reach nothing else. Set only while libedit waits for a line
 * (a running query is not cancellable: Ctrl-C then ends the shell). */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* readline with Ctrl-C discarding the line instead of ending the shell:
 * without SA_RESTART, libedit returns NULL when the signal arrives. */
static char *edit_line(const char *prompt, bool *cancelled)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old);
    char *line = readline(prompt);
    sigaction(SIGINT, &old, NULL);
    *cancelled = line == NULL && interrupted;
    return line;
}

/* The next line, or NULL at the end. *from_edit says which free to use;
 * *cancelled that Ctrl-C discarded the input (not the end). */
static char *next_line(shell *sh, bool *from_edit, bool *cancelled)
{
    char prompt[CTS_DB_NAME_MAX + 16];
    *from_edit = sh->interactive;
    *cancelled = false;
    if (!sh->interactive)
        return read_plain_line();
    if (sh->len)
        snprintf(prompt, sizeof prompt, "...> ");
    else if (sh->db[0])
        snprintf(prompt, sizeof prompt, "cityts[%s]> ", sh->db);
    else
        snprintf(prompt, sizeof prompt, "cityts> ");
    fflush(stdout);
    return edit_line(prompt, cancelled);
}

static void remember(shell *sh, const char *entry)
{
    if (!sh->interactive || !entry[0])
        return;
    /* a multi-line statement is recalled as one line */
    char *flat = cts_malloc(strlen(entry) + 1);
    if (!flat)
        return;
    size_t i = 0;
    for (; entry[i]; i++)
        flat[i] = entry[i] == '\n' ? ' ' : entry[i];
    flat[i] = '\0';
    add_history(flat);
    cts_free(flat);
}

static void history_open(shell *sh)
{
    const char *env = getenv("CITYTS_HISTORY"), *home = getenv("HOME");
    if (env && env[0])
        snprintf(sh->hist_path, sizeof sh->hist_path, "%s", env);
    else if (home && home[0])
        snprintf(sh->hist_path, sizeof sh->hist_path, "%s/.cityts_history", home);
    using_history();
    stifle_history(SHELL_HISTORY_MAX);
    if (sh->hist_path[0])
        read_history(sh->hist_path); /* absent the first time: fine */
}

/* ------------------------------------------------------------------------
 * The shell's own commands.
 * ------------------------------------------------------------------------ */
static bool word_is(const char *w, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

static int on_off(const char *arg, bool *out)
{
    if (strcasecmp(arg, "on") == 0)
        *out = true;
    else if (strcasecmp(arg, "off") == 0)
        *out = false;
    else
        return CTS_EINVAL;
    return 0;
}

static void cmd_use(shell *sh, char *arg)
{
    size_t n = strlen(arg);
    cts_db *db;
    if (n >= 2 && arg[0] == '"' && arg[n - 1] == '"') {
        arg[n - 1] = '\0';
        arg++;
    }
    if (!cts_db_name_valid(arg)) {
        shell_error(sh, "invalid database name '%s'", arg);
        return;
    }
    int rc = cts_dbset_acquire(sh->dbs, arg, false, &db);
    if (rc == CTS_ENOTFOUND) {
        shell_error(sh, "database not found: %s", arg);
        return;
    }
    if (rc) {
        shell_error(sh, "%s", cts_dbset_errmsg());
        return;
    }
    cts_dbset_release(sh->dbs, db);
    snprintf(sh->db, sizeof sh->db, "%s", arg);
    if (sh->interactive)
        printf("Using database %s\n", sh->db);
}

/* Apply a setting command (one word after it); false when `w` names none. */
static bool set_option(shell *sh, const char *w, size_t wn, const char *arg)
{
    static const struct {
        const char *name, *usage;
    } names[] = {{"format", "FORMAT table|csv|json"},
                 {"epoch", "EPOCH ns|u|ms|s|m|h|rfc3339"},
                 {"timing", "TIMING on|off"},
                 {"chart", "CHART on|off"},
                 {"pretty", "PRETTY on|off"}};
    int bad = CTS_EINVAL;
    size_t k = 0;
    while (k < sizeof names / sizeof names[0] && !word_is(w, wn, names[k].name))
        k++;
    if (k == sizeof names / sizeof names[0])
        return false;
    if (!arg[0] || strpbrk(arg, " \t"))
        bad = CTS_EINVAL;
    else if (word_is(w, wn, "format"))
        bad = cli_parse_format(arg, &sh->eo.format);
    else if (word_is(w, wn, "epoch"))
        bad = cts_qepoch_parse(arg, &sh->eo.epoch);
    else if (word_is(w, wn, "timing"))
        bad = on_off(arg, &sh->timing);
    else if (word_is(w, wn, "chart"))
        bad = on_off(arg, &sh->eo.chart);
    else
        bad = on_off(arg, &sh->eo.pretty);
    if (bad)
        shell_error(sh, "usage: %s", names[k].usage);
    return true;
}

/* Run `line` as a shell command if it is one; false when it is query text. */
static bool shell_command(shell *sh, char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (isspace((unsigned char)line[n - 1]) || line[n - 1] == ';'))
        line[--n] = '\0';
    char *w = line;
    while (isspace((unsigned char)*w))
        w++;
    size_t wn = 0;
    while (w[wn] && !isspace((unsigned char)w[wn]))
        wn++;
    char *arg = w + wn;
    while (isspace((unsigned char)*arg))
        arg++;
    if (word_is(w, wn, "exit") || word_is(w, wn, "quit")) {
        sh->quit = true;
        return true;
    }
    if (word_is(w, wn, "help")) {
        fputs(shell_help, stdout);
        return true;
    }
    if (word_is(w, wn, "use")) {
        if (arg[0])
            cmd_use(sh, arg);
        else
            shell_error(sh, "%s", "usage: USE <database>");
        return true;
    }
    return set_option(sh, w, wn, arg);
}

/* ------------------------------------------------------------------------
 * The loop.
 * ------------------------------------------------------------------------ */
static void run_text(shell *sh)
{
    sh->qo.db = sh->db[0] ? sh->db : NULL;
    cli_run_result r = cli_run_query(sh->dbs, sh->text, sh->len, &sh->qo, &sh->eo);
    if (r.status != CLI_EXIT_OK)
        sh->failed = true;
    if (sh->timing)
        fprintf(stderr, "(%.1f ms)\n", r.elapsed_ms);
    remember(sh, sh->text);
    sh->len = 0;
}

/* Is the collected text (the line just added) waiting for more lines? */
static bool wants_more(shell *sh)
{
    size_t n = sh->len;
    while (n > 0 && (sh->text[n - 1] == ' ' || sh->text[n - 1] == '\t'))
        n--;
    if (n > 0 && sh->text[n - 1] == '\\') {
        sh->len = n - 1;
        return true;
    }
    return cts_query_incomplete(sh->text, sh->len);
}

static int handle_line(shell *sh, char *line)
{
    if (sh->len == 0) {
        const char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return 0;
        char copy[256];
        if (strlen(line) < sizeof copy) {
            memcpy(copy, line, strlen(line) + 1);
            if (shell_command(sh, copy)) {
                remember(sh, line);
                return 0;
            }
        }
    }
    if (text_add(sh, line, strlen(line)))
        return CTS_ENOMEM;
    if (wants_more(sh))
        return text_add(sh, "\n", 1);
    run_text(sh);
    return 0;
}

static int shell_loop(shell *sh)
{
    int rc = 0;
    while (!sh->quit && rc == 0) {
        bool from_edit, cancelled;
        char *line = next_line(sh, &from_edit, &cancelled);
        if (cancelled) {
            fputc('\n', stdout);
            sh->len = 0; /* Ctrl-C drops the statement being typed */
            continue;
        }
        if (!line)
            break;
        rc = handle_line(sh, line);
        if (from_edit)
            free(line); /* libedit's allocation */
        else
            cts_free(line);
    }
    if (rc == 0 && sh->len > 0 && !sh->quit)
        run_text(sh); /* unfinished at the end: report what is wrong with it */
    if (sh->interactive && !sh->quit)
        fputc('\n', stdout);
    return rc;
}

static int parse_shell_args(int argc, char **argv, shell *sh, const char **data)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"db", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},
        {"epoch", required_argument, NULL, 'e'},
        {"pretty", no_argument, NULL, 'p'},
        {"chart", no_argument, NULL, 'c'},
        {"chart-width", required_argument, NULL, 'W'},
        {"chart-height", required_argument, NULL, 'H'},
        {"timeout", required_argument, NULL, 't'},
        {"memory-limit", required_argument, NULL, 'M'},
        {0},
    };
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd') {
            *data = optarg;
        } else if (c == 'n') {
            if (!cts_db_name_valid(optarg))
                return cli_usage_error("shell", "invalid database name '%s'", optarg);
            snprintf(sh->db, sizeof sh->db, "%s", optarg);
        } else {
            int r = cli_query_common_opt("shell", c, optarg, &sh->eo, &sh->qo);
            if (r != 1)
                return r ? r : cli_usage_error("shell", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("shell", "unexpected argument '%s'", argv[optind]);
    if (!*data)
        return cli_usage_error("shell", "--data DIR is required");
    return CLI_EXIT_OK;
}

int cmd_shell(int argc, char **argv)
{
    shell sh = {0};
    const char *data = NULL;
    cts_qenc_opts_init(&sh.eo);
    cts_query_opts_init(&sh.qo);
    sh.eo.chart_width = cli_terminal_chart_width();
    int status = parse_shell_args(argc, argv, &sh, &data);
    if (status == CLI_EXIT_OK)
        status = cli_open_dbset(data, &sh.dbs);
    if (status != CLI_EXIT_OK)
        return status;
    sh.interactive = isatty(STDIN_FILENO);
    if (sh.interactive) {
        history_open(&sh);
        printf("cityts shell: HELP for commands, EXIT or Ctrl-D to leave\n");
    }
    if (sh.db[0]) {
        char name[CTS_DB_NAME_MAX + 1];
        memcpy(name, sh.db, sizeof name);
        sh.db[0] = '\0';
        cmd_use(&sh, name);
    }
    if (shell_loop(&sh) != 0) {
        fprintf(stderr, "cityts: out of memory\n");
        sh.failed = true;
    }
    if (sh.interactive && sh.hist_path[0] && write_history(sh.hist_path) != 0)
        fprintf(stderr, "cityts: cannot write history to %s\n", sh.hist_path);
    if (cts_dbset_close(sh.dbs) != 0) {
        fprintf(stderr, "cityts: closing the data directory failed: %s\n", cts_dbset_errmsg());
        sh.failed = true;
    }
    cts_free(sh.text);
    return sh.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
