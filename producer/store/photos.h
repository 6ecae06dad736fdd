/* photos.h (store) — photo bytes and photo quality receipts in the database */
#pragma once

#include "store/db.h"

#include "photo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Store photo bytes (binary parameter); *ret_id gets the new row's id. Within the caller's transaction. */
int store_photos_insert(PGconn *conn, const uint8_t *bytes, size_t len, const char *sha256,
                        const char *studio, int64_t *ret_id);

/* What the next receipt is numbered and dated with: a fresh serial and the bureau's date and time now, and
 * the last day it is valid (setting photo_receipt_valid_days, default 180). */
struct store_receipt_slot {
    uint32_t serial;
    int year, month, day;
    char issued_at[32];   /* "YYYY-MM-DD HH:MI" bureau time */
    char valid_until[16]; /* "YYYY-MM-DD" */
};
int store_photos_receipt_slot(PGconn *conn, struct store_receipt_slot *ret);

/* Insert a receipt; doc_number is the applicant's (unmasked, stored), report_json the full check report. */
int store_photos_receipt_insert(PGconn *conn, const struct photo_receipt *rc, size_t file_size,
                                const char *doc_number, const char *report_json);

/* A receipt by number, its document number masked. PRODUCER_ERROR_NOT_FOUND when none. */
int store_photos_receipt_get(PGconn *conn, const char *number, struct photo_receipt *ret);

/* What verifying a receipt needs. PRODUCER_ERROR_NOT_FOUND when none. */
struct store_receipt_state {
    char sha256[65];
    bool expired; /* valid_until is before the bureau's today */
    bool revoked;
    char revoked_reason[128];
    char valid_until[16];
};
int store_photos_receipt_state(PGconn *conn, const char *number, struct store_receipt_state *ret);

/* The receipt number a stored photo carries; ret is "" when it has none (or no such photo). */
int store_photos_receipt_of(PGconn *conn, int64_t photo_id, char ret[PHOTO_RECEIPT_NUMBER_LEN + 1]);
