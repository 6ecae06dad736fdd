/* reads.h — the read models operators, auditors and studios look at, one object for the CLI and the web */
#pragma once

#include "store/db.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* Each *_json function fills *ret with a new json object the caller puts, and returns 0 or PRODUCER_ERROR_DB
 * (logged at debug level only: the caller says what failed). *ret is untouched on failure. Holder names and
 * document numbers leave masked.
 *
 * Card counts come from the card's status alone, never from the line's own counters: a card is "good" for
 * its line once it left the machine well (whatever happened to it afterwards: shipped, issued, lost,
 * returned), "spoiled" when the line rejected it, "in_machine" while allocated, printing, encoding or
 * ejecting. store/stock.c's report counts by the same rule. */

/* Lines: [{line, state, reason ("" when none), controller, printer, encoder, heartbeat ("YYYY-MM-DD HH:MI"
 * bureau time or ""), good, spoiled, in_machine, last_hour (good cards finished in the last hour)}] by line.
 */
int store_reads_lines(PGconn *conn, json_object **ret);

/* What `cardline status --json` prints and GET /api/v1/status answers:
 * {applications: {by_status: {STATUS: n}}, cards: {by_status: {STATUS: n}} (cards of applications),
 *  shipments: [{outlet, name, kind, open_shipment (id or null), cards}] by outlet,
 *  shipments_by_status: {STATUS: n}, nearest_deadlines: [{application, upstream_id, status, deadline (or
 * null), working_days_left (or null), deadline_problem (when known)}] (10 most urgent open applications),
 *  lines: as store_reads_lines, held: as store_reads_held} (the web leaves lines and held out for dispatch,
 *  whose role may read neither). */
int store_reads_status(PGconn *conn, json_object **ret);

/* Held applications, longest held first (200 at most): [{application (upstream id), holder, outlet, reason,
 * since ("YYYY-MM-DD HH:MI" bureau time)}]. */
int store_reads_held(PGconn *conn, json_object **ret);

/* The queue, next to produce first (100): [{application, kind, holder, outlet, priority, status, deadline,
 * deadline_problem}]. */
int store_reads_queue(PGconn *conn, json_object **ret);

/* Open applications whose deadline is within setting at_risk_working_days working days or unknown (200):
 * [{application, status, holder, outlet, deadline, working_days_left (text, "" unknown), reason}]. */
int store_reads_at_risk(PGconn *conn, json_object **ret);

/* Spoiled cards, newest first (100): [{card_number, line, reason, at}]. */
int store_reads_spoiled(PGconn *conn, json_object **ret);

/* Photo receipts, newest first (200), of one studio (studio NULL: all): [{receipt_no, studio, verdict,
 * warnings, profile, at, valid_until, revoked, sha256}]. */
int store_reads_receipts(PGconn *conn, const char *studio, json_object **ret);

/* The stored photo a receipt was issued for (the dashboard keeps receipted uploads): 1 and *ret_bytes
 * (free() it), *ret_len; 0 when none is stored; PRODUCER_ERROR_DB. */
int store_reads_receipt_photo(PGconn *conn, const char *sha256, const char *studio, uint8_t **ret_bytes,
                              size_t *ret_len);

/* The audit trail, newest first (200), events before id `before` (NULL: the newest) of one kind (NULL: all):
 * [{id, at, actor, kind, application, card_number, shipment, detail}]. */
int store_reads_events(PGconn *conn, const char *before, const char *kind, json_object **ret);

/* What /metrics exports: {pending, in_production, held, at_risk, spoiled_24h, finished_24h, shipments_open,
 * shipments_sealed, shipments_dispatched, at_outlet, lines (as store_reads_lines)}. */
int store_reads_metrics(PGconn *conn, json_object **ret);

/* What `cardline summary` prints: {applications, produced, held, queued, spoiled, blanks_used,
 * spoiled_by_reason: [{reason, n}], held_by_reason: [{reason, n}], outlets: [{outlet, name, cards}],
 * smallest_margin (working days, or null), deadline_unknown}. */
int store_reads_summary(PGconn *conn, json_object **ret);

/* Outlets as `cardline outlet list` shows them: [{code, kind, county, weekdays ("1,3,5"), transit_days,
 * name}] by code. */
int store_reads_outlets(PGconn *conn, json_object **ret);
