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

/* The identity documents an application may name (the applicant's, a guardian's or an agent's). Each number
 * is checked as strictly as its published format allows (producer_doc_valid). */
#define PRODUCER_DOC_TYPES                                                                                   \
    "resident_id, household_register, passport, foreign_permanent, hk_macau_permit, hk_macau_residence, "    \
    "taiwan_permit, taiwan_residence"

/* Whether doc_type is one of PRODUCER_DOC_TYPES. */
bool producer_doc_type_known(const char *doc_type);

/* Validate a document number against its type: resident ID and household register (GB 11643, check
 * character, birth date), foreign permanent resident ID card (18 digits from '9' with the GB 11643 check, or
 * the 15-character 2004/2017 form: 3 capitals naming the country + 12 digits), Hong Kong/Macau and Taiwan
 * residence permits (GB 11643 numbers from 810000, 820000, 830000), the Mainland travel permits of Hong Kong
 * and Macau residents (H or M + 8 digits, optionally + a 2-digit issue count) and of Taiwan residents (8
 * digits), passports (ICAO 9303: 5 to 9 capitals or digits in the machine-readable zone's number field).
 * nationality (ISO 3166 alpha-3, "" = unknown) must fit the document: CHN for the resident documents and the
 * permits of Hong Kong, Macau and Taiwan residents, a foreign country for passports and foreign permanent
 * resident cards, and the country the 15-character card names. On failure returns false and puts a reason
 * (the number masked) in reason. */
bool producer_doc_valid(const char *doc_type, const char *number, const char *nationality, int today_yyyymmdd,
                        char *reason, size_t reason_size);

/* The birth date (YYYYMMDD) and sex ('1' male, '2' female) a document number carries, for the types whose
 * numbers carry them (GB 11643 structured: resident ID, household register, residence permits, the 18-digit
 * foreign permanent resident card). Returns false for other types. Assumes producer_doc_valid passed. */
bool producer_doc_birth_sex(const char *doc_type, const char *number, int *ret_birth, char *ret_sex);

/* Who applies for someone else: a guardian for an applicant under 16 (required), or an agent with a power of
 * attorney for anyone else who delegates (the elderly, the disabled, those living elsewhere). */
struct producer_rep {
    char role[9]; /* "" (the applicant in person), "guardian" or "agent" */
    char name[244];
    char doc_type[24];
    char doc_number[33];
    char nationality[4];   /* "" = CHN, or derived as for the applicant */
    char relationship[16]; /* PRODUCER_REP_RELATIONSHIPS */
};

#define PRODUCER_REP_RELATIONSHIPS "father, mother, grandparent, sibling, spouse, child, relative, other"

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
    struct producer_rep rep; /* intake only: the line's queue leaves it empty */
};

/* The checks that need nothing but the row itself: document number against its type, the social security
 * number, birth date and sex consistency, kind-specific fields. Returns true when the application may go on;
 * otherwise false with a reason a person can act on (personal data masked). */
bool producer_validate_app(const struct producer_app *app, int today_yyyymmdd, char *reason,
                           size_t reason_size);

/* Age in whole years on day (both YYYYMMDD). */
int producer_age_on(int birth_yyyymmdd, int day_yyyymmdd);

/* The rules of the day an application is accepted (intake only; the line does not see the acceptance):
 * acceptance not before birth nor after today; a household register only for an applicant under 16 that day;
 * under 16 only with a guardian; a guardian only for one under 16; the guardian's or agent's own document
 * valid (an adult's: 18 or over, not a household register) and not the applicant's; a relationship that fits
 * the role. Fills app->nationality (and the representative's) where it was left empty and the documents tell
 * it. Returns true, or false with a reason naming the field and the rule (personal data masked). */
bool producer_validate_intake(struct producer_app *app, int accepted_yyyymmdd, int today_yyyymmdd,
                              char *reason, size_t reason_size);
