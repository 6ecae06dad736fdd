/* outlets.c (store) — the outlets cards are delivered to: existence, count, and the one insert every writer
 * uses */
#include "store/outlets.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_outlets_put(PGconn *conn, const struct store_outlet *o, enum store_outlet_conflict on_conflict,
                      const char **ret_why)
{
    static const char *const insert =
        "INSERT INTO outlet (code, name, kind, county, delivery_weekdays, transit_days) "
        "VALUES ($1, $2, $3, $4, $5, $6)";
    char transit[16];
    const char *params[6] = {o->code, o->name, o->kind, o->county, o->weekdays, transit};
    const char *sql, *why = NULL;
    PGresult *res;
    int r = 0;

    switch (on_conflict) {
    case STORE_OUTLET_KEEP:
        sql = "INSERT INTO outlet (code, name, kind, county, delivery_weekdays, transit_days) "
              "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
        break;
    case STORE_OUTLET_UPDATE:
        sql = "INSERT INTO outlet (code, name, kind, county, delivery_weekdays, transit_days) "
              "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO UPDATE SET name = $2, kind = $3, "
              "  county = $4, delivery_weekdays = $5, transit_days = $6";
        break;
    case STORE_OUTLET_REFUSE:
        sql = insert;
        break;
    default:
        return PRODUCER_ERROR_INVALID;
    }
    snprintf(transit, sizeof(transit), "%d", o->transit_days);
    res = db_exec(conn, sql, 6, params);
    if (!db_ok(res)) {
        r = PRODUCER_ERROR_DB;
        if (strcmp(db_sqlstate(res), "23505") == 0) {
            why = "exists";
            r = PRODUCER_ERROR_INPUT;
        } else if (strcmp(db_sqlstate(res), "23514") == 0 || strcmp(db_sqlstate(res), "22P02") == 0) {
            why = "out of range";
            r = PRODUCER_ERROR_INPUT;
        }
        log_debug("store", "outlet %s: %s", o->code, PQresultErrorMessage(res));
    }
    PQclear(res);
    if (why && ret_why)
        *ret_why = why;
    return r;
}

int store_outlets_exists(PGconn *conn, const char *code)
{
    const char *params[1] = {code};
    PGresult *res = db_exec(conn, "SELECT 1 FROM outlet WHERE code = $1", 1, params);
    int r;

    if (!db_ok(res)) {
        log_debug("store", "outlet %s: %s", code, PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    r = PQntuples(res) == 1;
    PQclear(res);
    return r;
}

int store_outlets_count(PGconn *conn, int *ret_count)
{
    long long n;
    int r = store_query_number(conn, "count outlets", "SELECT count(*) FROM outlet", 0, NULL, &n);

    if (r == 0)
        *ret_count = (int)n;
    return r;
}
