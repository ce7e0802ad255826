/*
 * serve_write.c: POST /write (InfluxDB 1.x) and POST /api/v2/write (2.x
 * clients), line protocol in, durable points out.
 *
 * At the headers, in InfluxDB's order: the database is required (400
 * "database is required"), must exist (404 `database not found: "x"`; a
 * name that fails cts_db_name_valid cannot exist, so it gets the same
 * answer and never reaches a path), the user must hold the write
 * privilege (403), and a Content-Length past the body limit is refused
 * (413) before a byte is read. The database stays acquired until the
 * request ends, so a concurrent DROP waits for it.
 *
 * At the end of the body, the whole body is parsed (cts_lp_reader) and
 * each batch written with cts_db_write, which returns once the batch is
 * durable under the database's fsync policy; concurrent requests share
 * WAL group commits there. Good lines are kept whatever else happens, as
 * in InfluxDB. The answer:
 *   204                    every line written (an empty body included)
 *   400 `unable to parse '<line>': <reason>`
 *                          no line parsed (nothing written)
 *   400 `partial write: <first error> dropped=N`
 *                          some lines written; N counts every line not
 *                          written (bad lines and refused points). The
 *                          first error is the first point refused at write
 *                          time (a field type conflict, in InfluxDB's
 *                          words) if any, else the first bad line.
 *   507 <engine message>   the disk is full; 503 (with Retry-After) for an
 *                          I/O error or a poisoned database; 500 otherwise.
 *                          Batches before the failure are durable, nothing
 *                          after it was written or acknowledged.
 */
#include "serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one body did. */
typedef struct write_tally {
    uint64_t points, values, series, parsed, syntax_bad, dropped;
    int hard_rc; /* an engine error other than per-point refusals */
    char first_syntax[CTS_LP_MSG_MAX];
    char first_write[CTS_LP_MSG_MAX];
} write_tally;

static bool is_v2(const serve_req *r)
{
    return r->route == SERVE_R_WRITE_V2;
}

/* bucket -> database, as InfluxDB 1.8 maps it: "db" or "db/rp". */
static enum MHD_Result bucket_db(serve_req *r, struct MHD_Connection *c, char *db, size_t cap)
{
    const char *b = serve_arg(c, "bucket");
    char msg[512];
    const char *slash = b ? strchr(b, '/') : NULL;
    size_t n = !b ? 0 : slash ? (size_t)(slash - b) : strlen(b);
    if (n == 0) {
        if (!slash)
            snprintf(msg, sizeof msg,
                     "bucket name \"%.200s\" is missing a slash; not in "
                     "\"database/retention-policy\" format",
                     b ? b : "");
        else
            snprintf(msg, sizeof msg,
                     "bucket name \"%.200s\" is in db/rp form but has an empty database", b);
        return serve_error(r, c, MHD_HTTP_NOT_FOUND, msg);
    }
    snprintf(db, cap, "%.*s", (int)(n < cap ? n : cap - 1), b);
    if (n >= cap) /* longer than any valid name: make sure it stays invalid */
        db[0] = '/';
    return MHD_YES;
}

static enum MHD_Result parse_precision(serve_req *r, struct MHD_Connection *c)
{
    const char *p = serve_arg(c, "precision");
    r->precision = CTS_LP_NS;
    if (!p || !*p)
        return MHD_YES;
    bool ok = cts_lp_precision_parse(p, strlen(p), &r->precision) == 0;
    if (ok && is_v2(r)) /* v2 knows ns, us, ms and s only */
        ok = strcmp(p, "ns") == 0 || strcmp(p, "us") == 0 || strcmp(p, "ms") == 0 ||
             strcmp(p, "s") == 0;
    if (ok)
        return MHD_YES;
    char msg[256];
    snprintf(msg, sizeof msg, "invalid precision \"%.64s\" (use %s)", p,
             is_v2(r) ? "ns, us, ms or s" : "n, u, ms, s, m or h");
    atomic_fetch_add(&r->st->metrics.write_errors[SERVE_WERR_BAD_REQUEST], 1);
    return serve_error(r, c, MHD_HTTP_BAD_REQUEST, msg);
}

static enum MHD_Result open_db(serve_req *r, struct MHD_Connection *c, const char *db)
{
    char msg[160];
    int rc =
        cts_db_name_valid(db) ? cts_dbset_acquire(r->st->dbs, db, false, &r->db) : CTS_ENOTFOUND;
    if (rc == 0)
        return MHD_YES;
    r->db = NULL;
    if (rc == CTS_ENOTFOUND || rc == CTS_EINVAL) {
        atomic_fetch_add(&r->st->metrics.write_errors[SERVE_WERR_NOT_FOUND], 1);
        char q[CTS_DB_NAME_MAX * 2 + 8];
        int e = serve_json_escape(db, strnlen(db, CTS_DB_NAME_MAX + 1), q, sizeof q);
        snprintf(msg, sizeof msg, "database not found: \"%s\"", e < 0 ? "" : q);
        return serve_error(r, c, MHD_HTTP_NOT_FOUND, msg);
    }
    atomic_fetch_add(&r->st->metrics.write_errors[SERVE_WERR_INTERNAL], 1);
    return serve_error(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, cts_dbset_errmsg());
}

static enum MHD_Result check_size(serve_req *r, struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
    if (n > r->st->cfg.max_body_bytes) {
        atomic_fetch_add(&r->st->metrics.write_errors[SERVE_WERR_TOO_LARGE], 1);
        return serve_error(r, c, MHD_HTTP_CONTENT_TOO_LARGE, "Request Entity Too Large");
    }
    if (atomic_load(&r->st->inflight_bytes) >= r->st->cfg.max_inflight_bytes)
        return serve_throttled(r, c);
    /* a plain body of known length gets its buffer at once (no regrowth) */
    if (!serve_body_begin(r, c) || (!r->z_ready && !serve_body_presize(r, n))) {
        atomic_fetch_add(&r->st->metrics.write_errors[r->fail_kind], 1);
        return serve_error(r, c, r->fail_status, r->fail_msg);
    }
    return MHD_YES;
}

/* The headers: everything that can be refused before the body. */
static enum MHD_Result write_begin(serve_req *r, struct MHD_Connection *c)
{
    char db[CTS_DB_NAME_MAX + 2];
    enum MHD_Result rc;
    if (is_v2(r)) {
        db[0] = '\0';
        if ((rc = bucket_db(r, c, db, sizeof db)) != MHD_YES || r->answered)
            return rc;
    } else {
        const char *d = serve_arg(c, "db");
        if (!d || !*d) {
            atomic_fetch_add(&r->st->metrics.write_errors[SERVE_WERR_BAD_REQUEST], 1);
            return serve_error(r, c, MHD_HTTP_BAD_REQUEST, "database is required");
        }
        snprintf(db, sizeof db, "%s", d);
        if (strlen(d) >= sizeof db)
            db[0] = '/';
    }
    if ((rc = parse_precision(r, c)) != MHD_YES || r->answered)
        return rc;
    if ((rc = open_db(r, c, db)) != MHD_YES || r->answered)
        return rc;
    if (r->st->auth_enabled && !(r->user->priv & SERVE_PRIV_WRITE)) {
        char msg[256];
        snprintf(msg, sizeof msg, "\"%s\" user is not authorized to write to database \"%s\"",
                 r->user->name, db);
        atomic_fetch_add(&r->st->metrics.write_errors[SERVE_WERR_AUTH], 1);
        return serve_error(r, c, MHD_HTTP_FORBIDDEN, msg);
    }
    return check_size(r, c);
}

static void tally_batch(write_tally *t, const cts_lp_batch *b)
{
    t->parsed += b->npoints;
    t->dropped += b->nbad;
    for (size_t i = 0; i < b->nbad; i++) {
        const cts_lp_error *e = &b->bad[i];
        bool syntax = e->kind == CTS_LP_ESYNTAX;
        char *dst = syntax ? t->first_syntax : t->first_write;
        t->syntax_bad += syntax;
        if (!dst[0])
            snprintf(dst, CTS_LP_MSG_MAX, "%s", e->msg);
    }
}

static void write_batch(serve_req *r, write_tally *t, const cts_lp_batch *b)
{
    tally_batch(t, b);
    if (b->npoints == 0 || t->hard_rc)
        return;
    cts_write_result res;
    memset(&res, 0, sizeof res);
    int rc = cts_db_write(r->db, b->points, b->npoints, &res);
    if (rc != 0 && rc != CTS_ETYPE && rc != CTS_EINVAL && rc != CTS_ELIMIT) {
        t->hard_rc = rc;
        snprintf(t->first_write, sizeof t->first_write, "%s", cts_db_errmsg(r->db));
        return;
    }
    t->points += res.points_written;
    t->values += res.values_written;
    t->series += res.series_created;
    t->dropped += res.points_rejected;
    if (res.points_rejected && !t->first_write[0])
        snprintf(t->first_write, sizeof t->first_write, "%s", res.msg);
}

/* Feed the body to a line-protocol reader and write what it yields. */
static int write_body(serve_req *r, write_tally *t)
{
    cts_lp_reader *rd = serve_pool_reader(&r->st->pool, r->precision, serve_now_ns());
    cts_lp_batch b;
    int rc = rd ? 0 : CTS_ENOMEM;
    if (rc == 0 && r->len)
        rc = cts_lp_reader_feed(rd, r->body, r->len);
    for (int pass = 0; rc == 0 && pass < 2 && !t->hard_rc; pass++) {
        while (!t->hard_rc && (rc = cts_lp_reader_next(rd, &b)) == 1)
            write_batch(r, t, &b);
        if (rc == 0 && pass == 0)
            rc = cts_lp_reader_finish(rd);
    }
    if (rc == 0)
        serve_pool_put_reader(&r->st->pool, rd);
    else /* a reader left mid-input is not reused */
        cts_lp_reader_destroy(rd);
    return rc < 0 ? rc : 0;
}

static void count(serve_req *r, const write_tally *t)
{
    serve_metrics *m = &r->st->metrics;
    atomic_fetch_add(&m->write_bytes, r->len);
    atomic_fetch_add(&m->points_written, t->points);
    atomic_fetch_add(&m->values_written, t->values);
    atomic_fetch_add(&m->series_created, t->series);
    atomic_fetch_add(&m->write_errors[SERVE_WERR_PARSE], t->syntax_bad);
    atomic_fetch_add(&m->write_errors[SERVE_WERR_REJECTED], t->dropped - t->syntax_bad);
    if (t->hard_rc)
        atomic_fetch_add(&m->write_errors[SERVE_WERR_INTERNAL], 1);
}

/* The status of a write the engine could not do (issue 7): a full disk is
 * 507 Insufficient Storage; a database poisoned by an I/O error, or the
 * error itself, 503 (the client may retry once an operator has restarted
 * it); the rest 500. Nothing of the batch was acknowledged. */
static unsigned hard_status(int rc)
{
    switch (rc) {
    case CTS_ENOSPC:
        return 507;
    case CTS_EIO:
    case CTS_EPOISONED:
    case CTS_ENOMEM:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static enum MHD_Result write_answer(serve_req *r, struct MHD_Connection *c)
{
    write_tally *t = cts_calloc(1, sizeof *t);
    if (!t)
        return serve_throttled(r, c);
    int rc = write_body(r, t);
    count(r, t);
    enum MHD_Result ret;
    char msg[CTS_LP_MSG_MAX + 64];
    if (rc != 0 || t->hard_rc) {
        ret = serve_error(r, c, hard_status(t->hard_rc ? t->hard_rc : rc),
                          t->hard_rc ? t->first_write : cts_strerror(rc));
    } else if (t->parsed == 0 && t->syntax_bad > 0 && t->syntax_bad == t->dropped) {
        ret = serve_error(r, c, MHD_HTTP_BAD_REQUEST, t->first_syntax);
    } else if (t->dropped > 0) {
        snprintf(msg, sizeof msg, "partial write: %s dropped=%llu",
                 t->first_write[0] ? t->first_write : t->first_syntax,
                 (unsigned long long)t->dropped);
        ret = serve_error(r, c, MHD_HTTP_BAD_REQUEST, msg);
    } else {
        ret = serve_respond(r, c, MHD_HTTP_NO_CONTENT, NULL, "", 0);
    }
    cts_free(t);
    return ret;
}

enum MHD_Result serve_write_handle(serve_req *r, struct MHD_Connection *c, const char *method,
                                   const char *upload, size_t *upload_size)
{
    if (!r->started) {
        r->started = true;
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return serve_respond(r, c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                                 "Method Not Allowed\n", 19);
        return write_begin(r, c);
    }
    if (r->answered) { /* refused at the headers: drop what still comes */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        int rc = serve_body_append(r, upload, *upload_size);
        *upload_size = 0;
        return rc ? MHD_NO : MHD_YES;
    }
    serve_body_finish(r);
    if (r->fail_status) {
        atomic_fetch_add(&r->st->metrics.write_errors[r->fail_kind], 1);
        return serve_error(r, c, r->fail_status, r->fail_msg);
    }
    (void)upload;
    return write_answer(r, c);
}
