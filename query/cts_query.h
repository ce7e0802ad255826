/*
 * cts_query.h: the public contract of the cityts query layer (an InfluxQL
 * subset): lexer, parser, planner, executor and result encoders. It reads
 * data only through cts_engine.h and knows nothing of on-disk layout.
 *
 * docs/query-language.md is the user's reference (grammar, semantics,
 * differences from InfluxDB 1.x).
 *
 * The pieces, and how a caller (the CLI, the HTTP server) puts them
 * together:
 *
 *   text --cts_query_run--> statements executed one by one against a
 *   cts_dbset --> results pushed into a cts_qsink --> an encoder
 *   (cts_qenc: table, CSV, InfluxDB v1 JSON, chart) --> bytes to a writer.
 *
 * Results stream: the executor hands the sink one series at a time and one
 * row at a time, so a query's memory is bounded by its aggregation state,
 * not by its result size.
 *
 * Threads: cts_query_run may be called from several threads at once on the
 * same cts_dbset. It may use worker threads of its own (opts.threads) but
 * calls the sink only from the calling thread.
 */
#ifndef CTS_QUERY_H
#define CTS_QUERY_H

#include "cts_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parse an InfluxQL duration literal from text[0..len): one or more
 * <integer><unit> segments ("15m", "1h30m"), units ns, u, µ, ms, s, m, h, d,
 * w. On success stores the total in *out_ns and returns 0. Returns
 * CTS_EPARSE for anything else (empty, missing unit, unknown unit) and
 * CTS_ERANGE when the total overflows int64 nanoseconds. `*err_off`, if not
 * NULL, receives the byte offset of the first offending character.
 */
CTS_MUST_USE int cts_duration_parse(const char *text, size_t len, int64_t *out_ns, size_t *err_off);

/* ------------------------------------------------------------------------
 * Result values and the sink that receives them.
 * ------------------------------------------------------------------------ */
typedef enum cts_qtype {
    CTS_Q_NULL = 0,
    CTS_Q_FLOAT = 1,  /* v.f */
    CTS_Q_INT = 2,    /* v.i */
    CTS_Q_UINT = 3,   /* v.u */
    CTS_Q_BOOL = 4,   /* v.b */
    CTS_Q_STRING = 5, /* v.s */
    CTS_Q_TIME = 6,   /* v.i: nanoseconds since the epoch (the `time` column) */
} cts_qtype;

typedef struct cts_qval {
    cts_qtype type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        cts_str s;
    } v;
} cts_qval;

/* One result series, as in InfluxDB's JSON: a name (a measurement, or
 * "databases", "measurements" for SHOW), the tags it is grouped by (sorted
 * by key; ntags 0 when not grouped by tags) and its column names. */
typedef struct cts_qseries {
    cts_str name;
    size_t ntags;
    const cts_str *tag_keys;
    const cts_str *tag_values;
    size_t ncolumns;
    const cts_str *columns;
} cts_qseries;

/*
 * Where results go. For each statement, in order: statement_begin, then for
 * each result series series_begin, row* (each with exactly ncolumns values),
 * series_end; then statement_end with error NULL (success) or the
 * statement's error message (after an error no further statement runs, as
 * in InfluxDB). Everything passed is borrowed for the duration of the call.
 * A callback returning non-zero aborts the query: cts_query_run returns
 * that value (use a negative cts_err, e.g. CTS_ELIMIT for "result too
 * large" or CTS_EIO for a closed connection).
 */
typedef struct cts_qsink {
    void *ctx;
    int (*statement_begin)(void *ctx, uint32_t statement_id);
    int (*series_begin)(void *ctx, const cts_qseries *series);
    int (*row)(void *ctx, const cts_qval *values);
    int (*series_end)(void *ctx);
    int (*statement_end)(void *ctx, uint32_t statement_id, const char *error);
} cts_qsink;

/* ------------------------------------------------------------------------
 * Running queries.
 * ------------------------------------------------------------------------ */
typedef struct cts_query_opts {
    const char *db;               /* default database (`db` parameter, USE); may be NULL */
    int64_t now_ns;               /* the value of now(); 0: the clock at the start */
    uint64_t memory_limit_bytes;  /* per query; default 512 MiB; CTS_ELIMIT past it */
    uint32_t timeout_ms;          /* per query; 0: none; default 0 */
    uint32_t threads;             /* scan threads; default 2 (0 also means 2) */
    bool read_only;               /* refuse CREATE/DROP/DELETE (HTTP GET) */
    uint32_t max_statement_bytes; /* query text limit; default 1 MiB */
} cts_query_opts;

void cts_query_opts_init(cts_query_opts *o);

/* Why cts_query_run failed as a whole (a statement's own error goes to the
 * sink instead). */
typedef struct cts_query_error {
    int code;      /* the return value */
    uint32_t line; /* 1-based; 0 when not a parse error */
    uint32_t col;  /* 1-based character (not byte) of the line */
    size_t offset; /* byte offset into the text */
    char msg[512]; /* e.g. "error parsing query: found FROM, expected identifier at line 1, char 8"
                    */
} cts_query_error;

/*
 * Parse text[0..len) (one or more statements separated by ';') and run each
 * statement against `dbs`, pushing results into `sink`. Returns 0 when the
 * text parsed and every statement ran (a statement that failed reported
 * its error through statement_end and the call still returns 0), or:
 * CTS_EPARSE (the text does not parse: nothing ran, err says where and
 * what was expected, in InfluxDB's words), CTS_ELIMIT (text too long), a
 * sink callback's non-zero value, CTS_ENOMEM.
 */
CTS_MUST_USE int cts_query_run(cts_dbset *dbs, const char *text, size_t len,
                               const cts_query_opts *opts, const cts_qsink *sink,
                               cts_query_error *err);

/* Parse only (no database): 0, or CTS_EPARSE with err filled. */
CTS_MUST_USE int cts_query_check(const char *text, size_t len, cts_query_error *err);

/* True when text[0..len) parses and holds a statement that changes data or
 * databases (CREATE, DROP, DELETE): the HTTP server refuses those to a user
 * without the admin privilege before running anything. */
bool cts_query_writes(const char *text, size_t len);

/* For interactive input: true when text[0..len) ends inside a string, a
 * quoted identifier, a regex or an open parenthesis, so more lines are
 * needed before it can be parsed. */
bool cts_query_incomplete(const char *text, size_t len);

/* ------------------------------------------------------------------------
 * Encoders: a sink that renders results as text.
 * ------------------------------------------------------------------------ */
typedef enum cts_qformat {
    CTS_QFMT_TABLE = 0, /* aligned columns, as the influx CLI prints them */
    CTS_QFMT_CSV = 1,   /* InfluxDB's CSV: name,tags,time,<columns> */
    CTS_QFMT_JSON = 2,  /* InfluxDB 1.x /query JSON */
} cts_qformat;

/* How the time column is written: RFC 3339 with nanoseconds trimmed
 * (InfluxDB's default) or an integer count of a unit since the epoch (the
 * `epoch` parameter). */
typedef enum cts_qepoch {
    CTS_QEPOCH_RFC3339 = 0,
    CTS_QEPOCH_NS,
    CTS_QEPOCH_US,
    CTS_QEPOCH_MS,
    CTS_QEPOCH_S,
    CTS_QEPOCH_M,
    CTS_QEPOCH_H,
} cts_qepoch;

/* Parse an epoch name: "ns"/"n", "u"/"us"/"µ", "ms", "s", "m", "h"
 * (InfluxDB's epoch parameter) or "rfc3339". CTS_EINVAL otherwise. */
CTS_MUST_USE int cts_qepoch_parse(const char *s, cts_qepoch *out);

typedef struct cts_qenc_opts {
    cts_qformat format;
    cts_qepoch epoch;
    bool pretty;           /* JSON: indented */
    bool chart;            /* table: draw a Unicode line chart for each series
                            * whose first column is time (see cts_qenc_create) */
    uint32_t chart_width;  /* columns of the chart; default 72 */
    uint32_t chart_height; /* rows; default 16 */
} cts_qenc_opts;

void cts_qenc_opts_init(cts_qenc_opts *o);

/* Output: write all len bytes or return non-zero (that value aborts). */
typedef int (*cts_qwrite_fn)(void *ctx, const void *buf, size_t len);

typedef struct cts_qenc cts_qenc;

/*
 * Create an encoder writing to `write`. JSON streams (one object per
 * query, {"results":[...]}); CSV streams; the table buffers one series at
 * a time (to align columns) within the query's memory. With chart set, a
 * series with a time column and at least one numeric column is drawn
 * instead of (table) listed: its first numeric column over time, axes
 * labelled; other series are listed.
 */
CTS_MUST_USE int cts_qenc_create(const cts_qenc_opts *opts, cts_qwrite_fn write, void *wctx,
                                 cts_qenc **out);
/* The sink to pass to cts_query_run; valid while the encoder lives. */
const cts_qsink *cts_qenc_sink(cts_qenc *enc);
/* The query failed as a whole (parse error): JSON writes
 * {"error":"<msg>"}, table and CSV write "ERR: <msg>\n". */
CTS_MUST_USE int cts_qenc_error(cts_qenc *enc, const char *msg);
/* End of the query: JSON closes the object ("]}\n"). */
CTS_MUST_USE int cts_qenc_finish(cts_qenc *enc);
void cts_qenc_destroy(cts_qenc *enc);

/* Format a time in nanoseconds as InfluxDB's RFC 3339 (UTC, "Z", the
 * fraction trimmed of trailing zeros, none when whole seconds) into dst;
 * returns the length (< cap) or CTS_ENOSPACE. 40 bytes always suffice. */
CTS_MUST_USE int cts_qtime_format(int64_t ts_ns, char *dst, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
