/* test_bank_sim.c — the simulated card's bank application (encoder/sim_card.c): personalised by
 * encoder_bank_personalize through the in-process station with the soft key service, cards of another key
 * set, and the refusals a strict card makes (C-MAC, block sequence) sent by hand; with a file directory as
 * argument, personalises every *.bank file there (what tools/bank-dataprep wrote) */
#include <dirent.h>
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

static const uint8_t root[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};

static struct encoder_transport *open_sim(unsigned seed, unsigned fault_permille,
                                          unsigned scp02_fault_permille)
{
    struct encoder_sim_config cfg = {
        .seed = seed, .fault_permille = fault_permille, .scp02_fault_permille = scp02_fault_permille};
    memcpy(cfg.master_key, root, sizeof root);
    struct encoder_transport *t = NULL;
    assert_int_equal(encoder_open_sim(&cfg, &t), 0);
    return t;
}

static struct encoder_bank_data *test_data(unsigned serial, unsigned flags)
{
    static char text[16384];
    size_t n = bank_testdata(root, serial, flags, text, sizeof text);
    assert_true(n > 0);
    struct encoder_bank_data *d = NULL;
    char cause[256] = "";
    if (encoder_bank_data_parse(text, n, &d, cause, sizeof cause) != 0)
        fail_msg("test data refused: %s", cause);
    return d;
}

/* A transport in front of the sim that records the instruction bytes it passes on. */
struct rec {
    struct encoder_transport *inner;
    uint8_t ins[512];
    size_t n;
};

static int rec_reset(void *ctx, uint8_t *atr, size_t max, size_t *len)
{
    struct rec *r = ctx;
    return r->inner->ops->reset(r->inner->ctx, atr, max, len);
}

static int rec_reset_same(void *ctx, uint8_t *atr, size_t max, size_t *len)
{
    struct rec *r = ctx;
    return r->inner->ops->reset_same_card(r->inner->ctx, atr, max, len);
}

static int rec_transmit(void *ctx, const uint8_t *apdu, size_t len, uint8_t *resp, size_t max, size_t *ret)
{
    struct rec *r = ctx;
    if (r->n < sizeof r->ins && len >= 2)
        r->ins[r->n++] = apdu[1];
    return r->inner->ops->transmit(r->inner->ctx, apdu, len, resp, max, ret);
}

static const struct encoder_transport_ops rec_ops = {
    .reset = rec_reset, .transmit = rec_transmit, .reset_same_card = rec_reset_same};

static struct encoder_card_data ssc_data(void)
{
    struct encoder_card_data d = {
        .region_code = "440100",
        .card_type = '3',
        .spec_version = "3.00",
        .card_number = "A00000017",
        .issue_date = "20261128",
        .expiry_date = "20361128",
        .ssn = "44010619900307123X",
        .name = "张三",
        .sex = '1',
        .ethnicity = 1,
        .birth_place = "440106",
        .birth_date = "19900307",
    };
    return d;
}

/* The line's order on one card: the social security application, then the bank's; read back as a terminal. */
static void test_personalize(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(1, 0, 0);
    struct encoder_key_service *ks = NULL;
    assert_int_equal(encoder_key_service_soft_new(root, &ks), 0);
    struct encoder_bank_data *d = test_data(42, BANK_TD_BIG_RECORD);
    struct encoder_card_data cd = ssc_data();
    struct encoder_result sr;
    assert_int_equal(encoder_personalize(t, ks, &cd, &sr), 0);
    struct encoder_bank_result br;
    int r = encoder_bank_personalize(t, ks, d, &br);
    if (r != 0)
        fail_msg("bank: %d %s", r, br.cause);
    assert_string_equal(br.atr_hex, sr.atr_hex); /* the same card */
    assert_string_equal(br.pan_masked, "621700*********0426");
    assert_int_equal(br.records_read, 3);
    assert_true(br.store_data_blocks >= 2); /* the big record needs more than one block */
    assert_true(br.data_written);
    /* a terminal reads it again later; a second personalisation is refused (6985) */
    struct encoder_bank_result rb;
    assert_int_equal(encoder_bank_read(t, d, &rb), 0);
    assert_string_equal(rb.pan_masked, "621700*********0426");
    assert_int_equal(encoder_bank_read(t, NULL, &rb), 0);
    assert_int_equal(encoder_bank_personalize(t, ks, d, &br), ENCODER_ERROR_AUTH);
    assert_non_null(strstr(br.cause, "6985"));
    /* the next social security personalisation gets a fresh blank: its bank application is empty */
    assert_int_equal(encoder_personalize(t, ks, &cd, &sr), 0);
    assert_int_equal(encoder_bank_read(t, d, &rb), ENCODER_ERROR_NOT_BANK);
    /* an AID the blank does not carry */
    encoder_bank_data_free(d);
    static char text[16384];
    size_t n = bank_testdata(root, 43, 0, text, sizeof text);
    char *aid = strstr(text, "AID=A000000333010101");
    assert_non_null(aid);
    aid[19] = '2';
    char cause[256];
    assert_int_equal(encoder_bank_data_parse(text, n, &d, cause, sizeof cause), 0);
    assert_int_equal(encoder_bank_personalize(t, ks, d, &br), ENCODER_ERROR_NOT_BANK);
    assert_false(br.data_written);
    encoder_bank_data_free(d);
    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

/* A card of another key set: the cryptogram is refused and nothing follows INITIALIZE UPDATE. */
static void test_other_keys(void **state)
{
    (void)state;
    struct rec rc = {.inner = open_sim(5, 0, 1000)};
    struct encoder_transport t = {.ops = &rec_ops, .ctx = &rc};
    struct encoder_key_service *ks = NULL;
    assert_int_equal(encoder_key_service_soft_new(root, &ks), 0);
    struct encoder_bank_data *d = test_data(7, 0);
    struct encoder_bank_result br;
    assert_int_equal(encoder_bank_personalize(&t, ks, d, &br), ENCODER_ERROR_CRYPTOGRAM);
    assert_false(br.data_written);
    assert_int_equal(br.store_data_blocks, 0);
    assert_true(rc.n >= 2);
    assert_int_equal(rc.ins[rc.n - 1], 0x50); /* INITIALIZE UPDATE was the last command */
    for (size_t i = 0; i < rc.n; i++)
        assert_true(rc.ins[i] != 0x82 && rc.ins[i] != 0xE2);
    encoder_transport_close(rc.inner);

    /* scp02_fault_permille draws from its own stream: the social security faults of a seed stay put, and
     * about that share of cards fails */
    struct encoder_card_data cd = ssc_data();
    unsigned faults[2] = {0}, bank_bad = 0;
    char pattern[2][41];
    for (int k = 0; k < 2; k++) {
        struct encoder_transport *s = open_sim(99, 150, k ? 500 : 0);
        for (int i = 0; i < 40; i++) {
            struct encoder_result sr;
            int r = encoder_personalize(s, ks, &cd, &sr);
            pattern[k][i] = r == 0 ? '.' : 'x';
            faults[k] += r != 0;
            if (k == 1 && r == 0) {
                struct encoder_bank_result b;
                int rb = encoder_bank_personalize(s, ks, d, &b);
                assert_true(rb == 0 || rb == ENCODER_ERROR_CRYPTOGRAM);
                bank_bad += rb != 0;
            }
        }
        pattern[k][40] = '\0';
        encoder_transport_close(s);
    }
    /* the cards of seed 99 that fail, as the sim made them before it had a bank application */
    assert_string_equal(pattern[0], "............................x..x..x.x...");
    assert_string_equal(pattern[0], pattern[1]);
    assert_true(faults[0] > 0);
    assert_true(bank_bad > 5 && bank_bad < 40 - faults[1]);
    struct encoder_sim_config bad = {.scp02_fault_permille = 1001};
    struct encoder_transport *none = NULL;
    assert_int_equal(encoder_open_sim(&bad, &none), ENCODER_ERROR_INVALID);
    encoder_bank_data_free(d);
    encoder_key_service_free(ks);
}

/* ---- commands by hand, as a strict card sees them ---- */

struct chan {
    uint8_t enc[16], mac[16], dek[16], last[8];
};

static uint16_t xmit(struct encoder_transport *t, const uint8_t *apdu, size_t len, uint8_t *data,
                     size_t *dlen)
{
    uint8_t resp[ENCODER_RESP_MAX];
    size_t n = 0;
    assert_int_equal(t->ops->transmit(t->ctx, apdu, len, resp, sizeof resp, &n), 0);
    assert_true(n >= 2);
    if (data)
        memcpy(data, resp, n - 2);
    if (dlen)
        *dlen = n - 2;
    return (uint16_t)(resp[n - 2] << 8 | resp[n - 1]);
}

/* SELECT, INITIALIZE UPDATE (the card's cryptogram checked here), EXTERNAL AUTHENTICATE; returns its SW. */
static uint16_t open_channel(struct encoder_transport *t, struct chan *c, bool wrong_host)
{
    uint8_t atr[ENCODER_ATR_MAX], resp[ENCODER_RESP_MAX];
    size_t atr_len, n;
    assert_int_equal(t->ops->reset_same_card(t->ctx, atr, sizeof atr, &atr_len), 0);
    const uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00,
                           0x00, 0x03, 0x33, 0x01, 0x01, 0x01, 0x00};
    assert_int_equal(xmit(t, sel, sizeof sel, NULL, NULL), 0x9000);
    uint8_t iu[14] = {0x80, 0x50, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00};
    assert_int_equal(xmit(t, iu, sizeof iu, resp, &n), 0x9000);
    assert_int_equal(n, 28);
    assert_int_equal(resp[10], 0x20);
    assert_int_equal(resp[11], 0x02);
    uint8_t kdd[10], seq[2], cc[6], k[16], crypto[8];
    memcpy(kdd, resp, 10);
    memcpy(seq, resp + 12, 2);
    memcpy(cc, resp + 14, 6);
    assert_int_equal(encoder_scp02_emv_key(root, kdd, 1, k), 0);
    assert_int_equal(encoder_scp02_session_key(k, ENCODER_SCP02_S_ENC, seq, c->enc), 0);
    assert_int_equal(encoder_scp02_emv_key(root, kdd, 2, k), 0);
    assert_int_equal(encoder_scp02_session_key(k, ENCODER_SCP02_C_MAC, seq, c->mac), 0);
    assert_int_equal(encoder_scp02_emv_key(root, kdd, 3, k), 0);
    assert_int_equal(encoder_scp02_session_key(k, ENCODER_SCP02_DEK, seq, c->dek), 0);
    assert_int_equal(encoder_scp02_card_cryptogram(c->enc, iu + 5, seq, cc, crypto), 0);
    assert_memory_equal(crypto, resp + 20, 8); /* the card proves the keys of our root */
    uint8_t ea[21] = {0x84, 0x82, 0x01, 0x00, 0x10};
    assert_int_equal(encoder_scp02_host_cryptogram(c->enc, seq, cc, iu + 5, ea + 5), 0);
    if (wrong_host)
        ea[5] ^= 0x01;
    static const uint8_t zero[8];
    assert_int_equal(encoder_scp02_retail_mac(c->mac, zero, ea, 13, ea + 13), 0);
    memcpy(c->last, ea + 13, 8);
    return xmit(t, ea, sizeof ea, NULL, NULL);
}

/* A STORE DATA under C-MAC (tamper: flip a MAC bit). */
static uint16_t store(struct encoder_transport *t, struct chan *c, uint8_t p1, uint8_t p2,
                      const uint8_t *data, size_t len, bool tamper)
{
    uint8_t apdu[5 + 255] = {0x84, 0xE2, p1, p2, (uint8_t)(len + 8)}, icv[8];
    memcpy(apdu + 5, data, len);
    assert_int_equal(encoder_scp02_icv(c->mac, c->last, icv), 0);
    assert_int_equal(encoder_scp02_retail_mac(c->mac, icv, apdu, 5 + len, apdu + 5 + len), 0);
    memcpy(c->last, apdu + 5 + len, 8);
    if (tamper)
        apdu[5 + len + 7] ^= 0x01;
    return xmit(t, apdu, 5 + len + 8, NULL, NULL);
}

static void test_by_hand(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(3, 0, 0);
    struct chan c;
    const uint8_t dgi[] = {0x91, 0x02, 0x03, 0x50, 0x01, 0x41};
    const uint8_t gpo[] = {0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00};
    /* before personalisation: no PPSE, no GET PROCESSING OPTIONS, no STORE DATA without a channel */
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len;
    assert_int_equal(t->ops->reset_same_card(t->ctx, atr, sizeof atr, &atr_len), 0);
    const uint8_t ppse[] = {0x00, 0xA4, 0x04, 0x00, 0x0E, '2', 'P', 'A', 'Y', '.',
                            'S',  'Y',  'S',  '.',  'D',  'D', 'F', '0', '1', 0x00};
    assert_int_equal(xmit(t, ppse, sizeof ppse, NULL, NULL), 0x6A82);
    const uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00,
                           0x00, 0x03, 0x33, 0x01, 0x01, 0x01, 0x00};
    assert_int_equal(xmit(t, sel, sizeof sel, NULL, NULL), 0x9000);
    assert_int_equal(xmit(t, gpo, sizeof gpo, NULL, NULL), 0x6985);
    const uint8_t sd_plain[] = {0x80, 0xE2, 0x00, 0x00, 0x06, 0x91, 0x02, 0x03, 0x50, 0x01, 0x41};
    assert_int_equal(xmit(t, sd_plain, sizeof sd_plain, NULL, NULL), 0x6982);
    /* EXTERNAL AUTHENTICATE not right after INITIALIZE UPDATE; unknown key version */
    const uint8_t ea[21] = {0x84, 0x82, 0x01, 0x00, 0x10};
    assert_int_equal(xmit(t, ea, sizeof ea, NULL, NULL), 0x6985);
    const uint8_t iu_kv[] = {0x80, 0x50, 0x31, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00};
    assert_int_equal(xmit(t, iu_kv, sizeof iu_kv, NULL, NULL), 0x6A88);

    /* a wrong host cryptogram */
    assert_int_equal(open_channel(t, &c, true), 0x6300);
    /* a tampered C-MAC: 6982, and the session is closed (a right MAC after it is refused too) */
    assert_int_equal(open_channel(t, &c, false), 0x9000);
    assert_int_equal(store(t, &c, 0x00, 0x00, dgi, sizeof dgi, true), 0x6982);
    assert_int_equal(store(t, &c, 0x00, 0x00, dgi, sizeof dgi, false), 0x6982);
    /* a command without secure messaging inside the channel closes it too */
    assert_int_equal(open_channel(t, &c, false), 0x9000);
    assert_int_equal(xmit(t, sd_plain, sizeof sd_plain, NULL, NULL), 0x6982);
    assert_int_equal(store(t, &c, 0x00, 0x00, dgi, sizeof dgi, false), 0x6982);
    /* out of sequence: block 01 first, then 00 and 02 after 00 */
    assert_int_equal(open_channel(t, &c, false), 0x9000);
    assert_int_equal(store(t, &c, 0x00, 0x01, dgi, sizeof dgi, false), 0x6A86);
    assert_int_equal(store(t, &c, 0x00, 0x00, dgi, sizeof dgi, false), 0x9000);
    assert_int_equal(store(t, &c, 0x00, 0x02, dgi, sizeof dgi, false), 0x6A86);
    /* reserved P1 bits, then a last block without the DGIs a terminal needs */
    assert_int_equal(store(t, &c, 0x40, 0x01, dgi, sizeof dgi, false), 0x6A86);
    assert_int_equal(store(t, &c, 0x80, 0x01, dgi, sizeof dgi, false), 0x6A88);
    /* encrypted DGIs: decrypted with the session DEK; keys whose check values differ are refused */
    assert_int_equal(open_channel(t, &c, false), 0x9000);
    uint8_t keys[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, kb[3 + 16],
            kcv[6] = {0x90, 0x00, 3};
    kb[0] = 0x80, kb[1] = 0x00, kb[2] = 16;
    assert_int_equal(encoder_block_encrypt(ENCODER_ALG_3DES, c.dek, keys, 16, kb + 3), 0);
    assert_int_equal(encoder_kcv(keys, kcv + 3), 0);
    kcv[3] ^= 0x01;
    const uint8_t rest[] = {0x91, 0x02, 0x03, 0x50, 0x01, 0x41, 0x91, 0x04, 0x0A,
                            0x82, 0x02, 0x7C, 0x00, 0x94, 0x04, 0x08, 0x01, 0x01,
                            0x00, 0x01, 0x01, 0x05, 0x70, 0x03, 0x5A, 0x01, 0x11};
    assert_int_equal(store(t, &c, 0x60, 0x00, kb, sizeof kb, false), 0x9000);
    assert_int_equal(store(t, &c, 0x00, 0x01, kcv, sizeof kcv, false), 0x9000);
    assert_int_equal(store(t, &c, 0x80, 0x02, rest, sizeof rest, false), 0x6A80);
    /* the same with the right check value: personalised, listed in the PPSE, GPO and READ RECORD answer */
    assert_int_equal(open_channel(t, &c, false), 0x9000);
    kcv[3] ^= 0x01;
    /* a new channel, a new sequence counter: a new session DEK */
    assert_int_equal(encoder_block_encrypt(ENCODER_ALG_3DES, c.dek, keys, 16, kb + 3), 0);
    assert_int_equal(store(t, &c, 0x60, 0x00, kb, sizeof kb, false), 0x9000);
    assert_int_equal(store(t, &c, 0x00, 0x01, kcv, sizeof kcv, false), 0x9000);
    assert_int_equal(store(t, &c, 0x80, 0x02, rest, sizeof rest, false), 0x9000);
    uint8_t data[ENCODER_RESP_MAX];
    size_t n;
    assert_int_equal(xmit(t, ppse, sizeof ppse, data, &n), 0x9000);
    assert_int_equal(xmit(t, sel, sizeof sel, NULL, NULL), 0x9000);
    const uint8_t gpo_bad[] = {0x80, 0xA8, 0x00, 0x00, 0x03, 0x83, 0x01, 0x00, 0x00};
    assert_int_equal(xmit(t, gpo_bad, sizeof gpo_bad, NULL, NULL), 0x6700);
    assert_int_equal(xmit(t, gpo, sizeof gpo, data, &n), 0x9000);
    const uint8_t want_gpo[] = {0x77, 0x0A, 0x82, 0x02, 0x7C, 0x00, 0x94, 0x04, 0x08, 0x01, 0x01, 0x00};
    assert_int_equal(n, sizeof want_gpo);
    assert_memory_equal(data, want_gpo, n);
    const uint8_t rr[] = {0x00, 0xB2, 0x01, 0x0C, 0x00}, rr2[] = {0x00, 0xB2, 0x02, 0x0C, 0x00};
    assert_int_equal(xmit(t, rr, sizeof rr, data, &n), 0x9000);
    assert_int_equal(n, 5);
    assert_int_equal(data[0], 0x70);
    assert_int_equal(xmit(t, rr2, sizeof rr2, NULL, NULL), 0x6A83);
    /* personalised: no second secure channel */
    const uint8_t iu[] = {0x80, 0x50, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00};
    assert_int_equal(xmit(t, iu, sizeof iu, NULL, NULL), 0x6985);
    encoder_transport_close(t);
}

/* Every *.bank file of a directory (tools/bank-dataprep's output) parses and personalises a sim card. */
static const char *files_dir;

static void test_files(void **state)
{
    (void)state;
    DIR *dir = opendir(files_dir);
    assert_non_null(dir);
    struct encoder_key_service *ks = NULL;
    assert_int_equal(encoder_key_service_soft_new(root, &ks), 0);
    struct encoder_transport *t = open_sim(11, 0, 0);
    unsigned good = 0, held = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".bank") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", files_dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static char text[65536];
        size_t n = fread(text, 1, sizeof text, f);
        fclose(f);
        struct encoder_bank_data *d = NULL;
        char cause[256] = "";
        int r = encoder_bank_data_parse(text, n, &d, cause, sizeof cause);
        /* a file with a '# corrupt:' comment is meant to be refused (the tool's --corrupt) */
        bool corrupt = strstr(text, "# corrupt:") != NULL;
        if (corrupt) {
            if (r != ENCODER_ERROR_BANK_DATA)
                fail_msg("%s: a corrupt file was accepted", e->d_name);
            printf("%s: refused as it should be: %s\n", e->d_name, cause);
            held++;
            continue;
        }
        if (r != 0)
            fail_msg("%s: %s", e->d_name, cause);
        struct encoder_bank_summary s;
        assert_int_equal(encoder_bank_data_summary(d, &s), 0);
        char want[80];
        snprintf(want, sizeof want, "%s.bank", s.application);
        if (strcmp(want, e->d_name) != 0)
            fail_msg("%s: APPLICATION=%s does not name the file", e->d_name, s.application);
        struct encoder_bank_result br;
        uint8_t atr[ENCODER_ATR_MAX];
        size_t atr_len;
        assert_int_equal(t->ops->reset(t->ctx, atr, sizeof atr, &atr_len), 0); /* a fresh blank */
        r = encoder_bank_personalize(t, ks, d, &br);
        if (r != 0)
            fail_msg("%s: %d %s", e->d_name, r, br.cause);
        assert_string_equal(br.pan_masked, s.pan_masked);
        good++;
        encoder_bank_data_free(d);
    }
    closedir(dir);
    printf("%u files personalised, %u refused as meant\n", good, held);
    assert_true(good > 0);
    encoder_transport_close(t);
    encoder_key_service_free(ks);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        files_dir = argv[1];
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_files)};
        return cmocka_run_group_tests(tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_personalize),
        cmocka_unit_test(test_other_keys),
        cmocka_unit_test(test_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
