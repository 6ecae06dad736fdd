/* test_producer.c — unit tests of the controller's pure parts: identity numbers, application rules, masking,
 * CSV, error ranges */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/csv.h"
#include "base/log.h"
#include "base/rules.h"
#include "store/db.h"

#include "encoder.h"
#include "photo.h"
#include "printer.h"

#define TODAY 20261128

static void test_check_char(void **state)
{
    /* ISO 7064 MOD 11-2 vectors computed independently of the code under test, incl. the example of
     * GB 11643-1999 itself (check X) and a check of 0 */
    static const struct {
        const char *first17;
        char check;
    } v[] = {
        {"11010519491231002", 'X'},
        {"44030419800101001", '7'},
        {"44010619900307123", '1'},
        {"44010619850703114", '0'},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(producer_idcard_check_char(v[i].first17), v[i].check);
    assert_int_equal(producer_idcard_check_char("1101051949123100"), 0);  /* too short */
    assert_int_equal(producer_idcard_check_char("1101051949123100A"), 0); /* not a digit */
}

static void test_idcard_valid(void **state)
{
    char reason[RULES_REASON_MAX];
    (void)state;

    assert_true(producer_idcard_valid("11010519491231002X", TODAY, reason, sizeof(reason)));
    assert_false(producer_idcard_valid("110105194912310021", TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "check character"));
    /* the reason never carries the whole number */
    assert_null(strstr(reason, "110105194912310021"));
    assert_non_null(strstr(reason, "1101**********0021"));
    assert_false(producer_idcard_valid("110105194912310", TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "15-digit"));
    assert_false(producer_idcard_valid("1101051949123100", TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "16 characters"));
    assert_false(producer_idcard_valid("11010519491231A02X", TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "non-digit"));
}

/* Build a valid number for a birth date and sequence, then break it in the ways that matter. */
static void make_id(const char *region, const char *birth, const char *seq, char out[19])
{
    snprintf(out, 19, "%s%s%s", region, birth, seq);
    out[17] = producer_idcard_check_char(out);
    out[18] = '\0';
}

static void test_idcard_dates(void **state)
{
    char reason[RULES_REASON_MAX], id[19];
    (void)state;

    make_id("440106", "20000229", "123", id); /* leap day of a leap year */
    assert_true(producer_idcard_valid(id, TODAY, reason, sizeof(reason)));
    make_id("440106", "19000229", "123", id); /* 1900 was not a leap year */
    assert_false(producer_idcard_valid(id, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "impossible birth date"));
    make_id("440106", "19901301", "123", id);
    assert_false(producer_idcard_valid(id, TODAY, reason, sizeof(reason)));
    make_id("440106", "19900431", "123", id);
    assert_false(producer_idcard_valid(id, TODAY, reason, sizeof(reason)));
    make_id("440106", "20261129", "123", id); /* tomorrow */
    assert_false(producer_idcard_valid(id, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "future"));
    make_id("440106", "20261128", "123", id); /* born today */
    assert_true(producer_idcard_valid(id, TODAY, reason, sizeof(reason)));
}

static void valid_app(struct producer_app *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->kind, sizeof(a->kind), "new");
    snprintf(a->doc_type, sizeof(a->doc_type), "resident_id");
    make_id("440106", "19900307", "123", a->doc_number); /* 3 is odd: male */
    snprintf(a->ssn, sizeof(a->ssn), "%.18s", a->doc_number);
    snprintf(a->name, sizeof(a->name), "王堃");
    a->sex = '1';
    a->ethnicity = 1;
    snprintf(a->birth_date, sizeof(a->birth_date), "1990-03-07");
    snprintf(a->birth_place, sizeof(a->birth_place), "440106");
    snprintf(a->outlet_code, sizeof(a->outlet_code), "HR0101");
    a->photo_id = 1;
}

static void test_validate_app(void **state)
{
    struct producer_app a;
    char reason[RULES_REASON_MAX];
    (void)state;

    valid_app(&a);
    assert_true(producer_validate_app(&a, TODAY, reason, sizeof(reason)));

    valid_app(&a);
    a.sex = '2';
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "sex digit"));

    valid_app(&a);
    snprintf(a.birth_date, sizeof(a.birth_date), "1990-03-08");
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "does not match"));

    valid_app(&a);
    a.ssn[0] = '5';
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "social security number differs"));

    valid_app(&a);
    snprintf(a.kind, sizeof(a.kind), "replacement");
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "does not name the card"));

    valid_app(&a);
    a.photo_id = 0;
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "no photo"));

    valid_app(&a);
    a.name[0] = '\0';
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));

    valid_app(&a);
    snprintf(a.name, sizeof(a.name), "王\t堃");
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "control character"));

    /* household register of a minor: same number rules */
    valid_app(&a);
    snprintf(a.doc_type, sizeof(a.doc_type), "household_register");
    assert_true(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
}

static void test_validate_other_documents(void **state)
{
    struct producer_app a;
    char reason[RULES_REASON_MAX];
    (void)state;

    valid_app(&a);
    snprintf(a.doc_type, sizeof(a.doc_type), "passport");
    snprintf(a.doc_number, sizeof(a.doc_number), "EA1234567");
    snprintf(a.ssn, sizeof(a.ssn), "USA199003070001234");
    assert_true(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    snprintf(a.doc_number, sizeof(a.doc_number), "ea-12");
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "not well formed"));

    valid_app(&a);
    snprintf(a.doc_type, sizeof(a.doc_type), "hk_macau_permit");
    snprintf(a.doc_number, sizeof(a.doc_number), "H12345678");
    snprintf(a.ssn, sizeof(a.ssn), "810000199003071234");
    assert_true(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    snprintf(a.doc_number, sizeof(a.doc_number), "X12345678");
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));

    valid_app(&a);
    snprintf(a.doc_type, sizeof(a.doc_type), "driving_licence");
    assert_false(producer_validate_app(&a, TODAY, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "unknown document type"));
}

static void test_masks(void **state)
{
    char out[64];
    (void)state;

    producer_mask_doc("44010619900307123X", out, sizeof(out));
    assert_string_equal(out, "4401**********123X");
    producer_mask_doc("EA123", out, sizeof(out));
    assert_string_equal(out, "*****");
    producer_mask_doc("44010619900307123X", out, 5);
    assert_string_equal(out, "4401");
    producer_mask_name("欧阳娜娜", out, sizeof(out));
    assert_string_equal(out, "欧***");
    producer_mask_name("SMITH JOHN", out, sizeof(out));
    assert_string_equal(out, "S*********");
    producer_mask_name("", out, sizeof(out));
    assert_string_equal(out, "");
}

static int parse_all(const char *text, struct csv_record *rec, int *ret_records)
{
    size_t pos = 0;
    int line = 1, r, n = 0;

    while ((r = csv_next(text, strlen(text), &pos, &line, rec)) == CSV_RECORD)
        n++;
    *ret_records = n;
    return r;
}

static void test_csv(void **state)
{
    static struct csv_record rec;
    const char *t = "\xEF\xBB\xBF"
                    "a,b,c\r\n"
                    "\"x,1\",\"say \"\"hi\"\"\",\r\n"
                    "\n"
                    "\"multi\nline\",2,3\n";
    size_t pos = 0;
    int line = 1, n;
    (void)state;

    assert_int_equal(csv_next(t, strlen(t), &pos, &line, &rec), CSV_RECORD);
    assert_int_equal(rec.nfields, 3);
    assert_string_equal(rec.fields[0], "a");
    assert_int_equal(rec.line, 1);
    assert_int_equal(csv_next(t, strlen(t), &pos, &line, &rec), CSV_RECORD);
    assert_int_equal(rec.nfields, 3);
    assert_string_equal(rec.fields[0], "x,1");
    assert_string_equal(rec.fields[1], "say \"hi\"");
    assert_string_equal(rec.fields[2], "");
    assert_int_equal(rec.line, 2);
    assert_int_equal(csv_next(t, strlen(t), &pos, &line, &rec), CSV_RECORD);
    assert_string_equal(rec.fields[0], "multi\nline");
    assert_int_equal(rec.line, 4);
    assert_int_equal(csv_next(t, strlen(t), &pos, &line, &rec), CSV_END);

    assert_int_equal(parse_all("\"open,1\n", &rec, &n), CSV_ERROR_QUOTE);
    assert_int_equal(parse_all("\"a\"b,1\n", &rec, &n), CSV_ERROR_QUOTE);
    assert_int_equal(parse_all("a\"b\",1\n", &rec, &n), CSV_ERROR_QUOTE);
    assert_int_equal(
        parse_all("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,"
                  "33\n",
                  &rec, &n),
        CSV_ERROR_TOO_MANY);
    assert_int_equal(parse_all("", &rec, &n), CSV_END);
    assert_int_equal(n, 0);
    {
        static char big[CSV_MAX_RECORD + 10];
        memset(big, 'a', sizeof(big) - 1);
        assert_int_equal(parse_all(big, &rec, &n), CSV_ERROR_TOO_LONG);
    }
    {
        const char nul[] = {'a', ',', '\0', 'b', '\n'};
        size_t p = 0;
        int l = 1;
        assert_int_equal(csv_next(nul, sizeof(nul), &p, &l, &rec), CSV_ERROR_NUL);
    }
}

/* CARDLINE_NOW's forms: expected instants worked out by hand (unix seconds, UTC). */
static void test_clock_parse(void **state)
{
    static const struct {
        const char *text;
        long long want; /* -1: refused */
    } v[] = {
        {"2026-12-20", 1797732000},                /* 10:00 bureau time = 02:00 UTC */
        {"2026-12-20T15:00:00+08:00", 1797750000}, /* 07:00 UTC */
        {"2026-12-20 15:00+08", 1797750000},
        {"2026-12-20T07:00:00Z", 1797750000},
        {"2026-12-20T02:00:00-0500", 1797750000},
        {"2026-10-08T09:30", 1791423000}, /* 01:30 UTC */
        {"2024-02-29", 1709172000},
        {"2026-02-29", -1},
        {"2026-13-01", -1},
        {"2026-12-20T24:00", -1},
        {"2026-12-20T10:00:00+08:00junk", -1},
        {"+2026-12-20", -1},
        {"2026-1-5", -1},
        {"", -1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        time_t t = 0;
        int r = producer_clock_parse(v[i].text, &t);
        if (v[i].want < 0) {
            assert_int_equal(r, -1);
        } else {
            assert_int_equal(r, 0);
            assert_int_equal((long long)t, v[i].want);
        }
    }
}

/* Each library's codes lie in its own range (printer -1100.., photo -1200.., encoder -1300.., producer
 * -1400..), so producer_strerror() names a library code passed up through producer as the library does. */
static void test_error_ranges(void **state)
{
    (void)state;
    for (int e = PRINTER_ERROR_INVALID; e >= PRINTER_ERROR_ACCESS; e--) {
        assert_true(e <= PRINTER_ERROR_RANGE_MAX && e >= PRINTER_ERROR_RANGE_MIN);
        assert_string_equal(producer_strerror(e), printer_strerror(e));
    }
    for (int e = PHOTO_ERROR_INVALID; e >= PHOTO_ERROR_PROFILE; e--) {
        assert_true(e <= PHOTO_ERROR_RANGE_MAX && e >= PHOTO_ERROR_RANGE_MIN);
        assert_string_equal(producer_strerror(e), photo_strerror(e));
    }
    for (int e = ENCODER_ERROR_INVALID; e >= ENCODER_ERROR_NOT_GENUINE; e--) {
        assert_true(e <= ENCODER_ERROR_RANGE_MAX && e >= ENCODER_ERROR_RANGE_MIN);
        assert_string_equal(producer_strerror(e), encoder_strerror(e));
    }
    for (int e = PRODUCER_ERROR_INVALID; e >= PRODUCER_ERROR_NOT_FOUND; e--) {
        assert_true(e <= PRODUCER_ERROR_RANGE_MAX && e >= PRODUCER_ERROR_RANGE_MIN);
        assert_string_not_equal(producer_strerror(e), "unknown error");
    }
    /* -3 once meant four things; now it is no code of ours */
    assert_string_equal(producer_strerror(PRINTER_ERROR_IO), "input/output error");
    assert_string_equal(producer_strerror(PHOTO_ERROR_FORMAT), "not a JPEG or PNG file");
    assert_string_equal(producer_strerror(ENCODER_ERROR_TRANSPORT), "reader or card communication failed");
    assert_string_equal(producer_strerror(PRODUCER_ERROR_IO), "input/output error");
    assert_string_equal(producer_strerror(-3), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_char),
        cmocka_unit_test(test_idcard_valid),
        cmocka_unit_test(test_idcard_dates),
        cmocka_unit_test(test_validate_app),
        cmocka_unit_test(test_validate_other_documents),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_clock_parse),
        cmocka_unit_test(test_error_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
