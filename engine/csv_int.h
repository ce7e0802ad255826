/*
 * csv_int.h: what the CSV files share. Private to engine/.
 *
 *   csv_map.c   the mapping: spec lexer, setters, consistency check, and
 *               the reader's frozen copy of it (the plan);
 *   csv_value.c one cell to one value: numbers, booleans, RFC 3339 and
 *               epoch times, strictly and without allocating;
 *   csv.c       the RFC 4180 tokenizer and the streaming reader.
 *
 * The value parsers read a cell of n bytes at s where s[n] is readable and
 * is '\0' (the reader stores every cell NUL-terminated): the NUL is the
 * sentinel that stops their scanning loops, and strtod reads the cell in
 * place. They return NULL on success, or a static string that starts the
 * reason ("invalid float"), which the reader completes with the quoted
 * cell and, for times, a detail.
 */
#ifndef CTS_CSV_INT_H
#define CTS_CSV_INT_H

#include "cts_engine.h"

/* What a mapped column is. */
typedef enum csv_role {
    CSV_IGNORE = 0, /* a header column the mapping does not name */
    CSV_TIME = 1,
    CSV_MEASUREMENT = 2,
    CSV_TAG = 3,
    CSV_FIELD = 4,
} csv_role;

/* "time column", "measurement column", "tag", "field". */
const char *csv_role_name(csv_role role);

/* One column the mapping names. kind is the cts_type of a field and the
 * cts_csv_time_format of the time column; 0 otherwise. */
typedef struct csv_want {
    cts_str name;
    uint8_t role;
    uint8_t kind;
} csv_want;

/* The mapping frozen for a reader: one allocation holding the wants (time
 * column, measurement column if any, tags, fields, in mapping order) and
 * every name, plus the fixed measurement (len 0 when a column gives it). */
typedef struct csv_plan {
    csv_want *want;
    size_t nwant;
    cts_str measurement;
    void *mem;
} csv_plan;

/* Build the plan of o, which passed cts_csv_opts_check. Errors: CTS_ENOMEM. */
CTS_MUST_USE int csv_plan_build(const cts_csv_opts *o, csv_plan *plan);
/* Free it; a zeroed plan is a no-op. Leaves it zeroed. */
void csv_plan_free(csv_plan *plan);

/* The values. s[n] == '\0' (see above). */
const char *csv_parse_float(const char *s, size_t n, double *out);
const char *csv_parse_int(const char *s, size_t n, int64_t *out);
const char *csv_parse_uint(const char *s, size_t n, uint64_t *out);
const char *csv_parse_bool(const char *s, size_t n, uint8_t *out);
/* A time in nanoseconds within [CTS_LP_MIN_NS, CTS_LP_MAX_NS]; on failure
 * *detail is set (a static string) or NULL. */
const char *csv_parse_time(const char *s, size_t n, cts_csv_time_format fmt, int64_t *ns,
                           const char **detail);

#endif
