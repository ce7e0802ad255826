/*
 * lp_int.h: what the line-protocol files share (lineproto.c parses one
 * line, lp_reader.c cuts a stream into lines and batches, lp_format.c
 * writes points back). Private to engine/.
 *
 * The one-line parser's contract is narrow on purpose so that it can run
 * without bounds checks in its scanning loops:
 *   - the line is [line, line + len) and line[len] is readable and is '\n'
 *     or '\r' (a sentinel that stops every scanning loop);
 *   - `avail` >= len + 1 bytes are readable from line (eight-byte loads of
 *     digits stay inside them);
 *   - out->tags and out->fields have room for lp_items_bound(len) entries,
 *     out->work for 2 * lp_items_bound(len) (used during the parse only)
 *     and out->scratch for len + 1 bytes (unescaped copies never grow; a
 *     number handed to strtod is copied there with its NUL).
 * Line boundaries are decided by the splitter (lp_split_*), never by the
 * parser: the parser only says whether a string was still open at the end.
 */
#ifndef CTS_LP_INT_H
#define CTS_LP_INT_H

#include "cts_engine.h"

#include <locale.h>

/* What lp_parse found. */
typedef enum lp_result {
    LP_EMPTY = 0, /* blank or comment line */
    LP_POINT = 1, /* out holds a point */
    LP_FAIL = -1, /* fail holds the reason */
    LP_OPEN = -2, /* a string value was open at the end; fail says "unbalanced quotes" */
} lp_result;

/* cts_lp_opts, checked and turned into what the parser needs. */
typedef struct lp_cfg {
    int64_t mult_ns;  /* nanoseconds per unit of precision */
    int64_t now_ns;   /* default timestamp, truncated to the precision */
    uint32_t max_key; /* max_key_bytes */
} lp_cfg;

/* Where a parse writes. Strings point into the line or into scratch. */
typedef struct lp_out {
    cts_tag *tags;
    cts_field *fields;
    char *scratch;
    size_t scratch_used;
    uint32_t *work; /* duplicate checks of lines with many keys */
    cts_str measurement;
    uint32_t ntags, nfields;
    int64_t ts_ns;
} lp_out;

/* Why a parse failed: the column (1-based) and the reason. */
typedef struct lp_fail {
    uint32_t col;
    cts_lp_errkind kind;
    char reason[CTS_LP_REASON_MAX];
} lp_fail;

/* Every tag needs at least 4 bytes (",k=v") and so does every field, so a
 * line of len bytes has fewer than this many of either. */
static inline size_t lp_items_bound(size_t len)
{
    return len / 4 + 2;
}

/* Check o and derive the parser's configuration. Errors: CTS_EINVAL. */
CTS_MUST_USE int lp_cfg_init(lp_cfg *cfg, const cts_lp_opts *o);

/* Parse one line under the contract above. */
lp_result lp_parse(const char *line, size_t len, size_t avail, const lp_cfg *cfg, lp_out *out,
                   lp_fail *fail);

/* The "C" locale, for strtod_l and for printing floats with a '.'
 * whatever setlocale did; (locale_t)0 if it cannot be had. */
locale_t lp_c_locale(void);

/* Fill err from fail: the message quotes the line from its first non-blank
 * byte. */
void lp_error_fill(cts_lp_error *err, const char *line, size_t len, uint64_t line_no,
                   const lp_fail *fail);

/* Report a line longer than max bytes (column max + 1). */
void lp_error_too_long(cts_lp_error *err, const char *line, size_t len, uint64_t line_no,
                       uint32_t max);

/*
 * The splitter: a byte-at-a-time state machine that finds where a line
 * ends, i.e. the first '\n' outside a string field value. It tokenises
 * exactly as lp_parse does for every well-formed line, so a line that
 * parses into a point between two '\n' is never extended by it. Resumable:
 * the state carries across calls, so a line split over chunks is scanned
 * once.
 */
typedef struct lp_split {
    uint8_t state;
} lp_split;

void lp_split_init(lp_split *sp);
/* Scan p[0, n) from the state in sp: returns the offset of the '\n' that
 * ends the line (sp is then reset for the next line), or n when the line
 * goes on past p + n (sp keeps the state). */
size_t lp_split_scan(lp_split *sp, const char *p, size_t n);

#endif
