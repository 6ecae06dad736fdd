/* scp02.c — GlobalPlatform SCP02 cryptography (session keys, cryptograms, C-MAC) and key check values */
#include <string.h>

#include <openssl/crypto.h>

#include "encoder-private.h"

/*
 * GlobalPlatform Card Specification 2.2 Appendix E (SCP02), implementation option i = 55:
 *   b1 = 1  three Secure Channel keys (ENC, MAC, DEK), not one base key
 *   b3 = 1  explicit initiation (INITIALIZE UPDATE / EXTERNAL AUTHENTICATE)
 *   b5 = 1  ICV encryption for the C-MAC session: the ICV of a command is the previous C-MAC encrypted with
 *           single DES under the left half of the C-MAC session key (the first command's ICV is zero)
 *   b7 = 1  the card computes its challenge with the well-known pseudo-random algorithm
 *   C-MAC on the modified APDU: CLA with bit 3 set (84) and Lc counting the 8 MAC bytes.
 * i = 15 is the same on the wire for a host (b7 only says how the card makes its challenge, which a host in
 * explicit mode does not check): 55 is what GlobalPlatformPro's SCP02Wrapper sets up by default, and its
 * comment gives both the same rules (C-MAC on the modified APDU, ICV zero, ICV encryption, no R-MAC). R-MAC
 * and C-DECRYPTION are not used: STORE DATA protects its sensitive DGIs itself (DEK), as EMV CPS has it.
 *
 *   session key  3DES-CBC (ICV 0) of constant || seq || 00 x 12 under the static key;
 *                constants 0101 C-MAC, 0102 R-MAC, 0182 S-ENC, 0181 DEK
 *   card crypto  full 3DES MAC under S-ENC of host challenge || seq || card challenge
 *   host crypto  full 3DES MAC under S-ENC of seq || card challenge || host challenge
 *   C-MAC        retail MAC under C-MAC of the modified header || data, padding ISO 9797-1 method 2
 *   sensitive    3DES-ECB under the DEK session key
 */

/* 3DES-EDE ECB of n blocks: encoder_block_encrypt with the 3DES flag. */
static int e3(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out)
{
    return encoder_block_encrypt(ENCODER_ALG_3DES, key, in, len, out);
}

/* Single DES: 3DES-EDE with K1 = K2 is single DES under K1 (OpenSSL 3 keeps DES itself in its legacy
 * provider, which the line does not load). */
static int e1(const uint8_t k8[8], const uint8_t in[8], uint8_t out[8])
{
    uint8_t k[16];
    memcpy(k, k8, 8);
    memcpy(k + 8, k8, 8);
    int r = e3(k, in, 8, out);
    OPENSSL_cleanse(k, sizeof k);
    return r;
}

/* 3DES-CBC from icv over data padded with ISO/IEC 9797-1 method 2 (80, then 00 to a whole block); the last
 * cipher block into x. */
static int cbc3(const uint8_t key[16], const uint8_t icv[8], const uint8_t *data, size_t len, uint8_t x[8])
{
    size_t padded = (len / 8 + 1) * 8;
    uint8_t blk[8];
    int r = 0;
    memcpy(x, icv, 8);
    for (size_t off = 0; off < padded && r == 0; off += 8) {
        for (size_t i = 0; i < 8; i++) {
            size_t at = off + i;
            blk[i] = x[i] ^ (at < len ? data[at] : at == len ? 0x80 : 0x00);
        }
        r = e3(key, blk, 8, x);
    }
    return r;
}

int encoder_scp02_session_key(const uint8_t key[16], uint16_t constant, const uint8_t seq[2], uint8_t out[16])
{
    if (!key || !seq || !out)
        return ENCODER_ERROR_INVALID;
    uint8_t d[16] = {(uint8_t)(constant >> 8), (uint8_t)constant, seq[0], seq[1]};
    uint8_t x[8];
    /* CBC without padding over the two blocks */
    int r = e3(key, d, 8, x);
    if (r == 0) {
        memcpy(out, x, 8);
        for (size_t i = 0; i < 8; i++)
            x[i] ^= d[8 + i];
        r = e3(key, x, 8, out + 8);
    }
    OPENSSL_cleanse(x, sizeof x);
    return r;
}

int encoder_scp02_full_mac(const uint8_t key[16], const uint8_t *data, size_t len, uint8_t out[8])
{
    static const uint8_t zero[8];
    if (!key || (len && !data) || !out)
        return ENCODER_ERROR_INVALID;
    return cbc3(key, zero, data, len, out);
}

int encoder_scp02_card_cryptogram(const uint8_t s_enc[16], const uint8_t host_challenge[8],
                                  const uint8_t seq[2], const uint8_t card_challenge[6], uint8_t out[8])
{
    if (!host_challenge || !seq || !card_challenge)
        return ENCODER_ERROR_INVALID;
    uint8_t d[16];
    memcpy(d, host_challenge, 8);
    memcpy(d + 8, seq, 2);
    memcpy(d + 10, card_challenge, 6);
    return encoder_scp02_full_mac(s_enc, d, sizeof d, out);
}

int encoder_scp02_host_cryptogram(const uint8_t s_enc[16], const uint8_t seq[2],
                                  const uint8_t card_challenge[6], const uint8_t host_challenge[8],
                                  uint8_t out[8])
{
    if (!host_challenge || !seq || !card_challenge)
        return ENCODER_ERROR_INVALID;
    uint8_t d[16];
    memcpy(d, seq, 2);
    memcpy(d + 2, card_challenge, 6);
    memcpy(d + 8, host_challenge, 8);
    return encoder_scp02_full_mac(s_enc, d, sizeof d, out);
}

int encoder_scp02_retail_mac(const uint8_t key[16], const uint8_t icv[8], const uint8_t *data, size_t len,
                             uint8_t out[8])
{
    if (!key || !icv || (len && !data) || !out)
        return ENCODER_ERROR_INVALID;
    /* single DES CBC under K1 over every block but the last, then 3DES (E_K1 D_K2 E_K1) of the last */
    size_t padded = (len / 8 + 1) * 8;
    uint8_t x[8], blk[8];
    int r = 0;
    memcpy(x, icv, 8);
    for (size_t off = 0; off < padded && r == 0; off += 8) {
        for (size_t i = 0; i < 8; i++) {
            size_t at = off + i;
            blk[i] = x[i] ^ (at < len ? data[at] : at == len ? 0x80 : 0x00);
        }
        r = off + 8 < padded ? e1(key, blk, x) : e3(key, blk, 8, x);
    }
    if (r == 0)
        memcpy(out, x, 8);
    return r;
}

int encoder_scp02_icv(const uint8_t c_mac_key[16], const uint8_t prev_mac[8], uint8_t out[8])
{
    if (!c_mac_key || !prev_mac || !out)
        return ENCODER_ERROR_INVALID;
    return e1(c_mac_key, prev_mac, out);
}

int encoder_scp02_emv_key(const uint8_t kmc[16], const uint8_t kdd[10], uint8_t type, uint8_t out[16])
{
    /* EMV CPS 1.1 §5.4.2.1 / GP: KDD[4..9] || F0 || type, KDD[4..9] || 0F || type, each 3DES-ECB under KMC */
    if (!kmc || !kdd || !out || type < 1 || type > 3)
        return ENCODER_ERROR_INVALID;
    uint8_t d[16];
    memcpy(d, kdd + 4, 6);
    d[6] = 0xF0;
    d[7] = type;
    memcpy(d + 8, kdd + 4, 6);
    d[14] = 0x0F;
    d[15] = type;
    return e3(kmc, d, sizeof d, out);
}

int encoder_kcv(const uint8_t key[16], uint8_t out[3])
{
    static const uint8_t zero[8];
    uint8_t c[8];
    if (!key || !out)
        return ENCODER_ERROR_INVALID;
    int r = e3(key, zero, 8, c);
    if (r == 0)
        memcpy(out, c, 3);
    return r;
}

int encoder_soft_transport_key(const uint8_t root[16], const char *label, uint8_t out[16])
{
    size_t n = label ? strnlen(label, 16) : 0;
    if (!root || !out || n == 0 || n > 15)
        return ENCODER_ERROR_INVALID;
    for (size_t i = 0; i < n; i++) {
        char c = label[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_'))
            return ENCODER_ERROR_INVALID;
    }
    uint8_t d[16] = {0};
    memcpy(d, label, n);
    d[n] = 0x80;
    return e3(root, d, sizeof d, out);
}
