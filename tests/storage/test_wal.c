/*
 * test_wal.c: the write-ahead log: round trips across rotations and
 * reopens on both I/O backends, fsync policies, group commit under
 * concurrent writers, torn tails cut at every offset, corruption reported
 * with file and offset, quarantine, missing segments, removal.
 *
 * Payloads are a function of (seed, seq), so a replay is checked without
 * keeping what was written.
 */
#include "cts_test.h"
#include "scratch_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#define BIG_CAP (128u * 1024)

typedef struct param {
    cts_io_backend io;
    const char *name;
} param;

static param P_URING = {CTS_IO_URING, "io_uring"};
static param P_PWRITE = {CTS_IO_PWRITE, "pwrite"};

static int uring_ok(void)
{
    cts_io *io;
    if (cts_io_create(NULL, CTS_IO_URING, &io) != 0)
        return 0;
    cts_io_destroy(io);
    return 1;
}

static void need_backend(const param *p)
{
    if (p->io == CTS_IO_URING && !uring_ok())
        skip();
}

/* Seeds below this give only small payloads (for byte-level surgery). */
#define SMALL_SEEDS 100

/* The payload of record `seq`: mostly small, sometimes ~100 KB. */
static size_t payload_for(uint64_t seed, uint64_t seq, uint8_t *buf)
{
    cts_rng r = {seed * 1000003u + seq};
    int big = seed >= SMALL_SEEDS && cts_rng_below(&r, 50) == 0;
    size_t len = big ? 90000 + cts_rng_below(&r, 12000) : cts_rng_below(&r, 300);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)cts_rng_next(&r);
    return len;
}

typedef struct checker {
    uint64_t seed;
    uint64_t next; /* seq expected next; 0 = take the first as it comes */
    uint64_t count;
    int allow_gaps; /* seqs may jump forward (quarantine) */
    int bad;
    uint8_t *buf;
} checker;

static int check_cb(void *ctx, uint64_t seq, const void *payload, size_t len)
{
    checker *c = ctx;
    if (c->next && (c->allow_gaps ? seq < c->next : seq != c->next))
        c->bad = 1;
    size_t want = payload_for(c->seed, seq, c->buf);
    if (want != len || (len && memcmp(c->buf, payload, len) != 0))
        c->bad = 1;
    c->next = seq + 1;
    c->count++;
    return 0;
}

static char last_log[1024];

static void capture_log(void *ctx, const char *line)
{
    (void)ctx;
    snprintf(last_log, sizeof last_log, "%s", line);
}

static cts_wal_opts opts_for(const param *p, cts_wal_fsync fsync, uint64_t segment_bytes)
{
    cts_wal_opts o = {0};
    o.io = p->io;
    o.fsync = fsync;
    o.segment_bytes = segment_bytes;
    o.interval_ms = 20;
    o.log = capture_log;
    return o;
}

/* Open and replay, checking payloads from first_seq on. */
static cts_wal *open_check(const char *dir, const cts_wal_opts *o, checker *c,
                           cts_wal_replay_report *rep)
{
    cts_wal *wal;
    assert_int_equal(cts_wal_open(dir, o, &wal), 0);
    int r = cts_wal_replay(wal, check_cb, c, rep);
    if (r != 0)
        fail_msg("replay: %s: %s", cts_errname(r), cts_wal_errmsg(wal));
    assert_false(c->bad);
    return wal;
}

/* Append records first..last, waiting for durability every `every`. */
static void append_range(cts_wal *wal, uint64_t seed, uint64_t first, uint64_t last, int every,
                         uint8_t *buf)
{
    for (uint64_t s = first; s <= last; s++) {
        size_t len = payload_for(seed, s, buf);
        uint64_t seq;
        assert_int_equal(cts_wal_append(wal, buf, len, &seq), 0);
        assert_int_equal(seq, s);
        if (every && s % (uint64_t)every == 0)
            assert_int_equal(cts_wal_wait_durable(wal, seq), 0);
    }
}

/* ---- round trips ---- */

static void round_trip(const param *p, cts_wal_fsync fsync)
{
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-rt"), 0);
    uint8_t *buf = malloc(BIG_CAP);
    checker c = {.seed = 107, .buf = malloc(BIG_CAP)};
    cts_wal_opts o = opts_for(p, fsync, 256 * 1024);
    cts_wal_replay_report rep;
    cts_wal *wal = open_check(d.path, &o, &c, &rep);
    assert_string_equal(cts_wal_io_backend(wal), p->name);
    assert_int_equal(rep.records, 0);
    append_range(wal, 107, 1, 2000, 37, buf);
    cts_wal_stats st;
    cts_wal_stats_get(wal, &st);
    assert_true(st.rotations > 3);
    assert_int_equal(cts_wal_close(wal), 0);

    c = (checker){.seed = 107, .next = 1, .buf = c.buf};
    wal = open_check(d.path, &o, &c, &rep);
    assert_int_equal(c.count, 2000);
    assert_int_equal(rep.first_seq, 1);
    assert_int_equal(rep.last_seq, 2000);
    assert_int_equal(rep.torn_bytes, 0);
    append_range(wal, 107, 2001, 3000, 0, buf);
    assert_int_equal(cts_wal_close(wal), 0);

    c = (checker){.seed = 107, .next = 1, .buf = c.buf};
    wal = open_check(d.path, &o, &c, &rep);
    assert_int_equal(c.count, 3000);
    assert_int_equal(cts_wal_close(wal), 0);
    free(c.buf);
    free(buf);
    scratch_remove(&d);
}

static void test_round_trip_always(void **state)
{
    need_backend(*state);
    round_trip(*state, CTS_FSYNC_ALWAYS);
}

static void test_round_trip_interval(void **state)
{
    need_backend(*state);
    round_trip(*state, CTS_FSYNC_INTERVAL);
}

static void test_round_trip_never(void **state)
{
    need_backend(*state);
    round_trip(*state, CTS_FSYNC_NEVER);
}

/* ---- policies ---- */

static void test_policies(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-pol"), 0);
    uint8_t payload[100] = {1, 2, 3};
    cts_wal_stats st;
    cts_wal *wal;

    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    uint64_t seq;
    assert_int_equal(cts_wal_append(wal, payload, sizeof payload, &seq), CTS_EINVAL);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), CTS_EINVAL);
    assert_int_equal(cts_wal_append(wal, payload, sizeof payload, &seq), 0);
    assert_int_equal(cts_wal_wait_durable(wal, seq + 1), CTS_EINVAL);
    assert_int_equal(cts_wal_append(wal, NULL, CTS_WAL_MAX_PAYLOAD + 1ull, &seq), CTS_EINVAL);
    assert_int_equal(cts_wal_append(wal, payload, CTS_WAL_MAX_PAYLOAD + 1ull, &seq), CTS_ELIMIT);
    assert_int_equal(cts_wal_wait_durable(wal, seq), 0);
    cts_wal_stats_get(wal, &st);
    assert_int_equal(st.durable_seq, seq);
    assert_int_equal(cts_wal_close(wal), 0);

    /* INTERVAL: written at once, synced by the background thread. */
    o = opts_for(p, CTS_FSYNC_INTERVAL, 0);
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
    assert_int_equal(cts_wal_append(wal, payload, sizeof payload, &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(cts_wal_wait_durable(wal, seq), 0);
    cts_wal_stats_get(wal, &st);
    assert_int_equal(st.written_seq, 2);
    for (int i = 0; i < 200 && st.durable_seq < 2; i++) {
        usleep(5000);
        cts_wal_stats_get(wal, &st);
    }
    assert_int_equal(st.durable_seq, 2);
    assert_int_equal(cts_wal_close(wal), 0);

    /* NEVER: written, and synced only on request. */
    o = opts_for(p, CTS_FSYNC_NEVER, 0);
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
    assert_int_equal(cts_wal_append(wal, payload, sizeof payload, &seq), 0);
    assert_int_equal(cts_wal_wait_durable(wal, seq), 0);
    usleep(60000);
    cts_wal_stats_get(wal, &st);
    assert_int_equal(st.written_seq, 3);
    assert_int_equal(st.durable_seq, 2);
    assert_int_equal(cts_wal_sync(wal), 0);
    cts_wal_stats_get(wal, &st);
    assert_int_equal(st.durable_seq, 3);
    assert_int_equal(cts_wal_close(wal), 0);
    scratch_remove(&d);
}

/* ---- group commit ---- */

#define WRITERS 4
#define PER_WRITER 250

typedef struct writer_arg {
    cts_wal *wal;
    int id;
    int err;
} writer_arg;

static void *writer_main(void *arg)
{
    writer_arg *w = arg;
    uint8_t payload[64];
    for (int i = 0; i < PER_WRITER && !w->err; i++) {
        memset(payload, w->id, sizeof payload);
        memcpy(payload, &i, sizeof i);
        uint64_t seq;
        w->err = cts_wal_append(w->wal, payload, sizeof payload, &seq);
        if (!w->err)
            w->err = cts_wal_wait_durable(w->wal, seq);
    }
    return NULL;
}

typedef struct tally {
    int next[WRITERS];
    uint64_t count;
    int bad;
} tally;

static int tally_cb(void *ctx, uint64_t seq, const void *payload, size_t len)
{
    tally *t = ctx;
    const uint8_t *p = payload;
    int i;
    (void)seq;
    if (len != 64 || p[63] >= WRITERS) {
        t->bad = 1;
        return 0;
    }
    memcpy(&i, p, sizeof i);
    if (i != t->next[p[63]]++)
        t->bad = 1;
    t->count++;
    return 0;
}

static void test_group_commit(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-gc"), 0);
    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 64 * 1024);
    cts_wal *wal;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
    pthread_t th[WRITERS];
    writer_arg args[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        args[i] = (writer_arg){.wal = wal, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &args[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].err, 0);
    }
    cts_wal_stats st;
    cts_wal_stats_get(wal, &st);
    assert_int_equal(st.records, WRITERS * PER_WRITER);
    assert_int_equal(st.durable_seq, WRITERS * PER_WRITER);
    print_message("group commit (%s): %llu records, %llu fdatasyncs\n", p->name,
                  (unsigned long long)st.records, (unsigned long long)st.syncs);
    assert_true(st.syncs < st.records);
    assert_int_equal(cts_wal_close(wal), 0);

    tally t = {0};
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, tally_cb, &t, NULL), 0);
    assert_false(t.bad);
    assert_int_equal(t.count, WRITERS * PER_WRITER);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(t.next[i], PER_WRITER);
    assert_int_equal(cts_wal_close(wal), 0);
    scratch_remove(&d);
}

/* ---- file surgery helpers ---- */

static size_t read_file(const char *path, uint8_t **out)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return (size_t)n;
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void seg_name(char *out, size_t cap, const char *dir, uint64_t first)
{
    snprintf(out, cap, "%s/wal-%016llx.log", dir, (unsigned long long)first);
}

/* Offsets where each record of a one-segment file starts; returns count. */
static size_t record_offsets(const uint8_t *f, size_t len, size_t *offs, size_t cap)
{
    size_t n = 0, off = 32;
    while (off + 16 <= len && n < cap) {
        uint32_t l = (uint32_t)f[off] | (uint32_t)f[off + 1] << 8 | (uint32_t)f[off + 2] << 16 |
                     (uint32_t)f[off + 3] << 24;
        offs[n++] = off;
        off += 16 + l;
    }
    offs[n] = off;
    return n;
}

/* A WAL of `n` records of seed 11 in one segment; returns the file bytes. */
static size_t build_small(const param *p, const char *dir, int n, uint8_t **bytes)
{
    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    uint8_t *buf = malloc(BIG_CAP);
    cts_wal *wal;
    assert_int_equal(cts_wal_open(dir, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
    for (int i = 1; i <= n; i++) {
        size_t len = payload_for(11, (uint64_t)i, buf);
        uint64_t seq;
        assert_int_equal(cts_wal_append(wal, buf, len, &seq), 0);
    }
    assert_int_equal(cts_wal_close(wal), 0);
    free(buf);
    char path[600];
    seg_name(path, sizeof path, dir, 1);
    return read_file(path, bytes);
}

/* ---- torn tails ---- */

static void test_torn_tail_every_offset(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-torn"), 0);
    uint8_t *orig;
    size_t len = build_small(p, d.path, 12, &orig);
    size_t offs[64];
    size_t n = record_offsets(orig, len, offs, 63);
    assert_int_equal(n, 12);
    assert_int_equal(offs[n], len);
    char path[600];
    seg_name(path, sizeof path, d.path, 1);
    cts_wal_opts o = opts_for(p, CTS_FSYNC_NEVER, 0);
    uint8_t *cbuf = malloc(BIG_CAP);
    for (size_t cut = offs[n - 2]; cut < len; cut++) {
        write_file(path, orig, cut);
        size_t whole = cut >= offs[n - 1] ? n - 1 : n - 2;
        checker c = {.seed = 11, .next = 1, .buf = cbuf};
        cts_wal_replay_report rep;
        cts_wal *wal = open_check(d.path, &o, &c, &rep);
        assert_int_equal(c.count, whole);
        assert_int_equal(rep.torn_bytes, cut - offs[whole]);
        assert_int_equal(rep.torn_records, cut > offs[whole] ? 1 : 0);
        if (cut > offs[whole])
            assert_non_null(strstr(last_log, "torn tail"));
        if (cut % 8 != 0) {
            assert_int_equal(cts_wal_close(wal), 0);
            continue;
        }
        /* Appends continue right after the last whole record. */
        uint64_t seq;
        size_t plen = payload_for(11, whole + 1, cbuf);
        assert_int_equal(cts_wal_append(wal, cbuf, plen, &seq), 0);
        assert_int_equal(seq, whole + 1);
        assert_int_equal(cts_wal_close(wal), 0);
        c = (checker){.seed = 11, .next = 1, .buf = cbuf};
        wal = open_check(d.path, &o, &c, &rep);
        assert_int_equal(c.count, whole + 1);
        assert_int_equal(rep.torn_bytes, 0);
        assert_int_equal(cts_wal_close(wal), 0);
    }
    free(cbuf);
    free(orig);
    scratch_remove(&d);
}

/* A lost page of zeros amid valid records is a torn write, not corruption:
 * everything from the damage on is dropped and the count reported. */
static void test_torn_zero_page(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-zero"), 0);
    uint8_t *orig;
    size_t len = build_small(p, d.path, 200, &orig);
    size_t offs[256];
    size_t n = record_offsets(orig, len, offs, 255);
    assert_int_equal(n, 200);
    assert_true(len > 3 * 4096);
    memset(orig + 4096, 0, 4096);
    char path[600];
    seg_name(path, sizeof path, d.path, 1);
    write_file(path, orig, len);
    size_t whole = 0;
    while (offs[whole + 1] <= 4096)
        whole++;
    checker c = {.seed = 11, .next = 1, .buf = malloc(BIG_CAP)};
    cts_wal_replay_report rep;
    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    cts_wal *wal = open_check(d.path, &o, &c, &rep);
    assert_int_equal(c.count, whole);
    assert_int_equal(rep.torn_bytes, len - offs[whole]);
    assert_true(rep.torn_records > 1);
    assert_int_equal(cts_wal_close(wal), 0);
    free(c.buf);
    free(orig);
    scratch_remove(&d);
}

/* ---- corruption ---- */

/* Two segments: records 1..n in the first, n+1..2n in the second. */
static void build_two(const param *p, const char *dir, int n)
{
    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    uint8_t *buf = malloc(BIG_CAP);
    cts_wal *wal;
    assert_int_equal(cts_wal_open(dir, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
    for (int i = 1; i <= 2 * n; i++) {
        uint64_t seq;
        size_t len = payload_for(11, (uint64_t)i, buf);
        assert_int_equal(cts_wal_append(wal, buf, len, &seq), 0);
        if (i == n)
            assert_int_equal(cts_wal_rotate(wal), 0);
    }
    assert_int_equal(cts_wal_close(wal), 0);
    free(buf);
}

static void flip_byte(const char *path, size_t off)
{
    uint8_t *b;
    size_t len = read_file(path, &b);
    assert_true(off < len);
    b[off] ^= 0x40;
    write_file(path, b, len);
    free(b);
}

static size_t nth_record_offset(const char *path, size_t nth)
{
    uint8_t *b;
    size_t len = read_file(path, &b);
    size_t offs[4096];
    size_t n = record_offsets(b, len, offs, 4095);
    free(b);
    assert_true(nth < n);
    return offs[nth];
}

static void expect_corrupt(const param *p, const char *dir, const char *file, size_t off)
{
    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    cts_wal *wal;
    assert_int_equal(cts_wal_open(dir, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), CTS_ECORRUPT);
    const char *msg = cts_wal_errmsg(wal);
    char where[64];
    snprintf(where, sizeof where, "offset %zu", off);
    if (!strstr(msg, file) || !strstr(msg, where))
        fail_msg("errmsg lacks %s / %s: %s", file, where, msg);
    assert_int_equal(cts_wal_append(wal, "x", 1, &(uint64_t){0}), CTS_EINVAL);
    assert_int_equal(cts_wal_close(wal), 0);
}

static void test_corrupt_not_last(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-corr"), 0);
    build_two(p, d.path, 30);
    char path[600];
    seg_name(path, sizeof path, d.path, 1);
    /* Damage in the last record of a closed segment is not a torn tail. */
    size_t off = nth_record_offset(path, 29);
    flip_byte(path, off + 4);
    expect_corrupt(p, d.path, "wal-0000000000000001.log", off);
    scratch_remove(&d);
}

static void test_corrupt_mid_last(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-mid"), 0);
    build_two(p, d.path, 30);
    char path[600];
    seg_name(path, sizeof path, d.path, 31);
    size_t off = nth_record_offset(path, 10);
    flip_byte(path, off + 9); /* the seq field */
    expect_corrupt(p, d.path, "wal-000000000000001f.log", off);
    scratch_remove(&d);
}

static void test_corrupt_header_and_version(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-hdr"), 0);
    build_two(p, d.path, 5);
    char path[600];
    seg_name(path, sizeof path, d.path, 1);
    flip_byte(path, 3);
    expect_corrupt(p, d.path, "wal-0000000000000001.log", 0);
    flip_byte(path, 3);
    /* A future format version is refused as such (header CRC redone). */
    uint8_t *b;
    size_t len = read_file(path, &b);
    b[8] = 2;
    uint32_t crc = cts_crc32c(b, 28);
    memcpy(b + 28, &crc, 4);
    write_file(path, b, len);
    free(b);
    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    cts_wal *wal;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), CTS_EVERSION);
    assert_non_null(strstr(cts_wal_errmsg(wal), "version"));
    assert_int_equal(cts_wal_close(wal), 0);
    scratch_remove(&d);
}

static void test_quarantine(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-quar"), 0);
    build_two(p, d.path, 30);
    char path[600];
    seg_name(path, sizeof path, d.path, 1);
    flip_byte(path, nth_record_offset(path, 20) + 30);

    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    o.on_corrupt = CTS_WAL_CORRUPT_QUARANTINE;
    cts_wal *wal;
    cts_wal_replay_report rep;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    checker c = {.seed = 11, .next = 1, .allow_gaps = 1, .buf = malloc(BIG_CAP)};
    assert_int_equal(cts_wal_replay(wal, check_cb, &c, &rep), 0);
    assert_false(c.bad);
    assert_int_equal(rep.quarantined, 1);
    assert_int_equal(rep.records, 20 + 30);
    assert_non_null(strstr(last_log, ".corrupt"));
    uint64_t seq;
    assert_int_equal(cts_wal_append(wal, "z", 1, &seq), 0);
    assert_int_equal(seq, 61);
    assert_int_equal(cts_wal_close(wal), 0);
    char qpath[700];
    snprintf(qpath, sizeof qpath, "%s.corrupt", path);
    assert_int_equal(access(qpath, F_OK), 0);

    /* The gap is explained by the quarantined file: a plain open works. */
    o.on_corrupt = CTS_WAL_CORRUPT_FAIL;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, &rep), 0);
    assert_int_equal(rep.records, 20 + 30 + 1);
    assert_int_equal(rep.quarantined, 0);
    assert_int_equal(cts_wal_close(wal), 0);
    free(c.buf);
    scratch_remove(&d);
}

/* Quarantining the only segment (bad header) must not restart seqs at 1. */
static void test_quarantine_only_segment_keeps_seqs(void **state)
{
    const param *p = *state;
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-q1"), 0);
    build_two(p, d.path, 10);
    char path[600];
    seg_name(path, sizeof path, d.path, 1);
    assert_int_equal(unlink(path), 0);
    seg_name(path, sizeof path, d.path, 11);
    flip_byte(path, 20);
    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    o.on_corrupt = CTS_WAL_CORRUPT_QUARANTINE;
    cts_wal *wal;
    cts_wal_replay_report rep;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, &rep), 0);
    assert_int_equal(rep.quarantined, 1);
    assert_int_equal(rep.records, 0);
    uint64_t seq;
    assert_int_equal(cts_wal_append(wal, "q", 1, &seq), 0);
    assert_int_equal(seq, 11);
    assert_int_equal(cts_wal_close(wal), 0);
    o.on_corrupt = CTS_WAL_CORRUPT_FAIL;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, &rep), 0);
    assert_int_equal(rep.first_seq, 11);
    assert_int_equal(cts_wal_close(wal), 0);
    scratch_remove(&d);
}

static void test_missing_segment(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-miss"), 0);
    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    cts_wal *wal;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
    for (int i = 0; i < 3; i++) {
        uint64_t seq;
        assert_int_equal(cts_wal_append(wal, "abc", 3, &seq), 0);
        assert_int_equal(cts_wal_rotate(wal), 0);
    }
    /* Rotating an empty segment does nothing. */
    assert_int_equal(cts_wal_rotate(wal), 0);
    cts_wal_stats st;
    cts_wal_stats_get(wal, &st);
    assert_int_equal(st.segments, 4);
    assert_int_equal(cts_wal_close(wal), 0);
    char path[600];
    seg_name(path, sizeof path, d.path, 2);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), CTS_ECORRUPT);
    assert_non_null(strstr(cts_wal_errmsg(wal), "wal-0000000000000003.log"));
    assert_non_null(strstr(cts_wal_errmsg(wal), "missing"));
    assert_int_equal(cts_wal_close(wal), 0);
    scratch_remove(&d);
}

static void test_remove_before(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-rm"), 0);
    cts_wal_opts o = opts_for(p, CTS_FSYNC_INTERVAL, 0);
    cts_wal *wal;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, NULL), 0);
    uint64_t seq = 0;
    for (int i = 1; i <= 50; i++) {
        assert_int_equal(cts_wal_append(wal, &i, sizeof i, &seq), 0);
        if (i % 10 == 0)
            assert_int_equal(cts_wal_rotate(wal), 0);
    }
    /* Segments start at 1, 11, 21, 31, 41, 51 (current, empty). */
    assert_int_equal(cts_wal_remove_before(wal, 25), 0);
    cts_wal_stats st;
    cts_wal_stats_get(wal, &st);
    assert_int_equal(st.segments, 4);
    char path[600];
    seg_name(path, sizeof path, d.path, 21);
    assert_int_equal(access(path, F_OK), 0);
    seg_name(path, sizeof path, d.path, 11);
    assert_int_not_equal(access(path, F_OK), 0);
    /* Never the current segment. */
    assert_int_equal(cts_wal_remove_before(wal, 1000), 0);
    cts_wal_stats_get(wal, &st);
    assert_int_equal(st.segments, 1);
    assert_int_equal(cts_wal_append(wal, "x", 1, &seq), 0);
    assert_int_equal(seq, 51);
    assert_int_equal(cts_wal_close(wal), 0);
    cts_wal_replay_report rep;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, NULL, NULL, &rep), 0);
    assert_int_equal(rep.first_seq, 51);
    assert_int_equal(rep.records, 1);
    assert_int_equal(cts_wal_close(wal), 0);
    scratch_remove(&d);
}

static int stop_at_3(void *ctx, uint64_t seq, const void *payload, size_t len)
{
    (void)ctx;
    (void)payload;
    (void)len;
    return seq == 3 ? CTS_ETYPE : 0;
}

static void test_callback_error(void **state)
{
    const param *p = *state;
    need_backend(p);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "wal-cb"), 0);
    uint8_t *b;
    build_small(p, d.path, 5, &b);
    free(b);
    cts_wal_opts o = opts_for(p, CTS_FSYNC_ALWAYS, 0);
    cts_wal *wal;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), 0);
    assert_int_equal(cts_wal_replay(wal, stop_at_3, NULL, NULL), CTS_ETYPE);
    assert_int_equal(cts_wal_sync(wal), CTS_EINVAL);
    assert_int_equal(cts_wal_close(wal), 0);
    assert_int_equal(cts_wal_open(NULL, &o, &wal), CTS_EINVAL);
    o.segment_bytes = 10;
    assert_int_equal(cts_wal_open(d.path, &o, &wal), CTS_EINVAL);
    scratch_remove(&d);
}

#define BOTH(fn) cmocka_unit_test_prestate(fn, &P_PWRITE), cmocka_unit_test_prestate(fn, &P_URING)

#define PWRITE(fn) cmocka_unit_test_prestate(fn, &P_PWRITE)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_round_trip_always),
        BOTH(test_round_trip_interval),
        BOTH(test_round_trip_never),
        BOTH(test_policies),
        BOTH(test_group_commit),
        BOTH(test_remove_before),
        /* Replay does not use cts_io: file surgery runs on one backend. */
        PWRITE(test_torn_tail_every_offset),
        PWRITE(test_torn_zero_page),
        PWRITE(test_corrupt_not_last),
        PWRITE(test_corrupt_mid_last),
        PWRITE(test_corrupt_header_and_version),
        PWRITE(test_quarantine),
        PWRITE(test_quarantine_only_segment_keeps_seqs),
        PWRITE(test_missing_segment),
        PWRITE(test_callback_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
