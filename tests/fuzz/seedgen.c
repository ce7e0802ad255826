/*
 * seedgen.c: writes the seed corpora of fuzz_block, fuzz_wal and
 * fuzz_catalog from real files the code itself produces. Run once by hand
 * when the formats change (built with the fuzz targets):
 *
 *   build/fuzz/tests/fuzz/fuzz_seedgen tests/fuzz/corpus
 *
 * block/    cts_block_encode of varied columns: every type, constant and
 *           irregular timestamps, decimal and noisy floats, repeating and
 *           unique strings, one point, many points (mode byte 0x01 or 0x03)
 * wal/      the WAL segments of a small database left with unsealed data
 *           (mode 0x01), and each record's payload alone (mode 0x02)
 * catalog/  that database's catalog (mode 0x01) and each partition's index
 *           and segment (mode 0x03, u16 index length first)
 *
 * The database: two measurements, four series, five field types, blocks of
 * 16 points over three partitions, a delete (DEL records, rewritten
 * blocks), checkpoints, then more writes that stay in the WAL.
 */
#include "cts_engine.h"
#include "payload.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define WIDTH ((int64_t)1 << 40)

static void write_seed(const char *dir, const char *name, uint8_t mode, const void *a, size_t alen,
                       const void *b, size_t blen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(&mode, 1, 1, f) == 1);
    CHECK(alen == 0 || fwrite(a, 1, alen, f) == alen);
    CHECK(blen == 0 || fwrite(b, 1, blen, f) == blen);
    CHECK(fclose(f) == 0);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CHECK(f);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n >= 0);
    rewind(f);
    uint8_t *p = malloc((size_t)n + 1);
    CHECK(p);
    CHECK(fread(p, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* ---- blocks ---- */

static void block_seed(const char *dir, const char *name, const cts_block_input *in)
{
    size_t cap = cts_block_bound(in);
    uint8_t *b = malloc(cap);
    CHECK(cap && b);
    int len = cts_block_encode(in, b, cap, NULL);
    CHECK(len > 0);
    write_seed(dir, name, 0x01, b, (size_t)len, NULL, 0);
    free(b);
}

static void block_seeds(const char *dir)
{
    enum { N = 300 };
    static int64_t ts[N], tsr[N], iv[N];
    static double fd[N], fx[N];
    static uint64_t uv[N];
    static uint8_t bv[N];
    static cts_str sv[N], su[N];
    static char names[N][16];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ts[i] = 1700000000000000000 + (int64_t)i * 10000000000;
        tsr[i] = 1700000000000000000 + (int64_t)i * 1000000 + (int64_t)(x % 997);
        iv[i] = (int64_t)(x % 2001) - 1000;
        fd[i] = (double)(2000 + (int64_t)(x % 300)) / 100.0;
        fx[i] = sin((double)i) * 1e6 + (double)(x % 7);
        uv[i] = x;
        bv[i] = (uint8_t)(x & 1);
        sv[i] = (cts_str){.ptr = i % 3 == 0 ? "lisbon" : "porto", .len = i % 3 == 0 ? 6 : 5};
        snprintf(names[i], sizeof names[i], "s-%llu", (unsigned long long)(x % 100000));
        su[i] = (cts_str){.ptr = names[i], .len = strlen(names[i])};
    }
    struct {
        const char *name;
        cts_type type;
        uint32_t n;
        const int64_t *t;
        const void *v;
    } c[] = {
        {"float_decimal_const_ts", CTS_TYPE_FLOAT, N, ts, fd},
        {"float_noisy_irregular_ts", CTS_TYPE_FLOAT, N, tsr, fx},
        {"float_one_point", CTS_TYPE_FLOAT, 1, ts, fd},
        {"int_small_range", CTS_TYPE_INT, N, ts, iv},
        {"int_irregular_ts", CTS_TYPE_INT, 40, tsr, iv},
        {"uint_random", CTS_TYPE_UINT, 64, tsr, uv},
        {"bool_bits", CTS_TYPE_BOOL, N, ts, bv},
        {"bool_one_point", CTS_TYPE_BOOL, 1, tsr, bv},
        {"string_dict", CTS_TYPE_STRING, N, ts, sv},
        {"string_unique", CTS_TYPE_STRING, 50, tsr, su},
        {"ts_raw_two_points", CTS_TYPE_INT, 2, tsr, iv},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        cts_block_input in = {.type = c[i].type, .count = c[i].n, .ts = c[i].t};
        in.v.f = c[i].v;
        block_seed(dir, c[i].name, &in);
    }
}

/* ---- database ---- */

static void write_lp(cts_db *db, const char *text)
{
    cts_lp_opts o;
    cts_lp_opts_init(&o);
    cts_lp_point p;
    cts_lp_point_init(&p);
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        int rc = cts_lp_parse_line(line, len, &o, &p, NULL);
        CHECK(rc >= 0);
        if (rc == 1) {
            cts_write_result res;
            rc = cts_db_write(db, &p.point, 1, &res);
            CHECK(rc == 0 || rc == CTS_ETYPE);
        }
        line += len + (end ? 1 : 0);
    }
    cts_lp_point_fini(&p);
}

/* `n` points per series from ts0, every field type. */
static void write_range(cts_db *db, int64_t ts0, int n, int salt)
{
    char line[512];
    for (int i = 0; i < n; i++) {
        int64_t t = ts0 + (int64_t)i * 1000000000;
        snprintf(line, sizeof line,
                 "air,city=lisbon f=%d.%d,i=%di,u=%du,b=%s,s=\"v%d\" %" PRId64 "\n"
                 "air,city=porto f=%d.25,i=-%di %" PRId64 "\n"
                 "cpu,host=h1,region=eu usage=%d.5 %" PRId64 "\n"
                 "cpu,host=h2,region=us usage=%di %" PRId64,
                 i + salt, i % 10, i * 3, i, i % 3 ? "true" : "false", i % 4, t, i, i + salt, t, i,
                 t, i, t + 7);
        /* cpu,host=h2 writes usage as an int: a conflict, rejected. */
        write_lp(db, line);
    }
}

static void copy_wal(const char *db_dir, const char *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/wal", db_dir);
    DIR *d = opendir(path);
    CHECK(d);
    struct dirent *e;
    int k = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "wal-", 4) != 0)
            continue;
        size_t len;
        snprintf(path, sizeof path, "%s/wal/%s", db_dir, e->d_name);
        uint8_t *s = read_all(path, &len);
        char name[64];
        snprintf(name, sizeof name, "segment_%d", k++);
        write_seed(out, name, 0x01, s, len, NULL, 0);
        /* Each record's payload alone. */
        size_t off = 32;
        int r = 0;
        while (off + 16 <= len) {
            uint32_t n = (uint32_t)s[off] | (uint32_t)s[off + 1] << 8 | (uint32_t)s[off + 2] << 16 |
                         (uint32_t)s[off + 3] << 24;
            CHECK(off + 16 + n <= len);
            snprintf(name, sizeof name, "payload_%d_%d", k - 1, r);
            if (r++ < 6) /* the first ones: every kind of definition and value */
                write_seed(out, name, 0x02, s + off + 16, n, NULL, 0);
            off += 16 + n;
        }
        free(s);
    }
    closedir(d);
}

static void copy_db_files(const char *db_dir, const char *out)
{
    char path[1024], name[64];
    size_t len, ilen, slen;
    snprintf(path, sizeof path, "%s/catalog", db_dir);
    uint8_t *c = read_all(path, &len);
    write_seed(out, "catalog", 0x01, c, len, NULL, 0);
    free(c);
    for (int p = 0; p < 3; p++) {
        snprintf(path, sizeof path, "%s/p/%d/index", db_dir, p);
        uint8_t *idx = read_all(path, &ilen);
        snprintf(path, sizeof path, "%s/p/%d/segment", db_dir, p);
        uint8_t *seg = read_all(path, &slen);
        CHECK(ilen < 65536);
        uint8_t *both = malloc(2 + ilen);
        CHECK(both);
        both[0] = (uint8_t)ilen;
        both[1] = (uint8_t)(ilen >> 8);
        memcpy(both + 2, idx, ilen);
        snprintf(name, sizeof name, "partition_%d", p);
        write_seed(out, name, 0x03, both, 2 + ilen, seg, slen);
        free(both);
        free(idx);
        free(seg);
    }
}

static void db_seeds(const char *corpus)
{
    char dir[256], out[1024];
    snprintf(dir, sizeof dir, "/tmp/cts-seedgen-%ld", (long)getpid());
    mkdir(dir, 0755);
    cts_db_opts o;
    cts_db_opts_init(&o);
    o.fsync = CTS_DB_FSYNC_ALWAYS;
    o.partition_ns = WIDTH;
    o.block_points = 16;
    cts_db *db;
    CHECK(cts_db_open(dir, &o, &db) == 0);
    for (int p = 0; p < 3; p++)
        write_range(db, p * WIDTH + 1000, 40, p);
    CHECK(cts_db_flush(db) == 0);
    CHECK(cts_db_delete(db, "air", NULL, 0, 5000000000, 9000000000) >= 0);
    write_range(db, WIDTH + 500, 5, 9);
    CHECK(cts_db_flush(db) == 0);
    CHECK(cts_db_delete(db, "cpu", NULL, 0, 0, 2000000000) >= 0);
    write_lp(db, "air,city=braga f=1.5,s=\"new\" 2000\nair,city=lisbon f=99.5 3000\n");
    write_range(db, 2 * WIDTH + 77, 30, 5);
    snprintf(out, sizeof out, "%s/wal", corpus);
    copy_wal(dir, out);
    CHECK(cts_db_close(db) == 0);
    snprintf(out, sizeof out, "%s/catalog", corpus);
    copy_db_files(dir, out);
    printf("database left in %s\n", dir);
}

/* Payloads the API cannot leave in the WAL (a delete is checkpointed at
 * once), written with the engine's own encoder. */
static void payload_seeds(const char *dir)
{
    cts_buf e = {0}, rec = {0};
    cts_tag tags[2] = {{.key = {"city", 4}, .value = {"lisbon", 6}},
                       {.key = {"zone", 4}, .value = {"n", 1}}};
    cts_str m = {"air", 3};
    cts_value v;
    int64_t prev = 0;
    uint32_t ids[3] = {0, 1, 5};
    CHECK(pl_put_series(&e, 0, m, tags, 2) == 0);
    CHECK(pl_put_series(&e, 1, m, tags, 1) == 0);
    CHECK(pl_put_field(&e, 0, m, (cts_str){"f", 1}, CTS_TYPE_FLOAT) == 0);
    CHECK(pl_put_field(&e, 1, m, (cts_str){"s", 1}, CTS_TYPE_STRING) == 0);
    CHECK(pl_put_field(&e, 2, m, (cts_str){"b", 1}, CTS_TYPE_BOOL) == 0);
    for (int i = 0; i < 20; i++) {
        CHECK(pl_put_point(&e, (uint32_t)(i & 1), 1000 + i * 10, &prev, 3) == 0);
        v.f = i % 2 ? 21.5 : 0.1 * i;
        CHECK(pl_put_value(&e, 0, CTS_TYPE_FLOAT, &v) == 0);
        v.s = (cts_str){"hello", 5};
        CHECK(pl_put_value(&e, 1, CTS_TYPE_STRING, &v) == 0);
        v.b = (uint8_t)(i & 1);
        CHECK(pl_put_value(&e, 2, CTS_TYPE_BOOL, &v) == 0);
    }
    CHECK(pl_put_delete(&e, m, ids, 2, 1000, 1050) == 0);
    CHECK(pl_frame(&e, &rec) == 0);
    write_seed(dir, "payload_defs_points_delete", 0x02, rec.p, rec.len, NULL, 0);
    e.len = 0;
    CHECK(pl_put_delete(&e, m, ids, 3, INT64_MIN, INT64_MAX) == 0);
    CHECK(pl_frame(&e, &rec) == 0);
    write_seed(dir, "payload_delete_unknown_series", 0x02, rec.p, rec.len, NULL, 0);
    cts_buf_fini(&e);
    cts_buf_fini(&rec);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    char out[1024];
    snprintf(out, sizeof out, "%s/block", argv[1]);
    mkdir(out, 0755);
    block_seeds(out);
    snprintf(out, sizeof out, "%s/wal", argv[1]);
    mkdir(out, 0755);
    payload_seeds(out);
    snprintf(out, sizeof out, "%s/catalog", argv[1]);
    mkdir(out, 0755);
    db_seeds(argv[1]);
    return 0;
}
