/*
 * `cityts gen` and the generator library (cli/gen.c, cli/cmd_gen.c):
 * determinism, strict line-protocol validity, field types and plausible
 * ranges per measurement, monotonic energy counters, gaps and late points,
 * precision, option parsing and its error messages, allocation failure.
 *
 * The line checker here is written from the spec in docs/gen.md, not from
 * the generator's tables, so a drift between the two fails.
 */
#include "cts_test.h"

#include "cli.h"
#include "gen.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS_PER_S INT64_C(1000000000)

/* ------------------------------------------------------------------------
 * Running the command.
 * ------------------------------------------------------------------------ */
static void temp_path(char *buf, size_t cap, const char *tag)
{
    const char *dir = getenv("CTS_TEST_TMPDIR");
    snprintf(buf, cap, "%s/gen-%ld-%s", dir ? dir : "/tmp", (long)getpid(), tag);
}

/* Read a whole file (malloc'ed, NUL-terminated); NULL when it cannot. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fileno(f), &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)st.st_size, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

/* cmd_gen with args, stderr captured into err (NUL-terminated). */
static int run_cmd(char **args, int nargs, char *err, size_t err_cap)
{
    char name[] = "gen", path[512];
    char *argv[32];
    assert_true(nargs + 1 < 32);
    argv[0] = name;
    for (int i = 0; i < nargs; i++)
        argv[i + 1] = args[i];
    temp_path(path, sizeof path, "stderr");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    int status = cmd_gen(nargs + 1, argv);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    ssize_t n = pread(fd, err, err_cap - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return status;
}

/* cmd_gen with args plus --output into a temp file; returns the output. */
static char *gen_output(char **args, int nargs, size_t *len)
{
    char out_opt[] = "--output", path[512], err[4096];
    char *all[32];
    assert_true(nargs + 2 < 32);
    for (int i = 0; i < nargs; i++)
        all[i] = args[i];
    temp_path(path, sizeof path, "out.lp");
    all[nargs] = out_opt;
    all[nargs + 1] = path;
    int status = run_cmd(all, nargs + 2, err, sizeof err);
    if (status != 0)
        fprintf(stderr, "cmd_gen failed (%d): %s", status, err);
    assert_int_equal(status, 0);
    char *text = slurp(path, len);
    assert_non_null(text);
    unlink(path);
    return text;
}

/* ------------------------------------------------------------------------
 * A strict line-protocol checker for the generator's output.
 * ------------------------------------------------------------------------ */
typedef struct field_rule {
    const char *key;
    char type; /* '1' float with 1 decimal, '2' with 2, 'i' integer, 'b' boolean */
    double lo, hi;
} field_rule;

typedef struct measurement_rule {
    const char *name;
    int nfields;
    field_rule fields[3];
} measurement_rule;

static const measurement_rule rules[6] = {
    {"air", 3, {{"pm25", '1', 0, 1000}, {"pm10", '1', 0, 2000}, {"no2", '1', 0, 1000}}},
    {"weather",
     3,
     {{"temperature", '1', -40, 50}, {"humidity", '1', 0, 100}, {"pressure", '1', 930, 1070}}},
    {"traffic", 2, {{"count", 'i', 0, 5000}, {"avg_speed", '1', 0, 150}}},
    {"energy", 2, {{"kwh", '2', 0, 1e9}, {"power_kw", '2', 0, 5000}}},
    {"lamp", 3, {{"dimming", 'i', 0, 100}, {"on", 'b', 0, 1}, {"power_w", '1', 0, 500}}},
    {"mobility", 1, {{"bikes_available", 'i', 0, 100}}},
};
static const char *const city_names[6] = {"bordeaux", "burgas", "lisbon",
                                          "london",   "milan",  "warsaw"};
static const char *const city_codes[6] = {"bdx", "bur", "lis", "lon", "mil", "waw"};

typedef struct parsed_line {
    int meas, city;
    uint32_t number; /* the sensor's number, from 1 */
    double v[3];
    int64_t ts;
} parsed_line;

/* Scan [a-z0-9_-]+ (extra allows '-' and digits) up to `stop`. */
static const char *scan_word(const char *p, const char *end, char stop, bool extra)
{
    const char *s = p;
    while (p < end && ((*p >= 'a' && *p <= 'z') ||
                       (extra && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))))
        p++;
    return p > s && p < end && *p == stop ? p : NULL;
}

static int find_name(const char *const *names, int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return i;
    return -1;
}

/* "key=" then the value of the rule's type; *p advances past it. */
static bool parse_value(const char **pp, const char *end, const field_rule *r, double *v)
{
    const char *p = *pp;
    size_t klen = strlen(r->key);
    if ((size_t)(end - p) <= klen || memcmp(p, r->key, klen) != 0 || p[klen] != '=')
        return false;
    p += klen + 1;
    if (r->type == 'b') {
        bool t = end - p >= 4 && memcmp(p, "true", 4) == 0;
        bool f = end - p >= 5 && memcmp(p, "false", 5) == 0;
        *pp = p + (t ? 4 : 5);
        *v = t ? 1.0 : 0.0;
        return t || f;
    }
    char *q;
    double x = strtod(p, &q); /* the syntax is checked by hand below */
    const char *s = p + (*p == '-');
    const char *digits = s;
    while (s < end && *s >= '0' && *s <= '9')
        s++;
    if (s == digits || (s - digits > 1 && *digits == '0'))
        return false;
    if (r->type == 'i') {
        if (s >= end || *s != 'i')
            return false;
        s++;
    } else {
        int decimals = r->type - '0';
        if (s >= end || *s != '.')
            return false;
        for (int k = 1; k <= decimals; k++)
            if (s + k >= end || s[k] < '0' || s[k] > '9')
                return false;
        s += decimals + 1;
    }
    *v = x;
    *pp = s;
    return q <= s;
}

/* measurement,city=C,district=D,sensor=S f=v[,f=v] ts */
static bool parse_line(const char *p, const char *end, uint32_t sensors, parsed_line *out)
{
    const char *e = scan_word(p, end, ',', false);
    if (!e || (out->meas = find_name(
                   (const char *const[]){"air", "weather", "traffic", "energy", "lamp", "mobility"},
                   6, p, (size_t)(e - p))) < 0)
        return false;
    if (end - e < 6 || memcmp(e, ",city=", 6) != 0 || !(p = scan_word(e + 6, end, ',', false)))
        return false;
    if ((out->city = find_name(city_names, 6, e + 6, (size_t)(p - e - 6))) < 0)
        return false;
    if (end - p < 10 || memcmp(p, ",district=", 10) != 0 ||
        !(e = scan_word(p + 10, end, ',', true)))
        return false;
    if (end - e < 8 || memcmp(e, ",sensor=", 8) != 0 || !(p = scan_word(e + 8, end, ' ', true)))
        return false;
    char want[64];
    int n = snprintf(want, sizeof want, "%s-%s-", city_codes[out->city], rules[out->meas].name);
    if (p - (e + 8) < n + 4 || memcmp(e + 8, want, (size_t)n) != 0)
        return false;
    for (const char *d = e + 8 + n; d < p; d++)
        if (*d < '0' || *d > '9')
            return false;
    out->number = (uint32_t)strtoul(e + 8 + n, NULL, 10);
    if (out->number < 1 || out->number > sensors)
        return false;
    p++;
    const measurement_rule *m = &rules[out->meas];
    for (int i = 0; i < m->nfields; i++) {
        if ((i > 0 && (p >= end || *p++ != ',')) ||
            !parse_value(&p, end, &m->fields[i], &out->v[i]))
            return false;
        if (out->v[i] < m->fields[i].lo || out->v[i] > m->fields[i].hi)
            return false;
    }
    if (p >= end || *p++ != ' ' || p >= end || *p == '0')
        return false;
    out->ts = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || out->ts > (INT64_MAX - 9) / 10)
            return false;
        out->ts = out->ts * 10 + (*p - '0');
    }
    return true;
}

/* ------------------------------------------------------------------------
 * What a whole output looks like.
 * ------------------------------------------------------------------------ */
typedef struct point_ref {
    uint32_t sensor; /* dense index: (city * 6 + meas) * sensors + number - 1 */
    int64_t ts;
    double kwh;
} point_ref;

typedef struct survey {
    size_t lines, late, gaps, bad;
    size_t per_meas[6], per_city[6];
    int64_t max_lag_ns; /* of the lines that come out of order */
    /* the same, of those stamped over a minute before the end (later ones
     * may come out after the last regular line, with less lag) */
    int64_t min_lag_ns;
    bool lamp_off_dimmed, pm10_below_pm25;
} survey;

static int cmp_ref(const void *a, const void *b)
{
    const point_ref *x = a, *y = b;
    if (x->sensor != y->sensor)
        return x->sensor < y->sensor ? -1 : 1;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static void check_values(const parsed_line *l, survey *s)
{
    if (l->meas == 4 && l->v[1] == 0.0 && l->v[0] != 0.0)
        s->lamp_off_dimmed = true;
    if (l->meas == 0 && l->v[1] < l->v[0])
        s->pm10_below_pm25 = true;
}

/* Per sensor, in time order: energy counters never decrease; a step over
 * 1.5 times the sensor's smallest step is a gap (stamps jitter by at most
 * an eighth of the interval, so a regular step is under 1.3 times it). */
static void check_series(point_ref *refs, size_t n, survey *s)
{
    qsort(refs, n, sizeof *refs, cmp_ref);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        int64_t min_step = INT64_MAX;
        for (; j < n && refs[j].sensor == refs[i].sensor; j++) {
            int64_t step = refs[j].ts - refs[j - 1].ts;
            assert_true(step > 0);
            min_step = step < min_step ? step : min_step;
            assert_true(refs[j].kwh >= refs[j - 1].kwh);
        }
        for (size_t k = i + 1; k < j; k++)
            if ((refs[k].ts - refs[k - 1].ts) * 2 > min_step * 3)
                s->gaps++;
        i = j;
    }
}

static void survey_output(const char *text, size_t len, uint32_t sensors, int64_t start_ns,
                          int64_t end_ns, survey *s)
{
    memset(s, 0, sizeof *s);
    s->min_lag_ns = INT64_MAX;
    point_ref *refs = malloc((len / 40 + 1) * sizeof *refs);
    assert_non_null(refs);
    int64_t max_ts = 0;
    const char *p = text, *end = text + len;
    assert_true(len > 0 && end[-1] == '\n');
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        parsed_line l;
        if (!parse_line(p, nl, sensors, &l)) {
            if (s->bad++ == 0)
                fprintf(stderr, "bad line: %.*s\n", (int)(nl - p), p);
        } else {
            assert_true(l.ts >= start_ns && l.ts < end_ns);
            if (l.ts < max_ts) {
                s->late++;
                s->max_lag_ns = max_ts - l.ts > s->max_lag_ns ? max_ts - l.ts : s->max_lag_ns;
                if (l.ts < end_ns - 60 * NS_PER_S && max_ts - l.ts < s->min_lag_ns)
                    s->min_lag_ns = max_ts - l.ts;
            }
            max_ts = l.ts > max_ts ? l.ts : max_ts;
            s->per_meas[l.meas]++;
            s->per_city[l.city]++;
            check_values(&l, s);
            uint32_t id = ((uint32_t)l.city * 6 + (uint32_t)l.meas) * sensors + l.number - 1;
            refs[s->lines] = (point_ref){id, l.ts, l.meas == 3 ? l.v[0] : 0.0};
        }
        s->lines++;
        p = nl + 1;
    }
    check_series(refs, s->lines - s->bad, s);
    free(refs);
}

/* ------------------------------------------------------------------------
 * Tests.
 * ------------------------------------------------------------------------ */
static void same_seed_same_bytes(void **state)
{
    (void)state;
    char a0[] = "--duration", a1[] = "3h", a2[] = "--sensors", a3[] = "3", a4[] = "--seed",
         a5[] = "7";
    char *args[] = {a0, a1, a2, a3, a4, a5};
    size_t n1, n2, n3;
    char *x = gen_output(args, 6, &n1);
    char *y = gen_output(args, 6, &n2);
    assert_true(n1 > 100000);
    assert_int_equal(n1, n2);
    assert_memory_equal(x, y, n1);
    char b5[] = "8";
    args[5] = b5;
    char *z = gen_output(args, 6, &n3);
    assert_true(n3 != n1 || memcmp(x, z, n1) != 0);
    free(x);
    free(y);
    free(z);
}

/* The stream is the same whatever the reader's buffer size, and equals the
 * command's output for the same options. */
static void chunking_does_not_change_bytes(void **state)
{
    (void)state;
    cts_gen_opts o;
    cts_gen_opts_init(&o);
    o.duration_ns = 2 * 3600 * NS_PER_S;
    o.sensors = 2;
    size_t cap = 8u << 20, len_small = 0, len_big = 0;
    char *small = malloc(cap), *big = malloc(cap);
    assert_non_null(small);
    assert_non_null(big);
    cts_gen *g;
    assert_int_equal(cts_gen_create(&o, &g), 0);
    assert_int_equal(cts_gen_read(g, small, CTS_GEN_LINE_MAX - 1), CTS_EINVAL);
    for (int64_t n; (n = cts_gen_read(g, small + len_small, CTS_GEN_LINE_MAX)) > 0;)
        len_small += (size_t)n;
    assert_int_equal(cts_gen_read(g, small, CTS_GEN_LINE_MAX), 0);
    cts_gen_destroy(g);
    assert_int_equal(cts_gen_create(&o, &g), 0);
    for (int64_t n; (n = cts_gen_read(g, big + len_big, 1 << 16)) > 0;)
        len_big += (size_t)n;
    cts_gen_stats st;
    cts_gen_stats_get(g, &st);
    assert_int_equal(st.bytes, len_big);
    cts_gen_destroy(g);
    assert_int_equal(len_small, len_big);
    assert_memory_equal(small, big, len_big);
    char a0[] = "--duration", a1[] = "2h", a2[] = "--sensors", a3[] = "2";
    char *args[] = {a0, a1, a2, a3};
    size_t n;
    char *cmd = gen_output(args, 4, &n);
    assert_int_equal(n, len_big);
    assert_memory_equal(cmd, big, n);
    free(cmd);
    free(small);
    free(big);
}

/* Every line valid; all six cities and measurements; values plausible;
 * counters monotonic; some gaps; some late points, at most 8 min late. */
static void output_is_valid_and_realistic(void **state)
{
    (void)state;
    char a0[] = "--duration", a1[] = "6h", a2[] = "--sensors", a3[] = "8", a4[] = "--start",
         a5[] = "2026-03-28T21:00:00Z"; /* across the switch to summer time */
    char *args[] = {a0, a1, a2, a3, a4, a5};
    size_t len;
    char *text = gen_output(args, 6, &len);
    int64_t start = INT64_C(1774731600) * NS_PER_S;
    survey s;
    survey_output(text, len, 8, start, start + 6 * 3600 * NS_PER_S, &s);
    assert_int_equal(s.bad, 0);
    for (int i = 0; i < 6; i++) {
        assert_true(s.per_meas[i] > 0);
        assert_true(s.per_city[i] > 0);
    }
    assert_false(s.lamp_off_dimmed);
    assert_false(s.pm10_below_pm25);
    assert_true(s.gaps >= 1);
    assert_true(s.late >= 1);
    assert_true(s.max_lag_ns <= 480 * NS_PER_S);
    assert_true(s.min_lag_ns >= 30 * NS_PER_S); /* no disorder but the late points */
    free(text);
}

/* 10,800 sensors: hundreds of points per one-second bucket of the schedule,
 * so its radix sort runs; the order must still be exact. */
static void many_sensors_stay_in_order(void **state)
{
    (void)state;
    char a0[] = "--duration", a1[] = "3m", a2[] = "--sensors", a3[] = "300";
    char *args[] = {a0, a1, a2, a3};
    size_t len;
    char *text = gen_output(args, 4, &len);
    survey s;
    survey_output(text, len, 300, CTS_GEN_DEFAULT_START_NS,
                  CTS_GEN_DEFAULT_START_NS + 180 * NS_PER_S, &s);
    assert_int_equal(s.bad, 0);
    assert_true(s.lines > 20000);               /* about 170 a bucket */
    assert_true(s.min_lag_ns >= 30 * NS_PER_S); /* nothing else out of order */
    free(text);
}

/* A sensor's readings do not depend on how many others are simulated. */
static void sensors_are_independent(void **state)
{
    (void)state;
    char a0[] = "--duration", a1[] = "1h", a2[] = "--sensors", a3[] = "1", a4[] = "--cities",
         a5[] = "lisbon";
    char *args[] = {a0, a1, a2, a3, a4, a5};
    size_t n1, n3;
    char *one = gen_output(args, 6, &n1);
    char b3[] = "3", b5[] = "lisbon,milan";
    args[3] = b3;
    args[5] = b5;
    char *three = gen_output(args, 6, &n3);
    /* the lines of the first lisbon sensors, in order, are the same */
    char *filtered = malloc(n3 + 1);
    assert_non_null(filtered);
    size_t fl = 0;
    for (char *p = three, *nl; p < three + n3; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(three + n3 - p));
        if (memmem(p, (size_t)(nl - p), ",sensor=lis-", 12) &&
            memmem(p, (size_t)(nl - p), "-0001 ", 6)) {
            memcpy(filtered + fl, p, (size_t)(nl - p) + 1);
            fl += (size_t)(nl - p) + 1;
        }
    }
    assert_int_equal(fl, n1);
    assert_memory_equal(filtered, one, n1);
    free(filtered);
    free(one);
    free(three);
}

static void precision_scales_timestamps(void **state)
{
    (void)state;
    static const char *const units[] = {"us", "ms", "s"};
    static const int64_t div[] = {1000, 1000000, 1000000000};
    char a0[] = "--duration", a1[] = "20m", a2[] = "--sensors", a3[] = "1", a4[] = "--precision";
    char unit[4];
    char *args[] = {a0, a1, a2, a3, a4, unit};
    size_t nn;
    char *ns = gen_output(args, 4, &nn);
    for (int u = 0; u < 3; u++) {
        snprintf(unit, sizeof unit, "%s", units[u]);
        size_t nx;
        char *x = gen_output(args, 6, &nx);
        const char *p = ns, *q = x;
        while (p < ns + nn) {
            const char *pe = strchr(p, '\n'), *qe = strchr(q, '\n');
            const char *ps = memrchr(p, ' ', (size_t)(pe - p)),
                       *qs = memrchr(q, ' ', (size_t)(qe - q));
            assert_int_equal(ps - p, qs - q);
            assert_memory_equal(p, q, (size_t)(ps - p));
            assert_int_equal(strtoll(ps + 1, NULL, 10) / div[u], strtoll(qs + 1, NULL, 10));
            p = pe + 1;
            q = qe + 1;
        }
        assert_ptr_equal(q, x + nx);
        free(x);
    }
    free(ns);
}

static void selection_options(void **state)
{
    (void)state;
    char a0[] = "--duration=30m", a1[] = "--measurements=energy,lamp", a2[] = "--cities",
         a3[] = "warsaw", a4[] = "--start", a5[] = "1800000000000000000", a6[] = "--sensors=4";
    char *args[] = {a0, a1, a2, a3, a4, a5, a6};
    size_t len;
    char *text = gen_output(args, 7, &len);
    survey s;
    int64_t start = INT64_C(1800000000000000000);
    survey_output(text, len, 4, start, start + 1800 * NS_PER_S, &s);
    assert_int_equal(s.bad, 0);
    assert_int_equal(s.per_city[5], s.lines);
    assert_int_equal(s.per_meas[3] + s.per_meas[4], s.lines);
    assert_true(s.per_meas[3] > 0 && s.per_meas[4] > 0);
    free(text);
}

typedef struct bad_case {
    const char *args[3];
    const char *needle; /* the message must contain it */
} bad_case;

static void bad_options_exit_2_naming_the_option(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {{"--bogus"}, "--bogus"},
        {{"stray"}, "stray"},
        {{"--duration", "7x"}, "--duration"},
        {{"--duration", "0d"}, "--duration"},
        {{"--duration", "1h30m"}, "--duration"},
        {{"--duration=-1d"}, "--duration"},
        {{"--duration"}, "--duration"},
        {{"--start", "2026-13-01T00:00:00Z"}, "--start"},
        {{"--start", "yesterday"}, "--start"},
        {{"--start", "2026-11-01T00:00:00"}, "--start"},
        {{"--start", "1960-01-01T00:00:00Z"}, "--start"},
        {{"--sensors", "0"}, "--sensors"},
        {{"--sensors", "12a"}, "--sensors"},
        {{"--sensors", "100001"}, "--sensors"},
        {{"--seed", "-1"}, "--seed"},
        {{"--seed", "18446744073709551616"}, "--seed"},
        {{"--measurements", "air,smog"}, "smog"},
        {{"--measurements", ""}, "--measurements"},
        {{"--cities", "paris"}, "--cities"},
        {{"--precision", "m"}, "--precision"},
        {{"--output", ""}, "--output"},
        {{"--stats=yes"}, "--stats"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[3][64], err[4096];
        char *args[3];
        int n = 0;
        for (; n < 3 && cases[i].args[n]; n++) {
            snprintf(buf[n], sizeof buf[n], "%s", cases[i].args[n]);
            args[n] = buf[n];
        }
        int status = run_cmd(args, n, err, sizeof err);
        if (status != CLI_EXIT_USAGE || !strstr(err, cases[i].needle))
            fprintf(stderr, "case %zu (%s): status %d, message: %s", i, cases[i].args[0], status,
                    err);
        assert_int_equal(status, CLI_EXIT_USAGE);
        assert_non_null(strstr(err, cases[i].needle));
        assert_non_null(strstr(err, "cityts gen: "));
    }
}

static void stats_and_output_errors(void **state)
{
    (void)state;
    char path[512], err[4096];
    temp_path(path, sizeof path, "stats.lp");
    char a0[] = "--duration", a1[] = "10m", a2[] = "--stats", a3[] = "--output";
    char *args[] = {a0, a1, a2, a3, path};
    assert_int_equal(run_cmd(args, 5, err, sizeof err), 0);
    assert_non_null(strstr(err, " lines, "));
    assert_non_null(strstr(err, " values, "));
    assert_non_null(strstr(err, "values/s"));
    unlink(path);
    char bad_path[] = "/nonexistent-dir/x.lp";
    args[4] = bad_path;
    assert_int_equal(run_cmd(args, 5, err, sizeof err), CLI_EXIT_FAIL);
    assert_non_null(strstr(err, "--output"));
    char help[] = "--help";
    char *h[] = {help};
    assert_int_equal(run_cmd(h, 1, err, sizeof err), 0);
}

static void parse_time_values(void **state)
{
    (void)state;
    int64_t ns = -1;
    size_t off = 99;
    assert_int_equal(cts_gen_parse_time("1970-01-01T00:00:00Z", &ns, NULL), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(cts_gen_parse_time("2026-11-02T00:00:00Z", &ns, NULL), 0);
    assert_int_equal(ns, CTS_GEN_DEFAULT_START_NS);
    assert_int_equal(cts_gen_parse_time("2026-11-02t01:30:00+01:30", &ns, NULL), 0);
    assert_int_equal(ns, CTS_GEN_DEFAULT_START_NS);
    assert_int_equal(cts_gen_parse_time("2026-11-01T23:00:00.5-01:00", &ns, NULL), 0);
    assert_int_equal(ns, CTS_GEN_DEFAULT_START_NS + NS_PER_S / 2);
    assert_int_equal(cts_gen_parse_time("2026-11-02T00:00:00.000000001z", &ns, NULL), 0);
    assert_int_equal(ns, CTS_GEN_DEFAULT_START_NS + 1);
    assert_int_equal(cts_gen_parse_time("1793577600000000000", &ns, NULL), 0);
    assert_int_equal(ns, CTS_GEN_DEFAULT_START_NS);
    assert_int_equal(cts_gen_parse_time("2024-02-29T12:00:00Z", &ns, NULL), 0);
    assert_int_equal(cts_gen_parse_time("2026-02-29T12:00:00Z", &ns, &off), CTS_ERANGE);
    assert_int_equal(off, 8);
    assert_int_equal(cts_gen_parse_time("2026-11-02T24:00:00Z", &ns, NULL), CTS_ERANGE);
    assert_int_equal(cts_gen_parse_time("1969-12-31T23:59:59Z", &ns, NULL), CTS_ERANGE);
    assert_int_equal(cts_gen_parse_time("2300-01-01T00:00:00Z", &ns, NULL), CTS_ERANGE);
    assert_int_equal(cts_gen_parse_time("99999999999999999999", &ns, NULL), CTS_ERANGE);
    assert_int_equal(cts_gen_parse_time("2026-11-02 00:00:00Z", &ns, &off), CTS_EPARSE);
    assert_int_equal(off, 10);
    assert_int_equal(cts_gen_parse_time("2026-11-02T00:00:00.Z", &ns, NULL), CTS_EPARSE);
    assert_int_equal(cts_gen_parse_time("2026-11-02T00:00:00.1234567891Z", &ns, NULL), CTS_EPARSE);
    assert_int_equal(cts_gen_parse_time("2026-11-02T00:00:00Zjunk", &ns, &off), CTS_EPARSE);
    assert_int_equal(off, 20);
    assert_int_equal(cts_gen_parse_time("", &ns, NULL), CTS_EPARSE);
}

static void parse_duration_values(void **state)
{
    (void)state;
    int64_t ns = 0;
    size_t off = 99;
    assert_int_equal(cts_gen_parse_duration("90m", &ns, NULL), 0);
    assert_int_equal(ns, 5400 * NS_PER_S);
    assert_int_equal(cts_gen_parse_duration("7d", &ns, NULL), 0);
    assert_int_equal(ns, 7 * 86400 * NS_PER_S);
    assert_int_equal(cts_gen_parse_duration("2w", &ns, NULL), 0);
    assert_int_equal(ns, 14 * 86400 * NS_PER_S);
    assert_int_equal(cts_gen_parse_duration("1s", &ns, NULL), 0);
    assert_int_equal(ns, NS_PER_S);
    assert_int_equal(cts_gen_parse_duration("3660d", &ns, NULL), 0);
    assert_int_equal(cts_gen_parse_duration("3661d", &ns, NULL), CTS_ERANGE);
    assert_int_equal(cts_gen_parse_duration("0s", &ns, NULL), CTS_ERANGE);
    assert_int_equal(cts_gen_parse_duration("5", &ns, &off), CTS_EPARSE);
    assert_int_equal(off, 1);
    assert_int_equal(cts_gen_parse_duration("m", &ns, &off), CTS_EPARSE);
    assert_int_equal(off, 0);
    assert_int_equal(cts_gen_parse_duration("5mm", &ns, &off), CTS_EPARSE);
    assert_int_equal(off, 2);
    assert_int_equal(cts_gen_parse_duration("5ms", &ns, NULL), CTS_EPARSE);
    assert_int_equal(cts_gen_parse_duration("99999999999999999999d", &ns, NULL), CTS_ERANGE);
}

static void create_rejects_bad_options_and_survives_oom(void **state)
{
    (void)state;
    cts_gen_opts o;
    cts_gen *g = (cts_gen *)&o; /* must be reset to NULL on failure */
    cts_gen_opts_init(&o);
    o.sensors = 0;
    assert_int_equal(cts_gen_create(&o, &g), CTS_EINVAL);
    assert_null(g);
    cts_gen_opts_init(&o);
    o.city_mask = 0;
    assert_int_equal(cts_gen_create(&o, &g), CTS_EINVAL);
    cts_gen_opts_init(&o);
    o.measurement_mask = 1u << CTS_GEN_MEASUREMENT_COUNT;
    assert_int_equal(cts_gen_create(&o, &g), CTS_EINVAL);
    cts_gen_opts_init(&o);
    o.duration_ns = 0;
    assert_int_equal(cts_gen_create(&o, &g), CTS_EINVAL);
    cts_gen_destroy(NULL);
    cts_gen_opts_init(&o);
    int rc = CTS_ENOMEM;
    for (long n = 0; rc == CTS_ENOMEM; n++) {
        cts_alloc_fail_after(n);
        rc = cts_gen_create(&o, &g);
        cts_alloc_fail_after(-1);
        if (rc == CTS_ENOMEM)
            assert_null(g);
    }
    assert_int_equal(rc, 0);
    cts_gen_destroy(g);
}

static void names(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 6; i++) {
        assert_string_equal(cts_gen_measurement_name(i), rules[i].name);
        assert_string_equal(cts_gen_city_name(i), city_names[i]);
        assert_int_equal(cts_gen_city_find(city_names[i], strlen(city_names[i])), (int)i);
    }
    assert_null(cts_gen_measurement_name(6));
    assert_int_equal(cts_gen_measurement_find("ai", 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_bytes),
        cmocka_unit_test(chunking_does_not_change_bytes),
        cmocka_unit_test(output_is_valid_and_realistic),
        cmocka_unit_test(many_sensors_stay_in_order),
        cmocka_unit_test(sensors_are_independent),
        cmocka_unit_test(precision_scales_timestamps),
        cmocka_unit_test(selection_options),
        cmocka_unit_test(bad_options_exit_2_naming_the_option),
        cmocka_unit_test(stats_and_output_errors),
        cmocka_unit_test(parse_time_values),
        cmocka_unit_test(parse_duration_values),
        cmocka_unit_test(create_rejects_bad_options_and_survives_oom),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
