/* String codec: dictionary vs plain choice, exact round trips (empty
 * strings, binary bytes), and hostile input that must never crash. */
#include "cts_test.h"
#include "storage_int.h"

#include <stdlib.h>

enum { N = 700 };

static int encode(const cts_str *v, uint32_t n, uint8_t **enc, uint8_t *codec)
{
    size_t cap = cts_str_bound(v, n);
    *enc = malloc(cap);
    return cts_str_encode(v, n, *enc, cap, codec);
}

static void check_round_trip(const cts_str *v, uint32_t n, uint8_t want_codec)
{
    uint8_t *enc, codec = 0;
    int len = encode(v, n, &enc, &codec);
    assert_true(len >= 0);
    if (want_codec)
        assert_int_equal(codec, want_codec);
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += v[i].len;
    char *arena = malloc(total + 1);
    cts_str *out = calloc(n + 1, sizeof *out);
    assert_int_equal(cts_str_decode(codec, enc, (size_t)len, out, n, arena, total), 0);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(out[i].len, v[i].len);
        if (v[i].len)
            assert_memory_equal(out[i].ptr, v[i].ptr, v[i].len);
    }
    /* a different total is corruption, not a silent truncation */
    if (total)
        assert_int_equal(cts_str_decode(codec, enc, (size_t)len, out, n, arena, total - 1),
                         CTS_ECORRUPT);
    /* every truncation fails */
    for (int cut = 0; cut < len; cut++) {
        uint8_t *t = malloc((size_t)cut + 1);
        memcpy(t, enc, (size_t)cut);
        assert_int_not_equal(cts_str_decode(codec, t, (size_t)cut, out, n, arena, total), 0);
        free(t);
    }
    free(out);
    free(arena);
    free(enc);
}

static void dictionary_for_repeats(void **state)
{
    (void)state;
    static const char *w[] = {"ok", "fault", "", "maintenance"};
    cts_str v[N];
    cts_rng r = {2};
    for (int i = 0; i < N; i++) {
        const char *s = w[cts_rng_below(&r, 4)];
        v[i] = (cts_str){s, (uint32_t)strlen(s)};
    }
    check_round_trip(v, N, CTS_CODEC_STR_DICT);
}

static void plain_for_unique(void **state)
{
    (void)state;
    static char text[N][24];
    cts_str v[N];
    for (int i = 0; i < N; i++) {
        int len = snprintf(text[i], sizeof text[i], "sensor-%d\x01\xff", i * 7919);
        v[i] = (cts_str){text[i], (uint32_t)len};
    }
    check_round_trip(v, N, CTS_CODEC_STR_PLAIN);
}

static void small_and_empty(void **state)
{
    (void)state;
    cts_str one = {"", 0};
    check_round_trip(&one, 1, 0);
    cts_str two[2] = {{"a", 1}, {"a", 1}};
    check_round_trip(two, 2, 0);
}

static void hostile_bytes_never_crash(void **state)
{
    (void)state;
    cts_rng r = {3};
    cts_str out[64];
    char arena[256];
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t buf[96];
        size_t len = cts_rng_below(&r, sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)cts_rng_below(&r, 8) == 0 ? 0xff : (uint8_t)cts_rng_below(&r, 6);
        uint32_t n = (uint32_t)cts_rng_below(&r, 64) + 1;
        size_t total = cts_rng_below(&r, sizeof arena);
        uint8_t codec = cts_rng_below(&r, 2) ? CTS_CODEC_STR_DICT : CTS_CODEC_STR_PLAIN;
        int rc = cts_str_decode(codec, buf, len, out, n, arena, total);
        assert_true(rc == 0 || rc == CTS_ECORRUPT);
    }
}

static void enospace(void **state)
{
    (void)state;
    cts_str v[3] = {{"abc", 3}, {"abc", 3}, {"defg", 4}};
    uint8_t *enc, codec;
    int len = encode(v, 3, &enc, &codec);
    assert_true(len > 0);
    for (int cap = 0; cap < len; cap++)
        assert_int_equal(cts_str_encode(v, 3, enc, (size_t)cap, &codec), CTS_ENOSPACE);
    free(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dictionary_for_repeats),
        cmocka_unit_test(plain_for_unique),
        cmocka_unit_test(small_and_empty),
        cmocka_unit_test(hostile_bytes_never_crash),
        cmocka_unit_test(enospace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
