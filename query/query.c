/*
 * query.c: cts_query_run, the entry point of the query layer. It parses the
 * whole text first (a parse error runs nothing, as in InfluxDB), then runs
 * the statements in order, each framed by the sink's statement_begin and
 * statement_end; the first statement that fails ends the query.
 *
 * Everything a query allocates lives in its arena (AST, plans, groups) or
 * is charged against its memory limit (aggregation state, buffered rows),
 * and is released when cts_query_run returns, on every path.
 */
#include "exec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define Q_MEM_DEFAULT (512ull << 20)
#define Q_TEXT_DEFAULT (1u << 20)

void cts_query_opts_init(cts_query_opts *o)
{
    memset(o, 0, sizeof *o);
    o->memory_limit_bytes = Q_MEM_DEFAULT;
    o->threads = 2;
    o->max_statement_bytes = Q_TEXT_DEFAULT;
}

int q_fail(q_ctx *ctx, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    return rc;
}

static int64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int q_check_deadline(q_ctx *ctx)
{
    if (ctx->deadline_ns && mono_ns() > ctx->deadline_ns)
        return q_fail(ctx, CTS_ELIMIT, "query timeout: the query ran longer than %u ms",
                      ctx->opts->timeout_ms);
    return 0;
}

int q_emit_begin(q_ctx *ctx, const cts_qseries *s)
{
    int rc = ctx->sink->series_begin ? ctx->sink->series_begin(ctx->sink->ctx, s) : 0;
    return rc ? (ctx->aborted = rc) : 0;
}

int q_emit_row(q_ctx *ctx, const cts_qval *vals)
{
    int rc = ctx->sink->row ? ctx->sink->row(ctx->sink->ctx, vals) : 0;
    return rc ? (ctx->aborted = rc) : 0;
}

int q_emit_end(q_ctx *ctx)
{
    int rc = ctx->sink->series_end ? ctx->sink->series_end(ctx->sink->ctx) : 0;
    return rc ? (ctx->aborted = rc) : 0;
}

int q_mem_charge(q_ctx *ctx, int64_t bytes)
{
    if (bytes < 0 && (uint64_t)-bytes > ctx->mem_bytes) {
        ctx->mem_bytes = 0;
        return 0;
    }
    ctx->mem_bytes += (uint64_t)bytes;
    uint64_t limit = ctx->opts->memory_limit_bytes;
    if (bytes > 0 && limit && ctx->mem_bytes > limit)
        return q_fail(ctx, CTS_ELIMIT,
                      "query memory limit exceeded: the query needs more than %llu bytes "
                      "(narrow the time range, widen the GROUP BY interval or add LIMIT)",
                      (unsigned long long)limit);
    return 0;
}

static int64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Run statement i; returns 0 to go on, 1 to stop (it failed), or an abort
 * value from the sink. */
static int run_one(q_ctx *ctx, const q_stmt *st, uint32_t i)
{
    const cts_qsink *sink = ctx->sink;
    int rc = sink->statement_begin ? sink->statement_begin(sink->ctx, i) : 0;
    if (rc)
        return rc;
    ctx->err[0] = 0;
    ctx->mem_bytes = 0;
    int erc = q_exec_statement(ctx, st);
    if (ctx->aborted)
        return ctx->aborted;
    if (erc && !ctx->err[0])
        snprintf(ctx->err, sizeof ctx->err, "%s", cts_strerror(erc));
    rc = sink->statement_end ? sink->statement_end(sink->ctx, i, erc ? ctx->err : NULL) : 0;
    if (rc)
        return rc;
    return erc ? 1 : 0;
}

static void free_regexes(q_ctx *ctx)
{
    while (ctx->regexes) {
        q_regex *re = ctx->regexes;
        ctx->regexes = *(q_regex **)re; /* the link is the first member */
        q_regex_free(re);
    }
}

int cts_query_run(cts_dbset *dbs, const char *text, size_t len, const cts_query_opts *opts,
                  const cts_qsink *sink, cts_query_error *err)
{
    cts_query_opts defaults;
    cts_query_error scratch;
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof *err);
    if (!opts) {
        cts_query_opts_init(&defaults);
        opts = &defaults;
    }
    uint32_t max_text = opts->max_statement_bytes ? opts->max_statement_bytes : Q_TEXT_DEFAULT;
    if (len > max_text) {
        err->code = CTS_ELIMIT;
        snprintf(err->msg, sizeof err->msg, "query too long: %zu bytes (the limit is %u)", len,
                 max_text);
        return CTS_ELIMIT;
    }
    q_arena arena;
    q_arena_init(&arena, 0);
    q_query q;
    int rc = q_parse(&arena, text, len, &q, err);
    if (rc == 0) {
        q_ctx ctx = {.dbs = dbs, .opts = opts, .text = text, .arena = &arena, .sink = sink};
        ctx.now_ns = opts->now_ns ? opts->now_ns : wall_ns();
        if (opts->timeout_ms)
            ctx.deadline_ns = mono_ns() + (int64_t)opts->timeout_ms * 1000000;
        for (uint32_t i = 0; i < q.count && rc == 0; i++)
            rc = run_one(&ctx, &q.stmts[i], i);
        if (rc == 1)
            rc = 0;
        free_regexes(&ctx);
    } else {
        err->code = rc;
    }
    q_arena_fini(&arena);
    return rc;
}
