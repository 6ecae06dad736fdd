/* applications.h (store) — the SQL behind operators' changes to applications and issued cards, and the
 * application read models */
#pragma once

#include "store/db.h"
#include "base/rules.h"

#include <json-c/json.h>
#include <stdint.h>

/* Insert one approved application (app->id is ignored) within the caller's transaction. accepted_at is any
 * timestamp PostgreSQL accepts; priority 0..9. On failure PRODUCER_ERROR_DB and err gets the database's
 * message (or "an application with this upstream_id already exists"). */
int store_applications_insert(PGconn *conn, const struct producer_app *app, const char *accepted_at,
                              int priority, char *err, size_t err_size);

/* Each change runs inside the CALLER's transaction and returns 1 with *ret_id (the application number) when
 * one row changed, 0 when no application with that id or upstream id is in a state that allows it, or
 * PRODUCER_ERROR_DB (logged at debug level only). */
int store_applications_cancel(PGconn *conn, const char *application, const char *reason, int64_t *ret_id);
int store_applications_release(PGconn *conn, const char *application, int64_t *ret_id);
/* An issued card becomes lost: 1 when it was in a holder's hands, 0 when not. */
int store_applications_card_lost(PGconn *conn, const char *card_number);

/* Read models (shapes documented in intake/applications.h); names and document numbers masked. */
int store_applications_list_json(PGconn *conn, const char *status, int limit, json_object **ret);
/* PRODUCER_ERROR_NOT_FOUND when no application has that id or upstream id. */
int store_applications_show_json(PGconn *conn, const char *application, json_object **ret);

/* A person's earlier card, as issued years ago (the demo generator's replacement and exchange applications):
 * 1 when inserted, 0 when that card number exists already, PRODUCER_ERROR_DB. */
int store_applications_prior_card(PGconn *conn, const char *card_number, const char *person_key,
                                  const char *status, const char *issue_date);
