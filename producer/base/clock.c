/* clock.c — the business clock, pinned by CARDLINE_NOW for tests and rehearsals (see clock.h) */
#include "base/clock.h"

#include "producer.h"
#include "base/rules.h"

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

int producer_clock_parse(const char *s, time_t *ret)
{
    struct tm tm = {0};
    int y, mo, d, h = 10, mi = 0, sec = 0, zone = BUREAU_UTC_OFFSET;
    char day[11];
    time_t t;

    if (!s || strlen(s) < 10)
        return -1;
    memcpy(day, s, 10);
    day[10] = '\0';
    if (!producer_date_parse(day, &y, &mo, &d) || y < 1970)
        return -1;
    s += 10;
    if (*s == 'T' || *s == ' ') {
        if (digits(s + 1, 2, &h) < 0 || s[3] != ':' || digits(s + 4, 2, &mi) < 0 || h > 23 || mi > 59)
            return -1;
        s += 6;
        if (*s == ':') {
            if (digits(s + 1, 2, &sec) < 0 || sec > 59)
                return -1;
            s += 3;
        }
        if (*s == 'Z') {
            zone = 0;
            s++;
        } else if (*s == '+' || *s == '-') {
            int zh, zm = 0, sign = *s == '-' ? -1 : 1;
            if (digits(s + 1, 2, &zh) < 0 || zh > 14)
                return -1;
            s += 3;
            if (*s == ':')
                s++;
            if (isdigit((unsigned char)*s)) {
                if (digits(s, 2, &zm) < 0 || zm > 59)
                    return -1;
                s += 2;
            }
            zone = sign * (zh * 3600 + zm * 60);
        }
    }
    if (*s != '\0')
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *ret = t - zone;
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
                 "CARDLINE_NOW='%.40s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH[:MM]]", pin);
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
                     "CARDLINE_NOW_ANCHOR='%.24s' is not a time in unix seconds", anchor_s);
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
