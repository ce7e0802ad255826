/*
 * test_vfs.c: the posix VFS (every call, O_CLOEXEC, -errno returns, large
 * directory listings), cts_err_from_errno, and the fault VFS: scheduled
 * failures, short writes, counters, and what a simulated power loss keeps
 * and undoes.
 */
#include "cts_test.h"
#include "scratch_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static const cts_vfs *P;

static int open_rw(const cts_vfs *v, const char *path, int create)
{
    return v->open(v->ctx, path, O_RDWR | (create ? O_CREAT : 0), 0644);
}

static uint64_t size_of(const char *path)
{
    int fd = P->open(P->ctx, path, O_RDONLY, 0);
    if (fd < 0)
        return UINT64_MAX;
    uint64_t n = 0;
    assert_int_equal(P->fsize(P->ctx, fd, &n), 0);
    P->close(P->ctx, fd);
    return n;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---- posix ---- */

static void test_posix_files(void **state)
{
    (void)state;
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "vfs"), 0);
    char a[600], b[600];
    scratch_join(a, sizeof a, d.path, "a");
    scratch_join(b, sizeof b, d.path, "b");
    assert_int_equal(P->open(P->ctx, a, O_RDONLY, 0), -ENOENT);
    int fd = open_rw(P, a, 1);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(P->pwrite(P->ctx, fd, "hello world", 11, 100), 11);
    uint64_t n;
    assert_int_equal(P->fsize(P->ctx, fd, &n), 0);
    assert_int_equal(n, 111);
    char buf[16] = {0};
    assert_int_equal(P->pread(P->ctx, fd, buf, 5, 106), 5);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(P->pread(P->ctx, fd, buf, 5, 500), 0);
    assert_int_equal(P->fsync(P->ctx, fd), 0);
    assert_int_equal(P->fdatasync(P->ctx, fd), 0);
    assert_int_equal(P->ftruncate(P->ctx, fd, 50), 0);
    assert_int_equal(P->fsize(P->ctx, fd, &n), 0);
    assert_int_equal(n, 50);
    assert_int_equal(P->close(P->ctx, fd), 0);
    assert_int_equal(P->pwrite(P->ctx, fd, "x", 1, 0), -EBADF);
    assert_int_equal(P->rename(P->ctx, a, b), 0);
    assert_false(exists(a));
    assert_int_equal(P->unlink(P->ctx, b), 0);
    assert_int_equal(P->unlink(P->ctx, b), -ENOENT);
    assert_int_equal(P->mkdir(P->ctx, a, 0755), 0);
    assert_int_equal(P->mkdir(P->ctx, a, 0755), -EEXIST);
    assert_int_equal(P->fsync_dir(P->ctx, a), 0);
    assert_int_equal(P->rmdir(P->ctx, a), 0);
    assert_int_equal(P->fsync_dir(P->ctx, a), -ENOENT);
    scratch_remove(&d);
}

typedef struct seen {
    int count;
    int dots;
    int stop_at;
} seen;

static int count_entry(void *arg, const char *name)
{
    seen *s = arg;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        s->dots++;
    s->count++;
    return s->stop_at && s->count == s->stop_at ? 42 : 0;
}

static void test_posix_list_dir(void **state)
{
    (void)state;
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "vfsl"), 0);
    /* Enough long names to need several getdents64 calls. */
    for (int i = 0; i < 400; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/entry-with-a-rather-long-name-%04d", d.path, i);
        int fd = open_rw(P, p, 1);
        assert_true(fd >= 0);
        P->close(P->ctx, fd);
    }
    seen s = {0};
    assert_int_equal(P->list_dir(P->ctx, d.path, count_entry, &s), 0);
    assert_int_equal(s.count, 400);
    assert_int_equal(s.dots, 0);
    s = (seen){.stop_at = 7};
    assert_int_equal(P->list_dir(P->ctx, d.path, count_entry, &s), 42);
    assert_int_equal(s.count, 7);
    char missing[600];
    scratch_join(missing, sizeof missing, d.path, "nope");
    assert_int_equal(P->list_dir(P->ctx, missing, count_entry, &s), -ENOENT);
    scratch_remove(&d);
}

static void test_err_from_errno(void **state)
{
    (void)state;
    assert_int_equal(cts_err_from_errno(0), CTS_OK);
    assert_int_equal(cts_err_from_errno(-ENOSPC), CTS_ENOSPC);
    assert_int_equal(cts_err_from_errno(-EDQUOT), CTS_ENOSPC);
    assert_int_equal(cts_err_from_errno(-ENOMEM), CTS_ENOMEM);
    assert_int_equal(cts_err_from_errno(-ENOENT), CTS_ENOTFOUND);
    assert_int_equal(cts_err_from_errno(-EEXIST), CTS_EEXIST);
    assert_int_equal(cts_err_from_errno(-EIO), CTS_EIO);
    assert_int_equal(cts_err_from_errno(-EPERM), CTS_EIO);
    assert_int_equal(cts_err_from_errno(-EBADF), CTS_EIO);
}

/* ---- fault VFS ---- */

static void test_fault_schedule(void **state)
{
    (void)state;
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "vfsf"), 0);
    char a[600];
    scratch_join(a, sizeof a, d.path, "a");
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(NULL, &f), CTS_EINVAL);
    assert_int_equal(cts_vfs_fault_create(P, &f), 0);
    const cts_vfs *v = cts_vfs_fault_vfs(f);
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_COUNT, 1, EIO, CTS_FAULT_ONCE), CTS_EINVAL);
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_PWRITE, 0, EIO, CTS_FAULT_ONCE), CTS_EINVAL);
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_PWRITE, 1, 0, CTS_FAULT_ONCE), CTS_EINVAL);
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_PWRITE, 1, EIO, 0), CTS_EINVAL);

    int fd = open_rw(v, a, 1);
    assert_true(fd >= 0);
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_PWRITE, 3, EIO, CTS_FAULT_ONCE), 0);
    assert_int_equal(v->pwrite(v->ctx, fd, "aa", 2, 0), 2);
    assert_int_equal(v->pwrite(v->ctx, fd, "bb", 2, 2), 2);
    assert_int_equal(v->pwrite(v->ctx, fd, "cc", 2, 4), -EIO);
    assert_int_equal(v->pwrite(v->ctx, fd, "dd", 2, 4), 2);
    assert_int_equal(size_of(a), 6);

    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_FDATASYNC, 2, ENOSPC, CTS_FAULT_PERSIST), 0);
    assert_int_equal(v->fdatasync(v->ctx, fd), 0);
    assert_int_equal(v->fdatasync(v->ctx, fd), -ENOSPC);
    assert_int_equal(v->fdatasync(v->ctx, fd), -ENOSPC);
    assert_int_equal(cts_vfs_fault_calls(f, CTS_VFS_OP_PWRITE), 4);
    assert_int_equal(cts_vfs_fault_calls(f, CTS_VFS_OP_FDATASYNC), 3);
    assert_int_equal(cts_vfs_fault_injected(f), 3);
    assert_int_equal(cts_vfs_fault_calls(f, CTS_VFS_OP_COUNT), 0);
    assert_string_equal(cts_vfs_op_name(CTS_VFS_OP_FSYNC_DIR), "fsync_dir");
    assert_string_equal(cts_vfs_op_name(CTS_VFS_OP_COUNT), "unknown");

    cts_vfs_fault_short_writes(f, 3);
    assert_int_equal(v->pwrite(v->ctx, fd, "0123456789", 10, 0), 3);
    cts_vfs_fault_short_writes(f, 0);
    assert_int_equal(v->pwrite(v->ctx, fd, "0123456789", 10, 0), 10);

    /* A failed close still releases the descriptor. */
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_CLOSE, 1, EIO, CTS_FAULT_ONCE), 0);
    assert_int_equal(v->close(v->ctx, fd), -EIO);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    cts_vfs_fault_reset(f);
    assert_int_equal(cts_vfs_fault_calls(f, CTS_VFS_OP_PWRITE), 0);
    assert_int_equal(cts_vfs_fault_injected(f), 0);
    cts_vfs_fault_destroy(f);
    cts_vfs_fault_destroy(NULL);
    scratch_remove(&d);
}

static void test_power_loss_data(void **state)
{
    (void)state;
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "vfsp"), 0);
    char a[600], b[600];
    scratch_join(a, sizeof a, d.path, "a");
    scratch_join(b, sizeof b, d.path, "b");
    /* b exists before the fault VFS sees it: durable as found. */
    int pfd = open_rw(P, b, 1);
    assert_int_equal(P->pwrite(P->ctx, pfd, "0123456789", 10, 0), 10);
    P->close(P->ctx, pfd);

    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(P, &f), 0);
    const cts_vfs *v = cts_vfs_fault_vfs(f);
    int fa = open_rw(v, a, 1);
    assert_int_equal(v->fsync_dir(v->ctx, d.path), 0);
    uint8_t buf[150];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(v->pwrite(v->ctx, fa, buf, 100, 0), 100);
    assert_int_equal(v->fdatasync(v->ctx, fa), 0);
    assert_int_equal(v->pwrite(v->ctx, fa, buf, 50, 100), 50);
    int fb = open_rw(v, b, 0);
    assert_int_equal(v->pwrite(v->ctx, fb, buf, 5, 10), 5);

    assert_int_equal(cts_vfs_fault_power_loss(f, 0), 0);
    assert_int_equal(size_of(a), 100);
    assert_int_equal(size_of(b), 10);
    /* The machine is off until reset; close still releases. */
    assert_int_equal(v->pwrite(v->ctx, fa, buf, 1, 0), -EIO);
    assert_int_equal(v->open(v->ctx, a, O_RDONLY, 0), -EIO);
    v->close(v->ctx, fa);
    v->close(v->ctx, fb);
    assert_int_equal(fcntl(fa, F_GETFD), -1);
    cts_vfs_fault_reset(f);

    /* A seeded loss keeps part of the unsynced tail. */
    fa = open_rw(v, a, 0);
    assert_true(fa >= 0);
    assert_int_equal(v->pwrite(v->ctx, fa, buf, 150, 100), 150);
    assert_int_equal(cts_vfs_fault_power_loss(f, 12345), 0);
    v->close(v->ctx, fa);
    uint64_t n = size_of(a);
    assert_true(n >= 100 && n <= 250);
    cts_vfs_fault_reset(f);
    cts_vfs_fault_destroy(f);
    scratch_remove(&d);
}

static void test_power_loss_names(void **state)
{
    (void)state;
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "vfsn"), 0);
    char a[600], b[600], c[600], sub[600], subf[700];
    scratch_join(a, sizeof a, d.path, "a");
    scratch_join(b, sizeof b, d.path, "b");
    scratch_join(c, sizeof c, d.path, "c");
    scratch_join(sub, sizeof sub, d.path, "sub");
    scratch_join(subf, sizeof subf, sub, "f");
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(P, &f), 0);
    const cts_vfs *v = cts_vfs_fault_vfs(f);

    /* a: created and synced; the directory sync below covers it. */
    int fd = open_rw(v, a, 1);
    assert_int_equal(v->pwrite(v->ctx, fd, "data", 4, 0), 4);
    assert_int_equal(v->fsync(v->ctx, fd), 0);
    v->close(v->ctx, fd);
    /* b: created, directory synced, then renamed to c without a sync. */
    fd = open_rw(v, b, 1);
    assert_int_equal(v->pwrite(v->ctx, fd, "bbbb", 4, 0), 4);
    assert_int_equal(v->fdatasync(v->ctx, fd), 0);
    v->close(v->ctx, fd);
    assert_int_equal(v->fsync_dir(v->ctx, d.path), 0);
    assert_int_equal(v->rename(v->ctx, b, c), 0);
    /* Removed and created again after the sync: this create is undone.
     * sub: its file's directory is synced, but sub's own entry is not. */
    fd = open_rw(v, a, 1);
    v->close(v->ctx, fd);
    assert_int_equal(v->unlink(v->ctx, a), 0);
    fd = open_rw(v, a, 1);
    v->close(v->ctx, fd);
    assert_int_equal(v->mkdir(v->ctx, sub, 0755), 0);
    fd = open_rw(v, subf, 1);
    v->close(v->ctx, fd);
    assert_int_equal(v->fsync_dir(v->ctx, sub), 0);

    assert_int_equal(cts_vfs_fault_power_loss(f, 0), 0);
    assert_false(exists(a));
    assert_true(exists(b));
    assert_false(exists(c));
    assert_int_equal(size_of(b), 4);
    assert_false(exists(sub));
    cts_vfs_fault_reset(f);

    /* After reset, what exists is durable: a rename synced now survives. */
    assert_int_equal(v->rename(v->ctx, b, c), 0);
    assert_int_equal(v->fsync_dir(v->ctx, d.path), 0);
    assert_int_equal(cts_vfs_fault_power_loss(f, 0), 0);
    assert_true(exists(c));
    assert_int_equal(size_of(c), 4);
    cts_vfs_fault_destroy(f);
    scratch_remove(&d);
}

int main(void)
{
    P = cts_vfs_posix();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posix_files),     cmocka_unit_test(test_posix_list_dir),
        cmocka_unit_test(test_err_from_errno),  cmocka_unit_test(test_fault_schedule),
        cmocka_unit_test(test_power_loss_data), cmocka_unit_test(test_power_loss_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
