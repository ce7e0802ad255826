/*
 * test_dbset.c: the data directory as a set of databases (engine/dbset.c):
 * names are validated before they become paths, databases are created,
 * listed, opened once and shared, dropped atomically, and a drop waits for
 * every holder of a handle.
 */
#include "cts_engine.h"
#include "cts_test.h"

#include "../storage/scratch_dir.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static cts_dbset *open_set(scratch_dir *d)
{
    cts_dbset *s = NULL;
    assert_int_equal(scratch_make(d, "dbset"), 0);
    assert_int_equal(cts_dbset_open(d->path, NULL, &s), 0);
    return s;
}

static void write_one(cts_db *db, double v)
{
    cts_field f = {{"pm25", 4}, CTS_TYPE_FLOAT, {.f = v}};
    cts_point p = {{"air", 3}, NULL, 0, &f, 1, 1000};
    cts_write_result r;
    assert_int_equal(cts_db_write(db, &p, 1, &r), 0);
}

static void test_create_list_acquire(void **state)
{
    (void)state;
    scratch_dir d;
    cts_dbset *s = open_set(&d);
    cts_strlist *l = NULL;
    assert_int_equal(cts_dbset_list(s, &l), 0);
    assert_int_equal(l->count, 0);
    cts_free(l);
    cts_db *db = NULL;
    assert_int_equal(cts_dbset_acquire(s, "city", false, &db), CTS_ENOTFOUND);
    assert_null(db);
    assert_non_null(strstr(cts_dbset_errmsg(), "database not found: \"city\""));
    assert_int_equal(cts_dbset_create(s, "city"), 0);
    assert_int_equal(cts_dbset_create(s, "city"), 0); /* exists: not an error */
    assert_int_equal(cts_dbset_create(s, "b-2_x"), 0);
    assert_int_equal(cts_dbset_list(s, &l), 0);
    assert_int_equal(l->count, 2);
    assert_string_equal(l->items[0].ptr, "b-2_x");
    assert_string_equal(l->items[1].ptr, "city");
    cts_free(l);
    cts_db *a = NULL, *b = NULL;
    assert_int_equal(cts_dbset_acquire(s, "city", false, &a), 0);
    assert_int_equal(cts_dbset_acquire(s, "city", false, &b), 0);
    assert_ptr_equal(a, b); /* opened once, shared */
    write_one(a, 1.5);
    cts_dbset_release(s, a);
    cts_dbset_release(s, b);
    assert_int_equal(cts_dbset_close(s), 0);
    /* reopened: the data survived the close */
    assert_int_equal(cts_dbset_open(d.path, NULL, &s), 0);
    assert_int_equal(cts_dbset_acquire(s, "city", false, &a), 0);
    cts_db_stats st;
    cts_db_get_stats(a, &st);
    assert_int_equal(st.series, 1);
    cts_dbset_release(s, a);
    assert_int_equal(cts_dbset_close(s), 0);
    scratch_rm_tree(d.path);
}

static void test_names_cannot_escape(void **state)
{
    (void)state;
    static const char *bad[] = {"",    "..",     "../x", "a/b", "/etc", "a b",
                                "a.b", "%2e%2e", "a\\b", "é",   "x\n",  NULL};
    scratch_dir d;
    cts_dbset *s = open_set(&d);
    for (size_t i = 0; bad[i]; i++) {
        cts_db *db = NULL;
        assert_int_equal(cts_dbset_acquire(s, bad[i], true, &db), CTS_EINVAL);
        assert_int_equal(cts_dbset_create(s, bad[i]), CTS_EINVAL);
        assert_int_equal(cts_dbset_drop(s, bad[i]), CTS_EINVAL);
        assert_non_null(strstr(cts_dbset_errmsg(), "invalid database name"));
    }
    char longname[CTS_DB_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(cts_dbset_create(s, longname), CTS_EINVAL);
    longname[CTS_DB_NAME_MAX] = 0;
    assert_int_equal(cts_dbset_create(s, longname), 0);
    cts_db *db = NULL;
    assert_int_equal(cts_dbset_acquire(s, NULL, true, &db), CTS_EINVAL);
    assert_int_equal(cts_dbset_close(s), 0);
    scratch_rm_tree(d.path);
}

static void test_drop(void **state)
{
    (void)state;
    scratch_dir d;
    cts_dbset *s = open_set(&d);
    cts_db *db = NULL;
    assert_int_equal(cts_dbset_acquire(s, "gone", true, &db), 0);
    write_one(db, 2.0);
    assert_int_equal(cts_db_flush(db), 0);
    cts_dbset_release(s, db);
    assert_int_equal(cts_dbset_drop(s, "gone"), 0);
    assert_int_equal(cts_dbset_drop(s, "gone"), CTS_ENOTFOUND);
    char path[1024];
    snprintf(path, sizeof path, "%s/gone", d.path);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
    assert_int_equal(cts_dbset_acquire(s, "gone", false, &db), CTS_ENOTFOUND);
    /* recreated empty */
    assert_int_equal(cts_dbset_acquire(s, "gone", true, &db), 0);
    cts_db_stats dst;
    cts_db_get_stats(db, &dst);
    assert_int_equal(dst.series, 0);
    cts_dbset_release(s, db);
    assert_int_equal(cts_dbset_close(s), 0);
    /* a drop interrupted after its rename leaves a tree that open removes */
    snprintf(path, sizeof path, "%s/.dropped-x-7", d.path);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/.dropped-x-7/wal", d.path);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(cts_dbset_open(d.path, NULL, &s), 0);
    snprintf(path, sizeof path, "%s/.dropped-x-7", d.path);
    assert_int_not_equal(stat(path, &st), 0);
    cts_strlist *l = NULL;
    assert_int_equal(cts_dbset_list(s, &l), 0);
    assert_int_equal(l->count, 1); /* "gone", not the hidden leftover */
    cts_free(l);
    assert_int_equal(cts_dbset_close(s), 0);
    scratch_rm_tree(d.path);
}

typedef struct holder {
    cts_dbset *s;
    cts_db *db;
    int released;
} holder;

static void *release_later(void *arg)
{
    holder *h = arg;
    usleep(50 * 1000);
    __atomic_store_n(&h->released, 1, __ATOMIC_SEQ_CST);
    cts_dbset_release(h->s, h->db);
    return NULL;
}

static void test_drop_waits_for_holders(void **state)
{
    (void)state;
    scratch_dir d;
    cts_dbset *s = open_set(&d);
    holder h = {s, NULL, 0};
    assert_int_equal(cts_dbset_acquire(s, "busy", true, &h.db), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_later, &h), 0);
    assert_int_equal(cts_dbset_drop(s, "busy"), 0);
    assert_int_equal(__atomic_load_n(&h.released, __ATOMIC_SEQ_CST), 1);
    pthread_join(t, NULL);
    assert_int_equal(cts_dbset_close(s), 0);
    scratch_rm_tree(d.path);
}

static void test_open_errors(void **state)
{
    (void)state;
    cts_dbset *s = (cts_dbset *)1;
    assert_int_equal(cts_dbset_open("", NULL, &s), CTS_EINVAL);
    assert_null(s);
    assert_int_not_equal(cts_dbset_open("/proc/cityts-cannot-create/x", NULL, &s), 0);
    assert_null(s);
    assert_int_equal(cts_dbset_close(NULL), 0);
    cts_dbset_release(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_list_acquire),
        cmocka_unit_test(test_names_cannot_escape),
        cmocka_unit_test(test_drop),
        cmocka_unit_test(test_drop_waits_for_holders),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
