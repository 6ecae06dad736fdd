/* fuzz_calendar.c — fuzz target for an official calendar file as `cardline calendar import` reads it: CSV
 * rows through producer_calendar_row_parse, in file order, as the importer checks them before writing a day
 */
#include "fuzz.h"
#include "base/csv.h"
#include "schedule/schedule.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An accepted date is exactly YYYY-MM-DD of that year, and a real day: it survives a round trip through
 * timegm. Returns the ISO weekday. */
static int checked_day(const char *s, int year)
{
    struct tm tm = {0};
    time_t t;

    CHECK(strlen(s) == 10 && s[4] == '-' && s[7] == '-');
    CHECK(strspn(s, "0123456789") == 4 && strspn(s + 5, "0123456789") == 2 &&
          strspn(s + 8, "0123456789") == 2);
    CHECK(atoi(s) == year);
    tm.tm_year = year - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = 12;
    t = timegm(&tm);
    gmtime_r(&t, &tm);
    CHECK(tm.tm_year == year - 1900 && tm.tm_mon == atoi(s + 5) - 1 && tm.tm_mday == atoi(s + 8));
    return tm.tm_wday == 0 ? 7 : tm.tm_wday;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct csv_record rec;
    struct producer_calendar_row row;
    size_t pos = 0;
    int line = 1, year = 0;
    char err[160];

    while (csv_next((const char *)data, size, &pos, &line, &rec) == CSV_RECORD) {
        err[0] = '\0';
        if (producer_calendar_row_parse(&rec, year, &row, err, sizeof(err)) < 0) {
            /* the importer stops at the first bad row, naming it */
            CHECK(err[0] && strlen(err) < sizeof(err));
            break;
        }
        switch (row.kind) {
        case PRODUCER_CALENDAR_COMMENT:
            break;
        case PRODUCER_CALENDAR_YEAR:
            CHECK(year == 0 && row.year >= 1900 && row.year <= 9999);
            CHECK(strlen(row.year_text) == 4 && atoi(row.year_text) == row.year && row.source[0]);
            year = row.year;
            break;
        case PRODUCER_CALENDAR_OFF:
            CHECK(year != 0 && strcmp(row.kind_text, "off") == 0 && row.name[0]);
            checked_day(row.from, year);
            if (row.to) {
                checked_day(row.to, year);
                CHECK(strcmp(row.from, row.to) <= 0);
            }
            break;
        case PRODUCER_CALENDAR_WORK:
            CHECK(year != 0 && strcmp(row.kind_text, "work") == 0 && row.name[0] && !row.to);
            CHECK(checked_day(row.from, year) >= 6);
            break;
        default:
            abort();
        }
    }
    return 0;
}
