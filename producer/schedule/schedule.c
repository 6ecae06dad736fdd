/* schedule.c — calendar years added by operators, and the forecast of which applications will miss their
 * delivery run given the queue order and the lines' capacity */
#include "schedule/schedule.h"
#include "store/store.h"

#include "base/csv.h"
#include "intake/rules.h"
#include "store/db.h"
#include "base/fileio.h"
#include "base/log.h"
#include "producer.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CALENDAR_FILE_MAX (256u * 1024u)

/* ISO weekday (1 = Monday) of a YYYY-MM-DD date inside the given year, or -1 when it is not one. Digits only:
 * sscanf would take signs and blanks inside the fields. */
static int iso_weekday(const char *s, int year)
{
    struct tm tm = {0};
    int y, m, d;
    time_t t;

    if (!producer_date_parse(s, &y, &m, &d) || y != year)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = 12;
    t = timegm(&tm);
    gmtime_r(&t, &tm);
    return tm.tm_wday == 0 ? 7 : tm.tm_wday;
}

#define CAL_ERROR(...)                                                                                       \
    do {                                                                                                     \
        snprintf(err, err_size, __VA_ARGS__);                                                                \
        return PRODUCER_ERROR_INPUT;                                                                         \
    } while (0)

int producer_calendar_row_parse(const struct csv_record *rec, int year, struct producer_calendar_row *ret,
                                char *err, size_t err_size)
{
    const char *kind = rec->fields[0];

    memset(ret, 0, sizeof(*ret));
    if (kind[0] == '#') {
        ret->kind = PRODUCER_CALENDAR_COMMENT;
        return 0;
    }
    if (strcmp(kind, "year") == 0) {
        const char *y = rec->nfields > 1 ? rec->fields[1] : "",
                   *source = rec->nfields > 2 ? rec->fields[2] : "";
        if (year || rec->nfields != 3 || strlen(y) != 4 || strspn(y, "0123456789") != 4 || !source[0])
            CAL_ERROR("expected one row 'year,YYYY,source of the schedule'");
        if (atoi(y) < 1900)
            CAL_ERROR("year %s is before 1900", y);
        ret->kind = PRODUCER_CALENDAR_YEAR;
        ret->year = atoi(y);
        ret->year_text = y;
        ret->source = source;
        return 0;
    }
    if (strcmp(kind, "off") == 0 || strcmp(kind, "work") == 0) {
        const char *from = rec->nfields > 1 ? rec->fields[1] : "",
                   *to = rec->nfields > 2 && rec->fields[2][0] ? rec->fields[2] : NULL,
                   *name = rec->nfields > 3 ? rec->fields[3] : "";
        int wd_from, wd_to;
        if (!year || rec->nfields != 4 || !name[0])
            CAL_ERROR("expected 'off,FROM,TO,name' or 'work,DATE,,name' after the year row");
        /* holidays are ranges; a makeup working day is one weekend day; all inside the year */
        wd_from = iso_weekday(from, year);
        wd_to = to ? iso_weekday(to, year) : wd_from;
        if (wd_from < 0 || wd_to < 0 || (to && strcmp(to, from) < 0))
            CAL_ERROR("dates must be YYYY-MM-DD in %d, FROM not after TO", year);
        if (strcmp(kind, "work") == 0 && (to || wd_from < 6))
            CAL_ERROR("a makeup working day is a single Saturday or Sunday");
        ret->kind = strcmp(kind, "work") == 0 ? PRODUCER_CALENDAR_WORK : PRODUCER_CALENDAR_OFF;
        ret->kind_text = kind;
        ret->from = from;
        ret->to = to;
        ret->name = name;
        return 0;
    }
    CAL_ERROR("unknown row kind '%s' (year, off, work)", kind);
}

#undef CAL_ERROR

static int calendar_rows(PGconn *conn, const char *path, const char *data, size_t len, int *ret_year)
{
    struct csv_record *rec = malloc(sizeof(*rec));
    size_t pos = 0;
    int line = 1, r, year = 0;

    if (!rec)
        return PRODUCER_ERROR_NOMEM;
    while ((r = csv_next(data, len, &pos, &line, rec)) == CSV_RECORD) {
        struct producer_calendar_row row;
        PGresult *res = NULL;
        char err[160];

        if (producer_calendar_row_parse(rec, year, &row, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s:%d: %s\n", path, rec->line, err);
            r = PRODUCER_ERROR_INPUT;
            break;
        }
        if (row.kind == PRODUCER_CALENDAR_COMMENT)
            continue;
        if (row.kind == PRODUCER_CALENDAR_YEAR) {
            const char *params[2] = {row.year_text, row.source};
            year = row.year;
            res =
                db_exec(conn, "INSERT INTO calendar_year (year, source) VALUES ($1::integer, $2)", 2, params);
        } else {
            const char *params[4] = {row.from, row.to, row.name, row.kind_text};
            res = db_exec(conn,
                          "INSERT INTO calendar_day (day, working, note) "
                          "SELECT d::date, $4 = 'work', $3 "
                          "FROM generate_series($1::date, coalesce($2::date, $1::date), interval '1 day') d",
                          4, params);
        }
        if (!db_ok(res)) {
            const char *state = db_sqlstate(res);
            fprintf(stderr, "%s:%d: %s\n", path, rec->line,
                    strcmp(state, "23505") == 0 ? "that year or day is already in the calendar"
                                                : PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
            PQclear(res);
            r = PRODUCER_ERROR_INPUT;
            break;
        }
        PQclear(res);
    }
    if (r < 0 && r != PRODUCER_ERROR_INPUT && r != PRODUCER_ERROR_NOMEM) {
        fprintf(stderr, "%s:%d: %s\n", path, line, csv_strerror(r));
        r = PRODUCER_ERROR_INPUT;
    }
    if (r >= 0 && !year) {
        fprintf(stderr, "%s: no 'year' row\n", path);
        r = PRODUCER_ERROR_INPUT;
    }
    free(rec);
    if (r >= 0)
        *ret_year = year;
    return r < 0 ? r : 0;
}

int producer_calendar_import(PGconn *conn, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    int year = 0, r;
    PGresult *res;

    r = producer_read_file(path, CALENDAR_FILE_MAX, &data, &len);
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", path, r == -EFBIG ? "file too large for a calendar" : strerror(-r));
        return PRODUCER_ERROR_IO;
    }
    if (db_command(conn, "begin", "BEGIN", 0, NULL) < 0) {
        free(data);
        return PRODUCER_ERROR_DB;
    }
    r = calendar_rows(conn, path, data, len, &year);
    free(data);
    if (r < 0) {
        PQclear(PQexec(conn, "ROLLBACK"));
        fprintf(stderr, "%s: nothing was imported\n", path);
        return r;
    }
    /* open applications that were waiting for this year's schedule get their deadlines now */
    res = db_exec(conn,
                  "UPDATE application SET held_working_days = held_working_days "
                  "WHERE status IN ('pending', 'in_production', 'held') "
                  "  AND (deadline IS NULL OR deadline_problem IS NOT NULL)",
                  0, NULL);
    if (!db_ok(res)) {
        log_error("calendar", "recompute deadlines: %s", PQresultErrorMessage(res));
        PQclear(res);
        PQclear(PQexec(conn, "ROLLBACK"));
        return PRODUCER_ERROR_DB;
    }
    PQclear(res);
    {
        char detail[64], y[8];
        const char *params[1] = {y};
        snprintf(y, sizeof(y), "%d", year);
        snprintf(detail, sizeof(detail), "calendar %d", year);
        if (store_event(conn, "calendar", "calendar_imported", NULL, NULL, NULL, detail) < 0 ||
            db_command(conn, "commit", "COMMIT", 0, NULL) < 0) {
            PQclear(PQexec(conn, "ROLLBACK"));
            return PRODUCER_ERROR_DB;
        }
        res = db_exec(
            conn,
            "SELECT (SELECT count(*) FROM generate_series(make_date($1::integer, 1, 1), "
            "          make_date($1::integer, 12, 31), interval '1 day') d WHERE working_day(d::date)), "
            "       (SELECT count(*) FROM application WHERE status IN ('pending', 'in_production', "
            "          'held') AND deadline IS NULL)",
            1, params);
        if (db_ok(res))
            printf("calendar %d imported: %s working days; %s open application(s) still without a deadline\n",
                   year, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
        PQclear(res);
    }
    return 0;
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

int producer_risk_count(PGconn *conn)
{
    const char *params[1] = {"1"};
    PGresult *res = db_exec(conn, risk_sql, 1, params);
    int n = PRODUCER_ERROR_DB;

    if (db_ok(res))
        n = PQntuples(res) ? atoi(PQgetvalue(res, 0, 14)) : 0;
    else
        log_error("risk", "%s", PQresultErrorMessage(res));
    PQclear(res);
    return n;
}

int producer_risk_report(PGconn *conn, bool json, int limit)
{
    char lim[16];
    const char *params[1] = {lim};
    PGresult *res, *held = NULL;
    int late = 0, unknown = 0, shown = 0, rows;

    snprintf(lim, sizeof(lim), "%d", limit);
    res = db_exec(conn, risk_sql, 1, params);

    if (!db_ok(res)) {
        log_error("risk", "%s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    held = db_exec(conn, held_sql, 0, NULL);
    if (!db_ok(held)) {
        log_error("risk", "%s", PQresultErrorMessage(held));
        PQclear(res);
        PQclear(held);
        return PRODUCER_ERROR_DB;
    }
    rows = PQntuples(res);
    if (rows > 0) {
        late = atoi(PQgetvalue(res, 0, 14));
        unknown = atoi(PQgetvalue(res, 0, 15));
    }
    if (json) {
        json_object *root = json_object_new_object(), *list = json_object_new_array(),
                    *hl = json_object_new_array();
        json_object_object_add(root, "at_risk", json_object_new_int(late));
        json_object_object_add(root, "deadline_unknown", json_object_new_int(unknown));
        if (rows > 0) {
            json_object_object_add(root, "cards_per_working_day",
                                   json_object_new_int64(atoll(PQgetvalue(res, 0, 10))));
            json_object_object_add(root, "capacity_measured",
                                   json_object_new_boolean(strcmp(PQgetvalue(res, 0, 12), "t") == 0));
        }
        for (int i = 0; i < rows && shown < limit; i++, shown++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "application", json_object_new_int64(atoll(PQgetvalue(res, i, 0))));
            json_object_object_add(o, "upstream_id", json_object_new_string(PQgetvalue(res, i, 1)));
            json_object_object_add(o, "outlet", json_object_new_string(PQgetvalue(res, i, 2)));
            json_object_object_add(o, "queue_position", json_object_new_int64(atoll(PQgetvalue(res, i, 4))));
            json_object_object_add(o, "predicted_done",
                                   PQgetisnull(res, i, 5) ? NULL
                                                          : json_object_new_string(PQgetvalue(res, i, 5)));
            json_object_object_add(o, "latest_completion",
                                   PQgetisnull(res, i, 6) ? NULL
                                                          : json_object_new_string(PQgetvalue(res, i, 6)));
            json_object_object_add(
                o, "deadline", PQgetisnull(res, i, 7) ? NULL : json_object_new_string(PQgetvalue(res, i, 7)));
            json_object_object_add(o, "verdict", json_object_new_string(PQgetvalue(res, i, 8)));
            if (PQgetvalue(res, i, 9)[0])
                json_object_object_add(o, "problem", json_object_new_string(PQgetvalue(res, i, 9)));
            json_object_array_add(list, o);
        }
        for (int i = 0; i < PQntuples(held); i++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "application", json_object_new_int64(atoll(PQgetvalue(held, i, 0))));
            json_object_object_add(o, "upstream_id", json_object_new_string(PQgetvalue(held, i, 1)));
            json_object_object_add(o, "latest_completion", json_object_new_string(PQgetvalue(held, i, 3)));
            json_object_object_add(o, "reason", json_object_new_string(PQgetvalue(held, i, 4)));
            json_object_array_add(hl, o);
        }
        json_object_object_add(root, "applications", list);
        json_object_object_add(root, "held_near_latest_completion", hl);
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
    } else {
        printf("At-risk forecast: %d application(s) predicted to miss their delivery run", late);
        if (rows > 0)
            printf(" (capacity %s cards/working day: %s cards/hour %s over %s line(s))",
                   PQgetvalue(res, 0, 10), PQgetvalue(res, 0, 11),
                   strcmp(PQgetvalue(res, 0, 12), "t") == 0 ? "measured" : "nominal", PQgetvalue(res, 0, 13));
        printf("; %d with no known deadline\n", unknown);
        for (int i = 0; i < rows && shown < limit; i++, shown++) {
            const char *v = PQgetvalue(res, i, 8);
            if (strcmp(v, "unknown") == 0)
                printf("  %-18s %-7s queue #%-7s deadline unknown: %s\n", PQgetvalue(res, i, 1),
                       PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
                       PQgetvalue(res, i, 9)[0] ? PQgetvalue(res, i, 9) : "no delivery run known");
            else if (strcmp(v, "missed") == 0)
                printf("  %-18s %-7s queue #%-7s MISSED: had to be done by %s for the run to %s (due %s)\n",
                       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
                       PQgetvalue(res, i, 6), PQgetvalue(res, i, 2), PQgetvalue(res, i, 7));
            else
                printf("  %-18s %-7s queue #%-7s reached ~%s but must be done by %s for the run to %s (due "
                       "%s)\n",
                       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
                       PQgetisnull(res, i, 5) ? "beyond the known calendar" : PQgetvalue(res, i, 5),
                       PQgetvalue(res, i, 6), PQgetvalue(res, i, 2), PQgetvalue(res, i, 7));
        }
        if (late + unknown > shown)
            printf("  ... %d more (--limit)\n", late + unknown - shown);
        if (PQntuples(held) > 0)
            printf("Held applications within a week of their latest completion:\n");
        for (int i = 0; i < PQntuples(held); i++)
            printf("  %-18s %-7s must be done by %s; held: %s\n", PQgetvalue(held, i, 1),
                   PQgetvalue(held, i, 2), PQgetvalue(held, i, 3), PQgetvalue(held, i, 4));
    }
    PQclear(res);
    PQclear(held);
    return late;
}
