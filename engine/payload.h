/*
 * payload.h: the engine's WAL record payloads (private to engine/).
 *
 * storage/ frames WAL records and checksums them; what is inside is ours: a
 * stream of tagged entries, in the order they must be replayed. Definitions
 * come before the points that use them, so replay can restore the catalog
 * entries that the catalog file had not yet made durable.
 *
 *   'S' series def   varint id, str measurement, varint ntags, ntags x (str key, str value)
 *   'F' field def    varint id, str measurement, str name, u8 type
 *   'P' point        varint series_id, zigzag varint (ts - previous point's ts),
 *                    varint nvalues, nvalues x (varint field_id, value)
 *   'D' delete       str measurement, zigzag varint t0, zigzag varint t1,
 *                    varint n, n x varint series-id delta (ascending ids)
 *   str = varint length + bytes
 *
 * Values by field type: float: u8 e (0..9) + zigzag varint k when the value
 * is exactly k / 10^e (sensors send decimals: 21.4 costs 3 bytes), or u8
 * 0xFF + 8 raw bytes; int: zigzag varint; uint: varint; bool: u8 0/1;
 * string: str. The reader learns each field's type from the catalog.
 */
#ifndef CTS_PAYLOAD_H
#define CTS_PAYLOAD_H

#include "column.h"

/* A growable byte buffer. Zero-initialised is empty. */
typedef struct cts_buf {
    uint8_t *p;
    size_t len, cap;
} cts_buf;

CTS_MUST_USE int cts_buf_reserve(cts_buf *b, size_t more);
void cts_buf_fini(cts_buf *b);

enum { PL_SERIES = 'S', PL_FIELD = 'F', PL_POINT = 'P', PL_DELETE = 'D' };

/* Writers: each appends one entry; CTS_ENOMEM leaves b as it was. */
CTS_MUST_USE int pl_put_series(cts_buf *b, uint32_t id, cts_str m, const cts_tag *tags,
                               uint32_t ntags);
CTS_MUST_USE int pl_put_field(cts_buf *b, uint32_t id, cts_str m, cts_str name, cts_type type);
/* A point entry's head; its nvalues values follow through pl_put_value. */
CTS_MUST_USE int pl_put_point(cts_buf *b, uint32_t series_id, int64_t ts, int64_t *prev_ts,
                              uint32_t nvalues);
CTS_MUST_USE int pl_put_value(cts_buf *b, uint32_t field_id, cts_type type, const cts_value *v);
CTS_MUST_USE int pl_put_delete(cts_buf *b, cts_str m, const uint32_t *ids, size_t n, int64_t t0,
                               int64_t t1);

/* Reader over one payload. All strings point into the payload. */
typedef struct pl_reader {
    const uint8_t *p;
    size_t len, off;
    int64_t prev_ts;
} pl_reader;

#define PL_MAX_TAGS 256

typedef struct pl_entry {
    int kind;
    uint32_t id; /* series or field id */
    cts_str m, name;
    cts_type type;
    uint32_t ntags;
    cts_tag tags[PL_MAX_TAGS];
    int64_t ts;       /* point */
    uint32_t nvalues; /* point: values follow through pl_get_value */
    size_t n_ids;     /* delete: ids follow through pl_get_delete_id */
    int64_t t0, t1;   /* delete */
} pl_entry;

void pl_reader_init(pl_reader *r, const uint8_t *p, size_t len);
/* Next entry: 1 and *e filled, 0 at the end, CTS_ECORRUPT. */
CTS_MUST_USE int pl_next(pl_reader *r, pl_entry *e);
/* Inside a point entry: next value, given a function from field id to type. */
CTS_MUST_USE int pl_get_value(pl_reader *r, uint32_t *field_id,
                              cts_type (*type_of)(void *, uint32_t), void *ctx, cts_type *type,
                              cts_value *v);
/* Inside a delete entry: next series id (ascending). The caller reads all
 * n_ids of them before the next pl_next. */
CTS_MUST_USE int pl_get_delete_id(pl_reader *r, uint32_t *prev, uint32_t *id);

#endif
