/* log.c — timestamped, levelled log lines on stderr, and the masks applied to personal data */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_LEVEL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char when[32];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    if (level > current_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

    /* one lock so that lines from several line threads never interleave */
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s.%03ld %-5s %s: ", when, ts.tv_nsec / 1000000, names[level], component);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
}

void producer_mask_doc(const char *doc, char *out, size_t out_size)
{
    size_t n = doc ? strlen(doc) : 0;
    size_t i, o = 0;

    if (out_size == 0)
        return;
    for (i = 0; i < n && o + 1 < out_size; i++) {
        int keep = n >= 10 && (i < 4 || i >= n - 4);
        out[o++] = keep ? doc[i] : '*';
    }
    out[o] = '\0';
}

void producer_mask_name(const char *name, char *out, size_t out_size)
{
    size_t n = name ? strlen(name) : 0;
    size_t first = 0, i, o;

    if (out_size == 0)
        return;
    if (n == 0) {
        out[0] = '\0';
        return;
    }
    /* length of the first UTF-8 character */
    first = 1;
    while (first < n && ((unsigned char)name[first] & 0xC0) == 0x80)
        first++;
    if (first >= out_size)
        first = 0;
    memcpy(out, name, first);
    o = first;
    for (i = first; i < n && o + 1 < out_size; i++) {
        if (((unsigned char)name[i] & 0xC0) != 0x80)
            out[o++] = '*';
    }
    out[o] = '\0';
}
