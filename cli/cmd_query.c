/*
 * cmd_query.c: `cityts query`, one query text (one or more statements
 * separated by ';') run against a data directory, its results on standard
 * output in the chosen format. Also the pieces `cityts shell` shares with
 * it (cli_query.h): format names, opening the data directory, running a
 * text and reporting its errors.
 *
 * Exit status: 0 when every statement succeeded; 1 when a statement (or the
 * query as a whole) failed: its error is still written in the chosen
 * format, so a JSON consumer gets {"error":...}; 2 for bad usage and for a
 * query that does not parse (InfluxDB's message and a caret under the
 * offending character, on stderr).
 *
 * A statement's error goes to stdout in the chosen format and, when stdout
 * is not a terminal, to stderr too, so a script that keeps only stdout or
 * only stderr still sees it, and a person at a terminal sees it once.
 */
#include "cli_query.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Shared with cmd_shell.c.
 * ------------------------------------------------------------------------ */
int cli_parse_format(const char *s, cts_qformat *out)
{
    if (strcmp(s, "table") == 0)
        *out = CTS_QFMT_TABLE;
    else if (strcmp(s, "csv") == 0)
        *out = CTS_QFMT_CSV;
    else if (strcmp(s, "json") == 0)
        *out = CTS_QFMT_JSON;
    else
        return CTS_EINVAL;
    return 0;
}

int cli_open_dbset(const char *data, cts_dbset **out)
{
    struct stat st;
    *out = NULL;
    if (stat(data, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "cityts: data directory not found: %s\n", data);
        return CLI_EXIT_FAIL;
    }
    if (cts_dbset_open(data, NULL, out) != 0) {
        fprintf(stderr, "cityts: cannot open data directory %s: %s\n", data, cts_dbset_errmsg());
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

void cli_print_parse_error(FILE *out, const char *text, size_t len, const cts_query_error *err)
{
    size_t off = err->offset < len ? err->offset : len, start = off, end = off;
    fprintf(out, "%s\n", err->msg[0] ? err->msg : "error parsing query");
    while (start > 0 && text[start - 1] != '\n')
        start--;
    while (end < len && text[end] != '\n' && text[end] != '\r')
        end++;
    fprintf(out, "%.*s\n", (int)(end - start), text + start);
    /* one column per character; a tab stays a tab so the caret lines up */
    for (size_t i = start; i < off; i++) {
        if (text[i] == '\t')
            fputc('\t', out);
        else if (((unsigned char)text[i] & 0xC0) != 0x80)
            fputc(' ', out);
    }
    fputs("^\n", out);
}

static int stdout_write(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    return fwrite(buf, 1, len, stdout) == len ? 0 : CTS_EIO;
}

/* A sink in front of the encoder's that notes (and echoes) statement
 * errors. */
typedef struct err_tap {
    cts_qsink sink;
    const cts_qsink *inner;
    bool failed;
    bool echo;
} err_tap;

static int tap_statement_begin(void *ctx, uint32_t id)
{
    const cts_qsink *in = ((err_tap *)ctx)->inner;
    return in->statement_begin(in->ctx, id);
}

static int tap_series_begin(void *ctx, const cts_qseries *s)
{
    const cts_qsink *in = ((err_tap *)ctx)->inner;
    return in->series_begin(in->ctx, s);
}

static int tap_row(void *ctx, const cts_qval *v)
{
    const cts_qsink *in = ((err_tap *)ctx)->inner;
    return in->row(in->ctx, v);
}

static int tap_series_end(void *ctx)
{
    const cts_qsink *in = ((err_tap *)ctx)->inner;
    return in->series_end(in->ctx);
}

static int tap_statement_end(void *ctx, uint32_t id, const char *error)
{
    err_tap *t = ctx;
    if (error) {
        t->failed = true;
        if (t->echo)
            fprintf(stderr, "ERR: %s\n", error);
    }
    return t->inner->statement_end(t->inner->ctx, id, error);
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The query failed as a whole after parsing (too long, out of memory, a
 * write to stdout failed). */
static int report_failure(cts_qenc *enc, int rc, const cts_query_error *err, bool echo)
{
    const char *msg = err->msg[0] ? err->msg : cts_strerror(rc);
    if (rc == CTS_EIO && ferror(stdout)) {
        fprintf(stderr, "cityts: cannot write results: %s\n", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    if (echo)
        fprintf(stderr, "ERR: %s\n", msg);
    int wrc = cts_qenc_error(enc, msg); /* a failed write shows again at finish */
    (void)wrc;
    return CLI_EXIT_FAIL;
}

cli_run_result cli_run_query(cts_dbset *dbs, const char *text, size_t len, const cts_query_opts *qo,
                             const cts_qenc_opts *eo)
{
    cli_run_result res = {CLI_EXIT_FAIL, 0};
    cts_qenc *enc = NULL;
    cts_query_error err;
    if (cts_qenc_create(eo, stdout_write, NULL, &enc) != 0) {
        fprintf(stderr, "cityts: out of memory\n");
        return res;
    }
    err_tap tap = {.inner = cts_qenc_sink(enc), .echo = !isatty(STDOUT_FILENO)};
    tap.sink = (cts_qsink){&tap,    tap_statement_begin, tap_series_begin,
                           tap_row, tap_series_end,      tap_statement_end};
    double t0 = mono_ms();
    int rc = cts_query_run(dbs, text, len, qo, &tap.sink, &err);
    res.elapsed_ms = mono_ms() - t0;
    if (rc == CTS_EPARSE) {
        cli_print_parse_error(stderr, text, len, &err);
        res.status = CLI_EXIT_USAGE;
        if (eo->format == CTS_QFMT_JSON && cts_qenc_error(enc, err.msg) != 0)
            res.status = CLI_EXIT_FAIL;
    } else if (rc) {
        res.status = report_failure(enc, rc, &err, tap.echo);
    } else {
        res.status = tap.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    }
    if (cts_qenc_finish(enc) != 0 || fflush(stdout) != 0) {
        if (rc != CTS_EIO)
            fprintf(stderr, "cityts: cannot write results: %s\n", strerror(errno));
        res.status = CLI_EXIT_FAIL;
    }
    cts_qenc_destroy(enc);
    return res;
}

/* ------------------------------------------------------------------------
 * cityts query.
 * ------------------------------------------------------------------------ */
typedef struct query_args {
    const char *data, *db, *file;
    cts_qenc_opts eo;
    cts_query_opts qo;
} query_args;

/* --timeout: seconds ("30", "2.5") or a duration ("90s", "2m"); 0: none. */
static int parse_timeout(const char *s, uint32_t *ms)
{
    uint64_t whole = 0, frac = 0, scale = 1000;
    size_t i = 0;
    int64_t ns;
    for (; s[i] >= '0' && s[i] <= '9' && whole < 5000000; i++)
        whole = whole * 10 + (uint64_t)(s[i] - '0');
    if (i > 0 && s[i] == '.')
        for (i++; s[i] >= '0' && s[i] <= '9'; i++)
            if (scale > 1)
                frac += (uint64_t)(s[i] - '0') * (scale /= 10);
    if (i > 0 && s[i] == '\0' && whole < 4000000) {
        *ms = (uint32_t)(whole * 1000 + frac);
        if (*ms == 0 && strpbrk(s, "123456789"))
            *ms = 1; /* a positive timeout below 1 ms is not "none" */
        return 0;
    }
    if (cts_duration_parse(s, strlen(s), &ns, NULL) != 0 || ns < 0 ||
        ns / 1000000 > (int64_t)UINT32_MAX)
        return CTS_EINVAL;
    *ms = (uint32_t)(ns / 1000000);
    if (*ms == 0 && ns > 0)
        *ms = 1;
    return 0;
}

/* --memory-limit: bytes, with an optional k, m or g (binary) suffix. */
static int parse_bytes(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return CTS_ERANGE;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    int shift = 0;
    char c = s[i];
    if (c == 'k' || c == 'K')
        shift = 10;
    else if (c == 'm' || c == 'M')
        shift = 20;
    else if (c == 'g' || c == 'G')
        shift = 30;
    if (shift)
        i++;
    if (i == 0 || s[i] != '\0' || v == 0 || v > (UINT64_MAX >> shift))
        return CTS_EINVAL;
    *out = v << shift;
    return 0;
}

static int parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && v <= hi; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (i == 0 || s[i] != '\0' || v < lo || v > hi)
        return CTS_EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* Chart width: the terminal's, less the y axis labels. */
uint32_t cli_terminal_chart_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 40)
        return ws.ws_col - 14u < 200 ? ws.ws_col - 14u : 200;
    return 72;
}

int cli_query_common_opt(const char *cmd, int c, const char *arg, cts_qenc_opts *eo,
                         cts_query_opts *qo)
{
    switch (c) {
    case 'f':
        return cli_parse_format(arg, &eo->format)
                   ? cli_usage_error(cmd, "bad --format '%s': use table, csv or json", arg)
                   : 1;
    case 'e':
        return cts_qepoch_parse(arg, &eo->epoch)
                   ? cli_usage_error(cmd, "bad --epoch '%s': use ns, u, ms, s, m, h or rfc3339",
                                     arg)
                   : 1;
    case 'p':
        eo->pretty = true;
        return 1;
    case 'c':
        eo->chart = true;
        return 1;
    case 'W':
        return parse_uint(arg, 16, 1000, &eo->chart_width)
                   ? cli_usage_error(cmd, "bad --chart-width '%s': use 16 to 1000", arg)
                   : 1;
    case 'H':
        return parse_uint(arg, 4, 500, &eo->chart_height)
                   ? cli_usage_error(cmd, "bad --chart-height '%s': use 4 to 500", arg)
                   : 1;
    case 't':
        return parse_timeout(arg, &qo->timeout_ms)
                   ? cli_usage_error(
                         cmd, "bad --timeout '%s': seconds (30, 2.5) or a duration (90s)", arg)
                   : 1;
    case 'M':
        return parse_bytes(arg, &qo->memory_limit_bytes)
                   ? cli_usage_error(
                         cmd, "bad --memory-limit '%s': bytes, or a number with k, m or g", arg)
                   : 1;
    default:
        return 0;
    }
}

/* Everything from `f` into a cts_malloc'd buffer. */
static int read_all(FILE *f, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = cts_malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *grown = cap <= (SIZE_MAX >> 1) ? cts_realloc(buf, cap * 2) : NULL;
        if (!grown)
            cts_free(buf);
        buf = grown;
        cap *= 2;
    }
    if (!buf || ferror(f)) {
        cts_free(buf);
        return buf ? CTS_EIO : CTS_ENOMEM;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int read_file(const char *path, char **text, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cityts: cannot open %s: %s\n", path, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    int rc = read_all(f, text, len);
    if (f != stdin)
        fclose(f);
    if (rc) {
        fprintf(stderr, "cityts: cannot read %s: %s\n", path, cts_strerror(rc));
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* The statement: the arguments joined by spaces, "-" for stdin, or --file. */
static int query_text(int argc, char **argv, const query_args *a, char **text, size_t *len)
{
    if (a->file && optind < argc)
        return cli_usage_error("query", "give the statement as an argument or --file, not both");
    if (a->file)
        return read_file(a->file, text, len);
    if (optind >= argc)
        return cli_usage_error("query", "no statement given");
    if (optind + 1 == argc && strcmp(argv[optind], "-") == 0)
        return read_file("-", text, len);
    size_t n = 0;
    for (int i = optind; i < argc; i++)
        n += strlen(argv[i]) + 1;
    if (!(*text = cts_malloc(n))) {
        fprintf(stderr, "cityts: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    *len = 0;
    for (int i = optind; i < argc; i++) {
        size_t k = strlen(argv[i]);
        if (i > optind)
            (*text)[(*len)++] = ' ';
        memcpy(*text + *len, argv[i], k);
        *len += k;
    }
    return CLI_EXIT_OK;
}

static int parse_query_args(int argc, char **argv, query_args *a)
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
        {"file", required_argument, NULL, 'F'},
        {0},
    };
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            a->data = optarg;
        else if (c == 'n')
            a->db = optarg;
        else if (c == 'F')
            a->file = optarg;
        else {
            int r = cli_query_common_opt("query", c, optarg, &a->eo, &a->qo);
            if (r != 1)
                return r ? r : cli_usage_error("query", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!a->data)
        return cli_usage_error("query", "--data DIR is required");
    if (a->db && !cts_db_name_valid(a->db))
        return cli_usage_error("query", "invalid database name '%s'", a->db);
    return CLI_EXIT_OK;
}

int cmd_query(int argc, char **argv)
{
    query_args a = {0};
    char *text = NULL;
    size_t len = 0;
    cts_dbset *dbs = NULL;
    cts_qenc_opts_init(&a.eo);
    cts_query_opts_init(&a.qo);
    a.eo.chart_width = cli_terminal_chart_width();
    int status = parse_query_args(argc, argv, &a);
    if (status == CLI_EXIT_OK)
        status = query_text(argc, argv, &a, &text, &len);
    if (status == CLI_EXIT_OK)
        status = cli_open_dbset(a.data, &dbs);
    if (status == CLI_EXIT_OK) {
        a.qo.db = a.db;
        status = cli_run_query(dbs, text, len, &a.qo, &a.eo).status;
    }
    if (dbs && cts_dbset_close(dbs) != 0 && status == CLI_EXIT_OK) {
        fprintf(stderr, "cityts: closing the data directory failed: %s\n", cts_dbset_errmsg());
        status = CLI_EXIT_FAIL;
    }
    cts_free(text);
    return status;
}
