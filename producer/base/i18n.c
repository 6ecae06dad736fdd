/* i18n.c — the process's and each thread's language, and message lookup in the gettext catalog */
#include "base/i18n.h"

#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* the catalogs: the build tree's (a development binary), then the installed ones */
#ifndef CARDLINE_LOCALE_BUILD
#define CARDLINE_LOCALE_BUILD ""
#endif
#ifndef CARDLINE_LOCALE_INSTALLED
#define CARDLINE_LOCALE_INSTALLED "/usr/share/locale"
#endif

static enum i18n_lang process_lang = I18N_ZH;
static _Thread_local int thread_lang = -1; /* -1: the process's */
static bool set_language_env;              /* i18n_init() set LANGUAGE itself */
static bool had_language;                  /* and what it was before */
static char language_before[256];
static char catalog_dir[512];

bool i18n_lang_of(const char *name, enum i18n_lang *ret)
{
    if (!name || !*name || strcmp(name, "C") == 0 || strcmp(name, "POSIX") == 0 ||
        strncasecmp(name, "C.", 2) == 0)
        return false;
    /* "zh", "zh_CN.UTF-8", "zh-Hans-CN", "zh_TW": Chinese (the catalog is Simplified; a Traditional reader
     * still reads it better than English) */
    *ret = strncasecmp(name, "zh", 2) == 0 &&
                   (name[2] == '\0' || name[2] == '_' || name[2] == '-' || name[2] == '.' || name[2] == '@')
               ? I18N_ZH
               : I18N_EN;
    return true;
}

/* The first of LANGUAGE's colon-separated entries that names a language, then LC_ALL, LC_MESSAGES, LANG. */
static bool lang_of_environment(enum i18n_lang *ret)
{
    const char *language = getenv("LANGUAGE");
    const char *vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};

    if (language) {
        char buf[256];
        char *save = NULL;

        strncpy(buf, language, sizeof(buf) - 1);
        buf[sizeof(buf) - 1] = '\0';
        for (char *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
            if (i18n_lang_of(tok, ret))
                return true;
        }
    }
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (i18n_lang_of(getenv(vars[i]), ret))
            return true;
    }
    return false;
}

static bool has_catalog(const char *dir)
{
    char path[600];

    if (!dir || !*dir)
        return false;
    snprintf(path, sizeof(path), "%s/zh_CN/LC_MESSAGES/" I18N_DOMAIN ".mo", dir);
    return access(path, R_OK) == 0;
}

void i18n_init(void)
{
    const char *candidates[] = {getenv("CARDLINE_LOCALEDIR"), CARDLINE_LOCALE_BUILD,
                                CARDLINE_LOCALE_INSTALLED};
    enum i18n_lang lang;

    process_lang = lang_of_environment(&lang) ? lang : I18N_ZH;
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (has_catalog(candidates[i])) {
            snprintf(catalog_dir, sizeof(catalog_dir), "%s", candidates[i]);
            break;
        }
    }
    if (!catalog_dir[0])
        return;
    bindtextdomain(I18N_DOMAIN, catalog_dir);
    bind_textdomain_codeset(I18N_DOMAIN, "UTF-8");
    /* English needs nothing more: i18n_text() never calls gettext then, and the C library's own messages
     * (strerror) stay as they are */
    if (process_lang == I18N_EN)
        return;
    /* gettext finds the Chinese catalog through the message locale's name. The bureau's machines have
     * zh_CN.UTF-8; where that locale is not installed, C.UTF-8 (always there) with LANGUAGE=zh_CN does the
     * same. A web request in English never calls gettext (i18n_text()), so the process-wide choice can be
     * Chinese. The C library translates its own messages then too (strerror): in UTF-8, not as '?' for every
     * character the C locale's ASCII cannot show. */
    setlocale(LC_CTYPE, "C.UTF-8");
    if (!setlocale(LC_MESSAGES, "zh_CN.UTF-8"))
        setlocale(LC_MESSAGES, "C.UTF-8");
    /* LANGUAGE names the catalog whatever it said before ("zh_TW" would find none); children get theirs back
     */
    if (!getenv("LANGUAGE") || strcmp(getenv("LANGUAGE"), "zh_CN") != 0) {
        const char *before = getenv("LANGUAGE");
        if (before)
            snprintf(language_before, sizeof(language_before), "%s", before);
        had_language = before != NULL;
        setenv("LANGUAGE", "zh_CN", 1);
        set_language_env = true;
    }
}

void i18n_child_env(void)
{
    if (!set_language_env)
        return;
    if (had_language)
        setenv("LANGUAGE", language_before, 1);
    else
        unsetenv("LANGUAGE");
}

const char *i18n_catalog_dir(void)
{
    return catalog_dir;
}

enum i18n_lang i18n_get(void)
{
    return thread_lang >= 0 ? (enum i18n_lang)thread_lang : process_lang;
}

void i18n_set(enum i18n_lang lang)
{
    thread_lang = (int)lang;
}

const char *i18n_tag(enum i18n_lang lang)
{
    return lang == I18N_EN ? "en" : "zh-CN";
}

const char *i18n_text(const char *msgid)
{
    if (!msgid || !*msgid || i18n_get() == I18N_EN || !catalog_dir[0])
        return msgid;
    return dgettext(I18N_DOMAIN, msgid);
}

/* Accept-Language: comma-separated ranges with optional ";q=" weights (RFC 9110 12.5.4); the best weighted of
 * Chinese and English wins, a tie going to the earlier; "*" and other languages count for neither. */
enum i18n_lang i18n_accept_language(const char *header)
{
    enum i18n_lang best = I18N_ZH;
    int best_q = -1;

    if (!header)
        return I18N_ZH;
    for (const char *p = header; *p;) {
        char range[64];
        size_t n = 0;
        int q = 1000;
        enum i18n_lang lang;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        while (*p && *p != ';' && *p != ',' && *p != ' ' && *p != '\t') {
            if (n < sizeof(range) - 1)
                range[n++] = *p;
            p++;
        }
        range[n] = '\0';
        while (*p && *p != ',') {
            /* parameters: only q matters, as 0, 1 or a decimal with up to three digits */
            if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                const char *v = p + 2;
                q = 0;
                if (*v == '1') {
                    q = 1000;
                } else if (*v == '0' && v[1] == '.') {
                    int scale = 100;
                    for (v += 2; *v >= '0' && *v <= '9' && scale > 0; v++, scale /= 10)
                        q += (*v - '0') * scale;
                }
            }
            p++;
        }
        if (n > 0 && q > best_q && i18n_lang_of(range, &lang) &&
            (lang == I18N_ZH || strncasecmp(range, "en", 2) == 0)) {
            best = lang;
            best_q = q;
        }
    }
    return best_q > 0 ? best : I18N_ZH;
}
