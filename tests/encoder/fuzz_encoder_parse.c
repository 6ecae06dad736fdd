/* fuzz_encoder_parse.c — fuzz target over everything the encoder parses from outside: card responses (status
 * words, 61xx/6Cxx chaining, the SSSE FCI, TLV records, cn/an/GBK fields) through a replaying transport,
 * command APDUs as the simulated card parses them, ATR historical bytes and ATR allow-lists. libFuzzer entry
 * point; built without libFuzzer it is a deterministic smoke run (FUZZ_STANDALONE). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder-private.h"
#include "fuzz_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_master[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void walk_tlvs(const uint8_t *data, size_t size)
{
    const uint8_t *d;
    size_t dl;
    uint16_t sw;
    if (encoder_response_parse(data, size, &d, &dl, &sw) == 0)
        (void)encoder_sw_to_error(sw), (void)encoder_sw_describe(sw);
    while (size >= 2) {
        uint8_t tag;
        const uint8_t *v;
        size_t vlen, used;
        if (encoder_tlv_parse(data, size, &tag, &v, &vlen, &used) < 0)
            break;
        if (used > size || v + vlen > data + size)
            abort(); /* the parser promised bounds */
        data += used;
        size -= used;
    }
    size_t p = encoder_gbk_prefix(data, size, 30);
    if (p > size || p > 30)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 6;
    data++;
    size--;
    switch (mode) {
    case 0:
        walk_tlvs(data, size);
        break;
    case 1: {
        /* a command APDU as the virtual card parses it */
        struct encoder_apdu a;
        if (encoder_apdu_parse(data, size, &a) == 0) {
            uint8_t out[ENCODER_APDU_MAX];
            size_t n;
            if (encoder_apdu_build(&a, out, sizeof out, &n) == 0 &&
                (n != size || memcmp(out, data, n) != 0) && !(size == 5 && data[4] == 0))
                abort(); /* parse and build must round-trip */
        }
        struct encoder_sim_card_config cc = {.kind =
                                                 (size & 1) ? ENCODER_SIM_CARD_PSAM : ENCODER_SIM_CARD_SSC,
                                             .seed = size,
                                             .memory_fault_at = -1};
        memcpy(cc.master, fuzz_master, sizeof cc.master);
        struct encoder_sim_card *card = NULL;
        if (encoder_sim_card_new(&cc, &card) == 0) {
            uint8_t atr[ENCODER_ATR_MAX], resp[ENCODER_RESP_MAX];
            size_t atr_len, n;
            encoder_sim_card_power_on(card, atr, sizeof atr, &atr_len);
            /* select the SSSE application first so that the deeper commands are reached */
            uint8_t sel[5 + ENCODER_SSSE_AID_LEN] = {0x00, 0xA4, 0x04, 0x00, ENCODER_SSSE_AID_LEN};
            memcpy(sel + 5, encoder_ssse_aid, ENCODER_SSSE_AID_LEN);
            encoder_sim_card_apdu(card, sel, sizeof sel, resp, sizeof resp, &n);
            if (encoder_sim_card_apdu(card, data, size, resp, sizeof resp, &n) == 0 &&
                (n < 2 || n > sizeof resp))
                abort();
            encoder_sim_card_free(card);
        }
        break;
    }
    case 2: {
        /* every answer of a card being read comes from the input */
        struct replay r = {.p = data, .left = size};
        struct encoder_transport t = {.ops = &replay_ops, .ctx = &r};
        struct encoder_card_info info;
        struct encoder_key_service *ks = NULL;
        if (size % 2 && encoder_key_service_soft_new(fuzz_master, &ks) < 0)
            abort();
        encoder_read_card_keys(&t, ks, &info); /* with a key service the RKSSSE path is taken on 3.00 cards */
        encoder_key_service_free(ks);
        if (strnlen(info.name, sizeof info.name) == sizeof info.name ||
            strnlen(info.cause, sizeof info.cause) == sizeof info.cause)
            abort();
        break;
    }
    case 3: {
        /* a personalisation whose card answers are the input */
        struct replay r = {.p = data, .left = size};
        struct encoder_transport t = {.ops = &replay_ops, .ctx = &r};
        struct encoder_key_service *ks = NULL;
        if (encoder_key_service_soft_new(fuzz_master, &ks) == 0) {
            struct encoder_card_data d = {.region_code = "440100",
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
                                          .birth_date = "19900307"};
            struct encoder_result res;
            encoder_personalize(&t, ks, &d, &res);
            encoder_key_service_free(ks);
        }
        break;
    }
    case 4: {
        /* an ATR allow-list from configuration */
        char list[512];
        size_t n = size < sizeof list - 1 ? size : sizeof list - 1;
        memcpy(list, data, n);
        list[n] = '\0';
        struct encoder_transport t = {0};
        char cause[160];
        if (encoder_transport_set_atr_allowlist(&t, list, cause, sizeof cause) == 0)
            (void)encoder_atr_allowed(&t, data, size < ENCODER_ATR_MAX ? size : ENCODER_ATR_MAX);
        encoder_atr_allowlist_free(t.atr_allow);
        break;
    }
    case 5: {
        /* the SSSE FCI (algorithm flag) and an ATR's historical bytes (the dispersal factor) */
        uint8_t alg = 0xEE, hist[8];
        int r = encoder_ssse_fci_parse(data, size, &alg);
        if ((r == 0) != (alg != 0xEE))
            abort(); /* *ret_alg written exactly on success */
        (void)encoder_atr_hist_factor(data, size, hist);
        /* a record as read_fixed checks it: one simple TLV */
        uint8_t tag;
        const uint8_t *v;
        size_t vlen, used;
        if (encoder_tlv_parse(data, size, &tag, &v, &vlen, &used) == 0 &&
            (used > size || v + vlen > data + size))
            abort();
        break;
    }
    default:
        break;
    }
    return 0;
}
