/* intake.h — writing applications and photos into the database, shared by the CSV importer and the generator */
#pragma once

#include "rules.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* Store photo bytes; *ret_id gets the new row's id. Within the caller's transaction. */
int producer_insert_photo(PGconn *conn, const uint8_t *bytes, size_t len, const char *studio, int64_t *ret_id);

/* Insert one approved application (app->id is ignored). accepted_at is any timestamp PostgreSQL accepts;
 * priority 0..9. On failure err gets the database's message. */
int producer_insert_application(PGconn *conn, const struct producer_app *app, const char *accepted_at, int priority,
                                char *err, size_t err_size);

/* Wake idle lines (a hint only; they poll anyway). */
void producer_notify_work(PGconn *conn);
