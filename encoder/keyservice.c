/* keyservice.c — SM4, the SSSE external-authentication cryptogram, and the key services that compute it
 * (software for demo and tests, the issuer's PSAM in a PC/SC reader) */
#include <errno.h>
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
 * The SSC key scheme, as the card specification (社会保障（个人）卡规范 part 4 §8-9, part 9 §7) and the
 * terminal interface (四川省社会保障卡读写终端外部调用接口规范 V2.0 §10, after 人社信息函[2016]38号) describe
 * it:
 *
 *   E_K            3DES-EDE (16-byte key, 8-byte block) or SM4 (16-byte key and block), by the FCI's flag
 *   disperse(K,f)  3DES: E_K(f) || E_K(~f);  SM4: E_K(f || ~f)                      (f: 8-byte factor)
 *   card key       disperse(disperse(disperse(root, f1), f2), f3) with
 *                  f1 = ASCII(region[0..1]) || "0000sh", f2 = ASCII(region) || "sx",
 *                  f3 = ATR historical bytes T6..T13 (manufacturer, region, card serial)
 *   session key    3DES: SK = E_K(R) (8 bytes, single DES);  SM4: SK = E_K(R || 00*8)
 *   authentication 3DES: E_SK(original);  SM4: C = E_SK(original || 00*8), C[0..7] xor C[8..15]
 *   MAC            CBC (IV 0) with the session key of the card's challenge over the command header and data
 *                  padded 80 00..; 3DES: left 4 bytes of the last block; SM4: last block folded 4 x 4 bytes
 *   PIN block      E_SK(LD || PIN in BCD || 80 00..) under STKSSSE, LD = PIN bytes (part 4 §8.3.3)
 *
 * The soft key service computes this itself; a PSAM does it behind BF EC / BF DE / 80 FA (part 9 §9).
 */

#ifdef OPENSSL_NO_SM4
#error "this OpenSSL was built without SM4; third-generation social security cards use SM4 (GB/T 32907)"
#endif

enum key_service_kind { KS_SOFT, KS_SOFT_FILE, KS_PSAM };

struct encoder_key_service {
    enum key_service_kind kind;
    uint8_t master[16];             /* KS_SOFT only */
    char path[PATH_MAX];            /* KS_SOFT_FILE */
    struct encoder_transport *psam; /* KS_PSAM: the PSAM's reader */
    bool psam_ready;                /* powered */
    pthread_mutex_t lock;           /* KS_PSAM: one command sequence at a time */
};

static int session_key(uint8_t alg, const uint8_t key[16], const uint8_t rnd[8], uint8_t sk[16]);

size_t encoder_alg_block(uint8_t alg)
{
    return alg == ENCODER_ALG_3DES ? 8 : alg == ENCODER_ALG_SM4 ? 16 : 0;
}

int encoder_block_encrypt(uint8_t alg, const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out)
{
    size_t bs = encoder_alg_block(alg);
    if (!key || !in || !out || bs == 0 || len == 0 || len % bs != 0 || len > INT_MAX)
        return ENCODER_ERROR_INVALID;
    const EVP_CIPHER *cipher = alg == ENCODER_ALG_SM4 ? EVP_sm4_ecb() : EVP_des_ede_ecb();
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

int encoder_sm4_ecb_encrypt(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out)
{
    return encoder_block_encrypt(ENCODER_ALG_SM4, key, in, len, out);
}

int encoder_dispersal_factors(const struct encoder_card_ref *ref, uint8_t ret_factors[3][8])
{
    if (!ref || !ret_factors || strnlen(ref->region, sizeof ref->region) != 6)
        return ENCODER_ERROR_INVALID;
    for (size_t i = 0; i < 6; i++)
        if (ref->region[i] < '0' || ref->region[i] > '9')
            return ENCODER_ERROR_INVALID;
    memcpy(ret_factors[0], ref->region, 2);
    memcpy(ret_factors[0] + 2, "0000sh", 6);
    memcpy(ret_factors[1], ref->region, 6);
    memcpy(ret_factors[1] + 6, "sx", 2);
    memcpy(ret_factors[2], ref->atr_hist, 8);
    return 0;
}

static int disperse(uint8_t alg, const uint8_t key[16], const uint8_t f[8], uint8_t out[16])
{
    uint8_t in[16];
    for (size_t i = 0; i < 8; i++) {
        in[i] = f[i];
        in[8 + i] = (uint8_t)~f[i];
    }
    int r = encoder_block_encrypt(alg, key, in, sizeof in, out);
    OPENSSL_cleanse(in, sizeof in);
    return r;
}

int encoder_ssse_card_key(const uint8_t root[16], const struct encoder_card_ref *ref, uint8_t ret_key[16])
{
    uint8_t f[3][8], k[16], next[16];
    if (!root || !ret_key || !ref || encoder_alg_block(ref->alg) == 0)
        return ENCODER_ERROR_INVALID;
    int r = encoder_dispersal_factors(ref, f);
    if (r < 0)
        return r;
    memcpy(k, root, sizeof k);
    for (size_t level = 0; level < 3 && r == 0; level++) {
        r = disperse(ref->alg, k, f[level], next);
        memcpy(k, next, sizeof k);
    }
    if (r == 0)
        memcpy(ret_key, k, sizeof k);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(next, sizeof next);
    return r;
}

int encoder_block_decrypt(uint8_t alg, const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out)
{
    size_t bs = encoder_alg_block(alg);
    if (!key || !in || !out || bs == 0 || len == 0 || len % bs != 0 || len > INT_MAX)
        return ENCODER_ERROR_INVALID;
    const EVP_CIPHER *cipher = alg == ENCODER_ALG_SM4 ? EVP_sm4_ecb() : EVP_des_ede_ecb();
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return ENCODER_ERROR_NOMEM;
    int r = ENCODER_ERROR_KEY;
    int n = 0, fin = 0;
    if (cipher && EVP_DecryptInit_ex(ctx, cipher, NULL, key, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_DecryptUpdate(ctx, out, &n, in, (int)len) == 1 &&
        EVP_DecryptFinal_ex(ctx, out + n, &fin) == 1 && (size_t)n + (size_t)fin == len)
        r = 0;
    EVP_CIPHER_CTX_free(ctx);
    return r;
}

int encoder_ssse_session_key(uint8_t alg, const uint8_t key[16], const uint8_t rnd[8], uint8_t sk[16])
{
    return session_key(alg, key, rnd, sk);
}

/* Session key of a random: 8 bytes doubled (single DES as 3DES K||K) or 16. */
static int session_key(uint8_t alg, const uint8_t key[16], const uint8_t rnd[8], uint8_t sk[16])
{
    uint8_t in[16] = {0};
    memcpy(in, rnd, 8);
    int r = encoder_block_encrypt(alg, key, in, encoder_alg_block(alg), sk);
    if (r == 0 && alg == ENCODER_ALG_3DES)
        memcpy(sk + 8, sk, 8);
    return r;
}

int encoder_ssse_auth(uint8_t alg, const uint8_t card_key[16], const uint8_t process[8],
                      const uint8_t original[8], uint8_t ret_auth[8])
{
    if (!card_key || !process || !original || !ret_auth || encoder_alg_block(alg) == 0)
        return ENCODER_ERROR_INVALID;
    uint8_t sk[16], in[16] = {0}, c[16];
    memcpy(in, original, 8);
    int r = session_key(alg, card_key, process, sk);
    if (r == 0)
        r = encoder_block_encrypt(alg, sk, in, encoder_alg_block(alg), c);
    if (r == 0) {
        for (size_t i = 0; i < 8; i++)
            ret_auth[i] = alg == ENCODER_ALG_SM4 ? (uint8_t)(c[i] ^ c[8 + i]) : c[i];
    }
    OPENSSL_cleanse(sk, sizeof sk);
    OPENSSL_cleanse(c, sizeof c);
    return r;
}

/* CBC with IV 0 over data padded 80 00.. (ISO/IEC 9797-1 method 2), last block into ret_last. */
static int cbc_mac_block(uint8_t alg, const uint8_t sk[16], const uint8_t *data, size_t len,
                         uint8_t ret_last[16])
{
    size_t bs = encoder_alg_block(alg);
    uint8_t x[16] = {0}, blk[16];
    size_t padded = (len / bs + 1) * bs;
    int r = 0;
    for (size_t off = 0; off < padded && r == 0; off += bs) {
        for (size_t i = 0; i < bs; i++) {
            size_t at = off + i;
            uint8_t b = at < len ? data[at] : at == len ? 0x80 : 0x00;
            blk[i] = x[i] ^ b;
        }
        r = encoder_block_encrypt(alg, sk, blk, bs, x);
    }
    if (r == 0)
        memcpy(ret_last, x, bs);
    return r;
}

static void mac_fold(uint8_t alg, const uint8_t last[16], uint8_t ret_mac[4])
{
    for (size_t i = 0; i < 4; i++)
        ret_mac[i] =
            alg == ENCODER_ALG_SM4 ? (uint8_t)(last[i] ^ last[4 + i] ^ last[8 + i] ^ last[12 + i]) : last[i];
}

int encoder_ssse_mac(uint8_t alg, const uint8_t card_key[16], const uint8_t challenge[8], const uint8_t *data,
                     size_t len, uint8_t ret_mac[4])
{
    if (!card_key || !challenge || (len && !data) || len > 512 || !ret_mac || encoder_alg_block(alg) == 0)
        return ENCODER_ERROR_INVALID;
    uint8_t sk[16], last[16];
    int r = session_key(alg, card_key, challenge, sk);
    if (r == 0)
        r = cbc_mac_block(alg, sk, data, len, last);
    if (r == 0)
        mac_fold(alg, last, ret_mac);
    OPENSSL_cleanse(sk, sizeof sk);
    return r;
}

/* LD || PIN in BCD || 80 00.. to one block. Returns the block length or ENCODER_ERROR_INVALID. */
static int pin_plain(uint8_t alg, const char *pin, uint8_t ret_block[16])
{
    size_t n = pin ? strnlen(pin, 13) : 0;
    size_t bs = encoder_alg_block(alg);
    if (n < 4 || n > 12 || bs == 0)
        return ENCODER_ERROR_INVALID;
    size_t bytes = (n + 1) / 2;
    if (1 + bytes + 1 > bs)
        return ENCODER_ERROR_INVALID; /* a 12-digit PIN does not fit one 3DES block */
    memset(ret_block, 0, 16);
    ret_block[0] = (uint8_t)bytes;
    if (encoder_cn_encode(pin, ret_block + 1, bytes) < 0)
        return ENCODER_ERROR_INVALID;
    ret_block[1 + bytes] = 0x80;
    return (int)bs;
}

int encoder_ssse_pin_block(uint8_t alg, const uint8_t card_key[16], const uint8_t challenge[8],
                           const char *pin, uint8_t ret_block[16], size_t *ret_len)
{
    if (!card_key || !challenge || !ret_block || !ret_len)
        return ENCODER_ERROR_INVALID;
    uint8_t plain[16], sk[16];
    int bs = pin_plain(alg, pin, plain);
    if (bs < 0)
        return bs;
    int r = session_key(alg, card_key, challenge, sk);
    if (r == 0)
        r = encoder_block_encrypt(alg, sk, plain, (size_t)bs, ret_block);
    if (r == 0)
        *ret_len = (size_t)bs;
    OPENSSL_cleanse(plain, sizeof plain);
    OPENSSL_cleanse(sk, sizeof sk);
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

int encoder_key_service_explain(const char *spec, char *why, size_t why_size)
{
    uint8_t key[16];
    struct stat st;
    const char *path;
    int r;

    if (!spec || !why || why_size == 0)
        return ENCODER_ERROR_INVALID;
    why[0] = '\0';
    if (strncmp(spec, "psam:", 5) == 0) {
        if (!spec[5]) {
            snprintf(why, why_size, "psam: needs the PSAM reader's name (cardline chip readers lists them)");
            return ENCODER_ERROR_INVALID;
        }
        return 0;
    }
    if (strncmp(spec, "soft:", 5) != 0) {
        snprintf(why, why_size, "key service '%.64s' is neither soft:<key file> nor psam:<reader>", spec);
        return ENCODER_ERROR_INVALID;
    }
    path = spec + 5;
    if (lstat(path, &st) < 0) {
        snprintf(why, why_size, "key file %.256s: %s", path, strerror(errno));
        return ENCODER_ERROR_KEY;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "key file %.256s is not a regular file%s", path,
                 S_ISLNK(st.st_mode) ? " (a symbolic link is refused)" : "");
        return ENCODER_ERROR_KEY;
    }
    if ((st.st_mode & 077) != 0) {
        snprintf(why, why_size, "key file %.256s is readable by group or others (mode %04o): chmod 600 it",
                 path, (unsigned)(st.st_mode & 07777));
        return ENCODER_ERROR_KEY;
    }
    r = encoder_key_file_read(path, key);
    OPENSSL_cleanse(key, sizeof key);
    if (r < 0) {
        if (access(path, R_OK) < 0)
            snprintf(why, why_size, "key file %.256s: %s", path, strerror(errno));
        else
            snprintf(why, why_size, "key file %.256s does not hold a key: 32 hexadecimal digits expected",
                     path);
        return r;
    }
    return 0;
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

/*
 * The social security PSAM (社会保障（个人）卡规范 part 9 §9), the commands a terminal uses with it:
 *   BF EC 00 00 01 <card identifier byte 0>                    INITIALIZE ENVIRONMENT
 *   BF DE <key address hi> <key address lo> <Lc = 24 + M>       DELIVERY SESSION KEY: the PSAM disperses the
 *         <f1 f2 f3> <process input, M = 8 (3DES) or 16 (SM4)>  named root three times, then makes SK
 *   80 FA 00 00 <Lc> <blocks>                                  CIPHER DATA, encrypt (ECB, last block)
 *   80 FA 05 00 <Lc> <padded data>                             CIPHER DATA, MAC of a single chain (CBC, IV 0)
 * Key addresses are the logical addresses of the terminal interface (附录B of the Sichuan interface spec):
 * IRK 0170, UKSSSE 0094, RKSSSE 004C, PUK 0090, STKSSSE 0173. The PSAM returns whole cipher blocks; the
 * terminal folds them (SM4 authentication: 16 -> 8 bytes; MAC: -> 4 bytes) as the card does.
 */
static uint16_t psam_key_address(enum encoder_key_role role)
{
    switch (role) {
    case ENCODER_KEY_IRK:
        return 0x0170;
    case ENCODER_KEY_UKSSSE:
        return 0x0094;
    case ENCODER_KEY_RKSSSE:
        return 0x004C;
    case ENCODER_KEY_PUK:
        return 0x0090;
    case ENCODER_KEY_STKSSSE:
        return 0x0173;
    }
    return 0;
}

/* One PSAM command; *ret_len gets the data length. Returns 0 (9000), ENCODER_ERROR_KEY or a transport error.
 */
static int psam_command(struct encoder_key_service *ks, const struct encoder_apdu *a, uint8_t *out,
                        size_t out_max, size_t *ret_len)
{
    uint8_t apdu[ENCODER_APDU_MAX], resp[ENCODER_RESP_MAX];
    size_t apdu_len, resp_len = 0;
    const uint8_t *d;
    size_t d_len;
    uint16_t sw;
    int r = encoder_apdu_build(a, apdu, sizeof apdu, &apdu_len);
    if (r == 0)
        r = encoder_transport_transmit(ks->psam, apdu, apdu_len, resp, sizeof resp, &resp_len);
    if (r == 0)
        r = encoder_response_parse(resp, resp_len, &d, &d_len, &sw);
    if (r == 0 && (sw != 0x9000 || d_len > out_max))
        r = ENCODER_ERROR_KEY;
    if (r == 0) {
        if (d_len)
            memcpy(out, d, d_len);
        *ret_len = d_len;
    }
    OPENSSL_cleanse(resp, sizeof resp);
    OPENSSL_cleanse(apdu, sizeof apdu);
    return r;
}

/* BF EC + BF DE: the PSAM holds the session key of role for this card and random. */
static int psam_session(struct encoder_key_service *ks, const struct encoder_card_ref *ref,
                        enum encoder_key_role role, const uint8_t rnd[8])
{
    uint8_t f[3][8], data[24 + 16] = {0}, unused[4];
    size_t n, m = encoder_alg_block(ref->alg);
    int r = encoder_dispersal_factors(ref, f);
    if (r < 0 || m == 0)
        return ENCODER_ERROR_INVALID;
    if (!ks->psam_ready) {
        uint8_t atr[ENCODER_ATR_MAX];
        size_t atr_len = 0;
        if ((r = ks->psam->ops->reset(ks->psam->ctx, atr, sizeof atr, &atr_len)) < 0)
            return r;
        ks->psam_ready = true;
    }
    struct encoder_apdu init = {.cla = 0xBF, .ins = 0xEC, .data = ref->card_id, .lc = 1};
    if ((r = psam_command(ks, &init, unused, 0, &n)) < 0)
        return r;
    uint16_t addr = psam_key_address(role);
    memcpy(data, f, sizeof f);
    memcpy(data + 24, rnd, 8);
    struct encoder_apdu deliver = {.cla = 0xBF,
                                   .ins = 0xDE,
                                   .p1 = (uint8_t)(addr >> 8),
                                   .p2 = (uint8_t)(addr & 0xFF),
                                   .data = data,
                                   .lc = 24 + m};
    return psam_command(ks, &deliver, unused, 0, &n);
}

/* 80 FA <p1> 00 <in> -> one or more cipher blocks into out (at most 16 bytes kept). */
static int psam_cipher(struct encoder_key_service *ks, uint8_t p1, const uint8_t *in, size_t len,
                       uint8_t *out, size_t want)
{
    uint8_t buf[256];
    size_t n = 0;
    struct encoder_apdu a = {
        .cla = 0x80, .ins = 0xFA, .p1 = p1, .data = in, .lc = len, .has_le = true, .le = want};
    int r = psam_command(ks, &a, buf, sizeof buf, &n);
    if (r == 0 && n != want)
        r = ENCODER_ERROR_KEY;
    if (r == 0)
        memcpy(out, buf, want);
    OPENSSL_cleanse(buf, sizeof buf);
    return r;
}

/* A PSAM sequence, retried once with a fresh reset when the PSAM was pulled or reset meanwhile. */
enum psam_op { PSAM_AUTH, PSAM_MAC, PSAM_PIN };

static int psam_run(struct encoder_key_service *ks, const struct encoder_card_ref *ref,
                    enum encoder_key_role role, enum psam_op op, const uint8_t rnd[8], const uint8_t *in,
                    size_t in_len, uint8_t out[16])
{
    size_t bs = encoder_alg_block(ref->alg);
    uint8_t block[16] = {0};
    int r = 0;
    pthread_mutex_lock(&ks->lock);
    for (int attempt = 0; attempt < 2; attempt++) {
        r = psam_session(ks, ref, role, rnd);
        if (r == 0 && op == PSAM_MAC) {
            /* the PSAM pads 80 00.. itself only in the vendor variants; pad here, as part 9 shows */
            uint8_t padded[512 + 16] = {0};
            size_t plen = (in_len / bs + 1) * bs;
            memcpy(padded, in, in_len);
            padded[in_len] = 0x80;
            r = psam_cipher(ks, 0x05, padded, plen, out, bs);
        } else if (r == 0) {
            memcpy(block, in, in_len); /* original || 00.. or the PIN block, one cipher block */
            r = psam_cipher(ks, 0x00, block, bs, out, bs);
        }
        if (r == 0 || r == ENCODER_ERROR_INVALID)
            break;
        ks->psam_ready = false;
    }
    pthread_mutex_unlock(&ks->lock);
    OPENSSL_cleanse(block, sizeof block);
    return r < 0 && r != ENCODER_ERROR_INVALID ? ENCODER_ERROR_KEY : r;
}

/* The root of a software service, from memory or (only for this computation) from its file. */
static int soft_root(struct encoder_key_service *ks, uint8_t ret_root[16])
{
    if (ks->kind == KS_SOFT) {
        memcpy(ret_root, ks->master, 16);
        return 0;
    }
    return encoder_key_file_read(ks->path, ret_root);
}

/* The card's own key (the root dispersed for this card) from a soft key service; the root is wiped at once.
 */
static int soft_card_key(struct encoder_key_service *ks, const struct encoder_card_ref *ref,
                         uint8_t ret_key[16])
{
    uint8_t root[16];
    int r = soft_root(ks, root);
    if (r == 0)
        r = encoder_ssse_card_key(root, ref, ret_key);
    OPENSSL_cleanse(root, sizeof root);
    return r;
}

static int check_ref(const struct encoder_card_ref *ref)
{
    uint8_t f[3][8];
    if (!ref || encoder_alg_block(ref->alg) == 0)
        return ENCODER_ERROR_INVALID;
    return encoder_dispersal_factors(ref, f);
}

int encoder_key_service_auth(struct encoder_key_service *ks, const struct encoder_card_ref *ref,
                             enum encoder_key_role role, const uint8_t process[8], const uint8_t original[8],
                             uint8_t ret_auth[8])
{
    if (!ks || !process || !original || !ret_auth || check_ref(ref) < 0)
        return ENCODER_ERROR_INVALID;
    if (ks->kind == KS_PSAM) {
        uint8_t c[16];
        int r = psam_run(ks, ref, role, PSAM_AUTH, process, original, 8, c);
        if (r == 0)
            for (size_t i = 0; i < 8; i++)
                ret_auth[i] = ref->alg == ENCODER_ALG_SM4 ? (uint8_t)(c[i] ^ c[8 + i]) : c[i];
        OPENSSL_cleanse(c, sizeof c);
        return r;
    }
    /* Reads the root only, so one service may serve several line threads at once. */
    uint8_t key[16];
    int r = soft_card_key(ks, ref, key);
    if (r == 0)
        r = encoder_ssse_auth(ref->alg, key, process, original, ret_auth);
    OPENSSL_cleanse(key, sizeof key);
    return r;
}

int encoder_key_service_mac(struct encoder_key_service *ks, const struct encoder_card_ref *ref,
                            enum encoder_key_role role, const uint8_t challenge[8], const uint8_t *data,
                            size_t len, uint8_t ret_mac[4])
{
    if (!ks || !challenge || (len && !data) || len > 512 || !ret_mac || check_ref(ref) < 0)
        return ENCODER_ERROR_INVALID;
    if (ks->kind == KS_PSAM) {
        uint8_t last[16];
        int r = psam_run(ks, ref, role, PSAM_MAC, challenge, data, len, last);
        if (r == 0)
            mac_fold(ref->alg, last, ret_mac);
        OPENSSL_cleanse(last, sizeof last);
        return r;
    }
    uint8_t key[16];
    int r = soft_card_key(ks, ref, key);
    if (r == 0)
        r = encoder_ssse_mac(ref->alg, key, challenge, data, len, ret_mac);
    OPENSSL_cleanse(key, sizeof key);
    return r;
}

int encoder_key_service_pin_block(struct encoder_key_service *ks, const struct encoder_card_ref *ref,
                                  const uint8_t challenge[8], const char *pin, uint8_t ret_block[16],
                                  size_t *ret_len)
{
    if (!ks || !challenge || !ret_block || !ret_len || check_ref(ref) < 0)
        return ENCODER_ERROR_INVALID;
    if (ks->kind == KS_PSAM) {
        uint8_t plain[16], out[16];
        int bs = pin_plain(ref->alg, pin, plain);
        int r =
            bs < 0 ? bs : psam_run(ks, ref, ENCODER_KEY_STKSSSE, PSAM_PIN, challenge, plain, (size_t)bs, out);
        if (r == 0) {
            memcpy(ret_block, out, (size_t)bs);
            *ret_len = (size_t)bs;
        }
        OPENSSL_cleanse(plain, sizeof plain);
        OPENSSL_cleanse(out, sizeof out);
        return r;
    }
    uint8_t key[16];
    int r = soft_card_key(ks, ref, key);
    if (r == 0)
        r = encoder_ssse_pin_block(ref->alg, key, challenge, pin, ret_block, ret_len);
    OPENSSL_cleanse(key, sizeof key);
    return r;
}

/*
 * The bank application's key operations (GlobalPlatform SCP02, scp02.c). The soft service stands for the
 * bank's HSM in tests and the demo: its root is the issuer master key (KMC) the card's static SCP02 keys are
 * diversified from (EMV CPS, over the key diversification data the card answers INITIALIZE UPDATE with) and
 * the root of the transport keys (encoder_soft_transport_key). A social security PSAM holds neither: the
 * bank's keys are in the bank's HSM, so a psam: service refuses these operations.
 */

/* The session key of one SCP02 role for this card and sequence counter, inside the soft service. */
static int scp02_session(struct encoder_key_service *ks, const struct encoder_scp02_ref *ref, uint8_t type,
                         uint16_t constant, uint8_t ret_key[16])
{
    if (ks->kind == KS_PSAM)
        return ENCODER_ERROR_KEY;
    uint8_t root[16], card_key[16];
    int r = soft_root(ks, root);
    if (r == 0)
        r = encoder_scp02_emv_key(root, ref->kdd, type, card_key);
    if (r == 0)
        r = encoder_scp02_session_key(card_key, constant, ref->seq, ret_key);
    OPENSSL_cleanse(root, sizeof root);
    OPENSSL_cleanse(card_key, sizeof card_key);
    return r < 0 && r != ENCODER_ERROR_INVALID ? ENCODER_ERROR_KEY : r;
}

int encoder_key_service_scp02_auth(struct encoder_key_service *ks, const struct encoder_scp02_ref *ref,
                                   const uint8_t host_challenge[8], const uint8_t card_challenge[6],
                                   const uint8_t card_cryptogram[8], uint8_t ret_host_cryptogram[8])
{
    if (!ks || !ref || !host_challenge || !card_challenge || !card_cryptogram || !ret_host_cryptogram)
        return ENCODER_ERROR_INVALID;
    uint8_t s_enc[16], expect[8];
    int r = scp02_session(ks, ref, 1, ENCODER_SCP02_S_ENC, s_enc);
    if (r == 0)
        r = encoder_scp02_card_cryptogram(s_enc, host_challenge, ref->seq, card_challenge, expect);
    /* the card proves its keys first: a card that cannot gets no host cryptogram */
    if (r == 0 && CRYPTO_memcmp(expect, card_cryptogram, 8) != 0)
        r = ENCODER_ERROR_CRYPTOGRAM;
    if (r == 0)
        r = encoder_scp02_host_cryptogram(s_enc, ref->seq, card_challenge, host_challenge,
                                          ret_host_cryptogram);
    OPENSSL_cleanse(s_enc, sizeof s_enc);
    return r;
}

int encoder_key_service_scp02_cmac(struct encoder_key_service *ks, const struct encoder_scp02_ref *ref,
                                   const uint8_t *prev_mac, const uint8_t *data, size_t len,
                                   uint8_t ret_mac[8])
{
    if (!ks || !ref || (len && !data) || len > 512 || !ret_mac)
        return ENCODER_ERROR_INVALID;
    uint8_t c_mac[16], icv[8] = {0};
    int r = scp02_session(ks, ref, 2, ENCODER_SCP02_C_MAC, c_mac);
    if (r == 0 && prev_mac)
        r = encoder_scp02_icv(c_mac, prev_mac, icv);
    if (r == 0)
        r = encoder_scp02_retail_mac(c_mac, icv, data, len, ret_mac);
    OPENSSL_cleanse(c_mac, sizeof c_mac);
    return r;
}

#define REWRAP_MAX 1024

int encoder_key_service_scp02_rewrap(struct encoder_key_service *ks, const struct encoder_scp02_ref *ref,
                                     const char *transport_key, const uint8_t kcv[3], const uint8_t *key_kcvs,
                                     size_t n_kcv, const uint8_t *in, size_t len, uint8_t *out, char *cause,
                                     size_t cause_size)
{
    if (!cause)
        cause_size = 0;
    if (cause_size)
        cause[0] = '\0';
    if (!ks || !ref || !transport_key || !kcv || !in || !out || len == 0 || len % 8 != 0 ||
        len > REWRAP_MAX || (n_kcv && !key_kcvs))
        return ENCODER_ERROR_INVALID;
    if (ks->kind == KS_PSAM) {
        if (cause_size)
            snprintf(cause, cause_size,
                     "the social security PSAM holds no bank keys: use the bank's key service");
        return ENCODER_ERROR_KEY;
    }
    uint8_t root[16], tk[16], dek[16], check[3], clear[REWRAP_MAX];
    int r = soft_root(ks, root);
    if (r == 0 && encoder_soft_transport_key(root, transport_key, tk) < 0) {
        r = ENCODER_ERROR_KEY;
        if (cause_size)
            snprintf(cause, cause_size, "no transport key '%.32s' in the key service", transport_key);
    }
    if (r == 0 && (encoder_kcv(tk, check) < 0 || CRYPTO_memcmp(check, kcv, 3) != 0)) {
        r = ENCODER_ERROR_KEY;
        if (cause_size)
            snprintf(cause, cause_size,
                     "transport key '%.32s': check value differs from the bank's (the bank used another key)",
                     transport_key);
    }
    if (r == 0)
        r = encoder_block_decrypt(ENCODER_ALG_3DES, tk, in, len, clear);
    if (r == 0 && n_kcv) {
        /* the keys inside (DGI 8000) must be the ones the bank's check values (DGI 9000) name */
        if (len != 16 * n_kcv) {
            r = ENCODER_ERROR_KEY;
            if (cause_size)
                snprintf(cause, cause_size, "%zu key check values for %zu bytes of keys", n_kcv, len);
        }
        for (size_t i = 0; r == 0 && i < n_kcv; i++) {
            if (encoder_kcv(clear + 16 * i, check) < 0 || CRYPTO_memcmp(check, key_kcvs + 3 * i, 3) != 0) {
                r = ENCODER_ERROR_KEY;
                if (cause_size)
                    snprintf(cause, cause_size,
                             "key %zu decrypted under transport key '%.32s' does not match its check value",
                             i + 1, transport_key);
            }
        }
    }
    if (r == 0)
        r = scp02_session(ks, ref, 3, ENCODER_SCP02_DEK, dek);
    if (r == 0)
        r = encoder_block_encrypt(ENCODER_ALG_3DES, dek, clear, len, out);
    OPENSSL_cleanse(root, sizeof root);
    OPENSSL_cleanse(tk, sizeof tk);
    OPENSSL_cleanse(dek, sizeof dek);
    OPENSSL_cleanse(clear, sizeof clear);
    return r;
}
