/* test_encoder.c — unit tests of the encoder library: byte-exact codecs, T=0 chaining, SM4/3DES and the SSC
 * key scheme, the FCI and ATR parsers, the simulated card */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "encoder-private.h"

static const uint8_t test_master[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                        0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};

/* 阿依古丽·买买提依明·阿卜杜克热木 in GBK (34 bytes, 17 double-byte characters). */
static const uint8_t uyghur_gbk[] = {0xB0, 0xA2, 0xD2, 0xC0, 0xB9, 0xC5, 0xC0, 0xF6, 0xA1, 0xA4, 0xC2, 0xF2,
                                     0xC2, 0xF2, 0xCC, 0xE1, 0xD2, 0xC0, 0xC3, 0xF7, 0xA1, 0xA4, 0xB0, 0xA2,
                                     0xB2, 0xB7, 0xB6, 0xC5, 0xBF, 0xCB, 0xC8, 0xC8, 0xC4, 0xBE};
static const char uyghur_name[] = "阿依古丽·买买提依明·阿卜杜克热木";

static struct encoder_card_data sample_data(const char *name)
{
    struct encoder_card_data d = {
        .region_code = "440100",
        .card_type = '3',
        .spec_version = "3.00",
        .card_number = "A00000017",
        .issue_date = "20261128",
        .expiry_date = "20361128",
        .ssn = "44010619900307123X",
        .name = name,
        .sex = '1',
        .ethnicity = 1,
        .birth_place = "440106",
        .birth_date = "19900307",
    };
    return d;
}

static struct encoder_transport *open_sim(unsigned fault_permille, unsigned seed)
{
    struct encoder_sim_config cfg = {.fault_permille = fault_permille, .seed = seed};
    memcpy(cfg.master_key, test_master, sizeof test_master);
    struct encoder_transport *t = NULL;
    assert_int_equal(encoder_open_sim(&cfg, &t), 0);
    assert_non_null(t);
    return t;
}

static struct encoder_key_service *open_ks(const uint8_t master[16])
{
    struct encoder_key_service *ks = NULL;
    assert_int_equal(encoder_key_service_soft_new(master, &ks), 0);
    return ks;
}

/* Send raw bytes to a transport; returns the status word, data copied to data (when not NULL). */
static uint16_t send_apdu(struct encoder_transport *t, const uint8_t *apdu, size_t len, uint8_t *data,
                          size_t *data_len)
{
    uint8_t resp[ENCODER_RESP_MAX];
    size_t n = 0;
    assert_int_equal(encoder_transport_transmit(t, apdu, len, resp, sizeof resp, &n), 0);
    assert_true(n >= 2);
    if (data)
        memcpy(data, resp, n - 2);
    if (data_len)
        *data_len = n - 2;
    return (uint16_t)(resp[n - 2] << 8 | resp[n - 1]);
}

static void power_up(struct encoder_transport *t)
{
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len = 0;
    assert_int_equal(t->ops->reset(t->ctx, atr, sizeof atr, &atr_len), 0);
}

/* ---- a tiny scripted transport: records what it is sent, answers from a script ---- */

#define FAKE_STEPS 4
struct fake {
    size_t step;
    uint8_t sent[FAKE_STEPS][ENCODER_APDU_MAX];
    size_t sent_len[FAKE_STEPS];
    uint8_t answer[FAKE_STEPS][ENCODER_RESP_MAX];
    size_t answer_len[FAKE_STEPS];
};

static int fake_reset(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len)
{
    (void)ctx;
    if (atr_max < 2)
        return ENCODER_ERROR_INVALID;
    atr[0] = 0x3B;
    atr[1] = 0x00;
    *ret_atr_len = 2;
    return 0;
}

static int fake_transmit(void *ctx, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_max,
                         size_t *ret_resp_len)
{
    struct fake *f = ctx;
    if (f->step >= FAKE_STEPS || apdu_len > ENCODER_APDU_MAX || f->answer_len[f->step] > resp_max)
        return ENCODER_ERROR_TRANSPORT;
    memcpy(f->sent[f->step], apdu, apdu_len);
    f->sent_len[f->step] = apdu_len;
    memcpy(resp, f->answer[f->step], f->answer_len[f->step]);
    *ret_resp_len = f->answer_len[f->step];
    f->step++;
    return 0;
}

static const struct encoder_transport_ops fake_ops = {.reset = fake_reset, .transmit = fake_transmit};

static void fake_script(struct fake *f, size_t step, const uint8_t *answer, size_t len)
{
    memcpy(f->answer[step], answer, len);
    f->answer_len[step] = len;
}

#define assert_bytes(actual, actual_len, ...)                                                                \
    do {                                                                                                     \
        const uint8_t expected_[] = {__VA_ARGS__};                                                           \
        assert_int_equal((actual_len), sizeof expected_);                                                    \
        assert_memory_equal((actual), expected_, sizeof expected_);                                          \
    } while (0)

/* ---- APDU codecs ---- */

static void test_select_aid_apdu(void **state)
{
    (void)state;
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t n = 0;
    assert_int_equal(
        encoder_apdu_select_aid(encoder_ssse_aid, sizeof encoder_ssse_aid, true, apdu, sizeof apdu, &n), 0);
    /* with Le 00: the SSSE SELECT returns the FCI ([P5] 表34), whose 9F0C/86 names the algorithm */
    assert_bytes(apdu, n, 0x00, 0xA4, 0x04, 0x00, 0x0F, 0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7,
                 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF, 0x00);

    /* What the SSSE profile really sends is the same. */
    struct fake f = {0};
    fake_script(&f, 0, (const uint8_t[]){0x90, 0x00}, 2);
    struct encoder_transport t = {.ops = &fake_ops, .ctx = &f};
    struct encoder_card card = {.t = &t, .ops = encoder_ssse_ops()};
    uint8_t fci[64];
    size_t fci_len = 0;
    assert_int_equal(
        card.ops->select_aid(&card, encoder_ssse_aid, sizeof encoder_ssse_aid, fci, sizeof fci, &fci_len), 0);
    assert_int_equal(f.sent_len[0], n);
    assert_memory_equal(f.sent[0], apdu, n);
    assert_int_equal(card.sw, 0x9000);
}

static void test_select_ef_apdu(void **state)
{
    (void)state;
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t n = 0;
    assert_int_equal(encoder_apdu_select_ef(0x02, ENCODER_FID_EF05, apdu, sizeof apdu, &n), 0);
    assert_bytes(apdu, n, 0x00, 0xA4, 0x02, 0x00, 0x02, 0xEF, 0x05);

    /* The SSSE profile overrides the ISO select (P1 = 00) with P1 = 02. */
    struct fake f = {0};
    fake_script(&f, 0, (const uint8_t[]){0x90, 0x00}, 2);
    fake_script(&f, 1, (const uint8_t[]){0x90, 0x00}, 2);
    struct encoder_transport t = {.ops = &fake_ops, .ctx = &f};
    struct encoder_card card = {.t = &t, .ops = encoder_ssse_ops()};
    assert_int_equal(card.ops->select_ef(&card, ENCODER_FID_EF05), 0);
    assert_bytes(f.sent[0], f.sent_len[0], 0x00, 0xA4, 0x02, 0x00, 0x02, 0xEF, 0x05);
    card.ops = encoder_iso7816_ops();
    assert_int_equal(card.ops->select_ef(&card, ENCODER_FID_EF06), 0);
    assert_bytes(f.sent[1], f.sent_len[1], 0x00, 0xA4, 0x00, 0x00, 0x02, 0xEF, 0x06);
    /* Everything else is inherited from the base table. */
    assert_ptr_equal(encoder_ssse_ops()->read_record, encoder_iso7816_ops()->read_record);
    assert_ptr_not_equal(encoder_ssse_ops()->verify_pin, encoder_iso7816_ops()->verify_pin);
}

static void test_apdu_cases(void **state)
{
    (void)state;
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t n = 0;
    const uint8_t data[] = {0xAA, 0xBB};

    struct encoder_apdu c1 = {.cla = 0x00, .ins = 0x20, .p1 = 0x00, .p2 = 0x00};
    assert_int_equal(encoder_apdu_build(&c1, apdu, sizeof apdu, &n), 0);
    assert_bytes(apdu, n, 0x00, 0x20, 0x00, 0x00);

    struct encoder_apdu c2 = {.ins = 0xB2, .p1 = 0x01, .p2 = 0x04, .has_le = true, .le = 256};
    assert_int_equal(encoder_apdu_build(&c2, apdu, sizeof apdu, &n), 0);
    assert_bytes(apdu, n, 0x00, 0xB2, 0x01, 0x04, 0x00);

    struct encoder_apdu c3 = {.ins = 0xDC, .p1 = 0x02, .p2 = 0x04, .data = data, .lc = 2};
    assert_int_equal(encoder_apdu_build(&c3, apdu, sizeof apdu, &n), 0);
    assert_bytes(apdu, n, 0x00, 0xDC, 0x02, 0x04, 0x02, 0xAA, 0xBB);

    struct encoder_apdu c4 = {.ins = 0xA4, .p1 = 0x04, .data = data, .lc = 2, .has_le = true, .le = 0x10};
    assert_int_equal(encoder_apdu_build(&c4, apdu, sizeof apdu, &n), 0);
    assert_bytes(apdu, n, 0x00, 0xA4, 0x04, 0x00, 0x02, 0xAA, 0xBB, 0x10);

    struct encoder_apdu p;
    assert_int_equal(encoder_apdu_parse(apdu, n, &p), 0);
    assert_int_equal(p.ins, 0xA4);
    assert_int_equal(p.lc, 2);
    assert_memory_equal(p.data, data, 2);
    assert_true(p.has_le);
    assert_int_equal(p.le, 0x10);
    assert_int_equal(encoder_apdu_parse((const uint8_t[]){0x00, 0xB2, 0x01, 0x04, 0x00}, 5, &p), 0);
    assert_true(p.has_le);
    assert_int_equal(p.le, 256);

    /* Lc that disagrees with the length, extended length, too short, too small a buffer. */
    assert_int_equal(encoder_apdu_parse((const uint8_t[]){0x00, 0xDC, 0x01, 0x04, 0x05, 0xAA}, 6, &p),
                     ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_apdu_parse((const uint8_t[]){0x00, 0xDC, 0x01, 0x04, 0x00, 0x00, 0x01}, 7, &p),
                     ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_apdu_parse((const uint8_t[]){0x00, 0xDC, 0x01}, 3, &p), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_apdu_build(&c4, apdu, 7, &n), ENCODER_ERROR_INVALID);
    struct encoder_apdu bad_le = {.ins = 0xB2, .has_le = true, .le = 257};
    assert_int_equal(encoder_apdu_build(&bad_le, apdu, sizeof apdu, &n), ENCODER_ERROR_INVALID);

    const uint8_t *d;
    size_t dl;
    uint16_t sw;
    assert_int_equal(encoder_response_parse((const uint8_t[]){0x01, 0x02, 0x6A, 0x83}, 4, &d, &dl, &sw), 0);
    assert_int_equal(dl, 2);
    assert_int_equal(sw, 0x6A83);
    assert_int_equal(encoder_response_parse((const uint8_t[]){0x90}, 1, &d, &dl, &sw),
                     ENCODER_ERROR_TRANSPORT);
}

static void test_status_words(void **state)
{
    (void)state;
    assert_int_equal(encoder_sw_to_error(0x9000), 0);
    assert_int_equal(encoder_sw_to_error(0x6A82), ENCODER_ERROR_NOT_SSC);
    assert_int_equal(encoder_sw_to_error(0x6A81), ENCODER_ERROR_NOT_SSC);
    assert_int_equal(encoder_sw_to_error(0x6A86), ENCODER_ERROR_NOT_SSC);
    assert_int_equal(encoder_sw_to_error(0x6D00), ENCODER_ERROR_NOT_SSC);
    assert_int_equal(encoder_sw_to_error(0x6E00), ENCODER_ERROR_NOT_SSC);
    assert_int_equal(encoder_sw_to_error(0x6982), ENCODER_ERROR_AUTH);
    assert_int_equal(encoder_sw_to_error(0x6983), ENCODER_ERROR_AUTH);
    assert_int_equal(encoder_sw_to_error(0x6985), ENCODER_ERROR_AUTH);
    assert_int_equal(encoder_sw_to_error(0x6300), ENCODER_ERROR_AUTH);
    assert_int_equal(encoder_sw_to_error(0x63C2), ENCODER_ERROR_AUTH);
    assert_int_equal(encoder_sw_to_error(0x6581), ENCODER_ERROR_WRITE);
    assert_int_equal(encoder_sw_to_error(0x6700), ENCODER_ERROR_STATUS);
    assert_int_equal(encoder_sw_to_error(0x6A83), ENCODER_ERROR_STATUS);
    assert_int_equal(encoder_sw_to_error(0x6F00), ENCODER_ERROR_STATUS);
    assert_string_equal(encoder_sw_describe(0x6581), "memory failure");
    assert_string_equal(encoder_sw_describe(0x6A82), "file or application not found");
    assert_string_equal(encoder_sw_describe(0x6C10), "wrong Le");
    assert_string_equal(encoder_sw_describe(0x63C1), "verification failed, tries left");
    assert_string_equal(encoder_strerror(ENCODER_ERROR_NOT_SSC), "not a social security card");
    assert_string_equal(encoder_strerror(-1000), "unknown encoder error");
}

/* ---- TLV, cn, an ---- */

static void test_tlv(void **state)
{
    (void)state;
    uint8_t out[300];
    size_t n = 0;
    assert_int_equal(encoder_tlv_build(0x0C, (const uint8_t[]){0x44, 0x01, 0x06}, 3, out, sizeof out, &n), 0);
    assert_bytes(out, n, 0x0C, 0x03, 0x44, 0x01, 0x06);

    uint8_t big[200];
    memset(big, 0x5A, sizeof big);
    assert_int_equal(encoder_tlv_build(0x4E, big, sizeof big, out, sizeof out, &n), 0);
    assert_int_equal(n, 203);
    assert_int_equal(out[1], 0x81);
    assert_int_equal(out[2], 200);
    assert_int_equal(encoder_tlv_build(0x4E, big, sizeof big, out, 100, &n), ENCODER_ERROR_INVALID);

    uint8_t tag = 0;
    const uint8_t *v = NULL;
    size_t vl = 0, used = 0;
    assert_int_equal(encoder_tlv_parse(out, n, &tag, &v, &vl, &used), 0);
    assert_int_equal(tag, 0x4E);
    assert_int_equal(vl, 200);
    assert_int_equal(used, 203);
    assert_ptr_equal(v, out + 3);

    /* 81 xx form with a short length is accepted too. */
    assert_int_equal(
        encoder_tlv_parse((const uint8_t[]){0x09, 0x81, 0x02, 0xAA, 0xBB}, 5, &tag, &v, &vl, &used), 0);
    assert_int_equal(vl, 2);
    assert_int_equal(used, 5);

    /* Truncated or unsupported forms fail cleanly and leave the outputs alone. */
    tag = 0x77;
    vl = 99;
    assert_int_equal(encoder_tlv_parse((const uint8_t[]){0x09}, 1, &tag, &v, &vl, &used),
                     ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_tlv_parse((const uint8_t[]){0x09, 0x05, 0x01, 0x02}, 4, &tag, &v, &vl, &used),
                     ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_tlv_parse((const uint8_t[]){0x09, 0x81}, 2, &tag, &v, &vl, &used),
                     ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_tlv_parse((const uint8_t[]){0x09, 0x81, 0x03, 0x01}, 4, &tag, &v, &vl, &used),
                     ENCODER_ERROR_INVALID);
    assert_int_equal(
        encoder_tlv_parse((const uint8_t[]){0x09, 0x82, 0x00, 0x01, 0x00}, 5, &tag, &v, &vl, &used),
        ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_tlv_parse((const uint8_t[]){0x09, 0x80, 0x00}, 3, &tag, &v, &vl, &used),
                     ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_tlv_parse(NULL, 0, &tag, &v, &vl, &used), ENCODER_ERROR_INVALID);
    assert_int_equal(tag, 0x77);
    assert_int_equal(vl, 99);
}

static void test_cn_an(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(encoder_cn_encode("20261128", out, 4), 0);
    assert_bytes(out, 4, 0x20, 0x26, 0x11, 0x28);
    assert_int_equal(encoder_cn_encode("440106", out, 3), 0);
    assert_bytes(out, 3, 0x44, 0x01, 0x06);
    assert_int_equal(encoder_cn_encode("12345", out, 3), 0);
    assert_bytes(out, 3, 0x12, 0x34, 0x5F);
    assert_int_equal(encoder_cn_encode("4401", out, 3), 0);
    assert_bytes(out, 3, 0x44, 0x01, 0xFF);
    assert_int_equal(encoder_cn_encode("01", out, 1), 0);
    assert_int_equal(out[0], 0x01);

    memset(out, 0xEE, sizeof out);
    assert_int_equal(encoder_cn_encode("1234567", out, 3), ENCODER_ERROR_ENCODING);
    assert_int_equal(encoder_cn_encode("12A4", out, 3), ENCODER_ERROR_ENCODING);
    assert_int_equal(encoder_cn_encode("", out, 3), ENCODER_ERROR_ENCODING);
    assert_int_equal(out[0], 0xEE); /* untouched on failure */

    assert_int_equal(encoder_an_encode("3.00", out, 4), 0);
    assert_bytes(out, 4, 0x33, 0x2E, 0x30, 0x30);
    assert_int_equal(encoder_an_encode("1", out, 4), 0);
    assert_bytes(out, 4, 0x31, 0x00, 0x00, 0x00);
    assert_int_equal(encoder_an_encode("12345", out, 4), ENCODER_ERROR_ENCODING);
    assert_int_equal(encoder_an_encode("\t", out, 4), ENCODER_ERROR_ENCODING);
}

/* ---- GBK names ---- */

static void test_gbk(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n = 0;
    char cause[128] = "";
    assert_int_equal(encoder_utf8_to_gbk("张三", out, sizeof out, &n, cause, sizeof cause), 0);
    assert_bytes(out, n, 0xD5, 0xC5, 0xC8, 0xFD);

    assert_int_equal(encoder_utf8_to_gbk(uyghur_name, out, sizeof out, &n, cause, sizeof cause), 0);
    assert_int_equal(n, sizeof uyghur_gbk);
    assert_memory_equal(out, uyghur_gbk, sizeof uyghur_gbk);

    assert_int_equal(encoder_utf8_to_gbk("\xE5\xBC", out, sizeof out, &n, cause, sizeof cause),
                     ENCODER_ERROR_ENCODING);
    assert_non_null(strstr(cause, "UTF-8"));
    assert_int_equal(encoder_utf8_to_gbk("张三", out, 3, &n, cause, sizeof cause), ENCODER_ERROR_ENCODING);
    assert_non_null(strstr(cause, "too long"));
}

static void test_name_split(void **state)
{
    (void)state;
    uint8_t f09[ENCODER_NAME_FIELD_LEN], ext[ENCODER_NAME_EXT_MAX];
    size_t ext_len = 99;
    char cause[128] = "";

    /* 17 characters, 34 bytes: 15 characters in 09, the last two (热木) in 4E. */
    assert_int_equal(encoder_name_encode(uyghur_name, f09, ext, &ext_len, cause, sizeof cause), 0);
    assert_memory_equal(f09, uyghur_gbk, 30);
    assert_bytes(ext, ext_len, 0xC8, 0xC8, 0xC4, 0xBE);

    /* A + 15 characters = 31 bytes: byte 30 would split a character, so 09 keeps 29 and is 00-padded. */
    assert_int_equal(
        encoder_name_encode("A张三张三张三张三张三张三张三张", f09, ext, &ext_len, cause, sizeof cause), 0);
    assert_int_equal(f09[0], 'A');
    assert_int_equal(f09[27], 0xC8); /* 14th character 三 ends at byte 29 */
    assert_int_equal(f09[28], 0xFD);
    assert_int_equal(f09[29], 0x00);
    assert_bytes(ext, ext_len, 0xD5, 0xC5);

    /* A short name: 00-padded, no extension. */
    assert_int_equal(encoder_name_encode("张三", f09, ext, &ext_len, cause, sizeof cause), 0);
    assert_int_equal(ext_len, 0);
    assert_int_equal(f09[3], 0xFD);
    assert_int_equal(f09[4], 0x00);
    assert_int_equal(f09[29], 0x00);

    /* Exactly 30 bytes: no extension. */
    assert_int_equal(
        encoder_name_encode("张三张三张三张三张三张三张三张", f09, ext, &ext_len, cause, sizeof cause), 0);
    assert_int_equal(ext_len, 0);

    assert_int_equal(encoder_gbk_prefix((const uint8_t[]){0x41, 0xD5, 0xC5, 0x80, 0x42}, 5, 2), 1);
    assert_int_equal(encoder_gbk_prefix((const uint8_t[]){0x41, 0xD5, 0xC5, 0x80, 0x42}, 5, 4), 4);
    assert_int_equal(encoder_gbk_prefix((const uint8_t[]){0x41, 0xD5}, 2, 30), 1); /* dangling lead byte */
}

static void test_name_errors(void **state)
{
    (void)state;
    uint8_t f09[ENCODER_NAME_FIELD_LEN], ext[ENCODER_NAME_EXT_MAX];
    size_t ext_len = 0;
    char cause[128] = "";

    assert_int_equal(encoder_name_encode("张\xF0\xA0\x80\x80三", f09, ext, &ext_len, cause, sizeof cause),
                     ENCODER_ERROR_ENCODING);
    assert_non_null(strstr(cause, "U+20000"));
    assert_non_null(strstr(cause, "\xF0\xA0\x80\x80")); /* the character itself, in UTF-8 */

    /* 46 characters = 92 bytes: more than 09 + 4E hold. */
    char longname[46 * 3 + 1] = "";
    for (int i = 0; i < 46; i++)
        strcat(longname, "张");
    assert_int_equal(encoder_name_encode(longname, f09, ext, &ext_len, cause, sizeof cause),
                     ENCODER_ERROR_ENCODING);
    assert_non_null(strstr(cause, "too long"));

    /* 25 characters = 50 bytes fill 09 (30) and 4E (20) exactly; 26 are refused before any card is touched */
    char fits[26 * 3 + 1] = "";
    for (int i = 0; i < 25; i++)
        strcat(fits, "张");
    assert_int_equal(encoder_name_encode(fits, f09, ext, &ext_len, cause, sizeof cause), 0);
    assert_int_equal(ext_len, 20);
    strcat(fits, "张");
    assert_int_equal(encoder_name_encode(fits, f09, ext, &ext_len, cause, sizeof cause),
                     ENCODER_ERROR_ENCODING);
    assert_string_equal(cause, "name: too long, more than 50 bytes in GBK");
    struct encoder_card_data d = sample_data(fits);
    struct encoder_result res;
    struct encoder_transport *t = open_sim(0, 3);
    struct encoder_key_service *ks = open_ks(test_master);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_ENCODING);
    assert_string_equal(res.atr_hex, ""); /* refused before the card was touched */
    encoder_key_service_free(ks);
    encoder_transport_close(t);

    assert_int_equal(encoder_name_encode("", f09, ext, &ext_len, cause, sizeof cause), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_name_encode("\xC0\x80", f09, ext, &ext_len, cause, sizeof cause),
                     ENCODER_ERROR_ENCODING); /* overlong NUL */
}

/* ---- transport: 61xx and 6Cxx ---- */

static void test_transport_61xx(void **state)
{
    (void)state;
    struct fake f = {0};
    fake_script(&f, 0, (const uint8_t[]){0x61, 0x05}, 2);
    fake_script(&f, 1, (const uint8_t[]){0x01, 0x02, 0x03, 0x04, 0x05, 0x90, 0x00}, 7);
    struct encoder_transport t = {.ops = &fake_ops, .ctx = &f};

    const uint8_t cmd[] = {0x00, 0xA4, 0x04, 0x00, 0x02, 0xAA, 0xBB, 0x00};
    uint8_t resp[ENCODER_RESP_MAX];
    size_t n = 0;
    assert_int_equal(encoder_transport_transmit(&t, cmd, sizeof cmd, resp, sizeof resp, &n), 0);
    assert_int_equal(f.step, 2);
    assert_bytes(f.sent[1], f.sent_len[1], 0x00, 0xC0, 0x00, 0x00, 0x05);
    assert_bytes(resp, n, 0x01, 0x02, 0x03, 0x04, 0x05, 0x90, 0x00);

    /* Chained: 61 02, then 2 bytes + 61 01, then 1 byte + 9000. */
    struct fake g = {0};
    fake_script(&g, 0, (const uint8_t[]){0x61, 0x02}, 2);
    fake_script(&g, 1, (const uint8_t[]){0xA1, 0xA2, 0x61, 0x01}, 4);
    fake_script(&g, 2, (const uint8_t[]){0xA3, 0x90, 0x00}, 3);
    t.ctx = &g;
    assert_int_equal(encoder_transport_transmit(&t, cmd, sizeof cmd, resp, sizeof resp, &n), 0);
    assert_bytes(g.sent[2], g.sent_len[2], 0x00, 0xC0, 0x00, 0x00, 0x01);
    assert_bytes(resp, n, 0xA1, 0xA2, 0xA3, 0x90, 0x00);

    /* More data than the caller's buffer holds is a transport failure, not an overflow. */
    struct fake h = {0};
    fake_script(&h, 0, (const uint8_t[]){0x61, 0x05}, 2);
    fake_script(&h, 1, (const uint8_t[]){0x01, 0x02, 0x03, 0x04, 0x05, 0x90, 0x00}, 7);
    t.ctx = &h;
    assert_int_equal(encoder_transport_transmit(&t, cmd, sizeof cmd, resp, 4, &n), ENCODER_ERROR_TRANSPORT);
}

static void test_transport_6cxx(void **state)
{
    (void)state;
    struct fake f = {0};
    fake_script(&f, 0, (const uint8_t[]){0x6C, 0x03}, 2);
    fake_script(&f, 1, (const uint8_t[]){0x0A, 0x01, 0x31, 0x90, 0x00}, 5);
    struct encoder_transport t = {.ops = &fake_ops, .ctx = &f};

    const uint8_t cmd[] = {0x00, 0xB2, 0x0A, 0x04, 0x00};
    uint8_t resp[ENCODER_RESP_MAX];
    size_t n = 0;
    assert_int_equal(encoder_transport_transmit(&t, cmd, sizeof cmd, resp, sizeof resp, &n), 0);
    assert_bytes(f.sent[1], f.sent_len[1], 0x00, 0xB2, 0x0A, 0x04, 0x03);
    assert_bytes(resp, n, 0x0A, 0x01, 0x31, 0x90, 0x00);

    /* A case-1 command gets an Le appended. */
    struct fake g = {0};
    fake_script(&g, 0, (const uint8_t[]){0x6C, 0x08}, 2);
    fake_script(&g, 1, (const uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00}, 10);
    t.ctx = &g;
    const uint8_t case1[] = {0x00, 0x84, 0x00, 0x00};
    assert_int_equal(encoder_transport_transmit(&t, case1, sizeof case1, resp, sizeof resp, &n), 0);
    assert_bytes(g.sent[1], g.sent_len[1], 0x00, 0x84, 0x00, 0x00, 0x08);
    assert_int_equal(n, 10);

    /* The same helper under the card operations: a read record that needs the resend. */
    struct fake h = {0};
    fake_script(&h, 0, (const uint8_t[]){0x6C, 0x03}, 2);
    fake_script(&h, 1, (const uint8_t[]){0x0A, 0x01, 0x32, 0x90, 0x00}, 5);
    t.ctx = &h;
    struct encoder_card card = {.t = &t, .ops = encoder_ssse_ops()};
    uint8_t rec[16];
    size_t rec_len = 0;
    assert_int_equal(card.ops->read_record(&card, 0x04, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &rec_len), 0);
    assert_bytes(h.sent[0], h.sent_len[0], 0x00, 0xB2, 0x04, 0x04, 0x10); /* Le = the buffer size */
    assert_bytes(rec, rec_len, 0x0A, 0x01, 0x32);
}

/* ---- SM4 and the cryptogram ---- */

static void test_sm4_kat(void **state)
{
    (void)state;
    /* GB/T 32907-2016, appendix A, example 1. */
    const uint8_t key[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
                             0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10};
    uint8_t out[16];
    assert_int_equal(encoder_sm4_ecb_encrypt(key, key, 16, out), 0);
    assert_bytes(out, 16, 0x68, 0x1E, 0xDF, 0x34, 0xD2, 0x06, 0x96, 0x5E, 0x86, 0xB3, 0xE9, 0x4F, 0x53, 0x6E,
                 0x42, 0x46);
    assert_int_equal(encoder_sm4_ecb_encrypt(key, key, 15, out), ENCODER_ERROR_INVALID);
}

static void test_key_scheme(void **state)
{
    (void)state;
    /* 3DES: DES/3DES known answer (FIPS 81 / SP 800-67 style vector: K1 = K2 = 0123456789ABCDEF is DES) */
    const uint8_t k[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
                           0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    const uint8_t pt[8] = {0x4E, 0x6F, 0x77, 0x20, 0x69, 0x73, 0x20, 0x74}; /* "Now is t" */
    uint8_t ct[16];
    assert_int_equal(encoder_block_encrypt(ENCODER_ALG_3DES, k, pt, 8, ct), 0);
    assert_bytes(ct, 8, 0x3F, 0xA4, 0x0E, 0x8A, 0x98, 0x4D, 0x48, 0x15);
    assert_int_equal(encoder_block_encrypt(ENCODER_ALG_3DES, k, pt, 7, ct), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_block_encrypt(ENCODER_ALG_SSF33, k, pt, 8, ct), ENCODER_ERROR_INVALID);

    /* dispersal factors: region "440100" -> "44" "0000sh", "440100" "sx", then ATR T6..T13 */
    struct encoder_card_ref ref = {
        .region = "440100", .alg = ENCODER_ALG_SM4, .atr_hist = {0x90, 0x73, 0x44, 0x01, 1, 2, 3, 4}};
    uint8_t f[3][8];
    assert_int_equal(encoder_dispersal_factors(&ref, f), 0);
    assert_memory_equal(f[0], "440000sh", 8);
    assert_memory_equal(f[1], "440100sx", 8);
    assert_memory_equal(f[2], ref.atr_hist, 8);

    /* card key, SM4: three times K = SM4_K(f || ~f) */
    uint8_t want[16], key[16], in[16];
    memcpy(want, test_master, 16);
    for (int level = 0; level < 3; level++) {
        for (int i = 0; i < 8; i++) {
            in[i] = f[level][i];
            in[8 + i] = (uint8_t)~f[level][i];
        }
        assert_int_equal(encoder_sm4_ecb_encrypt(want, in, 16, key), 0);
        memcpy(want, key, 16);
    }
    assert_int_equal(encoder_ssse_card_key(test_master, &ref, key), 0);
    assert_memory_equal(key, want, 16);

    /* authentication, SM4: SK = SM4_K(R || 0), C = SM4_SK(orig || 0), C_L xor C_R */
    const uint8_t process[8] = {0xC0, 0xFF, 0xEE, 0x00, 0x11, 0x22, 0x33, 0x44};
    const uint8_t original[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t sk[16], c[16], blk[16] = {0}, auth[8], got[8];
    memcpy(blk, process, 8);
    assert_int_equal(encoder_sm4_ecb_encrypt(key, blk, 16, sk), 0);
    memset(blk, 0, 16);
    memcpy(blk, original, 8);
    assert_int_equal(encoder_sm4_ecb_encrypt(sk, blk, 16, c), 0);
    for (int i = 0; i < 8; i++)
        auth[i] = c[i] ^ c[8 + i];
    assert_int_equal(encoder_ssse_auth(ENCODER_ALG_SM4, key, process, original, got), 0);
    assert_memory_equal(got, auth, 8);

    /* the soft key service gives the same, for every role (one test root) */
    struct encoder_key_service *ks = open_ks(test_master);
    memset(got, 0, sizeof got);
    assert_int_equal(encoder_key_service_auth(ks, &ref, ENCODER_KEY_UKSSSE, process, original, got), 0);
    assert_memory_equal(got, auth, 8);
    assert_int_equal(encoder_key_service_auth(ks, &ref, ENCODER_KEY_IRK, process, original, got), 0);
    assert_memory_equal(got, auth, 8);
    /* MAC, SM4: CBC over data 80 00.., folded to 4 bytes */
    const uint8_t hdr[5] = {0x84, 0x1E, 0x00, 0x01, 0x04};
    uint8_t mac[4], x[16] = {0};
    memcpy(x, hdr, 5);
    x[5] = 0x80;
    assert_int_equal(encoder_sm4_ecb_encrypt(sk, x, 16, c), 0);
    assert_int_equal(encoder_key_service_mac(ks, &ref, ENCODER_KEY_STKSSSE, process, hdr, 5, mac), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(mac[i], c[i] ^ c[4 + i] ^ c[8 + i] ^ c[12 + i]);
    /* a region that is not 6 digits, an unknown algorithm: refused */
    struct encoder_card_ref bad = ref;
    memcpy(bad.region, "44A100", 7);
    assert_int_equal(encoder_key_service_auth(ks, &bad, ENCODER_KEY_IRK, process, original, got),
                     ENCODER_ERROR_INVALID);
    bad = ref;
    bad.alg = ENCODER_ALG_SSF33;
    assert_int_equal(encoder_key_service_auth(ks, &bad, ENCODER_KEY_IRK, process, original, got),
                     ENCODER_ERROR_INVALID);
    /* 3DES authentication: SK = 3DES_K(R) (8 bytes), AUTH = DES_SK(original) */
    ref.alg = ENCODER_ALG_3DES;
    assert_int_equal(encoder_ssse_card_key(test_master, &ref, key), 0);
    uint8_t sk8[16];
    assert_int_equal(encoder_block_encrypt(ENCODER_ALG_3DES, key, process, 8, sk8), 0);
    memcpy(sk8 + 8, sk8, 8);
    assert_int_equal(encoder_block_encrypt(ENCODER_ALG_3DES, sk8, original, 8, auth), 0);
    assert_int_equal(encoder_key_service_auth(ks, &ref, ENCODER_KEY_PUK, process, original, got), 0);
    assert_memory_equal(got, auth, 8);
    encoder_key_service_free(ks);
    encoder_key_service_free(NULL);
    assert_int_equal(encoder_key_service_soft_new(NULL, &ks), ENCODER_ERROR_INVALID);
}

static void test_fci_and_atr(void **state)
{
    (void)state;
    /* [TR1] l.4: 6F1C 840F<name> A509 88011E 9F0C03 860103 */
    uint8_t fci[64] = {0x6F, 0x1C, 0x84, 0x0F};
    memcpy(fci + 4, encoder_ssse_aid, 15);
    const uint8_t a5[] = {0xA5, 0x09, 0x88, 0x01, 0x1E, 0x9F, 0x0C, 0x03, 0x86, 0x01, 0x03};
    memcpy(fci + 19, a5, sizeof a5);
    uint8_t alg = 0xEE;
    assert_int_equal(encoder_ssse_fci_parse(fci, 30, &alg), 0);
    assert_int_equal(alg, ENCODER_ALG_SM4);
    /* without the flag: 0 (the region rule applies) */
    const uint8_t bare[] = {0x6F, 0x05, 0x84, 0x03, 0x73, 0x78, 0x31};
    assert_int_equal(encoder_ssse_fci_parse(bare, sizeof bare, &alg), 0);
    assert_int_equal(alg, 0);
    assert_int_equal(encoder_ssse_fci_parse(fci, 29, &alg), ENCODER_ERROR_INVALID); /* truncated */
    assert_int_equal(encoder_ssse_fci_parse((const uint8_t[]){0x62, 0x00}, 2, &alg), ENCODER_ERROR_INVALID);

    /* [TR1] l.1: 3B 6D 00 00 00 81 4A 44 46 86 60 51 99 00 00 01 AC -> T6..T13 = 86 60 51 99 00 00 01 AC */
    const uint8_t atr[] = {0x3B, 0x6D, 0x00, 0x00, 0x00, 0x81, 0x4A, 0x44, 0x46,
                           0x86, 0x60, 0x51, 0x99, 0x00, 0x00, 0x01, 0xAC};
    uint8_t hist[8];
    assert_int_equal(encoder_atr_hist_factor(atr, sizeof atr, hist), 0);
    assert_bytes(hist, 8, 0x86, 0x60, 0x51, 0x99, 0x00, 0x00, 0x01, 0xAC);
    assert_int_equal(encoder_atr_hist_factor(atr, sizeof atr - 1, hist), ENCODER_ERROR_ATR);
    const uint8_t short_hist[] = {0x3B, 0x65, 0x00, 0x00, 0x20, 0x63, 0xCB, 0xA0, 0x00};
    assert_int_equal(encoder_atr_hist_factor(short_hist, sizeof short_hist, hist), ENCODER_ERROR_ATR);
}

/* ---- personalisation against the simulated card ---- */

static void test_personalize_sim(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 42);
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_card_data d = sample_data("张三");
    struct encoder_result res;
    memset(&res, 0xAA, sizeof res);

    assert_int_equal(encoder_personalize(t, ks, &d, &res), 0);
    assert_string_equal(res.cause, "");
    assert_memory_equal(res.atr_hex, "3B6D0000806411650190734401", 26); /* then the card serial */
    assert_int_equal(strlen(res.atr_hex), 34);
    assert_int_equal(strlen(res.card_id_hex), 32);
    assert_memory_equal(res.card_id_hex + 6, "D156000005", 10);
    assert_memory_equal(res.card_id_hex, "440100", 6);
    assert_string_equal(t->name, "sim");

    /* The card is still in the station: read what it holds, by record number (P2 04). */
    struct encoder_card card = {.t = t, .ops = encoder_ssse_ops()};
    uint8_t rec[ENCODER_RESP_MAX];
    size_t n = 0;
    assert_int_equal(card.ops->select_ef(&card, ENCODER_FID_EF05), 0);
    assert_int_equal(card.ops->read_record(&card, 5, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_bytes(rec, n, 0x05, 0x04, 0x20, 0x26, 0x11, 0x28);
    assert_int_equal(card.ops->read_record(&card, 7, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_bytes(rec, n, 0x07, 0x09, 'A', '0', '0', '0', '0', '0', '0', '1', '7');
    /* the maker's initialising organisation, cn: 91 56 00 00 02 ‖ region ‖ region ‖ sequence, untouched */
    assert_int_equal(card.ops->read_record(&card, 4, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_bytes(rec, n, 0x04, 0x0C, 0x91, 0x56, 0x00, 0x00, 0x02, 0x44, 0x01, 0x00, 0x44, 0x01, 0x00, 0x01);
    assert_int_equal(card.ops->select_ef(&card, ENCODER_FID_EF06), 0);
    /* EF06 record 1 is tag 08, record 2 tag 09, record 3 tag 4E, 4..7 tags 0A..0D */
    assert_int_equal(card.ops->read_record(&card, 1, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_int_equal(n, 20);
    assert_bytes(rec, 4, 0x08, 0x12, '4', '4');
    assert_int_equal(card.ops->read_record(&card, 2, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_int_equal(n, 32);
    assert_bytes(rec, 6, 0x09, 0x1E, 0xD5, 0xC5, 0xC8, 0xFD);
    assert_int_equal(rec[31], 0x00);
    assert_int_equal(card.ops->read_record(&card, 5, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_bytes(rec, n, 0x0B, 0x01, 0x01);
    assert_int_equal(card.ops->read_record(&card, 6, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_bytes(rec, n, 0x0C, 0x03, 0x44, 0x01, 0x06);
    assert_int_equal(card.ops->read_record(&card, 7, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_bytes(rec, n, 0x0D, 0x04, 0x19, 0x90, 0x03, 0x07);
    /* by identifier (P2 00): the same record */
    assert_int_equal(card.ops->read_record(&card, 0x0D, ENCODER_REC_BY_ID, rec, sizeof rec, &n), 0);
    assert_bytes(rec, n, 0x0D, 0x04, 0x19, 0x90, 0x03, 0x07);
    /* A short name: the extension record is written at its full 20 bytes, all 00. */
    assert_int_equal(card.ops->read_record(&card, 3, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_int_equal(n, 22);
    assert_bytes(rec, 2, 0x4E, 0x14);
    for (size_t i = 2; i < n; i++)
        assert_int_equal(rec[i], 0x00);
    /* what P1 = tag with P2 = 04 asked for before: record 0x0D of EF06 does not exist */
    assert_int_equal(card.ops->read_record(&card, 0x0D, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n),
                     ENCODER_ERROR_STATUS);
    assert_int_equal(card.sw, 0x6A83);

    /* The next personalisation gets a new blank with a new identifier. */
    char first_id[33];
    memcpy(first_id, res.card_id_hex, sizeof first_id);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), 0);
    assert_string_not_equal(res.card_id_hex, first_id);

    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

static void test_personalize_long_name(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 7);
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_card_data d = sample_data(uyghur_name);
    d.ethnicity = 5; /* 维吾尔族 */
    struct encoder_result res;
    assert_int_equal(encoder_personalize(t, ks, &d, &res), 0);

    struct encoder_card card = {.t = t, .ops = encoder_ssse_ops()};
    uint8_t rec[ENCODER_RESP_MAX];
    size_t n = 0;
    assert_int_equal(card.ops->select_ef(&card, ENCODER_FID_EF06), 0);
    assert_int_equal(card.ops->read_record(&card, 2, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_int_equal(n, 32);
    assert_memory_equal(rec + 2, uyghur_gbk, 30);
    assert_int_equal(card.ops->read_record(&card, 3, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_int_equal(n, 22); /* 4E at its full 20 bytes, 00-padded */
    assert_bytes(rec, 6, 0x4E, 0x14, 0xC8, 0xC8, 0xC4, 0xBE);
    assert_int_equal(rec[6], 0x00);

    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

static void test_personalize_bad_data(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 1);
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_result res;

    struct encoder_card_data d = sample_data("张\xF0\xA0\x80\x80");
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_ENCODING);
    assert_non_null(strstr(res.cause, "U+20000"));
    assert_string_equal(res.atr_hex, ""); /* refused before the card was touched */

    d = sample_data("张三");
    memcpy(d.card_number, "A0000001", 9);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_INVALID);
    assert_non_null(strstr(res.cause, "card number"));

    d = sample_data("张三");
    memcpy(d.birth_date, "19901307", 9);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_INVALID);
    assert_non_null(strstr(res.cause, "birth date"));

    d = sample_data("张三");
    memcpy(d.spec_version, "3\n0", 4);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_INVALID);
    assert_non_null(strstr(res.cause, "spec version"));

    d = sample_data("张三");
    memcpy(d.expiry_date, "20261127", 9);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_INVALID);
    assert_non_null(strstr(res.cause, "expiry date"));

    d = sample_data("张三");
    d.ssn[17] = 'x';
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_INVALID);
    assert_non_null(strstr(res.cause, "social security number"));
    assert_null(strstr(res.cause, "4401")); /* causes never carry the personal data itself */

    d = sample_data("张三");
    d.ethnicity = 0;
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_INVALID);

    d = sample_data(NULL);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_INVALID);

    d = sample_data("张三");
    assert_int_equal(encoder_personalize(NULL, ks, &d, &res), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_personalize(t, NULL, &d, &res), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_personalize(t, ks, NULL, &res), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_personalize(t, ks, &d, NULL), ENCODER_ERROR_INVALID);

    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

static void test_personalize_fault(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(1000, 3);
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_card_data d = sample_data("张三");
    struct encoder_result res;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_WRITE);
        assert_non_null(strstr(res.cause, "chip write failed on EF0"));
        assert_non_null(strstr(res.cause, "status 6581 (memory failure)"));
        assert_int_equal(strlen(res.card_id_hex), 32); /* known, for the spoiled card's record */
        /* a failure at or after the first write: the card holds data, so it was blocked and reads back so */
        if (res.data_written) {
            assert_true(res.blocked);
            assert_non_null(strstr(res.cause, "; card blocked"));
        }
    }
    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

static void test_personalize_not_ssc(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 5);
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_card_data d = sample_data("张三");
    struct encoder_result res;
    assert_int_equal(encoder_sim_set_foreign_cards(t, true), 0);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_NOT_SSC);
    assert_non_null(strstr(res.cause, "not a social security card: SSSE application not found"));
    assert_non_null(strstr(res.cause, "6A82"));
    assert_int_not_equal(res.atr_hex[0], '\0');
    assert_string_equal(res.card_id_hex, "");

    assert_int_equal(encoder_sim_set_foreign_cards(t, false), 0);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), 0);

    struct encoder_transport other = {.ops = &fake_ops};
    assert_int_equal(encoder_sim_set_foreign_cards(&other, true), ENCODER_ERROR_INVALID);
    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

static void test_personalize_wrong_key(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 9);
    uint8_t other[16];
    memcpy(other, test_master, sizeof other);
    other[15] ^= 0x01;
    struct encoder_key_service *ks = open_ks(other);
    struct encoder_card_data d = sample_data("张三");
    struct encoder_result res;
    /* INTERNAL AUTHENTICATE comes first: the card is not one of this issuer's, nothing is written */
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_NOT_GENUINE);
    assert_non_null(strstr(res.cause, "not a genuine card"));
    assert_false(res.data_written);
    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

/* A transport in front of the sim that spoils READ RECORD answers for one record, as a weak EEPROM would. */
struct tamper {
    struct encoder_transport *inner;
    uint8_t rec;
};

static int tamper_reset(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len)
{
    struct tamper *tp = ctx;
    return tp->inner->ops->reset(tp->inner->ctx, atr, atr_max, ret_atr_len);
}

static int tamper_transmit(void *ctx, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_max,
                           size_t *ret_resp_len)
{
    struct tamper *tp = ctx;
    int r = tp->inner->ops->transmit(tp->inner->ctx, apdu, apdu_len, resp, resp_max, ret_resp_len);
    if (r == 0 && apdu_len >= 4 && apdu[1] == 0xB2 && apdu[2] == tp->rec && *ret_resp_len > 3)
        resp[*ret_resp_len - 3] ^= 0x01; /* last data byte */
    return r;
}

static const struct encoder_transport_ops tamper_ops = {.reset = tamper_reset, .transmit = tamper_transmit};

static void test_personalize_readback(void **state)
{
    (void)state;
    struct tamper tp = {.inner = open_sim(0, 11), .rec = 7};
    struct encoder_transport t = {.ops = &tamper_ops, .ctx = &tp};
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_card_data d = sample_data("张三");
    struct encoder_result res;
    assert_int_equal(encoder_personalize(&t, ks, &d, &res), ENCODER_ERROR_READBACK);
    assert_string_equal(res.cause, "read-back mismatch on EF05 record 7; card blocked");
    assert_true(res.blocked);
    encoder_key_service_free(ks);
    encoder_transport_close(tp.inner);
}

static void test_personalize_card_ms(void **state)
{
    (void)state;
    struct encoder_sim_config cfg = {.seed = 1, .card_ms = 60};
    memcpy(cfg.master_key, test_master, sizeof test_master);
    struct encoder_transport *t = NULL;
    assert_int_equal(encoder_open_sim(&cfg, &t), 0);
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_card_data d = sample_data("张三");
    struct encoder_result res;

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (long)(b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms >= 50);
    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

/* ---- the simulated card's access rules and ISO behaviour ---- */

static void select_ssse_ef05(struct encoder_card *card)
{
    assert_int_equal(card->ops->select_aid(card, encoder_ssse_aid, sizeof encoder_ssse_aid, NULL, 0, NULL),
                     0);
    assert_int_equal(card->ops->select_ef(card, ENCODER_FID_EF05), 0);
}

static void read_card_id(struct encoder_card *card, uint8_t id[16])
{
    uint8_t rec[ENCODER_RESP_MAX];
    size_t n = 0;
    assert_int_equal(card->ops->read_record(card, 1, ENCODER_REC_BY_NUMBER, rec, sizeof rec, &n), 0);
    assert_int_equal(n, 18);
    assert_int_equal(rec[0], 0x01);
    assert_int_equal(rec[1], 0x10);
    memcpy(id, rec + 2, 16);
}

/* What the key service needs to know about the sim card in t (SM4, region 440100, ATR T6..T13). */
static void sim_ref(struct encoder_transport *t, struct encoder_card *card, struct encoder_card_ref *ref)
{
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len = 0;
    memset(ref, 0, sizeof *ref);
    assert_int_equal(t->ops->reset(t->ctx, atr, sizeof atr, &atr_len), 0);
    assert_int_equal(encoder_atr_hist_factor(atr, atr_len, ref->atr_hist), 0);
    select_ssse_ef05(card);
    read_card_id(card, ref->card_id);
    memcpy(ref->region, "440100", 7);
    ref->alg = ENCODER_ALG_SM4;
}

static void auth_data(struct encoder_card *card, const struct encoder_card_ref *ref, uint8_t data[16])
{
    uint8_t process[8];
    struct encoder_key_service *ks = open_ks(test_master);
    assert_int_equal(card->ops->get_challenge(card, process, sizeof process), 0);
    memset(data + 8, 0xA5, 8);
    assert_int_equal(encoder_key_service_auth(ks, ref, ENCODER_KEY_UKSSSE, process, data + 8, data), 0);
    encoder_key_service_free(ks);
}

static void test_sim_requires_auth(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 21);
    struct encoder_card card = {.t = t, .ops = encoder_ssse_ops()};
    struct encoder_card_ref ref;
    sim_ref(t, &card, &ref);
    const uint8_t tlv[] = {0x05, 0x04, 0x20, 0x26, 0x01, 0x01};

    /* No authentication. */
    assert_int_equal(card.ops->update_record(&card, 5, ENCODER_REC_BY_NUMBER, tlv, sizeof tlv),
                     ENCODER_ERROR_AUTH);
    assert_int_equal(card.sw, 0x6982);

    /* Authentication without a challenge. */
    uint8_t data[16] = {0};
    assert_int_equal(card.ops->external_authenticate(&card, ENCODER_KID_UKSSSE, data, sizeof data),
                     ENCODER_ERROR_AUTH);
    assert_int_equal(card.sw, 0x6984);

    /* Wrong authentication data: 63Cx counts down. */
    uint8_t challenge[8];
    assert_int_equal(card.ops->get_challenge(&card, challenge, sizeof challenge), 0);
    assert_int_equal(card.ops->external_authenticate(&card, ENCODER_KID_UKSSSE, data, sizeof data),
                     ENCODER_ERROR_AUTH);
    assert_int_equal(card.sw, 0x63C4);
    assert_int_equal(card.ops->update_record(&card, 5, ENCODER_REC_BY_NUMBER, tlv, sizeof tlv),
                     ENCODER_ERROR_AUTH);

    /* The old key id 01 is no key of the SSSE application. */
    auth_data(&card, &ref, data);
    assert_int_equal(card.ops->external_authenticate(&card, 0x01, data, sizeof data), ENCODER_ERROR_STATUS);
    assert_int_equal(card.sw, 0x6A88);

    /* Right data for UKSSSE (04): writes are allowed, except on the maker's records 01..04. */
    auth_data(&card, &ref, data);
    assert_int_equal(card.ops->external_authenticate(&card, ENCODER_KID_UKSSSE, data, sizeof data), 0);
    assert_int_equal(card.ops->update_record(&card, 5, ENCODER_REC_BY_NUMBER, tlv, sizeof tlv), 0);
    const uint8_t type_tlv[] = {0x02, 0x01, '3'};
    assert_int_equal(card.ops->update_record(&card, 2, ENCODER_REC_BY_NUMBER, type_tlv, sizeof type_tlv),
                     ENCODER_ERROR_AUTH);
    assert_int_equal(card.sw, 0x6985);

    /* Records have fixed lengths and carry their own tag. */
    const uint8_t short_tlv[] = {0x05, 0x02, 0x20, 0x26};
    assert_int_equal(card.ops->update_record(&card, 5, ENCODER_REC_BY_NUMBER, short_tlv, sizeof short_tlv),
                     ENCODER_ERROR_STATUS);
    assert_int_equal(card.sw, 0x6700);
    const uint8_t wrong_tag[] = {0x06, 0x04, 0x20, 0x26, 0x01, 0x01};
    assert_int_equal(card.ops->update_record(&card, 5, ENCODER_REC_BY_NUMBER, wrong_tag, sizeof wrong_tag),
                     ENCODER_ERROR_STATUS);
    assert_int_equal(card.sw, 0x6A85);
    /* by identifier (P2 00) the same record */
    assert_int_equal(card.ops->update_record(&card, 0x05, ENCODER_REC_BY_ID, tlv, sizeof tlv), 0);

    /* A reset is a new blank card: unauthenticated again. */
    power_up(t);
    select_ssse_ef05(&card);
    assert_int_equal(card.ops->update_record(&card, 5, ENCODER_REC_BY_NUMBER, tlv, sizeof tlv),
                     ENCODER_ERROR_AUTH);
    assert_int_equal(card.sw, 0x6982);
    encoder_transport_close(t);
}

static void test_sim_iso_behaviour(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 31);

    /* No card powered yet. */
    uint8_t resp[ENCODER_RESP_MAX];
    size_t n;
    const uint8_t get_challenge[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    assert_int_equal(t->ops->transmit(t->ctx, get_challenge, sizeof get_challenge, resp, sizeof resp, &n),
                     ENCODER_ERROR_NO_CARD);
    power_up(t);

    assert_int_equal(send_apdu(t, (const uint8_t[]){0x00, 0xCA, 0x00, 0x00, 0x00}, 5, NULL, NULL), 0x6D00);
    assert_int_equal(send_apdu(t, (const uint8_t[]){0x80, 0xB2, 0x01, 0x04, 0x00}, 5, NULL, NULL), 0x6E00);
    /* READ RECORD before any EF is selected. */
    assert_int_equal(send_apdu(t, (const uint8_t[]){0x00, 0xB2, 0x01, 0x04, 0x00}, 5, NULL, NULL), 0x6986);
    /* GET RESPONSE with nothing pending. */
    assert_int_equal(send_apdu(t, (const uint8_t[]){0x00, 0xC0, 0x00, 0x00, 0x05}, 5, NULL, NULL), 0x6985);
    /* An unknown AID. */
    assert_int_equal(
        send_apdu(t, (const uint8_t[]){0x00, 0xA4, 0x04, 0x00, 0x05, 1, 2, 3, 4, 5}, 10, NULL, NULL), 0x6A82);

    /* SELECT with Le: the card answers 61xx and the transport fetches the FCI. */
    uint8_t cmd[ENCODER_APDU_MAX];
    size_t cmd_len = 0;
    struct encoder_apdu sel = {.ins = 0xA4,
                               .p1 = 0x04,
                               .data = encoder_ssse_aid,
                               .lc = ENCODER_SSSE_AID_LEN,
                               .has_le = true,
                               .le = 256};
    assert_int_equal(encoder_apdu_build(&sel, cmd, sizeof cmd, &cmd_len), 0);
    uint8_t fci[ENCODER_RESP_MAX];
    size_t fci_len = 0;
    assert_int_equal(send_apdu(t, cmd, cmd_len, fci, &fci_len), 0x9000);
    assert_int_equal(fci_len, 30);
    uint8_t alg = 0;
    assert_int_equal(encoder_ssse_fci_parse(fci, fci_len, &alg), 0);
    assert_int_equal(alg, ENCODER_ALG_SM4);
    assert_int_equal(fci[0], 0x6F);
    assert_int_equal(fci[2], 0x84);
    assert_memory_equal(fci + 4, encoder_ssse_aid, ENCODER_SSSE_AID_LEN);
    /* Raw: the same SELECT answers 61 1E; GET RESPONSE in two parts answers 5 bytes + 61 19, then the rest.
     */
    assert_int_equal(t->ops->transmit(t->ctx, cmd, cmd_len, resp, sizeof resp, &n), 0);
    assert_bytes(resp, n, 0x61, 0x1E);
    assert_int_equal(
        t->ops->transmit(t->ctx, (const uint8_t[]){0x00, 0xC0, 0x00, 0x00, 0x05}, 5, resp, sizeof resp, &n),
        0);
    assert_bytes(resp, n, 0x6F, 0x1C, 0x84, 0x0F, 0x73, 0x61, 0x19);
    assert_int_equal(
        t->ops->transmit(t->ctx, (const uint8_t[]){0x00, 0xC0, 0x00, 0x00, 0x19}, 5, resp, sizeof resp, &n),
        0);
    assert_int_equal(n, 27);
    assert_bytes(resp + 25, 2, 0x90, 0x00);

    /* Records of a blank card exist with their fill (cn FF, an 00); records past 7 answer 6A83; SFI works. */
    assert_int_equal(send_apdu(t, (const uint8_t[]){0x00, 0xA4, 0x02, 0x00, 0x02, 0xEF, 0x07}, 7, NULL, NULL),
                     0x6A82);
    assert_int_equal(send_apdu(t, (const uint8_t[]){0x00, 0xB2, 0x08, 0x2C, 0x00}, 5, NULL, NULL), 0x6A83);
    uint8_t fill[ENCODER_RESP_MAX];
    size_t fill_len = 0;
    assert_int_equal(send_apdu(t, (const uint8_t[]){0x00, 0xB2, 0x05, 0x2C, 0x00}, 5, fill, &fill_len),
                     0x9000);
    assert_bytes(fill, fill_len, 0x05, 0x04, 0xFF, 0xFF, 0xFF, 0xFF);
    uint8_t rec[ENCODER_RESP_MAX];
    size_t rec_len = 0;
    assert_int_equal(send_apdu(t, (const uint8_t[]){0x00, 0xB2, 0x01, 0x2C, 0x00}, 5, rec, &rec_len), 0x9000);
    assert_int_equal(rec_len, 18);
    assert_bytes(rec, 3, 0x01, 0x10, 0x44);
    /* Raw, without the transport's help, a wrong Le gets 6Cxx. */
    assert_int_equal(
        t->ops->transmit(t->ctx, (const uint8_t[]){0x00, 0xB2, 0x01, 0x04, 0x00}, 5, resp, sizeof resp, &n),
        0);
    assert_bytes(resp, n, 0x6C, 0x12);
    /* Malformed APDU. */
    assert_int_equal(send_apdu(t, (const uint8_t[]){0x00, 0xDC, 0x01, 0x04, 0x09, 0x01}, 6, NULL, NULL),
                     0x6700);
    encoder_transport_close(t);
}

static void test_sim_pin(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 41);
    power_up(t);
    struct encoder_card card = {.t = t, .ops = encoder_ssse_ops()};
    assert_int_equal(card.ops->select_aid(&card, encoder_ssse_aid, sizeof encoder_ssse_aid, NULL, 0, NULL),
                     0);

    int tries = -1;
    assert_int_equal(card.ops->verify_pin(&card, "123456", &tries), 0);
    assert_int_equal(tries, -1);
    assert_int_equal(card.ops->verify_pin(&card, "111111", &tries), ENCODER_ERROR_AUTH);
    assert_int_equal(card.sw, 0x63C2);
    assert_int_equal(tries, 2);
    assert_int_equal(card.ops->verify_pin(&card, "123456", &tries), 0); /* right PIN resets the counter */
    for (int expect = 2; expect >= 0; expect--) {
        assert_int_equal(card.ops->verify_pin(&card, "654321", &tries), ENCODER_ERROR_AUTH);
        assert_int_equal(tries, expect);
    }
    assert_int_equal(card.ops->verify_pin(&card, "123456", &tries), ENCODER_ERROR_AUTH);
    assert_int_equal(card.sw, 0x6983);
    assert_int_equal(card.ops->verify_pin(&card, "12", &tries), ENCODER_ERROR_INVALID);

    /* The ISO base addresses a specific PIN (P2 = 80) that the SSSE card does not have, and has no 84 24. */
    power_up(t);
    assert_int_equal(card.ops->select_aid(&card, encoder_ssse_aid, sizeof encoder_ssse_aid, NULL, 0, NULL),
                     0);
    card.ops = encoder_iso7816_ops();
    assert_int_equal(card.ops->verify_pin(&card, "123456", NULL), ENCODER_ERROR_STATUS);
    assert_int_equal(card.sw, 0x6A88);
    assert_null(card.ops->pin_unblock);
    assert_null(card.ops->application_block);
    /* The old initial-PIN command (RESET RETRY COUNTER) is not an SSC command. */
    assert_int_equal(
        send_apdu(t, (const uint8_t[]){0x00, 0x2C, 0x02, 0x00, 0x03, 0x12, 0x34, 0x56}, 8, NULL, NULL),
        0x6D00);
    encoder_transport_close(t);
}

/* The PIN commands' bytes: VERIFY 00 20 00 00 03 <BCD>, 84 24 00 00 04 <MAC>, 84 1E 00 01 04 <MAC>. */
static void test_pin_block_apdus(void **state)
{
    (void)state;
    struct fake f = {0};
    struct encoder_transport t = {.ops = &fake_ops, .ctx = &f};
    struct encoder_card card = {.t = &t, .ops = encoder_ssse_ops()};
    for (size_t i = 0; i < 3; i++)
        fake_script(&f, i, (const uint8_t[]){0x90, 0x00}, 2);
    fake_script(&f, 3, (const uint8_t[]){0x69, 0x88}, 2);
    assert_int_equal(card.ops->verify_pin(&card, "12345", NULL), 0);
    assert_bytes(f.sent[0], f.sent_len[0], 0x00, 0x20, 0x00, 0x00, 0x03, 0x12, 0x34, 0x5F);
    const uint8_t mac[4] = {0xA1, 0xB2, 0xC3, 0xD4};
    assert_int_equal(card.ops->pin_unblock(&card, 0x00, mac, 4), 0);
    assert_bytes(f.sent[1], f.sent_len[1], 0x84, 0x24, 0x00, 0x00, 0x04, 0xA1, 0xB2, 0xC3, 0xD4);
    assert_int_equal(card.ops->application_block(&card, mac), 0);
    assert_bytes(f.sent[2], f.sent_len[2], 0x84, 0x1E, 0x00, 0x01, 0x04, 0xA1, 0xB2, 0xC3, 0xD4);
    assert_int_equal(card.ops->application_block(&card, mac), ENCODER_ERROR_STATUS);
    assert_int_equal(card.sw, 0x6988);
    assert_int_equal(card.ops->pin_unblock(&card, 0x01, mac, 4), ENCODER_ERROR_INVALID);
}

static void test_sim_deterministic(void **state)
{
    (void)state;
    struct encoder_transport *a = open_sim(0, 1234), *b = open_sim(0, 1234), *c = open_sim(0, 1235);
    uint8_t ida[16], idb[16], idc[16], ida2[16];
    struct encoder_card ca = {.t = a, .ops = encoder_ssse_ops()};
    struct encoder_card cb = {.t = b, .ops = encoder_ssse_ops()};
    struct encoder_card cc = {.t = c, .ops = encoder_ssse_ops()};
    power_up(a);
    power_up(b);
    power_up(c);
    select_ssse_ef05(&ca);
    select_ssse_ef05(&cb);
    select_ssse_ef05(&cc);
    read_card_id(&ca, ida);
    read_card_id(&cb, idb);
    read_card_id(&cc, idc);
    assert_memory_equal(ida, idb, 16);
    assert_memory_not_equal(ida, idc, 16);
    assert_bytes(ida, 3, 0x44, 0x01, 0x00);
    power_up(a);
    select_ssse_ef05(&ca);
    read_card_id(&ca, ida2);
    assert_memory_not_equal(ida, ida2, 16);
    encoder_transport_close(a);
    encoder_transport_close(b);
    encoder_transport_close(c);
}

static void test_open_close(void **state)
{
    (void)state;
    struct encoder_transport *t = (struct encoder_transport *)0x1;
    struct encoder_sim_config cfg = {.fault_permille = 1001};
    assert_int_equal(encoder_open_sim(&cfg, &t), ENCODER_ERROR_INVALID);
    assert_ptr_equal(t, (struct encoder_transport *)0x1); /* untouched on failure */
    assert_int_equal(encoder_open_sim(NULL, &t), ENCODER_ERROR_INVALID);
    encoder_transport_close(NULL);
    encoder_key_service_free(NULL);
    char hex[5];
    assert_int_equal(encoder_hex((const uint8_t[]){0xAB, 0x01}, 2, hex, sizeof hex), 0);
    assert_string_equal(hex, "AB01");
    assert_int_equal(encoder_hex((const uint8_t[]){0xAB, 0x01, 0x02}, 3, hex, sizeof hex),
                     ENCODER_ERROR_INVALID);
}

/* ---- ATR allow-list, PIN, read-back for operators, PSAM, specs ---- */

static void test_atr_allowlist(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 51);
    const uint8_t ssc[] = {0x3B, 0x6C, 0x00, 0x00, 0x80, 0x64, 0x11, 0x65,
                           0x01, 0x90, 0x73, 0x00, 0x00, 0x00, 0x81, 0x07}; /* any ATR will do here */
    const uint8_t other[] = {0x3B, 0x65, 0x00, 0x00, 0x20, 0x63, 0xCB, 0xA0, 0x00};
    char cause[160] = "";

    assert_true(encoder_atr_allowed(t, other, sizeof other)); /* no list: any ATR */
    assert_int_equal(encoder_transport_set_atr_allowlist(t, "3B 6C 00 00 80 64 11 65 01 90 73 00 00 00 81 07",
                                                         cause, sizeof cause),
                     0);
    assert_true(encoder_atr_allowed(t, ssc, sizeof ssc));
    assert_false(encoder_atr_allowed(t, other, sizeof other));
    assert_false(encoder_atr_allowed(t, ssc, sizeof ssc - 1)); /* lengths must agree */

    /* Masks: the last two bytes are free; separators ',' ';' and newlines. */
    assert_int_equal(
        encoder_transport_set_atr_allowlist(t,
                                            "3B6C0000806411650190730000000000/"
                                            "FFFFFFFFFFFFFFFFFFFFFFFFFFFF0000;\n 3B:65:00:00:20:63:CB:A0:00 ",
                                            cause, sizeof cause),
        0);
    assert_true(encoder_atr_allowed(t, ssc, sizeof ssc));
    assert_true(encoder_atr_allowed(t, other, sizeof other));

    /* Bad entries are named and leave the old list in place. */
    assert_int_equal(encoder_transport_set_atr_allowlist(t, "3B6C,zz", cause, sizeof cause),
                     ENCODER_ERROR_INVALID);
    assert_string_equal(
        cause, "ATR allow-list entry 2: not an ATR in hex (2..33 bytes, optional /mask of the same length)");
    assert_int_equal(encoder_transport_set_atr_allowlist(t, "3B6C/FF", cause, sizeof cause),
                     ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_transport_set_atr_allowlist(t, "3B6", cause, sizeof cause),
                     ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_transport_set_atr_allowlist(t, " , ;", cause, sizeof cause),
                     ENCODER_ERROR_INVALID);
    assert_true(encoder_atr_allowed(t, other, sizeof other));

    /* The personaliser refuses a card whose ATR is not listed, before touching it. */
    assert_int_equal(encoder_transport_set_atr_allowlist(t, "3B6500002063CBA000", cause, sizeof cause), 0);
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_card_data d = sample_data("张三");
    struct encoder_result res;
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_ATR);
    assert_non_null(
        strstr(res.cause, "card type not allowed at this station: ATR 3B6D0000806411650190734401"));
    assert_non_null(strstr(res.cause, "is not on the allow-list"));
    assert_string_equal(res.card_id_hex, "");
    assert_int_equal(encoder_transport_set_atr_allowlist(t, NULL, NULL, 0), 0);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), 0);
    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

static void test_personalize_verifies_maker_pin(void **state)
{
    (void)state;
    struct encoder_transport *t = open_sim(0, 61);
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_card_data d = sample_data("张三");
    struct encoder_result res;
    /* production sets no PIN: it verifies the one the maker loaded (123456 by default) */
    assert_int_equal(encoder_personalize(t, ks, &d, &res), 0);
    memcpy(d.initial_pin, "246810", 7);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_PIN);
    assert_non_null(strstr(res.cause, "the maker's initial PIN does not verify: status 63C2"));
    assert_true(res.data_written && res.blocked); /* written, then failed: blocked */

    memcpy(d.initial_pin, "12a", 4);
    assert_int_equal(encoder_personalize(t, ks, &d, &res), ENCODER_ERROR_INVALID);
    assert_string_equal(res.cause, "initial PIN must be 4 to 12 digits");
    encoder_key_service_free(ks);
    encoder_transport_close(t);
}

static void test_read_card(void **state)
{
    (void)state;
    /* The sim station puts a new blank in at every reset: it reads as a blank with only the maker's data. */
    struct encoder_transport *t = open_sim(0, 71);
    struct encoder_card_info info;
    memset(&info, 0x55, sizeof info);
    /* a 3.00 card: without the read key (RKSSSE) only the maker's data can be read */
    assert_int_equal(encoder_read_card(t, &info), ENCODER_ERROR_AUTH);
    assert_non_null(strstr(info.cause, "RKSSSE"));
    assert_string_equal(info.spec_version, "3.00");
    struct encoder_key_service *ks = open_ks(test_master);
    assert_int_equal(encoder_read_card_keys(t, ks, &info), 0);
    encoder_key_service_free(ks);
    assert_string_equal(info.card_number, "");
    assert_string_equal(info.name, "");
    assert_string_equal(info.birth_date, "");
    assert_int_equal(strlen(info.card_id_hex), 32);
    assert_memory_equal(info.atr_hex, "3B6D0000806411650190734401", 26);
    assert_string_equal(info.card_type, "3");
    assert_string_equal(info.spec_version, "3.00");
    assert_string_equal(info.issuer, "915600000244010044010001");
    encoder_transport_close(t);
}

/* A transport around one persistent simulated card, as tools/vcard is: resets keep the files. */
struct keep {
    struct encoder_sim_card *card;
};

static int keep_reset(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len)
{
    struct keep *k = ctx;
    return encoder_sim_card_power_on(k->card, atr, atr_max, ret_atr_len);
}

static int keep_transmit(void *ctx, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_max,
                         size_t *ret_resp_len)
{
    struct keep *k = ctx;
    return encoder_sim_card_apdu(k->card, apdu, apdu_len, resp, resp_max, ret_resp_len);
}

static int keep_power_off(void *ctx)
{
    struct keep *k = ctx;
    encoder_sim_card_power_off(k->card);
    return 0;
}

static const struct encoder_transport_ops keep_ops = {
    .reset = keep_reset, .transmit = keep_transmit, .power_off = keep_power_off};

static void test_read_card_back(void **state)
{
    (void)state;
    struct encoder_sim_card_config cc = {.kind = ENCODER_SIM_CARD_SSC, .seed = 77, .memory_fault_at = -1};
    memcpy(cc.master, test_master, sizeof cc.master);
    struct keep k = {0};
    assert_int_equal(encoder_sim_card_new(&cc, &k.card), 0);
    struct encoder_transport t = {.ops = &keep_ops, .ctx = &k};
    struct encoder_key_service *ks = open_ks(test_master);
    struct encoder_card_data d = sample_data(uyghur_name);
    d.ethnicity = 5;
    struct encoder_result res;
    assert_int_equal(encoder_personalize(&t, ks, &d, &res), 0);
    /* powered off at the end of the cycle */
    uint8_t resp[ENCODER_RESP_MAX];
    size_t n;
    assert_int_equal(encoder_sim_card_apdu(k.card, (const uint8_t[]){0x00, 0x84, 0x00, 0x00, 0x08}, 5, resp,
                                           sizeof resp, &n),
                     ENCODER_ERROR_NO_CARD);

    struct encoder_card_info info;
    assert_int_equal(encoder_read_card_keys(&t, ks, &info), 0);
    assert_string_equal(info.cause, "");
    assert_string_equal(info.card_id_hex, res.card_id_hex);
    assert_string_equal(info.card_type, "3");
    assert_string_equal(info.spec_version, "3.00");
    assert_string_equal(info.issuer, "915600000244010044010001");
    assert_string_equal(info.issue_date, "20261128");
    assert_string_equal(info.expiry_date, "20361128");
    assert_string_equal(info.card_number, "A00000017");
    assert_string_equal(info.ssn, "44010619900307123X");
    assert_string_equal(info.name, uyghur_name); /* field 09 and extension 4E joined */
    assert_string_equal(info.sex, "1");
    assert_string_equal(info.ethnicity, "05");
    assert_string_equal(info.birth_place, "440106");
    assert_string_equal(info.birth_date, "19900307");
    assert_int_equal(encoder_sim_card_updates(k.card), 10); /* EF05 05..07 and EF06 records 1..7 */

    /* A memory failure on write 3 of the next personalisation: the card is reported, never good. */
    encoder_sim_card_free(k.card);
    cc.memory_fault_at = 3;
    assert_int_equal(encoder_sim_card_new(&cc, &k.card), 0);
    assert_int_equal(encoder_personalize(&t, ks, &d, &res), ENCODER_ERROR_WRITE);
    assert_string_equal(
        res.cause, "chip write failed on EF06 record 1 (tag 08): status 6581 (memory failure); card blocked");
    assert_true(res.data_written && res.blocked);
    assert_int_equal(encoder_read_card(&t, &info), ENCODER_ERROR_BLOCKED);
    assert_non_null(strstr(info.cause, "9303"));
    encoder_sim_card_free(k.card);

    /* A locked PIN, unblocked at a counter: the holder's number first, then PUK + 84 24 00 00 / 00 01. */
    cc.memory_fault_at = -1;
    assert_int_equal(encoder_sim_card_new(&cc, &k.card), 0);
    assert_int_equal(encoder_personalize(&t, ks, &d, &res), 0);
    struct encoder_card card = {.t = &t, .ops = encoder_ssse_ops()};
    power_up(&t);
    assert_int_equal(card.ops->select_aid(&card, encoder_ssse_aid, sizeof encoder_ssse_aid, NULL, 0, NULL),
                     0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(card.ops->verify_pin(&card, "999999", NULL), ENCODER_ERROR_AUTH);
    assert_int_equal(card.ops->verify_pin(&card, "123456", NULL), ENCODER_ERROR_AUTH);
    assert_int_equal(card.sw, 0x6983);
    assert_int_equal(encoder_unblock_pin(&t, ks, "44010619900307124X", NULL, &res), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_unblock_pin(&t, ks, d.ssn, NULL, &res), 0);
    power_up(&t);
    assert_int_equal(card.ops->select_aid(&card, encoder_ssse_aid, sizeof encoder_ssse_aid, NULL, 0, NULL),
                     0);
    assert_int_equal(card.ops->verify_pin(&card, "123456", NULL), 0);
    assert_int_equal(encoder_unblock_pin(&t, ks, d.ssn, "8642", &res), 0);
    power_up(&t);
    assert_int_equal(card.ops->select_aid(&card, encoder_ssse_aid, sizeof encoder_ssse_aid, NULL, 0, NULL),
                     0);
    assert_int_equal(card.ops->verify_pin(&card, "8642", NULL), 0);
    assert_int_equal(encoder_unblock_pin(&t, ks, d.ssn, "86a2", &res), ENCODER_ERROR_INVALID);
    /* and blocked on request */
    assert_int_equal(encoder_block_card(&t, ks, &res), 0);
    assert_true(res.blocked);
    assert_int_equal(encoder_personalize(&t, ks, &d, &res), ENCODER_ERROR_BLOCKED);
    encoder_sim_card_free(k.card);

    /* A foreign card is named as such when read. */
    cc.memory_fault_at = -1;
    cc.foreign = true;
    assert_int_equal(encoder_sim_card_new(&cc, &k.card), 0);
    assert_int_equal(encoder_read_card(&t, &info), ENCODER_ERROR_NOT_SSC);
    assert_non_null(strstr(info.cause, "not a social security card"));
    encoder_sim_card_free(k.card);
    assert_int_equal(encoder_read_card(NULL, &info), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_read_card(&t, NULL), ENCODER_ERROR_INVALID);
    encoder_key_service_free(ks);
}

static void test_psam_card(void **state)
{
    (void)state;
    struct encoder_sim_card_config cc = {.kind = ENCODER_SIM_CARD_PSAM, .seed = 1, .memory_fault_at = -1};
    memcpy(cc.master, test_master, sizeof cc.master);
    struct encoder_sim_card *psam = NULL;
    assert_int_equal(encoder_sim_card_new(&cc, &psam), 0);
    uint8_t atr[ENCODER_ATR_MAX], resp[ENCODER_RESP_MAX];
    size_t atr_len = 0, n = 0;
    assert_int_equal(encoder_sim_card_power_on(psam, atr, sizeof atr, &atr_len), 0);
    assert_bytes(atr, atr_len, 0x3B, 0x66, 0x00, 0x00, 'C', 'L', 'P', 'S', 'A', 'M');

    struct encoder_card_ref ref = {
        .region = "440100", .alg = ENCODER_ALG_SM4, .atr_hist = {0x90, 0x73, 0x44, 0x01, 9, 8, 7, 6}};
    uint8_t f[3][8];
    assert_int_equal(encoder_dispersal_factors(&ref, f), 0);
    const uint8_t process[8] = {1, 1, 2, 3, 5, 8, 13, 21}, original[8] = {2, 7, 1, 8, 2, 8, 1, 8};
    /* 80 FA before a session key: refused */
    uint8_t fa[5 + 16 + 1] = {0x80, 0xFA, 0x00, 0x00, 0x10};
    memcpy(fa + 5, original, 8);
    fa[21] = 0x10;
    assert_int_equal(encoder_sim_card_apdu(psam, fa, sizeof fa, resp, sizeof resp, &n), 0);
    assert_bytes(resp, n, 0x69, 0x85);
    /* BF EC, then BF DE 00 94 (UKSSSE) with three factors and the process input, then 80 FA */
    assert_int_equal(encoder_sim_card_apdu(psam, (const uint8_t[]){0xBF, 0xEC, 0x00, 0x00, 0x01, 0x44}, 6,
                                           resp, sizeof resp, &n),
                     0);
    assert_bytes(resp, n, 0x90, 0x00);
    uint8_t de[5 + 40] = {0xBF, 0xDE, 0x00, 0x94, 40};
    memcpy(de + 5, f, 24);
    memcpy(de + 29, process, 8);
    assert_int_equal(encoder_sim_card_apdu(psam, de, sizeof de, resp, sizeof resp, &n), 0);
    assert_bytes(resp, n, 0x90, 0x00);
    assert_int_equal(encoder_sim_card_apdu(psam, fa, sizeof fa, resp, sizeof resp, &n), 0);
    assert_bytes(resp, n, 0x61, 0x10);
    assert_int_equal(encoder_sim_card_apdu(psam, (const uint8_t[]){0x00, 0xC0, 0x00, 0x00, 0x10}, 5, resp,
                                           sizeof resp, &n),
                     0);
    assert_int_equal(n, 18);
    /* folded, it is the soft key service's answer */
    uint8_t want[8], got[8];
    struct encoder_key_service *ks = open_ks(test_master);
    assert_int_equal(encoder_key_service_auth(ks, &ref, ENCODER_KEY_UKSSSE, process, original, want), 0);
    for (int i = 0; i < 8; i++)
        got[i] = resp[i] ^ resp[8 + i];
    assert_memory_equal(got, want, 8);
    encoder_key_service_free(ks);
    /* an unknown key address */
    de[3] = 0x99;
    assert_int_equal(encoder_sim_card_apdu(psam, de, sizeof de, resp, sizeof resp, &n), 0);
    assert_bytes(resp, n, 0x6A, 0x88);
    /* the PSAM has no SSSE application */
    assert_int_equal(encoder_sim_card_apdu(psam, (const uint8_t[]){0x00, 0xB2, 0x01, 0x04, 0x00}, 5, resp,
                                           sizeof resp, &n),
                     0);
    assert_bytes(resp, n, 0x6D, 0x00);
    encoder_sim_card_free(psam);
    encoder_sim_card_free(NULL);
}

static void test_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-encoder-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/key", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("  00112233445566778899aabbccddeeff\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    uint8_t key[16];
    assert_int_equal(encoder_key_file_read(path, key), 0);
    assert_memory_equal(key, test_master, 16);

    /* the file-backed key service gives the same cryptograms as the in-memory one */
    char spec[80];
    snprintf(spec, sizeof spec, "soft:%s", path);
    struct encoder_key_service *ks = NULL;
    assert_int_equal(encoder_key_service_open_spec(spec, &ks), 0);
    struct encoder_transport *t = open_sim(0, 81);
    struct encoder_card_data d = sample_data("张三");
    struct encoder_result res;
    assert_int_equal(encoder_personalize(t, ks, &d, &res), 0);
    encoder_key_service_free(ks);

    /* readable by others: refused */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(encoder_key_file_read(path, key), ENCODER_ERROR_KEY);
    ks = (struct encoder_key_service *)0x1;
    assert_int_equal(encoder_key_service_open_spec(spec, &ks), ENCODER_ERROR_KEY);
    assert_ptr_equal(ks, (struct encoder_key_service *)0x1);
    /* wrong length, bad digits */
    assert_int_equal(chmod(path, 0600), 0);
    f = fopen(path, "w");
    fputs("0011223344556677", f);
    fclose(f);
    assert_int_equal(encoder_key_file_read(path, key), ENCODER_ERROR_KEY);
    f = fopen(path, "w");
    fputs("00112233445566778899aabbccddeefg", f);
    fclose(f);
    assert_int_equal(encoder_key_file_read(path, key), ENCODER_ERROR_KEY);
    assert_int_equal(encoder_key_file_read("/nonexistent/key", key), ENCODER_ERROR_KEY);
    unlink(path);
    rmdir(dir);

    assert_int_equal(encoder_key_service_open_spec("hsm:1", &ks), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_key_service_open_spec(NULL, &ks), ENCODER_ERROR_INVALID);
    encoder_transport_close(t);
}

static void test_open_spec(void **state)
{
    (void)state;
    struct encoder_sim_config cfg = {.seed = 3};
    memcpy(cfg.master_key, test_master, sizeof test_master);
    struct encoder_transport *t = NULL;
    assert_int_equal(encoder_open_spec("sim", &cfg, &t), 0);
    assert_string_equal(t->name, "sim");
    encoder_transport_close(t);
    t = (struct encoder_transport *)0x1;
    assert_int_equal(encoder_open_spec("sim", NULL, &t), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_open_spec("usb:1", &cfg, &t), ENCODER_ERROR_INVALID);
    assert_int_equal(encoder_open_spec("pcsc:", &cfg, &t), ENCODER_ERROR_INVALID);
    assert_ptr_equal(t, (struct encoder_transport *)0x1);
    assert_string_not_equal(encoder_strerror(0), "unknown encoder error");
    for (int e = ENCODER_ERROR_NOT_GENUINE; e <= ENCODER_ERROR_INVALID; e++)
        assert_string_not_equal(encoder_strerror(e), "unknown encoder error");
}

/* A transport taking several commands at once (as the PC/SC one does), over the scripted fake. */
static int many_transmit(void *ctx, struct encoder_exchange *x, size_t count, size_t *ret_done)
{
    size_t i = 0;
    for (; i < count; i++) {
        int r = fake_transmit(ctx, x[i].apdu, x[i].apdu_len, x[i].resp, sizeof x[i].resp, &x[i].resp_len);
        if (r < 0) {
            *ret_done = i;
            return r;
        }
        if (x[i].resp[x[i].resp_len - 2] != 0x90 || x[i].resp[x[i].resp_len - 1] != 0x00) {
            i++;
            break;
        }
    }
    *ret_done = i;
    return 0;
}

static const struct encoder_transport_ops many_ops = {
    .reset = fake_reset, .transmit = fake_transmit, .transmit_many = many_transmit};

static void test_transmit_many(void **state)
{
    (void)state;
    /* 9000, then a 6Cxx that the helper completes with a resend, then the last command */
    struct fake f = {0};
    fake_script(&f, 0, (const uint8_t[]){0x90, 0x00}, 2);
    fake_script(&f, 1, (const uint8_t[]){0x6C, 0x03}, 2);
    fake_script(&f, 2, (const uint8_t[]){0x0A, 0x01, 0x31, 0x90, 0x00}, 5);
    fake_script(&f, 3, (const uint8_t[]){0x90, 0x00}, 2);
    struct encoder_transport t = {.ops = &many_ops, .ctx = &f};
    const uint8_t sel[] = {0x00, 0xA4, 0x02, 0x00, 0x02, 0xEF, 0x06};
    const uint8_t rd[] = {0x00, 0xB2, 0x0A, 0x04, 0x00};
    const uint8_t upd[] = {0x00, 0xDC, 0x0A, 0x04, 0x03, 0x0A, 0x01, 0x32};
    struct encoder_exchange x[3] = {{.apdu = sel, .apdu_len = sizeof sel},
                                    {.apdu = rd, .apdu_len = sizeof rd},
                                    {.apdu = upd, .apdu_len = sizeof upd}};
    size_t done = 99;
    assert_int_equal(encoder_transport_transmit_many(&t, x, 3, &done), 0);
    assert_int_equal(done, 3);
    assert_bytes(f.sent[2], f.sent_len[2], 0x00, 0xB2, 0x0A, 0x04, 0x03);
    assert_bytes(x[1].resp, x[1].resp_len, 0x0A, 0x01, 0x31, 0x90, 0x00);
    assert_bytes(x[2].resp, x[2].resp_len, 0x90, 0x00);

    /* a refusal stops the batch and is the last answer */
    struct fake g = {0};
    fake_script(&g, 0, (const uint8_t[]){0x90, 0x00}, 2);
    fake_script(&g, 1, (const uint8_t[]){0x65, 0x81}, 2);
    t.ctx = &g;
    assert_int_equal(encoder_transport_transmit_many(&t, x, 3, &done), 0);
    assert_int_equal(done, 2);
    assert_bytes(x[1].resp, x[1].resp_len, 0x65, 0x81);
    assert_int_equal(g.step, 2);

    /* without transmit_many: the same, one command at a time */
    struct fake h = {0};
    fake_script(&h, 0, (const uint8_t[]){0x90, 0x00}, 2);
    fake_script(&h, 1, (const uint8_t[]){0x69, 0x82}, 2);
    struct encoder_transport one = {.ops = &fake_ops, .ctx = &h};
    assert_int_equal(encoder_transport_transmit_many(&one, x, 3, &done), 0);
    assert_int_equal(done, 2);
    assert_bytes(x[1].resp, x[1].resp_len, 0x69, 0x82);
    assert_int_equal(encoder_transport_transmit_many(&one, x, ENCODER_BATCH_MAX + 1, &done),
                     ENCODER_ERROR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_aid_apdu),
        cmocka_unit_test(test_select_ef_apdu),
        cmocka_unit_test(test_apdu_cases),
        cmocka_unit_test(test_status_words),
        cmocka_unit_test(test_tlv),
        cmocka_unit_test(test_cn_an),
        cmocka_unit_test(test_gbk),
        cmocka_unit_test(test_name_split),
        cmocka_unit_test(test_name_errors),
        cmocka_unit_test(test_transport_61xx),
        cmocka_unit_test(test_transport_6cxx),
        cmocka_unit_test(test_sm4_kat),
        cmocka_unit_test(test_key_scheme),
        cmocka_unit_test(test_fci_and_atr),
        cmocka_unit_test(test_personalize_sim),
        cmocka_unit_test(test_personalize_long_name),
        cmocka_unit_test(test_personalize_bad_data),
        cmocka_unit_test(test_personalize_fault),
        cmocka_unit_test(test_personalize_not_ssc),
        cmocka_unit_test(test_personalize_wrong_key),
        cmocka_unit_test(test_personalize_readback),
        cmocka_unit_test(test_personalize_card_ms),
        cmocka_unit_test(test_sim_requires_auth),
        cmocka_unit_test(test_sim_iso_behaviour),
        cmocka_unit_test(test_sim_pin),
        cmocka_unit_test(test_sim_deterministic),
        cmocka_unit_test(test_open_close),
        cmocka_unit_test(test_atr_allowlist),
        cmocka_unit_test(test_pin_block_apdus),
        cmocka_unit_test(test_personalize_verifies_maker_pin),
        cmocka_unit_test(test_read_card),
        cmocka_unit_test(test_read_card_back),
        cmocka_unit_test(test_psam_card),
        cmocka_unit_test(test_key_file),
        cmocka_unit_test(test_open_spec),
        cmocka_unit_test(test_transmit_many),
    };
    return cmocka_run_group_tests_name("encoder", tests, NULL, NULL);
}
