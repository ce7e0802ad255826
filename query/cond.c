/*
 * cond.c: WHERE clauses. A clause is split, at its top-level ANDs, into
 * three parts that run at three different moments:
 *
 *   time conjuncts   -> [tmin, tmax]: which partitions and blocks to read
 *   tag conjuncts    -> which series: evaluated once per series, with the
 *                       tag index narrowing the candidates for `tag = 'v'`
 *   the rest         -> a field condition, evaluated per row (tags bound)
 *
 * Identifiers resolve as InfluxDB resolves them: `time`, then a field of
 * the measurement, then a tag; a name that is neither is a tag every series
 * lacks (its value is ""). A field that a row lacks is null, and every
 * comparison with null is false.
 *
 * Conditions are compiled (q_cexpr) once per measurement: identifiers
 * become column indexes or tag keys, literals become values, regular
 * expressions are compiled once (PCRE2).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "exec.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct q_regex {
    q_regex *next; /* first member: the query's list of patterns */
    pcre2_code *code;
    pcre2_match_data *md; /* shared by the query's scan threads: under mu */
    pthread_mutex_t mu;
};

int q_regex_compile(q_ctx *ctx, cts_str pattern, q_regex **out)
{
    int err;
    PCRE2_SIZE off;
    q_regex *re = cts_calloc(1, sizeof *re);
    if (!re)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    re->code = pcre2_compile((PCRE2_SPTR)pattern.ptr, pattern.len, PCRE2_UTF, &err, &off, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        cts_free(re);
        return q_fail(ctx, CTS_EPARSE, "invalid regular expression /%.*s/: %s at offset %zu",
                      (int)pattern.len, pattern.ptr, (const char *)msg, (size_t)off);
    }
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* optional speed-up */
    re->md = pcre2_match_data_create(1, NULL);
    if (!re->md) {
        q_regex_free(re);
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&re->mu, NULL);
    re->next = ctx->regexes;
    ctx->regexes = re;
    *out = re;
    return 0;
}

/* Match data is per pattern; scan threads may evaluate one field
 * condition at once, so matching takes the pattern's lock. */
bool q_regex_match(const q_regex *re, const char *s, size_t len)
{
    q_regex *m = (q_regex *)(uintptr_t)re;
    pthread_mutex_lock(&m->mu);
    bool hit = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, NULL) >= 0;
    pthread_mutex_unlock(&m->mu);
    return hit;
}

void q_regex_free(q_regex *re)
{
    if (!re)
        return;
    pcre2_match_data_free(re->md);
    pcre2_code_free(re->code);
    if (re->md)
        pthread_mutex_destroy(&re->mu);
    cts_free(re);
}

/* ---- evaluation ---- */

cts_str q_env_tag(const q_env *env, cts_str key)
{
    for (size_t i = 0; i < env->ntags; i++) {
        const cts_tag *t = &env->tags[i];
        if (t->key.len == key.len && memcmp(t->key.ptr, key.ptr, key.len) == 0)
            return t->value;
    }
    return (cts_str){"", 0};
}

static bool is_num(cts_qtype t)
{
    return t == CTS_Q_FLOAT || t == CTS_Q_INT || t == CTS_Q_UINT;
}

static double as_f(const cts_qval *v)
{
    return v->type == CTS_Q_FLOAT ? v->v.f : v->type == CTS_Q_INT ? (double)v->v.i : (double)v->v.u;
}

#define CMP_NONE 2    /* not comparable: every comparison is false */
#define CMP_BOOL_NE 3 /* booleans that differ: only != holds */

/* -1, 0, 1, CMP_NONE or CMP_BOOL_NE. */
static int compare(const cts_qval *a, const cts_qval *b)
{
    if (is_num(a->type) && is_num(b->type)) {
        if (a->type == CTS_Q_INT && b->type == CTS_Q_INT)
            return (a->v.i > b->v.i) - (a->v.i < b->v.i);
        if (a->type == CTS_Q_UINT && b->type == CTS_Q_UINT)
            return (a->v.u > b->v.u) - (a->v.u < b->v.u);
        double x = as_f(a), y = as_f(b);
        if (x != x || y != y)
            return CMP_NONE;
        return (x > y) - (x < y);
    }
    if (a->type == CTS_Q_STRING && b->type == CTS_Q_STRING) {
        size_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
        int c = n ? memcmp(a->v.s.ptr, b->v.s.ptr, n) : 0;
        if (c == 0)
            c = (a->v.s.len > b->v.s.len) - (a->v.s.len < b->v.s.len);
        return (c > 0) - (c < 0);
    }
    if (a->type == CTS_Q_BOOL && b->type == CTS_Q_BOOL)
        return a->v.b == b->v.b ? 0 : CMP_BOOL_NE;
    return CMP_NONE;
}

static cts_qval qbool(bool b)
{
    return (cts_qval){.type = CTS_Q_BOOL, .v.b = b};
}

static cts_qval eval(const q_cexpr *e, const q_env *env);

static cts_qval arith(q_op op, cts_qval a, cts_qval b)
{
    cts_qval r = {.type = CTS_Q_NULL};
    if (!is_num(a.type) || !is_num(b.type))
        return r;
    if (a.type == CTS_Q_INT && b.type == CTS_Q_INT && op != Q_OP_DIV) {
        r.type = CTS_Q_INT;
        uint64_t x = (uint64_t)a.v.i, y = (uint64_t)b.v.i; /* wrapping, as Go */
        r.v.i = (int64_t)(op == Q_OP_ADD ? x + y : op == Q_OP_SUB ? x - y : x * y);
        return r;
    }
    double x = as_f(&a), y = as_f(&b);
    r.type = CTS_Q_FLOAT;
    r.v.f = op == Q_OP_ADD ? x + y : op == Q_OP_SUB ? x - y : op == Q_OP_MUL ? x * y : x / y;
    return r;
}

static cts_qval eval_bin(const q_cexpr *e, const q_env *env)
{
    if (e->op == Q_OP_AND)
        return qbool(q_cond_true(e->l, env) && q_cond_true(e->r, env));
    if (e->op == Q_OP_OR)
        return qbool(q_cond_true(e->l, env) || q_cond_true(e->r, env));
    cts_qval a = eval(e->l, env);
    if (e->op == Q_OP_EQ_REGEX || e->op == Q_OP_NEQ_REGEX) {
        if (a.type != CTS_Q_STRING || e->r->kind != Q_C_REGEX)
            return qbool(false);
        bool m = q_regex_match(e->r->re, a.v.s.ptr, a.v.s.len);
        return qbool(e->op == Q_OP_EQ_REGEX ? m : !m);
    }
    cts_qval b = eval(e->r, env);
    if (e->op <= Q_OP_DIV)
        return arith(e->op, a, b);
    int c = compare(&a, &b);
    if (c == CMP_NONE)
        return qbool(false);
    if (c == CMP_BOOL_NE)
        return qbool(e->op == Q_OP_NEQ);
    switch (e->op) {
    case Q_OP_EQ:
        return qbool(c == 0);
    case Q_OP_NEQ:
        return qbool(c != 0);
    case Q_OP_LT:
        return qbool(c < 0);
    case Q_OP_LTE:
        return qbool(c <= 0);
    case Q_OP_GT:
        return qbool(c > 0);
    case Q_OP_GTE:
        return qbool(c >= 0);
    default:
        return qbool(false);
    }
}

static cts_qval eval(const q_cexpr *e, const q_env *env)
{
    switch (e->kind) {
    case Q_C_CONST:
        return e->val;
    case Q_C_FIELD:
        return env->vals ? env->vals[e->col] : (cts_qval){.type = CTS_Q_NULL};
    case Q_C_TAG:
        return (cts_qval){.type = CTS_Q_STRING, .v.s = q_env_tag(env, e->key)};
    case Q_C_REGEX:
        return (cts_qval){.type = CTS_Q_NULL};
    case Q_C_BIN:
        return eval_bin(e, env);
    }
    return (cts_qval){.type = CTS_Q_NULL};
}

bool q_cond_true(const q_cexpr *e, const q_env *env)
{
    if (!e)
        return true;
    cts_qval v = eval(e, env);
    return v.type == CTS_Q_BOOL && v.v.b;
}

/* ---- classification ---- */

enum { REF_TIME = 1, REF_TAG = 2, REF_FIELD = 4 };

static bool is_time(cts_str name)
{
    return name.len == 4 && strncasecmp(name.ptr, "time", 4) == 0;
}

static unsigned ref_kind(const q_plan *plan, const q_expr *e)
{
    cts_str n = e->u.ref.name;
    if (e->u.ref.cast == Q_CAST_TAG)
        return REF_TAG;
    if (is_time(n))
        return REF_TIME;
    if (e->u.ref.cast != Q_CAST_NONE || q_plan_field(plan, n))
        return q_plan_field(plan, n) || !q_plan_is_tag(plan, n) ? REF_FIELD : REF_TAG;
    return REF_TAG; /* a tag, or a name nothing has: "" */
}

static unsigned refs(const q_plan *plan, const q_expr *e)
{
    switch (e->kind) {
    case Q_E_REF:
        return ref_kind(plan, e);
    case Q_E_BINARY:
        return refs(plan, e->u.bin.lhs) | refs(plan, e->u.bin.rhs);
    case Q_E_CALL: {
        unsigned m = 0;
        for (uint32_t i = 0; i < e->u.call.nargs; i++)
            m |= refs(plan, e->u.call.args[i]);
        return m;
    }
    default:
        return 0;
    }
}

/* ---- compilation ---- */

static int compile(q_ctx *ctx, q_plan *plan, const q_expr *e, q_cexpr **out);

static int new_node(q_ctx *ctx, q_ck kind, q_cexpr **out)
{
    q_cexpr *c = q_arena_alloc(ctx->arena, sizeof *c);
    if (!c)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    memset(c, 0, sizeof *c);
    c->kind = kind;
    *out = c;
    return 0;
}

static int compile_ref(q_ctx *ctx, q_plan *plan, const q_expr *e, q_cexpr *c)
{
    if (ref_kind(plan, e) == REF_TIME)
        return q_fail(ctx, CTS_EINVAL,
                      "invalid condition on time: compare time with a time "
                      "literal, at the top level of WHERE (not under OR)");
    if (ref_kind(plan, e) == REF_TAG) {
        c->kind = Q_C_TAG;
        c->key = e->u.ref.name;
        return 0;
    }
    c->kind = Q_C_FIELD;
    return q_plan_col(ctx, plan, e->u.ref.name, &c->col);
}

static int compile(q_ctx *ctx, q_plan *plan, const q_expr *e, q_cexpr **out)
{
    int rc = new_node(ctx, Q_C_CONST, out);
    q_cexpr *c = *out;
    if (rc)
        return rc;
    switch (e->kind) {
    case Q_E_REF:
        return compile_ref(ctx, plan, e, c);
    case Q_E_NUMBER:
        c->val = (cts_qval){.type = CTS_Q_FLOAT, .v.f = e->u.num};
        return 0;
    case Q_E_INTEGER:
    case Q_E_DURATION:
        c->val = (cts_qval){.type = CTS_Q_INT, .v.i = e->u.integer};
        return 0;
    case Q_E_STRING:
        c->val = (cts_qval){.type = CTS_Q_STRING, .v.s = e->u.str};
        return 0;
    case Q_E_BOOL:
        c->val = (cts_qval){.type = CTS_Q_BOOL, .v.b = e->u.boolean};
        return 0;
    case Q_E_REGEX:
        c->kind = Q_C_REGEX;
        return q_regex_compile(ctx, e->u.str, &c->re);
    case Q_E_BINARY:
        c->kind = Q_C_BIN;
        c->op = e->u.bin.op;
        if ((rc = compile(ctx, plan, e->u.bin.lhs, &c->l)) ||
            (rc = compile(ctx, plan, e->u.bin.rhs, &c->r)))
            return rc;
        if ((c->op == Q_OP_EQ_REGEX || c->op == Q_OP_NEQ_REGEX) && c->r->kind != Q_C_REGEX)
            return q_fail(ctx, CTS_EINVAL,
                          "invalid condition: =~ and !~ need a /regex/ on "
                          "their right");
        return 0;
    default:
        return q_fail(ctx, CTS_EINVAL, "invalid condition: unsupported expression at char %u",
                      e->off + 1);
    }
}

static int and_node(q_ctx *ctx, q_cexpr **acc, q_cexpr *c)
{
    if (!*acc) {
        *acc = c;
        return 0;
    }
    q_cexpr *n = NULL;
    int rc = new_node(ctx, Q_C_BIN, &n);
    if (rc)
        return rc;
    n->op = Q_OP_AND;
    n->l = *acc;
    n->r = c;
    *acc = n;
    return 0;
}

static int split(q_ctx *ctx, const q_expr *e, q_plan *plan, q_cexpr **tag, q_cexpr **field)
{
    if (e->kind == Q_E_BINARY && e->u.bin.op == Q_OP_AND) {
        int rc = split(ctx, e->u.bin.lhs, plan, tag, field);
        return rc ? rc : split(ctx, e->u.bin.rhs, plan, tag, field);
    }
    unsigned m = refs(plan, e);
    if (m == REF_TIME)
        return 0; /* q_where_time's */
    q_cexpr *c;
    int rc = compile(ctx, plan, e, &c);
    if (rc)
        return rc;
    return and_node(ctx, (m & REF_FIELD) ? field : tag, c);
}

int q_where_split(q_ctx *ctx, const q_expr *where, q_plan *plan, q_cexpr **tag_cond,
                  q_cexpr **field_cond)
{
    *tag_cond = *field_cond = NULL;
    return where ? split(ctx, where, plan, tag_cond, field_cond) : 0;
}

/* ---- time ---- */

static int time_value(q_ctx *ctx, const q_expr *e, int64_t *out)
{
    int64_t a, b;
    int rc;
    switch (e->kind) {
    case Q_E_STRING:
        if (q_time_parse(e->u.str.ptr, e->u.str.len, out))
            return q_fail(ctx, CTS_EPARSE,
                          "invalid time literal '%s' at char %u: expected RFC "
                          "3339, e.g. '2026-11-02T00:00:00Z'",
                          e->u.str.ptr, e->off + 1);
        return 0;
    case Q_E_INTEGER:
    case Q_E_DURATION:
        *out = e->u.integer;
        return 0;
    case Q_E_NUMBER:
        if (!(e->u.num >= -9.2e18 && e->u.num <= 9.2e18))
            return q_fail(ctx, CTS_ERANGE, "time out of range at char %u", e->off + 1);
        *out = (int64_t)e->u.num;
        return 0;
    case Q_E_CALL:
        if (strcmp(e->u.call.name.ptr, "now") == 0 && e->u.call.nargs == 0) {
            *out = ctx->now_ns;
            return 0;
        }
        break;
    case Q_E_BINARY:
        if (e->u.bin.op != Q_OP_ADD && e->u.bin.op != Q_OP_SUB)
            break;
        if ((rc = time_value(ctx, e->u.bin.lhs, &a)) || (rc = time_value(ctx, e->u.bin.rhs, &b)))
            return rc;
        if (e->u.bin.op == Q_OP_ADD ? __builtin_add_overflow(a, b, out)
                                    : __builtin_sub_overflow(a, b, out))
            return q_fail(ctx, CTS_ERANGE, "time out of range at char %u", e->off + 1);
        return 0;
    default:
        break;
    }
    return q_fail(ctx, CTS_EINVAL,
                  "invalid time condition at char %u: expected a time "
                  "literal, an integer, or now() plus or minus a duration",
                  e->off + 1);
}

static bool is_time_ref(const q_expr *e)
{
    return e->kind == Q_E_REF && is_time(e->u.ref.name);
}

static q_op flip(q_op op)
{
    switch (op) {
    case Q_OP_LT:
        return Q_OP_GT;
    case Q_OP_LTE:
        return Q_OP_GTE;
    case Q_OP_GT:
        return Q_OP_LT;
    case Q_OP_GTE:
        return Q_OP_LTE;
    default:
        return op;
    }
}

static int time_conjunct(q_ctx *ctx, const q_expr *e, int64_t *tmin, int64_t *tmax, bool *smin,
                         bool *smax)
{
    const q_expr *l = e->u.bin.lhs, *r = e->u.bin.rhs;
    q_op op = e->u.bin.op;
    if (!is_time_ref(l)) {
        const q_expr *t = l;
        l = r;
        r = t;
        op = flip(op);
    }
    int64_t v;
    int rc;
    if (!is_time_ref(l) || is_time_ref(r))
        return q_fail(ctx, CTS_EINVAL, "invalid time condition at char %u", e->off + 1);
    if ((rc = time_value(ctx, r, &v)))
        return rc;
    bool lo = op == Q_OP_GT || op == Q_OP_GTE || op == Q_OP_EQ;
    bool hi = op == Q_OP_LT || op == Q_OP_LTE || op == Q_OP_EQ;
    if (!lo && !hi)
        return q_fail(ctx, CTS_EINVAL,
                      "invalid time condition at char %u: time supports "
                      "= < <= > >= only",
                      e->off + 1);
    if (lo) {
        int64_t b = op == Q_OP_GT ? (v == Q_NS_MAX ? v : v + 1) : v;
        if (!*smin || b > *tmin)
            *tmin = b;
        *smin = true;
    }
    if (hi) {
        int64_t b = op == Q_OP_LT ? (v == Q_NS_MIN ? v : v - 1) : v;
        if (!*smax || b < *tmax)
            *tmax = b;
        *smax = true;
    }
    return 0;
}

static bool mentions_time(const q_expr *e)
{
    if (is_time_ref(e))
        return true;
    if (e->kind == Q_E_BINARY)
        return mentions_time(e->u.bin.lhs) || mentions_time(e->u.bin.rhs);
    return false;
}

static int walk_time(q_ctx *ctx, const q_expr *e, int64_t *tmin, int64_t *tmax, bool *smin,
                     bool *smax)
{
    if (e->kind == Q_E_BINARY && e->u.bin.op == Q_OP_AND) {
        int rc = walk_time(ctx, e->u.bin.lhs, tmin, tmax, smin, smax);
        return rc ? rc : walk_time(ctx, e->u.bin.rhs, tmin, tmax, smin, smax);
    }
    if (!mentions_time(e))
        return 0;
    if (e->kind == Q_E_BINARY && e->u.bin.op >= Q_OP_EQ && e->u.bin.op <= Q_OP_GTE)
        return time_conjunct(ctx, e, tmin, tmax, smin, smax);
    return q_fail(ctx, CTS_EINVAL,
                  "invalid time condition at char %u: time ranges must be "
                  "ANDed at the top level of WHERE (not under OR)",
                  e->off + 1);
}

int q_where_time(q_ctx *ctx, const q_expr *where, int64_t *tmin, int64_t *tmax, bool *tmin_set,
                 bool *tmax_set)
{
    *tmin = Q_NS_MIN;
    *tmax = Q_NS_MAX;
    *tmin_set = *tmax_set = false;
    return where ? walk_time(ctx, where, tmin, tmax, tmin_set, tmax_set) : 0;
}

/* ---- series ---- */

/* A top-level `tag = 'v'` (v non-empty) narrows candidates via the index. */
static const q_cexpr *index_eq(const q_cexpr *c)
{
    if (!c || c->kind != Q_C_BIN)
        return NULL;
    if (c->op == Q_OP_AND) {
        const q_cexpr *l = index_eq(c->l);
        return l ? l : index_eq(c->r);
    }
    if (c->op == Q_OP_EQ && c->l->kind == Q_C_TAG && c->r->kind == Q_C_CONST &&
        c->r->val.type == CTS_Q_STRING && c->r->val.v.s.len > 0)
        return c;
    return NULL;
}

int q_select_series(q_ctx *ctx, cts_db *db, cts_str m, const q_cexpr *tag_cond, uint32_t **ids,
                    uint32_t *n)
{
    cts_idlist *l = NULL;
    const q_cexpr *eq = index_eq(tag_cond);
    int rc = eq ? cts_db_series_ids(db, m.ptr, eq->l->key.ptr, eq->r->val.v.s.ptr, &l)
                : cts_db_series_ids(db, m.ptr, NULL, NULL, &l);
    if (rc == CTS_ENOTFOUND) {
        *ids = NULL;
        *n = 0;
        return 0;
    }
    if (rc)
        return q_fail(ctx, rc, "listing series of %s: %s", m.ptr, cts_strerror(rc));
    uint32_t *out = q_arena_alloc(ctx->arena, (l->count + 1) * sizeof *out);
    uint32_t k = 0;
    for (size_t i = 0; out && i < l->count; i++) {
        cts_tag tags[256];
        size_t nt;
        cts_str mm;
        if (cts_db_series_tags(db, l->ids[i], &mm, tags, 256, &nt))
            continue;
        q_env env = {tags, nt, NULL};
        if (q_cond_true(tag_cond, &env))
            out[k++] = l->ids[i];
    }
    cts_free(l);
    if (!out)
        return q_fail(ctx, CTS_ENOMEM, "out of memory");
    *ids = out;
    *n = k;
    return 0;
}
