/*
 * exec.h: the executor's private interfaces: conditions compiled against a
 * measurement (cond.c), SELECT plans (plan.c), the row joiner over column
 * cursors (rows.c), and the two execution modes: aggregates per group and
 * time bucket (exec_agg.c) and raw rows (exec_raw.c).
 *
 * A SELECT runs one measurement at a time:
 *
 *   q_plan_build   fields, columns, time range, tag and field conditions,
 *                  series selected through the tag index, grouped by tags
 *   q_exec_agg     per group: a dense array of aggregate states over the
 *   or q_exec_raw  group's buckets, or a time-ordered merge of its series'
 *                  rows; then fill, transformations, LIMIT/OFFSET, rows out
 *
 * Output series are ordered by measurement name, then by group tags.
 */
#ifndef CTS_QUERY_EXEC_H
#define CTS_QUERY_EXEC_H

#include "agg.h"
#include "query_int.h"

#define Q_NS_MIN INT64_MIN
#define Q_NS_MAX INT64_MAX

/* Statement error helper: formats ctx->err and returns rc. */
int q_fail(q_ctx *ctx, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* CTS_ELIMIT with ctx->err set once the deadline has passed. */
int q_check_deadline(q_ctx *ctx);
/* Account `bytes` more (or fewer, negative) of query memory; CTS_ELIMIT
 * with ctx->err set past opts->memory_limit_bytes. */
int q_mem_charge(q_ctx *ctx, int64_t bytes);

/* ------------------------------------------------------------------------
 * Compiled conditions (cond.c).
 * ------------------------------------------------------------------------ */
typedef struct q_regex q_regex; /* a compiled PCRE2 pattern */

/* Compile pattern (InfluxDB/RE2 syntax, unanchored); 0 or CTS_EPARSE with
 * ctx->err naming the problem. Freed with the query (registered in ctx). */
int q_regex_compile(q_ctx *ctx, cts_str pattern, q_regex **out);
bool q_regex_match(const q_regex *re, const char *s, size_t len);
void q_regex_free(q_regex *re);

typedef enum q_ck {
    Q_C_CONST = 1, /* val */
    Q_C_FIELD,     /* col: index into the plan's columns */
    Q_C_TAG,       /* key: the series' tag value ("" when absent) */
    Q_C_REGEX,     /* re */
    Q_C_BIN,       /* op, l, r */
} q_ck;

typedef struct q_cexpr q_cexpr;
struct q_cexpr {
    q_ck kind;
    q_op op;
    cts_qval val;
    int col;
    cts_str key;
    q_regex *re;
    q_cexpr *l, *r;
};

/* The per-series and per-row inputs of a condition. */
typedef struct q_env {
    const cts_tag *tags; /* the series' tags, sorted by key */
    size_t ntags;
    const cts_qval *vals; /* the row's column values (NULL: no row) */
} q_env;

/* Evaluate to a truth value (null and non-bool results are false). */
bool q_cond_true(const q_cexpr *e, const q_env *env);
/* A tag's value in env ("" when absent). */
cts_str q_env_tag(const q_env *env, cts_str key);

/* ------------------------------------------------------------------------
 * Plans (plan.c).
 * ------------------------------------------------------------------------ */
typedef struct q_col {
    cts_str name;
    uint32_t field_id;
    cts_type type;
    bool exists; /* false: the measurement has no such field (all null) */
} q_col;

/* Output columns of one statement and measurement, at most. */
#define Q_MAX_OUTS 1024

typedef enum q_out_kind {
    Q_OUT_FIELD = 1, /* raw field value: col */
    Q_OUT_TAG,       /* raw tag value: tag */
    Q_OUT_AGG,       /* fn(col) */
} q_out_kind;

typedef struct q_out {
    q_out_kind kind;
    cts_str name; /* column name */
    int col;      /* -1 for a tag */
    cts_str tag;
    q_fn fn;
    double pct;
    bool has_xf; /* a transformation over the field or the aggregate */
    q_xf xf;
    int64_t xf_unit_ns;
    uint32_t xf_window;
} q_out;

/* The transformations that read one interval more than the range under
 * GROUP BY time (InfluxDB's select.go): all but cumulative_sum. */
static inline bool q_out_widens(const q_out *o)
{
    return o->has_xf && o->xf != Q_XF_CUMULATIVE_SUM;
}

typedef struct q_group {
    cts_str *tag_vals; /* one per plan gkey ("" when the series lacks it) */
    uint32_t *series;  /* ascending */
    uint32_t nseries;
    const cts_tag **series_tags; /* each series' tags (borrowed, catalog) */
    size_t *series_ntags;
} q_group;

/* Fields and tag keys, sorted by name. */
typedef struct q_schema {
    const cts_fieldinfo *fields;
    size_t nfields;
    const cts_str *tags;
    size_t ntags;
} q_schema;

typedef struct q_plan {
    const q_select *sel;
    cts_db *db;
    cts_str measurement;
    const cts_fieldinfo *fields; /* the measurement's fields, sorted by name */
    size_t nfields;
    const cts_str *tagkeys; /* its tag keys, sorted */
    size_t ntagkeys;
    q_schema wild; /* what `*` expands to: the union over every measurement
                    * the statement reads (InfluxDB's rule), or its own */
    q_col *cols;
    uint32_t ncols;
    q_out *outs;
    uint32_t nouts;
    bool aggregate;
    bool has_xf;
    int64_t tmin, tmax; /* inclusive; Q_NS_MIN / Q_NS_MAX when unbounded */
    bool tmin_set, tmax_set;
    q_cexpr *field_cond; /* per row; NULL: none */
    cts_str *gkeys;      /* GROUP BY tag keys, sorted */
    uint32_t ngkeys;
    q_group *groups; /* sorted by tag values */
    uint32_t ngroups;
    int64_t emit_from, emit_to; /* rows outside are computed, not emitted */
    int64_t ctmin, ctmax;       /* the range of calls other than transformations
                                 * (tmin/tmax: widened for transformations) */
    struct q_emitbuf *ebuf;     /* the emitter's arrays, made once per plan and
                                 * reused by each group (groups emit in turn) */
} q_plan;

/* Plan measurement m of db for sel. Returns 0 (plan->ngroups may be 0), or
 * a statement error. Everything lives in ctx->arena. */
int q_plan_build(q_ctx *ctx, cts_db *db, const q_select *sel, cts_str m, const q_schema *wild,
                 q_plan *plan);
/* The union of the schemas of measurements ms[0..n) (arena). */
int q_schema_union(q_ctx *ctx, cts_db *db, const cts_str *ms, uint32_t n, q_schema *out);

/* Load the measurement's field and tag keys into the plan (arena copies). */
int q_plan_load_schema(q_ctx *ctx, cts_db *db, cts_str m, q_plan *plan);
/* The index of column `name` in plan->cols, added when new. */
int q_plan_col(q_ctx *ctx, q_plan *plan, cts_str name, int *idx);
const cts_fieldinfo *q_plan_field(const q_plan *plan, cts_str name);
bool q_plan_is_tag(const q_plan *plan, cts_str name);

/* The time range of a WHERE clause (time conjuncts only); the rest of the
 * clause is left for q_plan_build. Exposed for DELETE. */
int q_where_time(q_ctx *ctx, const q_expr *where, int64_t *tmin, int64_t *tmax, bool *tmin_set,
                 bool *tmax_set);
/* Split WHERE against a measurement's tags and fields: the tag condition
 * (series selection) and the field condition (rows). Either may be NULL. */
int q_where_split(q_ctx *ctx, const q_expr *where, q_plan *plan, q_cexpr **tag_cond,
                  q_cexpr **field_cond);
/* Series of measurement m satisfying tag_cond (NULL: all), ascending. */
int q_select_series(q_ctx *ctx, cts_db *db, cts_str m, const q_cexpr *tag_cond, uint32_t **ids,
                    uint32_t *n);

/* A field condition that is an AND of `field op number` on one float
 * column, evaluated a chunk at a time (vfilter.c). */
#define Q_VFILTER_MAX 8
typedef struct q_vfilter {
    uint32_t n;
    int col;
    q_op op[Q_VFILTER_MAX];
    double k[Q_VFILTER_MAX];
} q_vfilter;

/* True (f filled) when the condition has that shape. */
bool q_vfilter_compile(const q_cexpr *cond, const q_plan *plan, q_vfilter *f);
/* Copy the points that pass to ots/ov (capacity n); returns how many. */
uint32_t q_vfilter_apply(const q_vfilter *f, const int64_t *ts, const double *v, uint32_t n,
                         int64_t *ots, double *ov);

/* ------------------------------------------------------------------------
 * Rows: the columns of one series joined by time (rows.c).
 * ------------------------------------------------------------------------ */
typedef struct q_rows q_rows;

/* Open cursors on the plan's columns that `need[i]` marks, for series s over
 * [tmin, tmax]. A column the series lacks yields nulls. */
int q_rows_open(q_ctx *ctx, const q_plan *plan, uint32_t series_id, const bool *need, q_rows **out);
/* Next row: 1 with *ts and vals[0..ncols) (absent: CTS_Q_NULL; strings
 * borrowed until the next call), 0 at the end, or an error (ctx->err). */
int q_rows_next(q_ctx *ctx, q_rows *r, int64_t *ts, cts_qval *vals);
void q_rows_close(q_rows *r);

/* ------------------------------------------------------------------------
 * Execution (exec_agg.c, exec_raw.c). Each pushes the plan's series to
 * ctx->sink; *emitted counts series for SLIMIT/SOFFSET across plans.
 * ------------------------------------------------------------------------ */
typedef struct q_slimit {
    int64_t skip; /* series still to skip (SOFFSET) */
    int64_t left; /* series still to emit (SLIMIT); -1: unlimited */
} q_slimit;

int q_exec_agg(q_ctx *ctx, q_plan *plan, q_slimit *sl);
int q_exec_raw(q_ctx *ctx, q_plan *plan, q_slimit *sl);
/* Emit one result series: the sink's series_begin with the plan's name,
 * group tags and columns ("time" + outs). */
int q_emit_series_begin(q_ctx *ctx, const q_plan *plan, const q_group *g);
/* The sink's callbacks; a non-zero return is recorded in ctx->aborted and
 * returned (the executor unwinds with it). */
int q_emit_begin(q_ctx *ctx, const cts_qseries *s);
int q_emit_row(q_ctx *ctx, const cts_qval *vals);
int q_emit_end(q_ctx *ctx);

/* A group's output stage (emit.c): transformations, OFFSET/LIMIT,
 * SOFFSET/SLIMIT, the lazy series_begin. */
typedef struct q_emitter {
    q_ctx *ctx;
    const q_plan *plan;
    const q_group *g;
    q_slimit *sl;
    bool begun, skipped;
    int64_t offset_left, limit_left; /* limit_left -1: none */
    cts_qval *row;                   /* time + outs, then nouts of scratch */
    q_xform *xf;                     /* per out, when plan->has_xf */
    cts_qval *prev;                  /* fill(previous): last value per out */
    bool *present;                   /* per out, scratch for callers */
    int64_t emit_from, emit_to;      /* rows outside go through the
                                      * transformations only */
} q_emitter;

#define Q_EMIT_STOP 1 /* the group is done (LIMIT reached, SOFFSET skip) */

int q_emitter_init(q_ctx *ctx, const q_plan *plan, const q_group *g, q_slimit *sl, q_emitter *e);
/* Push one row (vals[0..nouts), modified in place by transformations).
 * present[o] says whether column o has a point (NULL: when its value is
 * not null, tags aside); a transformation's column has one when it yields.
 * The row is output when some column has a point. 0, Q_EMIT_STOP, or an
 * error / sink abort. After the group: if e->begun and !e->skipped, end
 * the series with q_emit_end. */
int q_emitter_row(q_emitter *e, int64_t ts, cts_qval *vals, const bool *present);
void q_emitter_fini(const q_plan *plan, q_emitter *e);

/* The database a statement names (`named`, or the query's default),
 * acquired from ctx->dbs: release it with cts_dbset_release. */
int q_stmt_db(q_ctx *ctx, cts_str named, cts_db **db);

/* SHOW / CREATE / DROP / DELETE (exec_meta.c). */
int q_exec_meta(q_ctx *ctx, const q_stmt *st);

/* Bucket start of ts for interval/offset (InfluxDB: epoch-aligned plus
 * offset), saturating at the int64 range. */
int64_t q_bucket_start(int64_t ts, int64_t interval, int64_t offset);

#endif
