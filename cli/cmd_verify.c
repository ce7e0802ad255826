/*
 * cmd_verify.c: `cityts verify`: open a database (which recovers it and
 * checks the WAL, the catalog file and every partition index), then read
 * and check every sealed block. Exit 0 when everything is intact, 1 when
 * anything is not (the first problem named with file and offset).
 */
#include "cli.h"

#include <stdio.h>

int cmd_verify(int argc, char **argv)
{
    cts_db *db;
    int rc = cli_open_existing(argc, argv, "verify", &db);
    if (rc)
        return rc;
    cts_verify_report rep;
    int vrc = cts_db_verify(db, &rep);
    printf("checked %llu blocks in %llu files: %llu errors\n",
           (unsigned long long)rep.blocks_checked, (unsigned long long)rep.files_checked,
           (unsigned long long)rep.errors);
    if (vrc)
        printf("first error: %s\n", rep.first_error);
    cts_db_close(db);
    return vrc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
