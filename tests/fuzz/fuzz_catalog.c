/*
 * fuzz_catalog.c: libFuzzer target for the two readers of a database's
 * metadata files: the series catalog (engine/catalog_file.c, catalog_read.c,
 * through cts_catalog_open) and a partition's index with its segment
 * (engine/partition.c, through part_open and part_load).
 *
 * The first input byte is the mode:
 *   bit 0  fix checksums (header CRC, every record's CRC walking the
 *          records by their lengths, and for a partition every block of
 *          the segment found back to back), so mutations reach the record
 *          decoders instead of stopping at a checksum;
 *   bit 1  partition mode: the rest is u16 n, n bytes of index, then the
 *          segment; with bit 0 the index header is also made to name
 *          partition 0 of the width the target opens with.
 * Otherwise the rest is the catalog file.
 *
 * Checked, besides the sanitizers: an open returns 0 or a documented
 * error, and CTS_ECORRUPT / CTS_ECHECKSUM / CTS_EVERSION come with a
 * message naming the file and the byte offset; a catalog that opens passes
 * cts_catalog_check and every series id prints; every block a partition
 * index lists loads or fails with CTS_ECHECKSUM / CTS_ECORRUPT naming the
 * segment and the offset; a load that succeeds has the index's count.
 */
#include "catalog.h"
#include "column.h"
#include "fuzz_fs.h"
#include "partition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WIDTH ((int64_t)1 << 40)
#define MAX_REFS 256
#define MAX_ARENA (64u << 20)

static bool is_corrupt(int rc)
{
    return rc == CTS_ECORRUPT || rc == CTS_ECHECKSUM || rc == CTS_EVERSION;
}

/* Records of u32 L, u32 CRC, L bytes from `off`: fix each whole one's CRC.
 * with_len: the CRC covers the length field too (the catalog's rule). */
static void fix_records(uint8_t *s, size_t len, size_t off, bool with_len)
{
    while (off + 8 <= len) {
        uint32_t n = fz_u32(s + off);
        if (n > len - off - 8)
            break;
        uint32_t crc = with_len ? cts_crc32c_extend(cts_crc32c(s + off, 4), s + off + 8, n)
                                : cts_crc32c(s + off + 8, n);
        fz_put_u32(s + off + 4, crc);
        off += 8 + (size_t)n;
    }
}

/* Blocks back to back: fix each one's trailing CRC. */
static void fix_blocks(uint8_t *s, size_t len)
{
    size_t off = 0;
    while (off + 100 <= len && memcmp(s + off, "CTSB", 4) == 0) {
        uint64_t end = 96 + (uint64_t)fz_u32(s + off + 12) + fz_u32(s + off + 16);
        if (end + 4 > len - off)
            break;
        fz_put_u32(s + off + end, cts_crc32c(s + off, (size_t)end));
        off += (size_t)end + 4;
    }
}

static void fuzz_catalog_file(const char *dir, uint8_t *s, size_t len, bool fix)
{
    if (fix && len >= 16) {
        fz_put_u32(s + 12, cts_crc32c(s, 12));
        fix_records(s, len, 16, true);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/catalog", dir);
    fz_write_file(path, s, len);

    cts_vfs vfs;
    fz_vfs_init(&vfs);
    cts_catalog_options co = {.hash_seed = 42};
    cts_catalog *cat = NULL;
    FZ_CHECK(cts_catalog_create(&co, &cat) == 0);
    cts_catalog_report rep;
    int rc = cts_catalog_open(cat, &vfs, dir, &rep);
    if (rc != 0) {
        const char *msg = cts_catalog_errmsg(cat);
        FZ_CHECK(is_corrupt(rc) || rc == CTS_ENOMEM);
        FZ_CHECK(rc == CTS_ENOMEM || (fz_names_file_and_offset(msg) && strstr(msg, "catalog")));
    } else {
        FZ_CHECK(cts_catalog_check(cat) == 0);
        static char text[CTS_SERIES_TEXT_MAX];
        uint32_t n = cts_catalog_series_count(cat);
        for (uint32_t id = 0; id < n; id++)
            FZ_CHECK(cts_catalog_series_text(cat, id, text, sizeof text) > 0);
    }
    cts_catalog_destroy(cat);
}

typedef struct refs {
    blockref r[MAX_REFS];
    size_t n;
} refs;

static int collect(void *ctx, part *p, const blockref *b)
{
    (void)p;
    refs *rs = ctx;
    if (rs->n < MAX_REFS)
        rs->r[rs->n++] = *b;
    return 0;
}

/* What loading a block would allocate is bounded by the segment's length,
 * or by a header whose CRC is good. Skipped: a record (checksummed, before
 * the last CKPT) naming bytes past the end of the segment, for which
 * part_load allocates the claimed length (up to 4 GiB) before its read
 * fails; and a block whose good header asks for more than MAX_ARENA of
 * strings. */
static bool load_is_bounded(const blockref *r, const uint8_t *seg, size_t seg_len)
{
    if (r->offset > seg_len || r->len > seg_len - r->offset)
        return false;
    cts_block_info info;
    return cts_block_info_peek(seg + r->offset, r->len, &info) < 0 || info.str_bytes <= MAX_ARENA;
}

static void load_blocks(part *p, const refs *rs, const uint8_t *seg, size_t seg_len)
{
    char msg[512];
    for (size_t i = 0; i < rs->n; i++) {
        if (!load_is_bounded(&rs->r[i], seg, seg_len))
            continue;
        cts_run run;
        cts_run_init(&run, (cts_type)rs->r[i].type);
        msg[0] = '\0';
        int rc = part_load(p, &rs->r[i], &run, msg, sizeof msg);
        if (rc == 0)
            FZ_CHECK(run.count == rs->r[i].stats.count);
        else
            FZ_CHECK(rc == CTS_ENOMEM || rc == CTS_EIO ||
                     (is_corrupt(rc) && fz_names_file_and_offset(msg) && strstr(msg, "segment")));
        cts_run_fini(&run);
    }
}

static void fuzz_partition(const char *dir, uint8_t *s, size_t len, bool fix)
{
    size_t n = len >= 2 ? (size_t)(s[0] | s[1] << 8) : 0;
    s += len >= 2 ? 2 : len;
    len -= len >= 2 ? 2 : len;
    n = n < len ? n : len;
    uint8_t *idx = s, *seg = s + n;
    if (fix && n >= 28) {
        fz_put_u64(idx + 8, 0);
        fz_put_u64(idx + 16, (uint64_t)WIDTH);
        fz_put_u32(idx + 24, cts_crc32c(idx, 24));
        fix_records(idx, n, 28, false);
        fix_blocks(seg, len - n);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/p", dir);
    FZ_CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/p/0", dir);
    FZ_CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/p/0/index", dir);
    fz_write_file(path, idx, n);
    snprintf(path, sizeof path, "%s/p/0/segment", dir);
    fz_write_file(path, seg, len - n);

    cts_vfs vfs;
    fz_vfs_init(&vfs);
    snprintf(path, sizeof path, "%s/p", dir);
    static refs rs;
    rs.n = 0;
    part *p = NULL;
    part_report rep;
    char msg[512] = "";
    int rc = part_open(&vfs, path, 0, WIDTH, false, collect, &rs, &p, &rep, msg, sizeof msg);
    if (rc != 0) {
        FZ_CHECK(p == NULL);
        FZ_CHECK(rc == CTS_ENOMEM || rc == CTS_EIO || rc == CTS_ENOTFOUND ||
                 (is_corrupt(rc) && fz_names_file_and_offset(msg)));
        return;
    }
    load_blocks(p, &rs, seg, len - n);
    part_unref(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char root[256]; /* set once per process: the scratch directory */
    if (!root[0])
        fz_scratch(root, sizeof root);
    if (size < 1)
        return 0;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/db", root);
    fz_rm_tree(dir);
    FZ_CHECK(mkdir(dir, 0755) == 0);
    uint8_t *s = malloc(size);
    FZ_CHECK(s);
    memcpy(s, data + 1, size - 1);
    if (data[0] & 2)
        fuzz_partition(dir, s, size - 1, data[0] & 1);
    else
        fuzz_catalog_file(dir, s, size - 1, data[0] & 1);
    free(s);
    return 0;
}
