/*
 * alloc.c: the one allocation hook of cityts.
 *
 * Every module allocates through cts_malloc and friends so that tests can
 * make the Nth allocation fail and check that each error path unwinds
 * without a leak or a crash. The counter is process-wide and atomic; failure
 * injection is meant for single-threaded tests, but the counter stays
 * well-defined under threads.
 */
#include "cts_storage.h"

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic long fail_after = -1; /* < 0: never fail */
static _Atomic long failures = 0;

void cts_alloc_fail_after(long n)
{
    atomic_store(&fail_after, n);
    atomic_store(&failures, 0);
}

long cts_alloc_failures(void)
{
    return atomic_load(&failures);
}

/* True when this allocation must fail. */
static int should_fail(void)
{
    long n = atomic_load(&fail_after);
    if (n < 0)
        return 0;
    if (n == 0) {
        atomic_fetch_add(&failures, 1);
        return 1;
    }
    atomic_fetch_sub(&fail_after, 1);
    return 0;
}

void *cts_malloc(size_t size)
{
    return should_fail() ? NULL : malloc(size ? size : 1);
}

void *cts_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *cts_realloc(void *ptr, size_t size)
{
    return should_fail() ? NULL : realloc(ptr, size ? size : 1);
}

void cts_free(void *ptr)
{
    free(ptr);
}
