/*
 * loadgen.c: `cityts-loadgen`, the one HTTP client of the peer comparison
 * (bench/peers/run.sh), so every engine is driven by the same code, the
 * same batches and the same concurrency. It is cli/bench_http.c (the
 * client inside `cityts bench`) behind a command line:
 *
 *   cityts-loadgen write HOST:PORT PATH FILE [CLIENTS [BATCH_LINES]]
 *       cut FILE (line protocol) into batches of BATCH_LINES (default
 *       5000) whole lines and POST them to PATH with CLIENTS (default 4)
 *       kept-alive connections; prints one JSON object: seconds, batches,
 *       failed, first_status, first_error. Exit 1 when a batch failed.
 *
 *   cityts-loadgen get HOST:PORT PATH RUNS OUT
 *       GET PATH RUNS times on one connection; writes the first response's
 *       body to OUT and prints {"status":S,"ms":[...]} (each request's
 *       wall time from the request's first byte to the response's last).
 *       Exit 1 when a response was not 200.
 *
 * The file is mapped, so the bodies cost no copy and no read before the
 * clock starts.
 */
#include "bench_http.h"
#include "cts_storage.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: cityts-loadgen write HOST:PORT PATH FILE [CLIENTS [BATCH_LINES]]\n"
                    "       cityts-loadgen get HOST:PORT PATH RUNS OUT\n");
    return 2;
}

static int parse_addr(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= cap)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p == 0 || p > 65535)
        return -1;
    *port = (uint16_t)p;
    return 0;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

static int do_write(const char *host, uint16_t port, const char *path, const char *file,
                    uint32_t clients, uint32_t lines)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        fprintf(stderr, "cityts-loadgen: cannot read %s\n", file);
        return 1;
    }
    size_t len = (size_t)st.st_size;
    char *buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (buf == MAP_FAILED)
        return 1;
    size_t *off = NULL;
    int64_t nb = bench_batches(buf, len, lines, &off);
    bench_load_result r = {0};
    int rc = nb < 0 ? (int)nb : 0;
    if (rc == 0) {
        bench_load l = {host, port, path, buf, off, (size_t)nb, clients};
        rc = bench_http_load(&l, &r);
    }
    if (rc == 0) {
        printf("{\"seconds\":%.6f,\"batches\":%lld,\"failed\":%llu,\"first_status\":%d,"
               "\"first_error\":",
               r.seconds, (long long)nb, (unsigned long long)r.failed, r.first_status);
        json_string(r.first_error);
        printf("}\n");
    } else {
        fprintf(stderr, "cityts-loadgen: %s\n", cts_strerror(rc));
    }
    cts_free(off);
    munmap(buf, len);
    return rc || r.failed ? 1 : 0;
}

static int do_get(const char *host, uint16_t port, const char *path, uint32_t runs, const char *out)
{
    bench_conn c;
    if (bench_conn_open(&c, host, port)) {
        fprintf(stderr, "cityts-loadgen: cannot connect to %s:%u\n", host, port);
        return 1;
    }
    int status = 0, rc = 0;
    printf("{\"ms\":[");
    for (uint32_t i = 0; rc == 0 && i < runs; i++) {
        bench_resp resp;
        double t0 = bench_now();
        rc = bench_http_request(&c, "GET", path, NULL, NULL, 0, &resp);
        double ms = (bench_now() - t0) * 1e3;
        if (rc)
            break;
        printf("%s%.3f", i ? "," : "", ms);
        if (i == 0 || resp.status != 200)
            status = resp.status;
        if (i == 0) {
            FILE *f = fopen(out, "wb");
            if (!f || fwrite(resp.body, 1, resp.body_len, f) != resp.body_len)
                rc = CTS_EIO;
            if (f && fclose(f) != 0)
                rc = CTS_EIO;
        }
        cts_free(resp.body);
    }
    printf("],\"status\":%d}\n", status);
    bench_conn_close(&c);
    if (rc)
        fprintf(stderr, "cityts-loadgen: %s\n", cts_strerror(rc));
    return rc || status != 200 ? 1 : 0;
}

int main(int argc, char **argv)
{
    char host[64];
    uint16_t port;
    if (argc < 5 || parse_addr(argv[2], host, sizeof host, &port))
        return usage();
    if (strcmp(argv[1], "write") == 0 && argc <= 7) {
        long clients = argc > 5 ? strtol(argv[5], NULL, 10) : 4;
        long lines = argc > 6 ? strtol(argv[6], NULL, 10) : 5000;
        if (clients < 1 || clients > 256 || lines < 1 || lines > 10000000)
            return usage();
        return do_write(host, port, argv[3], argv[4], (uint32_t)clients, (uint32_t)lines);
    }
    if (strcmp(argv[1], "get") == 0 && argc == 6) {
        long runs = strtol(argv[4], NULL, 10);
        if (runs < 1 || runs > 100000)
            return usage();
        return do_get(host, port, argv[3], (uint32_t)runs, argv[5]);
    }
    return usage();
}
