/* photo_receipt.h — photo quality receipts in PostgreSQL and the line's photo gate (receipt or full check) */
#pragma once

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ctx.h"
#include "photo.h"

/* A check report as JSON, the shape `cardline photo check --json` prints per file (documented in README):
 * {file, verdict, profile, profile_version, sha256, file_size, checks[{id, status, value, measured, limit,
 * message}], face{found, box{x,y,w,h}|null, left_eye{x,y}|null, right_eye{x,y}|null, width, head_top}}.
 * file may be NULL (then omitted). Returns a new object (json_object_put it) or NULL when out of memory. */
json_object *producer_photo_report_json(const struct photo_report *report, const char *file);

/* A check's message (struct photo_check_result.message, English as the photo library wrote it) in the calling
 * thread's language, for a person: the library marks its messages N_() and they are translated here, those
 * with values in them (a measurement, a limit, a size) with the same values. Returns message's translation or
 * buf (size bytes) holding it; a message the catalog does not know stays English. */
const char *producer_photo_message(const char *message, char *buf, size_t size);
/* The same for every checks[].message of a producer_photo_report_json() object about to be shown to a person
 * (the receipt stores the report in English). */
void producer_photo_report_json_localise(json_object *report);

/* Whether a receipt may be issued for the applicant's document: doc_type one of the supported types
 * (PRODUCER_DOC_TYPES; NULL or "" means resident_id) and doc_number valid for it as base/rules.h's
 * producer_doc_valid says (length, characters, check character, birth date not after the bureau's today).
 * Returns 0, or PRODUCER_ERROR_INPUT with ctx->message saying why (the number masked); PRODUCER_ERROR_DB.
 * Front ends call it before the (slow) photo check; producer_photo_receipt_issue calls it again. */
int producer_photo_receipt_doc_check(struct producer_ctx *ctx, const char *doc_type, const char *doc_number);

/* Issue a receipt for the photo bytes that report was made from (verdict pass or warn; a failing photo gets
 * PRODUCER_ERROR_INPUT). studio is a studio code (letters, digits, '-', '_', up to 32), doc_type and
 * doc_number the applicant's document (producer_photo_receipt_doc_check: an invalid one gets
 * PRODUCER_ERROR_INPUT and no receipt row). Stores the receipt with the full report and records the audit
 * event (ctx->actor, kind photo_checked, detail "<studio> receipt <number>"), so every front end records the
 * same; fills *ret (document number masked). Runs inside the caller's transaction when one is open on
 * ctx->conn (the web stores the photo with its receipt), else in its own. Returns 0, or a negative
 * PRODUCER_ERROR with ctx->message saying why (nothing logged above debug; the caller reports it). */
int producer_photo_receipt_issue(struct producer_ctx *ctx, const uint8_t *data, size_t len,
                                 const struct photo_report *report, const char *studio, const char *doc_type,
                                 const char *doc_number, struct photo_receipt *ret);

/* Fetch a receipt by number: 0 and *ret; PRODUCER_ERROR_NOT_FOUND when no such receipt; PRODUCER_ERROR_INPUT
 * when the number is malformed or its check character is wrong. */
int producer_photo_receipt_get(PGconn *conn, const char *number, struct photo_receipt *ret);

/* Prove that the bytes are the receipted photo: the receipt exists, is neither revoked nor expired, and its
 * SHA-256 is the bytes'. Returns 0 when valid; PRODUCER_ERROR_INPUT (malformed number, other photo, expired,
 * revoked) or PRODUCER_ERROR_NOT_FOUND with a one-line reason a person can act on; PRODUCER_ERROR_DB. */
int producer_photo_receipt_verify(PGconn *conn, const char *number, const uint8_t *data, size_t len,
                                  char *reason, size_t reason_size);

/* The line's decision on an application's photo (row photo_id, whose bytes the caller has read): accepted
 * when the photo row carries a receipt valid for these bytes, or else when the full check with profile (NULL:
 * default) passes or only warns. Returns 0 accepted; PRODUCER_ERROR_INPUT rejected, with reason
 * "photo fails: <check ids>" (or the receipt/decoding problem); another negative PRODUCER_ERROR on failure.
 * ck is shared read-only, so all lines of a controller may use one. */
int producer_photo_gate(PGconn *conn, const struct photo_checker *ck, const struct photo_profile *profile,
                        int64_t photo_id, const uint8_t *bytes, size_t len, char *reason, size_t reason_size);
