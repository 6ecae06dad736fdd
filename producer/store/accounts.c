/* accounts.c (store) — dashboard accounts, their password and token hashes, and sessions */
#include "store/accounts.h"

#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_accounts_add(PGconn *conn, const char *name, const char *role, const char *studio,
                       const char *password_hash)
{
    const char *p[4] = {name, role, studio && *studio ? studio : NULL, password_hash};
    PGresult *res = db_exec(
        conn, "INSERT INTO account (name, role, studio, password_hash) VALUES ($1, $2, $3, $4)", 4, p);
    int r = 0;

    if (!db_ok(res)) {
        r = strcmp(db_sqlstate(res), "23505") == 0 ? PRODUCER_ERROR_INPUT : PRODUCER_ERROR_DB;
        log_debug("store", "add account: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return r;
}

int store_accounts_set_password(PGconn *conn, const char *name, const char *password_hash)
{
    const char *p[2] = {name, password_hash};
    /* the API token goes with the old password: whoever knew one may have made the other */
    int r = store_command_count(
        conn, "set password",
        "UPDATE account SET password_hash = $2, token_id = NULL, token_hash = NULL WHERE name = $1", 2, p);

    return r < 0 ? r : r == 1;
}

int store_accounts_disable(PGconn *conn, const char *name)
{
    const char *p[1] = {name};
    int r = store_command_count(
        conn, "disable account",
        "UPDATE account SET disabled_at = coalesce(disabled_at, clock_now()), token_id = NULL, "
        "token_hash = NULL WHERE name = $1",
        1, p);

    return r < 0 ? r : r == 1;
}

int store_accounts_set_token(PGconn *conn, const char *name, const char *token_id, const char *token_hash)
{
    const char *p[3] = {name, token_id, token_hash};
    int r = store_command_count(
        conn, "new token",
        "UPDATE account SET token_id = $2, token_hash = $3 WHERE name = $1 AND disabled_at IS NULL", 3, p);

    return r < 0 ? r : r == 1;
}

int store_accounts_end_sessions(PGconn *conn, const char *name)
{
    const char *p[1] = {name};
    int r = store_command_count(
        conn, "end sessions",
        "DELETE FROM session WHERE account_id = (SELECT id FROM account WHERE name = $1)", 1, p);

    return r < 0 ? r : 0;
}

int store_accounts_list_json(PGconn *conn, json_object **ret)
{
    PGresult *res =
        db_exec(conn,
                "SELECT name, role, coalesce(studio, ''), disabled_at IS NOT NULL, token_id IS NOT NULL, "
                "  to_char(created_at, 'YYYY-MM-DD HH24:MI'), "
                "  coalesce(to_char(last_login_at, 'YYYY-MM-DD HH24:MI'), '') "
                "FROM account ORDER BY name",
                0, NULL);
    json_object *a;

    if (!db_ok(res)) {
        log_debug("store", "list accounts: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(PQgetvalue(res, i, 0)));
        json_object_object_add(o, "role", json_object_new_string(PQgetvalue(res, i, 1)));
        if (PQgetvalue(res, i, 2)[0])
            json_object_object_add(o, "studio", json_object_new_string(PQgetvalue(res, i, 2)));
        json_object_object_add(o, "disabled", json_object_new_boolean(PQgetvalue(res, i, 3)[0] == 't'));
        json_object_object_add(o, "token", json_object_new_boolean(PQgetvalue(res, i, 4)[0] == 't'));
        json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(res, i, 5)));
        if (PQgetvalue(res, i, 6)[0])
            json_object_object_add(o, "last_login_at", json_object_new_string(PQgetvalue(res, i, 6)));
        json_object_array_add(a, o);
    }
    PQclear(res);
    *ret = a;
    return 0;
}

/* One row (secret, id, name, role, studio) into *ret: 1, or 0 when there is none. */
static int one_account(PGconn *conn, const char *what, const char *sql, const char *param,
                       struct store_account *ret)
{
    const char *p[1] = {param};
    PGresult *res = db_exec(conn, sql, 1, p);
    struct store_account a;

    if (!db_ok(res)) {
        log_debug("store", "%s: %s", what, PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return 0;
    }
    memset(&a, 0, sizeof(a));
    snprintf(a.secret, sizeof(a.secret), "%s", PQgetvalue(res, 0, 0));
    a.id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    snprintf(a.name, sizeof(a.name), "%s", PQgetvalue(res, 0, 2));
    snprintf(a.role, sizeof(a.role), "%s", PQgetvalue(res, 0, 3));
    snprintf(a.studio, sizeof(a.studio), "%s", PQgetvalue(res, 0, 4));
    PQclear(res);
    *ret = a;
    return 1;
}

int store_accounts_by_name(PGconn *conn, const char *name, struct store_account *ret)
{
    return one_account(conn, "sign in",
                       "SELECT password_hash, id, name, role, coalesce(studio, '') FROM account "
                       "WHERE name = $1 AND disabled_at IS NULL",
                       name, ret);
}

int store_accounts_by_token(PGconn *conn, const char *token_id, struct store_account *ret)
{
    return one_account(conn, "token",
                       "SELECT token_hash, id, name, role, coalesce(studio, '') FROM account "
                       "WHERE token_id = $1 AND disabled_at IS NULL",
                       token_id, ret);
}

int store_accounts_by_session(PGconn *conn, const char *session_hash, struct store_account *ret)
{
    return one_account(conn, "session",
                       "SELECT s.csrf, a.id, a.name, a.role, coalesce(a.studio, '') FROM session s "
                       "JOIN account a ON a.id = s.account_id "
                       "WHERE s.id_hash = $1 AND s.expires_at > clock_now() AND a.disabled_at IS NULL",
                       session_hash, ret);
}

int store_accounts_open_session(PGconn *conn, const char *session_hash, int64_t account_id, const char *csrf,
                                const char *client, int max_sessions)
{
    char id[24], keep[16];
    const char *ps[4] = {session_hash, id, csrf, client};
    const char *pk[3] = {session_hash, id, keep};
    int r;

    snprintf(id, sizeof(id), "%" PRId64, account_id);
    snprintf(keep, sizeof(keep), "%d", max_sessions > 1 ? max_sessions - 1 : 0);
    r = store_command_count(
        conn, "open session",
        "INSERT INTO session (id_hash, account_id, csrf, expires_at, client) VALUES ($1, $2, $3, "
        "clock_now() + make_interval(hours => (SELECT value::integer FROM setting WHERE key = "
        "'session_hours')), left($4, 100))",
        4, ps);
    if (r < 0)
        return r;
    /* the oldest sessions beyond the cap end, so that a stolen password cannot pile up sessions */
    r = store_command_count(
        conn, "cap sessions",
        "DELETE FROM session WHERE id_hash IN (SELECT id_hash FROM session WHERE account_id = $2 "
        "AND id_hash <> $1 ORDER BY created_at DESC, expires_at DESC OFFSET $3::integer)",
        3, pk);
    return r < 0 ? r : 0;
}

void store_accounts_signed_in(PGconn *conn, int64_t account_id)
{
    char id[24];
    const char *pl[1] = {id};

    snprintf(id, sizeof(id), "%" PRId64, account_id);
    store_command_count(conn, "last login", "UPDATE account SET last_login_at = clock_now() WHERE id = $1", 1,
                        pl);
    store_command_count(conn, "expire sessions", "DELETE FROM session WHERE expires_at < clock_now()", 0,
                        NULL);
}

int store_accounts_logout(PGconn *conn, const char *session_hash)
{
    const char *p[1] = {session_hash};
    int r = store_command_count(conn, "logout", "DELETE FROM session WHERE id_hash = $1", 1, p);

    return r < 0 ? r : 0;
}
