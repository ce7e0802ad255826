/*
 * bench_fs.h: file-system helpers of `cityts bench`: the disk a directory
 * tree uses (as du counts it: allocated blocks) and removing a tree it
 * made. Both walk with openat/fstatat and never follow symbolic links.
 */
#ifndef CTS_BENCH_FS_H
#define CTS_BENCH_FS_H

#include <stdint.h>

/* Bytes allocated to the regular files under `path` (st_blocks * 512),
 * and their apparent size. Returns 0, or CTS_EIO / CTS_ENOTFOUND. */
int bench_du(const char *path, uint64_t *alloc_bytes, uint64_t *size_bytes);

/* Remove `path` and everything under it; absent is not an error. Returns
 * 0 or CTS_EIO. */
int bench_rmtree(const char *path);

/* Peak resident memory of this process so far (VmHWM), in bytes; 0 when
 * unknown. */
uint64_t bench_peak_rss(void);

#endif
