/* CRC32C: known vectors, hardware vs. portable, and incremental extension. */
#include "cts_test.h"
#include "cts_storage.h"

uint32_t cts_crc32c_sw(uint32_t crc, const void *data, size_t len);

static void known_vectors(void **state)
{
    (void)state;
    assert_int_equal(cts_crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(cts_crc32c("", 0), 0);
    uint8_t zeros[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    /* RFC 3720 (iSCSI) test vectors */
    assert_int_equal(cts_crc32c(zeros, 32), 0x8A9136AAu);
    assert_int_equal(cts_crc32c(ones, 32), 0x62A8AB43u);
}

static void hw_matches_sw_and_extends(void **state)
{
    (void)state;
    cts_rng r = {42};
    uint8_t buf[4099];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)cts_rng_next(&r);
    for (int iter = 0; iter < 2000; iter++) {
        size_t off = cts_rng_below(&r, 64), len = cts_rng_below(&r, sizeof buf - 64);
        size_t cut = len ? cts_rng_below(&r, len) : 0;
        uint32_t whole = cts_crc32c(buf + off, len);
        assert_int_equal(whole, cts_crc32c_sw(0, buf + off, len));
        uint32_t part = cts_crc32c_extend(cts_crc32c(buf + off, cut), buf + off + cut, len - cut);
        assert_int_equal(whole, part);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_vectors),
        cmocka_unit_test(hw_matches_sw_and_extends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
