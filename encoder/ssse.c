/* ssse.c — card operations (ISO 7816 base, SSSE profile) and the personalisation of the SSSE application */
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "encoder-private.h"

/* "sx1.sh." followed by 社会保障 in GBK. */
const uint8_t encoder_ssse_aid[ENCODER_SSSE_AID_LEN] = {0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9,
                                                        0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF};

/* Records of EF05/EF06 and the largest value each holds (shared/reference/chip.md). */
static const struct ssse_record {
    uint16_t fid;
    uint8_t rec;
    uint8_t max;
} ssse_records[] = {
    {ENCODER_FID_EF05, 0x01, ENCODER_CARD_ID_LEN}, /* card identifier, written by the manufacturer */
    {ENCODER_FID_EF05, 0x02, 1},                   /* card type an1 */
    {ENCODER_FID_EF05, 0x03, 4},                   /* spec version an4 */
    {ENCODER_FID_EF05, 0x04, 12},                  /* initialising organisation */
    {ENCODER_FID_EF05, 0x05, 4},                   /* issue date cn4 */
    {ENCODER_FID_EF05, 0x06, 4},                   /* expiry date cn4 */
    {ENCODER_FID_EF05, 0x07, 9},                   /* card number an9 */
    {ENCODER_FID_EF06, 0x08, 18},                  /* social security number an18 */
    {ENCODER_FID_EF06, 0x09, ENCODER_NAME_FIELD_LEN},
    {ENCODER_FID_EF06, 0x4E, ENCODER_NAME_EXT_MAX},
    {ENCODER_FID_EF06, 0x0A, 1}, /* sex an1 */
    {ENCODER_FID_EF06, 0x0B, 1}, /* ethnicity cn1 */
    {ENCODER_FID_EF06, 0x0C, 3}, /* birth place cn3 */
    {ENCODER_FID_EF06, 0x0D, 4}, /* birth date cn4 */
};

size_t encoder_ssse_record_max(uint16_t fid, uint8_t rec)
{
    for (size_t i = 0; i < sizeof ssse_records / sizeof ssse_records[0]; i++)
        if (ssse_records[i].fid == fid && ssse_records[i].rec == rec)
            return ssse_records[i].max;
    return 0;
}

/* ---- batches: commands queued by the operations, sent in one go ---- */

struct encoder_card_batch {
    size_t n;
    struct encoder_exchange x[ENCODER_BATCH_MAX];
    uint8_t apdu[ENCODER_BATCH_MAX][ENCODER_APDU_MAX];
    char what[ENCODER_BATCH_MAX][64]; /* the step, for the cause when this command fails */
    int err_on_status[ENCODER_BATCH_MAX];
};

static int batch_queue(struct encoder_card_batch *b, const uint8_t *apdu, size_t apdu_len)
{
    if (b->n >= ENCODER_BATCH_MAX || apdu_len > ENCODER_APDU_MAX)
        return ENCODER_ERROR_INVALID;
    memcpy(b->apdu[b->n], apdu, apdu_len);
    b->x[b->n] = (struct encoder_exchange){.apdu = b->apdu[b->n], .apdu_len = apdu_len};
    b->what[b->n][0] = '\0';
    b->err_on_status[b->n] = 0;
    b->n++;
    return 0;
}

static void batch_label(struct encoder_card_batch *b, int err_on_status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void batch_label(struct encoder_card_batch *b, int err_on_status, const char *fmt, ...)
{
    if (b->n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->what[b->n - 1], sizeof b->what[0], fmt, ap);
    va_end(ap);
    b->err_on_status[b->n - 1] = err_on_status;
}

/* ---- ISO 7816-4 base operations ---- */

/* Send one APDU, keep the status word in card->sw, copy the response data to data (when not NULL). */
static int card_exchange(struct encoder_card *card, const uint8_t *apdu, size_t apdu_len, uint8_t *data,
                         size_t data_max, size_t *ret_data_len)
{
    uint8_t resp[ENCODER_RESP_MAX];
    size_t resp_len;
    const uint8_t *d;
    size_t d_len;
    uint16_t sw;

    card->sw = 0;
    if (card->batch) {
        int q = batch_queue(card->batch, apdu, apdu_len);
        if (q == 0 && ret_data_len)
            *ret_data_len = 0; /* the answer is read from the batch once it has been sent */
        return q;
    }
    int r = encoder_transport_transmit(card->t, apdu, apdu_len, resp, sizeof resp, &resp_len);
    if (r < 0)
        return r;
    r = encoder_response_parse(resp, resp_len, &d, &d_len, &sw);
    if (r < 0)
        return r;
    card->sw = sw;
    r = encoder_sw_to_error(sw);
    if (r < 0)
        return r;
    if (data) {
        if (d_len > data_max)
            return ENCODER_ERROR_STATUS; /* the card sent more than the command can return */
        memcpy(data, d, d_len);
        if (ret_data_len)
            *ret_data_len = d_len;
    }
    return 0;
}

static int card_command(struct encoder_card *card, const struct encoder_apdu *a, uint8_t *data,
                        size_t data_max, size_t *ret_data_len)
{
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t apdu_len;
    int r = encoder_apdu_build(a, apdu, sizeof apdu, &apdu_len);
    if (r < 0)
        return r;
    return card_exchange(card, apdu, apdu_len, data, data_max, ret_data_len);
}

static int iso_select_aid(struct encoder_card *card, const uint8_t *aid, size_t aid_len)
{
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t apdu_len;
    int r = encoder_apdu_select_aid(aid, aid_len, apdu, sizeof apdu, &apdu_len);
    if (r < 0)
        return r;
    return card_exchange(card, apdu, apdu_len, NULL, 0, NULL);
}

static int iso_select_ef(struct encoder_card *card, uint16_t fid)
{
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t apdu_len;
    /* P1 = 00: select MF, DF or EF by file identifier. */
    int r = encoder_apdu_select_ef(0x00, fid, apdu, sizeof apdu, &apdu_len);
    if (r < 0)
        return r;
    return card_exchange(card, apdu, apdu_len, NULL, 0, NULL);
}

static int iso_read_record(struct encoder_card *card, uint8_t rec, uint8_t *buf, size_t buf_max,
                           size_t *ret_len)
{
    if (!buf || !ret_len || rec == 0)
        return ENCODER_ERROR_INVALID;
    /* P2 = 04: P1 is a record number in the current EF. Le = the buffer's size, which callers that know the
     * record's length make exact (a T=0 card answers any other Le with 6Cxx, costing a second exchange); up
     * to 256 (00). On 6Cxx the transport asks again with the length the card gave. */
    size_t le = buf_max < 256 ? buf_max : 256;
    if (le == 0)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.ins = 0xB2, .p1 = rec, .p2 = 0x04, .has_le = true, .le = le};
    return card_command(card, &a, buf, buf_max, ret_len);
}

static int iso_update_record(struct encoder_card *card, uint8_t rec, const uint8_t *data, size_t len)
{
    if (!data || len == 0 || len > 255 || rec == 0)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.ins = 0xDC, .p1 = rec, .p2 = 0x04, .data = data, .lc = len};
    return card_command(card, &a, NULL, 0, NULL);
}

static int iso_get_challenge(struct encoder_card *card, uint8_t *buf, size_t len)
{
    if (!buf || len == 0 || len > 255)
        return ENCODER_ERROR_INVALID;
    uint8_t tmp[256];
    size_t n = 0;
    struct encoder_apdu a = {.ins = 0x84, .has_le = true, .le = len};
    int r = card_command(card, &a, tmp, sizeof tmp, &n);
    if (r < 0)
        return r;
    if (n != len)
        return ENCODER_ERROR_STATUS;
    memcpy(buf, tmp, len);
    return 0;
}

static int iso_external_authenticate(struct encoder_card *card, uint8_t key_id, const uint8_t *cryptogram,
                                     size_t len)
{
    if (!cryptogram || len == 0 || len > 255)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.ins = 0x82, .p2 = key_id, .data = cryptogram, .lc = len};
    return card_command(card, &a, NULL, 0, NULL);
}

/* Returns 0 or the ENCODER_ERROR for a wrong PIN, with the tries left taken from 63Cx. */
static int verify_result(struct encoder_card *card, int r, int *tries_left)
{
    if (r < 0 && tries_left && (card->sw & 0xFFF0) == 0x63C0)
        *tries_left = card->sw & 0x0F;
    return r;
}

static int iso_verify_pin(struct encoder_card *card, const char *pin, int *tries_left)
{
    size_t n = pin ? strnlen(pin, 13) : 0;
    if (n < 4 || n > 12)
        return ENCODER_ERROR_INVALID;
    /* ISO: the PIN bytes as given, P2 = 80 (specific reference data 0). */
    struct encoder_apdu a = {.ins = 0x20, .p2 = 0x80, .data = (const uint8_t *)pin, .lc = n};
    return verify_result(card, card_command(card, &a, NULL, 0, NULL), tries_left);
}

static int iso_set_pin(struct encoder_card *card, const char *pin)
{
    size_t n = pin ? strnlen(pin, 13) : 0;
    if (n < 4 || n > 12)
        return ENCODER_ERROR_INVALID;
    /* RESET RETRY COUNTER, P1 = 02: new reference data only, P2 = 80 as for VERIFY. */
    struct encoder_apdu a = {.ins = 0x2C, .p1 = 0x02, .p2 = 0x80, .data = (const uint8_t *)pin, .lc = n};
    return card_command(card, &a, NULL, 0, NULL);
}

static const struct encoder_card_ops iso7816_ops = {
    .select_aid = iso_select_aid,
    .select_ef = iso_select_ef,
    .read_record = iso_read_record,
    .update_record = iso_update_record,
    .get_challenge = iso_get_challenge,
    .external_authenticate = iso_external_authenticate,
    .verify_pin = iso_verify_pin,
    .set_pin = iso_set_pin,
};

const struct encoder_card_ops *encoder_iso7816_ops(void)
{
    return &iso7816_ops;
}

/* ---- SSSE profile: what the social security application does differently ---- */

static int ssse_select_ef(struct encoder_card *card, uint16_t fid)
{
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t apdu_len;
    /* P1 = 02: an EF under the current DF (the SSSE application), the way the SSSE specification does. */
    int r = encoder_apdu_select_ef(0x02, fid, apdu, sizeof apdu, &apdu_len);
    if (r < 0)
        return r;
    return card_exchange(card, apdu, apdu_len, NULL, 0, NULL);
}

static int ssse_verify_pin(struct encoder_card *card, const char *pin, int *tries_left)
{
    size_t n = pin ? strnlen(pin, 13) : 0;
    if (n < 4 || n > 12)
        return ENCODER_ERROR_INVALID;
    /* The social security PIN is BCD (F-padded) with P2 = 00: 00 20 00 00 03 12 34 56. */
    uint8_t bcd[6];
    size_t len = (n + 1) / 2;
    if (encoder_cn_encode(pin, bcd, len) < 0)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.ins = 0x20, .data = bcd, .lc = len};
    int r = verify_result(card, card_command(card, &a, NULL, 0, NULL), tries_left);
    OPENSSL_cleanse(bcd, sizeof bcd);
    return r;
}

static int ssse_set_pin(struct encoder_card *card, const char *pin)
{
    size_t n = pin ? strnlen(pin, 13) : 0;
    if (n < 4 || n > 12)
        return ENCODER_ERROR_INVALID;
    /* BCD as for VERIFY: 00 2C 02 00 03 12 34 56. */
    uint8_t bcd[6];
    size_t len = (n + 1) / 2;
    if (encoder_cn_encode(pin, bcd, len) < 0)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.ins = 0x2C, .p1 = 0x02, .data = bcd, .lc = len};
    int r = card_command(card, &a, NULL, 0, NULL);
    OPENSSL_cleanse(bcd, sizeof bcd);
    return r;
}

static struct encoder_card_ops ssse_ops;
static pthread_once_t ssse_ops_once = PTHREAD_ONCE_INIT;

static void ssse_ops_init(void)
{
    /* OpenSC's pattern: start from the ISO table, override only what the profile does differently. */
    ssse_ops = iso7816_ops;
    ssse_ops.select_ef = ssse_select_ef;
    ssse_ops.verify_pin = ssse_verify_pin;
    ssse_ops.set_pin = ssse_set_pin;
}

const struct encoder_card_ops *encoder_ssse_ops(void)
{
    pthread_once(&ssse_ops_once, ssse_ops_init);
    return &ssse_ops;
}

/* ---- personalisation ---- */

_Static_assert(ENCODER_NAME_EXT_MAX < 0x80, "SSSE records use one length byte");
#define SSSE_MAX_WRITES 13 /* EF05 02..07, EF06 08, 09, 4E, 0A..0D */

struct ssse_write {
    uint16_t fid;
    uint8_t rec;
    size_t len;
    uint8_t tlv[2 + ENCODER_NAME_EXT_MAX];
};

struct ssse_plan {
    size_t n;
    bool broken;
    struct ssse_write w[SSSE_MAX_WRITES];
};

static int fail(struct encoder_result *res, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct encoder_result *res, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->cause, sizeof res->cause, fmt, ap);
    va_end(ap);
    return err;
}

/* A failed card step: name the status word when the card answered one, else the transport error. */
static int step_fail(struct encoder_result *res, const struct encoder_card *card, int r, int err_on_status,
                     const char *what)
{
    if (card->sw != 0 && card->sw != 0x9000)
        return fail(res, err_on_status ? err_on_status : r, "%s: status %04X (%s)", what, card->sw,
                    encoder_sw_describe(card->sw));
    if (card->t->last_error[0])
        return fail(res, r, "%s: %s (%s)", what, encoder_strerror(r), card->t->last_error);
    return fail(res, r, "%s: %s", what, encoder_strerror(r));
}

/* Append one record; a value too large for its record (a bug in this file, never user data) marks the plan
 * broken, checked once when the plan is complete. */
static void plan_add(struct ssse_plan *p, uint16_t fid, uint8_t rec, const uint8_t *value, size_t len)
{
    if (p->broken || p->n >= SSSE_MAX_WRITES || len > encoder_ssse_record_max(fid, rec)) {
        p->broken = true;
        return;
    }
    struct ssse_write *w = &p->w[p->n];
    if (encoder_tlv_build(rec, value, len, w->tlv, sizeof w->tlv, &w->len) < 0) {
        p->broken = true;
        return;
    }
    w->fid = fid;
    w->rec = rec;
    p->n++;
}

static bool is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* s is a char array of size bytes holding exactly n decimal digits. */
static bool digits_field(const char *s, size_t size, size_t n)
{
    return strnlen(s, size) == n && is_digits(s, n);
}

static bool date_field(const char s[9])
{
    if (!digits_field(s, 9, 8))
        return false;
    int month = (s[4] - '0') * 10 + (s[5] - '0');
    int day = (s[6] - '0') * 10 + (s[7] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static bool card_number_field(const char s[10])
{
    if (strnlen(s, 10) != 9)
        return false;
    for (size_t i = 0; i < 9; i++)
        if (!is_alnum(s[i]))
            return false;
    return true;
}

/* an18: a resident's number is the resident ID number, but numbers the bureau assigns to foreigners begin
 * with the nationality's letters, so any 18 digits or capitals are accepted here; the producer checks the
 * number against its document. */
static bool ssn_field(const char s[19])
{
    if (strnlen(s, 19) != 18)
        return false;
    for (size_t i = 0; i < 18; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

/* Check every field before the card is touched, so bad data never spoils a blank. Causes name the field,
 * never its value: they end up in logs, where personal data must not. */
static int check_data(const struct encoder_card_data *d, struct encoder_result *res)
{
    size_t version_len = strnlen(d->spec_version, sizeof d->spec_version);
    uint8_t scratch[4];
    if (!is_alnum(d->card_type))
        return fail(res, ENCODER_ERROR_INVALID, "card type must be one letter or digit");
    if (version_len == 0 || version_len >= sizeof d->spec_version ||
        encoder_an_encode(d->spec_version, scratch, sizeof scratch) < 0)
        return fail(res, ENCODER_ERROR_INVALID, "spec version must be 1 to 4 printable ASCII characters");
    if (!digits_field(d->region_code, sizeof d->region_code, 6))
        return fail(res, ENCODER_ERROR_INVALID, "region code must be 6 digits");
    if (!date_field(d->issue_date))
        return fail(res, ENCODER_ERROR_INVALID, "issue date must be YYYYMMDD");
    if (!date_field(d->expiry_date))
        return fail(res, ENCODER_ERROR_INVALID, "expiry date must be YYYYMMDD");
    if (strcmp(d->expiry_date, d->issue_date) <= 0)
        return fail(res, ENCODER_ERROR_INVALID, "expiry date must be after the issue date");
    if (!card_number_field(d->card_number))
        return fail(res, ENCODER_ERROR_INVALID, "card number must be 9 letters or digits");
    if (!ssn_field(d->ssn))
        return fail(res, ENCODER_ERROR_INVALID,
                    "social security number must be 18 digits or capital letters");
    if (!d->name)
        return fail(res, ENCODER_ERROR_INVALID, "name is missing");
    if (d->sex != '1' && d->sex != '2')
        return fail(res, ENCODER_ERROR_INVALID, "sex must be '1' (male) or '2' (female)");
    if (d->ethnicity < 1 || d->ethnicity > 99)
        return fail(res, ENCODER_ERROR_INVALID, "ethnicity must be a GB 3304 code 1..99");
    if (!digits_field(d->birth_place, sizeof d->birth_place, 6))
        return fail(res, ENCODER_ERROR_INVALID, "birth place must be a 6-digit region code");
    if (!date_field(d->birth_date))
        return fail(res, ENCODER_ERROR_INVALID, "birth date must be YYYYMMDD");
    if (d->initial_pin[0] && !digits_field(d->initial_pin, sizeof d->initial_pin, 6))
        return fail(res, ENCODER_ERROR_INVALID, "initial PIN must be 6 digits");
    return 0;
}

/* Every record to write, in order: EF05 02..07, then EF06 08, 09, [4E], 0A..0D. */
static int build_plan(const struct encoder_card_data *d, struct ssse_plan *p, struct encoder_result *res)
{
    int r = check_data(d, res);
    if (r < 0)
        return r;

    uint8_t name09[ENCODER_NAME_FIELD_LEN], name_ext[ENCODER_NAME_EXT_MAX];
    size_t ext_len;
    r = encoder_name_encode(d->name, name09, name_ext, &ext_len, res->cause, sizeof res->cause);
    if (r < 0)
        return r;

    const uint16_t ef05 = ENCODER_FID_EF05, ef06 = ENCODER_FID_EF06;
    uint8_t v[18];
    char ethnicity[3];
    snprintf(ethnicity, sizeof ethnicity, "%02u", d->ethnicity);
    bool bad = false; /* the checks above make every encoding below succeed */
    *p = (struct ssse_plan){0};

    v[0] = (uint8_t)d->card_type;
    plan_add(p, ef05, 0x02, v, 1);
    bad |= encoder_an_encode(d->spec_version, v, 4) < 0;
    plan_add(p, ef05, 0x03, v, 4);
    /* The initialising organisation is the bureau itself, identified by its region code (an, 00-padded). */
    bad |= encoder_an_encode(d->region_code, v, 12) < 0;
    plan_add(p, ef05, 0x04, v, 12);
    bad |= encoder_cn_encode(d->issue_date, v, 4) < 0;
    plan_add(p, ef05, 0x05, v, 4);
    bad |= encoder_cn_encode(d->expiry_date, v, 4) < 0;
    plan_add(p, ef05, 0x06, v, 4);
    bad |= encoder_an_encode(d->card_number, v, 9) < 0;
    plan_add(p, ef05, 0x07, v, 9);

    bad |= encoder_an_encode(d->ssn, v, 18) < 0;
    plan_add(p, ef06, 0x08, v, 18);
    plan_add(p, ef06, 0x09, name09, sizeof name09);
    if (ext_len)
        plan_add(p, ef06, 0x4E, name_ext, ext_len);
    v[0] = (uint8_t)d->sex;
    plan_add(p, ef06, 0x0A, v, 1);
    bad |= encoder_cn_encode(ethnicity, v, 1) < 0;
    plan_add(p, ef06, 0x0B, v, 1);
    bad |= encoder_cn_encode(d->birth_place, v, 3) < 0;
    plan_add(p, ef06, 0x0C, v, 3);
    bad |= encoder_cn_encode(d->birth_date, v, 4) < 0;
    plan_add(p, ef06, 0x0D, v, 4);

    if (bad || p->broken)
        return fail(res, ENCODER_ERROR_ENCODING, "card data does not fit the SSSE records");
    return 0;
}

int encoder_check_card_data(const struct encoder_card_data *d, char *cause, size_t cause_size)
{
    struct encoder_result res = {0};
    struct ssse_plan plan;
    int r;

    if (!d)
        return ENCODER_ERROR_INVALID;
    r = build_plan(d, &plan, &res);
    if (r < 0 && cause && cause_size)
        snprintf(cause, cause_size, "%s", res.cause);
    return r;
}

/* Select the EF a record lives in, unless it is already the current one. */
static int ensure_ef(struct encoder_card *card, uint16_t *current, uint16_t fid, struct encoder_result *res)
{
    if (*current == fid)
        return 0;
    int r = card->ops->select_ef(card, fid);
    if (r < 0) {
        char what[40];
        snprintf(what, sizeof what, "cannot select %04X", fid);
        return step_fail(res, card, r, 0, what);
    }
    *current = fid;
    return 0;
}

/* Send the queued commands; the first that fails is reported with its step, as if it had been sent alone. */
static int batch_send(struct encoder_card *card, struct encoder_card_batch *b, struct encoder_result *res)
{
    size_t done = 0;
    card->sw = 0;
    int r = encoder_transport_transmit_many(card->t, b->x, b->n, &done);
    if (r < 0) {
        size_t k = done < b->n ? done : b->n - 1;
        return step_fail(res, card, r, b->err_on_status[k], b->what[k]);
    }
    if (done == 0 || done > b->n)
        return fail(res, ENCODER_ERROR_TRANSPORT, "the reader answered a batch of commands incompletely");
    const struct encoder_exchange *last = &b->x[done - 1];
    uint16_t sw;
    if (encoder_response_parse(last->resp, last->resp_len, NULL, NULL, &sw) < 0)
        return fail(res, ENCODER_ERROR_TRANSPORT, "%s: no status word", b->what[done - 1]);
    if (sw != 0x9000) {
        card->sw = sw;
        return step_fail(res, card, encoder_sw_to_error(sw), b->err_on_status[done - 1], b->what[done - 1]);
    }
    if (done != b->n)
        return fail(res, ENCODER_ERROR_TRANSPORT, "the reader answered a batch of commands incompletely");
    card->sw = 0x9000;
    return 0;
}

#define SSSE_DEFAULT_PIN "123456"

/* Power the card up, check its ATR (well-formed, on the station's allow-list) and select the SSSE
 * application. atr_hex is filled as soon as the ATR is known. */
static int power_up_and_select(struct encoder_transport *t, struct encoder_card *card, char atr_hex[67],
                               struct encoder_result *res)
{
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len = 0;
    t->last_error[0] = '\0';
    int r = t->ops->reset(t->ctx, atr, sizeof atr, &atr_len);
    if (r < 0) {
        if (t->last_error[0])
            return fail(res, r, "card reset failed: %s (%s)", encoder_strerror(r), t->last_error);
        return fail(res, r, "card reset failed: %s", encoder_strerror(r));
    }
    if (atr_len < 2 || atr_len > sizeof atr || (atr[0] != 0x3B && atr[0] != 0x3F))
        return fail(res, ENCODER_ERROR_TRANSPORT, "card answered the reset with an invalid ATR");
    encoder_hex(atr, atr_len, atr_hex, 67);
    if (!encoder_atr_allowed(t, atr, atr_len))
        return fail(res, ENCODER_ERROR_ATR,
                    "card type not allowed at this station: ATR %s is not on the allow-list", atr_hex);

    *card = (struct encoder_card){.t = t, .ops = encoder_ssse_ops()};
    r = card->ops->select_aid(card, encoder_ssse_aid, sizeof encoder_ssse_aid);
    if (r < 0) {
        if (card->sw == 0)
            return step_fail(res, card, r, 0, "cannot select the SSSE application");
        return fail(res, ENCODER_ERROR_NOT_SSC,
                    "not a social security card: SSSE application not found (status %04X)", card->sw);
    }
    return 0;
}

/* The card identifier is pre-issued by the manufacturer in EF05 record 01. */
static int read_card_id(struct encoder_card *card, uint16_t *current_ef, uint8_t ret_id[ENCODER_CARD_ID_LEN],
                        char id_hex[33], struct encoder_result *res)
{
    int r = ensure_ef(card, current_ef, ENCODER_FID_EF05, res);
    if (r < 0)
        return r;
    uint8_t rec[ENCODER_RESP_MAX];
    size_t rec_len = 0;
    r = card->ops->read_record(card, 0x01, rec, 2 + ENCODER_CARD_ID_LEN, &rec_len);
    if (r < 0)
        return step_fail(res, card, r, 0, "cannot read the card identifier (EF05 record 01)");
    uint8_t tag;
    const uint8_t *card_id;
    size_t id_len;
    if (encoder_tlv_parse(rec, rec_len, &tag, &card_id, &id_len, NULL) < 0 || tag != 0x01 ||
        id_len != ENCODER_CARD_ID_LEN)
        return fail(res, ENCODER_ERROR_STATUS, "EF05 record 01 (card identifier) is malformed");
    memcpy(ret_id, card_id, ENCODER_CARD_ID_LEN);
    encoder_hex(card_id, id_len, id_hex, 33);
    return 0;
}

static int personalize(struct encoder_transport *t, struct encoder_key_service *ks,
                       const struct encoder_card_data *data, struct encoder_result *res)
{
    struct ssse_plan plan;
    int r = build_plan(data, &plan, res);
    if (r < 0)
        return r;
    const char *pin = data->initial_pin[0] ? data->initial_pin : SSSE_DEFAULT_PIN;

    /* The station holds a fresh blank: power it up. */
    struct encoder_card card;
    if ((r = power_up_and_select(t, &card, res->atr_hex, res)) < 0)
        return r;

    /* The key service diversifies the key with the card identifier. */
    uint16_t current_ef = 0;
    uint8_t card_id[ENCODER_CARD_ID_LEN];
    if ((r = read_card_id(&card, &current_ef, card_id, res->card_id_hex, res)) < 0)
        return r;

    uint8_t challenge[ENCODER_CHALLENGE_LEN];
    r = card.ops->get_challenge(&card, challenge, sizeof challenge);
    if (r < 0)
        return step_fail(res, &card, r, 0, "GET CHALLENGE failed");
    uint8_t cryptogram[ENCODER_CRYPTOGRAM_LEN];
    r = encoder_key_service_cryptogram(ks, card_id, challenge, cryptogram);
    if (r < 0)
        return fail(res, ENCODER_ERROR_KEY, "key service could not compute the cryptogram: %s",
                    encoder_strerror(r));
    /* External authentication, the writes and the initial PIN go to the card as one batch, then the read-back
     * and the PIN check as another: a transport whose hand-over is costly (PC/SC's worker) makes two
     * hand-overs instead of thirty. The batch stops at the first command the card refuses. */
    struct encoder_card_batch *b = calloc(1, sizeof *b);
    if (!b) {
        OPENSSL_cleanse(cryptogram, sizeof cryptogram);
        return fail(res, ENCODER_ERROR_NOMEM, "out of memory");
    }
    card.batch = b;
    r = card.ops->external_authenticate(&card, ENCODER_SSSE_KEY_ID, cryptogram, sizeof cryptogram);
    OPENSSL_cleanse(cryptogram, sizeof cryptogram);
    batch_label(b, ENCODER_ERROR_AUTH, "external authentication refused");
    for (size_t i = 0; i < plan.n && r == 0; i++) {
        const struct ssse_write *w = &plan.w[i];
        if (current_ef != w->fid) {
            r = card.ops->select_ef(&card, w->fid);
            batch_label(b, 0, "cannot select %04X", w->fid);
            current_ef = w->fid;
        }
        if (r == 0)
            r = card.ops->update_record(&card, w->rec, w->tlv, w->len);
        batch_label(b, ENCODER_ERROR_WRITE, "chip write failed on %04X record %02X", w->fid, w->rec);
    }
    /* The initial social security PIN, still under the issuer's authentication. */
    if (r == 0)
        r = card.ops->set_pin(&card, pin);
    batch_label(b, ENCODER_ERROR_PIN, "setting the initial PIN failed");
    card.batch = NULL;
    if (r == 0)
        r = batch_send(&card, b, res);
    else
        r = fail(res, r, "cannot build the commands: %s", encoder_strerror(r));

    /* Read every record back: a card that acknowledged a write is not yet a card that holds it. */
    size_t at[SSSE_MAX_WRITES];
    if (r == 0) {
        b->n = 0;
        card.batch = b;
        for (size_t i = 0; i < plan.n && r == 0; i++) {
            const struct ssse_write *w = &plan.w[i];
            if (current_ef != w->fid) {
                r = card.ops->select_ef(&card, w->fid);
                batch_label(b, 0, "cannot select %04X", w->fid);
                current_ef = w->fid;
            }
            /* with the exact length written: a T=0 card answers a record of any other length with 6Cxx */
            uint8_t unused[1];
            size_t unused_len;
            if (r == 0)
                r = card.ops->read_record(&card, w->rec, unused, w->len, &unused_len);
            batch_label(b, ENCODER_ERROR_READBACK, "read-back of %04X record %02X failed", w->fid, w->rec);
            at[i] = b->n - 1;
        }
        /* The holder will use the PIN: it must verify, which also leaves the retry counter full. */
        if (r == 0)
            r = card.ops->verify_pin(&card, pin, NULL);
        batch_label(b, ENCODER_ERROR_PIN, "the initial PIN does not verify");
        card.batch = NULL;
        if (r == 0)
            r = batch_send(&card, b, res);
        else
            r = fail(res, r, "cannot build the commands: %s", encoder_strerror(r));
    }
    for (size_t i = 0; i < plan.n && r == 0; i++) {
        const struct ssse_write *w = &plan.w[i];
        const struct encoder_exchange *x = &b->x[at[i]];
        size_t got = x->resp_len - 2; /* batch_send checked the answer ends in 90 00 */
        if (got != w->len || memcmp(x->resp, w->tlv, w->len) != 0)
            r = fail(res, ENCODER_ERROR_READBACK, "read-back mismatch on %04X record %02X", w->fid, w->rec);
    }
    OPENSSL_cleanse(b, sizeof *b); /* it held the cryptogram and the PIN */
    free(b);
    return r;
}

int encoder_personalize(struct encoder_transport *t, struct encoder_key_service *ks,
                        const struct encoder_card_data *data, struct encoder_result *ret)
{
    if (!ret)
        return ENCODER_ERROR_INVALID;
    /* Filled on failure too: the ATR and card identifier of a spoiled card belong in its record. */
    struct encoder_result res = {0};
    int r;
    if (!t || !t->ops || !t->ops->reset || !t->ops->transmit || !ks || !data) {
        r = fail(&res, ENCODER_ERROR_INVALID, "missing transport, key service or card data");
    } else {
        r = personalize(t, ks, data, &res);
        /* End of the cycle, good or bad: the card leaves the station unpowered. */
        if (res.atr_hex[0] && t->ops->power_off)
            t->ops->power_off(t->ctx);
    }
    *ret = res;
    return r;
}

/* ---- reading a card back for operators ---- */

static void copy_an(char *out, size_t out_size, const uint8_t *v, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < out_size && v[i] != 0; i++)
        out[n++] = (v[i] >= 0x20 && v[i] <= 0x7E) ? (char)v[i] : '?';
    out[n] = '\0';
}

static void copy_cn(char *out, size_t out_size, const uint8_t *v, size_t len)
{
    static const char digits[] = "0123456789??????";
    size_t n = 0;
    for (size_t i = 0; i < 2 * len && n + 1 < out_size; i++) {
        uint8_t d = (i % 2 == 0) ? v[i / 2] >> 4 : v[i / 2] & 0x0F;
        if (d == 0x0F)
            break;
        out[n++] = digits[d];
    }
    out[n] = '\0';
}

/* GBK bytes (00-padded) -> UTF-8; characters iconv cannot take become '?'. */
static void gbk_to_utf8(const uint8_t *gbk, size_t len, char *out, size_t out_size)
{
    out[0] = '\0';
    while (len && gbk[len - 1] == 0)
        len--;
    if (len == 0)
        return;
    iconv_t cd = iconv_open("UTF-8", "GBK");
    if (cd == (iconv_t)-1) {
        snprintf(out, out_size, "?");
        return;
    }
    char *in = (char *)gbk; /* iconv does not write the input */
    size_t in_left = len;
    char *o = out;
    size_t o_left = out_size - 1;
    while (in_left > 0 && iconv(cd, &in, &in_left, &o, &o_left) == (size_t)-1) {
        if (errno != EILSEQ && errno != EINVAL)
            break;
        if (o_left == 0)
            break;
        *o++ = '?';
        o_left--;
        /* skip one (possibly double-byte) character */
        size_t skip = ((uint8_t)*in >= 0x81 && in_left >= 2) ? 2 : 1;
        in += skip;
        in_left -= skip;
    }
    *o = '\0';
    iconv_close(cd);
}

static int read_all(struct encoder_transport *t, struct encoder_card_info *info, struct encoder_result *res)
{
    struct encoder_card card;
    int r = power_up_and_select(t, &card, info->atr_hex, res);
    if (r < 0)
        return r;
    uint16_t current_ef = 0;
    uint8_t card_id[ENCODER_CARD_ID_LEN];
    if ((r = read_card_id(&card, &current_ef, card_id, info->card_id_hex, res)) < 0)
        return r;

    uint8_t name[ENCODER_NAME_FIELD_LEN + ENCODER_NAME_EXT_MAX];
    size_t name_len = 0;
    for (size_t i = 0; i < sizeof ssse_records / sizeof ssse_records[0]; i++) {
        const struct ssse_record *sr = &ssse_records[i];
        if (sr->rec == 0x01)
            continue;
        if ((r = ensure_ef(&card, &current_ef, sr->fid, res)) < 0)
            return r;
        uint8_t rec[ENCODER_RESP_MAX];
        size_t rec_len = 0;
        r = card.ops->read_record(&card, sr->rec, rec, sizeof rec, &rec_len);
        if (r < 0 && card.sw == 0x6A83)
            continue; /* not written (a blank, or no name extension) */
        if (r < 0) {
            char what[48];
            snprintf(what, sizeof what, "cannot read %04X record %02X", sr->fid, sr->rec);
            return step_fail(res, &card, r, 0, what);
        }
        uint8_t tag;
        const uint8_t *v;
        size_t vlen;
        if (encoder_tlv_parse(rec, rec_len, &tag, &v, &vlen, NULL) < 0 || tag != sr->rec || vlen > sr->max)
            return fail(res, ENCODER_ERROR_STATUS, "%04X record %02X is malformed", sr->fid, sr->rec);
        switch (sr->rec) {
        case 0x02:
            copy_an(info->card_type, sizeof info->card_type, v, vlen);
            break;
        case 0x03:
            copy_an(info->spec_version, sizeof info->spec_version, v, vlen);
            break;
        case 0x04:
            copy_an(info->issuer, sizeof info->issuer, v, vlen);
            break;
        case 0x05:
            copy_cn(info->issue_date, sizeof info->issue_date, v, vlen);
            break;
        case 0x06:
            copy_cn(info->expiry_date, sizeof info->expiry_date, v, vlen);
            break;
        case 0x07:
            copy_an(info->card_number, sizeof info->card_number, v, vlen);
            break;
        case 0x08:
            copy_an(info->ssn, sizeof info->ssn, v, vlen);
            break;
        case 0x09:
        case 0x4E: /* 09 comes first in the table, so the extension is appended */
            memcpy(name + name_len, v, vlen);
            name_len += vlen;
            if (sr->rec == 0x09)
                while (name_len && name[name_len - 1] == 0)
                    name_len--;
            break;
        case 0x0A:
            copy_an(info->sex, sizeof info->sex, v, vlen);
            break;
        case 0x0B:
            copy_cn(info->ethnicity, sizeof info->ethnicity, v, vlen);
            break;
        case 0x0C:
            copy_cn(info->birth_place, sizeof info->birth_place, v, vlen);
            break;
        case 0x0D:
            copy_cn(info->birth_date, sizeof info->birth_date, v, vlen);
            break;
        default:
            break;
        }
    }
    gbk_to_utf8(name, name_len, info->name, sizeof info->name);
    return 0;
}

int encoder_read_card(struct encoder_transport *t, struct encoder_card_info *ret)
{
    if (!ret)
        return ENCODER_ERROR_INVALID;
    struct encoder_card_info info;
    struct encoder_result res = {0};
    memset(&info, 0, sizeof info);
    int r;
    if (!t || !t->ops || !t->ops->reset || !t->ops->transmit) {
        r = fail(&res, ENCODER_ERROR_INVALID, "missing transport");
    } else {
        r = read_all(t, &info, &res);
        if (info.atr_hex[0] && t->ops->power_off)
            t->ops->power_off(t->ctx);
    }
    memcpy(info.cause, res.cause, sizeof info.cause);
    *ret = info;
    return r;
}
