/* reads.c (store) — the SQL of the read models operators, auditors and studios look at, built into the JSON
 * objects the CLI prints and the web answers */
#include "store/reads.h"

#include "base/log.h"
#include "store/stock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows as an array of objects named by the columns; columns whose name ends in "_masked_name" or
 * "_masked_doc" are masked on the way out, numbers stay numbers when the column name starts with "n_",
 * booleans when it starts with "b_". */
static json_object *rows_json(PGresult *res)
{
    json_object *a = json_object_new_array();

    for (int i = 0; i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        for (int f = 0; f < PQnfields(res); f++) {
            const char *name = PQfname(res, f), *v = PQgetvalue(res, i, f);
            size_t nl = strlen(name);
            char masked[256], key[64];
            if (PQgetisnull(res, i, f)) {
                json_object_object_add(o, name, NULL);
            } else if (nl > 12 && strcmp(name + nl - 12, "_masked_name") == 0) {
                producer_mask_name(v, masked, sizeof(masked));
                snprintf(key, sizeof(key), "%.*s", (int)(nl - 12), name);
                json_object_object_add(o, key, json_object_new_string(masked));
            } else if (nl > 11 && strcmp(name + nl - 11, "_masked_doc") == 0) {
                producer_mask_doc(v, masked, sizeof(masked));
                snprintf(key, sizeof(key), "%.*s", (int)(nl - 11), name);
                json_object_object_add(o, key, json_object_new_string(masked));
            } else if (strncmp(name, "n_", 2) == 0) {
                json_object_object_add(o, name + 2, json_object_new_int64(atoll(v)));
            } else if (strncmp(name, "b_", 2) == 0) {
                json_object_object_add(o, name + 2, json_object_new_boolean(v[0] == 't'));
            } else {
                json_object_object_add(o, name, json_object_new_string(v));
            }
        }
        json_object_array_add(a, o);
    }
    return a;
}

static int rows(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
                json_object **ret)
{
    PGresult *res = store_query(conn, what, sql, n, params);

    if (!res)
        return PRODUCER_ERROR_DB;
    *ret = rows_json(res);
    PQclear(res);
    return 0;
}

/* {VALUE of column 0: number in column 1} */
static json_object *counts_json(PGresult *res)
{
    json_object *o = json_object_new_object();

    for (int i = 0; i < PQntuples(res); i++)
        json_object_object_add(o, PQgetvalue(res, i, 0), json_object_new_int64(atoll(PQgetvalue(res, i, 1))));
    return o;
}

static json_object *by_status(PGresult *res)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "by_status", counts_json(res));
    return o;
}

/* --- lines and status ----------------------------------------------------------------------------------- */

/* every line's cards by status (store/stock.h's rule), whatever the line's own counters say */
static const char *const sql_lines =
    "SELECT l.id AS line, l.state, coalesce(l.state_reason, '') AS reason, "
    "  coalesce(l.controller, '') AS controller, coalesce(l.printer, '') AS printer, "
    "  coalesce(l.encoder, '') AS encoder, "
    "  coalesce(to_char(bureau_time(l.heartbeat_at), 'YYYY-MM-DD HH24:MI'), '') AS heartbeat, "
    "  count(k.card_number) FILTER (WHERE k.status NOT IN " STORE_CARD_NOT_GOOD ") AS n_good, "
    "  count(k.card_number) FILTER (WHERE k.status = 'spoiled') AS n_spoiled, "
    "  count(k.card_number) FILTER (WHERE k.status IN " STORE_CARD_IN_MACHINE ") AS n_in_machine, "
    "  count(k.card_number) FILTER (WHERE k.finished_at > clock_now() - interval '1 hour' "
    "    AND k.status <> 'spoiled') AS n_last_hour "
    "FROM line l LEFT JOIN card k ON k.line_id = l.id GROUP BY l.id ORDER BY l.id";

int store_reads_lines(PGconn *conn, json_object **ret)
{
    return rows(conn, "lines", sql_lines, 0, NULL, ret);
}

static const char *const sql_apps =
    "SELECT status, count(*) FROM application GROUP BY status ORDER BY status";
static const char *const sql_cards = "SELECT status, count(*) FROM card WHERE application_id IS NOT NULL "
                                     "GROUP BY status ORDER BY status";
static const char *const sql_shipments =
    "SELECT o.code, o.name, o.kind, count(DISTINCT s.id) FILTER (WHERE s.status = 'open'), "
    "count(i.card_number), "
    "  coalesce(max(s.id) FILTER (WHERE s.status = 'open'), '') "
    "FROM outlet o LEFT JOIN shipment s ON s.outlet_code = o.code "
    "LEFT JOIN shipment_item i ON i.shipment_id = s.id GROUP BY o.code, o.name, o.kind ORDER BY o.code";
static const char *const sql_shipment_status =
    "SELECT status, count(*) FROM shipment GROUP BY status ORDER BY status";
/* the working days left before each open application's deadline */
static const char *const sql_deadlines =
    "SELECT id, upstream_id, status, deadline, "
    "  CASE WHEN deadline IS NOT NULL AND extract(year FROM deadline)::integer IN (SELECT year FROM "
    "calendar_year) "
    "       THEN working_days_between(bureau_date(clock_now()), deadline) END, coalesce(deadline_problem, "
    "'') "
    "FROM application WHERE status IN ('pending', 'in_production', 'held') "
    "ORDER BY deadline NULLS FIRST, id LIMIT 10";

static json_object *shipments_json(PGresult *ships)
{
    json_object *s = json_object_new_array();

    for (int i = 0; i < PQntuples(ships); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "outlet", json_object_new_string(PQgetvalue(ships, i, 0)));
        json_object_object_add(o, "name", json_object_new_string(PQgetvalue(ships, i, 1)));
        json_object_object_add(o, "kind", json_object_new_string(PQgetvalue(ships, i, 2)));
        json_object_object_add(o, "open_shipment",
                               PQgetvalue(ships, i, 5)[0] ? json_object_new_string(PQgetvalue(ships, i, 5))
                                                          : NULL);
        json_object_object_add(o, "cards", json_object_new_int64(atoll(PQgetvalue(ships, i, 4))));
        json_object_array_add(s, o);
    }
    return s;
}

static json_object *deadlines_json(PGresult *dl)
{
    json_object *d = json_object_new_array();

    for (int i = 0; i < PQntuples(dl); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "application", json_object_new_int64(atoll(PQgetvalue(dl, i, 0))));
        json_object_object_add(o, "upstream_id", json_object_new_string(PQgetvalue(dl, i, 1)));
        json_object_object_add(o, "status", json_object_new_string(PQgetvalue(dl, i, 2)));
        json_object_object_add(o, "deadline",
                               PQgetisnull(dl, i, 3) ? NULL : json_object_new_string(PQgetvalue(dl, i, 3)));
        json_object_object_add(o, "working_days_left",
                               PQgetisnull(dl, i, 4) ? NULL
                                                     : json_object_new_int(atoi(PQgetvalue(dl, i, 4))));
        if (PQgetvalue(dl, i, 5)[0])
            json_object_object_add(o, "deadline_problem", json_object_new_string(PQgetvalue(dl, i, 5)));
        json_object_array_add(d, o);
    }
    return d;
}

int store_reads_status(PGconn *conn, json_object **ret)
{
    PGresult *apps = store_query(conn, "applications by status", sql_apps, 0, NULL);
    PGresult *cards = apps ? store_query(conn, "cards by status", sql_cards, 0, NULL) : NULL;
    PGresult *ships = cards ? store_query(conn, "shipments per outlet", sql_shipments, 0, NULL) : NULL;
    PGresult *sst = ships ? store_query(conn, "shipments by status", sql_shipment_status, 0, NULL) : NULL;
    PGresult *dl = sst ? store_query(conn, "nearest deadlines", sql_deadlines, 0, NULL) : NULL;
    json_object *lines = NULL, *held = NULL, *o;
    int r = PRODUCER_ERROR_DB;

    if (!dl || store_reads_lines(conn, &lines) < 0 || store_reads_held(conn, &held) < 0)
        goto out;
    o = json_object_new_object();
    json_object_object_add(o, "applications", by_status(apps));
    json_object_object_add(o, "cards", by_status(cards));
    json_object_object_add(o, "shipments", shipments_json(ships));
    json_object_object_add(o, "shipments_by_status", counts_json(sst));
    json_object_object_add(o, "nearest_deadlines", deadlines_json(dl));
    json_object_object_add(o, "lines", lines);
    json_object_object_add(o, "held", held);
    lines = held = NULL;
    *ret = o;
    r = 0;
out:
    json_object_put(lines);
    json_object_put(held);
    PQclear(apps);
    PQclear(cards);
    PQclear(ships);
    PQclear(sst);
    PQclear(dl);
    return r;
}

/* --- applications --------------------------------------------------------------------------------------- */

int store_reads_held(PGconn *conn, json_object **ret)
{
    return rows(conn, "held applications",
                "SELECT upstream_id AS application, name AS holder_masked_name, outlet_code AS outlet, "
                "  held_reason AS reason, to_char(bureau_time(held_since), 'YYYY-MM-DD HH24:MI') AS since "
                "FROM application WHERE status = 'held' ORDER BY held_since, id LIMIT 200",
                0, NULL, ret);
}

int store_reads_queue(PGconn *conn, json_object **ret)
{
    return rows(conn, "queue",
                "SELECT upstream_id AS application, kind, name AS holder_masked_name, outlet_code AS outlet, "
                "  priority AS n_priority, status, coalesce(deadline::text, '') AS deadline, "
                "  coalesce(deadline_problem, '') AS deadline_problem "
                "FROM application WHERE status IN ('pending', 'in_production') "
                "ORDER BY priority, latest_completion NULLS FIRST, id LIMIT 100",
                0, NULL, ret);
}

/* at risk: open and its deadline within setting at_risk_working_days working days, or unknown */
#define SQL_AT_RISK_WHERE                                                                                    \
    "status IN ('pending', 'in_production', 'held') AND (deadline IS NULL OR "                               \
    " (extract(year FROM deadline)::integer IN (SELECT year FROM calendar_year) AND "                        \
    "  extract(year FROM clock_now())::integer IN (SELECT year FROM calendar_year) AND "                     \
    "  working_days_between(bureau_date(clock_now()), deadline) <= "                                         \
    "  (SELECT value::integer FROM setting WHERE key = 'at_risk_working_days')))"

int store_reads_at_risk(PGconn *conn, json_object **ret)
{
    return rows(
        conn, "at-risk applications",
        "SELECT upstream_id AS application, status, name AS holder_masked_name, outlet_code AS outlet, "
        "  coalesce(deadline::text, '') AS deadline, "
        "  CASE WHEN deadline IS NOT NULL AND extract(year FROM deadline)::integer IN "
        "    (SELECT year FROM calendar_year) AND extract(year FROM clock_now())::integer IN "
        "    (SELECT year FROM calendar_year) THEN working_days_between(bureau_date(clock_now()), deadline) "
        "END "
        "    AS working_days_left, "
        "  coalesce(held_reason, deadline_problem, '') AS reason "
        "FROM application WHERE " SQL_AT_RISK_WHERE " ORDER BY deadline NULLS FIRST, id LIMIT 200",
        0, NULL, ret);
}

int store_reads_spoiled(PGconn *conn, json_object **ret)
{
    return rows(conn, "spoiled cards",
                "SELECT card_number, coalesce(line_id, '') AS line, spoil_reason AS reason, "
                "  coalesce(to_char(bureau_time(finished_at), 'YYYY-MM-DD HH24:MI'), '') AS at "
                "FROM card WHERE status = 'spoiled' ORDER BY finished_at "
                "DESC NULLS LAST LIMIT 100",
                0, NULL, ret);
}

/* --- receipts and the audit trail ----------------------------------------------------------------------- */

int store_reads_receipts(PGconn *conn, const char *studio, json_object **ret)
{
    const char *p[1] = {studio};

    return rows(conn, "receipts",
                "SELECT number AS receipt_no, studio, verdict, warnings, profile, "
                "to_char(bureau_time(issued_at), 'YYYY-MM-DD HH24:MI') AS at, "
                "  valid_until::text AS valid_until, (revoked_at IS NOT NULL) AS b_revoked, sha256 "
                "FROM photo_receipt WHERE $1::text IS NULL OR studio = $1 "
                "ORDER BY issued_at DESC, number DESC LIMIT 200",
                1, p, ret);
}

int store_reads_receipt_photo(PGconn *conn, const char *sha256, const char *studio, uint8_t **ret_bytes,
                              size_t *ret_len)
{
    const char *p[2] = {sha256, studio};
    PGresult *res =
        store_query(conn, "receipted photo",
                    "SELECT bytes FROM photo WHERE sha256 = $1 AND studio = $2 ORDER BY id LIMIT 1", 2, p);
    unsigned char *bytes;
    size_t len = 0;
    int r = 0;

    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) == 1) {
        bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &len);
        r = PRODUCER_ERROR_NOMEM;
        if (bytes) {
            uint8_t *copy = malloc(len ? len : 1);
            if (copy) {
                memcpy(copy, bytes, len);
                *ret_bytes = copy;
                *ret_len = len;
                r = 1;
            }
            PQfreemem(bytes);
        }
    }
    PQclear(res);
    return r;
}

int store_reads_events(PGconn *conn, const char *before, const char *kind, json_object **ret)
{
    const char *p[2] = {before, kind};

    return rows(conn, "events",
                "SELECT id AS n_id, to_char(bureau_time(at), 'YYYY-MM-DD HH24:MI') AS at, actor, kind, "
                "  coalesce(application_id::text, '') AS application, coalesce(card_number, '') AS "
                "card_number, "
                "  coalesce(shipment_id, '') AS shipment, coalesce(detail, '') AS detail FROM event "
                "WHERE ($1::bigint IS NULL OR id < $1::bigint) AND ($2::text IS NULL OR kind = $2) "
                "ORDER BY id DESC LIMIT 200",
                2, p, ret);
}

/* --- metrics -------------------------------------------------------------------------------------------- */

int store_reads_metrics(PGconn *conn, json_object **ret)
{
    static const char *const names[10] = {"pending",        "in_production",    "held",
                                          "at_risk",        "spoiled_24h",      "finished_24h",
                                          "shipments_open", "shipments_sealed", "shipments_dispatched",
                                          "at_outlet"};
    PGresult *res = store_query(
        conn, "metrics",
        "SELECT (SELECT count(*) FROM application WHERE status = 'pending'), "
        "  (SELECT count(*) FROM application WHERE status = 'in_production'), "
        "  (SELECT count(*) FROM application WHERE status = 'held'), "
        "  (SELECT count(*) FROM application WHERE " SQL_AT_RISK_WHERE "), "
        "  (SELECT count(*) FROM card WHERE status = 'spoiled' AND finished_at > clock_now() - "
        "interval '1 day'), "
        "  (SELECT count(*) FROM card WHERE status NOT IN ('allocated', 'printing', 'encoding', "
        "     'ejecting', 'unused') AND application_id IS NOT NULL AND finished_at > clock_now() - "
        "interval '1 "
        "day'), "
        "  (SELECT count(*) FROM shipment WHERE status = 'open'), "
        "  (SELECT count(*) FROM shipment WHERE status = 'sealed'), "
        "  (SELECT count(*) FROM shipment WHERE status = 'dispatched'), "
        "  (SELECT count(*) FROM card WHERE status = 'at_outlet')",
        0, NULL);
    json_object *o, *lines = NULL;

    if (!res)
        return PRODUCER_ERROR_DB;
    if (store_reads_lines(conn, &lines) < 0) {
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    o = json_object_new_object();
    for (int i = 0; i < 10; i++)
        json_object_object_add(o, names[i], json_object_new_int64(atoll(PQgetvalue(res, 0, i))));
    json_object_object_add(o, "lines", lines);
    PQclear(res);
    *ret = o;
    return 0;
}

/* --- summary -------------------------------------------------------------------------------------------- */

static json_object *reasons_json(PGresult *res)
{
    json_object *a = json_object_new_array();

    for (int i = 0; i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "reason",
                               PQgetisnull(res, i, 0) ? NULL : json_object_new_string(PQgetvalue(res, i, 0)));
        json_object_object_add(o, "n", json_object_new_int64(atoll(PQgetvalue(res, i, 1))));
        json_object_array_add(a, o);
    }
    return a;
}

int store_reads_summary(PGconn *conn, json_object **ret)
{
    static const char *const names[6] = {"applications", "produced", "held",
                                         "queued",       "spoiled",  "blanks_used"};
    PGresult *totals, *held = NULL, *spoiled = NULL, *outlets = NULL, *margin = NULL;
    json_object *o, *a;
    int r = PRODUCER_ERROR_DB;

    totals = store_query(conn, "summary totals",
                         "SELECT count(*), count(*) FILTER (WHERE status = 'produced'), "
                         "  count(*) FILTER (WHERE status = 'held'), "
                         "  count(*) FILTER (WHERE status IN ('pending', 'in_production')), "
                         "  (SELECT count(*) FROM card WHERE status = 'spoiled'), "
                         "  (SELECT count(*) FROM stock_move WHERE kind = 'fed') - "
                         "  (SELECT count(*) FROM stock_move WHERE kind = 'unfed') "
                         "FROM application",
                         0, NULL);
    if (totals)
        held = store_query(conn, "held by reason",
                           "SELECT held_reason, count(*) FROM application WHERE status = 'held' "
                           "GROUP BY held_reason ORDER BY count(*) DESC, held_reason",
                           0, NULL);
    if (held)
        spoiled = store_query(conn, "spoiled by reason",
                              "SELECT spoil_reason, count(*) FROM card WHERE status = 'spoiled' "
                              "GROUP BY spoil_reason ORDER BY count(*) DESC",
                              0, NULL);
    if (spoiled)
        outlets = store_query(
            conn, "cards per outlet",
            "SELECT o.code, o.name, count(i.card_number) FROM outlet o "
            "LEFT JOIN shipment s ON s.outlet_code = o.code "
            "LEFT JOIN shipment_item i ON i.shipment_id = s.id GROUP BY o.code, o.name ORDER BY o.code",
            0, NULL);
    /* margin: working days between the day a card was finished and its deadline */
    if (outlets)
        margin = store_query(conn, "deadline margin",
                             "SELECT min(working_days_between(bureau_date(produced_at), deadline)) "
                             "         FILTER (WHERE deadline IS NOT NULL), "
                             "  count(*) FILTER (WHERE deadline IS NULL) "
                             "FROM application WHERE status = 'produced'",
                             0, NULL);
    if (!margin)
        goto out;
    o = json_object_new_object();
    for (int i = 0; i < 6; i++)
        json_object_object_add(o, names[i], json_object_new_int64(atoll(PQgetvalue(totals, 0, i))));
    json_object_object_add(o, "spoiled_by_reason", reasons_json(spoiled));
    json_object_object_add(o, "held_by_reason", reasons_json(held));
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(outlets); i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "outlet", json_object_new_string(PQgetvalue(outlets, i, 0)));
        json_object_object_add(e, "name", json_object_new_string(PQgetvalue(outlets, i, 1)));
        json_object_object_add(e, "cards", json_object_new_int64(atoll(PQgetvalue(outlets, i, 2))));
        json_object_array_add(a, e);
    }
    json_object_object_add(o, "outlets", a);
    json_object_object_add(o, "smallest_margin",
                           PQgetisnull(margin, 0, 0) ? NULL
                                                     : json_object_new_int(atoi(PQgetvalue(margin, 0, 0))));
    json_object_object_add(o, "deadline_unknown", json_object_new_int64(atoll(PQgetvalue(margin, 0, 1))));
    *ret = o;
    r = 0;
out:
    PQclear(totals);
    PQclear(held);
    PQclear(spoiled);
    PQclear(outlets);
    PQclear(margin);
    return r;
}

/* --- outlets -------------------------------------------------------------------------------------------- */

int store_reads_outlets(PGconn *conn, json_object **ret)
{
    return rows(conn, "outlets",
                "SELECT code, kind, county, array_to_string(delivery_weekdays, ',') AS weekdays, "
                "  transit_days AS n_transit_days, name FROM outlet ORDER BY code",
                0, NULL, ret);
}
