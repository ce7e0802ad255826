/*
 * gen.h: the city sensor data generator behind `cityts gen`, as a small
 * library, so `cityts demo` and `cityts bench` can stream its line protocol
 * straight into ingest without a file.
 *
 * A cts_gen is a pure function of its options: the same cts_gen_opts give
 * the same bytes on every run (no clock, no libc rand, no locale), whatever
 * the caller's buffer sizes. It simulates, for each selected city and
 * measurement, `sensors` independent sensors (each with its own PRNG stream
 * derived from the seed and its identity, so adding sensors, cities or
 * measurements never changes the others' readings) and emits their points
 * as InfluxDB line protocol, interleaved in time order:
 *
 *   air,city=lisbon,district=alfama,sensor=lis-air-0003 pm25=7.4,pm10=12.9,no2=21.3
 * 1793577600417000000
 *
 * Every line ends with '\n'. Tags are city, district and sensor, in that
 * (sorted) order. Integers carry the `i` suffix, booleans are true/false,
 * timestamps are in the chosen precision. Points are stamped at millisecond
 * precision with gateway jitter; sensors go offline now and then (gaps); a
 * few points arrive minutes late (out of order). docs/gen.md lists every
 * measurement, field, unit and interval.
 *
 * Every timestamp lies in [start_ns, start_ns + duration_ns). Lines come out
 * sorted by timestamp except the late ones, each of which comes out at most
 * CTS_GEN_LATE_MAX_NS after lines stamped with its time.
 *
 * Thread safety: a cts_gen is used by one thread at a time; distinct
 * generators are independent. The parse and name functions are pure.
 */
#ifndef CTS_GEN_H
#define CTS_GEN_H

#include "cts_storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum cts_gen_measurement {
    CTS_GEN_AIR,      /* pm25, pm10, no2: 60 s */
    CTS_GEN_WEATHER,  /* temperature, humidity, pressure: 5 or 10 min */
    CTS_GEN_TRAFFIC,  /* count (i), avg_speed: 60 s or 5 min */
    CTS_GEN_ENERGY,   /* kwh (monotonic counter), power_kw: 15 min or 1 min */
    CTS_GEN_LAMP,     /* dimming (i), on (bool), power_w: 10 min */
    CTS_GEN_MOBILITY, /* bikes_available (i): 10 s to 60 s */
    CTS_GEN_MEASUREMENT_COUNT
} cts_gen_measurement;

typedef enum cts_gen_city {
    CTS_GEN_BORDEAUX,
    CTS_GEN_BURGAS,
    CTS_GEN_LISBON,
    CTS_GEN_LONDON,
    CTS_GEN_MILAN,
    CTS_GEN_WARSAW,
    CTS_GEN_CITY_COUNT
} cts_gen_city;

typedef enum cts_gen_precision {
    CTS_GEN_PRECISION_NS,
    CTS_GEN_PRECISION_US,
    CTS_GEN_PRECISION_MS,
    CTS_GEN_PRECISION_S,
} cts_gen_precision;

#define CTS_GEN_ALL_MEASUREMENTS ((1u << CTS_GEN_MEASUREMENT_COUNT) - 1u)
#define CTS_GEN_ALL_CITIES ((1u << CTS_GEN_CITY_COUNT) - 1u)
/* Most sensors per city per measurement (about 0.2 KiB of memory each). */
#define CTS_GEN_SENSORS_MAX 100000u
/* Longest duration: 10 years of 366 days. */
#define CTS_GEN_DURATION_MAX_NS (INT64_C(3660) * 86400 * 1000000000)
/* Latest start: the last timestamp must fit int64 ns with room to spare. */
#define CTS_GEN_START_MAX_NS (INT64_C(8800000000) * 1000000000) /* 2248-11-10 */
/* How late a late point can be, beyond its own timestamp. */
#define CTS_GEN_LATE_MAX_NS (INT64_C(480) * 1000000000)
/* The longest line the generator writes, '\n' included; cts_gen_read needs
 * at least this much room. */
#define CTS_GEN_LINE_MAX 256u
/* The default start: 2026-11-02T00:00:00Z, a Monday. */
#define CTS_GEN_DEFAULT_START_NS (INT64_C(1793577600) * 1000000000)

typedef struct cts_gen_opts {
    uint64_t seed;
    uint32_t sensors;          /* per city per measurement; 1..CTS_GEN_SENSORS_MAX */
    int64_t start_ns;          /* 0..CTS_GEN_START_MAX_NS */
    int64_t duration_ns;       /* 1..CTS_GEN_DURATION_MAX_NS */
    uint32_t measurement_mask; /* bit (1u << cts_gen_measurement); not 0 */
    uint32_t city_mask;        /* bit (1u << cts_gen_city); not 0 */
    cts_gen_precision precision;
} cts_gen_opts;

/* The defaults of `cityts gen`: seed 1, 10 sensors, CTS_GEN_DEFAULT_START_NS,
 * one day, every measurement and city, nanoseconds. */
void cts_gen_opts_init(cts_gen_opts *opts);

typedef struct cts_gen cts_gen;

/* Create a generator. *out is owned by the caller until cts_gen_destroy.
 * Errors: CTS_EINVAL (NULL argument, or an option out of the ranges above),
 * CTS_ENOMEM. On failure *out is NULL. */
CTS_MUST_USE int cts_gen_create(const cts_gen_opts *opts, cts_gen **out);

/* Free it; NULL is a no-op. */
void cts_gen_destroy(cts_gen *g);

/* Write the next whole lines into dst[0..cap). Returns the bytes written
 * (> 0), 0 once every line has been written (and on every later call), or
 * CTS_EINVAL when dst is NULL or cap < CTS_GEN_LINE_MAX. Never writes past
 * cap and never splits a line; bytes after the returned count are
 * unspecified. */
CTS_MUST_USE int64_t cts_gen_read(cts_gen *g, char *dst, size_t cap);

/* What has been written so far. */
typedef struct cts_gen_stats {
    uint64_t lines;
    uint64_t values; /* fields written */
    uint64_t bytes;
    uint64_t late_lines; /* lines written out of time order */
    uint64_t gaps;       /* sensor outages begun */
    uint64_t sensors;    /* sensors simulated */
} cts_gen_stats;

void cts_gen_stats_get(const cts_gen *g, cts_gen_stats *out);

/* Names: "air" ... "mobility", "bordeaux" ... "warsaw"; NULL when out of
 * range. */
const char *cts_gen_measurement_name(unsigned m);
const char *cts_gen_city_name(unsigned c);

/* The measurement or city named text[0..len) (exact, lower case), or -1. */
int cts_gen_measurement_find(const char *text, size_t len);
int cts_gen_city_find(const char *text, size_t len);

/*
 * Parse the generator's option values. Each returns 0 and stores the result,
 * or CTS_EPARSE (malformed) / CTS_ERANGE (well formed but out of range) and
 * stores the byte offset of the first offending character in *err_off (if
 * not NULL). `text` is NUL-terminated.
 *
 * cts_gen_parse_time: RFC 3339 (2026-11-01T00:00:00Z, with an optional
 *   fraction of up to 9 digits and a Z or +hh:mm / -hh:mm offset), or an
 *   integer of nanoseconds since the epoch; the instant must be in
 *   [0, CTS_GEN_START_MAX_NS].
 * cts_gen_parse_duration: a positive integer and one unit, s m h d w (90m,
 *   24h, 7d), at most CTS_GEN_DURATION_MAX_NS.
 */
CTS_MUST_USE int cts_gen_parse_time(const char *text, int64_t *out_ns, size_t *err_off);
CTS_MUST_USE int cts_gen_parse_duration(const char *text, int64_t *out_ns, size_t *err_off);

#endif
