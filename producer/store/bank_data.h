/* bank_data.h (store) — the bank's data per application (table bank_data), the bank_application setting, what
 * a card was given (masked account, stripe) and the list of applications the bank still owes data for */
#pragma once

#include "store/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An application as the import matches a file to it. */
struct store_bank_app {
    int64_t id;
    char status[16];
    char kind[16];
    char bank_name[101]; /* "" when the application names no bank */
};

/* The application with this upstream id: 1 found (ret filled), 0 none, or a negative error. */
int store_bank_data_app(PGconn *conn, const char *upstream_id, struct store_bank_app *ret);

/* One imported file for an application, with what may be shown of it. */
struct store_bank_file {
    int64_t application_id;
    const char *bank_name;
    const char *aid;        /* hex */
    const char *pan_masked; /* first 6 / last 4 */
    bool has_stripe;
    const char *file_name; /* as given to the import, for the audit trail */
    const char *content;   /* the file as received (sensitive DGIs encrypted by the bank) */
    const char *sha256;    /* lower-case hex of content */
    const char *actor;
};

/* Store the file as the application's current bank data, within the caller's transaction. Returns 1 when it
 * replaced an earlier file (whose SHA-256 goes to ret_old_sha256, 65 bytes), 0 when it is the first, or a
 * negative error. */
int store_bank_data_put(PGconn *conn, const struct store_bank_file *f, char ret_old_sha256[65]);

/* An application held because its bank data was missing or unusable goes back to the queue (as `application
 * release` would). 1 released, 0 it was not held for that, or a negative error. */
int store_bank_data_release(PGconn *conn, int64_t application_id);

/* The application's current bank data file in a new NUL-terminated buffer the caller frees (*ret_len without
 * the NUL). 1 found, 0 none, or a negative error. */
int store_bank_data_get(PGconn *conn, int64_t application_id, char **ret_text, size_t *ret_len);

/* The bank_application setting: 1 required, 0 off, or a negative error. */
int store_bank_data_required(PGconn *conn);
/* Set it (value "required" or "off"); 0 or a negative error (PRODUCER_ERROR_INPUT for another value). */
int store_bank_data_set_required(PGconn *conn, const char *value);

/* The card was given the bank application (its masked account as the card answered it, the bank) and, when
 * tracks > 0, a magnetic stripe of that many tracks; each with its audit event. 0 or a negative error. */
int store_bank_data_card(PGconn *conn, const char *app_id, const char *card_number, const char *pan_masked,
                         const char *bank_name, const char *actor);
int store_bank_data_stripe(PGconn *conn, const char *app_id, const char *card_number, int tracks,
                           const char *actor);

/* What the card's chip was given of the bank: its masked account and the bank. 1 found (a card with the bank
 * application), 0 none, or a negative error. */
int store_bank_data_of_card(PGconn *conn, const char *card_number, char ret_masked[24], char ret_bank[101]);

/* Applications (pending or held, not temporary cards) that have no bank data, oldest first: upstream id,
 * bank, name. row() returns 0 to go on; its negative value stops and is returned. Returns the number of rows
 * or a negative error. */
typedef int store_bank_pending_row(void *arg, const char *upstream_id, const char *bank_name,
                                   const char *name);
int store_bank_data_pending(PGconn *conn, store_bank_pending_row *row, void *arg);
