/*
 * bench_lineproto.c: line-protocol parsing speed (engine/lineproto.c and
 * lp_reader.c), through the public API.
 *
 *   lp/reader/city/<chunk>   city sensor lines such as
 *       air,city=lisbon,district=d07,sensor=lis-air-0042 pm25=12.5,pm10=20.1,no2=31.7
 * 1764000000000000000 (6 cities, 3 measurements, 3 one-decimal float fields, ns timestamps)
 *   lp/reader/tsbs/<chunk>   TSBS cpu-only lines: 10 tags, 10 integer fields
 *   lp/parse_line/city       the one-line API, line by line (it copies each
 *                            line to add its sentinel)
 *
 * <chunk> is the size of the pieces the input is fed in (0: all at once,
 * 65536: as read(2) would hand a file). One iteration parses the whole
 * input (about 16 MiB) into batches of 5,000 points and touches every
 * point, as a writer would. Reported: bytes_per_second (input bytes) and
 * items_per_second (lines); a run whose points or bad lines differ from
 * the expected count reports an error instead of a figure.
 *
 * The input is generated before the timed loop of every run (a few tens of
 * milliseconds) and freed after it: nothing is kept between benchmarks.
 */
#include "bench_suites.h"
#include "cts_bench.h"
#include "cts_engine.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_BYTES (16u << 20)
#define BASE_TS INT64_C(1764000000000000000)

typedef enum lp_dataset { LP_CITY, LP_TSBS } lp_dataset;

typedef struct lp_input {
    char *text;
    size_t len, lines;
} lp_input;

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* One city line: a sensor of one of six cities, three readings. */
static int city_line(char *dst, size_t cap, uint64_t *rng, size_t i)
{
    static const char *cities[] = {"lisbon", "porto", "milan", "warsaw", "london", "burgas"};
    static const char *meas[] = {"air", "noise", "traffic"};
    static const char *fields[][3] = {
        {"pm25", "pm10", "no2"}, {"laeq", "lamax", "l90"}, {"flow", "speed", "occupancy"}};
    uint64_t r = next_rand(rng);
    unsigned c = (unsigned)(r % 6), m = (unsigned)(r >> 8) % 3, d = (unsigned)(r >> 16) % 24;
    unsigned s = (unsigned)(r >> 24) % 100;
    unsigned v0 = (unsigned)(r >> 32) % 2000, v1 = (unsigned)(r >> 43) % 3000;
    unsigned v2 = (unsigned)(r >> 54) % 1000;
    return snprintf(dst, cap,
                    "%s,city=%s,district=d%02u,sensor=%.3s-%s-%04u %s=%u.%u,%s=%u.%u,"
                    "%s=%u.%u %lld\n",
                    meas[m], cities[c], d, cities[c], meas[m], s, fields[m][0], v0 / 10, v0 % 10,
                    fields[m][1], v1 / 10, v1 % 10, fields[m][2], v2 / 10, v2 % 10,
                    (long long)(BASE_TS + (int64_t)(i / 1000) * 60000000000));
}

/* One TSBS cpu-only line: 10 tags, 10 integer fields. */
static int tsbs_line(char *dst, size_t cap, uint64_t *rng, size_t i)
{
    static const char *regions[] = {"eu-west-1", "us-east-1", "ap-southeast-2", "sa-east-1"};
    uint64_t r = next_rand(rng), h = (i % 4000);
    const char *reg = regions[h % 4];
    int n = snprintf(dst, cap,
                     "cpu,hostname=host_%llu,region=%s,datacenter=%sa,rack=%llu,os=Ubuntu16.04LTS,"
                     "arch=x64,team=NYC,service=%llu,service_version=%llu,service_environment="
                     "production ",
                     (unsigned long long)h, reg, reg, (unsigned long long)(h * 7 % 100),
                     (unsigned long long)(h % 19), (unsigned long long)(h % 2));
    static const char *f[] = {"usage_user",   "usage_system",    "usage_idle",    "usage_nice",
                              "usage_iowait", "usage_irq",       "usage_softirq", "usage_steal",
                              "usage_guest",  "usage_guest_nice"};
    for (int k = 0; k < 10 && n > 0 && (size_t)n < cap; k++)
        n += snprintf(dst + n, cap - (size_t)n, "%s%s=%llui", k ? "," : "", f[k],
                      (unsigned long long)((r >> (k * 6)) % 100));
    if (n > 0 && (size_t)n < cap)
        n += snprintf(dst + n, cap - (size_t)n, " %lld\n",
                      (long long)(BASE_TS + (int64_t)(i / 4000) * 10000000000));
    return n;
}

static int input_make(lp_dataset ds, lp_input *in)
{
    in->text = malloc(INPUT_BYTES + 1024);
    if (!in->text)
        return CTS_ENOMEM;
    in->len = in->lines = 0;
    uint64_t rng = 7;
    while (in->len < INPUT_BYTES) {
        size_t cap = INPUT_BYTES + 1024 - in->len;
        int n = ds == LP_CITY ? city_line(in->text + in->len, cap, &rng, in->lines)
                              : tsbs_line(in->text + in->len, cap, &rng, in->lines);
        if (n <= 0 || (size_t)n >= cap)
            return CTS_ENOSPACE;
        in->len += (size_t)n;
        in->lines++;
    }
    return CTS_OK;
}

/* Feed the whole input in chunks of `chunk` bytes (0: at once) and drain
 * every batch; returns points + 1000000 * bad lines, or a cts_err. */
static int64_t read_all(cts_lp_reader *r, const lp_input *in, size_t chunk, uint64_t *sink)
{
    int64_t points = 0, bad = 0;
    cts_lp_batch b;
    int rc = cts_lp_reader_reset(r, CTS_LP_NS, BASE_TS);
    for (size_t pos = 0; rc == CTS_OK;) {
        bool last = pos == in->len;
        size_t n = chunk == 0 || chunk > in->len - pos ? in->len - pos : chunk;
        rc = last ? cts_lp_reader_finish(r) : cts_lp_reader_feed(r, in->text + pos, n);
        pos += n;
        while (rc == CTS_OK && (rc = cts_lp_reader_next(r, &b)) > 0) {
            for (size_t i = 0; i < b.npoints; i++)
                *sink += (uint64_t)b.points[i].ts_ns + b.points[i].fields[0].v.u;
            points += (int64_t)b.npoints;
            bad += (int64_t)b.nbad;
            rc = CTS_OK;
        }
        if (last)
            break;
    }
    return rc < 0 ? rc : points + bad * 1000000;
}

static void run_reader(cts_bench_state *st, lp_dataset ds)
{
    size_t chunk = (size_t)cts_bench_arg_value(st, 0);
    lp_input in = {0};
    cts_lp_opts o;
    cts_lp_reader *r = NULL;
    cts_lp_opts_init(&o);
    uint64_t sink = 0;
    int64_t got = 0;
    if (input_make(ds, &in) != CTS_OK || cts_lp_reader_create(&o, &r) != CTS_OK) {
        cts_bench_skip_with_error(st, "out of memory");
    } else {
        while (cts_bench_keep_running(st) && got >= 0)
            got = read_all(r, &in, chunk, &sink);
        char msg[96];
        snprintf(msg, sizeof msg, "expected %zu points, no bad line; got %lld", in.lines,
                 (long long)got);
        if (got != (int64_t)in.lines)
            cts_bench_skip_with_error(st, msg);
        cts_bench_set_bytes_processed(st, cts_bench_iterations(st) * (int64_t)in.len);
        cts_bench_set_items_processed(st, cts_bench_iterations(st) * (int64_t)in.lines);
    }
    cts_bench_do_not_optimize(&sink);
    cts_lp_reader_destroy(r);
    free(in.text);
}

static void reader_city(cts_bench_state *st, void *ctx)
{
    (void)ctx;
    run_reader(st, LP_CITY);
}

static void reader_tsbs(cts_bench_state *st, void *ctx)
{
    (void)ctx;
    run_reader(st, LP_TSBS);
}

static void parse_line_city(cts_bench_state *st, void *ctx)
{
    (void)ctx;
    lp_input in = {0};
    cts_lp_opts o;
    cts_lp_point p;
    cts_lp_opts_init(&o);
    cts_lp_point_init(&p);
    uint64_t sink = 0;
    int64_t good = 0;
    if (input_make(LP_CITY, &in) != CTS_OK) {
        cts_bench_skip_with_error(st, "out of memory");
        free(in.text);
        return;
    }
    while (cts_bench_keep_running(st)) {
        good = 0;
        for (const char *s = in.text, *e = in.text + in.len; s < e;) {
            const char *nl = memchr(s, '\n', (size_t)(e - s));
            if (cts_lp_parse_line(s, (size_t)(nl - s), &o, &p, NULL) == 1)
                good++;
            sink += (uint64_t)p.point.ts_ns;
            s = nl + 1;
        }
    }
    if (good != (int64_t)in.lines)
        cts_bench_skip_with_error(st, "a line did not parse");
    cts_bench_set_bytes_processed(st, cts_bench_iterations(st) * (int64_t)in.len);
    cts_bench_set_items_processed(st, cts_bench_iterations(st) * (int64_t)in.lines);
    cts_bench_do_not_optimize(&sink);
    cts_lp_point_fini(&p);
    free(in.text);
}

int bench_lineproto_register(void)
{
    cts_bench *b = cts_bench_register("lp/reader/city", reader_city, NULL);
    b = cts_bench_arg(cts_bench_arg(cts_bench_arg_name(b, "chunk"), 0), 65536);
    if (!b)
        return CTS_ENOMEM;
    b = cts_bench_register("lp/reader/tsbs", reader_tsbs, NULL);
    b = cts_bench_arg(cts_bench_arg(cts_bench_arg_name(b, "chunk"), 0), 65536);
    if (!b)
        return CTS_ENOMEM;
    b = cts_bench_register("lp/parse_line/city", parse_line_city, NULL);
    return b ? CTS_OK : CTS_ENOMEM;
}
