/*
 * datasets.c: the generators behind datasets.h.
 *
 * Every generator walks the points in order, drawing from one splitmix64
 * stream seeded by the dataset id, so a dataset depends on nothing but (id,
 * count). The shapes are chosen to resemble real city feeds, not to flatter
 * a codec:
 *
 *   ts_regular_60s  base + 60 s * i: what a well-behaved logger sends.
 *   ts_jitter_10s   base + 10 s * i, each stamp moved by a uniform
 *                   -1000..+1000 ms (gateways stamp at ms precision on
 *                   arrival), plus an outage of 5..60 min about every
 *                   50,000 points. Stamps stay strictly increasing.
 *   temp_1dec       12 degC + 6 sin(daily, peak mid-afternoon) + 2.5 sin(weekly)
 *                   + 8 sin(seasonal) + gaussian noise (sigma 0.15), printed
 *                   with one decimal.
 *   pm25            9 + rush-hour bumps at 08:00 and 18:00 + seasonal term +
 *                   an AR(1) noise, clipped at 0; about every 3,000 points a
 *                   5..30 min spike multiplies the reading by 10. One decimal.
 *   energy_kwh      a building meter: load 20..80 kW following office hours
 *                   on weekdays plus a slow random walk, integrated each
 *                   minute and printed with two decimals. Never decreases.
 *   traffic_count   vehicles per minute on an arterial road: Poisson counts
 *                   whose mean follows rush hours on weekdays (0..~120).
 *   random_f64      uniform 64-bit patterns with the all-ones exponent
 *                   (inf/NaN) folded back into finite numbers.
 *
 * Value datasets start at 2024-01-01T00:00:00Z (a Monday), one point per
 * minute, so i / 1440 is the day and (i / 1440) % 7 the weekday, Monday 0.
 */
#include "datasets.h"

#include <math.h>
#include <string.h>

#define BASE_TS_NS INT64_C(1704067200000000000) /* 2024-01-01T00:00:00Z */
#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
#define MINUTES_PER_DAY 1440
#define TWO_PI 6.283185307179586

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-53;
}

/* Uniform integer in [lo, hi]. */
static int64_t rng_between(rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* Standard normal (Box-Muller, one value per call). */
static double rng_gauss(rng *r)
{
    double u1 = 1.0 - rng_unit(r); /* (0, 1]: log stays finite */
    double u2 = rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
}

/* Hour of day (fractional) and weekday flag of value-dataset point i. */
static double hour_of(size_t i)
{
    return (double)(i % MINUTES_PER_DAY) / 60.0;
}

static bool is_weekday(size_t i)
{
    return (i / MINUTES_PER_DAY) % 7 < 5;
}

/* A bump of height 1 centred on hour `at` with width `sigma_h` hours. */
static double bump(double hour, double at, double sigma_h)
{
    double d = (hour - at) / sigma_h;
    return exp(-0.5 * d * d);
}

/* Cycle phase of point i for a period of `minutes`, in radians. */
static double phase(size_t i, double minutes)
{
    return TWO_PI * (double)i / minutes;
}

static void fill_ts_60s(bench_dataset *ds)
{
    for (size_t i = 0; i < ds->count; i++)
        ds->ts[i] = BASE_TS_NS + (int64_t)i * 60 * NS_PER_S;
}

static void fill_const_values(bench_dataset *ds)
{
    for (size_t i = 0; i < ds->count; i++)
        ds->v.f[i] = 1.0;
}

static void gen_ts_regular(bench_dataset *ds, rng *r)
{
    (void)r;
    fill_ts_60s(ds);
    fill_const_values(ds);
}

static void gen_ts_jitter(bench_dataset *ds, rng *r)
{
    int64_t gap_ns = 0;
    for (size_t i = 0; i < ds->count; i++) {
        if (rng_next(r) % 50000 == 0)
            gap_ns += rng_between(r, 5, 60) * 60 * NS_PER_S;
        int64_t jitter_ns = rng_between(r, -1000, 1000) * NS_PER_MS;
        ds->ts[i] = BASE_TS_NS + (int64_t)i * 10 * NS_PER_S + gap_ns + jitter_ns;
    }
    fill_const_values(ds);
}

static void gen_temp(bench_dataset *ds, rng *r)
{
    fill_ts_60s(ds);
    for (size_t i = 0; i < ds->count; i++) {
        /* sin peaks a quarter period after its zero: 09:00 + 6 h = 15:00 */
        double daily = sin(TWO_PI * (hour_of(i) - 9.0) / 24.0);
        double x = 12.0 + 6.0 * daily + 2.5 * sin(phase(i, 7.0 * MINUTES_PER_DAY)) +
                   8.0 * sin(phase(i, 365.25 * MINUTES_PER_DAY)) + 0.15 * rng_gauss(r);
        ds->v.f[i] = (double)llround(x * 10.0) / 10.0;
    }
}

static void gen_pm25(bench_dataset *ds, rng *r)
{
    fill_ts_60s(ds);
    double noise = 0.0;
    size_t spike_left = 0;
    for (size_t i = 0; i < ds->count; i++) {
        double h = hour_of(i);
        noise = 0.95 * noise + 0.5 * rng_gauss(r);
        double x = 9.0 + 7.0 * bump(h, 8.0, 1.5) + 5.0 * bump(h, 18.0, 2.0) +
                   3.0 * cos(phase(i, 365.25 * MINUTES_PER_DAY)) + noise;
        if (spike_left == 0 && rng_next(r) % 3000 == 0)
            spike_left = (size_t)rng_between(r, 5, 30);
        if (spike_left > 0) {
            x *= 10.0;
            spike_left--;
        }
        ds->v.f[i] = (double)llround(fmax(x, 0.0) * 10.0) / 10.0;
    }
}

/* Building load in kW at point i: office hours on weekdays, a base load. */
static double building_load_kw(size_t i, double walk_kw)
{
    double h = hour_of(i);
    double occupancy = (h > 6.0 && h < 20.0) ? sin(TWO_PI * (h - 6.0) / 28.0) : 0.0;
    if (!is_weekday(i))
        occupancy *= 0.2;
    double kw = 22.0 + 52.0 * occupancy + walk_kw;
    return fmin(fmax(kw, 20.0), 80.0);
}

static void gen_energy(bench_dataset *ds, rng *r)
{
    fill_ts_60s(ds);
    double kwh = 48213.57;
    double walk_kw = 0.0;
    for (size_t i = 0; i < ds->count; i++) {
        walk_kw = fmin(fmax(walk_kw + 0.2 * rng_gauss(r), -6.0), 6.0);
        kwh += building_load_kw(i, walk_kw) / 60.0;
        ds->v.f[i] = (double)llround(kwh * 100.0) / 100.0;
    }
}

/* Poisson sample: exact (Knuth) for small means, normal approximation above. */
static int64_t poisson(rng *r, double mean)
{
    if (mean >= 30.0) {
        long long k = llround(mean + sqrt(mean) * rng_gauss(r));
        return k < 0 ? 0 : k;
    }
    double limit = exp(-mean), p = rng_unit(r);
    int64_t k = 0;
    while (p > limit) {
        p *= rng_unit(r);
        k++;
    }
    return k;
}

static void gen_traffic(bench_dataset *ds, rng *r)
{
    fill_ts_60s(ds);
    for (size_t i = 0; i < ds->count; i++) {
        double h = hour_of(i);
        double day = (h > 5.0 && h < 23.0) ? sin(TWO_PI * (h - 5.0) / 36.0) : 0.0;
        double rush = is_weekday(i) ? 70.0 * bump(h, 8.0, 1.0) + 60.0 * bump(h, 17.5, 1.3) : 0.0;
        ds->v.i[i] = poisson(r, 2.0 + 40.0 * day + rush);
    }
}

static void gen_random(bench_dataset *ds, rng *r)
{
    fill_ts_60s(ds);
    for (size_t i = 0; i < ds->count; i++) {
        uint64_t bits = rng_next(r);
        if (((bits >> 52) & 0x7ff) == 0x7ff)
            bits &= ~(UINT64_C(1) << 62); /* exponent 0x7ff -> 0x3ff: finite */
        memcpy(&ds->v.f[i], &bits, sizeof bits);
    }
}

typedef struct dataset_kind {
    const char *name;
    cts_type type;
    bool is_ts;
    void (*generate)(bench_dataset *ds, rng *r);
} dataset_kind;

static const dataset_kind kinds[BENCH_DATASET_COUNT] = {
    [BENCH_TS_REGULAR_60S] = {"ts_regular_60s", CTS_TYPE_FLOAT, true, gen_ts_regular},
    [BENCH_TS_JITTER_10S] = {"ts_jitter_10s", CTS_TYPE_FLOAT, true, gen_ts_jitter},
    [BENCH_TEMP_1DEC] = {"temp_1dec", CTS_TYPE_FLOAT, false, gen_temp},
    [BENCH_PM25] = {"pm25", CTS_TYPE_FLOAT, false, gen_pm25},
    [BENCH_ENERGY_KWH] = {"energy_kwh", CTS_TYPE_FLOAT, false, gen_energy},
    [BENCH_TRAFFIC_COUNT] = {"traffic_count", CTS_TYPE_INT, false, gen_traffic},
    [BENCH_RANDOM_F64] = {"random_f64", CTS_TYPE_FLOAT, false, gen_random},
};

static bool valid_id(bench_dataset_id id)
{
    return (unsigned)id < BENCH_DATASET_COUNT;
}

const char *bench_dataset_name(bench_dataset_id id)
{
    return valid_id(id) ? kinds[id].name : NULL;
}

bool bench_dataset_is_ts(bench_dataset_id id)
{
    return valid_id(id) && kinds[id].is_ts;
}

int bench_dataset_init(bench_dataset *out, bench_dataset_id id, size_t count)
{
    memset(out, 0, sizeof *out);
    if (!valid_id(id) || count == 0 || count > SIZE_MAX / sizeof(int64_t))
        return CTS_EINVAL;
    out->id = id;
    out->type = kinds[id].type;
    out->count = count;
    out->ts = cts_malloc(count * sizeof(int64_t));
    /* v.f and v.i share storage of the same size */
    out->v.i = cts_malloc(count * sizeof(int64_t));
    if (out->ts == NULL || out->v.i == NULL) {
        bench_dataset_fini(out);
        return CTS_ENOMEM;
    }
    rng r = {UINT64_C(0x243F6A8885A308D3) ^ ((uint64_t)id << 32)};
    kinds[id].generate(out, &r);
    return 0;
}

void bench_dataset_fini(bench_dataset *ds)
{
    cts_free(ds->ts);
    cts_free(ds->v.i);
    memset(ds, 0, sizeof *ds);
}
