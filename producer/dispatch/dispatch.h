/* dispatch.h — finished cards on their way to the holder: shipments (pack, seal, label, manifest, dispatch,
 * receive), collection by the holder or an agent, activation, return of uncollected cards, loss in transit */
#pragma once

#include "base/ctx.h"
#include "store/db.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors beyond producer_error; each call that refuses fills a message a person can act on. */
enum dispatch_error {
    DISPATCH_ERROR_STATE = -1420, /* the shipment or card is not in a state that allows this */
    DISPATCH_ERROR_IDENTITY =
        -1421, /* the person at the counter is not the holder (or the agent data is missing) */
    DISPATCH_ERROR_OUTLET = -1422, /* the shipment or card belongs to another outlet */
    DISPATCH_ERROR_RENDER = -1423, /* a barcode or document could not be drawn */
};

const char *dispatch_strerror(int err);

/* Every call takes a struct producer_ctx (base/ctx.h): connection, actor, and the message of a refusal. */

/* Put a good card into its outlet's open shipment (opening one when there is none) inside the CALLER's
 * transaction; seals the shipment when it reaches setting shipment_max_cards (the next card opens a new one).
 * The database records the 'packed' event. Returns 0 and the shipment id, or a negative error. */
int producer_dispatch_pack(PGconn *conn, const char *card_number, const char *outlet_code,
                           char ret_shipment[19]);

/* Turn what a scanner typed (the label's GS1-128 "00" + SSCC, with or without "(00)", "]C1" or the QR text)
 * into the 18-digit shipment id. Returns 0 or PRODUCER_ERROR_INPUT (wrong length, letters, bad check digit).
 */
int producer_dispatch_parse_label(const char *scanned, char ret_id[19]);

/* Each of these runs its own transaction. */
int producer_dispatch_seal(struct producer_ctx *ctx, const char *shipment_id);
/* Seal every non-empty open shipment whose outlet's delivery run leaves on the bureau date of `at` and whose
 * cut-off has passed; at = NULL means now. *ret_sealed counts them. */
int producer_dispatch_seal_due(struct producer_ctx *ctx, const char *at, int *ret_sealed);
int producer_dispatch_send(struct producer_ctx *ctx, const char *shipment_id);
/* Record receipt at the outlet; expected_outlet (may be NULL) refuses a shipment meant for another outlet. */
int producer_dispatch_receive(struct producer_ctx *ctx, const char *scanned, const char *expected_outlet,
                              char ret_id[19]);

struct dispatch_collect {
    const char *card_number;
    const char *holder_doc;     /* the holder's document number as presented; must match the application */
    const char *agent_name;     /* NULL: the holder collects in person */
    const char *agent_doc_type; /* resident_id, passport, ... */
    const char *agent_doc;      /* stored masked only; checked by its type's rules
                                 * (base/rules producer_doc_valid: a resident ID's check character) */
    /* the power of attorney an agent brings (one of them is required for an agent): its reference number (1
     * to 64 printable characters), or its scan (at most DISPATCH_POA_SCAN_MAX bytes, kept with its SHA-256)
     */
    const char *poa_reference;
    const uint8_t *poa_scan;
    size_t poa_scan_len;
    /* The measures: the social security function is activated at collection. Not activating is an exception:
     * activate false needs skip_activation_reason (1 to 500 characters), recorded with the collection and as
     * an activation_skipped event. */
    bool activate;
    const char *skip_activation_reason;
    /* The holder's temporary card (临时卡), if one is out: handed in now (returned and cancelled), else
     * flagged for return (return_due); either way it stops working. */
    bool temporary_returned;
    /* out: the holder's temporary card that was settled ("" when none) and whether it is still due back */
    char ret_temporary[16];
    bool ret_temporary_due;
    /* out: the bank application on the card (issue 16): its account masked (first 6 / last 4) and the bank,
     * "" when the card carries none; the bank activates that function itself */
    char ret_bank_account[24];
    char ret_bank[101];
};
#define DISPATCH_POA_SCAN_MAX (5u * 1024 * 1024)
int producer_dispatch_collect(struct producer_ctx *ctx, struct dispatch_collect *c);
int producer_dispatch_activate(struct producer_ctx *ctx, const char *card_number);
/* A card not collected within setting uncollected_return_months of outlet receipt goes back to the bureau. */
int producer_dispatch_return(struct producer_ctx *ctx, const char *card_number);
/* A dispatched shipment (18 digits) or one card in transit never arrived: the cards are blacklisted and their
 * applications go back to the front of the queue for new cards. *ret_requeued counts the applications. */
int producer_dispatch_lost(struct producer_ctx *ctx, const char *shipment_or_card, const char *reason,
                           int *ret_requeued);

/* Documents. format "png" or "pdf" for the label; "pdf" or "csv" for the manifest. Holder data is masked. */
int producer_dispatch_label(PGconn *conn, const char *shipment_id, const char *format, const char *path);
int producer_dispatch_manifest(PGconn *conn, const char *shipment_id, const char *format, const char *path);
/* Every shipment's cards, one CSV per outlet (DIR/<outlet>.csv, created with DIR when missing), holder data
 * masked: shipment,status,card_number,application,holder,ssn,packed_at. *ret_files counts the files. */
int producer_dispatch_export(PGconn *conn, const char *dir, int *ret_files);

/* Read models shared by the CLI and the HTTP API; *ret is a new json object the caller puts. */
/* status/outlet may be NULL; limit bounds the rows */
int producer_dispatch_shipments_json(PGconn *conn, const char *status, const char *outlet, int limit,
                                     json_object **ret);
int producer_dispatch_shipment_json(PGconn *conn, const char *shipment_id, json_object **ret);
/* dispatched shipments past their expected arrival, and cards not at the outlet by their deadline */
int producer_dispatch_overdue_json(PGconn *conn, json_object **ret);
/* cards waiting at outlets, oldest first, with whether they are due to go back */
int producer_dispatch_uncollected_json(PGconn *conn, bool due_only, json_object **ret);
/* an application's way from acceptance to collection, masked; doc_check (may be NULL) must match the holder's
 * document number when given: all of it when whole_doc (the public), else its last 4 characters (studios) */
int producer_dispatch_track_json(PGconn *conn, const char *application, const char *doc_check, bool whole_doc,
                                 json_object **ret);
