/* limit.c — failed tries per address and per subject in the attempt_failure table (migration 0008) */
#include "store/limit.h"

#include "base/log.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void rollback(PGconn *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
}

int producer_limit_take(PGconn *conn, const struct producer_limit *lim, const char *subject,
                        const char *address, int64_t *ret_id)
{
    char window[16], per_address[16], per_pair[16], per_subject[16];
    const char *p[7] = {lim->kind,
                        subject && *subject ? subject : "?",
                        address && *address ? address : "?",
                        window,
                        per_address,
                        per_pair,
                        per_subject};
    PGresult *res;
    double wait;

    snprintf(window, sizeof(window), "%d", lim->window_s);
    snprintf(per_address, sizeof(per_address), "%d", lim->per_address);
    snprintf(per_pair, sizeof(per_pair), "%d", lim->per_subject_address);
    snprintf(per_subject, sizeof(per_subject), "%d", lim->per_subject);
    if (db_command(conn, "limit: begin", "BEGIN", 0, NULL) < 0)
        return PRODUCER_ERROR_DB;
    /* a failure lost in a crash costs nothing; waiting for the disk on every try would */
    if (db_command(conn, "limit: commit mode", "SET LOCAL synchronous_commit TO off", 0, NULL) < 0) {
        rollback(conn);
        return PRODUCER_ERROR_DB;
    }
    /* one address at a time, so that concurrent tries from it cannot all pass the count before one is
     * recorded
     */
    res = db_exec(conn, "SELECT pg_advisory_xact_lock(hashtext('attempt_failure'), hashtext(left($1, 64)))",
                  1, p + 2);
    if (!db_ok(res))
        goto fail;
    PQclear(res);
    res = db_exec(conn,
                  "DELETE FROM attempt_failure WHERE kind = $1 AND at < clock_now() - make_interval(secs => "
                  "$2::integer)",
                  2, (const char *const[]){p[0], window});
    if (!db_ok(res))
        goto fail;
    PQclear(res);
    /* for each limit that is reached: the time until its oldest failure leaves the window */
    res = db_exec(conn,
                  "WITH w AS (SELECT subject, address, at FROM attempt_failure "
                  "           WHERE kind = $1 AND at > clock_now() - make_interval(secs => $4::integer) "
                  "             AND (address = left($3, 64) OR subject = left($2, 64))) "
                  "SELECT coalesce(extract(epoch FROM greatest( "
                  "  CASE WHEN count(*) FILTER (WHERE address = left($3, 64)) >= $5::integer "
                  "       THEN min(at) FILTER (WHERE address = left($3, 64)) END, "
                  "  CASE WHEN count(*) FILTER (WHERE address = left($3, 64) AND subject = left($2, 64)) >= "
                  "$6::integer "
                  "       THEN min(at) FILTER (WHERE address = left($3, 64) AND subject = left($2, 64)) END, "
                  "  CASE WHEN count(*) FILTER (WHERE subject = left($2, 64)) >= $7::integer "
                  "       THEN min(at) FILTER (WHERE subject = left($2, 64)) END) "
                  "  + make_interval(secs => $4::integer) - clock_now()), 0) FROM w",
                  7, p);
    if (!db_ok(res) || PQntuples(res) != 1)
        goto fail;
    wait = strtod(PQgetvalue(res, 0, 0), NULL);
    PQclear(res);
    if (wait > 0) {
        if (db_command(conn, "limit: commit", "COMMIT", 0, NULL) < 0)
            return PRODUCER_ERROR_DB;
        return wait < 1 ? 1 : (int)ceil(wait);
    }
    res = db_exec(
        conn,
        "INSERT INTO attempt_failure (kind, subject, address) VALUES ($1, left($2, 64), left($3, 64)) "
        "RETURNING id",
        3, p);
    if (!db_ok(res) || PQntuples(res) != 1)
        goto fail;
    *ret_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return db_command(conn, "limit: commit", "COMMIT", 0, NULL);
fail:
    log_error("limit", "counting failed tries: %s",
              PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                  ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                  : PQerrorMessage(conn));
    PQclear(res);
    rollback(conn);
    return PRODUCER_ERROR_DB;
}

int producer_limit_forgive(PGconn *conn, int64_t id)
{
    char s[24];
    const char *p[1] = {s};

    snprintf(s, sizeof(s), "%" PRId64, id);
    return db_command(conn, "limit: forgive", "DELETE FROM attempt_failure WHERE id = $1::bigint", 1, p);
}
