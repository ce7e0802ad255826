/*
 * Crash test: a child process writes batches with fsync=always and reports
 * each acknowledged batch through a pipe; the parent SIGKILLs it at a random
 * moment, reopens the database and checks that every acknowledged batch is
 * there whole, that no batch is there in part, and that verify passes.
 * CTS_CRASH_CYCLES sets the number of cycles (default 100; a script can
 * run thousands).
 */
#include "cts_test.h"
#include "cts_engine.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 50 /* points per batch, one series per batch slot */

static void write_forever(const char *dir, int fd, uint32_t first)
{
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.fsync = CTS_DB_FSYNC_ALWAYS;
    o.block_points = 64;
    o.wal_checkpoint_bytes = 64 << 10;
    cts_db *db;
    if (cts_db_open(dir, &o, &db))
        _exit(3);
    cts_point pts[BATCH];
    cts_field fields[BATCH];
    cts_tag tags[BATCH];
    char names[BATCH][8];
    for (uint32_t b = first;; b++) {
        for (int j = 0; j < BATCH; j++) {
            snprintf(names[j], sizeof names[j], "s%d", j % 7);
            tags[j] = (cts_tag){{"id", 2}, {names[j], (uint32_t)strlen(names[j])}};
            fields[j] = (cts_field){.key = {"v", 1}, .type = CTS_TYPE_INT, .v.i = b};
            pts[j] = (cts_point){.measurement = {"m", 1},
                                 .tags = &tags[j],
                                 .ntags = 1,
                                 .fields = &fields[j],
                                 .nfields = 1,
                                 .ts_ns = (int64_t)b * BATCH + j};
        }
        if (cts_db_write(db, pts, BATCH, NULL))
            _exit(4);
        if (write(fd, &b, sizeof b) != sizeof b)
            _exit(5);
    }
}

/* Count the points of each batch; every batch must be whole or absent. */
static uint32_t check(const char *dir, uint32_t acked, uint32_t *next)
{
    cts_db *db;
    int rc = cts_db_open(dir, NULL, &db);
    if (rc)
        fail_msg("reopen: %s", cts_db_open_error());
    cts_verify_report rep;
    if (cts_db_verify(db, &rep))
        fail_msg("verify: %s", rep.first_error);
    cts_idlist *ids;
    cts_fieldlist *fl;
    uint32_t *count = calloc(acked + 100000, sizeof *count), max_b = 0;
    assert_int_equal(cts_db_series_ids(db, "m", NULL, NULL, &ids), 0);
    assert_int_equal(cts_db_field_keys(db, "m", &fl), 0);
    for (size_t s = 0; s < ids->count && fl->count; s++) {
        cts_cursor *cur;
        if (cts_cursor_open(db, ids->ids[s], fl->items[0].field_id, INT64_MIN, INT64_MAX, false,
                            &cur))
            continue;
        cts_chunk c;
        while ((rc = cts_cursor_next(cur, &c)) == 1) {
            for (uint32_t k = 0; k < c.count; k++) {
                uint32_t b = (uint32_t)c.v.i[k];
                assert_int_equal(c.ts[k] / BATCH, b);
                assert_true(b < acked + 100000);
                count[b]++;
                max_b = b > max_b ? b : max_b;
            }
        }
        assert_int_equal(rc, 0);
        cts_cursor_close(cur);
    }
    for (uint32_t b = 0; b <= max_b; b++) {
        if (b < acked && count[b] != BATCH)
            fail_msg("acknowledged batch %u has %u of %d points", b, count[b], BATCH);
        if (count[b] != 0 && count[b] != BATCH)
            fail_msg("batch %u is partial: %u of %d points", b, count[b], BATCH);
    }
    *next = count[max_b] ? max_b + 1 : 0;
    cts_free(ids);
    cts_free(fl);
    free(count);
    assert_int_equal(cts_db_close(db), 0);
    return max_b;
}

static void crash_cycles(void **state)
{
    (void)state;
    const char *env = getenv("CTS_CRASH_CYCLES"), *base = getenv("CTS_TEST_TMPDIR");
    int cycles = env ? atoi(env) : 100;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/crash-XXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    cts_rng r = {(uint64_t)time(NULL)};
    uint32_t acked = 0, next = 0;
    for (int i = 0; i < cycles; i++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            write_forever(dir, fds[1], next);
        }
        close(fds[1]);
        struct timespec ts = {0, (long)(1 + cts_rng_below(&r, 40)) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status))
            fail_msg("writer exited with status %d", WEXITSTATUS(status));
        uint32_t b;
        while (read(fds[0], &b, sizeof b) == sizeof b)
            acked = b + 1;
        close(fds[0]);
        check(dir, acked, &next);
        if (next < acked)
            fail_msg("lost acknowledged batches: next %u, acknowledged %u", next, acked);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crash_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
