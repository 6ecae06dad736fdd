/* schedule.h — the working-day calendar for operators, and the forecast of applications that will be late */
#pragma once

#include "base/clock.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Add one year's official schedule from a CSV file:
 *   year,2027,State Council notice of ...
 *   off,2027-01-01,2027-01-03,New Year
 *   work,2027-02-07,,makeup working day
 * In one transaction, with the deadlines that were unknown recomputed (open applications, and produced cards
 * not yet collected). Returns the number of applications whose deadline became known, or a negative error. */
int producer_calendar_import(PGconn *conn, const char *path);

/* The loaded years: [{year, source}] by year; *ret is a new json object the caller puts. */
int producer_calendar_years_json(PGconn *conn, json_object **ret);
/* date (YYYY-MM-DD) plus days working days, as YYYY-MM-DD in ret (11 bytes at least). PRODUCER_ERROR_INPUT
 * with the reason in err when a date falls in a year whose official schedule is not loaded (or is not a
 * date). */
int producer_calendar_deadline(PGconn *conn, const char *date, int days, char *ret, size_t ret_size,
                               char *err, size_t err_size);
/* The working days after from up to and including to, as text in ret; errors as for the deadline. */
int producer_calendar_workdays(PGconn *conn, const char *from, const char *to, char *ret, size_t ret_size,
                               char *err, size_t err_size);

/* A time or date a person wrote (a CLI argument, a web parameter), checked by producer_time_parse and turned
 * into what PostgreSQL reads without guessing: for PRODUCER_TIME_INSTANT timestamptz text (a value without an
 * offset in the bureau's time zone, setting bureau_timezone), for PRODUCER_TIME_DATE the day YYYY-MM-DD.
 * Every front end takes its times through this one function. Returns 0; PRODUCER_ERROR_INPUT with err naming
 * field and the accepted forms; PRODUCER_ERROR_DB. */
int producer_time_text(PGconn *conn, const char *text, enum producer_time_form form, const char *field,
                       char *ret, size_t ret_size, char *err, size_t err_size);

/* The deadline part of the status object (store_reads_status), the same for the CLI and the web: replaces
 * nearest_deadlines with the nearest KNOWN deadlines of open applications, nearest first ([{application,
 * upstream_id, status, deadline, working_days_left (null when a year in between is not loaded)}], 10 at
 * most), and adds deadlines_unknown: {count, reasons: [{reason, n}]} for the others. 0 or PRODUCER_ERROR_DB.
 */
int producer_status_deadlines(PGconn *conn, json_object *status);

enum producer_calendar_kind {
    PRODUCER_CALENDAR_COMMENT, /* a row whose first field starts with '#' */
    PRODUCER_CALENDAR_YEAR,
    PRODUCER_CALENDAR_OFF,
    PRODUCER_CALENDAR_WORK,
};

/* One row of a calendar file; the strings point into the record. */
struct producer_calendar_row {
    enum producer_calendar_kind kind;
    int year;              /* YEAR: 1900..9999 */
    const char *year_text; /* YEAR: the four digits */
    const char *source;    /* YEAR: where the schedule comes from, not empty */
    const char *kind_text; /* OFF, WORK: "off" or "work" */
    const char *from;      /* OFF, WORK: YYYY-MM-DD, a real day of the year */
    const char *to;        /* OFF: YYYY-MM-DD not before from, or NULL for one day; WORK: NULL */
    const char *name;      /* OFF, WORK: not empty */
};

struct csv_record;

/* Checks one calendar row, year being the year of the file's year row so far (0 = none yet): the pure part
 * of producer_calendar_import (fuzzed). Returns 0 with *ret filled, or PRODUCER_ERROR_INPUT with the reason
 * in err. */
int producer_calendar_row_parse(const struct csv_record *rec, int year, struct producer_calendar_row *ret,
                                char *err, size_t err_size);

/* At-risk forecast: where each open application stands in the claim order, when the lines' capacity reaches
 * it, and whether that is after its latest completion. Prints a report (or JSON); returns the number at risk.
 */
int producer_risk_report(PGconn *conn, bool json, int limit);
/* Only the count, for status and metrics. */
int producer_risk_count(PGconn *conn);
