/*
 * gen.c: the city sensor data generator (see gen.h for the contract and
 * docs/gen.md for what the data means).
 *
 * Shape. Every sensor is a small state machine with its own splitmix64
 * stream, a grid of slots (start + phase + k * interval) and a model of one
 * measurement kind. A calendar queue keyed by (timestamp, id) -- buckets
 * of about a second, each sorted when its turn comes -- holds every sensor
 * that has a point left, plus every point held back to be emitted late;
 * cts_gen_read takes them in order, formats one line each and schedules the
 * sensor's next stamp. So lines come out in time order across all sensors,
 * as a gateway fleet would deliver them, and the tie rule (lower id first)
 * makes the order, hence the bytes, deterministic.
 *
 *   sensor:  [scheduled] --its turn--> step model --> format line
 *                 ^                         |             (or hold it in a
 *                 |                         v              late slot, keyed
 *                 +---- advance slot <------+              by stamp + delay)
 *                      (maybe an outage: silently step k slots)
 *   a sensor is not rescheduled once its next stamp is >= start + duration.
 *
 * Invariants:
 *   - A sensor's readings depend only on (seed, city, measurement, index,
 *     start, duration): no shared mutable state between sensors except the
 *     per-city day tables, which are built once at create. (Whether a
 *     point drawn to be late is held back also depends on a free late slot,
 *     nsensors / 16 + 64 of them; more are never needed in practice.)
 *   - Stamps are slot + [0, jitter) ms, the jitter under an eighth of the
 *     interval, so a sensor's stamps strictly increase.
 *   - During an outage the model still steps every slot (the meter keeps
 *     counting, bikes keep moving); only the lines are missing.
 *   - Models clamp every value to a plausible range, so every formatted
 *     number is finite and short: a line never exceeds CTS_GEN_LINE_MAX.
 *
 * Speed. No printf: the line prefix (measurement and tags) is formatted
 * once per sensor; numbers are written with a two-digit table. Daily shapes
 * are tables of 1,440 minutes, seasonal terms are tables of days, and the
 * noise is a four-term Irwin-Hall sum from one PRNG draw, so the hot path
 * calls libm only for traffic counts (a Poisson draw). Timing: docs/gen.md.
 *
 * Time. The six cities follow EU summer time (last Sunday of March to the
 * last Sunday of October, 01:00 UTC); their standard offsets are all >= 0,
 * so a local minute is a UTC minute plus 0..180.
 */
#include "gen.h"

#include <math.h>
#include <string.h>

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MIN (60 * NS_PER_S)
#define NS_PER_DAY (86400 * NS_PER_S)
#define MIN_PER_DAY 1440
#define PI 3.141592653589793
#define TWO_PI 6.283185307179586
#define DEG (PI / 180.0)
#define DAYS_PER_YEAR 365.2425
#define DAY_2000_01_01 10957 /* days from the epoch to 2000-01-01 */

#define DISTRICTS 7
#define PREFIX_MAX 96u
/* Outages begin on average every this many ns per sensor. */
#define GAP_MEAN_EVERY_NS (INT64_C(60) * 3600 * NS_PER_S)
/* One point in this many is delayed by 60 s .. CTS_GEN_LATE_MAX_NS. */
#define LATE_ONE_IN 2000u
#define LATE_MIN_NS (60 * NS_PER_S)

/* ------------------------------------------------------------------------
 * Cities.
 * ------------------------------------------------------------------------ */
typedef struct city_spec {
    const char *name;
    const char *code;   /* sensor id prefix */
    int std_offset_min; /* UTC offset outside summer time; >= 0 */
    double lat_deg, lon_deg;
    double temp_mean_c, temp_season_c, temp_daily_c; /* annual mean; half swings */
    double humidity_pct;
    double pm25_ugm3, no2_ugm3; /* annual means at a typical site */
    double heating;             /* how much winter heating adds to PM */
    double traffic;             /* volume factor of the road network */
    const char *districts[DISTRICTS];
} city_spec;

/* One city per block reads better than one number per line. Rows: name,
 * code, standard UTC offset (min), latitude, longitude; temperature mean,
 * seasonal and daily half-swings (degC), humidity (%), PM2.5 and NO2
 * (ug/m3), heating, traffic; districts. */
/* clang-format off */
static const city_spec cities[CTS_GEN_CITY_COUNT] = {
    [CTS_GEN_BORDEAUX] = {"bordeaux", "bdx", 60, 44.84, -0.58,
        13.8, 7.6, 5.2, 76.0, 9.5, 21.0, 0.45, 0.85,
        {"bastide", "chartrons", "saint-michel", "cauderan", "bacalan", "saint-augustin",
         "nansouty"}},
    [CTS_GEN_BURGAS] = {"burgas", "bur", 120, 42.50, 27.47,
        13.6, 9.6, 4.0, 75.0, 15.0, 19.0, 0.90, 0.65,
        {"centre", "lazur", "slaveykov", "izgrev", "meden-rudnik", "vazrazhdane", "sarafovo"}},
    [CTS_GEN_LISBON] = {"lisbon", "lis", 0, 38.72, -9.14,
        17.4, 5.6, 4.4, 70.0, 8.0, 26.0, 0.20, 1.00,
        {"alfama", "baixa", "belem", "alvalade", "parque-das-nacoes", "campo-de-ourique",
         "marvila"}},
    [CTS_GEN_LONDON] = {"london", "lon", 0, 51.51, -0.13,
        11.6, 6.8, 3.9, 77.0, 10.0, 33.0, 0.35, 1.30,
        {"greenwich", "westminster", "camden", "hackney", "southwark", "islington",
         "kensington"}},
    [CTS_GEN_MILAN] = {"milan", "mil", 60, 45.46, 9.19,
        13.7, 10.4, 4.9, 73.0, 20.0, 38.0, 0.90, 1.15,
        {"porta-romana", "navigli", "brera", "isola", "citta-studi", "bicocca", "san-siro"}},
    [CTS_GEN_WARSAW] = {"warsaw", "waw", 60, 52.23, 21.01,
        8.8, 10.6, 4.7, 78.0, 17.0, 28.0, 1.00, 1.05,
        {"srodmiescie", "mokotow", "praga-polnoc", "wola", "zoliborz", "ursynow", "bemowo"}},
};
/* clang-format on */

/* ------------------------------------------------------------------------
 * Daily profiles: one value per minute of the local day, weekday and
 * weekend. Built once per generator from the shapes below.
 * ------------------------------------------------------------------------ */
typedef enum profile_id {
    P_TRAFFIC, /* vehicle flow, 0..1 */
    P_AIR,     /* pollution driver: traffic, evening heating, night inversion; 0..1 */
    P_TEMP,    /* temperature shape: -1 at 06:00, +1 at 15:00 */
    P_TIDE,    /* semidiurnal pressure tide, -1..1, peaks 10:00 and 22:00 */
    P_OFFICE,  /* building occupancy by type, 0..1 (energy variant order) */
    P_HOME,
    P_SCHOOL,
    P_SHOP,
    P_DOCK_HOME, /* target fill of a bike dock by area, 0..1 (mobility variant order) */
    P_DOCK_WORK,
    P_DOCK_LEISURE,
    P_DOCK_SWING, /* sqrt of a dock's trips per minute per unit of busyness */
    PROFILE_COUNT
} profile_id;

/* A bump of height 1 at hour `at`, width `sigma` hours, around the clock. */
static double bump(double h, double at, double sigma)
{
    double d = h - at;
    if (d > 12.0)
        d -= 24.0;
    else if (d < -12.0)
        d += 24.0;
    d /= sigma;
    return exp(-0.5 * d * d);
}

/* About 1 between hours a and b, 0 outside, with soft edges. */
static double plateau(double h, double a, double b)
{
    return 0.5 * (tanh((h - a) / 0.8) - tanh((h - b) / 0.8));
}

static double shape_traffic(double h, bool weekend)
{
    if (weekend)
        return 0.06 + 0.6 * plateau(h, 9.0, 22.5) * (0.7 + 0.3 * bump(h, 13.0, 3.0));
    return 0.06 + 0.5 * plateau(h, 6.0, 21.5) + 0.5 * bump(h, 8.0, 1.0) + 0.42 * bump(h, 17.5, 1.4);
}

static double shape_air(double h, bool weekend)
{
    return 0.5 * shape_traffic(h - 0.5 < 0.0 ? h + 23.5 : h - 0.5, weekend) +
           0.35 * bump(h, 21.0, 2.5) + 0.25 * bump(h, 3.0, 3.0);
}

static double shape_temp(double h, bool weekend)
{
    (void)weekend;
    if (h >= 6.0 && h < 15.0)
        return -cos(PI * (h - 6.0) / 9.0);
    return cos(PI * (h >= 15.0 ? h - 15.0 : h + 9.0) / 15.0);
}

static double shape_tide(double h, bool weekend)
{
    (void)weekend;
    return cos(TWO_PI * (h - 10.0) / 12.0);
}

static double shape_office(double h, bool weekend)
{
    return weekend ? 0.1 * plateau(h, 9.0, 17.0) : plateau(h, 7.0, 19.0) - 0.1 * bump(h, 13.0, 0.7);
}

static double shape_home(double h, bool weekend)
{
    if (weekend)
        return 0.6 * bump(h, 10.0, 2.0) + bump(h, 19.5, 2.5) + 0.35 * plateau(h, 8.0, 23.0);
    return 0.5 * bump(h, 7.5, 1.2) + bump(h, 19.5, 2.2) + 0.25 * plateau(h, 7.0, 23.0);
}

static double shape_school(double h, bool weekend)
{
    return weekend ? 0.05 : plateau(h, 7.5, 16.5);
}

static double shape_shop(double h, bool weekend)
{
    return weekend ? 0.9 * plateau(h, 10.0, 19.0) : plateau(h, 9.0, 20.0);
}

static double shape_dock_home(double h, bool weekend)
{
    return weekend ? 0.65 - 0.3 * plateau(h, 11.0, 19.0) : 0.75 - 0.55 * plateau(h, 8.0, 17.5);
}

static double shape_dock_work(double h, bool weekend)
{
    return weekend ? 0.35 + 0.1 * plateau(h, 11.0, 18.0) : 0.2 + 0.65 * plateau(h, 9.0, 17.5);
}

static double shape_dock_leisure(double h, bool weekend)
{
    return weekend ? 0.6 - 0.45 * plateau(h, 10.5, 19.5) : 0.5 - 0.2 * plateau(h, 12.0, 20.0);
}

static double shape_dock_swing(double h, bool weekend)
{
    return sqrt(0.08 + shape_traffic(h, weekend));
}

static const struct {
    double (*shape)(double h, bool weekend);
    bool normalise; /* scale so the larger day type peaks at 1 */
} profile_specs[PROFILE_COUNT] = {
    [P_TRAFFIC] = {shape_traffic, true},
    [P_AIR] = {shape_air, true},
    [P_TEMP] = {shape_temp, false},
    [P_TIDE] = {shape_tide, false},
    [P_OFFICE] = {shape_office, true},
    [P_HOME] = {shape_home, true},
    [P_SCHOOL] = {shape_school, true},
    [P_SHOP] = {shape_shop, true},
    [P_DOCK_HOME] = {shape_dock_home, false},
    [P_DOCK_WORK] = {shape_dock_work, false},
    [P_DOCK_LEISURE] = {shape_dock_leisure, false},
    [P_DOCK_SWING] = {shape_dock_swing, false},
};

/* ------------------------------------------------------------------------
 * The generator's state.
 * ------------------------------------------------------------------------ */

/* Per city per UTC day: the slow terms. */
typedef struct city_day {
    float temp_season_c; /* climatological mean of the day */
    float front_c;       /* weather-front anomalies at 00:00 UTC */
    float front_hpa;
    float heat;                      /* heating degree factor of the day, 0..~1.5 */
    float cool;                      /* cooling degree factor, 0..~1 */
    int16_t sunrise_min, sunset_min; /* minute of the UTC day */
} city_day;

/* Per UTC day: the summer-time interval [on, off) of its year. */
typedef struct summer_time {
    int64_t on_ns, off_ns;
} summer_time;

typedef struct air_model {
    double scale, pm10_ratio;                 /* site: roadside or background */
    double noise_pm, noise_no2, noise_coarse; /* AR(1) terms */
    double spike;                             /* multiplier, decays back to 1 */
} air_model;

typedef struct weather_model {
    double offset_c, offset_hpa, offset_rh; /* site and calibration */
    double noise_c, noise_rh;
} weather_model;

typedef struct traffic_model {
    double peak_per_min, free_kmh, congestion, noise;
} traffic_model;

typedef struct energy_model {
    double kwh, peak_kw, base_frac, electric_heat, noise;
} energy_model;

typedef struct lamp_model {
    double rated_w, standby_w, max_dim, night_dim, photocell_min;
    bool motion;
} lamp_model;

typedef struct mobility_model {
    double bikes, capacity;
    double relax;              /* share of the gap to the target closed per slot */
    double swing;              /* sqrt(busyness * interval in minutes) */
    uint64_t rebalance_chance; /* per slot: the van resets the dock */
} mobility_model;

typedef struct sensor {
    uint64_t rng;
    int64_t ts_ns;   /* stamp of the next point */
    int64_t slot_ns; /* its slot on the grid */
    int64_t interval_ns;
    double interval_min;
    uint64_t gap_chance; /* per slot, out of 2^64 */
    uint32_t prefix_off; /* "air,city=..,district=..,sensor=.. " in g->prefixes */
    uint16_t prefix_len;
    uint16_t jitter_ms; /* stamps are slot + [0, jitter_ms) ms */
    uint8_t city, kind, variant;
    union {
        air_model air;
        weather_model weather;
        traffic_model traffic;
        energy_model energy;
        lamp_model lamp;
        mobility_model mobility;
    } m;
    double out[3]; /* the field values of the current point */
} sensor;

/* A schedule entry packs (emission time - start) in ms above ID_BITS and an
 * id below (a sensor index, or nsensors + a late slot), so one unsigned
 * comparison orders by time, then id. Every stamp is start plus whole
 * milliseconds (phase, whole-second slots, jitter and delays are in ms);
 * (duration + lateness) in ms < 2^39 and ids < 36 * 100,000 * 17 / 16 + 64 <
 * 2^23, so 62 bits suffice. */
#define ID_BITS 23
#define ID_MASK ((UINT64_C(1) << ID_BITS) - 1)
#define NIL UINT32_MAX

/* The schedule is a calendar queue of buckets of 2^BUCKET_MS_BITS ms,
 * BUCKET_COUNT buckets ahead (33,554 s). A sensor's next entry is at least
 * 8.75 s (10 s interval less 1.25 s of jitter) and at most 6 h of outage +
 * 2 intervals of 15 min + jitter (23,402 s) after its current one; a late
 * line at most CTS_GEN_LATE_MAX_NS. So an entry never lands in the bucket
 * being emitted, and never wraps around the ring. With 20 sensors a city a
 * bucket holds about 11 entries; narrower buckets cost more mispredicted
 * branches (ends of runs) than they saved in sorting.
 *
 * A bucket is a list of chunks of CHUNK_ENTRIES entries, its head the one
 * being filled: emitting a bucket reads memory in order, where a list of
 * single entries made one cache miss per entry once sensors were many.
 * Only a head can be part full, so entries / CHUNK_ENTRIES + min(buckets,
 * entries) + 1 chunks always suffice and are allocated at create. */
#define BUCKET_MS_BITS 10
#define BUCKET_COUNT (1u << 15)
#define RADIX_BITS 11
/* How far ahead of the entry being emitted to prefetch: with many sensors
 * their state is far out of cache and random in time order. A sensor's
 * state first, its line prefix (whose offset is in that state) later. */
#define PREFETCH_STATE_AHEAD 16
#define PREFETCH_PREFIX_AHEAD 8

#define CHUNK_ENTRIES 15

typedef struct chunk {
    uint64_t entry[CHUNK_ENTRIES];
    uint32_t count;
    uint32_t next; /* the next chunk of the bucket (or of the free list), or NIL */
} chunk;

struct cts_gen {
    cts_gen_opts opts;
    int64_t end_ns;
    int64_t day0_ns; /* UTC midnight at or before start */
    int64_t day0;    /* the same, in days since the epoch */
    uint32_t ndays;  /* days covered by the tables */
    uint64_t late_chance;
    summer_time *summer; /* [day] */
    city_day *city_days; /* [city * ndays + day] */
    sensor *sensors;
    uint32_t nsensors;
    char *prefixes;
    chunk *chunks;
    uint32_t free_chunk; /* first free chunk, or NIL */
    uint32_t *bucket;    /* [BUCKET_COUNT] head chunk of each bucket, or NIL */
    uint64_t queued;     /* ids in the buckets */
    uint64_t current;    /* absolute number of the next bucket to emit */
    uint64_t *run;       /* the bucket being emitted, sorted */
    uint64_t *run_tmp;   /* scratch for the radix sort */
    uint32_t run_len, run_pos;
    char *late_text; /* nlate slots of CTS_GEN_LINE_MAX bytes */
    uint16_t *late_len;
    uint32_t *late_free; /* stack of free slot numbers */
    uint32_t nlate, late_free_count;
    cts_gen_stats stats;
    float profile[PROFILE_COUNT][2][MIN_PER_DAY]; /* [profile][weekend][local minute] */
};

/* The time of one point, seen from its sensor's city. */
typedef struct moment {
    uint32_t day;  /* UTC day: index into the day tables */
    int utc_min;   /* minute of the UTC day */
    int local_min; /* minute of the local day */
    int weekend;   /* local Saturday or Sunday: 0 or 1 */
    double day_frac;
} moment;

/* ------------------------------------------------------------------------
 * Randomness: splitmix64 per sensor.
 * ------------------------------------------------------------------------ */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline uint64_t rng_next(uint64_t *s)
{
    return mix64(*s += UINT64_C(0x9E3779B97F4A7C15));
}

/* Uniform in [0, 1). */
static inline double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1p-53;
}

/* Uniform in [0, n), n > 0. */
static inline uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * n) >> 32);
}

/* Approximately standard normal (Irwin-Hall of four 16-bit uniforms),
 * bounded to +-3.46: one draw, no libm. */
static inline double rng_gauss(uint64_t *s)
{
    uint64_t x = rng_next(s);
    double sum = (double)((x & 0xffff) + ((x >> 16) & 0xffff) + ((x >> 32) & 0xffff) + (x >> 48));
    return (sum - 131070.0) * (1.0 / 37837.2);
}

static inline bool rng_chance(uint64_t *s, uint64_t threshold)
{
    return rng_next(s) < threshold;
}

/* A probability as a threshold out of 2^64; p in [0, 1). */
static uint64_t chance_of(double p)
{
    return (uint64_t)(p * 18446744073709551616.0);
}

/* fmin, fmax and floor are libm calls at -O2 on x86-64; these inline. */
static inline double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static inline double max2(double a, double b)
{
    return a > b ? a : b;
}

/* floor for |x| < 2^63. */
static inline double floor_small(double x)
{
    double t = (double)(int64_t)x;
    return t > x ? t - 1.0 : t;
}

/* Poisson draw: exact (Knuth) for small means, normal approximation above. */
static int64_t poisson(uint64_t *s, double mean)
{
    if (mean > 12.0) {
        double x = mean + sqrt(mean) * rng_gauss(s) + 0.5;
        return x < 0.0 ? 0 : (int64_t)x;
    }
    double limit = exp(-mean), p = rng_unit(s);
    int64_t k = 0;
    while (p > limit) {
        p *= rng_unit(s);
        k++;
    }
    return k;
}

/* ------------------------------------------------------------------------
 * Calendar (proleptic Gregorian, days since 1970-01-01; H. Hinnant's
 * algorithms).
 * ------------------------------------------------------------------------ */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t year_of_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    return (int64_t)yoe + era * 400 + (mp >= 10); /* Jan, Feb belong to the next year */
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* 01:00 UTC on the last Sunday of month m (March or October) of year y. */
static int64_t last_sunday_0100_ns(int64_t y, unsigned m)
{
    int64_t day = days_from_civil(y, m, 31);
    int64_t weekday = (day + 3) % 7; /* Monday 0; days >= 0 here */
    day -= (weekday + 1) % 7;
    return day * NS_PER_DAY + 3600 * NS_PER_S;
}

/* ------------------------------------------------------------------------
 * Building the tables.
 * ------------------------------------------------------------------------ */
static void build_profiles(cts_gen *g)
{
    for (unsigned p = 0; p < PROFILE_COUNT; p++) {
        double peak = 0.0;
        for (int w = 0; w < 2; w++)
            for (int m = 0; m < MIN_PER_DAY; m++) {
                double v = profile_specs[p].shape((m + 0.5) / 60.0, w == 1);
                g->profile[p][w][m] = (float)v;
                peak = max2(peak, v);
            }
        if (!profile_specs[p].normalise)
            continue;
        for (int w = 0; w < 2; w++)
            for (int m = 0; m < MIN_PER_DAY; m++)
                g->profile[p][w][m] = (float)(g->profile[p][w][m] / peak);
    }
}

static void build_summer(cts_gen *g)
{
    int64_t year = -1, on = 0, off = 0;
    for (uint32_t d = 0; d < g->ndays; d++) {
        int64_t y = year_of_days(g->day0 + d);
        if (y != year) {
            year = y;
            on = last_sunday_0100_ns(y, 3);
            off = last_sunday_0100_ns(y, 10);
        }
        g->summer[d] = (summer_time){on, off};
    }
}

/* Sunrise and sunset of day `days` (since the epoch), minutes of the UTC
 * day: solar declination, hour angle at -0.833 degrees, equation of time. */
static void sun_times(const city_spec *c, int64_t days, city_day *cd)
{
    double doy = fmod((double)(days - DAY_2000_01_01), DAYS_PER_YEAR);
    double decl = -23.44 * DEG * cos(TWO_PI * (doy + 10.0) / DAYS_PER_YEAR);
    double lat = c->lat_deg * DEG;
    double cos_h = (sin(-0.833 * DEG) - sin(lat) * sin(decl)) / (cos(lat) * cos(decl));
    double half_day_min = 4.0 * acos(clamp(cos_h, -1.0, 1.0)) / DEG;
    double b = TWO_PI * (doy - 81.0) / 364.0;
    double eot_min = 9.87 * sin(2.0 * b) - 7.53 * cos(b) - 1.5 * sin(b);
    double noon_min = 720.0 - 4.0 * c->lon_deg - eot_min;
    cd->sunrise_min = (int16_t)(noon_min - half_day_min);
    cd->sunset_min = (int16_t)(noon_min + half_day_min);
}

/* Weather fronts: a daily AR(1) per city from its own stream, run in for
 * 30 days so the first day already has the stationary spread. */
static void build_city_days(cts_gen *g, unsigned city)
{
    const city_spec *c = &cities[city];
    uint64_t rng = mix64(g->opts.seed ^ mix64(UINT64_C(0xF407) << 32 | city));
    double front_c = 0.0, front_hpa = 0.0;
    for (uint32_t d = 0; d < g->ndays + 30; d++) {
        front_hpa = 0.78 * front_hpa + 5.0 * rng_gauss(&rng);
        front_c = 0.72 * front_c + 1.7 * rng_gauss(&rng) + 0.08 * front_hpa;
        if (d < 30)
            continue;
        city_day *cd = &g->city_days[(size_t)city * g->ndays + (d - 30)];
        int64_t days = g->day0 + (d - 30);
        double doy = fmod((double)(days - DAY_2000_01_01), DAYS_PER_YEAR);
        double season = c->temp_mean_c + c->temp_season_c * cos(TWO_PI * (doy - 200.0) / 365.0);
        double day_c = season + front_c;
        cd->temp_season_c = (float)season;
        cd->front_c = (float)front_c;
        cd->front_hpa = (float)front_hpa;
        cd->heat = (float)max2(0.0, (15.5 - day_c) / 15.0);
        cd->cool = (float)max2(0.0, (day_c - 21.0) / 6.0);
        sun_times(c, days, cd);
    }
}

static int build_days(cts_gen *g)
{
    g->day0 = g->opts.start_ns / NS_PER_DAY;
    g->day0_ns = g->day0 * NS_PER_DAY;
    /* one spare day: the weather interpolates towards the next day */
    g->ndays = (uint32_t)((g->end_ns - g->day0_ns) / NS_PER_DAY + 2);
    g->summer = cts_calloc(g->ndays, sizeof *g->summer);
    g->city_days = cts_calloc((size_t)g->ndays * CTS_GEN_CITY_COUNT, sizeof *g->city_days);
    if (!g->summer || !g->city_days)
        return CTS_ENOMEM;
    build_summer(g);
    for (unsigned c = 0; c < CTS_GEN_CITY_COUNT; c++)
        build_city_days(g, c);
    return 0;
}

static void moment_at(const cts_gen *g, unsigned city, int64_t ts_ns, moment *m)
{
    int64_t rel = ts_ns - g->day0_ns;
    int64_t day = rel / NS_PER_DAY;
    int64_t in_day_ns = rel - day * NS_PER_DAY;
    const summer_time *su = &g->summer[day];
    int offset = cities[city].std_offset_min + (ts_ns >= su->on_ns && ts_ns < su->off_ns ? 60 : 0);
    m->day = (uint32_t)day;
    m->utc_min = (int)(in_day_ns / NS_PER_MIN);
    m->day_frac = (double)in_day_ns * (1.0 / (double)NS_PER_DAY);
    int local = m->utc_min + offset;
    int next_day = local >= MIN_PER_DAY;
    m->local_min = local - next_day * MIN_PER_DAY;
    m->weekend = (g->day0 + day + next_day + 3) % 7 >= 5;
}

static const city_day *day_of(const cts_gen *g, const sensor *s, uint32_t day)
{
    return &g->city_days[(size_t)s->city * g->ndays + day];
}

static double profile_at(const cts_gen *g, profile_id p, const moment *m)
{
    return g->profile[p][m->weekend][m->local_min];
}

/* ------------------------------------------------------------------------
 * Models: init draws a sensor's fixed parameters, step computes the values
 * of one slot into s->out and evolves the state.
 * ------------------------------------------------------------------------ */
static void air_init(sensor *s)
{
    air_model *a = &s->m.air;
    a->scale = 0.75 + 0.6 * rng_unit(&s->rng);
    a->pm10_ratio = 1.45 + 0.5 * rng_unit(&s->rng);
    a->spike = 1.0;
}

static void air_step(const cts_gen *g, sensor *s, const moment *m)
{
    air_model *a = &s->m.air;
    const city_spec *c = &cities[s->city];
    double heat = 1.0 + c->heating * day_of(g, s, m->day)->heat;
    a->noise_pm = clamp(0.985 * a->noise_pm + 0.035 * rng_gauss(&s->rng), -0.6, 1.2);
    a->noise_no2 = clamp(0.97 * a->noise_no2 + 0.05 * rng_gauss(&s->rng), -0.6, 1.0);
    a->noise_coarse = clamp(0.95 * a->noise_coarse + 0.05 * rng_gauss(&s->rng), -0.4, 0.8);
    a->spike = a->spike < 1.02 ? 1.0 : 1.0 + (a->spike - 1.0) * 0.85;
    if (rng_chance(&s->rng, UINT64_MAX / 3000)) /* a fire, works, a stuck lorry */
        a->spike = 3.0 + 6.0 * rng_unit(&s->rng);
    double pm25 = c->pm25_ugm3 * a->scale * (0.45 + 0.75 * profile_at(g, P_AIR, m)) * heat *
                  (1.0 + a->noise_pm) * a->spike;
    pm25 = clamp(pm25 + 0.6 * rng_gauss(&s->rng), 0.0, 999.0);
    double pm10 = pm25 * max2(a->pm10_ratio * (1.0 + a->noise_coarse), 1.05);
    double no2 = c->no2_ugm3 * a->scale * (0.3 + profile_at(g, P_TRAFFIC, m)) *
                 (1.0 + 0.25 * (heat - 1.0)) * (1.0 + a->noise_no2);
    s->out[0] = pm25;
    s->out[1] = clamp(pm10, 0.0, 1999.0);
    s->out[2] = clamp(no2 + 1.5 * rng_gauss(&s->rng), 0.0, 999.0);
}

static void weather_init(sensor *s)
{
    weather_model *w = &s->m.weather;
    w->offset_c = -0.8 + 1.8 * rng_unit(&s->rng); /* parks are cooler, squares warmer */
    w->offset_hpa = -0.6 + 1.2 * rng_unit(&s->rng);
    w->offset_rh = -4.0 + 8.0 * rng_unit(&s->rng);
}

static double lerp(double a, double b, double t)
{
    return a + (b - a) * t;
}

static void weather_step(const cts_gen *g, sensor *s, const moment *m)
{
    weather_model *w = &s->m.weather;
    const city_spec *c = &cities[s->city];
    const city_day *d0 = day_of(g, s, m->day), *d1 = d0 + 1;
    double front_c = lerp(d0->front_c, d1->front_c, m->day_frac);
    double front_hpa = lerp(d0->front_hpa, d1->front_hpa, m->day_frac);
    double season = lerp(d0->temp_season_c, d1->temp_season_c, m->day_frac);
    double cloud = 1.0 - 0.35 * clamp(-front_hpa / 10.0, 0.0, 1.0); /* lows: smaller swings */
    double daily = c->temp_daily_c * cloud * profile_at(g, P_TEMP, m);
    w->noise_c = 0.9 * w->noise_c + 0.12 * rng_gauss(&s->rng);
    w->noise_rh = 0.95 * w->noise_rh + 0.5 * rng_gauss(&s->rng);
    double temp = season + front_c + daily + w->offset_c + w->noise_c;
    /* damper in the cold season, drier by day and under high pressure */
    double rh = c->humidity_pct - 0.8 * (season - c->temp_mean_c) - 2.4 * daily - 0.8 * front_hpa +
                w->offset_rh + w->noise_rh;
    double hpa = 1014.5 + front_hpa + 0.5 * profile_at(g, P_TIDE, m) + w->offset_hpa +
                 0.08 * rng_gauss(&s->rng);
    s->out[0] = clamp(temp, -40.0, 50.0);
    s->out[1] = clamp(rh, 8.0, 100.0);
    s->out[2] = clamp(hpa, 950.0, 1055.0);
}

static void traffic_init(sensor *s)
{
    static const double free_kmh[4] = {30.0, 50.0, 50.0, 70.0};
    traffic_model *t = &s->m.traffic;
    t->peak_per_min = 6.0 + 34.0 * rng_unit(&s->rng);
    t->free_kmh = free_kmh[rng_below(&s->rng, 4)];
    t->congestion = 0.5 + 0.6 * rng_unit(&s->rng);
}

static void traffic_step(const cts_gen *g, sensor *s, const moment *m)
{
    traffic_model *t = &s->m.traffic;
    double flow = profile_at(g, P_TRAFFIC, m);
    double minutes = s->interval_min;
    t->noise = clamp(0.9 * t->noise + 0.08 * rng_gauss(&s->rng), -0.5, 0.5);
    double mean = t->peak_per_min * cities[s->city].traffic * flow * minutes * (1.0 + t->noise);
    double load = clamp(flow * t->congestion * (1.0 + t->noise), 0.0, 1.2);
    double speed = t->free_kmh * (1.0 - 0.55 * load * load) + 1.8 * rng_gauss(&s->rng);
    s->out[0] = (double)poisson(&s->rng, mean);
    s->out[1] = clamp(speed, 4.0, t->free_kmh + 25.0);
}

enum { BUILDING_OFFICE, BUILDING_HOME, BUILDING_SCHOOL, BUILDING_SHOP, BUILDING_TYPES };

static void energy_init(sensor *s)
{
    static const double peak_lo[BUILDING_TYPES] = {40.0, 15.0, 20.0, 10.0};
    static const double peak_span[BUILDING_TYPES] = {360.0, 105.0, 130.0, 190.0};
    static const double base_frac[BUILDING_TYPES] = {0.22, 0.3, 0.12, 0.18};
    energy_model *e = &s->m.energy;
    s->variant = (uint8_t)rng_below(&s->rng, BUILDING_TYPES);
    e->peak_kw = peak_lo[s->variant] + peak_span[s->variant] * rng_unit(&s->rng);
    e->base_frac = base_frac[s->variant];
    e->electric_heat = 0.5 * rng_unit(&s->rng);
    e->kwh = (double)(500000 + rng_below(&s->rng, 90000000)) / 100.0;
}

static void energy_step(const cts_gen *g, sensor *s, const moment *m)
{
    energy_model *e = &s->m.energy;
    const city_day *d = day_of(g, s, m->day);
    double occupancy = profile_at(g, (profile_id)(P_OFFICE + s->variant), m);
    double season = 1.0 + e->electric_heat * d->heat + 0.6 * d->cool;
    e->noise = clamp(0.92 * e->noise + 0.04 * rng_gauss(&s->rng), -0.3, 0.3);
    double kw =
        e->peak_kw * (e->base_frac + (1.0 - e->base_frac) * occupancy) * season * (1.0 + e->noise);
    kw = clamp(kw, 0.0, 2000.0);
    /* the meter integrates every slot, outages included: it never decreases */
    e->kwh += kw * s->interval_min / 60.0;
    s->out[0] = e->kwh;
    s->out[1] = kw;
}

static void lamp_init(sensor *s)
{
    static const double rated_w[5] = {36.0, 54.0, 72.0, 100.0, 150.0};
    lamp_model *l = &s->m.lamp;
    bool eco = rng_unit(&s->rng) < 0.4;
    l->rated_w = rated_w[rng_below(&s->rng, 5)];
    l->standby_w = 0.3 + 0.6 * rng_unit(&s->rng);
    l->max_dim = eco ? 70.0 : 100.0;
    l->night_dim = eco ? 30.0 : 50.0;
    l->photocell_min = -6.0 + 12.0 * rng_unit(&s->rng);
    l->motion = rng_unit(&s->rng) < 0.3;
}

static void lamp_step(const cts_gen *g, sensor *s, const moment *m)
{
    lamp_model *l = &s->m.lamp;
    const city_day *d = day_of(g, s, m->day);
    double now = m->utc_min;
    bool on = now >= d->sunset_min + l->photocell_min || now < d->sunrise_min - l->photocell_min;
    bool night = m->local_min >= 23 * 60 || m->local_min < 5 * 60 + 30; /* dimmed hours */
    double dim = 0.0;
    if (on) {
        dim = night ? l->night_dim : l->max_dim;
        if (night && l->motion && rng_unit(&s->rng) < 0.25) /* someone passes */
            dim = l->max_dim;
    }
    double watts = on ? l->rated_w * dim / 100.0 * (1.0 + 0.015 * rng_gauss(&s->rng)) + 1.5
                      : l->standby_w + 0.03 * rng_gauss(&s->rng);
    s->out[0] = dim;
    s->out[1] = on ? 1.0 : 0.0;
    s->out[2] = clamp(watts, 0.1, 400.0);
}

enum { DOCK_HOME, DOCK_WORK, DOCK_LEISURE, DOCK_TYPES };

static void mobility_init(sensor *s)
{
    mobility_model *b = &s->m.mobility;
    s->variant = (uint8_t)rng_below(&s->rng, DOCK_TYPES);
    b->capacity = 12.0 + rng_below(&s->rng, 29);
    b->bikes = floor_small(b->capacity * 0.5);
    b->relax = s->interval_min / 25.0; /* the dock drifts to its target in ~25 min */
    b->swing = sqrt((0.3 + 1.2 * rng_unit(&s->rng)) * s->interval_min);
    b->rebalance_chance = chance_of(s->interval_min / (2.0 * MIN_PER_DAY)); /* every ~2 days */
}

/* Arrivals and departures around a drift to the area's target fill; the
 * uniform term rounds stochastically, so quiet slots mostly change nothing. */
static void mobility_step(const cts_gen *g, sensor *s, const moment *m)
{
    mobility_model *b = &s->m.mobility;
    double target = b->capacity * profile_at(g, (profile_id)(P_DOCK_HOME + s->variant), m);
    double x = (target - b->bikes) * b->relax +
               b->swing * profile_at(g, P_DOCK_SWING, m) * rng_gauss(&s->rng) + rng_unit(&s->rng);
    b->bikes = clamp(b->bikes + floor_small(x), 0.0, b->capacity);
    if (rng_chance(&s->rng, b->rebalance_chance)) /* the rebalancing van */
        b->bikes = floor_small(b->capacity * (0.5 + 0.2 * rng_unit(&s->rng)));
    s->out[0] = b->bikes;
}

/* ------------------------------------------------------------------------
 * Formatting. Writers may store up to 8 bytes past what they return
 * (digits are copied in fixed-size blocks); what follows overwrites them.
 * A line is at most about 170 bytes, so even the bytes stored past its end
 * stay inside its CTS_GEN_LINE_MAX.
 * ------------------------------------------------------------------------ */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                  "31323334353637383940414243444546474849505152535455565758596061"
                                  "62636465666768697071727374757677787980818283848586878889909192"
                                  "93949596979899";

#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

/* v < 10^8 as exactly 8 digits. */
static void put_8digits(char *p, uint32_t v)
{
    uint32_t hi = v / 10000, lo = v % 10000;
    memcpy(p, digit_pairs + 2 * (hi / 100), 2);
    memcpy(p + 2, digit_pairs + 2 * (hi % 100), 2);
    memcpy(p + 4, digit_pairs + 2 * (lo / 100), 2);
    memcpy(p + 6, digit_pairs + 2 * (lo % 100), 2);
}

/* v < 10^8, as few digits as it takes, without a data-dependent branch:
 * readings hop between digit counts (9 bikes, then 10), and mispredicted
 * branches used to cost more than the arithmetic. */
static char *put_u32(char *p, uint32_t v)
{
    char tmp[24] = {0};
    unsigned len = 1u + (v >= 10) + (v >= 100) + (v >= 1000) + (v >= 10000) + (v >= 100000) +
                   (v >= 1000000) + (v >= 10000000);
    put_8digits(tmp + 8, v);
    memcpy(p, tmp + 16 - len, 8);
    return p + len;
}

/* Eight digits at a time in 32-bit arithmetic. */
static char *put_u64(char *p, uint64_t v)
{
    if (v < 100000000)
        return put_u32(p, (uint32_t)v);
    p = put_u64(p, v / 100000000);
    put_8digits(p, (uint32_t)(v % 100000000));
    return p + 8;
}

/* v rounded half away from zero to `scale` (10 or 100) steps; the sign is
 * decided after rounding, so -0.04 prints 0.0. */
static inline uint64_t scaled(double v, unsigned scale, char **p)
{
    uint64_t n = (uint64_t)(fabs(v) * scale + 0.5);
    **p = '-';
    *p += v < 0.0 && n != 0;
    return n;
}

static char *put_dec1(char *p, double v)
{
    uint64_t n = scaled(v, 10, &p);
    p = put_u64(p, n / 10);
    p[0] = '.';
    p[1] = (char)('0' + n % 10);
    return p + 2;
}

static char *put_dec2(char *p, double v)
{
    uint64_t n = scaled(v, 100, &p);
    p = put_u64(p, n / 100);
    p[0] = '.';
    memcpy(p + 1, digit_pairs + 2 * (n % 100), 2);
    return p + 3;
}

/* A count (models keep them in [0, 10^8)), with InfluxDB's `i` suffix. */
static char *put_int(char *p, double v)
{
    p = put_u32(p, (uint32_t)v);
    *p = 'i';
    return p + 1;
}

static char *air_fields(char *p, const double *v)
{
    p = put_dec1(PUT_LIT(p, "pm25="), v[0]);
    p = put_dec1(PUT_LIT(p, ",pm10="), v[1]);
    return put_dec1(PUT_LIT(p, ",no2="), v[2]);
}

static char *weather_fields(char *p, const double *v)
{
    p = put_dec1(PUT_LIT(p, "temperature="), v[0]);
    p = put_dec1(PUT_LIT(p, ",humidity="), v[1]);
    return put_dec1(PUT_LIT(p, ",pressure="), v[2]);
}

static char *traffic_fields(char *p, const double *v)
{
    p = put_int(PUT_LIT(p, "count="), v[0]);
    return put_dec1(PUT_LIT(p, ",avg_speed="), v[1]);
}

static char *energy_fields(char *p, const double *v)
{
    p = put_dec2(PUT_LIT(p, "kwh="), v[0]);
    return put_dec2(PUT_LIT(p, ",power_kw="), v[1]);
}

static char *lamp_fields(char *p, const double *v)
{
    p = put_int(PUT_LIT(p, "dimming="), v[0]);
    p = v[1] != 0.0 ? PUT_LIT(p, ",on=true") : PUT_LIT(p, ",on=false");
    return put_dec1(PUT_LIT(p, ",power_w="), v[2]);
}

static char *mobility_fields(char *p, const double *v)
{
    return put_int(PUT_LIT(p, "bikes_available="), v[0]);
}

/* ------------------------------------------------------------------------
 * Measurement kinds: intervals, models, fields.
 * ------------------------------------------------------------------------ */
typedef struct kind_spec {
    const char *name;
    unsigned nfields;
    int32_t interval_s[4]; /* a sensor's interval: one of these, uniformly */
    void (*init)(sensor *s);
    void (*step)(const cts_gen *g, sensor *s, const moment *m);
} kind_spec;

/* clang-format off */
static const kind_spec kinds[CTS_GEN_MEASUREMENT_COUNT] = {
    [CTS_GEN_AIR] =      {"air",      3, {60, 60, 60, 60},     air_init,      air_step},
    [CTS_GEN_WEATHER] =  {"weather",  3, {300, 300, 300, 600}, weather_init,  weather_step},
    [CTS_GEN_TRAFFIC] =  {"traffic",  2, {60, 60, 60, 300},    traffic_init,  traffic_step},
    [CTS_GEN_ENERGY] =   {"energy",   2, {900, 900, 900, 60},  energy_init,   energy_step},
    [CTS_GEN_LAMP] =     {"lamp",     3, {600, 600, 600, 600}, lamp_init,     lamp_step},
    [CTS_GEN_MOBILITY] = {"mobility", 1, {10, 15, 30, 60},     mobility_init, mobility_step},
};
/* clang-format on */

/* Constant divisors: a division by a variable would cost more than the
 * rest of the timestamp's formatting. Stamps are >= 0. */
static uint64_t stamp_in_precision(const cts_gen *g, int64_t ts_ns)
{
    switch (g->opts.precision) {
    case CTS_GEN_PRECISION_US:
        return (uint64_t)ts_ns / 1000;
    case CTS_GEN_PRECISION_MS:
        return (uint64_t)ts_ns / 1000000;
    case CTS_GEN_PRECISION_S:
        return (uint64_t)ts_ns / 1000000000;
    case CTS_GEN_PRECISION_NS:
        break;
    }
    return (uint64_t)ts_ns;
}

/* Step the model and write the fields of its point at p. One dispatch (a
 * jump table) per point: with six kinds interleaved, an indirect branch
 * mispredicts about every other time, so there is one, not one for the
 * model and one for the fields. */
static char *step_and_put_fields(const cts_gen *g, sensor *s, const moment *m, char *p)
{
    switch ((cts_gen_measurement)s->kind) {
    case CTS_GEN_AIR:
        air_step(g, s, m);
        return air_fields(p, s->out);
    case CTS_GEN_WEATHER:
        weather_step(g, s, m);
        return weather_fields(p, s->out);
    case CTS_GEN_TRAFFIC:
        traffic_step(g, s, m);
        return traffic_fields(p, s->out);
    case CTS_GEN_ENERGY:
        energy_step(g, s, m);
        return energy_fields(p, s->out);
    case CTS_GEN_LAMP:
        lamp_step(g, s, m);
        return lamp_fields(p, s->out);
    case CTS_GEN_MOBILITY:
    case CTS_GEN_MEASUREMENT_COUNT:
        break;
    }
    mobility_step(g, s, m);
    return mobility_fields(p, s->out);
}

/* The sensor's next point as one whole line at p (at most
 * CTS_GEN_LINE_MAX bytes); returns its end. */
static char *put_point(cts_gen *g, sensor *s, char *p)
{
    moment m;
    moment_at(g, s->city, s->ts_ns, &m);
    memcpy(p, g->prefixes + s->prefix_off, s->prefix_len);
    p = step_and_put_fields(g, s, &m, p + s->prefix_len);
    *p++ = ' ';
    p = put_u64(p, stamp_in_precision(g, s->ts_ns));
    *p++ = '\n';
    return p;
}

/* ------------------------------------------------------------------------
 * The schedule: a calendar queue of (emission time, id).
 * ------------------------------------------------------------------------ */
static void schedule(cts_gen *g, int64_t key_ns, uint32_t id)
{
    uint64_t e = (uint64_t)((key_ns - g->opts.start_ns) / NS_PER_MS) << ID_BITS | id;
    uint32_t b = (uint32_t)(e >> (ID_BITS + BUCKET_MS_BITS)) & (BUCKET_COUNT - 1);
    uint32_t c = g->bucket[b];
    if (c == NIL || g->chunks[c].count == CHUNK_ENTRIES) {
        uint32_t fresh = g->free_chunk; /* never NIL: see the sizing above */
        g->free_chunk = g->chunks[fresh].next;
        g->chunks[fresh].count = 0;
        g->chunks[fresh].next = c;
        g->bucket[b] = c = fresh;
    }
    g->chunks[c].entry[g->chunks[c].count++] = e;
    g->queued++;
}

static void insertion_sort(uint64_t *a, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        uint32_t j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

/* Sort one bucket's entries: they differ only in their low ID_BITS +
 * BUCKET_MS_BITS bits, so a few 11-bit LSD radix passes order them. */
static void sort_run(uint64_t *run, uint64_t *tmp, uint32_t n)
{
    if (n <= 64) {
        insertion_sort(run, n);
        return;
    }
    uint64_t *a = run;
    for (unsigned shift = 0; shift < ID_BITS + BUCKET_MS_BITS; shift += RADIX_BITS) {
        uint32_t count[1u << RADIX_BITS] = {0};
        for (uint32_t i = 0; i < n; i++)
            count[(a[i] >> shift) & ((1u << RADIX_BITS) - 1)]++;
        for (uint32_t d = 0, sum = 0; d < (1u << RADIX_BITS); d++) {
            uint32_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++)
            tmp[count[(a[i] >> shift) & ((1u << RADIX_BITS) - 1)]++] = a[i];
        uint64_t *t = a;
        a = tmp;
        tmp = t;
    }
    if (a != run)
        memcpy(run, a, (size_t)n * sizeof *a);
}

/* Take the next non-empty bucket as the run; false when nothing is left. */
static bool next_run(cts_gen *g)
{
    if (g->queued == 0)
        return false;
    uint32_t *head;
    while (*(head = &g->bucket[g->current & (BUCKET_COUNT - 1)]) == NIL)
        g->current++;
    uint32_t n = 0;
    for (uint32_t c = *head, next; c != NIL; c = next) {
        memcpy(g->run + n, g->chunks[c].entry, g->chunks[c].count * sizeof *g->run);
        n += g->chunks[c].count;
        next = g->chunks[c].next;
        g->chunks[c].next = g->free_chunk;
        g->free_chunk = c;
    }
    *head = NIL;
    g->current++;
    g->queued -= n;
    sort_run(g->run, g->run_tmp, n);
    g->run_len = n;
    g->run_pos = 0;
    return true;
}

/* ------------------------------------------------------------------------
 * Sensors.
 * ------------------------------------------------------------------------ */

/* "air,city=lisbon,district=alfama,sensor=lis-air-0003 " */
static size_t format_prefix(char *p, unsigned city, unsigned kind, uint32_t index, int width)
{
    const city_spec *c = &cities[city];
    char *start = p, num[12];
    size_t len = (size_t)(put_u64(num, index + 1) - num);
    p = stpcpy(p, kinds[kind].name);
    p = stpcpy(stpcpy(p, ",city="), c->name);
    p = stpcpy(stpcpy(p, ",district="), c->districts[index % DISTRICTS]);
    p = stpcpy(stpcpy(stpcpy(p, ",sensor="), c->code), "-");
    p = stpcpy(stpcpy(p, kinds[kind].name), "-");
    for (size_t i = len; i < (size_t)width; i++)
        *p++ = '0';
    memcpy(p, num, len);
    p += len;
    *p++ = ' ';
    return (size_t)(p - start);
}

/* Put the sensor's next point in the slot at slot_ns, stamped with jitter. */
static void place(sensor *s, int64_t slot_ns)
{
    s->slot_ns = slot_ns;
    s->ts_ns = slot_ns + (int64_t)rng_below(&s->rng, s->jitter_ms) * NS_PER_MS;
}

static void sensor_init(cts_gen *g, sensor *s, unsigned city, unsigned kind, uint32_t index)
{
    uint64_t identity = (uint64_t)city << 48 | (uint64_t)kind << 40 | index;
    s->rng = mix64(g->opts.seed ^ mix64(identity + UINT64_C(0x5EED)));
    s->city = (uint8_t)city;
    s->kind = (uint8_t)kind;
    int64_t interval_s = kinds[kind].interval_s[rng_below(&s->rng, 4)];
    s->interval_ns = interval_s * NS_PER_S;
    s->interval_min = (double)interval_s / 60.0;
    s->jitter_ms = (uint16_t)(interval_s * 1000 / 8 < 1500 ? interval_s * 1000 / 8 : 1500);
    s->gap_chance = chance_of((double)s->interval_ns / (double)GAP_MEAN_EVERY_NS);
    kinds[kind].init(s);
    /* the grid's phase: sensors were installed at different times */
    place(s, g->opts.start_ns +
                 (int64_t)rng_below(&s->rng, (uint32_t)(interval_s * 1000)) * NS_PER_MS);
}

static int build_schedule(cts_gen *g)
{
    uint32_t ids = g->nsensors + g->nlate;
    uint32_t nchunks = ids / CHUNK_ENTRIES + (ids < BUCKET_COUNT ? ids : BUCKET_COUNT) + 1;
    g->chunks = cts_malloc((size_t)nchunks * sizeof *g->chunks);
    g->run = cts_malloc((size_t)ids * sizeof *g->run);
    g->run_tmp = cts_malloc((size_t)ids * sizeof *g->run_tmp);
    g->bucket = cts_malloc(BUCKET_COUNT * sizeof *g->bucket);
    if (!g->chunks || !g->run || !g->run_tmp || !g->bucket)
        return CTS_ENOMEM;
    memset(g->bucket, 0xff, BUCKET_COUNT * sizeof *g->bucket); /* all NIL */
    for (uint32_t c = 0; c < nchunks; c++)
        g->chunks[c].next = c + 1 < nchunks ? c + 1 : NIL;
    g->free_chunk = 0;
    return 0;
}

static int build_sensors(cts_gen *g)
{
    unsigned nk = (unsigned)__builtin_popcount(g->opts.measurement_mask);
    unsigned nc = (unsigned)__builtin_popcount(g->opts.city_mask);
    g->nsensors = nk * nc * g->opts.sensors; /* <= 36 * CTS_GEN_SENSORS_MAX */
    g->nlate = g->nsensors / 16 + 64;
    g->sensors = cts_calloc(g->nsensors, sizeof *g->sensors);
    g->prefixes = cts_malloc((size_t)g->nsensors * PREFIX_MAX);
    if (!g->sensors || !g->prefixes || build_schedule(g) != 0)
        return CTS_ENOMEM;
    int width = g->opts.sensors > 99999 ? 6 : g->opts.sensors > 9999 ? 5 : 4;
    uint32_t n = 0, off = 0;
    for (unsigned c = 0; c < CTS_GEN_CITY_COUNT; c++)
        for (unsigned k = 0; k < CTS_GEN_MEASUREMENT_COUNT; k++) {
            if (!(g->opts.city_mask >> c & 1) || !(g->opts.measurement_mask >> k & 1))
                continue;
            for (uint32_t i = 0; i < g->opts.sensors; i++, n++) {
                sensor *s = &g->sensors[n];
                sensor_init(g, s, c, k, i);
                s->prefix_off = off;
                s->prefix_len = (uint16_t)format_prefix(g->prefixes + off, c, k, i, width);
                off += s->prefix_len;
                if (s->ts_ns < g->end_ns)
                    schedule(g, s->ts_ns, n);
            }
        }
    return 0;
}

static int build_late_slots(cts_gen *g)
{
    g->late_text = cts_malloc((size_t)g->nlate * CTS_GEN_LINE_MAX);
    g->late_len = cts_malloc((size_t)g->nlate * sizeof *g->late_len);
    g->late_free = cts_malloc((size_t)g->nlate * sizeof *g->late_free);
    if (!g->late_text || !g->late_len || !g->late_free)
        return CTS_ENOMEM;
    for (uint32_t i = 0; i < g->nlate; i++)
        g->late_free[i] = g->nlate - 1 - i; /* slot 0 on top */
    g->late_free_count = g->nlate;
    return 0;
}

/* Move to the next slot; now and then the sensor goes offline for 5 min ..
 * 6 h, its model still stepping through the missing slots. */
static void advance(cts_gen *g, sensor *s)
{
    int64_t slot = s->slot_ns + s->interval_ns;
    if (rng_chance(&s->rng, s->gap_chance)) {
        double u = rng_unit(&s->rng);
        int64_t outage_ns = (int64_t)((5.0 + 355.0 * u * u) * (double)NS_PER_MIN);
        int64_t missed = outage_ns / s->interval_ns + 1;
        g->stats.gaps++;
        for (int64_t i = 0; i < missed && slot < g->end_ns; i++, slot += s->interval_ns) {
            moment m;
            moment_at(g, s->city, slot, &m);
            kinds[s->kind].step(g, s, &m);
        }
    }
    place(s, slot);
}

/* The sensor's due point as a line at p, or held in a late slot; then the
 * sensor is scheduled for its next point, unless that is past the end. */
static char *emit_sensor(cts_gen *g, uint32_t id, char *p)
{
    sensor *s = &g->sensors[id];
    char *line = p;
    p = put_point(g, s, p);
    g->stats.lines++;
    g->stats.values += kinds[s->kind].nfields;
    if (rng_chance(&s->rng, g->late_chance) && g->late_free_count > 0) {
        /* held back: the line moves to a late slot (rare, so a copy is fine) */
        uint32_t slot = g->late_free[--g->late_free_count];
        memcpy(g->late_text + (size_t)slot * CTS_GEN_LINE_MAX, line, (size_t)(p - line));
        g->late_len[slot] = (uint16_t)(p - line);
        p = line;
        int64_t delay_ms =
            LATE_MIN_NS / NS_PER_MS +
            rng_below(&s->rng, (uint32_t)((CTS_GEN_LATE_MAX_NS - LATE_MIN_NS) / NS_PER_MS));
        schedule(g, s->ts_ns + delay_ms * NS_PER_MS, g->nsensors + slot);
    }
    advance(g, s);
    if (s->ts_ns < g->end_ns)
        schedule(g, s->ts_ns, id);
    return p;
}

static char *emit_late(cts_gen *g, uint32_t slot, char *p)
{
    memcpy(p, g->late_text + (size_t)slot * CTS_GEN_LINE_MAX, g->late_len[slot]);
    p += g->late_len[slot];
    g->late_free[g->late_free_count++] = slot;
    g->stats.late_lines++;
    return p;
}

/* ------------------------------------------------------------------------
 * Public functions.
 * ------------------------------------------------------------------------ */
void cts_gen_opts_init(cts_gen_opts *opts)
{
    *opts = (cts_gen_opts){
        .seed = 1,
        .sensors = 10,
        .start_ns = CTS_GEN_DEFAULT_START_NS,
        .duration_ns = NS_PER_DAY,
        .measurement_mask = CTS_GEN_ALL_MEASUREMENTS,
        .city_mask = CTS_GEN_ALL_CITIES,
        .precision = CTS_GEN_PRECISION_NS,
    };
}

static bool opts_valid(const cts_gen_opts *o)
{
    return o->sensors >= 1 && o->sensors <= CTS_GEN_SENSORS_MAX && o->start_ns >= 0 &&
           o->start_ns <= CTS_GEN_START_MAX_NS && o->duration_ns >= 1 &&
           o->duration_ns <= CTS_GEN_DURATION_MAX_NS && o->measurement_mask != 0 &&
           (o->measurement_mask & ~CTS_GEN_ALL_MEASUREMENTS) == 0 && o->city_mask != 0 &&
           (o->city_mask & ~CTS_GEN_ALL_CITIES) == 0 &&
           (unsigned)o->precision <= CTS_GEN_PRECISION_S;
}

int cts_gen_create(const cts_gen_opts *opts, cts_gen **out)
{
    if (!out)
        return CTS_EINVAL;
    *out = NULL;
    if (!opts || !opts_valid(opts))
        return CTS_EINVAL;
    cts_gen *g = cts_calloc(1, sizeof *g);
    if (!g)
        return CTS_ENOMEM;
    g->opts = *opts;
    g->end_ns = opts->start_ns + opts->duration_ns;
    g->late_chance = UINT64_MAX / LATE_ONE_IN;
    build_profiles(g);
    int rc = build_days(g);
    if (rc == 0)
        rc = build_sensors(g);
    if (rc == 0)
        rc = build_late_slots(g);
    if (rc != 0) {
        cts_gen_destroy(g);
        return rc;
    }
    g->stats.sensors = g->nsensors;
    *out = g;
    return 0;
}

void cts_gen_destroy(cts_gen *g)
{
    if (!g)
        return;
    cts_free(g->summer);
    cts_free(g->city_days);
    cts_free(g->sensors);
    cts_free(g->prefixes);
    cts_free(g->chunks);
    cts_free(g->run);
    cts_free(g->run_tmp);
    cts_free(g->bucket);
    cts_free(g->late_text);
    cts_free(g->late_len);
    cts_free(g->late_free);
    cts_free(g);
}

static void prefetch(const cts_gen *g)
{
    uint32_t pos = g->run_pos + PREFETCH_STATE_AHEAD;
    uint32_t id = pos < g->run_len ? (uint32_t)(g->run[pos] & ID_MASK) : NIL;
    if (id < g->nsensors) { /* late lines are few */
        const char *s = (const char *)&g->sensors[id];
        __builtin_prefetch(s, 1);
        __builtin_prefetch(s + 64, 1);
        __builtin_prefetch(s + 128, 1);
    }
    pos = g->run_pos + PREFETCH_PREFIX_AHEAD;
    id = pos < g->run_len ? (uint32_t)(g->run[pos] & ID_MASK) : NIL;
    if (id < g->nsensors)
        __builtin_prefetch(g->prefixes + g->sensors[id].prefix_off);
}

int64_t cts_gen_read(cts_gen *g, char *dst, size_t cap)
{
    if (!g || !dst || cap < CTS_GEN_LINE_MAX)
        return CTS_EINVAL;
    char *p = dst;
    const char *limit = dst + (cap - CTS_GEN_LINE_MAX);
    while (p <= limit && (g->run_pos < g->run_len || next_run(g))) {
        prefetch(g);
        uint32_t id = (uint32_t)(g->run[g->run_pos++] & ID_MASK);
        p = id < g->nsensors ? emit_sensor(g, id, p) : emit_late(g, id - g->nsensors, p);
    }
    g->stats.bytes += (uint64_t)(p - dst);
    return p - dst;
}

void cts_gen_stats_get(const cts_gen *g, cts_gen_stats *out)
{
    *out = g->stats;
}

const char *cts_gen_measurement_name(unsigned m)
{
    return m < CTS_GEN_MEASUREMENT_COUNT ? kinds[m].name : NULL;
}

const char *cts_gen_city_name(unsigned c)
{
    return c < CTS_GEN_CITY_COUNT ? cities[c].name : NULL;
}

static bool name_is(const char *name, const char *text, size_t len)
{
    return strlen(name) == len && memcmp(name, text, len) == 0;
}

int cts_gen_measurement_find(const char *text, size_t len)
{
    for (unsigned m = 0; m < CTS_GEN_MEASUREMENT_COUNT; m++)
        if (name_is(kinds[m].name, text, len))
            return (int)m;
    return -1;
}

int cts_gen_city_find(const char *text, size_t len)
{
    for (unsigned c = 0; c < CTS_GEN_CITY_COUNT; c++)
        if (name_is(cities[c].name, text, len))
            return (int)c;
    return -1;
}

/* ------------------------------------------------------------------------
 * Parsing option values: hand-written scanners with offsets.
 * ------------------------------------------------------------------------ */
static int parse_fail(size_t *err_off, size_t at, int rc)
{
    if (err_off)
        *err_off = at;
    return rc;
}

/* Exactly n digits at t[*i]; false (with *i at the offender) otherwise. */
static bool take_digits(const char *t, size_t *i, unsigned n, int64_t *out)
{
    int64_t v = 0;
    for (unsigned k = 0; k < n; k++, (*i)++) {
        if (t[*i] < '0' || t[*i] > '9')
            return false;
        v = v * 10 + (t[*i] - '0');
    }
    *out = v;
    return true;
}

static bool take_char(const char *t, size_t *i, char a, char b)
{
    if (t[*i] != a && t[*i] != b)
        return false;
    (*i)++;
    return true;
}

/* One or more digits, no overflow of uint64. */
static int take_u64(const char *t, size_t *i, uint64_t *out)
{
    size_t start = *i;
    uint64_t v = 0;
    while (t[*i] >= '0' && t[*i] <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, t[*i] - '0', &v))
            return CTS_ERANGE;
        (*i)++;
    }
    *out = v;
    return *i > start ? 0 : CTS_EPARSE;
}

/* ".123" after the seconds: up to 9 digits, as nanoseconds. */
static bool take_fraction(const char *t, size_t *i, int64_t *ns)
{
    *ns = 0;
    if (t[*i] != '.')
        return true;
    (*i)++;
    unsigned n = 0;
    int64_t scale = 100000000;
    while (t[*i] >= '0' && t[*i] <= '9' && n < 9) {
        *ns += (t[(*i)++] - '0') * scale;
        scale /= 10;
        n++;
    }
    return n > 0 && !(t[*i] >= '0' && t[*i] <= '9');
}

/* "Z", "+hh:mm" or "-hh:mm", as seconds east of UTC. */
static int take_offset(const char *t, size_t *i, int64_t *offset_s, size_t *err_off)
{
    *offset_s = 0;
    if (take_char(t, i, 'Z', 'z'))
        return 0;
    if (t[*i] != '+' && t[*i] != '-')
        return parse_fail(err_off, *i, CTS_EPARSE);
    int sign = t[(*i)++] == '-' ? -1 : 1;
    size_t at = *i;
    int64_t hh, mm;
    if (!take_digits(t, i, 2, &hh) || !take_char(t, i, ':', ':') || !take_digits(t, i, 2, &mm))
        return parse_fail(err_off, *i, CTS_EPARSE);
    if (hh > 23 || mm > 59)
        return parse_fail(err_off, at, CTS_ERANGE);
    *offset_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

typedef struct civil_time {
    int64_t year, month, day, hour, minute, second;
    size_t month_at, day_at, hour_at;
} civil_time;

static int take_civil(const char *t, size_t *i, civil_time *c, size_t *err_off)
{
    bool ok = take_digits(t, i, 4, &c->year) && take_char(t, i, '-', '-');
    c->month_at = *i;
    ok = ok && take_digits(t, i, 2, &c->month) && take_char(t, i, '-', '-');
    c->day_at = *i;
    ok = ok && take_digits(t, i, 2, &c->day) && take_char(t, i, 'T', 't');
    c->hour_at = *i;
    ok = ok && take_digits(t, i, 2, &c->hour) && take_char(t, i, ':', ':') &&
         take_digits(t, i, 2, &c->minute) && take_char(t, i, ':', ':') &&
         take_digits(t, i, 2, &c->second);
    if (!ok)
        return parse_fail(err_off, *i, CTS_EPARSE);
    if (c->month < 1 || c->month > 12)
        return parse_fail(err_off, c->month_at, CTS_ERANGE);
    if (c->day < 1 || c->day > days_in_month(c->year, (unsigned)c->month))
        return parse_fail(err_off, c->day_at, CTS_ERANGE);
    if (c->hour > 23 || c->minute > 59 || c->second > 59)
        return parse_fail(err_off, c->hour_at, CTS_ERANGE);
    return 0;
}

static int parse_rfc3339(const char *t, int64_t *out_ns, size_t *err_off)
{
    size_t i = 0;
    civil_time c;
    int64_t frac_ns, offset_s;
    int rc = take_civil(t, &i, &c, err_off);
    if (rc != 0)
        return rc;
    if (!take_fraction(t, &i, &frac_ns))
        return parse_fail(err_off, i, CTS_EPARSE);
    rc = take_offset(t, &i, &offset_s, err_off);
    if (rc != 0)
        return rc;
    if (t[i] != '\0')
        return parse_fail(err_off, i, CTS_EPARSE);
    int64_t days = days_from_civil(c.year, (unsigned)c.month, (unsigned)c.day);
    int64_t secs = days * 86400 + c.hour * 3600 + c.minute * 60 + c.second - offset_s;
    /* years 0000..9999: secs is far inside int64; ns may not be */
    if (secs < 0 || secs > CTS_GEN_START_MAX_NS / NS_PER_S)
        return parse_fail(err_off, 0, CTS_ERANGE);
    *out_ns = secs * NS_PER_S + frac_ns;
    return *out_ns <= CTS_GEN_START_MAX_NS ? 0 : parse_fail(err_off, 0, CTS_ERANGE);
}

int cts_gen_parse_time(const char *text, int64_t *out_ns, size_t *err_off)
{
    size_t i = 0;
    uint64_t v;
    if (!text || !out_ns)
        return parse_fail(err_off, 0, CTS_EINVAL);
    int rc = take_u64(text, &i, &v);
    if (rc == CTS_ERANGE)
        return parse_fail(err_off, 0, rc);
    if (rc != 0 || text[i] != '\0') /* not a bare integer: must be RFC 3339 */
        return parse_rfc3339(text, out_ns, err_off);
    if (v > (uint64_t)CTS_GEN_START_MAX_NS)
        return parse_fail(err_off, 0, CTS_ERANGE);
    *out_ns = (int64_t)v;
    return 0;
}

int cts_gen_parse_duration(const char *text, int64_t *out_ns, size_t *err_off)
{
    static const char units[] = "smhdw";
    static const int64_t unit_ns[] = {NS_PER_S, NS_PER_MIN, 60 * NS_PER_MIN, NS_PER_DAY,
                                      7 * NS_PER_DAY};
    size_t i = 0;
    uint64_t n;
    if (!text || !out_ns)
        return parse_fail(err_off, 0, CTS_EINVAL);
    int rc = take_u64(text, &i, &n);
    if (rc != 0)
        return parse_fail(err_off, rc == CTS_ERANGE ? 0 : i, rc);
    const char *u = text[i] != '\0' ? strchr(units, text[i]) : NULL;
    if (!u)
        return parse_fail(err_off, i, CTS_EPARSE);
    if (text[i + 1] != '\0')
        return parse_fail(err_off, i + 1, CTS_EPARSE);
    int64_t per = unit_ns[u - units];
    if (n == 0 || n > (uint64_t)(CTS_GEN_DURATION_MAX_NS / per))
        return parse_fail(err_off, 0, CTS_ERANGE);
    *out_ns = (int64_t)n * per;
    return 0;
}
