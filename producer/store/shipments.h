/* shipments.h — the store's statements for cards after production: packing, shipment and card moves along the
 * chain of custody, and the rows the shipment papers (label, manifest, export) are made from
 *
 * The moves run inside the caller's transaction (store_begin/store_commit from store/store.h), opened with
 * store_shipments_custody() so that the database's custody triggers (migration 0005) name the actor. Those
 * triggers refuse a move off the chain with a sentence written for people: a function below then returns
 * STORE_SHIPMENTS_REFUSED and copies that sentence into reason; on any other failure it returns
 * PRODUCER_ERROR_DB with the database's first line in reason. reason (STORE_REASON_SIZE bytes) is left alone
 * on success.
 */
#pragma once

#include "store/db.h"

#include <stdbool.h>

#define STORE_REASON_SIZE 320

/* The database refused the move (an integrity error, SQLSTATE class 23, as the custody triggers raise). */
#define STORE_SHIPMENTS_REFUSED PRODUCER_ERROR_REFUSED

/* Name the actor and the detail of this transaction for the custody triggers; after store_begin(). */
int store_shipments_custody(PGconn *conn, const char *actor, const char *detail,
                            char reason[STORE_REASON_SIZE]);

/* Put a good card into its outlet's open shipment (opening one when there is none) inside the caller's
 * transaction, and seal that shipment when it holds setting shipment_max_cards. */
int store_shipments_pack(PGconn *conn, const char *card_number, const char *outlet_code,
                         char ret_shipment[19]);

/* Lock a shipment for this transaction; 0 with its status and outlet, or PRODUCER_ERROR_NOT_FOUND. */
int store_shipments_lock(PGconn *conn, const char *id, char ret_status[16], char ret_outlet[20],
                         char reason[STORE_REASON_SIZE]);
/* Seal an open shipment by hand; returns 1, or 0 when it holds no card. */
int store_shipments_seal(PGconn *conn, const char *id, char reason[STORE_REASON_SIZE]);
/* Seal every non-empty open shipment whose delivery cut-off on the bureau date of at (NULL: now) has passed;
 * returns how many. */
int store_shipments_seal_due(PGconn *conn, const char *at, char reason[STORE_REASON_SIZE]);
/* Hand a locked sealed shipment to the courier: its good cards go in transit. */
int store_shipments_send(PGconn *conn, const char *id, char reason[STORE_REASON_SIZE]);
/* Record a locked dispatched shipment received by actor: its cards in transit are at the outlet. */
int store_shipments_receive(PGconn *conn, const char *id, const char *actor, char reason[STORE_REASON_SIZE]);
/* Mark a locked dispatched shipment lost. */
int store_shipments_lose(PGconn *conn, const char *id, char reason[STORE_REASON_SIZE]);

/* Application ids (as text), in the order the database gave them. */
struct store_ids {
    int n;
    char (*id)[24];
};
void store_ids_free(struct store_ids *ids);

/* Blacklist the cards in transit of a shipment (18 digits) or the one card: they are lost in transit. *ret
 * receives their applications' ids (free with store_ids_free); returns how many cards. */
int store_shipments_lose_cards(PGconn *conn, const char *shipment_or_card, struct store_ids *ret,
                               char reason[STORE_REASON_SIZE]);
/* Put a produced application whose card was lost back at the front of the queue, as if never attempted. */
int store_shipments_requeue(PGconn *conn, const char *application_id, char reason[STORE_REASON_SIZE]);

/* A card at the counter, locked for this transaction. */
struct store_card_holder {
    char status[16];
    char doc_upper[40];     /* the holder's document number, upper case; never logged */
    char kind[16];          /* the application's kind: new, replacement, exchange, temporary */
    char replaced_card[16]; /* exchange: the card handed in; "" when none */
    char application_id[24];
};
/* 0, or PRODUCER_ERROR_NOT_FOUND. */
int store_shipments_card_holder(PGconn *conn, const char *card_number, struct store_card_holder *ret,
                                char reason[STORE_REASON_SIZE]);
/* The old card of an exchange is handed in: issued -> returned. Returns 1, or 0 when it was not issued. */
int store_shipments_hand_in(PGconn *conn, const char *old_card, char reason[STORE_REASON_SIZE]);

struct store_collection {
    const char *card_number;
    const char *collected_by;     /* "holder" or "agent" */
    const char *agent_name;       /* masked; NULL for the holder */
    const char *agent_doc_type;   /* NULL for the holder */
    const char *agent_doc_masked; /* NULL for the holder */
    const char *actor;
    bool activate;
    const char *activation_skipped; /* the reason when !activate (required then) */
    const char *poa_reference;      /* an agent's power of attorney: its reference number, or */
    const char *poa_scan_hex;       /* its scan as bytea hex text ("\\x..."); NULL when none */
    const char *temporary_card;     /* the holder's temporary card at this moment, NULL when none */
    bool temporary_returned;        /* handed in now (else flagged for return) */
};
/* Record the collection and issue the card (activated now when c->activate). */
int store_shipments_collect(PGconn *conn, const struct store_collection *c, char reason[STORE_REASON_SIZE]);

/* Lock a card: its status and whether its social security function is active; 0 or PRODUCER_ERROR_NOT_FOUND.
 */
int store_shipments_card_state(PGconn *conn, const char *card_number, char ret_status[16],
                               bool *ret_activated, char reason[STORE_REASON_SIZE]);
int store_shipments_activate(PGconn *conn, const char *card_number, char reason[STORE_REASON_SIZE]);
/* The holder's temporary card (临时卡) still out, locked: the valid one, else the latest due back; 1 with its
 * number and status, 0 when none. */
int store_shipments_temporary_of(PGconn *conn, const char *card_number, char ret_card[16],
                                 char ret_status[16], char reason[STORE_REASON_SIZE]);
/* The real card collected: the temporary card comes back (returned) or is flagged for return (return_due,
 * 'card collected'); the schema stops it either way. Returns 1 when it moved, 0 when it was not out. */
int store_shipments_temporary_settle(PGconn *conn, const char *temporary_card, bool returned,
                                     char reason[STORE_REASON_SIZE]);
/* A card not collected goes back to the bureau; returns 1, or 0 when there is no such card. */
int store_shipments_return(PGconn *conn, const char *card_number, char reason[STORE_REASON_SIZE]);

/* What a label and a manifest say about their shipment. */
struct store_shipment_label {
    char id[19];
    char outlet[20];
    char outlet_name[256];
    char county[128];
    char status[16];
    char sealed_at[32]; /* bureau time, "" while open */
    int cards;
};
/* 0, PRODUCER_ERROR_NOT_FOUND or PRODUCER_ERROR_DB. */
int store_shipments_label(PGconn *conn, const char *id, struct store_shipment_label *ret);

/* One card in a shipment, holder data NOT masked: the caller masks before writing anything. */
struct store_shipment_card {
    char outlet[20];
    char shipment[19];
    char shipment_status[16];
    char card_number[16];
    char card_status[16];
    char application[72]; /* upstream id */
    char name[256];
    char ssn[40];
    char packed_at[24]; /* bureau time; export only */
};
/* The cards of one shipment by card number (for its manifest); *ret (free()) holds *ret_n rows. */
int store_shipments_manifest(PGconn *conn, const char *id, struct store_shipment_card **ret, int *ret_n);
/* The cards of every shipment, by outlet, shipment and card number (for the export). */
int store_shipments_export(PGconn *conn, struct store_shipment_card **ret, int *ret_n);
