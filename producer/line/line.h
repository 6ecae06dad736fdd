/* line.h — what the line offers the rest of producer/: the card's content from an application (for the line,
 * `cardline render` and `cardline chip`), and the store interface its per-card state machine runs against */
#pragma once

#include "store/production.h"
#include "store/queue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct encoder_card_data;
struct printer_face;
struct printer_layout;
struct photo_image;
struct photo_checker;
struct photo_profile;

/* --- card content ------------------------------------------------------------------------------------------
 */

/* An application and its card, as the printer and the chip get them. Dates are YYYY-MM-DD or YYYYMMDD (""
 * when not known); strings are borrowed, not copied. */
struct line_card_source {
    const char *name;
    const char *ssn;
    char sex;
    int ethnicity;
    const char *birth_place;
    const char *birth_date;
    const char *bank_name; /* NULL or "" when none */
    const char *card_number;
    const char *issue_date;
    const char *expiry_date;
    const char *region_code; /* the bureau's */
    bool temporary;          /* a temporary card (临时卡): the face says so and shows expiry_date */
};

/* What the chip receives. Pure: no database, no device. */
void line_card_chip(const struct line_card_source *s, struct encoder_card_data *ret);
/* What the printer draws; photo may be NULL (a grey placeholder). ret borrows s's strings and photo's pixels.
 */
void line_card_face(const struct line_card_source *s, const struct printer_layout *layout,
                    const struct photo_image *photo, struct printer_face *ret);
/* The source of a claimed application with its card number (a placeholder before one is allocated). */
void line_card_source_of_claim(const struct producer_claim *c, const char *card_number,
                               const char *region_code, struct line_card_source *ret);

/* --- the store interface ----------------------------------------------------------------------------------
 */

/* What the per-card state machine needs from the database, after libusb's backend struct: one const instance
 * per store (line_store_pg over PostgreSQL; the unit tests keep an in-memory one). ctx is the store's own
 * state (for PostgreSQL the line's struct producer_claimer: connection, owner, lease). The owner of every
 * lease is the store's; line_id names the line in the audit trail. Unless said otherwise an operation returns
 * 0, or a negative PRODUCER_ERROR — PRODUCER_ERROR_DB when the database failed or went away, which is never
 * the applicant's fault.
 */
struct line_store_ops {
    /* Claim the most urgent pending application with a lease (attempts + 1, step 'claimed'). Returns 1 with
     * *ret filled, 0 when nothing is pending. Required. */
    int (*claim)(void *ctx, struct producer_claim *ret);

    /* The checks' lookups, each 1 found / 0 not found. outlet_known: the pickup outlet exists. earlier_card:
     * the card a replacement or exchange names, its status and whether it is the person's. other_card: the
     * person's first live card of that kind other than except (NULL: any). photo: the photo's bytes in a new
     * buffer the caller frees. Required. */
    int (*outlet_known)(void *ctx, const char *outlet_code);
    int (*earlier_card)(void *ctx, const char *card_number, const char *ssn, char ret_status[16],
                        bool *ret_same_person);
    int (*other_card)(void *ctx, const char *ssn, bool temporary, const char *except, char ret_card[16],
                      char ret_status[16]);
    int (*photo)(void *ctx, int64_t photo_id, uint8_t **ret_bytes, size_t *ret_len);
    /* The photo's acceptance, as producer_photo_gate(): 0 accepted, PRODUCER_ERROR_INPUT rejected (why says
     * why), PRODUCER_ERROR_DB / _NOMEM when it could not be decided. Required. */
    int (*photo_gate)(void *ctx, const struct photo_checker *ck, const struct photo_profile *profile,
                      int64_t photo_id, const uint8_t *bytes, size_t len, char *why, size_t why_size);

    /* Hold the application for the applicant with reason (audit 'held'). Returns 1 held, 0 no longer ours.
     * Required. */
    int (*hold)(void *ctx, const char *app_id, const char *line_id, const char *reason);

    /* Allocate the card number and take the blank from stock (step 'feeding', audit 'allocated'). Returns 0
     * with ret_card_number, STORE_PRODUCTION_DUPLICATE (the person has a live card: hold),
     * PRODUCER_ERROR_NOT_FOUND (no longer ours). Required. */
    int (*allocate)(void *ctx, const char *app_id, const char *line_id, const struct producer_claim *c,
                    const char *prefix, char ret_card_number[10]);

    /* Record the next physical step (card status and application step) before it starts. Returns 0 or
     * PRODUCER_ERROR_NOT_FOUND when the application is no longer ours (cancelled, lease lost). Required. */
    int (*step)(void *ctx, const char *app_id, const char *card_number, const char *status);

    /* Give the application back to the queue untouched, its attempt refunded, as store_queue_requeue():
     * card_number NULL before anything physical happened (only from step 'claimed'); else the blank never
     * left the hopper (number given up, stock move undone, audit 'feed_failed' with cause). Returns 1
     * requeued, 0 no longer ours. Required. */
    int (*requeue)(void *ctx, const char *app_id, const char *line_id, const char *card_number,
                   const char *cause);

    /* The card is spoiled with reason; the application goes back to the queue, or is held (not for the
     * applicant) with hold_reason once its attempts reach max_attempts (0: at once). Required. */
    int (*spoil)(void *ctx, const char *app_id, const char *line_id, const char *card_number,
                 const char *reason, const char *hold_reason, int max_attempts);

    /* A card whose application left the line under it (cancelled, lease lost) is spoiled, unless the
     * application is in production again. Required. */
    int (*spoil_lost)(void *ctx, const char *card_number);

    /* The card is good: application produced, card good (issued for a temporary card), packed into its
     * outlet's shipment (ret_shipment, "" for a temporary card). Returns 0 or PRODUCER_ERROR_NOT_FOUND.
     * Required. */
    int (*finish)(void *ctx, const char *app_id, const char *line_id, const struct producer_claim *c,
                  const char *card_number, const char *atr_hex, const char *chip_id_hex,
                  char ret_shipment[19]);

    /* Pause the line for an operator with cause (dashboard and status show it). Required. */
    int (*pause)(void *ctx, const char *line_id, const char *cause);

    /* 1 while any application is pending or in production (also when that cannot be told), else 0. Required.
     */
    int (*work_left)(void *ctx);

    /* The last failure in words, for the caller's one log line; never NULL. Required. */
    const char *(*last_error)(void *ctx);

    /* The bank's application (issue 16); optional: a store without them has no bank data. bank_data: the
     * application's current bank data file in a new NUL-terminated buffer the caller frees, 1 found / 0 none.
     * bank_card: the card's chip carries the bank application (its masked account, the bank). bank_stripe:
     * tracks magnetic tracks were written on the card and verified. */
    int (*bank_data)(void *ctx, int64_t app_id, char **ret_text, size_t *ret_len);
    int (*bank_card)(void *ctx, const char *app_id, const char *card_number, const char *pan_masked,
                     const char *bank_name, const char *line_id);
    int (*bank_stripe)(void *ctx, const char *app_id, const char *card_number, int tracks,
                       const char *line_id);
};

/* The PostgreSQL store (line/store_pg.c, calling store/ functions); its ctx is a struct producer_claimer. */
extern const struct line_store_ops line_store_pg;

struct producer_config;
/* Write the configuration's outlets (insert or update, never delete) and add its lines to the books, in one
 * transaction. Returns how many outlets or a negative error (the cause is logged). */
int producer_config_apply(PGconn *conn, const struct producer_config *cfg);
