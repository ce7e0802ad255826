/*
 * cts_bench.h: Google Benchmark, driven from C.
 *
 * cityts is written in C11, Google Benchmark in C++. This header is the whole
 * contract of a thin shim (cts_bench_shim.cc) so that benchmarks are plain C
 * functions and every Google Benchmark feature they need -- the timing loop,
 * arguments, pause/resume, throughput counters, user counters, run options --
 * is reached through cts_bench_* calls. Nothing else in bench/ includes a C++
 * header.
 *
 * A benchmark is a function and an opaque context pointer:
 *
 *     static void crc_run(cts_bench_state *st, void *ctx)
 *     {
 *         size_t len = (size_t)cts_bench_arg_value(st, 0);
 *         ...untimed setup...
 *         while (cts_bench_keep_running(st))
 *             ...the measured work, once per iteration...
 *         cts_bench_set_bytes_processed(st, cts_bench_iterations(st) * (int64_t)len);
 *     }
 *
 *     cts_bench *b = cts_bench_register("crc32c", crc_run, NULL);
 *     b = cts_bench_range(b, 64, 1 << 20);      // crc32c/64 ... crc32c/1048576
 *     if (b == NULL) ...out of memory...
 *
 * Lifecycle of the process (bench_main.c does exactly this):
 *
 *     cts_bench_init(&argc, argv)   parse and remove --benchmark_* flags
 *     cts_bench_register(...) ...   build the list (before or after init)
 *     cts_bench_run()               run what --benchmark_filter selects
 *     cts_bench_shutdown()          release Google Benchmark's state
 *
 * Rules that hold for every function here:
 *   - A benchmark function is called several times per benchmark (Google
 *     Benchmark first estimates the iteration count). The timer runs only
 *     between the first and the last cts_bench_keep_running() call, so setup
 *     before the loop is never measured.
 *   - The function must call cts_bench_keep_running() until it returns false,
 *     unless it called cts_bench_skip_with_error() and returned.
 *   - Options (cts_bench_arg, cts_bench_min_time, ...) return their handle so
 *     calls can be nested, return NULL when out of memory, and pass a NULL
 *     handle through unchanged: a failed registration is checked once, on the
 *     handle the last option returned. Misuse that
 *     Google Benchmark rejects (a range with lo > hi, a negative min time)
 *     aborts the process with its message, as it does in C++.
 *   - Strings passed in are copied; the caller keeps ownership.
 *   - Registration is not thread-safe; do it from main before cts_bench_run.
 *     State functions are called only by the thread running the benchmark.
 *   - No function lets a C++ exception escape (all are noexcept to C++):
 *     allocation failure during registration or in an option yields NULL,
 *     during a run it terminates the process (as Google Benchmark itself
 *     would).
 */
#ifndef CTS_BENCH_H
#define CTS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cts_storage.h" /* cts_err codes */

#ifdef __cplusplus
extern "C" {
/* C++ sees every function as noexcept: no exception crosses into C. */
#define CTS_BENCH_NOEXCEPT noexcept
#else
#define CTS_BENCH_NOEXCEPT
#endif

/* A registered benchmark (Google Benchmark's internal::Benchmark). Owned by
 * Google Benchmark for the life of the process. */
typedef struct cts_bench cts_bench;
/* The state of one run of a benchmark (benchmark::State). Borrowed: valid
 * only during the call of the benchmark function it was passed to. */
typedef struct cts_bench_state cts_bench_state;

/* A benchmark body; `ctx` is the pointer given at registration. */
typedef void (*cts_bench_fn)(cts_bench_state *st, void *ctx);

/* ---------------------------------------------------------------------------
 * Process lifecycle.
 * ------------------------------------------------------------------------- */

/*
 * Parse Google Benchmark's flags (--benchmark_filter, --benchmark_format,
 * --benchmark_min_time, --benchmark_repetitions, --benchmark_out, ...) and
 * remove them from argv. --help prints the flags and exits the process.
 * Returns 0, or CTS_EINVAL when arguments remain that are not Google
 * Benchmark's (they are printed to stderr), or CTS_ENOMEM.
 */
int cts_bench_init(int *argc, char **argv) CTS_BENCH_NOEXCEPT;

/* Record a key/value pair in the report's context (the JSON "context" object
 * and the console header). Returns 0 or CTS_ENOMEM. */
int cts_bench_add_context(const char *key, const char *value) CTS_BENCH_NOEXCEPT;

/* Run every registered benchmark that --benchmark_filter selects, reporting
 * in --benchmark_format. Returns the number of benchmarks that matched. */
size_t cts_bench_run(void) CTS_BENCH_NOEXCEPT;

/* Release Google Benchmark's process state. Call once, after cts_bench_run. */
void cts_bench_shutdown(void) CTS_BENCH_NOEXCEPT;

/* ---------------------------------------------------------------------------
 * Registration and per-benchmark options. Every option returns `b` (NULL
 * stays NULL) and applies to all runs of the benchmark.
 * ------------------------------------------------------------------------- */

/* Register `fn` under `name` (reports show name, then "/arg" per argument).
 * Returns the handle, or NULL when out of memory or name/fn is NULL. */
cts_bench *cts_bench_register(const char *name, cts_bench_fn fn, void *ctx) CTS_BENCH_NOEXCEPT;

/* Add one run with the single argument x (read with cts_bench_arg_value 0). */
cts_bench *cts_bench_arg(cts_bench *b, int64_t x) CTS_BENCH_NOEXCEPT;
/* Add one run whose arguments are values[0..count). */
cts_bench *cts_bench_args(cts_bench *b, const int64_t *values, size_t count) CTS_BENCH_NOEXCEPT;
/* Add runs for lo, hi and the powers of the range multiplier (default 8)
 * between them. */
cts_bench *cts_bench_range(cts_bench *b, int64_t lo, int64_t hi) CTS_BENCH_NOEXCEPT;
/* The factor between successive values of cts_bench_range / cts_bench_ranges
 * (call it first). */
cts_bench *cts_bench_range_multiplier(cts_bench *b, int multiplier) CTS_BENCH_NOEXCEPT;
/* Add runs for lo, lo+step, ... up to and including hi when reached. */
cts_bench *cts_bench_dense_range(cts_bench *b, int64_t lo, int64_t hi, int step) CTS_BENCH_NOEXCEPT;

/* One dimension of a multi-argument range. */
typedef struct cts_bench_span {
    int64_t lo, hi;
} cts_bench_span;
/* Add runs for the cartesian product of the ranges of spans[0..count);
 * argument i of a run comes from spans[i]. */
cts_bench *cts_bench_ranges(cts_bench *b, const cts_bench_span *spans,
                            size_t count) CTS_BENCH_NOEXCEPT;
/* Name argument 0 in reports ("crc32c/len:4096" instead of "crc32c/4096"). */
cts_bench *cts_bench_arg_name(cts_bench *b, const char *name) CTS_BENCH_NOEXCEPT;

/* Run each measurement for at least `seconds` (overrides
 * --benchmark_min_time for this benchmark). */
cts_bench *cts_bench_min_time(cts_bench *b, double seconds) CTS_BENCH_NOEXCEPT;
/* Run exactly `n` iterations instead of estimating a count. */
cts_bench *cts_bench_fixed_iterations(cts_bench *b, int64_t n) CTS_BENCH_NOEXCEPT;
/* Repeat the measurement `n` times and report mean/median/stddev too. */
cts_bench *cts_bench_repetitions(cts_bench *b, int n) CTS_BENCH_NOEXCEPT;
/* Measure wall-clock time instead of this thread's CPU time. */
cts_bench *cts_bench_use_real_time(cts_bench *b) CTS_BENCH_NOEXCEPT;

typedef enum cts_bench_unit {
    CTS_BENCH_NS,
    CTS_BENCH_US,
    CTS_BENCH_MS,
    CTS_BENCH_S,
} cts_bench_unit;
/* The unit of the reported times. */
cts_bench *cts_bench_time_unit(cts_bench *b, cts_bench_unit unit) CTS_BENCH_NOEXCEPT;

/* ---------------------------------------------------------------------------
 * Inside a benchmark function.
 * ------------------------------------------------------------------------- */

/* True while another iteration should run. Starts the timer on the first
 * call and stops it on the last. Costs one out-of-line call: for bodies of a
 * few nanoseconds use cts_bench_keep_running_batch. */
bool cts_bench_keep_running(cts_bench_state *st) CTS_BENCH_NOEXCEPT;
/* As cts_bench_keep_running, counting `n` iterations per true (n > 0); may
 * overshoot the planned count by up to n - 1. */
bool cts_bench_keep_running_batch(cts_bench_state *st, int64_t n) CTS_BENCH_NOEXCEPT;

/* Argument `i` of this run (0-based). Requires i < the number of arguments
 * the run was registered with (Google Benchmark checks it only with
 * assertions enabled). */
int64_t cts_bench_arg_value(const cts_bench_state *st, size_t i) CTS_BENCH_NOEXCEPT;
/* Number of iterations run so far (after the loop: all of them). */
int64_t cts_bench_iterations(const cts_bench_state *st) CTS_BENCH_NOEXCEPT;

/* Stop and restart the timer inside the loop, for per-iteration setup that
 * must not be measured. Each pair costs about a microsecond: prefer setup
 * before the loop. */
void cts_bench_pause_timing(cts_bench_state *st) CTS_BENCH_NOEXCEPT;
void cts_bench_resume_timing(cts_bench_state *st) CTS_BENCH_NOEXCEPT;

/* Mark the run as failed with `msg` (copied) and report no timing for it.
 * Inside the loop, the next cts_bench_keep_running returns false; the
 * function should return promptly. */
void cts_bench_skip_with_error(cts_bench_state *st, const char *msg) CTS_BENCH_NOEXCEPT;
/* True once cts_bench_skip_with_error was called in this run. */
bool cts_bench_error_occurred(const cts_bench_state *st) CTS_BENCH_NOEXCEPT;

/* Total items / bytes handled by all iterations; reported as items/s and
 * bytes/s ("bytes_per_second", 1024-based). Call after the loop. */
void cts_bench_set_items_processed(cts_bench_state *st, int64_t items) CTS_BENCH_NOEXCEPT;
void cts_bench_set_bytes_processed(cts_bench_state *st, int64_t bytes) CTS_BENCH_NOEXCEPT;
/* Free text appended to the report line. */
void cts_bench_set_label(cts_bench_state *st, const char *label) CTS_BENCH_NOEXCEPT;

/* How a user counter's value is turned into the reported number. Flags
 * combine with |; 0 reports the value as given. */
typedef enum cts_bench_counter_flags {
    CTS_BENCH_COUNTER_PLAIN = 0,
    /* divided by the measured time: a per-second rate */
    CTS_BENCH_COUNTER_RATE = 1 << 0,
    /* divided by the number of iterations: a per-iteration average */
    CTS_BENCH_COUNTER_PER_ITERATION = 1 << 1,
    /* multiplied by the number of iterations: value is per iteration */
    CTS_BENCH_COUNTER_ITERATION_INVARIANT = 1 << 2,
    /* reported as 1 / result, after the above */
    CTS_BENCH_COUNTER_INVERT = 1 << 3,
    /* k/M/G prefixes in the console are powers of 1024, not 1000 */
    CTS_BENCH_COUNTER_BASE_1024 = 1 << 4,
} cts_bench_counter_flags;

/* Set (or replace) the user counter `name` of this run. Reported in the
 * console line and in the JSON output under `name`. */
void cts_bench_set_counter(cts_bench_state *st, const char *name, double value,
                           unsigned flags) CTS_BENCH_NOEXCEPT;

/* ---------------------------------------------------------------------------
 * Keeping the optimizer honest. Inline, and compiled to no instruction: they
 * only constrain what the compiler may assume.
 * ------------------------------------------------------------------------- */

/* The memory at p (and p itself) is treated as read by something the
 * compiler cannot see, so computations stored there are not elided. Pass
 * the address of a scalar result to keep that result. */
static inline void cts_bench_do_not_optimize(const void *p) CTS_BENCH_NOEXCEPT
{
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* All pending writes to memory are treated as observed, and memory as
 * possibly changed: stores before it are not sunk or dropped. */
static inline void cts_bench_clobber_memory(void) CTS_BENCH_NOEXCEPT
{
    __asm__ __volatile__("" : : : "memory");
}

#ifdef __cplusplus
}
#endif
#endif
