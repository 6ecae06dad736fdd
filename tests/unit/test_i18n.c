/* test_i18n.c — which language a locale, an environment or an Accept-Language header asks for, and messages
 * from the compiled Chinese catalog */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/i18n.h"

static void test_lang_of(void **state)
{
    enum i18n_lang l;

    (void)state;
    assert_false(i18n_lang_of(NULL, &l));
    assert_false(i18n_lang_of("", &l));
    assert_false(i18n_lang_of("C", &l));
    assert_false(i18n_lang_of("POSIX", &l));
    assert_false(i18n_lang_of("C.UTF-8", &l));
    assert_true(i18n_lang_of("zh_CN.UTF-8", &l));
    assert_int_equal(l, I18N_ZH);
    assert_true(i18n_lang_of("zh-Hans-CN", &l));
    assert_int_equal(l, I18N_ZH);
    assert_true(i18n_lang_of("zh", &l));
    assert_int_equal(l, I18N_ZH);
    assert_true(i18n_lang_of("en_US.UTF-8", &l));
    assert_int_equal(l, I18N_EN);
    /* another language: English, the only other catalog there is */
    assert_true(i18n_lang_of("fr_FR", &l));
    assert_int_equal(l, I18N_EN);
    /* "zha" (Zhuang) is not Chinese */
    assert_true(i18n_lang_of("zha", &l));
    assert_int_equal(l, I18N_EN);
}

static void test_accept_language(void **state)
{
    (void)state;
    assert_int_equal(i18n_accept_language(NULL), I18N_ZH);
    assert_int_equal(i18n_accept_language(""), I18N_ZH);
    assert_int_equal(i18n_accept_language("en-US,en;q=0.9"), I18N_EN);
    assert_int_equal(i18n_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), I18N_ZH);
    assert_int_equal(i18n_accept_language("en;q=0.5, zh-CN;q=0.8"), I18N_ZH);
    assert_int_equal(i18n_accept_language("zh;q=0.3, en;q=0.7"), I18N_EN);
    /* a tie goes to the first named */
    assert_int_equal(i18n_accept_language("en;q=0.5, zh;q=0.5"), I18N_EN);
    /* languages we have no catalog for, "*", and q=0 (not acceptable) choose nothing */
    assert_int_equal(i18n_accept_language("fr-FR,de;q=0.9,*;q=0.1"), I18N_ZH);
    assert_int_equal(i18n_accept_language("en;q=0"), I18N_ZH);
    assert_int_equal(i18n_accept_language("zh;q=0,en"), I18N_EN);
    assert_int_equal(i18n_accept_language("   ,, ;q=1, en ; q=1.000"), I18N_EN);
}

static void test_catalog(void **state)
{
    static const char msgid[] = "cardline: unknown command '%s'\n";

    (void)state;
    setenv("CARDLINE_LOCALEDIR", CARDLINE_TEST_LOCALEDIR, 1);
    unsetenv("LANGUAGE");
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    setenv("LANG", "C", 1);
    i18n_init();
    assert_string_equal(i18n_catalog_dir(), CARDLINE_TEST_LOCALEDIR);
    /* no language named: the bureau's */
    assert_int_equal(i18n_get(), I18N_ZH);
    assert_string_equal(i18n_text(msgid), "cardline：未知命令“%s”\n");
    assert_string_equal(i18n_tag(i18n_get()), "zh-CN");
    /* this thread asks for English: the source's text */
    i18n_set(I18N_EN);
    assert_ptr_equal(i18n_text(msgid), msgid);
    assert_string_equal(i18n_tag(i18n_get()), "en");
    i18n_set(I18N_ZH);
    /* a message the catalog does not have stays as written */
    assert_string_equal(i18n_text("no such message"), "no such message");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lang_of),
        cmocka_unit_test(test_accept_language),
        cmocka_unit_test(test_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
