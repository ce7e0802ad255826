/*
 * ingest.h: the ingest pipeline shared by `cityts ingest` and `cityts demo`.
 *
 * Two threads: a reader thread reads the sources, parses them into batches
 * of points and copies each batch into a work item; the calling thread
 * writes items to the database. A bounded queue between them (a few items)
 * keeps memory flat and both cores busy: parsing overlaps with the
 * engine's writes.
 *
 * Bad input: a line that does not parse is skipped and reported (the first
 * `report_max` with source, line, column and InfluxDB's message; then only
 * counted). With `strict`, the first bad line stops the ingest and nothing
 * of its batch is written (earlier batches are). A point the engine rejects
 * (a field type conflict) is reported the same way; the rest of its batch
 * is written, as InfluxDB does, and with `strict` the ingest stops there.
 */
#ifndef CTS_INGEST_H
#define CTS_INGEST_H

#include "cts_engine.h"

#include <stdio.h>

/* One input: read() fills buf with up to cap bytes and returns how many,
 * 0 at the end, or -1 on an error (errmsg names it). pos() is how far into
 * the input we are, in the units of `size` (for the progress bar). */
typedef struct ingest_source {
    const char *name; /* for messages: a file name, "-" or "generator" */
    int64_t (*read)(void *ctx, void *buf, size_t cap);
    uint64_t (*pos)(void *ctx);
    void *ctx;
    uint64_t size; /* 0: unknown */
    char errmsg[256];
} ingest_source;

typedef enum ingest_format { INGEST_LP = 0, INGEST_CSV = 1 } ingest_format;

typedef struct ingest_opts {
    ingest_format format;
    cts_lp_precision precision; /* line protocol */
    const cts_csv_opts *csv;    /* CSV: the mapping (checked) */
    bool strict;
    bool progress;  /* draw a progress bar on stderr */
    int report_max; /* bad lines printed in full; the rest are counted */
    FILE *report;   /* where bad lines go (stderr) */
} ingest_opts;

typedef struct ingest_stats {
    uint64_t bytes, lines, points, values, series_created;
    uint64_t bad_lines;       /* lines that did not parse */
    uint64_t rejected_points; /* points the engine refused */
    double elapsed_s;
    bool stopped; /* strict mode stopped at a bad line */
} ingest_stats;

/* Open a file (or "-" for standard input) as a source; gzip input is
 * recognised by its magic bytes and decompressed. Returns 0, or -1 with
 * src->errmsg set. */
int ingest_source_file(ingest_source *src, const char *path);
void ingest_source_close(ingest_source *src);

/*
 * Ingest every source into db. Returns 0 when everything was read and
 * written; CTS_EPARSE when lines were bad or points rejected (all good ones
 * written unless strict); another cts_err when reading or writing failed
 * (the message was printed). st receives the counters either way.
 */
int ingest_run(cts_db *db, const ingest_opts *o, ingest_source *srcs, size_t nsrc,
               ingest_stats *st);

/* One line summary of st ("12,000 lines, ... in 1.2 s (9.9M values/s)"). */
void ingest_print_summary(FILE *out, const ingest_stats *st);

#endif
