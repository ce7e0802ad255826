/*
 * bench_http.h: the small HTTP/1.1 client behind `cityts bench`'s HTTP
 * ingest and bench/peers' `cityts-loadgen`: one kept-alive TCP connection
 * per client thread, raw sockets, no library. It speaks just what a load
 * generator needs: a request with a Content-Length body, and a response
 * with a Content-Length or chunked body (InfluxDB streams large /query
 * answers chunked).
 *
 * The load: a line-protocol buffer is cut into batches of whole lines; N
 * threads take batches in order from a shared counter and POST each to the
 * same path, so every engine sees the same bodies in the same order,
 * whatever the client count. A batch is counted as failed when its status
 * is not 2xx; the first failure's status and body are kept for the report.
 *
 * Threads: a bench_conn is used by one thread at a time; bench_http_load
 * starts and joins its own threads. Nothing here is global.
 */
#ifndef CTS_BENCH_HTTP_H
#define CTS_BENCH_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_conn {
    int fd; /* -1 when closed */
    char host[64];
    uint16_t port;
    char *buf; /* response bytes read but not consumed */
    size_t len, cap;
} bench_conn;

/* Connect to host:port (a numeric IPv4 address; this is a loopback
 * benchmark). Returns 0 or a negative errno-style cts_err (CTS_EIO,
 * CTS_EINVAL, CTS_ENOMEM). */
int bench_conn_open(bench_conn *c, const char *host, uint16_t port);
void bench_conn_close(bench_conn *c);

/* A response: status and body (cts_malloc'd, NUL-terminated; the caller
 * frees it with cts_free). */
typedef struct bench_resp {
    int status;
    char *body;
    size_t body_len;
} bench_resp;

/*
 * Send one request (method, path with its query string, optional
 * content-type and body) and read the whole response. Reconnects once if
 * the kept-alive connection was closed by the server before the request.
 * Returns 0 (any HTTP status) or CTS_EIO / CTS_EPARSE (malformed response) /
 * CTS_ENOMEM; on failure resp->body is NULL.
 */
int bench_http_request(bench_conn *c, const char *method, const char *path, const char *ctype,
                       const void *body, size_t body_len, bench_resp *resp);

/* Cut buf[0..len) into batches of at most `lines` whole lines: *out
 * receives count + 1 offsets (cts_malloc'd), batch i being
 * buf[off[i]..off[i+1]). Returns the batch count, or CTS_ENOMEM. */
int64_t bench_batches(const char *buf, size_t len, uint32_t lines, size_t **out);

typedef struct bench_load {
    const char *host;
    uint16_t port;
    const char *path; /* e.g. "/write?db=bench&precision=ns" */
    const char *buf;  /* the line protocol */
    const size_t *off;
    size_t nbatches;
    uint32_t clients; /* 1..256 */
} bench_load;

typedef struct bench_load_result {
    double seconds; /* from the first request to the last response */
    uint64_t failed, sent;
    int first_status; /* of the first failed batch; 0 = connection error */
    char first_error[256];
} bench_load_result;

/* Run the load; 0 when it ran (see failed), or CTS_EINVAL / CTS_ENOMEM /
 * CTS_EIO (a thread could not start or connect). */
int bench_http_load(const bench_load *l, bench_load_result *r);

/* Monotonic seconds. */
double bench_now(void);

#endif
