/*
 * test_catalog_restore_ids.c: restoring definitions with the id that the
 * catalog uses internally for "absent" (UINT32_MAX). Regression tests for
 * what fuzz_catalog found: a catalog file FIELD record with field id
 * 0xffffffff for a field not yet defined made cat_field_restore read
 * fields[0xffffffff] (a wild read, SEGV under ASan) because the lookup's
 * "not found" equalled the record's id; a SERIES record with that id for
 * a new key was accepted without defining anything. Both are now
 * CTS_ECORRUPT, through the API and when the file is loaded.
 */
#include "catalog.h"
#include "cts_test.h"

static void field_restore_refuses_absent_id(void **state)
{
    (void)state;
    cts_catalog *cat;
    assert_int_equal(cts_catalog_create(NULL, &cat), 0);
    cts_str m = {"air", 3}, f = {"f", 1};
    assert_int_equal(cts_catalog_field_restore(cat, UINT32_MAX, m, f, CTS_TYPE_FLOAT),
                     CTS_ECORRUPT);
    assert_int_equal(cts_catalog_field_count(cat), 0);
    /* the next id still works, and the same definition again is a no-op */
    assert_int_equal(cts_catalog_field_restore(cat, 0, m, f, CTS_TYPE_FLOAT), 0);
    assert_int_equal(cts_catalog_field_restore(cat, 0, m, f, CTS_TYPE_FLOAT), 0);
    assert_int_equal(cts_catalog_field_restore(cat, UINT32_MAX, m, (cts_str){"g", 1}, CTS_TYPE_INT),
                     CTS_ECORRUPT);
    cts_catalog_destroy(cat);
}

static void series_restore_refuses_absent_id(void **state)
{
    (void)state;
    cts_catalog *cat;
    assert_int_equal(cts_catalog_create(NULL, &cat), 0);
    cts_tag tag = {.key = {"city", 4}, .value = {"porto", 5}};
    uint32_t id;
    bool created;
    assert_int_equal(cts_catalog_series_intern(cat, (cts_str){"air", 3}, &tag, 1, &id, &created),
                     0);
    const uint8_t *key;
    size_t key_len;
    assert_int_equal(cts_catalog_series_key(cat, id, &key, &key_len), 0);
    uint8_t other[256];
    assert_true(key_len < sizeof other);
    memcpy(other, key, key_len);
    other[key_len - 1] = 'X'; /* "portX": a key the catalog does not have */
    assert_int_equal(cts_catalog_series_restore(cat, UINT32_MAX, other, key_len), CTS_ECORRUPT);
    assert_int_equal(cts_catalog_series_count(cat), 1);
    assert_int_equal(cts_catalog_series_restore(cat, id, key, key_len), 0);
    cts_catalog_destroy(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_restore_refuses_absent_id),
        cmocka_unit_test(series_restore_refuses_absent_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
