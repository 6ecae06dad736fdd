/* sim_card.c — a simulated social security card (SSSE files, access rules, PIN, block, T=0 quirks) with the
 * bank's UnionPay application (SCP02, STORE DATA, PPSE, GET PROCESSING OPTIONS, READ RECORD) and the
 * social security PSAM, and the in-process station that puts a fresh blank of it in front of the line for
 * every personalisation. It shares the encoder's tables and key scheme on purpose (the demo must just work);
 * the independent card that checks the encoder is tools/ssc-card. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "encoder-private.h"

#define SIM_PIN_TRIES       3
#define SIM_KEY_TRIES       5
#define SIM_PIN_MAX         6 /* bytes of BCD: up to 12 digits */
#define SIM_RECORD_MAX      (2 + ENCODER_NAME_FIELD_LEN)
#define SIM_WRITES_PER_CARD 10 /* UPDATE RECORDs of a personalisation */

/* Direct convention, T=0, TB1 = TC1 = 00, 13 historical bytes: T1..T5 illustrative, T6 T7 a made-up
 * manufacturer (90 73), T8 T9 region 4401, T10..T13 the card serial (filled per card). */
static const uint8_t sim_atr_base[17] = {0x3B, 0x6D, 0x00, 0x00, 0x80, 0x64, 0x11, 0x65, 0x01,
                                         0x90, 0x73, 0x44, 0x01, 0x00, 0x00, 0x00, 0x00};
/* The PSAM: T=0, TB1 = TC1 = 00, historical bytes "CLPSAM". */
static const uint8_t psam_atr[] = {0x3B, 0x66, 0x00, 0x00, 0x43, 0x4C, 0x50, 0x53, 0x41, 0x4D};
/* 123456 in BCD, the usual initial social security PIN, as the manufacturer ships the blank. */
static const uint8_t sim_initial_pin[] = {0x12, 0x34, 0x56};

struct sim_record {
    uint8_t len;
    uint8_t data[SIM_RECORD_MAX];
};

enum sim_df { SIM_DF_NONE, SIM_DF_MF, SIM_DF_SSSE, SIM_DF_BANK };

#define SIM_BANK_KEY_VERSION 0x20
#define SIM_BANK_DGI_MAX     64
#define SIM_BANK_STORE_MAX   16384 /* the application's EEPROM for DGIs: more answers 6A84 */
#define SIM_BANK_BUF_MAX     1536 /* one DGI (at most 1024 bytes and its header) and the next block's start */

struct sim_bank_dgi {
    uint16_t num, off, len;
};

/* The UnionPay application (SCP02 keys, DGIs) next to the SSSE application on one card. */
struct sim_bank {
    /* made at the factory */
    uint8_t kdd[10];     /* key diversification data (INITIALIZE UPDATE bytes 0..9) */
    uint8_t keys[3][16]; /* static ENC, MAC, DEK, diversified from the KMC with the KDD (EMV CPS) */
    uint64_t prng;       /* card challenges */
    /* non-volatile */
    uint16_t seq; /* SCP02 sequence counter, counted up by every opened secure channel */
    bool personalised;
    size_t n, used;
    struct sim_bank_dgi dgi[SIM_BANK_DGI_MAX];
    uint8_t store[SIM_BANK_STORE_MAX];
    /* volatile: the secure channel and the STORE DATA sequence */
    bool session, init_pending, authed;
    uint8_t host[8], challenge[6];
    uint8_t sk_enc[16], sk_mac[16], sk_dek[16];
    uint8_t last_mac[8];
    unsigned block; /* the next STORE DATA block number */
    uint8_t buf[SIM_BANK_BUF_MAX];
    size_t buf_len;
    bool buf_enc;
};

struct encoder_sim_card {
    /* made at the factory */
    enum encoder_sim_card_kind kind;
    uint8_t master[16];
    uint8_t alg;
    uint64_t prng;
    bool foreign;
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len;
    int memory_fault_at;
    struct encoder_card_ref ref; /* what the card's keys were dispersed for */

    /* non-volatile */
    unsigned updates; /* UPDATE RECORDs seen */
    uint8_t pin[SIM_PIN_MAX];
    size_t pin_len;
    unsigned pin_tries;
    unsigned key_tries;
    bool blocked;
    struct sim_record records[2][7]; /* [0] = EF05, [1] = EF06; by record number - 1 */

    /* volatile: lost at power off or reset */
    bool powered;
    enum sim_df df;
    uint16_t ef; /* current EF, 0 = none */
    uint8_t challenge[ENCODER_CHALLENGE_LEN];
    bool challenge_valid;
    bool auth_uk, auth_puk, auth_rk;
    uint8_t pending[ENCODER_RESP_MAX]; /* data waiting for GET RESPONSE */
    size_t pending_len;
    /* PSAM */
    bool psam_env;
    uint8_t psam_alg;
    uint8_t psam_sk[16];
    bool psam_sk_valid;
    /* the bank application (SSC cards that are not foreign) */
    struct sim_bank bank;
};

/* splitmix64: small, deterministic per seed, and private to one card (no rand(), no shared state). */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void sim_fill(struct encoder_sim_card *c, uint16_t fid, uint8_t tag, const uint8_t *value)
{
    const struct encoder_ssse_record *sr = encoder_ssse_record_by_tag(fid, tag);
    struct sim_record *r = &c->records[fid == ENCODER_FID_EF05 ? 0 : 1][sr->rec - 1];
    r->len = (uint8_t)(2 + sr->len);
    r->data[0] = tag;
    r->data[1] = sr->len;
    if (value)
        memcpy(r->data + 2, value, sr->len);
    else
        memset(r->data + 2, sr->fmt == ENCODER_FMT_CN ? 0xFF : 0x00, sr->len);
}

/* ---- the bank (UnionPay, PBOC 3.0) application ----
 * Written from GlobalPlatform Card Specification 2.2 (STORE DATA; Appendix E, SCP02 i=55), EMV CPS 1.1 (DGIs,
 * key diversification, sensitive DGIs under the session DEK) and EMV 4.3 Books 1 and 3 (SELECT, PPSE, GET
 * PROCESSING OPTIONS, READ RECORD), behaving as tools/ssc-card/pboc_card.py does: the same refusals with the
 * same status words. It answers case 4 commands at once (no 61xx), as that card does. */

static const uint8_t sim_bank_aid[8] = {0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01};
static const uint8_t sim_ppse[14] = {'2', 'P', 'A', 'Y', '.', 'S', 'Y', 'S', '.', 'D', 'D', 'F', '0', '1'};

static void bank_close_session(struct sim_bank *b)
{
    b->session = b->authed = b->init_pending = false;
    OPENSSL_cleanse(b->sk_enc, sizeof b->sk_enc);
    OPENSSL_cleanse(b->sk_mac, sizeof b->sk_mac);
    OPENSSL_cleanse(b->sk_dek, sizeof b->sk_dek);
    memset(b->last_mac, 0, sizeof b->last_mac);
}

static void bank_make(struct sim_bank *b, const uint8_t master[16], bool other_keys, uint64_t seed)
{
    uint8_t kmc[16];
    /* its own stream: the social security side's challenges stay what they were */
    b->prng = seed ^ 0x62616E6B2D415050ull;
    uint64_t v = next_random(&b->prng);
    memset(b->kdd, 0, 2);
    for (size_t i = 0; i < 8; i++)
        b->kdd[2 + i] = (uint8_t)(v >> (8 * i));
    memcpy(kmc, master, sizeof kmc);
    if (other_keys) /* another issuer's (or another batch's) key set */
        for (size_t i = 0; i < sizeof kmc; i++)
            kmc[i] ^= 0x5A;
    for (uint8_t t = 1; t <= 3; t++)
        if (encoder_scp02_emv_key(kmc, b->kdd, t, b->keys[t - 1]) < 0)
            memset(b->keys[t - 1], 0, 16);
    OPENSSL_cleanse(kmc, sizeof kmc);
    b->seq = 1;
}

/* The value of DGI num, or NULL. */
static const uint8_t *bank_dgi(const struct sim_bank *b, uint16_t num, size_t *ret_len)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->dgi[i].num == num) {
            *ret_len = b->dgi[i].len;
            return b->store + b->dgi[i].off;
        }
    return NULL;
}

/* BER-TLV with a short or long length; returns the bytes written or 0 when it does not fit. */
static size_t bank_tlv(unsigned tag, const uint8_t *v, size_t len, uint8_t *out, size_t max)
{
    size_t n = 0;
    uint8_t h[6];
    if (tag > 0xFF)
        h[n++] = (uint8_t)(tag >> 8);
    h[n++] = (uint8_t)tag;
    if (len < 0x80) {
        h[n++] = (uint8_t)len;
    } else if (len < 0x100) {
        h[n++] = 0x81;
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = 0x82;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    }
    if (n + len > max)
        return 0;
    memmove(out + n, v, len); /* v may already sit in out (a template wrapped in place): move it first */
    memcpy(out, h, n);
    return n + len;
}

int encoder_sim_card_new(const struct encoder_sim_card_config *cfg, struct encoder_sim_card **ret)
{
    if (!cfg || !ret || (cfg->kind != ENCODER_SIM_CARD_SSC && cfg->kind != ENCODER_SIM_CARD_PSAM))
        return ENCODER_ERROR_INVALID;
    if (cfg->atr && (cfg->atr_len == 0 || cfg->atr_len > ENCODER_ATR_MAX))
        return ENCODER_ERROR_INVALID;
    if (cfg->alg != 0 && encoder_alg_block(cfg->alg) == 0)
        return ENCODER_ERROR_INVALID;
    struct encoder_sim_card *c = calloc(1, sizeof *c);
    if (!c)
        return ENCODER_ERROR_NOMEM;
    c->kind = cfg->kind;
    memcpy(c->master, cfg->master, sizeof c->master);
    c->alg = cfg->alg ? cfg->alg : ENCODER_ALG_SM4;
    c->prng = cfg->seed;
    c->foreign = cfg->foreign;
    c->memory_fault_at = cfg->memory_fault_at;

    uint8_t serial[4], code[4];
    uint64_t rnd = next_random(&c->prng);
    for (size_t i = 0; i < 4; i++) {
        serial[i] = (uint8_t)(rnd >> (8 * i));
        code[i] = (uint8_t)(rnd >> (32 + 8 * i));
    }
    if (cfg->kind == ENCODER_SIM_CARD_PSAM) {
        memcpy(c->atr, psam_atr, sizeof psam_atr);
        c->atr_len = sizeof psam_atr;
    } else {
        memcpy(c->atr, sim_atr_base, sizeof sim_atr_base);
        memcpy(c->atr + 13, serial, 4);
        c->atr_len = sizeof sim_atr_base;
    }
    if (cfg->atr) {
        memcpy(c->atr, cfg->atr, cfg->atr_len);
        c->atr_len = cfg->atr_len;
    }

    /* EF05 01: region 440100 ‖ D1 56 00 00 05 ‖ serial ‖ authentication code ([V2] 表10). */
    uint8_t id[ENCODER_CARD_ID_LEN] = {0x44, 0x01, 0x00, 0xD1, 0x56, 0x00, 0x00, 0x05};
    memcpy(id + 8, serial, 4);
    memcpy(id + 12, code, 4);
    memcpy(c->ref.card_id, id, sizeof id);
    memcpy(c->ref.region, "440100", 7);
    c->ref.alg = c->alg;
    if (encoder_atr_hist_factor(c->atr, c->atr_len, c->ref.atr_hist) < 0)
        memset(c->ref.atr_hist, 0, sizeof c->ref.atr_hist); /* a foreign ATR: keys never match */
    /* Every record exists from pre-personalisation on, holding the fill; the maker wrote 01..04. */
    for (size_t i = 0; i < ENCODER_SSSE_RECORDS; i++)
        sim_fill(c, encoder_ssse_records[i].fid, encoder_ssse_records[i].tag, NULL);
    static const uint8_t init_org[12] = {0x91, 0x56, 0x00, 0x00, 0x02, 0x44,
                                         0x01, 0x00, 0x44, 0x01, 0x00, 0x01};
    sim_fill(c, ENCODER_FID_EF05, 0x01, id);
    sim_fill(c, ENCODER_FID_EF05, 0x02, (const uint8_t *)"3");
    sim_fill(c, ENCODER_FID_EF05, 0x03, (const uint8_t *)"3.00");
    sim_fill(c, ENCODER_FID_EF05, 0x04, init_org);

    memcpy(c->pin, sim_initial_pin, sizeof sim_initial_pin);
    c->pin_len = sizeof sim_initial_pin;
    c->pin_tries = SIM_PIN_TRIES;
    c->key_tries = SIM_KEY_TRIES;
    if (cfg->kind == ENCODER_SIM_CARD_SSC && !cfg->foreign)
        bank_make(&c->bank, cfg->master, cfg->bank_other_keys, cfg->seed);
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
    c->auth_uk = c->auth_puk = c->auth_rk = false;
    c->pending_len = 0;
    c->psam_env = c->psam_sk_valid = false;
    bank_close_session(&c->bank);
    c->bank.block = 0;
    c->bank.buf_len = 0;
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
        if (!ssse)
            return 0x6A82;
        if (s->blocked)
            return 0x9303;
        /* The security status belongs to the DF: selecting it again starts over. */
        s->df = SIM_DF_SSSE;
        s->ef = 0;
        s->auth_uk = s->auth_puk = s->auth_rk = false;
        if (!a->has_le)
            return 0x9000;
        /* 6F { 84 name, A5 { 88 01 1E, 9F0C 03 { 86 01 alg } } } */
        uint8_t fci[4 + ENCODER_SSSE_AID_LEN + 11];
        size_t n = 0;
        fci[n++] = 0x6F;
        fci[n++] = (uint8_t)(2 + ENCODER_SSSE_AID_LEN + 11);
        fci[n++] = 0x84;
        fci[n++] = ENCODER_SSSE_AID_LEN;
        memcpy(fci + n, encoder_ssse_aid, ENCODER_SSSE_AID_LEN);
        n += ENCODER_SSSE_AID_LEN;
        const uint8_t a5[11] = {0xA5, 0x09, 0x88, 0x01, 0x1E, 0x9F, 0x0C, 0x03, 0x86, 0x01, s->alg};
        memcpy(fci + n, a5, sizeof a5);
        n += sizeof a5;
        return sim_pending(s, fci, n);
    }

    if (a->p1 != 0x00 && a->p1 != 0x02)
        return 0x6A86;
    if (a->lc != 2)
        return 0x6700;
    uint16_t fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
    if (a->p1 == 0x00 && fid == 0x3F00) {
        s->df = SIM_DF_MF;
        s->ef = 0;
        s->auth_uk = s->auth_puk = s->auth_rk = false;
        return 0x9000;
    }
    if (s->df == SIM_DF_SSSE && (fid == ENCODER_FID_EF05 || fid == ENCODER_FID_EF06)) {
        s->ef = fid;
        return 0x9000;
    }
    return 0x6A82;
}

/* READ/UPDATE RECORD addressing: P2 = SFI << 3 | mode; mode 100 = record number P1, 000 = first record
 * with identifier P1. Returns the record or sets *ret_sw. */
static struct sim_record *sim_address(struct encoder_sim_card *s, const struct encoder_apdu *a,
                                      uint16_t *ret_fid, uint16_t *ret_sw)
{
    uint8_t mode = a->p2 & 0x07, sfi = a->p2 >> 3;
    *ret_sw = 0x9000;
    if (s->df != SIM_DF_SSSE) {
        *ret_sw = 0x6986;
        return NULL;
    }
    if (sfi == 5 || sfi == 6)
        s->ef = sfi == 5 ? ENCODER_FID_EF05 : ENCODER_FID_EF06;
    else if (sfi != 0) {
        *ret_sw = 0x6A82;
        return NULL;
    }
    if (s->ef == 0) {
        *ret_sw = 0x6986;
        return NULL;
    }
    const struct encoder_ssse_record *sr = NULL;
    if (mode == 0x04 && a->p1 != 0)
        sr = encoder_ssse_record_by_number(s->ef, a->p1);
    else if (mode == 0x00)
        sr = encoder_ssse_record_by_tag(s->ef, a->p1);
    else {
        *ret_sw = 0x6A86;
        return NULL;
    }
    if (!sr) {
        *ret_sw = 0x6A83;
        return NULL;
    }
    *ret_fid = s->ef;
    return &s->records[s->ef == ENCODER_FID_EF05 ? 0 : 1][sr->rec - 1];
}

static uint16_t sim_read_record(struct encoder_sim_card *s, const struct encoder_apdu *a,
                                struct sim_resp *out)
{
    uint16_t fid = 0, sw;
    if (a->lc)
        return 0x6700;
    struct sim_record *rec = sim_address(s, a, &fid, &sw);
    if (!rec)
        return sw;
    if (fid == ENCODER_FID_EF06 && !s->auth_rk)
        return 0x6982; /* a 3.00 card: the holder's data is read under RKSSSE */
    return sim_exact(out, a, rec->data, rec->len);
}

static uint16_t sim_update_record(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    uint16_t fid = 0, sw;
    struct sim_record *rec = sim_address(s, a, &fid, &sw);
    if (!rec)
        return sw;
    if (!s->auth_uk)
        return 0x6982;
    const struct encoder_ssse_record *sr = encoder_ssse_record_by_tag(fid, rec->data[0]);
    if (sr->maker)
        return 0x6985; /* the maker's records are locked after initialisation */
    /* the whole record, at its fixed length: tag, length, value */
    if (a->lc != 2u + sr->len)
        return 0x6700;
    if (a->data[0] != sr->tag || a->data[1] != sr->len)
        return 0x6A85;

    bool fault = s->memory_fault_at >= 0 && s->updates == (unsigned)s->memory_fault_at;
    s->updates++;
    if (fault)
        return 0x6581;
    memcpy(rec->data, a->data, a->lc);
    return 0x9000;
}

static uint16_t sim_get_challenge(struct encoder_sim_card *s, const struct encoder_apdu *a,
                                  struct sim_resp *out)
{
    if (a->p1 || a->p2)
        return 0x6A86;
    if (a->lc || !a->has_le || (a->le != 4 && a->le != 8 && a->le != 16))
        return 0x6700;
    uint8_t rnd[16];
    for (size_t i = 0; i < sizeof rnd; i += 8) {
        uint64_t v = next_random(&s->prng);
        for (size_t j = 0; j < 8; j++)
            rnd[i + j] = (uint8_t)(v >> (8 * j));
    }
    /* the process factor is the first 8 bytes (4-byte challenges are padded with zeros) */
    memset(s->challenge, 0, sizeof s->challenge);
    memcpy(s->challenge, rnd, a->le < 8 ? a->le : 8);
    s->challenge_valid = true;
    return sim_data(out, rnd, a->le);
}

static uint16_t sim_external_authenticate(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    if (a->p1 != 0x00)
        return 0x6A86;
    if (s->df != SIM_DF_SSSE ||
        (a->p2 != ENCODER_KID_UKSSSE && a->p2 != ENCODER_KID_PUK && a->p2 != ENCODER_KID_RKSSSE))
        return 0x6A88;
    if (a->lc != 16 && a->lc != 17)
        return 0x6700;
    if (s->key_tries == 0)
        return 0x6983;
    if (!s->challenge_valid)
        return 0x6984;
    s->challenge_valid = false; /* a challenge answers one attempt only, right or wrong */
    uint8_t key[16], want[ENCODER_AUTH_LEN];
    bool ok = encoder_ssse_card_key(s->master, &s->ref, key) == 0 &&
              encoder_ssse_auth(s->alg, key, s->challenge, a->data + 8, want) == 0 &&
              CRYPTO_memcmp(want, a->data, sizeof want) == 0;
    OPENSSL_cleanse(key, sizeof key);
    if (!ok) {
        s->key_tries--;
        return (uint16_t)(0x63C0 | s->key_tries);
    }
    s->key_tries = SIM_KEY_TRIES;
    if (a->p2 == ENCODER_KID_UKSSSE)
        s->auth_uk = true;
    else if (a->p2 == ENCODER_KID_RKSSSE)
        s->auth_rk = true;
    else
        s->auth_puk = true;
    return 0x9000;
}

static uint16_t sim_internal_authenticate(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    if (a->p1 != 0x00 || a->p2 != ENCODER_KID_IRK)
        return 0x6A86;
    if (s->df != SIM_DF_SSSE)
        return 0x6985;
    if (a->lc != 16)
        return 0x6700;
    uint8_t key[16], out[ENCODER_AUTH_LEN];
    int r = encoder_ssse_card_key(s->master, &s->ref, key);
    if (r == 0)
        r = encoder_ssse_auth(s->alg, key, a->data, a->data + 8, out);
    OPENSSL_cleanse(key, sizeof key);
    if (r < 0)
        return 0x6F00;
    return sim_pending(s, out, sizeof out);
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

/* The MAC at the end of a secure-messaging command: over CLA INS P1 P2 Lc ‖ data before the MAC, under the
 * STKSSSE session key of the card's challenge. */
static bool sim_mac_ok(struct encoder_sim_card *s, const uint8_t *apdu, size_t apdu_len)
{
    if (!s->challenge_valid || apdu_len < 9)
        return false;
    s->challenge_valid = false;
    uint8_t key[16], mac[4];
    bool ok = encoder_ssse_card_key(s->master, &s->ref, key) == 0 &&
              encoder_ssse_mac(s->alg, key, s->challenge, apdu, apdu_len - 4, mac) == 0 &&
              CRYPTO_memcmp(mac, apdu + apdu_len - 4, 4) == 0;
    OPENSSL_cleanse(key, sizeof key);
    return ok;
}

static uint16_t sim_pin_unblock(struct encoder_sim_card *s, const struct encoder_apdu *a, const uint8_t *apdu,
                                size_t apdu_len)
{
    if (a->p1 != 0x00 || (a->p2 != 0x00 && a->p2 != 0x01))
        return 0x6A86;
    size_t bs = encoder_alg_block(s->alg);
    if ((a->p2 == 0x00 && a->lc != 4) || (a->p2 == 0x01 && a->lc != bs + 4))
        return 0x6700;
    if (!s->auth_puk)
        return 0x6982;
    uint8_t challenge[ENCODER_CHALLENGE_LEN];
    memcpy(challenge, s->challenge, sizeof challenge); /* sim_mac_ok uses it up */
    if (!sim_mac_ok(s, apdu, apdu_len))
        return 0x6988;
    memcpy(s->challenge, challenge, sizeof challenge);
    if (a->p2 == 0x01) {
        /* LD ‖ PIN in BCD ‖ 80 00.., enciphered under the STKSSSE session key of the challenge */
        uint8_t key[16], sk[16], plain[16];
        bool ok = encoder_ssse_card_key(s->master, &s->ref, key) == 0 &&
                  encoder_ssse_session_key(s->alg, key, s->challenge, sk) == 0 &&
                  encoder_block_decrypt(s->alg, sk, a->data, bs, plain) == 0;
        size_t ld = plain[0];
        ok = ok && ld >= 2 && ld <= SIM_PIN_MAX && 1 + ld < bs && plain[1 + ld] == 0x80;
        if (ok) {
            memcpy(s->pin, plain + 1, ld);
            s->pin_len = ld;
        }
        OPENSSL_cleanse(key, sizeof key);
        OPENSSL_cleanse(sk, sizeof sk);
        OPENSSL_cleanse(plain, sizeof plain);
        if (!ok)
            return 0x6A80;
    }
    s->pin_tries = SIM_PIN_TRIES;
    return 0x9000;
}

static uint16_t sim_application_block(struct encoder_sim_card *s, const struct encoder_apdu *a,
                                      const uint8_t *apdu, size_t apdu_len)
{
    if (a->p1 != 0x00 || a->p2 != 0x01)
        return 0x6A86;
    if (a->lc != 4)
        return 0x6700;
    if (!sim_mac_ok(s, apdu, apdu_len))
        return 0x6988;
    s->blocked = true;
    return 0x9000;
}

/* The social security PSAM ([P9] §9): BF EC, BF DE, 80 FA (keyservice.c describes them). */
static uint16_t psam_command(struct encoder_sim_card *s, const struct encoder_apdu *a)
{
    if (a->cla == 0xBF && a->ins == 0xEC) {
        if (a->lc != 1)
            return 0x6700;
        s->psam_env = true;
        s->psam_sk_valid = false;
        return 0x9000;
    }
    if (a->cla == 0xBF && a->ins == 0xDE) {
        if (!s->psam_env)
            return 0x6985;
        if (a->lc != 24 + 8 && a->lc != 24 + 16)
            return 0x6700;
        uint16_t addr = (uint16_t)(a->p1 << 8 | a->p2);
        if (addr != 0x0170 && addr != 0x0094 && addr != 0x004C && addr != 0x0090 && addr != 0x0173)
            return 0x6A88;
        s->psam_alg = a->lc == 32 ? ENCODER_ALG_3DES : ENCODER_ALG_SM4;
        uint8_t key[16], next[16], in[16];
        memcpy(key, s->master, 16);
        int r = 0;
        for (size_t level = 0; level < 3 && r == 0; level++) {
            for (size_t i = 0; i < 8; i++) {
                in[i] = a->data[8 * level + i];
                in[8 + i] = (uint8_t)~a->data[8 * level + i];
            }
            r = encoder_block_encrypt(s->psam_alg, key, in, 16, next);
            memcpy(key, next, 16);
        }
        size_t bs = encoder_alg_block(s->psam_alg);
        if (r == 0)
            r = encoder_block_encrypt(s->psam_alg, key, a->data + 24, bs, s->psam_sk);
        if (r == 0 && bs == 8)
            memcpy(s->psam_sk + 8, s->psam_sk, 8);
        OPENSSL_cleanse(key, sizeof key);
        OPENSSL_cleanse(next, sizeof next);
        s->psam_sk_valid = r == 0;
        return r == 0 ? 0x9000 : 0x6F00;
    }
    if (a->cla == 0x80 && a->ins == 0xFA) {
        size_t bs = encoder_alg_block(s->psam_alg);
        if (!s->psam_sk_valid)
            return 0x6985;
        if (a->lc == 0 || a->lc % bs != 0 || a->lc > 240)
            return 0x6700;
        uint8_t outb[240];
        if (a->p1 == 0x00) {
            if (encoder_block_encrypt(s->psam_alg, s->psam_sk, a->data, a->lc, outb) < 0)
                return 0x6F00;
            return sim_pending(s, outb, a->lc);
        }
        if (a->p1 == 0x05) {
            uint8_t x[16] = {0}, blk[16];
            for (size_t off = 0; off < a->lc; off += bs) {
                for (size_t i = 0; i < bs; i++)
                    blk[i] = x[i] ^ a->data[off + i];
                if (encoder_block_encrypt(s->psam_alg, s->psam_sk, blk, bs, x) < 0)
                    return 0x6F00;
            }
            return sim_pending(s, x, bs);
        }
        return 0x6A86;
    }
    return 0x6D00;
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

static uint16_t sim_bank_select(struct encoder_sim_card *s, const struct encoder_apdu *a, bool ppse,
                                struct sim_resp *out)
{
    struct sim_bank *b = &s->bank;
    bank_close_session(b);
    if (a->p2 != 0x00)
        return 0x6A86;
    uint8_t body[ENCODER_RESP_MAX];
    size_t n = 0, fl = 0;
    const uint8_t *fci = b->personalised ? bank_dgi(b, 0x9102, &fl) : NULL;
    if (ppse) {
        /* the payment directory lists the application once it is personalised (PBOC 3.0 part 12) */
        if (!fci)
            return 0x6A82;
        uint8_t entry[64];
        size_t en = bank_tlv(0x4F, sim_bank_aid, sizeof sim_bank_aid, entry, sizeof entry);
        const uint8_t *label;
        size_t ll;
        if (encoder_ber_find(fci, fl, 0x50, &label, &ll) == 1 && ll <= 16)
            en += bank_tlv(0x50, label, ll, entry + en, sizeof entry - en);
        en += bank_tlv(0x87, (const uint8_t[]){0x01}, 1, entry + en, sizeof entry - en);
        uint8_t t[96];
        size_t tn = bank_tlv(0x61, entry, en, t, sizeof t);
        tn = bank_tlv(0xBF0C, t, tn, t, sizeof t);
        tn = bank_tlv(0xA5, t, tn, t, sizeof t);
        n = bank_tlv(0x84, sim_ppse, sizeof sim_ppse, body, sizeof body);
        memcpy(body + n, t, tn);
        n += tn;
    } else {
        n = bank_tlv(0x84, sim_bank_aid, sizeof sim_bank_aid, body, sizeof body);
        if (fci) {
            if (n + fl > 250)
                return 0x6F00;
            memcpy(body + n, fci, fl);
            n += fl;
        }
    }
    s->df = SIM_DF_BANK;
    s->ef = 0;
    n = bank_tlv(0x6F, body, n, out->buf, sizeof out->buf - 2);
    out->len = n;
    return 0x9000;
}

static uint16_t bank_initialize_update(struct sim_bank *b, const struct encoder_apdu *a, struct sim_resp *out)
{
    if (b->personalised)
        return 0x6985;
    if ((a->p1 != 0x00 && a->p1 != SIM_BANK_KEY_VERSION) || a->p2 != 0x00)
        return 0x6A88;
    if (a->lc != 8)
        return 0x6700;
    bank_close_session(b);
    uint8_t seq[2] = {(uint8_t)(b->seq >> 8), (uint8_t)b->seq};
    if (encoder_scp02_session_key(b->keys[0], ENCODER_SCP02_S_ENC, seq, b->sk_enc) < 0 ||
        encoder_scp02_session_key(b->keys[1], ENCODER_SCP02_C_MAC, seq, b->sk_mac) < 0 ||
        encoder_scp02_session_key(b->keys[2], ENCODER_SCP02_DEK, seq, b->sk_dek) < 0)
        return 0x6F00;
    uint64_t v = next_random(&b->prng);
    for (size_t i = 0; i < 6; i++)
        b->challenge[i] = (uint8_t)(v >> (8 * i));
    memcpy(b->host, a->data, 8);
    /* KDD 10, key version, SCP 02, sequence counter 2, card challenge 6, card cryptogram 8 */
    uint8_t r[28];
    memcpy(r, b->kdd, 10);
    r[10] = SIM_BANK_KEY_VERSION;
    r[11] = 0x02;
    memcpy(r + 12, seq, 2);
    memcpy(r + 14, b->challenge, 6);
    if (encoder_scp02_card_cryptogram(b->sk_enc, b->host, seq, b->challenge, r + 20) < 0)
        return 0x6F00;
    b->session = b->init_pending = true;
    return sim_data(out, r, sizeof r);
}

static uint16_t bank_external_authenticate(struct sim_bank *b, const struct encoder_apdu *a, bool init)
{
    if (!init || !b->session)
        return 0x6985;
    if (a->lc != 16) {
        bank_close_session(b);
        return 0x6700;
    }
    /* security level 01: C-MAC on every later command (the only level this card offers) */
    if (a->p1 != 0x01 || a->p2 != 0x00) {
        bank_close_session(b);
        return 0x6A86;
    }
    uint8_t m[13] = {0x84, 0x82, a->p1, a->p2, 0x10}, mac[8], want[8];
    static const uint8_t zero[8];
    memcpy(m + 5, a->data, 8);
    uint8_t seq[2] = {(uint8_t)(b->seq >> 8), (uint8_t)b->seq};
    if (encoder_scp02_retail_mac(b->sk_mac, zero, m, sizeof m, mac) < 0 ||
        CRYPTO_memcmp(mac, a->data + 8, 8) != 0) {
        bank_close_session(b);
        return 0x6982;
    }
    if (encoder_scp02_host_cryptogram(b->sk_enc, seq, b->challenge, b->host, want) < 0 ||
        CRYPTO_memcmp(want, a->data, 8) != 0) {
        bank_close_session(b);
        return 0x6300;
    }
    b->authed = true;
    memcpy(b->last_mac, mac, 8);
    b->seq++;
    b->block = 0;
    b->buf_len = 0;
    return 0x9000;
}

/* Keep one DGI (a DGI stored again replaces the earlier one). */
static uint16_t bank_keep(struct sim_bank *b, uint16_t num, const uint8_t *v, size_t len)
{
    size_t i = 0;
    while (i < b->n && b->dgi[i].num != num)
        i++;
    if (i == b->n && b->n == SIM_BANK_DGI_MAX)
        return 0x6A84;
    if (len > SIM_BANK_STORE_MAX - b->used)
        return 0x6A84; /* not enough memory */
    memcpy(b->store + b->used, v, len);
    b->dgi[i] = (struct sim_bank_dgi){.num = num, .off = (uint16_t)b->used, .len = (uint16_t)len};
    b->used += len;
    if (i == b->n)
        b->n++;
    return 0x9000;
}

/* The last block: what a terminal needs must be there, keys and PIN well-formed. */
static uint16_t bank_finish(struct sim_bank *b)
{
    if (b->buf_len)
        return 0x6A80;
    size_t fl = 0, gl = 0, al = 0, kl = 0, cl = 0, pl = 0;
    const uint8_t *fci = bank_dgi(b, 0x9102, &fl), *gpo = bank_dgi(b, 0x9104, &gl), *afl, *label;
    if (!fci || !gpo)
        return 0x6A88;
    if (encoder_ber_find(fci, fl, 0x50, &label, &al) < 0 || encoder_ber_find(gpo, gl, 0x94, &afl, &al) != 1 ||
        al == 0 || al % 4 != 0)
        return 0x6A80;
    for (size_t i = 0; i < al; i += 4)
        for (unsigned rec = afl[i + 1]; rec <= afl[i + 2]; rec++) {
            size_t rl;
            if (!bank_dgi(b, (uint16_t)((afl[i] >> 3) << 8 | rec), &rl))
                return 0x6A88;
        }
    const uint8_t *keys = bank_dgi(b, 0x8000, &kl), *kcvs = bank_dgi(b, 0x9000, &cl);
    if (keys) {
        if (!kcvs || kl % 16 != 0 || cl != 3 * (kl / 16))
            return 0x6A80;
        for (size_t i = 0; i < kl / 16; i++) {
            uint8_t c[3];
            if (encoder_kcv(keys + 16 * i, c) < 0 || memcmp(c, kcvs + 3 * i, 3) != 0)
                return 0x6A80;
        }
    }
    const uint8_t *pin = bank_dgi(b, 0x8010, &pl);
    /* ISO 9564 format 2: 2, the PIN length 4..12 */
    if (pin && (pl != 8 || pin[0] >> 4 != 2 || (pin[0] & 0x0F) < 4 || (pin[0] & 0x0F) > 12))
        return 0x6A80;
    b->personalised = true;
    bank_close_session(b);
    return 0x9000;
}

static uint16_t bank_store_data(struct sim_bank *b, const struct encoder_apdu *a, const uint8_t *data,
                                size_t lc)
{
    if (!b->authed || a->cla != 0x84)
        return 0x6982;
    if (b->personalised)
        return 0x6985;
    /* P1: b8 last block, b7-b6 encryption (00 none, 11 the DEK; 10 reserved), b5-b4 data structure (00 none,
     * 01 DGIs), b3-b1 zero; P2 the block number from 00 */
    if (a->p2 != b->block || (a->p1 & 0x07) || ((a->p1 >> 3) & 0x03) > 1 || ((a->p1 >> 5) & 0x03) == 2)
        return 0x6A86;
    bool enc = ((a->p1 >> 5) & 0x03) == 3;
    if (!b->buf_len)
        b->buf_enc = enc;
    else if (enc != b->buf_enc)
        return 0x6A80; /* a DGI split across blocks of differing encryption */
    if (lc > sizeof b->buf - b->buf_len)
        return 0x6A80;
    b->block++;
    memcpy(b->buf + b->buf_len, data, lc);
    b->buf_len += lc;
    while (b->buf_len >= 3) {
        size_t n = b->buf[2], h = 3;
        if (n == 0xFF) {
            if (b->buf_len < 5)
                break;
            n = (size_t)(b->buf[3] << 8 | b->buf[4]);
            h = 5;
        }
        if (b->buf_len < h + n)
            break;
        uint16_t num = (uint16_t)(b->buf[0] << 8 | b->buf[1]), sw;
        if (b->buf_enc) {
            if (n % 8)
                return 0x6A80;
            uint8_t clear[SIM_BANK_BUF_MAX];
            if (encoder_block_decrypt(ENCODER_ALG_3DES, b->sk_dek, b->buf + h, n, clear) < 0)
                return 0x6F00;
            sw = bank_keep(b, num, clear, n);
            OPENSSL_cleanse(clear, n);
        } else {
            sw = bank_keep(b, num, b->buf + h, n);
        }
        if (sw != 0x9000)
            return sw;
        memmove(b->buf, b->buf + h + n, b->buf_len - h - n);
        b->buf_len -= h + n;
    }
    if (a->p1 & 0x80)
        return bank_finish(b);
    return 0x9000;
}

/* Total length of the data a DOL asks for; -1 when malformed. */
static long bank_dol_length(const uint8_t *dol, size_t len)
{
    long total = 0;
    size_t i = 0;
    while (i < len) {
        if ((dol[i++] & 0x1F) == 0x1F) {
            while (i < len && (dol[i] & 0x80))
                i++;
            i++;
        }
        if (i >= len)
            return -1;
        total += dol[i++];
    }
    return total;
}

static uint16_t bank_gpo(struct sim_bank *b, const struct encoder_apdu *a, struct sim_resp *out)
{
    if (!b->personalised)
        return 0x6985;
    if (a->p1 || a->p2)
        return 0x6A86;
    size_t fl = 0, gl = 0, pl = 0;
    const uint8_t *fci = bank_dgi(b, 0x9102, &fl), *gpo = bank_dgi(b, 0x9104, &gl), *pdol = NULL;
    if (!fci || !gpo)
        return 0x6985;
    if (encoder_ber_find(fci, fl, 0x9F38, &pdol, &pl) != 1)
        pl = 0;
    long want = bank_dol_length(pdol, pl);
    if (want < 0 || a->lc < 2 || a->data[0] != 0x83 || a->data[1] != want || a->lc != 2 + (size_t)want)
        return 0x6700;
    /* format 2: template 77 with AIP (82) and AFL (94) */
    size_t n = bank_tlv(0x77, gpo, gl, out->buf, sizeof out->buf - 2);
    if (n == 0)
        return 0x6F00;
    out->len = n;
    return 0x9000;
}

static uint16_t bank_read_record(struct sim_bank *b, const struct encoder_apdu *a, struct sim_resp *out)
{
    if ((a->p2 & 0x07) != 0x04 || (a->p2 >> 3) < 1 || (a->p2 >> 3) > 30)
        return 0x6A86;
    if (!b->personalised)
        return 0x6985;
    size_t len = 0;
    const uint8_t *v = a->p1 ? bank_dgi(b, (uint16_t)((a->p2 >> 3) << 8 | a->p1), &len) : NULL;
    if (!v)
        return 0x6A83;
    if (len > sizeof out->buf - 2)
        return 0x6F00; /* stored, but more than one answer holds */
    return sim_data(out, v, len);
}

static uint16_t sim_bank_command(struct encoder_sim_card *s, const struct encoder_apdu *in,
                                 const uint8_t *apdu, struct sim_resp *out)
{
    struct sim_bank *b = &s->bank;
    struct encoder_apdu a = *in;
    bool init = b->init_pending;
    b->init_pending = false;
    if (b->authed) {
        /* GP 2.2 Appendix E: after EXTERNAL AUTHENTICATE every command carries a C-MAC over the modified
         * APDU (CLA 84, Lc counting the MAC), chained: the ICV is the previous C-MAC under single DES */
        if (a.cla != 0x84 || a.lc < 8) {
            bank_close_session(b);
            return 0x6982;
        }
        uint8_t m[5 + 255], icv[8], mac[8];
        memcpy(m, apdu, 5);
        memcpy(m + 5, a.data, a.lc - 8);
        bool ok = encoder_scp02_icv(b->sk_mac, b->last_mac, icv) == 0 &&
                  encoder_scp02_retail_mac(b->sk_mac, icv, m, 5 + a.lc - 8, mac) == 0 &&
                  CRYPTO_memcmp(mac, a.data + a.lc - 8, 8) == 0;
        if (!ok) {
            bank_close_session(b);
            return 0x6982;
        }
        memcpy(b->last_mac, mac, 8);
        a.lc -= 8;
    }
    if (a.cla == 0x80 && a.ins == 0x50)
        return bank_initialize_update(b, &a, out);
    if (a.cla == 0x84 && a.ins == 0x82)
        return bank_external_authenticate(b, &a, init);
    if (a.ins == 0xE2 && (a.cla == 0x80 || a.cla == 0x84))
        return bank_store_data(b, &a, a.data, a.lc);
    if (a.cla == 0x80 && a.ins == 0xA8)
        return bank_gpo(b, &a, out);
    if (a.cla == 0x00 && a.ins == 0xB2)
        return bank_read_record(b, &a, out);
    return 0x6D00;
}

static uint16_t sim_dispatch(struct encoder_sim_card *s, const uint8_t *apdu, size_t apdu_len,
                             struct sim_resp *out)
{
    struct encoder_apdu a;
    if (encoder_apdu_parse(apdu, apdu_len, &a) < 0)
        return 0x6700;
    if (a.ins != 0xC0)
        s->pending_len = 0; /* response data survives only until the next command */
    if (s->kind == ENCODER_SIM_CARD_SSC && !s->foreign) {
        /* SELECT by name picks the application the following commands go to */
        if (a.cla == 0x00 && a.ins == 0xA4 && a.p1 == 0x04) {
            if (a.lc == sizeof sim_bank_aid && memcmp(a.data, sim_bank_aid, a.lc) == 0)
                return sim_bank_select(s, &a, false, out);
            if (a.lc == sizeof sim_ppse && memcmp(a.data, sim_ppse, a.lc) == 0)
                return sim_bank_select(s, &a, true, out);
            bank_close_session(&s->bank);
        } else if (s->df == SIM_DF_BANK) {
            return sim_bank_command(s, &a, apdu, out);
        }
    }
    if (s->kind == ENCODER_SIM_CARD_PSAM && a.cla != 0x00)
        return psam_command(s, &a);
    if (s->kind == ENCODER_SIM_CARD_SSC && s->foreign && a.ins != 0xA4)
        return 0x6D00; /* the bank application of a foreign card is not simulated */
    if (s->kind == ENCODER_SIM_CARD_SSC && a.cla == 0x84) {
        if (s->df != SIM_DF_SSSE)
            return 0x6985;
        if (a.ins == 0x24)
            return sim_pin_unblock(s, &a, apdu, apdu_len);
        if (a.ins == 0x1E)
            return sim_application_block(s, &a, apdu, apdu_len);
        return 0x6D00;
    }
    if (a.cla != 0x00)
        return 0x6E00;

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
    case 0x88:
        return sim_internal_authenticate(s, &a);
    case 0x20:
        return sim_verify(s, &a);
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
    OPENSSL_cleanse(&out, sizeof out);
    return 0;
}

/* ---- the in-process station: a new blank for every reset ---- */

struct sim {
    uint8_t master[16];
    unsigned fault_permille;
    unsigned scp02_fault_permille;
    unsigned card_ms;
    uint64_t prng;
    uint64_t bank_prng; /* a stream of its own: the social security faults of a seed stay where they were */
    bool foreign;       /* cards put in from the next reset on lack the SSSE application */
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
    if (!s || !atr || !ret_atr_len || atr_max < ENCODER_ATR_MAX)
        return ENCODER_ERROR_INVALID;

    /* The line puts a new blank in the station for every personalisation. */
    struct encoder_sim_card_config cc = {.kind = ENCODER_SIM_CARD_SSC,
                                         .seed = next_random(&s->prng),
                                         .foreign = s->foreign,
                                         .memory_fault_at = -1};
    memcpy(cc.master, s->master, sizeof cc.master);
    if (next_random(&s->prng) % 1000 < s->fault_permille)
        cc.memory_fault_at = (int)(next_random(&s->prng) % SIM_WRITES_PER_CARD);
    cc.bank_other_keys = next_random(&s->bank_prng) % 1000 < s->scp02_fault_permille;
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

/* The bank application's functions: the card in the station stays (a warm reset); a fresh blank only when the
 * station is empty. */
static int sim_reset_same_card(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len)
{
    struct sim *s = ctx;
    if (!s || !atr || !ret_atr_len || atr_max < ENCODER_ATR_MAX)
        return ENCODER_ERROR_INVALID;
    if (!s->card)
        return sim_reset(ctx, atr, atr_max, ret_atr_len);
    sim_spend(s, 20);
    return encoder_sim_card_power_on(s->card, atr, atr_max, ret_atr_len);
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
    sim_spend(s, apdu_len >= 2 && (apdu[1] == 0xDC || apdu[1] == 0xE2) ? 50 : 10);
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
    .reset_same_card = sim_reset_same_card,
};

int encoder_open_sim(const struct encoder_sim_config *cfg, struct encoder_transport **ret)
{
    if (!cfg || !ret || cfg->fault_permille > 1000 || cfg->scp02_fault_permille > 1000)
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
    s->scp02_fault_permille = cfg->scp02_fault_permille;
    s->card_ms = cfg->card_ms;
    s->prng = cfg->seed;
    s->bank_prng = (uint64_t)cfg->seed ^ 0x5343503032000000ull;
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
