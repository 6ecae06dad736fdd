/* ssse.c — the social security application (SSSE) profile over the ISO base, and what the line and the
 * counter do with it: personalise, read back, block a spoiled card, unblock a PIN */
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "encoder-private.h"

/*
 * Sources (texts and traces in the public repository gdgly/SI_3rdCard):
 * [P5] 社会保障（个人）卡规范 part 5 (commands),
 * [P6]/[V2] the file structure and data items (V2.0 notice), [TR1]/[TR2] public APDU traces of real cards,
 * [Z390] a public instant-issuance writer, [SC] the Sichuan terminal interface spec (after
 * 人社信息函[2016]38号).
 */

/* "sx1.sh." followed by 社会保障 in GBK ([P6] §5.1 表1). */
const uint8_t encoder_ssse_aid[ENCODER_SSSE_AID_LEN] = {0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9,
                                                        0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF};

/* EF05 record n holds tag n; EF06 record n does NOT hold tag n: 08, 09, 4E, 0A, 0B, 0C, 0D are records 1..7
 * ([V2] 表9; order from [TR2]'s whole-file read and [Z390]'s writes). Lengths are the items' full lengths. */
const struct encoder_ssse_record encoder_ssse_records[ENCODER_SSSE_RECORDS] = {
    {ENCODER_FID_EF05, 1, 0x01, 16, ENCODER_FMT_CN, true},  /* card identifier */
    {ENCODER_FID_EF05, 2, 0x02, 1, ENCODER_FMT_AN, true},   /* card type */
    {ENCODER_FID_EF05, 3, 0x03, 4, ENCODER_FMT_AN, true},   /* spec version */
    {ENCODER_FID_EF05, 4, 0x04, 12, ENCODER_FMT_CN, true},  /* initialising organisation */
    {ENCODER_FID_EF05, 5, 0x05, 4, ENCODER_FMT_CN, false},  /* issue date */
    {ENCODER_FID_EF05, 6, 0x06, 4, ENCODER_FMT_CN, false},  /* expiry date */
    {ENCODER_FID_EF05, 7, 0x07, 9, ENCODER_FMT_AN, false},  /* card number */
    {ENCODER_FID_EF06, 1, 0x08, 18, ENCODER_FMT_AN, false}, /* social security number */
    {ENCODER_FID_EF06, 2, 0x09, ENCODER_NAME_FIELD_LEN, ENCODER_FMT_AN, false}, /* name, GBK */
    {ENCODER_FID_EF06, 3, 0x4E, ENCODER_NAME_EXT_MAX, ENCODER_FMT_AN, false},   /* name extension */
    {ENCODER_FID_EF06, 4, 0x0A, 1, ENCODER_FMT_AN, false},                      /* sex */
    {ENCODER_FID_EF06, 5, 0x0B, 1, ENCODER_FMT_CN, false},                      /* ethnicity */
    {ENCODER_FID_EF06, 6, 0x0C, 3, ENCODER_FMT_CN, false},                      /* birth place */
    {ENCODER_FID_EF06, 7, 0x0D, 4, ENCODER_FMT_CN, false},                      /* birth date */
};

const struct encoder_ssse_record *encoder_ssse_record_by_tag(uint16_t fid, uint8_t tag)
{
    for (size_t i = 0; i < ENCODER_SSSE_RECORDS; i++)
        if (encoder_ssse_records[i].fid == fid && encoder_ssse_records[i].tag == tag)
            return &encoder_ssse_records[i];
    return NULL;
}

const struct encoder_ssse_record *encoder_ssse_record_by_number(uint16_t fid, uint8_t rec)
{
    for (size_t i = 0; i < ENCODER_SSSE_RECORDS; i++)
        if (encoder_ssse_records[i].fid == fid && encoder_ssse_records[i].rec == rec)
            return &encoder_ssse_records[i];
    return NULL;
}

/* ---- SSSE profile: what the social security application does differently from ISO ---- */

static int ssse_select_ef(struct encoder_card *card, uint16_t fid)
{
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t apdu_len;
    /* P1 = 02: an EF under the current DF ([P5] 表35; [TR1] l.6). */
    int r = encoder_apdu_select_ef(0x02, fid, apdu, sizeof apdu, &apdu_len);
    if (r < 0)
        return r;
    return encoder_card_exchange(card, apdu, apdu_len, NULL, 0, NULL);
}

static int ssse_verify_pin(struct encoder_card *card, const char *pin, int *tries_left)
{
    size_t n = pin ? strnlen(pin, 13) : 0;
    if (n < 4 || n > 12)
        return ENCODER_ERROR_INVALID;
    /* The social security PIN is BCD (F-padded) with P2 = 00: 00 20 00 00 03 12 34 56 ([P5] §6.14). */
    uint8_t bcd[6];
    size_t len = (n + 1) / 2;
    if (encoder_cn_encode(pin, bcd, len) < 0)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.ins = 0x20, .data = bcd, .lc = len};
    int r = encoder_verify_result(card, encoder_card_command(card, &a, NULL, 0, NULL), tries_left);
    OPENSSL_cleanse(bcd, sizeof bcd);
    return r;
}

static int ssse_pin_unblock(struct encoder_card *card, uint8_t p2, const uint8_t *data, size_t len)
{
    /* 84 24 00 P2 Lc <data>: P2 00 = unblock (MAC only, Lc 04), 01 = reset (enciphered PIN || MAC, Lc 0C or
     * 14) ([P5] 表24-26; [TR1] l.96-124). */
    if (!data || (p2 != 0x00 && p2 != 0x01) || (p2 == 0x00 && len != 4) ||
        (p2 == 0x01 && len != 12 && len != 20))
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.cla = 0x84, .ins = 0x24, .p2 = p2, .data = data, .lc = len};
    return encoder_card_command(card, &a, NULL, 0, NULL);
}

static int ssse_application_block(struct encoder_card *card, const uint8_t mac[4])
{
    /* 84 1E 00 01 04 <MAC>: afterwards SELECT of the application answers 9303 ([P5] 表6). */
    if (!mac)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.cla = 0x84, .ins = 0x1E, .p2 = 0x01, .data = mac, .lc = 4};
    return encoder_card_command(card, &a, NULL, 0, NULL);
}

static struct encoder_card_ops ssse_ops;
static pthread_once_t ssse_ops_once = PTHREAD_ONCE_INIT;

static void ssse_ops_init(void)
{
    /* OpenSC's pattern: start from the ISO table, override only what the profile does differently. */
    ssse_ops = *encoder_iso7816_ops();
    ssse_ops.select_ef = ssse_select_ef;
    ssse_ops.verify_pin = ssse_verify_pin;
    ssse_ops.pin_unblock = ssse_pin_unblock;
    ssse_ops.application_block = ssse_application_block;
}

const struct encoder_card_ops *encoder_ssse_ops(void)
{
    pthread_once(&ssse_ops_once, ssse_ops_init);
    return &ssse_ops;
}

/* ---- personalisation ---- */

_Static_assert(ENCODER_NAME_FIELD_LEN < 0x80, "SSSE records use one length byte");
#define SSSE_MAX_WRITES 10 /* EF05 05..07, EF06 records 1..7 */

struct ssse_write {
    const struct encoder_ssse_record *rec;
    size_t len;
    uint8_t tlv[2 + ENCODER_NAME_FIELD_LEN];
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

/* Append one record; a value that is not its record's full length (a bug in this file, never user data)
 * marks the plan broken, checked once when the plan is complete. */
static void plan_add(struct ssse_plan *p, uint16_t fid, uint8_t tag, const uint8_t *value, size_t len)
{
    const struct encoder_ssse_record *rec = encoder_ssse_record_by_tag(fid, tag);
    if (p->broken || p->n >= SSSE_MAX_WRITES || !rec || rec->maker || len != rec->len) {
        p->broken = true;
        return;
    }
    struct ssse_write *w = &p->w[p->n];
    if (encoder_tlv_build(tag, value, len, w->tlv, sizeof w->tlv, &w->len) < 0) {
        p->broken = true;
        return;
    }
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
    if (d->sex != '1' && d->sex != '2' && d->sex != '9')
        return fail(res, ENCODER_ERROR_INVALID, "sex must be '1' (male), '2' (female) or '9' (unspecified)");
    if (d->ethnicity < 1 || d->ethnicity > 99)
        return fail(res, ENCODER_ERROR_INVALID, "ethnicity must be a GB 3304 code 1..99");
    if (!digits_field(d->birth_place, sizeof d->birth_place, 6))
        return fail(res, ENCODER_ERROR_INVALID, "birth place must be a 6-digit region code");
    if (!date_field(d->birth_date))
        return fail(res, ENCODER_ERROR_INVALID, "birth date must be YYYYMMDD");
    size_t pin_len = strnlen(d->initial_pin, sizeof d->initial_pin);
    if (pin_len && (pin_len < 4 || pin_len > 12 || !is_digits(d->initial_pin, pin_len)))
        return fail(res, ENCODER_ERROR_INVALID, "initial PIN must be 4 to 12 digits");
    return 0;
}

/* Send the queued commands; the first that fails is reported with its step, as if it had been sent alone. */
static int batch_send(struct encoder_card *card, struct encoder_card_batch *b, struct encoder_result *res,
                      size_t *ret_failed)
{
    size_t done = 0;
    *ret_failed = b->n;
    card->sw = 0;
    int r = encoder_transport_transmit_many(card->t, b->x, b->n, &done);
    if (r < 0) {
        size_t k = done < b->n ? done : b->n - 1;
        *ret_failed = k;
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
        *ret_failed = done - 1;
        return step_fail(res, card, encoder_sw_to_error(sw), b->err_on_status[done - 1], b->what[done - 1]);
    }
    if (done != b->n)
        return fail(res, ENCODER_ERROR_TRANSPORT, "the reader answered a batch of commands incompletely");
    card->sw = 0x9000;
    return 0;
}

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

/* Every record to write, in order: EF05 05..07, then EF06 records 1..7 (tags 08, 09, 4E, 0A..0D), each at its
 * full length, padded as [V2] §7 says (an: 00, cn: F). The name extension is always written, empty when the
 * name fits record 09, so that no earlier value survives. */
static int build_plan(const struct encoder_card_data *d, struct ssse_plan *p, struct encoder_result *res)
{
    int r = check_data(d, res);
    if (r < 0)
        return r;

    uint8_t name09[ENCODER_NAME_FIELD_LEN], name_ext[ENCODER_NAME_EXT_MAX] = {0};
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

    bad |= encoder_cn_encode(d->issue_date, v, 4) < 0;
    plan_add(p, ef05, 0x05, v, 4);
    bad |= encoder_cn_encode(d->expiry_date, v, 4) < 0;
    plan_add(p, ef05, 0x06, v, 4);
    bad |= encoder_an_encode(d->card_number, v, 9) < 0;
    plan_add(p, ef05, 0x07, v, 9);

    bad |= encoder_an_encode(d->ssn, v, 18) < 0;
    plan_add(p, ef06, 0x08, v, 18);
    plan_add(p, ef06, 0x09, name09, sizeof name09);
    plan_add(p, ef06, 0x4E, name_ext, sizeof name_ext);
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

/* One card in the station, as the terminal knows it. */
struct ssse_session {
    struct encoder_card card;
    uint16_t current_ef;
    struct encoder_card_ref ref;
    char card_type[2];
    char spec_version[5];
    char init_org[25];
};

/* Select the EF a record lives in, unless it is already the current one. */
static int ensure_ef(struct ssse_session *s, uint16_t fid, struct encoder_result *res)
{
    if (s->current_ef == fid)
        return 0;
    int r = s->card.ops->select_ef(&s->card, fid);
    if (r < 0) {
        char what[40];
        snprintf(what, sizeof what, "cannot select %04X", fid);
        return step_fail(res, &s->card, r, 0, what);
    }
    s->current_ef = fid;
    return 0;
}

/* Read record number rec of fid (P2 = 04) with the exact Le, check its tag and full length. */
static int read_fixed(struct ssse_session *s, uint16_t fid, uint8_t rec, const uint8_t **ret_value,
                      uint8_t buf[ENCODER_RESP_MAX], struct encoder_result *res)
{
    const struct encoder_ssse_record *sr = encoder_ssse_record_by_number(fid, rec);
    if (!sr)
        return ENCODER_ERROR_INVALID;
    int r = ensure_ef(s, fid, res);
    if (r < 0)
        return r;
    size_t len = 0;
    r = s->card.ops->read_record(&s->card, rec, ENCODER_REC_BY_NUMBER, buf, 2u + sr->len, &len);
    if (r < 0) {
        char what[48];
        snprintf(what, sizeof what, "cannot read %04X record %u", fid, rec);
        return step_fail(res, &s->card, r, 0, what);
    }
    uint8_t tag;
    const uint8_t *v;
    size_t vlen;
    if (encoder_tlv_parse(buf, len, &tag, &v, &vlen, NULL) < 0 || tag != sr->tag || vlen != sr->len)
        return fail(res, ENCODER_ERROR_STATUS, "%04X record %u is malformed (not tag %02X of %u bytes)", fid,
                    rec, sr->tag, sr->len);
    *ret_value = v;
    return 0;
}

/* Power the card up, check its ATR (well-formed, on the station's allow-list, with the historical bytes
 * the keys are dispersed with), select the SSSE application and take the algorithm from its FCI. */
static int power_up_and_select(struct encoder_transport *t, struct ssse_session *s, char atr_hex[67],
                               struct encoder_result *res)
{
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len = 0;
    *s = (struct ssse_session){0};
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
    if (encoder_atr_hist_factor(atr, atr_len, s->ref.atr_hist) < 0)
        return fail(
            res, ENCODER_ERROR_ATR,
            "ATR %s has no historical bytes T6..T13 (manufacturer, region, serial) to disperse keys with",
            atr_hex);

    s->card = (struct encoder_card){.t = t, .ops = encoder_ssse_ops()};
    uint8_t fci[ENCODER_RESP_MAX];
    size_t fci_len = 0;
    r = s->card.ops->select_aid(&s->card, encoder_ssse_aid, sizeof encoder_ssse_aid, fci, sizeof fci,
                                &fci_len);
    if (r < 0) {
        if (s->card.sw == 0)
            return step_fail(res, &s->card, r, 0, "cannot select the SSSE application");
        if (s->card.sw == 0x9303)
            return fail(res, ENCODER_ERROR_BLOCKED,
                        "the SSSE application of this card is blocked (status 9303)");
        return fail(res, ENCODER_ERROR_NOT_SSC,
                    "not a social security card: SSSE application not found (status %04X)", s->card.sw);
    }
    if (fci_len && encoder_ssse_fci_parse(fci, fci_len, &s->ref.alg) < 0)
        return fail(res, ENCODER_ERROR_NOT_SSC, "the SSSE application answered SELECT with a malformed FCI");
    return 0;
}

/* The maker's records EF05 01..04: card identifier (region ‖ D156000005 ‖ serial ‖ code), card type, spec
 * version, initialising organisation ([V2] 表10-12). Read, never written; the algorithm falls back to the
 * region rule when the FCI has no flag ([SC] §10.1). */
static int read_maker_data(struct ssse_session *s, char id_hex[33], struct encoder_result *res)
{
    uint8_t buf[ENCODER_RESP_MAX];
    const uint8_t *v;
    int r = read_fixed(s, ENCODER_FID_EF05, 1, &v, buf, res);
    if (r < 0)
        return r;
    memcpy(s->ref.card_id, v, ENCODER_CARD_ID_LEN);
    encoder_hex(v, ENCODER_CARD_ID_LEN, id_hex, 33);
    memcpy(s->ref.region, id_hex, 6);
    s->ref.region[6] = '\0';
    for (size_t i = 0; i < 6; i++)
        if (s->ref.region[i] < '0' || s->ref.region[i] > '9')
            return fail(res, ENCODER_ERROR_BLANK, "the card identifier does not start with a region code");
    if (s->ref.alg == 0)
        s->ref.alg = strncmp(s->ref.region, "11", 2) == 0 ? ENCODER_ALG_SSF33 : ENCODER_ALG_3DES;
    if (encoder_alg_block(s->ref.alg) == 0)
        return fail(res, ENCODER_ERROR_BLANK,
                    "the card uses algorithm %02X, which this station does not support", s->ref.alg);
    if ((r = read_fixed(s, ENCODER_FID_EF05, 2, &v, buf, res)) < 0)
        return r;
    copy_an(s->card_type, sizeof s->card_type, v, 1);
    if ((r = read_fixed(s, ENCODER_FID_EF05, 3, &v, buf, res)) < 0)
        return r;
    copy_an(s->spec_version, sizeof s->spec_version, v, 4);
    if ((r = read_fixed(s, ENCODER_FID_EF05, 4, &v, buf, res)) < 0)
        return r;
    copy_cn(s->init_org, sizeof s->init_org, v, 12);
    return 0;
}

/* INTERNAL AUTHENTICATE with the terminal's randoms (process ‖ original): the card answers with IRK, the key
 * service computes the same; a card that cannot is no card of this issuer ([P7] §5.4; [TR1] l.23-45). */
static int check_genuine(struct ssse_session *s, struct encoder_key_service *ks, struct encoder_result *res)
{
    uint8_t in[16], got[ENCODER_AUTH_LEN], want[ENCODER_AUTH_LEN];
    if (RAND_bytes(in, sizeof in) != 1)
        return fail(res, ENCODER_ERROR_KEY, "no random numbers for internal authentication");
    int r = s->card.ops->internal_authenticate(&s->card, ENCODER_KID_IRK, in, sizeof in, got);
    if (r < 0)
        return step_fail(res, &s->card, r, ENCODER_ERROR_NOT_GENUINE, "INTERNAL AUTHENTICATE failed");
    r = encoder_key_service_auth(ks, &s->ref, ENCODER_KEY_IRK, in, in + 8, want);
    if (r < 0)
        return fail(res, ENCODER_ERROR_KEY, "key service could not check the card: %s", encoder_strerror(r));
    if (CRYPTO_memcmp(got, want, sizeof got) != 0)
        return fail(
            res, ENCODER_ERROR_NOT_GENUINE,
            "the card's internal authentication does not match the issuer's keys: not a genuine card");
    return 0;
}

/* GET CHALLENGE (the process factor: the card's current random) and the key service's answer for role:
 * ret_data = authentication data 8 ‖ original random 8, for 00 82 00 <key id> 10 ([P5] §6.4.3; [TR1] l.54).
 */
static int external_auth_data(struct ssse_session *s, struct encoder_key_service *ks,
                              enum encoder_key_role role, uint8_t ret_data[16], struct encoder_result *res)
{
    uint8_t process[ENCODER_CHALLENGE_LEN];
    int r = s->card.ops->get_challenge(&s->card, process, sizeof process);
    if (r < 0)
        return step_fail(res, &s->card, r, 0, "GET CHALLENGE failed");
    if (RAND_bytes(ret_data + 8, 8) != 1)
        return fail(res, ENCODER_ERROR_KEY, "no random numbers for external authentication");
    r = encoder_key_service_auth(ks, &s->ref, role, process, ret_data + 8, ret_data);
    if (r < 0)
        return fail(res, ENCODER_ERROR_KEY, "key service could not compute the authentication: %s",
                    encoder_strerror(r));
    return 0;
}

/* Third-generation cards guard reading EF06 with RKSSSE ([SC] §10.2; [TR1] l.54 authenticates with key 0A
 * before reading the holder's data). */
static bool needs_read_key(const struct ssse_session *s)
{
    return strcmp(s->spec_version, "3.00") >= 0;
}

/* EXTERNAL AUTHENTICATE with RKSSSE when the card needs it for EF06; queued when card->batch is set. */
static int read_key_auth(struct ssse_session *s, struct encoder_key_service *ks, struct encoder_result *res)
{
    if (!needs_read_key(s))
        return 0;
    if (!ks)
        return fail(res, ENCODER_ERROR_AUTH,
                    "the holder's data of a %s card is read under the issuer's read key (RKSSSE): give a key "
                    "service",
                    s->spec_version);
    struct encoder_card_batch *b = s->card.batch;
    uint8_t auth[16];
    s->card.batch = NULL; /* the challenge is needed now */
    int r = external_auth_data(s, ks, ENCODER_KEY_RKSSSE, auth, res);
    s->card.batch = b;
    if (r < 0)
        return r;
    r = s->card.ops->external_authenticate(&s->card, ENCODER_KID_RKSSSE, auth, sizeof auth);
    OPENSSL_cleanse(auth, sizeof auth);
    if (b) {
        encoder_batch_label(b, ENCODER_ERROR_AUTH, "external authentication (RKSSSE) refused");
        return r;
    }
    if (r < 0)
        return step_fail(res, &s->card, r, ENCODER_ERROR_AUTH, "external authentication (RKSSSE) refused");
    return 0;
}

/* APPLICATION BLOCK with the key service's MAC, then SELECT again: a blocked application answers 9303. */
static int block_session(struct ssse_session *s, struct encoder_key_service *ks, struct encoder_result *res)
{
    uint8_t challenge[ENCODER_CHALLENGE_LEN], mac[4];
    static const uint8_t header[5] = {0x84, 0x1E, 0x00, 0x01, 0x04};
    s->card.batch = NULL;
    int r = s->card.ops->get_challenge(&s->card, challenge, sizeof challenge);
    if (r < 0)
        return step_fail(res, &s->card, r, 0, "GET CHALLENGE for the block failed");
    r = encoder_key_service_mac(ks, &s->ref, ENCODER_KEY_STKSSSE, challenge, header, sizeof header, mac);
    if (r < 0)
        return fail(res, ENCODER_ERROR_KEY, "key service could not compute the block MAC: %s",
                    encoder_strerror(r));
    r = s->card.ops->application_block(&s->card, mac);
    if (r < 0)
        return step_fail(res, &s->card, r, 0, "APPLICATION BLOCK refused");
    s->current_ef = 0;
    r = s->card.ops->select_aid(&s->card, encoder_ssse_aid, sizeof encoder_ssse_aid, NULL, 0, NULL);
    if (r == 0 || s->card.sw != 0x9303)
        return fail(res, ENCODER_ERROR_STATUS, "the card does not read back blocked (SELECT answered %04X)",
                    s->card.sw);
    return 0;
}

#define SSSE_DEFAULT_PIN "123456"

static int personalize(struct encoder_transport *t, struct encoder_key_service *ks,
                       const struct encoder_card_data *data, struct ssse_session *s,
                       struct encoder_result *res)
{
    struct ssse_plan plan;
    int r = build_plan(data, &plan, res);
    if (r < 0)
        return r;
    const char *pin = data->initial_pin[0] ? data->initial_pin : SSSE_DEFAULT_PIN;

    /* The station holds a fresh blank: power it up, check what its maker wrote and that it is genuine. */
    if ((r = power_up_and_select(t, s, res->atr_hex, res)) < 0)
        return r;
    if ((r = read_maker_data(s, res->card_id_hex, res)) < 0)
        return r;
    if (strcmp(s->card_type, (char[]){data->card_type, '\0'}) != 0 ||
        strcmp(s->spec_version, data->spec_version) != 0)
        return fail(res, ENCODER_ERROR_BLANK,
                    "the blank is card type '%s' version '%s'; the bureau uses type '%c' version '%s'",
                    s->card_type, s->spec_version, data->card_type, data->spec_version);
    if ((r = check_genuine(s, ks, res)) < 0)
        return r;
    uint8_t auth[16];
    if ((r = external_auth_data(s, ks, ENCODER_KEY_UKSSSE, auth, res)) < 0)
        return r;

    /* External authentication and the writes go to the card as one batch, then the read-back and the PIN
     * check as another: a transport whose hand-over is costly (PC/SC's worker) makes two hand-overs instead
     * of twenty-five. The batch stops at the first command the card refuses. */
    struct encoder_card_batch *b = calloc(1, sizeof *b);
    if (!b) {
        OPENSSL_cleanse(auth, sizeof auth);
        return fail(res, ENCODER_ERROR_NOMEM, "out of memory");
    }
    struct encoder_card *card = &s->card;
    card->batch = b;
    r = card->ops->external_authenticate(card, ENCODER_KID_UKSSSE, auth, sizeof auth);
    OPENSSL_cleanse(auth, sizeof auth);
    encoder_batch_label(b, ENCODER_ERROR_AUTH, "external authentication (UKSSSE) refused");
    size_t first_write = ENCODER_BATCH_MAX;
    for (size_t i = 0; i < plan.n && r == 0; i++) {
        const struct ssse_write *w = &plan.w[i];
        if (s->current_ef != w->rec->fid) {
            r = card->ops->select_ef(card, w->rec->fid);
            encoder_batch_label(b, 0, "cannot select %04X", w->rec->fid);
            s->current_ef = w->rec->fid;
        }
        if (r == 0)
            r = card->ops->update_record(card, w->rec->rec, ENCODER_REC_BY_NUMBER, w->tlv, w->len);
        if (first_write == ENCODER_BATCH_MAX)
            first_write = b->n - 1;
        encoder_batch_label(b, ENCODER_ERROR_WRITE, "chip write failed on %04X record %u (tag %02X)",
                            w->rec->fid, w->rec->rec, w->rec->tag);
    }
    card->batch = NULL;
    size_t failed = 0;
    if (r == 0) {
        r = batch_send(card, b, res, &failed);
        if (r < 0 && failed >= first_write)
            res->data_written = 1;
        else if (r == 0)
            res->data_written = 1;
    } else {
        r = fail(res, r, "cannot build the commands: %s", encoder_strerror(r));
    }

    /* Read every record back: a card that acknowledged a write is not yet a card that holds it. */
    size_t at[SSSE_MAX_WRITES];
    if (r == 0) {
        b->n = 0;
        card->batch = b;
        r = read_key_auth(s, ks, res);
        if (r < 0 && b->n == 0) {
            card->batch = NULL;
            OPENSSL_cleanse(b, sizeof *b);
            free(b);
            return r; /* the key service failed; the cause is set */
        }
        for (size_t i = 0; i < plan.n && r == 0; i++) {
            const struct ssse_write *w = &plan.w[i];
            if (s->current_ef != w->rec->fid) {
                r = card->ops->select_ef(card, w->rec->fid);
                encoder_batch_label(b, 0, "cannot select %04X", w->rec->fid);
                s->current_ef = w->rec->fid;
            }
            /* with the exact length written: a T=0 card answers a record of any other length with 6Cxx */
            uint8_t unused[1];
            size_t unused_len;
            if (r == 0)
                r = card->ops->read_record(card, w->rec->rec, ENCODER_REC_BY_NUMBER, unused, w->len,
                                           &unused_len);
            encoder_batch_label(b, ENCODER_ERROR_READBACK, "read-back of %04X record %u failed", w->rec->fid,
                                w->rec->rec);
            at[i] = b->n - 1;
        }
        /* The holder will use the maker's initial PIN: it must verify, which also leaves the counter full. */
        if (r == 0)
            r = card->ops->verify_pin(card, pin, NULL);
        encoder_batch_label(b, ENCODER_ERROR_PIN, "the maker's initial PIN does not verify");
        card->batch = NULL;
        if (r == 0)
            r = batch_send(card, b, res, &failed);
        else
            r = fail(res, r, "cannot build the commands: %s", encoder_strerror(r));
    }
    for (size_t i = 0; i < plan.n && r == 0; i++) {
        const struct ssse_write *w = &plan.w[i];
        const struct encoder_exchange *x = &b->x[at[i]];
        size_t got = x->resp_len - 2; /* batch_send checked the answer ends in 90 00 */
        if (got != w->len || memcmp(x->resp, w->tlv, w->len) != 0)
            r = fail(res, ENCODER_ERROR_READBACK, "read-back mismatch on %04X record %u", w->rec->fid,
                     w->rec->rec);
    }
    OPENSSL_cleanse(b, sizeof *b); /* it held the authentication data and the PIN */
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
        struct ssse_session s;
        r = personalize(t, ks, data, &s, &res);
        /* A card that holds personal data and failed is dead before it leaves the station. */
        if (r < 0 && res.data_written && r != ENCODER_ERROR_NO_CARD && r != ENCODER_ERROR_TIMEOUT &&
            r != ENCODER_ERROR_NO_READER) {
            struct encoder_result blk = {0};
            if (block_session(&s, ks, &blk) == 0) {
                res.blocked = 1;
                size_t n = strnlen(res.cause, sizeof res.cause);
                snprintf(res.cause + n, sizeof res.cause - n, "; card blocked");
            } else {
                size_t n = strnlen(res.cause, sizeof res.cause);
                snprintf(res.cause + n, sizeof res.cause - n, "; NOT blocked: %s", blk.cause);
            }
        }
        OPENSSL_cleanse(&s, sizeof s);
        /* End of the cycle, good or bad: the card leaves the station unpowered. */
        if (res.atr_hex[0] && t->ops->power_off)
            t->ops->power_off(t->ctx);
    }
    *ret = res;
    return r;
}

int encoder_block_card(struct encoder_transport *t, struct encoder_key_service *ks,
                       struct encoder_result *ret)
{
    if (!ret)
        return ENCODER_ERROR_INVALID;
    struct encoder_result res = {0};
    int r;
    if (!t || !t->ops || !t->ops->reset || !t->ops->transmit || !ks) {
        r = fail(&res, ENCODER_ERROR_INVALID, "missing transport or key service");
    } else {
        struct ssse_session s;
        r = power_up_and_select(t, &s, res.atr_hex, &res);
        if (r == 0)
            r = read_maker_data(&s, res.card_id_hex, &res);
        if (r == 0)
            r = block_session(&s, ks, &res);
        res.blocked = r == 0;
        OPENSSL_cleanse(&s, sizeof s);
        if (res.atr_hex[0] && t->ops->power_off)
            t->ops->power_off(t->ctx);
    }
    *ret = res;
    return r;
}

static int unblock(struct encoder_transport *t, struct encoder_key_service *ks, const char *expect_ssn,
                   const char *new_pin, struct ssse_session *s, struct encoder_result *res)
{
    int r;
    if ((r = power_up_and_select(t, s, res->atr_hex, res)) < 0)
        return r;
    if ((r = read_maker_data(s, res->card_id_hex, res)) < 0)
        return r;
    if ((r = check_genuine(s, ks, res)) < 0)
        return r;
    /* The holder's document first: the card must be the holder's. */
    uint8_t buf[ENCODER_RESP_MAX];
    const uint8_t *v;
    if ((r = read_key_auth(s, ks, res)) < 0)
        return r;
    if ((r = read_fixed(s, ENCODER_FID_EF06, 1, &v, buf, res)) < 0)
        return r;
    char ssn[19];
    copy_an(ssn, sizeof ssn, v, 18);
    OPENSSL_cleanse(buf, sizeof buf);
    if (expect_ssn && strcmp(ssn, expect_ssn) != 0)
        return fail(res, ENCODER_ERROR_INVALID,
                    "this card is not the holder's: its social security number differs");
    /* PUK external authentication (key id 06, [TR1] l.108), then the command with the STKSSSE MAC. */
    uint8_t auth[16];
    if ((r = external_auth_data(s, ks, ENCODER_KEY_PUK, auth, res)) < 0)
        return r;
    r = s->card.ops->external_authenticate(&s->card, ENCODER_KID_PUK, auth, sizeof auth);
    OPENSSL_cleanse(auth, sizeof auth);
    if (r < 0)
        return step_fail(res, &s->card, r, ENCODER_ERROR_AUTH, "external authentication (PUK) refused");
    uint8_t challenge[ENCODER_CHALLENGE_LEN];
    if ((r = s->card.ops->get_challenge(&s->card, challenge, sizeof challenge)) < 0)
        return step_fail(res, &s->card, r, 0, "GET CHALLENGE failed");
    uint8_t cmd[5 + 16 + 4];
    size_t enc_len = 0;
    cmd[0] = 0x84, cmd[1] = 0x24, cmd[2] = 0x00, cmd[3] = new_pin ? 0x01 : 0x00;
    if (new_pin) {
        r = encoder_key_service_pin_block(ks, &s->ref, challenge, new_pin, cmd + 5, &enc_len);
        if (r < 0)
            return fail(res, r == ENCODER_ERROR_INVALID ? r : ENCODER_ERROR_KEY,
                        "key service could not encipher the new PIN: %s", encoder_strerror(r));
    }
    cmd[4] = (uint8_t)(enc_len + 4);
    r = encoder_key_service_mac(ks, &s->ref, ENCODER_KEY_STKSSSE, challenge, cmd, 5 + enc_len,
                                cmd + 5 + enc_len);
    if (r < 0)
        return fail(res, ENCODER_ERROR_KEY, "key service could not compute the MAC: %s", encoder_strerror(r));
    r = s->card.ops->pin_unblock(&s->card, cmd[3], cmd + 5, enc_len + 4);
    OPENSSL_cleanse(cmd, sizeof cmd);
    if (r < 0)
        return step_fail(res, &s->card, r, ENCODER_ERROR_PIN, "PIN unblock refused");
    if (new_pin && (r = s->card.ops->verify_pin(&s->card, new_pin, NULL)) < 0)
        return step_fail(res, &s->card, r, ENCODER_ERROR_PIN, "the new PIN does not verify");
    return 0;
}

int encoder_unblock_pin(struct encoder_transport *t, struct encoder_key_service *ks, const char *expect_ssn,
                        const char *new_pin, struct encoder_result *ret)
{
    if (!ret)
        return ENCODER_ERROR_INVALID;
    struct encoder_result res = {0};
    int r;
    size_t pin_len = new_pin ? strnlen(new_pin, 13) : 0;
    if (!t || !t->ops || !t->ops->reset || !t->ops->transmit || !ks) {
        r = fail(&res, ENCODER_ERROR_INVALID, "missing transport or key service");
    } else if (new_pin && (pin_len < 4 || pin_len > 12 || strspn(new_pin, "0123456789") != pin_len)) {
        r = fail(&res, ENCODER_ERROR_INVALID, "the new PIN must be 4 to 12 digits");
    } else {
        struct ssse_session s;
        r = unblock(t, ks, expect_ssn, new_pin, &s, &res);
        OPENSSL_cleanse(&s, sizeof s);
        if (res.atr_hex[0] && t->ops->power_off)
            t->ops->power_off(t->ctx);
    }
    *ret = res;
    return r;
}

/* ---- reading a card back for operators ---- */

static int read_all(struct encoder_transport *t, struct encoder_key_service *ks,
                    struct encoder_card_info *info, struct encoder_result *res)
{
    struct ssse_session s;
    int r = power_up_and_select(t, &s, info->atr_hex, res);
    if (r == 0)
        r = read_maker_data(&s, info->card_id_hex, res);
    if (r < 0)
        return r;
    memcpy(info->card_type, s.card_type, sizeof info->card_type);
    memcpy(info->spec_version, s.spec_version, sizeof info->spec_version);
    memcpy(info->issuer, s.init_org, sizeof info->issuer);
    if ((r = read_key_auth(&s, ks, res)) < 0)
        return r;

    /* Every record exists on a card that left its maker, holding the fill (an 00.., cn FF..) until written
     * ([TR2]); the decoders stop at the fill. */
    uint8_t name[ENCODER_NAME_FIELD_LEN + ENCODER_NAME_EXT_MAX];
    size_t name_len = 0;
    for (size_t i = 0; i < ENCODER_SSSE_RECORDS; i++) {
        const struct encoder_ssse_record *sr = &encoder_ssse_records[i];
        if (sr->maker)
            continue;
        uint8_t buf[ENCODER_RESP_MAX];
        const uint8_t *v;
        if ((r = read_fixed(&s, sr->fid, sr->rec, &v, buf, res)) < 0)
            return r;
        size_t vlen = sr->len;
        switch (sr->tag) {
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
        case 0x4E: /* record 2 comes before record 3, so the extension is appended ([SC] §10.2) */
            memcpy(name + name_len, v, vlen);
            name_len += vlen;
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
        OPENSSL_cleanse(buf, sizeof buf);
    }
    gbk_to_utf8(name, name_len, info->name, sizeof info->name);
    OPENSSL_cleanse(name, sizeof name);
    return 0;
}

int encoder_read_card(struct encoder_transport *t, struct encoder_card_info *ret)
{
    return encoder_read_card_keys(t, NULL, ret);
}

int encoder_read_card_keys(struct encoder_transport *t, struct encoder_key_service *ks,
                           struct encoder_card_info *ret)
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
        r = read_all(t, ks, &info, &res);
        if (info.atr_hex[0] && t->ops->power_off)
            t->ops->power_off(t->ctx);
    }
    memcpy(info.cause, res.cause, sizeof info.cause);
    *ret = info;
    return r;
}
