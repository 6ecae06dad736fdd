/* fuzz_bank.c — fuzz target over what the bank application parses from outside: the bank's data file,
 * BER-TLV, DOLs, AFLs and BCD account numbers, and a terminal's read-back and the personalisation against
 * replayed card answers. The first input byte picks the part. libFuzzer entry point; without libFuzzer it
 * runs the seed corpus (fuzz-corpus-bank/) and mutations of it (tests/fuzz/replay.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank_testdata.h"
#include "encoder-private.h"
#include "fuzz_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_root[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void check_data(const uint8_t *data, size_t size)
{
    struct encoder_bank_data *d = NULL;
    char cause[256];
    int r = encoder_bank_data_parse((const char *)data, size, &d, cause, sizeof cause);
    if ((r == 0) != (d != NULL))
        abort(); /* *ret written exactly on success */
    if (r == 0) {
        struct encoder_bank_summary s;
        char t[128];
        if (encoder_bank_data_summary(d, &s) != 0 || strlen(s.pan_masked) < 16)
            abort();
        for (int tr = 1; tr <= 3; tr++)
            if (encoder_bank_data_stripe(d, tr, t, sizeof t) != 0)
                abort();
        for (size_t i = 0; i < encoder_bank_data_dgis(d); i++) {
            const uint8_t *v;
            size_t len;
            bool enc;
            if (encoder_bank_data_dgi(d, i, NULL, &v, &len, &enc) != 0 || len == 0 || (enc && len % 8))
                abort();
        }
    } else if (r != ENCODER_ERROR_BANK_DATA && r != ENCODER_ERROR_NOMEM) {
        abort();
    }
    encoder_bank_data_free(d);
}

static void check_codecs(const uint8_t *data, size_t size)
{
    struct encoder_ber b;
    if (encoder_ber_parse(data, size, &b) == 0 && (b.used > size || b.value + b.len > data + size))
        abort();
    const uint8_t *v;
    size_t vl;
    if (encoder_ber_find(data, size, 0x5A, &v, &vl) == 1 && v + vl > data + size)
        abort();
    uint8_t out[256];
    int n = encoder_dol_fill(data, size, out, sizeof out);
    if (n > (int)sizeof out)
        abort();
    n = encoder_afl_check(data, size);
    if (n > 0 && (size_t)n * 4 != size)
        abort();
    char digits[600];
    n = encoder_bcd_digits(data, size, digits, sizeof digits);
    if (n >= 0 && (size_t)n != strlen(digits))
        abort();
    (void)encoder_luhn_ok((const char *)data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    switch (mode % 4) {
    case 0:
        check_data(data, size);
        break;
    case 1:
        check_codecs(data, size);
        break;
    case 2:
    case 3: {
        /* a terminal's read (2) or a whole personalisation (3) against the replayed answers */
        struct replay rp = {data, size};
        struct encoder_transport t = {.ops = &replay_ops, .ctx = &rp};
        struct encoder_bank_result res;
        static char text[16384];
        static size_t text_len;
        if (!text_len)
            text_len = bank_testdata(fuzz_root, 7, 0, text, sizeof text);
        struct encoder_bank_data *d = NULL;
        char cause[256];
        if (encoder_bank_data_parse(text, text_len, &d, cause, sizeof cause) != 0)
            abort();
        if (mode % 4 == 2) {
            (void)encoder_bank_read(&t, (mode & 4) ? d : NULL, &res);
        } else {
            struct encoder_key_service *ks = NULL;
            if (encoder_key_service_soft_new(fuzz_root, &ks) == 0)
                (void)encoder_bank_personalize(&t, ks, d, &res);
            encoder_key_service_free(ks);
        }
        if (memchr(res.cause, '\0', sizeof res.cause) == NULL)
            abort();
        encoder_bank_data_free(d);
        break;
    }
    default:
        break;
    }
    return 0;
}
