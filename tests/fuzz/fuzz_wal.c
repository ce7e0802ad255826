/*
 * fuzz_wal.c: libFuzzer target for the WAL reader (storage/wal_replay.c,
 * wal_segment.c) and the engine's payload decoder and replay
 * (engine/payload.c, db_open.c): what a database open does with the files
 * it finds in wal/.
 *
 * The first input byte is the mode:
 *   bit 0  fix checksums: the segment header's CRC and every record's CRC
 *          (walking the records by their lengths) are recomputed, so
 *          mutations reach the record framing and the payloads;
 *   bit 1  payload mode: the rest is one record's payload; it is decoded
 *          directly (pl_unframe, pl_next, pl_get_value, pl_get_delete_id)
 *          and then wrapped as record 1 of a valid segment;
 *   bit 2  open with quarantine_wal.
 * Otherwise the rest is a whole segment file, named after the first seq its
 * header claims. The database directory holds nothing else, so the open
 * replays it into a fresh catalog.
 *
 * Checked, besides the sanitizers: cts_db_open returns 0 or a documented
 * error; a CTS_ECORRUPT/CTS_ECHECKSUM/CTS_EVERSION from the WAL framing
 * names the segment file and the offset (payload errors, which a valid
 * CRC makes impossible in practice, name the record); after a successful
 * open cts_db_verify passes and the database closes cleanly.
 */
#include "cts_engine.h"
#include "fuzz_fs.h"
#include "payload.h"

#include <inttypes.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 32u
#define REC 16u

static void wal_header(uint8_t *h, uint64_t first_seq)
{
    memcpy(h, "CTSWAL\r\n", 8);
    fz_put_u32(h + 8, 1);
    fz_put_u32(h + 12, HDR);
    fz_put_u64(h + 16, first_seq);
    fz_put_u32(h + 24, 0);
    fz_put_u32(h + 28, cts_crc32c(h, 28));
}

static uint32_t record_crc(const uint8_t *rec, uint32_t len)
{
    uint8_t head[12];
    memcpy(head, rec + 8, 8);
    memcpy(head + 8, rec, 4);
    return cts_crc32c_extend(cts_crc32c(head, 12), rec + REC, len);
}

/* Recompute the header CRC and each whole record's CRC. */
static void fix_segment(uint8_t *s, size_t len)
{
    if (len < HDR)
        return;
    fz_put_u32(s + 28, cts_crc32c(s, 28));
    size_t off = HDR;
    while (off + REC <= len) {
        uint32_t n = fz_u32(s + off);
        if (n > len - off - REC)
            break;
        fz_put_u32(s + off + 4, record_crc(s + off, n));
        off += REC + n;
    }
}

/* Field types learned from the 'F' entries of the payload itself. */
typedef struct types {
    cts_type t[64];
} types;

static cts_type type_of(void *ctx, uint32_t id)
{
    types *ty = ctx;
    return id < 64 ? ty->t[id] : (cts_type)(id % 5 + 1);
}

static int decode_entry(pl_reader *r, const pl_entry *e, types *ty)
{
    int rc = 0;
    if (e->kind == PL_FIELD && e->id < 64)
        ty->t[e->id] = e->type;
    for (uint32_t k = 0; e->kind == PL_POINT && k < e->nvalues && rc == 0; k++) {
        uint32_t fid;
        cts_type t;
        cts_value v;
        rc = pl_get_value(r, &fid, type_of, ty, &t, &v);
    }
    uint32_t prev = 0, id, last = 0;
    for (size_t k = 0; e->kind == PL_DELETE && k < e->n_ids && rc == 0; k++) {
        rc = pl_get_delete_id(r, &prev, &id);
        FZ_CHECK(rc != 0 || id >= last); /* ascending (a repeated id is harmless) */
        last = rc == 0 ? id : last;
    }
    return rc;
}

/* Decode a payload as replay does, without a database. */
static void decode_payload(const uint8_t *p, size_t len)
{
    cts_buf scratch = {0};
    const uint8_t *entries;
    size_t n;
    types ty;
    memset(&ty, 0, sizeof ty);
    int rc = pl_unframe(p, len, &scratch, &entries, &n);
    FZ_CHECK(rc == 0 || rc == CTS_ECORRUPT || rc == CTS_ENOMEM);
    pl_entry *e = malloc(sizeof *e);
    FZ_CHECK(e);
    pl_reader r;
    if (rc == 0) {
        pl_reader_init(&r, entries, n);
        while ((rc = pl_next(&r, e)) == 1 && (rc = decode_entry(&r, e, &ty)) == 0) {
            FZ_CHECK(e->kind == PL_SERIES || e->kind == PL_FIELD || e->kind == PL_POINT ||
                     e->kind == PL_DELETE);
            FZ_CHECK(e->kind != PL_SERIES || e->ntags <= PL_MAX_TAGS);
        }
        FZ_CHECK(rc == 0 || rc == CTS_ECORRUPT || rc == CTS_ENOMEM);
    }
    free(e);
    cts_buf_fini(&scratch);
}

static bool open_error_ok(int rc)
{
    return rc == CTS_ECORRUPT || rc == CTS_ECHECKSUM || rc == CTS_EVERSION || rc == CTS_ENOMEM ||
           rc == CTS_ELIMIT || rc == CTS_ETYPE || rc == CTS_EINVAL;
}

static void open_db(const char *dir, bool quarantine)
{
    cts_vfs vfs;
    fz_vfs_init(&vfs);
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.vfs = &vfs;
    o.fsync = CTS_DB_FSYNC_NEVER;
    o.partition_ns = (int64_t)1 << 60; /* at most 16 partitions */
    o.block_points = 64;
    o.quarantine_wal = quarantine;
    cts_db *db = NULL;
    int rc = cts_db_open(dir, &o, &db);
    if (rc != 0) {
        const char *msg = cts_db_open_error();
        FZ_CHECK(open_error_ok(rc) && msg[0] != '\0');
        /* Framing damage names the segment and the offset. */
        if (strstr(msg, "wal-") && rc != CTS_ENOMEM)
            FZ_CHECK(fz_names_file_and_offset(msg) || strstr(msg, "gap") || strstr(msg, "seq"));
        return;
    }
    cts_verify_report rep;
    memset(&rep, 0, sizeof rep);
    FZ_CHECK(cts_db_verify(db, &rep) == 0);
    FZ_CHECK(cts_db_close(db) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char root[256]; /* set once per process: the scratch directory */
    if (!root[0])
        fz_scratch(root, sizeof root);
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;

    char dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s/db", root);
    fz_rm_tree(dir);
    FZ_CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/wal", dir);
    FZ_CHECK(mkdir(path, 0755) == 0);

    size_t len = (mode & 2) ? HDR + REC + size : size;
    uint8_t *seg = malloc(len ? len : 1);
    FZ_CHECK(seg);
    uint64_t first = 1;
    if (mode & 2) {
        decode_payload(data, size);
        wal_header(seg, 1);
        fz_put_u32(seg + HDR, (uint32_t)size);
        fz_put_u64(seg + HDR + 8, 1);
        memcpy(seg + HDR + REC, data, size);
        fz_put_u32(seg + HDR + 4, record_crc(seg + HDR, (uint32_t)size));
    } else {
        memcpy(seg, data, size);
        if (mode & 1)
            fix_segment(seg, len);
        if (len >= 24)
            first = fz_u64(seg + 16);
    }
    snprintf(path, sizeof path, "%s/wal/wal-%016" PRIx64 ".log", dir, first);
    fz_write_file(path, seg, len);
    free(seg);
    open_db(dir, (mode & 4) != 0);
    return 0;
}
