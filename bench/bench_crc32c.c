/*
 * bench_crc32c.c: throughput of cts_crc32c, the checksum every block, WAL
 * record and file header pays for.
 *
 * One benchmark family, crc32c/<len>, over lengths 64 B .. 1 MiB (powers of
 * 8), so the per-call overhead at small sizes and the streaming rate at large
 * ones are both visible. The buffer holds fixed pseudo-random bytes and is
 * filled before the timed loop.
 */
#include "bench_suites.h"
#include "cts_bench.h"

#include <stdint.h>

static void fill_pattern(uint8_t *buf, size_t len)
{
    uint32_t x = 0x9E3779B9u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

static void run_crc32c(cts_bench_state *st, void *ctx)
{
    (void)ctx;
    size_t len = (size_t)cts_bench_arg_value(st, 0);
    uint8_t *buf = cts_malloc(len);
    if (buf == NULL) {
        cts_bench_skip_with_error(st, cts_strerror(CTS_ENOMEM));
        return;
    }
    fill_pattern(buf, len);
    uint32_t crc = 0;
    while (cts_bench_keep_running(st)) {
        crc = cts_crc32c_extend(crc, buf, len);
        cts_bench_do_not_optimize(&crc);
    }
    cts_bench_set_bytes_processed(st, cts_bench_iterations(st) * (int64_t)len);
    cts_free(buf);
}

int bench_crc32c_register(void)
{
    cts_bench *b = cts_bench_register("crc32c", run_crc32c, NULL);
    b = cts_bench_range(b, 64, 1 << 20);
    return b == NULL ? CTS_ENOMEM : 0;
}
