/* bank_testdata.h — a bank's data-preparation file for one card, made for tests the way a bank's system would
 * make it: records, FCI and GPO answer in clear, keys and PIN encrypted under the soft key service's
 * transport key (encoder_soft_transport_key of the test root), key check values in DGI 9000 */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "encoder-private.h"

enum bank_testdata_flags {
    BANK_TD_NO_9104 = 1,    /* leave the GPO answer out (a missing DGI) */
    BANK_TD_WRONG_KCV = 2,  /* DGI 9000 names other keys than DGI 8000 holds */
    BANK_TD_BIG_RECORD = 4, /* a record near the largest a READ RECORD answers (254 bytes) */
};

#define BANK_TD_AID "A000000333010101"

static size_t bank_td_put(char *out, size_t max, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t bank_td_put(char *out, size_t max, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (at < max)
        at += (size_t)vsnprintf(out + at, max - at, fmt, ap);
    va_end(ap);
    return at;
}

static void bank_td_hex(const uint8_t *b, size_t n, char *out)
{
    encoder_hex(b, n, out, 2 * n + 1);
}

/* A Luhn-valid 19-digit UnionPay account number from a serial. */
static void bank_td_pan(unsigned serial, char pan[20])
{
    snprintf(pan, 20, "621700%012u", serial);
    for (char c = '0'; c <= '9'; c++) {
        pan[18] = c;
        pan[19] = '\0';
        if (encoder_luhn_ok(pan, 19))
            return;
    }
}

#define BANK_TD_BANK "中国建设银行"

/* Write the file for account serial and the cardline application upstream_id (NULL: "TD-<serial>") into out;
 * returns its length, or 0 when out is too small. */
static size_t bank_testdata_for(const uint8_t root[16], unsigned serial, unsigned flags,
                                const char *upstream_id, char *out, size_t max)
{
    char pan[20], h[2200];
    bank_td_pan(serial, pan);
    const char *expiry = "361231";
    /* track 2 equivalent: PAN D YYMM 220 (service code) 0000000 (discretionary), F to a whole byte */
    char t2[48];
    snprintf(t2, sizeof t2, "%sD%.4s2200000000", pan, expiry);
    if (strlen(t2) % 2)
        strcat(t2, "F");
    uint8_t tk[16], kcv[3], keys[48], enc_keys[48], kcvs[9], pin[8], enc_pin[8];
    encoder_soft_transport_key(root, "BANKTK1", tk);
    encoder_kcv(tk, kcv);
    for (size_t i = 0; i < sizeof keys; i++)
        keys[i] = (uint8_t)(serial * 7 + i * 13 + 1);
    for (size_t i = 0; i < 3; i++)
        encoder_kcv(keys + 16 * i, kcvs + 3 * i);
    if (flags & BANK_TD_WRONG_KCV)
        kcvs[4] ^= 0x01;
    encoder_block_encrypt(ENCODER_ALG_3DES, tk, keys, sizeof keys, enc_keys);
    /* ISO 9564 format 2 PIN block of 6 digits: 2 6 PIN F.. */
    const uint8_t pb[8] = {0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF};
    memcpy(pin, pb, 8);
    encoder_block_encrypt(ENCODER_ALG_3DES, tk, pin, sizeof pin, enc_pin);

    size_t at = 0;
    at = bank_td_put(out, max, at, "CARDLINE-BANK-DATA=1\n# bank test data, account serial %u\n", serial);
    at = bank_td_put(out, max, at, "AID=%s\nPAN=%s\nEXPIRY=%s\nTRACK2=%s\n", BANK_TD_AID, pan, expiry, t2);
    if (upstream_id)
        at = bank_td_put(out, max, at, "APPLICATION=%s\n", upstream_id);
    else
        at = bank_td_put(out, max, at, "APPLICATION=TD-%u\n", serial);
    at = bank_td_put(out, max, at, "BANK=%s\n", BANK_TD_BANK);
    bank_td_hex(kcv, 3, h);
    at = bank_td_put(out, max, at,
                     "KEY_VERSION=20\nTRANSPORT_KEY=BANKTK1\nTRANSPORT_KCV=%s\nENCRYPTED=8000,8010\n", h);
    at = bank_td_put(out, max, at,
                     "STRIPE_TRACK1=B%s^ZHANG/SAN^%.4s2200000000\nSTRIPE_TRACK2=%s=%.4s2200000000\n", pan,
                     expiry, pan, expiry);
    /* SFI 1 record 1: 57 track 2 equivalent, 5F20 cardholder name (blank for instant issue), 9F1F */
    size_t t2b = strlen(t2) / 2;
    size_t big = (flags & BANK_TD_BIG_RECORD) ? 200 : 0;
    size_t inner = 2 + t2b + 4 + 4 + (big ? 4 + big : 0);
    if (inner < 128)
        at = bank_td_put(out, max, at, "DGI0101=70%02zX57%02zX%s5F200120", inner, t2b, t2);
    else
        at = bank_td_put(out, max, at, "DGI0101=7081%02zX57%02zX%s5F200120", inner, t2b, t2);
    at = bank_td_put(out, max, at, "9F1F0131");
    if (big) {
        at = bank_td_put(out, max, at, "9F7A81%02zX", big);
        for (size_t i = 0; i < big; i++)
            at = bank_td_put(out, max, at, "%02zX", i & 0xFF);
    }
    at = bank_td_put(out, max, at, "\n");
    /* SFI 1 record 2: 5A account number, 5F24 expiry, 5F25 effective date, 5F28 country, 5F34 sequence */
    at =
        bank_td_put(out, max, at, "DGI0102=70215A0A%sF5F2403%s5F25032612015F280201565F340101\n", pan, expiry);
    /* SFI 2 record 1: issuer data the terminal reads too */
    at = bank_td_put(out, max, at, "DGI0201=70059F08020030\n");
    /* the FCI's A5 template: label, priority, PDOL (TTQ, amount, currency, date, unpredictable number) */
    at = bank_td_put(out, max, at,
                     "DGI9102=A520500A556E696F6E5061792031870101"
                     "9F380E9F66049F02065F2A029A039F3704\n");
    if (!(flags & BANK_TD_NO_9104))
        at = bank_td_put(out, max, at, "DGI9104=82027C0094080801020010010100\n");
    bank_td_hex(enc_keys, sizeof enc_keys, h);
    at = bank_td_put(out, max, at, "DGI8000=%s\n", h);
    bank_td_hex(kcvs, sizeof kcvs, h);
    at = bank_td_put(out, max, at, "DGI9000=%s\n", h);
    bank_td_hex(enc_pin, sizeof enc_pin, h);
    at = bank_td_put(out, max, at, "DGI8010=%s\nDGI9010=0303\n", h);
    return at < max ? at : 0;
}

/* The file for account serial, application "TD-<serial>". */
static inline size_t bank_testdata(const uint8_t root[16], unsigned serial, unsigned flags, char *out,
                                   size_t max)
{
    return bank_testdata_for(root, serial, flags, NULL, out, max);
}
