/* log.h — the one logging module: levels, a component name per message, masking of personal data */
#pragma once

#include <stddef.h>

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(comp, ...) log_msg(LOG_LEVEL_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_LEVEL_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...) log_msg(LOG_LEVEL_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...) log_msg(LOG_LEVEL_DEBUG, comp, __VA_ARGS__)

/* Document numbers keep their first 4 and last 4 characters: 4401**********123X. Short values become all '*'. */
void producer_mask_doc(const char *doc, char *out, size_t out_size);
/* Names keep their first character (UTF-8 aware): 欧阳娜娜 -> 欧***. */
void producer_mask_name(const char *name, char *out, size_t out_size);
