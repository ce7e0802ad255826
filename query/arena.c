/*
 * arena.c: the per-query bump allocator (q_arena in query_int.h).
 *
 * Everything a query builds (its AST, its plan, strings copied out of the
 * text) lives until the query ends, so nothing is freed one by one: memory
 * comes from chunks taken with cts_malloc and handed out 16-byte aligned
 * from the newest chunk; q_arena_fini frees every chunk at once.
 *
 * Invariants: `bytes` is the sum of the sizes of the chunks held (headers
 * included), never more than `limit_bytes` when a limit is set. A failed
 * allocation (cts_malloc failure or the limit) returns NULL and leaves the
 * arena as it was, still usable and still freeable.
 */
#include "query_int.h"

#include <string.h>

#define CHUNK_MIN_BYTES ((size_t)16 * 1024)
#define ALIGN 16u

struct q_arena_chunk {
    q_arena_chunk *next;
    size_t cap;  /* usable bytes after the header */
    size_t used; /* bytes handed out */
    /* data follows, ALIGN-aligned */
};

/* The header rounded up so the data after it stays aligned. */
static size_t header_bytes(void)
{
    return (sizeof(q_arena_chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

static unsigned char *chunk_data(q_arena_chunk *c)
{
    return (unsigned char *)c + header_bytes();
}

void q_arena_init(q_arena *a, uint64_t limit_bytes)
{
    a->head = NULL;
    a->bytes = 0;
    a->limit_bytes = limit_bytes;
}

void q_arena_fini(q_arena *a)
{
    if (!a)
        return;
    q_arena_chunk *c = a->head;
    while (c) {
        q_arena_chunk *next = c->next;
        cts_free(c);
        c = next;
    }
    a->head = NULL;
    a->bytes = 0;
}

/* A new chunk with room for at least `size` bytes, pushed at the head. */
static q_arena_chunk *chunk_new(q_arena *a, size_t size)
{
    size_t cap = size > CHUNK_MIN_BYTES ? size : CHUNK_MIN_BYTES;
    /* Grow chunk sizes with the arena so big queries take few chunks. */
    if (a->bytes / 2 > cap && a->bytes / 2 < (size_t)1 << 26)
        cap = (size_t)(a->bytes / 2);
    size_t total = header_bytes() + cap;
    if (total < cap)
        return NULL;
    if (a->limit_bytes && (total > a->limit_bytes || a->bytes > a->limit_bytes - total)) {
        /* Past the limit with a grown chunk: retry with just what is asked. */
        cap = size;
        total = header_bytes() + cap;
        if (total > a->limit_bytes || a->bytes > a->limit_bytes - total)
            return NULL;
    }
    q_arena_chunk *c = cts_malloc(total);
    if (!c)
        return NULL;
    c->cap = cap;
    c->used = 0;
    c->next = a->head;
    a->head = c;
    a->bytes += total;
    return c;
}

void *q_arena_alloc(q_arena *a, size_t size)
{
    if (size > SIZE_MAX - ALIGN)
        return NULL;
    size_t need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need == 0)
        need = ALIGN;
    q_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        c = chunk_new(a, need);
        if (!c)
            return NULL;
    }
    void *p = chunk_data(c) + c->used;
    c->used += need;
    return p;
}

cts_str q_arena_strdup(q_arena *a, const char *s, size_t len)
{
    cts_str out = {NULL, 0};
    if (len >= UINT32_MAX)
        return out;
    char *p = q_arena_alloc(a, len + 1);
    if (!p)
        return out;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    out.ptr = p;
    out.len = (uint32_t)len;
    return out;
}
