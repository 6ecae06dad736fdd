/* keyservice.c — SM4, the SSSE external-authentication cryptogram, and the key services that compute it
 * (software for demo and tests, the issuer's PSAM in a PC/SC reader) */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "encoder-private.h"

/*
 * Cryptogram scheme (cardline's own; the simulated card checks the same one through encoder_ssse_cryptogram):
 *
 *   card key   = SM4-ECB(master key, card identifier[0..15])
 *   cryptogram = SM4-ECB(card key, challenge[0..7] || 80 00 00 00 00 00 00 00)
 *
 * The card key is diversified by the 16-byte card identifier (EF05 tag 01, pre-issued by the manufacturer),
 * so a key read out of one card opens no other. The 8-byte challenge is padded to one SM4 block with ISO/IEC
 * 9797-1 method 2 (80 then zeros). The 16-byte result goes in EXTERNAL AUTHENTICATE 00 82 00 01 10
 * <cryptogram>. A real issuer PSAM/HSM applies the issuer's scheme behind the same interface; the master key
 * never leaves it.
 *
 * PSAM protocol (cardline's own, spoken by tools/vcard's virtual PSAM; an issuer's PSAM needs its vendor's
 * command set in psam_cryptogram()):
 *
 *   SELECT F0 "CLPSAM01"                                   00 A4 04 00 09 F0 43 4C 50 53 41 4D 30 31
 *   cryptogram for a card identifier and challenge         80 FA 00 00 18 <card id 16> <challenge 8> 10
 *     -> 16 bytes (T=0: 61 10, then GET RESPONSE)
 */

#ifdef OPENSSL_NO_SM4
#error "this OpenSSL was built without SM4; social security cards authenticate with SM4 (GB/T 32907)"
#endif

enum key_service_kind { KS_SOFT, KS_SOFT_FILE, KS_PSAM };

struct encoder_key_service {
    enum key_service_kind kind;
    uint8_t master[16];             /* KS_SOFT only */
    char path[PATH_MAX];            /* KS_SOFT_FILE */
    struct encoder_transport *psam; /* KS_PSAM: the PSAM's reader */
    bool psam_ready;                /* powered and its application selected */
    pthread_mutex_t lock;           /* KS_PSAM: one command sequence at a time */
};

int encoder_sm4_ecb_encrypt(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out)
{
    if (!key || !in || !out || len == 0 || len % 16 != 0 || len > INT_MAX)
        return ENCODER_ERROR_INVALID;

    const EVP_CIPHER *cipher = EVP_sm4_ecb();
    if (!cipher)
        return ENCODER_ERROR_KEY;
    /* A context per call: EVP contexts must not be shared between the line threads. */
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return ENCODER_ERROR_NOMEM;

    int r = ENCODER_ERROR_KEY;
    int n = 0, fin = 0;
    if (EVP_EncryptInit_ex(ctx, cipher, NULL, key, NULL) == 1 && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
        EVP_EncryptUpdate(ctx, out, &n, in, (int)len) == 1 && EVP_EncryptFinal_ex(ctx, out + n, &fin) == 1 &&
        (size_t)n + (size_t)fin == len)
        r = 0;
    EVP_CIPHER_CTX_free(ctx); /* also cleanses the key schedule */
    return r;
}

int encoder_ssse_cryptogram(const uint8_t master[16], const uint8_t card_id[ENCODER_CARD_ID_LEN],
                            const uint8_t challenge[ENCODER_CHALLENGE_LEN],
                            uint8_t ret_cryptogram[ENCODER_CRYPTOGRAM_LEN])
{
    if (!master || !card_id || !challenge || !ret_cryptogram)
        return ENCODER_ERROR_INVALID;

    uint8_t card_key[16];
    uint8_t block[16] = {0};
    uint8_t out[ENCODER_CRYPTOGRAM_LEN];
    memcpy(block, challenge, ENCODER_CHALLENGE_LEN);
    block[ENCODER_CHALLENGE_LEN] = 0x80;

    int r = encoder_sm4_ecb_encrypt(master, card_id, ENCODER_CARD_ID_LEN, card_key);
    if (r == 0)
        r = encoder_sm4_ecb_encrypt(card_key, block, sizeof block, out);
    if (r == 0)
        memcpy(ret_cryptogram, out, sizeof out);
    OPENSSL_cleanse(card_key, sizeof card_key);
    OPENSSL_cleanse(out, sizeof out);
    return r;
}

static struct encoder_key_service *ks_alloc(enum key_service_kind kind)
{
    struct encoder_key_service *ks = calloc(1, sizeof *ks);
    if (!ks)
        return NULL;
    ks->kind = kind;
    if (pthread_mutex_init(&ks->lock, NULL) != 0) {
        free(ks);
        return NULL;
    }
    return ks;
}

int encoder_key_service_soft_new(const uint8_t master[16], struct encoder_key_service **ret)
{
    if (!master || !ret)
        return ENCODER_ERROR_INVALID;
    struct encoder_key_service *ks = ks_alloc(KS_SOFT);
    if (!ks)
        return ENCODER_ERROR_NOMEM;
    memcpy(ks->master, master, sizeof ks->master);
    *ret = ks;
    return 0;
}

int encoder_key_file_read(const char *path, uint8_t ret_key[16])
{
    if (!path || !*path || !ret_key)
        return ENCODER_ERROR_INVALID;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ENCODER_ERROR_KEY;
    struct stat st;
    /* A key others can read is a key that has leaked: refuse it, as ssh does. */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 || st.st_size > 256) {
        close(fd);
        return ENCODER_ERROR_KEY;
    }
    char buf[257];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        OPENSSL_cleanse(buf, sizeof buf);
        return ENCODER_ERROR_KEY;
    }
    int r = encoder_key_text_parse(buf, (size_t)n, ret_key);
    OPENSSL_cleanse(buf, sizeof buf);
    return r;
}

int encoder_key_text_parse(const char *text, size_t len, uint8_t ret_key[16])
{
    if (!text || !ret_key)
        return ENCODER_ERROR_INVALID;
    uint8_t key[16];
    size_t digits = 0;
    int r = 0;
    for (size_t i = 0; i < len && r == 0; i++) {
        int c = (unsigned char)text[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        int v = encoder_hex_value(c);
        if (v < 0 || digits >= 32) {
            r = ENCODER_ERROR_KEY;
            break;
        }
        if (digits % 2 == 0)
            key[digits / 2] = (uint8_t)(v << 4);
        else
            key[digits / 2] |= (uint8_t)v;
        digits++;
    }
    if (r == 0 && digits != 32)
        r = ENCODER_ERROR_KEY;
    if (r == 0)
        memcpy(ret_key, key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    return r;
}

int encoder_key_service_soft_file_new(const char *path, struct encoder_key_service **ret)
{
    if (!path || !ret || strlen(path) >= PATH_MAX)
        return ENCODER_ERROR_INVALID;
    /* Read it once now, so that a bad file is refused when the line starts rather than on the first card. */
    uint8_t key[16];
    int r = encoder_key_file_read(path, key);
    OPENSSL_cleanse(key, sizeof key);
    if (r < 0)
        return r;
    struct encoder_key_service *ks = ks_alloc(KS_SOFT_FILE);
    if (!ks)
        return ENCODER_ERROR_NOMEM;
    snprintf(ks->path, sizeof ks->path, "%s", path);
    *ret = ks;
    return 0;
}

int encoder_key_service_psam_new(const char *reader, struct encoder_key_service **ret)
{
    if (!reader || !*reader || !ret)
        return ENCODER_ERROR_INVALID;
    struct encoder_pcsc_config cfg = {.reader = reader};
    struct encoder_transport *t = NULL;
    int r = encoder_open_pcsc(&cfg, &t);
    if (r < 0)
        return r;
    struct encoder_key_service *ks = ks_alloc(KS_PSAM);
    if (!ks) {
        encoder_transport_close(t);
        return ENCODER_ERROR_NOMEM;
    }
    ks->psam = t;
    *ret = ks;
    return 0;
}

int encoder_key_service_open_spec(const char *spec, struct encoder_key_service **ret)
{
    if (!spec || !ret)
        return ENCODER_ERROR_INVALID;
    if (strncmp(spec, "soft:", 5) == 0)
        return encoder_key_service_soft_file_new(spec + 5, ret);
    if (strncmp(spec, "psam:", 5) == 0)
        return encoder_key_service_psam_new(spec + 5, ret);
    return ENCODER_ERROR_INVALID;
}

void encoder_key_service_free(struct encoder_key_service *ks)
{
    if (!ks)
        return;
    encoder_transport_close(ks->psam);
    pthread_mutex_destroy(&ks->lock);
    OPENSSL_cleanse(ks, sizeof *ks);
    free(ks);
}

/* Power the PSAM up and select its application. */
static int psam_ready(struct encoder_key_service *ks)
{
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len = 0;
    int r = ks->psam->ops->reset(ks->psam->ctx, atr, sizeof atr, &atr_len);
    if (r < 0)
        return r;
    uint8_t apdu[ENCODER_APDU_MAX], resp[ENCODER_RESP_MAX];
    size_t apdu_len, resp_len;
    uint16_t sw;
    r = encoder_apdu_select_aid(encoder_psam_aid, sizeof encoder_psam_aid, apdu, sizeof apdu, &apdu_len);
    if (r == 0)
        r = encoder_transport_transmit(ks->psam, apdu, apdu_len, resp, sizeof resp, &resp_len);
    if (r == 0)
        r = encoder_response_parse(resp, resp_len, NULL, NULL, &sw);
    if (r == 0 && sw != 0x9000)
        r = ENCODER_ERROR_KEY; /* not our PSAM, or its application is blocked */
    ks->psam_ready = r == 0;
    return r;
}

/* 80 FA 00 00 18 <card identifier> <challenge> 10 -> the cryptogram (protocol of cardline's PSAM). */
static int psam_cryptogram(struct encoder_key_service *ks, const uint8_t card_id[ENCODER_CARD_ID_LEN],
                           const uint8_t challenge[ENCODER_CHALLENGE_LEN],
                           uint8_t ret_cryptogram[ENCODER_CRYPTOGRAM_LEN])
{
    uint8_t data[ENCODER_CARD_ID_LEN + ENCODER_CHALLENGE_LEN];
    memcpy(data, card_id, ENCODER_CARD_ID_LEN);
    memcpy(data + ENCODER_CARD_ID_LEN, challenge, ENCODER_CHALLENGE_LEN);
    struct encoder_apdu a = {.cla = ENCODER_PSAM_CLA,
                             .ins = ENCODER_PSAM_INS_CRYPTO,
                             .data = data,
                             .lc = sizeof data,
                             .has_le = true,
                             .le = ENCODER_CRYPTOGRAM_LEN};
    uint8_t apdu[ENCODER_APDU_MAX], resp[ENCODER_RESP_MAX];
    size_t apdu_len, resp_len = 0;
    const uint8_t *d;
    size_t d_len;
    uint16_t sw;

    pthread_mutex_lock(&ks->lock);
    int r = 0;
    /* A PSAM that was reset or pulled answers 6985/6D00/6A82 or a transport error: prepare it once again. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!ks->psam_ready && (r = psam_ready(ks)) < 0)
            break;
        r = encoder_apdu_build(&a, apdu, sizeof apdu, &apdu_len);
        if (r == 0)
            r = encoder_transport_transmit(ks->psam, apdu, apdu_len, resp, sizeof resp, &resp_len);
        if (r == 0)
            r = encoder_response_parse(resp, resp_len, &d, &d_len, &sw);
        if (r == 0 && sw == 0x9000 && d_len == ENCODER_CRYPTOGRAM_LEN) {
            memcpy(ret_cryptogram, d, ENCODER_CRYPTOGRAM_LEN);
            break;
        }
        if (r == 0)
            r = ENCODER_ERROR_KEY;
        ks->psam_ready = false;
    }
    pthread_mutex_unlock(&ks->lock);
    OPENSSL_cleanse(resp, sizeof resp);
    return r < 0 ? ENCODER_ERROR_KEY : 0;
}

int encoder_key_service_cryptogram(struct encoder_key_service *ks, const uint8_t card_id[ENCODER_CARD_ID_LEN],
                                   const uint8_t challenge[ENCODER_CHALLENGE_LEN],
                                   uint8_t ret_cryptogram[ENCODER_CRYPTOGRAM_LEN])
{
    if (!ks || !card_id || !challenge || !ret_cryptogram)
        return ENCODER_ERROR_INVALID;
    switch (ks->kind) {
    case KS_SOFT:
        /* Reads the master only, so one service may serve several line threads at once. */
        return encoder_ssse_cryptogram(ks->master, card_id, challenge, ret_cryptogram);
    case KS_SOFT_FILE: {
        /* The key is in memory only for this one computation. */
        uint8_t master[16];
        int r = encoder_key_file_read(ks->path, master);
        if (r == 0)
            r = encoder_ssse_cryptogram(master, card_id, challenge, ret_cryptogram);
        OPENSSL_cleanse(master, sizeof master);
        return r;
    }
    case KS_PSAM:
        return psam_cryptogram(ks, card_id, challenge, ret_cryptogram);
    }
    return ENCODER_ERROR_INVALID;
}
