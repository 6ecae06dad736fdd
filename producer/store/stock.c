/* stock.c (store) — the SQL of blank card stock: moves per line and the report that must balance */
#include "store/stock.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_stock_lock_line(PGconn *conn, const char *line)
{
    const char *params[1] = {line};
    PGresult *res = store_query(conn, "lock line", "SELECT 1 FROM line WHERE id = $1 FOR UPDATE", 1, params);
    int r;

    if (!res)
        return PRODUCER_ERROR_DB;
    r = PQntuples(res) > 0;
    PQclear(res);
    return r;
}

int store_stock_add_line(PGconn *conn, const char *line)
{
    const char *params[1] = {line};

    return db_command(conn, "line", "INSERT INTO line (id) VALUES ($1)", 1, params);
}

int store_stock_on_hand(PGconn *conn, const char *line, long long *ret_on_hand)
{
    const char *params[1] = {line};
    return store_query_number(
        conn, "blanks on hand",
        "SELECT coalesce(sum(CASE kind WHEN 'issued' THEN quantity WHEN 'fed' THEN -quantity "
        "  WHEN 'unfed' THEN quantity WHEN 'returned' THEN -quantity WHEN 'sample' THEN -quantity END), 0) "
        "FROM stock_move WHERE line_id = $1",
        1, params, ret_on_hand);
}

int store_stock_add_move(PGconn *conn, const char *line, const char *kind, int quantity)
{
    char qty[16];
    const char *params[3] = {line, kind, qty};

    snprintf(qty, sizeof(qty), "%d", quantity);
    return db_command(conn, "stock move",
                      "INSERT INTO stock_move (line_id, kind, quantity) VALUES ($1, $2, $3)", 3, params);
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
    "     AND status NOT IN " STORE_CARD_NOT_GOOD "), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND NOT unfed AND status = 'spoiled'), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND NOT unfed "
    "     AND status IN " STORE_CARD_IN_MACHINE "), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND NOT unfed AND status = 'unused'), "
    "  (SELECT count(*) FROM fed WHERE fed.line_id = l.id AND unfed AND status <> 'unused'), "
    "  coalesce((SELECT sum(quantity) FROM m WHERE m.line_id = l.id AND kind = 'returned'), 0), "
    "  coalesce((SELECT sum(quantity) FROM m WHERE m.line_id = l.id AND kind = 'sample'), 0), "
    /* a period starts from what was on hand at its start: every move before it, so that a period in which
     * more blanks were used than the line had shows its difference as the whole life does */
    "  coalesce((SELECT sum(CASE b.kind WHEN 'issued' THEN b.quantity WHEN 'unfed' THEN b.quantity "
    "                                   ELSE -b.quantity END) "
    "            FROM stock_move b WHERE b.line_id = l.id AND $2::timestamptz IS NOT NULL AND b.at < $2), 0) "
    "FROM line l WHERE ($1::text IS NULL OR l.id = $1) ORDER BY l.id";

int store_stock_report(PGconn *conn, const char *line, const char *from, const char *to, json_object **ret)
{
    static const char *const names[9] = {"issued",         "used",       "good",
                                         "spoiled",        "in_machine", "fed_but_unused",
                                         "unfed_but_used", "returned",   "samples"};
    const char *params[3] = {line, from, to};
    PGresult *res = store_query(conn, "stock report", report_sql, 3, params);
    json_object *root, *arr;
    int problems = 0;

    if (!res)
        return PRODUCER_ERROR_DB;
    root = json_object_new_object();
    arr = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        long long v[9], on_hand, opening = atoll(PQgetvalue(res, i, 10));
        bool balanced;
        for (int c = 0; c < 9; c++)
            v[c] = atoll(PQgetvalue(res, i, c + 1));
        /* v: 0 issued, 1 used, 2 good, 3 spoiled, 4 in machine, 5 fed but marked unused, 6 unfed but not
         * unused, 7 returned, 8 samples */
        on_hand = opening + v[0] - v[1] - v[7] - v[8];
        balanced = v[1] == v[2] + v[3] + v[4] && v[5] == 0 && v[6] == 0 && on_hand >= 0;
        if (!balanced)
            problems++;
        json_object_object_add(o, "line", json_object_new_string(PQgetvalue(res, i, 0)));
        for (int c = 0; c < 9; c++)
            json_object_object_add(o, names[c], json_object_new_int64(v[c]));
        json_object_object_add(o, "opening", json_object_new_int64(opening));
        json_object_object_add(o, "on_hand", json_object_new_int64(on_hand));
        json_object_object_add(o, "balanced", json_object_new_boolean(balanced));
        json_object_array_add(arr, o);
    }
    PQclear(res);
    json_object_object_add(root, "lines", arr);
    json_object_object_add(root, "balanced", json_object_new_boolean(problems == 0));
    *ret = root;
    return problems;
}
