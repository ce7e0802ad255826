/*
 * test_db_corruption.c: damage on disk, end to end, from the open through
 * cts_db_verify to a query through the query layer.
 *
 * A small database (measurement m, three series, a float and an integer
 * field; 16-point blocks over three partitions, checkpointed, so it has
 * sealed blocks, indexes with ADD and CKPT records and a catalog; then five
 * more batches acknowledged with fsync=always and left in the WAL, one of
 * them in a partition with no block yet) is copied while open: the copy is
 * a crash image. For each file (every WAL segment, each partition's
 * segment and index, the catalog) and for a sample of byte offsets that
 * covers every region of the file, parsed with the real layout
 * (docs/format-*.md): the header, and for a sample of records or blocks
 * their length, checksum, first, middle and last bytes, a fresh copy is
 * damaged: one byte flipped, or the file truncated at that offset. Then:
 *
 *   - the open (through a cts_dbset, as the server does) either fails with
 *     CTS_ECORRUPT / CTS_ECHECKSUM / CTS_EVERSION and a message naming the
 *     damaged file and an offset, or succeeds;
 *   - if it succeeds, cts_db_verify runs (it must not crash; what it
 *     reports is counted), and the query
 *       SELECT count(f), sum(f), count(i), sum(i) FROM m; SELECT * FROM m
 *     must return exactly the undamaged database's result, or an error
 *     naming the damaged file and an offset: never other data.
 *
 * What the documents allow to differ: damage in the last WAL segment that
 * replay takes for a torn tail (nothing valid after the bad record) drops
 * the records from the bad one on; the result must then equal the database
 * with the WAL cut at a record boundary at or before the damage (each
 * such prefix is computed as a reference). Truncating a partition index is
 * not something a crash does to a synced file, and the engine cannot tell
 * an index cut at a record boundary from an earlier state of it: those
 * results are counted and reported (docs/reliability.md), and every row
 * returned must still be the database's, never invented data. A catalog
 * cut short is refused at open (found by this test: blocks of series or
 * fields the catalog no longer defined were silently invisible).
 *
 * Lives in tests/query/ (not tests/engine/) because it queries through the
 * query layer, which only query tests link.
 *
 * CTS_CORRUPT_FULL=1 damages every offset of every file instead of the
 * sample.
 */
#include "cts_engine.h"
#include "cts_query.h"
#include "cts_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define WIDTH 1000000000000LL /* partition width: 1000 s */
#define SEC 1000000000LL
#define MAX_REFS 16
#define MAX_OFFSETS 65536
/* snprintf whose result is used (paths here are short; messages may be cut). */
#define FMT(dst, cap, ...) assert_true(snprintf((dst), (cap), __VA_ARGS__) >= 0)

/* ---- files and directories ---- */

static void make_tmpdir(char *dir, size_t cap, const char *tag)
{
    const char *base = getenv("CTS_TEST_TMPDIR");
    FMT(dir, cap, "%s/%s-XXXXXX", base ? base : "/tmp", tag);
    assert_non_null(mkdtemp(dir));
}

/* Remove `path` and everything under it (in process: forking a shell per
 * case costs more than the case). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    char sub[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        FMT(sub, sizeof sub, "%s/%s", path, e->d_name);
        remove_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    close(out);
}

static void copy_dir(const char *from, const char *to)
{
    assert_int_equal(mkdir(to, 0755), 0);
    DIR *d = opendir(from);
    assert_non_null(d);
    struct dirent *e;
    char a[1024], b[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        FMT(a, sizeof a, "%s/%s", from, e->d_name);
        FMT(b, sizeof b, "%s/%s", to, e->d_name);
        struct stat st;
        assert_int_equal(stat(a, &st), 0);
        if (S_ISDIR(st.st_mode))
            copy_dir(a, b);
        else
            copy_file(a, b);
    }
    closedir(d);
}

static void copy_tree(const char *from, const char *to)
{
    remove_tree(to);
    copy_dir(from, to);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *p = malloc((size_t)st.st_size + 1);
    assert_non_null(p);
    assert_int_equal(pread(fd, p, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return p;
}

static void flip_byte(const char *path, size_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

static void cut_file(const char *path, size_t off)
{
    assert_int_equal(truncate(path, (off_t)off), 0);
}

static uint32_t u32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- building the database ---- */

static void opts_of(cts_db_opts *o)
{
    cts_db_opts_init(o);
    o->fsync = CTS_DB_FSYNC_ALWAYS;
    o->partition_ns = WIDTH;
    o->block_points = 16;
}

/* One batch: `n` points per series from ts0, step 1 s. */
static void write_batch(cts_db *db, int64_t ts0, int n, int salt)
{
    static const char *hosts[3] = {"a", "b", "c"};
    cts_tag tags[3];
    cts_field fields[3][2];
    cts_point *pts = calloc((size_t)n * 3, sizeof *pts);
    assert_non_null(pts);
    for (int h = 0; h < 3; h++) {
        tags[h] = (cts_tag){.key = {"host", 4}, .value = {hosts[h], 1}};
        fields[h][0] = (cts_field){.key = {"f", 1}, .type = CTS_TYPE_FLOAT};
        fields[h][1] = (cts_field){.key = {"i", 1}, .type = CTS_TYPE_INT};
    }
    /* Each point needs its own field values: keep them in one array. */
    cts_field *fv = calloc((size_t)n * 3 * 2, sizeof *fv);
    assert_non_null(fv);
    for (int k = 0; k < n; k++)
        for (int h = 0; h < 3; h++) {
            cts_field *f = &fv[(k * 3 + h) * 2];
            f[0] = fields[h][0];
            f[0].v.f = (double)(salt * 1000 + k * 3 + h) / 4.0;
            f[1] = fields[h][1];
            f[1].v.i = salt * 100000 + k * 7 + h;
            pts[k * 3 + h] = (cts_point){.measurement = {"m", 1},
                                         .tags = &tags[h],
                                         .ntags = 1,
                                         .fields = f,
                                         .nfields = 2,
                                         .ts_ns = ts0 + k * SEC};
        }
    cts_write_result res;
    assert_int_equal(cts_db_write(db, pts, (size_t)n * 3, &res), 0);
    free(fv);
    free(pts);
}

/* The crash image: sealed data in partitions 0-2, five batches in the WAL
 * only (partition 2 and the new partition 3). */
static void build(const char *dir, const char *image)
{
    cts_db_opts o;
    opts_of(&o);
    cts_db *db = NULL;
    assert_int_equal(cts_db_open(dir, &o, &db), 0);
    for (int p = 0; p < 3; p++)
        for (int b = 0; b < 4; b++)
            write_batch(db, p * WIDTH + b * 10 * SEC, 10, p * 4 + b);
    assert_int_equal(cts_db_flush(db), 0);
    for (int b = 0; b < 5; b++)
        write_batch(db, (2 + b / 3) * WIDTH + 500 * SEC + b * 10 * SEC, 4, 50 + b);
    copy_tree(dir, image);
    assert_int_equal(cts_db_close(db), 0);
}

/* ---- queries ---- */

typedef struct text {
    char *s;
    size_t n, cap;
    char err[1024]; /* first statement error */
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof buf);
    if (t->n + (size_t)n + 1 > t->cap) {
        t->cap = (t->n + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->n, buf, (size_t)n + 1);
    t->n += (size_t)n;
}

static int on_stmt(void *ctx, uint32_t id)
{
    put(ctx, "stmt %u\n", id);
    return 0;
}

static int on_series(void *ctx, const cts_qseries *s)
{
    put(ctx, "series %.*s", (int)s->name.len, s->name.ptr);
    for (size_t i = 0; i < s->ntags; i++)
        put(ctx, " %.*s=%.*s", (int)s->tag_keys[i].len, s->tag_keys[i].ptr,
            (int)s->tag_values[i].len, s->tag_values[i].ptr);
    put(ctx, "\n");
    return 0;
}

static int on_series_end(void *ctx)
{
    (void)ctx;
    return 0;
}

static int on_stmt_end(void *ctx, uint32_t id, const char *error)
{
    text *t = ctx;
    if (error && !t->err[0])
        FMT(t->err, sizeof t->err, "%s", error);
    put(t, "end %u %s\n", id, error ? "error" : "ok");
    return 0;
}

/* Rows need the column count: kept by series_begin. */
typedef struct qctx {
    text t;
    size_t ncols;
} qctx;

static int q_series(void *ctx, const cts_qseries *s)
{
    ((qctx *)ctx)->ncols = s->ncolumns;
    return on_series(ctx, s);
}

static int q_row(void *ctx, const cts_qval *v)
{
    qctx *q = ctx;
    for (size_t i = 0; i < q->ncols; i++) {
        switch (v[i].type) {
        case CTS_Q_FLOAT:
            put(&q->t, " %.17g", v[i].v.f);
            break;
        case CTS_Q_INT:
        case CTS_Q_TIME:
            put(&q->t, " %lld", (long long)v[i].v.i);
            break;
        case CTS_Q_UINT:
            put(&q->t, " %llu", (unsigned long long)v[i].v.u);
            break;
        case CTS_Q_BOOL:
            put(&q->t, " %d", v[i].v.b);
            break;
        case CTS_Q_STRING:
            put(&q->t, " '%.*s'", (int)v[i].v.s.len, v[i].v.s.ptr);
            break;
        default:
            put(&q->t, " null");
        }
    }
    put(&q->t, "\n");
    return 0;
}

/* What one damaged (or reference) copy gave. */
typedef struct outcome {
    int open_rc;
    char open_msg[1024];
    int verify_rc;
    char verify_msg[512];
    char *result; /* query output (malloc'ed) */
    char query_err[1024];
} outcome;

static const char *QUERY = "SELECT count(f), sum(f), count(i), sum(i) FROM m; SELECT * FROM m";

static void run_copy(const char *root, outcome *out)
{
    memset(out, 0, sizeof *out);
    cts_db_opts o;
    opts_of(&o);
    cts_dbset *set = NULL;
    assert_int_equal(cts_dbset_open(root, &o, &set), 0);
    cts_db *db = NULL;
    out->open_rc = cts_dbset_acquire(set, "db", false, &db);
    if (out->open_rc != 0) {
        FMT(out->open_msg, sizeof out->open_msg, "%s", cts_dbset_errmsg());
        cts_dbset_close(set);
        return;
    }
    cts_verify_report rep;
    memset(&rep, 0, sizeof rep);
    out->verify_rc = cts_db_verify(db, &rep);
    FMT(out->verify_msg, sizeof out->verify_msg, "%s", rep.first_error);
    cts_dbset_release(set, db);

    qctx q;
    memset(&q, 0, sizeof q);
    cts_qsink sink = {.ctx = &q,
                      .statement_begin = on_stmt,
                      .series_begin = q_series,
                      .row = q_row,
                      .series_end = on_series_end,
                      .statement_end = on_stmt_end};
    cts_query_opts qo;
    cts_query_opts_init(&qo);
    qo.db = "db";
    qo.threads = 1;
    cts_query_error err;
    int rc = cts_query_run(set, QUERY, strlen(QUERY), &qo, &sink, &err);
    if (rc != 0)
        FMT(q.t.err, sizeof q.t.err, "query failed: %s: %s", cts_errname(rc), err.msg);
    FMT(out->query_err, sizeof out->query_err, "%s", q.t.err);
    out->result = q.t.s ? q.t.s : strdup("");
    cts_dbset_close(set);
}

/* ---- the file layouts: offsets to damage ---- */

typedef struct offsets {
    size_t v[MAX_OFFSETS];
    size_t n;
} offsets;

static void add_off(offsets *o, size_t off, size_t len)
{
    if (off >= len || o->n == MAX_OFFSETS)
        return;
    for (size_t i = 0; i < o->n; i++)
        if (o->v[i] == off)
            return;
    o->v[o->n++] = off;
}

/* Regions of one record or block at [start, end): length/CRC/kind bytes,
 * first, middle and last payload bytes. */
static void add_record(offsets *o, size_t start, size_t hdr, size_t end, size_t len)
{
    add_off(o, start, len);       /* length field, low byte */
    add_off(o, start + 3, len);   /* length field, high byte */
    add_off(o, start + 4, len);   /* checksum (or next header field) */
    add_off(o, start + hdr, len); /* first byte of the body */
    add_off(o, (start + hdr + end) / 2, len);
    add_off(o, end - 1, len); /* last byte (a block's CRC) */
}

/* Walk records of `hdr` header bytes whose u32 length (body bytes, after
 * the header) is at offset 0; keep all of the first 3 and last 3 and a
 * random sample between. Returns the boundaries in *bounds (may be NULL). */
static void walk_records(const uint8_t *p, size_t len, size_t first, size_t hdr, offsets *o,
                         cts_rng *r, size_t *bounds, size_t *nb)
{
    size_t off = first, count = 0, total = 0;
    while (off + hdr <= len && u32_at(p + off) <= len - off - hdr) {
        total++;
        off += hdr + u32_at(p + off);
    }
    off = first;
    if (nb)
        *nb = 0;
    while (off + hdr <= len && u32_at(p + off) <= len - off - hdr) {
        size_t end = off + hdr + u32_at(p + off);
        if (bounds)
            bounds[(*nb)++] = off;
        if (count < 3 || count + 3 >= total || cts_rng_below(r, 4) == 0)
            add_record(o, off, hdr, end, len);
        count++;
        off = end;
    }
    if (bounds)
        bounds[(*nb)++] = off;
}

/* Blocks back to back (docs/format.md): 96-byte header, T at 12, V at 16. */
static void walk_blocks(const uint8_t *p, size_t len, offsets *o, cts_rng *r)
{
    size_t off = 0, count = 0;
    while (off + 100 <= len) {
        size_t end = off + 100 + u32_at(p + off + 12) + u32_at(p + off + 16);
        if (end > len)
            break;
        if (count < 2 || cts_rng_below(r, 12) == 0) {
            add_off(o, off, len);                             /* magic */
            add_off(o, off + 5, len);                         /* type */
            add_off(o, off + 8, len);                         /* count */
            add_off(o, off + 12, len);                        /* T */
            add_off(o, off + 20, len);                        /* string bytes */
            add_off(o, off + 24, len);                        /* min_ts */
            add_off(o, off + 56, len);                        /* sum */
            add_off(o, off + 96, len);                        /* timestamps */
            add_off(o, off + 96 + u32_at(p + off + 12), len); /* values */
            add_off(o, end - 4, len);                         /* CRC */
            add_off(o, end - 1, len);
        }
        count++;
        off = end;
    }
    add_off(o, off, len);
}

typedef enum kind { K_WAL, K_SEGMENT, K_INDEX, K_CATALOG } kind;

typedef struct target {
    char rel[128]; /* path under the database directory */
    kind k;
} target;

static bool full_mode(void)
{
    const char *e = getenv("CTS_CORRUPT_FULL");
    return e && *e && strcmp(e, "0") != 0;
}

static void sample_offsets(const target *t, const uint8_t *p, size_t len, offsets *o, cts_rng *r,
                           size_t *bounds, size_t *nb)
{
    o->n = 0;
    if (full_mode()) {
        for (size_t i = 0; i < len && i < MAX_OFFSETS; i++)
            o->v[o->n++] = i;
        return;
    }
    size_t hdr = t->k == K_WAL ? 32 : t->k == K_INDEX ? 28 : t->k == K_CATALOG ? 16 : 0;
    for (size_t i = 0; i < hdr; i += 3)
        add_off(o, i, len);
    if (hdr)
        add_off(o, hdr - 1, len);
    switch (t->k) {
    case K_WAL:
        walk_records(p, len, 32, 16, o, r, bounds, nb);
        break;
    case K_INDEX:
    case K_CATALOG:
        walk_records(p, len, hdr, 8, o, r, NULL, NULL);
        break;
    case K_SEGMENT:
        walk_blocks(p, len, o, r);
        break;
    }
}

/* ---- the checks ---- */

typedef struct tally {
    unsigned cases, open_failed, verify_reported, query_error, same, earlier_state, known_loss;
} tally;

static bool names_file_and_offset(const char *msg, const char *rel)
{
    /* the file's own name: "wal-...", "segment", "index", "catalog" */
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    return strstr(msg, "offset") && strstr(msg, base);
}

typedef struct world {
    char tmp[256], dir[300], image[300], work[300];
    outcome ref;                /* the undamaged crash image */
    char *prefix[MAX_REFS + 1]; /* results with the last WAL segment cut at record k */
    size_t nprefix;
    char wal_last[128]; /* relative path of the last WAL segment */
    size_t wal_bounds[MAX_REFS + 2];
    size_t nbounds;
} world;

/* Every row of the second statement (SELECT *) of `got` is in `want`. */
static bool rows_subset(const char *got, const char *want)
{
    const char *p = strstr(got, "stmt 1\n");
    if (!p)
        return false;
    char line[512];
    while ((p = strchr(p, '\n')) != NULL && p[1] == ' ') {
        const char *end = strchr(p + 1, '\n');
        size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
        if (n >= sizeof line)
            return false;
        memcpy(line, p, n);
        line[n] = '\0';
        if (!strstr(want, line))
            return false;
        p = end;
        if (!p)
            break;
    }
    return true;
}

static bool is_prefix_state(const world *w, const char *result, size_t min_k)
{
    for (size_t k = min_k; k < w->nprefix; k++)
        if (strcmp(result, w->prefix[k]) == 0)
            return true;
    return false;
}

static void check_case(world *w, const target *t, size_t off, bool cut, tally *ta)
{
    char path[700];
    copy_tree(w->image, w->work);
    FMT(path, sizeof path, "%s/%s", w->work, t->rel);
    if (cut)
        cut_file(path, off);
    else
        flip_byte(path, off);
    char root[400];
    FMT(root, sizeof root, "%s/root", w->tmp);
    outcome oc;
    run_copy(root, &oc);
    ta->cases++;
    const char *what = cut ? "truncated at" : "byte flipped at";
    if (oc.open_rc != 0) {
        ta->open_failed++;
        /* A catalog cut at a record boundary has no bad byte to point at:
         * replay finds a WAL record using a definition it lacks. */
        bool cut_catalog = cut && t->k == K_CATALOG && strstr(oc.open_msg, "/catalog") &&
                           (strstr(oc.open_msg, "does not match") ||
                            strstr(oc.open_msg, "not defined by the catalog"));
        if (!(oc.open_rc == CTS_ECORRUPT || oc.open_rc == CTS_ECHECKSUM ||
              oc.open_rc == CTS_EVERSION) ||
            !(names_file_and_offset(oc.open_msg, t->rel) || cut_catalog))
            fail_msg("%s %s %zu: open failed with %s without naming file and offset: %s", t->rel,
                     what, off, cts_errname(oc.open_rc), oc.open_msg);
        return;
    }
    if (oc.verify_rc != 0)
        ta->verify_reported++;
    if (oc.verify_rc != 0 && !names_file_and_offset(oc.verify_msg, t->rel))
        fail_msg("%s %s %zu: verify does not name file and offset: %s", t->rel, what, off,
                 oc.verify_msg);
    if (oc.query_err[0]) {
        ta->query_error++;
        if (!names_file_and_offset(oc.query_err, t->rel))
            fail_msg("%s %s %zu: query error does not name file and offset: %s", t->rel, what, off,
                     oc.query_err);
    } else if (strcmp(oc.result, w->ref.result) == 0) {
        ta->same++;
        if (getenv("CTS_CORRUPT_VERBOSE"))
            printf("  same result: %s %s %zu (verify %s)\n", t->rel, what, off,
                   cts_errname(oc.verify_rc));
    } else if (t->k == K_INDEX && cut && rows_subset(oc.result, w->ref.result)) {
        /* KNOWN (reported): a partition index cut at a record boundary
         * looks like an earlier state of it (or, below its header, like a
         * creation cut short: the partition is re-created empty though its
         * segment holds blocks), so the blocks it no longer lists vanish
         * without an error. No crash never yields such a file (it was
         * synced); counted, and the rows left must be the database's. */
        ta->known_loss++;
    } else {
        /* Allowed: a torn tail of the last WAL segment cut at a record
         * boundary at or before the damage. */
        size_t min_k = 0;
        bool wal_tail = strcmp(t->rel, w->wal_last) == 0;
        while (wal_tail && min_k + 1 < w->nbounds && w->wal_bounds[min_k + 1] <= off)
            min_k++;
        if (off < w->wal_bounds[0])
            min_k = w->nprefix; /* a damaged segment header is never a torn tail */
        if (!(wal_tail && is_prefix_state(w, oc.result, min_k)) &&
            !((t->k == K_INDEX || t->k == K_CATALOG) && cut && is_prefix_state(w, oc.result, 0)))
            fail_msg("%s %s %zu: wrong data returned (verify %s)\n--- got\n%s\n--- want\n%s",
                     t->rel, what, off, cts_errname(oc.verify_rc), oc.result, w->ref.result);
        ta->earlier_state++;
    }
    free(oc.result);
}

/* ---- the world ---- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int collect_name(const char *dir, const char *prefix, char names[][128], size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && n < cap)
            if (strlen(e->d_name) < 128)
                memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
    closedir(d);
    qsort(names, n, 128, name_cmp);
    return (int)n;
}

static void world_init(world *w)
{
    memset(w, 0, sizeof *w);
    make_tmpdir(w->tmp, sizeof w->tmp, "corrupt");
    FMT(w->dir, sizeof w->dir, "%s/build", w->tmp);
    FMT(w->image, sizeof w->image, "%s/image", w->tmp);
    FMT(w->work, sizeof w->work, "%s/root/db", w->tmp);
    char root[400];
    FMT(root, sizeof root, "%s/root", w->tmp);
    assert_int_equal(mkdir(root, 0755), 0);
    build(w->dir, w->image);
    copy_tree(w->image, w->work);
    run_copy(root, &w->ref);
    if (w->ref.open_rc || w->ref.verify_rc || w->ref.query_err[0])
        fail_msg("reference: open %s %s, verify %s, query %s", cts_errname(w->ref.open_rc),
                 w->ref.open_msg, w->ref.verify_msg, w->ref.query_err);
    assert_non_null(strstr(w->ref.result, "series m"));

    /* The last WAL segment and a reference per record boundary. */
    char names[8][128], path[700], wal[400];
    FMT(wal, sizeof wal, "%s/wal", w->image);
    int n = collect_name(wal, "wal-", names, 8);
    assert_true(n >= 1);
    FMT(w->wal_last, sizeof w->wal_last, "wal/%s", names[n - 1]);
    FMT(path, sizeof path, "%s/%s", w->image, w->wal_last);
    size_t len;
    uint8_t *p = read_file(path, &len);
    offsets dummy;
    cts_rng r = {1};
    dummy.n = 0;
    walk_records(p, len, 32, 16, &dummy, &r, w->wal_bounds, &w->nbounds);
    free(p);
    assert_true(w->nbounds >= 6 && w->nbounds <= MAX_REFS + 1); /* five batches */
    for (size_t k = 0; k < w->nbounds; k++) {
        copy_tree(w->image, w->work);
        FMT(path, sizeof path, "%s/%s", w->work, w->wal_last);
        cut_file(path, w->wal_bounds[k]);
        outcome oc;
        run_copy(root, &oc);
        assert_int_equal(oc.open_rc, 0);
        assert_string_equal(oc.query_err, "");
        w->prefix[w->nprefix++] = oc.result;
    }
    assert_string_equal(w->prefix[w->nprefix - 1], w->ref.result);
}

static void world_fini(world *w)
{
    for (size_t k = 0; k < w->nprefix; k++)
        free(w->prefix[k]);
    free(w->ref.result);
    remove_tree(w->tmp);
}

static void damage_files(kind k, const char *what)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    world_init(w);
    target ts[16];
    size_t nt = 0;
    char names[8][128], sub[400];
    if (k == K_WAL) {
        FMT(sub, sizeof sub, "%s/wal", w->image);
        int n = collect_name(sub, "wal-", names, 8);
        for (int i = 0; i < n; i++) {
            ts[nt] = (target){.k = K_WAL};
            FMT(ts[nt].rel, 128, "wal/%s", names[i]);
            nt++;
        }
    } else if (k == K_CATALOG) {
        ts[nt++] = (target){.rel = "catalog", .k = K_CATALOG};
    } else {
        for (int p = 0; p < 4; p++) {
            struct stat st;
            ts[nt] = (target){.k = k};
            FMT(ts[nt].rel, 128, "p/%d/%s", p, k == K_SEGMENT ? "segment" : "index");
            FMT(sub, sizeof sub, "%s/%s", w->image, ts[nt].rel);
            if (stat(sub, &st) == 0 && st.st_size > 0)
                nt++;
        }
    }
    tally ta = {0};
    cts_rng r = {(uint64_t)k + 7};
    offsets *o = malloc(sizeof *o);
    assert_non_null(o);
    for (size_t i = 0; i < nt; i++) {
        char path[700];
        FMT(path, sizeof path, "%s/%s", w->image, ts[i].rel);
        size_t len;
        uint8_t *p = read_file(path, &len);
        sample_offsets(&ts[i], p, len, o, &r, NULL, NULL);
        free(p);
        for (size_t j = 0; j < o->n; j++) {
            check_case(w, &ts[i], o->v[j], false, &ta);
            check_case(w, &ts[i], o->v[j], true, &ta);
        }
    }
    printf("%s: %u cases: open failed %u, verify reported %u, query error %u, same result %u, "
           "earlier state %u, known loss %u\n",
           what, ta.cases, ta.open_failed, ta.verify_reported, ta.query_error, ta.same,
           ta.earlier_state, ta.known_loss);
    free(o);
    world_fini(w);
    free(w);
}

static void wal_segment_damage(void **state)
{
    (void)state;
    damage_files(K_WAL, "WAL segments");
}

static void partition_segment_damage(void **state)
{
    (void)state;
    damage_files(K_SEGMENT, "partition segments");
}

static void partition_index_damage(void **state)
{
    (void)state;
    damage_files(K_INDEX, "partition indexes");
}

static void catalog_damage(void **state)
{
    (void)state;
    damage_files(K_CATALOG, "catalog");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wal_segment_damage),
        cmocka_unit_test(partition_segment_damage),
        cmocka_unit_test(partition_index_damage),
        cmocka_unit_test(catalog_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
