/* tracking.c — SQL of the read models of shipments and cards on their way, built into the json objects the
 * CLI and the web print; holder data masked here, before anything leaves the store */
#include "store/tracking.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *str_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : json_object_new_string(PQgetvalue(res, row, col));
}

/* expected arrival: the bureau date of dispatch plus the outlet's transit working days (NULL past the
 * calendar) */
#define SQL_EXPECTED                                                                                         \
    "CASE WHEN s.dispatched_at IS NOT NULL AND extract(year FROM s.dispatched_at)::integer IN "              \
    "(SELECT year FROM calendar_year) AND extract(year FROM s.dispatched_at)::integer + 1 IN "               \
    "(SELECT year FROM calendar_year) THEN add_working_days(bureau_date(s.dispatched_at), "                  \
    "o.transit_days)::text END"
#define SQL_LOCAL(col) "to_char(bureau_time(" col "), 'YYYY-MM-DD HH24:MI')"

static json_object *shipment_row(PGresult *res, int i)
{
    json_object *o = json_object_new_object();
    static const char *const keys[] = {
        "id",        "outlet",      "outlet_name",   "status",      "cards",       "created_at",
        "sealed_at", "seal_reason", "dispatched_at", "received_at", "received_by", "expected_arrival"};

    for (int c = 0; c < 12; c++) {
        if (c == 4)
            json_object_object_add(o, keys[c], json_object_new_int64(atoll(PQgetvalue(res, i, c))));
        else
            json_object_object_add(o, keys[c], str_or_null(res, i, c));
    }
    return o;
}

#define SQL_SHIPMENT_COLS                                                                                    \
    "s.id, s.outlet_code, o.name, s.status, (SELECT count(*) FROM shipment_item i WHERE i.shipment_id = "    \
    "s.id), " SQL_LOCAL("s.created_at") ", " SQL_LOCAL("s.sealed_at") ", s.seal_reason, " SQL_LOCAL(         \
        "s.dispatched_at") " AS dispatched_at, " SQL_LOCAL("s.received_at") ", s.received_by, " SQL_EXPECTED \
                                                                            " AS expected_arrival "

int store_tracking_shipments_json(PGconn *conn, const char *status, const char *outlet, int limit,
                                  json_object **ret)
{
    char lim[16];
    const char *p[3] = {status && *status ? status : NULL, outlet && *outlet ? outlet : NULL, lim};
    PGresult *res;
    json_object *a;

    snprintf(lim, sizeof(lim), "%d", limit > 0 && limit <= 1000 ? limit : 200);
    res = store_query(
        conn, "tracking",
        "SELECT " SQL_SHIPMENT_COLS "FROM shipment s JOIN outlet o ON o.code = s.outlet_code "
        "WHERE ($1::text IS NULL OR s.status = $1) AND ($2::text IS NULL OR s.outlet_code = $2) "
        "ORDER BY CASE s.status WHEN 'open' THEN 0 WHEN 'sealed' THEN 1 WHEN 'dispatched' THEN 2 ELSE 3 END, "
        "  s.created_at DESC, s.id DESC LIMIT $3::integer",
        3, p);
    if (!res)
        return PRODUCER_ERROR_DB;
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_object_array_add(a, shipment_row(res, i));
    PQclear(res);
    *ret = a;
    return 0;
}

int store_tracking_shipment_json(PGconn *conn, const char *shipment_id, json_object **ret)
{
    const char *p[1] = {shipment_id};
    PGresult *res, *cards;
    json_object *o, *a;

    res = store_query(conn, "tracking",
                      "SELECT " SQL_SHIPMENT_COLS "FROM shipment s JOIN outlet o ON o.code = s.outlet_code "
                      "WHERE s.id = $1",
                      1, p);
    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    cards = store_query(
        conn, "tracking",
        "SELECT i.card_number, c.status, a.upstream_id, a.name, a.ssn, " SQL_LOCAL(
            "i.added_at") ", c.bank_account_masked, c.bank_name_written FROM shipment_item i JOIN card c ON "
                          "c.card_number = i.card_number "
                          "JOIN application a ON a.id = c.application_id WHERE i.shipment_id = $1 "
                          "ORDER BY i.card_number",
        1, p);
    if (!cards) {
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    o = shipment_row(res, 0);
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(cards); i++) {
        json_object *c = json_object_new_object();
        char name[256], ssn[48];
        producer_mask_name(PQgetvalue(cards, i, 3), name, sizeof(name));
        producer_mask_doc(PQgetvalue(cards, i, 4), ssn, sizeof(ssn));
        json_object_object_add(c, "card_number", json_object_new_string(PQgetvalue(cards, i, 0)));
        json_object_object_add(c, "status", json_object_new_string(PQgetvalue(cards, i, 1)));
        json_object_object_add(c, "application", json_object_new_string(PQgetvalue(cards, i, 2)));
        json_object_object_add(c, "holder", json_object_new_string(name));
        json_object_object_add(c, "ssn", json_object_new_string(ssn));
        json_object_object_add(c, "packed_at", json_object_new_string(PQgetvalue(cards, i, 5)));
        /* the bank application's account, masked (first 6 / last 4); null when the card carries none */
        json_object_object_add(c, "bank_account", str_or_null(cards, i, 6));
        json_object_object_add(c, "bank", str_or_null(cards, i, 7));
        json_object_array_add(a, c);
    }
    json_object_object_add(o, "items", a);
    PQclear(res);
    PQclear(cards);
    *ret = o;
    return 0;
}

int store_tracking_overdue_json(PGconn *conn, json_object **ret)
{
    PGresult *ships, *late;
    json_object *o, *a, *b;

    ships = store_query(conn, "tracking",
                        "SELECT * FROM (SELECT " SQL_SHIPMENT_COLS
                        "FROM shipment s JOIN outlet o ON o.code = s.outlet_code "
                        "WHERE s.status = 'dispatched') x WHERE expected_arrival IS NULL OR "
                        "expected_arrival::date < bureau_date(clock_now()) ORDER BY dispatched_at",
                        0, NULL);
    late =
        store_query(conn, "tracking",
                    "SELECT c.card_number, c.status, a.upstream_id, a.outlet_code, a.deadline::text, a.name "
                    "FROM card c JOIN application a ON a.id = c.application_id "
                    "WHERE c.status IN ('good', 'in_transit') AND a.deadline < bureau_date(clock_now()) "
                    "ORDER BY a.deadline, c.card_number LIMIT 500",
                    0, NULL);
    if (!ships || !late) {
        PQclear(ships);
        PQclear(late);
        return PRODUCER_ERROR_DB;
    }
    o = json_object_new_object();
    a = json_object_new_array();
    b = json_object_new_array();
    for (int i = 0; i < PQntuples(ships); i++)
        json_object_array_add(a, shipment_row(ships, i));
    for (int i = 0; i < PQntuples(late); i++) {
        json_object *c = json_object_new_object();
        char name[256];
        producer_mask_name(PQgetvalue(late, i, 5), name, sizeof(name));
        json_object_object_add(c, "card_number", json_object_new_string(PQgetvalue(late, i, 0)));
        json_object_object_add(c, "status", json_object_new_string(PQgetvalue(late, i, 1)));
        json_object_object_add(c, "application", json_object_new_string(PQgetvalue(late, i, 2)));
        json_object_object_add(c, "outlet", json_object_new_string(PQgetvalue(late, i, 3)));
        json_object_object_add(c, "deadline", json_object_new_string(PQgetvalue(late, i, 4)));
        json_object_object_add(c, "holder", json_object_new_string(name));
        json_object_array_add(b, c);
    }
    json_object_object_add(o, "shipments", a);
    json_object_object_add(o, "late_cards", b);
    PQclear(ships);
    PQclear(late);
    *ret = o;
    return 0;
}

int store_tracking_uncollected_json(PGconn *conn, bool due_only, json_object **ret)
{
    const char *p[1] = {due_only ? "t" : "f"};
    PGresult *res;
    json_object *a;

    res = store_query(
        conn, "tracking",
        "SELECT c.card_number, a.upstream_id, s.outlet_code, a.name, " SQL_LOCAL(
            "s.received_at") ", "
                             "  (s.received_at + make_interval(months => (SELECT value::integer FROM setting "
                             "     WHERE key = 'uncollected_return_months')) <= clock_now()) AS due, s.id "
                             "FROM card c JOIN application a ON a.id = c.application_id "
                             "JOIN shipment_item i ON i.card_number = c.card_number JOIN shipment s ON s.id "
                             "= i.shipment_id "
                             "WHERE c.status = 'at_outlet' AND (NOT $1::boolean OR s.received_at + "
                             "make_interval(months => "
                             "  (SELECT value::integer FROM setting WHERE key = "
                             "'uncollected_return_months')) <= clock_now()) "
                             "ORDER BY s.received_at, c.card_number LIMIT 1000",
        1, p);
    if (!res)
        return PRODUCER_ERROR_DB;
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *c = json_object_new_object();
        char name[256];
        producer_mask_name(PQgetvalue(res, i, 3), name, sizeof(name));
        json_object_object_add(c, "card_number", json_object_new_string(PQgetvalue(res, i, 0)));
        json_object_object_add(c, "application", json_object_new_string(PQgetvalue(res, i, 1)));
        json_object_object_add(c, "outlet", json_object_new_string(PQgetvalue(res, i, 2)));
        json_object_object_add(c, "holder", json_object_new_string(name));
        json_object_object_add(c, "received_at", json_object_new_string(PQgetvalue(res, i, 4)));
        json_object_object_add(c, "due_for_return", json_object_new_boolean(PQgetvalue(res, i, 5)[0] == 't'));
        json_object_object_add(c, "shipment", json_object_new_string(PQgetvalue(res, i, 6)));
        json_object_array_add(a, c);
    }
    PQclear(res);
    *ret = a;
    return 0;
}

static void copy_str(PGresult *res, int col, char *out, size_t size)
{
    snprintf(out, size, "%s", PQgetvalue(res, 0, col));
}

int store_tracking_find(PGconn *conn, const char *upstream_id, struct store_tracking_app *ret)
{
    const char *p[1] = {upstream_id};
    PGresult *app;

    app = store_query(
        conn, "tracking",
        "SELECT a.id, a.upstream_id, a.status, a.name, a.doc_number, a.outlet_code, o.name, "
        "a.deadline::text, "
        "  " SQL_LOCAL("a.accepted_at") ", "
                                        "  (SELECT c.card_number FROM card c WHERE c.application_id = a.id "
                                        "AND c.status NOT IN "
                                        "    ('spoiled', 'unused') ORDER BY c.created_at DESC LIMIT 1), "
                                        "  (SELECT c.status FROM card c WHERE c.application_id = a.id AND "
                                        "c.status NOT IN "
                                        "    ('spoiled', 'unused') ORDER BY c.created_at DESC LIMIT 1) "
                                        "FROM application a LEFT JOIN outlet o ON o.code = a.outlet_code "
                                        "WHERE a.upstream_id = $1",
        1, p);
    if (!app)
        return PRODUCER_ERROR_DB;
    if (PQntuples(app) != 1) {
        PQclear(app);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    copy_str(app, 0, ret->id, sizeof(ret->id));
    copy_str(app, 1, ret->upstream_id, sizeof(ret->upstream_id));
    copy_str(app, 2, ret->status, sizeof(ret->status));
    copy_str(app, 3, ret->name, sizeof(ret->name));
    copy_str(app, 4, ret->doc, sizeof(ret->doc));
    copy_str(app, 5, ret->outlet, sizeof(ret->outlet));
    copy_str(app, 6, ret->outlet_name, sizeof(ret->outlet_name));
    copy_str(app, 7, ret->deadline, sizeof(ret->deadline));
    copy_str(app, 8, ret->accepted_at, sizeof(ret->accepted_at));
    copy_str(app, 9, ret->card_number, sizeof(ret->card_number));
    copy_str(app, 10, ret->card_status, sizeof(ret->card_status));
    PQclear(app);
    return 0;
}

/* "" stands for NULL in struct store_tracking_app (none of these columns can hold an empty text) */
static json_object *text_or_null(const char *s)
{
    return s[0] ? json_object_new_string(s) : NULL;
}

int store_tracking_json(PGconn *conn, const struct store_tracking_app *app, json_object **ret)
{
    const char *p[1] = {app->id};
    PGresult *ev;
    json_object *o, *a;
    char name[256], doc[48];

    ev = store_query(
        conn, "tracking",
        "SELECT kind, " SQL_LOCAL(
            "e.at") ", coalesce(e.card_number, ''), coalesce(e.shipment_id, '') "
                    "FROM event e WHERE e.application_id = $1::bigint OR (e.card_number IS NULL AND "
                    "e.shipment_id IN "
                    "(SELECT i.shipment_id FROM shipment_item i JOIN card c ON c.card_number = i.card_number "
                    "WHERE c.application_id = $1::bigint)) ORDER BY e.at, e.id LIMIT 200",
        1, p);
    if (!ev)
        return PRODUCER_ERROR_DB;
    producer_mask_name(app->name, name, sizeof(name));
    producer_mask_doc(app->doc, doc, sizeof(doc));
    o = json_object_new_object();
    json_object_object_add(o, "application", json_object_new_string(app->upstream_id));
    json_object_object_add(o, "status", json_object_new_string(app->status));
    json_object_object_add(o, "holder", json_object_new_string(name));
    json_object_object_add(o, "document", json_object_new_string(doc));
    json_object_object_add(o, "outlet", json_object_new_string(app->outlet));
    json_object_object_add(o, "outlet_name", text_or_null(app->outlet_name));
    json_object_object_add(o, "deadline", text_or_null(app->deadline));
    json_object_object_add(o, "accepted_at", json_object_new_string(app->accepted_at));
    json_object_object_add(o, "card_number", text_or_null(app->card_number));
    json_object_object_add(o, "card_status", text_or_null(app->card_status));
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(ev); i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "kind", json_object_new_string(PQgetvalue(ev, i, 0)));
        json_object_object_add(e, "at", json_object_new_string(PQgetvalue(ev, i, 1)));
        if (PQgetvalue(ev, i, 2)[0])
            json_object_object_add(e, "card_number", json_object_new_string(PQgetvalue(ev, i, 2)));
        if (PQgetvalue(ev, i, 3)[0])
            json_object_object_add(e, "shipment", json_object_new_string(PQgetvalue(ev, i, 3)));
        json_object_array_add(a, e);
    }
    json_object_object_add(o, "events", a);
    PQclear(ev);
    *ret = o;
    return 0;
}
