/* rules.c — GB 11643 identity numbers and the per-row application rules, free of any I/O */
#include "base/rules.h"

#include "base/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char producer_idcard_check_char(const char *first17)
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char map[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
    int sum = 0;

    for (int i = 0; i < 17; i++) {
        if (!isdigit((unsigned char)first17[i]))
            return 0;
        sum += (first17[i] - '0') * weights[i];
    }
    return map[sum % 11];
}

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool producer_date_valid(int y, int m, int d)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= days[m - 1] + (m == 2 && leap_year(y));
}

bool producer_date_parse(const char *s, int *ret_y, int *ret_m, int *ret_d)
{
    int y, m, d;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    }
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    if (!producer_date_valid(y, m, d))
        return false;
    if (ret_y)
        *ret_y = y;
    if (ret_m)
        *ret_m = m;
    if (ret_d)
        *ret_d = d;
    return true;
}

/* A birth date on an identity document: a real day, and not before 1890. */
static bool valid_date(int y, int m, int d)
{
    return y >= 1890 && producer_date_valid(y, m, d);
}

static int digits_to_int(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

bool producer_idcard_valid(const char *number, int today_yyyymmdd, char *reason, size_t reason_size)
{
    char masked[40];
    size_t len = strlen(number);
    char check;
    int y, m, d;

    producer_mask_doc(number, masked, sizeof(masked));
    if (len == 15) {
        snprintf(
            reason, reason_size,
            "document number %s is a 15-digit first-generation number; the 18-character number is required",
            masked);
        return false;
    }
    if (len != 18) {
        snprintf(reason, reason_size, "document number %s has %zu characters; a resident ID number has 18",
                 masked, len);
        return false;
    }
    for (size_t i = 0; i < 17; i++) {
        if (!isdigit((unsigned char)number[i])) {
            snprintf(reason, reason_size, "document number %s has a non-digit at position %zu", masked,
                     i + 1);
            return false;
        }
    }
    check = producer_idcard_check_char(number);
    if (number[17] != check) {
        snprintf(
            reason, reason_size,
            "document number %s fails its check character (the first 17 digits give %c); correct the number",
            masked, check);
        return false;
    }
    y = digits_to_int(number + 6, 4);
    m = digits_to_int(number + 10, 2);
    d = digits_to_int(number + 12, 2);
    if (!valid_date(y, m, d)) {
        snprintf(reason, reason_size, "document number %s holds an impossible birth date", masked);
        return false;
    }
    if (y * 10000 + m * 100 + d > today_yyyymmdd) {
        snprintf(reason, reason_size, "document number %s holds a birth date in the future", masked);
        return false;
    }
    return true;
}

static bool all_match(const char *s, int (*pred)(int))
{
    for (; *s; s++) {
        if (!pred((unsigned char)*s))
            return false;
    }
    return true;
}

static int is_upper_alnum(int c)
{
    return isdigit(c) || isupper(c);
}

/* Documents other than the resident ID: shape checks only, as their numbering is not ours to verify. */
static bool other_document_valid(const struct producer_app *app, char *reason, size_t reason_size)
{
    const char *n = app->doc_number;
    size_t len = strlen(n);
    char masked[40];
    bool ok;

    producer_mask_doc(n, masked, sizeof(masked));
    if (strcmp(app->doc_type, "passport") == 0)
        ok = len >= 5 && len <= 20 && all_match(n, is_upper_alnum);
    else if (strcmp(app->doc_type, "hk_macau_permit") == 0)
        ok = (len == 9 || len == 11) && (n[0] == 'H' || n[0] == 'M') && all_match(n + 1, isdigit);
    else if (strcmp(app->doc_type, "taiwan_permit") == 0)
        ok = (len == 8 || len == 10) && all_match(n, is_upper_alnum);
    else if (strcmp(app->doc_type, "foreign_permanent") == 0)
        ok = (len == 15 && isupper((unsigned char)n[0]) && isupper((unsigned char)n[1]) &&
              isupper((unsigned char)n[2]) && all_match(n + 3, isdigit)) ||
             (len == 18 && n[0] == '9' && producer_idcard_check_char(n) == n[17]);
    else {
        snprintf(reason, reason_size, "unknown document type '%s'", app->doc_type);
        return false;
    }
    if (!ok)
        snprintf(reason, reason_size, "%s number %s is not well formed", app->doc_type, masked);
    return ok;
}

static bool is_resident_number_doc(const char *doc_type)
{
    /* the household register of a child under 16 carries the child's resident ID number */
    return strcmp(doc_type, "resident_id") == 0 || strcmp(doc_type, "household_register") == 0;
}

bool producer_validate_app(const struct producer_app *app, int today_yyyymmdd, char *reason,
                           size_t reason_size)
{
    char masked[40];
    int birth;

    if (app->name[0] == '\0') {
        snprintf(reason, reason_size, "the applicant's name is empty");
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)app->name; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            snprintf(reason, reason_size, "the applicant's name contains a control character");
            return false;
        }
    }
    if (strlen(app->birth_date) != 10) {
        snprintf(reason, reason_size, "birth date is missing");
        return false;
    }
    birth = atoi(app->birth_date) * 10000 + atoi(app->birth_date + 5) * 100 + atoi(app->birth_date + 8);
    if (birth > today_yyyymmdd) {
        snprintf(reason, reason_size, "birth date is in the future");
        return false;
    }

    if (is_resident_number_doc(app->doc_type)) {
        if (!producer_idcard_valid(app->doc_number, today_yyyymmdd, reason, reason_size))
            return false;
        producer_mask_doc(app->doc_number, masked, sizeof(masked));
        if (strcmp(app->ssn, app->doc_number) != 0) {
            snprintf(
                reason, reason_size,
                "social security number differs from resident ID number %s; for residents they are the same",
                masked);
            return false;
        }
        if (digits_to_int(app->doc_number + 6, 8) != birth) {
            /* reasons are shown and logged beside masked holders: name the part that differs, not dates */
            static const char *const part[3] = {"year", "month", "day"};
            int doc_birth = digits_to_int(app->doc_number + 6, 8);
            int given[3] = {birth / 10000, birth / 100 % 100, birth % 100};
            int in_doc[3] = {doc_birth / 10000, doc_birth / 100 % 100, doc_birth % 100};
            char parts[24] = "";
            for (int i = 0; i < 3; i++) {
                if (given[i] != in_doc[i])
                    snprintf(parts + strlen(parts), sizeof(parts) - strlen(parts), "%s%s",
                             parts[0] ? ", " : "", part[i]);
            }
            snprintf(reason, reason_size,
                     "birth date does not match the one in document number %s (it differs in the %s)", masked,
                     parts);
            return false;
        }
        if (((app->doc_number[16] - '0') % 2 == 1 ? '1' : '2') != app->sex) {
            snprintf(reason, reason_size, "sex '%s' does not match the sex digit of document number %s",
                     app->sex == '1' ? "male" : "female", masked);
            return false;
        }
    } else {
        if (!other_document_valid(app, reason, reason_size))
            return false;
        if (strlen(app->ssn) != 18 || !all_match(app->ssn, is_upper_alnum)) {
            snprintf(reason, reason_size,
                     "social security number is not 18 characters of digits and capitals");
            return false;
        }
    }

    if ((strcmp(app->kind, "replacement") == 0 || strcmp(app->kind, "exchange") == 0) &&
        app->replaced_card[0] == '\0') {
        snprintf(reason, reason_size, "%s application does not name the card it replaces", app->kind);
        return false;
    }
    if (app->outlet_code[0] == '\0') {
        snprintf(reason, reason_size, "no pickup outlet chosen");
        return false;
    }
    if (app->photo_id == 0) {
        snprintf(reason, reason_size, "no photo; the applicant must submit a photo with a quality receipt");
        return false;
    }
    return true;
}
