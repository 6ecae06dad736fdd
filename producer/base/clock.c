/* clock.c — the business clock, pinned by CARDLINE_NOW for tests and rehearsals (see clock.h) */
#include "base/clock.h"

#include "producer.h"
#include "base/rules.h"
#include "base/i18n.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUREAU_UTC_OFFSET (8 * 3600)

static pthread_once_t clock_once = PTHREAD_ONCE_INIT;
static long long clock_offset;
static bool clock_is_pinned;
static int clock_error;
static char clock_message[160];

static int digits(const char *s, int n, int *ret)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

/* Each part a fixed number of digits: no signs, blanks or short fields, as strtol or sscanf would take. */
static int time_parse(const char *s, enum producer_time_form form, struct producer_time *ret)
{
    struct producer_time t = {0};
    char day[11];

    if (strlen(s) < 10 || strlen(s) > 40)
        return -1;
    memcpy(day, s, 10);
    day[10] = '\0';
    if (!producer_date_parse(day, &t.year, &t.month, &t.day) || t.year < 1900)
        return -1;
    s += 10;
    if (form == PRODUCER_TIME_DATE) {
        if (*s != '\0')
            return -1;
        *ret = t;
        return 0;
    }
    if (*s == 'T' || *s == ' ') {
        if (digits(s + 1, 2, &t.hour) < 0 || s[3] != ':' || digits(s + 4, 2, &t.minute) < 0 || t.hour > 23 ||
            t.minute > 59)
            return -1;
        t.has_time = true;
        s += 6;
        if (*s == ':') {
            if (digits(s + 1, 2, &t.second) < 0 || t.second > 59)
                return -1;
            s += 3;
            if (*s == '.' || *s == ',') {
                size_t n = strspn(s + 1, "0123456789");
                if (n < 1 || n > 9)
                    return -1;
                s += 1 + n;
            }
        }
        if (*s == 'Z') {
            t.has_offset = true;
            s++;
        } else if (*s == '+' || *s == '-') {
            int zh, zm = 0, sign = *s == '-' ? -1 : 1;
            if (digits(s + 1, 2, &zh) < 0 || zh > 14)
                return -1;
            s += 3;
            if (*s == ':') {
                if (digits(s + 1, 2, &zm) < 0)
                    return -1;
                s += 3;
            } else if (isdigit((unsigned char)*s)) {
                if (digits(s, 2, &zm) < 0)
                    return -1;
                s += 2;
            }
            if (zm > 59)
                return -1;
            t.has_offset = true;
            t.offset = sign * (zh * 3600 + zm * 60);
        }
    }
    if (*s != '\0')
        return -1;
    *ret = t;
    return 0;
}

int producer_time_parse(const char *text, enum producer_time_form form, const char *field,
                        struct producer_time *ret, char *err, size_t err_size)
{
    char shown[44];
    size_t i;

    if (text && ret && time_parse(text, form, ret) == 0)
        return 0;
    /* echo what was written, bounded and printable, so the person sees which value is meant */
    for (i = 0; text && text[i] && i < 40; i++)
        shown[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
    snprintf(shown + i, sizeof(shown) - i, "%s", text && text[i] ? "..." : "");
    if (err && err_size)
        snprintf(
            err, err_size,
            /* the forms spelled out (PRODUCER_DATE_FORMS, PRODUCER_TIME_FORMS): one sentence to translate */
            form == PRODUCER_TIME_DATE
                ? _("%s '%s' is not a date: write YYYY-MM-DD")
                : _("%s '%s' is not a date or a time: write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], bureau "
                    "time unless followed by Z or +HH:MM"),
            field ? field : _("the value"), shown);
    return PRODUCER_ERROR_INPUT;
}

static bool zone_name_ok(const char *z)
{
    size_t n = z ? strlen(z) : 0;

    return n >= 1 && n <= 63 &&
           strspn(z, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") == n;
}

int producer_time_sql(const struct producer_time *t, const char *time_zone, char *buf, size_t size)
{
    int n;

    if (!t || !buf || size == 0)
        return PRODUCER_ERROR_INVALID;
    if (t->has_offset) {
        int a = t->offset < 0 ? -t->offset : t->offset;
        n = snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d%c%02d:%02d", t->year, t->month, t->day,
                     t->hour, t->minute, t->second, t->offset < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
    } else {
        if (!zone_name_ok(time_zone))
            return PRODUCER_ERROR_INVALID;
        n = snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d %s", t->year, t->month, t->day, t->hour,
                     t->minute, t->second, time_zone);
    }
    return n < 0 || (size_t)n >= size ? PRODUCER_ERROR_INVALID : 0;
}

time_t producer_time_instant(const struct producer_time *t, int utc_offset)
{
    struct tm tm = {0};

    tm.tm_year = t->year - 1900;
    tm.tm_mon = t->month - 1;
    tm.tm_mday = t->day;
    tm.tm_hour = t->hour;
    tm.tm_min = t->minute;
    tm.tm_sec = t->second;
    return timegm(&tm) - (t->has_offset ? t->offset : utc_offset);
}

int producer_clock_parse(const char *s, time_t *ret)
{
    struct producer_time t;

    if (!s || time_parse(s, PRODUCER_TIME_INSTANT, &t) < 0 || t.year < 1970)
        return -1;
    if (!t.has_time)
        t.hour = 10; /* the bureau's day has begun: its windows are open */
    *ret = producer_time_instant(&t, BUREAU_UTC_OFFSET);
    return 0;
}

static void clock_setup(void)
{
    const char *pin = getenv("CARDLINE_NOW"), *anchor_s = getenv("CARDLINE_NOW_ANCHOR");
    time_t pinned, anchor = time(NULL);

    if (!pin || !*pin)
        return;
    if (producer_clock_parse(pin, &pinned) < 0) {
        snprintf(clock_message, sizeof(clock_message),
                 _("CARDLINE_NOW='%.40s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH[:MM]]"), pin);
        clock_error = PRODUCER_ERROR_INVALID;
        return;
    }
    if (anchor_s && *anchor_s) {
        char *end;
        long long a;
        errno = 0;
        a = strtoll(anchor_s, &end, 10);
        if (errno || *end || a <= 0) {
            snprintf(clock_message, sizeof(clock_message),
                     _("CARDLINE_NOW_ANCHOR='%.24s' is not a time in unix seconds"), anchor_s);
            clock_error = PRODUCER_ERROR_INVALID;
            return;
        }
        anchor = (time_t)a;
    }
    clock_offset = (long long)pinned - (long long)anchor;
    clock_is_pinned = true;
}

int producer_clock_init(char *err, size_t err_size)
{
    pthread_once(&clock_once, clock_setup);
    if (clock_error && err && err_size)
        snprintf(err, err_size, "%s", clock_message);
    return clock_error;
}

long long producer_clock_offset(void)
{
    pthread_once(&clock_once, clock_setup);
    return clock_offset;
}

bool producer_clock_pinned(void)
{
    pthread_once(&clock_once, clock_setup);
    return clock_is_pinned;
}

time_t producer_clock_now(void)
{
    return time(NULL) + (time_t)producer_clock_offset();
}
