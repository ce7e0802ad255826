/*
 * exec_raw.c: SELECTs of raw fields and tags (and transformations of raw
 * fields). Each group's series are joined column by column into rows
 * (rows.c), merged across series by time (ties: in series order, the order
 * of their tag sets), filtered by the field condition, and pushed through
 * the emitter. A row is kept when at least one selected field has a value,
 * as in InfluxDB.
 *
 * ORDER BY time DESC buffers the group's rows (charged to the query's
 * memory limit, strings copied) and emits them backwards.
 */
#include "exec.h"

#include <string.h>

typedef struct src {
    q_rows *rows;
    int64_t ts;
    cts_qval *vals; /* the current row (plan->ncols) */
    uint32_t si;    /* series index within the group */
    bool live;
} src;

typedef struct merger {
    src *s;
    uint32_t *heap; /* indexes into s, min-heap by (ts, si) */
    uint32_t n;
} merger;

static bool before(const merger *m, uint32_t a, uint32_t b)
{
    const src *x = &m->s[a], *y = &m->s[b];
    return x->ts < y->ts || (x->ts == y->ts && x->si < y->si);
}

static void sift_down(merger *m, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, k = i;
        if (l < m->n && before(m, m->heap[l], m->heap[k]))
            k = l;
        if (r < m->n && before(m, m->heap[r], m->heap[k]))
            k = r;
        if (k == i)
            return;
        uint32_t t = m->heap[i];
        m->heap[i] = m->heap[k];
        m->heap[k] = t;
        i = k;
    }
}

static int advance(q_ctx *ctx, src *s)
{
    int rc = q_rows_next(ctx, s->rows, &s->ts, s->vals);
    if (rc < 0)
        return rc;
    s->live = rc == 1;
    return 0;
}

static void merger_close(const q_plan *plan, const q_group *g, merger *m)
{
    (void)plan;
    for (uint32_t i = 0; m->s && i < g->nseries; i++)
        q_rows_close(m->s[i].rows);
    cts_free(m->s);
    cts_free(m->heap);
}

static int merger_open(q_ctx *ctx, const q_plan *plan, const q_group *g, merger *m)
{
    memset(m, 0, sizeof *m);
    m->s = cts_calloc(g->nseries, sizeof *m->s);
    m->heap = cts_calloc(g->nseries, sizeof *m->heap);
    bool *need = q_arena_alloc(ctx->arena, (plan->ncols + 1) * sizeof *need);
    if (!m->s || !m->heap || !need)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    for (uint32_t c = 0; c < plan->ncols; c++)
        need[c] = true;
    for (uint32_t i = 0; i < g->nseries; i++) {
        src *s = &m->s[i];
        s->si = i;
        s->vals = q_arena_alloc(ctx->arena, (plan->ncols + 1) * sizeof *s->vals);
        if (!s->vals)
            return q_fail(ctx, CTS_ENOMEM, "out of memory");
        int rc = q_rows_open(ctx, plan, g->series[i], need, &s->rows);
        if (rc == 0)
            rc = advance(ctx, s);
        if (rc)
            return rc;
        if (s->live)
            m->heap[m->n++] = i;
    }
    for (uint32_t i = m->n / 2; i-- > 0;)
        sift_down(m, i);
    return 0;
}

/* The output values of the top row; false when no selected field has a
 * value or the field condition rejects it. */
static bool project(const q_plan *plan, const q_group *g, const src *s, cts_qval *out)
{
    q_env env = {g->series_tags[s->si], g->series_ntags[s->si], s->vals};
    if (!q_cond_true(plan->field_cond, &env))
        return false;
    bool any = false;
    for (uint32_t o = 0; o < plan->nouts; o++) {
        const q_out *q = &plan->outs[o];
        if (q->kind == Q_OUT_TAG) {
            cts_str v = q_env_tag(&env, q->tag);
            out[o] =
                v.len ? (cts_qval){.type = CTS_Q_STRING, .v.s = v} : (cts_qval){.type = CTS_Q_NULL};
            continue;
        }
        out[o] = s->vals[q->col];
        any |= out[o].type != CTS_Q_NULL;
    }
    return any;
}

/* ---- ORDER BY time DESC: a buffer of rows ---- */

typedef struct rowbuf {
    int64_t *ts;
    cts_qval *vals;
    size_t n, cap;
    uint64_t bytes;
} rowbuf;

static int rowbuf_push(q_ctx *ctx, rowbuf *b, uint32_t nouts, int64_t ts, const cts_qval *vals)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        int rc = q_mem_charge(ctx, (int64_t)((cap - b->cap) * (8 + nouts * sizeof(cts_qval))));
        if (rc)
            return rc;
        b->bytes += (cap - b->cap) * (8 + nouts * sizeof(cts_qval));
        int64_t *t = cts_realloc(b->ts, cap * sizeof *t);
        if (t)
            b->ts = t;
        cts_qval *v = t ? cts_realloc(b->vals, cap * nouts * sizeof *v) : NULL;
        if (!v)
            return q_fail(ctx, CTS_ENOMEM, "out of memory");
        b->vals = v;
        b->cap = cap;
    }
    cts_qval *dst = b->vals + b->n * nouts;
    for (uint32_t o = 0; o < nouts; o++) {
        dst[o] = vals[o];
        if (vals[o].type != CTS_Q_STRING)
            continue;
        int rc = q_mem_charge(ctx, vals[o].v.s.len + 1);
        char *p = rc ? NULL : cts_malloc(vals[o].v.s.len + 1);
        if (!p) {
            for (uint32_t k = 0; k < o; k++)
                if (dst[k].type == CTS_Q_STRING)
                    cts_free((void *)(uintptr_t)dst[k].v.s.ptr);
            return rc ? rc : q_fail(ctx, CTS_ENOMEM, "out of memory");
        }
        memcpy(p, vals[o].v.s.ptr, vals[o].v.s.len);
        p[vals[o].v.s.len] = 0;
        b->bytes += vals[o].v.s.len + 1;
        dst[o].v.s.ptr = p;
    }
    b->ts[b->n++] = ts;
    return 0;
}

static void rowbuf_free(q_ctx *ctx, rowbuf *b, uint32_t nouts)
{
    for (size_t i = 0; i < b->n * nouts; i++)
        if (b->vals[i].type == CTS_Q_STRING)
            cts_free((void *)(uintptr_t)b->vals[i].v.s.ptr);
    cts_free(b->ts);
    cts_free(b->vals);
    (void)q_mem_charge(ctx, -(int64_t)b->bytes);
}

static int emit_desc(q_emitter *e, rowbuf *b, uint32_t nouts)
{
    cts_qval *vals = e->row + 1 + nouts;
    for (size_t i = b->n; i-- > 0;) {
        memcpy(vals, b->vals + i * nouts, nouts * sizeof *vals);
        int rc = q_emitter_row(e, b->ts[i], vals, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* Merge the group's rows; ascending rows go straight to the emitter. */
static int merge_rows(q_ctx *ctx, const q_plan *plan, const q_group *g, merger *m, q_emitter *e,
                      rowbuf *b)
{
    cts_qval *out = e->row + 1 + plan->nouts;
    int rc = 0;
    uint64_t k = 0;
    while (rc == 0 && m->n > 0) {
        src *s = &m->s[m->heap[0]];
        if (project(plan, g, s, out))
            rc = plan->sel->order_desc ? rowbuf_push(ctx, b, plan->nouts, s->ts, out)
                                       : q_emitter_row(e, s->ts, out, NULL);
        if (rc == 0 && (rc = advance(ctx, s)) == 0) {
            if (!s->live)
                m->heap[0] = m->heap[--m->n];
            sift_down(m, 0);
        }
        if (rc == 0 && (++k & 4095) == 0)
            rc = q_check_deadline(ctx);
    }
    return rc;
}

static int run_group(q_ctx *ctx, const q_plan *plan, const q_group *g, q_slimit *sl)
{
    merger m;
    q_emitter e;
    rowbuf b = {0};
    int rc = merger_open(ctx, plan, g, &m);
    bool einit = false;
    if (rc == 0 && (rc = q_emitter_init(ctx, plan, g, sl, &e)) == 0)
        einit = true;
    if (rc == 0)
        rc = merge_rows(ctx, plan, g, &m, &e, &b);
    if (rc == 0 && plan->sel->order_desc)
        rc = emit_desc(&e, &b, plan->nouts);
    if (rc == Q_EMIT_STOP)
        rc = 0;
    if (rc == 0 && einit && e.begun && !e.skipped)
        rc = q_emit_end(ctx);
    if (einit)
        q_emitter_fini(plan, &e);
    rowbuf_free(ctx, &b, plan->nouts);
    merger_close(plan, g, &m);
    return rc;
}

int q_exec_raw(q_ctx *ctx, q_plan *plan, q_slimit *sl)
{
    int rc = 0;
    bool desc = plan->sel->order_desc; /* DESC also reverses the series order */
    for (uint32_t i = 0; rc == 0 && i < plan->ngroups && sl->left != 0; i++)
        rc = run_group(ctx, plan, &plan->groups[desc ? plan->ngroups - 1 - i : i], sl);
    return rc;
}
