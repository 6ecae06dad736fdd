/* queue.h — the production queue: claims with leases, the day's dates, heartbeats, requeue and the rescue of
 * applications whose lease ran out */
#pragma once

#include "store/db.h"
#include "base/rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A claimed application and the dates it needs. */
struct producer_claim {
    struct producer_app app;
    char id_text[24];
    char today[9];       /* YYYYMMDD in the bureau's time zone */
    char issue_date[11]; /* YYYY-MM-DD */
    char expiry_date[11];
};

/* Claims on one connection for one owner; keeps the prepared claim statement and the day's dates. */
struct producer_claimer {
    PGconn *conn;
    const char *owner;
    int lease_seconds;
    bool counter; /* claim temporary applications only */
    bool prepared;
    int64_t day_ns;
    char today[9];
    char issue_date[11];
    char expiry_date[11];
    char temporary_expiry_date[11];
};
void store_queue_claimer_init(struct producer_claimer *c, PGconn *conn, const char *owner, int lease_seconds);

/* Claim the most urgent pending application (priority, latest completion, id) with FOR UPDATE SKIP LOCKED and
 * a lease owned by the claimer's owner. Returns 1 with *ret filled, 0 when nothing is pending, or
 * PRODUCER_ERROR_DB. */
int store_queue_claim(struct producer_claimer *c, struct producer_claim *ret);

/* Give an application claimed by owner back to the queue untouched: no hold, its attempt refunded, its
 * deadline unmoved. card_number NULL: nothing physical happened yet, and only an application still at step
 * 'claimed' goes back. card_number set: its blank never left the hopper — the number is given up (never
 * reused), the stock move undone and 'feed_failed' recorded with cause, by actor line_id. One transaction.
 * Returns 1 when the application went back, 0 when it was no longer ours (the card is still given up), or
 * PRODUCER_ERROR_DB. */
int store_queue_requeue(PGconn *conn, const char *app_id, const char *owner, const char *line_id,
                        const char *card_number, const char *cause);

/* Extend the leases of the applications ids[0..n) that owner has in hand, and the owner's lines' heartbeat.
 * Returns 0 or PRODUCER_ERROR_DB. */
int store_queue_heartbeat(PGconn *conn, const char *owner, int lease_seconds, const int64_t *ids, size_t n);

/* Applications whose lease expired go back to the queue; their cards in physical steps are spoiled as
 * interrupted; one rescuer at a time (the others return 0). Wakes the lines when it returned any. Returns the
 * number rescued or PRODUCER_ERROR_DB. */
int store_queue_rescue_expired(PGconn *conn, const char *actor);

/* 1 while an application is pending or in production anywhere (also when the question fails), else 0. */
int store_queue_work_left(PGconn *conn);
/* The same, counting only the pending applications claimer c may claim (NULL: any). */
int store_queue_work_left_for(PGconn *conn, const struct producer_claimer *c);
