/*
 * test_encode.c: the result encoders (table, CSV, JSON, chart) and the time
 * formatting, against InfluxDB 1.x's output.
 *
 * - Floats: a table of values with the text Go prints for them
 *   (encoding/json and strconv 'f' -1), generated from the shortest
 *   round-trip digits and including the uneven gaps at powers of two; and a
 *   property: random bit patterns read back exactly and no shorter digits do.
 * - Times: known dates (pre-1970, fractions, the int64 extremes) and a
 *   property against gmtime_r.
 * - Each format: exact output for results with tags, without, empty
 *   statements, series without rows, nulls, escapes, errors, pretty JSON.
 * - Failures: a writer that fails at its Nth call makes every later sink
 *   call and finish return its value; allocation failures give
 *   CTS_ENOMEM and leak nothing (ASan); calls out of order give CTS_EINVAL.
 */
#include "cts_test.h"

#include "cts_query.h"

#include <math.h>
#include <time.h>

#define T0 1793577600000000000LL /* 2026-11-02T00:00:00Z */

/* ------------------------------------------------------------------------
 * Capturing writer.
 * ------------------------------------------------------------------------ */
typedef struct capw {
    char *p;
    size_t len, cap;
    long calls;
    long fail_at; /* fail the call with this number (1-based); 0: never */
} capw;

static int cap_write(void *ctx, const void *buf, size_t len)
{
    capw *w = ctx;
    w->calls++;
    if (w->fail_at && w->calls >= w->fail_at)
        return CTS_EIO;
    if (w->len + len + 1 > w->cap) {
        w->cap = (w->len + len + 1) * 2;
        w->p = realloc(w->p, w->cap);
        assert_non_null(w->p);
    }
    memcpy(w->p + w->len, buf, len);
    w->len += len;
    w->p[w->len] = '\0';
    return 0;
}

static cts_str S(const char *s)
{
    return (cts_str){s, (uint32_t)strlen(s)};
}
static cts_qval VF(double f)
{
    return (cts_qval){.type = CTS_Q_FLOAT, .v.f = f};
}
static cts_qval VI(int64_t i)
{
    return (cts_qval){.type = CTS_Q_INT, .v.i = i};
}
static cts_qval VU(uint64_t u)
{
    return (cts_qval){.type = CTS_Q_UINT, .v.u = u};
}
static cts_qval VB(bool b)
{
    return (cts_qval){.type = CTS_Q_BOOL, .v.b = b};
}
static cts_qval VS(const char *s)
{
    return (cts_qval){.type = CTS_Q_STRING, .v.s = S(s)};
}
static cts_qval VT(int64_t ns)
{
    return (cts_qval){.type = CTS_Q_TIME, .v.i = ns};
}
static cts_qval VN(void)
{
    return (cts_qval){.type = CTS_Q_NULL};
}

typedef struct run {
    cts_qenc *e;
    const cts_qsink *s;
    capw w;
} run;

static void run_start(run *r, cts_qformat fmt, cts_qepoch epoch, bool pretty)
{
    cts_qenc_opts o;
    cts_qenc_opts_init(&o);
    o.format = fmt;
    o.epoch = epoch;
    o.pretty = pretty;
    memset(r, 0, sizeof *r);
    assert_int_equal(cts_qenc_create(&o, cap_write, &r->w, &r->e), 0);
    r->s = cts_qenc_sink(r->e);
}

/* Finish, compare, free. */
static void run_expect(run *r, const char *want)
{
    assert_int_equal(cts_qenc_finish(r->e), 0);
    cts_qenc_destroy(r->e);
    assert_string_equal(r->w.p ? r->w.p : "", want);
    free(r->w.p);
}

/* One series: name, tags "k=v" pairs (NULL-terminated), columns, rows. */
static void series(run *r, const char *name, const char *const *tags, const char *const *cols,
                   size_t ncols, const cts_qval *rows, size_t nrows)
{
    cts_str keys[8], vals[8], cs[8];
    size_t nt = 0;
    for (; tags && tags[nt * 2]; nt++) {
        keys[nt] = S(tags[nt * 2]);
        vals[nt] = S(tags[nt * 2 + 1]);
    }
    for (size_t i = 0; i < ncols; i++)
        cs[i] = S(cols[i]);
    cts_qseries s = {S(name), nt, keys, vals, ncols, cs};
    assert_int_equal(r->s->series_begin(r->s->ctx, &s), 0);
    for (size_t i = 0; i < nrows; i++)
        assert_int_equal(r->s->row(r->s->ctx, rows + i * ncols), 0);
    assert_int_equal(r->s->series_end(r->s->ctx), 0);
}

static void stmt_begin(run *r, uint32_t id)
{
    assert_int_equal(r->s->statement_begin(r->s->ctx, id), 0);
}
static void stmt_end(run *r, uint32_t id, const char *err)
{
    assert_int_equal(r->s->statement_end(r->s->ctx, id, err), 0);
}

static const char *const city_lisbon[] = {"city", "lisbon", NULL};
static const char *const time_mean[] = {"time", "mean"};

/* The example of the contract: one statement, one grouped series. */
static void one_series(run *r)
{
    cts_qval rows[] = {VT(T0), VF(12.5), VT(T0 + 60000000000LL), VN()};
    stmt_begin(r, 0);
    series(r, "air", city_lisbon, time_mean, 2, rows, 2);
    stmt_end(r, 0, NULL);
}

/* ------------------------------------------------------------------------
 * Time formatting.
 * ------------------------------------------------------------------------ */
static void test_qtime_known(void **state)
{
    (void)state;
    static const struct {
        int64_t ns;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {T0, "2026-11-02T00:00:00Z"},
        {T0 + 500000000, "2026-11-02T00:00:00.5Z"},
        {T0 + 123456789, "2026-11-02T00:00:00.123456789Z"},
        {T0 + 1000, "2026-11-02T00:00:00.000001Z"},
        {1709211661000000000LL, "2024-02-29T13:01:01Z"},
        {-1, "1969-12-31T23:59:59.999999999Z"},
        {-1000000000, "1969-12-31T23:59:59Z"},
        {-3153600000000000000LL, "1870-01-25T00:00:00Z"},
        {INT64_MIN, "1677-09-21T00:12:43.145224192Z"},
        {INT64_MAX, "2262-04-11T23:47:16.854775807Z"},
    };
    char buf[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = cts_qtime_format(cases[i].ns, buf, sizeof buf);
        assert_int_equal(n, (int)strlen(cases[i].want));
        assert_string_equal(buf, cases[i].want);
    }
    /* cap must hold the text and its NUL */
    assert_int_equal(cts_qtime_format(0, buf, 20), CTS_ENOSPACE);
    assert_int_equal(cts_qtime_format(0, buf, 21), 20);
    assert_int_equal(cts_qtime_format(0, NULL, 0), CTS_ENOSPACE);
}

/* Property: the date and time agree with gmtime_r, the fraction is the
 * nanoseconds with trailing zeros trimmed. */
static void test_qtime_property(void **state)
{
    (void)state;
    cts_rng rng = {42};
    char buf[40], want[64], frac[16];
    for (int i = 0; i < 20000; i++) {
        int64_t ns = (int64_t)cts_rng_next(&rng);
        if (i % 3 == 0)
            ns /= 1000000000; /* near 1970 */
        if (i % 5 == 0)
            ns -= ns % 1000000000; /* whole seconds */
        int64_t secs = ns / 1000000000, f = ns % 1000000000;
        if (f < 0) {
            secs--;
            f += 1000000000;
        }
        time_t t = (time_t)secs;
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        size_t n = strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
        if (f) {
            snprintf(frac, sizeof frac, ".%09lld", (long long)f);
            size_t k = strlen(frac);
            while (frac[k - 1] == '0')
                frac[--k] = '\0';
            snprintf(want + n, sizeof want - n, "%s", frac);
        }
        strcat(want, "Z");
        assert_true(cts_qtime_format(ns, buf, sizeof buf) > 0);
        assert_string_equal(buf, want);
    }
}

static void test_qepoch_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        cts_qepoch e;
    } ok[] = {{"ns", CTS_QEPOCH_NS},       {"n", CTS_QEPOCH_NS},
              {"u", CTS_QEPOCH_US},        {"us", CTS_QEPOCH_US},
              {"\xc2\xb5", CTS_QEPOCH_US}, {"ms", CTS_QEPOCH_MS},
              {"s", CTS_QEPOCH_S},         {"m", CTS_QEPOCH_M},
              {"h", CTS_QEPOCH_H},         {"rfc3339", CTS_QEPOCH_RFC3339}};
    cts_qepoch e;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(cts_qepoch_parse(ok[i].s, &e), 0);
        assert_int_equal(e, ok[i].e);
    }
    const char *bad[] = {"", "d", "NS", "sec", "rfc", " s", "ms "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cts_qepoch_parse(bad[i], &e), CTS_EINVAL);
    assert_int_equal(cts_qepoch_parse(NULL, &e), CTS_EINVAL);
    assert_int_equal(cts_qepoch_parse("s", NULL), CTS_EINVAL);
}

/* ------------------------------------------------------------------------
 * Floats, as Go prints them.
 * ------------------------------------------------------------------------ */
static const struct {
    double v;
    const char *json;  /* encoding/json */
    const char *plain; /* strconv.FormatFloat(v, 'f', -1, 64) */
} go_floats[] = {
    {0x1.999999999999ap-4, "0.1", "0.1"},
    {0x1.b1ae4d6e2ef50p+69, "1e+21", "1000000000000000000000"},
    {0x1.5af1d78b58c40p+66, "100000000000000000000", "100000000000000000000"},
    {0x1.ad7f29abcaf48p-24, "1e-7", "0.0000001"},
    {0x1.0c6f7a0b5ed8dp-20, "0.000001", "0.000001"},
    {0x1.d6f34547df3b6p+26, "123456789.123", "123456789.123"},
    {-0.0, "-0", "-0"},
    {0x0.0000000000001p-1022, "5e-324",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000005"},
    {0x1.fffffffffffffp+1023, "1.7976931348623157e+308",
     "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000"},
    {0x1.9000000000000p+6, "100", "100"},
    {0x1.0000000000000p+1, "2", "2"},
    {0x1.9000000000000p+3, "12.5", "12.5"},
    {-0x1.8000000000000p+0, "-1.5", "-1.5"},
    {0x1.3333333333334p-2, "0.30000000000000004", "0.30000000000000004"},
    {0x1.52d02c7e14af6p+76, "1e+23", "100000000000000000000000"},
    {0x1.0c6f7a0b5ed8dp-21, "5e-7", "0.0000005"},
    {0x1.49da7e361ce4cp-33, "1.5e-10", "0.00000000015"},
    {0x1.0000000000000p+63, "9223372036854776000", "9223372036854776000"},
    {0x1.0000000000000p-1022, "2.2250738585072014e-308",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000022250738585072014"},
    {0x1.0000000000000p+60, "1152921504606847000", "1152921504606847000"},
    {0x0.0000000000003p-1022, "1.5e-323",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000015"},
    {0x1.0000000000000p+53, "9007199254740992", "9007199254740992"},
    {0x1.5555555555555p-2, "0.3333333333333333", "0.3333333333333333"},
    {0x1.5555555555555p-1, "0.6666666666666666", "0.6666666666666666"},
    {-0x1.ad7f29abcaf48p-26, "-2.5e-8", "-0.000000025"},
    {0x1.aabdf2145b430p+66, "123000000000000000000", "123000000000000000000"},
    {0x1.4b3fd5942cd96p-20, "0.000001234", "0.000001234"},
    {-0x1.74de452e6b438p+811, "-1.989032661366619e+244",
     "-19890326613666190000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000"},
    {0x1.3270e269e0d37p+594, "7.761117632285041e+178",
     "776111763228504100000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
    {0x1.c7fd0a6a3a450p-826, "3.980498358697587e-249",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000003980498358697587"},
    {-0x1.f0824128b2f33p+292, "-1.5432835417340557e+88",
     "-15432835417340557000000000000000000000000000000000000000000000000000000000000000000000000"},
    {0x1.8e811892f902bp-638, "1.3647584518757569e-192",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000013647584518757569"},
    {-0x1.1985d5d9dc9f8p-684, "-1.3701135617873088e-206",
     "-0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000013701135617873088"},
    {-0x1.25d940ed90475p+655, "-1.7160537630466207e+197",
     "-17160537630466207000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000"},
    {0x1.675cc81e74ef5p-144, "6.294675241195386e-44",
     "0.00000000000000000000000000000000000000000006294675241195386"},
    {0x1.0a35a099950d8p-671, "1.0613447212142254e-202",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000010613447212142254"},
    {0x1.d549b6f03675ap+689, "4.708325160387546e+207",
     "470832516038754600000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000"},
    {0x1.c172411e20b8fp-38, "6.387016158513563e-12", "0.000000000006387016158513563"},
    {-0x1.16ece1738f7d9p-814, "-9.973130378568733e-246",
     "-0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000009973130378568733"},
    {0x1.1ddb66cad4a26p-781, "8.779753225680271e-236",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000008779753225680271"},
    {-0x1.192cfd3ac94afp-755, "-5.795503248498993e-228",
     "-0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000005795503248498993"},
    {-0x1.c105d1fb17c23p+809, "-5.988180159386011e+243",
     "-59881801593860110000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000"},
    {-0x1.0b33839263059p-488, "-1.306052388527796e-147",
     "-0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000001306052388527796"},
    {-0x1.f48f1a09f76b5p-684, "-2.436117699484841e-206",
     "-0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000002436117699484841"},
    {0x1.630f1f29d0da9p-770, "2.233386999150174e-232",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000002233386999150174"},
    {-0x1.60af593bd04cfp-673, "-3.51527970626667e-203",
     "-0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000351527970626667"},
    {0x1.1e29c658cda14p-820, "1.5987381841032883e-247",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000015987381841032883"},
    {0x1.919ba9948fc33p-200, "9.7625510559292e-61",
     "0.00000000000000000000000000000000000000000000000000000000000097625510559292"},
    {0x1.6d815a23e686cp-181, "4.658268061775628e-55",
     "0.0000000000000000000000000000000000000000000000000000004658268061775628"},
    {0x1.f5dc7922fbadbp-154, "8.584684590486796e-47",
     "0.00000000000000000000000000000000000000000000008584684590486796"},
    {0x1.93a80be28f464p-132, "2.8960928633167624e-40",
     "0.00000000000000000000000000000000000000028960928633167624"},
    {0x1.df5ea72bde162p-110, "1.4425508335743754e-33",
     "0.0000000000000000000000000000000014425508335743754"},
    {0x1.d29f8562ff182p-87, "1.1779223807836837e-26",
     "0.000000000000000000000000011779223807836837"},
    {0x1.6c30e9172943dp-62, "3.084818241019344e-19", "0.0000000000000000003084818241019344"},
    {0x1.1f2620991e5bep-37, "8.161263591200314e-12", "0.000000000008161263591200314"},
    {0x1.2f35639e02577p-16, "0.000018072637992393747", "0.000018072637992393747"},
    {0x1.22ccd229b3452p+9, "581.6001636624662", "581.6001636624662"},
    {0x1.7cd2756143080p+32, "6389134689.261841", "6389134689.261841"},
    {0x1.089ab7e9e10d8p+55, "37239754272573120", "37239754272573120"},
    {0x1.cff525df41251p+78, "5.477444657095578e+23", "547744465709557800000000"},
    {0x1.fb348e9446e09p+98, "6.278897497332314e+29", "627889749733231400000000000000"},
    {0x1.1ef81d281ea2ep+122, "5.960116996623266e+36", "5960116996623266000000000000000000000"},
    {0x1.2789484613d0bp+147, "2.0595871281932654e+44",
     "205958712819326540000000000000000000000000000"},
    {0x1.22f7c4c03caa2p+172, "6.80399973181786e+51",
     "6803999731817860000000000000000000000000000000000000"},
    {0x1.b3f6cc9f5c61ap+194, "4.275923056694029e+58",
     "42759230566940290000000000000000000000000000000000000000000"},
    {0x1.0000000000000p-1000, "9.332636185032189e-302",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000009332636185032189"},
    {0x1.0000000000000p-500, "3.054936363499605e-151",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000003054936363499605"},
    {0x1.0000000000000p-100, "7.888609052210118e-31",
     "0.0000000000000000000000000000007888609052210118"},
    {0x1.0000000000000p-20, "9.5367431640625e-7", "0.00000095367431640625"},
    {0x1.0000000000000p-3, "0.125", "0.125"},
    {0x1.0000000000000p+10, "1024", "1024"},
    {0x1.0000000000000p+54, "18014398509481984", "18014398509481984"},
    {0x1.0000000000000p+70, "1.1805916207174113e+21", "1180591620717411300000"},
    {0x1.0000000000000p+100, "1.2676506002282294e+30", "1267650600228229400000000000000"},
    {0x1.0000000000000p+200, "1.6069380442589903e+60",
     "1606938044258990300000000000000000000000000000000000000000000"},
    {0x1.0000000000000p+1000, "1.0715086071862673e+301",
     "107150860718626730000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000"},
    {0x1.0000000000000p-1017, "7.120236347223045e-307",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000007120236347223045"},
    {0x1.0000000000000p-1007, "7.291122019556398e-304",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000007291122019556398"},
    {0x1.0000000000000p-957, "8.209073602596753e-289",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000008209073602596753"},
    {0x1.0000000000000p-921, "5.641232424577593e-278",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000056"
     "41232424577593"},
    {0x1.0000000000000p-808, "5.858190679279809e-244",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000005858190679279809"},
    {0x1.0000000000000p-791, "7.678447687145631e-239",
     "0."
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000007678447687145631"},
};

/* A one-value JSON document's value text. */
static void encode_one(cts_qformat fmt, cts_qval v, char *out, size_t cap)
{
    run r;
    const char *const col[] = {"v"};
    run_start(&r, fmt, CTS_QEPOCH_RFC3339, false);
    stmt_begin(&r, 0);
    series(&r, "m", NULL, col, 1, &v, 1);
    stmt_end(&r, 0, NULL);
    assert_int_equal(cts_qenc_finish(r.e), 0);
    cts_qenc_destroy(r.e);
    const char *p, *q;
    if (fmt == CTS_QFMT_JSON) {
        p = strstr(r.w.p, "\"values\":[[") + 11;
        q = strstr(p, "]]}");
    } else { /* CSV: "name,tags,v\nm,,<value>\n" */
        p = strstr(r.w.p, "\nm,,") + 4;
        q = strchr(p, '\n');
    }
    assert_true(p && q && (size_t)(q - p) < cap);
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    free(r.w.p);
}

static void test_float_go_table(void **state)
{
    (void)state;
    char got[512];
    for (size_t i = 0; i < sizeof go_floats / sizeof go_floats[0]; i++) {
        encode_one(CTS_QFMT_JSON, VF(go_floats[i].v), got, sizeof got);
        assert_string_equal(got, go_floats[i].json);
        encode_one(CTS_QFMT_CSV, VF(go_floats[i].v), got, sizeof got);
        assert_string_equal(got, go_floats[i].plain);
        encode_one(CTS_QFMT_JSON, VF(-go_floats[i].v), got, sizeof got);
        assert_true(got[0] == '-' || go_floats[i].json[0] == '-');
    }
    encode_one(CTS_QFMT_JSON, VF(NAN), got, sizeof got);
    assert_string_equal(got, "null");
    encode_one(CTS_QFMT_JSON, VF(-INFINITY), got, sizeof got);
    assert_string_equal(got, "null");
    encode_one(CTS_QFMT_CSV, VF(NAN), got, sizeof got);
    assert_string_equal(got, "NaN");
    encode_one(CTS_QFMT_CSV, VF(INFINITY), got, sizeof got);
    assert_string_equal(got, "+Inf");
    encode_one(CTS_QFMT_CSV, VF(-INFINITY), got, sizeof got);
    assert_string_equal(got, "-Inf");
}

/* The significant digits of a number's text, trailing zeros dropped. */
static void sig_string(const char *s, char *out)
{
    size_t n = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9' || (n == 0 && *s == '0'))
            continue;
        out[n++] = *s;
    }
    while (n > 1 && out[n - 1] == '0')
        n--;
    out[n] = '\0';
}

/* v reads back exactly from both texts, and no decimal with fewer
 * significant digits reads back to it (checked with printf's rounding and
 * both neighbours, independently of the encoder's own search). */
static void check_shortest(double v)
{
    char got[512], plain[512], digs[32], s[64];
    encode_one(CTS_QFMT_JSON, VF(v), got, sizeof got);
    assert_true(strtod(got, NULL) == v);
    encode_one(CTS_QFMT_CSV, VF(v), plain, sizeof plain);
    assert_true(strtod(plain, NULL) == v);
    sig_string(got, digs);
    int n = (int)strlen(digs);
    if (n <= 1)
        return;
    snprintf(s, sizeof s, "%.*e", n - 2, v);
    assert_true(strtod(s, NULL) != v);
    char *ep = strchr(s, 'e');
    long long m = 0;
    for (char *q = s; q < ep; q++)
        if (*q >= '0' && *q <= '9')
            m = m * 10 + (*q - '0');
    int e10 = atoi(ep + 1) - (n - 2);
    double back = strtod(s, NULL);
    snprintf(s, sizeof s, "%s%llde%d", v < 0 ? "-" : "", (fabs(back) < fabs(v)) ? m + 1 : m - 1,
             e10);
    assert_true(strtod(s, NULL) != v);
}

/* Property: random bit patterns (and subnormals) are printed shortest; a
 * decimal of up to 15 digits comes back with exactly its digits. */
static void test_float_property(void **state)
{
    (void)state;
    cts_rng rng = {7};
    for (int i = 0; i < 4000; i++) {
        uint64_t bits = cts_rng_next(&rng);
        double v;
        if (i % 8 == 0) /* subnormal */
            bits = (bits & (1ull << 63)) | ((bits & ((1ull << 52) - 1)) >> cts_rng_below(&rng, 52));
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v) && v != 0)
            check_shortest(v);
    }
    char s[64], want[32], got[512], digs[32];
    for (int i = 0; i < 4000; i++) {
        int nd = 1 + (int)cts_rng_below(&rng, 15);
        uint64_t m = 1 + cts_rng_below(&rng, 9);
        for (int k = 1; k < nd; k++)
            m = m * 10 + cts_rng_below(&rng, 10);
        int e10 = (int)cts_rng_below(&rng, 80) - 40;
        snprintf(s, sizeof s, "%llue%d", (unsigned long long)m, e10);
        sig_string(s, want);
        encode_one(CTS_QFMT_JSON, VF(strtod(s, NULL)), got, sizeof got);
        sig_string(got, digs);
        assert_string_equal(digs, want);
    }
}

/* ------------------------------------------------------------------------
 * JSON.
 * ------------------------------------------------------------------------ */
static void test_json_basic(void **state)
{
    (void)state;
    run r;
    run_start(&r, CTS_QFMT_JSON, CTS_QEPOCH_RFC3339, false);
    one_series(&r);
    run_expect(&r, "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"tags\":{"
                   "\"city\":\"lisbon\"},\"columns\":[\"time\",\"mean\"],\"values\":[["
                   "\"2026-11-02T00:00:00Z\",12.5],[\"2026-11-02T00:01:00Z\",null]]}]}]}\n");
}

static void test_json_shapes(void **state)
{
    (void)state;
    run r;
    const char *const cols[] = {"time", "i", "u", "b", "s"};
    cts_qval row[] = {VT(T0), VI(INT64_MIN), VU(UINT64_MAX), VB(true), VS("x")};
    cts_qval row2[] = {VT(T0), VI(-1), VU(0), VB(false), VN()};
    cts_qval both[10];
    memcpy(both, row, sizeof row);
    memcpy(both + 5, row2, sizeof row2);

    /* statements: empty, with untagged series and a series without rows,
     * and an error (after which nothing runs) */
    run_start(&r, CTS_QFMT_JSON, CTS_QEPOCH_RFC3339, false);
    stmt_begin(&r, 0);
    stmt_end(&r, 0, NULL);
    stmt_begin(&r, 1);
    series(&r, "m", NULL, cols, 5, both, 2);
    series(&r, "", NULL, cols, 1, NULL, 0);
    stmt_end(&r, 1, NULL);
    stmt_begin(&r, 2);
    stmt_end(&r, 2, "database not found: x");
    run_expect(&r, "{\"results\":[{\"statement_id\":0},{\"statement_id\":1,\"series\":[{\"name\":"
                   "\"m\",\"columns\":[\"time\",\"i\",\"u\",\"b\",\"s\"],\"values\":[["
                   "\"2026-11-02T00:00:00Z\",-9223372036854775808,18446744073709551615,true,"
                   "\"x\"],[\"2026-11-02T00:00:00Z\",-1,0,false,null]]},{\"columns\":[\"time\"]}"
                   "]},{\"statement_id\":2,\"error\":\"database not found: x\"}]}\n");

    /* no statement at all: Go marshals an empty response as {} */
    run_start(&r, CTS_QFMT_JSON, CTS_QEPOCH_RFC3339, false);
    run_expect(&r, "{}\n");

    /* a whole-query error */
    run_start(&r, CTS_QFMT_JSON, CTS_QEPOCH_RFC3339, false);
    assert_int_equal(cts_qenc_error(r.e, "error parsing query: found EOF"), 0);
    run_expect(&r, "{\"error\":\"error parsing query: found EOF\"}\n");

    /* an error after results began, inside an open series: both closed */
    run_start(&r, CTS_QFMT_JSON, CTS_QEPOCH_RFC3339, false);
    stmt_begin(&r, 0);
    cts_str c = S("v");
    cts_qseries s = {S("m"), 0, NULL, NULL, 1, &c};
    assert_int_equal(r.s->series_begin(r.s->ctx, &s), 0);
    assert_int_equal(cts_qenc_error(r.e, "timeout"), 0);
    run_expect(&r, "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\",\"columns\":"
                   "[\"v\"]}]}],\"error\":\"timeout\"}\n");
}

static void test_json_strings(void **state)
{
    (void)state;
    char got[512];
    /* Go's encoding/json (HTML-safe): <, >, & and U+2028/9 as \u; control
     * characters as \u00XX but \n \r \t; invalid UTF-8 as \ufffd */
    encode_one(CTS_QFMT_JSON, VS("a\"b\\c\n\r\t\x01\x1f<>&\x7f"), got, sizeof got);
    assert_string_equal(got, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u003c\\u003e\\u0026\x7f\"");
    encode_one(CTS_QFMT_JSON, VS("\xe2\x80\xa8\xe2\x80\xa9 \xc2\xb5g/m\xc2\xb3 \xf0\x9f\x9a\xb2"),
               got, sizeof got);
    assert_string_equal(got, "\"\\u2028\\u2029 \xc2\xb5g/m\xc2\xb3 \xf0\x9f\x9a\xb2\"");
    /* invalid: lone continuation, overlong, surrogate, truncated, > U+10FFFF */
    encode_one(CTS_QFMT_JSON, VS("\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xf4\x90\x80\x80"), got,
               sizeof got);
    assert_string_equal(got, "\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|"
                             "\\ufffd\\ufffd\\ufffd\\ufffd\"");
    encode_one(CTS_QFMT_JSON, VS(""), got, sizeof got);
    assert_string_equal(got, "\"\"");
    /* names, tags and columns are escaped too */
    run r;
    const char *const tags[] = {"k<", "v\"", NULL};
    const char *const cols[] = {"a&b"};
    run_start(&r, CTS_QFMT_JSON, CTS_QEPOCH_RFC3339, false);
    stmt_begin(&r, 0);
    series(&r, "m\n", tags, cols, 1, NULL, 0);
    stmt_end(&r, 0, "bad \"x\"");
    run_expect(&r, "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\\n\",\"tags\":{"
                   "\"k\\u003c\":\"v\\\"\"},\"columns\":[\"a\\u0026b\"]}],\"error\":\"bad "
                   "\\\"x\\\"\"}]}\n");
}

static void test_json_epoch(void **state)
{
    (void)state;
    static const struct {
        cts_qepoch e;
        int64_t ns;
        const char *want;
    } cases[] = {
        {CTS_QEPOCH_NS, T0 + 1, "1793577600000000001"},
        {CTS_QEPOCH_US, T0 + 1999, "1793577600000001"},
        {CTS_QEPOCH_MS, T0 + 1999999, "1793577600001"},
        {CTS_QEPOCH_S, T0 + 999999999, "1793577600"},
        {CTS_QEPOCH_M, T0 + 59999999999, "29892960"},
        {CTS_QEPOCH_H, T0, "498216"},
        /* Go's division truncates toward zero */
        {CTS_QEPOCH_MS, -1500000, "-1"},
        {CTS_QEPOCH_S, -1, "0"},
        {CTS_QEPOCH_NS, INT64_MIN, "-9223372036854775808"},
        {CTS_QEPOCH_H, INT64_MAX, "2562047"},
        {CTS_QEPOCH_RFC3339, -1, "\"1969-12-31T23:59:59.999999999Z\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        const char *const col[] = {"time"};
        cts_qval v = VT(cases[i].ns);
        char want[256];
        run_start(&r, CTS_QFMT_JSON, cases[i].e, false);
        stmt_begin(&r, 0);
        series(&r, "m", NULL, col, 1, &v, 1);
        stmt_end(&r, 0, NULL);
        snprintf(want, sizeof want,
                 "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\",\"columns\":["
                 "\"time\"],\"values\":[[%s]]}]}]}\n",
                 cases[i].want);
        run_expect(&r, want);
    }
}

static void test_json_pretty(void **state)
{
    (void)state;
    run r;
    /* as json.MarshalIndent(resp, "", "    ") writes it */
    run_start(&r, CTS_QFMT_JSON, CTS_QEPOCH_RFC3339, true);
    one_series(&r);
    stmt_begin(&r, 1);
    stmt_end(&r, 1, NULL);
    stmt_begin(&r, 2);
    series(&r, "e", NULL, time_mean, 0, NULL, 0);
    stmt_end(&r, 2, "x");
    run_expect(&r, "{\n"
                   "    \"results\": [\n"
                   "        {\n"
                   "            \"statement_id\": 0,\n"
                   "            \"series\": [\n"
                   "                {\n"
                   "                    \"name\": \"air\",\n"
                   "                    \"tags\": {\n"
                   "                        \"city\": \"lisbon\"\n"
                   "                    },\n"
                   "                    \"columns\": [\n"
                   "                        \"time\",\n"
                   "                        \"mean\"\n"
                   "                    ],\n"
                   "                    \"values\": [\n"
                   "                        [\n"
                   "                            \"2026-11-02T00:00:00Z\",\n"
                   "                            12.5\n"
                   "                        ],\n"
                   "                        [\n"
                   "                            \"2026-11-02T00:01:00Z\",\n"
                   "                            null\n"
                   "                        ]\n"
                   "                    ]\n"
                   "                }\n"
                   "            ]\n"
                   "        },\n"
                   "        {\n"
                   "            \"statement_id\": 1\n"
                   "        },\n"
                   "        {\n"
                   "            \"statement_id\": 2,\n"
                   "            \"series\": [\n"
                   "                {\n"
                   "                    \"name\": \"e\"\n"
                   "                }\n"
                   "            ],\n"
                   "            \"error\": \"x\"\n"
                   "        }\n"
                   "    ]\n"
                   "}\n");
    run_start(&r, CTS_QFMT_JSON, CTS_QEPOCH_RFC3339, true);
    assert_int_equal(cts_qenc_error(r.e, "e"), 0);
    run_expect(&r, "{\n    \"error\": \"e\"\n}\n");
}

/* ------------------------------------------------------------------------
 * CSV.
 * ------------------------------------------------------------------------ */
static void test_csv(void **state)
{
    (void)state;
    run r;
    run_start(&r, CTS_QFMT_CSV, CTS_QEPOCH_RFC3339, false);
    one_series(&r);
    run_expect(&r, "name,tags,time,mean\n"
                   "air,city=lisbon,1793577600000000000,12.5\n"
                   "air,city=lisbon,1793577660000000000,\n");

    /* quoting as encoding/csv, tag escaping as a series key, statements
     * separated by an empty line, a statement without series silent, a new
     * header when the columns change */
    const char *const tags[] = {"a b", "x,y", "k", "v=w", "q", "\"", NULL};
    const char *const cols[] = {"time", "s,1", "f"};
    cts_qval rows[] = {VT(T0),      VS("he said \"hi\""),
                       VF(1e21),    VT(T0),
                       VS(" lead"), VF(-0.0),
                       VT(T0),      VS("\\."),
                       VF(5e-7),    VT(T0),
                       VS("a\nb"),  VB(true)};
    const char *const cols2[] = {"time", "n"};
    cts_qval rows2[] = {VT(-1), VU(7)};
    run_start(&r, CTS_QFMT_CSV, CTS_QEPOCH_S, false);
    stmt_begin(&r, 0);
    series(&r, "m", tags, cols, 3, rows, 4);
    series(&r, "m2", NULL, cols, 3, rows, 1);
    series(&r, "m3", NULL, cols2, 2, rows2, 1);
    stmt_end(&r, 0, NULL);
    stmt_begin(&r, 1);
    stmt_end(&r, 1, NULL);
    stmt_begin(&r, 2);
    series(&r, "m4", NULL, cols2, 2, NULL, 0);
    stmt_end(&r, 2, NULL);
    stmt_begin(&r, 3);
    stmt_end(&r, 3, "boom");
    run_expect(&r, "name,tags,time,\"s,1\",f\n"
                   "m,\"a\\ b=x\\,y,k=v\\=w,q=\"\"\",1793577600,\"he said \"\"hi\"\"\","
                   "1000000000000000000000\n"
                   "m,\"a\\ b=x\\,y,k=v\\=w,q=\"\"\",1793577600,\" lead\",-0\n"
                   "m,\"a\\ b=x\\,y,k=v\\=w,q=\"\"\",1793577600,\"\\.\",0.0000005\n"
                   "m,\"a\\ b=x\\,y,k=v\\=w,q=\"\"\",1793577600,\"a\nb\",true\n"
                   "m2,,1793577600,\"he said \"\"hi\"\"\",1000000000000000000000\n"
                   "\n"
                   "name,tags,time,n\n"
                   "m3,,0,7\n"
                   "\n"
                   "name,tags,time,n\n"
                   "\n"
                   "ERR: boom\n");

    run_start(&r, CTS_QFMT_CSV, CTS_QEPOCH_RFC3339, false);
    assert_int_equal(cts_qenc_error(r.e, "error parsing query: x"), 0);
    run_expect(&r, "ERR: error parsing query: x\n");
    run_start(&r, CTS_QFMT_CSV, CTS_QEPOCH_RFC3339, false);
    run_expect(&r, "");
}

/* ------------------------------------------------------------------------
 * Table.
 * ------------------------------------------------------------------------ */
static void test_table(void **state)
{
    (void)state;
    run r;
    run_start(&r, CTS_QFMT_TABLE, CTS_QEPOCH_RFC3339, false);
    one_series(&r);
    run_expect(&r, "name: air\n"
                   "tags: city=lisbon\n"
                   "time                 mean\n"
                   "----                 ----\n"
                   "2026-11-02T00:00:00Z 12.5\n"
                   "2026-11-02T00:01:00Z \n");

    /* widths in code points; several tags; series and statements separated
     * by an empty line; an untitled series; an error */
    const char *const tags[] = {"city", "lisbon", "sensor", "a1", NULL};
    const char *const cols[] = {"time", "unit", "value_of_it", "ok"};
    cts_qval rows[] = {VT(1000000000), VS("\xc2\xb5g"), VI(-3),       VB(true),
                       VT(0),          VS("kWh"),       VF(1234.5e3), VN()};
    const char *const one[] = {"name"};
    cts_qval dbs[] = {VS("demo"), VS("x")};
    run_start(&r, CTS_QFMT_TABLE, CTS_QEPOCH_S, false);
    stmt_begin(&r, 0);
    series(&r, "air", tags, cols, 4, rows, 2);
    series(&r, "", NULL, one, 1, dbs, 2);
    stmt_end(&r, 0, NULL);
    stmt_begin(&r, 1);
    stmt_end(&r, 1, NULL);
    stmt_begin(&r, 2);
    series(&r, "databases", NULL, one, 1, dbs, 1);
    stmt_end(&r, 2, "oops");
    run_expect(&r, "name: air\n"
                   "tags: city=lisbon, sensor=a1\n"
                   "time unit value_of_it ok\n"
                   "---- ---- ----------- --\n"
                   "1    \xc2\xb5g   -3          true\n"
                   "0    kWh  1234500     \n"
                   "\n"
                   "name\n"
                   "----\n"
                   "demo\n"
                   "x\n"
                   "\n"
                   "name: databases\n"
                   "name\n"
                   "----\n"
                   "demo\n"
                   "\n"
                   "ERR: oops\n");

    run_start(&r, CTS_QFMT_TABLE, CTS_QEPOCH_RFC3339, false);
    assert_int_equal(cts_qenc_error(r.e, "bad"), 0);
    run_expect(&r, "ERR: bad\n");
}

/* A series longer than the table's buffer is written when the buffer fills
 * and streams from there; a later wider cell widens its column. */
static void test_table_long_series(void **state)
{
    (void)state;
    capw w = {0};
    cts_qenc *e;
    cts_qenc_opts o;
    cts_qenc_opts_init(&o);
    assert_int_equal(cts_qenc_create(&o, cap_write, &w, &e), 0);
    const cts_qsink *s = cts_qenc_sink(e);
    cts_str cols[] = {S("n"), S("s")};
    cts_qseries ser = {S("m"), 0, NULL, NULL, 2, cols};
    const int rows = 30000;
    assert_int_equal(s->statement_begin(s->ctx, 0), 0);
    assert_int_equal(s->series_begin(s->ctx, &ser), 0);
    for (int i = 0; i < rows; i++) {
        cts_qval row[] = {VI(i), VS(i == 20000 ? "wide" : "x")};
        assert_int_equal(s->row(s->ctx, row), 0);
    }
    assert_true(w.len > 100000); /* written before the series ended */
    assert_int_equal(s->series_end(s->ctx), 0);
    assert_int_equal(s->statement_end(s->ctx, 0, NULL), 0);
    assert_int_equal(cts_qenc_finish(e), 0);
    cts_qenc_destroy(e);
    assert_memory_equal(w.p, "name: m\nn    s\n-    -\n0    x\n", 26);
    int lines = 0;
    for (size_t i = 0; i < w.len; i++)
        lines += w.p[i] == '\n';
    assert_int_equal(lines, rows + 3);
    assert_non_null(strstr(w.p, "\n19999 x\n20000 wide\n20001 x\n"));
    free(w.p);
}

/* ------------------------------------------------------------------------
 * Chart.
 * ------------------------------------------------------------------------ */
static char *chart_of(const cts_qval *rows, size_t nrows, const char *const *cols, size_t ncols)
{
    cts_qenc_opts o;
    cts_qenc_opts_init(&o);
    o.chart = true;
    o.chart_width = 20;
    o.chart_height = 5;
    capw w = {0};
    cts_qenc *e;
    assert_int_equal(cts_qenc_create(&o, cap_write, &w, &e), 0);
    run r = {e, cts_qenc_sink(e), {0}};
    stmt_begin(&r, 0);
    series(&r, "air", city_lisbon, cols, ncols, rows, nrows);
    stmt_end(&r, 0, NULL);
    assert_int_equal(cts_qenc_finish(e), 0);
    cts_qenc_destroy(e);
    return w.p;
}

/* Braille dots set in the output. */
static int count_dots(const char *s)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (p[0] == 0xE2 && (p[1] & 0xFC) == 0xA0) {
            unsigned bits = ((p[1] & 3u) << 6) | (p[2] & 0x3Fu);
            n += __builtin_popcount(bits);
            p += 2;
        }
    }
    return n;
}

static void test_chart(void **state)
{
    (void)state;
    const char *const cols[] = {"time", "name", "mean"};
    cts_qval rows[3 * 5];
    for (int i = 0; i < 5; i++) {
        rows[i * 3] = VT(T0 + i * 60000000000LL);
        rows[i * 3 + 1] = VS("x");
        rows[i * 3 + 2] = VF(10 + i);
    }
    char *out = chart_of(rows, 5, cols, 3);
    const char *want_head = "air city=lisbon: mean\n"
                            "14 \xe2\x94\xa4";
    assert_memory_equal(out, want_head, strlen(want_head));
    assert_non_null(strstr(out, "\n10 \xe2\x94\xa4"));
    assert_non_null(strstr(out, "   \xe2\x94\x94\xe2\x94\x80"));
    assert_non_null(strstr(out, "\n    2026-11-02T00:00:00Z"));
    assert_non_null(strstr(out, "2026-11-02T00:04:00Z\n"));
    /* a straight rising line through 40 x 20 dots touches every column */
    int full = count_dots(out);
    assert_true(full >= 40);
    free(out);

    /* a null in the middle leaves a gap: fewer dots */
    rows[2 * 3 + 2] = VN();
    out = chart_of(rows, 5, cols, 3);
    assert_true(count_dots(out) < full);
    assert_true(count_dots(out) >= 4);
    free(out);

    /* one point, constant values: drawn, no division by zero */
    rows[2 * 3 + 2] = VF(10);
    out = chart_of(rows, 1, cols, 3);
    assert_int_equal(count_dots(out), 1);
    assert_non_null(strstr(out, "2026-11-02T00:00:00Z\n"));
    free(out);

    /* no numeric column: listed as a table */
    out = chart_of(rows, 2, cols, 2);
    assert_non_null(strstr(out, "name: air\ntags: city=lisbon\ntime                 name\n"));
    free(out);
    /* first column not time: a table */
    const char *const cols2[] = {"name", "mean"};
    cts_qval rows2[] = {VS("a"), VF(1)};
    out = chart_of(rows2, 1, cols2, 2);
    assert_non_null(strstr(out, "name mean\n---- ----\na    1\n"));
    free(out);
    /* all null: a table */
    cts_qval rows3[] = {VT(T0), VN(), VT(T0 + 1), VF(NAN)};
    const char *const cols3[] = {"time", "mean"};
    out = chart_of(rows3, 2, cols3, 2);
    assert_non_null(strstr(out, "----"));
    assert_int_equal(count_dots(out), 0);
    free(out);
}

/* ------------------------------------------------------------------------
 * Failures.
 * ------------------------------------------------------------------------ */

/* Drive a result through the sink, stopping at the first failure; returns
 * it (0 when everything succeeded). */
static int drive(cts_qenc *e, int nrows)
{
    const cts_qsink *s = cts_qenc_sink(e);
    cts_str cols[] = {S("time"), S("v")}, k = S("city"), v = S("lisbon");
    cts_qseries ser = {S("air"), 1, &k, &v, 2, cols};
    int rc;
    for (uint32_t st = 0; st < 2; st++) {
        if ((rc = s->statement_begin(s->ctx, st)))
            return rc;
        if ((rc = s->series_begin(s->ctx, &ser)))
            return rc;
        for (int i = 0; i < nrows; i++) {
            cts_qval row[] = {VT(T0 + i), VS("a string that takes some room in the buffer")};
            if ((rc = s->row(s->ctx, row)))
                return rc;
        }
        if ((rc = s->series_end(s->ctx)))
            return rc;
        if ((rc = s->statement_end(s->ctx, st, st ? "err" : NULL)))
            return rc;
    }
    return cts_qenc_finish(e);
}

static void test_write_failure(void **state)
{
    (void)state;
    for (int fmt = 0; fmt <= 2; fmt++) {
        for (long at = 1; at < 40; at++) {
            cts_qenc_opts o;
            cts_qenc_opts_init(&o);
            o.format = (cts_qformat)fmt;
            capw w = {.fail_at = at};
            cts_qenc *e;
            assert_int_equal(cts_qenc_create(&o, cap_write, &w, &e), 0);
            int rc = drive(e, 1000);
            if (w.calls >= at) {
                assert_int_equal(rc, CTS_EIO);
                /* sticky: every later call returns it, without writing */
                long calls = w.calls;
                const cts_qsink *s = cts_qenc_sink(e);
                assert_int_equal(s->statement_begin(s->ctx, 9), CTS_EIO);
                assert_int_equal(cts_qenc_error(e, "x"), CTS_EIO);
                assert_int_equal(cts_qenc_finish(e), CTS_EIO);
                assert_int_equal(w.calls, calls);
            } else {
                assert_int_equal(rc, 0);
            }
            cts_qenc_destroy(e);
            free(w.p);
        }
    }
}

static void test_alloc_failure(void **state)
{
    (void)state;
    for (int fmt = 0; fmt <= 2; fmt++) {
        for (long n = 0; n < 60; n++) {
            cts_qenc_opts o;
            cts_qenc_opts_init(&o);
            o.format = (cts_qformat)fmt;
            o.chart = n % 2;
            capw w = {0};
            cts_qenc *e = NULL;
            cts_alloc_fail_after(n);
            int rc = cts_qenc_create(&o, cap_write, &w, &e);
            if (rc == 0)
                rc = drive(e, 300);
            cts_alloc_fail_after(-1);
            assert_true(rc == 0 || rc == CTS_ENOMEM);
            if (rc == CTS_ENOMEM && e)
                assert_int_equal(cts_qenc_finish(e), CTS_ENOMEM);
            cts_qenc_destroy(e);
            free(w.p);
        }
    }
}

static void test_misuse(void **state)
{
    (void)state;
    cts_qenc *e;
    capw w = {0};
    cts_qenc_opts o;
    cts_qenc_opts_init(&o);
    assert_int_equal(cts_qenc_create(&o, NULL, &w, &e), CTS_EINVAL);
    assert_null(e);
    assert_int_equal(cts_qenc_create(&o, cap_write, &w, NULL), CTS_EINVAL);
    o.format = (cts_qformat)7;
    assert_int_equal(cts_qenc_create(&o, cap_write, &w, &e), CTS_EINVAL);
    o.format = CTS_QFMT_JSON;
    o.epoch = (cts_qepoch)99;
    assert_int_equal(cts_qenc_create(&o, cap_write, &w, &e), CTS_EINVAL);
    assert_int_equal(cts_qenc_create(NULL, cap_write, &w, &e), 0); /* defaults: table */

    const cts_qsink *s = cts_qenc_sink(e);
    cts_str c = S("v");
    cts_qseries ser = {S("m"), 0, NULL, NULL, 1, &c};
    cts_qval v = VI(1);
    assert_int_equal(s->row(s->ctx, &v), CTS_EINVAL);
    assert_int_equal(s->series_begin(s->ctx, &ser), CTS_EINVAL);
    assert_int_equal(s->series_end(s->ctx), CTS_EINVAL);
    assert_int_equal(s->statement_end(s->ctx, 0, NULL), CTS_EINVAL);
    assert_int_equal(s->statement_begin(s->ctx, 0), 0);
    assert_int_equal(s->statement_begin(s->ctx, 1), CTS_EINVAL);
    assert_int_equal(s->series_begin(s->ctx, NULL), CTS_EINVAL);
    ser.columns = NULL;
    assert_int_equal(s->series_begin(s->ctx, &ser), CTS_EINVAL);
    ser.columns = &c;
    assert_int_equal(s->series_begin(s->ctx, &ser), 0);
    assert_int_equal(s->row(s->ctx, NULL), CTS_EINVAL);
    assert_int_equal(s->row(s->ctx, &v), 0);
    /* statement_end closes the open series */
    assert_int_equal(s->statement_end(s->ctx, 0, NULL), 0);
    assert_int_equal(cts_qenc_finish(e), 0);
    assert_int_equal(cts_qenc_finish(e), 0);
    assert_int_equal(s->statement_begin(s->ctx, 2), CTS_EINVAL);
    assert_int_equal(cts_qenc_error(e, "late"), CTS_EINVAL);
    assert_string_equal(w.p, "name: m\nv\n-\n1\n");
    cts_qenc_destroy(e);
    cts_qenc_destroy(NULL);
    assert_null(cts_qenc_sink(NULL));
    assert_int_equal(cts_qenc_finish(NULL), CTS_EINVAL);
    assert_int_equal(cts_qenc_error(NULL, "x"), CTS_EINVAL);
    free(w.p);
}

/* Streaming: a long result reaches the writer before the query ends, in
 * chunks of bounded size. */
static void test_streaming(void **state)
{
    (void)state;
    for (int fmt = CTS_QFMT_CSV; fmt <= CTS_QFMT_JSON; fmt++) {
        cts_qenc_opts o;
        cts_qenc_opts_init(&o);
        o.format = (cts_qformat)fmt;
        capw w = {0};
        cts_qenc *e;
        assert_int_equal(cts_qenc_create(&o, cap_write, &w, &e), 0);
        const cts_qsink *s = cts_qenc_sink(e);
        cts_str cols[] = {S("time"), S("v")};
        cts_qseries ser = {S("m"), 0, NULL, NULL, 2, cols};
        assert_int_equal(s->statement_begin(s->ctx, 0), 0);
        assert_int_equal(s->series_begin(s->ctx, &ser), 0);
        for (int i = 0; i < 100000; i++) {
            cts_qval row[] = {VT(T0 + i), VF(i * 0.5)};
            assert_int_equal(s->row(s->ctx, row), 0);
        }
        assert_true(w.calls > 50);
        assert_true(w.len > 1000000);
        assert_int_equal(s->series_end(s->ctx), 0);
        assert_int_equal(s->statement_end(s->ctx, 0, NULL), 0);
        assert_int_equal(cts_qenc_finish(e), 0);
        cts_qenc_destroy(e);
        free(w.p);
    }
}

/* ------------------------------------------------------------------------
 * Property tests over random results: JSON is well formed, pretty JSON is
 * compact JSON plus whitespace, CSV reads back to the values.
 * ------------------------------------------------------------------------ */
typedef struct rseries {
    char name[8];
    size_t ntags, ncols, nrows;
    cts_str keys[2], vals[2], cols[4];
    char tagtext[4][8], coltext[4][8];
    cts_qval *vals_rows;
    char (*strs)[12];
} rseries;

typedef struct rquery {
    size_t nstmts;
    size_t nseries[3];
    bool error[3];
    rseries series[3][3];
} rquery;

/* A short string of awkward bytes: quotes, commas, newlines, controls,
 * HTML characters, UTF-8 and invalid UTF-8. */
static void rand_text(cts_rng *rng, char *out, size_t cap)
{
    static const char *const atoms[] = {"a", "Z", "\"", ",",    "\n",       "\r",           "\\",
                                        "<", "&", " ",  "\x01", "\xc2\xb5", "\xe2\x80\xa8", "\xff",
                                        "=", "9"};
    size_t n = 0, k = cts_rng_below(rng, 4);
    for (size_t i = 0; i < k; i++) {
        const char *a = atoms[cts_rng_below(rng, sizeof atoms / sizeof atoms[0])];
        if (n + strlen(a) + 1 > cap)
            break;
        memcpy(out + n, a, strlen(a));
        n += strlen(a);
    }
    out[n] = '\0';
}

static cts_qval rand_value(cts_rng *rng, char *buf)
{
    switch (cts_rng_below(rng, 7)) {
    case 0:
        return VN();
    case 1:
        return VF((double)(int64_t)cts_rng_next(rng) / (double)(1 + cts_rng_below(rng, 1000)));
    case 2:
        return VI((int64_t)cts_rng_next(rng));
    case 3:
        return VU(cts_rng_next(rng));
    case 4:
        return VB(cts_rng_below(rng, 2));
    case 5:
        rand_text(rng, buf, 12);
        return VS(buf);
    default:
        return VT((int64_t)cts_rng_next(rng));
    }
}

static void rand_series(cts_rng *rng, rseries *r)
{
    rand_text(rng, r->name, sizeof r->name);
    r->ntags = cts_rng_below(rng, 3);
    r->ncols = cts_rng_below(rng, 5);
    r->nrows = cts_rng_below(rng, 6);
    for (size_t i = 0; i < r->ntags; i++) {
        rand_text(rng, r->tagtext[2 * i], 8);
        rand_text(rng, r->tagtext[2 * i + 1], 8);
        r->keys[i] = S(r->tagtext[2 * i]);
        r->vals[i] = S(r->tagtext[2 * i + 1]);
    }
    for (size_t i = 0; i < r->ncols; i++) {
        rand_text(rng, r->coltext[i], 8);
        r->cols[i] = S(r->coltext[i]);
    }
    size_t n = r->ncols * r->nrows;
    r->vals_rows = calloc(n ? n : 1, sizeof *r->vals_rows);
    r->strs = calloc(n ? n : 1, sizeof *r->strs);
    for (size_t i = 0; i < n; i++)
        r->vals_rows[i] = rand_value(rng, r->strs[i]);
}

static void rand_query(cts_rng *rng, rquery *q)
{
    memset(q, 0, sizeof *q);
    q->nstmts = cts_rng_below(rng, 4);
    for (size_t i = 0; i < q->nstmts; i++) {
        q->nseries[i] = cts_rng_below(rng, 4);
        q->error[i] = cts_rng_below(rng, 4) == 0;
        for (size_t k = 0; k < q->nseries[i]; k++)
            rand_series(rng, &q->series[i][k]);
    }
}

static void free_query(rquery *q)
{
    for (size_t i = 0; i < q->nstmts; i++)
        for (size_t k = 0; k < q->nseries[i]; k++) {
            free(q->series[i][k].vals_rows);
            free(q->series[i][k].strs);
        }
}

static char *encode_query(const rquery *q, cts_qformat fmt, bool pretty)
{
    run r;
    run_start(&r, fmt, CTS_QEPOCH_RFC3339, pretty);
    for (uint32_t i = 0; i < q->nstmts; i++) {
        stmt_begin(&r, i);
        for (size_t k = 0; k < q->nseries[i]; k++) {
            const rseries *rs = &q->series[i][k];
            cts_qseries s = {S(rs->name), rs->ntags, rs->keys, rs->vals, rs->ncols, rs->cols};
            assert_int_equal(r.s->series_begin(r.s->ctx, &s), 0);
            for (size_t j = 0; j < rs->nrows; j++)
                assert_int_equal(r.s->row(r.s->ctx, rs->vals_rows + j * rs->ncols), 0);
            assert_int_equal(r.s->series_end(r.s->ctx), 0);
        }
        stmt_end(&r, i, q->error[i] ? "failed" : NULL);
    }
    assert_int_equal(cts_qenc_finish(r.e), 0);
    cts_qenc_destroy(r.e);
    return r.w.p ? r.w.p : strdup("");
}

/* A JSON validator (RFC 8259, values only as the encoder writes them). */
static const char *j_value(const char *p);
static const char *j_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}
static const char *j_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdef", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}
static const char *j_list(const char *p, char close, bool object)
{
    p = j_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (object) {
            p = j_string(j_ws(p));
            if (!p || *(p = j_ws(p)) != ':')
                return NULL;
            p++;
        }
        if (!(p = j_value(p)))
            return NULL;
        p = j_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}
static const char *j_value(const char *p)
{
    p = j_ws(p);
    if (*p == '{')
        return j_list(p, '}', true);
    if (*p == '[')
        return j_list(p, ']', false);
    if (*p == '"')
        return j_string(p);
    if (strncmp(p, "null", 4) == 0 || strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    char *end;
    strtod(p, &end);
    return end == p || *p == '+' ? NULL : end;
}

/* Pretty JSON without its whitespace outside strings. */
static void squeeze(char *s)
{
    char *o = s;
    bool in = false;
    for (char *p = s; *p; p++) {
        if (in && *p == '\\') {
            *o++ = *p++;
        } else if (*p == '"') {
            in = !in;
        } else if (!in && (*p == ' ' || *p == '\n')) {
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
}

/* The next CSV field of a record (encoding/csv's quoting); *end_rec at a
 * record's end. */
static const char *csv_field(const char *p, char *out, bool *end_rec)
{
    size_t n = 0;
    if (*p == '"') {
        for (p++;; p++) {
            if (*p == '"' && p[1] == '"')
                out[n++] = *p++;
            else if (*p == '"')
                break;
            else
                out[n++] = *p;
        }
        p++;
    } else {
        while (*p != ',' && *p != '\n')
            out[n++] = *p++;
    }
    out[n] = '\0';
    *end_rec = *p == '\n';
    return p + 1;
}

static void test_property_json_csv(void **state)
{
    (void)state;
    cts_rng rng = {99};
    char field[256], want[512];
    for (int it = 0; it < 400; it++) {
        rquery q;
        rand_query(&rng, &q);
        char *compact = encode_query(&q, CTS_QFMT_JSON, false);
        char *pretty = encode_query(&q, CTS_QFMT_JSON, true);
        const char *end = j_value(compact);
        assert_non_null(end);
        assert_string_equal(end, "\n");
        assert_non_null(j_value(pretty));
        squeeze(pretty); /* the newline after the document goes too */
        compact[strlen(compact) - 1] = '\0';
        assert_string_equal(pretty, compact);
        free(compact);
        free(pretty);

        /* CSV: every row reads back: name, then its string and integer
         * values as written */
        char *csv = encode_query(&q, CTS_QFMT_CSV, false);
        const char *p = csv;
        for (size_t i = 0; i < q.nstmts; i++) {
            bool header_due = true;
            for (size_t k = 0; k < q.nseries[i]; k++) {
                const rseries *rs = &q.series[i][k];
                bool end_rec = false;
                if (*p == '\n')
                    p++; /* between statements or column sets */
                if (header_due || (k > 0 && (rs->ncols != q.series[i][k - 1].ncols ||
                                             memcmp(rs->coltext, q.series[i][k - 1].coltext,
                                                    sizeof rs->coltext) != 0))) {
                    p = csv_field(p, field, &end_rec);
                    assert_string_equal(field, "name");
                    while (!end_rec)
                        p = csv_field(p, field, &end_rec);
                }
                header_due = false;
                for (size_t j = 0; j < rs->nrows; j++) {
                    p = csv_field(p, field, &end_rec);
                    assert_string_equal(field, rs->name);
                    p = csv_field(p, field, &end_rec); /* tags */
                    for (size_t c = 0; c < rs->ncols; c++) {
                        const cts_qval *v = &rs->vals_rows[j * rs->ncols + c];
                        p = csv_field(p, field, &end_rec);
                        if (v->type == CTS_Q_STRING)
                            assert_string_equal(field, v->v.s.ptr);
                        if (v->type == CTS_Q_INT) {
                            snprintf(want, sizeof want, "%lld", (long long)v->v.i);
                            assert_string_equal(field, want);
                        }
                        if (v->type == CTS_Q_TIME) {
                            snprintf(want, sizeof want, "%lld", (long long)v->v.i);
                            assert_string_equal(field, want);
                        }
                        if (v->type == CTS_Q_NULL)
                            assert_string_equal(field, "");
                    }
                    assert_true(end_rec);
                }
            }
            if (q.error[i]) {
                if (*p == '\n' && p[1] == '\n')
                    p++;
                p += *p == '\n' && strncmp(p + 1, "ERR:", 4) == 0;
                assert_memory_equal(p, "ERR: failed\n", 12);
                p += 12;
                break; /* InfluxDB runs nothing after a failed statement */
            }
        }
        free(csv);
        free_query(&q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qtime_known),
        cmocka_unit_test(test_qtime_property),
        cmocka_unit_test(test_qepoch_parse),
        cmocka_unit_test(test_float_go_table),
        cmocka_unit_test(test_float_property),
        cmocka_unit_test(test_json_basic),
        cmocka_unit_test(test_json_shapes),
        cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_json_epoch),
        cmocka_unit_test(test_json_pretty),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_long_series),
        cmocka_unit_test(test_chart),
        cmocka_unit_test(test_write_failure),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_property_json_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
