/*
 * serve.h: what the files of `cityts serve` share (cli/serve*.c).
 *
 * `cityts serve` is an HTTP front end compatible with InfluxDB 1.x's
 * /write, /api/v2/write, /query, /ping, plus /health and /metrics. HTTP
 * itself (parsing, keep-alive, chunked bodies, timeouts, connection
 * limits) is libmicrohttpd's; these files only route requests and turn
 * them into calls on the engine and the query layer.
 *
 *   serve.c          options, listening sockets, the daemon, signals,
 *                    graceful stop, routing, /ping and /health
 *   serve_http.c     per-request state, common headers, JSON errors,
 *                    the request body (gzip, limits, in-flight budget)
 *   serve_write.c    /write and /api/v2/write
 *   serve_query.c    /query
 *   serve_auth.c     the credentials file and request authentication
 *   serve_metrics.c  counters and the Prometheus text of /metrics
 *
 * Threads: libmicrohttpd runs one thread per connection; every handler
 * runs on its connection's thread and may block (a durable write, a
 * query). Shared state is the serve_state below: immutable after start
 * except its atomics. Nothing here is global: signals are taken with
 * sigwait() on the main thread.
 *
 * Request lifecycle (one serve_req per request, freed when libmicrohttpd
 * reports the request completed):
 *
 *   headers --route, authenticate, check parameters--> (error response)
 *           --body chunks--> buffer (gunzip, limits) --end of body-->
 *           handler --> response (queued once)
 */
#ifndef CTS_SERVE_H
#define CTS_SERVE_H

#include "cts_query.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

/* The InfluxDB version we answer as: clients and Grafana read it from
 * X-Influxdb-Version to pick their protocol. */
#define SERVE_INFLUX_VERSION "1.8.10"
#define SERVE_INFLUX_BUILD "OSS"

/* ------------------------------------------------------------------------
 * Configuration (command-line options).
 * ------------------------------------------------------------------------ */
typedef struct serve_cfg {
    const char *data;
    const char *listen; /* host:port; NULL when only --unix */
    const char *unix_path;
    const char *auth_file;
    uint64_t max_body_bytes;     /* one request body, after gunzip */
    uint64_t max_inflight_bytes; /* request bodies and /query responses held at once */
    uint64_t max_result_bytes;   /* one /query response */
    uint32_t max_query_bytes;    /* query text */
    uint32_t query_timeout_ms;   /* 0: none */
    unsigned max_connections;
    uint32_t max_series;      /* per database; 0: the engine's default */
    unsigned read_timeout_s;  /* idle time before a connection is closed */
    unsigned drain_timeout_s; /* how long a stop waits for in-flight requests */
    cts_fsync_policy fsync;
} serve_cfg;

void serve_cfg_init(serve_cfg *cfg);

/* ------------------------------------------------------------------------
 * Authentication (serve_auth.c).
 * ------------------------------------------------------------------------ */
typedef enum serve_priv {
    SERVE_PRIV_NONE = 0,
    SERVE_PRIV_READ = 1,  /* SELECT and SHOW */
    SERVE_PRIV_WRITE = 2, /* /write, /api/v2/write */
    SERVE_PRIV_ALL = 3,   /* read and write */
    SERVE_PRIV_ADMIN = 7, /* all, and CREATE / DROP / DELETE */
} serve_priv;

typedef struct serve_user {
    char name[65];
    uint8_t hash[32]; /* SHA-256 of the password */
    serve_priv priv;
} serve_user;

typedef struct serve_auth {
    serve_user *users;
    size_t count;
} serve_auth;

/* Load the credentials file (format in README.md and serve_auth.c).
 * Returns 0, or -1 with errmsg set ("FILE:LINE: why"). */
int serve_auth_load(const char *path, serve_auth *auth, char *errmsg, size_t cap);
void serve_auth_free(serve_auth *auth);

/* SHA-256 of data[0..len) into out[32]. */
void serve_sha256(const void *data, size_t len, uint8_t out[32]);

/* The outcome of authenticating one request. */
typedef struct serve_authn {
    const serve_user *user; /* NULL when failed */
    unsigned status;        /* 0 on success, else 401 */
    const char *error;      /* InfluxDB's words, for the 401 */
} serve_authn;

/* Authenticate a request from u/p parameters, `Authorization: Basic`,
 * or `Authorization: Token user:password`, as InfluxDB 1.x does. */
void serve_auth_check(const serve_auth *auth, struct MHD_Connection *c, serve_authn *out);

/* ------------------------------------------------------------------------
 * Metrics (serve_metrics.c). All counters are atomics, updated from any
 * connection thread.
 * ------------------------------------------------------------------------ */
typedef enum serve_route {
    SERVE_R_WRITE = 0,
    SERVE_R_WRITE_V2,
    SERVE_R_QUERY,
    SERVE_R_PING,
    SERVE_R_HEALTH,
    SERVE_R_METRICS,
    SERVE_R_OTHER,
    SERVE_R_COUNT
} serve_route;

typedef enum serve_werr {
    SERVE_WERR_PARSE = 0,   /* lines that did not parse */
    SERVE_WERR_REJECTED,    /* points refused: type conflict, limits */
    SERVE_WERR_NOT_FOUND,   /* requests for a missing database */
    SERVE_WERR_TOO_LARGE,   /* 413 */
    SERVE_WERR_THROTTLED,   /* 503: in-flight budget exhausted */
    SERVE_WERR_AUTH,        /* 401 and 403 */
    SERVE_WERR_INTERNAL,    /* 5xx from the engine */
    SERVE_WERR_BAD_REQUEST, /* other 400s: parameters, gzip */
    SERVE_WERR_COUNT
} serve_werr;

#define SERVE_LAT_BUCKETS 12

typedef struct serve_metrics {
    atomic_uint_fast64_t requests[SERVE_R_COUNT][6]; /* by route and status class 1xx..5xx */
    atomic_uint_fast64_t write_bytes;                /* request bodies, after gunzip */
    atomic_uint_fast64_t points_written, values_written, series_created;
    atomic_uint_fast64_t write_errors[SERVE_WERR_COUNT];
    atomic_uint_fast64_t queries, query_errors;
    atomic_uint_fast64_t query_lat[SERVE_LAT_BUCKETS]; /* cumulative buckets */
    atomic_uint_fast64_t query_lat_count, query_lat_sum_us;
    atomic_uint_fast64_t auth_failures;
} serve_metrics;

/* Record a query's latency in the histogram. */
void serve_metrics_query(serve_metrics *m, uint64_t elapsed_ns, bool failed);

/* ------------------------------------------------------------------------
 * Server state and requests.
 * ------------------------------------------------------------------------ */
/* Request bodies and line-protocol readers are reused across requests
 * (serve_http.c): allocating and freeing half a megabyte per request makes
 * the allocator hand pages back to the kernel and fault them in again,
 * which costs more than parsing. At most SERVE_POOL_MAX of each are kept;
 * a kept buffer is at most SERVE_POOL_BUF_MAX bytes. */
#define SERVE_POOL_MAX 16
#define SERVE_POOL_BUF_MAX (4u << 20)

typedef struct serve_pool {
    pthread_mutex_t mu;
    char *bufs[SERVE_POOL_MAX];
    size_t caps[SERVE_POOL_MAX];
    int nbufs;
    cts_lp_reader *readers[SERVE_POOL_MAX];
    int nreaders;
} serve_pool;

typedef struct serve_state {
    serve_cfg cfg;
    cts_dbset *dbs;
    serve_auth auth; /* count 0: authentication disabled */
    bool auth_enabled;
    serve_metrics metrics;
    atomic_uint_fast64_t inflight_bytes; /* bytes of bodies and responses held now */
    atomic_int active_requests;
    atomic_uint_fast64_t request_seq;
    atomic_bool stopping;
    atomic_int producers; /* threads streaming chunked /query results */
    int64_t start_ns;
    serve_pool pool;
} serve_state;

void serve_pool_init(serve_pool *p);
void serve_pool_fini(serve_pool *p);
/* A reader reset for precision p and now_ns, from the pool or new;
 * NULL when out of memory. */
cts_lp_reader *serve_pool_reader(serve_pool *p, cts_lp_precision prec, int64_t now_ns);
void serve_pool_put_reader(serve_pool *p, cts_lp_reader *r);

/* Render /metrics into a new buffer (cts_malloc; caller frees). */
int serve_metrics_render(serve_state *st, char **out, size_t *len);

typedef struct serve_req {
    serve_state *st;
    serve_route route;
    bool started;  /* headers seen and checked */
    bool answered; /* a response was queued */
    const serve_user *user;
    char request_id[48];
    int64_t start_ns;
    /* The body, decompressed; `reserved` bytes of it are counted in
     * st->inflight_bytes. */
    char *body;
    size_t len, cap, reserved;
    bool z_ready; /* Content-Encoding: gzip */
    bool z_open;  /* inside a gzip member */
    z_stream z;
    /* A failure met while the body arrived: answered at its end. */
    unsigned fail_status;
    serve_werr fail_kind;
    char fail_msg[256];
    uint64_t discarded; /* body bytes thrown away after a failure */
    uint64_t received;  /* body bytes received (before gunzip) */
    /* /write: the database, acquired for the request, and the precision. */
    cts_db *db;
    cts_lp_precision precision;
    /* /query: its parameters and POST form (serve_query.c). */
    struct serve_qreq *query;
} serve_req;

int64_t serve_now_ns(void);

/* serve_http.c: answering. Each queues exactly one response; they return
 * what the access handler returns. `body` is copied. */
enum MHD_Result serve_respond(serve_req *r, struct MHD_Connection *c, unsigned status,
                              const char *content_type, const void *body, size_t len);
/* Like serve_respond, taking ownership of a cts_malloc'd body. */
enum MHD_Result serve_respond_owned(serve_req *r, struct MHD_Connection *c, unsigned status,
                                    const char *content_type, char *body, size_t len);
/* Stream the response from the read end of a pipe (closed when done). */
enum MHD_Result serve_respond_pipe(serve_req *r, struct MHD_Connection *c, unsigned status,
                                   const char *content_type, int fd);
/* {"error":"<msg>"} with X-Influxdb-Error (or WWW-Authenticate for 401). */
enum MHD_Result serve_error(serve_req *r, struct MHD_Connection *c, unsigned status,
                            const char *msg);
/* 503 with Retry-After. */
enum MHD_Result serve_throttled(serve_req *r, struct MHD_Connection *c);

/* Append msg as a JSON string body (without quotes) to dst[0..cap);
 * returns the length written or -1 when it does not fit. */
int serve_json_escape(const char *msg, size_t len, char *dst, size_t cap);

/* A body slower than this on average (bytes/s), once it has taken more
 * than the read timeout, is cut off (the connection closed). */
#define SERVE_MIN_BODY_RATE 16384.0

/* True when a body that has delivered `received` bytes so far is too
 * slow by the rule above. */
bool serve_body_too_slow(const serve_req *r, uint64_t received);

/* Reserve `more` bytes of the in-flight budget for the request (given
 * back when it ends); false past --max-inflight-bytes. */
bool serve_reserve(serve_req *r, size_t more);

/* Take one chunk of the request body: gunzip it if needed, append it
 * within the body and in-flight limits; past a limit, remember the
 * failure (fail_status) and discard the rest. Returns 0, or -1 when the
 * connection must be closed (a client that keeps sending far past the
 * limit). */
int serve_body_append(serve_req *r, const char *data, size_t len);
/* End of the body: check that a gzip stream ended. */
void serve_body_finish(serve_req *r);
/* Size the request's body for `len` bytes ahead of its arrival (a known
 * Content-Length): false, with the failure set, past a limit. */
bool serve_body_presize(serve_req *r, uint64_t len);
/* Release the body and its reservation. */
void serve_body_free(serve_req *r);
/* Set up the body for the request's Content-Encoding; false (and a
 * failure set) for an encoding we cannot read. */
bool serve_body_begin(serve_req *r, struct MHD_Connection *c);

/* A URL parameter; NULL when absent. */
const char *serve_arg(struct MHD_Connection *c, const char *key);

/* The handlers. Each is called on every access-handler call of its
 * request (upload_data as libmicrohttpd gives it). */
enum MHD_Result serve_write_handle(serve_req *r, struct MHD_Connection *c, const char *method,
                                   const char *upload, size_t *upload_size);
enum MHD_Result serve_query_handle(serve_req *r, struct MHD_Connection *c, const char *method,
                                   const char *upload, size_t *upload_size);
/* Free what a query request holds (post processor, form fields). */
void serve_query_free(serve_req *r);

#endif
