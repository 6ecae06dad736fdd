/* store.h — what every part of the store shares: transactions, the audit trail and the work channel.
 *
 * store/ is the only part of producer/ that speaks SQL. Its functions take the caller's connection, return 0 (or a
 * count) on success and a negative producer_error on failure, log database failures once at debug level with the
 * statement's purpose, and never log personal data. Domain parts (line/, intake/, schedule/, dispatch/, account/)
 * call them and hold no SQL strings; the front ends (cli/, web/) call the domain parts and the store's read models.
 */
#pragma once

#include "store/db.h"

/* One transaction on conn. store_rollback() is safe to call when no transaction is open. */
int store_begin(PGconn *conn);
int store_commit(PGconn *conn);
void store_rollback(PGconn *conn);

/* Append one audit event inside the caller's transaction (or on its own). NULL fields are stored as NULL;
 * detail must already be masked. */
int store_event(PGconn *conn, const char *actor, const char *kind, const char *application_id,
                const char *card_number, const char *shipment_id, const char *detail);

/* Lines sleep on one LISTEN channel; whatever makes work (an import, a release, a requeue) wakes them.
 * Notifications are delivered at commit, so calling notify inside a transaction is right. */
int store_work_notify(PGconn *conn);
int store_work_listen(PGconn *conn);
