/*
 * serve_http.c: what every request of `cityts serve` shares: the headers
 * InfluxDB 1.x puts on every response, its JSON error bodies, and the
 * request body with its limits.
 *
 * Every response carries X-Influxdb-Version, X-Influxdb-Build, Request-Id
 * and X-Request-Id (the client's X-Request-Id or Request-Id echoed, else
 * one we make), and InfluxDB's CORS headers when the request has an
 * Origin. An error response is {"error":"<msg>"} with the message
 * mirrored (first 1024 bytes) in X-Influxdb-Error, except a 401, which
 * carries WWW-Authenticate instead, as InfluxDB does.
 *
 * The body: chunks are appended to one buffer per request, gunzipped on
 * the way in when Content-Encoding is gzip. Two limits keep memory
 * bounded: max_body_bytes per request (after gunzip, so a small gzip bomb
 * cannot blow up) and max_inflight_bytes over all requests (every byte
 * buffered is reserved in st->inflight_bytes first and given back when
 * the request ends). Past a limit the request is marked failed (413 or
 * 503), the rest of its body is read and thrown away, and the failure is
 * answered once the body has ended (libmicrohttpd cannot answer while a
 * body is arriving); a client that keeps sending far past the limit is
 * disconnected.
 *
 * Slow clients: libmicrohttpd closes a connection idle for --read-timeout
 * seconds; a body that trickles in just fast enough to dodge that (a byte
 * every few seconds) is cut off once it has taken longer than the read
 * timeout and averages under SERVE_MIN_BODY_RATE bytes/s, so a few slow
 * clients cannot hold connection slots for long.
 */
#include "serve.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DISCARD_MAX_FACTOR 4 /* thrown-away bytes tolerated, in units of the body limit */
#define ERROR_HEADER_MAX 1024

int64_t serve_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *serve_arg(struct MHD_Connection *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

int serve_json_escape(const char *msg, size_t len, char *dst, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)msg[i];
        char esc = ch == '"'    ? '"'
                   : ch == '\\' ? '\\'
                   : ch == '\n' ? 'n'
                   : ch == '\r' ? 'r'
                   : ch == '\t' ? 't'
                                : 0;
        size_t need = esc ? 2 : ch < 0x20 ? 6 : 1;
        if (o + need >= cap)
            return -1;
        if (esc) {
            dst[o++] = '\\';
            dst[o++] = esc;
        } else if (ch < 0x20) {
            memcpy(dst + o, "\\u00", 4);
            dst[o + 4] = hex[ch >> 4];
            dst[o + 5] = hex[ch & 15];
            o += 6;
        } else {
            dst[o++] = (char)ch;
        }
    }
    dst[o] = '\0';
    return (int)o;
}

/* Fill the request id: the client's, if it sent a sane one, else ours. */
static void request_id(serve_req *r, struct MHD_Connection *c)
{
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    if (!id || !*id)
        id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Request-Id");
    size_t n = id ? strlen(id) : 0;
    bool sane = n > 0 && n < sizeof r->request_id;
    for (size_t i = 0; sane && i < n; i++)
        sane = id[i] > 0x20 && id[i] < 0x7f;
    if (sane) {
        memcpy(r->request_id, id, n + 1);
        return;
    }
    /* A time-based id in UUID layout: unique within this process. */
    uint64_t seq = atomic_fetch_add(&r->st->request_seq, 1);
    uint64_t t = (uint64_t)r->start_ns;
    snprintf(r->request_id, sizeof r->request_id, "%08x-%04x-1%03x-%04x-%012llx",
             (unsigned)(t & 0xffffffffu), (unsigned)((t >> 32) & 0xffff),
             (unsigned)((t >> 48) & 0xfff), (unsigned)(0x8000 | (seq >> 48 & 0x3fff)),
             (unsigned long long)(seq & 0xffffffffffffull));
}

static void add_common_headers(serve_req *r, struct MHD_Connection *c, struct MHD_Response *resp,
                               const char *content_type)
{
    if (!r->request_id[0])
        request_id(r, c);
    MHD_add_response_header(resp, "X-Influxdb-Version", SERVE_INFLUX_VERSION);
    MHD_add_response_header(resp, "X-Influxdb-Build", SERVE_INFLUX_BUILD);
    MHD_add_response_header(resp, "Request-Id", r->request_id);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    /* CORS, as InfluxDB answers a browser (Grafana's browser access mode) */
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (origin && *origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                                "DELETE, GET, OPTIONS, POST, PUT");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Accept, Accept-Encoding, Authorization, Content-Length, "
                                "Content-Type, X-CSRF-Token, X-HTTP-Method-Override");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "Date, X-InfluxDB-Version, X-InfluxDB-Build");
    }
}

static enum MHD_Result queue(serve_req *r, struct MHD_Connection *c, unsigned status,
                             struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    r->answered = true;
    unsigned cls = status / 100 < 6 ? status / 100 : 5;
    atomic_fetch_add(&r->st->metrics.requests[r->route][cls], 1);
    return rc;
}

enum MHD_Result serve_respond(serve_req *r, struct MHD_Connection *c, unsigned status,
                              const char *content_type, const void *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (resp)
        add_common_headers(r, c, resp, content_type);
    return queue(r, c, status, resp);
}

enum MHD_Result serve_respond_owned(serve_req *r, struct MHD_Connection *c, unsigned status,
                                    const char *content_type, char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(len, body, cts_free);
    if (!resp) {
        cts_free(body);
        return MHD_NO;
    }
    add_common_headers(r, c, resp, content_type);
    return queue(r, c, status, resp);
}

enum MHD_Result serve_respond_pipe(serve_req *r, struct MHD_Connection *c, unsigned status,
                                   const char *content_type, int fd)
{
    struct MHD_Response *resp = MHD_create_response_from_pipe(fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    add_common_headers(r, c, resp, content_type);
    return queue(r, c, status, resp);
}

/* A header value must not hold CR, LF or other control bytes. */
static void header_safe(const char *msg, char *dst, size_t cap)
{
    size_t n = strlen(msg);
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (unsigned char)msg[i] < 0x20 || msg[i] == 0x7f ? ' ' : msg[i];
    dst[n] = '\0';
}

enum MHD_Result serve_error(serve_req *r, struct MHD_Connection *c, unsigned status,
                            const char *msg)
{
    char body[8192];
    size_t n = strlen(msg);
    memcpy(body, "{\"error\":\"", 10);
    int e = serve_json_escape(msg, n, body + 10, sizeof body - 14);
    if (e < 0) /* a message longer than we quote: cut, and say so */
        e = serve_json_escape(msg, 1000, body + 10, sizeof body - 14);
    size_t len = 10 + (size_t)(e < 0 ? 0 : e);
    memcpy(body + len, "\"}\n", 4);
    len += 3;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    add_common_headers(r, c, resp, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"InfluxDB\"");
    } else {
        char hv[ERROR_HEADER_MAX + 1];
        header_safe(msg, hv, sizeof hv);
        MHD_add_response_header(resp, "X-Influxdb-Error", hv);
    }
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE || status == MHD_HTTP_TOO_MANY_REQUESTS)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    return queue(r, c, status, resp);
}

enum MHD_Result serve_throttled(serve_req *r, struct MHD_Connection *c)
{
    atomic_fetch_add(&r->st->metrics.write_errors[SERVE_WERR_THROTTLED], 1);
    return serve_error(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, "request throttled, queue full");
}

/* ---- the body ---- */

static void body_fail(serve_req *r, unsigned status, serve_werr kind, const char *msg)
{
    if (r->fail_status)
        return;
    r->fail_status = status;
    r->fail_kind = kind;
    snprintf(r->fail_msg, sizeof r->fail_msg, "%s", msg);
}

bool serve_reserve(serve_req *r, size_t more)
{
    uint64_t limit = r->st->cfg.max_inflight_bytes;
    uint64_t cur = atomic_load(&r->st->inflight_bytes);
    do {
        if (cur + more > limit)
            return false;
    } while (!atomic_compare_exchange_weak(&r->st->inflight_bytes, &cur, cur + more));
    r->reserved += more;
    return true;
}

static bool reserve(serve_req *r, size_t more)
{
    return serve_reserve(r, more);
}

/* ---- the pool ---- */

void serve_pool_init(serve_pool *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
}

void serve_pool_fini(serve_pool *p)
{
    for (int i = 0; i < p->nbufs; i++)
        cts_free(p->bufs[i]);
    for (int i = 0; i < p->nreaders; i++)
        cts_lp_reader_destroy(p->readers[i]);
    p->nbufs = p->nreaders = 0;
    pthread_mutex_destroy(&p->mu);
}

cts_lp_reader *serve_pool_reader(serve_pool *p, cts_lp_precision prec, int64_t now_ns)
{
    cts_lp_reader *r = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->nreaders > 0)
        r = p->readers[--p->nreaders];
    pthread_mutex_unlock(&p->mu);
    if (r && cts_lp_reader_reset(r, prec, now_ns) == 0)
        return r;
    cts_lp_reader_destroy(r);
    cts_lp_opts o;
    cts_lp_opts_init(&o);
    o.precision = prec;
    o.now_ns = now_ns;
    r = NULL;
    return cts_lp_reader_create(&o, &r) == 0 ? r : NULL;
}

void serve_pool_put_reader(serve_pool *p, cts_lp_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->nreaders < SERVE_POOL_MAX) {
        p->readers[p->nreaders++] = r;
        r = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    cts_lp_reader_destroy(r);
}

/* Take a pooled buffer for a request that has none yet: the smallest that
 * holds `need` bytes, else the largest (it will grow). A pooled buffer
 * more than 4 times too large stays in the pool: its whole capacity would
 * count against the in-flight budget. */
static void pool_take_buf(serve_req *r, size_t need)
{
    serve_pool *p = &r->st->pool;
    char *b = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&p->mu);
    int best = -1;
    for (int i = 0; i < p->nbufs; i++) {
        bool fits = p->caps[i] >= need, best_fits = best >= 0 && p->caps[best] >= need;
        if (best < 0 || (fits && (!best_fits || p->caps[i] < p->caps[best])) ||
            (!fits && !best_fits && p->caps[i] > p->caps[best]))
            best = i;
    }
    if (best >= 0 && p->caps[best] / 4 <= need + 65536) {
        b = p->bufs[best];
        cap = p->caps[best];
        p->nbufs--;
        p->bufs[best] = p->bufs[p->nbufs];
        p->caps[best] = p->caps[p->nbufs];
    }
    pthread_mutex_unlock(&p->mu);
    if (!b)
        return;
    if (!reserve(r, cap)) { /* over budget: the buffer goes back, the caller fails */
        pthread_mutex_lock(&p->mu);
        if (p->nbufs < SERVE_POOL_MAX) {
            p->bufs[p->nbufs] = b;
            p->caps[p->nbufs++] = cap;
            b = NULL;
        }
        pthread_mutex_unlock(&p->mu);
        cts_free(b);
        return;
    }
    r->body = b;
    r->cap = cap;
}

static void pool_put_buf(serve_req *r)
{
    serve_pool *p = &r->st->pool;
    char *b = r->body;
    if (b && r->cap <= SERVE_POOL_BUF_MAX) {
        pthread_mutex_lock(&p->mu);
        if (p->nbufs < SERVE_POOL_MAX) {
            p->bufs[p->nbufs] = b;
            p->caps[p->nbufs++] = r->cap;
            b = NULL;
        }
        pthread_mutex_unlock(&p->mu);
    }
    cts_free(b);
    r->body = NULL;
}

/* Make room for `need` more bytes; false with the failure set. `exact`:
 * the body's whole length is known, allocate just that. */
static bool body_room(serve_req *r, size_t need, bool exact)
{
    if (r->len + need <= r->cap)
        return true;
    uint64_t max = r->st->cfg.max_body_bytes;
    if (r->len + need > max) {
        body_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, SERVE_WERR_TOO_LARGE, "Request Entity Too Large");
        return false;
    }
    if (!r->body)
        pool_take_buf(r, r->len + need);
    if (r->len + need <= r->cap)
        return true;
    size_t ncap = exact ? 0 : r->cap * 2 > 65536 ? r->cap * 2 : 65536;
    if (ncap < r->len + need)
        ncap = r->len + need;
    if (ncap > max)
        ncap = (size_t)max;
    if (!reserve(r, ncap - r->cap)) {
        body_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, SERVE_WERR_THROTTLED,
                  "request throttled, queue full");
        return false;
    }
    char *nb = cts_realloc(r->body, ncap);
    if (!nb) {
        body_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, SERVE_WERR_THROTTLED,
                  "request throttled, out of memory");
        return false;
    }
    r->body = nb;
    r->cap = ncap;
    return true;
}

bool serve_body_presize(serve_req *r, uint64_t len)
{
    return len == 0 || body_room(r, (size_t)len, true);
}

static int body_discard(serve_req *r, size_t len)
{
    r->discarded += len;
    uint64_t max = r->st->cfg.max_body_bytes * DISCARD_MAX_FACTOR + (1u << 20);
    return r->discarded > max ? -1 : 0;
}

static void gunzip_chunk(serve_req *r, const char *data, size_t len)
{
    r->z.next_in = (Bytef *)(uintptr_t)data;
    r->z.avail_in = (uInt)len;
    while (r->z.avail_in > 0 && !r->fail_status) {
        if (r->cap == r->len) {
            uint64_t left = r->st->cfg.max_body_bytes - r->len;
            if (!body_room(r, left == 0 ? 1 : left < 65536 ? (size_t)left : 65536, false))
                return;
        }
        r->z_open = true; /* bytes of a gzip member are in: its end must come */
        r->z.next_out = (Bytef *)r->body + r->len;
        r->z.avail_out = (uInt)(r->cap - r->len);
        int zrc = inflate(&r->z, Z_NO_FLUSH);
        r->len = r->cap - r->z.avail_out;
        if (zrc == Z_STREAM_END) {
            /* another gzip member may follow, as gzip(1) concatenates them */
            r->z_open = false;
            if (inflateReset(&r->z) != Z_OK)
                body_fail(r, 400, SERVE_WERR_BAD_REQUEST, "gzip: invalid header");
        } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            body_fail(r, 400, SERVE_WERR_BAD_REQUEST,
                      r->z.total_out == 0 ? "gzip: invalid header" : "unexpected EOF");
        }
    }
}

bool serve_body_too_slow(const serve_req *r, uint64_t received)
{
    int64_t elapsed_ns = serve_now_ns() - r->start_ns;
    int64_t grace_ns = (int64_t)r->st->cfg.read_timeout_s * 1000000000;
    if (elapsed_ns <= grace_ns)
        return false;
    return (double)received < SERVE_MIN_BODY_RATE * ((double)elapsed_ns / 1e9);
}

int serve_body_append(serve_req *r, const char *data, size_t len)
{
    r->received += len;
    if (serve_body_too_slow(r, r->received))
        return -1;
    if (r->fail_status)
        return body_discard(r, len);
    if (r->z_ready) {
        gunzip_chunk(r, data, len);
    } else if (body_room(r, len, false)) {
        memcpy(r->body + r->len, data, len);
        r->len += len;
    }
    return 0;
}

void serve_body_finish(serve_req *r)
{
    if (r->z_ready && r->z_open && !r->fail_status)
        body_fail(r, 400, SERVE_WERR_BAD_REQUEST, "unexpected EOF");
}

bool serve_body_begin(serve_req *r, struct MHD_Connection *c)
{
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    if (!enc || strcmp(enc, "") == 0 || strcmp(enc, "identity") == 0)
        return true;
    if (strcmp(enc, "gzip") != 0) {
        body_fail(r, 415, SERVE_WERR_BAD_REQUEST, "unsupported Content-Encoding (use gzip)");
        return false;
    }
    memset(&r->z, 0, sizeof r->z);
    if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK) {
        body_fail(r, 503, SERVE_WERR_THROTTLED, "request throttled, out of memory");
        return false;
    }
    r->z_ready = true;
    return true;
}

void serve_body_free(serve_req *r)
{
    if (r->z_ready)
        inflateEnd(&r->z);
    r->z_ready = false;
    pool_put_buf(r);
    r->len = r->cap = 0;
    if (r->reserved)
        atomic_fetch_sub(&r->st->inflight_bytes, r->reserved);
    r->reserved = 0;
}
