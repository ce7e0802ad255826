/*
 * test_wal_faults.c: the WAL under injected faults. For every kind of VFS
 * operation and every N up to the number of such calls a small workload
 * makes, fail the Nth call with EIO, then ENOSPC; then cut power, reopen,
 * and check that every record acknowledged as durable is replayed intact
 * and in order. Also: faults during recovery itself, a full disk, short
 * writes, poisoning after a failed fdatasync (never retried), and failed
 * allocations. ASan (the Asan build) checks that no path leaks or crashes.
 *
 * The fault VFS keeps its own account of what is durable, so its base is
 * the real file system with fsync, fdatasync and fsync_dir turned into
 * no-ops: the model decides what a power loss keeps, and hundreds of runs
 * take seconds instead of minutes.
 */
#include "cts_test.h"
#include "scratch_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>

#define RECORDS 40
#define SEG_BYTES 1024

static int nop_sync(void *ctx, int fd)
{
    (void)ctx;
    (void)fd;
    return 0;
}

static int nop_sync_dir(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return 0;
}

static cts_vfs fast_base;
static char scenario[128]; /* the faulty run in progress, for messages */

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static size_t payload_for(uint64_t seq, uint8_t *buf)
{
    cts_rng r = {seq * 7919u};
    size_t len = cts_rng_below(&r, 200);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)cts_rng_next(&r);
    return len;
}

typedef struct checker {
    uint64_t next, count;
    int bad;
} checker;

static int check_cb(void *ctx, uint64_t seq, const void *payload, size_t len)
{
    checker *c = ctx;
    uint8_t want[256];
    size_t wl = payload_for(seq, want);
    if (seq != c->next || wl != len || memcmp(want, payload, len) != 0)
        c->bad = 1;
    c->next = seq + 1;
    c->count++;
    return 0;
}

static cts_wal_opts opts(const cts_vfs *vfs, cts_wal_fsync fsync)
{
    cts_wal_opts o = {0};
    o.vfs = vfs;
    o.fsync = fsync;
    o.segment_bytes = SEG_BYTES;
    o.log = quiet;
    return o;
}

/* Open and replay cleanly; every record from 1 on must come back intact,
 * at least up to `acked`. Returns the number replayed. */
static uint64_t verify(const cts_vfs *vfs, const char *dir, uint64_t acked)
{
    cts_wal_opts o = opts(vfs, CTS_FSYNC_ALWAYS);
    cts_wal *wal;
    assert_int_equal(cts_wal_open(dir, &o, &wal), 0);
    checker c = {.next = 1};
    int r = cts_wal_replay(wal, check_cb, &c, NULL);
    if (r != 0)
        fail_msg("%s: replay after fault: %s: %s", scenario, cts_errname(r), cts_wal_errmsg(wal));
    assert_false(c.bad);
    if (c.count < acked)
        fail_msg("%s: acknowledged record lost: replayed %llu < acked %llu", scenario,
                 (unsigned long long)c.count, (unsigned long long)acked);
    assert_int_equal(cts_wal_close(wal), 0);
    return c.count;
}

/* After a write-path error: the handle is poisoned, and nothing more reaches
 * fdatasync. */
static void expect_poisoned(cts_wal *wal, cts_vfs_fault *f)
{
    uint64_t syncs = f ? cts_vfs_fault_calls(f, CTS_VFS_OP_FDATASYNC) : 0;
    uint64_t seq;
    assert_int_equal(cts_wal_append(wal, "x", 1, &seq), CTS_EPOISONED);
    assert_int_equal(cts_wal_sync(wal), CTS_EPOISONED);
    assert_true(cts_wal_errmsg(wal)[0] != '\0');
    if (f)
        assert_int_equal(cts_vfs_fault_calls(f, CTS_VFS_OP_FDATASYNC), syncs);
}

/*
 * Append records 1..count to a fresh WAL; under ALWAYS wait for every
 * second one, under NEVER sync every fourth. Returns the highest seq
 * acknowledged as durable. With `crash`, the handle is not closed before
 * the power loss (the caller cuts power, then closes).
 */
static uint64_t workload(const cts_vfs *vfs, cts_vfs_fault *f, const char *dir, cts_wal_fsync fsync,
                         int count, cts_wal **keep_open)
{
    cts_wal_opts o = opts(vfs, fsync);
    cts_wal *wal;
    uint64_t acked = 0;
    if (keep_open)
        *keep_open = NULL;
    if (cts_wal_open(dir, &o, &wal) != 0)
        return 0;
    int r = cts_wal_replay(wal, NULL, NULL, NULL);
    uint8_t buf[256];
    for (int i = 1; r == 0 && i <= count; i++) {
        uint64_t seq;
        r = cts_wal_append(wal, buf, payload_for((uint64_t)i, buf), &seq);
        if (r == 0)
            assert_int_equal(seq, (uint64_t)i);
        if (r == 0 && fsync == CTS_FSYNC_ALWAYS && i % 2 == 0)
            r = cts_wal_wait_durable(wal, seq);
        if (r == 0 && fsync == CTS_FSYNC_NEVER && i % 4 == 0)
            r = cts_wal_sync(wal);
        if (r == 0 && ((fsync == CTS_FSYNC_ALWAYS && i % 2 == 0) || i % 4 == 0))
            acked = seq;
        if (r != 0 && r != CTS_ENOMEM)
            expect_poisoned(wal, f);
    }
    if (keep_open)
        *keep_open = wal;
    else
        (void)cts_wal_close(wal);
    return acked;
}

/* Count the calls of each op a clean run of the workload makes. */
static void dry_run(cts_wal_fsync fsync, uint64_t calls[CTS_VFS_OP_COUNT])
{
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "walf-dry"), 0);
    char dir[600];
    scratch_join(dir, sizeof dir, d.path, "wal");
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(&fast_base, &f), 0);
    assert_int_equal(workload(cts_vfs_fault_vfs(f), f, dir, fsync, RECORDS, NULL), RECORDS);
    for (int op = 0; op < CTS_VFS_OP_COUNT; op++)
        calls[op] = cts_vfs_fault_calls(f, (cts_vfs_op)op);
    cts_vfs_fault_destroy(f);
    scratch_remove(&d);
}

/* One faulty run: fail the nth call of op, cut power, verify. */
static void one_write_fault(cts_wal_fsync fsync, cts_vfs_op op, uint64_t nth, int err,
                            cts_fault_mode mode)
{
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "walf"), 0);
    char dir[600];
    scratch_join(dir, sizeof dir, d.path, "wal");
    snprintf(scenario, sizeof scenario, "%s #%llu fails with %s%s", cts_vfs_op_name(op),
             (unsigned long long)nth, strerror(err),
             mode == CTS_FAULT_PERSIST ? " from then on" : "");
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(&fast_base, &f), 0);
    assert_int_equal(cts_vfs_fault_fail(f, op, nth, err, mode), 0);
    cts_wal *wal;
    uint64_t acked = workload(cts_vfs_fault_vfs(f), f, dir, fsync, RECORDS, &wal);
    assert_int_equal(cts_vfs_fault_power_loss(f, nth * 131 + (uint64_t)op), 0);
    (void)cts_wal_close(wal); /* the machine is off: nothing reaches the disk */
    cts_vfs_fault_reset(f);
    verify(cts_vfs_fault_vfs(f), dir, acked);
    cts_vfs_fault_destroy(f);
    scratch_remove(&d);
}

static void every_write_fault(cts_wal_fsync fsync)
{
    uint64_t calls[CTS_VFS_OP_COUNT];
    dry_run(fsync, calls);
    static const int errs[] = {EIO, ENOSPC};
    uint64_t runs = 0;
    for (int op = 0; op < CTS_VFS_OP_COUNT; op++)
        for (int e = 0; e < 2; e++)
            for (uint64_t n = 1; n <= calls[op] + 1; n++, runs++)
                one_write_fault(fsync, (cts_vfs_op)op, n, errs[e], CTS_FAULT_ONCE);
    print_message("%llu faulty runs (pwrite %llu, fdatasync %llu, open %llu, rename %llu)\n",
                  (unsigned long long)runs, (unsigned long long)calls[CTS_VFS_OP_PWRITE],
                  (unsigned long long)calls[CTS_VFS_OP_FDATASYNC],
                  (unsigned long long)calls[CTS_VFS_OP_OPEN],
                  (unsigned long long)calls[CTS_VFS_OP_RENAME]);
}

static void test_every_fault_always(void **state)
{
    (void)state;
    every_write_fault(CTS_FSYNC_ALWAYS);
}

static void test_every_fault_never_with_sync(void **state)
{
    (void)state;
    every_write_fault(CTS_FSYNC_NEVER);
}

static void test_disk_full(void **state)
{
    (void)state;
    for (uint64_t n = 1; n <= 30; n++)
        one_write_fault(CTS_FSYNC_ALWAYS, CTS_VFS_OP_PWRITE, n, ENOSPC, CTS_FAULT_PERSIST);
}

/* ---- recovery under faults ---- */

/* A WAL that lost power with written but unsynced records at the end of
 * its last segment (a seeded part of them survives). Returns the highest
 * acknowledged seq. */
static uint64_t crashed_wal(cts_vfs_fault *f, const char *dir, uint64_t seed)
{
    cts_wal *wal;
    uint64_t acked = workload(cts_vfs_fault_vfs(f), f, dir, CTS_FSYNC_NEVER, RECORDS, &wal);
    assert_int_equal(acked, RECORDS);
    uint8_t buf[256];
    uint64_t seq = 0;
    for (uint64_t i = RECORDS + 1; i <= RECORDS + 6; i++)
        assert_int_equal(cts_wal_append(wal, buf, payload_for(i, buf), &seq), 0);
    assert_int_equal(cts_wal_wait_durable(wal, seq), 0); /* NEVER: written only */
    assert_int_equal(cts_vfs_fault_power_loss(f, seed), 0);
    (void)cts_wal_close(wal);
    cts_vfs_fault_reset(f);
    return acked;
}

/* Recover with the fault armed, append one record, lose power again.
 * Returns the highest acknowledged seq. */
static uint64_t recover(cts_vfs_fault *f, const char *dir, uint64_t acked)
{
    cts_wal_opts o = opts(cts_vfs_fault_vfs(f), CTS_FSYNC_ALWAYS);
    cts_wal *wal;
    if (cts_wal_open(dir, &o, &wal) != 0)
        return acked;
    int r = cts_wal_replay(wal, NULL, NULL, NULL);
    /* An I/O error must never be mistaken for corruption. */
    assert_int_not_equal(r, CTS_ECORRUPT);
    assert_int_not_equal(r, CTS_EVERSION);
    if (r == 0) {
        cts_wal_stats st;
        cts_wal_stats_get(wal, &st);
        uint8_t buf[256];
        uint64_t seq;
        r = cts_wal_append(wal, buf, payload_for(st.last_seq + 1, buf), &seq);
        if (r == 0 && cts_wal_wait_durable(wal, seq) == 0)
            acked = seq;
    }
    (void)cts_wal_close(wal);
    return acked;
}

static void one_recovery_fault(cts_vfs_op op, uint64_t nth, uint64_t calls[CTS_VFS_OP_COUNT])
{
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "walr"), 0);
    char dir[600];
    scratch_join(dir, sizeof dir, d.path, "wal");
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(&fast_base, &f), 0);
    uint64_t seed = nth * 7 + (uint64_t)op + 1;
    snprintf(scenario, sizeof scenario, "recovery: %s #%llu fails", cts_vfs_op_name(op),
             (unsigned long long)nth);
    uint64_t acked = crashed_wal(f, dir, seed);
    if (nth > 0)
        assert_int_equal(cts_vfs_fault_fail(f, op, nth, EIO, CTS_FAULT_ONCE), 0);
    acked = recover(f, dir, acked);
    for (int i = 0; calls && i < CTS_VFS_OP_COUNT; i++)
        calls[i] = cts_vfs_fault_calls(f, (cts_vfs_op)i);
    assert_int_equal(cts_vfs_fault_power_loss(f, seed + 1), 0);
    cts_vfs_fault_reset(f);
    verify(cts_vfs_fault_vfs(f), dir, acked);
    cts_vfs_fault_destroy(f);
    scratch_remove(&d);
}

static void test_every_fault_in_recovery(void **state)
{
    (void)state;
    uint64_t calls[CTS_VFS_OP_COUNT];
    one_recovery_fault(CTS_VFS_OP_OPEN, 0, calls);
    for (int op = 0; op < CTS_VFS_OP_COUNT; op++)
        for (uint64_t n = 1; n <= calls[op] + 1; n++)
            one_recovery_fault((cts_vfs_op)op, n, NULL);
}

/* ---- short writes, poisoning, allocation failures ---- */

static void test_short_writes(void **state)
{
    (void)state;
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wals"), 0);
    char dir[600];
    scratch_join(dir, sizeof dir, d.path, "wal");
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(&fast_base, &f), 0);
    cts_vfs_fault_short_writes(f, 7);
    uint64_t acked = workload(cts_vfs_fault_vfs(f), f, dir, CTS_FSYNC_ALWAYS, RECORDS, NULL);
    assert_int_equal(acked, RECORDS);
    assert_true(cts_vfs_fault_calls(f, CTS_VFS_OP_PWRITE) > 200);
    assert_int_equal(cts_vfs_fault_power_loss(f, 0), 0);
    cts_vfs_fault_reset(f);
    assert_int_equal(verify(cts_vfs_fault_vfs(f), dir, acked), RECORDS);
    cts_vfs_fault_destroy(f);
    scratch_remove(&d);
}

static void test_failed_fdatasync_poisons(void **state)
{
    (void)state;
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "walp"), 0);
    char dir[600];
    scratch_join(dir, sizeof dir, d.path, "wal");
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(&fast_base, &f), 0);
    cts_wal_opts o = opts(cts_vfs_fault_vfs(f), CTS_FSYNC_ALWAYS);
    o.segment_bytes = 0;
    cts_wal *wal;
    assert_int_equal(cts_wal_open(dir, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
    uint64_t seq;
    uint8_t buf[256];
    assert_int_equal(cts_wal_append(wal, buf, payload_for(1, buf), &seq), 0);
    assert_int_equal(cts_wal_wait_durable(wal, seq), 0);
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_FDATASYNC, 1, EIO, CTS_FAULT_ONCE), 0);
    assert_int_equal(cts_wal_append(wal, "two", 3, &seq), 0);
    assert_int_equal(cts_wal_wait_durable(wal, seq), CTS_EIO);
    const char *msg = cts_wal_errmsg(wal);
    if (!strstr(msg, "fdatasync") || !strstr(msg, "wal-0000000000000001.log") ||
        !strstr(msg, strerror(EIO)))
        fail_msg("errmsg: %s", msg);
    /* The fault was transient, but the fsync is never retried. */
    expect_poisoned(wal, f);
    assert_int_equal(cts_wal_wait_durable(wal, seq), CTS_EPOISONED);
    assert_int_equal(cts_wal_rotate(wal), CTS_EPOISONED);
    /* Record 1 stays durable, whatever happened after it. */
    assert_int_equal(cts_wal_wait_durable(wal, 1), 0);
    uint64_t syncs = cts_vfs_fault_calls(f, CTS_VFS_OP_FDATASYNC);
    assert_int_equal(cts_wal_close(wal), CTS_EPOISONED);
    assert_int_equal(cts_vfs_fault_calls(f, CTS_VFS_OP_FDATASYNC), syncs);
    assert_int_equal(cts_vfs_fault_power_loss(f, 0), 0);
    cts_vfs_fault_reset(f);
    assert_int_equal(verify(cts_vfs_fault_vfs(f), dir, 1), 1);
    cts_vfs_fault_destroy(f);
    scratch_remove(&d);
}

/* ---- concurrent writers when an fdatasync fails ---- */

#define WRITERS 4

typedef struct cwriter {
    cts_wal *wal;
    uint32_t id;
    uint64_t acked; /* highest seq this thread saw acknowledged */
    int err;
} cwriter;

static void *cwriter_main(void *arg)
{
    cwriter *w = arg;
    for (uint32_t i = 0; i < 200; i++) {
        uint64_t tag = (uint64_t)w->id << 32 | i, seq;
        w->err = cts_wal_append(w->wal, &tag, sizeof tag, &seq);
        if (!w->err)
            w->err = cts_wal_wait_durable(w->wal, seq);
        if (w->err)
            return NULL;
        w->acked = seq;
    }
    return NULL;
}

typedef struct ctally {
    uint64_t next, count;
    int64_t last[WRITERS];
    int bad;
} ctally;

static int ctally_cb(void *ctx, uint64_t seq, const void *payload, size_t len)
{
    ctally *t = ctx;
    uint64_t tag;
    if (seq != t->next || len != sizeof tag) {
        t->bad = 1;
        return 0;
    }
    memcpy(&tag, payload, sizeof tag);
    uint32_t id = (uint32_t)(tag >> 32);
    if (id >= WRITERS || (int64_t)(uint32_t)tag != t->last[id] + 1)
        t->bad = 1;
    else
        t->last[id]++;
    t->next++;
    t->count++;
    return 0;
}

static void test_concurrent_writers_failed_sync(void **state)
{
    (void)state;
    for (uint64_t nth = 5; nth <= 65; nth += 20) {
        scratch_dir d;
        assert_int_equal(scratch_make(&d, "walc"), 0);
        char dir[600];
        scratch_join(dir, sizeof dir, d.path, "wal");
        cts_vfs_fault *f;
        assert_int_equal(cts_vfs_fault_create(&fast_base, &f), 0);
        cts_wal_opts o = opts(cts_vfs_fault_vfs(f), CTS_FSYNC_ALWAYS);
        o.interval_ms = 600000; /* the failing sync is a writer's, not the background's */
        cts_wal *wal;
        assert_int_equal(cts_wal_open(dir, &o, &wal), 0);
        assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
        assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_FDATASYNC, nth, EIO, CTS_FAULT_ONCE), 0);
        pthread_t th[WRITERS];
        cwriter w[WRITERS];
        for (uint32_t i = 0; i < WRITERS; i++) {
            w[i] = (cwriter){.wal = wal, .id = i};
            assert_int_equal(pthread_create(&th[i], NULL, cwriter_main, &w[i]), 0);
        }
        uint64_t acked = 0;
        int eio = 0;
        for (int i = 0; i < WRITERS; i++) {
            pthread_join(th[i], NULL);
            /* Exactly one thread saw the EIO; the others, poisoning. */
            assert_true(w[i].err == CTS_EIO || w[i].err == CTS_EPOISONED);
            eio += w[i].err == CTS_EIO;
            acked = w[i].acked > acked ? w[i].acked : acked;
        }
        assert_int_equal(eio, 1);
        assert_int_equal(cts_vfs_fault_power_loss(f, nth), 0);
        (void)cts_wal_close(wal);
        cts_vfs_fault_reset(f);
        ctally t = {.next = 1, .last = {-1, -1, -1, -1}};
        assert_int_equal(cts_wal_open(dir, &o, &wal), 0);
        assert_int_equal(cts_wal_replay(wal, ctally_cb, &t, NULL), 0);
        assert_false(t.bad);
        assert_true(t.count >= acked);
        assert_int_equal(cts_wal_close(wal), 0);
        cts_vfs_fault_destroy(f);
        scratch_remove(&d);
    }
}

static void test_allocation_failures(void **state)
{
    (void)state;
    uint64_t n;
    for (n = 0;; n++) {
        scratch_dir d;
        assert_int_equal(scratch_make(&d, "wala"), 0);
        char dir[600];
        scratch_join(dir, sizeof dir, d.path, "wal");
        cts_alloc_fail_after((long)n);
        uint64_t acked = workload(&fast_base, NULL, dir, CTS_FSYNC_ALWAYS, 12, NULL);
        long failures = cts_alloc_failures();
        cts_alloc_fail_after(-1);
        verify(&fast_base, dir, acked);
        scratch_remove(&d);
        if (failures == 0)
            break;
    }
    print_message("allocation failure injected at each of %llu allocations\n",
                  (unsigned long long)n);
    assert_true(n > 5);
}

int main(void)
{
    fast_base = *cts_vfs_posix();
    fast_base.fsync = nop_sync;
    fast_base.fdatasync = nop_sync;
    fast_base.fsync_dir = nop_sync_dir;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_writes),
        cmocka_unit_test(test_failed_fdatasync_poisons),
        cmocka_unit_test(test_every_fault_always),
        cmocka_unit_test(test_every_fault_never_with_sync),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_every_fault_in_recovery),
        cmocka_unit_test(test_concurrent_writers_failed_sync),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
