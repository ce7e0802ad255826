/*
 * test_catalog_file.c: the catalog file (catalog_file.c).
 *
 * Every test compares what a reopened catalog holds with a reference
 * catalog that saw the same calls in memory. Covered: round trip across
 * syncs, unsynced definitions dropped, a torn tail at every truncation
 * offset of the last batch and as garbage, a flipped byte in a synced
 * record (CTS_ECORRUPT naming file and offset), a damaged header, records
 * whose checksum holds but whose content contradicts the file, failed and
 * short writes and fsyncs (poisoning), power loss at random points, and
 * allocation failure at every allocation of open, load and sync.
 */
#include "cts_test.h"

#include "catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#define S(lit) ((cts_str){(lit), (uint32_t)(sizeof(lit) - 1)})

typedef struct tdir {
    char dir[512];
    char file[600];
} tdir;

static void dir_make(tdir *d)
{
    const char *base = getenv("CTS_TEST_TMPDIR");
    snprintf(d->dir, sizeof d->dir, "%s/catalog-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(d->dir));
    snprintf(d->file, sizeof d->file, "%s/catalog", d->dir);
}

static void dir_remove(tdir *d)
{
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", d->file);
    unlink(d->file);
    unlink(tmp);
    assert_int_equal(rmdir(d->dir), 0);
}

static uint8_t *file_read(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static void file_write(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
    close(fd);
}

static size_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
}

/* ---- deterministic definitions ---- */

static void series_def(uint32_t i, char *sensor, cts_str *m, cts_tag *tags, uint32_t *ntags)
{
    static const cts_str cities[] = {S("lisbon"), S("porto"), S("faro")};
    int n = snprintf(sensor, 32, "sensor,%u =x", i);
    *m = i % 5 == 4 ? S("traffic") : S("air");
    tags[0] = (cts_tag){S("sensor"), {sensor, (uint32_t)n}};
    tags[1] = (cts_tag){S("city"), cities[i % 3]};
    *ntags = i % 7 == 6 ? 1 : 2;
}

static const cts_str field_names[] = {S("pm25"), S("temp"), S("count"), S("on")};

/* Adds series [from, to) and field j to cat (and to ref when not NULL). */
static void add_defs(cts_catalog *cat, cts_catalog *ref, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++) {
        char sensor[32];
        cts_str m;
        cts_tag tags[2];
        uint32_t n, id;
        bool is_new;
        series_def(i, sensor, &m, tags, &n);
        assert_int_equal(cts_catalog_series_intern(cat, m, tags, n, &id, &is_new), CTS_OK);
        assert_true(is_new);
        if (ref)
            assert_int_equal(cts_catalog_series_intern(ref, m, tags, n, &id, NULL), CTS_OK);
        if (i % 3 == 0) {
            cts_str fm = i % 2 ? S("air") : S("traffic");
            cts_type t = (cts_type)(1 + i % 5);
            cts_str fname = field_names[(i / 3) % 4];
            int rc = cts_catalog_field_intern(cat, fm, fname, t, &id, NULL, NULL);
            assert_true(rc == CTS_OK || rc == CTS_ETYPE);
            if (ref && rc == CTS_OK)
                assert_int_equal(cts_catalog_field_intern(ref, fm, fname, t, &id, NULL, NULL),
                                 CTS_OK);
        }
    }
}

static cts_catalog *mem_catalog(void)
{
    cts_catalog_options o = {.hash_seed = 5};
    cts_catalog *cat = NULL;
    assert_int_equal(cts_catalog_create(&o, &cat), CTS_OK);
    return cat;
}

static int open_catalog(const tdir *d, const cts_vfs *vfs, cts_catalog **cat,
                        cts_catalog_report *rep)
{
    *cat = mem_catalog();
    int rc = cts_catalog_open(*cat, vfs ? vfs : cts_vfs_posix(), d->dir, rep);
    return rc;
}

/* cat holds exactly ref's first nseries series and nfields fields. */
static void same_as(cts_catalog *cat, cts_catalog *ref, uint32_t nseries, uint32_t nfields)
{
    assert_int_equal(cts_catalog_series_count(cat), nseries);
    assert_int_equal(cts_catalog_field_count(cat), nfields);
    for (uint32_t id = 0; id < nseries; id++) {
        const uint8_t *a, *b;
        size_t la, lb;
        assert_int_equal(cts_catalog_series_key(cat, id, &a, &la), CTS_OK);
        assert_int_equal(cts_catalog_series_key(ref, id, &b, &lb), CTS_OK);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
    }
    for (uint32_t id = 0; id < nfields; id++) {
        cts_str m1, n1, m2, n2;
        cts_type t1, t2;
        assert_int_equal(cts_catalog_field_get(cat, id, &m1, &n1, &t1), CTS_OK);
        assert_int_equal(cts_catalog_field_get(ref, id, &m2, &n2, &t2), CTS_OK);
        assert_true(m1.len == m2.len && memcmp(m1.ptr, m2.ptr, m1.len) == 0);
        assert_true(n1.len == n2.len && memcmp(n1.ptr, n2.ptr, n1.len) == 0);
        assert_int_equal(t1, t2);
    }
    assert_int_equal(cts_catalog_check(cat), CTS_OK);
}

/* ---- record walking ---- */

typedef struct rec_pos {
    size_t off, len; /* whole record, header included */
    uint8_t kind;
} rec_pos;

static size_t walk(const uint8_t *buf, size_t len, rec_pos *out, size_t cap)
{
    size_t n = 0, off = 16;
    while (off + 8 <= len && n < cap) {
        uint32_t l = (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8 |
                     (uint32_t)buf[off + 2] << 16 | (uint32_t)buf[off + 3] << 24;
        out[n++] = (rec_pos){off, 8 + (size_t)l, buf[off + 8]};
        off += 8 + (size_t)l;
    }
    assert_int_equal(off, len);
    return n;
}

/* ------------------------------------------------------------------------ */

static void test_round_trip(void **state)
{
    (void)state;
    tdir d;
    dir_make(&d);
    cts_catalog *cat, *ref = mem_catalog();
    cts_catalog_report rep;
    assert_int_equal(open_catalog(&d, NULL, &cat, &rep), CTS_OK);
    assert_true(rep.created);
    assert_int_equal(file_size(d.file), 16);
    assert_int_equal(cts_catalog_sync(cat), CTS_OK); /* nothing pending: no write */
    assert_int_equal(file_size(d.file), 16);
    add_defs(cat, ref, 0, 200);
    assert_int_equal(cts_catalog_sync(cat), CTS_OK);
    add_defs(cat, ref, 200, 300);
    assert_int_equal(cts_catalog_sync(cat), CTS_OK);
    size_t synced = file_size(d.file);
    uint32_t nf = cts_catalog_field_count(cat);
    add_defs(cat, NULL, 300, 310); /* never synced: dropped */
    cts_catalog_destroy(cat);
    assert_int_equal(file_size(d.file), synced);

    assert_int_equal(open_catalog(&d, NULL, &cat, &rep), CTS_OK);
    assert_false(rep.created);
    assert_int_equal(rep.torn_bytes, 0);
    assert_int_equal(rep.file_bytes, synced);
    assert_int_equal(rep.records, 300 + nf + 2);
    same_as(cat, ref, 300, nf);
    /* Interning a loaded series finds it; a new one takes the next id. */
    char sensor[32];
    cts_str m;
    cts_tag tags[2];
    uint32_t n, id;
    bool is_new;
    series_def(17, sensor, &m, tags, &n);
    assert_int_equal(cts_catalog_series_intern(cat, m, tags, n, &id, &is_new), CTS_OK);
    assert_false(is_new);
    assert_int_equal(id, 17);
    add_defs(cat, ref, 300, 320);
    assert_int_equal(cts_catalog_sync(cat), CTS_OK);
    nf = cts_catalog_field_count(cat);
    cts_catalog_destroy(cat);
    assert_int_equal(open_catalog(&d, NULL, &cat, &rep), CTS_OK);
    same_as(cat, ref, 320, nf);
    /* Open is for a fresh handle only. */
    assert_int_equal(cts_catalog_open(cat, cts_vfs_posix(), d.dir, NULL), CTS_EINVAL);
    cts_catalog_destroy(cat);
    cts_catalog_destroy(ref);
    dir_remove(&d);
}

static void test_open_errors(void **state)
{
    (void)state;
    tdir d;
    dir_make(&d);
    char missing[700], tmp[700];
    snprintf(missing, sizeof missing, "%s/no/such/dir", d.dir);
    cts_catalog *cat = mem_catalog();
    assert_int_equal(cts_catalog_open(cat, cts_vfs_posix(), missing, NULL), CTS_ENOTFOUND);
    cts_catalog_destroy(cat);
    /* A non-empty in-memory catalog cannot adopt a file. */
    cat = mem_catalog();
    uint32_t id;
    assert_int_equal(cts_catalog_series_intern(cat, S("air"), NULL, 0, &id, NULL), CTS_OK);
    assert_int_equal(cts_catalog_open(cat, cts_vfs_posix(), d.dir, NULL), CTS_EINVAL);
    assert_int_equal(cts_catalog_sync(cat), CTS_OK); /* in memory: nothing to do */
    cts_catalog_destroy(cat);
    /* A leftover catalog.tmp (a crash while creating) is removed. */
    snprintf(tmp, sizeof tmp, "%s.tmp", d.file);
    file_write(tmp, (const uint8_t *)"junk", 4);
    cts_catalog_report rep;
    assert_int_equal(open_catalog(&d, NULL, &cat, &rep), CTS_OK);
    assert_true(rep.created);
    assert_int_equal(access(tmp, F_OK), -1);
    cts_catalog_destroy(cat);
    dir_remove(&d);
}

/* A file of two synced batches; returns where the second batch starts. */
static size_t two_batches(const tdir *d, cts_catalog *ref, uint32_t *nfields)
{
    cts_catalog *cat;
    assert_int_equal(open_catalog(d, NULL, &cat, NULL), CTS_OK);
    add_defs(cat, ref, 0, 10);
    assert_int_equal(cts_catalog_sync(cat), CTS_OK);
    size_t start = file_size(d->file);
    *nfields = cts_catalog_field_count(cat);
    add_defs(cat, ref, 10, 11); /* one series record (10 % 3 != 0: no field) */
    assert_int_equal(cts_catalog_sync(cat), CTS_OK);
    cts_catalog_destroy(cat);
    return start;
}

static void test_torn_tail_every_offset(void **state)
{
    (void)state;
    tdir d;
    dir_make(&d);
    cts_catalog *ref = mem_catalog();
    uint32_t nf;
    size_t start = two_batches(&d, ref, &nf), len;
    uint8_t *orig = file_read(d.file, &len);
    rec_pos recs[64];
    size_t nrec = walk(orig, len, recs, 64);
    assert_true(nrec >= 3);
    assert_int_equal(recs[nrec - 2].off, start); /* series, then commit */
    size_t series_end = start + recs[nrec - 2].len;
    for (size_t cut = start; cut < len; cut++) {
        file_write(d.file, orig, cut);
        cts_catalog *cat;
        cts_catalog_report rep;
        assert_int_equal(open_catalog(&d, NULL, &cat, &rep), CTS_OK);
        size_t keep = cut < series_end ? start : series_end;
        assert_int_equal(rep.torn_offset, cut == keep ? 0 : keep);
        assert_int_equal(rep.torn_bytes, cut - keep);
        if (cut > keep)
            assert_non_null(strstr(cts_catalog_errmsg(cat), "torn tail"));
        assert_int_equal(file_size(d.file), keep);
        same_as(cat, ref, keep == start ? 10 : 11, nf);
        /* The repaired file takes appends and reloads. */
        add_defs(cat, NULL, keep == start ? 10 : 11, 12);
        assert_int_equal(cts_catalog_sync(cat), CTS_OK);
        cts_catalog_destroy(cat);
        assert_int_equal(open_catalog(&d, NULL, &cat, &rep), CTS_OK);
        assert_int_equal(rep.torn_bytes, 0);
        assert_int_equal(cts_catalog_series_count(cat), 12);
        cts_catalog_destroy(cat);
    }
    /* Garbage and zeros after the last commit are a torn tail too. */
    for (int zeros = 0; zeros < 2; zeros++) {
        uint8_t *junk = malloc(len + 300);
        assert_non_null(junk);
        memcpy(junk, orig, len);
        cts_rng r = {99};
        for (size_t i = len; i < len + 300; i++)
            junk[i] = zeros ? 0 : (uint8_t)cts_rng_next(&r);
        file_write(d.file, junk, len + 300);
        free(junk);
        cts_catalog *cat;
        cts_catalog_report rep;
        assert_int_equal(open_catalog(&d, NULL, &cat, &rep), CTS_OK);
        assert_int_equal(rep.torn_offset, len);
        assert_int_equal(rep.torn_bytes, 300);
        same_as(cat, ref, 11, nf);
        cts_catalog_destroy(cat);
    }
    free(orig);
    cts_catalog_destroy(ref);
    dir_remove(&d);
}

/* Opens a copy of `orig` with byte `at` xor-ed; returns the result. */
static int open_flipped(const tdir *d, const uint8_t *orig, size_t len, size_t at, uint8_t mask,
                        char *msg, size_t msg_cap)
{
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, orig, len);
    copy[at] ^= mask;
    file_write(d->file, copy, len);
    free(copy);
    cts_catalog *cat;
    int rc = open_catalog(d, NULL, &cat, NULL);
    snprintf(msg, msg_cap, "%s", cts_catalog_errmsg(cat));
    cts_catalog_destroy(cat);
    return rc;
}

static void test_corrupt_middle(void **state)
{
    (void)state;
    tdir d;
    dir_make(&d);
    cts_catalog *cat, *ref = mem_catalog();
    assert_int_equal(open_catalog(&d, NULL, &cat, NULL), CTS_OK);
    for (uint32_t b = 0; b < 3; b++) {
        add_defs(cat, ref, b * 20, b * 20 + 20);
        assert_int_equal(cts_catalog_sync(cat), CTS_OK);
    }
    cts_catalog_destroy(cat);
    size_t len;
    uint8_t *orig = file_read(d.file, &len);
    rec_pos recs[256];
    size_t nrec = walk(orig, len, recs, 256);
    char msg[600], want[700];
    /* Every byte of a record in the middle: header, kind, id, key. */
    const rec_pos *mid = &recs[nrec / 3];
    for (size_t i = 0; i < mid->len; i++) {
        assert_int_equal(open_flipped(&d, orig, len, mid->off + i, 0x20, msg, sizeof msg),
                         CTS_ECORRUPT);
        snprintf(want, sizeof want, "catalog file %s: bad record at offset %zu", d.file, mid->off);
        assert_non_null(strstr(msg, want));
    }
    /* A record of the last batch, before its commit: also synced. */
    assert_int_equal(open_flipped(&d, orig, len, recs[nrec - 2].off + 9, 1, msg, sizeof msg),
                     CTS_ECORRUPT);
    /* The last commit record itself: nothing valid after it, so torn. */
    assert_int_equal(open_flipped(&d, orig, len, recs[nrec - 1].off + 10, 1, msg, sizeof msg),
                     CTS_OK);
    assert_non_null(strstr(msg, "torn tail"));
    /* Header: magic, version field (checksum then fails), checksum. */
    assert_int_equal(open_flipped(&d, orig, len, 0, 1, msg, sizeof msg), CTS_ECORRUPT);
    assert_non_null(strstr(msg, "bad magic"));
    assert_int_equal(open_flipped(&d, orig, len, 8, 2, msg, sizeof msg), CTS_ECORRUPT);
    assert_int_equal(open_flipped(&d, orig, len, 13, 1, msg, sizeof msg), CTS_ECORRUPT);
    assert_non_null(strstr(msg, "offset 0"));
    file_write(d.file, orig, 10);
    assert_int_equal(open_catalog(&d, NULL, &cat, NULL), CTS_ECORRUPT);
    cts_catalog_destroy(cat);
    free(orig);
    cts_catalog_destroy(ref);
    dir_remove(&d);
}

/* Appends one record with a valid checksum to the file. */
static void append_record(const char *path, uint8_t kind, const uint8_t *payload, uint32_t n)
{
    size_t len;
    uint8_t *buf = file_read(path, &len);
    uint8_t *rec = malloc(9 + n);
    assert_non_null(rec);
    uint32_t l = 1 + n;
    for (int i = 0; i < 4; i++)
        rec[i] = (uint8_t)(l >> (8 * i));
    rec[8] = kind;
    memcpy(rec + 9, payload, n);
    uint32_t crc = cts_crc32c_extend(cts_crc32c(rec, 4), rec + 8, l);
    for (int i = 0; i < 4; i++)
        rec[4 + i] = (uint8_t)(crc >> (8 * i));
    buf = realloc(buf, len + 9 + n);
    assert_non_null(buf);
    memcpy(buf + len, rec, 9 + n);
    file_write(path, buf, len + 9 + n);
    free(buf);
    free(rec);
}

static void test_contradicting_records(void **state)
{
    (void)state;
    tdir d;
    dir_make(&d);
    cts_catalog *cat;
    assert_int_equal(open_catalog(&d, NULL, &cat, NULL), CTS_OK);
    cts_catalog_destroy(cat);
    size_t len;
    uint8_t *empty = file_read(d.file, &len);
    const uint8_t key[] = {3, 'a', 'i', 'r', 0};
    const uint8_t series_id5[] = {5, 0, 0, 0, 3, 'a', 'i', 'r', 0};
    const uint8_t series_bad_key[] = {0, 0, 0, 0, 3, 'a', 'i', 'r'};
    const uint8_t field_bad_type[] = {0, 0, 0, 0, 9, 1, 0, 'm', 1, 0, 'f'};
    const uint8_t commit_wrong[] = {7, 0, 0, 0, 0, 0, 0, 0};
    const struct {
        uint8_t kind;
        const uint8_t *p;
        uint32_t n;
        const char *why;
    } cases[] = {
        {1, series_id5, sizeof series_id5, "expected the next id 0"},
        {1, series_bad_key, sizeof series_bad_key, "malformed series key"},
        {2, field_bad_type, sizeof field_bad_type, "bad name or type"},
        {3, commit_wrong, sizeof commit_wrong, "commit record counts 7 series"},
        {9, key, sizeof key, "unknown record kind 9"},
    };
    char want[700];
    snprintf(want, sizeof want, "catalog file %s: record at offset 16: ", d.file);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        file_write(d.file, empty, len);
        append_record(d.file, cases[i].kind, cases[i].p, cases[i].n);
        assert_int_equal(open_catalog(&d, NULL, &cat, NULL), CTS_ECORRUPT);
        assert_non_null(strstr(cts_catalog_errmsg(cat), want));
        assert_non_null(strstr(cts_catalog_errmsg(cat), cases[i].why));
        cts_catalog_destroy(cat);
    }
    free(empty);
    dir_remove(&d);
}

static void test_sync_failures(void **state)
{
    (void)state;
    static const struct {
        cts_vfs_op op;
        int err;
        int want;
    } faults[] = {
        {CTS_VFS_OP_PWRITE, EIO, CTS_EIO},
        {CTS_VFS_OP_PWRITE, ENOSPC, CTS_ENOSPC},
        {CTS_VFS_OP_FSYNC, EIO, CTS_EIO},
    };
    for (size_t f = 0; f < sizeof faults / sizeof faults[0]; f++) {
        tdir d;
        dir_make(&d);
        cts_vfs_fault *fv;
        assert_int_equal(cts_vfs_fault_create(cts_vfs_posix(), &fv), CTS_OK);
        cts_catalog *cat, *ref = mem_catalog();
        assert_int_equal(open_catalog(&d, cts_vfs_fault_vfs(fv), &cat, NULL), CTS_OK);
        add_defs(cat, ref, 0, 30);
        cts_vfs_fault_short_writes(fv, 7); /* short writes are looped over */
        assert_int_equal(cts_catalog_sync(cat), CTS_OK);
        cts_vfs_fault_short_writes(fv, 0);
        uint32_t nf = cts_catalog_field_count(cat);
        add_defs(cat, NULL, 30, 40);
        assert_int_equal(cts_vfs_fault_fail(fv, faults[f].op, 1, faults[f].err, CTS_FAULT_ONCE),
                         CTS_OK);
        assert_int_equal(cts_catalog_sync(cat), faults[f].want);
        assert_non_null(strstr(cts_catalog_errmsg(cat), d.file));
        /* Poisoned: no new definitions, no sync; lookups still work. */
        char sensor[32];
        cts_str m;
        cts_tag tags[2];
        uint32_t n, id;
        series_def(50, sensor, &m, tags, &n);
        assert_int_equal(cts_catalog_series_intern(cat, m, tags, n, &id, NULL), CTS_EPOISONED);
        assert_int_equal(
            cts_catalog_field_intern(cat, S("x"), S("y"), CTS_TYPE_INT, &id, NULL, NULL),
            CTS_EPOISONED);
        series_def(35, sensor, &m, tags, &n);
        assert_int_equal(cts_catalog_series_intern(cat, m, tags, n, &id, NULL), CTS_OK);
        assert_int_equal(id, 35);
        assert_int_equal(cts_catalog_sync(cat), CTS_EPOISONED);
        cts_catalog_destroy(cat);
        /* Reopening recovers: the synced part at least, whole records only. */
        cts_catalog_report rep;
        assert_int_equal(open_catalog(&d, NULL, &cat, &rep), CTS_OK);
        uint32_t got = cts_catalog_series_count(cat);
        assert_true(got == 30 || (faults[f].op == CTS_VFS_OP_FSYNC && got == 40));
        if (got == 30)
            same_as(cat, ref, 30, nf);
        else
            assert_int_equal(cts_catalog_check(cat), CTS_OK);
        cts_catalog_destroy(cat);
        cts_catalog_destroy(ref);
        cts_vfs_fault_destroy(fv);
        dir_remove(&d);
    }
}

/* A power loss while a sync's data is written but not yet fsynced keeps
 * a random prefix of it; reopening keeps every whole record of that prefix
 * and reports the rest as torn. */
static void test_power_loss(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 25; seed++) {
        tdir d;
        dir_make(&d);
        cts_vfs_fault *fv;
        assert_int_equal(cts_vfs_fault_create(cts_vfs_posix(), &fv), CTS_OK);
        const cts_vfs *vfs = cts_vfs_fault_vfs(fv);
        cts_catalog *cat, *ref = mem_catalog();
        assert_int_equal(open_catalog(&d, vfs, &cat, NULL), CTS_OK);
        add_defs(cat, ref, 0, 20);
        assert_int_equal(cts_catalog_sync(cat), CTS_OK);
        add_defs(cat, ref, 20, 60);
        assert_int_equal(cts_vfs_fault_fail(fv, CTS_VFS_OP_FSYNC, 1, EIO, CTS_FAULT_ONCE), CTS_OK);
        assert_int_equal(cts_catalog_sync(cat), CTS_EIO);
        assert_int_equal(cts_vfs_fault_power_loss(fv, seed), CTS_OK);
        cts_catalog_destroy(cat);
        cts_vfs_fault_reset(fv);
        cts_catalog_report rep;
        assert_int_equal(open_catalog(&d, vfs, &cat, &rep), CTS_OK);
        uint32_t got = cts_catalog_series_count(cat);
        assert_true(got >= 20 && got <= 60);
        same_as(cat, ref, got, cts_catalog_field_count(cat));
        cts_catalog_destroy(cat);
        cts_catalog_destroy(ref);
        cts_vfs_fault_destroy(fv);
        dir_remove(&d);
    }
}

/* A crash while the file is being created leaves no `catalog`, or a whole
 * one: never a file without its header. */
static void test_create_crash(void **state)
{
    (void)state;
    static const cts_vfs_op ops[] = {CTS_VFS_OP_PWRITE, CTS_VFS_OP_FSYNC, CTS_VFS_OP_RENAME,
                                     CTS_VFS_OP_FSYNC_DIR};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        tdir d;
        dir_make(&d);
        cts_vfs_fault *fv;
        assert_int_equal(cts_vfs_fault_create(cts_vfs_posix(), &fv), CTS_OK);
        cts_catalog *cat;
        assert_int_equal(cts_vfs_fault_fail(fv, ops[i], 1, EIO, CTS_FAULT_ONCE), CTS_OK);
        assert_int_equal(open_catalog(&d, cts_vfs_fault_vfs(fv), &cat, NULL), CTS_EIO);
        cts_catalog_destroy(cat);
        assert_int_equal(cts_vfs_fault_power_loss(fv, 0), CTS_OK);
        cts_vfs_fault_reset(fv);
        cts_catalog_report rep;
        assert_int_equal(open_catalog(&d, cts_vfs_fault_vfs(fv), &cat, &rep), CTS_OK);
        assert_int_equal(cts_catalog_series_count(cat), 0);
        cts_catalog_destroy(cat);
        cts_vfs_fault_destroy(fv);
        dir_remove(&d);
    }
}

/* Every allocation of open, load, intern and sync may fail: each call
 * returns CTS_ENOMEM or succeeds, nothing leaks (ASan), and what reopens
 * equals the reference up to the definitions that succeeded. */
static void test_alloc_failure(void **state)
{
    (void)state;
    tdir d;
    dir_make(&d);
    cts_catalog *cat, *ref = mem_catalog();
    assert_int_equal(open_catalog(&d, NULL, &cat, NULL), CTS_OK);
    add_defs(cat, ref, 0, 15);
    assert_int_equal(cts_catalog_sync(cat), CTS_OK);
    add_defs(cat, ref, 15, 25);
    assert_int_equal(cts_catalog_sync(cat), CTS_OK);
    uint32_t nf = cts_catalog_field_count(cat);
    cts_catalog_destroy(cat);
    add_defs(ref, NULL, 25, 26);
    size_t len;
    uint8_t *orig = file_read(d.file, &len);
    for (long n = 0;; n++) {
        file_write(d.file, orig, len);
        cts_alloc_fail_after(n);
        cat = NULL;
        cts_catalog_options o = {.hash_seed = 5};
        int rc = cts_catalog_create(&o, &cat);
        if (rc == CTS_OK)
            rc = cts_catalog_open(cat, cts_vfs_posix(), d.dir, NULL);
        bool opened = rc == CTS_OK;
        int add_rc = CTS_ENOMEM, sync_rc = CTS_ENOMEM;
        char sensor[32];
        cts_str m;
        cts_tag tags[2];
        uint32_t nt, id;
        series_def(25, sensor, &m, tags, &nt);
        if (opened && (add_rc = cts_catalog_series_intern(cat, m, tags, nt, &id, NULL)) == CTS_OK)
            sync_rc = cts_catalog_sync(cat);
        long failures = cts_alloc_failures();
        cts_alloc_fail_after(-1);
        assert_true(rc == CTS_OK || rc == CTS_ENOMEM);
        assert_true(add_rc == CTS_OK || add_rc == CTS_ENOMEM);
        assert_true(sync_rc == CTS_OK || sync_rc == CTS_ENOMEM);
        if (opened) {
            same_as(cat, ref, add_rc == CTS_OK ? 26 : 25, nf);
            if (add_rc == CTS_OK && sync_rc != CTS_OK)
                assert_int_equal(cts_catalog_sync(cat), CTS_OK);
        }
        cts_catalog_destroy(cat);
        if (opened) {
            assert_int_equal(open_catalog(&d, NULL, &cat, NULL), CTS_OK);
            same_as(cat, ref, add_rc == CTS_OK ? 26 : 25, nf);
            cts_catalog_destroy(cat);
        }
        if (failures == 0)
            break;
    }
    free(orig);
    cts_catalog_destroy(ref);
    dir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_torn_tail_every_offset),
        cmocka_unit_test(test_corrupt_middle),
        cmocka_unit_test(test_contradicting_records),
        cmocka_unit_test(test_sync_failures),
        cmocka_unit_test(test_power_loss),
        cmocka_unit_test(test_create_crash),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
