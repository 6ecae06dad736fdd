/* status.c — what operators and dispatch read: queue and card counts, shipments per outlet, nearest
 * deadlines, the demo's summary and the per-outlet shipment lists */
#include "producer.h"

#include "base/log.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static PGresult *query(PGconn *conn, const char *sql)
{
    PGresult *res = db_exec(conn, sql, 0, NULL);

    if (!db_ok(res)) {
        log_error("status", "%s", PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
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
/* the working days left before each open application's deadline */
static const char *const sql_deadlines =
    "SELECT id, upstream_id, status, deadline, "
    "  CASE WHEN deadline IS NOT NULL AND extract(year FROM deadline)::integer IN (SELECT year FROM "
    "calendar_year) "
    "       THEN working_days_between(bureau_date(clock_now()), deadline) END, coalesce(deadline_problem, '') "
    "FROM application WHERE status IN ('pending', 'in_production', 'held') "
    "ORDER BY deadline NULLS FIRST, id LIMIT 10";
static const char *const sql_lines =
    "SELECT id, state, coalesce(state_reason, ''), cards_good, cards_spoiled FROM line ORDER BY id";

static json_object *counts_json(PGresult *res)
{
    json_object *o = json_object_new_object();

    for (int i = 0; i < PQntuples(res); i++)
        json_object_object_add(o, PQgetvalue(res, i, 0), json_object_new_int64(atoll(PQgetvalue(res, i, 1))));
    return o;
}

static void counts_text(const char *title, PGresult *res)
{
    long long total = 0;

    printf("%s:\n", title);
    for (int i = 0; i < PQntuples(res); i++) {
        printf("  %-14s %8s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        total += atoll(PQgetvalue(res, i, 1));
    }
    printf("  %-14s %8lld\n", "total", total);
}

int producer_status(PGconn *conn, bool json)
{
    PGresult *apps = query(conn, sql_apps), *cards = query(conn, sql_cards),
             *ships = query(conn, sql_shipments), *dl = query(conn, sql_deadlines),
             *lines = query(conn, sql_lines);
    int r = 0;

    if (!apps || !cards || !ships || !dl || !lines) {
        r = PRODUCER_ERROR_DB;
        goto out;
    }
    if (json) {
        json_object *root = json_object_new_object(), *a = json_object_new_object(),
                    *c = json_object_new_object(), *s = json_object_new_array(), *d = json_object_new_array(),
                    *l = json_object_new_array();
        json_object_object_add(a, "by_status", counts_json(apps));
        json_object_object_add(c, "by_status", counts_json(cards));
        for (int i = 0; i < PQntuples(ships); i++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "outlet", json_object_new_string(PQgetvalue(ships, i, 0)));
            json_object_object_add(o, "name", json_object_new_string(PQgetvalue(ships, i, 1)));
            json_object_object_add(o, "kind", json_object_new_string(PQgetvalue(ships, i, 2)));
            json_object_object_add(
                o, "open_shipment",
                PQgetvalue(ships, i, 5)[0] ? json_object_new_string(PQgetvalue(ships, i, 5)) : NULL);
            json_object_object_add(o, "cards", json_object_new_int64(atoll(PQgetvalue(ships, i, 4))));
            json_object_array_add(s, o);
        }
        for (int i = 0; i < PQntuples(dl); i++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "application", json_object_new_int64(atoll(PQgetvalue(dl, i, 0))));
            json_object_object_add(o, "upstream_id", json_object_new_string(PQgetvalue(dl, i, 1)));
            json_object_object_add(o, "status", json_object_new_string(PQgetvalue(dl, i, 2)));
            json_object_object_add(
                o, "deadline", PQgetisnull(dl, i, 3) ? NULL : json_object_new_string(PQgetvalue(dl, i, 3)));
            json_object_object_add(o, "working_days_left",
                                   PQgetisnull(dl, i, 4) ? NULL
                                                         : json_object_new_int(atoi(PQgetvalue(dl, i, 4))));
            if (PQgetvalue(dl, i, 5)[0])
                json_object_object_add(o, "deadline_problem", json_object_new_string(PQgetvalue(dl, i, 5)));
            json_object_array_add(d, o);
        }
        for (int i = 0; i < PQntuples(lines); i++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "line", json_object_new_string(PQgetvalue(lines, i, 0)));
            json_object_object_add(o, "state", json_object_new_string(PQgetvalue(lines, i, 1)));
            if (PQgetvalue(lines, i, 2)[0])
                json_object_object_add(o, "reason", json_object_new_string(PQgetvalue(lines, i, 2)));
            json_object_object_add(o, "good", json_object_new_int64(atoll(PQgetvalue(lines, i, 3))));
            json_object_object_add(o, "spoiled", json_object_new_int64(atoll(PQgetvalue(lines, i, 4))));
            json_object_array_add(l, o);
        }
        json_object_object_add(root, "applications", a);
        json_object_object_add(root, "cards", c);
        json_object_object_add(root, "shipments", s);
        json_object_object_add(root, "nearest_deadlines", d);
        json_object_object_add(root, "lines", l);
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        goto out;
    }

    counts_text("Applications", apps);
    counts_text("Cards", cards);
    printf("Shipments (open) per outlet:\n");
    for (int i = 0; i < PQntuples(ships); i++)
        printf("  %-8s %-5s %6s card(s)  %s  %s\n", PQgetvalue(ships, i, 0), PQgetvalue(ships, i, 2),
               PQgetvalue(ships, i, 4), PQgetvalue(ships, i, 5)[0] ? PQgetvalue(ships, i, 5) : "-",
               PQgetvalue(ships, i, 1));
    printf("Lines:\n");
    for (int i = 0; i < PQntuples(lines); i++)
        printf("  %-8s %-8s good %-6s spoiled %-6s %s\n", PQgetvalue(lines, i, 0), PQgetvalue(lines, i, 1),
               PQgetvalue(lines, i, 3), PQgetvalue(lines, i, 4), PQgetvalue(lines, i, 2));
    printf("Nearest deadlines of open applications:\n");
    if (PQntuples(dl) == 0)
        printf("  (none open)\n");
    for (int i = 0; i < PQntuples(dl); i++) {
        if (PQgetisnull(dl, i, 3))
            printf("  %-18s %-14s deadline unknown: %s\n", PQgetvalue(dl, i, 1), PQgetvalue(dl, i, 2),
                   PQgetvalue(dl, i, 5));
        else
            printf("  %-18s %-14s due %s  %s working day(s) left\n", PQgetvalue(dl, i, 1),
                   PQgetvalue(dl, i, 2), PQgetvalue(dl, i, 3),
                   PQgetisnull(dl, i, 4) ? "?" : PQgetvalue(dl, i, 4));
    }
out:
    PQclear(apps);
    PQclear(cards);
    PQclear(ships);
    PQclear(dl);
    PQclear(lines);
    return r;
}

int producer_shipment_export(PGconn *conn, const char *dir, int *ret_files)
{
    PGresult *res;
    FILE *f = NULL;
    char current[20] = "", path[PATH_MAX];
    int files = 0, r = 0;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        log_error("shipment", "cannot create %s: %s", dir, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    res = query(conn,
                "SELECT s.outlet_code, s.id, s.status, i.card_number, a.upstream_id, a.name, a.ssn, "
                "  to_char(bureau_time(i.added_at), 'YYYY-MM-DD HH24:MI') "
                "FROM shipment s JOIN shipment_item i ON i.shipment_id = s.id "
                "JOIN card c ON c.card_number = i.card_number JOIN application a ON a.id = c.application_id "
                "ORDER BY s.outlet_code, s.id, i.card_number");
    if (!res)
        return PRODUCER_ERROR_DB;
    for (int i = 0; i < PQntuples(res); i++) {
        char name[256], ssn[40];
        if (strcmp(current, PQgetvalue(res, i, 0)) != 0) {
            if (f && fclose(f) != 0)
                r = PRODUCER_ERROR_IO;
            snprintf(current, sizeof(current), "%s", PQgetvalue(res, i, 0));
            snprintf(path, sizeof(path), "%s/%s.csv", dir, current);
            f = fopen(path, "we");
            if (!f) {
                log_error("shipment", "cannot write %s: %s", path, strerror(errno));
                r = PRODUCER_ERROR_IO;
                break;
            }
            fprintf(f, "shipment,status,card_number,application,holder,ssn,packed_at\n");
            files++;
        }
        /* shipment lists travel with couriers: holder data is masked */
        producer_mask_name(PQgetvalue(res, i, 5), name, sizeof(name));
        producer_mask_doc(PQgetvalue(res, i, 6), ssn, sizeof(ssn));
        fprintf(f, "%s,%s,%s,%s,%s,%s,%s\n", PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), name, ssn, PQgetvalue(res, i, 7));
    }
    if (f && fclose(f) != 0)
        r = PRODUCER_ERROR_IO;
    PQclear(res);
    if (ret_files)
        *ret_files = files;
    return r;
}

int producer_summary(PGconn *conn, const struct db_config *db)
{
    PGresult *totals, *held, *spoiled, *outlets, *margin;
    int files = 0, r = 0;
    char dir[PATH_MAX + 16];

    totals = query(conn, "SELECT count(*), count(*) FILTER (WHERE status = 'produced'), "
                         "  count(*) FILTER (WHERE status = 'held'), "
                         "  count(*) FILTER (WHERE status IN ('pending', 'in_production')), "
                         "  (SELECT count(*) FROM card WHERE status = 'spoiled'), "
                         "  (SELECT count(*) FROM stock_move WHERE kind = 'fed') - "
                         "  (SELECT count(*) FROM stock_move WHERE kind = 'unfed') "
                         "FROM application");
    held = query(conn, "SELECT held_reason, count(*) FROM application WHERE status = 'held' "
                       "GROUP BY held_reason ORDER BY count(*) DESC, held_reason");
    spoiled = query(conn, "SELECT spoil_reason, count(*) FROM card WHERE status = 'spoiled' "
                          "GROUP BY spoil_reason ORDER BY count(*) DESC");
    outlets = query(
        conn, "SELECT o.code, o.name, count(i.card_number) FROM outlet o "
              "LEFT JOIN shipment s ON s.outlet_code = o.code "
              "LEFT JOIN shipment_item i ON i.shipment_id = s.id GROUP BY o.code, o.name ORDER BY o.code");
    /* margin: working days between the day a card was finished and its deadline */
    margin = query(conn, "SELECT min(working_days_between(bureau_date(produced_at), deadline)) "
                         "         FILTER (WHERE deadline IS NOT NULL), "
                         "  count(*) FILTER (WHERE deadline IS NULL) "
                         "FROM application WHERE status = 'produced'");
    if (!totals || !held || !spoiled || !outlets || !margin) {
        r = PRODUCER_ERROR_DB;
        goto out;
    }
    printf("\n== cardline summary ==\n");
    printf("applications:  %s\n", PQgetvalue(totals, 0, 0));
    printf("produced:      %s good cards\n", PQgetvalue(totals, 0, 1));
    printf("spoiled:       %s cards (each kept its number; the application was retried)\n",
           PQgetvalue(totals, 0, 4));
    for (int i = 0; i < PQntuples(spoiled); i++)
        printf("                 %3s x %s\n", PQgetvalue(spoiled, i, 1), PQgetvalue(spoiled, i, 0));
    printf("blanks used:   %s (good + spoiled)\n", PQgetvalue(totals, 0, 5));
    printf("held:          %s applications waiting for a person to act\n", PQgetvalue(totals, 0, 2));
    for (int i = 0; i < PQntuples(held); i++)
        printf("                 %3s x %s\n", PQgetvalue(held, i, 1), PQgetvalue(held, i, 0));
    printf("still queued:  %s\n", PQgetvalue(totals, 0, 3));
    printf("cards per outlet:\n");
    for (int i = 0; i < PQntuples(outlets); i++)
        printf("  %-8s %4s  %s\n", PQgetvalue(outlets, i, 0), PQgetvalue(outlets, i, 2),
               PQgetvalue(outlets, i, 1));
    if (!PQgetisnull(margin, 0, 0))
        printf("smallest deadline margin: %s working day(s) between finishing a card and its deadline\n",
               PQgetvalue(margin, 0, 0));
    if (atoi(PQgetvalue(margin, 0, 1)) > 0)
        printf("deadline unknown for %s produced application(s): the official calendar of their year is not "
               "loaded\n",
               PQgetvalue(margin, 0, 1));
    snprintf(dir, sizeof(dir), "%s/shipments", db->data_dir);
    r = producer_shipment_export(conn, dir, &files);
    printf("card faces:    %s/faces/<card number>.png\n", db->data_dir);
    printf("shipment lists: %s/<outlet>.csv (%d file(s))\n", dir, files);
out:
    PQclear(totals);
    PQclear(held);
    PQclear(spoiled);
    PQclear(outlets);
    PQclear(margin);
    return r;
}

int producer_outlet_add(PGconn *conn, const char *code, const char *name, const char *kind,
                        const char *county, const char *weekdays, int transit_days)
{
    char transit[8], arr[64];
    const char *params[6] = {code, name, kind, county, arr, transit};

    PGresult *res;
    int r = 0;

    snprintf(transit, sizeof(transit), "%d", transit_days);
    snprintf(arr, sizeof(arr), "{%s}", weekdays);
    res = db_exec(conn,
                  "INSERT INTO outlet (code, name, kind, county, delivery_weekdays, transit_days) "
                  "VALUES ($1, $2, $3, $4, $5, $6)",
                  6, params);
    if (!db_ok(res)) {
        /* say what is wrong in the operator's terms, not PostgreSQL's */
        if (strcmp(db_sqlstate(res), "23505") == 0)
            log_error("outlet", "outlet %s already exists (cardline outlet list)", code);
        else if (strcmp(db_sqlstate(res), "23514") == 0 || strcmp(db_sqlstate(res), "22P02") == 0)
            log_error("outlet", "outlet %s: a field is out of range (code, kind hrss|bank, weekdays 1..7)", code);
        else
            log_error("outlet", "add outlet %s: %s", code, PQresultErrorMessage(res));
        r = PRODUCER_ERROR_DB;
    }
    PQclear(res);
    return r;
}

int producer_outlet_list(PGconn *conn)
{
    PGresult *res =
        query(conn, "SELECT code, kind, county, array_to_string(delivery_weekdays, ','), transit_days, "
                    "name FROM outlet ORDER BY code");

    if (!res)
        return PRODUCER_ERROR_DB;
    printf("%-8s %-5s %-8s %-10s %-7s %s\n", "code", "kind", "county", "weekdays", "transit", "name");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-8s %-5s %-8s %-10s %-7s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
    PQclear(res);
    return 0;
}
