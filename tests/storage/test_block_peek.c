/*
 * test_block_peek.c: cts_block_info_peek, the header read without the CRC
 * pass that the engine uses before allocating a decode's output. Regression
 * tests for what fuzz_block found: a flipped byte in a string block's
 * "total string bytes" field made peek hand a size of up to 4 GiB to the
 * caller, who allocated it before the decode's CRC check refused the block
 * (under memory limits the query failed with "out of memory" instead of a
 * checksum error naming the block).
 */
#include "cts_test.h"
#include "cts_storage.h"

#define N 1000u

static int encode_strings(const char *text, uint8_t **out)
{
    static cts_str s[N];
    static int64_t ts[N];
    for (uint32_t i = 0; i < N; i++) {
        s[i] = (cts_str){.ptr = text, .len = strlen(text)};
        ts[i] = (int64_t)i * 1000;
    }
    cts_block_input in = {.type = CTS_TYPE_STRING, .count = N, .ts = ts};
    in.v.s = s;
    size_t cap = cts_block_bound(&in);
    *out = malloc(cap);
    assert_non_null(*out);
    int len = cts_block_encode(&in, *out, cap, NULL);
    assert_true(len > 0);
    return len;
}

/* Every flip of a bit of the str_bytes field that raises it past 1 MiB
 * (and the block's length) is refused by peek with CTS_ECHECKSUM. */
static void peek_refuses_flipped_string_size(void **state)
{
    (void)state;
    uint8_t *b;
    int len = encode_strings("a", &b);
    cts_block_info info;
    assert_int_equal(cts_block_info_peek(b, (size_t)len, &info), len);
    assert_int_equal(info.str_bytes, N);
    int refused = 0;
    for (int bit = 0; bit < 32; bit++) {
        b[20 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
        uint32_t claimed =
            (uint32_t)b[20] | (uint32_t)b[21] << 8 | (uint32_t)b[22] << 16 | (uint32_t)b[23] << 24;
        int rc = cts_block_info_peek(b, (size_t)len, &info);
        if (claimed > (1u << 20) && claimed > (uint32_t)len) {
            assert_int_equal(rc, CTS_ECHECKSUM);
            refused++;
        } else {
            assert_int_equal(rc, len); /* small sizes: peek does not look further */
        }
        assert_int_equal(cts_block_info_read(b, (size_t)len, &info), CTS_ECHECKSUM);
        b[20 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(refused, 12); /* bits 20..31 */
    free(b);
}

/* A genuine dictionary block whose strings outweigh the block many times
 * still peeks (its CRC is good) and decodes. */
static void peek_accepts_compressed_strings(void **state)
{
    (void)state;
    uint8_t *b;
    static char text[2048]; /* 1000 x 2047 bytes: 2 MB of strings in a small block */
    memset(text, 'x', sizeof text - 1);
    int len = encode_strings(text, &b);
    cts_block_info info;
    assert_int_equal(cts_block_info_peek(b, (size_t)len, &info), len);
    assert_true(info.str_bytes > (1u << 20) && info.str_bytes > (uint32_t)len);
    int64_t *ts = malloc(N * sizeof *ts);
    cts_str *s = malloc(N * sizeof *s);
    char *arena = malloc(info.str_bytes);
    cts_block_output out = {
        .ts = ts, .cap_count = N, .str_arena = arena, .str_arena_cap = info.str_bytes};
    out.v.s = s;
    assert_int_equal(cts_block_decode(b, (size_t)len, &out), N);
    assert_int_equal(s[N - 1].len, strlen(text));
    assert_memory_equal(s[N - 1].ptr, text, strlen(text));
    free(ts);
    free(s);
    free(arena);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peek_refuses_flipped_string_size),
        cmocka_unit_test(peek_accepts_compressed_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
