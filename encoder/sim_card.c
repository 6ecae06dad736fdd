/* sim_card.c — a simulated social security card (SSSE files, access rules, PIN, T=0 quirks) and PSAM, and the
 * in-process station that puts a fresh blank of it in front of the line for every personalisation */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "encoder-private.h"

#define SIM_PIN_TRIES       3
#define SIM_PIN_MAX         6                          /* bytes of BCD: up to 12 digits */
#define SIM_RECORD_MAX      (2 + ENCODER_NAME_EXT_MAX) /* one TLV: tag, one length byte, the largest value */
#define SIM_RECORD_SLOTS    128                        /* record numbers 01..7F: covers 01..0D and 4E */
#define SIM_WRITES_PER_CARD 12                         /* UPDATE RECORDs of a personalisation without 4E */

/* Direct convention, T=0 only, TB1 = TC1 = 00, then 12 illustrative historical bytes (no real COS). */
static const uint8_t sim_atr[] = {0x3B, 0x6C, 0x00, 0x00, 0x80, 0x64, 0x11, 0x65,
                                  0x01, 0x90, 0x73, 0x00, 0x00, 0x00, 0x81, 0x07};
/* The PSAM: T=0, TB1 = TC1 = 00, historical bytes "CLPSAM". */
static const uint8_t psam_atr[] = {0x3B, 0x66, 0x00, 0x00, 0x43, 0x4C, 0x50, 0x53, 0x41, 0x4D};
/* 123456 in BCD, the usual initial social security PIN, as the manufacturer ships the blank. */
static const uint8_t sim_initial_pin[] = {0x12, 0x34, 0x56};

/* Proprietary (F0, not registered) AID of cardline's PSAM application: F0 "CLPSAM01". */
const uint8_t encoder_psam_aid[ENCODER_PSAM_AID_LEN] = {0xF0, 0x43, 0x4C, 0x50, 0x53, 0x41, 0x4D, 0x30, 0x31};

struct sim_record {
    bool present;
    uint8_t len;
    uint8_t data[SIM_RECORD_MAX];
};

enum sim_df { SIM_DF_NONE, SIM_DF_MF, SIM_DF_SSSE, SIM_DF_PSAM };

struct encoder_sim_card {
    /* made at the factory */
    enum encoder_sim_card_kind kind;
    uint8_t master[16];
    uint64_t prng;
    bool foreign;
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len;
    int memory_fault_at;
    uint8_t card_id[ENCODER_CARD_ID_LEN];

    /* non-volatile */
    unsigned updates; /* UPDATE RECORDs seen */
    uint8_t pin[SIM_PIN_MAX];
    size_t pin_len;
    unsigned pin_tries;
    struct sim_record records[2][SIM_RECORD_SLOTS]; /* [0] = EF05, [1] = EF06 */

    /* volatile: lost at power off or reset */
    bool powered;
    enum sim_df df;
    uint16_t ef; /* current EF, 0 = none */
    uint8_t challenge[ENCODER_CHALLENGE_LEN];
    bool challenge_valid;
    bool authenticated;
    uint8_t pending[ENCODER_RESP_MAX]; /* data waiting for GET RESPONSE */
    size_t pending_len;
};

/* splitmix64: small, deterministic per seed, and private to one card (no rand(), no shared state). */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int encoder_sim_card_new(const struct encoder_sim_card_config *cfg, struct encoder_sim_card **ret)
{
    if (!cfg || !ret || (cfg->kind != ENCODER_SIM_CARD_SSC && cfg->kind != ENCODER_SIM_CARD_PSAM))
        return ENCODER_ERROR_INVALID;
    if (cfg->atr && (cfg->atr_len == 0 || cfg->atr_len > ENCODER_ATR_MAX))
        return ENCODER_ERROR_INVALID;
    struct encoder_sim_card *c = calloc(1, sizeof *c);
    if (!c)
        return ENCODER_ERROR_NOMEM;
    c->kind = cfg->kind;
    memcpy(c->master, cfg->master, sizeof c->master);
    c->prng = cfg->seed;
    c->foreign = cfg->foreign;
    c->memory_fault_at = cfg->memory_fault_at;
    const uint8_t *atr = cfg->kind == ENCODER_SIM_CARD_PSAM ? psam_atr : sim_atr;
    size_t atr_len = cfg->kind == ENCODER_SIM_CARD_PSAM ? sizeof psam_atr : sizeof sim_atr;
    if (cfg->atr) {
        atr = cfg->atr;
        atr_len = cfg->atr_len;
    }
    memcpy(c->atr, atr, atr_len);
    c->atr_len = atr_len;

    /* Card identifier: region code 44 01 00, then the manufacturer's serial. */
    c->card_id[0] = 0x44;
    c->card_id[1] = 0x01;
    c->card_id[2] = 0x00;
    for (size_t i = 3; i < sizeof c->card_id; i++)
        c->card_id[i] = (uint8_t)next_random(&c->prng);
    struct sim_record *r = &c->records[0][1];
    r->present = true;
    r->len = 2 + ENCODER_CARD_ID_LEN;
    r->data[0] = 0x01;
    r->data[1] = ENCODER_CARD_ID_LEN;
    memcpy(r->data + 2, c->card_id, ENCODER_CARD_ID_LEN);

    memcpy(c->pin, sim_initial_pin, sizeof sim_initial_pin);
    c->pin_len = sizeof sim_initial_pin;
    c->pin_tries = SIM_PIN_TRIES;
    *ret = c;
    return 0;
}

void encoder_sim_card_free(struct encoder_sim_card *c)
{
    if (!c)
        return;
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

int encoder_sim_card_power_on(struct encoder_sim_card *c, uint8_t *atr, size_t atr_max, size_t *ret_atr_len)
{
    if (!c || !atr || !ret_atr_len || atr_max < c->atr_len)
        return ENCODER_ERROR_INVALID;
    c->powered = true;
    c->df = SIM_DF_MF;
    c->ef = 0;
    c->challenge_valid = false;
    c->authenticated = false;
    c->pending_len = 0;
    memcpy(atr, c->atr, c->atr_len);
    *ret_atr_len = c->atr_len;
    return 0;
}

void encoder_sim_card_power_off(struct encoder_sim_card *c)
{
    if (c)
        c->powered = false;
}

unsigned encoder_sim_card_updates(const struct encoder_sim_card *c)
{
    return c ? c->updates : 0;
}

static struct sim_record *sim_record(struct encoder_sim_card *s, uint16_t fid, uint8_t rec)
{
    if (encoder_ssse_record_max(fid, rec) == 0 || rec >= SIM_RECORD_SLOTS)
        return NULL;
    return &s->records[fid == ENCODER_FID_EF05 ? 0 : 1][rec];
}

/* Response under construction: data then SW1 SW2. */
struct sim_resp {
    uint8_t buf[ENCODER_RESP_MAX];
    size_t len;
};

static uint16_t sim_data(struct sim_resp *out, const uint8_t *data, size_t len)
{
    memcpy(out->buf, data, len);
    out->len = len;
    return 0x9000;
}

/* T=0 cards answer a case-2 command whose Le is not the exact length with 6Cxx. */
static uint16_t sim_exact(struct sim_resp *out, const struct encoder_apdu *a, const uint8_t *data, size_t len)
{
    if (!a->has_le || a->le != len)
        return (uint16_t)(0x6C00 | (len & 0xFF));
    return sim_data(out, data, len);
}

/* Case 4 under T=0: the data waits for GET RESPONSE. */
static uint16_t sim_pending(struct encoder_sim_card *s, const uint8_t *data, size_t len)
{
    memcpy(s->pending, data, len);
    s->pending_len = len;
    return (uint16_t)(0x6100 | (len & 0xFF));
}

static uint16_t sim_select(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    if (a->p2 != 0x00 && a->p2 != 0x0C)
        return 0x6A86;
    if (a->lc == 0)
        return 0x6700;

    if (a->p1 == 0x04) {
        bool ssse = s->kind == ENCODER_SIM_CARD_SSC && !s->foreign && a->lc == ENCODER_SSSE_AID_LEN &&
                    memcmp(a->data, encoder_ssse_aid, ENCODER_SSSE_AID_LEN) == 0;
        bool psam = s->kind == ENCODER_SIM_CARD_PSAM && a->lc == ENCODER_PSAM_AID_LEN &&
                    memcmp(a->data, encoder_psam_aid, ENCODER_PSAM_AID_LEN) == 0;
        if (!ssse && !psam)
            return 0x6A82;
        /* The security status belongs to the DF: selecting it again starts over. */
        s->df = ssse ? SIM_DF_SSSE : SIM_DF_PSAM;
        s->ef = 0;
        s->authenticated = false;
        if (!a->has_le)
            return 0x9000;
        uint8_t fci[4 + 16];
        fci[0] = 0x6F;
        fci[1] = (uint8_t)(2 + a->lc);
        fci[2] = 0x84;
        fci[3] = (uint8_t)a->lc;
        memcpy(fci + 4, a->data, a->lc);
        return sim_pending(s, fci, 4 + a->lc);
    }

    if (a->p1 != 0x00 && a->p1 != 0x02)
        return 0x6A86;
    if (a->lc != 2)
        return 0x6700;
    uint16_t fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
    if (a->p1 == 0x00 && fid == 0x3F00) {
        s->df = SIM_DF_MF;
        s->ef = 0;
        s->authenticated = false;
        return 0x9000;
    }
    if (s->df == SIM_DF_SSSE && (fid == ENCODER_FID_EF05 || fid == ENCODER_FID_EF06)) {
        s->ef = fid;
        return 0x9000;
    }
    return 0x6A82;
}

/* Resolve P2 of READ/UPDATE RECORD: 04 = current EF, (SFI << 3) | 04 = EF05/EF06 by SFI 5/6. */
static uint16_t sim_record_ef(struct encoder_sim_card *s, const struct encoder_apdu *a, uint16_t *ret_fid)
{
    if ((a->p2 & 0x07) != 0x04 || a->p1 == 0)
        return 0x6A86;
    if (s->df != SIM_DF_SSSE)
        return 0x6986;
    uint8_t sfi = a->p2 >> 3;
    if (sfi == 0) {
        if (s->ef == 0)
            return 0x6986;
    } else if (sfi == 5 || sfi == 6) {
        s->ef = sfi == 5 ? ENCODER_FID_EF05 : ENCODER_FID_EF06;
    } else {
        return 0x6A82;
    }
    *ret_fid = s->ef;
    return 0x9000;
}

static uint16_t sim_read_record(struct encoder_sim_card *s, const struct encoder_apdu *a,
                                struct sim_resp *out)
{
    uint16_t fid = 0;
    uint16_t sw = sim_record_ef(s, a, &fid);
    if (sw != 0x9000)
        return sw;
    if (a->lc)
        return 0x6700;
    struct sim_record *rec = sim_record(s, fid, a->p1);
    if (!rec || !rec->present)
        return 0x6A83;
    return sim_exact(out, a, rec->data, rec->len);
}

static uint16_t sim_update_record(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    uint16_t fid = 0;
    uint16_t sw = sim_record_ef(s, a, &fid);
    if (sw != 0x9000)
        return sw;
    if (!s->authenticated)
        return 0x6982;
    if (a->p1 == 0x01)
        return 0x6982; /* the card identifier is the manufacturer's: access condition NEVER */
    struct sim_record *rec = sim_record(s, fid, a->p1);
    if (!rec)
        return 0x6A83;
    if (a->lc == 0 || a->lc > 2 + encoder_ssse_record_max(fid, a->p1))
        return 0x6700;
    uint8_t tag;
    size_t vlen, used;
    if (encoder_tlv_parse(a->data, a->lc, &tag, NULL, &vlen, &used) < 0 || tag != a->p1 || used != a->lc)
        return 0x6A80;
    if (vlen > encoder_ssse_record_max(fid, a->p1))
        return 0x6700;

    bool fault = s->memory_fault_at >= 0 && s->updates == (unsigned)s->memory_fault_at;
    s->updates++;
    if (fault)
        return 0x6581;
    memcpy(rec->data, a->data, a->lc);
    rec->len = (uint8_t)a->lc;
    rec->present = true;
    return 0x9000;
}

static uint16_t sim_get_challenge(struct encoder_sim_card *s, const struct encoder_apdu *a,
                                  struct sim_resp *out)
{
    if (a->p1 || a->p2)
        return 0x6A86;
    if (a->lc || !a->has_le || a->le != ENCODER_CHALLENGE_LEN)
        return 0x6700;
    uint64_t rnd = next_random(&s->prng);
    for (size_t i = 0; i < ENCODER_CHALLENGE_LEN; i++)
        s->challenge[i] = (uint8_t)(rnd >> (8 * i));
    s->challenge_valid = true;
    return sim_data(out, s->challenge, ENCODER_CHALLENGE_LEN);
}

static uint16_t sim_external_authenticate(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    if (a->p1 != 0x00)
        return 0x6A86;
    if (s->df != SIM_DF_SSSE || a->p2 != ENCODER_SSSE_KEY_ID)
        return 0x6A88;
    if (a->lc != ENCODER_CRYPTOGRAM_LEN)
        return 0x6700;
    if (!s->challenge_valid)
        return 0x6985;
    s->challenge_valid = false; /* a challenge answers one attempt only, right or wrong */

    uint8_t expected[ENCODER_CRYPTOGRAM_LEN];
    if (encoder_ssse_cryptogram(s->master, s->card_id, s->challenge, expected) < 0)
        return 0x6F00;
    bool ok = CRYPTO_memcmp(expected, a->data, sizeof expected) == 0;
    OPENSSL_cleanse(expected, sizeof expected);
    s->authenticated = ok;
    return ok ? 0x9000 : 0x6300;
}

static uint16_t sim_verify(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    if (a->p1 != 0x00)
        return 0x6A86;
    if (s->df != SIM_DF_SSSE || a->p2 != 0x00)
        return 0x6A88;
    if (s->pin_tries == 0)
        return 0x6983;
    if (a->lc == 0) /* ask for the retry counter */
        return (uint16_t)(0x63C0 | s->pin_tries);
    if (a->lc == s->pin_len && CRYPTO_memcmp(a->data, s->pin, s->pin_len) == 0) {
        s->pin_tries = SIM_PIN_TRIES;
        return 0x9000;
    }
    s->pin_tries--;
    return (uint16_t)(0x63C0 | s->pin_tries);
}

/* RESET RETRY COUNTER, P1 = 02 (new reference data only): the issuer sets the PIN under its authentication.
 */
static uint16_t sim_reset_retry_counter(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    if (a->p1 != 0x02)
        return 0x6A86;
    if (s->df != SIM_DF_SSSE || a->p2 != 0x00)
        return 0x6A88;
    if (!s->authenticated)
        return 0x6982;
    if (a->lc < 2 || a->lc > SIM_PIN_MAX)
        return 0x6700;
    /* BCD digits, F only as padding at the very end */
    for (size_t i = 0; i < a->lc; i++) {
        uint8_t hi = a->data[i] >> 4, lo = a->data[i] & 0x0F;
        bool last = i + 1 == a->lc;
        if (hi > 9 || (lo > 9 && !(last && lo == 0x0F)))
            return 0x6A80;
    }
    memcpy(s->pin, a->data, a->lc);
    s->pin_len = a->lc;
    s->pin_tries = SIM_PIN_TRIES;
    return 0x9000;
}

/* The PSAM's one command: 80 FA 00 00 18 <card identifier 16> <challenge 8> 10 -> the 16-byte cryptogram. */
static uint16_t psam_cryptogram(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    if (s->df != SIM_DF_PSAM)
        return 0x6985;
    if (a->p1 || a->p2)
        return 0x6A86;
    if (a->lc != ENCODER_CARD_ID_LEN + ENCODER_CHALLENGE_LEN)
        return 0x6700;
    uint8_t out[ENCODER_CRYPTOGRAM_LEN];
    if (encoder_ssse_cryptogram(s->master, a->data, a->data + ENCODER_CARD_ID_LEN, out) < 0)
        return 0x6F00;
    uint16_t sw = sim_pending(s, out, sizeof out);
    OPENSSL_cleanse(out, sizeof out);
    return sw;
}

static uint16_t sim_get_response(struct encoder_sim_card *s, const struct encoder_apdu *a,
                                 struct sim_resp *out)
{
    if (a->p1 || a->p2)
        return 0x6A86;
    if (s->pending_len == 0)
        return 0x6985;
    size_t le = a->has_le ? a->le : 256;
    if (le > s->pending_len && le != 256)
        return (uint16_t)(0x6C00 | s->pending_len);
    size_t n = le < s->pending_len ? le : s->pending_len;
    sim_data(out, s->pending, n);
    memmove(s->pending, s->pending + n, s->pending_len - n);
    s->pending_len -= n;
    return s->pending_len ? (uint16_t)(0x6100 | (s->pending_len & 0xFF)) : 0x9000;
}

static uint16_t sim_dispatch(struct encoder_sim_card *s, const uint8_t *apdu, size_t apdu_len,
                             struct sim_resp *out)
{
    struct encoder_apdu a;
    if (encoder_apdu_parse(apdu, apdu_len, &a) < 0)
        return 0x6700;
    if (a.ins != 0xC0)
        s->pending_len = 0; /* response data survives only until the next command */
    if (s->kind == ENCODER_SIM_CARD_PSAM && a.cla == ENCODER_PSAM_CLA && a.ins == ENCODER_PSAM_INS_CRYPTO)
        return psam_cryptogram(s, &a);
    if (a.cla != 0x00)
        return 0x6E00;
    if (s->kind == ENCODER_SIM_CARD_SSC && s->foreign && a.ins != 0xA4)
        return 0x6D00; /* the bank application of a foreign card is not simulated */

    switch (a.ins) {
    case 0xA4:
        return sim_select(s, &a);
    case 0xC0:
        return sim_get_response(s, &a, out);
    default:
        break;
    }
    if (s->kind != ENCODER_SIM_CARD_SSC)
        return 0x6D00;
    switch (a.ins) {
    case 0xB2:
        return sim_read_record(s, &a, out);
    case 0xDC:
        return sim_update_record(s, &a);
    case 0x84:
        return sim_get_challenge(s, &a, out);
    case 0x82:
        return sim_external_authenticate(s, &a);
    case 0x20:
        return sim_verify(s, &a);
    case 0x2C:
        return sim_reset_retry_counter(s, &a);
    default:
        return 0x6D00;
    }
}

int encoder_sim_card_apdu(struct encoder_sim_card *s, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
                          size_t resp_max, size_t *ret_resp_len)
{
    if (!s || !apdu || !resp || !ret_resp_len)
        return ENCODER_ERROR_INVALID;
    if (!s->powered)
        return ENCODER_ERROR_NO_CARD;
    struct sim_resp out = {.len = 0};
    uint16_t sw = sim_dispatch(s, apdu, apdu_len, &out);
    if (out.len + 2 > resp_max)
        return ENCODER_ERROR_TRANSPORT;
    memcpy(resp, out.buf, out.len);
    resp[out.len] = (uint8_t)(sw >> 8);
    resp[out.len + 1] = (uint8_t)(sw & 0xFF);
    *ret_resp_len = out.len + 2;
    return 0;
}

/* ---- the in-process station: a new blank for every reset ---- */

struct sim {
    uint8_t master[16];
    unsigned fault_permille;
    unsigned card_ms;
    uint64_t prng;
    bool foreign; /* cards put in from the next reset on lack the SSSE application */
    struct encoder_sim_card *card;
    uint64_t budget_us;
};

static const struct encoder_transport_ops sim_ops;

/* Spend permille of the card's simulated time, never more than card_ms per card in total. */
static void sim_spend(struct sim *s, unsigned permille)
{
    if (s->card_ms == 0 || s->budget_us == 0)
        return;
    uint64_t us = (uint64_t)s->card_ms * permille;
    if (us > s->budget_us)
        us = s->budget_us;
    s->budget_us -= us;
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int sim_reset(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len)
{
    struct sim *s = ctx;
    if (!s || !atr || !ret_atr_len || atr_max < sizeof sim_atr)
        return ENCODER_ERROR_INVALID;

    /* The line puts a new blank in the station for every personalisation. */
    struct encoder_sim_card_config cc = {.kind = ENCODER_SIM_CARD_SSC,
                                         .seed = next_random(&s->prng),
                                         .foreign = s->foreign,
                                         .memory_fault_at = -1};
    memcpy(cc.master, s->master, sizeof cc.master);
    if (next_random(&s->prng) % 1000 < s->fault_permille)
        cc.memory_fault_at = (int)(next_random(&s->prng) % SIM_WRITES_PER_CARD);
    struct encoder_sim_card *card = NULL;
    int r = encoder_sim_card_new(&cc, &card);
    OPENSSL_cleanse(cc.master, sizeof cc.master);
    if (r < 0)
        return r;
    encoder_sim_card_free(s->card);
    s->card = card;
    s->budget_us = (uint64_t)s->card_ms * 1000;
    sim_spend(s, 100);
    return encoder_sim_card_power_on(card, atr, atr_max, ret_atr_len);
}

static int sim_transmit(void *ctx, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_max,
                        size_t *ret_resp_len)
{
    struct sim *s = ctx;
    if (!s || !apdu || !resp || !ret_resp_len)
        return ENCODER_ERROR_INVALID;
    if (!s->card)
        return ENCODER_ERROR_NO_CARD;
    int r = encoder_sim_card_apdu(s->card, apdu, apdu_len, resp, resp_max, ret_resp_len);
    /* EEPROM writes are what takes the time on a real card */
    sim_spend(s, apdu_len >= 2 && apdu[1] == 0xDC ? 50 : 10);
    return r;
}

static void sim_close(void *ctx)
{
    struct sim *s = ctx;
    if (!s)
        return;
    encoder_sim_card_free(s->card);
    OPENSSL_cleanse(s->master, sizeof s->master);
    free(s);
}

static const struct encoder_transport_ops sim_ops = {
    .reset = sim_reset,
    .transmit = sim_transmit,
    .close = sim_close,
};

int encoder_open_sim(const struct encoder_sim_config *cfg, struct encoder_transport **ret)
{
    if (!cfg || !ret || cfg->fault_permille > 1000)
        return ENCODER_ERROR_INVALID;
    struct encoder_transport *t = calloc(1, sizeof *t);
    struct sim *s = calloc(1, sizeof *s);
    if (!t || !s) {
        free(t);
        free(s);
        return ENCODER_ERROR_NOMEM;
    }
    memcpy(s->master, cfg->master_key, sizeof s->master);
    s->fault_permille = cfg->fault_permille;
    s->card_ms = cfg->card_ms;
    s->prng = cfg->seed;
    t->ops = &sim_ops;
    t->ctx = s;
    memcpy(t->name, "sim", sizeof "sim");
    *ret = t;
    return 0;
}

int encoder_sim_set_foreign_cards(struct encoder_transport *t, bool foreign)
{
    if (!t || t->ops != &sim_ops || !t->ctx)
        return ENCODER_ERROR_INVALID;
    struct sim *s = t->ctx;
    s->foreign = foreign;
    return 0;
}
