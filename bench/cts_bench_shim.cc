/*
 * cts_bench_shim.cc: the C API of cts_bench.h over Google Benchmark.
 *
 * The only C++ file of cityts. Every function translates one C call into one
 * Google Benchmark call and adds no behaviour of its own, so the numbers are
 * Google Benchmark's.
 *
 * What must stay true:
 *   - The opaque C handles are the C++ objects themselves: a cts_bench * is a
 *     benchmark::internal::Benchmark *, a cts_bench_state * a
 *     benchmark::State *. They are only ever cast back, never dereferenced as
 *     their C type.
 *   - No exception crosses into C. Every function is noexcept (cts_bench.h
 *     declares them so for C++). Registration, options and context catch
 *     std::bad_alloc and report NULL / CTS_ENOMEM; anything thrown during a
 *     run terminates the process, as it would inside Google Benchmark.
 *   - Counter flags are mapped bit by bit, never cast: our enum values are our
 *     own and need not match Google Benchmark's.
 */
#include "cts_bench.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <new>
#include <utility>
#include <vector>

namespace
{

using Bench = benchmark::internal::Benchmark;

benchmark::State &impl(cts_bench_state *st)
{
    return *reinterpret_cast<benchmark::State *>(st);
}

const benchmark::State &impl(const cts_bench_state *st)
{
    return *reinterpret_cast<const benchmark::State *>(st);
}

/* Apply one option to b; NULL in or out of memory gives NULL. */
template <class Option> cts_bench *apply(cts_bench *b, Option &&option) noexcept
{
    if (b == nullptr)
        return nullptr;
    try {
        option(reinterpret_cast<Bench *>(b));
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
    return b;
}

benchmark::Counter::Flags counter_flags(unsigned flags)
{
    int f = benchmark::Counter::kDefaults;
    if (flags & CTS_BENCH_COUNTER_RATE)
        f |= benchmark::Counter::kIsRate;
    if (flags & CTS_BENCH_COUNTER_PER_ITERATION)
        f |= benchmark::Counter::kAvgIterations;
    if (flags & CTS_BENCH_COUNTER_ITERATION_INVARIANT)
        f |= benchmark::Counter::kIsIterationInvariant;
    if (flags & CTS_BENCH_COUNTER_INVERT)
        f |= benchmark::Counter::kInvert;
    return static_cast<benchmark::Counter::Flags>(f);
}

benchmark::TimeUnit time_unit(cts_bench_unit unit)
{
    switch (unit) {
    case CTS_BENCH_US:
        return benchmark::kMicrosecond;
    case CTS_BENCH_MS:
        return benchmark::kMillisecond;
    case CTS_BENCH_S:
        return benchmark::kSecond;
    case CTS_BENCH_NS:
        break;
    }
    return benchmark::kNanosecond;
}

} // namespace

extern "C" {

/* ---- process lifecycle ---- */

int cts_bench_init(int *argc, char **argv) noexcept
{
    try {
        benchmark::Initialize(argc, argv);
    } catch (const std::bad_alloc &) {
        return CTS_ENOMEM;
    }
    for (int i = 1; i < *argc; i++)
        std::fprintf(stderr, "%s: unrecognized argument '%s' (see --help)\n", argv[0], argv[i]);
    return *argc > 1 ? CTS_EINVAL : 0;
}

int cts_bench_add_context(const char *key, const char *value) noexcept
{
    try {
        benchmark::AddCustomContext(key, value);
    } catch (const std::bad_alloc &) {
        return CTS_ENOMEM;
    }
    return 0;
}

size_t cts_bench_run(void) noexcept
{
    return benchmark::RunSpecifiedBenchmarks();
}

void cts_bench_shutdown(void) noexcept
{
    benchmark::Shutdown();
}

/* ---- registration and options ---- */

cts_bench *cts_bench_register(const char *name, cts_bench_fn fn, void *ctx) noexcept
{
    if (name == nullptr || fn == nullptr)
        return nullptr;
    try {
        auto body = [fn, ctx](benchmark::State &st) {
            fn(reinterpret_cast<cts_bench_state *>(&st), ctx);
        };
        return reinterpret_cast<cts_bench *>(benchmark::RegisterBenchmark(name, body));
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}

cts_bench *cts_bench_arg(cts_bench *b, int64_t x) noexcept
{
    return apply(b, [&](Bench *p) { p->Arg(x); });
}

cts_bench *cts_bench_args(cts_bench *b, const int64_t *values, size_t count) noexcept
{
    return apply(b, [&](Bench *p) { p->Args(std::vector<int64_t>(values, values + count)); });
}

cts_bench *cts_bench_range(cts_bench *b, int64_t lo, int64_t hi) noexcept
{
    return apply(b, [&](Bench *p) { p->Range(lo, hi); });
}

cts_bench *cts_bench_range_multiplier(cts_bench *b, int multiplier) noexcept
{
    return apply(b, [&](Bench *p) { p->RangeMultiplier(multiplier); });
}

cts_bench *cts_bench_dense_range(cts_bench *b, int64_t lo, int64_t hi, int step) noexcept
{
    return apply(b, [&](Bench *p) { p->DenseRange(lo, hi, step); });
}

cts_bench *cts_bench_ranges(cts_bench *b, const cts_bench_span *spans, size_t count) noexcept
{
    return apply(b, [&](Bench *p) {
        std::vector<std::pair<int64_t, int64_t>> ranges;
        for (size_t i = 0; i < count; i++)
            ranges.emplace_back(spans[i].lo, spans[i].hi);
        p->Ranges(ranges);
    });
}

cts_bench *cts_bench_arg_name(cts_bench *b, const char *name) noexcept
{
    return apply(b, [&](Bench *p) { p->ArgName(name); });
}

cts_bench *cts_bench_min_time(cts_bench *b, double seconds) noexcept
{
    return apply(b, [&](Bench *p) { p->MinTime(seconds); });
}

cts_bench *cts_bench_fixed_iterations(cts_bench *b, int64_t n) noexcept
{
    return apply(b, [&](Bench *p) { p->Iterations(n); });
}

cts_bench *cts_bench_repetitions(cts_bench *b, int n) noexcept
{
    return apply(b, [&](Bench *p) { p->Repetitions(n); });
}

cts_bench *cts_bench_use_real_time(cts_bench *b) noexcept
{
    return apply(b, [&](Bench *p) { p->UseRealTime(); });
}

cts_bench *cts_bench_time_unit(cts_bench *b, cts_bench_unit unit) noexcept
{
    return apply(b, [&](Bench *p) { p->Unit(time_unit(unit)); });
}

/* ---- inside a benchmark function ---- */

bool cts_bench_keep_running(cts_bench_state *st) noexcept
{
    return impl(st).KeepRunning();
}

bool cts_bench_keep_running_batch(cts_bench_state *st, int64_t n) noexcept
{
    return impl(st).KeepRunningBatch(n);
}

int64_t cts_bench_arg_value(const cts_bench_state *st, size_t i) noexcept
{
    return impl(st).range(i);
}

int64_t cts_bench_iterations(const cts_bench_state *st) noexcept
{
    return impl(st).iterations();
}

void cts_bench_pause_timing(cts_bench_state *st) noexcept
{
    impl(st).PauseTiming();
}

void cts_bench_resume_timing(cts_bench_state *st) noexcept
{
    impl(st).ResumeTiming();
}

void cts_bench_skip_with_error(cts_bench_state *st, const char *msg) noexcept
{
    impl(st).SkipWithError(msg);
}

bool cts_bench_error_occurred(const cts_bench_state *st) noexcept
{
    return impl(st).error_occurred();
}

void cts_bench_set_items_processed(cts_bench_state *st, int64_t items) noexcept
{
    impl(st).SetItemsProcessed(items);
}

void cts_bench_set_bytes_processed(cts_bench_state *st, int64_t bytes) noexcept
{
    impl(st).SetBytesProcessed(bytes);
}

void cts_bench_set_label(cts_bench_state *st, const char *label) noexcept
{
    impl(st).SetLabel(label);
}

void cts_bench_set_counter(cts_bench_state *st, const char *name, double value,
                           unsigned flags) noexcept
{
    benchmark::Counter::OneK base = (flags & CTS_BENCH_COUNTER_BASE_1024)
                                        ? benchmark::Counter::kIs1024
                                        : benchmark::Counter::kIs1000;
    impl(st).counters[name] = benchmark::Counter(value, counter_flags(flags), base);
}

} // extern "C"
