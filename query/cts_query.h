/*
 * cts_query.h: the public contract of the cityts query layer (an InfluxQL
 * subset): lexer, parser, planner, executor and result encoders. It reads
 * data only through cts_engine.h and knows nothing of on-disk layout.
 */
#ifndef CTS_QUERY_H
#define CTS_QUERY_H

#include "cts_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parse an InfluxQL duration literal from text[0..len): one or more
 * <integer><unit> segments ("15m", "1h30m"), units ns, u, µ, ms, s, m, h, d,
 * w. On success stores the total in *out_ns and returns 0. Returns
 * CTS_EPARSE for anything else (empty, missing unit, unknown unit) and
 * CTS_ERANGE when the total overflows int64 nanoseconds. `*err_off`, if not
 * NULL, receives the byte offset of the first offending character.
 */
CTS_MUST_USE int cts_duration_parse(const char *text, size_t len, int64_t *out_ns, size_t *err_off);

#ifdef __cplusplus
}
#endif
#endif
