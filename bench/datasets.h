/*
 * datasets.h: deterministic synthetic sensor columns for the benchmarks.
 *
 * Compression numbers are only as honest as the data they are measured on.
 * These generators imitate what city sensors actually send -- regular and
 * jittered gateway timestamps, decimal readings printed with one or two
 * digits after the point, counters, small counts -- plus one worst case
 * (random bit patterns). Each dataset is a pure function of its id and
 * length: the same call gives the same bytes on every run and every machine
 * with the same libm, so results can be compared across commits.
 *
 * Decimal values are built as (double)k / 10.0 or (double)k / 100.0 with an
 * integer k: exactly the double strtod gives for the printed text ("21.4"),
 * which is what an ingest path stores.
 */
#ifndef CTS_BENCH_DATASETS_H
#define CTS_BENCH_DATASETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cts_storage.h"

typedef enum bench_dataset_id {
    BENCH_TS_REGULAR_60S, /* timestamps exactly 60 s apart; constant float values */
    BENCH_TS_JITTER_10S,  /* 10 s +- 1 s at ms precision, a few gaps; constant floats */
    BENCH_TEMP_1DEC,      /* temperature, 0.1 degC resolution, daily and weekly cycles */
    BENCH_PM25,           /* PM2.5, 0.1 ug/m3 resolution, daily cycle, rare x10 spikes */
    BENCH_ENERGY_KWH,     /* cumulative kWh meter, 0.01 kWh resolution */
    BENCH_TRAFFIC_COUNT,  /* vehicles per minute, int64, rush hours */
    BENCH_RANDOM_F64,     /* uniformly random finite double bit patterns */
    BENCH_DATASET_COUNT
} bench_dataset_id;

/* A generated column: ts[i] pairs with value i. Value datasets are sampled
 * every 60 s from 2024-01-01T00:00:00Z. */
typedef struct bench_dataset {
    bench_dataset_id id;
    cts_type type; /* CTS_TYPE_FLOAT (v.f) or CTS_TYPE_INT (v.i) */
    size_t count;
    int64_t *ts; /* nanoseconds since the Unix epoch, non-decreasing */
    union {
        double *f;
        int64_t *i;
    } v;
} bench_dataset;

/* The dataset's name as it appears in benchmark names ("temp_1dec"); NULL
 * for an id out of range. */
const char *bench_dataset_name(bench_dataset_id id);

/* True for the timestamp datasets, whose interesting column is ts (their
 * values are a constant filler). */
bool bench_dataset_is_ts(bench_dataset_id id);

/*
 * Generate `count` points of dataset `id` into *out (caller-owned storage,
 * initialised here). Returns 0, CTS_EINVAL (id out of range, count 0) or
 * CTS_ENOMEM (nothing is left allocated). Release with bench_dataset_fini.
 */
CTS_MUST_USE int bench_dataset_init(bench_dataset *out, bench_dataset_id id, size_t count);

/* Free the arrays of `ds` and zero it; a zeroed dataset is accepted. */
void bench_dataset_fini(bench_dataset *ds);

#endif
