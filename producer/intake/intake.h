/* intake.h — writing applications and photos into the database, shared by the CSV importer and the generator
 */
#pragma once

#include "base/rules.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* Store photo bytes; *ret_id gets the new row's id. Within the caller's transaction. */
int producer_insert_photo(PGconn *conn, const uint8_t *bytes, size_t len, const char *studio,
                          int64_t *ret_id);

/* Insert one approved application (app->id is ignored). accepted_at is any timestamp PostgreSQL accepts;
 * priority 0..9. On failure err gets the database's message. */
int producer_insert_application(PGconn *conn, const struct producer_app *app, const char *accepted_at,
                                int priority, char *err, size_t err_size);

/* --- the pure part of a CSV import (no files, no database; fuzzed) --- */

#define PRODUCER_IMPORT_COLUMNS 23

struct csv_record;

/* One application row as parsed and validated. */
struct producer_import_row {
    struct producer_app app; /* photo_id 0 */
    char accepted_at[40];    /* as written; PostgreSQL reads it */
    int priority;            /* 0..9 */
    int line;
    const char *photo; /* the photo column, pointing into the record */
};

/* Maps the header record's column names to positions (-1 = absent) in ret_map. Returns 0, or
 * PRODUCER_ERROR_INPUT with one "name:line: problem" line per problem in err (unknown, repeated or missing
 * required columns). */
int producer_import_header(const struct csv_record *rec, const char *name,
                           int ret_map[PRODUCER_IMPORT_COLUMNS], char *err, size_t err_size);
/* Parses one data record and applies the same rules the line applies (producer_validate_app, as if a photo
 * were there) with today_yyyymmdd as today. Returns 0, or PRODUCER_ERROR_INPUT with a reason a person can act
 * on in err (personal data masked). */
int producer_import_row_parse(const struct csv_record *rec, const int map[PRODUCER_IMPORT_COLUMNS],
                              int today_yyyymmdd, struct producer_import_row *row, char *err,
                              size_t err_size);
