/*
 * db_name.c: the one validator of database names. A name becomes a
 * directory under the data root, so it must never contain '/', "..", NUL or
 * anything a shell or URL would reinterpret; the rule is InfluxDB-client
 * friendly: [A-Za-z0-9_-]{1,64}.
 */
#include "cts_engine.h"

bool cts_db_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || n >= CTS_DB_NAME_MAX)
            return false;
    }
    return n > 0;
}
