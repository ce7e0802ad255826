/*
 * test_payload_frame.c: the framing of the engine's WAL payloads
 * (engine/payload.c, pl_frame / pl_unframe). Regression tests for what
 * fuzz_wal found: an LZ4-framed record claiming a decompressed length far
 * beyond what its bytes can expand to (up to 1 GiB) was allocated in full
 * before the decompression refused it.
 */
#include "cts_test.h"
#include "payload.h"

/* A frame's claim past 255 x its compressed bytes is refused at once; a
 * genuine, highly compressible record still round-trips. */
static void unframe_refuses_impossible_lz4_length(void **state)
{
    (void)state;
    cts_buf e = {0}, rec = {0}, scratch = {0};
    cts_str m = {"m", 1};
    int64_t prev = 0;
    for (int i = 0; i < 2000; i++) {
        cts_value v = {.i = 7};
        assert_int_equal(pl_put_point(&e, 3, 1000 + i, &prev, 1), 0);
        assert_int_equal(pl_put_value(&e, 1, CTS_TYPE_INT, &v), 0);
    }
    assert_int_equal(pl_put_field(&e, 1, m, m, CTS_TYPE_INT), 0);
    assert_int_equal(pl_frame(&e, &rec), 0);
    assert_int_equal(rec.p[0], 1); /* compressed */
    const uint8_t *p;
    size_t len;
    assert_int_equal(pl_unframe(rec.p, rec.len, &scratch, &p, &len), 0);
    assert_int_equal(len, e.len);
    assert_memory_equal(p, e.p, len);

    cts_rng r = {5};
    for (int k = 0; k < 200; k++) {
        uint32_t claim = (uint32_t)((rec.len - 5) * 255 + 65 + cts_rng_below(&r, 1u << 30));
        if (claim > (1u << 30))
            claim = 1u << 30;
        rec.p[1] = (uint8_t)claim;
        rec.p[2] = (uint8_t)(claim >> 8);
        rec.p[3] = (uint8_t)(claim >> 16);
        rec.p[4] = (uint8_t)(claim >> 24);
        scratch.len = 0;
        assert_int_equal(pl_unframe(rec.p, rec.len, &scratch, &p, &len), CTS_ECORRUPT);
        assert_true(scratch.cap < (1u << 20)); /* nothing of the claim was reserved */
    }
    cts_buf_fini(&e);
    cts_buf_fini(&rec);
    cts_buf_fini(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unframe_refuses_impossible_lz4_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
