/* sim_card.c — an in-process simulated social security card: SSSE files, access rules, T=0 quirks, faults */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "encoder-private.h"

#define SIM_PIN_TRIES       3
#define SIM_RECORD_MAX      (2 + ENCODER_NAME_EXT_MAX) /* one TLV: tag, one length byte, the largest value */
#define SIM_RECORD_SLOTS    128                        /* record numbers 01..7F: covers 01..0D and 4E */
#define SIM_WRITES_PER_CARD 12                         /* UPDATE RECORDs of a personalisation without 4E */

/* Direct convention, T=0 only, TB1 = TC1 = 00, then 12 illustrative historical bytes (no real COS). */
static const uint8_t sim_atr[] = {0x3B, 0x6C, 0x00, 0x00, 0x80, 0x64, 0x11, 0x65,
                                  0x01, 0x90, 0x73, 0x00, 0x00, 0x00, 0x81, 0x07};
/* 123456 in BCD, the usual initial social security PIN. */
static const uint8_t sim_initial_pin[] = {0x12, 0x34, 0x56};

struct sim_record {
    bool present;
    uint8_t len;
    uint8_t data[SIM_RECORD_MAX];
};

enum sim_df { SIM_DF_NONE, SIM_DF_MF, SIM_DF_SSSE };

struct sim {
    /* the station */
    uint8_t master[16];
    unsigned fault_permille;
    unsigned card_ms;
    uint64_t prng;
    bool foreign; /* cards put in from the next reset on lack the SSSE application */

    /* the card currently in it */
    bool powered;
    bool card_foreign;
    uint8_t card_id[ENCODER_CARD_ID_LEN];
    enum sim_df df;
    uint16_t ef; /* current EF, 0 = none */
    uint8_t challenge[ENCODER_CHALLENGE_LEN];
    bool challenge_valid;
    bool authenticated;
    unsigned pin_tries;
    int fault_at;     /* index of the UPDATE RECORD that answers 6581, -1 = none */
    unsigned updates; /* UPDATE RECORDs seen on this card */
    uint64_t budget_us;
    uint8_t pending[ENCODER_RESP_MAX]; /* data waiting for GET RESPONSE */
    size_t pending_len;
    struct sim_record records[2][SIM_RECORD_SLOTS]; /* [0] = EF05, [1] = EF06 */
};

static const struct encoder_transport_ops sim_ops;

/* splitmix64: small, deterministic per seed, and private to one transport (no rand(), no shared state). */
static uint64_t sim_random(struct sim *s)
{
    uint64_t z = (s->prng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

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

static struct sim_record *sim_record(struct sim *s, uint16_t fid, uint8_t rec)
{
    if (encoder_ssse_record_max(fid, rec) == 0 || rec >= SIM_RECORD_SLOTS)
        return NULL;
    return &s->records[fid == ENCODER_FID_EF05 ? 0 : 1][rec];
}

static int sim_reset(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len)
{
    struct sim *s = ctx;
    if (!s || !atr || !ret_atr_len || atr_max < sizeof sim_atr)
        return ENCODER_ERROR_INVALID;

    /* The line puts a new blank in the station for every personalisation. */
    memset(s->records, 0, sizeof s->records);
    s->powered = true;
    s->card_foreign = s->foreign;
    s->df = SIM_DF_MF;
    s->ef = 0;
    s->challenge_valid = false;
    s->authenticated = false;
    s->pin_tries = SIM_PIN_TRIES;
    s->updates = 0;
    s->pending_len = 0;
    s->budget_us = (uint64_t)s->card_ms * 1000;

    /* Card identifier: region code 44 01 00, then the manufacturer's serial. */
    s->card_id[0] = 0x44;
    s->card_id[1] = 0x01;
    s->card_id[2] = 0x00;
    for (size_t i = 3; i < sizeof s->card_id; i++)
        s->card_id[i] = (uint8_t)sim_random(s);
    struct sim_record *r = &s->records[0][1];
    r->present = true;
    r->len = 2 + ENCODER_CARD_ID_LEN;
    r->data[0] = 0x01;
    r->data[1] = ENCODER_CARD_ID_LEN;
    memcpy(r->data + 2, s->card_id, ENCODER_CARD_ID_LEN);

    s->fault_at = -1;
    if (sim_random(s) % 1000 < s->fault_permille)
        s->fault_at = (int)(sim_random(s) % SIM_WRITES_PER_CARD);

    sim_spend(s, 100);
    memcpy(atr, sim_atr, sizeof sim_atr);
    *ret_atr_len = sizeof sim_atr;
    return 0;
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

static uint16_t sim_select(struct sim *s, const struct encoder_apdu *a)
{
    if (a->p2 != 0x00 && a->p2 != 0x0C)
        return 0x6A86;
    if (a->lc == 0)
        return 0x6700;

    if (a->p1 == 0x04) {
        if (s->card_foreign || a->lc != ENCODER_SSSE_AID_LEN ||
            memcmp(a->data, encoder_ssse_aid, ENCODER_SSSE_AID_LEN) != 0)
            return 0x6A82;
        /* The security status belongs to the DF: selecting it again starts over. */
        s->df = SIM_DF_SSSE;
        s->ef = 0;
        s->authenticated = false;
        if (!a->has_le)
            return 0x9000;
        /* Case 4 under T=0: the FCI waits for GET RESPONSE. */
        s->pending[0] = 0x6F;
        s->pending[1] = 2 + ENCODER_SSSE_AID_LEN;
        s->pending[2] = 0x84;
        s->pending[3] = ENCODER_SSSE_AID_LEN;
        memcpy(s->pending + 4, encoder_ssse_aid, ENCODER_SSSE_AID_LEN);
        s->pending_len = 4 + ENCODER_SSSE_AID_LEN;
        return (uint16_t)(0x6100 | s->pending_len);
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
static uint16_t sim_record_ef(struct sim *s, const struct encoder_apdu *a, uint16_t *ret_fid)
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

static uint16_t sim_read_record(struct sim *s, const struct encoder_apdu *a, struct sim_resp *out)
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

static uint16_t sim_update_record(struct sim *s, const struct encoder_apdu *a)
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

    bool fault = s->fault_at >= 0 && s->updates == (unsigned)s->fault_at;
    s->updates++;
    sim_spend(s, 50); /* EEPROM writes are what takes the time on a real card */
    if (fault)
        return 0x6581;
    memcpy(rec->data, a->data, a->lc);
    rec->len = (uint8_t)a->lc;
    rec->present = true;
    return 0x9000;
}

static uint16_t sim_get_challenge(struct sim *s, const struct encoder_apdu *a, struct sim_resp *out)
{
    if (a->p1 || a->p2)
        return 0x6A86;
    if (a->lc || !a->has_le || a->le != ENCODER_CHALLENGE_LEN)
        return 0x6700;
    uint64_t rnd = sim_random(s);
    for (size_t i = 0; i < ENCODER_CHALLENGE_LEN; i++)
        s->challenge[i] = (uint8_t)(rnd >> (8 * i));
    s->challenge_valid = true;
    return sim_data(out, s->challenge, ENCODER_CHALLENGE_LEN);
}

static uint16_t sim_external_authenticate(struct sim *s, const struct encoder_apdu *a)
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

static uint16_t sim_verify(struct sim *s, const struct encoder_apdu *a)
{
    if (a->p1 != 0x00)
        return 0x6A86;
    if (s->df != SIM_DF_SSSE || a->p2 != 0x00)
        return 0x6A88;
    if (s->pin_tries == 0)
        return 0x6983;
    if (a->lc == 0) /* ask for the retry counter */
        return (uint16_t)(0x63C0 | s->pin_tries);
    if (a->lc == sizeof sim_initial_pin && memcmp(a->data, sim_initial_pin, sizeof sim_initial_pin) == 0) {
        s->pin_tries = SIM_PIN_TRIES;
        return 0x9000;
    }
    s->pin_tries--;
    return (uint16_t)(0x63C0 | s->pin_tries);
}

static uint16_t sim_get_response(struct sim *s, const struct encoder_apdu *a, struct sim_resp *out)
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

static uint16_t sim_dispatch(struct sim *s, const uint8_t *apdu, size_t apdu_len, struct sim_resp *out)
{
    struct encoder_apdu a;
    if (encoder_apdu_parse(apdu, apdu_len, &a) < 0)
        return 0x6700;
    if (a.cla != 0x00)
        return 0x6E00;
    if (a.ins != 0xC0)
        s->pending_len = 0; /* response data survives only until the next command */
    if (s->card_foreign && a.ins != 0xA4)
        return 0x6D00; /* the bank application of a foreign card is not simulated */

    switch (a.ins) {
    case 0xA4:
        return sim_select(s, &a);
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
    case 0xC0:
        return sim_get_response(s, &a, out);
    default:
        return 0x6D00;
    }
}

static int sim_transmit(void *ctx, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_max,
                        size_t *ret_resp_len)
{
    struct sim *s = ctx;
    if (!s || !apdu || !resp || !ret_resp_len)
        return ENCODER_ERROR_INVALID;
    if (!s->powered)
        return ENCODER_ERROR_NO_CARD;

    struct sim_resp out = {.len = 0};
    uint16_t sw = sim_dispatch(s, apdu, apdu_len, &out);
    if (apdu_len >= 2 && apdu[1] != 0xDC)
        sim_spend(s, 10);
    if (out.len + 2 > resp_max)
        return ENCODER_ERROR_TRANSPORT;
    memcpy(resp, out.buf, out.len);
    resp[out.len] = (uint8_t)(sw >> 8);
    resp[out.len + 1] = (uint8_t)(sw & 0xFF);
    *ret_resp_len = out.len + 2;
    return 0;
}

static void sim_close(void *ctx)
{
    struct sim *s = ctx;
    if (!s)
        return;
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
