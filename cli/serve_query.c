/*
 * serve_query.c: GET|POST /query, InfluxQL in, InfluxDB 1.x JSON (or CSV)
 * out.
 *
 * Parameters come from the URL or, for a POST, from an
 * application/x-www-form-urlencoded or multipart/form-data body (read by
 * libmicrohttpd's post processor); a form value wins over the URL's, as
 * Go's Request.FormValue has it. `q` (required: 400 `missing required
 * parameter "q"`), `db`, `epoch` (ns, u, ms, s, m, h; anything else means
 * nanoseconds, as in InfluxDB), `pretty=true`, `chunked=true` (one JSON
 * object per statement, streamed as it is produced), `chunk_size`
 * (accepted; chunks are per statement), `rp` (accepted, ignored: one
 * retention policy).
 * `Accept: application/csv` or `text/csv` gives CSV.
 *
 * Limits: the query text (--max-query-bytes: 413), the response
 * (--max-result-bytes, for a response built in memory: it is replaced by
 * an error naming the limit; a chunked response streams and has no size
 * limit, as in InfluxDB), the query time (--query-timeout, passed to the
 * executor).
 *
 * Privileges: a GET runs read-only (CREATE, DROP, DELETE refused by the
 * executor, as InfluxDB refuses them on GET); with --auth, a user without
 * the read privilege gets 403 and a user below admin runs read-only.
 *
 * Statuses: 200 with per-statement errors inside the JSON; 400 for a
 * query that does not parse (nothing runs); 413; 405 for other methods.
 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { QF_DB, QF_EPOCH, QF_PRETTY, QF_CHUNKED, QF_CHUNK_SIZE, QF_RP, QF_COUNT };
static const char *const small_keys[QF_COUNT] = {"db",      "epoch",      "pretty",
                                                 "chunked", "chunk_size", "rp"};
#define SMALL_MAX 80

typedef struct serve_qreq {
    struct MHD_PostProcessor *pp;
    char *q;
    size_t q_len, q_cap;
    bool q_set, q_too_long;
    char small[QF_COUNT][SMALL_MAX];
    bool small_set[QF_COUNT];
    uint64_t body_bytes;
} serve_qreq;

/* The response, built in memory up to max bytes, each byte of capacity
 * reserved in the server's in-flight budget (busy when that runs out). */
typedef struct outbuf {
    serve_req *r;
    char *p;
    size_t len, cap, max;
    bool overflow, busy;
} outbuf;

static int out_write(void *ctx, const void *buf, size_t len)
{
    outbuf *o = ctx;
    if (o->len + len > o->max) {
        o->overflow = true;
        return CTS_ELIMIT;
    }
    if (o->len + len > o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 16384;
        while (ncap < o->len + len)
            ncap *= 2;
        if (!serve_reserve(o->r, ncap - o->cap)) {
            o->busy = true;
            return CTS_ELIMIT;
        }
        char *np = cts_realloc(o->p, ncap);
        if (!np)
            return CTS_ENOMEM;
        o->p = np;
        o->cap = ncap;
    }
    memcpy(o->p + o->len, buf, len);
    o->len += len;
    return 0;
}

/* ---- parameters ---- */

static bool q_append(serve_qreq *q, uint32_t max, const char *data, size_t size)
{
    if (q->q_len + size > max) {
        q->q_too_long = true;
        return false;
    }
    if (q->q_len + size + 1 > q->q_cap) {
        size_t ncap = q->q_cap ? q->q_cap * 2 : 1024;
        while (ncap < q->q_len + size + 1)
            ncap *= 2;
        char *np = cts_realloc(q->q, ncap);
        if (!np)
            return false;
        q->q = np;
        q->q_cap = ncap;
    }
    memcpy(q->q + q->q_len, data, size);
    q->q_len += size;
    q->q[q->q_len] = '\0';
    return true;
}

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *filename, const char *content_type,
                                  const char *transfer_encoding, const char *data, uint64_t off,
                                  size_t size)
{
    serve_req *r = cls;
    serve_qreq *q = r->query;
    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
    if (strcmp(key, "q") == 0) {
        q->q_set = true;
        return q_append(q, r->st->cfg.max_query_bytes, data, size) ? MHD_YES : MHD_NO;
    }
    for (int i = 0; i < QF_COUNT; i++) {
        if (strcmp(key, small_keys[i]) != 0)
            continue;
        if (off + size < SMALL_MAX) {
            memcpy(q->small[i] + off, data, size);
            q->small[i][off + size] = '\0';
            q->small_set[i] = true;
        }
    }
    return MHD_YES;
}

static const char *param(serve_req *r, struct MHD_Connection *c, int i)
{
    if (r->query->small_set[i])
        return r->query->small[i];
    return serve_arg(c, small_keys[i]);
}

static bool truthy(const char *v)
{
    return v && strcmp(v, "true") == 0;
}

/* The query text, spaces trimmed; NULL when absent or blank. */
static const char *query_text(serve_req *r, struct MHD_Connection *c, size_t *len)
{
    const char *t = r->query->q_set ? r->query->q : serve_arg(c, "q");
    if (!t)
        return NULL;
    size_t n = r->query->q_set ? r->query->q_len : strlen(t);
    while (n > 0 && (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')) {
        t++;
        n--;
    }
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\n' || t[n - 1] == '\r'))
        n--;
    *len = n;
    return n ? t : NULL;
}

/* ---- running ---- */

typedef struct qparams {
    const char *db;
    bool read_only, pretty, chunked, csv;
    cts_qepoch epoch;
} qparams;

/* chunked=true: one JSON object per statement, each from an encoder of
 * its own, so a client can read statement by statement. */
typedef struct chunker {
    cts_qenc_opts eo;
    cts_qwrite_fn write;
    void *wctx;
    cts_qenc *enc;
    const cts_qsink *inner;
} chunker;

static int ch_statement_begin(void *ctx, uint32_t id)
{
    chunker *k = ctx;
    if (!k->enc) {
        int rc = cts_qenc_create(&k->eo, k->write, k->wctx, &k->enc);
        if (rc)
            return rc;
        k->inner = cts_qenc_sink(k->enc);
    }
    return k->inner->statement_begin(k->inner->ctx, id);
}

static int ch_series_begin(void *ctx, const cts_qseries *s)
{
    chunker *k = ctx;
    return k->inner->series_begin(k->inner->ctx, s);
}

static int ch_row(void *ctx, const cts_qval *v)
{
    chunker *k = ctx;
    return k->inner->row(k->inner->ctx, v);
}

static int ch_series_end(void *ctx)
{
    chunker *k = ctx;
    return k->inner->series_end(k->inner->ctx);
}

static int ch_statement_end(void *ctx, uint32_t id, const char *error)
{
    chunker *k = ctx;
    int rc = k->inner->statement_end(k->inner->ctx, id, error);
    if (rc == 0)
        rc = cts_qenc_finish(k->enc);
    cts_qenc_destroy(k->enc);
    k->enc = NULL;
    return rc;
}

static int run_query(serve_state *st, const char *text, size_t len, const qparams *p,
                     const cts_qsink *sink, char *err, size_t errcap)
{
    cts_query_opts o;
    cts_query_opts_init(&o);
    o.db = p->db && *p->db ? p->db : NULL;
    o.read_only = p->read_only;
    o.timeout_ms = st->cfg.query_timeout_ms;
    o.max_statement_bytes = st->cfg.max_query_bytes;
    cts_query_error qe;
    memset(&qe, 0, sizeof qe);
    int rc = cts_query_run(st->dbs, text, len, &o, sink, &qe);
    if (rc && qe.msg[0])
        snprintf(err, errcap, "%s", qe.msg);
    return rc;
}

/* Run text (already parsed once) into the writer. */
static int execute(serve_state *st, const char *text, size_t len, const qparams *p,
                   cts_qwrite_fn write, void *wctx, char *err, size_t errcap)
{
    chunker k = {.write = write, .wctx = wctx};
    cts_qenc_opts_init(&k.eo);
    k.eo.format = p->csv ? CTS_QFMT_CSV : CTS_QFMT_JSON;
    k.eo.epoch = p->epoch;
    k.eo.pretty = p->pretty;
    if (p->chunked && !p->csv) {
        cts_qsink sink = {&k,     ch_statement_begin, ch_series_begin,
                          ch_row, ch_series_end,      ch_statement_end};
        int rc = run_query(st, text, len, p, &sink, err, errcap);
        cts_qenc_destroy(k.enc); /* left open by an aborted statement */
        return rc;
    }
    int rc = cts_qenc_create(&k.eo, write, wctx, &k.enc);
    if (rc == 0)
        rc = run_query(st, text, len, p, cts_qenc_sink(k.enc), err, errcap);
    if (rc == 0)
        rc = cts_qenc_finish(k.enc);
    cts_qenc_destroy(k.enc);
    return rc;
}

/* ---- chunked=true: streamed through a pipe by a thread of its own ----
 *
 * The connection thread parses the text (400 if it does not parse), then
 * starts a producer thread that runs the query into the write end of a
 * pipe and answers 200 with the read end; libmicrohttpd streams it out as
 * it comes, so memory stays at the pipe's size whatever the result's.
 * A client that goes away closes the read end: the producer's next write
 * fails (EPIPE; SIGPIPE is ignored) and the query stops. The producer
 * owns copies of everything it needs, since the request may end first;
 * st->producers counts the live ones, and the server waits for them
 * before closing the databases. */
typedef struct producer {
    serve_state *st;
    qparams p;
    char db[SMALL_MAX];
    char *text;
    size_t len;
    int fd;
} producer;

static int fd_write(void *ctx, const void *buf, size_t len)
{
    producer *pr = ctx;
    const char *b = buf;
    while (len > 0) {
        ssize_t n = write(pr->fd, b, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CTS_EIO;
        b += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *producer_main(void *arg)
{
    producer *pr = arg;
    char err[640];
    int64_t t0 = serve_now_ns();
    int rc = execute(pr->st, pr->text, pr->len, &pr->p, fd_write, pr, err, sizeof err);
    serve_metrics_query(&pr->st->metrics, (uint64_t)(serve_now_ns() - t0), rc != 0);
    close(pr->fd);
    atomic_fetch_sub(&pr->st->producers, 1);
    cts_free(pr->text);
    cts_free(pr);
    return NULL;
}

static enum MHD_Result stream_answer(serve_req *r, struct MHD_Connection *c, const char *text,
                                     size_t len, const qparams *p)
{
    int fds[2] = {-1, -1};
    producer *pr = cts_calloc(1, sizeof *pr);
    pthread_t tid;
    if (!pr || !(pr->text = cts_malloc(len + 1)) || pipe2(fds, O_CLOEXEC) != 0)
        goto fail;
    memcpy(pr->text, text, len);
    pr->text[len] = '\0';
    pr->len = len;
    pr->st = r->st;
    pr->p = *p;
    if (p->db) {
        snprintf(pr->db, sizeof pr->db, "%s", p->db);
        pr->p.db = pr->db;
    }
    pr->fd = fds[1];
    atomic_fetch_add(&r->st->producers, 1);
    if (pthread_create(&tid, NULL, producer_main, pr) != 0) {
        atomic_fetch_sub(&r->st->producers, 1);
        goto fail;
    }
    pthread_detach(tid);
    return serve_respond_pipe(r, c, MHD_HTTP_OK, "application/json", fds[0]);
fail:
    if (fds[0] >= 0) {
        close(fds[0]);
        close(fds[1]);
    }
    if (pr)
        cts_free(pr->text);
    cts_free(pr);
    return serve_error(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, "request throttled, out of memory");
}

/* ---- the request ---- */

static enum MHD_Result query_begin(serve_req *r, struct MHD_Connection *c, const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return serve_respond(r, c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                             "Method Not Allowed\n", 19);
    if (!(r->query = cts_calloc(1, sizeof *r->query)))
        return serve_throttled(r, c);
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
        r->query->pp = MHD_create_post_processor(c, 16 * 1024, form_field, r);
    return MHD_YES;
}

static enum MHD_Result query_body(serve_req *r, const char *upload, size_t *upload_size)
{
    serve_qreq *q = r->query;
    q->body_bytes += *upload_size;
    if (serve_body_too_slow(r, q->body_bytes))
        return MHD_NO;
    /* the form's other fields are small: allow some room around q */
    if (q->body_bytes > (uint64_t)r->st->cfg.max_query_bytes * 3 + 65536)
        q->q_too_long = true;
    if (q->pp && !q->q_too_long && MHD_post_process(q->pp, upload, *upload_size) != MHD_YES &&
        !q->q_too_long) {
        r->fail_status = MHD_HTTP_BAD_REQUEST;
        snprintf(r->fail_msg, sizeof r->fail_msg, "malformed form body");
    }
    *upload_size = 0;
    return MHD_YES;
}

static bool want_csv(struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    return a && (strstr(a, "application/csv") || strstr(a, "text/csv"));
}

static enum MHD_Result forbidden(serve_req *r, struct MHD_Connection *c, const char *text,
                                 size_t len, const char *db)
{
    char msg[512];
    snprintf(msg, sizeof msg,
             "error authorizing query: %s not authorized to execute statement '%.*s', requires "
             "READ on %s",
             r->user->name, (int)(len > 200 ? 200 : len), text, db && *db ? db : "any database");
    atomic_fetch_add(&r->st->metrics.write_errors[SERVE_WERR_AUTH], 1);
    return serve_error(r, c, MHD_HTTP_FORBIDDEN, msg);
}

static void set_params(serve_req *r, struct MHD_Connection *c, const char *method, qparams *p)
{
    memset(p, 0, sizeof *p);
    p->db = param(r, c, QF_DB);
    p->pretty = truthy(param(r, c, QF_PRETTY));
    p->chunked = truthy(param(r, c, QF_CHUNKED));
    p->csv = want_csv(c);
    p->read_only = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
                   (r->st->auth_enabled && r->user->priv != SERVE_PRIV_ADMIN);
    const char *e = param(r, c, QF_EPOCH);
    p->epoch = CTS_QEPOCH_RFC3339;
    if (e && *e && cts_qepoch_parse(e, &p->epoch) != 0)
        p->epoch = CTS_QEPOCH_NS; /* InfluxDB: an unknown epoch leaves nanoseconds */
}

static enum MHD_Result query_answer(serve_req *r, struct MHD_Connection *c, const char *method)
{
    size_t len = 0;
    const char *text = query_text(r, c, &len);
    char msg[640];
    if (r->query->q_too_long || len > r->st->cfg.max_query_bytes) {
        snprintf(msg, sizeof msg, "query text longer than %u bytes (--max-query-bytes)",
                 (unsigned)r->st->cfg.max_query_bytes);
        return serve_error(r, c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    }
    if (!text)
        return serve_error(r, c, MHD_HTTP_BAD_REQUEST, "missing required parameter \"q\"");
    qparams p;
    set_params(r, c, method, &p);
    if (r->st->auth_enabled && r->user->priv != SERVE_PRIV_ADMIN && cts_query_writes(text, len)) {
        snprintf(msg, sizeof msg,
                 "error authorizing query: %s not authorized to execute statement '%.*s', "
                 "requires admin privilege",
                 r->user->name, (int)(len > 200 ? 200 : len), text);
        atomic_fetch_add(&r->st->metrics.write_errors[SERVE_WERR_AUTH], 1);
        return serve_error(r, c, MHD_HTTP_FORBIDDEN, msg);
    }
    if (r->st->auth_enabled && !(r->user->priv & SERVE_PRIV_READ))
        return forbidden(r, c, text, len, p.db);
    cts_query_error qe;
    memset(&qe, 0, sizeof qe);
    if (cts_query_check(text, len, &qe) == CTS_EPARSE) {
        serve_metrics_query(&r->st->metrics, 0, true);
        return serve_error(r, c, MHD_HTTP_BAD_REQUEST, qe.msg);
    }
    if (p.chunked && !p.csv)
        return stream_answer(r, c, text, len, &p);
    outbuf out = {.r = r, .max = r->st->cfg.max_result_bytes};
    int64_t t0 = serve_now_ns();
    msg[0] = '\0';
    int rc = execute(r->st, text, len, &p, out_write, &out, msg, sizeof msg);
    serve_metrics_query(&r->st->metrics, (uint64_t)(serve_now_ns() - t0), rc != 0);
    if (out.busy) {
        cts_free(out.p);
        return serve_error(r, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "request throttled: responses in flight exceed --max-inflight-bytes");
    }
    if (out.overflow || rc != 0) {
        cts_free(out.p);
        if (out.overflow)
            snprintf(msg, sizeof msg,
                     "result larger than %llu bytes (--max-result-bytes): narrow the time "
                     "range, add LIMIT or aggregate",
                     (unsigned long long)r->st->cfg.max_result_bytes);
        else if (!msg[0])
            snprintf(msg, sizeof msg, "%s", cts_strerror(rc));
        return serve_error(r, c, out.overflow ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
    }
    return serve_respond_owned(r, c, MHD_HTTP_OK, p.csv ? "application/csv" : "application/json",
                               out.p, out.len);
}

enum MHD_Result serve_query_handle(serve_req *r, struct MHD_Connection *c, const char *method,
                                   const char *upload, size_t *upload_size)
{
    if (!r->started) {
        r->started = true;
        return query_begin(r, c, method);
    }
    if (*upload_size)
        return query_body(r, upload, upload_size);
    if (r->fail_status)
        return serve_error(r, c, r->fail_status, r->fail_msg);
    return query_answer(r, c, method);
}

void serve_query_free(serve_req *r)
{
    if (!r->query)
        return;
    if (r->query->pp)
        MHD_destroy_post_processor(r->query->pp);
    cts_free(r->query->q);
    cts_free(r->query);
    r->query = NULL;
}
