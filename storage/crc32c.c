/*
 * crc32c.c: CRC32C (Castagnoli polynomial 0x82F63B78, reflected), the one
 * checksum of every byte cityts puts on disk.
 *
 * Two implementations behind one function: the SSE4.2 crc32 instruction
 * (8 bytes per step) where the CPU has it, chosen once at first use, and a
 * portable slicing-by-8 table otherwise. Both give identical results; the
 * unit test checks them against each other and against known vectors.
 */
#include "cts_storage.h"

#include <stdatomic.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static atomic_int table_ready;

static void table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    atomic_store(&table_ready, 1);
}

uint32_t cts_crc32c_sw(uint32_t crc, const void *data, size_t len);
uint32_t cts_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    if (!atomic_load(&table_ready))
        table_init(); /* idempotent: racing threads compute the same table */
    const uint8_t *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data,
                                                            size_t len)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}

static int have_hw(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}
#else
static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    return cts_crc32c_sw(crc, data, len);
}
static int have_hw(void)
{
    return 0;
}
#endif

uint32_t cts_crc32c_extend(uint32_t crc, const void *data, size_t len)
{
    static atomic_int mode; /* 0 unknown, 1 software, 2 hardware */
    int m = atomic_load(&mode);
    if (m == 0) {
        m = have_hw() ? 2 : 1;
        atomic_store(&mode, m);
    }
    return m == 2 ? crc32c_hw(crc, data, len) : cts_crc32c_sw(crc, data, len);
}
