/* applications.h (store) — the SQL behind operators' changes to applications and issued cards, and the
 * application read models */
#pragma once

#include "store/db.h"
#include "base/rules.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Insert one approved application (app->id is ignored) within the caller's transaction. accepted_at is any
 * timestamp PostgreSQL accepts; priority 0..9. On failure PRODUCER_ERROR_DB and err gets the database's
 * message (or "an application with this upstream_id already exists"). */
int store_applications_insert(PGconn *conn, const struct producer_app *app, const char *accepted_at,
                              int priority, char *err, size_t err_size);

/* The bureau's day (YYYYMMDD) of a time as PostgreSQL reads it (accepted_at of an import row). Returns 0,
 * PRODUCER_ERROR_INPUT when it is no time, or PRODUCER_ERROR_DB. */
int store_applications_accept_day(PGconn *conn, const char *accepted_at, int *ret_yyyymmdd);

/* Each change runs inside the CALLER's transaction and returns 1 with *ret_id (the application number) when
 * one row changed, 0 when no application with that id or upstream id is in a state that allows it, or
 * PRODUCER_ERROR_DB (logged at debug level only). */
int store_applications_cancel(PGconn *conn, const char *application, const char *reason, int64_t *ret_id);
int store_applications_release(PGconn *conn, const char *application, int64_t *ret_id);

/* --- a card's life after collection (loss reports, their withdrawal and lapse, cancellation) --------------
 */

/* What a change to a card needs to know, read with the card's row locked (FOR UPDATE) in the caller's
 * transaction. */
struct store_card_life {
    char status[16];
    bool temporary;        /* a temporary card (临时卡) */
    char lapses_at[24];    /* a temporary loss report's lapse, "YYYY-MM-DD HH:MI" bureau time; "" otherwise */
    int64_t replacement;   /* the (not cancelled) replacement application naming this card; 0 when none */
    char other_card[16];   /* the same person's other real card in hands or on its way; "" when none */
    char other_status[16]; /* its status */
};
/* 1 and *ret filled, 0 when no card has that number, or PRODUCER_ERROR_DB. */
int store_applications_card_lock(PGconn *conn, const char *card_number, struct store_card_life *ret);

/* The card moves from status `from` to `to` (issued, lost_temporary, lost or cancelled; the schema's
 * card_life trigger blocks or unblocks it). cancel_reason: the reason code when `to` is cancelled, else NULL.
 * 1 when it moved, 0 when the card was not in `from`, or PRODUCER_ERROR_DB (also when a rule of the schema
 * refused). */
int store_applications_card_move(PGconn *conn, const char *card_number, const char *from, const char *to,
                                 const char *cancel_reason);

/* Temporary loss reports past their period (setting temporary_loss_days) lapse: the card is back in its
 * holder's hands and unblocked, with a loss_lapsed event by actor. A card whose replacement was requested, or
 * whose person has another card meanwhile, stays blocked. Returns how many lapsed or PRODUCER_ERROR_DB. */
int store_applications_lapse_losses(PGconn *conn, const char *actor);

/* Cancels every open (pending, held, in-production) application of the card's holder with `reason`, each with
 * a cancelled event by actor. Returns how many or PRODUCER_ERROR_DB. */
int store_applications_cancel_holder(PGconn *conn, const char *card_number, const char *reason,
                                     const char *actor);

/* Temporary cards (临时卡) past their validity are flagged for return (return_due, 'expired'), each with a
 * temporary_return_due event by actor. Returns how many or PRODUCER_ERROR_DB. */
int store_applications_temporary_expire(PGconn *conn, const char *actor);

/* The window's list of temporary cards: an array, due back first then by expiry, of {card, status (issued or
 * return_due), holder (masked name), doc (masked document number), outlet, issued, valid_until (YYYY-MM-DD),
 * due (bool), due_reason (expired, card collected or null)}; due_only: the ones due back only. */
int store_applications_temporary_json(PGconn *conn, bool due_only, json_object **ret);

/* Inside the caller's transaction: a temporary card handed back at the window (issued or return_due ->
 * returned; the schema blocks it and writes temporary_returned by actor with detail). 1 when it moved, 0 when
 * it was not in from, or PRODUCER_ERROR_DB. */
int store_applications_temporary_return(PGconn *conn, const char *card_number, const char *from,
                                        const char *actor, const char *detail);

/* The blacklist as it stands now (view card_blacklist): an array of {card, status, since, until (a temporary
 * report's lapse, or null), reason, chip (the chip's serial, null when unknown)}, times "YYYY-MM-DD HH:MI"
 * bureau time, oldest first. No personal data. */
int store_applications_blacklist_json(PGconn *conn, json_object **ret);

/* Read models (shapes documented in intake/applications.h); names and document numbers masked. */
int store_applications_list_json(PGconn *conn, const char *status, int limit, json_object **ret);
/* PRODUCER_ERROR_NOT_FOUND when no application has that id or upstream id. */
int store_applications_show_json(PGconn *conn, const char *application, json_object **ret);

/* A person's earlier card, as issued years ago (the demo generator's replacement and exchange applications):
 * 1 when inserted, 0 when that card number exists already, PRODUCER_ERROR_DB. */
int store_applications_prior_card(PGconn *conn, const char *card_number, const char *person_key,
                                  const char *status, const char *issue_date);
