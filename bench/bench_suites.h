/*
 * bench_suites.h: the registration functions main calls, one per benchmark
 * file. Registration only records names, functions and options: no data is
 * generated until a benchmark selected by --benchmark_filter first runs, so
 * listing or filtering stays instant.
 */
#ifndef CTS_BENCH_SUITES_H
#define CTS_BENCH_SUITES_H

#include "cts_storage.h"

/* crc32c/<len>: cts_crc32c throughput over buffers of 64 B .. 1 MiB.
 * Returns 0 or CTS_ENOMEM. */
CTS_MUST_USE int bench_crc32c_register(void);

/* codec/<dataset>/encode and codec/<dataset>/decode for every dataset of
 * datasets.h, through the public block API (bench_codec.c). The benchmarks
 * share state owned by *out, which must outlive cts_bench_run; release it
 * with bench_codec_destroy (NULL accepted). Returns 0 or CTS_ENOMEM; then
 * *out is NULL and benchmarks registered before the failure point at freed
 * state, so the caller must not call cts_bench_run. */
typedef struct bench_codec bench_codec;
CTS_MUST_USE int bench_codec_register(bench_codec **out);
void bench_codec_destroy(bench_codec *codec);

/* engine/append/<policy> and engine/reopen_wal/<MiB> (bench_engine.c).
 * Returns 0 or CTS_ENOMEM. */
CTS_MUST_USE int bench_engine_register(void);

/* lp/reader/{city,tsbs}/chunk:<n> and lp/parse_line/city: line-protocol
 * parsing throughput (bench_lineproto.c). Returns 0 or CTS_ENOMEM. */
CTS_MUST_USE int bench_lineproto_register(void);

/* query/<name>: the query language's suite on the dataset of
 * CTS_BENCH_QUERY_DATA (bench_query.c), sharing one open data directory
 * owned by *out; release it with bench_query_destroy after cts_bench_run
 * (NULL accepted). Returns 0 or CTS_ENOMEM. */
typedef struct bench_query bench_query;
CTS_MUST_USE int bench_query_register(bench_query **out);
void bench_query_destroy(bench_query *bq);

#endif
