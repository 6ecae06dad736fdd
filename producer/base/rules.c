/* rules.c — GB 11643 identity numbers and the per-row application rules, free of any I/O */
#include "base/rules.h"

#include "base/i18n.h"
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
        snprintf(reason, reason_size,
                 _("document number %s is a 15-digit first-generation number; the 18-character number is "
                   "required"),
                 masked);
        return false;
    }
    if (len != 18) {
        snprintf(reason, reason_size, _("document number %s has %zu characters; a resident ID number has 18"),
                 masked, len);
        return false;
    }
    for (size_t i = 0; i < 17; i++) {
        if (!isdigit((unsigned char)number[i])) {
            snprintf(reason, reason_size, _("document number %s has a non-digit at position %zu"), masked,
                     i + 1);
            return false;
        }
    }
    check = producer_idcard_check_char(number);
    if (number[17] != check) {
        snprintf(reason, reason_size,
                 _("document number %s fails its check character (the first 17 digits give %c); correct the "
                   "number"),
                 masked, check);
        return false;
    }
    y = digits_to_int(number + 6, 4);
    m = digits_to_int(number + 10, 2);
    d = digits_to_int(number + 12, 2);
    if (!valid_date(y, m, d)) {
        snprintf(reason, reason_size, _("document number %s holds an impossible birth date"), masked);
        return false;
    }
    if (y * 10000 + m * 100 + d > today_yyyymmdd) {
        snprintf(reason, reason_size, _("document number %s holds a birth date in the future"), masked);
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

static int is_upper(int c)
{
    return isupper(c);
}

/* The identity documents, each with what its number looks like and whose document it is. */
enum doc_holder { HOLDER_CITIZEN, HOLDER_FOREIGNER };

static const struct doc_kind {
    const char *type;
    enum doc_holder holder;
    const char *prefix; /* GB 11643 structured numbers: the 6-digit region code the number must start with */
} doc_kinds[] = {
    {"resident_id", HOLDER_CITIZEN, NULL},     {"household_register", HOLDER_CITIZEN, NULL},
    {"passport", HOLDER_FOREIGNER, NULL},      {"foreign_permanent", HOLDER_FOREIGNER, NULL},
    {"hk_macau_permit", HOLDER_CITIZEN, NULL}, {"hk_macau_residence", HOLDER_CITIZEN, "8[12]0000"},
    {"taiwan_permit", HOLDER_CITIZEN, NULL},   {"taiwan_residence", HOLDER_CITIZEN, "830000"},
};

static const struct doc_kind *doc_kind(const char *doc_type)
{
    for (size_t i = 0; doc_type && i < sizeof(doc_kinds) / sizeof(doc_kinds[0]); i++) {
        if (strcmp(doc_kinds[i].type, doc_type) == 0)
            return &doc_kinds[i];
    }
    return NULL;
}

bool producer_doc_type_known(const char *doc_type)
{
    return doc_kind(doc_type) != NULL;
}

/* Numbers built as GB 11643 numbers are: 6-digit region, birth date, sequence with the sex, check. */
static bool gb11643_structured(const char *doc_type, const char *number)
{
    return strcmp(doc_type, "resident_id") == 0 || strcmp(doc_type, "household_register") == 0 ||
           strcmp(doc_type, "hk_macau_residence") == 0 || strcmp(doc_type, "taiwan_residence") == 0 ||
           (strcmp(doc_type, "foreign_permanent") == 0 && strlen(number) == 18);
}

bool producer_doc_birth_sex(const char *doc_type, const char *number, int *ret_birth, char *ret_sex)
{
    if (!doc_type || !number || !gb11643_structured(doc_type, number) || strlen(number) != 18)
        return false;
    if (ret_birth)
        *ret_birth = digits_to_int(number + 6, 8);
    if (ret_sex)
        *ret_sex = (number[16] - '0') % 2 == 1 ? '1' : '2';
    return true;
}

/* A foreign permanent resident ID card (外国人永久居留身份证). Since 1 December 2023 the number has 18 digits
 * built like a resident ID number (first digit 9 marks a foreigner, the birth date at the same place, the
 * same MOD 11-2 check); cards of the 2004 and 2017 issues, still valid, have 3 capitals (the country) + 12
 * digits. */
static bool foreign_permanent_valid(const char *n, const char *nationality, int today, const char *masked,
                                    char *reason, size_t reason_size)
{
    size_t len = strlen(n);

    if (len == 15) {
        if (!all_match(n + 3, isdigit) || !isupper((unsigned char)n[0]) || !isupper((unsigned char)n[1]) ||
            !isupper((unsigned char)n[2])) {
            snprintf(
                reason, reason_size,
                _("foreign_permanent number %s is not well formed: 3 capitals (the country) and 12 digits"),
                masked);
            return false;
        }
        if (nationality[0] && strncmp(n, nationality, 3) != 0) {
            snprintf(reason, reason_size,
                     _("foreign_permanent number %s names country %.3s but nationality is %s"), masked, n,
                     nationality);
            return false;
        }
        return true;
    }
    if (len != 18 || n[0] != '9') {
        snprintf(reason, reason_size,
                 _("foreign_permanent number %s is not well formed: neither 18 characters from 9 (2023 card) "
                   "nor 15 "
                   "(3 capitals and 12 digits, 2004/2017 card)"),
                 masked);
        return false;
    }
    if (!producer_idcard_valid(n, today, reason, reason_size))
        return false;
    return true;
}

static bool is_resident_number_doc(const char *doc_type)
{
    /* the household register of a child under 16 carries the child's resident ID number; a Hong Kong, Macau
     * or Taiwan resident's residence permit number is their social security number */
    return strcmp(doc_type, "resident_id") == 0 || strcmp(doc_type, "household_register") == 0 ||
           strcmp(doc_type, "hk_macau_residence") == 0 || strcmp(doc_type, "taiwan_residence") == 0;
}

bool producer_doc_valid(const char *doc_type, const char *n, const char *nationality, int today_yyyymmdd,
                        char *reason, size_t reason_size)
{
    const struct doc_kind *k = doc_kind(doc_type);
    char masked[40];
    size_t len;
    bool ok = true;

    if (!k) {
        snprintf(reason, reason_size, _("unknown document type '%s' (known: %s)"), doc_type ? doc_type : "",
                 PRODUCER_DOC_TYPES);
        return false;
    }
    if (!n || !n[0]) {
        snprintf(reason, reason_size, _("%s number is empty"), doc_type);
        return false;
    }
    if (!nationality)
        nationality = "";
    len = strlen(n);
    producer_mask_doc(n, masked, sizeof(masked));
    if (nationality[0] && (strlen(nationality) != 3 || !all_match(nationality, is_upper))) {
        snprintf(reason, reason_size, _("nationality '%s' is not an ISO 3166 alpha-3 code (3 capitals)"),
                 nationality);
        return false;
    }
    if (nationality[0] && k->holder == HOLDER_CITIZEN && strcmp(nationality, "CHN") != 0) {
        snprintf(reason, reason_size,
                 _("a %s belongs to a Chinese citizen, but nationality is %s (a foreigner applies with a "
                   "passport or a foreign_permanent card)"),
                 doc_type, nationality);
        return false;
    }
    if (k->holder == HOLDER_FOREIGNER &&
        (strcmp(nationality, "CHN") == 0 || strcmp(nationality, "HKG") == 0 ||
         strcmp(nationality, "MAC") == 0 || strcmp(nationality, "TWN") == 0)) {
        snprintf(reason, reason_size,
                 _("a %s is accepted only from a foreigner, but nationality is %s (citizens apply with a "
                   "resident_id or household_register, Hong Kong/Macau/Taiwan residents with their permits)"),
                 doc_type, nationality);
        return false;
    }

    if (strcmp(doc_type, "resident_id") == 0 || strcmp(doc_type, "household_register") == 0) {
        if (!producer_idcard_valid(n, today_yyyymmdd, reason, reason_size))
            return false;
        if (n[0] == '8' || n[0] == '9') {
            snprintf(reason, reason_size,
                     _("%s number %s starts with %c: that is a residence permit's or a foreigner's number, "
                       "not a mainland resident's"),
                     doc_type, masked, n[0]);
            return false;
        }
        return true;
    }
    if (k->prefix) {
        /* residence permits: a GB 11643 number whose region code names Hong Kong (810000), Macau (820000) or
         * Taiwan (830000) */
        bool prefix_ok =
            len >= 6 && n[0] == '8' && strncmp(n + 2, "0000", 4) == 0 &&
            (strcmp(doc_type, "taiwan_residence") == 0 ? n[1] == '3' : n[1] == '1' || n[1] == '2');
        if (!prefix_ok) {
            snprintf(reason, reason_size, _("%s number %s does not start with %s"), doc_type, masked,
                     strcmp(doc_type, "taiwan_residence") == 0 ? "830000"
                                                               : _("810000 (Hong Kong) or 820000 (Macau)"));
            return false;
        }
        return producer_idcard_valid(n, today_yyyymmdd, reason, reason_size);
    }
    if (strcmp(doc_type, "foreign_permanent") == 0)
        return foreign_permanent_valid(n, nationality, today_yyyymmdd, masked, reason, reason_size);
    if (strcmp(doc_type, "passport") == 0) {
        ok = len >= 5 && len <= 9 && all_match(n, is_upper_alnum);
        if (!ok)
            snprintf(reason, reason_size,
                     _("passport number %s is not well formed: 5 to 9 capitals or digits (ICAO 9303)"),
                     masked);
    } else if (strcmp(doc_type, "hk_macau_permit") == 0) {
        /* the card permit (since 2012): H (Hong Kong) or M (Macau) and 8 digits, printed with a 2-digit
         * issue count on some documents */
        ok = (len == 9 || len == 11) && (n[0] == 'H' || n[0] == 'M') && all_match(n + 1, isdigit);
        if (!ok)
            snprintf(reason, reason_size,
                     _("hk_macau_permit number %s is not well formed: H or M and 8 digits (optionally 2 more "
                       "for the issue count)"),
                     masked);
    } else if (strcmp(doc_type, "taiwan_permit") == 0) {
        /* the card permit (since 2015) carries the holder's lifelong 8-digit number; the booklets before it
         * had 5-year validity and have all expired */
        ok = len == 8 && all_match(n, isdigit);
        if (!ok)
            snprintf(reason, reason_size, _("taiwan_permit number %s is not well formed: 8 digits"), masked);
    }
    return ok;
}

/* The nationality a foreigner's papers tell when the row leaves it empty: the country a 15-character
 * permanent resident card names, else the one that opens a foreigner's social security number. */
static void derive_nationality(const char *doc_type, const char *number, const char *ssn, char out[4])
{
    const struct doc_kind *k = doc_kind(doc_type);

    if (out[0] || !k)
        return;
    if (k->holder == HOLDER_CITIZEN)
        snprintf(out, 4, "CHN");
    else if (strcmp(doc_type, "foreign_permanent") == 0 && strlen(number) == 15)
        snprintf(out, 4, "%.3s", number);
    else if (ssn && strlen(ssn) >= 3 && isupper((unsigned char)ssn[0]) && isupper((unsigned char)ssn[1]) &&
             isupper((unsigned char)ssn[2]))
        snprintf(out, 4, "%.3s", ssn);
}

int producer_age_on(int birth, int day)
{
    return (day - birth) / 10000;
}

/* "guardian" or "agent" as the reasons name the representative (the role itself, in English) */
static const char *role_word(const char *role)
{
    return strcmp(role, "guardian") == 0 ? _("guardian") : _("agent");
}

static bool relationship_fits(const char *role, const char *rel)
{
    /* a minor's guardian is a parent or another relative or person the law appoints, never a spouse or child
     */
    static const char *const guardian[] = {"father", "mother", "grandparent", "sibling", "relative", "other"};
    static const char *const agent[] = {"father", "mother", "grandparent", "sibling",
                                        "spouse", "child",  "relative",    "other"};
    bool g = strcmp(role, "guardian") == 0;
    size_t n = g ? sizeof(guardian) / sizeof(guardian[0]) : sizeof(agent) / sizeof(agent[0]);

    for (size_t i = 0; i < n; i++) {
        if (strcmp(rel, g ? guardian[i] : agent[i]) == 0)
            return true;
    }
    return false;
}

bool producer_validate_intake(struct producer_app *a, int accepted, int today, char *reason,
                              size_t reason_size)
{
    struct producer_rep *rep = &a->rep;
    char masked[40];
    int birth, age, rep_birth;

    if (!producer_date_parse(a->birth_date, NULL, NULL, NULL)) {
        snprintf(reason, reason_size, _("birth_date: '%s' is not YYYY-MM-DD"), a->birth_date);
        return false;
    }
    birth = atoi(a->birth_date) * 10000 + atoi(a->birth_date + 5) * 100 + atoi(a->birth_date + 8);
    if (accepted > today) {
        snprintf(reason, reason_size, _("accepted_at: the day of acceptance is after today"));
        return false;
    }
    if (accepted < birth) {
        snprintf(reason, reason_size,
                 _("accepted_at: the day of acceptance is before the applicant's birth"));
        return false;
    }
    age = producer_age_on(birth, accepted);

    derive_nationality(a->doc_type, a->doc_number, a->ssn, a->nationality);
    /* the number alone, then whether it fits the nationality: the reason names the field that is wrong */
    for (int pass = 0; pass < 2; pass++) {
        if (!producer_doc_valid(a->doc_type, a->doc_number, pass ? a->nationality : "", today, reason,
                                reason_size)) {
            char inner[RULES_REASON_MAX];
            snprintf(inner, sizeof(inner), "%s", reason);
            snprintf(reason, reason_size, "%s: %s", pass ? "nationality" : "doc_number", inner);
            return false;
        }
    }
    if (doc_kind(a->doc_type)->holder == HOLDER_FOREIGNER && !a->nationality[0]) {
        snprintf(
            reason, reason_size,
            _("nationality: a %s is accepted only from a foreigner; give the holder's nationality (ISO 3166 "
              "alpha-3)"),
            a->doc_type);
        return false;
    }
    if (strcmp(a->doc_type, "household_register") == 0 && age >= 16) {
        snprintf(reason, reason_size,
                 _("doc_type: a household_register is accepted only for an applicant under 16 on the day of "
                   "acceptance; this applicant was %d and applies with the resident ID card"),
                 age);
        return false;
    }

    if (rep->role[0] == '\0') {
        if (rep->name[0] || rep->doc_type[0] || rep->doc_number[0] || rep->relationship[0]) {
            snprintf(
                reason, reason_size,
                _("rep_role: guardian or agent details are given but rep_role is empty (guardian or agent)"));
            return false;
        }
        if (age < 16) {
            snprintf(reason, reason_size,
                     _("rep_role: the applicant was %d on the day of acceptance; under 16 a guardian applies "
                       "(rep_role guardian with the guardian's name, document and relationship)"),
                     age);
            return false;
        }
        return true;
    }
    if (strcmp(rep->role, "guardian") && strcmp(rep->role, "agent")) {
        snprintf(reason, reason_size, _("rep_role: '%s' is not guardian or agent"), rep->role);
        return false;
    }
    if (strcmp(rep->role, "guardian") == 0 && age >= 16) {
        snprintf(reason, reason_size,
                 _("rep_role: a guardian applies only for an applicant under 16; this applicant was %d (an "
                   "agent may apply with a power of attorney)"),
                 age);
        return false;
    }
    if (strcmp(rep->role, "agent") == 0 && age < 16) {
        snprintf(
            reason, reason_size,
            _("rep_role: the applicant was %d on the day of acceptance; under 16 the guardian applies, not "
              "an agent"),
            age);
        return false;
    }
    if (rep->name[0] == '\0') {
        snprintf(reason, reason_size, _("rep_name: the %s's name is empty"), role_word(rep->role));
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)rep->name; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            snprintf(reason, reason_size, _("rep_name: the %s's name contains a control character"),
                     role_word(rep->role));
            return false;
        }
    }
    if (strcmp(rep->doc_type, "household_register") == 0) {
        snprintf(reason, reason_size,
                 _("rep_doc_type: a %s proves identity with their own document; a household_register is only "
                   "for applicants under 16"),
                 role_word(rep->role));
        return false;
    }
    derive_nationality(rep->doc_type, rep->doc_number, NULL, rep->nationality);
    if (!producer_doc_valid(rep->doc_type, rep->doc_number, rep->nationality, today, reason, reason_size)) {
        char inner[RULES_REASON_MAX];
        snprintf(inner, sizeof(inner), "%s", reason);
        snprintf(reason, reason_size, _("rep_doc_number: the %s's document: %s"), role_word(rep->role),
                 inner);
        return false;
    }
    if (doc_kind(rep->doc_type)->holder == HOLDER_FOREIGNER && !rep->nationality[0]) {
        snprintf(reason, reason_size,
                 _("rep_nationality: the %s's %s is accepted only from a foreigner; give the nationality"),
                 role_word(rep->role), rep->doc_type);
        return false;
    }
    if (strcmp(rep->doc_type, a->doc_type) == 0 && strcmp(rep->doc_number, a->doc_number) == 0) {
        producer_mask_doc(rep->doc_number, masked, sizeof(masked));
        snprintf(reason, reason_size, _("rep_doc_number: the %s's document %s is the applicant's own"),
                 role_word(rep->role), masked);
        return false;
    }
    if (producer_doc_birth_sex(rep->doc_type, rep->doc_number, &rep_birth, NULL) &&
        producer_age_on(rep_birth, accepted) < 18) {
        producer_mask_doc(rep->doc_number, masked, sizeof(masked));
        snprintf(reason, reason_size,
                 _("rep_doc_number: the %s (document %s) was under 18 on the day of acceptance; a %s must be "
                   "an adult"),
                 role_word(rep->role), masked, role_word(rep->role));
        return false;
    }
    if (!relationship_fits(rep->role, rep->relationship)) {
        snprintf(reason, reason_size,
                 _("rep_relationship: '%s' is not a %s's relationship to the applicant (%s)"),
                 rep->relationship, role_word(rep->role),
                 strcmp(rep->role, "guardian") == 0 ? "father, mother, grandparent, sibling, relative, other"
                                                    : PRODUCER_REP_RELATIONSHIPS);
        return false;
    }
    return true;
}

bool producer_validate_app(const struct producer_app *app, int today_yyyymmdd, char *reason,
                           size_t reason_size)
{
    char masked[40];
    int birth;

    if (app->name[0] == '\0') {
        snprintf(reason, reason_size, _("the applicant's name is empty"));
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)app->name; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            snprintf(reason, reason_size, _("the applicant's name contains a control character"));
            return false;
        }
    }
    if (strlen(app->birth_date) != 10) {
        snprintf(reason, reason_size, _("birth date is missing"));
        return false;
    }
    birth = atoi(app->birth_date) * 10000 + atoi(app->birth_date + 5) * 100 + atoi(app->birth_date + 8);
    if (birth > today_yyyymmdd) {
        snprintf(reason, reason_size, _("birth date is in the future"));
        return false;
    }

    /* nationality is the intake's to check (producer_validate_intake): rows stored before it knew the
     * nationality still go through the line */
    if (!producer_doc_valid(app->doc_type, app->doc_number, "", today_yyyymmdd, reason, reason_size))
        return false;
    if (gb11643_structured(app->doc_type, app->doc_number)) {
        producer_mask_doc(app->doc_number, masked, sizeof(masked));
        if (is_resident_number_doc(app->doc_type) && strcmp(app->ssn, app->doc_number) != 0) {
            snprintf(reason, reason_size,
                     _("social security number differs from %s number %s; for its holders they are the same"),
                     app->doc_type, masked);
            return false;
        }
        if (digits_to_int(app->doc_number + 6, 8) != birth) {
            /* reasons are shown and logged beside masked holders: name the part that differs, not dates */
            static const char *const part[3] = {N_("year"), N_("month"), N_("day")};
            int doc_birth = digits_to_int(app->doc_number + 6, 8);
            int given[3] = {birth / 10000, birth / 100 % 100, birth % 100};
            int in_doc[3] = {doc_birth / 10000, doc_birth / 100 % 100, doc_birth % 100};
            char parts[48] = "";
            for (int i = 0; i < 3; i++) {
                /* TRANSLATORS: between the parts of a date that differ: "year, day" */
                if (given[i] != in_doc[i])
                    snprintf(parts + strlen(parts), sizeof(parts) - strlen(parts), "%s%s",
                             parts[0] ? _(", ") : "", _(part[i]));
            }
            snprintf(reason, reason_size,
                     _("birth date does not match the one in document number %s (it differs in the %s)"),
                     masked, parts);
            return false;
        }
        if (((app->doc_number[16] - '0') % 2 == 1 ? '1' : '2') != app->sex) {
            snprintf(reason, reason_size, _("sex '%s' does not match the sex digit of document number %s"),
                     app->sex == '1' ? _("male") : _("female"), masked);
            return false;
        }
    }
    if (!is_resident_number_doc(app->doc_type)) {
        if (strlen(app->ssn) != 18 || !all_match(app->ssn, is_upper_alnum)) {
            snprintf(reason, reason_size,
                     _("social security number is not 18 characters of digits and capitals"));
            return false;
        }
    }

    if ((strcmp(app->kind, "replacement") == 0 || strcmp(app->kind, "exchange") == 0) &&
        app->replaced_card[0] == '\0') {
        snprintf(reason, reason_size, _("%s application does not name the card it replaces"), app->kind);
        return false;
    }
    if (app->outlet_code[0] == '\0') {
        snprintf(reason, reason_size, _("no pickup outlet chosen"));
        return false;
    }
    if (app->photo_id == 0) {
        snprintf(reason, reason_size,
                 _("no photo; the applicant must submit a photo with a quality receipt"));
        return false;
    }
    return true;
}
