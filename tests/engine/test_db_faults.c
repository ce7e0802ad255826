/*
 * Fault injection through cts_vfs_fault: a small scripted workload (open,
 * writes, flush, delete, close and reopen, retention, flush, close) is run
 * once clean to count the calls of each kind of VFS operation, then once
 * for every N up to that count (and one past it) with the Nth call of that
 * kind failing, for open, pwrite, fdatasync, fsync, rename, unlink, mkdir
 * and fsync_dir:
 *   - EIO once (a transient error) and ENOSPC persistently (a full disk);
 *     EIO persistently and ENOSPC once with CTS_FAULT_FULL;
 *   - EIO once, then recovery with the power on, one more acknowledged
 *     write, and a power loss (for the calls a power loss can undo: syncs,
 *     creates, renames): what a failure left unsynced must not take later
 *     acknowledged writes with it;
 *   - every pwrite cut to 7 bytes, alone and with the Nth failing;
 *   - ftruncate, which only recovery calls: a catalog, WAL segment and
 *     partition index that each end in a torn record, reopened with the
 *     Nth truncation failing;
 *   - the Nth allocation (cts_alloc_fail_after) of a step failing.
 *
 * After each failure the test checks what the engine promises:
 *   - the call fails with the injected error (CTS_EIO / CTS_ENOSPC) and
 *     cts_db_errmsg (cts_db_open_error for an open) says what failed;
 *   - a write-path failure poisons the handle: a later write gets
 *     CTS_EPOISONED;
 *   - nothing crashes or leaks (ASan), close works on a poisoned handle;
 *   - once the fault is removed (cts_vfs_fault_reset) the database opens,
 *     cts_db_verify passes, and its contents equal a naive model of the
 *     acknowledged operations, plus the failed operation either whole or
 *     not at all: no partial batch, no partial delete (retention may stop
 *     between partitions, each partition whole).
 * Then the script goes on from the recovered state to its end, so one run
 * also covers the work after a recovery. The regression tests at the end
 * pin the bugs the sweep found, one each.
 *
 * The fault VFS sits on a VFS whose fsync calls do nothing: durability is
 * what the fault VFS models (its power loss), and skipping the real syncs
 * keeps a thousand runs fast. Environment: CTS_FAULT_SEEDS=n sweeps n
 * workload seeds (default 1); CTS_FAULT_FULL=1 adds the other errno/mode
 * pairs, the power loss after pwrite and unlink failures, and every
 * allocation of every step; CTS_FAULT_ONLY=op,n,e,mode runs one
 * configuration; CTS_FAULT_COUNTS=1 prints the calls per op;
 * CTS_FAULT_TMPDIR sets where the databases go (default /dev/shm).
 */
#include "cts_test.h"
#include "cts_engine.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <unistd.h>

#define NS 4      /* series s0..s3 */
#define TS 400    /* timestamps 0..TS-1 */
#define WIDTH 100 /* partition width, ns: four partitions */
#define SCRIPT "OWWWFWWDWRWWTWFWC"

typedef struct cell {
    bool present;
    double v;
} cell;

enum { U_NONE, U_WRITE, U_DELETE, U_RETENTION };

typedef struct run {
    char dir[256];
    cts_vfs_fault *f;
    cts_db_opts o;
    cts_db *db;
    cts_rng rng;
    int batch;
    /* the fault */
    cts_vfs_op op;
    uint64_t nth;
    int mode;
    char step; /* allocation failures: the script step that fails */
    int err_errno;
    bool power_loss;
    uint64_t pl_seed;
    /* the model: m0 acknowledged, m1 = m0 plus the operation that failed */
    cell m0[NS][TS], m1[NS][TS];
    int uncertain;
} run;

typedef struct totals {
    uint64_t runs, failures, faults, recoveries, poison_checks, whole, absent;
    char sample[CTS_VFS_OP_COUNT][300]; /* one error message per failing op */
} totals;

static totals tot;

/* ---- a base VFS without real syncs (the fault VFS models durability) ---- */

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

static const cts_vfs *nosync_vfs(void)
{
    static cts_vfs v;
    v = *cts_vfs_posix();
    v.fsync = skip_fsync;
    v.fdatasync = skip_fsync;
    v.fsync_dir = skip_fsync_dir;
    return &v;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* ---- the model ---- */

static int err_of(int err_errno)
{
    return err_errno == ENOSPC ? CTS_ENOSPC : CTS_EIO;
}

/* Keep the message of the last failure of each op: the sweep ends with
 * the failures deepest into the workload, the most varied ones. */
static void note_message(cts_vfs_op op, const char *msg)
{
    snprintf(tot.sample[op], sizeof tot.sample[op], "%s", msg);
}

/* "pwrite #12 EIO once" (for messages). */
static const char *desc(const run *r)
{
    static char buf[96];
    if (r->op == CTS_VFS_OP_COUNT) {
        snprintf(buf, sizeof buf, "allocation #%llu of step %c", (unsigned long long)r->nth,
                 r->step);
        return buf;
    }
    snprintf(buf, sizeof buf, "%s #%llu %s %s%s", cts_vfs_op_name(r->op),
             (unsigned long long)r->nth, r->err_errno == ENOSPC ? "ENOSPC" : "EIO",
             r->mode == CTS_FAULT_PERSIST ? "persist" : "once",
             r->power_loss ? " + power loss" : "");
    return buf;
}

static void open_db(run *r)
{
    int rc = cts_db_open(r->dir, &r->o, &r->db);
    if (rc)
        fail_msg("%s: recovery open failed: %s: %s", desc(r), cts_errname(rc), cts_db_open_error());
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

static void observe(run *r, cell obs[NS][TS])
{
    memset(obs, 0, sizeof(cell) * NS * TS);
    cts_fieldlist *fl;
    assert_int_equal(cts_db_field_keys(r->db, "m", &fl), 0);
    uint32_t fid = fl->count ? fl->items[0].field_id : UINT32_MAX;
    cts_free(fl);
    for (int s = 0; s < NS && fid != UINT32_MAX; s++) {
        uint32_t sid = series_id(r->db, s);
        cts_cursor *cur;
        if (sid == UINT32_MAX || cts_cursor_open(r->db, sid, fid, INT64_MIN, INT64_MAX, s % 2 == 0,
                                                 &cur) == CTS_ENOTFOUND)
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
                    fail_msg("series %d: timestamp %lld out of range or order", s, (long long)t);
                prev = t;
                obs[s][t] = (cell){true, c.v.f[k]};
            }
        }
        if (rc != 0)
            fail_msg("series %d: cursor: %s: %s", s, cts_errname(rc), cts_cursor_errmsg(cur));
        cts_cursor_close(cur);
    }
}

static bool cell_eq(cell a, cell b)
{
    return a.present == b.present && (!a.present || a.v == b.v);
}

/* Compare the database with the model; fold the failed operation's outcome
 * into m0. Keys the operation did not change must equal m0. The keys it
 * changed must all be as before it or all as after it: over the whole key
 * space for a write or a delete, per partition for retention (which drops
 * partitions one by one). */
static void check(run *r, const char *when)
{
    static cell obs[NS][TS];
    int as0[TS / WIDTH] = {0}, as1[TS / WIDTH] = {0};
    observe(r, obs);
    for (int s = 0; s < NS; s++) {
        for (int t = 0; t < TS; t++) {
            int g = r->uncertain == U_RETENTION ? t / WIDTH : 0;
            bool e0 = cell_eq(obs[s][t], r->m0[s][t]), e1 = cell_eq(obs[s][t], r->m1[s][t]);
            if (e0 && e1)
                continue;
            if (cell_eq(r->m0[s][t], r->m1[s][t]) || (!e0 && !e1))
                fail_msg("%s (%s): s%d@%d: want %s%g, have %s%g", when, desc(r), s, t,
                         r->m0[s][t].present ? "" : "absent ", r->m0[s][t].v,
                         obs[s][t].present ? "" : "absent ", obs[s][t].v);
            as0[g] += e0;
            as1[g] += e1;
        }
    }
    for (int g = 0; g < TS / WIDTH; g++) {
        if (as0[g] && as1[g])
            fail_msg("%s (%s): the failed operation is there in part (%d keys before it, %d "
                     "after it; kind %d, group %d)",
                     when, desc(r), as0[g], as1[g], r->uncertain, g);
        tot.whole += as1[g] > 0;
        tot.absent += as0[g] > 0;
        if (!as1[g])
            continue;
        for (int s = 0; s < NS; s++)
            for (int t = 0; t < TS; t++)
                if ((r->uncertain == U_RETENTION ? t / WIDTH : 0) == g)
                    r->m0[s][t] = r->m1[s][t];
    }
    memcpy(r->m1, r->m0, sizeof r->m0);
    r->uncertain = U_NONE;
    cts_verify_report rep;
    if (cts_db_verify(r->db, &rep))
        fail_msg("%s: verify: %s", when, rep.first_error);
}

/* ---- steps ---- */

static int step_write(run *r)
{
    cts_point pts[16];
    cts_field f[16];
    cts_tag tags[16];
    static const char *names[NS] = {"s0", "s1", "s2", "s3"};
    int n = 4 + (int)cts_rng_below(&r->rng, 12), ss[16], tt[16];
    for (int j = 0; j < n; j++) {
        ss[j] = (int)cts_rng_below(&r->rng, NS);
        tt[j] = (int)cts_rng_below(&r->rng, TS);
        tags[j] = (cts_tag){{"id", 2}, {names[ss[j]], 2}};
        f[j] = (cts_field){.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = r->batch * 100.0 + j};
        pts[j] = (cts_point){.measurement = {"m", 1},
                             .tags = &tags[j],
                             .ntags = 1,
                             .fields = &f[j],
                             .nfields = 1,
                             .ts_ns = tt[j]};
    }
    r->batch++;
    int rc = cts_db_write(r->db, pts, (size_t)n, NULL);
    for (int j = 0; j < n; j++)
        r->m1[ss[j]][tt[j]] = (cell){true, f[j].v.f};
    r->uncertain = U_WRITE;
    return rc;
}

static int step_delete(run *r)
{
    int s = (int)cts_rng_below(&r->rng, NS), t0 = (int)cts_rng_below(&r->rng, TS - 150),
        t1 = t0 + 50 + (int)cts_rng_below(&r->rng, 100);
    char v[16];
    snprintf(v, sizeof v, "s%d", s);
    cts_tag_eq w = {"id", v};
    int64_t rc = cts_db_delete(r->db, "m", &w, 1, t0, t1);
    for (int t = t0; t < t1; t++)
        r->m1[s][t].present = false;
    r->uncertain = U_DELETE;
    return rc < 0 ? (int)rc : 0;
}

static int step_retention(run *r)
{
    int64_t now = 2 * WIDTH + r->o.retention_ns; /* drops partitions 0 and 1 */
    int rc = cts_db_enforce_retention(r->db, now);
    for (int s = 0; s < NS; s++)
        for (int t = 0; t < 2 * WIDTH; t++)
            r->m1[s][t].present = false;
    r->uncertain = U_RETENTION;
    return rc < 0 ? rc : 0;
}

/* One point in every series at ts TS-1-k (k-th follow-up), acknowledged or
 * refused whole: applied to both models. */
static int follow_up(run *r, int k)
{
    cts_point pts[NS];
    cts_field f[NS];
    cts_tag tags[NS];
    static const char *names[NS] = {"s0", "s1", "s2", "s3"};
    for (int s = 0; s < NS; s++) {
        tags[s] = (cts_tag){{"id", 2}, {names[s], 2}};
        f[s] = (cts_field){.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = -1.0 - k * NS - s};
        pts[s] = (cts_point){.measurement = {"m", 1},
                             .tags = &tags[s],
                             .ntags = 1,
                             .fields = &f[s],
                             .nfields = 1,
                             .ts_ns = TS - 1 - k};
    }
    int rc = cts_db_write(r->db, pts, NS, NULL);
    for (int s = 0; s < NS && rc == 0; s++)
        r->m0[s][TS - 1 - k] = r->m1[s][TS - 1 - k] = (cell){true, f[s].v.f};
    return rc;
}

/* A write-path failure must have poisoned the handle. */
static void probe_poisoned(run *r)
{
    cts_tag tag = {{"id", 2}, {"probe", 5}};
    cts_field f = {.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = 1};
    cts_point p = {.measurement = {"m", 1}, .tags = &tag, .ntags = 1, .fields = &f, .nfields = 1};
    int rc = cts_db_write(r->db, &p, 1, NULL);
    if (rc != CTS_EPOISONED && getenv("DBG_NOPOISON"))
        print_message("NOPOISON %s: %s\n", desc(r), cts_db_errmsg(r->db));
    else if (rc != CTS_EPOISONED)
        fail_msg("%s: write after a failed write returned %s, not CTS_EPOISONED", desc(r),
                 cts_errname(rc));
    tot.poison_checks++;
}

/* Step `c` failed with rc: check the error, then recover and check the
 * contents against the model. */
static void recover(run *r, char c, int rc)
{
    tot.failures++;
    if (rc != err_of(r->err_errno))
        fail_msg("step %c, %s: returned %s (%s)", c, desc(r), cts_errname(rc),
                 r->db ? cts_db_errmsg(r->db) : cts_db_open_error());
    const char *msg = r->db && c != 'C' && c != 'R' ? cts_db_errmsg(r->db) : cts_db_open_error();
    if (c != 'C' && c != 'R') {
        if (!msg[0])
            fail_msg("step %c, %s: no error message", c, desc(r));
        note_message(r->op, msg);
    }
    if (r->db && strchr("WFDT", c))
        probe_poisoned(r);
    if (r->db)
        (void)cts_db_close(r->db); /* poisoned: the result is the error again */
    r->db = NULL;
    tot.faults += cts_vfs_fault_injected(r->f);
    if (r->power_loss) {
        /* Recover with the power on (no reset: it would take everything as
         * durable), take one more acknowledged write, then lose power: what
         * the failed step left unsynced must not take acknowledged data
         * with it. A far-off schedule replaces the fault. */
        assert_int_equal(cts_vfs_fault_fail(r->f, r->op, UINT64_MAX / 2, EIO, CTS_FAULT_ONCE), 0);
        open_db(r);
        int frc = follow_up(r, 0);
        if (frc)
            fail_msg("%s: write after recovery: %s: %s", desc(r), cts_errname(frc),
                     cts_db_errmsg(r->db));
        assert_int_equal(cts_vfs_fault_power_loss(r->f, r->pl_seed), 0);
        (void)cts_db_close(r->db);
        r->db = NULL;
    }
    cts_vfs_fault_reset(r->f);
    open_db(r);
    check(r, "after recovery");
    tot.recoveries++;
}

static int run_step(run *r, char c)
{
    int rc = 0;
    switch (c) {
    case 'O':
        rc = cts_db_open(r->dir, &r->o, &r->db);
        break;
    case 'W':
        rc = step_write(r);
        break;
    case 'F':
        rc = cts_db_flush(r->db);
        break;
    case 'D':
        rc = step_delete(r);
        break;
    case 'T':
        rc = step_retention(r);
        break;
    case 'R':
    case 'C':
        rc = cts_db_close(r->db);
        r->db = NULL;
        if (rc == 0 && c == 'R')
            rc = cts_db_open(r->dir, &r->o, &r->db);
        break;
    }
    if (rc == 0) {
        memcpy(r->m0, r->m1, sizeof r->m0);
        r->uncertain = U_NONE;
    }
    return rc;
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

static void run_init(run *r, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s/dbfaults-XXXXXX", sim_tmpdir());
    assert_non_null(mkdtemp(r->dir));
    assert_int_equal(cts_vfs_fault_create(nosync_vfs(), &r->f), 0);
    cts_db_opts_init(&r->o);
    r->o.vfs = cts_vfs_fault_vfs(r->f);
    r->o.fsync = CTS_DB_FSYNC_ALWAYS;
    r->o.block_points = 8;
    r->o.partition_ns = WIDTH;
    r->o.retention_ns = 1000;
    r->o.wal_checkpoint_bytes = 1 << 10;
    r->rng.s = seed;
}

/* Run the script, recovering from each failure, then check the end state. */
static void run_script(run *r)
{
    for (const char *c = SCRIPT; *c; c++) {
        int rc = run_step(r, *c);
        if (rc)
            recover(r, *c, rc);
        else if (*c == 'O' || *c == 'R')
            assert_non_null(r->db);
    }
    if (r->db)
        assert_int_equal(cts_db_close(r->db), 0);
    r->db = NULL;
    cts_vfs_fault_reset(r->f);
    open_db(r);
    check(r, "at the end");
    assert_int_equal(cts_db_close(r->db), 0);
    r->db = NULL;
    cts_vfs_fault_destroy(r->f);
    remove_tree(r->dir);
    tot.runs++;
}

static const cts_vfs_op swept[] = {
    CTS_VFS_OP_OPEN,      CTS_VFS_OP_PWRITE, CTS_VFS_OP_FDATASYNC,
    CTS_VFS_OP_FSYNC,     CTS_VFS_OP_RENAME, CTS_VFS_OP_UNLINK,
    CTS_VFS_OP_FTRUNCATE, CTS_VFS_OP_MKDIR,  CTS_VFS_OP_FSYNC_DIR,
};
#define NSWEPT (sizeof swept / sizeof swept[0])

static void count_calls(uint64_t seed, uint64_t calls[CTS_VFS_OP_COUNT])
{
    run *r = calloc(1, sizeof *r);
    run_init(r, seed);
    for (const char *c = SCRIPT; *c; c++)
        assert_int_equal(run_step(r, *c), 0);
    for (int op = 0; op < CTS_VFS_OP_COUNT; op++)
        calls[op] = cts_vfs_fault_calls(r->f, (cts_vfs_op)op);
    cts_vfs_fault_reset(r->f);
    open_db(r);
    check(r, "clean run");
    assert_int_equal(cts_db_close(r->db), 0);
    cts_vfs_fault_destroy(r->f);
    remove_tree(r->dir);
    free(r);
}

static int seeds(void)
{
    const char *env = getenv("CTS_FAULT_SEEDS");
    return env && atoi(env) > 0 ? atoi(env) : 1;
}

/* CTS_FAULT_ONLY=op,n,e,mode (e.g. "pwrite,12,0,1"; e 1 for ENOSPC, mode
 * 1 once, 2 persist) runs one configuration, for debugging. */
static bool selected(cts_vfs_op op, uint64_t n, int e, int mode)
{
    const char *env = getenv("CTS_FAULT_ONLY");
    char name[32];
    unsigned long long en;
    int ee, em;
    if (!env)
        return true;
    if (sscanf(env, "%31[^,],%llu,%d,%d", name, &en, &ee, &em) != 4)
        return true;
    return strcmp(name, cts_vfs_op_name(op)) == 0 && en == n && ee == e && em == mode;
}

static void sweep(bool power_loss)
{
    run *r = calloc(1, sizeof *r);
    for (int sd = 0; sd < seeds(); sd++) {
        uint64_t seed = 1000 + (uint64_t)sd, calls[CTS_VFS_OP_COUNT];
        count_calls(seed, calls);
        if (getenv("CTS_FAULT_COUNTS"))
            for (size_t k = 0; k < NSWEPT; k++)
                print_message("%s: %llu calls\n", cts_vfs_op_name(swept[k]),
                              (unsigned long long)calls[swept[k]]);
        for (size_t k = 0; k < NSWEPT; k++) {
            cts_vfs_op op = swept[k];
            for (uint64_t n = 1; n <= calls[op] + 1; n++) {
                for (int e = 0; e < 2; e++) {
                    for (int mode = CTS_FAULT_ONCE; mode <= CTS_FAULT_PERSIST; mode++) {
                        if (power_loss && (e == 1 || mode == CTS_FAULT_PERSIST))
                            continue; /* one variant is enough after a power loss */
                        if (power_loss && !getenv("CTS_FAULT_FULL") &&
                            (op == CTS_VFS_OP_PWRITE || op == CTS_VFS_OP_UNLINK))
                            continue; /* what a power loss can undo: syncs and names */
                        if (e != mode - 1 && !getenv("CTS_FAULT_FULL"))
                            continue; /* by default EIO once and ENOSPC persistently (a
                                       * transient error, a full disk); FULL adds the others */
                        if (!selected(op, n, e, mode))
                            continue;
                        run_init(r, seed);
                        r->op = op;
                        r->nth = n;
                        r->mode = mode;
                        r->err_errno = e ? ENOSPC : EIO;
                        r->power_loss = power_loss;
                        r->pl_seed = power_loss ? n * 7919 + k : 0;
                        assert_int_equal(
                            cts_vfs_fault_fail(r->f, op, n, r->err_errno, (cts_fault_mode)mode), 0);
                        run_script(r);
                    }
                }
            }
        }
    }
    free(r);
}

static void faults_every_call(void **state)
{
    (void)state;
    sweep(false);
    print_message("faults: %llu runs, %llu failed steps, %llu faults injected, %llu recoveries, "
                  "%llu poison checks; failed operation found whole %llu, absent %llu\n",
                  (unsigned long long)tot.runs, (unsigned long long)tot.failures,
                  (unsigned long long)tot.faults, (unsigned long long)tot.recoveries,
                  (unsigned long long)tot.poison_checks, (unsigned long long)tot.whole,
                  (unsigned long long)tot.absent);
    for (int op = 0; op < CTS_VFS_OP_COUNT; op++)
        if (tot.sample[op][0])
            print_message("  %s: %s\n", cts_vfs_op_name((cts_vfs_op)op), tot.sample[op]);
}

static void faults_then_power_loss(void **state)
{
    (void)state;
    memset(&tot, 0, sizeof tot);
    sweep(true);
    print_message("faults + power loss: %llu runs, %llu failed steps, %llu recoveries\n",
                  (unsigned long long)tot.runs, (unsigned long long)tot.failures,
                  (unsigned long long)tot.recoveries);
}

static void short_writes(void **state)
{
    (void)state;
    memset(&tot, 0, sizeof tot);
    run *r = calloc(1, sizeof *r);
    uint64_t calls[CTS_VFS_OP_COUNT];
    count_calls(77, calls);
    /* every pwrite cut to 7 bytes; alone, then with the Nth failing */
    for (uint64_t n = 0; n <= calls[CTS_VFS_OP_PWRITE] * 3; n += 1 + n / 16) {
        run_init(r, 77);
        cts_vfs_fault_short_writes(r->f, 7);
        r->op = CTS_VFS_OP_PWRITE;
        r->nth = n;
        r->mode = CTS_FAULT_ONCE;
        r->err_errno = EIO;
        if (n)
            assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_PWRITE, n, EIO, CTS_FAULT_ONCE),
                             0);
        run_script(r);
    }
    free(r);
    print_message("short writes: %llu runs, %llu failed steps\n", (unsigned long long)tot.runs,
                  (unsigned long long)tot.failures);
}

/* ---- torn tails: the ftruncate calls of recovery ---- */

static void append_garbage(const char *dir, const char *name, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "ab");
    assert_non_null(fp);
    for (size_t i = 0; i < n; i++)
        fputc(0x5a ^ (int)i, fp);
    fclose(fp);
}

/* A database whose WAL still holds acknowledged records (a power loss
 * instead of a close) and whose catalog, WAL segment and partition index
 * each end in a torn record, as unsynced appends cut by a crash leave
 * them: the next open truncates all three. */
static void make_torn(run *r)
{
    open_db(r);
    for (int i = 0; i < 6; i++)
        assert_int_equal(step_write(r), 0);
    assert_int_equal(cts_db_flush(r->db), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(step_write(r), 0);
    memcpy(r->m0, r->m1, sizeof r->m0);
    assert_int_equal(cts_vfs_fault_power_loss(r->f, 0), 0);
    (void)cts_db_close(r->db);
    r->db = NULL;
    cts_vfs_fault_reset(r->f);
    char wal[300];
    snprintf(wal, sizeof wal, "%s/wal", r->dir);
    append_garbage(r->dir, "catalog", 5);
    append_garbage(r->dir, "p/0/index", 9);
    /* the live segment is the newest: created by the flush's rotation */
    char name[256] = "";
    DIR *d = opendir(wal);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "wal-", 4) == 0 && strcmp(de->d_name, name) > 0)
            snprintf(name, sizeof name, "%s", de->d_name);
    closedir(d);
    append_garbage(wal, name, 11);
}

static void torn_tails_truncate_faults(void **state)
{
    (void)state;
    memset(&tot, 0, sizeof tot);
    run *r = calloc(1, sizeof *r);
    run_init(r, 9);
    make_torn(r);
    open_db(r);
    uint64_t n_trunc = cts_vfs_fault_calls(r->f, CTS_VFS_OP_FTRUNCATE);
    check(r, "clean recovery");
    assert_int_equal(cts_db_close(r->db), 0);
    cts_vfs_fault_destroy(r->f);
    remove_tree(r->dir);
    assert_true(n_trunc >= 3);
    for (uint64_t n = 1; n <= n_trunc; n++) {
        for (int e = 0; e < 2; e++) {
            for (int mode = CTS_FAULT_ONCE; mode <= CTS_FAULT_PERSIST; mode++) {
                run_init(r, 9);
                make_torn(r);
                r->op = CTS_VFS_OP_FTRUNCATE;
                r->nth = n;
                r->mode = mode;
                r->err_errno = e ? ENOSPC : EIO;
                assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_FTRUNCATE, n, r->err_errno,
                                                    (cts_fault_mode)mode),
                                 0);
                int rc = cts_db_open(r->dir, &r->o, &r->db);
                assert_int_equal(rc, err_of(r->err_errno));
                assert_null(r->db);
                assert_true(cts_db_open_error()[0] != 0);
                note_message(CTS_VFS_OP_FTRUNCATE, cts_db_open_error());
                tot.failures++;
                cts_vfs_fault_reset(r->f);
                open_db(r);
                check(r, "after a failed truncation");
                /* and the database goes on */
                assert_int_equal(step_write(r), 0);
                memcpy(r->m0, r->m1, sizeof r->m0);
                assert_int_equal(cts_db_close(r->db), 0);
                open_db(r);
                check(r, "after a failed truncation and a write");
                assert_int_equal(cts_db_close(r->db), 0);
                r->db = NULL;
                cts_vfs_fault_destroy(r->f);
                remove_tree(r->dir);
                tot.runs++;
            }
        }
    }
    free(r);
    print_message("torn tails: %llu truncations per recovery, %llu runs with one failing; e.g. "
                  "%s\n",
                  (unsigned long long)n_trunc, (unsigned long long)tot.runs,
                  tot.sample[CTS_VFS_OP_FTRUNCATE]);
}

/* ---- allocation failures ---- */

/* Step `c` of the script with the nth allocation from now failing. After
 * a failure: a handle that is not poisoned must take a write that uses
 * the series the failed step knew (acknowledged), then the power goes
 * (no close, no checkpoint), and the database must come back with every
 * acknowledged point and the failed step whole or absent. */
static bool alloc_run(uint64_t seed, size_t at, long n)
{
    run *r = calloc(1, sizeof *r);
    run_init(r, seed);
    r->op = CTS_VFS_OP_COUNT;
    r->nth = (uint64_t)n;
    r->step = SCRIPT[at];
    for (size_t i = 0; i < at; i++) {
        assert_int_equal(run_step(r, SCRIPT[i]), 0);
        memcpy(r->m0, r->m1, sizeof r->m0);
    }
    cts_alloc_fail_after(n);
    int rc = run_step(r, SCRIPT[at]);
    cts_alloc_fail_after(-1);
    bool failed = rc != 0;
    if (failed) {
        tot.failures++;
        if (rc != CTS_ENOMEM && rc != CTS_EIO)
            fail_msg("step %c, allocation %ld failing: %s", SCRIPT[at], n, cts_errname(rc));
        if (SCRIPT[at] != 'C' && SCRIPT[at] != 'R') {
            const char *msg = r->db ? cts_db_errmsg(r->db) : cts_db_open_error();
            if (!msg[0])
                fail_msg("step %c, allocation %ld failing: no message", SCRIPT[at], n);
        }
        if (getenv("DBG_ALLOC"))
            print_message("DBG step %c n %ld rc %s msg %s\n", SCRIPT[at], n, cts_errname(rc),
                          r->db ? cts_db_errmsg(r->db) : cts_db_open_error());
        if (!r->db)
            open_db(r);
        int frc = follow_up(r, 0);
        if (frc != 0 && frc != CTS_EPOISONED)
            fail_msg("step %c, allocation %ld failing: the next write got %s: %s", SCRIPT[at], n,
                     cts_errname(frc), cts_db_errmsg(r->db));
        tot.poison_checks += frc == CTS_EPOISONED;
        assert_int_equal(cts_vfs_fault_power_loss(r->f, 0), 0);
        (void)cts_db_close(r->db);
        r->db = NULL;
        cts_vfs_fault_reset(r->f);
        open_db(r);
        check(r, "after an allocation failure and a power loss");
        /* and the database goes on: a write, a checkpoint, a reopen */
        assert_int_equal(follow_up(r, 1), 0);
        assert_int_equal(cts_db_close(r->db), 0);
        open_db(r);
        check(r, "after an allocation failure, later");
        tot.recoveries++;
    }
    if (r->db)
        (void)cts_db_close(r->db);
    cts_vfs_fault_destroy(r->f);
    remove_tree(r->dir);
    free(r);
    tot.runs++;
    return failed;
}

static void allocation_failures(void **state)
{
    (void)state;
    memset(&tot, 0, sizeof tot);
    bool full = getenv("CTS_FAULT_FULL") != NULL;
    char seen[128] = {0};
    for (size_t at = 0; at < strlen(SCRIPT); at++) {
        /* by default the first step of each kind, and the second write
         * (the first creates the series, the second reuses them) */
        unsigned char c = (unsigned char)SCRIPT[at];
        if (!full && seen[c]++ && !(c == 'W' && seen[c] == 2))
            continue;
        /* the nth allocation of the step fails, for n from 0 until the
         * step needs fewer (sparser past the first 32 unless FULL) */
        for (long n = 0; n < 4096; n += full ? 1 : 1 + n / 32)
            if (!alloc_run(31, at, n))
                break;
    }
    print_message("allocation failures: %llu runs, %llu failed steps, %llu recovered after a "
                  "power loss, %llu writes refused as poisoned\n",
                  (unsigned long long)tot.runs, (unsigned long long)tot.failures,
                  (unsigned long long)tot.recoveries, (unsigned long long)tot.poison_checks);
}

/* ---- regressions, one per bug the sweep found ---- */

/* Open a database through a fresh fault VFS in a new directory. */
static run *reg_open(void)
{
    run *r = calloc(1, sizeof *r);
    run_init(r, 5);
    open_db(r);
    return r;
}

static void reg_close(run *r)
{
    if (r->db)
        (void)cts_db_close(r->db);
    cts_vfs_fault_destroy(r->f);
    remove_tree(r->dir);
    free(r);
}

/* Points t0..t0+n-1 of series s0, value t. */
static void reg_write(run *r, int t0, int n)
{
    cts_tag tag = {{"id", 2}, {"s0", 2}};
    cts_field f[64];
    cts_point p[64];
    for (int j = 0; j < n; j++) {
        f[j] = (cts_field){.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = t0 + j};
        p[j] = (cts_point){.measurement = {"m", 1},
                           .tags = &tag,
                           .ntags = 1,
                           .fields = &f[j],
                           .nfields = 1,
                           .ts_ns = t0 + j};
        r->m1[0][t0 + j] = (cell){true, t0 + j};
    }
    assert_int_equal(cts_db_write(r->db, p, (size_t)n, NULL), 0);
    memcpy(r->m0, r->m1, sizeof r->m0);
}

/* A delete whose checkpoint fails after its WAL record was synced is
 * completed by replay, in every partition: the record is framed like a
 * write (replay used to reject it as corrupt) and synced before any block
 * is rewritten (a failure between two partitions' checkpoints used to
 * leave the delete done in some only). */
static void delete_completed_by_replay(void **state)
{
    (void)state;
    for (int power_loss = 0; power_loss < 2; power_loss++) {
        run *r = reg_open();
        reg_write(r, 0, 40);
        reg_write(r, 150, 40); /* two partitions */
        assert_int_equal(cts_db_flush(r->db), 0);
        /* fdatasync #1 syncs the delete record, #2 is the first partition's
         * segment in the checkpoint, #4 the second partition's */
        assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_FDATASYNC, 4, EIO, CTS_FAULT_PERSIST),
                         0);
        cts_tag_eq w = {"id", "s0"};
        assert_int_equal(cts_db_delete(r->db, "m", &w, 1, 20, 170), CTS_EIO);
        assert_true(strstr(cts_db_errmsg(r->db), "checkpointing partition") != NULL);
        (void)cts_db_close(r->db);
        r->db = NULL;
        if (power_loss)
            assert_int_equal(cts_vfs_fault_power_loss(r->f, 0), 0);
        cts_vfs_fault_reset(r->f);
        for (int t = 20; t < 170; t++)
            r->m0[0][t].present = false;
        memcpy(r->m1, r->m0, sizeof r->m0);
        open_db(r);
        check(r, "after the failed delete");
        reg_close(r);
    }
}

/* A WAL segment whose unlink failed during a checkpoint used to be
 * forgotten by the WAL while the next checkpoint deleted its successor:
 * the next open then failed on the gap in the log. The failure now
 * poisons the handle, so no later segment goes before a reopen. */
static void failed_wal_unlink_keeps_log_whole(void **state)
{
    (void)state;
    run *r = reg_open();
    reg_write(r, 0, 10);
    assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_UNLINK, 1, EIO, CTS_FAULT_ONCE), 0);
    assert_int_equal(cts_db_flush(r->db), CTS_EIO);
    assert_true(strstr(cts_db_errmsg(r->db), "unlink") != NULL);
    r->op = CTS_VFS_OP_UNLINK;
    r->err_errno = EIO;
    probe_poisoned(r);
    (void)cts_db_close(r->db);
    r->db = NULL;
    open_db(r);
    check(r, "after the failed unlink");
    reg_write(r, 10, 10);
    assert_int_equal(cts_db_flush(r->db), 0);
    reg_write(r, 20, 10);
    assert_int_equal(cts_db_close(r->db), 0);
    r->db = NULL;
    open_db(r);
    check(r, "after two more checkpoints");
    reg_close(r);
}

/* A partition whose creation stopped after its index was created (the
 * segment's open failed) used to make every later open fail: the
 * leftover directory was not empty, so it could not be removed. */
static void partition_creation_cut_short(void **state)
{
    (void)state;
    for (int short_header = 0; short_header < 2; short_header++) {
        run *r = reg_open();
        if (short_header) /* the index header goes 7 bytes at a time; the 2nd write fails */
            cts_vfs_fault_short_writes(r->f, 7);
        reg_write(r, 0, 7);
        if (short_header)
            assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_PWRITE, 2, EIO, CTS_FAULT_PERSIST),
                             0);
        else
            assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_OPEN, 2, EIO, CTS_FAULT_ONCE), 0);
        assert_int_equal(cts_db_flush(r->db), CTS_EIO);
        assert_true(strstr(cts_db_errmsg(r->db), "creating partition") != NULL);
        (void)cts_db_close(r->db);
        r->db = NULL;
        cts_vfs_fault_reset(r->f);
        open_db(r);
        check(r, "after the cut-short creation");
        reg_write(r, 7, 7);
        assert_int_equal(cts_db_close(r->db), 0);
        r->db = NULL;
        open_db(r);
        check(r, "after sealing into it");
        reg_close(r);
    }
}

/* A retention drop whose unlink fails poisons (the partition is gone from
 * memory, not from disk) and reports which partition; reading the message
 * used to touch the partition after its last reference was dropped. */
static void failed_partition_drop(void **state)
{
    (void)state;
    run *r = reg_open();
    reg_write(r, 0, 20);
    reg_write(r, 300, 20);
    assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_UNLINK, 1, EIO, CTS_FAULT_ONCE), 0);
    /* flush first so the WAL unlinks are done before the drop's */
    assert_int_equal(cts_db_flush(r->db), CTS_EIO);
    (void)cts_db_close(r->db);
    r->db = NULL;
    open_db(r);
    assert_int_equal(cts_db_flush(r->db), 0);
    assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_UNLINK, 1, EIO, CTS_FAULT_ONCE), 0);
    assert_int_equal(cts_db_enforce_retention(r->db, 200 + r->o.retention_ns), CTS_EIO);
    assert_true(strstr(cts_db_errmsg(r->db), "/p/0") != NULL);
    r->op = CTS_VFS_OP_UNLINK;
    r->err_errno = EIO;
    probe_poisoned(r);
    (void)cts_db_close(r->db);
    r->db = NULL;
    open_db(r);
    r->uncertain = U_RETENTION;
    for (int t = 0; t < 200; t++)
        r->m1[0][t].present = false;
    check(r, "after the failed drop");
    reg_close(r);
}

/* A write refused for lack of memory after it created a series left the
 * series in the catalog but in no WAL record; the next write to it was
 * acknowledged and then lost by a crash before a checkpoint. The catalog
 * is now synced when a write fails before its record is appended. */
static void failed_write_keeps_new_series(void **state)
{
    (void)state;
    run *r = reg_open();
    reg_write(r, 0, 5);
    /* series s1 is new: its write fails at its first allocation */
    cts_tag tag = {{"id", 2}, {"s1", 2}};
    cts_field f = {.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = 7};
    cts_point p = {
        .measurement = {"m", 1}, .tags = &tag, .ntags = 1, .fields = &f, .nfields = 1, .ts_ns = 9};
    cts_alloc_fail_after(0);
    int rc = cts_db_write(r->db, &p, 1, NULL);
    cts_alloc_fail_after(-1);
    assert_int_equal(rc, CTS_ENOMEM);
    assert_true(strstr(cts_db_errmsg(r->db), "out of memory") != NULL);
    assert_int_equal(cts_db_write(r->db, &p, 1, NULL), 0);
    r->m0[1][9] = r->m1[1][9] = (cell){true, 7};
    assert_int_equal(cts_vfs_fault_power_loss(r->f, 0), 0);
    (void)cts_db_close(r->db);
    r->db = NULL;
    cts_vfs_fault_reset(r->f);
    open_db(r);
    check(r, "after the refused write and a power loss");
    reg_close(r);
}

/* An open that failed between the rename of a new WAL segment and the
 * sync of its directory left a segment name a crash could undo; the next
 * open appended acknowledged records to it. Opens now sync the database's
 * directories (and a partition's, while it has no record). */
static void failed_open_leaves_no_fragile_name(void **state)
{
    (void)state;
    /* which 1..8: the first open's nth directory sync fails (one of them
     * is the new WAL segment's); which 0: a new partition's does */
    for (int which = 0; which <= 8; which++) {
        run *r = calloc(1, sizeof *r);
        run_init(r, 5);
        r->op = CTS_VFS_OP_FSYNC_DIR;
        r->nth = (uint64_t)which;
        if (which > 0) {
            assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_FSYNC_DIR, (uint64_t)which, EIO,
                                                CTS_FAULT_ONCE),
                             0);
            if (cts_db_open(r->dir, &r->o, &r->db) == 0) {
                (void)cts_db_close(r->db); /* this open had fewer syncs */
                r->db = NULL;
            }
            /* no reset (it would take everything as durable): a far-off
             * schedule replaces the fault */
            assert_int_equal(
                cts_vfs_fault_fail(r->f, CTS_VFS_OP_FSYNC_DIR, UINT64_MAX / 2, EIO, CTS_FAULT_ONCE),
                0);
        }
        open_db(r);
        if (which == 0) {
            /* the write that seals into a new partition fails at the
             * partition's directory sync; the next open finds the
             * partition without records */
            assert_int_equal(cts_vfs_fault_fail(r->f, CTS_VFS_OP_FSYNC_DIR, 2, EIO, CTS_FAULT_ONCE),
                             0);
            cts_tag tag = {{"id", 2}, {"s0", 2}};
            cts_field f[8];
            cts_point p[8];
            for (int j = 0; j < 8; j++) {
                f[j] = (cts_field){.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = j};
                p[j] = (cts_point){.measurement = {"m", 1},
                                   .tags = &tag,
                                   .ntags = 1,
                                   .fields = &f[j],
                                   .nfields = 1,
                                   .ts_ns = j};
            }
            assert_int_equal(cts_db_write(r->db, p, 8, NULL), CTS_EIO);
            assert_true(strstr(cts_db_errmsg(r->db), "creating partition") != NULL);
            for (int j = 0; j < 8; j++)
                r->m1[0][j] = (cell){true, j};
            r->uncertain = U_WRITE;
            (void)cts_db_close(r->db);
            r->db = NULL;
            open_db(r);
        }
        reg_write(r, 10, 20); /* acknowledged; sealed into partition 0 */
        assert_int_equal(cts_db_flush(r->db), 0);
        reg_write(r, 40, 3); /* acknowledged, in the WAL only */
        assert_int_equal(cts_vfs_fault_power_loss(r->f, 0), 0);
        (void)cts_db_close(r->db);
        r->db = NULL;
        cts_vfs_fault_reset(r->f);
        open_db(r);
        check(r, "after a failed open or creation and a power loss");
        reg_close(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(faults_every_call),
        cmocka_unit_test(faults_then_power_loss),
        cmocka_unit_test(short_writes),
        cmocka_unit_test(torn_tails_truncate_faults),
        cmocka_unit_test(allocation_failures),
        cmocka_unit_test(delete_completed_by_replay),
        cmocka_unit_test(failed_wal_unlink_keeps_log_whole),
        cmocka_unit_test(partition_creation_cut_short),
        cmocka_unit_test(failed_partition_drop),
        cmocka_unit_test(failed_write_keeps_new_series),
        cmocka_unit_test(failed_open_leaves_no_fragile_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
