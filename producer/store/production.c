/* production.c — cards in production and the lines' state in PostgreSQL; the rows render and chip read */
#include "store/production.h"

#include "store/store.h"
#include "base/log.h"
#include "store/shipments.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_field(char *dst, size_t size, const PGresult *res, int row, int col)
{
    snprintf(dst, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

int store_production_settings(PGconn *conn, struct store_line_settings *ret)
{
    PGresult *res = db_exec(conn,
                            "SELECT (SELECT value FROM setting WHERE key = 'card_number_prefix'), "
                            "       (SELECT value FROM setting WHERE key = 'max_attempts'), "
                            "       (SELECT value FROM setting WHERE key = 'region_code')",
                            0, NULL);
    int r = PRODUCER_ERROR_DB;

    if (db_ok(res) && PQntuples(res) == 1) {
        snprintf(ret->card_prefix, sizeof(ret->card_prefix), "%s", PQgetvalue(res, 0, 0));
        ret->max_attempts = atoi(PQgetvalue(res, 0, 1));
        snprintf(ret->region, sizeof(ret->region), "%s", PQgetvalue(res, 0, 2));
        r = 0;
    } else {
        log_debug("production", "settings: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return r;
}

int store_production_register_line(PGconn *conn, const char *line_id, const char *controller,
                                   const char *printer, const char *encoder, int lease_seconds)
{
    char lease[16];
    const char *params[5] = {line_id, controller, printer, lease, encoder};
    PGresult *res;
    int r;

    snprintf(lease, sizeof(lease), "%d", lease_seconds);
    res = db_exec(conn,
                  "INSERT INTO line (id, controller, printer, encoder, state, heartbeat_at) "
                  "VALUES ($1, $2, $3, $5, 'running', clock_now()) "
                  "ON CONFLICT (id) DO UPDATE SET controller = $2, printer = $3, encoder = $5, "
                  "  state = 'running', state_reason = NULL, heartbeat_at = clock_now() "
                  "WHERE line.state <> 'running' OR line.heartbeat_at IS NULL "
                  "   OR line.heartbeat_at < clock_now() - make_interval(secs => $4::integer) "
                  "RETURNING id",
                  5, params);
    if (!db_ok(res)) {
        log_debug("production", "register line: %s", PQresultErrorMessage(res));
        r = PRODUCER_ERROR_DB;
    } else {
        r = PQntuples(res) == 1 ? 1 : 0;
    }
    PQclear(res);
    return r;
}

int store_production_stop_line(PGconn *conn, const char *line_id)
{
    const char *params[1] = {line_id};

    return db_command(
        conn, "stop line",
        "UPDATE line SET state = 'stopped', controller = NULL WHERE id = $1 AND state = 'running'", 1,
        params);
}

int store_production_pause_line(PGconn *conn, const char *line_id, const char *cause)
{
    const char *params[2] = {line_id, cause};

    return db_command(conn, "pause line", "UPDATE line SET state = 'paused', state_reason = $2 WHERE id = $1",
                      2, params);
}

int store_production_outlet_known(PGconn *conn, const char *outlet_code)
{
    const char *params[1] = {outlet_code};
    PGresult *res = NULL;
    int r = store_query_row(conn, "outlet check", "SELECT 1 FROM outlet WHERE code = $1", 1, params, &res);

    PQclear(res);
    return r;
}

int store_production_earlier_card(PGconn *conn, const char *card_number, const char *ssn, char ret_status[16],
                                  bool *ret_same_person)
{
    const char *params[2] = {card_number, ssn};
    PGresult *res = NULL;
    int r =
        store_query_row(conn, "earlier card check",
                        "SELECT status, person_key = $2 FROM card WHERE card_number = $1", 2, params, &res);

    if (r == 1) {
        snprintf(ret_status, 16, "%s", PQgetvalue(res, 0, 0));
        *ret_same_person = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    }
    PQclear(res);
    return r;
}

int store_production_other_card(PGconn *conn, const char *ssn, bool temporary, const char *except,
                                char ret_card[16], char ret_status[16])
{
    const char *params[2] = {ssn, temporary ? "t" : "f"};
    PGresult *res = NULL;
    int r = store_query_row(
        conn, "existing cards check",
        "SELECT card_number, status FROM card WHERE person_key = $1 AND temporary = $2::boolean "
        "  AND status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good', 'in_transit', "
        "                 'at_outlet', 'issued') "
        "ORDER BY created_at",
        2, params, &res);

    if (r == 1) {
        r = 0;
        for (int i = 0; i < PQntuples(res); i++) {
            if (except && strcmp(PQgetvalue(res, i, 0), except) == 0)
                continue;
            snprintf(ret_card, 16, "%s", PQgetvalue(res, i, 0));
            snprintf(ret_status, 16, "%s", PQgetvalue(res, i, 1));
            r = 1;
            break;
        }
    }
    PQclear(res);
    return r;
}

int store_production_photo(PGconn *conn, int64_t photo_id, uint8_t **ret_bytes, size_t *ret_len)
{
    char id[24];
    const char *params[1] = {id};
    PGresult *res;
    uint8_t *copy;
    size_t len;
    int r = 0;

    snprintf(id, sizeof(id), "%" PRId64, photo_id);
    /* binary: the bytes as they are */
    res = PQexecParams(conn, "SELECT bytes FROM photo WHERE id = $1", 1, NULL, params, NULL, NULL, 1);
    if (!db_ok(res)) {
        log_debug("production", "photo: %s", PQresultErrorMessage(res));
        r = PRODUCER_ERROR_DB;
    } else if (PQntuples(res) == 1) {
        len = (size_t)PQgetlength(res, 0, 0);
        copy = malloc(len ? len : 1);
        if (!copy) {
            r = PRODUCER_ERROR_NOMEM;
        } else {
            memcpy(copy, PQgetvalue(res, 0, 0), len);
            *ret_bytes = copy;
            *ret_len = len;
            r = 1;
        }
    }
    PQclear(res);
    return r;
}

int store_production_hold(PGconn *conn, const char *app_id, const char *owner, const char *line_id,
                          const char *reason)
{
    const char *params[3] = {app_id, owner, reason};
    int r;

    if (store_begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    /* validation holds wait for the applicant (new photo, corrected data): their days extend the deadline */
    r = store_command_count(
        conn, "hold",
        "UPDATE application SET status = 'held', held_reason = $3, held_since = clock_now(), "
        "  held_for_applicant = true, locked_by = NULL, lease_until = NULL, step = NULL, "
        "  updated_at = clock_now() "
        "WHERE id = $1 AND locked_by = $2 AND status = 'in_production'",
        3, params);
    if (r != 1 || store_event(conn, line_id, "held", app_id, NULL, NULL, reason) < 0) {
        store_rollback(conn);
        return r == 0 ? 0 : PRODUCER_ERROR_DB;
    }
    if (store_commit(conn) < 0)
        return PRODUCER_ERROR_DB;
    return 1;
}

int store_production_allocate(PGconn *conn, const struct store_allocation *a, char ret_card_number[10])
{
    const char *params[8] = {a->app_id,     a->owner,       a->line_id, a->person_key,
                             a->issue_date, a->expiry_date, a->prefix,  a->temporary ? "t" : "f"};
    const char *pc[3];
    char card[10];
    PGresult *res;

    if (store_begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    res = db_exec(
        conn,
        "INSERT INTO card (card_number, application_id, person_key, status, line_id, printer, encoder, "
        "  issue_date, expiry_date, temporary) "
        "SELECT $7 || lpad(nextval('card_number_seq')::text, 8, '0'), $1, $4, 'allocated', $3, "
        "  l.printer, l.encoder, $5, $6, $8 FROM line l WHERE l.id = $3 "
        "  AND EXISTS (SELECT 1 FROM application WHERE id = $1 AND locked_by = $2 "
        "              AND status = 'in_production') "
        "RETURNING card_number",
        8, params);
    if (!db_ok(res) || PQntuples(res) != 1) {
        int r = strcmp(db_sqlstate(res), "23505") == 0 ? STORE_PRODUCTION_DUPLICATE
                : db_ok(res)                           ? PRODUCER_ERROR_NOT_FOUND
                                                       : PRODUCER_ERROR_DB;
        if (r == PRODUCER_ERROR_DB)
            log_debug("production", "allocate: %s", PQresultErrorMessage(res));
        PQclear(res);
        store_rollback(conn);
        return r;
    }
    copy_field(card, sizeof(card), res, 0, 0);
    PQclear(res);
    pc[0] = a->line_id;
    pc[1] = card;
    pc[2] = a->app_id;
    if (db_command(conn, "record feed",
                   "INSERT INTO stock_move (line_id, kind, quantity, card_number) VALUES ($1, 'fed', 1, $2)",
                   2, pc) < 0 ||
        db_command(conn, "step", "UPDATE application SET step = 'feeding' WHERE id = $1", 1, pc + 2) < 0 ||
        store_event(conn, a->line_id, "allocated", a->app_id, card, NULL, NULL) < 0 ||
        store_commit(conn) < 0) {
        store_rollback(conn);
        return PRODUCER_ERROR_DB;
    }
    snprintf(ret_card_number, 10, "%s", card);
    return 0;
}

int store_production_step(PGconn *conn, const char *app_id, const char *owner, const char *card_number,
                          const char *status)
{
    const char *params[4] = {card_number, status, app_id, owner};
    int r;

    if (store_begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    r = store_command_count(conn, "card step",
                            "UPDATE application SET step = $1 WHERE id = $2 AND locked_by = $3 AND status = "
                            "'in_production'",
                            3, params + 1);
    if (r == 1)
        r = store_command_count(
            conn, "card step",
            "UPDATE card SET status = $2 WHERE card_number = $1 AND status NOT IN ('spoiled', 'unused')", 2,
            params);
    if (r != 1) {
        store_rollback(conn);
        return r < 0 ? r : PRODUCER_ERROR_NOT_FOUND;
    }
    return store_commit(conn);
}

int store_production_spoil(PGconn *conn, const char *app_id, const char *owner, const char *line_id,
                           const char *card_number, const char *reason, const char *hold_reason,
                           int max_attempts)
{
    char max[12];
    const char *p_card[2] = {card_number, reason};
    const char *p_app[4] = {app_id, owner, max, hold_reason};

    snprintf(max, sizeof(max), "%d", max_attempts);
    if (store_begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    if (db_command(conn, "spoil card",
                   "UPDATE card SET status = 'spoiled', spoil_reason = $2, finished_at = clock_now() "
                   "WHERE card_number = $1 AND status NOT IN ('spoiled', 'unused')",
                   2, p_card) < 0 ||
        store_command_count(conn, "requeue",
                            "UPDATE application SET "
                            "  status = CASE WHEN attempts >= $3::integer THEN 'held' ELSE 'pending' END, "
                            "  held_reason = CASE WHEN attempts >= $3::integer THEN $4 END, "
                            "  held_since = CASE WHEN attempts >= $3::integer THEN clock_now() END, "
                            "  held_for_applicant = false, "
                            "  locked_by = NULL, lease_until = NULL, step = NULL, updated_at = clock_now() "
                            "WHERE id = $1 AND locked_by = $2 AND status = 'in_production'",
                            4, p_app) < 0 ||
        store_event(conn, line_id, "spoiled", app_id, card_number, NULL, reason) < 0) {
        store_rollback(conn);
        return PRODUCER_ERROR_DB;
    }
    return store_commit(conn);
}

int store_production_spoil_lost(PGconn *conn, const char *card_number)
{
    const char *p[1] = {card_number};

    return db_command(
        conn, "spoil lost card",
        "UPDATE card SET status = 'spoiled', finished_at = clock_now(), "
        "  spoil_reason = 'application withdrawn from the line (cancelled or lease lost)' "
        "WHERE card_number = $1 AND status IN ('allocated', 'printing', 'encoding', 'ejecting') "
        "  AND NOT EXISTS (SELECT 1 FROM application a WHERE a.id = card.application_id "
        "                  AND a.status = 'in_production')",
        1, p);
}

int store_production_finish(PGconn *conn, const struct store_finish *f, char ret_shipment[19])
{
    const char *p_card[4] = {f->card_number, f->atr_hex, f->chip_id_hex, f->temporary ? "issued" : "good"};
    const char *p_app[2] = {f->app_id, f->owner};
    const char *p_line[1] = {f->line_id};
    const char *p_old[1] = {f->replaced_card};
    char shipment[19] = "";
    int r;

    if (store_begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    /* the events the database writes itself (packing) name this line */
    PQclear(db_exec(conn, "SELECT set_config('cardline.actor', $1, true)", 1, p_line));
    r = store_command_count(
        conn, "produced",
        "UPDATE application SET status = 'produced', produced_at = clock_now(), locked_by = NULL, "
        "  lease_until = NULL, step = NULL, updated_at = clock_now() "
        "WHERE id = $1 AND locked_by = $2 AND status = 'in_production'",
        2, p_app);
    if (r == 1)
        r = store_command_count(
            conn, "good card",
            "UPDATE card SET status = $4, atr = $2, chip_id = $3, finished_at = clock_now() "
            "WHERE card_number = $1 AND status = 'ejecting'",
            4, p_card);
    if (r != 1)
        goto fail;
    r = PRODUCER_ERROR_DB;
    if (f->replaced_card &&
        db_command(
            conn, "blacklist",
            "UPDATE card SET blacklisted_at = coalesce(blacklisted_at, clock_now()) WHERE card_number = $1",
            1, p_old) < 0)
        goto fail;
    if (store_event(conn, f->line_id, f->temporary ? "issued_at_counter" : "produced", f->app_id,
                    f->card_number, NULL, f->chip_id_hex) < 0)
        goto fail;
    /* into its outlet's open shipment (the database records the packing in the chain of custody) */
    if (!f->temporary && store_shipments_pack(conn, f->card_number, f->outlet_code, shipment) < 0)
        goto fail;
    if (store_commit(conn) < 0)
        return PRODUCER_ERROR_DB;
    snprintf(ret_shipment, 19, "%s", shipment);
    return 0;
fail:
    store_rollback(conn);
    return r < 0 ? r : PRODUCER_ERROR_NOT_FOUND;
}

#define RENDER_PLACEHOLDER_DIGITS "00000000"

int store_production_render_row(PGconn *conn, const char *app_id, struct store_render_row *ret)
{
    const char *params[1] = {app_id};
    struct store_render_row row;
    PGresult *res;
    int r = 0;

    /* binary results: the photo's bytes come as they are; text columns are text either way */
    res = PQexecParams(conn,
                       "SELECT a.name, a.ssn, coalesce(a.bank_name, ''), p.bytes, "
                       "       coalesce(c.card_number, "
                       "                (SELECT value FROM setting WHERE key = 'card_number_prefix') || "
                       "'" RENDER_PLACEHOLDER_DIGITS "'), "
                       "       to_char(coalesce(c.issue_date, bureau_date(clock_now())), 'YYYY-MM-DD'), "
                       "       c.card_number IS NOT NULL, a.kind, "
                       /* the card's expiry, else the one a card made today would get (as the line's claim) */
                       "       to_char(coalesce(c.expiry_date, CASE WHEN a.kind = 'temporary' "
                       "         THEN bureau_date(clock_now()) + (SELECT value::integer FROM setting "
                       "                                          WHERE key = 'temporary_validity_days') "
                       "         ELSE (bureau_date(clock_now()) + make_interval(years => "
                       "           (SELECT value::integer FROM setting "
                       "            WHERE key = 'card_validity_years')))::date END), 'YYYY-MM-DD') "
                       "FROM application a "
                       "LEFT JOIN photo p ON p.id = a.photo_id "
                       "LEFT JOIN LATERAL (SELECT card_number, issue_date, expiry_date FROM card "
                       "                   WHERE application_id = a.id AND status IN ('good', 'issued') "
                       "                   ORDER BY card_number DESC LIMIT 1) c ON true "
                       "WHERE a.id::text = $1 OR a.upstream_id = $1",
                       1, NULL, params, NULL, NULL, 1);
    if (!db_ok(res)) {
        log_debug("production", "render row: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    memset(&row, 0, sizeof(row));
    copy_field(row.name, sizeof(row.name), res, 0, 0);
    copy_field(row.ssn, sizeof(row.ssn), res, 0, 1);
    copy_field(row.bank_name, sizeof(row.bank_name), res, 0, 2);
    copy_field(row.card_number, sizeof(row.card_number), res, 0, 4);
    copy_field(row.issue_date, sizeof(row.issue_date), res, 0, 5);
    /* a binary boolean is one byte, 1 for true */
    row.has_card = PQgetlength(res, 0, 6) == 1 && PQgetvalue(res, 0, 6)[0] == 1;
    copy_field(row.kind, sizeof(row.kind), res, 0, 7);
    copy_field(row.expiry_date, sizeof(row.expiry_date), res, 0, 8);
    if (!PQgetisnull(res, 0, 3)) {
        row.photo_len = (size_t)PQgetlength(res, 0, 3);
        row.photo = malloc(row.photo_len ? row.photo_len : 1);
        if (!row.photo)
            r = PRODUCER_ERROR_NOMEM;
        else
            memcpy(row.photo, PQgetvalue(res, 0, 3), row.photo_len);
    }
    PQclear(res);
    if (r == 0)
        *ret = row;
    return r;
}

int store_production_chip_row(PGconn *conn, const char *app, const char *card, struct store_chip_row *ret)
{
    const char *params[2] = {app, card};
    struct store_chip_row row;
    PGresult *res = db_exec(
        conn,
        "SELECT a.id, a.status = 'in_production' AND a.lease_until > clock_now(), a.ssn, a.name, a.sex, "
        "a.ethnicity, "
        "  a.birth_place, to_char(a.birth_date, 'YYYYMMDD'), c.card_number, c.status, "
        "  coalesce(to_char(c.issue_date, 'YYYYMMDD'), ''), coalesce(to_char(c.expiry_date, "
        "'YYYYMMDD'), ''), "
        "  (SELECT value FROM setting WHERE key = 'region_code') "
        "FROM application a "
        "LEFT JOIN LATERAL (SELECT card_number, status, issue_date, expiry_date FROM card "
        "  WHERE application_id = a.id AND ($2::text IS NULL OR card_number = $2) "
        "  ORDER BY (status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good')) DESC, "
        "created_at DESC "
        "  LIMIT 1) c ON true "
        "WHERE a.id::text = $1 OR a.upstream_id = $1",
        2, params);

    if (!db_ok(res)) {
        log_debug("production", "chip row: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    memset(&row, 0, sizeof(row));
    copy_field(row.app_id, sizeof(row.app_id), res, 0, 0);
    row.leased = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    copy_field(row.ssn, sizeof(row.ssn), res, 0, 2);
    copy_field(row.name, sizeof(row.name), res, 0, 3);
    row.sex = PQgetvalue(res, 0, 4)[0];
    row.ethnicity = atoi(PQgetvalue(res, 0, 5));
    copy_field(row.birth_place, sizeof(row.birth_place), res, 0, 6);
    copy_field(row.birth_date, sizeof(row.birth_date), res, 0, 7);
    row.has_card = !PQgetisnull(res, 0, 8);
    copy_field(row.card_number, sizeof(row.card_number), res, 0, 8);
    copy_field(row.card_status, sizeof(row.card_status), res, 0, 9);
    copy_field(row.issue_date, sizeof(row.issue_date), res, 0, 10);
    copy_field(row.expiry_date, sizeof(row.expiry_date), res, 0, 11);
    copy_field(row.region, sizeof(row.region), res, 0, 12);
    PQclear(res);
    *ret = row;
    return 0;
}

int store_production_record_chip(PGconn *conn, const char *card_number, const char *atr_hex,
                                 const char *chip_id_hex, const char *actor, const char *app_id,
                                 const char *detail)
{
    const char *params[4] = {card_number, atr_hex, chip_id_hex, actor};

    if (db_command(conn, "record chip",
                   "UPDATE card SET atr = $2, chip_id = $3, encoder = $4 WHERE card_number = $1", 4,
                   params) < 0 ||
        store_event(conn, actor, "chip_personalized", app_id, card_number, NULL, detail) < 0)
        return PRODUCER_ERROR_DB;
    return 0;
}
