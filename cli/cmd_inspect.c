/*
 * cmd_inspect.c: `cityts inspect`: what a database holds and how well it
 * compresses: totals, then one row per field (measurement, field, type,
 * series, points, blocks, bytes on disk, bytes per point, time range).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct field_row {
    uint32_t field_id;
    uint64_t series, points, head_points, blocks, bytes;
    int64_t min_ts, max_ts;
} field_row;

typedef struct collect {
    cts_column_info *cols;
    size_t n, cap;
} collect;

static int add_column(void *ctx, const cts_column_info *ci)
{
    collect *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        cts_column_info *n = realloc(c->cols, cap * sizeof *n);
        if (!n)
            return CTS_ENOMEM;
        c->cols = n;
        c->cap = cap;
    }
    c->cols[c->n++] = *ci;
    return 0;
}

static int by_field(const void *a, const void *b)
{
    const cts_column_info *x = a, *y = b;
    return x->field_id < y->field_id ? -1 : x->field_id > y->field_id;
}

static void fmt_time(int64_t ns, char *buf, size_t cap)
{
    time_t s = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
    struct tm tm;
    if (!gmtime_r(&s, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, cap, "%lld", (long long)ns);
}

static void print_row(cts_db *db, const field_row *r)
{
    char m[256], name[256], t0[32], t1[32];
    cts_type type;
    if (cts_db_field_info(db, r->field_id, m, sizeof m, name, sizeof name, &type))
        return;
    fmt_time(r->min_ts, t0, sizeof t0);
    fmt_time(r->max_ts, t1, sizeof t1);
    double bpp = r->points ? (double)r->bytes / (double)r->points : 0;
    printf("%-12s %-16s %-9s %8llu %12llu %8llu %12llu %8.3f  %s .. %s\n", m, name,
           cts_type_name(type), (unsigned long long)r->series,
           (unsigned long long)(r->points + r->head_points), (unsigned long long)r->blocks,
           (unsigned long long)r->bytes, bpp, t0, t1);
}

static void print_fields(cts_db *db, collect *c)
{
    if (c->n)
        qsort(c->cols, c->n, sizeof *c->cols, by_field);
    printf("%-12s %-16s %-9s %8s %12s %8s %12s %8s  %s\n", "measurement", "field", "type", "series",
           "points", "blocks", "bytes", "B/point", "time range");
    for (size_t i = 0; i < c->n;) {
        field_row r = {.field_id = c->cols[i].field_id,
                       .min_ts = c->cols[i].min_ts,
                       .max_ts = c->cols[i].max_ts};
        for (; i < c->n && c->cols[i].field_id == r.field_id; i++) {
            const cts_column_info *ci = &c->cols[i];
            r.series++;
            r.points += ci->points_sealed;
            r.head_points += ci->head_points;
            r.blocks += ci->blocks;
            r.bytes += ci->bytes_sealed;
            r.min_ts = ci->min_ts < r.min_ts ? ci->min_ts : r.min_ts;
            r.max_ts = ci->max_ts > r.max_ts ? ci->max_ts : r.max_ts;
        }
        print_row(db, &r);
    }
}

int cmd_inspect(int argc, char **argv)
{
    cts_db *db;
    int rc = cli_open_existing(argc, argv, "inspect", &db);
    if (rc)
        return rc;
    cts_db_stats st;
    cts_db_get_stats(db, &st);
    printf("series %llu, columns %llu, partitions %llu, blocks %llu, sealed points %llu in %llu "
           "bytes (%.3f B/point), unsealed points %llu, WAL %llu bytes, I/O %s\n\n",
           (unsigned long long)st.series, (unsigned long long)st.columns,
           (unsigned long long)st.partitions, (unsigned long long)st.blocks,
           (unsigned long long)st.points_sealed, (unsigned long long)st.bytes_sealed,
           st.points_sealed ? (double)st.bytes_sealed / (double)st.points_sealed : 0.0,
           (unsigned long long)st.head_points, (unsigned long long)st.wal_bytes,
           cts_db_io_backend(db));
    collect col = {0};
    rc = cts_db_columns(db, add_column, &col);
    if (rc == 0)
        print_fields(db, &col);
    else
        fprintf(stderr, "cityts inspect: %s\n", cts_strerror(rc));
    free(col.cols);
    cts_db_close(db);
    return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
