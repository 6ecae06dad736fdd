/* applications.h — what operators do to applications and issued cards (cancel, release, report lost) and the
 * application read models, one domain module for the CLI and the web */
#pragma once

#include "base/ctx.h"
#include "store/db.h"

#include <json-c/json.h>
#include <stdint.h>

/* Every change takes a struct producer_ctx (base/ctx.h): connection, actor (goes into the audit trail), and
 * the message of a refusal. `application` is the reference as operators type it: the application number (id)
 * or its upstream id. Each change runs its own transaction with its audit event and wakes the lines after
 * commit.
 *
 * Returns 0 (and *ret_id, may be NULL, the application number); PRODUCER_ERROR_NOT_FOUND when no application
 * (or card) with that reference is in a state that allows the change, with ctx->message saying so;
 * PRODUCER_ERROR_INPUT for a missing or over-long reason; PRODUCER_ERROR_DB when the database failed
 * (ctx->message says so; nothing changed). */

/* Stop production: a pending, held or in-production application becomes cancelled (a card already in a
 * machine is rejected and recorded spoiled by its line). reason: 1 to 500 characters, stored and audited. */
int producer_application_cancel(struct producer_ctx *ctx, const char *application, const char *reason,
                                int64_t *ret_id);

/* Return a held application to the queue once its problem is fixed; the working days it was held waiting for
 * the applicant extend its deadline. */
int producer_application_release(struct producer_ctx *ctx, const char *application, int64_t *ret_id);

/* The holder's formal loss report (in person) for an issued card: all functions stop and a replacement
 * application may be produced. reason (may be NULL: "formal loss report") goes into the audit trail; it must
 * not carry personal data. */
int producer_card_report_lost(struct producer_ctx *ctx, const char *card_number, const char *reason);

/* Read models; *ret is a new json object the caller puts. Holder names and document numbers are masked.
 *
 * producer_applications_json: an array, most urgent first (priority, latest completion, id), of
 *   {id (int), upstream_id, kind, status, outlet, deadline (YYYY-MM-DD or null), holder (masked name),
 *    note (held, cancel or deadline-problem reason, "" when none)}
 * status: NULL for all, else pending, in_production, produced, held or cancelled (PRODUCER_ERROR_INPUT
 * otherwise); limit 1..1000000.
 *
 * producer_application_json: one object
 *   {id (int), upstream_id, kind, status, doc_type, doc_number (masked), holder (masked name), outlet,
 *    accepted (YYYY-MM-DD), deadline (or null), latest_completion ("YYYY-MM-DD HH:MI" bureau time, or null),
 *    held_working_days (int), attempts (int), held_reason, cancel_reason, deadline_problem (each null when
 *    none), cards ("NUMBER status (reason); ..." or null)}
 * PRODUCER_ERROR_NOT_FOUND when no application has that id or upstream id. */
int producer_applications_json(PGconn *conn, const char *status, int limit, json_object **ret);
int producer_application_json(PGconn *conn, const char *application, json_object **ret);
