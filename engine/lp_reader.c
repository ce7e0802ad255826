/*
 * lp_reader.c: a stream of line protocol, fed in chunks of any size, into
 * batches of points for cts_db_write, and the splitter that decides where
 * lines end.
 *
 * Why it exists: an HTTP body, a file or stdin arrives in pieces; a line
 * may straddle any number of them, and a string value may hold newlines.
 * The reader parses straight from the caller's chunk (no copy) and keeps
 * only the unfinished line ("the carry"), so memory is bounded by the
 * batch, not the input.
 *
 * Where a line ends is the splitter's decision alone: the first '\n' that
 * is not inside a string field value. Two ways reach the same answer:
 *   - the fast path takes the bytes up to the next '\n' (memchr) and parses
 *     them; a line that yields a point or is blank is done (the splitter
 *     tokenises well-formed lines as the parser does, so it would end the
 *     line at that '\n' too). A line that fails, or ends inside a string,
 *     is handed to the splitter, which finds its real end, and is parsed
 *     again over that span if it is longer;
 *   - a line that reaches the chunk's end is copied to the carry and the
 *     splitter scans it; its state survives the chunk, each later chunk is
 *     scanned from where it stopped, and the line is parsed once complete.
 * So results do not depend on how the input is cut into chunks.
 *
 * States of the reader (cts_engine.h draws the caller's view):
 *
 *   chunk lines --(chunk ends mid-line)--> TAIL_PENDING: the batch, which
 *   may point into the chunk and the carry, is handed out first; the next
 *   call copies the tail into the carry --> CARRY: later chunks extend it
 *   --(line complete)--> parsed from the carry; a line found longer than
 *   max_line_bytes --> SKIPPING up to the next '\n' after the limit.
 *
 * Invariants:
 *   - the carry is written only while the batch is empty (yielded), since
 *     the batch may point into it;
 *   - everything a step allocates is reserved before anything moves, so
 *   CTS_ENOMEM leaves the reader as it was and the call can be retried;
 *   - tags, fields and scratch live in arrays reused across batches; a
 *     batch's points get their array pointers when it is handed out.
 */
#include "lp_int.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * The splitter: one state per byte, nginx style.
 * ------------------------------------------------------------------------ */
enum {
    SP_START,    /* leading blanks */
    SP_KEY,      /* measurement and tags */
    SP_KEY_ESC,  /* after a backslash in the key */
    SP_FWS,      /* blanks before the fields */
    SP_FKEY,     /* a field key */
    SP_FKEY_ESC, /* after a backslash in a field key */
    SP_FVAL0,    /* first byte of a field value */
    SP_FVAL,     /* an unquoted value, or what follows a closing quote */
    SP_STR,      /* inside a string value: '\n' does not end the line */
    SP_STR_ESC,  /* after a backslash in a string */
    SP_REST,     /* timestamp, comment or anything else: no more strings */
};

static bool sp_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\0';
}

/* The state after byte ch (never '\n' outside a string). An escape state
 * whose byte is not escapable hands the byte to its base state. */
static uint8_t sp_next(uint8_t st, char ch)
{
    switch (st) {
    case SP_START:
        if (sp_blank(ch))
            return SP_START;
        return ch == '#' ? SP_REST : sp_next(SP_KEY, ch);
    case SP_KEY:
        return ch == '\\' ? SP_KEY_ESC : ch == ' ' ? SP_FWS : SP_KEY;
    case SP_KEY_ESC:
        return ch == ' ' ? SP_KEY : sp_next(SP_KEY, ch);
    case SP_FWS:
        return sp_blank(ch) ? SP_FWS : sp_next(SP_FKEY, ch);
    case SP_FKEY:
        if (ch == '\\')
            return SP_FKEY_ESC;
        return ch == '=' ? SP_FVAL0 : ch == ' ' ? SP_REST : SP_FKEY;
    case SP_FKEY_ESC:
        return (ch == ',' || ch == '=' || ch == ' ') ? SP_FKEY : sp_next(SP_FKEY, ch);
    case SP_FVAL0:
        return ch == '"' ? SP_STR : sp_next(SP_FVAL, ch);
    case SP_FVAL:
        return ch == ',' ? SP_FKEY : ch == ' ' ? SP_REST : SP_FVAL;
    case SP_STR:
        return ch == '\\' ? SP_STR_ESC : ch == '"' ? SP_FVAL : SP_STR;
    case SP_STR_ESC:
        return SP_STR;
    default:
        return SP_REST;
    }
}

void lp_split_init(lp_split *sp)
{
    sp->state = SP_START;
}

size_t lp_split_scan(lp_split *sp, const char *p, size_t n)
{
    uint8_t st = sp->state;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' && st != SP_STR && st != SP_STR_ESC) {
            sp->state = SP_START;
            return i;
        }
        st = sp_next(st, p[i]);
    }
    sp->state = st;
    return n;
}

/* ------------------------------------------------------------------------
 * The reader.
 * ------------------------------------------------------------------------ */

/* Unescaped copies go to blocks of at least this size, reused per batch. */
#define SCRATCH_BLOCK (256u * 1024u)
/* Bytes readable past a parsed line: the sentinel and eight-byte loads. */
#define PAD 9u

typedef struct lp_block {
    char *mem;
    size_t cap;
} lp_block;

struct cts_lp_reader {
    cts_lp_opts opts;
    lp_cfg cfg;
    /* the chunk being read, borrowed */
    const char *chunk;
    size_t chunk_len, pos;
    bool have_chunk, tail_pending, finished, final_done, batch_open;
    /* the unfinished line */
    char *carry;
    size_t carry_len, carry_cap;
    lp_split split;    /* state after the carry's bytes */
    uint64_t carry_nl; /* '\n' bytes inside the current line so far */
    bool skipping;     /* discarding a too long line up to its next '\n' */
    uint64_t line_no;  /* line number of the current line's start */
    /* the batch */
    cts_point *points;
    uint64_t *point_line;
    size_t npoints, points_cap, point_line_cap;
    cts_tag *tags;
    size_t ntags, tags_cap;
    cts_field *fields;
    size_t nfields, fields_cap;
    uint32_t *work; /* the parser's, for one line at a time */
    size_t work_cap;
    cts_lp_error *bad;
    size_t nbad, bad_cap;
    lp_block *blocks;
    size_t nblocks, blocks_cap, cur_block, cur_used;
    uint64_t batch_values;
    cts_lp_stats stats;
};

/* A parse into the batch's spare room, not yet committed. */
typedef struct lp_try {
    lp_out out;
    lp_fail fail;
    lp_result res;
} lp_try;

enum { STEP_LINE = 1, STEP_TAIL = 2 };

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

/* The scratch block with len free bytes at cur_used, switching to (or
 * allocating) a later block when the current one is short. */
static char *scratch_reserve(cts_lp_reader *r, size_t len)
{
    while (r->cur_block < r->nblocks && r->blocks[r->cur_block].cap - r->cur_used < len) {
        r->cur_block++;
        r->cur_used = 0;
    }
    if (r->cur_block == r->nblocks) {
        lp_block *b = grow_array(r->blocks, &r->blocks_cap, r->nblocks + 1, sizeof *b);
        if (!b)
            return NULL;
        r->blocks = b;
        size_t cap = len > SCRATCH_BLOCK ? len : SCRATCH_BLOCK;
        char *mem = cts_malloc(cap);
        if (!mem)
            return NULL;
        r->blocks[r->nblocks++] = (lp_block){mem, cap};
    }
    return r->blocks[r->cur_block].mem + r->cur_used;
}

/* Room for one more line of len bytes in the batch: a point, its worst
 * case of tags and fields, its copies and a bad-line slot. */
static int batch_reserve(cts_lp_reader *r, size_t len)
{
    size_t items = lp_items_bound(len);
    cts_point *pt = grow_array(r->points, &r->points_cap, r->npoints + 1, sizeof *pt);
    if (!pt)
        return CTS_ENOMEM;
    r->points = pt;
    uint64_t *pl = grow_array(r->point_line, &r->point_line_cap, r->npoints + 1, sizeof *pl);
    if (!pl)
        return CTS_ENOMEM;
    r->point_line = pl;
    cts_tag *t = grow_array(r->tags, &r->tags_cap, r->ntags + items, sizeof *t);
    if (!t)
        return CTS_ENOMEM;
    r->tags = t;
    cts_field *f = grow_array(r->fields, &r->fields_cap, r->nfields + items, sizeof *f);
    if (!f)
        return CTS_ENOMEM;
    r->fields = f;
    uint32_t *w = grow_array(r->work, &r->work_cap, 2 * items, sizeof *w);
    if (!w)
        return CTS_ENOMEM;
    r->work = w;
    cts_lp_error *b = grow_array(r->bad, &r->bad_cap, r->nbad + 1, sizeof *b);
    if (!b)
        return CTS_ENOMEM;
    r->bad = b;
    return scratch_reserve(r, len + 1) ? CTS_OK : CTS_ENOMEM;
}

/* Parse the complete line [s, s + len) into the batch's spare room. */
static int try_parse(cts_lp_reader *r, const char *s, size_t len, size_t avail, lp_try *t)
{
    int rc = batch_reserve(r, len);
    if (rc != CTS_OK)
        return rc;
    t->out = (lp_out){.tags = r->tags + r->ntags,
                      .fields = r->fields + r->nfields,
                      .work = r->work,
                      .scratch = r->blocks[r->cur_block].mem + r->cur_used};
    t->res = lp_parse(s, len, avail, &r->cfg, &t->out, &t->fail);
    return CTS_OK;
}

/* Add what try_parse found (room was reserved) and end the line, which
 * held `nl` newlines inside. */
static void commit(cts_lp_reader *r, const char *s, size_t len, const lp_try *t, uint64_t nl)
{
    if (t->res == LP_POINT) {
        const lp_out *o = &t->out;
        r->points[r->npoints] = (cts_point){.measurement = o->measurement,
                                            .ntags = o->ntags,
                                            .nfields = o->nfields,
                                            .ts_ns = o->ts_ns};
        r->point_line[r->npoints++] = r->line_no;
        r->ntags += o->ntags;
        r->nfields += o->nfields;
        r->cur_used += o->scratch_used;
        r->batch_values += o->nfields;
        r->stats.points++;
        r->stats.values += o->nfields;
    } else if (t->res != LP_EMPTY) {
        lp_error_fill(&r->bad[r->nbad++], s, len, r->line_no, &t->fail);
        r->stats.bad_lines++;
    }
    r->line_no += 1 + nl;
    r->stats.lines++;
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

/* Length of the line [s, s + n) without a final '\r'. */
static size_t strip_cr(const char *s, size_t n)
{
    return n - (n > 0 && s[n - 1] == '\r');
}

/* The line starting at s (first `have` bytes readable from s, in the
 * chunk) is longer than max: report it and skip to the next '\n' at or
 * after offset max, or start skipping when the chunk ends first. */
static int too_long(cts_lp_reader *r, const char *s, size_t have)
{
    uint32_t max = r->opts.max_line_bytes;
    int rc = batch_reserve(r, 0);
    if (rc != CTS_OK)
        return rc;
    lp_error_too_long(&r->bad[r->nbad++], s, max, r->line_no, max);
    r->stats.bad_lines++;
    const char *k = memchr(s + max, '\n', have - max);
    size_t upto = k ? (size_t)(k - s) : have;
    r->carry_nl += count_nl(s, upto);
    r->pos = (size_t)(s - r->chunk) + upto + (k != NULL);
    if (!k) {
        r->skipping = true;
        return STEP_LINE;
    }
    r->line_no += 1 + r->carry_nl;
    r->carry_nl = 0;
    r->stats.lines++;
    return STEP_LINE;
}

/* The fast path failed or ended in a string: let the splitter find where
 * the line starting at s really ends (nl is the first '\n' after s). */
static int step_slow(cts_lp_reader *r, const char *s, const char *nl, lp_try *t)
{
    size_t rem = r->chunk_len - (size_t)(s - r->chunk);
    lp_split sp;
    lp_split_init(&sp);
    size_t n = lp_split_scan(&sp, s, rem);
    if (n == rem)
        return rem > r->opts.max_line_bytes ? too_long(r, s, rem) : STEP_TAIL;
    if (n > r->opts.max_line_bytes)
        return too_long(r, s, rem);
    size_t len = strip_cr(s, n);
    if (s + n != nl) {
        int rc = try_parse(r, s, len, rem, t);
        if (rc != CTS_OK)
            return rc;
    }
    commit(r, s, len, t, count_nl(s, n));
    r->pos = (size_t)(s - r->chunk) + n + 1;
    return STEP_LINE;
}

/* One line from the chunk, no carry. */
static int step_chunk(cts_lp_reader *r)
{
    const char *s = r->chunk + r->pos;
    size_t rem = r->chunk_len - r->pos;
    const char *nl = memchr(s, '\n', rem);
    if (!nl)
        return rem > r->opts.max_line_bytes ? too_long(r, s, rem) : STEP_TAIL;
    size_t n = (size_t)(nl - s);
    if (n > r->opts.max_line_bytes)
        return too_long(r, s, rem);
    size_t len = strip_cr(s, n);
    lp_try t;
    int rc = try_parse(r, s, len, rem, &t);
    if (rc != CTS_OK)
        return rc;
    if (t.res != LP_POINT && t.res != LP_EMPTY)
        return step_slow(r, s, nl, &t);
    commit(r, s, len, &t, 0);
    r->pos += n + 1;
    return STEP_LINE;
}

/* Discarding a too long line: up to the next '\n'. */
static int step_skip(cts_lp_reader *r)
{
    const char *s = r->chunk + r->pos;
    size_t rem = r->chunk_len - r->pos;
    const char *k = memchr(s, '\n', rem);
    if (!k) {
        r->carry_nl += count_nl(s, rem);
        r->pos = r->chunk_len;
        return STEP_LINE;
    }
    r->pos += (size_t)(k - s) + 1;
    r->line_no += 1 + r->carry_nl;
    r->carry_nl = 0;
    r->skipping = false;
    r->stats.lines++;
    return STEP_LINE;
}

/* The carry can take n more bytes plus the padding. */
static int carry_reserve(cts_lp_reader *r, size_t n)
{
    size_t need = r->carry_len + n + PAD, max = (size_t)r->opts.max_line_bytes + PAD;
    if (need <= r->carry_cap)
        return CTS_OK;
    size_t cap = r->carry_cap ? r->carry_cap : 4096;
    while (cap < need)
        cap *= 2;
    cap = cap > max ? max : cap;
    char *p = cts_realloc(r->carry, cap);
    if (!p)
        return CTS_ENOMEM;
    r->carry = p;
    r->carry_cap = cap;
    return CTS_OK;
}

static void carry_append(cts_lp_reader *r, const char *p, size_t n)
{
    memcpy(r->carry + r->carry_len, p, n);
    r->carry_len += n;
    r->carry_nl += count_nl(p, n);
}

/* The carry holds a complete line (or the input ended): parse and commit it. */
static int carry_finish(cts_lp_reader *r)
{
    size_t len = strip_cr(r->carry, r->carry_len);
    lp_try t;
    /* carry[len] is the '\r' or this '\n': the sentinel; then padding. */
    memset(r->carry + r->carry_len, '\n', PAD - 1);
    int rc = try_parse(r, r->carry, len, r->carry_len + PAD - 1, &t);
    if (rc != CTS_OK)
        return rc;
    commit(r, r->carry, len, &t, r->carry_nl);
    r->carry_len = 0;
    r->carry_nl = 0;
    lp_split_init(&r->split);
    return CTS_OK;
}

/* The carried line grows past max_line_bytes with the chunk's bytes at s:
 * fill the carry to the limit, report, and skip from there. */
static int carry_too_long(cts_lp_reader *r, const char *s)
{
    uint32_t max = r->opts.max_line_bytes;
    size_t fill = max - r->carry_len;
    int rc = batch_reserve(r, 0);
    if (rc == CTS_OK)
        rc = carry_reserve(r, fill);
    if (rc != CTS_OK)
        return rc;
    carry_append(r, s, fill);
    lp_error_too_long(&r->bad[r->nbad++], r->carry, max, r->line_no, max);
    r->stats.bad_lines++;
    r->carry_len = 0;
    lp_split_init(&r->split);
    r->pos += fill;
    r->skipping = true;
    return step_skip(r);
}

/* One line continued from the carry with the chunk's bytes. */
static int step_carry(cts_lp_reader *r)
{
    const char *s = r->chunk + r->pos;
    size_t rem = r->chunk_len - r->pos;
    lp_split sp = r->split;
    size_t n = lp_split_scan(&sp, s, rem);
    if (r->carry_len + n > r->opts.max_line_bytes)
        return carry_too_long(r, s);
    int rc = carry_reserve(r, n);
    if (rc == CTS_OK && n < rem)
        rc = batch_reserve(r, r->carry_len + n);
    if (rc != CTS_OK)
        return rc;
    carry_append(r, s, n);
    r->split = sp;
    r->pos += n;
    if (n == rem)
        return STEP_LINE;
    r->pos++;
    return carry_finish(r) == CTS_OK ? STEP_LINE : CTS_ENOMEM;
}

/* The chunk's last line is unfinished: copy it to the (empty) carry. */
static int save_tail(cts_lp_reader *r)
{
    size_t rem = r->chunk_len - r->pos;
    int rc = carry_reserve(r, rem);
    if (rc != CTS_OK)
        return rc;
    lp_split_init(&r->split);
    lp_split_scan(&r->split, r->chunk + r->pos, rem);
    carry_append(r, r->chunk + r->pos, rem);
    r->pos = r->chunk_len;
    return CTS_OK;
}

static int step(cts_lp_reader *r)
{
    if (r->skipping)
        return step_skip(r);
    if (r->carry_len)
        return step_carry(r);
    return step_chunk(r);
}

static void batch_reset(cts_lp_reader *r)
{
    r->npoints = r->ntags = r->nfields = r->nbad = 0;
    r->cur_block = r->cur_used = 0;
    r->batch_values = 0;
    r->batch_open = true;
}

static bool batch_full(const cts_lp_reader *r)
{
    return r->npoints >= r->opts.batch_points || r->nbad >= r->opts.batch_points;
}

/* Hand the batch out, giving each point its slice of the arrays. */
static int yield(cts_lp_reader *r, cts_lp_batch *b)
{
    size_t nt = 0, nf = 0;
    for (size_t i = 0; i < r->npoints; i++) {
        r->points[i].tags = r->tags + nt;
        r->points[i].fields = r->fields + nf;
        nt += r->points[i].ntags;
        nf += r->points[i].nfields;
    }
    *b = (cts_lp_batch){.points = r->points,
                        .point_line = r->point_line,
                        .npoints = r->npoints,
                        .bad = r->bad,
                        .nbad = r->nbad,
                        .values = r->batch_values};
    r->batch_open = false;
    r->stats.batches++;
    return 1;
}

/* After finish: the unfinished last line, if any. */
static int final_line(cts_lp_reader *r)
{
    if (r->skipping) {
        r->skipping = false;
        r->line_no += 1 + r->carry_nl;
        r->carry_nl = 0;
        r->stats.lines++;
        return CTS_OK;
    }
    if (!r->carry_len)
        return CTS_OK;
    int rc = carry_reserve(r, 0);
    return rc == CTS_OK ? carry_finish(r) : rc;
}

/* Read the chunk into the open batch until it is full or the chunk ends. */
static int read_chunk(cts_lp_reader *r, cts_lp_batch *b)
{
    while (r->have_chunk) {
        if (batch_full(r))
            return yield(r, b);
        if (r->pos == r->chunk_len) {
            r->have_chunk = false;
            break;
        }
        int rc = step(r);
        if (rc < 0)
            return rc;
        if (rc != STEP_TAIL)
            continue;
        if (r->npoints || r->nbad) {
            r->tail_pending = true; /* the batch may point into the carry */
            return yield(r, b);
        }
        rc = save_tail(r);
        if (rc != CTS_OK)
            return rc;
        r->have_chunk = false;
    }
    return 0;
}

int cts_lp_reader_next(cts_lp_reader *r, cts_lp_batch *b)
{
    if (!r || !b)
        return CTS_EINVAL;
    if (r->tail_pending) {
        int rc = save_tail(r);
        if (rc != CTS_OK)
            return rc;
        r->tail_pending = false;
        r->have_chunk = false;
        return 0;
    }
    if (!r->batch_open)
        batch_reset(r);
    int rc = read_chunk(r, b);
    if (rc != 0)
        return rc;
    if (r->finished && !r->final_done) {
        if (batch_full(r))
            return yield(r, b);
        rc = final_line(r);
        if (rc != CTS_OK)
            return rc;
        r->final_done = true;
    }
    return (r->npoints || r->nbad) ? yield(r, b) : 0;
}

int cts_lp_reader_feed(cts_lp_reader *r, const void *data, size_t len)
{
    if (!r || (!data && len) || r->have_chunk || r->tail_pending || r->finished)
        return CTS_EINVAL;
    r->chunk = data;
    r->chunk_len = len;
    r->pos = 0;
    r->have_chunk = true;
    r->stats.bytes += len;
    return CTS_OK;
}

int cts_lp_reader_finish(cts_lp_reader *r)
{
    if (!r || r->have_chunk || r->tail_pending)
        return CTS_EINVAL;
    r->finished = true;
    return CTS_OK;
}

int cts_lp_reader_reset(cts_lp_reader *r, cts_lp_precision precision, int64_t now_ns)
{
    cts_lp_opts o;
    lp_cfg cfg;
    if (!r)
        return CTS_EINVAL;
    o = r->opts;
    o.precision = precision;
    o.now_ns = now_ns;
    if (lp_cfg_init(&cfg, &o) != CTS_OK)
        return CTS_EINVAL;
    r->opts = o;
    r->cfg = cfg;
    r->chunk = NULL;
    r->chunk_len = r->pos = 0;
    r->have_chunk = r->tail_pending = r->finished = r->final_done = r->skipping = false;
    r->carry_len = 0;
    r->carry_nl = 0;
    lp_split_init(&r->split);
    r->line_no = 1;
    memset(&r->stats, 0, sizeof r->stats);
    batch_reset(r);
    r->batch_open = false;
    return CTS_OK;
}

int cts_lp_reader_create(const cts_lp_opts *o, cts_lp_reader **out)
{
    lp_cfg cfg;
    if (!out)
        return CTS_EINVAL;
    *out = NULL;
    if (!o || lp_cfg_init(&cfg, o) != CTS_OK)
        return CTS_EINVAL;
    cts_lp_reader *r = cts_calloc(1, sizeof *r);
    if (!r)
        return CTS_ENOMEM;
    r->opts = *o;
    if (cts_lp_reader_reset(r, o->precision, o->now_ns) != CTS_OK ||
        batch_reserve(r, 0) != CTS_OK) {
        cts_lp_reader_destroy(r);
        return CTS_ENOMEM;
    }
    *out = r;
    return CTS_OK;
}

void cts_lp_reader_destroy(cts_lp_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nblocks; i++)
        cts_free(r->blocks[i].mem);
    cts_free(r->blocks);
    cts_free(r->points);
    cts_free(r->point_line);
    cts_free(r->tags);
    cts_free(r->fields);
    cts_free(r->work);
    cts_free(r->bad);
    cts_free(r->carry);
    cts_free(r);
}

void cts_lp_reader_stats(const cts_lp_reader *r, cts_lp_stats *st)
{
    if (r && st)
        *st = r->stats;
}
