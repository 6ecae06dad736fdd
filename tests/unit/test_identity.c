/* test_identity.c — unit tests of the identity rules at intake: each document number's format, who may use
 * which document, guardians and agents, and the configured list of cooperating banks */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/rules.h"

#define TODAY 20260610

static bool doc_ok(const char *type, const char *number, const char *nationality)
{
    char reason[RULES_REASON_MAX];
    bool ok = producer_doc_valid(type, number, nationality, TODAY, reason, sizeof(reason));

    /* a refusal never repeats the number it refuses */
    if (!ok && strlen(number) >= 8)
        assert_null(strstr(reason, number));
    return ok;
}

/* Check characters below were computed independently (ISO 7064 MOD 11-2 by hand in a script). */
static void test_resident_numbers(void **state)
{
    (void)state;
    assert_true(doc_ok("resident_id", "440203198501010011", ""));
    assert_true(doc_ok("household_register", "440203201503010028", "CHN"));
    assert_false(doc_ok("resident_id", "440203198501010012", ""));          /* check character */
    assert_false(doc_ok("resident_id", "810000199003070015", ""));          /* a residence permit's number */
    assert_false(doc_ok("resident_id", "944840198505050017", ""));          /* a foreigner's number */
    assert_false(doc_ok("resident_id", "440203198501010011", "USA"));       /* a citizen's document */
    assert_false(doc_ok("resident_id", "440203198501010011", "chn"));       /* ISO 3166 alpha-3 is capitals */
    assert_false(doc_ok("household_register", "44020320150301002", "CHN")); /* 17 characters */
}

static void test_residence_permits(void **state)
{
    (void)state;
    assert_true(doc_ok("hk_macau_residence", "810000199003070015", ""));
    assert_true(doc_ok("hk_macau_residence", "820000199003070025", "CHN"));
    assert_true(doc_ok("taiwan_residence", "830000199002280014", ""));
    assert_false(doc_ok("hk_macau_residence", "830000199002280014", ""));  /* Taiwan's prefix */
    assert_false(doc_ok("taiwan_residence", "810000199003070015", ""));    /* Hong Kong's prefix */
    assert_false(doc_ok("hk_macau_residence", "850000199003070012", ""));  /* no such region, valid check */
    assert_false(doc_ok("taiwan_residence", "830000199002280015", ""));    /* check character */
    assert_false(doc_ok("taiwan_residence", "830000199002280014", "TWN")); /* holders are citizens */
}

static void test_permits_and_passports(void **state)
{
    (void)state;
    assert_true(doc_ok("hk_macau_permit", "H12345678", ""));
    assert_true(doc_ok("hk_macau_permit", "M1234567801", ""));
    assert_false(doc_ok("hk_macau_permit", "X12345678", ""));
    assert_false(doc_ok("hk_macau_permit", "H1234567", ""));
    assert_false(doc_ok("hk_macau_permit", "H123456789", ""));
    assert_true(doc_ok("taiwan_permit", "12345678", ""));
    assert_false(doc_ok("taiwan_permit", "1234567890", "")); /* the expired booklets */
    assert_false(doc_ok("taiwan_permit", "1234567A", ""));
    assert_true(doc_ok("passport", "EA1234567", "USA"));
    assert_true(doc_ok("passport", "12345", "DEU"));
    assert_false(doc_ok("passport", "EA12345678", "USA")); /* ICAO 9303: at most 9 */
    assert_false(doc_ok("passport", "ea12345", "USA"));
    assert_false(doc_ok("passport", "EA1234567", "CHN")); /* citizens: resident documents */
    assert_false(doc_ok("passport", "EA1234567", "HKG")); /* Hong Kong residents: their permits */
    assert_false(doc_ok("passport", "EA1234567", "TWN"));
}

static void test_foreign_permanent(void **state)
{
    (void)state;
    assert_true(doc_ok("foreign_permanent", "944840198505050017", "USA"));
    assert_false(doc_ok("foreign_permanent", "944840198505050018", "USA")); /* check character */
    assert_false(doc_ok("foreign_permanent", "440203198501010011", ""));    /* a citizen's number */
    assert_true(doc_ok("foreign_permanent", "USA440185050501", "USA"));
    assert_true(doc_ok("foreign_permanent", "USA440185050501", ""));
    assert_false(doc_ok("foreign_permanent", "USA440185050501", "KOR")); /* the card names another country */
    assert_false(doc_ok("foreign_permanent", "US4440185050501", "USA"));
    assert_false(doc_ok("foreign_permanent", "USA44018505050", "USA"));
    assert_false(doc_ok("driving_licence", "12345678", ""));
    assert_false(producer_doc_type_known("driving_licence"));
    assert_true(producer_doc_type_known("taiwan_residence"));
}

static void person(struct producer_app *a, const char *doc_type, const char *number, const char *birth)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->doc_type, sizeof(a->doc_type), "%s", doc_type);
    snprintf(a->doc_number, sizeof(a->doc_number), "%s", number);
    snprintf(a->ssn, sizeof(a->ssn), "%.18s", number);
    snprintf(a->birth_date, sizeof(a->birth_date), "%s", birth);
}

static void guardian(struct producer_app *a, const char *role, const char *number, const char *relationship)
{
    snprintf(a->rep.role, sizeof(a->rep.role), "%s", role);
    snprintf(a->rep.name, sizeof(a->rep.name), "王建国");
    snprintf(a->rep.doc_type, sizeof(a->rep.doc_type), "resident_id");
    snprintf(a->rep.doc_number, sizeof(a->rep.doc_number), "%s", number);
    snprintf(a->rep.relationship, sizeof(a->rep.relationship), "%s", relationship);
    a->rep.nationality[0] = '\0';
}

static bool intake(struct producer_app *a, int accepted, const char *want)
{
    char reason[RULES_REASON_MAX] = "";
    bool ok = producer_validate_intake(a, accepted, TODAY, reason, sizeof(reason));

    if (want && !strstr(reason, want))
        fail_msg("reason '%s' lacks '%s'", reason, want);
    return ok;
}

static void test_household_register_age(void **state)
{
    struct producer_app a;
    (void)state;

    /* born 2010-06-10: 15 on 2026-06-09, 16 on 2026-06-10 */
    person(&a, "household_register", "440203201006100022", "2010-06-10");
    guardian(&a, "guardian", "440203198501010011", "mother");
    assert_true(intake(&a, 20260609, NULL));
    assert_string_equal(a.nationality, "CHN");
    assert_string_equal(a.rep.nationality, "CHN");
    assert_false(
        intake(&a, 20260610, "doc_type: a household_register is accepted only for an applicant under 16"));
    /* the same child with a resident ID at 16 applies alone */
    person(&a, "resident_id", "440203201006100022", "2010-06-10");
    assert_true(intake(&a, 20260610, NULL));
    /* acceptance before birth or after today */
    assert_false(intake(&a, 20100609, "before the applicant's birth"));
    assert_false(intake(&a, 20260611, "after today"));
}

static void test_guardian_and_agent(void **state)
{
    struct producer_app a;
    (void)state;

    person(&a, "household_register", "440203201503010028", "2015-03-01");
    assert_false(intake(&a, 20260609, "rep_role: the applicant was 11"));
    guardian(&a, "agent", "440203198501010011", "father");
    assert_false(intake(&a, 20260609, "under 16 the guardian applies, not an agent"));
    guardian(&a, "guardian", "440203198501010011", "spouse");
    assert_false(intake(&a, 20260609, "rep_relationship"));
    guardian(&a, "guardian", "44020320100101001X", "sibling");
    assert_false(intake(&a, 20260609, "under 18"));
    guardian(&a, "guardian", "440203198501010012", "father");
    assert_false(intake(&a, 20260609, "rep_doc_number: the guardian's document"));
    guardian(&a, "guardian", "440203201503010028", "father");
    assert_false(intake(&a, 20260609, "rep_doc_number"));
    guardian(&a, "parent", "440203198501010011", "father");
    assert_false(intake(&a, 20260609, "rep_role: 'parent' is not guardian or agent"));
    guardian(&a, "guardian", "440203198501010011", "father");
    snprintf(a.rep.doc_type, sizeof(a.rep.doc_type), "passport");
    snprintf(a.rep.doc_number, sizeof(a.rep.doc_number), "EA1234567");
    assert_false(intake(&a, 20260609, "rep_nationality"));
    snprintf(a.rep.nationality, sizeof(a.rep.nationality), "JPN");
    assert_true(intake(&a, 20260609, NULL));

    /* an adult: a guardian is refused, an agent with a power of attorney is not */
    person(&a, "resident_id", "440203195601010031", "1956-01-01");
    guardian(&a, "guardian", "440203198001010031", "child");
    assert_false(intake(&a, 20260609, "a guardian applies only for an applicant under 16"));
    guardian(&a, "agent", "440203198001010031", "child");
    assert_true(intake(&a, 20260609, NULL));
    memset(&a.rep, 0, sizeof(a.rep));
    snprintf(a.rep.name, sizeof(a.rep.name), "李明");
    assert_false(intake(&a, 20260609, "rep_role is empty"));
}

static void test_nationality_from_papers(void **state)
{
    struct producer_app a;
    (void)state;

    person(&a, "passport", "EA1234567", "1980-02-03");
    snprintf(a.ssn, sizeof(a.ssn), "KOR198002031234567");
    assert_true(intake(&a, 20260609, NULL));
    assert_string_equal(a.nationality, "KOR");
    person(&a, "passport", "EA1234567", "1980-02-03");
    snprintf(a.ssn, sizeof(a.ssn), "440203198001010031");
    assert_false(intake(&a, 20260609, "nationality: a passport is accepted only from a foreigner"));
    person(&a, "passport", "EA1234567", "1980-02-03");
    snprintf(a.nationality, sizeof(a.nationality), "CHN");
    assert_false(intake(&a, 20260609, "nationality: a passport is accepted only from a foreigner, but"));
}

static int parse(const char *json, struct producer_config **cfg, char *err, size_t err_size)
{
    return producer_config_parse("t.json", json, strlen(json), cfg, err, err_size);
}

static void test_config_banks(void **state)
{
    struct producer_config *cfg = NULL;
    char err[512];
    (void)state;

    assert_int_equal(parse("{\"lines\": [{\"id\": \"L1\", \"printer\": \"sim\", \"encoder\": \"sim\"}]}",
                           &cfg, err, sizeof(err)),
                     0);
    assert_int_equal(cfg->nbanks, -1); /* no list: the database keeps its own */
    producer_config_free(cfg);
    cfg = NULL;
    assert_int_equal(parse("{\"lines\": [{\"id\": \"L1\", \"printer\": \"sim\", \"encoder\": \"sim\"}],\n"
                           " \"banks\": [\"中国银行\", \"韶关农村商业银行\"]}",
                           &cfg, err, sizeof(err)),
                     0);
    assert_int_equal(cfg->nbanks, 2);
    assert_string_equal(cfg->banks[1], "韶关农村商业银行");
    assert_string_equal(cfg->source, "t.json");
    producer_config_free(cfg);
    cfg = NULL;
    assert_true(parse("{\"lines\": [{\"id\": \"L1\", \"printer\": \"sim\", \"encoder\": \"sim\"}],\n"
                      " \"banks\": [\"中国银行\",\n \"中国银行\"]}",
                      &cfg, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "t.json:3: banks[1]: bank '中国银行' appears twice"));
    assert_true(
        parse("{\"lines\": [{\"id\": \"L1\", \"printer\": \"sim\", \"encoder\": \"sim\"}], \"banks\": []}",
              &cfg, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "banks: must be an array of 1 to 64 bank names"));
    assert_true(
        parse("{\"lines\": [{\"id\": \"L1\", \"printer\": \"sim\", \"encoder\": \"sim\"}], \"banks\": [7]}",
              &cfg, err, sizeof(err)) < 0);
    assert_true(parse("{\"lines\": [{\"id\": \"L1\", \"printer\": \"sim\", \"encoder\": \"sim\"}], "
                      "\"banks\": [\"a\\tb\"]}",
                      &cfg, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "control character"));
    assert_null(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resident_numbers),        cmocka_unit_test(test_residence_permits),
        cmocka_unit_test(test_permits_and_passports),   cmocka_unit_test(test_foreign_permanent),
        cmocka_unit_test(test_household_register_age),  cmocka_unit_test(test_guardian_and_agent),
        cmocka_unit_test(test_nationality_from_papers), cmocka_unit_test(test_config_banks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
