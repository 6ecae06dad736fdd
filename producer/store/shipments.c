/* shipments.c — SQL of packing, of shipment and card moves along the chain of custody, and of the shipment
 * papers
 */
#include "store/shipments.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first line of a database error, without the "ERROR:  " prefix: trigger messages are written for people.
 */
static void db_reason(const PGresult *res, PGconn *conn, char *out, size_t size)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    if (!m)
        m = PQerrorMessage(conn);
    snprintf(out, size, "%s", m);
    out[strcspn(out, "\n")] = '\0';
}

/* Run a statement; on failure fill reason and return STORE_SHIPMENTS_REFUSED for refusals by a trigger or
 * constraint, PRODUCER_ERROR_DB otherwise. Returns the number of rows affected or returned; *ret (may be
 * NULL) keeps the result. */
static int run(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
               char reason[STORE_REASON_SIZE], PGresult **ret)
{
    PGresult *res = db_exec(conn, sql, n, params);
    int rows;

    if (!db_ok(res)) {
        /* class 23: integrity constraint violation (our triggers raise check_violation) */
        int r = strncmp(db_sqlstate(res), "23", 2) == 0 ? STORE_SHIPMENTS_REFUSED : PRODUCER_ERROR_DB;
        db_reason(res, conn, reason, STORE_REASON_SIZE);
        log_debug("store", "%s: %s", what, reason);
        PQclear(res);
        return r;
    }
    rows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : atoi(PQcmdTuples(res));
    if (ret)
        *ret = res;
    else
        PQclear(res);
    return rows;
}

static int run_quiet(PGconn *conn, const char *what, const char *sql, int n, const char *const *params)
{
    char reason[STORE_REASON_SIZE];

    return run(conn, what, sql, n, params, reason, NULL);
}

int store_shipments_custody(PGconn *conn, const char *actor, const char *detail,
                            char reason[STORE_REASON_SIZE])
{
    const char *p[2] = {actor, detail ? detail : ""};
    int r;

    /* the custody triggers name the actor and the detail from these transaction-local settings */
    r = run(conn, "custody settings",
            "SELECT set_config('cardline.actor', $1, true), set_config('cardline.detail', $2, true)", 2, p,
            reason, NULL);
    return r < 0 ? r : 0;
}

int store_shipments_pack(PGconn *conn, const char *card_number, const char *outlet_code,
                         char ret_shipment[19])
{
    const char *p_outlet[1] = {outlet_code};
    char shipment[19] = "";
    const char *p_item[2] = {card_number, shipment};
    const char *p_ship[1] = {shipment};
    PGresult *res;

    /* The open shipment's row lock orders the lines that pack for one outlet, so the count that seals it is
     * exact. A line that waited on a shipment that got sealed meanwhile finds no open one and opens the next.
     */
    for (int tries = 0; tries < 4 && !shipment[0]; tries++) {
        if (run_quiet(conn, "open shipment",
                      "INSERT INTO shipment (id, outlet_code) VALUES (next_shipment_id(), $1) "
                      "ON CONFLICT (outlet_code) WHERE status = 'open' DO NOTHING",
                      1, p_outlet) < 0)
            return PRODUCER_ERROR_DB;
        res = db_exec(conn, "SELECT id FROM shipment WHERE outlet_code = $1 AND status = 'open' FOR UPDATE",
                      1, p_outlet);
        if (!db_ok(res)) {
            log_debug("store", "lock open shipment: %s", PQresultErrorMessage(res));
            PQclear(res);
            return PRODUCER_ERROR_DB;
        }
        if (PQntuples(res) == 1)
            snprintf(shipment, sizeof(shipment), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    if (!shipment[0])
        return PRODUCER_ERROR_DB;
    if (run_quiet(conn, "pack", "INSERT INTO shipment_item (card_number, shipment_id) VALUES ($1, $2)", 2,
                  p_item) < 0)
        return PRODUCER_ERROR_DB;
    if (run_quiet(conn, "seal when full",
                  "UPDATE shipment SET status = 'sealed', sealed_at = clock_now(), seal_reason = 'full' "
                  "WHERE id = $1 AND (SELECT count(*) FROM shipment_item WHERE shipment_id = $1) >= "
                  "  (SELECT value::integer FROM setting WHERE key = 'shipment_max_cards')",
                  1, p_ship) < 0)
        return PRODUCER_ERROR_DB;
    memcpy(ret_shipment, shipment, 19);
    return 0;
}

/* --- shipment moves ------------------------------------------------------------------------------------- */

int store_shipments_lock(PGconn *conn, const char *id, char ret_status[16], char ret_outlet[20],
                         char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {id};
    PGresult *res = NULL;
    int r = run(conn, "lock shipment", "SELECT status, outlet_code FROM shipment WHERE id = $1 FOR UPDATE", 1,
                p, reason, &res);

    if (r < 0)
        return r;
    if (r == 0) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    snprintf(ret_status, 16, "%s", PQgetvalue(res, 0, 0));
    snprintf(ret_outlet, 20, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

int store_shipments_seal(PGconn *conn, const char *id, char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {id};

    return run(conn, "seal shipment",
               "UPDATE shipment SET status = 'sealed', sealed_at = clock_now(), seal_reason = 'manual' "
               "WHERE id = $1 AND EXISTS (SELECT 1 FROM shipment_item WHERE shipment_id = $1)",
               1, p, reason, NULL);
}

int store_shipments_seal_due(PGconn *conn, const char *at, char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {at && *at ? at : NULL};

    return run(
        conn, "seal at cut-off",
        "UPDATE shipment s SET status = 'sealed', sealed_at = coalesce($1::timestamptz, clock_now()), "
        "  seal_reason = 'cut-off' "
        "WHERE s.status = 'open' AND EXISTS (SELECT 1 FROM shipment_item i WHERE i.shipment_id = s.id) "
        "  AND shipment_cutoff(s.outlet_code, bureau_date(coalesce($1::timestamptz, clock_now()))) "
        "      <= coalesce($1::timestamptz, clock_now())",
        1, p, reason, NULL);
}

int store_shipments_send(PGconn *conn, const char *id, char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {id};
    int r = run(conn, "dispatch shipment",
                "UPDATE shipment SET status = 'dispatched', dispatched_at = clock_now() WHERE id = $1", 1, p,
                reason, NULL);

    if (r >= 0)
        r = run(conn, "cards in transit",
                "UPDATE card SET status = 'in_transit' WHERE status = 'good' AND card_number IN "
                "(SELECT card_number FROM shipment_item WHERE shipment_id = $1)",
                1, p, reason, NULL);
    return r < 0 ? r : 0;
}

int store_shipments_receive(PGconn *conn, const char *id, const char *actor, char reason[STORE_REASON_SIZE])
{
    const char *p[2] = {id, actor};
    int r = run(
        conn, "receive shipment",
        "UPDATE shipment SET status = 'received', received_at = clock_now(), received_by = $2 WHERE id = $1",
        2, p, reason, NULL);

    if (r >= 0)
        r = run(conn, "cards at the outlet",
                "UPDATE card SET status = 'at_outlet' WHERE status = 'in_transit' AND card_number IN "
                "(SELECT card_number FROM shipment_item WHERE shipment_id = $1)",
                1, p, reason, NULL);
    return r < 0 ? r : 0;
}

int store_shipments_lose(PGconn *conn, const char *id, char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {id};

    return run(conn, "shipment lost",
               "UPDATE shipment SET status = 'lost', lost_at = clock_now() WHERE id = $1", 1, p, reason,
               NULL);
}

void store_ids_free(struct store_ids *ids)
{
    if (!ids)
        return;
    free(ids->id);
    ids->id = NULL;
    ids->n = 0;
}

int store_shipments_lose_cards(PGconn *conn, const char *shipment_or_card, struct store_ids *ret,
                               char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {shipment_or_card};
    PGresult *res = NULL;
    int r;

    r = run(conn, "cards lost in transit",
            "UPDATE card SET status = 'lost_in_transit', blacklisted_at = clock_now() WHERE status = "
            "'in_transit' AND "
            "(card_number = $1 OR card_number IN (SELECT card_number FROM shipment_item WHERE "
            "shipment_id = $1)) "
            "RETURNING application_id",
            1, p, reason, &res);
    if (r < 0)
        return r;
    ret->n = 0;
    ret->id = r > 0 ? calloc((size_t)r, sizeof(*ret->id)) : NULL;
    if (r > 0 && !ret->id) {
        PQclear(res);
        return PRODUCER_ERROR_NOMEM;
    }
    for (int i = 0; i < r; i++)
        snprintf(ret->id[i], sizeof(ret->id[i]), "%s", PQgetvalue(res, i, 0));
    ret->n = r;
    PQclear(res);
    return r;
}

int store_shipments_requeue(PGconn *conn, const char *application_id, char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {application_id};

    return run(conn, "requeue application",
               "UPDATE application SET status = 'pending', priority = 0, attempts = 0, produced_at = NULL, "
               "  updated_at = clock_now() WHERE id = $1 AND status = 'produced'",
               1, p, reason, NULL);
}

/* --- cards at the outlet -------------------------------------------------------------------------------- */

int store_shipments_card_holder(PGconn *conn, const char *card_number, struct store_card_holder *ret,
                                char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {card_number};
    PGresult *res = NULL;
    int r = run(
        conn, "lock card for collection",
        "SELECT c.status, upper(a.doc_number), a.kind, coalesce(a.replaced_card_number, ''), a.id "
        "FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = $1 FOR UPDATE OF c",
        1, p, reason, &res);

    if (r < 0)
        return r;
    if (r == 0) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    snprintf(ret->status, sizeof(ret->status), "%s", PQgetvalue(res, 0, 0));
    snprintf(ret->doc_upper, sizeof(ret->doc_upper), "%s", PQgetvalue(res, 0, 1));
    snprintf(ret->kind, sizeof(ret->kind), "%s", PQgetvalue(res, 0, 2));
    snprintf(ret->replaced_card, sizeof(ret->replaced_card), "%s", PQgetvalue(res, 0, 3));
    snprintf(ret->application_id, sizeof(ret->application_id), "%s", PQgetvalue(res, 0, 4));
    PQclear(res);
    return 0;
}

int store_shipments_hand_in(PGconn *conn, const char *old_card, char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {old_card};

    return run(conn, "old card handed in",
               "UPDATE card SET status = 'returned' WHERE card_number = $1 AND status = 'issued'", 1, p,
               reason, NULL);
}

int store_shipments_collect(PGconn *conn, const struct store_collection *c, char reason[STORE_REASON_SIZE])
{
    const char *p_col[11] = {c->card_number,
                             c->collected_by,
                             c->agent_name,
                             c->agent_doc_type,
                             c->agent_doc_masked,
                             c->actor,
                             c->activate ? NULL : c->activation_skipped,
                             c->poa_reference,
                             c->poa_scan_hex,
                             c->temporary_card,
                             c->temporary_card ? (c->temporary_returned ? "t" : "f") : NULL};
    const char *p_act[2] = {c->card_number, c->activate ? "t" : "f"};
    int r = run(conn, "record collection",
                "INSERT INTO collection (card_number, collected_by, agent_name, agent_doc_type, "
                "  agent_doc_masked, actor, activation_skipped, poa_reference, poa_scan, poa_scan_sha256, "
                "  temporary_card, temporary_returned) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::bytea, "
                "  encode(sha256($9::bytea), 'hex'), $10, $11::boolean)",
                11, p_col, reason, NULL);

    if (r >= 0)
        r = run(conn, "issue card",
                "UPDATE card SET status = 'issued', collected_at = clock_now(), "
                "  activated_at = CASE WHEN $2::boolean THEN clock_now() END WHERE card_number = $1",
                2, p_act, reason, NULL);
    return r < 0 ? r : 0;
}

int store_shipments_temporary_of(PGconn *conn, const char *card_number, char ret_card[16],
                                 char ret_status[16], char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {card_number};
    PGresult *res = NULL;
    int r = run(conn, "the holder's temporary card",
                "SELECT t.card_number, t.status FROM card t "
                "WHERE t.person_key = (SELECT person_key FROM card WHERE card_number = $1) AND t.temporary "
                "  AND t.status IN ('issued', 'return_due') "
                "ORDER BY t.status = 'issued' DESC, t.card_number DESC LIMIT 1 FOR UPDATE",
                1, p, reason, &res);

    if (r <= 0) {
        if (r == 0)
            PQclear(res);
        return r;
    }
    snprintf(ret_card, 16, "%s", PQgetvalue(res, 0, 0));
    snprintf(ret_status, 16, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return 1;
}

int store_shipments_temporary_settle(PGconn *conn, const char *temporary_card, bool returned,
                                     char reason[STORE_REASON_SIZE])
{
    const char *p[2] = {temporary_card, returned ? "t" : "f"};

    /* one due back already (expired) stays due back unless it is handed in now */
    return run(conn, "settle the temporary card",
               "UPDATE card SET status = CASE WHEN $2::boolean THEN 'returned' ELSE 'return_due' END, "
               "  return_due_reason = coalesce(return_due_reason, 'card collected') "
               "WHERE card_number = $1 AND temporary "
               "  AND (status = 'issued' OR status = 'return_due' AND $2::boolean)",
               2, p, reason, NULL);
}

int store_shipments_card_state(PGconn *conn, const char *card_number, char ret_status[16],
                               bool *ret_activated, char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {card_number};
    PGresult *res = NULL;
    int r = run(conn, "lock card",
                "SELECT status, activated_at IS NOT NULL FROM card WHERE card_number = $1 FOR UPDATE", 1, p,
                reason, &res);

    if (r < 0)
        return r;
    if (r == 0) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    snprintf(ret_status, 16, "%s", PQgetvalue(res, 0, 0));
    *ret_activated = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    return 0;
}

int store_shipments_activate(PGconn *conn, const char *card_number, char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {card_number};
    int r = run(conn, "activate card", "UPDATE card SET activated_at = clock_now() WHERE card_number = $1", 1,
                p, reason, NULL);

    return r < 0 ? r : 0;
}

int store_shipments_return(PGconn *conn, const char *card_number, char reason[STORE_REASON_SIZE])
{
    const char *p[1] = {card_number};

    /* the custody trigger refuses a card that has not waited the configured period, with the dates */
    return run(conn, "return card", "UPDATE card SET status = 'uncollected' WHERE card_number = $1", 1, p,
               reason, NULL);
}

/* --- papers --------------------------------------------------------------------------------------------- */

int store_shipments_label(PGconn *conn, const char *id, struct store_shipment_label *ret)
{
    const char *p[1] = {id};
    PGresult *res =
        db_exec(conn,
                "SELECT s.id, s.outlet_code, o.name, o.county, s.status, coalesce(to_char(s.sealed_at AT "
                "TIME ZONE (SELECT value FROM setting WHERE key = 'bureau_timezone'), 'YYYY-MM-DD HH24:MI'), "
                "''), (SELECT count(*) FROM shipment_item i WHERE i.shipment_id = s.id) "
                "FROM shipment s JOIN outlet o ON o.code = s.outlet_code WHERE s.id = $1",
                1, p);
    int r = 0;

    if (!db_ok(res)) {
        log_debug("store", "shipment label: %s", PQresultErrorMessage(res));
        r = PRODUCER_ERROR_DB;
    } else if (PQntuples(res) != 1) {
        r = PRODUCER_ERROR_NOT_FOUND;
    } else {
        snprintf(ret->id, sizeof(ret->id), "%s", PQgetvalue(res, 0, 0));
        snprintf(ret->outlet, sizeof(ret->outlet), "%s", PQgetvalue(res, 0, 1));
        snprintf(ret->outlet_name, sizeof(ret->outlet_name), "%s", PQgetvalue(res, 0, 2));
        snprintf(ret->county, sizeof(ret->county), "%s", PQgetvalue(res, 0, 3));
        snprintf(ret->status, sizeof(ret->status), "%s", PQgetvalue(res, 0, 4));
        snprintf(ret->sealed_at, sizeof(ret->sealed_at), "%s", PQgetvalue(res, 0, 5));
        ret->cards = atoi(PQgetvalue(res, 0, 6));
    }
    PQclear(res);
    return r;
}

/* Copy a result's rows into cards; cols maps each field (-1: not selected) to a column. */
struct card_cols {
    int outlet, shipment, shipment_status, card_number, card_status, application, name, ssn, packed_at;
};

static void copy_col(PGresult *res, int row, int col, char *out, size_t size)
{
    snprintf(out, size, "%s", col >= 0 ? PQgetvalue(res, row, col) : "");
}

static int card_rows(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
                     const struct card_cols *cols, struct store_shipment_card **ret, int *ret_n)
{
    PGresult *res = db_exec(conn, sql, n, params);
    struct store_shipment_card *rows;
    int count;

    if (!db_ok(res)) {
        log_debug("store", "%s: %s", what, PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    count = PQntuples(res);
    rows = calloc(count > 0 ? (size_t)count : 1, sizeof(*rows));
    if (!rows) {
        PQclear(res);
        return PRODUCER_ERROR_NOMEM;
    }
    for (int i = 0; i < count; i++) {
        struct store_shipment_card *c = &rows[i];
        copy_col(res, i, cols->outlet, c->outlet, sizeof(c->outlet));
        copy_col(res, i, cols->shipment, c->shipment, sizeof(c->shipment));
        copy_col(res, i, cols->shipment_status, c->shipment_status, sizeof(c->shipment_status));
        copy_col(res, i, cols->card_number, c->card_number, sizeof(c->card_number));
        copy_col(res, i, cols->card_status, c->card_status, sizeof(c->card_status));
        copy_col(res, i, cols->application, c->application, sizeof(c->application));
        copy_col(res, i, cols->name, c->name, sizeof(c->name));
        copy_col(res, i, cols->ssn, c->ssn, sizeof(c->ssn));
        copy_col(res, i, cols->packed_at, c->packed_at, sizeof(c->packed_at));
    }
    PQclear(res);
    *ret = rows;
    *ret_n = count;
    return 0;
}

int store_shipments_manifest(PGconn *conn, const char *id, struct store_shipment_card **ret, int *ret_n)
{
    static const struct card_cols cols = {.outlet = -1,
                                          .shipment = -1,
                                          .shipment_status = -1,
                                          .card_number = 0,
                                          .application = 1,
                                          .name = 2,
                                          .ssn = 3,
                                          .card_status = 4,
                                          .packed_at = -1};
    const char *p[1] = {id};

    return card_rows(
        conn, "manifest",
        "SELECT i.card_number, a.upstream_id, a.name, a.ssn, c.status FROM shipment_item i "
        "JOIN card c ON c.card_number = i.card_number JOIN application a ON a.id = c.application_id "
        "WHERE i.shipment_id = $1 ORDER BY i.card_number",
        1, p, &cols, ret, ret_n);
}

int store_shipments_export(PGconn *conn, struct store_shipment_card **ret, int *ret_n)
{
    static const struct card_cols cols = {.outlet = 0,
                                          .shipment = 1,
                                          .shipment_status = 2,
                                          .card_number = 3,
                                          .application = 4,
                                          .name = 5,
                                          .ssn = 6,
                                          .packed_at = 7,
                                          .card_status = -1};

    return card_rows(
        conn, "shipment export",
        "SELECT s.outlet_code, s.id, s.status, i.card_number, a.upstream_id, a.name, a.ssn, "
        "  to_char(bureau_time(i.added_at), 'YYYY-MM-DD HH24:MI') "
        "FROM shipment s JOIN shipment_item i ON i.shipment_id = s.id "
        "JOIN card c ON c.card_number = i.card_number JOIN application a ON a.id = c.application_id "
        "ORDER BY s.outlet_code, s.id, i.card_number",
        0, NULL, &cols, ret, ret_n);
}
