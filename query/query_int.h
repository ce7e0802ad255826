/*
 * query_int.h: what the files of query/ share and nothing outside query/
 * includes: the per-query arena, the AST the parser builds and the planner
 * reads, and the internal interfaces between parser, planner, executor,
 * aggregates and transformations.
 *
 * Lifecycle of one query (cts_query_run):
 *
 *   q_arena_init -> q_parse (text -> q_query, every node in the arena)
 *     -> for each statement: q_exec_statement (plan, scan, aggregate,
 *        transform, fill, push rows to the sink)
 *     -> q_arena_fini (everything freed at once)
 *
 * The AST is plain data: every string is unescaped, copied into the arena
 * and NUL-terminated (cts_str.len excludes the NUL), and every node carries
 * the byte offset of its first token so later errors can point at it.
 */
#ifndef CTS_QUERY_INT_H
#define CTS_QUERY_INT_H

#include "cts_query.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * Arena (arena.c): bump allocation in chunks from cts_malloc; no single
 * free. Allocation failure returns NULL (and the arena stays usable).
 * ------------------------------------------------------------------------ */
typedef struct q_arena_chunk q_arena_chunk;
typedef struct q_arena {
    q_arena_chunk *head;
    uint64_t bytes;       /* total allocated from cts_malloc */
    uint64_t limit_bytes; /* 0: none; past it allocations fail */
} q_arena;

void q_arena_init(q_arena *a, uint64_t limit_bytes);
void q_arena_fini(q_arena *a);
/* size bytes aligned to 16; NULL when out of memory or past the limit. */
void *q_arena_alloc(q_arena *a, size_t size);
/* A NUL-terminated copy of s[0..len); .ptr NULL on failure. */
cts_str q_arena_strdup(q_arena *a, const char *s, size_t len);

/* ------------------------------------------------------------------------
 * AST: expressions.
 * ------------------------------------------------------------------------ */
typedef enum q_expr_kind {
    Q_E_REF = 1,  /* identifier: a field, a tag or `time` (u.ref) */
    Q_E_WILDCARD, /* `*` in a field list, or as a call argument: count(*) */
    Q_E_CALL,     /* name(args...) (u.call); also now() */
    Q_E_NUMBER,   /* float literal 1.5, 1e3 (u.num) */
    Q_E_INTEGER,  /* integer literal 42 (u.integer) */
    Q_E_STRING,   /* 'single quoted' (u.str) */
    Q_E_BOOL,     /* true / false (u.boolean) */
    Q_E_DURATION, /* 15m, 1h30m (u.integer: nanoseconds) */
    Q_E_REGEX,    /* /pattern/ (u.str: the pattern, `\/` unescaped) */
    Q_E_BINARY,   /* lhs op rhs (u.bin) */
} q_expr_kind;

typedef enum q_op {
    Q_OP_ADD = 1,
    Q_OP_SUB,
    Q_OP_MUL,
    Q_OP_DIV,
    Q_OP_EQ,  /* = */
    Q_OP_NEQ, /* != or <> */
    Q_OP_LT,
    Q_OP_LTE,
    Q_OP_GT,
    Q_OP_GTE,
    Q_OP_EQ_REGEX,  /* =~ */
    Q_OP_NEQ_REGEX, /* !~ */
    Q_OP_AND,
    Q_OP_OR,
} q_op;

/* `::` casts on a reference: f::field, t::tag, f::float, ... */
typedef enum q_cast {
    Q_CAST_NONE = 0,
    Q_CAST_FIELD,
    Q_CAST_TAG,
    Q_CAST_FLOAT,
    Q_CAST_INTEGER,
    Q_CAST_UNSIGNED,
    Q_CAST_STRING,
    Q_CAST_BOOLEAN,
} q_cast;

typedef struct q_expr q_expr;
struct q_expr {
    q_expr_kind kind;
    uint32_t off; /* byte offset of the node's first token in the text */
    union {
        struct {
            cts_str name; /* unquoted: "pm25", "my field" */
            q_cast cast;
        } ref;
        struct {
            cts_str name; /* lower-cased: "mean", "non_negative_difference", "now" */
            q_expr **args;
            uint32_t nargs;
        } call;
        double num;
        int64_t integer;
        bool boolean;
        cts_str str;
        struct {
            q_op op;
            q_expr *lhs, *rhs;
        } bin;
    } u;
};

/* ------------------------------------------------------------------------
 * AST: statements.
 * ------------------------------------------------------------------------ */
typedef struct q_field {
    q_expr *expr;
    cts_str alias; /* .ptr NULL when no AS */
} q_field;

/* A FROM source: a measurement name (optionally "db"."rp".m or "rp".m) or
 * a /regex/ over measurement names. */
typedef struct q_source {
    bool is_regex;
    cts_str name; /* measurement, or the regex pattern */
    cts_str db;   /* .ptr NULL when not given */
    cts_str rp;   /* .ptr NULL when not given (accepted, ignored: one policy) */
} q_source;

typedef enum q_fill {
    Q_FILL_NULL = 0, /* the default */
    Q_FILL_NONE,
    Q_FILL_PREVIOUS,
    Q_FILL_LINEAR,
    Q_FILL_NUMBER, /* fill_value */
} q_fill;

typedef struct q_select {
    q_field *fields;
    uint32_t nfields;
    q_source *sources;
    uint32_t nsources;
    q_expr *where; /* NULL when absent */
    /* GROUP BY */
    bool group_time;
    int64_t interval_ns; /* > 0 when group_time */
    int64_t offset_ns;   /* time(interval, offset); may be negative */
    cts_str *group_tags; /* tag keys, in the order written */
    uint32_t ngroup_tags;
    bool group_all_tags; /* GROUP BY * */
    q_fill fill;
    q_expr *fill_value; /* Q_E_NUMBER or Q_E_INTEGER when fill == Q_FILL_NUMBER */
    bool order_desc;
    int64_t limit, offset, slimit, soffset; /* 0: none */
    int64_t tz_offset_ns;                   /* tz('...') is not supported: always 0 */
} q_select;

typedef enum q_stmt_kind {
    Q_SELECT = 1,
    Q_SHOW_DATABASES,
    Q_SHOW_MEASUREMENTS,
    Q_SHOW_TAG_KEYS,
    Q_SHOW_TAG_VALUES,
    Q_SHOW_FIELD_KEYS,
    Q_SHOW_SERIES,
    Q_SHOW_RETENTION_POLICIES, /* answered with the one policy, "autogen" */
    Q_CREATE_DATABASE,
    Q_DROP_DATABASE,
    Q_DROP_MEASUREMENT,
    Q_DROP_SERIES,
    Q_DELETE,
} q_stmt_kind;

/* SHOW TAG VALUES ... WITH KEY <op> ... */
typedef enum q_with_key_op {
    Q_WITH_KEY_EQ = 1, /* WITH KEY = "k"     (keys[0]) */
    Q_WITH_KEY_NEQ,    /* WITH KEY != "k"    (keys[0]) */
    Q_WITH_KEY_IN,     /* WITH KEY IN ("a", "b") */
    Q_WITH_KEY_REGEX,  /* WITH KEY =~ /re/   (regex) */
    Q_WITH_KEY_NREGEX, /* WITH KEY !~ /re/   (regex) */
} q_with_key_op;

/* SHOW ... / CREATE / DROP / DELETE. Which members are meaningful depends
 * on the kind; the rest are zero. */
typedef struct q_meta {
    cts_str on_db;         /* ON <db>; CREATE/DROP DATABASE <name> */
    q_source *from;        /* FROM (one source, or a regex); NULL when absent */
    uint32_t nfrom;        /* DROP SERIES FROM and SHOW SERIES FROM take several */
    q_with_key_op with_op; /* SHOW TAG VALUES, SHOW TAG KEYS ... WITH KEY (0: none) */
    cts_str *keys;
    uint32_t nkeys;
    cts_str regex; /* WITH KEY =~ / !~ pattern; SHOW MEASUREMENTS WITH MEASUREMENT =~ */
    q_expr *where;
    int64_t limit, offset; /* 0: none */
} q_meta;

typedef struct q_stmt {
    q_stmt_kind kind;
    uint32_t off; /* byte offset of the statement's first token */
    uint32_t len; /* its length in bytes (for logging) */
    union {
        q_select select;
        q_meta meta;
    } u;
} q_stmt;

typedef struct q_query {
    q_stmt *stmts;
    uint32_t count;
} q_query;

/* ------------------------------------------------------------------------
 * Lexer and parser (lexer.c, parser.c, parser_*.c).
 * ------------------------------------------------------------------------ */

/*
 * Parse text[0..len) into *out (nodes in `a`). Returns 0, CTS_EPARSE with
 * err->msg in InfluxDB's words ("error parsing query: found X, expected Y
 * at line L, char C"; err->line/col/offset set), or CTS_ENOMEM. An empty
 * text (only blanks, comments and ';') is a parse error like InfluxDB's
 * ("found EOF, expected SELECT, DELETE, SHOW, CREATE, DROP ...").
 */
CTS_MUST_USE int q_parse(q_arena *a, const char *text, size_t len, q_query *out,
                         cts_query_error *err);

/* ------------------------------------------------------------------------
 * Executor (exec*.c). Runs one statement; a statement error is returned as
 * a message (errbuf), not pushed to the sink, so cts_query_run can emit
 * statement_end(error).
 * ------------------------------------------------------------------------ */
typedef struct q_ctx {
    cts_dbset *dbs;
    const cts_query_opts *opts;
    const char *text;    /* the whole query text (for error offsets) */
    int64_t now_ns;      /* fixed for the whole query */
    int64_t deadline_ns; /* CLOCK_MONOTONIC deadline; 0: none */
    q_arena *arena;      /* the query's arena (AST and plan) */
    uint64_t mem_bytes;  /* bytes of aggregation state in use */
    const cts_qsink *sink;
    struct q_regex *regexes; /* compiled patterns, freed at the end */
    int aborted;             /* a sink callback's non-zero return */
    char err[512];           /* the statement's error message */
} q_ctx;

/* Returns 0 (statement ran, rows pushed), a negative cts_err with ctx->err
 * set (the statement failed), or a sink callback's non-zero value (abort). */
int q_exec_statement(q_ctx *ctx, const q_stmt *st);

/* Time helpers (time.c). Parse an RFC 3339 / InfluxDB time literal as
 * used in WHERE time comparisons: "2026-11-02T00:00:00Z",
 * "2026-11-02T00:00:00.123456789Z", "2026-11-02 00:00:00" (UTC),
 * "2026-11-02" (midnight UTC), and offsets "+01:00". 0 or CTS_EPARSE. */
CTS_MUST_USE int q_time_parse(const char *s, size_t len, int64_t *out_ns);

#endif
