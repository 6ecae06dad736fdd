/* clock.h — the business clock: real time, or real time moved to a pinned instant (CARDLINE_NOW) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* CARDLINE_NOW pins the clock that decides the bureau's "today", accepted dates, leases and deadlines, for a
 * test or a rehearsal; the clock then runs on from that instant. Accepted forms: YYYY-MM-DD (10:00 bureau
 * time), YYYY-MM-DD[T ]HH:MM[:SS] (bureau time, UTC+8: China has no summer time) and either of those
 * followed by Z, +HH, +HHMM or +HH:MM. CARDLINE_NOW_ANCHOR (unix seconds) is the real moment at which the
 * pinned instant holds, so that several processes of one test share one clock; without it, the process's
 * first reading of the clock is the anchor.
 *
 * Read the environment once. Returns 0, or PRODUCER_ERROR_INVALID with a message in err for a malformed
 * value; the clock is then the real one. Thread-safe; later calls return the first call's result. */
int producer_clock_init(char *err, size_t err_size);

/* Seconds the business clock is ahead of the real one (0 unless pinned). */
long long producer_clock_offset(void);

/* The business clock now. */
time_t producer_clock_now(void);

/* Whether CARDLINE_NOW pins the clock. */
bool producer_clock_pinned(void);

/* Parse an instant in the forms above (producer_time_parse, a date alone at 10:00, bureau time UTC+8);
 * returns 0 and sets *ret, or -1. Exposed for tests. */
int producer_clock_parse(const char *s, time_t *ret);

/* --- times and dates a person writes ---------------------------------------------------------------------
 * Every time or date that comes from a person (a CSV column, a CLI argument, a web parameter) goes through
 * producer_time_parse: ISO 8601 only, so that PostgreSQL's own readings ("yesterday", "now", "epoch",
 * "Jan 5") never reach a timestamptz. Without an offset the value is bureau time (setting bureau_timezone);
 * an offset (Z, +HH, +HHMM, +HH:MM, or -) is honoured. */

/* What the forms are, for messages and usage text. */
#define PRODUCER_TIME_FORMS "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], bureau time unless followed by Z or +HH:MM"
#define PRODUCER_DATE_FORMS "YYYY-MM-DD"

enum producer_time_form {
    PRODUCER_TIME_INSTANT, /* a date or a date-time, with or without an offset */
    PRODUCER_TIME_DATE,    /* a bureau day: YYYY-MM-DD alone */
};

struct producer_time {
    int year, month, day, hour, minute, second; /* as written; a date alone is 00:00:00 */
    int offset;                                 /* seconds east of UTC, when has_offset */
    bool has_time;                              /* a time of day was written */
    bool has_offset;                            /* fixed instant; otherwise bureau wall-clock time */
};

/* Parse text (bounded: at most 40 characters) as form says. Returns 0 with *ret filled, or
 * PRODUCER_ERROR_INPUT with err saying "<field> '<text>' is not a date...: write <forms>" (field names the
 * column, option or parameter). A fraction of a second is accepted and dropped. */
int producer_time_parse(const char *text, enum producer_time_form form, const char *field,
                        struct producer_time *ret, char *err, size_t err_size);

/* The value as PostgreSQL timestamptz input: "YYYY-MM-DD HH:MM:SS+HH:MM" when it has an offset, else
 * "YYYY-MM-DD HH:MM:SS <time_zone>" (time_zone: the bureau's IANA name, letters, digits, '/', '_', '+', '-').
 * Returns 0, or PRODUCER_ERROR_INVALID (zone name unusable, buffer too small). */
int producer_time_sql(const struct producer_time *t, const char *time_zone, char *buf, size_t size);

/* The instant, with bureau time taken as utc_offset seconds east of UTC (the clock's fixed UTC+8 when the
 * database cannot be asked). */
time_t producer_time_instant(const struct producer_time *t, int utc_offset);
