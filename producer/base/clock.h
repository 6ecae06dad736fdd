/* clock.h — the business clock: real time, or real time moved to a pinned instant (CARDLINE_NOW) */
#pragma once

#include <stdbool.h>
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

/* Parse an instant in the forms above; returns 0 and sets *ret, or -1. Exposed for tests. */
int producer_clock_parse(const char *s, time_t *ret);
