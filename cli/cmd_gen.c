/*
 * cmd_gen.c: `cityts gen`, the command around the generator of gen.h.
 *
 * It turns argv into cts_gen_opts (every value checked by a hand-written
 * parser; a bad one is a usage error, exit 2, whose message names the
 * option and says what was expected), then pumps the generator's output
 * through one 1 MiB buffer into stdout or --output with write(2), and, when
 * stderr is a terminal or --stats is given, reports lines, values, bytes,
 * elapsed time and rate on stderr. The data never depends on the clock: the
 * elapsed time is measured only for that report.
 *
 * Exit status: 0 done, 1 the output could not be opened or written (or the
 * generator ran out of memory), 2 bad usage.
 */
#include "cli.h"
#include "gen.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_BUF_BYTES ((size_t)1 << 20)
#define ASKED_FOR_HELP (-1)

typedef struct gen_args {
    cts_gen_opts opts;
    const char *output; /* NULL or "-": stdout */
    bool stats;
} gen_args;

typedef struct gen_option {
    const char *name; /* without the leading "--" */
    bool takes_value;
    int (*apply)(gen_args *a, const char *value); /* 0 or CLI_EXIT_USAGE (reported) */
} gen_option;

/* "cityts gen: --opt: expected ..., got 'value' (at byte N)" or, for a well
 * formed value out of range, "... 'value' is out of range: expected ...". */
static int bad_value(const char *option, const char *expected, const char *value, int rc,
                     size_t off)
{
    if (rc == CTS_ERANGE)
        fprintf(stderr, "cityts gen: --%s: '%s' is out of range: expected %s\n", option, value,
                expected);
    else if (off > 0)
        fprintf(stderr, "cityts gen: --%s: expected %s, got '%s' (bad character at byte %zu)\n",
                option, expected, value, off);
    else
        fprintf(stderr, "cityts gen: --%s: expected %s, got '%s'\n", option, expected, value);
    return CLI_EXIT_USAGE;
}

/* A decimal integer in [0, max]: digits only, overflow checked. */
static int parse_uint(const char *text, uint64_t max, uint64_t *out, size_t *off)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; text[i] >= '0' && text[i] <= '9'; i++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text[i] - '0', &v))
            return CTS_ERANGE;
    *off = i;
    if (i == 0 || text[i] != '\0')
        return CTS_EPARSE;
    if (v > max)
        return CTS_ERANGE;
    *out = v;
    return 0;
}

static int apply_seed(gen_args *a, const char *value)
{
    size_t off = 0;
    int rc = parse_uint(value, UINT64_MAX, &a->opts.seed, &off);
    return rc ? bad_value("seed", "an unsigned integer (0 to 18446744073709551615)", value, rc, off)
              : 0;
}

static int apply_sensors(gen_args *a, const char *value)
{
    size_t off = 0;
    uint64_t n = 0;
    int rc = parse_uint(value, CTS_GEN_SENSORS_MAX, &n, &off);
    if (rc == 0 && n == 0)
        rc = CTS_ERANGE;
    if (rc)
        return bad_value("sensors", "an integer from 1 to 100000 (per city per measurement)", value,
                         rc, off);
    a->opts.sensors = (uint32_t)n;
    return 0;
}

static int apply_start(gen_args *a, const char *value)
{
    size_t off = 0;
    int rc = cts_gen_parse_time(value, &a->opts.start_ns, &off);
    return rc ? bad_value("start",
                          "an RFC 3339 time such as 2026-11-01T00:00:00Z or integer nanoseconds "
                          "since the epoch, from 1970 to 2248",
                          value, rc, off)
              : 0;
}

static int apply_duration(gen_args *a, const char *value)
{
    size_t off = 0;
    int rc = cts_gen_parse_duration(value, &a->opts.duration_ns, &off);
    return rc ? bad_value("duration",
                          "a positive integer and a unit s, m, h, d or w (90m, 24h, 7d), at most "
                          "3660d",
                          value, rc, off)
              : 0;
}

/* A comma-separated list of names (or "all") as a bit mask. */
static int parse_list(const char *option, const char *value, int (*find)(const char *, size_t),
                      const char *(*name)(unsigned), unsigned count, uint32_t *mask)
{
    uint32_t m = 0;
    const char *p = value;
    for (;;) {
        size_t len = strcspn(p, ",");
        int id = find(p, len);
        if (id >= 0)
            m |= 1u << id;
        else if (len == 3 && memcmp(p, "all", 3) == 0)
            m |= (1u << count) - 1u;
        else {
            fprintf(stderr,
                    "cityts gen: --%s: unknown name '%.*s' in '%s'; expected a "
                    "comma-separated list of:",
                    option, (int)len, p, value);
            for (unsigned i = 0; i < count; i++)
                fprintf(stderr, " %s", name(i));
            fprintf(stderr, " (or all)\n");
            return CLI_EXIT_USAGE;
        }
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *mask = m;
    return 0;
}

static int apply_measurements(gen_args *a, const char *value)
{
    return parse_list("measurements", value, cts_gen_measurement_find, cts_gen_measurement_name,
                      CTS_GEN_MEASUREMENT_COUNT, &a->opts.measurement_mask);
}

static int apply_cities(gen_args *a, const char *value)
{
    return parse_list("cities", value, cts_gen_city_find, cts_gen_city_name, CTS_GEN_CITY_COUNT,
                      &a->opts.city_mask);
}

static int apply_output(gen_args *a, const char *value)
{
    if (value[0] == '\0')
        return bad_value("output", "a file name, or - for stdout", value, CTS_EPARSE, 0);
    a->output = value;
    return 0;
}

static int apply_precision(gen_args *a, const char *value)
{
    static const struct {
        const char *name;
        cts_gen_precision precision;
    } units[] = {
        {"ns", CTS_GEN_PRECISION_NS}, {"n", CTS_GEN_PRECISION_NS},  {"us", CTS_GEN_PRECISION_US},
        {"u", CTS_GEN_PRECISION_US},  {"ms", CTS_GEN_PRECISION_MS}, {"s", CTS_GEN_PRECISION_S},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(value, units[i].name) == 0) {
            a->opts.precision = units[i].precision;
            return 0;
        }
    return bad_value("precision", "ns, us, ms or s", value, CTS_EPARSE, 0);
}

static int apply_stats(gen_args *a, const char *value)
{
    (void)value;
    a->stats = true;
    return 0;
}

static const gen_option options[] = {
    {"seed", true, apply_seed},
    {"sensors", true, apply_sensors},
    {"start", true, apply_start},
    {"duration", true, apply_duration},
    {"measurements", true, apply_measurements},
    {"cities", true, apply_cities},
    {"output", true, apply_output},
    {"precision", true, apply_precision},
    {"stats", false, apply_stats},
};

static const gen_option *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strlen(options[i].name) == len && memcmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

/* One "--name value" or "--name=value" at argv[*i]; advances *i past it. */
static int parse_one(int argc, char **argv, int *i, gen_args *a)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0) {
        fprintf(stderr, "cityts gen: unexpected argument '%s' (see `cityts help gen`)\n", arg);
        return CLI_EXIT_USAGE;
    }
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
    const gen_option *o = find_option(arg + 2, len);
    if (!o) {
        fprintf(stderr, "cityts gen: unknown option '--%.*s' (see `cityts help gen`)\n", (int)len,
                arg + 2);
        return CLI_EXIT_USAGE;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (o->takes_value && !value) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "cityts gen: --%s: expected a value after it\n", o->name);
            return CLI_EXIT_USAGE;
        }
        value = argv[++*i];
    } else if (!o->takes_value && value) {
        fprintf(stderr, "cityts gen: --%s takes no value\n", o->name);
        return CLI_EXIT_USAGE;
    }
    return o->apply(a, value);
}

static int parse_args(int argc, char **argv, gen_args *a)
{
    cts_gen_opts_init(&a->opts);
    a->output = NULL;
    a->stats = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return ASKED_FOR_HELP;
        int rc = parse_one(argc, argv, &i, a);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void print_stats(const cts_gen *g, double elapsed_s)
{
    cts_gen_stats st;
    cts_gen_stats_get(g, &st);
    double s = elapsed_s > 1e-9 ? elapsed_s : 1e-9;
    fprintf(stderr,
            "cityts gen: %" PRIu64 " lines, %" PRIu64 " values, %" PRIu64 " bytes in %.3f s: "
            "%.2f M values/s, %.1f MB/s (%" PRIu64 " sensors, %" PRIu64 " late lines, %" PRIu64
            " gaps)\n",
            st.lines, st.values, st.bytes, elapsed_s, (double)st.values / s / 1e6,
            (double)st.bytes / s / 1e6, st.sensors, st.late_lines, st.gaps);
}

/* Generate everything into fd. Returns 0 or a CLI exit status (reported). */
static int pump(cts_gen *g, int fd, const char *out_name)
{
    char *buf = cts_malloc(OUT_BUF_BYTES);
    int status = CLI_EXIT_OK;
    if (!buf) {
        fprintf(stderr, "cityts gen: %s\n", cts_strerror(CTS_ENOMEM));
        return CLI_EXIT_FAIL;
    }
    for (;;) {
        int64_t n = cts_gen_read(g, buf, OUT_BUF_BYTES);
        if (n <= 0)
            break; /* 0: done; the buffer is always large enough for a line */
        int rc = write_all(fd, buf, (size_t)n);
        if (rc != 0) {
            fprintf(stderr, "cityts gen: writing %s: %s\n", out_name, strerror(-rc));
            status = CLI_EXIT_FAIL;
            break;
        }
    }
    cts_free(buf);
    return status;
}

static int run(const gen_args *a)
{
    bool to_stdout = !a->output || strcmp(a->output, "-") == 0;
    const char *out_name = to_stdout ? "stdout" : a->output;
    cts_gen *g = NULL;
    int rc = cts_gen_create(&a->opts, &g);
    if (rc != 0) {
        fprintf(stderr, "cityts gen: %s\n", cts_strerror(rc));
        return rc == CTS_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    int fd =
        to_stdout ? STDOUT_FILENO : open(a->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        fprintf(stderr, "cityts gen: --output: cannot open '%s': %s\n", a->output, strerror(errno));
        cts_gen_destroy(g);
        return CLI_EXIT_FAIL;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = pump(g, fd, out_name);
    if (!to_stdout && close(fd) != 0 && status == CLI_EXIT_OK) {
        fprintf(stderr, "cityts gen: closing %s: %s\n", out_name, strerror(errno));
        status = CLI_EXIT_FAIL;
    }
    if (status == CLI_EXIT_OK && (a->stats || isatty(STDERR_FILENO)))
        print_stats(g, seconds_since(&t0));
    cts_gen_destroy(g);
    return status;
}

int cmd_gen(int argc, char **argv)
{
    gen_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc == ASKED_FOR_HELP) {
        printf("usage: cityts gen [--seed N] [--sensors N] [--start TIME] [--duration D]\n"
               "                  [--measurements LIST] [--cities LIST] [--output FILE]\n"
               "                  [--precision ns|us|ms|s] [--stats]\n"
               "Run `cityts help gen` for the details.\n");
        return CLI_EXIT_OK;
    }
    return rc != 0 ? rc : run(&a);
}
