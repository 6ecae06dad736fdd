/* banks.c (store) — the bureau's cooperating banks (table bank): the configured list and its source */
#include "store/banks.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_banks_replace(PGconn *conn, const char *const *names, int n, const char *source, int *ret_bad)
{
    PGresult *res =
        store_query(conn, "retire banks", "UPDATE bank SET active = false, updated_at = now()", 0, NULL);

    if (!res)
        return PRODUCER_ERROR_DB;
    PQclear(res);
    for (int i = 0; i < n; i++) {
        const char *params[2] = {names[i], source};

        res = db_exec(conn,
                      "INSERT INTO bank (name, source) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE "
                      "SET active = true, source = $2, updated_at = now()",
                      2, params);
        if (!db_ok(res)) {
            int r = strcmp(db_sqlstate(res), "23514") == 0 ? PRODUCER_ERROR_INPUT : PRODUCER_ERROR_DB;
            log_debug("store", "bank %d: %s", i, PQresultErrorMessage(res));
            PQclear(res);
            if (ret_bad)
                *ret_bad = i;
            return r;
        }
        PQclear(res);
    }
    return 0;
}

int store_banks_list(PGconn *conn, char (*ret_names)[STORE_BANK_NAME_MAX], int max, char *ret_source,
                     size_t source_size)
{
    PGresult *res = store_query(conn, "list banks",
                                "SELECT name, first_value(source) OVER (ORDER BY updated_at DESC) FROM bank "
                                "WHERE active ORDER BY name",
                                0, NULL);
    int n;

    if (!res)
        return PRODUCER_ERROR_DB;
    n = PQntuples(res);
    for (int i = 0; i < n && i < max; i++)
        snprintf(ret_names[i], STORE_BANK_NAME_MAX, "%s", PQgetvalue(res, i, 0));
    if (ret_source && source_size)
        snprintf(ret_source, source_size, "%s", n > 0 ? PQgetvalue(res, 0, 1) : "");
    PQclear(res);
    return n;
}
