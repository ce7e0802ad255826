/*
 * err.c: messages and names of cts_err codes, generated from the one table
 * in cts_storage.h so that codes and texts never drift apart.
 */
#include "cts_storage.h"

const char *cts_strerror(int code)
{
    switch (code) {
#define CTS_ERR_MSG(name, value, msg)                                                              \
    case value:                                                                                    \
        return msg;
        CTS_ERR_TABLE(CTS_ERR_MSG)
#undef CTS_ERR_MSG
    }
    return "unknown error";
}

const char *cts_errname(int code)
{
    switch (code) {
#define CTS_ERR_NAME(name, value, msg)                                                             \
    case value:                                                                                    \
        return #name;
        CTS_ERR_TABLE(CTS_ERR_NAME)
#undef CTS_ERR_NAME
    }
    return "CTS_EUNKNOWN";
}

const char *cts_type_name(cts_type type)
{
    switch (type) {
    case CTS_TYPE_FLOAT:
        return "float";
    case CTS_TYPE_INT:
        return "integer";
    case CTS_TYPE_UINT:
        return "unsigned";
    case CTS_TYPE_BOOL:
        return "boolean";
    case CTS_TYPE_STRING:
        return "string";
    }
    return "unknown";
}
