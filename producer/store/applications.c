/* applications.c (store) — the SQL behind operators' changes to applications and issued cards, and the
 * application read models */
#include "store/applications.h"

#include "base/i18n.h"
#include "base/log.h"

#include <inttypes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An UPDATE ... RETURNING id: 1 and *ret_id when one row changed, 0 when none, or PRODUCER_ERROR_DB. */
static int change_one(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
                      int64_t *ret_id)
{
    PGresult *res = store_query(conn, what, sql, n, params);
    int r;

    if (!res)
        return PRODUCER_ERROR_DB;
    r = PQntuples(res) == 1;
    if (r && ret_id)
        *ret_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return r;
}

int store_applications_cancel(PGconn *conn, const char *application, const char *reason, int64_t *ret_id)
{
    const char *params[2] = {application, reason};

    return change_one(
        conn, "cancel application",
        "UPDATE application SET status = 'cancelled', cancel_reason = $2, locked_by = NULL, "
        "  lease_until = NULL, step = NULL, held_reason = NULL, updated_at = clock_now() "
        "WHERE (id::text = $1 OR upstream_id = $1) AND status IN ('pending', 'held', 'in_production') "
        "RETURNING id",
        2, params, ret_id);
}

int store_applications_release(PGconn *conn, const char *application, int64_t *ret_id)
{
    const char *params[1] = {application};

    return change_one(
        conn, "release application",
        "UPDATE application SET status = 'pending', "
        "  held_working_days = held_working_days + CASE WHEN held_for_applicant "
        "    THEN greatest(0, working_days_between(bureau_date(held_since), bureau_date(clock_now()))) "
        "    ELSE 0 END, "
        "  held_reason = NULL, held_since = NULL, held_for_applicant = false, attempts = 0, "
        "  updated_at = clock_now() "
        "WHERE (id::text = $1 OR upstream_id = $1) AND status = 'held' RETURNING id",
        1, params, ret_id);
}

static json_object *text_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : json_object_new_string(PQgetvalue(res, row, col));
}

/* The coalesce()d reasons read "" when there is none; the read model says null. */
static json_object *nonempty_or_null(const PGresult *res, int row, int col)
{
    const char *s = PQgetvalue(res, row, col);
    return s[0] ? json_object_new_string(s) : NULL;
}

static json_object *masked_name(const PGresult *res, int row, int col)
{
    char name[128];

    producer_mask_name(PQgetvalue(res, row, col), name, sizeof(name));
    return json_object_new_string(name);
}

/* The statuses in which a person's real card counts against "one person, one card" when a blocked card would
 * come back to life (the line's own rule plus a temporary report that may lapse). */
#define PERSON_CARDS                                                                                         \
    "('allocated', 'printing', 'encoding', 'ejecting', 'good', 'in_transit', 'at_outlet', 'issued', "        \
    "'lost_temporary')"

int store_applications_card_lock(PGconn *conn, const char *card_number, struct store_card_life *ret)
{
    const char *params[1] = {card_number};
    PGresult *res = store_query(
        conn, "lock card",
        "SELECT c.status, c.temporary, "
        "  coalesce(to_char(bureau_time(c.loss_lapses_at), 'YYYY-MM-DD HH24:MI'), ''), "
        "  coalesce((SELECT min(a.id) FROM application a WHERE a.kind = 'replacement' "
        "            AND a.replaced_card_number = c.card_number AND a.status <> 'cancelled'), 0), "
        "  coalesce(o.card_number, ''), coalesce(o.status, '') "
        "FROM card c "
        "LEFT JOIN LATERAL (SELECT x.card_number, x.status FROM card x WHERE x.person_key = c.person_key "
        "  AND NOT x.temporary AND x.card_number <> c.card_number AND x.status IN " PERSON_CARDS
        "  ORDER BY x.created_at DESC LIMIT 1) o ON true "
        "WHERE c.card_number = $1 FOR UPDATE OF c",
        1, params);
    int r;

    if (!res)
        return PRODUCER_ERROR_DB;
    r = PQntuples(res) == 1;
    if (r) {
        snprintf(ret->status, sizeof(ret->status), "%s", PQgetvalue(res, 0, 0));
        ret->temporary = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        snprintf(ret->lapses_at, sizeof(ret->lapses_at), "%s", PQgetvalue(res, 0, 2));
        ret->replacement = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        snprintf(ret->other_card, sizeof(ret->other_card), "%s", PQgetvalue(res, 0, 4));
        snprintf(ret->other_status, sizeof(ret->other_status), "%s", PQgetvalue(res, 0, 5));
    }
    PQclear(res);
    return r;
}

int store_applications_card_move(PGconn *conn, const char *card_number, const char *from, const char *to,
                                 const char *cancel_reason)
{
    const char *params[4] = {card_number, from, to, cancel_reason};
    PGresult *res = store_query(conn, "card status",
                                "UPDATE card SET status = $3, cancel_reason = $4 "
                                "WHERE card_number = $1 AND status = $2 RETURNING card_number",
                                4, params);
    int r;

    if (!res)
        return PRODUCER_ERROR_DB;
    r = PQntuples(res) == 1;
    PQclear(res);
    return r;
}

int store_applications_lapse_losses(PGconn *conn, const char *actor)
{
    const char *params[1] = {actor};
    return store_command_count(
        conn, "lapse temporary loss reports",
        "WITH lapsed AS ("
        "  UPDATE card c SET status = 'issued' "
        "  WHERE c.status = 'lost_temporary' AND c.loss_lapses_at <= clock_now() "
        "    AND NOT EXISTS (SELECT 1 FROM application a WHERE a.kind = 'replacement' "
        "                    AND a.replaced_card_number = c.card_number AND a.status <> 'cancelled') "
        "    AND NOT EXISTS (SELECT 1 FROM card x WHERE x.person_key = c.person_key "
        "                    AND x.temporary = c.temporary AND x.card_number <> c.card_number "
        "                    AND x.status IN " PERSON_CARDS ") "
        "  RETURNING c.card_number) "
        "INSERT INTO event (actor, kind, card_number, detail) "
        "SELECT $1::text, 'loss_lapsed', card_number, 'temporary loss report not made formal within ' || "
        "  (SELECT value FROM setting WHERE key = 'temporary_loss_days') || ' days' FROM lapsed",
        1, params);
}

int store_applications_cancel_holder(PGconn *conn, const char *card_number, const char *reason,
                                     const char *actor)
{
    const char *params[3] = {card_number, reason, actor};
    return store_command_count(
        conn, "cancel the holder's applications",
        "WITH cancelled AS ("
        "  UPDATE application SET status = 'cancelled', cancel_reason = $2, locked_by = NULL, "
        "    lease_until = NULL, step = NULL, held_reason = NULL, updated_at = clock_now() "
        "  WHERE ssn = (SELECT person_key FROM card WHERE card_number = $1) "
        "    AND status IN ('pending', 'held', 'in_production') RETURNING id) "
        "INSERT INTO event (actor, kind, application_id, detail) SELECT $3::text, 'cancelled', "
        "id, $2 FROM cancelled",
        3, params);
}

int store_applications_temporary_expire(PGconn *conn, const char *actor)
{
    const char *params[1] = {actor};
    /* the FROM clause names the actor for the trigger's event before the function runs; local to this
     * statement's own transaction, or to the caller's */
    long long n;
    int r = store_query_number(conn, "expire temporary cards",
                               "SELECT temporary_cards_expire(NULL) "
                               "FROM (SELECT set_config('cardline.actor', $1, true)) s",
                               1, params, &n);

    return r < 0 ? r : (int)n;
}

int store_applications_temporary_json(PGconn *conn, bool due_only, json_object **ret)
{
    const char *params[1] = {due_only ? "t" : "f"};
    PGresult *res = store_query(
        conn, "temporary cards",
        "SELECT c.card_number, c.status, coalesce(a.name, ''), coalesce(a.doc_number, ''), "
        "  coalesce(a.outlet_code, ''), coalesce(to_char(c.issue_date, 'YYYY-MM-DD'), ''), "
        "  coalesce(to_char(c.expiry_date, 'YYYY-MM-DD'), ''), c.status = 'return_due', c.return_due_reason "
        "FROM card c LEFT JOIN application a ON a.id = c.application_id "
        "WHERE c.temporary AND c.status IN ('issued', 'return_due') "
        "  AND (NOT $1::boolean OR c.status = 'return_due') "
        "ORDER BY c.status = 'return_due' DESC, c.expiry_date, c.card_number",
        1, params);
    json_object *a;

    if (!res)
        return PRODUCER_ERROR_DB;
    a = json_object_new_array();
    for (int i = 0; a && i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        char doc[48];

        producer_mask_doc(PQgetvalue(res, i, 3), doc, sizeof(doc));
        json_object_object_add(o, "card", json_object_new_string(PQgetvalue(res, i, 0)));
        json_object_object_add(o, "status", json_object_new_string(PQgetvalue(res, i, 1)));
        json_object_object_add(o, "holder", masked_name(res, i, 2));
        json_object_object_add(o, "doc", json_object_new_string(doc));
        json_object_object_add(o, "outlet", json_object_new_string(PQgetvalue(res, i, 4)));
        json_object_object_add(o, "issued", json_object_new_string(PQgetvalue(res, i, 5)));
        json_object_object_add(o, "valid_until", json_object_new_string(PQgetvalue(res, i, 6)));
        json_object_object_add(o, "due", json_object_new_boolean(strcmp(PQgetvalue(res, i, 7), "t") == 0));
        json_object_object_add(o, "due_reason", text_or_null(res, i, 8));
        json_object_array_add(a, o);
    }
    PQclear(res);
    if (!a)
        return PRODUCER_ERROR_NOMEM;
    *ret = a;
    return 0;
}

int store_applications_temporary_return(PGconn *conn, const char *card_number, const char *from,
                                        const char *actor, const char *detail)
{
    const char *p_set[2] = {actor, detail};
    const char *p_move[2] = {card_number, from};
    PGresult *res = store_query(conn, "custody settings",
                                "SELECT set_config('cardline.actor', $1, true), "
                                "  set_config('cardline.detail', $2, true)",
                                2, p_set);
    int r;

    if (!res)
        return PRODUCER_ERROR_DB;
    PQclear(res);
    res = store_query(conn, "return the temporary card",
                      "UPDATE card SET status = 'returned' "
                      "WHERE card_number = $1 AND status = $2 AND temporary RETURNING card_number",
                      2, p_move);
    if (!res)
        return PRODUCER_ERROR_DB;
    r = PQntuples(res) == 1;
    PQclear(res);
    return r;
}

int store_applications_blacklist_json(PGconn *conn, json_object **ret)
{
    PGresult *res =
        store_query(conn, "blacklist",
                    "SELECT card_number, status, to_char(bureau_time(since), 'YYYY-MM-DD HH24:MI'), "
                    "  to_char(bureau_time(until), 'YYYY-MM-DD HH24:MI'), reason, chip_id "
                    "FROM card_blacklist ORDER BY since, card_number",
                    0, NULL);
    json_object *a;

    if (!res)
        return PRODUCER_ERROR_DB;
    a = json_object_new_array();
    for (int i = 0; a && i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "card", json_object_new_string(PQgetvalue(res, i, 0)));
        json_object_object_add(o, "status", json_object_new_string(PQgetvalue(res, i, 1)));
        json_object_object_add(o, "since", json_object_new_string(PQgetvalue(res, i, 2)));
        json_object_object_add(o, "until", text_or_null(res, i, 3));
        json_object_object_add(o, "reason", json_object_new_string(PQgetvalue(res, i, 4)));
        json_object_object_add(o, "chip", text_or_null(res, i, 5));
        json_object_array_add(a, o);
    }
    PQclear(res);
    if (!a)
        return PRODUCER_ERROR_NOMEM;
    *ret = a;
    return 0;
}

int store_applications_list_json(PGconn *conn, const char *status, int limit, json_object **ret)
{
    char lim[16];
    const char *params[2] = {status, lim};
    PGresult *res;
    json_object *a;

    snprintf(lim, sizeof(lim), "%d", limit);
    res = store_query(conn, "list applications",
                      "SELECT id, upstream_id, kind, status, outlet_code, coalesce(deadline::text, '-'), "
                      "  coalesce(held_reason, cancel_reason, deadline_problem, ''), name, doc_number "
                      "FROM application WHERE ($1::text IS NULL OR status = $1) "
                      "ORDER BY priority, latest_completion NULLS LAST, id LIMIT $2::integer",
                      2, params);
    if (!res)
        return PRODUCER_ERROR_DB;
    a = json_object_new_array();
    for (int i = 0; a && i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        const char *deadline = PQgetvalue(res, i, 5);

        json_object_object_add(o, "id", json_object_new_int64(strtoll(PQgetvalue(res, i, 0), NULL, 10)));
        json_object_object_add(o, "upstream_id", json_object_new_string(PQgetvalue(res, i, 1)));
        json_object_object_add(o, "kind", json_object_new_string(PQgetvalue(res, i, 2)));
        json_object_object_add(o, "status", json_object_new_string(PQgetvalue(res, i, 3)));
        json_object_object_add(o, "outlet", json_object_new_string(PQgetvalue(res, i, 4)));
        json_object_object_add(o, "deadline",
                               strcmp(deadline, "-") ? json_object_new_string(deadline) : NULL);
        json_object_object_add(o, "holder", masked_name(res, i, 7));
        json_object_object_add(o, "note", json_object_new_string(PQgetvalue(res, i, 6)));
        json_object_array_add(a, o);
    }
    PQclear(res);
    if (!a)
        return PRODUCER_ERROR_NOMEM;
    *ret = a;
    return 0;
}

int store_applications_show_json(PGconn *conn, const char *application, json_object **ret)
{
    const char *params[1] = {application};
    char doc[40];
    PGresult *res;
    json_object *o;

    res = store_query(
        conn, "show application",
        "SELECT id, upstream_id, kind, status, doc_type, doc_number, name, outlet_code, "
        "  bureau_date(accepted_at), deadline, "
        "  to_char(bureau_time(latest_completion), 'YYYY-MM-DD HH24:MI'), "
        "  held_working_days, attempts, coalesce(held_reason, ''), coalesce(cancel_reason, ''), "
        "  coalesce(deadline_problem, ''), "
        "  (SELECT string_agg(card_number || ' ' || status || coalesce(' (' || spoil_reason || ')', "
        "     ''), '; ' ORDER BY created_at) FROM card WHERE application_id = a.id), "
        "  nationality, bank_name, rep_role, rep_name, rep_doc_type, rep_doc_number, rep_relationship "
        "FROM application a WHERE a.id::text = $1 OR a.upstream_id = $1",
        1, params);
    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    o = json_object_new_object();
    if (!o) {
        PQclear(res);
        return PRODUCER_ERROR_NOMEM;
    }
    producer_mask_doc(PQgetvalue(res, 0, 5), doc, sizeof(doc));
    json_object_object_add(o, "id", json_object_new_int64(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
    json_object_object_add(o, "upstream_id", json_object_new_string(PQgetvalue(res, 0, 1)));
    json_object_object_add(o, "kind", json_object_new_string(PQgetvalue(res, 0, 2)));
    json_object_object_add(o, "status", json_object_new_string(PQgetvalue(res, 0, 3)));
    json_object_object_add(o, "doc_type", json_object_new_string(PQgetvalue(res, 0, 4)));
    json_object_object_add(o, "doc_number", json_object_new_string(doc));
    json_object_object_add(o, "holder", masked_name(res, 0, 6));
    json_object_object_add(o, "outlet", json_object_new_string(PQgetvalue(res, 0, 7)));
    json_object_object_add(o, "accepted", text_or_null(res, 0, 8));
    json_object_object_add(o, "deadline", text_or_null(res, 0, 9));
    json_object_object_add(o, "latest_completion", text_or_null(res, 0, 10));
    json_object_object_add(o, "held_working_days", json_object_new_int(atoi(PQgetvalue(res, 0, 11))));
    json_object_object_add(o, "attempts", json_object_new_int(atoi(PQgetvalue(res, 0, 12))));
    json_object_object_add(o, "held_reason", nonempty_or_null(res, 0, 13));
    json_object_object_add(o, "cancel_reason", nonempty_or_null(res, 0, 14));
    json_object_object_add(o, "deadline_problem", nonempty_or_null(res, 0, 15));
    json_object_object_add(o, "nationality", json_object_new_string(PQgetvalue(res, 0, 17)));
    json_object_object_add(o, "bank", text_or_null(res, 0, 18));
    if (PQgetisnull(res, 0, 19)) {
        json_object_object_add(o, "representative", NULL);
    } else {
        /* the guardian or agent who applied: as masked as the holder */
        json_object *rep = json_object_new_object();
        char rep_doc[40];

        producer_mask_doc(PQgetvalue(res, 0, 22), rep_doc, sizeof(rep_doc));
        json_object_object_add(rep, "role", json_object_new_string(PQgetvalue(res, 0, 19)));
        json_object_object_add(rep, "name", masked_name(res, 0, 20));
        json_object_object_add(rep, "doc_type", json_object_new_string(PQgetvalue(res, 0, 21)));
        json_object_object_add(rep, "doc_number", json_object_new_string(rep_doc));
        json_object_object_add(rep, "relationship", json_object_new_string(PQgetvalue(res, 0, 23)));
        json_object_object_add(o, "representative", rep);
    }
    json_object_object_add(o, "cards", text_or_null(res, 0, 16));
    PQclear(res);
    *ret = o;
    return 0;
}

int store_applications_insert(PGconn *conn, const struct producer_app *a, const char *accepted_at,
                              int priority, char *err, size_t err_size)
{
    char eth[8], photo[24], prio[8], sex[2] = {a->sex, 0};
    const struct producer_rep *rep = &a->rep;
    bool has_rep = rep->role[0] != '\0';
    const char *params[23] = {a->upstream_id,
                              a->kind,
                              a->doc_type,
                              a->doc_number,
                              a->ssn,
                              a->name,
                              sex,
                              eth,
                              a->birth_date,
                              a->birth_place,
                              a->nationality[0] ? a->nationality : "CHN",
                              a->outlet_code,
                              a->bank_name[0] ? a->bank_name : NULL,
                              a->photo_id ? photo : NULL,
                              a->replaced_card[0] ? a->replaced_card : NULL,
                              accepted_at,
                              prio,
                              has_rep ? rep->role : NULL,
                              has_rep ? rep->name : NULL,
                              has_rep ? rep->doc_type : NULL,
                              has_rep ? rep->doc_number : NULL,
                              has_rep ? (rep->nationality[0] ? rep->nationality : "CHN") : NULL,
                              has_rep ? rep->relationship : NULL};
    PGresult *res;
    int r = 0;

    snprintf(eth, sizeof(eth), "%d", a->ethnicity);
    snprintf(photo, sizeof(photo), "%" PRId64, a->photo_id);
    snprintf(prio, sizeof(prio), "%d", priority);
    res = db_exec(
        conn,
        "INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, "
        "  birth_date, birth_place, nationality, outlet_code, bank_name, photo_id, replaced_card_number, "
        "  accepted_at, priority, rep_role, rep_name, rep_doc_type, rep_doc_number, rep_nationality, "
        "  rep_relationship) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, "
        "  $21, $22, $23)",
        23, params);
    if (!db_ok(res)) {
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        snprintf(err, err_size, "%s",
                 strcmp(db_sqlstate(res), "23505") == 0
                     ? N_("an application with this upstream_id already exists")
                     : (msg ? msg : N_("database error")));
        r = PRODUCER_ERROR_DB;
    }
    PQclear(res);
    return r;
}

int store_applications_accept_day(PGconn *conn, const char *accepted_at, int *ret_yyyymmdd)
{
    const char *params[1] = {accepted_at};
    PGresult *res = db_exec(conn, "SELECT to_char(bureau_date($1::timestamptz), 'YYYYMMDD')", 1, params);
    int r = 0;

    if (!db_ok(res)) {
        /* 22xxx: the text is no time PostgreSQL reads; anything else is the database's trouble */
        r = strncmp(db_sqlstate(res), "22", 2) == 0 ? PRODUCER_ERROR_INPUT : PRODUCER_ERROR_DB;
        log_debug("store", "accept day: %s", PQresultErrorMessage(res));
    } else {
        *ret_yyyymmdd = atoi(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return r;
}

int store_applications_prior_card(PGconn *conn, const char *card_number, const char *person_key,
                                  const char *status, const char *issue_date)
{
    const char *params[4] = {card_number, person_key, status, issue_date};
    int r =
        store_command_count(conn, "old card",
                            "INSERT INTO card (card_number, person_key, status, issue_date, expiry_date) "
                            "VALUES ($1, $2, $3, $4, $4::date + interval '10 years') ON CONFLICT DO NOTHING",
                            4, params);

    return r < 0 ? r : r == 1;
}
