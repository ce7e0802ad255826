/*
 * test_io.c: cts_io on both backends: writes at offsets with a covering
 * fdatasync, large writes, the queue limit, errors reported for the right
 * operation (a linked fdatasync cancelled behind a failed write, a write
 * cut short by RLIMIT_FSIZE and then refused), the pwrite backend through
 * the fault VFS (short writes completed, failures stop the run), backend
 * choice (explicit, CTS_IO_BACKEND, fault VFS), and the logged fallback
 * when a seccomp filter refuses io_uring_setup.
 */
#include "cts_test.h"
#include "scratch_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static cts_io_backend BACKEND_URING = CTS_IO_URING;
static cts_io_backend BACKEND_PWRITE = CTS_IO_PWRITE;

static int uring_ok(void)
{
    cts_io *io;
    if (cts_io_create(NULL, CTS_IO_URING, &io) != 0)
        return 0;
    cts_io_destroy(io);
    return 1;
}

static cts_io *make_io(void **state)
{
    cts_io_backend b = *(cts_io_backend *)*state;
    if (b == CTS_IO_URING && !uring_ok())
        skip();
    cts_io *io;
    assert_int_equal(cts_io_create(NULL, b, &io), 0);
    assert_string_equal(cts_io_backend_name(io), b == CTS_IO_URING ? "io_uring" : "pwrite");
    return io;
}

static int open_file(const scratch_dir *d, const char *name, int flags)
{
    char p[600];
    scratch_join(p, sizeof p, d->path, name);
    const cts_vfs *v = cts_vfs_posix();
    int fd = v->open(v->ctx, p, flags, 0644);
    assert_true(fd >= 0);
    return fd;
}

static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
    cts_rng r = {seed};
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)cts_rng_next(&r);
}

static void check_contents(int fd, const uint8_t *want, size_t len, uint64_t off)
{
    uint8_t *got = malloc(len);
    assert_int_equal(pread(fd, got, len, (off_t)off), (ssize_t)len);
    assert_memory_equal(got, want, len);
    free(got);
}

static void test_writes_and_sync(void **state)
{
    cts_io *io = make_io(state);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "io"), 0);
    int fd = open_file(&d, "f", O_RDWR | O_CREAT);
    int fd2 = open_file(&d, "g", O_RDWR | O_CREAT);
    size_t big = 8u << 20;
    uint8_t *a = malloc(4096), *b = malloc(100), *c = malloc(big);
    fill(a, 4096, 1);
    fill(b, 100, 2);
    fill(c, big, 3);
    assert_int_equal(cts_io_write(io, fd, a, 4096, 0), 0);
    assert_int_equal(cts_io_write(io, fd, b, 100, 4096), 0);
    assert_int_equal(cts_io_write(io, fd, b, 0, 99999), 0); /* nothing queued */
    assert_int_equal(cts_io_fdatasync(io, fd), 0);
    assert_int_equal(cts_io_write(io, fd2, c, big, 1000), 0);
    assert_int_equal(cts_io_fdatasync(io, fd2), 0);
    cts_io_failure fail = {0};
    assert_int_equal(cts_io_submit_wait(io, &fail), 0);
    check_contents(fd, a, 4096, 0);
    check_contents(fd, b, 100, 4096);
    check_contents(fd2, c, big, 1000);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 4196);
    /* An empty submit is fine. */
    assert_int_equal(cts_io_submit_wait(io, NULL), 0);
    assert_int_equal(cts_io_write(io, fd, NULL, 1, 0), CTS_EINVAL);
    close(fd);
    close(fd2);
    free(a);
    free(b);
    free(c);
    cts_io_destroy(io);
    cts_io_destroy(NULL);
    scratch_remove(&d);
}

static void test_queue_limit(void **state)
{
    cts_io *io = make_io(state);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "ioq"), 0);
    int fd = open_file(&d, "f", O_RDWR | O_CREAT);
    static uint8_t bytes[CTS_IO_QUEUE_MAX];
    for (unsigned i = 0; i < CTS_IO_QUEUE_MAX; i++) {
        bytes[i] = (uint8_t)i;
        assert_int_equal(cts_io_write(io, fd, &bytes[i], 1, i), 0);
    }
    assert_int_equal(cts_io_write(io, fd, bytes, 1, 0), CTS_ELIMIT);
    assert_int_equal(cts_io_fdatasync(io, fd), CTS_ELIMIT);
    assert_int_equal(cts_io_submit_wait(io, NULL), 0);
    check_contents(fd, bytes, sizeof bytes, 0);
    assert_int_equal(cts_io_fdatasync(io, fd), 0);
    assert_int_equal(cts_io_submit_wait(io, NULL), 0);
    close(fd);
    cts_io_destroy(io);
    scratch_remove(&d);
}

/* A write that fails cancels the fdatasync linked behind it; the error is
 * the write's, and the writer stays usable. */
static void test_failed_write_cancels_sync(void **state)
{
    cts_io *io = make_io(state);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "iof"), 0);
    int ok = open_file(&d, "ok", O_RDWR | O_CREAT);
    int ro = open_file(&d, "ok", O_RDONLY);
    static const uint8_t data[] = "some bytes";
    assert_int_equal(cts_io_write(io, ok, data, 4, 0), 0);
    assert_int_equal(cts_io_write(io, ro, data, sizeof data, 4), 0);
    assert_int_equal(cts_io_fdatasync(io, ro), 0);
    cts_io_failure fail = {0};
    assert_int_equal(cts_io_submit_wait(io, &fail), CTS_EIO);
    assert_int_equal(fail.kind, CTS_IO_WRITE);
    assert_int_equal(fail.fd, ro);
    assert_int_equal(fail.neg_errno, -EBADF);
    assert_int_equal(fail.off, 4);
    check_contents(ok, data, 4, 0);
    assert_int_equal(cts_io_write(io, ok, data, sizeof data, 0), 0);
    assert_int_equal(cts_io_fdatasync(io, ok), 0);
    assert_int_equal(cts_io_submit_wait(io, &fail), 0);
    check_contents(ok, data, sizeof data, 0);
    close(ok);
    close(ro);
    cts_io_destroy(io);
    scratch_remove(&d);
}

/* RLIMIT_FSIZE cuts a write short at the limit and refuses the rest with
 * EFBIG: the short part is kept, the rest fails at the limit's offset. */
static void test_short_then_refused(void **state)
{
    cts_io *io = make_io(state);
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "iol"), 0);
    int fd = open_file(&d, "f", O_RDWR | O_CREAT);
    size_t len = 2u << 20;
    uint64_t limit = (1u << 20) + 100;
    uint8_t *buf = malloc(len);
    fill(buf, len, 9);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = limit;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(cts_io_write(io, fd, buf, len, 0), 0);
    assert_int_equal(cts_io_fdatasync(io, fd), 0);
    cts_io_failure fail = {0};
    int r = cts_io_submit_wait(io, &fail);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(r, CTS_EIO);
    assert_int_equal(fail.kind, CTS_IO_WRITE);
    assert_int_equal(fail.neg_errno, -EFBIG);
    assert_int_equal(fail.off, limit);
    check_contents(fd, buf, limit, 0);
    close(fd);
    free(buf);
    cts_io_destroy(io);
    scratch_remove(&d);
}

/* ---- the pwrite backend through the fault VFS ---- */

static void test_fault_vfs_path(void **state)
{
    (void)state;
    scratch_dir d;
    assert_int_equal(scratch_make(&d, "iov"), 0);
    cts_vfs_fault *f;
    assert_int_equal(cts_vfs_fault_create(cts_vfs_posix(), &f), 0);
    const cts_vfs *v = cts_vfs_fault_vfs(f);
    cts_io *io;
    assert_int_equal(cts_io_create(v, CTS_IO_URING, &io), CTS_EINVAL);
    assert_int_equal(cts_io_create(v, (cts_io_backend)7, &io), CTS_EINVAL);
    assert_int_equal(cts_io_create(v, CTS_IO_AUTO, &io), 0);
    assert_string_equal(cts_io_backend_name(io), "pwrite");
    char p[600];
    scratch_join(p, sizeof p, d.path, "f");
    int fd = v->open(v->ctx, p, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    uint8_t *buf = malloc(10000);
    fill(buf, 10000, 4);

    cts_vfs_fault_short_writes(f, 333);
    assert_int_equal(cts_io_write(io, fd, buf, 10000, 0), 0);
    assert_int_equal(cts_io_fdatasync(io, fd), 0);
    assert_int_equal(cts_io_submit_wait(io, NULL), 0);
    check_contents(fd, buf, 10000, 0);
    assert_int_equal(cts_vfs_fault_calls(f, CTS_VFS_OP_PWRITE), (10000 + 332) / 333);
    cts_vfs_fault_short_writes(f, 0);

    /* A failed write stops the run: the sync behind it never runs. */
    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_PWRITE, 2, ENOSPC, CTS_FAULT_ONCE), 0);
    cts_vfs_fault_short_writes(f, 4000);
    uint64_t syncs = cts_vfs_fault_calls(f, CTS_VFS_OP_FDATASYNC);
    assert_int_equal(cts_io_write(io, fd, buf, 10000, 20000), 0);
    assert_int_equal(cts_io_fdatasync(io, fd), 0);
    cts_io_failure fail = {0};
    assert_int_equal(cts_io_submit_wait(io, &fail), CTS_ENOSPC);
    assert_int_equal(fail.kind, CTS_IO_WRITE);
    assert_int_equal(fail.off, 24000);
    assert_int_equal(fail.neg_errno, -ENOSPC);
    assert_int_equal(cts_vfs_fault_calls(f, CTS_VFS_OP_FDATASYNC), syncs);

    assert_int_equal(cts_vfs_fault_fail(f, CTS_VFS_OP_FDATASYNC, 1, EIO, CTS_FAULT_ONCE), 0);
    assert_int_equal(cts_io_write(io, fd, buf, 10, 0), 0);
    assert_int_equal(cts_io_fdatasync(io, fd), 0);
    assert_int_equal(cts_io_submit_wait(io, &fail), CTS_EIO);
    assert_int_equal(fail.kind, CTS_IO_FDATASYNC);
    assert_int_equal(fail.fd, fd);
    v->close(v->ctx, fd);
    free(buf);
    cts_io_destroy(io);
    cts_vfs_fault_destroy(f);
    scratch_remove(&d);
}

/* ---- choosing the backend ---- */

static void test_env_override(void **state)
{
    (void)state;
    cts_io *io;
    setenv("CTS_IO_BACKEND", "pwrite", 1);
    assert_int_equal(cts_io_create(NULL, CTS_IO_AUTO, &io), 0);
    assert_string_equal(cts_io_backend_name(io), "pwrite");
    cts_io_destroy(io);
    if (uring_ok()) {
        /* An explicit choice beats the environment. */
        assert_int_equal(cts_io_create(NULL, CTS_IO_URING, &io), 0);
        assert_string_equal(cts_io_backend_name(io), "io_uring");
        cts_io_destroy(io);
        setenv("CTS_IO_BACKEND", "uring", 1);
        assert_int_equal(cts_io_create(NULL, CTS_IO_AUTO, &io), 0);
        assert_string_equal(cts_io_backend_name(io), "io_uring");
        cts_io_destroy(io);
    }
    unsetenv("CTS_IO_BACKEND");
}

/* Make io_uring_setup fail with EPERM, as a container's seccomp policy or
 * kernel.io_uring_disabled would. */
static int deny_io_uring(void)
{
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {.len = sizeof prog / sizeof prog[0], .filter = prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog);
}

/* In the child: 0 when the fallback behaves, else a step number. */
static int fallback_child(void)
{
    unsetenv("CTS_IO_BACKEND");
    if (deny_io_uring() != 0)
        return 77;
    cts_io *io;
    if (cts_io_create(NULL, CTS_IO_URING, &io) != CTS_EIO)
        return 2;
    for (int i = 0; i < 3; i++) {
        if (cts_io_create(NULL, CTS_IO_AUTO, &io) != 0)
            return 3;
        if (strcmp(cts_io_backend_name(io), "pwrite") != 0)
            return 4;
        cts_io_destroy(io);
    }
    return 0;
}

static void test_fallback_logged_once(void **state)
{
    (void)state;
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        _exit(fallback_child());
    }
    close(pipefd[1]);
    char out[1024] = {0};
    size_t got = 0;
    ssize_t n;
    while ((n = read(pipefd[0], out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)n;
    close(pipefd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
    const char *want = "cityts: io_uring unavailable (Operation not permitted); using pwrite\n";
    assert_string_equal(out, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_writes_and_sync, &BACKEND_URING),
        cmocka_unit_test_prestate(test_writes_and_sync, &BACKEND_PWRITE),
        cmocka_unit_test_prestate(test_queue_limit, &BACKEND_URING),
        cmocka_unit_test_prestate(test_queue_limit, &BACKEND_PWRITE),
        cmocka_unit_test_prestate(test_failed_write_cancels_sync, &BACKEND_URING),
        cmocka_unit_test_prestate(test_failed_write_cancels_sync, &BACKEND_PWRITE),
        cmocka_unit_test_prestate(test_short_then_refused, &BACKEND_URING),
        cmocka_unit_test_prestate(test_short_then_refused, &BACKEND_PWRITE),
        cmocka_unit_test(test_fault_vfs_path),
        cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_fallback_logged_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
