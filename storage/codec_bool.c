/*
 * codec_bool.c: boolean columns as a bitmap, one bit per value, least
 * significant bit first. Runs of equal values (a lamp that stays on all
 * night) are left to the block's LZ4 stage, which turns them into a few
 * bytes. Padding bits of the last byte must be zero: a decoder that let
 * them vary would accept two encodings of one block.
 */
#include "storage_int.h"

size_t cts_bool_bound(uint32_t n)
{
    return ((size_t)n + 7) / 8;
}

int cts_bool_encode(const uint8_t *v, uint32_t n, uint8_t *dst, size_t cap, uint8_t *codec)
{
    size_t len = cts_bool_bound(n);
    if (cap < len)
        return CTS_ENOSPACE;
    memset(dst, 0, len);
    for (uint32_t i = 0; i < n; i++)
        dst[i >> 3] |= (uint8_t)((v[i] & 1) << (i & 7));
    *codec = CTS_CODEC_BOOL_BITMAP;
    return (int)len;
}

int cts_bool_decode(uint8_t codec, const uint8_t *src, size_t len, uint8_t *out, uint32_t n)
{
    if (codec != CTS_CODEC_BOOL_BITMAP || len != cts_bool_bound(n))
        return CTS_ECORRUPT;
    if ((n & 7) && (src[len - 1] >> (n & 7)))
        return CTS_ECORRUPT;
    for (uint32_t i = 0; i < n; i++)
        out[i] = (src[i >> 3] >> (i & 7)) & 1;
    return 0;
}
