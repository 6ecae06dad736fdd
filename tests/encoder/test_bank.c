/* test_bank.c — unit tests of the bank application: SCP02 against published known-answer vectors, the key
 * service's SCP02 operations, the bank's data file parser, BER-TLV, DOL, AFL and Luhn */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bank_testdata.h"
#include "encoder-private.h"

static void hex(const char *s, uint8_t *out, size_t n)
{
    assert_int_equal(encoder_hex_parse(s, strlen(s), out, n), (int)n);
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char h[128];
    encoder_hex(got, n, h, sizeof h);
    assert_string_equal(h, want);
}

/* Session key derivation. Vector: miketlk/omfgp, tests/omfgp/scp02_test.py, test_derive_key (base key
 * 404142..4F, sequence counter 0007). */
static void test_kat_session_keys(void **state)
{
    (void)state;
    uint8_t base[16], seq[2] = {0x00, 0x07}, k[16];
    hex("404142434445464748494A4B4C4D4E4F", base, 16);
    assert_int_equal(encoder_scp02_session_key(base, ENCODER_SCP02_C_MAC, seq, k), 0);
    assert_hex(k, 16, "7A227D376A9DBE23AB50B7DCB45B2093");
    assert_int_equal(encoder_scp02_session_key(base, ENCODER_SCP02_R_MAC, seq, k), 0);
    assert_hex(k, 16, "EF14C57DB4BB9015E88963D9D920A588");
    assert_int_equal(encoder_scp02_session_key(base, ENCODER_SCP02_S_ENC, seq, k), 0);
    assert_hex(k, 16, "A2268F71917EFE0F33CC6166E1154E27");
}

/*
 * A whole SCP02 session. Vectors: osmocom/pysim, tests/unittests/test_globalplatform.py: SCP02_Auth_Test
 * (keys KIC 100102..0F (ENC), KID 101102..0F (MAC), KIK 102102..0F (DEK), host challenge 40A62C37FA6304F8,
 * INITIALIZE UPDATE response ...7002 0001 6B4524ABEE7C F32EA3838BC148F3, EXTERNAL AUTHENTICATE
 * 8482010010 BA6961667737C5BC EBECE14C7D6A4376), SCP02_Test.test_mac_command (cases 1-4 wrapped one after the
 * other, C-MACs chained through the encrypted ICV) and PutKey_PSK_Test (303132..3F under the session DEK =
 * 15ABF1FE16CCC5AA13743394442942CD).
 */
static void test_kat_session(void **state)
{
    (void)state;
    uint8_t enc[16], mac[16], dek[16], host[8], resp[28];
    hex("100102030405060708090A0B0C0D0E0F", enc, 16);
    hex("101102030405060708090A0B0C0D0E0F", mac, 16);
    hex("102102030405060708090A0B0C0D0E0F", dek, 16);
    hex("40A62C37FA6304F8", host, 8);
    hex("00000000000000000000700200016B4524ABEE7CF32EA3838BC148F3", resp, 28);
    const uint8_t *seq = resp + 12, *card_ch = resp + 14, *card_crypto = resp + 20;
    uint8_t s_enc[16], s_mac[16], s_dek[16], c[8], m[8], icv[8];
    assert_int_equal(encoder_scp02_session_key(enc, ENCODER_SCP02_S_ENC, seq, s_enc), 0);
    assert_int_equal(encoder_scp02_session_key(mac, ENCODER_SCP02_C_MAC, seq, s_mac), 0);
    assert_int_equal(encoder_scp02_session_key(dek, ENCODER_SCP02_DEK, seq, s_dek), 0);
    assert_int_equal(encoder_scp02_card_cryptogram(s_enc, host, seq, card_ch, c), 0);
    assert_memory_equal(c, card_crypto, 8);
    assert_int_equal(encoder_scp02_host_cryptogram(s_enc, seq, card_ch, host, c), 0);
    assert_hex(c, 8, "BA6961667737C5BC");
    uint8_t ea[13], zero[8] = {0};
    hex("8482010010BA6961667737C5BC", ea, 13);
    assert_int_equal(encoder_scp02_retail_mac(s_mac, zero, ea, sizeof ea, m), 0);
    assert_hex(m, 8, "EBECE14C7D6A4376");
    /* the four cases, each MAC over the modified APDU without Le, chained */
    static const struct {
        const char *modified, *mac;
    } chain[] = {
        {"84F2200208", "14DB34FA4341DCA8"},
        {"84CA006608", "55ED7C5FF069512B"},
        {"84F22002124F0212345C054F9F70C5", "8FC1B380C4228AF8"},
        {"84F280020A4F00", "3B95F09317DE6A4E"},
    };
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
        uint8_t cmd[32];
        size_t n = strlen(chain[i].modified) / 2;
        hex(chain[i].modified, cmd, n);
        assert_int_equal(encoder_scp02_icv(s_mac, m, icv), 0);
        assert_int_equal(encoder_scp02_retail_mac(s_mac, icv, cmd, n, m), 0);
        assert_hex(m, 8, chain[i].mac);
    }
    uint8_t psk[16], out[16];
    hex("303132333435363738393A3B3C3D3E3F", psk, 16);
    assert_int_equal(encoder_block_encrypt(ENCODER_ALG_3DES, s_dek, psk, 16, out), 0);
    assert_hex(out, 16, "15ABF1FE16CCC5AA13743394442942CD");
}

/* EMV CPS diversification of the card's static keys from a KMC. Vectors: OpenJavaCard/openjavacard-tools,
 * globalplatform/src/test/java/org/openjavacard/gp/keys/GPKeySetTest.java
 * (testDiversifyEMV_00000000000000000000, testDiversifyEMV_0102030405060708090A; the GlobalPlatform test key
 * 404142..4F as KMC). */
static void test_kat_emv_diversification(void **state)
{
    (void)state;
    static const struct {
        const char *kdd, *enc, *mac, *dek;
    } v[] = {
        {"00000000000000000000", "5D9A62E01DF1FA7A93F231000F4AC272", "13179F2220FC6BCE5E740387EB78DB5C",
         "8BBE5457944D18DF460AF68730F570A2"},
        {"0102030405060708090A", "6438A05AC377DF302423BC5E2038FB5B", "5A9402DDABC5B9497BBECE0884929B83",
         "ACB4C129B3912FB782A4EAEE043BAE95"},
    };
    uint8_t kmc[16], kdd[10], k[16];
    hex("404142434445464748494A4B4C4D4E4F", kmc, 16);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        hex(v[i].kdd, kdd, 10);
        assert_int_equal(encoder_scp02_emv_key(kmc, kdd, 1, k), 0);
        assert_hex(k, 16, v[i].enc);
        assert_int_equal(encoder_scp02_emv_key(kmc, kdd, 2, k), 0);
        assert_hex(k, 16, v[i].mac);
        assert_int_equal(encoder_scp02_emv_key(kmc, kdd, 3, k), 0);
        assert_hex(k, 16, v[i].dek);
    }
    assert_int_equal(encoder_scp02_emv_key(kmc, kdd, 4, k), ENCODER_ERROR_INVALID);
}

/* Full 3DES MAC and the key check value against values computed independently (python3-cryptography) and
 * the classic KCV of the GP test key 404142..4F. */
static void test_kcv_and_padding(void **state)
{
    (void)state;
    uint8_t k[16], kcv[3], m1[8], m2[8];
    hex("404142434445464748494A4B4C4D4E4F", k, 16);
    assert_int_equal(encoder_kcv(k, kcv), 0);
    assert_hex(kcv, 3, "8BAF47");
    /* method 2 always pads: 8 bytes of data make two blocks, so MAC(data) != MAC(data || 80) never collides
     * with a 7-byte input padded once */
    uint8_t d[8] = {1, 2, 3, 4, 5, 6, 7, 0x80};
    assert_int_equal(encoder_scp02_full_mac(k, d, 7, m1), 0);
    assert_int_equal(encoder_scp02_full_mac(k, d, 8, m2), 0);
    assert_memory_not_equal(m1, m2, 8);
}

/* The soft key service's SCP02 operations agree with the primitives over EMV-diversified card keys, refuse a
 * wrong card cryptogram, and re-encrypt from the transport key to the session DEK. */
static void test_key_service_scp02(void **state)
{
    (void)state;
    static const uint8_t root[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,
                                     0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    struct encoder_key_service *ks;
    assert_int_equal(encoder_key_service_soft_new(root, &ks), 0);
    struct encoder_scp02_ref ref = {
        .kdd = {0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}, .kv = 0x20, .seq = {0x00, 0x2A}};
    uint8_t k_enc[16], k_mac[16], k_dek[16], s_enc[16], s_mac[16], s_dek[16];
    assert_int_equal(encoder_scp02_emv_key(root, ref.kdd, 1, k_enc), 0);
    assert_int_equal(encoder_scp02_emv_key(root, ref.kdd, 2, k_mac), 0);
    assert_int_equal(encoder_scp02_emv_key(root, ref.kdd, 3, k_dek), 0);
    assert_memory_not_equal(k_enc, k_mac, 16);
    encoder_scp02_session_key(k_enc, ENCODER_SCP02_S_ENC, ref.seq, s_enc);
    encoder_scp02_session_key(k_mac, ENCODER_SCP02_C_MAC, ref.seq, s_mac);
    encoder_scp02_session_key(k_dek, ENCODER_SCP02_DEK, ref.seq, s_dek);
    uint8_t host[8] = {1, 2, 3, 4, 5, 6, 7, 8}, card_ch[6] = {9, 10, 11, 12, 13, 14}, cc[8], hc[8], want[8];
    encoder_scp02_card_cryptogram(s_enc, host, ref.seq, card_ch, cc);
    assert_int_equal(encoder_key_service_scp02_auth(ks, &ref, host, card_ch, cc, hc), 0);
    encoder_scp02_host_cryptogram(s_enc, ref.seq, card_ch, host, want);
    assert_memory_equal(hc, want, 8);
    cc[7] ^= 1;
    assert_int_equal(encoder_key_service_scp02_auth(ks, &ref, host, card_ch, cc, hc),
                     ENCODER_ERROR_CRYPTOGRAM);
    /* C-MAC chain */
    uint8_t cmd[] = {0x84, 0x82, 0x01, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8}, m1[8], m2[8], icv[8],
            zero[8] = {0};
    assert_int_equal(encoder_key_service_scp02_cmac(ks, &ref, NULL, cmd, sizeof cmd, m1), 0);
    encoder_scp02_retail_mac(s_mac, zero, cmd, sizeof cmd, want);
    assert_memory_equal(m1, want, 8);
    assert_int_equal(encoder_key_service_scp02_cmac(ks, &ref, m1, cmd, sizeof cmd, m2), 0);
    encoder_scp02_icv(s_mac, m1, icv);
    encoder_scp02_retail_mac(s_mac, icv, cmd, sizeof cmd, want);
    assert_memory_equal(m2, want, 8);
    /* re-encryption: keys with their check values */
    uint8_t tk[16], tkcv[3], keys[32], kcvs[6], enc[32], out[32], clear[32];
    char why[160];
    encoder_soft_transport_key(root, "BANKTK1", tk);
    encoder_kcv(tk, tkcv);
    for (size_t i = 0; i < sizeof keys; i++)
        keys[i] = (uint8_t)(i * 3 + 1);
    encoder_kcv(keys, kcvs);
    encoder_kcv(keys + 16, kcvs + 3);
    encoder_block_encrypt(ENCODER_ALG_3DES, tk, keys, 32, enc);
    assert_int_equal(
        encoder_key_service_scp02_rewrap(ks, &ref, "BANKTK1", tkcv, kcvs, 2, enc, 32, out, why, sizeof why),
        0);
    encoder_block_decrypt(ENCODER_ALG_3DES, s_dek, out, 32, clear);
    assert_memory_equal(clear, keys, 32);
    kcvs[5] ^= 1;
    assert_int_equal(
        encoder_key_service_scp02_rewrap(ks, &ref, "BANKTK1", tkcv, kcvs, 2, enc, 32, out, why, sizeof why),
        ENCODER_ERROR_KEY);
    assert_non_null(strstr(why, "key 2"));
    tkcv[0] ^= 1;
    assert_int_equal(
        encoder_key_service_scp02_rewrap(ks, &ref, "BANKTK1", tkcv, NULL, 0, enc, 32, out, why, sizeof why),
        ENCODER_ERROR_KEY);
    assert_non_null(strstr(why, "check value"));
    assert_int_equal(
        encoder_key_service_scp02_rewrap(ks, &ref, "BANKTK1", tkcv, NULL, 0, enc, 31, out, why, sizeof why),
        ENCODER_ERROR_INVALID);
    encoder_key_service_free(ks);
}

static const uint8_t td_root[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};

static void test_parse_good(void **state)
{
    (void)state;
    static char text[16384];
    size_t n = bank_testdata(td_root, 42, BANK_TD_BIG_RECORD, text, sizeof text);
    assert_true(n > 0);
    struct encoder_bank_data *d = NULL;
    char cause[256] = "";
    int r = encoder_bank_data_parse(text, n, &d, cause, sizeof cause);
    if (r != 0)
        fail_msg("%s", cause);
    struct encoder_bank_summary s;
    assert_int_equal(encoder_bank_data_summary(d, &s), 0);
    assert_string_equal(s.aid_hex, BANK_TD_AID);
    assert_string_equal(s.pan_masked, "621700*********0426");
    assert_string_equal(s.expiry, "361231");
    assert_int_equal(s.sensitive_count, 2);
    assert_int_equal(s.dgi_count, 9);
    assert_true(s.has_stripe);
    assert_string_equal(s.application, "TD-42");
    assert_string_equal(s.bank, BANK_TD_BANK);
    char t2[64];
    assert_int_equal(encoder_bank_data_stripe(d, 2, t2, sizeof t2), 0);
    assert_non_null(strchr(t2, '='));
    assert_int_equal(encoder_bank_data_stripe(d, 3, t2, sizeof t2), 0);
    assert_string_equal(t2, "");
    encoder_bank_data_free(d);
    /* a track 1 name may hold a space; nothing else may */
    char *name = strstr(text, "ZHANG/SAN^");
    assert_non_null(name);
    name[5] = ' ';
    assert_int_equal(encoder_bank_data_parse(text, n, &d, cause, sizeof cause), 0);
    assert_int_equal(encoder_bank_data_stripe(d, 1, t2, sizeof t2), 0);
    assert_non_null(strstr(t2, "ZHANG SAN"));
    encoder_bank_data_free(d);
    char *kv = strstr(text, "KEY_VERSION=20");
    assert_non_null(kv);
    kv[12] = '\t';
    assert_int_equal(encoder_bank_data_parse(text, n, &d, cause, sizeof cause), ENCODER_ERROR_BANK_DATA);
    assert_non_null(strstr(cause, "column 13: white space"));
}

/* Each broken file is refused with the line and field named, and never with the account number. */
static void test_parse_errors(void **state)
{
    (void)state;
    static char base[16384], text[16400];
    size_t n = bank_testdata(td_root, 42, 0, base, sizeof base);
    char pan[20];
    bank_td_pan(42, pan);
    static const struct {
        const char *find, *replace, *want;
    } cases[] = {
        {"CARDLINE-BANK-DATA=1", "CARDLINE-BANK-DATA=2", "line 1: the file must begin"},
        {"AID=A0", "AID=XA0", "line 3 (AID)"},
        {"EXPIRY=361231", "EXPIRY=361331", "line 5 (EXPIRY)"},
        {"ENCRYPTED=8000,8010", "ENCRYPTED=8000;8010", "(ENCRYPTED): column 15"},
        {"ENCRYPTED=8000,8010", "ENCRYPTED=8000", "(DGI8010): DGIs 8000-8FFF hold secrets"},
        {"ENCRYPTED=8000,8010", "ENCRYPTED=8000,8010,8020", "DGI 8020 is listed but not in the file"},
        {"DGI9104=", "DGI9105=", "DGI9104: missing"},
        {"TRANSPORT_KCV=", "#TRANSPORT_KCV=", "TRANSPORT_KCV: missing"},
        {"KEY_VERSION=20", "KEY_VERSION=20\nKEY_VERSION=21", "(KEY_VERSION): given twice"},
        {"KEY_VERSION=20", "KEY_VERSION = 20", "white space"},
        {"KEY_VERSION=20", "COLOUR=blue", "unknown field 'COLOUR'"},
        {"DGI0102=70215A0A", "DGI0102=70215A0B", "(DGI0102): a record must be one well-formed template 70"},
        {"DGI9104=82027C0094080801020010010100", "DGI9104=82027C0094080801030010010100",
         "the AFL names SFI 1 record 3, but DGI0103 is missing"},
        {"9F1F0131", "9F1F013", "hexadecimal digits in pairs"},
        {"STRIPE_TRACK2=", "STRIPE_TRACK2=A", "(STRIPE_TRACK2): ISO/IEC 7813 track 2"},
        /* the application the data is for, and its bank: both required, once, well-formed */
        {"APPLICATION=TD-42\n", "", "APPLICATION: missing"},
        {"APPLICATION=TD-42", "APPLICATION=TD-42\nAPPLICATION=TD-43", "line 8 (APPLICATION): given twice"},
        {"APPLICATION=TD-42", "APPLICATION=", "line 7 (APPLICATION): the application's upstream id"},
        {"APPLICATION=TD-42", "APPLICATION=TD/42", "line 7 (APPLICATION): column 15: only letters"},
        {"APPLICATION=TD-42",
         "APPLICATION=A12345678901234567890123456789012345678901234567890123456789012345",
         "line 7 (APPLICATION): the application's upstream id, 1 to 64"},
        {"BANK=" BANK_TD_BANK "\n", "", "BANK: missing"},
        {"BANK=" BANK_TD_BANK, "BANK=" BANK_TD_BANK "\nBANK=" BANK_TD_BANK, "line 9 (BANK): given twice"},
        {"BANK=" BANK_TD_BANK, "BANK=", "line 8 (BANK): the bank's name, 1 to 60 bytes"},
        {"BANK=" BANK_TD_BANK, "BANK=中国\xE5\xBB", "line 8 (BANK): column 12: not UTF-8"},
        {"BANK=" BANK_TD_BANK, "BANK=中国\xC0\xAF", "line 8 (BANK): column 12: not UTF-8"},
        {"BANK=" BANK_TD_BANK, "BANK=中国\x7F", "line 8 (BANK): column 12: not UTF-8, or a space or control"},
        {"BANK=" BANK_TD_BANK, "BANK=中国\xE3\x80\x80银行", "line 8 (BANK): column 12"},
        {"BANK=" BANK_TD_BANK, "BANK=中国 银行", "line 8: column 12: white space"},
        {"BANK=" BANK_TD_BANK, "BANK=" BANK_TD_BANK BANK_TD_BANK BANK_TD_BANK BANK_TD_BANK,
         "line 8 (BANK): the bank's name, 1 to 60 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(base, cases[i].find);
        assert_non_null(at);
        size_t pre = (size_t)(at - base);
        int m = snprintf(text, sizeof text, "%.*s%s%s", (int)pre, base, cases[i].replace,
                         at + strlen(cases[i].find));
        struct encoder_bank_data *d = NULL;
        char cause[256] = "";
        int r = encoder_bank_data_parse(text, (size_t)m, &d, cause, sizeof cause);
        if (r != ENCODER_ERROR_BANK_DATA || !strstr(cause, cases[i].want))
            fail_msg("case %zu: got %d '%s', want '%s'", i, r, cause, cases[i].want);
        assert_null(d);
        assert_null(strstr(cause, pan));
    }
    /* the PAN's check digit, and a PAN that is not the records' */
    char bad[24];
    snprintf(bad, sizeof bad, "PAN=%s", pan);
    char *at = strstr(base, bad);
    assert_non_null(at);
    at[4 + 18] = at[4 + 18] == '9' ? '0' : (char)(at[4 + 18] + 1);
    struct encoder_bank_data *d = NULL;
    char cause[256];
    assert_int_equal(encoder_bank_data_parse(base, n, &d, cause, sizeof cause), ENCODER_ERROR_BANK_DATA);
    assert_non_null(strstr(cause, "line 4 (PAN): the check digit is wrong"));
    /* the transport key's check value is not the parser's business: the key service checks it */
    assert_int_equal(encoder_bank_data_parse("", 0, &d, cause, sizeof cause), ENCODER_ERROR_BANK_DATA);
    assert_non_null(strstr(cause, "empty"));
}

static void test_ber_dol_afl_luhn(void **state)
{
    (void)state;
    struct encoder_ber b;
    const uint8_t t1[] = {0x9F, 0x38, 0x03, 1, 2, 3};
    assert_int_equal(encoder_ber_parse(t1, sizeof t1, &b), 0);
    assert_int_equal(b.tag, 0x9F38);
    assert_int_equal(b.len, 3);
    const uint8_t t2[] = {0x70, 0x81, 0x02, 0x5A, 0x00};
    assert_int_equal(encoder_ber_parse(t2, sizeof t2, &b), 0);
    assert_true(b.constructed);
    const uint8_t bad_len[] = {0x70, 0x83, 0, 0, 1, 0};
    assert_int_equal(encoder_ber_parse(bad_len, sizeof bad_len, &b), ENCODER_ERROR_INVALID);
    const uint8_t indefinite[] = {0x70, 0x80, 0, 0};
    assert_int_equal(encoder_ber_parse(indefinite, sizeof indefinite, &b), ENCODER_ERROR_INVALID);
    const uint8_t long_tag[] = {0x9F, 0x81, 0x81, 0x01, 0x00, 0x00};
    assert_int_equal(encoder_ber_parse(long_tag, sizeof long_tag, &b), ENCODER_ERROR_INVALID);
    const uint8_t over[] = {0x5A, 0x05, 1, 2};
    assert_int_equal(encoder_ber_parse(over, sizeof over, &b), ENCODER_ERROR_INVALID);
    const uint8_t nested[] = {0x6F, 0x08, 0xA5, 0x06, 0xBF, 0x0C, 0x03, 0x61, 0x01, 0x4F};
    const uint8_t *v;
    size_t vl;
    assert_int_equal(encoder_ber_find(nested, sizeof nested, 0xBF0C, &v, &vl), 1);
    assert_int_equal(vl, 3);
    assert_int_equal(encoder_ber_find(nested, sizeof nested, 0x4F, &v, &vl), ENCODER_ERROR_INVALID);
    const uint8_t pdol[] = {0x9F, 0x66, 0x04, 0x9F, 0x02, 0x06, 0x5F,
                            0x2A, 0x02, 0x9A, 0x03, 0x9F, 0x37, 0x04};
    uint8_t out[64];
    assert_int_equal(encoder_dol_fill(pdol, sizeof pdol, out, sizeof out), 19);
    assert_int_equal(out[0], 0x40);
    assert_int_equal(out[10], 0x01);
    assert_int_equal(out[11], 0x56);
    assert_int_equal(encoder_dol_fill(pdol, sizeof pdol, out, 10), ENCODER_ERROR_INVALID);
    const uint8_t afl[] = {0x08, 0x01, 0x02, 0x00, 0x10, 0x01, 0x01, 0x01};
    assert_int_equal(encoder_afl_check(afl, sizeof afl), 2);
    const uint8_t afl_bad[] = {0x08, 0x02, 0x01, 0x00};
    assert_int_equal(encoder_afl_check(afl_bad, sizeof afl_bad), ENCODER_ERROR_INVALID);
    assert_true(encoder_luhn_ok("79927398713", 11));
    assert_false(encoder_luhn_ok("79927398710", 11));
    char d[24];
    const uint8_t pan[] = {0x62, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x2F};
    assert_int_equal(encoder_bcd_digits(pan, sizeof pan, d, sizeof d), 19);
    const uint8_t pan_bad[] = {0x62, 0xF7};
    assert_int_equal(encoder_bcd_digits(pan_bad, sizeof pan_bad, d, sizeof d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_session_keys),
        cmocka_unit_test(test_kat_session),
        cmocka_unit_test(test_kat_emv_diversification),
        cmocka_unit_test(test_kcv_and_padding),
        cmocka_unit_test(test_key_service_scp02),
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_ber_dol_afl_luhn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
