/* stock.c — every blank card accounted for: issued to a line, fed (good, spoiled or still in the machine),
 * not fed, returned, taken as samples; the report balances exactly or says loudly where it does not */
#include "dispatch/stock.h"
#include "store/store.h"

#include "store/db.h"
#include "base/log.h"
#include "producer.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Blanks a line should have on hand: issued, less fed (and not given back), returned and sampled. */
static const char *const on_hand_sql =
    "SELECT coalesce(sum(CASE kind WHEN 'issued' THEN quantity WHEN 'fed' THEN -quantity "
    "  WHEN 'unfed' THEN quantity WHEN 'returned' THEN -quantity WHEN 'sample' THEN -quantity END), 0) "
    "FROM stock_move WHERE line_id = $1";

int producer_stock_move(PGconn *conn, const char *line, const char *kind, int quantity, bool new_line,
                        const char *actor)
{
    char qty[16], detail[96];
    const char *params[3] = {line, kind, qty};
    PGresult *res;
    int r;

    if (quantity < 1 || quantity > 100000 ||
        (strcmp(kind, "issued") && strcmp(kind, "returned") && strcmp(kind, "sample")))
        return PRODUCER_ERROR_INVALID;
    snprintf(qty, sizeof(qty), "%d", quantity);
    snprintf(detail, sizeof(detail), "%s %d blank(s), line %s", kind, quantity, line);
    if (db_command(conn, "begin", "BEGIN", 0, NULL) < 0)
        return PRODUCER_ERROR_DB;
    /* the line's row serialises its stock moves: two operators returning at once cannot both take the last */
    res = db_exec(conn, "SELECT 1 FROM line WHERE id = $1 FOR UPDATE", 1, params);
    r = db_ok(res) ? 0 : PRODUCER_ERROR_DB;
    if (r == 0 && PQntuples(res) == 0) {
        if (strcmp(kind, "issued") != 0 || !new_line) {
            log_error("stock", "line %s is not in the stock books; check the name (cardline stock report lists "
                      "the lines), or open a new line's books with its first issue and --new-line", line);
            r = PRODUCER_ERROR_INPUT;
        } else {
            r = db_command(conn, "line", "INSERT INTO line (id) VALUES ($1)", 1, params);
        }
    }
    PQclear(res);
    if (r == 0 && strcmp(kind, "issued") != 0) {
        res = db_exec(conn, on_hand_sql, 1, params);
        if (!db_ok(res)) {
            r = PRODUCER_ERROR_DB;
        } else if (atoll(PQgetvalue(res, 0, 0)) < quantity) {
            log_error("stock", "line %s has %s blank(s) on hand; %s %d would take more than is there", line,
                      PQgetvalue(res, 0, 0), strcmp(kind, "returned") == 0 ? "returning" : "sampling",
                      quantity);
            r = PRODUCER_ERROR_INPUT;
        }
        PQclear(res);
    }
    if (r == 0)
        r = db_command(conn, "stock move",
                       "INSERT INTO stock_move (line_id, kind, quantity) VALUES ($1, $2, $3)", 3, params);
    if (r == 0)
        r = store_event(conn, actor, "stock", NULL, NULL, NULL, detail);
    if (r == 0)
        r = db_command(conn, "commit", "COMMIT", 0, NULL);
    if (r < 0)
        PQclear(PQexec(conn, "ROLLBACK"));
    return r;
}

/* Per line: the moves in the period, and what became of every card whose blank was fed in it. */
static const char *const report_sql =
    "WITH m AS ("
    "  SELECT * FROM stock_move WHERE ($1::text IS NULL OR line_id = $1) "
    "    AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3)), "
    "fed AS ("
    "  SELECT m.line_id, c.card_number, c.status, "
    "         EXISTS (SELECT 1 FROM stock_move u WHERE u.kind = 'unfed' AND u.card_number = m.card_number) "
    "           AS unfed "
    "  FROM m JOIN card c ON c.card_number = m.card_number WHERE m.kind = 'fed') "
    "SELECT l.id, "
    "  coalesce((SELECT sum(quantity) FROM m WHERE m.line_id = l.id AND kind = 'issued'), 0), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND NOT unfed), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND NOT unfed "
    "     AND status NOT IN ('spoiled', 'unused', 'allocated', 'printing', 'encoding', 'ejecting')), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND NOT unfed AND status = 'spoiled'), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND NOT unfed "
    "     AND status IN ('allocated', 'printing', 'encoding', 'ejecting')), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND NOT unfed AND status = 'unused'), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND unfed AND status <> 'unused'), "
    "  coalesce((SELECT sum(quantity) FROM m WHERE m.line_id = l.id AND kind = 'returned'), 0), "
    "  coalesce((SELECT sum(quantity) FROM m WHERE m.line_id = l.id AND kind = 'sample'), 0) "
    "FROM line l WHERE ($1::text IS NULL OR l.id = $1) ORDER BY l.id";

int producer_stock_report(PGconn *conn, const char *line, const char *from, const char *to, bool json)
{
    const char *params[3] = {line, from, to};
    PGresult *res = db_exec(conn, report_sql, 3, params);
    json_object *root = NULL, *arr = NULL;
    long long tot[9] = {0};
    int problems = 0;

    if (!db_ok(res)) {
        log_error("stock", "%s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    if (json) {
        root = json_object_new_object();
        arr = json_object_new_array();
    } else {
        printf("Blank card stock%s%s%s%s\n", from ? " from " : "", from ? from : "", to ? " to " : "",
               to ? to : "");
        printf("%-10s %8s %8s %8s %8s %8s %8s %8s %9s\n", "line", "issued", "used", "good", "spoiled",
               "in mach.", "returned", "samples", "on hand");
    }
    for (int i = 0; i < PQntuples(res); i++) {
        long long v[9];
        long long on_hand;
        bool balanced;
        for (int c = 0; c < 9; c++)
            v[c] = atoll(PQgetvalue(res, i, c + 1));
        /* v: 0 issued, 1 used, 2 good, 3 spoiled, 4 in machine, 5 fed but marked unused, 6 unfed but not
         * unused, 7 returned, 8 samples */
        on_hand = v[0] - v[1] - v[7] - v[8];
        balanced = v[1] == v[2] + v[3] + v[4] && v[5] == 0 && v[6] == 0 && (from || to || on_hand >= 0);
        for (int c = 0; c < 9; c++)
            tot[c] += v[c];
        if (!balanced)
            problems++;
        if (json) {
            json_object *o = json_object_new_object();
            static const char *const names[9] = {"issued",         "used",       "good",
                                                 "spoiled",        "in_machine", "fed_but_unused",
                                                 "unfed_but_used", "returned",   "samples"};
            json_object_object_add(o, "line", json_object_new_string(PQgetvalue(res, i, 0)));
            for (int c = 0; c < 9; c++)
                json_object_object_add(o, names[c], json_object_new_int64(v[c]));
            json_object_object_add(o, "on_hand", json_object_new_int64(on_hand));
            json_object_object_add(o, "balanced", json_object_new_boolean(balanced));
            json_object_array_add(arr, o);
            continue;
        }
        printf("%-10s %8lld %8lld %8lld %8lld %8lld %8lld %8lld %9lld\n", PQgetvalue(res, i, 0), v[0], v[1],
               v[2], v[3], v[4], v[7], v[8], on_hand);
        if (v[1] != v[2] + v[3] + v[4])
            printf("  !! DIFFERENCE on %s: %lld blanks used but %lld cards accounted for (good + spoiled + "
                   "in the "
                   "machine)\n",
                   PQgetvalue(res, i, 0), v[1], v[2] + v[3] + v[4]);
        if (v[5] || v[6])
            printf("  !! DIFFERENCE on %s: %lld card(s) fed but recorded unused, %lld recorded not fed but "
                   "used\n",
                   PQgetvalue(res, i, 0), v[5], v[6]);
        if (!from && !to && on_hand < 0)
            printf("  !! DIFFERENCE on %s: %lld more blanks used, returned or sampled than were issued to it "
                   "(record the issue with 'cardline stock issue')\n",
                   PQgetvalue(res, i, 0), -on_hand);
        if (v[4])
            printf("  note: %lld card(s) of %s are recorded inside the machine (a line is running, or a "
                   "controller "
                   "died and its leases have not run out yet)\n",
                   v[4], PQgetvalue(res, i, 0));
    }
    if (json) {
        json_object_object_add(root, "lines", arr);
        json_object_object_add(root, "balanced", json_object_new_boolean(problems == 0));
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
        json_object_put(root);
    } else {
        printf("%-10s %8lld %8lld %8lld %8lld %8lld %8lld %8lld %9lld\n", "total", tot[0], tot[1], tot[2],
               tot[3], tot[4], tot[7], tot[8], tot[0] - tot[1] - tot[7] - tot[8]);
        printf(problems ? "STOCK DOES NOT BALANCE on %d line(s)\n" : "stock balances\n", problems);
    }
    PQclear(res);
    return problems;
}
