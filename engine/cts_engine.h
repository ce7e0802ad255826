/*
 * cts_engine.h: the public contract of the cityts engine (the database).
 *
 * engine/ owns the database: names, series catalog, write path, partitions,
 * recovery and ingest. It reaches the disk only through cts_storage.h and
 * knows nothing of query syntax or HTTP.
 */
#ifndef CTS_ENGINE_H
#define CTS_ENGINE_H

#include "cts_storage.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest database name, in bytes. */
#define CTS_DB_NAME_MAX 64

/* True when `name` (NUL-terminated) is a valid database name:
 * 1..CTS_DB_NAME_MAX bytes of [A-Za-z0-9_-]. Everything that turns a name
 * into a path checks this first, so no name can escape the data root. */
bool cts_db_name_valid(const char *name);

#ifdef __cplusplus
}
#endif
#endif
