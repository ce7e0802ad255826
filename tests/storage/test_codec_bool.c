/* Bool bitmap codec: exact round trips, strict padding, hostile lengths. */
#include "cts_test.h"
#include "storage_int.h"

static void round_trip(void **state)
{
    (void)state;
    cts_rng r = {1};
    uint8_t v[1100], out[1100], enc[200];
    for (int iter = 0; iter < 2000; iter++) {
        uint32_t n = (uint32_t)cts_rng_below(&r, 1100) + 1;
        for (uint32_t i = 0; i < n; i++)
            v[i] = (uint8_t)cts_rng_below(&r, 2);
        uint8_t codec = 0xff;
        int len = cts_bool_encode(v, n, enc, sizeof enc, &codec);
        assert_int_equal(len, (int)cts_bool_bound(n));
        assert_int_equal(codec, CTS_CODEC_BOOL_BITMAP);
        assert_int_equal(cts_bool_decode(codec, enc, (size_t)len, out, n), 0);
        assert_memory_equal(v, out, n);
        assert_int_equal(cts_bool_encode(v, n, enc, (size_t)len - 1, &codec), CTS_ENOSPACE);
    }
}

static void malformed(void **state)
{
    (void)state;
    uint8_t enc[2] = {0xff, 0x01}, out[16];
    assert_int_equal(cts_bool_decode(CTS_CODEC_BOOL_BITMAP, enc, 2, out, 9), 0);
    enc[1] = 0x03; /* padding bit set */
    assert_int_equal(cts_bool_decode(CTS_CODEC_BOOL_BITMAP, enc, 2, out, 9), CTS_ECORRUPT);
    assert_int_equal(cts_bool_decode(CTS_CODEC_BOOL_BITMAP, enc, 1, out, 9), CTS_ECORRUPT);
    assert_int_equal(cts_bool_decode(CTS_CODEC_BOOL_BITMAP, enc, 2, out, 8), CTS_ECORRUPT);
    assert_int_equal(cts_bool_decode(CTS_CODEC_RAW, enc, 2, out, 16), CTS_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
