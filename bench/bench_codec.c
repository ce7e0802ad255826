/*
 * bench_codec.c: speed and size of the column codecs, through the public
 * block API (cts_block_encode, cts_block_info_read, cts_block_decode) only.
 *
 * For every dataset of datasets.h (2^20 points each) two benchmarks:
 *
 *   codec/<dataset>/encode  cts_block_encode over all blocks of
 *                           CTS_BLOCK_DEFAULT_COUNT points, in order, into
 *                           one reused destination (as a sealer would);
 *   codec/<dataset>/decode  cts_block_decode over all pre-encoded blocks
 *                           into one reused block-sized output; this
 *                           includes the CRC32C check of every block, which
 *                           every real read pays too.
 *
 * One iteration is the whole dataset. Reported per benchmark:
 *   items_per_second        points (values) per second;
 *   bytes_per_second        uncompressed bytes per second, 16 B per point
 *                           (8 B timestamp + 8 B value);
 *   bytes_per_value         encoded value-section bytes / points, or for the
 *                           ts_* datasets encoded timestamp-section bytes /
 *                           points (cts_block_info value_bytes / ts_bytes);
 *   block_bytes_per_value   whole blocks (header, statistics, both sections,
 *                           CRC) / points: what storage really costs;
 *   label                   the codec ids the blocks chose, with block counts
 *                           (ids in hex, as in docs/format.md).
 *
 * A dataset is generated, encoded and verified on the first run of either of
 * its benchmarks, before the timed loop: every block must decode to exactly
 * the input bits, or the benchmark reports an error instead of a number --
 * a fast lossy codec must not look like a good one. Cases that are never
 * selected by --benchmark_filter cost nothing.
 *
 * Lifecycle of a case: NEW --first run--> READY | FAILED; it stays there
 * until bench_codec_destroy. Single-threaded: the cases share scratch
 * buffers.
 */
#include "bench_suites.h"
#include "cts_bench.h"
#include "datasets.h"

#include <stdio.h>
#include <string.h>

#define POINTS_PER_BLOCK CTS_BLOCK_DEFAULT_COUNT
#define POINTS_PER_DATASET ((size_t)POINTS_PER_BLOCK * 1024) /* 1,048,576 */
#define RAW_BYTES_PER_POINT 16                               /* int64 ts + 8-byte value */

typedef enum case_status { CASE_NEW, CASE_READY, CASE_FAILED } case_status;

typedef struct codec_case {
    bench_codec *owner; /* shared scratch buffers */
    bench_dataset_id id;
    case_status status;
    char error[160]; /* why, when FAILED */
    bench_dataset data;
    uint8_t *blocks;   /* all blocks, back to back */
    size_t *block_end; /* block b is blocks[block_end[b-1] .. block_end[b]) */
    size_t block_count;
    double section_bytes_per_value;
    double block_bytes_per_value;
    char label[160];
} codec_case;

struct bench_codec {
    codec_case cases[BENCH_DATASET_COUNT];
    uint8_t *scratch; /* encode destination */
    size_t scratch_cap;
    int64_t out_ts[POINTS_PER_BLOCK];
    union {
        double f[POINTS_PER_BLOCK];
        int64_t i[POINTS_PER_BLOCK];
    } out_v;
};

/* ---- blocks of a dataset ---- */

static cts_block_input block_input(const bench_dataset *ds, size_t b)
{
    size_t first = b * POINTS_PER_BLOCK;
    size_t left = ds->count - first;
    cts_block_input in = {
        .type = ds->type,
        .count = (uint32_t)(left < POINTS_PER_BLOCK ? left : POINTS_PER_BLOCK),
        .ts = ds->ts + first,
    };
    if (ds->type == CTS_TYPE_INT)
        in.v.i = ds->v.i + first;
    else
        in.v.f = ds->v.f + first;
    return in;
}

static cts_block_output block_output(bench_codec *owner, cts_type type)
{
    cts_block_output out = {.ts = owner->out_ts, .cap_count = POINTS_PER_BLOCK};
    if (type == CTS_TYPE_INT)
        out.v.i = owner->out_v.i;
    else
        out.v.f = owner->out_v.f;
    return out;
}

static size_t block_start(const codec_case *c, size_t b)
{
    return b == 0 ? 0 : c->block_end[b - 1];
}

/* ---- preparation: generate, encode, verify (untimed, once) ---- */

static int fail(codec_case *c, int err, const char *what, size_t block)
{
    snprintf(c->error, sizeof c->error, "codec/%s: %s in block %zu: %s (%s)",
             bench_dataset_name(c->id), what, block, cts_strerror(err), cts_errname(err));
    c->status = CASE_FAILED;
    return err;
}

/* Size the buffers: blocks for the sum of bounds, scratch for the largest. */
static int alloc_blocks(codec_case *c)
{
    bench_codec *owner = c->owner;
    size_t total = 0;
    c->block_count = (c->data.count + POINTS_PER_BLOCK - 1) / POINTS_PER_BLOCK;
    for (size_t b = 0; b < c->block_count; b++) {
        cts_block_input in = block_input(&c->data, b);
        size_t bound = cts_block_bound(&in);
        if (bound == 0)
            return fail(c, CTS_EINVAL, "cts_block_bound", b);
        total += bound;
        if (bound > owner->scratch_cap) {
            uint8_t *grown = cts_realloc(owner->scratch, bound);
            if (grown == NULL)
                return fail(c, CTS_ENOMEM, "scratch allocation", b);
            owner->scratch = grown;
            owner->scratch_cap = bound;
        }
    }
    c->blocks = cts_malloc(total);
    c->block_end = cts_malloc(c->block_count * sizeof *c->block_end);
    if (c->blocks == NULL || c->block_end == NULL)
        return fail(c, CTS_ENOMEM, "block allocation", 0);
    return 0;
}

static int encode_dataset(codec_case *c)
{
    size_t used = 0;
    for (size_t b = 0; b < c->block_count; b++) {
        cts_block_input in = block_input(&c->data, b);
        int n = cts_block_encode(&in, c->blocks + used, cts_block_bound(&in), NULL);
        if (n < 0)
            return fail(c, n, "cts_block_encode", b);
        used += (size_t)n;
        c->block_end[b] = used;
    }
    uint8_t *shrunk = cts_realloc(c->blocks, used);
    if (shrunk != NULL)
        c->blocks = shrunk;
    return 0;
}

/* Decode block b and require the input's exact bits back. */
static int verify_block(codec_case *c, size_t b, const cts_block_info *info)
{
    cts_block_input in = block_input(&c->data, b);
    cts_block_output out = block_output(c->owner, c->data.type);
    size_t start = block_start(c, b);
    int n = cts_block_decode(c->blocks + start, c->block_end[b] - start, &out);
    if (n < 0)
        return fail(c, n, "cts_block_decode", b);
    const void *want_v = in.type == CTS_TYPE_INT ? (const void *)in.v.i : (const void *)in.v.f;
    const void *got_v = in.type == CTS_TYPE_INT ? (void *)out.v.i : (void *)out.v.f;
    size_t len = (size_t)in.count * 8;
    if ((uint32_t)n != in.count || info->count != in.count || memcmp(out.ts, in.ts, len) != 0 ||
        memcmp(got_v, want_v, len) != 0)
        return fail(c, CTS_ECORRUPT, "round trip differs from the input", b);
    return 0;
}

/* "codecs ts/value 01/04 x604, 01/05 x420": every (timestamp codec, value
 * codec) pair the blocks chose, with its number of blocks, in id order. */
static void describe_codecs(codec_case *c, const uint32_t *pair_blocks)
{
    size_t used = (size_t)snprintf(c->label, sizeof c->label, "codecs ts/value");
    const char *sep = " ";
    for (size_t p = 0; p < 65536 && used < sizeof c->label; p++) {
        if (pair_blocks[p] == 0)
            continue;
        used += (size_t)snprintf(c->label + used, sizeof c->label - used, "%s%02zx/%02zx x%u", sep,
                                 p >> 8, p & 0xff, pair_blocks[p]);
        sep = ", ";
    }
}

static int verify_dataset(codec_case *c)
{
    uint32_t *pair_blocks = cts_calloc(65536, sizeof *pair_blocks);
    if (pair_blocks == NULL)
        return fail(c, CTS_ENOMEM, "histogram allocation", 0);
    uint64_t section_bytes = 0, block_bytes = 0;
    int rc = 0;
    for (size_t b = 0; b < c->block_count && rc == 0; b++) {
        cts_block_info info;
        size_t start = block_start(c, b);
        int n = cts_block_info_read(c->blocks + start, c->block_end[b] - start, &info);
        if (n < 0) {
            rc = fail(c, n, "cts_block_info_read", b);
            break;
        }
        section_bytes += bench_dataset_is_ts(c->id) ? info.ts_bytes : info.value_bytes;
        block_bytes += info.block_bytes;
        pair_blocks[(size_t)info.ts_codec << 8 | info.value_codec]++;
        rc = verify_block(c, b, &info);
    }
    if (rc == 0) {
        c->section_bytes_per_value = (double)section_bytes / (double)c->data.count;
        c->block_bytes_per_value = (double)block_bytes / (double)c->data.count;
        describe_codecs(c, pair_blocks);
    }
    cts_free(pair_blocks);
    return rc;
}

static int prepare(codec_case *c)
{
    int rc = bench_dataset_init(&c->data, c->id, POINTS_PER_DATASET);
    if (rc < 0)
        return fail(c, rc, "dataset generation", 0);
    if ((rc = alloc_blocks(c)) < 0 || (rc = encode_dataset(c)) < 0 || (rc = verify_dataset(c)) < 0)
        return rc;
    c->status = CASE_READY;
    return 0;
}

/* True when c is ready; otherwise the run is marked failed. */
static bool case_ready(cts_bench_state *st, codec_case *c)
{
    if (c->status == CASE_NEW)
        (void)prepare(c);
    if (c->status == CASE_READY)
        return true;
    cts_bench_skip_with_error(st, c->error);
    return false;
}

/* ---- the timed work ---- */

static int encode_all(codec_case *c)
{
    bench_codec *owner = c->owner;
    cts_stats stats;
    for (size_t b = 0; b < c->block_count; b++) {
        cts_block_input in = block_input(&c->data, b);
        int n = cts_block_encode(&in, owner->scratch, owner->scratch_cap, &stats);
        if (n < 0)
            return n;
        cts_bench_do_not_optimize(owner->scratch);
        cts_bench_do_not_optimize(&stats);
    }
    return 0;
}

static int decode_all(codec_case *c)
{
    cts_block_output out = block_output(c->owner, c->data.type);
    for (size_t b = 0; b < c->block_count; b++) {
        size_t start = block_start(c, b);
        int n = cts_block_decode(c->blocks + start, c->block_end[b] - start, &out);
        if (n < 0)
            return n;
        cts_bench_do_not_optimize(out.ts);
        cts_bench_do_not_optimize(c->owner->out_v.i);
    }
    return 0;
}

static void report(cts_bench_state *st, const codec_case *c)
{
    int64_t points = cts_bench_iterations(st) * (int64_t)c->data.count;
    cts_bench_set_items_processed(st, points);
    cts_bench_set_bytes_processed(st, points * RAW_BYTES_PER_POINT);
    cts_bench_set_counter(st, "bytes_per_value", c->section_bytes_per_value,
                          CTS_BENCH_COUNTER_PLAIN);
    cts_bench_set_counter(st, "block_bytes_per_value", c->block_bytes_per_value,
                          CTS_BENCH_COUNTER_PLAIN);
    cts_bench_set_label(st, c->label);
}

static void run(cts_bench_state *st, codec_case *c, int (*pass)(codec_case *c))
{
    if (!case_ready(st, c))
        return;
    while (cts_bench_keep_running(st)) {
        int rc = pass(c);
        if (rc < 0) {
            cts_bench_skip_with_error(st, cts_strerror(rc));
            return;
        }
    }
    report(st, c);
}

static void run_encode(cts_bench_state *st, void *ctx)
{
    run(st, ctx, encode_all);
}

static void run_decode(cts_bench_state *st, void *ctx)
{
    run(st, ctx, decode_all);
}

/* ---- registration ---- */

static int register_case(codec_case *c)
{
    static const struct {
        const char *op;
        cts_bench_fn fn;
    } ops[] = {{"encode", run_encode}, {"decode", run_decode}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        char name[96];
        snprintf(name, sizeof name, "codec/%s/%s", bench_dataset_name(c->id), ops[k].op);
        cts_bench *b = cts_bench_register(name, ops[k].fn, c);
        if (cts_bench_time_unit(b, CTS_BENCH_MS) == NULL)
            return CTS_ENOMEM;
    }
    return 0;
}

int bench_codec_register(bench_codec **out)
{
    bench_codec *codec = cts_calloc(1, sizeof *codec);
    *out = NULL;
    if (codec == NULL)
        return CTS_ENOMEM;
    for (int id = 0; id < BENCH_DATASET_COUNT; id++) {
        codec_case *c = &codec->cases[id];
        c->owner = codec;
        c->id = (bench_dataset_id)id;
        if (register_case(c) < 0) {
            bench_codec_destroy(codec);
            return CTS_ENOMEM;
        }
    }
    *out = codec;
    return 0;
}

void bench_codec_destroy(bench_codec *codec)
{
    if (codec == NULL)
        return;
    for (int id = 0; id < BENCH_DATASET_COUNT; id++) {
        codec_case *c = &codec->cases[id];
        bench_dataset_fini(&c->data);
        cts_free(c->blocks);
        cts_free(c->block_end);
    }
    cts_free(codec->scratch);
    cts_free(codec);
}
