/* schedule.h — the working-day calendar for operators, and the forecast of applications that will be late */
#pragma once

#include <libpq-fe.h>
#include <stdbool.h>

/* Add one year's official schedule from a CSV file:
 *   year,2027,State Council notice of ...
 *   off,2027-01-01,2027-01-03,New Year
 *   work,2027-02-07,,makeup working day
 * In one transaction; then open applications waiting for that year get their deadlines.
 * Returns the number of applications whose deadline became known, or a negative error. */
int producer_calendar_import(PGconn *conn, const char *path);

/* At-risk forecast: where each open application stands in the claim order, when the lines' capacity reaches it,
 * and whether that is after its latest completion. Prints a report (or JSON); returns the number at risk. */
int producer_risk_report(PGconn *conn, bool json, int limit);
/* Only the count, for status and metrics. */
int producer_risk_count(PGconn *conn);
