/* queue.c — the production queue in PostgreSQL: claims with leases, heartbeats, requeue and the rescuer */
#include "store/queue.h"

#include "store/store.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void copy_field(char *dst, size_t size, const PGresult *res, int row, int col)
{
    snprintf(dst, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

void store_queue_claimer_init(struct producer_claimer *c, PGconn *conn, const char *owner, int lease_seconds)
{
    memset(c, 0, sizeof(*c));
    c->conn = conn;
    c->owner = owner;
    c->lease_seconds = lease_seconds;
}

/* The dates every card of the day shares, fetched once a minute instead of in every claim. */
static int refresh_day(struct producer_claimer *c)
{
    int64_t now = mono_ns();
    PGresult *res;

    if (c->day_ns && now - c->day_ns < 60 * (int64_t)1000000000)
        return 0;
    res =
        db_exec(c->conn,
                "SELECT to_char(bureau_date(clock_now()), 'YYYYMMDD'), bureau_date(clock_now()), "
                "  (bureau_date(clock_now()) + make_interval(years => (SELECT value::integer FROM setting "
                "                                                WHERE key = 'card_validity_years')))::date, "
                "  bureau_date(clock_now()) + (SELECT value::integer FROM setting WHERE key = "
                "'temporary_validity_days')",
                0, NULL);
    if (!db_ok(res) || PQntuples(res) != 1) {
        log_debug("queue", "reading today's dates: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    copy_field(c->today, sizeof(c->today), res, 0, 0);
    copy_field(c->issue_date, sizeof(c->issue_date), res, 0, 1);
    copy_field(c->expiry_date, sizeof(c->expiry_date), res, 0, 2);
    copy_field(c->temporary_expiry_date, sizeof(c->temporary_expiry_date), res, 0, 3);
    PQclear(res);
    c->day_ns = now;
    return 0;
}

#define CLAIM_STATEMENT "cardline_claim"
#define CLAIM_SQL(filter)                                                                                    \
    "UPDATE application a SET status = 'in_production', locked_by = $1, "                                    \
    "  lease_until = clock_now() + make_interval(secs => $2::integer), attempts = a.attempts + 1, "          \
    "  step = 'claimed', updated_at = clock_now() "                                                          \
    "FROM (SELECT id FROM application WHERE status = 'pending' " filter " "                                  \
    "      ORDER BY priority, latest_completion, id FOR UPDATE SKIP LOCKED LIMIT 1) c "                      \
    "WHERE a.id = c.id "                                                                                     \
    "RETURNING a.id, a.upstream_id, a.kind, a.doc_type, a.doc_number, a.ssn, a.name, a.sex, "                \
    "  a.ethnicity, a.birth_date, a.birth_place, a.nationality, a.outlet_code, "                             \
    "  coalesce(a.bank_name, ''), coalesce(a.photo_id, 0), "                                                 \
    "  coalesce(a.replaced_card_number, ''), a.attempts"
#define CLAIM_COUNTER_STATEMENT "cardline_claim_counter"

static void claim_row(const struct producer_claimer *c, const PGresult *res, struct producer_claim *ret)
{
    struct producer_app *a = &ret->app;

    memset(ret, 0, sizeof(*ret));
    a->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    copy_field(ret->id_text, sizeof(ret->id_text), res, 0, 0);
    copy_field(a->upstream_id, sizeof(a->upstream_id), res, 0, 1);
    copy_field(a->kind, sizeof(a->kind), res, 0, 2);
    copy_field(a->doc_type, sizeof(a->doc_type), res, 0, 3);
    copy_field(a->doc_number, sizeof(a->doc_number), res, 0, 4);
    copy_field(a->ssn, sizeof(a->ssn), res, 0, 5);
    copy_field(a->name, sizeof(a->name), res, 0, 6);
    a->sex = PQgetvalue(res, 0, 7)[0];
    a->ethnicity = atoi(PQgetvalue(res, 0, 8));
    copy_field(a->birth_date, sizeof(a->birth_date), res, 0, 9);
    copy_field(a->birth_place, sizeof(a->birth_place), res, 0, 10);
    copy_field(a->nationality, sizeof(a->nationality), res, 0, 11);
    copy_field(a->outlet_code, sizeof(a->outlet_code), res, 0, 12);
    copy_field(a->bank_name, sizeof(a->bank_name), res, 0, 13);
    a->photo_id = strtoll(PQgetvalue(res, 0, 14), NULL, 10);
    copy_field(a->replaced_card, sizeof(a->replaced_card), res, 0, 15);
    a->attempts = atoi(PQgetvalue(res, 0, 16));
    snprintf(ret->today, sizeof(ret->today), "%s", c->today);
    snprintf(ret->issue_date, sizeof(ret->issue_date), "%s", c->issue_date);
    snprintf(ret->expiry_date, sizeof(ret->expiry_date), "%s",
             strcmp(a->kind, "temporary") == 0 ? c->temporary_expiry_date : c->expiry_date);
}

int store_queue_claim(struct producer_claimer *c, struct producer_claim *ret)
{
    char lease[16];
    const char *params[2] = {c->owner, lease};
    PGresult *res;
    int r = 0;

    if (refresh_day(c) < 0)
        return PRODUCER_ERROR_DB;
    snprintf(lease, sizeof(lease), "%d", c->lease_seconds);
    /* prepared once per session: the claim is the queue's hot path and planning it costs more than running it
     */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!c->prepared) {
            /* a counter line issues temporary cards only, while the applicant waits at the window, and only
             * a counter line makes them (the measures: issued on the spot) */
            res = PQprepare(c->conn, c->counter ? CLAIM_COUNTER_STATEMENT : CLAIM_STATEMENT,
                            c->counter ? CLAIM_SQL("AND kind = 'temporary'")
                                       : CLAIM_SQL("AND kind <> 'temporary'"),
                            2, NULL);
            /* 42P05: another claimer on this session prepared it already */
            if (!db_ok(res) && strcmp(db_sqlstate(res), "42P05") != 0) {
                log_debug("queue", "prepare claim: %s", PQresultErrorMessage(res));
                PQclear(res);
                return PRODUCER_ERROR_DB;
            }
            PQclear(res);
            c->prepared = true;
        }
        res = PQexecPrepared(c->conn, c->counter ? CLAIM_COUNTER_STATEMENT : CLAIM_STATEMENT, 2, params, NULL,
                             NULL, 0);
        /* a reconnected session has lost its prepared statements */
        if (strcmp(db_sqlstate(res), "26000") == 0) {
            PQclear(res);
            c->prepared = false;
            continue;
        }
        break;
    }
    if (!db_ok(res)) {
        log_debug("queue", "claim: %s", PQresultErrorMessage(res));
        r = PRODUCER_ERROR_DB;
    } else if (PQntuples(res) == 1) {
        claim_row(c, res, ret);
        r = 1;
    }
    PQclear(res);
    return r;
}

int store_queue_requeue(PGconn *conn, const char *app_id, const char *owner, const char *line_id,
                        const char *card_number, const char *cause)
{
    const char *p_card[2] = {card_number, line_id};
    const char *p_app[2] = {app_id, owner};
    int r = 0;

    /* a session already gone cannot requeue: the lease runs out and the rescuer returns the application */
    if (PQstatus(conn) == CONNECTION_BAD || store_begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    if (!card_number) {
        r = store_command_count(
            conn, "requeue",
            "UPDATE application SET status = 'pending', locked_by = NULL, lease_until = NULL, "
            "  step = NULL, attempts = attempts - 1, updated_at = clock_now() "
            "WHERE id = $1 AND locked_by = $2 AND status = 'in_production' AND step = 'claimed'",
            2, p_app);
        if (r != 1) {
            store_rollback(conn);
            return r < 0 ? r : 0;
        }
    } else {
        if (db_command(conn, "unused card",
                       "UPDATE card SET status = 'unused', finished_at = clock_now() "
                       "WHERE card_number = $1",
                       1, p_card) < 0 ||
            db_command(conn, "unfed",
                       "INSERT INTO stock_move (line_id, kind, quantity, card_number) "
                       "VALUES ($2, 'unfed', 1, $1)",
                       2, p_card) < 0 ||
            (r = store_command_count(
                 conn, "requeue",
                 "UPDATE application SET status = 'pending', locked_by = NULL, lease_until = NULL, "
                 "  step = NULL, attempts = attempts - 1, updated_at = clock_now() "
                 "WHERE id = $1 AND locked_by = $2 AND status = 'in_production'",
                 2, p_app)) < 0 ||
            store_event(conn, line_id, "feed_failed", app_id, card_number, NULL, cause) < 0) {
            store_rollback(conn);
            return PRODUCER_ERROR_DB;
        }
    }
    if (store_commit(conn) < 0)
        return PRODUCER_ERROR_DB;
    return r == 1 ? 1 : 0;
}

int store_queue_heartbeat(PGconn *conn, const char *owner, int lease_seconds, const int64_t *ids, size_t n)
{
    char lease[16], list[64 * 24] = "{";
    const char *params[3] = {owner, lease, list};
    size_t o = 1;

    snprintf(lease, sizeof(lease), "%d", lease_seconds);
    for (size_t i = 0; i < n && o < sizeof(list) - 24; i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%" PRId64, o > 1 ? "," : "", ids[i]);
    snprintf(list + o, sizeof(list) - o, "}");
    if (db_command(conn, "heartbeat",
                   "UPDATE application SET lease_until = clock_now() + make_interval(secs => $2::integer) "
                   "WHERE status = 'in_production' AND locked_by = $1 AND id = ANY ($3::bigint[])",
                   3, params) < 0)
        return PRODUCER_ERROR_DB;
    return db_command(conn, "heartbeat", "UPDATE line SET heartbeat_at = clock_now() WHERE controller = $1",
                      1, params);
}

int store_queue_rescue_expired(PGconn *conn, const char *actor)
{
    PGresult *res;
    const char *params[1] = {actor};
    int n = 0;

    if (store_begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    /* one rescuer at a time; the others skip this round */
    res = db_exec(conn, "SELECT pg_try_advisory_xact_lock(hashtext('cardline.rescue'))", 0, NULL);
    if (!db_ok(res) || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        store_rollback(conn);
        return 0;
    }
    PQclear(res);
    res = db_exec(
        conn,
        "WITH expired AS ("
        "  SELECT id, step, attempts FROM application "
        "  WHERE status = 'in_production' AND lease_until < clock_now() FOR UPDATE), "
        "spoiled AS ("
        "  UPDATE card c SET status = 'spoiled', finished_at = clock_now(), "
        "    spoil_reason = 'interrupted: controller lost during ' || coalesce(e.step, 'production') "
        "  FROM expired e WHERE c.application_id = e.id "
        "    AND c.status IN ('allocated', 'printing', 'encoding', 'ejecting') "
        "  RETURNING c.card_number, c.application_id, c.line_id), "
        "requeued AS ("
        "  UPDATE application a SET "
        "    status = CASE WHEN a.attempts >= m.max AND e.step IS DISTINCT FROM 'claimed' THEN 'held' "
        "                  ELSE 'pending' END, "
        "    held_reason = CASE WHEN a.attempts >= m.max AND e.step IS DISTINCT FROM 'claimed' THEN "
        "      'production interrupted ' || a.attempts || ' times; check the line before releasing' END, "
        "    held_since = CASE WHEN a.attempts >= m.max AND e.step IS DISTINCT FROM 'claimed' THEN "
        "clock_now() "
        "                 END, "
        "    attempts = a.attempts - CASE WHEN e.step = 'claimed' THEN 1 ELSE 0 END, "
        "    locked_by = NULL, lease_until = NULL, step = NULL, updated_at = clock_now() "
        "  FROM expired e, (SELECT value::integer AS max FROM setting WHERE key = 'max_attempts') m "
        "  WHERE a.id = e.id RETURNING a.id, a.status) "
        "INSERT INTO event (actor, kind, application_id, card_number, detail) "
        "SELECT $1, 'rescued', r.id, s.card_number, 'lease expired; application ' || r.status "
        "FROM requeued r LEFT JOIN spoiled s ON s.application_id = r.id "
        "RETURNING application_id",
        1, params);
    if (!db_ok(res)) {
        log_debug("queue", "rescue: %s", PQresultErrorMessage(res));
        PQclear(res);
        store_rollback(conn);
        return PRODUCER_ERROR_DB;
    }
    n = PQntuples(res);
    PQclear(res);
    if (store_commit(conn) < 0)
        return PRODUCER_ERROR_DB;
    if (n > 0)
        store_work_notify(conn);
    return n;
}

int store_queue_work_left(PGconn *conn)
{
    return store_queue_work_left_for(conn, NULL);
}

int store_queue_work_left_for(PGconn *conn, const struct producer_claimer *c)
{
    /* a line waits only for what it may claim: temporary cards on counter lines, the rest elsewhere */
    const char *params[1] = {!c ? NULL : c->counter ? "t" : "f"};
    PGresult *res =
        db_exec(conn,
                "SELECT EXISTS (SELECT 1 FROM application WHERE status = 'pending' "
                "                 AND ($1::boolean IS NULL OR (kind = 'temporary') = $1::boolean)) "
                "    OR EXISTS (SELECT 1 FROM application WHERE status = 'in_production')",
                1, params);
    int left = !db_ok(res) || strcmp(PQgetvalue(res, 0, 0), "t") == 0;

    PQclear(res);
    return left;
}
