/*
 * bench_main.c: the cityts-bench program.
 *
 * Registers every benchmark file's benchmarks, then hands over to Google
 * Benchmark, whose flags pass through unchanged:
 *
 *   cityts-bench --benchmark_filter='codec/' --benchmark_format=json
 *   cityts-bench --benchmark_list_tests
 *   cityts-bench --help
 *
 * Any argument that is not a Google Benchmark flag is an error (exit 2), so
 * a mistyped flag never silently runs everything. The report's context
 * records the build type and the allocator, since both change the numbers.
 */
#include "bench_suites.h"
#include "cts_bench.h"

#include <stdio.h>

#ifndef CTS_BENCH_BUILD_TYPE
#define CTS_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef CTS_BENCH_ALLOCATOR
#define CTS_BENCH_ALLOCATOR "unknown"
#endif

static int add_context(void)
{
    int rc = cts_bench_add_context("cityts_build_type", CTS_BENCH_BUILD_TYPE);
    if (rc == 0)
        rc = cts_bench_add_context("cityts_allocator", CTS_BENCH_ALLOCATOR);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = cts_bench_init(&argc, argv);
    if (rc == CTS_EINVAL)
        return 2;
    bench_codec *codec = NULL;
    bench_query *query = NULL;
    if (rc == 0)
        rc = add_context();
    if (rc == 0)
        rc = bench_crc32c_register();
    if (rc == 0)
        rc = bench_codec_register(&codec);
    if (rc == 0)
        rc = bench_engine_register();
    if (rc == 0)
        rc = bench_lineproto_register();
    if (rc == 0)
        rc = bench_query_register(&query);
    if (rc != 0) {
        fprintf(stderr, "%s: registering benchmarks: %s\n", argv[0], cts_strerror(rc));
        bench_query_destroy(query);
        return 1;
    }
    cts_bench_run();
    cts_bench_shutdown();
    bench_codec_destroy(codec);
    bench_query_destroy(query);
    return 0;
}
