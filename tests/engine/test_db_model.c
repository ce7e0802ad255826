/*
 * The engine against a naive in-memory model: random sequences of batches
 * (out-of-order points, duplicates, type conflicts, int-to-float promotion),
 * flushes, reopens, deletes and retention, then every column read back over
 * random ranges, with and without statistics push-down, must equal the
 * model. Run on both I/O backends (io_uring skipped where the kernel
 * refuses it).
 */
#include "cts_test.h"
#include "cts_engine.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#define NSERIES 5
#define NFIELDS 4
#define TS_SPAN 4000
#define WIDTH 500 /* partition width, ns */

static const char *field_names[NFIELDS] = {"f", "i", "s", "b"};
static const cts_type field_types[NFIELDS] = {CTS_TYPE_FLOAT, CTS_TYPE_INT, CTS_TYPE_STRING,
                                              CTS_TYPE_BOOL};

/* ---- the model: per column, a map ts -> value as a dense array ---- */
typedef struct mval {
    bool present;
    double f;
    int64_t i;
    uint8_t b;
    char s[16];
} mval;

static mval model[NSERIES][NFIELDS][TS_SPAN];

static void model_put(int s, int f, int64_t ts, const cts_field *fv)
{
    mval *m = &model[s][f][ts];
    m->present = true;
    switch (field_types[f]) {
    case CTS_TYPE_FLOAT:
        m->f = fv->type == CTS_TYPE_INT ? (double)fv->v.i : fv->v.f;
        break;
    case CTS_TYPE_INT:
        m->i = fv->v.i;
        break;
    case CTS_TYPE_BOOL:
        m->b = fv->v.b;
        break;
    default:
        memcpy(m->s, fv->v.s.ptr, fv->v.s.len);
        m->s[fv->v.s.len] = 0;
        break;
    }
}

typedef struct env {
    char dir[256];
    cts_db_opts opts;
    cts_db *db;
    cts_rng rng;  /* drives the workload */
    cts_rng crng; /* drives the checks, so checking more never changes the workload */
    char strs[64][16];
} env;

static void open_db(env *e)
{
    int rc = cts_db_open(e->dir, &e->opts, &e->db);
    if (rc)
        fail_msg("open: %s: %s", cts_strerror(rc), cts_db_open_error());
}

static void write_batch(env *e)
{
    cts_point pts[32];
    cts_tag tags[32];
    cts_field fields[32][NFIELDS];
    char sval[32][2];
    int fidx[32][NFIELDS], sidx[32];
    bool conflict[32];
    uint32_t n = 1 + (uint32_t)cts_rng_below(&e->rng, 32);
    for (uint32_t p = 0; p < n; p++) {
        sidx[p] = (int)cts_rng_below(&e->rng, NSERIES);
        sval[p][0] = (char)('0' + sidx[p]);
        sval[p][1] = 0;
        tags[p] = (cts_tag){{"sensor", 6}, {sval[p], 1}};
        uint32_t nf = 0;
        conflict[p] = false;
        for (int f = 0; f < NFIELDS; f++) {
            if (cts_rng_below(&e->rng, 2))
                continue;
            cts_field *fv = &fields[p][nf];
            fv->key = (cts_str){field_names[f], 1};
            fv->type = field_types[f];
            switch (f) {
            case 0:
                if (cts_rng_below(&e->rng, 5) == 0) {
                    fv->type = CTS_TYPE_INT; /* promoted to float */
                    fv->v.i = (int64_t)cts_rng_below(&e->rng, 100);
                } else {
                    fv->v.f = (double)(int64_t)cts_rng_below(&e->rng, 1000) / 10.0;
                }
                break;
            case 1:
                fv->v.i = (int64_t)cts_rng_next(&e->rng);
                if (cts_rng_below(&e->rng, 20) == 0) {
                    fv->type = CTS_TYPE_STRING; /* a conflict: the point is rejected */
                    fv->v.s = (cts_str){"oops", 4};
                    conflict[p] = true;
                }
                break;
            case 2:
                fv->v.s = (cts_str){e->strs[cts_rng_below(&e->rng, 64)], 0};
                fv->v.s.len = (uint32_t)strlen(fv->v.s.ptr);
                break;
            default:
                fv->v.b = (uint8_t)cts_rng_below(&e->rng, 2);
            }
            fidx[p][nf++] = f;
        }
        if (nf == 0) {
            fields[p][0] = (cts_field){.key = {"b", 1}, .type = CTS_TYPE_BOOL, .v.b = 1};
            fidx[p][nf++] = 3;
        }
        pts[p] = (cts_point){.measurement = {"m", 1},
                             .tags = &tags[p],
                             .ntags = 1,
                             .fields = fields[p],
                             .nfields = nf,
                             .ts_ns = (int64_t)cts_rng_below(&e->rng, TS_SPAN)};
    }
    cts_write_result res;
    int rc = cts_db_write(e->db, pts, n, &res);
    bool any_conflict = false;
    for (uint32_t p = 0; p < n; p++)
        any_conflict |= conflict[p];
    assert_int_equal(rc, any_conflict ? CTS_ETYPE : 0);
    for (uint32_t p = 0; p < n; p++) {
        if (conflict[p])
            continue;
        for (uint32_t k = 0; k < pts[p].nfields; k++)
            model_put(sidx[p], fidx[p][k], pts[p].ts_ns, &fields[p][k]);
    }
}

/* The first write of a field fixes its type; make it the intended one, so
 * that later ints for "f" are promotions and strings for "i" conflicts. */
static void define_fields(env *e)
{
    cts_tag tag = {{"sensor", 6}, {"0", 1}};
    cts_field f[NFIELDS] = {{.key = {"f", 1}, .type = CTS_TYPE_FLOAT, .v.f = 1.5},
                            {.key = {"i", 1}, .type = CTS_TYPE_INT, .v.i = -7},
                            {.key = {"s", 1}, .type = CTS_TYPE_STRING, .v.s = {"x", 1}},
                            {.key = {"b", 1}, .type = CTS_TYPE_BOOL, .v.b = 1}};
    cts_point pt = {.measurement = {"m", 1},
                    .tags = &tag,
                    .ntags = 1,
                    .fields = f,
                    .nfields = NFIELDS,
                    .ts_ns = 0};
    assert_int_equal(cts_db_write(e->db, &pt, 1, NULL), 0);
    for (int k = 0; k < NFIELDS; k++)
        model_put(0, k, 0, &f[k]);
}

static void delete_range(env *e)
{
    int64_t t0 = (int64_t)cts_rng_below(&e->rng, TS_SPAN),
            t1 = t0 + (int64_t)cts_rng_below(&e->rng, 300);
    char sv[2] = {(char)('0' + cts_rng_below(&e->rng, NSERIES)), 0};
    cts_tag_eq w = {"sensor", sv};
    bool one = cts_rng_below(&e->rng, 2);
    int64_t rc = cts_db_delete(e->db, "m", one ? &w : NULL, one ? 1 : 0, t0, t1);
    assert_true(rc >= 0);
    for (int s = 0; s < NSERIES; s++) {
        if (one && s != sv[0] - '0')
            continue;
        for (int f = 0; f < NFIELDS; f++)
            for (int64_t t = t0; t < t1 && t < TS_SPAN; t++)
                model[s][f][t].present = false;
    }
}

static void retention(env *e)
{
    int64_t now = (int64_t)cts_rng_below(&e->rng, TS_SPAN / 2) + e->opts.retention_ns;
    int rc = cts_db_enforce_retention(e->db, now);
    assert_true(rc >= 0);
    int64_t cutoff = now - e->opts.retention_ns;
    for (int64_t t = 0; t < TS_SPAN; t++) {
        if ((t / WIDTH + 1) * WIDTH > cutoff)
            break;
        for (int s = 0; s < NSERIES; s++)
            for (int f = 0; f < NFIELDS; f++)
                model[s][f][t].present = false;
    }
}

static uint32_t series_id_of(env *e, int s)
{
    char sv[2] = {(char)('0' + s), 0};
    cts_idlist *ids;
    assert_int_equal(cts_db_series_ids(e->db, "m", "sensor", sv, &ids), 0);
    uint32_t id = ids->count ? ids->ids[0] : UINT32_MAX;
    cts_free(ids);
    return id;
}

static void check_point(int f, const mval *m, const cts_chunk *c, uint32_t k)
{
    switch (field_types[f]) {
    case CTS_TYPE_FLOAT:
        assert_true(c->v.f[k] == m->f);
        break;
    case CTS_TYPE_INT:
        assert_true(c->v.i[k] == m->i);
        break;
    case CTS_TYPE_BOOL:
        assert_int_equal(c->v.b[k], m->b);
        break;
    default:
        assert_int_equal(c->v.s[k].len, strlen(m->s));
        assert_memory_equal(c->v.s[k].ptr, m->s, c->v.s[k].len);
    }
}

/* Read column (s, f) over [t0, t1) and compare with the model. */
static void check_column(env *e, uint32_t sid, int s, int f, uint32_t fid, int64_t t0, int64_t t1,
                         bool stats)
{
    cts_cursor *cur;
    int rc = cts_cursor_open(e->db, sid, fid, t0, t1, stats, &cur);
    if (rc == CTS_ENOTFOUND) {
        for (int64_t t = t0 < 0 ? 0 : t0; t < t1 && t < TS_SPAN; t++)
            assert_false(model[s][f][t].present);
        return;
    }
    assert_int_equal(rc, 0);
    int64_t t = t0 < 0 ? 0 : t0;
    cts_chunk c;
    while ((rc = cts_cursor_next(cur, &c)) == 1) {
        if (!c.ts) {
            assert_non_null(c.stats);
            assert_int_equal(cts_cursor_load(cur, &c), 0);
            assert_int_equal(c.ts[0], c.stats->min_ts);
            assert_int_equal(c.ts[c.count - 1], c.stats->max_ts);
        }
        for (uint32_t k = 0; k < c.count; k++) {
            while (t < c.ts[k]) {
                if (model[s][f][t].present)
                    fail_msg("series %d field %s: missing point at %lld", s, field_names[f],
                             (long long)t);
                t++;
            }
            if (!model[s][f][t].present)
                fail_msg("series %d field %s: extra point at %lld", s, field_names[f],
                         (long long)t);
            check_point(f, &model[s][f][t], &c, k);
            t++;
        }
    }
    assert_int_equal(rc, 0);
    for (; t < t1 && t < TS_SPAN; t++)
        if (model[s][f][t].present)
            fail_msg("series %d field %s: missing tail point at %lld", s, field_names[f],
                     (long long)t);
    cts_cursor_close(cur);
}

static void check_all(env *e)
{
    cts_fieldlist *fl;
    assert_int_equal(cts_db_field_keys(e->db, "m", &fl), 0);
    for (int s = 0; s < NSERIES; s++) {
        uint32_t sid = series_id_of(e, s);
        for (int f = 0; f < NFIELDS; f++) {
            uint32_t fid = UINT32_MAX;
            for (size_t k = 0; k < fl->count; k++)
                if (fl->items[k].name.ptr[0] == field_names[f][0]) {
                    fid = fl->items[k].field_id;
                    assert_int_equal(fl->items[k].type, field_types[f]);
                }
            if (sid == UINT32_MAX || fid == UINT32_MAX) {
                for (int64_t t = 0; t < TS_SPAN; t++)
                    assert_false(model[s][f][t].present);
                continue;
            }
            int64_t a = (int64_t)cts_rng_below(&e->crng, TS_SPAN),
                    b = a + (int64_t)cts_rng_below(&e->crng, TS_SPAN);
            check_column(e, sid, s, f, fid, INT64_MIN, INT64_MAX, true);
            check_column(e, sid, s, f, fid, a, b, cts_rng_below(&e->crng, 2));
        }
    }
    cts_free(fl);
}

static void run(cts_io_choice io, uint64_t seed, int steps)
{
    env e;
    memset(&e, 0, sizeof e);
    memset(model, 0, sizeof model);
    e.rng.s = seed;
    e.crng.s = ~seed;
    for (int i = 0; i < 64; i++)
        if (i % 7) /* every seventh string is empty */
            snprintf(e.strs[i], sizeof e.strs[i], "st-%d", i % 9);
    const char *base = getenv("CTS_TEST_TMPDIR");
    snprintf(e.dir, sizeof e.dir, "%s/dbmodel-XXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(e.dir));
    cts_db_opts_init(&e.opts);
    e.opts.io = io;
    e.opts.block_points = 16;
    e.opts.partition_ns = WIDTH;
    e.opts.memory_budget_bytes = 64 << 10;
    e.opts.wal_checkpoint_bytes = 32 << 10;
    e.opts.retention_ns = 2000;
    e.opts.fsync = (cts_fsync_policy)(seed % 3);
    int rc = cts_db_open(e.dir, &e.opts, &e.db);
    if (rc && io == CTS_DB_IO_URING) {
        print_message("io_uring unavailable (%s): skipped\n", cts_db_open_error());
        return;
    }
    assert_int_equal(rc, 0);
    define_fields(&e);
    for (int step = 0; step < steps; step++) {
        uint64_t op = cts_rng_below(&e.rng, 100);
        if (op < 80)
            write_batch(&e);
        else if (op < 85)
            assert_int_equal(cts_db_flush(e.db), 0);
        else if (op < 90) {
            assert_int_equal(cts_db_close(e.db), 0);
            open_db(&e);
        } else if (op < 96)
            delete_range(&e);
        else if (op < 97)
            retention(&e);
        else
            check_all(&e);
        if (getenv("DBG")) {
            fprintf(stderr, "step %d op %llu\n", step, (unsigned long long)op);
            check_all(&e);
        }
    }
    check_all(&e);
    cts_verify_report rep;
    assert_int_equal(cts_db_verify(e.db, &rep), 0);
    assert_int_equal(cts_db_close(e.db), 0);
    open_db(&e);
    check_all(&e);
    assert_int_equal(cts_db_close(e.db), 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e.dir);
    assert_int_equal(system(cmd), 0);
}

static void model_pwrite(void **state)
{
    (void)state;
    const char *n = getenv("CTS_MODEL_SEEDS"); /* a script may run many more */
    uint64_t seeds = n ? strtoull(n, NULL, 10) : 6;
    for (uint64_t seed = 1; seed <= seeds; seed++)
        run(CTS_DB_IO_PWRITE, seed, 400);
}

static void model_uring(void **state)
{
    (void)state;
    for (uint64_t seed = 11; seed <= 13; seed++)
        run(CTS_DB_IO_URING, seed, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_pwrite),
        cmocka_unit_test(model_uring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
