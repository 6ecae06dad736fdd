/* settings.c (store) — the bureau's settings a program reads, the schema version, and the lines a
 * configuration names */
#include "store/settings.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>

int store_settings_time_zone(PGconn *conn, char *buf, size_t size)
{
    PGresult *res = db_exec(conn, "SELECT value FROM setting WHERE key = 'bureau_timezone'", 0, NULL);
    int r = 0;

    if (!db_ok(res) || PQntuples(res) != 1) {
        log_debug("store", "bureau time zone: %s", db_ok(res) ? "not set" : PQresultErrorMessage(res));
        r = PRODUCER_ERROR_DB;
    } else if ((size_t)snprintf(buf, size, "%s", PQgetvalue(res, 0, 0)) >= size) {
        r = PRODUCER_ERROR_INVALID;
    }
    PQclear(res);
    return r;
}

int store_settings_schema_version(PGconn *conn, int *ret_version)
{
    long long version;
    int r = store_query_number(conn, "schema version",
                               "SELECT coalesce(max(version), 0) FROM schema_migration", 0, NULL, &version);

    if (r == 0)
        *ret_version = (int)version;
    return r;
}

int store_settings_line(PGconn *conn, const char *line_id)
{
    const char *params[1] = {line_id};
    PGresult *res = db_exec(conn, "INSERT INTO line (id) VALUES ($1) ON CONFLICT DO NOTHING", 1, params);
    int r = 0;

    if (!db_ok(res)) {
        log_debug("store", "line %s: %s", line_id, PQresultErrorMessage(res));
        r = PRODUCER_ERROR_DB;
    }
    PQclear(res);
    return r;
}
