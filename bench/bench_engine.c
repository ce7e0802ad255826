/*
 * bench_engine.c: the engine's write path and recovery, measured through
 * the public API (cts_engine.h), parsing excluded.
 *
 *   engine/append/{always,interval,never}
 *       one writer, batches of 5,000 points (1,000 air-quality series, three
 *       1-decimal float fields each, drifting like real readings),
 *       timestamps advancing 60 s per round,
 *       into a fresh database in $TMPDIR. Items are values. Counters:
 *       wal_bytes_per_value (WAL bytes written / values written, checkpoints
 *       included) and disk_bytes_per_value (sealed block bytes / points
 *       sealed, after a final flush).
 *   engine/reopen_wal/<MiB>
 *       a child process writes until the WAL holds <MiB> MiB (fsync never,
 *       no checkpoint) and dies without closing; the benchmark times
 *       cts_db_open, which replays all of it (bytes processed = WAL bytes,
 *       so the rate is replay throughput). One iteration, after the WAL is
 *       written: 64 MiB for a quick look, 1024 MiB for the 1 GB figure.
 */
#include "bench_suites.h"
#include "cts_bench.h"
#include "cts_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SERIES 1000
#define BATCH 5000
#define FIELDS 3
#define BASE_TS INT64_C(1764547200000000000) /* 2025-12-01T00:00:00Z */
#define MINUTE INT64_C(60000000000)

typedef struct workload {
    char names[SERIES][24];
    cts_tag tags[SERIES][2];
    cts_point pts[BATCH];
    cts_field fields[BATCH][FIELDS];
    int32_t level[SERIES][FIELDS]; /* each series' current reading x 10 */
    uint64_t rng;
} workload;

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static workload *workload_create(void)
{
    static const char *cities[] = {"bordeaux", "burgas", "lisbon", "london", "milan", "warsaw"};
    static const char *fnames[FIELDS] = {"pm25", "pm10", "no2"};
    workload *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->rng = 42;
    for (int s = 0; s < SERIES; s++) {
        snprintf(w->names[s], sizeof w->names[s], "air-%04d", s);
        const char *c = cities[s % 6];
        w->tags[s][0] = (cts_tag){{"city", 4}, {c, (uint32_t)strlen(c)}};
        w->tags[s][1] = (cts_tag){{"sensor", 6}, {w->names[s], (uint32_t)strlen(w->names[s])}};
        for (int f = 0; f < FIELDS; f++)
            w->level[s][f] = 100 + (int32_t)(next_rand(&w->rng) % 300);
    }
    for (int i = 0; i < BATCH; i++) {
        for (int f = 0; f < FIELDS; f++)
            w->fields[i][f] = (cts_field){.key = {fnames[f], (uint32_t)strlen(fnames[f])},
                                          .type = CTS_TYPE_FLOAT};
        w->pts[i] = (cts_point){.measurement = {"air", 3},
                                .tags = w->tags[i % SERIES],
                                .ntags = 2,
                                .fields = w->fields[i],
                                .nfields = FIELDS};
    }
    return w;
}

/* Batch number b: round b*5 .. b*5+4 of every series, sensor-like decimals. */
static void workload_fill(workload *w, uint64_t b)
{
    for (int i = 0; i < BATCH; i++) {
        w->pts[i].ts_ns =
            BASE_TS + (int64_t)(b * (BATCH / SERIES) + (uint64_t)(i / SERIES)) * MINUTE;
        for (int f = 0; f < FIELDS; f++)
            w->fields[i][f].v.f = (double)(100 + (int64_t)(next_rand(&w->rng) % 300)) / 10.0;
    }
}

static int make_dir(char *dir, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, cap, "%s/cityts-bench-XXXXXX", tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static void remove_dir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cityts-bench: could not remove %s\n", dir);
}

static void append_run(cts_bench_state *st, void *ctx)
{
    cts_db_opts o;
    cts_db *db = NULL;
    char dir[4096];
    workload *w = workload_create();
    cts_db_opts_init(&o);
    o.fsync = (cts_fsync_policy)(intptr_t)ctx;
    if (!w || make_dir(dir, sizeof dir) || cts_db_open(dir, &o, &db)) {
        cts_bench_skip_with_error(st, "cannot open a database");
        free(w);
        return;
    }
    uint64_t b = 0;
    while (cts_bench_keep_running(st)) {
        workload_fill(w, b++);
        if (cts_db_write(db, w->pts, BATCH, NULL)) {
            cts_bench_skip_with_error(st, cts_db_errmsg(db));
            break;
        }
    }
    cts_db_stats s; /* the timer stopped with the loop: what follows is not measured */
    if (cts_db_flush(db) == 0) {
        cts_db_get_stats(db, &s);
        double values = (double)b * BATCH * FIELDS;
        cts_bench_set_counter(st, "wal_bytes_per_value", values ? (double)s.wal_bytes / values : 0,
                              CTS_BENCH_COUNTER_PLAIN);
        cts_bench_set_counter(st, "disk_bytes_per_value",
                              s.points_sealed ? (double)s.bytes_sealed / (double)s.points_sealed
                                              : 0,
                              CTS_BENCH_COUNTER_PLAIN);
    }
    cts_bench_set_items_processed(st, (int64_t)b * BATCH * FIELDS);
    cts_db_close(db);
    remove_dir(dir);
    free(w);
}

/* In a child: write until the WAL holds `bytes`, then die without closing. */
static void fill_wal(const char *dir, uint64_t bytes)
{
    cts_db_opts o;
    cts_db *db;
    cts_db_stats s;
    workload *w = workload_create();
    cts_db_opts_init(&o);
    o.fsync = CTS_DB_FSYNC_NEVER;
    o.wal_checkpoint_bytes = UINT64_MAX;
    o.memory_budget_bytes = UINT64_MAX;
    if (!w || cts_db_open(dir, &o, &db))
        _exit(1);
    for (uint64_t b = 0;; b++) {
        workload_fill(w, b);
        if (cts_db_write(db, w->pts, BATCH, NULL))
            _exit(1);
        cts_db_get_stats(db, &s);
        if (s.wal_bytes >= bytes)
            _exit(0);
    }
}

static void reopen_run(cts_bench_state *st, void *ctx)
{
    (void)ctx;
    uint64_t bytes = (uint64_t)cts_bench_arg_value(st, 0) << 20;
    char dir[4096];
    int status = 1;
    cts_db *db = NULL;
    if (make_dir(dir, sizeof dir)) {
        cts_bench_skip_with_error(st, "cannot create a directory");
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        fill_wal(dir, bytes);
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
        cts_bench_skip_with_error(st, "the WAL writer failed");
        remove_dir(dir);
        return;
    }
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.read_only = true; /* close must not checkpoint: the next iteration replays again */
    while (cts_bench_keep_running(st)) {
        if (cts_db_open(dir, &o, &db)) {
            cts_bench_skip_with_error(st, cts_db_open_error());
            break;
        }
        cts_bench_pause_timing(st);
        cts_db_close(db);
        cts_bench_resume_timing(st);
    }
    cts_bench_set_bytes_processed(st, (int64_t)(bytes * (uint64_t)cts_bench_iterations(st)));
    remove_dir(dir);
}

int bench_engine_register(void)
{
    static const char *names[] = {"engine/append/always", "engine/append/interval",
                                  "engine/append/never"};
    static const cts_fsync_policy pol[] = {CTS_DB_FSYNC_ALWAYS, CTS_DB_FSYNC_INTERVAL,
                                           CTS_DB_FSYNC_NEVER};
    for (int i = 0; i < 3; i++) {
        cts_bench *b = cts_bench_register(names[i], append_run, (void *)(intptr_t)pol[i]);
        b = cts_bench_use_real_time(cts_bench_min_time(b, 2.0));
        if (!b)
            return CTS_ENOMEM;
    }
    cts_bench *b = cts_bench_register("engine/reopen_wal", reopen_run, NULL);
    b = cts_bench_fixed_iterations(cts_bench_arg(cts_bench_arg(b, 64), 1024), 1);
    b = cts_bench_use_real_time(b);
    return b ? 0 : CTS_ENOMEM;
}
