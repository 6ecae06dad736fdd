/* test_time.c — unit tests of the one parser of times and dates people write (base/clock.h): ISO 8601 forms,
 * bureau time without an offset, offsets honoured, PostgreSQL's own words refused with the field named */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "store/db.h"

/* Accepted forms, the PostgreSQL text they become (bureau zone Asia/Shanghai) and the instant with bureau
 * time at UTC+8 (unix seconds, worked out by hand: 2026-12-01T00:00Z is 1796083200). */
static void test_time_accepted(void **state)
{
    static const struct {
        const char *text, *sql;
        long long instant;
    } v[] = {
        {"2026-12-01", "2026-12-01 00:00:00 Asia/Shanghai", 1796083200 - 8 * 3600},
        {"2026-12-01T23:30", "2026-12-01 23:30:00 Asia/Shanghai", 1796083200 + 15 * 3600 + 1800},
        {"2026-12-01 23:30:15", "2026-12-01 23:30:15 Asia/Shanghai", 1796083200 + 15 * 3600 + 1815},
        {"2026-12-01T23:30Z", "2026-12-01 23:30:00+00:00", 1796083200 + 23 * 3600 + 1800},
        {"2026-12-01T08:00:00-05:00", "2026-12-01 08:00:00-05:00", 1796083200 + 13 * 3600},
        {"2026-12-01T08:00-0530", "2026-12-01 08:00:00-05:30", 1796083200 + 13 * 3600 + 1800},
        {"2026-12-01T08:00+08", "2026-12-01 08:00:00+08:00", 1796083200},
        {"2026-12-02T09:00:00.250+08:00", "2026-12-02 09:00:00+08:00", 1796083200 + 86400 + 3600},
        {"2024-02-29T12:00:00,5Z", "2024-02-29 12:00:00+00:00", 1709208000},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct producer_time t;
        char sql[112], err[200] = "";
        assert_int_equal(
            producer_time_parse(v[i].text, PRODUCER_TIME_INSTANT, "accepted_at", &t, err, sizeof(err)), 0);
        assert_int_equal(producer_time_sql(&t, "Asia/Shanghai", sql, sizeof(sql)), 0);
        assert_string_equal(sql, v[i].sql);
        assert_int_equal((long long)producer_time_instant(&t, 8 * 3600), v[i].instant);
    }
}

/* What is no ISO 8601 date or date-time: PostgreSQL would read several of these ("yesterday", "now", "epoch",
 * "Dec 1 2026", "12/01/2026"), which is why none may reach it. */
static void test_time_refused(void **state)
{
    static const char *const bad[] = {
        "yesterday",
        "today",
        "tomorrow",
        "now",
        "now+1",
        "epoch",
        "infinity",
        "Dec 1 2026",
        "12/01/2026",
        "2026-12-1",
        "2026-13-01",
        "2026-02-29",
        "2026-12-01T25:00",
        "2026-12-01T10:60",
        "2026-12-01T10:00:60",
        "2026-12-01T10",
        "2026-12-01T10:00 PST",
        "2026-12-01T10:00+08:00x",
        "2026-12-01T10:00+15",
        "2026-12-01T10:00+08:60",
        "+2026-12-01",
        " 2026-12-01",
        "2026-12-01 ",
        "2026-12-01t10:00",
        "2026-12-01T10:00:00.",
        "2026-12-01T10:00:00.1234567890",
        "1899-12-31",
        "",
        "2026-12-01T10:00:00+08:00:00",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct producer_time t;
        char err[200] = "", want[120];
        int r = producer_time_parse(bad[i], PRODUCER_TIME_INSTANT, "--at", &t, err, sizeof(err));
        if (r != PRODUCER_ERROR_INPUT)
            fail_msg("'%s' accepted", bad[i]);
        snprintf(want, sizeof(want), "--at '%s' is not a date or a time: write YYYY-MM-DD", bad[i]);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("'%s': %s", bad[i], err);
    }
    {
        struct producer_time t;
        char err[200] = "";
        assert_int_equal(producer_time_parse(NULL, PRODUCER_TIME_INSTANT, "x", &t, err, sizeof(err)),
                         PRODUCER_ERROR_INPUT);
        /* a long or unprintable value is echoed bounded and harmless */
        assert_int_equal(producer_time_parse("2026-12-01\n\x1b[31m red and much much longer than forty chars",
                                             PRODUCER_TIME_INSTANT, "accepted_at", &t, err, sizeof(err)),
                         PRODUCER_ERROR_INPUT);
        assert_null(strchr(err, '\n'));
        assert_null(strchr(err, '\x1b'));
        assert_non_null(strstr(err, "...'"));
    }
}

/* A date field takes a day alone. */
static void test_time_date(void **state)
{
    struct producer_time t;
    char err[200] = "";

    (void)state;
    assert_int_equal(producer_time_parse("2026-12-01", PRODUCER_TIME_DATE, "DATE", &t, err, sizeof(err)), 0);
    assert_int_equal(t.year * 10000 + t.month * 100 + t.day, 20261201);
    assert_false(t.has_time);
    assert_int_equal(
        producer_time_parse("2026-12-01T10:00", PRODUCER_TIME_DATE, "--accepted-from", &t, err, sizeof(err)),
        PRODUCER_ERROR_INPUT);
    assert_string_equal(err, "--accepted-from '2026-12-01T10:00' is not a date: write YYYY-MM-DD");
    assert_int_equal(producer_time_parse("yesterday", PRODUCER_TIME_DATE, "DATE", &t, err, sizeof(err)),
                     PRODUCER_ERROR_INPUT);
}

/* The zone name goes into SQL text: only a name's characters, and a buffer too small is an error. */
static void test_time_sql_bounds(void **state)
{
    struct producer_time t;
    char small[20], sql[112];

    (void)state;
    assert_int_equal(producer_time_parse("2026-12-01T10:00", PRODUCER_TIME_INSTANT, "t", &t, NULL, 0), 0);
    assert_int_equal(producer_time_sql(&t, "Asia/Shanghai'; DROP TABLE card; --", sql, sizeof(sql)),
                     PRODUCER_ERROR_INVALID);
    assert_int_equal(producer_time_sql(&t, "", sql, sizeof(sql)), PRODUCER_ERROR_INVALID);
    assert_int_equal(producer_time_sql(&t, NULL, sql, sizeof(sql)), PRODUCER_ERROR_INVALID);
    assert_int_equal(producer_time_sql(&t, "America/Argentina/Buenos_Aires", small, sizeof(small)),
                     PRODUCER_ERROR_INVALID);
    assert_int_equal(producer_time_sql(&t, "Etc/GMT-8", sql, sizeof(sql)), 0);
    assert_string_equal(sql, "2026-12-01 10:00:00 Etc/GMT-8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_accepted),
        cmocka_unit_test(test_time_refused),
        cmocka_unit_test(test_time_date),
        cmocka_unit_test(test_time_sql_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
