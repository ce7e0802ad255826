/*
 * test_query_model.c: the executor against a brute-force reference. For
 * each seed a random dataset is written through the engine (small blocks,
 * flushed or not, more writes after a flush so sealed blocks and the head
 * overlap) and mirrored in memory; then random SELECT statements run
 * through cts_query_run and their results must equal what a naive
 * evaluator of InfluxDB 1.x's rules computes from the in-memory model
 * (query_model_eval.h, query_model_agg.h).
 *
 * Environment:
 *   CTS_QUERY_SEEDS=N       seeds to run (default 30)
 *   CTS_QUERY_QUERIES=N     statements per seed (default 100)
 *   CTS_QUERY_SEED=S        run only seed S
 *   CTS_QUERY_FEATURES=..   "[all,]-name,+name,...": switch generator features
 *                           and strict rules off or on (names in
 *                           query_model_query.h; "all" starts from all)
 *   CTS_QUERY_KEEP_GOING=1  report every mismatch, fail at the end
 *   CTS_QUERY_VERBOSE=1     print every statement
 *   CTS_QUERY_MODEL_ONLY=1  evaluate the reference only (checks the
 *                           reference itself under the sanitizers)
 *
 * A statement whose result InfluxDB does not determine (a LIMIT cutting
 * between rows of equal time, a transformation over series sharing a
 * time) is skipped and counted.
 */
#include "cts_test.h"
#include "query_model_cases.h"
#include "query_model_cmp.h"
#include "query_model_gen.h"

#include "../storage/scratch_dir.h"

#include <stdlib.h>

#define QM_DB "qm"

/*
 * What runs by default: everything but the features and strict rules on
 * which the executor still disagrees with InfluxDB 1.x (CTS_QUERY_FEATURES=
 * all runs everything; "+name" one more):
 *   xf_agg         derivative & co over aggregates: 2 statements in about
 *                  2,900 still differ (fill(linear) at the edge of the
 *                  interval read before the range)
 *   selaux         max(x), y is refused ("mixing aggregate and non-aggregate")
 *   xfmulti        derivative(a), moving_average(b): points of the two
 *                  columns at the same time from different series come out
 *                  as separate rows
 *   m_limit_call   LIMIT/OFFSET applied to rows, not per call
 *   m_scanner      (agrees now; kept lenient until xf_agg is on)
 *   m_intwrap      the mean (median, derivative) of integers whose sum
 *                  overflows int64 wraps in InfluxDB; the executor is exact
 *                  (a documented, deliberate difference)
 *   m_stddev1      stddev of one point: InfluxDB's null point under
 *                  fill(linear) interpolates towards its zero value
 * Fixed in the executor since this test was written, and on by default:
 * stargroup, alias, fillfloat, nolower, dupcall, pctlow, xfmix,
 * m_desc_series, m_empty, m_extend. query_model_cases.h has a minimal
 * example of each.
 */
#define QM_DEFAULT_OFF                                                                             \
    (QF_XF_AGG | QF_SELAUX | QF_XFMULTI | QF_M_LIMIT_CALL | QF_M_SCANNER | QF_M_INTWRAP |          \
     QF_M_STDDEV1)
#define QM_DEFAULT_FEATURES (QF_ALL & ~QM_DEFAULT_OFF)

typedef struct qm_stats {
    uint64_t run, skipped, mismatches, empty;
    char first_mismatch[1024];
} qm_stats;

static long qm_env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* Features: all, minus/plus those named in CTS_QUERY_FEATURES. */
static uint64_t qm_features(void)
{
    uint64_t f = QM_DEFAULT_FEATURES;
    const char *v = getenv("CTS_QUERY_FEATURES");
    if (v && strncmp(v, "all", 3) == 0) {
        f = QF_ALL;
        v += 3;
        if (*v == ',')
            v++;
    }
    while (v && *v) {
        char sign = *v;
        if (sign == '-' || sign == '+')
            v++;
        size_t n = strcspn(v, ",");
        bool found = false;
        for (size_t i = 0; i < sizeof qm_feature_names / sizeof *qm_feature_names; i++) {
            if (strlen(qm_feature_names[i].name) == n &&
                strncmp(qm_feature_names[i].name, v, n) == 0) {
                f = sign == '-' ? f & ~qm_feature_names[i].bit : f | qm_feature_names[i].bit;
                found = true;
            }
        }
        if (!found)
            fail_msg("CTS_QUERY_FEATURES: unknown feature \"%.*s\"", (int)n, v);
        v += n;
        if (*v == ',')
            v++;
    }
    return f;
}

static void qm_report(FILE *f, uint64_t seed, int qi, const qm_data *d, const qm_query *q,
                      const qm_result *r, const qm_got *g, const qm_mismatch *mm)
{
    fprintf(f, "\n=== MISMATCH seed %" PRIu64 " query %d: %s\n  %s\n", seed, qi, mm->what, q->text);
    qm_print_expected(f, d, q, r, mm->row);
    qm_print_got(f, g, mm->row);
    qm_print_data(f, d, q);
}

/* Run one statement and compare; returns false on a mismatch. */
static bool qm_check_one(cts_dbset *set, uint64_t seed, int qi, const qm_data *d, const qm_query *q,
                         qm_stats *st)
{
    qm_result r;
    qm_eval(q, d, QM_NOW, &r);
    if (getenv("CTS_QUERY_VERBOSE"))
        fprintf(stderr, "seed %" PRIu64 " q%d: %s%s\n", seed, qi, q->text,
                r.ambiguous ? " (skipped)" : "");
    if (r.ambiguous || getenv("CTS_QUERY_MODEL_ONLY")) {
        st->skipped++;
        qm_result_free(&r);
        return true;
    }
    qm_got g;
    memset(&g, 0, sizeof g);
    cts_qsink sink = qm_sink(&g);
    cts_query_opts opts;
    cts_query_opts_init(&opts);
    opts.db = QM_DB;
    opts.now_ns = QM_NOW;
    cts_query_error err;
    memset(&err, 0, sizeof err);
    int rc = cts_query_run(set, q->text, strlen(q->text), &opts, &sink, &err);
    qm_mismatch mm = {.row = 0};
    bool ok;
    if (rc != 0) {
        snprintf(mm.what, sizeof mm.what, "cts_query_run: %.40s: %.200s", cts_strerror(rc),
                 err.msg);
        ok = false;
    } else {
        ok = qm_compare(d, q, &r, &g, &mm);
    }
    st->run++;
    st->empty += r.nseries == 0;
    if (!ok) {
        st->mismatches++;
        qm_report(stderr, seed, qi, d, q, &r, &g, &mm);
        if (!st->first_mismatch[0])
            snprintf(st->first_mismatch, sizeof st->first_mismatch,
                     "seed %" PRIu64 " query %d: %.300s: %.400s", seed, qi, mm.what, q->text);
    }
    qm_got_free(&g);
    qm_result_free(&r);
    return ok;
}

static bool qm_run_seed(uint64_t seed, int nqueries, uint64_t feats, qm_stats *st)
{
    scratch_dir dir;
    assert_int_equal(scratch_make(&dir, "qmodel"), 0);
    cts_rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
    qm_data d;
    memset(&d, 0, sizeof d);
    d.xties = cts_rng_below(&r, 10) < 3;
    d.big_ints = cts_rng_below(&r, 10) < 2;
    d.wild_floats = cts_rng_below(&r, 10) < 2;
    d.block_points = 8 + (uint32_t)cts_rng_below(&r, 57);
    d.flush_mode = (int)cts_rng_below(&r, 3);
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.fsync = CTS_DB_FSYNC_NEVER;
    o.block_points = d.block_points;
    cts_dbset *set = NULL;
    int rc = cts_dbset_open(dir.path, &o, &set);
    if (rc)
        fail_msg("cts_dbset_open: %s: %s", cts_strerror(rc), cts_dbset_errmsg());
    cts_db *db = NULL;
    rc = cts_dbset_acquire(set, QM_DB, true, &db);
    if (rc)
        fail_msg("cts_dbset_acquire: %s: %s", cts_strerror(rc), cts_dbset_errmsg());
    qm_data_build(&r, &d, db);
    cts_rng qr = {seed ^ 0x5DEECE66Dull};
    bool keep_going = getenv("CTS_QUERY_KEEP_GOING") != NULL;
    bool ok = true;
    for (int i = 0; i < nqueries && (ok || keep_going); i++) {
        qm_query q;
        qm_gen_query(&qr, feats, &d, &q);
        ok &= qm_check_one(set, seed, i, &d, &q, st);
    }
    cts_dbset_release(set, db);
    assert_int_equal(cts_dbset_close(set), 0);
    scratch_remove(&dir);
    qm_data_free(&d);
    return ok;
}

static void test_query_model(void **state)
{
    (void)state;
    long nseeds = qm_env_long("CTS_QUERY_SEEDS", 30);
    long nqueries = qm_env_long("CTS_QUERY_QUERIES", 100);
    long only = qm_env_long("CTS_QUERY_SEED", -1);
    bool keep_going = getenv("CTS_QUERY_KEEP_GOING") != NULL;
    uint64_t feats = qm_features();
    qm_stats st;
    memset(&st, 0, sizeof st);
    for (long s = only >= 0 ? only : 1; s <= (only >= 0 ? only : nseeds); s++) {
        bool ok = qm_run_seed((uint64_t)s, (int)nqueries, feats, &st);
        if (!ok && !keep_going)
            break;
    }
    fprintf(stderr,
            "query model: %" PRIu64 " statements compared (%" PRIu64
            " with empty results), %" PRIu64 " skipped as undetermined, %" PRIu64 " mismatches\n",
            st.run, st.empty, st.skipped, st.mismatches);
    if (st.mismatches)
        fail_msg("%" PRIu64 " mismatches; first: %s", st.mismatches, st.first_mismatch);
}

/* Hand-checked cases (query_model_cases.h): the reference must give the
 * hand results; the executor must agree except on reported disagreements. */
static void test_query_model_cases(void **state)
{
    (void)state;
    scratch_dir dir;
    assert_int_equal(scratch_make(&dir, "qmcases"), 0);
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.fsync = CTS_DB_FSYNC_NEVER;
    o.block_points = 2;
    cts_dbset *set = NULL;
    assert_int_equal(cts_dbset_open(dir.path, &o, &set), 0);
    cts_db *db = NULL;
    assert_int_equal(cts_dbset_acquire(set, QM_DB, true, &db), 0);
    qm_data d;
    qm_hand_data(db, &d);
    int model_bad = 0, exec_bad = 0;
    qm_hand_run(set, &d, QF_ALL, &model_bad, &exec_bad);
    qm_hand_errors_run(set, &exec_bad);
    cts_dbset_release(set, db);
    assert_int_equal(cts_dbset_close(set), 0);
    scratch_remove(&dir);
    qm_data_free(&d);
    assert_int_equal(model_bad, 0);
    assert_int_equal(exec_bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_model_cases),
        cmocka_unit_test(test_query_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
