/* production.h — cards in production (allocation, steps, finish, spoil, hold), the lines' registration and
 * state, the settings a line reads, and the rows `cardline render` and `cardline chip` need */
#pragma once

#include "store/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bureau settings a controller reads once at start-up. */
struct store_line_settings {
    char card_prefix[2]; /* the first character of every (non-temporary) card number */
    int max_attempts;    /* spoiled cards an application may cost before it is held */
    char region[7];      /* the bureau's region code, written to every chip */
};
int store_production_settings(PGconn *conn, struct store_line_settings *ret);

/* Take the line row for controller, unless another live controller (heartbeat younger than lease_seconds)
 * runs it. Returns 1 registered, 0 refused, or PRODUCER_ERROR_DB. */
int store_production_register_line(PGconn *conn, const char *line_id, const char *controller,
                                   const char *printer, const char *encoder, int lease_seconds);
/* A line that ends its run: 'stopped', no controller (a paused line stays paused). 0 or PRODUCER_ERROR_DB. */
int store_production_stop_line(PGconn *conn, const char *line_id);
/* A line an operator must look at: 'paused' with the cause shown in the dashboard and status. */
int store_production_pause_line(PGconn *conn, const char *line_id, const char *cause);

/* The lookups of an application's checks. Each returns 1 found, 0 not found, or PRODUCER_ERROR_DB. */
int store_production_outlet_known(PGconn *conn, const char *outlet_code);
/* The card a replacement or exchange names: its status and whether it belongs to the person ssn. */
int store_production_earlier_card(PGconn *conn, const char *card_number, const char *ssn, char ret_status[16],
                                  bool *ret_same_person);
/* The person's first live card (allocated .. issued) of the kind temporary or not, other than except (may be
 * NULL). */
int store_production_other_card(PGconn *conn, const char *ssn, bool temporary, const char *except,
                                char ret_card[16], char ret_status[16]);
/* The photo's bytes in a new buffer (free() it). */
int store_production_photo(PGconn *conn, int64_t photo_id, uint8_t **ret_bytes, size_t *ret_len);

/* Hold an application owner has in production for the applicant (the held days extend its deadline), with an
 * audit event by line_id. One transaction. Returns 1 held, 0 no longer ours, or PRODUCER_ERROR_DB. */
int store_production_hold(PGconn *conn, const char *app_id, const char *owner, const char *line_id,
                          const char *reason);

struct store_allocation {
    const char *app_id;
    const char *owner; /* the controller holding the lease */
    const char *line_id;
    const char *person_key; /* the ssn */
    const char *issue_date; /* YYYY-MM-DD */
    const char *expiry_date;
    const char *prefix; /* the card number's first character */
    bool temporary;
};
/* A card number and the blank leaving the hopper (stock move, step 'feeding', event 'allocated'), in one
 * transaction. Returns 0 with ret_card_number, STORE_PRODUCTION_DUPLICATE when the person already has a live
 * card, PRODUCER_ERROR_NOT_FOUND when the application is no longer ours, or PRODUCER_ERROR_DB. */
#define STORE_PRODUCTION_DUPLICATE 1
int store_production_allocate(PGconn *conn, const struct store_allocation *a, char ret_card_number[10]);

/* The next physical step (card status and application step) before it starts. Returns 0,
 * PRODUCER_ERROR_NOT_FOUND (the application is no longer ours or the card is finished) or PRODUCER_ERROR_DB.
 */
int store_production_step(PGconn *conn, const char *app_id, const char *owner, const char *card_number,
                          const char *status);

/* The card is spoiled with reason; the application goes back to the queue, or is held (not for the applicant)
 * with hold_reason once it has used max_attempts; the line's counter and the audit trail. One transaction.
 * Returns 0 or PRODUCER_ERROR_DB. */
int store_production_spoil(PGconn *conn, const char *app_id, const char *owner, const char *line_id,
                           const char *card_number, const char *reason, const char *hold_reason,
                           int max_attempts);

/* A card whose application was withdrawn from the line (cancelled, lease lost) is spoiled unless its
 * application is in production again. Returns 0 or PRODUCER_ERROR_DB. */
int store_production_spoil_lost(PGconn *conn, const char *card_number);

struct store_finish {
    const char *app_id;
    const char *owner;
    const char *line_id;
    const char *card_number;
    const char *atr_hex;
    const char *chip_id_hex;
    const char *outlet_code;
    const char *replaced_card; /* a replacement blacklists it; NULL otherwise */
    bool temporary;            /* issued at the counter, not packed */
};
/* The card is good: application produced, card good (or issued), the line's counter, the audit event and, but
 * for a temporary card, into its outlet's open shipment. One transaction. Returns 0 (ret_shipment "" for a
 * temporary card), PRODUCER_ERROR_NOT_FOUND (no longer ours) or PRODUCER_ERROR_DB. */
int store_production_finish(PGconn *conn, const struct store_finish *f, char ret_shipment[19]);

/* What `cardline render` draws for an application. */
struct store_render_row {
    char name[244];
    char ssn[19];
    char bank_name[101];
    uint8_t *photo; /* NULL when the application has no photo; free() it */
    size_t photo_len;
    char card_number[16]; /* of the produced card, else the prefix and a placeholder */
    char issue_date[11];  /* YYYY-MM-DD: the card's, else today */
    bool has_card;
    char kind[16];        /* the application's: new, replacement, exchange, temporary */
    char expiry_date[11]; /* YYYY-MM-DD: the card's, else what a card made today would get */
};
/* Returns 0, PRODUCER_ERROR_NOT_FOUND or PRODUCER_ERROR_DB. */
int store_production_render_row(PGconn *conn, const char *app_id, struct store_render_row *ret);

/* What `cardline chip personalize` writes for an application (id or upstream id) and its card. */
struct store_chip_row {
    char app_id[24];
    bool leased; /* a line is producing it right now */
    char ssn[19];
    char name[244];
    char sex;
    int ethnicity;
    char birth_place[7];
    char birth_date[9]; /* YYYYMMDD */
    bool has_card;      /* false: no card (of that number) */
    char card_number[10];
    char card_status[16];
    char issue_date[9]; /* YYYYMMDD or "" */
    char expiry_date[9];
    char region[7];
};
/* card NULL: the application's card most likely meant. Returns 0, PRODUCER_ERROR_NOT_FOUND (no application)
 * or PRODUCER_ERROR_DB. */
int store_production_chip_row(PGconn *conn, const char *app, const char *card, struct store_chip_row *ret);
/* A card personalised at a counter: its chip and station, and the audit event by actor. */
int store_production_record_chip(PGconn *conn, const char *card_number, const char *atr_hex,
                                 const char *chip_id_hex, const char *actor, const char *app_id,
                                 const char *detail);
