/*
 * Concurrency: several writer threads (each with its own series) write
 * with fsync=always while reader threads open cursors continuously and a
 * maintenance thread flushes, deletes and lists the catalog. Checks:
 *   - every snapshot a reader takes of a column is sorted and unique, and
 *     holds whole batches only: the batches of its writer from the first
 *     one up to some point, each with all its points and their exact
 *     values, and at least every batch acknowledged before the cursor was
 *     opened (a write is visible once acknowledged);
 *   - when everything stops, after a reopen, every acknowledged batch is
 *     there, and cts_db_verify passes;
 *   - group commit happens: through a fault VFS with nothing scheduled,
 *     the test counts fdatasync calls and expects fewer than writes.
 * A second test runs the same on the default VFS and I/O backend
 * (io_uring where the kernel allows it).
 *
 * Run it under ASan (the Asan build) and, by hand, under TSan (see
 * docs/reliability.md). CTS_CONC_BATCHES sets the batches per writer
 * (default 200).
 */
#include "cts_test.h"
#include "cts_engine.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define WRITERS 3
#define READERS 3
#define SERIES 2 /* per writer */
#define PTS 8    /* points per series per batch */

typedef struct shared {
    cts_db *db;
    int batches;
    atomic_int acked[WRITERS]; /* batches acknowledged, per writer */
    atomic_int writers_left;
    atomic_ulong snapshots, points_read, stats_chunks, flushes, deletes, listings;
    char failure[512];
    atomic_int failed;
    bool expect_io_failure;     /* a fault is scheduled: writers stop at their first error */
    atomic_int write_errors[2]; /* CTS_EIO, CTS_EPOISONED seen */
} shared;

typedef struct worker {
    shared *sh;
    int id;
    cts_rng rng;
} worker;

static void report(shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(shared *sh, const char *fmt, ...)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&sh->failed, &expected, 1))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sh->failure, sizeof sh->failure, fmt, ap);
    va_end(ap);
}

/* value of point k of series j in batch b of writer w: exact in a double */
static double value_of(int w, int j, int b, int k)
{
    return (double)w * 1e9 + (double)j * 1e8 + (double)b * 100 + k;
}

static void *writer_main(void *arg)
{
    worker *wk = arg;
    shared *sh = wk->sh;
    char wv[16], sv[SERIES][16];
    snprintf(wv, sizeof wv, "w%d", wk->id);
    cts_tag tags[SERIES][2];
    cts_field f[SERIES * PTS];
    cts_point p[SERIES * PTS];
    for (int j = 0; j < SERIES; j++) {
        snprintf(sv[j], sizeof sv[j], "s%d", j);
        tags[j][0] = (cts_tag){{"s", 1}, {sv[j], (uint32_t)strlen(sv[j])}};
        tags[j][1] = (cts_tag){{"w", 1}, {wv, (uint32_t)strlen(wv)}};
    }
    for (int b = 0; b < sh->batches && !atomic_load(&sh->failed); b++) {
        for (int j = 0; j < SERIES; j++) {
            for (int k = 0; k < PTS; k++) {
                cts_field *fv = &f[j * PTS + k];
                *fv = (cts_field){
                    .key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = value_of(wk->id, j, b, k)};
                p[j * PTS + k] = (cts_point){.measurement = {"m", 1},
                                             .tags = tags[j],
                                             .ntags = 2,
                                             .fields = fv,
                                             .nfields = 1,
                                             .ts_ns = (int64_t)b * PTS + k};
            }
        }
        cts_write_result res;
        int rc = cts_db_write(sh->db, p, SERIES * PTS, &res);
        if (rc && sh->expect_io_failure && (rc == CTS_EIO || rc == CTS_EPOISONED)) {
            atomic_fetch_add(&sh->write_errors[rc == CTS_EPOISONED], 1);
            break;
        }
        if (rc) {
            report(sh, "writer %d batch %d: %s: %s", wk->id, b, cts_errname(rc),
                   cts_db_errmsg(sh->db));
            break;
        }
        atomic_store(&sh->acked[wk->id], b + 1);
    }
    atomic_fetch_sub(&sh->writers_left, 1);
    return NULL;
}

static uint32_t find_series(cts_db *db, int w, int j)
{
    char wv[16], sv[16];
    snprintf(wv, sizeof wv, "w%d", w);
    snprintf(sv, sizeof sv, "s%d", j);
    cts_idlist *a, *b;
    uint32_t id = UINT32_MAX;
    if (cts_db_series_ids(db, "m", "w", wv, &a))
        return id;
    if (cts_db_series_ids(db, "m", "s", sv, &b) == 0) {
        for (size_t x = 0; x < a->count; x++)
            for (size_t y = 0; y < b->count; y++)
                if (a->ids[x] == b->ids[y])
                    id = a->ids[x];
        cts_free(b);
    }
    cts_free(a);
    return id;
}

static uint32_t find_field(cts_db *db)
{
    cts_fieldlist *fl;
    uint32_t id = UINT32_MAX;
    if (cts_db_field_keys(db, "m", &fl))
        return id;
    if (fl->count)
        id = fl->items[0].field_id;
    cts_free(fl);
    return id;
}

/* Read column (w, j) whole and check it; `min_batches` were acknowledged
 * before the cursor opened. Returns the batches seen, or -1 on failure. */
static int check_column(shared *sh, cts_db *db, int w, int j, uint32_t sid, uint32_t fid,
                        int min_batches, bool stats)
{
    cts_cursor *cur;
    int rc = cts_cursor_open(db, sid, fid, INT64_MIN, INT64_MAX, stats, &cur);
    if (rc == CTS_ENOTFOUND && min_batches == 0)
        return 0; /* the series is in the catalog, its first batch not applied yet */
    if (rc) {
        report(sh, "w%d s%d: cursor_open: %s", w, j, cts_errname(rc));
        return -1;
    }
    int64_t next_ts = 0; /* the batches must be a gap-free prefix */
    cts_chunk c;
    unsigned long points = 0;
    while ((rc = cts_cursor_next(cur, &c)) == 1) {
        if (!c.ts) {
            atomic_fetch_add(&sh->stats_chunks, 1);
            if ((rc = cts_cursor_load(cur, &c)))
                break;
        }
        for (uint32_t k = 0; k < c.count; k++, next_ts++, points++) {
            int64_t t = c.ts[k];
            if (t != next_ts) {
                report(sh,
                       "w%d s%d: timestamp %lld where %lld was due (unsorted, duplicate "
                       "or a batch in part)",
                       w, j, (long long)t, (long long)next_ts);
                cts_cursor_close(cur);
                return -1;
            }
            double want = value_of(w, j, (int)(t / PTS), (int)(t % PTS));
            if (c.v.f[k] != want) {
                report(sh, "w%d s%d @%lld: value %.17g, want %.17g", w, j, (long long)t, c.v.f[k],
                       want);
                cts_cursor_close(cur);
                return -1;
            }
        }
    }
    if (rc) {
        report(sh, "w%d s%d: cursor: %s: %s", w, j, cts_errname(rc), cts_cursor_errmsg(cur));
        cts_cursor_close(cur);
        return -1;
    }
    cts_cursor_close(cur);
    atomic_fetch_add(&sh->points_read, points);
    if (next_ts % PTS) {
        report(sh, "w%d s%d: %lld points: a batch in part", w, j, (long long)next_ts);
        return -1;
    }
    int seen = (int)(next_ts / PTS);
    if (seen < min_batches) {
        report(sh, "w%d s%d: %d batches visible, %d were acknowledged before the snapshot", w, j,
               seen, min_batches);
        return -1;
    }
    return seen;
}

static void *reader_main(void *arg)
{
    worker *wk = arg;
    shared *sh = wk->sh;
    uint32_t sids[WRITERS][SERIES], fid = UINT32_MAX;
    memset(sids, 0xff, sizeof sids);
    while (atomic_load(&sh->writers_left) > 0 && !atomic_load(&sh->failed)) {
        int w = (int)cts_rng_below(&wk->rng, WRITERS), j = (int)cts_rng_below(&wk->rng, SERIES);
        int acked = atomic_load(&sh->acked[w]);
        if (fid == UINT32_MAX)
            fid = find_field(sh->db);
        if (sids[w][j] == UINT32_MAX)
            sids[w][j] = find_series(sh->db, w, j);
        if (fid == UINT32_MAX || sids[w][j] == UINT32_MAX) {
            if (acked > 0)
                report(sh, "w%d s%d: not in the catalog after an acknowledged batch", w, j);
            continue;
        }
        if (check_column(sh, sh->db, w, j, sids[w][j], fid, acked, cts_rng_below(&wk->rng, 2)) < 0)
            break;
        atomic_fetch_add(&sh->snapshots, 1);
        usleep(100); /* leave the writers some CPU: 2-core machines */
    }
    return NULL;
}

/* Flushes, deletes on another measurement, listings and statistics. */
static void *maint_main(void *arg)
{
    worker *wk = arg;
    shared *sh = wk->sh;
    cts_tag tag = {{"k", 1}, {"x", 1}};
    int64_t ts = 0;
    while (atomic_load(&sh->writers_left) > 0 && !atomic_load(&sh->failed)) {
        cts_field f[32];
        cts_point p[32];
        for (int k = 0; k < 32; k++, ts++) {
            f[k] = (cts_field){.key = {"n", 1}, .type = CTS_TYPE_INT, .v.i = ts};
            p[k] = (cts_point){.measurement = {"d", 1},
                               .tags = &tag,
                               .ntags = 1,
                               .fields = &f[k],
                               .nfields = 1,
                               .ts_ns = ts};
        }
        int rc = cts_db_write(sh->db, p, 32, NULL);
        int64_t del = rc ? rc : cts_db_delete(sh->db, "d", NULL, 0, ts - 40, ts - 20);
        rc = del < 0 ? (int)del : cts_rng_below(&wk->rng, 3) ? 0 : cts_db_flush(sh->db);
        if (rc) {
            report(sh, "maintenance: %s: %s", cts_errname(rc), cts_db_errmsg(sh->db));
            break;
        }
        cts_strlist *l;
        if ((rc = cts_db_measurements(sh->db, &l)) == 0) {
            /* "d" was just written; "m" may not be yet */
            bool has_d = false;
            for (size_t i = 0; i < l->count; i++)
                has_d |= strcmp(l->items[i].ptr, "d") == 0;
            cts_free(l);
            if (!has_d) {
                report(sh, "maintenance: measurement d missing from the listing");
                break;
            }
        }
        cts_db_stats st;
        cts_db_get_stats(sh->db, &st);
        atomic_fetch_add(&sh->deletes, 1);
        atomic_fetch_add(&sh->listings, 1);
        usleep(2000);
    }
    return NULL;
}

/* ---- counting WAL syncs: a VFS over the fault VFS that knows which
 * descriptors are WAL segments ---- */

typedef struct wal_counter {
    cts_vfs vfs;
    const cts_vfs *inner;
    pthread_mutex_t mu;
    int wal_fds[64];
    int nwal;
    uint64_t wal_syncs;
} wal_counter;

#define WC(ctx) ((wal_counter *)(ctx))
#define WI(ctx) (WC(ctx)->inner)

static int wc_open(void *ctx, const char *path, int flags, int mode)
{
    int fd = WI(ctx)->open(WI(ctx)->ctx, path, flags, mode);
    if (fd >= 0 && strstr(path, "/wal/")) {
        pthread_mutex_lock(&WC(ctx)->mu);
        if (WC(ctx)->nwal < 64)
            WC(ctx)->wal_fds[WC(ctx)->nwal++] = fd;
        pthread_mutex_unlock(&WC(ctx)->mu);
    }
    return fd;
}

static int wc_close(void *ctx, int fd)
{
    pthread_mutex_lock(&WC(ctx)->mu);
    for (int i = 0; i < WC(ctx)->nwal; i++)
        if (WC(ctx)->wal_fds[i] == fd)
            WC(ctx)->wal_fds[i] = WC(ctx)->wal_fds[--WC(ctx)->nwal];
    pthread_mutex_unlock(&WC(ctx)->mu);
    return WI(ctx)->close(WI(ctx)->ctx, fd);
}

static int wc_fdatasync(void *ctx, int fd)
{
    pthread_mutex_lock(&WC(ctx)->mu);
    for (int i = 0; i < WC(ctx)->nwal; i++)
        if (WC(ctx)->wal_fds[i] == fd)
            WC(ctx)->wal_syncs++;
    pthread_mutex_unlock(&WC(ctx)->mu);
    return WI(ctx)->fdatasync(WI(ctx)->ctx, fd);
}

#define FWD(name, ret, params, args)                                                               \
    static ret wc_##name params                                                                    \
    {                                                                                              \
        return WI(ctx)->name args;                                                                 \
    }
FWD(pread, int64_t, (void *ctx, int fd, void *b, size_t n, uint64_t o), (WI(ctx)->ctx, fd, b, n, o))
FWD(pwrite, int64_t, (void *ctx, int fd, const void *b, size_t n, uint64_t o),
    (WI(ctx)->ctx, fd, b, n, o))
FWD(fsync, int, (void *ctx, int fd), (WI(ctx)->ctx, fd))
FWD(ftruncate, int, (void *ctx, int fd, uint64_t n), (WI(ctx)->ctx, fd, n))
FWD(fsize, int, (void *ctx, int fd, uint64_t *n), (WI(ctx)->ctx, fd, n))
FWD(rename, int, (void *ctx, const char *a, const char *b), (WI(ctx)->ctx, a, b))
FWD(unlink, int, (void *ctx, const char *p), (WI(ctx)->ctx, p))
FWD(mkdir, int, (void *ctx, const char *p, int m), (WI(ctx)->ctx, p, m))
FWD(rmdir, int, (void *ctx, const char *p), (WI(ctx)->ctx, p))
FWD(fsync_dir, int, (void *ctx, const char *p), (WI(ctx)->ctx, p))
FWD(list_dir, int, (void *ctx, const char *p, int (*fn)(void *, const char *), void *a),
    (WI(ctx)->ctx, p, fn, a))

static void wal_counter_init(wal_counter *c, const cts_vfs *inner)
{
    memset(c, 0, sizeof *c);
    c->inner = inner;
    pthread_mutex_init(&c->mu, NULL);
    c->vfs = (cts_vfs){.ctx = c,
                       .open = wc_open,
                       .close = wc_close,
                       .pread = wc_pread,
                       .pwrite = wc_pwrite,
                       .fsync = wc_fsync,
                       .fdatasync = wc_fdatasync,
                       .ftruncate = wc_ftruncate,
                       .fsize = wc_fsize,
                       .rename = wc_rename,
                       .unlink = wc_unlink,
                       .mkdir = wc_mkdir,
                       .rmdir = wc_rmdir,
                       .fsync_dir = wc_fsync_dir,
                       .list_dir = wc_list_dir};
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void run(const cts_vfs *vfs, cts_vfs_fault *counter, wal_counter *wc, const char *label)
{
    char dir[256];
    const char *base = getenv("CTS_TEST_TMPDIR"), *env = getenv("CTS_CONC_BATCHES");
    snprintf(dir, sizeof dir, "%s/dbconc-XXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.vfs = vfs;
    o.fsync = CTS_DB_FSYNC_ALWAYS;
    o.block_points = 32;
    o.partition_ns = 400;
    o.wal_checkpoint_bytes = 32 << 10;
    o.memory_budget_bytes = 64 << 10;
    shared *sh = calloc(1, sizeof *sh);
    sh->batches = env && atoi(env) > 0 ? atoi(env) : 200;
    int rc = cts_db_open(dir, &o, &sh->db);
    if (rc)
        fail_msg("open: %s", cts_db_open_error());
    atomic_store(&sh->writers_left, WRITERS);
    uint64_t syncs0 = counter ? cts_vfs_fault_calls(counter, CTS_VFS_OP_FDATASYNC) : 0;
    uint64_t wal0 = wc ? wc->wal_syncs : 0;
    pthread_t th[WRITERS + READERS + 1];
    worker wk[WRITERS + READERS + 1];
    for (int i = 0; i < WRITERS + READERS + 1; i++) {
        wk[i] = (worker){.sh = sh, .id = i < WRITERS ? i : i - WRITERS, .rng = {77 + (uint64_t)i}};
        void *(*fn)(void *) = i < WRITERS             ? writer_main
                              : i < WRITERS + READERS ? reader_main
                                                      : maint_main;
        assert_int_equal(pthread_create(&th[i], NULL, fn, &wk[i]), 0);
    }
    for (int i = 0; i < WRITERS + READERS + 1; i++)
        pthread_join(th[i], NULL);
    uint64_t syncs = counter ? cts_vfs_fault_calls(counter, CTS_VFS_OP_FDATASYNC) - syncs0 : 0;
    uint64_t wal_syncs = wc ? wc->wal_syncs - wal0 : 0;
    if (atomic_load(&sh->failed))
        fail_msg("%s: %s", label, sh->failure);
    assert_int_equal(cts_db_close(sh->db), 0);

    /* after a reopen: every acknowledged batch */
    rc = cts_db_open(dir, &o, &sh->db);
    if (rc)
        fail_msg("reopen: %s", cts_db_open_error());
    uint32_t fid = find_field(sh->db);
    for (int w = 0; w < WRITERS; w++) {
        for (int j = 0; j < SERIES; j++) {
            uint32_t sid = find_series(sh->db, w, j);
            assert_true(sid != UINT32_MAX);
            int seen = check_column(sh, sh->db, w, j, sid, fid, sh->batches, false);
            if (seen != sh->batches)
                fail_msg("%s: w%d s%d: %d batches after reopen, %d acknowledged: %s", label, w, j,
                         seen, sh->batches, sh->failure);
        }
    }
    cts_verify_report rep;
    if (cts_db_verify(sh->db, &rep))
        fail_msg("verify: %s", rep.first_error);
    const char *backend = cts_db_io_backend(sh->db);
    assert_int_equal(cts_db_close(sh->db), 0);
    assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);

    /* every writer batch, maintenance write and delete is one WAL record
     * that must be synced before its call returns */
    uint64_t batches = (uint64_t)WRITERS * (uint64_t)sh->batches,
             records = batches + 2 * atomic_load(&sh->deletes);
    print_message("%s (%s): %d writers x %d batches, %d readers: %lu snapshots checked "
                  "(%lu points, %lu stats-only chunks), %lu maintenance rounds\n",
                  label, backend, WRITERS, sh->batches, READERS, atomic_load(&sh->snapshots),
                  atomic_load(&sh->points_read), atomic_load(&sh->stats_chunks),
                  atomic_load(&sh->deletes));
    if (counter)
        print_message(
            "  group commit: %llu WAL fdatasyncs for %llu synced WAL records (%llu writer "
            "batches): %.2f per record; %llu fdatasyncs in all\n",
            (unsigned long long)wal_syncs, (unsigned long long)records, (unsigned long long)batches,
            (double)wal_syncs / (double)records, (unsigned long long)syncs);
    if (counter && wal_syncs >= records)
        fail_msg("no group commit: %llu WAL fdatasyncs for %llu records",
                 (unsigned long long)wal_syncs, (unsigned long long)records);
    if (atomic_load(&sh->snapshots) == 0)
        fail_msg("the readers checked no snapshot");
    free(sh);
}

/* Writers sharing group commits when a WAL fdatasync fails: one writer
 * gets CTS_EIO, the others CTS_EPOISONED, nobody hangs, and after a power
 * loss every batch acknowledged before the failure is there whole. Run it
 * under TSan too: the failing path poisons the handle from several
 * threads at once. */
static void writers_when_fdatasync_fails(void **state)
{
    (void)state;
    for (int round = 0; round < 4; round++) {
        cts_vfs_fault *f;
        assert_int_equal(cts_vfs_fault_create(cts_vfs_posix(), &f), 0);
        char dir[256];
        const char *base = getenv("CTS_TEST_TMPDIR");
        snprintf(dir, sizeof dir, "%s/dbconcfail-XXXXXX", base ? base : "/tmp");
        assert_non_null(mkdtemp(dir));
        cts_db_opts o;
        cts_db_opts_init(&o);
        o.vfs = cts_vfs_fault_vfs(f);
        o.fsync = CTS_DB_FSYNC_ALWAYS;
        o.fsync_interval_ms = 600000; /* no background sync: the writers hit the fault */
        o.block_points = 32;
        shared *sh = calloc(1, sizeof *sh);
        sh->batches = 1000;
        sh->expect_io_failure = true;
        assert_int_equal(cts_db_open(dir, &o, &sh->db), 0);
        assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_FDATASYNC, 5 + 7 * (uint64_t)round, EIO,
                                            CTS_FAULT_ONCE),
                         0);
        atomic_store(&sh->writers_left, WRITERS);
        pthread_t th[WRITERS];
        worker wk[WRITERS];
        for (int i = 0; i < WRITERS; i++) {
            wk[i] = (worker){.sh = sh, .id = i};
            assert_int_equal(pthread_create(&th[i], NULL, writer_main, &wk[i]), 0);
        }
        for (int i = 0; i < WRITERS; i++)
            pthread_join(th[i], NULL);
        if (atomic_load(&sh->failed))
            fail_msg("%s", sh->failure);
        assert_int_equal(atomic_load(&sh->write_errors[0]), 1); /* the one whose sync failed */
        assert_int_equal(atomic_load(&sh->write_errors[1]), WRITERS - 1);
        assert_true(strstr(cts_db_errmsg(sh->db), "fdatasync") != NULL);
        (void)cts_db_close(sh->db);
        assert_int_equal(cts_vfs_fault_power_loss(f, 0), 0);
        cts_vfs_fault_reset(f);
        assert_int_equal(cts_db_open(dir, &o, &sh->db), 0);
        uint32_t fid = find_field(sh->db);
        for (int w = 0; w < WRITERS; w++) {
            for (int j = 0; j < SERIES; j++) {
                int acked = atomic_load(&sh->acked[w]);
                uint32_t sid = find_series(sh->db, w, j);
                if (sid == UINT32_MAX || fid == UINT32_MAX) {
                    assert_int_equal(acked, 0);
                    continue;
                }
                int seen = check_column(sh, sh->db, w, j, sid, fid, acked, false);
                if (seen < 0)
                    fail_msg("%s", sh->failure);
                assert_true(seen <= acked + 1); /* at most the batch that failed */
            }
        }
        assert_int_equal(cts_db_close(sh->db), 0);
        cts_vfs_fault_destroy(f);
        assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        free(sh);
    }
}

static void writers_readers_counted(void **state)
{
    (void)state;
    cts_vfs_fault *f;
    wal_counter wc;
    assert_int_equal(cts_vfs_fault_create(cts_vfs_posix(), &f), 0);
    wal_counter_init(&wc, cts_vfs_fault_vfs(f));
    run(&wc.vfs, f, &wc, "fault VFS, counting");
    cts_vfs_fault_destroy(f);
    pthread_mutex_destroy(&wc.mu);
}

static void writers_readers_default_io(void **state)
{
    (void)state;
    run(NULL, NULL, NULL, "default VFS");
}

/* The listings used to read their outputs before the call that fills them
 * (argument evaluation order): every measurement and tag-key listing came
 * out empty, and the catalog's array leaked. */
static void catalog_listings(void **state)
{
    (void)state;
    char dir[256];
    const char *base = getenv("CTS_TEST_TMPDIR");
    snprintf(dir, sizeof dir, "%s/dblist-XXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    cts_db *db;
    assert_int_equal(cts_db_open(dir, NULL, &db), 0);
    cts_tag tags[2] = {{{"city", 4}, {"lisbon", 6}}, {{"sensor", 6}, {"a1", 2}}};
    cts_field f = {.key = {"pm25", 4}, .type = CTS_TYPE_FLOAT, .v.f = 12.5};
    cts_point p[2] = {
        {.measurement = {"air", 3}, .tags = tags, .ntags = 2, .fields = &f, .nfields = 1},
        {.measurement = {"energy", 6}, .tags = tags, .ntags = 1, .fields = &f, .nfields = 1}};
    assert_int_equal(cts_db_write(db, p, 2, NULL), 0);
    cts_strlist *l;
    assert_int_equal(cts_db_measurements(db, &l), 0);
    assert_int_equal(l->count, 2);
    assert_string_equal(l->items[0].ptr, "air");
    assert_string_equal(l->items[1].ptr, "energy");
    cts_free(l);
    assert_int_equal(cts_db_tag_keys(db, "air", &l), 0);
    assert_int_equal(l->count, 2);
    assert_string_equal(l->items[0].ptr, "city");
    assert_string_equal(l->items[1].ptr, "sensor");
    cts_free(l);
    assert_int_equal(cts_db_tag_values(db, "air", "city", &l), 0);
    assert_int_equal(l->count, 1);
    assert_string_equal(l->items[0].ptr, "lisbon");
    cts_free(l);
    assert_int_equal(cts_db_close(db), 0);
    assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(catalog_listings),
        cmocka_unit_test(writers_when_fdatasync_fails),
        cmocka_unit_test(writers_readers_counted),
        cmocka_unit_test(writers_readers_default_io),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
