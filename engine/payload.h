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
 * Values by field type: float: varint (zigzag(k) << 4 | e) when the value
 * is exactly k / 10^e, e in 0..9 (sensors send decimals: 21.4 costs 2
 * bytes), or varint 15 + 8 raw bytes; int: zigzag varint; uint: varint; bool: u8 0/1;
 * string: str. The reader learns each field's type from the catalog.
 */
#ifndef CTS_PAYLOAD_H
#define CTS_PAYLOAD_H

#include "column.h"

/*
 * The WAL record is the entry stream framed by one byte: 0 = the entries as
 * they are; 1 = u32 length of the entry stream, then one LZ4 block of it
 * (used when it saves at least an eighth: batches repeat tags and field
 * ids, so they usually compress).
 */

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

/* Frame the entry stream `entries` as a WAL record into `out` (replacing
 * its contents). CTS_ENOMEM. */
CTS_MUST_USE int pl_frame(const cts_buf *entries, cts_buf *out);
/* Open a framed record: *p and *len receive the entry stream, which is the
 * record itself or its decompression into `scratch`. CTS_ECORRUPT,
 * CTS_ENOMEM. */
CTS_MUST_USE int pl_unframe(const uint8_t *rec, size_t rec_len, cts_buf *scratch, const uint8_t **p,
                            size_t *len);

/* Reader over one entry stream. All strings point into it. */
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
