/* rules.h — pure validation rules: identity document numbers and what makes an application producible */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_REASON_MAX 256

/* ISO 7064 MOD 11-2 check character of the first 17 digits of a GB 11643 number ('0'..'9' or 'X'),
 * or 0 when the input is not 17 digits. */
char producer_idcard_check_char(const char *first17);

/* Whether y-m-d is a day of the Gregorian calendar (any year from 1 on). */
bool producer_date_valid(int y, int m, int d);

/* Parse exactly YYYY-MM-DD (digits only: no signs or blanks, as sscanf would take) naming a real day. Returns
 * true and sets ret_* (each may be NULL); false leaves them untouched. */
bool producer_date_parse(const char *s, int *ret_y, int *ret_m, int *ret_d);

/* Validate an 18-character resident ID number (GB 11643-1999): digits, check character, a real birth date not
 * after today (YYYYMMDD as integer, e.g. 20261128). On failure returns false and puts a reason in reason. */
bool producer_idcard_valid(const char *number, int today_yyyymmdd, char *reason, size_t reason_size);

/* An application as the line sees it (one row of table application plus what validation needs). */
struct producer_app {
    int64_t id;
    char upstream_id[65];
    char kind[16];
    char doc_type[24];
    char doc_number[33];
    char ssn[19];
    char name[244];
    char sex;
    int ethnicity;
    char birth_date[11]; /* YYYY-MM-DD */
    char birth_place[7];
    char nationality[4];
    char outlet_code[17];
    char bank_name[101];
    int64_t photo_id; /* 0 = none */
    char replaced_card[10];
    int attempts;
};

/* The checks that need nothing but the row itself: document number against its type, the social security
 * number, birth date and sex consistency, kind-specific fields. Returns true when the application may go on;
 * otherwise false with a reason a person can act on (personal data masked). */
bool producer_validate_app(const struct producer_app *app, int today_yyyymmdd, char *reason,
                           size_t reason_size);
