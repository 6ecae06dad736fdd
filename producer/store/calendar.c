/* calendar.c (store) — the working-day calendar, the business clock, and the deadline forecast's query */
#include "store/calendar.h"

#include "base/i18n.h"
#include "base/log.h"
#include "store/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* A refused row or date: the database's own sentence, for the person who wrote the file or the argument. */
static int refused(PGresult *res, const char *what, char *err, size_t err_size)
{
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    log_debug("store", "%s: %s", what, PQresultErrorMessage(res));
    if (err && err_size)
        snprintf(err, err_size, "%s",
                 strcmp(db_sqlstate(res), "23505") == 0 ? N_("that year or day is already in the calendar")
                 : msg                                  ? msg
                                                        : N_("database error"));
    PQclear(res);
    return PRODUCER_ERROR_INPUT;
}

int store_calendar_today(PGconn *conn, int *ret_yyyymmdd)
{
    long long today;
    int r = store_query_number(conn, "today", "SELECT to_char(bureau_date(clock_now()), 'YYYYMMDD')", 0, NULL,
                               &today);

    if (r == 0)
        *ret_yyyymmdd = (int)today;
    return r;
}

int store_calendar_clock(PGconn *conn, struct store_clock *ret)
{
    struct store_clock c;
    PGresult *res = store_query(
        conn, "clock",
        "SELECT to_char(bureau_time(clock_now()), 'YYYY-MM-DD HH24:MI:SS'), bureau_today(), "
        "  (SELECT value FROM setting WHERE key = 'bureau_timezone'), "
        "  CASE WHEN extract(year FROM bureau_today())::integer IN (SELECT year FROM calendar_year) "
        "       THEN CASE WHEN working_day(bureau_today()) THEN 'a working day' "
        "                 ELSE 'not a working day' END "
        "       ELSE 'unknown: no official calendar for its year' END",
        0, NULL);

    if (!res)
        return PRODUCER_ERROR_DB;
    copy(c.now, sizeof(c.now), PQgetvalue(res, 0, 0));
    copy(c.today, sizeof(c.today), PQgetvalue(res, 0, 1));
    copy(c.time_zone, sizeof(c.time_zone), PQgetvalue(res, 0, 2));
    copy(c.working, sizeof(c.working), PQgetvalue(res, 0, 3));
    PQclear(res);
    *ret = c;
    return 0;
}

int store_calendar_accept_days(PGconn *conn, const char *from, const char *to, struct store_accept_days *ret)
{
    const char *params[2] = {from, to};
    struct store_accept_days d;
    PGresult *res = db_exec(
        conn,
        "WITH w AS (SELECT coalesce($1::date, bureau_today() - 35) AS f, "
        "                  coalesce($2::date, bureau_today() - 1) AS t) "
        "SELECT to_char(bureau_today(), 'YYYYMMDD'), to_char(w.f, 'YYYY-MM-DD'), to_char(w.t, 'YYYY-MM-DD'), "
        "  to_char(d, 'YYYY-MM-DD') "
        "FROM w LEFT JOIN LATERAL (SELECT d::date FROM generate_series(w.f, w.t, interval '1 day') AS d "
        "  WHERE CASE WHEN extract(year FROM d)::integer IN (SELECT year FROM calendar_year) "
        "             THEN working_day(d::date) ELSE extract(isodow FROM d) < 6 END) AS days ON true "
        "ORDER BY d",
        2, params);
    int n;

    if (!db_ok(res)) {
        int r = strcmp(db_sqlstate(res), "22007") == 0 || strcmp(db_sqlstate(res), "22008") == 0
                    ? PRODUCER_ERROR_INPUT
                    : PRODUCER_ERROR_DB;
        log_debug("store", "accepted days: %s", PQresultErrorMessage(res));
        PQclear(res);
        return r;
    }
    memset(&d, 0, sizeof(d));
    n = PQntuples(res);
    if (n > 0) {
        d.today = atoi(PQgetvalue(res, 0, 0));
        copy(d.from, sizeof(d.from), PQgetvalue(res, 0, 1));
        copy(d.to, sizeof(d.to), PQgetvalue(res, 0, 2));
    } else {
        copy(d.from, sizeof(d.from), "?");
        copy(d.to, sizeof(d.to), "?");
    }
    /* one row with a NULL day: the window holds no working day */
    if (n > 0 && !PQgetisnull(res, 0, 3)) {
        d.days = calloc((size_t)n, sizeof(*d.days));
        if (!d.days) {
            PQclear(res);
            return PRODUCER_ERROR_NOMEM;
        }
        for (int i = 0; i < n; i++)
            snprintf(d.days[i], sizeof(d.days[i]), "%.10s", PQgetvalue(res, i, 3));
        d.ndays = n;
    }
    PQclear(res);
    *ret = d;
    return 0;
}

int store_calendar_add_year(PGconn *conn, const char *year, const char *source, char *err, size_t err_size)
{
    const char *params[2] = {year, source};
    PGresult *res =
        db_exec(conn, "INSERT INTO calendar_year (year, source) VALUES ($1::integer, $2)", 2, params);

    if (!db_ok(res))
        return refused(res, "calendar year", err, err_size);
    PQclear(res);
    return 0;
}

int store_calendar_add_days(PGconn *conn, const char *from, const char *to, const char *name,
                            const char *kind, char *err, size_t err_size)
{
    const char *params[4] = {from, to, name, kind};
    PGresult *res =
        db_exec(conn,
                "INSERT INTO calendar_day (day, working, note) "
                "SELECT d::date, $4 = 'work', $3 "
                "FROM generate_series($1::date, coalesce($2::date, $1::date), interval '1 day') d",
                4, params);

    if (!db_ok(res))
        return refused(res, "calendar day", err, err_size);
    PQclear(res);
    return 0;
}

int store_calendar_refresh_deadlines(PGconn *conn)
{
    long long n;
    int r = store_query_number(
        conn, "recompute deadlines",
        "WITH touched AS ("
        "  UPDATE application a SET held_working_days = held_working_days "
        "  WHERE (deadline IS NULL OR deadline_problem IS NOT NULL) "
        "    AND (status IN ('pending', 'in_production', 'held') "
        "         OR status = 'produced' AND EXISTS (SELECT 1 FROM card c WHERE c.application_id = a.id "
        "              AND c.status IN ('good', 'in_transit', 'at_outlet'))) "
        "  RETURNING deadline) "
        "SELECT count(*) FILTER (WHERE deadline IS NOT NULL) FROM touched",
        0, NULL, &n);

    return r < 0 ? r : (int)n;
}

int store_calendar_year_summary(PGconn *conn, const char *year, long long *ret_working_days,
                                long long *ret_waiting)
{
    const char *params[1] = {year};
    PGresult *res = store_query(
        conn, "calendar summary",
        "SELECT (SELECT count(*) FROM generate_series(make_date($1::integer, 1, 1), "
        "          make_date($1::integer, 12, 31), interval '1 day') d WHERE working_day(d::date)), "
        "       (SELECT count(*) FROM application WHERE status IN ('pending', 'in_production', "
        "          'held') AND deadline IS NULL)",
        1, params);

    if (!res)
        return PRODUCER_ERROR_DB;
    *ret_working_days = atoll(PQgetvalue(res, 0, 0));
    *ret_waiting = atoll(PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

int store_calendar_years_json(PGconn *conn, json_object **ret)
{
    PGresult *res =
        store_query(conn, "calendar years", "SELECT year, source FROM calendar_year ORDER BY year", 0, NULL);
    json_object *a;

    if (!res)
        return PRODUCER_ERROR_DB;
    a = json_object_new_array();
    for (int i = 0; a && i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "year", json_object_new_int(atoi(PQgetvalue(res, i, 0))));
        json_object_object_add(o, "source", json_object_new_string(PQgetvalue(res, i, 1)));
        json_object_array_add(a, o);
    }
    PQclear(res);
    if (!a)
        return PRODUCER_ERROR_NOMEM;
    *ret = a;
    return 0;
}

static int one_value(PGconn *conn, const char *sql, const char *a, const char *b, char *ret, size_t ret_size,
                     char *err, size_t err_size)
{
    const char *params[2] = {a, b};
    PGresult *res = db_exec(conn, sql, 2, params);

    if (!db_ok(res)) {
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        log_debug("store", "calendar: %s", PQresultErrorMessage(res));
        if (err && err_size)
            snprintf(err, err_size, "%s", msg ? msg : N_("database error"));
        PQclear(res);
        return msg ? PRODUCER_ERROR_INPUT : PRODUCER_ERROR_DB;
    }
    snprintf(ret, ret_size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int store_calendar_add_working_days(PGconn *conn, const char *date, int days, char *ret, size_t ret_size,
                                    char *err, size_t err_size)
{
    char n[16];

    snprintf(n, sizeof(n), "%d", days);
    return one_value(conn, "SELECT add_working_days($1::date, $2::integer)", date, n, ret, ret_size, err,
                     err_size);
}

int store_calendar_working_days_between(PGconn *conn, const char *from, const char *to, char *ret,
                                        size_t ret_size, char *err, size_t err_size)
{
    return one_value(conn, "SELECT working_days_between($1::date, $2::date)", from, to, ret, ret_size, err,
                     err_size);
}

/* One query does the whole forecast so that it stays fast with a million open applications: a window function
 * ranks the queue in claim order, integer division by the daily capacity gives the working day on which each
 * one is reached, and a join with the next working days turns that into a date. */
static const char *const risk_sql =
    "WITH tz AS (SELECT value AS name FROM setting WHERE key = 'bureau_timezone'), "
    "recent AS ("
    "  SELECT count(*) AS n, min(at) AS since FROM event "
    "  WHERE kind IN ('produced', 'issued_at_counter') AND at > clock_now() - interval '1 hour'), "
    "lines AS ("
    "  SELECT greatest(1, count(*) FILTER (WHERE state = 'running'), "
    "                  CASE WHEN count(*) FILTER (WHERE state = 'running') = 0 THEN count(*) ELSE 0 END) AS "
    "n "
    "  FROM line), "
    "cap AS ("
    "  SELECT CASE WHEN r.n >= 20 "
    "              THEN r.n / greatest(extract(epoch FROM clock_now() - r.since) / 3600.0, 1.0 / 60) "
    "              ELSE l.n * (SELECT value::numeric FROM setting WHERE key = "
    "'nominal_cards_per_hour_per_line') "
    "         END AS per_hour, r.n >= 20 AS measured, l.n AS lines "
    "  FROM recent r, lines l), "
    "per_day AS ("
    "  SELECT greatest(1, floor(per_hour * (SELECT value::numeric FROM setting "
    "                                       WHERE key = 'production_hours_per_day')))::bigint AS n, "
    "         per_hour, measured, lines FROM cap), "
    /* cards on the lines come first; the pending ones in claim order, which the queue index already has */
    "busy AS (SELECT count(*) AS n FROM application WHERE status = 'in_production'), "
    "queue AS ("
    "  SELECT a.id, a.upstream_id, a.outlet_code, a.deadline, a.latest_completion, a.deadline_problem, "
    "         (a.latest_completion AT TIME ZONE (SELECT name FROM tz))::date AS lc_day, 1::bigint AS rn "
    "  FROM application a WHERE a.status = 'in_production' "
    "  UNION ALL "
    "  SELECT a.id, a.upstream_id, a.outlet_code, a.deadline, a.latest_completion, a.deadline_problem, "
    "         (a.latest_completion AT TIME ZONE (SELECT name FROM tz))::date, "
    "         (SELECT n FROM busy) + row_number() OVER (ORDER BY a.priority, a.latest_completion, a.id) "
    "  FROM application a WHERE a.status = 'pending'), "
    "days AS ("
    "  SELECT * FROM working_days_from((clock_now() AT TIME ZONE (SELECT name FROM tz))::date, "
    "    (SELECT least(2000, ((count(*) + (SELECT n FROM busy)) / (SELECT n FROM per_day))::integer + 2) "
    "     FROM application WHERE status = 'pending'))), "
    "forecast AS ("
    "  SELECT q.*, d.day AS done_day, "
    /* reached beyond the known calendar while its own latest completion is inside it: late */
    "         CASE WHEN q.latest_completion IS NULL THEN 'unknown' "
    "              WHEN q.latest_completion < clock_now() THEN 'missed' "
    "              WHEN d.day IS NULL OR d.day >= q.lc_day THEN 'late' ELSE 'ok' END AS verdict "
    "  FROM queue q LEFT JOIN days d ON d.idx = (q.rn - 1) / (SELECT n FROM per_day)) "
    "SELECT f.id, f.upstream_id, f.outlet_code, '', f.rn, f.done_day, "
    "       to_char(f.latest_completion AT TIME ZONE (SELECT name FROM tz), 'YYYY-MM-DD HH24:MI'), "
    "f.deadline, "
    "       f.verdict, coalesce(f.deadline_problem, ''), "
    "       (SELECT n FROM per_day), (SELECT round(per_hour, 1) FROM per_day), (SELECT measured FROM "
    "per_day), "
    "       (SELECT lines FROM per_day), "
    "       count(*) FILTER (WHERE f.verdict <> 'unknown') OVER (), count(*) FILTER (WHERE f.verdict = "
    "'unknown') OVER () "
    "FROM forecast f WHERE f.verdict <> 'ok' "
    "ORDER BY f.verdict = 'unknown', f.latest_completion, f.id LIMIT $1::integer";

static const char *const held_sql =
    "SELECT id, upstream_id, outlet_code, to_char(bureau_time(latest_completion), "
    "  'YYYY-MM-DD HH24:MI'), held_reason, held_for_applicant "
    "FROM application WHERE status = 'held' AND latest_completion IS NOT NULL "
    "  AND latest_completion < clock_now() + interval '7 days' ORDER BY latest_completion";

int store_calendar_risk_count(PGconn *conn, int *ret_count)
{
    const char *params[1] = {"1"};
    PGresult *res = store_query(conn, "risk", risk_sql, 1, params);

    if (!res)
        return PRODUCER_ERROR_DB;
    *ret_count = PQntuples(res) ? atoi(PQgetvalue(res, 0, 14)) : 0;
    PQclear(res);
    return 0;
}

static json_object *text_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : json_object_new_string(PQgetvalue(res, row, col));
}

int store_calendar_risk_json(PGconn *conn, int limit, json_object **ret)
{
    char lim[16];
    const char *params[1] = {lim};
    PGresult *res, *held;
    json_object *root, *list, *hl;
    int rows;

    snprintf(lim, sizeof(lim), "%d", limit);
    res = store_query(conn, "risk", risk_sql, 1, params);
    if (!res)
        return PRODUCER_ERROR_DB;
    held = store_query(conn, "held near latest completion", held_sql, 0, NULL);
    if (!held) {
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    rows = PQntuples(res);
    root = json_object_new_object();
    list = json_object_new_array();
    hl = json_object_new_array();
    json_object_object_add(root, "at_risk", json_object_new_int(rows > 0 ? atoi(PQgetvalue(res, 0, 14)) : 0));
    json_object_object_add(root, "deadline_unknown",
                           json_object_new_int(rows > 0 ? atoi(PQgetvalue(res, 0, 15)) : 0));
    if (rows > 0) {
        json_object_object_add(root, "cards_per_working_day",
                               json_object_new_int64(atoll(PQgetvalue(res, 0, 10))));
        json_object_object_add(root, "capacity_measured",
                               json_object_new_boolean(strcmp(PQgetvalue(res, 0, 12), "t") == 0));
        json_object_object_add(
            root, "cards_per_hour",
            json_object_new_double_s(atof(PQgetvalue(res, 0, 11)), PQgetvalue(res, 0, 11)));
        json_object_object_add(root, "lines", json_object_new_int(atoi(PQgetvalue(res, 0, 13))));
    }
    for (int i = 0; i < rows && i < limit; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "application", json_object_new_int64(atoll(PQgetvalue(res, i, 0))));
        json_object_object_add(o, "upstream_id", json_object_new_string(PQgetvalue(res, i, 1)));
        json_object_object_add(o, "outlet", json_object_new_string(PQgetvalue(res, i, 2)));
        json_object_object_add(o, "queue_position", json_object_new_int64(atoll(PQgetvalue(res, i, 4))));
        json_object_object_add(o, "predicted_done", text_or_null(res, i, 5));
        json_object_object_add(o, "latest_completion", text_or_null(res, i, 6));
        json_object_object_add(o, "deadline", text_or_null(res, i, 7));
        json_object_object_add(o, "verdict", json_object_new_string(PQgetvalue(res, i, 8)));
        if (PQgetvalue(res, i, 9)[0])
            json_object_object_add(o, "problem", json_object_new_string(PQgetvalue(res, i, 9)));
        json_object_array_add(list, o);
    }
    for (int i = 0; i < PQntuples(held); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "application", json_object_new_int64(atoll(PQgetvalue(held, i, 0))));
        json_object_object_add(o, "upstream_id", json_object_new_string(PQgetvalue(held, i, 1)));
        json_object_object_add(o, "outlet", json_object_new_string(PQgetvalue(held, i, 2)));
        json_object_object_add(o, "latest_completion", json_object_new_string(PQgetvalue(held, i, 3)));
        json_object_object_add(o, "reason", json_object_new_string(PQgetvalue(held, i, 4)));
        json_object_array_add(hl, o);
    }
    json_object_object_add(root, "applications", list);
    json_object_object_add(root, "held_near_latest_completion", hl);
    PQclear(res);
    PQclear(held);
    *ret = root;
    return 0;
}

/* --- times people write ----------------------------------------------------------------------------------
 */

int store_calendar_time_text(PGconn *conn, const struct producer_time *t, char *ret, size_t ret_size)
{
    char zone[64];
    int r;

    if (!t->has_offset && (r = store_settings_time_zone(conn, zone, sizeof(zone))) < 0)
        return r;
    return producer_time_sql(t, t->has_offset ? NULL : zone, ret, ret_size);
}

int store_calendar_instants(PGconn *conn, const char *const *times, int n, char (*ret_utc)[32],
                            bool *ret_future)
{
    char *list, *p;
    const char *params[1];
    size_t size = 3;
    PGresult *res;

    if (n <= 0)
        return 0;
    /* one array literal: the texts are digits, '-', ':', ' ', '+' and a zone name, none of which needs
     * escaping inside double quotes (anything that would is refused) */
    for (int i = 0; i < n; i++) {
        if (strpbrk(times[i], "\"\\{},"))
            return PRODUCER_ERROR_INVALID;
        size += strlen(times[i]) + 3;
    }
    list = p = malloc(size);
    if (!list)
        return PRODUCER_ERROR_NOMEM;
    *p++ = '{';
    for (int i = 0; i < n; i++)
        p += snprintf(p, size - (size_t)(p - list), "%s\"%s\"", i ? "," : "", times[i]);
    snprintf(p, size - (size_t)(p - list), "}");
    params[0] = list;
    res =
        store_query(conn, "instants",
                    "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00', t > clock_now() "
                    "FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(t, i) ORDER BY i",
                    1, params);
    free(list);
    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) != n) {
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    for (int i = 0; i < n; i++) {
        snprintf(ret_utc[i], sizeof(ret_utc[i]), "%s", PQgetvalue(res, i, 0));
        ret_future[i] = PQgetvalue(res, i, 1)[0] == 't';
    }
    PQclear(res);
    return 0;
}

/* --- the deadlines status shows --------------------------------------------------------------------------
 */

int store_calendar_deadlines_json(PGconn *conn, int limit, json_object **ret)
{
    char lim[16];
    const char *params[1] = {lim};
    PGresult *known, *unknown;
    json_object *o, *a, *why;
    long long total = 0;

    snprintf(lim, sizeof(lim), "%d", limit);
    /* working days left only where every year between today and the deadline is loaded */
    known = store_query(
        conn, "nearest known deadlines",
        "SELECT id, upstream_id, status, deadline, "
        "  CASE WHEN NOT EXISTS (SELECT 1 FROM generate_series(least(extract(year FROM bureau_today()), "
        "         extract(year FROM deadline))::integer, greatest(extract(year FROM bureau_today()), "
        "         extract(year FROM deadline))::integer) y "
        "       WHERE y NOT IN (SELECT year FROM calendar_year)) "
        "       THEN working_days_between(bureau_today(), deadline) END "
        "FROM application WHERE status IN ('pending', 'in_production', 'held') AND deadline IS NOT NULL "
        "ORDER BY deadline, id LIMIT $1::integer",
        1, params);
    if (!known)
        return PRODUCER_ERROR_DB;
    unknown =
        store_query(conn, "unknown deadlines",
                    "SELECT coalesce(deadline_problem, 'no reason recorded'), count(*) FROM application "
                    "WHERE status IN ('pending', 'in_production', 'held') AND deadline IS NULL "
                    "GROUP BY 1 ORDER BY 2 DESC, 1",
                    0, NULL);
    if (!unknown) {
        PQclear(known);
        return PRODUCER_ERROR_DB;
    }
    o = json_object_new_object();
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(known); i++) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "application", json_object_new_int64(atoll(PQgetvalue(known, i, 0))));
        json_object_object_add(d, "upstream_id", json_object_new_string(PQgetvalue(known, i, 1)));
        json_object_object_add(d, "status", json_object_new_string(PQgetvalue(known, i, 2)));
        json_object_object_add(d, "deadline", json_object_new_string(PQgetvalue(known, i, 3)));
        json_object_object_add(d, "working_days_left",
                               PQgetisnull(known, i, 4) ? NULL
                                                        : json_object_new_int(atoi(PQgetvalue(known, i, 4))));
        json_object_array_add(a, d);
    }
    why = json_object_new_array();
    for (int i = 0; i < PQntuples(unknown); i++) {
        json_object *w = json_object_new_object();
        long long n = atoll(PQgetvalue(unknown, i, 1));
        json_object_object_add(w, "reason", json_object_new_string(PQgetvalue(unknown, i, 0)));
        json_object_object_add(w, "n", json_object_new_int64(n));
        json_object_array_add(why, w);
        total += n;
    }
    json_object_object_add(o, "nearest", a);
    json_object_object_add(o, "unknown", json_object_new_int64(total));
    json_object_object_add(o, "unknown_reasons", why);
    PQclear(known);
    PQclear(unknown);
    *ret = o;
    return 0;
}
