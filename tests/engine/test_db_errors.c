/*
 * Errors the engine must report clearly, one test per behaviour: bad
 * options, a directory it cannot create, rejected points (type conflict
 * with InfluxDB's exact wording, no fields, duplicate tag keys, the series
 * limit), integer-to-float promotion, a cursor on a column that does not
 * exist, and damaged files: a flipped byte in a sealed block (the cursor
 * and verify name file, offset and series), a corrupt WAL record in the
 * middle of the log (open fails naming file and offset; quarantine_wal
 * opens with the valid prefix), a torn WAL tail (opens with everything
 * before the tear) and a corrupt catalog record (open fails naming the
 * file).
 *
 * The WAL cases need a log that still holds records: they write with
 * fsync=always through the fault VFS and end with a simulated power loss
 * instead of a close (which would checkpoint and empty the log).
 */
#include "cts_test.h"
#include "cts_engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static void make_tmpdir(char *dir, size_t cap, const char *tag)
{
    const char *base = getenv("CTS_TEST_TMPDIR");
    snprintf(dir, cap, "%s/%s-XXXXXX", base ? base : "/tmp", tag);
    assert_non_null(mkdtemp(dir));
}

static void remove_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
}

static cts_db *open_ok(const char *dir, const cts_db_opts *o)
{
    cts_db *db = NULL;
    int rc = cts_db_open(dir, o, &db);
    if (rc)
        fail_msg("open %s: %s: %s", dir, cts_errname(rc), cts_db_open_error());
    return db;
}

static cts_point float_point(const cts_tag *tag, const cts_field *f, int64_t ts)
{
    return (cts_point){.measurement = {"m", 1},
                       .tags = tag,
                       .ntags = tag ? 1 : 0,
                       .fields = f,
                       .nfields = f ? 1 : 0,
                       .ts_ns = ts};
}

/* Write `n` points of batch b to series "id=s<b % 3>": ts b * 100 + j,
 * float value b * 1000 + j. */
static int write_batch(cts_db *db, int b, int n)
{
    cts_point pts[64];
    cts_field f[64];
    char name[8];
    snprintf(name, sizeof name, "s%d", b % 3);
    cts_tag tag = {{"id", 2}, {name, (uint32_t)strlen(name)}};
    for (int j = 0; j < n; j++) {
        f[j] = (cts_field){.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = b * 1000.0 + j};
        pts[j] = float_point(&tag, &f[j], (int64_t)b * 100 + j);
    }
    return cts_db_write(db, pts, (size_t)n, NULL);
}

static uint32_t series_of(cts_db *db, const char *val)
{
    cts_idlist *ids;
    assert_int_equal(cts_db_series_ids(db, "m", "id", val, &ids), 0);
    uint32_t id = ids->count ? ids->ids[0] : UINT32_MAX;
    cts_free(ids);
    return id;
}

static uint32_t field_of(cts_db *db, const char *name)
{
    cts_fieldlist *fl;
    uint32_t id = UINT32_MAX;
    assert_int_equal(cts_db_field_keys(db, "m", &fl), 0);
    for (size_t k = 0; k < fl->count; k++)
        if (strcmp(fl->items[k].name.ptr, name) == 0)
            id = fl->items[k].field_id;
    cts_free(fl);
    return id;
}

/* Read a float column whole; returns the point count, or the first error
 * (with the cursor's message copied to msg). */
static int read_floats(cts_db *db, uint32_t sid, uint32_t fid, int64_t *ts, double *v, int cap,
                       char *msg, size_t msg_cap)
{
    cts_cursor *cur;
    int rc = cts_cursor_open(db, sid, fid, INT64_MIN, INT64_MAX, false, &cur);
    if (rc)
        return rc;
    int n = 0;
    cts_chunk c;
    while ((rc = cts_cursor_next(cur, &c)) == 1) {
        for (uint32_t k = 0; k < c.count && n < cap; k++, n++) {
            ts[n] = c.ts[k];
            v[n] = c.v.f[k];
        }
    }
    if (rc < 0 && msg)
        snprintf(msg, msg_cap, "%s", cts_cursor_errmsg(cur));
    cts_cursor_close(cur);
    return rc < 0 ? rc : n;
}

/* Number of points of batch b found in series s<b % 3> (each must carry
 * its exact value). */
static int batch_points(cts_db *db, int b)
{
    char name[8];
    snprintf(name, sizeof name, "s%d", b % 3);
    uint32_t sid = series_of(db, name), fid = field_of(db, "v");
    if (sid == UINT32_MAX || fid == UINT32_MAX)
        return 0;
    int64_t ts[1024];
    double v[1024];
    int n = read_floats(db, sid, fid, ts, v, 1024, NULL, 0), found = 0;
    assert_true(n >= 0);
    for (int k = 0; k < n; k++) {
        if (ts[k] / 100 != b)
            continue;
        assert_true(v[k] == b * 1000.0 + (double)(ts[k] % 100));
        found++;
    }
    return found;
}

static bool contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* ---- options and directories ---- */

static void bad_options(void **state)
{
    (void)state;
    char dir[256];
    make_tmpdir(dir, sizeof dir, "errs-opts");
    cts_db_opts o;
    cts_db *db = (cts_db *)1;
    cts_db_opts_init(&o);
    o.block_points = 0;
    assert_int_equal(cts_db_open(dir, &o, &db), CTS_EINVAL);
    assert_null(db);
    assert_true(contains(cts_db_open_error(), "block_points"));

    cts_db_opts_init(&o);
    o.block_points = CTS_BLOCK_MAX_COUNT + 1;
    assert_int_equal(cts_db_open(dir, &o, &db), CTS_EINVAL);
    assert_true(contains(cts_db_open_error(), "block_points"));

    cts_db_opts_init(&o);
    o.partition_ns = 0;
    assert_int_equal(cts_db_open(dir, &o, &db), CTS_EINVAL);
    assert_true(contains(cts_db_open_error(), "partition_ns"));

    cts_db_opts_init(&o);
    o.partition_ns = -86400;
    assert_int_equal(cts_db_open(dir, &o, &db), CTS_EINVAL);
    assert_true(contains(cts_db_open_error(), "partition_ns"));

    cts_db_opts_init(&o);
    o.retention_ns = -1;
    assert_int_equal(cts_db_open(dir, &o, &db), CTS_EINVAL);
    assert_true(contains(cts_db_open_error(), "retention_ns"));

    cts_db_opts_init(&o);
    assert_int_equal(cts_db_open(NULL, &o, &db), CTS_EINVAL);
    assert_int_equal(cts_db_open(dir, &o, NULL), CTS_EINVAL);

    /* nothing was created by the refused opens */
    char path[300];
    struct stat st;
    snprintf(path, sizeof path, "%s/catalog", dir);
    assert_int_not_equal(stat(path, &st), 0);
    remove_tree(dir);
}

static void unwritable_directory(void **state)
{
    (void)state;
    char dir[256], path[300];
    cts_db *db = (cts_db *)1;
    make_tmpdir(dir, sizeof dir, "errs-dir");

    /* a database path under a regular file: mkdir fails with ENOTDIR */
    snprintf(path, sizeof path, "%s/file", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    snprintf(path, sizeof path, "%s/file/db", dir);
    int rc = cts_db_open(path, NULL, &db);
    assert_int_equal(rc, CTS_EIO);
    assert_null(db);
    assert_true(contains(cts_db_open_error(), path));

    /* a read-only parent (only meaningful without root's override) */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/ro", dir);
        assert_int_equal(mkdir(path, 0555), 0);
        snprintf(path, sizeof path, "%s/ro/db", dir);
        rc = cts_db_open(path, NULL, &db);
        assert_true(rc == CTS_EIO);
        assert_true(contains(cts_db_open_error(), path));
    }

    /* the same refusal as the fault VFS reports it (EACCES), root or not */
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(cts_vfs_posix(), &f), 0);
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_MKDIR, 1, EACCES, CTS_FAULT_PERSIST), 0);
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.vfs = cts_vfs_fault_vfs(f);
    snprintf(path, sizeof path, "%s/denied", dir);
    rc = cts_db_open(path, &o, &db);
    assert_int_equal(rc, CTS_EIO);
    assert_true(contains(cts_db_open_error(), path));

    /* the directory exists but its files cannot be created */
    cts_vfs_fault_reset(f);
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_OPEN, 1, EACCES, CTS_FAULT_PERSIST), 0);
    rc = cts_db_open(dir, &o, &db);
    assert_int_equal(rc, CTS_EIO);
    assert_true(contains(cts_db_open_error(), "catalog"));
    cts_vfs_fault_destroy(f);
    remove_tree(dir);
}

/* ---- rejected points ---- */

static void type_conflict_message(void **state)
{
    (void)state;
    char dir[256];
    make_tmpdir(dir, sizeof dir, "errs-type");
    cts_db *db = open_ok(dir, NULL);
    cts_tag tag = {{"id", 2}, {"a", 1}};
    cts_field fx = {.key = {"x", 1}, .type = CTS_TYPE_FLOAT, .v.f = 1.5};
    cts_point p = float_point(&tag, &fx, 10);
    cts_write_result res;
    assert_int_equal(cts_db_write(db, &p, 1, &res), 0);
    assert_int_equal(res.points_written, 1);
    assert_int_equal(res.first_rejected, -1);

    /* one good point, then a string for the float field x */
    cts_field good = {.key = {"x", 1}, .type = CTS_TYPE_FLOAT, .v.f = 2.5};
    cts_field bad = {.key = {"x", 1}, .type = CTS_TYPE_STRING, .v.s = {"hot", 3}};
    cts_point pts[2] = {float_point(&tag, &good, 11), float_point(&tag, &bad, 12)};
    assert_int_equal(cts_db_write(db, pts, 2, &res), CTS_ETYPE);
    assert_string_equal(res.msg,
                        "field type conflict: \"x\" on measurement \"m\" is float, got string");
    assert_int_equal(res.points_written, 1);
    assert_int_equal(res.points_rejected, 1);
    assert_int_equal(res.first_rejected, 1);

    /* the conflict survives a reopen (the type is durable) */
    assert_int_equal(cts_db_close(db), 0);
    db = open_ok(dir, NULL);
    assert_int_equal(cts_db_write(db, &pts[1], 1, &res), CTS_ETYPE);
    assert_string_equal(res.msg,
                        "field type conflict: \"x\" on measurement \"m\" is float, got string");
    int64_t ts[8];
    double v[8];
    uint32_t sid = series_of(db, "a"), fid = field_of(db, "x");
    assert_int_equal(read_floats(db, sid, fid, ts, v, 8, NULL, 0), 2);
    assert_true(v[0] == 1.5 && v[1] == 2.5);

    /* an integer field refuses a float: no promotion that way */
    cts_field i = {.key = {"n", 1}, .type = CTS_TYPE_INT, .v.i = 3};
    cts_field fl = {.key = {"n", 1}, .type = CTS_TYPE_FLOAT, .v.f = 3.5};
    p = float_point(&tag, &i, 20);
    assert_int_equal(cts_db_write(db, &p, 1, &res), 0);
    p = float_point(&tag, &fl, 21);
    assert_int_equal(cts_db_write(db, &p, 1, &res), CTS_ETYPE);
    assert_string_equal(res.msg,
                        "field type conflict: \"n\" on measurement \"m\" is integer, got float");
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

static void int_promoted_to_float(void **state)
{
    (void)state;
    char dir[256];
    make_tmpdir(dir, sizeof dir, "errs-promo");
    cts_db *db = open_ok(dir, NULL);
    cts_tag tag = {{"id", 2}, {"a", 1}};
    cts_field f = {.key = {"t", 1}, .type = CTS_TYPE_FLOAT, .v.f = 24.6};
    cts_field i = {.key = {"t", 1}, .type = CTS_TYPE_INT, .v.i = 25};
    cts_point pts[2] = {float_point(&tag, &f, 1), float_point(&tag, &i, 2)};
    cts_write_result res;
    assert_int_equal(cts_db_write(db, pts, 2, &res), 0);
    assert_int_equal(res.points_written, 2);
    /* and in a later batch, after a reopen (through the WAL, then sealed) */
    assert_int_equal(cts_db_close(db), 0);
    db = open_ok(dir, NULL);
    i.v.i = -7;
    pts[0] = float_point(&tag, &i, 3);
    assert_int_equal(cts_db_write(db, pts, 1, &res), 0);
    cts_fieldlist *fl;
    assert_int_equal(cts_db_field_keys(db, "m", &fl), 0);
    assert_int_equal(fl->count, 1);
    assert_int_equal(fl->items[0].type, CTS_TYPE_FLOAT);
    cts_free(fl);
    int64_t ts[8];
    double v[8];
    for (int round = 0; round < 2; round++) {
        assert_int_equal(read_floats(db, series_of(db, "a"), field_of(db, "t"), ts, v, 8, NULL, 0),
                         3);
        assert_true(v[0] == 24.6 && v[1] == 25.0 && v[2] == -7.0);
        assert_int_equal(cts_db_close(db), 0);
        db = open_ok(dir, NULL);
    }
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

static void point_without_fields(void **state)
{
    (void)state;
    char dir[256];
    make_tmpdir(dir, sizeof dir, "errs-nofields");
    cts_db *db = open_ok(dir, NULL);
    cts_tag tag = {{"id", 2}, {"a", 1}};
    cts_field f = {.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = 1};
    cts_point pts[3] = {float_point(&tag, NULL, 1), float_point(&tag, &f, 2),
                        float_point(&tag, NULL, 3)};
    cts_write_result res;
    assert_int_equal(cts_db_write(db, pts, 3, &res), CTS_EINVAL);
    assert_int_equal(res.points_written, 1);
    assert_int_equal(res.points_rejected, 2);
    assert_int_equal(res.first_rejected, 0);
    assert_true(res.msg[0] != 0);
    assert_true(contains(res.msg, "field"));

    /* an empty measurement is refused the same way */
    pts[1].measurement = (cts_str){"", 0};
    assert_int_equal(cts_db_write(db, &pts[1], 1, &res), CTS_EINVAL);
    assert_int_equal(res.points_rejected, 1);
    assert_true(res.msg[0] != 0);

    int64_t ts[4];
    double v[4];
    assert_int_equal(read_floats(db, series_of(db, "a"), field_of(db, "v"), ts, v, 4, NULL, 0), 1);
    assert_int_equal(ts[0], 2);
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

static void duplicate_tag_keys(void **state)
{
    (void)state;
    char dir[256];
    make_tmpdir(dir, sizeof dir, "errs-duptag");
    cts_db *db = open_ok(dir, NULL);
    cts_tag tags[2] = {{{"city", 4}, {"lisbon", 6}}, {{"city", 4}, {"porto", 5}}};
    cts_field f = {.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = 1};
    cts_point p = {.measurement = {"m", 1}, .tags = tags, .ntags = 2, .fields = &f, .nfields = 1};
    cts_write_result res;
    assert_int_equal(cts_db_write(db, &p, 1, &res), CTS_EINVAL);
    assert_int_equal(res.points_rejected, 1);
    assert_true(contains(res.msg, "duplicate tag key"));
    cts_idlist *ids;
    assert_int_equal(cts_db_series_ids(db, "m", NULL, NULL, &ids), 0);
    assert_int_equal(ids->count, 0);
    cts_free(ids);
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

static void series_limit(void **state)
{
    (void)state;
    char dir[256], names[6][16];
    make_tmpdir(dir, sizeof dir, "errs-limit");
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.max_series = 3;
    cts_db *db = open_ok(dir, &o);
    cts_tag tags[6];
    cts_field f = {.key = {"v", 1}, .type = CTS_TYPE_FLOAT, .v.f = 1};
    cts_point pts[6];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof names[i], "s%d", i);
        tags[i] = (cts_tag){{"id", 2}, {names[i], 2}};
        pts[i] = float_point(&tags[i], &f, i);
    }
    pts[5].tags = &tags[0]; /* an existing series is still accepted */
    cts_write_result res;
    assert_int_equal(cts_db_write(db, pts, 6, &res), CTS_ELIMIT);
    assert_int_equal(res.points_written, 4);
    assert_int_equal(res.points_rejected, 2);
    assert_int_equal(res.first_rejected, 3);
    assert_int_equal(res.series_created, 3);
    assert_string_equal(res.msg, "max series limit reached: 3");
    /* the limit holds after a reopen */
    assert_int_equal(cts_db_close(db), 0);
    db = open_ok(dir, &o);
    assert_int_equal(cts_db_write(db, &pts[4], 1, &res), CTS_ELIMIT);
    assert_string_equal(res.msg, "max series limit reached: 3");
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

static void cursor_on_missing_column(void **state)
{
    (void)state;
    char dir[256];
    make_tmpdir(dir, sizeof dir, "errs-nocol");
    cts_db *db = open_ok(dir, NULL);
    assert_int_equal(write_batch(db, 0, 4), 0);
    uint32_t sid = series_of(db, "s0"), fid = field_of(db, "v");
    cts_cursor *cur = (cts_cursor *)1;
    assert_int_equal(cts_cursor_open(db, sid, fid + 1, 0, 100, false, &cur), CTS_ENOTFOUND);
    assert_null(cur);
    assert_int_equal(cts_cursor_open(db, sid + 7, fid, 0, 100, true, &cur), CTS_ENOTFOUND);
    assert_null(cur);
    /* an existing column over an empty range is fine, and just ends */
    assert_int_equal(cts_cursor_open(db, sid, fid, 500, 600, false, &cur), 0);
    cts_chunk c;
    assert_int_equal(cts_cursor_next(cur, &c), 0);
    cts_cursor_close(cur);
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

/* A write to a database opened read-only is refused with its own message
 * and does not poison the handle (it used to: the refusal went down the
 * path of a failed WAL append). */
static void read_only_refuses_writes(void **state)
{
    (void)state;
    char dir[256];
    make_tmpdir(dir, sizeof dir, "errs-ro");
    cts_db *db = open_ok(dir, NULL);
    assert_int_equal(write_batch(db, 0, 4), 0);
    assert_int_equal(cts_db_close(db), 0);
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.read_only = true;
    db = open_ok(dir, &o);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(write_batch(db, 1, 4), CTS_EINVAL);
        assert_true(contains(cts_db_errmsg(db), "read-only"));
    }
    assert_int_equal(batch_points(db, 0), 4);
    assert_int_equal(cts_db_close(db), 0);
    db = open_ok(dir, NULL);
    assert_int_equal(batch_points(db, 0), 4);
    assert_int_equal(batch_points(db, 1), 0);
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

/* ---- damaged files ---- */

static void flip_byte(const char *path, uint64_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

static void corrupt_block(void **state)
{
    (void)state;
    char dir[256], path[300], msg[512];
    make_tmpdir(dir, sizeof dir, "errs-block");
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.block_points = 16;
    cts_db *db = open_ok(dir, &o);
    for (int b = 0; b < 3; b++)
        assert_int_equal(write_batch(db, b, 40), 0);
    assert_int_equal(cts_db_close(db), 0);

    /* every block of series s0 is in p/0/segment; damage the first one */
    snprintf(path, sizeof path, "%s/p/0/segment", dir);
    flip_byte(path, 20);
    db = open_ok(dir, &o);
    int64_t ts[256];
    double v[256];
    uint32_t sid = series_of(db, "s0"), fid = field_of(db, "v");
    int rc = read_floats(db, sid, fid, ts, v, 256, msg, sizeof msg);
    assert_true(rc == CTS_ECHECKSUM || rc == CTS_ECORRUPT);
    char want[64];
    assert_true(contains(msg, path));
    assert_true(contains(msg, "offset 0"));
    snprintf(want, sizeof want, "series %u", sid);
    assert_true(contains(msg, want));

    /* the undamaged columns still read */
    assert_int_equal(read_floats(db, series_of(db, "s1"), fid, ts, v, 256, NULL, 0), 40);

    cts_verify_report rep;
    assert_int_equal(cts_db_verify(db, &rep), CTS_ECORRUPT);
    assert_true(rep.errors >= 1);
    assert_true(rep.blocks_checked >= 8);
    assert_true(contains(rep.first_error, path));
    assert_true(contains(rep.first_error, want));
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

/* Write `batches` batches with fsync=always, then lose power: the WAL keeps
 * every record and no checkpoint ran. */
static void wal_with_records(const char *dir, int batches)
{
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(cts_vfs_posix(), &f), 0);
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.fsync = CTS_DB_FSYNC_ALWAYS;
    o.vfs = cts_vfs_fault_vfs(f);
    cts_db *db = open_ok(dir, &o);
    for (int b = 0; b < batches; b++)
        assert_int_equal(write_batch(db, b, 10), 0);
    assert_int_equal(cts_vfs_fault_power_loss(f, 0), 0);
    assert_int_not_equal(cts_db_close(db), 0);
    cts_vfs_fault_reset(f);
    cts_vfs_fault_destroy(f);
}

/* The one WAL segment's path, and the offsets of its records. */
static int wal_records(const char *dir, char *path, size_t cap, uint64_t *offs, int max,
                       uint64_t *file_len)
{
    char wdir[300];
    snprintf(wdir, sizeof wdir, "%s/wal", dir);
    DIR *d = opendir(wdir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "wal-", 4) == 0 && strlen(e->d_name) == 24)
            found++, snprintf(path, cap, "%s/%s", wdir, e->d_name);
    closedir(d);
    assert_int_equal(found, 1);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    *file_len = (uint64_t)st.st_size;
    int n = 0;
    for (uint64_t off = 32; off + 16 <= *file_len && n < max; n++) {
        uint8_t h[4];
        assert_int_equal(pread(fd, h, 4, (off_t)off), 4);
        offs[n] = off;
        off += 16 +
               ((uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24);
    }
    close(fd);
    return n;
}

static void corrupt_wal_middle(void **state)
{
    (void)state;
    char dir[256], path[400], want[64];
    uint64_t offs[16], len;
    make_tmpdir(dir, sizeof dir, "errs-walmid");
    wal_with_records(dir, 5);
    int n = wal_records(dir, path, sizeof path, offs, 16, &len);
    assert_int_equal(n, 5);
    flip_byte(path, offs[2] + 20); /* inside the third record's payload */

    cts_db *db = (cts_db *)1;
    assert_int_equal(cts_db_open(dir, NULL, &db), CTS_ECORRUPT);
    assert_null(db);
    snprintf(want, sizeof want, "offset %llu", (unsigned long long)offs[2]);
    assert_true(contains(cts_db_open_error(), path));
    assert_true(contains(cts_db_open_error(), want));
    /* a failed open changes nothing: it fails again the same way */
    assert_int_equal(cts_db_open(dir, NULL, &db), CTS_ECORRUPT);

    cts_db_opts o;
    cts_db_opts_init(&o);
    o.quarantine_wal = true;
    db = open_ok(dir, &o);
    for (int b = 0; b < 2; b++)
        assert_int_equal(batch_points(db, b), 10);
    for (int b = 2; b < 5; b++)
        assert_int_equal(batch_points(db, b), 0);
    cts_verify_report rep;
    assert_int_equal(cts_db_verify(db, &rep), 0);
    assert_int_equal(write_batch(db, 7, 10), 0);
    assert_int_equal(cts_db_close(db), 0);

    /* the damaged segment was kept aside; later opens need no quarantine */
    char corrupt[420];
    snprintf(corrupt, sizeof corrupt, "%s.corrupt", path);
    struct stat st;
    assert_int_equal(stat(corrupt, &st), 0);
    db = open_ok(dir, NULL);
    assert_int_equal(batch_points(db, 1), 10);
    assert_int_equal(batch_points(db, 7), 10);
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

static void torn_wal_tail(void **state)
{
    (void)state;
    char dir[256], path[400];
    uint64_t offs[16], len;
    make_tmpdir(dir, sizeof dir, "errs-waltail");
    wal_with_records(dir, 5);
    int n = wal_records(dir, path, sizeof path, offs, 16, &len);
    assert_int_equal(n, 5);
    assert_int_equal(truncate(path, (off_t)(offs[4] + (len - offs[4]) / 2)), 0);

    cts_db *db = open_ok(dir, NULL);
    for (int b = 0; b < 4; b++)
        assert_int_equal(batch_points(db, b), 10);
    assert_int_equal(batch_points(db, 4), 0);
    cts_verify_report rep;
    assert_int_equal(cts_db_verify(db, &rep), 0);
    assert_int_equal(cts_db_close(db), 0);
    remove_tree(dir);
}

static void corrupt_catalog_record(void **state)
{
    (void)state;
    char dir[256], path[300];
    make_tmpdir(dir, sizeof dir, "errs-cat");
    cts_db *db = open_ok(dir, NULL);
    assert_int_equal(write_batch(db, 0, 5), 0);
    assert_int_equal(cts_db_flush(db), 0);
    assert_int_equal(write_batch(db, 1, 5), 0);
    assert_int_equal(cts_db_close(db), 0);

    /* the first record (after the 16-byte header and 8-byte record header)
     * is followed by valid commit records: damage, not a torn tail */
    snprintf(path, sizeof path, "%s/catalog", dir);
    flip_byte(path, 16 + 8 + 2);
    assert_int_equal(cts_db_open(dir, NULL, &db), CTS_ECORRUPT);
    assert_null(db);
    assert_true(contains(cts_db_open_error(), path));
    assert_true(contains(cts_db_open_error(), "offset 16"));
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_options),
        cmocka_unit_test(unwritable_directory),
        cmocka_unit_test(type_conflict_message),
        cmocka_unit_test(int_promoted_to_float),
        cmocka_unit_test(point_without_fields),
        cmocka_unit_test(duplicate_tag_keys),
        cmocka_unit_test(series_limit),
        cmocka_unit_test(cursor_on_missing_column),
        cmocka_unit_test(read_only_refuses_writes),
        cmocka_unit_test(corrupt_block),
        cmocka_unit_test(corrupt_wal_middle),
        cmocka_unit_test(torn_wal_tail),
        cmocka_unit_test(corrupt_catalog_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
