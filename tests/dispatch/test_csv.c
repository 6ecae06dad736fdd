/* test_csv.c — the one CSV writer (manifests, shipment export): RFC 4180 quoting byte for byte, and every
 * record it writes read back unchanged by the import's reader */
#include "base/csv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Write one record into memory; returns the bytes (free()). */
static char *written(const char *const *fields, int n, unsigned flags, size_t *ret_len)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    assert_int_equal(csv_write_record(f, fields, n, flags), 0);
    assert_int_equal(fclose(f), 0);
    *ret_len = len;
    return buf;
}

static void quoting(void **state)
{
    /* comma, quote, LF, CR LF, CJK text, a plain field, an empty one and NULL */
    const char *const fields[] = {"a,b", "say \"hi\"", "two\nlines", "cr\r\nlf", "张三丰", "plain", "", NULL};
    const char *want = "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\nlf\",张三丰,plain,,\n";
    size_t len;
    char *out = written(fields, 8, 0, &len);

    (void)state;
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);
}

static void round_trip(void **state)
{
    const char *const fields[] = {"069012340000000016", "李*", "4401**********123X", "x,\"y\"\nz",
                                  "王小明,Jr."};
    struct csv_record *rec = malloc(sizeof(*rec));
    size_t len, pos = 0;
    int line = 1;
    char *out;

    (void)state;
    assert_non_null(rec);
    for (unsigned flags = 0; flags <= CSV_WRITE_QUOTE_ALL; flags++) {
        out = written(fields, 5, flags, &len);
        pos = 0;
        line = 1;
        assert_int_equal(csv_next(out, len, &pos, &line, rec), CSV_RECORD);
        assert_int_equal(rec->nfields, 5);
        for (int i = 0; i < 5; i++)
            assert_string_equal(rec->fields[i], fields[i]);
        assert_int_equal(pos, len);
        assert_int_equal(csv_next(out, len, &pos, &line, rec), CSV_END);
        free(out);
    }
    free(rec);
}

static void quote_all_and_formulas(void **state)
{
    const char *const fields[] = {"=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "A00000001", "a=b"};
    size_t len;
    char *out;

    (void)state;
    out = written(fields, 6, CSV_WRITE_QUOTE_ALL | CSV_WRITE_SAFE_FORMULA, &len);
    assert_string_equal(
        out, "\"'=HYPERLINK(\"\"http://x\"\")\",\"'+1\",\"'-2\",\"'@SUM(A1)\",\"A00000001\",\"a=b\"\n");
    free(out);
    out = written(fields + 1, 5, CSV_WRITE_SAFE_FORMULA, &len);
    assert_string_equal(out, "'+1,'-2,'@SUM(A1),A00000001,a=b\n");
    free(out);
    /* without the flag a formula is data like any other */
    out = written(fields + 1, 2, 0, &len);
    assert_string_equal(out, "+1,-2\n");
    free(out);
}

static void write_error(void **state)
{
    const char *const fields[] = {"x"};
    FILE *f = fopen("/dev/full", "we");

    (void)state;
    if (!f)
        skip();
    setvbuf(f, NULL, _IONBF, 0); /* unbuffered: the error shows at the write, not at fclose */
    assert_int_equal(csv_write_record(f, fields, 1, 0), -1);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quoting),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(quote_all_and_formulas),
        cmocka_unit_test(write_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
