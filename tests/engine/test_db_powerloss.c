/*
 * Power loss: with fsync=always, random workloads (writes with overwrites,
 * flushes, deletes, retention, close and reopen) run on one database over
 * hundreds of cycles. In each cycle a power loss is armed to strike just
 * before a chosen call into the VFS (any call that changes a file or a
 * name), often in the middle of a flush, a delete, retention or an open.
 * The fault VFS then drops what was not made durable: every unsynced byte
 * (seed 0) or a pseudo-random prefix of each unsynced tail (a torn write),
 * and every create, mkdir or rename whose directory was not fsynced. The
 * machine is then powered on (cts_vfs_fault_reset) and the database
 * reopened, and the test checks that:
 *   - opening succeeds and cts_db_verify passes;
 *   - every acknowledged operation is there: each point equals a naive
 *     model of the acknowledged writes and deletes;
 *   - the operation in flight at the crash is there whole or not at all
 *     (retention: each partition whole or dropped).
 * The first cycle creates the database directory itself and loses power
 * right after one acknowledged write, so a database directory whose own
 * creation was never made durable is caught.
 *
 * CTS_POWERLOSS_CYCLES sets the number of cycles (default 500);
 * CTS_POWERLOSS_SEED the workload seed; CTS_FAULT_TMPDIR where the
 * database goes (default /dev/shm: the fault VFS simulates the disk).
 */
#include "cts_test.h"
#include "cts_engine.h"

#include <ftw.h>
#include <pthread.h>
#include <unistd.h>

#define NS 4      /* series s0..s3 */
#define TS 400    /* timestamps 0..TS-1 */
#define WIDTH 100 /* partition width, ns */

/* ---- a VFS that loses power before its Nth mutating call ---- */

typedef struct crash_vfs {
    cts_vfs vfs; /* the table the engine uses */
    const cts_vfs *inner;
    cts_vfs_fault *f;
    pthread_mutex_t mu;
    uint64_t calls, at, seed; /* at: lose power before call number `at`; 0: disarmed */
    bool crashed;
} crash_vfs;

#define CV(ctx) ((crash_vfs *)(ctx))
#define INNER(ctx) (CV(ctx)->inner)

static void gate(void *ctx)
{
    crash_vfs *c = CV(ctx);
    pthread_mutex_lock(&c->mu);
    if (c->at && ++c->calls >= c->at) {
        c->at = 0;
        c->crashed = true;
        if (cts_vfs_fault_power_loss(c->f, c->seed) != 0)
            abort();
    }
    pthread_mutex_unlock(&c->mu);
}

static int c_open(void *ctx, const char *path, int flags, int mode)
{
    gate(ctx);
    return INNER(ctx)->open(INNER(ctx)->ctx, path, flags, mode);
}

static int c_close(void *ctx, int fd)
{
    return INNER(ctx)->close(INNER(ctx)->ctx, fd);
}

static int64_t c_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off)
{
    return INNER(ctx)->pread(INNER(ctx)->ctx, fd, buf, len, off);
}

static int64_t c_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    gate(ctx);
    return INNER(ctx)->pwrite(INNER(ctx)->ctx, fd, buf, len, off);
}

static int c_fsync(void *ctx, int fd)
{
    gate(ctx);
    return INNER(ctx)->fsync(INNER(ctx)->ctx, fd);
}

static int c_fdatasync(void *ctx, int fd)
{
    gate(ctx);
    return INNER(ctx)->fdatasync(INNER(ctx)->ctx, fd);
}

static int c_ftruncate(void *ctx, int fd, uint64_t len)
{
    gate(ctx);
    return INNER(ctx)->ftruncate(INNER(ctx)->ctx, fd, len);
}

static int c_fsize(void *ctx, int fd, uint64_t *len)
{
    return INNER(ctx)->fsize(INNER(ctx)->ctx, fd, len);
}

static int c_rename(void *ctx, const char *from, const char *to)
{
    gate(ctx);
    return INNER(ctx)->rename(INNER(ctx)->ctx, from, to);
}

static int c_unlink(void *ctx, const char *path)
{
    gate(ctx);
    return INNER(ctx)->unlink(INNER(ctx)->ctx, path);
}

static int c_mkdir(void *ctx, const char *path, int mode)
{
    gate(ctx);
    return INNER(ctx)->mkdir(INNER(ctx)->ctx, path, mode);
}

static int c_rmdir(void *ctx, const char *path)
{
    gate(ctx);
    return INNER(ctx)->rmdir(INNER(ctx)->ctx, path);
}

static int c_fsync_dir(void *ctx, const char *path)
{
    gate(ctx);
    return INNER(ctx)->fsync_dir(INNER(ctx)->ctx, path);
}

static int c_list_dir(void *ctx, const char *path, int (*fn)(void *, const char *), void *arg)
{
    return INNER(ctx)->list_dir(INNER(ctx)->ctx, path, fn, arg);
}

/* Arm: lose power (with `seed`) before the `n`th mutating call from now. */
static void arm(crash_vfs *c, uint64_t n, uint64_t seed)
{
    pthread_mutex_lock(&c->mu);
    c->calls = 0;
    c->at = n;
    c->seed = seed;
    pthread_mutex_unlock(&c->mu);
}

static bool crashed(crash_vfs *c)
{
    pthread_mutex_lock(&c->mu);
    bool r = c->crashed;
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* A base VFS without real syncs: the fault VFS models durability. */
static int skip_fsync(void *ctx, int fd)
{
    (void)ctx;
    (void)fd;
    return 0;
}

static int skip_fsync_dir(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return 0;
}

static void crash_vfs_init(crash_vfs *c)
{
    static cts_vfs base;
    base = *cts_vfs_posix();
    base.fsync = skip_fsync;
    base.fdatasync = skip_fsync;
    base.fsync_dir = skip_fsync_dir;
    memset(c, 0, sizeof *c);
    assert_int_equal(cts_vfs_fault_create(&base, &c->f), 0);
    c->inner = cts_vfs_fault_vfs(c->f);
    pthread_mutex_init(&c->mu, NULL);
    c->vfs = (cts_vfs){.ctx = c,
                       .open = c_open,
                       .close = c_close,
                       .pread = c_pread,
                       .pwrite = c_pwrite,
                       .fsync = c_fsync,
                       .fdatasync = c_fdatasync,
                       .ftruncate = c_ftruncate,
                       .fsize = c_fsize,
                       .rename = c_rename,
                       .unlink = c_unlink,
                       .mkdir = c_mkdir,
                       .rmdir = c_rmdir,
                       .fsync_dir = c_fsync_dir,
                       .list_dir = c_list_dir};
}

/* ---- the model ---- */

typedef struct cell {
    bool present;
    double v;
} cell;

enum { OP_WRITE, OP_FLUSH, OP_DELETE, OP_RETENTION, OP_REOPEN, OP_KINDS };
static const char *op_names[OP_KINDS] = {"write", "flush", "delete", "retention", "reopen"};

typedef struct env {
    char root[256], dir[300];
    crash_vfs cv;
    cts_db_opts o;
    cts_db *db;
    cts_rng rng;
    int batch;
    cell m0[NS][TS], m1[NS][TS]; /* acknowledged; acknowledged + the op in flight */
    int in_flight;               /* op kind in flight at the crash, or -1 */
    /* figures */
    uint64_t ops[OP_KINDS], crashes[OP_KINDS], recovery_crashes, torn, whole, absent, blocks_max;
} env;

static bool cell_eq(cell a, cell b)
{
    return a.present == b.present && (!a.present || a.v == b.v);
}

static uint32_t series_id(cts_db *db, int s)
{
    char v[16];
    snprintf(v, sizeof v, "s%d", s);
    cts_idlist *ids;
    assert_int_equal(cts_db_series_ids(db, "m", "id", v, &ids), 0);
    uint32_t id = ids->count ? ids->ids[0] : UINT32_MAX;
    cts_free(ids);
    return id;
}

static void observe(env *e, cell obs[NS][TS])
{
    memset(obs, 0, sizeof(cell) * NS * TS);
    cts_fieldlist *fl;
    assert_int_equal(cts_db_field_keys(e->db, "m", &fl), 0);
    uint32_t fid = fl->count ? fl->items[0].field_id : UINT32_MAX;
    cts_free(fl);
    for (int s = 0; s < NS && fid != UINT32_MAX; s++) {
        uint32_t sid = series_id(e->db, s);
        cts_cursor *cur;
        bool stats = cts_rng_below(&e->rng, 2);
        if (sid == UINT32_MAX ||
            cts_cursor_open(e->db, sid, fid, INT64_MIN, INT64_MAX, stats, &cur) == CTS_ENOTFOUND)
            continue;
        cts_chunk c;
        int rc;
        int64_t prev = -1;
        while ((rc = cts_cursor_next(cur, &c)) == 1) {
            if (!c.ts)
                assert_int_equal(cts_cursor_load(cur, &c), 0);
            for (uint32_t k = 0; k < c.count; k++) {
                int64_t t = c.ts[k];
                if (t < 0 || t >= TS || t <= prev)
                    fail_msg("s%d: timestamp %lld out of range or order", s, (long long)t);
                prev = t;
                obs[s][t] = (cell){true, c.v.f[k]};
            }
        }
        if (rc != 0)
            fail_msg("s%d: cursor: %s: %s", s, cts_errname(rc), cts_cursor_errmsg(cur));
        cts_cursor_close(cur);
    }
}

/* Compare with the model, fold the in-flight op's outcome into m0. */
static void check(env *e, int cycle)
{
    static cell obs[NS][TS];
    int as0[TS / WIDTH] = {0}, as1[TS / WIDTH] = {0};
    const char *what = e->in_flight >= 0 ? op_names[e->in_flight] : "nothing";
    observe(e, obs);
    for (int s = 0; s < NS; s++) {
        for (int t = 0; t < TS; t++) {
            int g = e->in_flight == OP_RETENTION ? t / WIDTH : 0;
            bool e0 = cell_eq(obs[s][t], e->m0[s][t]), e1 = cell_eq(obs[s][t], e->m1[s][t]);
            if (e0 && e1)
                continue;
            if (cell_eq(e->m0[s][t], e->m1[s][t]) || (!e0 && !e1))
                fail_msg("cycle %d (crash during %s): s%d@%d: want %s%g, have %s%g", cycle, what, s,
                         t, e->m0[s][t].present ? "" : "absent ", e->m0[s][t].v,
                         obs[s][t].present ? "" : "absent ", obs[s][t].v);
            as0[g] += e0;
            as1[g] += e1;
        }
    }
    for (int g = 0; g < TS / WIDTH; g++) {
        if (as0[g] && as1[g])
            fail_msg("cycle %d: the %s in flight at the crash is there in part (%d keys before "
                     "it, %d after)",
                     cycle, what, as0[g], as1[g]);
        e->whole += as1[g] > 0;
        e->absent += as0[g] > 0;
        for (int s = 0; s < NS && as1[g]; s++)
            for (int t = 0; t < TS; t++)
                if ((e->in_flight == OP_RETENTION ? t / WIDTH : 0) == g)
                    e->m0[s][t] = e->m1[s][t];
    }
    memcpy(e->m1, e->m0, sizeof e->m0);
    e->in_flight = -1;
    cts_verify_report rep;
    if (cts_db_verify(e->db, &rep))
        fail_msg("cycle %d: verify: %s", cycle, rep.first_error);
    if (rep.blocks_checked > e->blocks_max)
        e->blocks_max = rep.blocks_checked;
}

/* ---- operations ---- */

static int op_write(env *e)
{
    cts_point pts[24];
    cts_field f[24];
    cts_tag tags[24];
    static const char *names[NS] = {"s0", "s1", "s2", "s3"};
    int n = 1 + (int)cts_rng_below(&e->rng, 24), ss[24], tt[24];
    int base = (int)cts_rng_below(&e->rng, TS);
    for (int j = 0; j < n; j++) {
        ss[j] = (int)cts_rng_below(&e->rng, NS);
        /* mostly a run of neighbours (sensors), sometimes anywhere */
        tt[j] = cts_rng_below(&e->rng, 4) ? (base + j) % TS : (int)cts_rng_below(&e->rng, TS);
        tags[j] = (cts_tag){{"id", 2}, {names[ss[j]], 2}};
        f[j] = (cts_field){.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = e->batch * 100.0 + j};
        pts[j] = (cts_point){.measurement = {"m", 1},
                             .tags = &tags[j],
                             .ntags = 1,
                             .fields = &f[j],
                             .nfields = 1,
                             .ts_ns = tt[j]};
    }
    e->batch++;
    for (int j = 0; j < n; j++)
        e->m1[ss[j]][tt[j]] = (cell){true, f[j].v.f};
    return cts_db_write(e->db, pts, (size_t)n, NULL);
}

static int op_delete(env *e)
{
    int s = (int)cts_rng_below(&e->rng, NS + 1); /* NS: every series */
    int t0 = (int)cts_rng_below(&e->rng, TS), t1 = t0 + 1 + (int)cts_rng_below(&e->rng, 150);
    char v[16];
    snprintf(v, sizeof v, "s%d", s);
    cts_tag_eq w = {"id", v};
    for (int k = 0; k < NS; k++)
        for (int t = t0; t < t1 && t < TS; t++)
            if (s == NS || s == k)
                e->m1[k][t].present = false;
    int64_t rc = cts_db_delete(e->db, "m", s < NS ? &w : NULL, s < NS ? 1 : 0, t0, t1);
    return rc < 0 ? (int)rc : 0;
}

static int op_retention(env *e)
{
    int64_t cutoff = (int64_t)cts_rng_below(&e->rng, TS + WIDTH);
    for (int t = 0; t < TS; t++)
        if ((t / WIDTH + 1) * WIDTH <= cutoff)
            for (int s = 0; s < NS; s++)
                e->m1[s][t].present = false;
    int rc = cts_db_enforce_retention(e->db, cutoff + e->o.retention_ns);
    return rc < 0 ? rc : 0;
}

static int op_reopen(env *e)
{
    int rc = cts_db_close(e->db);
    e->db = NULL;
    return rc ? rc : cts_db_open(e->dir, &e->o, &e->db);
}

/* Typical mutating VFS calls of each op, to place the crash inside it. */
static const uint64_t op_span[OP_KINDS] = {4, 40, 60, 50, 50};
/* Chance in 100 that the crash is armed to strike inside each op kind. */
static const uint64_t op_arm[OP_KINDS] = {6, 40, 40, 40, 30};

static int pick_op(env *e)
{
    uint64_t x = cts_rng_below(&e->rng, 100);
    return x < 72   ? OP_WRITE
           : x < 82 ? OP_FLUSH
           : x < 91 ? OP_DELETE
           : x < 95 ? OP_RETENTION
                    : OP_REOPEN;
}

static int run_op(env *e, int op)
{
    switch (op) {
    case OP_WRITE:
        return op_write(e);
    case OP_FLUSH:
        return cts_db_flush(e->db);
    case OP_DELETE:
        return op_delete(e);
    case OP_RETENTION:
        return op_retention(e);
    default:
        return op_reopen(e);
    }
}

static void open_db(env *e, const char *when)
{
    int rc = cts_db_open(e->dir, &e->o, &e->db);
    if (rc)
        fail_msg("%s: open: %s: %s", when, cts_errname(rc), cts_db_open_error());
}

static uint64_t crash_seed(env *e)
{
    /* a third of the crashes drop every unsynced byte; the rest tear */
    return cts_rng_below(&e->rng, 3) ? cts_rng_next(&e->rng) | 1 : 0;
}

/* Power on, reopen, check. A quarter of the recoveries lose power again
 * inside the recovering open (replay, truncating torn tails, finishing a
 * partition drop) before the one that completes. */
static void recover(env *e, int cycle)
{
    for (;;) {
        if (e->db)
            (void)cts_db_close(e->db); /* the disk is gone: errors expected */
        e->db = NULL;
        cts_vfs_fault_reset(e->cv.f);
        e->cv.crashed = false;
        if (cts_rng_below(&e->rng, 4))
            break;
        arm(&e->cv, 1 + cts_rng_below(&e->rng, 30), crash_seed(e));
        int rc = cts_db_open(e->dir, &e->o, &e->db);
        arm(&e->cv, 0, 0);
        if (!crashed(&e->cv)) {
            if (rc)
                fail_msg("cycle %d: recovery open: %s: %s", cycle, cts_errname(rc),
                         cts_db_open_error());
            check(e, cycle);
            return;
        }
        e->recovery_crashes++;
    }
    char when[64];
    snprintf(when, sizeof when, "cycle %d", cycle);
    open_db(e, when);
    check(e, cycle);
}

/* One cycle: random ops until the armed power loss strikes. */
static void cycle(env *e, int cyc)
{
    bool armed = false;
    for (int guard = 0; guard < 10000; guard++) {
        int op = pick_op(e);
        if (!armed && cts_rng_below(&e->rng, 100) < op_arm[op]) {
            arm(&e->cv, 1 + cts_rng_below(&e->rng, op_span[op]), crash_seed(e));
            armed = true;
        }
        e->ops[op]++;
        int rc = run_op(e, op);
        if (crashed(&e->cv)) {
            if (rc == 0) { /* finished before the loss: acknowledged */
                memcpy(e->m0, e->m1, sizeof e->m0);
                e->in_flight = -1;
            } else {
                e->in_flight = op;
                e->crashes[op]++;
            }
            e->torn += e->cv.seed != 0;
            recover(e, cyc);
            return;
        }
        if (rc)
            fail_msg("cycle %d: %s failed with no crash: %s: %s", cyc, op_names[op],
                     cts_errname(rc), e->db ? cts_db_errmsg(e->db) : cts_db_open_error());
        memcpy(e->m0, e->m1, sizeof e->m0);
        if (armed && op != OP_WRITE)
            arm(&e->cv, 0, 0), armed = false; /* it finished first: arm again later */
    }
    fail_msg("cycle %d: no crash", cyc);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && atol(v) > 0 ? atol(v) : def;
}

/* Where the databases go: the fault VFS simulates the disk (its power
 * loss decides what survives) over a VFS that skips real syncs, so the
 * medium does not matter and RAM is fastest: CTS_FAULT_TMPDIR, else
 * /dev/shm when writable, else CTS_TEST_TMPDIR, else /tmp. */
static const char *sim_tmpdir(void)
{
    const char *d = getenv("CTS_FAULT_TMPDIR");
    if (d)
        return d;
    if (access("/dev/shm", W_OK | X_OK) == 0)
        return "/dev/shm";
    d = getenv("CTS_TEST_TMPDIR");
    return d ? d : "/tmp";
}

static void power_loss_cycles(void **state)
{
    (void)state;
    env *e = calloc(1, sizeof *e);
    snprintf(e->root, sizeof e->root, "%s/powerloss-XXXXXX", sim_tmpdir());
    assert_non_null(mkdtemp(e->root));
    snprintf(e->dir, sizeof e->dir, "%s/db", e->root); /* created by the engine */
    crash_vfs_init(&e->cv);
    cts_db_opts_init(&e->o);
    e->o.vfs = &e->cv.vfs;
    e->o.fsync = CTS_DB_FSYNC_ALWAYS;
    e->o.fsync_interval_ms = 600000; /* keep the WAL's background thread quiet */
    e->o.block_points = 8;
    e->o.partition_ns = WIDTH;
    e->o.retention_ns = 1000;
    e->o.wal_checkpoint_bytes = 2 << 10;
    e->o.memory_budget_bytes = 16 << 10;
    e->rng.s = (uint64_t)env_long("CTS_POWERLOSS_SEED", 20261125);
    e->in_flight = -1;
    int cycles = (int)env_long("CTS_POWERLOSS_CYCLES", 500);

    /* cycle 0: a new database, one acknowledged write, power lost at once */
    open_db(e, "create");
    assert_int_equal(op_write(e), 0);
    memcpy(e->m0, e->m1, sizeof e->m0);
    assert_int_equal(cts_vfs_fault_power_loss(e->cv.f, 0), 0);
    recover(e, 0);

    for (int c = 1; c <= cycles; c++)
        cycle(e, c);

    /* last: a clean close, and a look with the real file system */
    assert_int_equal(cts_db_close(e->db), 0);
    e->o.vfs = NULL;
    open_db(e, "final");
    check(e, cycles + 1);
    assert_int_equal(cts_db_close(e->db), 0);
    cts_vfs_fault_destroy(e->cv.f);
    pthread_mutex_destroy(&e->cv.mu);
    assert_int_equal(nftw(e->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);

    uint64_t total = 0;
    for (int k = 0; k < OP_KINDS; k++)
        total += e->crashes[k];
    print_message(
        "power loss: %d cycles, %llu crashes inside an operation (write %llu, flush "
        "%llu, delete %llu, retention %llu, reopen %llu) and %llu more inside recovery, %llu "
        "torn, in-flight "
        "outcome whole %llu / absent %llu; ops: %llu writes %llu flushes %llu deletes "
        "%llu retention %llu reopens; up to %llu blocks verified\n",
        cycles, (unsigned long long)total, (unsigned long long)e->crashes[OP_WRITE],
        (unsigned long long)e->crashes[OP_FLUSH], (unsigned long long)e->crashes[OP_DELETE],
        (unsigned long long)e->crashes[OP_RETENTION], (unsigned long long)e->crashes[OP_REOPEN],
        (unsigned long long)e->recovery_crashes, (unsigned long long)e->torn,
        (unsigned long long)e->whole, (unsigned long long)e->absent,
        (unsigned long long)e->ops[OP_WRITE], (unsigned long long)e->ops[OP_FLUSH],
        (unsigned long long)e->ops[OP_DELETE], (unsigned long long)e->ops[OP_RETENTION],
        (unsigned long long)e->ops[OP_REOPEN], (unsigned long long)e->blocks_max);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(power_loss_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
