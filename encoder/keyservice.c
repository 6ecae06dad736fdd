/* keyservice.c — SM4, and the software key service computing the SSSE external-authentication cryptogram */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

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
 */

#ifdef OPENSSL_NO_SM4
#error "this OpenSSL was built without SM4; social security cards authenticate with SM4 (GB/T 32907)"
#endif

struct encoder_key_service {
    uint8_t master[16];
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

int encoder_key_service_soft_new(const uint8_t master[16], struct encoder_key_service **ret)
{
    if (!master || !ret)
        return ENCODER_ERROR_INVALID;
    struct encoder_key_service *ks = calloc(1, sizeof *ks);
    if (!ks)
        return ENCODER_ERROR_NOMEM;
    memcpy(ks->master, master, sizeof ks->master);
    *ret = ks;
    return 0;
}

void encoder_key_service_free(struct encoder_key_service *ks)
{
    if (!ks)
        return;
    OPENSSL_cleanse(ks->master, sizeof ks->master);
    free(ks);
}

int encoder_key_service_cryptogram(struct encoder_key_service *ks, const uint8_t card_id[ENCODER_CARD_ID_LEN],
                                   const uint8_t challenge[ENCODER_CHALLENGE_LEN],
                                   uint8_t ret_cryptogram[ENCODER_CRYPTOGRAM_LEN])
{
    if (!ks)
        return ENCODER_ERROR_INVALID;
    /* Reads the master only, so one service may serve several line threads at once. */
    return encoder_ssse_cryptogram(ks->master, card_id, challenge, ret_cryptogram);
}
