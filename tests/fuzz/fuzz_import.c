/* fuzz_import.c — fuzz target for an application import file as cardline reads it before touching the
 * database: the CSV header, then every row through the intake parsing and the validation rules (GB 11643
 * document numbers, dates, sex, kinds, document types) */
#include "fuzz.h"
#include "base/csv.h"
#include "intake/intake.h"
#include "base/log.h"
#include "base/rules.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the day the rules take as today: birth dates after it are refused */
#define FUZZ_TODAY 20261128

static bool real_date(const char *s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    }
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    return m >= 1 && m <= 12 && d >= 1 &&
           d <= mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* What an accepted row promises the insert and the line. */
static void check_row(const struct producer_import_row *row)
{
    const struct producer_app *a = &row->app;
    char reason[RULES_REASON_MAX];

    CHECK(strcmp(a->kind, "new") == 0 || strcmp(a->kind, "replacement") == 0 ||
          strcmp(a->kind, "exchange") == 0 || strcmp(a->kind, "temporary") == 0);
    CHECK(a->sex == '1' || a->sex == '2');
    CHECK(a->ethnicity >= 1 && a->ethnicity <= 98);
    CHECK(row->priority >= 0 && row->priority <= 9);
    CHECK(real_date(a->birth_date));
    CHECK(strlen(a->birth_place) == 6 && strspn(a->birth_place, "0123456789") == 6);
    CHECK(a->upstream_id[0] && a->name[0] && a->outlet_code[0] && row->accepted_at[0]);
    CHECK(row->photo && row->photo[0]);
    CHECK(a->photo_id == 0);
    CHECK(strlen(a->ssn) < sizeof(a->ssn));
    if (strcmp(a->doc_type, "resident_id") == 0 || strcmp(a->doc_type, "household_register") == 0) {
        /* the number is a valid GB 11643 number, it is the SSN, and birth date and sex agree with it */
        CHECK(producer_idcard_valid(a->doc_number, FUZZ_TODAY, reason, sizeof(reason)));
        CHECK(strcmp(a->ssn, a->doc_number) == 0);
        CHECK(strncmp(a->doc_number + 6, a->birth_date, 4) == 0 &&
              strncmp(a->doc_number + 10, a->birth_date + 5, 2) == 0 &&
              strncmp(a->doc_number + 12, a->birth_date + 8, 2) == 0);
        CHECK(((a->doc_number[16] - '0') % 2 == 1) == (a->sex == '1'));
    } else {
        CHECK(strlen(a->ssn) == 18);
    }
    if (strcmp(a->kind, "replacement") == 0 || strcmp(a->kind, "exchange") == 0)
        CHECK(a->replaced_card[0]);
    /* the line's own check agrees with the importer's */
    {
        struct producer_app with_photo = *a;
        with_photo.photo_id = 1;
        CHECK(producer_validate_app(&with_photo, FUZZ_TODAY, reason, sizeof(reason)));
    }
}

/* A refused row names no document number in full (personal data stays out of logs), unless the same text
 * stands in another column too. */
static void check_refusal(const struct csv_record *rec, const int map[PRODUCER_IMPORT_COLUMNS],
                          const char *err)
{
    const char *doc = NULL;
    int doc_col = map[3]; /* doc_number */

    CHECK(err[0] != '\0');
    if (doc_col < 0 || doc_col >= rec->nfields)
        return;
    doc = rec->fields[doc_col];
    /* a document number: digits and capitals (other text may be a word of the message itself) */
    if (strlen(doc) < 8 || strspn(doc, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(doc) ||
        !strpbrk(doc, "0123456789"))
        return;
    for (int i = 0; i < rec->nfields; i++) {
        if (i != doc_col && strstr(rec->fields[i], doc))
            return;
    }
    CHECK(strstr(err, doc) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct csv_record rec;
    int map[PRODUCER_IMPORT_COLUMNS], line = 1;
    struct producer_import_row row;
    char err[2048];
    size_t pos = 0;

    if (csv_next((const char *)data, size, &pos, &line, &rec) != CSV_RECORD)
        return 0;
    if (producer_import_header(&rec, "fuzz.csv", map, err, sizeof(err)) < 0) {
        CHECK(strncmp(err, "fuzz.csv:", 9) == 0);
        return 0;
    }
    for (int c = 0; c < PRODUCER_IMPORT_COLUMNS; c++)
        CHECK(map[c] >= -1 && map[c] < rec.nfields);
    while (csv_next((const char *)data, size, &pos, &line, &rec) == CSV_RECORD) {
        err[0] = '\0';
        if (producer_import_row_parse(&rec, map, FUZZ_TODAY, &row, err, sizeof(err)) == 0)
            check_row(&row);
        else
            check_refusal(&rec, map, err);
    }
    return 0;
}
