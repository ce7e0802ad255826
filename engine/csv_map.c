/*
 * csv_map.c: the CSV mapping, from the text of command-line flags to the
 * frozen plan a reader resolves against a header.
 *
 * Why text: the mapping is what a user types (--tags city,sensor --fields
 * pm25:float), so the library parses it once, the same way for the CLI,
 * the HTTP front end and tests, and reports a bad spec with the byte it
 * stopped at, e.g. "fields: unknown type 'flaot' for column 'pm25' at
 * byte 6 (expected float, integer, unsigned, boolean or string)".
 *
 * A spec is a list of items separated by ','. An item is a column name,
 * then, for fields and the time column, ':' and a word (the type, or the
 * time format). A '\' makes the next ',', ':' or '\' part of the name;
 * before anything else it is an error, as is a ':' in a list without
 * types, so that a typo never silently becomes a strange name. The lexer
 * is a three-state machine over the bytes plus the end:
 *
 *   NAME --'\'--> ESC --(',' ':' '\')--> NAME
 *   NAME --':'--> WORD (fields, time)       NAME, WORD --','/end--> item done
 *
 * Invariants:
 *   - a setter either replaces its list whole or leaves the mapping as it
 *     was (the new list is built aside, then swapped in);
 *   - names are stored unescaped and NUL-terminated, in one buffer per
 *     list; every item's name points into it;
 *   - a column named twice inside one list is refused by the setter;
 *     across lists (a tag that is also a field) by cts_csv_opts_check, so
 *     the order of the setters never matters.
 */
#include "csv_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One list: the tags, the fields, or the single time or measurement column. */
typedef struct map_list {
    csv_want *items;
    size_t count;
    char *names;
} map_list;

struct cts_csv_mapping {
    char *measurement; /* NULL: not set */
    size_t measurement_len;
    bool has_time; /* else the time column is "time" in RFC 3339 */
    map_list time, meas_col, tags, fields;
};

/* What a spec holds and how its words are read. */
typedef struct spec_kind {
    const char *label; /* "tags", ... (starts each message) */
    csv_role role;
    bool has_word; /* items are name:word */
    bool one;      /* exactly one item */
} spec_kind;

static const spec_kind K_TIME = {"time", CSV_TIME, true, true};
static const spec_kind K_MEAS = {"measurement column", CSV_MEASUREMENT, false, true};
static const spec_kind K_TAGS = {"tags", CSV_TAG, false, false};
static const spec_kind K_FIELDS = {"fields", CSV_FIELD, true, false};

#define NAME_SHOWN 64 /* bytes of a name quoted in a message */

const char *csv_role_name(csv_role role)
{
    switch (role) {
    case CSV_TIME:
        return "time column";
    case CSV_MEASUREMENT:
        return "measurement column";
    case CSV_TAG:
        return "tag";
    case CSV_FIELD:
        return "field";
    default:
        return "unmapped column";
    }
}

static void set_err(cts_csv_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(cts_csv_opts *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->errmsg, sizeof o->errmsg, fmt, ap);
    va_end(ap);
}

/* %.*s arguments for a name shown at most NAME_SHOWN bytes long, and the
 * "..." that says it was cut. */
#define SHOW(s) (int)((s).len > NAME_SHOWN ? NAME_SHOWN : (s).len), (s).ptr
#define CUT(s) ((s).len > NAME_SHOWN ? "..." : "")

static void list_free(map_list *l)
{
    cts_free(l->items);
    cts_free(l->names);
    *l = (map_list){0};
}

/* ------------------------------------------------------------------------
 * The spec lexer.
 * ------------------------------------------------------------------------ */
enum { LX_NAME, LX_ESC, LX_WORD };

/* Where the lexer is inside one spec. */
typedef struct lexer {
    const spec_kind *kind;
    const char *spec;
    cts_csv_opts *o;
    map_list *out;
    char *name_end; /* next free byte of out->names */
    size_t item_at; /* 0-based offset of the current item */
    size_t word_at; /* 0-based offset of its word, when it has one */
    bool has_word;
} lexer;

/* The time format or field type a word names; false when none. */
static bool word_kind(const spec_kind *k, const char *w, size_t n, uint8_t *kind)
{
    static const char *const formats[] = {"rfc3339", "s", "ms", "us", "ns"}; /* by value */
    static const char *const types[] = {NULL,       "float",   "integer",
                                        "unsigned", "boolean", "string"}; /* by cts_type */
    const char *const *names = k->role == CSV_TIME ? formats : types;
    uint8_t count = k->role == CSV_TIME ? 5 : 6;
    for (uint8_t i = 0; i < count; i++) {
        if (names[i] && strlen(names[i]) == n && memcmp(names[i], w, n) == 0) {
            *kind = i;
            return true;
        }
    }
    return false;
}

static int bad_word(lexer *lx, cts_str name, const char *w, size_t n)
{
    const char *expected = lx->kind->role == CSV_TIME
                               ? "rfc3339, s, ms, us or ns"
                               : "float, integer, unsigned, boolean or string";
    set_err(lx->o, "%s: unknown %s '%.*s%s' for column '%.*s%s' at byte %zu (expected %s)",
            lx->kind->label, lx->kind->role == CSV_TIME ? "time format" : "type",
            (int)(n > NAME_SHOWN ? NAME_SHOWN : n), w, n > NAME_SHOWN ? "..." : "", SHOW(name),
            CUT(name), lx->word_at + 1, expected);
    return CTS_EINVAL;
}

/* The item that ends at spec[end] is complete: check and store it. */
static int item_done(lexer *lx, size_t end)
{
    map_list *l = lx->out;
    csv_want *w = &l->items[l->count];
    w->name.len = (uint32_t)strlen(w->name.ptr);
    w->role = (uint8_t)lx->kind->role;
    w->kind = lx->kind->role == CSV_TIME ? CTS_CSV_TIME_RFC3339 : 0;
    if (w->name.len == 0) {
        set_err(lx->o, "%s: empty column name at byte %zu", lx->kind->label, lx->item_at + 1);
        return CTS_EINVAL;
    }
    if (lx->kind->role == CSV_FIELD && !lx->has_word) {
        set_err(lx->o,
                "%s: column '%.*s%s' at byte %zu has no type (write name:type; types: "
                "float, integer, unsigned, boolean, string)",
                lx->kind->label, SHOW(w->name), CUT(w->name), lx->item_at + 1);
        return CTS_EINVAL;
    }
    const char *word = lx->spec + lx->word_at;
    size_t wn = end - lx->word_at;
    if (lx->has_word && !word_kind(lx->kind, word, wn, &w->kind))
        return bad_word(lx, w->name, word, wn);
    for (size_t i = 0; i < l->count; i++) {
        if (l->items[i].name.len == w->name.len &&
            memcmp(l->items[i].name.ptr, w->name.ptr, w->name.len) == 0) {
            set_err(lx->o, "%s: column '%.*s%s' is listed twice (items %zu and %zu)",
                    lx->kind->label, SHOW(w->name), CUT(w->name), i + 1, l->count + 1);
            return CTS_EINVAL;
        }
    }
    l->count++;
    lx->name_end++; /* keep this name's NUL */
    return CTS_OK;
}

/* Start the next item at spec[at]. */
static void item_start(lexer *lx, size_t at)
{
    lx->item_at = at;
    lx->has_word = false;
    *lx->name_end = '\0';
    lx->out->items[lx->out->count].name.ptr = lx->name_end;
}

static void name_push(lexer *lx, char c)
{
    *lx->name_end++ = c;
    *lx->name_end = '\0';
}

/* One byte in state NAME. */
static int lex_name(lexer *lx, size_t i, uint8_t *st)
{
    char c = lx->spec[i];
    if (c == '\\') {
        *st = LX_ESC;
    } else if (c == ':' && lx->kind->has_word) {
        lx->has_word = true;
        lx->word_at = i + 1;
        *st = LX_WORD;
    } else if (c == ':') {
        set_err(lx->o, "%s: ':' at byte %zu (a %s has no type; write '\\:' for a ':' in a name)",
                lx->kind->label, i + 1, csv_role_name(lx->kind->role));
        return CTS_EINVAL;
    } else {
        name_push(lx, c);
    }
    return CTS_OK;
}

/* Run the lexer over the whole spec (the end counts as a ','). */
static int lex(lexer *lx, size_t len)
{
    uint8_t st = LX_NAME;
    item_start(lx, 0);
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? lx->spec[i] : ',';
        int rc = CTS_OK;
        if (st == LX_ESC && i == len) {
            set_err(lx->o, "%s: '\\' at the end (write '\\\\' for a backslash)", lx->kind->label);
            return CTS_EINVAL;
        } else if (st == LX_ESC && c != ',' && c != ':' && c != '\\') {
            set_err(lx->o, "%s: '\\%c' at byte %zu (only ',', ':' and '\\' are escaped)",
                    lx->kind->label, c, i);
            return CTS_EINVAL;
        } else if (st == LX_ESC) {
            name_push(lx, c);
            st = LX_NAME;
        } else if (c == ',') {
            if (len == 0 && !lx->kind->one)
                return CTS_OK; /* "" is the empty list */
            if ((rc = item_done(lx, i)) == CTS_OK && i < len)
                item_start(lx, i + 1);
            st = LX_NAME;
        } else if (st == LX_NAME) {
            rc = lex_name(lx, i, &st);
        }
        if (rc != CTS_OK)
            return rc;
    }
    return CTS_OK;
}

/* Parse spec into *out (freed by the caller in any case). */
static int spec_parse(cts_csv_opts *o, const spec_kind *k, const char *spec, map_list *out)
{
    size_t len = strlen(spec), items = 1;
    for (size_t i = 0; i < len; i++)
        items += spec[i] == ',';
    out->items = cts_calloc(items, sizeof *out->items);
    out->names = cts_malloc(len + 2);
    if (!out->items || !out->names) {
        set_err(o, "%s: out of memory", k->label);
        return CTS_ENOMEM;
    }
    lexer lx = {.kind = k, .spec = spec, .o = o, .out = out, .name_end = out->names};
    int rc = lex(&lx, len);
    if (rc == CTS_OK && k->one && out->count != 1) {
        set_err(o, "%s: expected one column, got %zu", k->label, out->count);
        rc = CTS_EINVAL;
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * Options and setters.
 * ------------------------------------------------------------------------ */
void cts_csv_opts_init(cts_csv_opts *o)
{
    memset(o, 0, sizeof *o);
    o->delimiter = ',';
    o->unmapped = CTS_CSV_UNMAPPED_ERROR;
    o->max_record_bytes = CTS_CSV_RECORD_MAX_DEFAULT;
    o->batch_points = CTS_CSV_BATCH_DEFAULT;
}

void cts_csv_opts_fini(cts_csv_opts *o)
{
    if (!o)
        return;
    cts_csv_mapping *m = o->mapping;
    if (m) {
        cts_free(m->measurement);
        list_free(&m->time);
        list_free(&m->meas_col);
        list_free(&m->tags);
        list_free(&m->fields);
        cts_free(m);
    }
    cts_csv_opts_init(o);
}

/* The mapping, created empty on first use. */
static cts_csv_mapping *mapping_of(cts_csv_opts *o)
{
    if (!o->mapping)
        o->mapping = cts_calloc(1, sizeof *o->mapping);
    if (!o->mapping)
        set_err(o, "out of memory");
    return o->mapping;
}

/* Parse spec as a k list and, when it is good, put it in place of *slot. */
static int set_list(cts_csv_opts *o, const spec_kind *k, const char *spec, map_list *slot)
{
    map_list l = {0};
    int rc = spec_parse(o, k, spec, &l);
    if (rc != CTS_OK) {
        list_free(&l);
        return rc;
    }
    list_free(slot);
    *slot = l;
    o->errmsg[0] = '\0';
    return CTS_OK;
}

/* Which list of the mapping a kind sets (the mapping exists). */
static map_list *slot_of(cts_csv_mapping *m, const spec_kind *k)
{
    if (k == &K_TIME)
        return &m->time;
    if (k == &K_MEAS)
        return &m->meas_col;
    return k == &K_TAGS ? &m->tags : &m->fields;
}

static int set_spec(cts_csv_opts *o, const spec_kind *k, const char *spec)
{
    if (!o)
        return CTS_EINVAL;
    if (!spec) {
        set_err(o, "%s: no spec", k->label);
        return CTS_EINVAL;
    }
    cts_csv_mapping *m = mapping_of(o);
    if (!m)
        return CTS_ENOMEM;
    int rc = set_list(o, k, spec, slot_of(m, k));
    if (rc == CTS_OK && k == &K_TIME)
        m->has_time = true;
    return rc;
}

int cts_csv_opts_set_time(cts_csv_opts *o, const char *spec)
{
    return set_spec(o, &K_TIME, spec);
}

int cts_csv_opts_set_measurement_column(cts_csv_opts *o, const char *spec)
{
    return set_spec(o, &K_MEAS, spec);
}

int cts_csv_opts_set_tags(cts_csv_opts *o, const char *spec)
{
    return set_spec(o, &K_TAGS, spec);
}

int cts_csv_opts_set_fields(cts_csv_opts *o, const char *spec)
{
    return set_spec(o, &K_FIELDS, spec);
}

int cts_csv_opts_set_measurement(cts_csv_opts *o, const char *name)
{
    if (!o)
        return CTS_EINVAL;
    if (!name || !name[0]) {
        set_err(o, "measurement: empty name");
        return CTS_EINVAL;
    }
    cts_csv_mapping *m = mapping_of(o);
    size_t len = strlen(name);
    char *copy = m ? cts_malloc(len + 1) : NULL;
    if (!copy) {
        set_err(o, "measurement: out of memory");
        return CTS_ENOMEM;
    }
    memcpy(copy, name, len + 1);
    cts_free(m->measurement);
    m->measurement = copy;
    m->measurement_len = len;
    o->errmsg[0] = '\0';
    return CTS_OK;
}

static bool delimiter_ok(char c)
{
    return c != '"' && c != '\r' && c != '\n' && c != '\0';
}

int cts_csv_opts_set_delimiter(cts_csv_opts *o, const char *spec)
{
    if (!o)
        return CTS_EINVAL;
    char c = '\0';
    if (spec && (strcmp(spec, "tab") == 0 || strcmp(spec, "\\t") == 0))
        c = '\t';
    else if (spec && strlen(spec) == 1)
        c = spec[0];
    if (!delimiter_ok(c)) {
        set_err(o, "delimiter: expected one byte other than '\"', CR and LF, or 'tab', got '%.*s'",
                NAME_SHOWN, spec ? spec : "");
        return CTS_EINVAL;
    }
    o->delimiter = c;
    o->errmsg[0] = '\0';
    return CTS_OK;
}

int cts_csv_opts_set_unmapped(cts_csv_opts *o, const char *spec)
{
    if (!o)
        return CTS_EINVAL;
    if (spec && strcmp(spec, "error") == 0) {
        o->unmapped = CTS_CSV_UNMAPPED_ERROR;
    } else if (spec && strcmp(spec, "ignore") == 0) {
        o->unmapped = CTS_CSV_UNMAPPED_IGNORE;
    } else {
        set_err(o, "unmapped: expected 'error' or 'ignore', got '%.*s'", NAME_SHOWN,
                spec ? spec : "");
        return CTS_EINVAL;
    }
    o->errmsg[0] = '\0';
    return CTS_OK;
}

/* ------------------------------------------------------------------------
 * The check and the plan.
 * ------------------------------------------------------------------------ */
static const csv_want TIME_DEFAULT = {{"time", 4}, CSV_TIME, CTS_CSV_TIME_RFC3339};

static const csv_want *time_want(const cts_csv_mapping *m)
{
    return m && m->has_time ? &m->time.items[0] : &TIME_DEFAULT;
}

/* Call fn on every want of m in plan order (time column, measurement
 * column, tags, fields) until it returns non-zero. */
static int each_want(const cts_csv_mapping *m, int (*fn)(void *, const csv_want *), void *arg)
{
    int rc = fn(arg, time_want(m));
    if (!m)
        return rc;
    const map_list *lists[3] = {&m->meas_col, &m->tags, &m->fields};
    for (size_t k = 0; k < 3 && rc == 0; k++)
        for (size_t i = 0; i < lists[k]->count && rc == 0; i++)
            rc = fn(arg, &lists[k]->items[i]);
    return rc;
}

/* A want compared against every want before it in plan order. */
typedef struct dup_scan {
    const cts_csv_mapping *m;
    cts_csv_opts *o;
    const csv_want *target;
} dup_scan;

static int dup_inner(void *arg, const csv_want *w)
{
    dup_scan *d = arg;
    if (w == d->target)
        return 1; /* reached itself: nothing earlier matched */
    const csv_want *t = d->target;
    if (w->name.len != t->name.len || memcmp(w->name.ptr, t->name.ptr, t->name.len) != 0)
        return 0;
    set_err(
        d->o, "column '%.*s%s' is mapped twice: as %s %s and as %s %s", SHOW(t->name), CUT(t->name),
        w->role == CSV_TAG || w->role == CSV_FIELD ? "a" : "the", csv_role_name((csv_role)w->role),
        t->role == CSV_TAG || t->role == CSV_FIELD ? "a" : "the", csv_role_name((csv_role)t->role));
    return 2;
}

static int dup_outer(void *arg, const csv_want *w)
{
    dup_scan *d = arg;
    dup_scan inner = {d->m, d->o, w};
    return each_want(d->m, dup_inner, &inner) == 2 ? 2 : 0;
}

static int check_limits(cts_csv_opts *o)
{
    if (!delimiter_ok(o->delimiter)) {
        set_err(o, "delimiter: 0x%02x is not allowed ('\"', CR, LF and NUL are not)",
                (unsigned)(unsigned char)o->delimiter);
        return CTS_EINVAL;
    }
    if (o->unmapped != CTS_CSV_UNMAPPED_ERROR && o->unmapped != CTS_CSV_UNMAPPED_IGNORE) {
        set_err(o, "unmapped: invalid value %d", (int)o->unmapped);
        return CTS_EINVAL;
    }
    if (o->max_record_bytes < 16 || o->max_record_bytes > (1u << 30)) {
        set_err(o, "max_record_bytes: %u is outside 16 .. 1073741824", o->max_record_bytes);
        return CTS_EINVAL;
    }
    if (o->batch_points < 1 || o->batch_points > 10000000) {
        set_err(o, "batch_points: %u is outside 1 .. 10000000", o->batch_points);
        return CTS_EINVAL;
    }
    return CTS_OK;
}

int cts_csv_opts_check(cts_csv_opts *o)
{
    if (!o)
        return CTS_EINVAL;
    int rc = check_limits(o);
    if (rc != CTS_OK)
        return rc;
    const cts_csv_mapping *m = o->mapping;
    bool fixed = m && m->measurement, column = m && m->meas_col.count;
    if (!fixed && !column) {
        set_err(o, "no measurement: set a measurement name or a measurement column");
        return CTS_EINVAL;
    }
    if (fixed && column) {
        set_err(o, "both a measurement name and a measurement column are set: use one");
        return CTS_EINVAL;
    }
    if (!m->fields.count) {
        set_err(o, "no field columns: map at least one (fields name:type,...)");
        return CTS_EINVAL;
    }
    dup_scan d = {m, o, NULL};
    if (each_want(m, dup_outer, &d) != 0)
        return CTS_EINVAL;
    o->errmsg[0] = '\0';
    return CTS_OK;
}

/* Count the plan's wants and name bytes. */
static int plan_size(void *arg, const csv_want *w)
{
    size_t *acc = arg;
    acc[0]++;
    acc[1] += w->name.len;
    return 0;
}

/* Where plan_copy puts the next want and name. */
typedef struct plan_fill {
    csv_plan *plan;
    char *bytes;
} plan_fill;

static int plan_copy(void *arg, const csv_want *w)
{
    plan_fill *f = arg;
    memcpy(f->bytes, w->name.ptr, w->name.len);
    f->plan->want[f->plan->nwant++] = (csv_want){{f->bytes, w->name.len}, w->role, w->kind};
    f->bytes += w->name.len;
    return 0;
}

int csv_plan_build(const cts_csv_opts *o, csv_plan *plan)
{
    const cts_csv_mapping *m = o->mapping;
    size_t acc[2] = {0, 0};
    each_want(m, plan_size, acc);
    size_t meas = m->measurement ? m->measurement_len : 0;
    /* one block: the wants (malloc's alignment), then the measurement and names */
    char *mem = cts_malloc(acc[0] * sizeof(csv_want) + meas + acc[1] + 1);
    if (!mem)
        return CTS_ENOMEM;
    *plan = (csv_plan){.want = (csv_want *)(void *)mem, .mem = mem};
    plan_fill f = {plan, mem + acc[0] * sizeof(csv_want)};
    memcpy(f.bytes, m->measurement ? m->measurement : "", meas);
    plan->measurement = (cts_str){f.bytes, (uint32_t)meas};
    f.bytes += meas;
    each_want(m, plan_copy, &f);
    return CTS_OK;
}

void csv_plan_free(csv_plan *plan)
{
    cts_free(plan->mem);
    *plan = (csv_plan){0};
}
