/* The error table: every code has a distinct name and a message; unknown
 * codes still get text (never NULL). The allocation hook fails on demand. */
#include "cts_test.h"
#include "cts_storage.h"

static void every_code_has_text(void **state)
{
    (void)state;
    static const int codes[] = {
#define X(name, value, msg) value,
        CTS_ERR_TABLE(X)
#undef X
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_non_null(cts_strerror(codes[i]));
        assert_string_not_equal(cts_strerror(codes[i]), "unknown error");
        assert_string_not_equal(cts_errname(codes[i]), "CTS_EUNKNOWN");
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
    assert_string_equal(cts_strerror(12345), "unknown error");
    assert_string_equal(cts_errname(-999), "CTS_EUNKNOWN");
    assert_string_equal(cts_errname(CTS_ECHECKSUM), "CTS_ECHECKSUM");
}

static void type_names(void **state)
{
    (void)state;
    assert_string_equal(cts_type_name(CTS_TYPE_FLOAT), "float");
    assert_string_equal(cts_type_name(CTS_TYPE_INT), "integer");
    assert_string_equal(cts_type_name(CTS_TYPE_UINT), "unsigned");
    assert_string_equal(cts_type_name(CTS_TYPE_BOOL), "boolean");
    assert_string_equal(cts_type_name(CTS_TYPE_STRING), "string");
    assert_string_equal(cts_type_name((cts_type)99), "unknown");
}

static void alloc_fails_after_n(void **state)
{
    (void)state;
    cts_alloc_fail_after(2);
    void *a = cts_malloc(8), *b = cts_calloc(2, 8), *c = cts_malloc(8), *d = cts_realloc(NULL, 4);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_null(d);
    assert_int_equal(cts_alloc_failures(), 2);
    cts_alloc_fail_after(-1);
    void *e = cts_malloc(0);
    assert_non_null(e);
    cts_free(a);
    cts_free(b);
    cts_free(e);
    cts_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_text),
        cmocka_unit_test(type_names),
        cmocka_unit_test(alloc_fails_after_n),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
