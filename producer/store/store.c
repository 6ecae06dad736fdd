/* store.c — transactions, audit events and the work channel shared by every part of the store */
#include "store/store.h"

#include "base/log.h"

#define WORK_CHANNEL "cardline_work"

int store_begin(PGconn *conn)
{
    return db_command(conn, "begin", "BEGIN", 0, NULL);
}

int store_commit(PGconn *conn)
{
    return db_command(conn, "commit", "COMMIT", 0, NULL);
}

void store_rollback(PGconn *conn)
{
    if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
}

int store_event(PGconn *conn, const char *actor, const char *kind, const char *application_id,
                const char *card_number, const char *shipment_id, const char *detail)
{
    const char *params[6] = {actor, kind, application_id, card_number, shipment_id, detail};

    return db_command(conn, "record event",
                      "INSERT INTO event (actor, kind, application_id, card_number, shipment_id, detail) "
                      "VALUES ($1, $2, $3, $4, $5, $6)",
                      6, params);
}

int store_work_notify(PGconn *conn)
{
    return db_command(conn, "wake the lines", "NOTIFY " WORK_CHANNEL, 0, NULL);
}

int store_work_listen(PGconn *conn)
{
    return db_command(conn, "listen for work", "LISTEN " WORK_CHANNEL, 0, NULL);
}
