/* schedule.c — calendar years added by operators, and the forecast of which applications will miss their
 * delivery run given the queue order and the lines' capacity */
#include "schedule/schedule.h"
#include "store/calendar.h"
#include "store/store.h"

#include "base/csv.h"
#include "base/rules.h"
#include "store/db.h"
#include "base/fileio.h"
#include "base/i18n.h"
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
            CAL_ERROR(_("expected one row 'year,YYYY,source of the schedule'"));
        if (atoi(y) < 1900)
            CAL_ERROR(_("year %s is before 1900"), y);
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
            CAL_ERROR(_("expected 'off,FROM,TO,name' or 'work,DATE,,name' after the year row"));
        /* holidays are ranges; a makeup working day is one weekend day; all inside the year */
        wd_from = iso_weekday(from, year);
        wd_to = to ? iso_weekday(to, year) : wd_from;
        if (wd_from < 0 || wd_to < 0 || (to && strcmp(to, from) < 0))
            CAL_ERROR(_("dates must be YYYY-MM-DD in %d, FROM not after TO"), year);
        if (strcmp(kind, "work") == 0 && (to || wd_from < 6))
            CAL_ERROR(_("a makeup working day is a single Saturday or Sunday"));
        ret->kind = strcmp(kind, "work") == 0 ? PRODUCER_CALENDAR_WORK : PRODUCER_CALENDAR_OFF;
        ret->kind_text = kind;
        ret->from = from;
        ret->to = to;
        ret->name = name;
        return 0;
    }
    CAL_ERROR(_("unknown row kind '%s' (year, off, work)"), kind);
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
        char err[160];
        int w;

        if (producer_calendar_row_parse(rec, year, &row, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s:%d: %s\n", path, rec->line, err);
            r = PRODUCER_ERROR_INPUT;
            break;
        }
        if (row.kind == PRODUCER_CALENDAR_COMMENT)
            continue;
        if (row.kind == PRODUCER_CALENDAR_YEAR) {
            year = row.year;
            w = store_calendar_add_year(conn, row.year_text, row.source, err, sizeof(err));
        } else {
            w = store_calendar_add_days(conn, row.from, row.to, row.name, row.kind_text, err, sizeof(err));
        }
        if (w < 0) {
            fprintf(stderr, "%s:%d: %s\n", path, rec->line, _(err));
            r = PRODUCER_ERROR_INPUT;
            break;
        }
    }
    if (r < 0 && r != PRODUCER_ERROR_INPUT && r != PRODUCER_ERROR_NOMEM) {
        fprintf(stderr, "%s:%d: %s\n", path, line, csv_strerror(r));
        r = PRODUCER_ERROR_INPUT;
    }
    if (r >= 0 && !year) {
        fprintf(stderr, _("%s: no 'year' row\n"), path);
        r = PRODUCER_ERROR_INPUT;
    }
    free(rec);
    if (r >= 0)
        *ret_year = year;
    return r < 0 ? r : 0;
}

int producer_calendar_import(PGconn *conn, const char *path)
{
    char *data = NULL, y[8], detail[80];
    size_t len = 0;
    int year = 0, known, r;
    long long working, waiting;

    r = producer_read_file(path, CALENDAR_FILE_MAX, &data, &len);
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", path, r == -EFBIG ? _("file too large for a calendar") : strerror(-r));
        return PRODUCER_ERROR_IO;
    }
    if (store_begin(conn) < 0) {
        free(data);
        return PRODUCER_ERROR_DB;
    }
    r = calendar_rows(conn, path, data, len, &year);
    free(data);
    if (r < 0) {
        store_rollback(conn);
        fprintf(stderr, _("%s: nothing was imported\n"), path);
        return r;
    }
    /* applications that were waiting for this year's schedule get their deadlines now: open ones, and
     * produced cards still on their way to the outlet, which travel against the same deadline */
    known = store_calendar_refresh_deadlines(conn);
    if (known < 0) {
        log_error("calendar", "%s: the deadlines could not be recomputed; nothing was imported", path);
        store_rollback(conn);
        return PRODUCER_ERROR_DB;
    }
    snprintf(y, sizeof(y), "%d", year);
    snprintf(detail, sizeof(detail), "calendar %d, %d deadline(s) now known", year, known);
    if (store_event(conn, "calendar", "calendar_imported", NULL, NULL, NULL, detail) < 0 ||
        store_commit(conn) < 0) {
        store_rollback(conn);
        return PRODUCER_ERROR_DB;
    }
    if (store_calendar_year_summary(conn, y, &working, &waiting) == 0)
        printf(
            _("calendar %d imported: %lld working days; %d deadline(s) now known; %lld open application(s) "
              "still without a deadline\n"),
            year, working, known, waiting);
    return known;
}

int producer_calendar_years_json(PGconn *conn, json_object **ret)
{
    if (!conn || !ret)
        return PRODUCER_ERROR_INVALID;
    return store_calendar_years_json(conn, ret);
}

int producer_calendar_deadline(PGconn *conn, const char *date, int days, char *ret, size_t ret_size,
                               char *err, size_t err_size)
{
    if (!conn || !date || !ret || ret_size < 11)
        return PRODUCER_ERROR_INVALID;
    return store_calendar_add_working_days(conn, date, days, ret, ret_size, err, err_size);
}

int producer_calendar_workdays(PGconn *conn, const char *from, const char *to, char *ret, size_t ret_size,
                               char *err, size_t err_size)
{
    if (!conn || !from || !to || !ret || ret_size == 0)
        return PRODUCER_ERROR_INVALID;
    return store_calendar_working_days_between(conn, from, to, ret, ret_size, err, err_size);
}

int producer_time_text(PGconn *conn, const char *text, enum producer_time_form form, const char *field,
                       char *ret, size_t ret_size, char *err, size_t err_size)
{
    struct producer_time t;
    int r;

    if (!ret || ret_size < 11)
        return PRODUCER_ERROR_INVALID;
    r = producer_time_parse(text, form, field, &t, err, err_size);
    if (r < 0)
        return r;
    if (form == PRODUCER_TIME_DATE) {
        snprintf(ret, ret_size, "%04d-%02d-%02d", t.year, t.month, t.day);
        return 0;
    }
    if (!conn)
        return PRODUCER_ERROR_INVALID;
    r = store_calendar_time_text(conn, &t, ret, ret_size);
    if (r < 0 && err && err_size)
        snprintf(err, err_size, _("%s: the bureau's time zone (setting bureau_timezone) could not be read"),
                 field ? field : "time");
    return r < 0 ? PRODUCER_ERROR_DB : 0;
}

int producer_status_deadlines(PGconn *conn, json_object *status)
{
    json_object *d = NULL, *unknown;
    int r;

    if (!conn || !status)
        return PRODUCER_ERROR_INVALID;
    r = store_calendar_deadlines_json(conn, 10, &d);
    if (r < 0)
        return r;
    unknown = json_object_new_object();
    json_object_object_add(unknown, "count", json_object_get(json_object_object_get(d, "unknown")));
    json_object_object_add(unknown, "reasons", json_object_get(json_object_object_get(d, "unknown_reasons")));
    json_object_object_add(status, "nearest_deadlines",
                           json_object_get(json_object_object_get(d, "nearest")));
    json_object_object_add(status, "deadlines_unknown", unknown);
    json_object_put(d);
    return 0;
}

int producer_risk_count(PGconn *conn)
{
    int n, r = store_calendar_risk_count(conn, &n);

    if (r < 0) {
        log_error("risk", "the forecast could not be read from the database");
        return r;
    }
    return n;
}

static const char *field(json_object *o, const char *key)
{
    json_object *v = json_object_object_get(o, key);
    return v ? json_object_get_string(v) : "";
}

int producer_risk_report(PGconn *conn, bool json, int limit)
{
    json_object *root = NULL, *list, *held;
    int late, unknown, shown = 0;
    size_t rows, nheld;

    if (store_calendar_risk_json(conn, limit, &root) < 0) {
        log_error("risk", "the forecast could not be read from the database");
        return PRODUCER_ERROR_DB;
    }
    late = json_object_get_int(json_object_object_get(root, "at_risk"));
    unknown = json_object_get_int(json_object_object_get(root, "deadline_unknown"));
    list = json_object_object_get(root, "applications");
    held = json_object_object_get(root, "held_near_latest_completion");
    rows = json_object_array_length(list);
    nheld = json_object_array_length(held);
    if (json) {
        /* the text's extra details stay out of the JSON, which keeps the shape documented for it */
        json_object_object_del(root, "cards_per_hour");
        json_object_object_del(root, "lines");
        for (size_t i = 0; i < nheld; i++)
            json_object_object_del(json_object_array_get_idx(held, i), "outlet");
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return late;
    }
    printf(_("At-risk forecast: %d application(s) predicted to miss their delivery run"), late);
    if (json_object_object_get(root, "cards_per_working_day"))
        printf(_(" (capacity %s cards/working day: %s cards/hour %s over %s line(s))"),
               field(root, "cards_per_working_day"), field(root, "cards_per_hour"),
               json_object_get_boolean(json_object_object_get(root, "capacity_measured")) ? _("measured")
                                                                                          : _("nominal"),
               field(root, "lines"));
    printf(_("; %d with no known deadline\n"), unknown);
    for (size_t i = 0; i < rows; i++, shown++) {
        json_object *o = json_object_array_get_idx(list, i);
        const char *v = field(o, "verdict");
        if (strcmp(v, "unknown") == 0)
            printf(_("  %-18s %-7s queue #%-7s deadline unknown: %s\n"), field(o, "upstream_id"),
                   field(o, "outlet"), field(o, "queue_position"),
                   json_object_object_get(o, "problem") ? field(o, "problem") : "no delivery run known");
        else if (strcmp(v, "missed") == 0)
            printf(_("  %-18s %-7s queue #%-7s MISSED: had to be done by %s for the run to %s (due %s)\n"),
                   field(o, "upstream_id"), field(o, "outlet"), field(o, "queue_position"),
                   field(o, "latest_completion"), field(o, "outlet"), field(o, "deadline"));
        else
            printf(_("  %-18s %-7s queue #%-7s reached ~%s but must be done by %s for the run to %s (due "
                     "%s)\n"),
                   field(o, "upstream_id"), field(o, "outlet"), field(o, "queue_position"),
                   json_object_object_get(o, "predicted_done") ? field(o, "predicted_done")
                                                               : "beyond the known calendar",
                   field(o, "latest_completion"), field(o, "outlet"), field(o, "deadline"));
    }
    if (late + unknown > shown)
        printf(_("  ... %d more (--limit)\n"), late + unknown - shown);
    if (nheld > 0)
        printf(_("Held applications within a week of their latest completion:\n"));
    for (size_t i = 0; i < nheld; i++) {
        json_object *o = json_object_array_get_idx(held, i);
        printf(_("  %-18s %-7s must be done by %s; held: %s\n"), field(o, "upstream_id"), field(o, "outlet"),
               field(o, "latest_completion"), field(o, "reason"));
    }
    json_object_put(root);
    return late;
}
