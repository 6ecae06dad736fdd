/* calendar.h (store) — the working-day calendar, the business clock, and the deadline forecast's query */
#pragma once

#include "base/clock.h"
#include "store/db.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* The bureau's today as YYYYMMDD. */
int store_calendar_today(PGconn *conn, int *ret_yyyymmdd);

/* What `cardline clock` shows: bureau time now, today, the zone, and whether today is a working day. */
struct store_clock {
    char now[32];       /* YYYY-MM-DD HH:MI:SS bureau time */
    char today[16];     /* YYYY-MM-DD */
    char time_zone[64]; /* setting bureau_timezone */
    char working[64];   /* "a working day", "not a working day" or why it is unknown */
};
int store_calendar_clock(PGconn *conn, struct store_clock *ret);

/* The bureau's working days in [from, to] (NULL: 35 days ago, yesterday), Monday to Friday where a year's
 * official calendar is not loaded; days is malloc'd (free it; NULL when ndays is 0). PRODUCER_ERROR_INPUT
 * when from or to is not a date. */
struct store_accept_days {
    int today; /* YYYYMMDD */
    char from[11], to[11];
    char (*days)[11];
    int ndays;
};
int store_calendar_accept_days(PGconn *conn, const char *from, const char *to, struct store_accept_days *ret);

/* Rows of a calendar import, within the caller's transaction. PRODUCER_ERROR_INPUT with err (the database's
 * reason, or "that year or day is already in the calendar") when the row is refused. */
int store_calendar_add_year(PGconn *conn, const char *year, const char *source, char *err, size_t err_size);
/* kind "off" or "work"; to may be NULL for one day */
int store_calendar_add_days(PGconn *conn, const char *from, const char *to, const char *name,
                            const char *kind, char *err, size_t err_size);
/* Every application whose deadline was unknown (or had a problem) gets it recomputed (the trigger does it):
 * open ones, and produced ones whose card has not reached its holder yet (it still travels against that
 * deadline). Returns how many became known, or PRODUCER_ERROR_DB. */
int store_calendar_refresh_deadlines(PGconn *conn);
/* After an import: the year's working days, and the open applications still without a deadline. */
int store_calendar_year_summary(PGconn *conn, const char *year, long long *ret_working_days,
                                long long *ret_waiting);

/* [{year (int), source}] by year */
int store_calendar_years_json(PGconn *conn, json_object **ret);
/* date plus days working days / working days after from up to and including to. PRODUCER_ERROR_INPUT with err
 * (the database's reason, e.g. a year whose schedule is not loaded). ret gets the answer as text. */
int store_calendar_add_working_days(PGconn *conn, const char *date, int days, char *ret, size_t ret_size,
                                    char *err, size_t err_size);
int store_calendar_working_days_between(PGconn *conn, const char *from, const char *to, char *ret,
                                        size_t ret_size, char *err, size_t err_size);

/* The at-risk forecast (one query, see calendar.c) and the held applications near their latest completion:
 * {at_risk, deadline_unknown, cards_per_working_day, capacity_measured, cards_per_hour, lines,
 *  applications: [{application, upstream_id, outlet, queue_position, predicted_done, latest_completion,
 *  deadline, verdict, problem?}], held_near_latest_completion: [{application, upstream_id, outlet,
 *  latest_completion, reason}]} (the capacity fields only when something is at risk). */
int store_calendar_risk_json(PGconn *conn, int limit, json_object **ret);
/* Only the number at risk. */
int store_calendar_risk_count(PGconn *conn, int *ret_count);

/* A time a person wrote (checked by producer_time_parse) as PostgreSQL timestamptz text, a value without an
 * offset being in the bureau's time zone (setting bureau_timezone). 0, PRODUCER_ERROR_DB, or
 * PRODUCER_ERROR_INVALID (the setting is no usable zone name, ret too small). */
int store_calendar_time_text(PGconn *conn, const struct producer_time *t, char *ret, size_t ret_size);

/* For n timestamptz texts (as store_calendar_time_text writes them), in one round trip: each instant as
 * "YYYY-MM-DD HH:MM:SS+00" (UTC, which any session reads the same) in ret_utc[i], and whether it lies after
 * the business clock's now (CARDLINE_NOW respected) in ret_future[i]. 0, PRODUCER_ERROR_INVALID (a text that
 * is no such output), PRODUCER_ERROR_DB or PRODUCER_ERROR_NOMEM. */
int store_calendar_instants(PGconn *conn, const char *const *times, int n, char (*ret_utc)[32],
                            bool *ret_future);

/* The deadlines `cardline status` shows, for open applications (pending, in production, held):
 * {nearest: [{application, upstream_id, status, deadline, working_days_left (or null)}] (the limit nearest
 *  known deadlines, nearest first), unknown: n, unknown_reasons: [{reason, n}] (most frequent first)}. */
int store_calendar_deadlines_json(PGconn *conn, int limit, json_object **ret);
