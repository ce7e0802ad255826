/*
 * fuzz_block.c: libFuzzer target for the column block reader
 * (storage/block.c and the codecs: cts_block_info_read, cts_block_info_peek,
 * cts_block_decode).
 *
 * The first input byte is the mode; the rest is the block. Mode bit 0 asks
 * for the trailing CRC32C to be recomputed over the sections the header
 * names (so mutations reach the codecs instead of stopping at the
 * checksum); bit 1 asks for a second decode into arrays one point too small.
 * Checked, besides the sanitizers (the output arrays are allocated at
 * exactly the sizes the header gives, so any overflow is reported):
 *   1. every call returns a length/count or a documented error code;
 *   2. info_read and info_peek agree on the header when both succeed, and
 *      info_read succeeds only if peek does;
 *   3. a decode that succeeds returns the header's count, after info_read
 *      succeeded on the same bytes; a decode into too small arrays returns
 *      CTS_ENOSPACE and nothing else;
 *   4. the decoded points encode again, and that block decodes to the same
 *      points (the decoder's output is a value the encoder accepts).
 * A mismatch aborts, so libFuzzer keeps the input as a crash.
 */
#include "cts_storage.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define HEADER_BYTES 96u
#define MAX_ARENA (64u << 20)

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the CRC at 96+T+V when the header's sections fit. */
static void fix_crc(uint8_t *b, size_t len)
{
    if (len < HEADER_BYTES + 4)
        return;
    uint64_t end = (uint64_t)HEADER_BYTES + get_u32(b + 12) + get_u32(b + 16);
    if (end + 4 > len)
        return;
    put_u32(b + end, cts_crc32c(b, (size_t)end));
}

static bool same_header(const cts_block_info *a, const cts_block_info *b)
{
    return a->type == b->type && a->count == b->count && a->ts_codec == b->ts_codec &&
           a->value_codec == b->value_codec && a->ts_bytes == b->ts_bytes &&
           a->value_bytes == b->value_bytes && a->str_bytes == b->str_bytes &&
           a->block_bytes == b->block_bytes && a->stats.min_ts == b->stats.min_ts &&
           a->stats.max_ts == b->stats.max_ts;
}

static bool is_error(int rc)
{
    return rc == CTS_ECORRUPT || rc == CTS_ECHECKSUM || rc == CTS_EVERSION || rc == CTS_ENOMEM;
}

/* Output arrays of exactly `count` points (and `str_bytes` of strings). */
typedef struct arrays {
    int64_t *ts;
    void *vals;
    char *arena;
    cts_block_output out;
} arrays;

static size_t value_size(cts_type t)
{
    switch (t) {
    case CTS_TYPE_BOOL:
        return 1;
    case CTS_TYPE_STRING:
        return sizeof(cts_str);
    default:
        return 8;
    }
}

static void arrays_alloc(arrays *a, const cts_block_info *info, uint32_t count)
{
    memset(a, 0, sizeof *a);
    size_t n = count ? count : 1;
    a->ts = malloc(n * sizeof *a->ts);
    a->vals = malloc(n * value_size(info->type));
    a->arena = malloc(info->str_bytes ? info->str_bytes : 1);
    CHECK(a->ts && a->vals && a->arena);
    a->out.ts = a->ts;
    a->out.v.f = a->vals; /* every member of the union is a pointer */
    a->out.cap_count = count;
    a->out.str_arena = a->arena;
    a->out.str_arena_cap = info->str_bytes;
}

static void arrays_free(arrays *a)
{
    free(a->ts);
    free(a->vals);
    free(a->arena);
}

static bool values_equal(cts_type t, const arrays *a, const arrays *b, uint32_t n)
{
    if (memcmp(a->ts, b->ts, n * sizeof *a->ts) != 0)
        return false;
    if (t != CTS_TYPE_STRING)
        return memcmp(a->vals, b->vals, n * value_size(t)) == 0;
    const cts_str *x = a->vals, *y = b->vals;
    for (uint32_t i = 0; i < n; i++)
        if (x[i].len != y[i].len || (x[i].len && memcmp(x[i].ptr, y[i].ptr, x[i].len) != 0))
            return false;
    return true;
}

/* Encode the decoded points again and decode that block: same points. */
static void check_reencode(const cts_block_info *info, const arrays *a, uint32_t n)
{
    cts_block_input in = {.type = info->type, .count = n, .ts = a->ts};
    in.v.f = a->vals;
    size_t bound = cts_block_bound(&in);
    CHECK(bound > 0);
    uint8_t *blk = malloc(bound);
    CHECK(blk);
    int len = cts_block_encode(&in, blk, bound, NULL);
    CHECK(len > 0 || len == CTS_ENOMEM);
    if (len > 0) {
        cts_block_info info2;
        CHECK(cts_block_info_read(blk, (size_t)len, &info2) == len);
        CHECK(info2.count == n && info2.type == info->type);
        arrays b;
        arrays_alloc(&b, &info2, n);
        int rc = cts_block_decode(blk, (size_t)len, &b.out);
        CHECK(rc == (int)n || rc == CTS_ENOMEM);
        if (rc == (int)n)
            CHECK(values_equal(info->type, a, &b, n));
        arrays_free(&b);
    }
    free(blk);
}

static void decode_checked(const uint8_t *b, size_t len, const cts_block_info *info, int read_rc,
                           bool too_small)
{
    arrays a;
    arrays_alloc(&a, info, info->count);
    int rc = cts_block_decode(b, len, &a.out);
    CHECK(rc == (int)info->count || is_error(rc));
    if (rc > 0) {
        CHECK(read_rc > 0);
        check_reencode(info, &a, (uint32_t)rc);
    }
    arrays_free(&a);
    if (too_small && info->count > 1) {
        arrays s;
        arrays_alloc(&s, info, info->count - 1);
        rc = cts_block_decode(b, len, &s.out);
        CHECK(rc == CTS_ENOSPACE || is_error(rc));
        arrays_free(&s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t len = size - 1;
    /* An exact-size copy, so ASan sees any read past the end. */
    uint8_t *b = malloc(len ? len : 1);
    CHECK(b);
    memcpy(b, data + 1, len);
    if (mode & 1)
        fix_crc(b, len);

    cts_block_info ri, pi;
    memset(&ri, 0, sizeof ri);
    memset(&pi, 0, sizeof pi);
    int read_rc = cts_block_info_read(b, len, &ri);
    int peek_rc = cts_block_info_peek(b, len, &pi);
    CHECK(read_rc > 0 || is_error(read_rc));
    CHECK(peek_rc > 0 || is_error(peek_rc));
    if (read_rc > 0) {
        CHECK(peek_rc == read_rc && (size_t)read_rc <= len);
        CHECK(same_header(&ri, &pi));
        CHECK(ri.count >= 1 && ri.count <= CTS_BLOCK_MAX_COUNT &&
              ri.block_bytes == (uint32_t)read_rc);
    }
    if (peek_rc > 0) {
        CHECK(pi.count >= 1 && pi.count <= CTS_BLOCK_MAX_COUNT && (size_t)peek_rc <= len);
        /* peek checks the CRC of a string block claiming more than 1 MiB
         * and more than its length (so a flipped size is never allocated) */
        CHECK(pi.str_bytes <= (1u << 20) || pi.str_bytes <= pi.block_bytes || read_rc > 0);
        /* A block with a good CRC may ask for up to 4 GiB of strings (a
         * dictionary of long values); too slow to allocate per input. */
        if (pi.str_bytes <= MAX_ARENA)
            decode_checked(b, len, &pi, read_rc, (mode & 2) != 0);
    }
    free(b);
    return 0;
}
