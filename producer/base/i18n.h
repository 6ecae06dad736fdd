/* i18n.h — the language people read cardline in: GNU gettext catalogs (producer/po/), Simplified Chinese
 * unless English is asked for */
#pragma once

#include <stdbool.h>

#define I18N_DOMAIN "cardline"

enum i18n_lang {
    I18N_ZH, /* 简体中文: the bureau's language, the default */
    I18N_EN, /* English: the messages as written in the source */
};

/* Once, in main() before any thread starts: bind the catalog and pick the process's language from the
 * environment (LANGUAGE, LC_ALL, LC_MESSAGES, LANG — the first that names a language; a language other than
 * Chinese means English, as there is no other catalog); C, POSIX and nothing at all mean Chinese. */
void i18n_init(void);
/* The language of the calling thread: the process's unless i18n_set() chose another for this thread (a web
 * request's own). */
enum i18n_lang i18n_get(void);
void i18n_set(enum i18n_lang lang);
/* The language a locale or language name asks for ("zh_CN.UTF-8", "en", "zh-Hans"); false when it names none
 * (NULL, "", "C", "POSIX", "C.UTF-8"). */
bool i18n_lang_of(const char *name, enum i18n_lang *ret);
/* The language an HTTP Accept-Language header prefers among those we have (by q-value; Chinese when it names
 * neither). */
enum i18n_lang i18n_accept_language(const char *header);
/* "zh-CN" or "en", for HTML lang attributes and Content-Language. */
const char *i18n_tag(enum i18n_lang lang);
/* The text of msgid in the calling thread's language (msgid itself in English, or when the catalog lacks it).
 */
const char *i18n_text(const char *msgid) __attribute__((format_arg(1)));
/* In a child process between fork() and exec(): the environment as it was before i18n_init() (other
 * programs — PostgreSQL's — keep their own language). */
void i18n_child_env(void);
/* Where the catalogs were found ("" when none was: every message then shows in English). */
const char *i18n_catalog_dir(void);

/* Mark a message for translation and translate it; N_() marks one whose translation happens later (tables).
 */
#define _(msgid)  i18n_text(msgid)
#define N_(msgid) (msgid)
