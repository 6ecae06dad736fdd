/* applications.h — what operators do to applications and issued cards (cancel, release, report lost) and the
 * application read models, one domain module for the CLI and the web */
#pragma once

#include "base/ctx.h"
#include "store/db.h"

#include <json-c/json.h>
#include <stdbool.h>
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

/* --- the card's life after collection -------------------------------------------------------------------
 * The measures: after a loss report (temporary by phone, web or terminal; formal in person) all functions
 * stop, so the card is blacklisted at once; a replacement needs the formal report; a report may be withdrawn
 * only until a replacement is requested; cancellation (注销) on leaving the scheme, emigration, death or
 * disappearance. The measures name no period for a temporary report: it lapses after the setting
 * temporary_loss_days (15) unless made formal. Each change below first records the lapse of any temporary
 * report past its period (actor "cardline"), then writes its own audit event by ctx->actor. reason (may be
 * NULL) goes into the audit trail only and must not carry personal data; at most 500 characters.
 * Returns 0; PRODUCER_ERROR_NOT_FOUND with ctx->message naming the problem when the card does not exist or is
 * in a state that does not allow the change; PRODUCER_ERROR_INPUT for bad arguments; PRODUCER_ERROR_DB. */

/* The holder's formal loss report (书面挂失, in person) for a card in the holder's hands or under a temporary
 * report (which it makes formal): the card is blocked at once and a replacement application may be produced.
 * Event reported_lost (detail: reason or "formal loss report"). */
int producer_card_report_lost(struct producer_ctx *ctx, const char *card_number, const char *reason);

/* A temporary loss report (口头挂失, by phone, web or terminal) for a card in the holder's hands: blocked at
 * once, status lost_temporary; lapses unless made formal. Event reported_lost_temporary. */
int producer_card_report_lost_temporary(struct producer_ctx *ctx, const char *card_number,
                                        const char *reason);

/* 解除挂失: the holder withdraws a temporary or formal loss report; the card is back in the holder's hands
 * and unblocked. Refused once a replacement application (not cancelled) names the card, or when the person
 * has another card meanwhile. Event loss_withdrawn. */
int producer_card_withdraw_loss(struct producer_ctx *ctx, const char *card_number, const char *reason);

/* The reasons for a cancellation the measures name, as the CLI and the audit trail spell them. */
extern const char *const producer_card_cancel_reasons[]; /* NULL-terminated */

/* 注销: a card in its holder's hands or reported lost (not a temporary card) is cancelled for `reason` (one
 * of producer_card_cancel_reasons) and blocked for good; the holder's open applications are cancelled
 * ("holder's card N cancelled: reason"), each with its event; the person may apply again later (a cancelled
 * card no longer counts as their one card). Refused while the person has another card in hand or on its way
 * (settle it first). Event card_cancelled (detail: the reason); *ret_applications (may be NULL) how many were
 * cancelled.
 */
int producer_card_cancel(struct producer_ctx *ctx, const char *card_number, const char *reason,
                         int *ret_applications);

/* --- temporary cards (临时卡) ----------------------------------------------------------------------------
 * Issued at a counter line to the insured who wait for a card or replace a lost one (the schema refuses the
 * application otherwise), valid setting temporary_validity_days (90) on face and chip. Once past its
 * validity, or when the real card is collected without it, it is due back (return_due, blocked) and no longer
 * stands in the way of a new one. */

/* The window's list (see store_applications_temporary_json()), after flagging the expired ones (actor
 * "cardline"); due_only: only the cards due back. */
int producer_card_temporary_json(PGconn *conn, bool due_only, json_object **ret);

/* The holder hands a temporary card back at the window: returned and cancelled (blocked). Refused for a card
 * that is not a temporary card out (issued or due back). Event temporary_returned (detail: reason or "handed
 * in at the window"). */
int producer_card_return_temporary(struct producer_ctx *ctx, const char *card_number, const char *reason);

/* The chips' blacklist as it stands now: see store_applications_blacklist_json() (store/applications.h). */
int producer_card_blacklist_json(PGconn *conn, json_object **ret);

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
 *    none), cards ("NUMBER status (reason); ..." or null), nationality, bank (or null), representative (null,
 *    or the guardian or agent who applied: {role, name (masked), doc_type, doc_number (masked),
 *    relationship})}
 * PRODUCER_ERROR_NOT_FOUND when no application has that id or upstream id. */
int producer_applications_json(PGconn *conn, const char *status, int limit, json_object **ret);
int producer_application_json(PGconn *conn, const char *application, json_object **ret);
