/*
 * emit.c: the last stage of a SELECT, shared by both execution modes: a
 * group's rows in output order pass through the transformations, OFFSET
 * and LIMIT, and SOFFSET/SLIMIT decide whether the group becomes a result
 * series at all. The series is begun lazily, at its first row, so a group
 * that yields no row yields no series (as in InfluxDB).
 */
#include "exec.h"

#include <string.h>

int q_emit_series_begin(q_ctx *ctx, const q_plan *plan, const q_group *g)
{
    cts_str *cols = q_arena_alloc(ctx->arena, (plan->nouts + 1) * sizeof *cols);
    if (!cols)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    cols[0] = (cts_str){"time", 4};
    for (uint32_t o = 0; o < plan->nouts; o++)
        cols[o + 1] = plan->outs[o].name;
    cts_qseries s = {.name = plan->measurement,
                     .ntags = g && plan->ngkeys ? plan->ngkeys : 0,
                     .tag_keys = plan->gkeys,
                     .tag_values = g ? g->tag_vals : NULL,
                     .ncolumns = plan->nouts + 1,
                     .columns = cols};
    return q_emit_begin(ctx, &s);
}

int q_emitter_row(q_emitter *e, int64_t ts, cts_qval *vals, const bool *present)
{
    const q_plan *plan = e->plan;
    bool any = false, hidden = ts < e->emit_from || ts > e->emit_to;
    for (uint32_t o = 0; o < plan->nouts; o++) {
        const q_out *out = &plan->outs[o];
        bool has = present ? present[o] : out->kind != Q_OUT_TAG && vals[o].type != CTS_Q_NULL;
        if (hidden && !q_out_widens(out))
            continue; /* the extra interval feeds only the transformations that read it */
        if (out->has_xf) {
            cts_qval y;
            int rc = q_xform_push(&e->xf[o], ts, &vals[o], &y);
            if (rc < 0)
                return q_fail(e->ctx, rc, "%s() cannot transform a %s value", q_xf_name(out->xf),
                              vals[o].type == CTS_Q_STRING ? "string" : "boolean");
            vals[o] = rc == 1 ? y : (cts_qval){.type = CTS_Q_NULL};
            has = rc == 1;
        }
        any |= has;
    }
    if (!any || hidden)
        return 0;
    if (e->offset_left > 0) {
        e->offset_left--;
        return 0;
    }
    if (e->limit_left == 0)
        return Q_EMIT_STOP;
    if (!e->begun) {
        e->begun = true;
        if (e->sl->skip > 0) {
            e->sl->skip--;
            e->skipped = true;
            return Q_EMIT_STOP;
        }
        if (e->sl->left == 0)
            return Q_EMIT_STOP;
        if (e->sl->left > 0)
            e->sl->left--;
        int rc = q_emit_series_begin(e->ctx, plan, e->g);
        if (rc)
            return rc;
    }
    e->row[0] = (cts_qval){.type = CTS_Q_TIME, .v.i = ts};
    memcpy(e->row + 1, vals, plan->nouts * sizeof *vals);
    if (e->limit_left > 0)
        e->limit_left--;
    return q_emit_row(e->ctx, e->row);
}

/* The arrays an emitter needs, allocated once per plan: a statement over
 * 10,000 groups would otherwise take a few kB of arena per group. */
struct q_emitbuf {
    cts_qval *row, *prev;
    q_xform *xf;
    bool *present;
};

static struct q_emitbuf *emitbuf(q_ctx *ctx, const q_plan *plan)
{
    struct q_emitbuf *b = plan->ebuf;
    if (b)
        return b;
    b = q_arena_alloc(ctx->arena, sizeof *b);
    if (!b)
        return NULL;
    b->row = q_arena_alloc(ctx->arena, (1 + 2 * plan->nouts) * sizeof *b->row);
    b->prev = q_arena_alloc(ctx->arena, (plan->nouts + 1) * sizeof *b->prev);
    b->xf = q_arena_alloc(ctx->arena, (plan->nouts + 1) * sizeof *b->xf);
    b->present = q_arena_alloc(ctx->arena, (plan->nouts + 1) * sizeof *b->present);
    if (!b->row || !b->prev || !b->xf || !b->present)
        return NULL;
    ((q_plan *)(uintptr_t)plan)->ebuf = b; /* a cache: the plan is otherwise unchanged */
    return b;
}

int q_emitter_init(q_ctx *ctx, const q_plan *plan, const q_group *g, q_slimit *sl, q_emitter *e)
{
    *e = (q_emitter){.ctx = ctx, .plan = plan, .g = g, .sl = sl};
    e->offset_left = plan->sel->offset;
    e->limit_left = plan->sel->limit > 0 ? plan->sel->limit : -1;
    e->emit_from = Q_NS_MIN;
    e->emit_to = Q_NS_MAX;
    struct q_emitbuf *b = emitbuf(ctx, plan);
    if (!b)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    e->row = b->row;
    e->prev = b->prev;
    e->present = b->present;
    e->xf = b->xf;
    if (plan->has_xf)
        memset(e->xf, 0, plan->nouts * sizeof *e->xf); /* fini-safe from here on */
    for (uint32_t o = 0; o < plan->nouts; o++) {
        const q_out *out = &plan->outs[o];
        e->prev[o] = (cts_qval){.type = CTS_Q_NULL};
        if (out->has_xf && q_xform_init(&e->xf[o], out->xf, out->xf_unit_ns, out->xf_window))
            return q_fail(ctx, CTS_EINVAL, "invalid arguments to %s()", q_xf_name(out->xf));
    }
    return 0;
}

void q_emitter_fini(const q_plan *plan, q_emitter *e)
{
    for (uint32_t o = 0; e->xf && o < plan->nouts; o++)
        if (plan->outs[o].has_xf)
            q_xform_fini(&e->xf[o]);
}
