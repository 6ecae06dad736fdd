/* log.c — levelled log lines on stderr (or structured entries in the journal under systemd), and the masks
 * applied to personal data */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
/* the file and line of this module would be the same on every entry: the component says where */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

/* one entry longer than this is cut: the journal and a reader's screen gain nothing from more */
#define JOURNAL_MESSAGE_MAX 4096

static enum log_level current_level = LOG_LEVEL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static bool to_journal;

/* systemd connects stderr to the journal and says so in JOURNAL_STREAM ("DEVICE:INODE" of that stream);
 * only when stderr is still that very stream do entries go to the journal directly, with their priority and
 * component as fields. Redirected (cardline ... 2>file inside a unit) it stays plain text. */
static void journal_detect(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
        return;
    to_journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static bool __attribute__((format(printf, 3, 0)))
journal_send(enum log_level level, const char *component, const char *fmt, va_list ap)
{
    static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char message[JOURNAL_MESSAGE_MAX];

    vsnprintf(message, sizeof(message), fmt, ap);
    /* the message is what callers wrote for stderr: personal data in it is masked already */
    return sd_journal_send("MESSAGE=%s: %s", component, message, "PRIORITY=%d", priorities[level],
                           "CARDLINE_COMPONENT=%s", component, "SYSLOG_IDENTIFIER=cardline", NULL) >= 0;
}

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
    pthread_once(&journal_once, journal_detect);
    if (to_journal) {
        bool sent;
        va_start(ap, fmt);
        sent = journal_send(level, component, fmt, ap);
        va_end(ap);
        if (sent)
            return;
        /* journald is gone: the line still reaches stderr, which systemd reads */
    }
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
