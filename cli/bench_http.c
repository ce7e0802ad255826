/*
 * bench_http.c: a minimal HTTP/1.1 client for load generation (contract in
 * bench_http.h). Requests are written with one writev (headers + body, no
 * copy of the body); responses are read into a per-connection buffer that
 * keeps any bytes past the current response (there are none with a
 * request-response client, but a server may send them).
 *
 * Response parsing: the status line, then headers up to the blank line;
 * only Content-Length, Transfer-Encoding: chunked and Connection: close
 * matter. A response with neither length nor chunking (and not 204/304)
 * is read to the end of the connection.
 */
#include "bench_http.h"

#include "cts_storage.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(bench_conn *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->port)};
    if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1)
        return CTS_EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return CTS_EIO;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return CTS_EIO;
    }
    c->fd = fd;
    c->len = 0;
    return 0;
}

int bench_conn_open(bench_conn *c, const char *host, uint16_t port)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (!host || strlen(host) >= sizeof c->host || port == 0)
        return CTS_EINVAL;
    memcpy(c->host, host, strlen(host) + 1);
    c->port = port;
    c->cap = 64 * 1024;
    if (!(c->buf = cts_malloc(c->cap)))
        return CTS_ENOMEM;
    int rc = dial(c);
    if (rc) {
        cts_free(c->buf);
        c->buf = NULL;
    }
    return rc;
}

void bench_conn_close(bench_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    cts_free(c->buf);
    c->buf = NULL;
}

static int send_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return CTS_EIO;
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* Read more bytes into the connection buffer; 0 at EOF, > 0 read, < 0
 * error. */
static ssize_t fill(bench_conn *c)
{
    if (c->len == c->cap) {
        char *n = cts_realloc(c->buf, c->cap * 2);
        if (!n)
            return CTS_ENOMEM;
        c->buf = n;
        c->cap *= 2;
    }
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return CTS_EIO;
        c->len += (size_t)r;
        return r;
    }
}

typedef struct head {
    int status;
    size_t hdr_len; /* bytes of status line and headers, blank line included */
    int64_t length; /* -1: none given */
    bool chunked, close;
} head;

static bool header_is(const char *line, size_t len, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    const char *v = line + n + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    *val = v;
    return true;
}

static int parse_head(const char *p, size_t hdr_len, head *h)
{
    if (hdr_len < 12 || memcmp(p, "HTTP/1.", 7) != 0)
        return CTS_EPARSE;
    h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (h->status < 100 || h->status > 599)
        return CTS_EPARSE;
    h->length = -1;
    const char *line = memchr(p, '\n', hdr_len);
    while (line && (size_t)(++line - p) < hdr_len) {
        const char *eol = memchr(line, '\n', hdr_len - (size_t)(line - p));
        size_t len = eol ? (size_t)(eol - line) : 0;
        const char *v;
        if (header_is(line, len, "content-length", &v))
            h->length = strtoll(v, NULL, 10);
        else if (header_is(line, len, "transfer-encoding", &v))
            h->chunked = strncasecmp(v, "chunked", 7) == 0;
        else if (header_is(line, len, "connection", &v))
            h->close = strncasecmp(v, "close", 5) == 0;
        line = eol;
    }
    return 0;
}

/* Read until the header block is complete and parse it. */
static int read_head(bench_conn *c, head *h)
{
    for (;;) {
        char *end = c->len >= 4 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            memset(h, 0, sizeof *h);
            h->hdr_len = (size_t)(end - c->buf) + 4;
            return parse_head(c->buf, h->hdr_len, h);
        }
        ssize_t r = fill(c);
        if (r <= 0)
            return r < 0 ? (int)r : CTS_EIO;
    }
}

/* Make sure c->buf holds at least `need` bytes (reading more). */
static int want(bench_conn *c, size_t need)
{
    while (c->len < need) {
        if (need > c->cap) {
            size_t cap = c->cap;
            while (cap < need)
                cap *= 2;
            char *n = cts_realloc(c->buf, cap);
            if (!n)
                return CTS_ENOMEM;
            c->buf = n;
            c->cap = cap;
        }
        ssize_t r = fill(c);
        if (r <= 0)
            return r < 0 ? (int)r : CTS_EIO;
    }
    return 0;
}

/* Decode a chunked body starting at c->buf[pos] in place: the decoded
 * bytes end up at c->buf[pos..pos+*out_len); *consumed is how far the
 * encoded body reached. */
static int read_chunked(bench_conn *c, size_t pos, size_t *out_len, size_t *consumed)
{
    size_t dst = pos, src = pos;
    for (;;) {
        char *eol;
        int rc;
        while (!(eol = memmem(c->buf + src, c->len - src, "\r\n", 2)))
            if ((rc = want(c, c->len + 1)))
                return rc;
        char *endp;
        unsigned long long n = strtoull(c->buf + src, &endp, 16);
        if (endp == c->buf + src || n > (1ull << 31))
            return CTS_EPARSE;
        src = (size_t)(eol - c->buf) + 2;
        if ((rc = want(c, src + n + 2)))
            return rc;
        memmove(c->buf + dst, c->buf + src, n);
        dst += n;
        src += n + 2;
        if (n == 0) { /* no trailers expected: the last chunk ends the body */
            *out_len = dst - pos;
            *consumed = src;
            return 0;
        }
    }
}

/* Read the body that follows head h; copy it into resp. */
static int read_body(bench_conn *c, const head *h, bench_resp *resp)
{
    size_t pos = h->hdr_len, blen = 0, end;
    int rc = 0;
    if (h->chunked) {
        rc = read_chunked(c, pos, &blen, &end);
    } else if (h->length >= 0 || h->status == 204 || h->status == 304) {
        blen = h->length > 0 ? (size_t)h->length : 0;
        end = pos + blen;
        rc = want(c, end);
    } else {
        ssize_t r;
        while ((r = fill(c)) > 0)
            ;
        rc = r < 0 ? (int)r : 0;
        blen = c->len - pos;
        end = c->len;
    }
    if (rc)
        return rc;
    if (!(resp->body = cts_malloc(blen + 1)))
        return CTS_ENOMEM;
    memcpy(resp->body, c->buf + pos, blen);
    resp->body[blen] = '\0';
    resp->body_len = blen;
    resp->status = h->status;
    memmove(c->buf, c->buf + end, c->len - end);
    c->len -= end;
    return 0;
}

static int exchange(bench_conn *c, const char *method, const char *path, const char *ctype,
                    const void *body, size_t body_len, bench_resp *resp)
{
    char hdr[2048];
    int n = snprintf(hdr, sizeof hdr,
                     "%s %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: cityts-bench\r\n"
                     "Content-Length: %zu\r\n%s%s%s\r\n",
                     method, path, c->host, c->port, body_len, ctype ? "Content-Type: " : "",
                     ctype ? ctype : "", ctype ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof hdr)
        return CTS_EINVAL;
    struct iovec iov[2] = {{hdr, (size_t)n}, {(void *)(uintptr_t)body, body_len}};
    int rc = send_all(c->fd, iov, body_len ? 2 : 1);
    head h;
    if (rc == 0)
        rc = read_head(c, &h);
    if (rc == 0)
        rc = read_body(c, &h, resp);
    if (rc == 0 && h.close) {
        close(c->fd);
        c->fd = -1;
    }
    return rc;
}

int bench_http_request(bench_conn *c, const char *method, const char *path, const char *ctype,
                       const void *body, size_t body_len, bench_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    int rc = c->fd >= 0 ? exchange(c, method, path, ctype, body, body_len, resp) : CTS_EIO;
    if (rc == CTS_EIO) { /* the server closed a kept-alive connection: once more */
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        rc = dial(c);
        if (rc == 0)
            rc = exchange(c, method, path, ctype, body, body_len, resp);
    }
    if (rc) {
        cts_free(resp->body);
        resp->body = NULL;
    }
    return rc;
}

int64_t bench_batches(const char *buf, size_t len, uint32_t lines, size_t **out)
{
    size_t cap = 1024, n = 0, pos = 0;
    size_t *off = cts_malloc(cap * sizeof *off);
    if (!off || lines == 0) {
        cts_free(off);
        return lines ? CTS_ENOMEM : CTS_EINVAL;
    }
    off[n++] = 0;
    while (pos < len) {
        for (uint32_t i = 0; i < lines && pos < len; i++) {
            const char *nl = memchr(buf + pos, '\n', len - pos);
            pos = nl ? (size_t)(nl - buf) + 1 : len;
        }
        if (n == cap) {
            size_t *m = cts_realloc(off, cap * 2 * sizeof *off);
            if (!m) {
                cts_free(off);
                return CTS_ENOMEM;
            }
            off = m;
            cap *= 2;
        }
        off[n++] = pos;
    }
    *out = off;
    return (int64_t)n - 1;
}

typedef struct load_state {
    const bench_load *l;
    atomic_size_t next;
    atomic_uint_fast64_t failed, sent;
    atomic_int first_claimed;
    bench_load_result *r;
} load_state;

static void note_failure(load_state *s, int status, const char *body, int rc)
{
    atomic_fetch_add(&s->failed, 1);
    if (atomic_exchange(&s->first_claimed, 1))
        return;
    s->r->first_status = status;
    if (body)
        snprintf(s->r->first_error, sizeof s->r->first_error, "%.200s", body);
    else
        snprintf(s->r->first_error, sizeof s->r->first_error, "%s", cts_strerror(rc));
}

static void *load_thread(void *arg)
{
    load_state *s = arg;
    const bench_load *l = s->l;
    bench_conn c;
    int rc = bench_conn_open(&c, l->host, l->port);
    for (size_t i; (i = atomic_fetch_add(&s->next, 1)) < l->nbatches;) {
        bench_resp resp = {0};
        if (rc == 0 || c.buf)
            rc = bench_http_request(&c, "POST", l->path, "text/plain; charset=utf-8",
                                    l->buf + l->off[i], l->off[i + 1] - l->off[i], &resp);
        atomic_fetch_add(&s->sent, 1);
        if (rc || resp.status / 100 != 2)
            note_failure(s, rc ? 0 : resp.status, resp.body, rc);
        cts_free(resp.body);
    }
    if (c.buf)
        bench_conn_close(&c);
    return NULL;
}

int bench_http_load(const bench_load *l, bench_load_result *r)
{
    memset(r, 0, sizeof *r);
    if (!l || l->clients < 1 || l->clients > 256 || !l->path || !l->buf || !l->off)
        return CTS_EINVAL;
    load_state s = {.l = l, .r = r};
    pthread_t th[256];
    uint32_t started = 0;
    double t0 = bench_now();
    for (; started < l->clients; started++)
        if (pthread_create(&th[started], NULL, load_thread, &s) != 0)
            break;
    for (uint32_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    r->seconds = bench_now() - t0;
    r->failed = atomic_load(&s.failed);
    r->sent = atomic_load(&s.sent);
    return started == l->clients ? 0 : CTS_EIO;
}
