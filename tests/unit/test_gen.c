/* test_gen.c — the application generator: each item a function of (seed, index) alone, and over thousands of
 * items and several seeds none fails the real photo checker or the application rules */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake/gen.h"
#include "intake/gen_portrait.h"
#include "store/db.h"
#include "photo.h"
#include "base/rules.h"

/* Working days of 2026-10-09 .. 2026-11-27 as the State Council schedule has them (Oct 10 a makeup Saturday).
 */
static const char days[][11] = {
    "2026-10-09", "2026-10-10", "2026-10-12", "2026-10-13", "2026-10-14", "2026-10-15", "2026-10-16",
    "2026-10-19", "2026-10-20", "2026-10-21", "2026-10-22", "2026-10-23", "2026-10-26", "2026-10-27",
    "2026-10-28", "2026-10-29", "2026-10-30", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05",
    "2026-11-06", "2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-16",
    "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-23", "2026-11-24", "2026-11-25",
    "2026-11-26", "2026-11-27",
};

struct fixture {
    struct producer_portrait_source *portraits;
    struct photo_checker *checker;
    struct producer_gen_ctx ctx;
};

static int setup(void **state)
{
    static struct fixture f;

    memset(&f, 0, sizeof(f));
    if (producer_portrait_source_new(NULL, &f.portraits) < 0 || photo_checker_new(NULL, &f.checker) < 0)
        return -1;
    f.ctx.today = 20261204;
    f.ctx.days = days;
    f.ctx.ndays = (int)(sizeof(days) / sizeof(days[0]));
    f.ctx.portraits = f.portraits;
    f.ctx.checker = f.checker;
    f.ctx.profile = photo_profile_builtin("ssc");
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    photo_checker_free(f->checker);
    producer_portrait_source_free(f->portraits);
    return 0;
}

static bool same_item(const struct producer_gen_item *a, const struct producer_gen_item *b)
{
    return memcmp(&a->app, &b->app, sizeof(a->app)) == 0 && strcmp(a->accepted, b->accepted) == 0 &&
           a->priority == b->priority && strcmp(a->old_card_status, b->old_card_status) == 0 &&
           a->old_card_seed == b->old_card_seed && a->jpeg_len == b->jpeg_len &&
           memcmp(a->jpeg, b->jpeg, a->jpeg_len) == 0;
}

/* Item i is the same whichever items were made before it, and whatever the order. */
static void test_item_is_function_of_seed_and_index(void **state)
{
    struct fixture *f = *state;
    struct producer_gen_ctx ctx = f->ctx;
    struct producer_gen_item first[8], again;

    ctx.seed = 99;
    for (int i = 0; i < 8; i++)
        assert_int_equal(producer_gen_item_make(&ctx, i, -1, &first[i]), 0);
    for (int i = 7; i >= 0; i--) {
        assert_int_equal(producer_gen_item_make(&ctx, i, -1, &again), 0);
        assert_true(same_item(&first[i], &again));
        producer_gen_item_clear(&again);
    }
    /* a defect asked for elsewhere in the batch changes nothing here */
    assert_int_equal(producer_gen_item_make(&ctx, 2, PRODUCER_GEN_DEFECT_BAD_PHOTO, &again), 0);
    producer_gen_item_clear(&again);
    assert_int_equal(producer_gen_item_make(&ctx, 3, -1, &again), 0);
    assert_true(same_item(&first[3], &again));
    producer_gen_item_clear(&again);
    /* another seed gives other people */
    ctx.seed = 100;
    assert_int_equal(producer_gen_item_make(&ctx, 0, -1, &again), 0);
    assert_false(same_item(&first[0], &again));
    producer_gen_item_clear(&again);
    for (int i = 0; i < 8; i++)
        producer_gen_item_clear(&first[i]);
}

/* The sex a name's given name says, by endings no one gives to the other sex ('1' men, '2' women); 0 when it
 * does not say (the rare characters, foreign and minority names). Written apart from the generator's own
 * lists. */
static char name_sex(const char *name)
{
    static const char *const men[] = {"建国", "志强", "浩然", "梓轩", "俊杰", "强", "军", "勇", "磊", "涛"};
    static const char *const women[] = {"秀英", "晓燕", "雨桐", "欣怡", "秀兰", "芳", "娜",
                                        "丽",   "艳",   "娟",   "婷",   "玥",   "婧"};
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(men) / sizeof(men[0]); i++) {
        size_t k = strlen(men[i]);
        if (n > k && strcmp(name + n - k, men[i]) == 0)
            return '1';
    }
    for (size_t i = 0; i < sizeof(women) / sizeof(women[0]); i++) {
        size_t k = strlen(women[i]);
        if (n > k && strcmp(name + n - k, women[i]) == 0)
            return '2';
    }
    if (strcmp(name, "SMITH JOHN WILLIAM") == 0 || strcmp(name, "KIM MINJUN") == 0)
        return '1';
    if (strcmp(name, "MUELLER ANNA") == 0 || strcmp(name, "OKAFOR CHIAMAKA") == 0)
        return '2';
    return 0;
}

/* Every generated good application passes the rules and its photo passes the real checker. */
static void test_thousands_pass(void **state)
{
    static const uint32_t seeds[] = {99, 1, 31, 2026, 4242424242u};
    struct fixture *f = *state;
    const char *env = getenv("CARDLINE_GEN_TEST_COUNT");
    int per_seed = env ? atoi(env) : 420, failures = 0, total = 0, kinds[4] = {0}, identity[5] = {0};

    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        struct producer_gen_ctx ctx = f->ctx;
        ctx.seed = seeds[s];
        for (int i = 0; i < per_seed; i++) {
            struct producer_gen_item it;
            struct photo_report *rep = NULL;
            char reason[RULES_REASON_MAX], ids[200];
            bool listed = false;

            assert_int_equal(producer_gen_item_make(&ctx, i, -1, &it), 0);
            for (int d = 0; d < ctx.ndays; d++)
                listed = listed || strncmp(it.accepted, days[d], 10) == 0;
            if (!listed) {
                fprintf(stderr, "seed %u item %d: accepted %s is not a working day of the window\n", seeds[s],
                        i, it.accepted);
                failures++;
            }
            /* what writing the item adds: the stored photo and the earlier card's number */
            it.app.photo_id = 1;
            if (it.old_card_replaced)
                snprintf(it.app.replaced_card, sizeof(it.app.replaced_card), "E%08u",
                         it.old_card_seed % 100000000u);
            if (!producer_validate_app(&it.app, ctx.today, reason, sizeof(reason))) {
                fprintf(stderr, "seed %u item %d: rules: %s\n", seeds[s], i, reason);
                failures++;
            }
            /* and the rules of the day of acceptance the importer applies: document for the age, guardian */
            if (!producer_validate_intake(
                    &it.app, atoi(it.accepted) * 10000 + atoi(it.accepted + 5) * 100 + atoi(it.accepted + 8),
                    ctx.today, reason, sizeof(reason))) {
                fprintf(stderr, "seed %u item %d: intake rules: %s\n", seeds[s], i, reason);
                failures++;
            }
            /* a name never contradicts the sex field: men's given names on men, women's on women */
            if (name_sex(it.app.name) && name_sex(it.app.name) != it.app.sex) {
                fprintf(stderr, "seed %u item %d: name %s generated with sex %c\n", seeds[s], i, it.app.name,
                        it.app.sex);
                failures++;
            }
            /* and a father's or mother's name is a man's or a woman's */
            char parent = strcmp(it.app.rep.relationship, "father") == 0   ? '1'
                          : strcmp(it.app.rep.relationship, "mother") == 0 ? '2'
                                                                           : 0;
            if (parent && name_sex(it.app.rep.name) && name_sex(it.app.rep.name) != parent) {
                fprintf(stderr, "seed %u item %d: %s named %s\n", seeds[s], i, it.app.rep.relationship,
                        it.app.rep.name);
                failures++;
            }
            identity[0] += strcmp(it.app.rep.role, "guardian") == 0;
            identity[1] += strcmp(it.app.rep.role, "agent") == 0;
            identity[2] +=
                strcmp(it.app.doc_type, "passport") == 0 || strcmp(it.app.doc_type, "foreign_permanent") == 0;
            identity[3] += strncmp(it.app.doc_type, "hk_macau", 8) == 0;
            identity[4] += strncmp(it.app.doc_type, "taiwan", 6) == 0;
            assert_int_equal(photo_check(f->checker, it.jpeg, it.jpeg_len, ctx.profile, &rep), 0);
            if (rep->verdict == PHOTO_STATUS_FAIL) {
                photo_report_failing_ids(rep, ids, sizeof(ids));
                fprintf(stderr, "seed %u item %d: photo fails %s\n", seeds[s], i, ids);
                failures++;
            }
            kinds[strcmp(it.app.kind, "replacement") == 0 ? 1
                  : strcmp(it.app.kind, "exchange") == 0  ? 2
                                                          : 0]++;
            kinds[3] += strcmp(it.app.doc_type, "household_register") == 0;
            photo_report_free(rep);
            producer_gen_item_clear(&it);
            total++;
        }
    }
    printf("generated %d applications over %zu seeds: %d failures (new %d, replacement %d, exchange %d, "
           "minors %d)\n",
           total, sizeof(seeds) / sizeof(seeds[0]), failures, kinds[0], kinds[1], kinds[2], kinds[3]);
    assert_true(total >= 2000 || env);
    assert_int_equal(failures, 0);
    /* the mix is realistic: some replacements, exchanges and minors in every large batch */
    assert_true(kinds[1] > 0 && kinds[2] > 0 && kinds[3] > 0);
    /* minors come with their guardian; foreigners and Hong Kong, Macau and Taiwan residents with their papers
     */
    printf("guardians %d, agents %d, foreigners %d, Hong Kong/Macau %d, Taiwan %d\n", identity[0],
           identity[1], identity[2], identity[3], identity[4]);
    assert_int_equal(identity[0], kinds[3]);
    for (int k = 0; k < 5; k++)
        assert_true(identity[k] > 0);
}

/* Shaoguan's districts and counties by GB/T 2260, written apart from the generator's own table. */
static bool shaoguan_district(const char *code)
{
    static const char *const codes[] = {"440203", "440204", "440205", "440222", "440224",
                                        "440229", "440232", "440233", "440281", "440282"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strncmp(code, codes[i], 6) == 0)
            return true;
    }
    return false;
}

/* The portraits come from one adult woman's face (gen_portrait.h): the photo must at least say nothing about
 * whose face it is, no EXIF, XMP or comment segment beside JFIF's APP0 before the scan, so that nothing in it
 * contradicts a man's or a child's sex and birth date. */
static bool photo_without_metadata(const uint8_t *j, size_t n)
{
    size_t i = 2;

    if (n < 4 || j[0] != 0xFF || j[1] != 0xD8)
        return false;
    while (i + 4 <= n && j[i] == 0xFF && j[i + 1] != 0xDA) {
        uint8_t m = j[i + 1];
        if ((m >= 0xE1 && m <= 0xEF) || m == 0xFE)
            return false;
        i += 2 + ((size_t)j[i + 2] << 8 | j[i + 3]);
    }
    return i + 4 <= n && j[i] == 0xFF && j[i + 1] == 0xDA;
}

/* Applicants are the bureau's: most born and registered in its districts and counties (the resident ID number
 * starts with the birth place), some migrants from elsewhere in Guangdong and from other provinces; they
 * apply at the outlets the bureau has configured, and at a bank's window open the account with that bank. */
static void test_bureau_region_and_outlets(void **state)
{
    static const char banks[][101] = {"中国工商银行", "中国银行", "韶关农村商业银行"};
    static const struct producer_gen_outlet outlets[] = {
        {.code = "SG01", .bank = ""}, {.code = "SG02", .bank = "中国银行"}, {.code = "SG03", .bank = ""}};
    struct fixture *f = *state;
    struct producer_gen_ctx ctx = f->ctx;
    int residents = 0, local = 0, guangdong = 0, elsewhere = 0, at[3] = {0}, foreign = 0;

    ctx.seed = 1402;
    ctx.checker = NULL; /* the photos are test_thousands_pass's */
    ctx.region = "440200";
    ctx.banks = banks;
    ctx.nbanks = 3;
    ctx.outlets = outlets;
    ctx.noutlets = 3;
    for (int i = 0; i < 400; i++) {
        struct producer_gen_item it;
        bool known = false;

        assert_int_equal(producer_gen_item_make(&ctx, i, -1, &it), 0);
        for (int k = 0; k < 3; k++) {
            if (strcmp(it.app.outlet_code, outlets[k].code) == 0) {
                known = true;
                at[k]++;
            }
        }
        assert_true(known);
        assert_true(photo_without_metadata(it.jpeg, it.jpeg_len));
        if (strcmp(it.app.outlet_code, "SG02") == 0)
            assert_string_equal(it.app.bank_name, "中国银行");
        if (strcmp(it.app.doc_type, "resident_id") == 0 ||
            strcmp(it.app.doc_type, "household_register") == 0) {
            residents++;
            assert_memory_equal(it.app.doc_number, it.app.birth_place, 6);
            if (shaoguan_district(it.app.birth_place))
                local++;
            else if (strncmp(it.app.birth_place, "44", 2) == 0 && strncmp(it.app.birth_place, "4402", 4) != 0)
                guangdong++;
            else if (strncmp(it.app.birth_place, "44", 2) != 0)
                elsewhere++;
            else
                fail_msg("birth place %s is neither a Shaoguan county nor outside Shaoguan",
                         it.app.birth_place);
        }
        if (strcmp(it.app.nationality, "CHN") != 0) {
            foreign++;
            assert_string_equal(it.app.birth_place, "440200");
        }
        producer_gen_item_clear(&it);
    }
    printf("residents %d: Shaoguan %d, elsewhere in Guangdong %d, other provinces %d; foreigners %d; outlets "
           "%d/%d/%d\n",
           residents, local, guangdong, elsewhere, foreign, at[0], at[1], at[2]);
    assert_true(local * 10 >= residents * 6);
    assert_true(guangdong > 0 && elsewhere > 0 && foreign > 0);
    assert_true(at[0] > 0 && at[1] > 0 && at[2] > 0);

    /* a bureau elsewhere: its locals are born in its region, whatever the generator knows of it */
    ctx.region = "440300";
    local = 0;
    for (int i = 0; i < 100; i++) {
        struct producer_gen_item it;
        assert_int_equal(producer_gen_item_make(&ctx, i, -1, &it), 0);
        local += strcmp(it.app.birth_place, "440300") == 0;
        assert_false(shaoguan_district(it.app.birth_place));
        producer_gen_item_clear(&it);
    }
    assert_true(local >= 50);
}

/* A defective photo is made only when asked, and then it fails. */
static void test_bad_photo_only_when_asked(void **state)
{
    struct fixture *f = *state;
    struct producer_gen_ctx ctx = f->ctx;

    ctx.seed = 7;
    for (int i = 0; i < PRODUCER_PORTRAIT_FLAW_COUNT - 1; i++) {
        struct producer_gen_item it;
        struct photo_report *rep = NULL;
        assert_int_equal(producer_gen_item_make(&ctx, i, PRODUCER_GEN_DEFECT_BAD_PHOTO, &it), 0);
        assert_int_equal(photo_check(f->checker, it.jpeg, it.jpeg_len, ctx.profile, &rep), 0);
        assert_int_equal(rep->verdict, PHOTO_STATUS_FAIL);
        photo_report_free(rep);
        producer_gen_item_clear(&it);
    }
}

/* With no day to accept on, nothing is made. */
static void test_needs_days(void **state)
{
    struct fixture *f = *state;
    struct producer_gen_ctx ctx = f->ctx;
    struct producer_gen_item it;

    ctx.ndays = 0;
    assert_int_equal(producer_gen_item_make(&ctx, 0, -1, &it), PRODUCER_ERROR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_item_is_function_of_seed_and_index),
        cmocka_unit_test(test_bad_photo_only_when_asked),
        cmocka_unit_test(test_needs_days),
        cmocka_unit_test(test_bureau_region_and_outlets),
        cmocka_unit_test(test_thousands_pass),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
