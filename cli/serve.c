/*
 * serve.c: `cityts serve`, the InfluxDB 1.x compatible HTTP server: its
 * options, listening sockets, the libmicrohttpd daemon, routing, /ping,
 * /health, /metrics, and the graceful stop.
 *
 * Threads: libmicrohttpd accepts on its own thread and runs each
 * connection on a thread of its own (at most --max-connections; past it
 * new connections are refused), so a handler may block on a durable
 * write or a query without holding up anyone else. SIGINT and SIGTERM are
 * blocked in every thread and taken by the main thread with sigwait(), so
 * no signal handler and no global flag exist.
 *
 * Stop sequence (first SIGINT/SIGTERM):
 *   RUNNING --signal--> DRAINING: stop accepting (MHD_quiesce_daemon),
 *     answer new requests on kept-alive connections with 503, wait for
 *     in-flight requests to end (at most --drain-timeout seconds; a second
 *     signal cuts the wait short)
 *   --> STOPPED: close every connection (MHD_stop_daemon), close the data
 *     directory (cts_dbset_close flushes every database), exit 0, or 1 if
 *     a flush failed.
 *
 * Routing: /write, /api/v2/write, /query, /ping, /health, /metrics; any
 * other path is 404 "404 page not found" and a known path with the wrong
 * method is 405, as Go's router answers. When --auth is given, every
 * request but /ping, /health and OPTIONS must authenticate (401 otherwise).
 */
#include "cli.h"
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_DAEMONS 2

void serve_cfg_init(serve_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = NULL;
    cfg->max_body_bytes = 25000000; /* InfluxDB's max-body-size */
    cfg->max_inflight_bytes = 256ull << 20;
    cfg->max_result_bytes = 64ull << 20;
    cfg->max_query_bytes = 1u << 20;
    cfg->query_timeout_ms = 60000;
    cfg->max_connections = 256;
    cfg->read_timeout_s = 30;
    cfg->drain_timeout_s = 30;
    cfg->fsync = CTS_DB_FSYNC_INTERVAL;
}

/* ---- options ---- */

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return cli_usage_error("serve", "%s: expected an integer from %llu to %llu, got '%s'", opt,
                               (unsigned long long)min, (unsigned long long)max, s);
    *out = v;
    return 0;
}

static int parse_fsync(const char *s, cts_fsync_policy *p)
{
    if (strcmp(s, "always") == 0)
        *p = CTS_DB_FSYNC_ALWAYS;
    else if (strcmp(s, "interval") == 0)
        *p = CTS_DB_FSYNC_INTERVAL;
    else if (strcmp(s, "never") == 0)
        *p = CTS_DB_FSYNC_NEVER;
    else
        return cli_usage_error("serve", "--fsync: expected always, interval or never, got '%s'", s);
    return 0;
}

static int numeric_option(serve_cfg *cfg, int c, const char *arg)
{
    uint64_t v = 0;
    int rc;
    switch (c) {
    case 'b':
        rc = parse_u64("--max-body-bytes", arg, 1, 1ull << 40, &cfg->max_body_bytes);
        break;
    case 'I':
        rc = parse_u64("--max-inflight-bytes", arg, 1, 1ull << 44, &cfg->max_inflight_bytes);
        break;
    case 'R':
        rc = parse_u64("--max-result-bytes", arg, 1024, 1ull << 40, &cfg->max_result_bytes);
        break;
    case 'Q':
        rc = parse_u64("--max-query-bytes", arg, 16, 1u << 30, &v);
        cfg->max_query_bytes = (uint32_t)v;
        break;
    case 'T':
        rc = parse_u64("--query-timeout", arg, 0, 86400, &v);
        cfg->query_timeout_ms = (uint32_t)(v * 1000);
        break;
    case 'c':
        rc = parse_u64("--max-connections", arg, 1, 100000, &v);
        cfg->max_connections = (unsigned)v;
        break;
    case 'S':
        rc = parse_u64("--max-series", arg, 1, 100000000, &v);
        cfg->max_series = (uint32_t)v;
        break;
    case 't':
        rc = parse_u64("--read-timeout", arg, 1, 86400, &v);
        cfg->read_timeout_s = (unsigned)v;
        break;
    default:
        rc = parse_u64("--drain-timeout", arg, 0, 86400, &v);
        cfg->drain_timeout_s = (unsigned)v;
        break;
    }
    return rc;
}

static int parse_args(int argc, char **argv, serve_cfg *cfg)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"unix", required_argument, NULL, 'u'},
                                             {"auth", required_argument, NULL, 'a'},
                                             {"fsync", required_argument, NULL, 'f'},
                                             {"max-body-bytes", required_argument, NULL, 'b'},
                                             {"max-inflight-bytes", required_argument, NULL, 'I'},
                                             {"max-result-bytes", required_argument, NULL, 'R'},
                                             {"max-query-bytes", required_argument, NULL, 'Q'},
                                             {"query-timeout", required_argument, NULL, 'T'},
                                             {"max-connections", required_argument, NULL, 'c'},
                                             {"max-series", required_argument, NULL, 'S'},
                                             {"read-timeout", required_argument, NULL, 't'},
                                             {"drain-timeout", required_argument, NULL, 'D'},
                                             {0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int rc = 0;
        if (c == 'd')
            cfg->data = optarg;
        else if (c == 'l')
            cfg->listen = optarg;
        else if (c == 'u')
            cfg->unix_path = optarg;
        else if (c == 'a')
            cfg->auth_file = optarg;
        else if (c == 'f')
            rc = parse_fsync(optarg, &cfg->fsync);
        else if (c == '?' || c == ':')
            return cli_usage_error("serve", "unknown option or missing value '%s'",
                                   argv[optind - 1]);
        else
            rc = numeric_option(cfg, c, optarg);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if (!cfg->data)
        return cli_usage_error("serve", "--data DIR is required");
    if (!cfg->listen && !cfg->unix_path)
        cfg->listen = "127.0.0.1:8086";
    return 0;
}

/* ---- listening sockets ---- */

/* "host:port", "[v6]:port" or ":port" -> host (NULL: any) and port. */
static int split_hostport(const char *s, char *host, size_t cap, const char **port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || !colon[1])
        return -1;
    size_t n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n >= cap)
        return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    *port = colon + 1;
    return 0;
}

static int listen_tcp(const char *spec, char *desc, size_t desc_cap)
{
    char host[256];
    const char *port;
    if (split_hostport(spec, host, sizeof host, &port) != 0) {
        fprintf(stderr, "cityts serve: --listen: expected HOST:PORT, got '%s'\n", spec);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "cityts serve: --listen %s: %s\n", spec, gai_strerror(gai));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 256) != 0) {
        fprintf(stderr, "cityts serve: cannot listen on %s: %s\n", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned p = 0;
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
        bool v6 = sa.ss_family == AF_INET6;
        const void *a = v6 ? (const void *)&((struct sockaddr_in6 *)&sa)->sin6_addr
                           : (const void *)&((struct sockaddr_in *)&sa)->sin_addr;
        inet_ntop(sa.ss_family, a, addr, sizeof addr);
        p = ntohs(v6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                     : ((struct sockaddr_in *)&sa)->sin_port);
        snprintf(desc, desc_cap, v6 ? "http://[%s]:%u" : "http://%s:%u", addr, p);
    }
    return fd;
}

static int listen_unix(const char *path, char *desc, size_t desc_cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat sb;
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "cityts serve: --unix: path too long: %s\n", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(path); /* a socket left by an earlier run; anything else stays */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 256) != 0) {
        fprintf(stderr, "cityts serve: cannot listen on %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(desc, desc_cap, "unix:%s", path);
    return fd;
}

/* ---- requests ---- */

static serve_route route_of(const char *url)
{
    static const struct {
        const char *path;
        serve_route route;
    } routes[] = {{"/write", SERVE_R_WRITE},   {"/api/v2/write", SERVE_R_WRITE_V2},
                  {"/query", SERVE_R_QUERY},   {"/ping", SERVE_R_PING},
                  {"/health", SERVE_R_HEALTH}, {"/metrics", SERVE_R_METRICS}};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(url, routes[i].path) == 0)
            return routes[i].route;
    return SERVE_R_OTHER;
}

static bool method_is(const char *m, const char *a, const char *b)
{
    return strcmp(m, a) == 0 || (b && strcmp(m, b) == 0);
}

static enum MHD_Result not_allowed(serve_req *r, struct MHD_Connection *c)
{
    return serve_respond(r, c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                         "Method Not Allowed\n", 19);
}

static enum MHD_Result serve_ping(serve_req *r, struct MHD_Connection *c, const char *method)
{
    if (!method_is(method, MHD_HTTP_METHOD_GET, MHD_HTTP_METHOD_HEAD))
        return not_allowed(r, c);
    const char *v = serve_arg(c, "verbose");
    if (v && *v && strcmp(v, "0") != 0 && strcmp(v, "false") != 0) {
        static const char body[] = "{\"version\":\"" SERVE_INFLUX_VERSION "\"}";
        return serve_respond(r, c, MHD_HTTP_OK, "application/json", body, sizeof body - 1);
    }
    return serve_respond(r, c, MHD_HTTP_NO_CONTENT, NULL, "", 0);
}

static enum MHD_Result serve_health(serve_req *r, struct MHD_Connection *c, const char *method)
{
    if (!method_is(method, MHD_HTTP_METHOD_GET, MHD_HTTP_METHOD_HEAD))
        return not_allowed(r, c);
    static const char ok[] =
        "{\"checks\":[],\"message\":\"ready for queries and writes\","
        "\"name\":\"influxdb\",\"status\":\"pass\",\"version\":\"" SERVE_INFLUX_VERSION "\"}";
    static const char stopping[] =
        "{\"checks\":[],\"message\":\"shutting down\","
        "\"name\":\"influxdb\",\"status\":\"fail\",\"version\":\"" SERVE_INFLUX_VERSION "\"}";
    if (atomic_load(&r->st->stopping))
        return serve_respond(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", stopping,
                             sizeof stopping - 1);
    return serve_respond(r, c, MHD_HTTP_OK, "application/json", ok, sizeof ok - 1);
}

static enum MHD_Result serve_metrics_get(serve_req *r, struct MHD_Connection *c, const char *method)
{
    if (!method_is(method, MHD_HTTP_METHOD_GET, NULL))
        return not_allowed(r, c);
    char *text = NULL;
    size_t len = 0;
    if (serve_metrics_render(r->st, &text, &len) != 0)
        return serve_error(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    return serve_respond_owned(r, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                               len);
}

static serve_req *req_new(serve_state *st, const char *url)
{
    serve_req *r = cts_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->st = st;
    r->start_ns = serve_now_ns();
    r->route = route_of(url);
    atomic_fetch_add(&st->active_requests, 1);
    return r;
}

/* The first call of a request: what every route shares. Returns MHD_YES
 * with r->answered set when the request was answered here. */
static enum MHD_Result req_gate(serve_req *r, struct MHD_Connection *c, const char *method)
{
    bool open = r->route == SERVE_R_PING || r->route == SERVE_R_HEALTH;
    if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0 && r->route != SERVE_R_OTHER)
        return serve_respond(r, c, MHD_HTTP_NO_CONTENT, NULL, "", 0);
    if (atomic_load(&r->st->stopping) && !open)
        return serve_error(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, "server is shutting down");
    if (r->route == SERVE_R_OTHER)
        return serve_respond(r, c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
                             "404 page not found\n", 19);
    if (!r->st->auth_enabled || open)
        return MHD_YES;
    serve_authn a;
    serve_auth_check(&r->st->auth, c, &a);
    if (!a.user) {
        atomic_fetch_add(&r->st->metrics.auth_failures, 1);
        return serve_error(r, c, a.status, a.error);
    }
    r->user = a.user;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    serve_req *r = *con_cls;
    (void)version;
    if (!r) {
        if (!(r = req_new(cls, url)))
            return MHD_NO;
        *con_cls = r;
        enum MHD_Result rc = req_gate(r, c, method);
        if (rc != MHD_YES || r->answered)
            return rc;
        /* Answering a body-less request on this first call would close
         * the connection (libmicrohttpd has not seen the request end):
         * those are answered on the next call. */
        if (r->route != SERVE_R_WRITE && r->route != SERVE_R_WRITE_V2 && r->route != SERVE_R_QUERY)
            return MHD_YES;
    }
    if (r->answered) {
        *upload_size = 0;
        return MHD_YES;
    }
    switch (r->route) {
    case SERVE_R_WRITE:
    case SERVE_R_WRITE_V2:
        return serve_write_handle(r, c, method, upload, upload_size);
    case SERVE_R_QUERY:
        return serve_query_handle(r, c, method, upload, upload_size);
    case SERVE_R_PING:
        return serve_ping(r, c, method);
    case SERVE_R_HEALTH:
        return serve_health(r, c, method);
    default:
        return serve_metrics_get(r, c, method);
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    serve_req *r = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (!r)
        return;
    serve_body_free(r);
    serve_query_free(r);
    if (r->db)
        cts_dbset_release(r->st->dbs, r->db);
    atomic_fetch_sub(&r->st->active_requests, 1);
    cts_free(r);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("cityts serve: http: ", stderr);
    vfprintf(stderr, fmt, ap);
}

static struct MHD_Daemon *start_daemon(serve_state *st, int fd)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, st, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, st,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, st->cfg.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, st->cfg.read_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)256 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, st, MHD_OPTION_END);
}

/* ---- lifecycle ---- */

/* Wait for a stop signal; then drain. Returns the signal. */
static int wait_and_drain(serve_state *st, struct MHD_Daemon **d, size_t nd)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    fprintf(stderr, "cityts serve: %s: stopping (finishing %d request(s))\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", atomic_load(&st->active_requests));
    atomic_store(&st->stopping, true);
    for (size_t i = 0; i < nd; i++) {
        MHD_socket fd = MHD_quiesce_daemon(d[i]); /* the socket is ours again */
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    struct timespec tick = {0, 10 * 1000 * 1000};
    int64_t deadline = serve_now_ns() + (int64_t)st->cfg.drain_timeout_s * 1000000000;
    while (atomic_load(&st->active_requests) > 0 && serve_now_ns() < deadline) {
        if (sigtimedwait(&set, NULL, &tick) > 0) {
            fprintf(stderr, "cityts serve: second signal: not waiting any longer\n");
            break;
        }
    }
    return sig;
}

/* Start a daemon on each listening socket, serve until a stop signal,
 * drain, stop. The daemons own the sockets from their start: fds[i] is
 * set to -1 for each one started. */
static int run(serve_state *st, int *fds, const char descs[][300], size_t nfd)
{
    struct MHD_Daemon *d[MAX_DAEMONS] = {NULL};
    size_t nd = 0;
    for (; nd < nfd; nd++) {
        if (!(d[nd] = start_daemon(st, fds[nd]))) {
            fprintf(stderr, "cityts serve: cannot start the HTTP server on %s\n", descs[nd]);
            break;
        }
        fds[nd] = -1;
        fprintf(stderr, "cityts serve: listening on %s (data %s%s)\n", descs[nd], st->cfg.data,
                st->auth_enabled ? ", authentication on" : "");
    }
    int rc = CLI_EXIT_OK;
    if (nd == nfd)
        wait_and_drain(st, d, nd);
    else
        rc = CLI_EXIT_FAIL;
    for (size_t i = 0; i < nd; i++)
        MHD_stop_daemon(d[i]);
    /* streaming queries end at their next write (the pipes are closed) or
     * at their timeout; the databases must outlive them */
    struct timespec tick = {0, 10 * 1000 * 1000};
    while (atomic_load(&st->producers) > 0)
        nanosleep(&tick, NULL);
    int crc = cts_dbset_close(st->dbs);
    st->dbs = NULL;
    if (crc) {
        fprintf(stderr, "cityts serve: flushing the databases: %s\n", cts_strerror(crc));
        rc = CLI_EXIT_FAIL;
    } else if (rc == CLI_EXIT_OK) {
        fprintf(stderr, "cityts serve: stopped; every database flushed\n");
    }
    return rc;
}

static int open_listeners(const serve_cfg *cfg, int *fds, char descs[][300], size_t *n)
{
    *n = 0;
    if (cfg->listen) {
        if ((fds[*n] = listen_tcp(cfg->listen, descs[*n], 300)) < 0)
            return CLI_EXIT_FAIL;
        (*n)++;
    }
    if (cfg->unix_path) {
        if ((fds[*n] = listen_unix(cfg->unix_path, descs[*n], 300)) < 0)
            return CLI_EXIT_FAIL;
        (*n)++;
    }
    return 0;
}

static int open_state(serve_state *st)
{
    char err[512];
    if (st->cfg.auth_file) {
        if (serve_auth_load(st->cfg.auth_file, &st->auth, err, sizeof err) != 0) {
            fprintf(stderr, "cityts serve: --auth %s\n", err);
            return CLI_EXIT_FAIL;
        }
        st->auth_enabled = true;
    }
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.fsync = st->cfg.fsync;
    if (st->cfg.max_series)
        o.max_series = st->cfg.max_series;
    if (cts_dbset_open(st->cfg.data, &o, &st->dbs) != 0) {
        fprintf(stderr, "cityts serve: cannot open data directory %s: %s\n", st->cfg.data,
                cts_dbset_errmsg());
        return CLI_EXIT_FAIL;
    }
    st->start_ns = serve_now_ns();
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    serve_state *st = cts_calloc(1, sizeof *st);
    int fds[MAX_DAEMONS] = {-1, -1};
    char descs[MAX_DAEMONS][300];
    size_t nfd = 0;
    if (!st)
        return CLI_EXIT_FAIL;
    serve_cfg_init(&st->cfg);
    serve_pool_init(&st->pool);
    int rc = parse_args(argc, argv, &st->cfg);
    if (rc == 0)
        rc = open_state(st);
    if (rc == 0)
        rc = open_listeners(&st->cfg, fds, descs, &nfd);
    if (rc == 0) {
        /* Before any thread starts, so every thread inherits the mask. A
         * shell starts background jobs with SIGINT ignored, and POSIX lets
         * an ignored signal be discarded even while blocked (Linux keeps
         * it pending): restore the default so sigwait() sees it anywhere. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        rc = run(st, fds, (const char(*)[300])descs, nfd);
    }
    for (size_t i = 0; i < nfd; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (st->cfg.unix_path && nfd > 0)
        unlink(st->cfg.unix_path);
    int crc = cts_dbset_close(st->dbs);
    serve_auth_free(&st->auth);
    serve_pool_fini(&st->pool);
    cts_free(st);
    return crc && rc == 0 ? CLI_EXIT_FAIL : rc;
}
