/* bank_data.c (store) — the bank's data per application (table bank_data), the bank_application setting, what
 * a card was given (masked account, stripe) and the list of applications the bank still owes data for */
#include "store/bank_data.h"

#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_bank_data_app(PGconn *conn, const char *upstream_id, struct store_bank_app *ret)
{
    const char *params[1] = {upstream_id};
    PGresult *res = NULL;
    int r = store_query_row(conn, "bank data: application",
                            "SELECT id, status, kind, coalesce(bank_name, '') FROM application "
                            "WHERE upstream_id = $1 FOR UPDATE",
                            1, params, &res);

    if (r == 1) {
        ret->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(ret->status, sizeof(ret->status), "%s", PQgetvalue(res, 0, 1));
        snprintf(ret->kind, sizeof(ret->kind), "%s", PQgetvalue(res, 0, 2));
        snprintf(ret->bank_name, sizeof(ret->bank_name), "%s", PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return r;
}

int store_bank_data_put(PGconn *conn, const struct store_bank_file *f, char ret_old_sha256[65])
{
    char id[24];
    const char *params[9] = {id,           f->bank_name, f->aid,    f->pan_masked, f->has_stripe ? "t" : "f",
                             f->file_name, f->content,   f->sha256, f->actor};
    PGresult *res;
    int r = 0;

    snprintf(id, sizeof(id), "%" PRId64, f->application_id);
    ret_old_sha256[0] = '\0';
    /* the file it replaces, for the audit trail (the row is locked until the caller commits) */
    res = store_query(conn, "bank data: current",
                      "SELECT sha256 FROM bank_data WHERE application_id = $1 FOR UPDATE", 1, params);
    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) == 1) {
        snprintf(ret_old_sha256, 65, "%s", PQgetvalue(res, 0, 0));
        r = 1;
    }
    PQclear(res);
    if (store_command_count(
            conn, "bank data: store",
            "INSERT INTO bank_data (application_id, bank_name, aid, pan_masked, has_stripe, "
            "  file_name, content, sha256, imported_by, imported_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_now()) "
            "ON CONFLICT (application_id) DO UPDATE SET bank_name = $2, aid = $3, "
            "  pan_masked = $4, has_stripe = $5, file_name = $6, content = $7, sha256 = $8, "
            "  imported_by = $9, imported_at = clock_now(), replaced = bank_data.replaced + 1",
            9, params) != 1)
        return PRODUCER_ERROR_DB;
    return r;
}

int store_bank_data_release(PGconn *conn, int64_t application_id)
{
    char id[24];
    const char *params[1] = {id};

    snprintf(id, sizeof(id), "%" PRId64, application_id);
    /* as store_applications_release(), only for the holds the line makes for bank data (their reasons start
     * with "bank data") */
    return store_command_count(
        conn, "bank data: release",
        "UPDATE application SET status = 'pending', "
        "  held_working_days = held_working_days + CASE WHEN held_for_applicant "
        "    THEN greatest(0, working_days_between(bureau_date(held_since), bureau_date(clock_now()))) "
        "    ELSE 0 END, "
        "  held_reason = NULL, held_since = NULL, held_for_applicant = false, attempts = 0, "
        "  updated_at = clock_now() "
        "WHERE id = $1 AND status = 'held' AND held_reason LIKE 'bank data %'",
        1, params);
}

int store_bank_data_get(PGconn *conn, int64_t application_id, char **ret_text, size_t *ret_len)
{
    char id[24];
    const char *params[1] = {id};
    PGresult *res;
    int r = 0;

    snprintf(id, sizeof(id), "%" PRId64, application_id);
    res = store_query(conn, "bank data: get", "SELECT content FROM bank_data WHERE application_id = $1", 1,
                      params);
    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) == 1) {
        size_t len = (size_t)PQgetlength(res, 0, 0);
        char *text = malloc(len + 1);
        if (!text) {
            r = PRODUCER_ERROR_NOMEM;
        } else {
            memcpy(text, PQgetvalue(res, 0, 0), len);
            text[len] = '\0';
            *ret_text = text;
            *ret_len = len;
            r = 1;
        }
    }
    PQclear(res);
    return r;
}

int store_bank_data_required(PGconn *conn)
{
    long long v;
    int r = store_query_number(conn, "bank data: setting",
                               "SELECT (coalesce((SELECT value FROM setting WHERE key = 'bank_application'), "
                               "  'off') = 'required')::integer",
                               0, NULL, &v);

    return r < 0 ? r : (int)v;
}

int store_bank_data_set_required(PGconn *conn, const char *value)
{
    const char *params[1] = {value};

    if (!value || (strcmp(value, "required") && strcmp(value, "off")))
        return PRODUCER_ERROR_INPUT;
    return store_command_count(conn, "bank data: set setting",
                               "INSERT INTO setting (key, value) VALUES ('bank_application', $1) "
                               "ON CONFLICT (key) DO UPDATE SET value = $1",
                               1, params) == 1
               ? 0
               : PRODUCER_ERROR_DB;
}

int store_bank_data_card(PGconn *conn, const char *app_id, const char *card_number, const char *pan_masked,
                         const char *bank_name, const char *actor)
{
    char detail[160];
    const char *params[3] = {card_number, pan_masked, bank_name};

    if (store_command_count(conn, "bank data: card",
                            "UPDATE card SET bank_account_masked = $2, bank_name_written = nullif($3, '') "
                            "WHERE card_number = $1",
                            3, params) != 1)
        return PRODUCER_ERROR_DB;
    snprintf(detail, sizeof(detail), "bank application: account %s%s%.100s", pan_masked,
             bank_name && bank_name[0] ? ", " : "", bank_name ? bank_name : "");
    return store_event(conn, actor, "bank_personalised", app_id, card_number, NULL, detail) < 0
               ? PRODUCER_ERROR_DB
               : 0;
}

int store_bank_data_stripe(PGconn *conn, const char *app_id, const char *card_number, int tracks,
                           const char *actor)
{
    char n[8], detail[64];
    const char *params[2] = {card_number, n};

    snprintf(n, sizeof(n), "%d", tracks);
    if (store_command_count(conn, "bank data: stripe",
                            "UPDATE card SET stripe_tracks = $2 WHERE card_number = $1", 2, params) != 1)
        return PRODUCER_ERROR_DB;
    snprintf(detail, sizeof(detail), "magnetic stripe: %d track(s) written and read back", tracks);
    return store_event(conn, actor, "stripe_written", app_id, card_number, NULL, detail) < 0
               ? PRODUCER_ERROR_DB
               : 0;
}

int store_bank_data_of_card(PGconn *conn, const char *card_number, char ret_masked[24], char ret_bank[101])
{
    const char *params[1] = {card_number};
    PGresult *res = NULL;
    int r = store_query_row(conn, "bank data: of card",
                            "SELECT bank_account_masked, coalesce(bank_name_written, '') FROM card "
                            "WHERE card_number = $1 AND bank_account_masked IS NOT NULL",
                            1, params, &res);

    if (r == 1) {
        snprintf(ret_masked, 24, "%s", PQgetvalue(res, 0, 0));
        snprintf(ret_bank, 101, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return r;
}

int store_bank_data_pending(PGconn *conn, store_bank_pending_row *row, void *arg)
{
    PGresult *res = store_query(conn, "bank data: pending",
                                "SELECT a.upstream_id, coalesce(a.bank_name, ''), a.name FROM application a "
                                "WHERE a.status IN ('pending', 'held') AND a.kind <> 'temporary' "
                                "  AND NOT EXISTS (SELECT 1 FROM bank_data b WHERE b.application_id = a.id) "
                                "ORDER BY a.accepted_at, a.id",
                                0, NULL);
    int n, r = 0;

    if (!res)
        return PRODUCER_ERROR_DB;
    n = PQntuples(res);
    for (int i = 0; i < n && r >= 0; i++)
        r = row(arg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
    PQclear(res);
    return r < 0 ? r : n;
}
