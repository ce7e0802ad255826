/*
 * csv.c: a stream of RFC 4180 CSV, fed in chunks of any size, into batches
 * of points for cts_db_write, through the mapping of csv_map.c.
 *
 * Why it exists: city data often arrives as spreadsheet exports and
 * gateway dumps in CSV rather than line protocol. The reader turns them
 * into the same batches as cts_lp_reader (same calls, same borrowing, same
 * "a chunk ends its batch" rule), so the CLI and the HTTP front end drive
 * both formats with one loop.
 *
 * Two layers:
 *   - the tokenizer, a byte-level state machine (nginx style) that copies
 *     the record being read into `rec`: cells unquoted ("" undone), each
 *     followed by a NUL, with their offsets in `cells`. Its state survives
 *     the end of a chunk, so a record may span any number of chunks and
 *     the result never depends on where the input was cut. Runs of
 *     ordinary bytes are copied with one memcpy (a class table marks the
 *     delimiter, '"', '\r' and '\n'; memchr finds the end of a quoted run);
 *   - the record taker: the first non-empty record is the header, resolved
 *     once against the plan into a per-column role table; every later one
 *     becomes a point or a bad row (csv_value.c reads the values in place;
 *     tag and string values are copied to per-batch scratch blocks).
 *
 * Tokenizer states (a fault makes the record bad but reading goes on, so
 * the record still ends where it should):
 *
 *   BOM --(EF BB BF dropped, or anything else)--> START
 *   START --'"'--> QUO --'"'--> QEND --'"' (a literal quote)--> QUO
 *   START --byte--> UNQ --'"' (fault: quote in an unquoted cell)--> UNQ
 *   QEND --other byte (fault: byte after a closing quote)--> UNQ
 *   START, UNQ, QEND --delimiter--> START (cell ends)
 *   START, UNQ, QEND --'\n'--> record ends;  --'\r'--> CR --'\n'--> record
 *   ends;  CR --other (fault: bare carriage return)--> UNQ
 *   any --(more than max_record_bytes raw bytes)--> SKIP --'\n'--> record
 *   ends (reported too long; quotes are not looked at while skipping)
 *
 * Invariants:
 *   - every allocation a step needs is made before the step moves
 *     anything (position, state, counters), so CTS_ENOMEM leaves the
 *     reader as it was and the call can be retried;
 *   - nothing of a batch points into a caller's chunk or into `rec`: a
 *     batch stays valid while later bytes are tokenized;
 *   - line numbers count every '\n' consumed, quoted ones included; a
 *     record's row is the line its first byte is on.
 */
#include "csv_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { ST_BOM, ST_START, ST_UNQ, ST_QUO, ST_QEND, ST_CR, ST_SKIP };

/* Why the tokenizer found a record bad. */
enum { TF_NONE, TF_QUOTE_IN_CELL, TF_AFTER_QUOTE, TF_BARE_CR, TF_OPEN_QUOTE, TF_TOO_LONG };

/* What a tokenizer step did: keep going, or a record ended. */
enum { TOK_MORE = 0, TOK_RECORD = 1 };

/* Scratch blocks for copies of a batch's strings are at least this big. */
#define SCRATCH_BLOCK (256u * 1024u)
/* Bytes of a cell or a name quoted in a message. */
#define SHOWN 64

typedef struct csv_cell {
    uint32_t off, len; /* in rec */
    uint32_t col;      /* 1-based raw byte offset of the cell in its record */
    bool quoted;
} csv_cell;

/* What one header column is. */
typedef struct csv_col {
    cts_str key; /* the plan's name (a tag or field key) */
    uint8_t role, kind;
} csv_col;

typedef struct csv_block {
    char *mem;
    size_t cap;
} csv_block;

struct cts_csv_reader {
    char delim;
    cts_csv_unmapped unmapped;
    uint32_t max_record, batch_points;
    csv_plan plan;
    uint8_t special[256]; /* delimiter, '"', '\r', '\n' */
    /* the chunk being read, borrowed */
    const char *chunk;
    size_t chunk_len, pos;
    bool have_chunk, finished, final_done, batch_open;
    /* the record being read */
    uint8_t st, bom_n, fault;
    char fault_byte;
    char *rec;
    size_t rec_len, rec_cap;
    csv_cell *cells;
    size_t ncells, cells_cap;
    csv_cell cell;    /* the open cell (len unused) */
    uint32_t rec_raw; /* raw bytes of the record so far */
    uint32_t cr_col;  /* column of a '\r' waiting for its '\n' */
    uint32_t fault_field, fault_col;
    uint64_t line, rec_row;
    bool rec_ready;
    /* the header */
    bool have_header;
    char *hdr_names;
    cts_str *hdr;
    csv_col *cols;
    size_t nhdr, ntag_cols, nfield_cols;
    int failed;
    char errmsg[CTS_CSV_MSG_MAX];
    /* the batch */
    cts_point *points;
    uint64_t *point_row;
    size_t npoints, points_cap, point_row_cap;
    cts_tag *tags;
    size_t ntags, tags_cap;
    cts_field *fields;
    size_t nfields, fields_cap;
    cts_csv_error *bad;
    size_t nbad, bad_cap;
    csv_block *blocks;
    size_t nblocks, blocks_cap, cur_block, cur_used;
    uint64_t batch_values;
    cts_csv_stats stats;
};

/* arr grown to hold need elements; NULL (arr untouched) when out of memory. */
static void *grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = cts_realloc(arr, n * elem);
    if (p)
        *cap = n;
    return p;
}

/* ------------------------------------------------------------------------
 * The tokenizer.
 * ------------------------------------------------------------------------ */

/* rec can take n more bytes and a NUL. */
static inline int rec_reserve(cts_csv_reader *r, size_t n)
{
    if (r->rec_len + n + 1 <= r->rec_cap)
        return CTS_OK;
    char *p = grow_array(r->rec, &r->rec_cap, r->rec_len + n + 1, 1);
    if (!p)
        return CTS_ENOMEM;
    r->rec = p;
    return CTS_OK;
}

static void rec_append(cts_csv_reader *r, const char *p, size_t n)
{
    memcpy(r->rec + r->rec_len, p, n);
    r->rec_len += n;
}

/* n bytes of the chunk belong to the record. */
static void consume(cts_csv_reader *r, size_t n)
{
    r->pos += n;
    r->rec_raw += (uint32_t)n;
}

static void cell_start(cts_csv_reader *r)
{
    r->cell = (csv_cell){.off = (uint32_t)r->rec_len, .col = r->rec_raw + 1};
}

/* Close the open cell: NUL-terminate it and list it. */
static int cell_end(cts_csv_reader *r)
{
    if (r->ncells == r->cells_cap) {
        csv_cell *grown = grow_array(r->cells, &r->cells_cap, r->ncells + 1, sizeof *grown);
        if (!grown)
            return CTS_ENOMEM;
        r->cells = grown;
    }
    if (rec_reserve(r, 0) != CTS_OK)
        return CTS_ENOMEM;
    r->rec[r->rec_len] = '\0';
    /* Member by member: copying the freshly written r->cell whole would
     * stall on store forwarding (a fifth of the parse time). */
    csv_cell *c = &r->cells[r->ncells++];
    c->off = r->cell.off;
    c->len = (uint32_t)(r->rec_len - r->cell.off);
    c->col = r->cell.col;
    c->quoted = r->cell.quoted;
    r->rec_len++;
    return CTS_OK;
}

/* Record the first fault of the record, in the open cell at col. */
static void fault(cts_csv_reader *r, uint8_t kind, uint32_t col, char byte)
{
    if (r->fault != TF_NONE)
        return;
    r->fault = kind;
    r->fault_field = (uint32_t)r->ncells + 1;
    r->fault_col = col;
    r->fault_byte = byte;
}

static void rec_reset(cts_csv_reader *r, uint8_t st)
{
    r->st = st;
    r->bom_n = 0;
    r->fault = TF_NONE;
    r->rec_len = r->ncells = 0;
    r->rec_raw = 0;
    r->rec_row = r->line;
    r->rec_ready = false;
    cell_start(r);
}

/* The record outgrew max_record: forget its cells, skip to the next '\n'. */
static void too_long(cts_csv_reader *r)
{
    r->fault = TF_TOO_LONG;
    r->fault_field = 0;
    r->fault_col = r->max_record + 1;
    r->rec_len = r->ncells = 0;
    r->st = ST_SKIP;
}

/* A '\n' consumed; it ends the record. */
static int line_end(cts_csv_reader *r)
{
    r->pos++;
    r->line++;
    r->stats.lines++;
    return TOK_RECORD;
}

/* c (the delimiter, '\n' or '\r') in an unquoted context. */
static int tok_sep(cts_csv_reader *r, char c)
{
    if (c == '\r') {
        r->cr_col = r->rec_raw + 1;
        consume(r, 1);
        r->st = ST_CR;
        return TOK_MORE;
    }
    if (cell_end(r) != CTS_OK)
        return CTS_ENOMEM;
    if (c == '\n')
        return line_end(r);
    consume(r, 1);
    cell_start(r);
    r->st = ST_START;
    return TOK_MORE;
}

static bool is_sep(const cts_csv_reader *r, char c)
{
    return c == r->delim || c == '\n' || c == '\r';
}

static int tok_bom(cts_csv_reader *r, char c)
{
    static const char bom[3] = {'\xEF', '\xBB', '\xBF'};
    if (c == bom[r->bom_n]) {
        r->pos++; /* not part of the record: columns count from after it */
        r->st = ++r->bom_n == 3 ? ST_START : ST_BOM;
        return TOK_MORE;
    }
    if (r->bom_n) { /* a prefix that was no mark: it is data */
        if (rec_reserve(r, r->bom_n) != CTS_OK)
            return CTS_ENOMEM;
        rec_append(r, bom, r->bom_n);
        r->rec_raw += r->bom_n;
        r->st = ST_UNQ;
        return TOK_MORE;
    }
    r->st = ST_START;
    return TOK_MORE;
}

static int tok_start(cts_csv_reader *r, char c)
{
    if (c == '"') {
        r->cell.quoted = true;
        consume(r, 1);
        r->st = ST_QUO;
        return TOK_MORE;
    }
    if (is_sep(r, c))
        return tok_sep(r, c);
    r->st = ST_UNQ;
    return TOK_MORE;
}

/* Bytes the record may still take before it is too long. */
static size_t room(const cts_csv_reader *r)
{
    return r->max_record - r->rec_raw;
}

static int tok_unq(cts_csv_reader *r)
{
    const char *p = r->chunk;
    size_t i = r->pos, lim = r->chunk_len - r->pos;
    lim = r->pos + (lim < room(r) ? lim : room(r));
    while (i < lim && !r->special[(uint8_t)p[i]])
        i++;
    if (i > r->pos) {
        size_t k = i - r->pos;
        if (rec_reserve(r, k) != CTS_OK)
            return CTS_ENOMEM;
        rec_append(r, p + r->pos, k);
        consume(r, k);
        return TOK_MORE;
    }
    if (p[i] != '"')
        return tok_sep(r, p[i]);
    if (rec_reserve(r, 1) != CTS_OK)
        return CTS_ENOMEM;
    fault(r, TF_QUOTE_IN_CELL, r->rec_raw + 1, '"');
    rec_append(r, "\"", 1);
    consume(r, 1);
    return TOK_MORE;
}

static uint64_t count_nl(const char *p, size_t n)
{
    uint64_t k = 0;
    const char *e = p + n;
    while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
        k++;
        p++;
    }
    return k;
}

static int tok_quo(cts_csv_reader *r)
{
    const char *s = r->chunk + r->pos;
    size_t lim = r->chunk_len - r->pos;
    lim = lim < room(r) ? lim : room(r);
    const char *q = memchr(s, '"', lim);
    size_t k = q ? (size_t)(q - s) : lim;
    if (k == 0) {
        consume(r, 1);
        r->st = ST_QEND;
        return TOK_MORE;
    }
    if (rec_reserve(r, k) != CTS_OK)
        return CTS_ENOMEM;
    rec_append(r, s, k);
    uint64_t nl = count_nl(s, k);
    r->line += nl;
    r->stats.lines += nl;
    consume(r, k);
    return TOK_MORE;
}

static int tok_qend(cts_csv_reader *r, char c)
{
    if (c == '"') {
        if (rec_reserve(r, 1) != CTS_OK)
            return CTS_ENOMEM;
        rec_append(r, "\"", 1);
        consume(r, 1);
        r->st = ST_QUO;
        return TOK_MORE;
    }
    if (is_sep(r, c))
        return tok_sep(r, c);
    fault(r, TF_AFTER_QUOTE, r->rec_raw + 1, c);
    r->st = ST_UNQ; /* the byte is read again as data */
    return TOK_MORE;
}

static int tok_cr(cts_csv_reader *r, char c)
{
    if (c == '\n') {
        if (cell_end(r) != CTS_OK)
            return CTS_ENOMEM;
        return line_end(r);
    }
    fault(r, TF_BARE_CR, r->cr_col, '\r');
    r->st = ST_UNQ; /* the '\r' is dropped, the byte read again */
    return TOK_MORE;
}

static int tok_skip(cts_csv_reader *r)
{
    const char *s = r->chunk + r->pos;
    const char *k = memchr(s, '\n', r->chunk_len - r->pos);
    if (!k) {
        r->pos = r->chunk_len;
        return TOK_MORE;
    }
    r->pos += (size_t)(k - s);
    return line_end(r);
}

/* One transition: a run of bytes or one special byte. */
static int tok_step(cts_csv_reader *r)
{
    char c = r->chunk[r->pos];
    if (r->st == ST_SKIP)
        return tok_skip(r);
    /* A '\n' that ends the record is not one of its bytes. */
    if (r->rec_raw >= r->max_record && !(c == '\n' && r->st != ST_QUO)) {
        too_long(r);
        return TOK_MORE;
    }
    switch (r->st) {
    case ST_BOM:
        return tok_bom(r, c);
    case ST_START:
        return tok_start(r, c);
    case ST_UNQ:
        return tok_unq(r);
    case ST_QUO:
        return tok_quo(r);
    case ST_QEND:
        return tok_qend(r, c);
    default:
        return tok_cr(r, c);
    }
}

/* Tokenize the chunk until a record ends or the chunk does. */
static int tok_run(cts_csv_reader *r)
{
    while (r->pos < r->chunk_len) {
        int rc = tok_step(r);
        if (rc != TOK_MORE)
            return rc;
    }
    return TOK_MORE;
}

/* The input ended: close the last record, if one was started. */
static int tok_eof(cts_csv_reader *r)
{
    if (r->st == ST_SKIP)
        return TOK_RECORD;
    if (r->st == ST_BOM && r->bom_n) {
        if (rec_reserve(r, r->bom_n) != CTS_OK)
            return CTS_ENOMEM;
        rec_append(r, "\xEF\xBB\xBF", r->bom_n);
        r->rec_raw += r->bom_n;
        r->bom_n = 0;
        r->st = ST_UNQ;
    }
    if ((r->st == ST_START || r->st == ST_BOM) && r->ncells == 0 && r->rec_raw == 0)
        return TOK_MORE;
    if (r->st == ST_QUO)
        fault(r, TF_OPEN_QUOTE, r->cell.col, '"');
    if (cell_end(r) != CTS_OK)
        return CTS_ENOMEM;
    return TOK_RECORD;
}

/* ------------------------------------------------------------------------
 * Messages.
 * ------------------------------------------------------------------------ */

/* Up to SHOWN bytes of s, control bytes escaped, then "..." if cut. */
static void show(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0, i = 0;
    for (; i < n && i < SHOWN && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r' || c == '\t') {
            dst[o++] = '\\';
            dst[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    if (i < n && o + 4 <= cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

#define SHOW_CAP (SHOWN * 4 + 8)

static void fmt(char *dst, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));

static void fmt(char *dst, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(dst, cap, f, ap);
    va_end(ap);
}

/* Fail the reader for good (until reset): the header is refused. */
static int fail(cts_csv_reader *r, const char *f, ...) __attribute__((format(printf, 2, 3)));

static int fail(cts_csv_reader *r, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(r->errmsg, sizeof r->errmsg, f, ap);
    va_end(ap);
    r->failed = CTS_EPARSE;
    return CTS_EPARSE;
}

/* The reason of a tokenizer fault. */
static void fault_reason(const cts_csv_reader *r, char *dst, size_t cap)
{
    char b[SHOW_CAP];
    switch (r->fault) {
    case TF_QUOTE_IN_CELL:
        fmt(dst, cap, "'\"' inside an unquoted cell (quote the cell and double its quotes)");
        break;
    case TF_AFTER_QUOTE:
        show(b, sizeof b, &r->fault_byte, 1);
        fmt(dst, cap, "'%s' after a closing quote (expected the delimiter or a newline)", b);
        break;
    case TF_BARE_CR:
        fmt(dst, cap, "carriage return not followed by a line feed");
        break;
    case TF_OPEN_QUOTE:
        fmt(dst, cap, "quoted cell not closed at the end of the input");
        break;
    default:
        fmt(dst, cap, "record longer than %u bytes", r->max_record);
        break;
    }
}

/* Add a bad row (a slot was reserved): field 0 is the whole record. */
static void bad_add(cts_csv_reader *r, uint32_t field, uint32_t col, const char *reason)
{
    cts_csv_error *e = &r->bad[r->nbad++];
    e->row = r->rec_row;
    e->field = field;
    e->byte_column = col;
    fmt(e->reason, sizeof e->reason, "%s", reason);
    char name[SHOW_CAP];
    unsigned long long row = (unsigned long long)r->rec_row;
    if (field == 0) {
        fmt(e->msg, sizeof e->msg, "row %llu: %s", row, e->reason);
    } else if (field <= r->nhdr) {
        show(name, sizeof name, r->hdr[field - 1].ptr, r->hdr[field - 1].len);
        fmt(e->msg, sizeof e->msg, "row %llu, column %u (%s): %s", row, field, name, e->reason);
    } else {
        fmt(e->msg, sizeof e->msg, "row %llu, column %u: %s", row, field, e->reason);
    }
    r->stats.bad_rows++;
}

/* A cell that is not a value: "<what> '<cell>'[: <detail>]". */
static void bad_cell(cts_csv_reader *r, size_t i, const char *what, const char *detail)
{
    const csv_cell *c = &r->cells[i];
    char v[SHOW_CAP], reason[CTS_CSV_REASON_MAX];
    show(v, sizeof v, r->rec + c->off, c->len);
    fmt(reason, sizeof reason, "%s '%s'%s%s", what, v, detail ? ": " : "", detail ? detail : "");
    bad_add(r, (uint32_t)i + 1, c->col, reason);
}

/* ------------------------------------------------------------------------
 * The header.
 * ------------------------------------------------------------------------ */

/* The header column named like w, or -1; *twice is set to a second one. */
static long find_column(const cts_csv_reader *r, const csv_want *w, long *twice)
{
    long found = -1;
    *twice = -1;
    for (size_t i = 0; i < r->ncells; i++) {
        const csv_cell *c = &r->cells[i];
        if (c->len != w->name.len || memcmp(r->rec + c->off, w->name.ptr, c->len) != 0)
            continue;
        if (found >= 0) {
            *twice = (long)i;
            break;
        }
        found = (long)i;
    }
    return found;
}

/* Every mapped name the header lacks, in one message (ending in ", ..."
 * when they do not all fit). */
static int fail_missing(cts_csv_reader *r)
{
    char list[CTS_CSV_MSG_MAX - 64], name[SHOW_CAP];
    size_t o = 0, missing = 0;
    list[0] = '\0';
    for (size_t j = 0; j < r->plan.nwant; j++) {
        long twice, i = find_column(r, &r->plan.want[j], &twice);
        if (i >= 0)
            continue;
        const csv_want *w = &r->plan.want[j];
        show(name, sizeof name, w->name.ptr, w->name.len);
        size_t room_left = sizeof list - o - 6; /* keeps ", ..." and the NUL */
        int k = snprintf(list + o, room_left, "%s'%s' (%s)", missing++ ? ", " : "", name,
                         csv_role_name((csv_role)w->role));
        if (k < 0 || (size_t)k >= room_left) {
            memcpy(list + o, ", ...", 6);
            break;
        }
        o += (size_t)k;
    }
    return fail(r, "header (row %llu): mapped column%s not in the header: %s",
                (unsigned long long)r->rec_row, missing > 1 ? "s" : "", list);
}

/* Resolve the plan against the header's cells into cols. */
static int resolve(cts_csv_reader *r, csv_col *cols)
{
    char name[SHOW_CAP];
    unsigned long long row = (unsigned long long)r->rec_row;
    for (size_t j = 0; j < r->plan.nwant; j++) {
        const csv_want *w = &r->plan.want[j];
        long twice, i = find_column(r, w, &twice);
        if (i < 0)
            return fail_missing(r);
        if (twice >= 0) {
            show(name, sizeof name, w->name.ptr, w->name.len);
            return fail(r, "header (row %llu): column '%s' appears twice (columns %ld and %ld)",
                        row, name, i + 1, twice + 1);
        }
        cols[i] = (csv_col){w->name, w->role, w->kind};
    }
    for (size_t i = 0; i < r->ncells && r->unmapped == CTS_CSV_UNMAPPED_ERROR; i++) {
        if (cols[i].role != CSV_IGNORE)
            continue;
        show(name, sizeof name, r->rec + r->cells[i].off, r->cells[i].len);
        return fail(r,
                    "header (row %llu): column %zu '%s' is not mapped (map it as a tag or a "
                    "field, or ignore unmapped columns)",
                    row, i + 1, name);
    }
    return CTS_OK;
}

static void header_free(cts_csv_reader *r)
{
    cts_free(r->hdr_names);
    cts_free(r->hdr);
    cts_free(r->cols);
    r->hdr_names = NULL;
    r->hdr = NULL;
    r->cols = NULL;
    r->nhdr = r->ntag_cols = r->nfield_cols = 0;
    r->have_header = false;
}

static int header_take(cts_csv_reader *r)
{
    if (r->fault != TF_NONE) {
        char reason[CTS_CSV_REASON_MAX];
        fault_reason(r, reason, sizeof reason);
        return fail(r, "header (row %llu, byte %u): %s", (unsigned long long)r->rec_row,
                    r->fault_col, reason);
    }
    char *names = cts_malloc(r->rec_len);
    cts_str *hdr = cts_calloc(r->ncells, sizeof *hdr);
    csv_col *cols = cts_calloc(r->ncells, sizeof *cols);
    if (!names || !hdr || !cols) {
        cts_free(names);
        cts_free(hdr);
        cts_free(cols);
        return CTS_ENOMEM;
    }
    int rc = resolve(r, cols);
    if (rc != CTS_OK) {
        cts_free(names);
        cts_free(hdr);
        cts_free(cols);
        return rc;
    }
    memcpy(names, r->rec, r->rec_len);
    for (size_t i = 0; i < r->ncells; i++) {
        hdr[i] = (cts_str){names + r->cells[i].off, r->cells[i].len};
        r->ntag_cols += cols[i].role == CSV_TAG;
        r->nfield_cols += cols[i].role == CSV_FIELD;
    }
    r->hdr_names = names;
    r->hdr = hdr;
    r->cols = cols;
    r->nhdr = r->ncells;
    r->have_header = true;
    return CTS_OK;
}

/* ------------------------------------------------------------------------
 * Rows.
 * ------------------------------------------------------------------------ */

/* The scratch block with len free bytes at cur_used, switching to (or
 * allocating) a later block when the current one is short. */
static char *scratch_reserve(cts_csv_reader *r, size_t len)
{
    while (r->cur_block < r->nblocks && r->blocks[r->cur_block].cap - r->cur_used < len) {
        r->cur_block++;
        r->cur_used = 0;
    }
    if (r->cur_block == r->nblocks) {
        csv_block *b = grow_array(r->blocks, &r->blocks_cap, r->nblocks + 1, sizeof *b);
        if (!b)
            return NULL;
        r->blocks = b;
        size_t cap = len > SCRATCH_BLOCK ? len : SCRATCH_BLOCK;
        char *mem = cts_malloc(cap);
        if (!mem)
            return NULL;
        r->blocks[r->nblocks++] = (csv_block){mem, cap};
    }
    return r->blocks[r->cur_block].mem + r->cur_used;
}

/* Room for one more row of `bytes` cell bytes: a point, its tags and
 * fields, its copies and a bad-row slot. */
static int batch_reserve(cts_csv_reader *r, size_t bytes)
{
    cts_point *pt = grow_array(r->points, &r->points_cap, r->npoints + 1, sizeof *pt);
    if (!pt)
        return CTS_ENOMEM;
    r->points = pt;
    uint64_t *pr = grow_array(r->point_row, &r->point_row_cap, r->npoints + 1, sizeof *pr);
    if (!pr)
        return CTS_ENOMEM;
    r->point_row = pr;
    cts_tag *t = grow_array(r->tags, &r->tags_cap, r->ntags + r->ntag_cols + 1, sizeof *t);
    if (!t)
        return CTS_ENOMEM;
    r->tags = t;
    cts_field *f =
        grow_array(r->fields, &r->fields_cap, r->nfields + r->nfield_cols + 1, sizeof *f);
    if (!f)
        return CTS_ENOMEM;
    r->fields = f;
    cts_csv_error *b = grow_array(r->bad, &r->bad_cap, r->nbad + 1, sizeof *b);
    if (!b)
        return CTS_ENOMEM;
    r->bad = b;
    return scratch_reserve(r, bytes + 1) ? CTS_OK : CTS_ENOMEM;
}

/* A point being built from the cells. */
typedef struct row_build {
    cts_point pt;
    cts_tag *tags;
    cts_field *fields;
    char *scratch;
    size_t used;
    bool have_ts;
} row_build;

static cts_str copy_cell(row_build *b, const char *s, uint32_t n)
{
    char *d = b->scratch + b->used;
    memcpy(d, s, n);
    b->used += n;
    return (cts_str){d, n};
}

/* The value of a field cell (non-empty); NULL or the reason's start. */
static const char *field_value(row_build *b, const csv_col *col, const char *s, uint32_t n)
{
    cts_field *f = &b->fields[b->pt.nfields];
    *f = (cts_field){.key = col->key, .type = (cts_type)col->kind};
    switch (col->kind) {
    case CTS_TYPE_FLOAT:
        return csv_parse_float(s, n, &f->v.f);
    case CTS_TYPE_INT:
        return csv_parse_int(s, n, &f->v.i);
    case CTS_TYPE_UINT:
        return csv_parse_uint(s, n, &f->v.u);
    case CTS_TYPE_BOOL:
        return csv_parse_bool(s, n, &f->v.b);
    default:
        f->v.s = copy_cell(b, s, n);
        return NULL;
    }
}

/* Cell i into b; false when it is a bad row (reported). */
static bool take_cell(cts_csv_reader *r, row_build *b, size_t i)
{
    const csv_col *col = &r->cols[i];
    const csv_cell *c = &r->cells[i];
    const char *s = r->rec + c->off, *why = NULL, *detail = NULL;
    if (c->len == 0 && (col->role == CSV_TIME || col->role == CSV_MEASUREMENT))
        why = col->role == CSV_TIME ? "empty time" : "empty measurement";
    else if (c->len == 0 || col->role == CSV_IGNORE)
        return true;
    else if (col->role == CSV_TIME)
        why = csv_parse_time(s, c->len, (cts_csv_time_format)col->kind, &b->pt.ts_ns, &detail);
    else if (col->role == CSV_MEASUREMENT)
        b->pt.measurement = copy_cell(b, s, c->len);
    else if (col->role == CSV_TAG)
        b->tags[b->pt.ntags++] = (cts_tag){col->key, copy_cell(b, s, c->len)};
    else if (!(why = field_value(b, col, s, c->len)))
        b->pt.nfields++;
    if (!why)
        return true;
    if (c->len == 0)
        bad_add(r, (uint32_t)i + 1, c->col, why);
    else
        bad_cell(r, i, why, detail);
    return false;
}

/* A data record into a point or a bad row (room was reserved). */
static void row_take(cts_csv_reader *r)
{
    char reason[CTS_CSV_REASON_MAX];
    r->stats.rows++;
    if (r->fault != TF_NONE) {
        fault_reason(r, reason, sizeof reason);
        bad_add(r, r->fault_field, r->fault_col, reason);
        return;
    }
    if (r->ncells != r->nhdr) {
        fmt(reason, sizeof reason, "%zu cells, the header has %zu", r->ncells, r->nhdr);
        bad_add(r, 0, 1, reason);
        return;
    }
    row_build b = {.pt = {.measurement = r->plan.measurement},
                   .tags = r->tags + r->ntags,
                   .fields = r->fields + r->nfields,
                   .scratch = r->blocks[r->cur_block].mem + r->cur_used};
    for (size_t i = 0; i < r->ncells; i++)
        if (!take_cell(r, &b, i))
            return;
    if (b.pt.nfields == 0) {
        bad_add(r, 0, 1, "no field values (every field cell is empty)");
        return;
    }
    r->points[r->npoints] = b.pt;
    r->point_row[r->npoints++] = r->rec_row;
    r->ntags += b.pt.ntags;
    r->nfields += b.pt.nfields;
    r->cur_used += b.used;
    r->batch_values += b.pt.nfields;
    r->stats.points++;
    r->stats.values += b.pt.nfields;
}

static bool empty_line(const cts_csv_reader *r)
{
    return r->fault == TF_NONE && r->ncells == 1 && r->cells[0].len == 0 && !r->cells[0].quoted;
}

/* A record ended: the header, a row, or an empty line to skip. */
static int take_record(cts_csv_reader *r)
{
    if (empty_line(r))
        return CTS_OK;
    if (!r->have_header)
        return header_take(r);
    int rc = batch_reserve(r, r->rec_len);
    if (rc != CTS_OK)
        return rc;
    row_take(r);
    return CTS_OK;
}

/* ------------------------------------------------------------------------
 * The reader.
 * ------------------------------------------------------------------------ */
static void batch_reset(cts_csv_reader *r)
{
    r->npoints = r->ntags = r->nfields = r->nbad = 0;
    r->cur_block = r->cur_used = 0;
    r->batch_values = 0;
    r->batch_open = true;
}

static bool batch_full(const cts_csv_reader *r)
{
    return r->npoints >= r->batch_points || r->nbad >= r->batch_points;
}

/* Hand the batch out, giving each point its slice of the arrays. */
static int yield(cts_csv_reader *r, cts_csv_batch *b)
{
    size_t nt = 0, nf = 0;
    for (size_t i = 0; i < r->npoints; i++) {
        r->points[i].tags = r->tags + nt;
        r->points[i].fields = r->fields + nf;
        nt += r->points[i].ntags;
        nf += r->points[i].nfields;
    }
    *b = (cts_csv_batch){.points = r->points,
                         .point_row = r->point_row,
                         .npoints = r->npoints,
                         .bad = r->bad,
                         .nbad = r->nbad,
                         .values = r->batch_values};
    r->batch_open = false;
    r->stats.batches++;
    return 1;
}

/* One step of work: 1 when something moved, 0 when the reader waits for
 * input (or is done), or an error. */
static int advance(cts_csv_reader *r)
{
    int rc;
    if (r->rec_ready) {
        if ((rc = take_record(r)) != CTS_OK)
            return rc;
        rec_reset(r, ST_START);
        return 1;
    }
    if (r->have_chunk && r->pos == r->chunk_len) {
        r->have_chunk = false;
        return 0;
    }
    if (r->have_chunk) {
        if ((rc = tok_run(r)) < 0)
            return rc;
        r->rec_ready = rc == TOK_RECORD;
        return 1;
    }
    if (r->finished && !r->final_done) {
        if ((rc = tok_eof(r)) < 0)
            return rc;
        r->final_done = true;
        r->rec_ready = rc == TOK_RECORD;
        return 1;
    }
    if (r->finished && !r->have_header)
        return fail(r, "no header: the input holds no record");
    return 0;
}

int cts_csv_reader_next(cts_csv_reader *r, cts_csv_batch *b)
{
    if (!r || !b)
        return CTS_EINVAL;
    if (r->failed)
        return r->failed;
    if (!r->batch_open)
        batch_reset(r);
    int rc;
    while (!batch_full(r) && (rc = advance(r)) != 0)
        if (rc < 0)
            return rc;
    return (r->npoints || r->nbad) ? yield(r, b) : 0;
}

int cts_csv_reader_feed(cts_csv_reader *r, const void *data, size_t len)
{
    if (!r || (!data && len) || r->have_chunk || r->finished)
        return CTS_EINVAL;
    if (r->failed)
        return r->failed;
    r->chunk = data;
    r->chunk_len = len;
    r->pos = 0;
    r->have_chunk = true;
    r->stats.bytes += len;
    return CTS_OK;
}

int cts_csv_reader_finish(cts_csv_reader *r)
{
    if (!r || r->have_chunk)
        return CTS_EINVAL;
    r->finished = true;
    return CTS_OK;
}

int cts_csv_reader_reset(cts_csv_reader *r)
{
    if (!r)
        return CTS_EINVAL;
    header_free(r);
    r->failed = 0;
    r->errmsg[0] = '\0';
    r->chunk = NULL;
    r->chunk_len = r->pos = 0;
    r->have_chunk = r->finished = r->final_done = false;
    r->line = 1;
    rec_reset(r, ST_BOM);
    memset(&r->stats, 0, sizeof r->stats);
    batch_reset(r);
    r->batch_open = false;
    return CTS_OK;
}

int cts_csv_reader_create(const cts_csv_opts *o, cts_csv_reader **out)
{
    if (!out)
        return CTS_EINVAL;
    *out = NULL;
    if (!o)
        return CTS_EINVAL;
    cts_csv_opts check = *o; /* the check writes its message; o is const */
    if (cts_csv_opts_check(&check) != CTS_OK)
        return CTS_EINVAL;
    cts_csv_reader *r = cts_calloc(1, sizeof *r);
    if (!r)
        return CTS_ENOMEM;
    r->delim = o->delimiter;
    r->unmapped = o->unmapped;
    r->max_record = o->max_record_bytes;
    r->batch_points = o->batch_points;
    r->special[(uint8_t)o->delimiter] = r->special['"'] = 1;
    r->special['\r'] = r->special['\n'] = 1;
    if (csv_plan_build(o, &r->plan) != CTS_OK || cts_csv_reader_reset(r) != CTS_OK) {
        cts_csv_reader_destroy(r);
        return CTS_ENOMEM;
    }
    *out = r;
    return CTS_OK;
}

void cts_csv_reader_destroy(cts_csv_reader *r)
{
    if (!r)
        return;
    header_free(r);
    csv_plan_free(&r->plan);
    for (size_t i = 0; i < r->nblocks; i++)
        cts_free(r->blocks[i].mem);
    cts_free(r->blocks);
    cts_free(r->points);
    cts_free(r->point_row);
    cts_free(r->tags);
    cts_free(r->fields);
    cts_free(r->bad);
    cts_free(r->rec);
    cts_free(r->cells);
    cts_free(r);
}

void cts_csv_reader_stats(const cts_csv_reader *r, cts_csv_stats *st)
{
    if (r && st)
        *st = r->stats;
}

const char *cts_csv_reader_errmsg(const cts_csv_reader *r)
{
    return r ? r->errmsg : "";
}

const cts_str *cts_csv_reader_header(const cts_csv_reader *r, size_t *count)
{
    if (count)
        *count = r && r->have_header ? r->nhdr : 0;
    return r && r->have_header ? r->hdr : NULL;
}
