/*
 * rows.c: the columns of one series joined by time into rows. Each needed
 * column has a snapshot cursor; a row is the smallest current timestamp
 * across them, with each column's value at that time or null.
 *
 * Borrowing: a row's strings point into a cursor's current chunk. A cursor
 * is advanced past its chunk only at the start of the next q_rows_next, so
 * the row stays valid until then.
 */
#include "exec.h"

#include <string.h>

typedef struct rcol {
    cts_cursor *cur; /* NULL: the series lacks the column, or not needed */
    cts_chunk chunk;
    uint32_t pos;
    bool done;
} rcol;

struct q_rows {
    uint32_t ncols;
    const q_col *cols;
    rcol c[];
};

int q_rows_open(q_ctx *ctx, const q_plan *plan, uint32_t series_id, const bool *need, q_rows **out)
{
    q_rows *r = cts_calloc(1, sizeof *r + plan->ncols * sizeof(rcol));
    if (!r)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    r->ncols = plan->ncols;
    r->cols = plan->cols;
    int64_t t1 = plan->tmax == Q_NS_MAX ? Q_NS_MAX : plan->tmax + 1;
    for (uint32_t i = 0; i < plan->ncols; i++) {
        r->c[i].done = true;
        if (!need[i] || !plan->cols[i].exists)
            continue;
        int rc = cts_cursor_open(plan->db, series_id, plan->cols[i].field_id, plan->tmin, t1, false,
                                 &r->c[i].cur);
        if (rc == CTS_ENOTFOUND)
            continue;
        if (rc) {
            q_rows_close(r);
            return q_fail(ctx, rc, "reading %s: %s", plan->cols[i].name.ptr, cts_strerror(rc));
        }
        r->c[i].done = false;
    }
    *out = r;
    return 0;
}

void q_rows_close(q_rows *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->ncols; i++)
        cts_cursor_close(r->c[i].cur);
    cts_free(r);
}

/* Make column c's current position valid, fetching chunks as needed. */
static int refill(q_ctx *ctx, rcol *c)
{
    while (!c->done && c->pos >= c->chunk.count) {
        int rc = cts_cursor_next(c->cur, &c->chunk);
        if (rc < 0)
            return q_fail(ctx, rc, "%s", cts_cursor_errmsg(c->cur));
        c->pos = 0;
        c->done = rc == 0;
    }
    return 0;
}

static cts_qval value_at(const rcol *c, cts_type t)
{
    uint32_t i = c->pos;
    switch (t) {
    case CTS_TYPE_FLOAT:
        return (cts_qval){.type = CTS_Q_FLOAT, .v.f = c->chunk.v.f[i]};
    case CTS_TYPE_INT:
        return (cts_qval){.type = CTS_Q_INT, .v.i = c->chunk.v.i[i]};
    case CTS_TYPE_UINT:
        return (cts_qval){.type = CTS_Q_UINT, .v.u = c->chunk.v.u[i]};
    case CTS_TYPE_BOOL:
        return (cts_qval){.type = CTS_Q_BOOL, .v.b = c->chunk.v.b[i] != 0};
    case CTS_TYPE_STRING:
        return (cts_qval){.type = CTS_Q_STRING, .v.s = c->chunk.v.s[i]};
    }
    return (cts_qval){.type = CTS_Q_NULL};
}

int q_rows_next(q_ctx *ctx, q_rows *r, int64_t *ts, cts_qval *vals)
{
    int64_t t = Q_NS_MAX;
    bool any = false;
    for (uint32_t i = 0; i < r->ncols; i++) {
        int rc = refill(ctx, &r->c[i]);
        if (rc)
            return rc;
        if (!r->c[i].done && (!any || r->c[i].chunk.ts[r->c[i].pos] < t)) {
            t = r->c[i].chunk.ts[r->c[i].pos];
            any = true;
        }
    }
    if (!any)
        return 0;
    for (uint32_t i = 0; i < r->ncols; i++) {
        rcol *c = &r->c[i];
        vals[i] = (cts_qval){.type = CTS_Q_NULL};
        if (!c->done && c->chunk.ts[c->pos] == t) {
            vals[i] = value_at(c, r->cols[i].type);
            c->pos++;
        }
    }
    *ts = t;
    return 1;
}
